/* reel-job-runner.h: drives one running recording: joins its room, feeds the
 * media graph, keeps the record up to date, retries streaming outputs, and
 * finalizes everything on stop.
 */
#pragma once

#include <glib-object.h>

#include "jobs/reel-recording-spec.h"
#include "config/reel-config.h"
#include "jobs/reel-recording.h"
#include "media/reel-media-graph.h"

G_BEGIN_DECLS

#define REEL_TYPE_JOB_RUNNER (reel_job_runner_get_type ())
G_DECLARE_FINAL_TYPE (ReelJobRunner, reel_job_runner, REEL, JOB_RUNNER, GObject)

/* Signals:
 *  "event" (utf8 name, utf8 output_id or NULL): something a webhook or the store
 *      cares about happened: "recording.started", "recording.finished",
 *      "recording.failed", "output.failed" (with the output's id). The record is
 *      already updated when it is emitted.
 *  "done" (): the recording reached finished or failed; the runner holds no media
 *      resources any more (emitted right after the final "event").
 * Returns: (transfer full): a runner for @rec */
ReelJobRunner *reel_job_runner_new (ReelRecording *rec, ReelConfig *config);

/* Builds the graph and its outputs and starts recording. */
gboolean reel_job_runner_start (ReelJobRunner *self, GError **error);

/* Stops: EOS, every output finalized, then "done". Idempotent. */
void reel_job_runner_stop (ReelJobRunner *self);

/* Applies a validated PATCH: layout, outputs added or removed. */
gboolean reel_job_runner_patch (ReelJobRunner *self, const ReelRecordingPatch *patch,
                                GError **error);

/* Refreshes the record's live numbers (bytes written). */
void reel_job_runner_refresh (ReelJobRunner *self);

ReelRecording *reel_job_runner_get_recording (ReelJobRunner *self);

/* Returns: (transfer none) (nullable): the media graph, once built (metrics) */
ReelMediaGraph *reel_job_runner_get_graph (ReelJobRunner *self);

G_END_DECLS
