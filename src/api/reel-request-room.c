/* reel-request-room.c: the "room" member of a recording body, by provider:
 * synthetic (participants), janus, cloudflare (tracks, also what PATCH "tracks"
 * holds) and orange. The room copy kept for showing holds no secrets.
 */
#include "api/reel-request-private.h"

#include <string.h>

#define MAX_NAME_CHARS 64
#define MAX_TIME_S 86400.0
#define MIN_TONE_HZ 20.0
#define MAX_TONE_HZ 20000.0
#define MAX_CF_TRACKS 256
#define MAX_CF_ID_CHARS 128
#define CF_TRACK_NAME_EXTRA "-_.:@+={}~"

/* A display name: 1 to MAX_NAME_CHARS characters of UTF-8, no controls, no / or \.
 * An absent optional member leaves *@value as is. */
static gboolean
parse_label (JsonObject *obj, const char *parent, const char *member, gboolean required,
             char **value, GError **error)
{
  g_autofree char *path = reel_request_path_member (parent, member);
  JsonNode *node = json_object_get_member (obj, member);
  const char *text = NULL;

  if (node == NULL && !required)
    return TRUE;
  if (node == NULL)
    return reel_request_invalid (error, path, "missing required field");
  if (!reel_request_want_string (node, path, &text, error))
    return FALSE;
  if (!g_utf8_validate (text, -1, NULL))
    return reel_request_invalid (error, path, "must be valid UTF-8");
  glong chars = g_utf8_strlen (text, -1);
  if (chars < 1 || chars > MAX_NAME_CHARS)
    return reel_request_invalid (error, path, "must be 1 to %d characters", MAX_NAME_CHARS);
  for (const char *p = text; *p != '\0'; p = g_utf8_next_char (p))
    if (g_unichar_iscntrl (g_utf8_get_char (p)))
      return reel_request_invalid (error, path, "must not contain control characters");
  /* Names may one day name per-participant files: no path syntax in them. */
  if (strchr (text, '/') != NULL || strchr (text, '\\') != NULL)
    return reel_request_invalid (error, path, "must not contain / or \\");
  g_free (*value);
  *value = g_strdup (text);
  return TRUE;
}

/* ---------- synthetic ---------- */

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
  g_autofree char *path = reel_request_path_member (parent, "color");
  JsonNode *node = reel_request_need (obj, "color", path, error);

  if (node == NULL)
    return FALSE;
  if (!reel_request_is_value_of (node, G_TYPE_STRING) ||
      !is_hex_color (json_node_get_string (node)))
    return reel_request_invalid (error, path, "expected a string like \"#rrggbb\"");
  *rgb = (guint32) g_ascii_strtoull (json_node_get_string (node) + 1, NULL, 16);
  return TRUE;
}

static gboolean
parse_tone (JsonObject *obj, const char *parent, double *tone_hz, GError **error)
{
  g_autofree char *path = reel_request_path_member (parent, "tone_hz");
  JsonNode *node = reel_request_need (obj, "tone_hz", path, error);

  if (node == NULL || !reel_request_want_number (node, path, tone_hz, error))
    return FALSE;
  if (*tone_hz < MIN_TONE_HZ || *tone_hz > MAX_TONE_HZ)
    return reel_request_invalid (error, path, "must be a number from %g to %g", MIN_TONE_HZ,
                                 MAX_TONE_HZ);
  return TRUE;
}

/* Optional join_at_s in [0, 86400], optional leave_at_s in (join_at_s, 86400]. */
static gboolean
parse_presence (JsonObject *obj, const char *parent, ReelSyntheticParticipant *p, GError **error)
{
  JsonNode *join = json_object_get_member (obj, "join_at_s");
  JsonNode *leave = json_object_get_member (obj, "leave_at_s");

  if (join != NULL) {
    g_autofree char *path = reel_request_path_member (parent, "join_at_s");
    if (!reel_request_want_number (join, path, &p->join_at_s, error))
      return FALSE;
    if (p->join_at_s < 0 || p->join_at_s > MAX_TIME_S)
      return reel_request_invalid (error, path, "must be a number from 0 to %g", MAX_TIME_S);
  }
  if (leave != NULL) {
    g_autofree char *path = reel_request_path_member (parent, "leave_at_s");
    if (!reel_request_want_number (leave, path, &p->leave_at_s, error))
      return FALSE;
    if (p->leave_at_s <= p->join_at_s || p->leave_at_s > MAX_TIME_S)
      return reel_request_invalid (error, path,
                                   "must be a number greater than join_at_s (%g) and at most %g",
                                   p->join_at_s, MAX_TIME_S);
  }
  return TRUE;
}

/* Returns: (transfer full) (nullable): the participant at @path */
static ReelSyntheticParticipant *
parse_participant (JsonNode *node, const char *path, GError **error)
{
  static const char *const known[] = { "name", "color", "tone_hz", "join_at_s", "leave_at_s", NULL };
  JsonObject *obj = reel_request_want_object (node, path, error);

  if (obj == NULL || !reel_request_check_members (obj, path, known, FALSE, error))
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
  g_autofree char *path = reel_request_path_member (parent, "name");
  g_autofree char *shown = reel_request_echo (name);
  return reel_request_invalid (error, path, "duplicate name \"%s\"", shown);
}

static gboolean
parse_participants (JsonObject *room, guint max, GPtrArray *participants, GError **error)
{
  const char *path = "room.participants";
  JsonNode *node = reel_request_need (room, "participants", path, error);
  JsonArray *array = node != NULL ? reel_request_want_array (node, path, error) : NULL;

  if (array == NULL)
    return FALSE;
  guint n = json_array_get_length (array);
  if (n == 0 || n > max)
    return reel_request_invalid (error, path, "must have 1 to %u entries", max);
  g_autoptr (GHashTable) seen = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  for (guint i = 0; i < n; i++) {
    g_autofree char *item = reel_request_path_index (path, i);
    ReelSyntheticParticipant *p = parse_participant (json_array_get_element (array, i), item, error);
    if (p == NULL)
      return FALSE;
    g_ptr_array_add (participants, p);
    if (!check_unique_name (seen, p->name, item, error))
      return FALSE;
  }
  return TRUE;
}

/* ---------- janus ---------- */

/* An optional string secret of 1 to 256 printable ASCII characters. */
static gboolean
parse_secret (JsonObject *room, const char *name, char **value, GError **error)
{
  JsonNode *node = json_object_get_member (room, name);
  g_autofree char *path = reel_request_path_member ("room", name);
  const char *text = NULL;

  if (node == NULL)
    return TRUE;
  if (!reel_request_want_string (node, path, &text, error))
    return FALSE;
  gsize len = strlen (text);
  if (len < 1 || len > 256)
    return reel_request_invalid (error, path, "must be 1 to 256 characters");
  for (gsize i = 0; i < len; i++)
    if ((guchar) text[i] < 0x20 || (guchar) text[i] >= 0x7f)
      return reel_request_invalid (error, path, "must be printable ASCII");
  *value = g_strdup (text);
  return TRUE;
}

/* room.url: required, http(s) */
static gboolean
parse_room_url (JsonObject *room, char **url, GError **error)
{
  JsonNode *node = reel_request_need (room, "url", "room.url", error);
  const char *text = NULL;
  if (node == NULL || !reel_request_want_string (node, "room.url", &text, error) ||
      !reel_request_check_http_url (text, "room.url", error))
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
  if (!reel_request_check_members (room, "room", known, FALSE, error))
    return FALSE;
  if (!parse_room_url (room, &spec->url, error))
    return FALSE;
  JsonNode *number = reel_request_need (room, "room", "room.room", error);
  gint64 value = 0;
  if (number == NULL || !reel_request_want_int (number, "room.room", &value, error))
    return FALSE;
  if (value < 1)
    return reel_request_invalid (error, "room.room", "must be a positive integer");
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
    return reel_request_invalid (error, path, "must be 1 to %" G_GSIZE_FORMAT " characters", max);
  for (gsize i = 0; i < len; i++)
    if (!g_ascii_isalnum (text[i]) && strchr (extra, text[i]) == NULL)
      return reel_request_invalid (error, path, "may contain only letters, digits and %s", extra);
  return TRUE;
}

static gboolean
parse_identifier (JsonObject *obj, const char *parent, const char *member, gsize max,
                  const char *extra, char **value, GError **error)
{
  g_autofree char *path = reel_request_path_member (parent, member);
  JsonNode *node = reel_request_need (obj, member, path, error);
  const char *text = NULL;

  if (node == NULL || !reel_request_want_string (node, path, &text, error) ||
      !check_identifier (text, path, max, extra, error))
    return FALSE;
  *value = g_strdup (text);
  return TRUE;
}

static gboolean
parse_track_kind (JsonObject *obj, const char *parent, char **kind, GError **error)
{
  JsonNode *node = json_object_get_member (obj, "kind");
  g_autofree char *path = reel_request_path_member (parent, "kind");
  const char *text = NULL;

  if (node == NULL)
    return TRUE;
  if (!reel_request_want_string (node, path, &text, error))
    return FALSE;
  if (g_strcmp0 (text, "audio") != 0 && g_strcmp0 (text, "video") != 0) {
    g_autofree char *shown = reel_request_echo (text);
    return reel_request_invalid (error, path, "unknown kind \"%s\" (known: audio, video)", shown);
  }
  *kind = g_strdup (text);
  return TRUE;
}

/* Returns: (transfer full) (nullable): the track at @path */
static ReelRemoteTrack *
parse_remote_track (JsonNode *node, const char *path, GError **error)
{
  static const char *const known[] = { "session_id", "track_name", "kind", "participant", NULL };
  JsonObject *obj = reel_request_want_object (node, path, error);

  if (obj == NULL || !reel_request_check_members (obj, path, known, FALSE, error))
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
gboolean
reel_request_parse_remote_tracks (JsonNode *node, const char *path, guint min,
                                  guint max_participants, GPtrArray *tracks, GError **error)
{
  JsonArray *array = reel_request_want_array (node, path, error);

  if (array == NULL)
    return FALSE;
  guint n = json_array_get_length (array);
  if (n < min || n > MAX_CF_TRACKS)
    return reel_request_invalid (error, path, "must have %u to %d entries", min, MAX_CF_TRACKS);
  g_autoptr (GHashTable) seen = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_autoptr (GHashTable) people = g_hash_table_new (g_str_hash, g_str_equal);
  for (guint i = 0; i < n; i++) {
    g_autofree char *item = reel_request_path_index (path, i);
    ReelRemoteTrack *t = parse_remote_track (json_array_get_element (array, i), item, error);
    if (t == NULL)
      return FALSE;
    g_ptr_array_add (tracks, t);
    char *key = g_strdup_printf ("%s\n%s", t->session_id, t->track_name);
    gpointer first = NULL;
    if (g_hash_table_lookup_extended (seen, key, NULL, &first)) {
      g_free (key);
      return reel_request_invalid (error, item,
                                   "duplicate track (same session_id and track_name as %s[%u])",
                                   path, GPOINTER_TO_UINT (first));
    }
    g_hash_table_insert (seen, key, GUINT_TO_POINTER (i));
    g_hash_table_add (people, (gpointer) reel_remote_track_participant (t));
    if (g_hash_table_size (people) > max_participants)
      return reel_request_invalid (error, item, "more than %u participants", max_participants);
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
      g_autofree char *path = reel_request_path_member ("room", secrets[i]);
      return reel_request_invalid (error, path, "not accepted in a request: the app secret comes "
                                   "from reel's configuration ([cloudflare] app_secret)");
    }
  if (!reel_request_check_members (room, "room", known, FALSE, error) ||
      !parse_identifier (room, "room", "app_id", MAX_CF_ID_CHARS, "-_", &spec->app_id, error))
    return FALSE;
  JsonNode *url = json_object_get_member (room, "api_url");
  const char *text = REEL_CLOUDFLARE_DEFAULT_API_URL;
  if (url != NULL && (!reel_request_want_string (url, "room.api_url", &text, error) ||
                      !reel_request_check_http_url (text, "room.api_url", error)))
    return FALSE;
  spec->api_url = g_strdup (text);
  JsonNode *tracks = reel_request_need (room, "tracks", "room.tracks", error);
  if (tracks == NULL ||
      !reel_request_parse_remote_tracks (tracks, "room.tracks", 1, limits->max_participants,
                                         spec->tracks, error))
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
  if (!reel_request_is_value_of (node, G_TYPE_BOOLEAN))
    return reel_request_expected (error, path, "true or false", node);
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
  if (!reel_request_check_members (room, "room", known, FALSE, error))
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
    if (!reel_request_want_int (timeout, "room.empty_timeout_s", &seconds, error))
      return FALSE;
    if (seconds < 1 || seconds > 86400)
      return reel_request_invalid (error, "room.empty_timeout_s", "must be 1 to 86400");
    spec->empty_timeout_s = (int) seconds;
  }
  spec->public_json = json_node_copy (node); /* nothing secret in it */
  return TRUE;
}

/* ---------- the room object ---------- */

/* Succeeds only for providers this build implements. */
static gboolean
parse_provider (JsonObject *room, ReelProvider *provider, GError **error)
{
  const char *path = "room.provider";
  JsonNode *node = reel_request_need (room, "provider", path, error);
  const char *name = NULL;

  if (node == NULL || !reel_request_want_string (node, path, &name, error))
    return FALSE;
  g_autofree char *shown = reel_request_echo (name);
  if (!reel_provider_from_string (name, provider))
    return reel_request_fail (error, REEL_ERROR_UNKNOWN_PROVIDER, path, "unknown provider \"%s\" "
                              "(known: synthetic, janus, cloudflare, orange)", shown);
  return TRUE;
}

/* Returns: (transfer full) (nullable): the room of @body */
ReelRoomSpec *
reel_request_parse_room (JsonObject *body, const ReelRequestLimits *limits, GError **error)
{
  static const char *const known[] = { "provider", "participants", NULL };
  JsonNode *node = reel_request_need (body, "room", "room", error);
  JsonObject *room = node != NULL ? reel_request_want_object (node, "room", error) : NULL;
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
  if (!reel_request_check_members (room, "room", known, FALSE, error))
    return NULL;
  if (!parse_participants (room, limits->max_participants, spec->participants, error))
    return NULL;
  spec->public_json = json_node_copy (node); /* synthetic rooms hold no secrets */
  return g_steal_pointer (&spec);
}
