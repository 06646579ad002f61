#!/usr/bin/python3
"""Acceptance tests for reel's "janus" provider, against a real Janus with real peers.

Janus 1.1 runs in its own network namespace (janusenv.py); reel runs in the root
namespace with `[webrtc] local_addresses = 198.18.k.1` (k = 0 unless another run holds
198.18.0.0/24) and records POST /v1/recordings
    {"room": {"provider": "janus", "url": "http://198.18.k.2:8088/janus", "room": 1234}, ...}
Publishers: publisher.py (GStreamer: solid colour + sine tone, VP8 or H.264) from the
root namespace, and chromium_publisher.js (headless Chromium, fake camera and
microphone) from its own namespace.

What a viewer of the file must see and hear, and what the API must say:
- three publishers (VP8 red 440 Hz, H.264 green 660 Hz, Chromium): all listed with live
  audio and video within 3 s of "recording"; a late frame shows red, green and a third
  non-black tile; the audio holds 440 and 660 Hz;
- a publisher leaving is gone from the API and the picture within 2 s, one joining is
  there within 3 s, and the video timestamps have no hole;
- Janus killed and restarted: the recording stays "recording", the file lasts the wall
  time, the outage shows dark-grey placeholder tiles (no cut, not black), and the
  colours are back within 10 s of the publishers' return;
- bad requests fail with room_not_found / unauthorized_room / sfu_unreachable /
  invalid_field while a good recording runs on untouched.

Needs root (namespaces), janus, chromium, node + playwright-core (npm ci in this folder).
Run: meson test -C build --suite janus
 or: REELD=build/src/reeld/reeld /usr/bin/python3 tests/janus/test_janus.py [-k name]
REEL_TEST_KEEP=1 keeps reel's and Janus's folders (logs, files, frames of failures).
"""

import itertools
import json
import os
import shutil
import subprocess
import sys
import threading
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "integration"))
import janusenv  # noqa: E402
import reeltest as rt  # noqa: E402

W, H, FPS = 1280, 720, 30
RED, GREEN, BLUE = (255, 0, 0), (0, 255, 0), (0, 0, 255)
SLACK = 0.3          # seconds: "recording" is seen by polling, the file may start a bit earlier
AUDIO_RATE = 16000


# ------------------------------------------------------------------------------------------
# tiles


def is_black(c, tol=24):
    return max(c) <= tol


def is_placeholder(c):
    """reel's placeholder tile: dark grey, about #202020 (the name drawn on it is a minority
    of the tile's centre)."""
    return 18 <= min(c) and max(c) <= 72 and max(c) - min(c) <= 14


def tile_ok(kind, c):
    if kind == "placeholder":
        return is_placeholder(c)
    if kind == "nonblack":
        return not is_black(c, 40) and not is_placeholder(c)
    return rt.color_close(c, kind, 40)


def describe_kind(kind):
    return {"placeholder": "dark-grey placeholder (#202020-ish)", "nonblack": "a non-black picture"}.get(kind, str(kind))


def check_tiles(frame, expected):
    """Problems (list of text) of a frame against reel's grid of len(expected) tiles, in
    any order: each entry is an (r, g, b) colour, "nonblack" or "placeholder". Empty cells
    and letterbox bands must be black."""
    n = len(expected)
    tiles, empty, bands = rt.grid_geometry(n, frame.shape[1], frame.shape[0])
    got = [rt.median_color(frame, r) for r in tiles]
    problems = []
    if not any(all(tile_ok(k, c) for k, c in zip(perm, got)) for perm in itertools.permutations(expected)):
        problems.append("the %d tiles have median colours %s; expected, in any order: %s"
                        % (n, got, ", ".join(describe_kind(k) for k in expected)))
    for rect in empty:
        c = rt.median_color(frame, rect)
        if not is_black(c, 40):
            problems.append("empty cell at %s is %s, expected black" % (tuple(int(v) for v in rect), c))
    for rect in bands:
        c = rt.median_color(frame, rect, frac=0.6)
        if not is_black(c, 40):
            problems.append("band at %s is %s, expected black (wrong tile count?)" % (tuple(int(v) for v in rect), c))
    return problems


def layout_guess(frame):
    """Tile colours for 1..4 tiles, to explain a failure."""
    out = []
    for n in range(1, 5):
        tiles, _, _ = rt.grid_geometry(n, frame.shape[1], frame.shape[0])
        out.append("%d tiles: %s" % (n, [rt.median_color(frame, r) for r in tiles]))
    return "; ".join(out)


def live_kinds(rec):
    """{name: set of kinds with a live track}."""
    return {p.get("name"): {t.get("kind") for t in p.get("tracks") or [] if t.get("state") == "live"}
            for p in rec.get("participants") or []}


def fully_live(rec, names):
    lk = live_kinds(rec)
    return all(lk.get(n, set()) >= {"audio", "video"} for n in names)


# ------------------------------------------------------------------------------------------
# watching a recording


class Watch:
    """Polls a recording every 0.1 s in a thread: [(monotonic time, recording object)]."""

    def __init__(self, d, rec_id, interval=0.1):
        self.d, self.rec_id, self.interval = d, rec_id, interval
        self.samples = []
        self.errors = []
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self):
        while not self._stop.is_set():
            try:
                st, rec, raw = self.d.api("GET", "/v1/recordings/%s" % self.rec_id, timeout=5)
                if st == 200 and rec:
                    with self._lock:
                        self.samples.append((time.monotonic(), rec))
                    if rec.get("state") in rt.TERMINAL_STATES:
                        return
                else:
                    self.errors.append("GET -> %s %r" % (st, raw[:200]))
            except AssertionError as e:
                self.errors.append(str(e)[:300])
            self._stop.wait(self.interval)

    def stop(self):
        self._stop.set()
        self._thread.join(5)

    def snapshot(self):
        with self._lock:
            return list(self.samples)

    def last(self):
        s = self.snapshot()
        return s[-1][1] if s else None

    def first(self, pred, after=None):
        for t, rec in self.snapshot():
            if (after is None or t >= after) and pred(rec):
                return t
        return None

    def wait(self, pred, timeout, what):
        deadline = time.monotonic() + timeout
        while True:
            t = self.first(pred)
            if t is not None:
                return t
            last = self.last()
            if last and last.get("state") in rt.TERMINAL_STATES and not pred(last):
                raise AssertionError("recording reached %s while waiting for %s:\n%s\n%s"
                                     % (last.get("state"), what, rt.pretty(last), self.d.log_tail()))
            if time.monotonic() > deadline:
                raise AssertionError("timed out after %.0fs waiting for %s; last state:\n%s\n%s"
                                     % (timeout, what, rt.pretty(last) if last else "(no sample)",
                                        self.d.log_tail()))
            time.sleep(0.05)

    def wait_after(self, t0, pred, timeout, what):
        deadline = t0 + timeout
        while True:
            t = self.first(pred, after=t0)
            if t is not None:
                return t
            if time.monotonic() > deadline + 0.2:
                return None
            time.sleep(0.05)

    def states_between(self, t0, t1):
        return [(round(t - t0, 2), rec.get("state")) for t, rec in self.snapshot() if t0 <= t <= t1]


# ------------------------------------------------------------------------------------------


class JanusRecordingTest(rt.ReelTestCase):
    """One Janus environment for the class; a reeld and publishers per test."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        ok, why = janusenv.can_run()
        if not ok:
            raise unittest.SkipTest(why)
        cls.env = janusenv.JanusEnv().start()
        cls.addClassCleanup(cls.env.close)
        cls.addClassCleanup(cls._dump_env_logs)
        rt.note("Janus at %s, reel's local address %s" % (cls.env.url, cls.env.local_address))

    @classmethod
    def _dump_env_logs(cls):
        if rt.failed(cls) or rt.KEEP:
            sys.stderr.write("\n===== Janus log (%s), last lines =====\n%s\n===== end of Janus log =====\n"
                             % (cls.env.janus_log, cls.env.janus_log_tail(80)))

    def setUp(self):
        super().setUp()
        if not self.env.janus_running():
            self.env.start_janus()
        for room in (1234, 4321):
            self.env.kick_all(room)
        # A reeld per test: a stuck daemon fails one test, not the rest of the class.
        self.d = rt.ReelDaemon(self, config={"webrtc": {"local_addresses": self.env.local_address}})
        self.addCleanup(self.d.stop, 10)
        self.addCleanup(self._diagnose_hang)
        self.recordings = []
        self.addCleanup(self._stop_recordings)

    def _diagnose_hang(self):
        """A reeld that stopped answering HTTP: its threads' stacks (gdb, if installed) go
        to the test log, since SIGTERM/SIGKILL will erase the evidence."""
        if not self.outcome_failed() or not self.d.running():
            return
        try:
            self.d.api("GET", "/healthz", token=None, timeout=3)
            return
        except AssertionError:
            pass
        gdb = shutil.which("gdb")
        if not gdb:
            rt.note("reeld (pid %d) does not answer HTTP; install gdb for its stacks" % self.d.pid)
            return
        p = subprocess.run([gdb, "-p", str(self.d.pid), "-batch", "-ex", "thread apply all bt 25"],
                           stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=60)
        text = p.stdout.decode("utf-8", "replace")
        path = os.path.join(self.d.workdir, "reeld-stacks.txt")
        with open(path, "w") as f:
            f.write(text)
        main = text.split("\nThread ")
        main_thread = [t for t in main if " 1 (" in t.split("\n")[0][:40]] or main[-1:]
        sys.stderr.write("\n===== reeld does not answer HTTP: main thread (all threads in %s) =====\nThread %s\n"
                         % (path, main_thread[0][:4000] if main_thread else text[:4000]))

    def _stop_recordings(self):
        for rec_id in self.recordings:
            try:
                rec = self.d.get(rec_id)
                if rec.get("state") not in rt.TERMINAL_STATES:
                    self.d.stop_recording(rec_id, expect=None)
                    self.d.wait_state(rec_id, rt.TERMINAL_STATES, timeout=30)
            except AssertionError as e:
                rt.note("cleanup of %s: %s" % (rec_id, str(e)[:300]))
                return  # reeld does not answer: its own cleanup stops it

    # -- helpers -------------------------------------------------------------------------

    def peer(self, peer):
        """Registers a publisher for cleanup (clean leave, then kill) and log dumps."""
        def done():
            if peer.running():
                try:
                    peer.leave(10)
                except AssertionError:
                    pass
            peer.kill()
            if self.outcome_failed():
                sys.stderr.write("\n----- publisher %s: lines %s\n%s\n" % (peer.name, [l for _, l in peer.lines],
                                                                       peer.log_tail(15)))
        self.addCleanup(done)
        return peer

    def gst(self, name, codec, color, tone, **kw):
        return self.peer(self.env.gst_publisher(name, codec, color, tone, **kw))

    def chromium(self, name, **kw):
        return self.peer(self.env.chromium_publisher(name, **kw))

    def room(self, room=1234, **extra):
        r = {"provider": "janus", "url": self.env.url, "room": room}
        r.update(extra)
        return r

    def body(self, room, max_duration_s, outputs=None):
        return {"room": room, "layout": "grid",
                "video": {"width": W, "height": H, "framerate": FPS},
                "outputs": outputs or [{"type": "file", "format": "mp4"}],
                "max_duration_s": max_duration_s}

    def start_recording(self, body):
        rec = self.d.create(body)
        self.recordings.append(rec["id"])
        return rec

    def wait_terminal(self, rec_id, timeout):
        return self.d.wait_state(rec_id, rt.TERMINAL_STATES, timeout=timeout)

    def file_of(self, rec):
        if rec.get("state") != "finished":
            self.fail("recording did not finish:\n%s\n%s" % (rt.pretty(rec), self.d.log_tail()))
        return self.d.output_path(rt.output_by(rec, format="mp4"))

    def assert_frame(self, path, t, expected, what):
        frame = rt.frame_at(path, t, W, H)
        problems = check_tiles(frame, expected)
        if problems:
            shot = rt.save_ppm(frame, os.path.join(self.d.workdir, "frame-%s-%.1f.ppm" % (self._testMethodName, t)))
            self.fail("%s: frame at %.2fs of %s (saved %s):\n  %s\n  seen: %s"
                      % (what, t, path, shot, "\n  ".join(problems), layout_guess(frame)))

    def frame_matches(self, path, t, expected):
        return not check_tiles(rt.frame_at(path, t, W, H), expected)

    def assert_no_gaps(self, path):
        gaps = rt.timestamp_gaps(path, fps=FPS)
        self.assertEqual(gaps, [], "%s: video timestamps not continuous, (pts, step) = %s" % (path, gaps[:20]))

    def assert_tones(self, path, start, duration, present, absent=()):
        samples = rt.decode_audio(path, start=start, duration=duration, rate=AUDIO_RATE)
        problems = rt.check_tones(samples, AUDIO_RATE, present, absent)
        self.assertEqual(problems, [], "%s, audio %.1f-%.1fs: %s (levels: %s)"
                         % (path, start, start + duration, problems,
                            rt.describe_tones(samples, AUDIO_RATE, list(present) + list(absent))))

    def sleep_until(self, t):
        d = t - time.monotonic()
        if d > 0:
            time.sleep(d)

    # -- tests ---------------------------------------------------------------------------

    def test_1_three_publishers(self):
        """VP8 + H.264 GStreamer publishers and Chromium: API, picture and sound."""
        alice = self.peer(self.env.gst_publisher("Alice", "vp8", "#ff0000", 440, wait=False))
        bob = self.peer(self.env.gst_publisher("Bob", "h264", "#00ff00", 660, wait=False))
        carol = self.peer(self.env.chromium_publisher("Carol", wait=False))
        for p in (alice, bob, carol):
            p.wait_media(40)
        self.env.wait_publishers(["Alice", "Bob", "Carol"])
        names = ("Alice", "Bob", "Carol")

        rec = self.start_recording(self.body(self.room(), 10))
        w = Watch(self.d, rec["id"])
        self.addCleanup(w.stop)
        t_rec = w.wait(lambda r: r.get("state") == "recording", 30, "state recording")
        t_live = w.wait_after(t_rec, lambda r: fully_live(r, names), 3.0, "all live")
        if t_live is None:
            self.fail("3 s after \"recording\", not every participant has live audio and video tracks:\n%s\n%s"
                      % (json.dumps(live_kinds(w.last()), default=sorted), rt.pretty(w.last())))
        rt.note("all three live %.2fs after \"recording\"" % (t_live - t_rec))
        live = [r for t, r in w.snapshot() if t >= t_live][0]
        ids = {p.get("name"): p.get("id") for p in live.get("participants") or []}
        for p in (alice, bob, carol):
            self.assertEqual(ids.get(p.name), str(p.feed_id),
                             "participant id must be the Janus feed id as a string: %s" % ids)
        for part in live["participants"]:
            for tr in part.get("tracks") or []:
                self.assertTrue(tr.get("id"), "every track has an id: %s" % part)
                self.assertIn(tr.get("kind"), ("audio", "video"))

        rec = self.wait_terminal(rec["id"], 25)
        path = self.file_of(rec)
        info = rt.ffprobe(path)
        self.assertEqual(rt.check_av_format(info, W, H, FPS), [], rt.probe_summary(info))
        dur = rt.packet_duration(path)
        self.assertAlmostEqual(dur, 10.0, delta=1.5, msg="max_duration_s 10, file lasts %.2fs" % dur)
        self.assert_frame(path, dur - 1.5, [RED, GREEN, "nonblack"],
                          "Alice (red), Bob (green) and Carol (Chromium) late in the recording")
        self.assert_tones(path, 3.0, dur - 4.0, [440, 660])
        self.assert_no_gaps(path)

    def test_2_leave_and_join(self):
        """Bob leaves at ~4 s, Dave joins at ~7.5 s: API and picture follow, no gap."""
        self.gst("Alice", "vp8", "#ff0000", 440)
        bob = self.gst("Bob", "h264", "#00ff00", 660)
        self.env.wait_publishers(["Alice", "Bob"])
        rec = self.start_recording(self.body(self.room(), 14))
        w = Watch(self.d, rec["id"])
        self.addCleanup(w.stop)
        t_rec = w.wait(lambda r: r.get("state") == "recording", 30, "state recording")
        if w.wait_after(t_rec, lambda r: fully_live(r, ("Alice", "Bob")), 3.0, "live") is None:
            self.fail("Alice and Bob not both live 3 s after \"recording\": %s"
                      % json.dumps(live_kinds(w.last()), default=sorted))

        self.sleep_until(t_rec + 4.0)
        t_leave = bob.leave()
        t_gone = w.wait_after(t_leave, lambda r: not live_kinds(r).get("Bob"), 2.0, "Bob gone")
        if t_gone is None:
            self.fail("Bob still listed with live tracks 2 s after leaving: %s"
                      % json.dumps(live_kinds(w.last()), default=sorted))
        rt.note("Bob gone from the API %.2fs after leaving" % (t_gone - t_leave))

        self.sleep_until(t_rec + 7.5)
        dave = self.gst("Dave", "vp8", "#0000ff", 880)
        t_join = dave.seen("WEBRTCUP")
        t_in = w.wait_after(t_join, lambda r: fully_live(r, ("Alice", "Dave")), 3.0, "Dave live")
        if t_in is None:
            self.fail("Dave not listed with live audio and video 3 s after joining: %s"
                      % json.dumps(live_kinds(w.last()), default=sorted))
        rt.note("Dave live in the API %.2fs after joining" % (t_in - t_join))

        rec = self.wait_terminal(rec["id"], 25)
        path = self.file_of(rec)
        dur = rt.packet_duration(path)
        m_leave, m_join = t_leave - t_rec, t_join - t_rec
        self.assert_frame(path, m_leave - 0.7, [RED, GREEN], "Alice and Bob before Bob leaves")
        self.assert_frame(path, m_leave + 2.0 + SLACK, [RED], "only Alice, 2 s after Bob left")
        t_check = min(m_join + 3.0 + SLACK, dur - 0.4)
        self.assert_frame(path, t_check, [RED, BLUE], "Alice and Dave, 3 s after Dave joined")
        self.assert_no_gaps(path)
        self.assert_tones(path, m_leave + 2.5, max(0.5, m_join - m_leave - 2.5), [440], absent=[660])
        if dur - (m_join + 3.5) > 0.5:
            self.assert_tones(path, m_join + 3.5, dur - (m_join + 3.5) - 0.2, [440, 880])

    def test_3_janus_restart(self):
        """Janus is SIGKILLed at ~4 s and restarted 6 s later; the publishers come back."""
        a_id, b_id = 101, 102
        alice = self.gst("Alice", "vp8", "#ff0000", 440, feed_id=a_id)
        bob = self.gst("Bob", "h264", "#00ff00", 660, feed_id=b_id)
        self.env.wait_publishers(["Alice", "Bob"])
        rec = self.start_recording(self.body(self.room(), 120))
        w = Watch(self.d, rec["id"])
        self.addCleanup(w.stop)
        t_rec = w.wait(lambda r: r.get("state") == "recording", 30, "state recording")
        if w.wait_after(t_rec, lambda r: fully_live(r, ("Alice", "Bob")), 3.0, "live") is None:
            self.fail("Alice and Bob not both live 3 s after \"recording\": %s"
                      % json.dumps(live_kinds(w.last()), default=sorted))

        self.sleep_until(t_rec + 4.0)
        t_kill = time.monotonic()
        self.env.kill_janus()
        for p in (alice, bob):      # their Janus sessions died with Janus
            p.kill()
        self.sleep_until(t_kill + 6.0)
        t_restart = time.monotonic()
        self.env.start_janus()
        alice2 = self.gst("Alice", "vp8", "#ff0000", 440, feed_id=a_id, wait=False)
        bob2 = self.gst("Bob", "h264", "#00ff00", 660, feed_id=b_id, wait=False)
        t_back = max(alice2.wait_media(20), bob2.wait_media(20))
        rt.note("Janus down for %.1fs; publishers back %.1fs after the restart"
                % (t_restart - t_kill, t_back - t_restart))
        t_relive = w.wait_after(t_back, lambda r: fully_live(r, ("Alice", "Bob")), 10.0, "live again")

        self.sleep_until(t_back + 11.0)
        t_stop = time.monotonic()
        self.d.stop_recording(rec["id"])
        rec = self.wait_terminal(rec["id"], 25)
        w.stop()
        states = w.states_between(t_rec, t_stop)
        not_recording = [s for s in states if s[1] != "recording"]
        self.assertEqual(not_recording, [], "the recording must stay \"recording\" through the outage "
                                            "(seconds after \"recording\", state): %s" % not_recording[:10])
        self.assertIsNotNone(t_relive, "Alice and Bob not live in the API 10 s after they republished: %s"
                             % json.dumps(live_kinds(w.last()), default=sorted))
        path = self.file_of(rec)
        wall = t_stop - t_rec
        dur = rt.packet_duration(path)
        self.assertAlmostEqual(dur, wall, delta=max(1.5, 0.05 * wall),
                               msg="file lasts %.2fs, the recording ran %.2fs of wall time" % (dur, wall))
        m_kill, m_restart, m_back = t_kill - t_rec, t_restart - t_rec, t_back - t_rec
        self.assert_frame(path, m_kill - 0.7, [RED, GREEN], "Alice and Bob before Janus dies")
        t = m_kill + 3.0
        while t <= m_restart - 0.3:
            self.assert_frame(path, t, ["placeholder", "placeholder"],
                              "placeholder tiles while Janus is down (killed at %.1fs, restarted at %.1fs)"
                              % (m_kill, m_restart))
            t += 1.0
        frames = rt.frames_between(path, m_kill, m_restart, W, H)
        want = int((m_restart - m_kill) * FPS * 0.9)
        self.assertGreaterEqual(len(frames), want, "only %d frames during the %.1fs outage: the picture is cut"
                                % (len(frames), m_restart - m_kill))
        self.assert_no_gaps(path)
        t_colors = None
        t = m_restart
        while t <= dur - 0.3:
            if self.frame_matches(path, t, [RED, GREEN]):
                t_colors = t
                break
            t += 0.5
        self.assertIsNotNone(t_colors, "Alice's and Bob's colours never came back after the restart")
        rt.note("colours back %.1fs after the publishers republished" % (t_colors - m_back))
        self.assert_frame(path, min(m_back + 10.0, dur - 0.4), [RED, GREEN],
                          "Alice and Bob back within 10 s of republishing (back at %.1fs)" % (t_colors or -1))
        self.assert_tones(path, m_back + 10.0, max(0.5, dur - m_back - 10.3), [440, 660])

    def test_4_bad_inputs(self):
        """Errors for bad rooms and URLs; reeld stays up; a good recording is unaffected."""
        self.gst("Alice", "vp8", "#ff0000", 440)
        self.env.wait_publishers(["Alice"])
        good = self.start_recording(self.body(self.room(), 16))
        wg = Watch(self.d, good["id"])
        self.addCleanup(wg.stop)
        t_rec = wg.wait(lambda r: r.get("state") == "recording", 30, "good recording")

        def post(room):
            st, body, raw = self.d.api("POST", "/v1/recordings", self.body(room, 10))
            if st == 201:
                self.recordings.append(body["id"])
            return st, body, raw

        async_cases = [
            ("unknown room", self.room(9999), "room_not_found", (422,)),
            ("wrong pin", self.room(4321, pin="nope"), "unauthorized_room", (422,)),
            ("missing pin", self.room(4321), "unauthorized_room", (422,)),
            ("closed port on the SFU address", dict(self.room(), url=self.env.closed_port_url(9)),
             "sfu_unreachable", ()),
            ("closed port on loopback", dict(self.room(), url="http://127.0.0.1:%d/janus" % rt.free_port()),
             "sfu_unreachable", ()),
        ]
        invalid_urls = ["ftp://%s:8088/janus" % self.env.janus_address, "nonsense", ""]
        pending = []
        for what, room, code, sync_ok in async_cases:
            st, body, raw = post(room)
            if st == 201:
                pending.append((what, body["id"], code))
                continue
            with self.subTest(case=what):
                self.assertIn(st, sync_ok, "%s: POST -> %d %s (expected 201 then failed, or %s)"
                              % (what, st, raw[:300], sync_ok or "nothing else"))
                self.assertEqual((body or {}).get("error", {}).get("code"), code, "%s: %s" % (what, raw[:300]))
        for url in invalid_urls:
            st, body, raw = post(dict(self.room(), url=url))
            with self.subTest(case="url %r" % url):
                self.assertEqual(st, 400, "url %r: POST -> %d %s" % (url, st, raw[:300]))
                err = (body or {}).get("error", {})
                self.assertEqual(err.get("code"), "invalid_field", "url %r: %s" % (url, raw[:300]))
                self.assertIn("url", err.get("message", ""), "the message names the field: %r" % err)
        deadline = time.monotonic() + 25
        latest = {}
        while pending and time.monotonic() < deadline:
            latest = {rec_id: self.d.get(rec_id) for _, rec_id, _ in pending}
            if all(r.get("state") in rt.TERMINAL_STATES for r in latest.values()):
                break
            time.sleep(0.2)
        for what, rec_id, code in pending:
            rec = latest[rec_id]
            err = rec.get("error") or {}
            with self.subTest(case=what):
                self.assertEqual((rec["state"], err.get("code")), ("failed", code),
                                 "%s: state %s, error %s" % (what, rec["state"], err))
                self.assertTrue(err.get("message"), "%s: error without message" % what)

        self.assertEqual(self.d.healthz(), 200)
        self.assertTrue(self.d.running(), "reeld died:\n%s" % self.d.log_tail())
        now = self.d.get(good["id"])
        self.assertEqual(now["state"], "recording", "the good recording meanwhile:\n%s" % rt.pretty(now))
        rec = self.wait_terminal(good["id"], 25)
        wg.stop()
        self.assertEqual([s for s in wg.states_between(t_rec, t_rec + 15.0) if s[1] != "recording"], [],
                         "the good recording left \"recording\" early")
        path = self.file_of(rec)
        dur = rt.packet_duration(path)
        self.assertAlmostEqual(dur, 16.0, delta=1.5)
        # Start latency is test_1's check; here: unaffected while the bad requests ran
        # (a track that stalls on its first renegotiation is resubscribed at 4 s).
        for t in (6.0, 10.0, dur - 1.0):
            self.assert_frame(path, t, [RED], "the good recording's only publisher, Alice")
        self.assert_tones(path, 2.0, dur - 3.0, [440])
        self.assert_no_gaps(path)
        self.d.assert_log_clean()

    def test_5_pin_room(self):
        """Room 4321 with its pin records; the pin is never shown back."""
        self.gst("Erin", "vp8", "#0000ff", 880, room=4321, pin="letmein")
        self.env.wait_publishers(["Erin"], room=4321)
        rec = self.start_recording(self.body(self.room(4321, pin="letmein"), 6))
        rec = self.d.wait_state(rec["id"], "recording", timeout=30)
        st, listing, raw = self.d.api("GET", "/v1/recordings")
        for text in (json.dumps(rec), raw.decode("utf-8", "replace")):
            self.assertNotIn("letmein", text, "the room pin must never be shown back")
        rec = self.wait_terminal(rec["id"], 25)
        self.assertNotIn("letmein", json.dumps(rec))
        path = self.file_of(rec)
        self.assert_frame(path, rt.packet_duration(path) - 1.0, [BLUE], "Erin in the pinned room")
        self.assert_tones(path, 2.0, 3.0, [880])


if __name__ == "__main__":
    rt.main()
