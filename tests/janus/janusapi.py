"""janusapi: a small client for the Janus HTTP API (plain HTTP, long-poll), stdlib only.

Used by the test fixtures (janusenv.py), the GStreamer publisher (publisher.py) and the
subscriber probe (subscriber_probe.py). Never uses a proxy: http.client talks straight
to the address in the URL, which in tests is always inside a test network namespace.

    s = JanusSession("http://198.18.0.2:8088/janus")
    h = s.attach("janus.plugin.videoroom")
    s.message(h, {"request": "join", ...})            # answers "ack"
    ev = s.wait_event(lambda e: videoroom(e) == "joined", timeout=5)
    s.destroy()
"""

import http.client
import ipaddress
import itertools
import json
import queue
import re
import secrets
import socket
import subprocess
import sys
import threading
import time
import urllib.parse

VIDEOROOM = "janus.plugin.videoroom"
TEST_NET = ipaddress.ip_network("198.18.0.0/15")


class JanusError(Exception):
    """Janus answered with {"janus": "error"} or a plugin error (code, reason)."""

    def __init__(self, code, reason, response=None):
        super().__init__("janus error %s: %s" % (code, reason))
        self.code = code
        self.reason = reason
        self.response = response


class JanusUnreachable(Exception):
    """No HTTP answer from Janus (connection refused/reset, timeout)."""


def _split_url(url):
    u = urllib.parse.urlsplit(url)
    if u.scheme != "http" or not u.hostname:
        raise ValueError("only http:// Janus URLs are supported: %r" % url)
    return u.hostname, u.port or 80, u.path.rstrip("/") or "/janus"


_route_ok = {}


def check_route(host):
    """Refuses to talk to a host that is not on loopback or on a directly connected test
    link: an address of a torn-down test network would otherwise be sent through the
    default route (out of eth0). A good answer is reused for 2 s."""
    if time.monotonic() - _route_ok.get(host, -10.0) < 2.0:
        return
    try:
        ip = ipaddress.ip_address(socket.gethostbyname(host))
    except (OSError, ValueError) as e:
        raise JanusUnreachable("cannot resolve %s: %s" % (host, e)) from e
    if ip.is_loopback:
        _route_ok[host] = time.monotonic()
        return
    if ip not in TEST_NET:
        raise JanusUnreachable("%s is outside the test ranges (127.0.0.0/8, %s): refusing" % (ip, TEST_NET))
    p = subprocess.run(["ip", "-o", "-4", "route", "get", str(ip)], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, check=False)
    route = p.stdout.decode("utf-8", "replace")
    dev = re.search(r"\bdev (\S+)", route)
    defaults = subprocess.run(["ip", "-o", "-4", "route", "show", "default"], stdout=subprocess.PIPE,
                              stderr=subprocess.DEVNULL, check=False).stdout.decode("utf-8", "replace")
    default_devs = set(re.findall(r"\bdev (\S+)", defaults))
    if p.returncode != 0 or not dev or dev.group(1) in default_devs:
        raise JanusUnreachable("no test-network route to %s (%s): is the Janus test environment up?"
                               % (ip, route.strip() or p.stderr.decode().strip()))
    _route_ok[host] = time.monotonic()


def request(url, method="GET", body=None, timeout=10.0):
    """One HTTP request to a Janus URL; returns the parsed JSON. Raises JanusUnreachable."""
    host, port, path = _split_url(url)
    check_route(host)
    q = urllib.parse.urlsplit(url).query
    if q:
        path += "?" + q
    conn = http.client.HTTPConnection(host, port, timeout=timeout)
    try:
        data = json.dumps(body).encode() if body is not None else None
        headers = {"Content-Type": "application/json"} if data is not None else {}
        conn.request(method, path, body=data, headers=headers)
        resp = conn.getresponse()
        raw = resp.read()
    except (OSError, http.client.HTTPException) as e:
        raise JanusUnreachable("%s %s: %s: %s" % (method, url, type(e).__name__, e)) from e
    finally:
        conn.close()
    if resp.status != 200:
        raise JanusUnreachable("%s %s: HTTP %d %r" % (method, url, resp.status, raw[:200]))
    try:
        return json.loads(raw)
    except ValueError as e:
        raise JanusUnreachable("%s %s: not JSON: %r" % (method, url, raw[:200])) from e


def info(url, timeout=2.0):
    """GET /janus/info (server info) or raises JanusUnreachable."""
    return request(url.rstrip("/") + "/info", timeout=timeout)


def plugin_data(event):
    """plugindata.data of an event/response, or {}."""
    return ((event or {}).get("plugindata") or {}).get("data") or {}


def videoroom(event):
    """The "videoroom" field of a VideoRoom event ("joined", "event", "attached", ...)."""
    return plugin_data(event).get("videoroom")


class JanusSession:
    """A Janus session with a long-poll thread and a keepalive thread.

    Events (every long-poll result except keepalives) go to a queue; wait_event() takes
    the first that matches. on_event, if set, sees each event first (in the poll thread).
    lost is set when Janus stopped answering for `lost_after` seconds (or the session
    vanished)."""

    def __init__(self, url, keepalive_s=20.0, lost_after=4.0, on_event=None, log=None):
        self.url = url.rstrip("/")
        _split_url(self.url)
        self.keepalive_s = keepalive_s
        self.lost_after = lost_after
        self.on_event = on_event
        self.log = log or (lambda msg: None)
        self._tx = itertools.count(1)
        self._events = queue.Queue()
        self._backlog = []
        self._closing = threading.Event()
        self.lost = threading.Event()
        resp = self._call(self.url, {"janus": "create"})
        self.id = resp["data"]["id"]
        self._poller = threading.Thread(target=self._poll_loop, name="janus-poll", daemon=True)
        self._poller.start()
        self._keeper = threading.Thread(target=self._keepalive_loop, name="janus-keepalive", daemon=True)
        self._keeper.start()

    # -- requests --------------------------------------------------------------------

    def _transaction(self):
        return "t%d-%s" % (next(self._tx), secrets.token_hex(4))

    def _call(self, url, body, timeout=10.0):
        body = dict(body)
        body.setdefault("transaction", self._transaction())
        resp = request(url, "POST", body, timeout=timeout)
        if resp.get("janus") == "error":
            err = resp.get("error") or {}
            raise JanusError(err.get("code"), err.get("reason"), resp)
        return resp

    @property
    def session_url(self):
        return "%s/%d" % (self.url, self.id)

    def attach(self, plugin=VIDEOROOM):
        resp = self._call(self.session_url, {"janus": "attach", "plugin": plugin})
        return resp["data"]["id"]

    def message(self, handle, body, jsep=None, timeout=10.0):
        """Sends a plugin message; returns Janus's synchronous answer ("success" with
        plugindata for synchronous requests, "ack" for asynchronous ones). A plugin error
        in a synchronous answer raises JanusError."""
        msg = {"janus": "message", "body": body}
        if jsep is not None:
            msg["jsep"] = jsep
        resp = self._call("%s/%d" % (self.session_url, handle), msg, timeout=timeout)
        data = plugin_data(resp)
        if data.get("error_code") is not None:
            raise JanusError(data.get("error_code"), data.get("error"), resp)
        return resp

    def trickle_complete(self, handle):
        return self._call("%s/%d" % (self.session_url, handle),
                          {"janus": "trickle", "candidate": {"completed": True}})

    def detach(self, handle, timeout=3.0):
        return self._call("%s/%d" % (self.session_url, handle), {"janus": "detach"}, timeout=timeout)

    def destroy(self, timeout=3.0):
        """Destroys the session (best effort) and stops the threads."""
        self._closing.set()
        try:
            self._call(self.session_url, {"janus": "destroy"}, timeout=timeout)
        except (JanusError, JanusUnreachable):
            pass

    def close(self):
        """Stops the threads without telling Janus (for a Janus that is gone)."""
        self._closing.set()

    # -- events ----------------------------------------------------------------------

    def _poll_loop(self):
        last_ok = time.monotonic()
        while not self._closing.is_set():
            try:
                resp = request("%s?maxev=10&rid=%d" % (self.session_url, int(time.time() * 1000)),
                               timeout=45.0)
            except JanusUnreachable as e:
                if self._closing.is_set():
                    return
                self.log("long-poll failed: %s" % e)
                if time.monotonic() - last_ok > self.lost_after:
                    self.lost.set()
                    self._events.put({"janus": "_lost", "reason": str(e)})
                    return
                time.sleep(0.5)
                continue
            last_ok = time.monotonic()
            events = resp if isinstance(resp, list) else [resp]
            for ev in events:
                kind = ev.get("janus")
                if kind == "keepalive":
                    continue
                if kind == "error" and (ev.get("error") or {}).get("code") == 458:  # no such session
                    self.lost.set()
                    self._events.put({"janus": "_lost", "reason": "session gone: %s" % ev})
                    return
                if self.on_event:
                    try:
                        self.on_event(ev)
                    except Exception as e:  # noqa: BLE001 - a callback bug must not kill polling
                        self.log("on_event raised %r" % e)
                self._events.put(ev)

    def _keepalive_loop(self):
        while not self._closing.wait(self.keepalive_s):
            try:
                self._call(self.session_url, {"janus": "keepalive"}, timeout=5.0)
            except (JanusError, JanusUnreachable) as e:
                self.log("keepalive failed: %s" % e)

    def wait_event(self, predicate, timeout=10.0, what="event"):
        """The first event (not yet taken) for which predicate(event) is true. Events that
        do not match stay available to later calls. A plugin error event for which the
        predicate is false raises JanusError; so does losing Janus."""
        deadline = time.monotonic() + timeout
        while True:
            for i, ev in enumerate(self._backlog):
                if predicate(ev):
                    del self._backlog[i]
                    return ev
            for ev in self._backlog:
                data = plugin_data(ev)
                if data.get("error_code") is not None:
                    self._backlog.remove(ev)
                    raise JanusError(data.get("error_code"), data.get("error"), ev)
                if ev.get("janus") == "_lost":
                    raise JanusUnreachable("Janus lost while waiting for %s: %s" % (what, ev.get("reason")))
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("no %s from Janus within %.1fs (pending: %s)"
                                   % (what, timeout, json.dumps(self._backlog)[:1500]))
            try:
                self._backlog.append(self._events.get(timeout=min(left, 0.5)))
            except queue.Empty:
                pass


def list_participants(url, room, timeout=5.0):
    """[{id, display, publisher, ...}] of a VideoRoom room, through a short-lived session."""
    s = JanusSession(url)
    try:
        h = s.attach()
        resp = s.message(h, {"request": "listparticipants", "room": room}, timeout=timeout)
        return plugin_data(resp).get("participants") or []
    finally:
        s.destroy()


def eprint(*args):
    print(*args, file=sys.stderr, flush=True)
