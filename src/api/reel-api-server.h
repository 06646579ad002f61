/* reel-api-server.h: the REST API (libsoup-3): auth, routing, JSON errors.
 * Request bodies are validated by reel-request.c; the work is done by the job
 * manager. Runs on the main context. */
#pragma once

#include <glib-object.h>

#include "config/reel-config.h"
#include "jobs/reel-job-manager.h"
#include "jobs/reel-scheduler.h"

G_BEGIN_DECLS

#define REEL_TYPE_API_SERVER (reel_api_server_get_type ())
G_DECLARE_FINAL_TYPE (ReelApiServer, reel_api_server, REEL, API_SERVER, GObject)

/* Returns: (transfer full): a server, not listening yet */
ReelApiServer *reel_api_server_new (ReelConfig *config, ReelJobManager *manager);

/* Serves /v1/schedules with @scheduler (without one they answer 404). */
void reel_api_server_set_scheduler (ReelApiServer *self, ReelScheduler *scheduler);

/* SIGHUP: later requests use @config's token and body limit; the socket stays. */
void reel_api_server_set_config (ReelApiServer *self, ReelConfig *config);

/* Starts listening on [api] listen. Returns: %TRUE and the base URI in @uri. */
gboolean reel_api_server_listen (ReelApiServer *self, char **uri, GError **error);

/* Constant-time check of an Authorization header against the token.
 * Exposed for unit tests. */
gboolean reel_api_check_bearer (const char *header, const char *token);

G_END_DECLS
