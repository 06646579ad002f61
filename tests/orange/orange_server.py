"""orange_server: a local Orange Meets deployment for tests (rooms, identity, /partytracks).

    srv = OrangeServer(api_url="http://127.0.0.1:P/v1", app_id="app1", secret="secret1")
    srv.start()                  # aiohttp on 127.0.0.1:<free port>, in its own thread
    srv.url                      # http://127.0.0.1:PORT  (the deployment: room.url)
    srv.users("standup")         # the room's users as the server stores them
    srv.wait(lambda: ..., 5)     # polls a condition
    srv.room_mode["r"] = "close" | "garbage"     # fault rooms (see below)
    srv.e2ee_rooms.add("r")      # the loader data says e2eeEnabled for room r
    srv.mls_rooms.add("r")       # room r relays MLS key exchange traffic to newcomers
    srv.proxy_status = 401 | 403 | None          # /partytracks answers that to everything
    user = srv.user("standup", "Alice")          # a room client (see OrangeUser)
    srv.stop()

What it speaks, after shared/reference/orange-meets.md (Orange app/durableObjects/
ChatRoom.server.ts, app/routes/partytracks.$.tsx, partytracks' routePartyTracksRequest):

- POST /set-username (form username) → 302 with Set-Cookie __session=<signed>; GET
  /<room>?_data=routes/_room → the room loader's JSON (iceServers, e2eeEnabled, ...)
  for a user with that cookie.
- GET /parties/rooms/<room>?_pk=<id>: the room WebSocket, 401 without the cookie. The
  connection id is _pk (random when absent). onConnect stores the user {joined:false}
  and broadcasts roomState; roomState goes out on every change and every `alarm_s`
  (15 s); the alarm removes users whose last heartbeat is older than
  `heartbeat_timeout_s` (15 s: userLeftNotification, close 1011). Client messages:
  userUpdate (stored as sent), userLeft (close 1000, delete, userLeftNotification,
  roomState), heartbeat, e2eeMlsMessage (relayed to the others), directMessage,
  muteUser; anything else is logged and ignored.
- /partytracks/<rest>?<query>: forwarded to <api_url>/apps/<app_id>/<rest>?<query> with
  "Authorization: Bearer <secret>", any method. With lock_sessions (default, as in
  production), the answer to sessions/new sets partytracks-session-<sid>=<HS256 JWT
  {sessionId}> (HttpOnly; Secure; SameSite=Strict; Path=/partytracks), and every
  request for sessions/<sid>/... without that cookie gets 401.

Fault rooms: "close" accepts the WebSocket and closes it at once (1011); "garbage"
sends malformed JSON every 0.5 s and never a roomState. Everything the server saw is
in srv.log (list of (monotonic time, text)).
"""

import asyncio
import base64
import hashlib
import hmac
import json
import threading
import time
import urllib.parse
import uuid

import aiohttp
from aiohttp import web

COOKIE_SECRET = b"orange-test-cookie-secret"
JWT_SECRET = b"partytracks-test-jwt-secret"


def _b64(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text):
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def sign_session(username):
    payload = _b64(json.dumps({"username": username}).encode())
    mac = _b64(hmac.new(COOKIE_SECRET, payload.encode(), hashlib.sha256).digest())
    return "%s.%s" % (payload, mac)


def read_session(value):
    try:
        payload, mac = value.split(".")
        want = _b64(hmac.new(COOKIE_SECRET, payload.encode(), hashlib.sha256).digest())
        if not hmac.compare_digest(mac, want):
            return None
        return json.loads(_unb64(payload)).get("username")
    except (ValueError, TypeError, AttributeError):
        return None


def make_jwt(session_id):
    head = _b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    body = _b64(json.dumps({"sessionId": session_id}).encode())
    sig = _b64(hmac.new(JWT_SECRET, ("%s.%s" % (head, body)).encode(), hashlib.sha256).digest())
    return "%s.%s.%s" % (head, body, sig)


def jwt_session(token):
    try:
        head, body, sig = token.split(".")
        want = _b64(hmac.new(JWT_SECRET, ("%s.%s" % (head, body)).encode(), hashlib.sha256).digest())
        if not hmac.compare_digest(sig, want):
            return None
        return json.loads(_unb64(body)).get("sessionId")
    except (ValueError, TypeError, AttributeError):
        return None


class Room:
    def __init__(self, name):
        self.name = name
        self.meeting_id = str(uuid.uuid4())
        self.conns = {}       # id -> WebSocketResponse
        self.users = {}       # id -> user dict as stored
        self.heartbeats = {}  # id -> monotonic seconds


class OrangeServer:
    def __init__(self, api_url, app_id, secret, lock_sessions=True, alarm_s=15.0, heartbeat_timeout_s=15.0):
        self.api_url = api_url.rstrip("/")
        self.app_id = app_id
        self.secret = secret
        self.lock_sessions = lock_sessions
        self.alarm_s = alarm_s
        self.heartbeat_timeout_s = heartbeat_timeout_s
        self.rooms = {}
        self.room_mode = {}
        self.e2ee_rooms = set()
        self.mls_rooms = set()
        self.proxy_status = None
        self.log = []
        self.url = None
        self.loop = None
        self._thread = None
        self._runner = None
        self._lock = threading.Lock()
        self._started = threading.Event()
        self._clients = []

    # -- lifecycle -----------------------------------------------------------------

    def start(self, timeout=10):
        self._thread = threading.Thread(target=self._run, daemon=True, name="orange-server")
        self._thread.start()
        if not self._started.wait(timeout):
            raise RuntimeError("the Orange test server did not start")
        return self

    def _run(self):
        self.loop = asyncio.new_event_loop()
        asyncio.set_event_loop(self.loop)
        self.loop.run_until_complete(self._serve())
        self._started.set()
        self.loop.run_forever()

    async def _serve(self):
        app = web.Application(client_max_size=4 * 1024 * 1024)
        app.router.add_post("/set-username", self._set_username)
        app.router.add_get("/parties/rooms/{room}", self._room_socket)
        app.router.add_route("*", "/partytracks/{rest:.*}", self._partytracks)
        app.router.add_get("/{room}", self._room_page)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]
        self.url = "http://127.0.0.1:%d" % port
        self._http = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30))
        self._alarm_task = asyncio.ensure_future(self._alarm())

    def call(self, coro, timeout=15):
        """Runs a coroutine on the server's loop and returns its result."""
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def stop(self):
        if self.loop is None or not self.loop.is_running():
            return

        async def shutdown():
            self._alarm_task.cancel()
            for c in list(self._clients):
                await c._close(send_left=False)
            for room in self.rooms.values():
                for ws in list(room.conns.values()):
                    await ws.close(code=1001)
            await self._http.close()
            await self._runner.cleanup()
        try:
            self.call(shutdown(), 15)
        except Exception:  # noqa: BLE001
            pass
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(5)

    def note(self, text):
        with self._lock:
            self.log.append((time.monotonic(), text))

    def seen(self, prefix, since=0.0):
        with self._lock:
            return [(t, x) for t, x in self.log if t >= since and x.startswith(prefix)]

    # -- observation ---------------------------------------------------------------

    def users(self, room):
        """A copy of the room's stored users (empty when the room is gone)."""
        async def get():
            r = self.rooms.get(room)
            return json.loads(json.dumps(list(r.users.values()))) if r else []
        return self.call(get())

    def connection_ids(self, room):
        async def get():
            r = self.rooms.get(room)
            return sorted(r.conns) if r else []
        return self.call(get())

    def kick(self, room, uid, code=1011):
        """Closes a connection from the server's side (the user stays in the room)."""
        async def close():
            r = self.rooms.get(room)
            ws = r.conns.get(uid) if r else None
            if ws is not None:
                await ws.close(code=code)
            return ws is not None
        return self.call(close())

    @staticmethod
    def wait(cond, timeout, step=0.05):
        deadline = time.monotonic() + timeout
        while True:
            v = cond()
            if v:
                return v
            if time.monotonic() > deadline:
                return v
            time.sleep(step)

    # -- identity and the room page -------------------------------------------------

    def _username(self, request):
        value = request.cookies.get("__session")
        return read_session(value) if value else None

    async def _set_username(self, request):
        form = await request.post()
        name = (form.get("username") or "").strip()
        if not name:
            return web.Response(status=400, text="username required")
        back = request.query.get("return-url") or "/"
        resp = web.Response(status=302, headers={"Location": back})
        resp.set_cookie("__session", sign_session(name), httponly=True, samesite="Strict", path="/")
        self.note("set-username %s" % name)
        return resp

    async def _room_page(self, request):
        room = request.match_info["room"]
        if self._username(request) is None:
            raise web.HTTPFound("/set-username?return-url=" + urllib.parse.quote("/" + room))
        if request.query.get("_data") == "routes/_room":
            return web.json_response({
                "iceServers": [], "e2eeEnabled": room in self.e2ee_rooms, "simulcastEnabled": False,
                "apiExtraParams": "", "maxWebcamFramerate": 24, "maxWebcamBitrate": 1200000,
                "maxWebcamQuality": 1080, "mode": "test"})
        return web.Response(text="<!doctype html><title>%s</title>" % room, content_type="text/html")

    # -- the room WebSocket -----------------------------------------------------------

    def _state(self, room):
        return {"type": "roomState", "state": {
            "meetingId": room.meeting_id, "users": list(room.users.values()),
            "ai": {"enabled": False}}}

    async def _send(self, ws, msg):
        try:
            await ws.send_str(json.dumps(msg))
        except (ConnectionError, RuntimeError):
            pass

    async def _broadcast(self, room, msg=None):
        msg = msg or self._state(room)
        for ws in list(room.conns.values()):
            await self._send(ws, msg)

    async def _remove(self, room, uid, code):
        ws = room.conns.pop(uid, None)
        room.users.pop(uid, None)
        room.heartbeats.pop(uid, None)
        if ws is not None and not ws.closed:
            await ws.close(code=code)
        await self._broadcast(room, {"type": "userLeftNotification", "id": uid})
        await self._broadcast(room)
        if not room.users:
            self.note("endMeeting %s" % room.name)  # Orange wipes the storage here
            self.rooms.pop(room.name, None)

    async def _alarm(self):
        while True:
            await asyncio.sleep(self.alarm_s)
            now = time.monotonic()
            for room in list(self.rooms.values()):
                for uid, beat in list(room.heartbeats.items()):
                    if beat + self.heartbeat_timeout_s < now:
                        self.note("expired %s %s" % (room.name, uid))
                        await self._remove(room, uid, 1011)
                if room.name in self.rooms:
                    await self._broadcast(room)

    async def _garbage(self, ws):
        junk = ['{"type":"roomState","state":', "not json", '{"type":', "[1,2", '{"type":"roomState"}',
                '{"type":"roomState","state":{"users":"nobody"}}']
        i = 0
        while not ws.closed:
            try:
                await ws.send_str(junk[i % len(junk)])
            except (ConnectionError, RuntimeError):
                return  # the client gave up on us
            i += 1
            await asyncio.sleep(0.5)

    async def _room_socket(self, request):
        name = request.match_info["room"]
        username = self._username(request)
        if username is None:
            self.note("ws 401 %s" % name)
            return web.Response(status=401, text="no username")
        uid = request.query.get("_pk") or uuid.uuid4().hex[:21]
        ws = web.WebSocketResponse(max_msg_size=1024 * 1024)
        await ws.prepare(request)
        mode = self.room_mode.get(name)
        self.note("connect %s %s %s" % (name, uid, username))
        if mode == "close":
            await ws.close(code=1011)
            return ws
        if mode == "garbage":
            await self._garbage(ws)
            return ws
        room = self.rooms.setdefault(name, Room(name))
        old = room.conns.get(uid)
        if old is not None and not old.closed:
            await old.close(code=1000)
        room.conns[uid] = ws
        room.users[uid] = {"id": uid, "name": username, "joined": False, "raisedHand": False,
                           "speaking": False, "tracks": {"audioUnavailable": False}}
        room.heartbeats[uid] = time.monotonic()
        await self._broadcast(room)
        if name in self.mls_rooms:
            await self._send(ws, {"type": "e2eeMlsMessage", "payload": json.dumps(
                {"type": "shareKeyPackage", "keyPkg": {"FLAG_TYPED_ARRAY": True, "data": [1, 2, 3]}})})
        try:
            async for msg in ws:
                if msg.type != aiohttp.WSMsgType.TEXT:
                    continue
                await self._on_message(room, uid, ws, msg.data)
        finally:
            if room.conns.get(uid) is ws:
                room.conns.pop(uid, None)  # the user stays until its heartbeats stop
            self.note("disconnect %s %s" % (name, uid))
        return ws

    async def _on_message(self, room, uid, ws, text):
        try:
            data = json.loads(text)
            kind = data.get("type")
        except (ValueError, AttributeError):
            self.note("bad message from %s" % uid)
            return
        if kind == "heartbeat":
            room.heartbeats[uid] = time.monotonic()
            self.note("heartbeat %s %s" % (room.name, uid))
        elif kind == "userUpdate" and isinstance(data.get("user"), dict):
            room.users[uid] = data["user"]
            room.heartbeats.setdefault(uid, time.monotonic())
            self.note("userUpdate %s %s joined=%s" % (room.name, uid, data["user"].get("joined")))
            await self._broadcast(room)
        elif kind == "userLeft":
            self.note("userLeft %s %s" % (room.name, uid))
            await self._remove(room, uid, 1000)
        elif kind == "e2eeMlsMessage":
            for other, c in list(room.conns.items()):
                if other != uid:
                    await self._send(c, data)
        elif kind == "directMessage":
            c = room.conns.get(data.get("to"))
            if c is not None:
                await self._send(c, {"type": "directMessage", "from": uid, "message": data.get("message")})
        elif kind == "muteUser":
            target = room.users.get(data.get("id"))
            if target is not None:
                target.setdefault("tracks", {})["audioEnabled"] = False
                c = room.conns.get(data.get("id"))
                if c is not None:
                    await self._send(c, {"type": "muteMic"})
                await self._broadcast(room)
        else:
            self.note("ignored %s from %s" % (kind, uid))

    # -- /partytracks -------------------------------------------------------------------

    async def _partytracks(self, request):
        rest = request.match_info["rest"]
        if self.proxy_status is not None:
            self.note("partytracks %s %s -> %d (fault)" % (request.method, rest, self.proxy_status))
            return web.json_response({"errorCode": "forbidden" if self.proxy_status == 403 else "unauthorized",
                                      "errorDescription": "test fault"}, status=self.proxy_status)
        if rest == "generate-ice-servers":
            return web.json_response({"iceServers": []})
        parts = rest.split("/")
        if self.lock_sessions and len(parts) >= 2 and parts[0] == "sessions" and parts[1] != "new":
            sid = parts[1]
            token = request.cookies.get("partytracks-session-%s" % sid)
            if token is None or jwt_session(token) != sid:
                self.note("partytracks %s %s -> 401 (no lock cookie)" % (request.method, rest))
                return web.Response(status=401, text="Unauthorized")
        url = "%s/apps/%s/%s" % (self.api_url, self.app_id, rest)
        if request.query_string:
            url += "?" + request.query_string
        headers = {k: v for k, v in request.headers.items()
                   if k.lower() not in ("host", "cookie", "content-length", "authorization", "connection",
                                        "accept-encoding", "transfer-encoding")}
        headers["Authorization"] = "Bearer %s" % self.secret
        body = await request.read()
        async with self._http.request(request.method, url, data=body or None, headers=headers) as up:
            payload = await up.read()
            resp = web.Response(status=up.status, body=payload,
                                content_type=up.content_type or "application/json")
        self.note("partytracks %s %s -> %d" % (request.method, rest, up.status))
        if self.lock_sessions and rest == "sessions/new" and up.status // 100 == 2:
            try:
                sid = json.loads(payload)["sessionId"]
                resp.set_cookie("partytracks-session-%s" % sid, make_jwt(sid), httponly=True, secure=True,
                                samesite="Strict", path="/partytracks")
            except (ValueError, KeyError, TypeError):
                pass
        return resp

    # -- room clients run by the test --------------------------------------------------

    def user(self, room, name, uid=None):
        """Joins room as a browser would, minus the media (OrangeUser)."""
        u = OrangeUser(self, room, name, uid)
        self.call(u._open())
        self._clients.append(u)
        return u


class OrangeUser:
    """A room client on the server's loop: identity cookie, WebSocket with _pk, a
    heartbeat every 5 s, and userUpdate/userLeft as Orange's browser sends them.
    Media is pushed separately (orange_publisher.py or Chromium) through /partytracks;
    announce() then publishes its "sessionId/trackName" strings, as the browser does
    once bytes are sent."""

    def __init__(self, server, room, name, uid=None):
        self.server = server
        self.room = room
        self.name = name
        self.id = uid or uuid.uuid4().hex[:21]
        self.tracks = {"audioUnavailable": False}
        self.joined = False
        self.messages = []
        self._ws = None
        self._http = None
        self._beat = None
        self._reader = None

    async def _open(self):
        jar = aiohttp.CookieJar(unsafe=True)
        self._http = aiohttp.ClientSession(cookie_jar=jar)
        async with self._http.post(self.server.url + "/set-username", data={"username": self.name},
                                   allow_redirects=False) as r:
            assert r.status == 302, r.status
        self._ws = await self._http.ws_connect("%s/parties/rooms/%s?_pk=%s" % (
            self.server.url.replace("http://", "ws://"), self.room, self.id))
        self._beat = asyncio.ensure_future(self._heartbeats())
        self._reader = asyncio.ensure_future(self._read())

    async def _heartbeats(self):
        while not self._ws.closed:
            try:
                await self._ws.send_str(json.dumps({"type": "heartbeat"}))
            except (ConnectionError, RuntimeError):
                return
            await asyncio.sleep(5)

    async def _read(self):
        async for msg in self._ws:
            if msg.type == aiohttp.WSMsgType.TEXT:
                self.messages.append((time.monotonic(), msg.data))

    async def _update(self):
        await self._ws.send_str(json.dumps({"type": "userUpdate", "user": {
            "id": self.id, "name": self.name, "joined": self.joined, "raisedHand": False, "speaking": False,
            "transceiverSessionId": self.tracks.get("_session"),
            "tracks": {k: v for k, v in self.tracks.items() if not k.startswith("_")}}}))

    def announce(self, session_id, video=None, audio=None, screenshare=None, joined=True, **flags):
        """userUpdate {joined, tracks:{audio, video, screenshare, *Enabled}} with the
        given "sessionId/trackName" strings (None leaves a kind out)."""
        t = {"audioUnavailable": audio is None, "_session": session_id}
        if audio:
            t["audio"] = "%s/%s" % (session_id, audio) if "/" not in audio else audio
            t["audioEnabled"] = flags.get("audioEnabled", True)
        if video:
            t["video"] = "%s/%s" % (session_id, video) if "/" not in video else video
            t["videoEnabled"] = flags.get("videoEnabled", True)
        if screenshare:
            t["screenshare"] = screenshare
            t["screenShareEnabled"] = True
        self.tracks = t
        self.joined = joined
        self.server.call(self._update())

    def set_screenshare(self, track):
        """track: "sessionId/trackName" to share, None to stop sharing."""
        self.tracks.pop("screenshare", None)
        self.tracks.pop("screenShareEnabled", None)
        if track:
            self.tracks["screenshare"] = track
            self.tracks["screenShareEnabled"] = True
        self.server.call(self._update())

    async def _close(self, send_left):
        for task in (self._beat, self._reader):
            if task is not None:
                task.cancel()
        if self._ws is not None and not self._ws.closed:
            if send_left:
                await self._ws.send_str(json.dumps({"type": "userLeft"}))
            await self._ws.close()
        if self._http is not None:
            await self._http.close()

    def leave(self):
        """As the browser's beforeunload: userLeft, then the socket closes."""
        self.server.call(self._close(True))

    def drop(self):
        """The socket goes away without a word (the user stays until its heartbeats expire)."""
        self.server.call(self._close(False))
