/* reelctl-format.h: human-readable views of the API's JSON (tables, details). */
#pragma once

#include <json-glib/json-glib.h>

G_BEGIN_DECLS

/* Prints @answer ({"recordings": [...]}) as a table. */
void reelctl_print_recordings (JsonNode *answer);

/* Prints one recording object: fields, participants, outputs. */
void reelctl_print_recording (JsonNode *recording);

/* Prints @answer ({"schedules": [...]}) as a table. */
void reelctl_print_schedules (JsonNode *answer);

/* Prints one schedule object. */
void reelctl_print_schedule (JsonNode *schedule);

/* Prints @node as indented JSON (the --json output). */
void reelctl_print_json (JsonNode *node);

G_END_DECLS
