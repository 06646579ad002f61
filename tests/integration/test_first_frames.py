#!/usr/bin/python3
"""The first frames of a recording: one per period, from the very start.

Many short recordings of four synthetic participants, one after another in one reeld
(the tracks join while the pipeline starts and the compositor negotiates its output
again, which once gave a second frame stamped 0 and none at one period, in about one
recording in ten). Every MP4 must hold its frames 1/30 s apart from the first one.
"""

import reeltest as rt

PARTICIPANTS = [rt.participant("Alice", "#ff0000", 440), rt.participant("Bob", "#00ff00", 660),
                rt.participant("Carol", "#0000ff", 880), rt.participant("Dave", "#ffff00", 550)]
RECORDINGS = 16


class FirstFramesTest(rt.ReelTestCase):
    def test_regular_from_the_start(self):
        d = rt.ReelDaemon(self)
        irregular = {}
        for i in range(RECORDINGS):
            rec = d.create(rt.recording_body(PARTICIPANTS, [{"type": "file", "format": "mp4"}],
                                             max_duration_s=1))
            rec = d.wait_state(rec["id"], rt.TERMINAL_STATES, 40)
            self.assertEqual(rec["state"], "finished", rec)
            path = d.output_path(rt.output_by(rec, format="mp4"))
            gaps = rt.timestamp_gaps(path, t1=0.5)
            if gaps:
                irregular[rec["id"]] = gaps
        self.assertEqual(irregular, {}, "recordings whose first frames are not 1/30 s apart: (pts, step)")
        d.assert_log_clean()


if __name__ == "__main__":
    rt.main()
