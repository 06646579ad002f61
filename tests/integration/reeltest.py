"""reeltest: harness for reel's integration tests.

Drives the real `reeld` binary over HTTP (127.0.0.1 only) and checks what a viewer
would see in the outputs: ffprobe facts, tile colours of decoded frames, frozen
frames, timestamp gaps and sine tones in the decoded audio.

Environment:
  REELD             path of the reeld binary (meson sets it)
  REEL_SOURCE_ROOT  root of the source tree (meson sets it; default: ../.. of this file)
  REEL_TEST_KEEP=1  keep every temporary directory (logs, config, recordings)
  REEL_TEST_VERBOSE=1  print reeld's stderr live

Stdlib + numpy only; run with /usr/bin/python3.
"""

import contextlib
import http.client
import json
import math
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import unittest

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE_ROOT = os.path.abspath(os.environ.get("REEL_SOURCE_ROOT") or os.path.join(HERE, "..", ".."))
KEEP = os.environ.get("REEL_TEST_KEEP") == "1"
VERBOSE = os.environ.get("REEL_TEST_VERBOSE") == "1"

EXIT_CONFIG = 78  # EX_CONFIG
LISTEN_RE = re.compile(r"reeld: listening on http://(\[[^\]]+\]|[^\s:/]+):(\d+)")
TERMINAL_STATES = ("finished", "failed")

_DEFAULT = object()


def note(msg):
    sys.stderr.write("[reeltest] %s\n" % msg)
    sys.stderr.flush()


def reeld_path():
    path = os.environ.get("REELD")
    if not path:
        for cand in ("build", "_build", "builddir"):
            p = os.path.join(SOURCE_ROOT, cand, "src", "reeld", "reeld")
            if os.access(p, os.X_OK):
                path = p
                break
    if not path or not os.access(path, os.X_OK):
        raise RuntimeError("reeld binary not found: set REELD=/path/to/reeld (meson test does)")
    return path


def free_port():
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def port_open(port, host="127.0.0.1", timeout=0.5):
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def wait_for(predicate, timeout, interval=0.1, what="condition"):
    """Polls predicate() until it returns a truthy value; returns it or raises AssertionError."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError("timed out after %.1fs waiting for %s" % (timeout, what))
        time.sleep(interval)


def add_cleanup(tc, fn, *args):
    """tc.addCleanup, or addClassCleanup when tc is a TestCase class (setUpClass fixtures)."""
    if isinstance(tc, type):
        tc.addClassCleanup(fn, *args)
    else:
        tc.addCleanup(fn, *args)


def failed(tc):
    """Whether the test (or, for a class, any test of it) failed: decides log dumps."""
    if isinstance(tc, type):
        return not getattr(tc, "_class_ready", False) or getattr(tc, "_any_failed", True)
    if isinstance(tc, ReelTestCase):
        return tc.outcome_failed()
    return True


def make_tempdir(tc, prefix="reel-it-"):
    """A temporary directory removed when the test ends; kept (and named on stderr) when
    the test failed or with REEL_TEST_KEEP=1, for the logs, recordings and saved frames."""
    path = tempfile.mkdtemp(prefix=prefix)

    def cleanup():
        if KEEP or failed(tc):
            note("kept %s" % path)
        else:
            shutil.rmtree(path, True)
    add_cleanup(tc, cleanup)
    return path


def _child_pids(pid):
    """Direct children of pid (from /proc), for stopping a process tree we started."""
    kids = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % entry) as f:
                stat = f.read()
        except OSError:
            continue
        # pid (comm) state ppid ...; comm may contain spaces and parentheses
        try:
            ppid = int(stat[stat.rindex(")") + 2:].split()[1])
        except (ValueError, IndexError):
            continue
        if ppid == pid:
            kids.append(int(entry))
    return kids


_SUBREAPER = None


def become_subreaper():
    """Makes this process the reaper of orphaned descendants (prctl PR_SET_CHILD_SUBREAPER),
    so nginx workers outliving their master can be waited for instead of left as zombies."""
    global _SUBREAPER
    if _SUBREAPER is None:
        try:
            import ctypes
            libc = ctypes.CDLL(None, use_errno=True)
            _SUBREAPER = libc.prctl(36, 1, 0, 0, 0) == 0
        except (OSError, AttributeError):
            _SUBREAPER = False
    return _SUBREAPER


def _reap(pids, timeout=2.0):
    """Waits for (reaps) processes that became our children; ignores the others."""
    deadline = time.monotonic() + timeout
    pending = set(pids)
    while pending and time.monotonic() < deadline:
        for pid in list(pending):
            try:
                done, _ = os.waitpid(pid, os.WNOHANG)
            except ChildProcessError:
                pending.discard(pid)
                continue
            if done:
                pending.discard(pid)
        if pending:
            time.sleep(0.02)


def _proc_state(pid):
    """State letter of /proc/PID/stat (R, S, T, Z...) or None if gone."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            stat = f.read()
    except OSError:
        return None
    return stat[stat.rindex(")") + 2:].split()[0]


def _kill_pid(pid, sig):
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.kill(pid, sig)


class ReelTestCase(unittest.TestCase):
    """TestCase that knows, in its cleanups, whether the test failed (to dump logs).
    Fixtures made in setUpClass (tc = the class) dump theirs if any test of the class failed."""

    _any_failed = False

    def setUp(self):
        super().setUp()
        self.addCleanup(self._note_failure)

    def _note_failure(self):
        if self.outcome_failed():
            type(self)._any_failed = True

    def outcome_failed(self):
        """Whether this test (or one of its subtests) has failed or errored so far."""
        result = getattr(getattr(self, "_outcome", None), "result", None)
        if result is None:
            return True
        for test, _ in list(getattr(result, "failures", [])) + list(getattr(result, "errors", [])):
            if test is self or getattr(test, "test_case", None) is self:
                return True
        return False

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls._any_failed = False

    def __init_subclass__(cls, **kwargs):
        # Remember whether the subclass's setUpClass completed: if it raised, no test runs
        # and the class fixtures' cleanups must still dump their logs.
        super().__init_subclass__(**kwargs)
        own = cls.__dict__.get("setUpClass")
        if own is None:
            return
        func = own.__func__

        def wrapped(klass):
            klass._class_ready = False
            func(klass)
            klass._class_ready = True
        cls.setUpClass = classmethod(wrapped)


def main():
    """unittest.main with verbose output; exits non-zero on failure."""
    unittest.main(verbosity=2)


# --------------------------------------------------------------------------------------
# reeld


def config_text(sections):
    """GKeyFile text from {group: {key: value}}."""
    out = []
    for group, keys in sections.items():
        out.append("[%s]" % group)
        for k, v in keys.items():
            if isinstance(v, bool):
                v = "true" if v else "false"
            out.append("%s = %s" % (k, v))
        out.append("")
    return "\n".join(out)


class ReelDaemon:
    """One reeld process with its own config, recordings dir and state db.

        d = ReelDaemon(self)          # started, cleaned up at the end of the test
        st, body, raw = d.api("GET", "/v1/recordings")
    """

    def __init__(self, tc, config=None, workdir=None, start=True, env=None, token=None):
        self.tc = tc
        self.workdir = workdir or make_tempdir(tc, "reel-d-")
        self.token = token or secrets.token_hex(16)
        self.recordings_dir = os.path.join(self.workdir, "recordings")
        self.state_db = os.path.join(self.workdir, "reel.db")
        self.config_path = os.path.join(self.workdir, "reel.conf")
        self.sections = {
            "api": {"listen": "127.0.0.1:0", "token": self.token},
            "storage": {"recordings_dir": self.recordings_dir, "state_db": self.state_db},
            "media": {"pipelines_dir": os.path.join(SOURCE_ROOT, "pipelines")},
        }
        for group, keys in (config or {}).items():
            self.sections.setdefault(group, {}).update(keys)
            for k in [k for k, v in self.sections[group].items() if v is None]:
                del self.sections[group][k]
        self.env = dict(os.environ)
        # The environment overrides the config's token: keep the test's own.
        self.env.pop("REEL_API_TOKEN", None)
        self.env.pop("CREDENTIALS_DIRECTORY", None)
        self.env.pop("NOTIFY_SOCKET", None)
        if env:
            self.env.update(env)
        self.proc = None
        self.host = self.port = None
        self.generation = 0
        self._lines = []
        self._lock = threading.Lock()
        self._ready = threading.Event()
        self._thread = None
        self._logfile = None
        self.write_config()
        add_cleanup(tc, self._cleanup)
        if start:
            self.start()

    # -- process ---------------------------------------------------------------------

    def write_config(self, text=None):
        with open(self.config_path, "w") as f:
            f.write(text if text is not None else config_text(self.sections))

    def spawn(self):
        """Starts reeld without waiting for it to listen."""
        assert self.proc is None or self.proc.poll() is not None, "reeld already running"
        self.generation += 1
        if self._logfile:
            with contextlib.suppress(Exception):
                self._logfile.close()
        self._ready = threading.Event()
        self.host = self.port = None
        log_path = os.path.join(self.workdir, "reeld-%d.log" % self.generation)
        self._logfile = open(log_path, "w")
        self._logfile.write("# %s --config %s\n" % (reeld_path(), self.config_path))
        self.proc = subprocess.Popen(
            [reeld_path(), "--config", self.config_path],
            stdin=subprocess.DEVNULL, stdout=self._logfile, stderr=subprocess.PIPE,
            cwd=self.workdir, env=self.env)
        self._thread = threading.Thread(target=self._drain, args=(self.proc, self._logfile, self._ready),
                                        daemon=True)
        self._thread.start()
        return self.proc

    def start(self, timeout=20):
        self.spawn()
        if not self._ready.wait(timeout) or self.port is None:
            code = self.proc.poll()
            raise AssertionError("reeld did not print its listening line within %ds (exit code %s)\n%s"
                                 % (timeout, code, self.log_tail()))
        return self

    def restart(self, timeout=20):
        """Starts a new reeld on the same config, recordings dir and state db."""
        if self.running():
            self.stop()
        return self.start(timeout)

    def _drain(self, proc, logfile, ready):
        for raw in iter(proc.stderr.readline, b""):
            line = raw.decode("utf-8", "replace").rstrip("\n")
            with self._lock:
                self._lines.append(line)
            with contextlib.suppress(ValueError):
                logfile.write(line + "\n")
                logfile.flush()
            if VERBOSE:
                sys.stderr.write("[reeld] %s\n" % line)
            if not ready.is_set():
                m = LISTEN_RE.search(line)
                if m:
                    self.host = m.group(1).strip("[]")
                    self.port = int(m.group(2))
                    ready.set()
        proc.stderr.close()
        ready.set()

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    @property
    def pid(self):
        return self.proc.pid

    def sigterm(self):
        _kill_pid(self.proc.pid, signal.SIGTERM)

    def sigkill(self):
        _kill_pid(self.proc.pid, signal.SIGKILL)

    def wait_exit(self, timeout):
        """Returns the exit code, or None if reeld still runs after timeout seconds."""
        try:
            code = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            return None
        if self._thread:
            self._thread.join(5)
        return code

    def stop(self, timeout=30):
        """SIGTERM, then SIGKILL after timeout; returns the exit code."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.sigterm()
            code = self.wait_exit(timeout)
            if code is None:
                note("reeld (pid %d) ignored SIGTERM for %ds: SIGKILL" % (self.proc.pid, timeout))
                self.sigkill()
                code = self.wait_exit(10)
        else:
            code = self.wait_exit(1)
        if self._logfile:
            with contextlib.suppress(Exception):
                self._logfile.close()
        return code

    def _cleanup(self):
        self.stop()
        if failed(self.tc):
            sys.stderr.write("\n===== reeld log (%s), last lines =====\n%s\n===== end of reeld log =====\n"
                             % (self.workdir, self.log_tail(120)))

    # -- logs ------------------------------------------------------------------------

    def log_lines(self):
        with self._lock:
            return list(self._lines)

    def log_text(self):
        return "\n".join(self.log_lines())

    def log_tail(self, n=60):
        lines = self.log_lines()
        return "\n".join(lines[-n:]) if lines else "(reeld wrote nothing to stderr)"

    def assert_log_clean(self):
        """No GLib criticals/fatal errors or sanitizer reports in reeld's stderr."""
        bad = [l for l in self.log_lines()
               if re.search(r"-CRITICAL \*\*|CRITICAL \*\*:|ERROR \*\*:|AddressSanitizer|runtime error:", l)]
        if bad:
            raise AssertionError("reeld logged criticals/errors:\n" + "\n".join(bad[:20]))

    # -- HTTP ------------------------------------------------------------------------

    def api(self, method, path, body=None, token=_DEFAULT, raw_body=None, headers=None, timeout=15):
        """One HTTP request; returns (status, parsed_json_or_None, raw_bytes).

        body: an object sent as JSON; raw_body: bytes/str sent as is (Content-Type
        application/json unless headers say otherwise). token=None sends no
        Authorization header. A header given as None in `headers` is not sent.
        The response headers are left in self.last_headers.
        """
        assert self.port, "reeld is not listening"
        hdrs = {}
        if token is _DEFAULT:
            token = self.token
        if token is not None:
            hdrs["Authorization"] = "Bearer %s" % token
        data = None
        if body is not None:
            data = json.dumps(body).encode()
        elif raw_body is not None:
            data = raw_body.encode("utf-8") if isinstance(raw_body, str) else raw_body
        if data is not None:
            hdrs["Content-Type"] = "application/json"
        for k, v in (headers or {}).items():
            hdrs.pop(k, None)
            for existing in [e for e in hdrs if e.lower() == k.lower()]:
                del hdrs[existing]
            if v is not None:
                hdrs[k] = v
        conn = http.client.HTTPConnection(self.host, self.port, timeout=timeout)
        try:
            try:
                conn.request(method, path, body=data, headers=hdrs)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the server may answer (413) before reading the whole body
            resp = conn.getresponse()
            raw = resp.read()
            self.last_headers = dict(resp.getheaders())
            status = resp.status
        except (http.client.HTTPException, OSError) as e:
            raise AssertionError("%s %s: no HTTP answer (%s: %s); reeld %s\n%s"
                                 % (method, path[:100], type(e).__name__, e,
                                    "is running" if self.running() else "exited with %s" % self.proc.poll(),
                                    self.log_tail())) from e
        finally:
            conn.close()
        try:
            parsed = json.loads(raw) if raw else None
        except ValueError:
            parsed = None
        return status, parsed, raw

    def raw_request(self, data, timeout=10):
        """Sends raw bytes on a new connection; returns (status, parsed_json_or_None, raw_body)."""
        with socket.create_connection((self.host, self.port), timeout=timeout) as s:
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                s.sendall(data)
            buf = b""
            while True:
                try:
                    chunk = s.recv(65536)
                except ConnectionResetError:
                    break
                except socket.timeout:
                    break
                if not chunk:
                    break
                buf += chunk
                head, sep, rest = buf.partition(b"\r\n\r\n")
                if sep:
                    m = re.search(rb"(?im)^content-length:\s*(\d+)", head)
                    if m and len(rest) >= int(m.group(1)):
                        break
        head, _, body = buf.partition(b"\r\n\r\n")
        m = re.match(rb"HTTP/1\.[01] (\d{3})", head)
        if not m:
            raise AssertionError("no HTTP response to raw request %r...: got %r" % (data[:80], buf[:200]))
        try:
            parsed = json.loads(body) if body else None
        except ValueError:
            parsed = None
        return int(m.group(1)), parsed, body

    def healthz(self):
        status, _, _ = self.api("GET", "/healthz", token=None)
        return status

    # -- recordings ------------------------------------------------------------------

    def create(self, body, expect=201):
        status, rec, raw = self.api("POST", "/v1/recordings", body)
        if status != expect:
            raise AssertionError("POST /v1/recordings -> %d (expected %d): %s\n%s"
                                 % (status, expect, raw[:2000].decode("utf-8", "replace"), self.log_tail()))
        return rec

    def get(self, rec_id):
        status, rec, raw = self.api("GET", "/v1/recordings/%s" % rec_id)
        if status != 200:
            raise AssertionError("GET /v1/recordings/%s -> %d: %s" % (rec_id, status, raw[:2000]))
        return rec

    def stop_recording(self, rec_id, expect=202):
        status, body, raw = self.api("POST", "/v1/recordings/%s/stop" % rec_id)
        if expect is not None and status != expect:
            raise AssertionError("POST /v1/recordings/%s/stop -> %d (expected %d): %s"
                                 % (rec_id, status, expect, raw[:2000]))
        return status, body

    def wait_state(self, rec_id, states, timeout=30, interval=0.2):
        """Polls the recording until its state is in `states`; returns the object.
        Fails early if it reaches a terminal state that was not asked for."""
        if isinstance(states, str):
            states = (states,)
        deadline = time.monotonic() + timeout
        rec = None
        while True:
            rec = self.get(rec_id)
            if rec.get("state") in states:
                return rec
            if rec.get("state") in TERMINAL_STATES:
                raise AssertionError("recording %s reached %s while waiting for %s:\n%s\n%s"
                                     % (rec_id, rec.get("state"), "|".join(states), pretty(rec), self.log_tail()))
            if time.monotonic() >= deadline:
                raise AssertionError("recording %s still %s after %.0fs (waiting for %s):\n%s\n%s"
                                     % (rec_id, rec.get("state"), timeout, "|".join(states), pretty(rec),
                                        self.log_tail()))
            time.sleep(interval)

    def wait_output(self, rec_id, states, timeout=15, interval=0.1, **match):
        """Polls until the one output matching `match` (e.g. id="out_1", type="rtmp") has a
        state in `states` (None in states = the output is gone); returns it (or None)."""
        if isinstance(states, str):
            states = (states,)
        deadline = time.monotonic() + timeout
        while True:
            rec = self.get(rec_id)
            found = [o for o in rec.get("outputs") or [] if all(o.get(k) == v for k, v in match.items())]
            out = found[0] if len(found) == 1 else None
            if (out.get("state") if out else None) in states:
                return out
            if time.monotonic() >= deadline:
                raise AssertionError("output %s not in state %s after %.0fs:\n%s\n%s"
                                     % (match, "|".join(map(str, states)), timeout, pretty(rec), self.log_tail()))
            time.sleep(interval)

    def recording_files(self):
        """Every file under recordings_dir (relative paths)."""
        out = []
        for root, _, files in os.walk(self.recordings_dir):
            for f in files:
                out.append(os.path.relpath(os.path.join(root, f), self.recordings_dir))
        return sorted(out)

    def output_path(self, output):
        """Absolute path of a file output (paths are absolute when recordings_dir is)."""
        path = output.get("path")
        if path is None:
            raise AssertionError("file output without path: %s" % pretty(output))
        if not os.path.isabs(path):
            path = os.path.join(self.workdir, path)
        return path


def pretty(obj):
    return json.dumps(obj, indent=2, sort_keys=True)


def participant(name, color, tone_hz, join_at_s=None, leave_at_s=None):
    p = {"name": name, "color": color, "tone_hz": tone_hz}
    if join_at_s is not None:
        p["join_at_s"] = join_at_s
    if leave_at_s is not None:
        p["leave_at_s"] = leave_at_s
    return p


def recording_body(participants, outputs=None, max_duration_s=None, layout="grid", video=None):
    body = {
        "room": {"provider": "synthetic", "participants": participants},
        "layout": layout,
        "outputs": outputs if outputs is not None else [{"type": "file", "format": "mp4"}],
    }
    if video:
        body["video"] = video
    if max_duration_s is not None:
        body["max_duration_s"] = max_duration_s
    return body


def output_by(rec, **match):
    """The one output of `rec` whose fields equal `match` (e.g. format="mp4")."""
    found = [o for o in rec.get("outputs") or [] if all(o.get(k) == v for k, v in match.items())]
    if len(found) != 1:
        raise AssertionError("expected one output with %s, got %d in:\n%s" % (match, len(found), pretty(rec)))
    return found[0]


def live_names(rec):
    """Names of the participants that are in the call now: listed with at least one live track."""
    return {p.get("name") for p in rec.get("participants") or []
            if any(t.get("state") == "live" for t in p.get("tracks") or [])}


def hex_to_rgb(color):
    color = color.lstrip("#")
    return tuple(int(color[i:i + 2], 16) for i in (0, 2, 4))


# --------------------------------------------------------------------------------------
# nginx-rtmp


class NginxRtmp:
    """nginx + rtmp module on 127.0.0.1:<port>, recording every stream to <dir>/rec/*.flv."""

    MODULE = "/usr/lib/nginx/modules/ngx_rtmp_module.so"

    def __init__(self, tc, port=None, start=True):
        self.tc = tc
        self.dir = make_tempdir(tc, "reel-nginx-")
        self.port = port or free_port()
        self.rec_dir = os.path.join(self.dir, "rec")
        os.makedirs(self.rec_dir)
        os.makedirs(os.path.join(self.dir, "logs"), exist_ok=True)
        self.conf = os.path.join(self.dir, "nginx.conf")
        user = "user root;" if os.geteuid() == 0 else ""
        with open(self.conf, "w") as f:
            f.write("""load_module %(module)s;
daemon off; %(user)s
pid %(dir)s/nginx.pid; error_log %(dir)s/error.log info;
worker_processes 1;
events { worker_connections 64; }
rtmp { server { listen 127.0.0.1:%(port)d; application live { live on; record all;
  record_path %(rec)s; record_unique on; allow publish 127.0.0.1; deny publish all; } } }
""" % {"module": self.MODULE, "user": user, "dir": self.dir, "port": self.port, "rec": self.rec_dir})
        self.proc = None
        add_cleanup(tc, self._cleanup)
        if start:
            self.start()

    def url(self, key="streamkey"):
        return "rtmp://127.0.0.1:%d/live/%s" % (self.port, key)

    def start(self, timeout=10):
        if not os.path.exists(self.MODULE):
            raise unittest.SkipTest("nginx rtmp module missing (%s)" % self.MODULE)
        become_subreaper()
        with open(os.path.join(self.dir, "stderr.log"), "w") as err:
            self.proc = subprocess.Popen(
                ["nginx", "-c", self.conf, "-p", self.dir, "-e", os.path.join(self.dir, "error.log")],
                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=err)
        deadline = time.monotonic() + timeout
        while not port_open(self.port):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise AssertionError("nginx-rtmp did not start on port %d:\n%s" % (self.port, self.error_log()))
            time.sleep(0.05)
        return self

    def kill(self):
        """SIGKILL master and workers: the server disappears, connections reset.

        The master is frozen first (SIGSTOP): a master that sees a worker die forks a new
        one, which would outlive the test."""
        if self.proc is None or self.proc.poll() is not None:
            return
        master = self.proc.pid
        _kill_pid(master, signal.SIGSTOP)
        deadline = time.monotonic() + 5
        while _proc_state(master) not in ("T", "t", "Z", None) and time.monotonic() < deadline:
            time.sleep(0.01)
        workers = _child_pids(master)
        for pid in workers:
            _kill_pid(pid, signal.SIGKILL)
        _kill_pid(master, signal.SIGKILL)
        self.proc.wait(10)
        _reap(workers)  # re-parented to us (subreaper), else to init

    def stop(self, timeout=10):
        """Graceful stop (SIGQUIT): open FLV recordings get closed."""
        if self.proc is None or self.proc.poll() is not None:
            return
        _kill_pid(self.proc.pid, signal.SIGQUIT)
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()

    def _cleanup(self):
        if self.proc is not None and self.proc.poll() is None:
            self.kill()
        if failed(self.tc):
            sys.stderr.write("\n===== nginx error.log =====\n%s\n" % self.error_log()[-4000:])

    def error_log(self):
        try:
            with open(os.path.join(self.dir, "error.log"), errors="replace") as f:
                return f.read()
        except OSError:
            return "(no error.log)"

    def flv_files(self):
        return sorted(os.path.join(self.rec_dir, f) for f in os.listdir(self.rec_dir) if f.endswith(".flv"))

    def wait_flv_settled(self, timeout=15, quiet_s=1.5):
        """Waits until there is at least one non-empty FLV and no FLV grew for quiet_s."""
        deadline = time.monotonic() + timeout
        last, since = None, time.monotonic()
        while time.monotonic() < deadline:
            sizes = tuple((f, os.path.getsize(f)) for f in self.flv_files())
            if sizes != last:
                last, since = sizes, time.monotonic()
            elif sizes and any(s > 0 for _, s in sizes) and time.monotonic() - since >= quiet_s:
                return [f for f, s in sizes if s > 0]
            time.sleep(0.2)
        raise AssertionError("no settled FLV in %s after %ds: %s\n%s"
                             % (self.rec_dir, timeout, last, self.error_log()[-3000:]))


# --------------------------------------------------------------------------------------
# ffprobe / ffmpeg


def run(cmd, timeout=120, check=True, binary=False):
    p = subprocess.run(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       timeout=timeout)
    if check and p.returncode != 0:
        raise AssertionError("%s exited %d:\n%s" % (" ".join(cmd), p.returncode,
                                                    p.stderr.decode("utf-8", "replace")[-3000:]))
    return p


def ffprobe(path):
    """ffprobe's format + streams as a dict; AssertionError if ffprobe cannot read the file."""
    p = run(["ffprobe", "-v", "error", "-show_format", "-show_streams", "-of", "json", path])
    info = json.loads(p.stdout)
    info["_stderr"] = p.stderr.decode("utf-8", "replace")
    return info


def streams(info, kind):
    return [s for s in info.get("streams", []) if s.get("codec_type") == kind]


def video_stream(info):
    vs = streams(info, "video")
    if not vs:
        raise AssertionError("no video stream: %s" % pretty(info))
    return vs[0]


def audio_stream(info):
    aus = streams(info, "audio")
    if not aus:
        raise AssertionError("no audio stream: %s" % pretty(info))
    return aus[0]


def format_duration(info):
    d = info.get("format", {}).get("duration")
    return float(d) if d not in (None, "N/A") else None


def probe_summary(info):
    """A short text of what ffprobe saw, for failure messages."""
    parts = ["format=%s duration=%s" % (info.get("format", {}).get("format_name"),
                                        info.get("format", {}).get("duration"))]
    for s in info.get("streams", []):
        parts.append("#%s %s %s profile=%s pix_fmt=%s %sx%s rate=%s sample_rate=%s"
                     % (s.get("index"), s.get("codec_type"), s.get("codec_name"), s.get("profile"),
                        s.get("pix_fmt"), s.get("width"), s.get("height"), s.get("avg_frame_rate"),
                        s.get("sample_rate")))
    return "; ".join(parts)


def check_av_format(info, width=1280, height=720, fps=30, audio_rate=48000, audio_codec="aac"):
    """Problems (list of text) against the output contract: H.264 High (not 4:4:4), yuv420p,
    WxH, fps, AAC 48 kHz."""
    problems = []
    vs, aus = streams(info, "video"), streams(info, "audio")
    if len(vs) != 1:
        problems.append("expected 1 video stream, got %d" % len(vs))
    if len(aus) != 1:
        problems.append("expected 1 audio stream, got %d" % len(aus))
    if vs:
        v = vs[0]
        if v.get("codec_name") != "h264":
            problems.append("video codec %s, expected h264" % v.get("codec_name"))
        if v.get("profile") != "High":
            problems.append("H.264 profile %r, expected 'High' (not 4:4:4/10/Main/Baseline)" % v.get("profile"))
        if v.get("pix_fmt") != "yuv420p":
            problems.append("pix_fmt %s, expected yuv420p" % v.get("pix_fmt"))
        if (v.get("width"), v.get("height")) != (width, height):
            problems.append("size %sx%s, expected %dx%d" % (v.get("width"), v.get("height"), width, height))
        rate = v.get("avg_frame_rate") or v.get("r_frame_rate") or "0/1"
        num, _, den = rate.partition("/")
        r = float(num) / float(den or 1) if float(den or 1) else 0.0
        rr = v.get("r_frame_rate") or "0/1"
        rnum, _, rden = rr.partition("/")
        r2 = float(rnum) / float(rden or 1) if float(rden or 1) else 0.0
        if abs(r - fps) > 0.5 and abs(r2 - fps) > 0.5:
            problems.append("frame rate avg=%s r=%s, expected %d" % (rate, rr, fps))
    if aus:
        a = aus[0]
        if a.get("codec_name") != audio_codec:
            problems.append("audio codec %s, expected %s" % (a.get("codec_name"), audio_codec))
        if str(a.get("sample_rate")) != str(audio_rate):
            problems.append("audio sample rate %s, expected %d" % (a.get("sample_rate"), audio_rate))
    return problems


def packets(path, stream="v:0"):
    """Packets of one stream: list of dicts with float pts, dts, duration (None if unknown)
    and flags, in file order."""
    p = run(["ffprobe", "-v", "error", "-select_streams", stream, "-show_entries",
             "packet=pts_time,dts_time,duration_time,flags", "-of", "json", path])
    out = []
    for pk in json.loads(p.stdout).get("packets", []):
        def f(key):
            v = pk.get(key)
            return float(v) if v not in (None, "N/A") else None
        out.append({"pts": f("pts_time"), "dts": f("dts_time"), "duration": f("duration_time"),
                    "flags": pk.get("flags", "")})
    return out


def packet_span(path, stream="v:0"):
    """(first pts, end of last packet = pts + duration) of a stream."""
    pks = [p for p in packets(path, stream) if p["pts"] is not None]
    if not pks:
        raise AssertionError("no %s packets with timestamps in %s" % (stream, path))
    first = min(p["pts"] for p in pks)
    end = max(p["pts"] + (p["duration"] or 0.0) for p in pks)
    return first, end


def packet_duration(path, stream="v:0"):
    """Media duration from packets: end of the last video packet minus the first pts."""
    first, end = packet_span(path, stream)
    return end - first


def timestamp_gaps(path, fps=30, tolerance=0.25, stream="v:0", t0=None, t1=None):
    """Irregular steps between consecutive video frames (presentation order).

    Returns a list of (pts, delta) where delta differs from 1/fps by more than
    tolerance*(1/fps), restricted to pts in [t0, t1] when given."""
    pts = sorted(p["pts"] for p in packets(path, stream) if p["pts"] is not None)
    step = 1.0 / fps
    bad = []
    for a, b in zip(pts, pts[1:]):
        if t0 is not None and b < t0:
            continue
        if t1 is not None and a > t1:
            continue
        if abs((b - a) - step) > tolerance * step:
            bad.append((round(a, 4), round(b - a, 4)))
    return bad


def decodes_cleanly(path, timeout=120):
    """(ok, stderr) of `ffmpeg -v error -i FILE -f null -`: ok if it exits 0."""
    p = run(["ffmpeg", "-nostdin", "-v", "error", "-i", path, "-f", "null", "-"], timeout=timeout, check=False)
    return p.returncode == 0, p.stderr.decode("utf-8", "replace")


# --------------------------------------------------------------------------------------
# frames and tile colours


def frame_at(path, t, width=1280, height=720):
    """The decoded frame at time t (seconds) as an (h, w, 3) uint8 RGB array."""
    p = run(["ffmpeg", "-nostdin", "-v", "error", "-ss", "%.3f" % t, "-i", path, "-frames:v", "1",
             "-f", "rawvideo", "-pix_fmt", "rgb24", "-"])
    size = width * height * 3
    if len(p.stdout) < size:
        raise AssertionError("no frame at %.2fs in %s (%d bytes decoded)" % (t, path, len(p.stdout)))
    return np.frombuffer(p.stdout[:size], dtype=np.uint8).reshape(height, width, 3)


def frames_between(path, t0, t1, width=1280, height=720):
    """Every decoded frame from t0 for (t1 - t0) seconds, in order, without frame-rate
    conversion (no duplicated or dropped frames added by ffmpeg)."""
    p = run(["ffmpeg", "-nostdin", "-v", "error", "-ss", "%.3f" % t0, "-i", path, "-t", "%.3f" % (t1 - t0),
             "-map", "0:v:0", "-fps_mode", "passthrough", "-f", "rawvideo", "-pix_fmt", "rgb24", "-"])
    size = width * height * 3
    n = len(p.stdout) // size
    return [np.frombuffer(p.stdout[i * size:(i + 1) * size], dtype=np.uint8).reshape(height, width, 3)
            for i in range(n)]


def changed_pixels(a, b, threshold=40):
    """Number of pixels whose largest channel difference exceeds threshold."""
    d = np.maximum(a, b)
    d -= np.minimum(a, b)
    m = (d > threshold).reshape(-1, 3)
    return int(np.count_nonzero(m[:, 0] | m[:, 1] | m[:, 2]))


def frozen_frames(frames, min_changed=30, threshold=40):
    """Indexes i where frame i+1 does not visibly differ from frame i."""
    return [i for i in range(len(frames) - 1) if changed_pixels(frames[i], frames[i + 1], threshold) < min_changed]


def frozen_regions(frames, rects, min_changed=20, threshold=40):
    """(frame index i, rect index j) where region j of frame i+1 does not visibly differ
    from frame i: one participant's picture stuck while the others move."""
    out = []
    crops = [tuple(int(round(v)) for v in r) for r in rects]
    for i in range(len(frames) - 1):
        for j, (x, y, w, h) in enumerate(crops):
            a = np.ascontiguousarray(frames[i][y:y + h, x:x + w])
            b = np.ascontiguousarray(frames[i + 1][y:y + h, x:x + w])
            if changed_pixels(a, b, threshold) < min_changed:
                out.append((i, j))
    return out


def grid_geometry(n, width=1280, height=720, aspect=16.0 / 9.0):
    """reel's grid: cols = ceil(sqrt(n)), rows = ceil(n / cols), equal cells, each tile the
    16:9 picture fitted and centred in its cell, row-major in join order.

    Returns (tiles, empty_cells, bands): tiles[i] = (x, y, w, h) of participant i's picture;
    empty_cells = cells without a participant; bands = letterbox/pillarbox rectangles around
    tiles (all of these must be black)."""
    if n <= 0:
        return [], [(0, 0, width, height)], []
    cols = int(math.ceil(math.sqrt(n)))
    rows = int(math.ceil(n / cols))
    cw, ch = width / cols, height / rows
    if cw / ch > aspect:
        th, tw = ch, ch * aspect
    else:
        tw, th = cw, cw / aspect
    tiles, empty, bands = [], [], []
    for i in range(rows * cols):
        r, c = divmod(i, cols)
        cx, cy = c * cw, r * ch
        if i >= n:
            empty.append((cx, cy, cw, ch))
            continue
        x, y = cx + (cw - tw) / 2, cy + (ch - th) / 2
        tiles.append((x, y, tw, th))
        if y - cy >= 8:
            bands += [(cx, cy, cw, y - cy), (cx, y + th, cw, cy + ch - (y + th))]
        if x - cx >= 8:
            bands += [(cx, cy, x - cx, ch), (x + tw, cy, cx + cw - (x + tw), ch)]
    return tiles, empty, bands


def median_color(frame, rect, frac=0.5):
    """Median RGB of the central `frac` (per dimension) of rect = (x, y, w, h)."""
    x, y, w, h = rect
    cx, cy = x + w / 2, y + h / 2
    hw, hh = max(1.0, w * frac / 2), max(1.0, h * frac / 2)
    x0, x1 = int(round(cx - hw)), int(round(cx + hw))
    y0, y1 = int(round(cy - hh)), int(round(cy + hh))
    region = frame[max(0, y0):max(y0 + 1, y1), max(0, x0):max(x0 + 1, x1)].reshape(-1, 3)
    return tuple(int(v) for v in np.median(region, axis=0))


def color_close(actual, expected, tolerance=40):
    return all(abs(a - e) <= tolerance for a, e in zip(actual, expected))


def edge_strips(rect, inset=4, depth=12):
    """Four strips just inside rect's left, right, top and bottom edges, each along the
    middle half of its side: where a picture of the wrong shape would leave black."""
    x, y, w, h = rect
    return [(x + inset, y + h / 4, depth, h / 2), (x + w - inset - depth, y + h / 4, depth, h / 2),
            (x + w / 4, y + inset, w / 2, depth), (x + w / 4, y + h - inset - depth, w / 2, depth)]


def check_grid(frame, colors, tolerance=40, edges=False):
    """Problems (list of text) of a frame against the grid of len(colors) tiles:
    each tile's centre has its colour, empty cells and bands are black. With `edges`,
    the tile's colour also reaches its edges (the picture fills its 16:9 tile)."""
    h, w = frame.shape[:2]
    expected = [hex_to_rgb(c) if isinstance(c, str) else tuple(c) for c in colors]
    tiles, empty, bands = grid_geometry(len(expected), w, h)
    problems = []
    for i, (rect, want) in enumerate(zip(tiles, expected)):
        got = median_color(frame, rect)
        if not color_close(got, want, tolerance):
            problems.append("tile %d at %s: median colour %s, expected %s" % (i, _r(rect), got, want))
        for strip in edge_strips(rect) if edges else []:
            got = median_color(frame, strip, frac=1.0)
            if not color_close(got, want, tolerance):
                problems.append("tile %d edge at %s: median colour %s, expected %s"
                                % (i, _r(strip), got, want))
    for rect in empty:
        got = median_color(frame, rect)
        if not color_close(got, (0, 0, 0), tolerance):
            problems.append("empty cell at %s: median colour %s, expected black" % (_r(rect), got))
    for rect in bands:
        got = median_color(frame, rect, frac=0.6)
        if not color_close(got, (0, 0, 0), tolerance):
            problems.append("band at %s: median colour %s, expected black" % (_r(rect), got))
    return problems


def _r(rect):
    return tuple(int(round(v)) for v in rect)


def save_ppm(frame, path):
    """Writes a frame as binary PPM (viewable), for failure diagnostics."""
    h, w = frame.shape[:2]
    with open(path, "wb") as f:
        f.write(b"P6\n%d %d\n255\n" % (w, h))
        f.write(frame.tobytes())
    return path


# --------------------------------------------------------------------------------------
# audio


def decode_audio(path, start=None, duration=None, rate=16000):
    """Decoded audio of the first audio stream, mono, `rate` Hz, as int16 numpy array."""
    cmd = ["ffmpeg", "-nostdin", "-v", "error"]
    if start is not None:
        cmd += ["-ss", "%.3f" % start]
    cmd += ["-i", path]
    if duration is not None:
        cmd += ["-t", "%.3f" % duration]
    cmd += ["-map", "0:a:0", "-ac", "1", "-ar", str(rate), "-f", "s16le", "-acodec", "pcm_s16le", "-"]
    p = run(cmd)
    return np.frombuffer(p.stdout, dtype="<i2")


def tone_levels(samples, rate, freqs, bandwidth_hz=6.0):
    """For each frequency: (fraction of the signal's power within +-bandwidth_hz of it,
    RMS of that band in int16 units). FFT with a Hann window."""
    x = samples.astype(np.float64)
    if len(x) < rate // 10:
        raise AssertionError("too little audio to analyse: %d samples" % len(x))
    x = x - x.mean()
    win = np.hanning(len(x))
    spec = np.abs(np.fft.rfft(x * win)) ** 2
    spec[0] = 0.0
    freqs_axis = np.fft.rfftfreq(len(x), 1.0 / rate)
    total = spec.sum()
    mean_square = float((x ** 2).mean())
    out = {}
    for f in freqs:
        band = (freqs_axis >= f - bandwidth_hz) & (freqs_axis <= f + bandwidth_hz)
        frac = float(spec[band].sum() / total) if total > 0 else 0.0
        out[f] = (frac, math.sqrt(frac * mean_square))
    return out


def detect_tones(samples, rate, freqs, min_fraction=0.02, min_rms=30.0):
    """The subset of `freqs` present as tones: at least min_fraction of the total power in
    the band and an RMS of at least min_rms (int16 units, about -60 dBFS)."""
    levels = tone_levels(samples, rate, freqs)
    return {f for f, (frac, rms) in levels.items() if frac >= min_fraction and rms >= min_rms}


def check_tones(samples, rate, present, absent=(), min_fraction=0.02, max_absent_fraction=0.002):
    """Problems (list of text): a tone of `present` missing, or a tone of `absent` found
    (more than max_absent_fraction of the power)."""
    levels = tone_levels(samples, rate, list(present) + list(absent))
    found = detect_tones(samples, rate, present, min_fraction)
    problems = []
    for f in present:
        if f not in found:
            problems.append("tone %g Hz missing (power fraction %.4f, rms %.1f)" % (f, *levels[f]))
    for f in absent:
        if levels[f][0] > max_absent_fraction:
            problems.append("tone %g Hz present but should not be (power fraction %.4f, rms %.1f)"
                            % (f, *levels[f]))
    return problems


def describe_tones(samples, rate, freqs):
    return ", ".join("%g Hz: %.3f" % (f, v[0]) for f, v in tone_levels(samples, rate, freqs).items())
