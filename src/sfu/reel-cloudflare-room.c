/* reel-cloudflare-room.c: Cloudflare Realtime, pulled track by track.
 *
 * Everything runs on the main context, HTTP through ReelCurl. The session's
 * mutations are serialized by one rule: pump() starts the next request only when
 * none is in flight (`busy`), and a tracks/new that brings an SFU offer keeps the
 * session busy until the answer was accepted by renegotiate (a second tracks/new
 * before that fails with HTTP 406). pump() reconciles against the current wish
 * list when it runs, so tracks added or removed meanwhile are simply picked up.
 * Every callback carries the session generation it was made for; answers for an
 * older session are dropped.
 *
 * A track the SFU does not have yet is not pulled again blindly (a tracks/new for
 * it may wait for its media for seconds, holding up every other mutation): its
 * publisher's session is read (GET, no mutation, in parallel) until it lists the
 * track, and only then pulled.
 */
#include "sfu/reel-cloudflare-room.h"

#include "base/reel-curl.h"
#include "base/reel-error.h"
#include "sfu/reel-cloudflare-api.h"

#include <string.h>

#define REQUEST_TIMEOUT_MS 10000
#define MAX_BATCH 64                /* tracks per tracks/new or tracks/close call */
#define RETRY_MIN_MS 250
#define RETRY_MAX_MS 2000           /* a track published late shows within about 2 s */
#define RECONNECT_MAX_MS 5000
#define ANSWER_TIMEOUT_S 20         /* the WebRTC session must answer an offer by then */
#define RENEGOTIATE_TRIES 3
#define SESSION_CHECK_S 5           /* our session is read this often: a session the SFU
                                     * dropped is noticed (ICE alone never says) */
#define MAX_RESPONSE_BYTES (4 * 1024 * 1024) /* an offer grows with every pulled track */

typedef enum {
  TRACK_WANTED,               /* to pull (at next_try) */
  TRACK_PULLING,              /* in a tracks/new in flight */
  TRACK_PULLED,               /* has a mid in the current session */
  TRACK_FAILED,               /* the SFU refused it for good */
} TrackState;

typedef struct {
  char *key;                  /* "session\ntrack name" */
  ReelRemoteTrack *spec;
  char *participant;
  char *shown_id;             /* "session/track name": its id while not live */
  TrackState state;
  gboolean removed;           /* off the list while its pull was in flight */
  char *mid;
  char *track_id;             /* while announced (track-added) */
  guint attempts;
  gint64 next_try;            /* monotonic µs */
  gboolean awaited;           /* the SFU said it is not published: pulled again only once
                               * its publisher's session lists it (probe) */
  gboolean probing;           /* a GET of its publisher's session is in flight */
} Track;

struct _ReelCloudflareRoom {
  GObject parent_instance;
  ReelRoomSpec *spec;
  char *auth_header;          /* "Authorization: Bearer ..." (secret: never logged) */
  char *base;                 /* <api_url>/apps/<app_id> */
  char *simulcast_rid;
  char *label;                /* "cloudflare app X": logs and messages */
  char *service;              /* who answers: "Cloudflare Realtime", "the /partytracks proxy" */
  char *credential;           /* what it may refuse: "the secret of app X" */
  char *scope;                /* what it may not know: "app X" */
  gboolean probe;             /* may read publishers' sessions (a session-locking proxy
                               * refuses that: it only lets us touch our own) */
  gboolean forbidden_fatal;   /* HTTP 403 is a refusal of our credential too */
  ReelCurl *curl;
  guint generation;           /* bumped for every new SFU session */
  char *session_id;           /* our SFU session */
  char *session_key;          /* the WebRTC session its offers are for */
  gboolean busy;              /* a request in flight, or an offer waiting for its answer */
  gboolean ever_connected;    /* once the API answered, failures reconnect instead */
  gboolean left;
  GPtrArray *tracks;          /* (element-type Track) in list order */
  GHashTable *by_key;         /* key → Track (unowned) */
  GHashTable *participants;   /* participant id → number of listed tracks */
  GPtrArray *closing;         /* mids to close in the current session */
  char *pending_answer;       /* a renegotiate body being retried */
  guint renegotiate_tries;
  guint pump_timer;
  guint answer_timer;
  guint check_timer;          /* reads our own session every SESSION_CHECK_S */
  gboolean checking;          /* that GET is in flight */
  guint reconnect_attempts;
  guint serial;
};

static void reel_cloudflare_room_iface_init (ReelRoomInterface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (ReelCloudflareRoom, reel_cloudflare_room, G_TYPE_OBJECT,
                               G_IMPLEMENT_INTERFACE (REEL_TYPE_ROOM, reel_cloudflare_room_iface_init))

static void pump (ReelCloudflareRoom *self);
static void session_lost (ReelCloudflareRoom *self, const char *why);

/* ---------- tracks ---------- */

static void
track_free (Track *t)
{
  reel_remote_track_free (t->spec);
  g_free (t->key);
  g_free (t->participant);
  g_free (t->shown_id);
  g_free (t->mid);
  g_free (t->track_id);
  g_free (t);
}

static char *
track_key (const ReelRemoteTrack *spec)
{
  return g_strdup_printf ("%s\n%s", spec->session_id, spec->track_name);
}

static void
emit_state (ReelCloudflareRoom *self, Track *t, const char *state, const char *code,
            const char *message)
{
  reel_room_emit_track_state (REEL_ROOM (self), t->participant, t->shown_id, t->spec->kind, state,
                              code, message);
}

static guint
backoff_ms (guint attempts)
{
  return MIN ((guint) RETRY_MIN_MS << MIN (attempts, 4u), (guint) RETRY_MAX_MS);
}

/* Back to the wish list, asked for again after a backoff. */
static void
track_retry_later (Track *t)
{
  t->state = TRACK_WANTED;
  t->next_try = g_get_monotonic_time () + (gint64) backoff_ms (t->attempts) * 1000;
  t->attempts++;
}

/* The track was announced: take it back (the router unlinks it from the graph). */
static void
track_unannounce (ReelCloudflareRoom *self, Track *t)
{
  if (t->track_id == NULL)
    return;
  g_autofree char *id = g_steal_pointer (&t->track_id);
  reel_room_emit_track_removed (REEL_ROOM (self), t->participant, id);
}

static void
participant_add (ReelCloudflareRoom *self, const char *id, const char *name)
{
  guint n = GPOINTER_TO_UINT (g_hash_table_lookup (self->participants, id));
  g_hash_table_insert (self->participants, g_strdup (id), GUINT_TO_POINTER (n + 1));
  if (n == 0)
    reel_room_emit_participant_joined (REEL_ROOM (self), id, name != NULL ? name : id);
}

static void
participant_drop (ReelCloudflareRoom *self, const char *id)
{
  guint n = GPOINTER_TO_UINT (g_hash_table_lookup (self->participants, id));
  if (n > 1) {
    g_hash_table_insert (self->participants, g_strdup (id), GUINT_TO_POINTER (n - 1));
    return;
  }
  g_hash_table_remove (self->participants, id);
  reel_room_emit_participant_left (REEL_ROOM (self), id);
}

static void
forget_track (ReelCloudflareRoom *self, Track *t)
{
  g_hash_table_remove (self->by_key, t->key);
  g_ptr_array_remove (self->tracks, t);
}

static Track *
add_track (ReelCloudflareRoom *self, const ReelRemoteTrack *spec)
{
  Track *t = g_new0 (Track, 1);
  t->spec = reel_remote_track_copy (spec);
  t->key = track_key (spec);
  t->participant = g_strdup (reel_remote_track_participant (spec));
  t->shown_id = g_strdup_printf ("%s/%s", spec->session_id, spec->track_name);
  t->state = TRACK_WANTED;
  g_ptr_array_add (self->tracks, t);
  g_hash_table_insert (self->by_key, t->key, t);
  participant_add (self, t->participant, spec->participant_name);
  emit_state (self, t, "pending", NULL, NULL);
  return t;
}

/* Off the list: gone from the picture now; its mid is closed in the SFU soon. */
static void
remove_track (ReelCloudflareRoom *self, Track *t)
{
  g_autofree char *participant = g_strdup (t->participant);
  if (t->state == TRACK_PULLED) {
    track_unannounce (self, t);
    g_ptr_array_add (self->closing, g_steal_pointer (&t->mid));
  } else {
    emit_state (self, t, NULL, NULL, NULL);
  }
  if (t->state == TRACK_PULLING) {
    /* its answer decides: a mid is closed at once, an error forgets it */
    t->removed = TRUE;
    g_hash_table_remove (self->by_key, t->key);
  } else {
    forget_track (self, t);
  }
  participant_drop (self, participant);
}

static gboolean
same_wish (const ReelRemoteTrack *a, const ReelRemoteTrack *b)
{
  return g_strcmp0 (a->kind, b->kind) == 0 && g_strcmp0 (a->participant, b->participant) == 0;
}

/**
 * reel_cloudflare_room_set_tracks:
 * @tracks: (element-type ReelRemoteTrack): the whole new list
 */
void
reel_cloudflare_room_set_tracks (ReelCloudflareRoom *self, const GPtrArray *tracks)
{
  g_autoptr (GHashTable) wanted = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  for (guint i = 0; i < tracks->len; i++) {
    const ReelRemoteTrack *spec = g_ptr_array_index ((GPtrArray *) tracks, i);
    g_hash_table_insert (wanted, track_key (spec), (gpointer) spec);
  }
  /* removals first: a participant moving to another name leaves, then joins */
  for (guint i = self->tracks->len; i > 0; i--) {
    Track *t = g_ptr_array_index (self->tracks, i - 1);
    const ReelRemoteTrack *spec = t->removed ? NULL : g_hash_table_lookup (wanted, t->key);
    if (!t->removed && (spec == NULL || !same_wish (spec, t->spec)))
      remove_track (self, t);
  }
  for (guint i = 0; i < tracks->len; i++) {
    const ReelRemoteTrack *spec = g_ptr_array_index ((GPtrArray *) tracks, i);
    g_autofree char *key = track_key (spec);
    if (!g_hash_table_contains (self->by_key, key))
      add_track (self, spec);
  }
  g_ptr_array_unref (self->spec->tracks);
  self->spec->tracks = reel_remote_tracks_copy (tracks);
  if (!self->left)
    pump (self);
}

/* ---------- HTTP plumbing ---------- */

typedef void (*CfReply) (ReelCloudflareRoom *self, guint status, ReelCfResponse *response,
                         GBytes *body, gpointer data);

typedef struct {
  ReelCloudflareRoom *self;   /* (owned) */
  guint generation;
  CfReply reply;
  gpointer data;
  GDestroyNotify destroy;
} Call;

static void
call_free (gpointer p)
{
  Call *c = p;
  if (c->destroy != NULL)
    c->destroy (c->data);
  g_object_unref (c->self);
  g_free (c);
}

static void
on_http_done (guint status, GBytes *body, const GError *error, gpointer user_data)
{
  Call *c = user_data;
  ReelCloudflareRoom *self = c->self;
  if (self->left || c->generation != self->generation || c->reply == NULL)
    return;
  if (error != NULL)
    g_message ("%s: %s", self->label, error->message);
  gsize len = 0;
  const char *data = body ? g_bytes_get_data (body, &len) : NULL;
  g_autoptr (ReelCfResponse) response = error == NULL ? reel_cf_response_parse (data, len) : NULL;
  c->reply (self, error != NULL ? 0 : status, response, body, c->data);
}

/* @method: "POST", "PUT" or "GET"; @path: under the app; @body: (nullable) JSON */
static void
api_call (ReelCloudflareRoom *self, const char *method, const char *path, const char *body,
          CfReply reply, gpointer data, GDestroyNotify destroy)
{
  g_autofree char *url = g_strdup_printf ("%s/%s", self->base, path);
  /* without a bearer (a proxy adds it), the list starts after it */
  const char *const headers[] = { self->auth_header, "Content-Type: application/json",
                                  "Accept: application/json", NULL };
  const char *const *sent = self->auth_header != NULL ? headers : headers + 1;
  Call *c = g_new0 (Call, 1);
  c->self = g_object_ref (self);
  c->generation = self->generation;
  c->reply = reply;
  c->data = data;
  c->destroy = destroy;
  if (g_str_equal (method, "GET")) {
    reel_curl_get (self->curl, url, sent, REQUEST_TIMEOUT_MS, on_http_done, c, call_free);
    return;
  }
  const char *text = body ? body : "";
  reel_curl_request (self->curl, method, url, sent, text, strlen (text), REQUEST_TIMEOUT_MS,
                     on_http_done, c, call_free);
}

static char *
session_path (ReelCloudflareRoom *self, const char *what)
{
  return g_strdup_printf ("sessions/%s/%s", self->session_id, what);
}

/* Returns: (transfer full): at most 200 bytes of the SFU's @text, printable ASCII */
static char *
sanitize (const char *text)
{
  char *copy = g_strndup (text ? text : "", 200);
  for (char *p = copy; *p != '\0'; p++)
    if ((guchar) *p < 0x20 || (guchar) *p >= 0x7f)
      *p = '?';
  return copy;
}

/* "HTTP 404 not_found: no such app" for messages (never the secret or a URL) */
static char *
describe_failure (guint status, const ReelCfResponse *response)
{
  if (status == 0)
    return g_strdup ("no answer");
  g_autofree char *code = sanitize (response && response->error_code ? response->error_code
                                                                      : "no error code");
  g_autofree char *text = sanitize (response ? response->error_description : NULL);
  return g_strdup_printf ("HTTP %u %s%s%s", status, code, text[0] ? ": " : "", text);
}

/* ---------- failure and reconnection ---------- */

static void
fail_room (ReelCloudflareRoom *self, gint code, const char *message)
{
  if (self->left)
    return;
  g_autoptr (GError) error = g_error_new_literal (REEL_ERROR, code, message);
  self->left = TRUE;
  g_clear_handle_id (&self->pump_timer, g_source_remove);
  g_clear_handle_id (&self->answer_timer, g_source_remove);
  g_clear_handle_id (&self->check_timer, g_source_remove);
  reel_room_emit_failed (REEL_ROOM (self), error);
}

/* Failures that end the recording whatever happened before. */
static gboolean
fail_if_fatal (ReelCloudflareRoom *self, ReelCfVerdict verdict, guint status,
               const ReelCfResponse *response)
{
  g_autofree char *why = describe_failure (status, response);
  g_autofree char *message = NULL;
  if (verdict == REEL_CF_UNAUTHORIZED || (status == 403 && self->forbidden_fatal)) {
    message = g_strdup_printf ("%s refused %s (%s)", self->service, self->credential, why);
    fail_room (self, REEL_ERROR_ROOM_UNAUTHORIZED, message);
    return TRUE;
  }
  return FALSE;
}

static gboolean
pump_later (gpointer data)
{
  ReelCloudflareRoom *self = data;
  self->pump_timer = 0;
  pump (self);
  return G_SOURCE_REMOVE;
}

static void
schedule_pump (ReelCloudflareRoom *self, guint delay_ms)
{
  g_clear_handle_id (&self->pump_timer, g_source_remove);
  self->pump_timer = g_timeout_add (delay_ms, pump_later, self);
}

/* The SFU session is gone or broken: drop its media, keep the people, and pull
 * every track again in a new session (after a backoff when this repeats). */
static void
session_lost (ReelCloudflareRoom *self, const char *why)
{
  if (self->left)
    return;
  g_message ("%s: session %s lost (%s); pulling every track again in a new one",
             self->label, self->session_id ? self->session_id : "(none)", why);
  self->generation++;
  self->checking = FALSE; /* its answer is dropped with the generation */
  g_clear_handle_id (&self->answer_timer, g_source_remove);
  g_clear_pointer (&self->pending_answer, g_free);
  g_ptr_array_set_size (self->closing, 0);
  for (guint i = self->tracks->len; i > 0; i--) {
    Track *t = g_ptr_array_index (self->tracks, i - 1);
    if (t->removed) {
      forget_track (self, t);
      continue;
    }
    track_unannounce (self, t);
    g_clear_pointer (&t->mid, g_free);
    t->probing = FALSE; /* its answer is dropped with the generation */
    if (t->state == TRACK_PULLED || t->state == TRACK_PULLING) {
      t->state = TRACK_WANTED;
      t->attempts = 0;
      t->next_try = 0;
      emit_state (self, t, "pending", NULL, NULL);
    }
  }
  if (self->session_key != NULL) {
    g_autofree char *key = g_steal_pointer (&self->session_key);
    reel_room_emit_session_lost (REEL_ROOM (self), key);
  }
  g_clear_pointer (&self->session_id, g_free);
  self->busy = FALSE;
  guint delay = MIN (250u << MIN (self->reconnect_attempts, 5u), (guint) RECONNECT_MAX_MS);
  self->reconnect_attempts++;
  schedule_pump (self, delay);
}

/* ---------- our session, read now and then ---------- */

static void
on_checked (ReelCloudflareRoom *self, guint status, ReelCfResponse *response, GBytes *body,
            gpointer data)
{
  self->checking = FALSE;
  ReelCfVerdict verdict = reel_cf_classify (status, response);
  if (fail_if_fatal (self, verdict, status, response))
    return;
  if (verdict == REEL_CF_SESSION_GONE || verdict == REEL_CF_NOT_FOUND) {
    g_autofree char *why = describe_failure (status, response);
    g_autofree char *message = g_strdup_printf ("the SFU no longer knows it: %s", why);
    session_lost (self, message);
  }
}

/* A session the SFU dropped (it lost our connection, it restarted) says nothing
 * on the WebRTC side: our ICE keeps no consent checks. Reading it is no mutation,
 * so it runs whatever else is in flight. */
static gboolean
check_session (gpointer data)
{
  ReelCloudflareRoom *self = data;
  if (self->left || self->session_id == NULL || self->checking)
    return G_SOURCE_CONTINUE;
  g_autofree char *path = g_strdup_printf ("sessions/%s", self->session_id);
  self->checking = TRUE;
  api_call (self, "GET", path, NULL, on_checked, NULL, NULL);
  return G_SOURCE_CONTINUE;
}

/* ---------- sessions/new ---------- */

static void
on_session_created (ReelCloudflareRoom *self, guint status, ReelCfResponse *response,
                    GBytes *body, gpointer data)
{
  gsize len = 0;
  const char *text = body ? g_bytes_get_data (body, &len) : NULL;
  g_autofree char *id = status >= 200 && status < 300 ? reel_cf_parse_session_id (text, len) : NULL;
  ReelCfVerdict verdict = id != NULL ? REEL_CF_OK : reel_cf_classify (status, response);
  self->busy = FALSE;
  if (fail_if_fatal (self, verdict, status, response))
    return;
  if (verdict == REEL_CF_NOT_FOUND) {
    g_autofree char *m = g_strdup_printf ("%s does not know %s", self->service, self->scope);
    fail_room (self, REEL_ERROR_ROOM_NOT_FOUND, m);
    return;
  }
  if (id == NULL) {
    g_autofree char *why = describe_failure (status, response);
    if (!self->ever_connected) {
      g_autofree char *m = g_strdup_printf ("%s does not answer sessions/new (%s)",
                                            self->service, status >= 200 && status < 300
                                            ? "no sessionId: not a Realtime API" : why);
      fail_room (self, REEL_ERROR_SFU_UNREACHABLE, m);
      return;
    }
    session_lost (self, why);
    return;
  }
  self->ever_connected = TRUE;
  self->session_id = g_steal_pointer (&id);
  self->session_key = g_strdup_printf ("cf-%u", self->generation);
  g_message ("%s: session %s", self->label, self->session_id);
  if (self->probe && self->check_timer == 0)
    self->check_timer = g_timeout_add_seconds (SESSION_CHECK_S, check_session, self);
  pump (self);
}

static void
create_session (ReelCloudflareRoom *self)
{
  self->busy = TRUE;
  api_call (self, "POST", "sessions/new", NULL, on_session_created, NULL, NULL);
}

/* ---------- tracks/close ---------- */

static void
on_closed (ReelCloudflareRoom *self, guint status, ReelCfResponse *response, GBytes *body,
           gpointer data)
{
  ReelCfVerdict verdict = reel_cf_classify (status, response);
  self->busy = FALSE;
  if (fail_if_fatal (self, verdict, status, response))
    return;
  if (verdict == REEL_CF_SESSION_GONE || verdict == REEL_CF_NOT_FOUND) {
    g_autofree char *why = describe_failure (status, response);
    session_lost (self, why);
    return;
  }
  if (verdict != REEL_CF_OK) {
    /* the mids are gone for us either way: their pads are already released */
    g_autofree char *why = describe_failure (status, response);
    g_message ("%s: tracks/close failed (%s)", self->label, why);
  }
  pump (self);
}

static void
close_tracks (ReelCloudflareRoom *self)
{
  guint n = MIN (self->closing->len, (guint) MAX_BATCH);
  g_autofree char *body = reel_cf_close_body ((const char *const *) self->closing->pdata, n);
  g_ptr_array_remove_range (self->closing, 0, n);
  g_autofree char *path = session_path (self, "tracks/close");
  self->busy = TRUE;
  api_call (self, "PUT", path, body, on_closed, NULL, NULL);
}

/* ---------- tracks/new ---------- */

static gboolean
answer_timed_out (gpointer data)
{
  ReelCloudflareRoom *self = data;
  self->answer_timer = 0;
  session_lost (self, "no answer to the SFU's offer");
  return G_SOURCE_REMOVE;
}

/* The result item for @t: by session and track name, else at @index. */
static ReelCfTrackResult *
result_for (ReelCfResponse *response, Track *t, guint index)
{
  for (guint i = 0; i < response->tracks->len; i++) {
    ReelCfTrackResult *r = g_ptr_array_index (response->tracks, i);
    if (g_strcmp0 (r->session_id, t->spec->session_id) == 0 &&
        g_strcmp0 (r->track_name, t->spec->track_name) == 0)
      return r;
  }
  if (index < response->tracks->len) {
    ReelCfTrackResult *r = g_ptr_array_index (response->tracks, index);
    if (r->session_id == NULL && r->track_name == NULL)
      return r;
  }
  return NULL;
}

/* A track got a mid: known as (participant, kind) before the offer is applied. */
static void
track_pulled (ReelCloudflareRoom *self, Track *t, const char *mid, const char *sdp)
{
  t->mid = g_strdup (mid);
  t->state = TRACK_PULLED;
  t->attempts = 0;
  if (t->removed) {
    g_ptr_array_add (self->closing, g_strdup (mid));
    forget_track (self, t);
    return;
  }
  const char *kind = sdp ? reel_cf_sdp_mid_kind (sdp, mid) : NULL;
  if (kind == NULL)
    kind = t->spec->kind ? t->spec->kind : "video";
  t->track_id = g_strdup_printf ("%s-%u", t->shown_id, ++self->serial);
  emit_state (self, t, NULL, NULL, NULL);
  ReelTrackInfo info = { .kind = g_str_equal (kind, "video") ? REEL_TRACK_VIDEO : REEL_TRACK_AUDIO,
                         .session_key = self->session_key, .mid = t->mid };
  reel_room_emit_track_added (REEL_ROOM (self), t->participant, t->track_id, &info);
}

static void
track_refused (ReelCloudflareRoom *self, Track *t, ReelCfVerdict verdict, const char *code,
               const char *description)
{
  if (t->removed) {
    forget_track (self, t);
    return;
  }
  g_autofree char *shown_code = sanitize (code);
  g_autofree char *shown_text = sanitize (description);
  if (verdict == REEL_CF_FAILED) {
    t->state = TRACK_FAILED;
    g_message ("%s: track %s refused: %s", self->label, t->shown_id,
               shown_code);
    emit_state (self, t, "failed", shown_code, shown_text);
    return;
  }
  track_retry_later (t);
  t->awaited = verdict == REEL_CF_TRACK_NOT_READY;
  emit_state (self, t, "pending", shown_code, shown_text);
}

static void
handle_items (ReelCloudflareRoom *self, GPtrArray *batch, ReelCfResponse *response)
{
  const char *sdp = response->sdp;
  for (guint i = 0; i < batch->len; i++) {
    Track *t = g_ptr_array_index (batch, i);
    ReelCfTrackResult *r = result_for (response, t, i);
    if (r != NULL && r->error_code == NULL && r->mid != NULL && r->mid[0] != '\0')
      track_pulled (self, t, r->mid, sdp);
    else if (r != NULL && r->error_code != NULL)
      track_refused (self, t, reel_cf_classify_track (r->error_code), r->error_code,
                     r->error_description);
    else
      track_refused (self, t, REEL_CF_RETRY, "no_result", "the SFU said nothing about this track");
  }
}

/* The whole tracks/new call failed: each track of @batch is retried or refused. */
static void
batch_failed (ReelCloudflareRoom *self, GPtrArray *batch, ReelCfVerdict verdict, guint status,
              ReelCfResponse *response)
{
  g_autofree char *why = describe_failure (status, response);
  const char *code = response && response->error_code ? response->error_code : "http_error";
  for (guint i = 0; i < batch->len; i++)
    track_refused (self, g_ptr_array_index (batch, i), verdict == REEL_CF_FAILED ? REEL_CF_FAILED
                                                                                 : REEL_CF_RETRY,
                   code, why);
}

static void
on_pulled (ReelCloudflareRoom *self, guint status, ReelCfResponse *response, GBytes *body,
           gpointer data)
{
  GPtrArray *batch = data;
  ReelCfVerdict verdict = reel_cf_classify (status, response);
  if (fail_if_fatal (self, verdict, status, response))
    return;
  if (verdict == REEL_CF_SESSION_GONE || verdict == REEL_CF_NOT_FOUND) {
    g_autofree char *why = describe_failure (status, response);
    session_lost (self, why);
    return;
  }
  if (verdict != REEL_CF_OK || response == NULL) {
    batch_failed (self, batch, response == NULL ? REEL_CF_RETRY : verdict, status, response);
    self->busy = FALSE;
    pump (self);
    return;
  }
  handle_items (self, batch, response);
  if (response->sdp != NULL && g_strcmp0 (response->sdp_type, "offer") == 0) {
    /* busy until the answer is accepted: the next mutation waits */
    self->answer_timer = g_timeout_add_seconds (ANSWER_TIMEOUT_S, answer_timed_out, self);
    reel_room_emit_offer (REEL_ROOM (self), self->session_key, response->sdp);
    return;
  }
  self->busy = FALSE;
  pump (self);
}

static void
pull_tracks (ReelCloudflareRoom *self, GPtrArray *ready)
{
  guint n = MIN (ready->len, (guint) MAX_BATCH);
  GPtrArray *batch = g_ptr_array_new ();
  g_autofree const char **sessions = g_new0 (const char *, n + 1);
  g_autofree const char **names = g_new0 (const char *, n + 1);
  for (guint i = 0; i < n; i++) {
    Track *t = g_ptr_array_index (ready, i);
    t->state = TRACK_PULLING;
    sessions[i] = t->spec->session_id;
    names[i] = t->spec->track_name;
    g_ptr_array_add (batch, t);
  }
  g_autofree char *body = reel_cf_tracks_new_body (sessions, names, n, self->simulcast_rid);
  g_autofree char *path = session_path (self, "tracks/new");
  self->busy = TRUE;
  api_call (self, "POST", path, body, on_pulled, batch, (GDestroyNotify) g_ptr_array_unref);
}

/* ---------- renegotiate ---------- */

static void send_answer (ReelCloudflareRoom *self);

static gboolean
resend_answer (gpointer data)
{
  ReelCloudflareRoom *self = data;
  self->pump_timer = 0;
  send_answer (self);
  return G_SOURCE_REMOVE;
}

static void
on_renegotiated (ReelCloudflareRoom *self, guint status, ReelCfResponse *response, GBytes *body,
                 gpointer data)
{
  ReelCfVerdict verdict = reel_cf_classify (status, response);
  if (fail_if_fatal (self, verdict, status, response))
    return;
  if (verdict == REEL_CF_RETRY && ++self->renegotiate_tries < RENEGOTIATE_TRIES) {
    g_clear_handle_id (&self->pump_timer, g_source_remove);
    self->pump_timer = g_timeout_add (500, resend_answer, self);
    return;
  }
  if (verdict != REEL_CF_OK) {
    g_autofree char *why = describe_failure (status, response);
    session_lost (self, why);
    return;
  }
  g_clear_pointer (&self->pending_answer, g_free);
  self->reconnect_attempts = 0;
  self->busy = FALSE;
  pump (self);
}

static void
send_answer (ReelCloudflareRoom *self)
{
  g_autofree char *path = session_path (self, "renegotiate");
  api_call (self, "PUT", path, self->pending_answer, on_renegotiated, NULL, NULL);
}

static void
cloudflare_answer (ReelRoom *room, const char *session_key, const char *sdp)
{
  ReelCloudflareRoom *self = REEL_CLOUDFLARE_ROOM (room);
  if (self->left || g_strcmp0 (session_key, self->session_key) != 0 || self->answer_timer == 0)
    return;
  g_clear_handle_id (&self->answer_timer, g_source_remove);
  g_free (self->pending_answer);
  self->pending_answer = reel_cf_renegotiate_body (sdp);
  self->renegotiate_tries = 0;
  send_answer (self);
}

/* ---------- probing for tracks not published yet ---------- */

static void
on_probed (ReelCloudflareRoom *self, guint status, ReelCfResponse *response, GBytes *body,
           gpointer data)
{
  Track *t = g_hash_table_lookup (self->by_key, data);
  ReelCfVerdict verdict = reel_cf_classify (status, response);
  if (t == NULL || !t->probing)
    return;
  t->probing = FALSE;
  if (fail_if_fatal (self, verdict, status, response))
    return;
  if (verdict == REEL_CF_OK && response != NULL) {
    if (reel_cf_response_publishes (response, t->spec->track_name)) {
      t->awaited = FALSE;
      t->next_try = 0;
    } else {
      track_retry_later (t);
    }
  } else if (verdict == REEL_CF_NOT_FOUND || verdict == REEL_CF_RETRY) {
    track_retry_later (t); /* no such session yet, or a hiccup */
  } else {
    t->awaited = FALSE; /* the SFU cannot tell: pull it again */
  }
  pump (self);
}

static void
probe (ReelCloudflareRoom *self, Track *t)
{
  g_autofree char *path = g_strdup_printf ("sessions/%s", t->spec->session_id);
  t->probing = TRUE;
  api_call (self, "GET", path, NULL, on_probed, g_strdup (t->key), g_free);
}

/* ---------- the pump ---------- */

/* Starts the next request if none is in flight: a session first, then closes,
 * then pulls of the tracks whose time has come. */
static void
pump (ReelCloudflareRoom *self)
{
  if (self->left || self->busy)
    return;
  gint64 now = g_get_monotonic_time ();
  gint64 next = G_MAXINT64;
  g_autoptr (GPtrArray) ready = g_ptr_array_new ();
  for (guint i = 0; i < self->tracks->len; i++) {
    Track *t = g_ptr_array_index (self->tracks, i);
    if (t->state != TRACK_WANTED || t->probing)
      continue;
    if (t->next_try > now)
      next = MIN (next, t->next_try);
    else if (t->awaited && self->probe)
      probe (self, t);
    else
      g_ptr_array_add (ready, t);
  }
  if (self->session_id == NULL) {
    if (ready->len > 0 || next != G_MAXINT64)
      create_session (self);
    return;
  }
  if (self->closing->len > 0) {
    close_tracks (self);
    return;
  }
  if (ready->len > 0) {
    pull_tracks (self, ready);
    return;
  }
  if (next != G_MAXINT64)
    schedule_pump (self, (guint) MAX ((next - now) / 1000, 1));
}

/* ---------- the room interface ---------- */

static void
cloudflare_join (ReelRoom *room)
{
  ReelCloudflareRoom *self = REEL_CLOUDFLARE_ROOM (room);
  g_autoptr (GPtrArray) tracks = reel_remote_tracks_copy (self->spec->tracks);
  reel_cloudflare_room_set_tracks (self, tracks);
}

static void
cloudflare_leave (ReelRoom *room)
{
  ReelCloudflareRoom *self = REEL_CLOUDFLARE_ROOM (room);
  self->left = TRUE;
  g_clear_handle_id (&self->pump_timer, g_source_remove);
  g_clear_handle_id (&self->answer_timer, g_source_remove);
  g_clear_handle_id (&self->check_timer, g_source_remove);
  /* Sessions have no close call: the SFU drops ours once the connection is gone. */
}

/* Our side of the WebRTC session failed (ICE, DTLS, no media): a new session. */
static void
cloudflare_restart_session (ReelRoom *room, const char *session_key)
{
  ReelCloudflareRoom *self = REEL_CLOUDFLARE_ROOM (room);
  if (self->left || g_strcmp0 (session_key, self->session_key) != 0)
    return;
  session_lost (self, "the WebRTC session failed");
}

static void
reel_cloudflare_room_iface_init (ReelRoomInterface *iface)
{
  iface->join = cloudflare_join;
  iface->leave = cloudflare_leave;
  iface->answer = cloudflare_answer;
  iface->restart_session = cloudflare_restart_session;
}

/**
 * reel_cloudflare_room_new:
 * @secret: the app secret
 * @simulcast_rid: (nullable): the layer to prefer
 * Returns: (transfer full): the room
 */
ReelCloudflareRoom *
reel_cloudflare_room_new (const ReelRoomSpec *spec, const char *secret, const char *simulcast_rid)
{
  g_autofree char *base = reel_cf_app_base (spec->api_url, spec->app_id);
  g_autofree char *label = g_strdup_printf ("cloudflare app %s", spec->app_id);
  g_autofree char *credential = g_strdup_printf ("the secret of app %s", spec->app_id);
  g_autofree char *scope = g_strdup_printf ("app %s", spec->app_id);
  ReelCfEndpoint endpoint = { .base = base, .secret = secret, .label = label,
                              .service = "Cloudflare Realtime", .credential = credential,
                              .scope = scope, .simulcast_rid = simulcast_rid, .probe = TRUE };
  ReelCloudflareRoom *self = reel_cloudflare_room_new_for_endpoint (&endpoint);
  reel_room_spec_free (self->spec);
  self->spec = reel_room_spec_copy (spec);
  return self;
}

/**
 * reel_cf_app_base:
 * @api_url: the API base (".../v1")
 * Returns: (transfer full): "<api_url>/apps/<app_id>" without doubled slashes
 */
char *
reel_cf_app_base (const char *api_url, const char *app_id)
{
  g_autofree char *api = g_strdup (api_url);
  gsize len = strlen (api);
  while (len > 0 && api[len - 1] == '/')
    api[--len] = '\0';
  return g_strdup_printf ("%s/apps/%s", api, app_id);
}

/**
 * reel_cloudflare_room_new_for_endpoint:
 * @endpoint: where and how to pull (copied)
 * Returns: (transfer full): a room with no track to pull yet
 */
ReelCloudflareRoom *
reel_cloudflare_room_new_for_endpoint (const ReelCfEndpoint *endpoint)
{
  ReelCloudflareRoom *self = g_object_new (REEL_TYPE_CLOUDFLARE_ROOM, NULL);
  self->spec = reel_room_spec_new (REEL_PROVIDER_CLOUDFLARE);
  if (endpoint->secret != NULL)
    self->auth_header = g_strdup_printf ("Authorization: Bearer %s", endpoint->secret);
  self->base = g_strdup (endpoint->base);
  self->label = g_strdup (endpoint->label);
  self->service = g_strdup (endpoint->service);
  self->credential = g_strdup (endpoint->credential);
  self->scope = g_strdup (endpoint->scope);
  self->simulcast_rid = g_strdup (endpoint->simulcast_rid);
  self->probe = endpoint->probe;
  self->forbidden_fatal = endpoint->forbidden_fatal;
  if (endpoint->keep_cookies)
    reel_curl_keep_cookies (self->curl);
  return self;
}

static void
reel_cloudflare_room_dispose (GObject *object)
{
  ReelCloudflareRoom *self = REEL_CLOUDFLARE_ROOM (object);
  self->left = TRUE;
  g_clear_handle_id (&self->pump_timer, g_source_remove);
  g_clear_handle_id (&self->answer_timer, g_source_remove);
  g_clear_handle_id (&self->check_timer, g_source_remove);
  g_clear_object (&self->curl);
  G_OBJECT_CLASS (reel_cloudflare_room_parent_class)->dispose (object);
}

static void
reel_cloudflare_room_finalize (GObject *object)
{
  ReelCloudflareRoom *self = REEL_CLOUDFLARE_ROOM (object);
  g_hash_table_unref (self->by_key);
  g_ptr_array_unref (self->tracks);
  g_hash_table_unref (self->participants);
  g_ptr_array_unref (self->closing);
  reel_room_spec_free (self->spec);
  if (self->auth_header != NULL)
    memset (self->auth_header, 0, strlen (self->auth_header));
  g_free (self->auth_header);
  g_free (self->base);
  g_free (self->simulcast_rid);
  g_free (self->label);
  g_free (self->service);
  g_free (self->credential);
  g_free (self->scope);
  g_free (self->session_id);
  g_free (self->session_key);
  g_free (self->pending_answer);
  G_OBJECT_CLASS (reel_cloudflare_room_parent_class)->finalize (object);
}

static void
reel_cloudflare_room_init (ReelCloudflareRoom *self)
{
  self->curl = reel_curl_new ();
  reel_curl_set_max_response_bytes (self->curl, MAX_RESPONSE_BYTES);
  self->tracks = g_ptr_array_new_with_free_func ((GDestroyNotify) track_free);
  self->by_key = g_hash_table_new (g_str_hash, g_str_equal);
  self->participants = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  self->closing = g_ptr_array_new_with_free_func (g_free);
}

static void
reel_cloudflare_room_class_init (ReelCloudflareRoomClass *klass)
{
  G_OBJECT_CLASS (klass)->dispose = reel_cloudflare_room_dispose;
  G_OBJECT_CLASS (klass)->finalize = reel_cloudflare_room_finalize;
}
