/* reel-store-recordings.c: recording rows ↔ ReelRecording.
 *
 * A stored recording is what its API object shows: the room as shown (secrets
 * removed), layout, video and max_duration_s as JSON in `spec`, outputs (RTMP URLs
 * with the stream key redacted) and artifacts in their own rows. A recording loaded
 * back is for showing, never for running again: nothing secret is kept.
 */
#include "jobs/reel-store-private.h"

#include "base/reel-error.h"
#include "base/reel-json.h"

/* ---------- saving ---------- */

/* The members of the recording object that describe the request. */
static char *
spec_text (ReelRecording *rec)
{
  static const char *const members[] = { "room", "layout", "video", "max_duration_s", NULL };
  g_autoptr (JsonNode) full = reel_recording_to_json (rec);
  JsonObject *src = json_node_get_object (full);
  g_autoptr (JsonObject) dst = json_object_new ();
  for (guint i = 0; members[i] != NULL; i++) {
    JsonNode *n = json_object_get_member (src, members[i]);
    if (n != NULL)
      json_object_set_member (dst, members[i], json_node_copy (n));
  }
  g_autoptr (JsonNode) root = json_node_init_object (json_node_alloc (), dst);
  return reel_json_to_string (root);
}

static gboolean
upsert_recording (ReelStore *self, ReelRecording *rec, GError **error)
{
  g_autofree char *spec = spec_text (rec);
  g_autoptr (sqlite3_stmt) stmt = reel_store_prepare (self,
      "INSERT INTO recordings (id, schedule_id, state, created_at, started_at, ended_at, error_code, "
      "error_message, spec, next_output_index, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, "
      "?10, ?11) ON CONFLICT (id) DO UPDATE SET schedule_id = ?2, state = ?3, started_at = ?5, "
      "ended_at = ?6, error_code = ?7, error_message = ?8, spec = ?9, next_output_index = ?10, "
      "updated_at = ?11", error);
  if (stmt == NULL)
    return FALSE;
  reel_store_bind_text (stmt, 1, rec->id);
  reel_store_bind_text (stmt, 2, rec->schedule_id);
  reel_store_bind_text (stmt, 3, reel_recording_state_to_string (rec->state));
  sqlite3_bind_int64 (stmt, 4, rec->created_at);
  sqlite3_bind_int64 (stmt, 5, rec->started_at);
  sqlite3_bind_int64 (stmt, 6, rec->ended_at);
  reel_store_bind_text (stmt, 7, rec->error_code);
  reel_store_bind_text (stmt, 8, rec->error_message);
  reel_store_bind_text (stmt, 9, spec);
  sqlite3_bind_int (stmt, 10, (int) rec->next_output_index);
  sqlite3_bind_int64 (stmt, 11, g_get_real_time ());
  return reel_store_step_done (self, stmt, "saving a recording", error);
}

static gboolean
delete_children (ReelStore *self, const char *table, const char *id, GError **error)
{
  g_autofree char *sql = g_strdup_printf ("DELETE FROM %s WHERE recording_id = ?", table);
  g_autoptr (sqlite3_stmt) stmt = reel_store_prepare (self, sql, error);
  if (stmt == NULL)
    return FALSE;
  reel_store_bind_text (stmt, 1, id);
  return reel_store_step_done (self, stmt, table, error);
}

static gboolean
insert_output (ReelStore *self, sqlite3_stmt *stmt, ReelRecording *rec, guint position,
               ReelRecordingOutput *out, GError **error)
{
  g_autofree char *url = reel_redact_stream_url (out->spec->url);
  sqlite3_reset (stmt);
  reel_store_bind_text (stmt, 1, rec->id);
  reel_store_bind_text (stmt, 2, out->id);
  sqlite3_bind_int (stmt, 3, (int) position);
  reel_store_bind_text (stmt, 4, reel_output_type_to_string (out->spec->type));
  reel_store_bind_text (stmt, 5, out->spec->type == REEL_OUTPUT_FILE
                                 ? reel_file_format_to_string (out->spec->format) : NULL);
  reel_store_bind_text (stmt, 6, url);
  reel_store_bind_text (stmt, 7, out->path);
  reel_store_bind_text (stmt, 8, reel_output_state_to_string (out->state));
  sqlite3_bind_int64 (stmt, 9, MAX (out->bytes, 0));
  sqlite3_bind_int (stmt, 10, (int) out->retries);
  reel_store_bind_text (stmt, 11, out->error_code);
  reel_store_bind_text (stmt, 12, out->error_message);
  return reel_store_step_done (self, stmt, "saving an output", error);
}

static gboolean
save_outputs (ReelStore *self, ReelRecording *rec, GError **error)
{
  if (!delete_children (self, "outputs", rec->id, error))
    return FALSE;
  g_autoptr (sqlite3_stmt) stmt = reel_store_prepare (self,
      "INSERT INTO outputs (recording_id, output_id, position, type, format, url, path, state, bytes, "
      "retries, error_code, error_message) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", error);
  if (stmt == NULL)
    return FALSE;
  for (guint i = 0; i < rec->outputs->len; i++)
    if (!insert_output (self, stmt, rec, i, g_ptr_array_index (rec->outputs, i), error))
      return FALSE;
  return TRUE;
}

static gboolean
save_artifacts (ReelStore *self, ReelRecording *rec, GError **error)
{
  if (!delete_children (self, "artifacts", rec->id, error))
    return FALSE;
  g_autoptr (sqlite3_stmt) stmt = reel_store_prepare (self,
      "INSERT OR REPLACE INTO artifacts (recording_id, output_id, path, bytes, duration_s) "
      "VALUES (?, ?, ?, ?, ?)", error);
  if (stmt == NULL)
    return FALSE;
  for (guint i = 0; i < rec->artifacts->len; i++) {
    ReelRecordingArtifact *a = g_ptr_array_index (rec->artifacts, i);
    sqlite3_reset (stmt);
    reel_store_bind_text (stmt, 1, rec->id);
    reel_store_bind_text (stmt, 2, a->output_id);
    reel_store_bind_text (stmt, 3, a->path);
    sqlite3_bind_int64 (stmt, 4, a->bytes);
    sqlite3_bind_double (stmt, 5, a->duration_s);
    if (!reel_store_step_done (self, stmt, "saving an artifact", error))
      return FALSE;
  }
  return TRUE;
}

/**
 * reel_store_save_recording:
 * @event: (nullable): a webhook event to queue with this change
 * @output_id: (nullable): the output the event is about
 * Returns: %TRUE once committed
 */
gboolean
reel_store_save_recording (ReelStore *self, ReelRecording *rec, const char *event,
                           const char *output_id, GError **error)
{
  if (!reel_store_begin (self, error))
    return FALSE;
  if (!upsert_recording (self, rec, error) || !save_outputs (self, rec, error) ||
      !save_artifacts (self, rec, error) ||
      (event != NULL && !reel_store_queue_event (self, rec, event, output_id, error))) {
    reel_store_rollback (self);
    return FALSE;
  }
  if (!reel_store_commit (self, error))
    return FALSE;
  if (event != NULL)
    reel_store_notify_outbox (self);
  return TRUE;
}

/* ---------- loading ---------- */

static guint
int_member (JsonObject *obj, const char *name, guint fallback)
{
  gint64 v = json_object_get_int_member_with_default (obj, name, fallback);
  return v > 0 && v <= G_MAXUINT ? (guint) v : fallback;
}

/* A spec good for showing: the room as shown, layout, video, max_duration_s. */
static ReelRecordingSpec *
spec_from_text (const char *text)
{
  g_autoptr (ReelRecordingSpec) spec = reel_recording_spec_new ();
  g_autoptr (JsonNode) root = json_from_string (text, NULL);
  JsonObject *obj = root && JSON_NODE_HOLDS_OBJECT (root) ? json_node_get_object (root) : NULL;
  JsonNode *room = obj ? json_object_get_member (obj, "room") : NULL;
  ReelProvider provider = REEL_PROVIDER_SYNTHETIC;
  if (room != NULL && JSON_NODE_HOLDS_OBJECT (room))
    reel_provider_from_string (json_object_get_string_member_with_default (
                                 json_node_get_object (room), "provider", ""), &provider);
  spec->room = reel_room_spec_new (provider);
  spec->room->public_json = room ? json_node_copy (room) : json_node_new (JSON_NODE_NULL);
  JsonNode *video = obj ? json_object_get_member (obj, "video") : NULL;
  JsonObject *v = video && JSON_NODE_HOLDS_OBJECT (video) ? json_node_get_object (video) : NULL;
  spec->width = v ? int_member (v, "width", 0) : 0;
  spec->height = v ? int_member (v, "height", 0) : 0;
  spec->framerate = v ? int_member (v, "framerate", 0) : 0;
  spec->bitrate_kbps = v ? int_member (v, "bitrate_kbps", 0) : 0;
  if (obj != NULL)
    reel_layout_kind_from_string (json_object_get_string_member_with_default (obj, "layout", "grid"),
                                  &spec->layout);
  spec->max_duration_s = obj ? (guint64) MAX (json_object_get_int_member_with_default (obj,
                                                "max_duration_s", 0), 0) : 0;
  return g_steal_pointer (&spec);
}

static ReelOutputSpec *
output_spec_from_row (sqlite3_stmt *stmt)
{
  gboolean rtmp = g_strcmp0 (reel_store_column_text (stmt, 2), "rtmp") == 0;
  ReelOutputSpec *spec = reel_output_spec_new (rtmp ? REEL_OUTPUT_RTMP : REEL_OUTPUT_FILE);
  if (rtmp)
    spec->url = g_strdup (reel_store_column_text (stmt, 4));
  else if (g_strcmp0 (reel_store_column_text (stmt, 3), "mkv") == 0)
    spec->format = REEL_FILE_FORMAT_MKV;
  return spec;
}

static gboolean
load_outputs (ReelStore *self, ReelRecording *rec, GError **error)
{
  g_autoptr (sqlite3_stmt) stmt = reel_store_prepare (self,
      "SELECT output_id, position, type, format, url, path, state, bytes, retries, error_code, "
      "error_message FROM outputs WHERE recording_id = ? ORDER BY position", error);
  if (stmt == NULL)
    return FALSE;
  reel_store_bind_text (stmt, 1, rec->id);
  int rc;
  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW) {
    ReelOutputSpec *spec = output_spec_from_row (stmt);
    g_ptr_array_add (rec->spec->outputs, reel_output_spec_copy (spec));
    ReelRecordingOutput *out = reel_recording_add_output (rec, spec);
    g_free (out->id);
    out->id = g_strdup (reel_store_column_text (stmt, 0));
    out->path = g_strdup (reel_store_column_text (stmt, 5));
    if (!reel_output_state_from_string (reel_store_column_text (stmt, 6), &out->state))
      out->state = REEL_OUTPUT_STATE_FAILED;
    out->bytes = sqlite3_column_int64 (stmt, 7);
    out->retries = (guint) MAX (sqlite3_column_int (stmt, 8), 0);
    out->error_code = g_strdup (reel_store_column_text (stmt, 9));
    out->error_message = g_strdup (reel_store_column_text (stmt, 10));
  }
  return rc == SQLITE_DONE || reel_store_fail (self, "loading outputs", error);
}

static gboolean
load_artifacts (ReelStore *self, ReelRecording *rec, GError **error)
{
  g_autoptr (sqlite3_stmt) stmt = reel_store_prepare (self,
      "SELECT output_id, path, bytes, duration_s FROM artifacts WHERE recording_id = ? "
      "ORDER BY output_id", error);
  if (stmt == NULL)
    return FALSE;
  reel_store_bind_text (stmt, 1, rec->id);
  int rc;
  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
    reel_recording_add_artifact (rec, reel_store_column_text (stmt, 0), reel_store_column_text (stmt, 1),
                                 sqlite3_column_int64 (stmt, 2), sqlite3_column_double (stmt, 3));
  return rc == SQLITE_DONE || reel_store_fail (self, "loading artifacts", error);
}

/* Row columns: id, schedule_id, state, created_at, started_at, ended_at, error_code,
 * error_message, spec, next_output_index. */
static ReelRecording *
recording_from_row (sqlite3_stmt *stmt)
{
  ReelRecording *rec = reel_recording_new (reel_store_column_text (stmt, 0),
                                           spec_from_text (reel_store_column_text (stmt, 8) ?: "{}"));
  rec->schedule_id = g_strdup (reel_store_column_text (stmt, 1));
  if (!reel_recording_state_from_string (reel_store_column_text (stmt, 2), &rec->state))
    rec->state = REEL_RECORDING_FAILED;
  rec->created_at = sqlite3_column_int64 (stmt, 3);
  rec->started_at = sqlite3_column_int64 (stmt, 4);
  rec->ended_at = sqlite3_column_int64 (stmt, 5);
  rec->error_code = g_strdup (reel_store_column_text (stmt, 6));
  rec->error_message = g_strdup (reel_store_column_text (stmt, 7));
  return rec;
}

/**
 * reel_store_load_recordings:
 * Returns: (transfer full) (element-type ReelRecording) (nullable): oldest first
 */
GPtrArray *
reel_store_load_recordings (ReelStore *self, GError **error)
{
  g_autoptr (GPtrArray) list = g_ptr_array_new_with_free_func ((GDestroyNotify) reel_recording_unref);
  g_autoptr (sqlite3_stmt) stmt = reel_store_prepare (self,
      "SELECT id, schedule_id, state, created_at, started_at, ended_at, error_code, error_message, "
      "spec, next_output_index FROM recordings ORDER BY created_at, rowid", error);
  if (stmt == NULL)
    return NULL;
  int rc;
  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW) {
    g_autoptr (ReelRecording) rec = recording_from_row (stmt);
    if (!load_outputs (self, rec, error) || !load_artifacts (self, rec, error))
      return NULL;
    rec->next_output_index = MAX ((guint) MAX (sqlite3_column_int (stmt, 9), 0), rec->outputs->len);
    g_ptr_array_add (list, g_steal_pointer (&rec));
  }
  if (rc != SQLITE_DONE) {
    reel_store_fail (self, "loading recordings", error);
    return NULL;
  }
  return g_steal_pointer (&list);
}
