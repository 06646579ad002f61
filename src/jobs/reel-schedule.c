/* reel-schedule.c: schedule records and RFC 5545 expansion with libical.
 *
 * Why the rule grammar is narrower than RFC 5545: libical's iterator looks for the
 * next occurrence by stepping at the rule's frequency until the BY* filters match,
 * up to the year 2582, inside one call that cannot be interrupted. A filter coarser
 * than the frequency that never matches ("FREQ=SECONDLY;BYMONTH=2;BYMONTHDAY=30")
 * spins for minutes on the main loop. So sub-daily frequencies may only use BY parts
 * that expand (BYSECOND for MINUTELY; BYSECOND, BYMINUTE for HOURLY), DAILY adds
 * filters that match at least once a year (BYHOUR, BYDAY without ordinals,
 * BYMONTH), and only WEEKLY, MONTHLY and YEARLY take every part (their worst case,
 * a filter that never matches, costs well under a second). FREQ=SECONDLY must be
 * bounded by COUNT or UNTIL: an unbounded per-second rule is refused.
 */
#include "jobs/reel-schedule.h"

#include <libical/ical.h>
#include <string.h>

#include "base/reel-error.h"
#include "base/reel-json.h"

#define MAX_STEPS 100000          /* icalrecur_iterator_next() calls per expansion */
#define MAX_TZID_BYTES 64

static const char *occurrence_names[] = {
  [REEL_OCCURRENCE_STARTED] = "started",
  [REEL_OCCURRENCE_MISSED] = "missed",
  [REEL_OCCURRENCE_FAILED] = "failed",
};

/**
 * reel_occurrence_state_to_string:
 * Returns: (transfer none): the API name of @state
 */
const char *
reel_occurrence_state_to_string (ReelOccurrenceState state)
{
  return (gsize) state < G_N_ELEMENTS (occurrence_names) ? occurrence_names[state] : "failed";
}

/**
 * reel_occurrence_state_from_string:
 * @state: (out): the state
 * Returns: %TRUE if @name is a state name
 */
gboolean
reel_occurrence_state_from_string (const char *name, ReelOccurrenceState *state)
{
  for (gsize i = 0; i < G_N_ELEMENTS (occurrence_names); i++) {
    if (g_strcmp0 (name, occurrence_names[i]) == 0) {
      *state = (ReelOccurrenceState) i;
      return TRUE;
    }
  }
  return FALSE;
}

/**
 * reel_occurrence_new:
 * Returns: (transfer full): an occurrence handled now
 */
ReelOccurrence *
reel_occurrence_new (gint64 start_at, ReelOccurrenceState state)
{
  ReelOccurrence *o = g_new0 (ReelOccurrence, 1);
  o->start_at = start_at;
  o->handled_at = g_get_real_time ();
  o->state = state;
  return o;
}

void
reel_occurrence_free (ReelOccurrence *o)
{
  if (o == NULL)
    return;
  g_free (o->recording_id);
  g_free (o->error_code);
  g_free (o->error_message);
  g_free (o);
}

/**
 * reel_schedule_new_id:
 * Returns: (transfer full): a fresh id
 */
char *
reel_schedule_new_id (void)
{
  GString *id = g_string_new ("sch_");
  for (int i = 0; i < 3; i++)
    g_string_append_printf (id, "%08x", g_random_int ());
  g_string_truncate (id, 4 + 20);
  return g_string_free (id, FALSE);
}

/**
 * reel_schedule_new:
 * Returns: (transfer full): an empty schedule
 */
ReelSchedule *
reel_schedule_new (void)
{
  ReelSchedule *s = g_new0 (ReelSchedule, 1);
  s->ref_count = 1;
  s->timezone = g_strdup ("UTC");
  s->occurrences = g_ptr_array_new_with_free_func ((GDestroyNotify) reel_occurrence_free);
  return s;
}

/**
 * reel_schedule_ref:
 * Returns: (transfer full): @schedule
 */
ReelSchedule *
reel_schedule_ref (ReelSchedule *schedule)
{
  g_atomic_int_inc (&schedule->ref_count);
  return schedule;
}

void
reel_schedule_unref (ReelSchedule *s)
{
  if (s == NULL || !g_atomic_int_dec_and_test (&s->ref_count))
    return;
  g_free (s->id);
  g_free (s->rrule);
  g_free (s->timezone);
  g_clear_pointer (&s->recording, json_node_unref);
  g_clear_pointer (&s->recording_public, json_node_unref);
  g_ptr_array_unref (s->occurrences);
  g_free (s);
}

/**
 * reel_schedule_add_occurrence:
 * @occurrence: (transfer full): what happened
 */
void
reel_schedule_add_occurrence (ReelSchedule *schedule, ReelOccurrence *occurrence, guint keep)
{
  g_ptr_array_insert (schedule->occurrences, 0, occurrence);
  if (schedule->occurrences->len > keep)
    g_ptr_array_set_size (schedule->occurrences, keep);
}

/* ---------- time zones ---------- */

static gpointer
ical_init_once (gpointer unused)
{
  /* libical may abort on errors by default: a bad request must never do that */
  icalerror_set_errors_are_fatal (0);
  return NULL;
}

static void
ical_init (void)
{
  static GOnce once = G_ONCE_INIT;
  g_once (&once, ical_init_once, NULL);
}

/* "Area/City_Name", letters, digits, '_', '-', '+' and '/': the name is used by
 * libical as a path under the zoneinfo directory, so nothing else gets there. */
static gboolean
is_tzid_syntax (const char *tzid)
{
  gsize len = strlen (tzid);
  if (len == 0 || len > MAX_TZID_BYTES || tzid[0] == '/' || tzid[len - 1] == '/' ||
      strstr (tzid, "//") != NULL || strstr (tzid, "..") != NULL)
    return FALSE;
  for (const char *p = tzid; *p != '\0'; p++)
    if (!g_ascii_isalnum (*p) && strchr ("_-+/", *p) == NULL)
      return FALSE;
  return g_ascii_isalpha (tzid[0]);
}

static icaltimezone *
find_zone (const char *tzid)
{
  ical_init ();
  if (tzid == NULL || !is_tzid_syntax (tzid))
    return NULL;
  if (g_str_equal (tzid, "UTC"))
    return icaltimezone_get_utc_timezone ();
  return icaltimezone_get_builtin_timezone (tzid);
}

/**
 * reel_timezone_check:
 * @path: the field's path for the message
 * Returns: %TRUE if libical knows @tzid
 */
gboolean
reel_timezone_check (const char *tzid, const char *path, GError **error)
{
  if (tzid != NULL && !is_tzid_syntax (tzid)) {
    g_set_error (error, REEL_ERROR, REEL_ERROR_INVALID_FIELD,
                 "%s: expected an IANA time zone name like \"Europe/Paris\"", path);
    return FALSE;
  }
  if (find_zone (tzid) == NULL) {
    g_set_error (error, REEL_ERROR, REEL_ERROR_INVALID_FIELD, "%s: unknown time zone \"%s\"",
                 path, tzid ? tzid : ""); /* safe to echo: the syntax was checked */
    return FALSE;
  }
  return TRUE;
}

/* The UTC offset (seconds east) of @zone at the instant @utc. */
static int
offset_at (icaltimezone *zone, gint64 utc)
{
  struct icaltimetype t = icaltime_from_timet_with_zone ((time_t) utc, 0,
                                                         icaltimezone_get_utc_timezone ());
  return icaltimezone_get_utc_offset_of_utc_time (zone, &t, NULL);
}

/* Wall-clock seconds (@local, as if it were UTC) in @zone → the UTC instant. Offsets
 * change at most once around a given day, so the offsets a day before and after are
 * the only candidates. A time that occurs twice is the first one, a time in a gap is
 * read with the offset before the gap (RFC 5545, 3.3.5). */
static gint64
local_to_utc (icaltimezone *zone, gint64 local)
{
  int before = offset_at (zone, local - 86400), after = offset_at (zone, local + 86400);
  gint64 a = local - before, b = local - after;
  gboolean a_ok = a + offset_at (zone, a) == local;
  gboolean b_ok = b + offset_at (zone, b) == local;
  if (a_ok && b_ok)
    return MIN (a, b);
  if (a_ok || b_ok)
    return a_ok ? a : b;
  return a;
}

/* Floating (zone-less) wall-clock time of @utc in @zone. */
static struct icaltimetype
to_local (icaltimezone *zone, gint64 utc)
{
  return icaltime_from_timet_with_zone ((time_t) (utc + offset_at (zone, utc)), 0, NULL);
}

/* ---------- rule syntax ---------- */

enum {
  P_FREQ, P_INTERVAL, P_COUNT, P_UNTIL, P_BYSECOND, P_BYMINUTE, P_BYHOUR, P_BYDAY,
  P_BYMONTHDAY, P_BYYEARDAY, P_BYWEEKNO, P_BYMONTH, P_BYSETPOS, P_WKST, N_PARTS
};

static const char *const part_names[N_PARTS] = {
  "FREQ", "INTERVAL", "COUNT", "UNTIL", "BYSECOND", "BYMINUTE", "BYHOUR", "BYDAY",
  "BYMONTHDAY", "BYYEARDAY", "BYWEEKNO", "BYMONTH", "BYSETPOS", "WKST",
};

#define BIT(p) (1u << (p))
#define BY_ALL (BIT (P_BYSECOND) | BIT (P_BYMINUTE) | BIT (P_BYHOUR) | BIT (P_BYDAY) | \
                BIT (P_BYMONTHDAY) | BIT (P_BYYEARDAY) | BIT (P_BYWEEKNO) | BIT (P_BYMONTH) | \
                BIT (P_BYSETPOS))

static guint
allowed_by_parts (icalrecurrencetype_frequency freq)
{
  switch (freq) {
  case ICAL_SECONDLY_RECURRENCE:
    return 0;
  case ICAL_MINUTELY_RECURRENCE:
    return BIT (P_BYSECOND);
  case ICAL_HOURLY_RECURRENCE:
    return BIT (P_BYSECOND) | BIT (P_BYMINUTE);
  case ICAL_DAILY_RECURRENCE:
    return BIT (P_BYSECOND) | BIT (P_BYMINUTE) | BIT (P_BYHOUR) | BIT (P_BYDAY) | BIT (P_BYMONTH);
  default:
    return BY_ALL;
  }
}

static gboolean G_GNUC_PRINTF (2, 3)
rule_error (GError **error, const char *format, ...)
{
  va_list args;
  va_start (args, format);
  g_autofree char *detail = g_strdup_vprintf (format, args);
  va_end (args);
  g_set_error (error, REEL_ERROR, REEL_ERROR_INVALID_FIELD, "rrule: %s", detail);
  return FALSE;
}

/* COUNT and INTERVAL: checked on the text, libical keeps them in narrow integers. */
static gboolean
check_bounded (const char *name, const char *value, GError **error)
{
  guint64 max = g_str_equal (name, "COUNT") ? REEL_SCHEDULE_MAX_COUNT : REEL_SCHEDULE_MAX_INTERVAL;
  guint64 v = 0;
  if (!g_ascii_string_to_unsigned (value, 10, 1, max, &v, NULL))
    return rule_error (error, "%s must be from 1 to %" G_GUINT64_FORMAT, name, max);
  return TRUE;
}

/* NAME=VALUE parts separated by ';', known names only, each once: sets @parts. */
static gboolean
scan_parts (const char *rrule, guint *parts, GError **error)
{
  gsize len = strlen (rrule);
  if (len == 0 || len > REEL_SCHEDULE_MAX_RULE_BYTES)
    return rule_error (error, "must be 1 to %d bytes", REEL_SCHEDULE_MAX_RULE_BYTES);
  for (gsize i = 0; i < len; i++)
    if (!g_ascii_isalnum (rrule[i]) && strchr ("=;,+-", rrule[i]) == NULL)
      return rule_error (error, "must be ASCII letters, digits and \"=;,+-\" (a rule without \"RRULE:\")");
  g_auto (GStrv) items = g_strsplit (rrule, ";", -1);
  *parts = 0;
  for (guint i = 0; items[i] != NULL; i++) {
    const char *eq = strchr (items[i], '=');
    if (eq == NULL || eq == items[i] || eq[1] == '\0')
      return rule_error (error, "expected NAME=VALUE parts separated by \";\"");
    g_autofree char *name = g_strndup (items[i], (gsize) (eq - items[i]));
    guint p = 0;
    while (p < N_PARTS && !g_str_equal (name, part_names[p]))
      p++;
    if (p == N_PARTS)
      return rule_error (error, "unknown rule part \"%.16s\"", name); /* checked: alphanumeric */
    if (*parts & BIT (p))
      return rule_error (error, "%s is given twice", part_names[p]);
    *parts |= BIT (p);
    if ((p == P_COUNT || p == P_INTERVAL) && !check_bounded (part_names[p], eq + 1, error))
      return FALSE;
  }
  if (!(*parts & BIT (P_FREQ)))
    return rule_error (error, "FREQ is required");
  if ((*parts & BIT (P_COUNT)) && (*parts & BIT (P_UNTIL)))
    return rule_error (error, "COUNT and UNTIL cannot both be given");
  return TRUE;
}

static gboolean
has_ordinal_byday (const struct icalrecurrencetype *r)
{
  for (int i = 0; i < ICAL_BY_DAY_SIZE && r->by_day[i] != ICAL_RECURRENCE_ARRAY_MAX; i++)
    if (icalrecurrencetype_day_position (r->by_day[i]) != 0)
      return TRUE;
  return FALSE;
}

/* Parses @rrule with libical and applies the grammar limits of this file. */
static gboolean
parse_rule (const char *rrule, struct icalrecurrencetype *rule, GError **error)
{
  guint parts = 0;
  if (!scan_parts (rrule, &parts, error))
    return FALSE;
  ical_init ();
  icalerror_clear_errno ();
  *rule = icalrecurrencetype_from_string (rrule);
  if (rule->freq == ICAL_NO_RECURRENCE || icalerrno != ICAL_NO_ERROR) {
    icalerror_clear_errno ();
    return rule_error (error, "not a valid RFC 5545 recurrence rule");
  }
  guint by = parts & BY_ALL, allowed = allowed_by_parts (rule->freq);
  for (guint p = 0; p < N_PARTS; p++)
    if ((by & BIT (p)) && !(allowed & BIT (p)))
      return rule_error (error, "%s cannot be used with FREQ=%s (it could make the expansion spin)",
                         part_names[p], icalrecur_freq_to_string (rule->freq));
  if ((rule->freq == ICAL_DAILY_RECURRENCE || rule->freq == ICAL_WEEKLY_RECURRENCE) &&
      has_ordinal_byday (rule))
    return rule_error (error, "BYDAY with an ordinal (like 1MO) needs FREQ=MONTHLY or YEARLY");
  if (rule->freq == ICAL_SECONDLY_RECURRENCE && !(parts & (BIT (P_COUNT) | BIT (P_UNTIL))))
    return rule_error (error, "FREQ=SECONDLY needs COUNT or UNTIL: unbounded per-second rules are refused");
  return TRUE;
}

/* ---------- expansion ---------- */

/* libical compares UNTIL with the floating wall-clock occurrences: a UTC UNTIL is
 * moved to wall-clock time of @zone first, or east of UTC the last ones would go. */
static void
localize_until (struct icalrecurrencetype *rule, icaltimezone *zone)
{
  if (icaltime_is_null_time (rule->until) || rule->until.is_date || !icaltime_is_utc (rule->until))
    return;
  gint64 until = (gint64) icaltime_as_timet (rule->until);
  rule->until = to_local (zone, until);
}

static icalrecur_iterator *
new_iterator (struct icalrecurrencetype *rule, icaltimezone *zone, gint64 dtstart_s, gint64 from_s)
{
  localize_until (rule, zone);
  icalrecur_iterator *it = icalrecur_iterator_new (*rule, to_local (zone, dtstart_s));
  /* Without COUNT, jump close to @from rather than stepping from DTSTART (a day
   * early: the wall-clock offset is not known before expanding). */
  if (it != NULL && rule->count == 0 && from_s - 86400 > dtstart_s)
    icalrecur_iterator_set_start (it, to_local (zone, from_s - 86400));
  icalerror_clear_errno ();
  return it;
}

static void
ical_iterator_free (icalrecur_iterator *it)
{
  icalrecur_iterator_free (it);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (icalrecur_iterator, ical_iterator_free)

/**
 * reel_rrule_expand:
 * @out: (element-type gint64): occurrence starts are appended here
 * Returns: %FALSE with REEL_ERROR_INVALID_FIELD if the rule or zone is invalid
 */
gboolean
reel_rrule_expand (const char *rrule, const char *tzid, gint64 dtstart, gint64 from, guint max,
                   GArray *out, GError **error)
{
  struct icalrecurrencetype rule;
  icaltimezone *zone = find_zone (tzid);
  if (zone == NULL)
    return reel_timezone_check (tzid, "timezone", error);
  if (!parse_rule (rrule, &rule, error))
    return FALSE;
  gint64 sec0 = dtstart / G_USEC_PER_SEC, frac = dtstart % G_USEC_PER_SEC;
  g_autoptr (icalrecur_iterator) it = new_iterator (&rule, zone, sec0, from / G_USEC_PER_SEC);
  if (it == NULL)
    return rule_error (error, "not a valid RFC 5545 recurrence rule");
  gint64 last = G_MININT64;
  guint found = 0;
  for (guint step = 0; step < MAX_STEPS && found < max; step++) {
    struct icaltimetype t = icalrecur_iterator_next (it);
    if (icaltime_is_null_time (t))
      break;
    gint64 at = local_to_utc (zone, (gint64) icaltime_as_timet (t)) * G_USEC_PER_SEC + frac;
    if (at <= last || at < from) /* a wall-clock time that folded onto an earlier one */
      continue;
    last = at;
    g_array_append_val (out, at);
    found++;
  }
  icalerror_clear_errno ();
  return TRUE;
}

static gboolean
check_spacing (GArray *starts, guint64 duration_s, GError **error)
{
  for (guint i = 0; i + 1 < starts->len; i++) {
    gint64 a = g_array_index (starts, gint64, i), b = g_array_index (starts, gint64, i + 1);
    if ((guint64) (b - a) < duration_s * G_USEC_PER_SEC) {
      g_autofree char *ta = reel_json_time_string (a);
      return rule_error (error, "occurrences at %s and %.0f s later overlap with duration_s %"
                         G_GUINT64_FORMAT ": occurrences of a schedule must not overlap",
                         ta ? ta : "?", (double) (b - a) / G_USEC_PER_SEC, duration_s);
    }
  }
  return TRUE;
}

/**
 * reel_rrule_check:
 * Returns: %TRUE if @rrule is accepted for this schedule
 */
gboolean
reel_rrule_check (const char *rrule, const char *tzid, gint64 dtstart, guint64 duration_s,
                  gint64 now, GError **error)
{
  g_autoptr (GArray) starts = g_array_new (FALSE, FALSE, sizeof (gint64));
  if (!reel_rrule_expand (rrule, tzid, dtstart, MAX (dtstart, now),
                          REEL_SCHEDULE_CHECK_OCCURRENCES, starts, error))
    return FALSE;
  if (starts->len == 0)
    return rule_error (error, "no occurrence at or after now (COUNT or UNTIL is already reached)");
  return check_spacing (starts, duration_s, error);
}

/**
 * reel_schedule_next_starts:
 * Returns: (transfer full) (element-type gint64): up to @max starts at or after @from
 */
GArray *
reel_schedule_next_starts (const ReelSchedule *s, gint64 from, guint max)
{
  GArray *starts = g_array_new (FALSE, FALSE, sizeof (gint64));
  if (max == 0)
    return starts;
  if (s->rrule == NULL) {
    if (s->start_at >= from)
      g_array_append_val (starts, s->start_at);
    return starts;
  }
  if (!reel_rrule_expand (s->rrule, s->timezone, s->start_at, from, max, starts, NULL))
    g_array_set_size (starts, 0); /* a stored rule that no longer parses has nothing left */
  return starts;
}

/**
 * reel_schedule_next_start:
 * @start: (out): the start found
 * Returns: %TRUE if there is an occurrence at or after @from
 */
gboolean
reel_schedule_next_start (const ReelSchedule *s, gint64 from, gint64 *start)
{
  g_autoptr (GArray) starts = reel_schedule_next_starts (s, from, 1);
  if (starts->len == 0)
    return FALSE;
  *start = g_array_index (starts, gint64, 0);
  return TRUE;
}

/* ---------- JSON ---------- */

static void
add_occurrences (JsonBuilder *b, const ReelSchedule *s)
{
  json_builder_set_member_name (b, "occurrences");
  json_builder_begin_array (b);
  for (guint i = 0; i < s->occurrences->len; i++) {
    const ReelOccurrence *o = g_ptr_array_index (s->occurrences, i);
    json_builder_begin_object (b);
    reel_json_add_time (b, "start_at", o->start_at);
    reel_json_add_time (b, "handled_at", o->handled_at);
    json_builder_set_member_name (b, "state");
    json_builder_add_string_value (b, reel_occurrence_state_to_string (o->state));
    reel_json_add_string_or_null (b, "recording_id", o->recording_id);
    json_builder_set_member_name (b, "error");
    if (o->error_code == NULL) {
      json_builder_add_null_value (b);
    } else {
      json_builder_begin_object (b);
      json_builder_set_member_name (b, "code");
      json_builder_add_string_value (b, o->error_code);
      json_builder_set_member_name (b, "message");
      json_builder_add_string_value (b, o->error_message ? o->error_message : "");
      json_builder_end_object (b);
    }
    json_builder_end_object (b);
  }
  json_builder_end_array (b);
}

/**
 * reel_schedule_to_json:
 * @next_start_at: the next occurrence, 0 for none
 * Returns: (transfer full): the schedule object
 */
JsonNode *
reel_schedule_to_json (const ReelSchedule *s, gint64 next_start_at)
{
  g_autoptr (JsonBuilder) b = json_builder_new ();
  json_builder_begin_object (b);
  reel_json_add_string_or_null (b, "id", s->id);
  json_builder_set_member_name (b, "state");
  json_builder_add_string_value (b, s->completed ? "completed" : "active");
  reel_json_add_time (b, "created_at", s->created_at);
  reel_json_add_time (b, "start_at", s->start_at);
  json_builder_set_member_name (b, "duration_s");
  json_builder_add_int_value (b, (gint64) s->duration_s);
  reel_json_add_time (b, "stop_at", s->rrule == NULL
                                    ? s->start_at + (gint64) s->duration_s * G_USEC_PER_SEC : 0);
  reel_json_add_string_or_null (b, "rrule", s->rrule);
  reel_json_add_string_or_null (b, "timezone", s->timezone);
  reel_json_add_time (b, "next_start_at", next_start_at);
  json_builder_set_member_name (b, "recording");
  if (s->recording_public != NULL)
    json_builder_add_value (b, json_node_copy (s->recording_public));
  else
    json_builder_add_null_value (b);
  add_occurrences (b, s);
  json_builder_end_object (b);
  return json_builder_get_root (b);
}

/**
 * reel_schedule_definition_to_string:
 * Returns: (transfer full): JSON text of the definition
 */
char *
reel_schedule_definition_to_string (const ReelSchedule *s)
{
  g_autoptr (JsonBuilder) b = json_builder_new ();
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "start_at");
  json_builder_add_int_value (b, s->start_at);
  json_builder_set_member_name (b, "duration_s");
  json_builder_add_int_value (b, (gint64) s->duration_s);
  json_builder_set_member_name (b, "has_stop_at");
  json_builder_add_boolean_value (b, s->has_stop_at);
  reel_json_add_string_or_null (b, "rrule", s->rrule);
  reel_json_add_string_or_null (b, "timezone", s->timezone);
  json_builder_set_member_name (b, "recording");
  json_builder_add_value (b, s->recording ? json_node_copy (s->recording) : json_node_new (JSON_NODE_NULL));
  json_builder_set_member_name (b, "recording_public");
  json_builder_add_value (b, s->recording_public ? json_node_copy (s->recording_public)
                                                 : json_node_new (JSON_NODE_NULL));
  json_builder_end_object (b);
  g_autoptr (JsonNode) root = json_builder_get_root (b);
  return reel_json_to_string (root);
}

static JsonNode *
object_member_copy (JsonObject *obj, const char *name)
{
  JsonNode *n = json_object_get_member (obj, name);
  return n != NULL && JSON_NODE_HOLDS_OBJECT (n) ? json_node_copy (n) : NULL;
}

/**
 * reel_schedule_definition_from_string:
 * Returns: %TRUE if @text is a stored definition; fills @schedule
 */
gboolean
reel_schedule_definition_from_string (ReelSchedule *s, const char *text, GError **error)
{
  g_autoptr (JsonParser) parser = json_parser_new ();
  if (!json_parser_load_from_data (parser, text, -1, NULL) ||
      !JSON_NODE_HOLDS_OBJECT (json_parser_get_root (parser))) {
    g_set_error (error, REEL_ERROR, REEL_ERROR_INTERNAL, "stored schedule: not a JSON object");
    return FALSE;
  }
  JsonObject *obj = json_node_get_object (json_parser_get_root (parser));
  s->start_at = json_object_get_int_member_with_default (obj, "start_at", 0);
  s->duration_s = (guint64) MAX (json_object_get_int_member_with_default (obj, "duration_s", 1), 1);
  s->has_stop_at = json_object_get_boolean_member_with_default (obj, "has_stop_at", FALSE);
  g_free (s->rrule);
  s->rrule = g_strdup (json_object_get_string_member_with_default (obj, "rrule", NULL));
  g_free (s->timezone);
  s->timezone = g_strdup (json_object_get_string_member_with_default (obj, "timezone", "UTC"));
  g_clear_pointer (&s->recording, json_node_unref);
  g_clear_pointer (&s->recording_public, json_node_unref);
  s->recording = object_member_copy (obj, "recording");
  s->recording_public = object_member_copy (obj, "recording_public");
  if (s->start_at <= 0 || s->recording == NULL || s->timezone == NULL) {
    g_set_error (error, REEL_ERROR, REEL_ERROR_INTERNAL, "stored schedule: missing fields");
    return FALSE;
  }
  return TRUE;
}
