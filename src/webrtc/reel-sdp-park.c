#include "reel-sdp-park.h"

static const char *const directions[] = { "sendrecv", "sendonly", "recvonly", "inactive" };

/* The index of @media's direction attribute, or -1 (implied sendrecv). */
static gint
direction_index (const GstSDPMedia *media, const char **direction)
{
  for (guint i = 0; i < gst_sdp_media_attributes_len (media); i++) {
    const GstSDPAttribute *attr = gst_sdp_media_get_attribute (media, i);
    for (gsize d = 0; d < G_N_ELEMENTS (directions); d++)
      if (g_strcmp0 (attr->key, directions[d]) == 0) {
        *direction = directions[d];
        return (gint) i;
      }
  }
  *direction = "sendrecv";
  return -1;
}

static void
set_direction (GstSDPMedia *media, gint index, const char *direction)
{
  if (index < 0) {
    gst_sdp_media_add_attribute (media, direction, NULL);
    return;
  }
  GstSDPAttribute attr;
  gst_sdp_attribute_set (&attr, direction, NULL);
  gst_sdp_media_replace_attribute (media, (guint) index, &attr); /* takes attr's strings */
}

static GstSDPMedia *
media_at (GstSDPMessage *msg, guint i)
{
  /* The medias array is public; GstSDPMessage has no mutable getter. */
  return &g_array_index (msg->medias, GstSDPMedia, i);
}

/**
 * reel_sdp_park_inactive:
 * @offer: the SFU's offer, rewritten in place
 * @seen_active: (element-type gboolean) per m-line, whether webrtcbin has had it
 *   active; updated
 *
 * Every m-line that webrtcbin has had active and the SFU now offers inactive
 * (on a port other than 0) is offered to webrtcbin as "sendonly" instead.
 *
 * Returns: (transfer full) (element-type guint): the m-lines rewritten, which
 *   the answer must mark inactive
 */
GArray *
reel_sdp_park_inactive (GstSDPMessage *offer, GArray *seen_active)
{
  GArray *parked = g_array_new (FALSE, FALSE, sizeof (guint));
  guint n = gst_sdp_message_medias_len (offer);
  if (seen_active->len < n)
    g_array_set_size (seen_active, n);
  for (guint i = 0; i < n; i++) {
    GstSDPMedia *media = media_at (offer, i);
    const char *direction = NULL;
    gint index = direction_index (media, &direction);
    if (gst_sdp_media_get_port (media) == 0)
      continue;
    if (!g_str_equal (direction, "inactive")) {
      g_array_index (seen_active, gboolean, i) = TRUE;
      continue;
    }
    if (!g_array_index (seen_active, gboolean, i))
      continue;
    set_direction (media, index, "sendonly");
    g_array_append_val (parked, i);
  }
  return parked;
}

/**
 * reel_sdp_mark_inactive:
 * @answer: webrtcbin's answer, rewritten in place
 * @parked: (element-type guint): from reel_sdp_park_inactive()
 */
void
reel_sdp_mark_inactive (GstSDPMessage *answer, GArray *parked)
{
  for (guint k = 0; k < parked->len; k++) {
    guint i = g_array_index (parked, guint, k);
    if (i >= gst_sdp_message_medias_len (answer))
      continue;
    GstSDPMedia *media = media_at (answer, i);
    const char *direction = NULL;
    set_direction (media, direction_index (media, &direction), "inactive");
  }
}
