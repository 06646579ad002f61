#!/usr/bin/python3
"""The hardening of reel.service measured against the real media graph, without systemd:
reeld runs under the same seccomp allow-list (SystemCallFilter=@system-service
~@privileged @resources, SystemCallErrorNumber=EPERM), the same RestrictAddressFamilies=
and NoNewPrivileges=, records a synthetic call to MKV for 3 s, stops, and the file must
be finished, decode cleanly and last the time recorded.

MemoryDenyWriteExecute= (the kernel's PR_SET_MDWE, when the kernel has it) is applied
too: liborc (GStreamer's run-time compiled SIMD kernels) must then map its code through a
file twice (rw + r-x, an "orcexec" file under $HOME or /tmp) instead of W+X memory; the
test checks that it does, so the graph keeps its fast paths under the unit.

As root, FilesystemSandboxTest repeats the recording with all of that inside a private
mount namespace shaped like the unit's ProtectSystem=strict, PrivateTmp, ProtectHome,
PrivateDevices, ProtectProc=invisible and ProcSubset=pid (fs-sandbox.sh), HOME in the writable state directory.
"""

import os
import shutil
import subprocess
import sys
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))
sys.path.insert(0, HERE)
import reeltest as rt  # noqa: E402
import sandbox  # noqa: E402

UNIT_FILTER = dict(allow=("@system-service",), deny=("@privileged", "@resources"))
UNIT_FAMILIES = ("AF_UNIX", "AF_INET", "AF_INET6", "AF_NETLINK")
# MKV only: MP4 files from a 3 s recording are intermittently unreadable ("Buffer has
# no PTS" at mp4mux, "Invalid mdhd time scale 0") with or without any sandbox (about 1
# run in 5 on a loaded machine; a media-graph start-up race, reported). The muxer adds
# no system call, path or device the sandbox could refuse, so MKV measures the same.
OUTPUTS = [{"type": "file", "format": "mkv"}]
PARTICIPANTS = [rt.participant("Alice", "#ff0000", 440), rt.participant("Bob", "#00ff00", 660)]


class SandboxedDaemon(rt.ReelDaemon):
    """ReelDaemon whose reeld starts with a preexec_fn (the sandbox)."""

    def __init__(self, tc, preexec_fn, **kw):
        self._preexec = preexec_fn
        super().__init__(tc, **kw)

    def spawn(self):
        real = subprocess.Popen

        def popen(*args, **kwargs):
            kwargs["preexec_fn"] = self._preexec
            return real(*args, **kwargs)
        rt.subprocess.Popen = popen
        try:
            return super().spawn()
        finally:
            rt.subprocess.Popen = real


class HardeningTest(rt.ReelTestCase):
    def record(self, d, seconds=3.0):
        """Records `seconds`, stops; returns the finished recording (self.maps: reeld's
        memory map while it recorded)."""
        rec = d.create(rt.recording_body(PARTICIPANTS, OUTPUTS, max_duration_s=60))
        rec = d.wait_state(rec["id"], ("recording", "failed"), timeout=20)
        self.assertEqual(rec["state"], "recording", rt.pretty(rec))
        time.sleep(seconds)
        with open("/proc/%d/maps" % d.pid) as f:
            self.maps = f.read().splitlines()
        d.stop_recording(rec["id"])
        return d.wait_state(rec["id"], ("finished", "failed"), timeout=40)

    def check_files(self, d, rec, seconds=3.0):
        self.assertEqual(rec["state"], "finished", rt.pretty(rec))
        for out in rec["outputs"]:
            path = d.output_path(out)
            ok, err = rt.decodes_cleanly(path)
            self.assertTrue(ok, "%s: %s" % (path, err))
            duration = rt.format_duration(rt.ffprobe(path))
            self.assertGreater(duration, seconds - 1.0, path)

    def check_no_wx(self):
        wx = [l for l in self.maps if "w" in l.split()[1] and "x" in l.split()[1]]
        self.assertEqual(wx, [], "W+X mappings")
        orc = [l for l in self.maps if "orcexec" in l and l.split()[1].startswith("r-x")]
        self.assertTrue(orc, "liborc's code is mapped from its dual-mapped file")

    def test_unit_sandbox(self):
        """Everything reel.service asks of the process at once."""
        syscalls = sandbox.allowed_syscalls(**UNIT_FILTER)
        mdwe = sandbox.mdwe_supported()
        d = SandboxedDaemon(self, sandbox.preexec(syscalls, UNIT_FAMILIES, mdwe=mdwe))
        self.check_files(d, self.record(d))
        if mdwe:
            self.check_no_wx()
        self.assertEqual(d.stop(), 0)
        d.assert_log_clean()

    def test_refused_syscalls_are_refused(self):
        """The sandbox is real: without @network-io reeld cannot even listen."""
        syscalls = sandbox.allowed_syscalls(allow=("@system-service",), deny=("@network-io",))
        d = SandboxedDaemon(self, sandbox.preexec(syscalls, None), start=False)
        d.spawn()
        self.assertNotEqual(d.wait_exit(20), 0)
        self.assertIsNone(d.port)

    def test_memory_deny_write_execute(self):
        if not sandbox.mdwe_supported():
            self.skipTest("kernel without PR_SET_MDWE")
        d = SandboxedDaemon(self, sandbox.preexec(mdwe=True))
        self.check_files(d, self.record(d))
        self.assertEqual(d.stop(), 0)
        self.check_no_wx()


FS_INNER = "REEL_FS_SANDBOX_INNER"


class FilesystemSandboxTest(rt.ReelTestCase):
    """ProtectSystem=strict, PrivateTmp, ProtectHome and PrivateDevices, rebuilt with
    mounts in a private mount namespace (fs-sandbox.sh), plus the unit's seccomp,
    address families and W^X: the whole unit at once, on a real recording."""

    @unittest.skipUnless(os.geteuid() == 0 and shutil.which("unshare"), "needs root and unshare")
    def test_filesystem_sandbox(self):
        if os.environ.get(FS_INNER) == "1":
            self.skipTest("outer half only")
        env = dict(os.environ, **{FS_INNER: "1"})
        p = subprocess.run(["unshare", "--mount", "--propagation", "private", os.path.join(HERE, "fs-sandbox.sh"),
                            sys.executable, os.path.abspath(__file__), "FilesystemSandboxInner"],
                           env=env, capture_output=True, text=True, timeout=240)
        self.assertEqual(p.returncode, 0, p.stdout[-3000:] + p.stderr[-6000:])
        # the inner half really ran (a skip also exits 0)
        self.assertIn("Ran 1 test", p.stderr, p.stderr[-3000:])
        self.assertNotIn("skipped", p.stderr, p.stderr[-3000:])


@unittest.skipUnless(os.environ.get(FS_INNER) == "1", "runs inside fs-sandbox.sh")
class FilesystemSandboxInner(HardeningTest):
    def test_unit_inside_filesystem_sandbox(self):
        self.assertFalse(os.access("/usr", os.W_OK) and os.access("/etc", os.W_OK) and
                         self._writable("/etc"), "ProtectSystem=strict is in place")
        self.assertEqual(sorted(os.listdir("/dev")), ["full", "null", "random", "shm", "tty", "urandom", "zero"])
        self.assertFalse(os.path.exists("/proc/cpuinfo"), "ProcSubset=pid is in place")
        syscalls = sandbox.allowed_syscalls(**UNIT_FILTER)
        mdwe = sandbox.mdwe_supported()
        state = rt.make_tempdir(self, "reel-state-")  # StateDirectory=, and HOME for the reel user
        d = SandboxedDaemon(self, sandbox.preexec(syscalls, UNIT_FAMILIES, mdwe=mdwe), workdir=state,
                            env={"HOME": state, "XDG_RUNTIME_DIR": ""})
        self.check_files(d, self.record(d))
        if mdwe:
            self.check_no_wx()
        self.assertEqual(d.stop(), 0)
        d.assert_log_clean()

    @staticmethod
    def _writable(path):
        try:
            with open(os.path.join(path, ".reel-rw-probe"), "w"):
                pass
        except OSError:
            return False
        return True

    # the inherited tests run outside the filesystem sandbox already
    test_unit_sandbox = test_refused_syscalls_are_refused = test_memory_deny_write_execute = None


if __name__ == "__main__":
    rt.main()
