#!/usr/bin/python3
"""Acceptance tests for reel's "orange" provider: recording an Orange Meets room by name.

A local Orange deployment (orange_server.py: identity cookie, room WebSocket, the
/partytracks proxy with its session-lock cookie) forwards to the local
Realtime-compatible SFU (tests/realtime). Publishers join the way Orange's browser
does: media pushed through /partytracks (GStreamer: orange_publisher.py; headless
Chromium when root: tests/realtime/chromium_rt_publisher.js --base), then the room
joined over the WebSocket (orange_server.OrangeUser: cookie, heartbeats, userUpdate
with the "sessionId/trackName" strings, userLeft).

reel runs with `[webrtc] local_addresses = 127.0.0.1` and records
    {"room": {"provider": "orange", "url": "http://127.0.0.1:P", "room": "standup"}, ...}

What a viewer of the file must see and hear, and what the API and the room must say:
- every joined participant's tile and tone, names from the room state; reel connected
  but never joined (hidden) in the room's user list;
- a participant who joins, leaves, reconnects with new track ids or starts a screen
  share (a tile of its own) is followed within 3 s;
- everyone leaves: the recording finishes by itself after empty_timeout_s, the file
  is complete, and reel said userLeft;
- bad inputs (closed port, a room socket that closes or sends malformed JSON, a proxy
  answering 401/403, an E2EE room) fail with a clear error.code while a good
  recording runs on untouched.

Run: meson test -C build --suite orange
 or: REELD=build/src/reeld/reeld REEL_REALTIME_SFU=build/tests/realtime/reel-realtime-sfu \
     /usr/bin/python3 tests/orange/test_orange.py [-k name]
"""

import json
import os
import shutil
import sys
import time
import unittest
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "realtime"))
sys.path.insert(0, os.path.join(HERE, "..", "janus"))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))
import realtimeenv  # noqa: E402
import reeltest as rt  # noqa: E402
import test_janus as tj  # noqa: E402  (tile and tone checks, the recording watcher)
from orange_server import OrangeServer  # noqa: E402

W, H, FPS = tj.W, tj.H, tj.FPS
RED, GREEN, BLUE = tj.RED, tj.GREEN, tj.BLUE
FOLLOW_S = 3.0
CHROMIUM_JS = os.path.join(HERE, "..", "realtime", "chromium_rt_publisher.js")


def chromium_possible():
    if os.geteuid() != 0:
        return False, "not root (Chromium runs in a network namespace)"
    if not os.path.exists(realtimeenv.CHROMIUM) or not shutil.which("node"):
        return False, "chromium or node is not installed"
    with open(CHROMIUM_JS) as f:
        if "--base" not in f.read():
            return False, "chromium_rt_publisher.js cannot push through a proxy (--base)"
    return True, ""


class Participant:
    """A publisher process (media through /partytracks) and its room client."""

    def __init__(self, test, pub, user):
        self.test, self.pub, self.user = test, pub, user

    @property
    def name(self):
        return self.user.name

    def tracks(self):
        sid = self.pub.session_id
        return {k: "%s/%s" % (sid, v) for k, v in self.pub.tracks.items()}


class OrangeRecordingTest(rt.ReelTestCase):
    """One SFU and one Orange deployment for the class; a reeld per test."""

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
            cls.env = realtimeenv.RealtimeEnv(None, apps={"app1": "secret1"}, chromium=cls.with_chromium)
        except RuntimeError as e:
            raise unittest.SkipTest(str(e))
        cls.addClassCleanup(cls.env.close)
        cls.srv = OrangeServer(cls.env.api_url, "app1", "secret1").start()
        cls.addClassCleanup(cls.srv.stop)
        rt.note("Orange deployment at %s over the Realtime SFU at %s; Chromium: %s"
                % (cls.srv.url, cls.env.api_url, cls.with_chromium or cls.no_chromium_why))

    def setUp(self):
        super().setUp()
        self.d = rt.ReelDaemon(self, config={"webrtc": {"local_addresses": self.env.local_address}})
        self.addCleanup(self.d.stop, 10)
        self.recordings = []
        self.addCleanup(self._stop_recordings)

    # -- helpers -------------------------------------------------------------------------

    def room_name(self):
        return "%s-%s" % (self._testMethodName.split("_")[1], uuid.uuid4().hex[:6])

    def orange(self, room, srv=None, **extra):
        r = {"provider": "orange", "url": (srv or self.srv).url, "room": room}
        r.update(extra)
        return r

    def push(self, name, codec="vp8", color="#ff0000", tone=440, srv=None, wait=True):
        """A GStreamer publisher pushing through the deployment's /partytracks."""
        argv = [realtimeenv.PYTHON, os.path.join(HERE, "orange_publisher.py"), "--proxy",
                (srv or self.srv).url + "/partytracks", "--name", name, "--codec", codec, "--color", color,
                "--tone", str(tone), "--local-address", self.env.local_address]
        pub = self.peer(realtimeenv.Publisher(self.env, name, argv))
        if wait:
            pub.wait_media(30)
        return pub

    def push_chromium(self, name):
        udd = os.path.join(self.env.workdir, "chromium-%s-%s" % (name, uuid.uuid4().hex[:6]))
        argv = [realtimeenv.NODE, CHROMIUM_JS, "--api", self.env.api_url, "--app", "app1", "--secret", "-",
                "--base", self.srv.url + "/partytracks", "--name", name,
                "--chromium", self.env.chromium_wrapper, "--user-data-dir", udd]
        pub = self.peer(realtimeenv.Publisher(self.env, name, argv))
        pub.wait_media(60)
        return pub

    def join(self, room, name, pub, uid=None, srv=None):
        """The room client of a publisher: joins and announces its tracks."""
        user = (srv or self.srv).user(room, name, uid)
        self.addCleanup(lambda: user.drop())
        user.announce(pub.session_id, video=pub.tracks["video"], audio=pub.tracks["audio"])
        return Participant(self, pub, user)

    def watch(self, rec_id):
        w = tj.Watch(self.d, rec_id)
        self.addCleanup(w.stop)
        return w

    def expect(self, w, t0, pred, timeout, what):
        t = w.wait_after(t0, pred, timeout, what)
        if t is None:
            self.fail("%s: not within %.1f s: %s\n%s" % (what, timeout, json.dumps(
                tj.live_kinds(w.last()), default=sorted), rt.pretty(w.last())))
        return t

    def expect_live(self, w, t0, names, timeout, what):
        return self.expect(w, t0, lambda r: tj.fully_live(r, names), timeout, what)

    def assert_picture_between(self, path, t0, t1, expected, what, step=0.4, slack=1.0):
        """The file shows expected at some frame of [t0 - slack, t1 + slack / 2]."""
        t = max(0.2, t0 - slack)
        while t <= t1 + slack / 2:
            if self.frame_matches(path, t, expected):
                return t
            t += step
        self.assert_frame(path, (t0 + t1) / 2, expected, "%s (nowhere in %.1f-%.1fs)" % (what, t0 - slack, t1))

    def reel_users(self, room, known_ids):
        return [u for u in self.srv.users(room) if u.get("id") not in known_ids]

    # -- tests ---------------------------------------------------------------------------

    def test_1_record_room(self):
        """Everyone in the room is in the picture and the sound; reel stays hidden."""
        room = self.room_name()
        alice = self.join(room, "Alice", self.push("Alice", "vp8", "#ff0000", 440))
        bob = self.join(room, "Bob", self.push("Bob", "h264", "#00ff00", 660))
        people = [alice, bob]
        if self.with_chromium:
            people.append(self.join(room, "Carol", self.push_chromium("Carol")))
        else:
            rt.note("no Chromium publisher: %s" % self.no_chromium_why)
        names = [p.name for p in people]
        ids = {p.user.id for p in people}

        rec = self.start_recording(self.body(self.orange(room, empty_timeout_s=30), 12))
        w = self.watch(rec["id"])
        t_rec = w.wait(lambda r: r.get("state") == "recording", 30, "state recording")
        t_live = self.expect_live(w, t_rec, names, FOLLOW_S, "every participant")
        rt.note("room recorded: all %d participants live %.2fs after \"recording\"" % (len(people), t_live - t_rec))
        live = [r for t, r in w.snapshot() if t >= t_live][0]
        self.assertEqual(sorted(p["name"] for p in live["participants"]), sorted(names))
        self.assertEqual(sorted(p["id"] for p in live["participants"]), sorted(ids))

        # reel is connected, heartbeating, and never joined
        reel = self.srv.wait(lambda: self.reel_users(room, ids), 5)
        self.assertEqual(len(reel), 1, "reel's connection in the room: %s" % self.srv.users(room))
        reel_id = reel[0]["id"]
        time.sleep(6)
        self.assertFalse(reel[0].get("joined"), reel)
        self.assertTrue(self.srv.seen("heartbeat %s %s" % (room, reel_id)), "reel sent no heartbeat")
        self.assertEqual(self.srv.seen("userUpdate %s %s" % (room, reel_id)), [], "a hidden reel sent userUpdate")
        for u in self.srv.users(room):
            if u["id"] == reel_id:
                self.assertFalse(u.get("joined"), "reel joined the room: %s" % u)

        rec = self.wait_terminal(rec["id"], 40)
        path = self.file_of(rec)
        info = rt.ffprobe(path)
        self.assertEqual(rt.check_av_format(info, W, H, FPS), [], rt.probe_summary(info))
        dur = rt.packet_duration(path)
        self.assertAlmostEqual(dur, 12.0, delta=1.5)
        expected = [RED, GREEN] + (["nonblack"] if self.with_chromium else [])
        self.assert_frame(path, dur - 1.5, expected, "Alice (red), Bob (green) late in the recording")
        self.assert_tones(path, 3.0, dur - 4.0, [440, 660])
        # stopped by max_duration_s: reel said goodbye
        self.assertTrue(self.srv.wait(lambda: self.srv.seen("userLeft %s %s" % (room, reel_id)), 5),
                        "reel did not send userLeft when it stopped")

    def test_2_follow_the_room(self):
        """Join, screen share, reconnect with new track ids, leave: each followed within 3 s."""
        room = self.room_name()
        alice = self.join(room, "Alice", self.push("Alice", "vp8", "#ff0000", 440))
        bob_pub = self.push("Bob", "h264", "#00ff00", 660)
        screen_pub = self.push("AliceScreen", "vp8", "#0000ff", 550)
        bob2_pub = self.push("Bob2", "vp8", "#00ff00", 660)
        rec = self.start_recording(self.body(self.orange(room, empty_timeout_s=30), 22))
        w = self.watch(rec["id"])
        t_rec = w.wait(lambda r: r.get("state") == "recording", 30, "state recording")
        self.expect_live(w, t_rec, ["Alice"], FOLLOW_S, "Alice")
        lat = {}

        self.sleep_until(t_rec + 3.0)
        t_join = time.monotonic()
        bob = self.join(room, "Bob", bob_pub)
        seen = {"join": self.expect_live(w, t_join, ["Alice", "Bob"], FOLLOW_S, "Bob after joining")}

        self.sleep_until(t_rec + 6.5)
        t_share = time.monotonic()
        alice.user.set_screenshare(screen_pub.session_id + "/" + screen_pub.tracks["video"])
        seen["screenshare"] = self.expect(
            w, t_share, lambda r: "video" in tj.live_kinds(r).get("Alice (screen)", set()), FOLLOW_S,
            "Alice's screen share")

        self.sleep_until(t_rec + 10.0)
        t_re = time.monotonic()
        old_sid = bob_pub.session_id
        bob.pub.kill()  # its old session's media stops
        bob.user.drop()
        bob = self.join(room, "Bob", bob2_pub, uid=bob.user.id)  # same user id, new session and tracks

        def bob_moved(r):
            ids = [t["id"] for p in r.get("participants") or [] if p.get("name") == "Bob"
                   for t in p.get("tracks") or [] if t.get("state") == "live"]
            return len(ids) == 2 and all(i.startswith(bob2_pub.session_id + "/") for i in ids)
        seen["reconnect"] = self.expect(w, t_re, bob_moved, FOLLOW_S, "Bob's new tracks")
        self.assertNotIn(old_sid, json.dumps(w.last()["participants"]))

        self.sleep_until(t_rec + 14.0)
        t_stop = time.monotonic()
        alice.user.set_screenshare(None)
        seen["screenshare end"] = self.expect(
            w, t_stop, lambda r: "Alice (screen)" not in tj.live_kinds(r), FOLLOW_S, "screen share ended")

        self.sleep_until(t_rec + 17.0)
        t_leave = time.monotonic()
        alice.user.leave()
        seen["leave"] = self.expect(w, t_leave, lambda r: "Alice" not in tj.live_kinds(r), FOLLOW_S,
                                    "Alice gone")
        asked = {"join": t_join, "screenshare": t_share, "reconnect": t_re, "screenshare end": t_stop,
                 "leave": t_leave}
        lat = {k: seen[k] - asked[k] for k in asked}
        rt.note("followed: " + ", ".join("%s %.2fs" % kv for kv in lat.items()))

        rec = self.wait_terminal(rec["id"], 40)
        path = self.file_of(rec)
        dur = rt.packet_duration(path)
        self.assertAlmostEqual(dur, 22.0, delta=1.5)
        # each picture between a change showing in the API and the next request (the
        # file's clock and the API's differ by up to a second on a loaded machine)
        self.assert_picture_between(path, t_join - 2.0 - t_rec, t_join - t_rec, [RED], "Alice alone")
        self.assert_picture_between(path, seen["join"] - t_rec, t_share - t_rec, [RED, GREEN], "Alice and Bob")
        self.assert_picture_between(path, seen["screenshare"] - t_rec, t_re - t_rec, [RED, GREEN, BLUE],
                                    "Alice, Bob and Alice's screen")
        self.assert_picture_between(path, seen["reconnect"] - t_rec, t_stop - t_rec, [RED, GREEN, BLUE],
                                    "after Bob's reconnection")
        self.assert_picture_between(path, seen["screenshare end"] - t_rec, t_leave - t_rec, [RED, GREEN],
                                    "the screen share over")
        self.assert_frame(path, dur - 1.0, [GREEN], "Alice gone: Bob alone")
        gone = seen["leave"] - t_rec
        self.assert_tones(path, gone + 1.0, dur - gone - 2.0, [660], absent=[440])

    def test_3_room_ends(self):
        """Everyone leaves: the recording finishes after empty_timeout_s; reel says userLeft."""
        room = self.room_name()
        alice = self.join(room, "Alice", self.push("Alice", "vp8", "#ff0000", 440))
        rec = self.start_recording(self.body(self.orange(room, empty_timeout_s=3), 60))
        w = self.watch(rec["id"])
        t_rec = w.wait(lambda r: r.get("state") == "recording", 30, "state recording")
        self.expect_live(w, t_rec, ["Alice"], FOLLOW_S, "Alice")
        self.sleep_until(t_rec + 4.0)
        t_left = time.monotonic()
        alice.user.leave()
        t_end = self.expect(w, t_left, lambda r: r.get("state") in ("stopping", "finished"), 3.0 + 2.0,
                            "the recording stopping by itself")
        rt.note("room empty: the recording stopped %.2fs after the last user left (empty_timeout_s 3)"
                % (t_end - t_left))
        self.assertGreaterEqual(t_end - t_left, 2.8)
        rec = self.wait_terminal(rec["id"], 30)
        self.assertEqual(rec["state"], "finished", rt.pretty(rec))
        self.assertIsNone(rec.get("error"))
        path = self.file_of(rec)
        info = rt.ffprobe(path)
        self.assertEqual(rt.check_av_format(info, W, H, FPS), [], rt.probe_summary(info))
        dur = rt.packet_duration(path)
        self.assertAlmostEqual(dur, (t_left - t_rec) + 3.0, delta=1.5)
        self.assert_frame(path, 2.5, [RED], "Alice while she was there")
        self.assertTrue(self.srv.wait(lambda: self.srv.seen("endMeeting %s" % room), 5),
                        "the meeting was kept alive: %s" % self.srv.users(room))
        left = [x for _, x in self.srv.seen("userLeft %s" % room)]
        self.assertEqual(len(left), 2, "userLeft from Alice and from reel: %s" % left)

    def test_4_bad_inputs(self):
        """Clear error codes; reeld stays up; a good recording runs on untouched."""
        good_room = self.room_name()
        self.join(good_room, "Alice", self.push("Alice", "vp8", "#ff0000", 440))
        good = self.start_recording(self.body(self.orange(good_room), 16))
        wg = self.watch(good["id"])
        t_rec = wg.wait(lambda r: r.get("state") == "recording", 30, "good recording")
        t_live = self.expect_live(wg, t_rec, ["Alice"], FOLLOW_S, "the good recording's Alice")

        locked = OrangeServer(self.env.api_url, "app1", "secret1").start()
        self.addCleanup(locked.stop)
        fake = "0123456789abcdef0123456789abcdef"
        for status in (401, 403):
            room = "locked-%d" % status
            user = locked.user(room, "Zed")
            self.addCleanup(user.drop)
            user.announce(fake, video="v-%d" % status, audio="a-%d" % status)
        locked.proxy_status = 401
        forbidden = OrangeServer(self.env.api_url, "app1", "secret1").start()
        self.addCleanup(forbidden.stop)
        user = forbidden.user("locked-403", "Zed")
        self.addCleanup(user.drop)
        user.announce(fake, video="v", audio="a")
        forbidden.proxy_status = 403
        self.srv.room_mode["closing"] = "close"
        self.srv.room_mode["garbage"] = "garbage"
        self.srv.e2ee_rooms.add("secret")
        self.srv.mls_rooms.add("mls")
        cases = [
            ("closed port", {"provider": "orange", "url": "http://127.0.0.1:%d" % rt.free_port(), "room": "x"},
             "sfu_unreachable"),
            ("socket closes", self.orange("closing"), "room_failed"),
            ("malformed JSON", self.orange("garbage"), "room_protocol_error"),
            ("proxy 401", self.orange("locked-401", srv=locked), "unauthorized_room"),
            ("proxy 403", self.orange("locked-403", srv=forbidden), "unauthorized_room"),
            ("E2EE deployment", self.orange("secret"), "e2ee_not_supported"),
            ("MLS traffic", self.orange("mls"), "e2ee_not_supported"),
        ]
        pending = []
        for what, room, code in cases:
            st, body, raw = self.d.api("POST", "/v1/recordings", self.body(room, 30))
            with self.subTest(case=what):
                self.assertEqual(st, 201, "%s: %s" % (what, raw[:300]))
            self.recordings.append(body["id"])
            pending.append((what, body["id"], code, time.monotonic()))
        deadline = time.monotonic() + 30
        latest = {}
        while time.monotonic() < deadline:
            latest = {rec_id: self.d.get(rec_id) for _, rec_id, _, _ in pending}
            if all(r.get("state") in rt.TERMINAL_STATES for r in latest.values()):
                break
            time.sleep(0.2)
        for what, rec_id, code, _ in pending:
            rec = latest[rec_id]
            err = rec.get("error") or {}
            with self.subTest(case=what):
                self.assertEqual((rec["state"], err.get("code")), ("failed", code),
                                 "%s: state %s, error %s" % (what, rec["state"], err))
                self.assertTrue(err.get("message"), "%s: error without message" % what)
                rt.note("%s: %s: %s" % (what, err.get("code"), err.get("message")))
        for what, room, code in [("invalid url", dict(self.orange("r"), url="ftp://x"), "invalid_field"),
                                 ("no room", {"provider": "orange", "url": self.srv.url}, "invalid_field")]:
            st, body, raw = self.d.api("POST", "/v1/recordings", self.body(room, 10))
            with self.subTest(case=what):
                self.assertEqual((st, (body or {}).get("error", {}).get("code")), (400, code), raw[:300])

        self.assertEqual(self.d.healthz(), 200)
        self.assertTrue(self.d.running(), "reeld died:\n%s" % self.d.log_tail())
        now = self.d.get(good["id"])
        self.assertEqual(now["state"], "recording", "the good recording meanwhile:\n%s" % rt.pretty(now))
        rec = self.wait_terminal(good["id"], 30)
        wg.stop()
        self.assertEqual([s for s in wg.states_between(t_rec, t_rec + 15.0) if s[1] != "recording"], [],
                         "the good recording left \"recording\" early")
        path = self.file_of(rec)
        dur = rt.packet_duration(path)
        self.assertAlmostEqual(dur, 16.0, delta=1.5)
        # live before the bad requests came; still live all along (the picture, the API)
        for t in (t_live - t_rec + 1.0, 9.0, dur - 1.0):
            self.assert_frame(path, t, [RED], "the good recording's Alice")
        dropped = [(round(t - t_rec, 2), tj.live_kinds(r)) for t, r in wg.snapshot()
                   if t_live + 0.5 < t < t_rec + 15.0 and not tj.fully_live(r, ["Alice"])]
        self.assertEqual(dropped, [], "the good recording lost Alice meanwhile")
        self.assert_tones(path, 2.0, dur - 3.0, [440])

    def test_5_visible_and_reconnecting(self):
        """A visible reel joins under its name; its socket drops and comes back, the recording goes on."""
        room = self.room_name()
        alice = self.join(room, "Alice", self.push("Alice", "vp8", "#ff0000", 440))
        bob_pub = self.push("Bob", "h264", "#00ff00", 660)
        ids = {alice.user.id}
        rec = self.start_recording(self.body(self.orange(room, visible=True, name="Reel Recorder"), 14))
        w = self.watch(rec["id"])
        t_rec = w.wait(lambda r: r.get("state") == "recording", 30, "state recording")
        self.expect_live(w, t_rec, ["Alice"], FOLLOW_S, "Alice")
        reel = self.srv.wait(lambda: [u for u in self.reel_users(room, ids) if u.get("joined")], 5)
        self.assertEqual([(u.get("name"), u.get("joined")) for u in reel], [("Reel Recorder", True)],
                         self.srv.users(room))
        reel_id = reel[0]["id"]
        self.assertNotIn("Reel Recorder", tj.live_kinds(w.last()), "reel records itself")

        self.sleep_until(t_rec + 3.0)
        t_kick = time.monotonic()
        self.assertTrue(self.srv.kick(room, reel_id))
        back = self.srv.wait(lambda: self.srv.seen("connect %s %s" % (room, reel_id), since=t_kick), 10)
        self.assertTrue(back, "reel did not open the room socket again")
        rt.note("room socket dropped: reel connected again %.2fs later" % (back[0][0] - t_kick))
        self.assertTrue(self.srv.wait(lambda: self.srv.seen("userUpdate %s %s joined=True" % (room, reel_id),
                                                            since=t_kick), 5), "reel did not join again")
        t_join = time.monotonic()
        self.join(room, "Bob", bob_pub)
        lat = self.expect_live(w, t_join, ["Alice", "Bob"], FOLLOW_S, "Bob after reel's reconnection") - t_join
        rt.note("Bob followed %.2fs after joining, after the socket came back" % lat)
        self.assertEqual([s for s in w.states_between(t_rec, t_join) if s[1] != "recording"], [])
        dropped = [round(t - t_rec, 2) for t, r in w.snapshot()
                   if t_kick < t < t_join and not tj.fully_live(r, ["Alice"])]
        self.assertEqual(dropped, [], "Alice left the recording while the room socket was down")
        rec = self.wait_terminal(rec["id"], 40)
        path = self.file_of(rec)
        self.assert_frame(path, rt.packet_duration(path) - 1.0, [RED, GREEN], "Alice and Bob at the end")


if __name__ == "__main__":
    unittest.main(verbosity=2)
