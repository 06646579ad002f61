/* reel-sd-notify.h: the service manager's notification protocol (sd_notify):
 * readiness, status, watchdog pings, reload and stop.
 *
 * Every call is a no-op when NOTIFY_SOCKET is unset (reeld run by hand or by a
 * test), so the daemon calls them unconditionally. Named reel-sd-notify, not
 * reel-notify, because src/notify/ is the webhooks module. Main context only.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* READY=1 (and STATUS=@status when not NULL): the API listens. */
void reel_sd_notify_ready (const char *status);

/* STATUS=@status; sent only when it differs from the last one sent. */
void reel_sd_notify_status (const char *status);

/* RELOADING=1 with MONOTONIC_USEC (a SIGHUP is being handled); READY=1 ends it. */
void reel_sd_notify_reloading (void);

/* STOPPING=1 and STATUS=@status: SIGTERM received, recordings being finalized. */
void reel_sd_notify_stopping (const char *status);

/* When the service manager asked for a watchdog (WATCHDOG_USEC, and WATCHDOG_PID
 * unset or ours), adds a timer on the main context that sends WATCHDOG=1 at half
 * the interval: a main loop that stops turning stops the pings and gets the
 * service restarted. @interval_us: (out) (optional): the manager's interval.
 * Returns: the GSource id, or 0 when no watchdog is wanted. */
guint reel_sd_notify_watchdog_start (guint64 *interval_us);

G_END_DECLS
