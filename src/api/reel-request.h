/* reel-request.h: parse and validate request bodies (untrusted input).
 *
 * Pure GLib + json-glib: no GStreamer, no I/O; fuzzed in tests/fuzz/.
 * Every failure is a REEL_ERROR whose message starts with the offending field's
 * path, e.g. "room.participants[1].color: expected a string like \"#rrggbb\"".
 */
#pragma once

#include <glib.h>
#include <json-glib/json-glib.h>

#include "jobs/reel-recording-spec.h"

G_BEGIN_DECLS


/* Parses a JSON document; REEL_ERROR_MALFORMED_JSON if it is not JSON or not an object.
 * Returns: (transfer full): the root object node */
JsonNode *reel_request_parse_json (const char *body, gsize length, GError **error);

/* Validates a POST /v1/recordings body.
 * Returns: (transfer full): the spec, or NULL with REEL_ERROR_INVALID_FIELD,
 * REEL_ERROR_UNKNOWN_PROVIDER or REEL_ERROR_PROVIDER_UNAVAILABLE. */
ReelRecordingSpec *reel_request_parse_recording (JsonNode *root, const ReelRequestLimits *limits,
                                                 GError **error);

ReelRecordingPatch *reel_request_parse_patch (JsonNode *root, GError **error);

G_END_DECLS
