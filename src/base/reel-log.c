/* reel-log.c: a GLib log writer with a level threshold, to journald or stderr. */
#include "base/reel-log.h"

#include <stdio.h>
#include <unistd.h>

static GLogLevelFlags threshold = G_LOG_LEVEL_INFO;
static gboolean to_journal = FALSE;

static int
level_rank (GLogLevelFlags level)
{
  if (level & (G_LOG_LEVEL_ERROR | G_LOG_LEVEL_CRITICAL))
    return 0;
  if (level & G_LOG_LEVEL_WARNING)
    return 1;
  if (level & (G_LOG_LEVEL_MESSAGE | G_LOG_LEVEL_INFO))
    return 2;
  return 3;
}

static GLogWriterOutput
reel_log_writer (GLogLevelFlags level, const GLogField *fields, gsize n_fields,
                 gpointer user_data)
{
  if (level_rank (level) > level_rank (threshold))
    return G_LOG_WRITER_HANDLED;
  if (to_journal && g_log_writer_journald (level, fields, n_fields, user_data) == G_LOG_WRITER_HANDLED)
    return G_LOG_WRITER_HANDLED;
  /* Everything to stderr: stdout belongs to whoever runs reeld. */
  g_autofree char *line = g_log_writer_format_fields (level, fields, n_fields, FALSE);
  fprintf (stderr, "%s\n", line);
  fflush (stderr);
  return G_LOG_WRITER_HANDLED;
}

/**
 * reel_log_init:
 * @min_level: the least severe level still written
 */
void
reel_log_init (GLogLevelFlags min_level)
{
  threshold = min_level;
  to_journal = g_log_writer_is_journald (fileno (stderr));
  g_log_set_writer_func (reel_log_writer, NULL, NULL);
}

/**
 * reel_log_set_level:
 * @min_level: the least severe level still written
 */
void
reel_log_set_level (GLogLevelFlags min_level)
{
  threshold = min_level;
}

/**
 * reel_log_level_from_string:
 * @name: a level name
 * @level: (out): the parsed level
 * Returns: %TRUE if @name is a known level
 */
gboolean
reel_log_level_from_string (const char *name, GLogLevelFlags *level)
{
  static const struct { const char *name; GLogLevelFlags level; } levels[] = {
    { "error", G_LOG_LEVEL_CRITICAL },
    { "warning", G_LOG_LEVEL_WARNING },
    { "info", G_LOG_LEVEL_INFO },
    { "debug", G_LOG_LEVEL_DEBUG },
  };
  for (gsize i = 0; i < G_N_ELEMENTS (levels); i++) {
    if (g_ascii_strcasecmp (name, levels[i].name) == 0) {
      *level = levels[i].level;
      return TRUE;
    }
  }
  return FALSE;
}
