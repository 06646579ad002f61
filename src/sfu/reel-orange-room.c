/* reel-orange-room.c: an Orange Meets room, followed over its WebSocket.
 *
 * Everything runs on the main context: libsoup for the identity, the loader data
 * and the room WebSocket; the pulls are a ReelCloudflareRoom's (one SFU session,
 * serialized mutations, retries, session replacement), whose signals this room
 * passes on as its own. The room state only ever says what to pull: each roomState
 * becomes the puller's whole track list, so joins, leaves, reconnects (new track
 * strings) and screen shares are all the same diff.
 *
 * Every async callback holds a reference and checks `left` first: leave() cancels
 * what is in flight, and nothing is emitted afterwards.
 */
#include "sfu/reel-orange-room.h"

#include "base/reel-error.h"
#include "sfu/reel-cloudflare-room.h"
#include "sfu/reel-orange-api.h"

#include <libsoup/soup.h>
#include <string.h>

#define HTTP_TIMEOUT_S 15
#define HEARTBEAT_S 5               /* Orange's browsers send one every 5 s; 15 s is the limit */
#define SILENCE_S 45                /* roomState comes every 15 s: a quiet socket is dead */
#define FIRST_STATE_S 5             /* a new socket must bring a valid roomState by then */
#define FIRST_TRIES 3               /* sockets lost before any roomState: the room fails */
#define RECONNECT_MIN_MS 250
#define RECONNECT_MAX_MS 5000
#define MAX_MESSAGE_BYTES (1024 * 1024)
#define GOODBYE_S 3                 /* how long a closing socket is kept to say userLeft */

struct _ReelOrangeRoom {
  GObject parent_instance;
  ReelRoomSpec *spec;
  char *base;                 /* the deployment, no trailing slash */
  char *label;                /* "orange <base>#<room>" for logs */
  char *name;                 /* reel's display name */
  char *conn_id;              /* our _pk: the id the room knows us by */
  guint empty_timeout_s;
  ReelCloudflareRoom *puller;
  SoupSession *soup;
  GCancellable *cancellable;
  char *cookie;               /* "__session=..." (an identity: never logged) */
  SoupWebsocketConnection *ws;
  guint heartbeat_timer;
  guint reconnect_timer;
  guint empty_timer;
  guint first_state_timer;
  guint tries;                /* sockets lost in a row */
  guint malformed;            /* malformed messages on the current socket */
  gint64 last_message;        /* monotonic µs */
  gboolean have_state;        /* a valid roomState arrived (ever) */
  gboolean socket_has_state;  /* ... on the current socket */
  gboolean failed;             /* "failed" was emitted: the runner stops and leaves */
  gboolean left;
};

static void reel_orange_room_iface_init (ReelRoomInterface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (ReelOrangeRoom, reel_orange_room, G_TYPE_OBJECT,
                               G_IMPLEMENT_INTERFACE (REEL_TYPE_ROOM, reel_orange_room_iface_init))

static void connect_socket (ReelOrangeRoom *self);
static void drop_socket (ReelOrangeRoom *self, gboolean say_goodbye);

/* ---------- failing and ending ---------- */

static void
stop_timers (ReelOrangeRoom *self)
{
  g_clear_handle_id (&self->heartbeat_timer, g_source_remove);
  g_clear_handle_id (&self->reconnect_timer, g_source_remove);
  g_clear_handle_id (&self->empty_timer, g_source_remove);
  g_clear_handle_id (&self->first_state_timer, g_source_remove);
}

/* Gives up: says goodbye to the room and reports @code once. */
static void
fail_room (ReelOrangeRoom *self, gint code, const char *message)
{
  if (self->left || self->failed)
    return;
  self->failed = TRUE;
  stop_timers (self); /* nothing more to decide: no reconnection, no "ended" */
  g_message ("%s: %s", self->label, message);
  g_autoptr (GError) error = g_error_new_literal (REEL_ERROR, code, message);
  reel_room_emit_failed (REEL_ROOM (self), error);
}

static gboolean
room_empty_for_long (gpointer data)
{
  ReelOrangeRoom *self = data;
  self->empty_timer = 0;
  g_autofree char *why = g_strdup_printf ("no one joined in the room for %u s",
                                          self->empty_timeout_s);
  g_message ("%s: %s: the meeting is over", self->label, why);
  reel_room_emit_ended (REEL_ROOM (self), why);
  return G_SOURCE_REMOVE;
}

/* ---------- the room state ---------- */

static void
apply_state (ReelOrangeRoom *self, const ReelOrangeMessage *state)
{
  if (!self->socket_has_state) {
    self->socket_has_state = TRUE;
    self->have_state = TRUE;
    self->tries = 0;
    g_clear_handle_id (&self->first_state_timer, g_source_remove);
  }
  g_autoptr (GPtrArray) wanted = reel_orange_wanted_tracks (state, self->conn_id);
  reel_cloudflare_room_set_tracks (self->puller, wanted);
  if (self->left)
    return; /* the puller may have failed the room */
  if (reel_orange_joined_count (state, self->conn_id) > 0)
    g_clear_handle_id (&self->empty_timer, g_source_remove);
  else if (self->empty_timer == 0)
    self->empty_timer = g_timeout_add_seconds (self->empty_timeout_s, room_empty_for_long, self);
}

static void
on_socket_message (SoupWebsocketConnection *ws, gint type, GBytes *message, gpointer data)
{
  ReelOrangeRoom *self = data;
  if (self->left || self->failed || ws != self->ws)
    return;
  self->last_message = g_get_monotonic_time ();
  gsize len = 0;
  const char *text = g_bytes_get_data (message, &len);
  g_autoptr (ReelOrangeMessage) m = reel_orange_message_parse (text, len);
  switch (m->type) {
  case REEL_ORANGE_MESSAGE_ROOM_STATE:
    apply_state (self, m);
    break;
  case REEL_ORANGE_MESSAGE_E2EE:
    fail_room (self, REEL_ERROR_E2EE_NOT_SUPPORTED,
               "the room encrypts its media end to end (MLS key exchange seen); "
               "reel cannot record it");
    break;
  case REEL_ORANGE_MESSAGE_INVALID:
    if (self->malformed++ < 3)
      g_message ("%s: a malformed room message (%" G_GSIZE_FORMAT " bytes) ignored", self->label,
                 len);
    break;
  case REEL_ORANGE_MESSAGE_ERROR:
  case REEL_ORANGE_MESSAGE_USER_LEFT: /* a hint: the roomState that follows decides */
  case REEL_ORANGE_MESSAGE_OTHER:
  default:
    break;
  }
}

/* ---------- the socket ---------- */

static void
send_text (ReelOrangeRoom *self, const char *text)
{
  if (self->ws != NULL && soup_websocket_connection_get_state (self->ws) == SOUP_WEBSOCKET_STATE_OPEN)
    soup_websocket_connection_send_text (self->ws, text);
}

static gboolean
reconnect_now (gpointer data)
{
  ReelOrangeRoom *self = data;
  self->reconnect_timer = 0;
  connect_socket (self);
  return G_SOURCE_REMOVE;
}

static void
schedule_reconnect (ReelOrangeRoom *self)
{
  if (self->left || self->reconnect_timer != 0)
    return;
  guint delay = MIN ((guint) RECONNECT_MIN_MS << MIN (self->tries, 5u), (guint) RECONNECT_MAX_MS);
  self->reconnect_timer = g_timeout_add (delay, reconnect_now, self);
}

/* The socket is gone (closed, failed, silent) before or after a roomState. */
static void
socket_lost (ReelOrangeRoom *self, gint code, const char *why)
{
  if (self->left || self->failed)
    return;
  gboolean had_state = self->socket_has_state;
  drop_socket (self, FALSE);
  self->tries++;
  /* malformed messages only, never a state: opening it again will not help */
  if (!self->have_state && (self->tries >= FIRST_TRIES || code == REEL_ERROR_ROOM_PROTOCOL)) {
    g_autofree char *m = g_strdup_printf ("the room WebSocket of %s brought no room state "
                                          "(%u tries; last: %s)", self->spec->room_name,
                                          self->tries, why);
    fail_room (self, code, m);
    return;
  }
  g_message ("%s: room WebSocket lost (%s)%s; opening it again", self->label, why,
             had_state ? ", recording on" : "");
  schedule_reconnect (self);
}

static gboolean
heartbeat (gpointer data)
{
  ReelOrangeRoom *self = data;
  if (g_get_monotonic_time () - self->last_message > (gint64) SILENCE_S * G_USEC_PER_SEC) {
    self->heartbeat_timer = 0;
    socket_lost (self, REEL_ERROR_ROOM_FAILED, "no message for 45 s");
    return G_SOURCE_REMOVE;
  }
  g_autofree char *text = reel_orange_heartbeat_message ();
  send_text (self, text);
  return G_SOURCE_CONTINUE;
}

static gboolean
first_state_late (gpointer data)
{
  ReelOrangeRoom *self = data;
  self->first_state_timer = 0;
  g_autofree char *why = g_strdup_printf ("no valid roomState within %d s (%u malformed "
                                          "messages)", FIRST_STATE_S, self->malformed);
  socket_lost (self, self->malformed > 0 ? REEL_ERROR_ROOM_PROTOCOL : REEL_ERROR_ROOM_FAILED, why);
  return G_SOURCE_REMOVE;
}

static void
on_socket_closed (SoupWebsocketConnection *ws, gpointer data)
{
  ReelOrangeRoom *self = data;
  if (self->left || ws != self->ws)
    return;
  gushort code = soup_websocket_connection_get_close_code (ws);
  g_autofree char *why = g_strdup_printf ("closed by the server, code %u", code);
  socket_lost (self, self->malformed > 0 ? REEL_ERROR_ROOM_PROTOCOL : REEL_ERROR_ROOM_FAILED, why);
}

static void
on_socket_error (SoupWebsocketConnection *ws, GError *error, gpointer data)
{
  ReelOrangeRoom *self = data;
  if (!self->left && ws == self->ws)
    g_message ("%s: room WebSocket: %s", self->label, error->message);
}

static gboolean
release_later (gpointer data)
{
  return G_SOURCE_REMOVE; /* the destroy notify drops the socket */
}

/* Lets go of the socket; @say_goodbye: send userLeft and close it politely. */
static void
drop_socket (ReelOrangeRoom *self, gboolean say_goodbye)
{
  g_clear_handle_id (&self->heartbeat_timer, g_source_remove);
  g_clear_handle_id (&self->first_state_timer, g_source_remove);
  self->socket_has_state = FALSE;
  if (self->ws == NULL)
    return;
  SoupWebsocketConnection *ws = g_steal_pointer (&self->ws);
  g_signal_handlers_disconnect_by_data (ws, self);
  if (soup_websocket_connection_get_state (ws) == SOUP_WEBSOCKET_STATE_OPEN) {
    if (say_goodbye) {
      g_autofree char *bye = reel_orange_user_left_message ();
      soup_websocket_connection_send_text (ws, bye);
    }
    soup_websocket_connection_close (ws, SOUP_WEBSOCKET_CLOSE_NORMAL, NULL);
  }
  /* kept a little while so that the close handshake (and userLeft) goes out */
  g_timeout_add_seconds_full (G_PRIORITY_DEFAULT, GOODBYE_S, release_later, ws, g_object_unref);
}

/* An async call's context: the room and the message (its status tells a refused
 * handshake from a network failure). */
typedef struct {
  ReelOrangeRoom *self;
  SoupMessage *msg;
} Pending;

static Pending *
pending_new (ReelOrangeRoom *self, SoupMessage *msg)
{
  Pending *p = g_new0 (Pending, 1);
  p->self = g_object_ref (self);
  p->msg = g_object_ref (msg);
  return p;
}

static void
pending_free (Pending *p)
{
  g_object_unref (p->self);
  g_object_unref (p->msg);
  g_free (p);
}
G_DEFINE_AUTOPTR_CLEANUP_FUNC (Pending, pending_free)

static void
on_socket_connected (GObject *source, GAsyncResult *result, gpointer data)
{
  g_autoptr (Pending) pending = data;
  ReelOrangeRoom *self = pending->self;
  SoupMessage *msg = pending->msg;
  g_autoptr (GError) error = NULL;
  g_autoptr (SoupWebsocketConnection) ws =
      soup_session_websocket_connect_finish (SOUP_SESSION (source), result, &error);
  if (self->left)
    return;
  if (ws == NULL) {
    guint status = msg ? soup_message_get_status (msg) : 0;
    if (status == SOUP_STATUS_UNAUTHORIZED || status == SOUP_STATUS_FORBIDDEN) {
      g_autofree char *m = g_strdup_printf ("the room WebSocket refused reel's identity "
                                            "(HTTP %u)", status);
      fail_room (self, REEL_ERROR_ROOM_UNAUTHORIZED, m);
      return;
    }
    g_autofree char *why = status != 0 ? g_strdup_printf ("HTTP %u", status)
                                       : g_strdup (error->message);
    socket_lost (self, status != 0 ? REEL_ERROR_ROOM_FAILED : REEL_ERROR_SFU_UNREACHABLE, why);
    return;
  }
  self->ws = g_steal_pointer (&ws);
  self->malformed = 0;
  self->last_message = g_get_monotonic_time ();
  soup_websocket_connection_set_max_incoming_payload_size (self->ws, MAX_MESSAGE_BYTES);
  g_signal_connect (self->ws, "message", G_CALLBACK (on_socket_message), self);
  g_signal_connect (self->ws, "closed", G_CALLBACK (on_socket_closed), self);
  g_signal_connect (self->ws, "error", G_CALLBACK (on_socket_error), self);
  self->heartbeat_timer = g_timeout_add_seconds (HEARTBEAT_S, heartbeat, self);
  self->first_state_timer = g_timeout_add_seconds (FIRST_STATE_S, first_state_late, self);
  g_autofree char *beat = reel_orange_heartbeat_message ();
  send_text (self, beat);
  if (self->spec->visible) {
    g_autofree char *update = reel_orange_user_update_message (self->conn_id, self->name, TRUE);
    send_text (self, update);
  }
}

static char *
socket_url (ReelOrangeRoom *self)
{
  g_autofree char *room = g_uri_escape_string (self->spec->room_name, NULL, FALSE);
  const char *rest = g_str_has_prefix (self->base, "https://") ? self->base + 8 : self->base + 7;
  return g_strdup_printf ("%s://%s/parties/rooms/%s?_pk=%s",
                          g_str_has_prefix (self->base, "https://") ? "wss" : "ws", rest, room,
                          self->conn_id);
}

static void
connect_socket (ReelOrangeRoom *self)
{
  if (self->left)
    return;
  g_autofree char *url = socket_url (self);
  g_autoptr (SoupMessage) msg = soup_message_new ("GET", url);
  if (msg == NULL) {
    fail_room (self, REEL_ERROR_INVALID_FIELD, "room.url: not usable for the room WebSocket");
    return;
  }
  soup_message_headers_append (soup_message_get_request_headers (msg), "Cookie", self->cookie);
  soup_session_websocket_connect_async (self->soup, msg, self->base, NULL, G_PRIORITY_DEFAULT,
                                        self->cancellable, on_socket_connected,
                                        pending_new (self, msg));
}

/* ---------- identity and loader data ---------- */

/* Returns: (transfer full) (nullable): "__session=<value>" from @msg's answer */
static char *
session_cookie (SoupMessage *msg)
{
  GSList *cookies = soup_cookies_from_response (msg);
  char *found = NULL;
  for (GSList *l = cookies; l != NULL && found == NULL; l = l->next)
    if (g_strcmp0 (soup_cookie_get_name (l->data), "__session") == 0)
      found = g_strdup_printf ("__session=%s", soup_cookie_get_value (l->data));
  g_slist_free_full (cookies, (GDestroyNotify) soup_cookie_free);
  return found;
}

static void
on_loader_data (GObject *source, GAsyncResult *result, gpointer data)
{
  g_autoptr (Pending) pending = data;
  ReelOrangeRoom *self = pending->self;
  g_autoptr (GError) error = NULL;
  g_autoptr (GBytes) body = soup_session_send_and_read_finish (SOUP_SESSION (source), result, &error);
  if (self->left)
    return;
  gsize len = 0;
  const char *text = body ? g_bytes_get_data (body, &len) : NULL;
  if (soup_message_get_status (pending->msg) == SOUP_STATUS_OK &&
      reel_orange_loader_says_e2ee (text, len)) {
    fail_room (self, REEL_ERROR_E2EE_NOT_SUPPORTED,
               "the deployment encrypts its rooms end to end (e2eeEnabled); reel cannot record "
               "them");
    return;
  }
  /* no loader data (another Remix mode, a proxy): the room's MLS traffic still tells */
  connect_socket (self);
}

/* Remix's loader data of the room page says whether the deployment uses E2EE. */
static void
read_loader_data (ReelOrangeRoom *self)
{
  g_autofree char *room = g_uri_escape_string (self->spec->room_name, NULL, FALSE);
  g_autofree char *url = g_strdup_printf ("%s/%s?_data=routes%%2F_room", self->base, room);
  g_autoptr (SoupMessage) msg = soup_message_new ("GET", url);
  if (msg == NULL) {
    connect_socket (self);
    return;
  }
  soup_message_add_flags (msg, SOUP_MESSAGE_NO_REDIRECT);
  soup_message_headers_append (soup_message_get_request_headers (msg), "Cookie", self->cookie);
  soup_session_send_and_read_async (self->soup, msg, G_PRIORITY_DEFAULT, self->cancellable,
                                    on_loader_data, pending_new (self, msg));
}

static void
on_identity (GObject *source, GAsyncResult *result, gpointer data)
{
  g_autoptr (Pending) pending = data;
  ReelOrangeRoom *self = pending->self;
  g_autoptr (GError) error = NULL;
  g_autoptr (GBytes) body = soup_session_send_and_read_finish (SOUP_SESSION (source), result, &error);
  if (self->left)
    return;
  guint status = soup_message_get_status (pending->msg);
  if (body == NULL) {
    g_autofree char *m = g_strdup_printf ("the Orange deployment does not answer (%s)",
                                          error->message);
    fail_room (self, REEL_ERROR_SFU_UNREACHABLE, m);
    return;
  }
  self->cookie = session_cookie (pending->msg);
  if (self->cookie == NULL) {
    gint code = status == SOUP_STATUS_UNAUTHORIZED || status == SOUP_STATUS_FORBIDDEN
                    ? REEL_ERROR_ROOM_UNAUTHORIZED : REEL_ERROR_SFU_UNREACHABLE;
    g_autofree char *m = g_strdup_printf ("POST /set-username gave no identity cookie (HTTP %u): "
                                          "not an Orange Meets deployment?", status);
    fail_room (self, code, m);
    return;
  }
  read_loader_data (self);
}

/* POST /set-username as the lobby's form does; the answer's __session cookie is
 * the identity the room WebSocket wants. */
static void
get_identity (ReelOrangeRoom *self)
{
  g_autofree char *url = g_strdup_printf ("%s/set-username", self->base);
  char *form = soup_form_encode ("username", self->name, NULL);
  g_autoptr (SoupMessage) msg = soup_message_new_from_encoded_form ("POST", url, form);
  if (msg == NULL) {
    fail_room (self, REEL_ERROR_INVALID_FIELD, "room.url: not a usable URL");
    return;
  }
  soup_message_add_flags (msg, SOUP_MESSAGE_NO_REDIRECT);
  soup_session_send_and_read_async (self->soup, msg, G_PRIORITY_DEFAULT, self->cancellable,
                                    on_identity, pending_new (self, msg));
}

/* ---------- the puller's signals, passed on ---------- */

/* The puller's signals are this room's: each is re-emitted as is (swapped: the
 * emitter gets this room first; the puller, last, is ignored). */
static void
connect_puller (ReelOrangeRoom *self)
{
  static const struct {
    const char *signal;
    GCallback emit;
  } relays[] = {
    { "participant-joined", G_CALLBACK (reel_room_emit_participant_joined) },
    { "participant-left", G_CALLBACK (reel_room_emit_participant_left) },
    { "track-added", G_CALLBACK (reel_room_emit_track_added) },
    { "track-removed", G_CALLBACK (reel_room_emit_track_removed) },
    { "track-state", G_CALLBACK (reel_room_emit_track_state) },
    { "offer", G_CALLBACK (reel_room_emit_offer) },
    { "session-lost", G_CALLBACK (reel_room_emit_session_lost) },
    { "failed", G_CALLBACK (reel_room_emit_failed) },
  };
  for (gsize i = 0; i < G_N_ELEMENTS (relays); i++)
    g_signal_connect_object (self->puller, relays[i].signal, relays[i].emit, self,
                             G_CONNECT_SWAPPED);
}

/* ---------- the room interface ---------- */

static void
orange_join (ReelRoom *room)
{
  ReelOrangeRoom *self = REEL_ORANGE_ROOM (room);
  if (self->left)
    return;
  g_message ("%s: joining as %s (%s)", self->label, self->conn_id,
             self->spec->visible ? "visible" : "hidden");
  get_identity (self);
}

static void
orange_leave (ReelRoom *room)
{
  ReelOrangeRoom *self = REEL_ORANGE_ROOM (room);
  if (self->left)
    return;
  stop_timers (self);
  drop_socket (self, TRUE);
  self->left = TRUE;
  g_cancellable_cancel (self->cancellable);
  reel_room_leave (REEL_ROOM (self->puller));
}

static void
orange_answer (ReelRoom *room, const char *session_key, const char *sdp)
{
  ReelOrangeRoom *self = REEL_ORANGE_ROOM (room);
  if (!self->left)
    reel_room_answer (REEL_ROOM (self->puller), session_key, sdp);
}

static void
orange_restart_session (ReelRoom *room, const char *session_key)
{
  ReelOrangeRoom *self = REEL_ORANGE_ROOM (room);
  if (!self->left)
    reel_room_restart_session (REEL_ROOM (self->puller), session_key);
}

static void
reel_orange_room_iface_init (ReelRoomInterface *iface)
{
  iface->join = orange_join;
  iface->leave = orange_leave;
  iface->answer = orange_answer;
  iface->restart_session = orange_restart_session;
}

/* ---------- construction ---------- */

static ReelCloudflareRoom *
make_puller (ReelOrangeRoom *self, const ReelOrangeOptions *options)
{
  g_autofree char *service = g_strdup_printf ("the /partytracks proxy of %s", self->base);
  if (options->app_id != NULL && options->app_secret != NULL) {
    g_autofree char *base = reel_cf_app_base (options->api_url ? options->api_url
                                                               : REEL_CLOUDFLARE_DEFAULT_API_URL,
                                              options->app_id);
    g_autofree char *credential = g_strdup_printf ("the secret of app %s", options->app_id);
    g_autofree char *scope = g_strdup_printf ("app %s", options->app_id);
    ReelCfEndpoint direct = { .base = base, .secret = options->app_secret, .label = self->label,
                              .service = "Cloudflare Realtime", .credential = credential,
                              .scope = scope, .simulcast_rid = options->simulcast_rid,
                              .probe = TRUE };
    return reel_cloudflare_room_new_for_endpoint (&direct);
  }
  g_autofree char *base = g_strdup_printf ("%s/partytracks", self->base);
  /* the proxy locks every session to its creator's cookie: publishers' sessions
   * cannot be read, so tracks not published yet are simply asked for again */
  ReelCfEndpoint proxy = { .base = base, .label = self->label, .service = service,
                           .credential = "reel's requests", .scope = "its Realtime app",
                           .simulcast_rid = options->simulcast_rid, .keep_cookies = TRUE,
                           .forbidden_fatal = TRUE };
  return reel_cloudflare_room_new_for_endpoint (&proxy);
}

/**
 * reel_orange_room_new:
 * @spec: an orange room (url, room_name)
 * @options: pulling and ending (copied)
 * Returns: (transfer full): the room
 */
ReelOrangeRoom *
reel_orange_room_new (const ReelRoomSpec *spec, const ReelOrangeOptions *options)
{
  ReelOrangeRoom *self = g_object_new (REEL_TYPE_ORANGE_ROOM, NULL);
  self->spec = reel_room_spec_copy (spec);
  g_autofree char *base = g_strdup (spec->url);
  gsize len = strlen (base);
  while (len > 0 && base[len - 1] == '/')
    base[--len] = '\0';
  self->base = g_steal_pointer (&base);
  self->label = g_strdup_printf ("orange %s#%s", self->base, spec->room_name);
  self->name = g_strdup (spec->display_name ? spec->display_name : REEL_ORANGE_DEFAULT_NAME);
  self->conn_id = g_uuid_string_random ();
  self->empty_timeout_s = spec->empty_timeout_s > 0 ? (guint) spec->empty_timeout_s
                                                    : MAX (options->empty_timeout_s, 1u);
  self->puller = make_puller (self, options);
  connect_puller (self);
  return self;
}

static void
reel_orange_room_dispose (GObject *object)
{
  ReelOrangeRoom *self = REEL_ORANGE_ROOM (object);
  if (!self->left)
    orange_leave (REEL_ROOM (self));
  g_clear_object (&self->puller);
  g_clear_object (&self->soup);
  G_OBJECT_CLASS (reel_orange_room_parent_class)->dispose (object);
}

static void
reel_orange_room_finalize (GObject *object)
{
  ReelOrangeRoom *self = REEL_ORANGE_ROOM (object);
  reel_room_spec_free (self->spec);
  g_object_unref (self->cancellable);
  g_free (self->base);
  g_free (self->label);
  g_free (self->name);
  g_free (self->conn_id);
  g_free (self->cookie);
  G_OBJECT_CLASS (reel_orange_room_parent_class)->finalize (object);
}

static void
reel_orange_room_init (ReelOrangeRoom *self)
{
  self->soup = soup_session_new_with_options ("timeout", HTTP_TIMEOUT_S, "idle-timeout", 60,
                                              "user-agent", "reel/0.1", NULL);
  self->cancellable = g_cancellable_new ();
}

static void
reel_orange_room_class_init (ReelOrangeRoomClass *klass)
{
  G_OBJECT_CLASS (klass)->dispose = reel_orange_room_dispose;
  G_OBJECT_CLASS (klass)->finalize = reel_orange_room_finalize;
}
