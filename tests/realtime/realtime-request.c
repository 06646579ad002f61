/* realtime-request.c: parses the Realtime API's request bodies (see the header). */
#include "realtime-request.h"

#include <string.h>

G_DEFINE_QUARK (rt-error-quark, rt_error)

static const struct {
  const char *name;
  guint status;
} error_table[RT_ERROR_N_CODES] = {
  [RT_ERROR_DECODING] = { "decoding_error", 400 },
  [RT_ERROR_INVALID_PARAMS] = { "invalid_params", 400 },
  [RT_ERROR_TOO_LARGE] = { "payload_too_large", 413 },
};

const char *
rt_error_code_name (gint code)
{
  if (code < 0 || code >= RT_ERROR_N_CODES)
    return "internal_error";
  return error_table[code].name;
}

guint
rt_error_http_status (gint code)
{
  if (code < 0 || code >= RT_ERROR_N_CODES)
    return 500;
  return error_table[code].status;
}

static void
rt_track_free (gpointer p)
{
  RtTrack *t = p;
  g_free (t->mid);
  g_free (t->session_id);
  g_free (t->track_name);
  g_free (t->kind);
  g_free (t->error_description);
  if (t->simulcast)
    json_node_unref (t->simulcast);
  g_free (t);
}

void
rt_request_free (RtRequest *request)
{
  if (request == NULL)
    return;
  g_free (request->sdp_type);
  g_free (request->sdp);
  g_ptr_array_unref (request->tracks);
  g_free (request);
}

gboolean
rt_name_is_valid (const char *s)
{
  if (s == NULL || s[0] == '\0' || strlen (s) > RT_MAX_NAME || !g_utf8_validate (s, -1, NULL))
    return FALSE;
  for (const char *p = s; *p; p++)
    if ((guchar) *p < 0x20 || *p == 0x7f)
      return FALSE;
  return TRUE;
}

/* A short, printable quote of user input for error messages. */
static char *
quote (const char *s)
{
  GString *out = g_string_new ("\"");
  guint n = 0;
  for (const char *p = s; *p && n < 48; p = g_utf8_next_char (p), n++) {
    gunichar c = g_utf8_get_char_validated (p, -1);
    if (c == (gunichar) -1 || c == (gunichar) -2)
      break;
    if (c < 0x20 || c == 0x7f || c == '"' || c == '\\')
      g_string_append_printf (out, "\\u%04x", c);
    else
      g_string_append_unichar (out, c);
  }
  if (*s && n >= 48)
    g_string_append (out, "...");
  g_string_append_c (out, '"');
  return g_string_free (out, FALSE);
}

/* json-glib's parse errors quote the input: keep them valid UTF-8 and printable. */
static char *
printable (const char *s)
{
  g_autofree char *valid = g_utf8_make_valid (s, -1);
  GString *out = g_string_new (NULL);
  for (const char *p = valid; *p && out->len < 200; p = g_utf8_next_char (p)) {
    gunichar c = g_utf8_get_char (p);
    if (c < 0x20 || c == 0x7f)
      g_string_append_c (out, '?');
    else
      g_string_append_unichar (out, c);
  }
  return g_string_free (out, FALSE);
}

/* ---------- fields ---------- */

typedef enum { FIELD_ABSENT, FIELD_OK, FIELD_BAD } FieldResult;

/* A string member: absent (or null), a string, or anything else (bad). */
static FieldResult
get_string (JsonObject *o, const char *name, char **out)
{
  JsonNode *n = json_object_get_member (o, name);
  if (n == NULL || JSON_NODE_HOLDS_NULL (n))
    return FIELD_ABSENT;
  if (!JSON_NODE_HOLDS_VALUE (n) || json_node_get_value_type (n) != G_TYPE_STRING)
    return FIELD_BAD;
  *out = g_strdup (json_node_get_string (n));
  return FIELD_OK;
}

static FieldResult
get_bool (JsonObject *o, const char *name, gboolean *out)
{
  JsonNode *n = json_object_get_member (o, name);
  if (n == NULL || JSON_NODE_HOLDS_NULL (n))
    return FIELD_ABSENT;
  if (!JSON_NODE_HOLDS_VALUE (n) || json_node_get_value_type (n) != G_TYPE_BOOLEAN)
    return FIELD_BAD;
  *out = json_node_get_boolean (n);
  return FIELD_OK;
}

static gboolean
parse_session_description (RtRequest *req, JsonObject *root, const char *want_type, GError **error)
{
  JsonNode *n = json_object_get_member (root, "sessionDescription");
  if (n == NULL || JSON_NODE_HOLDS_NULL (n))
    return TRUE;
  if (!JSON_NODE_HOLDS_OBJECT (n)) {
    g_set_error (error, RT_ERROR, RT_ERROR_INVALID_PARAMS, "sessionDescription: must be an object");
    return FALSE;
  }
  JsonObject *sd = json_node_get_object (n);
  g_autofree char *type = NULL;
  g_autofree char *sdp = NULL;
  if (get_string (sd, "type", &type) != FIELD_OK ||
      (!g_str_equal (type, "offer") && !g_str_equal (type, "answer"))) {
    g_set_error (error, RT_ERROR, RT_ERROR_INVALID_PARAMS,
                 "sessionDescription.type: must be \"offer\" or \"answer\"");
    return FALSE;
  }
  if (want_type != NULL && !g_str_equal (type, want_type)) {
    g_set_error (error, RT_ERROR, RT_ERROR_INVALID_PARAMS,
                 "sessionDescription.type: must be \"%s\" here", want_type);
    return FALSE;
  }
  if (get_string (sd, "sdp", &sdp) != FIELD_OK || sdp[0] == '\0') {
    g_set_error (error, RT_ERROR, RT_ERROR_INVALID_PARAMS, "sessionDescription.sdp: must be a non-empty string");
    return FALSE;
  }
  if (strlen (sdp) > RT_MAX_SDP) {
    g_set_error (error, RT_ERROR, RT_ERROR_TOO_LARGE, "sessionDescription.sdp: longer than %d bytes", RT_MAX_SDP);
    return FALSE;
  }
  if (!g_str_has_prefix (sdp, "v=0")) {
    g_set_error (error, RT_ERROR, RT_ERROR_INVALID_PARAMS, "sessionDescription.sdp: not an SDP (no v=0)");
    return FALSE;
  }
  req->sdp_type = g_steal_pointer (&type);
  req->sdp = g_steal_pointer (&sdp);
  return TRUE;
}

static void
track_error (RtTrack *t, const char *code, const char *format, ...) G_GNUC_PRINTF (3, 4);

static void
track_error (RtTrack *t, const char *code, const char *format, ...)
{
  if (t->error_code != NULL)
    return;
  va_list args;
  va_start (args, format);
  t->error_code = code;
  t->error_description = g_strdup_vprintf (format, args);
  va_end (args);
}

/* A name-like member (mid, trackName, sessionId): absent, valid, or an item error. */
static void
track_name_field (RtTrack *t, JsonObject *o, const char *name, char **out)
{
  FieldResult r = get_string (o, name, out);
  if (r == FIELD_BAD) {
    track_error (t, "invalid_params", "%s: must be a string", name);
  } else if (r == FIELD_OK && !rt_name_is_valid (*out)) {
    g_autofree char *q = quote (*out);
    track_error (t, "invalid_params", "%s: %s is not a valid name (1-%d bytes, no control characters)",
                 name, q, RT_MAX_NAME);
  }
}

static RtTrack *
parse_track (RtRequestKind kind, JsonNode *n, gboolean have_sdp)
{
  RtTrack *t = g_new0 (RtTrack, 1);
  if (!JSON_NODE_HOLDS_OBJECT (n)) {
    track_error (t, "invalid_params", "a track must be an object");
    return t;
  }
  JsonObject *o = json_node_get_object (n);
  track_name_field (t, o, "mid", &t->mid);
  if (kind == RT_REQUEST_TRACKS_CLOSE) {
    if (t->mid == NULL)
      track_error (t, "invalid_params", "mid: required");
    return t;
  }
  track_name_field (t, o, "trackName", &t->track_name);
  track_name_field (t, o, "sessionId", &t->session_id);
  g_autofree char *location = NULL;
  FieldResult r = get_string (o, "location", &location);
  if (r == FIELD_OK && g_str_equal (location, "local"))
    t->location = RT_LOCATION_LOCAL;
  else if (r == FIELD_OK && g_str_equal (location, "remote"))
    t->location = RT_LOCATION_REMOTE;
  else
    track_error (t, "invalid_params", "location: must be \"local\" or \"remote\"");
  r = get_string (o, "kind", &t->kind);
  if (r == FIELD_BAD || (r == FIELD_OK && !g_str_equal (t->kind, "audio") && !g_str_equal (t->kind, "video")))
    track_error (t, "invalid_params", "kind: must be \"audio\" or \"video\"");
  if (get_bool (o, "bidirectionalMediaStream", &t->bidirectional) == FIELD_BAD)
    track_error (t, "invalid_params", "bidirectionalMediaStream: must be a boolean");
  JsonNode *sim = json_object_get_member (o, "simulcast");
  if (sim != NULL && !JSON_NODE_HOLDS_NULL (sim)) {
    if (JSON_NODE_HOLDS_OBJECT (sim))
      t->simulcast = json_node_copy (sim);
    else
      track_error (t, "invalid_params", "simulcast: must be an object");
  }
  if (t->track_name == NULL)
    track_error (t, "invalid_params", "trackName: required");
  if (t->location == RT_LOCATION_REMOTE && t->session_id == NULL)
    track_error (t, "invalid_params", "sessionId: required for a remote track");
  if (t->location == RT_LOCATION_LOCAL && t->session_id != NULL)
    track_error (t, "invalid_params", "sessionId: only for remote tracks");
  if (kind == RT_REQUEST_TRACKS_UPDATE && t->mid == NULL)
    track_error (t, "invalid_params", "mid: required to update a track");
  if (kind == RT_REQUEST_TRACKS_NEW && t->location == RT_LOCATION_LOCAL && have_sdp && t->mid == NULL)
    track_error (t, "invalid_params", "mid: required for a local track pushed with an offer");
  return t;
}

static gboolean
parse_tracks (RtRequest *req, JsonObject *root, GError **error)
{
  JsonNode *n = json_object_get_member (root, "tracks");
  gboolean required = req->kind != RT_REQUEST_NEW_SESSION && req->kind != RT_REQUEST_RENEGOTIATE;
  gboolean auto_discover = req->kind == RT_REQUEST_TRACKS_NEW && req->auto_discover && req->sdp != NULL;
  if (n == NULL || JSON_NODE_HOLDS_NULL (n)) {
    if (required && !auto_discover) {
      g_set_error (error, RT_ERROR, RT_ERROR_INVALID_PARAMS, "tracks: required");
      return FALSE;
    }
    return TRUE;
  }
  if (!JSON_NODE_HOLDS_ARRAY (n)) {
    g_set_error (error, RT_ERROR, RT_ERROR_INVALID_PARAMS, "tracks: must be an array");
    return FALSE;
  }
  JsonArray *a = json_node_get_array (n);
  guint len = json_array_get_length (a);
  if (len > RT_MAX_TRACKS) {
    g_set_error (error, RT_ERROR, RT_ERROR_INVALID_PARAMS, "tracks: at most %d per request, not %u",
                 RT_MAX_TRACKS, len);
    return FALSE;
  }
  if (len == 0 && required && !auto_discover) {
    g_set_error (error, RT_ERROR, RT_ERROR_INVALID_PARAMS, "tracks: at least one track");
    return FALSE;
  }
  for (guint i = 0; i < len; i++)
    g_ptr_array_add (req->tracks, parse_track (req->kind, json_array_get_element (a, i), req->sdp != NULL));
  if (req->kind != RT_REQUEST_TRACKS_NEW)
    return TRUE;
  /* All local or all remote (among the items that say which). */
  for (guint i = 0; i < req->tracks->len; i++) {
    RtTrack *t = g_ptr_array_index (req->tracks, i);
    if (t->location == RT_LOCATION_NONE)
      continue;
    if (req->location == RT_LOCATION_NONE) {
      req->location = t->location;
    } else if (req->location != t->location) {
      g_set_error (error, RT_ERROR, RT_ERROR_INVALID_PARAMS,
                   "tracks: all local or all remote in one request");
      return FALSE;
    }
  }
  return TRUE;
}

RtRequest *
rt_request_parse (RtRequestKind kind, const char *data, gsize size, GError **error)
{
  if (size > RT_MAX_BODY) {
    g_set_error (error, RT_ERROR, RT_ERROR_TOO_LARGE, "body: larger than %d bytes", RT_MAX_BODY);
    return NULL;
  }
  g_autoptr (JsonParser) parser = json_parser_new_immutable ();
  gsize i = 0;
  while (i < size && g_ascii_isspace (data[i]))
    i++;
  if (i < size) {
    if (memchr (data, '\0', size) != NULL) {
      g_set_error (error, RT_ERROR, RT_ERROR_DECODING, "body: contains a NUL byte");
      return NULL;
    }
    g_autoptr (GError) local = NULL;
    if (!json_parser_load_from_data (parser, data, (gssize) size, &local)) {
      g_autofree char *why = printable (local->message);
      g_set_error (error, RT_ERROR, RT_ERROR_DECODING, "body: not JSON (%s)", why);
      return NULL;
    }
  } else if (!json_parser_load_from_data (parser, "{}", -1, NULL)) {
    g_set_error (error, RT_ERROR, RT_ERROR_DECODING, "body: not JSON");
    return NULL;
  }
  JsonNode *root = json_parser_get_root (parser);
  if (root == NULL || !JSON_NODE_HOLDS_OBJECT (root)) {
    g_set_error (error, RT_ERROR, RT_ERROR_DECODING, "body: must be a JSON object");
    return NULL;
  }
  JsonObject *o = json_node_get_object (root);
  g_autoptr (RtRequest) req = g_new0 (RtRequest, 1);
  req->kind = kind;
  req->tracks = g_ptr_array_new_with_free_func (rt_track_free);

  const char *want = NULL;
  switch (kind) {
  case RT_REQUEST_NEW_SESSION:
  case RT_REQUEST_TRACKS_NEW:
  case RT_REQUEST_TRACKS_UPDATE:
  case RT_REQUEST_TRACKS_CLOSE:
    want = "offer";
    break;
  case RT_REQUEST_RENEGOTIATE:
    want = "answer";
    break;
  }
  if (!parse_session_description (req, o, want, error))
    return NULL;
  if (kind == RT_REQUEST_RENEGOTIATE && req->sdp == NULL) {
    g_set_error (error, RT_ERROR, RT_ERROR_INVALID_PARAMS, "sessionDescription: required (the answer)");
    return NULL;
  }
  if (kind == RT_REQUEST_TRACKS_NEW && get_bool (o, "autoDiscover", &req->auto_discover) == FIELD_BAD) {
    g_set_error (error, RT_ERROR, RT_ERROR_INVALID_PARAMS, "autoDiscover: must be a boolean");
    return NULL;
  }
  if (kind == RT_REQUEST_TRACKS_CLOSE) {
    FieldResult r = get_bool (o, "force", &req->force);
    if (r != FIELD_OK) {
      g_set_error (error, RT_ERROR, RT_ERROR_INVALID_PARAMS, "force: required, a boolean");
      return NULL;
    }
    if (!req->force && req->sdp == NULL) {
      g_set_error (error, RT_ERROR, RT_ERROR_INVALID_PARAMS,
                   "sessionDescription: the endpoint's offer is required when force is false");
      return NULL;
    }
  }
  if (!parse_tracks (req, o, error))
    return NULL;
  return g_steal_pointer (&req);
}
