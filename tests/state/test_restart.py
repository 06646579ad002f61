#!/usr/bin/python3
"""State across restarts of reeld (same config, recordings dir and state db).

- A schedule created, reeld stopped with SIGTERM and started again before the start
  time: the recording happens, on time, and plays.
- Occurrences due while reeld was down: one whose window is still open starts late and
  ends at its planned end; those whose window closed are recorded as missed (a one-shot,
  and the three of FREQ=SECONDLY;COUNT=3).
- SIGKILL during a recording: after the restart it is failed with error.code
  "interrupted", its files are listed as artifacts with their real sizes and play;
  GET /v1/recordings still lists the recordings from before.
"""

import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import statetest as st  # noqa: E402
rt = st.rt


class RestartTest(rt.ReelTestCase):
    def test_schedule_survives_sigterm(self):
        d = rt.ReelDaemon(self)
        start = time.time() + 5.0
        s = st.create_schedule(d, st.schedule_body(start, duration_s=3))
        self.assertEqual(d.stop(), 0, d.log_tail())
        self.assertLess(time.time(), start - 1.0, "the restart must come before the start time")
        d.start()
        again = st.get_schedule(d, s["id"])
        self.assertEqual(again["state"], "active", rt.pretty(again))
        self.assertAlmostEqual(st.unix(again["next_start_at"]), start, delta=0.01)
        rec = st.wait_schedule_recordings(d, s["id"], 1, timeout=20)[0]
        self.assertEqual(rec["state"], "finished", rt.pretty(rec))
        late = st.unix(rec["started_at"]) - start
        rt.note("after a restart: started %.3f s after start_at" % late)
        self.assertGreaterEqual(st.unix(rec["created_at"]), start - 0.05)
        self.assertLess(late, 1.0)
        st.check_playable(self, d, rec["artifacts"][0]["path"], 2.0, 4.0)
        d.assert_log_clean()

    def test_missed_and_late_after_downtime(self):
        d = rt.ReelDaemon(self)
        t0 = time.time()
        open_window = st.create_schedule(d, st.schedule_body(t0 + 2.5, duration_s=9))
        closed_window = st.create_schedule(d, st.schedule_body(t0 + 2.0, duration_s=2))
        several = st.create_schedule(d, st.schedule_body(t0 + 1.0, duration_s=1, rrule="FREQ=SECONDLY;COUNT=3"))
        self.assertEqual(d.stop(), 0, d.log_tail())
        time.sleep(max(0.0, t0 + 5.5 - time.time()))  # both were due; the second one's window is over
        d.start()
        t_back = time.time()
        late = st.wait_schedule_recordings(d, open_window["id"], 1, timeout=10, states=("recording",))[0]
        self.assertGreaterEqual(st.unix(late["created_at"]), t_back - 1.0)
        self.assertLessEqual(late["max_duration_s"], 7, rt.pretty(late))
        done = d.wait_state(late["id"], "finished", timeout=15)
        end_error = st.unix(done["ended_at"]) - (t0 + 2.5 + 9)
        rt.note("late start after downtime: created %.2f s after the restart, ended %.3f s after the "
                "window end" % (st.unix(late["created_at"]) - t_back, end_error))
        self.assertLess(abs(end_error), 1.0, rt.pretty(done))
        st.check_playable(self, d, done["artifacts"][0]["path"], 2.0, 7.5)
        occ = st.get_schedule(d, open_window["id"])["occurrences"]
        self.assertEqual([(o["state"], o["recording_id"]) for o in occ], [("started", late["id"])])
        missed = st.get_schedule(d, closed_window["id"])
        self.assertEqual(missed["state"], "completed", rt.pretty(missed))
        self.assertEqual([(o["state"], o["recording_id"]) for o in missed["occurrences"]], [("missed", None)])
        self.assertEqual(st.schedule_recordings(d, closed_window["id"]), [])
        three = st.get_schedule(d, several["id"])
        self.assertEqual(three["state"], "completed", rt.pretty(three))
        self.assertEqual([o["state"] for o in three["occurrences"]], ["missed"] * 3)
        self.assertEqual([st.unix(o["start_at"]) for o in three["occurrences"]],
                         [st.unix(several["start_at"]) + k for k in (2, 1, 0)])

    def test_sigkill_interrupted(self):
        d = rt.ReelDaemon(self)
        before = d.create(st.recording(max_duration_s=60))
        d.wait_state(before["id"], "recording", timeout=20)
        d.stop_recording(before["id"])
        d.wait_state(before["id"], "finished", timeout=20)
        rec = d.create(st.recording([{"type": "file", "format": "mp4"}, {"type": "file", "format": "mkv"}],
                                    max_duration_s=60))
        d.wait_state(rec["id"], "recording", timeout=20)
        rt.wait_for(lambda: all((o.get("bytes") or 0) > 0 for o in d.get(rec["id"])["outputs"]), 10,
                    what="bytes in every output")
        time.sleep(3.0)
        d.sigkill()
        self.assertIsNotNone(d.wait_exit(10))
        d.start()
        status, body, _ = d.api("GET", "/v1/recordings")
        self.assertEqual(status, 200)
        ids = [r["id"] for r in body["recordings"]]
        self.assertEqual(ids[:2], [rec["id"], before["id"]], "recordings from before the restart, newest first")
        self.assertEqual(body["recordings"][1]["state"], "finished")
        after = d.get(rec["id"])
        self.assertEqual(after["state"], "failed", rt.pretty(after))
        self.assertEqual(after["error"]["code"], "interrupted", rt.pretty(after))
        self.assertIsNotNone(after["ended_at"])
        self.assertEqual(len(after["artifacts"]), 2, rt.pretty(after))
        for art in after["artifacts"]:
            path = d.output_path(art)
            self.assertEqual(art["bytes"], os.path.getsize(path))
            dur = st.check_playable(self, d, path, 1.5, 6.0)
            rt.note("interrupted %s: %.2f s playable, listed duration %.2f s"
                    % (os.path.basename(path), dur, art["duration_s"]))
            self.assertAlmostEqual(art["duration_s"], dur, delta=1.5)
        for out in after["outputs"]:
            self.assertEqual(out["state"], "failed", rt.pretty(after))
            self.assertEqual(out["error"]["code"], "interrupted")
        status, _, _ = d.api("POST", "/v1/recordings/%s/stop" % rec["id"])
        self.assertEqual(status, 409)
        d.assert_log_clean()


if __name__ == "__main__":
    rt.main()
