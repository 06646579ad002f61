/* reelctl-client.c: URL and token resolution, and blocking libcurl requests (a CLI
 * has nothing else to do while it waits). The token goes only into the
 * Authorization header: never printed, never in an error message. */
#include "reelctl/reelctl-client.h"

#include <curl/curl.h>
#include <string.h>

#include "config/reel-config.h"
#include "reel-build-config.h"

#define CONNECT_TIMEOUT_S 5L
#define REQUEST_TIMEOUT_S 60L

/* The address to connect to for a listen host: a wildcard becomes loopback. */
static char *
connect_url (const char *host, guint16 port)
{
  if (g_str_equal (host, "0.0.0.0"))
    host = "127.0.0.1";
  else if (g_str_equal (host, "::"))
    host = "::1";
  gboolean v6 = strchr (host, ':') != NULL;
  return g_strdup_printf (v6 ? "http://[%s]:%u" : "http://%s:%u", host, port);
}

/* Fills what flags and environment left unset from the config file. */
static gboolean
from_config (ReelctlClient *c, const char *path, gboolean explicit, GError **error)
{
  if (!explicit && !g_file_test (path, G_FILE_TEST_EXISTS))
    return TRUE; /* no installed config: flags/environment only */
  g_autoptr (ReelConfig) config = reel_config_load (path, error);
  if (config == NULL)
    return FALSE;
  if (c->url == NULL) {
    if (config->listen_port == 0) {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   "%s: [api] listen has port 0 (picked at start): pass --url", path);
      return FALSE;
    }
    c->url = connect_url (config->listen_host, config->listen_port);
  }
  if (c->token == NULL && config->token != NULL && config->token[0] != '\0')
    c->token = g_strdup (config->token);
  return TRUE;
}

static const char *
nonempty_env (const char *name)
{
  const char *v = g_getenv (name);
  return v != NULL && v[0] != '\0' ? v : NULL;
}

/**
 * reelctl_client_new:
 * @url: (nullable): --url
 * @token: (nullable): --token
 * @config_path: (nullable): --config
 * Returns: (transfer full) (nullable): the client
 */
ReelctlClient *
reelctl_client_new (const char *url, const char *token, const char *config_path, GError **error)
{
  g_autoptr (ReelctlClient) c = g_new0 (ReelctlClient, 1);
  c->url = g_strdup (url != NULL ? url : nonempty_env ("REEL_URL"));
  c->token = g_strdup (token != NULL ? token : nonempty_env ("REEL_API_TOKEN"));
  if (c->url == NULL || c->token == NULL) {
    const char *path = config_path != NULL ? config_path : nonempty_env ("REEL_CONFIG");
    if (!from_config (c, path != NULL ? path : REEL_SYSCONF_CONFIG, path != NULL, error))
      return NULL;
  }
  if (c->url == NULL)
    c->url = g_strdup ("http://127.0.0.1:8080");
  while (g_str_has_suffix (c->url, "/"))
    c->url[strlen (c->url) - 1] = '\0';
  return g_steal_pointer (&c);
}

/**
 * reelctl_client_free:
 */
void
reelctl_client_free (ReelctlClient *client)
{
  if (client == NULL)
    return;
  g_free (client->url);
  if (client->token != NULL)
    memset (client->token, 0, strlen (client->token));
  g_free (client->token);
  g_free (client);
}

static size_t
collect (char *data, size_t size, size_t n, void *user_data)
{
  g_string_append_len (user_data, data, (gssize) (size * n));
  return size * n;
}

static ReelctlExit
exit_for_status (long status)
{
  if (status >= 200 && status < 300)
    return REELCTL_EXIT_OK;
  switch (status) {
  case 401: return REELCTL_EXIT_UNAUTHORIZED;
  case 404: return REELCTL_EXIT_NOT_FOUND;
  case 409: return REELCTL_EXIT_CONFLICT;
  case 400: case 413: case 415: case 422: return REELCTL_EXIT_INVALID;
  case 503: return REELCTL_EXIT_BUSY;
  default: return REELCTL_EXIT_ERROR;
  }
}

/* The API's {"error": {"code", "message"}} as a GError message, else the status. */
static void
set_api_error (GError **error, long status, JsonNode *answer)
{
  JsonObject *root = answer != NULL && JSON_NODE_HOLDS_OBJECT (answer) ? json_node_get_object (answer) : NULL;
  JsonObject *err = root != NULL ? json_object_get_object_member (root, "error") : NULL;
  if (err != NULL && json_object_has_member (err, "code") && json_object_has_member (err, "message")) {
    g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "%ld %s: %s", status,
                 json_object_get_string_member (err, "code"), json_object_get_string_member (err, "message"));
    return;
  }
  g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "HTTP %ld", status);
}

static struct curl_slist *
request_headers (ReelctlClient *client, gboolean with_body)
{
  struct curl_slist *headers = curl_slist_append (NULL, "Accept: application/json");
  if (with_body)
    headers = curl_slist_append (headers, "Content-Type: application/json");
  if (client->token != NULL) {
    g_autofree char *auth = g_strdup_printf ("Authorization: Bearer %s", client->token);
    headers = curl_slist_append (headers, auth);
    memset (auth, 0, strlen (auth));
  }
  return headers;
}

/* Runs the transfer. Returns: the HTTP status, 0 if reeld did not answer. */
static long
perform (ReelctlClient *client, const char *method, const char *path, const char *body,
         GString *out, GError **error)
{
  g_autofree char *url = g_strconcat (client->url, path, NULL);
  CURL *curl = curl_easy_init ();
  struct curl_slist *headers = request_headers (client, body != NULL);
  curl_easy_setopt (curl, CURLOPT_URL, url);
  curl_easy_setopt (curl, CURLOPT_CUSTOMREQUEST, method);
  curl_easy_setopt (curl, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt (curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt (curl, CURLOPT_CONNECTTIMEOUT, CONNECT_TIMEOUT_S);
  curl_easy_setopt (curl, CURLOPT_TIMEOUT, REQUEST_TIMEOUT_S);
  curl_easy_setopt (curl, CURLOPT_WRITEFUNCTION, collect);
  curl_easy_setopt (curl, CURLOPT_WRITEDATA, out);
  if (body != NULL)
    curl_easy_setopt (curl, CURLOPT_POSTFIELDS, body);
  long status = 0;
  CURLcode rc = curl_easy_perform (curl);
  if (rc == CURLE_OK)
    curl_easy_getinfo (curl, CURLINFO_RESPONSE_CODE, &status);
  else
    g_set_error (error, G_IO_ERROR, G_IO_ERROR_CONNECTION_REFUSED, "cannot reach reeld at %s: %s",
                 client->url, curl_easy_strerror (rc));
  curl_slist_free_all (headers);
  curl_easy_cleanup (curl);
  return status;
}

/**
 * reelctl_client_request:
 * @body: (nullable): JSON request body
 * @answer: (out) (transfer full) (nullable): the JSON answer
 * Returns: the exit code for the answer
 */
ReelctlExit
reelctl_client_request (ReelctlClient *client, const char *method, const char *path,
                        const char *body, JsonNode **answer, GError **error)
{
  g_autoptr (GString) out = g_string_new (NULL);
  *answer = NULL;
  long status = perform (client, method, path, body, out, error);
  if (status == 0)
    return REELCTL_EXIT_UNREACHABLE;
  if (out->len > 0) {
    g_autoptr (GError) local = NULL;
    *answer = json_from_string (out->str, &local);
    if (*answer == NULL && status >= 200 && status < 300) {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "reeld answered %ld with invalid JSON: %s",
                   status, local->message);
      return REELCTL_EXIT_ERROR;
    }
  }
  ReelctlExit code = exit_for_status (status);
  if (code != REELCTL_EXIT_OK)
    set_api_error (error, status, *answer);
  return code;
}
