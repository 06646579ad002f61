#!/usr/bin/python3
"""A 6 s recording of 4 synthetic participants into MP4 + MKV: what a viewer gets.

Checks: the recording object (finished, timestamps, outputs finished with bytes and
paths under recordings_dir); both files are H.264 High (not 4:4:4) yuv420p 1280x720
30 fps + AAC 48 kHz, 6 +- 0.5 s long; the frame at 3 s shows each participant's colour
in its own 2x2 tile, filling it to its edges; the audio holds all four tones and nothing else; video never
freezes and its timestamps step by 1/30 s.
"""

import datetime
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import reeltest as rt  # noqa: E402

PARTICIPANTS = [
    rt.participant("Alice", "#ff0000", 440),
    rt.participant("Bob", "#00ff00", 660),
    rt.participant("Carol", "#0000ff", 880),
    rt.participant("Dave", "#ffff00", 1100),
]
COLORS = [p["color"] for p in PARTICIPANTS]
TONES = [p["tone_hz"] for p in PARTICIPANTS]
ABSENT_TONES = [550, 990]  # not a sum/difference/harmonic of the tones above (all multiples of 220)
DURATION = 6.0


def parse_time(value):
    return datetime.datetime.fromisoformat(value.replace("Z", "+00:00"))


class RecordTest(rt.ReelTestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.d = rt.ReelDaemon(cls)
        body = rt.recording_body(PARTICIPANTS, [{"type": "file", "format": "mp4"}, {"type": "file", "format": "mkv"}],
                                 max_duration_s=int(DURATION))
        cls.created = cls.d.create(body)
        rec_id = cls.created["id"]
        cls.live = cls.d.wait_state(rec_id, "recording", timeout=20)
        time.sleep(1.5)
        cls.during = cls.d.get(rec_id)
        cls.rec = cls.d.wait_state(rec_id, "finished", timeout=DURATION + 30)
        cls.mp4 = cls.d.output_path(rt.output_by(cls.rec, format="mp4"))
        cls.mkv = cls.d.output_path(rt.output_by(cls.rec, format="mkv"))
        cls.files = [cls.mp4, cls.mkv]

    def test_created_object(self):
        c = self.created
        self.assertTrue(isinstance(c.get("id"), str) and c["id"], rt.pretty(c))
        self.assertIn(c.get("state"), ("starting", "recording"))
        self.assertIsNone(c.get("error"))
        parse_time(c["created_at"])
        self.assertEqual(c["room"]["provider"], "synthetic")
        self.assertEqual([o.get("id") for o in c["outputs"]], ["out_0", "out_1"])
        self.assertEqual([(o.get("type"), o.get("format")) for o in c["outputs"]], [("file", "mp4"), ("file", "mkv")])

    def test_participants_during_recording(self):
        parts = self.during.get("participants") or []
        self.assertEqual(sorted(p.get("name") for p in parts), sorted(p["name"] for p in PARTICIPANTS),
                         rt.pretty(self.during))
        for p in parts:
            self.assertTrue(p.get("id"), p)
            kinds = {t.get("kind"): t.get("state") for t in p.get("tracks") or []}
            self.assertEqual(kinds, {"video": "live", "audio": "live"}, p)
        for o in self.during["outputs"]:
            self.assertEqual(o.get("state"), "writing", rt.pretty(self.during))

    def test_finished_object(self):
        rec = self.rec
        self.assertEqual(rec["state"], "finished")
        self.assertIsNone(rec.get("error"), rt.pretty(rec))
        created, started, ended = (parse_time(rec[k]) for k in ("created_at", "started_at", "ended_at"))
        self.assertLessEqual(created, started)
        self.assertLessEqual(started, ended)
        self.assertAlmostEqual((ended - started).total_seconds(), DURATION, delta=2.0, msg=rt.pretty(rec))
        root = os.path.realpath(self.d.recordings_dir)
        for o in rec["outputs"]:
            self.assertEqual(o.get("state"), "finished", rt.pretty(rec))
            self.assertFalse(o.get("error"), rt.pretty(o))
            self.assertIsInstance(o.get("bytes"), int)
            self.assertGreater(o["bytes"], 10000, rt.pretty(o))
            self.assertTrue(os.path.isabs(o["path"]), "path should be absolute: %s" % o["path"])
            path = os.path.realpath(o["path"])
            self.assertTrue(path.startswith(root + os.sep), "%s not under %s" % (path, root))
            self.assertTrue(os.path.isfile(path), path)
            size = os.path.getsize(path)
            # muxers rewrite headers in place, so bytes written may exceed the size a little
            self.assertLessEqual(abs(size - o["bytes"]), max(0.05 * size, 65536),
                                 "bytes %d vs file size %d" % (o["bytes"], size))
        self.assertTrue(self.mp4.endswith(".mp4") and self.mkv.endswith(".mkv"), (self.mp4, self.mkv))

    def test_format(self):
        for path in self.files:
            info = rt.ffprobe(path)
            self.assertEqual(rt.check_av_format(info), [], "%s: %s" % (path, rt.probe_summary(info)))

    def test_duration(self):
        for path in self.files:
            info = rt.ffprobe(path)
            fmt = rt.format_duration(info)
            self.assertIsNotNone(fmt, "%s has no duration: %s" % (path, rt.probe_summary(info)))
            self.assertAlmostEqual(fmt, DURATION, delta=0.5, msg="%s: %s" % (path, rt.probe_summary(info)))
            v0, v1 = rt.packet_span(path, "v:0")
            a0, a1 = rt.packet_span(path, "a:0")
            self.assertAlmostEqual(v1 - v0, DURATION, delta=0.5, msg="%s video packets %.3f..%.3f" % (path, v0, v1))
            self.assertAlmostEqual(a1 - a0, DURATION, delta=0.5, msg="%s audio packets %.3f..%.3f" % (path, a0, a1))
            # audio and video start and end together (no drift, no squashed hole)
            self.assertLess(abs(v0 - a0), 0.25, "%s: video starts at %.3f, audio at %.3f" % (path, v0, a0))
            self.assertLess(abs(v1 - a1), 0.25, "%s: video ends at %.3f, audio at %.3f" % (path, v1, a1))
            # every frame is there: 30 per second of video
            n = len(rt.packets(path, "v:0"))
            self.assertAlmostEqual(n, (v1 - v0) * 30, delta=1.5, msg="%s: %d frames over %.3fs" % (path, n, v1 - v0))

    def test_tiles(self):
        for path in self.files:
            for t in (1.0, 3.0, 5.0):
                frame = rt.frame_at(path, t)
                problems = rt.check_grid(frame, COLORS, edges=True)
                if problems:
                    shot = rt.save_ppm(frame, os.path.join(self.d.workdir, "frame-%s-%.1f.ppm"
                                                           % (os.path.basename(path), t)))
                    self.fail("%s at %.1fs (saved %s):\n%s" % (path, t, shot, "\n".join(problems)))

    def test_tones(self):
        for path in self.files:
            samples = rt.decode_audio(path)
            self.assertAlmostEqual(len(samples) / 16000.0, DURATION, delta=0.5)
            problems = rt.check_tones(samples, 16000, TONES, absent=ABSENT_TONES)
            self.assertEqual(problems, [], "%s: %s" % (path, rt.describe_tones(samples, 16000, TONES + ABSENT_TONES)))
            # every second of the call has every voice (no drop-outs)
            for start in range(0, int(DURATION) - 1):
                part = rt.decode_audio(path, start + 0.25, 0.75)
                problems = rt.check_tones(part, 16000, TONES)
                self.assertEqual(problems, [], "%s at %.2f-%.2fs" % (path, start + 0.25, start + 1))

    def test_no_freeze(self):
        tiles, _, _ = rt.grid_geometry(len(PARTICIPANTS))
        for path in self.files:
            frames = rt.frames_between(path, 2.0, 3.0)
            self.assertGreaterEqual(len(frames), 27, "%s: %d frames decoded in 1 s" % (path, len(frames)))
            stuck = rt.frozen_regions(frames, tiles)
            self.assertEqual(stuck, [], "%s: (frame, tile) that did not move between 2 and 3 s" % path)
            self.assertEqual(rt.timestamp_gaps(path), [], "%s: video timestamps not in 1/30 s steps" % path)

    def test_log_clean(self):
        self.d.assert_log_clean()


if __name__ == "__main__":
    rt.main()
