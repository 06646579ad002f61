/* reelctl-body.h: request bodies for `reelctl record` and `reelctl schedule` from
 * command-line options. Pure: no I/O but reading an @FILE argument. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct {
  char *body;           /* --body: a whole JSON body, @FILE or - (stdin) */
  char *room;           /* --room: the room object, JSON or @FILE */
  char **participants;  /* --participant NAME:#RRGGBB:TONE_HZ[:JOIN_S[:LEAVE_S]] (synthetic room) */
  char *layout;         /* --layout */
  char **outputs;       /* --output mp4|mkv|file:FORMAT|rtmp://…|rtmps://… */
  gint64 max_duration;  /* --max-duration seconds, 0 = server default */
  char *start_at;       /* schedule: --start-at RFC3339 */
  gint64 duration;      /* schedule: --duration seconds */
  char *rrule;          /* schedule: --rrule */
  char *timezone;       /* schedule: --timezone */
} ReelctlBodyOptions;

/* Returns: (transfer full) (nullable): the POST /v1/recordings body, or NULL with
 * @error naming the bad option */
char *reelctl_recording_body (const ReelctlBodyOptions *opts, GError **error);

/* Returns: (transfer full) (nullable): the POST /v1/schedules body */
char *reelctl_schedule_body (const ReelctlBodyOptions *opts, GError **error);

G_END_DECLS
