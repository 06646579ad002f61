/* reel-media-outputs.c: the outputs of a recording graph: each output bin on its
 * own pads of the video and audio tees, detached alone (dropped, or finalized
 * with EOS), and its errors and EOS as the bus reports them.
 *
 * Thread rule: Outputs belong to the main context. Streaming threads touch only
 * an output's atomic `failed` flag (set from the bus sync handler, read by the
 * drop probes on its tee pads) and its queues' leak counters, and post the end
 * of an unlink to the main context.
 */
#include "media/reel-media-graph-private.h"

#include "base/reel-error.h"
#include "output/reel-output-bin.h"

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

/* @o: (transfer full): an Output, linked or not */
void
reel_media_graph_output_free (Output *o)
{
  for (int k = 0; k < 2; k++)
    g_clear_object (&o->tee_pads[k]);
  if (o->bin != NULL)
    g_object_set_qdata (G_OBJECT (o->bin), reel_media_graph_output_quark, NULL);
  g_clear_object (&o->bin);
  g_atomic_rc_box_release (o->failed);
  g_free (o->id);
  g_free (o);
}

/* Any thread: the bus sync handler asks too.
 * Returns: (transfer none) (nullable): the Output whose bin is or contains @obj */
Output *
reel_media_graph_find_output_of (ReelMediaGraph *self, GstObject *obj)
{
  for (GstObject *o = obj ? gst_object_ref (obj) : NULL; o != NULL;) {
    Output *out = g_object_get_qdata (G_OBJECT (o), reel_media_graph_output_quark);
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

static GstPadProbeReturn
drop_if_failed (GstPad *pad, GstPadProbeInfo *info, gpointer data)
{
  const gint *failed = data; /* the Output's flag, not the Output: it may be gone */
  return g_atomic_int_get (failed) ? GST_PAD_PROBE_DROP : GST_PAD_PROBE_OK;
}

/* @drops: (transfer full): an OutputDrops */
void
reel_media_graph_output_drops_release (gpointer drops)
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
  g_object_set_qdata (G_OBJECT (output_bin), reel_media_graph_output_quark, o);
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
      reel_media_graph_output_free (o);
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
  reel_media_graph_teardown_bin (self, o->bin);
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
void
reel_media_graph_check_outputs_done (ReelMediaGraph *self)
{
  if (!self->stopping || self->done)
    return;
  GHashTableIter it;
  Output *o;
  g_hash_table_iter_init (&it, self->outputs);
  while (g_hash_table_iter_next (&it, NULL, (gpointer *) &o))
    if (!o->eos && !g_atomic_int_get (o->failed))
      return;
  reel_media_graph_finish (self);
}

/* ---------- bus ---------- */

/* An output's error costs that output alone: it is dropped, "output-failed".
 * @o: (transfer none): the Output that posted @err */
void
reel_media_graph_on_output_error (ReelMediaGraph *self, Output *o, GError *err,
                                  const char *debug)
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
  g_signal_emit (self, reel_media_graph_signals[SIG_OUTPUT_FAILED], 0, id, error);
  reel_media_graph_check_outputs_done (self);
}

/* An EOS forwarded from an output's bin: that output is finalized.
 * @msg: (transfer none): an element message from the bus */
void
reel_media_graph_on_forwarded (ReelMediaGraph *self, GstMessage *msg)
{
  const GstStructure *s = gst_message_get_structure (msg);
  if (s == NULL || !gst_structure_has_name (s, "GstBinForwarded"))
    return;
  GstMessage *inner = NULL;
  gst_structure_get (s, "message", GST_TYPE_MESSAGE, &inner, NULL);
  if (inner == NULL)
    return;
  if (GST_MESSAGE_TYPE (inner) == GST_MESSAGE_EOS) {
    Output *o = reel_media_graph_find_output_of (self, GST_MESSAGE_SRC (inner));
    if (o != NULL && !g_atomic_int_get (o->failed)) {
      g_autofree char *id = g_strdup (o->id);
      gboolean detached = o->detaching;
      GST_INFO ("%s: output %s finalized", self->name, id);
      o->eos = TRUE;
      if (detached) {
        reel_media_graph_teardown_bin (self, o->bin);
        g_hash_table_remove (self->outputs, id);
      }
      g_signal_emit (self, reel_media_graph_signals[SIG_OUTPUT_FINISHED], 0, id);
      reel_media_graph_check_outputs_done (self);
    }
  }
  gst_message_unref (inner);
}
