/* reelctl-body.c: options → JSON bodies. Values are passed through as given: reeld
 * validates (and names the field in its 400), so the CLI cannot drift from the API. */
#include "reelctl/reelctl-body.h"

#include <json-glib/json-glib.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static gboolean G_GNUC_PRINTF (2, 3)
usage_error (GError **error, const char *format, ...)
{
  va_list args;
  va_start (args, format);
  g_autofree char *message = g_strdup_vprintf (format, args);
  va_end (args);
  g_set_error_literal (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE, message);
  return FALSE;
}

/* JSON text from "-" (stdin), "@FILE" or the argument itself. */
static JsonNode *
parse_json_arg (const char *option, const char *arg, GError **error)
{
  g_autofree char *text = NULL;
  g_autoptr (GError) local = NULL;
  if (g_str_equal (arg, "-")) {
    g_autoptr (GIOChannel) in = g_io_channel_unix_new (0);
    if (g_io_channel_read_to_end (in, &text, NULL, &local) != G_IO_STATUS_NORMAL)
      text = NULL;
  } else if (arg[0] == '@') {
    g_file_get_contents (arg + 1, &text, NULL, &local);
  } else {
    text = g_strdup (arg);
  }
  JsonNode *node = text != NULL ? json_from_string (text, &local) : NULL;
  if (node == NULL)
    g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE, "%s: %s", option,
                 local != NULL ? local->message : "empty");
  return node;
}

/* NAME:#RRGGBB:TONE_HZ[:JOIN_S[:LEAVE_S]] → a synthetic participant. */
static JsonNode *
parse_participant (const char *arg, GError **error)
{
  g_auto (GStrv) f = g_strsplit (arg, ":", -1);
  guint n = g_strv_length (f);
  guint64 v[3] = { 0 };
  if (n < 3 || n > 5 || f[0][0] == '\0') {
    usage_error (error, "--participant %s: expected NAME:#RRGGBB:TONE_HZ[:JOIN_S[:LEAVE_S]]", arg);
    return NULL;
  }
  for (guint i = 2; i < n; i++) {
    if (!g_ascii_string_to_unsigned (f[i], 10, 0, G_MAXINT32, &v[i - 2], NULL)) {
      usage_error (error, "--participant %s: tone and times are whole numbers", arg);
      return NULL;
    }
  }
  g_autoptr (JsonBuilder) b = json_builder_new ();
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "name");
  json_builder_add_string_value (b, f[0]);
  json_builder_set_member_name (b, "color");
  json_builder_add_string_value (b, f[1]);
  static const char *const numbers[] = { "tone_hz", "join_at_s", "leave_at_s" };
  for (guint i = 2; i < n; i++) {
    json_builder_set_member_name (b, numbers[i - 2]);
    json_builder_add_int_value (b, (gint64) v[i - 2]);
  }
  json_builder_end_object (b);
  return json_builder_get_root (b);
}

static JsonNode *
parse_output (const char *arg, GError **error)
{
  const char *format = g_str_has_prefix (arg, "file:") ? arg + 5 : arg;
  JsonObject *o = json_object_new ();
  if (g_str_has_prefix (arg, "rtmp://") || g_str_has_prefix (arg, "rtmps://")) {
    json_object_set_string_member (o, "type", "rtmp");
    json_object_set_string_member (o, "url", arg);
  } else if (format[0] != '\0' && strchr (format, ':') == NULL && strchr (format, '/') == NULL) {
    json_object_set_string_member (o, "type", "file");
    json_object_set_string_member (o, "format", format);
  } else {
    json_object_unref (o);
    usage_error (error, "--output %s: expected mp4, mkv, file:FORMAT or an rtmp(s):// URL", arg);
    return NULL;
  }
  JsonNode *node = json_node_new (JSON_NODE_OBJECT);
  json_node_take_object (node, o);
  return node;
}

static JsonNode *
build_room (const ReelctlBodyOptions *opts, GError **error)
{
  if (opts->room != NULL && opts->participants != NULL) {
    usage_error (error, "%s", "--room and --participant do not go together");
    return NULL;
  }
  if (opts->room != NULL)
    return parse_json_arg ("--room", opts->room, error);
  if (opts->participants == NULL) {
    usage_error (error, "%s", "no room: give --room, --participant or --body");
    return NULL;
  }
  JsonArray *ps = json_array_new ();
  for (char **p = opts->participants; *p != NULL; p++) {
    JsonNode *one = parse_participant (*p, error);
    if (one == NULL) {
      json_array_unref (ps);
      return NULL;
    }
    json_array_add_element (ps, one);
  }
  JsonObject *room = json_object_new ();
  json_object_set_string_member (room, "provider", "synthetic");
  json_object_set_array_member (room, "participants", ps);
  JsonNode *node = json_node_new (JSON_NODE_OBJECT);
  json_node_take_object (node, room);
  return node;
}

static JsonArray *
build_outputs (const ReelctlBodyOptions *opts, GError **error)
{
  JsonArray *outs = json_array_new ();
  if (opts->outputs == NULL) {
    JsonNode *mp4 = parse_output ("mp4", NULL);
    json_array_add_element (outs, mp4);
  }
  for (char **o = opts->outputs; o != NULL && *o != NULL; o++) {
    JsonNode *one = parse_output (*o, error);
    if (one == NULL) {
      json_array_unref (outs);
      return NULL;
    }
    json_array_add_element (outs, one);
  }
  return outs;
}

static JsonNode *
recording_node (const ReelctlBodyOptions *opts, GError **error)
{
  if (opts->body != NULL)
    return parse_json_arg ("--body", opts->body, error);
  JsonNode *room = build_room (opts, error);
  if (room == NULL)
    return NULL;
  JsonArray *outs = build_outputs (opts, error);
  if (outs == NULL) {
    json_node_unref (room);
    return NULL;
  }
  JsonObject *o = json_object_new ();
  json_object_set_member (o, "room", room);
  if (opts->layout != NULL)
    json_object_set_string_member (o, "layout", opts->layout);
  json_object_set_array_member (o, "outputs", outs);
  if (opts->max_duration > 0)
    json_object_set_int_member (o, "max_duration_s", opts->max_duration);
  JsonNode *node = json_node_new (JSON_NODE_OBJECT);
  json_node_take_object (node, o);
  return node;
}

/**
 * reelctl_recording_body:
 * Returns: (transfer full) (nullable): JSON text
 */
char *
reelctl_recording_body (const ReelctlBodyOptions *opts, GError **error)
{
  g_autoptr (JsonNode) node = recording_node (opts, error);
  return node != NULL ? json_to_string (node, FALSE) : NULL;
}

/**
 * reelctl_schedule_body:
 * Returns: (transfer full) (nullable): JSON text
 */
char *
reelctl_schedule_body (const ReelctlBodyOptions *opts, GError **error)
{
  if (opts->start_at == NULL || opts->duration <= 0) {
    usage_error (error, "%s", "schedule needs --start-at and --duration");
    return NULL;
  }
  JsonNode *rec = recording_node (opts, error);
  if (rec == NULL)
    return NULL;
  g_autoptr (JsonNode) node = json_node_new (JSON_NODE_OBJECT);
  JsonObject *o = json_object_new ();
  json_object_set_string_member (o, "start_at", opts->start_at);
  json_object_set_int_member (o, "duration_s", opts->duration);
  if (opts->rrule != NULL)
    json_object_set_string_member (o, "rrule", opts->rrule);
  if (opts->timezone != NULL)
    json_object_set_string_member (o, "timezone", opts->timezone);
  json_object_set_member (o, "recording", rec);
  json_node_take_object (node, o);
  return json_to_string (node, FALSE);
}
