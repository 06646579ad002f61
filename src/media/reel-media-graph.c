/* reel-media-graph.c: the recording graph of one recording.
 *
 * Thread rule: every field is owned by the main context. Streaming threads only
 * touch the atomic `failed` flag of an output (from the bus sync handler) and
 * post work to the main context.
 */
#include "media/reel-media-graph.h"

#include "base/reel-error.h"
#include "media/reel-layout.h"
#include "output/reel-output-bin.h"
#include "output/reel-pipeline-template.h"

#include <gst/base/gstaggregator.h>
#include <gst/video/video.h>

GST_DEBUG_CATEGORY_STATIC (reel_media_debug);
#define GST_CAT_DEFAULT reel_media_debug

#define AUDIO_RATE 48000
#define BASE_TILE_SIZE 16
#define MIXER_LATENCY (100 * GST_MSECOND)
#define AUDIO_BLOCK_SAMPLES 1024   /* the mixer's output block: one AAC frame */
#define AAC_PRIMING_SAMPLES 1024 /* audio-aac: avenc_aac's encoder delay */

static GQuark output_quark;
/* Set on every bin on its way out of the pipeline: what it posts means nothing. */
static GQuark retired_quark;

typedef struct _Output Output;
typedef struct _Input Input;

struct _Output {
  ReelMediaGraph *graph;      /* (unowned) */
  char *id;
  guint serial;               /* tells apart a retried output from its predecessor */
  GstElement *bin;            /* (owned) */
  GstPad *tee_pads[2];        /* video, audio (owned) */
  gulong drop_probes[2];
  gint *failed;               /* atomic rc box: set from the bus sync handler; its tee
                               * pads' probes hold it too, as a callback may still run
                               * after the probe is removed and the Output freed */
  guint pending_unlinks;
  gboolean detaching;
  gboolean finalize;
  gboolean timed_out;
  gboolean eos;               /* finalized: its sink has seen EOS */
};

struct _Input {
  ReelMediaGraph *graph;      /* (unowned) */
  char *track_id;
  char *participant_id;
  ReelMediaKind kind;
  GstElement *bin;            /* (owned) (nullable): NULL for a pad track */
  GstPad *src;                /* (owned) the pad that feeds the mixer */
  GstPad *mixer_pad;          /* (owned) */
  gboolean removing;
  gboolean keep_pad;          /* a base input: at stop its mixer pad stays, at EOS */
  guint participant_seq;      /* tiles are ordered by when their participant first came */
  guint seq;
  gint aspect_num, aspect_den; /* video: display aspect from its caps; 0 = not known yet */
  gint width, height;         /* video: picture size from its caps; 0 = not known yet */
  gboolean scaling_set;       /* video: its pad's converter config is set, to... */
  gboolean scaled;            /* ...scale (TRUE) or none (FALSE) */
};

/* Streaming-thread numbers of one kind (audio or video), filled by the probe on
 * the tee's sink pad. Reference-counted: a probe may outlive the graph. */
typedef struct {
  gint untimed;               /* atomic: encoded frames without PTS dropped before the tee */
  gint lag_us;                /* atomic: age of the last encoded frame at the tee; -1 = none yet */
} KindCounters;

/* Leak events of one output's two queues (audio, video), kept by output id so a
 * retried output goes on counting. Reference-counted: the queues' signal
 * handlers hold it. */
typedef struct {
  gint leaks[2];              /* atomic, indexed by ReelMediaKind */
} OutputDrops;

typedef struct {
  OutputDrops *drops;         /* (owned) */
  ReelMediaKind kind;
} DropSlot;

struct _ReelMediaGraph {
  GObject parent_instance;
  char *name;
  guint width, height, framerate;
  GstElement *pipeline;
  GstElement *mixers[2];      /* indexed by ReelMediaKind */
  GstElement *tees[2];
  GstElement *encoders[2];
  KindCounters *counters[2];  /* (owned) rc boxes */
  guint64 qos_dropped[2];     /* frames the mixers and encoders reported dropped (QoS) */
  GHashTable *qos_reported;   /* element → guint64* its last cumulative QoS count */
  GHashTable *output_drops;   /* output id → OutputDrops (rc box) */
  GHashTable *outputs;        /* id → Output */
  GHashTable *inputs;         /* track id → Input */
  GPtrArray *tiles;           /* (element-type Input) video inputs in join order, unowned */
  guint next_output_serial;
  GHashTable *participant_order; /* participant id → first-seen sequence */
  guint next_seq;
  GPtrArray *elements;        /* (element-type GstElement) added with add_element, owned */
  guint bus_watch;
  guint stop_timeout;
  gboolean started;
  gboolean stopping;
  gboolean done;
};

G_DEFINE_FINAL_TYPE (ReelMediaGraph, reel_media_graph, G_TYPE_OBJECT)

enum {
  SIG_STARTED, SIG_OUTPUT_FINISHED, SIG_OUTPUT_FAILED, SIG_FINISHED, SIG_FAILED,
  SIG_TRACK_RELEASED, SIG_ELEMENT_FAILED, N_SIGNALS
};
static guint signals[N_SIGNALS];

static void output_free (Output *o);
static void input_free (Input *in);
static void finish (ReelMediaGraph *self);

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
  gint64 lag_us = GST_CLOCK_DIFF (frame, now) / GST_USECOND;
  g_atomic_int_set (&c->lag_us, (gint) CLAMP (lag_us, 0, G_MAXINT));
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

/* mixer → caps → queue → encoder → tee, for one kind. */
static gboolean
build_chain (ReelMediaGraph *self, ReelMediaKind kind, const ReelMediaSettings *s,
             GHashTable *vars, GError **error)
{
  gboolean video = kind == REEL_MEDIA_KIND_VIDEO;
  GstElement *mixer = make_element (video ? "compositor" : "audiomixer",
                                    video ? "mix-video" : "mix-audio", error);
  if (mixer == NULL)
    return FALSE;
  if (video)
    /* One blending thread: the compositor's worker threads split each frame into
     * bands and join them again, which costs more CPU than it saves wall time
     * (tests/bench: -13% for 9 tiles); recordings run side by side use the cores. */
    g_object_set (mixer, "background", 1 /* black */, "max-threads", 1u, NULL);
  /* ignore-inactive-pads (a participant whose pad has no data yet must not hold
   * back the timeline) is switched on by base_input_flowing() once the base input
   * has data queued: with every pad inactive, audioaggregator reports EOS and the
   * audio branch stops for the rest of the recording. */
  /* Room for a source that is a little late (a busy core) before its previous
   * frame is repeated. */
  g_object_set (mixer, "latency", (guint64) MIXER_LATENCY, NULL);
  if (!video)
    /* Blocks of one AAC frame (1024 samples) instead of 10 ms: the encoder takes
     * each block whole, and the mixer and encoder threads wake half as often. */
    g_object_set (mixer, "output-buffer-duration-fraction", AUDIO_BLOCK_SAMPLES, AUDIO_RATE, NULL);

  GstCaps *caps = video
      ? gst_caps_new_simple ("video/x-raw", "format", G_TYPE_STRING, "I420",
                             "width", G_TYPE_INT, (gint) s->width,
                             "height", G_TYPE_INT, (gint) s->height,
                             "framerate", GST_TYPE_FRACTION, (gint) s->framerate, 1,
                             "pixel-aspect-ratio", GST_TYPE_FRACTION, 1, 1, NULL)
      : gst_caps_new_simple ("audio/x-raw", "format", G_TYPE_STRING, "F32LE",
                             "rate", G_TYPE_INT, AUDIO_RATE, "channels", G_TYPE_INT, 2,
                             "layout", G_TYPE_STRING, "interleaved", NULL);
  GstElement *cf = make_capsfilter (video ? "caps-video" : "caps-audio", caps);
  GstElement *queue = gst_element_factory_make ("queue", video ? "queue-venc" : "queue-aenc");
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

static void input_free (Input *in);

/* On the base input's mixer pad. The pad is active once its first buffer is
 * queued, which is done when the second one arrives (same streaming thread). */
static GstPadProbeReturn
base_input_flowing (GstPad *pad, GstPadProbeInfo *info, gpointer data)
{
  guint *seen = data;
  if (++*seen < 2)
    return GST_PAD_PROBE_OK;
  g_autoptr (GstObject) mixer = gst_pad_get_parent (pad);
  if (mixer != NULL)
    gst_aggregator_set_ignore_inactive_pads (GST_AGGREGATOR (mixer), TRUE);
  return GST_PAD_PROBE_REMOVE;
}

/* A source bin from our own description, or NULL. Caps at the end of a
 * description link to nothing: they need a capsfilter. Without a GError the
 * parser hands back whatever it managed to build, so errors are asked for. */
static GstElement *
source_bin_new (const char *desc)
{
  g_autoptr (GError) error = NULL;
  GstElement *bin = gst_parse_bin_from_description_full (desc, TRUE, NULL,
                                                         GST_PARSE_FLAG_FATAL_ERRORS, &error);
  if (bin == NULL || error != NULL) {
    GST_ERROR ("source \"%s\": %s", desc, error ? error->message : "no bin");
    if (bin != NULL)
      gst_object_unref (gst_object_ref_sink (bin));
    return NULL;
  }
  return bin;
}

/* A permanent input per mixer keeps the timeline live and gap-free when no
 * participant is present: a transparent (alpha 0: skipped by the compositor)
 * tiny picture and digital silence. They are Inputs like any track, so stop can
 * end them the same way; they keep their mixer pads to the end. */
static gboolean
add_base_inputs (ReelMediaGraph *self, const ReelMediaSettings *s)
{
  g_autofree char *vdesc = g_strdup_printf (
      "videotestsrc is-live=true pattern=black ! capsfilter caps=video/x-raw,format=I420,width=%d,height=%d,framerate=%u/1",
      BASE_TILE_SIZE, BASE_TILE_SIZE, s->framerate);
  const char *adesc = "audiotestsrc is-live=true wave=silence samplesperbuffer=" G_STRINGIFY (AUDIO_BLOCK_SAMPLES) " "
                      "! capsfilter caps=audio/x-raw,rate=48000,channels=2";
  const char *descs[2] = { [REEL_MEDIA_KIND_AUDIO] = adesc, [REEL_MEDIA_KIND_VIDEO] = vdesc };
  for (int k = 0; k < 2; k++) {
    GstElement *bin = source_bin_new (descs[k]);
    if (bin == NULL)
      return FALSE;
    Input *in = g_new0 (Input, 1);
    in->graph = self;
    in->kind = (ReelMediaKind) k;
    in->keep_pad = TRUE;
    in->track_id = g_strdup (k == REEL_MEDIA_KIND_VIDEO ? "base-video" : "base-audio");
    in->participant_id = g_strdup ("");
    in->seq = ++self->next_seq;
    in->bin = gst_object_ref_sink (bin);
    gst_object_set_name (GST_OBJECT (bin), k == REEL_MEDIA_KIND_VIDEO ? "in-base-video" : "in-base-audio");
    gst_bin_add (GST_BIN (self->pipeline), gst_object_ref (bin));
    in->src = gst_element_get_static_pad (bin, "src");
    in->mixer_pad = gst_element_request_pad_simple (self->mixers[k], "sink_%u");
    if (k == REEL_MEDIA_KIND_VIDEO)
      g_object_set (in->mixer_pad, "alpha", 0.0, "zorder", 0, NULL);
    gst_pad_add_probe (in->mixer_pad, GST_PAD_PROBE_TYPE_BUFFER | GST_PAD_PROBE_TYPE_BUFFER_LIST,
                       base_input_flowing, g_new0 (guint, 1), g_free);
    g_hash_table_insert (self->inputs, in->track_id, in);
    if (gst_pad_link (in->src, in->mixer_pad) != GST_PAD_LINK_OK)
      return FALSE;
  }
  return TRUE;
}

static Output *
find_output_of (ReelMediaGraph *self, GstObject *obj)
{
  for (GstObject *o = obj ? gst_object_ref (obj) : NULL; o != NULL;) {
    Output *out = g_object_get_qdata (G_OBJECT (o), output_quark);
    GstObject *parent = gst_object_get_parent (o);
    gst_object_unref (o);
    if (out != NULL) {
      g_clear_object (&parent);
      return out;
    }
    o = parent;
  }
  return NULL;
}

/* Runs in the posting thread: mark an output failed before its error can flow
 * back into the tee (the drop probe on the tee pad then swallows its buffers). */
static GstBusSyncReply
bus_sync_handler (GstBus *bus, GstMessage *msg, gpointer user_data)
{
  ReelMediaGraph *self = user_data;
  if (GST_MESSAGE_TYPE (msg) == GST_MESSAGE_ERROR) {
    Output *o = find_output_of (self, GST_MESSAGE_SRC (msg));
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
  g_autofree char *pname = g_strdup_printf ("rec-%s", s->name);
  self->pipeline = gst_pipeline_new (pname);
  gst_object_ref_sink (self->pipeline);
  /* Per-output EOS arrives as GstBinForwarded messages. */
  g_object_set (self->pipeline, "message-forward", TRUE, NULL);

  g_autoptr (GHashTable) vars = encoder_vars (s);
  if (!build_chain (self, REEL_MEDIA_KIND_VIDEO, s, vars, error) ||
      !build_chain (self, REEL_MEDIA_KIND_AUDIO, s, vars, error))
    return NULL;
  if (!add_base_inputs (self, s)) {
    g_set_error (error, REEL_ERROR, REEL_ERROR_MEDIA, "cannot build the base inputs");
    return NULL;
  }
  g_autoptr (GstBus) bus = gst_element_get_bus (self->pipeline);
  gst_bus_set_sync_handler (bus, bus_sync_handler, self, NULL);
  self->bus_watch = gst_bus_add_watch (bus, bus_watch, self);
  return g_steal_pointer (&self);
}

/* ---------- layout ---------- */

static void set_tile_scaling (Input *in, gboolean scaled); /* scaling: below, with linking */

static gint
compare_tiles (gconstpointer a, gconstpointer b)
{
  const Input *x = *(Input *const *) a, *y = *(Input *const *) b;
  if (x->participant_seq != y->participant_seq)
    return x->participant_seq < y->participant_seq ? -1 : 1;
  return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static void
apply_layout (ReelMediaGraph *self)
{
  /* A participant keeps its place when its placeholder gives way to its video. */
  g_ptr_array_sort (self->tiles, compare_tiles);
  guint n = self->tiles->len;
  g_autofree ReelRect *cells = g_new0 (ReelRect, MAX (n, 1));
  if (!reel_layout_grid_cells (n, (gint) self->width, (gint) self->height, cells))
    return;
  for (guint i = 0; i < n; i++) {
    Input *in = g_ptr_array_index (self->tiles, i);
    /* Each picture keeps its own shape (a phone's portrait video is pillarboxed);
     * 16:9 until its caps are known. */
    ReelRect r;
    if (!reel_layout_fit (&cells[i], in->aspect_num > 0 ? in->aspect_num : 16,
                          in->aspect_den > 0 ? in->aspect_den : 9, &r))
      r = cells[i];
    g_object_set (in->mixer_pad, "xpos", r.x, "ypos", r.y, "width", r.width, "height", r.height,
                  NULL);
    set_tile_scaling (in, r.width != in->width || r.height != in->height);
  }
  GST_INFO ("%s: layout grid with %u tiles", self->name, n);
}

/* ---------- inputs ---------- */

/**
 * reel_media_synthetic_source_new:
 * Returns: (transfer floating): a live source bin
 */
GstElement *
reel_media_synthetic_source_new (ReelMediaKind kind, guint32 rgb, double tone_hz,
                                 guint width, guint height, guint framerate)
{
  g_autofree char *desc = NULL;
  if (kind == REEL_MEDIA_KIND_VIDEO)
    desc = g_strdup_printf (
        "videotestsrc is-live=true pattern=ball animation-mode=frames "
        "background-color=0x%08x foreground-color=0xffffffff "
        "! capsfilter caps=video/x-raw,format=I420,width=%u,height=%u,framerate=%u/1",
        0xff000000u | (rgb & 0xffffffu), width, height, framerate);
  else
    desc = g_strdup_printf ("audiotestsrc is-live=true wave=sine volume=0.2 freq=%.3f "
                            "samplesperbuffer=960 ! capsfilter caps=audio/x-raw,rate=48000,channels=1",
                            tone_hz);
  return source_bin_new (desc);
}

/* The display aspect ratio and picture size of raw video caps. */
static gboolean
shape_of_caps (GstCaps *caps, gint *num, gint *den, gint *width, gint *height)
{
  GstVideoInfo vi;
  if (caps == NULL || !gst_video_info_from_caps (&vi, caps) || vi.width <= 0 || vi.height <= 0)
    return FALSE;
  guint n, d;
  if (!gst_video_calculate_display_ratio (&n, &d, vi.width, vi.height, vi.par_n > 0 ? vi.par_n : 1,
                                          vi.par_d > 0 ? vi.par_d : 1, 1, 1) ||
      n == 0 || d == 0 || n > G_MAXINT || d > G_MAXINT)
    return FALSE;
  *num = (gint) n;
  *den = (gint) d;
  *width = vi.width;
  *height = vi.height;
  return TRUE;
}

/* What the caps probe of a video track knows; the graph may be gone by the time
 * the track's pad is. */
typedef struct {
  GWeakRef graph;
  char *track_id;
  guint seq;
  gint num, den, width, height;
} TrackShape;

static void
track_shape_free (gpointer data)
{
  TrackShape *t = data;
  g_weak_ref_clear (&t->graph);
  g_free (t->track_id);
  g_free (t);
}

static gboolean
aspect_changed_on_main (gpointer data)
{
  TrackShape *t = data;
  g_autoptr (ReelMediaGraph) graph = g_weak_ref_get (&t->graph);
  Input *in = graph != NULL ? g_hash_table_lookup (graph->inputs, t->track_id) : NULL;
  if (in != NULL && in->seq == t->seq && !in->removing &&
      (in->aspect_num != t->num || in->aspect_den != t->den || in->width != t->width ||
       in->height != t->height)) {
    in->aspect_num = t->num;
    in->aspect_den = t->den;
    in->width = t->width;
    in->height = t->height;
    GST_INFO ("%s: track %s is %dx%d, %d:%d", graph->name, in->track_id, t->width, t->height,
              t->num, t->den);
    apply_layout (graph);
  }
  return G_SOURCE_REMOVE;
}

/* Streaming thread: a video track's caps give its display aspect ratio, which
 * the main loop turns into its tile's shape. */
static GstPadProbeReturn
video_caps_seen (GstPad *pad, GstPadProbeInfo *info, gpointer data)
{
  GstEvent *ev = GST_PAD_PROBE_INFO_EVENT (info);
  if (GST_EVENT_TYPE (ev) != GST_EVENT_CAPS)
    return GST_PAD_PROBE_OK;
  GstCaps *caps;
  gst_event_parse_caps (ev, &caps);
  const TrackShape *t = data;
  TrackShape *change = g_new0 (TrackShape, 1);
  if (!shape_of_caps (caps, &change->num, &change->den, &change->width, &change->height)) {
    g_free (change);
    return GST_PAD_PROBE_OK;
  }
  g_autoptr (GObject) graph = g_weak_ref_get ((GWeakRef *) &t->graph);
  g_weak_ref_init (&change->graph, graph);
  change->track_id = g_strdup (t->track_id);
  change->seq = t->seq;
  g_idle_add_full (G_PRIORITY_HIGH, aspect_changed_on_main, change, track_shape_free);
  return GST_PAD_PROBE_OK;
}

static void
follow_video_shape (ReelMediaGraph *self, Input *in)
{
  g_autoptr (GstCaps) caps = gst_pad_get_current_caps (in->src);
  shape_of_caps (caps, &in->aspect_num, &in->aspect_den, &in->width, &in->height);
  TrackShape *t = g_new0 (TrackShape, 1);
  g_weak_ref_init (&t->graph, self);
  t->track_id = g_strdup (in->track_id);
  t->seq = in->seq;
  gst_pad_add_probe (in->src, GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM, video_caps_seen, t,
                     track_shape_free);
}

/* How a tile is scaled: bilinear, 2 taps (what videoscale method=bilinear does).
 * The compositor's default (cubic, taps growing with the downscale ratio) costs
 * twice as much for a 3x3 grid of 640x360 pictures (tests/bench, README).
 * A tile shown at its picture's own size has no converter config at all: with
 * one, the compositor converts every frame even when nothing changes, into a
 * freshly allocated buffer the size of the whole output. */
static void
set_tile_scaling (Input *in, gboolean scaled)
{
  if (in->scaling_set && in->scaled == scaled)
    return; /* a new config rebuilds the pad's converter */
  in->scaling_set = TRUE;
  in->scaled = scaled;
  g_autoptr (GstStructure) config = NULL;
  if (scaled)
    config = gst_structure_new ("GstVideoConverter",
                                GST_VIDEO_CONVERTER_OPT_RESAMPLER_METHOD, GST_TYPE_VIDEO_RESAMPLER_METHOD,
                                GST_VIDEO_RESAMPLER_METHOD_LINEAR,
                                GST_VIDEO_RESAMPLER_OPT_MAX_TAPS, G_TYPE_INT, 2, NULL);
  g_object_set (in->mixer_pad, "converter-config", config, NULL);
}

static gboolean
link_input (ReelMediaGraph *self, Input *in, GError **error)
{
  in->mixer_pad = gst_element_request_pad_simple (self->mixers[in->kind], "sink_%u");
  if (in->kind == REEL_MEDIA_KIND_VIDEO) {
    /* Not sizing-policy=keep-aspect-ratio: 1.22.0 scales 640x360 into 480x360 with it. */
    g_object_set (in->mixer_pad, "zorder", 1 + self->tiles->len, NULL);
    /* Pictures are delayed to meet their sound in the file:
     * - the compositor shows in each output frame [t, t + d) the last picture
     *   that starts before t + d, up to a whole frame early; half a frame later
     *   it shows the picture nearest to t (what a frame-rate converter does);
     * - the AAC encoder's priming (one 1024-sample frame, which libavcodec's AAC
     *   encoder puts first and mp4mux/matroskamux do not cut with an edit list)
     *   plays every sound that much later. */
    gst_pad_set_offset (in->mixer_pad, (gint64) (GST_SECOND / (2 * self->framerate) +
                                                 gst_util_uint64_scale_int (AAC_PRIMING_SAMPLES, GST_SECOND,
                                                                            AUDIO_RATE)));
  }
  if (in->src == NULL || gst_pad_link (in->src, in->mixer_pad) != GST_PAD_LINK_OK) {
    g_set_error (error, REEL_ERROR, REEL_ERROR_MEDIA, "track %s: cannot link its source",
                 in->track_id);
    gst_element_release_request_pad (self->mixers[in->kind], in->mixer_pad);
    return FALSE;
  }
  g_hash_table_insert (self->inputs, in->track_id, in);
  if (in->kind == REEL_MEDIA_KIND_VIDEO) {
    follow_video_shape (self, in);
    g_ptr_array_add (self->tiles, in);
    apply_layout (self);
  }
  GST_INFO ("%s: track %s (%s) added", self->name, in->track_id, in->participant_id);
  return TRUE;
}

static Input *
input_new (ReelMediaGraph *self, const char *participant_id, const char *track_id,
           ReelMediaKind kind, GError **error)
{
  if (self->stopping || g_hash_table_contains (self->inputs, track_id)) {
    g_set_error (error, REEL_ERROR, REEL_ERROR_WRONG_STATE, "track %s cannot be added now", track_id);
    return NULL;
  }
  Input *in = g_new0 (Input, 1);
  in->graph = self;
  in->track_id = g_strdup (track_id);
  in->participant_id = g_strdup (participant_id);
  in->kind = kind;
  in->seq = ++self->next_seq;
  gpointer order;
  if (!g_hash_table_lookup_extended (self->participant_order, participant_id, NULL, &order)) {
    order = GUINT_TO_POINTER (in->seq);
    g_hash_table_insert (self->participant_order, g_strdup (participant_id), order);
  }
  in->participant_seq = GPOINTER_TO_UINT (order);
  return in;
}

/**
 * reel_media_placeholder_source_new:
 * Returns: (transfer floating): a live source bin
 */
GstElement *
reel_media_placeholder_source_new (const char *name, guint width, guint height, guint framerate)
{
  GstElement *bin = gst_bin_new (NULL);
  GstElement *src = gst_element_factory_make ("videotestsrc", NULL);
  GstElement *caps = gst_element_factory_make ("capsfilter", NULL);
  GstElement *text = gst_element_factory_make ("textoverlay", NULL);
  g_object_set (src, "is-live", TRUE, "pattern", 17 /* solid-color */,
                "foreground-color", 0xff202020u, NULL);
  g_autoptr (GstCaps) c = gst_caps_new_simple ("video/x-raw", "format", G_TYPE_STRING, "I420",
                                               "width", G_TYPE_INT, (gint) width,
                                               "height", G_TYPE_INT, (gint) height,
                                               "framerate", GST_TYPE_FRACTION, (gint) framerate, 1,
                                               NULL);
  g_object_set (caps, "caps", c, NULL);
  gst_bin_add_many (GST_BIN (bin), src, caps, NULL);
  GstElement *last = caps;
  gst_element_link (src, caps);
  if (text != NULL) {
    /* The name is set as a property, never parsed: any text is safe. */
    g_object_set (text, "text", name, "valignment", 4 /* center */, "halignment", 1 /* center */,
                  "font-desc", "Sans 24", "shaded-background", FALSE, NULL);
    gst_bin_add (GST_BIN (bin), text);
    gst_element_link (caps, text);
    last = text;
  }
  g_autoptr (GstPad) pad = gst_element_get_static_pad (last, "src");
  gst_element_add_pad (bin, gst_ghost_pad_new ("src", pad));
  return bin;
}

/**
 * reel_media_graph_add_track:
 * @source: (transfer floating): the track's raw media source
 * Returns: %TRUE if the track is in the graph
 */
gboolean
reel_media_graph_add_track (ReelMediaGraph *self, const char *participant_id,
                            const char *track_id, ReelMediaKind kind, GstElement *source,
                            GError **error)
{
  gst_object_ref_sink (source);
  Input *in = input_new (self, participant_id, track_id, kind, error);
  if (in == NULL) {
    gst_object_unref (source);
    return FALSE;
  }
  in->bin = source;
  g_autofree char *name = g_strdup_printf ("in-%s", track_id);
  gst_object_set_name (GST_OBJECT (source), name);
  gst_bin_add (GST_BIN (self->pipeline), gst_object_ref (source));
  in->src = gst_element_get_static_pad (source, "src");
  if (!link_input (self, in, error)) {
    gst_bin_remove (GST_BIN (self->pipeline), source);
    input_free (in);
    return FALSE;
  }
  gst_element_sync_state_with_parent (source);
  return TRUE;
}

/**
 * reel_media_graph_add_track_pad:
 * @pad: (transfer none): a src pad of an element in the graph
 * Returns: %TRUE if the track is in the graph
 */
gboolean
reel_media_graph_add_track_pad (ReelMediaGraph *self, const char *participant_id,
                                const char *track_id, ReelMediaKind kind, GstPad *pad,
                                GError **error)
{
  Input *in = input_new (self, participant_id, track_id, kind, error);
  if (in == NULL)
    return FALSE;
  in->src = gst_object_ref (pad);
  if (!link_input (self, in, error)) {
    input_free (in);
    return FALSE;
  }
  return TRUE;
}

static void
input_free (Input *in)
{
  g_clear_object (&in->mixer_pad);
  g_clear_object (&in->src);
  g_clear_object (&in->bin);
  g_free (in->track_id);
  g_free (in->participant_id);
  g_free (in);
}

static void
send_eos_to_pad_async (GstElement *mixer, gpointer pad)
{
  gst_pad_send_event (GST_PAD (pad), gst_event_new_eos ());
}

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
 * I/O must not stall the main loop. */
static void
teardown_bin (ReelMediaGraph *self, GstElement *bin)
{
  g_object_set_qdata (G_OBJECT (bin), retired_quark, GINT_TO_POINTER (1));
  gst_element_call_async (self->pipeline, teardown_element_async, gst_object_ref (bin),
                          gst_object_unref);
}

static void removal_free (gpointer p);

static void
removal_release (gpointer p)
{
  g_rc_box_release_full (p, removal_free);
}

/* What a removal's probe knows: the probe may outlive the Input, so it holds
 * the track id and the Input's sequence number, never the Input itself. */
typedef struct {
  ReelMediaGraph *graph;      /* (owned) */
  char *track_id;
  guint seq;
  gint fired;                 /* atomic: the unlink was scheduled */
  guint timer;                /* main context: fallback for a pad with no data */
} Removal;

static gboolean
input_blocked_on_main (gpointer data)
{
  Removal *r = data;
  ReelMediaGraph *self = r->graph;
  g_clear_handle_id (&r->timer, g_source_remove);
  Input *in = g_hash_table_lookup (self->inputs, r->track_id);
  if (in == NULL || in->seq != r->seq)
    return G_SOURCE_REMOVE;
  gst_pad_unlink (in->src, in->mixer_pad);
  /* Releasing the mixer pad flushes it, which also frees a source thread caught
   * inside the mixer's chain; sending an event into the pad from here could wait
   * on that same thread (a serialized event takes the pad's stream lock). A base
   * input keeps its pad and gets its EOS from a pool thread instead. */
  if (in->keep_pad)
    gst_element_call_async (self->mixers[in->kind], send_eos_to_pad_async,
                            gst_object_ref (in->mixer_pad), gst_object_unref);
  else
    gst_element_release_request_pad (self->mixers[in->kind], in->mixer_pad);
  GST_INFO ("%s: track %s removed", self->name, in->track_id);
  g_autofree char *track_id = g_strdup (in->track_id);
  /* The blocking probe stays: anything pushed from now on waits in it, until
   * going to NULL flushes the pad (FLUSHING, not a not-linked error). A pad
   * track's owner does the same once told. */
  if (in->bin != NULL) {
    /* Flushing the held pad wakes its thread, which then ends with FLUSHING;
     * without it, stopping the source would wait for that thread forever. */
    gst_pad_set_active (in->src, FALSE);
    teardown_bin (self, in->bin);
  }
  g_hash_table_remove (self->inputs, in->track_id);
  g_signal_emit (self, signals[SIG_TRACK_RELEASED], 0, track_id);
  return G_SOURCE_REMOVE;
}

static void
removal_free (gpointer p)
{
  Removal *r = p;
  g_object_unref (r->graph);
  g_free (r->track_id);
}

/* Streaming thread: the first data after the probe went in holds here. */
static GstPadProbeReturn
input_blocked (GstPad *pad, GstPadProbeInfo *info, gpointer data)
{
  Removal *r = data;
  if (g_atomic_int_compare_and_exchange (&r->fired, 0, 1))
    g_idle_add_full (G_PRIORITY_HIGH, input_blocked_on_main, g_rc_box_acquire (r), removal_release);
  return GST_PAD_PROBE_OK;
}

/* A pad with no data flowing (a silent network track) never reaches the probe:
 * nothing is in flight, so unlink now; the probe still holds anything later. */
static gboolean
removal_timeout (gpointer data)
{
  Removal *r = data;
  r->timer = 0;
  if (g_atomic_int_compare_and_exchange (&r->fired, 0, 1))
    input_blocked_on_main (r);
  return G_SOURCE_REMOVE;
}

static void
input_remove (ReelMediaGraph *self, Input *in)
{
  if (in->removing)
    return;
  in->removing = TRUE;
  if (in->kind == REEL_MEDIA_KIND_VIDEO) {
    g_ptr_array_remove (self->tiles, in);
    apply_layout (self);
  }
  Removal *r = g_rc_box_new0 (Removal);
  r->graph = g_object_ref (self);
  r->track_id = g_strdup (in->track_id);
  r->seq = in->seq;
  /* An IDLE probe would not do: once it has fired, later buffers pass it. */
  gst_pad_add_probe (in->src, GST_PAD_PROBE_TYPE_BLOCK_DOWNSTREAM, input_blocked,
                     g_rc_box_acquire (r), removal_release);
  r->timer = g_timeout_add_full (G_PRIORITY_DEFAULT, 300, removal_timeout, g_rc_box_acquire (r),
                                 removal_release);
  g_rc_box_release_full (r, removal_free);
}

/**
 * reel_media_graph_remove_track:
 * @track_id: a track added with reel_media_graph_add_track() or _add_track_pad()
 */
void
reel_media_graph_remove_track (ReelMediaGraph *self, const char *track_id)
{
  Input *in = g_hash_table_lookup (self->inputs, track_id);
  if (in != NULL)
    input_remove (self, in);
}

/**
 * reel_media_graph_add_element:
 * @element: (transfer floating): an element producing track pads
 */
void
reel_media_graph_add_element (ReelMediaGraph *self, GstElement *element)
{
  gst_object_ref_sink (element);
  g_ptr_array_add (self->elements, element);
  gst_bin_add (GST_BIN (self->pipeline), element);
  gst_element_sync_state_with_parent (element);
}

/**
 * reel_media_graph_remove_element:
 * @element: an element added with reel_media_graph_add_element()
 */
void
reel_media_graph_remove_element (ReelMediaGraph *self, GstElement *element)
{
  if (!g_ptr_array_remove (self->elements, gst_object_ref (element))) {
    gst_object_unref (element);
    return;
  }
  teardown_bin (self, element);
  gst_object_unref (element);
}

/**
 * reel_media_graph_get_n_tiles:
 * Returns: the number of video tiles on the canvas
 */
guint
reel_media_graph_get_n_tiles (ReelMediaGraph *self)
{
  return self->tiles->len;
}

GstElement *
reel_media_graph_get_pipeline (ReelMediaGraph *self)
{
  return self->pipeline;
}

/* ---------- outputs ---------- */

static void
output_free (Output *o)
{
  for (int k = 0; k < 2; k++)
    g_clear_object (&o->tee_pads[k]);
  if (o->bin != NULL)
    g_object_set_qdata (G_OBJECT (o->bin), output_quark, NULL);
  g_clear_object (&o->bin);
  g_atomic_rc_box_release (o->failed);
  g_free (o->id);
  g_free (o);
}

static GstPadProbeReturn
drop_if_failed (GstPad *pad, GstPadProbeInfo *info, gpointer data)
{
  const gint *failed = data; /* the Output's flag, not the Output: it may be gone */
  return g_atomic_int_get (failed) ? GST_PAD_PROBE_DROP : GST_PAD_PROBE_OK;
}

static void
output_drops_release (gpointer drops)
{
  g_atomic_rc_box_release (drops);
}

static void
drop_slot_free (gpointer data, GClosure *closure)
{
  DropSlot *slot = data;
  g_atomic_rc_box_release (slot->drops);
  g_free (slot);
}

/* Streaming thread (the tee's): the output's leaky queue is full and is about to
 * discard its oldest frame(s) to take the new one. */
static void
on_output_overrun (GstElement *queue, gpointer data)
{
  DropSlot *slot = data;
  g_atomic_int_inc (&slot->drops->leaks[slot->kind]);
}

/* Counts the leaks of the output bin's queues ("queue-video", "queue-audio", see
 * output/) under @output_id. */
static void
watch_output_queues (ReelMediaGraph *self, const char *output_id, GstElement *bin)
{
  OutputDrops *drops = g_hash_table_lookup (self->output_drops, output_id);
  if (drops == NULL) {
    drops = g_atomic_rc_box_new0 (OutputDrops);
    g_hash_table_insert (self->output_drops, g_strdup (output_id), drops);
  }
  const char *names[2] = { [REEL_MEDIA_KIND_AUDIO] = "queue-audio", [REEL_MEDIA_KIND_VIDEO] = "queue-video" };
  for (int k = 0; k < 2; k++) {
    g_autoptr (GstElement) queue = gst_bin_get_by_name (GST_BIN (bin), names[k]);
    if (queue == NULL)
      continue;
    DropSlot *slot = g_new0 (DropSlot, 1);
    slot->drops = g_atomic_rc_box_acquire (drops);
    slot->kind = (ReelMediaKind) k;
    g_signal_connect_data (queue, "overrun", G_CALLBACK (on_output_overrun), slot,
                           drop_slot_free, 0);
  }
}

/**
 * reel_media_graph_add_output:
 * @output_bin: (transfer floating): a bin from reel_output_bin_new()
 * Returns: %TRUE if the output is linked
 */
gboolean
reel_media_graph_add_output (ReelMediaGraph *self, const char *output_id,
                             GstElement *output_bin, GError **error)
{
  gst_object_ref_sink (output_bin);
  if (self->stopping || g_hash_table_contains (self->outputs, output_id)) {
    gst_object_unref (output_bin);
    g_set_error (error, REEL_ERROR, REEL_ERROR_WRONG_STATE, "output %s cannot be added now", output_id);
    return FALSE;
  }
  Output *o = g_new0 (Output, 1);
  o->failed = g_atomic_rc_box_new0 (gint);
  o->graph = self;
  o->id = g_strdup (output_id);
  o->serial = ++self->next_output_serial;
  o->bin = output_bin;
  g_object_set_qdata (G_OBJECT (output_bin), output_quark, o);
  gst_bin_add (GST_BIN (self->pipeline), gst_object_ref (output_bin));
  /* Mid-recording the bin must be PLAYING before the tee can push into it: a pad
   * of a bin still in NULL answers FLUSHING, which the tee passes upstream and
   * which silently pauses the encoder and the mixer. */
  if (self->started)
    gst_element_sync_state_with_parent (output_bin);
  const char *pad_names[2] = { [REEL_MEDIA_KIND_AUDIO] = "audio", [REEL_MEDIA_KIND_VIDEO] = "video" };
  for (int k = 0; k < 2; k++) {
    g_autoptr (GstPad) sink = gst_element_get_static_pad (output_bin, pad_names[k]);
    o->tee_pads[k] = gst_element_request_pad_simple (self->tees[k], "src_%u");
    if (sink == NULL || gst_pad_link (o->tee_pads[k], sink) != GST_PAD_LINK_OK) {
      g_set_error (error, REEL_ERROR, REEL_ERROR_MEDIA, "output %s: cannot link its %s input",
                   output_id, pad_names[k]);
      for (int j = 0; j <= k; j++)
        gst_element_release_request_pad (self->tees[j], o->tee_pads[j]);
      gst_bin_remove (GST_BIN (self->pipeline), output_bin);
      output_free (o);
      return FALSE;
    }
    o->drop_probes[k] = gst_pad_add_probe (o->tee_pads[k], GST_PAD_PROBE_TYPE_BUFFER |
                                           GST_PAD_PROBE_TYPE_BUFFER_LIST, drop_if_failed,
                                           g_atomic_rc_box_acquire (o->failed),
                                           (GDestroyNotify) g_atomic_rc_box_release);
  }
  watch_output_queues (self, output_id, output_bin);
  g_hash_table_insert (self->outputs, o->id, o);
  if (self->started)
    reel_output_bin_request_keyframe (output_bin);
  GST_INFO ("%s: output %s added", self->name, output_id);
  return TRUE;
}

static void
output_detached_on_main (ReelMediaGraph *self, Output *o)
{
  for (int k = 0; k < 2; k++) {
    gst_pad_remove_probe (o->tee_pads[k], o->drop_probes[k]);
    gst_element_release_request_pad (self->tees[k], o->tee_pads[k]);
  }
  if (o->finalize && !g_atomic_int_get (o->failed)) {
    /* The file gets its EOS; the forwarded EOS from the bin finishes the job. */
    const char *names[2] = { "video", "audio" };
    for (int k = 0; k < 2; k++) {
      g_autoptr (GstPad) sink = gst_element_get_static_pad (o->bin, names[k]);
      gst_pad_send_event (sink, gst_event_new_eos ());
    }
    return;
  }
  teardown_bin (self, o->bin);
  g_hash_table_remove (self->outputs, o->id);
}

typedef struct {
  ReelMediaGraph *self;
  char *output_id;
  guint serial;
} UnlinkDone;

static gboolean
output_unlinked_on_main (gpointer data)
{
  UnlinkDone *d = data;
  Output *o = g_hash_table_lookup (d->self->outputs, d->output_id);
  if (o != NULL && o->serial == d->serial && --o->pending_unlinks == 0)
    output_detached_on_main (d->self, o);
  g_object_unref (d->self);
  g_free (d->output_id);
  g_free (d);
  return G_SOURCE_REMOVE;
}

/* Unlinking inside the IDLE probe means no buffer is in flight on this tee pad;
 * later pushes get NOT_LINKED, which the tee ignores (allow-not-linked). */
static GstPadProbeReturn
tee_pad_idle (GstPad *pad, GstPadProbeInfo *info, gpointer data)
{
  UnlinkDone *d = data;
  GstPad *peer = gst_pad_get_peer (pad);
  if (peer != NULL) {
    gst_pad_unlink (pad, peer);
    gst_object_unref (peer);
  }
  g_idle_add_full (G_PRIORITY_HIGH, output_unlinked_on_main, d, NULL);
  return GST_PAD_PROBE_REMOVE;
}

static void
output_detach (ReelMediaGraph *self, Output *o, gboolean finalize)
{
  if (o->detaching)
    return;
  o->detaching = TRUE;
  o->finalize = finalize;
  o->pending_unlinks = 2;
  for (int k = 0; k < 2; k++) {
    UnlinkDone *d = g_new0 (UnlinkDone, 1);
    d->self = g_object_ref (self);
    d->output_id = g_strdup (o->id);
    d->serial = o->serial;
    gst_pad_add_probe (o->tee_pads[k], GST_PAD_PROBE_TYPE_IDLE, tee_pad_idle, d, NULL);
  }
}

/**
 * reel_media_graph_remove_output:
 * @finalize: finish the output with EOS (files) rather than drop it
 */
void
reel_media_graph_remove_output (ReelMediaGraph *self, const char *output_id, gboolean finalize)
{
  Output *o = g_hash_table_lookup (self->outputs, output_id);
  if (o != NULL)
    output_detach (self, o, finalize);
}

/**
 * reel_media_graph_has_output:
 * Returns: %TRUE while the output is part of the graph
 */
gboolean
reel_media_graph_has_output (ReelMediaGraph *self, const char *output_id)
{
  return g_hash_table_contains (self->outputs, output_id);
}

/**
 * reel_media_graph_output_timed_out:
 * Returns: %TRUE if the output was still unfinished when the stop timeout hit
 */
gboolean
reel_media_graph_output_timed_out (ReelMediaGraph *self, const char *output_id)
{
  Output *o = g_hash_table_lookup (self->outputs, output_id);
  return o != NULL && o->timed_out;
}

/**
 * reel_media_graph_get_output_sent_bytes:
 * Returns: bytes, or -1 when unknown
 */
gint64
reel_media_graph_get_output_sent_bytes (ReelMediaGraph *self, const char *output_id)
{
  Output *o = g_hash_table_lookup (self->outputs, output_id);
  return o != NULL ? reel_output_bin_get_sent_bytes (o->bin) : -1;
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

/**
 * reel_media_graph_get_output_frames_dropped:
 * Returns: the leak events of the output's @kind queue, 0 for an unknown output
 */
guint64
reel_media_graph_get_output_frames_dropped (ReelMediaGraph *self, const char *output_id,
                                            ReelMediaKind kind)
{
  OutputDrops *drops = g_hash_table_lookup (self->output_drops, output_id);
  return drops != NULL ? (guint) g_atomic_int_get (&drops->leaks[kind]) : 0;
}


/* After stop, the recording is done once every output still attached has
 * finalized. The pipeline's own EOS cannot be waited for: webrtcbin holds sinks
 * (ICE, DTLS) that never see one. */
static void
check_outputs_done (ReelMediaGraph *self)
{
  if (!self->stopping || self->done)
    return;
  GHashTableIter it;
  Output *o;
  g_hash_table_iter_init (&it, self->outputs);
  while (g_hash_table_iter_next (&it, NULL, (gpointer *) &o))
    if (!o->eos && !g_atomic_int_get (o->failed))
      return;
  finish (self);
}

/* ---------- bus ---------- */

static void
on_output_error (ReelMediaGraph *self, Output *o, GError *err, const char *debug)
{
  if (o->detaching && !o->finalize)
    return; /* already on its way out */
  g_warning ("%s: output %s failed: %s (%s)", self->name, o->id, err->message,
             debug ? debug : "");
  g_autoptr (GError) error = NULL;
  if (g_error_matches (err, GST_RESOURCE_ERROR, GST_RESOURCE_ERROR_NO_SPACE_LEFT))
    error = g_error_new (REEL_ERROR, REEL_ERROR_DISK_FULL, "no space left on device");
  else
    error = g_error_new (REEL_ERROR, REEL_ERROR_OUTPUT_FAILED, "%s", err->message);
  g_autofree char *id = g_strdup (o->id);
  g_atomic_int_set (o->failed, 1);
  o->detaching = FALSE; /* a finalizing output that fails is dropped instead */
  output_detach (self, o, FALSE);
  g_signal_emit (self, signals[SIG_OUTPUT_FAILED], 0, id, error);
  check_outputs_done (self);
}

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
  Output *o = find_output_of (self, GST_MESSAGE_SRC (msg));
  if (o != NULL) {
    on_output_error (self, o, err, debug);
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
    input_remove (self, in);
    return;
  }
  GstElement *owner = find_added_element_of (self, GST_MESSAGE_SRC (msg));
  if (owner != NULL) {
    GST_WARNING ("%s: %s failed: %s (%s)", self->name, GST_OBJECT_NAME (owner), err->message,
                 debug ? debug : "");
    g_autoptr (GError) error = g_error_new (REEL_ERROR, REEL_ERROR_ROOM_FAILED, "%s", err->message);
    g_signal_emit (self, signals[SIG_ELEMENT_FAILED], 0, owner, error);
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
  g_signal_emit (self, signals[SIG_FAILED], 0, error);
}

static void
on_forwarded (ReelMediaGraph *self, GstMessage *msg)
{
  const GstStructure *s = gst_message_get_structure (msg);
  if (s == NULL || !gst_structure_has_name (s, "GstBinForwarded"))
    return;
  GstMessage *inner = NULL;
  gst_structure_get (s, "message", GST_TYPE_MESSAGE, &inner, NULL);
  if (inner == NULL)
    return;
  if (GST_MESSAGE_TYPE (inner) == GST_MESSAGE_EOS) {
    Output *o = find_output_of (self, GST_MESSAGE_SRC (inner));
    if (o != NULL && !g_atomic_int_get (o->failed)) {
      g_autofree char *id = g_strdup (o->id);
      gboolean detached = o->detaching;
      GST_INFO ("%s: output %s finalized", self->name, id);
      o->eos = TRUE;
      if (detached) {
        teardown_bin (self, o->bin);
        g_hash_table_remove (self->outputs, id);
      }
      g_signal_emit (self, signals[SIG_OUTPUT_FINISHED], 0, id);
      check_outputs_done (self);
    }
  }
  gst_message_unref (inner);
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
    on_forwarded (self, msg);
    break;
  case GST_MESSAGE_QOS:
    on_qos (self, msg);
    break;
  case GST_MESSAGE_EOS:
    if (self->stopping)
      finish (self);
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
        g_signal_emit (self, signals[SIG_STARTED], 0);
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

static void
finish (ReelMediaGraph *self)
{
  if (self->done)
    return;
  self->done = TRUE;
  g_clear_handle_id (&self->stop_timeout, g_source_remove);
  shut_pipeline (self);
  g_signal_emit (self, signals[SIG_FINISHED], 0);
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
  finish (self);
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
    finish (self);
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
    input_remove (self, g_ptr_array_index (all, i));
  self->stop_timeout = g_timeout_add_seconds (MAX (timeout_s, 1), stop_timed_out, self);
  check_outputs_done (self);
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
  self->outputs = g_hash_table_new_full (g_str_hash, g_str_equal, NULL, (GDestroyNotify) output_free);
  self->inputs = g_hash_table_new_full (g_str_hash, g_str_equal, NULL, (GDestroyNotify) input_free);
  self->tiles = g_ptr_array_new ();
  self->participant_order = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  self->elements = g_ptr_array_new_with_free_func (gst_object_unref);
  /* keys are elements of the pipeline, alive as long as the graph */
  self->qos_reported = g_hash_table_new_full (g_direct_hash, g_direct_equal, NULL, g_free);
  self->output_drops = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, output_drops_release);
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
  output_quark = g_quark_from_static_string ("reel-output");
  retired_quark = g_quark_from_static_string ("reel-retired");

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
