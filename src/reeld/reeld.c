/* reeld: the reel daemon. Thin: load the config, start the API, run the loop,
 * finalize every recording on SIGTERM. */
#include "api/reel-api-metrics.h"
#include "api/reel-api-server.h"
#include "api/reel-request.h"
#include "base/reel-curl.h"
#include "base/reel-error.h"
#include "base/reel-log.h"
#include "base/reel-sd-notify.h"
#include "config/reel-config.h"
#include "jobs/reel-job-manager.h"
#include "jobs/reel-scheduler.h"
#include "jobs/reel-store.h"
#include "notify/reel-webhooks.h"
#include "reel-build-config.h"
#include "reel-gst-log.h"

#include <glib-unix.h>
#include <gst/gst.h>
#include <stdio.h>
#include <stdlib.h>
#if REEL_HAVE_MALLOC_TRIM
#include <malloc.h>
#endif

#define EXIT_CONFIG 78 /* EX_CONFIG: systemd's RestartPreventExitStatus */
#define WEBHOOKS_FLUSH_MS 3000 /* at exit: time given to deliver the last events */
#define STATUS_INTERVAL_S 1 /* how often STATUS= follows the number of recordings */
#define TRIM_INTERVAL_S 10  /* how often free heap pages go back to the system */

typedef struct {
  GMainLoop *loop;
  ReelJobManager *manager;
  ReelScheduler *scheduler;
  ReelApiServer *api;
  ReelConfig *config;      /* (owned) the configuration in effect */
  ReelWebhooks *webhooks; /* (nullable) */
  const char *config_path; /* (nullable) */
  gboolean stopping;
} Daemon;

#if REEL_HAVE_MALLOC_TRIM
/* After a stall every media thread works off its backlog at once: decoded pictures
 * pile up in the compositor's queues and are copied into new blocks. They are freed
 * when the graph has caught up, but glibc keeps the free pages in each thread's
 * arena, so a recording's RSS grew in steps after every stall and never came down.
 * malloc_trim gives free pages back, from every arena. */
static gboolean
trim_memory (gpointer data)
{
  gint64 t0 = g_get_monotonic_time ();
  int released = malloc_trim (0);
  g_debug ("malloc_trim: %s in %" G_GINT64_FORMAT " us", released ? "released memory" : "nothing to release",
           g_get_monotonic_time () - t0);
  return G_SOURCE_CONTINUE;
}
#endif

/* Returns: (transfer full): the STATUS= text for the service manager */
static char *
status_text (Daemon *d)
{
  guint n = reel_job_manager_count_active (d->manager);
  if (d->stopping)
    return g_strdup_printf ("stopping: finalizing %u recording(s)", n);
  return g_strdup_printf ("%u recording(s) active", n);
}

static gboolean
update_status (gpointer data)
{
  g_autofree char *status = status_text (data);
  reel_sd_notify_status (status);
  return G_SOURCE_CONTINUE;
}

static ReelWebhooksSettings
webhooks_settings (ReelConfig *config)
{
  return (ReelWebhooksSettings) {
    .url = config->webhooks_url,
    .secret = config->webhooks_secret,
    .retry_initial_ms = config->webhooks_retry_initial_ms,
    .retry_max_ms = config->webhooks_retry_max_ms,
    .timeout_s = config->webhooks_timeout_s,
  };
}

/* Says which changed keys a running reeld cannot apply. */
static void
warn_restart_keys (ReelConfig *old, ReelConfig *new)
{
  if (g_strcmp0 (old->listen_host, new->listen_host) != 0 || old->listen_port != new->listen_port)
    g_warning ("reload: [api] listen changed: takes effect at the next restart");
  if (g_strcmp0 (old->state_db, new->state_db) != 0)
    g_warning ("reload: [storage] state_db changed: takes effect at the next restart");
  if ((old->webhooks_url == NULL) != (new->webhooks_url == NULL))
    g_warning ("reload: [webhooks] url %s: the sender %s at the next restart",
               new->webhooks_url != NULL ? "set" : "unset",
               new->webhooks_url != NULL ? "starts" : "stops");
}

/* SIGHUP: re-reads the configuration (files, environment, credentials) and applies
 * what a running daemon can take without dropping recordings: [log] level, [api]
 * token and max_body_bytes, [limits], [webhooks] settings (not turning them on or
 * off), and for recordings created from now on [media], [rtmp], [webrtc] and
 * [storage] recordings_dir; running recordings keep their settings. [api] listen
 * and [storage] state_db need a restart, and the log says so. An invalid file
 * changes nothing. */
static gboolean
on_reload (gpointer data)
{
  Daemon *d = data;
  g_autoptr (GError) error = NULL;
  reel_sd_notify_reloading ();
  g_autoptr (ReelConfig) config = reel_config_load (d->config_path, &error);
  if (config == NULL)
    g_warning ("reload: configuration kept: %s", error->message);
  else {
    warn_restart_keys (d->config, config);
    reel_log_set_level (config->log_level);
    reel_api_server_set_config (d->api, config);
    reel_job_manager_set_config (d->manager, config);
    reel_scheduler_set_config (d->scheduler, config);
    if (d->webhooks != NULL && config->webhooks_url != NULL) {
      ReelWebhooksSettings settings = webhooks_settings (config);
      reel_webhooks_set_settings (d->webhooks, &settings);
    }
    reel_config_unref (d->config);
    d->config = reel_config_ref (config);
    g_message ("reload: configuration applied (recordings already running keep theirs)");
  }
  g_autofree char *status = status_text (d);
  reel_sd_notify_ready (status);
  return G_SOURCE_CONTINUE;
}

static gboolean
quit (gpointer data)
{
  Daemon *d = data;
  g_main_loop_quit (d->loop);
  return G_SOURCE_REMOVE;
}

static gboolean
all_finalized (gpointer data)
{
  Daemon *d = data;
  g_message ("every recording is finalized; exiting");
  /* the last events (recording.finished) are in the outbox already: a short chance
   * to deliver them now, else they go at the next start */
  if (d->webhooks != NULL)
    reel_webhooks_flush (d->webhooks, WEBHOOKS_FLUSH_MS, quit, d);
  else
    quit (d);
  return G_SOURCE_REMOVE;
}

static gboolean
on_terminate (gpointer data)
{
  Daemon *d = data;
  if (d->stopping)
    return G_SOURCE_CONTINUE;
  d->stopping = TRUE;
  g_autofree char *status = status_text (d);
  reel_sd_notify_stopping (status);
  g_message ("stopping: finalizing %u recording(s)", reel_job_manager_count_active (d->manager));
  reel_scheduler_stop (d->scheduler);
  reel_job_manager_shutdown (d->manager, all_finalized, d);
  return G_SOURCE_CONTINUE;
}

/* The state db, the recordings in it and the schedules. */
static ReelScheduler *
open_state (ReelConfig *config, ReelJobManager *manager, ReelStore **store, GError **error)
{
  *store = reel_store_open (config->state_db, error);
  if (*store == NULL || !reel_job_manager_attach_store (manager, *store, error))
    return NULL;
  ReelScheduler *scheduler = reel_scheduler_new (config, *store, manager, reel_request_parse_recording);
  if (!reel_scheduler_start (scheduler, error))
    g_clear_object (&scheduler);
  return scheduler;
}

/* Returns: (transfer full) (nullable): the outbox sender, if [webhooks] url is set */
static ReelWebhooks *
make_webhooks (ReelConfig *config, ReelStore *store)
{
  if (config->webhooks_url == NULL)
    return NULL;
  if (config->webhooks_secret == NULL)
    g_warning ("[webhooks] url is set without a secret: events are sent unsigned");
  ReelWebhooksSettings settings = webhooks_settings (config);
  g_autoptr (ReelCurl) curl = reel_curl_new ();
  return reel_webhooks_new (&settings, store, curl);
}

static gboolean
parse_args (int *argc, char ***argv, char **config_path, GError **error)
{
  gboolean version = FALSE;
  GOptionEntry entries[] = {
    { "config", 'c', 0, G_OPTION_ARG_FILENAME, config_path, "Configuration file", "FILE" },
    { "version", 0, 0, G_OPTION_ARG_NONE, &version, "Print the version and exit", NULL },
    { NULL },
  };
  g_autoptr (GOptionContext) ctx = g_option_context_new ("- reel recording daemon");
  g_option_context_add_main_entries (ctx, entries, NULL);
  if (!g_option_context_parse (ctx, argc, argv, error))
    return FALSE;
  if (version) {
    printf ("reeld %s\n", REEL_VERSION);
    exit (EXIT_SUCCESS);
  }
  return TRUE;
}

/* Test hook (REEL_TEST_HOOKS=1 only): SIGUSR2 blocks the main loop for 2 s, as a
 * stuck loop would, while every other thread runs on. The watchdog test checks
 * that the pings stop (they come from the loop, not from a thread of their own). */
static gboolean
block_main_loop (gpointer data)
{
  g_message ("test hook: blocking the main loop for 2 s");
  g_usleep (2 * G_USEC_PER_SEC);
  return G_SOURCE_CONTINUE;
}

int
main (int argc, char **argv)
{
  g_autofree char *config_path = NULL;
  g_autoptr (GError) error = NULL;
  if (!parse_args (&argc, &argv, &config_path, &error)) {
    fprintf (stderr, "reeld: %s\n", error->message);
    return EXIT_CONFIG;
  }
  g_autoptr (ReelConfig) config = reel_config_load (config_path, &error);
  if (config == NULL) {
    fprintf (stderr, "reeld: invalid configuration: %s\n", error->message);
    return EXIT_CONFIG;
  }
  reel_log_init (config->log_level);
  /* RTMP sinks connect through GIO's socket client, whose default proxy resolver
   * (libproxy) may go looking for proxy configuration on the network. Direct
   * connections unless the operator chose otherwise. */
  g_setenv ("GIO_USE_PROXY_RESOLVER", "dummy", FALSE);
  gst_init (NULL, NULL);
  reel_gst_log_init ();

  g_autoptr (ReelJobManager) manager = reel_job_manager_new (config);
  g_autoptr (ReelStore) store = NULL;
  g_autoptr (ReelScheduler) scheduler = open_state (config, manager, &store, &error);
  if (scheduler == NULL) {
    fprintf (stderr, "reeld: state db %s: %s\n", config->state_db, error->message);
    return EXIT_FAILURE;
  }
  g_autoptr (ReelWebhooks) webhooks = make_webhooks (config, store);
  g_autoptr (ReelApiServer) api = reel_api_server_new (config, manager);
  reel_api_server_set_scheduler (api, scheduler);
  reel_api_metrics_set_store (store);
  g_autofree char *uri = NULL;
  if (!reel_api_server_listen (api, &uri, &error)) {
    fprintf (stderr, "reeld: cannot listen on %s:%u: %s\n", config->listen_host,
             config->listen_port, error->message);
    return EXIT_FAILURE;
  }
  if (config->token == NULL || config->token[0] == '\0')
    g_warning ("no [api] token is configured: every /v1 request will be refused");

  if (webhooks != NULL)
    reel_webhooks_start (webhooks);
  Daemon d = { .loop = g_main_loop_new (NULL, FALSE), .manager = manager, .scheduler = scheduler,
               .api = api, .config = reel_config_ref (config), .webhooks = webhooks,
               .config_path = config_path };
  g_unix_signal_add (SIGTERM, on_terminate, &d);
  g_unix_signal_add (SIGINT, on_terminate, &d);
  g_unix_signal_add (SIGHUP, on_reload, &d);
  if (g_strcmp0 (g_getenv ("REEL_TEST_HOOKS"), "1") == 0)
    g_unix_signal_add (SIGUSR2, block_main_loop, NULL);
  fprintf (stderr, "reeld: listening on %s\n", uri);
  fflush (stderr);
  g_autofree char *status = status_text (&d);
  reel_sd_notify_ready (status);
  reel_sd_notify_watchdog_start (NULL);
  g_timeout_add_seconds (STATUS_INTERVAL_S, update_status, &d);
#if REEL_HAVE_MALLOC_TRIM
  g_timeout_add_seconds (TRIM_INTERVAL_S, trim_memory, NULL);
#endif
  g_main_loop_run (d.loop);
  g_main_loop_unref (d.loop);
  reel_config_unref (d.config);
  return EXIT_SUCCESS;
}
