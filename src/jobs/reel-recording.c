/* reel-recording.c: the recording record. */
#include "jobs/reel-recording.h"

#include "base/reel-error.h"
#include "base/reel-json.h"

#include <glib/gstdio.h>

static const char *state_names[] = {
  [REEL_RECORDING_SCHEDULED] = "scheduled",
  [REEL_RECORDING_STARTING] = "starting",
  [REEL_RECORDING_RECORDING] = "recording",
  [REEL_RECORDING_STOPPING] = "stopping",
  [REEL_RECORDING_FINISHED] = "finished",
  [REEL_RECORDING_FAILED] = "failed",
};

static const char *output_state_names[] = {
  [REEL_OUTPUT_STATE_STARTING] = "starting",
  [REEL_OUTPUT_STATE_WRITING] = "writing",
  [REEL_OUTPUT_STATE_FAILED] = "failed",
  [REEL_OUTPUT_STATE_FINISHED] = "finished",
  [REEL_OUTPUT_STATE_STOPPED] = "stopped",
};

/**
 * reel_recording_state_to_string:
 * Returns: (transfer none): the API name of @state
 */
const char *
reel_recording_state_to_string (ReelRecordingState state)
{
  return (gsize) state < G_N_ELEMENTS (state_names) ? state_names[state] : "failed";
}

/**
 * reel_output_state_to_string:
 * Returns: (transfer none): the API name of @state
 */
const char *
reel_output_state_to_string (ReelOutputState state)
{
  return (gsize) state < G_N_ELEMENTS (output_state_names) ? output_state_names[state] : "failed";
}

static gboolean
lookup_name (const char *const *names, gsize n, const char *name, gint *index)
{
  for (gsize i = 0; i < n; i++) {
    if (names[i] != NULL && g_strcmp0 (names[i], name) == 0) {
      *index = (gint) i;
      return TRUE;
    }
  }
  return FALSE;
}

/**
 * reel_recording_state_from_string:
 * @state: (out): the state
 * Returns: %TRUE if @name is a recording state
 */
gboolean
reel_recording_state_from_string (const char *name, ReelRecordingState *state)
{
  gint i;
  if (!lookup_name (state_names, G_N_ELEMENTS (state_names), name, &i))
    return FALSE;
  *state = (ReelRecordingState) i;
  return TRUE;
}

/**
 * reel_output_state_from_string:
 * @state: (out): the state
 * Returns: %TRUE if @name is an output state
 */
gboolean
reel_output_state_from_string (const char *name, ReelOutputState *state)
{
  gint i;
  if (!lookup_name (output_state_names, G_N_ELEMENTS (output_state_names), name, &i))
    return FALSE;
  *state = (ReelOutputState) i;
  return TRUE;
}

/**
 * reel_recording_state_is_active:
 * Returns: %TRUE while a recording holds resources (starting, recording, stopping)
 */
gboolean
reel_recording_state_is_active (ReelRecordingState state)
{
  return state == REEL_RECORDING_STARTING || state == REEL_RECORDING_RECORDING ||
         state == REEL_RECORDING_STOPPING;
}

/**
 * reel_recording_state_can_change:
 * Returns: %TRUE if the transition is allowed
 */
gboolean
reel_recording_state_can_change (ReelRecordingState from, ReelRecordingState to)
{
  switch (to) {
  case REEL_RECORDING_STARTING:
    return from == REEL_RECORDING_SCHEDULED;
  case REEL_RECORDING_RECORDING:
    return from == REEL_RECORDING_STARTING;
  case REEL_RECORDING_STOPPING:
    return from == REEL_RECORDING_STARTING || from == REEL_RECORDING_RECORDING;
  case REEL_RECORDING_FINISHED:
    return from == REEL_RECORDING_STOPPING;
  case REEL_RECORDING_FAILED:
    return from == REEL_RECORDING_SCHEDULED || reel_recording_state_is_active (from);
  case REEL_RECORDING_SCHEDULED:
  default:
    return FALSE;
  }
}

/**
 * reel_recording_new_id:
 * Returns: (transfer full): a fresh id
 */
char *
reel_recording_new_id (void)
{
  GString *id = g_string_new ("rec_");
  for (int i = 0; i < 5; i++)
    g_string_append_printf (id, "%08x", g_random_int ());
  g_string_truncate (id, 4 + 20);
  return g_string_free (id, FALSE);
}

static void
output_free (ReelRecordingOutput *out)
{
  reel_output_spec_free (out->spec);
  g_free (out->id);
  g_free (out->path);
  g_free (out->error_code);
  g_free (out->error_message);
  g_free (out);
}

static void
track_free (ReelRecordingTrack *t)
{
  g_free (t->id);
  g_free (t->kind);
  g_free (t->state);
  g_free (t->error_code);
  g_free (t->error_message);
  g_free (t);
}

static void
artifact_free (ReelRecordingArtifact *a)
{
  g_free (a->output_id);
  g_free (a->path);
  g_free (a);
}

static void
participant_free (ReelRecordingParticipant *p)
{
  g_free (p->id);
  g_free (p->name);
  g_ptr_array_unref (p->tracks);
  g_free (p);
}

/**
 * reel_recording_new:
 * @spec: (transfer full): the validated request
 * Returns: (transfer full): the record
 */
ReelRecording *
reel_recording_new (const char *id, ReelRecordingSpec *spec)
{
  ReelRecording *rec = g_new0 (ReelRecording, 1);
  rec->ref_count = 1;
  rec->id = g_strdup (id);
  rec->state = REEL_RECORDING_STARTING;
  rec->created_at = g_get_real_time ();
  rec->spec = spec;
  rec->participants = g_ptr_array_new_with_free_func ((GDestroyNotify) participant_free);
  rec->outputs = g_ptr_array_new_with_free_func ((GDestroyNotify) output_free);
  rec->artifacts = g_ptr_array_new_with_free_func ((GDestroyNotify) artifact_free);
  for (guint i = 0; i < spec->outputs->len; i++)
    reel_recording_add_output (rec, reel_output_spec_copy (g_ptr_array_index (spec->outputs, i)));
  return rec;
}

/**
 * reel_recording_ref:
 * Returns: (transfer full): @rec
 */
ReelRecording *
reel_recording_ref (ReelRecording *rec)
{
  g_atomic_int_inc (&rec->ref_count);
  return rec;
}

void
reel_recording_unref (ReelRecording *rec)
{
  if (rec == NULL || !g_atomic_int_dec_and_test (&rec->ref_count))
    return;
  g_free (rec->id);
  g_free (rec->schedule_id);
  reel_recording_spec_free (rec->spec);
  g_ptr_array_unref (rec->participants);
  g_ptr_array_unref (rec->outputs);
  g_ptr_array_unref (rec->artifacts);
  g_free (rec->error_code);
  g_free (rec->error_message);
  g_free (rec);
}

/**
 * reel_recording_set_state:
 * Returns: %TRUE if the state changed
 */
gboolean
reel_recording_set_state (ReelRecording *rec, ReelRecordingState state)
{
  if (!reel_recording_state_can_change (rec->state, state))
    return FALSE;
  rec->state = state;
  if (state == REEL_RECORDING_RECORDING)
    rec->started_at = g_get_real_time ();
  if (state == REEL_RECORDING_FINISHED || state == REEL_RECORDING_FAILED)
    rec->ended_at = g_get_real_time ();
  return TRUE;
}

/**
 * reel_recording_fail:
 * @error: why
 */
void
reel_recording_fail (ReelRecording *rec, const GError *error)
{
  if (!reel_recording_set_state (rec, REEL_RECORDING_FAILED))
    return;
  g_free (rec->error_code);
  g_free (rec->error_message);
  rec->error_code = g_strdup (reel_error_name_of (error));
  rec->error_message = g_strdup (error->message);
}

/**
 * reel_recording_add_output:
 * @spec: (transfer full): the output's spec
 * Returns: (transfer none): the output
 */
ReelRecordingOutput *
reel_recording_add_output (ReelRecording *rec, ReelOutputSpec *spec)
{
  ReelRecordingOutput *out = g_new0 (ReelRecordingOutput, 1);
  out->id = g_strdup_printf ("out_%u", rec->next_output_index++);
  out->spec = spec;
  out->state = REEL_OUTPUT_STATE_STARTING;
  g_ptr_array_add (rec->outputs, out);
  return out;
}

/**
 * reel_recording_find_output:
 * Returns: (transfer none) (nullable): the output with @output_id
 */
ReelRecordingOutput *
reel_recording_find_output (ReelRecording *rec, const char *output_id)
{
  for (guint i = 0; i < rec->outputs->len; i++) {
    ReelRecordingOutput *out = g_ptr_array_index (rec->outputs, i);
    if (g_strcmp0 (out->id, output_id) == 0)
      return out;
  }
  return NULL;
}

void
reel_recording_output_set_error (ReelRecordingOutput *out, const GError *error)
{
  g_free (out->error_code);
  g_free (out->error_message);
  out->error_code = error ? g_strdup (reel_error_name_of (error)) : NULL;
  out->error_message = error ? g_strdup (error->message) : NULL;
}

static ReelRecordingParticipant *
find_participant (ReelRecording *rec, const char *id, guint *index)
{
  for (guint i = 0; i < rec->participants->len; i++) {
    ReelRecordingParticipant *p = g_ptr_array_index (rec->participants, i);
    if (g_strcmp0 (p->id, id) == 0) {
      if (index)
        *index = i;
      return p;
    }
  }
  return NULL;
}

/**
 * reel_recording_add_participant:
 * Returns: (transfer none): the participant
 */
ReelRecordingParticipant *
reel_recording_add_participant (ReelRecording *rec, const char *id, const char *name)
{
  ReelRecordingParticipant *p = find_participant (rec, id, NULL);
  if (p != NULL)
    return p;
  p = g_new0 (ReelRecordingParticipant, 1);
  p->id = g_strdup (id);
  p->name = g_strdup (name);
  p->tracks = g_ptr_array_new_with_free_func ((GDestroyNotify) track_free);
  g_ptr_array_add (rec->participants, p);
  return p;
}

void
reel_recording_remove_participant (ReelRecording *rec, const char *id)
{
  guint index;
  if (find_participant (rec, id, &index) != NULL)
    g_ptr_array_remove_index (rec->participants, index);
}

void
reel_recording_add_track (ReelRecording *rec, const char *participant_id, const char *track_id,
                          const char *kind)
{
  ReelRecordingParticipant *p = find_participant (rec, participant_id, NULL);
  if (p == NULL)
    return;
  ReelRecordingTrack *t = g_new0 (ReelRecordingTrack, 1);
  t->id = g_strdup (track_id);
  t->kind = g_strdup (kind);
  t->state = g_strdup ("live");
  g_ptr_array_add (p->tracks, t);
}

void
reel_recording_remove_track (ReelRecording *rec, const char *participant_id, const char *track_id)
{
  ReelRecordingParticipant *p = find_participant (rec, participant_id, NULL);
  for (guint i = 0; p != NULL && i < p->tracks->len; i++) {
    ReelRecordingTrack *t = g_ptr_array_index (p->tracks, i);
    if (g_strcmp0 (t->id, track_id) == 0) {
      g_ptr_array_remove_index (p->tracks, i);
      return;
    }
  }
}

/**
 * reel_recording_set_track_state:
 * @kind: (nullable): "audio", "video" or unknown
 * @state: (nullable): "pending", "failed", or %NULL to remove the track
 * @error_code: (nullable): why
 * @error_message: (nullable): why, in words
 */
void
reel_recording_set_track_state (ReelRecording *rec, const char *participant_id,
                                const char *track_id, const char *kind, const char *state,
                                const char *error_code, const char *error_message)
{
  ReelRecordingParticipant *p = find_participant (rec, participant_id, NULL);
  ReelRecordingTrack *t = NULL;
  if (p == NULL)
    return;
  if (state == NULL) {
    reel_recording_remove_track (rec, participant_id, track_id);
    return;
  }
  for (guint i = 0; i < p->tracks->len && t == NULL; i++) {
    ReelRecordingTrack *candidate = g_ptr_array_index (p->tracks, i);
    if (g_strcmp0 (candidate->id, track_id) == 0)
      t = candidate;
  }
  if (t == NULL) {
    t = g_new0 (ReelRecordingTrack, 1);
    t->id = g_strdup (track_id);
    g_ptr_array_add (p->tracks, t);
  }
  g_free (t->kind);
  t->kind = g_strdup (kind);
  g_free (t->state);
  t->state = g_strdup (state);
  g_free (t->error_code);
  t->error_code = g_strdup (error_code);
  g_free (t->error_message);
  t->error_message = g_strdup (error_code != NULL ? error_message : NULL);
}

/**
 * reel_recording_add_artifact:
 * @duration_s: seconds, 0 if unknown
 */
void
reel_recording_add_artifact (ReelRecording *rec, const char *output_id, const char *path,
                             gint64 bytes, double duration_s)
{
  ReelRecordingArtifact *a = g_new0 (ReelRecordingArtifact, 1);
  a->output_id = g_strdup (output_id);
  a->path = g_strdup (path);
  a->bytes = bytes;
  a->duration_s = duration_s;
  g_ptr_array_add (rec->artifacts, a);
}

static double
recorded_seconds (const ReelRecording *rec)
{
  if (rec->started_at <= 0 || rec->ended_at <= rec->started_at)
    return 0;
  return (double) ((rec->ended_at - rec->started_at) / 1000) / 1000.0; /* milliseconds */
}

/**
 * reel_recording_collect_artifacts:
 * @rec: an ended recording
 */
void
reel_recording_collect_artifacts (ReelRecording *rec)
{
  g_ptr_array_set_size (rec->artifacts, 0);
  for (guint i = 0; i < rec->outputs->len; i++) {
    ReelRecordingOutput *out = g_ptr_array_index (rec->outputs, i);
    GStatBuf st;
    if (out->spec->type != REEL_OUTPUT_FILE || out->path == NULL || g_stat (out->path, &st) != 0 ||
        st.st_size <= 0)
      continue;
    out->bytes = st.st_size;
    reel_recording_add_artifact (rec, out->id, out->path, out->bytes, recorded_seconds (rec));
  }
}

/* The last time any of its files was written, 0 if none exists. */
static gint64
last_write (const ReelRecording *rec)
{
  gint64 latest = 0;
  for (guint i = 0; i < rec->outputs->len; i++) {
    ReelRecordingOutput *out = g_ptr_array_index (rec->outputs, i);
    GStatBuf st;
    if (out->path != NULL && g_stat (out->path, &st) == 0)
      latest = MAX (latest, (gint64) st.st_mtim.tv_sec * G_USEC_PER_SEC + st.st_mtim.tv_nsec / 1000);
  }
  return latest;
}

/**
 * reel_recording_mark_interrupted:
 * @fallback_end: ended_at when no file tells when writing stopped
 */
void
reel_recording_mark_interrupted (ReelRecording *rec, gint64 fallback_end)
{
  g_autoptr (GError) error = g_error_new_literal (REEL_ERROR, REEL_ERROR_INTERRUPTED,
                                                  "reeld stopped while this recording ran; "
                                                  "its files are kept as written");
  if (!reel_recording_state_is_active (rec->state) && rec->state != REEL_RECORDING_SCHEDULED)
    return;
  reel_recording_fail (rec, error);
  gint64 end = last_write (rec);
  rec->ended_at = end > rec->started_at ? end : MAX (fallback_end, rec->started_at);
  for (guint i = 0; i < rec->outputs->len; i++) {
    ReelRecordingOutput *out = g_ptr_array_index (rec->outputs, i);
    if (out->state != REEL_OUTPUT_STATE_STARTING && out->state != REEL_OUTPUT_STATE_WRITING)
      continue;
    out->state = REEL_OUTPUT_STATE_FAILED;
    out->next_retry_at = 0;
    reel_recording_output_set_error (out, error);
  }
  reel_recording_collect_artifacts (rec);
}

static void
add_error (JsonBuilder *b, const char *code, const char *message)
{
  json_builder_set_member_name (b, "error");
  if (code == NULL) {
    json_builder_add_null_value (b);
    return;
  }
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "code");
  json_builder_add_string_value (b, code);
  json_builder_set_member_name (b, "message");
  json_builder_add_string_value (b, message ? message : "");
  json_builder_end_object (b);
}

static void
add_output (JsonBuilder *b, const ReelRecordingOutput *out)
{
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "id");
  json_builder_add_string_value (b, out->id);
  json_builder_set_member_name (b, "type");
  json_builder_add_string_value (b, reel_output_type_to_string (out->spec->type));
  if (out->spec->type == REEL_OUTPUT_FILE) {
    json_builder_set_member_name (b, "format");
    json_builder_add_string_value (b, reel_file_format_to_string (out->spec->format));
    reel_json_add_string_or_null (b, "path", out->path);
  } else {
    g_autofree char *url = reel_redact_stream_url (out->spec->url);
    reel_json_add_string_or_null (b, "url", url);
    json_builder_set_member_name (b, "retries");
    json_builder_add_int_value (b, out->retries);
    reel_json_add_time (b, "next_retry_at", out->next_retry_at);
  }
  json_builder_set_member_name (b, "state");
  json_builder_add_string_value (b, reel_output_state_to_string (out->state));
  json_builder_set_member_name (b, "bytes");
  json_builder_add_int_value (b, MAX (out->bytes, 0));
  add_error (b, out->error_code, out->error_message);
  json_builder_end_object (b);
}

static void
add_participants (JsonBuilder *b, ReelRecording *rec)
{
  json_builder_set_member_name (b, "participants");
  json_builder_begin_array (b);
  for (guint i = 0; i < rec->participants->len; i++) {
    ReelRecordingParticipant *p = g_ptr_array_index (rec->participants, i);
    json_builder_begin_object (b);
    json_builder_set_member_name (b, "id");
    json_builder_add_string_value (b, p->id);
    reel_json_add_string_or_null (b, "name", p->name);
    json_builder_set_member_name (b, "tracks");
    json_builder_begin_array (b);
    for (guint j = 0; j < p->tracks->len; j++) {
      ReelRecordingTrack *t = g_ptr_array_index (p->tracks, j);
      json_builder_begin_object (b);
      json_builder_set_member_name (b, "id");
      json_builder_add_string_value (b, t->id);
      reel_json_add_string_or_null (b, "kind", t->kind);
      json_builder_set_member_name (b, "state");
      json_builder_add_string_value (b, t->state);
      if (t->error_code != NULL)
        add_error (b, t->error_code, t->error_message);
      json_builder_end_object (b);
    }
    json_builder_end_array (b);
    json_builder_end_object (b);
  }
  json_builder_end_array (b);
}

static void
add_artifacts (JsonBuilder *b, ReelRecording *rec)
{
  json_builder_set_member_name (b, "artifacts");
  json_builder_begin_array (b);
  for (guint i = 0; i < rec->artifacts->len; i++) {
    ReelRecordingArtifact *a = g_ptr_array_index (rec->artifacts, i);
    json_builder_begin_object (b);
    json_builder_set_member_name (b, "output_id");
    json_builder_add_string_value (b, a->output_id);
    json_builder_set_member_name (b, "path");
    json_builder_add_string_value (b, a->path);
    json_builder_set_member_name (b, "bytes");
    json_builder_add_int_value (b, a->bytes);
    json_builder_set_member_name (b, "duration_s");
    json_builder_add_double_value (b, a->duration_s);
    json_builder_end_object (b);
  }
  json_builder_end_array (b);
}

static void
add_video (JsonBuilder *b, const ReelRecordingSpec *spec)
{
  json_builder_set_member_name (b, "video");
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "width");
  json_builder_add_int_value (b, spec->width);
  json_builder_set_member_name (b, "height");
  json_builder_add_int_value (b, spec->height);
  json_builder_set_member_name (b, "framerate");
  json_builder_add_int_value (b, spec->framerate);
  json_builder_set_member_name (b, "bitrate_kbps");
  json_builder_add_int_value (b, spec->bitrate_kbps);
  json_builder_end_object (b);
}

/**
 * reel_recording_to_json:
 * Returns: (transfer full): the recording object
 */
JsonNode *
reel_recording_to_json (ReelRecording *rec)
{
  g_autoptr (JsonBuilder) b = json_builder_new ();
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "id");
  json_builder_add_string_value (b, rec->id);
  json_builder_set_member_name (b, "state");
  json_builder_add_string_value (b, reel_recording_state_to_string (rec->state));
  reel_json_add_time (b, "created_at", rec->created_at);
  reel_json_add_time (b, "started_at", rec->started_at);
  reel_json_add_time (b, "ended_at", rec->ended_at);
  reel_json_add_string_or_null (b, "schedule_id", rec->schedule_id);
  json_builder_set_member_name (b, "room");
  if (rec->spec->room && rec->spec->room->public_json)
    json_builder_add_value (b, json_node_copy (rec->spec->room->public_json));
  else
    json_builder_add_null_value (b);
  json_builder_set_member_name (b, "layout");
  json_builder_add_string_value (b, reel_layout_kind_to_string (rec->spec->layout));
  add_video (b, rec->spec);
  json_builder_set_member_name (b, "max_duration_s");
  json_builder_add_int_value (b, (gint64) rec->spec->max_duration_s);
  add_participants (b, rec);
  json_builder_set_member_name (b, "outputs");
  json_builder_begin_array (b);
  for (guint i = 0; i < rec->outputs->len; i++)
    add_output (b, g_ptr_array_index (rec->outputs, i));
  json_builder_end_array (b);
  add_artifacts (b, rec);
  add_error (b, rec->error_code, rec->error_message);
  json_builder_end_object (b);
  return json_builder_get_root (b);
}
