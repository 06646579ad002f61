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

typedef struct {
  guint max_participants;
  guint64 max_duration_s;     /* upper bound for max_duration_s; also the default */
  guint default_width, default_height, default_framerate, default_bitrate_kbps;
} ReelRequestLimits;

/* Parses a JSON document; REEL_ERROR_MALFORMED_JSON if it is not JSON or not an object.
 * Returns: (transfer full): the root object node */
JsonNode *reel_request_parse_json (const char *body, gsize length, GError **error);

/* Validates a POST /v1/recordings body.
 * Returns: (transfer full): the spec, or NULL with REEL_ERROR_INVALID_FIELD,
 * REEL_ERROR_UNKNOWN_PROVIDER or REEL_ERROR_PROVIDER_UNAVAILABLE. */
ReelRecordingSpec *reel_request_parse_recording (JsonNode *root, const ReelRequestLimits *limits,
                                                 GError **error);

/* A validated PATCH /v1/recordings/{id} body: every field optional, at least one present. */
typedef struct {
  gboolean has_layout;
  ReelLayoutKind layout;
  GPtrArray *add_outputs;     /* (element-type ReelOutputSpec) may be empty */
  GPtrArray *remove_outputs;  /* (element-type utf8) output ids, may be empty */
} ReelRecordingPatch;

ReelRecordingPatch *reel_request_parse_patch (JsonNode *root, GError **error);
void reel_recording_patch_free (ReelRecordingPatch *patch);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (ReelRecordingPatch, reel_recording_patch_free)

G_END_DECLS
