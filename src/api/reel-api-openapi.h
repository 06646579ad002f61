/* reel-api-openapi.h: GET /v1/openapi.json, the OpenAPI 3.1 document of the whole
 * API (src/api/openapi.json, compiled in as a GResource). */
#pragma once

#include <libsoup/soup.h>

G_BEGIN_DECLS

/* Returns: (transfer full): the document's bytes */
GBytes *reel_api_openapi_document (void);

/* Answers @msg (GET or HEAD, else 405) with the document. */
void reel_api_openapi_respond (SoupServerMessage *msg);

G_END_DECLS
