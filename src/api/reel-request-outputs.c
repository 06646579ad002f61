/* reel-request-outputs.c: output objects (file or RTMP) of a recording body, and
 * the "outputs" member of a PATCH body (outputs to add, output ids to remove).
 */
#include "api/reel-request-private.h"

#include <string.h>

#define MAX_OUTPUTS 8

static gboolean
parse_rtmp_url (JsonObject *obj, const char *parent, char **url, GError **error)
{
  g_autofree char *path = reel_request_path_member (parent, "url");
  JsonNode *node = reel_request_need (obj, "url", path, error);
  const char *text = NULL;

  if (node == NULL || !reel_request_want_string (node, path, &text, error) ||
      !reel_request_check_rtmp_url (text, path, error))
    return FALSE;
  *url = g_strdup (text);
  return TRUE;
}

static gboolean
parse_file_format (JsonObject *obj, const char *parent, ReelFileFormat *format, GError **error)
{
  g_autofree char *path = reel_request_path_member (parent, "format");
  JsonNode *node = reel_request_need (obj, "format", path, error);
  const char *name = NULL;

  if (node == NULL || !reel_request_want_string (node, path, &name, error))
    return FALSE;
  if (strcmp (name, "mp4") == 0)
    *format = REEL_FILE_FORMAT_MP4;
  else if (strcmp (name, "mkv") == 0)
    *format = REEL_FILE_FORMAT_MKV;
  else {
    g_autofree char *shown = reel_request_echo (name);
    return reel_request_invalid (error, path, "unknown format \"%s\" (known: mp4, mkv)", shown);
  }
  return TRUE;
}

static gboolean
parse_output_type (JsonObject *obj, const char *parent, ReelOutputType *type, GError **error)
{
  g_autofree char *path = reel_request_path_member (parent, "type");
  JsonNode *node = reel_request_need (obj, "type", path, error);
  const char *name = NULL;

  if (node == NULL || !reel_request_want_string (node, path, &name, error))
    return FALSE;
  if (strcmp (name, "file") == 0)
    *type = REEL_OUTPUT_FILE;
  else if (strcmp (name, "rtmp") == 0)
    *type = REEL_OUTPUT_RTMP;
  else {
    g_autofree char *shown = reel_request_echo (name);
    return reel_request_invalid (error, path, "unknown output type \"%s\" (known: file, rtmp)",
                                 shown);
  }
  return TRUE;
}

/* Returns: (transfer full) (nullable): the output at @path */
static ReelOutputSpec *
parse_output (JsonNode *node, const char *path, GError **error)
{
  static const char *const file_members[] = { "type", "format", NULL };
  static const char *const rtmp_members[] = { "type", "url", NULL };
  JsonObject *obj = reel_request_want_object (node, path, error);
  ReelOutputType type = REEL_OUTPUT_FILE;

  if (obj == NULL || !parse_output_type (obj, path, &type, error) ||
      !reel_request_check_members (obj, path,
                                   type == REEL_OUTPUT_FILE ? file_members : rtmp_members, TRUE,
                                   error))
    return NULL;
  g_autoptr (ReelOutputSpec) spec = reel_output_spec_new (type);
  gboolean ok = type == REEL_OUTPUT_FILE ? parse_file_format (obj, path, &spec->format, error)
                                         : parse_rtmp_url (obj, path, &spec->url, error);
  return ok ? g_steal_pointer (&spec) : NULL;
}

/* An array of @min to MAX_OUTPUTS output objects, appended to @outputs. */
gboolean
reel_request_parse_output_list (JsonNode *node, const char *path, guint min, GPtrArray *outputs,
                                GError **error)
{
  JsonArray *array = reel_request_want_array (node, path, error);

  if (array == NULL)
    return FALSE;
  guint n = json_array_get_length (array);
  if (n < min || n > MAX_OUTPUTS)
    return min > 0
             ? reel_request_invalid (error, path, "must have %u to %d entries", min, MAX_OUTPUTS)
             : reel_request_invalid (error, path, "must have at most %d entries", MAX_OUTPUTS);
  for (guint i = 0; i < n; i++) {
    g_autofree char *item = reel_request_path_index (path, i);
    ReelOutputSpec *output = parse_output (json_array_get_element (array, i), item, error);
    if (output == NULL)
      return FALSE;
    g_ptr_array_add (outputs, output);
  }
  return TRUE;
}

/* ------------------------------------------------------------------------------------ */
/* PATCH: outputs.add and outputs.remove                                                */
/* ------------------------------------------------------------------------------------ */

/* ^out_[0-9]{1,6}$ */
static gboolean
is_output_id (const char *id)
{
  if (!g_str_has_prefix (id, "out_"))
    return FALSE;
  gsize digits = strspn (id + 4, "0123456789");
  return digits >= 1 && digits <= 6 && id[4 + digits] == '\0';
}

static gboolean
parse_remove_list (JsonNode *node, const char *path, GPtrArray *ids, GError **error)
{
  JsonArray *array = reel_request_want_array (node, path, error);

  if (array == NULL)
    return FALSE;
  guint n = json_array_get_length (array);
  if (n > MAX_OUTPUTS)
    return reel_request_invalid (error, path, "must have at most %d entries", MAX_OUTPUTS);
  for (guint i = 0; i < n; i++) {
    g_autofree char *item = reel_request_path_index (path, i);
    JsonNode *element = json_array_get_element (array, i);
    if (!reel_request_is_value_of (element, G_TYPE_STRING) ||
        !is_output_id (json_node_get_string (element)))
      return reel_request_invalid (error, item, "expected an output id like \"out_1\"");
    const char *id = json_node_get_string (element);
    if (g_ptr_array_find_with_equal_func (ids, id, g_str_equal, NULL))
      /* safe to echo as is: it matched the pattern */
      return reel_request_invalid (error, item, "duplicate output id \"%s\"", id);
    g_ptr_array_add (ids, g_strdup (id));
  }
  return TRUE;
}

gboolean
reel_request_parse_patch_outputs (JsonNode *node, ReelRecordingPatch *patch, GError **error)
{
  static const char *const known[] = { "add", "remove", NULL };
  JsonObject *obj = reel_request_want_object (node, "outputs", error);

  if (obj == NULL || !reel_request_check_members (obj, "outputs", known, FALSE, error))
    return FALSE;
  JsonNode *add = json_object_get_member (obj, "add");
  if (add != NULL &&
      !reel_request_parse_output_list (add, "outputs.add", 0, patch->add_outputs, error))
    return FALSE;
  JsonNode *ids = json_object_get_member (obj, "remove");
  return ids == NULL || parse_remove_list (ids, "outputs.remove", patch->remove_outputs, error);
}
