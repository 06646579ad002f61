/* reel-cloudflare-api.h: the Cloudflare Realtime HTTP API as data: request bodies,
 * response parsing and error classification.
 *
 * Pure GLib + json-glib, no I/O: responses are untrusted input, so every parser
 * here takes any bytes, never warns, and is fuzzed (tests/fuzz/fuzz-cloudflare.c).
 * The room adapter (reel-cloudflare-room.c) does the HTTP and the state.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* One item of a TracksResponse. */
typedef struct {
  char *session_id;         /* (nullable) the publisher's session */
  char *track_name;         /* (nullable) */
  char *mid;                /* (nullable) our transceiver's mid, when it succeeded */
  char *error_code;         /* (nullable) set: this item failed */
  char *error_description;  /* (nullable) */
  char *location;           /* (nullable) GET sessions/{id}: "local" | "remote" */
  char *status;             /* (nullable) GET sessions/{id}: "active" | "inactive" | ... */
} ReelCfTrackResult;

/* A response of tracks/new, tracks/close or renegotiate, or any error body. */
typedef struct {
  char *error_code;         /* (nullable) top-level errorCode */
  char *error_description;  /* (nullable) */
  gboolean requires_renegotiation;
  char *sdp_type;           /* (nullable) "offer" | "answer" */
  char *sdp;                /* (nullable) */
  GPtrArray *tracks;        /* (element-type ReelCfTrackResult) */
} ReelCfResponse;

/* What to do about a failure. */
typedef enum {
  REEL_CF_OK,
  REEL_CF_TRACK_NOT_READY,  /* not_found_track_error / empty_track_error: not published yet */
  REEL_CF_RETRY,            /* transient: the same request again later */
  REEL_CF_SESSION_GONE,     /* our session is gone (410): a new one, every track again */
  REEL_CF_UNAUTHORIZED,     /* 401: the app secret is wrong */
  REEL_CF_NOT_FOUND,        /* 404 not_found: the app (or the session) is unknown */
  REEL_CF_FAILED,           /* the request or the item cannot succeed as it is */
} ReelCfVerdict;

void reel_cf_response_free (ReelCfResponse *response);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (ReelCfResponse, reel_cf_response_free)

/* Parses a JSON object body (any status). Returns: (transfer full) (nullable): the
 * response, or %NULL if @body is not a JSON object. Members of the wrong type are
 * taken as absent; tracks that are not objects are skipped. */
ReelCfResponse *reel_cf_response_parse (const char *body, gsize length);

/* The sessionId of a sessions/new answer. Returns: (transfer full) (nullable) */
char *reel_cf_parse_session_id (const char *body, gsize length);

/* Whether a GET sessions/{id} answer lists @track_name as a published track that
 * is not inactive. */
gboolean reel_cf_response_publishes (const ReelCfResponse *response, const char *track_name);

/* Classifies an HTTP outcome: @status 0 means no answer (transport failure).
 * @response: (nullable): the parsed body */
ReelCfVerdict reel_cf_classify (guint status, const ReelCfResponse *response);

/* Classifies one failed track item by its errorCode. */
ReelCfVerdict reel_cf_classify_track (const char *error_code);

/* The media kind ("audio" | "video") of the m-line with a=mid:@mid in @sdp.
 * Returns: (transfer none) (nullable) */
const char *reel_cf_sdp_mid_kind (const char *sdp, const char *mid);

/* Request bodies. @session_ids and @track_names are parallel arrays.
 * @simulcast_rid: (nullable): the preferredRid to ask for, with asciibetical
 * ordering and fallback. Returns: (transfer full): JSON text */
char *reel_cf_tracks_new_body (const char *const *session_ids, const char *const *track_names,
                               guint n, const char *simulcast_rid);
char *reel_cf_renegotiate_body (const char *answer_sdp);
/* tracks/close with force: true (no SDP exchange) */
char *reel_cf_close_body (const char *const *mids, guint n);

G_END_DECLS
