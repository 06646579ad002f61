/* test-cloudflare-api.c: unit tests of sfu/reel-cloudflare-api.c (Realtime API
 * answers in, request bodies out). */
#include <json-glib/json-glib.h>
#include <string.h>

#include "sfu/reel-cloudflare-api.h"

#define OFFER_SDP                                                                        \
  "v=0\r\no=- 0 0 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\na=group:BUNDLE 0 1 10\r\n"         \
  "m=video 9 UDP/TLS/RTP/SAVPF 96\r\na=mid:0\r\na=rtpmap:96 VP8/90000\r\n"              \
  "m=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=mid:1\r\na=rtpmap:111 opus/48000/2\r\n"         \
  "m=video 9 UDP/TLS/RTP/SAVPF 102\r\na=mid:10\r\na=rtpmap:102 H264/90000\r\n"

static ReelCfResponse *
parse (const char *json)
{
  return reel_cf_response_parse (json, strlen (json));
}

static void
test_tracks_response (void)
{
  g_autofree char *sdp_json = g_strescape (OFFER_SDP, NULL);
  g_autofree char *body = g_strdup_printf (
    "{\"requiresImmediateRenegotiation\":true,"
    "\"sessionDescription\":{\"type\":\"offer\",\"sdp\":\"%s\"},"
    "\"tracks\":[{\"sessionId\":\"a1\",\"trackName\":\"cam\",\"mid\":\"0\"},"
    "{\"sessionId\":\"a1\",\"trackName\":\"mic\",\"mid\":\"1\"},"
    "{\"sessionId\":\"b2\",\"trackName\":\"late\",\"errorCode\":\"not_found_track_error\","
    "\"errorDescription\":\"no such track\"}]}", sdp_json);
  g_autoptr (ReelCfResponse) r = parse (body);
  g_assert_nonnull (r);
  g_assert_true (r->requires_renegotiation);
  g_assert_cmpstr (r->sdp_type, ==, "offer");
  g_assert_cmpstr (r->sdp, ==, OFFER_SDP);
  g_assert_null (r->error_code);
  g_assert_cmpuint (r->tracks->len, ==, 3);
  ReelCfTrackResult *cam = g_ptr_array_index (r->tracks, 0);
  ReelCfTrackResult *late = g_ptr_array_index (r->tracks, 2);
  g_assert_cmpstr (cam->session_id, ==, "a1");
  g_assert_cmpstr (cam->track_name, ==, "cam");
  g_assert_cmpstr (cam->mid, ==, "0");
  g_assert_null (cam->error_code);
  g_assert_null (late->mid);
  g_assert_cmpstr (late->error_code, ==, "not_found_track_error");
  g_assert_cmpstr (late->error_description, ==, "no such track");
  g_assert_cmpint (reel_cf_classify (200, r), ==, REEL_CF_OK);
  g_assert_cmpint (reel_cf_classify_track (cam->error_code), ==, REEL_CF_OK);
  g_assert_cmpint (reel_cf_classify_track (late->error_code), ==, REEL_CF_TRACK_NOT_READY);
  g_assert_cmpstr (reel_cf_sdp_mid_kind (r->sdp, "0"), ==, "video");
  g_assert_cmpstr (reel_cf_sdp_mid_kind (r->sdp, "1"), ==, "audio");
  g_assert_cmpstr (reel_cf_sdp_mid_kind (r->sdp, "10"), ==, "video");
  g_assert_null (reel_cf_sdp_mid_kind (r->sdp, "2"));
  g_assert_null (reel_cf_sdp_mid_kind (r->sdp, ""));
}

/* Members of the wrong type are absent; junk is no response at all. */
static void
test_malformed (void)
{
  g_autoptr (ReelCfResponse) odd = parse (
    "{\"requiresImmediateRenegotiation\":\"yes\",\"sessionDescription\":[1],\"errorCode\":5,"
    "\"tracks\":[1,null,{\"mid\":7,\"errorCode\":{}},{\"sessionId\":\"s\"}]}");
  g_assert_nonnull (odd);
  g_assert_false (odd->requires_renegotiation);
  g_assert_null (odd->sdp);
  g_assert_null (odd->error_code);
  g_assert_cmpuint (odd->tracks->len, ==, 2);
  ReelCfTrackResult *t = g_ptr_array_index (odd->tracks, 0);
  g_assert_null (t->mid);
  g_assert_null (t->error_code);

  const char *junk[] = { "", "null", "[]", "\"x\"", "{", "<html>502</html>", "{\"a\":1}x" };
  for (gsize i = 0; i < G_N_ELEMENTS (junk); i++) {
    ReelCfResponse *r = reel_cf_response_parse (junk[i], strlen (junk[i]));
    if (r != NULL)
      g_test_fail_printf ("parsed junk: %s", junk[i]);
    reel_cf_response_free (r);
  }
  g_assert_null (reel_cf_response_parse (NULL, 0));
  g_assert_null (reel_cf_response_parse ("{\"a\":\"\0\"}", 10));
  g_assert_null (reel_cf_response_parse ("{\"a\":\"\xff\"}", 8));
  GString *deep = g_string_new ("{\"a\":");
  for (int i = 0; i < 100; i++)
    g_string_append_c (deep, '[');
  for (int i = 0; i < 100; i++)
    g_string_append_c (deep, ']');
  g_string_append_c (deep, '}');
  g_assert_null (reel_cf_response_parse (deep->str, deep->len));
  g_string_free (deep, TRUE);
  reel_cf_response_free (NULL);
}

static void
test_session_id (void)
{
  const char *good = "{\"sessionId\":\"2a45361d5fd7cc14eface0587c276c94\"}";
  g_autofree char *id = reel_cf_parse_session_id (good, strlen (good));
  g_assert_cmpstr (id, ==, "2a45361d5fd7cc14eface0587c276c94");
  const char *bad[] = { "{\"sessionId\":\"\"}", "{\"sessionId\":\"../apps\"}", "{\"sessionId\":5}",
                        "{\"sessionId\":\"a b\"}", "{\"sessionId\":\"a?b\"}", "{}", "nope" };
  for (gsize i = 0; i < G_N_ELEMENTS (bad); i++) {
    g_autofree char *v = reel_cf_parse_session_id (bad[i], strlen (bad[i]));
    if (v != NULL)
      g_test_fail_printf ("accepted session id from %s", bad[i]);
  }
}

static void
test_classify (void)
{
  struct { guint status; const char *body; ReelCfVerdict want; } cases[] = {
    { 0, NULL, REEL_CF_RETRY },
    { 200, "{}", REEL_CF_OK },
    { 201, "{\"sessionId\":\"x\"}", REEL_CF_OK },
    { 200, "{\"errorCode\":\"invalid_params\"}", REEL_CF_FAILED },
    { 200, "{\"errorCode\":\"session_error\"}", REEL_CF_SESSION_GONE },
    { 400, "{\"errorCode\":\"decoding_error\"}", REEL_CF_FAILED },
    { 401, "{\"errorCode\":\"unauthorized\"}", REEL_CF_UNAUTHORIZED },
    { 401, NULL, REEL_CF_UNAUTHORIZED },
    { 403, "{\"errorCode\":\"unauthorized\"}", REEL_CF_UNAUTHORIZED },
    { 404, "{\"errorCode\":\"not_found\"}", REEL_CF_NOT_FOUND },
    { 404, NULL, REEL_CF_NOT_FOUND },
    { 406, "{}", REEL_CF_RETRY },
    { 410, "{\"errorCode\":\"session_error\"}", REEL_CF_SESSION_GONE },
    { 425, "{\"errorCode\":\"session_error\"}", REEL_CF_RETRY },
    { 429, NULL, REEL_CF_RETRY },
    { 500, NULL, REEL_CF_RETRY },
    { 503, "{\"errorCode\":\"temporarily_unavailable_error\"}", REEL_CF_RETRY },
    { 200, "{\"errorCode\":\"retryable_transient_error\"}", REEL_CF_RETRY },
    { 302, NULL, REEL_CF_FAILED },
  };
  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++) {
    g_autoptr (ReelCfResponse) r = cases[i].body ? parse (cases[i].body) : NULL;
    ReelCfVerdict got = reel_cf_classify (cases[i].status, r);
    if (got != cases[i].want)
      g_test_fail_printf ("HTTP %u %s: verdict %d, want %d", cases[i].status,
                          cases[i].body ? cases[i].body : "(no body)", got, cases[i].want);
  }
  g_assert_cmpint (reel_cf_classify_track (NULL), ==, REEL_CF_OK);
  g_assert_cmpint (reel_cf_classify_track ("empty_track_error"), ==, REEL_CF_TRACK_NOT_READY);
  g_assert_cmpint (reel_cf_classify_track ("backend_error"), ==, REEL_CF_RETRY);
  g_assert_cmpint (reel_cf_classify_track ("repeated_local_track_error"), ==, REEL_CF_FAILED);
  g_assert_cmpint (reel_cf_classify_track ("something_new"), ==, REEL_CF_FAILED);
}

static JsonObject *
parse_object (const char *text)
{
  g_autoptr (JsonParser) parser = json_parser_new ();
  g_assert_true (json_parser_load_from_data (parser, text, -1, NULL));
  return json_object_ref (json_node_get_object (json_parser_get_root (parser)));
}

static void
test_bodies (void)
{
  const char *sessions[] = { "a1", "b2" };
  const char *names[] = { "cam", "we\"ird" };
  g_autofree char *pull = reel_cf_tracks_new_body (sessions, names, 2, "a");
  g_autoptr (JsonObject) p = parse_object (pull);
  g_assert_false (json_object_has_member (p, "sessionDescription"));
  JsonArray *tracks = json_object_get_array_member (p, "tracks");
  g_assert_cmpuint (json_array_get_length (tracks), ==, 2);
  JsonObject *t1 = json_array_get_object_element (tracks, 1);
  g_assert_cmpstr (json_object_get_string_member (t1, "location"), ==, "remote");
  g_assert_cmpstr (json_object_get_string_member (t1, "sessionId"), ==, "b2");
  g_assert_cmpstr (json_object_get_string_member (t1, "trackName"), ==, "we\"ird");
  JsonObject *sim = json_object_get_object_member (t1, "simulcast");
  g_assert_cmpstr (json_object_get_string_member (sim, "preferredRid"), ==, "a");
  g_assert_cmpstr (json_object_get_string_member (sim, "priorityOrdering"), ==, "asciibetical");
  g_assert_cmpstr (json_object_get_string_member (sim, "ridNotAvailable"), ==, "asciibetical");
  g_autofree char *plain = reel_cf_tracks_new_body (sessions, names, 1, NULL);
  g_assert_null (strstr (plain, "simulcast"));

  g_autofree char *answer = reel_cf_renegotiate_body ("v=0\r\n");
  g_autoptr (JsonObject) a = parse_object (answer);
  JsonObject *sd = json_object_get_object_member (a, "sessionDescription");
  g_assert_cmpstr (json_object_get_string_member (sd, "type"), ==, "answer");
  g_assert_cmpstr (json_object_get_string_member (sd, "sdp"), ==, "v=0\r\n");

  const char *mids[] = { "3", "7" };
  g_autofree char *close = reel_cf_close_body (mids, 2);
  g_autoptr (JsonObject) c = parse_object (close);
  g_assert_true (json_object_get_boolean_member (c, "force"));
  JsonArray *closed = json_object_get_array_member (c, "tracks");
  g_assert_cmpuint (json_array_get_length (closed), ==, 2);
  g_assert_cmpstr (json_object_get_string_member (json_array_get_object_element (closed, 1), "mid"),
                   ==, "7");
}

int
main (int argc, char *argv[])
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/cloudflare-api/tracks-response", test_tracks_response);
  g_test_add_func ("/cloudflare-api/malformed", test_malformed);
  g_test_add_func ("/cloudflare-api/session-id", test_session_id);
  g_test_add_func ("/cloudflare-api/classify", test_classify);
  g_test_add_func ("/cloudflare-api/bodies", test_bodies);
  return g_test_run ();
}
