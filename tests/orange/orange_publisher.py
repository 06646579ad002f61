#!/usr/bin/python3
"""A GStreamer publisher that pushes through an Orange deployment's /partytracks proxy.

    /usr/bin/python3 orange_publisher.py --proxy http://127.0.0.1:PORT/partytracks \
        --name alice --codec vp8 --color '#ff0000' --tone 440 --local-address 127.0.0.1

tests/realtime/rt_publisher.py's media and push flow (sessions/new, tracks/new with the
offer and `location: local` tracks, the answer), with the browser's transport: no
bearer (the proxy adds the app's), and the proxy's session-lock cookie
(partytracks-session-<id>) kept from sessions/new and sent on every later call.
Track names are random UUIDs, as partytracks' push() makes them, unless given.
Progress lines on stdout as rt_publisher.py's (SESSION, TRACKS, PUBLISHED, CONNECTED,
LEFT, FAILED); the room itself is joined by the test (orange_server.OrangeUser).
"""

import http.cookies
import os
import sys
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "realtime"))
sys.path.insert(0, os.path.join(HERE, "..", "janus"))
import rtapi  # noqa: E402
import rt_publisher  # noqa: E402
from gstutil import Gst  # noqa: E402


class ProxyApi(rtapi.RealtimeApi):
    """rtapi.RealtimeApi through /partytracks: paths follow the proxy's base, cookies
    are kept, no Authorization."""

    def __init__(self, proxy_url, timeout=30.0):
        super().__init__(proxy_url, None, None, timeout)
        self.cookies = {}

    def call(self, method, path, body=None, raw=None, secret=None, headers=None):
        h = dict(headers or {})
        if self.cookies:
            h["Cookie"] = "; ".join("%s=%s" % kv for kv in self.cookies.items())
        path = path if path.startswith("/") else "/" + path
        status, decoded, payload = super().call(method, path, body, raw, secret=False, headers=h)
        return status, decoded, payload

    def _remember(self, resp):
        for value in resp.msg.get_all("Set-Cookie") or []:
            jar = http.cookies.SimpleCookie()
            jar.load(value)
            for name, morsel in jar.items():
                self.cookies[name] = morsel.value


def patch_http_client(api):
    """Keeps the Set-Cookie headers of every answer (rtapi reads only the body)."""
    import http.client
    original = http.client.HTTPConnection.getresponse

    def getresponse(conn, *a, **kw):
        resp = original(conn, *a, **kw)
        api._remember(resp)
        return resp
    http.client.HTTPConnection.getresponse = getresponse


def main():
    # rt_publisher's options, with --proxy instead of --api/--app/--secret
    argv = sys.argv[1:]
    proxy = None
    if "--proxy" in argv:
        i = argv.index("--proxy")
        proxy = argv[i + 1]
        del argv[i:i + 2]
    if not proxy:
        sys.stderr.write("--proxy URL is required\n")
        return 2
    name = argv[argv.index("--name") + 1] if "--name" in argv else "orange"
    if "--video-track" not in argv:
        argv += ["--video-track", str(uuid.uuid4())]
    if "--audio-track" not in argv:
        argv += ["--audio-track", str(uuid.uuid4())]
    sys.argv = [sys.argv[0], "--api", proxy, "--app", "-", "--secret", "-", "--name", name] + argv
    original_init = rt_publisher.Publisher.__init__

    def init(self, args):
        original_init(self, args)
        self.api = ProxyApi(proxy)
        patch_http_client(self.api)
    rt_publisher.Publisher.__init__ = init
    return rt_publisher.main()


if __name__ == "__main__":
    Gst.init(None)
    sys.exit(main())
