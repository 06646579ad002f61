"""rtapi: a small client of the Cloudflare Realtime Connection API (stdlib only).

    api = RealtimeApi("http://127.0.0.1:PORT/v1", "app1", "secret1")
    sid = api.new_session()
    resp = api.tracks_new(sid, tracks=[...], offer=sdp)     # push: answer in resp
    resp = api.tracks_new(sid, tracks=[{"location": "remote", ...}])   # pull: offer
    api.renegotiate(sid, answer_sdp)
    api.tracks_close(sid, ["3"], force=True)
    api.session(sid)

Every call returns the decoded JSON body; a non-2xx status raises ApiError carrying
.status and .body. call() is the raw form (any method, path and body) for tests
that check the errors themselves.
"""

import http.client
import json
import urllib.parse


class ApiError(Exception):
    def __init__(self, method, path, status, body):
        self.status = status
        self.body = body
        code = body.get("errorCode") if isinstance(body, dict) else None
        super().__init__("%s %s: HTTP %d %s: %s" % (method, path, status, code, body))


class RealtimeApi:
    def __init__(self, base_url, app_id, secret, timeout=30.0):
        u = urllib.parse.urlsplit(base_url)
        self.host = u.hostname
        self.port = u.port or 80
        self.prefix = u.path.rstrip("/")
        self.app_id = app_id
        self.secret = secret
        self.timeout = timeout

    def call(self, method, path, body=None, raw=None, secret=None, headers=None):
        """(status, decoded JSON or None, raw bytes). path is relative to
        /apps/{appId}/ unless it starts with "/". body: JSON-encoded; raw: bytes as is."""
        if not path.startswith("/"):
            path = "/apps/%s/%s" % (self.app_id, path)
        h = {"Authorization": "Bearer %s" % (self.secret if secret is None else secret)}
        if secret is False:
            del h["Authorization"]
        data = raw
        if body is not None:
            data = json.dumps(body).encode()
        if data is not None:
            h["Content-Type"] = "application/json"
        h.update(headers or {})
        conn = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
        try:
            conn.request(method, self.prefix + path, body=data, headers=h)
            resp = conn.getresponse()
            payload = resp.read()
            status = resp.status
        finally:
            conn.close()
        try:
            decoded = json.loads(payload) if payload else None
        except ValueError:
            decoded = None
        return status, decoded, payload

    def _ok(self, method, path, body=None):
        status, decoded, payload = self.call(method, path, body)
        if status // 100 != 2:
            raise ApiError(method, path, status, decoded if decoded is not None else payload)
        return decoded

    def new_session(self, offer=None):
        """POST sessions/new -> sessionId (with offer: the whole response)."""
        if offer is None:
            return self._ok("POST", "sessions/new")["sessionId"]
        return self._ok("POST", "sessions/new", {"sessionDescription": {"type": "offer", "sdp": offer}})

    def tracks_new(self, sid, tracks, offer=None, auto_discover=None):
        body = {"tracks": tracks}
        if offer is not None:
            body["sessionDescription"] = {"type": "offer", "sdp": offer}
        if auto_discover is not None:
            body["autoDiscover"] = auto_discover
        return self._ok("POST", "sessions/%s/tracks/new" % sid, body)

    def renegotiate(self, sid, answer):
        return self._ok("PUT", "sessions/%s/renegotiate" % sid,
                        {"sessionDescription": {"type": "answer", "sdp": answer}})

    def tracks_update(self, sid, tracks):
        return self._ok("PUT", "sessions/%s/tracks/update" % sid, {"tracks": tracks})

    def tracks_close(self, sid, mids, force=True, offer=None):
        body = {"tracks": [{"mid": m} for m in mids], "force": force}
        if offer is not None:
            body["sessionDescription"] = {"type": "offer", "sdp": offer}
        return self._ok("PUT", "sessions/%s/tracks/close" % sid, body)

    def session(self, sid):
        return self._ok("GET", "sessions/%s" % sid)


def sdp_mids(sdp):
    """[(kind, mid)] of the m-lines of an SDP, in order."""
    out = []
    kind = None
    for line in sdp.splitlines():
        if line.startswith("m="):
            kind = line[2:].split(" ")[0]
            out.append([kind, None])
        elif line.startswith("a=mid:") and out:
            out[-1][1] = line[6:].strip()
    return [tuple(x) for x in out]
