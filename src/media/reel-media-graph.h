/* reel-media-graph.h: one recording's GStreamer graph.
 *
 *   track sources ─► compositor (I420, grid) ─► video encoder ─► tee ─┬─► output bin
 *   track sources ─► audiomixer              ─► audio encoder ─► tee ─┴─► output bin ...
 *
 * All methods run on the main context; signals are emitted there. Errors are
 * routed by the element that posted them: a failed output is detached alone
 * ("output-failed"), anything else fails the graph ("failed").
 */
#pragma once

#include <gst/gst.h>

G_BEGIN_DECLS

typedef enum {
  REEL_MEDIA_KIND_AUDIO,
  REEL_MEDIA_KIND_VIDEO,
} ReelMediaKind;

typedef struct {
  const char *name;            /* the recording id: names the pipeline */
  guint width, height, framerate, bitrate_kbps, audio_bitrate_kbps;
  const char *pipelines_dir;
  const char *video_encoder;   /* template names in pipelines_dir */
  const char *audio_encoder;
} ReelMediaSettings;

#define REEL_TYPE_MEDIA_GRAPH (reel_media_graph_get_type ())
G_DECLARE_FINAL_TYPE (ReelMediaGraph, reel_media_graph, REEL, MEDIA_GRAPH, GObject)

/* Builds mixers, encoders and tees. Signals:
 *  "started" ()                        the pipeline is PLAYING: media time 0 is now
 *  "output-finished" (utf8 id)         an output was finalized (EOS written) and removed
 *  "output-failed" (utf8 id, GError)   an output failed and was removed; others go on
 *  "finished" ()                       after stop: every output finalized (or timed out)
 *  "failed" (GError)                   the graph itself failed; it is stopped
 *  "track-released" (utf8 track_id)    a track given as a pad is unlinked and its
 *                                      mixer input released: its owner may now
 *                                      tear down what feeds the pad
 *  "element-failed" (GstElement, GError) an element added with
 *                                      reel_media_graph_add_element() posted an
 *                                      error; the recording goes on
 * Returns: (transfer full): the graph, or %NULL with @error set */
ReelMediaGraph *reel_media_graph_new (const ReelMediaSettings *settings, GError **error);

gboolean reel_media_graph_start (ReelMediaGraph *self, GError **error);

/* Ends every input with EOS and waits at most @timeout_s for the outputs to finalize;
 * then "finished". Outputs that did not finish in time are reported through
 * reel_media_graph_output_timed_out(). */
void reel_media_graph_stop (ReelMediaGraph *self, guint timeout_s);

/* Adds @output_bin (with "video" and "audio" sink pads, see output/) under @output_id.
 * Mid-recording, the branch starts at the next keyframe. */
gboolean reel_media_graph_add_output (ReelMediaGraph *self, const char *output_id,
                                      GstElement *output_bin, GError **error);

/* Detaches an output; with @finalize its file is finished with EOS and
 * "output-finished" follows, otherwise it is dropped at once. */
void reel_media_graph_remove_output (ReelMediaGraph *self, const char *output_id,
                                     gboolean finalize);

gboolean reel_media_graph_has_output (ReelMediaGraph *self, const char *output_id);
gboolean reel_media_graph_output_timed_out (ReelMediaGraph *self, const char *output_id);

/* Bytes sent by a streaming output, -1 when unknown (files: stat the path). */
gint64 reel_media_graph_get_output_sent_bytes (ReelMediaGraph *self, const char *output_id);

/* Live numbers of a recording's graph (indexed by ReelMediaKind), for metrics. */
typedef struct {
  /* Frames the mixer or encoder of that kind dropped: their QoS reports (late
   * frames skipped) and encoded frames without a timestamp discarded before the
   * outputs. */
  guint64 encoder_frames_dropped[2];
  /* Age of the last encoded frame as it left the encoder: pipeline running time
   * minus the frame's timestamp, in microseconds; -1 before the first or once
   * stopped. */
  gint64 latency_us[2];
} ReelMediaStats;

void reel_media_graph_get_stats (ReelMediaGraph *self, ReelMediaStats *stats);

/* Leak events of an output's @kind queue: its sink did not keep up and the queue
 * discarded its oldest frame(s). Counts on across retries of the same id. */
guint64 reel_media_graph_get_output_frames_dropped (ReelMediaGraph *self, const char *output_id,
                                                    ReelMediaKind kind);

/* Adds a track: @source (transfer floating) is an element or bin with one "src" pad
 * giving raw audio or video. Video tracks get a tile, in the order they are added. */
gboolean reel_media_graph_add_track (ReelMediaGraph *self, const char *participant_id,
                                     const char *track_id, ReelMediaKind kind,
                                     GstElement *source, GError **error);

/* Adds a track fed by @pad, a src pad of an element already in the graph (see
 * reel_media_graph_add_element()). The pad is not owned: on removal it is
 * unlinked, kept blocked, and "track-released" tells its owner. */
gboolean reel_media_graph_add_track_pad (ReelMediaGraph *self, const char *participant_id,
                                         const char *track_id, ReelMediaKind kind, GstPad *pad,
                                         GError **error);

/* Adds an element that produces track pads (a WebRTC session). Its errors are
 * reported with "element-failed" instead of failing the recording. */
void reel_media_graph_add_element (ReelMediaGraph *self, GstElement *element);

/* Removes such an element (after its tracks were removed); off the main thread. */
void reel_media_graph_remove_element (ReelMediaGraph *self, GstElement *element);

/* Removes a track: block → unlink → EOS → remove, then the layout is recomputed. */
void reel_media_graph_remove_track (ReelMediaGraph *self, const char *track_id);

guint reel_media_graph_get_n_tiles (ReelMediaGraph *self);

/* The graph's pipeline, for diagnostics (dot dumps) and tests.
 * Returns: (transfer none) */
GstElement *reel_media_graph_get_pipeline (ReelMediaGraph *self);

/* Media time since "started", or GST_CLOCK_TIME_NONE before. */
GstClockTime reel_media_graph_get_running_time (ReelMediaGraph *self);

/* A live test source: solid @rgb (0xRRGGBB) with a moving white ball at
 * @width x @height, or a sine of @tone_hz.
 * Returns: (transfer floating): a bin with a "src" pad */
GstElement *reel_media_synthetic_source_new (ReelMediaKind kind, guint32 rgb, double tone_hz,
                                             guint width, guint height, guint framerate);

/* A participant without live video: a dark tile with @name on it.
 * Returns: (transfer floating): a live source bin with a "src" pad */
GstElement *reel_media_placeholder_source_new (const char *name, guint width, guint height,
                                               guint framerate);

G_END_DECLS
