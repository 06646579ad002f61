#!/usr/bin/python3
"""reel as an installed service, checked offline (no systemd as PID 1 needed):

- `meson install --destdir` puts reeld, reelctl (bin), reel.conf (etc/reel), the pipeline templates
  (share/reel/pipelines), the unit (lib/systemd/system), sysusers.d and tmpfiles.d
  entries under the build's prefix; the unit's ExecStart and --config name that prefix.
- `systemd-analyze verify` accepts the installed unit (ExecStart pointed at the
  destdir's reeld so the binary check sees a real file).
- The unit carries what the service contract needs: Type=notify, WatchdogSec,
  ExecReload, RestartPreventExitStatus=78, a TimeoutStopSec above the finalize timeout,
  the dedicated user and its directories; `systemd-analyze security --offline` rates it
  at most 2.0 ("OK").
- As root: systemd-sysusers creates the reel user and systemd-tmpfiles the config
  directories inside a scratch root.
"""

import json
import os
import re
import shutil
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "integration"))
import reeltest as rt  # noqa: E402

BUILD_ROOT = os.environ.get("REEL_BUILD_ROOT") or os.path.join(rt.SOURCE_ROOT, "build")


def pipeline_templates():
    """The templates of the source tree (tracked by git when it is a checkout: a file
    someone is still writing is not a shipped template yet)."""
    p = subprocess.run(["git", "-C", rt.SOURCE_ROOT, "ls-files", "pipelines"], capture_output=True, text=True)
    names = p.stdout.split() if p.returncode == 0 and p.stdout.strip() else \
        os.listdir(os.path.join(rt.SOURCE_ROOT, "pipelines"))
    return sorted(os.path.basename(n) for n in names if n.endswith(".pipeline"))


def build_option(name):
    out = subprocess.run(["meson", "introspect", "--buildoptions", BUILD_ROOT], check=True,
                         capture_output=True, text=True).stdout
    return next(o["value"] for o in json.loads(out) if o["name"] == name)


def unit_settings(text):
    settings = {}
    for line in text.splitlines():
        m = re.match(r"^([A-Za-z]+)=(.*)$", line)
        if m:
            settings.setdefault(m.group(1), []).append(m.group(2))
    return settings


@unittest.skipUnless(shutil.which("systemd-analyze"), "systemd-analyze not installed")
class SystemdUnitsTest(rt.ReelTestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.destdir = rt.make_tempdir(cls, "reel-install-")
        subprocess.run(["meson", "install", "-C", BUILD_ROOT, "--no-rebuild", "--quiet",
                        "--destdir", cls.destdir], check=True, capture_output=True)
        cls.prefix = build_option("prefix")
        cls.root = cls.destdir + cls.prefix
        cls.unit_path = os.path.join(cls.root, "lib", "systemd", "system", "reel.service")
        with open(cls.unit_path) as f:
            cls.unit = f.read()
        cls.settings = unit_settings(cls.unit)
        cls._class_ready = True

    def installed(self, *parts):
        path = os.path.join(self.root, *parts)
        self.assertTrue(os.path.isfile(path), "not installed: %s" % path)
        return path

    def test_install_layout(self):
        self.assertTrue(os.access(self.installed(build_option("sbindir"), "reeld"), os.X_OK))
        self.assertTrue(os.access(self.installed(build_option("bindir"), "reelctl"), os.X_OK))
        self.installed(build_option("sysconfdir"), "reel", "reel.conf")
        for p in pipeline_templates():
            self.installed(build_option("datadir"), "reel", "pipelines", p)
        self.installed("lib", "sysusers.d", "reel.conf")
        self.installed("lib", "tmpfiles.d", "reel.conf")
        exec_start = self.settings["ExecStart"][0].split()
        self.assertEqual(exec_start[0], os.path.join(self.prefix, build_option("sbindir"), "reeld"))
        self.assertEqual(exec_start[1:], ["--config", os.path.join(self.prefix, build_option("sysconfdir"),
                                                                   "reel", "reel.conf")])

    def local_unit(self):
        """The installed unit with ExecStart at the destdir's reeld (verify checks it exists)."""
        d = rt.make_tempdir(self, "reel-unit-")
        path = os.path.join(d, "reel.service")
        real = self.settings["ExecStart"][0].split()[0]
        with open(path, "w") as f:
            f.write(self.unit.replace("ExecStart=" + real, "ExecStart=" + self.destdir + real))
        return path

    def test_systemd_analyze_verify(self):
        p = subprocess.run(["systemd-analyze", "verify", "--man=no", self.local_unit()],
                           capture_output=True, text=True)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(p.stderr.strip(), "", "verify warnings")

    def test_service_contract(self):
        s = self.settings
        self.assertEqual(s["Type"], ["notify"])
        self.assertTrue(s.get("WatchdogSec"))
        self.assertIn("-HUP", s["ExecReload"][0])
        self.assertEqual(s["RestartPreventExitStatus"], ["78"])
        stop = int(re.match(r"(\d+)s?$", s["TimeoutStopSec"][0]).group(1))
        self.assertGreater(stop, 30 + 3, "above [media] stop_timeout_s + the webhook flush")
        self.assertEqual(s["User"], ["reel"])
        self.assertEqual(s["StateDirectory"], ["reel"])
        self.assertEqual(s["LogsDirectory"], ["reel"])
        for key in ("NoNewPrivileges", "ProtectHome", "PrivateTmp", "MemoryDenyWriteExecute"):
            self.assertEqual(s[key], ["yes"], key)
        self.assertEqual(s["ProtectSystem"], ["strict"])
        self.assertEqual(s["ProcSubset"], ["pid"])
        self.assertIn("@system-service", s["SystemCallFilter"])

    def test_security_exposure(self):
        p = subprocess.run(["systemd-analyze", "security", "--offline=yes", "--threshold=20",
                            "--no-pager", self.local_unit()], capture_output=True, text=True)
        m = re.search(r"Overall exposure level for reel.service: ([\d.]+)", p.stdout)
        self.assertIsNotNone(m, p.stdout + p.stderr)
        self.assertLessEqual(float(m.group(1)), 2.0, p.stdout)
        self.assertEqual(p.returncode, 0, p.stderr)

    @unittest.skipUnless(os.geteuid() == 0, "creating users in a scratch root needs root")
    def test_sysusers_and_tmpfiles(self):
        scratch = rt.make_tempdir(self, "reel-root-")
        os.makedirs(os.path.join(scratch, "etc"))
        subprocess.run(["systemd-sysusers", "--root=" + scratch,
                        self.installed("lib", "sysusers.d", "reel.conf")], check=True, capture_output=True)
        with open(os.path.join(scratch, "etc", "passwd")) as f:
            user = [l for l in f if l.startswith("reel:")]
        self.assertEqual(len(user), 1)
        self.assertEqual(user[0].split(":")[5], "/var/lib/reel")
        subprocess.run(["systemd-tmpfiles", "--root=" + scratch, "--create",
                        self.installed("lib", "tmpfiles.d", "reel.conf")], check=True, capture_output=True)
        self.assertTrue(os.path.isdir(os.path.join(scratch, "etc", "reel", "reel.conf.d")))


if __name__ == "__main__":
    rt.main()
