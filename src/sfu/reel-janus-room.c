/* reel-janus-room.c: a Janus VideoRoom, followed over the HTTP API.
 *
 * Everything runs on the main context: HTTP through ReelCurl (libcurl multi on
 * the main loop). Every callback carries the connection generation it was made
 * for; answers that arrive for an older generation are ignored.
 */
#include "sfu/reel-janus-room.h"

#include "base/reel-curl.h"
#include "base/reel-error.h"
#include "base/reel-json.h"

#include <string.h>

#define REQUEST_TIMEOUT_MS 10000
#define POLL_TIMEOUT_MS 40000       /* Janus holds a long-poll for 30 s */
#define KEEPALIVE_S 25              /* Janus' session_timeout is 60 s by default */
#define RECONNECT_MAX_MS 5000
#define JANUS_ERROR_NO_SUCH_SESSION 458
#define VIDEOROOM_NO_SUCH_ROOM 426
#define VIDEOROOM_UNAUTHORIZED 433
#define VIDEOROOM_MISSING_ELEMENT 429
#define VIDEOROOM_INVALID_ELEMENT 430

typedef struct {
  char *feed;                 /* publisher id, as text */
  char *display;
  gboolean subscribed;        /* asked for on the subscriber handle */
} Publisher;

typedef struct {
  char *track_id;
  char *feed;
} Track;

struct _ReelJanusRoom {
  GObject parent_instance;
  ReelRoomSpec *spec;
  ReelCurl *curl;
  char *base;                 /* the API URL, no trailing slash */
  guint generation;           /* bumped on every (re)connection and resubscription */
  guint64 session_id;
  guint64 pub_handle;
  guint64 sub_handle;
  guint64 own_id;             /* our silent publisher's id: never a participant */
  char *session_key;          /* the WebRTC session the subscriber's offers are for */
  gboolean ever_joined;       /* once joined, failures reconnect instead of failing */
  gboolean sub_joined;        /* the subscriber handle has joined */
  gboolean sub_busy;          /* a subscriber request waits for its offer + answer */
  gboolean left;
  GHashTable *publishers;     /* feed → Publisher */
  GHashTable *tracks;         /* track id → Track */
  guint keepalive_timer;
  guint reconnect_timer;
  guint reconnect_attempts;
};

static void reel_janus_room_iface_init (ReelRoomInterface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (ReelJanusRoom, reel_janus_room, G_TYPE_OBJECT,
                               G_IMPLEMENT_INTERFACE (REEL_TYPE_ROOM, reel_janus_room_iface_init))

static void connect_janus (ReelJanusRoom *self);
static void subscriber_flush (ReelJanusRoom *self);

/* ---------- HTTP plumbing ---------- */

typedef void (*JanusReply) (ReelJanusRoom *self, JsonObject *reply, const GError *error);

typedef struct {
  ReelJanusRoom *self;        /* (owned) */
  guint generation;
  JanusReply reply;
} Call;

static void
call_free (gpointer p)
{
  Call *c = p;
  g_object_unref (c->self);
  g_free (c);
}

static char *
new_transaction (void)
{
  return g_strdup_printf ("%08x%08x", g_random_int (), g_random_int ());
}

/* Janus' own error ({"janus": "error"}) or a transport error, as a GError. */
static GError *
reply_error (guint status, GBytes *body, const GError *error, JsonObject **reply_out)
{
  if (error != NULL)
    return g_error_new (REEL_ERROR, REEL_ERROR_SFU_UNREACHABLE, "Janus does not answer: %s",
                        error->message);
  gsize len = 0;
  const char *data = body ? g_bytes_get_data (body, &len) : NULL;
  g_autoptr (JsonParser) parser = json_parser_new ();
  if (status != 200 || data == NULL || !json_parser_load_from_data (parser, data, len, NULL) ||
      !JSON_NODE_HOLDS_OBJECT (json_parser_get_root (parser)))
    return g_error_new (REEL_ERROR, REEL_ERROR_SFU_UNREACHABLE,
                        "not a Janus HTTP API (HTTP status %u)", status);
  JsonObject *reply = json_node_get_object (json_parser_get_root (parser));
  const char *janus = json_object_get_string_member_with_default (reply, "janus", "");
  if (g_str_equal (janus, "error")) {
    JsonObject *e = json_object_get_object_member (reply, "error");
    gint64 code = e ? json_object_get_int_member_with_default (e, "code", 0) : 0;
    const char *reason = e ? json_object_get_string_member_with_default (e, "reason", "") : "";
    return g_error_new (REEL_ERROR, code == JANUS_ERROR_NO_SUCH_SESSION ? REEL_ERROR_ROOM_FAILED
                                                                        : REEL_ERROR_SFU_UNREACHABLE,
                        "Janus error %" G_GINT64_FORMAT ": %s", code, reason);
  }
  *reply_out = json_object_ref (reply);
  return NULL;
}

static void
on_http_done (guint status, GBytes *body, const GError *error, gpointer user_data)
{
  Call *c = user_data;
  ReelJanusRoom *self = c->self;
  if (self->left || c->generation != self->generation || c->reply == NULL)
    return;
  JsonObject *reply = NULL;
  g_autoptr (GError) e = reply_error (status, body, error, &reply);
  c->reply (self, reply, e);
  if (reply)
    json_object_unref (reply);
}

static char *
path_url (ReelJanusRoom *self, guint64 handle)
{
  if (self->session_id == 0)
    return g_strdup (self->base);
  if (handle == 0)
    return g_strdup_printf ("%s/%" G_GUINT64_FORMAT, self->base, self->session_id);
  return g_strdup_printf ("%s/%" G_GUINT64_FORMAT "/%" G_GUINT64_FORMAT, self->base,
                          self->session_id, handle);
}

/* POSTs @request (its "transaction" is added) to the session or a handle. */
static void
janus_post (ReelJanusRoom *self, guint64 handle, JsonObject *request, JanusReply reply)
{
  g_autofree char *transaction = new_transaction ();
  json_object_set_string_member (request, "transaction", transaction);
  JsonNode *node = json_node_alloc ();
  json_node_init_object (node, request);
  g_autofree char *body = reel_json_to_string (node);
  json_node_unref (node);
  g_autofree char *url = path_url (self, handle);
  const char *const headers[] = { "Content-Type: application/json", NULL };
  Call *c = g_new0 (Call, 1);
  c->self = g_object_ref (self);
  c->generation = self->generation;
  c->reply = reply;
  reel_curl_post (self->curl, url, headers, body, strlen (body), REQUEST_TIMEOUT_MS,
                  on_http_done, c, call_free);
}

static JsonObject *
janus_request (const char *verb)
{
  JsonObject *o = json_object_new ();
  json_object_set_string_member (o, "janus", verb);
  return o;
}

/* {"janus": "message", "body": @body, "jsep"?: {type: answer, sdp}} */
static void
plugin_message (ReelJanusRoom *self, guint64 handle, JsonObject *body, const char *answer_sdp,
                JanusReply reply)
{
  JsonObject *msg = janus_request ("message");
  json_object_set_object_member (msg, "body", body);
  if (answer_sdp != NULL) {
    JsonObject *jsep = json_object_new ();
    json_object_set_string_member (jsep, "type", "answer");
    json_object_set_string_member (jsep, "sdp", answer_sdp);
    json_object_set_object_member (msg, "jsep", jsep);
  }
  janus_post (self, handle, msg, reply);
  json_object_unref (msg);
}

static JsonObject *
videoroom_body (ReelJanusRoom *self, const char *request)
{
  JsonObject *body = json_object_new ();
  json_object_set_string_member (body, "request", request);
  json_object_set_int_member (body, "room", (gint64) self->spec->room_number);
  if (self->spec->pin)
    json_object_set_string_member (body, "pin", self->spec->pin);
  return body;
}

/* ---------- failure and reconnection ---------- */

static void
fail_room (ReelJanusRoom *self, gint code, const char *message)
{
  if (self->left)
    return;
  g_autoptr (GError) error = g_error_new_literal (REEL_ERROR, code, message);
  self->left = TRUE;
  g_clear_handle_id (&self->keepalive_timer, g_source_remove);
  g_clear_handle_id (&self->reconnect_timer, g_source_remove);
  reel_room_emit_failed (REEL_ROOM (self), error);
}

static void
drop_tracks (ReelJanusRoom *self, const char *feed)
{
  GHashTableIter it;
  Track *t;
  g_autoptr (GPtrArray) gone = g_ptr_array_new_with_free_func (g_free);
  g_hash_table_iter_init (&it, self->tracks);
  while (g_hash_table_iter_next (&it, NULL, (gpointer *) &t))
    if (feed == NULL || g_str_equal (t->feed, feed))
      g_ptr_array_add (gone, g_strdup (t->track_id));
  for (guint i = 0; i < gone->len; i++) {
    const char *id = g_ptr_array_index (gone, i);
    Track *track = g_hash_table_lookup (self->tracks, id);
    g_autofree char *owner = g_strdup (track->feed);
    g_hash_table_remove (self->tracks, id);
    reel_room_emit_track_removed (REEL_ROOM (self), owner, id);
  }
}

static gboolean
reconnect_now (gpointer data)
{
  ReelJanusRoom *self = data;
  self->reconnect_timer = 0;
  connect_janus (self);
  return G_SOURCE_REMOVE;
}

/* The Janus session is gone (Janus restarted, network fault): keep the people,
 * drop the media, and connect again with backoff. */
static void
session_lost (ReelJanusRoom *self, const GError *error)
{
  if (self->left || self->reconnect_timer != 0)
    return;
  if (!self->ever_joined) {
    fail_room (self, error && error->domain == REEL_ERROR ? error->code : REEL_ERROR_SFU_UNREACHABLE,
               error ? error->message : "Janus does not answer");
    return;
  }
  g_message ("janus room %" G_GUINT64_FORMAT ": connection lost (%s); reconnecting",
             self->spec->room_number, error ? error->message : "no reason");
  self->generation++;
  g_clear_handle_id (&self->keepalive_timer, g_source_remove);
  drop_tracks (self, NULL);
  if (self->session_key != NULL) {
    g_autofree char *key = g_steal_pointer (&self->session_key);
    reel_room_emit_session_lost (REEL_ROOM (self), key);
  }
  self->session_id = self->pub_handle = self->sub_handle = 0;
  self->sub_joined = self->sub_busy = FALSE;
  guint delay = MIN (250u << MIN (self->reconnect_attempts, 5u), (guint) RECONNECT_MAX_MS);
  self->reconnect_attempts++;
  self->reconnect_timer = g_timeout_add (delay, reconnect_now, self);
}

/* ---------- participants and tracks ---------- */

static void
publisher_free (Publisher *p)
{
  g_free (p->feed);
  g_free (p->display);
  g_free (p);
}

static void
track_free (Track *t)
{
  g_free (t->track_id);
  g_free (t->feed);
  g_free (t);
}

static char *
feed_string (JsonNode *node)
{
  if (node == NULL || !JSON_NODE_HOLDS_VALUE (node))
    return NULL;
  if (json_node_get_value_type (node) == G_TYPE_INT64)
    return g_strdup_printf ("%" G_GINT64_FORMAT, json_node_get_int (node));
  if (json_node_get_value_type (node) == G_TYPE_STRING)
    return g_strdup (json_node_get_string (node));
  return NULL;
}

static void
publisher_left (ReelJanusRoom *self, const char *feed)
{
  if (!g_hash_table_contains (self->publishers, feed))
    return;
  drop_tracks (self, feed);
  g_hash_table_remove (self->publishers, feed);
  reel_room_emit_participant_left (REEL_ROOM (self), feed);
}

/* A "publishers" list: new people join; with @complete, anyone missing left. */
static void
update_publishers (ReelJanusRoom *self, JsonArray *list, gboolean complete)
{
  g_autoptr (GHashTable) seen = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  for (guint i = 0; list && i < json_array_get_length (list); i++) {
    JsonObject *p = json_array_get_object_element (list, i);
    g_autofree char *feed = p ? feed_string (json_object_get_member (p, "id")) : NULL;
    if (feed == NULL || g_strcmp0 (feed, "0") == 0)
      continue;
    g_hash_table_add (seen, g_strdup (feed));
    Publisher *pub = g_hash_table_lookup (self->publishers, feed);
    if (pub == NULL) {
      pub = g_new0 (Publisher, 1);
      pub->feed = g_strdup (feed);
      pub->display = g_strdup (json_object_get_string_member_with_default (p, "display", feed));
      g_hash_table_insert (self->publishers, pub->feed, pub);
      reel_room_emit_participant_joined (REEL_ROOM (self), pub->feed, pub->display);
    }
  }
  if (complete) {
    g_autoptr (GPtrArray) gone = g_ptr_array_new_with_free_func (g_free);
    GHashTableIter it;
    gpointer feed;
    g_hash_table_iter_init (&it, self->publishers);
    while (g_hash_table_iter_next (&it, &feed, NULL))
      if (!g_hash_table_contains (seen, feed))
        g_ptr_array_add (gone, g_strdup (feed));
    for (guint i = 0; i < gone->len; i++)
      publisher_left (self, g_ptr_array_index (gone, i));
  }
  subscriber_flush (self);
}

/* The subscriber's "streams" list: which mid carries which publisher's track. */
static void
update_streams (ReelJanusRoom *self, JsonArray *streams)
{
  g_autoptr (GHashTable) live = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  for (guint i = 0; streams && i < json_array_get_length (streams); i++) {
    JsonObject *s = json_array_get_object_element (streams, i);
    if (s == NULL)
      continue;
    const char *type = json_object_get_string_member_with_default (s, "type", "");
    const char *mid = json_object_get_string_member_with_default (s, "mid", NULL);
    g_autofree char *feed = feed_string (json_object_get_member (s, "feed_id"));
    const char *feed_mid = json_object_get_string_member_with_default (s, "feed_mid", mid);
    gboolean active = json_object_get_boolean_member_with_default (s, "active", TRUE);
    if (!active || mid == NULL || feed == NULL || feed_mid == NULL ||
        (!g_str_equal (type, "audio") && !g_str_equal (type, "video")) ||
        !g_hash_table_contains (self->publishers, feed))
      continue;
    char *track_id = g_strdup_printf ("%s-%s-g%u", feed, feed_mid, self->generation);
    g_hash_table_add (live, track_id);
    if (g_hash_table_contains (self->tracks, track_id))
      continue;
    Track *t = g_new0 (Track, 1);
    t->track_id = g_strdup (track_id);
    t->feed = g_strdup (feed);
    g_hash_table_insert (self->tracks, t->track_id, t);
    ReelTrackInfo info = { .kind = g_str_equal (type, "video") ? REEL_TRACK_VIDEO : REEL_TRACK_AUDIO,
                           .session_key = self->session_key, .mid = (char *) mid };
    reel_room_emit_track_added (REEL_ROOM (self), feed, track_id, &info);
  }
  g_autoptr (GPtrArray) gone = g_ptr_array_new_with_free_func (g_free);
  GHashTableIter it;
  Track *t;
  g_hash_table_iter_init (&it, self->tracks);
  while (g_hash_table_iter_next (&it, NULL, (gpointer *) &t))
    if (!g_hash_table_contains (live, t->track_id))
      g_ptr_array_add (gone, g_strdup (t->track_id));
  for (guint i = 0; i < gone->len; i++) {
    Track *old = g_hash_table_lookup (self->tracks, g_ptr_array_index (gone, i));
    g_autofree char *feed = g_strdup (old->feed);
    g_hash_table_remove (self->tracks, old->track_id);
    reel_room_emit_track_removed (REEL_ROOM (self), feed, g_ptr_array_index (gone, i));
  }
}

/* ---------- the subscriber handle ---------- */

static void
on_subscriber_request (ReelJanusRoom *self, JsonObject *reply, const GError *error)
{
  if (error != NULL)
    session_lost (self, error);
}

static JsonArray *
streams_for (ReelJanusRoom *self, gboolean only_new)
{
  JsonArray *streams = json_array_new ();
  GHashTableIter it;
  Publisher *p;
  g_hash_table_iter_init (&it, self->publishers);
  while (g_hash_table_iter_next (&it, NULL, (gpointer *) &p)) {
    if (only_new && p->subscribed)
      continue;
    p->subscribed = TRUE;
    JsonObject *s = json_object_new ();
    json_object_set_int_member (s, "feed", g_ascii_strtoll (p->feed, NULL, 10));
    json_array_add_object_element (streams, s);
  }
  return streams;
}

/* One subscriber request at a time: each one brings an offer to answer. */
static void
subscriber_flush (ReelJanusRoom *self)
{
  if (self->left || self->sub_handle == 0 || self->sub_busy)
    return;
  gboolean join = !self->sub_joined;
  JsonArray *streams = streams_for (self, !join);
  if (json_array_get_length (streams) == 0) {
    json_array_unref (streams);
    return;
  }
  JsonObject *body = videoroom_body (self, join ? "join" : "subscribe");
  if (join) {
    json_object_set_string_member (body, "ptype", "subscriber");
    json_object_set_boolean_member (body, "use_msid", FALSE);
  } else {
    json_object_remove_member (body, "room");
    json_object_remove_member (body, "pin");
  }
  json_object_set_array_member (body, "streams", streams);
  self->sub_busy = TRUE;
  self->sub_joined = TRUE;
  plugin_message (self, self->sub_handle, body, NULL, on_subscriber_request);
}

static void
on_subscriber_attached (ReelJanusRoom *self, JsonObject *reply, const GError *error)
{
  if (error != NULL) {
    session_lost (self, error);
    return;
  }
  JsonObject *data = json_object_get_object_member (reply, "data");
  self->sub_handle = data ? (guint64) json_object_get_int_member_with_default (data, "id", 0) : 0;
  g_free (self->session_key);
  self->session_key = g_strdup_printf ("janus-%u", self->generation);
  subscriber_flush (self);
}

static void
attach_subscriber (ReelJanusRoom *self)
{
  JsonObject *attach = janus_request ("attach");
  json_object_set_string_member (attach, "plugin", "janus.plugin.videoroom");
  janus_post (self, 0, attach, on_subscriber_attached);
  json_object_unref (attach);
}

static void
on_answer_sent (ReelJanusRoom *self, JsonObject *reply, const GError *error)
{
  if (error != NULL) {
    session_lost (self, error);
    return;
  }
  self->sub_busy = FALSE;
  subscriber_flush (self);
}

static void
janus_answer (ReelRoom *room, const char *session_key, const char *sdp)
{
  ReelJanusRoom *self = REEL_JANUS_ROOM (room);
  if (self->left || g_strcmp0 (session_key, self->session_key) != 0 || self->sub_handle == 0)
    return;
  JsonObject *body = json_object_new ();
  json_object_set_string_member (body, "request", "start");
  plugin_message (self, self->sub_handle, body, sdp, on_answer_sent);
}

/* Our side of the WebRTC session failed: a fresh subscriber handle, same people. */
static void
janus_restart_session (ReelRoom *room, const char *session_key)
{
  ReelJanusRoom *self = REEL_JANUS_ROOM (room);
  if (self->left || g_strcmp0 (session_key, self->session_key) != 0)
    return;
  if (self->sub_handle != 0) {
    JsonObject *detach = janus_request ("detach");
    janus_post (self, self->sub_handle, detach, NULL);
    json_object_unref (detach);
  }
  self->generation++;
  drop_tracks (self, NULL);
  g_autofree char *key = g_steal_pointer (&self->session_key);
  reel_room_emit_session_lost (room, key);
  self->sub_handle = 0;
  self->sub_joined = self->sub_busy = FALSE;
  GHashTableIter it;
  Publisher *p;
  g_hash_table_iter_init (&it, self->publishers);
  while (g_hash_table_iter_next (&it, NULL, (gpointer *) &p))
    p->subscribed = FALSE;
  attach_subscriber (self);
}

/* ---------- events from the long-poll ---------- */

static void
on_publisher_event (ReelJanusRoom *self, JsonObject *data)
{
  const char *kind = json_object_get_string_member_with_default (data, "videoroom", "");
  gint64 code = json_object_get_int_member_with_default (data, "error_code", 0);
  if (code != 0) {
    const char *reason = json_object_get_string_member_with_default (data, "error", "error");
    if (code == VIDEOROOM_NO_SUCH_ROOM)
      fail_room (self, REEL_ERROR_ROOM_NOT_FOUND, "the Janus room does not exist");
    else if (code == VIDEOROOM_UNAUTHORIZED ||
             ((code == VIDEOROOM_MISSING_ELEMENT || code == VIDEOROOM_INVALID_ELEMENT) &&
              strstr (reason, "pin") != NULL))
      fail_room (self, REEL_ERROR_ROOM_UNAUTHORIZED, "Janus refused the room's pin (or its absence)");
    else
      fail_room (self, REEL_ERROR_ROOM_FAILED, reason);
    return;
  }
  if (g_str_equal (kind, "joined")) {
    self->own_id = (guint64) json_object_get_int_member_with_default (data, "id", 0);
    self->ever_joined = TRUE;
    self->reconnect_attempts = 0;
    JsonArray *list = json_object_get_array_member (data, "publishers");
    update_publishers (self, list, TRUE);
    attach_subscriber (self);
    return;
  }
  if (json_object_has_member (data, "publishers"))
    update_publishers (self, json_object_get_array_member (data, "publishers"), FALSE);
  const char *gone_keys[] = { "unpublished", "leaving", "kicked" };
  for (gsize i = 0; i < G_N_ELEMENTS (gone_keys); i++) {
    g_autofree char *feed = feed_string (json_object_get_member (data, gone_keys[i]));
    if (feed != NULL && !g_str_equal (feed, "ok"))
      publisher_left (self, feed);
  }
}

static void
on_subscriber_event (ReelJanusRoom *self, JsonObject *data, JsonObject *jsep)
{
  gint64 code = json_object_get_int_member_with_default (data, "error_code", 0);
  if (code != 0) {
    const char *reason = json_object_get_string_member_with_default (data, "error", "error");
    g_warning ("janus subscriber: %s", reason);
    self->sub_busy = FALSE;
    return;
  }
  if (json_object_has_member (data, "streams"))
    update_streams (self, json_object_get_array_member (data, "streams"));
  const char *sdp = jsep ? json_object_get_string_member_with_default (jsep, "sdp", NULL) : NULL;
  const char *type = jsep ? json_object_get_string_member_with_default (jsep, "type", "") : "";
  if (sdp != NULL && g_str_equal (type, "offer"))
    reel_room_emit_offer (REEL_ROOM (self), self->session_key, sdp);
  else
    self->sub_busy = FALSE;
}

static void
on_event (ReelJanusRoom *self, JsonObject *ev)
{
  const char *janus = json_object_get_string_member_with_default (ev, "janus", "");
  guint64 sender = (guint64) json_object_get_int_member_with_default (ev, "sender", 0);
  if (g_str_equal (janus, "event")) {
    JsonObject *pd = json_object_get_object_member (ev, "plugindata");
    JsonObject *data = pd ? json_object_get_object_member (pd, "data") : NULL;
    JsonObject *jsep = json_object_has_member (ev, "jsep") ? json_object_get_object_member (ev, "jsep") : NULL;
    if (data == NULL)
      return;
    if (sender == self->pub_handle)
      on_publisher_event (self, data);
    else if (sender == self->sub_handle)
      on_subscriber_event (self, data, jsep);
  } else if (g_str_equal (janus, "timeout")) {
    g_autoptr (GError) e = g_error_new (REEL_ERROR, REEL_ERROR_ROOM_FAILED, "the Janus session timed out");
    session_lost (self, e);
  } else if (g_str_equal (janus, "hangup") && sender == self->sub_handle && self->session_key) {
    janus_restart_session (REEL_ROOM (self), self->session_key);
  }
}

static void poll_events (ReelJanusRoom *self);

static void
on_poll_done (guint status, GBytes *body, const GError *error, gpointer user_data)
{
  Call *c = user_data;
  ReelJanusRoom *self = c->self;
  if (self->left || c->generation != self->generation)
    return;
  g_autoptr (GError) e = NULL;
  gsize len = 0;
  const char *data = body ? g_bytes_get_data (body, &len) : NULL;
  g_autoptr (JsonParser) parser = json_parser_new ();
  if (error != NULL || status != 200 || data == NULL ||
      !json_parser_load_from_data (parser, data, len, NULL)) {
    e = g_error_new (REEL_ERROR, REEL_ERROR_SFU_UNREACHABLE, "the Janus event poll failed: %s",
                     error ? error->message : "bad answer");
    session_lost (self, e);
    return;
  }
  JsonNode *root = json_parser_get_root (parser);
  if (JSON_NODE_HOLDS_OBJECT (root)) {
    JsonObject *o = json_node_get_object (root);
    if (g_str_equal (json_object_get_string_member_with_default (o, "janus", ""), "error")) {
      e = g_error_new (REEL_ERROR, REEL_ERROR_ROOM_FAILED, "the Janus session is gone");
      session_lost (self, e);
      return;
    }
    on_event (self, o);
  } else if (JSON_NODE_HOLDS_ARRAY (root)) {
    JsonArray *events = json_node_get_array (root);
    for (guint i = 0; i < json_array_get_length (events) && !self->left &&
                      c->generation == self->generation; i++) {
      JsonObject *ev = json_array_get_object_element (events, i);
      if (ev != NULL)
        on_event (self, ev);
    }
  }
  if (!self->left && c->generation == self->generation)
    poll_events (self);
}

static void
poll_events (ReelJanusRoom *self)
{
  g_autofree char *session = path_url (self, 0);
  g_autofree char *url = g_strdup_printf ("%s?maxev=10", session);
  Call *c = g_new0 (Call, 1);
  c->self = g_object_ref (self);
  c->generation = self->generation;
  reel_curl_get (self->curl, url, NULL, POLL_TIMEOUT_MS, on_poll_done, c, call_free);
}

/* ---------- connecting ---------- */

static void
on_keepalive (ReelJanusRoom *self, JsonObject *reply, const GError *error)
{
  if (error != NULL)
    session_lost (self, error);
}

static gboolean
keepalive_tick (gpointer data)
{
  ReelJanusRoom *self = data;
  JsonObject *ka = janus_request ("keepalive");
  janus_post (self, 0, ka, on_keepalive);
  json_object_unref (ka);
  return G_SOURCE_CONTINUE;
}

static void
on_join_sent (ReelJanusRoom *self, JsonObject *reply, const GError *error)
{
  if (error != NULL)
    session_lost (self, error);
}

static void
on_publisher_attached (ReelJanusRoom *self, JsonObject *reply, const GError *error)
{
  if (error != NULL) {
    session_lost (self, error);
    return;
  }
  JsonObject *data = json_object_get_object_member (reply, "data");
  self->pub_handle = data ? (guint64) json_object_get_int_member_with_default (data, "id", 0) : 0;
  /* A publisher that never publishes: the room's events reach us, and nobody
   * receives a stream from reel. */
  JsonObject *body = videoroom_body (self, "join");
  json_object_set_string_member (body, "ptype", "publisher");
  json_object_set_string_member (body, "display", "reel recorder");
  plugin_message (self, self->pub_handle, body, NULL, on_join_sent);
}

static void
on_session_created (ReelJanusRoom *self, JsonObject *reply, const GError *error)
{
  if (error != NULL) {
    session_lost (self, error);
    return;
  }
  JsonObject *data = json_object_get_object_member (reply, "data");
  self->session_id = data ? (guint64) json_object_get_int_member_with_default (data, "id", 0) : 0;
  if (self->session_id == 0) {
    g_autoptr (GError) e = g_error_new (REEL_ERROR, REEL_ERROR_SFU_UNREACHABLE, "not a Janus HTTP API");
    session_lost (self, e);
    return;
  }
  poll_events (self);
  self->keepalive_timer = g_timeout_add_seconds (KEEPALIVE_S, keepalive_tick, self);
  JsonObject *attach = janus_request ("attach");
  json_object_set_string_member (attach, "plugin", "janus.plugin.videoroom");
  janus_post (self, 0, attach, on_publisher_attached);
  json_object_unref (attach);
}

static void
connect_janus (ReelJanusRoom *self)
{
  if (self->left)
    return;
  self->session_id = 0;
  JsonObject *create = janus_request ("create");
  janus_post (self, 0, create, on_session_created);
  json_object_unref (create);
}

static void
janus_join (ReelRoom *room)
{
  connect_janus (REEL_JANUS_ROOM (room));
}

static void
janus_leave (ReelRoom *room)
{
  ReelJanusRoom *self = REEL_JANUS_ROOM (room);
  if (self->left)
    return;
  self->left = TRUE;
  g_clear_handle_id (&self->keepalive_timer, g_source_remove);
  g_clear_handle_id (&self->reconnect_timer, g_source_remove);
  if (self->session_id != 0) {
    /* Tell Janus at once rather than leaving a session to time out. */
    JsonObject *destroy = janus_request ("destroy");
    janus_post (self, 0, destroy, NULL);
    json_object_unref (destroy);
  }
}

static void
reel_janus_room_iface_init (ReelRoomInterface *iface)
{
  iface->join = janus_join;
  iface->leave = janus_leave;
  iface->answer = janus_answer;
  iface->restart_session = janus_restart_session;
}

/**
 * reel_janus_room_new:
 * Returns: (transfer full): the room
 */
ReelJanusRoom *
reel_janus_room_new (const ReelRoomSpec *spec)
{
  ReelJanusRoom *self = g_object_new (REEL_TYPE_JANUS_ROOM, NULL);
  self->spec = reel_room_spec_copy (spec);
  self->base = g_strdup (spec->url);
  gsize len = strlen (self->base);
  while (len > 0 && self->base[len - 1] == '/')
    self->base[--len] = '\0';
  return self;
}

static void
reel_janus_room_dispose (GObject *object)
{
  ReelJanusRoom *self = REEL_JANUS_ROOM (object);
  self->left = TRUE;
  g_clear_handle_id (&self->keepalive_timer, g_source_remove);
  g_clear_handle_id (&self->reconnect_timer, g_source_remove);
  g_clear_object (&self->curl);
  G_OBJECT_CLASS (reel_janus_room_parent_class)->dispose (object);
}

static void
reel_janus_room_finalize (GObject *object)
{
  ReelJanusRoom *self = REEL_JANUS_ROOM (object);
  g_hash_table_unref (self->publishers);
  g_hash_table_unref (self->tracks);
  reel_room_spec_free (self->spec);
  g_free (self->base);
  g_free (self->session_key);
  G_OBJECT_CLASS (reel_janus_room_parent_class)->finalize (object);
}

static void
reel_janus_room_init (ReelJanusRoom *self)
{
  self->curl = reel_curl_new ();
  self->publishers = g_hash_table_new_full (g_str_hash, g_str_equal, NULL, (GDestroyNotify) publisher_free);
  self->tracks = g_hash_table_new_full (g_str_hash, g_str_equal, NULL, (GDestroyNotify) track_free);
}

static void
reel_janus_room_class_init (ReelJanusRoomClass *klass)
{
  G_OBJECT_CLASS (klass)->dispose = reel_janus_room_dispose;
  G_OBJECT_CLASS (klass)->finalize = reel_janus_room_finalize;
}
