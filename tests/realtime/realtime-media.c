/* realtime-media.c: SSRC rewriting and keyframe requests (see the header). */
#include "realtime-media.h"

#include <gst/rtp/rtp.h>
#include <gst/video/video.h>

#define KEYFRAME_MIN_INTERVAL_US (300 * G_TIME_SPAN_MILLISECOND)

struct _RtRewriter {
  gatomicrefcount ref;        /* the egress pad's probe, and each guard */
  gint live;                  /* atomic */
  GMutex lock;
  guint32 ssrc_out;
  guint pt_out;
  guint clock_rate;
  GstCaps *caps_out;          /* the first caps, cleaned, with ssrc_out */
  gboolean have_in;
  guint32 in_ssrc;
  guint16 seq_delta;
  guint32 ts_delta;
  gboolean have_out;
  guint16 last_seq;
  guint32 last_ts;
  gint64 last_time;
  RtCapsReady ready;
  guint caps_delay_ms;        /* tests only */
  gpointer user_data;
  GDestroyNotify destroy;
};

const char *
rt_caps_encoding (const GstCaps *caps)
{
  if (caps == NULL || gst_caps_get_size (caps) == 0)
    return NULL;
  return gst_structure_get_string (gst_caps_get_structure (caps, 0), "encoding-name");
}

const char *
rt_caps_media (const GstCaps *caps)
{
  if (caps == NULL || gst_caps_get_size (caps) == 0)
    return NULL;
  return gst_structure_get_string (gst_caps_get_structure (caps, 0), "media");
}

static void
rewriter_unref (gpointer p)
{
  RtRewriter *rw = p;
  if (!g_atomic_ref_count_dec (&rw->ref))
    return;
  if (rw->destroy)
    rw->destroy (rw->user_data);
  gst_clear_caps (&rw->caps_out);
  g_mutex_clear (&rw->lock);
  g_free (rw);
}

static gboolean
strip_field (GQuark field, GValue *value, gpointer user_data)
{
  const char *name = g_quark_to_string (field);
  return !(g_str_has_prefix (name, "extmap-") || g_str_has_prefix (name, "a-") ||
           g_str_has_prefix (name, "ssrc-") || g_str_equal (name, "timestamp-offset") ||
           g_str_equal (name, "seqnum-offset") || g_str_equal (name, "clock-base"));
}

/* The caps the subscriber is offered: the publisher's codec, our SSRC, none of the
 * publisher's header extensions or RTP state. Called with the lock held. */
static GstCaps *
egress_caps (RtRewriter *rw, const GstCaps *in)
{
  GstCaps *out = gst_caps_copy (in);
  GstStructure *s = gst_caps_get_structure (out, 0);
  gst_structure_filter_and_map_in_place (s, strip_field, NULL);
  gint pt = 0, rate = 0;
  gst_structure_get_int (s, "payload", &pt);
  gst_structure_get_int (s, "clock-rate", &rate);
  rw->pt_out = (guint) pt & 0x7f;
  rw->clock_rate = rate > 0 ? (guint) rate : 90000;
  gst_structure_set (s, "ssrc", G_TYPE_UINT, rw->ssrc_out, NULL);
  return out;
}

static void
rewrite_one (RtRewriter *rw, GstBuffer *buf)
{
  GstRTPBuffer rtp = GST_RTP_BUFFER_INIT;
  if (!gst_rtp_buffer_map (buf, GST_MAP_READWRITE, &rtp))
    return;
  guint32 ssrc = gst_rtp_buffer_get_ssrc (&rtp);
  guint16 seq = gst_rtp_buffer_get_seq (&rtp);
  guint32 ts = gst_rtp_buffer_get_timestamp (&rtp);
  gint64 now = g_get_monotonic_time ();
  g_mutex_lock (&rw->lock);
  if (!rw->have_in || ssrc != rw->in_ssrc) {
    /* A new source on this transceiver: continue our numbering where it stopped. */
    if (rw->have_out) {
      guint64 elapsed = (guint64) MAX (now - rw->last_time, 1) * rw->clock_rate / G_USEC_PER_SEC;
      rw->seq_delta = (guint16) (rw->last_seq + 1 - seq);
      rw->ts_delta = rw->last_ts + (guint32) MAX (elapsed, 1) - ts;
    } else {
      rw->seq_delta = 0;
      rw->ts_delta = 0;
    }
    rw->have_in = TRUE;
    rw->in_ssrc = ssrc;
  }
  guint16 out_seq = seq + rw->seq_delta;
  guint32 out_ts = ts + rw->ts_delta;
  if (!rw->have_out || (gint16) (out_seq - rw->last_seq) > 0) {
    rw->last_seq = out_seq;
    rw->last_ts = out_ts;
    rw->last_time = now;
    rw->have_out = TRUE;
  }
  guint32 ssrc_out = rw->ssrc_out;
  guint pt_out = rw->pt_out;
  g_mutex_unlock (&rw->lock);
  gst_rtp_buffer_set_ssrc (&rtp, ssrc_out);
  if (pt_out != 0)
    gst_rtp_buffer_set_payload_type (&rtp, (guint8) pt_out);
  gst_rtp_buffer_set_seq (&rtp, out_seq);
  gst_rtp_buffer_set_timestamp (&rtp, out_ts);
  gst_rtp_buffer_unmap (&rtp);
}

static gboolean
rewrite_list_item (GstBuffer **buf, guint idx, gpointer user_data)
{
  *buf = gst_buffer_make_writable (*buf);
  rewrite_one (user_data, *buf);
  return TRUE;
}

static GstPadProbeReturn
rewriter_probe (GstPad *pad, GstPadProbeInfo *info, gpointer user_data)
{
  RtRewriter *rw = user_data;

  if (info->type & GST_PAD_PROBE_TYPE_BUFFER) {
    GstBuffer *buf = gst_buffer_make_writable (GST_PAD_PROBE_INFO_BUFFER (info));
    GST_PAD_PROBE_INFO_DATA (info) = buf;
    rewrite_one (rw, buf);
    return GST_PAD_PROBE_OK;
  }
  if (info->type & GST_PAD_PROBE_TYPE_BUFFER_LIST) {
    GstBufferList *list = gst_buffer_list_make_writable (GST_PAD_PROBE_INFO_BUFFER_LIST (info));
    GST_PAD_PROBE_INFO_DATA (info) = list;
    gst_buffer_list_foreach (list, rewrite_list_item, rw);
    return GST_PAD_PROBE_OK;
  }
  GstEvent *event = GST_PAD_PROBE_INFO_EVENT (info);
  if (GST_EVENT_TYPE (event) == GST_EVENT_CAPS) {
    GstCaps *caps = NULL;
    gst_event_parse_caps (event, &caps);
    gboolean first = FALSE;
    g_mutex_lock (&rw->lock);
    if (rw->caps_out == NULL) {
      rw->caps_out = egress_caps (rw, caps);
      first = TRUE;
    }
    GstEvent *replacement = gst_event_new_caps (rw->caps_out);
    g_mutex_unlock (&rw->lock);
    gst_event_unref (event);
    GST_PAD_PROBE_INFO_DATA (info) = replacement;
    if (first && rw->ready) {
      rw->ready (rw->user_data);
      if (rw->caps_delay_ms > 0)
        g_usleep ((gulong) rw->caps_delay_ms * 1000);
    }
    return GST_PAD_PROBE_OK;
  }
  if (gst_video_event_is_force_key_unit (event)) {
    /* Our SSRC means nothing upstream: a plain request, the publisher's
     * webrtcbin adds its own. */
    gst_event_unref (event);
    GST_PAD_PROBE_INFO_DATA (info) = gst_video_event_new_upstream_force_key_unit (GST_CLOCK_TIME_NONE, TRUE, 0);
    return GST_PAD_PROBE_OK;
  }
  const GstStructure *s = gst_event_get_structure (event);
  if (s != NULL && gst_structure_has_name (s, "GstRTPRetransmissionRequest"))
    return GST_PAD_PROBE_DROP; /* no retransmissions through this SFU */
  return GST_PAD_PROBE_OK;
}

RtRewriter *
rt_rewriter_attach (GstPad *sink, RtCapsReady ready, gpointer user_data, GDestroyNotify destroy)
{
  RtRewriter *rw = g_new0 (RtRewriter, 1);
  g_atomic_ref_count_init (&rw->ref);
  g_mutex_init (&rw->lock);
  do
    rw->ssrc_out = g_random_int ();
  while (rw->ssrc_out == 0);
  rw->ready = ready;
  rw->user_data = user_data;
  rw->destroy = destroy;
  gst_pad_add_probe (sink,
                     GST_PAD_PROBE_TYPE_BUFFER | GST_PAD_PROBE_TYPE_BUFFER_LIST |
                       GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM | GST_PAD_PROBE_TYPE_EVENT_UPSTREAM,
                     rewriter_probe, rw, rewriter_unref);
  return rw;
}

static GstPadProbeReturn
guard_probe (GstPad *pad, GstPadProbeInfo *info, gpointer user_data)
{
  RtRewriter *rw = user_data;
  return g_atomic_int_get (&rw->live) ? GST_PAD_PROBE_OK : GST_PAD_PROBE_DROP;
}

void
rt_rewriter_guard (RtRewriter *rw, GstPad *queue_src)
{
  g_atomic_ref_count_inc (&rw->ref);
  gst_pad_add_probe (queue_src, GST_PAD_PROBE_TYPE_BUFFER | GST_PAD_PROBE_TYPE_BUFFER_LIST, guard_probe, rw,
                     rewriter_unref);
}

void
rt_rewriter_set_live (RtRewriter *rw)
{
  g_atomic_int_set (&rw->live, 1);
}

void
rt_rewriter_set_caps_delay (RtRewriter *rw, guint ms)
{
  rw->caps_delay_ms = ms;
}

GstCaps *
rt_rewriter_get_caps (RtRewriter *rw)
{
  g_mutex_lock (&rw->lock);
  GstCaps *caps = rw->caps_out ? gst_caps_ref (rw->caps_out) : NULL;
  g_mutex_unlock (&rw->lock);
  return caps;
}

guint32
rt_rewriter_get_ssrc (RtRewriter *rw)
{
  return rw->ssrc_out;
}

/* ---------- keyframe requests ---------- */

static GstPadProbeReturn
gate_probe (GstPad *pad, GstPadProbeInfo *info, gpointer user_data)
{
  gint64 *last = user_data;
  GstEvent *event = GST_PAD_PROBE_INFO_EVENT (info);
  if (!gst_video_event_is_force_key_unit (event))
    return GST_PAD_PROBE_OK;
  gint64 now = g_get_monotonic_time ();
  gint64 before = *last;
  if (before != 0 && now - before < KEYFRAME_MIN_INTERVAL_US)
    return GST_PAD_PROBE_DROP;
  *last = now;
  gst_event_unref (event);
  GST_PAD_PROBE_INFO_DATA (info) = gst_video_event_new_upstream_force_key_unit (GST_CLOCK_TIME_NONE, TRUE, 0);
  return GST_PAD_PROBE_OK;
}

void
rt_keyframe_gate_attach (GstPad *tee_sink)
{
  /* Requests can come from several subscriber threads at once: a rare double
   * request that slips through is harmless. */
  gst_pad_add_probe (tee_sink, GST_PAD_PROBE_TYPE_EVENT_UPSTREAM, gate_probe, g_new0 (gint64, 1), g_free);
}

void
rt_request_keyframe (GstPad *tee_sink)
{
  gst_pad_push_event (tee_sink, gst_video_event_new_upstream_force_key_unit (GST_CLOCK_TIME_NONE, TRUE, 0));
}
