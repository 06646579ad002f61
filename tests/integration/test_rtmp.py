#!/usr/bin/python3
"""Streaming to an RTMP server (nginx-rtmp on 127.0.0.1) next to an MP4.

1. The stream nginx recorded (FLV) is H.264 + AAC, 6 +- 1 s, with the participants'
   tiles and tones; the stream key never appears in the API or in reeld's log.
2. The RTMP server dies at ~3 s of an 8 s recording: the rtmp output turns "failed" with
   an error, the recording itself goes on and finishes, and the MP4 is complete (8 +- 0.5 s,
   no timestamp hole, no frozen frames when the server died).
3. The server comes back on the same port: the output retries and is "writing" again,
   and the new server receives the stream.
"""

import json
import os
import secrets
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import reeltest as rt  # noqa: E402

PARTICIPANTS = [rt.participant("Alice", "#ff0000", 440), rt.participant("Bob", "#0000ff", 880)]
COLORS = [p["color"] for p in PARTICIPANTS]


class RtmpTest(rt.ReelTestCase):
    def setUp(self):
        super().setUp()
        self.nginx = rt.NginxRtmp(self)
        self.d = rt.ReelDaemon(self)
        self.key = "sk_" + secrets.token_hex(12)

    def _start(self, seconds):
        body = rt.recording_body(PARTICIPANTS, [{"type": "rtmp", "url": self.nginx.url(self.key)},
                                                {"type": "file", "format": "mp4"}], max_duration_s=seconds)
        created = self.d.create(body)
        self._assert_no_key(created, "POST answer")
        rec = self.d.wait_state(created["id"], "recording", timeout=20)
        return created, rec

    def _assert_no_key(self, obj, what):
        text = json.dumps(obj)
        self.assertNotIn(self.key, text, "%s leaks the stream key: %s" % (what, text))

    def _rtmp_output(self, rec):
        return rt.output_by(rec, type="rtmp")

    def _wait_output(self, rec_id, states, timeout):
        return self.d.wait_output(rec_id, states, timeout, type="rtmp")

    def test_stream_reaches_server(self):
        created, rec = self._start(6)
        out = self._rtmp_output(created)
        self.assertEqual(out.get("id"), "out_0")
        url = out.get("url") or ""
        self.assertTrue(url.startswith("rtmp://127.0.0.1:%d/live" % self.nginx.port), url)
        self._wait_output(created["id"], ("writing",), 10)
        rec = self.d.wait_state(created["id"], "finished", timeout=40)
        self._assert_no_key(rec, "GET answer")
        _, listing, _ = self.d.api("GET", "/v1/recordings")
        self._assert_no_key(listing, "GET /v1/recordings")
        out = self._rtmp_output(rec)
        self.assertIn(out.get("state"), ("finished", "stopped"), rt.pretty(out))
        self.assertGreater(out.get("bytes") or 0, 100000, rt.pretty(out))

        flvs = self.nginx.wait_flv_settled()
        self.assertEqual(len(flvs), 1, "expected one published stream: %s" % flvs)
        self.assertIn(self.key, os.path.basename(flvs[0]), "nginx recorded under another stream name")
        flv = flvs[0]
        info = rt.ffprobe(flv)
        self.assertEqual(rt.video_stream(info)["codec_name"], "h264", rt.probe_summary(info))
        self.assertEqual(rt.video_stream(info).get("profile"), "High", rt.probe_summary(info))
        self.assertEqual(rt.audio_stream(info)["codec_name"], "aac", rt.probe_summary(info))
        self.assertEqual(str(rt.audio_stream(info).get("sample_rate")), "48000", rt.probe_summary(info))
        self.assertAlmostEqual(rt.packet_duration(flv), 6.0, delta=1.0, msg=rt.probe_summary(info))
        frame = rt.frame_at(flv, 3.0)
        self.assertEqual(rt.check_grid(frame, COLORS), [], flv)
        samples = rt.decode_audio(flv)
        self.assertEqual(rt.check_tones(samples, 16000, [440, 880], absent=[660]), [])

        mp4 = self.d.output_path(rt.output_by(rec, format="mp4"))
        self.assertAlmostEqual(rt.packet_duration(mp4), 6.0, delta=0.5)
        self.assertNotIn(self.key, self.d.log_text(), "reeld logged the stream key")
        self.d.assert_log_clean()

    def test_server_dies(self):
        created, rec = self._start(8)
        t_rec = time.monotonic()
        rec_id = created["id"]
        self._wait_output(rec_id, ("writing",), 10)
        time.sleep(max(0.0, 3.0 - (time.monotonic() - t_rec)))
        self.nginx.kill()
        t_kill = time.monotonic() - t_rec
        seen_failed, states = None, []
        while True:
            rec = self.d.get(rec_id)
            out = self._rtmp_output(rec)
            states.append((round(time.monotonic() - t_rec, 1), rec["state"], out.get("state")))
            if out.get("state") == "failed" and seen_failed is None:
                seen_failed = out
            if rec["state"] in rt.TERMINAL_STATES:
                break
            self.assertLess(time.monotonic() - t_rec, 8 + 40, "recording did not end: %s" % states[-5:])
            time.sleep(0.1)
        self.assertEqual(rec["state"], "finished", "the recording must outlive its RTMP server:\n%s\n%s"
                         % (rt.pretty(rec), self.d.log_tail()))
        self.assertIsNotNone(seen_failed, "rtmp output never reported failed; (t, recording, output) states: %s"
                             % states)
        self.assertTrue(seen_failed.get("error"), "failed output without error: %s" % rt.pretty(seen_failed))
        self._assert_no_key(seen_failed, "failed output")
        first_failed = next(t for t, _, o in states if o == "failed")
        self.assertLess(first_failed - t_kill, 12.0, "took %.1fs to notice the server was gone" % (first_failed - t_kill))
        self.assertIn(self._rtmp_output(rec).get("state"), ("failed", "stopped"), rt.pretty(rec))

        mp4_out = rt.output_by(rec, format="mp4")
        self.assertEqual(mp4_out.get("state"), "finished", rt.pretty(rec))
        mp4 = self.d.output_path(mp4_out)
        info = rt.ffprobe(mp4)
        self.assertAlmostEqual(rt.format_duration(info), 8.0, delta=0.5, msg=rt.probe_summary(info))
        self.assertAlmostEqual(rt.packet_duration(mp4), 8.0, delta=0.5)
        self.assertEqual(rt.timestamp_gaps(mp4), [], "MP4 timestamps broke when the RTMP server died")
        frames = rt.frames_between(mp4, max(0.0, t_kill - 0.7), t_kill + 1.3)
        self.assertEqual(rt.frozen_frames(frames), [], "MP4 froze when the RTMP server died (at ~%.1fs)" % t_kill)
        samples = rt.decode_audio(mp4, t_kill - 0.5, 2.0)
        self.assertEqual(rt.check_tones(samples, 16000, [440, 880]), [], "MP4 audio around the RTMP failure")
        self.assertNotIn(self.key, self.d.log_text(), "reeld logged the stream key")

    def test_server_comes_back(self):
        created, rec = self._start(60)
        rec_id = created["id"]
        self._wait_output(rec_id, ("writing",), 10)
        time.sleep(1.0)
        port = self.nginx.port
        self.nginx.kill()
        failed = self._wait_output(rec_id, ("failed",), 15)
        self.assertTrue(failed.get("error"), rt.pretty(failed))
        second = rt.NginxRtmp(self, port=port)
        back = self._wait_output(rec_id, ("writing",), 25)
        self.assertFalse(back.get("error"), "a writing output should have cleared its error: %s" % rt.pretty(back))
        time.sleep(3.0)
        self.d.stop_recording(rec_id)
        rec = self.d.wait_state(rec_id, "finished", timeout=40)
        flvs = second.wait_flv_settled()
        self.assertGreaterEqual(rt.packet_duration(flvs[-1]), 2.0, "the restarted server got too little: %s" % flvs)
        info = rt.ffprobe(flvs[-1])
        self.assertEqual(rt.video_stream(info)["codec_name"], "h264")
        self.assertEqual(rt.check_grid(rt.frame_at(flvs[-1], 1.0), COLORS), [])
        mp4 = self.d.output_path(rt.output_by(rec, format="mp4"))
        self.assertEqual(rt.timestamp_gaps(mp4), [], "MP4 timestamps broke across the RTMP reconnect")
        self.assertNotIn(self.key, self.d.log_text(), "reeld logged the stream key")


if __name__ == "__main__":
    rt.main()
