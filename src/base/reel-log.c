/* reel-log.c: a GLib log writer with a level threshold, to journald or stderr. */
#include "base/reel-log.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

static GLogLevelFlags threshold = G_LOG_LEVEL_INFO;
static gboolean to_journal = FALSE;
/* recording id → room label; messages come from any thread (GStreamer's too) */
static GMutex rooms_lock;
static GHashTable *rooms;

/**
 * reel_log_set_room:
 * @recording_id: a recording id
 * @room: the room's label, without secrets
 */
void
reel_log_set_room (const char *recording_id, const char *room)
{
  g_mutex_lock (&rooms_lock);
  if (rooms == NULL)
    rooms = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  g_hash_table_replace (rooms, g_strdup (recording_id), g_strdup (room));
  g_mutex_unlock (&rooms_lock);
}

/* Returns: (transfer full) (nullable): the room of the message's REEL_RECORDING_ID,
 * unless it names one already */
static char *
room_for (const GLogField *fields, gsize n_fields)
{
  const char *id = NULL;
  for (gsize i = 0; i < n_fields; i++) {
    if (g_str_equal (fields[i].key, "REEL_ROOM"))
      return NULL;
    if (g_str_equal (fields[i].key, "REEL_RECORDING_ID") && fields[i].length < 0)
      id = fields[i].value;
  }
  if (id == NULL)
    return NULL;
  g_mutex_lock (&rooms_lock);
  char *room = rooms != NULL ? g_strdup (g_hash_table_lookup (rooms, id)) : NULL;
  g_mutex_unlock (&rooms_lock);
  return room;
}

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
  g_autofree char *room = room_for (fields, n_fields);
  if (room != NULL) {
    GLogField *more = g_newa (GLogField, n_fields + 1);
    memcpy (more, fields, n_fields * sizeof *fields);
    more[n_fields] = (GLogField) { "REEL_ROOM", room, -1 };
    fields = more;
    n_fields++;
  }
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
