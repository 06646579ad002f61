/* reel-gst-log.h: GStreamer's warnings and errors into reel's log, with the
 * recording and output they concern as structured fields. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Replaces GStreamer's stderr printer with one that forwards WARNING and ERROR
 * messages to g_log_structured() (domain "GStreamer", level warning) with
 * GST_CATEGORY, REEL_RECORDING_ID (from the "rec-<id>" pipeline the object sits
 * in) and REEL_OUTPUT (from an "out-<output id>" bin). Unless GST_DEBUG is set,
 * the threshold becomes WARNING (but for categories that warn in normal operation).
 * With GST_DEBUG set, its thresholds rule and GStreamer's own printer stays too
 * (a developer asked for its output). Call after gst_init(). */
void reel_gst_log_init (void);

G_END_DECLS
