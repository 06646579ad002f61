/* reel-room.h: the room adapter interface. One implementation per provider.
 *
 * An adapter joins a room and reports who is there and which tracks they send,
 * now and whenever it changes. It never sees GStreamer: for SFU providers it
 * hands SDP and track descriptors up; the synthetic provider describes test
 * sources. All signals are emitted on the main context.
 *
 * Signals (declared on the interface):
 *   "participant-joined" (utf8 participant_id, utf8 name)
 *   "participant-left"   (utf8 participant_id)
 *   "track-added"        (utf8 participant_id, utf8 track_id, ReelTrackInfo *info)
 *   "track-removed"      (utf8 participant_id, utf8 track_id)
 *   "failed"             (GError *error): the adapter gave up; the recording fails
 *   "track-state"        (utf8 participant_id, utf8 track_id, utf8 kind, utf8 state,
 *                         utf8 error_code, utf8 error_message): a track that is wanted
 *                         but not received (yet): state "pending" (asked for, retrying)
 *                         or "failed" (refused for good), with the SFU's reason; state
 *                         NULL clears it. Every argument but the first two is nullable.
 *   "ended"              (utf8 reason): the meeting is over (e.g. nobody left in it for a
 *                         while): the recording stops and finishes normally
 *
 * SFU adapters also negotiate WebRTC sessions, one per session key (an adapter
 * may hold several connections to its SFU):
 *   "offer"        (utf8 session_key, utf8 sdp): answer it with reel_room_answer()
 *   "session-lost" (utf8 session_key): that connection is gone; its tracks were
 *                  removed first; a new key follows when the adapter reconnects
 */
#pragma once

#include <glib-object.h>

G_BEGIN_DECLS

typedef enum {
  REEL_TRACK_AUDIO,
  REEL_TRACK_VIDEO,
} ReelTrackKind;

const char *reel_track_kind_to_string (ReelTrackKind kind);

/* What a track is: for synthetic rooms, the test source to generate; for SFU
 * rooms, where its media arrives. */
typedef struct {
  ReelTrackKind kind;
  guint32 color_rgb;  /* synthetic video */
  double tone_hz;     /* synthetic audio */
  char *session_key;  /* SFU: the WebRTC session carrying it (nullable) */
  char *mid;          /* SFU: its mid in that session's offer (nullable) */
} ReelTrackInfo;

#define REEL_TYPE_TRACK_INFO (reel_track_info_get_type ())
GType reel_track_info_get_type (void);
ReelTrackInfo *reel_track_info_copy (const ReelTrackInfo *info);
void reel_track_info_free (ReelTrackInfo *info);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (ReelTrackInfo, reel_track_info_free)

#define REEL_TYPE_ROOM (reel_room_get_type ())
G_DECLARE_INTERFACE (ReelRoom, reel_room, REEL, ROOM, GObject)

struct _ReelRoomInterface {
  GTypeInterface parent_iface;

  /* Starts joining; everything else is reported through the signals. */
  void (*join) (ReelRoom *self);
  /* Leaves the room; no signal is emitted afterwards. */
  void (*leave) (ReelRoom *self);
  /* SFU adapters: the answer to an "offer". */
  void (*answer) (ReelRoom *self, const char *session_key, const char *sdp);
  /* SFU adapters: the session failed on our side (ICE, DTLS, negotiation):
   * drop it and subscribe again. */
  void (*restart_session) (ReelRoom *self, const char *session_key);
};

void reel_room_join (ReelRoom *self);
void reel_room_leave (ReelRoom *self);
void reel_room_answer (ReelRoom *self, const char *session_key, const char *sdp);
void reel_room_restart_session (ReelRoom *self, const char *session_key);

/* For adapters: emit the interface's signals. */
void reel_room_emit_participant_joined (ReelRoom *self, const char *participant_id, const char *name);
void reel_room_emit_participant_left (ReelRoom *self, const char *participant_id);
void reel_room_emit_track_added (ReelRoom *self, const char *participant_id, const char *track_id,
                                 const ReelTrackInfo *info);
void reel_room_emit_track_removed (ReelRoom *self, const char *participant_id, const char *track_id);
void reel_room_emit_failed (ReelRoom *self, const GError *error);
void reel_room_emit_track_state (ReelRoom *self, const char *participant_id, const char *track_id,
                                 const char *kind, const char *state, const char *error_code,
                                 const char *error_message);
void reel_room_emit_offer (ReelRoom *self, const char *session_key, const char *sdp);
void reel_room_emit_session_lost (ReelRoom *self, const char *session_key);
void reel_room_emit_ended (ReelRoom *self, const char *reason);

G_END_DECLS
