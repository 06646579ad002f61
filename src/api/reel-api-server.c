/* reel-api-server.c: HTTP routing for /healthz and /v1/recordings. */
#include "api/reel-api-server.h"

#include "api/reel-api-metrics.h"
#include "api/reel-api-openapi.h"
#include "api/reel-request.h"
#include "api/reel-schedule-request.h"
#include "base/reel-error.h"
#include "base/reel-json.h"

#include <libsoup/soup.h>
#include <string.h>

struct _ReelApiServer {
  GObject parent_instance;
  ReelConfig *config;
  ReelJobManager *manager;
  ReelScheduler *scheduler; /* (nullable) */
  SoupServer *server;
};

G_DEFINE_FINAL_TYPE (ReelApiServer, reel_api_server, G_TYPE_OBJECT)

/**
 * reel_api_server_new:
 * Returns: (transfer full): the server
 */
ReelApiServer *
reel_api_server_new (ReelConfig *config, ReelJobManager *manager)
{
  ReelApiServer *self = g_object_new (REEL_TYPE_API_SERVER, NULL);
  self->config = reel_config_ref (config);
  self->manager = g_object_ref (manager);
  return self;
}

/* ---------- responses ---------- */

static void
respond_json (SoupServerMessage *msg, guint status, char *body /* transfer full */)
{
  soup_server_message_set_status (msg, status, NULL);
  soup_server_message_set_response (msg, "application/json", SOUP_MEMORY_TAKE, body, strlen (body));
}

static void
respond_node (SoupServerMessage *msg, guint status, JsonNode *node /* transfer full */)
{
  respond_json (msg, status, reel_json_to_string (node));
  json_node_unref (node);
}

static void
respond_error (SoupServerMessage *msg, const GError *error)
{
  guint status = error->domain == REEL_ERROR ? reel_error_http_status (error->code) : 500;
  respond_json (msg, status, reel_json_error_body (reel_error_name_of (error), error->message));
}

static void
respond_error_code (SoupServerMessage *msg, ReelErrorCode code, const char *message)
{
  g_autoptr (GError) error = g_error_new_literal (REEL_ERROR, code, message);
  respond_error (msg, error);
}

/* ---------- auth ---------- */

/**
 * reel_api_check_bearer:
 * @header: (nullable): the Authorization header
 * @token: (nullable): the configured token
 * Returns: %TRUE if @header is "Bearer <token>"
 */
gboolean
reel_api_check_bearer (const char *header, const char *token)
{
  if (token == NULL || token[0] == '\0' || header == NULL)
    return FALSE;
  if (g_ascii_strncasecmp (header, "Bearer ", 7) != 0)
    return FALSE;
  /* Compare digests so neither the length nor a prefix of the token leaks
   * through timing. */
  g_autofree char *given = g_compute_checksum_for_string (G_CHECKSUM_SHA256, header + 7, -1);
  g_autofree char *want = g_compute_checksum_for_string (G_CHECKSUM_SHA256, token, -1);
  guint8 diff = 0;
  for (gsize i = 0; i < 64; i++)
    diff |= (guint8) (given[i] ^ want[i]);
  return diff == 0;
}

static gboolean
authorized (ReelApiServer *self, SoupServerMessage *msg)
{
  SoupMessageHeaders *headers = soup_server_message_get_request_headers (msg);
  const char *auth = soup_message_headers_get_one (headers, "Authorization");
  if (reel_api_check_bearer (auth, self->config->token))
    return TRUE;
  soup_message_headers_replace (soup_server_message_get_response_headers (msg),
                                "WWW-Authenticate", "Bearer realm=\"reel\"");
  respond_error_code (msg, REEL_ERROR_UNAUTHORIZED,
                      auth == NULL ? "missing bearer token" : "invalid bearer token");
  return FALSE;
}

/* ---------- bodies ---------- */

static JsonNode *
read_json_body (ReelApiServer *self, SoupServerMessage *msg, GError **error)
{
  SoupMessageHeaders *headers = soup_server_message_get_request_headers (msg);
  g_autoptr (GHashTable) params = NULL;
  const char *type = soup_message_headers_get_content_type (headers, &params);
  if (type == NULL || g_ascii_strcasecmp (type, "application/json") != 0) {
    g_set_error (error, REEL_ERROR, REEL_ERROR_NOT_JSON,
                 "Content-Type must be application/json");
    return NULL;
  }
  SoupMessageBody *body = soup_server_message_get_request_body (msg);
  if ((gsize) body->length > self->config->max_body_bytes) {
    g_set_error (error, REEL_ERROR, REEL_ERROR_BODY_TOO_LARGE,
                 "request body over %" G_GSIZE_FORMAT " bytes", self->config->max_body_bytes);
    return NULL;
  }
  g_autoptr (GBytes) bytes = soup_message_body_flatten (body);
  gsize len;
  const char *data = g_bytes_get_data (bytes, &len);
  return reel_request_parse_json (data ? data : "", len, error);
}

static void
on_refusal_written (GObject *stream, GAsyncResult *result, gpointer user_data)
{
  GIOStream *connection = user_data;
  g_output_stream_write_all_finish (G_OUTPUT_STREAM (stream), result, NULL, NULL);
  g_io_stream_close_async (connection, G_PRIORITY_DEFAULT, NULL, NULL, NULL);
  g_object_unref (connection);
}

/* Answers 413 on the raw connection and closes it: libsoup would otherwise wait
 * for (and read) the whole announced body before answering. */
static void
refuse_oversized (ReelApiServer *self, SoupServerMessage *msg)
{
  g_autofree char *message = g_strdup_printf ("request body over %" G_GSIZE_FORMAT " bytes",
                                              self->config->max_body_bytes);
  g_autofree char *body = reel_json_error_body ("body_too_large", message);
  char *response = g_strdup_printf ("HTTP/1.1 413 Payload Too Large\r\n"
                                    "Content-Type: application/json\r\n"
                                    "Content-Length: %zu\r\nConnection: close\r\n\r\n%s",
                                    strlen (body), body);
  GIOStream *connection = soup_server_message_steal_connection (msg);
  if (connection == NULL) {
    g_free (response);
    return;
  }
  GOutputStream *out = g_io_stream_get_output_stream (connection);
  g_object_set_data_full (G_OBJECT (connection), "reel-response", response, g_free);
  g_output_stream_write_all_async (out, response, strlen (response), G_PRIORITY_DEFAULT, NULL,
                                   on_refusal_written, connection);
}

/* Refuses an announced oversized body before it is read. */
static void
early_handler (SoupServer *server, SoupServerMessage *msg, const char *path, GHashTable *query,
               gpointer user_data)
{
  ReelApiServer *self = user_data;
  SoupMessageHeaders *headers = soup_server_message_get_request_headers (msg);
  if (soup_message_headers_get_encoding (headers) != SOUP_ENCODING_CONTENT_LENGTH)
    return;
  if ((guint64) soup_message_headers_get_content_length (headers) <= self->config->max_body_bytes)
    return;
  refuse_oversized (self, msg);
}

/* libsoup answers some malformed requests (a path that decodes to "..") itself,
 * with an empty body: give them the API's JSON error. */
static void
on_request_read (SoupServer *server, SoupServerMessage *msg, gpointer user_data)
{
  guint status = soup_server_message_get_status (msg);
  SoupMessageBody *response = soup_server_message_get_response_body (msg);
  if (status < 400 || response->length > 0)
    return;
  g_autoptr (GError) error = g_error_new_literal (REEL_ERROR,
      status == 404 ? REEL_ERROR_NOT_FOUND : REEL_ERROR_INVALID_FIELD,
      status == 404 ? "no such resource" : "path: malformed request");
  g_autofree char *body = reel_json_error_body (reel_error_name_of (error), error->message);
  soup_server_message_set_response (msg, "application/json", SOUP_MEMORY_COPY, body, strlen (body));
}

/* ---------- handlers ---------- */

static void
respond_recording (ReelApiServer *self, SoupServerMessage *msg, guint status, ReelRecording *rec)
{
  respond_node (msg, status, reel_recording_to_json (rec));
}

static void
create_recording (ReelApiServer *self, SoupServerMessage *msg)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonNode) root = read_json_body (self, msg, &error);
  if (root == NULL) {
    respond_error (msg, error);
    return;
  }
  ReelRequestLimits limits;
  reel_job_manager_get_request_limits (self->manager, &limits);
  ReelRecordingSpec *spec = reel_request_parse_recording (root, &limits, &error);
  if (spec == NULL) {
    respond_error (msg, error);
    return;
  }
  g_autoptr (ReelRecording) rec = reel_job_manager_create (self->manager, spec, &error);
  if (rec == NULL) {
    respond_error (msg, error);
    return;
  }
  respond_recording (self, msg, SOUP_STATUS_CREATED, rec);
}

static void
list_recordings (ReelApiServer *self, SoupServerMessage *msg)
{
  g_autoptr (GPtrArray) list = reel_job_manager_list (self->manager);
  JsonArray *array = json_array_sized_new (list->len);
  for (guint i = 0; i < list->len; i++)
    json_array_add_element (array, reel_recording_to_json (g_ptr_array_index (list, i)));
  JsonObject *obj = json_object_new ();
  json_object_set_array_member (obj, "recordings", array);
  JsonNode *node = json_node_new (JSON_NODE_OBJECT);
  json_node_take_object (node, obj);
  respond_node (msg, SOUP_STATUS_OK, node);
}

static void
patch_recording (ReelApiServer *self, SoupServerMessage *msg, const char *id)
{
  g_autoptr (GError) error = NULL;
  if (reel_job_manager_get (self->manager, id) == NULL) {
    g_autofree char *m = g_strdup_printf ("no recording %s", id);
    respond_error_code (msg, REEL_ERROR_NOT_FOUND, m);
    return;
  }
  g_autoptr (JsonNode) root = read_json_body (self, msg, &error);
  g_autoptr (ReelRecordingPatch) patch = root ? reel_request_parse_patch (root, &error) : NULL;
  if (patch == NULL || !reel_job_manager_patch (self->manager, id, patch, &error)) {
    respond_error (msg, error);
    return;
  }
  respond_recording (self, msg, SOUP_STATUS_OK, reel_job_manager_get (self->manager, id));
}

static void
method_not_allowed (SoupServerMessage *msg, const char *allow)
{
  soup_message_headers_replace (soup_server_message_get_response_headers (msg), "Allow", allow);
  respond_error_code (msg, REEL_ERROR_METHOD_NOT_ALLOWED, "method not allowed on this resource");
}

/* /v1/recordings/{id}[/stop] */
static void
route_recording (ReelApiServer *self, SoupServerMessage *msg, const char *method,
                 char **parts, guint n_parts)
{
  const char *id = parts[0];
  if (n_parts == 2 && g_str_equal (parts[1], "stop")) {
    if (!g_str_equal (method, "POST")) {
      method_not_allowed (msg, "POST");
      return;
    }
    g_autoptr (GError) error = NULL;
    if (!reel_job_manager_stop (self->manager, id, &error)) {
      respond_error (msg, error);
      return;
    }
    respond_recording (self, msg, SOUP_STATUS_ACCEPTED, reel_job_manager_get (self->manager, id));
    return;
  }
  if (n_parts != 1) {
    respond_error_code (msg, REEL_ERROR_NOT_FOUND, "no such resource");
    return;
  }
  if (g_str_equal (method, "PATCH")) {
    patch_recording (self, msg, id);
    return;
  }
  if (!g_str_equal (method, "GET")) {
    method_not_allowed (msg, "GET, PATCH");
    return;
  }
  ReelRecording *rec = reel_job_manager_get (self->manager, id);
  if (rec == NULL) {
    g_autofree char *m = g_strdup_printf ("no recording %.64s", id);
    respond_error_code (msg, REEL_ERROR_NOT_FOUND, m);
    return;
  }
  respond_recording (self, msg, SOUP_STATUS_OK, rec);
}

/* ---------- schedules ---------- */

/**
 * reel_api_server_set_config:
 * @config: (transfer none): a reloaded configuration
 *
 * SIGHUP: the token and max_body_bytes of the next requests come from @config (the
 * listening address stays).
 */
void
reel_api_server_set_config (ReelApiServer *self, ReelConfig *config)
{
  ReelConfig *old = self->config;
  self->config = reel_config_ref (config);
  reel_config_unref (old);
}

/**
 * reel_api_server_set_scheduler:
 * @scheduler: (transfer none): the scheduler
 */
void
reel_api_server_set_scheduler (ReelApiServer *self, ReelScheduler *scheduler)
{
  g_set_object (&self->scheduler, scheduler);
}

static void
respond_schedule (ReelApiServer *self, SoupServerMessage *msg, guint status, ReelSchedule *s)
{
  respond_node (msg, status, reel_schedule_to_json (s, reel_scheduler_next_start (self->scheduler, s->id)));
}

static void
create_schedule (ReelApiServer *self, SoupServerMessage *msg)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonNode) root = read_json_body (self, msg, &error);
  if (root == NULL) {
    respond_error (msg, error);
    return;
  }
  ReelRequestLimits limits;
  reel_job_manager_get_request_limits (self->manager, &limits);
  g_autoptr (ReelSchedule) s = reel_request_parse_schedule (root, &limits, g_get_real_time (), &error);
  if (s == NULL || !reel_scheduler_add (self->scheduler, s, &error)) {
    respond_error (msg, error);
    return;
  }
  respond_schedule (self, msg, SOUP_STATUS_CREATED, s);
}

static void
list_schedules (ReelApiServer *self, SoupServerMessage *msg)
{
  g_autoptr (GPtrArray) list = reel_scheduler_list (self->scheduler);
  JsonArray *array = json_array_sized_new (list->len);
  for (guint i = 0; i < list->len; i++) {
    ReelSchedule *s = g_ptr_array_index (list, i);
    json_array_add_element (array, reel_schedule_to_json (s, reel_scheduler_next_start (self->scheduler,
                                                                                         s->id)));
  }
  JsonObject *obj = json_object_new ();
  json_object_set_array_member (obj, "schedules", array);
  JsonNode *node = json_node_new (JSON_NODE_OBJECT);
  json_node_take_object (node, obj);
  respond_node (msg, SOUP_STATUS_OK, node);
}

/* /v1/schedules/{id}: GET, DELETE (a recording it started goes on). */
static void
route_schedule (ReelApiServer *self, SoupServerMessage *msg, const char *method, const char *id)
{
  g_autoptr (GError) error = NULL;
  ReelSchedule *s = reel_scheduler_get (self->scheduler, id);
  if (!g_str_equal (method, "GET") && !g_str_equal (method, "DELETE")) {
    method_not_allowed (msg, "GET, DELETE");
    return;
  }
  if (s == NULL) {
    g_autofree char *m = g_strdup_printf ("no schedule %.64s", id);
    respond_error_code (msg, REEL_ERROR_NOT_FOUND, m);
    return;
  }
  if (g_str_equal (method, "GET")) {
    respond_schedule (self, msg, SOUP_STATUS_OK, s);
    return;
  }
  if (!reel_scheduler_remove (self->scheduler, id, &error)) {
    respond_error (msg, error);
    return;
  }
  soup_server_message_set_status (msg, SOUP_STATUS_NO_CONTENT, NULL);
}

static gboolean
route_schedules (ReelApiServer *self, SoupServerMessage *msg, const char *method, char **parts,
                 guint n)
{
  if (n < 1 || n > 2 || !g_str_equal (parts[0], "schedules") || (n == 2 && parts[1][0] == '\0') ||
      self->scheduler == NULL)
    return FALSE;
  if (n == 2) {
    route_schedule (self, msg, method, parts[1]);
    return TRUE;
  }
  if (g_str_equal (method, "POST"))
    create_schedule (self, msg);
  else if (g_str_equal (method, "GET"))
    list_schedules (self, msg);
  else
    method_not_allowed (msg, "GET, POST");
  return TRUE;
}

static void
route_v1 (ReelApiServer *self, SoupServerMessage *msg, const char *method, const char *path)
{
  if (!authorized (self, msg))
    return;
  g_auto (GStrv) parts = g_strsplit (path + strlen ("/v1/"), "/", -1);
  guint n = g_strv_length (parts);
  if (n == 1 && g_str_equal (parts[0], "openapi.json")) {
    reel_api_openapi_respond (msg);
    return;
  }
  if (n >= 1 && n <= 3 && g_str_equal (parts[0], "recordings") &&
      (n == 1 || parts[1][0] != '\0') && (n < 3 || parts[2][0] != '\0')) {
    if (n == 1) {
      if (g_str_equal (method, "POST"))
        create_recording (self, msg);
      else if (g_str_equal (method, "GET"))
        list_recordings (self, msg);
      else
        method_not_allowed (msg, "GET, POST");
      return;
    }
    route_recording (self, msg, method, parts + 1, n - 1);
    return;
  }
  if (route_schedules (self, msg, method, parts, n))
    return;
  respond_error_code (msg, REEL_ERROR_NOT_FOUND, "no such resource");
}

static void
handler (SoupServer *server, SoupServerMessage *msg, const char *path, GHashTable *query,
         gpointer user_data)
{
  ReelApiServer *self = user_data;
  if (soup_server_message_get_status (msg) != 0)
    return; /* answered by the early handler */
  const char *method = soup_server_message_get_method (msg);
  if (g_str_equal (path, "/healthz")) {
    if (!g_str_equal (method, "GET") && !g_str_equal (method, "HEAD")) {
      method_not_allowed (msg, "GET");
      return;
    }
    g_autofree char *body = g_strdup_printf ("{\"status\":\"ok\",\"recordings_active\":%u}",
                                             reel_job_manager_count_active (self->manager));
    respond_json (msg, SOUP_STATUS_OK, g_steal_pointer (&body));
    return;
  }
  if (g_str_equal (path, "/metrics")) {
    reel_api_metrics_respond (self->manager, msg);
    return;
  }
  if (g_str_has_prefix (path, "/v1/")) {
    route_v1 (self, msg, method, path);
    return;
  }
  respond_error_code (msg, REEL_ERROR_NOT_FOUND, "no such resource");
}

/* ---------- listening ---------- */

/**
 * reel_api_server_listen:
 * @uri: (out) (transfer full): the base URI, e.g. http://127.0.0.1:8080
 * Returns: %TRUE if listening
 */
gboolean
reel_api_server_listen (ReelApiServer *self, char **uri, GError **error)
{
  self->server = soup_server_new ("server-header", "reel/" "0.1", NULL);
  soup_server_add_early_handler (self->server, NULL, early_handler, self, NULL);
  soup_server_add_handler (self->server, NULL, handler, self, NULL);
  g_signal_connect (self->server, "request-read", G_CALLBACK (on_request_read), self);
  const char *host = self->config->listen_host;
  g_autoptr (GInetAddress) addr = g_inet_address_new_from_string (host);
  if (addr == NULL && g_ascii_strcasecmp (host, "localhost") == 0)
    addr = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  if (addr == NULL) {
    g_set_error (error, REEL_ERROR, REEL_ERROR_CONFIG_INVALID, "[api] listen: bad host %s", host);
    return FALSE;
  }
  g_autoptr (GSocketAddress) sa = g_inet_socket_address_new (addr, self->config->listen_port);
  if (!soup_server_listen (self->server, sa, 0, error))
    return FALSE;
  GSList *uris = soup_server_get_uris (self->server);
  if (uris == NULL) {
    g_set_error (error, REEL_ERROR, REEL_ERROR_INTERNAL, "the API server has no address");
    return FALSE;
  }
  GUri *u = uris->data;
  gboolean v6 = g_inet_address_get_family (addr) == G_SOCKET_FAMILY_IPV6;
  *uri = g_strdup_printf (v6 ? "http://[%s]:%d" : "http://%s:%d", g_uri_get_host (u), g_uri_get_port (u));
  g_slist_free_full (uris, (GDestroyNotify) g_uri_unref);
  return TRUE;
}

static void
reel_api_server_finalize (GObject *object)
{
  ReelApiServer *self = REEL_API_SERVER (object);
  if (self->server)
    soup_server_disconnect (self->server);
  g_clear_object (&self->server);
  g_clear_object (&self->manager);
  g_clear_object (&self->scheduler);
  reel_config_unref (self->config);
  G_OBJECT_CLASS (reel_api_server_parent_class)->finalize (object);
}

static void
reel_api_server_init (ReelApiServer *self)
{
}

static void
reel_api_server_class_init (ReelApiServerClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = reel_api_server_finalize;
}
