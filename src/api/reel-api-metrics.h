/* reel-api-metrics.h: GET /metrics, the Prometheus text exposition format (0.0.4).
 *
 * Read from the job manager's public records on each scrape (nothing is counted on
 * the side, so nothing can drift), plus the webhook outbox and /proc/self/stat.
 * Labels carry ids and states only: never URLs, stream keys or tokens.
 */
#pragma once

#include <libsoup/soup.h>

#include "jobs/reel-job-manager.h"
#include "jobs/reel-store.h"

G_BEGIN_DECLS

/* Returns: (transfer full): the exposition text for @manager's recordings;
 * @store: (nullable): the source of the webhook queue depth */
char *reel_api_metrics_render (ReelJobManager *manager, ReelStore *store);

/* The store /metrics reads the webhook queue depth from (reeld sets it once).
 * @store: (transfer none) (nullable) */
void reel_api_metrics_set_store (ReelStore *store);

/* Answers @msg (GET or HEAD /metrics, else 405). */
void reel_api_metrics_respond (ReelJobManager *manager, SoupServerMessage *msg);

G_END_DECLS
