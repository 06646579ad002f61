/* reel-orange-api.h: Orange Meets' room protocol as data: the messages of the room
 * WebSocket (parties/rooms/<room>), what reel sends on it, and the room state
 * turned into the tracks to pull.
 *
 * Pure GLib + json-glib, no I/O: every message is untrusted input, so the parsers
 * take any bytes, never warn, and are fuzzed (tests/fuzz/fuzz-orange.c). The
 * adapter (reel-orange-room.c) does the network and the state.
 */
#pragma once

#include "sfu/reel-room-spec.h"

#include <glib.h>

G_BEGIN_DECLS

typedef enum {
  REEL_ORANGE_MESSAGE_INVALID,      /* not a JSON object with a string "type" */
  REEL_ORANGE_MESSAGE_ROOM_STATE,   /* roomState: the whole room, authoritative */
  REEL_ORANGE_MESSAGE_ERROR,        /* error {error} */
  REEL_ORANGE_MESSAGE_E2EE,         /* e2eeMlsMessage: the room encrypts its media */
  REEL_ORANGE_MESSAGE_USER_LEFT,    /* userLeftNotification {id}: a hint only */
  REEL_ORANGE_MESSAGE_OTHER,        /* anything else (directMessage, muteMic, ...) */
} ReelOrangeMessageType;

/* A track string "<sessionId>/<trackName>", split and checked. */
typedef struct {
  char *session_id;
  char *track_name;
} ReelOrangeTrackRef;

typedef struct {
  char *id;                         /* the connection id (partyserver's _pk) */
  char *name;                       /* (nullable) display name */
  gboolean joined;
  ReelOrangeTrackRef *audio;        /* (nullable) */
  ReelOrangeTrackRef *video;        /* (nullable) */
  ReelOrangeTrackRef *screenshare;  /* (nullable) video only */
  gboolean audio_enabled;           /* mute flags: the tracks stay published while muted */
  gboolean video_enabled;
  gboolean screenshare_enabled;
} ReelOrangeUser;

typedef struct {
  ReelOrangeMessageType type;
  char *meeting_id;                 /* (nullable) roomState */
  GPtrArray *users;                 /* (element-type ReelOrangeUser) roomState; users
                                     * without an id are left out */
  gboolean ai_enabled;              /* roomState */
  char *text;                       /* (nullable) error: the error; userLeftNotification: id */
} ReelOrangeMessage;

void reel_orange_message_free (ReelOrangeMessage *message);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (ReelOrangeMessage, reel_orange_message_free)

/* Returns: (transfer full): the message in @text (type INVALID when it is not one) */
ReelOrangeMessage *reel_orange_message_parse (const char *text, gsize length);

/* Splits "<sessionId>/<trackName>" at the first '/'. Both parts must be 1 to 128
 * printable ASCII characters; the session id only letters, digits and "-_" (it goes
 * into URL paths).
 * Returns: (transfer full) (nullable) */
ReelOrangeTrackRef *reel_orange_track_ref_parse (const char *text);
void reel_orange_track_ref_free (ReelOrangeTrackRef *ref);

/* The tracks to pull for a roomState: every joined user but @self_id, its audio and
 * video as participant <id> named after the user, its screen share as a participant
 * of its own ("<id>:screen", "<name> (screen)"). A track string that appears twice
 * is pulled once.
 * Returns: (transfer full) (element-type ReelRemoteTrack) */
GPtrArray *reel_orange_wanted_tracks (const ReelOrangeMessage *state, const char *self_id);

/* Returns: how many users of a roomState are joined, @self_id aside */
guint reel_orange_joined_count (const ReelOrangeMessage *state, const char *self_id);

/* The Remix loader data of a room page (GET /<room>?_data=routes/_room): whether it
 * says e2eeEnabled: true. Any other body says no. */
gboolean reel_orange_loader_says_e2ee (const char *body, gsize length);

/* What reel sends. Returns: (transfer full): JSON text */
char *reel_orange_heartbeat_message (void);
char *reel_orange_user_left_message (void);
/* userUpdate for a visible recorder: joined, no media of its own */
char *reel_orange_user_update_message (const char *id, const char *name, gboolean joined);

G_END_DECLS
