/* reel-job-runner.c: one running recording. */
#include "jobs/reel-job-runner.h"

#include "base/reel-error.h"
#include "base/reel-log.h"
#include "media/reel-media-graph.h"
#include "output/reel-output-bin.h"
#include "jobs/reel-track-router.h"
#include "sfu/reel-cloudflare-room.h"
#include "sfu/reel-janus-room.h"
#include "sfu/reel-orange-room.h"
#include "sfu/reel-synthetic-room.h"

#include <glib/gstdio.h>

#define SYNTHETIC_WIDTH 640
#define SYNTHETIC_HEIGHT 360
#define STATS_INTERVAL_MS 500
#define PLACEHOLDER_DELAY_MS 400

struct _ReelJobRunner {
  GObject parent_instance;
  ReelRecording *rec;
  ReelConfig *config;
  ReelMediaGraph *graph;
  ReelRoom *room;
  ReelTrackRouter *router;    /* (nullable) SFU rooms only */
  GHashTable *placeholders;   /* participant id → placeholder track id, while shown */
  guint placeholder_timer;
  guint max_duration_timer;
  guint stats_timer;
  GHashTable *retry_timers;   /* output id → GSource id */
  GHashTable *progress;       /* output id → gint64* time of the last byte count change */
  GHashTable *removing;       /* output ids being removed on request */
  GError *fail_error;         /* set: the recording ends failed rather than finished */
  gboolean stopping;
  gboolean done;
};

G_DEFINE_FINAL_TYPE (ReelJobRunner, reel_job_runner, G_TYPE_OBJECT)

enum { SIG_EVENT, SIG_DONE, N_SIGNALS };
static guint signals[N_SIGNALS];

static void fail_and_stop (ReelJobRunner *self, const GError *error);

/**
 * reel_job_runner_new:
 * Returns: (transfer full): the runner
 */
ReelJobRunner *
reel_job_runner_new (ReelRecording *rec, ReelConfig *config)
{
  ReelJobRunner *self = g_object_new (REEL_TYPE_JOB_RUNNER, NULL);
  self->rec = reel_recording_ref (rec);
  self->config = reel_config_ref (config);
  return self;
}

/**
 * reel_job_runner_get_recording:
 * Returns: (transfer none): the record
 */
ReelRecording *
reel_job_runner_get_recording (ReelJobRunner *self)
{
  return self->rec;
}

/**
 * reel_job_runner_get_graph:
 * Returns: (transfer none) (nullable): the media graph, once built
 */
ReelMediaGraph *
reel_job_runner_get_graph (ReelJobRunner *self)
{
  return self->graph;
}

/* ---------- outputs ---------- */

/* reel names every file: <recording id>.<ext>, or <recording id>-<output id>.<ext>
 * when a second output of the same format exists; never an existing file. */
static char *
file_location (ReelJobRunner *self, ReelRecordingOutput *out)
{
  const char *ext = reel_file_format_extension (out->spec->format);
  for (guint attempt = 0;; attempt++) {
    g_autofree char *base = NULL;
    if (attempt == 0)
      base = g_strdup_printf ("%s.%s", self->rec->id, ext);
    else if (attempt == 1)
      base = g_strdup_printf ("%s-%s.%s", self->rec->id, out->id, ext);
    else
      base = g_strdup_printf ("%s-%s-%u.%s", self->rec->id, out->id, attempt, ext);
    char *path = g_build_filename (self->config->recordings_dir, base, NULL);
    if (!g_file_test (path, G_FILE_TEST_EXISTS))
      return path;
    g_free (path);
  }
}

static gboolean
attach_output (ReelJobRunner *self, ReelRecordingOutput *out, GError **error)
{
  const char *template_name;
  const char *location;
  if (out->spec->type == REEL_OUTPUT_FILE) {
    if (out->path == NULL)
      out->path = file_location (self, out);
    template_name = out->spec->format == REEL_FILE_FORMAT_MKV ? "output-mkv" : "output-mp4";
    location = out->path;
  } else {
    template_name = "output-rtmp";
    location = out->spec->url;
  }
  g_autoptr (GHashTable) vars = g_hash_table_new_full (g_str_hash, g_str_equal, NULL, g_free);
  g_hash_table_insert (vars, "fragment_ms", g_strdup_printf ("%u", self->config->fragment_ms));
  g_autofree char *bin_name = g_strdup_printf ("out-%s", out->id);
  GstElement *bin = reel_output_bin_new (self->config->pipelines_dir, template_name, vars,
                                         bin_name, location, error);
  if (bin == NULL)
    return FALSE;
  if (!reel_media_graph_add_output (self->graph, out->id, bin, error))
    return FALSE;
  out->state = REEL_OUTPUT_STATE_STARTING;
  out->next_retry_at = 0;
  gint64 *now = g_new (gint64, 1);
  *now = g_get_monotonic_time ();
  g_hash_table_insert (self->progress, g_strdup (out->id), now);
  return TRUE;
}

static gboolean
output_is_open (const ReelRecordingOutput *out)
{
  return out->state == REEL_OUTPUT_STATE_STARTING || out->state == REEL_OUTPUT_STATE_WRITING;
}

/* TRUE if some output writes now or will retry. */
static gboolean
any_output_alive (ReelJobRunner *self)
{
  for (guint i = 0; i < self->rec->outputs->len; i++) {
    ReelRecordingOutput *out = g_ptr_array_index (self->rec->outputs, i);
    if (output_is_open (out) || g_hash_table_contains (self->retry_timers, out->id))
      return TRUE;
  }
  return FALSE;
}

typedef struct {
  ReelJobRunner *self;
  char *output_id;
} RetryData;

static void
retry_data_free (gpointer p)
{
  RetryData *d = p;
  g_object_unref (d->self);
  g_free (d->output_id);
  g_free (d);
}

static gboolean
retry_output (gpointer data)
{
  RetryData *d = data;
  ReelJobRunner *self = d->self;
  ReelRecordingOutput *out = reel_recording_find_output (self->rec, d->output_id);
  if (out == NULL || self->stopping) {
    g_hash_table_remove (self->retry_timers, d->output_id);
    return G_SOURCE_REMOVE;
  }
  if (reel_media_graph_has_output (self->graph, out->id)) {
    /* The failed branch is still being taken down: look again shortly. */
    RetryData *again = g_new0 (RetryData, 1);
    again->self = g_object_ref (self);
    again->output_id = g_strdup (out->id);
    guint id = g_timeout_add_full (G_PRIORITY_DEFAULT, 200, retry_output, again, retry_data_free);
    g_hash_table_insert (self->retry_timers, g_strdup (out->id), GUINT_TO_POINTER (id));
    return G_SOURCE_REMOVE;
  }
  g_hash_table_remove (self->retry_timers, d->output_id);
  out->retries++;
  g_autoptr (GError) error = NULL;
  reel_log_output (G_LOG_LEVEL_INFO, self->rec->id, out->id, "retrying output %s (attempt %u)",
                   out->id, out->retries);
  if (!attach_output (self, out, &error)) {
    reel_recording_output_set_error (out, error);
    out->state = REEL_OUTPUT_STATE_FAILED;
  }
  return G_SOURCE_REMOVE;
}

static void
schedule_retry (ReelJobRunner *self, ReelRecordingOutput *out)
{
  guint max_retries = self->config->rtmp_max_retries;
  if (max_retries != 0 && out->retries >= max_retries)
    return;
  guint64 delay = self->config->rtmp_retry_initial_ms;
  for (guint i = 0; i < out->retries && delay < self->config->rtmp_retry_max_ms; i++)
    delay *= 2;
  delay = MIN (delay, self->config->rtmp_retry_max_ms);
  out->next_retry_at = g_get_real_time () + (gint64) delay * 1000;
  RetryData *d = g_new0 (RetryData, 1);
  d->self = g_object_ref (self);
  d->output_id = g_strdup (out->id);
  guint id = g_timeout_add_full (G_PRIORITY_DEFAULT, (guint) delay, retry_output, d, retry_data_free);
  g_hash_table_insert (self->retry_timers, g_strdup (out->id), GUINT_TO_POINTER (id));
}

static void
on_output_failed (ReelMediaGraph *graph, const char *output_id, GError *error, gpointer data)
{
  ReelJobRunner *self = data;
  ReelRecordingOutput *out = reel_recording_find_output (self->rec, output_id);
  if (out == NULL)
    return;
  reel_log_output (G_LOG_LEVEL_WARNING, self->rec->id, output_id, "output %s failed: %s",
                   output_id, error->message);
  out->state = REEL_OUTPUT_STATE_FAILED;
  reel_recording_output_set_error (out, error);
  g_hash_table_remove (self->removing, output_id);
  if (out->spec->type == REEL_OUTPUT_RTMP && !self->stopping)
    schedule_retry (self, out);
  g_signal_emit (self, signals[SIG_EVENT], 0, "output.failed", output_id);
  if (!self->stopping && !any_output_alive (self)) {
    g_autoptr (GError) all = g_error_new (REEL_ERROR, REEL_ERROR_ALL_OUTPUTS_FAILED,
                                          "every output failed; last: %s", error->message);
    fail_and_stop (self, all);
  }
}

static void
refresh_output_bytes (ReelJobRunner *self, ReelRecordingOutput *out)
{
  gint64 bytes = -1;
  if (out->spec->type == REEL_OUTPUT_FILE && out->path != NULL) {
    GStatBuf st;
    if (g_stat (out->path, &st) == 0)
      bytes = st.st_size;
  } else if (self->graph != NULL) {
    bytes = reel_media_graph_get_output_sent_bytes (self->graph, out->id);
  }
  if (bytes < 0 || bytes == out->bytes)
    return;
  out->bytes = bytes;
  gint64 *last = g_hash_table_lookup (self->progress, out->id);
  if (last != NULL)
    *last = g_get_monotonic_time ();
  if (out->state == REEL_OUTPUT_STATE_STARTING && bytes > 0) {
    out->state = REEL_OUTPUT_STATE_WRITING;
    reel_recording_output_set_error (out, NULL);
  }
}

static void
on_output_finished (ReelMediaGraph *graph, const char *output_id, gpointer data)
{
  ReelJobRunner *self = data;
  ReelRecordingOutput *out = reel_recording_find_output (self->rec, output_id);
  if (out == NULL || !output_is_open (out))
    return;
  refresh_output_bytes (self, out);
  out->state = g_hash_table_remove (self->removing, output_id) ? REEL_OUTPUT_STATE_STOPPED
                                                               : REEL_OUTPUT_STATE_FINISHED;
  reel_log_output (G_LOG_LEVEL_INFO, self->rec->id, output_id, "output %s %s (%" G_GINT64_FORMAT
                   " bytes)", output_id, reel_output_state_to_string (out->state), out->bytes);
}

/* A streaming output that sends nothing for stall_timeout_s is dead even if the
 * socket has not said so yet. */
static void
check_stall (ReelJobRunner *self, ReelRecordingOutput *out)
{
  if (out->spec->type != REEL_OUTPUT_RTMP || !output_is_open (out) ||
      g_hash_table_contains (self->removing, out->id))
    return;
  gint64 *last = g_hash_table_lookup (self->progress, out->id);
  gint64 limit = (gint64) self->config->rtmp_stall_timeout_s * G_USEC_PER_SEC;
  if (last == NULL || g_get_monotonic_time () - *last < limit)
    return;
  g_autoptr (GError) error = g_error_new (REEL_ERROR, REEL_ERROR_OUTPUT_FAILED,
                                          "no data sent for %u s", self->config->rtmp_stall_timeout_s);
  reel_media_graph_remove_output (self->graph, out->id, FALSE);
  on_output_failed (self->graph, out->id, error, self);
}

/**
 * reel_job_runner_refresh:
 * @self: the runner
 */
void
reel_job_runner_refresh (ReelJobRunner *self)
{
  for (guint i = 0; i < self->rec->outputs->len; i++) {
    ReelRecordingOutput *out = g_ptr_array_index (self->rec->outputs, i);
    if (output_is_open (out))
      refresh_output_bytes (self, out);
  }
}

static gboolean
stats_tick (gpointer data)
{
  ReelJobRunner *self = data;
  reel_job_runner_refresh (self);
  for (guint i = 0; i < self->rec->outputs->len; i++)
    check_stall (self, g_ptr_array_index (self->rec->outputs, i));
  return G_SOURCE_CONTINUE;
}

/* ---------- room → graph ---------- */

/* ---------- placeholders ---------- */

static gboolean
has_live_video (ReelRecordingParticipant *p)
{
  for (guint i = 0; i < p->tracks->len; i++) {
    ReelRecordingTrack *t = g_ptr_array_index (p->tracks, i);
    if (g_strcmp0 (t->kind, "video") == 0 && g_strcmp0 (t->state, "live") == 0)
      return TRUE;
  }
  return FALSE;
}

/* Every participant without live video gets a tile with their name, so the
 * layout shows who is there while they are muted, reconnecting or audio-only. */
static gboolean
reconcile_placeholders (gpointer data)
{
  ReelJobRunner *self = data;
  self->placeholder_timer = 0;
  if (self->stopping || self->done)
    return G_SOURCE_REMOVE;
  g_autoptr (GHashTable) wanted = g_hash_table_new (g_str_hash, g_str_equal);
  for (guint i = 0; i < self->rec->participants->len; i++) {
    ReelRecordingParticipant *p = g_ptr_array_index (self->rec->participants, i);
    if (has_live_video (p))
      continue;
    g_hash_table_add (wanted, p->id);
    if (g_hash_table_contains (self->placeholders, p->id))
      continue;
    g_autofree char *track_id = g_strdup_printf ("placeholder-%s", p->id);
    GstElement *src = reel_media_placeholder_source_new (p->name ? p->name : p->id, SYNTHETIC_WIDTH,
                                                         SYNTHETIC_HEIGHT, self->rec->spec->framerate);
    if (reel_media_graph_add_track (self->graph, p->id, track_id, REEL_MEDIA_KIND_VIDEO, src, NULL))
      g_hash_table_insert (self->placeholders, g_strdup (p->id), g_steal_pointer (&track_id));
  }
  GHashTableIter it;
  gpointer pid, track_id;
  g_hash_table_iter_init (&it, self->placeholders);
  while (g_hash_table_iter_next (&it, &pid, &track_id)) {
    if (g_hash_table_contains (wanted, pid))
      continue;
    reel_media_graph_remove_track (self->graph, track_id);
    g_hash_table_iter_remove (&it);
  }
  return G_SOURCE_REMOVE;
}

static void
schedule_placeholders (ReelJobRunner *self)
{
  if (self->placeholder_timer == 0 && !self->stopping)
    self->placeholder_timer = g_timeout_add (PLACEHOLDER_DELAY_MS, reconcile_placeholders, self);
}

/* A live video arrived: its placeholder goes now, not after the delay. */
static void
drop_placeholder (ReelJobRunner *self, const char *participant_id)
{
  const char *track_id = g_hash_table_lookup (self->placeholders, participant_id);
  if (track_id == NULL)
    return;
  reel_media_graph_remove_track (self->graph, track_id);
  g_hash_table_remove (self->placeholders, participant_id);
}

/* ---------- room → graph ---------- */

static void
on_participant_joined (ReelRoom *room, const char *participant_id, const char *name, gpointer data)
{
  ReelJobRunner *self = data;
  reel_recording_add_participant (self->rec, participant_id, name);
  reel_log_recording (G_LOG_LEVEL_INFO, self->rec->id, "participant %s joined", participant_id);
  schedule_placeholders (self);
}

static void
on_participant_left (ReelRoom *room, const char *participant_id, gpointer data)
{
  ReelJobRunner *self = data;
  reel_recording_remove_participant (self->rec, participant_id);
  reel_log_recording (G_LOG_LEVEL_INFO, self->rec->id, "participant %s left", participant_id);
  schedule_placeholders (self);
}

static void
track_live (ReelJobRunner *self, const char *participant_id, const char *track_id, const char *kind)
{
  reel_recording_add_track (self->rec, participant_id, track_id, kind);
  if (g_str_equal (kind, "video"))
    drop_placeholder (self, participant_id);
}

static void
on_router_track_live (ReelTrackRouter *router, const char *participant_id, const char *track_id,
                      const char *kind, gpointer data)
{
  track_live (data, participant_id, track_id, kind);
}

static void
on_router_track_gone (ReelTrackRouter *router, const char *participant_id, const char *track_id,
                      gpointer data)
{
  ReelJobRunner *self = data;
  reel_recording_remove_track (self->rec, participant_id, track_id);
  schedule_placeholders (self);
}

static void
on_track_added (ReelRoom *room, const char *participant_id, const char *track_id,
                ReelTrackInfo *info, gpointer data)
{
  ReelJobRunner *self = data;
  if (self->stopping)
    return;
  if (info->mid != NULL) {
    if (self->router != NULL)
      reel_track_router_add_track (self->router, participant_id, track_id, info);
    return;
  }
  ReelMediaKind kind = info->kind == REEL_TRACK_VIDEO ? REEL_MEDIA_KIND_VIDEO : REEL_MEDIA_KIND_AUDIO;
  GstElement *source = reel_media_synthetic_source_new (kind, info->color_rgb, info->tone_hz,
                                                        SYNTHETIC_WIDTH, SYNTHETIC_HEIGHT,
                                                        self->rec->spec->framerate);
  g_autoptr (GError) error = NULL;
  if (source == NULL ||
      !reel_media_graph_add_track (self->graph, participant_id, track_id, kind, source, &error)) {
    reel_log_recording (G_LOG_LEVEL_WARNING, self->rec->id, "track %s not added: %s", track_id,
                        error ? error->message : "no source");
    return;
  }
  track_live (self, participant_id, track_id, reel_track_kind_to_string (info->kind));
}

static void
on_track_removed (ReelRoom *room, const char *participant_id, const char *track_id, gpointer data)
{
  ReelJobRunner *self = data;
  if (self->router != NULL)
    reel_track_router_remove_track (self->router, track_id);
  reel_media_graph_remove_track (self->graph, track_id);
  reel_recording_remove_track (self->rec, participant_id, track_id);
  schedule_placeholders (self);
}

static void
on_room_failed (ReelRoom *room, GError *error, gpointer data)
{
  fail_and_stop (data, error);
}

static void
on_room_ended (ReelRoom *room, const char *reason, gpointer data)
{
  ReelJobRunner *self = data;
  reel_log_recording (G_LOG_LEVEL_INFO, self->rec->id, "the meeting ended (%s)",
                      reason ? reason : "no reason given");
  reel_job_runner_stop (self);
}

static void
on_track_state (ReelRoom *room, const char *participant_id, const char *track_id,
                const char *kind, const char *state, const char *error_code,
                const char *error_message, gpointer data)
{
  ReelJobRunner *self = data;
  if (state != NULL && g_strcmp0 (state, "failed") == 0)
    reel_log_recording (G_LOG_LEVEL_WARNING, self->rec->id, "track %s not recorded: %s (%s)",
                        track_id, error_code ? error_code : "refused",
                        error_message ? error_message : "");
  reel_recording_set_track_state (self->rec, participant_id, track_id, kind, state, error_code,
                                  error_message);
}

/* Returns: (transfer full) (nullable): the Cloudflare room of @spec, if reel has
 * its app's secret */
static ReelRoom *
cloudflare_room_new (ReelJobRunner *self, const ReelRoomSpec *spec, GError **error)
{
  const char *secret = reel_config_get_cloudflare_secret (self->config, spec->app_id);
  if (secret == NULL) {
    g_set_error (error, REEL_ERROR, REEL_ERROR_SFU_SECRET_MISSING,
                 "room.app_id: no secret is configured for Cloudflare app %s", spec->app_id);
    return NULL;
  }
  return REEL_ROOM (reel_cloudflare_room_new (spec, secret, self->config->cloudflare_simulcast_rid));
}

/* Returns: (transfer full): the Orange room of @spec; it pulls from the Realtime API
 * directly when the configuration names the deployments' app and has its secret */
static ReelRoom *
orange_room_new (ReelJobRunner *self, const ReelRoomSpec *spec)
{
  const ReelConfig *c = self->config;
  const char *secret = c->orange_app_id ? reel_config_get_cloudflare_secret (c, c->orange_app_id)
                                        : NULL;
  ReelOrangeOptions options = { .empty_timeout_s = c->orange_empty_timeout_s,
                                .app_id = secret ? c->orange_app_id : NULL, .app_secret = secret,
                                .api_url = c->orange_api_url,
                                .simulcast_rid = c->cloudflare_simulcast_rid };
  return REEL_ROOM (reel_orange_room_new (spec, &options));
}

static gboolean
create_room (ReelJobRunner *self, GError **error)
{
  const ReelRoomSpec *spec = self->rec->spec->room;
  switch (spec->provider) {
  case REEL_PROVIDER_SYNTHETIC:
    self->room = REEL_ROOM (reel_synthetic_room_new (spec));
    break;
  case REEL_PROVIDER_JANUS:
    self->room = REEL_ROOM (reel_janus_room_new (spec));
    break;
  case REEL_PROVIDER_CLOUDFLARE:
    self->room = cloudflare_room_new (self, spec, error);
    if (self->room == NULL)
      return FALSE;
    break;
  case REEL_PROVIDER_ORANGE:
    self->room = orange_room_new (self, spec);
    break;
  default:
    g_set_error (error, REEL_ERROR, REEL_ERROR_PROVIDER_UNAVAILABLE,
                 "room.provider: \"%s\" is not available in this build",
                 reel_provider_to_string (spec->provider));
    return FALSE;
  }
  g_signal_connect_object (self->room, "participant-joined", G_CALLBACK (on_participant_joined), self, 0);
  g_signal_connect_object (self->room, "participant-left", G_CALLBACK (on_participant_left), self, 0);
  g_signal_connect_object (self->room, "track-added", G_CALLBACK (on_track_added), self, 0);
  g_signal_connect_object (self->room, "track-removed", G_CALLBACK (on_track_removed), self, 0);
  g_signal_connect_object (self->room, "failed", G_CALLBACK (on_room_failed), self, 0);
  g_signal_connect_object (self->room, "ended", G_CALLBACK (on_room_ended), self, 0);
  g_signal_connect_object (self->room, "track-state", G_CALLBACK (on_track_state), self, 0);
  return TRUE;
}

/* ---------- lifecycle ---------- */

static gboolean
max_duration_reached (gpointer data)
{
  ReelJobRunner *self = data;
  self->max_duration_timer = 0;
  reel_log_recording (G_LOG_LEVEL_INFO, self->rec->id, "max_duration_s reached");
  reel_job_runner_stop (self);
  return G_SOURCE_REMOVE;
}

static void
on_graph_started (ReelMediaGraph *graph, gpointer data)
{
  ReelJobRunner *self = data;
  if (self->stopping)
    return;
  reel_recording_set_state (self->rec, REEL_RECORDING_RECORDING);
  reel_log_recording (G_LOG_LEVEL_INFO, self->rec->id, "recording %s started", self->rec->id);
  g_signal_emit (self, signals[SIG_EVENT], 0, "recording.started", NULL);
  /* Exactly max_duration_s of media: a millisecond timer, not a seconds one. */
  self->max_duration_timer = g_timeout_add ((guint) MIN (self->rec->spec->max_duration_s * 1000,
                                                         G_MAXUINT),
                                            max_duration_reached, self);
  reel_room_join (self->room);
}

static void
finish_outputs (ReelJobRunner *self)
{
  for (guint i = 0; i < self->rec->outputs->len; i++) {
    ReelRecordingOutput *out = g_ptr_array_index (self->rec->outputs, i);
    if (out->spec->type == REEL_OUTPUT_FILE)
      refresh_output_bytes (self, out);
    if (!output_is_open (out))
      continue;
    if (reel_media_graph_output_timed_out (self->graph, out->id)) {
      g_autoptr (GError) e = g_error_new (REEL_ERROR, REEL_ERROR_FINALIZE_TIMEOUT,
                                          "the output did not finish within %u s",
                                          self->config->stop_timeout_s);
      reel_recording_output_set_error (out, e);
      out->state = REEL_OUTPUT_STATE_FAILED;
    } else {
      out->state = REEL_OUTPUT_STATE_FINISHED;
    }
  }
}

static void
mark_done (ReelJobRunner *self)
{
  if (self->done)
    return;
  self->done = TRUE;
  g_clear_handle_id (&self->stats_timer, g_source_remove);
  g_clear_handle_id (&self->max_duration_timer, g_source_remove);
  g_clear_handle_id (&self->placeholder_timer, g_source_remove);
  g_hash_table_remove_all (self->retry_timers);
  if (self->room)
    reel_room_leave (self->room);
  reel_log_recording (G_LOG_LEVEL_INFO, self->rec->id, "recording %s %s", self->rec->id,
                      reel_recording_state_to_string (self->rec->state));
  g_signal_emit (self, signals[SIG_EVENT], 0,
                 self->rec->state == REEL_RECORDING_FINISHED ? "recording.finished"
                                                             : "recording.failed", NULL);
  g_signal_emit (self, signals[SIG_DONE], 0);
}

static void
on_graph_finished (ReelMediaGraph *graph, gpointer data)
{
  ReelJobRunner *self = data;
  finish_outputs (self);
  if (self->fail_error != NULL)
    reel_recording_fail (self->rec, self->fail_error);
  else if (!reel_recording_set_state (self->rec, REEL_RECORDING_FINISHED) &&
           reel_recording_set_state (self->rec, REEL_RECORDING_STOPPING))
    reel_recording_set_state (self->rec, REEL_RECORDING_FINISHED);
  mark_done (self);
}

static void
on_graph_failed (ReelMediaGraph *graph, GError *error, gpointer data)
{
  ReelJobRunner *self = data;
  for (guint i = 0; i < self->rec->outputs->len; i++) {
    ReelRecordingOutput *out = g_ptr_array_index (self->rec->outputs, i);
    if (out->spec->type == REEL_OUTPUT_FILE)
      refresh_output_bytes (self, out);
    if (output_is_open (out)) {
      out->state = REEL_OUTPUT_STATE_FAILED;
      reel_recording_output_set_error (out, error);
    }
  }
  reel_log_recording (G_LOG_LEVEL_WARNING, self->rec->id, "recording failed: %s", error->message);
  reel_recording_fail (self->rec, error);
  mark_done (self);
}

static void
fail_and_stop (ReelJobRunner *self, const GError *error)
{
  if (self->fail_error == NULL)
    self->fail_error = g_error_copy (error);
  reel_job_runner_stop (self);
}

static gboolean
build_graph (ReelJobRunner *self, GError **error)
{
  const ReelRecordingSpec *spec = self->rec->spec;
  ReelMediaSettings settings = {
    .name = self->rec->id,
    .width = spec->width, .height = spec->height, .framerate = spec->framerate,
    .bitrate_kbps = spec->bitrate_kbps,
    .audio_bitrate_kbps = self->config->audio_bitrate_kbps,
    .pipelines_dir = self->config->pipelines_dir,
    .video_encoder = self->config->video_encoder,
    .audio_encoder = self->config->audio_encoder,
  };
  self->graph = reel_media_graph_new (&settings, error);
  if (self->graph == NULL)
    return FALSE;
  g_signal_connect_object (self->graph, "started", G_CALLBACK (on_graph_started), self, 0);
  g_signal_connect_object (self->graph, "finished", G_CALLBACK (on_graph_finished), self, 0);
  g_signal_connect_object (self->graph, "failed", G_CALLBACK (on_graph_failed), self, 0);
  g_signal_connect_object (self->graph, "output-failed", G_CALLBACK (on_output_failed), self, 0);
  g_signal_connect_object (self->graph, "output-finished", G_CALLBACK (on_output_finished), self, 0);
  if (self->rec->spec->room->provider != REEL_PROVIDER_SYNTHETIC) {
    self->router = reel_track_router_new (self->graph, self->room, self->config, self->rec->id);
    g_signal_connect_object (self->router, "track-live", G_CALLBACK (on_router_track_live), self, 0);
    g_signal_connect_object (self->router, "track-gone", G_CALLBACK (on_router_track_gone), self, 0);
  }
  return TRUE;
}

/**
 * reel_job_runner_start:
 * Returns: %TRUE if the recording is starting; on %FALSE the record is failed
 */
gboolean
reel_job_runner_start (ReelJobRunner *self, GError **error)
{
  g_autoptr (GError) local = NULL;
  if (g_mkdir_with_parents (self->config->recordings_dir, 0750) != 0) {
    local = g_error_new (REEL_ERROR, REEL_ERROR_OUTPUT_FAILED, "cannot create recordings_dir: %s",
                         g_strerror (errno));
  } else if (create_room (self, &local) && build_graph (self, &local)) {
    for (guint i = 0; i < self->rec->outputs->len && local == NULL; i++)
      attach_output (self, g_ptr_array_index (self->rec->outputs, i), &local);
    if (local == NULL)
      reel_media_graph_start (self->graph, &local);
  }
  if (local != NULL) {
    reel_recording_fail (self->rec, local);
    g_clear_object (&self->graph);
    self->done = TRUE;
    g_propagate_error (error, g_steal_pointer (&local));
    return FALSE;
  }
  self->stats_timer = g_timeout_add (STATS_INTERVAL_MS, stats_tick, self);
  return TRUE;
}

/**
 * reel_job_runner_stop:
 * @self: the runner
 */
void
reel_job_runner_stop (ReelJobRunner *self)
{
  if (self->stopping || self->done)
    return;
  self->stopping = TRUE;
  g_clear_handle_id (&self->max_duration_timer, g_source_remove);
  g_hash_table_remove_all (self->retry_timers);
  g_clear_handle_id (&self->placeholder_timer, g_source_remove);
  reel_recording_set_state (self->rec, REEL_RECORDING_STOPPING);
  reel_log_recording (G_LOG_LEVEL_INFO, self->rec->id, "stopping recording %s", self->rec->id);
  if (self->room)
    reel_room_leave (self->room);
  if (self->router)
    reel_track_router_close (self->router);
  reel_media_graph_stop (self->graph, self->config->stop_timeout_s);
}

/* A new track list for a Cloudflare room: checked first, applied last. */
static gboolean
check_patch_tracks (ReelJobRunner *self, const GPtrArray *tracks, GError **error)
{
  if (self->rec->spec->room->provider != REEL_PROVIDER_CLOUDFLARE) {
    g_set_error (error, REEL_ERROR, REEL_ERROR_INVALID_FIELD,
                 "tracks: only a cloudflare room has a track list");
    return FALSE;
  }
  g_autoptr (GHashTable) people = g_hash_table_new (g_str_hash, g_str_equal);
  for (guint i = 0; i < tracks->len; i++)
    g_hash_table_add (people, (gpointer) reel_remote_track_participant (g_ptr_array_index (
                                (GPtrArray *) tracks, i)));
  if (g_hash_table_size (people) > self->config->max_participants) {
    g_set_error (error, REEL_ERROR, REEL_ERROR_INVALID_FIELD, "tracks: more than %u participants",
                 self->config->max_participants);
    return FALSE;
  }
  return TRUE;
}

static void
apply_patch_tracks (ReelJobRunner *self, const GPtrArray *tracks)
{
  ReelRoomSpec *room = self->rec->spec->room;
  g_ptr_array_unref (room->tracks);
  room->tracks = reel_remote_tracks_copy (tracks);
  if (room->public_json != NULL && JSON_NODE_HOLDS_OBJECT (room->public_json))
    json_object_set_member (json_node_get_object (room->public_json), "tracks",
                            reel_remote_tracks_to_json (tracks));
  reel_log_recording (G_LOG_LEVEL_INFO, self->rec->id, "track list changed: %u track(s)", tracks->len);
  reel_cloudflare_room_set_tracks (REEL_CLOUDFLARE_ROOM (self->room), tracks);
}

static gboolean
remove_output (ReelJobRunner *self, const char *output_id, GError **error)
{
  ReelRecordingOutput *out = reel_recording_find_output (self->rec, output_id);
  if (out == NULL) {
    g_set_error (error, REEL_ERROR, REEL_ERROR_INVALID_FIELD,
                 "outputs.remove: no output \"%s\" in this recording", output_id);
    return FALSE;
  }
  if (g_hash_table_remove (self->retry_timers, output_id)) {
    out->state = REEL_OUTPUT_STATE_STOPPED;
    out->next_retry_at = 0;
    return TRUE;
  }
  if (!output_is_open (out)) {
    g_set_error (error, REEL_ERROR, REEL_ERROR_WRONG_STATE, "output %s is already %s",
                 output_id, reel_output_state_to_string (out->state));
    return FALSE;
  }
  g_hash_table_add (self->removing, g_strdup (output_id));
  reel_media_graph_remove_output (self->graph, output_id, TRUE);
  return TRUE;
}

/**
 * reel_job_runner_patch:
 * Returns: %TRUE if every change was applied
 */
gboolean
reel_job_runner_patch (ReelJobRunner *self, const ReelRecordingPatch *patch, GError **error)
{
  if (self->stopping || self->done || self->rec->state != REEL_RECORDING_RECORDING) {
    g_set_error (error, REEL_ERROR, REEL_ERROR_WRONG_STATE, "recording %s is %s", self->rec->id,
                 reel_recording_state_to_string (self->rec->state));
    return FALSE;
  }
  guint open = 0;
  for (guint i = 0; i < self->rec->outputs->len; i++)
    open += output_is_open (g_ptr_array_index (self->rec->outputs, i)) ? 1 : 0;
  if (patch->add_outputs && open + patch->add_outputs->len > 8) {
    g_set_error (error, REEL_ERROR, REEL_ERROR_INVALID_FIELD,
                 "outputs.add: at most 8 outputs can run at once");
    return FALSE;
  }
  if (patch->tracks != NULL && !check_patch_tracks (self, patch->tracks, error))
    return FALSE;
  for (guint i = 0; patch->remove_outputs && i < patch->remove_outputs->len; i++)
    if (!remove_output (self, g_ptr_array_index (patch->remove_outputs, i), error))
      return FALSE;
  if (patch->has_layout)
    self->rec->spec->layout = patch->layout;
  if (patch->tracks != NULL)
    apply_patch_tracks (self, patch->tracks);
  for (guint i = 0; patch->add_outputs && i < patch->add_outputs->len; i++) {
    ReelOutputSpec *spec = reel_output_spec_copy (g_ptr_array_index (patch->add_outputs, i));
    ReelRecordingOutput *out = reel_recording_add_output (self->rec, spec);
    g_autoptr (GError) local = NULL;
    if (!attach_output (self, out, &local)) {
      out->state = REEL_OUTPUT_STATE_FAILED;
      reel_recording_output_set_error (out, local);
    }
  }
  return TRUE;
}

/* ---------- GObject ---------- */

static void
reel_job_runner_dispose (GObject *object)
{
  ReelJobRunner *self = REEL_JOB_RUNNER (object);
  g_clear_handle_id (&self->stats_timer, g_source_remove);
  g_clear_handle_id (&self->max_duration_timer, g_source_remove);
  g_clear_handle_id (&self->placeholder_timer, g_source_remove);
  if (self->retry_timers)
    g_hash_table_remove_all (self->retry_timers);
  if (self->room)
    reel_room_leave (self->room);
  g_clear_object (&self->router);
  g_clear_object (&self->room);
  g_clear_object (&self->graph);
  G_OBJECT_CLASS (reel_job_runner_parent_class)->dispose (object);
}

static void
reel_job_runner_finalize (GObject *object)
{
  ReelJobRunner *self = REEL_JOB_RUNNER (object);
  g_hash_table_unref (self->retry_timers);
  g_hash_table_unref (self->progress);
  g_hash_table_unref (self->removing);
  g_hash_table_unref (self->placeholders);
  g_clear_error (&self->fail_error);
  reel_recording_unref (self->rec);
  reel_config_unref (self->config);
  G_OBJECT_CLASS (reel_job_runner_parent_class)->finalize (object);
}

static void
remove_source (gpointer id)
{
  g_source_remove (GPOINTER_TO_UINT (id));
}

static void
reel_job_runner_init (ReelJobRunner *self)
{
  self->retry_timers = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, remove_source);
  self->progress = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  self->removing = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  self->placeholders = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
}

static void
reel_job_runner_class_init (ReelJobRunnerClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  object_class->dispose = reel_job_runner_dispose;
  object_class->finalize = reel_job_runner_finalize;
  signals[SIG_EVENT] = g_signal_new ("event", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0,
                                     NULL, NULL, NULL, G_TYPE_NONE, 2, G_TYPE_STRING, G_TYPE_STRING);
  signals[SIG_DONE] = g_signal_new ("done", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0,
                                    NULL, NULL, NULL, G_TYPE_NONE, 0);
}
