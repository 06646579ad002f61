/* reel-api-openapi.c: serves the OpenAPI document compiled into the binary, so the
 * document a client reads is the one this reeld was built (and tested) with. */
#include "api/reel-api-openapi.h"

#include <gio/gio.h>
#include <string.h>

#include "reel-api-resources.h"

#define DOCUMENT_PATH "/org/reel/api/openapi.json"

/**
 * reel_api_openapi_document:
 * Returns: (transfer full): the document
 */
GBytes *
reel_api_openapi_document (void)
{
  /* the resource itself, not the global registry: its constructor may be dropped
   * by the linker from a static library */
  GBytes *bytes = g_resource_lookup_data (reel_api_get_resource (), DOCUMENT_PATH,
                                         G_RESOURCE_LOOKUP_FLAGS_NONE, NULL);
  g_assert (bytes != NULL); /* compiled in: missing means a broken build */
  return bytes;
}

/**
 * reel_api_openapi_respond:
 * @msg: (transfer none): a request for /v1/openapi.json
 */
void
reel_api_openapi_respond (SoupServerMessage *msg)
{
  const char *method = soup_server_message_get_method (msg);
  if (!g_str_equal (method, "GET") && !g_str_equal (method, "HEAD")) {
    static const char body[] = "{\"error\":{\"code\":\"method_not_allowed\",\"message\":\"method not allowed on this resource\"}}";
    soup_message_headers_replace (soup_server_message_get_response_headers (msg), "Allow", "GET");
    soup_server_message_set_status (msg, SOUP_STATUS_METHOD_NOT_ALLOWED, NULL);
    soup_server_message_set_response (msg, "application/json", SOUP_MEMORY_STATIC, body, strlen (body));
    return;
  }
  g_autoptr (GBytes) doc = reel_api_openapi_document ();
  gsize len;
  const char *data = g_bytes_get_data (doc, &len);
  soup_server_message_set_status (msg, SOUP_STATUS_OK, NULL);
  soup_server_message_set_response (msg, "application/json", SOUP_MEMORY_COPY, data, len);
}
