/* test-config.c: reel.conf parsing, drop-ins, validation and secret overrides. */
#include <glib.h>
#include <glib/gstdio.h>
#include <stdarg.h>
#include <string.h>

#if __has_include("reel-build-config.h")
#include "reel-build-config.h"
#endif

#include "base/reel-error.h"
#include "config/reel-config.h"

/* Every test starts from a clean environment: no token, no credentials. */
static void
clear_env (void)
{
  g_unsetenv ("REEL_API_TOKEN");
  g_unsetenv ("REEL_WEBHOOKS_SECRET");
  g_unsetenv ("REEL_CLOUDFLARE_APP_SECRET");
  g_unsetenv ("CREDENTIALS_DIRECTORY");
}

/* Loads @text, expects REEL_ERROR_CONFIG_INVALID and that the message contains
 * every one of the NULL-terminated strings that follow. */
static void G_GNUC_NULL_TERMINATED
assert_rejected (const char *text, ...)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (ReelConfig) config = reel_config_load_from_data (text, NULL, &error);
  va_list args;

  g_assert_null (config);
  g_assert_error (error, REEL_ERROR, REEL_ERROR_CONFIG_INVALID);
  va_start (args, text);
  for (const char *needle = va_arg (args, const char *); needle;
       needle = va_arg (args, const char *)) {
    if (strstr (error->message, needle) == NULL)
      g_error ("config:\n%s\nerror \"%s\" does not contain \"%s\"", text, error->message, needle);
  }
  va_end (args);
}

static ReelConfig *
load_ok (const char *text)
{
  g_autoptr (GError) error = NULL;
  ReelConfig *config = reel_config_load_from_data (text, NULL, &error);
  g_assert_no_error (error);
  g_assert_nonnull (config);
  return config;
}

static void
assert_defaults (const ReelConfig *c)
{
  g_assert_cmpstr (c->listen_host, ==, "127.0.0.1");
  g_assert_cmpuint (c->listen_port, ==, 8080);
  g_assert_null (c->token);
  g_assert_cmpuint (c->max_body_bytes, ==, 65536);
  g_assert_cmpstr (c->recordings_dir, ==, "./recordings");
  g_assert_cmpstr (c->state_db, ==, "./reel.db");
  g_assert_nonnull (c->local_addresses);
  g_assert_null (c->local_addresses[0]);
  g_assert_null (c->webhooks_url);
  g_assert_null (c->webhooks_secret);
  g_assert_cmpuint (c->max_recordings, ==, 8);
  g_assert_cmpuint (c->max_participants, ==, 25);
  g_assert_cmpuint (c->max_duration_s, ==, 86400);
  g_assert_cmpuint (c->max_schedules, ==, 100);
  g_assert_cmpuint (c->webhooks_retry_initial_ms, ==, 1000);
  g_assert_cmpuint (c->webhooks_retry_max_ms, ==, 300000);
  g_assert_cmpuint (c->webhooks_timeout_s, ==, 10);
  if (g_file_test (REEL_PIPELINES_INSTALL_DIR, G_FILE_TEST_IS_DIR))
    g_assert_cmpstr (c->pipelines_dir, ==, REEL_PIPELINES_INSTALL_DIR);
  else
    g_assert_cmpstr (c->pipelines_dir, ==, REEL_PIPELINES_SOURCE_DIR);
  g_assert_cmpstr (c->video_encoder, ==, "video-h264");
  g_assert_cmpstr (c->audio_encoder, ==, "audio-aac");
  g_assert_cmpuint (c->default_width, ==, 1280);
  g_assert_cmpuint (c->default_height, ==, 720);
  g_assert_cmpuint (c->default_framerate, ==, 30);
  g_assert_cmpuint (c->default_bitrate_kbps, ==, 2500);
  g_assert_cmpuint (c->audio_bitrate_kbps, ==, 128);
  g_assert_cmpuint (c->fragment_ms, ==, 1000);
  g_assert_cmpuint (c->stop_timeout_s, ==, 30);
  g_assert_cmpuint (c->rtmp_retry_initial_ms, ==, 1000);
  g_assert_cmpuint (c->rtmp_retry_max_ms, ==, 30000);
  g_assert_cmpuint (c->rtmp_max_retries, ==, 0);
  g_assert_cmpuint (c->rtmp_stall_timeout_s, ==, 10);
  g_assert_cmpint (c->log_level, ==, G_LOG_LEVEL_INFO);
  g_assert_null (c->cloudflare_app_secret);
  g_assert_null (c->cloudflare_app_secret_file);
  g_assert_null (c->cloudflare_apps);
  g_assert_cmpstr (c->cloudflare_simulcast_rid, ==, "a");
  g_assert_null (reel_config_get_cloudflare_secret (c, "any"));
}

static void
test_defaults (void)
{
  g_autoptr (GError) error = NULL;
  clear_env ();

  g_autoptr (ReelConfig) from_null = reel_config_load (NULL, &error);
  g_assert_no_error (error);
  assert_defaults (from_null);

  g_autoptr (ReelConfig) from_nothing = reel_config_load_from_data (NULL, NULL, &error);
  g_assert_no_error (error);
  assert_defaults (from_nothing);

  g_autoptr (ReelConfig) from_empty = load_ok ("# nothing\n\n[api]\n[log]\n");
  assert_defaults (from_empty);
}

static const char every_key[] =
  "[api]\n"
  "listen = 0.0.0.0:9090\n"
  "token = s3cr3t-T0ken\n"
  "max_body_bytes = 1024\n"
  "[storage]\n"
  "recordings_dir = /var/lib/reel/rec\n"
  "state_db = state/reel.db\n"
  "[webrtc]\n"
  "local_addresses = 192.0.2.1, 2001:db8::1 ,10.0.0.7\n"
  "[webhooks]\n"
  "url = https://hooks.example.com/reel?x=1\n"
  "secret = whsec with spaces\n"
  "retry_initial_ms = 200\n"
  "retry_max_ms = 4000\n"
  "timeout_s = 3\n"
  "[limits]\n"
  "max_recordings = 1000\n"
  "max_participants = 1\n"
  "max_duration_s = 2592000\n"
  "max_schedules = 7\n"
  "[media]\n"
  "pipelines_dir = my/pipelines\n"
  "video_encoder = video-vp8\n"
  "audio_encoder = audio_opus2\n"
  "width = 1920\n"
  "height = 1080\n"
  "framerate = 60\n"
  "bitrate_kbps = 6000\n"
  "audio_bitrate_kbps = 192\n"
  "fragment_ms = 500\n"
  "stop_timeout_s = 600\n"
  "[rtmp]\n"
  "retry_initial_ms = 250\n"
  "retry_max_ms = 5000\n"
  "max_retries = 7\n"
  "stall_timeout_s = 3\n"
  "[log]\n"
  "level = debug   \n";

static void
test_every_key (void)
{
  clear_env ();
  g_autoptr (ReelConfig) c = load_ok (every_key);

  g_assert_cmpstr (c->listen_host, ==, "0.0.0.0");
  g_assert_cmpuint (c->listen_port, ==, 9090);
  g_assert_cmpstr (c->token, ==, "s3cr3t-T0ken");
  g_assert_cmpuint (c->max_body_bytes, ==, 1024);
  g_assert_cmpstr (c->recordings_dir, ==, "/var/lib/reel/rec");
  g_assert_cmpstr (c->state_db, ==, "state/reel.db");
  g_assert_cmpuint (g_strv_length (c->local_addresses), ==, 3);
  g_assert_cmpstr (c->local_addresses[0], ==, "192.0.2.1");
  g_assert_cmpstr (c->local_addresses[1], ==, "2001:db8::1");
  g_assert_cmpstr (c->local_addresses[2], ==, "10.0.0.7");
  g_assert_cmpstr (c->webhooks_url, ==, "https://hooks.example.com/reel?x=1");
  g_assert_cmpstr (c->webhooks_secret, ==, "whsec with spaces");
  g_assert_cmpuint (c->max_recordings, ==, 1000);
  g_assert_cmpuint (c->max_participants, ==, 1);
  g_assert_cmpuint (c->max_duration_s, ==, 2592000);
  g_assert_cmpuint (c->max_schedules, ==, 7);
  g_assert_cmpuint (c->webhooks_retry_initial_ms, ==, 200);
  g_assert_cmpuint (c->webhooks_retry_max_ms, ==, 4000);
  g_assert_cmpuint (c->webhooks_timeout_s, ==, 3);
  g_assert_cmpstr (c->pipelines_dir, ==, "my/pipelines");
  g_assert_cmpstr (c->video_encoder, ==, "video-vp8");
  g_assert_cmpstr (c->audio_encoder, ==, "audio_opus2");
  g_assert_cmpuint (c->default_width, ==, 1920);
  g_assert_cmpuint (c->default_height, ==, 1080);
  g_assert_cmpuint (c->default_framerate, ==, 60);
  g_assert_cmpuint (c->default_bitrate_kbps, ==, 6000);
  g_assert_cmpuint (c->audio_bitrate_kbps, ==, 192);
  g_assert_cmpuint (c->fragment_ms, ==, 500);
  g_assert_cmpuint (c->stop_timeout_s, ==, 600);
  g_assert_cmpuint (c->rtmp_retry_initial_ms, ==, 250);
  g_assert_cmpuint (c->rtmp_retry_max_ms, ==, 5000);
  g_assert_cmpuint (c->rtmp_max_retries, ==, 7);
  g_assert_cmpuint (c->rtmp_stall_timeout_s, ==, 3);
  g_assert_cmpint (c->log_level, ==, G_LOG_LEVEL_DEBUG);
}

static void
test_empty_optionals (void)
{
  clear_env ();
  g_autoptr (ReelConfig) c = load_ok ("[api]\ntoken =\n[webhooks]\nurl =\nsecret =\n"
                                      "[webrtc]\nlocal_addresses =\n[log]\nlevel = WARNING\n");
  g_assert_null (c->token);
  g_assert_null (c->webhooks_url);
  g_assert_null (c->webhooks_secret);
  g_assert_null (c->local_addresses[0]);
  g_assert_cmpint (c->log_level, ==, G_LOG_LEVEL_WARNING);

  g_autoptr (ReelConfig) e = load_ok ("[log]\nlevel = error\n[storage]\nstate_db = a\\sb\n");
  g_assert_cmpint (e->log_level, ==, G_LOG_LEVEL_CRITICAL);
  g_assert_cmpstr (e->state_db, ==, "a b");
}

static void
test_dropins_from_data (void)
{
  g_autoptr (GError) error = NULL;
  const char *const dropins[] = {
    "[limits]\nmax_recordings = 2\n[api]\nlisten = localhost:0\n",
    "[limits]\nmax_recordings = 3\n",
    NULL,
  };
  clear_env ();

  g_autoptr (ReelConfig) c = reel_config_load_from_data ("[limits]\nmax_recordings = 1\n"
                                                         "max_participants = 5\n",
                                                         dropins, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (c->max_recordings, ==, 3);
  g_assert_cmpuint (c->max_participants, ==, 5);
  g_assert_cmpstr (c->listen_host, ==, "localhost");
  g_assert_cmpuint (c->listen_port, ==, 0);

  const char *const bad[] = { "[limits]\nmax_recordings = 2\n", "[limits]\nmax_recordings = x\n", NULL };
  g_autoptr (ReelConfig) none = reel_config_load_from_data ("", bad, &error);
  g_assert_null (none);
  g_assert_error (error, REEL_ERROR, REEL_ERROR_CONFIG_INVALID);
  g_assert_nonnull (strstr (error->message, "drop-in #2: [limits] max_recordings"));
}

/* A temporary directory with reel.conf and reel.conf.d/. */
typedef struct {
  char *dir;
  char *main_path;
  char *dropin_dir;
  GPtrArray *files;
} TempConf;

static void
temp_conf_write (TempConf *t, const char *relative, const char *text)
{
  g_autoptr (GError) error = NULL;
  char *path = g_build_filename (t->dir, relative, NULL);
  g_file_set_contents (path, text, -1, &error);
  g_assert_no_error (error);
  g_ptr_array_add (t->files, path);
}

static void
temp_conf_init (TempConf *t, const char *main_text)
{
  g_autoptr (GError) error = NULL;
  t->dir = g_dir_make_tmp ("reel-config-XXXXXX", &error);
  g_assert_no_error (error);
  t->main_path = g_build_filename (t->dir, "reel.conf", NULL);
  t->dropin_dir = g_build_filename (t->dir, "reel.conf.d", NULL);
  t->files = g_ptr_array_new_with_free_func (g_free);
  g_assert_cmpint (g_mkdir (t->dropin_dir, 0700), ==, 0);
  if (main_text)
    temp_conf_write (t, "reel.conf", main_text);
}

static void
temp_conf_clear (TempConf *t)
{
  for (guint i = t->files->len; i > 0; i--)
    g_remove (g_ptr_array_index (t->files, i - 1));
  g_rmdir (t->dropin_dir);
  g_rmdir (t->dir);
  g_ptr_array_unref (t->files);
  g_free (t->dropin_dir);
  g_free (t->main_path);
  g_free (t->dir);
}

static void
test_dropins_on_disk (void)
{
  g_autoptr (GError) error = NULL;
  TempConf t;
  clear_env ();
  temp_conf_init (&t, "[limits]\nmax_recordings = 1\nmax_participants = 2\nmax_duration_s = 3\n");
  /* Written out of order on purpose: name order must win, not creation order. */
  temp_conf_write (&t, "reel.conf.d/20-b.conf", "[limits]\nmax_participants = 20\n");
  temp_conf_write (&t, "reel.conf.d/10-a.conf",
                   "[limits]\nmax_participants = 10\nmax_duration_s = 30\n");
  temp_conf_write (&t, "reel.conf.d/30-ignored.conf.bak", "[limits]\nmax_recordings = 99\n");
  temp_conf_write (&t, "reel.conf.d/.99-hidden.conf", "[limits]\nmax_recordings = 98\n");

  g_autoptr (ReelConfig) c = reel_config_load (t.main_path, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (c->max_recordings, ==, 1);
  g_assert_cmpuint (c->max_participants, ==, 20);
  g_assert_cmpuint (c->max_duration_s, ==, 30);

  /* An error in a drop-in names the drop-in file. */
  temp_conf_write (&t, "reel.conf.d/40-bad.conf", "[limits]\nmax_recordings = 1001\n");
  g_autoptr (ReelConfig) bad = reel_config_load (t.main_path, &error);
  g_assert_null (bad);
  g_assert_error (error, REEL_ERROR, REEL_ERROR_CONFIG_INVALID);
  g_assert_nonnull (strstr (error->message, "40-bad.conf: [limits] max_recordings"));
  temp_conf_clear (&t);
}

static void
test_missing_dropin_dir_and_file (void)
{
  g_autoptr (GError) error = NULL;
  TempConf t;
  clear_env ();
  temp_conf_init (&t, "[api]\nlisten = 127.0.0.1:1\n");
  g_rmdir (t.dropin_dir);

  g_autoptr (ReelConfig) c = reel_config_load (t.main_path, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (c->listen_port, ==, 1);

  g_autofree char *missing = g_build_filename (t.dir, "nope.conf", NULL);
  g_autoptr (ReelConfig) none = reel_config_load (missing, &error);
  g_assert_null (none);
  g_assert_error (error, REEL_ERROR, REEL_ERROR_CONFIG_INVALID);
  g_assert_nonnull (strstr (error->message, "nope.conf"));
  temp_conf_clear (&t);
}

static void
test_unknown_names (void)
{
  clear_env ();
  assert_rejected ("[api]\ntokne = x\n", "reel.conf", "[api] tokne", "unknown key", NULL);
  assert_rejected ("[apii]\nlisten = 127.0.0.1:80\n", "reel.conf", "[apii] listen",
                   "unknown group", NULL);
  assert_rejected ("[Api]\n", "reel.conf", "[Api]", "unknown group", NULL);
  assert_rejected ("[limits]\nlisten = 127.0.0.1:80\n", "[limits] listen", "unknown key", NULL);
  assert_rejected ("[media]\nwidth[fr] = 640\n", "[media] width[fr]", "unknown key", NULL);
  assert_rejected ("listen = 127.0.0.1:80\n", "reel.conf", NULL);
  assert_rejected ("[api]\nthis is not a key\n", "reel.conf", NULL);
}

typedef struct {
  const char *group;
  const char *key;
  const char *bad[6];
} BadNumber;

static const BadNumber bad_numbers[] = {
  { "api", "max_body_bytes", { "1023", "16777217", "64k", NULL } },
  { "limits", "max_recordings", { "0", "1001", "12abc", "-1", "", NULL } },
  { "limits", "max_participants", { "0", "101", "+5", "0x10", NULL } },
  { "limits", "max_duration_s", { "0", "2592001", "1e3", "99999999999999999999999", NULL } },
  { "media", "width", { "15", "7682", "1281", "wide", NULL } },
  { "media", "height", { "14", "4322", "721", "-720", NULL } },
  { "media", "framerate", { "0", "121", "29.97", NULL } },
  { "media", "bitrate_kbps", { "99", "100001", "2.5M", NULL } },
  { "media", "audio_bitrate_kbps", { "15", "513", "x", NULL } },
  { "media", "fragment_ms", { "99", "10001", "1 000", NULL } },
  { "media", "stop_timeout_s", { "0", "601", "30s", NULL } },
  { "rtmp", "retry_initial_ms", { "99", "600001", "1s", NULL } },
  { "rtmp", "retry_max_ms", { "99", "3600001", "", NULL } },
  { "rtmp", "max_retries", { "-1", "1000001", "inf", NULL } },
  { "rtmp", "stall_timeout_s", { "0", "3601", "ten", NULL } },
};

static void
test_bad_numbers (void)
{
  clear_env ();
  for (gsize i = 0; i < G_N_ELEMENTS (bad_numbers); i++) {
    const BadNumber *b = &bad_numbers[i];
    g_autofree char *needle = g_strdup_printf ("[%s] %s", b->group, b->key);
    for (gsize j = 0; b->bad[j]; j++) {
      g_autofree char *text = g_strdup_printf ("[%s]\n%s = %s\n", b->group, b->key, b->bad[j]);
      assert_rejected (text, "reel.conf: ", needle, NULL);
    }
  }
  assert_rejected ("[limits]\nmax_recordings = 1001\n", "1..1000", "\"1001\"", NULL);
  assert_rejected ("[media]\nwidth = 641\n", "[media] width", "even", NULL);
}

static void
test_number_bounds (void)
{
  clear_env ();
  g_autoptr (ReelConfig) lo = load_ok ("[api]\nmax_body_bytes = 1024\n[media]\nwidth = 16\n"
                                       "height = 16\nframerate = 1\n[rtmp]\nmax_retries = 0\n"
                                       "retry_initial_ms = 100\nretry_max_ms = 100\n");
  g_assert_cmpuint (lo->max_body_bytes, ==, 1024);
  g_assert_cmpuint (lo->default_width, ==, 16);
  g_assert_cmpuint (lo->rtmp_retry_max_ms, ==, 100);

  g_autoptr (ReelConfig) hi = load_ok ("[api]\nmax_body_bytes = 16777216\n[media]\nwidth = 7680\n"
                                       "height = 4320\nframerate = 120\n[rtmp]\n"
                                       "max_retries = 1000000\nretry_max_ms = 3600000\n");
  g_assert_cmpuint (hi->max_body_bytes, ==, 16777216);
  g_assert_cmpuint (hi->default_height, ==, 4320);
  g_assert_cmpuint (hi->rtmp_max_retries, ==, 1000000);
}

static void
test_retry_order (void)
{
  clear_env ();
  assert_rejected ("[rtmp]\nretry_initial_ms = 5000\nretry_max_ms = 4000\n",
                   "reel.conf: [rtmp] retry_max_ms", "retry_initial_ms", NULL);
  assert_rejected ("[rtmp]\nretry_initial_ms = 40000\n",
                   "reel.conf: [rtmp] retry_max_ms", "retry_initial_ms", NULL);
  assert_rejected ("[webhooks]\nretry_initial_ms = 5000\nretry_max_ms = 4000\n",
                   "reel.conf: [webhooks] retry_max_ms", "[webhooks] retry_initial_ms", NULL);
}

static void
test_listen (void)
{
  static const char *const bad[] = {
    "127.0.0.1", "127.0.0.1:", ":8080", "127.0.0.1:65536", "127.0.0.1:-1", "127.0.0.1:80x",
    "example.com:80", "localhost", "::1:8080", "[::1]", "[::1]:", "[127.0.0.1]:80",
    "[::1:80", "256.0.0.1:80", "1.2.3:80", "*:80", "", "127.0.0.1:8080 # api",
  };
  clear_env ();
  for (gsize i = 0; i < G_N_ELEMENTS (bad); i++) {
    g_autofree char *text = g_strdup_printf ("[api]\nlisten = %s\n", bad[i]);
    assert_rejected (text, "reel.conf: [api] listen: expected host:port with port 0..65535",
                     NULL);
  }

  g_autoptr (ReelConfig) v6 = load_ok ("[api]\nlisten = [::1]:65535\n");
  g_assert_cmpstr (v6->listen_host, ==, "::1");
  g_assert_cmpuint (v6->listen_port, ==, 65535);
  g_autoptr (ReelConfig) any = load_ok ("[api]\nlisten = [::]:0\n");
  g_assert_cmpstr (any->listen_host, ==, "::");
  g_assert_cmpuint (any->listen_port, ==, 0);
  g_autoptr (ReelConfig) local = load_ok ("[api]\nlisten = localhost:8081\n");
  g_assert_cmpstr (local->listen_host, ==, "localhost");
  g_assert_cmpuint (local->listen_port, ==, 8081);
}

static void
test_local_addresses (void)
{
  static const char *const bad[] = {
    "localhost", "10.0.0.1,", "10.0.0.1,,10.0.0.2", "10.0.0.256", "fe80::zz", "10.0.0.1 10.0.0.2",
    "eth0",
  };
  clear_env ();
  for (gsize i = 0; i < G_N_ELEMENTS (bad); i++) {
    g_autofree char *text = g_strdup_printf ("[webrtc]\nlocal_addresses = %s\n", bad[i]);
    assert_rejected (text, "reel.conf: [webrtc] local_addresses", "IP address", NULL);
  }
  g_autoptr (ReelConfig) c = load_ok ("[webrtc]\nlocal_addresses = ::1\n");
  g_assert_cmpuint (g_strv_length (c->local_addresses), ==, 1);
  g_assert_cmpstr (c->local_addresses[0], ==, "::1");
}

static void
test_bad_strings (void)
{
  clear_env ();
  assert_rejected ("[log]\nlevel = verbose\n", "reel.conf: [log] level", "verbose", NULL);
  assert_rejected ("[log]\nlevel =\n", "reel.conf: [log] level", NULL);
  assert_rejected ("[storage]\nrecordings_dir =\n", "[storage] recordings_dir", "empty", NULL);
  assert_rejected ("[storage]\nstate_db = \n", "[storage] state_db", "empty", NULL);
  assert_rejected ("[media]\npipelines_dir =\n", "[media] pipelines_dir", "empty", NULL);
  assert_rejected ("[media]\nvideo_encoder = ../etc/passwd\n", "[media] video_encoder", NULL);
  assert_rejected ("[media]\naudio_encoder = Audio-AAC\n", "[media] audio_encoder", NULL);
  assert_rejected ("[media]\naudio_encoder =\n", "[media] audio_encoder", NULL);
  assert_rejected ("[webhooks]\nurl = ftp://example.com/\n", "[webhooks] url", "http", NULL);
  assert_rejected ("[webhooks]\nurl = not a url\n", "[webhooks] url", NULL);
  assert_rejected ("[webhooks]\nurl = http://\n", "[webhooks] url", NULL);
}

static void
test_token_not_echoed (void)
{
  g_autoptr (GError) error = NULL;
  clear_env ();
  g_autoptr (ReelConfig) c = reel_config_load_from_data ("[api]\ntoken = two words\n", NULL,
                                                         &error);
  g_assert_null (c);
  g_assert_error (error, REEL_ERROR, REEL_ERROR_CONFIG_INVALID);
  g_assert_nonnull (strstr (error->message, "reel.conf: [api] token"));
  g_assert_null (strstr (error->message, "words"));
}

static void
test_env_token (void)
{
  g_autoptr (GError) error = NULL;
  clear_env ();

  g_setenv ("REEL_API_TOKEN", "from-env", TRUE);
  g_setenv ("REEL_WEBHOOKS_SECRET", "hook-env", TRUE);
  g_autoptr (ReelConfig) c = load_ok ("[api]\ntoken = from-file\n[webhooks]\nsecret = s\n");
  g_assert_cmpstr (c->token, ==, "from-env");
  g_assert_cmpstr (c->webhooks_secret, ==, "hook-env");

  g_autoptr (ReelConfig) d = reel_config_load (NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (d->token, ==, "from-env");

  /* Set but empty: the file's value stays. */
  g_setenv ("REEL_API_TOKEN", "", TRUE);
  g_autoptr (ReelConfig) e = load_ok ("[api]\ntoken = from-file\n");
  g_assert_cmpstr (e->token, ==, "from-file");

  g_setenv ("REEL_API_TOKEN", "has space", TRUE);
  g_autoptr (ReelConfig) f = reel_config_load_from_data ("", NULL, &error);
  g_assert_null (f);
  g_assert_error (error, REEL_ERROR, REEL_ERROR_CONFIG_INVALID);
  g_assert_nonnull (strstr (error->message, "REEL_API_TOKEN"));
  g_assert_null (strstr (error->message, "has space"));
  clear_env ();
}

static void
test_credentials (void)
{
  g_autoptr (GError) error = NULL;
  TempConf t;
  clear_env ();
  temp_conf_init (&t, NULL);
  temp_conf_write (&t, "reel-api-token", "cred-token\n");
  g_setenv ("CREDENTIALS_DIRECTORY", t.dir, TRUE);

  g_autoptr (ReelConfig) c = load_ok ("[api]\ntoken = from-file\n");
  g_assert_cmpstr (c->token, ==, "cred-token");
  g_assert_null (c->webhooks_secret);

  /* REEL_API_TOKEN wins over the credential. */
  g_setenv ("REEL_API_TOKEN", "env-token", TRUE);
  g_autoptr (ReelConfig) d = load_ok ("[api]\ntoken = from-file\n");
  g_assert_cmpstr (d->token, ==, "env-token");
  g_unsetenv ("REEL_API_TOKEN");

  temp_conf_write (&t, "reel-webhooks-secret", "cred secret\r\n");
  g_autoptr (ReelConfig) e = load_ok ("[webhooks]\nsecret = from-file\n");
  g_assert_cmpstr (e->webhooks_secret, ==, "cred secret");

  temp_conf_write (&t, "reel-api-token", "\n");
  g_autoptr (ReelConfig) f = reel_config_load_from_data ("", NULL, &error);
  g_assert_null (f);
  g_assert_error (error, REEL_ERROR, REEL_ERROR_CONFIG_INVALID);
  g_assert_nonnull (strstr (error->message, "reel-api-token"));
  g_clear_error (&error);

  /* A credentials directory without our credential leaves the file's token. */
  g_setenv ("CREDENTIALS_DIRECTORY", t.dropin_dir, TRUE);
  g_autoptr (ReelConfig) g = load_ok ("[api]\ntoken = from-file\n");
  g_assert_cmpstr (g->token, ==, "from-file");
  clear_env ();
  temp_conf_clear (&t);
}

static void
write_file (const char *dir, const char *name, const char *text)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *path = g_build_filename (dir, name, NULL);
  g_assert_true (g_file_set_contents (path, text, -1, &error));
  g_assert_no_error (error);
}

/* The Cloudflare app secret: common (key, file, environment, credential) and per
 * app (apps = ID:FILE); never echoed in errors. */
static void
test_cloudflare_secrets (void)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *dir = g_dir_make_tmp ("reel-cf-XXXXXX", &error);
  g_assert_no_error (error);
  clear_env ();
  write_file (dir, "common", "common-s3cret\n");
  write_file (dir, "app1", "app1-s3cret\r\n");
  write_file (dir, "spaces", "two words\n");
  write_file (dir, "empty", "\n");
  write_file (dir, "cloudflare-app-secret", "cred-s3cret\n");

  g_autoptr (ReelConfig) plain = load_ok ("[cloudflare]\napp_secret = key-s3cret\nsimulcast_rid =\n");
  g_assert_cmpstr (reel_config_get_cloudflare_secret (plain, "x"), ==, "key-s3cret");
  g_assert_null (plain->cloudflare_simulcast_rid);

  g_autofree char *text = g_strdup_printf ("[cloudflare]\napp_secret_file = %s/common\n"
                                           "apps = app1:%s/app1 , app-2_x:%s/common\n", dir, dir, dir);
  g_autoptr (ReelConfig) files = load_ok (text);
  g_assert_cmpstr (reel_config_get_cloudflare_secret (files, "app1"), ==, "app1-s3cret");
  g_assert_cmpstr (reel_config_get_cloudflare_secret (files, "app-2_x"), ==, "common-s3cret");
  g_assert_cmpstr (reel_config_get_cloudflare_secret (files, "other"), ==, "common-s3cret");

  g_autofree char *only_apps = g_strdup_printf ("[cloudflare]\napps = app1:%s/app1\n", dir);
  g_autoptr (ReelConfig) per_app = load_ok (only_apps);
  g_assert_cmpstr (reel_config_get_cloudflare_secret (per_app, "app1"), ==, "app1-s3cret");
  g_assert_null (reel_config_get_cloudflare_secret (per_app, "other"));

  /* the environment beats the credential, which beats the files */
  g_setenv ("CREDENTIALS_DIRECTORY", dir, TRUE);
  g_autoptr (ReelConfig) cred = load_ok (text);
  g_assert_cmpstr (reel_config_get_cloudflare_secret (cred, "other"), ==, "cred-s3cret");
  g_assert_cmpstr (reel_config_get_cloudflare_secret (cred, "app1"), ==, "app1-s3cret");
  g_setenv ("REEL_CLOUDFLARE_APP_SECRET", "env-s3cret", TRUE);
  g_autoptr (ReelConfig) env = load_ok (text);
  g_assert_cmpstr (reel_config_get_cloudflare_secret (env, "other"), ==, "env-s3cret");
  clear_env ();

  assert_rejected ("[cloudflare]\napp_secret = two words\n", "[cloudflare] app_secret", NULL);
  g_autofree char *both = g_strdup_printf ("[cloudflare]\napp_secret = x\napp_secret_file = %s/common\n", dir);
  assert_rejected (both, "reel.conf: [cloudflare] app_secret_file", "either", NULL);
  g_autofree char *missing = g_strdup_printf ("[cloudflare]\napp_secret_file = %s/none\n", dir);
  assert_rejected (missing, "reel.conf: [cloudflare] app_secret_file", NULL);
  g_autofree char *bad_apps = g_strdup_printf ("[cloudflare]\napps = a/b:%s/app1\n", dir);
  assert_rejected (bad_apps, "reel.conf: [cloudflare] apps: expected APPID:FILE", NULL);
  assert_rejected ("[cloudflare]\napps = app1\n", "[cloudflare] apps", NULL);
  assert_rejected ("[cloudflare]\napps = app1:\n", "[cloudflare] apps", NULL);
  g_autofree char *spaces = g_strdup_printf ("[cloudflare]\napps = app1:%s/spaces\n", dir);
  assert_rejected (spaces, "[cloudflare] apps: secret of app app1", "printable ASCII", NULL);
  g_autofree char *empty = g_strdup_printf ("[cloudflare]\napp_secret_file = %s/empty\n", dir);
  assert_rejected (empty, "[cloudflare] app_secret_file", NULL);
  g_autoptr (ReelConfig) none = reel_config_load_from_data (spaces, NULL, &error);
  g_assert_null (strstr (error->message, "words"));

  const char *names[] = { "common", "app1", "spaces", "empty", "cloudflare-app-secret" };
  for (gsize i = 0; i < G_N_ELEMENTS (names); i++) {
    g_autofree char *path = g_build_filename (dir, names[i], NULL);
    g_unlink (path);
  }
  g_rmdir (dir);
}

static void
test_shipped_config (void)
{
  g_autoptr (GError) error = NULL;
  const char *root = g_getenv ("REEL_SOURCE_ROOT");
  clear_env ();
  /* meson test sets it; running the binary by hand needs it too. */
  g_assert_nonnull (root);
  g_autofree char *path = g_build_filename (root, "config", "reel.conf", NULL);
  g_autofree char *text = NULL;
  g_assert_true (g_file_get_contents (path, &text, NULL, &error));
  g_assert_no_error (error);

  g_autoptr (ReelConfig) c = reel_config_load (path, &error);
  g_assert_no_error (error);
  assert_defaults (c);

  /* Uncommenting every `#key = value` line must give the defaults too, except
   * pipelines_dir, whose default depends on the installation. */
  g_autoptr (GRegex) regex = g_regex_new ("^#(?!pipelines_dir)([a-z_]+ =)", G_REGEX_MULTILINE,
                                          0, &error);
  g_assert_no_error (error);
  g_autofree char *uncommented = g_regex_replace (regex, text, -1, 0, "\\1", 0, &error);
  g_assert_no_error (error);
  g_assert_nonnull (strstr (uncommented, "\nmax_participants = 25\n"));
  g_autoptr (ReelConfig) u = load_ok (uncommented);
  assert_defaults (u);
}

static void
test_refcount (void)
{
  clear_env ();
  ReelConfig *c = load_ok ("[api]\ntoken = t\n");
  ReelConfig *r = reel_config_ref (c);
  g_assert_true (r == c);
  reel_config_unref (c);
  g_assert_cmpstr (r->token, ==, "t");
  reel_config_unref (r);
  reel_config_unref (NULL);
}

int
main (int argc, char *argv[])
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/config/defaults", test_defaults);
  g_test_add_func ("/config/every-key", test_every_key);
  g_test_add_func ("/config/empty-optionals", test_empty_optionals);
  g_test_add_func ("/config/dropins/data", test_dropins_from_data);
  g_test_add_func ("/config/dropins/disk", test_dropins_on_disk);
  g_test_add_func ("/config/missing-files", test_missing_dropin_dir_and_file);
  g_test_add_func ("/config/unknown-names", test_unknown_names);
  g_test_add_func ("/config/bad-numbers", test_bad_numbers);
  g_test_add_func ("/config/number-bounds", test_number_bounds);
  g_test_add_func ("/config/retry-order", test_retry_order);
  g_test_add_func ("/config/listen", test_listen);
  g_test_add_func ("/config/local-addresses", test_local_addresses);
  g_test_add_func ("/config/bad-strings", test_bad_strings);
  g_test_add_func ("/config/token-not-echoed", test_token_not_echoed);
  g_test_add_func ("/config/env-token", test_env_token);
  g_test_add_func ("/config/cloudflare-secrets", test_cloudflare_secrets);
  g_test_add_func ("/config/credentials", test_credentials);
  g_test_add_func ("/config/shipped", test_shipped_config);
  g_test_add_func ("/config/refcount", test_refcount);
  return g_test_run ();
}
