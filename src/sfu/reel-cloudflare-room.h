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

/* Where the Connection API is reached and how (all strings copied). */
typedef struct {
  const char *base;           /* the URL the API's paths ("sessions/new", ...) follow:
                               * "<api_url>/apps/<app_id>", or a proxy such as an Orange
                               * deployment's "https://host/partytracks" */
  const char *secret;         /* (nullable) sent as a bearer token, never logged; a
                               * proxy adds its own */
  const char *label;          /* logs: "cloudflare app X" */
  const char *service;        /* messages: who answers ("Cloudflare Realtime") */
  const char *credential;     /* messages: what it may refuse ("the secret of app X") */
  const char *scope;          /* messages: what it may not know ("app X") */
  const char *simulcast_rid;  /* (nullable) the simulcast layer to ask for */
  gboolean probe;             /* tracks not published yet: read their publisher's session
                               * (GET) before pulling again; off for a proxy that locks
                               * sessions to their creator */
  gboolean keep_cookies;      /* send back the cookies it sets (a proxy's session lock) */
  gboolean forbidden_fatal;   /* HTTP 403 ends the room as a refusal, like 401 */
} ReelCfEndpoint;

/* Returns: (transfer full): "<api_url>/apps/<app_id>" */
char *reel_cf_app_base (const char *api_url, const char *app_id);

/* A room that pulls whatever reel_cloudflare_room_set_tracks() lists, through
 * @endpoint; the base of other providers on Cloudflare Realtime (Orange Meets).
 * Tracks name their participant (and its display name).
 * Returns: (transfer full): the room */
ReelCloudflareRoom *reel_cloudflare_room_new_for_endpoint (const ReelCfEndpoint *endpoint);

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
