/* reel-track-router.c: room tracks → WebRTC sessions → graph inputs. */
#include "jobs/reel-track-router.h"

#include "base/reel-log.h"
#include "webrtc/reel-webrtc-session.h"

/* A track the room announced must bring media within this time, or its session
 * is subscribed again from scratch (a stuck renegotiation heals this way). */
#define TRACK_ARRIVAL_TIMEOUT_S 4

typedef struct {
  char *track_id;
  char *participant_id;
  char *session_key;
  char *mid;
  ReelMediaKind kind;
  gboolean linked;            /* its pad is an input of the graph */
  guint arrival_timer;
  ReelTrackRouter *router;    /* (unowned) */
} Route;

struct _ReelTrackRouter {
  GObject parent_instance;
  ReelMediaGraph *graph;      /* (owned) */
  ReelRoom *room;             /* (owned) */
  ReelConfig *config;
  char *recording_id;
  GHashTable *sessions;       /* session key → ReelWebrtcSession (owned ref) */
  GHashTable *routes;         /* track id → Route */
  GHashTable *pads;           /* "key\nmid" → GstPad: decoded pads waiting for their track */
  gboolean closed;
};

G_DEFINE_FINAL_TYPE (ReelTrackRouter, reel_track_router, G_TYPE_OBJECT)

enum { SIG_TRACK_LIVE, SIG_TRACK_GONE, N_SIGNALS };
static guint signals[N_SIGNALS];

static void
route_free (Route *r)
{
  g_clear_handle_id (&r->arrival_timer, g_source_remove);
  g_free (r->track_id);
  g_free (r->participant_id);
  g_free (r->session_key);
  g_free (r->mid);
  g_free (r);
}

static char *
pad_key (const char *session_key, const char *mid)
{
  return g_strdup_printf ("%s\n%s", session_key, mid);
}

static Route *
route_for (ReelTrackRouter *self, const char *session_key, const char *mid)
{
  GHashTableIter it;
  Route *r;
  g_hash_table_iter_init (&it, self->routes);
  while (g_hash_table_iter_next (&it, NULL, (gpointer *) &r))
    if (g_str_equal (r->session_key, session_key) && g_str_equal (r->mid, mid))
      return r;
  return NULL;
}

static const char *
kind_name (ReelMediaKind kind)
{
  return kind == REEL_MEDIA_KIND_VIDEO ? "video" : "audio";
}

/* Both halves are known: the room's track and the session's decoded pad. */
static void
link_route (ReelTrackRouter *self, Route *r, GstPad *pad)
{
  g_autoptr (GError) error = NULL;
  if (!reel_media_graph_add_track_pad (self->graph, r->participant_id, r->track_id, r->kind, pad,
                                       &error)) {
    reel_log_recording (G_LOG_LEVEL_WARNING, self->recording_id, "track %s not recorded: %s",
                        r->track_id, error->message);
    return;
  }
  r->linked = TRUE;
  g_clear_handle_id (&r->arrival_timer, g_source_remove);
  g_signal_emit (self, signals[SIG_TRACK_LIVE], 0, r->participant_id, r->track_id, kind_name (r->kind));
}

static void
on_track_pad (ReelWebrtcSession *session, const char *mid, const char *kind, GstPad *pad,
              gpointer user_data)
{
  ReelTrackRouter *self = user_data;
  const char *key = g_object_get_data (G_OBJECT (session), "reel-session-key");
  Route *r = route_for (self, key, mid);
  if (r != NULL && !r->linked) {
    link_route (self, r, pad);
    return;
  }
  g_hash_table_replace (self->pads, pad_key (key, mid), gst_object_ref (pad));
}

static void
on_answer (ReelWebrtcSession *session, const char *sdp, gpointer user_data)
{
  ReelTrackRouter *self = user_data;
  const char *key = g_object_get_data (G_OBJECT (session), "reel-session-key");
  reel_room_answer (self->room, key, sdp);
}

static void
on_session_failed (ReelWebrtcSession *session, GError *error, gpointer user_data)
{
  ReelTrackRouter *self = user_data;
  const char *key = g_object_get_data (G_OBJECT (session), "reel-session-key");
  reel_log_recording (G_LOG_LEVEL_WARNING, self->recording_id, "WebRTC session %s failed: %s; "
                      "subscribing again", key, error->message);
  g_autofree char *k = g_strdup (key);
  reel_room_restart_session (self->room, k);
}

static ReelWebrtcSession *
session_for (ReelTrackRouter *self, const char *key)
{
  ReelWebrtcSession *session = g_hash_table_lookup (self->sessions, key);
  if (session != NULL)
    return session;
  g_autofree char *name = g_strdup_printf ("webrtc-%s", key);
  session = reel_webrtc_session_new (name, self->config->pipelines_dir,
                                     (const char *const *) self->config->local_addresses,
                                     self->config->webrtc_latency_ms);
  gst_object_ref_sink (session);
  g_object_set_data_full (G_OBJECT (session), "reel-session-key", g_strdup (key), g_free);
  g_signal_connect_object (session, "track-pad", G_CALLBACK (on_track_pad), self, 0);
  g_signal_connect_object (session, "answer", G_CALLBACK (on_answer), self, 0);
  g_signal_connect_object (session, "failed", G_CALLBACK (on_session_failed), self, 0);
  g_hash_table_insert (self->sessions, g_strdup (key), session);
  reel_media_graph_add_element (self->graph, GST_ELEMENT (session));
  return session;
}

static void
on_offer (ReelRoom *room, const char *key, const char *sdp, gpointer user_data)
{
  ReelTrackRouter *self = user_data;
  if (self->closed)
    return;
  ReelWebrtcSession *session = session_for (self, key);
  g_autoptr (GError) error = NULL;
  if (!reel_webrtc_session_handle_offer (session, sdp, FALSE, &error)) {
    reel_log_recording (G_LOG_LEVEL_WARNING, self->recording_id, "%s", error->message);
    reel_room_restart_session (self->room, key);
  }
}

typedef struct {
  ReelMediaGraph *graph;      /* (owned) */
  GstElement *session;        /* (owned) */
} DropLater;

static void
drop_later_free (gpointer p)
{
  DropLater *d = p;
  g_object_unref (d->graph);
  gst_object_unref (d->session);
  g_free (d);
}

/* The room already removed the session's tracks; the pads they leave are
 * unlinked by now or soon, so the session goes a moment later. */
static gboolean
drop_session_later (gpointer data)
{
  DropLater *d = data;
  reel_media_graph_remove_element (d->graph, d->session);
  return G_SOURCE_REMOVE;
}

static void
drop_session (ReelTrackRouter *self, const char *key)
{
  ReelWebrtcSession *session = g_hash_table_lookup (self->sessions, key);
  if (session == NULL)
    return;
  GHashTableIter it;
  gpointer pk;
  g_autofree char *prefix = g_strdup_printf ("%s\n", key);
  g_hash_table_iter_init (&it, self->pads);
  while (g_hash_table_iter_next (&it, &pk, NULL))
    if (g_str_has_prefix (pk, prefix))
      g_hash_table_iter_remove (&it);
  DropLater *d = g_new0 (DropLater, 1);
  d->graph = g_object_ref (self->graph);
  d->session = gst_object_ref (GST_ELEMENT (session));
  g_timeout_add_full (G_PRIORITY_DEFAULT, 1000, drop_session_later, d, drop_later_free);
  g_hash_table_remove (self->sessions, key);
}

static void
on_session_lost (ReelRoom *room, const char *key, gpointer user_data)
{
  drop_session (user_data, key);
}

/* The graph has unlinked a track: its session may now let the mid go. */
static void
on_track_released (ReelMediaGraph *graph, const char *track_id, gpointer user_data)
{
  ReelTrackRouter *self = user_data;
  Route *r = g_hash_table_lookup (self->routes, track_id);
  if (r == NULL)
    return;
  ReelWebrtcSession *session = g_hash_table_lookup (self->sessions, r->session_key);
  if (session != NULL)
    reel_webrtc_session_release_track (session, r->mid);
  g_hash_table_remove (self->routes, track_id);
}

static void
on_element_failed (ReelMediaGraph *graph, GstElement *element, GError *error, gpointer user_data)
{
  ReelTrackRouter *self = user_data;
  const char *key = g_object_get_data (G_OBJECT (element), "reel-session-key");
  if (key != NULL && g_hash_table_lookup (self->sessions, key) == (gpointer) element) {
    g_autofree char *k = g_strdup (key);
    reel_room_restart_session (self->room, k);
  }
}

static gboolean
track_never_arrived (gpointer data)
{
  Route *r = data;
  ReelTrackRouter *self = r->router;
  r->arrival_timer = 0;
  if (self->closed || r->linked)
    return G_SOURCE_REMOVE;
  reel_log_recording (G_LOG_LEVEL_WARNING, self->recording_id,
                      "track %s brought no media in %u s: subscribing again", r->track_id,
                      TRACK_ARRIVAL_TIMEOUT_S);
  g_autofree char *key = g_strdup (r->session_key);
  reel_room_restart_session (self->room, key);
  return G_SOURCE_REMOVE;
}

/**
 * reel_track_router_add_track:
 * @info: the room's description, with session_key and mid
 */
void
reel_track_router_add_track (ReelTrackRouter *self, const char *participant_id,
                             const char *track_id, const ReelTrackInfo *info)
{
  if (self->closed || info->session_key == NULL || info->mid == NULL ||
      g_hash_table_contains (self->routes, track_id))
    return;
  Route *r = g_new0 (Route, 1);
  r->track_id = g_strdup (track_id);
  r->participant_id = g_strdup (participant_id);
  r->session_key = g_strdup (info->session_key);
  r->mid = g_strdup (info->mid);
  r->kind = info->kind == REEL_TRACK_VIDEO ? REEL_MEDIA_KIND_VIDEO : REEL_MEDIA_KIND_AUDIO;
  r->router = self;
  r->arrival_timer = g_timeout_add_seconds (TRACK_ARRIVAL_TIMEOUT_S, track_never_arrived, r);
  g_hash_table_insert (self->routes, r->track_id, r);
  g_autofree char *pk = pad_key (r->session_key, r->mid);
  GstPad *pad = g_hash_table_lookup (self->pads, pk);
  if (pad != NULL) {
    g_autoptr (GstPad) owned = gst_object_ref (pad);
    g_hash_table_remove (self->pads, pk);
    link_route (self, r, owned);
  }
}

/**
 * reel_track_router_remove_track:
 * @track_id: a track added before
 */
void
reel_track_router_remove_track (ReelTrackRouter *self, const char *track_id)
{
  Route *r = g_hash_table_lookup (self->routes, track_id);
  if (r == NULL)
    return;
  g_autofree char *participant = g_strdup (r->participant_id);
  if (r->linked) {
    /* The route goes when the graph says the pad is unlinked. */
    reel_media_graph_remove_track (self->graph, track_id);
    r->linked = FALSE;
  } else {
    g_hash_table_remove (self->routes, track_id);
  }
  g_signal_emit (self, signals[SIG_TRACK_GONE], 0, participant, track_id);
}

/**
 * reel_track_router_close:
 * @self: the router
 */
void
reel_track_router_close (ReelTrackRouter *self)
{
  self->closed = TRUE;
  g_hash_table_remove_all (self->pads);
  GHashTableIter it;
  Route *r;
  g_hash_table_iter_init (&it, self->routes);
  while (g_hash_table_iter_next (&it, NULL, (gpointer *) &r))
    g_clear_handle_id (&r->arrival_timer, g_source_remove);
}

/**
 * reel_track_router_new:
 * Returns: (transfer full): the router
 */
ReelTrackRouter *
reel_track_router_new (ReelMediaGraph *graph, ReelRoom *room, ReelConfig *config,
                       const char *recording_id)
{
  ReelTrackRouter *self = g_object_new (REEL_TYPE_TRACK_ROUTER, NULL);
  self->graph = g_object_ref (graph);
  self->room = g_object_ref (room);
  self->config = reel_config_ref (config);
  self->recording_id = g_strdup (recording_id);
  g_signal_connect_object (room, "offer", G_CALLBACK (on_offer), self, 0);
  g_signal_connect_object (room, "session-lost", G_CALLBACK (on_session_lost), self, 0);
  g_signal_connect_object (graph, "track-released", G_CALLBACK (on_track_released), self, 0);
  g_signal_connect_object (graph, "element-failed", G_CALLBACK (on_element_failed), self, 0);
  return self;
}

static void
reel_track_router_finalize (GObject *object)
{
  ReelTrackRouter *self = REEL_TRACK_ROUTER (object);
  g_hash_table_unref (self->pads);
  g_hash_table_unref (self->routes);
  g_hash_table_unref (self->sessions);
  g_object_unref (self->graph);
  g_object_unref (self->room);
  reel_config_unref (self->config);
  g_free (self->recording_id);
  G_OBJECT_CLASS (reel_track_router_parent_class)->finalize (object);
}

static void
reel_track_router_init (ReelTrackRouter *self)
{
  self->sessions = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, gst_object_unref);
  self->routes = g_hash_table_new_full (g_str_hash, g_str_equal, NULL, (GDestroyNotify) route_free);
  self->pads = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, gst_object_unref);
}

static void
reel_track_router_class_init (ReelTrackRouterClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = reel_track_router_finalize;
  GType t = G_TYPE_FROM_CLASS (klass);
  signals[SIG_TRACK_LIVE] = g_signal_new ("track-live", t, G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                                          G_TYPE_NONE, 3, G_TYPE_STRING, G_TYPE_STRING, G_TYPE_STRING);
  signals[SIG_TRACK_GONE] = g_signal_new ("track-gone", t, G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                                          G_TYPE_NONE, 2, G_TYPE_STRING, G_TYPE_STRING);
}
