/* reel-config.h: reel.conf (GKeyFile) + the *.conf of reel.conf.d/ merged into one
 * immutable, validated snapshot.
 *
 * Load order: the main file, then every `*.conf` in `reel.conf.d/` next to it in
 * name order; a later file's key overrides an earlier one. Secrets may also come
 * from the environment (REEL_API_TOKEN, REEL_WEBHOOKS_SECRET, REEL_CLOUDFLARE_APP_SECRET)
 * or systemd credentials ($CREDENTIALS_DIRECTORY/reel-api-token, reel-webhooks-secret,
 * cloudflare-app-secret), which override the files.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct {
  /* [api] */
  char *listen_host;          /* listen = host:port (default 127.0.0.1:8080) */
  guint16 listen_port;        /* 0 = pick a free port */
  char *token;                /* token: bearer token; NULL or "" = no auth configured → every /v1 request 401 */
  gsize max_body_bytes;       /* max_body_bytes (default 65536, 1024..16777216) */

  /* [storage] */
  char *recordings_dir;       /* recordings_dir (default ./recordings) */
  char *state_db;             /* state_db (default ./reel.db) */

  /* [webrtc] */
  char **local_addresses;     /* local_addresses: comma-separated IPs, NULL-terminated, may be empty */
  guint webrtc_latency_ms;    /* latency_ms (default 300, 20..5000): jitter buffer; room for NACK retransmissions */

  /* [webhooks] */
  char *webhooks_url;         /* url (nullable) */
  char *webhooks_secret;      /* secret (nullable) */
  guint webhooks_retry_initial_ms; /* retry_initial_ms (default 1000): first retry delay, doubles */
  guint webhooks_retry_max_ms;     /* retry_max_ms (default 300000): longest delay between attempts */
  guint webhooks_timeout_s;        /* timeout_s (default 10): one delivery attempt */

  /* [limits] */
  guint max_recordings;       /* max_recordings (default 8, 1..1000): more → 503 */
  guint max_participants;     /* max_participants (default 25, 1..100) */
  guint64 max_duration_s;     /* max_duration_s (default 86400, 1..2592000): cap on a request's max_duration_s */
  guint max_schedules;        /* max_schedules (default 100, 1..100000): active schedules; more → 503 */

  /* [media] */
  char *pipelines_dir;        /* pipelines_dir (default: installed dir, else the source tree's pipelines/) */
  char *video_encoder;        /* video_encoder (default "video-h264"): template name in pipelines_dir */
  char *audio_encoder;        /* audio_encoder (default "audio-aac") */
  guint default_width;        /* width (default 1280) */
  guint default_height;       /* height (default 720) */
  guint default_framerate;    /* framerate (default 30) */
  guint default_bitrate_kbps; /* bitrate_kbps (default 2500) */
  guint audio_bitrate_kbps;   /* audio_bitrate_kbps (default 128) */
  guint fragment_ms;          /* fragment_ms (default 1000, 100..10000): MP4 fragment duration */
  guint stop_timeout_s;       /* stop_timeout_s (default 30, 1..600): finalize wait per recording */

  /* [rtmp] */
  guint rtmp_retry_initial_ms;  /* retry_initial_ms (default 1000) */
  guint rtmp_retry_max_ms;      /* retry_max_ms (default 30000) */
  guint rtmp_max_retries;       /* max_retries (default 0 = unlimited) */
  guint rtmp_stall_timeout_s;   /* stall_timeout_s (default 10): no bytes for this long = failed */

  /* [cloudflare] */
  char *cloudflare_app_secret;      /* app_secret (nullable): for every app without its own;
                                     * REEL_CLOUDFLARE_APP_SECRET and the credential
                                     * cloudflare-app-secret override it. Never logged. */
  char *cloudflare_app_secret_file; /* app_secret_file (nullable): read at load into app_secret */
  char *cloudflare_apps;            /* apps (nullable): "APPID:FILE, ..." per-app secret files */
  GHashTable *cloudflare_app_secrets; /* app id → secret, from apps */
  char *cloudflare_simulcast_rid;   /* simulcast_rid (default "a", nullable = none asked) */

  /* [orange] */
  guint orange_empty_timeout_s;     /* empty_timeout_s (default 30, 1..86400): an Orange room
                                     * without joined users for this long ends its recording */
  char *orange_app_id;              /* app_id (nullable): the deployments' Realtime app; with a
                                     * secret for it in [cloudflare], tracks are pulled from the
                                     * API directly instead of through /partytracks */
  char *orange_api_url;             /* api_url (default https://rtc.live.cloudflare.com/v1) */

  /* [log] */
  GLogLevelFlags log_level;     /* level = error|warning|info|debug (default info) */
} ReelConfig;

/* Loads @path and its drop-ins. Fails with REEL_ERROR_CONFIG_INVALID and a message
 * that names the file, group and key ("reel.conf: [api] listen: ...") on any
 * unreadable file, unparsable value, out-of-range number or unknown key.
 * @path may be NULL: defaults only (plus environment).
 * Returns: (transfer full): a snapshot, unref with reel_config_unref(). */
ReelConfig *reel_config_load (const char *path, GError **error);

/* Same, from in-memory text (for tests); @dropins: (nullable) (array zero-terminated=1)
 * texts applied in order after @text. */
ReelConfig *reel_config_load_from_data (const char *text, const char *const *dropins, GError **error);

/* Returns: (transfer none) (nullable): the Realtime app secret for @app_id: its own
 * (apps), else the common one, else %NULL */
const char *reel_config_get_cloudflare_secret (const ReelConfig *config, const char *app_id);

ReelConfig *reel_config_ref (ReelConfig *config);
void reel_config_unref (ReelConfig *config);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (ReelConfig, reel_config_unref)

G_END_DECLS
