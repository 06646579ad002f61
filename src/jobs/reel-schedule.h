/* reel-schedule.h: the schedule record and its occurrence maths.
 *
 * Pure C (GLib, json-glib, libical): no timers, no I/O, so the expansion is unit
 * tested in milliseconds. The scheduler (reel-scheduler.c) arms timers from
 * reel_schedule_next_start(); api/ validates requests with reel_rrule_check().
 *
 * Times are g_get_real_time() microseconds (UTC). A recurring schedule's start_at
 * is its DTSTART: the rule is expanded by libical in wall-clock time of @timezone,
 * so "every Monday 09:00 Europe/Paris" stays at 09:00 local across daylight-saving
 * changes. Wall-clock times are mapped to UTC as RFC 5545 says: a time that occurs
 * twice (autumn) is the first one; a time that does not exist (spring gap) is read
 * with the offset before the gap (02:30 becomes 03:30).
 */
#pragma once

#include <glib.h>
#include <json-glib/json-glib.h>

G_BEGIN_DECLS

#define REEL_SCHEDULE_MAX_COUNT 10000      /* largest COUNT= */
#define REEL_SCHEDULE_MAX_INTERVAL 32767   /* largest INTERVAL= (libical keeps a short) */
#define REEL_SCHEDULE_CHECK_OCCURRENCES 1000 /* occurrences checked for overlaps */
#define REEL_SCHEDULE_MAX_RULE_BYTES 512

typedef enum {
  REEL_OCCURRENCE_STARTED,   /* a recording was created */
  REEL_OCCURRENCE_MISSED,    /* reeld was down for its whole window */
  REEL_OCCURRENCE_FAILED,    /* the recording could not be created (at capacity, invalid body) */
} ReelOccurrenceState;

typedef struct {
  gint64 start_at;           /* when it was due */
  gint64 handled_at;         /* when reeld acted on it */
  ReelOccurrenceState state;
  char *recording_id;        /* (nullable) */
  char *error_code;          /* (nullable) */
  char *error_message;       /* (nullable) */
} ReelOccurrence;

typedef struct {
  gint ref_count;
  char *id;                  /* "sch_" + 20 hex digits */
  gint64 created_at;
  gint64 start_at;           /* the first occurrence (DTSTART) */
  guint64 duration_s;        /* length of every occurrence */
  gboolean has_stop_at;      /* one-shot given as start_at + stop_at */
  char *rrule;               /* (nullable): NULL = one-shot */
  char *timezone;            /* IANA name; "UTC" by default */
  JsonNode *recording;       /* the recording body as given: validated again at every occurrence */
  JsonNode *recording_public;/* the same without secrets: what the API shows */
  gint64 handled_until;      /* occurrences starting before this are done */
  gboolean completed;        /* no occurrence left */
  GPtrArray *occurrences;    /* (element-type ReelOccurrence) recent ones, newest first */
} ReelSchedule;

const char *reel_occurrence_state_to_string (ReelOccurrenceState state);
gboolean reel_occurrence_state_from_string (const char *name, ReelOccurrenceState *state);
ReelOccurrence *reel_occurrence_new (gint64 start_at, ReelOccurrenceState state);
void reel_occurrence_free (ReelOccurrence *occurrence);

/* Returns: (transfer full): a new random id "sch_" + 20 hex digits */
char *reel_schedule_new_id (void);

/* Returns: (transfer full): an empty schedule (timezone "UTC") */
ReelSchedule *reel_schedule_new (void);
ReelSchedule *reel_schedule_ref (ReelSchedule *schedule);
void reel_schedule_unref (ReelSchedule *schedule);

/* Checks @tzid is an IANA zone name libical knows. The message starts with @path. */
gboolean reel_timezone_check (const char *tzid, const char *path, GError **error);

/* Validates @rrule for a schedule starting at @dtstart in @tzid with occurrences of
 * @duration_s: parsable by libical, only rule parts that cannot make libical spin
 * (see reel-schedule.c), FREQ=SECONDLY only with COUNT or UNTIL, COUNT and INTERVAL
 * bounded, an occurrence at or after @now, and no two of the next
 * REEL_SCHEDULE_CHECK_OCCURRENCES overlapping. Errors are REEL_ERROR_INVALID_FIELD
 * with messages starting "rrule: ". */
gboolean reel_rrule_check (const char *rrule, const char *tzid, gint64 dtstart,
                           guint64 duration_s, gint64 now, GError **error);

/* Appends to @out (element-type gint64) the starts of up to @max occurrences at or
 * after @from, in order. @rrule must have passed reel_rrule_check(). */
gboolean reel_rrule_expand (const char *rrule, const char *tzid, gint64 dtstart, gint64 from,
                            guint max, GArray *out, GError **error);

/* @start: (out): the first occurrence starting at or after @from.
 * Returns: %FALSE when there is none (one-shot done, COUNT or UNTIL reached). */
gboolean reel_schedule_next_start (const ReelSchedule *schedule, gint64 from, gint64 *start);

/* Returns: (transfer full) (element-type gint64): the starts of up to @max occurrences at
 * or after @from, in order (empty when none is left) */
GArray *reel_schedule_next_starts (const ReelSchedule *schedule, gint64 from, guint max);

/* Keeps @occurrence (transfer full) as the newest and at most @keep of them. */
void reel_schedule_add_occurrence (ReelSchedule *schedule, ReelOccurrence *occurrence, guint keep);

/* Returns: (transfer full): the API's schedule object; @next_start_at 0 = null */
JsonNode *reel_schedule_to_json (const ReelSchedule *schedule, gint64 next_start_at);

/* The definition (times, rule, bodies) as stored; id and progress are kept apart.
 * Returns: (transfer full) */
char *reel_schedule_definition_to_string (const ReelSchedule *schedule);
gboolean reel_schedule_definition_from_string (ReelSchedule *schedule, const char *text,
                                               GError **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (ReelSchedule, reel_schedule_unref)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (ReelOccurrence, reel_occurrence_free)

G_END_DECLS
