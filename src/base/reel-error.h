/* reel-error.h: the one error domain of reel and its map to HTTP statuses.
 *
 * Every recoverable failure in reel is a GError in REEL_ERROR. Each code has a
 * stable snake_case name (the `error.code` of the REST API and of recording
 * objects) and an HTTP status, both kept in one table in reel-error.c.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define REEL_ERROR (reel_error_quark ())
GQuark reel_error_quark (void);

typedef enum {
  REEL_ERROR_INTERNAL,             /* 500 internal_error */
  REEL_ERROR_INVALID_FIELD,        /* 400 invalid_field: the message names the field */
  REEL_ERROR_MALFORMED_JSON,       /* 400 malformed_json */
  REEL_ERROR_UNKNOWN_PROVIDER,     /* 400 unknown_provider */
  REEL_ERROR_UNAUTHORIZED,         /* 401 unauthorized */
  REEL_ERROR_NOT_FOUND,            /* 404 not_found */
  REEL_ERROR_METHOD_NOT_ALLOWED,   /* 405 method_not_allowed */
  REEL_ERROR_WRONG_STATE,          /* 409 wrong_state */
  REEL_ERROR_BODY_TOO_LARGE,       /* 413 body_too_large */
  REEL_ERROR_NOT_JSON,             /* 415 unsupported_media_type */
  REEL_ERROR_UNPROCESSABLE,        /* 422 unprocessable */
  REEL_ERROR_PROVIDER_UNAVAILABLE, /* 422 provider_unavailable */
  REEL_ERROR_AT_CAPACITY,          /* 503 at_capacity */
  REEL_ERROR_CONFIG_INVALID,       /* config_invalid: reeld exits 78 */
  REEL_ERROR_MEDIA,                /* media_error: the recording's graph failed */
  REEL_ERROR_OUTPUT_FAILED,        /* output_failed: one output failed */
  REEL_ERROR_DISK_FULL,            /* disk_full */
  REEL_ERROR_FINALIZE_TIMEOUT,     /* finalize_timeout: an output did not finish in time */
  REEL_ERROR_ALL_OUTPUTS_FAILED,   /* all_outputs_failed */
  REEL_ERROR_ROOM_FAILED,          /* room_failed: the room adapter gave up */
  REEL_ERROR_SFU_UNREACHABLE,      /* sfu_unreachable */
  REEL_ERROR_ROOM_NOT_FOUND,       /* room_not_found */
  REEL_ERROR_INTERRUPTED,          /* interrupted: reeld stopped while recording */
  REEL_ERROR_ROOM_UNAUTHORIZED,    /* unauthorized_room: wrong pin or secret */
  REEL_ERROR_SFU_SECRET_MISSING,   /* 422 sfu_secret_missing: no app secret configured */
  REEL_ERROR_E2EE_NOT_SUPPORTED,   /* e2ee_not_supported: the room encrypts its media end to end */
  REEL_ERROR_ROOM_PROTOCOL,        /* room_protocol_error: the room's signalling made no sense */
  REEL_ERROR_N_CODES
} ReelErrorCode;

const char *reel_error_code_name (gint code);
guint reel_error_http_status (gint code);

/* The snake_case code of any GError: its REEL_ERROR name, or "internal_error". */
const char *reel_error_name_of (const GError *error);

G_END_DECLS
