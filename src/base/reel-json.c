/* reel-json.c: JSON helpers. */
#include "base/reel-json.h"

#include <string.h>

/**
 * reel_json_to_string:
 * @node: (transfer none): a JSON tree
 * Returns: (transfer full): its compact text
 */
char *
reel_json_to_string (JsonNode *node)
{
  g_autoptr (JsonGenerator) gen = json_generator_new ();
  json_generator_set_root (gen, node);
  return json_generator_to_data (gen, NULL);
}

/**
 * reel_json_error_body:
 * Returns: (transfer full): the JSON error body
 */
char *
reel_json_error_body (const char *code, const char *message)
{
  g_autoptr (JsonBuilder) b = json_builder_new ();
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "error");
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "code");
  json_builder_add_string_value (b, code);
  json_builder_set_member_name (b, "message");
  json_builder_add_string_value (b, message);
  json_builder_end_object (b);
  json_builder_end_object (b);
  g_autoptr (JsonNode) root = json_builder_get_root (b);
  return reel_json_to_string (root);
}

/**
 * reel_json_time_string:
 * Returns: (transfer full) (nullable): RFC 3339 text
 */
char *
reel_json_time_string (gint64 usec)
{
  if (usec <= 0)
    return NULL;
  g_autoptr (GDateTime) dt = g_date_time_new_from_unix_utc (usec / G_USEC_PER_SEC);
  if (dt == NULL)
    return NULL;
  g_autoptr (GDateTime) precise = g_date_time_add (dt, usec % G_USEC_PER_SEC);
  return g_date_time_format (precise, "%Y-%m-%dT%H:%M:%S.%fZ");
}

void
reel_json_add_time (JsonBuilder *builder, const char *key, gint64 usec)
{
  g_autofree char *text = reel_json_time_string (usec);
  reel_json_add_string_or_null (builder, key, text);
}

void
reel_json_add_string_or_null (JsonBuilder *builder, const char *key, const char *value)
{
  json_builder_set_member_name (builder, key);
  if (value != NULL)
    json_builder_add_string_value (builder, value);
  else
    json_builder_add_null_value (builder);
}

/* ---------- untrusted input (network answers, fuzzed) ---------- */

#define MAX_DEPTH 64

/* Text we can pass on: valid UTF-8 without control characters other than tab,
 * CR and LF. json-glib's reader takes escapes that JSON has not (an octal "\6"
 * becomes a raw control character), which its writer then emits raw: a peer's
 * string must not make reel write JSON that nothing can read. */
static gboolean
is_clean_text (const char *s)
{
  if (!g_utf8_validate (s, -1, NULL))
    return FALSE;
  for (const unsigned char *p = (const unsigned char *) s; *p != '\0'; p++)
    if ((*p < 0x20 && *p != '\t' && *p != '\r' && *p != '\n') || *p == 0x7f)
      return FALSE;
  return TRUE;
}

/**
 * reel_json_dup_string_member:
 * Returns: (transfer full) (nullable): member @name if it is a string of clean
 *   text (valid UTF-8, no control characters but tab, CR and LF)
 */
char *
reel_json_dup_string_member (JsonObject *obj, const char *name)
{
  JsonNode *node = json_object_get_member (obj, name);
  if (node == NULL || !JSON_NODE_HOLDS_VALUE (node) || json_node_get_value_type (node) != G_TYPE_STRING)
    return NULL;
  const char *s = json_node_get_string (node);
  return s != NULL && is_clean_text (s) ? g_strdup (s) : NULL;
}

/**
 * reel_json_object_member:
 * Returns: (transfer none) (nullable): member @name if it is an object
 */
JsonObject *
reel_json_object_member (JsonObject *obj, const char *name)
{
  JsonNode *node = json_object_get_member (obj, name);
  return node != NULL && JSON_NODE_HOLDS_OBJECT (node) ? json_node_get_object (node) : NULL;
}

/* json-glib recurses once per nesting level and stops strings at NUL: bound the
 * depth and refuse NUL and invalid UTF-8 before it parses anything. */
static gboolean
text_is_sane (const char *body, gsize length)
{
  guint depth = 0;
  gboolean in_string = FALSE;
  if (memchr (body, '\0', length) != NULL || !g_utf8_validate_len (body, length, NULL))
    return FALSE;
  for (gsize i = 0; i < length; i++) {
    char c = body[i];
    if (in_string) {
      if (c == '\\')
        i++;
      else if (c == '"')
        in_string = FALSE;
    } else if (c == '"') {
      in_string = TRUE;
    } else if (c == '{' || c == '[') {
      if (++depth > MAX_DEPTH)
        return FALSE;
    } else if ((c == '}' || c == ']') && depth > 0) {
      depth--;
    }
  }
  return TRUE;
}

/**
 * reel_json_parse_untrusted_object:
 * @body: (array length=length) (nullable): any bytes
 * Returns: (transfer full) (nullable): the root object of @body
 */
JsonObject *
reel_json_parse_untrusted_object (const char *body, gsize length)
{
  if (body == NULL || length == 0 || length > G_MAXSSIZE || !text_is_sane (body, length))
    return NULL;
  g_autoptr (JsonParser) parser = json_parser_new_immutable ();
  if (!json_parser_load_from_data (parser, body, (gssize) length, NULL))
    return NULL;
  JsonNode *root = json_parser_get_root (parser);
  if (root == NULL || !JSON_NODE_HOLDS_OBJECT (root))
    return NULL;
  return json_object_ref (json_node_get_object (root));
}

