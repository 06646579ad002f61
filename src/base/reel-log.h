/* reel-log.h: structured logging (journald when stderr is the journal).
 *
 * Messages carry REEL_* fields so `journalctl REEL_RECORDING_ID=rec_x` shows one
 * recording's story. Never pass secrets, tokens or stream keys to these macros.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Installs reel's log writer. @min_level: messages less severe than this are dropped
 * (G_LOG_LEVEL_DEBUG shows everything). */
void reel_log_init (GLogLevelFlags min_level);

/* Changes the threshold of an installed writer (SIGHUP reload). */
void reel_log_set_level (GLogLevelFlags min_level);

/* g_log_structured() takes the extra fields as plain key, value strings; only
 * MESSAGE is a format. */

/* Parses "error", "warning", "info" or "debug". */
gboolean reel_log_level_from_string (const char *name, GLogLevelFlags *level);

/* Names the room of @recording_id: from now on every message carrying
 * REEL_RECORDING_ID=@recording_id (reel's and GStreamer's) also carries
 * REEL_ROOM=@room. @room must hold no secret. Thread-safe. */
void reel_log_set_room (const char *recording_id, const char *room);

#define reel_log_recording(level, recording_id, ...) \
  g_log_structured (G_LOG_DOMAIN, level, \
                    "REEL_RECORDING_ID", (recording_id), \
                    "MESSAGE", __VA_ARGS__)

#define reel_log_output(level, recording_id, output_id, ...) \
  g_log_structured (G_LOG_DOMAIN, level, \
                    "REEL_RECORDING_ID", (recording_id), \
                    "REEL_OUTPUT", (output_id), \
                    "MESSAGE", __VA_ARGS__)

G_END_DECLS
