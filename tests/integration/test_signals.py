#!/usr/bin/python3
"""reeld and the process around it: crashes, clean shutdown, bad configuration.

- SIGKILL mid-recording: the MP4 (fragmented) and the MKV on disk still open in ffprobe,
  decode with ffmpeg without a fatal error, show the call and hold at least all but the
  last 2 s of what was recorded.
- SIGTERM mid-recording: reeld exits 0 within 30 s with both files finalized (duration =
  time recorded); after a restart the recording is still known, as finished.
- SIGTERM while idle: exit 0 quickly.
- Invalid configuration (unknown key, bad value, unreadable file): exit code 78, the
  problem named on stderr, no listening line.
"""

import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import reeltest as rt  # noqa: E402

PARTICIPANTS = [rt.participant("Alice", "#ff0000", 440), rt.participant("Bob", "#00ff00", 660),
                rt.participant("Carol", "#0000ff", 880)]
COLORS = [p["color"] for p in PARTICIPANTS]
OUTPUTS = [{"type": "file", "format": "mp4"}, {"type": "file", "format": "mkv"}]


class SignalsTest(rt.ReelTestCase):
    def _record(self, d, seconds):
        """Starts a recording, lets it run `seconds` past "recording" with bytes on disk;
        returns (recording object seen last, monotonic time it entered "recording")."""
        rec = d.create(rt.recording_body(PARTICIPANTS, OUTPUTS, max_duration_s=60))
        rec = d.wait_state(rec["id"], "recording", timeout=20)
        t_rec = time.monotonic()
        rt.wait_for(lambda: all((o.get("bytes") or 0) > 0 for o in d.get(rec["id"])["outputs"]), 10,
                    what="bytes written to every output")
        time.sleep(max(0.0, seconds - (time.monotonic() - t_rec)))
        return d.get(rec["id"]), t_rec

    def test_sigkill_leaves_playable_files(self):
        d = rt.ReelDaemon(self)
        rec, t_rec = self._record(d, 6.0)
        d.sigkill()
        elapsed = time.monotonic() - t_rec
        self.assertIsNotNone(d.wait_exit(10))
        mp4 = d.output_path(rt.output_by(rec, format="mp4"))
        mkv = d.output_path(rt.output_by(rec, format="mkv"))
        for path in (mp4, mkv):
            with self.subTest(file=os.path.basename(path)):
                self.assertTrue(os.path.isfile(path), "%s missing after SIGKILL; files: %s" % (path, d.recording_files()))
                info = rt.ffprobe(path)  # raises if ffprobe cannot open it
                self.assertEqual(rt.video_stream(info)["codec_name"], "h264", rt.probe_summary(info))
                self.assertEqual(rt.audio_stream(info)["codec_name"], "aac", rt.probe_summary(info))
                dur = rt.packet_duration(path)
                self.assertGreaterEqual(dur, elapsed - 2.0, "%s holds %.2fs of %.2fs recorded" % (path, dur, elapsed))
                self.assertLessEqual(dur, elapsed + 1.0, path)
                ok, err = rt.decodes_cleanly(path)
                self.assertTrue(ok, "ffmpeg could not decode %s:\n%s" % (path, err[-2000:]))
                self.assertEqual(rt.check_grid(rt.frame_at(path, dur / 2), COLORS), [], path)
                samples = rt.decode_audio(path, 0.5, max(1.0, dur - 2.5))
                self.assertEqual(rt.check_tones(samples, 16000, [440, 660, 880]), [], path)

    def test_sigterm_finalizes(self):
        d = rt.ReelDaemon(self)
        rec, t_rec = self._record(d, 5.0)
        d.sigterm()
        elapsed = time.monotonic() - t_rec
        code = d.wait_exit(30)
        self.assertIsNotNone(code, "reeld still runs 30 s after SIGTERM")
        self.assertEqual(code, 0, "exit code after SIGTERM\n%s" % d.log_tail())
        for fmt in ("mp4", "mkv"):
            path = d.output_path(rt.output_by(rec, format=fmt))
            with self.subTest(file=os.path.basename(path)):
                info = rt.ffprobe(path)
                self.assertEqual(rt.check_av_format(info), [], rt.probe_summary(info))
                fd = rt.format_duration(info)
                self.assertIsNotNone(fd, "%s not finalized (no duration): %s" % (path, rt.probe_summary(info)))
                self.assertAlmostEqual(fd, elapsed, delta=1.0, msg="%s: %s" % (path, rt.probe_summary(info)))
                self.assertAlmostEqual(rt.packet_duration(path), elapsed, delta=1.0, msg=path)
                ok, err = rt.decodes_cleanly(path)
                self.assertTrue(ok, err)
                self.assertEqual(err.strip(), "", "ffmpeg complained about a finalized file:\n%s" % err[-2000:])
                self.assertEqual(rt.timestamp_gaps(path), [], path)
        d.assert_log_clean()
        # The state survives: after a restart the recording is known and finished.
        d.start()
        after = d.get(rec["id"])
        self.assertEqual(after["state"], "finished", rt.pretty(after))
        for o in after["outputs"]:
            self.assertEqual(o.get("state"), "finished", rt.pretty(after))

    def test_sigterm_idle(self):
        d = rt.ReelDaemon(self)
        self.assertEqual(d.healthz(), 200)
        t0 = time.monotonic()
        d.sigterm()
        code = d.wait_exit(10)
        self.assertEqual(code, 0, d.log_tail())
        self.assertLess(time.monotonic() - t0, 5.0, "idle reeld took long to stop")

    def _bad_config(self, edit, must_mention):
        """Starts reeld on a config changed by edit(daemon) (which may rewrite or delete
        the file) and expects exit code 78 with every word of must_mention on stderr."""
        d = rt.ReelDaemon(self, start=False)
        edit(d)
        d.spawn()
        code = d.wait_exit(10)
        self.assertIsNotNone(code, "reeld kept running with an invalid config")
        log = d.log_text()
        self.assertEqual(code, rt.EXIT_CONFIG, "exit code for invalid config; stderr:\n%s" % log)
        self.assertIsNone(rt.LISTEN_RE.search(log), "reeld listened with an invalid config")
        for word in must_mention:
            self.assertIn(word, log, "stderr should name %r:\n%s" % (word, log))

    @staticmethod
    def _set(group, key, value):
        def edit(d):
            d.sections.setdefault(group, {})[key] = value
            d.write_config()
        return edit

    def test_unknown_key(self):
        self._bad_config(self._set("api", "frobnicate_level", "3"), ["frobnicate_level"])

    def test_unknown_key_in_media(self):
        self._bad_config(self._set("media", "widht", "1280"), ["widht"])  # a typo must not pass silently

    def test_bad_value(self):
        self._bad_config(self._set("api", "listen", "127.0.0.1:99999"), ["listen"])

    def test_not_a_key_file(self):
        self._bad_config(lambda d: d.write_config("this is not a key file\n[[[\n"), [])

    def test_missing_file(self):
        self._bad_config(lambda d: os.unlink(d.config_path), [])


if __name__ == "__main__":
    rt.main()
