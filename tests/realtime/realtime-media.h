/* realtime-media.h: the RTP plumbing of the local Realtime SFU.
 *
 * Direct forwarding (webrtcbin-facts.md): one tee per published track, one leaky
 * queue per subscriber branch, into a sink pad of the subscriber's webrtcbin. The
 * egress pad carries an RtRewriter probe that gives each subscriber transceiver its
 * own SSRC (like Cloudflare), keeps sequence numbers and timestamps continuous when
 * tracks/update swaps the source, advertises clean caps for the SFU's offer, and
 * turns keyframe requests from the subscriber into plain upstream requests that the
 * publisher's webrtcbin maps to its own SSRC.
 *
 * Thread rule: the probes run on streaming threads and touch only the rewriter (its
 * own lock); what the session must learn is posted to the main context by the
 * callback given to rt_rewriter_new().
 */
#pragma once

#include <gst/gst.h>

G_BEGIN_DECLS

typedef struct _RtRewriter RtRewriter;

/* Called on a streaming thread when the first caps reach the egress pad. */
typedef void (*RtCapsReady) (gpointer user_data);

/* A rewriter for one egress transceiver, probing @sink (a webrtcbin sink pad).
 * @ready is called once with @user_data; @destroy frees @user_data when the
 * probe goes. */
RtRewriter *rt_rewriter_attach (GstPad *sink, RtCapsReady ready, gpointer user_data, GDestroyNotify destroy);

/* Guards a branch's queue src pad (linked to the egress pad): its buffers are dropped
 * until rt_rewriter_set_live(). webrtcbin holds the buffers of an m-line that is not
 * negotiated yet, with the pushing thread blocked inside it: without this guard an
 * unanswered offer would hang whoever stops that queue. */
void rt_rewriter_guard (RtRewriter *rw, GstPad *queue_src);
/* The subscriber's answer covers this transceiver: let media through. */
void rt_rewriter_set_live (RtRewriter *rw);

/* For tests: hold the first caps event this long after calling @ready, before
 * webrtcbin sees it (widens the window slot readiness must not fall into). */
void rt_rewriter_set_caps_delay (RtRewriter *rw, guint ms);

/* (transfer full) (nullable) the caps the egress pad advertises, once known */
GstCaps *rt_rewriter_get_caps (RtRewriter *rw);
guint32 rt_rewriter_get_ssrc (RtRewriter *rw);

/* Drops the subscriber's keyframe requests that come too close together, and strips
 * their SSRC so that the publisher's webrtcbin fills in its own. Installed on the
 * sink pad of a published track's tee. */
void rt_keyframe_gate_attach (GstPad *tee_sink);

/* Asks the publisher for a keyframe (upstream from @tee_sink, through the gate). */
void rt_request_keyframe (GstPad *tee_sink);

/* The encoding name (e.g. "VP8") and media ("audio" | "video") of RTP caps. */
const char *rt_caps_encoding (const GstCaps *caps);
const char *rt_caps_media (const GstCaps *caps);

G_END_DECLS
