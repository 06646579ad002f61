/* reel-recording.h: the recording record: its state machine and its JSON shape.
 *
 * Plain data owned by the main context; no GStreamer. The runner mutates it, the
 * API reads it with reel_recording_to_json().
 */
#pragma once

#include <glib.h>
#include <json-glib/json-glib.h>

#include "jobs/reel-recording-spec.h"

G_BEGIN_DECLS

typedef enum {
  REEL_RECORDING_SCHEDULED,
  REEL_RECORDING_STARTING,
  REEL_RECORDING_RECORDING,
  REEL_RECORDING_STOPPING,
  REEL_RECORDING_FINISHED,
  REEL_RECORDING_FAILED,
} ReelRecordingState;

typedef enum {
  REEL_OUTPUT_STATE_STARTING,
  REEL_OUTPUT_STATE_WRITING,
  REEL_OUTPUT_STATE_FAILED,    /* may go back to starting when it retries */
  REEL_OUTPUT_STATE_FINISHED,
  REEL_OUTPUT_STATE_STOPPED,   /* removed on request (PATCH) */
} ReelOutputState;

typedef struct {
  char *id;                /* "out_0", ... */
  ReelOutputSpec *spec;
  char *path;              /* file outputs: where it is written */
  ReelOutputState state;
  gint64 bytes;
  char *error_code;        /* (nullable) */
  char *error_message;     /* (nullable) */
  guint retries;
  gint64 next_retry_at;    /* g_get_real_time(); 0 = none */
} ReelRecordingOutput;

typedef struct {
  char *id;
  char *kind;              /* "audio" | "video", NULL = not known yet */
  char *state;             /* "live"; SFU tracks not received (yet): "pending" | "failed" */
  char *error_code;        /* (nullable) why it is pending or failed, from the SFU */
  char *error_message;     /* (nullable) */
} ReelRecordingTrack;

typedef struct {
  char *id;
  char *name;
  GPtrArray *tracks;       /* (element-type ReelRecordingTrack) */
} ReelRecordingParticipant;

/* A finished file: what a recording left on disk. */
typedef struct {
  char *output_id;
  char *path;
  gint64 bytes;
  double duration_s;       /* ended_at - started_at of the recording */
} ReelRecordingArtifact;

typedef struct {
  gint ref_count;
  char *id;
  ReelRecordingState state;
  gint64 created_at, started_at, ended_at;  /* g_get_real_time(); 0 = not yet */
  char *schedule_id;       /* (nullable) */
  ReelRecordingSpec *spec;
  GPtrArray *participants; /* (element-type ReelRecordingParticipant) present now */
  GPtrArray *outputs;      /* (element-type ReelRecordingOutput) */
  guint next_output_index;
  char *error_code;        /* (nullable) */
  char *error_message;     /* (nullable) */
  GPtrArray *artifacts;    /* (element-type ReelRecordingArtifact) set once it ended */
} ReelRecording;

const char *reel_recording_state_to_string (ReelRecordingState state);
const char *reel_output_state_to_string (ReelOutputState state);
/* @state: (out). Returns: %TRUE if @name is a state's API name */
gboolean reel_recording_state_from_string (const char *name, ReelRecordingState *state);
gboolean reel_output_state_from_string (const char *name, ReelOutputState *state);
gboolean reel_recording_state_is_active (ReelRecordingState state);

/* The state machine: scheduled → starting → recording → stopping → finished,
 * and failed from any active state. Returns: %TRUE if @from → @to is allowed. */
gboolean reel_recording_state_can_change (ReelRecordingState from, ReelRecordingState to);

/* Returns: (transfer full): a new random id "rec_" + 20 hex digits */
char *reel_recording_new_id (void);

/* Returns: (transfer full): a record in state "starting" with an output per spec output.
 * @spec: (transfer full) */
ReelRecording *reel_recording_new (const char *id, ReelRecordingSpec *spec);
ReelRecording *reel_recording_ref (ReelRecording *rec);
void reel_recording_unref (ReelRecording *rec);

/* Moves to @state if allowed (and stamps started_at / ended_at). Returns: %TRUE if it moved. */
gboolean reel_recording_set_state (ReelRecording *rec, ReelRecordingState state);

/* Moves to failed with @error's code and message. */
void reel_recording_fail (ReelRecording *rec, const GError *error);

/* Returns: (transfer none): the new output, with the next "out_N" id. @spec: (transfer full) */
ReelRecordingOutput *reel_recording_add_output (ReelRecording *rec, ReelOutputSpec *spec);
/* Returns: (transfer none) (nullable) */
ReelRecordingOutput *reel_recording_find_output (ReelRecording *rec, const char *output_id);
void reel_recording_output_set_error (ReelRecordingOutput *out, const GError *error);

/* Returns: (transfer none): the participant, added if new */
ReelRecordingParticipant *reel_recording_add_participant (ReelRecording *rec, const char *id,
                                                          const char *name);
void reel_recording_remove_participant (ReelRecording *rec, const char *id);
void reel_recording_add_track (ReelRecording *rec, const char *participant_id,
                               const char *track_id, const char *kind);
void reel_recording_remove_track (ReelRecording *rec, const char *participant_id,
                                  const char *track_id);
/* Sets the state of a track that is not live (adds it if new); @state NULL removes it.
 * @kind, @error_code, @error_message: (nullable) */
void reel_recording_set_track_state (ReelRecording *rec, const char *participant_id,
                                     const char *track_id, const char *kind, const char *state,
                                     const char *error_code, const char *error_message);

/* Lists every file output whose file exists and is not empty as an artifact (and
 * refreshes its bytes); duration_s is ended_at - started_at. For ended recordings. */
void reel_recording_collect_artifacts (ReelRecording *rec);
/* @duration_s: 0 if unknown */
void reel_recording_add_artifact (ReelRecording *rec, const char *output_id, const char *path,
                                  gint64 bytes, double duration_s);

/* An active recording found at start-up (reeld died while it ran): failed with
 * error.code "interrupted", ended_at = the last write to its files (else @fallback_end),
 * open outputs failed, files kept as they are and listed as artifacts. */
void reel_recording_mark_interrupted (ReelRecording *rec, gint64 fallback_end);

/* Returns: (transfer full): the API's recording object */
JsonNode *reel_recording_to_json (ReelRecording *rec);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (ReelRecording, reel_recording_unref)

G_END_DECLS
