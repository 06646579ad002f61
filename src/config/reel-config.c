/* reel-config.c: reel.conf + reel.conf.d/ drop-ins → one validated ReelConfig.
 *
 * Every key is described once in `key_table`: its group, name, kind, where it
 * lands in ReelConfig and its range. Files are applied one after the other onto
 * the defaults, so a later file's key simply overwrites an earlier one. Nothing
 * unknown is ignored: a typo in a group or key name is an error, because a
 * silently ignored `tokne = ...` would leave the API without authentication.
 */
#include "config/reel-config.h"

#include <gio/gio.h>
#include <stddef.h>
#include <string.h>

#include "base/reel-error.h"
#include "base/reel-log.h"

#if __has_include("reel-build-config.h")
#include "reel-build-config.h"
#endif

#if !defined(REEL_PIPELINES_INSTALL_DIR) || !defined(REEL_PIPELINES_SOURCE_DIR)
#error "REEL_PIPELINES_INSTALL_DIR and REEL_PIPELINES_SOURCE_DIR must be defined (reel-build-config.h)"
#endif

#define DROPIN_DIR_NAME "reel.conf.d"
#define DATA_LABEL "reel.conf"
#define TOKEN_CREDENTIAL "reel-api-token"
#define SECRET_CREDENTIAL "reel-webhooks-secret"
#define CLOUDFLARE_CREDENTIAL "cloudflare-app-secret"
#define APP_ID_MAX 128
#define TEMPLATE_NAME_MAX 64

typedef enum {
  KEY_UINT,      /* unsigned number in [min, max], stored in a field of `size` bytes */
  KEY_PATH,      /* non-empty string, kept as written (relative stays relative) */
  KEY_OPTIONAL,  /* string, empty = NULL */
  KEY_TOKEN,     /* optional string of visible ASCII, no spaces */
  KEY_URL,       /* optional http(s) URL */
  KEY_TEMPLATE,  /* pipeline template name: [a-z0-9][a-z0-9_-]* */
  KEY_LISTEN,    /* host:port → listen_host + listen_port */
  KEY_ADDRESSES, /* comma-separated IP literals → NULL-terminated vector */
  KEY_LOG_LEVEL, /* error|warning|info|debug */
} KeyKind;

typedef struct {
  const char *group;
  const char *key;
  KeyKind kind;
  gsize offset;
  gsize size;
  guint64 min;
  guint64 max;
  gboolean even;
} KeySpec;

#define FIELD_SIZE(field) sizeof (((ReelConfig *) NULL)->field)
#define UINT_KEY(g, k, field, lo, hi) \
  { g, k, KEY_UINT, offsetof (ReelConfig, field), FIELD_SIZE (field), lo, hi, FALSE }
#define EVEN_KEY(g, k, field, lo, hi) \
  { g, k, KEY_UINT, offsetof (ReelConfig, field), FIELD_SIZE (field), lo, hi, TRUE }
#define STR_KEY(g, k, kind, field) \
  { g, k, kind, offsetof (ReelConfig, field), FIELD_SIZE (field), 0, 0, FALSE }

static const KeySpec key_table[] = {
  STR_KEY ("api", "listen", KEY_LISTEN, listen_host),
  STR_KEY ("api", "token", KEY_TOKEN, token),
  UINT_KEY ("api", "max_body_bytes", max_body_bytes, 1024, 16777216),
  STR_KEY ("storage", "recordings_dir", KEY_PATH, recordings_dir),
  STR_KEY ("storage", "state_db", KEY_PATH, state_db),
  STR_KEY ("webrtc", "local_addresses", KEY_ADDRESSES, local_addresses),
  UINT_KEY ("webrtc", "latency_ms", webrtc_latency_ms, 20, 5000),
  STR_KEY ("webhooks", "url", KEY_URL, webhooks_url),
  STR_KEY ("webhooks", "secret", KEY_OPTIONAL, webhooks_secret),
  UINT_KEY ("webhooks", "retry_initial_ms", webhooks_retry_initial_ms, 100, 600000),
  UINT_KEY ("webhooks", "retry_max_ms", webhooks_retry_max_ms, 100, 86400000),
  UINT_KEY ("webhooks", "timeout_s", webhooks_timeout_s, 1, 300),
  UINT_KEY ("limits", "max_recordings", max_recordings, 1, 1000),
  UINT_KEY ("limits", "max_participants", max_participants, 1, 100),
  UINT_KEY ("limits", "max_duration_s", max_duration_s, 1, 2592000),
  UINT_KEY ("limits", "max_schedules", max_schedules, 1, 100000),
  STR_KEY ("media", "pipelines_dir", KEY_PATH, pipelines_dir),
  STR_KEY ("media", "video_encoder", KEY_TEMPLATE, video_encoder),
  STR_KEY ("media", "audio_encoder", KEY_TEMPLATE, audio_encoder),
  EVEN_KEY ("media", "width", default_width, 16, 7680),
  EVEN_KEY ("media", "height", default_height, 16, 4320),
  UINT_KEY ("media", "framerate", default_framerate, 1, 120),
  UINT_KEY ("media", "bitrate_kbps", default_bitrate_kbps, 100, 100000),
  UINT_KEY ("media", "audio_bitrate_kbps", audio_bitrate_kbps, 16, 512),
  UINT_KEY ("media", "fragment_ms", fragment_ms, 100, 10000),
  UINT_KEY ("media", "stop_timeout_s", stop_timeout_s, 1, 600),
  UINT_KEY ("rtmp", "retry_initial_ms", rtmp_retry_initial_ms, 100, 600000),
  UINT_KEY ("rtmp", "retry_max_ms", rtmp_retry_max_ms, 100, 3600000),
  UINT_KEY ("rtmp", "max_retries", rtmp_max_retries, 0, 1000000),
  UINT_KEY ("rtmp", "stall_timeout_s", rtmp_stall_timeout_s, 1, 3600),
  STR_KEY ("cloudflare", "app_secret", KEY_TOKEN, cloudflare_app_secret),
  STR_KEY ("cloudflare", "app_secret_file", KEY_OPTIONAL, cloudflare_app_secret_file),
  STR_KEY ("cloudflare", "apps", KEY_OPTIONAL, cloudflare_apps),
  STR_KEY ("cloudflare", "simulcast_rid", KEY_TOKEN, cloudflare_simulcast_rid),
  UINT_KEY ("orange", "empty_timeout_s", orange_empty_timeout_s, 1, 86400),
  STR_KEY ("orange", "app_id", KEY_TOKEN, orange_app_id),
  STR_KEY ("orange", "api_url", KEY_URL, orange_api_url),
  STR_KEY ("log", "level", KEY_LOG_LEVEL, log_level),
};

#define N_KEYS G_N_ELEMENTS (key_table)

/* One load in progress: the config being built and, per key, the label of the
 * file that set it last (for errors found only after every file is merged). */
typedef struct {
  ReelConfig *config;
  char *origin[N_KEYS];
} Loader;

static gboolean G_GNUC_PRINTF (4, 5)
key_error (GError **error, const char *label, const KeySpec *spec, const char *format, ...)
{
  va_list args;
  va_start (args, format);
  g_autofree char *detail = g_strdup_vprintf (format, args);
  va_end (args);
  g_set_error (error, REEL_ERROR, REEL_ERROR_CONFIG_INVALID, "%s: [%s] %s: %s",
               label, spec->group, spec->key, detail);
  return FALSE;
}

static const KeySpec *
find_key (const char *group, const char *key)
{
  for (gsize i = 0; i < N_KEYS; i++) {
    if (g_str_equal (key_table[i].group, group) && g_str_equal (key_table[i].key, key))
      return &key_table[i];
  }
  return NULL;
}

static gboolean
group_is_known (const char *group)
{
  for (gsize i = 0; i < N_KEYS; i++) {
    if (g_str_equal (key_table[i].group, group))
      return TRUE;
  }
  return FALSE;
}

static gpointer
field_of (ReelConfig *config, const KeySpec *spec)
{
  return (guint8 *) config + spec->offset;
}

static void
store_uint (ReelConfig *config, const KeySpec *spec, guint64 value)
{
  gpointer field = field_of (config, spec);
  switch (spec->size) {
  case sizeof (guint16): *(guint16 *) field = (guint16) value; break;
  case sizeof (guint32): *(guint32 *) field = (guint32) value; break;
  case sizeof (guint64): *(guint64 *) field = value; break;
  default: g_assert_not_reached ();
  }
}

static void
store_string (ReelConfig *config, const KeySpec *spec, char *value)
{
  char **field = field_of (config, spec);
  g_free (*field);
  *field = value;
}

static gboolean
parse_uint (const char *label, const KeySpec *spec, const char *text, guint64 *out,
            GError **error)
{
  if (!g_ascii_string_to_unsigned (text, 10, spec->min, spec->max, out, NULL))
    return key_error (error, label, spec,
                      "expected an integer in %" G_GUINT64_FORMAT "..%" G_GUINT64_FORMAT
                      ", got \"%s\"", spec->min, spec->max, text);
  if (spec->even && *out % 2 != 0)
    return key_error (error, label, spec, "must be even, got %" G_GUINT64_FORMAT, *out);
  return TRUE;
}

/* The host part of `listen`: an IPv4 literal, "localhost", or "[IPv6]". */
static char *
parse_listen_host (const char *host)
{
  gsize len = strlen (host);
  if (len > 2 && host[0] == '[' && host[len - 1] == ']') {
    g_autofree char *inner = g_strndup (host + 1, len - 2);
    g_autoptr (GInetAddress) addr = g_inet_address_new_from_string (inner);
    if (addr && g_inet_address_get_family (addr) == G_SOCKET_FAMILY_IPV6)
      return g_steal_pointer (&inner);
    return NULL;
  }
  if (g_str_equal (host, "localhost"))
    return g_strdup (host);
  g_autoptr (GInetAddress) addr = g_inet_address_new_from_string (host);
  if (addr && g_inet_address_get_family (addr) == G_SOCKET_FAMILY_IPV4)
    return g_strdup (host);
  return NULL;
}

static gboolean
parse_listen (Loader *loader, const char *label, const KeySpec *spec, const char *text,
              GError **error)
{
  const char *colon = strrchr (text, ':');
  guint64 port = 0;
  g_autofree char *host = NULL;

  if (colon != NULL && g_ascii_string_to_unsigned (colon + 1, 10, 0, 65535, &port, NULL)) {
    g_autofree char *host_part = g_strndup (text, colon - text);
    host = parse_listen_host (host_part);
  }
  if (host == NULL)
    return key_error (error, label, spec,
                      "expected host:port with port 0..65535 and host an IPv4 address, "
                      "localhost or [IPv6 address], got \"%s\"", text);
  store_string (loader->config, spec, g_steal_pointer (&host));
  loader->config->listen_port = (guint16) port;
  return TRUE;
}

static gboolean
parse_addresses (Loader *loader, const char *label, const KeySpec *spec, const char *text,
                 GError **error)
{
  g_autoptr (GStrvBuilder) builder = g_strv_builder_new ();

  if (text[0] != '\0') {
    g_auto (GStrv) parts = g_strsplit (text, ",", -1);
    for (char **p = parts; *p; p++) {
      const char *item = g_strstrip (*p);
      g_autoptr (GInetAddress) addr = g_inet_address_new_from_string (item);
      if (addr == NULL)
        return key_error (error, label, spec,
                          "expected comma-separated IP addresses, \"%s\" is not one", item);
      g_autofree char *canonical = g_inet_address_to_string (addr);
      g_strv_builder_add (builder, canonical);
    }
  }
  char ***field = field_of (loader->config, spec);
  g_strfreev (*field);
  *field = g_strv_builder_end (builder);
  return TRUE;
}

static gboolean
template_name_is_valid (const char *name)
{
  if (name[0] == '\0' || strlen (name) > TEMPLATE_NAME_MAX || !g_ascii_isalnum (name[0]))
    return FALSE;
  for (const char *p = name; *p; p++) {
    if (!(g_ascii_islower (*p) || g_ascii_isdigit (*p) || *p == '-' || *p == '_'))
      return FALSE;
  }
  return TRUE;
}

/* Bearer tokens travel in an HTTP header: visible ASCII only, no spaces. */
static gboolean
token_is_valid (const char *token)
{
  for (const char *p = token; *p; p++) {
    if (*p < 0x21 || *p > 0x7e)
      return FALSE;
  }
  return TRUE;
}

static gboolean
url_is_valid (const char *text)
{
  g_autoptr (GUri) uri = g_uri_parse (text, G_URI_FLAGS_NONE, NULL);
  if (uri == NULL || g_uri_get_host (uri) == NULL || g_uri_get_host (uri)[0] == '\0')
    return FALSE;
  const char *scheme = g_uri_get_scheme (uri);
  return g_ascii_strcasecmp (scheme, "http") == 0 || g_ascii_strcasecmp (scheme, "https") == 0;
}

/* String kinds: checks @text (owned) and stores it, or NULL for an empty optional. */
static gboolean
parse_string (Loader *loader, const char *label, const KeySpec *spec, char *text,
              GError **error)
{
  g_autofree char *value = text;

  switch (spec->kind) {
  case KEY_PATH:
    if (value[0] == '\0')
      return key_error (error, label, spec, "must not be empty");
    break;
  case KEY_TEMPLATE:
    if (!template_name_is_valid (value))
      return key_error (error, label, spec,
                        "expected a template name [a-z0-9][a-z0-9_-]* (at most %d characters), "
                        "got \"%s\"", TEMPLATE_NAME_MAX, value);
    break;
  case KEY_TOKEN:
    /* Never echo the value: it is a secret. */
    if (!token_is_valid (value))
      return key_error (error, label, spec, "must be printable ASCII without spaces");
    break;
  case KEY_URL:
    if (value[0] != '\0' && !url_is_valid (value))
      return key_error (error, label, spec, "expected an http:// or https:// URL");
    break;
  default:
    break;
  }
  if (value[0] == '\0' && spec->kind != KEY_PATH)
    g_clear_pointer (&value, g_free);
  store_string (loader->config, spec, g_steal_pointer (&value));
  return TRUE;
}

static gboolean
apply_key (Loader *loader, const char *label, GKeyFile *file, const KeySpec *spec,
           GError **error)
{
  g_autoptr (GError) local = NULL;
  /* get_string resolves escapes (\s, \t...); numbers use the same text, and
   * g_ascii_string_to_unsigned is strict: "12abc", "-1", "+3" and "" all fail. */
  g_autofree char *text = g_key_file_get_string (file, spec->group, spec->key, &local);
  if (text == NULL)
    return key_error (error, label, spec, "%s", local->message);
  g_strchomp (text);

  switch (spec->kind) {
  case KEY_UINT: {
    guint64 value;
    if (!parse_uint (label, spec, text, &value, error))
      return FALSE;
    store_uint (loader->config, spec, value);
    return TRUE;
  }
  case KEY_LISTEN:
    return parse_listen (loader, label, spec, text, error);
  case KEY_ADDRESSES:
    return parse_addresses (loader, label, spec, text, error);
  case KEY_LOG_LEVEL:
    if (!reel_log_level_from_string (text, &loader->config->log_level))
      return key_error (error, label, spec,
                        "expected error, warning, info or debug, got \"%s\"", text);
    return TRUE;
  default:
    return parse_string (loader, label, spec, g_steal_pointer (&text), error);
  }
}

static gboolean
apply_group (Loader *loader, const char *label, GKeyFile *file, const char *group,
             GError **error)
{
  g_auto (GStrv) keys = g_key_file_get_keys (file, group, NULL, NULL);

  if (!group_is_known (group)) {
    g_set_error (error, REEL_ERROR, REEL_ERROR_CONFIG_INVALID,
                 "%s: [%s]%s%s: unknown group [%s]", label, group,
                 keys && keys[0] ? " " : "", keys && keys[0] ? keys[0] : "", group);
    return FALSE;
  }
  for (char **key = keys; key && *key; key++) {
    const KeySpec *spec = find_key (group, *key);
    if (spec == NULL) {
      g_set_error (error, REEL_ERROR, REEL_ERROR_CONFIG_INVALID,
                   "%s: [%s] %s: unknown key", label, group, *key);
      return FALSE;
    }
    if (!apply_key (loader, label, file, spec, error))
      return FALSE;
    g_free (loader->origin[spec - key_table]);
    loader->origin[spec - key_table] = g_strdup (label);
  }
  return TRUE;
}

/* GKeyFile keeps `key[locale] = ...` lines out of g_key_file_get_keys(), so a
 * line such as `listen[x] = ...` would be dropped without a word. Reject them. */
static gboolean
check_no_localized_keys (const char *label, const char *text, GError **error)
{
  g_auto (GStrv) lines = g_strsplit (text, "\n", -1);
  g_autofree char *group = g_strdup ("");

  for (char **line = lines; *line; line++) {
    const char *start = *line;
    while (g_ascii_isspace (*start))
      start++;
    if (*start == '#' || *start == '\0')
      continue;
    if (*start == '[') {
      const char *end = strchr (start, ']');
      g_free (group);
      group = end ? g_strndup (start + 1, end - start - 1) : g_strdup (start + 1);
      continue;
    }
    const char *eq = strchr (start, '=');
    const char *bracket = strchr (start, '[');
    if (eq && bracket && bracket < eq) {
      g_autofree char *key = g_strstrip (g_strndup (start, eq - start));
      g_set_error (error, REEL_ERROR, REEL_ERROR_CONFIG_INVALID,
                   "%s: [%s] %s: unknown key (localized keys are not supported)",
                   label, group, key);
      return FALSE;
    }
  }
  return TRUE;
}

/* Parses one file's text and applies every key in it onto the config. */
static gboolean
apply_text (Loader *loader, const char *label, const char *text, GError **error)
{
  g_autoptr (GKeyFile) file = g_key_file_new ();
  g_autoptr (GError) local = NULL;

  if (!g_key_file_load_from_data (file, text, -1, G_KEY_FILE_NONE, &local)) {
    g_set_error (error, REEL_ERROR, REEL_ERROR_CONFIG_INVALID, "%s: %s", label, local->message);
    return FALSE;
  }
  if (!check_no_localized_keys (label, text, error))
    return FALSE;

  g_auto (GStrv) groups = g_key_file_get_groups (file, NULL);
  for (char **group = groups; *group; group++) {
    if (!apply_group (loader, label, file, *group, error))
      return FALSE;
  }
  return TRUE;
}

static gboolean
apply_file (Loader *loader, const char *path, GError **error)
{
  g_autofree char *text = NULL;
  g_autoptr (GError) local = NULL;

  if (!g_file_get_contents (path, &text, NULL, &local)) {
    g_set_error (error, REEL_ERROR, REEL_ERROR_CONFIG_INVALID, "%s: %s", path, local->message);
    return FALSE;
  }
  return apply_text (loader, path, text, error);
}

static gint
compare_names (gconstpointer a, gconstpointer b)
{
  return strcmp (*(char *const *) a, *(char *const *) b);
}

/* Returns: (transfer full): the sorted `*.conf` names of @dir; empty if it is missing. */
static GPtrArray *
list_dropins (const char *dir, GError **error)
{
  g_autoptr (GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GError) local = NULL;
  g_autoptr (GDir) handle = g_dir_open (dir, 0, &local);

  if (handle == NULL) {
    if (g_error_matches (local, G_FILE_ERROR, G_FILE_ERROR_NOENT))
      return g_steal_pointer (&names);
    g_set_error (error, REEL_ERROR, REEL_ERROR_CONFIG_INVALID, "%s: %s", dir, local->message);
    return NULL;
  }
  const char *name;
  while ((name = g_dir_read_name (handle)) != NULL) {
    /* Like the shell's *.conf: hidden files (editor backups, ...) are skipped. */
    if (name[0] == '.' || !g_str_has_suffix (name, ".conf"))
      continue;
    g_autofree char *full = g_build_filename (dir, name, NULL);
    if (g_file_test (full, G_FILE_TEST_IS_REGULAR))
      g_ptr_array_add (names, g_strdup (name));
  }
  g_ptr_array_sort (names, compare_names);
  return g_steal_pointer (&names);
}

static gboolean
apply_dropin_dir (Loader *loader, const char *main_path, GError **error)
{
  g_autofree char *parent = g_path_get_dirname (main_path);
  g_autofree char *dir = g_build_filename (parent, DROPIN_DIR_NAME, NULL);
  g_autoptr (GPtrArray) names = list_dropins (dir, error);

  if (names == NULL)
    return FALSE;
  for (guint i = 0; i < names->len; i++) {
    g_autofree char *path = g_build_filename (dir, g_ptr_array_index (names, i), NULL);
    if (!apply_file (loader, path, error))
      return FALSE;
  }
  return TRUE;
}

/* Reads a secret file: the trailing newline goes; it must be non-empty printable
 * ASCII without spaces. Errors name @label and @what, never the content. */
static gboolean
read_secret_file (const char *path, const char *label, const char *what, char **value,
                  GError **error)
{
  g_autoptr (GError) local = NULL;
  g_autofree char *text = NULL;

  if (!g_file_get_contents (path, &text, NULL, &local)) {
    g_set_error (error, REEL_ERROR, REEL_ERROR_CONFIG_INVALID, "%s: %s: %s", label, what,
                 local->message);
    return FALSE;
  }
  gsize len = strlen (text);
  while (len > 0 && (text[len - 1] == '\n' || text[len - 1] == '\r'))
    text[--len] = '\0';
  if (len == 0 || !token_is_valid (text)) {
    g_set_error (error, REEL_ERROR, REEL_ERROR_CONFIG_INVALID,
                 "%s: %s: %s must hold one line of printable ASCII without spaces", label, what,
                 path);
    return FALSE;
  }
  *value = g_steal_pointer (&text);
  return TRUE;
}

/* Reads $CREDENTIALS_DIRECTORY/@name (systemd LoadCredential=).
 * Returns: %FALSE on error; *@value is NULL when there is no such credential. */
static gboolean
read_credential (const char *name, char **value, GError **error)
{
  const char *dir = g_getenv ("CREDENTIALS_DIRECTORY");
  g_autoptr (GError) local = NULL;
  g_autofree char *text = NULL;

  *value = NULL;
  if (dir == NULL || dir[0] == '\0')
    return TRUE;
  g_autofree char *path = g_build_filename (dir, name, NULL);
  if (!g_file_get_contents (path, &text, NULL, &local)) {
    if (g_error_matches (local, G_FILE_ERROR, G_FILE_ERROR_NOENT))
      return TRUE;
    g_set_error (error, REEL_ERROR, REEL_ERROR_CONFIG_INVALID,
                 "credential %s: %s", name, local->message);
    return FALSE;
  }
  gsize len = strlen (text);
  while (len > 0 && (text[len - 1] == '\n' || text[len - 1] == '\r'))
    text[--len] = '\0';
  if (len == 0) {
    g_set_error (error, REEL_ERROR, REEL_ERROR_CONFIG_INVALID, "credential %s is empty", name);
    return FALSE;
  }
  *value = g_steal_pointer (&text);
  return TRUE;
}

/* Overrides @field with $@env_name if set and non-empty, else with the credential
 * @credential if present. The value itself never appears in an error. */
static gboolean
override_secret (char **field, const char *env_name, const char *credential,
                 gboolean is_token, GError **error)
{
  const char *env = g_getenv (env_name);
  g_autofree char *value = NULL;
  g_autofree char *origin = NULL;

  if (env != NULL && env[0] != '\0') {
    value = g_strdup (env);
    origin = g_strdup (env_name);
  } else {
    if (!read_credential (credential, &value, error))
      return FALSE;
    origin = g_strdup_printf ("credential %s", credential);
  }
  if (value == NULL)
    return TRUE;
  if (is_token && !token_is_valid (value)) {
    g_set_error (error, REEL_ERROR, REEL_ERROR_CONFIG_INVALID,
                 "%s: [api] token: must be printable ASCII without spaces", origin);
    return FALSE;
  }
  g_free (*field);
  *field = g_steal_pointer (&value);
  return TRUE;
}

static gboolean
apply_environment (ReelConfig *config, GError **error)
{
  if (!override_secret (&config->token, "REEL_API_TOKEN", TOKEN_CREDENTIAL, TRUE, error) ||
      !override_secret (&config->webhooks_secret, "REEL_WEBHOOKS_SECRET", SECRET_CREDENTIAL,
                        FALSE, error) ||
      !override_secret (&config->cloudflare_app_secret, "REEL_CLOUDFLARE_APP_SECRET",
                        CLOUDFLARE_CREDENTIAL, FALSE, error))
    return FALSE;
  if (config->cloudflare_app_secret != NULL && !token_is_valid (config->cloudflare_app_secret)) {
    g_set_error_literal (error, REEL_ERROR, REEL_ERROR_CONFIG_INVALID,
                         "[cloudflare] app_secret (from the environment or a credential): "
                         "must be printable ASCII without spaces");
    return FALSE;
  }
  return TRUE;
}

static const char *
origin_of (Loader *loader, const char *group, const char *key)
{
  const char *label = loader->origin[find_key (group, key) - key_table];
  return label != NULL ? label : DATA_LABEL;
}

/* apps = APPID:FILE, APPID:FILE ...: each file holds that app's secret. */
static gboolean
load_app_secrets (Loader *loader, GError **error)
{
  ReelConfig *config = loader->config;
  const char *label = origin_of (loader, "cloudflare", "apps");

  if (config->cloudflare_apps == NULL)
    return TRUE;
  g_auto (GStrv) items = g_strsplit (config->cloudflare_apps, ",", -1);
  for (char **item = items; *item != NULL; item++) {
    char *entry = g_strstrip (*item);
    char *colon = strchr (entry, ':');
    if (entry[0] == '\0')
      continue;
    gboolean id_ok = colon != NULL && colon > entry && colon - entry <= APP_ID_MAX;
    for (const char *p = entry; id_ok && p < colon; p++)
      id_ok = g_ascii_isalnum (*p) || *p == '-' || *p == '_';
    if (!id_ok || colon[1] == '\0') {
      g_set_error (error, REEL_ERROR, REEL_ERROR_CONFIG_INVALID,
                   "%s: [cloudflare] apps: expected APPID:FILE entries separated by commas "
                   "(APPID of letters, digits, - and _)", label);
      return FALSE;
    }
    *colon = '\0';
    g_autofree char *what = g_strdup_printf ("[cloudflare] apps: secret of app %s", entry);
    char *secret = NULL;
    if (!read_secret_file (g_strstrip (colon + 1), label, what, &secret, error))
      return FALSE;
    g_hash_table_replace (config->cloudflare_app_secrets, g_strdup (entry), secret);
  }
  return TRUE;
}

/* [cloudflare] app_secret_file replaces app_secret; setting both is a mistake. */
static gboolean
load_app_secret_file (Loader *loader, GError **error)
{
  ReelConfig *config = loader->config;
  const char *label = origin_of (loader, "cloudflare", "app_secret_file");

  if (config->cloudflare_app_secret_file == NULL)
    return TRUE;
  if (config->cloudflare_app_secret != NULL) {
    g_set_error (error, REEL_ERROR, REEL_ERROR_CONFIG_INVALID,
                 "%s: [cloudflare] app_secret_file: set either app_secret or app_secret_file",
                 label);
    return FALSE;
  }
  return read_secret_file (config->cloudflare_app_secret_file, label,
                           "[cloudflare] app_secret_file", &config->cloudflare_app_secret, error);
}

/* [group] retry_max_ms must not be less than [group] retry_initial_ms. */
static gboolean
check_retry_order (Loader *loader, const char *group, guint initial, guint max, GError **error)
{
  if (max >= initial)
    return TRUE;
  const KeySpec *spec = find_key (group, "retry_max_ms");
  const char *label = loader->origin[spec - key_table];
  if (label == NULL)
    label = loader->origin[find_key (group, "retry_initial_ms") - key_table];
  return key_error (error, label, spec, "%u is less than [%s] retry_initial_ms (%u)", max, group,
                    initial);
}

/* Checks that involve more than one key, once every file is merged. */
static gboolean
check_merged (Loader *loader, GError **error)
{
  ReelConfig *config = loader->config;

  return check_retry_order (loader, "rtmp", config->rtmp_retry_initial_ms,
                            config->rtmp_retry_max_ms, error) &&
         check_retry_order (loader, "webhooks", config->webhooks_retry_initial_ms,
                            config->webhooks_retry_max_ms, error) &&
         load_app_secret_file (loader, error) && load_app_secrets (loader, error);
}

static const char *
default_pipelines_dir (void)
{
  if (g_file_test (REEL_PIPELINES_INSTALL_DIR, G_FILE_TEST_IS_DIR))
    return REEL_PIPELINES_INSTALL_DIR;
  return REEL_PIPELINES_SOURCE_DIR;
}

static void
set_defaults (ReelConfig *config)
{
  config->listen_host = g_strdup ("127.0.0.1");
  config->listen_port = 8080;
  config->max_body_bytes = 65536;
  config->recordings_dir = g_strdup ("./recordings");
  config->state_db = g_strdup ("./reel.db");
  config->local_addresses = g_new0 (char *, 1);
  config->max_recordings = 8;
  config->max_participants = 25;
  config->max_duration_s = 86400;
  config->max_schedules = 100;
  config->webhooks_retry_initial_ms = 1000;
  config->webhooks_retry_max_ms = 300000;
  config->webhooks_timeout_s = 10;
  config->pipelines_dir = g_strdup (default_pipelines_dir ());
  config->video_encoder = g_strdup ("video-h264");
  config->audio_encoder = g_strdup ("audio-aac");
  config->default_width = 1280;
  config->default_height = 720;
  config->default_framerate = 30;
  config->default_bitrate_kbps = 2500;
  config->audio_bitrate_kbps = 128;
  config->fragment_ms = 1000;
  config->stop_timeout_s = 30;
  config->rtmp_retry_initial_ms = 1000;
  config->rtmp_retry_max_ms = 30000;
  config->rtmp_max_retries = 0;
  config->rtmp_stall_timeout_s = 10;
  config->webrtc_latency_ms = 300;
  config->log_level = G_LOG_LEVEL_INFO;
  config->cloudflare_simulcast_rid = g_strdup ("a");
  config->orange_empty_timeout_s = 30;
  config->orange_api_url = g_strdup ("https://rtc.live.cloudflare.com/v1");
  config->cloudflare_app_secrets = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
}

static void
config_clear (gpointer data)
{
  ReelConfig *config = data;

  g_free (config->listen_host);
  g_free (config->token);
  g_free (config->recordings_dir);
  g_free (config->state_db);
  g_strfreev (config->local_addresses);
  g_free (config->webhooks_url);
  g_free (config->webhooks_secret);
  g_free (config->pipelines_dir);
  g_free (config->video_encoder);
  g_free (config->audio_encoder);
  g_free (config->cloudflare_app_secret);
  g_free (config->cloudflare_app_secret_file);
  g_free (config->cloudflare_apps);
  g_free (config->cloudflare_simulcast_rid);
  g_free (config->orange_app_id);
  g_free (config->orange_api_url);
  g_hash_table_unref (config->cloudflare_app_secrets);
}

static void
loader_init (Loader *loader)
{
  memset (loader, 0, sizeof *loader);
  loader->config = g_atomic_rc_box_new0 (ReelConfig);
  set_defaults (loader->config);
}

/* Returns: (transfer full) (nullable): the config on success; frees the loader either way. */
static ReelConfig *
loader_finish (Loader *loader, gboolean ok, GError **error)
{
  if (ok)
    ok = check_merged (loader, error) && apply_environment (loader->config, error);
  for (gsize i = 0; i < N_KEYS; i++)
    g_free (loader->origin[i]);
  if (!ok)
    g_clear_pointer (&loader->config, reel_config_unref);
  return g_steal_pointer (&loader->config);
}

/**
 * reel_config_load:
 * @path: (nullable): the main config file, or %NULL for the defaults only
 * @error: return location for a REEL_ERROR_CONFIG_INVALID error
 *
 * Loads @path, then every `*.conf` of the `reel.conf.d/` directory next to it in
 * name order, then applies REEL_API_TOKEN / REEL_WEBHOOKS_SECRET and the systemd
 * credentials reel-api-token / reel-webhooks-secret.
 *
 * Returns: (transfer full) (nullable): the snapshot, or %NULL with @error set
 */
ReelConfig *
reel_config_load (const char *path, GError **error)
{
  Loader loader;
  gboolean ok = TRUE;

  g_return_val_if_fail (error == NULL || *error == NULL, NULL);
  loader_init (&loader);
  if (path != NULL)
    ok = apply_file (&loader, path, error) && apply_dropin_dir (&loader, path, error);
  return loader_finish (&loader, ok, error);
}

/**
 * reel_config_load_from_data:
 * @text: (nullable): the main config text ("reel.conf" in errors)
 * @dropins: (nullable) (array zero-terminated=1): texts applied in order after
 *   @text ("drop-in #1", "drop-in #2"... in errors)
 * @error: return location for a REEL_ERROR_CONFIG_INVALID error
 *
 * Like reel_config_load(), from memory; the environment still applies.
 *
 * Returns: (transfer full) (nullable): the snapshot, or %NULL with @error set
 */
ReelConfig *
reel_config_load_from_data (const char *text, const char *const *dropins, GError **error)
{
  Loader loader;
  gboolean ok = TRUE;

  g_return_val_if_fail (error == NULL || *error == NULL, NULL);
  loader_init (&loader);
  if (text != NULL)
    ok = apply_text (&loader, DATA_LABEL, text, error);
  for (gsize i = 0; ok && dropins != NULL && dropins[i] != NULL; i++) {
    g_autofree char *label = g_strdup_printf ("drop-in #%" G_GSIZE_FORMAT, i + 1);
    ok = apply_text (&loader, label, dropins[i], error);
  }
  return loader_finish (&loader, ok, error);
}

/**
 * reel_config_get_cloudflare_secret:
 * @app_id: a Realtime app id
 * Returns: (transfer none) (nullable): its secret
 */
const char *
reel_config_get_cloudflare_secret (const ReelConfig *config, const char *app_id)
{
  const char *own = app_id ? g_hash_table_lookup (config->cloudflare_app_secrets, app_id) : NULL;
  return own != NULL ? own : config->cloudflare_app_secret;
}

/**
 * reel_config_ref:
 * @config: a config
 * Returns: (transfer full): @config, with one more reference
 */
ReelConfig *
reel_config_ref (ReelConfig *config)
{
  g_return_val_if_fail (config != NULL, NULL);
  return g_atomic_rc_box_acquire (config);
}

/**
 * reel_config_unref:
 * @config: (nullable) (transfer full): a config
 *
 * Drops one reference; the last one frees every field.
 */
void
reel_config_unref (ReelConfig *config)
{
  if (config != NULL)
    g_atomic_rc_box_release_full (config, config_clear);
}
