"""statetest: helpers for the durable-state tests (schedules, restarts, webhooks).

Builds on tests/integration/reeltest.py (imported from there, not copied): ReelDaemon,
ffprobe helpers. Adds a webhook receiver (http.server on 127.0.0.1, started by the
test, verifying Reel-Signature), time helpers and schedule bodies.
"""

import collections
import contextlib
import datetime
import hashlib
import hmac
import http.server
import json
import os
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))
import reeltest as rt  # noqa: E402

# Tests talk to 127.0.0.1 only: a proxy from the environment must not get in between
# reeld's libcurl and the receiver.
for _k in ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"):
    os.environ.pop(_k, None)
os.environ["no_proxy"] = os.environ["NO_PROXY"] = "127.0.0.1,localhost"

SECRET = "whsec_state_test"
PARTICIPANTS = [rt.participant("Alice", "#ff0000", 440), rt.participant("Bob", "#00ff00", 660)]


def iso(t):
    """RFC 3339 UTC text (milliseconds) of a Unix time."""
    dt = datetime.datetime.fromtimestamp(t, datetime.timezone.utc)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + "%03dZ" % (dt.microsecond // 1000)


def unix(text):
    """Unix time of RFC 3339 text, None for None."""
    if text is None:
        return None
    return datetime.datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def recording(outputs=None, max_duration_s=None):
    return rt.recording_body(PARTICIPANTS, outputs or [{"type": "file", "format": "mp4"}],
                             max_duration_s=max_duration_s)


def schedule_body(start, duration_s=None, rrule=None, timezone=None, rec=None, stop=None):
    body = {"start_at": iso(start) if isinstance(start, (int, float)) else start,
            "recording": rec or recording()}
    if duration_s is not None:
        body["duration_s"] = duration_s
    if stop is not None:
        body["stop_at"] = iso(stop)
    if rrule is not None:
        body["rrule"] = rrule
    if timezone is not None:
        body["timezone"] = timezone
    return body


def create_schedule(d, body, expect=201):
    status, obj, raw = d.api("POST", "/v1/schedules", body)
    if status != expect:
        raise AssertionError("POST /v1/schedules -> %d (expected %d): %s\n%s"
                             % (status, expect, raw[:2000].decode("utf-8", "replace"), d.log_tail()))
    return obj


def get_schedule(d, sid):
    status, obj, raw = d.api("GET", "/v1/schedules/%s" % sid)
    if status != 200:
        raise AssertionError("GET /v1/schedules/%s -> %d: %s" % (sid, status, raw[:1000]))
    return obj


def schedule_recordings(d, sid):
    """Recordings of schedule sid, oldest first."""
    status, obj, _ = d.api("GET", "/v1/recordings")
    assert status == 200, status
    return sorted([r for r in obj["recordings"] if r.get("schedule_id") == sid], key=lambda r: r["created_at"])


def wait_schedule_recordings(d, sid, n, timeout, states=rt.TERMINAL_STATES):
    """Waits until schedule sid has n recordings, all in `states`; returns them."""
    def ready():
        recs = schedule_recordings(d, sid)
        return recs if len(recs) >= n and all(r["state"] in states for r in recs[:n]) else None
    try:
        return rt.wait_for(ready, timeout, interval=0.2, what="%d recording(s) of %s" % (n, sid))
    except AssertionError:
        raise AssertionError("schedule %s: %s\nrecordings: %s\n%s"
                             % (sid, rt.pretty(get_schedule(d, sid)),
                                rt.pretty(schedule_recordings(d, sid)), d.log_tail()))


def check_playable(tc, d, path, min_s, max_s):
    """ffprobe opens it, ffmpeg decodes it without error, and it holds min_s..max_s of video."""
    path = path if os.path.isabs(path) else os.path.join(d.workdir, path)
    tc.assertTrue(os.path.isfile(path), "%s missing; files: %s" % (path, d.recording_files()))
    info = rt.ffprobe(path)
    tc.assertEqual(rt.video_stream(info)["codec_name"], "h264", rt.probe_summary(info))
    ok, err = rt.decodes_cleanly(path)
    tc.assertTrue(ok, "ffmpeg could not decode %s:\n%s" % (path, err[-2000:]))
    dur = rt.packet_duration(path)
    tc.assertGreaterEqual(dur, min_s, "%s holds %.2f s" % (path, dur))
    tc.assertLessEqual(dur, max_s, "%s holds %.2f s" % (path, dur))
    return dur


# --------------------------------------------------------------------------------------
# webhook receiver


def verify_signature(header, body, secret=SECRET, tolerance_s=300):
    """Checks Reel-Signature: t=UNIX,v1=hex(HMAC-SHA256(secret, "t." + body)), t recent."""
    if not header:
        return False
    parts = dict(p.split("=", 1) for p in header.split(",") if "=" in p)
    try:
        t = int(parts["t"])
    except (KeyError, ValueError):
        return False
    want = hmac.new(secret.encode(), b"%d." % t + body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(want, parts.get("v1", "")) and abs(time.time() - t) <= tolerance_s


class WebhookReceiver:
    """An HTTP server on 127.0.0.1:port recording every POST; stop() and start() again on
    the same port to play a receiver that goes away and comes back."""

    def __init__(self, tc, port=None, start=True, secret=SECRET):
        self.port = port or rt.free_port()
        self.secret = secret
        self.received = []  # dicts: event, id, json, raw, headers, signature_ok, at
        self.cond = threading.Condition()
        self.server = self.thread = None
        rt.add_cleanup(tc, self.stop)
        if start:
            self.start()

    @property
    def url(self):
        return "http://127.0.0.1:%d/hooks/reel?via=test" % self.port

    def start(self):
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                try:
                    obj = json.loads(raw)
                except ValueError:
                    obj = None
                entry = {"event": (obj or {}).get("event"), "id": (obj or {}).get("id"), "json": obj, "raw": raw,
                         "headers": dict(self.headers.items()), "at": time.time(),
                         "signature_ok": verify_signature(self.headers.get("Reel-Signature"), raw,
                                                          receiver.secret)}
                with receiver.cond:
                    receiver.received.append(entry)
                    receiver.cond.notify_all()
                self.send_response(200)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args):
                pass

        http.server.ThreadingHTTPServer.allow_reuse_address = True
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05},
                                       daemon=True)
        self.thread.start()
        return self

    def stop(self):
        if self.server is None:
            return
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5)
        self.server = self.thread = None

    def events(self, name=None):
        with self.cond:
            return [e for e in self.received if name is None or e["event"] == name]

    def wait(self, predicate, timeout, what="webhook events"):
        """Waits until predicate(list of received entries) is truthy; returns its value."""
        deadline = time.monotonic() + timeout
        with self.cond:
            while True:
                value = predicate(list(self.received))
                if value:
                    return value
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError("timed out after %.0fs waiting for %s; received: %s"
                                         % (timeout, what, [(e["event"], e["id"]) for e in self.received]))
                self.cond.wait(min(left, 0.2))

    def assert_once_and_signed(self, tc):
        """Every event id arrived exactly once, every signature is valid."""
        ids = collections.Counter(e["id"] for e in self.events())
        tc.assertEqual([i for i, n in ids.items() if n != 1], [], "events delivered more than once")
        tc.assertEqual([e["id"] for e in self.events() if not e["signature_ok"]], [], "bad signatures")
        for e in self.events():
            tc.assertEqual(e["headers"].get("Reel-Delivery"), e["id"])
            tc.assertEqual(e["headers"].get("Reel-Event"), e["event"])
            tc.assertIn("sent_at", e["json"])
