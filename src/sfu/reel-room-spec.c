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
 * reel_room_spec_new:
 * Returns: (transfer full): an empty room spec
 */
ReelRoomSpec *
reel_room_spec_new (ReelProvider provider)
{
  ReelRoomSpec *spec = g_new0 (ReelRoomSpec, 1);
  spec->provider = provider;
  spec->participants = g_ptr_array_new_with_free_func ((GDestroyNotify) reel_synthetic_participant_free);
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
  g_free (spec->url);
  g_free (spec->pin);
  g_free (spec->secret);
  g_free (spec);
}
