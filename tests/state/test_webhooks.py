#!/usr/bin/python3
"""Webhooks to a real HTTP receiver started by the test (http.server on 127.0.0.1).

- recording.started, output.failed (an RTMP output added to a port nobody listens on),
  recording.finished with its artifacts, and recording.failed (every output failed)
  each arrive exactly once, with a valid Reel-Signature (HMAC-SHA256 over "t." + body,
  checked here) and the Reel-Delivery / Reel-Event headers.
- With the receiver down, events wait and arrive once it is back: while reeld runs,
  and across a reeld restart (SIGTERM, start again, receiver back later).
"""

import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import statetest as st  # noqa: E402
rt = st.rt


def webhook_config(receiver):
    return {"webhooks": {"url": receiver.url, "secret": st.SECRET, "retry_initial_ms": 200,
                         "retry_max_ms": 1000, "timeout_s": 5},
            "rtmp": {"retry_initial_ms": 300, "retry_max_ms": 300, "max_retries": 1},
            # bounds a stop that does not finish (see the media graph), so a slow finalize
            # cannot hide what these tests check: the events
            "media": {"stop_timeout_s": 8}}


def of(entries, name, rec_id):
    return [e for e in entries if e["event"] == name and e["json"]["recording"]["id"] == rec_id]


class WebhooksTest(rt.ReelTestCase):
    def test_every_event_once_and_signed(self):
        hooks = st.WebhookReceiver(self)
        d = rt.ReelDaemon(self, config=webhook_config(hooks))
        dead_rtmp = "rtmp://127.0.0.1:%d/live/key" % rt.free_port()
        a = d.create(st.recording(max_duration_s=60))
        d.wait_state(a["id"], "recording", timeout=20)
        d.wait_output(a["id"], "writing", timeout=10, type="file")
        # a stream added mid-call that cannot connect: output.failed, the file goes on
        status, _, raw = d.api("PATCH", "/v1/recordings/%s" % a["id"],
                               {"outputs": {"add": [{"type": "rtmp", "url": dead_rtmp}]}})
        self.assertEqual(status, 200, raw)
        d.wait_output(a["id"], "failed", timeout=15, type="rtmp")
        time.sleep(1.5)
        d.stop_recording(a["id"])
        a_done = d.wait_state(a["id"], "finished", timeout=20)
        b = d.create(st.recording([{"type": "rtmp", "url": dead_rtmp}], max_duration_s=60))
        b_done = d.wait_state(b["id"], "failed", timeout=20)
        self.assertEqual(b_done["error"]["code"], "all_outputs_failed", rt.pretty(b_done))

        hooks.wait(lambda es: of(es, "recording.started", a["id"]) and of(es, "recording.finished", a["id"])
                   and of(es, "output.failed", a["id"]) and of(es, "recording.failed", b["id"]),
                   timeout=15, what="every event of both recordings")
        time.sleep(1.0)  # anything sent twice would show up now
        hooks.assert_once_and_signed(self)
        entries = hooks.events()
        self.assertEqual(len(of(entries, "recording.started", a["id"])), 1)
        self.assertEqual(len(of(entries, "recording.finished", a["id"])), 1)
        self.assertEqual(len(of(entries, "recording.failed", b["id"])), 1)
        names = [e["event"] for e in entries if e["json"]["recording"]["id"] == a["id"]]
        self.assertLess(names.index("recording.started"), names.index("recording.finished"), names)

        finished = of(entries, "recording.finished", a["id"])[0]["json"]
        self.assertEqual(finished["recording"]["state"], "finished")
        self.assertEqual(finished["recording"]["artifacts"], a_done["artifacts"])
        art = finished["recording"]["artifacts"][0]
        self.assertEqual(art["bytes"], os.path.getsize(d.output_path(art)))
        self.assertGreater(art["duration_s"], 1.0)
        rtmp_id = rt.output_by(a_done, type="rtmp")["id"]
        self.assertEqual({e["json"]["output_id"] for e in of(entries, "output.failed", a["id"])}, {rtmp_id})
        self.assertNotIn("/live/key", str([e["raw"] for e in entries]), "a stream key was sent")
        failed = of(entries, "recording.failed", b["id"])[0]["json"]
        self.assertEqual(failed["recording"]["error"]["code"], "all_outputs_failed")
        self.assertLess(abs(st.unix(failed["sent_at"]) - time.time()), 60)
        d.assert_log_clean()

    def test_receiver_down_then_back_across_restart(self):
        hooks = st.WebhookReceiver(self, start=False)
        d = rt.ReelDaemon(self, config=webhook_config(hooks))
        rec = d.create(st.recording(max_duration_s=60))
        d.wait_state(rec["id"], "recording", timeout=20)
        time.sleep(1.5)  # recording.started is refused a few times
        self.assertEqual(hooks.events(), [])
        hooks.start()
        hooks.wait(lambda es: of(es, "recording.started", rec["id"]), timeout=5, what="recording.started")
        t_back = time.time()
        hooks.stop()

        d.stop_recording(rec["id"])
        done = d.wait_state(rec["id"], "finished", timeout=20)
        time.sleep(0.5)  # recording.finished is refused
        self.assertEqual(d.stop(), 0, d.log_tail())
        d.start()
        time.sleep(1.0)  # still down after the restart
        self.assertEqual(of(hooks.events(), "recording.finished", rec["id"]), [])
        hooks.start()
        t_up = time.time()
        got = hooks.wait(lambda es: of(es, "recording.finished", rec["id"]), timeout=8,
                         what="recording.finished after the restart")
        rt.note("recording.finished arrived %.2f s after the receiver came back (across a restart)"
                % (got[0]["at"] - t_up))
        time.sleep(1.0)
        hooks.assert_once_and_signed(self)
        self.assertEqual(len(of(hooks.events(), "recording.started", rec["id"])), 1)
        self.assertLess(of(hooks.events(), "recording.started", rec["id"])[0]["at"], t_back + 0.1)
        self.assertEqual(got[0]["json"]["recording"]["artifacts"], done["artifacts"])
        d.assert_log_clean()


if __name__ == "__main__":
    rt.main()
