/* reel-room.c: the ReelRoom interface and its signals. */
#include "sfu/reel-room.h"

G_DEFINE_BOXED_TYPE (ReelTrackInfo, reel_track_info, reel_track_info_copy, reel_track_info_free)
G_DEFINE_INTERFACE (ReelRoom, reel_room, G_TYPE_OBJECT)

enum {
  SIG_JOINED, SIG_LEFT, SIG_TRACK_ADDED, SIG_TRACK_REMOVED, SIG_FAILED, SIG_OFFER,
  SIG_SESSION_LOST, SIG_TRACK_STATE, SIG_ENDED, N_SIGNALS
};
static guint signals[N_SIGNALS];

/**
 * reel_track_kind_to_string:
 * Returns: (transfer none): "audio" or "video"
 */
const char *
reel_track_kind_to_string (ReelTrackKind kind)
{
  return kind == REEL_TRACK_VIDEO ? "video" : "audio";
}

/**
 * reel_track_info_copy:
 * Returns: (transfer full): a copy
 */
ReelTrackInfo *
reel_track_info_copy (const ReelTrackInfo *info)
{
  ReelTrackInfo *copy = g_memdup2 (info, sizeof *info);
  copy->session_key = g_strdup (info->session_key);
  copy->mid = g_strdup (info->mid);
  return copy;
}

void
reel_track_info_free (ReelTrackInfo *info)
{
  if (info == NULL)
    return;
  g_free (info->session_key);
  g_free (info->mid);
  g_free (info);
}

static void
reel_room_default_init (ReelRoomInterface *iface)
{
  GType t = G_TYPE_FROM_INTERFACE (iface);
  signals[SIG_JOINED] = g_signal_new ("participant-joined", t, G_SIGNAL_RUN_LAST, 0, NULL, NULL,
                                      NULL, G_TYPE_NONE, 2, G_TYPE_STRING, G_TYPE_STRING);
  signals[SIG_LEFT] = g_signal_new ("participant-left", t, G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                                    G_TYPE_NONE, 1, G_TYPE_STRING);
  signals[SIG_TRACK_ADDED] = g_signal_new ("track-added", t, G_SIGNAL_RUN_LAST, 0, NULL, NULL,
                                           NULL, G_TYPE_NONE, 3, G_TYPE_STRING, G_TYPE_STRING,
                                           REEL_TYPE_TRACK_INFO);
  signals[SIG_TRACK_REMOVED] = g_signal_new ("track-removed", t, G_SIGNAL_RUN_LAST, 0, NULL,
                                             NULL, NULL, G_TYPE_NONE, 2, G_TYPE_STRING,
                                             G_TYPE_STRING);
  signals[SIG_FAILED] = g_signal_new ("failed", t, G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                                      G_TYPE_NONE, 1, G_TYPE_ERROR);
  signals[SIG_OFFER] = g_signal_new ("offer", t, G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                                     G_TYPE_NONE, 2, G_TYPE_STRING, G_TYPE_STRING);
  signals[SIG_SESSION_LOST] = g_signal_new ("session-lost", t, G_SIGNAL_RUN_LAST, 0, NULL, NULL,
                                            NULL, G_TYPE_NONE, 1, G_TYPE_STRING);
  signals[SIG_TRACK_STATE] = g_signal_new ("track-state", t, G_SIGNAL_RUN_LAST, 0, NULL, NULL,
                                           NULL, G_TYPE_NONE, 6, G_TYPE_STRING, G_TYPE_STRING,
                                           G_TYPE_STRING, G_TYPE_STRING, G_TYPE_STRING,
                                           G_TYPE_STRING);
  signals[SIG_ENDED] = g_signal_new ("ended", t, G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                                     G_TYPE_NONE, 1, G_TYPE_STRING);
}

void
reel_room_join (ReelRoom *self)
{
  g_return_if_fail (REEL_IS_ROOM (self));
  REEL_ROOM_GET_IFACE (self)->join (self);
}

void
reel_room_leave (ReelRoom *self)
{
  g_return_if_fail (REEL_IS_ROOM (self));
  REEL_ROOM_GET_IFACE (self)->leave (self);
}

void
reel_room_answer (ReelRoom *self, const char *session_key, const char *sdp)
{
  g_return_if_fail (REEL_IS_ROOM (self));
  ReelRoomInterface *iface = REEL_ROOM_GET_IFACE (self);
  if (iface->answer)
    iface->answer (self, session_key, sdp);
}

void
reel_room_restart_session (ReelRoom *self, const char *session_key)
{
  g_return_if_fail (REEL_IS_ROOM (self));
  ReelRoomInterface *iface = REEL_ROOM_GET_IFACE (self);
  if (iface->restart_session)
    iface->restart_session (self, session_key);
}

void
reel_room_emit_offer (ReelRoom *self, const char *session_key, const char *sdp)
{
  g_signal_emit (self, signals[SIG_OFFER], 0, session_key, sdp);
}

void
reel_room_emit_session_lost (ReelRoom *self, const char *session_key)
{
  g_signal_emit (self, signals[SIG_SESSION_LOST], 0, session_key);
}

void
reel_room_emit_participant_joined (ReelRoom *self, const char *participant_id, const char *name)
{
  g_signal_emit (self, signals[SIG_JOINED], 0, participant_id, name);
}

void
reel_room_emit_participant_left (ReelRoom *self, const char *participant_id)
{
  g_signal_emit (self, signals[SIG_LEFT], 0, participant_id);
}

void
reel_room_emit_track_added (ReelRoom *self, const char *participant_id, const char *track_id,
                            const ReelTrackInfo *info)
{
  g_signal_emit (self, signals[SIG_TRACK_ADDED], 0, participant_id, track_id, info);
}

void
reel_room_emit_track_removed (ReelRoom *self, const char *participant_id, const char *track_id)
{
  g_signal_emit (self, signals[SIG_TRACK_REMOVED], 0, participant_id, track_id);
}

void
reel_room_emit_failed (ReelRoom *self, const GError *error)
{
  g_signal_emit (self, signals[SIG_FAILED], 0, error);
}

void
reel_room_emit_track_state (ReelRoom *self, const char *participant_id, const char *track_id,
                            const char *kind, const char *state, const char *error_code,
                            const char *error_message)
{
  g_signal_emit (self, signals[SIG_TRACK_STATE], 0, participant_id, track_id, kind, state,
                 error_code, error_message);
}

void
reel_room_emit_ended (ReelRoom *self, const char *reason)
{
  g_signal_emit (self, signals[SIG_ENDED], 0, reason);
}
