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

typedef struct {
  ReelProvider provider;
  /* REEL_PROVIDER_SYNTHETIC: (element-type ReelSyntheticParticipant) */
  GPtrArray *participants;
  /* REEL_PROVIDER_JANUS */
  char *url;                /* the Janus HTTP API base, http(s):// */
  guint64 room_number;
  char *pin;                /* (nullable) secret: never shown or logged */
  char *secret;             /* (nullable) secret: never shown or logged */
  /* The room object as the request gave it, secrets removed: shown in the
   * recording object. */
  JsonNode *public_json;
} ReelRoomSpec;

ReelSyntheticParticipant *reel_synthetic_participant_new (void);
void reel_synthetic_participant_free (ReelSyntheticParticipant *participant);

ReelRoomSpec *reel_room_spec_new (ReelProvider provider);
ReelRoomSpec *reel_room_spec_copy (const ReelRoomSpec *spec);
void reel_room_spec_free (ReelRoomSpec *spec);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (ReelSyntheticParticipant, reel_synthetic_participant_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (ReelRoomSpec, reel_room_spec_free)

G_END_DECLS
