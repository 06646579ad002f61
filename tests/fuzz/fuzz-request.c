/* fuzz-request.c: libFuzzer target for api/reel-request.c.
 *
 * Feeds the input to reel_request_parse_json(), then the tree to
 * reel_request_parse_recording(), reel_request_parse_patch() and
 * reel_request_parse_schedule() (at a fixed "now"), and checks the
 * invariants of what comes back: exactly one of result and error; every error a
 * REEL_ERROR whose message is "path: detail", bounded and free of control bytes;
 * every accepted spec within the documented ranges. A violated invariant, a GLib
 * warning or critical (made fatal here), a crash or a leak is a finding.
 *
 *   clang-14 -g -O1 -fsanitize=fuzzer,address,undefined -Isrc ... -o fuzz-request
 *   ./fuzz-request -max_len=4096 -dict=tests/fuzz/fuzz-request.dict tests/fuzz/corpus/request
 *
 * tests/fuzz/fuzz-replay.c runs the same function over files, for gcc builds.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "api/reel-request.h"
#include "api/reel-schedule-request.h"
#include "base/reel-error.h"

#include "fuzz-common.h"

static const ReelRequestLimits limits = {
  .max_participants = 16,
  .max_duration_s = 14400,
  .default_width = 1280,
  .default_height = 720,
  .default_framerate = 30,
  .default_bitrate_kbps = 2500,
};

/* "now" for schedules: 2026-06-01T00:00:00Z, so seeds stay valid over time */
#define FUZZ_NOW (G_GINT64_CONSTANT (1780272000) * G_USEC_PER_SEC)

static void
check_error (const GError *error, gboolean from_json)
{
  CHECK (error != NULL);
  CHECK (error->domain == REEL_ERROR);
  CHECK (!from_json || error->code == REEL_ERROR_MALFORMED_JSON);
  CHECK (from_json || error->code == REEL_ERROR_INVALID_FIELD || error->code == REEL_ERROR_UNKNOWN_PROVIDER ||
         error->code == REEL_ERROR_PROVIDER_UNAVAILABLE);
  CHECK (strstr (error->message, ": ") != NULL && error->message[0] != ':');
  CHECK (strlen (error->message) < 1024); /* input is echoed 64 bytes at most */
  CHECK (g_utf8_validate (error->message, -1, NULL));
  for (const char *p = error->message; *p != '\0'; p++)
    CHECK ((guchar) *p >= 0x20 && (guchar) *p != 0x7f);
}

static void
check_output (const ReelOutputSpec *output)
{
  if (output->type == REEL_OUTPUT_FILE) {
    CHECK (output->url == NULL);
    CHECK (output->format == REEL_FILE_FORMAT_MP4 || output->format == REEL_FILE_FORMAT_MKV);
    return;
  }
  CHECK (output->type == REEL_OUTPUT_RTMP);
  CHECK (g_str_has_prefix (output->url, "rtmp://") || g_str_has_prefix (output->url, "rtmps://"));
  CHECK (strlen (output->url) <= 2048);
  g_autofree char *redacted = reel_redact_stream_url (output->url);
  CHECK (redacted != NULL && strlen (redacted) <= strlen (output->url) + 4);
}

static void
check_participants (GPtrArray *participants)
{
  g_autoptr (GHashTable) names = g_hash_table_new (g_str_hash, g_str_equal);

  CHECK (participants->len >= 1 && participants->len <= limits.max_participants);
  for (guint i = 0; i < participants->len; i++) {
    const ReelSyntheticParticipant *p = g_ptr_array_index (participants, i);
    glong chars = g_utf8_strlen (p->name, -1);
    CHECK (g_utf8_validate (p->name, -1, NULL) && chars >= 1 && chars <= 64);
    CHECK (g_hash_table_add (names, p->name));
    CHECK (p->color_rgb <= 0xffffff);
    CHECK (p->tone_hz >= 20 && p->tone_hz <= 20000);
    CHECK (p->join_at_s >= 0 && p->join_at_s <= 86400);
    CHECK (p->leave_at_s < 0 || (p->leave_at_s > p->join_at_s && p->leave_at_s <= 86400));
  }
}

static void
check_remote_tracks (GPtrArray *tracks, guint min)
{
  g_autoptr (GHashTable) keys = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);

  CHECK (tracks->len >= min && tracks->len <= 256);
  for (guint i = 0; i < tracks->len; i++) {
    const ReelRemoteTrack *t = g_ptr_array_index (tracks, i);
    CHECK (t->session_id[0] != '\0' && strlen (t->session_id) <= 128);
    CHECK (t->track_name[0] != '\0' && strlen (t->track_name) <= 128);
    CHECK (strchr (t->track_name, '"') == NULL && strchr (t->track_name, '/') == NULL);
    CHECK (t->kind == NULL || g_str_equal (t->kind, "audio") || g_str_equal (t->kind, "video"));
    CHECK (t->participant == NULL || g_utf8_validate (t->participant, -1, NULL));
    CHECK (g_hash_table_add (keys, g_strdup_printf ("%s\n%s", t->session_id, t->track_name)));
  }
  g_autoptr (JsonNode) shown = reel_remote_tracks_to_json (tracks);
  CHECK (json_array_get_length (json_node_get_array (shown)) == tracks->len);
}

static void
check_spec (ReelRecordingSpec *spec)
{
  CHECK (spec->room != NULL);
  CHECK (spec->room->public_json != NULL && JSON_NODE_HOLDS_OBJECT (spec->room->public_json));
  if (spec->room->provider == REEL_PROVIDER_JANUS) {
    JsonObject *shown = json_node_get_object (spec->room->public_json);
    CHECK (g_str_has_prefix (spec->room->url, "http://") || g_str_has_prefix (spec->room->url, "https://"));
    CHECK (spec->room->room_number >= 1);
    CHECK (!json_object_has_member (shown, "pin") && !json_object_has_member (shown, "secret"));
  } else if (spec->room->provider == REEL_PROVIDER_CLOUDFLARE) {
    check_remote_tracks (spec->room->tracks, 1);
    CHECK (spec->room->app_id != NULL && strlen (spec->room->app_id) <= 128);
    CHECK (g_str_has_prefix (spec->room->api_url, "http://") ||
           g_str_has_prefix (spec->room->api_url, "https://"));
  } else {
    CHECK (spec->room->provider == REEL_PROVIDER_SYNTHETIC);
    check_participants (spec->room->participants);
  }
  CHECK (spec->width >= 160 && spec->width <= 3840 && spec->width % 2 == 0);
  CHECK (spec->height >= 90 && spec->height <= 2160 && spec->height % 2 == 0);
  CHECK (spec->framerate >= 1 && spec->framerate <= 60);
  CHECK (spec->bitrate_kbps >= 100 && spec->bitrate_kbps <= 50000);
  CHECK (spec->max_duration_s >= 1 && spec->max_duration_s <= limits.max_duration_s);
  CHECK (spec->outputs->len >= 1 && spec->outputs->len <= 8);
  for (guint i = 0; i < spec->outputs->len; i++)
    check_output (g_ptr_array_index (spec->outputs, i));
  /* what the rest of reel does with a spec */
  g_autoptr (ReelRoomSpec) copy = reel_room_spec_copy (spec->room);
  g_autofree char *room_json = json_to_string (copy->public_json, FALSE);
  CHECK (room_json != NULL);
}

static void
check_patch (ReelRecordingPatch *patch)
{
  CHECK (patch->has_layout || patch->add_outputs->len > 0 || patch->remove_outputs->len > 0 ||
         patch->tracks != NULL);
  if (patch->tracks != NULL)
    check_remote_tracks (patch->tracks, 0);
  CHECK (patch->add_outputs->len <= 8 && patch->remove_outputs->len <= 8);
  for (guint i = 0; i < patch->add_outputs->len; i++)
    check_output (g_ptr_array_index (patch->add_outputs, i));
  for (guint i = 0; i < patch->remove_outputs->len; i++) {
    const char *id = g_ptr_array_index (patch->remove_outputs, i);
    CHECK (g_str_has_prefix (id, "out_") && strlen (id) >= 5 && strlen (id) <= 10);
  }
}

static void
check_schedule (ReelSchedule *s)
{
  gint64 horizon = (gint64) REEL_SCHEDULE_HORIZON_S * G_USEC_PER_SEC;
  CHECK (s->id == NULL);
  CHECK (s->duration_s >= 1 && s->duration_s <= limits.max_duration_s);
  CHECK (s->start_at >= FUZZ_NOW - horizon && s->start_at <= FUZZ_NOW + horizon);
  CHECK (s->rrule != NULL || s->start_at > FUZZ_NOW);
  CHECK (s->rrule == NULL || strlen (s->rrule) <= REEL_SCHEDULE_MAX_RULE_BYTES);
  CHECK (!s->has_stop_at || s->rrule == NULL);
  CHECK (s->timezone != NULL && reel_timezone_check (s->timezone, "timezone", NULL));
  CHECK (s->recording != NULL && JSON_NODE_HOLDS_OBJECT (s->recording));
  CHECK (s->recording_public != NULL && JSON_NODE_HOLDS_OBJECT (s->recording_public));
  /* what the API does with it */
  g_autoptr (JsonNode) shown = reel_schedule_to_json (s, s->start_at);
  g_autofree char *text = reel_schedule_definition_to_string (s);
  g_autoptr (ReelSchedule) back = reel_schedule_new ();
  CHECK (shown != NULL && reel_schedule_definition_from_string (back, text, NULL));
  CHECK (back->start_at == s->start_at && back->duration_s == s->duration_s);
}

/**
 * LLVMFuzzerTestOneInput:
 * @data: (array length=size): one request body
 * Returns: 0
 */
int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonNode) root = reel_request_parse_json ((const char *) data, size, &error);

  if (root == NULL) {
    check_error (error, TRUE);
    return 0;
  }
  CHECK (error == NULL && JSON_NODE_HOLDS_OBJECT (root));

  g_autoptr (ReelRecordingSpec) spec = reel_request_parse_recording (root, &limits, &error);
  CHECK ((spec == NULL) == (error != NULL));
  if (spec != NULL)
    check_spec (spec);
  else
    check_error (error, FALSE);
  g_clear_error (&error);

  g_autoptr (ReelRecordingPatch) patch = reel_request_parse_patch (root, &error);
  CHECK ((patch == NULL) == (error != NULL));
  if (patch != NULL)
    check_patch (patch);
  else
    check_error (error, FALSE);
  g_clear_error (&error);

  g_autoptr (ReelSchedule) schedule = reel_request_parse_schedule (root, &limits, FUZZ_NOW, &error);
  CHECK ((schedule == NULL) == (error != NULL));
  if (schedule != NULL)
    check_schedule (schedule);
  else
    check_error (error, FALSE);
  return 0;
}
