/* reel-webhooks.c: the outbox sender. Main context only. */
#include "notify/reel-webhooks.h"

#include <string.h>

#include "base/reel-json.h"

struct _ReelWebhooks {
  GObject parent_instance;
  char *url;
  char *secret;                /* (nullable) */
  guint retry_initial_ms, retry_max_ms, timeout_s;
  ReelStore *store;
  ReelCurl *curl;
  gboolean started;
  gboolean in_flight;
  gboolean had_failures;       /* since the last delivery */
  gint64 paused_until;         /* the receiver did not answer: nothing before this */
  GSource *timer;              /* next attempt */
  GSource *flush_deadline;
  GSourceFunc flush_done;
  gpointer flush_data;
};

G_DEFINE_FINAL_TYPE (ReelWebhooks, reel_webhooks, G_TYPE_OBJECT)

static void drain (ReelWebhooks *self);

/**
 * reel_webhooks_signature:
 * Returns: (transfer full): "t=<t>,v1=<hex HMAC-SHA256 of "<t>.<body>">"
 */
char *
reel_webhooks_signature (const char *secret, gint64 t, const char *body)
{
  g_autofree char *signed_text = g_strdup_printf ("%" G_GINT64_FORMAT ".%s", t, body);
  g_autofree char *mac = g_compute_hmac_for_string (G_CHECKSUM_SHA256, (const guchar *) secret,
                                                    strlen (secret), signed_text, -1);
  return g_strdup_printf ("t=%" G_GINT64_FORMAT ",v1=%s", t, mac);
}

/**
 * reel_webhooks_backoff_ms:
 * Returns: initial_ms * 2^(attempts - 1), at most max_ms
 */
guint
reel_webhooks_backoff_ms (guint attempts, guint initial_ms, guint max_ms)
{
  guint64 delay = initial_ms;
  for (guint i = 1; i < attempts && delay < max_ms; i++)
    delay *= 2;
  return (guint) MIN (delay, (guint64) max_ms);
}

/**
 * reel_webhooks_new:
 * @settings: copied
 * Returns: (transfer full): the sender
 */
ReelWebhooks *
reel_webhooks_new (const ReelWebhooksSettings *settings, ReelStore *store, ReelCurl *curl)
{
  ReelWebhooks *self = g_object_new (REEL_TYPE_WEBHOOKS, NULL);
  reel_webhooks_set_settings (self, settings);
  self->store = g_object_ref (store);
  self->curl = g_object_ref (curl);
  return self;
}

/**
 * reel_webhooks_set_settings:
 * @settings: copied
 *
 * The next delivery attempts use @settings; one in flight finishes with the old.
 */
void
reel_webhooks_set_settings (ReelWebhooks *self, const ReelWebhooksSettings *settings)
{
  g_free (self->url);
  g_free (self->secret);
  self->url = g_strdup (settings->url);
  self->secret = settings->secret && settings->secret[0] ? g_strdup (settings->secret) : NULL;
  self->retry_initial_ms = MAX (settings->retry_initial_ms, 1);
  self->retry_max_ms = MAX (settings->retry_max_ms, self->retry_initial_ms);
  self->timeout_s = MAX (settings->timeout_s, 1);
}

/* ---------- timers and flushing ---------- */

static void
clear_source (GSource **source)
{
  if (*source == NULL)
    return;
  g_source_destroy (*source);
  g_clear_pointer (source, g_source_unref);
}

static gboolean
on_timer (gpointer data)
{
  ReelWebhooks *self = data;
  g_clear_pointer (&self->timer, g_source_unref);
  drain (self);
  return G_SOURCE_REMOVE;
}

static void
arm_timer (ReelWebhooks *self, gint64 when)
{
  clear_source (&self->timer);
  gint64 delay_ms = MAX ((when - g_get_real_time () + 999) / 1000, 0);
  self->timer = g_timeout_source_new ((guint) MIN (delay_ms, 60000)); /* re-check at least each minute */
  g_source_set_callback (self->timer, on_timer, self, NULL);
  g_source_attach (self->timer, NULL);
}

static void
finish_flush (ReelWebhooks *self)
{
  if (self->flush_done == NULL)
    return;
  GSourceFunc done = self->flush_done;
  self->flush_done = NULL;
  clear_source (&self->flush_deadline);
  g_idle_add (done, self->flush_data); /* from the loop, never from inside flush () */
}

static gboolean
on_flush_deadline (gpointer data)
{
  ReelWebhooks *self = data;
  g_clear_pointer (&self->flush_deadline, g_source_unref);
  g_message ("webhooks: %u event(s) left in the outbox for the next start",
             reel_store_outbox_count (self->store));
  finish_flush (self);
  return G_SOURCE_REMOVE;
}

/* ---------- sending ---------- */

typedef struct {
  GWeakRef self;               /* the request may outlive the sender (reeld exiting) */
  gint64 row;
  guint attempts;
  char *event_id;
  char *event;
} Delivery;

static void
delivery_free (gpointer data)
{
  Delivery *d = data;
  g_weak_ref_clear (&d->self);
  g_free (d->event_id);
  g_free (d->event);
  g_free (d);
}

/* The stored payload with "sent_at" added. */
static char *
body_for (const char *payload, gint64 now)
{
  g_autoptr (JsonNode) root = json_from_string (payload, NULL);
  if (root == NULL || !JSON_NODE_HOLDS_OBJECT (root))
    return g_strdup (payload);
  g_autofree char *sent_at = reel_json_time_string (now);
  json_object_set_string_member (json_node_get_object (root), "sent_at", sent_at);
  return reel_json_to_string (root);
}

static void
delivered (ReelWebhooks *self, Delivery *d, guint status)
{
  g_autoptr (GError) error = NULL;
  if (!reel_store_outbox_delivered (self->store, d->row, &error))
    g_warning ("webhooks: %s delivered but not removed from the outbox: %s", d->event_id, error->message);
  g_message ("webhooks: %s %s delivered (HTTP %u, attempt %u)", d->event, d->event_id, status,
             d->attempts + 1);
  self->paused_until = 0;
  if (self->had_failures && !reel_store_outbox_wake (self->store, g_get_real_time (), &error))
    g_warning ("webhooks: %s", error->message);
  self->had_failures = FALSE;
}

static void
failed (ReelWebhooks *self, Delivery *d, guint status, const GError *transport)
{
  g_autoptr (GError) error = NULL;
  guint attempts = d->attempts + 1;
  guint delay = reel_webhooks_backoff_ms (attempts, self->retry_initial_ms, self->retry_max_ms);
  gint64 next = g_get_real_time () + (gint64) delay * 1000;
  g_autofree char *reason = transport ? g_strdup (transport->message) : g_strdup_printf ("HTTP %u", status);
  if (!reel_store_outbox_retry_later (self->store, d->row, attempts, next, reason, &error))
    g_warning ("webhooks: %s", error->message);
  g_warning ("webhooks: %s %s not delivered (%s), attempt %u; next in %u ms", d->event, d->event_id,
             reason, attempts, delay);
  self->had_failures = TRUE;
  if (transport != NULL) /* nobody answered: the whole queue waits */
    self->paused_until = next;
}

static void
on_response (guint status, GBytes *body, const GError *error, gpointer data)
{
  Delivery *d = data;
  g_autoptr (ReelWebhooks) self = g_weak_ref_get (&d->self);
  if (self == NULL)
    return;
  self->in_flight = FALSE;
  if (error == NULL && status >= 200 && status < 300)
    delivered (self, d, status);
  else
    failed (self, d, status, error);
  drain (self);
}

static void
send_event (ReelWebhooks *self, ReelOutboxEvent *e)
{
  gint64 now = g_get_real_time ();
  g_autofree char *body = body_for (e->payload, now);
  g_autoptr (GPtrArray) headers = g_ptr_array_new_with_free_func (g_free);
  g_ptr_array_add (headers, g_strdup ("Content-Type: application/json"));
  g_ptr_array_add (headers, g_strdup_printf ("Reel-Event: %s", e->event));
  g_ptr_array_add (headers, g_strdup_printf ("Reel-Delivery: %s", e->event_id));
  if (self->secret != NULL) {
    g_autofree char *sig = reel_webhooks_signature (self->secret, now / G_USEC_PER_SEC, body);
    g_ptr_array_add (headers, g_strdup_printf ("Reel-Signature: %s", sig));
  }
  g_ptr_array_add (headers, NULL);
  Delivery *d = g_new0 (Delivery, 1);
  g_weak_ref_init (&d->self, self);
  d->row = e->id;
  d->attempts = e->attempts;
  d->event_id = g_strdup (e->event_id);
  d->event = g_strdup (e->event);
  self->in_flight = TRUE;
  reel_curl_post (self->curl, self->url, (const char *const *) headers->pdata, body, strlen (body),
                  self->timeout_s * 1000, on_response, d, delivery_free);
}

/* Sends the oldest due event, or arms the timer for the next one. */
static void
drain (ReelWebhooks *self)
{
  g_autoptr (GError) error = NULL;
  if (!self->started || self->in_flight)
    return;
  gint64 now = g_get_real_time ();
  if (self->paused_until > now) {
    arm_timer (self, self->paused_until);
    finish_flush (self); /* the receiver is away: do not hold reeld's exit for it */
    return;
  }
  g_autoptr (GPtrArray) due = reel_store_outbox_due (self->store, now, 1, &error);
  if (due == NULL) {
    g_warning ("webhooks: %s", error->message);
    arm_timer (self, now + (gint64) self->retry_initial_ms * 1000);
    return;
  }
  if (due->len > 0) {
    clear_source (&self->timer);
    send_event (self, g_ptr_array_index (due, 0));
    return;
  }
  gint64 when = 0;
  if (reel_store_outbox_next_time (self->store, &when))
    arm_timer (self, when);
  else
    clear_source (&self->timer);
  finish_flush (self); /* nothing due, nothing in flight */
}

static void
on_outbox_added (ReelStore *store, gpointer data)
{
  drain (data);
}

/**
 * reel_webhooks_start:
 * @self: the sender
 */
void
reel_webhooks_start (ReelWebhooks *self)
{
  if (self->started)
    return;
  self->started = TRUE;
  g_signal_connect_object (self->store, "outbox-added", G_CALLBACK (on_outbox_added), self, 0);
  guint waiting = reel_store_outbox_count (self->store);
  if (waiting > 0)
    g_message ("webhooks: %u event(s) waiting in the outbox", waiting);
  drain (self);
}

/**
 * reel_webhooks_flush:
 * @done: called once, when nothing is due and nothing is in flight, or at @timeout_ms
 */
void
reel_webhooks_flush (ReelWebhooks *self, guint timeout_ms, GSourceFunc done, gpointer user_data)
{
  self->flush_done = done;
  self->flush_data = user_data;
  self->flush_deadline = g_timeout_source_new (timeout_ms);
  g_source_set_callback (self->flush_deadline, on_flush_deadline, self, NULL);
  g_source_attach (self->flush_deadline, NULL);
  if (!self->started || !self->in_flight)
    drain (self);
  if (!self->started)
    finish_flush (self);
}

static void
reel_webhooks_dispose (GObject *object)
{
  ReelWebhooks *self = REEL_WEBHOOKS (object);
  clear_source (&self->timer);
  clear_source (&self->flush_deadline);
  G_OBJECT_CLASS (reel_webhooks_parent_class)->dispose (object);
}

static void
reel_webhooks_finalize (GObject *object)
{
  ReelWebhooks *self = REEL_WEBHOOKS (object);
  g_free (self->url);
  g_free (self->secret);
  g_clear_object (&self->store);
  g_clear_object (&self->curl);
  G_OBJECT_CLASS (reel_webhooks_parent_class)->finalize (object);
}

static void
reel_webhooks_init (ReelWebhooks *self)
{
}

static void
reel_webhooks_class_init (ReelWebhooksClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  object_class->dispose = reel_webhooks_dispose;
  object_class->finalize = reel_webhooks_finalize;
}
