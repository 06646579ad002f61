/* reel-schedule-request.c: POST /v1/schedules bodies.
 *
 * The text was already checked by reel_request_parse_json() (strict JSON, depth,
 * duplicates). Only validated text is echoed in messages (time zone names after
 * their syntax check, member names made of [A-Za-z0-9_-]); the recording body is
 * validated by reel_request_parse_recording() and its messages get "recording." in
 * front. The recording body is kept as given (it is validated again at every
 * occurrence, with the limits of that day) and a copy without secrets is made for
 * showing: the room as the recording object shows it, stream keys redacted.
 */
#include "api/reel-schedule-request.h"

#include <string.h>

#include "api/reel-request.h"
#include "base/reel-error.h"

#define MAX_NAME_ECHO 32

static gboolean G_GNUC_PRINTF (3, 4)
invalid (GError **error, const char *path, const char *format, ...)
{
  va_list args;
  va_start (args, format);
  g_autofree char *detail = g_strdup_vprintf (format, args);
  va_end (args);
  g_set_error (error, REEL_ERROR, REEL_ERROR_INVALID_FIELD, "%s: %s", path, detail);
  return FALSE;
}

static gboolean
is_plain_name (const char *name)
{
  gsize len = strlen (name);
  if (len == 0 || len > MAX_NAME_ECHO)
    return FALSE;
  for (const char *p = name; *p != '\0'; p++)
    if (!g_ascii_isalnum (*p) && *p != '_' && *p != '-')
      return FALSE;
  return TRUE;
}

static gboolean
check_members (JsonObject *body, GError **error)
{
  static const char *const known[] = { "start_at", "duration_s", "stop_at", "rrule", "timezone",
                                       "recording", NULL };
  g_autoptr (GList) names = json_object_get_members (body);
  for (GList *l = names; l != NULL; l = l->next) {
    if (g_strv_contains (known, l->data))
      continue;
    if (is_plain_name (l->data))
      return invalid (error, l->data, "unknown field");
    return invalid (error, "body", "unknown field (a name that is not [A-Za-z0-9_-]{1,32})");
  }
  return TRUE;
}

static const char *
string_member (JsonObject *body, const char *name, gboolean required, GError **error)
{
  JsonNode *node = json_object_get_member (body, name);
  if (node == NULL) {
    if (required)
      invalid (error, name, "missing required field");
    return NULL;
  }
  if (!JSON_NODE_HOLDS_VALUE (node) || json_node_get_value_type (node) != G_TYPE_STRING) {
    invalid (error, name, "expected a string");
    return NULL;
  }
  return json_node_get_string (node);
}

/* YYYY-MM-DDTHH:MM:SS[.fraction](Z|±HH:MM): RFC 3339, always with an offset. */
static gboolean
is_rfc3339 (const char *t)
{
  static const char shape[] = "dddd-dd-ddTdd:dd:dd";
  gsize n = strlen (shape), len = strlen (t);
  if (len < n + 1 || len > 40)
    return FALSE;
  for (gsize i = 0; i < n; i++)
    if (shape[i] == 'd' ? !g_ascii_isdigit (t[i]) : (i == 10 ? (t[i] != 'T' && t[i] != 't')
                                                             : t[i] != shape[i]))
      return FALSE;
  const char *p = t + n;
  if (*p == '.') {
    const char *digits = ++p;
    while (g_ascii_isdigit (*p))
      p++;
    if (p == digits || p - digits > 9)
      return FALSE;
  }
  if ((*p == 'Z' || *p == 'z') && p[1] == '\0')
    return TRUE;
  return (*p == '+' || *p == '-') && g_ascii_isdigit (p[1]) && g_ascii_isdigit (p[2]) && p[3] == ':' &&
         g_ascii_isdigit (p[4]) && g_ascii_isdigit (p[5]) && p[6] == '\0';
}

/* @value: (out): microseconds since the epoch */
static gboolean
parse_time (JsonObject *body, const char *name, gint64 now, gint64 *value, GError **error)
{
  const char *text = string_member (body, name, FALSE, error);
  if (text == NULL)
    return FALSE;
  g_autoptr (GDateTime) dt = is_rfc3339 (text) ? g_date_time_new_from_iso8601 (text, NULL) : NULL;
  if (dt == NULL)
    return invalid (error, name, "expected an RFC 3339 time with an offset, like "
                    "\"2026-12-01T09:00:00+01:00\" or \"2026-12-01T08:00:00Z\"");
  *value = g_date_time_to_unix (dt) * G_USEC_PER_SEC + g_date_time_get_microsecond (dt);
  gint64 horizon = (gint64) REEL_SCHEDULE_HORIZON_S * G_USEC_PER_SEC;
  if (*value < now - horizon || *value > now + horizon)
    return invalid (error, name, "must be within 10 years from now");
  return TRUE;
}

static gboolean
parse_duration (JsonObject *body, const ReelRequestLimits *limits, ReelSchedule *s, GError **error)
{
  JsonNode *node = json_object_get_member (body, "duration_s");
  gboolean has_stop = json_object_has_member (body, "stop_at");
  if (node != NULL && has_stop)
    return invalid (error, "stop_at", "give duration_s or stop_at, not both");
  if (node == NULL && !has_stop)
    return invalid (error, "duration_s", "missing required field (or give stop_at)");
  if (node != NULL) {
    if (!JSON_NODE_HOLDS_VALUE (node) || json_node_get_value_type (node) != G_TYPE_INT64)
      return invalid (error, "duration_s", "expected an integer");
    gint64 v = json_node_get_int (node);
    if (v < 1 || (guint64) v > limits->max_duration_s)
      return invalid (error, "duration_s", "must be an integer from 1 to %" G_GUINT64_FORMAT
                      " ([limits] max_duration_s)", limits->max_duration_s);
    s->duration_s = (guint64) v;
    return TRUE;
  }
  if (json_object_has_member (body, "rrule"))
    return invalid (error, "stop_at", "only for a one-shot schedule; give duration_s with rrule");
  gint64 stop = 0;
  if (!parse_time (body, "stop_at", s->start_at, &stop, error))
    return FALSE;
  if (stop <= s->start_at)
    return invalid (error, "stop_at", "must be after start_at");
  guint64 seconds = (guint64) ((stop - s->start_at + G_USEC_PER_SEC - 1) / G_USEC_PER_SEC);
  if (seconds > limits->max_duration_s)
    return invalid (error, "stop_at", "must be at most %" G_GUINT64_FORMAT
                    " s after start_at ([limits] max_duration_s)", limits->max_duration_s);
  s->duration_s = seconds;
  s->has_stop_at = TRUE;
  return TRUE;
}

/* The body for showing: the room as the recording object shows it, keys redacted. */
static JsonNode *
public_recording (JsonNode *body, const ReelRecordingSpec *spec)
{
  /* json_node_copy() shares objects: edit a deep copy, never the body itself */
  g_autofree char *text = json_to_string (body, FALSE);
  JsonNode *copy = json_from_string (text, NULL);
  JsonObject *obj = json_node_get_object (copy);
  if (spec->room != NULL && spec->room->public_json != NULL)
    json_object_set_member (obj, "room", json_node_copy (spec->room->public_json));
  JsonNode *outputs = json_object_get_member (obj, "outputs");
  JsonArray *array = outputs && JSON_NODE_HOLDS_ARRAY (outputs) ? json_node_get_array (outputs) : NULL;
  for (guint i = 0; array != NULL && i < json_array_get_length (array); i++) {
    JsonNode *item = json_array_get_element (array, i);
    JsonObject *out = JSON_NODE_HOLDS_OBJECT (item) ? json_node_get_object (item) : NULL;
    const char *url = out ? json_object_get_string_member_with_default (out, "url", NULL) : NULL;
    if (url != NULL) {
      g_autofree char *shown = reel_redact_stream_url (url);
      json_object_set_string_member (out, "url", shown);
    }
  }
  return copy;
}

static gboolean
parse_recording (JsonObject *body, const ReelRequestLimits *limits, ReelSchedule *s, GError **error)
{
  JsonNode *node = json_object_get_member (body, "recording");
  if (node == NULL)
    return invalid (error, "recording", "missing required field");
  if (!JSON_NODE_HOLDS_OBJECT (node))
    return invalid (error, "recording", "expected an object (a POST /v1/recordings body)");
  g_autoptr (ReelRecordingSpec) spec = reel_request_parse_recording (node, limits, error);
  if (spec == NULL) {
    if (error != NULL && *error != NULL)
      g_prefix_error (error, (*error)->message[0] == '[' ? "recording" : "recording.");
    return FALSE;
  }
  s->recording = json_node_copy (node);
  s->recording_public = public_recording (node, spec);
  return TRUE;
}

static gboolean
parse_rule_and_zone (JsonObject *body, gint64 now, ReelSchedule *s, GError **error)
{
  const char *tz = string_member (body, "timezone", FALSE, error);
  if (tz == NULL && json_object_has_member (body, "timezone"))
    return FALSE;
  if (tz != NULL && !reel_timezone_check (tz, "timezone", error))
    return FALSE;
  g_free (s->timezone);
  s->timezone = g_strdup (tz ? tz : "UTC");
  const char *rrule = string_member (body, "rrule", FALSE, error);
  if (rrule == NULL && json_object_has_member (body, "rrule"))
    return FALSE;
  if (rrule == NULL) {
    if (s->start_at <= now)
      return invalid (error, "start_at", "must be in the future for a one-shot schedule");
    return TRUE;
  }
  if (!reel_rrule_check (rrule, s->timezone, s->start_at, s->duration_s, now, error))
    return FALSE;
  s->rrule = g_strdup (rrule);
  return TRUE;
}

/**
 * reel_request_parse_schedule:
 * @root: a body from reel_request_parse_json()
 * @limits: bounds and defaults from the configuration
 * @now: the current time, g_get_real_time()
 * Returns: (transfer full) (nullable): the schedule (no id yet)
 */
ReelSchedule *
reel_request_parse_schedule (JsonNode *root, const ReelRequestLimits *limits, gint64 now,
                             GError **error)
{
  g_return_val_if_fail (limits != NULL, NULL);
  if (root == NULL || !JSON_NODE_HOLDS_OBJECT (root)) {
    invalid (error, "body", "expected an object");
    return NULL;
  }
  JsonObject *body = json_node_get_object (root);
  g_autoptr (ReelSchedule) s = reel_schedule_new ();
  if (!check_members (body, error))
    return NULL;
  if (!json_object_has_member (body, "start_at")) {
    invalid (error, "start_at", "missing required field");
    return NULL;
  }
  if (!parse_time (body, "start_at", now, &s->start_at, error) ||
      !parse_duration (body, limits, s, error) || !parse_rule_and_zone (body, now, s, error) ||
      !parse_recording (body, limits, s, error))
    return NULL;
  return g_steal_pointer (&s);
}
