/* test-request.c: unit tests of api/reel-request.c (request body validation).
 *
 * Bodies are written with single quotes for readability; q() turns them into JSON.
 */
#include <string.h>

#include "api/reel-request.h"
#include "base/reel-error.h"

static const ReelRequestLimits limits = {
  .max_participants = 16,
  .max_duration_s = 14400,
  .default_width = 1280,
  .default_height = 720,
  .default_framerate = 30,
  .default_bitrate_kbps = 2500,
};

/* Returns: (transfer full): @text with every ' replaced by " */
static char *
q (const char *text)
{
  char *json = g_strdup (text);
  for (char *p = json; *p != '\0'; p++)
    if (*p == '\'')
      *p = '"';
  return json;
}

static JsonNode *
parse_json_q (const char *text, GError **error)
{
  g_autofree char *json = q (text);
  return reel_request_parse_json (json, strlen (json), error);
}

static ReelRecordingSpec *
parse_recording_q (const char *text, GError **error)
{
  g_autoptr (JsonNode) root = parse_json_q (text, error);
  if (root == NULL)
    return NULL;
  return reel_request_parse_recording (root, &limits, error);
}

static ReelRecordingPatch *
parse_patch_q (const char *text, GError **error)
{
  g_autoptr (JsonNode) root = parse_json_q (text, error);
  if (root == NULL)
    return NULL;
  return reel_request_parse_patch (root, error);
}

#define PART_A "{'name':'A','color':'#ff0000','tone_hz':440}"
#define ROOM_OF(parts) "'room':{'provider':'synthetic','participants':[" parts "]}"
#define ROOM ROOM_OF (PART_A)
#define OUT "'outputs':[{'type':'file','format':'mp4'}]"
#define WITH_PART(extra) "{" ROOM_OF ("{'name':'A','color':'#ff0000','tone_hz':440" extra "}") "," OUT "}"
#define WITH_PART_OBJ(obj) "{" ROOM_OF (obj) "," OUT "}"
#define WITH_OUT(obj) "{" ROOM ",'outputs':[" obj "]}"
#define WITH(extra) "{" ROOM "," OUT "," extra "}"
#define OR_ROOM(fields) "{'room':{'provider':'orange'," fields "}," OUT "}"
#define CF_ROOM(fields, tracks) "{'room':{'provider':'cloudflare'," fields ",'tracks':[" tracks "]}," OUT "}"
#define CF_T1 "{'session_id':'s','track_name':'t'}"

/* ---- valid bodies ---------------------------------------------------------------- */

static void
test_full_request (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (ReelRecordingSpec) spec = parse_recording_q (
    "{'room': {'provider': 'synthetic', 'participants': ["
    "   {'name': 'Alice', 'color': '#ff0000', 'tone_hz': 440},"
    "   {'name': 'Bob', 'color': '#00FF00', 'tone_hz': 660, 'join_at_s': 2, 'leave_at_s': 6.5}]},"
    " 'layout': 'grid',"
    " 'video': {'width': 1920, 'height': 1080, 'framerate': 25, 'bitrate_kbps': 4000},"
    " 'outputs': [{'type': 'file', 'format': 'mp4'}, {'type': 'file', 'format': 'mkv'},"
    "             {'type': 'rtmp', 'url': 'rtmp://127.0.0.1:1935/live/key'}],"
    " 'max_duration_s': 3600}", &error);

  g_assert_no_error (error);
  g_assert_nonnull (spec);
  g_assert_cmpint (spec->room->provider, ==, REEL_PROVIDER_SYNTHETIC);
  g_assert_cmpuint (spec->room->participants->len, ==, 2);
  ReelSyntheticParticipant *alice = g_ptr_array_index (spec->room->participants, 0);
  ReelSyntheticParticipant *bob = g_ptr_array_index (spec->room->participants, 1);
  g_assert_cmpstr (alice->name, ==, "Alice");
  g_assert_cmphex (alice->color_rgb, ==, 0xff0000);
  g_assert_cmpfloat (alice->tone_hz, ==, 440);
  g_assert_cmpfloat (alice->join_at_s, ==, 0);
  g_assert_cmpfloat (alice->leave_at_s, <, 0);
  g_assert_cmpstr (bob->name, ==, "Bob");
  g_assert_cmphex (bob->color_rgb, ==, 0x00ff00);
  g_assert_cmpfloat (bob->tone_hz, ==, 660);
  g_assert_cmpfloat (bob->join_at_s, ==, 2);
  g_assert_cmpfloat (bob->leave_at_s, ==, 6.5);
  g_assert_cmpint (spec->layout, ==, REEL_LAYOUT_GRID);
  g_assert_cmpuint (spec->width, ==, 1920);
  g_assert_cmpuint (spec->height, ==, 1080);
  g_assert_cmpuint (spec->framerate, ==, 25);
  g_assert_cmpuint (spec->bitrate_kbps, ==, 4000);
  g_assert_cmpuint (spec->max_duration_s, ==, 3600);
  g_assert_cmpuint (spec->outputs->len, ==, 3);
  ReelOutputSpec *o0 = g_ptr_array_index (spec->outputs, 0);
  ReelOutputSpec *o1 = g_ptr_array_index (spec->outputs, 1);
  ReelOutputSpec *o2 = g_ptr_array_index (spec->outputs, 2);
  g_assert_cmpint (o0->type, ==, REEL_OUTPUT_FILE);
  g_assert_cmpint (o0->format, ==, REEL_FILE_FORMAT_MP4);
  g_assert_null (o0->url);
  g_assert_cmpint (o1->type, ==, REEL_OUTPUT_FILE);
  g_assert_cmpint (o1->format, ==, REEL_FILE_FORMAT_MKV);
  g_assert_cmpint (o2->type, ==, REEL_OUTPUT_RTMP);
  g_assert_cmpstr (o2->url, ==, "rtmp://127.0.0.1:1935/live/key");

  /* public_json is the room as given */
  g_assert_nonnull (spec->room->public_json);
  g_autofree char *room_json = json_to_string (spec->room->public_json, FALSE);
  g_assert_nonnull (strstr (room_json, "\"provider\":\"synthetic\""));
  g_assert_nonnull (strstr (room_json, "\"Alice\""));
  g_assert_nonnull (strstr (room_json, "\"leave_at_s\":6.5"));
}

/* The API.md example, minus nothing: it is all synthetic. */
/* A Janus room parses; its pin and secret stay out of what is shown. */
static void
test_janus_room (void)
{
  g_autoptr (GError) error = NULL;
  const char *body =
      "{\"room\":{\"provider\":\"janus\",\"url\":\"http://198.18.0.2:8088/janus\",\"room\":1234,"
      "\"pin\":\"letmein\",\"secret\":\"adminpw\"},\"outputs\":[{\"type\":\"file\",\"format\":\"mp4\"}]}";
  g_autoptr (JsonNode) root = reel_request_parse_json (body, strlen (body), &error);
  g_assert_no_error (error);
  g_autoptr (ReelRecordingSpec) spec = reel_request_parse_recording (root, &limits, &error);
  g_assert_no_error (error);
  g_assert_cmpint (spec->room->provider, ==, REEL_PROVIDER_JANUS);
  g_assert_cmpstr (spec->room->url, ==, "http://198.18.0.2:8088/janus");
  g_assert_cmpuint (spec->room->room_number, ==, 1234);
  g_assert_cmpstr (spec->room->pin, ==, "letmein");
  g_assert_cmpstr (spec->room->secret, ==, "adminpw");
  g_autofree char *shown = json_to_string (spec->room->public_json, FALSE);
  g_assert_null (strstr (shown, "letmein"));
  g_assert_null (strstr (shown, "adminpw"));
  g_assert_nonnull (strstr (shown, "1234"));
}

/* A Cloudflare room parses; api_url gets its default; participants default to the
 * session in reel_remote_track_participant(). */
static void
test_cloudflare_room (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (ReelRecordingSpec) spec = parse_recording_q (
    "{'room':{'provider':'cloudflare','app_id':'0123abcd','tracks':["
    "{'session_id':'s1','track_name':'cam','kind':'video','participant':'Alice'},"
    "{'session_id':'s1','track_name':'mic','kind':'audio','participant':'Alice'},"
    "{'session_id':'s2','track_name':'{9b1c-77}'}]}," OUT "}", &error);
  g_assert_no_error (error);
  g_assert_cmpint (spec->room->provider, ==, REEL_PROVIDER_CLOUDFLARE);
  g_assert_cmpstr (spec->room->app_id, ==, "0123abcd");
  g_assert_cmpstr (spec->room->api_url, ==, "https://rtc.live.cloudflare.com/v1");
  g_assert_cmpuint (spec->room->tracks->len, ==, 3);
  ReelRemoteTrack *cam = g_ptr_array_index (spec->room->tracks, 0);
  ReelRemoteTrack *other = g_ptr_array_index (spec->room->tracks, 2);
  g_assert_cmpstr (cam->kind, ==, "video");
  g_assert_cmpstr (reel_remote_track_participant (cam), ==, "Alice");
  g_assert_null (other->kind);
  g_assert_cmpstr (other->track_name, ==, "{9b1c-77}");
  g_assert_cmpstr (reel_remote_track_participant (other), ==, "s2");
  g_autofree char *shown = json_to_string (spec->room->public_json, FALSE);
  g_assert_nonnull (strstr (shown, "\"api_url\":\"https://rtc.live.cloudflare.com/v1\""));

  g_autoptr (ReelRecordingSpec) local = parse_recording_q (
    "{'room':{'provider':'cloudflare','app_id':'app','api_url':'http://127.0.0.1:9/v1',"
    "'tracks':[{'session_id':'s1','track_name':'cam'}]}," OUT "}", &error);
  g_assert_no_error (error);
  g_assert_cmpstr (local->room->api_url, ==, "http://127.0.0.1:9/v1");
  g_autoptr (ReelRoomSpec) copy = reel_room_spec_copy (local->room);
  g_assert_cmpuint (copy->tracks->len, ==, 1);

  /* more participants than the limit (16), each with one track */
  GString *many = g_string_new ("{'room':{'provider':'cloudflare','app_id':'app','tracks':[");
  for (guint i = 0; i < 17; i++)
    g_string_append_printf (many, "%s{'session_id':'s%u','track_name':'t'}", i ? "," : "", i);
  g_string_append (many, "]}," OUT "}");
  g_autoptr (ReelRecordingSpec) crowd = parse_recording_q (many->str, &error);
  g_assert_null (crowd);
  g_assert_error (error, REEL_ERROR, REEL_ERROR_INVALID_FIELD);
  g_assert_true (g_str_has_prefix (error->message, "room.tracks[16]: more than 16 participants"));
  g_string_free (many, TRUE);
}

/* An Orange room parses; visible defaults to false, empty_timeout_s to the config's. */
static void
test_orange_room (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (ReelRecordingSpec) spec = parse_recording_q (
    "{'room':{'provider':'orange','url':'https://meet.example/','room':'h8Zx-3_q'}," OUT "}",
    &error);
  g_assert_no_error (error);
  g_assert_cmpint (spec->room->provider, ==, REEL_PROVIDER_ORANGE);
  g_assert_cmpstr (spec->room->url, ==, "https://meet.example/");
  g_assert_cmpstr (spec->room->room_name, ==, "h8Zx-3_q");
  g_assert_null (spec->room->display_name);
  g_assert_false (spec->room->visible);
  g_assert_cmpint (spec->room->empty_timeout_s, <, 0);

  g_autoptr (ReelRecordingSpec) full = parse_recording_q (
    "{'room':{'provider':'orange','url':'http://127.0.0.1:9','room':'standup','name':'Rec',"
    "'visible':true,'empty_timeout_s':5}," OUT "}", &error);
  g_assert_no_error (error);
  g_autoptr (ReelRoomSpec) copy = reel_room_spec_copy (full->room);
  g_assert_cmpstr (copy->display_name, ==, "Rec");
  g_assert_true (copy->visible);
  g_assert_cmpint (copy->empty_timeout_s, ==, 5);
  g_assert_cmpstr (copy->room_name, ==, "standup");
}

static void
test_api_example (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (ReelRecordingSpec) spec = parse_recording_q (
    "{'room': {'provider': 'synthetic', 'participants': ["
    "   {'name': 'Alice', 'color': '#ff0000', 'tone_hz': 440},"
    "   {'name': 'Bob', 'color': '#00ff00', 'tone_hz': 660, 'join_at_s': 2, 'leave_at_s': 6}]},"
    " 'layout': 'grid',"
    " 'video': {'width': 1280, 'height': 720, 'framerate': 30, 'bitrate_kbps': 2500},"
    " 'outputs': [{'type': 'file', 'format': 'mp4'}, {'type': 'file', 'format': 'mkv'},"
    "             {'type': 'rtmp', 'url': 'rtmp://127.0.0.1:1935/live/key'}],"
    " 'max_duration_s': 14400}", &error);

  g_assert_no_error (error);
  g_assert_cmpuint (spec->room->participants->len, ==, 2);
  g_assert_cmpuint (spec->outputs->len, ==, 3);
  g_assert_cmpuint (spec->width, ==, 1280);
  g_assert_cmpuint (spec->max_duration_s, ==, 14400);
}

static void
test_defaults (void)
{
  const ReelRequestLimits other = { 4, 600, 640, 360, 24, 1000 };
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonNode) root = parse_json_q ("{" ROOM "," OUT "}", &error);
  g_assert_no_error (error);
  g_autoptr (ReelRecordingSpec) spec = reel_request_parse_recording (root, &other, &error);

  g_assert_no_error (error);
  g_assert_cmpint (spec->layout, ==, REEL_LAYOUT_GRID);
  g_assert_cmpuint (spec->width, ==, 640);
  g_assert_cmpuint (spec->height, ==, 360);
  g_assert_cmpuint (spec->framerate, ==, 24);
  g_assert_cmpuint (spec->bitrate_kbps, ==, 1000);
  g_assert_cmpuint (spec->max_duration_s, ==, 600);

  /* a partial video object keeps the other defaults */
  g_autoptr (JsonNode) root2 = parse_json_q (WITH ("'video':{'framerate':60}"), &error);
  g_autoptr (ReelRecordingSpec) spec2 = reel_request_parse_recording (root2, &other, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (spec2->width, ==, 640);
  g_assert_cmpuint (spec2->framerate, ==, 60);
}

static void
assert_valid (const char *body)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (ReelRecordingSpec) spec = parse_recording_q (body, &error);
  if (error != NULL)
    g_test_fail_printf ("valid body rejected: %s\n  body: %s", error->message, body);
  g_assert_nonnull (spec);
}

/* Values at the edges of every range are accepted. */
static void
test_boundaries (void)
{
  const char *bodies[] = {
    WITH ("'video':{'width':160,'height':90,'framerate':1,'bitrate_kbps':100}"),
    WITH ("'video':{'width':3840,'height':2160,'framerate':60,'bitrate_kbps':50000}"),
    WITH ("'max_duration_s':1"),
    WITH ("'max_duration_s':14400"),
    WITH ("'layout':'grid'"),
    WITH_PART_OBJ ("{'name':'A','color':'#AbCdEf','tone_hz':20}"),
    WITH_PART_OBJ ("{'name':'A','color':'#000000','tone_hz':20000}"),
    WITH_PART_OBJ ("{'name':'A','color':'#ffffff','tone_hz':440.25}"),
    WITH_PART (",'join_at_s':0,'leave_at_s':86400"),
    WITH_PART (",'join_at_s':86399.5,'leave_at_s':86400"),
    WITH_PART (",'join_at_s':1.5"),
    WITH_PART (",'leave_at_s':0.001"),
    WITH_PART (",'join_at_s':-0.0"),
    WITH_PART_OBJ ("{'name':'Zoë 🎥 \\u00e9','color':'#123456','tone_hz':1e3}"),
    WITH_PART_OBJ ("{'name':'A','color':'#ff0000','tone_hz':440}, {'name':'a','color':'#ff0000','tone_hz':440}"),
    WITH_OUT ("{'type':'rtmp','url':'rtmps://live.example.com/app/key?x=1'}"),
    WITH_OUT ("{'type':'rtmp','url':'rtmp://[::1]:1935/live/key'}"),
    WITH_OUT ("{'type':'rtmp','url':'rtmp://host'}"),
    WITH_OUT ("{'type':'rtmp','url':'rtmp://a-b.example.com./live/key'}"),
    WITH_OUT ("{'type':'rtmp','url':'rtmp://10.0.0.1:1935/live/key'}"),
    WITH_OUT ("{'type':'rtmp','url':'rtmp://[fe80::1%25eth0]/live/key'}"),
    WITH_OUT ("{'format':'mkv','type':'file'}"),
    "  \r\n\t{" ROOM "," OUT "}  \n",
  };
  for (gsize i = 0; i < G_N_ELEMENTS (bodies); i++)
    assert_valid (bodies[i]);
}

static char *
participants_body (guint n)
{
  GString *body = g_string_new ("{'room':{'provider':'synthetic','participants':[");
  for (guint i = 0; i < n; i++)
    g_string_append_printf (body, "%s{'name':'P%u','color':'#010203','tone_hz':440}", i ? "," : "", i);
  g_string_append (body, "]}," OUT "}");
  return g_string_free (body, FALSE);
}

static char *
outputs_body (guint n)
{
  GString *body = g_string_new ("{" ROOM ",'outputs':[");
  for (guint i = 0; i < n; i++)
    g_string_append_printf (body, "%s{'type':'file','format':'mkv'}", i ? "," : "");
  g_string_append (body, "]}");
  return g_string_free (body, FALSE);
}

static char *
url_body (gsize url_length)
{
  g_autofree char *pad = g_strnfill (url_length - strlen ("rtmp://h/live/"), 'k');
  return g_strdup_printf ("{" ROOM ",'outputs':[{'type':'rtmp','url':'rtmp://h/live/%s'}]}", pad);
}

static char *
name_body (guint chars)
{
  GString *name = g_string_new (NULL);
  for (guint i = 0; i < chars; i++)
    g_string_append (name, i % 2 ? "é" : "x"); /* counts characters, not bytes */
  return g_strdup_printf ("{" ROOM_OF ("{'name':'%s','color':'#ff0000','tone_hz':440}") "," OUT "}",
                          name->str);
}

static void
assert_invalid (const char *body, gint code, const char *prefix)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (ReelRecordingSpec) spec = parse_recording_q (body, &error);
  g_assert_null (spec);
  g_assert_error (error, REEL_ERROR, code);
  if (!g_str_has_prefix (error->message, prefix))
    g_test_fail_printf ("message \"%s\" does not start with \"%s\"", error->message, prefix);
}

/* Counted limits: exactly at the limit passes, one more fails. */
static void
test_counts (void)
{
  g_autofree char *parts_max = participants_body (16);
  g_autofree char *parts_over = participants_body (17);
  g_autofree char *outs_max = outputs_body (8);
  g_autofree char *outs_over = outputs_body (9);
  g_autofree char *url_max = url_body (2048);
  g_autofree char *url_over = url_body (2049);
  g_autofree char *name_max = name_body (64);
  g_autofree char *name_over = name_body (65);

  assert_valid (parts_max);
  assert_invalid (parts_over, REEL_ERROR_INVALID_FIELD, "room.participants: ");
  assert_valid (outs_max);
  assert_invalid (outs_over, REEL_ERROR_INVALID_FIELD, "outputs: ");
  assert_valid (url_max);
  assert_invalid (url_over, REEL_ERROR_INVALID_FIELD, "outputs[0].url: ");
  assert_valid (name_max);
  assert_invalid (name_over, REEL_ERROR_INVALID_FIELD, "room.participants[0].name: ");
}

/* ---- invalid POST bodies ----------------------------------------------------------- */

typedef struct {
  const char *body;
  gint code;
  const char *prefix;
} BadCase;

#define INVALID REEL_ERROR_INVALID_FIELD

static const BadCase bad_recordings[] = {
  /* top level */
  { "{" OUT "}", INVALID, "room: missing required field" },
  { "{'room':[]," OUT "}", INVALID, "room: expected an object, got an array" },
  { "{'room':null," OUT "}", INVALID, "room: expected an object, got null" },
  { "{" ROOM "}", INVALID, "outputs: missing required field" },
  { "{" ROOM ",'outputs':[]}", INVALID, "outputs: must have 1 to 8 entries" },
  { "{" ROOM ",'outputs':{'type':'file'}}", INVALID, "outputs: expected an array, got an object" },
  { WITH ("'extra':1"), INVALID, "extra: unknown field" },
  { WITH ("'dir':'/tmp'"), INVALID, "dir: unknown field; reel chooses file names" },
  { WITH ("'room.provider: ok':1"), INVALID, "[\"room.provider: ok\"]: unknown field" },
  { WITH ("'lay\\nout':1"), INVALID, "[\"lay\\x0aout\"]: unknown field" },
  { WITH_PART (",'':1"), INVALID, "room.participants[0][\"\"]: unknown field" },
  { WITH_OUT ("{'type':'file','format':'mp4','Path ':1}"), INVALID, "outputs[0][\"Path \"]: unknown field" },
  { WITH ("'path':'/etc/passwd'"), INVALID, "path: unknown field; reel chooses file names" },
  { WITH ("'layout':'pip'"), INVALID, "layout: unknown layout \"pip\"" },
  { WITH ("'layout':5"), INVALID, "layout: expected a string, got a number" },
  { WITH ("'layout':null"), INVALID, "layout: expected a string, got null" },
  { WITH ("'video':[1280,720]"), INVALID, "video: expected an object, got an array" },
  { WITH ("'video':{'width':161}"), INVALID, "video.width: must be an even integer from 160 to 3840" },
  { WITH ("'video':{'width':158}"), INVALID, "video.width: " },
  { WITH ("'video':{'width':3842}"), INVALID, "video.width: " },
  { WITH ("'video':{'width':1280.0}"), INVALID, "video.width: expected an integer" },
  { WITH ("'video':{'width':1.28e3}"), INVALID, "video.width: expected an integer" },
  { WITH ("'video':{'width':'1280'}"), INVALID, "video.width: expected an integer, got a string" },
  { WITH ("'video':{'width':true}"), INVALID, "video.width: expected an integer, got a boolean" },
  { WITH ("'video':{'width':-9223372036854775808}"), INVALID, "video.width: " },
  { WITH ("'video':{'height':88}"), INVALID, "video.height: " },
  { WITH ("'video':{'height':721}"), INVALID, "video.height: must be an even integer" },
  { WITH ("'video':{'height':2162}"), INVALID, "video.height: " },
  { WITH ("'video':{'framerate':0}"), INVALID, "video.framerate: must be an integer from 1 to 60" },
  { WITH ("'video':{'framerate':61}"), INVALID, "video.framerate: " },
  { WITH ("'video':{'framerate':29.97}"), INVALID, "video.framerate: expected an integer" },
  { WITH ("'video':{'bitrate_kbps':99}"), INVALID, "video.bitrate_kbps: " },
  { WITH ("'video':{'bitrate_kbps':50001}"), INVALID, "video.bitrate_kbps: " },
  { WITH ("'video':{'codec':'h264'}"), INVALID, "video.codec: unknown field" },
  { WITH ("'max_duration_s':0"), INVALID, "max_duration_s: must be an integer from 1 to 14400" },
  { WITH ("'max_duration_s':14401"), INVALID, "max_duration_s: " },
  { WITH ("'max_duration_s':-1"), INVALID, "max_duration_s: " },
  { WITH ("'max_duration_s':9223372036854775807"), INVALID, "max_duration_s: " },
  { WITH ("'max_duration_s':60.5"), INVALID, "max_duration_s: expected an integer" },
  { WITH ("'max_duration_s':false"), INVALID, "max_duration_s: expected an integer, got a boolean" },
  { WITH ("'max_duration_s':1e999"), INVALID, "max_duration_s: expected an integer" },
  /* room */
  { "{'room':{'participants':[" PART_A "]}," OUT "}", INVALID, "room.provider: missing required field" },
  { "{'room':{'provider':1}," OUT "}", INVALID, "room.provider: expected a string, got a number" },
  { "{'room':{'provider':'synthetic','participants':[{'name':'../../etc/passwd','color':'#ff0000','tone_hz':440}]}," OUT "}",
    INVALID, "room.participants[0].name: must not contain / or" },
  { "{'room':{'provider':'synthetic','participants':[{'name':'a\\\\b','color':'#ff0000','tone_hz':440}]}," OUT "}",
    INVALID, "room.participants[0].name: must not contain / or" },
  /* janus */
  { "{'room':{'provider':'janus','room':1}," OUT "}", INVALID, "room.url: missing required field" },
  { "{'room':{'provider':'janus','url':'ftp://x/janus','room':1}," OUT "}", INVALID,
    "room.url: expected an http:// or https:// URL" },
  { "{'room':{'provider':'janus','url':'nonsense','room':1}," OUT "}", INVALID, "room.url: expected an http" },
  { "{'room':{'provider':'janus','url':'http://u:p@x/janus','room':1}," OUT "}", INVALID,
    "room.url: must not contain user info" },
  { "{'room':{'provider':'janus','url':'http://x/janus?a=b','room':1}," OUT "}", INVALID, "room.url: " },
  { "{'room':{'provider':'janus','url':'http://x/janus'}," OUT "}", INVALID, "room.room: missing required field" },
  { "{'room':{'provider':'janus','url':'http://x/janus','room':'1'}," OUT "}", INVALID,
    "room.room: expected an integer" },
  { "{'room':{'provider':'janus','url':'http://x/janus','room':0}," OUT "}", INVALID,
    "room.room: must be a positive integer" },
  { "{'room':{'provider':'janus','url':'http://x/janus','room':1,'pin':5}," OUT "}", INVALID,
    "room.pin: expected a string" },
  { "{'room':{'provider':'janus','url':'http://x/janus','room':1,'pin':''}," OUT "}", INVALID,
    "room.pin: must be 1 to 256 characters" },
  { "{'room':{'provider':'janus','url':'http://x/janus','room':1,'participants':[]}," OUT "}", INVALID,
    "room.participants: unknown field" },
  { "{'room':{'provider':'cloudflare'}," OUT "}", INVALID, "room.app_id: missing required field" },
  /* cloudflare */
  { CF_ROOM ("'app_id':''", CF_T1) , INVALID, "room.app_id: must be 1 to 128 characters" },
  { CF_ROOM ("'app_id':'a/b'", CF_T1), INVALID, "room.app_id: may contain only letters, digits and -_" },
  { CF_ROOM ("'app_id':7", CF_T1), INVALID, "room.app_id: expected a string, got a number" },
  { CF_ROOM ("'app_id':'app','app_secret':'secretkey'", CF_T1), INVALID,
    "room.app_secret: not accepted in a request: the app secret comes from reel's configuration" },
  { CF_ROOM ("'app_id':'app','secret':'secretkey'", CF_T1), INVALID, "room.secret: not accepted" },
  { CF_ROOM ("'app_id':'app','url':'http://x/v1'", CF_T1), INVALID, "room.url: unknown field" },
  { CF_ROOM ("'app_id':'app','api_url':'ftp://x/v1'", CF_T1), INVALID, "room.api_url: expected an http" },
  { CF_ROOM ("'app_id':'app','api_url':'http://x/v1?secretkey=1'", CF_T1), INVALID, "room.api_url: " },
  { CF_ROOM ("'app_id':'app','api_url':''", CF_T1), INVALID, "room.api_url: expected an http" },
  { "{'room':{'provider':'cloudflare','app_id':'app'}," OUT "}", INVALID, "room.tracks: missing required field" },
  { CF_ROOM ("'app_id':'app'", ""), INVALID, "room.tracks: must have 1 to 256 entries" },
  { CF_ROOM ("'app_id':'app'", "5"), INVALID, "room.tracks[0]: expected an object, got a number" },
  { CF_ROOM ("'app_id':'app'", "{'track_name':'t'}"), INVALID, "room.tracks[0].session_id: missing required field" },
  { CF_ROOM ("'app_id':'app'", "{'session_id':'s'}"), INVALID, "room.tracks[0].track_name: missing required field" },
  { CF_ROOM ("'app_id':'app'", "{'session_id':'','track_name':'t'}"), INVALID,
    "room.tracks[0].session_id: must be 1 to 128 characters" },
  { CF_ROOM ("'app_id':'app'", "{'session_id':'s 1','track_name':'t'}"), INVALID,
    "room.tracks[0].session_id: may contain only letters, digits and -_." },
  { CF_ROOM ("'app_id':'app'", "{'session_id':'../x','track_name':'t'}"), INVALID,
    "room.tracks[0].session_id: may contain only" },
  { CF_ROOM ("'app_id':'app'", "{'session_id':'s','track_name':'a\\u00e9b'}"), INVALID,
    "room.tracks[0].track_name: may contain only" },
  { CF_ROOM ("'app_id':'app'", "{'session_id':'s','track_name':'t\\n'}"), INVALID,
    "room.tracks[0].track_name: may contain only letters, digits and -_.:@+={}~" },
  { CF_ROOM ("'app_id':'app'", "{'session_id':'s','track_name':'a/b'}"), INVALID, "room.tracks[0].track_name: " },
  { CF_ROOM ("'app_id':'app'", "{'session_id':'s','track_name':5}"), INVALID,
    "room.tracks[0].track_name: expected a string, got a number" },
  { CF_ROOM ("'app_id':'app'", "{'session_id':'s','track_name':'t','kind':'screen'}"), INVALID,
    "room.tracks[0].kind: unknown kind \"screen\" (known: audio, video)" },
  { CF_ROOM ("'app_id':'app'", "{'session_id':'s','track_name':'t','participant':''}"), INVALID,
    "room.tracks[0].participant: must be 1 to 64 characters" },
  { CF_ROOM ("'app_id':'app'", "{'session_id':'s','track_name':'t','participant':'a/b'}"), INVALID,
    "room.tracks[0].participant: must not contain / or \\" },
  { CF_ROOM ("'app_id':'app'", "{'session_id':'s','track_name':'t','mid':'1'}"), INVALID,
    "room.tracks[0].mid: unknown field" },
  { CF_ROOM ("'app_id':'app'", CF_T1 "," "{'session_id':'s','track_name':'u'}," CF_T1), INVALID,
    "room.tracks[2]: duplicate track (same session_id and track_name as room.tracks[0])" },
  /* orange */
  { "{'room':{'provider':'orange'}," OUT "}", INVALID, "room.url: missing required field" },
  { OR_ROOM ("'url':'ws://meet.example'"), INVALID, "room.url: expected an http" },
  { "{'room':{'provider':'orange','url':'https://meet.example'}," OUT "}", INVALID,
    "room.room: missing required field" },
  { OR_ROOM ("'url':'https://meet.example','room':'a/b'"), INVALID,
    "room.room: may contain only letters, digits and -_.~" },
  { OR_ROOM ("'url':'https://meet.example','room':'a?b'"), INVALID, "room.room: may contain only" },
  { OR_ROOM ("'url':'https://meet.example','room':''"), INVALID, "room.room: must be 1 to 128" },
  { OR_ROOM ("'url':'https://meet.example','room':5"), INVALID, "room.room: expected a string" },
  { OR_ROOM ("'url':'https://meet.example','room':'r','visible':'yes'"), INVALID,
    "room.visible: expected true or false, got a string" },
  { OR_ROOM ("'url':'https://meet.example','room':'r','empty_timeout_s':0"), INVALID,
    "room.empty_timeout_s: must be 1 to 86400" },
  { OR_ROOM ("'url':'https://meet.example','room':'r','empty_timeout_s':1.5"), INVALID,
    "room.empty_timeout_s: expected an integer" },
  { OR_ROOM ("'url':'https://meet.example','room':'r','name':''"), INVALID, "room.name: must be 1 to 64" },
  { OR_ROOM ("'url':'https://meet.example','room':'r','app_secret':'x'"), INVALID,
    "room.app_secret: unknown field" },
  { "{'room':{'provider':'zoom'}," OUT "}", REEL_ERROR_UNKNOWN_PROVIDER,
    "room.provider: unknown provider \"zoom\" (known: synthetic, janus, cloudflare, orange)" },
  { "{'room':{'provider':'Synthetic'}," OUT "}", REEL_ERROR_UNKNOWN_PROVIDER, "room.provider: unknown provider" },
  { "{'room':{'provider':'synthetic','participants':[" PART_A "],'url':'x'}," OUT "}", INVALID,
    "room.url: unknown field" },
  { "{'room':{'provider':'synthetic'}," OUT "}", INVALID, "room.participants: missing required field" },
  { "{'room':{'provider':'synthetic','participants':{}}," OUT "}", INVALID,
    "room.participants: expected an array, got an object" },
  { "{" ROOM_OF ("") "," OUT "}", INVALID, "room.participants: must have 1 to 16 entries" },
  { "{" ROOM_OF ("5") "," OUT "}", INVALID, "room.participants[0]: expected an object, got a number" },
  /* participants */
  { WITH_PART_OBJ ("{'color':'#ff0000','tone_hz':440}"), INVALID, "room.participants[0].name: missing required field" },
  { WITH_PART_OBJ ("{'name':'','color':'#ff0000','tone_hz':440}"), INVALID,
    "room.participants[0].name: must be 1 to 64 characters" },
  { WITH_PART_OBJ ("{'name':'A\\nB','color':'#ff0000','tone_hz':440}"), INVALID,
    "room.participants[0].name: must not contain control characters" },
  { WITH_PART_OBJ ("{'name':'A\\u007f','color':'#ff0000','tone_hz':440}"), INVALID,
    "room.participants[0].name: must not contain control characters" },
  { WITH_PART_OBJ ("{'name':'A\\u0085','color':'#ff0000','tone_hz':440}"), INVALID,
    "room.participants[0].name: must not contain control characters" },
  { WITH_PART_OBJ ("{'name':5,'color':'#ff0000','tone_hz':440}"), INVALID,
    "room.participants[0].name: expected a string, got a number" },
  { WITH_PART_OBJ ("{'name':'A','tone_hz':440}"), INVALID, "room.participants[0].color: missing required field" },
  { WITH_PART_OBJ (PART_A ",{'name':'B','color':'red','tone_hz':440}"), INVALID,
    "room.participants[1].color: expected a string like \"#rrggbb\"" },
  { WITH_PART_OBJ ("{'name':'A','color':'#ff000','tone_hz':440}"), INVALID, "room.participants[0].color: " },
  { WITH_PART_OBJ ("{'name':'A','color':'#ff00000','tone_hz':440}"), INVALID, "room.participants[0].color: " },
  { WITH_PART_OBJ ("{'name':'A','color':'#gg0000','tone_hz':440}"), INVALID, "room.participants[0].color: " },
  { WITH_PART_OBJ ("{'name':'A','color':'ff0000#','tone_hz':440}"), INVALID, "room.participants[0].color: " },
  { WITH_PART_OBJ ("{'name':'A','color':'#-f0000','tone_hz':440}"), INVALID, "room.participants[0].color: " },
  { WITH_PART_OBJ ("{'name':'A','color':16711680,'tone_hz':440}"), INVALID, "room.participants[0].color: " },
  { WITH_PART_OBJ ("{'name':'A','color':'#ff0000'}"), INVALID, "room.participants[0].tone_hz: missing required field" },
  { WITH_PART_OBJ ("{'name':'A','color':'#ff0000','tone_hz':19.99}"), INVALID,
    "room.participants[0].tone_hz: must be a number from 20 to 20000" },
  { WITH_PART_OBJ ("{'name':'A','color':'#ff0000','tone_hz':20001}"), INVALID, "room.participants[0].tone_hz: " },
  { WITH_PART_OBJ ("{'name':'A','color':'#ff0000','tone_hz':'440'}"), INVALID,
    "room.participants[0].tone_hz: expected a number, got a string" },
  { WITH_PART_OBJ ("{'name':'A','color':'#ff0000','tone_hz':true}"), INVALID,
    "room.participants[0].tone_hz: expected a number, got a boolean" },
  { WITH_PART_OBJ ("{'name':'A','color':'#ff0000','tone_hz':1e400}"), INVALID,
    "room.participants[0].tone_hz: number out of range" },
  { WITH_PART (",'join_at_s':-1"), INVALID, "room.participants[0].join_at_s: must be a number from 0 to 86400" },
  { WITH_PART (",'join_at_s':86400.5"), INVALID, "room.participants[0].join_at_s: " },
  { WITH_PART (",'join_at_s':'2'"), INVALID, "room.participants[0].join_at_s: expected a number" },
  { WITH_PART (",'join_at_s':-1e400"), INVALID, "room.participants[0].join_at_s: number out of range" },
  { WITH_PART (",'join_at_s':5,'leave_at_s':5"), INVALID,
    "room.participants[0].leave_at_s: must be a number greater than join_at_s" },
  { WITH_PART (",'join_at_s':5,'leave_at_s':4"), INVALID, "room.participants[0].leave_at_s: " },
  { WITH_PART (",'leave_at_s':0"), INVALID, "room.participants[0].leave_at_s: " },
  { WITH_PART (",'leave_at_s':86401"), INVALID, "room.participants[0].leave_at_s: " },
  { WITH_PART (",'leave_at_s':null"), INVALID, "room.participants[0].leave_at_s: expected a number, got null" },
  { WITH_PART (",'volume':1"), INVALID, "room.participants[0].volume: unknown field" },
  { WITH_PART_OBJ (PART_A "," PART_A), INVALID, "room.participants[1].name: duplicate name \"A\"" },
  { WITH_PART_OBJ ("{'name':'\\u00e9','color':'#ff0000','tone_hz':440},"
                   "{'name':'e\\u0301','color':'#ff0000','tone_hz':440}"), INVALID,
    "room.participants[1].name: duplicate name" },
  /* outputs */
  { WITH_OUT ("'file'"), INVALID, "outputs[0]: expected an object, got a string" },
  { WITH_OUT ("{'format':'mp4'}"), INVALID, "outputs[0].type: missing required field" },
  { WITH_OUT ("{'type':'file','format':'mp4'},{'type':'s3'}"), INVALID,
    "outputs[1].type: unknown output type \"s3\" (known: file, rtmp)" },
  { WITH_OUT ("{'type':['file']}"), INVALID, "outputs[0].type: expected a string, got an array" },
  { WITH_OUT ("{'type':'file'}"), INVALID, "outputs[0].format: missing required field" },
  { WITH_OUT ("{'type':'file','format':'avi'}"), INVALID, "outputs[0].format: unknown format \"avi\"" },
  { WITH_OUT ("{'type':'file','format':'MP4'}"), INVALID, "outputs[0].format: " },
  { WITH_OUT ("{'type':'file','format':'mp4','url':'rtmp://h/a/b'}"), INVALID, "outputs[0].url: unknown field" },
  { WITH_OUT ("{'type':'file','format':'mp4','path':'/etc/x.mp4'}"), INVALID,
    "outputs[0].path: unknown field; reel chooses file names" },
  { WITH_OUT ("{'type':'file','format':'mp4','name':'x'}"), INVALID,
    "outputs[0].name: unknown field; reel chooses file names" },
  { WITH_OUT ("{'type':'file','format':'mp4'},{'type':'file','format':'mkv','filename':'x'}"), INVALID,
    "outputs[1].filename: unknown field; reel chooses file names" },
  { WITH_OUT ("{'type':'file','format':'mp4','location':'x'}"), INVALID,
    "outputs[0].location: unknown field; reel chooses file names" },
  { WITH_OUT ("{'type':'file','format':'mp4','dir':'x'}"), INVALID,
    "outputs[0].dir: unknown field; reel chooses file names" },
  { WITH_OUT ("{'type':'rtmp'}"), INVALID, "outputs[0].url: missing required field" },
  { WITH_OUT ("{'type':'rtmp','url':42}"), INVALID, "outputs[0].url: expected a string, got a number" },
  { WITH_OUT ("{'type':'rtmp','url':'rtmp://h/live/secretkey','format':'mp4'}"), INVALID,
    "outputs[0].format: unknown field" },
  { WITH_OUT ("{'type':'rtmp','url':''}"), INVALID, "outputs[0].url: expected an rtmp:// or rtmps:// URL" },
  { WITH_OUT ("{'type':'rtmp','url':'http://h/live/secretkey'}"), INVALID,
    "outputs[0].url: expected an rtmp:// or rtmps:// URL" },
  { WITH_OUT ("{'type':'rtmp','url':'RTMP://h/live/secretkey'}"), INVALID, "outputs[0].url: " },
  { WITH_OUT ("{'type':'rtmp','url':'rtmp://'}"), INVALID, "outputs[0].url: must include a host" },
  { WITH_OUT ("{'type':'rtmp','url':'rtmp:///live/secretkey'}"), INVALID, "outputs[0].url: must include a host" },
  { WITH_OUT ("{'type':'rtmp','url':'rtmp://user:secretkey@h/live/x'}"), INVALID,
    "outputs[0].url: must not contain user info" },
  { WITH_OUT ("{'type':'rtmp','url':'rtmp://@h/live/secretkey'}"), INVALID,
    "outputs[0].url: must not contain user info" },
  { WITH_OUT ("{'type':'rtmp','url':'rtmp://h/live/secret key'}"), INVALID,
    "outputs[0].url: must not contain spaces, control or non-ASCII characters" },
  { WITH_OUT ("{'type':'rtmp','url':'rtmp://h/live/secretkey\\n'}"), INVALID, "outputs[0].url: must not contain" },
  { WITH_OUT ("{'type':'rtmp','url':'rtmp://h/live/secretkey\\u00e9'}"), INVALID, "outputs[0].url: must not contain" },
  { WITH_OUT ("{'type':'rtmp','url':'rtmp://h:99999/live/secretkey'}"), INVALID, "outputs[0].url: not a valid URL" },
  { WITH_OUT ("{'type':'rtmp','url':'rtmp://h:0/live/secretkey'}"), INVALID, "outputs[0].url: port must be" },
  { WITH_OUT ("{'type':'rtmp','url':'rtmp://h/live/secretkey%zz'}"), INVALID, "outputs[0].url: not a valid URL" },
  { WITH_OUT ("{'type':'rtmp','url':'rtmp://h%20x/live/secretkey'}"), INVALID, "outputs[0].url: must include a valid host" },
  { WITH_OUT ("{'type':'rtmp','url':'rtmp://......../live/secretkey'}"), INVALID, "outputs[0].url: must include a valid host" },
  { WITH_OUT ("{'type':'rtmp','url':'rtmp://-h/live/secretkey'}"), INVALID, "outputs[0].url: must include a valid host" },
  { WITH_OUT ("{'type':'rtmp','url':'rtmp://h-.example/live/secretkey'}"), INVALID, "outputs[0].url: must include a valid host" },
  { WITH_OUT ("{'type':'rtmp','url':'rtmp://a..b/live/secretkey'}"), INVALID, "outputs[0].url: must include a valid host" },
  { WITH_OUT ("{'type':'rtmp','url':'rtmp://h_1/live/secretkey'}"), INVALID, "outputs[0].url: must include a valid host" },
  { WITH_OUT ("{'type':'rtmp','url':'rtmp://[::g]/live/secretkey'}"), INVALID, "outputs[0].url: " },
  { WITH_OUT ("{'type':'rtmp','url':'rtmp://h/live/secretkey#frag'}"), INVALID,
    "outputs[0].url: must not contain a fragment" },
  { WITH_OUT ("{'type':'rtmp','url':'rtmp:h/live/secretkey'}"), INVALID, "outputs[0].url: expected an rtmp://" },
};

static void
check_bad_case (const BadCase *c, GError *error, gboolean parsed)
{
  if (parsed) {
    g_test_fail_printf ("accepted: %s", c->body);
    return;
  }
  g_assert_nonnull (error);
  g_test_message ("%s", error->message);
  if (error->domain != REEL_ERROR || error->code != c->code)
    g_test_fail_printf ("code %s (%s), want %s\n  body: %s", reel_error_name_of (error),
                        error->message, reel_error_code_name (c->code), c->body);
  else if (!g_str_has_prefix (error->message, c->prefix))
    g_test_fail_printf ("message \"%s\" does not start with \"%s\"", error->message, c->prefix);
  /* stream keys never show up in messages */
  if (strstr (error->message, "secretkey") != NULL)
    g_test_fail_printf ("message echoes a stream key: %s", error->message);
}

static void
test_bad_recordings (void)
{
  g_assert_cmpuint (G_N_ELEMENTS (bad_recordings), >=, 40);
  for (gsize i = 0; i < G_N_ELEMENTS (bad_recordings); i++) {
    const BadCase *c = &bad_recordings[i];
    g_autoptr (GError) error = NULL;
    g_autoptr (JsonNode) root = parse_json_q (c->body, &error);
    if (root == NULL) {
      g_test_fail_printf ("case %" G_GSIZE_FORMAT " is not valid JSON (%s): %s", i, error->message, c->body);
      continue;
    }
    g_autoptr (ReelRecordingSpec) spec = reel_request_parse_recording (root, &limits, &error);
    check_bad_case (c, error, spec != NULL);
  }
}

/* parse_recording on a root that is not an object (e.g. a schedule's "recording"). */
static void
test_non_object_root (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonNode) array = json_from_string ("[1]", NULL);

  g_assert_null (reel_request_parse_recording (array, &limits, &error));
  g_assert_error (error, REEL_ERROR, REEL_ERROR_INVALID_FIELD);
  g_assert_true (g_str_has_prefix (error->message, "body: expected an object"));
  g_clear_error (&error);
  g_assert_null (reel_request_parse_recording (NULL, &limits, &error));
  g_assert_error (error, REEL_ERROR, REEL_ERROR_INVALID_FIELD);
  g_clear_error (&error);
  g_assert_null (reel_request_parse_patch (array, &error));
  g_assert_error (error, REEL_ERROR, REEL_ERROR_INVALID_FIELD);
}

/* ---- echoed input is bounded and sanitized ------------------------------------------ */

static gboolean
is_clean (const char *message)
{
  for (const char *p = message; *p != '\0'; p++)
    if ((guchar) *p < 0x20 || (guchar) *p == 0x7f)
      return FALSE;
  return g_utf8_validate (message, -1, NULL);
}

static void
test_echo_sanitized (void)
{
  g_autofree char *long_name = g_strnfill (300, 'x');
  g_autofree char *long_body = g_strdup_printf ("{'room':{'provider':'%s'}," OUT "}", long_name);
  g_autoptr (GError) error = NULL;
  g_autoptr (ReelRecordingSpec) spec = parse_recording_q (long_body, &error);
  g_autofree char *sixty_five = g_strnfill (65, 'x');
  g_autofree char *sixty_four = g_strnfill (64, 'x');

  g_assert_error (error, REEL_ERROR, REEL_ERROR_UNKNOWN_PROVIDER);
  g_assert_nonnull (strstr (error->message, sixty_four));
  g_assert_null (strstr (error->message, sixty_five));
  g_assert_nonnull (strstr (error->message, "..."));
  g_clear_error (&error);

  const char *nasty[] = {
    "{'room':{'provider':'\\u001b[31mred\\r\\nX-Injected: 1'}," OUT "}",
    "{'room':{'provider':'\\u202egnp.exe'}," OUT "}",
    "{'room':{'provider':'a\\'b\\\\c'}," OUT "}",
    WITH ("'lay\\nout':1"),
    WITH ("'layout':'\\u0007\\u0000'"), /* \u0000 is refused before validation */
    WITH_OUT ("{'type':'\\t\\u00ff\\ud83d\\ude00'}"),
  };
  for (gsize i = 0; i < G_N_ELEMENTS (nasty); i++) {
    g_autoptr (ReelRecordingSpec) s = parse_recording_q (nasty[i], &error);
    g_assert_null (s);
    g_assert_nonnull (error);
    if (!is_clean (error->message))
      g_test_fail_printf ("unsanitized message: %s", error->message);
    g_clear_error (&error);
  }

  /* a multi-byte character is not cut in half by the 64-byte bound */
  g_autoptr (ReelRecordingSpec) s2 = parse_recording_q (
    "{'room':{'provider':'x😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀'}," OUT "}", &error);
  g_assert_error (error, REEL_ERROR, REEL_ERROR_UNKNOWN_PROVIDER);
  g_assert_true (g_utf8_validate (error->message, -1, NULL));
}

/* ---- JSON text checks ------------------------------------------------------------ */

typedef struct {
  const char *text;
  gsize length;  /* 0: strlen */
  gboolean raw;  /* TRUE: do not turn ' into " */
} BadJson;

static char *
nested (guint depth)
{
  GString *s = g_string_new ("{'a':");
  for (guint i = 1; i < depth; i++)
    g_string_append_c (s, '[');
  g_string_append_c (s, '1');
  for (guint i = 1; i < depth; i++)
    g_string_append_c (s, ']');
  g_string_append_c (s, '}');
  return g_string_free (s, FALSE);
}

static const BadJson bad_json[] = {
  { "", 0, FALSE },
  { "   ", 0, FALSE },
  { "{'a':1}\0{'b':2}", 15, FALSE },
  { "{'a':'\xff'}", 0, FALSE },
  { "{'a':'\xc3'}", 0, FALSE },
  { "{'a':'\xed\xa0\x80'}", 0, FALSE }, /* UTF-8 encoded surrogate */
  { "[1,2]", 0, FALSE },
  { "'str'", 0, FALSE },
  { "42", 0, FALSE },
  { "null", 0, FALSE },
  { "{'a':1} x", 0, FALSE },
  { "{'a':1}{}", 0, FALSE },
  { "/*c*/{'a':1}", 0, FALSE },
  { "{'a':1 // c\n}", 0, FALSE },
  { "{\"a\":'x'}", 0, TRUE },
  { "{'a':1}", 0, TRUE },
  { "{'a':01}", 0, FALSE },
  { "{'a':0x10}", 0, FALSE },
  { "{'a':+1}", 0, FALSE },
  { "{'a':.5}", 0, FALSE },
  { "{'a':1.}", 0, FALSE },
  { "{'a':1e}", 0, FALSE },
  { "{'a':-}", 0, FALSE },
  { "{'a':NaN}", 0, FALSE },
  { "{'a':Infinity}", 0, FALSE },
  { "{'a':tru}", 0, FALSE },
  { "{'a':99999999999999999999}", 0, FALSE },
  { "{'a':9223372036854775808}", 0, FALSE },
  { "{'a':-9223372036854775809}", 0, FALSE },
  { "{'a':'x\\u0000y'}", 0, FALSE },
  { "{'a':'\\ud800'}", 0, FALSE },
  { "{'a':'\\udc00\\ud800'}", 0, FALSE },
  { "{'a':'\\ud800\\u0041'}", 0, FALSE },
  { "{'a':'\\x41'}", 0, FALSE },
  { "{'a':'\\u12'}", 0, FALSE },
  { "{'a':'tab\there'}", 0, FALSE },
  { "{'a':1,}", 0, FALSE },
  { "{'a':[1,]}", 0, FALSE },
  { "{'a' 1}", 0, FALSE },
  { "{a:1}", 0, FALSE },
  { "{'a':1,'a':2}", 0, FALSE },
  { "{'b':{'x':1,'\\u0078':2}}", 0, FALSE },
  { "\xef\xbb\xbf{'a':1}", 0, FALSE },
  { "{'a':1\f}", 0, FALSE },
  { "{'a':'unterminated}", 0, FALSE },
  { "{'a':[", 0, FALSE },
  { "{", 0, FALSE },
};

static void
test_bad_json (void)
{
  for (gsize i = 0; i < G_N_ELEMENTS (bad_json); i++) {
    gsize length = bad_json[i].length ? bad_json[i].length : strlen (bad_json[i].text);
    g_autofree char *json = g_memdup2 (bad_json[i].text, length + 1);
    for (gsize j = 0; j < length && !bad_json[i].raw; j++)
      if (json[j] == '\'')
        json[j] = '"';
    g_autoptr (GError) error = NULL;
    g_autoptr (JsonNode) root = reel_request_parse_json (json, length, &error);
    if (root != NULL) {
      g_test_fail_printf ("case %" G_GSIZE_FORMAT " accepted: %s", i, bad_json[i].text);
      continue;
    }
    g_assert_error (error, REEL_ERROR, REEL_ERROR_MALFORMED_JSON);
    if (!g_str_has_prefix (error->message, "body: "))
      g_test_fail_printf ("case %" G_GSIZE_FORMAT ": message %s", i, error->message);
  }
  g_assert_null (reel_request_parse_json (NULL, 0, NULL));
}

static void
test_depth (void)
{
  g_autofree char *ok = nested (32);
  g_autofree char *deep = nested (33);
  g_autofree char *very_deep = nested (100000); /* must not recurse into json-glib */
  g_autoptr (GError) error = NULL;

  g_autoptr (JsonNode) root = parse_json_q (ok, &error);
  g_assert_no_error (error);
  g_assert_nonnull (root);
  g_assert_null (parse_json_q (deep, &error));
  g_assert_error (error, REEL_ERROR, REEL_ERROR_MALFORMED_JSON);
  g_assert_nonnull (strstr (error->message, "32"));
  g_clear_error (&error);
  g_assert_null (parse_json_q (very_deep, &error));
  g_assert_error (error, REEL_ERROR, REEL_ERROR_MALFORMED_JSON);
}

static void
test_good_json (void)
{
  /* explicit length: the bytes after it are not read */
  const char buffer[] = "{\"a\":[1,2.5,\"\\ud83d\\ude00\\/\\b\\f\\n\\r\\t\\\"\\\\\",true,false,null,{}]}GARBAGE";
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonNode) root = reel_request_parse_json (buffer, strlen (buffer) - strlen ("GARBAGE"), &error);

  g_assert_no_error (error);
  g_assert_true (JSON_NODE_HOLDS_OBJECT (root));
  JsonArray *a = json_object_get_array_member (json_node_get_object (root), "a");
  g_assert_cmpuint (json_array_get_length (a), ==, 7);
  g_assert_cmpstr (json_array_get_string_element (a, 2), ==, "😀/\b\f\n\r\t\"\\");

  g_autoptr (JsonNode) big = parse_json_q ("{'a':-9223372036854775808,'b':9223372036854775807,'c':-0,'d':1E+2}", &error);
  g_assert_no_error (error);
  g_assert_cmpint (json_object_get_int_member (json_node_get_object (big), "a"), ==, G_MININT64);
  g_assert_cmpint (json_object_get_int_member (json_node_get_object (big), "b"), ==, G_MAXINT64);
}

/* ---- PATCH ------------------------------------------------------------------------- */

static void
test_patch_valid (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (ReelRecordingPatch) layout_only = parse_patch_q ("{'layout':'grid'}", &error);
  g_assert_no_error (error);
  g_assert_true (layout_only->has_layout);
  g_assert_cmpint (layout_only->layout, ==, REEL_LAYOUT_GRID);
  g_assert_cmpuint (layout_only->add_outputs->len, ==, 0);
  g_assert_cmpuint (layout_only->remove_outputs->len, ==, 0);

  g_autoptr (ReelRecordingPatch) full = parse_patch_q (
    "{'layout':'grid','outputs':{'add':[{'type':'rtmp','url':'rtmps://h/app/key'},"
    "{'type':'file','format':'mkv'}],'remove':['out_1','out_123456']}}", &error);
  g_assert_no_error (error);
  g_assert_true (full->has_layout);
  g_assert_cmpuint (full->add_outputs->len, ==, 2);
  ReelOutputSpec *rtmp = g_ptr_array_index (full->add_outputs, 0);
  ReelOutputSpec *file = g_ptr_array_index (full->add_outputs, 1);
  g_assert_cmpint (rtmp->type, ==, REEL_OUTPUT_RTMP);
  g_assert_cmpstr (rtmp->url, ==, "rtmps://h/app/key");
  g_assert_cmpint (file->type, ==, REEL_OUTPUT_FILE);
  g_assert_cmpint (file->format, ==, REEL_FILE_FORMAT_MKV);
  g_assert_cmpuint (full->remove_outputs->len, ==, 2);
  g_assert_cmpstr (g_ptr_array_index (full->remove_outputs, 0), ==, "out_1");
  g_assert_cmpstr (g_ptr_array_index (full->remove_outputs, 1), ==, "out_123456");

  g_autoptr (ReelRecordingPatch) remove_only = parse_patch_q ("{'outputs':{'remove':['out_7']}}", &error);
  g_assert_no_error (error);
  g_assert_false (remove_only->has_layout);
  g_assert_cmpuint (remove_only->remove_outputs->len, ==, 1);

  g_autoptr (ReelRecordingPatch) add_only = parse_patch_q (
    "{'outputs':{'add':[{'type':'file','format':'mp4'}],'remove':[]}}", &error);
  g_assert_no_error (error);
  g_assert_cmpuint (add_only->add_outputs->len, ==, 1);
  g_assert_null (add_only->tracks);

  g_autoptr (ReelRecordingPatch) tracks = parse_patch_q (
    "{'tracks':[{'session_id':'s1','track_name':'cam','participant':'Alice'},"
    "{'session_id':'s1','track_name':'mic','kind':'audio'}]}", &error);
  g_assert_no_error (error);
  g_assert_cmpuint (tracks->tracks->len, ==, 2);
  g_assert_cmpstr (((ReelRemoteTrack *) g_ptr_array_index (tracks->tracks, 1))->kind, ==, "audio");
  g_autoptr (ReelRecordingPatch) no_tracks = parse_patch_q ("{'tracks':[]}", &error);
  g_assert_no_error (error);
  g_assert_cmpuint (no_tracks->tracks->len, ==, 0);
  reel_recording_patch_free (NULL);
}

static const BadCase bad_patches[] = {
  { "{}", INVALID, "body: nothing to change" },
  { "{'outputs':{}}", INVALID, "body: nothing to change" },
  { "{'outputs':{'add':[],'remove':[]}}", INVALID, "body: nothing to change" },
  { "{'room':{'tracks':[]}}", INVALID, "room: unknown field" },
  { "{'tracks':{}}", INVALID, "tracks: expected an array, got an object" },
  { "{'tracks':[{'session_id':'s'}]}", INVALID, "tracks[0].track_name: missing required field" },
  { "{'tracks':[" CF_T1 "," CF_T1 "]}", INVALID, "tracks[1]: duplicate track" },
  { "{'layout':'grid','path':'x'}", INVALID, "path: unknown field; reel chooses file names" },
  { "{'layout':'mosaic'}", INVALID, "layout: unknown layout \"mosaic\"" },
  { "{'layout':null}", INVALID, "layout: expected a string, got null" },
  { "{'outputs':[]}", INVALID, "outputs: expected an object, got an array" },
  { "{'outputs':{'replace':[]}}", INVALID, "outputs.replace: unknown field" },
  { "{'outputs':{'add':{}}}", INVALID, "outputs.add: expected an array, got an object" },
  { "{'outputs':{'add':[1]}}", INVALID, "outputs.add[0]: expected an object, got a number" },
  { "{'outputs':{'add':[{'type':'file'}]}}", INVALID, "outputs.add[0].format: missing required field" },
  { "{'outputs':{'add':[{'type':'file','format':'mp4','name':'x'}]}}", INVALID,
    "outputs.add[0].name: unknown field; reel chooses file names" },
  { "{'outputs':{'add':[{'type':'rtmp','url':'rtmp://u:secretkey@h/a/b'}]}}", INVALID, "outputs.add[0].url: " },
  { "{'outputs':{'add':[{'type':'hls'}]}}", INVALID, "outputs.add[0].type: unknown output type" },
  { "{'outputs':{'add':[{},{},{},{},{},{},{},{},{}]}}", INVALID, "outputs.add: must have at most 8 entries" },
  { "{'outputs':{'remove':'out_1'}}", INVALID, "outputs.remove: expected an array, got a string" },
  { "{'outputs':{'remove':['out_']}}", INVALID, "outputs.remove[0]: expected an output id like \"out_1\"" },
  { "{'outputs':{'remove':['out_1234567']}}", INVALID, "outputs.remove[0]: " },
  { "{'outputs':{'remove':['out_1','rec_1']}}", INVALID, "outputs.remove[1]: " },
  { "{'outputs':{'remove':['out_1 ']}}", INVALID, "outputs.remove[0]: " },
  { "{'outputs':{'remove':['OUT_1']}}", INVALID, "outputs.remove[0]: " },
  { "{'outputs':{'remove':['out_-1']}}", INVALID, "outputs.remove[0]: " },
  { "{'outputs':{'remove':[1]}}", INVALID, "outputs.remove[0]: " },
  { "{'outputs':{'remove':['out_1','out_1']}}", INVALID, "outputs.remove[1]: duplicate output id" },
  { "{'outputs':{'remove':['out_1','out_2','out_3','out_4','out_5','out_6','out_7','out_8','out_9']}}", INVALID,
    "outputs.remove: must have at most 8 entries" },
};

static void
test_bad_patches (void)
{
  for (gsize i = 0; i < G_N_ELEMENTS (bad_patches); i++) {
    const BadCase *c = &bad_patches[i];
    g_autoptr (GError) error = NULL;
    g_autoptr (JsonNode) root = parse_json_q (c->body, &error);
    g_assert_no_error (error);
    g_autoptr (ReelRecordingPatch) patch = reel_request_parse_patch (root, &error);
    check_bad_case (c, error, patch != NULL);
  }
}

/* ---- stream key redaction ------------------------------------------------------------ */

static void
test_redact (void)
{
  static const char *urls[] = {
    "rtmp://h:1935/live/secretkey",
    "rtmps://live.example.com/app/secretkey?auth=secretkey",
    "rtmp://h/live/secretkey?x=/y",
    "rtmp://h/live?secretkey",
    "rtmp://h?key=secretkey",
  };
  for (gsize i = 0; i < G_N_ELEMENTS (urls); i++) {
    g_autofree char *redacted = reel_redact_stream_url (urls[i]);
    g_assert_nonnull (redacted);
    if (strstr (redacted, "secretkey") != NULL)
      g_test_fail_printf ("%s redacted to %s", urls[i], redacted);
  }
  g_autofree char *plain = reel_redact_stream_url ("rtmp://h:1935/live/secretkey");
  g_assert_true (g_str_has_prefix (plain, "rtmp://h:1935/live"));
  g_assert_null (reel_redact_stream_url (NULL));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/request/recording/full", test_full_request);
  g_test_add_func ("/request/recording/api-example", test_api_example);
  g_test_add_func ("/request/recording/janus", test_janus_room);
  g_test_add_func ("/request/recording/cloudflare", test_cloudflare_room);
  g_test_add_func ("/request/recording/orange", test_orange_room);
  g_test_add_func ("/request/recording/defaults", test_defaults);
  g_test_add_func ("/request/recording/boundaries", test_boundaries);
  g_test_add_func ("/request/recording/counts", test_counts);
  g_test_add_func ("/request/recording/bad", test_bad_recordings);
  g_test_add_func ("/request/recording/non-object-root", test_non_object_root);
  g_test_add_func ("/request/echo-sanitized", test_echo_sanitized);
  g_test_add_func ("/request/json/bad", test_bad_json);
  g_test_add_func ("/request/json/depth", test_depth);
  g_test_add_func ("/request/json/good", test_good_json);
  g_test_add_func ("/request/patch/valid", test_patch_valid);
  g_test_add_func ("/request/patch/bad", test_bad_patches);
  g_test_add_func ("/request/redact", test_redact);
  return g_test_run ();
}
