/* reel-synthetic-room.h: the "synthetic" provider: test participants generated
 * inside reel, joining and leaving on a timetable relative to the join. They go
 * through the same participant/track signals as the SFU adapters. */
#pragma once

#include "sfu/reel-room-spec.h"
#include "sfu/reel-room.h"

G_BEGIN_DECLS

#define REEL_TYPE_SYNTHETIC_ROOM (reel_synthetic_room_get_type ())
G_DECLARE_FINAL_TYPE (ReelSyntheticRoom, reel_synthetic_room, REEL, SYNTHETIC_ROOM, GObject)

/* Returns: (transfer full): a room for @spec's participants */
ReelSyntheticRoom *reel_synthetic_room_new (const ReelRoomSpec *spec);

G_END_DECLS
