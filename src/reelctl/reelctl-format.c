/* reelctl-format.c: tables for people; --json is for scripts. Missing fields print
 * as "-": the CLI must keep working when the API grows. */
#include "reelctl/reelctl-format.h"

#include <stdio.h>

static const char *
str_member (JsonObject *o, const char *name)
{
  JsonNode *n = o != NULL ? json_object_get_member (o, name) : NULL;
  if (n == NULL || JSON_NODE_TYPE (n) != JSON_NODE_VALUE || json_node_get_value_type (n) != G_TYPE_STRING)
    return "-";
  return json_node_get_string (n);
}

static JsonArray *
array_member (JsonObject *o, const char *name)
{
  JsonNode *n = o != NULL ? json_object_get_member (o, name) : NULL;
  return n != NULL && JSON_NODE_HOLDS_ARRAY (n) ? json_node_get_array (n) : NULL;
}

static JsonObject *
object_at (JsonArray *a, guint i)
{
  JsonNode *n = json_array_get_element (a, i);
  return JSON_NODE_HOLDS_OBJECT (n) ? json_node_get_object (n) : NULL;
}

static char *
human_bytes (gint64 bytes)
{
  return bytes < 0 ? g_strdup ("-") : g_format_size_full ((guint64) bytes, G_FORMAT_SIZE_DEFAULT);
}

/* "mp4 writing 1.2 MB" / "rtmp failed" */
static char *
output_summary (JsonObject *out)
{
  const char *kind = str_member (out, "format");
  if (g_str_equal (kind, "-"))
    kind = str_member (out, "type");
  gint64 bytes = json_object_has_member (out, "bytes") ? json_object_get_int_member (out, "bytes") : -1;
  g_autofree char *size = human_bytes (bytes);
  return g_strdup_printf ("%s %s %s", kind, str_member (out, "state"), size);
}

static char *
outputs_summary (JsonObject *rec)
{
  JsonArray *outs = array_member (rec, "outputs");
  g_autoptr (GString) s = g_string_new (NULL);
  for (guint i = 0; outs != NULL && i < json_array_get_length (outs); i++) {
    g_autofree char *one = output_summary (object_at (outs, i));
    g_string_append_printf (s, "%s%s", i > 0 ? ", " : "", one);
  }
  return g_strdup (s->len > 0 ? s->str : "-");
}

/* Prints @rows (GStrv each, the first one the header) with aligned columns. */
static void
print_table (GPtrArray *rows, guint n_cols)
{
  g_autofree gsize *width = g_new0 (gsize, n_cols);
  for (guint r = 0; r < rows->len; r++) {
    char **row = g_ptr_array_index (rows, r);
    for (guint c = 0; c < n_cols; c++)
      width[c] = MAX (width[c], (gsize) g_utf8_strlen (row[c], -1));
  }
  for (guint r = 0; r < rows->len; r++) {
    char **row = g_ptr_array_index (rows, r);
    for (guint c = 0; c < n_cols; c++) {
      gboolean last = c + 1 == n_cols;
      printf ("%s%*s", row[c], last ? 0 : (int) (width[c] - (gsize) g_utf8_strlen (row[c], -1) + 2), "");
    }
    printf ("\n");
  }
}

static JsonArray *
list_of (JsonNode *answer, const char *name)
{
  return JSON_NODE_HOLDS_OBJECT (answer) ? array_member (json_node_get_object (answer), name) : NULL;
}

/**
 * reelctl_print_recordings:
 * @answer: (transfer none): the GET /v1/recordings answer
 */
void
reelctl_print_recordings (JsonNode *answer)
{
  JsonArray *list = list_of (answer, "recordings");
  g_autoptr (GPtrArray) rows = g_ptr_array_new_with_free_func ((GDestroyNotify) g_strfreev);
  g_ptr_array_add (rows, g_strdupv ((char *[]) { "ID", "STATE", "CREATED", "PARTICIPANTS", "OUTPUTS", NULL }));
  for (guint i = 0; list != NULL && i < json_array_get_length (list); i++) {
    JsonObject *rec = object_at (list, i);
    JsonArray *ps = array_member (rec, "participants");
    char **row = g_new0 (char *, 6);
    row[0] = g_strdup (str_member (rec, "id"));
    row[1] = g_strdup (str_member (rec, "state"));
    row[2] = g_strdup (str_member (rec, "created_at"));
    row[3] = g_strdup_printf ("%u", ps != NULL ? json_array_get_length (ps) : 0);
    row[4] = outputs_summary (rec);
    g_ptr_array_add (rows, row);
  }
  print_table (rows, 5);
}

static void
print_participants (JsonObject *rec)
{
  JsonArray *ps = array_member (rec, "participants");
  for (guint i = 0; ps != NULL && i < json_array_get_length (ps); i++) {
    JsonObject *p = object_at (ps, i);
    JsonArray *tracks = array_member (p, "tracks");
    g_autoptr (GString) t = g_string_new (NULL);
    for (guint j = 0; tracks != NULL && j < json_array_get_length (tracks); j++)
      g_string_append_printf (t, "%s%s:%s", j > 0 ? " " : "", str_member (object_at (tracks, j), "kind"),
                              str_member (object_at (tracks, j), "state"));
    printf ("  participant   %s  %s\n", str_member (p, "name"), t->str);
  }
}

/**
 * reelctl_print_recording:
 * @recording: (transfer none): one recording object
 */
void
reelctl_print_recording (JsonNode *recording)
{
  JsonObject *rec = JSON_NODE_HOLDS_OBJECT (recording) ? json_node_get_object (recording) : NULL;
  static const char *const fields[] = { "id", "state", "created_at", "started_at", "ended_at", "schedule_id" };
  for (gsize i = 0; i < G_N_ELEMENTS (fields); i++)
    printf ("%-14s%s\n", fields[i], str_member (rec, fields[i]));
  JsonNode *err = rec != NULL ? json_object_get_member (rec, "error") : NULL;
  if (err != NULL && JSON_NODE_HOLDS_OBJECT (err))
    printf ("%-14s%s: %s\n", "error", str_member (json_node_get_object (err), "code"),
            str_member (json_node_get_object (err), "message"));
  print_participants (rec);
  JsonArray *outs = array_member (rec, "outputs");
  for (guint i = 0; outs != NULL && i < json_array_get_length (outs); i++) {
    JsonObject *o = object_at (outs, i);
    g_autofree char *summary = output_summary (o);
    const char *where = str_member (o, "path");
    printf ("  output %-6s %s  %s\n", str_member (o, "id"), summary,
            g_str_equal (where, "-") ? str_member (o, "url") : where);
  }
}

/**
 * reelctl_print_schedules:
 * @answer: (transfer none): the GET /v1/schedules answer
 */
void
reelctl_print_schedules (JsonNode *answer)
{
  JsonArray *list = list_of (answer, "schedules");
  g_autoptr (GPtrArray) rows = g_ptr_array_new_with_free_func ((GDestroyNotify) g_strfreev);
  g_ptr_array_add (rows, g_strdupv ((char *[]) { "ID", "STATE", "START", "DURATION", "RRULE", "NEXT", NULL }));
  for (guint i = 0; list != NULL && i < json_array_get_length (list); i++) {
    JsonObject *s = object_at (list, i);
    char **row = g_new0 (char *, 7);
    row[0] = g_strdup (str_member (s, "id"));
    row[1] = g_strdup (str_member (s, "state"));
    row[2] = g_strdup (str_member (s, "start_at"));
    row[3] = g_strdup_printf ("%" G_GINT64_FORMAT "s", json_object_has_member (s, "duration_s")
                                                     ? json_object_get_int_member (s, "duration_s") : 0);
    row[4] = g_strdup (str_member (s, "rrule"));
    row[5] = g_strdup (str_member (s, "next_start_at"));
    g_ptr_array_add (rows, row);
  }
  print_table (rows, 6);
}

/**
 * reelctl_print_schedule:
 * @schedule: (transfer none): one schedule object
 */
void
reelctl_print_schedule (JsonNode *schedule)
{
  JsonObject *s = JSON_NODE_HOLDS_OBJECT (schedule) ? json_node_get_object (schedule) : NULL;
  static const char *const fields[] = { "id", "state", "start_at", "stop_at", "rrule", "timezone",
                                        "next_start_at" };
  for (gsize i = 0; i < G_N_ELEMENTS (fields); i++)
    printf ("%-14s%s\n", fields[i], str_member (s, fields[i]));
}

/**
 * reelctl_print_json:
 * @node: (transfer none): any JSON
 */
void
reelctl_print_json (JsonNode *node)
{
  g_autoptr (JsonGenerator) gen = json_generator_new ();
  json_generator_set_pretty (gen, TRUE);
  json_generator_set_root (gen, node);
  g_autofree char *text = json_generator_to_data (gen, NULL);
  printf ("%s\n", text);
}
