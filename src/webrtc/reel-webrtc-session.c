/* reel-webrtc-session.c: answer SFU offers with webrtcbin, decode every track.
 *
 * Thread rule: webrtcbin answers promises and emits its signals on its own
 * thread, and adds pads from streaming threads. Those callbacks copy what they
 * need, take a reference and post to the main context (post_to_main); the
 * session's state is only touched there.
 */
#include "webrtc/reel-webrtc-session.h"

#include "base/reel-error.h"
#include "output/reel-pipeline-template.h"
#include "webrtc/reel-sdp-park.h"

#define GST_USE_UNSTABLE_API
#include <gst/sdp/sdp.h>
#include <gst/video/video.h>
#include <gst/webrtc/webrtc.h>
#include <nice/nice.h>

GST_DEBUG_CATEGORY_STATIC (reel_webrtc_debug);
#define GST_CAT_DEFAULT reel_webrtc_debug

typedef struct {
  char *mid;
  char *kind;                 /* "audio" | "video" */
  GstPad *webrtc_pad;         /* (owned) webrtcbin's src pad */
  GstElement *chain;          /* (owned) (nullable) queue ! depay ! decoder */
  GstPad *ghost;              /* (unowned) "track_<mid>" on the session bin */
  gulong block_probe;
  gboolean released;
} Track;

struct _ReelWebrtcSession {
  GstBin parent_instance;
  GstElement *webrtc;
  char *pipelines_dir;
  gboolean trickle;
  gboolean answer_pending;    /* waiting for ICE gathering to complete */
  gboolean failed;
  GHashTable *tracks;         /* mid → Track */
  GPtrArray *pending_pads;    /* (element-type Track) pads waiting for their caps */
  GArray *seen_active;        /* (element-type gboolean) per m-line: see reel-sdp-park.h */
  GArray *parked;             /* (element-type guint) m-lines the answer marks inactive */
};

G_DEFINE_FINAL_TYPE (ReelWebrtcSession, reel_webrtc_session, GST_TYPE_BIN)

enum { SIG_ANSWER, SIG_LOCAL_CANDIDATE, SIG_TRACK_PAD, SIG_FAILED, N_SIGNALS };
static guint signals[N_SIGNALS];

/* ---------- main-context marshalling ---------- */

typedef void (*MainFunc) (ReelWebrtcSession *self, gpointer data);

typedef struct {
  ReelWebrtcSession *self;
  MainFunc func;
  gpointer data;
  GDestroyNotify destroy;
} MainCall;

static gboolean
main_call_dispatch (gpointer p)
{
  MainCall *call = p;
  call->func (call->self, call->data);
  return G_SOURCE_REMOVE;
}

static void
main_call_free (gpointer p)
{
  MainCall *call = p;
  if (call->destroy && call->data)
    call->destroy (call->data);
  gst_object_unref (call->self);
  g_free (call);
}

/* Always deferred, never run in the calling thread, even on the main thread:
 * webrtcbin may call us with its own locks held. */
static void
post_to_main (ReelWebrtcSession *self, MainFunc func, gpointer data, GDestroyNotify destroy)
{
  MainCall *call = g_new0 (MainCall, 1);
  call->self = gst_object_ref (self);
  call->func = func;
  call->data = data;
  call->destroy = destroy;
  GSource *source = g_idle_source_new ();
  g_source_set_priority (source, G_PRIORITY_DEFAULT);
  g_source_set_callback (source, main_call_dispatch, call, main_call_free);
  g_source_attach (source, NULL);
  g_source_unref (source);
}

static void
fail (ReelWebrtcSession *self, const char *format, ...) G_GNUC_PRINTF (2, 3);

static void
fail (ReelWebrtcSession *self, const char *format, ...)
{
  if (self->failed)
    return;
  self->failed = TRUE;
  va_list args;
  va_start (args, format);
  g_autofree char *message = g_strdup_vprintf (format, args);
  va_end (args);
  GST_WARNING_OBJECT (self, "%s", message);
  g_autoptr (GError) error = g_error_new_literal (REEL_ERROR, REEL_ERROR_ROOM_FAILED, message);
  g_signal_emit (self, signals[SIG_FAILED], 0, error);
}

/* ---------- negotiation ---------- */

static void
emit_answer (ReelWebrtcSession *self)
{
  GstWebRTCSessionDescription *local = NULL;
  g_object_get (self->webrtc, "local-description", &local, NULL);
  if (local == NULL) {
    fail (self, "no local description after creating the answer");
    return;
  }
  reel_sdp_mark_inactive (local->sdp, self->parked);
  g_autofree char *text = gst_sdp_message_as_text (local->sdp);
  gst_webrtc_session_description_free (local);
  self->answer_pending = FALSE;
  g_signal_emit (self, signals[SIG_ANSWER], 0, text);
}

static void
answer_set_on_main (ReelWebrtcSession *self, gpointer data)
{
  GstWebRTCICEGatheringState state;
  g_object_get (self->webrtc, "ice-gathering-state", &state, NULL);
  if (self->trickle || state == GST_WEBRTC_ICE_GATHERING_STATE_COMPLETE)
    emit_answer (self);
  else
    self->answer_pending = TRUE;
}

static gboolean
promise_failed (GstPromise *promise, const char *what, char **message)
{
  if (gst_promise_wait (promise) != GST_PROMISE_RESULT_REPLIED) {
    *message = g_strdup_printf ("%s: no reply", what);
    return TRUE;
  }
  const GstStructure *reply = gst_promise_get_reply (promise);
  GError *error = NULL;
  if (reply != NULL && gst_structure_has_field (reply, "error")) {
    gst_structure_get (reply, "error", G_TYPE_ERROR, &error, NULL);
    *message = g_strdup_printf ("%s: %s", what, error ? error->message : "failed");
    g_clear_error (&error);
    return TRUE;
  }
  return FALSE;
}

static void
fail_on_main (ReelWebrtcSession *self, gpointer message)
{
  fail (self, "%s", (const char *) message);
}

/* Only once webrtcbin has taken the answer is "local-description" this answer. */
static void
on_local_set (GstPromise *promise, gpointer user_data)
{
  ReelWebrtcSession *self = user_data;
  char *message = NULL;
  if (promise_failed (promise, "set-local-description", &message))
    post_to_main (self, fail_on_main, message, g_free);
  else
    post_to_main (self, answer_set_on_main, NULL, NULL);
  gst_promise_unref (promise);
}

static void
on_answer_created (GstPromise *promise, gpointer user_data)
{
  ReelWebrtcSession *self = user_data;
  char *message = NULL;
  if (promise_failed (promise, "create-answer", &message)) {
    post_to_main (self, fail_on_main, message, g_free);
    gst_promise_unref (promise);
    return;
  }
  GstWebRTCSessionDescription *answer = NULL;
  gst_structure_get (gst_promise_get_reply (promise), "answer",
                     GST_TYPE_WEBRTC_SESSION_DESCRIPTION, &answer, NULL);
  gst_promise_unref (promise);
  if (answer == NULL) {
    post_to_main (self, fail_on_main, g_strdup ("create-answer gave no answer"), g_free);
    return;
  }
  GstPromise *set = gst_promise_new_with_change_func (on_local_set, gst_object_ref (self),
                                                      gst_object_unref);
  g_signal_emit_by_name (self->webrtc, "set-local-description", answer, set);
  gst_webrtc_session_description_free (answer);
}

static void
on_remote_set (GstPromise *promise, gpointer user_data)
{
  ReelWebrtcSession *self = user_data;
  char *message = NULL;
  if (promise_failed (promise, "set-remote-description", &message)) {
    post_to_main (self, fail_on_main, message, g_free);
    gst_promise_unref (promise);
    return;
  }
  gst_promise_unref (promise);
  GstPromise *next = gst_promise_new_with_change_func (on_answer_created, gst_object_ref (self),
                                                       gst_object_unref);
  g_signal_emit_by_name (self->webrtc, "create-answer", NULL, next);
}

/**
 * reel_webrtc_session_handle_offer:
 * @sdp: the SFU's offer
 * @trickle: %TRUE to answer at once and trickle candidates
 * Returns: %TRUE if the offer parsed; the outcome comes with "answer" or "failed"
 */
gboolean
reel_webrtc_session_handle_offer (ReelWebrtcSession *self, const char *sdp, gboolean trickle,
                                  GError **error)
{
  GstSDPMessage *msg = NULL;
  if (gst_sdp_message_new_from_text (sdp, &msg) != GST_SDP_OK || msg == NULL ||
      gst_sdp_message_medias_len (msg) == 0) {
    if (msg)
      gst_sdp_message_free (msg);
    g_set_error (error, REEL_ERROR, REEL_ERROR_ROOM_FAILED, "the SFU's offer is not valid SDP");
    return FALSE;
  }
  self->trickle = trickle;
  GST_DEBUG_OBJECT (self, "offer:\n%s", sdp);
  g_array_unref (self->parked);
  self->parked = reel_sdp_park_inactive (msg, self->seen_active);
  GstWebRTCSessionDescription *offer = gst_webrtc_session_description_new (GST_WEBRTC_SDP_TYPE_OFFER, msg);
  GstPromise *promise = gst_promise_new_with_change_func (on_remote_set, gst_object_ref (self),
                                                          gst_object_unref);
  g_signal_emit_by_name (self->webrtc, "set-remote-description", offer, promise);
  gst_webrtc_session_description_free (offer);
  return TRUE;
}

/**
 * reel_webrtc_session_add_remote_candidate:
 * @candidate: an a=candidate value, or "" at the end of candidates
 */
void
reel_webrtc_session_add_remote_candidate (ReelWebrtcSession *self, guint mline,
                                          const char *candidate)
{
  g_signal_emit_by_name (self->webrtc, "add-ice-candidate", mline, candidate);
}

typedef struct {
  guint mline;
  char *candidate;
} Candidate;

static void
candidate_free (gpointer p)
{
  Candidate *c = p;
  g_free (c->candidate);
  g_free (c);
}

static void
candidate_on_main (ReelWebrtcSession *self, gpointer data)
{
  Candidate *c = data;
  if (self->trickle)
    g_signal_emit (self, signals[SIG_LOCAL_CANDIDATE], 0, c->mline, c->candidate);
}

static void
on_ice_candidate (GstElement *webrtc, guint mline, const char *candidate, gpointer user_data)
{
  Candidate *c = g_new0 (Candidate, 1);
  c->mline = mline;
  c->candidate = g_strdup (candidate);
  post_to_main (user_data, candidate_on_main, c, candidate_free);
}

static void
gathering_on_main (ReelWebrtcSession *self, gpointer data)
{
  GstWebRTCICEGatheringState state;
  g_object_get (self->webrtc, "ice-gathering-state", &state, NULL);
  if (state == GST_WEBRTC_ICE_GATHERING_STATE_COMPLETE && self->answer_pending)
    emit_answer (self);
}

static void
on_gathering_state (GObject *webrtc, GParamSpec *pspec, gpointer user_data)
{
  post_to_main (user_data, gathering_on_main, NULL, NULL);
}

static void
connection_on_main (ReelWebrtcSession *self, gpointer data)
{
  GstWebRTCPeerConnectionState state;
  g_object_get (self->webrtc, "connection-state", &state, NULL);
  GST_INFO_OBJECT (self, "connection state %d", state);
  if (state == GST_WEBRTC_PEER_CONNECTION_STATE_FAILED)
    fail (self, "the WebRTC connection failed (ICE or DTLS)");
}

static void
on_connection_state (GObject *webrtc, GParamSpec *pspec, gpointer user_data)
{
  post_to_main (user_data, connection_on_main, NULL, NULL);
}

/* NACK on every receiving transceiver: lost packets are asked for again within
 * the jitter buffer's time instead of showing as corruption. */
static void
on_new_transceiver (GstElement *webrtc, GstWebRTCRTPTransceiver *trans, gpointer user_data)
{
  if (g_object_class_find_property (G_OBJECT_GET_CLASS (trans), "do-nack"))
    g_object_set (trans, "do-nack", TRUE, NULL);
}

/* ---------- tracks ---------- */

static void
track_free (Track *t)
{
  g_free (t->mid);
  g_free (t->kind);
  g_clear_object (&t->webrtc_pad);
  g_clear_object (&t->chain);
  g_free (t);
}

static const char *
decoder_template (const char *encoding)
{
  static const struct { const char *encoding, *templ; } table[] = {
    { "VP8", "decode-vp8" }, { "VP9", "decode-vp9" }, { "H264", "decode-h264" },
    { "OPUS", "decode-opus" },
  };
  for (gsize i = 0; i < G_N_ELEMENTS (table); i++)
    if (g_ascii_strcasecmp (encoding, table[i].encoding) == 0)
      return table[i].templ;
  return NULL;
}

/* queue (leaky: a slow decoder never holds back the shared transport) ! decoder */
static GstElement *
build_chain (ReelWebrtcSession *self, const char *mid, const char *encoding, GError **error)
{
  const char *templ = decoder_template (encoding);
  if (templ == NULL) {
    g_set_error (error, REEL_ERROR, REEL_ERROR_MEDIA, "mid %s: codec %s is not supported", mid, encoding);
    return NULL;
  }
  g_autofree char *name = g_strdup_printf ("dec-%s", mid);
  GstElement *dec = reel_pipeline_template_make_bin (self->pipelines_dir, templ, NULL, name, error);
  if (dec == NULL)
    return NULL;
  GstElement *chain = gst_bin_new (NULL);
  GstElement *queue = gst_element_factory_make ("queue", NULL);
  g_object_set (queue, "max-size-buffers", 0, "max-size-bytes", 0,
                "max-size-time", (guint64) GST_SECOND, "leaky", 2, NULL);
  gst_bin_add_many (GST_BIN (chain), queue, dec, NULL);
  gst_element_link (queue, dec);
  g_autoptr (GstPad) qsink = gst_element_get_static_pad (queue, "sink");
  g_autoptr (GstPad) dsrc = gst_element_get_static_pad (dec, "src");
  gst_element_add_pad (chain, gst_ghost_pad_new ("sink", qsink));
  gst_element_add_pad (chain, gst_ghost_pad_new ("src", dsrc));
  return chain;
}

static char *
pad_mid (GstPad *pad)
{
  GstWebRTCRTPTransceiver *trans = NULL;
  char *mid = NULL;
  if (g_object_class_find_property (G_OBJECT_GET_CLASS (pad), "transceiver"))
    g_object_get (pad, "transceiver", &trans, NULL);
  if (trans != NULL) {
    g_object_get (trans, "mid", &mid, NULL);
    gst_object_unref (trans);
  }
  return mid;
}

/* The mid whose m-line announces @ssrc (a=ssrc:<ssrc> ...) in the remote
 * description. webrtcbin 1.22 does not demux by the MID header extension, and the
 * transceiver it gives a pad can be the wrong one (or none) after a
 * renegotiation; the SSRC is what identifies the stream. */
static char *
mid_for_ssrc (ReelWebrtcSession *self, guint ssrc)
{
  GstWebRTCSessionDescription *remote = NULL;
  g_object_get (self->webrtc, "remote-description", &remote, NULL);
  if (remote == NULL)
    return NULL;
  char *found = NULL;
  for (guint i = 0; i < gst_sdp_message_medias_len (remote->sdp) && found == NULL; i++) {
    const GstSDPMedia *media = gst_sdp_message_get_media (remote->sdp, i);
    const char *mid = gst_sdp_media_get_attribute_val (media, "mid");
    for (guint j = 0; mid != NULL && j < gst_sdp_media_attributes_len (media); j++) {
      const GstSDPAttribute *attr = gst_sdp_media_get_attribute (media, j);
      if (g_strcmp0 (attr->key, "ssrc") == 0 && attr->value != NULL &&
          g_ascii_strtoull (attr->value, NULL, 10) == ssrc) {
        found = g_strdup (mid);
        break;
      }
    }
  }
  gst_webrtc_session_description_free (remote);
  return found;
}

typedef struct {
  GstPad *pad;
  GstCaps *caps;
} PadCaps;

static void
pad_caps_free (gpointer p)
{
  PadCaps *pc = p;
  gst_object_unref (pc->pad);
  gst_caps_unref (pc->caps);
  g_free (pc);
}

/* On main: the pad is blocked at its caps; build its decoder and let it flow. */
static void
pad_ready_on_main (ReelWebrtcSession *self, gpointer data)
{
  PadCaps *pc = data;
  GstStructure *s = gst_caps_get_structure (pc->caps, 0);
  guint ssrc = 0;
  g_autofree char *mid = gst_structure_get_uint (s, "ssrc", &ssrc) ? mid_for_ssrc (self, ssrc) : NULL;
  if (mid == NULL)
    mid = pad_mid (pc->pad);
  const char *media = gst_structure_get_string (s, "media");
  const char *encoding = gst_structure_get_string (s, "encoding-name");
  if (mid == NULL || media == NULL || encoding == NULL) {
    g_autofree char *caps = gst_caps_to_string (pc->caps);
    GST_WARNING_OBJECT (self, "pad %s (mid %s, %s) without mid or codec: ignored",
                        GST_PAD_NAME (pc->pad), mid ? mid : "none", caps);
    return;
  }
  Track *old = g_hash_table_lookup (self->tracks, mid);
  if (old != NULL && !old->released) {
    GST_INFO_OBJECT (self, "mid %s already has a track; new pad %s ignored", mid, GST_PAD_NAME (pc->pad));
    return;
  }
  g_autoptr (GError) error = NULL;
  GstElement *chain = build_chain (self, mid, encoding, &error);
  if (chain == NULL) {
    GST_WARNING_OBJECT (self, "%s", error->message);
    return;
  }
  Track *t = g_new0 (Track, 1);
  t->mid = g_strdup (mid);
  t->kind = g_strdup (g_str_equal (media, "video") ? "video" : "audio");
  t->webrtc_pad = gst_object_ref (pc->pad);
  t->chain = gst_object_ref (chain);
  gst_bin_add (GST_BIN (self), chain);
  g_autoptr (GstPad) sink = gst_element_get_static_pad (chain, "sink");
  g_autoptr (GstPad) src = gst_element_get_static_pad (chain, "src");
  gst_pad_link (pc->pad, sink);
  g_autofree char *ghost_name = g_strdup_printf ("track_%s", mid);
  t->ghost = gst_ghost_pad_new (ghost_name, src);
  gst_pad_set_active (t->ghost, TRUE);
  gst_element_add_pad (GST_ELEMENT (self), t->ghost);
  gst_element_sync_state_with_parent (chain);
  g_hash_table_replace (self->tracks, t->mid, t);
  GST_INFO_OBJECT (self, "mid %s: %s %s decoding", mid, media, encoding);
  g_signal_emit (self, signals[SIG_TRACK_PAD], 0, t->mid, t->kind, t->ghost);
  /* Unblock: the first data goes into a linked decoder. */
  gst_pad_remove_probe (pc->pad, GPOINTER_TO_SIZE (g_object_get_data (G_OBJECT (pc->pad), "reel-block")));
  if (g_str_equal (t->kind, "video"))
    reel_webrtc_session_request_keyframe (self, t->mid);
}

/* Streaming thread: hold the new pad at its caps until main has a decoder. */
static GstPadProbeReturn
pad_block_at_caps (GstPad *pad, GstPadProbeInfo *info, gpointer user_data)
{
  if (!(info->type & GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM))
    return GST_PAD_PROBE_OK; /* a buffer before caps: stay blocked */
  GstEvent *event = GST_PAD_PROBE_INFO_EVENT (info);
  if (GST_EVENT_TYPE (event) != GST_EVENT_CAPS)
    return GST_PAD_PROBE_PASS;
  if (g_object_get_data (G_OBJECT (pad), "reel-posted") == NULL) {
    g_object_set_data (G_OBJECT (pad), "reel-posted", GINT_TO_POINTER (1));
    GstCaps *caps = NULL;
    gst_event_parse_caps (event, &caps);
    PadCaps *pc = g_new0 (PadCaps, 1);
    pc->pad = gst_object_ref (pad);
    pc->caps = gst_caps_ref (caps);
    post_to_main (user_data, pad_ready_on_main, pc, pad_caps_free);
  }
  return GST_PAD_PROBE_OK;
}

static void
on_pad_added (GstElement *webrtc, GstPad *pad, gpointer user_data)
{
  if (GST_PAD_DIRECTION (pad) != GST_PAD_SRC)
    return;
  gulong id = gst_pad_add_probe (pad, GST_PAD_PROBE_TYPE_BLOCK_DOWNSTREAM, pad_block_at_caps,
                                 user_data, NULL);
  g_object_set_data (G_OBJECT (pad), "reel-block", GSIZE_TO_POINTER (id));
}

static GstPadProbeReturn
drop_everything (GstPad *pad, GstPadProbeInfo *info, gpointer user_data)
{
  if (info->type & GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM) {
    GstEvent *event = GST_PAD_PROBE_INFO_EVENT (info);
    /* Sticky configuration may pass; EOS and data may not. */
    if (GST_EVENT_TYPE (event) != GST_EVENT_EOS && GST_EVENT_TYPE (event) != GST_EVENT_SEGMENT)
      return GST_PAD_PROBE_PASS;
  }
  return GST_PAD_PROBE_DROP;
}

/**
 * reel_webrtc_session_release_track:
 * @mid: a mid whose "track_<mid>" pad is no longer linked
 */
void
reel_webrtc_session_release_track (ReelWebrtcSession *self, const char *mid)
{
  Track *t = g_hash_table_lookup (self->tracks, mid);
  if (t == NULL || t->released)
    return;
  t->released = TRUE;
  /* webrtcbin 1.22 pushes EOS into a removed m-line, which then stops the whole
   * BUNDLE transport: swallow it and the track's RTP here. */
  gst_pad_add_probe (t->webrtc_pad, GST_PAD_PROBE_TYPE_DATA_DOWNSTREAM, drop_everything, NULL, NULL);
  /* The chain's thread may be held in the graph's blocking probe on our ghost
   * pad: flushing that pad first wakes it, so the chain can stop without waiting
   * for a thread that waits for us. */
  gst_pad_set_active (t->ghost, FALSE);
  g_autoptr (GstPad) sink = gst_element_get_static_pad (t->chain, "sink");
  gst_pad_unlink (t->webrtc_pad, sink);
  gst_element_set_locked_state (t->chain, TRUE);
  gst_element_set_state (t->chain, GST_STATE_NULL);
  gst_element_remove_pad (GST_ELEMENT (self), t->ghost);
  gst_bin_remove (GST_BIN (self), t->chain);
  g_clear_object (&t->chain);
  GST_INFO_OBJECT (self, "mid %s released", mid);
}

/**
 * reel_webrtc_session_request_keyframe:
 * @mid: a video track's mid
 */
void
reel_webrtc_session_request_keyframe (ReelWebrtcSession *self, const char *mid)
{
  Track *t = g_hash_table_lookup (self->tracks, mid);
  if (t == NULL || t->released || t->chain == NULL)
    return;
  g_autoptr (GstPad) sink = gst_element_get_static_pad (t->chain, "sink");
  /* Upstream from the decoder's input: webrtcbin turns it into a PLI/FIR. */
  gst_pad_push_event (sink, gst_video_event_new_upstream_force_key_unit (GST_CLOCK_TIME_NONE,
                                                                        TRUE, 0));
}

/* ---------- construction ---------- */

static void
configure_ice (ReelWebrtcSession *self, const char *const *local_addresses)
{
  GObject *ice = NULL;
  g_object_get (self->webrtc, "ice-agent", &ice, NULL);
  if (ice == NULL)
    return;
  if (g_object_class_find_property (G_OBJECT_GET_CLASS (ice), "ice-tcp"))
    g_object_set (ice, "ice-tcp", FALSE, NULL);
  NiceAgent *agent = NULL;
  if (g_object_class_find_property (G_OBJECT_GET_CLASS (ice), "agent"))
    g_object_get (ice, "agent", &agent, NULL);
  if (agent != NULL) {
    /* UPnP sends SSDP multicast out of every interface: never. */
    g_object_set (agent, "upnp", FALSE, NULL);
    for (guint i = 0; local_addresses && local_addresses[i]; i++) {
      NiceAddress addr;
      nice_address_init (&addr);
      if (nice_address_set_from_string (&addr, local_addresses[i]))
        nice_agent_add_local_address (agent, &addr);
      else
        GST_WARNING_OBJECT (self, "not an address: %s", local_addresses[i]);
    }
    g_object_unref (agent);
  }
  g_object_unref (ice);
}

/**
 * reel_webrtc_session_new:
 * Returns: (transfer floating): the session
 */
ReelWebrtcSession *
reel_webrtc_session_new (const char *name, const char *pipelines_dir,
                         const char *const *local_addresses, guint latency_ms)
{
  ReelWebrtcSession *self = g_object_new (REEL_TYPE_WEBRTC_SESSION, "name", name, NULL);
  self->pipelines_dir = g_strdup (pipelines_dir);
  self->webrtc = gst_element_factory_make ("webrtcbin", "webrtc");
  g_object_set (self->webrtc, "bundle-policy", GST_WEBRTC_BUNDLE_POLICY_MAX_BUNDLE,
                "latency", latency_ms, NULL);
  gst_bin_add (GST_BIN (self), self->webrtc);
  configure_ice (self, local_addresses);
  g_signal_connect_object (self->webrtc, "pad-added", G_CALLBACK (on_pad_added), self, 0);
  g_signal_connect_object (self->webrtc, "on-ice-candidate", G_CALLBACK (on_ice_candidate), self, 0);
  g_signal_connect_object (self->webrtc, "on-new-transceiver", G_CALLBACK (on_new_transceiver), self, 0);
  g_signal_connect_object (self->webrtc, "notify::ice-gathering-state",
                           G_CALLBACK (on_gathering_state), self, 0);
  g_signal_connect_object (self->webrtc, "notify::connection-state",
                           G_CALLBACK (on_connection_state), self, 0);
  return self;
}

static void
reel_webrtc_session_finalize (GObject *object)
{
  ReelWebrtcSession *self = REEL_WEBRTC_SESSION (object);
  g_hash_table_unref (self->tracks);
  g_array_unref (self->seen_active);
  g_array_unref (self->parked);
  g_free (self->pipelines_dir);
  G_OBJECT_CLASS (reel_webrtc_session_parent_class)->finalize (object);
}

static void
reel_webrtc_session_init (ReelWebrtcSession *self)
{
  self->tracks = g_hash_table_new_full (g_str_hash, g_str_equal, NULL, (GDestroyNotify) track_free);
  self->seen_active = g_array_new (FALSE, TRUE, sizeof (gboolean));
  self->parked = g_array_new (FALSE, FALSE, sizeof (guint));
  /* Live sources inside: the bin must not wait for preroll. */
  g_object_set (self, "async-handling", TRUE, NULL);
}

static void
reel_webrtc_session_class_init (ReelWebrtcSessionClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = reel_webrtc_session_finalize;
  GST_DEBUG_CATEGORY_INIT (reel_webrtc_debug, "reel-webrtc", 0, "reel WebRTC subscriber");
  GType t = G_TYPE_FROM_CLASS (klass);
  signals[SIG_ANSWER] = g_signal_new ("answer", t, G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                                      G_TYPE_NONE, 1, G_TYPE_STRING);
  signals[SIG_LOCAL_CANDIDATE] = g_signal_new ("local-candidate", t, G_SIGNAL_RUN_LAST, 0, NULL,
                                               NULL, NULL, G_TYPE_NONE, 2, G_TYPE_UINT, G_TYPE_STRING);
  signals[SIG_TRACK_PAD] = g_signal_new ("track-pad", t, G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                                         G_TYPE_NONE, 3, G_TYPE_STRING, G_TYPE_STRING, GST_TYPE_PAD);
  signals[SIG_FAILED] = g_signal_new ("failed", t, G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                                      G_TYPE_NONE, 1, G_TYPE_ERROR);
}
