/* Unit tests: the SQLite store. Schema migrations and WAL, recordings with outputs
 * and artifacts surviving a reopen, a state change and its webhook event in one
 * transaction, interrupted recordings, schedules with occurrences, the outbox. */
#include <glib/gstdio.h>
#include <sqlite3.h>

#include "base/reel-error.h"
#include "jobs/reel-store.h"

typedef struct {
  char *dir;
  char *db_path;
} Fixture;

static void
fixture_set_up (Fixture *f, gconstpointer data)
{
  f->dir = g_dir_make_tmp ("reel-store-XXXXXX", NULL);
  g_assert_nonnull (f->dir);
  f->db_path = g_build_filename (f->dir, "sub", "reel.db", NULL); /* the directory is created */
}

static void
remove_tree (const char *path)
{
  g_autoptr (GDir) dir = g_dir_open (path, 0, NULL);
  const char *name;
  while (dir != NULL && (name = g_dir_read_name (dir)) != NULL) {
    g_autofree char *child = g_build_filename (path, name, NULL);
    if (g_file_test (child, G_FILE_TEST_IS_DIR))
      remove_tree (child);
    else
      g_unlink (child);
  }
  g_rmdir (path);
}

static void
fixture_tear_down (Fixture *f, gconstpointer data)
{
  remove_tree (f->dir);
  g_free (f->dir);
  g_free (f->db_path);
}

static ReelStore *
open_store (Fixture *f)
{
  g_autoptr (GError) error = NULL;
  ReelStore *store = reel_store_open (f->db_path, &error);
  g_assert_no_error (error);
  g_assert_nonnull (store);
  return store;
}

/* Runs SQL on the database through a second connection, as another process would. */
static void
raw_sql (Fixture *f, const char *sql)
{
  sqlite3 *db = NULL;
  g_assert_cmpint (sqlite3_open (f->db_path, &db), ==, SQLITE_OK);
  char *msg = NULL;
  if (sqlite3_exec (db, sql, NULL, NULL, &msg) != SQLITE_OK)
    g_error ("%s: %s", sql, msg);
  sqlite3_close (db);
}

static ReelRecording *
make_recording (Fixture *f, const char *id)
{
  ReelRecordingSpec *spec = reel_recording_spec_new ();
  spec->room = reel_room_spec_new (REEL_PROVIDER_SYNTHETIC);
  spec->room->public_json = json_from_string ("{\"provider\":\"synthetic\",\"participants\":[]}", NULL);
  spec->width = 640;
  spec->height = 360;
  spec->framerate = 25;
  spec->bitrate_kbps = 900;
  spec->max_duration_s = 120;
  g_ptr_array_add (spec->outputs, reel_output_spec_new (REEL_OUTPUT_FILE));
  ReelOutputSpec *rtmp = reel_output_spec_new (REEL_OUTPUT_RTMP);
  rtmp->url = g_strdup ("rtmp://127.0.0.1:1935/live/secret-key");
  g_ptr_array_add (spec->outputs, rtmp);
  ReelRecording *rec = reel_recording_new (id, spec);
  ReelRecordingOutput *file = g_ptr_array_index (rec->outputs, 0);
  file->path = g_build_filename (f->dir, "rec.mp4", NULL);
  return rec;
}

static void
test_migrations (Fixture *f, gconstpointer data)
{
  {
    g_autoptr (ReelStore) store = open_store (f);
    g_assert_cmpuint (reel_store_get_schema_version (store), ==, REEL_STORE_SCHEMA_VERSION);
    g_autofree char *wal = g_strconcat (f->db_path, "-wal", NULL);
    g_assert_true (g_file_test (wal, G_FILE_TEST_EXISTS)); /* WAL journal */
    GStatBuf st;
    g_assert_cmpint (g_stat (f->db_path, &st), ==, 0);
    g_assert_cmpint (st.st_mode & 0777, ==, 0600); /* schedules hold room secrets */
    g_assert_cmpint (g_stat (wal, &st), ==, 0);
    g_assert_cmpint (st.st_mode & 0077, ==, 0);
  }
  g_autoptr (ReelStore) again = open_store (f); /* idempotent */
  g_assert_cmpuint (reel_store_get_schema_version (again), ==, REEL_STORE_SCHEMA_VERSION);
  g_clear_object (&again);

  raw_sql (f, "PRAGMA user_version = 99");
  g_autoptr (GError) error = NULL;
  g_autoptr (ReelStore) newer = reel_store_open (f->db_path, &error);
  g_assert_null (newer);
  g_assert_error (error, REEL_ERROR, REEL_ERROR_INTERNAL);
  g_assert_nonnull (strstr (error->message, "newer"));
}

static void
on_outbox_added (ReelStore *store, gpointer data)
{
  (*(guint *) data)++;
}

static void
test_recording_round_trip (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (ReelRecording) rec = make_recording (f, "rec_roundtrip");
  rec->schedule_id = g_strdup ("sch_x");
  g_assert_true (reel_recording_set_state (rec, REEL_RECORDING_RECORDING));
  g_assert_true (g_file_set_contents (((ReelRecordingOutput *) g_ptr_array_index (rec->outputs, 0))->path,
                                      "0123456789", 10, NULL));
  g_assert_true (reel_recording_set_state (rec, REEL_RECORDING_STOPPING));
  g_assert_true (reel_recording_set_state (rec, REEL_RECORDING_FINISHED));
  rec->ended_at = rec->started_at + 3 * G_USEC_PER_SEC + 250000;
  reel_recording_collect_artifacts (rec);
  g_assert_cmpuint (rec->artifacts->len, ==, 1);

  guint added = 0;
  {
    g_autoptr (ReelStore) store = open_store (f);
    g_signal_connect (store, "outbox-added", G_CALLBACK (on_outbox_added), &added);
    g_assert_true (reel_store_save_recording (store, rec, NULL, NULL, &error));
    g_assert_true (reel_store_save_recording (store, rec, "recording.finished", NULL, &error));
    g_assert_no_error (error);
    g_assert_cmpuint (added, ==, 1);
    g_assert_cmpuint (reel_store_outbox_count (store), ==, 1);
  }
  g_autoptr (ReelStore) store = open_store (f);
  g_autoptr (GPtrArray) list = reel_store_load_recordings (store, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (list->len, ==, 1);
  ReelRecording *back = g_ptr_array_index (list, 0);
  g_autoptr (JsonNode) a = reel_recording_to_json (rec);
  g_autoptr (JsonNode) b = reel_recording_to_json (back);
  g_autofree char *ta = json_to_string (a, FALSE);
  g_autofree char *tb = json_to_string (b, FALSE);
  g_assert_cmpstr (tb, ==, ta); /* the API object is the same after a restart */
  g_assert_nonnull (strstr (tb, "\"duration_s\":3.25"));
  g_assert_null (strstr (tb, "secret-key"));
  g_assert_cmpuint (back->next_output_index, ==, 2);

  /* the outbox event carries the recording as it was, with its artifacts */
  g_autoptr (GPtrArray) due = reel_store_outbox_due (store, g_get_real_time (), 10, &error);
  g_assert_cmpuint (due->len, ==, 1);
  ReelOutboxEvent *e = g_ptr_array_index (due, 0);
  g_assert_cmpstr (e->event, ==, "recording.finished");
  g_assert_true (g_str_has_prefix (e->event_id, "evt_"));
  g_assert_nonnull (strstr (e->payload, "\"artifacts\":[{\"output_id\":\"out_0\""));
}

/* The change and its event are one transaction: if queueing the event fails, the
 * change is not kept either. */
static void
test_change_and_event_atomic (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (ReelStore) store = open_store (f);
  g_autoptr (ReelRecording) rec = make_recording (f, "rec_atomic");
  g_assert_true (reel_store_save_recording (store, rec, NULL, NULL, &error));
  raw_sql (f, "CREATE TRIGGER no_events BEFORE INSERT ON outbox BEGIN SELECT RAISE (FAIL, 'no'); END");
  g_assert_true (reel_recording_set_state (rec, REEL_RECORDING_RECORDING));
  g_assert_false (reel_store_save_recording (store, rec, "recording.started", NULL, &error));
  g_assert_error (error, REEL_ERROR, REEL_ERROR_INTERNAL);
  g_clear_object (&store);
  store = open_store (f);
  g_autoptr (GPtrArray) list = reel_store_load_recordings (store, NULL);
  g_assert_cmpuint (list->len, ==, 1);
  g_assert_cmpint (((ReelRecording *) g_ptr_array_index (list, 0))->state, ==, REEL_RECORDING_STARTING);
  g_assert_cmpuint (reel_store_outbox_count (store), ==, 0);
}

static void
test_interrupted (Fixture *f, gconstpointer data)
{
  g_autoptr (ReelRecording) rec = make_recording (f, "rec_killed");
  ReelRecordingOutput *file = g_ptr_array_index (rec->outputs, 0);
  g_assert_true (reel_recording_set_state (rec, REEL_RECORDING_RECORDING));
  rec->started_at -= 10 * G_USEC_PER_SEC;
  file->state = REEL_OUTPUT_STATE_WRITING;
  g_assert_true (g_file_set_contents (file->path, "fragments", 9, NULL));
  GStatBuf st;
  g_assert_cmpint (g_stat (file->path, &st), ==, 0);

  reel_recording_mark_interrupted (rec, g_get_real_time ());
  g_assert_cmpint (rec->state, ==, REEL_RECORDING_FAILED);
  g_assert_cmpstr (rec->error_code, ==, "interrupted");
  g_assert_cmpint (rec->ended_at, ==, (gint64) st.st_mtim.tv_sec * G_USEC_PER_SEC + st.st_mtim.tv_nsec / 1000);
  g_assert_cmpint (file->state, ==, REEL_OUTPUT_STATE_FAILED);
  g_assert_cmpstr (file->error_code, ==, "interrupted");
  g_assert_cmpint (file->bytes, ==, 9);
  g_assert_cmpuint (rec->artifacts->len, ==, 1);
  ReelRecordingArtifact *a = g_ptr_array_index (rec->artifacts, 0);
  g_assert_cmpstr (a->path, ==, file->path);
  g_assert_cmpfloat (a->duration_s, >=, 9.0);

  /* finished ones are left alone */
  g_autoptr (ReelRecording) done = make_recording (f, "rec_done");
  reel_recording_set_state (done, REEL_RECORDING_STOPPING);
  reel_recording_set_state (done, REEL_RECORDING_FINISHED);
  reel_recording_mark_interrupted (done, g_get_real_time ());
  g_assert_cmpint (done->state, ==, REEL_RECORDING_FINISHED);
  g_assert_null (done->error_code);
}

static ReelSchedule *
make_schedule (void)
{
  ReelSchedule *s = reel_schedule_new ();
  s->id = reel_schedule_new_id ();
  s->created_at = g_get_real_time ();
  s->start_at = s->created_at + 60 * G_USEC_PER_SEC;
  s->duration_s = 30;
  s->rrule = g_strdup ("FREQ=DAILY;COUNT=3");
  s->timezone = (g_free (s->timezone), g_strdup ("Europe/Paris"));
  s->recording = json_from_string ("{\"room\":{\"provider\":\"synthetic\"},\"outputs\":[]}", NULL);
  s->recording_public = json_node_copy (s->recording);
  s->handled_until = s->created_at;
  return s;
}

static void
test_schedules (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (ReelStore) store = open_store (f);
  g_autoptr (ReelSchedule) s = make_schedule ();
  g_autoptr (ReelSchedule) other = make_schedule ();
  g_assert_true (reel_store_save_schedule (store, s, &error));
  g_assert_true (reel_store_save_schedule (store, other, &error));
  for (int i = 0; i < 3; i++) {
    ReelOccurrence *o = reel_occurrence_new (s->start_at + (gint64) i * 86400 * G_USEC_PER_SEC,
                                             i == 1 ? REEL_OCCURRENCE_MISSED : REEL_OCCURRENCE_STARTED);
    o->recording_id = i == 1 ? NULL : g_strdup_printf ("rec_%d", i);
    s->handled_until = o->start_at + 1;
    s->completed = i == 2;
    g_assert_true (reel_store_add_occurrence (store, s, o, &error));
    reel_occurrence_free (o);
  }
  g_assert_no_error (error);
  g_clear_object (&store);

  store = open_store (f);
  g_autoptr (GPtrArray) list = reel_store_load_schedules (store, 2, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (list->len, ==, 2);
  ReelSchedule *back = g_ptr_array_index (list, 0);
  g_assert_cmpstr (back->id, ==, s->id);
  g_assert_cmpstr (back->rrule, ==, "FREQ=DAILY;COUNT=3");
  g_assert_cmpstr (back->timezone, ==, "Europe/Paris");
  g_assert_cmpint (back->handled_until, ==, s->handled_until);
  g_assert_true (back->completed);
  g_assert_cmpuint (back->occurrences->len, ==, 2); /* the newest two, newest first */
  ReelOccurrence *newest = g_ptr_array_index (back->occurrences, 0);
  ReelOccurrence *missed = g_ptr_array_index (back->occurrences, 1);
  g_assert_cmpstr (newest->recording_id, ==, "rec_2");
  g_assert_cmpint (missed->state, ==, REEL_OCCURRENCE_MISSED);

  g_assert_true (reel_store_delete_schedule (store, s->id, &error));
  g_assert_false (reel_store_delete_schedule (store, s->id, &error));
  g_assert_error (error, REEL_ERROR, REEL_ERROR_NOT_FOUND);
  g_autoptr (GPtrArray) left = reel_store_load_schedules (store, 10, NULL);
  g_assert_cmpuint (left->len, ==, 1);
}

static void
test_outbox (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (ReelStore) store = open_store (f);
  g_autoptr (ReelRecording) rec = make_recording (f, "rec_outbox");
  gint64 when = 0;
  g_assert_false (reel_store_outbox_next_time (store, &when));
  g_assert_true (reel_store_save_recording (store, rec, "recording.started", NULL, &error));
  g_assert_true (reel_store_save_recording (store, rec, "output.failed", "out_1", &error));
  g_assert_true (reel_store_save_recording (store, rec, "recording.failed", NULL, &error));
  gint64 now = g_get_real_time ();
  g_autoptr (GPtrArray) due = reel_store_outbox_due (store, now, 2, &error);
  g_assert_cmpuint (due->len, ==, 2);
  ReelOutboxEvent *first = g_ptr_array_index (due, 0), *second = g_ptr_array_index (due, 1);
  g_assert_cmpstr (first->event, ==, "recording.started"); /* in order */
  g_assert_cmpstr (second->event, ==, "output.failed");
  g_assert_nonnull (strstr (second->payload, "\"output_id\":\"out_1\""));

  g_assert_true (reel_store_outbox_delivered (store, first->id, &error));
  g_assert_true (reel_store_outbox_retry_later (store, second->id, 1, now + 60 * G_USEC_PER_SEC,
                                                "HTTP 503", &error));
  g_autoptr (GPtrArray) again = reel_store_outbox_due (store, now, 10, &error);
  g_assert_cmpuint (again->len, ==, 1);
  g_assert_cmpstr (((ReelOutboxEvent *) g_ptr_array_index (again, 0))->event, ==, "recording.failed");
  g_assert_true (reel_store_outbox_next_time (store, &when));
  g_assert_cmpint (when, <=, now);
  g_assert_true (reel_store_outbox_delivered (store, ((ReelOutboxEvent *) g_ptr_array_index (again, 0))->id,
                                              &error));
  g_assert_true (reel_store_outbox_next_time (store, &when));
  g_assert_cmpint (when, ==, now + 60 * G_USEC_PER_SEC);
  g_assert_true (reel_store_outbox_wake (store, now, &error));
  g_autoptr (GPtrArray) woken = reel_store_outbox_due (store, now, 10, &error);
  g_assert_cmpuint (woken->len, ==, 1);
  g_assert_cmpuint (((ReelOutboxEvent *) g_ptr_array_index (woken, 0))->attempts, ==, 1);
  g_assert_cmpuint (reel_store_outbox_count (store), ==, 1);
  g_assert_no_error (error);
}

int
main (int argc, char *argv[])
{
  g_test_init (&argc, &argv, NULL);
  g_test_add ("/store/migrations", Fixture, NULL, fixture_set_up, test_migrations, fixture_tear_down);
  g_test_add ("/store/recording-round-trip", Fixture, NULL, fixture_set_up, test_recording_round_trip,
              fixture_tear_down);
  g_test_add ("/store/change-and-event-atomic", Fixture, NULL, fixture_set_up,
              test_change_and_event_atomic, fixture_tear_down);
  g_test_add ("/store/interrupted", Fixture, NULL, fixture_set_up, test_interrupted, fixture_tear_down);
  g_test_add ("/store/schedules", Fixture, NULL, fixture_set_up, test_schedules, fixture_tear_down);
  g_test_add ("/store/outbox", Fixture, NULL, fixture_set_up, test_outbox, fixture_tear_down);
  return g_test_run ();
}
