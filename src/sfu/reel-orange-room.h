/* reel-orange-room.h: the "orange" provider: an Orange Meets room, recorded by the
 * deployment's URL and the room's name.
 *
 * reel takes an identity as a browser does (POST /set-username → the __session
 * cookie), reads the room page's loader data (an E2EE deployment is refused with
 * e2ee_not_supported), then opens the room WebSocket
 * (/parties/rooms/<room>?_pk=<id>) with that cookie and sends a heartbeat every
 * 5 s. It stays hidden (never joined) unless the request asks for a visible
 * recorder. Every roomState is the whole truth: the joined users other than reel,
 * their audio, video and screen share tracks ("sessionId/trackName"), and their
 * names. Those tracks are pulled by a ReelCloudflareRoom, through the deployment's
 * /partytracks proxy (which locks each session to the client that made it with a
 * cookie) or, when reel's configuration has the deployment's Realtime app and its
 * secret, from the Realtime API directly. A screen share is a participant of its
 * own ("<id>:screen"), so it gets its own tile.
 *
 * The WebSocket is opened again with backoff when it drops; the pulls go on
 * meanwhile. With no joined user for empty_timeout_s the room emits "ended" (the
 * recording stops and finishes); leaving sends userLeft and closes, so reel never
 * keeps a meeting alive.
 *
 * Errors: the deployment does not answer → sfu_unreachable; 401/403 from the
 * WebSocket or the proxy → unauthorized_room; an encrypted room (loader flag or
 * MLS traffic) → e2ee_not_supported; a WebSocket that never brings a valid
 * roomState → room_protocol_error (malformed messages) or room_failed (closed).
 */
#pragma once

#include "sfu/reel-room-spec.h"
#include "sfu/reel-room.h"

G_BEGIN_DECLS

#define REEL_TYPE_ORANGE_ROOM (reel_orange_room_get_type ())
G_DECLARE_FINAL_TYPE (ReelOrangeRoom, reel_orange_room, REEL, ORANGE_ROOM, GObject)

/* How tracks are pulled and when the room is over. */
typedef struct {
  guint empty_timeout_s;      /* used when the request gives none */
  const char *app_id;         /* (nullable) with @app_secret: pull from the API directly */
  const char *app_secret;     /* (nullable) never logged */
  const char *api_url;        /* (nullable) the Realtime API of @app_id */
  const char *simulcast_rid;  /* (nullable) */
} ReelOrangeOptions;

/* @spec: provider orange
 * Returns: (transfer full): the room */
ReelOrangeRoom *reel_orange_room_new (const ReelRoomSpec *spec, const ReelOrangeOptions *options);

G_END_DECLS
