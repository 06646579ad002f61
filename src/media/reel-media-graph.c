/* reel-media-graph.c: the recording graph of one recording: its mixers, encoders
 * and tees, its bus, start and stop. Its inputs, outputs and tile layout are in
 * reel-media-inputs.c, reel-media-outputs.c and reel-media-layout.c.
 *
 * Thread rule: every field is owned by the main context. Streaming threads only
 * touch the atomic `failed` flag of an output (from the bus sync handler) and
 * post work to the main context.
 */
#include "media/reel-media-graph-private.h"

#include "base/reel-error.h"
#include "output/reel-pipeline-template.h"

GST_DEBUG_CATEGORY (reel_media_debug);

#define MIXER_LATENCY (100 * GST_MSECOND)
/* Composited pictures waiting for the video encoder. The compositor takes them
 * from a pool that never shrinks, so what this queue may hold once (after a
 * stall of the process, the compositor catches up faster than the encoder) stays
 * allocated for the rest of the recording: 1.4 MB a picture at 720p. Two let the
 * two threads overlap. */
#define VENC_QUEUE_PICTURES 2

GQuark reel_media_graph_output_quark;
/* Set on every bin on its way out of the pipeline: what it posts means nothing. */
static GQuark retired_quark;

G_DEFINE_FINAL_TYPE (ReelMediaGraph, reel_media_graph, G_TYPE_OBJECT)

guint reel_media_graph_signals[N_SIGNALS];

/* ---------- construction ---------- */

static GHashTable *
encoder_vars (const ReelMediaSettings *s)
{
  GHashTable *vars = g_hash_table_new_full (g_str_hash, g_str_equal, NULL, g_free);
  g_hash_table_insert (vars, "bitrate_kbps", g_strdup_printf ("%u", s->bitrate_kbps));
  g_hash_table_insert (vars, "bitrate_bps", g_strdup_printf ("%u", s->bitrate_kbps * 1000));
  g_hash_table_insert (vars, "framerate", g_strdup_printf ("%u", s->framerate));
  g_hash_table_insert (vars, "keyint", g_strdup_printf ("%u", s->framerate * 2));
  g_hash_table_insert (vars, "width", g_strdup_printf ("%u", s->width));
  g_hash_table_insert (vars, "height", g_strdup_printf ("%u", s->height));
  g_hash_table_insert (vars, "audio_bitrate_bps", g_strdup_printf ("%u", s->audio_bitrate_kbps * 1000));
  return vars;
}

static GstElement *
make_element (const char *factory, const char *name, GError **error)
{
  GstElement *e = gst_element_factory_make (factory, name);
  if (e == NULL)
    g_set_error (error, REEL_ERROR, REEL_ERROR_MEDIA,
                 "GStreamer element \"%s\" is missing: install its plugin", factory);
  return e;
}

static GstElement *
make_capsfilter (const char *name, GstCaps *caps /* transfer full */)
{
  GstElement *cf = gst_element_factory_make ("capsfilter", name);
  g_object_set (cf, "caps", caps, NULL);
  gst_caps_unref (caps);
  return cf;
}

static gboolean
drop_untimed_in_list (GstBuffer **buf, guint idx, gpointer user_data)
{
  KindCounters *c = user_data;
  if (!GST_BUFFER_PTS_IS_VALID (*buf)) {
    gst_clear_buffer (buf);
    g_atomic_int_inc (&c->untimed);
  }
  return TRUE;
}

/* Streaming thread: how old @buf is as it leaves the encoder, i.e. the pipeline
 * clock's running time now minus the running time of the frame's PTS (the
 * mixer's latency, queueing and encoding). */
static void
note_lag (GstPad *pad, GstBuffer *buf, KindCounters *c)
{
  if (buf == NULL || !GST_BUFFER_PTS_IS_VALID (buf))
    return;
  GstEvent *ev = gst_pad_get_sticky_event (pad, GST_EVENT_SEGMENT, 0);
  if (ev == NULL)
    return;
  const GstSegment *segment;
  gst_event_parse_segment (ev, &segment);
  GstClockTime frame = gst_segment_to_running_time (segment, GST_FORMAT_TIME, GST_BUFFER_PTS (buf));
  gst_event_unref (ev);
  GstObject *parent = GST_OBJECT_PARENT (pad);
  GstClockTime now = parent != NULL ? gst_element_get_current_running_time (GST_ELEMENT (parent))
                                    : GST_CLOCK_TIME_NONE;
  if (!GST_CLOCK_TIME_IS_VALID (frame) || !GST_CLOCK_TIME_IS_VALID (now))
    return;
  /* A picture's timestamp carries the video inputs' delay, which is not time spent:
   * without it added back, a picture encoded within that delay reads as 0. */
  gint64 lag_us = (GST_CLOCK_DIFF (frame, now) + c->delay) / GST_USECOND;
  g_atomic_int_set (&c->lag_us, (gint) CLAMP (lag_us, 0, G_MAXINT));
}

/* Pictures are delayed to meet their sound in the file:
 * - the compositor shows in each output frame [t, t + d) the last picture
 *   that starts before t + d, up to a whole frame early; half a frame later
 *   it shows the picture nearest to t (what a frame-rate converter does);
 * - the AAC encoder's priming (one 1024-sample frame, which libavcodec's AAC
 *   encoder puts first and mp4mux/matroskamux do not cut with an edit list)
 *   plays every sound that much later.
 * Returns: the offset of every video input's mixer pad */
GstClockTimeDiff
reel_media_graph_video_delay (ReelMediaGraph *self)
{
  return (GstClockTimeDiff) (GST_SECOND / (2 * self->framerate) +
                             gst_util_uint64_scale_int (AAC_PRIMING_SAMPLES, GST_SECOND, AUDIO_RATE));
}

static void
kind_counters_release (gpointer c)
{
  g_atomic_rc_box_release (c);
}

/* An encoder draining at EOS (avenc_aac after its input buffers are gone) can
 * emit a frame without a PTS: mp4mux fails the whole file on it ("Buffer has no
 * PTS"), and no muxer can place it. Such frames are dropped before the tee. */
static GstPadProbeReturn
drop_untimed (GstPad *pad, GstPadProbeInfo *info, gpointer user_data)
{
  KindCounters *c = user_data;
  if (info->type & GST_PAD_PROBE_TYPE_BUFFER) {
    GstBuffer *buf = GST_PAD_PROBE_INFO_BUFFER (info);
    if (!GST_BUFFER_PTS_IS_VALID (buf)) {
      GST_DEBUG_OBJECT (pad, "dropping a buffer without PTS");
      g_atomic_int_inc (&c->untimed);
      return GST_PAD_PROBE_DROP;
    }
    note_lag (pad, buf, c);
  } else if (info->type & GST_PAD_PROBE_TYPE_BUFFER_LIST) {
    GstBufferList *list = gst_buffer_list_make_writable (GST_PAD_PROBE_INFO_BUFFER_LIST (info));
    gst_buffer_list_foreach (list, drop_untimed_in_list, c);
    GST_PAD_PROBE_INFO_DATA (info) = list;
    if (gst_buffer_list_length (list) > 0)
      note_lag (pad, gst_buffer_list_get (list, gst_buffer_list_length (list) - 1), c);
  }
  return GST_PAD_PROBE_OK;
}

/* Streaming thread, on the compositor's output. Now and then (1 recording in 8
 * to 10 on these machines, idle or busy) the compositor makes its second frame
 * over [0, 2 periods) instead of [1 period, 2 periods): two pictures at time 0
 * and none one period later, in every file and stream (seen with a probe on its
 * src pad). It happens in the first milliseconds, while the tracks join and the
 * output caps are negotiated again. A frame that does not start after the last
 * one takes the period that follows the last one. */
typedef struct {
  GstClockTime pts;           /* the last frame's start */
  GstClockTime period;        /* one frame */
} VideoClock;

static GstPadProbeReturn
keep_video_monotonic (GstPad *pad, GstPadProbeInfo *info, gpointer data)
{
  VideoClock *last = data;
  GstBuffer *buf = GST_PAD_PROBE_INFO_BUFFER (info);
  GstClockTime t = GST_BUFFER_PTS (buf);
  if (!GST_CLOCK_TIME_IS_VALID (t))
    return GST_PAD_PROBE_OK;
  if (GST_CLOCK_TIME_IS_VALID (last->pts) && t <= last->pts) {
    GST_DEBUG_OBJECT (pad, "frame at %" GST_TIME_FORMAT " after %" GST_TIME_FORMAT ": moved to %"
                      GST_TIME_FORMAT, GST_TIME_ARGS (t), GST_TIME_ARGS (last->pts),
                      GST_TIME_ARGS (last->pts + last->period));
    buf = gst_buffer_make_writable (buf);
    t = last->pts + last->period;
    GST_BUFFER_PTS (buf) = t;
    GST_BUFFER_DURATION (buf) = last->period;
    GST_PAD_PROBE_INFO_DATA (info) = buf;
  }
  last->pts = t;
  return GST_PAD_PROBE_OK;
}

/* The mixer of one kind, or NULL with @error set. */
static GstElement *
make_mixer (ReelMediaKind kind, GError **error)
{
  gboolean video = kind == REEL_MEDIA_KIND_VIDEO;
  GstElement *mixer = make_element (video ? "compositor" : "audiomixer",
                                    video ? "mix-video" : "mix-audio", error);
  if (mixer == NULL)
    return NULL;
  if (video)
    /* One blending thread: the compositor's worker threads split each frame into
     * bands and join them again, which costs more CPU than it saves wall time
     * (tests/bench: -13% for 9 tiles); recordings run side by side use the cores. */
    g_object_set (mixer, "background", 1 /* black */, "max-threads", 1u, NULL);
  /* ignore-inactive-pads (a participant whose pad has no data yet must not hold
   * back the timeline) is switched on by base_input_flowing() (reel-media-inputs.c)
   * once the base input has data queued: with every pad inactive, audioaggregator
   * reports EOS and the audio branch stops for the rest of the recording. */
  /* Room for a source that is a little late (a busy core) before its previous
   * frame is repeated. */
  g_object_set (mixer, "latency", (guint64) MIXER_LATENCY, NULL);
  if (!video)
    /* Blocks of one AAC frame (1024 samples) instead of 10 ms: the encoder takes
     * each block whole, and the mixer and encoder threads wake half as often. */
    g_object_set (mixer, "output-buffer-duration-fraction", AUDIO_BLOCK_SAMPLES, AUDIO_RATE, NULL);
  return mixer;
}

static GstCaps *
mixer_caps (gboolean video, const ReelMediaSettings *s)
{
  return video
      ? gst_caps_new_simple ("video/x-raw", "format", G_TYPE_STRING, "I420",
                             "width", G_TYPE_INT, (gint) s->width,
                             "height", G_TYPE_INT, (gint) s->height,
                             "framerate", GST_TYPE_FRACTION, (gint) s->framerate, 1,
                             "pixel-aspect-ratio", GST_TYPE_FRACTION, 1, 1, NULL)
      : gst_caps_new_simple ("audio/x-raw", "format", G_TYPE_STRING, "F32LE",
                             "rate", G_TYPE_INT, AUDIO_RATE, "channels", G_TYPE_INT, 2,
                             "layout", G_TYPE_STRING, "interleaved", NULL);
}

/* mixer → caps → queue → encoder → tee, for one kind. */
static gboolean
build_chain (ReelMediaGraph *self, ReelMediaKind kind, const ReelMediaSettings *s,
             GHashTable *vars, GError **error)
{
  gboolean video = kind == REEL_MEDIA_KIND_VIDEO;
  GstElement *mixer = make_mixer (kind, error);
  if (mixer == NULL)
    return FALSE;
  GstElement *cf = make_capsfilter (video ? "caps-video" : "caps-audio", mixer_caps (video, s));
  GstElement *queue = gst_element_factory_make ("queue", video ? "queue-venc" : "queue-aenc");
  if (video)
    g_object_set (queue, "max-size-buffers", VENC_QUEUE_PICTURES, "max-size-bytes", 0,
                  "max-size-time", (guint64) 0, NULL);
  GstElement *enc = reel_pipeline_template_make_bin (
      s->pipelines_dir, video ? s->video_encoder : s->audio_encoder, vars,
      video ? "enc-video" : "enc-audio", error);
  if (enc == NULL) {
    gst_object_unref (gst_object_ref_sink (mixer));
    gst_object_unref (gst_object_ref_sink (cf));
    gst_object_unref (gst_object_ref_sink (queue));
    return FALSE;
  }
  GstElement *tee = gst_element_factory_make ("tee", video ? "tee-video" : "tee-audio");
  g_object_set (tee, "allow-not-linked", TRUE, NULL);
  gst_bin_add_many (GST_BIN (self->pipeline), mixer, cf, queue, enc, tee, NULL);
  if (!gst_element_link_many (mixer, cf, queue, enc, tee, NULL)) {
    g_set_error (error, REEL_ERROR, REEL_ERROR_MEDIA,
                 "the %s encoder template does not fit the mixer output",
                 video ? "video" : "audio");
    return FALSE;
  }
  self->mixers[kind] = mixer;
  if (video) {
    VideoClock *last = g_new (VideoClock, 1);
    last->pts = GST_CLOCK_TIME_NONE;
    last->period = gst_util_uint64_scale_int (GST_SECOND, 1, (gint) s->framerate);
    g_autoptr (GstPad) mixer_src = gst_element_get_static_pad (mixer, "src");
    gst_pad_add_probe (mixer_src, GST_PAD_PROBE_TYPE_BUFFER, keep_video_monotonic, last, g_free);
  }
  self->encoders[kind] = enc;
  self->tees[kind] = tee;
  g_autoptr (GstPad) tee_sink = gst_element_get_static_pad (tee, "sink");
  gst_pad_add_probe (tee_sink, GST_PAD_PROBE_TYPE_BUFFER | GST_PAD_PROBE_TYPE_BUFFER_LIST,
                     drop_untimed, g_atomic_rc_box_acquire (self->counters[kind]),
                     kind_counters_release);
  return TRUE;
}

/* Runs in the posting thread: mark an output failed before its error can flow
 * back into the tee (the drop probe on the tee pad then swallows its buffers). */
static GstBusSyncReply
bus_sync_handler (GstBus *bus, GstMessage *msg, gpointer user_data)
{
  ReelMediaGraph *self = user_data;
  if (GST_MESSAGE_TYPE (msg) == GST_MESSAGE_ERROR) {
    Output *o = reel_media_graph_find_output_of (self, GST_MESSAGE_SRC (msg));
    if (o != NULL)
      g_atomic_int_set (o->failed, 1);
  }
  return GST_BUS_PASS;
}

static gboolean bus_watch (GstBus *bus, GstMessage *msg, gpointer user_data);

/**
 * reel_media_graph_new:
 * Returns: (transfer full): a graph ready to start
 */
ReelMediaGraph *
reel_media_graph_new (const ReelMediaSettings *s, GError **error)
{
  g_autoptr (ReelMediaGraph) self = g_object_new (REEL_TYPE_MEDIA_GRAPH, NULL);
  self->name = g_strdup (s->name);
  self->width = s->width;
  self->height = s->height;
  self->framerate = MAX (s->framerate, 1);
  self->counters[REEL_MEDIA_KIND_VIDEO]->delay = reel_media_graph_video_delay (self);
  g_autofree char *pname = g_strdup_printf ("rec-%s", s->name);
  self->pipeline = gst_pipeline_new (pname);
  gst_object_ref_sink (self->pipeline);
  /* Per-output EOS arrives as GstBinForwarded messages. */
  g_object_set (self->pipeline, "message-forward", TRUE, NULL);

  g_autoptr (GHashTable) vars = encoder_vars (s);
  if (!build_chain (self, REEL_MEDIA_KIND_VIDEO, s, vars, error) ||
      !build_chain (self, REEL_MEDIA_KIND_AUDIO, s, vars, error))
    return NULL;
  if (!reel_media_graph_add_base_inputs (self, s)) {
    g_set_error (error, REEL_ERROR, REEL_ERROR_MEDIA, "cannot build the base inputs");
    return NULL;
  }
  g_autoptr (GstBus) bus = gst_element_get_bus (self->pipeline);
  gst_bus_set_sync_handler (bus, bus_sync_handler, self, NULL);
  self->bus_watch = gst_bus_add_watch (bus, bus_watch, self);
  return g_steal_pointer (&self);
}

/* ---------- teardown ---------- */

static void
set_null_async (GstElement *pipeline, gpointer unused)
{
  gst_element_set_state (pipeline, GST_STATE_NULL);
}

/* The main loop never waits on the pipeline: a source stuck in a serialized query
 * (or a sink stuck in network I/O) holds locks that a state change or an event
 * from here would wait for. Going to NULL flushes them free, on a pool thread. */
static void
shut_pipeline (ReelMediaGraph *self)
{
  gst_element_call_async (self->pipeline, set_null_async, NULL, NULL);
}

static void
teardown_element_async (GstElement *element, gpointer user_data)
{
  GstElement *bin = user_data;
  GstObject *parent = gst_object_get_parent (GST_OBJECT (bin));
  gst_element_set_state (bin, GST_STATE_NULL);
  if (parent != NULL) {
    gst_bin_remove (GST_BIN (parent), bin);
    gst_object_unref (parent);
  }
}

/* Sets @bin to NULL and removes it, off the main thread: a sink stuck in network
 * I/O must not stall the main loop.
 * @bin: (transfer none): an element of the pipeline */
void
reel_media_graph_teardown_bin (ReelMediaGraph *self, GstElement *bin)
{
  g_object_set_qdata (G_OBJECT (bin), retired_quark, GINT_TO_POINTER (1));
  gst_element_call_async (self->pipeline, teardown_element_async, gst_object_ref (bin),
                          gst_object_unref);
}

/* ---------- bus ---------- */

/* Returns: (transfer full) (nullable): the element added with add_element() that
 * contains @obj */
static GstElement *
find_added_element_of (ReelMediaGraph *self, GstObject *obj)
{
  for (guint i = 0; i < self->elements->len; i++) {
    GstObject *e = g_ptr_array_index (self->elements, i);
    if (obj == e || gst_object_has_as_ancestor (obj, e))
      return GST_ELEMENT (gst_object_ref (e));
  }
  return NULL;
}

/* The input whose bin contains @obj, or NULL. An element that is no longer in
 * the pipeline (an input already torn down) gives @detached. */
static Input *
find_input_of (ReelMediaGraph *self, GstObject *obj, gboolean *detached)
{
  *detached = FALSE;
  GHashTableIter it;
  Input *in;
  g_hash_table_iter_init (&it, self->inputs);
  while (g_hash_table_iter_next (&it, NULL, (gpointer *) &in))
    if (in->bin != NULL && (obj == GST_OBJECT (in->bin) ||
                            gst_object_has_as_ancestor (obj, GST_OBJECT (in->bin))))
      return in;
  *detached = obj != GST_OBJECT (self->pipeline) &&
              !gst_object_has_as_ancestor (obj, GST_OBJECT (self->pipeline));
  for (GstObject *o = gst_object_ref (obj); o != NULL && !*detached;) {
    *detached = g_object_get_qdata (G_OBJECT (o), retired_quark) != NULL;
    GstObject *parent = gst_object_get_parent (o);
    gst_object_unref (o);
    o = parent;
    if (*detached)
      g_clear_object (&o);
  }
  return NULL;
}

static void
on_error (ReelMediaGraph *self, GstMessage *msg)
{
  g_autoptr (GError) err = NULL;
  g_autofree char *debug = NULL;
  gst_message_parse_error (msg, &err, &debug);
  Output *o = reel_media_graph_find_output_of (self, GST_MESSAGE_SRC (msg));
  if (o != NULL) {
    reel_media_graph_on_output_error (self, o, err, debug);
    return;
  }
  /* A track's source fails alone: pushing into a mixer pad that its removal (or
   * stop) has just released gives not-negotiated or an error, which means
   * nothing; any other failure costs that track, not the recording. */
  gboolean detached;
  Input *in = find_input_of (self, GST_MESSAGE_SRC (msg), &detached);
  if (detached || (in != NULL && (in->removing || self->stopping))) {
    GST_DEBUG ("%s: error from a track being removed: %s", self->name, err->message);
    return;
  }
  if (in != NULL && !in->keep_pad) {
    g_warning ("%s: track %s failed, it leaves the recording: %s (%s)", self->name,
               in->track_id, err->message, debug ? debug : "");
    reel_media_graph_input_remove (self, in);
    return;
  }
  GstElement *owner = find_added_element_of (self, GST_MESSAGE_SRC (msg));
  if (owner != NULL) {
    GST_WARNING ("%s: %s failed: %s (%s)", self->name, GST_OBJECT_NAME (owner), err->message,
                 debug ? debug : "");
    g_autoptr (GError) error = g_error_new (REEL_ERROR, REEL_ERROR_ROOM_FAILED, "%s", err->message);
    g_signal_emit (self, reel_media_graph_signals[SIG_ELEMENT_FAILED], 0, owner, error);
    gst_object_unref (owner);
    return;
  }
  if (self->done)
    return;
  g_warning ("%s: graph failed in %s: %s (%s)", self->name, GST_MESSAGE_SRC_NAME (msg),
             err->message, debug ? debug : "");
  GST_DEBUG_BIN_TO_DOT_FILE_WITH_TS (GST_BIN (self->pipeline), GST_DEBUG_GRAPH_SHOW_ALL, self->name);
  g_autoptr (GError) error = g_error_new (REEL_ERROR, REEL_ERROR_MEDIA, "%s: %s",
                                          GST_MESSAGE_SRC_NAME (msg), err->message);
  self->done = TRUE;
  g_clear_handle_id (&self->stop_timeout, g_source_remove);
  shut_pipeline (self);
  g_signal_emit (self, reel_media_graph_signals[SIG_FAILED], 0, error);
}

/* The kind whose mixer or encoder @obj is (or is in), or -1. */
static int
mixing_kind_of (ReelMediaGraph *self, GstObject *obj)
{
  for (int k = 0; k < 2; k++) {
    GstObject *mixer = GST_OBJECT (self->mixers[k]), *enc = GST_OBJECT (self->encoders[k]);
    if (obj == mixer || obj == enc || gst_object_has_as_ancestor (obj, enc))
      return k;
  }
  return -1;
}

/* A QoS message carries the element's cumulative processed/dropped counts: the
 * difference since its last report is added to its kind. */
static void
on_qos (ReelMediaGraph *self, GstMessage *msg)
{
  GstFormat format;
  guint64 processed, dropped;
  gst_message_parse_qos_stats (msg, &format, &processed, &dropped);
  int kind = mixing_kind_of (self, GST_MESSAGE_SRC (msg));
  if (kind < 0 || format != GST_FORMAT_BUFFERS || dropped == G_MAXUINT64)
    return;
  guint64 *last = g_hash_table_lookup (self->qos_reported, GST_MESSAGE_SRC (msg));
  if (last == NULL) {
    last = g_new0 (guint64, 1);
    g_hash_table_insert (self->qos_reported, GST_MESSAGE_SRC (msg), last);
  }
  if (dropped > *last)
    self->qos_dropped[kind] += dropped - *last;
  *last = dropped;
}

static gboolean
bus_watch (GstBus *bus, GstMessage *msg, gpointer user_data)
{
  ReelMediaGraph *self = user_data;
  switch (GST_MESSAGE_TYPE (msg)) {
  case GST_MESSAGE_ERROR:
    on_error (self, msg);
    break;
  case GST_MESSAGE_WARNING: {
    g_autoptr (GError) err = NULL;
    gst_message_parse_warning (msg, &err, NULL);
    GST_WARNING ("%s: %s: %s", self->name, GST_MESSAGE_SRC_NAME (msg), err->message);
    break;
  }
  case GST_MESSAGE_ELEMENT:
    reel_media_graph_on_forwarded (self, msg);
    break;
  case GST_MESSAGE_QOS:
    on_qos (self, msg);
    break;
  case GST_MESSAGE_EOS:
    if (self->stopping)
      reel_media_graph_finish (self);
    break;
  case GST_MESSAGE_LATENCY:
    gst_bin_recalculate_latency (GST_BIN (self->pipeline));
    break;
  case GST_MESSAGE_STATE_CHANGED:
    if (GST_MESSAGE_SRC (msg) == GST_OBJECT (self->pipeline) && !self->started) {
      GstState new_state;
      gst_message_parse_state_changed (msg, NULL, &new_state, NULL);
      if (new_state == GST_STATE_PLAYING) {
        self->started = TRUE;
        g_signal_emit (self, reel_media_graph_signals[SIG_STARTED], 0);
      }
    }
    break;
  default:
    break;
  }
  return G_SOURCE_CONTINUE;
}

/* ---------- lifecycle ---------- */

/**
 * reel_media_graph_start:
 * Returns: %TRUE if the pipeline is going to PLAYING
 */
gboolean
reel_media_graph_start (ReelMediaGraph *self, GError **error)
{
  if (gst_element_set_state (self->pipeline, GST_STATE_PLAYING) == GST_STATE_CHANGE_FAILURE) {
    g_set_error (error, REEL_ERROR, REEL_ERROR_MEDIA, "the recording graph cannot start");
    gst_element_set_state (self->pipeline, GST_STATE_NULL);
    return FALSE;
  }
  return TRUE;
}

/* Ends the graph once: its pipeline goes to NULL, then "finished". */
void
reel_media_graph_finish (ReelMediaGraph *self)
{
  if (self->done)
    return;
  self->done = TRUE;
  g_clear_handle_id (&self->stop_timeout, g_source_remove);
  shut_pipeline (self);
  g_signal_emit (self, reel_media_graph_signals[SIG_FINISHED], 0);
}

static gboolean
stop_timed_out (gpointer data)
{
  ReelMediaGraph *self = data;
  self->stop_timeout = 0;
  GHashTableIter it;
  Output *o;
  g_hash_table_iter_init (&it, self->outputs);
  while (g_hash_table_iter_next (&it, NULL, (gpointer *) &o))
    o->timed_out = TRUE;
  GST_WARNING ("%s: outputs did not finalize in time", self->name);
  GST_DEBUG_BIN_TO_DOT_FILE_WITH_TS (GST_BIN (self->pipeline), GST_DEBUG_GRAPH_SHOW_ALL, self->name);
  reel_media_graph_finish (self);
  return G_SOURCE_REMOVE;
}

/**
 * reel_media_graph_stop:
 * @timeout_s: how long the outputs may take to finalize
 */
void
reel_media_graph_stop (ReelMediaGraph *self, guint timeout_s)
{
  if (self->stopping || self->done)
    return;
  self->stopping = TRUE;
  if (!self->started) {
    reel_media_graph_finish (self);
    return;
  }
  /* Every input ends the way a departing participant does: blocked, unlinked,
   * and an EOS sent straight into its mixer pad. Nothing waits on a source: a
   * live source stuck in a serialized query (seen under CPU load) holds the
   * lock that delivering EOS through it would need. Once the base inputs' pads
   * are at EOS the mixers drain, the encoders flush, and each output writes its
   * trailer. */
  GHashTableIter it;
  Input *in;
  g_autoptr (GPtrArray) all = g_ptr_array_new ();
  g_hash_table_iter_init (&it, self->inputs);
  while (g_hash_table_iter_next (&it, NULL, (gpointer *) &in))
    g_ptr_array_add (all, in);
  for (guint i = 0; i < all->len; i++)
    reel_media_graph_input_remove (self, g_ptr_array_index (all, i));
  self->stop_timeout = g_timeout_add_seconds (MAX (timeout_s, 1), stop_timed_out, self);
  reel_media_graph_check_outputs_done (self);
}

/**
 * reel_media_graph_get_running_time:
 * Returns: media time since start
 */
GstClockTime
reel_media_graph_get_running_time (ReelMediaGraph *self)
{
  if (!self->started || self->done)
    return GST_CLOCK_TIME_NONE;
  return gst_element_get_current_running_time (self->pipeline);
}

GstElement *
reel_media_graph_get_pipeline (ReelMediaGraph *self)
{
  return self->pipeline;
}

/**
 * reel_media_graph_get_stats:
 * @stats: (out caller-allocates): filled
 */
void
reel_media_graph_get_stats (ReelMediaGraph *self, ReelMediaStats *stats)
{
  for (int k = 0; k < 2; k++) {
    stats->encoder_frames_dropped[k] = self->qos_dropped[k] +
                                       (guint) g_atomic_int_get (&self->counters[k]->untimed);
    gint lag_us = g_atomic_int_get (&self->counters[k]->lag_us);
    stats->latency_us[k] = self->started && !self->done ? lag_us : -1;
  }
}

/* ---------- GObject ---------- */

static void
reel_media_graph_dispose (GObject *object)
{
  ReelMediaGraph *self = REEL_MEDIA_GRAPH (object);
  g_clear_handle_id (&self->stop_timeout, g_source_remove);
  g_clear_handle_id (&self->bus_watch, g_source_remove);
  if (self->pipeline != NULL) {
    g_autoptr (GstBus) bus = gst_element_get_bus (self->pipeline);
    gst_bus_set_sync_handler (bus, NULL, NULL, NULL);
    shut_pipeline (self);
  }
  g_hash_table_remove_all (self->outputs);
  g_hash_table_remove_all (self->inputs);
  g_ptr_array_set_size (self->tiles, 0);
  g_ptr_array_set_size (self->elements, 0);
  g_clear_object (&self->pipeline);
  G_OBJECT_CLASS (reel_media_graph_parent_class)->dispose (object);
}

static void
reel_media_graph_finalize (GObject *object)
{
  ReelMediaGraph *self = REEL_MEDIA_GRAPH (object);
  g_hash_table_unref (self->outputs);
  g_hash_table_unref (self->inputs);
  g_ptr_array_unref (self->tiles);
  g_ptr_array_unref (self->elements);
  g_hash_table_unref (self->participant_order);
  g_hash_table_unref (self->qos_reported);
  g_hash_table_unref (self->output_drops);
  for (int k = 0; k < 2; k++)
    g_atomic_rc_box_release (self->counters[k]);
  g_free (self->name);
  G_OBJECT_CLASS (reel_media_graph_parent_class)->finalize (object);
}

static void
reel_media_graph_init (ReelMediaGraph *self)
{
  self->outputs = g_hash_table_new_full (g_str_hash, g_str_equal, NULL,
                                         (GDestroyNotify) reel_media_graph_output_free);
  self->inputs = g_hash_table_new_full (g_str_hash, g_str_equal, NULL,
                                        (GDestroyNotify) reel_media_graph_input_free);
  self->tiles = g_ptr_array_new ();
  self->participant_order = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  self->elements = g_ptr_array_new_with_free_func (gst_object_unref);
  /* keys are elements of the pipeline, alive as long as the graph */
  self->qos_reported = g_hash_table_new_full (g_direct_hash, g_direct_equal, NULL, g_free);
  self->output_drops = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                              reel_media_graph_output_drops_release);
  for (int k = 0; k < 2; k++) {
    self->counters[k] = g_atomic_rc_box_new0 (KindCounters);
    self->counters[k]->lag_us = -1;
  }
}

static void
reel_media_graph_class_init (ReelMediaGraphClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  object_class->dispose = reel_media_graph_dispose;
  object_class->finalize = reel_media_graph_finalize;
  GST_DEBUG_CATEGORY_INIT (reel_media_debug, "reel-media", 0, "reel recording graph");
  reel_media_graph_output_quark = g_quark_from_static_string ("reel-output");
  retired_quark = g_quark_from_static_string ("reel-retired");

  guint *signals = reel_media_graph_signals;
  signals[SIG_STARTED] = g_signal_new ("started", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                                       0, NULL, NULL, NULL, G_TYPE_NONE, 0);
  signals[SIG_OUTPUT_FINISHED] = g_signal_new ("output-finished", G_TYPE_FROM_CLASS (klass),
                                               G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                                               G_TYPE_NONE, 1, G_TYPE_STRING);
  signals[SIG_OUTPUT_FAILED] = g_signal_new ("output-failed", G_TYPE_FROM_CLASS (klass),
                                             G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                                             G_TYPE_NONE, 2, G_TYPE_STRING, G_TYPE_ERROR);
  signals[SIG_FINISHED] = g_signal_new ("finished", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                                        0, NULL, NULL, NULL, G_TYPE_NONE, 0);
  signals[SIG_TRACK_RELEASED] = g_signal_new ("track-released", G_TYPE_FROM_CLASS (klass),
                                              G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                                              G_TYPE_NONE, 1, G_TYPE_STRING);
  signals[SIG_ELEMENT_FAILED] = g_signal_new ("element-failed", G_TYPE_FROM_CLASS (klass),
                                              G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                                              G_TYPE_NONE, 2, GST_TYPE_ELEMENT, G_TYPE_ERROR);
  signals[SIG_FAILED] = g_signal_new ("failed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                                      0, NULL, NULL, NULL, G_TYPE_NONE, 1, G_TYPE_ERROR);
}
