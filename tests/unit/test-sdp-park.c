/* Unit tests: m-lines the SFU turns inactive are kept sending for webrtcbin and
 * answered inactive, so that a later offer may reuse them. */
#include "webrtc/reel-sdp-park.h"

#define SESSION "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n"

static GstSDPMessage *
sdp (const char *text)
{
  GstSDPMessage *msg = NULL;
  g_assert_cmpint (gst_sdp_message_new_from_text (text, &msg), ==, GST_SDP_OK);
  return msg;
}

static char *
m (const char *kind, guint port, guint mid, const char *direction)
{
  return g_strdup_printf ("m=%s %u UDP/TLS/RTP/SAVPF 96\r\na=mid:%u\r\n%s%s%s", kind, port, mid,
                          direction ? "a=" : "", direction ? direction : "", direction ? "\r\n" : "");
}

/* The direction attribute of each m-line, "" if none. */
static char *
directions (const GstSDPMessage *msg)
{
  GString *s = g_string_new (NULL);
  for (guint i = 0; i < gst_sdp_message_medias_len (msg); i++) {
    const GstSDPMedia *media = gst_sdp_message_get_media (msg, i);
    const char *found = "";
    for (guint j = 0; j < gst_sdp_media_attributes_len (media); j++) {
      const char *key = gst_sdp_media_get_attribute (media, j)->key;
      if (g_str_equal (key, "sendonly") || g_str_equal (key, "recvonly") ||
          g_str_equal (key, "inactive") || g_str_equal (key, "sendrecv"))
        found = key;
    }
    g_string_append_printf (s, "%s%s", i ? "," : "", found);
  }
  return g_string_free (s, FALSE);
}

static GArray *
offer (const char *text, GArray *seen, char **presented)
{
  GstSDPMessage *msg = sdp (text);
  GArray *parked = reel_sdp_park_inactive (msg, seen);
  *presented = directions (msg);
  gst_sdp_message_free (msg);
  return parked;
}

static void
test_leave_and_reuse (void)
{
  g_autoptr (GArray) seen = g_array_new (FALSE, TRUE, sizeof (gboolean));
  g_autofree char *a0 = m ("video", 9, 0, "sendonly"), *a1 = m ("audio", 9, 1, "sendonly");
  g_autofree char *i1 = m ("audio", 9, 1, "inactive");
  g_autofree char *first = g_strconcat (SESSION, a0, a1, NULL);
  g_autofree char *gone = g_strconcat (SESSION, a0, i1, NULL);
  g_autofree char *back = g_strconcat (SESSION, a0, a1, NULL);

  g_autofree char *p1 = NULL, *p2 = NULL, *p3 = NULL;
  g_autoptr (GArray) k1 = offer (first, seen, &p1);
  g_assert_cmpuint (k1->len, ==, 0);
  g_assert_cmpstr (p1, ==, "sendonly,sendonly");

  /* The audio leaves: webrtcbin still sees it sending; the answer says inactive. */
  g_autoptr (GArray) k2 = offer (gone, seen, &p2);
  g_assert_cmpstr (p2, ==, "sendonly,sendonly");
  g_assert_cmpuint (k2->len, ==, 1);
  g_assert_cmpuint (g_array_index (k2, guint, 0), ==, 1);
  g_autofree char *r0 = m ("video", 9, 0, "recvonly"), *r1 = m ("audio", 9, 1, "recvonly");
  g_autofree char *answer_text = g_strconcat (SESSION, r0, r1, NULL);
  GstSDPMessage *answer = sdp (answer_text);
  reel_sdp_mark_inactive (answer, k2);
  g_autofree char *answered = directions (answer);
  g_assert_cmpstr (answered, ==, "recvonly,inactive");
  gst_sdp_message_free (answer);

  /* Reused for a new track: nothing to rewrite. */
  g_autoptr (GArray) k3 = offer (back, seen, &p3);
  g_assert_cmpuint (k3->len, ==, 0);
  g_assert_cmpstr (p3, ==, "sendonly,sendonly");
}

static void
test_untouched (void)
{
  g_autoptr (GArray) seen = g_array_new (FALSE, TRUE, sizeof (gboolean));
  /* Inactive from the start, rejected (port 0), and no direction at all. */
  g_autofree char *i0 = m ("video", 9, 0, "inactive"), *z1 = m ("audio", 0, 1, "inactive");
  g_autofree char *n2 = m ("audio", 9, 2, NULL);
  g_autofree char *text = g_strconcat (SESSION, i0, z1, n2, NULL);
  g_autofree char *presented = NULL;
  g_autoptr (GArray) parked = offer (text, seen, &presented);
  g_assert_cmpuint (parked->len, ==, 0);
  g_assert_cmpstr (presented, ==, "inactive,inactive,");
  g_assert_false (g_array_index (seen, gboolean, 0));
  g_assert_false (g_array_index (seen, gboolean, 1));
  g_assert_true (g_array_index (seen, gboolean, 2));

  /* An m-line without a direction (sendrecv) that goes inactive gets "sendonly"
   * added in place of its "inactive"; a rejected one stays rejected. */
  g_autofree char *i2 = m ("audio", 9, 2, "inactive");
  g_autofree char *later = g_strconcat (SESSION, i0, z1, i2, NULL);
  g_autofree char *presented2 = NULL;
  g_autoptr (GArray) parked2 = offer (later, seen, &presented2);
  g_assert_cmpuint (parked2->len, ==, 1);
  g_assert_cmpstr (presented2, ==, "inactive,inactive,sendonly");
}

static void
test_answer_shorter_than_parked (void)
{
  g_autoptr (GArray) parked = g_array_new (FALSE, FALSE, sizeof (guint));
  guint i = 5;
  g_array_append_val (parked, i);
  g_autofree char *r0 = m ("video", 9, 0, NULL);
  g_autofree char *text = g_strconcat (SESSION, r0, NULL);
  GstSDPMessage *answer = sdp (text);
  reel_sdp_mark_inactive (answer, parked);
  g_autofree char *d = directions (answer);
  g_assert_cmpstr (d, ==, "");
  gst_sdp_message_free (answer);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/sdp-park/leave-and-reuse", test_leave_and_reuse);
  g_test_add_func ("/sdp-park/untouched", test_untouched);
  g_test_add_func ("/sdp-park/answer-shorter-than-parked", test_answer_shorter_than_parked);
  return g_test_run ();
}
