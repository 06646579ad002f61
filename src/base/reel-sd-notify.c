/* reel-sd-notify.c: sd_notify(3) from libsystemd, on the main context. */
#include "base/reel-sd-notify.h"

#include <systemd/sd-daemon.h>

static char *last_status;

static void
send_state (const char *state)
{
  int r = sd_notify (0, state);
  if (r < 0)
    g_warning ("sd_notify: %s", g_strerror (-r));
}

/* Remembers @status; Returns: %TRUE if it differs from the last one sent. */
static gboolean
status_changed (const char *status)
{
  if (status == NULL || g_strcmp0 (status, last_status) == 0)
    return FALSE;
  g_free (last_status);
  last_status = g_strdup (status);
  return TRUE;
}

/**
 * reel_sd_notify_ready:
 * @status: (nullable): a STATUS= text sent with READY=1
 */
void
reel_sd_notify_ready (const char *status)
{
  if (status_changed (status)) {
    g_autofree char *state = g_strdup_printf ("READY=1\nSTATUS=%s", status);
    send_state (state);
    return;
  }
  send_state ("READY=1");
}

/**
 * reel_sd_notify_status:
 * @status: (transfer none): the STATUS= text
 */
void
reel_sd_notify_status (const char *status)
{
  if (!status_changed (status))
    return;
  g_autofree char *state = g_strdup_printf ("STATUS=%s", status);
  send_state (state);
}

/**
 * reel_sd_notify_reloading:
 */
void
reel_sd_notify_reloading (void)
{
  g_autofree char *state = g_strdup_printf ("RELOADING=1\nMONOTONIC_USEC=%" G_GINT64_FORMAT,
                                            g_get_monotonic_time ());
  send_state (state);
}

/**
 * reel_sd_notify_stopping:
 * @status: (nullable): a STATUS= text sent with STOPPING=1
 */
void
reel_sd_notify_stopping (const char *status)
{
  if (status_changed (status)) {
    g_autofree char *state = g_strdup_printf ("STOPPING=1\nSTATUS=%s", status);
    send_state (state);
    return;
  }
  send_state ("STOPPING=1");
}

static gboolean
ping (gpointer data)
{
  send_state ("WATCHDOG=1");
  return G_SOURCE_CONTINUE;
}

/**
 * reel_sd_notify_watchdog_start:
 * @interval_us: (out) (optional): the watchdog interval asked for
 * Returns: the timer's source id, or 0 without a watchdog
 */
guint
reel_sd_notify_watchdog_start (guint64 *interval_us)
{
  uint64_t usec = 0;
  int r = sd_watchdog_enabled (0, &usec);
  if (r < 0)
    g_warning ("watchdog: %s", g_strerror (-r));
  if (interval_us != NULL)
    *interval_us = r > 0 ? usec : 0;
  if (r <= 0 || usec == 0)
    return 0;
  /* The first ping at once: the interval runs from READY=1 on. */
  ping (NULL);
  guint ms = (guint) MAX (usec / 2000, 1);
  return g_timeout_add_full (G_PRIORITY_HIGH, ms, ping, NULL, NULL);
}
