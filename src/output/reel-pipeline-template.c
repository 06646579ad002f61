/* reel-pipeline-template.c: load pipelines/<name>.pipeline fragments. */
#include "output/reel-pipeline-template.h"

#include "base/reel-error.h"
#include "elements/reel-elements.h"

#include <string.h>

/**
 * reel_pipeline_template_name_is_valid:
 * Returns: %TRUE for a safe name
 */
gboolean
reel_pipeline_template_name_is_valid (const char *name)
{
  if (name == NULL || name[0] == '\0' || strlen (name) > 64)
    return FALSE;
  if (!g_ascii_isalnum (name[0]))
    return FALSE;
  for (const char *p = name; *p; p++) {
    if (!(g_ascii_islower (*p) || g_ascii_isdigit (*p) || *p == '-' || *p == '_'))
      return FALSE;
  }
  return TRUE;
}

static char *
strip_comments (const char *text)
{
  g_auto (GStrv) lines = g_strsplit (text, "\n", -1);
  GString *out = g_string_new (NULL);
  for (guint i = 0; lines[i]; i++) {
    const char *l = lines[i];
    while (g_ascii_isspace (*l))
      l++;
    if (*l == '#' || *l == '\0')
      continue;
    g_string_append (out, l);
    g_string_append_c (out, ' ');
  }
  return g_string_free (out, FALSE);
}

static char *
substitute (const char *text, GHashTable *vars, const char *name, GError **error)
{
  GString *out = g_string_new (NULL);
  const char *p = text;
  while (*p) {
    const char *open = strchr (p, '{');
    if (open == NULL) {
      g_string_append (out, p);
      break;
    }
    const char *close = strchr (open, '}');
    if (close == NULL) {
      g_string_append (out, p);
      break;
    }
    g_string_append_len (out, p, open - p);
    g_autofree char *key = g_strndup (open + 1, close - open - 1);
    const char *value = vars ? g_hash_table_lookup (vars, key) : NULL;
    if (value == NULL) {
      g_set_error (error, REEL_ERROR, REEL_ERROR_CONFIG_INVALID,
                   "pipeline template %s: unknown placeholder {%s}", name, key);
      g_string_free (out, TRUE);
      return NULL;
    }
    g_string_append (out, value);
    p = close + 1;
  }
  return g_string_free (out, FALSE);
}

/**
 * reel_pipeline_template_expand:
 * @vars: (nullable) (element-type utf8 utf8): placeholder values
 * Returns: (transfer full): the description, or %NULL with @error set
 */
char *
reel_pipeline_template_expand (const char *dir, const char *name, GHashTable *vars,
                               GError **error)
{
  if (!reel_pipeline_template_name_is_valid (name)) {
    g_set_error (error, REEL_ERROR, REEL_ERROR_CONFIG_INVALID,
                 "pipeline template name \"%s\" is not valid", name ? name : "");
    return NULL;
  }
  g_autofree char *file = g_strconcat (name, ".pipeline", NULL);
  g_autofree char *path = g_build_filename (dir, file, NULL);
  g_autofree char *text = NULL;
  g_autoptr (GError) local = NULL;
  if (!g_file_get_contents (path, &text, NULL, &local)) {
    g_set_error (error, REEL_ERROR, REEL_ERROR_CONFIG_INVALID,
                 "pipeline template %s: %s", name, local->message);
    return NULL;
  }
  g_autofree char *stripped = strip_comments (text);
  return substitute (stripped, vars, name, error);
}

/**
 * reel_pipeline_template_make_bin:
 * Returns: (transfer floating): a bin, or %NULL with @error set
 */
GstElement *
reel_pipeline_template_make_bin (const char *dir, const char *name, GHashTable *vars,
                                 const char *bin_name, GError **error)
{
  g_autofree char *desc = reel_pipeline_template_expand (dir, name, vars, error);
  if (desc == NULL)
    return NULL;
  g_autoptr (GError) local = NULL;
  reel_elements_register (); /* templates may name reel's own elements */
  /* Not GST_PARSE_FLAG_NO_SINGLE_ELEMENT_BINS: with it a multi-element fragment
   * comes back as a nested GstPipeline, whose own clock and EOS handling break
   * the recording pipeline when the fragment is removed mid-recording. */
  GstElement *bin = gst_parse_bin_from_description_full (desc, TRUE, NULL,
                                                         GST_PARSE_FLAG_FATAL_ERRORS, &local);
  if (bin == NULL) {
    g_set_error (error, REEL_ERROR, REEL_ERROR_CONFIG_INVALID,
                 "pipeline template %s: %s", name, local ? local->message : "cannot parse");
    return NULL;
  }
  if (bin_name)
    gst_object_set_name (GST_OBJECT (bin), bin_name);
  return bin;
}
