/* Media suite: the subscriber session against a real offering webrtcbin on
 * loopback (the SFU's role): it answers without trickle, decodes VP8 and Opus,
 * hands out one decoded pad per track, and a track held up holds up no other. */
#include "webrtc/reel-webrtc-session.h"

#define GST_USE_UNSTABLE_API
#include <gst/sdp/sdp.h>
#include <gst/webrtc/webrtc.h>
#include <nice/nice.h>

typedef struct {
  GMainLoop *loop;
  GstElement *pipeline;
  GstElement *sfu;
  ReelWebrtcSession *session;
  guint video_buffers, audio_buffers;
  gboolean answered;
  char *answer_sdp;
  GstPad *video_sink;         /* (owned) the fakesink pad the video track feeds */
} Fixture;

static void
restrict_to_loopback (GstElement *webrtc)
{
  GObject *ice = NULL;
  NiceAgent *agent = NULL;
  g_object_get (webrtc, "ice-agent", &ice, NULL);
  g_object_get (ice, "agent", &agent, NULL);
  g_object_set (ice, "ice-tcp", FALSE, NULL);
  g_object_set (agent, "upnp", FALSE, NULL);
  NiceAddress addr;
  nice_address_init (&addr);
  nice_address_set_from_string (&addr, "127.0.0.1");
  nice_agent_add_local_address (agent, &addr);
  g_object_unref (agent);
  g_object_unref (ice);
}

static GstPadProbeReturn
count_buffers (GstPad *pad, GstPadProbeInfo *info, gpointer data)
{
  g_atomic_int_inc ((gint *) data);
  return GST_PAD_PROBE_OK;
}

static void
on_track_pad (ReelWebrtcSession *session, const char *mid, const char *kind, GstPad *pad, Fixture *f)
{
  GstElement *sink = gst_element_factory_make ("fakesink", NULL);
  g_object_set (sink, "sync", FALSE, "async", FALSE, NULL);
  gst_bin_add (GST_BIN (f->pipeline), sink);
  gst_element_sync_state_with_parent (sink);
  g_autoptr (GstPad) sinkpad = gst_element_get_static_pad (sink, "sink");
  g_assert_cmpint (gst_pad_link (pad, sinkpad), ==, GST_PAD_LINK_OK);
  gint *counter = g_str_equal (kind, "video") ? (gint *) &f->video_buffers : (gint *) &f->audio_buffers;
  if (g_str_equal (kind, "video"))
    g_set_object (&f->video_sink, sinkpad);
  gst_pad_add_probe (sinkpad, GST_PAD_PROBE_TYPE_BUFFER, count_buffers, counter, NULL);
}

static void
on_answer (ReelWebrtcSession *session, const char *sdp, Fixture *f)
{
  f->answered = TRUE;
  f->answer_sdp = g_strdup (sdp);
  GstSDPMessage *msg = NULL;
  g_assert_cmpint (gst_sdp_message_new_from_text (sdp, &msg), ==, GST_SDP_OK);
  GstWebRTCSessionDescription *answer = gst_webrtc_session_description_new (GST_WEBRTC_SDP_TYPE_ANSWER, msg);
  g_signal_emit_by_name (f->sfu, "set-remote-description", answer, NULL);
  gst_webrtc_session_description_free (answer);
}

static void
on_failed (ReelWebrtcSession *session, GError *error, Fixture *f)
{
  g_error ("session failed: %s", error->message);
}

static gboolean
offer_to_session (gpointer data)
{
  Fixture *f = data;
  GstWebRTCICEGatheringState state;
  g_object_get (f->sfu, "ice-gathering-state", &state, NULL);
  if (state != GST_WEBRTC_ICE_GATHERING_STATE_COMPLETE)
    return G_SOURCE_CONTINUE;
  GstWebRTCSessionDescription *local = NULL;
  g_object_get (f->sfu, "local-description", &local, NULL);
  g_autofree char *text = gst_sdp_message_as_text (local->sdp);
  gst_webrtc_session_description_free (local);
  g_autoptr (GError) error = NULL;
  g_assert_true (reel_webrtc_session_handle_offer (f->session, text, FALSE, &error));
  return G_SOURCE_REMOVE;
}

static void
on_offer_created (GstPromise *promise, gpointer data)
{
  Fixture *f = data;
  GstWebRTCSessionDescription *offer = NULL;
  gst_structure_get (gst_promise_get_reply (promise), "offer", GST_TYPE_WEBRTC_SESSION_DESCRIPTION, &offer, NULL);
  gst_promise_unref (promise);
  g_signal_emit_by_name (f->sfu, "set-local-description", offer, NULL);
  gst_webrtc_session_description_free (offer);
  g_timeout_add (50, offer_to_session, f);
}

static void
on_negotiation_needed (GstElement *sfu, Fixture *f)
{
  GstPromise *p = gst_promise_new_with_change_func (on_offer_created, f, NULL);
  g_signal_emit_by_name (sfu, "create-offer", NULL, p);
}

static gboolean
check_done (gpointer data)
{
  Fixture *f = data;
  if (g_atomic_int_get ((gint *) &f->video_buffers) > 30 && g_atomic_int_get ((gint *) &f->audio_buffers) > 30) {
    g_main_loop_quit (f->loop);
    return G_SOURCE_REMOVE;
  }
  return G_SOURCE_CONTINUE;
}

static gboolean
give_up (gpointer data)
{
  g_main_loop_quit (((Fixture *) data)->loop);
  return G_SOURCE_REMOVE;
}

static GstPadProbeReturn
hold (GstPad *pad, GstPadProbeInfo *info, gpointer data)
{
  return GST_PAD_PROBE_OK; /* a blocking probe: the video track's thread waits here */
}

static void
run_for (Fixture *f, guint ms)
{
  g_timeout_add (ms, give_up, f);
  g_main_loop_run (f->loop);
}

/* The video track stops taking pictures for 2 s (a decoder or mixer that falls
 * behind): its own thread waits, the sound goes on, and the video resumes. */
static void
check_tracks_independent (Fixture *f)
{
  gulong id = gst_pad_add_probe (f->video_sink, GST_PAD_PROBE_TYPE_BLOCK_DOWNSTREAM, hold, NULL, NULL);
  run_for (f, 300);
  guint video = g_atomic_int_get ((gint *) &f->video_buffers);
  guint audio = g_atomic_int_get ((gint *) &f->audio_buffers);
  run_for (f, 2000);
  g_assert_cmpuint (g_atomic_int_get ((gint *) &f->video_buffers), ==, video);
  g_assert_cmpuint (g_atomic_int_get ((gint *) &f->audio_buffers), >, audio + 50); /* 100 in 2 s */
  gst_pad_remove_probe (f->video_sink, id);
  run_for (f, 1500);
  g_assert_cmpuint (g_atomic_int_get ((gint *) &f->video_buffers), >, video + 10);
}

static void
test_answer_and_decode (void)
{
  Fixture f = { 0 };
  f.loop = g_main_loop_new (NULL, FALSE);
  g_autoptr (GError) error = NULL;
  f.pipeline = gst_parse_launch (
      "webrtcbin name=sfu bundle-policy=max-bundle "
      "videotestsrc is-live=true pattern=ball ! video/x-raw,width=320,height=180,framerate=30/1 "
      "! vp8enc deadline=1 keyframe-max-dist=30 ! rtpvp8pay pt=96 "
      "! application/x-rtp,media=video,encoding-name=VP8,payload=96,clock-rate=90000 ! sfu. "
      "audiotestsrc is-live=true freq=440 ! opusenc ! rtpopuspay pt=97 "
      "! application/x-rtp,media=audio,encoding-name=OPUS,payload=97,clock-rate=48000 ! sfu.",
      &error);
  g_assert_no_error (error);
  f.sfu = gst_bin_get_by_name (GST_BIN (f.pipeline), "sfu");
  restrict_to_loopback (f.sfu);
  GArray *transceivers = NULL;
  g_signal_emit_by_name (f.sfu, "get-transceivers", &transceivers);
  for (guint i = 0; i < transceivers->len; i++)
    g_object_set (g_array_index (transceivers, GstWebRTCRTPTransceiver *, i), "direction",
                  GST_WEBRTC_RTP_TRANSCEIVER_DIRECTION_SENDONLY, NULL);
  g_array_unref (transceivers);
  g_signal_connect (f.sfu, "on-negotiation-needed", G_CALLBACK (on_negotiation_needed), &f);

  const char *const addrs[] = { "127.0.0.1", NULL };
  const char *root = g_getenv ("REEL_SOURCE_ROOT");
  g_autofree char *pipelines = g_build_filename (root, "pipelines", NULL);
  f.session = reel_webrtc_session_new ("session", pipelines, addrs, 200);
  g_signal_connect (f.session, "track-pad", G_CALLBACK (on_track_pad), &f);
  g_signal_connect (f.session, "answer", G_CALLBACK (on_answer), &f);
  g_signal_connect (f.session, "failed", G_CALLBACK (on_failed), &f);
  gst_bin_add (GST_BIN (f.pipeline), GST_ELEMENT (f.session));

  gst_element_set_state (f.pipeline, GST_STATE_PLAYING);
  g_timeout_add (100, check_done, &f);
  guint limit = g_timeout_add_seconds (20, give_up, &f);
  g_main_loop_run (f.loop);

  g_assert_true (f.answered);
  /* The answer carries its candidates (no trickle) and receives only. */
  g_assert_nonnull (strstr (f.answer_sdp, "a=candidate:"));
  g_assert_nonnull (strstr (f.answer_sdp, "a=recvonly"));
  g_assert_cmpuint (f.video_buffers, >, 30);
  g_assert_cmpuint (f.audio_buffers, >, 30);
  g_source_remove (limit);
  check_tracks_independent (&f);

  gst_element_set_state (f.pipeline, GST_STATE_NULL);
  g_clear_object (&f.video_sink);
  gst_object_unref (f.sfu);
  gst_object_unref (f.pipeline);
  g_main_loop_unref (f.loop);
  g_free (f.answer_sdp);
}

/* ---------- an m-line the SFU turns inactive, then reuses ---------- */

typedef struct {
  GMainLoop *loop;
  char *answer;
  gboolean failed;
} Answers;

static void
collect_answer (ReelWebrtcSession *session, const char *sdp, Answers *a)
{
  g_free (a->answer);
  a->answer = g_strdup (sdp);
  g_main_loop_quit (a->loop);
}

static gboolean
answers_give_up (gpointer data)
{
  g_main_loop_quit (((Answers *) data)->loop);
  return G_SOURCE_REMOVE;
}

static void
note_failure (ReelWebrtcSession *session, GError *error, Answers *a)
{
  g_test_message ("session failed: %s", error->message);
  a->failed = TRUE;
  g_main_loop_quit (a->loop);
}

/* A real offer with a video and an audio m-line, each sending. */
static char *
make_offer (void)
{
  GstElement *sfu = gst_element_factory_make ("webrtcbin", NULL);
  restrict_to_loopback (sfu);
  gst_element_set_state (sfu, GST_STATE_READY);
  const char *caps[] = {
    "application/x-rtp,media=video,encoding-name=VP8,payload=96,clock-rate=90000,ssrc=(uint)1111",
    "application/x-rtp,media=audio,encoding-name=OPUS,payload=97,clock-rate=48000,ssrc=(uint)2222",
  };
  for (gsize i = 0; i < G_N_ELEMENTS (caps); i++) {
    g_autoptr (GstCaps) c = gst_caps_from_string (caps[i]);
    GstWebRTCRTPTransceiver *trans = NULL;
    g_signal_emit_by_name (sfu, "add-transceiver", GST_WEBRTC_RTP_TRANSCEIVER_DIRECTION_SENDONLY, c, &trans);
    gst_object_unref (trans);
  }
  GstPromise *p = gst_promise_new ();
  g_signal_emit_by_name (sfu, "create-offer", NULL, p);
  g_assert_cmpint (gst_promise_wait (p), ==, GST_PROMISE_RESULT_REPLIED);
  GstWebRTCSessionDescription *offer = NULL;
  gst_structure_get (gst_promise_get_reply (p), "offer", GST_TYPE_WEBRTC_SESSION_DESCRIPTION, &offer, NULL);
  gst_promise_unref (p);
  g_assert_nonnull (offer);
  char *text = gst_sdp_message_as_text (offer->sdp);
  gst_webrtc_session_description_free (offer);
  gst_element_set_state (sfu, GST_STATE_NULL);
  gst_object_unref (sfu);
  return text;
}

/* @offer with its second m-line's direction and SSRC lines replaced. */
static char *
second_mline (const char *offer, const char *direction, const char *ssrc)
{
  const char *second = strstr (offer, "m=audio");
  g_assert_nonnull (second);
  GString *s = g_string_new_len (offer, second - offer);
  g_auto (GStrv) lines = g_strsplit (second, "\r\n", -1);
  for (guint i = 0; lines[i] && lines[i][0]; i++) {
    if (g_str_equal (lines[i], "a=sendonly"))
      g_string_append_printf (s, "a=%s\r\n", direction);
    else if (g_str_has_prefix (lines[i], "a=ssrc:")) {
      if (ssrc)
        g_string_append_printf (s, "a=ssrc:%s%s\r\n", ssrc, strchr (lines[i], ' '));
    } else
      g_string_append_printf (s, "%s\r\n", lines[i]);
  }
  return g_string_free (s, FALSE);
}

static char *
answer_to (ReelWebrtcSession *session, Answers *a, const char *offer)
{
  g_autoptr (GError) error = NULL;
  g_assert_true (reel_webrtc_session_handle_offer (session, offer, FALSE, &error));
  guint timer = g_timeout_add_seconds (10, answers_give_up, a);
  g_main_loop_run (a->loop);
  g_source_remove (timer);
  g_assert_false (a->failed);
  g_assert_nonnull (a->answer);
  return g_steal_pointer (&a->answer);
}

static guint
count (const char *text, const char *needle)
{
  guint n = 0;
  for (const char *p = strstr (text, needle); p; p = strstr (p + 1, needle))
    n++;
  return n;
}

/* Janus marks a leaving publisher's m-lines inactive and puts the next
 * publisher of the same codec on them. webrtcbin 1.22 cannot re-activate an
 * m-line: the session must answer all three offers. */
static void
test_inactive_then_reused (void)
{
  Answers a = { .loop = g_main_loop_new (NULL, FALSE) };
  GstElement *pipeline = gst_pipeline_new (NULL);
  const char *const addrs[] = { "127.0.0.1", NULL };
  g_autofree char *pipelines = g_build_filename (g_getenv ("REEL_SOURCE_ROOT"), "pipelines", NULL);
  ReelWebrtcSession *session = reel_webrtc_session_new ("session", pipelines, addrs, 200);
  g_signal_connect (session, "answer", G_CALLBACK (collect_answer), &a);
  g_signal_connect (session, "failed", G_CALLBACK (note_failure), &a);
  gst_bin_add (GST_BIN (pipeline), GST_ELEMENT (session));
  gst_element_set_state (pipeline, GST_STATE_PLAYING);

  g_autofree char *first = make_offer ();
  g_autofree char *gone = second_mline (first, "inactive", NULL);
  g_autofree char *reused = second_mline (first, "sendonly", "3333");
  g_assert_cmpuint (count (first, "a=sendonly"), ==, 2);

  g_autofree char *answer1 = answer_to (session, &a, first);
  g_assert_cmpuint (count (answer1, "a=recvonly"), ==, 2);
  g_autofree char *answer2 = answer_to (session, &a, gone);
  g_assert_cmpuint (count (answer2, "a=recvonly"), ==, 1);
  g_assert_cmpuint (count (answer2, "a=inactive"), ==, 1);
  g_assert_nonnull (strstr (strstr (answer2, "m=audio"), "a=inactive"));
  g_autofree char *answer3 = answer_to (session, &a, reused);
  g_assert_cmpuint (count (answer3, "a=recvonly"), ==, 2);
  g_assert_cmpuint (count (answer3, "a=inactive"), ==, 0);

  gst_element_set_state (pipeline, GST_STATE_NULL);
  gst_object_unref (pipeline);
  g_main_loop_unref (a.loop);
}

int
main (int argc, char **argv)
{
  g_setenv ("GIO_USE_PROXY_RESOLVER", "dummy", FALSE);
  gst_init (&argc, &argv);
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/webrtc/answer-and-decode", test_answer_and_decode);
  g_test_add_func ("/webrtc/inactive-then-reused", test_inactive_then_reused);
  return g_test_run ();
}
