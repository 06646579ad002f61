/* reel-curl.c: libcurl multi driven by GSources.
 *
 * Re-entrancy rules that shape this file:
 * - curl_multi_socket_action() may call socket_cb() for the very socket being
 *   dispatched (to stop watching it): the watch is destroyed there, so the dispatch
 *   function touches nothing of the watch after the call.
 * - Completion callbacks may start new requests or drop the last reference to the
 *   ReelCurl: finished transfers are first taken out of the multi handle, then their
 *   callbacks run, with a reference held on self.
 */
#include "base/reel-curl.h"

#include <curl/curl.h>
#include <gio/gio.h>
#include <glib-unix.h>

#define DEFAULT_MAX_RESPONSE_BYTES (64 * 1024)

struct _ReelCurl {
  GObject parent_instance;
  CURLM *multi;
  GMainContext *context;
  GSource *timer;
  GHashTable *requests; /* (owned) Request* set */
  GHashTable *watches;  /* (owned) SocketWatch* set */
  gsize max_response;
  CURLSH *cookies;      /* (nullable) the cookie jar every request shares */
};

G_DEFINE_FINAL_TYPE (ReelCurl, reel_curl, G_TYPE_OBJECT)

typedef struct {
  ReelCurl *self;
  CURL *easy;
  struct curl_slist *headers;
  GByteArray *response;
  gsize max_response;
  char errbuf[CURL_ERROR_SIZE];
  ReelCurlCallback callback;
  gpointer user_data;
  GDestroyNotify destroy;
} Request;

typedef struct {
  ReelCurl *self;
  curl_socket_t fd;
  GSource *source;
} SocketWatch;

static void
request_free (Request *r)
{
  if (r->easy != NULL)
    curl_easy_cleanup (r->easy);
  curl_slist_free_all (r->headers);
  g_byte_array_unref (r->response);
  if (r->destroy != NULL)
    r->destroy (r->user_data);
  g_free (r);
}

static void
watch_clear_source (SocketWatch *w)
{
  if (w->source == NULL)
    return;
  g_source_destroy (w->source);
  g_source_unref (w->source);
  w->source = NULL;
}

static void
watch_free (SocketWatch *w)
{
  watch_clear_source (w);
  g_free (w);
}

/* ---------- completion ---------- */

static void
request_complete (Request *r, CURLcode code)
{
  long status = 0;
  g_autoptr (GError) error = NULL;
  if (code == CURLE_OK) {
    curl_easy_getinfo (r->easy, CURLINFO_RESPONSE_CODE, &status);
  } else {
    gint io_code = code == CURLE_OPERATION_TIMEDOUT ? G_IO_ERROR_TIMED_OUT
                 : code == CURLE_COULDNT_CONNECT ? G_IO_ERROR_CONNECTION_REFUSED
                 : G_IO_ERROR_FAILED;
    error = g_error_new (G_IO_ERROR, io_code, "%s",
                         r->errbuf[0] != '\0' ? r->errbuf : curl_easy_strerror (code));
  }
  g_autoptr (GBytes) body = g_bytes_new (r->response->data, r->response->len);
  r->callback ((guint) CLAMP (status, 0, 999), body, error, r->user_data);
}

/* Takes every finished transfer out of the multi handle, then runs their callbacks. */
static void
check_done (ReelCurl *self)
{
  g_autoptr (GPtrArray) done = g_ptr_array_new ();
  g_autoptr (GArray) codes = g_array_new (FALSE, FALSE, sizeof (CURLcode));
  CURLMsg *msg;
  int left;
  while ((msg = curl_multi_info_read (self->multi, &left)) != NULL) {
    if (msg->msg != CURLMSG_DONE)
      continue;
    Request *r = NULL;
    CURLcode code = msg->data.result;
    curl_easy_getinfo (msg->easy_handle, CURLINFO_PRIVATE, (char **) &r);
    curl_multi_remove_handle (self->multi, msg->easy_handle);
    if (r == NULL || !g_hash_table_steal (self->requests, r))
      continue;
    g_ptr_array_add (done, r);
    g_array_append_val (codes, code);
  }
  g_object_ref (self);
  for (guint i = 0; i < done->len; i++) {
    Request *r = g_ptr_array_index (done, i);
    request_complete (r, g_array_index (codes, CURLcode, i));
    request_free (r);
  }
  g_object_unref (self);
}

static void
socket_action (ReelCurl *self, curl_socket_t fd, int mask)
{
  int running = 0;
  g_object_ref (self);
  curl_multi_socket_action (self->multi, fd, mask, &running);
  check_done (self);
  g_object_unref (self);
}

/* ---------- sockets and the timer ---------- */

static gboolean
on_socket_ready (gint fd, GIOCondition condition, gpointer data)
{
  SocketWatch *w = data;
  ReelCurl *self = w->self;
  int mask = 0;
  if (condition & G_IO_IN)
    mask |= CURL_CSELECT_IN;
  if (condition & G_IO_OUT)
    mask |= CURL_CSELECT_OUT;
  if (condition & (G_IO_ERR | G_IO_HUP | G_IO_NVAL))
    mask |= CURL_CSELECT_ERR;
  /* may destroy w (socket_cb with CURL_POLL_REMOVE): do not touch it afterwards */
  socket_action (self, fd, mask);
  return G_SOURCE_CONTINUE;
}

static int
socket_cb (CURL *easy, curl_socket_t fd, int what, void *userp, void *socketp)
{
  ReelCurl *self = userp;
  SocketWatch *w = socketp;
  if (what == CURL_POLL_REMOVE) {
    if (w != NULL)
      g_hash_table_remove (self->watches, w);
    return 0;
  }
  if (w == NULL) {
    w = g_new0 (SocketWatch, 1);
    w->self = self;
    w->fd = fd;
    g_hash_table_add (self->watches, w);
    curl_multi_assign (self->multi, fd, w);
  }
  watch_clear_source (w);
  GIOCondition condition = G_IO_ERR | G_IO_HUP;
  if (what & CURL_POLL_IN)
    condition |= G_IO_IN;
  if (what & CURL_POLL_OUT)
    condition |= G_IO_OUT;
  w->source = g_unix_fd_source_new (fd, condition);
  g_source_set_callback (w->source, G_SOURCE_FUNC (on_socket_ready), w, NULL);
  g_source_attach (w->source, self->context);
  return 0;
}

static gboolean
on_timer (gpointer data)
{
  ReelCurl *self = data;
  /* the timer callback may arm a new timer from inside socket_action */
  g_clear_pointer (&self->timer, g_source_unref);
  socket_action (self, CURL_SOCKET_TIMEOUT, 0);
  return G_SOURCE_REMOVE;
}

static int
timer_cb (CURLM *multi, long timeout_ms, void *userp)
{
  ReelCurl *self = userp;
  if (self->timer != NULL) {
    g_source_destroy (self->timer);
    g_clear_pointer (&self->timer, g_source_unref);
  }
  if (timeout_ms < 0)
    return 0;
  self->timer = g_timeout_source_new ((guint) MIN (timeout_ms, (long) G_MAXINT));
  g_source_set_callback (self->timer, on_timer, self, NULL);
  g_source_attach (self->timer, self->context);
  return 0;
}

/* ---------- requests ---------- */

static size_t
on_write (char *data, size_t size, size_t nmemb, void *userp)
{
  Request *r = userp;
  gsize n = size * nmemb;
  gsize room = r->max_response - MIN (r->response->len, r->max_response);
  g_byte_array_append (r->response, (const guint8 *) data, (guint) MIN (n, room));
  return n; /* the rest is read and dropped */
}

/**
 * reel_curl_new:
 * Returns: (transfer full): a client bound to the thread-default main context
 */
ReelCurl *
reel_curl_new (void)
{
  return g_object_new (REEL_TYPE_CURL, NULL);
}

static gboolean
setup_easy (Request *r, const char *method, const char *url, const char *const *headers,
            const char *body, gsize length, guint timeout_ms)
{
  CURL *e = r->easy;
  gboolean ok = TRUE;
  ok &= curl_easy_setopt (e, CURLOPT_URL, url) == CURLE_OK;
#if LIBCURL_VERSION_NUM >= 0x075500
  ok &= curl_easy_setopt (e, CURLOPT_PROTOCOLS_STR, "http,https") == CURLE_OK;
#else
  ok &= curl_easy_setopt (e, CURLOPT_PROTOCOLS, (long) (CURLPROTO_HTTP | CURLPROTO_HTTPS)) == CURLE_OK;
#endif
  ok &= curl_easy_setopt (e, CURLOPT_NOSIGNAL, 1L) == CURLE_OK;
  ok &= curl_easy_setopt (e, CURLOPT_FOLLOWLOCATION, 0L) == CURLE_OK;
  ok &= curl_easy_setopt (e, CURLOPT_TIMEOUT_MS, (long) timeout_ms) == CURLE_OK;
  ok &= curl_easy_setopt (e, CURLOPT_CONNECTTIMEOUT_MS, (long) MIN (timeout_ms, 10000u)) == CURLE_OK;
  if (body != NULL) {
    ok &= curl_easy_setopt (e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t) length) == CURLE_OK;
    ok &= curl_easy_setopt (e, CURLOPT_COPYPOSTFIELDS, body) == CURLE_OK;
  } else {
    ok &= curl_easy_setopt (e, CURLOPT_HTTPGET, 1L) == CURLE_OK;
  }
  if (method != NULL)
    ok &= curl_easy_setopt (e, CURLOPT_CUSTOMREQUEST, method) == CURLE_OK;
  for (guint i = 0; headers != NULL && headers[i] != NULL; i++)
    r->headers = curl_slist_append (r->headers, headers[i]);
  r->headers = curl_slist_append (r->headers, "Expect:"); /* no 100-continue round trip */
  ok &= curl_easy_setopt (e, CURLOPT_HTTPHEADER, r->headers) == CURLE_OK;
  ok &= curl_easy_setopt (e, CURLOPT_WRITEFUNCTION, on_write) == CURLE_OK;
  ok &= curl_easy_setopt (e, CURLOPT_WRITEDATA, r) == CURLE_OK;
  ok &= curl_easy_setopt (e, CURLOPT_ERRORBUFFER, r->errbuf) == CURLE_OK;
  ok &= curl_easy_setopt (e, CURLOPT_PRIVATE, r) == CURLE_OK;
  ok &= curl_easy_setopt (e, CURLOPT_USERAGENT, "reel/" "0.1") == CURLE_OK;
  if (r->self->cookies != NULL) {
    /* "" turns the cookie engine on without reading a file */
    ok &= curl_easy_setopt (e, CURLOPT_COOKIEFILE, "") == CURLE_OK;
    ok &= curl_easy_setopt (e, CURLOPT_SHARE, r->self->cookies) == CURLE_OK;
  }
  return ok;
}

/* Holds a reference on the ReelCurl until it has run. */
static gboolean
fail_later (gpointer data)
{
  Request *r = data;
  ReelCurl *self = r->self;
  g_autoptr (GError) error = g_error_new_literal (G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                                                  "the request could not be set up");
  if (g_hash_table_steal (self->requests, r)) {
    r->callback (0, NULL, error, r->user_data);
    request_free (r);
  }
  g_object_unref (self);
  return G_SOURCE_REMOVE;
}

/* @method: (nullable): another method than POST (with a body) or GET (without)
 * @body: (nullable): POST it, or GET when NULL */
static void
start_request (ReelCurl *self, const char *method, const char *url, const char *const *headers,
               const char *body, gsize length, guint timeout_ms, ReelCurlCallback callback,
               gpointer user_data, GDestroyNotify destroy)
{
  Request *r = g_new0 (Request, 1);
  r->self = self;
  r->easy = curl_easy_init ();
  r->response = g_byte_array_new ();
  r->max_response = self->max_response;
  r->callback = callback;
  r->user_data = user_data;
  r->destroy = destroy;
  g_hash_table_add (self->requests, r);
  if (r->easy == NULL || !setup_easy (r, method, url, headers, body, length, timeout_ms) ||
      curl_multi_add_handle (self->multi, r->easy) != CURLM_OK) {
    GSource *idle = g_idle_source_new ();
    g_object_ref (self);
    g_source_set_callback (idle, fail_later, r, NULL);
    g_source_attach (idle, self->context);
    g_source_unref (idle);
  }
}

/**
 * reel_curl_post:
 * @headers: (array zero-terminated=1) (nullable): extra "Name: value" headers
 * @body: (array length=length): the request body (copied)
 * @callback: (scope notified): runs once with the outcome
 */
void
reel_curl_post (ReelCurl *self, const char *url, const char *const *headers, const char *body,
                gsize length, guint timeout_ms, ReelCurlCallback callback, gpointer user_data,
                GDestroyNotify destroy)
{
  g_return_if_fail (REEL_IS_CURL (self) && url != NULL && callback != NULL);
  start_request (self, NULL, url, headers, body ? body : "", body ? length : 0, timeout_ms,
                 callback, user_data, destroy);
}

/**
 * reel_curl_request:
 * @method: the HTTP method, e.g. "PUT"
 * @headers: (array zero-terminated=1) (nullable): extra "Name: value" headers
 * @body: (array length=length) (nullable): the request body (copied)
 * @callback: (scope notified): runs once with the outcome
 */
void
reel_curl_request (ReelCurl *self, const char *method, const char *url,
                   const char *const *headers, const char *body, gsize length, guint timeout_ms,
                   ReelCurlCallback callback, gpointer user_data, GDestroyNotify destroy)
{
  g_return_if_fail (REEL_IS_CURL (self) && method != NULL && url != NULL && callback != NULL);
  start_request (self, method, url, headers, body ? body : "", body ? length : 0, timeout_ms,
                 callback, user_data, destroy);
}

/**
 * reel_curl_set_max_response_bytes:
 * @bytes: at least 1
 */
void
reel_curl_set_max_response_bytes (ReelCurl *self, gsize bytes)
{
  g_return_if_fail (REEL_IS_CURL (self) && bytes > 0);
  self->max_response = bytes;
}

/**
 * reel_curl_get:
 * @headers: (array zero-terminated=1) (nullable): extra "Name: value" headers
 * @callback: (scope notified): runs once with the outcome
 */
void
reel_curl_get (ReelCurl *self, const char *url, const char *const *headers, guint timeout_ms,
               ReelCurlCallback callback, gpointer user_data, GDestroyNotify destroy)
{
  g_return_if_fail (REEL_IS_CURL (self) && url != NULL && callback != NULL);
  start_request (self, NULL, url, headers, NULL, 0, timeout_ms, callback, user_data, destroy);
}

/**
 * reel_curl_keep_cookies:
 *
 * Requests started from now on send the cookies earlier answers set (by domain,
 * path and expiry, as a browser would) and keep the ones they get. The jar lives
 * in memory only, as long as the ReelCurl.
 */
void
reel_curl_keep_cookies (ReelCurl *self)
{
  g_return_if_fail (REEL_IS_CURL (self));
  if (self->cookies != NULL)
    return;
  /* every transfer runs on this one thread: the share needs no lock callbacks */
  self->cookies = curl_share_init ();
  if (self->cookies != NULL &&
      curl_share_setopt (self->cookies, CURLSHOPT_SHARE, CURL_LOCK_DATA_COOKIE) != CURLSHE_OK)
    g_clear_pointer (&self->cookies, curl_share_cleanup);
}

/**
 * reel_curl_get_n_active:
 * Returns: requests whose callback has not run yet
 */
guint
reel_curl_get_n_active (ReelCurl *self)
{
  return g_hash_table_size (self->requests);
}


static void
reel_curl_init (ReelCurl *self)
{
  static gsize initialized = 0;
  if (g_once_init_enter (&initialized)) {
    curl_global_init (CURL_GLOBAL_DEFAULT);
    g_once_init_leave (&initialized, 1);
  }
  self->context = g_main_context_ref_thread_default ();
  self->requests = g_hash_table_new (NULL, NULL);
  self->max_response = DEFAULT_MAX_RESPONSE_BYTES;
  self->watches = g_hash_table_new_full (NULL, NULL, (GDestroyNotify) watch_free, NULL);
  self->multi = curl_multi_init ();
  curl_multi_setopt (self->multi, CURLMOPT_SOCKETFUNCTION, socket_cb);
  curl_multi_setopt (self->multi, CURLMOPT_SOCKETDATA, self);
  curl_multi_setopt (self->multi, CURLMOPT_TIMERFUNCTION, timer_cb);
  curl_multi_setopt (self->multi, CURLMOPT_TIMERDATA, self);
}

static void
reel_curl_finalize (GObject *object)
{
  ReelCurl *self = REEL_CURL (object);
  GHashTableIter it;
  gpointer key;
  g_hash_table_iter_init (&it, self->requests);
  while (g_hash_table_iter_next (&it, &key, NULL)) {
    Request *r = key;
    curl_multi_remove_handle (self->multi, r->easy);
    g_hash_table_iter_steal (&it);
    request_free (r);
  }
  g_hash_table_unref (self->requests);
  curl_multi_cleanup (self->multi);
  if (self->cookies != NULL)
    curl_share_cleanup (self->cookies); /* after every easy handle that used it */
  g_hash_table_unref (self->watches); /* whatever curl did not remove itself */
  if (self->timer != NULL) {
    g_source_destroy (self->timer);
    g_clear_pointer (&self->timer, g_source_unref);
  }
  g_main_context_unref (self->context);
  G_OBJECT_CLASS (reel_curl_parent_class)->finalize (object);
}

static void
reel_curl_class_init (ReelCurlClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = reel_curl_finalize;
}
