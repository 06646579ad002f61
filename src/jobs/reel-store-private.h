/* reel-store-private.h: what the store's files share (not for other modules). */
#pragma once

#include <sqlite3.h>

#include "jobs/reel-store.h"

G_BEGIN_DECLS

G_DEFINE_AUTOPTR_CLEANUP_FUNC (sqlite3_stmt, sqlite3_finalize)

sqlite3 *reel_store_db (ReelStore *self);

/* Sets REEL_ERROR_INTERNAL "state db: @what: <sqlite message>". Returns: %FALSE */
gboolean reel_store_fail (ReelStore *self, const char *what, GError **error);

/* Returns: (transfer full) (nullable): the prepared statement */
sqlite3_stmt *reel_store_prepare (ReelStore *self, const char *sql, GError **error);

/* Runs a statement to completion (no rows expected). */
gboolean reel_store_step_done (ReelStore *self, sqlite3_stmt *stmt, const char *what, GError **error);

/* BEGIN IMMEDIATE / COMMIT / ROLLBACK */
gboolean reel_store_begin (ReelStore *self, GError **error);
gboolean reel_store_commit (ReelStore *self, GError **error);
void reel_store_rollback (ReelStore *self);

/* Binds text or NULL. */
void reel_store_bind_text (sqlite3_stmt *stmt, int index, const char *text);

/* Returns: (transfer none) (nullable): column @col as text */
const char *reel_store_column_text (sqlite3_stmt *stmt, int col);

/* Queues a webhook event about @rec inside the open transaction. */
gboolean reel_store_queue_event (ReelStore *self, ReelRecording *rec, const char *event,
                                 const char *output_id, GError **error);

/* Emits "outbox-added" (after a commit). */
void reel_store_notify_outbox (ReelStore *self);

G_END_DECLS
