/* reel-error.c: the REEL_ERROR domain and its one code → (name, HTTP status) table. */
#include "base/reel-error.h"

G_DEFINE_QUARK (reel-error-quark, reel_error)

typedef struct {
  const char *name;
  guint http_status;
} ReelErrorInfo;

static const ReelErrorInfo error_table[REEL_ERROR_N_CODES] = {
  [REEL_ERROR_INTERNAL] = { "internal_error", 500 },
  [REEL_ERROR_INVALID_FIELD] = { "invalid_field", 400 },
  [REEL_ERROR_MALFORMED_JSON] = { "malformed_json", 400 },
  [REEL_ERROR_UNKNOWN_PROVIDER] = { "unknown_provider", 400 },
  [REEL_ERROR_UNAUTHORIZED] = { "unauthorized", 401 },
  [REEL_ERROR_NOT_FOUND] = { "not_found", 404 },
  [REEL_ERROR_METHOD_NOT_ALLOWED] = { "method_not_allowed", 405 },
  [REEL_ERROR_WRONG_STATE] = { "wrong_state", 409 },
  [REEL_ERROR_BODY_TOO_LARGE] = { "body_too_large", 413 },
  [REEL_ERROR_NOT_JSON] = { "unsupported_media_type", 415 },
  [REEL_ERROR_UNPROCESSABLE] = { "unprocessable", 422 },
  [REEL_ERROR_PROVIDER_UNAVAILABLE] = { "provider_unavailable", 422 },
  [REEL_ERROR_AT_CAPACITY] = { "at_capacity", 503 },
  [REEL_ERROR_CONFIG_INVALID] = { "config_invalid", 500 },
  [REEL_ERROR_MEDIA] = { "media_error", 500 },
  [REEL_ERROR_OUTPUT_FAILED] = { "output_failed", 500 },
  [REEL_ERROR_DISK_FULL] = { "disk_full", 507 },
  [REEL_ERROR_FINALIZE_TIMEOUT] = { "finalize_timeout", 500 },
  [REEL_ERROR_ALL_OUTPUTS_FAILED] = { "all_outputs_failed", 500 },
  [REEL_ERROR_ROOM_FAILED] = { "room_failed", 502 },
  [REEL_ERROR_SFU_UNREACHABLE] = { "sfu_unreachable", 502 },
  [REEL_ERROR_ROOM_NOT_FOUND] = { "room_not_found", 422 },
  [REEL_ERROR_INTERRUPTED] = { "interrupted", 500 },
  [REEL_ERROR_ROOM_UNAUTHORIZED] = { "unauthorized_room", 422 },
  [REEL_ERROR_SFU_SECRET_MISSING] = { "sfu_secret_missing", 422 },
  [REEL_ERROR_E2EE_NOT_SUPPORTED] = { "e2ee_not_supported", 422 },
  [REEL_ERROR_ROOM_PROTOCOL] = { "room_protocol_error", 502 },
};

/**
 * reel_error_code_name:
 * Returns: (transfer none): the stable snake_case name of @code.
 */
const char *
reel_error_code_name (gint code)
{
  if (code < 0 || code >= REEL_ERROR_N_CODES || error_table[code].name == NULL)
    return "internal_error";
  return error_table[code].name;
}

/**
 * reel_error_http_status:
 * Returns: the HTTP status the API answers with for @code.
 */
guint
reel_error_http_status (gint code)
{
  if (code < 0 || code >= REEL_ERROR_N_CODES || error_table[code].http_status == 0)
    return 500;
  return error_table[code].http_status;
}

/**
 * reel_error_name_of:
 * @error: (nullable): any error
 * Returns: (transfer none): the code name for @error.
 */
const char *
reel_error_name_of (const GError *error)
{
  if (error == NULL || error->domain != REEL_ERROR)
    return "internal_error";
  return reel_error_code_name (error->code);
}
