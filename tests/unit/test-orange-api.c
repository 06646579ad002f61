/* test-orange-api.c: Orange Meets room messages (sfu/reel-orange-api.c). */
#include "sfu/reel-orange-api.h"

#include <string.h>

#define STATE(users) "{\"type\":\"roomState\",\"state\":{\"meetingId\":\"m1\",\"users\":[" users \
                     "],\"ai\":{\"enabled\":false}}}"
#define ALICE "{\"id\":\"a1\",\"name\":\"Alice\",\"joined\":true,\"tracks\":{\"audio\":\"s1/mic\"," \
              "\"video\":\"s1/cam\",\"videoEnabled\":false}}"
#define REEL "{\"id\":\"me\",\"name\":\"Recorder\",\"joined\":true,\"tracks\":{\"audio\":\"s0/x\"}}"

static ReelOrangeMessage *
parse (const char *text)
{
  return reel_orange_message_parse (text, strlen (text));
}

static ReelRemoteTrack *
find (GPtrArray *tracks, const char *participant, const char *kind)
{
  for (guint i = 0; i < tracks->len; i++) {
    ReelRemoteTrack *t = g_ptr_array_index (tracks, i);
    if (g_str_equal (t->participant, participant) && g_str_equal (t->kind, kind))
      return t;
  }
  return NULL;
}

/* Joined users but reel become tracks; names, mute flags and screen shares come along. */
static void
test_room_state (void)
{
  g_autoptr (ReelOrangeMessage) m = parse (STATE (
    ALICE ","
    "{\"id\":\"b2\",\"name\":\"Bob\",\"joined\":false,\"tracks\":{\"audio\":\"s2/mic\"}},"
    REEL ","
    "{\"id\":\"c3\",\"joined\":true,\"tracks\":{\"video\":\"s3/cam\",\"screenshare\":\"s3/screen\"}},"
    "{\"name\":\"no id\",\"joined\":true}"));
  g_assert_cmpint (m->type, ==, REEL_ORANGE_MESSAGE_ROOM_STATE);
  g_assert_cmpstr (m->meeting_id, ==, "m1");
  g_assert_cmpuint (m->users->len, ==, 4);
  ReelOrangeUser *alice = g_ptr_array_index (m->users, 0);
  g_assert_true (alice->joined);
  g_assert_cmpstr (alice->video->session_id, ==, "s1");
  g_assert_cmpstr (alice->video->track_name, ==, "cam");
  g_assert_false (alice->video_enabled);
  g_assert_true (alice->audio_enabled);
  g_assert_null (alice->screenshare);
  g_assert_cmpuint (reel_orange_joined_count (m, "me"), ==, 2);

  g_autoptr (GPtrArray) tracks = reel_orange_wanted_tracks (m, "me");
  g_assert_cmpuint (tracks->len, ==, 4);
  ReelRemoteTrack *mic = find (tracks, "a1", "audio");
  g_assert_nonnull (mic);
  g_assert_cmpstr (mic->session_id, ==, "s1");
  g_assert_cmpstr (mic->track_name, ==, "mic");
  g_assert_cmpstr (mic->participant_name, ==, "Alice");
  g_assert_nonnull (find (tracks, "a1", "video"));
  g_assert_null (find (tracks, "b2", "audio"));   /* not joined */
  g_assert_null (find (tracks, "me", "audio"));   /* reel itself */
  ReelRemoteTrack *screen = find (tracks, "c3:screen", "video");
  g_assert_nonnull (screen);
  g_assert_cmpstr (screen->participant_name, ==, "c3 (screen)"); /* no name: the id */
  g_assert_cmpstr (find (tracks, "c3", "video")->track_name, ==, "cam");
}

static void
test_track_refs (void)
{
  static const char *const bad[] = { "", "s1", "/cam", "s1/", "s 1/cam", "s1/c am", "s\xc3\xa9/cam",
                                     "../x/y", "a.b/c", NULL };
  for (guint i = 0; bad[i] != NULL; i++) {
    ReelOrangeTrackRef *ref = reel_orange_track_ref_parse (bad[i]);
    if (ref != NULL)
      g_error ("%s parsed", bad[i]);
  }
  ReelOrangeTrackRef *ref = reel_orange_track_ref_parse ("2f1c-aa_b/9b1c-77/x");
  g_assert_cmpstr (ref->session_id, ==, "2f1c-aa_b");
  g_assert_cmpstr (ref->track_name, ==, "9b1c-77/x"); /* split at the first slash */
  reel_orange_track_ref_free (ref);
}

/* A track string listed twice (a buggy client) is pulled once. */
static void
test_duplicates (void)
{
  g_autoptr (ReelOrangeMessage) m = parse (STATE (
    ALICE ",{\"id\":\"z\",\"joined\":true,\"tracks\":{\"video\":\"s1/cam\"}}"));
  g_autoptr (GPtrArray) tracks = reel_orange_wanted_tracks (m, NULL);
  g_assert_cmpuint (tracks->len, ==, 2);
}

static void
test_other_messages (void)
{
  static const struct {
    const char *text;
    ReelOrangeMessageType type;
  } cases[] = {
    { "{\"type\":\"e2eeMlsMessage\",\"payload\":\"{}\"}", REEL_ORANGE_MESSAGE_E2EE },
    { "{\"type\":\"userLeftNotification\",\"id\":\"a1\"}", REEL_ORANGE_MESSAGE_USER_LEFT },
    { "{\"type\":\"error\",\"error\":\"x\"}", REEL_ORANGE_MESSAGE_ERROR },
    { "{\"type\":\"muteMic\"}", REEL_ORANGE_MESSAGE_OTHER },
    { "{\"type\":\"roomState\"}", REEL_ORANGE_MESSAGE_INVALID },
    { "{\"type\":\"roomState\",\"state\":{\"users\":5}}", REEL_ORANGE_MESSAGE_INVALID },
    { "{\"type\":5}", REEL_ORANGE_MESSAGE_INVALID },
    { "[1,2]", REEL_ORANGE_MESSAGE_INVALID },
    { "not json", REEL_ORANGE_MESSAGE_INVALID },
    { "", REEL_ORANGE_MESSAGE_INVALID },
  };
  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++) {
    g_autoptr (ReelOrangeMessage) m = parse (cases[i].text);
    g_assert_cmpint (m->type, ==, cases[i].type);
  }
  g_autoptr (ReelOrangeMessage) left = parse ("{\"type\":\"userLeftNotification\",\"id\":\"a1\"}");
  g_assert_cmpstr (left->text, ==, "a1");
}

static void
test_outgoing (void)
{
  g_autofree char *beat = reel_orange_heartbeat_message ();
  g_assert_cmpstr (beat, ==, "{\"type\":\"heartbeat\"}");
  g_autofree char *bye = reel_orange_user_left_message ();
  g_assert_cmpstr (bye, ==, "{\"type\":\"userLeft\"}");
  g_autofree char *update = reel_orange_user_update_message ("me", "Rec \"1\"", TRUE);
  g_assert_nonnull (strstr (update, "\"type\":\"userUpdate\""));
  g_assert_nonnull (strstr (update, "\"id\":\"me\""));
  g_assert_nonnull (strstr (update, "\"name\":\"Rec \\\"1\\\"\""));
  g_assert_nonnull (strstr (update, "\"joined\":true"));
  g_assert_nonnull (strstr (update, "\"audioUnavailable\":true"));
  g_assert_true (reel_orange_loader_says_e2ee ("{\"e2eeEnabled\":true}", 20));
  g_assert_false (reel_orange_loader_says_e2ee ("{\"e2eeEnabled\":\"true\"}", 22));
  g_assert_false (reel_orange_loader_says_e2ee ("<html>", 6));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/orange-api/room-state", test_room_state);
  g_test_add_func ("/orange-api/track-refs", test_track_refs);
  g_test_add_func ("/orange-api/duplicates", test_duplicates);
  g_test_add_func ("/orange-api/other-messages", test_other_messages);
  g_test_add_func ("/orange-api/outgoing", test_outgoing);
  return g_test_run ();
}
