/* reel-realtime-sfu: a local SFU that speaks the Cloudflare Realtime Connection API.
 *
 *   reel-realtime-sfu --listen 127.0.0.1:0 --app APPID:SECRET [--app ...] \
 *       --local-address ADDR [--local-address ...]
 *
 * For reel's tests: browsers and bots make the calls they make against Cloudflare
 * (schema: shared/reference/cloudflare-realtime-openapi.yaml), on the base URL
 * http://HOST:PORT/v1, and real RTP is forwarded between sessions. Prints exactly
 * one line "listening on http://HOST:PORT" on stdout when ready; SIGTERM/SIGINT
 * exit cleanly. Media notes go to stderr ("media: session=S track=T ...").
 *
 * What it implements:
 *   POST sessions/new               201 {sessionId}; with the legacy offer body also
 *                                   {sessionDescription: answer}
 *   POST sessions/{id}/tracks/new   local tracks with the client's offer -> answer
 *                                   (autoDiscover names unnamed m-lines); local tracks
 *                                   naming mids of an earlier offer, no SDP -> bound;
 *                                   remote tracks, no SDP -> SFU offer with one mid per
 *                                   track and requiresImmediateRenegotiation: true.
 *                                   A remote track whose publisher has not sent media
 *                                   yet is waited for up to 5 s, then
 *                                   not_found_track_error.
 *   PUT  sessions/{id}/renegotiate  the client's answer to the SFU offer
 *   PUT  sessions/{id}/tracks/update  a remote mid reused for another track of the
 *                                   same codec (no renegotiation: the SFU's SSRC, PT,
 *                                   sequence numbers and timestamps stay continuous)
 *   PUT  sessions/{id}/tracks/close force:true (no SDP; the m-line stays, silent) or
 *                                   force:false with the client's offer -> answer
 *   GET  sessions/{id}              tracks with status active | inactive
 * Not implemented: DataChannels, WebSocket adapters, simulcast layer selection
 * (simulcast settings are echoed), SFU-generated offers for local tracks and
 * bidirectional transceivers (per-track invalid_params).
 *
 * Rules:
 *   - Authorization: Bearer <secret of the app in the path>, compared in constant
 *     time (401 unauthorized); an unknown app is 404 not_found; a session of
 *     another app is 404 not_found, and so is its publisher for remote tracks
 *     (per-track not_found_track_error).
 *   - Mutations of one session are not queued: one that arrives while another runs,
 *     or while an SFU offer waits for its answer, is refused with HTTP 406
 *     session_error, as Cloudflare documents. tracks/close with force:true is
 *     allowed while an answer is awaited; GET is always allowed.
 *   - Non-trickle: every SDP is sent once ICE gathering is complete (10 s at most).
 *   - A pulled track is offered only once webrtcbin holds its caps; every request is
 *     answered within 25 s (500 internal_error, and a log line naming its stage).
 *   - One log line per HTTP request (method, path, status, time) on stderr.
 *   - A session whose connection fails or stays disconnected 30 s, or that never
 *     connects within 120 s (--expire-unconnected), is gone: 410 session_error.
 *     SIGUSR1 (tests) makes every session that pulls tracks gone at once.
 *
 * Thread rule: webrtcbin answers promises and emits signals on its own threads and
 * adds pads from streaming threads; those callbacks only post to the main context
 * (post_main), where all the SFU's state lives.
 */
#include <stdio.h>
#include <string.h>

#include <glib-unix.h>
#include <gst/gst.h>
#include <gst/sdp/sdp.h>
#define GST_USE_UNSTABLE_API
#include <gst/webrtc/webrtc.h>
#include <json-glib/json-glib.h>
#include <libsoup/soup.h>
#include <nice/nice.h>

#include "realtime-media.h"
#include "realtime-request.h"

#define TRACK_WAIT_MS 5000
#define CAPS_WAIT_MS 5000
#define GATHER_WAIT_MS 10000
#define GONE_AFTER_S 30
#define OP_DEADLINE_MS 25000

typedef struct _Sfu Sfu;
typedef struct _Session Session;
typedef struct _Op Op;

typedef struct {
  char *id;
  char *secret;
  GHashTable *sessions;       /* id → Session (owned ref) */
  GHashTable *gone;           /* ids of sessions that are gone (410) */
} App;

/* A published m-line's media, once it arrives: pad → tee. */
typedef struct {
  char *mid;
  GstPad *pad;                /* (owned) (nullable) webrtcbin src pad; NULL once gone */
  GstElement *tee;            /* (owned) (nullable) */
  GstCaps *caps;              /* (owned) */
  GPtrArray *branches;        /* (element-type Branch) (unowned) subscribers */
} Ingress;

/* A local track: a name for a mid of the publisher's offer. */
typedef struct {
  Session *session;           /* (unowned) owner */
  char *name;
  char *mid;
  char *kind;                 /* (nullable) "audio" | "video" from the offer */
  gboolean closed;
} Track;

typedef struct _Slot Slot;

/* One subscriber branch: tee src pad → leaky queue → egress sink pad. */
typedef struct {
  Ingress *ingress;           /* (unowned) */
  Slot *slot;                 /* (unowned) */
  GstPad *tee_pad;            /* (owned) */
  GstElement *queue;          /* (owned) */
} Branch;

/* A remote track of a subscriber session: one sendonly transceiver. */
struct _Slot {
  guint serial;
  Session *session;           /* (unowned) owner */
  char *mid;                  /* (nullable) until the offer is set */
  GstPad *sink;               /* (owned) webrtcbin sink pad */
  RtRewriter *rw;             /* (unowned) lives as long as the probe on sink */
  char *source_session;       /* the publisher's session id */
  char *source_track;
  Session *source;            /* (owned) (nullable) */
  Branch *branch;             /* (owned) (nullable) */
  JsonNode *simulcast;        /* (owned) (nullable) echoed */
  gboolean caps_ready;
  gboolean closed;
  gboolean announced;         /* a successful response named its mid */
  Op *op;                     /* (unowned) (nullable) the op waiting for its caps */
};

struct _Session {
  gatomicrefcount ref;
  Sfu *sfu;
  App *app;                   /* (unowned) */
  char *id;
  GstElement *webrtc;         /* (owned) (nullable once destroyed) */
  gboolean destroyed;
  gboolean gathered;
  gboolean connected;
  gboolean ever_connected;
  gboolean awaiting_answer;
  Op *op;                     /* (unowned) the mutation in progress */
  GList *gather_waiters;      /* (element-type Op) (owned refs) */
  GPtrArray *tracks;          /* (element-type Track) (owned) */
  GHashTable *ingress;        /* mid → Ingress (owned) */
  GPtrArray *slots;           /* (element-type Slot) (owned) */
  guint gone_timer;
  guint expire_timer;
};

struct _Sfu {
  GMainLoop *loop;
  GstElement *pipeline;
  GHashTable *apps;           /* id → App */
  char **local_addresses;
  GHashTable *slots;          /* serial → Slot (unowned) */
  guint next_serial;
  GList *track_waiters;       /* (element-type Op) (owned refs) ops waiting for media */
  guint expire_unconnected_s;
  guint test_caps_delay_ms;
};

typedef enum {
  OP_NEW_SESSION,
  OP_PUSH,
  OP_BIND,
  OP_PULL,
  OP_RENEGOTIATE,
  OP_UPDATE,
  OP_CLOSE,
} OpKind;

typedef enum {
  STAGE_START,
  STAGE_WAIT_TRACKS,
  STAGE_WAIT_CAPS,
  STAGE_NEGOTIATE,
  STAGE_WAIT_GATHER,
  STAGE_DONE,
} OpStage;

/* One item of the request (or an autodiscovered m-line) and its result. */
typedef struct {
  RtTrack *req;               /* (unowned) (nullable) */
  char *mid;
  char *track_name;
  char *session_id;           /* remote: the publisher */
  const char *error_code;
  char *error_description;
  Session *source;            /* (owned) (nullable) remote: the publisher */
  Track *track;               /* (unowned; kept alive by source) */
  Slot *slot;                 /* (unowned; owned by the session) */
  Track *created;             /* push: the local track this item made */
} Item;

struct _Op {
  gatomicrefcount ref;
  OpKind kind;
  OpStage stage;
  Sfu *sfu;
  App *app;
  Session *session;           /* (owned) */
  SoupServerMessage *msg;     /* (owned) */
  gboolean responded;
  RtRequest *req;             /* (owned) */
  GPtrArray *items;           /* (element-type Item) */
  guint timer;
  guint caps_pending;
  guint settle_tries;
  guint deadline;             /* no reference: removed when the op is freed */
  gboolean sfu_offers;        /* the SDP we send back is an offer */
};

static Sfu *the_sfu;

/* ---------- small helpers ---------- */

static Session *
session_ref (Session *s)
{
  g_atomic_ref_count_inc (&s->ref);
  return s;
}

static void session_finalize (Session *s);

static void
session_unref (Session *s)
{
  if (s != NULL && g_atomic_ref_count_dec (&s->ref))
    session_finalize (s);
}
G_DEFINE_AUTOPTR_CLEANUP_FUNC (Session, session_unref)

static Op *
op_ref (Op *op)
{
  g_atomic_ref_count_inc (&op->ref);
  return op;
}

static void
item_free (gpointer p)
{
  Item *it = p;
  g_free (it->mid);
  g_free (it->track_name);
  g_free (it->session_id);
  g_free (it->error_description);
  session_unref (it->source);
  g_free (it);
}

static void
op_unref (Op *op)
{
  if (!g_atomic_ref_count_dec (&op->ref))
    return;
  g_clear_handle_id (&op->timer, g_source_remove);
  g_clear_handle_id (&op->deadline, g_source_remove);
  session_unref (op->session);
  g_clear_object (&op->msg);
  rt_request_free (op->req);
  g_ptr_array_unref (op->items);
  g_free (op);
}
G_DEFINE_AUTOPTR_CLEANUP_FUNC (Op, op_unref)

static gboolean
constant_time_equal (const char *a, const char *b)
{
  gsize la = strlen (a), lb = strlen (b);
  guint diff = (guint) (la ^ lb);
  for (gsize i = 0; i < MAX (la, lb); i++)
    diff |= (guint) (guchar) (i < la ? a[i] : 0) ^ (guint) (guchar) (i < lb ? b[i] : 0);
  return diff == 0;
}

static char *
random_id (void)
{
  GString *s = g_string_sized_new (32);
  for (int i = 0; i < 4; i++)
    g_string_append_printf (s, "%08x", g_random_int ());
  return g_string_free (s, FALSE);
}

/* ---------- main-context marshalling ---------- */

typedef void (*MainFunc) (gpointer data, gpointer arg);

typedef struct {
  MainFunc func;
  gpointer data;
  GDestroyNotify data_free;
  gpointer arg;
  GDestroyNotify arg_free;
} MainCall;

static gboolean
main_call_dispatch (gpointer p)
{
  MainCall *c = p;
  c->func (c->data, c->arg);
  return G_SOURCE_REMOVE;
}

static void
main_call_free (gpointer p)
{
  MainCall *c = p;
  if (c->data_free && c->data)
    c->data_free (c->data);
  if (c->arg_free && c->arg)
    c->arg_free (c->arg);
  g_free (c);
}

/* Always deferred to the main context, whatever thread calls it. */
static void
post_main (MainFunc func, gpointer data, GDestroyNotify data_free, gpointer arg, GDestroyNotify arg_free)
{
  MainCall *c = g_new0 (MainCall, 1);
  c->func = func;
  c->data = data;
  c->data_free = data_free;
  c->arg = arg;
  c->arg_free = arg_free;
  GSource *source = g_idle_source_new ();
  g_source_set_priority (source, G_PRIORITY_DEFAULT);
  g_source_set_callback (source, main_call_dispatch, c, main_call_free);
  g_source_attach (source, NULL);
  g_source_unref (source);
}

/* ---------- JSON responses ---------- */

static void
respond_node (SoupServerMessage *msg, guint status, JsonNode *node)
{
  g_autofree char *body = json_to_string (node, FALSE);
  soup_server_message_set_status (msg, status, NULL);
  SoupMessageHeaders *h = soup_server_message_get_response_headers (msg);
  soup_message_headers_replace (h, "Vary", "Origin");
  soup_server_message_set_response (msg, "application/json", SOUP_MEMORY_COPY, body, strlen (body));
}

static JsonNode *
error_node (const char *code, const char *description)
{
  g_autoptr (JsonBuilder) b = json_builder_new ();
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "errorCode");
  json_builder_add_string_value (b, code);
  json_builder_set_member_name (b, "errorDescription");
  json_builder_add_string_value (b, description);
  json_builder_end_object (b);
  return json_builder_get_root (b);
}

static void
respond_error (SoupServerMessage *msg, guint status, const char *code, const char *description)
{
  g_autoptr (JsonNode) node = error_node (code, description);
  respond_node (msg, status, node);
}

/* Answers a paused op's request (once) and lets libsoup send it. */
static void
op_respond (Op *op, guint status, JsonNode *node)
{
  if (op->responded)
    return;
  op->responded = TRUE;
  op->stage = STAGE_DONE;
  g_clear_handle_id (&op->deadline, g_source_remove);
  respond_node (op->msg, status, node);
  soup_server_message_unpause (op->msg);
  if (op->session != NULL && op->session->op == op)
    op->session->op = NULL;
}

static void slot_close (Slot *slot);

/* Fails the whole request: what it made is undone (tracks closed, transceivers
 * left silent). */
static void
op_fail (Op *op, guint status, const char *code, const char *description)
{
  for (guint i = 0; !op->responded && i < op->items->len; i++) {
    Item *it = g_ptr_array_index (op->items, i);
    if (it->created != NULL)
      it->created->closed = TRUE;
    if (it->slot != NULL && !it->slot->announced) {
      it->slot->op = NULL;
      slot_close (it->slot);
    }
  }
  g_autoptr (JsonNode) node = error_node (code, description);
  op_respond (op, status, node);
}

static gboolean
op_check_session (Op *op)
{
  if (op->responded)
    return FALSE;
  if (op->session->destroyed) {
    op_fail (op, 410, "session_error", "the session is gone");
    return FALSE;
  }
  return TRUE;
}

/* ---------- GStreamer helpers ---------- */

static GstSDPMessage *
parse_sdp (const char *text)
{
  GstSDPMessage *sdp = NULL;
  if (gst_sdp_message_new_from_text (text, &sdp) != GST_SDP_OK) {
    if (sdp)
      gst_sdp_message_free (sdp);
    return NULL;
  }
  return sdp;
}

static const char *
media_direction (const GstSDPMedia *m)
{
  for (const char *const *d = (const char *const[]) { "sendrecv", "sendonly", "recvonly", "inactive", NULL }; *d; d++)
    if (gst_sdp_media_get_attribute_val (m, *d) != NULL)
      return *d;
  return "sendrecv";
}

static const GstSDPMedia *
find_media (const GstSDPMessage *sdp, const char *mid)
{
  for (guint i = 0; sdp && i < gst_sdp_message_medias_len (sdp); i++) {
    const GstSDPMedia *m = gst_sdp_message_get_media (sdp, i);
    if (g_strcmp0 (gst_sdp_media_get_attribute_val (m, "mid"), mid) == 0)
      return m;
  }
  return NULL;
}

/* The mid of the m-line that announces @ssrc in the "remote-description" or
 * "local-description" (@property) of @webrtc. */
static char *
mid_for_ssrc (GstElement *webrtc, const char *property, guint32 ssrc)
{
  GstWebRTCSessionDescription *desc = NULL;
  g_object_get (webrtc, property, &desc, NULL);
  if (desc == NULL)
    return NULL;
  char *found = NULL;
  for (guint i = 0; found == NULL && i < gst_sdp_message_medias_len (desc->sdp); i++) {
    const GstSDPMedia *m = gst_sdp_message_get_media (desc->sdp, i);
    for (guint j = 0; j < gst_sdp_media_attributes_len (m); j++) {
      const GstSDPAttribute *a = gst_sdp_media_get_attribute (m, j);
      if (g_strcmp0 (a->key, "ssrc") == 0 && a->value && g_ascii_strtoull (a->value, NULL, 10) == ssrc) {
        found = g_strdup (gst_sdp_media_get_attribute_val (m, "mid"));
        break;
      }
    }
  }
  gst_webrtc_session_description_free (desc);
  return found;
}

static char *
pad_transceiver_mid (GstPad *pad)
{
  GstWebRTCRTPTransceiver *trans = NULL;
  char *mid = NULL;
  g_object_get (pad, "transceiver", &trans, NULL);
  if (trans != NULL) {
    g_object_get (trans, "mid", &mid, NULL);
    gst_object_unref (trans);
  }
  return mid;
}

static char *
description_text (GstElement *webrtc, const char *property)
{
  GstWebRTCSessionDescription *desc = NULL;
  g_object_get (webrtc, property, &desc, NULL);
  if (desc == NULL)
    return NULL;
  char *text = gst_sdp_message_as_text (desc->sdp);
  gst_webrtc_session_description_free (desc);
  return text;
}

static void
configure_ice (GstElement *webrtc, char **local_addresses)
{
  GObject *ice = NULL;
  g_object_get (webrtc, "ice-agent", &ice, NULL);
  if (ice == NULL)
    return;
  if (g_object_class_find_property (G_OBJECT_GET_CLASS (ice), "ice-tcp"))
    g_object_set (ice, "ice-tcp", FALSE, NULL);
  NiceAgent *agent = NULL;
  if (g_object_class_find_property (G_OBJECT_GET_CLASS (ice), "agent"))
    g_object_get (ice, "agent", &agent, NULL);
  if (agent != NULL) {
    g_object_set (agent, "upnp", FALSE, NULL);
    for (guint i = 0; local_addresses && local_addresses[i]; i++) {
      NiceAddress addr;
      nice_address_init (&addr);
      if (nice_address_set_from_string (&addr, local_addresses[i]))
        nice_agent_add_local_address (agent, &addr);
    }
    g_object_unref (agent);
  }
  g_object_unref (ice);
}

/* ---------- branches ---------- */

/* Unlinks and frees a branch (main context). The egress pad stays: its m-line and
 * caps stay negotiated, it just gets no more media. */
static void
branch_detach (Branch *br)
{
  Sfu *sfu = the_sfu;
  if (br == NULL)
    return;
  g_ptr_array_remove (br->ingress->branches, br);
  br->slot->branch = NULL;
  if (br->ingress->tee != NULL) {
    g_autoptr (GstPad) queue_sink = gst_element_get_static_pad (br->queue, "sink");
    gst_pad_unlink (br->tee_pad, queue_sink);
    gst_element_release_request_pad (br->ingress->tee, br->tee_pad);
  }
  gst_element_set_state (br->queue, GST_STATE_NULL);
  g_autoptr (GstPad) queue_src = gst_element_get_static_pad (br->queue, "src");
  gst_pad_unlink (queue_src, br->slot->sink);
  gst_bin_remove (GST_BIN (sfu->pipeline), br->queue);
  gst_object_unref (br->queue);
  gst_object_unref (br->tee_pad);
  g_free (br);
}

static Branch *
branch_attach (Ingress *in, Slot *slot)
{
  Sfu *sfu = the_sfu;
  Branch *br = g_new0 (Branch, 1);
  br->ingress = in;
  br->slot = slot;
  br->queue = gst_element_factory_make ("queue", NULL);
  gst_object_ref_sink (br->queue);
  g_object_set (br->queue, "leaky", 2 /* downstream */, "max-size-time", (guint64) 500 * GST_MSECOND,
                "max-size-buffers", 0, "max-size-bytes", 0, NULL);
  gst_bin_add (GST_BIN (sfu->pipeline), br->queue);
  g_autoptr (GstPad) queue_src = gst_element_get_static_pad (br->queue, "src");
  g_autoptr (GstPad) queue_sink = gst_element_get_static_pad (br->queue, "sink");
  rt_rewriter_guard (slot->rw, queue_src);
  if (gst_pad_link (queue_src, slot->sink) != GST_PAD_LINK_OK)
    g_warning ("cannot link a branch to the egress pad of mid %s", slot->mid ? slot->mid : "(new)");
  gst_element_sync_state_with_parent (br->queue);
  br->tee_pad = gst_element_request_pad_simple (in->tee, "src_%u");
  if (gst_pad_link (br->tee_pad, queue_sink) != GST_PAD_LINK_OK)
    g_warning ("cannot link a tee to a branch");
  g_ptr_array_add (in->branches, br);
  slot->branch = br;
  return br;
}

/* ---------- sessions ---------- */

static void
ingress_free (gpointer p)
{
  Ingress *in = p;
  g_free (in->mid);
  g_clear_object (&in->pad);
  g_clear_object (&in->tee);
  gst_clear_caps (&in->caps);
  g_ptr_array_unref (in->branches);
  g_free (in);
}

static void
track_free (gpointer p)
{
  Track *t = p;
  g_free (t->name);
  g_free (t->mid);
  g_free (t->kind);
  g_free (t);
}

static void
slot_free (gpointer p)
{
  Slot *slot = p;
  g_free (slot->mid);
  g_clear_object (&slot->sink);
  g_free (slot->source_session);
  g_free (slot->source_track);
  session_unref (slot->source);
  if (slot->simulcast)
    json_node_unref (slot->simulcast);
  g_free (slot);
}

static void
session_finalize (Session *s)
{
  g_ptr_array_unref (s->tracks);
  g_hash_table_unref (s->ingress);
  g_ptr_array_unref (s->slots);
  g_free (s->id);
  g_free (s);
}

static Track *
session_find_track (Session *s, const char *name)
{
  for (guint i = 0; i < s->tracks->len; i++) {
    Track *t = g_ptr_array_index (s->tracks, i);
    if (!t->closed && g_strcmp0 (t->name, name) == 0)
      return t;
  }
  return NULL;
}

static Track *
session_track_by_mid (Session *s, const char *mid)
{
  for (guint i = 0; i < s->tracks->len; i++) {
    Track *t = g_ptr_array_index (s->tracks, i);
    if (!t->closed && g_strcmp0 (t->mid, mid) == 0)
      return t;
  }
  return NULL;
}

static Slot *
session_slot_by_mid (Session *s, const char *mid)
{
  for (guint i = 0; i < s->slots->len; i++) {
    Slot *slot = g_ptr_array_index (s->slots, i);
    if (slot->mid != NULL && g_str_equal (slot->mid, mid))
      return slot;
  }
  return NULL;
}

/* The live ingress of @track, if its media arrived and still flows into a tee. */
static Ingress *
track_ingress (Track *track)
{
  if (track == NULL || track->closed || track->session->destroyed)
    return NULL;
  Ingress *in = g_hash_table_lookup (track->session->ingress, track->mid);
  return in != NULL && in->tee != NULL ? in : NULL;
}

static void
ingress_stop (Ingress *in)
{
  Sfu *sfu = the_sfu;
  while (in->branches->len > 0)
    branch_detach (g_ptr_array_index (in->branches, 0));
  if (in->tee == NULL)
    return;
  if (in->pad != NULL) {
    g_autoptr (GstPad) tee_sink = gst_element_get_static_pad (in->tee, "sink");
    gst_pad_unlink (in->pad, tee_sink);
  }
  gst_element_set_state (in->tee, GST_STATE_NULL);
  gst_bin_remove (GST_BIN (sfu->pipeline), in->tee);
  g_clear_object (&in->tee);
}

static void op_track_event (Op *op);

static void
wake_track_waiters (Sfu *sfu)
{
  GList *waiters = sfu->track_waiters;
  sfu->track_waiters = NULL;
  for (GList *l = waiters; l; l = l->next) {
    Op *op = l->data;
    op_track_event (op);
    op_unref (op);
  }
  g_list_free (waiters);
}

static void
session_destroy (Session *s, const char *why)
{
  if (s->destroyed)
    return;
  g_autoptr (Session) keep G_GNUC_UNUSED = session_ref (s);
  Sfu *sfu = s->sfu;
  g_message ("session %s gone: %s", s->id, why);
  s->destroyed = TRUE;
  g_clear_handle_id (&s->gone_timer, g_source_remove);
  g_clear_handle_id (&s->expire_timer, g_source_remove);
  for (guint i = 0; i < s->tracks->len; i++)
    ((Track *) g_ptr_array_index (s->tracks, i))->closed = TRUE;
  GHashTableIter iter;
  gpointer value;
  g_hash_table_iter_init (&iter, s->ingress);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    ingress_stop (value);
  for (guint i = 0; i < s->slots->len; i++) {
    Slot *slot = g_ptr_array_index (s->slots, i);
    branch_detach (slot->branch);
    slot->closed = TRUE;
    slot->op = NULL;
    g_hash_table_remove (sfu->slots, GUINT_TO_POINTER (slot->serial));
    g_clear_pointer (&slot->source, session_unref);
  }
  if (s->webrtc != NULL) {
    gst_element_set_state (s->webrtc, GST_STATE_NULL);
    g_signal_handlers_disconnect_by_data (s->webrtc, s);
    gst_bin_remove (GST_BIN (sfu->pipeline), s->webrtc);
    g_clear_object (&s->webrtc);
  }
  for (GList *l = s->gather_waiters; l; l = l->next) {
    Op *op = l->data;
    op_check_session (op);
    op_unref (op);
  }
  g_clear_pointer (&s->gather_waiters, g_list_free);
  if (s->op != NULL)
    op_check_session (s->op);
  g_hash_table_add (s->app->gone, g_strdup (s->id));
  g_hash_table_remove (s->app->sessions, s->id); /* drops the app's reference */
  /* Ops waiting for this publisher's media fail now rather than at their timeout. */
  wake_track_waiters (sfu);
}

static gboolean
on_gone_timer (gpointer data)
{
  Session *s = data;
  s->gone_timer = 0;
  session_destroy (s, "connection lost for 30 s");
  return G_SOURCE_REMOVE;
}

static gboolean
on_expire_timer (gpointer data)
{
  Session *s = data;
  s->expire_timer = 0;
  if (!s->ever_connected && s->op == NULL)
    session_destroy (s, "never connected");
  return G_SOURCE_REMOVE;
}

static void op_gathered (Op *op);

/* main: webrtcbin's ICE gathering state changed */
static void
session_on_gathering (gpointer data, gpointer arg)
{
  Session *s = data;
  if (s->destroyed || s->webrtc == NULL)
    return;
  GstWebRTCICEGatheringState state;
  g_object_get (s->webrtc, "ice-gathering-state", &state, NULL);
  if (state != GST_WEBRTC_ICE_GATHERING_STATE_COMPLETE)
    return;
  s->gathered = TRUE;
  GList *waiters = s->gather_waiters;
  s->gather_waiters = NULL;
  for (GList *l = waiters; l; l = l->next) {
    op_gathered (l->data);
    op_unref (l->data);
  }
  g_list_free (waiters);
}

static void
on_gathering_notify (GstElement *webrtc, GParamSpec *pspec, gpointer data)
{
  Session *s = data;
  post_main (session_on_gathering, session_ref (s), (GDestroyNotify) session_unref, NULL, NULL);
}

static void
session_request_keyframes (Session *s)
{
  for (guint i = 0; i < s->slots->len; i++) {
    Slot *slot = g_ptr_array_index (s->slots, i);
    if (slot->branch == NULL || g_strcmp0 (rt_caps_media (slot->branch->ingress->caps), "video") != 0)
      continue;
    g_autoptr (GstPad) tee_sink = gst_element_get_static_pad (slot->branch->ingress->tee, "sink");
    rt_request_keyframe (tee_sink);
  }
}

/* main: webrtcbin's connection state changed */
static void
session_on_connection (gpointer data, gpointer arg)
{
  Session *s = data;
  if (s->destroyed || s->webrtc == NULL)
    return;
  GstWebRTCPeerConnectionState state;
  g_object_get (s->webrtc, "connection-state", &state, NULL);
  switch (state) {
  case GST_WEBRTC_PEER_CONNECTION_STATE_CONNECTED:
    if (!s->connected)
      g_message ("session %s connected", s->id);
    s->connected = TRUE;
    s->ever_connected = TRUE;
    g_clear_handle_id (&s->gone_timer, g_source_remove);
    session_request_keyframes (s);
    break;
  case GST_WEBRTC_PEER_CONNECTION_STATE_DISCONNECTED:
  case GST_WEBRTC_PEER_CONNECTION_STATE_FAILED:
  case GST_WEBRTC_PEER_CONNECTION_STATE_CLOSED:
    if (s->connected)
      g_message ("session %s lost its connection", s->id);
    s->connected = FALSE;
    if (s->gone_timer == 0 && s->ever_connected)
      s->gone_timer = g_timeout_add_seconds (GONE_AFTER_S, on_gone_timer, s);
    break;
  default:
    break;
  }
}

static void
on_connection_notify (GstElement *webrtc, GParamSpec *pspec, gpointer data)
{
  Session *s = data;
  post_main (session_on_connection, session_ref (s), (GDestroyNotify) session_unref, NULL, NULL);
}

/* ---------- ingress: published media ---------- */

typedef struct {
  GstPad *pad;
  gulong probe;
  GstCaps *caps;
} PadArrival;

static void
pad_arrival_free (gpointer p)
{
  PadArrival *a = p;
  gst_object_unref (a->pad);
  gst_clear_caps (&a->caps);
  g_free (a);
}

/* main: a published pad has its first buffer (held back by the probe) */
static void
session_on_pad (gpointer data, gpointer arg)
{
  Session *s = data;
  PadArrival *a = arg;
  Sfu *sfu = s->sfu;
  if (s->destroyed) {
    gst_pad_remove_probe (a->pad, a->probe);
    return;
  }
  guint ssrc = 0;
  GstStructure *st = a->caps ? gst_caps_get_structure (a->caps, 0) : NULL;
  g_autofree char *mid = NULL;
  if (st != NULL && gst_structure_get_uint (st, "ssrc", &ssrc))
    mid = mid_for_ssrc (s->webrtc, "remote-description", ssrc);
  if (mid == NULL)
    mid = pad_transceiver_mid (a->pad);
  if (mid == NULL || g_hash_table_contains (s->ingress, mid)) {
    /* Media we cannot name (or a second SSRC on one m-line): let it drain. */
    g_message ("session %s: pad %s (ssrc %u, mid %s) is not a track: dropped", s->id, GST_PAD_NAME (a->pad),
               ssrc, mid ? mid : "?");
    GstElement *sink = gst_element_factory_make ("fakesink", NULL);
    g_object_set (sink, "async", FALSE, "sync", FALSE, NULL);
    gst_bin_add (GST_BIN (sfu->pipeline), sink);
    gst_element_sync_state_with_parent (sink);
    g_autoptr (GstPad) sink_pad = gst_element_get_static_pad (sink, "sink");
    gst_pad_link (a->pad, sink_pad);
    gst_pad_remove_probe (a->pad, a->probe);
    return;
  }
  Ingress *in = g_new0 (Ingress, 1);
  in->mid = g_strdup (mid);
  in->pad = gst_object_ref (a->pad);
  in->caps = a->caps ? gst_caps_ref (a->caps) : gst_caps_new_empty_simple ("application/x-rtp");
  in->branches = g_ptr_array_new ();
  in->tee = gst_element_factory_make ("tee", NULL);
  gst_object_ref_sink (in->tee);
  g_object_set (in->tee, "allow-not-linked", TRUE, NULL);
  gst_bin_add (GST_BIN (sfu->pipeline), in->tee);
  gst_element_sync_state_with_parent (in->tee);
  g_autoptr (GstPad) tee_sink = gst_element_get_static_pad (in->tee, "sink");
  rt_keyframe_gate_attach (tee_sink);
  if (gst_pad_link (a->pad, tee_sink) != GST_PAD_LINK_OK)
    g_warning ("session %s: cannot link mid %s to its tee", s->id, mid);
  g_hash_table_insert (s->ingress, g_strdup (mid), in);
  gst_pad_remove_probe (a->pad, a->probe);
  Track *t = session_track_by_mid (s, mid);
  g_message ("media: session=%s track=%s mid=%s kind=%s codec=%s ssrc=%u", s->id, t ? t->name : "-", mid,
             rt_caps_media (in->caps) ? rt_caps_media (in->caps) : "?",
             rt_caps_encoding (in->caps) ? rt_caps_encoding (in->caps) : "?", ssrc);
  wake_track_waiters (sfu);
}

static GstPadProbeReturn
hold_first_buffer (GstPad *pad, GstPadProbeInfo *info, gpointer data)
{
  Session *s = data;
  PadArrival *a = g_new0 (PadArrival, 1);
  a->pad = gst_object_ref (pad);
  a->probe = info->id;
  a->caps = gst_pad_get_current_caps (pad);
  post_main (session_on_pad, session_ref (s), (GDestroyNotify) session_unref, a, pad_arrival_free);
  return GST_PAD_PROBE_OK; /* stays blocked until the main context links it */
}

static void
on_pad_added (GstElement *webrtc, GstPad *pad, gpointer data)
{
  if (GST_PAD_DIRECTION (pad) != GST_PAD_SRC)
    return;
  /* Held (blocked) before the first buffer, so nothing flows into an unlinked pad. */
  gst_pad_add_probe (pad, GST_PAD_PROBE_TYPE_BLOCK | GST_PAD_PROBE_TYPE_BUFFER | GST_PAD_PROBE_TYPE_BUFFER_LIST,
                     hold_first_buffer, session_ref (data), (GDestroyNotify) session_unref);
}

static Session *
session_new (Sfu *sfu, App *app)
{
  Session *s = g_new0 (Session, 1);
  g_atomic_ref_count_init (&s->ref);
  s->sfu = sfu;
  s->app = app;
  s->id = random_id ();
  s->tracks = g_ptr_array_new_with_free_func (track_free);
  s->ingress = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, ingress_free);
  s->slots = g_ptr_array_new_with_free_func (slot_free);
  s->webrtc = gst_element_factory_make ("webrtcbin", NULL);
  gst_object_ref_sink (s->webrtc);
  g_object_set (s->webrtc, "bundle-policy", GST_WEBRTC_BUNDLE_POLICY_MAX_BUNDLE, "latency", 50, NULL);
  configure_ice (s->webrtc, sfu->local_addresses);
  /* The signal handlers hold no reference: they are gone with the element, which
   * goes (in session_destroy) before the session can be finalized. */
  g_signal_connect (s->webrtc, "notify::ice-gathering-state", G_CALLBACK (on_gathering_notify), s);
  g_signal_connect (s->webrtc, "notify::connection-state", G_CALLBACK (on_connection_notify), s);
  g_signal_connect (s->webrtc, "pad-added", G_CALLBACK (on_pad_added), s);
  gst_bin_add (GST_BIN (sfu->pipeline), s->webrtc);
  gst_element_sync_state_with_parent (s->webrtc);
  g_hash_table_insert (app->sessions, g_strdup (s->id), s);
  s->expire_timer = g_timeout_add_seconds (sfu->expire_unconnected_s, on_expire_timer, s);
  g_message ("session %s created (app %s)", s->id, app->id);
  return s;
}

/* ---------- ops: common ---------- */

static Item *
op_add_item (Op *op, RtTrack *req)
{
  Item *it = g_new0 (Item, 1);
  it->req = req;
  if (req != NULL) {
    it->mid = g_strdup (req->mid);
    it->track_name = g_strdup (req->track_name);
    it->session_id = g_strdup (req->session_id);
    if (req->error_code != NULL) {
      it->error_code = req->error_code;
      it->error_description = g_strdup (req->error_description);
    }
  }
  g_ptr_array_add (op->items, it);
  return it;
}

static void
item_error (Item *it, const char *code, const char *format, ...) G_GNUC_PRINTF (3, 4);

static void
item_error (Item *it, const char *code, const char *format, ...)
{
  if (it->error_code != NULL)
    return;
  va_list args;
  va_start (args, format);
  it->error_code = code;
  it->error_description = g_strdup_vprintf (format, args);
  va_end (args);
}

static void
add_string (JsonBuilder *b, const char *name, const char *value)
{
  if (value == NULL)
    return;
  json_builder_set_member_name (b, name);
  json_builder_add_string_value (b, value);
}

static void
add_items (Op *op, JsonBuilder *b, gboolean with_location)
{
  json_builder_set_member_name (b, "tracks");
  json_builder_begin_array (b);
  for (guint i = 0; i < op->items->len; i++) {
    Item *it = g_ptr_array_index (op->items, i);
    json_builder_begin_object (b);
    if (with_location && it->req && it->req->location != RT_LOCATION_NONE)
      add_string (b, "location", it->req->location == RT_LOCATION_LOCAL ? "local" : "remote");
    add_string (b, "sessionId", it->session_id);
    add_string (b, "trackName", it->track_name);
    add_string (b, "mid", it->mid);
    if (it->req && it->req->kind)
      add_string (b, "kind", it->req->kind);
    if (it->req && it->req->simulcast && !it->error_code) {
      json_builder_set_member_name (b, "simulcast");
      json_builder_add_value (b, json_node_copy (it->req->simulcast));
    }
    add_string (b, "errorCode", it->error_code);
    add_string (b, "errorDescription", it->error_description);
    json_builder_end_object (b);
  }
  json_builder_end_array (b);
}

/* Answers with the items, and the local description (offer or answer) if @sdp. */
static void
op_respond_tracks (Op *op, gboolean sdp)
{
  g_autoptr (JsonBuilder) b = json_builder_new ();
  json_builder_begin_object (b);
  if (op->kind == OP_NEW_SESSION)
    add_string (b, "sessionId", op->session->id);
  if (op->kind != OP_NEW_SESSION) {
    json_builder_set_member_name (b, "requiresImmediateRenegotiation");
    json_builder_add_boolean_value (b, sdp && op->sfu_offers);
  }
  if (sdp) {
    g_autofree char *text = description_text (op->session->webrtc, "local-description");
    if (text == NULL) {
      op_fail (op, 500, "internal_error", "no local description");
      return;
    }
    json_builder_set_member_name (b, "sessionDescription");
    json_builder_begin_object (b);
    add_string (b, "type", op->sfu_offers ? "offer" : "answer");
    add_string (b, "sdp", text);
    json_builder_end_object (b);
  }
  if (op->kind != OP_NEW_SESSION)
    add_items (op, b, FALSE);
  json_builder_end_object (b);
  g_autoptr (JsonNode) root = json_builder_get_root (b);
  if (sdp && op->sfu_offers)
    op->session->awaiting_answer = TRUE;
  op_respond (op, op->kind == OP_NEW_SESSION ? 201 : 200, root);
}

/* ---------- ops: negotiation ---------- */

typedef void (*PromiseStep) (Op *op, const GstStructure *reply);

typedef struct {
  Op *op;
  PromiseStep step;
} PromiseCall;

static void
promise_main (gpointer data, gpointer arg)
{
  PromiseCall *pc = data;
  GstPromise *promise = arg;
  if (!op_check_session (pc->op))
    return;
  const GstStructure *reply = NULL;
  if (gst_promise_wait (promise) == GST_PROMISE_RESULT_REPLIED)
    reply = gst_promise_get_reply (promise);
  pc->step (pc->op, reply);
}

static void
promise_call_free (gpointer p)
{
  PromiseCall *pc = p;
  op_unref (pc->op);
  g_free (pc);
}

static void
promise_changed (GstPromise *promise, gpointer data)
{
  PromiseCall *src = data;
  PromiseCall *pc = g_new0 (PromiseCall, 1);
  pc->op = op_ref (src->op);
  pc->step = src->step;
  post_main (promise_main, pc, promise_call_free, gst_promise_ref (promise), (GDestroyNotify) gst_promise_unref);
}

/* A promise whose reply is handed to @step on the main context. */
static GstPromise *
op_promise (Op *op, PromiseStep step)
{
  PromiseCall *pc = g_new0 (PromiseCall, 1);
  pc->op = op_ref (op);
  pc->step = step;
  return gst_promise_new_with_change_func (promise_changed, pc, promise_call_free);
}

static gboolean
reply_failed (const GstStructure *reply, char **message)
{
  const GError *err = NULL;
  if (reply != NULL && gst_structure_has_field (reply, "error"))
    gst_structure_get (reply, "error", G_TYPE_ERROR, &err, NULL);
  if (err == NULL)
    return FALSE;
  *message = g_strdup (err->message);
  g_error_free ((GError *) err);
  return TRUE;
}

static void op_finish_negotiation (Op *op);

static void
op_wait_gathering (Op *op)
{
  Session *s = op->session;
  GstWebRTCICEGatheringState state;
  g_object_get (s->webrtc, "ice-gathering-state", &state, NULL);
  if (state == GST_WEBRTC_ICE_GATHERING_STATE_COMPLETE || s->gathered) {
    op_finish_negotiation (op);
    return;
  }
  op->stage = STAGE_WAIT_GATHER;
  s->gather_waiters = g_list_append (s->gather_waiters, op_ref (op));
}

static gboolean
op_gather_timeout (gpointer data)
{
  Op *op = data;
  op->timer = 0;
  if (op->stage == STAGE_WAIT_GATHER && op_check_session (op)) {
    g_message ("session %s: ICE gathering not complete after %d ms: sending what we have", op->session->id,
               GATHER_WAIT_MS);
    op->stage = STAGE_NEGOTIATE;
    op_finish_negotiation (op);
  }
  return G_SOURCE_REMOVE;
}

static void
op_gathered (Op *op)
{
  if (op->stage != STAGE_WAIT_GATHER || !op_check_session (op))
    return;
  op->stage = STAGE_NEGOTIATE;
  op_finish_negotiation (op);
}

static void
local_set (Op *op, const GstStructure *reply)
{
  g_autofree char *message = NULL;
  if (reply_failed (reply, &message)) {
    op_fail (op, 500, "internal_error", message);
    return;
  }
  g_clear_handle_id (&op->timer, g_source_remove);
  op->timer = g_timeout_add_full (G_PRIORITY_DEFAULT, GATHER_WAIT_MS, op_gather_timeout, op_ref (op),
                                  (GDestroyNotify) op_unref);
  op_wait_gathering (op);
}

static void
description_created (Op *op, const GstStructure *reply)
{
  const char *field = op->sfu_offers ? "offer" : "answer";
  GstWebRTCSessionDescription *desc = NULL;
  g_autofree char *message = NULL;
  if (reply_failed (reply, &message) || reply == NULL || !gst_structure_has_field (reply, field)) {
    g_autofree char *text = g_strdup_printf ("cannot create the %s: %s", field, message ? message : "no reply");
    op_fail (op, op->sfu_offers ? 500 : 400, op->sfu_offers ? "internal_error" : "invalid_session_description",
             text);
    return;
  }
  gst_structure_get (reply, field, GST_TYPE_WEBRTC_SESSION_DESCRIPTION, &desc, NULL);
  g_signal_emit_by_name (op->session->webrtc, "set-local-description", desc, op_promise (op, local_set));
  gst_webrtc_session_description_free (desc);
}

static void
remote_offer_set (Op *op, const GstStructure *reply)
{
  g_autofree char *message = NULL;
  if (reply_failed (reply, &message)) {
    g_autofree char *text = g_strdup_printf ("the offer was refused: %s", message);
    op_fail (op, 400, "invalid_session_description", text);
    return;
  }
  g_signal_emit_by_name (op->session->webrtc, "create-answer", NULL, op_promise (op, description_created));
}

/* Applies the client's offer, answers it; op_finish_negotiation() runs once ICE
 * gathering is complete. */
static gboolean
op_answer_offer (Op *op, const char *sdp_text)
{
  GstSDPMessage *sdp = parse_sdp (sdp_text);
  if (sdp == NULL) {
    op_fail (op, 400, "invalid_session_description", "sessionDescription.sdp: cannot parse the SDP");
    return FALSE;
  }
  op->stage = STAGE_NEGOTIATE;
  op->sfu_offers = FALSE;
  GstWebRTCSessionDescription *desc = gst_webrtc_session_description_new (GST_WEBRTC_SDP_TYPE_OFFER, sdp);
  g_signal_emit_by_name (op->session->webrtc, "set-remote-description", desc, op_promise (op, remote_offer_set));
  gst_webrtc_session_description_free (desc);
  return TRUE;
}

#define SETTLE_WAIT_MS 5
#define SETTLE_TRIES 200

/* Whether webrtcbin holds the caps of every egress pad whose caps have passed our
 * probe (see slot_caps_ready_main): an offer made in between would crash it. */
static gboolean
session_caps_settled (Session *s)
{
  for (guint i = 0; i < s->slots->len; i++) {
    Slot *slot = g_ptr_array_index (s->slots, i);
    g_autoptr (GstCaps) passed = rt_rewriter_get_caps (slot->rw);
    if (passed != NULL && !gst_pad_has_current_caps (slot->sink))
      return FALSE;
  }
  return TRUE;
}

static void op_make_offer (Op *op);

static gboolean
op_make_offer_later (gpointer data)
{
  Op *op = data;
  if (op->stage == STAGE_NEGOTIATE && !op->sfu_offers && op_check_session (op))
    op_make_offer (op);
  return G_SOURCE_REMOVE;
}

static void
op_make_offer (Op *op)
{
  op->stage = STAGE_NEGOTIATE;
  if (!session_caps_settled (op->session) && op->settle_tries++ < SETTLE_TRIES) {
    g_timeout_add_full (G_PRIORITY_DEFAULT, SETTLE_WAIT_MS, op_make_offer_later, op_ref (op),
                        (GDestroyNotify) op_unref);
    return;
  }
  op->sfu_offers = TRUE;
  for (guint i = 0; i < op->session->slots->len; i++) {
    Slot *slot = g_ptr_array_index (op->session->slots, i);
    GstWebRTCRTPTransceiver *trans = NULL;
    g_object_get (slot->sink, "transceiver", &trans, NULL);
    if (trans != NULL) {
      g_object_set (trans, "direction", GST_WEBRTC_RTP_TRANSCEIVER_DIRECTION_SENDONLY, NULL);
      gst_object_unref (trans);
    }
  }
  g_signal_emit_by_name (op->session->webrtc, "create-offer", NULL, op_promise (op, description_created));
}

/* ---------- ops: push (local tracks) ---------- */

static gboolean
name_taken (Op *op, const char *name, Item *self)
{
  if (session_find_track (op->session, name) != NULL)
    return TRUE;
  for (guint i = 0; i < op->items->len; i++) {
    Item *it = g_ptr_array_index (op->items, i);
    if (it != self && it->created != NULL && g_strcmp0 (it->track_name, name) == 0)
      return TRUE;
  }
  return FALSE;
}

static Track *
session_add_track (Session *s, const char *name, const char *mid, const char *kind)
{
  Track *t = g_new0 (Track, 1);
  t->session = s;
  t->name = g_strdup (name);
  t->mid = g_strdup (mid);
  t->kind = g_strdup (kind);
  g_ptr_array_add (s->tracks, t);
  return t;
}

/* Names the local tracks of a push (with @sdp: the client's offer; without: the
 * remote description already applied). Tracks exist from now on, so a pull that
 * comes right after the answer finds them (and waits for their media). */
static void
op_bind_local_tracks (Op *op, const GstSDPMessage *sdp)
{
  for (guint i = 0; i < op->items->len; i++) {
    Item *it = g_ptr_array_index (op->items, i);
    if (it->error_code != NULL)
      continue;
    if (it->req->location != RT_LOCATION_LOCAL) {
      item_error (it, "invalid_params", "location: must be local here");
      continue;
    }
    if (it->req->bidirectional) {
      item_error (it, "invalid_params", "bidirectionalMediaStream: not supported by this SFU");
      continue;
    }
    if (it->mid == NULL) {
      item_error (it, "invalid_params", "mid: required (this SFU does not offer for local tracks)");
      continue;
    }
    const GstSDPMedia *m = find_media (sdp, it->mid);
    if (m == NULL) {
      item_error (it, "invalid_params", "mid: no m-line with mid %s in the offer", it->mid);
      continue;
    }
    const char *dir = media_direction (m);
    if (g_str_equal (dir, "recvonly") || g_str_equal (dir, "inactive")) {
      item_error (it, "invalid_params", "mid: the m-line of mid %s does not send (%s)", it->mid, dir);
      continue;
    }
    if (session_track_by_mid (op->session, it->mid) != NULL) {
      item_error (it, "invalid_params", "mid: %s already carries a track", it->mid);
      continue;
    }
    if (name_taken (op, it->track_name, it)) {
      item_error (it, "repeated_local_track_error", "trackName: this session already publishes a track named %s",
                  it->track_name);
      continue;
    }
    it->created = session_add_track (op->session, it->track_name, it->mid, gst_sdp_media_get_media (m));
  }
  if (!op->req->auto_discover || sdp == NULL)
    return;
  for (guint i = 0; i < gst_sdp_message_medias_len (sdp); i++) {
    const GstSDPMedia *m = gst_sdp_message_get_media (sdp, i);
    const char *mid = gst_sdp_media_get_attribute_val (m, "mid");
    const char *kind = gst_sdp_media_get_media (m);
    const char *dir = media_direction (m);
    if (mid == NULL || (g_strcmp0 (kind, "audio") != 0 && g_strcmp0 (kind, "video") != 0) ||
        g_str_equal (dir, "recvonly") || g_str_equal (dir, "inactive") ||
        session_track_by_mid (op->session, mid) != NULL)
      continue;
    Item *it = op_add_item (op, NULL);
    it->mid = g_strdup (mid);
    it->track_name = random_id ();
    it->created = session_add_track (op->session, it->track_name, mid, kind);
  }
}

static void
op_push_start (Op *op)
{
  for (guint i = 0; op->req && i < op->req->tracks->len; i++)
    op_add_item (op, g_ptr_array_index (op->req->tracks, i));
  GstSDPMessage *sdp = parse_sdp (op->req->sdp);
  if (sdp == NULL) {
    op_fail (op, 400, "invalid_session_description", "sessionDescription.sdp: cannot parse the SDP");
    return;
  }
  op_bind_local_tracks (op, sdp);
  gst_sdp_message_free (sdp);
  op_answer_offer (op, op->req->sdp);
}

/* tracks/new with local tracks and no SDP: names for mids of an offer applied earlier. */
static void
op_bind_start (Op *op)
{
  for (guint i = 0; i < op->req->tracks->len; i++)
    op_add_item (op, g_ptr_array_index (op->req->tracks, i));
  GstWebRTCSessionDescription *desc = NULL;
  g_object_get (op->session->webrtc, "remote-description", &desc, NULL);
  op_bind_local_tracks (op, desc ? desc->sdp : NULL);
  if (desc)
    gst_webrtc_session_description_free (desc);
  op_respond_tracks (op, FALSE);
}

/* ---------- ops: pull (remote tracks) ---------- */

static gboolean slot_caps_recheck (gpointer data);

/* main: the first caps passed the egress pad's probe. The probe runs before
 * webrtcbin's own event handler has taken them: an offer created in between
 * leaves the m-line out ("no caps available for transceiver") yet links the pad
 * once the answer is set, and webrtcbin 1.22 aborts (_connect_input_stream:
 * assertion trans->stream). So the slot is ready only once the pad holds the caps
 * as its current caps, which a sink pad stores after the element accepted them. */
static void
slot_caps_ready_main (gpointer data, gpointer arg)
{
  Sfu *sfu = the_sfu;
  Slot *slot = g_hash_table_lookup (sfu->slots, data);
  if (slot == NULL || slot->caps_ready || slot->closed)
    return;
  if (!gst_pad_has_current_caps (slot->sink)) {
    g_timeout_add (5, slot_caps_recheck, data);
    return;
  }
  slot->caps_ready = TRUE;
  if (slot->op == NULL)
    return;
  g_autoptr (Op) op = op_ref (slot->op); /* the timer may hold the last reference */
  slot->op = NULL;
  if (op->stage != STAGE_WAIT_CAPS || op->caps_pending == 0)
    return;
  if (--op->caps_pending == 0 && op_check_session (op)) {
    g_clear_handle_id (&op->timer, g_source_remove);
    op_make_offer (op);
  }
}

static gboolean
slot_caps_recheck (gpointer data)
{
  slot_caps_ready_main (data, NULL);
  return G_SOURCE_REMOVE;
}

static void
slot_caps_ready (gpointer user_data)
{
  post_main (slot_caps_ready_main, user_data, NULL, NULL, NULL);
}

static Slot *
slot_new (Session *s, Item *it, Ingress *in)
{
  Sfu *sfu = s->sfu;
  Slot *slot = g_new0 (Slot, 1);
  slot->serial = ++sfu->next_serial;
  slot->session = s;
  slot->source_session = g_strdup (it->session_id);
  slot->source_track = g_strdup (it->track_name);
  slot->source = session_ref (it->source);
  if (it->req && it->req->simulcast)
    slot->simulcast = json_node_copy (it->req->simulcast);
  slot->sink = gst_element_request_pad_simple (s->webrtc, "sink_%u");
  if (slot->sink == NULL) {
    slot_free (slot);
    return NULL;
  }
  slot->rw = rt_rewriter_attach (slot->sink, slot_caps_ready, GUINT_TO_POINTER (slot->serial), NULL);
  rt_rewriter_set_caps_delay (slot->rw, sfu->test_caps_delay_ms);
  g_hash_table_insert (sfu->slots, GUINT_TO_POINTER (slot->serial), slot);
  g_ptr_array_add (s->slots, slot);
  branch_attach (in, slot);
  return slot;
}

static void
slot_close (Slot *slot)
{
  branch_detach (slot->branch);
  slot->closed = TRUE;
  g_clear_pointer (&slot->source, session_unref);
}

/* Resolves each remote item's publisher and track. Returns how many still wait for
 * their media. With @final, those fail. */
static guint
op_resolve_sources (Op *op, gboolean final)
{
  guint waiting = 0;
  for (guint i = 0; i < op->items->len; i++) {
    Item *it = g_ptr_array_index (op->items, i);
    if (it->error_code != NULL || it->slot != NULL)
      continue;
    if (it->req->location != RT_LOCATION_REMOTE) {
      item_error (it, "invalid_params", "location: must be remote here");
      continue;
    }
    if (it->source == NULL) {
      Session *pub = g_hash_table_lookup (op->app->sessions, it->session_id);
      if (pub == NULL || pub->destroyed) {
        item_error (it, "not_found_track_error", "session %s not found", it->session_id);
        continue;
      }
      it->source = session_ref (pub);
    }
    if (it->source->destroyed) {
      item_error (it, "not_found_track_error", "session %s is gone", it->session_id);
      continue;
    }
    it->track = session_find_track (it->source, it->track_name);
    if (it->track == NULL) {
      item_error (it, "not_found_track_error", "session %s has no track %s", it->session_id, it->track_name);
      continue;
    }
    if (track_ingress (it->track) == NULL) {
      if (final)
        item_error (it, "not_found_track_error", "track %s of session %s is not sending", it->track_name,
                    it->session_id);
      else
        waiting++;
    }
  }
  return waiting;
}

static void op_sources_ready (Op *op);

static gboolean
op_stage_timeout (gpointer data)
{
  Op *op = data;
  op->timer = 0;
  if (!op_check_session (op))
    return G_SOURCE_REMOVE;
  if (op->stage == STAGE_WAIT_TRACKS) {
    op_resolve_sources (op, TRUE);
    op_sources_ready (op);
  } else if (op->stage == STAGE_WAIT_CAPS) {
    for (guint i = 0; i < op->items->len; i++) {
      Item *it = g_ptr_array_index (op->items, i);
      if (it->slot != NULL && !it->slot->caps_ready) {
        item_error (it, "not_found_track_error", "no media from track %s in %d ms", it->track_name, CAPS_WAIT_MS);
        it->slot->op = NULL;
        slot_close (it->slot);
      }
    }
    op->caps_pending = 0;
    op_make_offer (op);
  }
  return G_SOURCE_REMOVE;
}

static void
op_set_timer (Op *op, guint ms)
{
  g_clear_handle_id (&op->timer, g_source_remove);
  op->timer = g_timeout_add_full (G_PRIORITY_DEFAULT, ms, op_stage_timeout, op_ref (op), (GDestroyNotify) op_unref);
}

/* A published track got its media, or a publisher went: re-check (main). */
static void
op_track_event (Op *op)
{
  if (op->stage != STAGE_WAIT_TRACKS || !op_check_session (op))
    return;
  if (op_resolve_sources (op, FALSE) > 0) {
    op->sfu->track_waiters = g_list_prepend (op->sfu->track_waiters, op_ref (op));
    return;
  }
  g_clear_handle_id (&op->timer, g_source_remove);
  op_sources_ready (op);
}

static void op_update_sources_ready (Op *op);

static void
op_sources_ready (Op *op)
{
  if (op->kind == OP_UPDATE) {
    op_update_sources_ready (op);
    return;
  }
  guint n = 0;
  for (guint i = 0; i < op->items->len; i++) {
    Item *it = g_ptr_array_index (op->items, i);
    if (it->error_code != NULL)
      continue;
    it->slot = slot_new (op->session, it, track_ingress (it->track));
    if (it->slot == NULL) {
      item_error (it, "internal_error", "cannot add a transceiver");
      continue;
    }
    it->slot->op = op;
    n++;
  }
  if (n == 0) {
    op_respond_tracks (op, FALSE);
    return;
  }
  op->stage = STAGE_WAIT_CAPS;
  op->caps_pending = n;
  op_set_timer (op, CAPS_WAIT_MS);
}

static void
op_pull_start (Op *op)
{
  for (guint i = 0; i < op->req->tracks->len; i++)
    op_add_item (op, g_ptr_array_index (op->req->tracks, i));
  op->stage = STAGE_WAIT_TRACKS;
  if (op_resolve_sources (op, FALSE) == 0) {
    op_sources_ready (op);
    return;
  }
  op->sfu->track_waiters = g_list_prepend (op->sfu->track_waiters, op_ref (op));
  op_set_timer (op, TRACK_WAIT_MS);
}

/* After the SDP (offer or answer) is set and gathered: fill in mids, answer. */
static void
op_finish_negotiation (Op *op)
{
  g_clear_handle_id (&op->timer, g_source_remove);
  for (guint i = 0; i < op->items->len; i++) {
    Item *it = g_ptr_array_index (op->items, i);
    if (it->slot != NULL && it->error_code == NULL) {
      g_free (it->slot->mid);
      it->slot->mid = mid_for_ssrc (op->session->webrtc, "local-description", rt_rewriter_get_ssrc (it->slot->rw));
      if (it->slot->mid == NULL)
        it->slot->mid = pad_transceiver_mid (it->slot->sink);
      if (it->slot->mid == NULL) {
        item_error (it, "internal_error", "the SFU's offer lost this track's m-line");
        continue;
      }
      g_free (it->mid);
      it->mid = g_strdup (it->slot->mid);
      it->slot->announced = TRUE;
    }
  }
  op_respond_tracks (op, TRUE);
}

/* ---------- ops: renegotiate ---------- */

static void
remote_answer_set (Op *op, const GstStructure *reply)
{
  g_autofree char *message = NULL;
  if (reply_failed (reply, &message)) {
    g_autofree char *text = g_strdup_printf ("the answer was refused: %s", message);
    op_fail (op, 400, "invalid_session_description", text);
    return;
  }
  op->session->awaiting_answer = FALSE;
  for (guint i = 0; i < op->session->slots->len; i++) {
    Slot *slot = g_ptr_array_index (op->session->slots, i);
    if (slot->announced)
      rt_rewriter_set_live (slot->rw);
  }
  if (op->session->connected)
    session_request_keyframes (op->session);
  g_autoptr (JsonNode) node = json_node_init_object (json_node_alloc (), json_object_new ());
  op_respond (op, 200, node);
}

static void
op_renegotiate_start (Op *op)
{
  if (!op->session->awaiting_answer) {
    op_fail (op, 400, "invalid_params", "no SFU offer is waiting for an answer on this session");
    return;
  }
  GstSDPMessage *sdp = parse_sdp (op->req->sdp);
  if (sdp == NULL) {
    op_fail (op, 400, "invalid_session_description", "sessionDescription.sdp: cannot parse the SDP");
    return;
  }
  GstWebRTCSessionDescription *desc = gst_webrtc_session_description_new (GST_WEBRTC_SDP_TYPE_ANSWER, sdp);
  g_signal_emit_by_name (op->session->webrtc, "set-remote-description", desc, op_promise (op, remote_answer_set));
  gst_webrtc_session_description_free (desc);
}

/* ---------- ops: update (reuse a remote mid) ---------- */

static void
op_update_start (Op *op)
{
  for (guint i = 0; i < op->req->tracks->len; i++) {
    Item *it = op_add_item (op, g_ptr_array_index (op->req->tracks, i));
    if (it->error_code != NULL)
      continue;
    if (it->req->location != RT_LOCATION_REMOTE) {
      item_error (it, "update_track_error", "only remote tracks can be updated by this SFU");
      continue;
    }
    Slot *slot = session_slot_by_mid (op->session, it->mid);
    if (slot == NULL || !slot->announced) {
      item_error (it, "update_track_error", "mid %s is not a remote track of this session", it->mid);
      continue;
    }
  }
  op->stage = STAGE_WAIT_TRACKS;
  if (op_resolve_sources (op, FALSE) == 0) {
    op_update_sources_ready (op);
    return;
  }
  op->sfu->track_waiters = g_list_prepend (op->sfu->track_waiters, op_ref (op));
  op_set_timer (op, TRACK_WAIT_MS);
}

static void
op_update_sources_ready (Op *op)
{
  for (guint i = 0; i < op->items->len; i++) {
    Item *it = g_ptr_array_index (op->items, i);
    if (it->error_code != NULL)
      continue;
    Slot *slot = session_slot_by_mid (op->session, it->mid);
    Ingress *in = track_ingress (it->track);
    g_autoptr (GstCaps) caps = rt_rewriter_get_caps (slot->rw);
    if (caps == NULL || g_strcmp0 (rt_caps_encoding (caps), rt_caps_encoding (in->caps)) != 0) {
      item_error (it, "update_track_error", "mid %s carries %s; track %s is %s (renegotiate with tracks/new)",
                  it->mid, caps ? rt_caps_encoding (caps) : "nothing yet", it->track_name,
                  rt_caps_encoding (in->caps) ? rt_caps_encoding (in->caps) : "unknown");
      continue;
    }
    branch_detach (slot->branch);
    g_clear_pointer (&slot->source, session_unref);
    slot->source = session_ref (it->source);
    g_free (slot->source_session);
    slot->source_session = g_strdup (it->session_id);
    g_free (slot->source_track);
    slot->source_track = g_strdup (it->track_name);
    slot->closed = FALSE;
    branch_attach (in, slot);
    if (op->session->connected && g_strcmp0 (rt_caps_media (in->caps), "video") == 0) {
      g_autoptr (GstPad) tee_sink = gst_element_get_static_pad (in->tee, "sink");
      rt_request_keyframe (tee_sink);
    }
  }
  op_respond_tracks (op, FALSE);
}

/* ---------- ops: close ---------- */

static void
op_close_start (Op *op)
{
  Session *s = op->session;
  for (guint i = 0; i < op->req->tracks->len; i++) {
    Item *it = op_add_item (op, g_ptr_array_index (op->req->tracks, i));
    g_clear_pointer (&it->track_name, g_free);
    g_clear_pointer (&it->session_id, g_free);
    if (it->error_code != NULL)
      continue;
    Slot *slot = session_slot_by_mid (s, it->mid);
    Track *t = session_track_by_mid (s, it->mid);
    if (slot != NULL && !slot->closed) {
      slot_close (slot);
    } else if (t != NULL) {
      t->closed = TRUE;
      Ingress *in = g_hash_table_lookup (s->ingress, t->mid);
      if (in != NULL)
        while (in->branches->len > 0)
          branch_detach (g_ptr_array_index (in->branches, 0));
    } else {
      item_error (it, "close_track_error", "Track doesn't exist or was already closed");
    }
  }
  if (op->req->force) {
    op_respond_tracks (op, FALSE);
    return;
  }
  op_answer_offer (op, op->req->sdp);
}

/* ---------- HTTP ---------- */

static RtRequestKind
request_kind (OpKind kind)
{
  switch (kind) {
  case OP_NEW_SESSION:
    return RT_REQUEST_NEW_SESSION;
  case OP_RENEGOTIATE:
    return RT_REQUEST_RENEGOTIATE;
  case OP_UPDATE:
    return RT_REQUEST_TRACKS_UPDATE;
  case OP_CLOSE:
    return RT_REQUEST_TRACKS_CLOSE;
  case OP_PUSH:
  case OP_BIND:
  case OP_PULL:
    break;
  }
  return RT_REQUEST_TRACKS_NEW;
}

static void
respond_session_state (SoupServerMessage *msg, Session *s)
{
  g_autoptr (JsonBuilder) b = json_builder_new ();
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "tracks");
  json_builder_begin_array (b);
  for (guint i = 0; i < s->tracks->len; i++) {
    Track *t = g_ptr_array_index (s->tracks, i);
    json_builder_begin_object (b);
    add_string (b, "location", "local");
    add_string (b, "mid", t->mid);
    add_string (b, "trackName", t->name);
    add_string (b, "status", t->closed ? "inactive" : "active");
    json_builder_end_object (b);
  }
  for (guint i = 0; i < s->slots->len; i++) {
    Slot *slot = g_ptr_array_index (s->slots, i);
    if (!slot->announced)
      continue;
    gboolean active = !slot->closed && slot->branch != NULL;
    json_builder_begin_object (b);
    add_string (b, "location", "remote");
    add_string (b, "mid", slot->mid);
    add_string (b, "sessionId", slot->source_session);
    add_string (b, "trackName", slot->source_track);
    add_string (b, "status", active ? "active" : "inactive");
    json_builder_end_object (b);
  }
  json_builder_end_array (b);
  json_builder_set_member_name (b, "dataChannels");
  json_builder_begin_array (b);
  json_builder_end_array (b);
  json_builder_end_object (b);
  g_autoptr (JsonNode) root = json_builder_get_root (b);
  respond_node (msg, 200, root);
}

/* Every wait of an op is bounded (media 5 s, caps 5 s, ICE gathering 10 s) except
 * webrtcbin's promises: should one never be answered, the client still gets an
 * answer, and the log says where it stuck. */
static gboolean
op_deadline_passed (gpointer data)
{
  Op *op = data;
  op->deadline = 0;
  if (op->responded)
    return G_SOURCE_REMOVE;
  g_message ("session %s: request (op %d) stuck in stage %d for %d ms: failed", op->session->id, op->kind,
             op->stage, OP_DEADLINE_MS);
  op_fail (op, 500, "internal_error", "the SFU did not complete this request in time");
  return G_SOURCE_REMOVE;
}

static void
start_op (Sfu *sfu, App *app, Session *s, SoupServerMessage *msg, OpKind kind)
{
  SoupMessageBody *body = soup_server_message_get_request_body (msg);
  g_autoptr (GBytes) bytes = soup_message_body_flatten (body);
  g_autoptr (GError) error = NULL;
  gsize size = 0;
  const char *data = g_bytes_get_data (bytes, &size);
  g_autoptr (RtRequest) req = rt_request_parse (request_kind (kind), data ? data : "", size, &error);
  if (req == NULL) {
    respond_error (msg, rt_error_http_status (error->code), rt_error_code_name (error->code), error->message);
    return;
  }
  if (kind == OP_PUSH) {
    if (req->location == RT_LOCATION_REMOTE)
      kind = OP_PULL;
    else if (req->sdp == NULL)
      kind = OP_BIND;
    if (kind == OP_PULL && req->sdp != NULL) {
      respond_error (msg, 400, "invalid_params",
                     "sessionDescription: this SFU makes the offer for remote tracks (send none)");
      return;
    }
  }
  if (s != NULL) {
    if (s->op != NULL) {
      respond_error (msg, 406, "session_error",
                     "another operation on this session is in progress: serialize them");
      return;
    }
    gboolean needs_stable = kind != OP_RENEGOTIATE && !(kind == OP_CLOSE && req->force);
    if (needs_stable && s->awaiting_answer) {
      respond_error (msg, 406, "session_error",
                     "the SFU's offer is waiting for its answer (PUT renegotiate first)");
      return;
    }
  }
  g_autoptr (Op) op = g_new0 (Op, 1);
  g_atomic_ref_count_init (&op->ref);
  op->kind = kind;
  op->sfu = sfu;
  op->app = app;
  op->msg = g_object_ref (msg);
  op->req = g_steal_pointer (&req);
  op->items = g_ptr_array_new_with_free_func (item_free);
  if (kind == OP_NEW_SESSION) {
    if (op->req->sdp == NULL) {
      Session *fresh = session_new (sfu, app);
      g_autoptr (JsonBuilder) b = json_builder_new ();
      json_builder_begin_object (b);
      add_string (b, "sessionId", fresh->id);
      json_builder_end_object (b);
      g_autoptr (JsonNode) root = json_builder_get_root (b);
      respond_node (msg, 201, root);
      return;
    }
    s = session_new (sfu, app);
  }
  op->session = session_ref (s);
  s->op = op;
  op->deadline = g_timeout_add (OP_DEADLINE_MS, op_deadline_passed, op);
  soup_server_message_pause (msg);
  switch (kind) {
  case OP_NEW_SESSION:
    op_answer_offer (op, op->req->sdp);
    break;
  case OP_PUSH:
    op_push_start (op);
    break;
  case OP_BIND:
    op_bind_start (op);
    break;
  case OP_PULL:
    op_pull_start (op);
    break;
  case OP_RENEGOTIATE:
    op_renegotiate_start (op);
    break;
  case OP_UPDATE:
    op_update_start (op);
    break;
  case OP_CLOSE:
    op_close_start (op);
    break;
  }
}

static gboolean
authorized (SoupServerMessage *msg, App *app)
{
  const char *auth = soup_message_headers_get_one (soup_server_message_get_request_headers (msg), "Authorization");
  if (auth == NULL || g_ascii_strncasecmp (auth, "Bearer ", 7) != 0)
    return FALSE;
  const char *token = auth + 7;
  while (*token == ' ')
    token++;
  return constant_time_equal (token, app->secret);
}

typedef struct {
  char *line;                 /* "METHOD /path" */
  gint64 start;
} Request;

static void
request_free (gpointer data, GClosure *closure)
{
  Request *r = data;
  g_free (r->line);
  g_free (r);
}

/* One line per request: what was asked, the status and how long it took. */
static void
on_request_finished (SoupServerMessage *msg, gpointer data)
{
  Request *r = data;
  g_message ("http: %s -> %u (%" G_GINT64_FORMAT " ms)", r->line, soup_server_message_get_status (msg),
             (g_get_monotonic_time () - r->start) / 1000);
}

static void
handler (SoupServer *server, SoupServerMessage *msg, const char *path, GHashTable *query, gpointer data)
{
  Sfu *sfu = data;
  const char *method = soup_server_message_get_method (msg);
  Request *r = g_new0 (Request, 1);
  r->line = g_strdup_printf ("%s %s", method, path);
  r->start = g_get_monotonic_time ();
  g_message ("http: %s ...", r->line);
  g_signal_connect_data (msg, "finished", G_CALLBACK (on_request_finished), r, request_free, 0);
  /* /v1/apps/{app}/sessions/... ; /apps/{app}/... (legacy, no /v1) too */
  if (g_str_has_prefix (path, "/v1/"))
    path += 3;
  g_auto (GStrv) parts = g_strsplit (path, "/", 0);
  guint n = g_strv_length (parts);
  if (n < 5 || parts[0][0] != '\0' || !g_str_equal (parts[1], "apps") || !g_str_equal (parts[3], "sessions")) {
    respond_error (msg, 404, "not_found", "no such resource");
    return;
  }
  App *app = g_hash_table_lookup (sfu->apps, parts[2]);
  if (app == NULL) {
    respond_error (msg, 404, "not_found", "no such app");
    return;
  }
  if (!authorized (msg, app)) {
    respond_error (msg, 401, "unauthorized", "missing or wrong bearer token for this app");
    return;
  }
  if (n == 5 && g_str_equal (parts[4], "new")) {
    if (!g_str_equal (method, "POST")) {
      respond_error (msg, 405, "invalid_params", "use POST");
      return;
    }
    start_op (sfu, app, NULL, msg, OP_NEW_SESSION);
    return;
  }
  Session *s = g_hash_table_lookup (app->sessions, parts[4]);
  if (s == NULL) {
    if (g_hash_table_contains (app->gone, parts[4]))
      respond_error (msg, 410, "session_error", "the session is gone");
    else
      respond_error (msg, 404, "not_found", "no such session");
    return;
  }
  const char *want = NULL;
  OpKind kind = OP_PUSH;
  if (n == 5) {
    if (g_str_equal (method, "GET")) {
      respond_session_state (msg, s);
      return;
    }
    want = "GET";
  } else if (n == 7 && g_str_equal (parts[5], "tracks") && g_str_equal (parts[6], "new")) {
    want = "POST";
    kind = OP_PUSH;
  } else if (n == 7 && g_str_equal (parts[5], "tracks") && g_str_equal (parts[6], "update")) {
    want = "PUT";
    kind = OP_UPDATE;
  } else if (n == 7 && g_str_equal (parts[5], "tracks") && g_str_equal (parts[6], "close")) {
    want = "PUT";
    kind = OP_CLOSE;
  } else if (n == 6 && g_str_equal (parts[5], "renegotiate")) {
    want = "PUT";
    kind = OP_RENEGOTIATE;
  } else {
    respond_error (msg, 404, "not_found", "no such resource (DataChannels and adapters are not implemented)");
    return;
  }
  if (!g_str_equal (method, want)) {
    g_autofree char *text = g_strdup_printf ("use %s", want);
    respond_error (msg, 405, "invalid_params", text);
    return;
  }
  start_op (sfu, app, s, msg, kind);
}

/* ---------- main ---------- */

static gboolean
on_quit_signal (gpointer data)
{
  g_main_loop_quit (data);
  return G_SOURCE_REMOVE;
}

/* SIGUSR1 (tests): every session that pulls tracks is gone at once, as if the SFU
 * had lost it; its subscribers learn it from their connection or the API (410). */
static gboolean
on_drop_signal (gpointer data)
{
  Sfu *sfu = data;
  GHashTableIter iter;
  gpointer value;
  g_hash_table_iter_init (&iter, sfu->apps);
  while (g_hash_table_iter_next (&iter, NULL, &value)) {
    App *app = value;
    g_autoptr (GList) sessions = g_hash_table_get_values (app->sessions);
    for (GList *l = sessions; l; l = l->next) {
      Session *s = l->data;
      if (s->slots->len > 0) {
        g_autoptr (Session) keep G_GNUC_UNUSED = session_ref (s);
        session_destroy (s, "dropped (SIGUSR1)");
      }
    }
  }
  return G_SOURCE_CONTINUE;
}

static gboolean
on_bus (GstBus *bus, GstMessage *message, gpointer data)
{
  g_autoptr (GError) err = NULL;
  g_autofree char *debug = NULL;
  if (GST_MESSAGE_TYPE (message) == GST_MESSAGE_ERROR) {
    gst_message_parse_error (message, &err, &debug);
    g_message ("GStreamer error from %s: %s (%s)", GST_OBJECT_NAME (message->src), err->message,
               debug ? debug : "");
  }
  return G_SOURCE_CONTINUE;
}

static void
app_free (gpointer p)
{
  App *app = p;
  g_free (app->id);
  g_free (app->secret);
  g_hash_table_unref (app->sessions);
  g_hash_table_unref (app->gone);
  g_free (app);
}

static gboolean
parse_listen (const char *listen, char **host, guint16 *port, GError **error)
{
  const char *colon = strrchr (listen, ':');
  guint64 p = 0;
  if (colon == NULL || colon == listen || !g_ascii_string_to_unsigned (colon + 1, 10, 0, 65535, &p, NULL)) {
    g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE, "--listen: HOST:PORT, not %s", listen);
    return FALSE;
  }
  *host = g_strndup (listen, (gsize) (colon - listen));
  if ((*host)[0] == '[') {
    char *inner = g_strndup (*host + 1, strlen (*host) - 2);
    g_free (*host);
    *host = inner;
  }
  *port = (guint16) p;
  return TRUE;
}

int
main (int argc, char **argv)
{
  g_autofree char *listen = NULL;
  g_auto (GStrv) apps = NULL;
  g_auto (GStrv) local_addresses = NULL;
  gint expire = 120;
  gint caps_delay = 0;
  GOptionEntry entries[] = {
    { "listen", 0, 0, G_OPTION_ARG_STRING, &listen, "HTTP address, e.g. 127.0.0.1:0", "HOST:PORT" },
    { "app", 0, 0, G_OPTION_ARG_STRING_ARRAY, &apps, "an app and its secret (repeatable)", "APPID:SECRET" },
    { "local-address", 0, 0, G_OPTION_ARG_STRING_ARRAY, &local_addresses,
      "an address ICE may use (repeatable; no STUN/TURN)", "ADDR" },
    { "expire-unconnected", 0, 0, G_OPTION_ARG_INT, &expire,
      "seconds after which a session that never connected is gone (120)", "S" },
    { "test-caps-delay", 0, G_OPTION_FLAG_HIDDEN, G_OPTION_ARG_INT, &caps_delay,
      "tests: hold each egress pad's first caps this long before webrtcbin sees them", "MS" },
    { NULL },
  };
  g_autoptr (GOptionContext) ctx = g_option_context_new ("- a local Cloudflare-Realtime-compatible SFU");
  g_option_context_add_main_entries (ctx, entries, NULL);
  g_option_context_add_group (ctx, gst_init_get_option_group ());
  g_autoptr (GError) error = NULL;
  if (!g_option_context_parse (ctx, &argc, &argv, &error)) {
    g_printerr ("reel-realtime-sfu: %s\n", error->message);
    return 2;
  }
  if (listen == NULL || apps == NULL || local_addresses == NULL || expire < 1 || caps_delay < 0 ||
      caps_delay > 5000) {
    g_printerr ("reel-realtime-sfu: --listen, --app and --local-address are required\n");
    return 2;
  }
  gst_init (&argc, &argv);

  Sfu sfu = { 0 };
  the_sfu = &sfu;
  sfu.expire_unconnected_s = (guint) expire;
  sfu.test_caps_delay_ms = (guint) caps_delay;
  sfu.local_addresses = local_addresses;
  sfu.slots = g_hash_table_new (g_direct_hash, g_direct_equal);
  sfu.apps = g_hash_table_new_full (g_str_hash, g_str_equal, NULL, app_free);
  for (guint i = 0; apps[i]; i++) {
    const char *colon = strchr (apps[i], ':');
    if (colon == NULL || colon == apps[i] || colon[1] == '\0') {
      g_printerr ("reel-realtime-sfu: --app APPID:SECRET, not %s\n", apps[i]);
      return 2;
    }
    App *app = g_new0 (App, 1);
    app->id = g_strndup (apps[i], (gsize) (colon - apps[i]));
    app->secret = g_strdup (colon + 1);
    app->sessions = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, (GDestroyNotify) session_unref);
    app->gone = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
    g_hash_table_replace (sfu.apps, app->id, app);
  }
  for (guint i = 0; local_addresses[i]; i++) {
    NiceAddress addr;
    if (!nice_address_set_from_string (&addr, local_addresses[i])) {
      g_printerr ("reel-realtime-sfu: --local-address: not an IP address: %s\n", local_addresses[i]);
      return 2;
    }
  }
  g_autofree char *host = NULL;
  guint16 port = 0;
  if (!parse_listen (listen, &host, &port, &error)) {
    g_printerr ("reel-realtime-sfu: %s\n", error->message);
    return 2;
  }
  g_autoptr (GInetAddress) inet = g_inet_address_new_from_string (host);
  if (inet == NULL) {
    g_printerr ("reel-realtime-sfu: --listen: not an IP address: %s\n", host);
    return 2;
  }

  sfu.loop = g_main_loop_new (NULL, FALSE);
  sfu.pipeline = gst_pipeline_new ("sfu");
  g_autoptr (GstBus) bus = gst_element_get_bus (sfu.pipeline);
  guint bus_watch = gst_bus_add_watch (bus, on_bus, &sfu);
  gst_element_set_state (sfu.pipeline, GST_STATE_PLAYING);

  SoupServer *server = soup_server_new ("server-header", "reel-realtime-sfu", NULL);
  soup_server_add_handler (server, NULL, handler, &sfu, NULL);
  g_autoptr (GSocketAddress) sa = g_inet_socket_address_new (inet, port);
  if (!soup_server_listen (server, sa, 0, &error)) {
    g_printerr ("reel-realtime-sfu: cannot listen on %s: %s\n", listen, error->message);
    return 1;
  }
  GSList *uris = soup_server_get_uris (server);
  if (uris == NULL) {
    g_printerr ("reel-realtime-sfu: no address to listen on\n");
    return 1;
  }
  GUri *u = uris->data;
  gboolean v6 = g_inet_address_get_family (inet) == G_SOCKET_FAMILY_IPV6;
  printf (v6 ? "listening on http://[%s]:%d\n" : "listening on http://%s:%d\n", g_uri_get_host (u), g_uri_get_port (u));
  fflush (stdout);
  g_slist_free_full (uris, (GDestroyNotify) g_uri_unref);

  g_unix_signal_add (SIGTERM, on_quit_signal, sfu.loop);
  g_unix_signal_add (SIGINT, on_quit_signal, sfu.loop);
  g_unix_signal_add (SIGUSR1, on_drop_signal, &sfu);
  g_main_loop_run (sfu.loop);

  g_message ("stopping");
  soup_server_disconnect (server);
  g_object_unref (server);
  GHashTableIter iter;
  gpointer value;
  g_hash_table_iter_init (&iter, sfu.apps);
  while (g_hash_table_iter_next (&iter, NULL, &value)) {
    App *app = value;
    g_autoptr (GList) sessions = g_hash_table_get_values (app->sessions);
    for (GList *l = sessions; l; l = l->next) {
      g_autoptr (Session) s = session_ref (l->data);
      if (s->op != NULL)
        g_message ("session %s: a request (op %d) was still in stage %d", s->id, s->op->kind, s->op->stage);
      session_destroy (s, "SFU stopping");
    }
  }
  for (GList *l = sfu.track_waiters; l; l = l->next)
    op_unref (l->data);
  g_list_free (sfu.track_waiters);
  gst_element_set_state (sfu.pipeline, GST_STATE_NULL);
  g_source_remove (bus_watch);
  gst_object_unref (sfu.pipeline);
  g_hash_table_unref (sfu.apps);
  g_hash_table_unref (sfu.slots);
  g_main_loop_unref (sfu.loop);
  return 0;
}
