#!/usr/bin/python3
"""Acceptance tests for reel's "cloudflare" provider, against a local Realtime-compatible
SFU (tests/realtime/reel-realtime-sfu, through realtimeenv.py) with real publishers.

reel runs with `[webrtc] local_addresses = 127.0.0.1` and its app secrets in
`[cloudflare] apps` files, and records POST /v1/recordings
    {"room": {"provider": "cloudflare", "app_id": "app1", "api_url": "http://127.0.0.1:P/v1",
              "tracks": [{"session_id", "track_name", "participant"}, ...]}, ...}

What a viewer of the file must see and hear, and what the API must say:
- two GStreamer publishers (VP8 red 440 Hz, H.264 green 660 Hz) and a Chromium one:
  all live within 3 s of "recording"; a late frame shows their tiles; the tones are there;
- PATCH tracks: an added publisher is live within 3 s, a removed one is gone from the
  API within 2 s, and the picture follows;
- a track named before it is published shows "pending" with the SFU's reason, then
  is live within 3 s of being published;
- bad requests fail clearly (invalid_field, sfu_secret_missing, sfu_unreachable,
  unauthorized_room, room_not_found) while a good recording runs on untouched;
- the SFU drops reel's session (SIGUSR1 to the local SFU): reel notices, pulls every
  track again in a new session, and the recording goes on.

Needs the SFU built (meson sets REEL_REALTIME_SFU); the Chromium part needs root,
chromium, node + playwright-core (tests/janus: npm ci) and chromium_rt_publisher.js.
Run: meson test -C build --suite cloudflare
 or: REELD=build/src/reeld/reeld REEL_REALTIME_SFU=build/tests/realtime/reel-realtime-sfu \
     /usr/bin/python3 tests/cloudflare/test_cloudflare.py [-k name]
"""

import json
import os
import shutil
import signal
import sys
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "realtime"))
sys.path.insert(0, os.path.join(HERE, "..", "janus"))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))
import realtimeenv  # noqa: E402
import reeltest as rt  # noqa: E402
import test_janus as tj  # noqa: E402  (tile and tone checks, the recording watcher)

W, H, FPS = tj.W, tj.H, tj.FPS
RED, GREEN, BLUE = tj.RED, tj.GREEN, tj.BLUE
APPS = {"app1": "secret1", "app2": "secret2", "app9x": "unused"}
CHROMIUM_JS = os.path.join(HERE, "..", "realtime", "chromium_rt_publisher.js")


def chromium_possible():
    if os.geteuid() != 0:
        return False, "not root (Chromium runs in a network namespace)"
    if not os.path.exists(CHROMIUM_JS):
        return False, "tests/realtime/chromium_rt_publisher.js is missing"
    if not os.path.exists(realtimeenv.CHROMIUM) or not shutil.which("node"):
        return False, "chromium or node is not installed"
    return True, ""


class CloudflareRecordingTest(rt.ReelTestCase):
    """One SFU for the class; a reeld and publishers per test."""

    # borrowed as they are: publisher cleanup, recordings, file checks
    peer = tj.JanusRecordingTest.peer
    body = tj.JanusRecordingTest.body
    start_recording = tj.JanusRecordingTest.start_recording
    wait_terminal = tj.JanusRecordingTest.wait_terminal
    file_of = tj.JanusRecordingTest.file_of
    assert_frame = tj.JanusRecordingTest.assert_frame
    frame_matches = tj.JanusRecordingTest.frame_matches
    assert_tones = tj.JanusRecordingTest.assert_tones
    sleep_until = tj.JanusRecordingTest.sleep_until
    _stop_recordings = tj.JanusRecordingTest._stop_recordings

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.with_chromium, cls.no_chromium_why = chromium_possible()
        try:
            # closed by a class cleanup; its logs are kept if a test fails
            cls.env = realtimeenv.RealtimeEnv(cls, apps={"app1": APPS["app1"], "app2": APPS["app2"]},
                                              chromium=cls.with_chromium)
        except RuntimeError as e:
            raise unittest.SkipTest(str(e))
        rt.note("Realtime SFU at %s; Chromium: %s" % (cls.env.api_url, cls.with_chromium or cls.no_chromium_why))

    def setUp(self):
        super().setUp()
        secrets = rt.make_tempdir(self, "reel-cf-secrets-")
        files = []
        # app2 gets a wrong secret (401); app9x is unknown to the SFU (404)
        for app, secret in (("app1", APPS["app1"]), ("app2", "not-" + APPS["app2"]), ("app9x", APPS["app9x"])):
            path = os.path.join(secrets, app)
            with open(path, "w") as f:
                f.write(secret + "\n")
            files.append("%s:%s" % (app, path))
        self.d = rt.ReelDaemon(self, config={"webrtc": {"local_addresses": self.env.local_address},
                                             "cloudflare": {"apps": ", ".join(files)}})
        self.addCleanup(self.d.stop, 10)
        self.recordings = []
        self.addCleanup(self._stop_recordings)
        self.addCleanup(self._sfu_log_on_failure)

    def _sfu_log_on_failure(self):
        if not self.outcome_failed():
            return
        died = self.env.sfu_died()
        sys.stderr.write("\n===== Realtime SFU (%s), last lines =====\n%s\n===== end of SFU log =====\n"
                         % ("running" if died is None else "ENDED, exit status %s" % died, self.env.sfu_log(60)))
        sys.stderr.flush()

    # -- helpers -------------------------------------------------------------------------

    def gst(self, name, codec, color, tone, **kw):
        return self.peer(self.env.gst_publisher(name, codec, color, tone, **kw))

    def room(self, tracks, app="app1", api_url=None):
        return {"provider": "cloudflare", "app_id": app, "api_url": api_url or self.env.api_url,
                "tracks": tracks}

    @staticmethod
    def tracks_of(pub, participant=None):
        name = participant or pub.name
        return [{"session_id": pub.session_id, "track_name": pub.tracks[k], "kind": k, "participant": name}
                for k in ("video", "audio")]

    def watch(self, rec_id):
        w = tj.Watch(self.d, rec_id)
        self.addCleanup(w.stop)
        return w

    def patch_tracks(self, rec_id, tracks):
        status, rec, raw = self.d.api("PATCH", "/v1/recordings/%s" % rec_id, {"tracks": tracks})
        self.assertEqual(status, 200, raw[:2000])
        return rec

    def expect_live(self, w, t0, names, timeout, what):
        t = w.wait_after(t0, lambda r: tj.fully_live(r, names), timeout, what)
        if t is None:
            self.fail("%s: not live within %.1f s: %s\n%s" % (what, timeout, json.dumps(
                tj.live_kinds(w.last()), default=sorted), rt.pretty(w.last())))
        return t

    # -- tests ---------------------------------------------------------------------------

    def test_1_publishers(self):
        """VP8 + H.264 GStreamer publishers (and Chromium): API, picture and sound."""
        alice = self.gst("Alice", "vp8", "#ff0000", 440, wait=False)
        bob = self.gst("Bob", "h264", "#00ff00", 660, wait=False)
        pubs = [alice, bob]
        if self.with_chromium:
            pubs.append(self.peer(self.env.chromium_publisher("Carol", wait=False)))
        else:
            rt.note("no Chromium publisher: %s" % self.no_chromium_why)
        for p in pubs:
            p.wait_media(60)
        names = [p.name for p in pubs]
        tracks = [t for p in pubs for t in self.tracks_of(p)]

        rec = self.start_recording(self.body(self.room(tracks), 10))
        w = self.watch(rec["id"])
        t_rec = w.wait(lambda r: r.get("state") == "recording", 30, "state recording")
        t_live = self.expect_live(w, t_rec, names, 3.0, "every publisher")
        rt.note("first tiles: all %d publishers live %.2fs after \"recording\"" % (len(pubs), t_live - t_rec))
        live = [r for t, r in w.snapshot() if t >= t_live][0]
        self.assertEqual(sorted(p["name"] for p in live["participants"]), sorted(names))

        rec = self.wait_terminal(rec["id"], 30)
        path = self.file_of(rec)
        info = rt.ffprobe(path)
        self.assertEqual(rt.check_av_format(info, W, H, FPS), [], rt.probe_summary(info))
        dur = rt.packet_duration(path)
        self.assertAlmostEqual(dur, 10.0, delta=1.5, msg="max_duration_s 10, file lasts %.2fs" % dur)
        expected = [RED, GREEN] + (["nonblack"] if self.with_chromium else [])
        self.assert_frame(path, dur - 1.5, expected, "Alice (red), Bob (green) late in the recording")
        self.assert_tones(path, 3.0, dur - 4.0, [440, 660])

    def test_2_patch_tracks(self):
        """PATCH tracks: Bob added (live ≤ 3 s), then Alice removed (gone ≤ 2 s)."""
        alice = self.gst("Alice", "vp8", "#ff0000", 440)
        bob = self.gst("Bob", "h264", "#00ff00", 660)
        rec = self.start_recording(self.body(self.room(self.tracks_of(alice)), 14))
        w = self.watch(rec["id"])
        t_rec = w.wait(lambda r: r.get("state") == "recording", 30, "state recording")
        t_alice = self.expect_live(w, t_rec, ["Alice"], 3.0, "Alice")

        # Her picture gets 1.5 s after she is live (first keyframe, decoding on a busy
        # machine) before the frame that shows her alone, 0.5 s before the PATCH.
        self.sleep_until(max(t_rec + 3.0, t_alice + 2.0))
        t_add = time.monotonic()
        answer = self.patch_tracks(rec["id"], self.tracks_of(alice) + self.tracks_of(bob))
        self.assertEqual(len(answer["room"]["tracks"]), 4, rt.pretty(answer))
        t_bob = self.expect_live(w, t_add, ["Alice", "Bob"], 3.0, "Bob after PATCH")
        rt.note("PATCH add: Bob live %.2fs after the PATCH" % (t_bob - t_add))

        self.sleep_until(max(t_rec + 8.0, t_add + 3.5))  # the frame 3 s after adding Bob comes first
        t_del = time.monotonic()
        self.patch_tracks(rec["id"], self.tracks_of(bob))
        t_gone = w.wait_after(t_del, lambda r: "Alice" not in tj.live_kinds(r), 2.0, "Alice gone")
        if t_gone is None:
            self.fail("Alice still listed 2 s after PATCH removed her: %s" % rt.pretty(w.last()))
        rt.note("PATCH remove: Alice gone %.2fs after the PATCH" % (t_gone - t_del))

        rec = self.wait_terminal(rec["id"], 30)
        path = self.file_of(rec)
        dur = rt.packet_duration(path)
        self.assertAlmostEqual(dur, 14.0, delta=1.5)
        m_add, m_del = t_add - t_rec, t_del - t_rec
        self.assert_frame(path, m_add - 0.5, [RED], "before the PATCH: Alice alone")
        self.assert_frame(path, m_add + 3.0, [RED, GREEN], "3 s after adding Bob")
        self.assert_frame(path, m_del + 2.0, [GREEN], "2 s after removing Alice: Bob alone")
        self.assert_tones(path, m_del + 2.0, dur - m_del - 3.0, [660], absent=[440])

    def test_3_published_late(self):
        """A track named before it is published: pending with the SFU's reason, then live."""
        alice = self.gst("Alice", "vp8", "#ff0000", 440)
        session = self.env.api().new_session()
        dave_tracks = [{"session_id": session, "track_name": "dave-video", "participant": "Dave"},
                       {"session_id": session, "track_name": "dave-audio", "participant": "Dave"}]
        rec = self.start_recording(self.body(self.room(self.tracks_of(alice) + dave_tracks), 14))
        w = self.watch(rec["id"])
        t_rec = w.wait(lambda r: r.get("state") == "recording", 30, "state recording")
        self.expect_live(w, t_rec, ["Alice"], 3.0, "Alice")
        pending = w.wait_after(t_rec, lambda r: any(
            t.get("state") == "pending" and t.get("error")
            for p in r.get("participants") or [] if p.get("name") == "Dave" for t in p.get("tracks") or []),
            5.0, "Dave pending with a reason")
        if pending is None:
            self.fail("Dave's tracks are not shown pending with the SFU's reason: %s" % rt.pretty(w.last()))

        self.sleep_until(t_rec + 4.0)
        argv = [realtimeenv.PYTHON, os.path.join(HERE, "late_publisher.py"), "--session", session,
                "--api", self.env.api_url, "--app", "app1", "--secret", APPS["app1"], "--name", "dave",
                "--codec", "vp8", "--color", "#0000ff", "--tone", "880",
                "--local-address", self.env.local_address]
        dave = self.peer(realtimeenv.Publisher(self.env, "Dave", argv))
        t_pub = dave.wait_published(20)
        t_live = self.expect_live(w, t_pub, ["Alice", "Dave"], 3.0, "Dave once published")
        rt.note("published late: Dave live %.2fs after publishing" % (t_live - t_pub))

        rec = self.wait_terminal(rec["id"], 30)
        path = self.file_of(rec)
        dur = rt.packet_duration(path)
        self.assert_frame(path, dur - 1.5, [RED, BLUE], "Alice (red) and Dave (blue) at the end")
        self.assert_tones(path, (t_live - t_rec) + 1.0, dur - (t_live - t_rec) - 2.0, [440, 880])

    def test_4_bad_inputs(self):
        """Clear errors for bad requests; a good recording runs on untouched."""
        alice = self.gst("Alice", "vp8", "#ff0000", 440)
        good = self.start_recording(self.body(self.room(self.tracks_of(alice)), 12))
        t0 = time.monotonic()
        w = self.watch(good["id"])
        w.wait(lambda r: r.get("state") == "recording", 30, "good recording")
        tracks = self.tracks_of(alice)

        def refused(room, status, code, field=None):
            r = self.d.create(self.body(room, 10), expect=status)
            self.assertEqual(r["error"]["code"], code, rt.pretty(r))
            if field:
                self.assertTrue(r["error"]["message"].startswith(field), rt.pretty(r))

        no_app = self.room(tracks)
        del no_app["app_id"]
        refused(no_app, 400, "invalid_field", "room.app_id: missing required field")
        refused(self.room(tracks, app="nosecret"), 422, "sfu_secret_missing", "room.app_id")
        refused(self.room([{"session_id": "a b", "track_name": "x"}]), 400, "invalid_field",
                "room.tracks[0].session_id")
        refused(self.room([{"session_id": "s", "track_name": "x\"y"}]), 400, "invalid_field",
                "room.tracks[0].track_name")
        refused(self.room(tracks + tracks[:1]), 400, "invalid_field", "room.tracks[2]: duplicate")
        with_secret = self.room(tracks)
        with_secret["app_secret"] = APPS["app1"]
        refused(with_secret, 400, "invalid_field", "room.app_secret")

        port = rt.free_port()  # nothing listens there
        failing = [("unreachable api_url", self.room(tracks, api_url="http://127.0.0.1:%d/v1" % port),
                    "sfu_unreachable"),
                   ("wrong secret", self.room(tracks, app="app2"), "unauthorized_room"),
                   ("unknown app", self.room(tracks, app="app9x"), "room_not_found")]
        for what, room, code in failing:
            rec = self.start_recording(self.body(room, 10))
            end = self.wait_terminal(rec["id"], 20)
            self.assertEqual(end["state"], "failed", "%s: %s" % (what, rt.pretty(end)))
            self.assertEqual((end.get("error") or {}).get("code"), code, "%s: %s" % (what, rt.pretty(end)))
            self.assertNotIn(APPS["app1"], json.dumps(end))
        self.assertTrue(self.d.running(), "reeld died")
        self.assertNotIn("not-" + APPS["app2"], self.d.log_text(), "a secret reached the log")

        good = self.wait_terminal(good["id"], 30)
        path = self.file_of(good)
        dur = rt.packet_duration(path)
        self.assertAlmostEqual(dur, 12.0, delta=1.5, msg="the good recording lasts %.2fs" % dur)
        self.assert_frame(path, dur - 1.5, [RED], "the good recording, untouched")
        rt.note("bad inputs done %.1fs after the good recording started" % (time.monotonic() - t0))

    def test_5_session_lost(self):
        """The SFU drops reel's session (as it does after a lost connection): reel notices
        within 8 s, pulls every track again in a new session, and the recording goes on."""
        alice = self.gst("Alice", "vp8", "#ff0000", 440)
        rec = self.start_recording(self.body(self.room(self.tracks_of(alice)), 16))
        w = self.watch(rec["id"])
        t_rec = w.wait(lambda r: r.get("state") == "recording", 30, "state recording")
        self.expect_live(w, t_rec, ["Alice"], 3.0, "Alice")
        self.sleep_until(t_rec + 3.0)
        t_drop = time.monotonic()
        self.env.sfu_proc.send_signal(signal.SIGUSR1)  # the SFU forgets every pulling session
        t_gone = w.wait_after(t_drop, lambda r: not tj.fully_live(r, ["Alice"]), 8.0, "Alice's session gone")
        if t_gone is None:
            self.fail("reel did not notice in 8 s that the SFU dropped its session: %s" % rt.pretty(w.last()))
        t_back = self.expect_live(w, t_gone, ["Alice"], 6.0, "Alice in a new session")
        rt.note("session lost: noticed %.2fs after the drop, Alice live again %.2fs after it"
                % (t_gone - t_drop, t_back - t_drop))
        self.assertTrue(self.env.sfu_running(), self.env.sfu_log())

        rec = self.wait_terminal(rec["id"], 30)
        self.assertEqual(rec["state"], "finished", rt.pretty(rec))
        path = self.file_of(rec)
        dur = rt.packet_duration(path)
        self.assertAlmostEqual(dur, 16.0, delta=1.5, msg="the recording went on: it lasts %.2fs" % dur)
        m_back = t_back - t_rec
        self.assert_frame(path, min(dur - 1.0, m_back + 2.0), [RED], "Alice back after the new session")
        self.assert_tones(path, m_back + 1.5, dur - m_back - 2.5, [440])

if __name__ == "__main__":
    rt.main()
