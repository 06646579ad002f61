/* reel-track-router.h: routes an SFU room's tracks into the recording graph.
 *
 * It owns the WebRTC sessions of one recording (one per session key the room
 * offers on), answers their offers through the room, and links each decoded
 * track pad into the graph once the room has said which participant and track a
 * (session, mid) pair is. Tracks removed by the room are unlinked from the graph
 * first and only then released in their session, so a departing track can never
 * stall the shared transport. A session that fails is handed back to the room to
 * subscribe again.
 *
 * Signals (main context):
 *   "track-live" (utf8 participant_id, utf8 track_id, utf8 kind): media flows
 *   "track-gone" (utf8 participant_id, utf8 track_id)
 */
#pragma once

#include <glib-object.h>

#include "config/reel-config.h"
#include "media/reel-media-graph.h"
#include "sfu/reel-room.h"

G_BEGIN_DECLS

#define REEL_TYPE_TRACK_ROUTER (reel_track_router_get_type ())
G_DECLARE_FINAL_TYPE (ReelTrackRouter, reel_track_router, REEL, TRACK_ROUTER, GObject)

/* Returns: (transfer full): a router between @room and @graph */
ReelTrackRouter *reel_track_router_new (ReelMediaGraph *graph, ReelRoom *room, ReelConfig *config,
                                        const char *recording_id);

/* A track the room announced with a session key and mid. */
void reel_track_router_add_track (ReelTrackRouter *self, const char *participant_id,
                                  const char *track_id, const ReelTrackInfo *info);

void reel_track_router_remove_track (ReelTrackRouter *self, const char *track_id);

/* Drops every session (the recording stops). */
void reel_track_router_close (ReelTrackRouter *self);

G_END_DECLS
