/* reel-cloudflare-room.h: the "cloudflare" provider: explicit tracks pulled from
 * Cloudflare Realtime (or a compatible SFU) over its HTTPS API.
 *
 * One SFU session (one WebRTC connection) pulls every listed track: sessions/new,
 * then tracks/new with remote tracks and no SDP (64 at most per call), whose SFU
 * offer the WebRTC session answers (renegotiate). Every mutation of the session
 * runs one after the other. A track the SFU does not have yet (not published,
 * no media) is asked for again with backoff and shows as "pending" meanwhile;
 * a removed track is closed with force (no SDP exchange). A lost session
 * (HTTP 410, ICE or DTLS failure) is replaced and every track pulled again;
 * participants stay meanwhile (placeholder tiles).
 *
 * Participants: tracks with the same `participant` are one participant; a track
 * without one belongs to a participant named after its publisher's session.
 *
 * Errors: the API does not answer the first time → sfu_unreachable; HTTP 401 →
 * unauthorized_room; an unknown app → room_not_found.
 */
#pragma once

#include "sfu/reel-room-spec.h"
#include "sfu/reel-room.h"

G_BEGIN_DECLS

#define REEL_TYPE_CLOUDFLARE_ROOM (reel_cloudflare_room_get_type ())
G_DECLARE_FINAL_TYPE (ReelCloudflareRoom, reel_cloudflare_room, REEL, CLOUDFLARE_ROOM, GObject)

/* @spec: provider cloudflare
 * @secret: the app secret (sent as a bearer token, never logged)
 * @simulcast_rid: (nullable): the simulcast layer to ask for
 * Returns: (transfer full): the room */
ReelCloudflareRoom *reel_cloudflare_room_new (const ReelRoomSpec *spec, const char *secret,
                                              const char *simulcast_rid);

/* Replaces the list of tracks to pull: new ones are pulled, missing ones closed.
 * @tracks: (element-type ReelRemoteTrack) */
void reel_cloudflare_room_set_tracks (ReelCloudflareRoom *self, const GPtrArray *tracks);

G_END_DECLS
