/* reel-webrtc-session.h: the subscriber side of one WebRTC connection to an SFU.
 *
 * A bin around webrtcbin that answers the SFU's SDP offers (reel never offers and
 * never sends media), decodes every track that arrives and exposes one decoded
 * pad per track, ghosted on the bin as "track_<mid>". The room adapter tells the
 * session which track each mid carries; the session knows nothing about rooms.
 *
 * Every signal is emitted on the main context; webrtcbin's own threads and the
 * streaming threads only post there.
 *
 * Signals:
 *  "answer" (utf8 sdp)              the answer to the last offer; without trickle it
 *                                   is emitted once ICE gathering is complete and
 *                                   carries every local candidate
 *  "local-candidate" (guint mline, utf8 candidate)   trickle only
 *  "track-pad" (utf8 mid, utf8 kind, GstPad *pad)    decoded raw audio or video of
 *                                   a mid, ready to link ("audio" | "video")
 *  "failed" (GError *error)         negotiation, ICE or DTLS failed for good
 */
#pragma once

#include <gst/gst.h>

G_BEGIN_DECLS

#define REEL_TYPE_WEBRTC_SESSION (reel_webrtc_session_get_type ())
G_DECLARE_FINAL_TYPE (ReelWebrtcSession, reel_webrtc_session, REEL, WEBRTC_SESSION, GstBin)

/* @pipelines_dir: where the decode-*.pipeline templates are.
 * @local_addresses: (nullable) (array zero-terminated=1): the only host addresses ICE
 * may use (empty or NULL: libnice's choice). UPnP is always off; no STUN/TURN.
 * @latency_ms: jitter buffer size.
 * Returns: (transfer floating): the session bin, to add to a pipeline */
ReelWebrtcSession *reel_webrtc_session_new (const char *name, const char *pipelines_dir,
                                            const char *const *local_addresses, guint latency_ms);

/* Applies an SDP offer from the SFU and creates the answer ("answer" signal).
 * Safe to call again for a renegotiation. */
gboolean reel_webrtc_session_handle_offer (ReelWebrtcSession *self, const char *sdp,
                                           gboolean trickle, GError **error);

/* A remote trickle candidate ("candidate:..." line, or empty for end-of-candidates). */
void reel_webrtc_session_add_remote_candidate (ReelWebrtcSession *self, guint mline,
                                               const char *candidate);

/* The track with @mid is gone: its RTP is dropped from now on (so its EOS cannot
 * stop the shared BUNDLE transport) and its decoder chain is released. The caller
 * must have unlinked the "track_<mid>" pad first. */
void reel_webrtc_session_release_track (ReelWebrtcSession *self, const char *mid);

/* Asks the sender of @mid for a keyframe (PLI/FIR). */
void reel_webrtc_session_request_keyframe (ReelWebrtcSession *self, const char *mid);

G_END_DECLS
