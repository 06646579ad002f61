/* reel-media-layout.c: the video tiles of a recording graph: their order, their
 * places on the canvas (the grid maths are reel-layout.c's), how each one is
 * scaled, and each track's picture shape as its caps give it.
 *
 * Thread rule: the tiles belong to the main context. A video track's caps probe
 * runs on its streaming thread: it copies the shape and posts it to the main
 * context, and holds the graph only by a weak reference.
 */
#include "media/reel-media-graph-private.h"

#include "media/reel-layout.h"

#include <gst/video/video.h>

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

static gint
compare_tiles (gconstpointer a, gconstpointer b)
{
  const Input *x = *(Input *const *) a, *y = *(Input *const *) b;
  if (x->participant_seq != y->participant_seq)
    return x->participant_seq < y->participant_seq ? -1 : 1;
  return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* Gives every video tile its cell of the grid, in the order their participants came. */
void
reel_media_graph_apply_layout (ReelMediaGraph *self)
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
    reel_media_graph_apply_layout (graph);
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

/* The tile of @in takes its shape from its current caps, then from each caps event.
 * @in: (transfer none): a video input, linked */
void
reel_media_graph_follow_video_shape (ReelMediaGraph *self, Input *in)
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

/**
 * reel_media_graph_get_n_tiles:
 * Returns: the number of video tiles on the canvas
 */
guint
reel_media_graph_get_n_tiles (ReelMediaGraph *self)
{
  return self->tiles->len;
}
