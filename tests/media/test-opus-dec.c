/* Media suite: reelopusdec on real Opus from opusenc through RTP: the tone comes
 * out at its pitch in stereo F32, a lost packet is concealed (sound, not a
 * hole), and a damaged packet is dropped without stopping the stream. */
#include "elements/reel-elements.h"

#include <gst/audio/audio.h>
#include <math.h>

#define RATE 48000
#define PACKETS 100

typedef enum { KEEP, LOSE, DAMAGE } Fault;

typedef struct {
  Fault fault;
  guint seen;                 /* packets out of the depayloader */
  GArray *left;               /* (element-type float) the left channel, placed by time */
  GstClockTime first;         /* the first decoded buffer's time */
  GstClockTime lost;          /* the lost packet's time */
  GstCaps *caps;
} Run;

/* Packet 50 lost (a gap, as the depayloader reports a loss) or damaged. */
static GstPadProbeReturn
fault_probe (GstPad *pad, GstPadProbeInfo *info, gpointer data)
{
  Run *r = data;
  GstBuffer *buf = GST_PAD_PROBE_INFO_BUFFER (info);
  if (r->seen++ != 50 || r->fault == KEEP)
    return GST_PAD_PROBE_OK;
  if (r->fault == LOSE) {
    r->lost = GST_BUFFER_PTS (buf);
    gst_pad_push_event (pad, gst_event_new_gap (GST_BUFFER_PTS (buf), GST_BUFFER_DURATION (buf)));
    return GST_PAD_PROBE_DROP;
  }
  /* TOC code 3 with a frame count of 0: not a valid packet. */
  GstBuffer *bad = gst_buffer_new_memdup ((const guint8[]) { 0xfb, 0x00, 0x11, 0x22 }, 4);
  gst_buffer_copy_into (bad, buf, GST_BUFFER_COPY_METADATA, 0, -1);
  gst_buffer_unref (buf);
  GST_PAD_PROBE_INFO_DATA (info) = bad;
  return GST_PAD_PROBE_OK;
}

static GstPadProbeReturn
collect (GstPad *pad, GstPadProbeInfo *info, gpointer data)
{
  Run *r = data;
  if (r->caps == NULL)
    r->caps = gst_pad_get_current_caps (pad);
  GstMapInfo map;
  GstBuffer *buf = GST_PAD_PROBE_INFO_BUFFER (info);
  gst_buffer_map (buf, &map, GST_MAP_READ);
  const float *s = (const float *) map.data;
  if (!GST_CLOCK_TIME_IS_VALID (r->first))
    r->first = GST_BUFFER_PTS (buf);
  /* At its time: what nothing covers stays 0 (silence). */
  guint at = (guint) gst_util_uint64_scale_round (GST_BUFFER_PTS (buf) - r->first, RATE, GST_SECOND);
  gsize n = map.size / sizeof (float) / 2;
  if (r->left->len < at + n)
    g_array_set_size (r->left, at + n);
  for (gsize i = 0; i < n; i++)
    g_array_index (r->left, float, at + i) = s[2 * i];
  gst_buffer_unmap (buf, &map);
  return GST_PAD_PROBE_OK;
}

static void
run (Run *r, guint channels)
{
  reel_elements_register ();
  r->left = g_array_new (FALSE, TRUE, sizeof (float));
  r->first = GST_CLOCK_TIME_NONE;
  g_autofree char *desc = g_strdup_printf (
      "audiotestsrc num-buffers=%d samplesperbuffer=960 freq=440 volume=0.5 "
      "! audio/x-raw,rate=48000,channels=%u ! opusenc ! rtpopuspay ! rtpopusdepay name=depay "
      "! reelopusdec ! fakesink name=sink", PACKETS, channels);
  g_autoptr (GError) error = NULL;
  GstElement *pipeline = gst_parse_launch (desc, &error);
  g_assert_no_error (error);
  GstElement *depay = gst_bin_get_by_name (GST_BIN (pipeline), "depay");
  GstElement *sink = gst_bin_get_by_name (GST_BIN (pipeline), "sink");
  g_autoptr (GstPad) dsrc = gst_element_get_static_pad (depay, "src");
  g_autoptr (GstPad) ssink = gst_element_get_static_pad (sink, "sink");
  gst_pad_add_probe (dsrc, GST_PAD_PROBE_TYPE_BUFFER, fault_probe, r, NULL);
  gst_pad_add_probe (ssink, GST_PAD_PROBE_TYPE_BUFFER, collect, r, NULL);
  gst_element_set_state (pipeline, GST_STATE_PLAYING);
  g_autoptr (GstBus) bus = gst_element_get_bus (pipeline);
  GstMessage *msg = gst_bus_timed_pop_filtered (bus, 20 * GST_SECOND, GST_MESSAGE_EOS | GST_MESSAGE_ERROR);
  g_assert_nonnull (msg);
  g_assert_cmpint (GST_MESSAGE_TYPE (msg), ==, GST_MESSAGE_EOS);
  gst_message_unref (msg);
  gst_element_set_state (pipeline, GST_STATE_NULL);
  gst_object_unref (depay);
  gst_object_unref (sink);
  gst_object_unref (pipeline);
}

static void
run_clear (Run *r)
{
  g_array_unref (r->left);
  gst_clear_caps (&r->caps);
}

/* Root mean square of samples [from, to). */
static double
rms (GArray *a, guint from, guint to)
{
  double sum = 0;
  for (guint i = from; i < to && i < a->len; i++)
    sum += (double) g_array_index (a, float, i) * g_array_index (a, float, i);
  return to > from ? sqrt (sum / (to - from)) : 0;
}

/* Rising zero crossings per second over [from, to): the pitch. */
static double
pitch (GArray *a, guint from, guint to)
{
  guint n = 0;
  for (guint i = from + 1; i < to && i < a->len; i++)
    if (g_array_index (a, float, i - 1) < 0 && g_array_index (a, float, i) >= 0)
      n++;
  return (double) n * RATE / (to - from);
}

static void
check_tone (Run *r)
{
  GstAudioInfo info;
  g_assert_true (gst_audio_info_from_caps (&info, r->caps));
  g_assert_cmpint (GST_AUDIO_INFO_FORMAT (&info), ==, GST_AUDIO_FORMAT_F32);
  g_assert_cmpint (GST_AUDIO_INFO_RATE (&info), ==, RATE);
  g_assert_cmpint (GST_AUDIO_INFO_CHANNELS (&info), ==, 2);
  /* Every packet's 20 ms comes out. */
  g_assert_cmpuint (r->left->len, >=, (PACKETS - 1) * 960);
  g_assert_cmpuint (r->left->len, <=, (PACKETS + 1) * 960); /* + the encoder's flush */
  /* 0.1 - 0.9 s: before packet 50, which the other tests lose or damage. */
  g_assert_cmpfloat (fabs (pitch (r->left, RATE / 10, RATE * 9 / 10) - 440), <, 3);
  g_assert_cmpfloat (rms (r->left, RATE / 10, RATE * 9 / 10), >, 0.2);
}

static void
test_mono_and_stereo (void)
{
  for (guint channels = 1; channels <= 2; channels++) {
    Run r = { .fault = KEEP };
    run (&r, channels);
    check_tone (&r);
    run_clear (&r);
  }
}

static void
test_lost_packet_concealed (void)
{
  Run r = { .fault = LOSE };
  run (&r, 1);
  check_tone (&r);
  /* Packet 50's 20 ms is there, as loud as the tone: libopus carried it on. */
  guint from = (guint) gst_util_uint64_scale_round (r.lost - r.first, RATE, GST_SECOND) + 96;
  guint to = from + 960 - 2 * 96; /* its 20 ms, 2 ms in from each end */
  g_test_message ("lost packet's 20 ms: rms %.3f, before it %.3f", rms (r.left, from, to),
                  rms (r.left, from - 960, from));
  g_assert_cmpfloat (rms (r.left, from, to), >, 0.25);
  run_clear (&r);
}

static void
test_damaged_packet_dropped (void)
{
  Run r = { .fault = DAMAGE };
  run (&r, 1);
  /* The stream goes on to the end. */
  g_assert_cmpuint (r.left->len, >=, (PACKETS - 1) * 960);
  g_assert_cmpfloat (fabs (pitch (r.left, r.left->len - RATE / 2, r.left->len) - 440), <, 5);
  run_clear (&r);
}

int
main (int argc, char **argv)
{
  gst_init (&argc, &argv);
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/opus-dec/mono-and-stereo", test_mono_and_stereo);
  g_test_add_func ("/opus-dec/lost-packet-concealed", test_lost_packet_concealed);
  g_test_add_func ("/opus-dec/damaged-packet-dropped", test_damaged_packet_dropped);
  return g_test_run ();
}
