/* reel-room-spec.h: what a request says about the room to join, validated.
 *
 * Plain data, no GStreamer: the API builds it, the job runner hands it to the
 * room adapter of its provider.
 */
#pragma once

#include <glib.h>
#include <json-glib/json-glib.h>

G_BEGIN_DECLS

typedef enum {
  REEL_PROVIDER_SYNTHETIC,
  REEL_PROVIDER_JANUS,
  REEL_PROVIDER_CLOUDFLARE,
  REEL_PROVIDER_ORANGE,
} ReelProvider;

/* Returns: %TRUE and sets @provider if @name is a provider reel knows. */
gboolean reel_provider_from_string (const char *name, ReelProvider *provider);
const char *reel_provider_to_string (ReelProvider provider);

typedef struct {
  char *name;
  guint32 color_rgb;  /* 0xRRGGBB */
  double tone_hz;
  double join_at_s;   /* seconds after the recording starts; 0 = at start */
  double leave_at_s;  /* seconds after the recording starts; < 0 = stays */
} ReelSyntheticParticipant;

#define REEL_ORANGE_DEFAULT_NAME "Recorder"
#define REEL_CLOUDFLARE_DEFAULT_API_URL "https://rtc.live.cloudflare.com/v1"

/* A Cloudflare Realtime track to pull: a publisher's session and track name. */
typedef struct {
  char *session_id;
  char *track_name;
  char *kind;         /* (nullable) "audio" | "video"; NULL = whatever the SFU offers */
  char *participant;  /* (nullable) the participant it belongs to; NULL = its session */
  char *participant_name; /* (nullable) how the participant is shown; NULL = its id */
} ReelRemoteTrack;

typedef struct {
  ReelProvider provider;
  /* REEL_PROVIDER_SYNTHETIC: (element-type ReelSyntheticParticipant) */
  GPtrArray *participants;
  /* REEL_PROVIDER_JANUS */
  char *url;                /* the Janus HTTP API base, http(s):// */
  guint64 room_number;
  char *pin;                /* (nullable) secret: never shown or logged */
  char *secret;             /* (nullable) secret: never shown or logged */
  /* REEL_PROVIDER_CLOUDFLARE: the app secret comes from the config, never from here */
  char *app_id;
  char *api_url;            /* the API base, http(s)://, ".../v1" */
  GPtrArray *tracks;        /* (element-type ReelRemoteTrack) */
  /* REEL_PROVIDER_ORANGE: url (the deployment, http(s)://host[/prefix]) and: */
  char *room_name;          /* the Orange room name */
  char *display_name;       /* (nullable) reel's name in the room */
  gboolean visible;         /* join as a visible user (joined: true) */
  int empty_timeout_s;      /* < 0: the configured default */
  /* The room object as the request gave it, secrets removed: shown in the
   * recording object. */
  JsonNode *public_json;
} ReelRoomSpec;

ReelSyntheticParticipant *reel_synthetic_participant_new (void);
void reel_synthetic_participant_free (ReelSyntheticParticipant *participant);

ReelRemoteTrack *reel_remote_track_new (const char *session_id, const char *track_name);
ReelRemoteTrack *reel_remote_track_copy (const ReelRemoteTrack *track);
void reel_remote_track_free (ReelRemoteTrack *track);
/* Returns: the participant id of @track: its participant, else its session id */
const char *reel_remote_track_participant (const ReelRemoteTrack *track);
/* Returns: (transfer full) (element-type ReelRemoteTrack): a deep copy of @tracks */
GPtrArray *reel_remote_tracks_copy (const GPtrArray *tracks);
/* Returns: (transfer full): @tracks as the API shows them */
JsonNode *reel_remote_tracks_to_json (const GPtrArray *tracks);

ReelRoomSpec *reel_room_spec_new (ReelProvider provider);
ReelRoomSpec *reel_room_spec_copy (const ReelRoomSpec *spec);
void reel_room_spec_free (ReelRoomSpec *spec);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (ReelSyntheticParticipant, reel_synthetic_participant_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (ReelRoomSpec, reel_room_spec_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (ReelRemoteTrack, reel_remote_track_free)

G_END_DECLS
