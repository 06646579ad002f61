/* reel-json.c: JSON helpers. */
#include "base/reel-json.h"

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
