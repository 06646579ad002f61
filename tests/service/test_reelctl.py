#!/usr/bin/python3
"""reelctl against a real reeld (127.0.0.1):

- record (synthetic participants, two file outputs) → list → show → stop → stopped
  again (exit 6); every command's --json output is the API's JSON; tables by default.
- URL and token from flags, from REEL_URL/REEL_API_TOKEN, and from a reel.conf
  ([api] listen and token) given with --config or REEL_CONFIG; flags win.
- schedule → schedules → unschedule.
- Exit codes: 2 usage, 3 unreachable, 4 bad token, 5 unknown id, 6 wrong state,
  7 refused request (the API's message on stderr); the token never appears in output.
"""

import json
import os
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "integration"))
import reeltest as rt  # noqa: E402


def reelctl_path():
    path = os.environ.get("REELCTL") or os.path.join(rt.SOURCE_ROOT, "build", "src", "reelctl", "reelctl")
    if not os.access(path, os.X_OK):
        raise RuntimeError("reelctl not found: set REELCTL (meson test does)")
    return path


class ReelctlTest(rt.ReelTestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.d = rt.ReelDaemon(cls)
        cls.url = "http://127.0.0.1:%d" % cls.d.port
        cls._class_ready = True

    def ctl(self, *args, env=None, expect=0, url=True, token=True):
        """Runs reelctl; returns (stdout, stderr). url/token: pass them as flags."""
        e = {k: v for k, v in os.environ.items() if k not in ("REEL_URL", "REEL_API_TOKEN", "REEL_CONFIG")}
        e.update(env or {})
        cmd = [reelctl_path()]
        if url:
            cmd += ["--url", self.url]
        if token:
            cmd += ["--token", self.d.token]
        p = subprocess.run(cmd + list(args), capture_output=True, text=True, env=e, timeout=60)
        self.assertEqual(p.returncode, expect, "reelctl %s: rc %d\n%s%s" % (" ".join(args), p.returncode,
                                                                               p.stdout, p.stderr))
        if token and self.d.token:
            self.assertNotIn(self.d.token, p.stdout + p.stderr)
        return p.stdout, p.stderr

    def ctl_json(self, *args, **kw):
        out, _ = self.ctl("--json", *args, **kw)
        return json.loads(out)

    def test_record_list_show_stop(self):
        rec = self.ctl_json("record", "-p", "Alice:#ff0000:440", "-p", "Bob:#00ff00:660:1",
                            "-o", "mp4", "-o", "mkv", "--max-duration", "30")
        self.assertTrue(rec["id"].startswith("rec_"))
        self.assertEqual([o["format"] for o in rec["outputs"]], ["mp4", "mkv"])
        self.d.wait_state(rec["id"], "recording", timeout=20)
        rt.wait_for(lambda: (self.d.get(rec["id"])["outputs"][1].get("bytes") or 0) > 0, 30, what="bytes")
        listed = self.ctl_json("list")["recordings"]
        self.assertIn(rec["id"], [r["id"] for r in listed])
        table, _ = self.ctl("list")
        header, *rows = table.splitlines()
        self.assertEqual(header.split(), ["ID", "STATE", "CREATED", "PARTICIPANTS", "OUTPUTS"])
        row = next(r for r in rows if r.startswith(rec["id"]))
        self.assertEqual(row.split()[1], "recording")
        shown, _ = self.ctl("show", rec["id"])
        self.assertIn("state         recording", shown)
        self.assertIn("participant   Alice", shown)
        self.assertEqual(self.ctl_json("show", rec["id"])["id"], rec["id"])
        stopped = self.ctl_json("stop", rec["id"])
        self.assertIn(stopped["state"], ("stopping", "finished"))
        done = self.d.wait_state(rec["id"], "finished", timeout=30)
        _, err = self.ctl("stop", rec["id"], expect=6)
        self.assertIn("409 wrong_state", err)
        # both files play: both streams, decode without an error
        for out in done["outputs"]:
            path = self.d.output_path(out)
            ok, decode_err = rt.decodes_cleanly(path)
            self.assertTrue(ok, "%s: %s" % (path, decode_err))
            info = rt.ffprobe(path)
            rt.video_stream(info)
            rt.audio_stream(info)

    def test_where_from_environment_and_config(self):
        env = {"REEL_URL": self.url, "REEL_API_TOKEN": self.d.token}
        self.assertIn("recordings", self.ctl_json("list", env=env, url=False, token=False))
        conf = os.path.join(rt.make_tempdir(self), "reel.conf")
        with open(conf, "w") as f:
            f.write(rt.config_text({"api": {"listen": "127.0.0.1:%d" % self.d.port, "token": self.d.token}}))
        self.assertIn("recordings", self.ctl_json("--config", conf, "list", url=False, token=False))
        self.assertIn("recordings", self.ctl_json("list", env={"REEL_CONFIG": conf}, url=False, token=False))
        # A flag wins over the environment.
        self.ctl("list", env={"REEL_API_TOKEN": "wrong"}, expect=0)
        self.ctl("list", env={"REEL_API_TOKEN": "wrong"}, token=False, expect=4)

    def test_schedules(self):
        s = self.ctl_json("schedule", "--start-at", "2030-01-01T10:00:00Z", "--duration", "60",
                          "--rrule", "FREQ=WEEKLY;BYDAY=MO", "--timezone", "Europe/Paris",
                          "-p", "Alice:#ff0000:440")
        self.assertTrue(s["id"].startswith("sch_"))
        table, _ = self.ctl("schedules")
        self.assertIn(s["id"], table)
        self.assertEqual(table.splitlines()[0].split(), ["ID", "STATE", "START", "DURATION", "RRULE", "NEXT"])
        out, _ = self.ctl("unschedule", s["id"])
        self.assertIn("deleted " + s["id"], out)
        self.ctl("unschedule", s["id"], expect=5)
        _, err = self.ctl("schedule", "--duration", "60", "-p", "A:#ff0000:440", expect=2)
        self.assertIn("--start-at", err)

    def test_exit_codes(self):
        self.ctl(expect=2)
        self.ctl("frobnicate", expect=2)
        self.ctl("show", expect=2)
        self.ctl("record", "-p", "A:#ff0000", expect=2)
        _, err = self.ctl("record", "-p", "A:#ff0000:440", "-o", "file:avi", expect=7)
        self.assertIn("outputs[0].format", err)
        _, err = self.ctl("show", "rec_nope", expect=5)
        self.assertIn("404 not_found", err)
        _, err = self.ctl("--token", "not-the-token", "list", token=False, expect=4)
        self.assertIn("401", err)
        _, err = self.ctl("--url", "http://127.0.0.1:%d" % rt.free_port(), "list", url=False, expect=3)
        self.assertIn("cannot reach reeld", err)
        out, _ = self.ctl("--version", url=False, token=False)
        self.assertTrue(out.startswith("reelctl "))


if __name__ == "__main__":
    rt.main()
