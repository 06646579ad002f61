/* reel-output-bin.c: output bins (file, RTMP) built from templates. */
#include "output/reel-output-bin.h"

#include "base/reel-error.h"
#include "output/reel-pipeline-template.h"

#include <gst/video/video.h>

#define QUEUE_MAX_TIME (3 * GST_SECOND)

static GstPadTemplate *
find_request_template (GstElement *mux, const char *media_prefix)
{
  g_autoptr (GstCaps) want = gst_caps_from_string (media_prefix);
  GList *templates = gst_element_class_get_pad_template_list (GST_ELEMENT_GET_CLASS (mux));
  for (GList *l = templates; l; l = l->next) {
    GstPadTemplate *templ = l->data;
    if (GST_PAD_TEMPLATE_DIRECTION (templ) != GST_PAD_SINK ||
        GST_PAD_TEMPLATE_PRESENCE (templ) != GST_PAD_REQUEST)
      continue;
    g_autoptr (GstCaps) caps = gst_pad_template_get_caps (templ);
    if (gst_caps_can_intersect (caps, want))
      return templ;
  }
  return NULL;
}

static gboolean
add_branch (GstBin *bin, GstElement *mux, const char *kind, const char *caps_prefix,
            GError **error)
{
  GstPadTemplate *templ = find_request_template (mux, caps_prefix);
  if (templ == NULL) {
    g_set_error (error, REEL_ERROR, REEL_ERROR_CONFIG_INVALID,
                 "output muxer %s has no %s input", GST_OBJECT_NAME (mux), kind);
    return FALSE;
  }
  g_autofree char *qname = g_strdup_printf ("queue-%s", kind);
  GstElement *queue = gst_element_factory_make ("queue", qname);
  g_object_set (queue, "max-size-buffers", 0, "max-size-bytes", 0,
                "max-size-time", (guint64) QUEUE_MAX_TIME, "leaky", 2 /* downstream */, NULL);
  gst_bin_add (bin, queue);
  g_autoptr (GstPad) muxpad = gst_element_request_pad (mux, templ, NULL, NULL);
  g_autoptr (GstPad) qsrc = gst_element_get_static_pad (queue, "src");
  if (muxpad == NULL || gst_pad_link (qsrc, muxpad) != GST_PAD_LINK_OK) {
    g_set_error (error, REEL_ERROR, REEL_ERROR_MEDIA, "cannot link %s into the muxer", kind);
    return FALSE;
  }
  g_autoptr (GstPad) qsink = gst_element_get_static_pad (queue, "sink");
  gst_element_add_pad (GST_ELEMENT (bin), gst_ghost_pad_new (kind, qsink));
  return TRUE;
}

/**
 * reel_output_bin_new:
 * @vars: (nullable) (element-type utf8 utf8): template placeholders
 * Returns: (transfer floating): the bin, or %NULL with @error set
 */
GstElement *
reel_output_bin_new (const char *pipelines_dir, const char *template_name, GHashTable *vars,
                     const char *bin_name, const char *location, GError **error)
{
  GstElement *bin = reel_pipeline_template_make_bin (pipelines_dir, template_name, vars,
                                                     bin_name, error);
  if (bin == NULL)
    return NULL;
  gst_object_ref_sink (bin);
  g_autoptr (GstElement) owned = bin;
  g_autoptr (GstElement) mux = gst_bin_get_by_name (GST_BIN (bin), "mux");
  g_autoptr (GstElement) sink = gst_bin_get_by_name (GST_BIN (bin), "sink");
  if (mux == NULL || sink == NULL) {
    g_set_error (error, REEL_ERROR, REEL_ERROR_CONFIG_INVALID,
                 "pipeline template %s must name its muxer \"mux\" and its sink \"sink\"",
                 template_name);
    return NULL;
  }
  g_object_set (sink, "location", location, NULL);
  if (!add_branch (GST_BIN (bin), mux, "video", "video/x-h264", error) ||
      !add_branch (GST_BIN (bin), mux, "audio", "audio/mpeg", error))
    return NULL;
  /* Hand back a floating reference, like gst_element_factory_make(). */
  g_object_force_floating (G_OBJECT (bin));
  return g_steal_pointer (&owned);
}

/**
 * reel_output_bin_get_sent_bytes:
 * Returns: bytes sent, or -1 if unknown
 */
gint64
reel_output_bin_get_sent_bytes (GstElement *bin)
{
  g_autoptr (GstElement) sink = gst_bin_get_by_name (GST_BIN (bin), "sink");
  if (sink == NULL || g_object_class_find_property (G_OBJECT_GET_CLASS (sink), "stats") == NULL)
    return -1;
  GstStructure *stats = NULL;
  g_object_get (sink, "stats", &stats, NULL);
  if (stats == NULL)
    return -1;
  guint64 bytes = 0;
  gboolean ok = gst_structure_get_uint64 (stats, "out-bytes-total", &bytes);
  gst_structure_free (stats);
  return ok ? (gint64) bytes : -1;
}

static GstPadProbeReturn
drop_until_keyframe (GstPad *pad, GstPadProbeInfo *info, gpointer user_data)
{
  GstBuffer *buf = GST_PAD_PROBE_INFO_BUFFER (info);
  if (GST_BUFFER_FLAG_IS_SET (buf, GST_BUFFER_FLAG_DELTA_UNIT))
    return GST_PAD_PROBE_DROP;
  return GST_PAD_PROBE_REMOVE;
}

/**
 * reel_output_bin_request_keyframe:
 * @bin: an output bin linked to the video tee
 */
void
reel_output_bin_request_keyframe (GstElement *bin)
{
  g_autoptr (GstPad) vpad = gst_element_get_static_pad (bin, "video");
  if (vpad == NULL)
    return;
  gst_pad_add_probe (vpad, GST_PAD_PROBE_TYPE_BUFFER, drop_until_keyframe, NULL, NULL);
  /* Upstream event: pushed from this sink pad to its peer, the tee. */
  gst_pad_push_event (vpad, gst_video_event_new_upstream_force_key_unit (GST_CLOCK_TIME_NONE,
                                                                        TRUE, 0));
}
