#!/usr/bin/python3
"""The Janus test environment itself, without reel.

Builds the namespaces, starts Janus, publishes with GStreamer (VP8 and H.264) and with
headless Chromium, and subscribes to everything from the root namespace with
subscriber_probe.py (one multistream subscriber, ICE only on 198.18.k.1), as reel will.
If this suite fails, test_janus.py's failures say nothing about reel.

Run: meson test -C build --suite janus   or   /usr/bin/python3 tests/janus/test_environment.py
"""

import os
import re
import sys
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import janusapi  # noqa: E402
import janusenv  # noqa: E402

RED, GREEN = (255, 0, 0), (0, 255, 0)


def close(actual, expected, tol=40):
    return actual is not None and all(abs(a - e) <= tol for a, e in zip(actual, expected))


class JanusEnvironmentTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        ok, why = janusenv.can_run()
        if not ok:
            raise unittest.SkipTest(why)
        cls.env = janusenv.JanusEnv().start()
        cls.addClassCleanup(cls.env.close)

    def setUp(self):
        if not self.env.janus_running():
            self.env.start_janus()
        self.env.kick_all(1234)
        self.env.kick_all(4321)

    def _peer(self, peer):
        self.addCleanup(peer.kill)
        self.addCleanup(lambda: peer.running() and peer.leave())
        return peer

    def _report(self, report):
        return "\n".join("  %-6s %-5s %-4s decoded=%-4s rtp=%-4s first=%s size=%sx%s color=%s tone=%s"
                         % (s.get("display"), s.get("type"), s.get("codec"), s.get("decoded"),
                            s.get("rtp_buffers"), s.get("first_decoded_s"), s.get("width"), s.get("height"),
                            s.get("color"), s.get("tone_hz")) for s in report.get("streams", [])) \
            + "\n  errors: %s" % report.get("errors")

    # ------------------------------------------------------------------------------------

    def test_network_is_test_only(self):
        env = self.env
        root = janusenv.run(["ip", "-4", "-o", "addr", "show", "dev", env.veth_host])
        self.assertIn("inet %s/30" % env.local_address, root)
        for ns in (env.sfu_ns, env.chr_ns):
            routes = janusenv.run(["ip", "-n", ns, "-4", "route", "show"])
            self.assertNotIn("default", routes, "namespace %s must have no default route:\n%s" % (ns, routes))
            for m in re.finditer(r"^(\S+)", routes, re.M):
                if m.group(1) != "default":
                    self.assertTrue(m.group(1).startswith("198.18."), "route outside 198.18/15 in %s: %s" % (ns, routes))
            links = janusenv.run(["ip", "-n", ns, "-o", "link", "show"])
            names = re.findall(r"^\d+: ([^:@]+)", links, re.M)
            self.assertEqual(sorted(n for n in names if n != "lo"),
                             sorted([env.veth_sfu, env.veth_sfu_chr] if ns == env.sfu_ns else [env.veth_chr]))
        listening = janusenv.run(["ip", "netns", "exec", env.sfu_ns, "ss", "-Hltn"])
        addrs = re.findall(r"\s(\S+):(\d+)\s", listening)
        self.assertIn((env.janus_address, "8088"), addrs, listening)
        self.assertEqual([a for a in addrs if a[0] != env.janus_address], [],
                         "Janus listens on more than its HTTP API:\n%s" % listening)
        with open(env.config_path) as f:
            conf = f.read()
        self.assertNotRegex(conf, r"(?m)^\s*(stun|turn)_server", "no STUN/TURN in the Janus config")
        log = env.janus_log_tail(400)
        self.assertNotRegex(log, r"Loading plugin 'libjanus_(?!videoroom)", "only VideoRoom may load")

    def test_publishers_reach_janus_and_decode(self):
        """VP8 + H.264 GStreamer publishers and Chromium, one multistream subscriber."""
        env = self.env
        alice = self._peer(env.gst_publisher("Alice", "vp8", "#ff0000", 440))
        self._peer(env.gst_publisher("Bob", "h264", "#00ff00", 660))
        carol = self._peer(env.chromium_publisher("Carol"))
        pubs = env.wait_publishers(["Alice", "Bob", "Carol"])
        self.assertEqual(pubs["Alice"], alice.feed_id)
        self.assertEqual(pubs["Carol"], carol.feed_id)
        code, report = env.probe(["Alice", "Bob", "Carol"], duration=6.0, min_frames=60, min_audio=150)
        sys.stderr.write("\nprobe (6 s):\n%s\n" % self._report(report))
        self.assertEqual(code, 0, "probe failed:\n%s" % self._report(report))
        by = {(s["display"], s["type"]): s for s in report["streams"]}
        self.assertEqual(set(by), {(n, k) for n in ("Alice", "Bob", "Carol") for k in ("audio", "video")})
        self.assertEqual(by["Alice", "video"]["codec"], "VP8")
        self.assertEqual(by["Bob", "video"]["codec"], "H264")
        for name in ("Alice", "Bob"):
            v = by[name, "video"]
            self.assertGreaterEqual(v["decoded"], 150, "%s: 30 fps for 6 s expected\n%s" % (name, self._report(report)))
            self.assertEqual((v["width"], v["height"]), (640, 360))
        self.assertTrue(close(by["Alice", "video"].get("color"), RED), self._report(report))
        self.assertTrue(close(by["Bob", "video"].get("color"), GREEN), self._report(report))
        self.assertGreaterEqual(by["Carol", "video"]["decoded"], 60, "Chromium's fake camera gives ~20 fps")
        self.assertGreater(max(by["Carol", "video"].get("color") or [0]), 40, "Chromium's picture is black")
        self.assertAlmostEqual(by["Alice", "audio"].get("tone_hz", 0), 440, delta=5)
        self.assertAlmostEqual(by["Bob", "audio"].get("tone_hz", 0), 660, delta=5)
        for name in ("Alice", "Bob", "Carol"):
            self.assertGreaterEqual(by[name, "audio"]["decoded"], 250, "Opus: 50 packets/s for 6 s")

    def test_chromium_h264(self):
        env = self.env
        self._peer(env.chromium_publisher("CarolH264", codec="h264"))
        code, report = env.probe(["CarolH264"], duration=3.0, min_frames=30, min_audio=80)
        sys.stderr.write("\nprobe (3 s):\n%s\n" % self._report(report))
        self.assertEqual(code, 0, self._report(report))
        codecs = {s["type"]: s["codec"] for s in report["streams"]}
        self.assertEqual(codecs, {"video": "H264", "audio": "OPUS"})

    def test_pin_room(self):
        env = self.env
        self._peer(env.gst_publisher("Erin", "vp8", "#0000ff", 880, room=4321, pin="letmein"))
        code, report = env.probe(["Erin"], room=4321, pin="nope", duration=1.0, timeout=30)
        self.assertNotEqual(code, 0)
        self.assertRegex(" ".join(report.get("errors", [])), r"433|[Uu]nauthori[sz]ed",
                         "a wrong pin must be refused by Janus: %s" % report)
        code, report = env.probe(["Erin"], room=4321, pin="letmein", duration=2.0, min_frames=20, min_audio=50)
        self.assertEqual(code, 0, self._report(report))
        color = [s.get("color") for s in report["streams"] if s["type"] == "video"][0]
        self.assertTrue(close(color, (0, 0, 255)), self._report(report))

    def test_unknown_room_and_closed_port(self):
        s = janusapi.JanusSession(self.env.url)
        try:
            h = s.attach()
            with self.assertRaises(janusapi.JanusError) as cm:
                s.message(h, {"request": "listparticipants", "room": 9999})
            self.assertEqual(cm.exception.code, 426)  # JANUS_VIDEOROOM_ERROR_NO_SUCH_ROOM
        finally:
            s.destroy()
        t = time.monotonic()
        with self.assertRaises(janusapi.JanusUnreachable):
            janusapi.info(self.env.closed_port_url(), timeout=5)
        self.assertLess(time.monotonic() - t, 2, "a closed port in the SFU namespace must refuse at once")

    def test_kill_and_restart(self):
        env = self.env
        alice = self._peer(env.gst_publisher("Alice", "vp8", "#ff0000", 440, feed_id=1001))
        self.assertEqual(alice.feed_id, 1001)
        env.kill_janus()
        self.assertFalse(env.janus_running())
        with self.assertRaises(janusapi.JanusUnreachable):
            janusapi.info(env.url, timeout=2)
        alice.wait_line("LOST", 15)
        alice.proc.wait(10)
        self.assertEqual(alice.proc.returncode, 3)
        t = time.monotonic()
        env.start_janus()
        sys.stderr.write("\nJanus restarted in %.2fs\n" % (time.monotonic() - t))
        self.assertEqual(sorted(env.list_rooms()), [1234, 4321])
        again = self._peer(env.gst_publisher("Alice", "vp8", "#ff0000", 440, feed_id=1001))
        self.assertEqual(again.feed_id, 1001, "the same feed id can be taken again after a restart")
        code, report = env.probe(["Alice"], duration=2.0, min_frames=20, min_audio=50)
        self.assertEqual(code, 0, self._report(report))

    def test_clean_leave(self):
        env = self.env
        bob = self._peer(env.gst_publisher("Bob", "h264", "#00ff00", 660))
        env.wait_publishers(["Bob"])
        t = bob.leave()
        self.assertEqual(bob.proc.returncode, 0, bob.log_tail())
        self.assertIsNotNone(bob.seen("LEFT"))
        self.assertEqual(env.participants(1234), [], "Bob must be gone from the room after SIGTERM")
        sys.stderr.write("\nclean leave took %.2fs\n" % (bob.seen("EXIT") - t))


if __name__ == "__main__":
    unittest.main(verbosity=2)
