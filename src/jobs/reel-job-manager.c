/* reel-job-manager.c: the set of recordings. */
#include "jobs/reel-job-manager.h"

#include "base/reel-error.h"
#include "base/reel-log.h"
#include "jobs/reel-job-runner.h"

struct _ReelJobManager {
  GObject parent_instance;
  ReelConfig *config;
  ReelStore *store;         /* (nullable) */
  GPtrArray *recordings;    /* (element-type ReelRecording) oldest first */
  GHashTable *runners;      /* id → ReelJobRunner, while active */
  GSourceFunc shutdown_done;
  gpointer shutdown_data;
};

G_DEFINE_FINAL_TYPE (ReelJobManager, reel_job_manager, G_TYPE_OBJECT)

/**
 * reel_job_manager_new:
 * Returns: (transfer full): the manager
 */
ReelJobManager *
reel_job_manager_new (ReelConfig *config)
{
  ReelJobManager *self = g_object_new (REEL_TYPE_JOB_MANAGER, NULL);
  self->config = reel_config_ref (config);
  return self;
}

/**
 * reel_job_manager_set_config:
 * @config: (transfer none): a reloaded configuration
 *
 * SIGHUP: limits, defaults and the settings of recordings created from now on
 * come from @config; running recordings keep the one they started with.
 */
void
reel_job_manager_set_config (ReelJobManager *self, ReelConfig *config)
{
  ReelConfig *old = self->config;
  self->config = reel_config_ref (config);
  reel_config_unref (old);
}

/**
 * reel_job_manager_get_request_limits:
 * @limits: (out caller-allocates): filled from the config
 */
void
reel_job_manager_get_request_limits (ReelJobManager *self, ReelRequestLimits *limits)
{
  limits->max_participants = self->config->max_participants;
  limits->max_duration_s = self->config->max_duration_s;
  limits->default_width = self->config->default_width;
  limits->default_height = self->config->default_height;
  limits->default_framerate = self->config->default_framerate;
  limits->default_bitrate_kbps = self->config->default_bitrate_kbps;
}

/* ---------- durable state ---------- */

/* Writes @rec, with the webhook @event (nullable) when webhooks are configured. A
 * failure to write is logged: the recording itself goes on. */
static void
persist (ReelJobManager *self, ReelRecording *rec, const char *event, const char *output_id)
{
  g_autoptr (GError) error = NULL;
  if (self->store == NULL)
    return;
  if (self->config->webhooks_url == NULL)
    event = NULL;
  if (!reel_store_save_recording (self->store, rec, event, output_id, &error))
    reel_log_recording (G_LOG_LEVEL_WARNING, rec->id, "recording %s not saved: %s", rec->id,
                        error->message);
}

/**
 * reel_job_manager_attach_store:
 * @store: (transfer none): the opened store
 * Returns: %TRUE once every stored recording is loaded
 */
gboolean
reel_job_manager_attach_store (ReelJobManager *self, ReelStore *store, GError **error)
{
  g_return_val_if_fail (self->store == NULL && self->recordings->len == 0, FALSE);
  g_autoptr (GPtrArray) loaded = reel_store_load_recordings (store, error);
  if (loaded == NULL)
    return FALSE;
  self->store = g_object_ref (store);
  guint interrupted = 0;
  for (guint i = 0; i < loaded->len; i++) {
    ReelRecording *rec = g_ptr_array_index (loaded, i);
    g_ptr_array_add (self->recordings, reel_recording_ref (rec));
    if (!reel_recording_state_is_active (rec->state) && rec->state != REEL_RECORDING_SCHEDULED)
      continue;
    g_autofree char *room = reel_recording_spec_room_label (rec->spec);
    reel_log_set_room (rec->id, room);
    reel_recording_mark_interrupted (rec, g_get_real_time ());
    reel_log_recording (G_LOG_LEVEL_WARNING, rec->id, "recording %s was interrupted (reeld stopped "
                        "while it ran); %u file(s) kept", rec->id, rec->artifacts->len);
    persist (self, rec, "recording.failed", NULL);
    interrupted++;
  }
  g_message ("state db: %u recording(s) loaded, %u interrupted", loaded->len, interrupted);
  return TRUE;
}

static void
on_runner_event (ReelJobRunner *runner, const char *event, const char *output_id, gpointer data)
{
  ReelJobManager *self = data;
  ReelRecording *rec = reel_job_runner_get_recording (runner);
  reel_job_runner_refresh (runner);
  if (g_strcmp0 (event, "recording.finished") == 0 || g_strcmp0 (event, "recording.failed") == 0)
    reel_recording_collect_artifacts (rec);
  persist (self, rec, event, output_id);
}

static void
check_shutdown (ReelJobManager *self)
{
  if (self->shutdown_done == NULL || g_hash_table_size (self->runners) > 0)
    return;
  GSourceFunc done = self->shutdown_done;
  self->shutdown_done = NULL;
  done (self->shutdown_data);
}

static gboolean
drop_runner (gpointer data)
{
  ReelJobRunner *runner = data;
  ReelJobManager *self = g_object_get_data (G_OBJECT (runner), "reel-manager");
  ReelRecording *rec = reel_job_runner_get_recording (runner);
  g_hash_table_remove (self->runners, rec->id);
  check_shutdown (self);
  return G_SOURCE_REMOVE;
}

static void
on_runner_done (ReelJobRunner *runner, gpointer data)
{
  /* Not from inside the runner's own signal emission: drop it from an idle. */
  g_idle_add_full (G_PRIORITY_HIGH, drop_runner, g_object_ref (runner), g_object_unref);
}

/**
 * reel_job_manager_create:
 * @spec: (transfer full): the validated request
 * Returns: (transfer full) (nullable): the record
 */
ReelRecording *
reel_job_manager_create (ReelJobManager *self, ReelRecordingSpec *spec, GError **error)
{
  return reel_job_manager_create_full (self, spec, NULL, error);
}

/**
 * reel_job_manager_create_full:
 * @spec: (transfer full): the validated request
 * @schedule_id: (nullable): the schedule this recording is an occurrence of
 * Returns: (transfer full) (nullable): the record
 */
ReelRecording *
reel_job_manager_create_full (ReelJobManager *self, ReelRecordingSpec *spec, const char *schedule_id,
                              GError **error)
{
  g_autoptr (ReelRecordingSpec) owned = spec;
  if (self->shutdown_done != NULL) {
    g_set_error (error, REEL_ERROR, REEL_ERROR_AT_CAPACITY, "reeld is shutting down");
    return NULL;
  }
  if (spec->room->provider == REEL_PROVIDER_CLOUDFLARE &&
      reel_config_get_cloudflare_secret (self->config, spec->room->app_id) == NULL) {
    g_set_error (error, REEL_ERROR, REEL_ERROR_SFU_SECRET_MISSING,
                 "room.app_id: no secret is configured for Cloudflare app %s (set [cloudflare] "
                 "app_secret, app_secret_file or apps, REEL_CLOUDFLARE_APP_SECRET or the "
                 "credential cloudflare-app-secret)", spec->room->app_id);
    return NULL;
  }
  if (g_hash_table_size (self->runners) >= self->config->max_recordings) {
    g_set_error (error, REEL_ERROR, REEL_ERROR_AT_CAPACITY,
                 "%u recordings are running, the configured maximum", self->config->max_recordings);
    return NULL;
  }
  g_autofree char *id = reel_recording_new_id ();
  g_autofree char *room = reel_recording_spec_room_label (owned);
  reel_log_set_room (id, room);
  g_autoptr (ReelRecording) rec = reel_recording_new (id, g_steal_pointer (&owned));
  rec->schedule_id = g_strdup (schedule_id);
  g_ptr_array_add (self->recordings, reel_recording_ref (rec));
  g_autoptr (ReelJobRunner) runner = reel_job_runner_new (rec, self->config);
  g_autoptr (GError) local = NULL;
  g_signal_connect_object (runner, "event", G_CALLBACK (on_runner_event), self, 0);
  if (!reel_job_runner_start (runner, &local)) {
    reel_log_recording (G_LOG_LEVEL_WARNING, rec->id, "recording %s failed to start: %s", rec->id,
                        local->message);
    reel_recording_collect_artifacts (rec);
    persist (self, rec, "recording.failed", NULL);
    return g_steal_pointer (&rec);
  }
  persist (self, rec, NULL, NULL); /* file paths are known now: kept even if reeld dies */
  g_object_set_data (G_OBJECT (runner), "reel-manager", self);
  g_signal_connect (runner, "done", G_CALLBACK (on_runner_done), NULL);
  g_hash_table_insert (self->runners, g_strdup (rec->id), g_steal_pointer (&runner));
  reel_log_recording (G_LOG_LEVEL_INFO, rec->id, "recording %s created", rec->id);
  return g_steal_pointer (&rec);
}

static ReelMediaGraph *
graph_of (ReelJobManager *self, const char *id)
{
  ReelJobRunner *runner = g_hash_table_lookup (self->runners, id);
  return runner != NULL ? reel_job_runner_get_graph (runner) : NULL;
}

/**
 * reel_job_manager_get_media_stats:
 * @stats: (out caller-allocates): filled on success
 * Returns: %TRUE if the recording is active with a graph
 */
gboolean
reel_job_manager_get_media_stats (ReelJobManager *self, const char *id,
                                  ReelRecordingMediaStats *stats)
{
  ReelMediaGraph *graph = graph_of (self, id);
  if (graph == NULL)
    return FALSE;
  ReelMediaStats media;
  reel_media_graph_get_stats (graph, &media);
  const ReelMediaKind kinds[2] = { REEL_MEDIA_KIND_AUDIO, REEL_MEDIA_KIND_VIDEO };
  for (int i = 0; i < 2; i++) {
    stats->encoder_frames_dropped[i] = media.encoder_frames_dropped[kinds[i]];
    stats->latency_s[i] = media.latency_us[kinds[i]] < 0 ? -1.0
                                                         : media.latency_us[kinds[i]] / 1e6;
  }
  return TRUE;
}

/**
 * reel_job_manager_get_output_frames_dropped:
 * Returns: leak events of the output's queue, 0 when unknown
 */
guint64
reel_job_manager_get_output_frames_dropped (ReelJobManager *self, const char *id,
                                            const char *output_id, gboolean video)
{
  ReelMediaGraph *graph = graph_of (self, id);
  if (graph == NULL)
    return 0;
  return reel_media_graph_get_output_frames_dropped (graph, output_id,
                                                     video ? REEL_MEDIA_KIND_VIDEO
                                                           : REEL_MEDIA_KIND_AUDIO);
}

/**
 * reel_job_manager_get:
 * Returns: (transfer none) (nullable): the record
 */
ReelRecording *
reel_job_manager_get (ReelJobManager *self, const char *id)
{
  ReelJobRunner *runner = g_hash_table_lookup (self->runners, id);
  if (runner != NULL)
    reel_job_runner_refresh (runner);
  for (guint i = 0; i < self->recordings->len; i++) {
    ReelRecording *rec = g_ptr_array_index (self->recordings, i);
    if (g_strcmp0 (rec->id, id) == 0)
      return rec;
  }
  return NULL;
}

/**
 * reel_job_manager_list:
 * Returns: (transfer container) (element-type ReelRecording): newest first
 */
GPtrArray *
reel_job_manager_list (ReelJobManager *self)
{
  GPtrArray *list = g_ptr_array_new ();
  for (guint i = self->recordings->len; i > 0; i--) {
    ReelRecording *rec = g_ptr_array_index (self->recordings, i - 1);
    ReelJobRunner *runner = g_hash_table_lookup (self->runners, rec->id);
    if (runner != NULL)
      reel_job_runner_refresh (runner);
    g_ptr_array_add (list, rec);
  }
  return list;
}

static ReelJobRunner *
active_runner (ReelJobManager *self, const char *id, GError **error)
{
  ReelRecording *rec = reel_job_manager_get (self, id);
  if (rec == NULL) {
    g_set_error (error, REEL_ERROR, REEL_ERROR_NOT_FOUND, "no recording %s", id);
    return NULL;
  }
  ReelJobRunner *runner = g_hash_table_lookup (self->runners, id);
  if (runner == NULL || rec->state == REEL_RECORDING_STOPPING) {
    g_set_error (error, REEL_ERROR, REEL_ERROR_WRONG_STATE, "recording %s is %s", id,
                 reel_recording_state_to_string (rec->state));
    return NULL;
  }
  return runner;
}

/**
 * reel_job_manager_stop:
 * Returns: %TRUE if the recording is stopping
 */
gboolean
reel_job_manager_stop (ReelJobManager *self, const char *id, GError **error)
{
  ReelJobRunner *runner = active_runner (self, id, error);
  if (runner == NULL)
    return FALSE;
  reel_job_runner_stop (runner);
  return TRUE;
}

/**
 * reel_job_manager_patch:
 * Returns: %TRUE if the patch was applied
 */
gboolean
reel_job_manager_patch (ReelJobManager *self, const char *id, const ReelRecordingPatch *patch,
                        GError **error)
{
  ReelJobRunner *runner = active_runner (self, id, error);
  if (runner == NULL || !reel_job_runner_patch (runner, patch, error))
    return FALSE;
  persist (self, reel_job_runner_get_recording (runner), NULL, NULL); /* new outputs' paths */
  return TRUE;
}

/**
 * reel_job_manager_count_active:
 * Returns: recordings holding resources
 */
guint
reel_job_manager_count_active (ReelJobManager *self)
{
  return g_hash_table_size (self->runners);
}

/**
 * reel_job_manager_shutdown:
 * @done: called once every recording is finalized
 */
void
reel_job_manager_shutdown (ReelJobManager *self, GSourceFunc done, gpointer user_data)
{
  self->shutdown_done = done;
  self->shutdown_data = user_data;
  GHashTableIter it;
  gpointer runner;
  g_hash_table_iter_init (&it, self->runners);
  while (g_hash_table_iter_next (&it, NULL, &runner))
    reel_job_runner_stop (runner);
  check_shutdown (self);
}

static void
reel_job_manager_finalize (GObject *object)
{
  ReelJobManager *self = REEL_JOB_MANAGER (object);
  g_hash_table_unref (self->runners);
  g_ptr_array_unref (self->recordings);
  g_clear_object (&self->store);
  reel_config_unref (self->config);
  G_OBJECT_CLASS (reel_job_manager_parent_class)->finalize (object);
}

static void
reel_job_manager_init (ReelJobManager *self)
{
  self->recordings = g_ptr_array_new_with_free_func ((GDestroyNotify) reel_recording_unref);
  self->runners = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_object_unref);
}

static void
reel_job_manager_class_init (ReelJobManagerClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = reel_job_manager_finalize;
}
