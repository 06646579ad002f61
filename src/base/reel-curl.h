/* reel-curl.h: libcurl's multi interface on the GLib main loop.
 *
 * Requests run without blocking the thread: libcurl tells us which sockets to watch
 * (CURLMOPT_SOCKETFUNCTION) and when to wake it (CURLMOPT_TIMERFUNCTION); a GSource
 * per socket and one timer source drive curl_multi_socket_action(). Completion
 * callbacks run on the GMainContext that was the thread default when the ReelCurl
 * was made. Never logs URLs or bodies (webhook URLs may hold tokens).
 */
#pragma once

#include <glib-object.h>

G_BEGIN_DECLS

#define REEL_TYPE_CURL (reel_curl_get_type ())
G_DECLARE_FINAL_TYPE (ReelCurl, reel_curl, REEL, CURL, GObject)

/* @status: the HTTP status, or 0 when no response came (then @error is set)
 * @body: (nullable): the first bytes of the response body (at most 64 KiB by default)
 * @error: (nullable): a G_IO_ERROR for a transport failure (connect, TLS, timeout) */
typedef void (*ReelCurlCallback) (guint status, GBytes *body, const GError *error,
                                  gpointer user_data);

ReelCurl *reel_curl_new (void);

/* POSTs @body to @url with the extra @headers ("Name: value" strings). Only http and
 * https; redirects are not followed. @callback runs exactly once, from the main loop
 * (never from inside this call), unless the ReelCurl is finalized first; then
 * @destroy alone runs.
 * @headers: (array zero-terminated=1) (nullable)
 * @body: (array length=length) */
void reel_curl_post (ReelCurl *self, const char *url, const char *const *headers,
                     const char *body, gsize length, guint timeout_ms,
                     ReelCurlCallback callback, gpointer user_data, GDestroyNotify destroy);

/* Sends @body with another method ("PUT", "PATCH", "DELETE"); otherwise as
 * reel_curl_post(). */
void reel_curl_request (ReelCurl *self, const char *method, const char *url,
                        const char *const *headers, const char *body, gsize length,
                        guint timeout_ms, ReelCurlCallback callback, gpointer user_data,
                        GDestroyNotify destroy);

/* GETs @url; otherwise as reel_curl_post(). */
void reel_curl_get (ReelCurl *self, const char *url, const char *const *headers, guint timeout_ms,
                    ReelCurlCallback callback, gpointer user_data, GDestroyNotify destroy);

/* Response bodies are cut after @bytes (default 64 KiB), for requests started
 * from now on. */
void reel_curl_set_max_response_bytes (ReelCurl *self, gsize bytes);

/* Keeps cookies: later requests send what earlier answers set (in memory, per
 * ReelCurl), e.g. a proxy's session-lock cookie. */
void reel_curl_keep_cookies (ReelCurl *self);

/* Returns: requests not completed yet */
guint reel_curl_get_n_active (ReelCurl *self);

G_END_DECLS
