#!/usr/bin/python3
"""reeld and the service manager's notification protocol (sd_notify), without systemd:
NOTIFY_SOCKET points at a datagram socket this test binds and reads.

- READY=1 arrives only once the API answers (GET /healthz right after it works), with
  a STATUS= naming the number of active recordings; STATUS= follows a recording.
- WATCHDOG_USEC set: WATCHDOG=1 pings arrive at about half the interval; a stopped
  main loop (blocked by a test hook) sends none. WATCHDOG_USEC unset: no ping at all.
- SIGHUP: RELOADING=1 then READY=1; a broken file is refused and the daemon keeps going.
- SIGTERM: STOPPING=1 before exit 0.
"""

import os
import signal
import socket
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "integration"))
import reeltest as rt  # noqa: E402


class NotifySocket:
    """A bound AF_UNIX datagram socket that collects sd_notify messages."""

    def __init__(self, tc):
        self.dir = rt.make_tempdir(tc, "reel-notify-")
        self.path = os.path.join(self.dir, "notify.sock")
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(self.path)
        tc.addCleanup(self.sock.close)
        self.messages = []  # (monotonic time, {key: value})

    def _read(self, timeout):
        self.sock.settimeout(timeout)
        try:
            data = self.sock.recv(4096)
        except socket.timeout:
            return False
        fields = dict(line.split("=", 1) for line in data.decode().split("\n") if "=" in line)
        self.messages.append((time.monotonic(), fields))
        return True

    def wait(self, key, value=None, timeout=10):
        """The first message (already read or to come) with key (=value); raises on timeout."""
        deadline = time.monotonic() + timeout
        seen = 0
        while True:
            for t, fields in self.messages[seen:]:
                if key in fields and (value is None or fields[key] == value):
                    return t, fields
            seen = len(self.messages)
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError("no %s%s in %s" % (key, "" if value is None else "=" + value,
                                                        [m for _, m in self.messages]))
            self._read(left)

    def drain(self, seconds):
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            self._read(max(0.01, end - time.monotonic()))

    def count(self, key, since=0.0):
        return sum(1 for t, m in self.messages if key in m and t >= since)


def synthetic_body():
    return rt.recording_body([rt.participant("Alice", "#ff0000", 440)],
                             [{"type": "file", "format": "mkv"}], max_duration_s=60)


class NotifyTest(rt.ReelTestCase):
    def daemon(self, ns, **env):
        return rt.ReelDaemon(self, env=dict(NOTIFY_SOCKET=ns.path, **env), start=False)

    def test_ready_status_stopping(self):
        ns = NotifySocket(self)
        d = self.daemon(ns)
        d.spawn()
        _, ready = ns.wait("READY", "1")
        # READY=1 means the API answers now, not "soon".
        rt.wait_for(lambda: d.port, 5, what="the listening line")
        self.assertEqual(d.healthz(), 200)
        self.assertEqual(ready.get("STATUS"), "0 recording(s) active")
        rec = d.create(synthetic_body())
        d.wait_state(rec["id"], "recording", timeout=20)
        ns.wait("STATUS", "1 recording(s) active", timeout=5)
        d.sigterm()
        _, stopping = ns.wait("STOPPING", "1", timeout=5)
        self.assertTrue(stopping.get("STATUS", "").startswith("stopping: finalizing 1"), stopping)
        self.assertEqual(d.wait_exit(30), 0)
        self.assertEqual(ns.count("WATCHDOG"), 0, "no watchdog asked, none sent")
        d.assert_log_clean()

    def test_watchdog_pings_from_the_main_loop(self):
        ns = NotifySocket(self)
        d = self.daemon(ns, WATCHDOG_USEC="400000", REEL_TEST_HOOKS="1")
        d.start()
        ns.wait("READY", "1")
        t0 = time.monotonic()
        ns.drain(2.0)
        pings = ns.count("WATCHDOG", since=t0)
        self.assertGreaterEqual(pings, 7, "400 ms watchdog: a ping every 200 ms")
        self.assertLessEqual(pings, 14)
        # A stuck loop must stop pinging (so systemd restarts it): the test hook
        # blocks the main loop for 2 s while reeld's other threads run on.
        os.kill(d.pid, signal.SIGUSR2)
        ns.drain(0.4)
        t1 = time.monotonic()
        ns.drain(1.2)
        self.assertEqual(ns.count("WATCHDOG", since=t1), 0, "pings while the main loop was blocked")
        ns.drain(0.8)
        t2 = time.monotonic()
        ns.drain(1.0)
        self.assertGreater(ns.count("WATCHDOG", since=t2), 0, "pings resume with the loop")
        d.sigterm()
        ns.wait("STOPPING", "1", timeout=5)
        self.assertEqual(d.wait_exit(30), 0)
        # one daemon's whole story, in order: READY, STATUS, WATCHDOG, STOPPING
        firsts = {}
        for i, (_, m) in enumerate(ns.messages):
            for k in ("READY", "STATUS", "WATCHDOG", "STOPPING"):
                if k in m:
                    firsts.setdefault(k, i)
        self.assertLessEqual(firsts["READY"], firsts["STATUS"])
        self.assertLessEqual(firsts["STATUS"], firsts["WATCHDOG"])
        self.assertLess(firsts["WATCHDOG"], firsts["STOPPING"])

    def test_watchdog_for_another_pid_is_ignored(self):
        ns = NotifySocket(self)
        d = self.daemon(ns, WATCHDOG_USEC="200000", WATCHDOG_PID="1")
        d.start()
        ns.wait("READY", "1")
        ns.drain(1.0)
        self.assertEqual(ns.count("WATCHDOG"), 0)
        self.assertEqual(d.stop(), 0)

    def test_sighup_reloads(self):
        ns = NotifySocket(self)
        d = self.daemon(ns)
        d.start()
        ns.wait("READY", "1")
        n_ready = ns.count("READY")
        os.kill(d.pid, signal.SIGHUP)
        ns.wait("RELOADING", "1")
        rt.wait_for(lambda: (ns.drain(0.1), ns.count("READY") > n_ready)[1], 5, what="READY after reload")
        rt.wait_for(lambda: "reload: configuration applied" in d.log_text(), 5, what="reload logged")
        # A broken file is refused; reeld keeps serving with what it has.
        d.write_config("[api]\nnot_a_key = 1\n")
        os.kill(d.pid, signal.SIGHUP)
        rt.wait_for(lambda: "reload: configuration kept" in d.log_text(), 5, what="refused reload")
        self.assertTrue(d.running())
        self.assertEqual(d.healthz(), 200)
        self.assertEqual(d.stop(), 0)


if __name__ == "__main__":
    rt.main()
