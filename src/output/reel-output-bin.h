/* reel-output-bin.h: one output of a recording as a bin with "video" and "audio"
 * sink pads: leaky queues → muxer → sink, muxer and sink from a pipelines/ template.
 *
 * The template must name its muxer "mux" and its sink "sink"; reel sets the sink's
 * "location" (a file under recordings_dir, or an RTMP URL). The queues leak rather
 * than block, so a slow or dead output never stalls the encoders or other outputs.
 */
#pragma once

#include <gst/gst.h>

G_BEGIN_DECLS

/* Returns: (transfer floating): the output bin, or %NULL with @error set */
GstElement *reel_output_bin_new (const char *pipelines_dir, const char *template_name,
                                 GHashTable *vars, const char *bin_name, const char *location,
                                 GError **error);

/* Bytes the output has written so far, when its sink can tell (RTMP); -1 otherwise. */
gint64 reel_output_bin_get_sent_bytes (GstElement *bin);

/* Drops video until the first keyframe, so a branch added mid-recording starts
 * decodable; and asks the encoder upstream for one. Call after linking. */
void reel_output_bin_request_keyframe (GstElement *bin);

G_END_DECLS
