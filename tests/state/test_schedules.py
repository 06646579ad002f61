#!/usr/bin/python3
"""Schedules on a running reeld.

- A one-shot schedule 2 s ahead starts and stops on time (within 1 s each) and leaves a
  playable file of its duration; the schedule then shows the occurrence and is completed.
- FREQ=SECONDLY;INTERVAL=5;COUNT=2 makes two recordings 5 s apart, both playable.
- Deleting a schedule does not stop the recording it started: it ends at its planned end.
- Bad bodies get 400 naming the field; unknown ids 404; DELETE then 404.
"""

import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import statetest as st  # noqa: E402
rt = st.rt


class SchedulesTest(rt.ReelTestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.d = rt.ReelDaemon(cls, config={"limits": {"max_duration_s": 600}})

    def test_one_shot_on_time(self):
        d = self.d
        start = time.time() + 2.0
        s = st.create_schedule(d, st.schedule_body(start, duration_s=3))
        self.assertEqual(s["state"], "active")
        self.assertAlmostEqual(st.unix(s["next_start_at"]), start, delta=0.01)
        self.assertAlmostEqual(st.unix(s["stop_at"]), start + 3, delta=0.01)
        rec = st.wait_schedule_recordings(d, s["id"], 1, timeout=15)[0]
        self.assertEqual(rec["state"], "finished", rt.pretty(rec))
        late_start = st.unix(rec["started_at"]) - start
        late_end = st.unix(rec["ended_at"]) - (start + 3)
        rt.note("one-shot: recording started %.3f s after start_at, ended %.3f s after stop_at"
                % (late_start, late_end))
        self.assertGreaterEqual(st.unix(rec["created_at"]), start - 0.05, "started early")
        self.assertLess(late_start, 1.0, rt.pretty(rec))
        self.assertGreater(late_end, -0.5, rt.pretty(rec))
        self.assertLess(late_end, 1.0, rt.pretty(rec))
        self.assertEqual(len(rec["artifacts"]), 1, rt.pretty(rec))
        art = rec["artifacts"][0]
        self.assertEqual(art["path"], rt.output_by(rec, format="mp4")["path"])
        self.assertEqual(art["bytes"], os.path.getsize(d.output_path(art)))
        self.assertAlmostEqual(art["duration_s"], 3.0, delta=1.0)
        dur = st.check_playable(self, d, art["path"], 2.0, 4.0)
        rt.note("one-shot: the file holds %.2f s of video for duration_s 3" % dur)
        after = st.get_schedule(d, s["id"])
        self.assertEqual(after["state"], "completed", rt.pretty(after))
        self.assertIsNone(after["next_start_at"])
        self.assertEqual([(o["state"], o["recording_id"]) for o in after["occurrences"]],
                         [("started", rec["id"])])
        d.assert_log_clean()

    def test_recurring_secondly(self):
        d = self.d
        start = time.time() + 1.5
        s = st.create_schedule(d, st.schedule_body(start, duration_s=2, rrule="FREQ=SECONDLY;INTERVAL=5;COUNT=2"))
        recs = st.wait_schedule_recordings(d, s["id"], 2, timeout=20)
        self.assertEqual(len(recs), 2, rt.pretty(recs))
        for i, rec in enumerate(recs):
            self.assertEqual(rec["state"], "finished", rt.pretty(rec))
            late = st.unix(rec["started_at"]) - (start + 5 * i)
            rt.note("recurring: occurrence %d started %.3f s after its time" % (i, late))
            self.assertLess(late, 1.0)
            self.assertGreaterEqual(st.unix(rec["created_at"]), start + 5 * i - 0.05)
            st.check_playable(self, d, rec["artifacts"][0]["path"], 1.0, 3.0)
        after = st.get_schedule(d, s["id"])
        self.assertEqual(after["state"], "completed")
        self.assertEqual([o["state"] for o in after["occurrences"]], ["started", "started"])
        self.assertEqual({o["recording_id"] for o in after["occurrences"]}, {r["id"] for r in recs})

    def test_delete_keeps_running_recording(self):
        d = self.d
        start = time.time() + 1.0
        s = st.create_schedule(d, st.schedule_body(start, duration_s=5))
        rec = st.wait_schedule_recordings(d, s["id"], 1, timeout=10, states=("recording",))[0]
        status, _, raw = d.api("DELETE", "/v1/schedules/%s" % s["id"])
        self.assertEqual(status, 204, raw)
        status, body, _ = d.api("GET", "/v1/schedules/%s" % s["id"])
        self.assertEqual(status, 404)
        self.assertEqual(body["error"]["code"], "not_found")
        time.sleep(1.0)
        self.assertEqual(d.get(rec["id"])["state"], "recording", "deleting the schedule stopped its recording")
        done = d.wait_state(rec["id"], "finished", timeout=15)
        self.assertAlmostEqual(st.unix(done["ended_at"]), start + 5, delta=1.0)
        self.assertEqual(done["schedule_id"], s["id"])
        status, _, _ = d.api("DELETE", "/v1/schedules/%s" % s["id"])
        self.assertEqual(status, 404)

    def _bad(self, body, field, code=400):
        status, obj, raw = self.d.api("POST", "/v1/schedules", body)
        self.assertEqual(status, code, raw)
        self.assertTrue(obj["error"]["message"].startswith(field + ": "), obj)
        return obj["error"]["message"]

    def test_validation(self):
        now = time.time()
        self._bad(st.schedule_body(now - 60, duration_s=60), "start_at")
        self._bad(st.schedule_body("2026-12-01T09:00:00", duration_s=60), "start_at")
        self._bad(st.schedule_body(now + 60, duration_s=0), "duration_s")
        self._bad(st.schedule_body(now + 60, duration_s=-1), "duration_s")
        m = self._bad(st.schedule_body(now + 60, duration_s=601), "duration_s")
        self.assertIn("600", m)
        self._bad(st.schedule_body(now + 60, duration_s=5, rrule="FREQ=SECONDLY"), "rrule")
        self._bad(st.schedule_body(now + 60, duration_s=5, rrule="not a rule"), "rrule")
        self._bad(st.schedule_body(now + 60, duration_s=5, rrule="FREQ=MINUTELY;BYMONTH=2;BYMONTHDAY=30"), "rrule")
        self._bad(st.schedule_body(now + 60, duration_s=5, rrule="FREQ=DAILY", timezone="Mars/Base"), "timezone")
        rec = st.recording()
        rec["room"]["participants"][0]["tone_hz"] = 5
        self._bad(st.schedule_body(now + 60, duration_s=5, rec=rec), "recording.room.participants[0].tone_hz")
        status, obj, _ = self.d.api("GET", "/v1/schedules/sch_nope")
        self.assertEqual(status, 404)
        status, obj, _ = self.d.api("PUT", "/v1/schedules")
        self.assertEqual(status, 405)
        status, obj, _ = self.d.api("GET", "/v1/schedules", token=None)
        self.assertEqual(status, 401)
        status, obj, _ = self.d.api("GET", "/v1/schedules")
        self.assertEqual(status, 200)
        self.assertIsInstance(obj["schedules"], list)
        self.d.assert_log_clean()


if __name__ == "__main__":
    rt.main()
