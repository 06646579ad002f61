/* reel-store.c: the SQLite database: opening, migrations, schedules, the outbox.
 * Recording rows are in reel-store-recordings.c.
 *
 * Durability: WAL with synchronous=NORMAL. A committed transaction survives a crash
 * or SIGKILL of reeld (the WAL is in the OS's hands); only a power loss may take
 * back the last transactions, which WAL keeps consistent.
 */
#include "jobs/reel-store-private.h"

#include <glib/gstdio.h>

#include "base/reel-error.h"
#include "base/reel-json.h"

#define BUSY_TIMEOUT_MS 5000

struct _ReelStore {
  GObject parent_instance;
  sqlite3 *db;
};

G_DEFINE_FINAL_TYPE (ReelStore, reel_store, G_TYPE_OBJECT)

enum { SIG_OUTBOX_ADDED, N_SIGNALS };
static guint signals[N_SIGNALS];

/* Schema versions: migrations[i] takes user_version i to i + 1. Append, never edit. */
static const char *const migrations[] = {
  /* 1: the first schema */
  "CREATE TABLE recordings ("
  "  id TEXT PRIMARY KEY,"
  "  schedule_id TEXT,"
  "  state TEXT NOT NULL,"
  "  created_at INTEGER NOT NULL,"
  "  started_at INTEGER NOT NULL DEFAULT 0,"
  "  ended_at INTEGER NOT NULL DEFAULT 0,"
  "  error_code TEXT,"
  "  error_message TEXT,"
  "  spec TEXT NOT NULL,"               /* room (public), layout, video, max_duration_s */
  "  next_output_index INTEGER NOT NULL DEFAULT 0,"
  "  updated_at INTEGER NOT NULL);"
  "CREATE INDEX recordings_state ON recordings (state);"
  "CREATE TABLE outputs ("
  "  recording_id TEXT NOT NULL REFERENCES recordings (id) ON DELETE CASCADE,"
  "  output_id TEXT NOT NULL,"
  "  position INTEGER NOT NULL,"
  "  type TEXT NOT NULL,"
  "  format TEXT,"
  "  url TEXT,"                         /* RTMP, stream key redacted */
  "  path TEXT,"
  "  state TEXT NOT NULL,"
  "  bytes INTEGER NOT NULL DEFAULT 0,"
  "  retries INTEGER NOT NULL DEFAULT 0,"
  "  error_code TEXT,"
  "  error_message TEXT,"
  "  PRIMARY KEY (recording_id, output_id));"
  "CREATE TABLE artifacts ("
  "  recording_id TEXT NOT NULL REFERENCES recordings (id) ON DELETE CASCADE,"
  "  output_id TEXT NOT NULL,"
  "  path TEXT NOT NULL,"
  "  bytes INTEGER NOT NULL,"
  "  duration_s REAL NOT NULL,"
  "  PRIMARY KEY (recording_id, output_id));"
  "CREATE TABLE schedules ("
  "  id TEXT PRIMARY KEY,"
  "  created_at INTEGER NOT NULL,"
  "  definition TEXT NOT NULL,"
  "  handled_until INTEGER NOT NULL,"
  "  completed INTEGER NOT NULL DEFAULT 0);"
  "CREATE TABLE occurrences ("
  "  schedule_id TEXT NOT NULL REFERENCES schedules (id) ON DELETE CASCADE,"
  "  start_at INTEGER NOT NULL,"
  "  handled_at INTEGER NOT NULL,"
  "  state TEXT NOT NULL,"
  "  recording_id TEXT,"
  "  error_code TEXT,"
  "  error_message TEXT,"
  "  PRIMARY KEY (schedule_id, start_at));"
  "CREATE TABLE outbox ("
  "  id INTEGER PRIMARY KEY AUTOINCREMENT,"
  "  event_id TEXT NOT NULL UNIQUE,"
  "  event TEXT NOT NULL,"
  "  recording_id TEXT,"
  "  payload TEXT NOT NULL,"
  "  created_at INTEGER NOT NULL,"
  "  attempts INTEGER NOT NULL DEFAULT 0,"
  "  next_attempt_at INTEGER NOT NULL,"
  "  last_error TEXT);"
  "CREATE INDEX outbox_due ON outbox (next_attempt_at, id);",
};

/* ---------- helpers shared with reel-store-recordings.c ---------- */

sqlite3 *
reel_store_db (ReelStore *self)
{
  return self->db;
}

gboolean
reel_store_fail (ReelStore *self, const char *what, GError **error)
{
  g_set_error (error, REEL_ERROR, REEL_ERROR_INTERNAL, "state db: %s: %s", what,
               self->db ? sqlite3_errmsg (self->db) : "not open");
  return FALSE;
}

sqlite3_stmt *
reel_store_prepare (ReelStore *self, const char *sql, GError **error)
{
  sqlite3_stmt *stmt = NULL;
  if (sqlite3_prepare_v2 (self->db, sql, -1, &stmt, NULL) != SQLITE_OK) {
    reel_store_fail (self, "prepare", error);
    sqlite3_finalize (stmt);
    return NULL;
  }
  return stmt;
}

gboolean
reel_store_step_done (ReelStore *self, sqlite3_stmt *stmt, const char *what, GError **error)
{
  int rc = sqlite3_step (stmt);
  if (rc != SQLITE_DONE && rc != SQLITE_ROW)
    return reel_store_fail (self, what, error);
  return TRUE;
}

static gboolean
exec (ReelStore *self, const char *sql, GError **error)
{
  if (sqlite3_exec (self->db, sql, NULL, NULL, NULL) != SQLITE_OK)
    return reel_store_fail (self, sql, error);
  return TRUE;
}

gboolean
reel_store_begin (ReelStore *self, GError **error)
{
  return exec (self, "BEGIN IMMEDIATE", error);
}

gboolean
reel_store_commit (ReelStore *self, GError **error)
{
  if (exec (self, "COMMIT", error))
    return TRUE;
  reel_store_rollback (self);
  return FALSE;
}

void
reel_store_rollback (ReelStore *self)
{
  if (!sqlite3_get_autocommit (self->db))
    sqlite3_exec (self->db, "ROLLBACK", NULL, NULL, NULL);
}

void
reel_store_bind_text (sqlite3_stmt *stmt, int index, const char *text)
{
  if (text != NULL)
    sqlite3_bind_text (stmt, index, text, -1, SQLITE_TRANSIENT);
  else
    sqlite3_bind_null (stmt, index);
}

const char *
reel_store_column_text (sqlite3_stmt *stmt, int col)
{
  return (const char *) sqlite3_column_text (stmt, col);
}

void
reel_store_notify_outbox (ReelStore *self)
{
  g_signal_emit (self, signals[SIG_OUTBOX_ADDED], 0);
}

/* ---------- opening ---------- */

static gint64
query_int (ReelStore *self, const char *sql, gint64 fallback)
{
  g_autoptr (sqlite3_stmt) stmt = reel_store_prepare (self, sql, NULL);
  if (stmt == NULL || sqlite3_step (stmt) != SQLITE_ROW)
    return fallback;
  return sqlite3_column_int64 (stmt, 0);
}

static gboolean
migrate (ReelStore *self, GError **error)
{
  gint64 version = query_int (self, "PRAGMA user_version", -1);
  if (version < 0)
    return reel_store_fail (self, "reading user_version", error);
  if (version > (gint64) G_N_ELEMENTS (migrations)) {
    g_set_error (error, REEL_ERROR, REEL_ERROR_INTERNAL,
                 "state db: schema version %" G_GINT64_FORMAT " is newer than this reeld knows (%u)",
                 version, (guint) G_N_ELEMENTS (migrations));
    return FALSE;
  }
  for (gsize v = (gsize) version; v < G_N_ELEMENTS (migrations); v++) {
    g_autofree char *bump = g_strdup_printf ("PRAGMA user_version = %" G_GSIZE_FORMAT, v + 1);
    if (!reel_store_begin (self, error))
      return FALSE;
    if (!exec (self, migrations[v], error) || !exec (self, bump, error)) {
      reel_store_rollback (self);
      return FALSE;
    }
    if (!reel_store_commit (self, error))
      return FALSE;
    g_message ("state db: schema migrated to version %" G_GSIZE_FORMAT, v + 1);
  }
  return TRUE;
}

static gboolean
configure (ReelStore *self, GError **error)
{
  sqlite3_busy_timeout (self->db, BUSY_TIMEOUT_MS);
  g_autoptr (sqlite3_stmt) wal = reel_store_prepare (self, "PRAGMA journal_mode = WAL", error);
  if (wal == NULL)
    return FALSE;
  if (sqlite3_step (wal) != SQLITE_ROW ||
      g_ascii_strcasecmp (reel_store_column_text (wal, 0) ?: "", "wal") != 0) {
    g_set_error (error, REEL_ERROR, REEL_ERROR_INTERNAL, "state db: cannot use the WAL journal");
    return FALSE;
  }
  return exec (self, "PRAGMA synchronous = NORMAL", error) &&
         exec (self, "PRAGMA foreign_keys = ON", error);
}

/**
 * reel_store_open:
 * @path: the database file
 * Returns: (transfer full) (nullable): the store
 */
ReelStore *
reel_store_open (const char *path, GError **error)
{
  g_autofree char *dir = g_path_get_dirname (path);
  if (g_mkdir_with_parents (dir, 0750) != 0) {
    g_set_error (error, REEL_ERROR, REEL_ERROR_INTERNAL, "state db: cannot create %s: %s", dir,
                 g_strerror (errno));
    return NULL;
  }
  g_autoptr (ReelStore) self = g_object_new (REEL_TYPE_STORE, NULL);
  if (sqlite3_open_v2 (path, &self->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL) != SQLITE_OK) {
    reel_store_fail (self, "open", error);
    return NULL;
  }
  /* a schedule keeps its recording body whole (room pins and secrets included): owner
   * only; SQLite gives the -wal and -shm files the database file's mode */
  if (g_chmod (path, 0600) != 0)
    g_warning ("state db: cannot make %s private: %s", path, g_strerror (errno));
  if (!configure (self, error) || !migrate (self, error))
    return NULL;
  return g_steal_pointer (&self);
}

/**
 * reel_store_get_schema_version:
 * Returns: PRAGMA user_version
 */
guint
reel_store_get_schema_version (ReelStore *self)
{
  return (guint) query_int (self, "PRAGMA user_version", 0);
}

/* ---------- schedules ---------- */

/**
 * reel_store_save_schedule:
 * Returns: %TRUE once written
 */
gboolean
reel_store_save_schedule (ReelStore *self, const ReelSchedule *s, GError **error)
{
  g_autofree char *definition = reel_schedule_definition_to_string (s);
  g_autoptr (sqlite3_stmt) stmt = reel_store_prepare (self,
      "INSERT INTO schedules (id, created_at, definition, handled_until, completed) "
      "VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (id) DO UPDATE SET definition = ?3, "
      "handled_until = ?4, completed = ?5", error);
  if (stmt == NULL)
    return FALSE;
  reel_store_bind_text (stmt, 1, s->id);
  sqlite3_bind_int64 (stmt, 2, s->created_at);
  reel_store_bind_text (stmt, 3, definition);
  sqlite3_bind_int64 (stmt, 4, s->handled_until);
  sqlite3_bind_int (stmt, 5, s->completed ? 1 : 0);
  return reel_store_step_done (self, stmt, "saving a schedule", error);
}

static gboolean
insert_occurrence (ReelStore *self, const char *schedule_id, const ReelOccurrence *o, GError **error)
{
  g_autoptr (sqlite3_stmt) stmt = reel_store_prepare (self,
      "INSERT OR REPLACE INTO occurrences (schedule_id, start_at, handled_at, state, recording_id, "
      "error_code, error_message) VALUES (?, ?, ?, ?, ?, ?, ?)", error);
  if (stmt == NULL)
    return FALSE;
  reel_store_bind_text (stmt, 1, schedule_id);
  sqlite3_bind_int64 (stmt, 2, o->start_at);
  sqlite3_bind_int64 (stmt, 3, o->handled_at);
  reel_store_bind_text (stmt, 4, reel_occurrence_state_to_string (o->state));
  reel_store_bind_text (stmt, 5, o->recording_id);
  reel_store_bind_text (stmt, 6, o->error_code);
  reel_store_bind_text (stmt, 7, o->error_message);
  return reel_store_step_done (self, stmt, "saving an occurrence", error);
}

static gboolean
update_progress (ReelStore *self, const ReelSchedule *s, GError **error)
{
  g_autoptr (sqlite3_stmt) stmt = reel_store_prepare (self,
      "UPDATE schedules SET handled_until = ?, completed = ? WHERE id = ?", error);
  if (stmt == NULL)
    return FALSE;
  sqlite3_bind_int64 (stmt, 1, s->handled_until);
  sqlite3_bind_int (stmt, 2, s->completed ? 1 : 0);
  reel_store_bind_text (stmt, 3, s->id);
  return reel_store_step_done (self, stmt, "saving schedule progress", error);
}

/**
 * reel_store_add_occurrence:
 * @occurrence: (nullable): what happened; %NULL saves the progress alone
 * Returns: %TRUE once both are written
 */
gboolean
reel_store_add_occurrence (ReelStore *self, const ReelSchedule *s, const ReelOccurrence *o,
                           GError **error)
{
  if (!reel_store_begin (self, error))
    return FALSE;
  if ((o != NULL && !insert_occurrence (self, s->id, o, error)) || !update_progress (self, s, error)) {
    reel_store_rollback (self);
    return FALSE;
  }
  return reel_store_commit (self, error);
}

/**
 * reel_store_delete_schedule:
 * Returns: %TRUE if it existed and is gone
 */
gboolean
reel_store_delete_schedule (ReelStore *self, const char *id, GError **error)
{
  g_autoptr (sqlite3_stmt) stmt = reel_store_prepare (self, "DELETE FROM schedules WHERE id = ?", error);
  if (stmt == NULL)
    return FALSE;
  reel_store_bind_text (stmt, 1, id);
  if (!reel_store_step_done (self, stmt, "deleting a schedule", error))
    return FALSE;
  if (sqlite3_changes (self->db) == 0) {
    g_set_error (error, REEL_ERROR, REEL_ERROR_NOT_FOUND, "no schedule %s", id);
    return FALSE;
  }
  return TRUE;
}

static gboolean
load_occurrences (ReelStore *self, ReelSchedule *s, guint keep, GError **error)
{
  g_autoptr (sqlite3_stmt) stmt = reel_store_prepare (self,
      "SELECT start_at, handled_at, state, recording_id, error_code, error_message FROM occurrences "
      "WHERE schedule_id = ? ORDER BY start_at DESC LIMIT ?", error);
  if (stmt == NULL)
    return FALSE;
  reel_store_bind_text (stmt, 1, s->id);
  sqlite3_bind_int (stmt, 2, (int) keep);
  int rc;
  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW) {
    ReelOccurrenceState state = REEL_OCCURRENCE_FAILED;
    reel_occurrence_state_from_string (reel_store_column_text (stmt, 2), &state);
    ReelOccurrence *o = reel_occurrence_new (sqlite3_column_int64 (stmt, 0), state);
    o->handled_at = sqlite3_column_int64 (stmt, 1);
    o->recording_id = g_strdup (reel_store_column_text (stmt, 3));
    o->error_code = g_strdup (reel_store_column_text (stmt, 4));
    o->error_message = g_strdup (reel_store_column_text (stmt, 5));
    g_ptr_array_add (s->occurrences, o);
  }
  return rc == SQLITE_DONE || reel_store_fail (self, "loading occurrences", error);
}

/**
 * reel_store_load_schedules:
 * Returns: (transfer full) (element-type ReelSchedule) (nullable): the schedules
 */
GPtrArray *
reel_store_load_schedules (ReelStore *self, guint keep_occurrences, GError **error)
{
  g_autoptr (GPtrArray) list = g_ptr_array_new_with_free_func ((GDestroyNotify) reel_schedule_unref);
  g_autoptr (sqlite3_stmt) stmt = reel_store_prepare (self,
      "SELECT id, created_at, definition, handled_until, completed FROM schedules "
      "ORDER BY created_at, rowid", error);
  if (stmt == NULL)
    return NULL;
  int rc;
  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW) {
    g_autoptr (ReelSchedule) s = reel_schedule_new ();
    g_autoptr (GError) bad = NULL;
    s->id = g_strdup (reel_store_column_text (stmt, 0));
    s->created_at = sqlite3_column_int64 (stmt, 1);
    s->handled_until = sqlite3_column_int64 (stmt, 3);
    s->completed = sqlite3_column_int (stmt, 4) != 0;
    if (!reel_schedule_definition_from_string (s, reel_store_column_text (stmt, 2) ?: "", &bad)) {
      g_warning ("schedule %s is skipped: %s", s->id, bad->message);
      continue;
    }
    if (!load_occurrences (self, s, keep_occurrences, error))
      return NULL;
    g_ptr_array_add (list, g_steal_pointer (&s));
  }
  if (rc != SQLITE_DONE) {
    reel_store_fail (self, "loading schedules", error);
    return NULL;
  }
  return g_steal_pointer (&list);
}

/* ---------- the outbox ---------- */

void
reel_outbox_event_free (ReelOutboxEvent *e)
{
  if (e == NULL)
    return;
  g_free (e->event_id);
  g_free (e->event);
  g_free (e->payload);
  g_free (e);
}

static char *
new_event_id (void)
{
  return g_strdup_printf ("evt_%08x%08x%04x", g_random_int (), g_random_int (),
                          g_random_int () & 0xffff);
}

static char *
event_payload (ReelRecording *rec, const char *event_id, const char *event, const char *output_id)
{
  g_autoptr (JsonBuilder) b = json_builder_new ();
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "id");
  json_builder_add_string_value (b, event_id);
  json_builder_set_member_name (b, "event");
  json_builder_add_string_value (b, event);
  if (output_id != NULL) {
    json_builder_set_member_name (b, "output_id");
    json_builder_add_string_value (b, output_id);
  }
  json_builder_set_member_name (b, "recording");
  json_builder_add_value (b, reel_recording_to_json (rec));
  json_builder_end_object (b);
  g_autoptr (JsonNode) root = json_builder_get_root (b);
  return reel_json_to_string (root);
}

gboolean
reel_store_queue_event (ReelStore *self, ReelRecording *rec, const char *event,
                        const char *output_id, GError **error)
{
  g_autofree char *event_id = new_event_id ();
  g_autofree char *payload = event_payload (rec, event_id, event, output_id);
  gint64 now = g_get_real_time ();
  g_autoptr (sqlite3_stmt) stmt = reel_store_prepare (self,
      "INSERT INTO outbox (event_id, event, recording_id, payload, created_at, next_attempt_at) "
      "VALUES (?, ?, ?, ?, ?, ?)", error);
  if (stmt == NULL)
    return FALSE;
  reel_store_bind_text (stmt, 1, event_id);
  reel_store_bind_text (stmt, 2, event);
  reel_store_bind_text (stmt, 3, rec->id);
  reel_store_bind_text (stmt, 4, payload);
  sqlite3_bind_int64 (stmt, 5, now);
  sqlite3_bind_int64 (stmt, 6, now);
  return reel_store_step_done (self, stmt, "queueing a webhook event", error);
}

/**
 * reel_store_outbox_due:
 * Returns: (transfer full) (element-type ReelOutboxEvent) (nullable): due events
 */
GPtrArray *
reel_store_outbox_due (ReelStore *self, gint64 now, guint max, GError **error)
{
  g_autoptr (GPtrArray) list = g_ptr_array_new_with_free_func ((GDestroyNotify) reel_outbox_event_free);
  g_autoptr (sqlite3_stmt) stmt = reel_store_prepare (self,
      "SELECT id, event_id, event, payload, attempts, created_at, next_attempt_at FROM outbox "
      "WHERE next_attempt_at <= ? ORDER BY id LIMIT ?", error);
  if (stmt == NULL)
    return NULL;
  sqlite3_bind_int64 (stmt, 1, now);
  sqlite3_bind_int (stmt, 2, (int) MIN (max, (guint) G_MAXINT));
  int rc;
  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW) {
    ReelOutboxEvent *e = g_new0 (ReelOutboxEvent, 1);
    e->id = sqlite3_column_int64 (stmt, 0);
    e->event_id = g_strdup (reel_store_column_text (stmt, 1));
    e->event = g_strdup (reel_store_column_text (stmt, 2));
    e->payload = g_strdup (reel_store_column_text (stmt, 3));
    e->attempts = (guint) sqlite3_column_int (stmt, 4);
    e->created_at = sqlite3_column_int64 (stmt, 5);
    e->next_attempt_at = sqlite3_column_int64 (stmt, 6);
    g_ptr_array_add (list, e);
  }
  if (rc != SQLITE_DONE) {
    reel_store_fail (self, "reading the outbox", error);
    return NULL;
  }
  return g_steal_pointer (&list);
}

/**
 * reel_store_outbox_next_time:
 * @when: (out): the earliest attempt time
 * Returns: %FALSE if nothing waits
 */
gboolean
reel_store_outbox_next_time (ReelStore *self, gint64 *when)
{
  g_autoptr (sqlite3_stmt) stmt = reel_store_prepare (self, "SELECT MIN (next_attempt_at) FROM outbox", NULL);
  if (stmt == NULL || sqlite3_step (stmt) != SQLITE_ROW || sqlite3_column_type (stmt, 0) == SQLITE_NULL)
    return FALSE;
  *when = sqlite3_column_int64 (stmt, 0);
  return TRUE;
}

/**
 * reel_store_outbox_count:
 * Returns: events waiting
 */
guint
reel_store_outbox_count (ReelStore *self)
{
  return (guint) query_int (self, "SELECT COUNT (*) FROM outbox", 0);
}

/**
 * reel_store_outbox_delivered:
 * Returns: %TRUE once the event is removed
 */
gboolean
reel_store_outbox_delivered (ReelStore *self, gint64 id, GError **error)
{
  g_autoptr (sqlite3_stmt) stmt = reel_store_prepare (self, "DELETE FROM outbox WHERE id = ?", error);
  if (stmt == NULL)
    return FALSE;
  sqlite3_bind_int64 (stmt, 1, id);
  return reel_store_step_done (self, stmt, "removing a delivered event", error);
}

/**
 * reel_store_outbox_retry_later:
 * @last_error: (nullable): why the attempt failed (no URL, no secrets)
 * Returns: %TRUE once written
 */
gboolean
reel_store_outbox_retry_later (ReelStore *self, gint64 id, guint attempts, gint64 next_attempt_at,
                               const char *last_error, GError **error)
{
  g_autoptr (sqlite3_stmt) stmt = reel_store_prepare (self,
      "UPDATE outbox SET attempts = ?, next_attempt_at = ?, last_error = ? WHERE id = ?", error);
  if (stmt == NULL)
    return FALSE;
  sqlite3_bind_int (stmt, 1, (int) MIN (attempts, (guint) G_MAXINT));
  sqlite3_bind_int64 (stmt, 2, next_attempt_at);
  reel_store_bind_text (stmt, 3, last_error);
  sqlite3_bind_int64 (stmt, 4, id);
  return reel_store_step_done (self, stmt, "rescheduling an event", error);
}

/**
 * reel_store_outbox_wake:
 * Returns: %TRUE once written
 */
gboolean
reel_store_outbox_wake (ReelStore *self, gint64 now, GError **error)
{
  g_autoptr (sqlite3_stmt) stmt = reel_store_prepare (self,
      "UPDATE outbox SET next_attempt_at = ?1 WHERE next_attempt_at > ?1", error);
  if (stmt == NULL)
    return FALSE;
  sqlite3_bind_int64 (stmt, 1, now);
  return reel_store_step_done (self, stmt, "waking the outbox", error);
}

/* ---------- GObject ---------- */

static void
reel_store_finalize (GObject *object)
{
  ReelStore *self = REEL_STORE (object);
  if (self->db != NULL)
    sqlite3_close_v2 (self->db);
  G_OBJECT_CLASS (reel_store_parent_class)->finalize (object);
}

static void
reel_store_init (ReelStore *self)
{
}

static void
reel_store_class_init (ReelStoreClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = reel_store_finalize;
  signals[SIG_OUTBOX_ADDED] = g_signal_new ("outbox-added", G_TYPE_FROM_CLASS (klass),
                                            G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL, G_TYPE_NONE, 0);
}
