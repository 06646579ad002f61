/* reel-gst-log.c: a GstLogFunction that speaks reel's structured log. Runs on any
 * streaming thread, possibly inside GStreamer's locked sections: it takes no lock. */
#include "reel-gst-log.h"

#include <gst/gst.h>
#include <string.h>

#define PIPELINE_PREFIX "rec-" /* reel_media_graph_new: pipeline "rec-<recording id>" */
#define OUTPUT_PREFIX "out-"   /* the runner: output bin "out-<output id>" */
/* WARNING and up, except categories that warn in normal operation (measured on a
 * synthetic recording with a failing RTMP output): video-scaler ("can't find exact
 * taps", hundreds per second of scaling), aggregator ("Latency query failed" until
 * live sources preroll), GST_PIPELINE (gst_parse errors of expected probes), and
 * from a Janus call: rtpsource ("Removing N expired NACKS", several a second on a
 * lossy link; the jitter buffer's own statistics tell that story). */
#define DEFAULT_THRESHOLDS "2,video-scaler:1,aggregator:1,GST_PIPELINE:0,rtpsource:1"

/* Walks up from @object: the recording id of the top pipeline and the output id of
 * the enclosing output bin, each (transfer full) (nullable).
 *
 * No object lock is taken: GStreamer logs from inside its own locked sections, so
 * gst_object_get_name()/get_parent() here would deadlock (the default printer
 * reads GST_OBJECT_NAME unlocked for the same reason). A parent outlives its
 * children's membership, so the walk only meets live objects. */
static void
find_ids (GObject *object, char **recording_id, char **output_id)
{
  *recording_id = *output_id = NULL;
  if (object == NULL || !GST_IS_OBJECT (object))
    return;
  for (GstObject *cur = GST_OBJECT (object); cur != NULL; cur = GST_OBJECT_PARENT (cur)) {
    const char *name = GST_OBJECT_NAME (cur);
    if (name == NULL)
      continue;
    if (*output_id == NULL && GST_IS_BIN (cur) && g_str_has_prefix (name, OUTPUT_PREFIX))
      *output_id = g_strdup (name + strlen (OUTPUT_PREFIX));
    if (GST_OBJECT_PARENT (cur) == NULL && GST_IS_PIPELINE (cur) && g_str_has_prefix (name, PIPELINE_PREFIX))
      *recording_id = g_strdup (name + strlen (PIPELINE_PREFIX));
  }
}

/* Returns: (transfer full): @text with the path after the application of every
 * rtmp(s):// URL replaced by "***": GStreamer's RTMP elements may name their
 * location, and a stream key must never reach the log. */
static char *
redact_urls (const char *text)
{
  GString *out = g_string_new (NULL);
  const char *p = text;
  const char *url;
  while ((url = strstr (p, "rtmp")) != NULL) {
    const char *scheme_end = strstr (url, "://");
    gsize scheme_len = scheme_end != NULL ? (gsize) (scheme_end - url) : 0;
    if (scheme_end == NULL || scheme_len > 5) {
      g_string_append_len (out, p, url + 4 - p);
      p = url + 4;
      continue;
    }
    const char *end = scheme_end + 3;
    while (*end != '\0' && !g_ascii_isspace (*end) && *end != '"' && *end != '\'')
      end++;
    const char *slash = g_strstr_len (scheme_end + 3, end - scheme_end - 3, "/");
    const char *app_end = slash != NULL ? g_strstr_len (slash + 1, end - slash - 1, "/") : NULL;
    const char *keep_to = app_end != NULL ? app_end + 1 : end;
    g_string_append_len (out, p, keep_to - p);
    if (app_end != NULL)
      g_string_append (out, "***");
    p = end;
  }
  g_string_append (out, p);
  return g_string_free (out, FALSE);
}

static void
forward (GstDebugCategory *category, GstDebugLevel level, const gchar *file, const gchar *function,
         gint line, GObject *object, GstDebugMessage *message, gpointer user_data)
{
  if (level > GST_LEVEL_WARNING)
    return;
  g_autofree char *recording_id = NULL;
  g_autofree char *output_id = NULL;
  find_ids (object, &recording_id, &output_id);
  const char *where = object != NULL && GST_IS_OBJECT (object) ? GST_OBJECT_NAME (object) : NULL;
  const char *raw = gst_debug_message_get (message);
  g_autofree char *text = redact_urls (raw != NULL ? raw : "");
  /* GStreamer errors are handled by reel (bus → output or recording failure), so
   * they are warnings here: a CRITICAL means a bug in reel. */
  GLogField fields[] = {
    { "MESSAGE", NULL, -1 },
    { "PRIORITY", "4", -1 },
    { "GLIB_DOMAIN", "GStreamer", -1 },
    { "GST_CATEGORY", gst_debug_category_get_name (category), -1 },
    { "CODE_FILE", file, -1 },
    { "CODE_FUNC", function, -1 },
    { "REEL_RECORDING_ID", recording_id, -1 },
    { "REEL_OUTPUT", output_id, -1 },
  };
  g_autofree char *msg = g_strdup_printf ("%s%s%s%s: %s", gst_debug_level_get_name (level),
                                          where != NULL ? " <" : "", where != NULL ? where : "",
                                          where != NULL ? ">" : "", text);
  fields[0].value = msg;
  gsize n = G_N_ELEMENTS (fields);
  if (recording_id == NULL)
    n -= 2; /* REEL_OUTPUT only ever comes with a recording */
  else if (output_id == NULL)
    n -= 1;
  g_log_structured_array (G_LOG_LEVEL_WARNING, fields, n);
}

/**
 * reel_gst_log_init:
 */
void
reel_gst_log_init (void)
{
  if (g_getenv ("GST_DEBUG") == NULL) {
    gst_debug_remove_log_function (gst_debug_log_default);
    gst_debug_set_threshold_from_string (DEFAULT_THRESHOLDS, TRUE);
  }
  gst_debug_add_log_function (forward, NULL, NULL);
}
