/* reel-request.c: parse and validate REST request bodies (untrusted input).
 *
 * Two stages:
 *
 * 1. reel_request_parse_json() checks the raw text before json-glib sees it: no NUL
 *    bytes, valid UTF-8, and strict RFC 8259 syntax with nesting bounded at MAX_DEPTH.
 *    json-glib 1.6 alone accepts comments, single quotes, hex and leading-zero numbers
 *    and text after the root value, silently wraps integers beyond 64 bits, cuts
 *    strings at "\u0000", and recurses without a depth limit; the pre-scan rules all of
 *    that out. After json-glib builds the tree, the tree is walked again for depth and
 *    for duplicate member names (json-glib keeps the last one silently).
 *
 * 2. The parse_* functions validate one field at a time against a fixed schema. Every
 *    error message starts with the field's path ("room.participants[1].color: ...");
 *    input echoed in a message is at most ECHO_MAX bytes and sanitized. RTMP URLs hold
 *    stream keys and are never echoed.
 */
#include "api/reel-request.h"

#include <math.h>
#include <string.h>

#include "base/reel-error.h"

#define MAX_DEPTH 32
#define ECHO_MAX 64
#define MAX_OUTPUTS 8
#define MAX_URL_BYTES 2048
#define MAX_NAME_CHARS 64
#define MAX_TIME_S 86400.0
#define MIN_TONE_HZ 20.0
#define MAX_TONE_HZ 20000.0
#define MAX_CF_TRACKS 256
#define MAX_CF_ID_CHARS 128
#define CF_TRACK_NAME_EXTRA "-_.:@+={}~"
#define MAX_PATCH_PARTICIPANTS 100

/* ------------------------------------------------------------------------------------ */
/* Stage 1: strict JSON syntax check of the raw text                                    */
/* ------------------------------------------------------------------------------------ */

typedef struct {
  const char *start;
  const char *p;
  const char *end;
  guint depth;
  const char *problem; /* static text: what is wrong at p */
} JsonScan;

static gboolean scan_value (JsonScan *s);

static gboolean
scan_fail (JsonScan *s, const char *problem)
{
  if (s->problem == NULL)
    s->problem = problem;
  return FALSE;
}

static void
scan_space (JsonScan *s)
{
  while (s->p < s->end && (*s->p == ' ' || *s->p == '\t' || *s->p == '\n' || *s->p == '\r'))
    s->p++;
}

/* Skips white space, then consumes @c if it is next. */
static gboolean
scan_char (JsonScan *s, char c)
{
  scan_space (s);
  if (s->p < s->end && *s->p == c) {
    s->p++;
    return TRUE;
  }
  return FALSE;
}

static gboolean
scan_literal (JsonScan *s, const char *word)
{
  gsize n = strlen (word);
  if ((gsize) (s->end - s->p) < n || memcmp (s->p, word, n) != 0)
    return scan_fail (s, "unexpected token");
  s->p += n;
  return TRUE;
}

/* Consumes one or more decimal digits. */
static gboolean
scan_digits (JsonScan *s)
{
  const char *from = s->p;
  while (s->p < s->end && g_ascii_isdigit (*s->p))
    s->p++;
  return s->p > from;
}

/* json-glib wraps integers that do not fit 64 bits: reject them here. */
static gboolean
scan_integer_fits (JsonScan *s, const char *from)
{
  char digits[24];
  gsize len = (gsize) (s->p - from);
  if (len >= sizeof digits)
    return scan_fail (s, "integer out of range");
  memcpy (digits, from, len);
  digits[len] = '\0';
  if (!g_ascii_string_to_signed (digits, 10, G_MININT64, G_MAXINT64, NULL, NULL))
    return scan_fail (s, "integer out of range");
  return TRUE;
}

static gboolean
scan_number (JsonScan *s)
{
  const char *from = s->p;
  gboolean integer = TRUE;

  if (*s->p == '-')
    s->p++;
  if (s->p < s->end && *s->p == '0')
    s->p++;
  else if (!scan_digits (s))
    return scan_fail (s, "invalid number");
  if (s->p < s->end && *s->p == '.') {
    s->p++;
    integer = FALSE;
    if (!scan_digits (s))
      return scan_fail (s, "invalid number");
  }
  if (s->p < s->end && (*s->p == 'e' || *s->p == 'E')) {
    s->p++;
    integer = FALSE;
    if (s->p < s->end && (*s->p == '+' || *s->p == '-'))
      s->p++;
    if (!scan_digits (s))
      return scan_fail (s, "invalid number");
  }
  return !integer || scan_integer_fits (s, from);
}

static gboolean
scan_hex4 (JsonScan *s, gunichar *value)
{
  if (s->end - s->p < 4)
    return scan_fail (s, "invalid \\u escape");
  *value = 0;
  for (int i = 0; i < 4; i++) {
    int digit = g_ascii_xdigit_value (s->p[i]);
    if (digit < 0)
      return scan_fail (s, "invalid \\u escape");
    *value = *value * 16 + (gunichar) digit;
  }
  s->p += 4;
  return TRUE;
}

/* After "\u": one BMP character, or a surrogate pair; never U+0000. */
static gboolean
scan_unicode_escape (JsonScan *s)
{
  gunichar c = 0, low = 0;

  if (!scan_hex4 (s, &c))
    return FALSE;
  if (c == 0)
    return scan_fail (s, "\\u0000 is not allowed");
  if (c >= 0xDC00 && c <= 0xDFFF)
    return scan_fail (s, "unpaired surrogate");
  if (c < 0xD800 || c > 0xDBFF)
    return TRUE;
  if (s->end - s->p < 2 || s->p[0] != '\\' || s->p[1] != 'u')
    return scan_fail (s, "unpaired surrogate");
  s->p += 2;
  if (!scan_hex4 (s, &low))
    return FALSE;
  if (low < 0xDC00 || low > 0xDFFF)
    return scan_fail (s, "unpaired surrogate");
  return TRUE;
}

/* At a backslash inside a string. */
static gboolean
scan_escape (JsonScan *s)
{
  s->p++;
  if (s->p >= s->end)
    return scan_fail (s, "unterminated string");
  char c = *s->p++;
  if (c == 'u')
    return scan_unicode_escape (s);
  if (c == '\0' || strchr ("\"\\/bfnrt", c) == NULL)
    return scan_fail (s, "invalid escape");
  return TRUE;
}

/* At the opening quote. UTF-8 was validated for the whole text before. */
static gboolean
scan_string (JsonScan *s)
{
  s->p++;
  while (s->p < s->end) {
    guchar c = (guchar) *s->p;
    if (c == '"') {
      s->p++;
      return TRUE;
    }
    if (c < 0x20)
      return scan_fail (s, "control character in string");
    if (c == '\\') {
      if (!scan_escape (s))
        return FALSE;
    } else {
      s->p++;
    }
  }
  return scan_fail (s, "unterminated string");
}

/* At '{' or '[': counts one more level of nesting. */
static gboolean
scan_enter (JsonScan *s)
{
  s->p++;
  if (++s->depth > MAX_DEPTH)
    return scan_fail (s, "nested deeper than 32 levels");
  return TRUE;
}

static gboolean
scan_object (JsonScan *s)
{
  if (!scan_enter (s))
    return FALSE;
  if (!scan_char (s, '}')) {
    do {
      scan_space (s);
      if (s->p >= s->end || *s->p != '"')
        return scan_fail (s, "expected a member name");
      if (!scan_string (s))
        return FALSE;
      if (!scan_char (s, ':'))
        return scan_fail (s, "expected ':'");
      if (!scan_value (s))
        return FALSE;
    } while (scan_char (s, ','));
    if (!scan_char (s, '}'))
      return scan_fail (s, "expected ',' or '}'");
  }
  s->depth--;
  return TRUE;
}

static gboolean
scan_array (JsonScan *s)
{
  if (!scan_enter (s))
    return FALSE;
  if (!scan_char (s, ']')) {
    do {
      if (!scan_value (s))
        return FALSE;
    } while (scan_char (s, ','));
    if (!scan_char (s, ']'))
      return scan_fail (s, "expected ',' or ']'");
  }
  s->depth--;
  return TRUE;
}

/* Recursion is bounded: scan_enter() stops at MAX_DEPTH. */
static gboolean
scan_value (JsonScan *s)
{
  scan_space (s);
  if (s->p >= s->end)
    return scan_fail (s, "unexpected end of input");
  switch (*s->p) {
  case '{':
    return scan_object (s);
  case '[':
    return scan_array (s);
  case '"':
    return scan_string (s);
  case 't':
    return scan_literal (s, "true");
  case 'f':
    return scan_literal (s, "false");
  case 'n':
    return scan_literal (s, "null");
  default:
    if (*s->p == '-' || g_ascii_isdigit (*s->p))
      return scan_number (s);
    return scan_fail (s, "unexpected character");
  }
}

/* The text checks of stage 1. Messages hold byte offsets, never input. */
static gboolean
check_json_text (const char *body, gsize length, GError **error)
{
  const char *bad = memchr (body, '\0', length);
  JsonScan scan = { body, body, body + length, 0, NULL };

  if (bad != NULL) {
    g_set_error (error, REEL_ERROR, REEL_ERROR_MALFORMED_JSON,
                 "body: contains a NUL byte at byte %" G_GSIZE_FORMAT, (gsize) (bad - body));
    return FALSE;
  }
  if (!g_utf8_validate_len (body, length, &bad)) {
    g_set_error (error, REEL_ERROR, REEL_ERROR_MALFORMED_JSON,
                 "body: invalid UTF-8 at byte %" G_GSIZE_FORMAT, (gsize) (bad - body));
    return FALSE;
  }
  scan_space (&scan);
  if (scan.p < scan.end && *scan.p != '{') {
    g_set_error_literal (error, REEL_ERROR, REEL_ERROR_MALFORMED_JSON, "body: expected a JSON object");
    return FALSE;
  }
  if (scan_value (&scan))
    scan_space (&scan);
  if (scan.problem != NULL || scan.p != scan.end) {
    g_set_error (error, REEL_ERROR, REEL_ERROR_MALFORMED_JSON, "body: malformed JSON at byte %"
                 G_GSIZE_FORMAT ": %s", (gsize) (scan.p - scan.start),
                 scan.problem ? scan.problem : "unexpected text after the JSON value");
    return FALSE;
  }
  return TRUE;
}

/* Checks that @node nests at most @budget objects and arrays deep (the root object
 * counts as one), and adds the member counts of its objects to @members. Recursion
 * stops at @budget, so this is safe on any tree. */
static gboolean
walk_tree (JsonNode *node, guint budget, guint *members)
{
  if (JSON_NODE_HOLDS_OBJECT (node)) {
    if (budget == 0)
      return FALSE;
    JsonObject *object = json_node_get_object (node);
    *members += json_object_get_size (object);
    g_autoptr (GList) values = json_object_get_values (object);
    for (GList *l = values; l != NULL; l = l->next)
      if (!walk_tree (l->data, budget - 1, members))
        return FALSE;
  } else if (JSON_NODE_HOLDS_ARRAY (node)) {
    if (budget == 0)
      return FALSE;
    JsonArray *array = json_node_get_array (node);
    for (guint i = 0; i < json_array_get_length (array); i++)
      if (!walk_tree (json_array_get_element (array, i), budget - 1, members))
        return FALSE;
  }
  return TRUE;
}

static void
count_member (JsonParser *parser, JsonObject *object, const char *name, gpointer user_data)
{
  guint *count = user_data;
  (*count)++;
}

/**
 * reel_request_parse_json:
 * @body: (array length=length): the request body; need not be NUL-terminated
 * @length: its length in bytes
 *
 * Accepts only strict RFC 8259 JSON whose root is an object, without NUL bytes,
 * invalid UTF-8, "\u0000", integers beyond 64 bits, duplicate member names, or
 * nesting deeper than 32 levels.
 *
 * Returns: (transfer full) (nullable): the root object node, or %NULL with
 * REEL_ERROR_MALFORMED_JSON
 */
JsonNode *
reel_request_parse_json (const char *body, gsize length, GError **error)
{
  guint members_parsed = 0, members_kept = 0;

  if (body == NULL || length == 0 || length > G_MAXSSIZE) {
    g_set_error_literal (error, REEL_ERROR, REEL_ERROR_MALFORMED_JSON, "body: expected a JSON object");
    return NULL;
  }
  if (!check_json_text (body, length, error))
    return NULL;

  g_autoptr (JsonParser) parser = json_parser_new ();
  g_signal_connect (parser, "object-member", G_CALLBACK (count_member), &members_parsed);
  if (!json_parser_load_from_data (parser, body, (gssize) length, NULL)) {
    g_set_error_literal (error, REEL_ERROR, REEL_ERROR_MALFORMED_JSON, "body: malformed JSON");
    return NULL;
  }
  JsonNode *root = json_parser_get_root (parser);
  if (root == NULL || !JSON_NODE_HOLDS_OBJECT (root)) {
    g_set_error_literal (error, REEL_ERROR, REEL_ERROR_MALFORMED_JSON, "body: expected a JSON object");
    return NULL;
  }
  if (!walk_tree (root, MAX_DEPTH, &members_kept)) {
    g_set_error_literal (error, REEL_ERROR, REEL_ERROR_MALFORMED_JSON, "body: nested deeper than 32 levels");
    return NULL;
  }
  if (members_kept != members_parsed) {
    g_set_error_literal (error, REEL_ERROR, REEL_ERROR_MALFORMED_JSON, "body: duplicate member names");
    return NULL;
  }
  return json_node_ref (root);
}

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
static char *
echo (const char *text)
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
static char *
path_member (const char *parent, const char *name)
{
  if (!is_plain_name (name)) {
    g_autofree char *shown = echo (name);
    return g_strdup_printf ("%s[\"%s\"]", parent, shown);
  }
  if (*parent == '\0')
    return g_strdup (name);
  return g_strdup_printf ("%s.%s", parent, name);
}

static char *
path_index (const char *parent, guint i)
{
  return g_strdup_printf ("%s[%u]", parent, i);
}

static gboolean fail (GError **error, gint code, const char *path, const char *format, ...)
  G_GNUC_PRINTF (4, 5);

/* Sets "PATH: DETAIL" in @error. Returns: %FALSE */
static gboolean
fail (GError **error, gint code, const char *path, const char *format, ...)
{
  va_list args;
  va_start (args, format);
  g_autofree char *detail = g_strdup_vprintf (format, args);
  va_end (args);
  g_set_error (error, REEL_ERROR, code, "%s: %s", path, detail);
  return FALSE;
}

#define invalid(error, path, ...) fail ((error), REEL_ERROR_INVALID_FIELD, (path), __VA_ARGS__)

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

static gboolean
expected (GError **error, const char *path, const char *what, JsonNode *node)
{
  return invalid (error, path, "expected %s, got %s", what, describe (node));
}

static gboolean
is_value_of (JsonNode *node, GType type)
{
  return node != NULL && JSON_NODE_HOLDS_VALUE (node) && json_node_get_value_type (node) == type;
}

/* Returns: (transfer none) (nullable): the object @node holds */
static JsonObject *
want_object (JsonNode *node, const char *path, GError **error)
{
  if (node == NULL || !JSON_NODE_HOLDS_OBJECT (node)) {
    expected (error, path, "an object", node);
    return NULL;
  }
  return json_node_get_object (node);
}

/* Returns: (transfer none) (nullable): the array @node holds */
static JsonArray *
want_array (JsonNode *node, const char *path, GError **error)
{
  if (node == NULL || !JSON_NODE_HOLDS_ARRAY (node)) {
    expected (error, path, "an array", node);
    return NULL;
  }
  return json_node_get_array (node);
}

static gboolean
want_string (JsonNode *node, const char *path, const char **value, GError **error)
{
  if (!is_value_of (node, G_TYPE_STRING))
    return expected (error, path, "a string", node);
  *value = json_node_get_string (node);
  return TRUE;
}

/* A JSON integer (no fraction, no exponent): booleans and doubles are refused. */
static gboolean
want_int (JsonNode *node, const char *path, gint64 *value, GError **error)
{
  if (!is_value_of (node, G_TYPE_INT64))
    return expected (error, path, "an integer", node);
  *value = json_node_get_int (node);
  return TRUE;
}

/* An integer or a finite double. */
static gboolean
want_number (JsonNode *node, const char *path, double *value, GError **error)
{
  if (is_value_of (node, G_TYPE_INT64)) {
    *value = (double) json_node_get_int (node);
    return TRUE;
  }
  if (!is_value_of (node, G_TYPE_DOUBLE))
    return expected (error, path, "a number", node);
  *value = json_node_get_double (node);
  if (!isfinite (*value))
    return invalid (error, path, "number out of range");
  return TRUE;
}

/* Returns: (transfer none) (nullable): member @name of @obj, or %NULL with an error
 * naming @path if it is missing */
static JsonNode *
need (JsonObject *obj, const char *name, const char *path, GError **error)
{
  JsonNode *node = json_object_get_member (obj, name);
  if (node == NULL)
    invalid (error, path, "missing required field");
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
static gboolean
check_members (JsonObject *obj, const char *parent, const char *const *known, gboolean in_output,
               GError **error)
{
  g_autoptr (GList) names = json_object_get_members (obj);
  for (GList *l = names; l != NULL; l = l->next) {
    const char *name = l->data;
    if (g_strv_contains (known, name))
      continue;
    g_autofree char *path = path_member (parent, name);
    if (names_a_file (name, in_output))
      return invalid (error, path, "unknown field; reel chooses file names");
    return invalid (error, path, "unknown field");
  }
  return TRUE;
}

typedef struct {
  const char *name;
  gint64 min, max;
  gboolean even;
} IntRule;

/* Reads optional integer member @rule->name of @obj into @value (left as is if absent). */
static gboolean
optional_int (JsonObject *obj, const char *parent, const IntRule *rule, gint64 *value, GError **error)
{
  JsonNode *node = json_object_get_member (obj, rule->name);
  gint64 v = 0;

  if (node == NULL)
    return TRUE;
  g_autofree char *path = path_member (parent, rule->name);
  if (!want_int (node, path, &v, error))
    return FALSE;
  if (v < rule->min || v > rule->max || (rule->even && v % 2 != 0))
    return invalid (error, path, "must be %s integer from %" G_GINT64_FORMAT " to %" G_GINT64_FORMAT,
                    rule->even ? "an even" : "an", rule->min, rule->max);
  *value = v;
  return TRUE;
}

/* ------------------------------------------------------------------------------------ */
/* Stage 2: the schema                                                                  */
/* ------------------------------------------------------------------------------------ */

static gboolean
parse_layout (JsonNode *node, const char *path, ReelLayoutKind *layout, GError **error)
{
  const char *name = NULL;

  if (!want_string (node, path, &name, error))
    return FALSE;
  if (reel_layout_kind_from_string (name, layout))
    return TRUE;
  g_autofree char *shown = echo (name);
  return invalid (error, path, "unknown layout \"%s\" (known: grid)", shown);
}

static gboolean
parse_video (JsonNode *node, ReelRecordingSpec *spec, GError **error)
{
  static const char *const known[] = { "width", "height", "framerate", "bitrate_kbps", NULL };
  static const IntRule rules[] = {
    { "width", 160, 3840, TRUE },
    { "height", 90, 2160, TRUE },
    { "framerate", 1, 60, FALSE },
    { "bitrate_kbps", 100, 50000, FALSE },
  };
  gint64 values[] = { spec->width, spec->height, spec->framerate, spec->bitrate_kbps };
  JsonObject *obj = want_object (node, "video", error);

  if (obj == NULL || !check_members (obj, "video", known, FALSE, error))
    return FALSE;
  for (gsize i = 0; i < G_N_ELEMENTS (rules); i++)
    if (!optional_int (obj, "video", &rules[i], &values[i], error))
      return FALSE;
  spec->width = (guint) values[0];
  spec->height = (guint) values[1];
  spec->framerate = (guint) values[2];
  spec->bitrate_kbps = (guint) values[3];
  return TRUE;
}

/* A display name: 1 to MAX_NAME_CHARS characters of UTF-8, no controls, no / or \.
 * An absent optional member leaves *@value as is. */
static gboolean
parse_label (JsonObject *obj, const char *parent, const char *member, gboolean required,
             char **value, GError **error)
{
  g_autofree char *path = path_member (parent, member);
  JsonNode *node = json_object_get_member (obj, member);
  const char *text = NULL;

  if (node == NULL && !required)
    return TRUE;
  if (node == NULL)
    return invalid (error, path, "missing required field");
  if (!want_string (node, path, &text, error))
    return FALSE;
  if (!g_utf8_validate (text, -1, NULL))
    return invalid (error, path, "must be valid UTF-8");
  glong chars = g_utf8_strlen (text, -1);
  if (chars < 1 || chars > MAX_NAME_CHARS)
    return invalid (error, path, "must be 1 to %d characters", MAX_NAME_CHARS);
  for (const char *p = text; *p != '\0'; p = g_utf8_next_char (p))
    if (g_unichar_iscntrl (g_utf8_get_char (p)))
      return invalid (error, path, "must not contain control characters");
  /* Names may one day name per-participant files: no path syntax in them. */
  if (strchr (text, '/') != NULL || strchr (text, '\\') != NULL)
    return invalid (error, path, "must not contain / or \\");
  g_free (*value);
  *value = g_strdup (text);
  return TRUE;
}

static gboolean
parse_name (JsonObject *obj, const char *parent, char **name, GError **error)
{
  return parse_label (obj, parent, "name", TRUE, name, error);
}

static gboolean
is_hex_color (const char *text)
{
  if (strlen (text) != 7 || text[0] != '#')
    return FALSE;
  for (int i = 1; i < 7; i++)
    if (!g_ascii_isxdigit (text[i]))
      return FALSE;
  return TRUE;
}

static gboolean
parse_color (JsonObject *obj, const char *parent, guint32 *rgb, GError **error)
{
  g_autofree char *path = path_member (parent, "color");
  JsonNode *node = need (obj, "color", path, error);

  if (node == NULL)
    return FALSE;
  if (!is_value_of (node, G_TYPE_STRING) || !is_hex_color (json_node_get_string (node)))
    return invalid (error, path, "expected a string like \"#rrggbb\"");
  *rgb = (guint32) g_ascii_strtoull (json_node_get_string (node) + 1, NULL, 16);
  return TRUE;
}

static gboolean
parse_tone (JsonObject *obj, const char *parent, double *tone_hz, GError **error)
{
  g_autofree char *path = path_member (parent, "tone_hz");
  JsonNode *node = need (obj, "tone_hz", path, error);

  if (node == NULL || !want_number (node, path, tone_hz, error))
    return FALSE;
  if (*tone_hz < MIN_TONE_HZ || *tone_hz > MAX_TONE_HZ)
    return invalid (error, path, "must be a number from %g to %g", MIN_TONE_HZ, MAX_TONE_HZ);
  return TRUE;
}

/* Optional join_at_s in [0, 86400], optional leave_at_s in (join_at_s, 86400]. */
static gboolean
parse_presence (JsonObject *obj, const char *parent, ReelSyntheticParticipant *p, GError **error)
{
  JsonNode *join = json_object_get_member (obj, "join_at_s");
  JsonNode *leave = json_object_get_member (obj, "leave_at_s");

  if (join != NULL) {
    g_autofree char *path = path_member (parent, "join_at_s");
    if (!want_number (join, path, &p->join_at_s, error))
      return FALSE;
    if (p->join_at_s < 0 || p->join_at_s > MAX_TIME_S)
      return invalid (error, path, "must be a number from 0 to %g", MAX_TIME_S);
  }
  if (leave != NULL) {
    g_autofree char *path = path_member (parent, "leave_at_s");
    if (!want_number (leave, path, &p->leave_at_s, error))
      return FALSE;
    if (p->leave_at_s <= p->join_at_s || p->leave_at_s > MAX_TIME_S)
      return invalid (error, path, "must be a number greater than join_at_s (%g) and at most %g",
                      p->join_at_s, MAX_TIME_S);
  }
  return TRUE;
}

/* Returns: (transfer full) (nullable): the participant at @path */
static ReelSyntheticParticipant *
parse_participant (JsonNode *node, const char *path, GError **error)
{
  static const char *const known[] = { "name", "color", "tone_hz", "join_at_s", "leave_at_s", NULL };
  JsonObject *obj = want_object (node, path, error);

  if (obj == NULL || !check_members (obj, path, known, FALSE, error))
    return NULL;
  g_autoptr (ReelSyntheticParticipant) p = reel_synthetic_participant_new ();
  if (!parse_name (obj, path, &p->name, error) || !parse_color (obj, path, &p->color_rgb, error) ||
      !parse_tone (obj, path, &p->tone_hz, error) || !parse_presence (obj, path, p, error))
    return NULL;
  return g_steal_pointer (&p);
}

/* Names compare after NFC normalization, so "é" and "e\u0301" are the same name. */
static gboolean
check_unique_name (GHashTable *seen, const char *name, const char *parent, GError **error)
{
  char *key = g_utf8_normalize (name, -1, G_NORMALIZE_NFC);

  if (g_hash_table_add (seen, key != NULL ? key : g_strdup (name)))
    return TRUE;
  g_autofree char *path = path_member (parent, "name");
  g_autofree char *shown = echo (name);
  return invalid (error, path, "duplicate name \"%s\"", shown);
}

static gboolean
parse_participants (JsonObject *room, guint max, GPtrArray *participants, GError **error)
{
  const char *path = "room.participants";
  JsonNode *node = need (room, "participants", path, error);
  JsonArray *array = node != NULL ? want_array (node, path, error) : NULL;

  if (array == NULL)
    return FALSE;
  guint n = json_array_get_length (array);
  if (n == 0 || n > max)
    return invalid (error, path, "must have 1 to %u entries", max);
  g_autoptr (GHashTable) seen = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  for (guint i = 0; i < n; i++) {
    g_autofree char *item = path_index (path, i);
    ReelSyntheticParticipant *p = parse_participant (json_array_get_element (array, i), item, error);
    if (p == NULL)
      return FALSE;
    g_ptr_array_add (participants, p);
    if (!check_unique_name (seen, p->name, item, error))
      return FALSE;
  }
  return TRUE;
}

static gboolean check_http_url (const char *url, const char *path, GError **error);

/* An optional string secret of 1 to 256 printable ASCII characters. */
static gboolean
parse_secret (JsonObject *room, const char *name, char **value, GError **error)
{
  JsonNode *node = json_object_get_member (room, name);
  g_autofree char *path = path_member ("room", name);
  const char *text = NULL;

  if (node == NULL)
    return TRUE;
  if (!want_string (node, path, &text, error))
    return FALSE;
  gsize len = strlen (text);
  if (len < 1 || len > 256)
    return invalid (error, path, "must be 1 to 256 characters");
  for (gsize i = 0; i < len; i++)
    if ((guchar) text[i] < 0x20 || (guchar) text[i] >= 0x7f)
      return invalid (error, path, "must be printable ASCII");
  *value = g_strdup (text);
  return TRUE;
}

/* room.url: required, http(s) */
static gboolean
parse_room_url (JsonObject *room, char **url, GError **error)
{
  JsonNode *node = need (room, "url", "room.url", error);
  const char *text = NULL;
  if (node == NULL || !want_string (node, "room.url", &text, error) ||
      !check_http_url (text, "room.url", error))
    return FALSE;
  *url = g_strdup (text);
  return TRUE;
}

/* room: {provider: "janus", url, room (integer), pin?, secret?}; the shown copy
 * keeps neither pin nor secret. */
static gboolean
parse_janus_room (JsonObject *room, JsonNode *node, ReelRoomSpec *spec, GError **error)
{
  static const char *const known[] = { "provider", "url", "room", "pin", "secret", NULL };
  if (!check_members (room, "room", known, FALSE, error))
    return FALSE;
  if (!parse_room_url (room, &spec->url, error))
    return FALSE;
  JsonNode *number = need (room, "room", "room.room", error);
  gint64 value = 0;
  if (number == NULL || !want_int (number, "room.room", &value, error))
    return FALSE;
  if (value < 1)
    return invalid (error, "room.room", "must be a positive integer");
  spec->room_number = (guint64) value;
  if (!parse_secret (room, "pin", &spec->pin, error) ||
      !parse_secret (room, "secret", &spec->secret, error))
    return FALSE;
  spec->public_json = json_node_copy (node);
  JsonObject *shown = json_node_get_object (spec->public_json);
  json_object_remove_member (shown, "pin");
  json_object_remove_member (shown, "secret");
  return TRUE;
}

/* ---------- cloudflare ---------- */

/* Identifiers that travel in Realtime API URLs and bodies: 1 to @max characters
 * of [A-Za-z0-9] and @extra. */
static gboolean
check_identifier (const char *text, const char *path, gsize max, const char *extra,
                  GError **error)
{
  gsize len = strlen (text);
  if (len < 1 || len > max)
    return invalid (error, path, "must be 1 to %" G_GSIZE_FORMAT " characters", max);
  for (gsize i = 0; i < len; i++)
    if (!g_ascii_isalnum (text[i]) && strchr (extra, text[i]) == NULL)
      return invalid (error, path, "may contain only letters, digits and %s", extra);
  return TRUE;
}

static gboolean
parse_identifier (JsonObject *obj, const char *parent, const char *member, gsize max,
                  const char *extra, char **value, GError **error)
{
  g_autofree char *path = path_member (parent, member);
  JsonNode *node = need (obj, member, path, error);
  const char *text = NULL;

  if (node == NULL || !want_string (node, path, &text, error) ||
      !check_identifier (text, path, max, extra, error))
    return FALSE;
  *value = g_strdup (text);
  return TRUE;
}

static gboolean
parse_track_kind (JsonObject *obj, const char *parent, char **kind, GError **error)
{
  JsonNode *node = json_object_get_member (obj, "kind");
  g_autofree char *path = path_member (parent, "kind");
  const char *text = NULL;

  if (node == NULL)
    return TRUE;
  if (!want_string (node, path, &text, error))
    return FALSE;
  if (g_strcmp0 (text, "audio") != 0 && g_strcmp0 (text, "video") != 0) {
    g_autofree char *shown = echo (text);
    return invalid (error, path, "unknown kind \"%s\" (known: audio, video)", shown);
  }
  *kind = g_strdup (text);
  return TRUE;
}

/* Returns: (transfer full) (nullable): the track at @path */
static ReelRemoteTrack *
parse_remote_track (JsonNode *node, const char *path, GError **error)
{
  static const char *const known[] = { "session_id", "track_name", "kind", "participant", NULL };
  JsonObject *obj = want_object (node, path, error);

  if (obj == NULL || !check_members (obj, path, known, FALSE, error))
    return NULL;
  g_autoptr (ReelRemoteTrack) t = reel_remote_track_new (NULL, NULL);
  if (!parse_identifier (obj, path, "session_id", MAX_CF_ID_CHARS, "-_.", &t->session_id, error) ||
      !parse_identifier (obj, path, "track_name", MAX_CF_ID_CHARS, CF_TRACK_NAME_EXTRA,
                         &t->track_name, error) ||
      !parse_track_kind (obj, path, &t->kind, error) ||
      !parse_label (obj, path, "participant", FALSE, &t->participant, error))
    return NULL;
  return g_steal_pointer (&t);
}

/* An array of @min to MAX_CF_TRACKS tracks, each (session_id, track_name) once,
 * at most @max_participants distinct participants; appended to @tracks. */
static gboolean
parse_remote_tracks (JsonNode *node, const char *path, guint min, guint max_participants,
                     GPtrArray *tracks, GError **error)
{
  JsonArray *array = want_array (node, path, error);

  if (array == NULL)
    return FALSE;
  guint n = json_array_get_length (array);
  if (n < min || n > MAX_CF_TRACKS)
    return invalid (error, path, "must have %u to %d entries", min, MAX_CF_TRACKS);
  g_autoptr (GHashTable) seen = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_autoptr (GHashTable) people = g_hash_table_new (g_str_hash, g_str_equal);
  for (guint i = 0; i < n; i++) {
    g_autofree char *item = path_index (path, i);
    ReelRemoteTrack *t = parse_remote_track (json_array_get_element (array, i), item, error);
    if (t == NULL)
      return FALSE;
    g_ptr_array_add (tracks, t);
    char *key = g_strdup_printf ("%s\n%s", t->session_id, t->track_name);
    gpointer first = NULL;
    if (g_hash_table_lookup_extended (seen, key, NULL, &first)) {
      g_free (key);
      return invalid (error, item, "duplicate track (same session_id and track_name as %s[%u])",
                      path, GPOINTER_TO_UINT (first));
    }
    g_hash_table_insert (seen, key, GUINT_TO_POINTER (i));
    g_hash_table_add (people, (gpointer) reel_remote_track_participant (t));
    if (g_hash_table_size (people) > max_participants)
      return invalid (error, item, "more than %u participants", max_participants);
  }
  return TRUE;
}

/* room: {provider: "cloudflare", app_id, api_url?, tracks}. The app secret is
 * never part of a request: reel's configuration holds it. */
static gboolean
parse_cloudflare_room (JsonObject *room, JsonNode *node, const ReelRequestLimits *limits,
                       ReelRoomSpec *spec, GError **error)
{
  static const char *const known[] = { "provider", "app_id", "api_url", "tracks", NULL };
  static const char *const secrets[] = { "secret", "app_secret", "token", "api_token", NULL };
  for (gsize i = 0; secrets[i] != NULL; i++)
    if (json_object_has_member (room, secrets[i])) {
      g_autofree char *path = path_member ("room", secrets[i]);
      return invalid (error, path, "not accepted in a request: the app secret comes from "
                      "reel's configuration ([cloudflare] app_secret)");
    }
  if (!check_members (room, "room", known, FALSE, error) ||
      !parse_identifier (room, "room", "app_id", MAX_CF_ID_CHARS, "-_", &spec->app_id, error))
    return FALSE;
  JsonNode *url = json_object_get_member (room, "api_url");
  const char *text = REEL_CLOUDFLARE_DEFAULT_API_URL;
  if (url != NULL && (!want_string (url, "room.api_url", &text, error) ||
                      !check_http_url (text, "room.api_url", error)))
    return FALSE;
  spec->api_url = g_strdup (text);
  JsonNode *tracks = need (room, "tracks", "room.tracks", error);
  if (tracks == NULL ||
      !parse_remote_tracks (tracks, "room.tracks", 1, limits->max_participants, spec->tracks, error))
    return FALSE;
  spec->public_json = json_node_copy (node);
  json_object_set_string_member (json_node_get_object (spec->public_json), "api_url", spec->api_url);
  return TRUE;
}

/* ---------- orange ---------- */

static gboolean
parse_optional_bool (JsonObject *obj, const char *member, const char *path, gboolean *value,
                     GError **error)
{
  JsonNode *node = json_object_get_member (obj, member);
  if (node == NULL)
    return TRUE;
  if (!is_value_of (node, G_TYPE_BOOLEAN))
    return expected (error, path, "true or false", node);
  *value = json_node_get_boolean (node);
  return TRUE;
}

/* room: {provider: "orange", url, room, name?, visible?, empty_timeout_s?}. Orange
 * room names are nanoids or typed names with spaces turned into "-". */
static gboolean
parse_orange_room (JsonObject *room, JsonNode *node, ReelRoomSpec *spec, GError **error)
{
  static const char *const known[] = { "provider", "url", "room", "name", "visible",
                                       "empty_timeout_s", NULL };
  if (!check_members (room, "room", known, FALSE, error))
    return FALSE;
  if (!parse_room_url (room, &spec->url, error))
    return FALSE;
  if (!parse_identifier (room, "room", "room", MAX_CF_ID_CHARS, "-_.~", &spec->room_name, error) ||
      !parse_label (room, "room", "name", FALSE, &spec->display_name, error) ||
      !parse_optional_bool (room, "visible", "room.visible", &spec->visible, error))
    return FALSE;
  JsonNode *timeout = json_object_get_member (room, "empty_timeout_s");
  gint64 seconds = 0;
  if (timeout != NULL) {
    if (!want_int (timeout, "room.empty_timeout_s", &seconds, error))
      return FALSE;
    if (seconds < 1 || seconds > 86400)
      return invalid (error, "room.empty_timeout_s", "must be 1 to 86400");
    spec->empty_timeout_s = (int) seconds;
  }
  spec->public_json = json_node_copy (node); /* nothing secret in it */
  return TRUE;
}

/* Succeeds only for providers this build implements. */
static gboolean
parse_provider (JsonObject *room, ReelProvider *provider, GError **error)
{
  const char *path = "room.provider";
  JsonNode *node = need (room, "provider", path, error);
  const char *name = NULL;

  if (node == NULL || !want_string (node, path, &name, error))
    return FALSE;
  g_autofree char *shown = echo (name);
  if (!reel_provider_from_string (name, provider))
    return fail (error, REEL_ERROR_UNKNOWN_PROVIDER, path,
                 "unknown provider \"%s\" (known: synthetic, janus, cloudflare, orange)", shown);
  return TRUE;
}

/* Returns: (transfer full) (nullable): the room of @body */
static ReelRoomSpec *
parse_room (JsonObject *body, const ReelRequestLimits *limits, GError **error)
{
  static const char *const known[] = { "provider", "participants", NULL };
  JsonNode *node = need (body, "room", "room", error);
  JsonObject *room = node != NULL ? want_object (node, "room", error) : NULL;
  ReelProvider provider = REEL_PROVIDER_SYNTHETIC;

  if (room == NULL || !parse_provider (room, &provider, error))
    return NULL;
  g_autoptr (ReelRoomSpec) spec = reel_room_spec_new (provider);
  if (provider == REEL_PROVIDER_JANUS)
    return parse_janus_room (room, node, spec, error) ? g_steal_pointer (&spec) : NULL;
  if (provider == REEL_PROVIDER_CLOUDFLARE)
    return parse_cloudflare_room (room, node, limits, spec, error) ? g_steal_pointer (&spec) : NULL;
  if (provider == REEL_PROVIDER_ORANGE)
    return parse_orange_room (room, node, spec, error) ? g_steal_pointer (&spec) : NULL;
  if (!check_members (room, "room", known, FALSE, error))
    return NULL;
  if (!parse_participants (room, limits->max_participants, spec->participants, error))
    return NULL;
  spec->public_json = json_node_copy (node); /* synthetic rooms hold no secrets */
  return g_steal_pointer (&spec);
}

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

static gboolean
check_rtmp_uri (GUri *uri, const char *path, GError **error)
{
  const char *host = g_uri_get_host (uri);

  if (host == NULL || *host == '\0')
    return invalid (error, path, "must include a host");
  if (!is_valid_host (host))
    return invalid (error, path, "must include a valid host name or IP address");
  if (g_uri_get_userinfo (uri) != NULL)
    return invalid (error, path, "must not contain user info (user:password@)");
  if (g_uri_get_port (uri) == 0)
    return invalid (error, path, "port must be from 1 to 65535");
  if (g_uri_get_fragment (uri) != NULL)
    return invalid (error, path, "must not contain a fragment (#...)");
  return TRUE;
}

/* The URL holds a stream key: messages never echo it. */
static gboolean
check_rtmp_url (const char *url, const char *path, GError **error)
{
  gsize len = strlen (url);

  if (len > MAX_URL_BYTES)
    return invalid (error, path, "must be at most %d bytes", MAX_URL_BYTES);
  for (gsize i = 0; i < len; i++)
    if ((guchar) url[i] <= 0x20 || (guchar) url[i] >= 0x7f)
      return invalid (error, path, "must not contain spaces, control or non-ASCII characters");
  if (!g_str_has_prefix (url, "rtmp://") && !g_str_has_prefix (url, "rtmps://"))
    return invalid (error, path, "expected an rtmp:// or rtmps:// URL");
  g_autoptr (GUri) uri = g_uri_parse (url, G_URI_FLAGS_NONE, NULL);
  if (uri == NULL)
    return invalid (error, path, "not a valid URL");
  return check_rtmp_uri (uri, path, error);
}

/* An SFU's HTTP API base: http:// or https://, a host, no user info. */
static gboolean
check_http_url (const char *url, const char *path, GError **error)
{
  gsize len = strlen (url);

  if (len > MAX_URL_BYTES)
    return invalid (error, path, "must be at most %d bytes", MAX_URL_BYTES);
  for (gsize i = 0; i < len; i++)
    if ((guchar) url[i] <= 0x20 || (guchar) url[i] >= 0x7f)
      return invalid (error, path, "must not contain spaces, control or non-ASCII characters");
  if (!g_str_has_prefix (url, "http://") && !g_str_has_prefix (url, "https://"))
    return invalid (error, path, "expected an http:// or https:// URL");
  g_autoptr (GUri) uri = g_uri_parse (url, G_URI_FLAGS_NONE, NULL);
  if (uri == NULL || g_uri_get_query (uri) != NULL)
    return invalid (error, path, "not a valid URL without a query");
  return check_rtmp_uri (uri, path, error);
}

static gboolean
parse_rtmp_url (JsonObject *obj, const char *parent, char **url, GError **error)
{
  g_autofree char *path = path_member (parent, "url");
  JsonNode *node = need (obj, "url", path, error);
  const char *text = NULL;

  if (node == NULL || !want_string (node, path, &text, error) || !check_rtmp_url (text, path, error))
    return FALSE;
  *url = g_strdup (text);
  return TRUE;
}

static gboolean
parse_file_format (JsonObject *obj, const char *parent, ReelFileFormat *format, GError **error)
{
  g_autofree char *path = path_member (parent, "format");
  JsonNode *node = need (obj, "format", path, error);
  const char *name = NULL;

  if (node == NULL || !want_string (node, path, &name, error))
    return FALSE;
  if (strcmp (name, "mp4") == 0)
    *format = REEL_FILE_FORMAT_MP4;
  else if (strcmp (name, "mkv") == 0)
    *format = REEL_FILE_FORMAT_MKV;
  else {
    g_autofree char *shown = echo (name);
    return invalid (error, path, "unknown format \"%s\" (known: mp4, mkv)", shown);
  }
  return TRUE;
}

static gboolean
parse_output_type (JsonObject *obj, const char *parent, ReelOutputType *type, GError **error)
{
  g_autofree char *path = path_member (parent, "type");
  JsonNode *node = need (obj, "type", path, error);
  const char *name = NULL;

  if (node == NULL || !want_string (node, path, &name, error))
    return FALSE;
  if (strcmp (name, "file") == 0)
    *type = REEL_OUTPUT_FILE;
  else if (strcmp (name, "rtmp") == 0)
    *type = REEL_OUTPUT_RTMP;
  else {
    g_autofree char *shown = echo (name);
    return invalid (error, path, "unknown output type \"%s\" (known: file, rtmp)", shown);
  }
  return TRUE;
}

/* Returns: (transfer full) (nullable): the output at @path */
static ReelOutputSpec *
parse_output (JsonNode *node, const char *path, GError **error)
{
  static const char *const file_members[] = { "type", "format", NULL };
  static const char *const rtmp_members[] = { "type", "url", NULL };
  JsonObject *obj = want_object (node, path, error);
  ReelOutputType type = REEL_OUTPUT_FILE;

  if (obj == NULL || !parse_output_type (obj, path, &type, error) ||
      !check_members (obj, path, type == REEL_OUTPUT_FILE ? file_members : rtmp_members, TRUE, error))
    return NULL;
  g_autoptr (ReelOutputSpec) spec = reel_output_spec_new (type);
  gboolean ok = type == REEL_OUTPUT_FILE ? parse_file_format (obj, path, &spec->format, error)
                                         : parse_rtmp_url (obj, path, &spec->url, error);
  return ok ? g_steal_pointer (&spec) : NULL;
}

/* An array of @min to MAX_OUTPUTS output objects, appended to @outputs. */
static gboolean
parse_output_list (JsonNode *node, const char *path, guint min, GPtrArray *outputs, GError **error)
{
  JsonArray *array = want_array (node, path, error);

  if (array == NULL)
    return FALSE;
  guint n = json_array_get_length (array);
  if (n < min || n > MAX_OUTPUTS)
    return min > 0 ? invalid (error, path, "must have %u to %d entries", min, MAX_OUTPUTS)
                   : invalid (error, path, "must have at most %d entries", MAX_OUTPUTS);
  for (guint i = 0; i < n; i++) {
    g_autofree char *item = path_index (path, i);
    ReelOutputSpec *output = parse_output (json_array_get_element (array, i), item, error);
    if (output == NULL)
      return FALSE;
    g_ptr_array_add (outputs, output);
  }
  return TRUE;
}

static gboolean
parse_recording_fields (JsonObject *body, const ReelRequestLimits *limits, ReelRecordingSpec *spec,
                        GError **error)
{
  JsonNode *layout = json_object_get_member (body, "layout");
  JsonNode *video = json_object_get_member (body, "video");
  gint64 max = (gint64) MIN (limits->max_duration_s, (guint64) G_MAXINT64);
  IntRule duration = { "max_duration_s", 1, max, FALSE };

  if (layout != NULL && !parse_layout (layout, "layout", &spec->layout, error))
    return FALSE;
  if (video != NULL && !parse_video (video, spec, error))
    return FALSE;
  JsonNode *outputs = need (body, "outputs", "outputs", error);
  if (outputs == NULL || !parse_output_list (outputs, "outputs", 1, spec->outputs, error))
    return FALSE;
  if (!optional_int (body, "", &duration, &max, error))
    return FALSE;
  spec->max_duration_s = (guint64) max;
  return TRUE;
}

/**
 * reel_request_parse_recording:
 * @root: a body from reel_request_parse_json()
 * @limits: bounds and defaults from the configuration
 *
 * Validates a POST /v1/recordings body; see the header and API.md for the rules.
 *
 * Returns: (transfer full) (nullable): the spec, or %NULL with REEL_ERROR_INVALID_FIELD,
 * REEL_ERROR_UNKNOWN_PROVIDER or REEL_ERROR_PROVIDER_UNAVAILABLE, whose message
 * starts with the offending field's path
 */
ReelRecordingSpec *
reel_request_parse_recording (JsonNode *root, const ReelRequestLimits *limits, GError **error)
{
  static const char *const known[] = { "room", "layout", "video", "outputs", "max_duration_s", NULL };
  g_return_val_if_fail (limits != NULL, NULL);
  JsonObject *body = want_object (root, "body", error);

  if (body == NULL || !check_members (body, "", known, FALSE, error))
    return NULL;
  g_autoptr (ReelRecordingSpec) spec = reel_recording_spec_new ();
  spec->layout = REEL_LAYOUT_GRID;
  spec->width = limits->default_width;
  spec->height = limits->default_height;
  spec->framerate = limits->default_framerate;
  spec->bitrate_kbps = limits->default_bitrate_kbps;
  spec->room = parse_room (body, limits, error);
  if (spec->room == NULL || !parse_recording_fields (body, limits, spec, error))
    return NULL;
  return g_steal_pointer (&spec);
}

/* ------------------------------------------------------------------------------------ */
/* PATCH                                                                                */
/* ------------------------------------------------------------------------------------ */

/* ^out_[0-9]{1,6}$ */
static gboolean
is_output_id (const char *id)
{
  if (!g_str_has_prefix (id, "out_"))
    return FALSE;
  gsize digits = strspn (id + 4, "0123456789");
  return digits >= 1 && digits <= 6 && id[4 + digits] == '\0';
}

static gboolean
parse_remove_list (JsonNode *node, const char *path, GPtrArray *ids, GError **error)
{
  JsonArray *array = want_array (node, path, error);

  if (array == NULL)
    return FALSE;
  guint n = json_array_get_length (array);
  if (n > MAX_OUTPUTS)
    return invalid (error, path, "must have at most %d entries", MAX_OUTPUTS);
  for (guint i = 0; i < n; i++) {
    g_autofree char *item = path_index (path, i);
    JsonNode *element = json_array_get_element (array, i);
    if (!is_value_of (element, G_TYPE_STRING) || !is_output_id (json_node_get_string (element)))
      return invalid (error, item, "expected an output id like \"out_1\"");
    const char *id = json_node_get_string (element);
    if (g_ptr_array_find_with_equal_func (ids, id, g_str_equal, NULL))
      return invalid (error, item, "duplicate output id \"%s\"", id); /* safe: matched the pattern */
    g_ptr_array_add (ids, g_strdup (id));
  }
  return TRUE;
}

static gboolean
parse_patch_outputs (JsonNode *node, ReelRecordingPatch *patch, GError **error)
{
  static const char *const known[] = { "add", "remove", NULL };
  JsonObject *obj = want_object (node, "outputs", error);

  if (obj == NULL || !check_members (obj, "outputs", known, FALSE, error))
    return FALSE;
  JsonNode *add = json_object_get_member (obj, "add");
  if (add != NULL && !parse_output_list (add, "outputs.add", 0, patch->add_outputs, error))
    return FALSE;
  JsonNode *ids = json_object_get_member (obj, "remove");
  return ids == NULL || parse_remove_list (ids, "outputs.remove", patch->remove_outputs, error);
}


/**
 * reel_request_parse_patch:
 * @root: a body from reel_request_parse_json()
 *
 * Validates a PATCH /v1/recordings/{id} body: optional "layout", optional "outputs"
 * with "add" (output objects) and "remove" (output ids), optional "tracks" (a
 * cloudflare room's whole new track list), at least one change.
 *
 * Returns: (transfer full) (nullable): the patch, or %NULL with REEL_ERROR_INVALID_FIELD
 */
ReelRecordingPatch *
reel_request_parse_patch (JsonNode *root, GError **error)
{
  static const char *const known[] = { "layout", "outputs", "tracks", NULL };
  JsonObject *body = want_object (root, "body", error);

  if (body == NULL || !check_members (body, "", known, FALSE, error))
    return NULL;
  g_autoptr (ReelRecordingPatch) patch = reel_recording_patch_new ();
  JsonNode *tracks = json_object_get_member (body, "tracks");
  if (tracks != NULL) {
    /* the participant limit of the config is checked where the patch is applied */
    patch->tracks = g_ptr_array_new_with_free_func ((GDestroyNotify) reel_remote_track_free);
    if (!parse_remote_tracks (tracks, "tracks", 0, MAX_PATCH_PARTICIPANTS, patch->tracks, error))
      return NULL;
  }
  JsonNode *layout = json_object_get_member (body, "layout");
  if (layout != NULL && !parse_layout (layout, "layout", &patch->layout, error))
    return NULL;
  patch->has_layout = layout != NULL;
  JsonNode *outputs = json_object_get_member (body, "outputs");
  if (outputs != NULL && !parse_patch_outputs (outputs, patch, error))
    return NULL;
  if (!patch->has_layout && patch->add_outputs->len == 0 && patch->remove_outputs->len == 0 &&
      patch->tracks == NULL) {
    invalid (error, "body", "nothing to change");
    return NULL;
  }
  return g_steal_pointer (&patch);
}

