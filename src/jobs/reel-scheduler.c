/* reel-scheduler.c: timers for schedules; the maths is in reel-schedule.c. */
#include "jobs/reel-scheduler.h"

#include "base/reel-error.h"
#include "base/reel-json.h"
#include "base/reel-log.h"

#define MAX_ARM_MS 60000             /* re-check the wall clock at least once a minute */
#define MIN_LATE_WINDOW_US (1 * G_USEC_PER_SEC) /* less left than this: missed */
#define MAX_CATCH_UP 1000            /* occurrences handled per main-loop turn after a downtime */
#define MISSED_LOGGED 3              /* missed occurrences logged one by one, then counted */

struct _ReelScheduler {
  GObject parent_instance;
  ReelConfig *config;
  ReelStore *store;                  /* (nullable) */
  ReelJobManager *manager;
  ReelSpecParseFunc parse;
  GHashTable *entries;               /* id → Entry */
  GHashTable *stop_timers;           /* recording id → GSource */
  gboolean stopped;
};

G_DEFINE_FINAL_TYPE (ReelScheduler, reel_scheduler, G_TYPE_OBJECT)

typedef struct {
  ReelScheduler *self;               /* unowned: entries die with the scheduler */
  ReelSchedule *schedule;
  GSource *timer;
  gint64 next_start;                 /* 0 = none */
} Entry;

static void
entry_clear_timer (Entry *e)
{
  if (e->timer == NULL)
    return;
  g_source_destroy (e->timer);
  g_clear_pointer (&e->timer, g_source_unref);
}

static void
entry_free (Entry *e)
{
  entry_clear_timer (e);
  reel_schedule_unref (e->schedule);
  g_free (e);
}

static void
source_drop (GSource *source)
{
  g_source_destroy (source);
  g_source_unref (source);
}

/**
 * reel_scheduler_set_config:
 * @config: (transfer none): a reloaded configuration
 *
 * SIGHUP: [limits] max_schedules of the next POST comes from @config.
 */
void
reel_scheduler_set_config (ReelScheduler *self, ReelConfig *config)
{
  ReelConfig *old = self->config;
  self->config = reel_config_ref (config);
  reel_config_unref (old);
}

/**
 * reel_scheduler_new:
 * @store: (nullable) (transfer none): where schedules are kept
 * Returns: (transfer full): the scheduler
 */
ReelScheduler *
reel_scheduler_new (ReelConfig *config, ReelStore *store, ReelJobManager *manager,
                    ReelSpecParseFunc parse)
{
  ReelScheduler *self = g_object_new (REEL_TYPE_SCHEDULER, NULL);
  self->config = reel_config_ref (config);
  self->store = store ? g_object_ref (store) : NULL;
  self->manager = g_object_ref (manager);
  self->parse = parse;
  return self;
}

/* ---------- occurrences ---------- */

static void
save_progress (ReelScheduler *self, ReelSchedule *s, const ReelOccurrence *o)
{
  g_autoptr (GError) error = NULL;
  if (self->store != NULL && !reel_store_add_occurrence (self->store, s, o, &error))
    g_warning ("schedule %s: progress not saved: %s", s->id, error->message);
}

static void
record_occurrence (ReelScheduler *self, ReelSchedule *s, ReelOccurrence *o /* transfer full */)
{
  save_progress (self, s, o);
  reel_schedule_add_occurrence (s, o, REEL_SCHEDULER_KEEP_OCCURRENCES);
}

typedef struct {
  ReelScheduler *self;
  char *recording_id;
} StopData;

static void
stop_data_free (StopData *d)
{
  g_free (d->recording_id);
  g_free (d);
}

static gboolean
on_window_end (gpointer data)
{
  StopData *d = data;
  ReelScheduler *self = d->self;
  g_autofree char *id = g_strdup (d->recording_id);
  g_autoptr (GError) error = NULL;
  if (reel_job_manager_stop (self->manager, id, &error))
    reel_log_recording (G_LOG_LEVEL_INFO, id, "recording %s: its scheduled window ended", id);
  g_hash_table_remove (self->stop_timers, id); /* destroys this source; d lives until we return */
  return G_SOURCE_REMOVE;
}

static void
arm_stop (ReelScheduler *self, const char *recording_id, gint64 window_end)
{
  gint64 delay_ms = MAX ((window_end - g_get_real_time () + 999) / 1000, 0);
  StopData *d = g_new0 (StopData, 1);
  d->self = self;
  d->recording_id = g_strdup (recording_id);
  GSource *timer = g_timeout_source_new ((guint) MIN (delay_ms, (gint64) G_MAXUINT));
  g_source_set_callback (timer, on_window_end, d, (GDestroyNotify) stop_data_free);
  g_source_attach (timer, NULL);
  g_hash_table_replace (self->stop_timers, g_strdup (recording_id), timer);
}

/* Creates the recording of the occurrence starting at @start. */
static void
start_occurrence (ReelScheduler *self, ReelSchedule *s, gint64 start, gint64 window_end)
{
  g_autoptr (GError) error = NULL;
  gint64 now = g_get_real_time ();
  ReelRequestLimits limits;
  reel_job_manager_get_request_limits (self->manager, &limits);
  ReelRecordingSpec *spec = self->parse (s->recording, &limits, &error);
  ReelRecording *rec = NULL;
  if (spec != NULL) {
    guint64 left_s = (guint64) ((window_end - now + G_USEC_PER_SEC - 1) / G_USEC_PER_SEC);
    spec->max_duration_s = MIN (spec->max_duration_s, MAX (left_s, 1));
    rec = reel_job_manager_create_full (self->manager, spec, s->id, &error);
  }
  ReelOccurrence *o = reel_occurrence_new (start, rec ? REEL_OCCURRENCE_STARTED : REEL_OCCURRENCE_FAILED);
  if (rec != NULL) {
    o->recording_id = g_strdup (rec->id);
    reel_log_recording (G_LOG_LEVEL_INFO, rec->id, "schedule %s: occurrence started as %s, %"
                        G_GINT64_FORMAT " ms after its start", s->id, rec->id, (now - start) / 1000);
    if (reel_recording_state_is_active (rec->state))
      arm_stop (self, rec->id, window_end);
    reel_recording_unref (rec);
  } else {
    o->error_code = g_strdup (reel_error_name_of (error));
    o->error_message = g_strdup (error->message);
    g_warning ("schedule %s: occurrence not started: %s", s->id, error->message);
  }
  record_occurrence (self, s, o);
}

static void arm (Entry *e, gint64 start);

/* The occurrence at @start is due (now >= start): late start or missed. Returns: the
 * new count of missed occurrences. */
static guint
handle_due (ReelScheduler *self, ReelSchedule *s, gint64 start, gint64 now, guint missed)
{
  gint64 window_end = start + (gint64) s->duration_s * G_USEC_PER_SEC;
  s->handled_until = start + 1;
  if (window_end - now >= MIN_LATE_WINDOW_US) {
    start_occurrence (self, s, start, window_end);
    return missed;
  }
  if (missed < MISSED_LOGGED) {
    g_autofree char *when = reel_json_time_string (start);
    g_message ("schedule %s: the occurrence at %s was missed (reeld was not running)", s->id, when);
  }
  record_occurrence (self, s, reel_occurrence_new (start, REEL_OCCURRENCE_MISSED));
  return missed + 1;
}

/* Handles every occurrence due by now (up to MAX_CATCH_UP per turn of the main loop,
 * expanded in one go), then arms the timer for the next one. */
static void
process (Entry *e)
{
  ReelScheduler *self = e->self;
  ReelSchedule *s = e->schedule;
  gint64 now = g_get_real_time ();
  guint missed = 0;
  g_autoptr (GArray) starts = reel_schedule_next_starts (s, s->handled_until, MAX_CATCH_UP);
  if (starts->len == 0) {
    s->completed = TRUE;
    e->next_start = 0;
    save_progress (self, s, NULL);
    g_message ("schedule %s: no occurrence left, completed", s->id);
    return;
  }
  for (guint i = 0; i < starts->len && !self->stopped; i++) {
    gint64 start = g_array_index (starts, gint64, i);
    if (start > now) {
      arm (e, start);
      break;
    }
    missed = handle_due (self, s, start, now, missed);
  }
  if (missed > MISSED_LOGGED)
    g_message ("schedule %s: %u occurrences missed in all", s->id, missed);
  if (e->timer == NULL && !self->stopped) /* all of them were due: look again at the next turn */
    arm (e, now);
}

static gboolean
on_timer (gpointer data)
{
  Entry *e = data;
  g_clear_pointer (&e->timer, g_source_unref);
  process (e);
  return G_SOURCE_REMOVE;
}

static void
arm (Entry *e, gint64 start)
{
  entry_clear_timer (e);
  e->next_start = start;
  gint64 delay_ms = MAX ((start - g_get_real_time () + 999) / 1000, 0);
  e->timer = g_timeout_source_new ((guint) MIN (delay_ms, MAX_ARM_MS));
  g_source_set_priority (e->timer, G_PRIORITY_HIGH); /* on time even when the loop is busy */
  g_source_set_callback (e->timer, on_timer, e, NULL);
  g_source_attach (e->timer, NULL);
}

/* ---------- the set of schedules ---------- */

static Entry *
add_entry (ReelScheduler *self, ReelSchedule *s)
{
  Entry *e = g_new0 (Entry, 1);
  e->self = self;
  e->schedule = reel_schedule_ref (s);
  g_hash_table_replace (self->entries, g_strdup (s->id), e);
  return e;
}

/**
 * reel_scheduler_start:
 * Returns: %TRUE once the stored schedules are armed
 */
gboolean
reel_scheduler_start (ReelScheduler *self, GError **error)
{
  if (self->store == NULL)
    return TRUE;
  g_autoptr (GPtrArray) list = reel_store_load_schedules (self->store, REEL_SCHEDULER_KEEP_OCCURRENCES,
                                                          error);
  if (list == NULL)
    return FALSE;
  guint active = 0;
  for (guint i = 0; i < list->len; i++) {
    ReelSchedule *s = g_ptr_array_index (list, i);
    Entry *e = add_entry (self, s);
    if (s->completed)
      continue;
    active++;
    process (e);
  }
  g_message ("state db: %u schedule(s) loaded, %u active", list->len, active);
  return TRUE;
}

static guint
count_active (ReelScheduler *self)
{
  guint n = 0;
  GHashTableIter it;
  gpointer value;
  g_hash_table_iter_init (&it, self->entries);
  while (g_hash_table_iter_next (&it, NULL, &value))
    n += ((Entry *) value)->schedule->completed ? 0 : 1;
  return n;
}

/**
 * reel_scheduler_add:
 * @schedule: (transfer none): a validated schedule without id
 * Returns: %TRUE once stored and armed
 */
gboolean
reel_scheduler_add (ReelScheduler *self, ReelSchedule *s, GError **error)
{
  if (self->stopped) {
    g_set_error (error, REEL_ERROR, REEL_ERROR_AT_CAPACITY, "reeld is shutting down");
    return FALSE;
  }
  if (count_active (self) >= self->config->max_schedules) {
    g_set_error (error, REEL_ERROR, REEL_ERROR_AT_CAPACITY,
                 "%u schedules are active, the configured maximum", self->config->max_schedules);
    return FALSE;
  }
  g_free (s->id);
  s->id = reel_schedule_new_id ();
  s->created_at = g_get_real_time ();
  /* occurrences before its creation are not its business; a one-shot validated a
   * moment ago still starts */
  s->handled_until = s->rrule != NULL ? s->created_at : MIN (s->created_at, s->start_at);
  if (self->store != NULL && !reel_store_save_schedule (self->store, s, error))
    return FALSE;
  process (add_entry (self, s));
  g_message ("schedule %s created", s->id);
  return TRUE;
}

/**
 * reel_scheduler_get:
 * Returns: (transfer none) (nullable): the schedule
 */
ReelSchedule *
reel_scheduler_get (ReelScheduler *self, const char *id)
{
  Entry *e = g_hash_table_lookup (self->entries, id);
  return e ? e->schedule : NULL;
}

static gint
newest_first (gconstpointer a, gconstpointer b)
{
  const ReelSchedule *sa = *(ReelSchedule *const *) a, *sb = *(ReelSchedule *const *) b;
  if (sa->created_at != sb->created_at)
    return sa->created_at > sb->created_at ? -1 : 1;
  return g_strcmp0 (sb->id, sa->id);
}

/**
 * reel_scheduler_list:
 * Returns: (transfer container) (element-type ReelSchedule): newest first
 */
GPtrArray *
reel_scheduler_list (ReelScheduler *self)
{
  GPtrArray *list = g_ptr_array_new ();
  GHashTableIter it;
  gpointer value;
  g_hash_table_iter_init (&it, self->entries);
  while (g_hash_table_iter_next (&it, NULL, &value))
    g_ptr_array_add (list, ((Entry *) value)->schedule);
  g_ptr_array_sort (list, newest_first);
  return list;
}

/**
 * reel_scheduler_next_start:
 * Returns: the next occurrence's start, 0 if none
 */
gint64
reel_scheduler_next_start (ReelScheduler *self, const char *id)
{
  Entry *e = g_hash_table_lookup (self->entries, id);
  return e != NULL && !e->schedule->completed ? e->next_start : 0;
}

/**
 * reel_scheduler_remove:
 * Returns: %TRUE if the schedule existed and is gone
 */
gboolean
reel_scheduler_remove (ReelScheduler *self, const char *id, GError **error)
{
  if (!g_hash_table_contains (self->entries, id)) {
    g_set_error (error, REEL_ERROR, REEL_ERROR_NOT_FOUND, "no schedule %.64s", id);
    return FALSE;
  }
  if (self->store != NULL && !reel_store_delete_schedule (self->store, id, error))
    return FALSE;
  g_hash_table_remove (self->entries, id);
  g_message ("schedule %s deleted", id);
  return TRUE;
}

/**
 * reel_scheduler_stop:
 * @self: the scheduler
 */
void
reel_scheduler_stop (ReelScheduler *self)
{
  self->stopped = TRUE;
  GHashTableIter it;
  gpointer value;
  g_hash_table_iter_init (&it, self->entries);
  while (g_hash_table_iter_next (&it, NULL, &value))
    entry_clear_timer (value);
  g_hash_table_remove_all (self->stop_timers);
}

static void
reel_scheduler_finalize (GObject *object)
{
  ReelScheduler *self = REEL_SCHEDULER (object);
  g_hash_table_unref (self->entries);
  g_hash_table_unref (self->stop_timers);
  g_clear_object (&self->store);
  g_clear_object (&self->manager);
  reel_config_unref (self->config);
  G_OBJECT_CLASS (reel_scheduler_parent_class)->finalize (object);
}

static void
reel_scheduler_init (ReelScheduler *self)
{
  self->entries = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, (GDestroyNotify) entry_free);
  self->stop_timers = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                             (GDestroyNotify) source_drop);
}

static void
reel_scheduler_class_init (ReelSchedulerClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = reel_scheduler_finalize;
}
