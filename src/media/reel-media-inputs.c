/* reel-media-inputs.c: the inputs of a recording graph: track sources (an element
 * of their own, or a pad of an element added to the graph), the permanent base
 * inputs, and a track's removal (block → unlink → EOS → remove).
 *
 * Thread rule: Inputs belong to the main context. A removal's probe runs on the
 * track's streaming thread: it holds the track id and sequence number, never the
 * Input, and posts the unlink to the main context.
 */
#include "media/reel-media-graph-private.h"

#include "base/reel-error.h"

#include <gst/base/gstaggregator.h>

#define BASE_TILE_SIZE 16

/* ---------- sources ---------- */

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

/* ---------- base inputs ---------- */

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

/* A permanent input per mixer keeps the timeline live and gap-free when no
 * participant is present: a transparent (alpha 0: skipped by the compositor)
 * tiny picture and digital silence. They are Inputs like any track, so stop can
 * end them the same way; they keep their mixer pads to the end.
 * Returns: %TRUE if both are linked to their mixers */
gboolean
reel_media_graph_add_base_inputs (ReelMediaGraph *self, const ReelMediaSettings *s)
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

/* ---------- tracks ---------- */

static gboolean
link_input (ReelMediaGraph *self, Input *in, GError **error)
{
  in->mixer_pad = gst_element_request_pad_simple (self->mixers[in->kind], "sink_%u");
  if (in->kind == REEL_MEDIA_KIND_VIDEO) {
    /* Not sizing-policy=keep-aspect-ratio: 1.22.0 scales 640x360 into 480x360 with it. */
    g_object_set (in->mixer_pad, "zorder", 1 + self->tiles->len, NULL);
    gst_pad_set_offset (in->mixer_pad, reel_media_graph_video_delay (self));
  }
  if (in->src == NULL || gst_pad_link (in->src, in->mixer_pad) != GST_PAD_LINK_OK) {
    g_set_error (error, REEL_ERROR, REEL_ERROR_MEDIA, "track %s: cannot link its source",
                 in->track_id);
    gst_element_release_request_pad (self->mixers[in->kind], in->mixer_pad);
    return FALSE;
  }
  g_hash_table_insert (self->inputs, in->track_id, in);
  if (in->kind == REEL_MEDIA_KIND_VIDEO) {
    reel_media_graph_follow_video_shape (self, in);
    g_ptr_array_add (self->tiles, in);
    reel_media_graph_apply_layout (self);
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
    reel_media_graph_input_free (in);
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
    reel_media_graph_input_free (in);
    return FALSE;
  }
  return TRUE;
}

/* @in: (transfer full): an Input, linked or not */
void
reel_media_graph_input_free (Input *in)
{
  g_clear_object (&in->mixer_pad);
  g_clear_object (&in->src);
  g_clear_object (&in->bin);
  g_free (in->track_id);
  g_free (in->participant_id);
  g_free (in);
}

/* ---------- removal ---------- */

static void
send_eos_to_pad_async (GstElement *mixer, gpointer pad)
{
  gst_pad_send_event (GST_PAD (pad), gst_event_new_eos ());
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

static void
removal_free (gpointer p)
{
  Removal *r = p;
  g_object_unref (r->graph);
  g_free (r->track_id);
}

static void
removal_release (gpointer p)
{
  g_rc_box_release_full (p, removal_free);
}

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
    reel_media_graph_teardown_bin (self, in->bin);
  }
  g_hash_table_remove (self->inputs, in->track_id);
  g_signal_emit (self, reel_media_graph_signals[SIG_TRACK_RELEASED], 0, track_id);
  return G_SOURCE_REMOVE;
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

/* Starts the removal of @in; it leaves the inputs (and "track-released" follows)
 * on the main context once it is unlinked.
 * @in: (transfer none): an Input of the graph */
void
reel_media_graph_input_remove (ReelMediaGraph *self, Input *in)
{
  if (in->removing)
    return;
  in->removing = TRUE;
  if (in->kind == REEL_MEDIA_KIND_VIDEO) {
    g_ptr_array_remove (self->tiles, in);
    reel_media_graph_apply_layout (self);
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
    reel_media_graph_input_remove (self, in);
}

/* ---------- elements ---------- */

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
  reel_media_graph_teardown_bin (self, element);
  gst_object_unref (element);
}
