/* reel-cloudflare-api.c: Realtime API bodies in and out, no I/O. */
#include "sfu/reel-cloudflare-api.h"

#include "base/reel-json.h"

#include <json-glib/json-glib.h>
#include <string.h>

#define MAX_ITEMS 4096

static void
track_result_free (ReelCfTrackResult *t)
{
  g_free (t->session_id);
  g_free (t->track_name);
  g_free (t->mid);
  g_free (t->error_code);
  g_free (t->error_description);
  g_free (t->location);
  g_free (t->status);
  g_free (t);
}

void
reel_cf_response_free (ReelCfResponse *response)
{
  if (response == NULL)
    return;
  g_free (response->error_code);
  g_free (response->error_description);
  g_free (response->sdp_type);
  g_free (response->sdp);
  g_ptr_array_unref (response->tracks);
  g_free (response);
}

static ReelCfTrackResult *
parse_track (JsonObject *o)
{
  ReelCfTrackResult *t = g_new0 (ReelCfTrackResult, 1);
  t->session_id = reel_json_dup_string_member (o, "sessionId");
  t->track_name = reel_json_dup_string_member (o, "trackName");
  t->mid = reel_json_dup_string_member (o, "mid");
  t->error_code = reel_json_dup_string_member (o, "errorCode");
  t->error_description = reel_json_dup_string_member (o, "errorDescription");
  t->location = reel_json_dup_string_member (o, "location");
  t->status = reel_json_dup_string_member (o, "status");
  return t;
}

/**
 * reel_cf_response_parse:
 * @body: (array length=length) (nullable): the response body
 * Returns: (transfer full) (nullable): the response
 */
ReelCfResponse *
reel_cf_response_parse (const char *body, gsize length)
{
  g_autoptr (JsonObject) root = reel_json_parse_untrusted_object (body, length);
  if (root == NULL)
    return NULL;
  ReelCfResponse *r = g_new0 (ReelCfResponse, 1);
  r->tracks = g_ptr_array_new_with_free_func ((GDestroyNotify) track_result_free);
  r->error_code = reel_json_dup_string_member (root, "errorCode");
  r->error_description = reel_json_dup_string_member (root, "errorDescription");
  JsonNode *renegotiate = json_object_get_member (root, "requiresImmediateRenegotiation");
  r->requires_renegotiation = renegotiate != NULL && JSON_NODE_HOLDS_VALUE (renegotiate) &&
                              json_node_get_value_type (renegotiate) == G_TYPE_BOOLEAN &&
                              json_node_get_boolean (renegotiate);
  JsonObject *sd = reel_json_object_member (root, "sessionDescription");
  if (sd != NULL) {
    r->sdp_type = reel_json_dup_string_member (sd, "type");
    r->sdp = reel_json_dup_string_member (sd, "sdp");
  }
  JsonNode *tracks = json_object_get_member (root, "tracks");
  JsonArray *array = tracks != NULL && JSON_NODE_HOLDS_ARRAY (tracks) ? json_node_get_array (tracks) : NULL;
  for (guint i = 0; array != NULL && i < json_array_get_length (array) && i < MAX_ITEMS; i++) {
    JsonNode *item = json_array_get_element (array, i);
    if (JSON_NODE_HOLDS_OBJECT (item))
      g_ptr_array_add (r->tracks, parse_track (json_node_get_object (item)));
  }
  return r;
}

/**
 * reel_cf_parse_session_id:
 * @body: (array length=length) (nullable): a sessions/new answer
 * Returns: (transfer full) (nullable): its non-empty sessionId
 */
char *
reel_cf_parse_session_id (const char *body, gsize length)
{
  g_autoptr (JsonObject) root = reel_json_parse_untrusted_object (body, length);
  g_autofree char *id = root ? reel_json_dup_string_member (root, "sessionId") : NULL;
  if (id == NULL || id[0] == '\0' || strlen (id) > 256)
    return NULL;
  /* it goes into URL paths */
  for (const char *p = id; *p != '\0'; p++)
    if (!g_ascii_isalnum (*p) && *p != '-' && *p != '_' && *p != '.')
      return NULL;
  return g_steal_pointer (&id);
}

/**
 * reel_cf_response_publishes:
 * @response: a GET sessions/{id} answer
 * @track_name: a track name
 * Returns: %TRUE if that session publishes @track_name and it is not inactive
 */
gboolean
reel_cf_response_publishes (const ReelCfResponse *response, const char *track_name)
{
  for (guint i = 0; i < response->tracks->len; i++) {
    ReelCfTrackResult *t = g_ptr_array_index (response->tracks, i);
    if (g_strcmp0 (t->track_name, track_name) == 0 && g_strcmp0 (t->location, "remote") != 0 &&
        g_strcmp0 (t->status, "inactive") != 0)
      return TRUE;
  }
  return FALSE;
}

static gboolean
is_transient (const char *code)
{
  static const char *const transient[] = {
    "retryable_transient_error", "temporarily_unavailable_error", "transport_unavailable_error",
    "backend_error", "internal_error", NULL
  };
  return code != NULL && g_strv_contains (transient, code);
}

/**
 * reel_cf_classify_track:
 * @error_code: (nullable): an item's errorCode
 * Returns: what to do about that item
 */
ReelCfVerdict
reel_cf_classify_track (const char *error_code)
{
  if (error_code == NULL)
    return REEL_CF_OK;
  if (g_str_equal (error_code, "not_found_track_error") || g_str_equal (error_code, "empty_track_error"))
    return REEL_CF_TRACK_NOT_READY;
  if (is_transient (error_code))
    return REEL_CF_RETRY;
  return REEL_CF_FAILED;
}

/**
 * reel_cf_classify:
 * @status: the HTTP status, 0 when no answer came
 * @response: (nullable): the parsed body
 * Returns: what to do about the whole request
 */
ReelCfVerdict
reel_cf_classify (guint status, const ReelCfResponse *response)
{
  const char *code = response ? response->error_code : NULL;
  if (status == 0)
    return REEL_CF_RETRY;
  if (status == 401 || g_strcmp0 (code, "unauthorized") == 0)
    return REEL_CF_UNAUTHORIZED;
  if (status == 410)
    return REEL_CF_SESSION_GONE;
  /* 425: the session is not connected yet; 406: overlapping mutations; 429: rate */
  if (status == 425 || status == 406 || status == 429 || status >= 500 || is_transient (code))
    return REEL_CF_RETRY;
  if (status == 404 || g_strcmp0 (code, "not_found") == 0)
    return REEL_CF_NOT_FOUND;
  if (g_strcmp0 (code, "session_error") == 0)
    return REEL_CF_SESSION_GONE;
  if (status >= 200 && status < 300 && code == NULL)
    return REEL_CF_OK;
  return REEL_CF_FAILED;
}

/* Returns: the end of the line starting at @p (its \r\n or \n, or the NUL) */
static const char *
line_end (const char *p)
{
  const char *nl = strchr (p, '\n');
  const char *end = nl ? nl : p + strlen (p);
  if (end > p && end[-1] == '\r')
    end--;
  return end;
}

/**
 * reel_cf_sdp_mid_kind:
 * @sdp: an SDP text
 * @mid: a mid
 * Returns: (transfer none) (nullable): "audio", "video" or %NULL
 */
const char *
reel_cf_sdp_mid_kind (const char *sdp, const char *mid)
{
  const char *kind = NULL;
  gsize mid_len = strlen (mid);
  for (const char *p = sdp; p != NULL && *p != '\0';) {
    const char *end = line_end (p);
    gsize len = (gsize) (end - p);
    if (len >= 2 && p[0] == 'm' && p[1] == '=')
      kind = (len >= 7 && strncmp (p + 2, "audio", 5) == 0) ? "audio"
           : (len >= 7 && strncmp (p + 2, "video", 5) == 0) ? "video" : NULL;
    else if (len == 6 + mid_len && strncmp (p, "a=mid:", 6) == 0 && strncmp (p + 6, mid, mid_len) == 0)
      return kind;
    const char *nl = strchr (p, '\n');
    p = nl ? nl + 1 : NULL;
  }
  return NULL;
}

static char *
object_to_string (JsonObject *o)
{
  g_autoptr (JsonNode) node = json_node_alloc ();
  json_node_init_object (node, o);
  json_object_unref (o);
  return json_to_string (node, FALSE);
}

/**
 * reel_cf_tracks_new_body:
 * @session_ids: (array length=n): publishers' sessions
 * @track_names: (array length=n): their track names
 * @simulcast_rid: (nullable): the layer to prefer
 * Returns: (transfer full): {"tracks": [{location: remote, sessionId, trackName, simulcast?}]}
 */
char *
reel_cf_tracks_new_body (const char *const *session_ids, const char *const *track_names, guint n,
                         const char *simulcast_rid)
{
  JsonArray *tracks = json_array_sized_new (n);
  for (guint i = 0; i < n; i++) {
    JsonObject *t = json_object_new ();
    json_object_set_string_member (t, "location", "remote");
    json_object_set_string_member (t, "sessionId", session_ids[i]);
    json_object_set_string_member (t, "trackName", track_names[i]);
    if (simulcast_rid != NULL) {
      /* asciibetical: the lowest RID is the most wanted, and the fallback when the
       * preferred layer stops */
      JsonObject *s = json_object_new ();
      json_object_set_string_member (s, "preferredRid", simulcast_rid);
      json_object_set_string_member (s, "priorityOrdering", "asciibetical");
      json_object_set_string_member (s, "ridNotAvailable", "asciibetical");
      json_object_set_object_member (t, "simulcast", s);
    }
    json_array_add_object_element (tracks, t);
  }
  JsonObject *body = json_object_new ();
  json_object_set_array_member (body, "tracks", tracks);
  return object_to_string (body);
}

/**
 * reel_cf_renegotiate_body:
 * Returns: (transfer full): {"sessionDescription": {"type": "answer", "sdp": ...}}
 */
char *
reel_cf_renegotiate_body (const char *answer_sdp)
{
  JsonObject *sd = json_object_new ();
  json_object_set_string_member (sd, "type", "answer");
  json_object_set_string_member (sd, "sdp", answer_sdp);
  JsonObject *body = json_object_new ();
  json_object_set_object_member (body, "sessionDescription", sd);
  return object_to_string (body);
}

/**
 * reel_cf_close_body:
 * @mids: (array length=n): our mids to close
 * Returns: (transfer full): {"tracks": [{mid}], "force": true}
 */
char *
reel_cf_close_body (const char *const *mids, guint n)
{
  JsonArray *tracks = json_array_sized_new (n);
  for (guint i = 0; i < n; i++) {
    JsonObject *t = json_object_new ();
    json_object_set_string_member (t, "mid", mids[i]);
    json_array_add_object_element (tracks, t);
  }
  JsonObject *body = json_object_new ();
  json_object_set_array_member (body, "tracks", tracks);
  json_object_set_boolean_member (body, "force", TRUE);
  return object_to_string (body);
}
