/* reel-scheduler.h: turns schedules into recordings at the right time.
 *
 * Main context only. One timer per schedule, armed for its next occurrence (at most
 * a minute ahead, then re-armed, so a wall-clock change is noticed). At an occurrence
 * the stored recording body is validated again with the current limits and a
 * recording is created with the schedule's id; a second timer stops it when the
 * occurrence's window (start + duration_s) ends. At start-up the scheduler re-arms
 * from the store: an occurrence missed while reeld was down is started late if at
 * least a second of its window is left, otherwise recorded as missed.
 */
#pragma once

#include <glib-object.h>
#include <json-glib/json-glib.h>

#include "config/reel-config.h"
#include "jobs/reel-job-manager.h"
#include "jobs/reel-schedule.h"
#include "jobs/reel-store.h"

G_BEGIN_DECLS

#define REEL_SCHEDULER_KEEP_OCCURRENCES 20   /* shown per schedule */

/* Validates a recording body: api/'s reel_request_parse_recording(), handed in by
 * reeld so jobs/ does not depend on api/. */
typedef ReelRecordingSpec *(*ReelSpecParseFunc) (JsonNode *body, const ReelRequestLimits *limits,
                                                 GError **error);

#define REEL_TYPE_SCHEDULER (reel_scheduler_get_type ())
G_DECLARE_FINAL_TYPE (ReelScheduler, reel_scheduler, REEL, SCHEDULER, GObject)

/* SIGHUP: the next schedules are checked against @config's limits. */
void reel_scheduler_set_config (ReelScheduler *self, ReelConfig *config);

/* @store: (nullable): without a store, schedules live until reeld exits
 * Returns: (transfer full) */
ReelScheduler *reel_scheduler_new (ReelConfig *config, ReelStore *store, ReelJobManager *manager,
                                   ReelSpecParseFunc parse);

/* Loads the stored schedules, handles what was missed, arms the timers. */
gboolean reel_scheduler_start (ReelScheduler *self, GError **error);

/* Adds a validated schedule (start_at, duration_s, rrule, timezone, recording set):
 * gives it an id and created_at, stores and arms it. REEL_ERROR_AT_CAPACITY at
 * [limits] max_schedules active schedules.
 * @schedule: (transfer none) */
gboolean reel_scheduler_add (ReelScheduler *self, ReelSchedule *schedule, GError **error);

/* Returns: (transfer none) (nullable) */
ReelSchedule *reel_scheduler_get (ReelScheduler *self, const char *id);

/* Returns: (transfer container) (element-type ReelSchedule): newest first */
GPtrArray *reel_scheduler_list (ReelScheduler *self);

/* Returns: the next occurrence's start, 0 if none */
gint64 reel_scheduler_next_start (ReelScheduler *self, const char *id);

/* Deletes a schedule; a recording it started goes on to its planned end.
 * REEL_ERROR_NOT_FOUND if there is no such schedule. */
gboolean reel_scheduler_remove (ReelScheduler *self, const char *id, GError **error);

/* Cancels every timer (reeld is stopping): nothing more starts. */
void reel_scheduler_stop (ReelScheduler *self);

G_END_DECLS
