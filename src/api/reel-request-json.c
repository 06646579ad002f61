/* reel-request-json.c: stage 1 of request parsing, the strict JSON check.
 *
 * reel_request_parse_json() checks the raw text before json-glib sees it: no NUL
 * bytes, valid UTF-8, and strict RFC 8259 syntax with nesting bounded at MAX_DEPTH.
 * json-glib 1.6 alone accepts comments, single quotes, hex and leading-zero numbers
 * and text after the root value, silently wraps integers beyond 64 bits, cuts
 * strings at "\u0000", and recurses without a depth limit; the pre-scan rules all of
 * that out. After json-glib builds the tree, the tree is walked again for depth and
 * for duplicate member names (json-glib keeps the last one silently).
 */
#include "api/reel-request.h"

#include <string.h>

#include "base/reel-error.h"

#define MAX_DEPTH 32

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
