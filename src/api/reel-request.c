/* reel-request.c: parse and validate REST request bodies (untrusted input).
 *
 * Two stages:
 *
 * 1. reel_request_parse_json() (reel-request-json.c) checks the raw text: strict
 *    RFC 8259 syntax, bounded nesting, no duplicate member names.
 *
 * 2. The parse_* functions validate one field at a time against a fixed schema:
 *    the members of a POST /v1/recordings or PATCH body here, the room in
 *    reel-request-room.c, outputs in reel-request-outputs.c, with the shared field
 *    readers of reel-request-fields.c. Every error message starts with the field's
 *    path ("room.participants[1].color: ...").
 */
#include "api/reel-request-private.h"

#define MAX_PATCH_PARTICIPANTS 100

/* ------------------------------------------------------------------------------------ */
/* Stage 2: the schema                                                                  */
/* ------------------------------------------------------------------------------------ */

static gboolean
parse_layout (JsonNode *node, const char *path, ReelLayoutKind *layout, GError **error)
{
  const char *name = NULL;

  if (!reel_request_want_string (node, path, &name, error))
    return FALSE;
  if (reel_layout_kind_from_string (name, layout))
    return TRUE;
  g_autofree char *shown = reel_request_echo (name);
  return reel_request_invalid (error, path, "unknown layout \"%s\" (known: grid)", shown);
}

static gboolean
parse_video (JsonNode *node, ReelRecordingSpec *spec, GError **error)
{
  static const char *const known[] = { "width", "height", "framerate", "bitrate_kbps", NULL };
  static const ReelRequestIntRule rules[] = {
    { "width", 160, 3840, TRUE },
    { "height", 90, 2160, TRUE },
    { "framerate", 1, 60, FALSE },
    { "bitrate_kbps", 100, 50000, FALSE },
  };
  gint64 values[] = { spec->width, spec->height, spec->framerate, spec->bitrate_kbps };
  JsonObject *obj = reel_request_want_object (node, "video", error);

  if (obj == NULL || !reel_request_check_members (obj, "video", known, FALSE, error))
    return FALSE;
  for (gsize i = 0; i < G_N_ELEMENTS (rules); i++)
    if (!reel_request_optional_int (obj, "video", &rules[i], &values[i], error))
      return FALSE;
  spec->width = (guint) values[0];
  spec->height = (guint) values[1];
  spec->framerate = (guint) values[2];
  spec->bitrate_kbps = (guint) values[3];
  return TRUE;
}

static gboolean
parse_recording_fields (JsonObject *body, const ReelRequestLimits *limits, ReelRecordingSpec *spec,
                        GError **error)
{
  JsonNode *layout = json_object_get_member (body, "layout");
  JsonNode *video = json_object_get_member (body, "video");
  gint64 max = (gint64) MIN (limits->max_duration_s, (guint64) G_MAXINT64);
  ReelRequestIntRule duration = { "max_duration_s", 1, max, FALSE };

  if (layout != NULL && !parse_layout (layout, "layout", &spec->layout, error))
    return FALSE;
  if (video != NULL && !parse_video (video, spec, error))
    return FALSE;
  JsonNode *outputs = reel_request_need (body, "outputs", "outputs", error);
  if (outputs == NULL ||
      !reel_request_parse_output_list (outputs, "outputs", 1, spec->outputs, error))
    return FALSE;
  if (!reel_request_optional_int (body, "", &duration, &max, error))
    return FALSE;
  spec->max_duration_s = (guint64) max;
  return TRUE;
}

/**
 * reel_request_parse_recording:
 * @root: a body from reel_request_parse_json()
 * @limits: bounds and defaults from the configuration
 *
 * Validates a POST /v1/recordings body; see the header and API.md for the rules.
 *
 * Returns: (transfer full) (nullable): the spec, or %NULL with REEL_ERROR_INVALID_FIELD,
 * REEL_ERROR_UNKNOWN_PROVIDER or REEL_ERROR_PROVIDER_UNAVAILABLE, whose message
 * starts with the offending field's path
 */
ReelRecordingSpec *
reel_request_parse_recording (JsonNode *root, const ReelRequestLimits *limits, GError **error)
{
  static const char *const known[] = { "room", "layout", "video", "outputs", "max_duration_s", NULL };
  g_return_val_if_fail (limits != NULL, NULL);
  JsonObject *body = reel_request_want_object (root, "body", error);

  if (body == NULL || !reel_request_check_members (body, "", known, FALSE, error))
    return NULL;
  g_autoptr (ReelRecordingSpec) spec = reel_recording_spec_new ();
  spec->layout = REEL_LAYOUT_GRID;
  spec->width = limits->default_width;
  spec->height = limits->default_height;
  spec->framerate = limits->default_framerate;
  spec->bitrate_kbps = limits->default_bitrate_kbps;
  spec->room = reel_request_parse_room (body, limits, error);
  if (spec->room == NULL || !parse_recording_fields (body, limits, spec, error))
    return NULL;
  return g_steal_pointer (&spec);
}

/* ------------------------------------------------------------------------------------ */
/* PATCH                                                                                */
/* ------------------------------------------------------------------------------------ */

/**
 * reel_request_parse_patch:
 * @root: a body from reel_request_parse_json()
 *
 * Validates a PATCH /v1/recordings/{id} body: optional "layout", optional "outputs"
 * with "add" (output objects) and "remove" (output ids), optional "tracks" (a
 * cloudflare room's whole new track list), at least one change.
 *
 * Returns: (transfer full) (nullable): the patch, or %NULL with REEL_ERROR_INVALID_FIELD
 */
ReelRecordingPatch *
reel_request_parse_patch (JsonNode *root, GError **error)
{
  static const char *const known[] = { "layout", "outputs", "tracks", NULL };
  JsonObject *body = reel_request_want_object (root, "body", error);

  if (body == NULL || !reel_request_check_members (body, "", known, FALSE, error))
    return NULL;
  g_autoptr (ReelRecordingPatch) patch = reel_recording_patch_new ();
  JsonNode *tracks = json_object_get_member (body, "tracks");
  if (tracks != NULL) {
    /* the participant limit of the config is checked where the patch is applied */
    patch->tracks = g_ptr_array_new_with_free_func ((GDestroyNotify) reel_remote_track_free);
    if (!reel_request_parse_remote_tracks (tracks, "tracks", 0, MAX_PATCH_PARTICIPANTS,
                                           patch->tracks, error))
      return NULL;
  }
  JsonNode *layout = json_object_get_member (body, "layout");
  if (layout != NULL && !parse_layout (layout, "layout", &patch->layout, error))
    return NULL;
  patch->has_layout = layout != NULL;
  JsonNode *outputs = json_object_get_member (body, "outputs");
  if (outputs != NULL && !reel_request_parse_patch_outputs (outputs, patch, error))
    return NULL;
  if (!patch->has_layout && patch->add_outputs->len == 0 && patch->remove_outputs->len == 0 &&
      patch->tracks == NULL) {
    reel_request_invalid (error, "body", "nothing to change");
    return NULL;
  }
  return g_steal_pointer (&patch);
}
