/* reelctl-client.h: reelctl's connection to reeld: where (URL, token) and one
 * blocking HTTP request with a JSON answer. */
#pragma once

#include <glib.h>
#include <json-glib/json-glib.h>

G_BEGIN_DECLS

/* Exit codes scripts can rely on (also in `reelctl --help` and the README). */
typedef enum {
  REELCTL_EXIT_OK = 0,
  REELCTL_EXIT_ERROR = 1,        /* anything else (5xx other than 503, bad answer) */
  REELCTL_EXIT_USAGE = 2,        /* bad command line */
  REELCTL_EXIT_UNREACHABLE = 3,  /* reeld could not be reached */
  REELCTL_EXIT_UNAUTHORIZED = 4, /* 401: missing or wrong token */
  REELCTL_EXIT_NOT_FOUND = 5,    /* 404 */
  REELCTL_EXIT_CONFLICT = 6,     /* 409: wrong state (stopping a finished recording) */
  REELCTL_EXIT_INVALID = 7,      /* 400, 413, 415, 422: the request was refused */
  REELCTL_EXIT_BUSY = 8,         /* 503: at capacity */
} ReelctlExit;

typedef struct {
  char *url;   /* base, e.g. http://127.0.0.1:8080 (no trailing slash) */
  char *token; /* (nullable) */
} ReelctlClient;

/* Resolves the URL and token: flags first, then REEL_URL / REEL_API_TOKEN, then the
 * config file (@config_path, else $REEL_CONFIG, else the installed reel.conf):
 * its [api] listen and token (with its drop-ins and credentials).
 * Returns: (transfer full) (nullable): the client, or NULL with @error set */
ReelctlClient *reelctl_client_new (const char *url, const char *token, const char *config_path,
                                   GError **error);
void reelctl_client_free (ReelctlClient *client);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (ReelctlClient, reelctl_client_free)

/* Sends @method @path with @body (nullable, JSON). @answer: (out) (transfer full)
 * (nullable): the parsed JSON answer, NULL for an empty one.
 * Returns: the exit code for the HTTP status; REELCTL_EXIT_UNREACHABLE with a
 * message in @error when reeld did not answer. An API error's code and message
 * are in @error for every non-2xx status. */
ReelctlExit reelctl_client_request (ReelctlClient *client, const char *method, const char *path,
                                    const char *body, JsonNode **answer, GError **error);

G_END_DECLS
