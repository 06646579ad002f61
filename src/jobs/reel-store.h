/* reel-store.h: reel's durable state in SQLite ([storage] state_db).
 *
 * Recordings with their outputs and artifacts, schedules with their occurrences,
 * and the webhook outbox. WAL journal, schema versions in PRAGMA user_version,
 * short transactions on the main thread (the one blocking I/O DESIGN.md allows).
 * A recording's state change and the webhook event it causes are written in one
 * transaction, so an event is never lost nor sent for a change that was not kept.
 */
#pragma once

#include <glib-object.h>

#include "jobs/reel-recording.h"
#include "jobs/reel-schedule.h"

G_BEGIN_DECLS

#define REEL_STORE_SCHEMA_VERSION 1

#define REEL_TYPE_STORE (reel_store_get_type ())
G_DECLARE_FINAL_TYPE (ReelStore, reel_store, REEL, STORE, GObject)

/* A webhook event waiting in the outbox. */
typedef struct {
  gint64 id;               /* row id: delivery order */
  char *event_id;          /* "evt_..." stable across retries: receivers dedupe on it */
  char *event;             /* "recording.started", ... */
  char *payload;           /* JSON object {"id", "event", "recording", ["output_id"]} */
  guint attempts;
  gint64 created_at;
  gint64 next_attempt_at;
} ReelOutboxEvent;

void reel_outbox_event_free (ReelOutboxEvent *event);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (ReelOutboxEvent, reel_outbox_event_free)

/* Signals:
 *  "outbox-added" (): a committed transaction added webhook events. */

/* Opens (creates) the database at @path, its directory too, and migrates the schema.
 * Fails on a database written by a newer reel.
 * Returns: (transfer full) (nullable) */
ReelStore *reel_store_open (const char *path, GError **error);

/* Returns: the schema version (PRAGMA user_version) */
guint reel_store_get_schema_version (ReelStore *self);

/* Writes @rec with its outputs and artifacts. With @event (nullable) also queues the
 * webhook @event about @rec (and @output_id, nullable) in the same transaction. */
gboolean reel_store_save_recording (ReelStore *self, ReelRecording *rec, const char *event,
                                    const char *output_id, GError **error);

/* Returns: (transfer full) (element-type ReelRecording): every recording, oldest first */
GPtrArray *reel_store_load_recordings (ReelStore *self, GError **error);

/* Inserts or replaces @schedule (definition and progress). */
gboolean reel_store_save_schedule (ReelStore *self, const ReelSchedule *schedule, GError **error);

/* Records @occurrence and @schedule's progress (handled_until, completed) at once. */
gboolean reel_store_add_occurrence (ReelStore *self, const ReelSchedule *schedule,
                                    const ReelOccurrence *occurrence, GError **error);

/* Deletes a schedule and its occurrences. Returns: %FALSE with REEL_ERROR_NOT_FOUND if absent */
gboolean reel_store_delete_schedule (ReelStore *self, const char *id, GError **error);

/* Returns: (transfer full) (element-type ReelSchedule): every schedule, oldest first, each
 * with its @keep_occurrences newest occurrences */
GPtrArray *reel_store_load_schedules (ReelStore *self, guint keep_occurrences, GError **error);

/* Returns: (transfer full) (element-type ReelOutboxEvent): up to @max events due at @now,
 * oldest first */
GPtrArray *reel_store_outbox_due (ReelStore *self, gint64 now, guint max, GError **error);

/* @when: (out): the earliest next_attempt_at. Returns: %FALSE if the outbox is empty */
gboolean reel_store_outbox_next_time (ReelStore *self, gint64 *when);

/* Returns: events waiting */
guint reel_store_outbox_count (ReelStore *self);

gboolean reel_store_outbox_delivered (ReelStore *self, gint64 id, GError **error);
gboolean reel_store_outbox_retry_later (ReelStore *self, gint64 id, guint attempts,
                                        gint64 next_attempt_at, const char *last_error,
                                        GError **error);

/* Makes every waiting event due at @now (the receiver answered again). */
gboolean reel_store_outbox_wake (ReelStore *self, gint64 now, GError **error);

G_END_DECLS
