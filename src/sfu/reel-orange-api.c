/* reel-orange-api.c: Orange Meets room messages in and out, no I/O. */
#include "sfu/reel-orange-api.h"

#include "base/reel-json.h"

#include <json-glib/json-glib.h>
#include <string.h>

#define MAX_USERS 1024
#define MAX_PART_CHARS 128

void
reel_orange_track_ref_free (ReelOrangeTrackRef *ref)
{
  if (ref == NULL)
    return;
  g_free (ref->session_id);
  g_free (ref->track_name);
  g_free (ref);
}

static void
user_free (ReelOrangeUser *u)
{
  g_free (u->id);
  g_free (u->name);
  reel_orange_track_ref_free (u->audio);
  reel_orange_track_ref_free (u->video);
  reel_orange_track_ref_free (u->screenshare);
  g_free (u);
}

void
reel_orange_message_free (ReelOrangeMessage *message)
{
  if (message == NULL)
    return;
  g_free (message->meeting_id);
  g_ptr_array_unref (message->users);
  g_free (message->text);
  g_free (message);
}

static gboolean
printable (const char *p, gsize len, const char *only_extra)
{
  if (len < 1 || len > MAX_PART_CHARS)
    return FALSE;
  for (gsize i = 0; i < len; i++) {
    guchar c = (guchar) p[i];
    if (c <= 0x20 || c >= 0x7f)
      return FALSE;
    if (only_extra != NULL && !g_ascii_isalnum (c) && strchr (only_extra, c) == NULL)
      return FALSE;
  }
  return TRUE;
}

/**
 * reel_orange_track_ref_parse:
 * @text: (nullable): "<sessionId>/<trackName>"
 * Returns: (transfer full) (nullable): its parts, or %NULL if it is not one
 */
ReelOrangeTrackRef *
reel_orange_track_ref_parse (const char *text)
{
  const char *slash = text ? strchr (text, '/') : NULL;
  if (slash == NULL)
    return NULL;
  gsize session_len = (gsize) (slash - text);
  gsize name_len = strlen (slash + 1);
  /* the session id goes into URL paths (sessions/<id>): no dots, so never ".." */
  if (!printable (text, session_len, "-_") || !printable (slash + 1, name_len, NULL))
    return NULL;
  ReelOrangeTrackRef *ref = g_new0 (ReelOrangeTrackRef, 1);
  ref->session_id = g_strndup (text, session_len);
  ref->track_name = g_strdup (slash + 1);
  return ref;
}

static gboolean
bool_member (JsonObject *obj, const char *name, gboolean absent)
{
  JsonNode *node = json_object_get_member (obj, name);
  if (node == NULL || !JSON_NODE_HOLDS_VALUE (node) || json_node_get_value_type (node) != G_TYPE_BOOLEAN)
    return absent;
  return json_node_get_boolean (node);
}

static ReelOrangeTrackRef *
track_member (JsonObject *tracks, const char *name)
{
  g_autofree char *text = tracks ? reel_json_dup_string_member (tracks, name) : NULL;
  return reel_orange_track_ref_parse (text);
}

/* Returns: (transfer full) (nullable): the user, or %NULL without a usable id */
static ReelOrangeUser *
parse_user (JsonObject *o)
{
  g_autofree char *id = reel_json_dup_string_member (o, "id");
  if (id == NULL || id[0] == '\0' || strlen (id) > 256)
    return NULL;
  ReelOrangeUser *u = g_new0 (ReelOrangeUser, 1);
  u->id = g_steal_pointer (&id);
  u->name = reel_json_dup_string_member (o, "name");
  u->joined = bool_member (o, "joined", FALSE);
  JsonObject *tracks = reel_json_object_member (o, "tracks");
  u->audio = track_member (tracks, "audio");
  u->video = track_member (tracks, "video");
  u->screenshare = track_member (tracks, "screenshare");
  /* Orange leaves a flag out until it was set: absent means on */
  u->audio_enabled = tracks ? bool_member (tracks, "audioEnabled", TRUE) : TRUE;
  u->video_enabled = tracks ? bool_member (tracks, "videoEnabled", TRUE) : TRUE;
  u->screenshare_enabled = tracks ? bool_member (tracks, "screenShareEnabled", TRUE) : TRUE;
  return u;
}

static void
parse_room_state (ReelOrangeMessage *m, JsonObject *root)
{
  JsonObject *state = reel_json_object_member (root, "state");
  if (state == NULL) {
    m->type = REEL_ORANGE_MESSAGE_INVALID;
    return;
  }
  m->meeting_id = reel_json_dup_string_member (state, "meetingId");
  JsonObject *ai = reel_json_object_member (state, "ai");
  m->ai_enabled = ai != NULL && bool_member (ai, "enabled", FALSE);
  JsonNode *users = json_object_get_member (state, "users");
  if (users == NULL || !JSON_NODE_HOLDS_ARRAY (users)) {
    m->type = REEL_ORANGE_MESSAGE_INVALID;
    return;
  }
  JsonArray *array = json_node_get_array (users);
  guint n = MIN (json_array_get_length (array), (guint) MAX_USERS);
  for (guint i = 0; i < n; i++) {
    JsonNode *item = json_array_get_element (array, i);
    ReelOrangeUser *u = JSON_NODE_HOLDS_OBJECT (item) ? parse_user (json_node_get_object (item)) : NULL;
    if (u != NULL)
      g_ptr_array_add (m->users, u);
  }
}

/**
 * reel_orange_message_parse:
 * @text: (array length=length) (nullable): any bytes
 * Returns: (transfer full): the message
 */
ReelOrangeMessage *
reel_orange_message_parse (const char *text, gsize length)
{
  ReelOrangeMessage *m = g_new0 (ReelOrangeMessage, 1);
  m->users = g_ptr_array_new_with_free_func ((GDestroyNotify) user_free);
  g_autoptr (JsonObject) root = reel_json_parse_untrusted_object (text, length);
  g_autofree char *type = root ? reel_json_dup_string_member (root, "type") : NULL;
  if (type == NULL)
    return m;
  if (g_str_equal (type, "roomState")) {
    m->type = REEL_ORANGE_MESSAGE_ROOM_STATE;
    parse_room_state (m, root);
  } else if (g_str_equal (type, "error")) {
    m->type = REEL_ORANGE_MESSAGE_ERROR;
    m->text = reel_json_dup_string_member (root, "error");
  } else if (g_str_equal (type, "e2eeMlsMessage")) {
    m->type = REEL_ORANGE_MESSAGE_E2EE;
  } else if (g_str_equal (type, "userLeftNotification")) {
    m->type = REEL_ORANGE_MESSAGE_USER_LEFT;
    m->text = reel_json_dup_string_member (root, "id");
  } else {
    m->type = REEL_ORANGE_MESSAGE_OTHER;
  }
  return m;
}

static gboolean
counts (const ReelOrangeUser *u, const char *self_id)
{
  return u->joined && g_strcmp0 (u->id, self_id) != 0;
}

/**
 * reel_orange_joined_count:
 * @self_id: (nullable): reel's own connection id
 */
guint
reel_orange_joined_count (const ReelOrangeMessage *state, const char *self_id)
{
  guint n = 0;
  for (guint i = 0; i < state->users->len; i++)
    n += counts (g_ptr_array_index (state->users, i), self_id) ? 1 : 0;
  return n;
}

static void
want (GPtrArray *out, GHashTable *seen, const ReelOrangeTrackRef *ref, const char *kind,
      const char *participant, const char *name)
{
  if (ref == NULL)
    return;
  char *key = g_strdup_printf ("%s/%s", ref->session_id, ref->track_name);
  if (!g_hash_table_add (seen, key))
    return;
  ReelRemoteTrack *t = reel_remote_track_new (ref->session_id, ref->track_name);
  t->kind = g_strdup (kind);
  t->participant = g_strdup (participant);
  t->participant_name = g_strdup (name);
  g_ptr_array_add (out, t);
}

/**
 * reel_orange_wanted_tracks:
 * @self_id: (nullable): reel's own connection id
 * Returns: (transfer full) (element-type ReelRemoteTrack): the tracks to pull
 */
GPtrArray *
reel_orange_wanted_tracks (const ReelOrangeMessage *state, const char *self_id)
{
  GPtrArray *out = g_ptr_array_new_with_free_func ((GDestroyNotify) reel_remote_track_free);
  g_autoptr (GHashTable) seen = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  for (guint i = 0; i < state->users->len; i++) {
    const ReelOrangeUser *u = g_ptr_array_index (state->users, i);
    if (!counts (u, self_id))
      continue;
    const char *name = u->name != NULL && u->name[0] != '\0' ? u->name : u->id;
    want (out, seen, u->video, "video", u->id, name);
    want (out, seen, u->audio, "audio", u->id, name);
    if (u->screenshare != NULL) {
      g_autofree char *screen_id = g_strdup_printf ("%s:screen", u->id);
      g_autofree char *screen_name = g_strdup_printf ("%s (screen)", name);
      want (out, seen, u->screenshare, "video", screen_id, screen_name);
    }
  }
  return out;
}

/**
 * reel_orange_loader_says_e2ee:
 * @body: (array length=length) (nullable): any bytes
 */
gboolean
reel_orange_loader_says_e2ee (const char *body, gsize length)
{
  g_autoptr (JsonObject) root = reel_json_parse_untrusted_object (body, length);
  return root != NULL && bool_member (root, "e2eeEnabled", FALSE);
}

static char *
type_only (const char *type)
{
  g_autoptr (JsonBuilder) b = json_builder_new ();
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "type");
  json_builder_add_string_value (b, type);
  json_builder_end_object (b);
  g_autoptr (JsonNode) root = json_builder_get_root (b);
  return reel_json_to_string (root);
}

char *
reel_orange_heartbeat_message (void)
{
  return type_only ("heartbeat");
}

char *
reel_orange_user_left_message (void)
{
  return type_only ("userLeft");
}

/**
 * reel_orange_user_update_message:
 * Returns: (transfer full): a userUpdate that the server stores as sent
 */
char *
reel_orange_user_update_message (const char *id, const char *name, gboolean joined)
{
  g_autoptr (JsonBuilder) b = json_builder_new ();
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "type");
  json_builder_add_string_value (b, "userUpdate");
  json_builder_set_member_name (b, "user");
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "id");
  json_builder_add_string_value (b, id);
  json_builder_set_member_name (b, "name");
  json_builder_add_string_value (b, name);
  json_builder_set_member_name (b, "joined");
  json_builder_add_boolean_value (b, joined);
  json_builder_set_member_name (b, "raisedHand");
  json_builder_add_boolean_value (b, FALSE);
  json_builder_set_member_name (b, "speaking");
  json_builder_add_boolean_value (b, FALSE);
  json_builder_set_member_name (b, "tracks");
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "audioUnavailable");
  json_builder_add_boolean_value (b, TRUE);
  json_builder_end_object (b);
  json_builder_end_object (b);
  json_builder_end_object (b);
  g_autoptr (JsonNode) root = json_builder_get_root (b);
  return reel_json_to_string (root);
}
