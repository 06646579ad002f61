"""janusenv: a real Janus VideoRoom in its own network namespace, for reel's tests.

Layout (slot k = 0 unless another run holds it; then the first free k):

    root namespace                 reel-sfu-PID                     reel-chr-PID
    reel, GStreamer publishers     janus (HTTP 198.18.k.2:8088)     node + headless Chromium
    198.18.k.1/30  rsPIDh  <--->   rsPIDs  198.18.k.2/30
                                   rcPIDs  198.18.k.5/30  <--->     rcPIDc  198.18.k.6/30
                                                                    route 198.18.k.0/30 via .5

Only 198.18.0.0/15 (RFC 2544 benchmark range) is used, and only inside namespaces made
here: nothing is routed towards eth0 from the test namespaces, the root namespace only
gains one /30 on a veth. The Janus config is private (a temp folder; /etc/janus is not
read), every plugin but VideoRoom and every transport but HTTP is disabled, there is no
STUN/TURN, and ICE gathers only on the 198.18.k.x addresses.

    env = JanusEnv()                # needs root; start() creates everything
    env.start()
    env.url                         # http://198.18.0.2:8088/janus
    env.local_address               # 198.18.0.1 (reel's [webrtc] local_addresses)
    env.kill_janus(); env.start_janus()   # outage and restart, same config and rooms
    env.close()                     # also runs from atexit and on SIGTERM/SIGINT/SIGHUP

Every process it starts is tracked by PID and killed by PID (with its descendants) on
close; the namespaces are then deleted, which removes the veths. Namespaces left behind
by a run that was SIGKILLed (named for a PID that no longer exists) are removed at the
next start.
"""

import atexit
import contextlib
import fcntl
import glob
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
sys.path.insert(0, HERE)
import janusapi  # noqa: E402

JANUS_LIB = "/usr/lib/x86_64-linux-gnu/janus"
PYTHON = "/usr/bin/python3"
NODE = shutil.which("node") or "/usr/bin/node"
LOCK_PATH = "/run/lock/reel-janusenv.lock" if os.path.isdir("/run/lock") else "/tmp/reel-janusenv.lock"
NS_RE = re.compile(r"^reel-(sfu|chr)-(\d+)$")
KEEP = os.environ.get("REEL_TEST_KEEP") == "1"

# room id -> settings (written to janus.plugin.videoroom.jcfg)
DEFAULT_ROOMS = {
    1234: {"description": "reel tests, open"},
    4321: {"description": "reel tests, pin letmein", "pin": "letmein"},
}
ADMIN_SECRET = "reel-test-admin"   # room secret: lets the fixture kick leftovers between tests
ROOM_DEFAULTS = {
    "secret": ADMIN_SECRET,
    "publishers": 6,
    "audiocodec": "opus",
    "videocodec": "vp8,h264",
    "bitrate": 2000000,
    "fir_freq": 2,
    "record": False,
    "notify_joining": True,
}
HTTP_PORT = 8088

_live_envs = []
_handlers_installed = False


def note(msg):
    sys.stderr.write("[janusenv] %s\n" % msg)
    sys.stderr.flush()


def run(cmd, check=True, timeout=30):
    p = subprocess.run(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       timeout=timeout)
    if check and p.returncode != 0:
        raise RuntimeError("%s exited %d: %s" % (" ".join(cmd), p.returncode,
                                                 p.stderr.decode("utf-8", "replace").strip()))
    return p.stdout.decode("utf-8", "replace")


def pid_alive(pid):
    """Whether pid is a live process (zombies, which nobody may reap here, count as dead)."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            stat = f.read()
        return stat[stat.rindex(")") + 2:].split()[0] not in ("Z", "X")
    except (OSError, ValueError, IndexError):
        return False


def owner_alive(pid):
    """Whether the run that named its namespaces after pid still runs: a live Python
    process with that PID (a recycled PID of another program does not count)."""
    if not pid_alive(pid):
        return False
    try:
        with open("/proc/%d/cmdline" % pid, "rb") as f:
            return b"python" in f.read().split(b"\0")[0]
    except OSError:
        return False


def descendants(pid):
    """PIDs of every descendant of pid (children first found, deepest last)."""
    parents = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % entry) as f:
                stat = f.read()
            ppid = int(stat[stat.rindex(")") + 2:].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        parents.setdefault(ppid, []).append(int(entry))
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        for c in parents.get(p, []):
            out.append(c)
            todo.append(c)
    return out


def kill_tree(pid, sig=signal.SIGKILL):
    """Signals pid and all its descendants (by PID)."""
    for p in [pid] + descendants(pid):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(p, sig)


def can_run():
    """(ok, reason): whether this process can build the environment."""
    if os.geteuid() != 0:
        return False, "needs root (network namespaces and veths)"
    for tool in ("ip", "janus"):
        if not shutil.which(tool):
            return False, "%s not installed (scripts/install-deps.sh installs it)" % tool
    if not os.path.isdir(os.path.join(JANUS_LIB, "plugins")):
        return False, "Janus plugins missing in %s" % JANUS_LIB
    return True, ""


def _install_handlers():
    global _handlers_installed
    if _handlers_installed:
        return
    _handlers_installed = True
    atexit.register(close_all)
    if threading.current_thread() is not threading.main_thread():
        return
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        previous = signal.getsignal(sig)

        def handler(signum, frame, previous=previous):
            close_all()
            if callable(previous) and previous not in (signal.SIG_IGN, signal.SIG_DFL):
                previous(signum, frame)
                return
            signal.signal(signum, signal.SIG_DFL)
            os.kill(os.getpid(), signum)
        signal.signal(sig, handler)


def close_all():
    for env in list(_live_envs):
        with contextlib.suppress(Exception):
            env.close()


def cleanup_stale():
    """Deletes namespaces named reel-sfu-PID / reel-chr-PID whose PID is gone (a run that
    was SIGKILLed), killing the processes still inside them (they were ours)."""
    try:
        names = run(["ip", "netns", "list"]).split("\n")
    except RuntimeError:
        return
    for line in names:
        name = line.split(" ")[0].strip()
        m = NS_RE.match(name)
        if not m or owner_alive(int(m.group(2))):
            continue
        note("removing stale namespace %s (its run, pid %s, is gone)" % (name, m.group(2)))
        if m.group(1) == "sfu" and not KEEP:
            stale_dirs = glob.glob(os.path.join(tempfile.gettempdir(), "reel-janus-%s-*" % m.group(2)))
            for d in stale_dirs:
                shutil.rmtree(d, True)
        _delete_ns(name)
        # The root end of the veth goes with the namespace, but asynchronously: now.
        if m.group(1) == "sfu":
            host_veth = "rs%sh" % m.group(2)
            if run(["ip", "-o", "link", "show", "dev", host_veth], check=False).strip():
                run(["ip", "link", "del", host_veth], check=False)


def _delete_ns(name):
    with contextlib.suppress(RuntimeError, subprocess.TimeoutExpired):
        for pid in run(["ip", "netns", "pids", name], check=False).split():
            with contextlib.suppress(ProcessLookupError, ValueError):
                os.kill(int(pid), signal.SIGKILL)
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        try:
            left = run(["ip", "netns", "pids", name], check=False).split()
        except subprocess.TimeoutExpired:
            left = []
        if not left:
            break
        time.sleep(0.05)
    with contextlib.suppress(RuntimeError, subprocess.TimeoutExpired):
        run(["ip", "netns", "del", name], check=False)


def jcfg(sections):
    """libconfig text (Janus .jcfg) from {section: {key: value}}."""
    def val(v):
        if isinstance(v, bool):
            return "true" if v else "false"
        if isinstance(v, int):
            return str(v)
        return json.dumps(str(v))
    out = []
    for name, keys in sections.items():
        out.append("%s: {" % name)
        for k, v in keys.items():
            out.append("\t%s = %s" % (k, val(v)))
        out.append("}")
    return "\n".join(out) + "\n"


class JanusEnv:
    """See the module docstring."""

    def __init__(self, rooms=None, workdir=None, chromium_ns=True, session_timeout=60):
        ok, why = can_run()
        if not ok:
            raise RuntimeError("JanusEnv: " + why)
        self.rooms = dict(DEFAULT_ROOMS if rooms is None else rooms)
        self.pid = os.getpid()
        self.sfu_ns = "reel-sfu-%d" % self.pid
        self.chr_ns = "reel-chr-%d" % self.pid if chromium_ns else None
        self.veth_host = "rs%dh" % self.pid
        self.veth_sfu = "rs%ds" % self.pid
        self.veth_sfu_chr = "rc%ds" % self.pid
        self.veth_chr = "rc%dc" % self.pid
        self.session_timeout = session_timeout
        self.own_workdir = workdir is None
        # The PID in the name lets a later run remove the folder of a run that was killed.
        self.workdir = workdir or tempfile.mkdtemp(prefix="reel-janus-%d-" % self.pid)
        self.confdir = os.path.join(self.workdir, "janus-conf")
        self.slot = None
        self.janus_proc = None
        self.janus_generation = 0
        self.procs = []          # every Popen started through spawn(), for cleanup
        self._created_ns = []
        self._closed = False
        self._lock = threading.Lock()

    # -- addresses -------------------------------------------------------------------

    def _addr(self, last):
        return "198.18.%d.%d" % (self.slot, last)

    @property
    def local_address(self):
        """The root namespace's address: reel's [webrtc] local_addresses, and the GStreamer
        publishers' --local-address."""
        return self._addr(1)

    @property
    def janus_address(self):
        return self._addr(2)

    @property
    def chromium_address(self):
        return self._addr(6)

    @property
    def url(self):
        return "http://%s:%d/janus" % (self.janus_address, HTTP_PORT)

    def closed_port_url(self, port=9):
        """A Janus-looking URL on the SFU's address where nothing listens (RST at once)."""
        return "http://%s:%d/janus" % (self.janus_address, port)

    # -- setup -----------------------------------------------------------------------

    def start(self, timeout=20):
        _install_handlers()
        _live_envs.append(self)
        try:
            self._setup_network()
            self._write_config()
            self.start_janus(timeout)
        except BaseException:
            self.close()
            raise
        return self

    def _setup_network(self):
        cleanup_stale()
        with open(LOCK_PATH, "w") as lockf:
            fcntl.flock(lockf, fcntl.LOCK_EX)
            used = set()
            for m in re.finditer(r"inet 198\.18\.(\d+)\.", run(["ip", "-4", "-o", "addr", "show"])):
                used.add(int(m.group(1)))
            free = [k for k in range(0, 128) if k not in used]
            if not free:
                raise RuntimeError("no free 198.18.k.0/24 slot in the root namespace")
            self.slot = free[0]
            if self.slot != 0:
                note("198.18.0.0/24 is in use by another run: using slot %d (%s)" % (self.slot, self.url))
            self._ns_add(self.sfu_ns)
            sh = [
                ["ip", "link", "add", self.veth_host, "type", "veth", "peer", "name", self.veth_sfu],
                ["ip", "link", "set", self.veth_sfu, "netns", self.sfu_ns],
                ["ip", "addr", "add", self._addr(1) + "/30", "dev", self.veth_host],
                ["ip", "link", "set", self.veth_host, "up"],
                ["ip", "-n", self.sfu_ns, "link", "set", "lo", "up"],
                ["ip", "-n", self.sfu_ns, "addr", "add", self._addr(2) + "/30", "dev", self.veth_sfu],
                ["ip", "-n", self.sfu_ns, "link", "set", self.veth_sfu, "up"],
            ]
            for cmd in sh:
                run(cmd)
        # The host side must not answer for or route anything else: no forwarding needed.
        if self.chr_ns:
            self._ns_add(self.chr_ns)
            for cmd in [
                ["ip", "link", "add", self.veth_sfu_chr, "type", "veth", "peer", "name", self.veth_chr],
                ["ip", "link", "set", self.veth_sfu_chr, "netns", self.sfu_ns],
                ["ip", "link", "set", self.veth_chr, "netns", self.chr_ns],
                ["ip", "-n", self.sfu_ns, "addr", "add", self._addr(5) + "/30", "dev", self.veth_sfu_chr],
                ["ip", "-n", self.sfu_ns, "link", "set", self.veth_sfu_chr, "up"],
                ["ip", "-n", self.chr_ns, "link", "set", "lo", "up"],
                ["ip", "-n", self.chr_ns, "addr", "add", self._addr(6) + "/30", "dev", self.veth_chr],
                ["ip", "-n", self.chr_ns, "link", "set", self.veth_chr, "up"],
                ["ip", "-n", self.chr_ns, "route", "add", "%s/30" % self._addr(0), "via", self._addr(5)],
            ]:
                run(cmd)
        self._disable_ipv6()
        self._wait_link_up()

    def _disable_ipv6(self):
        """No IPv6 (not even link-local) on the test links: ICE sees IPv4 198.18.k.x only."""
        pairs = [(None, self.veth_host), (self.sfu_ns, self.veth_sfu)]
        if self.chr_ns:
            pairs += [(self.sfu_ns, self.veth_sfu_chr), (self.chr_ns, self.veth_chr)]
        for ns, ifname in pairs:
            cmd = ["sysctl", "-q", "-w", "net.ipv6.conf.%s.disable_ipv6=1" % ifname]
            run((["ip", "netns", "exec", ns] if ns else []) + cmd, check=False)

    def _ns_add(self, name):
        run(["ip", "netns", "add", name])
        self._created_ns.append(name)

    def _wait_link_up(self, timeout=5):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            out = run(["ip", "-n", self.sfu_ns, "-br", "addr"])
            if "tentative" not in out and re.search(r"%s@\S+\s+UP" % re.escape(self.veth_sfu), out):
                return
            time.sleep(0.05)

    def _write_config(self):
        os.makedirs(self.confdir, exist_ok=True)
        plugins = sorted(f for f in os.listdir(os.path.join(JANUS_LIB, "plugins"))
                         if f.endswith(".so") and f != "libjanus_videoroom.so")
        transports = sorted(f for f in os.listdir(os.path.join(JANUS_LIB, "transports"))
                            if f.endswith(".so") and f != "libjanus_http.so")
        enforce = [self._addr(2)] + ([self._addr(5)] if self.chr_ns else [])
        main = {
            "general": {
                "configs_folder": self.confdir,
                "plugins_folder": JANUS_LIB + "/plugins",
                "transports_folder": JANUS_LIB + "/transports",
                "events_folder": JANUS_LIB + "/events",
                "loggers_folder": JANUS_LIB + "/loggers",
                "debug_level": 4,
                "debug_timestamps": True,
                "debug_colors": False,
                "interface": self._addr(2),
                "session_timeout": self.session_timeout,
                "server_name": "reel-test-janus",
            },
            "media": {"rtp_port_range": "20000-20999", "no_media_timer": 2},
            "nat": {"nice_debug": False, "ice_enforce_list": ",".join(enforce), "ice_ignore_list": "vmnet"},
            "plugins": {"disable": ",".join(plugins)},
            "transports": {"disable": ",".join(transports)},
            "loggers": {"disable": "libjanus_jsonlog.so"},
            "events": {"broadcast": False},
        }
        http = {
            "general": {"json": "indented", "base_path": "/janus", "http": True, "port": HTTP_PORT,
                        "ip": self._addr(2), "https": False},
            "admin": {"admin_http": False, "admin_https": False},
        }
        vr = {"general": {}}
        for room_id, settings in self.rooms.items():
            cfg = dict(ROOM_DEFAULTS)
            cfg.update(settings)
            vr["room-%d" % room_id] = cfg
        self.config_path = os.path.join(self.confdir, "janus.jcfg")
        for name, sections in (("janus.jcfg", main), ("janus.transport.http.jcfg", http),
                               ("janus.plugin.videoroom.jcfg", vr)):
            with open(os.path.join(self.confdir, name), "w") as f:
                f.write(jcfg(sections))

    # -- janus -----------------------------------------------------------------------

    @property
    def janus_log(self):
        return os.path.join(self.workdir, "janus-%d.log" % self.janus_generation)

    def janus_running(self):
        return self.janus_proc is not None and self.janus_proc.poll() is None

    def start_janus(self, timeout=20):
        """Starts Janus (same config and rooms every time) and waits for its HTTP API."""
        assert not self.janus_running(), "Janus already running"
        self.janus_generation += 1
        out = open(os.path.join(self.workdir, "janus-%d.stdout" % self.janus_generation), "w")
        # `ip netns exec` execs janus in place: the PID we get is Janus's own.
        self.janus_proc = subprocess.Popen(
            ["ip", "netns", "exec", self.sfu_ns, "janus", "-F", self.confdir, "-C", self.config_path,
             "-o", "-N", "-L", self.janus_log],
            stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT, cwd=self.workdir)
        out.close()
        deadline = time.monotonic() + timeout
        while True:
            if self.janus_proc.poll() is not None:
                raise RuntimeError("janus exited with %s at start:\n%s"
                                   % (self.janus_proc.returncode, self.janus_log_tail()))
            try:
                inf = janusapi.info(self.url, timeout=1.0)
                if inf.get("janus") == "server_info":
                    break
            except janusapi.JanusUnreachable:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("Janus HTTP API not answering on %s after %ds:\n%s"
                                   % (self.url, timeout, self.janus_log_tail()))
            time.sleep(0.1)
        # The plugin must have loaded its rooms.
        rooms = self.list_rooms()
        missing = [r for r in self.rooms if r not in rooms]
        if missing:
            raise RuntimeError("Janus started without rooms %s (has %s):\n%s"
                               % (missing, rooms, self.janus_log_tail()))
        return self

    def kill_janus(self, sig=signal.SIGKILL):
        """Kills Janus (by PID) and waits for it: every session and PeerConnection vanishes."""
        if self.janus_proc is None or self.janus_proc.poll() is not None:
            return
        kill_tree(self.janus_proc.pid, sig)
        try:
            self.janus_proc.wait(10)
        except subprocess.TimeoutExpired:
            kill_tree(self.janus_proc.pid, signal.SIGKILL)
            self.janus_proc.wait(5)

    def restart_janus(self, timeout=20):
        self.kill_janus()
        return self.start_janus(timeout)

    def janus_log_tail(self, n=60):
        try:
            with open(self.janus_log, errors="replace") as f:
                lines = f.read().splitlines()
        except OSError:
            lines = ["(no janus log at %s)" % self.janus_log]
        return "\n".join(lines[-n:])

    # -- helpers ---------------------------------------------------------------------

    def list_rooms(self):
        s = janusapi.JanusSession(self.url)
        try:
            h = s.attach()
            resp = s.message(h, {"request": "list"})
            return [r.get("room") for r in janusapi.plugin_data(resp).get("list") or []]
        finally:
            s.destroy()

    def participants(self, room=1234):
        """Janus's own list of a room's participants: [{id, display, publisher}]."""
        return janusapi.list_participants(self.url, room)

    def publishers(self, room=1234):
        """{display: feed id} of the participants that publish."""
        return {p.get("display"): p.get("id") for p in self.participants(room) if p.get("publisher")}

    def wait_publishers(self, names, room=1234, timeout=15):
        deadline = time.monotonic() + timeout
        while True:
            pubs = self.publishers(room)
            if all(n in pubs for n in names):
                return pubs
            if time.monotonic() > deadline:
                raise AssertionError("publishers %s not all in Janus room %d after %ds (has %s)"
                                     % (list(names), room, timeout, pubs))
            time.sleep(0.2)

    def kick_all(self, room=1234, timeout=10):
        """Kicks every participant out of a room (leftovers of an earlier test) and waits
        until the room is empty."""
        s = janusapi.JanusSession(self.url)
        try:
            h = s.attach()
            deadline = time.monotonic() + timeout
            while True:
                resp = s.message(h, {"request": "listparticipants", "room": room})
                people = janusapi.plugin_data(resp).get("participants") or []
                if not people:
                    return
                if time.monotonic() > deadline:
                    raise AssertionError("room %d not empty after kicking: %s" % (room, people))
                for p in people:
                    with contextlib.suppress(janusapi.JanusError):
                        s.message(h, {"request": "kick", "room": room, "id": p["id"], "secret": ADMIN_SECRET})
                time.sleep(0.2)
        finally:
            s.destroy()

    # -- peers -----------------------------------------------------------------------

    def gst_publisher(self, name, codec="vp8", color="#ff0000", tone=440, room=1234, pin=None,
                      feed_id=None, wait=True, timeout=15):
        """Starts publisher.py in the root namespace (ICE on local_address). With wait,
        returns once Janus receives its audio and video."""
        argv = [PYTHON, os.path.join(HERE, "publisher.py"), "--url", self.url, "--room", str(room),
                "--name", name, "--codec", codec, "--color", color, "--tone", str(tone),
                "--local-address", self.local_address]
        if pin:
            argv += ["--pin", pin]
        if feed_id:
            argv += ["--id", str(feed_id)]
        peer = Peer(self, name, argv, ns=None)
        if wait:
            peer.wait_media(timeout)
        return peer

    def chromium_publisher(self, name, codec=None, room=1234, pin=None, feed_id=None, wait=True, timeout=40):
        """Starts chromium_publisher.js (node + headless Chromium) in the Chromium namespace."""
        if not self.chr_ns:
            raise RuntimeError("this JanusEnv has no Chromium namespace")
        script = os.path.join(HERE, "chromium_publisher.js")
        if not os.path.isdir(os.path.join(HERE, "node_modules", "playwright-core")):
            raise AssertionError("playwright-core is not installed in %s: run `npm ci` there "
                                 "(scripts/install-deps.sh does)" % HERE)
        udd = tempfile.mkdtemp(prefix="chromium-%s-" % name, dir=self.workdir)
        argv = [NODE, script, "--url", self.url, "--room", str(room), "--name", name, "--user-data-dir", udd]
        if codec:
            argv += ["--codec", codec]
        if pin:
            argv += ["--pin", pin]
        if feed_id:
            argv += ["--id", str(feed_id)]
        peer = Peer(self, name, argv, ns=self.chr_ns)
        if wait:
            peer.wait_media(timeout)
        return peer

    def probe(self, expect=(), room=1234, pin=None, duration=6.0, timeout=60, min_frames=1, min_audio=1):
        """Runs subscriber_probe.py from the root namespace; returns (exit code, report)."""
        argv = [PYTHON, os.path.join(HERE, "subscriber_probe.py"), "--url", self.url, "--room", str(room),
                "--local-address", self.local_address, "--duration", str(duration),
                "--min-frames", str(min_frames), "--min-audio", str(min_audio)]
        if expect:
            argv += ["--expect", ",".join(expect)]
        if pin:
            argv += ["--pin", pin]
        proc = self.spawn(argv, log_name="probe")
        try:
            stdout, _ = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            kill_tree(proc.pid)
            stdout, _ = proc.communicate()
        try:
            report = json.loads(stdout.decode("utf-8", "replace") or "{}")
        except ValueError:
            report = {"errors": ["probe printed no JSON: %r" % stdout[-500:]]}
        return proc.returncode, report

    def spawn(self, argv, ns=None, log_name=None, stdout=subprocess.PIPE, env=None):
        """Starts a process (in namespace `ns` if given) tracked for cleanup. Its stderr
        goes to WORKDIR/<log_name>.log."""
        if ns:
            argv = ["ip", "netns", "exec", ns] + list(argv)
        log_name = log_name or os.path.basename(argv[0])
        err = open(os.path.join(self.workdir, "%s.log" % log_name), "a")
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=stdout, stderr=err,
                                cwd=self.workdir, env=env)
        err.close()
        with self._lock:
            self.procs.append(proc)
        return proc

    def log_path(self, log_name):
        return os.path.join(self.workdir, "%s.log" % log_name)

    # -- teardown --------------------------------------------------------------------

    def close(self):
        """Kills every process started here (by PID, with descendants), deletes the
        namespaces (which removes the veths) and the temporary folder. Idempotent."""
        if self._closed:
            return
        self._closed = True
        with self._lock:
            procs = list(self.procs)
        for p in procs:
            if p.poll() is None:
                kill_tree(p.pid, signal.SIGKILL)
        if self.janus_proc is not None and self.janus_proc.poll() is None:
            kill_tree(self.janus_proc.pid, signal.SIGKILL)
        for p in procs + ([self.janus_proc] if self.janus_proc else []):
            with contextlib.suppress(Exception):
                p.wait(5)
            for stream in (p.stdout,):
                with contextlib.suppress(Exception):
                    if stream:
                        stream.close()
        for name in reversed(self._created_ns):
            _delete_ns(name)
        # The host end of the veth goes with its peer; make sure anyway.
        if self.slot is not None:
            with contextlib.suppress(RuntimeError, subprocess.TimeoutExpired):
                if self.veth_host in run(["ip", "-o", "link", "show"], check=False):
                    run(["ip", "link", "del", self.veth_host], check=False)
        with contextlib.suppress(ValueError):
            _live_envs.remove(self)
        if self.own_workdir:
            if KEEP:
                note("kept %s" % self.workdir)
            else:
                shutil.rmtree(self.workdir, True)


class Peer:
    """A publisher process (publisher.py or chromium_publisher.js) and the progress lines
    it prints (JOINED id, PUBLISHED, WEBRTCUP, MEDIA kind, LEFT, LOST, FAILED), each with
    the time.monotonic() it was read at."""

    def __init__(self, env, name, argv, ns=None):
        self.env = env
        self.name = name
        self.log_name = "peer-%s" % name
        self.lines = []
        self._cond = threading.Condition()
        self.proc = env.spawn(argv, ns=ns, log_name=self.log_name)
        self.started_at = time.monotonic()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self):
        for raw in iter(self.proc.stdout.readline, b""):
            line = raw.decode("utf-8", "replace").strip()
            with self._cond:
                self.lines.append((time.monotonic(), line))
                self._cond.notify_all()
        with self._cond:
            self.lines.append((time.monotonic(), "EXIT"))
            self._cond.notify_all()

    def seen(self, prefix):
        """The time of the first line starting with prefix, or None."""
        with self._cond:
            for t, line in self.lines:
                if line.startswith(prefix):
                    return t
        return None

    def line(self, prefix):
        with self._cond:
            for _, line in self.lines:
                if line.startswith(prefix):
                    return line
        return None

    @property
    def feed_id(self):
        line = self.line("JOINED ")
        return int(line.split()[1]) if line else None

    def wait_line(self, prefix, timeout):
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                for t, line in self.lines:
                    if line.startswith(prefix):
                        return t
                    if line.startswith("FAILED") or line == "EXIT" or line.startswith("LOST"):
                        raise AssertionError("publisher %s: %s while waiting for %s\n%s"
                                             % (self.name, line, prefix, self.log_tail()))
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError("publisher %s: no %s within %.0fs (lines %s)\n%s"
                                         % (self.name, prefix, timeout, [l for _, l in self.lines],
                                            self.log_tail()))
                self._cond.wait(min(left, 0.5))

    def wait_media(self, timeout=15):
        """Waits until Janus receives both audio and video; returns that time."""
        t1 = self.wait_line("MEDIA audio", timeout)
        t2 = self.wait_line("MEDIA video", max(0.1, timeout - (time.monotonic() - self.started_at)))
        return max(t1, t2)

    def log_tail(self, n=30):
        try:
            with open(self.env.log_path(self.log_name), errors="replace") as f:
                return "\n".join(f.read().splitlines()[-n:])
        except OSError:
            return "(no log)"

    def running(self):
        return self.proc.poll() is None

    def leave(self, timeout=15):
        """SIGTERM (unpublish, leave, destroy) and wait for the exit; returns the time the
        signal was sent."""
        t = time.monotonic()
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                kill_tree(self.proc.pid)
                self.proc.wait(5)
                raise AssertionError("publisher %s ignored SIGTERM for %ds\n%s" % (self.name, timeout, self.log_tail()))
        return t

    def kill(self):
        if self.proc.poll() is None:
            kill_tree(self.proc.pid)
            self.proc.wait(10)


if __name__ == "__main__":
    # Manual use: python3 janusenv.py  -> builds the environment, prints it, waits for Ctrl-C.
    env = JanusEnv().start()
    print(json.dumps({"url": env.url, "local_address": env.local_address, "sfu_ns": env.sfu_ns,
                      "chromium_ns": env.chr_ns, "workdir": env.workdir, "rooms": env.list_rooms()}))
    sys.stdout.flush()
    try:
        signal.pause()
    except KeyboardInterrupt:
        pass
