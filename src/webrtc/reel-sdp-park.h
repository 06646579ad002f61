/* m-lines an SFU turns "inactive" and may later reuse for another track.
 *
 * webrtcbin 1.22 cannot bring an m-line back from inactive ("transceiver
 * direction changes are not implemented"), and the failure leaves every
 * m-line after it unset. SFUs reuse such m-lines for new tracks (Janus does for
 * a publisher of the same codec). So webrtcbin never sees one go inactive: the
 * offer it gets keeps the m-line sending, and the answer the SFU gets says
 * inactive, which is what the SFU asked for. */
#pragma once

#include <gst/sdp/sdp.h>

G_BEGIN_DECLS

GArray *reel_sdp_park_inactive (GstSDPMessage *offer, GArray *seen_active);
void reel_sdp_mark_inactive (GstSDPMessage *answer, GArray *parked);

G_END_DECLS
