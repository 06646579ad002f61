#!/usr/bin/python3
"""Participants coming and going during a recording.

A and B are there from the start, C joins at 2 s, B leaves at 4 s; 6 s recorded to MP4 +
MKV. A viewer sees 2 tiles (side by side, 2x1), then 3 (2x2 with an empty black cell),
then 2 again (A, C); hears A+B, then A+B+C, then A+C; the picture never freezes at a
change and the video timestamps have no hole. The API lists C once it joined and no
longer lists B (as live) once it left.
"""

import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import reeltest as rt  # noqa: E402

A = rt.participant("A", "#ff0000", 440)
B = rt.participant("B", "#00ff00", 660, leave_at_s=4)
C = rt.participant("C", "#0000ff", 880, join_at_s=2)
DURATION = 6.0


def colors(*ps):
    return [p["color"] for p in ps]


class JoinLeaveTest(rt.ReelTestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.d = rt.ReelDaemon(cls)
        body = rt.recording_body([A, B, C], [{"type": "file", "format": "mp4"}, {"type": "file", "format": "mkv"}],
                                 max_duration_s=int(DURATION))
        rec_id = cls.d.create(body)["id"]
        # Poll the participants list for the whole recording: (seconds since "recording", names)
        cls.samples = []
        t_rec = None
        deadline = time.monotonic() + DURATION + 40
        while time.monotonic() < deadline:
            rec = cls.d.get(rec_id)
            now = time.monotonic()
            if rec["state"] == "recording":
                if t_rec is None:
                    t_rec = now
                cls.samples.append((now - t_rec, rt.live_names(rec), rec))
            elif rec["state"] in rt.TERMINAL_STATES:
                break
            time.sleep(0.1)
        cls.rec = rec
        if rec["state"] != "finished":
            raise AssertionError("recording did not finish:\n%s\n%s" % (rt.pretty(rec), cls.d.log_tail()))
        cls.files = [cls.d.output_path(rt.output_by(rec, format=f)) for f in ("mp4", "mkv")]

    def _check_frame(self, t, expected):
        for path in self.files:
            frame = rt.frame_at(path, t)
            problems = rt.check_grid(frame, colors(*expected))
            if problems:
                shot = rt.save_ppm(frame, os.path.join(self.d.workdir, "frame-%.1f.ppm" % t))
                self.fail("%s at %.1fs, expected tiles %s (saved %s):\n%s"
                          % (path, t, [p["name"] for p in expected], shot, "\n".join(problems)))

    def test_two_tiles_before_join(self):
        self._check_frame(1.0, [A, B])

    def test_three_tiles_after_join(self):
        self._check_frame(3.0, [A, B, C])

    def test_two_tiles_after_leave(self):
        self._check_frame(5.0, [A, C])

    def test_no_freeze_at_changes(self):
        for path in self.files:
            for t0, t1 in ((1.7, 2.3), (3.7, 4.3)):
                frames = rt.frames_between(path, t0, t1)
                self.assertGreaterEqual(len(frames), 16, "%s: only %d frames in %.1f-%.1fs" % (path, len(frames), t0, t1))
                frozen = rt.frozen_frames(frames)
                self.assertEqual(frozen, [], "%s: frame i+1 equals frame i in %.1f-%.1fs for i in %s"
                                 % (path, t0, t1, frozen))

    def test_timestamps_continuous(self):
        for path in self.files:
            self.assertEqual(rt.timestamp_gaps(path), [], "%s: (pts, step) not 1/30 s" % path)
            self.assertAlmostEqual(rt.packet_duration(path), DURATION, delta=0.5, msg=path)
            self.assertAlmostEqual(rt.packet_duration(path, "a:0"), DURATION, delta=0.5, msg=path)

    def test_audio_follows_participants(self):
        for path in self.files:
            for start, present, absent in ((0.3, [440, 660], [880]),
                                           (2.5, [440, 660, 880], []),
                                           (4.6, [440, 880], [660])):
                samples = rt.decode_audio(path, start, 1.2)
                problems = rt.check_tones(samples, 16000, present, absent)
                self.assertEqual(problems, [], "%s at %.1f-%.1fs: %s" % (path, start, start + 1.2,
                                                                       rt.describe_tones(samples, 16000, [440, 660, 880])))

    def test_api_participants(self):
        s = self.samples
        self.assertTrue(s, "never saw the recording in state recording")
        self.assertGreater(s[-1][0], 4.5, "saw the recording in state recording only for %.1fs" % s[-1][0])

        def names_between(t0, t1):
            return [(round(t, 2), sorted(n)) for t, n, _ in s if t0 <= t <= t1]

        # Timing margins: "recording" as seen over HTTP may lead the media clock a little.
        early = names_between(0.0, 1.2)
        self.assertTrue(early, "no sample in the first second")
        for t, names in early:
            self.assertEqual(names, ["A", "B"], "at %.2fs: %s" % (t, early))
        mid = names_between(3.0, 3.6)
        self.assertTrue(mid, "no sample between 3.0 and 3.6 s")
        for t, names in mid:
            self.assertEqual(names, ["A", "B", "C"], "at %.2fs: %s" % (t, mid))
        late = names_between(5.2, DURATION - 0.3)
        self.assertTrue(late, "no sample between 5.2 and 5.7 s")
        for t, names in late:
            self.assertEqual(names, ["A", "C"], "at %.2fs: %s" % (t, late))

    def test_log_clean(self):
        self.d.assert_log_clean()


if __name__ == "__main__":
    rt.main()
