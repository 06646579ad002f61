/* reel-room-spec.c: room request data. */
#include "sfu/reel-room-spec.h"

static const char *provider_names[] = {
  [REEL_PROVIDER_SYNTHETIC] = "synthetic",
  [REEL_PROVIDER_JANUS] = "janus",
  [REEL_PROVIDER_CLOUDFLARE] = "cloudflare",
  [REEL_PROVIDER_ORANGE] = "orange",
};

/**
 * reel_provider_from_string:
 * @name: a provider name from a request
 * @provider: (out): the provider
 * Returns: %TRUE if reel knows @name
 */
gboolean
reel_provider_from_string (const char *name, ReelProvider *provider)
{
  for (gsize i = 0; i < G_N_ELEMENTS (provider_names); i++) {
    if (g_strcmp0 (name, provider_names[i]) == 0) {
      *provider = (ReelProvider) i;
      return TRUE;
    }
  }
  return FALSE;
}

/**
 * reel_provider_to_string:
 * Returns: (transfer none): the provider's name
 */
const char *
reel_provider_to_string (ReelProvider provider)
{
  if ((gsize) provider >= G_N_ELEMENTS (provider_names))
    return "unknown";
  return provider_names[provider];
}

/**
 * reel_synthetic_participant_new:
 * Returns: (transfer full): a participant present for the whole recording
 */
ReelSyntheticParticipant *
reel_synthetic_participant_new (void)
{
  ReelSyntheticParticipant *p = g_new0 (ReelSyntheticParticipant, 1);
  p->leave_at_s = -1;
  return p;
}

void
reel_synthetic_participant_free (ReelSyntheticParticipant *participant)
{
  if (participant == NULL)
    return;
  g_free (participant->name);
  g_free (participant);
}

static gpointer
copy_participant (gconstpointer src, gpointer unused)
{
  const ReelSyntheticParticipant *p = src;
  ReelSyntheticParticipant *c = g_memdup2 (p, sizeof *p);
  c->name = g_strdup (p->name);
  return c;
}

/**
 * reel_remote_track_new:
 * Returns: (transfer full): a track without kind or participant
 */
ReelRemoteTrack *
reel_remote_track_new (const char *session_id, const char *track_name)
{
  ReelRemoteTrack *t = g_new0 (ReelRemoteTrack, 1);
  t->session_id = g_strdup (session_id);
  t->track_name = g_strdup (track_name);
  return t;
}

/**
 * reel_remote_track_copy:
 * Returns: (transfer full): a copy
 */
ReelRemoteTrack *
reel_remote_track_copy (const ReelRemoteTrack *track)
{
  ReelRemoteTrack *c = reel_remote_track_new (track->session_id, track->track_name);
  c->kind = g_strdup (track->kind);
  c->participant = g_strdup (track->participant);
  c->participant_name = g_strdup (track->participant_name);
  return c;
}

void
reel_remote_track_free (ReelRemoteTrack *track)
{
  if (track == NULL)
    return;
  g_free (track->session_id);
  g_free (track->track_name);
  g_free (track->kind);
  g_free (track->participant);
  g_free (track->participant_name);
  g_free (track);
}

/**
 * reel_remote_track_participant:
 * Returns: (transfer none): the participant id
 */
const char *
reel_remote_track_participant (const ReelRemoteTrack *track)
{
  return track->participant != NULL ? track->participant : track->session_id;
}

static gpointer
copy_remote_track (gconstpointer src, gpointer unused)
{
  return reel_remote_track_copy (src);
}

/**
 * reel_remote_tracks_copy:
 * Returns: (transfer full) (element-type ReelRemoteTrack): a deep copy
 */
GPtrArray *
reel_remote_tracks_copy (const GPtrArray *tracks)
{
  GPtrArray *c = g_ptr_array_copy ((GPtrArray *) tracks, copy_remote_track, NULL);
  g_ptr_array_set_free_func (c, (GDestroyNotify) reel_remote_track_free);
  return c;
}

/**
 * reel_remote_tracks_to_json:
 * Returns: (transfer full): [{session_id, track_name, kind?, participant?}]
 */
JsonNode *
reel_remote_tracks_to_json (const GPtrArray *tracks)
{
  JsonArray *array = json_array_sized_new (tracks->len);
  for (guint i = 0; i < tracks->len; i++) {
    const ReelRemoteTrack *t = g_ptr_array_index ((GPtrArray *) tracks, i);
    JsonObject *o = json_object_new ();
    json_object_set_string_member (o, "session_id", t->session_id);
    json_object_set_string_member (o, "track_name", t->track_name);
    if (t->kind != NULL)
      json_object_set_string_member (o, "kind", t->kind);
    if (t->participant != NULL)
      json_object_set_string_member (o, "participant", t->participant);
    json_array_add_object_element (array, o);
  }
  JsonNode *node = json_node_alloc ();
  json_node_init_array (node, array);
  json_array_unref (array);
  return node;
}

/**
 * reel_room_spec_new:
 * Returns: (transfer full): an empty room spec
 */
ReelRoomSpec *
reel_room_spec_new (ReelProvider provider)
{
  ReelRoomSpec *spec = g_new0 (ReelRoomSpec, 1);
  spec->provider = provider;
  spec->participants = g_ptr_array_new_with_free_func ((GDestroyNotify) reel_synthetic_participant_free);
  spec->tracks = g_ptr_array_new_with_free_func ((GDestroyNotify) reel_remote_track_free);
  spec->empty_timeout_s = -1;
  return spec;
}

/**
 * reel_room_spec_copy:
 * Returns: (transfer full): a deep copy
 */
ReelRoomSpec *
reel_room_spec_copy (const ReelRoomSpec *spec)
{
  ReelRoomSpec *c = g_new0 (ReelRoomSpec, 1);
  c->provider = spec->provider;
  c->participants = g_ptr_array_copy (spec->participants, copy_participant, NULL);
  g_ptr_array_set_free_func (c->participants, (GDestroyNotify) reel_synthetic_participant_free);
  c->url = g_strdup (spec->url);
  c->room_number = spec->room_number;
  c->pin = g_strdup (spec->pin);
  c->secret = g_strdup (spec->secret);
  c->app_id = g_strdup (spec->app_id);
  c->api_url = g_strdup (spec->api_url);
  c->tracks = reel_remote_tracks_copy (spec->tracks);
  c->room_name = g_strdup (spec->room_name);
  c->display_name = g_strdup (spec->display_name);
  c->visible = spec->visible;
  c->empty_timeout_s = spec->empty_timeout_s;
  c->public_json = spec->public_json ? json_node_copy (spec->public_json) : NULL;
  return c;
}

void
reel_room_spec_free (ReelRoomSpec *spec)
{
  if (spec == NULL)
    return;
  g_clear_pointer (&spec->participants, g_ptr_array_unref);
  g_clear_pointer (&spec->public_json, json_node_unref);
  g_clear_pointer (&spec->tracks, g_ptr_array_unref);
  g_free (spec->app_id);
  g_free (spec->api_url);
  g_free (spec->url);
  g_free (spec->pin);
  g_free (spec->secret);
  g_free (spec->room_name);
  g_free (spec->display_name);
  g_free (spec);
}
