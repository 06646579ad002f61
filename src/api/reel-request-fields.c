/* reel-request-fields.c: what the request parsers share: error messages, field
 * paths, typed access to members, unknown-member and integer-range checks, and the
 * URL checks.
 *
 * Every error message starts with the field's path ("room.participants[1].color: ...");
 * input echoed in a message is at most ECHO_MAX bytes and sanitized. RTMP URLs hold
 * stream keys and are never echoed.
 */
#include "api/reel-request-private.h"

#include <math.h>
#include <string.h>

#define ECHO_MAX 64
#define MAX_URL_BYTES 2048

/* ------------------------------------------------------------------------------------ */
/* Stage 2 helpers: messages, paths, typed access                                       */
/* ------------------------------------------------------------------------------------ */

/* Appends the character at @p escaped or as is; returns the bytes of input it used,
 * or 0 if it needs more than @budget. */
static gsize
echo_char (GString *out, const char *p, gsize budget)
{
  guchar c = (guchar) *p;

  if (c < 0x80) {
    if (c == '"' || c == '\\')
      g_string_append_printf (out, "\\%c", c);
    else if (g_ascii_isprint (c))
      g_string_append_c (out, (char) c);
    else
      g_string_append_printf (out, "\\x%02x", c);
    return 1;
  }
  gunichar u = g_utf8_get_char_validated (p, -1);
  if (u == (gunichar) -1 || u == (gunichar) -2) {
    g_string_append_printf (out, "\\x%02x", c);
    return 1;
  }
  gsize n = (gsize) (g_utf8_next_char (p) - p);
  if (n > budget)
    return 0;
  if (g_unichar_isprint (u) && g_unichar_type (u) != G_UNICODE_FORMAT)
    g_string_append_len (out, p, (gssize) n);
  else
    g_string_append_printf (out, "\\u{%04x}", u);
  return n;
}

/* Returns: (transfer full): at most ECHO_MAX bytes of @text, with quotes, backslashes
 * and anything unprintable (controls, invalid UTF-8, bidi overrides) escaped, and
 * "..." if it was cut. */
char *
reel_request_echo (const char *text)
{
  GString *out = g_string_new (NULL);
  const char *p = text;
  gsize used = 0;

  while (*p != '\0' && used < ECHO_MAX) {
    gsize n = echo_char (out, p, ECHO_MAX - used);
    if (n == 0)
      break;
    p += n;
    used += n;
  }
  if (*p != '\0')
    g_string_append (out, "...");
  return g_string_free (out, FALSE);
}

/* A member name that can stand in a path as is: not empty, not long, and nothing that
 * could be taken for path syntax or for the ": " ending the path. */
static gboolean
is_plain_name (const char *name)
{
  gsize len = strlen (name);
  if (len == 0 || len > ECHO_MAX)
    return FALSE;
  for (const char *p = name; *p != '\0'; p++)
    if (!g_ascii_isalnum (*p) && *p != '_' && *p != '-')
      return FALSE;
  return TRUE;
}

/* Returns: (transfer full): the path of member @name of the object at @parent ("" for
 * the body): "parent.name", or "parent[\"name\"]" with @name echoed if it is not plain. */
char *
reel_request_path_member (const char *parent, const char *name)
{
  if (!is_plain_name (name)) {
    g_autofree char *shown = reel_request_echo (name);
    return g_strdup_printf ("%s[\"%s\"]", parent, shown);
  }
  if (*parent == '\0')
    return g_strdup (name);
  return g_strdup_printf ("%s.%s", parent, name);
}

char *
reel_request_path_index (const char *parent, guint i)
{
  return g_strdup_printf ("%s[%u]", parent, i);
}

/* Sets "PATH: DETAIL" in @error. Returns: %FALSE */
gboolean
reel_request_fail (GError **error, gint code, const char *path, const char *format, ...)
{
  va_list args;
  va_start (args, format);
  g_autofree char *detail = g_strdup_vprintf (format, args);
  va_end (args);
  g_set_error (error, REEL_ERROR, code, "%s: %s", path, detail);
  return FALSE;
}

static const char *
describe (JsonNode *node)
{
  if (node == NULL)
    return "nothing";
  switch (JSON_NODE_TYPE (node)) {
  case JSON_NODE_OBJECT:
    return "an object";
  case JSON_NODE_ARRAY:
    return "an array";
  case JSON_NODE_NULL:
    return "null";
  case JSON_NODE_VALUE:
    break;
  }
  GType type = json_node_get_value_type (node);
  if (type == G_TYPE_STRING)
    return "a string";
  if (type == G_TYPE_BOOLEAN)
    return "a boolean";
  if (type == G_TYPE_DOUBLE)
    return "a number with a fraction or exponent";
  return "a number";
}

gboolean
reel_request_expected (GError **error, const char *path, const char *what, JsonNode *node)
{
  return reel_request_invalid (error, path, "expected %s, got %s", what, describe (node));
}

gboolean
reel_request_is_value_of (JsonNode *node, GType type)
{
  return node != NULL && JSON_NODE_HOLDS_VALUE (node) && json_node_get_value_type (node) == type;
}

/* Returns: (transfer none) (nullable): the object @node holds */
JsonObject *
reel_request_want_object (JsonNode *node, const char *path, GError **error)
{
  if (node == NULL || !JSON_NODE_HOLDS_OBJECT (node)) {
    reel_request_expected (error, path, "an object", node);
    return NULL;
  }
  return json_node_get_object (node);
}

/* Returns: (transfer none) (nullable): the array @node holds */
JsonArray *
reel_request_want_array (JsonNode *node, const char *path, GError **error)
{
  if (node == NULL || !JSON_NODE_HOLDS_ARRAY (node)) {
    reel_request_expected (error, path, "an array", node);
    return NULL;
  }
  return json_node_get_array (node);
}

gboolean
reel_request_want_string (JsonNode *node, const char *path, const char **value, GError **error)
{
  if (!reel_request_is_value_of (node, G_TYPE_STRING))
    return reel_request_expected (error, path, "a string", node);
  *value = json_node_get_string (node);
  return TRUE;
}

/* A JSON integer (no fraction, no exponent): booleans and doubles are refused. */
gboolean
reel_request_want_int (JsonNode *node, const char *path, gint64 *value, GError **error)
{
  if (!reel_request_is_value_of (node, G_TYPE_INT64))
    return reel_request_expected (error, path, "an integer", node);
  *value = json_node_get_int (node);
  return TRUE;
}

/* An integer or a finite double. */
gboolean
reel_request_want_number (JsonNode *node, const char *path, double *value, GError **error)
{
  if (reel_request_is_value_of (node, G_TYPE_INT64)) {
    *value = (double) json_node_get_int (node);
    return TRUE;
  }
  if (!reel_request_is_value_of (node, G_TYPE_DOUBLE))
    return reel_request_expected (error, path, "a number", node);
  *value = json_node_get_double (node);
  if (!isfinite (*value))
    return reel_request_invalid (error, path, "number out of range");
  return TRUE;
}

/* Returns: (transfer none) (nullable): member @name of @obj, or %NULL with an error
 * naming @path if it is missing */
JsonNode *
reel_request_need (JsonObject *obj, const char *name, const char *path, GError **error)
{
  JsonNode *node = json_object_get_member (obj, name);
  if (node == NULL)
    reel_request_invalid (error, path, "missing required field");
  return node;
}

/* Names that ask to choose where files go: reel does that itself. */
static gboolean
names_a_file (const char *name, gboolean in_output)
{
  static const char *const file_words[] = { "path", "filename", "location", "dir", NULL };
  return g_strv_contains (file_words, name) || (in_output && g_strcmp0 (name, "name") == 0);
}

/* Fails on the first member of @obj (in document order) not in @known. */
gboolean
reel_request_check_members (JsonObject *obj, const char *parent, const char *const *known,
                            gboolean in_output, GError **error)
{
  g_autoptr (GList) names = json_object_get_members (obj);
  for (GList *l = names; l != NULL; l = l->next) {
    const char *name = l->data;
    if (g_strv_contains (known, name))
      continue;
    g_autofree char *path = reel_request_path_member (parent, name);
    if (names_a_file (name, in_output))
      return reel_request_invalid (error, path, "unknown field; reel chooses file names");
    return reel_request_invalid (error, path, "unknown field");
  }
  return TRUE;
}

/* Reads optional integer member @rule->name of @obj into @value (left as is if absent). */
gboolean
reel_request_optional_int (JsonObject *obj, const char *parent, const ReelRequestIntRule *rule,
                           gint64 *value, GError **error)
{
  JsonNode *node = json_object_get_member (obj, rule->name);
  gint64 v = 0;

  if (node == NULL)
    return TRUE;
  g_autofree char *path = reel_request_path_member (parent, rule->name);
  if (!reel_request_want_int (node, path, &v, error))
    return FALSE;
  if (v < rule->min || v > rule->max || (rule->even && v % 2 != 0))
    return reel_request_invalid (error, path,
                                 "must be %s integer from %" G_GINT64_FORMAT
                                 " to %" G_GINT64_FORMAT,
                                 rule->even ? "an even" : "an", rule->min, rule->max);
  *value = v;
  return TRUE;
}

/* ---------- URLs ---------- */

/* An IP address, or a DNS name: dot-separated labels of 1 to 63 letters, digits and
 * inner hyphens, at most 253 bytes, an optional final dot. */
static gboolean
is_valid_host (const char *host)
{
  gsize len = strlen (host);
  gsize label = 0;

  if (g_hostname_is_ip_address (host))
    return TRUE;
  if (len == 0 || len > 253 || host[0] == '.')
    return FALSE;
  for (gsize i = 0; i < len; i++) {
    char c = host[i];
    if (c == '.') {
      if (label == 0 || host[i - 1] == '-')
        return FALSE;
      label = 0;
    } else if (g_ascii_isalnum (c) || (c == '-' && label > 0)) {
      if (++label > 63)
        return FALSE;
    } else {
      return FALSE;
    }
  }
  return host[len - 1] != '-';
}

/* What every URL a request names must be: bounded, printable ASCII, no spaces. */
static gboolean
check_url_text (const char *url, const char *path, GError **error)
{
  gsize len = strlen (url);

  if (len > MAX_URL_BYTES)
    return reel_request_invalid (error, path, "must be at most %d bytes", MAX_URL_BYTES);
  for (gsize i = 0; i < len; i++)
    if ((guchar) url[i] <= 0x20 || (guchar) url[i] >= 0x7f)
      return reel_request_invalid (error, path,
                                   "must not contain spaces, control or non-ASCII characters");
  return TRUE;
}

/* A parsed URL's host, user info, port and fragment (RTMP ingest and SFU API alike). */
static gboolean
check_uri_parts (GUri *uri, const char *path, GError **error)
{
  const char *host = g_uri_get_host (uri);

  if (host == NULL || *host == '\0')
    return reel_request_invalid (error, path, "must include a host");
  if (!is_valid_host (host))
    return reel_request_invalid (error, path, "must include a valid host name or IP address");
  if (g_uri_get_userinfo (uri) != NULL)
    return reel_request_invalid (error, path, "must not contain user info (user:password@)");
  if (g_uri_get_port (uri) == 0)
    return reel_request_invalid (error, path, "port must be from 1 to 65535");
  if (g_uri_get_fragment (uri) != NULL)
    return reel_request_invalid (error, path, "must not contain a fragment (#...)");
  return TRUE;
}

/* The URL holds a stream key: messages never echo it. */
gboolean
reel_request_check_rtmp_url (const char *url, const char *path, GError **error)
{
  if (!check_url_text (url, path, error))
    return FALSE;
  if (!g_str_has_prefix (url, "rtmp://") && !g_str_has_prefix (url, "rtmps://"))
    return reel_request_invalid (error, path, "expected an rtmp:// or rtmps:// URL");
  g_autoptr (GUri) uri = g_uri_parse (url, G_URI_FLAGS_NONE, NULL);
  if (uri == NULL)
    return reel_request_invalid (error, path, "not a valid URL");
  return check_uri_parts (uri, path, error);
}

/* An SFU's HTTP API base: http:// or https://, a host, no user info. */
gboolean
reel_request_check_http_url (const char *url, const char *path, GError **error)
{
  if (!check_url_text (url, path, error))
    return FALSE;
  if (!g_str_has_prefix (url, "http://") && !g_str_has_prefix (url, "https://"))
    return reel_request_invalid (error, path, "expected an http:// or https:// URL");
  g_autoptr (GUri) uri = g_uri_parse (url, G_URI_FLAGS_NONE, NULL);
  if (uri == NULL || g_uri_get_query (uri) != NULL)
    return reel_request_invalid (error, path, "not a valid URL without a query");
  return check_uri_parts (uri, path, error);
}
