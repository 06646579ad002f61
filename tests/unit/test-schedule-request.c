/* Unit tests: POST /v1/schedules bodies. Valid one-shot and recurring schedules, the
 * shown copy without stream keys, and bad bodies each answered with the field named:
 * past start_at for a one-shot, unparsable or unbounded-per-second rrule, unknown
 * time zone, duration_s <= 0 or over the maximum, and the nested recording. */
#include "api/reel-request.h"
#include "api/reel-schedule-request.h"
#include "base/reel-error.h"

static const ReelRequestLimits limits = {
  .max_participants = 8,
  .max_duration_s = 14400,
  .default_width = 1280,
  .default_height = 720,
  .default_framerate = 30,
  .default_bitrate_kbps = 2500,
};

#define NOW (G_GINT64_CONSTANT (1780272000) * G_USEC_PER_SEC) /* 2026-06-01T00:00:00Z */
#define ROOM "{\"provider\":\"synthetic\",\"participants\":[{\"name\":\"A\",\"color\":\"#ff0000\",\"tone_hz\":440}]}"
#define RECORDING "{\"room\":" ROOM ",\"outputs\":[{\"type\":\"file\",\"format\":\"mp4\"}]}"

static ReelSchedule *
parse (const char *text, GError **error)
{
  g_autoptr (JsonNode) root = reel_request_parse_json (text, strlen (text), error);
  g_assert_nonnull (root);
  return reel_request_parse_schedule (root, &limits, NOW, error);
}

static void
test_valid (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (ReelSchedule) one = parse ("{\"start_at\":\"2026-06-01T09:00:00+02:00\",\"duration_s\":60,"
                                        "\"recording\":" RECORDING "}", &error);
  g_assert_no_error (error);
  g_assert_cmpint (one->start_at, ==, NOW + G_GINT64_CONSTANT (7) * 3600 * G_USEC_PER_SEC);
  g_assert_cmpuint (one->duration_s, ==, 60);
  g_assert_null (one->rrule);
  g_assert_cmpstr (one->timezone, ==, "UTC");
  g_assert_null (one->id);

  g_autoptr (ReelSchedule) stop = parse ("{\"start_at\":\"2026-06-01T00:00:10.5Z\",\"stop_at\":"
                                         "\"2026-06-01T00:01:10Z\",\"recording\":" RECORDING "}", &error);
  g_assert_no_error (error);
  g_assert_cmpuint (stop->duration_s, ==, 60); /* 59.5 s, rounded up */
  g_assert_true (stop->has_stop_at);

  g_autoptr (ReelSchedule) weekly = parse ("{\"start_at\":\"2026-05-04T09:00:00+02:00\",\"duration_s\":3600,"
                                           "\"rrule\":\"FREQ=WEEKLY;BYDAY=MO,WE\",\"timezone\":\"Europe/Paris\","
                                           "\"recording\":" RECORDING "}", &error);
  g_assert_no_error (error); /* a past DTSTART is fine for a rule with future occurrences */
  g_assert_cmpstr (weekly->rrule, ==, "FREQ=WEEKLY;BYDAY=MO,WE");
  g_assert_cmpstr (weekly->timezone, ==, "Europe/Paris");
  gint64 next = 0;
  g_assert_true (reel_schedule_next_start (weekly, NOW, &next));
  g_assert_cmpint (next, ==, NOW + G_GINT64_CONSTANT (7) * 3600 * G_USEC_PER_SEC); /* Monday 2026-06-01 09:00 CEST */
}

static void
test_public_copy (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (ReelSchedule) s = parse ("{\"start_at\":\"2026-06-02T00:00:00Z\",\"duration_s\":60,\"recording\":"
                                      "{\"room\":" ROOM ",\"outputs\":[{\"type\":\"rtmp\",\"url\":"
                                      "\"rtmp://127.0.0.1/live/secret-key\"}]}}", &error);
  g_assert_no_error (error);
  g_autofree char *full = json_to_string (s->recording, FALSE);
  g_autofree char *shown = json_to_string (s->recording_public, FALSE);
  g_assert_nonnull (strstr (full, "secret-key")); /* kept to start the occurrences */
  g_assert_null (strstr (shown, "secret-key"));
  g_autoptr (JsonNode) json = reel_schedule_to_json (s, s->start_at);
  g_autofree char *api = json_to_string (json, FALSE);
  g_assert_null (strstr (api, "secret-key"));
}

static void
assert_rejected (const char *body, const char *prefix, const char *needle)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (ReelSchedule) s = parse (body, &error);
  g_assert_null (s);
  g_assert_nonnull (error);
  g_assert_true (error->domain == REEL_ERROR);
  if (!g_str_has_prefix (error->message, prefix) || strstr (error->message, needle) == NULL)
    g_error ("%s\n-> \"%s\": expected prefix \"%s\" and \"%s\"", body, error->message, prefix, needle);
}

#define ONE(extra) "{\"start_at\":\"2026-06-02T00:00:00Z\",\"recording\":" RECORDING extra "}"

static void
test_rejected (void)
{
  assert_rejected ("{\"start_at\":\"2026-05-31T23:59:59Z\",\"duration_s\":60,\"recording\":" RECORDING "}",
                   "start_at: ", "in the future");
  assert_rejected ("{\"duration_s\":60,\"recording\":" RECORDING "}", "start_at: ", "missing");
  assert_rejected ("{\"start_at\":\"2026-06-02T00:00:00\",\"duration_s\":60,\"recording\":" RECORDING "}",
                   "start_at: ", "RFC 3339");
  assert_rejected ("{\"start_at\":\"20260602T000000Z\",\"duration_s\":60,\"recording\":" RECORDING "}",
                   "start_at: ", "RFC 3339");
  assert_rejected ("{\"start_at\":\"2026-W23-2T00:00:00Z\",\"duration_s\":60,\"recording\":" RECORDING "}",
                   "start_at: ", "RFC 3339");
  assert_rejected ("{\"start_at\":1780272000,\"duration_s\":60,\"recording\":" RECORDING "}",
                   "start_at: ", "string");
  assert_rejected ("{\"start_at\":\"2046-06-02T00:00:00Z\",\"duration_s\":60,\"recording\":" RECORDING "}",
                   "start_at: ", "10 years");
  assert_rejected (ONE (",\"duration_s\":0"), "duration_s: ", "from 1 to 14400");
  assert_rejected (ONE (",\"duration_s\":-5"), "duration_s: ", "from 1 to 14400");
  assert_rejected (ONE (",\"duration_s\":14401"), "duration_s: ", "max_duration_s");
  assert_rejected (ONE (",\"duration_s\":1.5"), "duration_s: ", "integer");
  assert_rejected (ONE (""), "duration_s: ", "missing");
  assert_rejected (ONE (",\"duration_s\":5,\"stop_at\":\"2026-06-02T01:00:00Z\""), "stop_at: ", "not both");
  assert_rejected (ONE (",\"stop_at\":\"2026-06-01T23:00:00Z\""), "stop_at: ", "after start_at");
  assert_rejected (ONE (",\"stop_at\":\"2026-06-03T00:00:00Z\""), "stop_at: ", "14400");
  assert_rejected (ONE (",\"stop_at\":\"2026-06-02T01:00:00Z\",\"rrule\":\"FREQ=DAILY\""), "stop_at: ",
                   "one-shot");
  assert_rejected (ONE (",\"duration_s\":5,\"rrule\":\"FREQ=SECONDLY\""), "rrule: ", "unbounded per-second");
  assert_rejected (ONE (",\"duration_s\":5,\"rrule\":\"every monday\""), "rrule: ", "");
  assert_rejected (ONE (",\"duration_s\":5,\"rrule\":\"FREQ=DAILY;BYHOUR=77\""), "rrule: ", "RFC 5545");
  assert_rejected (ONE (",\"duration_s\":5,\"rrule\":5"), "rrule: ", "string");
  assert_rejected (ONE (",\"duration_s\":5,\"timezone\":\"Europe/Atlantis\""), "timezone: ",
                   "unknown time zone \"Europe/Atlantis\"");
  assert_rejected (ONE (",\"duration_s\":5,\"timezone\":\"../../../etc/passwd\""), "timezone: ", "IANA");
  assert_rejected (ONE (",\"duration_s\":5,\"timezone\":null"), "timezone: ", "string");
  assert_rejected ("{\"start_at\":\"2026-06-02T00:00:00Z\",\"duration_s\":5}", "recording: ", "missing");
  assert_rejected ("{\"start_at\":\"2026-06-02T00:00:00Z\",\"duration_s\":5,\"recording\":[]}", "recording: ",
                   "object");
  assert_rejected ("{\"start_at\":\"2026-06-02T00:00:00Z\",\"duration_s\":5,\"recording\":{\"room\":"
                   "{\"provider\":\"synthetic\",\"participants\":[{\"name\":\"A\",\"color\":\"red\","
                   "\"tone_hz\":440}]},\"outputs\":[{\"type\":\"file\",\"format\":\"mp4\"}]}}",
                   "recording.room.participants[0].color: ", "#rrggbb");
  assert_rejected ("{\"start_at\":\"2026-06-02T00:00:00Z\",\"duration_s\":5,\"recording\":{\"room\":" ROOM
                   ",\"outputs\":[{\"type\":\"file\",\"format\":\"mp4\"}],\"a b\":1}}", "recording[\"a b\"]: ",
                   "unknown field");
  assert_rejected (ONE (",\"duration_s\":5,\"name\":\"weekly\""), "name: ", "unknown field");
  assert_rejected (ONE (",\"duration_s\":5,\"x y\":1"), "body: ", "unknown field");
}

/* The seed corpus holds valid schedules for the fuzzer: they must stay valid. */
static void
test_corpus_seeds (void)
{
  static const char *const seeds[] = { "schedule-oneshot.json", "schedule-weekly-paris.json",
                                       "schedule-stop-at.json", "schedule-secondly.json", NULL };
  const char *root = g_getenv ("REEL_SOURCE_ROOT");
  if (root == NULL) {
    g_test_skip ("REEL_SOURCE_ROOT is not set");
    return;
  }
  for (guint i = 0; seeds[i] != NULL; i++) {
    g_autofree char *path = g_build_filename (root, "tests", "fuzz", "corpus", "request", seeds[i], NULL);
    g_autofree char *text = NULL;
    g_autoptr (GError) error = NULL;
    g_assert_true (g_file_get_contents (path, &text, NULL, &error));
    g_autoptr (ReelSchedule) s = parse (text, &error);
    if (s == NULL)
      g_error ("%s: %s", seeds[i], error->message);
  }
}

int
main (int argc, char *argv[])
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/schedule-request/valid", test_valid);
  g_test_add_func ("/schedule-request/public-copy", test_public_copy);
  g_test_add_func ("/schedule-request/rejected", test_rejected);
  g_test_add_func ("/schedule-request/corpus-seeds", test_corpus_seeds);
  return g_test_run ();
}
