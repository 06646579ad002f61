/* Unit tests: libcurl on the GLib main loop against an in-process libsoup server on
 * 127.0.0.1: bodies and headers arrive, statuses and errors come back, many requests
 * run at once without blocking the loop, and finalizing with requests in flight
 * only runs their destroy notifies. */
#include <gio/gio.h>
#include <libsoup/soup.h>

#include "base/reel-curl.h"

typedef struct {
  SoupServer *server;
  char *url;
  GMainLoop *loop;
  guint pending;
  guint slow_ms;
  GPtrArray *timers; /* GSource: unpauses of slow answers, destroyed at tear down */
} Fixture;

typedef struct {
  Fixture *f;
  guint status;
  char *body;
  GError *error;
  gboolean called;
  gboolean destroyed;
} Outcome;

static gboolean
unpause (gpointer data)
{
  soup_server_message_unpause (data);
  return G_SOURCE_REMOVE;
}

static void
handler (SoupServer *server, SoupServerMessage *msg, const char *path, GHashTable *query,
         gpointer data)
{
  Fixture *f = data;
  SoupMessageHeaders *h = soup_server_message_get_request_headers (msg);
  SoupMessageBody *body = soup_server_message_get_request_body (msg);
  if (g_str_equal (path, "/status/500")) {
    soup_server_message_set_status (msg, 500, NULL);
    return;
  }
  /* echo: the X-Test header and the body, so the test can check both arrived; other
   * methods than POST come back in front */
  const char *method = soup_server_message_get_method (msg);
  g_autofree char *reply = g_strdup_printf ("%s%s%s|%.*s", g_str_equal (method, "POST") ? "" : method,
                                            g_str_equal (method, "POST") ? "" : " ",
                                            soup_message_headers_get_one (h, "X-Test"),
                                            (int) body->length, body->data);
  soup_server_message_set_status (msg, 200, NULL);
  soup_server_message_set_response (msg, "text/plain", SOUP_MEMORY_COPY, reply, strlen (reply));
  if (g_str_equal (path, "/slow")) {
    soup_server_message_pause (msg);
    GSource *timer = g_timeout_source_new (f->slow_ms);
    g_source_set_callback (timer, unpause, g_object_ref (msg), g_object_unref);
    g_source_attach (timer, NULL);
    g_ptr_array_add (f->timers, timer);
  }
}

static void
fixture_set_up (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  f->server = soup_server_new (NULL, NULL);
  soup_server_add_handler (f->server, NULL, handler, f, NULL);
  g_autoptr (GInetAddress) lo = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr (GSocketAddress) sa = g_inet_socket_address_new (lo, 0);
  g_assert_true (soup_server_listen (f->server, sa, 0, &error));
  g_assert_no_error (error);
  GSList *uris = soup_server_get_uris (f->server);
  f->url = g_strdup_printf ("http://127.0.0.1:%d", g_uri_get_port (uris->data));
  g_slist_free_full (uris, (GDestroyNotify) g_uri_unref);
  f->loop = g_main_loop_new (NULL, FALSE);
  f->slow_ms = 300;
  f->timers = g_ptr_array_new_with_free_func ((GDestroyNotify) g_source_unref);
}

static void
fixture_tear_down (Fixture *f, gconstpointer data)
{
  for (guint i = 0; i < f->timers->len; i++)
    g_source_destroy (g_ptr_array_index (f->timers, i));
  g_ptr_array_unref (f->timers);
  soup_server_disconnect (f->server);
  g_object_unref (f->server);
  g_main_loop_unref (f->loop);
  g_free (f->url);
}

static void
on_done (guint status, GBytes *body, const GError *error, gpointer data)
{
  Outcome *o = data;
  g_assert_false (o->called);
  o->called = TRUE;
  o->status = status;
  if (body != NULL)
    o->body = g_strndup (g_bytes_get_data (body, NULL), g_bytes_get_size (body));
  o->error = error ? g_error_copy (error) : NULL;
  if (--o->f->pending == 0)
    g_main_loop_quit (o->f->loop);
}

static void
on_destroy (gpointer data)
{
  Outcome *o = data;
  o->destroyed = TRUE;
}

static void
outcome_clear (Outcome *o)
{
  g_free (o->body);
  g_clear_error (&o->error);
}

static void
post (Fixture *f, ReelCurl *curl, const char *path, guint timeout_ms, Outcome *o)
{
  static const char *const headers[] = { "X-Test: yes", "Content-Type: application/json", NULL };
  g_autofree char *url = g_strconcat (f->url, path, NULL);
  o->f = f;
  f->pending++;
  reel_curl_post (curl, url, headers, "{\"a\":1}", 7, timeout_ms, on_done, o, on_destroy);
}

static void
test_post (Fixture *f, gconstpointer data)
{
  g_autoptr (ReelCurl) curl = reel_curl_new ();
  Outcome ok = { 0 }, err = { 0 };
  post (f, curl, "/hook", 5000, &ok);
  post (f, curl, "/status/500", 5000, &err);
  g_assert_false (ok.called); /* never from inside reel_curl_post() */
  g_assert_cmpuint (reel_curl_get_n_active (curl), ==, 2);
  g_main_loop_run (f->loop);
  g_assert_no_error (ok.error);
  g_assert_cmpuint (ok.status, ==, 200);
  g_assert_cmpstr (ok.body, ==, "yes|{\"a\":1}");
  g_assert_true (ok.destroyed);
  g_assert_no_error (err.error);
  g_assert_cmpuint (err.status, ==, 500);
  g_assert_cmpuint (reel_curl_get_n_active (curl), ==, 0);
  outcome_clear (&ok);
  outcome_clear (&err);
}

/* Another method with a body, and a response cut at the configured size. */
static void
test_put_and_limit (Fixture *f, gconstpointer data)
{
  static const char *const headers[] = { "X-Test: yes", NULL };
  g_autoptr (ReelCurl) curl = reel_curl_new ();
  Outcome put = { .f = f }, cut = { .f = f };
  g_autofree char *url = g_strconcat (f->url, "/renegotiate", NULL);
  f->pending = 1;
  reel_curl_request (curl, "PUT", url, headers, "{\"b\":2}", 7, 5000, on_done, &put, on_destroy);
  g_main_loop_run (f->loop);
  g_assert_no_error (put.error);
  g_assert_cmpuint (put.status, ==, 200);
  g_assert_cmpstr (put.body, ==, "PUT yes|{\"b\":2}");
  reel_curl_set_max_response_bytes (curl, 5);
  f->pending = 1;
  reel_curl_request (curl, "PUT", url, headers, "{\"b\":2}", 7, 5000, on_done, &cut, on_destroy);
  g_main_loop_run (f->loop);
  g_assert_cmpstr (cut.body, ==, "PUT y");
  outcome_clear (&put);
  outcome_clear (&cut);
}

static void
test_refused_and_timeout (Fixture *f, gconstpointer data)
{
  g_autoptr (ReelCurl) curl = reel_curl_new ();
  /* a port that was free a moment ago: nobody listens */
  g_autoptr (GSocket) s = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_STREAM, 0, NULL);
  g_autoptr (GInetAddress) lo = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr (GSocketAddress) any = g_inet_socket_address_new (lo, 0);
  g_assert_true (g_socket_bind (s, any, FALSE, NULL));
  g_autoptr (GSocketAddress) bound = g_socket_get_local_address (s, NULL);
  guint port = g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (bound));
  g_socket_close (s, NULL);
  g_autofree char *dead = g_strdup_printf ("http://127.0.0.1:%u/x", port);

  Outcome refused = { .f = f }, slow = { 0 }, bad = { .f = f };
  f->pending += 2;
  reel_curl_post (curl, dead, NULL, "{}", 2, 2000, on_done, &refused, NULL);
  reel_curl_post (curl, "ftp://127.0.0.1/x", NULL, "{}", 2, 2000, on_done, &bad, NULL);
  f->slow_ms = 2000;
  post (f, curl, "/slow", 200, &slow);
  g_main_loop_run (f->loop);
  g_assert_cmpuint (refused.status, ==, 0);
  g_assert_nonnull (refused.error);
  g_assert_cmpuint (bad.status, ==, 0);
  g_assert_nonnull (bad.error); /* only http and https */
  g_assert_cmpuint (slow.status, ==, 0);
  g_assert_error (slow.error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT);
  outcome_clear (&refused);
  outcome_clear (&slow);
  outcome_clear (&bad);
}

static gboolean
count_tick (gpointer data)
{
  (*(guint *) data)++;
  return G_SOURCE_CONTINUE;
}

/* Twenty slow requests at once finish together, and the loop keeps turning meanwhile. */
static void
test_concurrent_nonblocking (Fixture *f, gconstpointer data)
{
  g_autoptr (ReelCurl) curl = reel_curl_new ();
  Outcome o[20] = { { 0 } };
  guint ticks = 0;
  guint tick = g_timeout_add (10, count_tick, &ticks);
  gint64 t0 = g_get_monotonic_time ();
  for (guint i = 0; i < G_N_ELEMENTS (o); i++)
    post (f, curl, "/slow", 5000, &o[i]);
  g_main_loop_run (f->loop);
  gint64 elapsed_ms = (g_get_monotonic_time () - t0) / 1000;
  g_source_remove (tick);
  for (guint i = 0; i < G_N_ELEMENTS (o); i++) {
    g_assert_no_error (o[i].error);
    g_assert_cmpuint (o[i].status, ==, 200);
    outcome_clear (&o[i]);
  }
  g_assert_cmpint (elapsed_ms, <, 2000); /* in parallel, not 20 x 300 ms */
  g_assert_cmpuint (ticks, >=, 10);      /* the loop ran while waiting */
}

static gboolean
drop_client (gpointer data)
{
  Fixture *f = ((gpointer *) data)[0];
  ReelCurl **curl = ((gpointer *) data)[1];
  g_clear_object (curl);
  g_main_loop_quit (f->loop);
  return G_SOURCE_REMOVE;
}

static void
test_finalize_in_flight (Fixture *f, gconstpointer data)
{
  ReelCurl *curl = reel_curl_new ();
  Outcome o = { 0 };
  f->slow_ms = 1000;
  post (f, curl, "/slow", 5000, &o);
  gpointer args[] = { f, &curl };
  g_timeout_add (100, drop_client, args);
  g_main_loop_run (f->loop);
  g_assert_null (curl);
  g_assert_false (o.called);
  g_assert_true (o.destroyed);
}

int
main (int argc, char *argv[])
{
  g_test_init (&argc, &argv, NULL);
  /* the tests talk to 127.0.0.1 only: a proxy from the environment must not interfere */
  g_unsetenv ("http_proxy");
  g_unsetenv ("HTTP_PROXY");
  g_unsetenv ("https_proxy");
  g_unsetenv ("HTTPS_PROXY");
  g_unsetenv ("all_proxy");
  g_unsetenv ("ALL_PROXY");
  g_test_add ("/curl/post", Fixture, NULL, fixture_set_up, test_post, fixture_tear_down);
  g_test_add ("/curl/put-and-limit", Fixture, NULL, fixture_set_up, test_put_and_limit,
              fixture_tear_down);
  g_test_add ("/curl/refused-timeout", Fixture, NULL, fixture_set_up, test_refused_and_timeout,
              fixture_tear_down);
  g_test_add ("/curl/concurrent", Fixture, NULL, fixture_set_up, test_concurrent_nonblocking,
              fixture_tear_down);
  g_test_add ("/curl/finalize-in-flight", Fixture, NULL, fixture_set_up, test_finalize_in_flight,
              fixture_tear_down);
  return g_test_run ();
}
