/* reel-json.h: small JSON helpers shared by the API and the job records. */
#pragma once

#include <glib.h>
#include <json-glib/json-glib.h>

G_BEGIN_DECLS

/* Returns: (transfer full): compact JSON text of @node. */
char *reel_json_to_string (JsonNode *node);

/* Returns: (transfer full): the API error body {"error": {"code", "message"}}. */
char *reel_json_error_body (const char *code, const char *message);

/* Returns: (transfer full): RFC 3339 UTC text for a g_get_real_time() value, or NULL if @usec <= 0. */
char *reel_json_time_string (gint64 usec);

/* Adds "key": RFC 3339 string, or null when @usec <= 0. */
void reel_json_add_time (JsonBuilder *builder, const char *key, gint64 usec);

/* Adds "key": string, or null when @value is NULL. */
void reel_json_add_string_or_null (JsonBuilder *builder, const char *key, const char *value);

/* Untrusted input (network answers): never warns, takes any bytes. */

/* Returns: (transfer full) (nullable): the root object of @body, or %NULL if it is
 * not a JSON object, holds NUL or invalid UTF-8, or nests deeper than 64 levels */
JsonObject *reel_json_parse_untrusted_object (const char *body, gsize length);

/* Returns: (transfer full) (nullable): member @name of @obj if it is a string */
char *reel_json_dup_string_member (JsonObject *obj, const char *name);

/* Returns: (transfer none) (nullable): member @name of @obj if it is an object */
JsonObject *reel_json_object_member (JsonObject *obj, const char *name);

G_END_DECLS
