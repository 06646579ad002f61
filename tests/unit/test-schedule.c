/* Unit tests: schedule expansion with libical (daylight-saving changes in Europe/Paris
 * and America/New_York, wall-clock gaps and folds, UNTIL east of UTC, COUNT), rule
 * validation (unparsable, unbounded per second, rule parts that would make libical
 * spin, overlaps), time zone names, and the stored definition. */
#include "base/reel-error.h"
#include "base/reel-json.h"
#include "jobs/reel-schedule.h"

static gint64
at (const char *rfc3339)
{
  g_autoptr (GDateTime) dt = g_date_time_new_from_iso8601 (rfc3339, NULL);
  g_assert_nonnull (dt);
  return g_date_time_to_unix (dt) * G_USEC_PER_SEC + g_date_time_get_microsecond (dt);
}

/* Expands and compares with the expected UTC instants (RFC 3339, "Z"). */
static void
assert_expands (const char *rrule, const char *tz, const char *dtstart, const char *from,
                const char *const *want)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GArray) out = g_array_new (FALSE, FALSE, sizeof (gint64));
  guint n = g_strv_length ((char **) want);
  g_assert_true (reel_rrule_expand (rrule, tz, at (dtstart), at (from), n + 1, out, &error));
  g_assert_no_error (error);
  for (guint i = 0; i < MIN (n, out->len); i++) {
    g_autofree char *got = reel_json_time_string (g_array_index (out, gint64, i));
    g_autofree char *expected = reel_json_time_string (at (want[i]));
    if (g_strcmp0 (got, expected) != 0)
      g_error ("%s in %s, occurrence %u: got %s, expected %s", rrule, tz, i, got, expected);
  }
  g_assert_cmpuint (out->len, >=, n);
}

static void
test_dst_paris (void)
{
  /* Mondays 09:00 in Paris: 08:00Z in winter (CET), 07:00Z in summer (CEST); the
   * clocks go forward on 2026-03-29 and back on 2026-10-25. */
  static const char *const spring[] = { "2026-03-16T08:00:00Z", "2026-03-23T08:00:00Z",
                                        "2026-03-30T07:00:00Z", "2026-04-06T07:00:00Z", NULL };
  assert_expands ("FREQ=WEEKLY;BYDAY=MO", "Europe/Paris", "2026-03-16T09:00:00+01:00",
                  "2026-03-01T00:00:00Z", spring);
  static const char *const autumn[] = { "2026-10-19T07:00:00Z", "2026-10-26T08:00:00Z",
                                        "2026-11-02T08:00:00Z", NULL };
  assert_expands ("FREQ=WEEKLY;BYDAY=MO", "Europe/Paris", "2026-03-16T09:00:00+01:00",
                  "2026-10-18T00:00:00Z", autumn);
  /* Two days a week, as in API.md */
  static const char *const two[] = { "2026-03-25T08:00:00Z", "2026-03-30T07:00:00Z",
                                     "2026-04-01T07:00:00Z", NULL };
  assert_expands ("FREQ=WEEKLY;BYDAY=MO,WE", "Europe/Paris", "2026-03-16T09:00:00+01:00",
                  "2026-03-24T00:00:00Z", two);
}

static void
test_dst_new_york (void)
{
  /* Daily 09:00 in New York: 14:00Z (EST) until 2026-03-08, then 13:00Z (EDT) until
   * 2026-11-01, then 14:00Z again. */
  static const char *const spring[] = { "2026-03-06T14:00:00Z", "2026-03-07T14:00:00Z",
                                        "2026-03-08T13:00:00Z", "2026-03-09T13:00:00Z", NULL };
  assert_expands ("FREQ=DAILY", "America/New_York", "2026-03-06T09:00:00-05:00",
                  "2026-03-06T00:00:00Z", spring);
  static const char *const autumn[] = { "2026-10-31T13:00:00Z", "2026-11-01T14:00:00Z",
                                        "2026-11-02T14:00:00Z", NULL };
  assert_expands ("FREQ=DAILY", "America/New_York", "2026-03-06T09:00:00-05:00",
                  "2026-10-31T00:00:00Z", autumn);
  /* first Sunday of the month at 01:30 local: 2026-11-01 01:30 happens twice: the
   * first one (EDT) is taken */
  static const char *const fold[] = { "2026-10-04T05:30:00Z", "2026-11-01T05:30:00Z",
                                      "2026-12-06T06:30:00Z", NULL };
  assert_expands ("FREQ=MONTHLY;BYDAY=1SU", "America/New_York", "2026-10-04T01:30:00-04:00",
                  "2026-10-01T00:00:00Z", fold);
}

static void
test_gap_and_fold (void)
{
  /* 02:30 does not exist in Paris on 2026-03-29: read with the offset before the gap
   * (+01:00), i.e. 01:30Z = 03:30 CEST. */
  static const char *const gap[] = { "2026-03-28T01:30:00Z", "2026-03-29T01:30:00Z",
                                     "2026-03-30T00:30:00Z", NULL };
  assert_expands ("FREQ=DAILY", "Europe/Paris", "2026-03-28T02:30:00+01:00",
                  "2026-03-28T00:00:00Z", gap);
  /* 02:30 happens twice in Paris on 2026-10-25: the first (CEST, 00:30Z) */
  static const char *const fold[] = { "2026-10-24T00:30:00Z", "2026-10-25T00:30:00Z",
                                      "2026-10-26T01:30:00Z", NULL };
  assert_expands ("FREQ=DAILY", "Europe/Paris", "2026-10-24T02:30:00+02:00",
                  "2026-10-24T00:00:00Z", fold);
  /* hourly through the spring gap: no duplicate, strictly increasing */
  g_autoptr (GArray) out = g_array_new (FALSE, FALSE, sizeof (gint64));
  g_assert_true (reel_rrule_expand ("FREQ=HOURLY;COUNT=6", "Europe/Paris", at ("2026-03-29T00:00:00+01:00"),
                                    0, 10, out, NULL));
  for (guint i = 1; i < out->len; i++)
    g_assert_cmpint (g_array_index (out, gint64, i), >, g_array_index (out, gint64, i - 1));
}

static void
test_until_count_and_from (void)
{
  /* UNTIL in UTC, zone east of UTC: 2026-04-30 23:00Z is 01:00 local on 05-01 and
   * still before UNTIL */
  static const char *const until[] = { "2026-04-28T23:00:00Z", "2026-04-29T23:00:00Z",
                                       "2026-04-30T23:00:00Z", NULL };
  g_autoptr (GArray) out = g_array_new (FALSE, FALSE, sizeof (gint64));
  const char *rule = "FREQ=DAILY;UNTIL=20260501T000000Z";
  assert_expands (rule, "Europe/Paris", "2026-04-01T01:00:00+02:00", "2026-04-28T00:00:00Z", until);
  g_assert_true (reel_rrule_expand (rule, "Europe/Paris", at ("2026-04-01T01:00:00+02:00"),
                                    at ("2026-04-28T00:00:00Z"), 10, out, NULL));
  g_assert_cmpuint (out->len, ==, 3);

  g_array_set_size (out, 0);
  g_assert_true (reel_rrule_expand ("FREQ=SECONDLY;INTERVAL=5;COUNT=2", "UTC",
                                    at ("2026-05-01T10:00:00.250Z"), 0, 10, out, NULL));
  g_assert_cmpuint (out->len, ==, 2);
  g_assert_cmpint (g_array_index (out, gint64, 0), ==, at ("2026-05-01T10:00:00.250Z"));
  g_assert_cmpint (g_array_index (out, gint64, 1), ==, at ("2026-05-01T10:00:05.250Z"));

  /* A DTSTART long ago without COUNT: the iterator jumps close to `from`, and gives
   * the same as a full expansion would. */
  static const char *const jump[] = { "2026-06-02T06:00:00Z", "2026-06-03T06:00:00Z", NULL };
  assert_expands ("FREQ=DAILY", "Europe/Paris", "2001-01-01T08:00:00+01:00",
                  "2026-06-01T06:00:00.000001Z", jump);
}

static void
assert_rule_rejected (const char *rrule, guint64 duration_s, const char *needle)
{
  g_autoptr (GError) error = NULL;
  gint64 now = at ("2026-05-01T00:00:00Z");
  gint64 t0 = g_get_monotonic_time ();
  g_assert_false (reel_rrule_check (rrule, "Europe/Paris", at ("2026-05-04T09:00:00Z"), duration_s,
                                    now, &error));
  g_assert_error (error, REEL_ERROR, REEL_ERROR_INVALID_FIELD);
  g_assert_true (g_str_has_prefix (error->message, "rrule: "));
  if (strstr (error->message, needle) == NULL)
    g_error ("rule %s: \"%s\" does not contain \"%s\"", rrule, error->message, needle);
  /* Never spins: the check's work is bounded. The bound here only catches a loop that
   * does not end; the bounded work itself takes up to 2 s under ASan on a busy
   * 2-core machine, so the test gives it ten times that. */
  g_assert_cmpint (g_get_monotonic_time () - t0, <, 20 * G_USEC_PER_SEC);
}

static void
test_rule_validation (void)
{
  gint64 now = at ("2026-05-01T00:00:00Z");
  g_autoptr (GError) error = NULL;
  g_assert_true (reel_rrule_check ("FREQ=WEEKLY;BYDAY=MO,WE", "Europe/Paris", at ("2026-05-04T09:00:00Z"),
                                   3600, now, &error));
  g_assert_no_error (error);
  g_assert_true (reel_rrule_check ("FREQ=SECONDLY;INTERVAL=5;COUNT=2", "UTC", now + 2 * G_USEC_PER_SEC,
                                   3, now, &error));
  g_assert_no_error (error);
  assert_rule_rejected ("", 60, "1 to 512 bytes");
  assert_rule_rejected ("garbage", 60, "NAME=VALUE");
  assert_rule_rejected ("RRULE:FREQ=DAILY", 60, "without \"RRULE:\"");
  assert_rule_rejected ("FREQ=DAILY;FOO=1", 60, "unknown rule part \"FOO\"");
  assert_rule_rejected ("FREQ=DAILY;FREQ=WEEKLY", 60, "twice");
  assert_rule_rejected ("INTERVAL=2", 60, "FREQ is required");
  assert_rule_rejected ("FREQ=FORTNIGHTLY", 60, "not a valid RFC 5545");
  assert_rule_rejected ("FREQ=SECONDLY", 1, "unbounded per-second");
  assert_rule_rejected ("FREQ=SECONDLY;INTERVAL=10", 1, "unbounded per-second");
  assert_rule_rejected ("FREQ=SECONDLY;UNTIL=20300101T000000Z;BYMONTH=2;BYMONTHDAY=30", 1, "BYMONTH");
  assert_rule_rejected ("FREQ=MINUTELY;BYMONTH=2;BYMONTHDAY=30", 1, "spin");
  assert_rule_rejected ("FREQ=HOURLY;BYDAY=MO", 1, "BYDAY cannot be used with FREQ=HOURLY");
  assert_rule_rejected ("FREQ=DAILY;BYMONTHDAY=30;BYMONTH=2", 1, "BYMONTHDAY");
  assert_rule_rejected ("FREQ=WEEKLY;BYDAY=1MO", 60, "ordinal");
  assert_rule_rejected ("FREQ=DAILY;COUNT=0", 60, "COUNT must be from 1 to 10000");
  assert_rule_rejected ("FREQ=DAILY;COUNT=10001", 60, "COUNT must be");
  assert_rule_rejected ("FREQ=DAILY;INTERVAL=70000", 60, "INTERVAL must be from 1 to 32767");
  assert_rule_rejected ("FREQ=DAILY;COUNT=3;UNTIL=20300101T000000Z", 60, "COUNT and UNTIL");
  assert_rule_rejected ("FREQ=HOURLY", 7200, "overlap");
  assert_rule_rejected ("FREQ=DAILY;UNTIL=20260102T000000Z", 60, "no occurrence");
  assert_rule_rejected ("FREQ=DAILY;BYHOUR=99", 60, "not a valid");
  /* a filter that never matches at a coarse frequency: refused quickly, not hung */
  assert_rule_rejected ("FREQ=MONTHLY;BYMONTH=2;BYMONTHDAY=30", 60, "no occurrence");
  assert_rule_rejected ("FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30", 60, "rrule: ");
}

static void
test_timezones (void)
{
  static const char *const good[] = { "UTC", "Europe/Paris", "America/New_York",
                                      "America/Argentina/Buenos_Aires", "Etc/GMT+5", NULL };
  static const char *const bad[] = { "Mars/Olympus_Mons", "../../etc/passwd", "/etc/localtime",
                                     "", "Europe//Paris", "Europe/Paris ", "europe paris",
                                     "Europe/Paris/", NULL };
  for (guint i = 0; good[i] != NULL; i++) {
    g_autoptr (GError) error = NULL;
    g_assert_true (reel_timezone_check (good[i], "timezone", &error));
    g_assert_no_error (error);
  }
  for (guint i = 0; bad[i] != NULL; i++) {
    g_autoptr (GError) error = NULL;
    g_assert_false (reel_timezone_check (bad[i], "timezone", &error));
    g_assert_error (error, REEL_ERROR, REEL_ERROR_INVALID_FIELD);
    g_assert_true (g_str_has_prefix (error->message, "timezone: "));
  }
}

static void
test_next_start_and_storage (void)
{
  g_autoptr (ReelSchedule) s = reel_schedule_new ();
  s->id = reel_schedule_new_id ();
  g_assert_cmpuint (strlen (s->id), ==, 24);
  s->start_at = at ("2026-05-01T10:00:00Z");
  s->duration_s = 60;
  s->recording = json_from_string ("{\"room\":{\"provider\":\"synthetic\"}}", NULL);
  gint64 next = 0;
  g_assert_true (reel_schedule_next_start (s, s->start_at, &next));
  g_assert_cmpint (next, ==, s->start_at);
  g_assert_false (reel_schedule_next_start (s, s->start_at + 1, &next));

  s->rrule = g_strdup ("FREQ=DAILY;COUNT=2");
  s->timezone = (g_free (s->timezone), g_strdup ("Europe/Paris"));
  g_assert_true (reel_schedule_next_start (s, s->start_at + 1, &next));
  g_assert_cmpint (next, ==, at ("2026-05-02T10:00:00Z"));
  g_assert_false (reel_schedule_next_start (s, next + 1, &next));

  g_autofree char *text = reel_schedule_definition_to_string (s);
  g_autoptr (ReelSchedule) back = reel_schedule_new ();
  g_assert_true (reel_schedule_definition_from_string (back, text, NULL));
  g_assert_cmpint (back->start_at, ==, s->start_at);
  g_assert_cmpuint (back->duration_s, ==, 60);
  g_assert_cmpstr (back->rrule, ==, s->rrule);
  g_assert_cmpstr (back->timezone, ==, "Europe/Paris");
  g_assert_true (json_node_equal (back->recording, s->recording));
  g_assert_false (reel_schedule_definition_from_string (back, "[1]", NULL));
  g_assert_false (reel_schedule_definition_from_string (back, "{\"start_at\": 5}", NULL));

  ReelOccurrence *o = reel_occurrence_new (s->start_at, REEL_OCCURRENCE_MISSED);
  reel_schedule_add_occurrence (s, o, 2);
  reel_schedule_add_occurrence (s, reel_occurrence_new (s->start_at, REEL_OCCURRENCE_STARTED), 2);
  reel_schedule_add_occurrence (s, reel_occurrence_new (s->start_at, REEL_OCCURRENCE_FAILED), 2);
  g_assert_cmpuint (s->occurrences->len, ==, 2);
  g_autoptr (JsonNode) json = reel_schedule_to_json (s, next);
  JsonObject *obj = json_node_get_object (json);
  g_assert_cmpstr (json_object_get_string_member (obj, "state"), ==, "active");
  g_assert_cmpstr (json_object_get_string_member (obj, "rrule"), ==, "FREQ=DAILY;COUNT=2");
  g_assert_true (json_object_get_null_member (obj, "stop_at"));
  JsonArray *occ = json_object_get_array_member (obj, "occurrences");
  g_assert_cmpstr (json_object_get_string_member (json_array_get_object_element (occ, 0), "state"), ==,
                   "failed");
}

int
main (int argc, char *argv[])
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/schedule/dst/europe-paris", test_dst_paris);
  g_test_add_func ("/schedule/dst/america-new-york", test_dst_new_york);
  g_test_add_func ("/schedule/dst/gap-and-fold", test_gap_and_fold);
  g_test_add_func ("/schedule/until-count-from", test_until_count_and_from);
  g_test_add_func ("/schedule/rule-validation", test_rule_validation);
  g_test_add_func ("/schedule/timezones", test_timezones);
  g_test_add_func ("/schedule/next-start-and-storage", test_next_start_and_storage);
  return g_test_run ();
}
