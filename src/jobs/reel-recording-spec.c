/* reel-recording-spec.c: validated recording request data. */
#include "jobs/reel-recording-spec.h"

#include <string.h>

/**
 * reel_output_type_to_string:
 * Returns: (transfer none): "file" or "rtmp"
 */
const char *
reel_output_type_to_string (ReelOutputType type)
{
  return type == REEL_OUTPUT_RTMP ? "rtmp" : "file";
}

/**
 * reel_file_format_to_string:
 * Returns: (transfer none): "mp4" or "mkv"
 */
const char *
reel_file_format_to_string (ReelFileFormat format)
{
  return format == REEL_FILE_FORMAT_MKV ? "mkv" : "mp4";
}

/**
 * reel_file_format_extension:
 * Returns: (transfer none): the file name extension, without the dot
 */
const char *
reel_file_format_extension (ReelFileFormat format)
{
  return reel_file_format_to_string (format);
}

/**
 * reel_layout_kind_from_string:
 * @kind: (out): the layout
 * Returns: %TRUE if @name is a known layout
 */
gboolean
reel_layout_kind_from_string (const char *name, ReelLayoutKind *kind)
{
  if (g_strcmp0 (name, "grid") == 0) {
    *kind = REEL_LAYOUT_GRID;
    return TRUE;
  }
  return FALSE;
}

/**
 * reel_layout_kind_to_string:
 * Returns: (transfer none): the layout's name
 */
const char *
reel_layout_kind_to_string (ReelLayoutKind kind)
{
  return "grid";
}

/**
 * reel_output_spec_new:
 * Returns: (transfer full): an output spec
 */
ReelOutputSpec *
reel_output_spec_new (ReelOutputType type)
{
  ReelOutputSpec *spec = g_new0 (ReelOutputSpec, 1);
  spec->type = type;
  return spec;
}

/**
 * reel_output_spec_copy:
 * Returns: (transfer full): a deep copy
 */
ReelOutputSpec *
reel_output_spec_copy (const ReelOutputSpec *spec)
{
  ReelOutputSpec *c = g_memdup2 (spec, sizeof *spec);
  c->url = g_strdup (spec->url);
  return c;
}

void
reel_output_spec_free (ReelOutputSpec *spec)
{
  if (spec == NULL)
    return;
  g_free (spec->url);
  g_free (spec);
}

/**
 * reel_recording_spec_new:
 * Returns: (transfer full): a spec with an empty output list and no room
 */
ReelRecordingSpec *
reel_recording_spec_new (void)
{
  ReelRecordingSpec *spec = g_new0 (ReelRecordingSpec, 1);
  spec->outputs = g_ptr_array_new_with_free_func ((GDestroyNotify) reel_output_spec_free);
  return spec;
}

void
reel_recording_spec_free (ReelRecordingSpec *spec)
{
  if (spec == NULL)
    return;
  g_clear_pointer (&spec->room, reel_room_spec_free);
  g_clear_pointer (&spec->outputs, g_ptr_array_unref);
  g_free (spec);
}

/**
 * reel_redact_stream_url:
 * @url: (nullable): an RTMP URL
 * Returns: (transfer full): the URL without its stream key
 */
char *
reel_redact_stream_url (const char *url)
{
  if (url == NULL)
    return NULL;
  const char *scheme_end = strstr (url, "://");
  if (scheme_end == NULL)
    return g_strdup (url);
  /* the path ends at the query or fragment: a key there goes too, and a '/' there
   * must not be taken for the last path separator */
  const char *end = scheme_end + 3 + strcspn (scheme_end + 3, "?#");
  const char *path = memchr (scheme_end + 3, '/', (gsize) (end - (scheme_end + 3)));
  const char *last = path ? g_strrstr_len (path, end - path, "/") : NULL;
  if (path == NULL || last == path) /* no path, or only an application name: keep it */
    return g_strndup (url, (gsize) (end - url));
  return g_strdup_printf ("%.*s/***", (int) (last - url), url);
}

/* scheme://host[:port]/path of @url: no user info, query or fragment. */
static char *
url_without_secrets (const char *url)
{
  g_autoptr (GUri) uri = g_uri_parse (url, G_URI_FLAGS_NONE, NULL);
  if (uri == NULL)
    return NULL;
  return g_uri_join (G_URI_FLAGS_NONE, g_uri_get_scheme (uri), NULL, g_uri_get_host (uri),
                     g_uri_get_port (uri), g_uri_get_path (uri), NULL, NULL);
}

/**
 * reel_recording_spec_room_label:
 * Returns: (transfer full): "provider:address#room", without secrets
 */
char *
reel_recording_spec_room_label (const ReelRecordingSpec *spec)
{
  GString *label = g_string_new (reel_provider_to_string (spec->room->provider));
  JsonNode *node = spec->room->public_json;
  JsonObject *room = node != NULL && JSON_NODE_HOLDS_OBJECT (node) ? json_node_get_object (node) : NULL;
  if (room == NULL)
    return g_string_free (label, FALSE);
  const char *sep = ":";
  /* the address: the SFU's URL, or the app for a hosted service */
  static const char *const addresses[] = { "url", "app_id" };
  for (gsize i = 0; i < G_N_ELEMENTS (addresses); i++) {
    JsonNode *member = json_object_get_member (room, addresses[i]);
    if (member == NULL || !JSON_NODE_HOLDS_VALUE (member) ||
        json_node_get_value_type (member) != G_TYPE_STRING)
      continue;
    g_autofree char *value = g_str_equal (addresses[i], "url")
                                 ? url_without_secrets (json_node_get_string (member))
                                 : g_strdup (json_node_get_string (member));
    if (value != NULL) {
      g_string_append_printf (label, "%s%s", sep, value);
      sep = "#";
    }
  }
  JsonNode *number = json_object_get_member (room, "room");
  if (number != NULL && JSON_NODE_HOLDS_VALUE (number)) {
    GType type = json_node_get_value_type (number);
    if (type == G_TYPE_INT64)
      g_string_append_printf (label, "%s%" G_GINT64_FORMAT, sep, json_node_get_int (number));
    else if (type == G_TYPE_STRING)
      g_string_append_printf (label, "%s%s", sep, json_node_get_string (number));
  }
  return g_string_free (label, FALSE);
}

ReelRecordingPatch *
reel_recording_patch_new (void)
{
  ReelRecordingPatch *patch = g_new0 (ReelRecordingPatch, 1);
  patch->layout = REEL_LAYOUT_GRID;
  patch->add_outputs = g_ptr_array_new_with_free_func ((GDestroyNotify) reel_output_spec_free);
  patch->remove_outputs = g_ptr_array_new_with_free_func (g_free);
  return patch;
}

/**
 * reel_recording_patch_free:
 * @patch: (nullable) (transfer full): a patch
 */
void
reel_recording_patch_free (ReelRecordingPatch *patch)
{
  if (patch == NULL)
    return;
  g_clear_pointer (&patch->add_outputs, g_ptr_array_unref);
  g_clear_pointer (&patch->remove_outputs, g_ptr_array_unref);
  g_clear_pointer (&patch->tracks, g_ptr_array_unref);
  g_free (patch);
}
