/* reel-job-manager.h: every recording of this reeld: creation, lookup, stop,
 * live changes, and the clean shutdown on SIGTERM. Main context only. */
#pragma once

#include <glib-object.h>

#include "jobs/reel-recording-spec.h"
#include "config/reel-config.h"
#include "jobs/reel-recording.h"
#include "jobs/reel-store.h"

G_BEGIN_DECLS

#define REEL_TYPE_JOB_MANAGER (reel_job_manager_get_type ())
G_DECLARE_FINAL_TYPE (ReelJobManager, reel_job_manager, REEL, JOB_MANAGER, GObject)

/* Returns: (transfer full): a manager with no recordings */
ReelJobManager *reel_job_manager_new (ReelConfig *config);

/* Makes the manager durable: loads every recording of @store (recordings that were
 * active when reeld died become failed with error.code "interrupted", their files
 * listed as artifacts, and a recording.failed webhook is queued), then writes every
 * change of a recording to @store, with its webhook event when [webhooks] url is set.
 * Call once, before the first recording is created. */
gboolean reel_job_manager_attach_store (ReelJobManager *self, ReelStore *store, GError **error);

/* SIGHUP: recordings created from now on (and the limits) use @config; running
 * recordings keep theirs. */
void reel_job_manager_set_config (ReelJobManager *self, ReelConfig *config);

/* Validated limits for request parsing, from the config. */
void reel_job_manager_get_request_limits (ReelJobManager *self, ReelRequestLimits *limits);

/* Creates and starts a recording. REEL_ERROR_AT_CAPACITY when max_recordings
 * are active. A recording that fails to start is kept (state failed) and returned.
 * @spec: (transfer full)
 * Returns: (transfer full): the record */
ReelRecording *reel_job_manager_create (ReelJobManager *self, ReelRecordingSpec *spec,
                                        GError **error);

/* Same, for an occurrence of schedule @schedule_id (nullable): the record carries it.
 * @spec: (transfer full)
 * Returns: (transfer full) (nullable): the record */
ReelRecording *reel_job_manager_create_full (ReelJobManager *self, ReelRecordingSpec *spec,
                                             const char *schedule_id, GError **error);

/* Returns: (transfer none) (nullable): the record with @id */
ReelRecording *reel_job_manager_get (ReelJobManager *self, const char *id);

/* Returns: (transfer container) (element-type ReelRecording): newest first */
GPtrArray *reel_job_manager_list (ReelJobManager *self);

/* REEL_ERROR_NOT_FOUND or REEL_ERROR_WRONG_STATE (not active). */
gboolean reel_job_manager_stop (ReelJobManager *self, const char *id, GError **error);

gboolean reel_job_manager_patch (ReelJobManager *self, const char *id,
                                 const ReelRecordingPatch *patch, GError **error);

guint reel_job_manager_count_active (ReelJobManager *self);

/* Live media numbers of an active recording, for /metrics. Plain data, indexed
 * [0] audio, [1] video (see ReelMediaStats in media/reel-media-graph.h). */
typedef struct {
  guint64 encoder_frames_dropped[2];
  double latency_s[2];        /* < 0: not measured (yet) */
} ReelRecordingMediaStats;

/* Returns: %TRUE and fills @stats if @id is active and its graph is built. */
gboolean reel_job_manager_get_media_stats (ReelJobManager *self, const char *id,
                                           ReelRecordingMediaStats *stats);

/* Frames an output's queue of kind @video (else audio) discarded (leak events);
 * 0 when unknown. */
guint64 reel_job_manager_get_output_frames_dropped (ReelJobManager *self, const char *id,
                                                    const char *output_id, gboolean video);

/* Stops every recording; @done runs once all are finalized (maybe at once). */
void reel_job_manager_shutdown (ReelJobManager *self, GSourceFunc done, gpointer user_data);

G_END_DECLS
