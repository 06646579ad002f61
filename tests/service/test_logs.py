#!/usr/bin/python3
"""GStreamer's warnings in reeld's log:

- An RTMP output to a closed port: GStreamer's own connect failure appears in reeld's
  log (domain GStreamer, naming the element), next to reel's "output out_1 failed".
- The stream key of the RTMP URL never appears, whoever logs.
- The categories that warn in normal operation stay out (video-scaler taps, aggregator
  latency queries, gst_parse probes), so the log is readable.
- GST_DEBUG set: the developer's thresholds rule and GStreamer's own printer is back.
"""

import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "integration"))
import reeltest as rt  # noqa: E402

KEY = "streamkey-s3cr3t"
NOISE = ("can't find exact taps", "Latency query failed", "no element \"audio\"")


class LogsTest(rt.ReelTestCase):
    def record_with_failing_rtmp(self, d):
        url = "rtmp://127.0.0.1:%d/live/%s" % (rt.free_port(), KEY)
        body = rt.recording_body([rt.participant("Alice", "#ff0000", 440)],
                                 [{"type": "file", "format": "mkv"}, {"type": "rtmp", "url": url}],
                                 max_duration_s=60)
        rec = d.create(body)
        d.wait_state(rec["id"], "recording", timeout=20)
        rt.wait_for(lambda: (d.get(rec["id"])["outputs"][1].get("retries") or 0) >= 1, 15, what="a retry")
        d.stop_recording(rec["id"])
        d.wait_state(rec["id"], "finished", timeout=30)
        self.assertEqual(d.stop(), 0)
        return d.log_text()

    def test_gstreamer_warnings_routed(self):
        d = rt.ReelDaemon(self, config={"rtmp": {"retry_initial_ms": 200}})
        log = self.record_with_failing_rtmp(d)
        gst = [l for l in log.splitlines() if "GStreamer-WARNING" in l]
        self.assertTrue(any("<sink>" in l and "Connection refused" in l for l in gst), "\n".join(gst))
        self.assertNotIn(KEY, log)
        for noise in NOISE:
            self.assertNotIn(noise, log)
        d.assert_log_clean()

    def test_gst_debug_overrides(self):
        d = rt.ReelDaemon(self, env={"GST_DEBUG": "aggregator:2,rtmp2sink:2", "GST_DEBUG_NO_COLOR": "1"})
        log = self.record_with_failing_rtmp(d)
        self.assertIn("Latency query failed", log)
        self.assertRegex(log, r"WARN +rtmp2sink gstrtmp2sink\.c:\d+:send_connect_error:<sink>")


if __name__ == "__main__":
    rt.main()
