/* Unit tests: the webhook sender against an in-process libsoup receiver on 127.0.0.1,
 * with a real store. Signature vector and backoff; every event arrives once, in order,
 * signed; a 500 is retried with backoff; a receiver that is down gets the events once
 * it is back; flushing at exit. */
#include <gio/gio.h>
#include <glib/gstdio.h>
#include <libsoup/soup.h>

#include "notify/reel-webhooks.h"

#define SECRET "whsec_unit"

typedef struct {
  char *dir;
  ReelStore *store;
  ReelCurl *curl;
  SoupServer *server;     /* (nullable): down */
  guint port;
  GPtrArray *bodies;      /* received, in order */
  GPtrArray *deliveries;  /* Reel-Delivery headers */
  GArray *answers;        /* statuses to answer in turn; then 200 */
  guint bad_signatures;
  GMainLoop *loop;
  guint want;             /* quit the loop after this many 2xx */
  guint ok;
} Fixture;

static gboolean
signature_valid (const char *header, const char *body)
{
  if (header == NULL || !g_str_has_prefix (header, "t="))
    return FALSE;
  gint64 t = g_ascii_strtoll (header + 2, NULL, 10);
  if (ABS (t - g_get_real_time () / G_USEC_PER_SEC) > 300)
    return FALSE;
  g_autofree char *expected = reel_webhooks_signature (SECRET, t, body);
  return g_str_equal (expected, header);
}

static void
receive (SoupServer *server, SoupServerMessage *msg, const char *path, GHashTable *query, gpointer data)
{
  Fixture *f = data;
  SoupMessageHeaders *h = soup_server_message_get_request_headers (msg);
  SoupMessageBody *req = soup_server_message_get_request_body (msg);
  g_autofree char *body = g_strndup (req->data, req->length);
  if (!signature_valid (soup_message_headers_get_one (h, "Reel-Signature"), body))
    f->bad_signatures++;
  guint status = 200;
  if (f->answers->len > 0) {
    status = g_array_index (f->answers, guint, 0);
    g_array_remove_index (f->answers, 0);
  }
  g_ptr_array_add (f->bodies, g_steal_pointer (&body));
  g_ptr_array_add (f->deliveries, g_strdup (soup_message_headers_get_one (h, "Reel-Delivery")));
  soup_server_message_set_status (msg, status, NULL);
  if (status >= 200 && status < 300 && ++f->ok == f->want)
    g_main_loop_quit (f->loop);
}

static void
server_up (Fixture *f)
{
  g_autoptr (GError) error = NULL;
  f->server = soup_server_new (NULL, NULL);
  soup_server_add_handler (f->server, NULL, receive, f, NULL);
  g_autoptr (GInetAddress) lo = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr (GSocketAddress) sa = g_inet_socket_address_new (lo, f->port);
  g_assert_true (soup_server_listen (f->server, sa, 0, &error));
  g_assert_no_error (error);
  GSList *uris = soup_server_get_uris (f->server);
  f->port = g_uri_get_port (uris->data);
  g_slist_free_full (uris, (GDestroyNotify) g_uri_unref);
}

static void
fixture_set_up (Fixture *f, gconstpointer data)
{
  f->dir = g_dir_make_tmp ("reel-webhooks-XXXXXX", NULL);
  g_autofree char *db = g_build_filename (f->dir, "reel.db", NULL);
  f->store = reel_store_open (db, NULL);
  g_assert_nonnull (f->store);
  f->curl = reel_curl_new ();
  f->bodies = g_ptr_array_new_with_free_func (g_free);
  f->deliveries = g_ptr_array_new_with_free_func (g_free);
  f->answers = g_array_new (FALSE, FALSE, sizeof (guint));
  f->loop = g_main_loop_new (NULL, FALSE);
  server_up (f);
}

static void
fixture_tear_down (Fixture *f, gconstpointer data)
{
  if (f->server) {
    soup_server_disconnect (f->server);
    g_object_unref (f->server);
  }
  g_object_unref (f->curl);
  g_object_unref (f->store);
  g_autofree char *db = g_build_filename (f->dir, "reel.db", NULL);
  g_autofree char *wal = g_strconcat (db, "-wal", NULL);
  g_autofree char *shm = g_strconcat (db, "-shm", NULL);
  g_unlink (db);
  g_unlink (wal);
  g_unlink (shm);
  g_rmdir (f->dir);
  g_free (f->dir);
  g_ptr_array_unref (f->bodies);
  g_ptr_array_unref (f->deliveries);
  g_array_unref (f->answers);
  g_main_loop_unref (f->loop);
}

static ReelWebhooks *
make_webhooks (Fixture *f, guint initial_ms)
{
  g_autofree char *url = g_strdup_printf ("http://127.0.0.1:%u/hooks/reel", f->port);
  ReelWebhooksSettings settings = { .url = url, .secret = SECRET, .retry_initial_ms = initial_ms,
                                    .retry_max_ms = initial_ms * 4, .timeout_s = 5 };
  return reel_webhooks_new (&settings, f->store, f->curl);
}

static void
queue (Fixture *f, const char *event, const char *id)
{
  ReelRecordingSpec *spec = reel_recording_spec_new ();
  spec->room = reel_room_spec_new (REEL_PROVIDER_SYNTHETIC);
  spec->room->public_json = json_from_string ("{\"provider\":\"synthetic\"}", NULL);
  g_autoptr (ReelRecording) rec = reel_recording_new (id, spec);
  g_assert_true (reel_store_save_recording (f->store, rec, event, NULL, NULL));
}

static gboolean
give_up (gpointer data)
{
  g_error ("timed out waiting for webhook deliveries");
  return G_SOURCE_REMOVE;
}

static void
run_until (Fixture *f, guint want_ok)
{
  f->want = want_ok;
  if (f->ok >= want_ok)
    return;
  guint guard = g_timeout_add_seconds (10, give_up, NULL);
  g_main_loop_run (f->loop);
  g_source_remove (guard);
}

/* The receiver got them: let the sender take the answers in. */
static void
wait_outbox_empty (Fixture *f)
{
  gint64 deadline = g_get_monotonic_time () + 5 * G_USEC_PER_SEC;
  while (reel_store_outbox_count (f->store) > 0 && g_get_monotonic_time () < deadline)
    g_main_context_iteration (NULL, TRUE);
  g_assert_cmpuint (reel_store_outbox_count (f->store), ==, 0);
}

static void
test_signature_and_backoff (void)
{
  g_autofree char *sig = reel_webhooks_signature ("whsec_test", 1700000000, "{\"a\":1}");
  g_assert_cmpstr (sig, ==, "t=1700000000,v1=38877139021993b830af32feea6e18a8da83eb2f6e49ee50bd9e4cf4ca4d3789");
  g_assert_cmpuint (reel_webhooks_backoff_ms (1, 1000, 300000), ==, 1000);
  g_assert_cmpuint (reel_webhooks_backoff_ms (2, 1000, 300000), ==, 2000);
  g_assert_cmpuint (reel_webhooks_backoff_ms (5, 1000, 300000), ==, 16000);
  g_assert_cmpuint (reel_webhooks_backoff_ms (20, 1000, 300000), ==, 300000);
  g_assert_cmpuint (reel_webhooks_backoff_ms (1000000, 1000, 300000), ==, 300000);
}

static void
test_delivered_once_in_order (Fixture *f, gconstpointer data)
{
  queue (f, "recording.started", "rec_a");
  g_autoptr (ReelWebhooks) hooks = make_webhooks (f, 50);
  reel_webhooks_start (hooks);
  queue (f, "recording.finished", "rec_a");
  queue (f, "recording.failed", "rec_b");
  run_until (f, 3);
  g_assert_cmpuint (f->bodies->len, ==, 3);
  g_assert_cmpuint (f->bad_signatures, ==, 0);
  static const char *const order[] = { "recording.started", "recording.finished", "recording.failed" };
  for (guint i = 0; i < 3; i++) {
    g_autoptr (JsonNode) root = json_from_string (g_ptr_array_index (f->bodies, i), NULL);
    JsonObject *o = json_node_get_object (root);
    g_assert_cmpstr (json_object_get_string_member (o, "event"), ==, order[i]);
    g_assert_cmpstr (json_object_get_string_member (o, "id"), ==, g_ptr_array_index (f->deliveries, i));
    g_assert_nonnull (json_object_get_string_member (o, "sent_at"));
    g_assert_true (json_object_has_member (o, "recording"));
  }
  wait_outbox_empty (f);
}

static void
test_retried_after_500 (Fixture *f, gconstpointer data)
{
  guint answers[] = { 500, 503 };
  g_array_append_vals (f->answers, answers, 2);
  queue (f, "recording.finished", "rec_retry");
  g_autoptr (ReelWebhooks) hooks = make_webhooks (f, 50);
  gint64 t0 = g_get_monotonic_time ();
  reel_webhooks_start (hooks);
  run_until (f, 1);
  g_assert_cmpuint (f->bodies->len, ==, 3); /* 500, 503, then 200 */
  g_assert_cmpstr (g_ptr_array_index (f->deliveries, 0), ==, g_ptr_array_index (f->deliveries, 2));
  g_assert_cmpint (g_get_monotonic_time () - t0, >=, (50 + 100) * 1000); /* backoff was waited */
  wait_outbox_empty (f);
}

static gboolean
bring_up (gpointer data)
{
  server_up (data);
  return G_SOURCE_REMOVE;
}

static void
test_receiver_down_then_back (Fixture *f, gconstpointer data)
{
  soup_server_disconnect (f->server);
  g_clear_object (&f->server); /* the port stays known: the receiver comes back on it */
  queue (f, "recording.started", "rec_1");
  queue (f, "recording.finished", "rec_1");
  g_autoptr (ReelWebhooks) hooks = make_webhooks (f, 100);
  reel_webhooks_start (hooks);
  g_timeout_add (600, bring_up, f); /* several refused attempts before that */
  run_until (f, 2);
  g_assert_cmpuint (f->bodies->len, ==, 2);
  g_autoptr (JsonNode) first = json_from_string (g_ptr_array_index (f->bodies, 0), NULL);
  g_assert_cmpstr (json_object_get_string_member (json_node_get_object (first), "event"), ==,
                   "recording.started"); /* still in order */
  wait_outbox_empty (f);
}

static gboolean
flushed (gpointer data)
{
  Fixture *f = data;
  g_main_loop_quit (f->loop);
  return G_SOURCE_REMOVE;
}

static void
test_flush (Fixture *f, gconstpointer data)
{
  g_autoptr (ReelWebhooks) hooks = make_webhooks (f, 50);
  reel_webhooks_start (hooks);
  reel_webhooks_flush (hooks, 5000, flushed, f); /* nothing waits: done at once */
  g_main_loop_run (f->loop);
  g_clear_object (&hooks);

  hooks = make_webhooks (f, 50);
  reel_webhooks_start (hooks);
  queue (f, "recording.finished", "rec_flush");
  gint64 t0 = g_get_monotonic_time ();
  reel_webhooks_flush (hooks, 5000, flushed, f);
  g_main_loop_run (f->loop);
  g_assert_cmpuint (f->ok, ==, 1); /* delivered before done */
  g_assert_cmpint (g_get_monotonic_time () - t0, <, 4 * G_USEC_PER_SEC);
}

int
main (int argc, char *argv[])
{
  g_test_init (&argc, &argv, NULL);
  /* failed deliveries are logged as warnings, and these tests make them on purpose */
  g_log_set_always_fatal (G_LOG_FATAL_MASK | G_LOG_LEVEL_CRITICAL);
  g_unsetenv ("http_proxy");
  g_unsetenv ("HTTP_PROXY");
  g_unsetenv ("all_proxy");
  g_unsetenv ("ALL_PROXY");
  g_test_add_func ("/webhooks/signature-and-backoff", test_signature_and_backoff);
  g_test_add ("/webhooks/delivered-once-in-order", Fixture, NULL, fixture_set_up,
              test_delivered_once_in_order, fixture_tear_down);
  g_test_add ("/webhooks/retried-after-500", Fixture, NULL, fixture_set_up, test_retried_after_500,
              fixture_tear_down);
  g_test_add ("/webhooks/receiver-down-then-back", Fixture, NULL, fixture_set_up,
              test_receiver_down_then_back, fixture_tear_down);
  g_test_add ("/webhooks/flush", Fixture, NULL, fixture_set_up, test_flush, fixture_tear_down);
  return g_test_run ();
}
