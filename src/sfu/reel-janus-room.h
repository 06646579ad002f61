/* reel-janus-room.h: the "janus" provider: a Janus VideoRoom over the Janus HTTP
 * API (long-poll).
 *
 * Two plugin handles on one Janus session: a publisher that never publishes (so
 * the room's publishers / unpublished / leaving events reach us; other
 * participants see no stream from reel), and one multistream subscriber whose
 * offers the WebRTC session answers. A lost Janus session is rebuilt with
 * backoff; meanwhile participants stay (their tiles show placeholders) and their
 * tracks come back under a new session key.
 *
 * Errors: a room that does not exist → room_not_found; a wrong pin →
 * unauthorized_room; a Janus that does not answer the first time → sfu_unreachable.
 */
#pragma once

#include "sfu/reel-room-spec.h"
#include "sfu/reel-room.h"

G_BEGIN_DECLS

#define REEL_TYPE_JANUS_ROOM (reel_janus_room_get_type ())
G_DECLARE_FINAL_TYPE (ReelJanusRoom, reel_janus_room, REEL, JANUS_ROOM, GObject)

/* Returns: (transfer full): a room for @spec (provider janus) */
ReelJanusRoom *reel_janus_room_new (const ReelRoomSpec *spec);

G_END_DECLS
