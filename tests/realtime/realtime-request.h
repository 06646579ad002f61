/* realtime-request.h: the request bodies of the Cloudflare Realtime Connection API.
 *
 * A pure parser (no I/O, no GStreamer) for the local Realtime-compatible SFU, so
 * it can be fuzzed alone (tests/fuzz/fuzz-realtime.c). Whole-request problems are
 * a GError in RT_ERROR (the API's top-level errorCode); problems of one item of
 * "tracks" are kept on that item (its errorCode and errorDescription) and the
 * rest of the request goes on.
 */
#pragma once

#include <glib.h>
#include <json-glib/json-glib.h>

G_BEGIN_DECLS

#define RT_ERROR (rt_error_quark ())
GQuark rt_error_quark (void);

typedef enum {
  RT_ERROR_DECODING,      /* 400 decoding_error: not JSON, or not an object */
  RT_ERROR_INVALID_PARAMS,/* 400 invalid_params: a field is missing or has a bad value */
  RT_ERROR_TOO_LARGE,     /* 413 payload_too_large */
  RT_ERROR_N_CODES
} RtErrorCode;

/* The API's errorCode of an RT_ERROR code, and its HTTP status. */
const char *rt_error_code_name (gint code);
guint rt_error_http_status (gint code);

#define RT_MAX_BODY (1024 * 1024)
#define RT_MAX_SDP (256 * 1024)
#define RT_MAX_TRACKS 64
#define RT_MAX_NAME 256

typedef enum {
  RT_REQUEST_NEW_SESSION,   /* POST sessions/new: optional legacy offer */
  RT_REQUEST_TRACKS_NEW,    /* POST sessions/{id}/tracks/new */
  RT_REQUEST_RENEGOTIATE,   /* PUT sessions/{id}/renegotiate: an answer */
  RT_REQUEST_TRACKS_UPDATE, /* PUT sessions/{id}/tracks/update */
  RT_REQUEST_TRACKS_CLOSE,  /* PUT sessions/{id}/tracks/close */
} RtRequestKind;

typedef enum {
  RT_LOCATION_NONE,
  RT_LOCATION_LOCAL,
  RT_LOCATION_REMOTE,
} RtLocation;

typedef struct {
  RtLocation location;
  char *mid;                /* (nullable) */
  char *session_id;         /* (nullable) the publisher's session, remote tracks */
  char *track_name;         /* (nullable) */
  char *kind;               /* (nullable) "audio" | "video" */
  gboolean bidirectional;
  JsonNode *simulcast;      /* (nullable) echoed back as given */
  /* Set when this item is invalid: the handler answers it with these and skips it. */
  const char *error_code;   /* (nullable) static string, e.g. "invalid_params" */
  char *error_description;  /* (nullable) */
} RtTrack;

typedef struct {
  RtRequestKind kind;
  char *sdp_type;           /* (nullable) "offer" | "answer" */
  char *sdp;                /* (nullable) set iff sdp_type is */
  GPtrArray *tracks;        /* (element-type RtTrack) possibly empty */
  gboolean auto_discover;
  gboolean force;           /* tracks/close */
  RtLocation location;      /* tracks/new: the location every valid item shares */
} RtRequest;

void rt_request_free (RtRequest *request);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (RtRequest, rt_request_free)

/* Parses a request body of @kind (@size bytes, not NUL-terminated; an empty body
 * is an empty object). Returns NULL and sets @error (RT_ERROR) if the request as a
 * whole is unusable; items with their own problems are returned with error_code. */
RtRequest *rt_request_parse (RtRequestKind kind, const char *data, gsize size, GError **error);

/* Whether @s is an acceptable track name or mid: 1..RT_MAX_NAME bytes of UTF-8
 * without control characters. */
gboolean rt_name_is_valid (const char *s);

G_END_DECLS
