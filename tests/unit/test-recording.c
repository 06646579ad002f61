/* Unit tests: the recording record's state machine and JSON shape. */
#include "api/reel-api-server.h"
#include "base/reel-error.h"
#include "jobs/reel-recording.h"

static ReelRecording *
make_recording (void)
{
  ReelRecordingSpec *spec = reel_recording_spec_new ();
  spec->room = reel_room_spec_new (REEL_PROVIDER_SYNTHETIC);
  spec->room->public_json = json_from_string ("{\"provider\":\"synthetic\"}", NULL);
  spec->width = 1280;
  spec->height = 720;
  spec->framerate = 30;
  spec->bitrate_kbps = 2500;
  spec->max_duration_s = 60;
  g_ptr_array_add (spec->outputs, reel_output_spec_new (REEL_OUTPUT_FILE));
  ReelOutputSpec *rtmp = reel_output_spec_new (REEL_OUTPUT_RTMP);
  rtmp->url = g_strdup ("rtmp://127.0.0.1:1935/live/very-secret-key");
  g_ptr_array_add (spec->outputs, rtmp);
  return reel_recording_new ("rec_test", spec);
}

static void
test_transitions (void)
{
  const ReelRecordingState S = REEL_RECORDING_SCHEDULED, ST = REEL_RECORDING_STARTING,
                           R = REEL_RECORDING_RECORDING, SP = REEL_RECORDING_STOPPING,
                           F = REEL_RECORDING_FINISHED, X = REEL_RECORDING_FAILED;
  g_assert_true (reel_recording_state_can_change (S, ST));
  g_assert_true (reel_recording_state_can_change (ST, R));
  g_assert_true (reel_recording_state_can_change (R, SP));
  g_assert_true (reel_recording_state_can_change (ST, SP));
  g_assert_true (reel_recording_state_can_change (SP, F));
  g_assert_true (reel_recording_state_can_change (R, X));
  g_assert_true (reel_recording_state_can_change (SP, X));
  g_assert_false (reel_recording_state_can_change (R, F));   /* must stop first */
  g_assert_false (reel_recording_state_can_change (F, R));
  g_assert_false (reel_recording_state_can_change (F, X));
  g_assert_false (reel_recording_state_can_change (X, F));
  g_assert_false (reel_recording_state_can_change (F, SP));
  g_assert_false (reel_recording_state_can_change (R, S));
  g_assert_false (reel_recording_state_is_active (F));
  g_assert_true (reel_recording_state_is_active (SP));
}

static void
test_lifecycle_stamps (void)
{
  g_autoptr (ReelRecording) rec = make_recording ();
  g_assert_cmpint (rec->state, ==, REEL_RECORDING_STARTING);
  g_assert_cmpint (rec->started_at, ==, 0);
  g_assert_true (reel_recording_set_state (rec, REEL_RECORDING_RECORDING));
  g_assert_cmpint (rec->started_at, >, 0);
  g_assert_false (reel_recording_set_state (rec, REEL_RECORDING_FINISHED));
  g_assert_true (reel_recording_set_state (rec, REEL_RECORDING_STOPPING));
  g_assert_true (reel_recording_set_state (rec, REEL_RECORDING_FINISHED));
  g_assert_cmpint (rec->ended_at, >=, rec->started_at);
  g_autoptr (GError) e = g_error_new (REEL_ERROR, REEL_ERROR_MEDIA, "late");
  reel_recording_fail (rec, e);
  g_assert_cmpint (rec->state, ==, REEL_RECORDING_FINISHED); /* terminal stays terminal */
  g_assert_null (rec->error_code);
}

static void
test_json_shape (void)
{
  g_autoptr (ReelRecording) rec = make_recording ();
  reel_recording_add_participant (rec, "p1", "Alice");
  reel_recording_add_track (rec, "p1", "p1-video", "video");
  g_autoptr (GError) e = g_error_new (REEL_ERROR, REEL_ERROR_SFU_UNREACHABLE, "no answer");
  reel_recording_fail (rec, e);
  g_autoptr (JsonNode) node = reel_recording_to_json (rec);
  JsonObject *o = json_node_get_object (node);
  g_assert_cmpstr (json_object_get_string_member (o, "id"), ==, "rec_test");
  g_assert_cmpstr (json_object_get_string_member (o, "state"), ==, "failed");
  g_assert_true (json_object_get_null_member (o, "started_at"));
  g_assert_nonnull (json_object_get_string_member (o, "created_at"));
  JsonObject *err = json_object_get_object_member (o, "error");
  g_assert_cmpstr (json_object_get_string_member (err, "code"), ==, "sfu_unreachable");
  JsonArray *outs = json_object_get_array_member (o, "outputs");
  g_assert_cmpuint (json_array_get_length (outs), ==, 2);
  JsonObject *o0 = json_array_get_object_element (outs, 0);
  g_assert_cmpstr (json_object_get_string_member (o0, "id"), ==, "out_0");
  g_assert_cmpstr (json_object_get_string_member (o0, "format"), ==, "mp4");
  JsonObject *o1 = json_array_get_object_element (outs, 1);
  g_assert_null (strstr (json_object_get_string_member (o1, "url"), "very-secret-key"));
  JsonArray *ps = json_object_get_array_member (o, "participants");
  JsonObject *p = json_array_get_object_element (ps, 0);
  g_assert_cmpstr (json_object_get_string_member (p, "name"), ==, "Alice");
  g_assert_cmpuint (json_array_get_length (json_object_get_array_member (p, "tracks")), ==, 1);
  reel_recording_remove_participant (rec, "p1");
  g_assert_cmpuint (rec->participants->len, ==, 0);
}

/* SFU tracks asked for but not received: shown with their state and the SFU's
 * reason until they are live or gone. */
static void
test_track_state (void)
{
  g_autoptr (ReelRecording) rec = make_recording ();
  reel_recording_add_participant (rec, "Bob", "Bob");
  reel_recording_set_track_state (rec, "Bob", "s1/cam", NULL, "pending", NULL, NULL);
  reel_recording_set_track_state (rec, "Bob", "s1/cam", "video", "pending",
                                  "not_found_track_error", "no such track");
  reel_recording_set_track_state (rec, "Bob", "s1/mic", "audio", "failed", "invalid_params", "bad");
  reel_recording_set_track_state (rec, "nobody", "s9/x", "audio", "pending", NULL, NULL);
  g_autoptr (JsonNode) node = reel_recording_to_json (rec);
  JsonObject *p = json_array_get_object_element (
    json_object_get_array_member (json_node_get_object (node), "participants"), 0);
  JsonArray *tracks = json_object_get_array_member (p, "tracks");
  g_assert_cmpuint (json_array_get_length (tracks), ==, 2);
  JsonObject *cam = json_array_get_object_element (tracks, 0);
  g_assert_cmpstr (json_object_get_string_member (cam, "id"), ==, "s1/cam");
  g_assert_cmpstr (json_object_get_string_member (cam, "kind"), ==, "video");
  g_assert_cmpstr (json_object_get_string_member (cam, "state"), ==, "pending");
  JsonObject *err = json_object_get_object_member (cam, "error");
  g_assert_cmpstr (json_object_get_string_member (err, "code"), ==, "not_found_track_error");
  g_assert_cmpstr (json_object_get_string_member (err, "message"), ==, "no such track");
  JsonObject *mic = json_array_get_object_element (tracks, 1);
  g_assert_cmpstr (json_object_get_string_member (mic, "state"), ==, "failed");

  reel_recording_set_track_state (rec, "Bob", "s1/cam", "video", NULL, NULL, NULL);
  reel_recording_add_track (rec, "Bob", "s1/cam-1", "video");
  g_autoptr (JsonNode) after = reel_recording_to_json (rec);
  p = json_array_get_object_element (
    json_object_get_array_member (json_node_get_object (after), "participants"), 0);
  tracks = json_object_get_array_member (p, "tracks");
  g_assert_cmpuint (json_array_get_length (tracks), ==, 2);
  JsonObject *live = json_array_get_object_element (tracks, 1);
  g_assert_cmpstr (json_object_get_string_member (live, "state"), ==, "live");
  g_assert_false (json_object_has_member (live, "error"));
}

static void
test_ids (void)
{
  g_autofree char *a = reel_recording_new_id ();
  g_autofree char *b = reel_recording_new_id ();
  g_assert_true (g_str_has_prefix (a, "rec_"));
  g_assert_cmpuint (strlen (a), ==, 24);
  g_assert_cmpstr (a, !=, b);
  for (const char *p = a + 4; *p; p++)
    g_assert_true (g_ascii_isxdigit (*p));
}

static void
test_bearer (void)
{
  g_assert_true (reel_api_check_bearer ("Bearer s3cret", "s3cret"));
  g_assert_true (reel_api_check_bearer ("bearer s3cret", "s3cret"));
  g_assert_false (reel_api_check_bearer ("Bearer s3cre", "s3cret"));
  g_assert_false (reel_api_check_bearer ("Bearer s3cret ", "s3cret"));
  g_assert_false (reel_api_check_bearer ("Basic s3cret", "s3cret"));
  g_assert_false (reel_api_check_bearer ("s3cret", "s3cret"));
  g_assert_false (reel_api_check_bearer (NULL, "s3cret"));
  g_assert_false (reel_api_check_bearer ("Bearer ", ""));
  g_assert_false (reel_api_check_bearer ("Bearer x", NULL));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/recording/transitions", test_transitions);
  g_test_add_func ("/recording/lifecycle", test_lifecycle_stamps);
  g_test_add_func ("/recording/json", test_json_shape);
  g_test_add_func ("/recording/track-state", test_track_state);
  g_test_add_func ("/recording/ids", test_ids);
  g_test_add_func ("/recording/bearer", test_bearer);
  return g_test_run ();
}
