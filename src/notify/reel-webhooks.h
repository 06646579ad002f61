/* reel-webhooks.h: delivers the webhook outbox to [webhooks] url.
 *
 * The job manager queues events in the store's outbox in the same transaction as
 * the recording change; this object sends them, oldest first, one at a time, with
 * libcurl on the main loop, and deletes each once the receiver answered 2xx. So an
 * event is delivered at least once, across restarts; receivers dedupe on its "id"
 * (also in the Reel-Delivery header).
 *
 * Failures: an HTTP answer other than 2xx retries that event after a delay that
 * doubles from retry_initial_ms up to retry_max_ms; no answer at all (connection
 * refused, timeout) pauses the whole queue for that event's delay instead, so a
 * receiver that is down is not hammered and events keep their order. A 2xx after
 * failures makes every waiting event due at once.
 *
 * Each POST carries {"id", "event", "recording", ["output_id"], "sent_at"} and
 * Reel-Signature: t=UNIX_SECONDS,v1=hex(HMAC-SHA256(secret, "<t>." + body)).
 * The URL may hold a token: it is never logged.
 */
#pragma once

#include <glib-object.h>

#include "base/reel-curl.h"
#include "jobs/reel-store.h"

G_BEGIN_DECLS

typedef struct {
  const char *url;             /* http(s) URL */
  const char *secret;          /* (nullable): without it events go unsigned */
  guint retry_initial_ms;
  guint retry_max_ms;
  guint timeout_s;             /* per attempt */
} ReelWebhooksSettings;

#define REEL_TYPE_WEBHOOKS (reel_webhooks_get_type ())
G_DECLARE_FINAL_TYPE (ReelWebhooks, reel_webhooks, REEL, WEBHOOKS, GObject)

/* Returns: (transfer full): a sender for @store's outbox; @settings is copied */
ReelWebhooks *reel_webhooks_new (const ReelWebhooksSettings *settings, ReelStore *store,
                                 ReelCurl *curl);

/* SIGHUP: the next attempts use @settings (copied). */
void reel_webhooks_set_settings (ReelWebhooks *self, const ReelWebhooksSettings *settings);

/* Starts sending what waits and whatever is queued later. */
void reel_webhooks_start (ReelWebhooks *self);

/* Sends what is due for up to @timeout_ms (reeld is stopping), then runs @done once
 * from the main loop (an idle source: return G_SOURCE_REMOVE). */
void reel_webhooks_flush (ReelWebhooks *self, guint timeout_ms, GSourceFunc done, gpointer user_data);

/* Returns: (transfer full): the Reel-Signature value for @body signed at @t (seconds) */
char *reel_webhooks_signature (const char *secret, gint64 t, const char *body);

/* Returns: the delay before attempt @attempts + 1, after @attempts failures (>= 1) */
guint reel_webhooks_backoff_ms (guint attempts, guint initial_ms, guint max_ms);

G_END_DECLS
