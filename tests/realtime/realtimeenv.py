"""realtimeenv: a local Cloudflare-Realtime-compatible SFU and its publishers, for tests.

    from realtimeenv import RealtimeEnv
    env = RealtimeEnv(tc, apps={"app1": "secret1"})     # starts reel-realtime-sfu
    env.api_url            # http://127.0.0.1:PORT/v1   (the Realtime API base URL)
    env.local_address      # 127.0.0.1: reel's [webrtc] local_addresses, and the peers'
    env.apps               # {"app1": "secret1"}
    pub = env.gst_publisher("alice", codec="vp8", color="#ff0000", tone_hz=440)
    pub.session_id         # the publisher's Realtime session
    pub.tracks             # {"video": "alice-video", "audio": "alice-audio"}
    pub.leave()            # SIGTERM: tracks/close (force) for its tracks, then exit
    pub.kill()             # SIGKILL: media just stops, the SFU is not told
    rc, report = env.subscribe([(pub.session_id, pub.tracks["video"])], duration=5)
    env.close()            # also from tc.addCleanup, atexit and SIGTERM/SIGINT/SIGHUP

The SFU (tests/realtime/reel-realtime-sfu, built by meson; $REEL_REALTIME_SFU
overrides the path) listens on 127.0.0.1 on a free port; its ICE uses 127.0.0.1 only
(plus the Chromium link below), no STUN/TURN, no UPnP. Its stderr is kept (see
sfu_log() and wait_media()). Publishers push with the Cloudflare flow: sessions/new,
then tracks/new with their offer and `location: local` tracks, then the answer.

Chromium (RealtimeEnv(..., chromium=True)) runs in a network namespace made here:

    root namespace                               reel-rtc-PID
    reel-realtime-sfu (HTTP 127.0.0.1:PORT,      headless Chromium (its WebRTC only)
      ICE 127.0.0.1 and 198.18.k.1)
    node + playwright-core (HTTP to the SFU)
    198.18.k.1/30  rtPIDh  <--- veth --->  rtPIDc  198.18.k.2/30

Node runs in the root namespace and speaks the API over 127.0.0.1; it starts
Chromium through a wrapper (`ip netns exec reel-rtc-PID /usr/bin/chromium`) and
drives it over the DevTools pipe, so only Chromium's own traffic (ICE/DTLS/RTP to
198.18.k.1) lives in the namespace, which has nothing but loopback and the veth.
k is the first free 198.18.k.0/24 (shared lock with tests/janus/janusenv.py).

Every process is tracked by PID and killed by PID (with its descendants) on close;
the namespace is then deleted. Namespaces left by a run that was SIGKILLed are
removed at the next start. The work folder (sfu.log, one log per peer) is kept, and
named on stderr, when the SFU died, when env.keep is set, when tc failed (a
reeltest.ReelTestCase, or its class: any of its tests), or with REEL_TEST_KEEP=1.
REEL_REALTIME_GST_DEBUG=webrtcbin:6 (any GST_DEBUG value) writes the SFU's
GStreamer debug log to WORKDIR/sfu-gst.log.
"""

import contextlib
import fcntl
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE_ROOT = os.path.abspath(os.environ.get("REEL_SOURCE_ROOT") or os.path.join(HERE, "..", ".."))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "janus"))
import janusenv  # noqa: E402  (process and namespace helpers)
import rtapi  # noqa: E402

PYTHON = "/usr/bin/python3"
NODE = shutil.which("node") or "/usr/bin/node"
CHROMIUM = "/usr/bin/chromium"
NS_RE = re.compile(r"^reel-rtc-(\d+)$")
KEEP = os.environ.get("REEL_TEST_KEEP") == "1"
LISTEN_RE = re.compile(r"^listening on (http://\S+)$")
MEDIA_RE = re.compile(r"media: session=(\S+) track=(\S+) mid=(\S+) kind=(\S+) codec=(\S+)")



def note(msg):
    sys.stderr.write("[realtimeenv] %s\n" % msg)
    sys.stderr.flush()


def sfu_path():
    """The reel-realtime-sfu binary: $REEL_REALTIME_SFU, else the first build folder
    of the source tree that has one."""
    path = os.environ.get("REEL_REALTIME_SFU")
    if not path:
        for cand in ("build", "build-sfu", "_build", "builddir"):
            p = os.path.join(SOURCE_ROOT, cand, "tests", "realtime", "reel-realtime-sfu")
            if os.access(p, os.X_OK):
                path = p
                break
    if not path or not os.access(path, os.X_OK):
        raise RuntimeError("reel-realtime-sfu not found: set REEL_REALTIME_SFU (meson test does)")
    return os.path.abspath(path)


def cleanup_stale():
    """Deletes reel-rtc-PID namespaces whose run (PID) is gone."""
    try:
        names = janusenv.run(["ip", "netns", "list"]).split("\n")
    except RuntimeError:
        return
    for line in names:
        m = NS_RE.match(line.split(" ")[0].strip())
        if not m or janusenv.owner_alive(int(m.group(1))):
            continue
        note("removing stale namespace %s (its run, pid %s, is gone)" % (m.group(0), m.group(1)))
        janusenv._delete_ns(m.group(0))
        host_veth = "rt%sh" % m.group(1)
        if janusenv.run(["ip", "-o", "link", "show", "dev", host_veth], check=False).strip():
            janusenv.run(["ip", "link", "del", host_veth], check=False)


class RealtimeEnv:
    """See the module docstring. tc: a unittest.TestCase, or its class in setUpClass,
    or None: close() is registered with addCleanup / addClassCleanup. apps: {appId: secret} (default {"app1": "secret1"}).
    chromium: also make the Chromium namespace (needs root). sfu_args: more options
    for reel-realtime-sfu (e.g. ["--expire-unconnected", "5"])."""

    def __init__(self, tc=None, apps=None, chromium=False, start=True, timeout=15, sfu_args=()):
        self.apps = dict(apps or {"app1": "secret1"})
        self.sfu_args = list(sfu_args)  # more reel-realtime-sfu options
        self.pid = os.getpid()
        self.chromium = chromium
        self.ns = "reel-rtc-%d" % self.pid if chromium else None
        self.veth_host = "rt%dh" % self.pid
        self.veth_ns = "rt%dc" % self.pid
        self.slot = None
        self.workdir = tempfile.mkdtemp(prefix="reel-realtime-%d-" % self.pid)
        self.procs = []
        self.sfu_proc = None
        self.api_url = None
        self._sfu_lines = []
        self._cond = threading.Condition()
        self._lock = threading.Lock()
        self._closed = False
        self._ns_made = False
        self.keep = False
        self._tc = tc
        # janusenv's atexit and SIGTERM/SIGINT/SIGHUP handlers close every env in its list
        janusenv._install_handlers()
        janusenv._live_envs.append(self)
        if isinstance(tc, type):
            tc.addClassCleanup(self.close)  # made in setUpClass
        elif tc is not None:
            tc.addCleanup(self.close)
        if start:
            try:
                if chromium:
                    self._setup_namespace()
                self.start_sfu(timeout)
            except BaseException:
                self.close()
                raise

    # -- addresses -------------------------------------------------------------------

    @property
    def local_address(self):
        """The address reel (and the GStreamer peers) give ICE: 127.0.0.1."""
        return "127.0.0.1"

    @property
    def chromium_link_address(self):
        """The root namespace's end of the Chromium veth (the SFU's ICE reaches Chromium here)."""
        return "198.18.%d.1" % self.slot if self.slot is not None else None

    @property
    def chromium_address(self):
        return "198.18.%d.2" % self.slot if self.slot is not None else None

    def api(self, app=None):
        """An rtapi.RealtimeApi for app (default: the first app)."""
        app = app or next(iter(self.apps))
        return rtapi.RealtimeApi(self.api_url, app, self.apps[app])

    # -- the SFU ---------------------------------------------------------------------

    def start_sfu(self, timeout=15):
        """Starts reel-realtime-sfu and waits for its "listening on" line."""
        argv = [sfu_path(), "--listen", "127.0.0.1:0", "--local-address", self.local_address]
        if self.chromium_link_address:
            argv += ["--local-address", self.chromium_link_address]
        for app, secret in self.apps.items():
            argv += ["--app", "%s:%s" % (app, secret)]
        argv += self.sfu_args
        self._sfu_log = open(os.path.join(self.workdir, "sfu.log"), "a")
        env = dict(os.environ)
        for k in ("GST_DEBUG", "GST_DEBUG_FILE"):
            env.pop(k, None)
        if os.environ.get("REEL_REALTIME_GST_DEBUG"):
            # GStreamer's debug log of the SFU alone (e.g. webrtcbin:6), into WORKDIR/sfu-gst.log
            env.update(GST_DEBUG=os.environ["REEL_REALTIME_GST_DEBUG"], GST_DEBUG_NO_COLOR="1",
                       GST_DEBUG_FILE=os.path.join(self.workdir, "sfu-gst.log"))
        self.sfu_proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                         stderr=subprocess.PIPE, cwd=self.workdir, env=env)
        threading.Thread(target=self._read_sfu_stderr, daemon=True).start()
        line = [None]

        def read_first():
            line[0] = self.sfu_proc.stdout.readline().decode("utf-8", "replace").strip()
        t = threading.Thread(target=read_first, daemon=True)
        t.start()
        t.join(timeout)
        m = LISTEN_RE.match(line[0] or "")
        if not m:
            raise RuntimeError("reel-realtime-sfu did not say where it listens (got %r):\n%s"
                               % (line[0], self.sfu_log()))
        self.api_url = m.group(1) + "/v1"
        return self

    def _read_sfu_stderr(self):
        for raw in iter(self.sfu_proc.stderr.readline, b""):
            text = raw.decode("utf-8", "replace")
            self._sfu_log.write(text)
            self._sfu_log.flush()
            with self._cond:
                self._sfu_lines.append(text.rstrip("\n"))
                self._cond.notify_all()

    def sfu_log(self, n=80):
        """The last n lines of the SFU's stderr."""
        with self._cond:
            return "\n".join(self._sfu_lines[-n:])

    def sfu_running(self):
        return self.sfu_proc is not None and self.sfu_proc.poll() is None

    def sfu_died(self):
        """The SFU's exit status if it ended by itself (a crash, an abort), else None."""
        if self.sfu_proc is None or self.sfu_proc.poll() is None or getattr(self, "_stopped", False):
            return None
        return self.sfu_proc.returncode

    def _tc_failed(self):
        tc = self._tc
        if tc is None:
            return False
        if isinstance(tc, type):
            return bool(getattr(tc, "_any_failed", False)) or not getattr(tc, "_class_ready", True)
        outcome_failed = getattr(tc, "outcome_failed", None)
        return bool(outcome_failed()) if outcome_failed else False

    def stop_sfu(self, sig=signal.SIGTERM, timeout=10):
        """Stops the SFU (SIGTERM by default) and returns its exit code."""
        if self.sfu_proc is None:
            return None
        if self.sfu_proc.poll() is None:
            self._stopped = True
            self.sfu_proc.send_signal(sig)
            try:
                self.sfu_proc.wait(timeout)
            except subprocess.TimeoutExpired:
                janusenv.kill_tree(self.sfu_proc.pid)
                self.sfu_proc.wait(5)
        return self.sfu_proc.returncode

    def media_seen(self, session_id, track_name=None):
        """[(track, mid, kind, codec)] the SFU receives from session_id (its "media:" lines)."""
        with self._cond:
            out = []
            for line in self._sfu_lines:
                m = MEDIA_RE.search(line)
                if m and m.group(1) == session_id and (track_name is None or m.group(2) == track_name):
                    out.append((m.group(2), m.group(3), m.group(4), m.group(5)))
            return out

    def wait_media(self, session_id, track_names, timeout=15):
        """Waits until the SFU receives RTP for every track name of session_id."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                seen = {t for t, _, _, _ in self.media_seen(session_id)}
                if all(n in seen for n in track_names):
                    return
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError("SFU got no media for %s of session %s in %ds:\n%s"
                                         % (sorted(set(track_names) - seen), session_id, timeout, self.sfu_log()))
                self._cond.wait(min(left, 0.5))

    # -- Chromium namespace ------------------------------------------------------------

    def _setup_namespace(self):
        if os.geteuid() != 0:
            raise RuntimeError("RealtimeEnv(chromium=True) needs root (network namespaces)")
        cleanup_stale()
        with open(janusenv.LOCK_PATH, "w") as lockf:
            fcntl.flock(lockf, fcntl.LOCK_EX)
            used = {int(m.group(1)) for m in re.finditer(r"inet 198\.18\.(\d+)\.",
                                                          janusenv.run(["ip", "-4", "-o", "addr", "show"]))}
            free = [k for k in range(0, 128) if k not in used]
            if not free:
                raise RuntimeError("no free 198.18.k.0/24 slot")
            self.slot = free[0]
            janusenv.run(["ip", "netns", "add", self.ns])
            self._ns_made = True
            for cmd in [
                ["ip", "link", "add", self.veth_host, "type", "veth", "peer", "name", self.veth_ns],
                ["ip", "link", "set", self.veth_ns, "netns", self.ns],
                ["ip", "addr", "add", self.chromium_link_address + "/30", "dev", self.veth_host],
                ["ip", "link", "set", self.veth_host, "up"],
                ["ip", "-n", self.ns, "link", "set", "lo", "up"],
                ["ip", "-n", self.ns, "addr", "add", self.chromium_address + "/30", "dev", self.veth_ns],
                ["ip", "-n", self.ns, "link", "set", self.veth_ns, "up"],
            ]:
                janusenv.run(cmd)
        for ns, ifname in ((None, self.veth_host), (self.ns, self.veth_ns)):
            cmd = ["sysctl", "-q", "-w", "net.ipv6.conf.%s.disable_ipv6=1" % ifname]
            janusenv.run((["ip", "netns", "exec", ns] if ns else []) + cmd, check=False)
        wrapper = os.path.join(self.workdir, "chromium-in-ns")
        with open(wrapper, "w") as f:
            f.write("#!/bin/sh\nexec ip netns exec %s %s \"$@\"\n" % (self.ns, CHROMIUM))
        os.chmod(wrapper, 0o755)
        self.chromium_wrapper = wrapper
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            out = janusenv.run(["ip", "-n", self.ns, "-br", "addr"])
            if "tentative" not in out and re.search(r"%s@\S+\s+UP" % re.escape(self.veth_ns), out):
                break
            time.sleep(0.05)

    # -- peers -----------------------------------------------------------------------

    def spawn(self, argv, log_name, stdout=subprocess.PIPE, ns=None):
        """Starts a tracked process; its stderr goes to WORKDIR/<log_name>.log. (ns is
        janusenv.Peer's; every process here starts in the root namespace.)"""
        assert ns is None
        err = open(os.path.join(self.workdir, "%s.log" % log_name), "a")
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=stdout, stderr=err, cwd=self.workdir)
        err.close()
        with self._lock:
            self.procs.append(proc)
        return proc

    def log_path(self, log_name):
        return os.path.join(self.workdir, "%s.log" % log_name)

    def _app(self, app):
        app = app or next(iter(self.apps))
        return app, self.apps[app]

    def gst_publisher(self, name, codec="vp8", color="#ff0000", tone_hz=440, app=None, video_track=None,
                      audio_track=None, keyframe_interval=None, wait=True, timeout=20):
        """Starts rt_publisher.py (GStreamer: 640x360@30 solid colour, VP8 or H.264, + Opus
        sine tone) in app (default: the first). Track names: NAME-video, NAME-audio unless
        given. keyframe_interval: seconds between periodic keyframes (default 1). With
        wait, returns once the SFU receives its audio and video."""
        app, secret = self._app(app)
        argv = [PYTHON, os.path.join(HERE, "rt_publisher.py"), "--api", self.api_url, "--app", app,
                "--secret", secret, "--name", name, "--codec", codec, "--color", color, "--tone", str(tone_hz),
                "--local-address", self.local_address]
        if video_track:
            argv += ["--video-track", video_track]
        if audio_track:
            argv += ["--audio-track", audio_track]
        if keyframe_interval:
            argv += ["--keyframe-interval", str(keyframe_interval)]
        peer = Publisher(self, name, argv)
        if wait:
            peer.wait_media(timeout)
        return peer

    def chromium_publisher(self, name, codec=None, app=None, wait=True, timeout=60):
        """Starts chromium_rt_publisher.js: node (root namespace) driving headless Chromium
        (in the namespace) with its fake camera and microphone. codec: None (Chromium's
        choice, VP8), "vp8" or "h264"."""
        if not self.ns:
            raise RuntimeError("this RealtimeEnv was made without chromium=True")
        modules = os.path.join(HERE, "..", "janus", "node_modules", "playwright-core")
        if not os.path.isdir(modules):
            raise AssertionError("playwright-core is not installed in tests/janus: run `npm ci` there "
                                 "(scripts/install-deps.sh does)")
        app, secret = self._app(app)
        udd = tempfile.mkdtemp(prefix="chromium-%s-" % name, dir=self.workdir)
        argv = [NODE, os.path.join(HERE, "chromium_rt_publisher.js"), "--api", self.api_url, "--app", app,
                "--secret", secret, "--name", name, "--chromium", self.chromium_wrapper, "--user-data-dir", udd]
        if codec:
            argv += ["--codec", codec]
        peer = Publisher(self, name, argv)
        if wait:
            peer.wait_media(timeout)
        return peer

    def subscribe(self, pulls, duration=6.0, app=None, close=(), pull_at=(), update=(), min_frames=1,
                  min_audio=1, timeout=None, verbose=False):
        """Runs rt_subscriber.py (GStreamer, pull flow) and returns (exit code, report).
        pulls: [(sessionId, trackName)]; close: [(trackName, seconds)]; pull_at:
        [(sessionId, trackName, seconds)]; update: [(trackName, sessionId, otherTrack,
        seconds)]. Seconds count from the first answer. See rt_subscriber.py for the report."""
        app, secret = self._app(app)
        argv = [PYTHON, os.path.join(HERE, "rt_subscriber.py"), "--api", self.api_url, "--app", app,
                "--secret", secret, "--local-address", self.local_address, "--duration", str(duration),
                "--min-frames", str(min_frames), "--min-audio", str(min_audio)]
        for sid, track in pulls:
            argv += ["--pull", "%s:%s" % (sid, track)]
        for track, t in close:
            argv += ["--close", "%s@%g" % (track, t)]
        for sid, track, t in pull_at:
            argv += ["--pull-at", "%s:%s@%g" % (sid, track, t)]
        for track, sid, other, t in update:
            argv += ["--update", "%s=%s:%s@%g" % (track, sid, other, t)]
        if verbose:
            argv.append("--verbose")
        proc = self.spawn(argv, "subscriber")
        try:
            stdout, _ = proc.communicate(timeout=timeout or duration + 60)
        except subprocess.TimeoutExpired:
            janusenv.kill_tree(proc.pid)
            stdout, _ = proc.communicate()
        try:
            report = json.loads(stdout.decode("utf-8", "replace") or "{}")
        except ValueError:
            report = {"errors": ["subscriber printed no JSON: %r" % stdout[-500:]]}
        return proc.returncode, report

    # -- teardown --------------------------------------------------------------------

    def close(self):
        """Kills every process started here (by PID, with descendants), stops the SFU,
        deletes the namespace and the work folder. Idempotent."""
        if self._closed:
            return
        self._closed = True
        died = self.sfu_died()
        if died is not None:
            note("the SFU ended by itself (exit status %s); its last lines:\n%s" % (died, self.sfu_log(30)))
        keep = KEEP or self.keep or died is not None or self._tc_failed()
        with self._lock:
            procs = list(self.procs)
        for p in procs:
            if p.poll() is None:
                janusenv.kill_tree(p.pid, signal.SIGKILL)
        for p in procs:
            with contextlib.suppress(Exception):
                p.wait(5)
            with contextlib.suppress(Exception):
                if p.stdout:
                    p.stdout.close()
        if self.sfu_proc is not None:
            with contextlib.suppress(Exception):
                self.stop_sfu()
        if self._ns_made:
            janusenv._delete_ns(self.ns)
            with contextlib.suppress(RuntimeError, subprocess.TimeoutExpired):
                if self.veth_host in janusenv.run(["ip", "-o", "link", "show"], check=False):
                    janusenv.run(["ip", "link", "del", self.veth_host], check=False)
        with contextlib.suppress(ValueError):
            janusenv._live_envs.remove(self)
        if keep:
            note("kept %s" % self.workdir)
        else:
            shutil.rmtree(self.workdir, True)


class Publisher(janusenv.Peer):
    """A publisher process and its progress lines (SESSION sid, TRACKS video audio,
    PUBLISHED, CONNECTED, LEFT, FAILED why), each with its time.monotonic()."""

    def __init__(self, env, name, argv):
        super().__init__(env, name, argv, ns=None)

    @property
    def session_id(self):
        line = self.line("SESSION ")
        return line.split()[1] if line else None

    @property
    def tracks(self):
        """{"video": trackName, "audio": trackName} once published."""
        line = self.line("TRACKS ")
        if not line:
            return None
        _, video, audio = line.split()
        return {"video": video, "audio": audio}

    def wait_published(self, timeout=20):
        return self.wait_line("PUBLISHED", timeout)

    def wait_media(self, timeout=20):
        """Waits until the SFU receives this publisher's audio and video; returns that time."""
        started = time.monotonic()
        self.wait_published(timeout)
        self.env.wait_media(self.session_id, list(self.tracks.values()),
                            max(0.1, timeout - (time.monotonic() - started)))
        return time.monotonic()


if __name__ == "__main__":
    # Manual use: /usr/bin/python3 realtimeenv.py -> starts the SFU, prints it, waits for Ctrl-C.
    env = RealtimeEnv(chromium="--chromium" in sys.argv)
    print(json.dumps({"api_url": env.api_url, "apps": env.apps, "local_address": env.local_address,
                      "workdir": env.workdir}))
    sys.stdout.flush()
    with contextlib.suppress(KeyboardInterrupt):
        signal.pause()
