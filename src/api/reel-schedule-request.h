/* reel-schedule-request.h: validate a POST /v1/schedules body (untrusted input).
 *
 * Pure (GLib, json-glib, libical through jobs/reel-schedule.h), no I/O but reading
 * time zone data; fuzzed with the other request parsers in tests/fuzz/. Messages start
 * with the field's path, e.g. "rrule: FREQ=SECONDLY needs COUNT or UNTIL ..." or
 * "recording.room.participants[0].color: ...".
 */
#pragma once

#include <glib.h>
#include <json-glib/json-glib.h>

#include "jobs/reel-recording-spec.h"
#include "jobs/reel-schedule.h"

G_BEGIN_DECLS

#define REEL_SCHEDULE_HORIZON_S (10 * 366 * 86400) /* start_at at most ~10 years from now */

/* Validates a schedule body against @limits (duration_s up to limits->max_duration_s,
 * the recording as POST /v1/recordings) at time @now (g_get_real_time()):
 *   start_at   RFC 3339 with an offset; in the future for a one-shot
 *   duration_s 1..max_duration_s, or stop_at (one-shot only): after start_at
 *   rrule      optional RFC 5545 rule, see reel_rrule_check()
 *   timezone   optional IANA name, default "UTC"
 *   recording  the recording body
 * Returns: (transfer full) (nullable): a schedule without id, or %NULL with
 * REEL_ERROR_INVALID_FIELD (or the recording's REEL_ERROR_UNKNOWN_PROVIDER /
 * REEL_ERROR_PROVIDER_UNAVAILABLE) */
ReelSchedule *reel_request_parse_schedule (JsonNode *root, const ReelRequestLimits *limits,
                                           gint64 now, GError **error);

G_END_DECLS
