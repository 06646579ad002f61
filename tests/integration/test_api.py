#!/usr/bin/python3
"""The REST contract of reeld (API.md), over real HTTP.

- lifecycle: create -> recording -> stop (202) -> finished; stop again 409; unknown id 404;
  the list is newest first; max_duration_s ends a recording by itself.
- PATCH: an RTMP output added to a running recording streams, is removed again, and the
  file output does not notice; layout can be set; a finished recording cannot be patched.
- /healthz answers without a token.
- hostile input: dozens of malformed/forbidden requests, each answered with its 4xx and a
  JSON error body; reeld stays up and writes nothing to recordings_dir.
"""

import json
import os
import re
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import reeltest as rt  # noqa: E402

ALICE = rt.participant("Alice", "#ff0000", 440)
BOB = rt.participant("Bob", "#00ff00", 660)
CODE_RE = re.compile(r"^[a-z][a-z0-9_]*$")


def base_body(**changes):
    body = rt.recording_body([dict(ALICE), dict(BOB)], [{"type": "file", "format": "mp4"}], max_duration_s=5,
                             video={"width": 1280, "height": 720, "framerate": 30, "bitrate_kbps": 2500})
    body.update(changes)
    return body


def with_participant(**fields):
    b = base_body()
    b["room"]["participants"][0].update(fields)
    return b


def with_video(**fields):
    b = base_body()
    b["video"].update(fields)
    return b


def with_output(output):
    b = base_body()
    b["outputs"] = [output]
    return b


def without(*path):
    b = base_body()
    obj = b
    for k in path[:-1]:
        obj = obj[k]
    del obj[path[-1]]
    return b


class ApiTest(rt.ReelTestCase):
    def assert_error(self, status, body, raw, expect, code=None, field=None, what=""):
        expect = (expect,) if isinstance(expect, int) else tuple(expect)
        self.assertIn(status, expect, "%s: status %d, expected %s; body %r" % (what, status, expect, raw[:300]))
        self.assertIsInstance(body, dict, "%s: error body is not a JSON object: %r" % (what, raw[:300]))
        err = body.get("error")
        self.assertIsInstance(err, dict, "%s: no error object: %r" % (what, raw[:300]))
        self.assertIsInstance(err.get("code"), str, what)
        self.assertRegex(err["code"], CODE_RE, what)
        self.assertIsInstance(err.get("message"), str, what)
        self.assertTrue(err["message"].strip(), "%s: empty message" % what)
        if code:
            self.assertEqual(err["code"], code, "%s: %r" % (what, raw[:300]))
        if field:
            self.assertIn(field.lower(), err["message"].lower(), "%s: message should name the field %r: %r"
                          % (what, field, err["message"]))

    # ----------------------------------------------------------------------------------

    def test_healthz_open(self):
        d = rt.ReelDaemon(self)
        for token in (None, "wrong"):
            status, _, raw = d.api("GET", "/healthz", token=token)
            self.assertEqual(status, 200, raw)
        status, body, raw = d.api("GET", "/v1/recordings", token=None)
        self.assert_error(status, body, raw, 401, "unauthorized", what="GET /v1/recordings without token")

    def test_lifecycle(self):
        d = rt.ReelDaemon(self)
        status, listing, raw = d.api("GET", "/v1/recordings")
        self.assertEqual(status, 200, raw)
        self.assertEqual(listing.get("recordings"), [], raw)

        created = d.create(base_body(max_duration_s=60))
        rec_id = created["id"]
        self.assertRegex(rec_id, r"^[A-Za-z0-9_-]+$")
        self.assertIn(created["state"], ("starting", "recording"))
        for key in ("created_at", "started_at", "ended_at", "room", "participants", "outputs", "error"):
            self.assertIn(key, created, rt.pretty(created))
        self.assertIsNone(created["ended_at"])
        self.assertEqual(created["outputs"][0]["id"], "out_0")
        self.assertEqual(d.get(rec_id)["id"], rec_id)

        d.wait_state(rec_id, "recording", timeout=20)
        time.sleep(1.0)
        status, body, raw = d.api("POST", "/v1/recordings/%s/stop" % rec_id)
        self.assertEqual(status, 202, raw)
        rec = d.wait_state(rec_id, "finished", timeout=30)
        self.assertIsNotNone(rec["ended_at"])
        self.assertEqual(rec["outputs"][0]["state"], "finished")
        status, body, raw = d.api("POST", "/v1/recordings/%s/stop" % rec_id)
        self.assert_error(status, body, raw, 409, "wrong_state", what="stop a finished recording")
        status, body, raw = d.api("PATCH", "/v1/recordings/%s" % rec_id, {"layout": "grid"})
        self.assert_error(status, body, raw, 409, "wrong_state", what="PATCH a finished recording")
        status, body, raw = d.api("GET", "/v1/recordings/rec_doesnotexist")
        self.assert_error(status, body, raw, 404, "not_found", what="GET unknown id")
        path = d.output_path(rec["outputs"][0])
        self.assertGreater(rt.packet_duration(path), 1.0)
        d.assert_log_clean()
        self.assertNotIn(d.token, d.log_text(), "reeld logged the API token")

    def test_list_newest_first_and_max_duration(self):
        d = rt.ReelDaemon(self)
        first = d.create(base_body(max_duration_s=3))
        time.sleep(1.1)  # distinct created_at even at one-second resolution
        second = d.create(base_body(max_duration_s=3))
        status, listing, raw = d.api("GET", "/v1/recordings")
        self.assertEqual(status, 200, raw)
        ids = [r["id"] for r in listing["recordings"]]
        self.assertEqual(ids, [second["id"], first["id"]], "newest first")
        t0 = time.monotonic()
        for rec in (first, second):
            done = d.wait_state(rec["id"], "finished", timeout=30)  # nobody calls stop
            path = d.output_path(done["outputs"][0])
            self.assertAlmostEqual(rt.packet_duration(path), 3.0, delta=0.5, msg=path)
        self.assertLess(time.monotonic() - t0, 20)
        status, listing, raw = d.api("GET", "/v1/recordings")
        self.assertEqual([r["id"] for r in listing["recordings"]], [second["id"], first["id"]])
        self.assertEqual([r["state"] for r in listing["recordings"]], ["finished", "finished"])

    def test_patch_outputs(self):
        nginx = rt.NginxRtmp(self)
        d = rt.ReelDaemon(self)
        rec_id = d.create(base_body(max_duration_s=60))["id"]
        d.wait_state(rec_id, "recording", timeout=20)
        time.sleep(1.0)
        status, rec, raw = d.api("PATCH", "/v1/recordings/%s" % rec_id, {"layout": "grid"})
        self.assertEqual(status, 200, raw)
        key = "patchkey123456"
        status, rec, raw = d.api("PATCH", "/v1/recordings/%s" % rec_id,
                                 {"outputs": {"add": [{"type": "rtmp", "url": nginx.url(key)}]}})
        self.assertEqual(status, 200, raw)
        self.assertNotIn(key, raw.decode("utf-8", "replace"))
        rtmp = rt.output_by(rec, type="rtmp")
        out_id = rtmp["id"]
        self.assertEqual(out_id, "out_1")
        d.wait_output(rec_id, "writing", 10, id=out_id)
        time.sleep(2.5)
        status, rec, raw = d.api("PATCH", "/v1/recordings/%s" % rec_id, {"outputs": {"remove": [out_id]}})
        self.assertEqual(status, 200, raw)
        d.wait_output(rec_id, (None, "stopped", "finished"), 10, id=out_id)
        status, body, raw = d.api("PATCH", "/v1/recordings/%s" % rec_id, {"outputs": {"remove": ["out_9"]}})
        self.assert_error(status, body, raw, (400, 404, 409, 422), what="remove an unknown output")
        self.assertEqual(d.get(rec_id)["state"], "recording")
        time.sleep(1.0)
        d.stop_recording(rec_id)
        rec = d.wait_state(rec_id, "finished", timeout=30)
        mp4 = d.output_path(rt.output_by(rec, type="file"))
        self.assertEqual(rt.timestamp_gaps(mp4), [], "adding/removing an output broke the file's timestamps")
        flvs = nginx.wait_flv_settled()
        dur = rt.packet_duration(flvs[0])
        self.assertGreaterEqual(dur, 1.5, "the added stream carried %.2fs" % dur)
        self.assertLess(dur, 6.0, "the removed stream went on (%.2fs)" % dur)
        info = rt.ffprobe(flvs[0])
        self.assertEqual(rt.video_stream(info)["codec_name"], "h264")
        self.assertEqual(rt.audio_stream(info)["codec_name"], "aac")
        self.assertNotIn(key, d.log_text(), "reeld logged the stream key")

    # ----------------------------------------------------------------------------------

    def hostile_cases(self, d):
        """(name, method, path, request kwargs, expected statuses, error code or None, field or None)"""
        J = json.dumps
        good = J(base_body())
        too_many_outputs = base_body()
        too_many_outputs["outputs"] = [{"type": "file", "format": "mp4"}] * 100
        many_people = base_body()
        many_people["room"]["participants"] = [rt.participant("p%d" % i, "#ff0000", 440) for i in range(200)]
        dup = base_body()
        dup["room"]["participants"][1]["name"] = "Alice"
        depth = 20000
        nested = '{"room": ' + "[" * depth + "]" * depth + "}"
        return [
            ("broken JSON", "POST", "/v1/recordings", {"raw_body": '{"room": {"provider": "synthetic",,}'},
             400, "malformed_json", None),
            ("truncated JSON", "POST", "/v1/recordings", {"raw_body": good[: len(good) // 2]}, 400, "malformed_json", None),
            ("array root", "POST", "/v1/recordings", {"raw_body": "[]"}, 400, None, None),
            ("string root", "POST", "/v1/recordings", {"raw_body": '"recording"'}, 400, None, None),
            ("null root", "POST", "/v1/recordings", {"raw_body": "null"}, 400, None, None),
            ("empty body", "POST", "/v1/recordings", {"raw_body": ""}, 400, None, None),
            ("trailing garbage", "POST", "/v1/recordings", {"raw_body": good + "}{"}, 400, None, None),
            ("NaN literal", "POST", "/v1/recordings", {"raw_body": good.replace('"framerate": 30', '"framerate": NaN')},
             400, None, None),
            ("number 1e400", "POST", "/v1/recordings", {"raw_body": good.replace('"width": 1280', '"width": 1e400')},
             400, None, None),
            ("integer beyond 64 bits", "POST", "/v1/recordings",
             {"raw_body": good.replace('"max_duration_s": 5', '"max_duration_s": 18446744073709551617')}, 400, None, None),
            ("invalid UTF-8", "POST", "/v1/recordings",
             {"raw_body": good.encode().replace(b'"Alice"', b'"Al\xff\xfece"')}, 400, None, None),
            ("deeply nested JSON", "POST", "/v1/recordings", {"raw_body": nested}, 400, None, None),
            ("room missing", "POST", "/v1/recordings", {"body": without("room")}, 400, None, "room"),
            ("room a string", "POST", "/v1/recordings", {"body": base_body(room="synthetic")}, 400, None, "room"),
            ("provider missing", "POST", "/v1/recordings", {"body": without("room", "provider")}, 400, None, "provider"),
            ("unknown provider", "POST", "/v1/recordings",
             {"body": base_body(room={"provider": "zoom", "participants": [ALICE]})}, 400, "unknown_provider", None),
            # Every room below points at 127.0.0.1 only: should a request be accepted after
            # all, reeld must not send anything off this machine.
            ("janus url file://", "POST", "/v1/recordings",
             {"body": base_body(room={"provider": "janus", "url": "file:///etc/passwd", "room": 1234})},
             400, None, "url"),
            ("janus room a string", "POST", "/v1/recordings",
             {"body": base_body(room={"provider": "janus", "url": "http://127.0.0.1:9/janus", "room": "lobby"})},
             400, None, "room"),
            ("janus room zero", "POST", "/v1/recordings",
             {"body": base_body(room={"provider": "janus", "url": "http://127.0.0.1:9/janus", "room": 0})},
             400, None, "room"),
            ("orange url file://", "POST", "/v1/recordings",
             {"body": base_body(room={"provider": "orange", "url": "file:///etc/passwd", "room": "r"})},
             400, None, "room.url"),
            ("orange room name with a slash", "POST", "/v1/recordings",
             {"body": base_body(room={"provider": "orange", "url": "http://127.0.0.1:9", "room": "../r"})},
             400, None, "room.room"),
            ("participants not a list", "POST", "/v1/recordings",
             {"body": base_body(room={"provider": "synthetic", "participants": {"name": "x"}})}, 400, None, "participants"),
            ("color a word", "POST", "/v1/recordings", {"body": with_participant(color="red")}, 400, None, "color"),
            ("color too short", "POST", "/v1/recordings", {"body": with_participant(color="#12345")}, 400, None, "color"),
            ("color a number", "POST", "/v1/recordings", {"body": with_participant(color=16711680)}, 400, None, "color"),
            ("tone a string", "POST", "/v1/recordings", {"body": with_participant(tone_hz="440")}, 400, None, "tone_hz"),
            ("tone negative", "POST", "/v1/recordings", {"body": with_participant(tone_hz=-440)}, 400, None, "tone_hz"),
            ("tone above Nyquist", "POST", "/v1/recordings", {"body": with_participant(tone_hz=1e9)}, 400, None, "tone_hz"),
            ("name with ../", "POST", "/v1/recordings", {"body": with_participant(name="../../etc/passwd")},
             400, None, "name"),
            # may be refused by the JSON reader already (then the message names no field)
            ("name with NUL", "POST", "/v1/recordings", {"body": with_participant(name="Al\u0000ice")}, 400, None, None),
            ("name empty", "POST", "/v1/recordings", {"body": with_participant(name="")}, 400, None, "name"),
            ("name 10000 chars", "POST", "/v1/recordings", {"body": with_participant(name="A" * 10000)}, 400, None, "name"),
            ("duplicate participant names", "POST", "/v1/recordings", {"body": dup}, 400, None, "name"),
            ("200 participants", "POST", "/v1/recordings", {"body": many_people}, (400, 422), None, "participants"),
            ("join after leave", "POST", "/v1/recordings", {"body": with_participant(join_at_s=5, leave_at_s=2)},
             400, None, None),
            ("join negative", "POST", "/v1/recordings", {"body": with_participant(join_at_s=-1)}, 400, None, "join_at_s"),
            ("width negative", "POST", "/v1/recordings", {"body": with_video(width=-1280)}, 400, None, "width"),
            ("width huge", "POST", "/v1/recordings", {"body": with_video(width=100000)}, (400, 422), None, "width"),
            ("width odd", "POST", "/v1/recordings", {"body": with_video(width=1279)}, 400, None, "width"),
            ("width fractional", "POST", "/v1/recordings", {"body": with_video(width=1280.5)}, 400, None, "width"),
            ("height zero", "POST", "/v1/recordings", {"body": with_video(height=0)}, 400, None, "height"),
            ("framerate zero", "POST", "/v1/recordings", {"body": with_video(framerate=0)}, 400, None, "framerate"),
            ("framerate huge", "POST", "/v1/recordings", {"body": with_video(framerate=100000)}, (400, 422), None,
             "framerate"),
            ("bitrate negative", "POST", "/v1/recordings", {"body": with_video(bitrate_kbps=-1)}, 400, None, "bitrate_kbps"),
            ("video a list", "POST", "/v1/recordings", {"body": base_body(video=[1280, 720])}, 400, None, "video"),
            ("layout unknown", "POST", "/v1/recordings", {"body": base_body(layout="kaleidoscope")}, 400, None, "layout"),
            ("max_duration negative", "POST", "/v1/recordings", {"body": base_body(max_duration_s=-5)}, 400, None,
             "max_duration_s"),
            ("max_duration huge", "POST", "/v1/recordings", {"body": base_body(max_duration_s=10 ** 12)}, (400, 422),
             None, "max_duration_s"),
            ("max_duration a string", "POST", "/v1/recordings", {"body": base_body(max_duration_s="5")}, 400, None,
             "max_duration_s"),
            ("no outputs", "POST", "/v1/recordings", {"body": base_body(outputs=[])}, 400, None, "outputs"),
            ("outputs missing", "POST", "/v1/recordings", {"body": without("outputs")}, 400, None, "outputs"),
            ("100 outputs", "POST", "/v1/recordings", {"body": too_many_outputs}, (400, 422), None, "outputs"),
            ("output path traversal", "POST", "/v1/recordings",
             {"body": with_output({"type": "file", "format": "mp4", "path": "../../etc/x"})}, 400, None, "path"),
            ("output absolute path", "POST", "/v1/recordings",
             {"body": with_output({"type": "file", "format": "mp4", "path": "/etc/x"})}, 400, None, "path"),
            ("output type ftp", "POST", "/v1/recordings", {"body": with_output({"type": "ftp", "url": "ftp://127.0.0.1/y"})},
             400, None, "type"),
            ("file format avi", "POST", "/v1/recordings", {"body": with_output({"type": "file", "format": "avi"})},
             400, None, "format"),
            ("rtmp url file://", "POST", "/v1/recordings",
             {"body": with_output({"type": "rtmp", "url": "file:///etc/passwd"})}, 400, None, "url"),
            ("rtmp url http://", "POST", "/v1/recordings",
             {"body": with_output({"type": "rtmp", "url": "http://127.0.0.1/live/x"})}, 400, None, "url"),
            ("rtmp url missing", "POST", "/v1/recordings", {"body": with_output({"type": "rtmp"})}, 400, None, "url"),
            ("rtmp url with newline", "POST", "/v1/recordings",
             {"body": with_output({"type": "rtmp", "url": "rtmp://127.0.0.1/live/x\nlocation=/tmp/x"})}, 400, None, "url"),
            ("missing token", "POST", "/v1/recordings", {"body": base_body(), "token": None}, 401, "unauthorized", None),
            ("wrong token", "POST", "/v1/recordings", {"body": base_body(), "token": "not-the-token"}, 401,
             "unauthorized", None),
            ("token prefix", "GET", "/v1/recordings", {"token": d.token[:-1]}, 401, "unauthorized", None),
            ("Basic scheme", "GET", "/v1/recordings",
             {"token": None, "headers": {"Authorization": "Basic " + "dXNlcjpwYXNz"}}, 401, "unauthorized", None),
            ("Bearer without token", "GET", "/v1/recordings", {"token": None, "headers": {"Authorization": "Bearer "}},
             401, "unauthorized", None),
            ("token in query only", "GET", "/v1/recordings?token=" + d.token, {"token": None}, 401, "unauthorized", None),
            ("oversized body", "POST", "/v1/recordings", {"raw_body": '{"pad": "' + "a" * (70 * 1024) + '"}'}, 413,
             "body_too_large", None),
            ("Content-Type text/plain", "POST", "/v1/recordings",
             {"raw_body": good, "headers": {"Content-Type": "text/plain"}}, 415, None, None),
            ("Content-Type form", "POST", "/v1/recordings",
             {"raw_body": good, "headers": {"Content-Type": "application/x-www-form-urlencoded"}}, 415, None, None),
            ("unknown route", "GET", "/v1/nothing-here", {}, 404, "not_found", None),
            ("unknown version", "GET", "/v2/recordings", {}, 404, None, None),
            ("unknown recording", "GET", "/v1/recordings/rec_doesnotexist", {}, 404, "not_found", None),
            ("traversal id", "GET", "/v1/recordings/..%2f..%2fetc%2fpasswd", {}, (400, 404), None, None),
            ("stop unknown", "POST", "/v1/recordings/rec_doesnotexist/stop", {}, 404, "not_found", None),
            ("patch unknown", "PATCH", "/v1/recordings/rec_doesnotexist", {"body": {"layout": "grid"}}, 404,
             "not_found", None),
            ("wrong method DELETE list", "DELETE", "/v1/recordings", {}, 405, "method_not_allowed", None),
            ("wrong method PUT recording", "PUT", "/v1/recordings/rec_doesnotexist", {"body": base_body()}, (404, 405),
             None, None),
            ("wrong method GET stop", "GET", "/v1/recordings/rec_doesnotexist/stop", {}, (404, 405), None, None),
        ]

    def test_hostile_input(self):
        d = rt.ReelDaemon(self)
        cases = self.hostile_cases(d)
        self.assertGreaterEqual(len(cases), 25)
        for name, method, path, kwargs, expect, code, field in cases:
            with self.subTest(case=name):
                status, body, raw = d.api(method, path, **kwargs)
                self.assert_error(status, body, raw, expect, code, field, what="%s (%s %s)" % (name, method, path))
            if not d.running():
                self.fail("reeld died on case %r (exit code %s):\n%s" % (name, d.proc.poll(), d.log_tail()))

        # Raw requests that an HTTP client library would not send
        raw_cases = [
            ("Content-Length far beyond the limit",
             b"POST /v1/recordings HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer %s\r\n"
             b"Content-Type: application/json\r\nContent-Length: 99999999999\r\nConnection: close\r\n\r\n{}"
             % d.token.encode(), 413),
            ("chunked body beyond the limit",
             b"POST /v1/recordings HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer %s\r\n"
             b"Content-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
             % d.token.encode() + (b"4000\r\n" + b" " * 0x4000 + b"\r\n") * 6 + b"0\r\n\r\n", 413),
        ]
        for name, data, expect in raw_cases:
            with self.subTest(case=name):
                status, body, raw = d.raw_request(data)
                self.assert_error(status, body, raw, expect, what=name)
            if not d.running():
                self.fail("reeld died on case %r:\n%s" % (name, d.log_tail()))

        self.assertEqual(d.healthz(), 200, "reeld not healthy after the hostile requests")
        status, listing, raw = d.api("GET", "/v1/recordings")
        self.assertEqual(status, 200, raw)
        self.assertEqual(listing.get("recordings"), [], "a hostile request created a recording")
        self.assertEqual(d.recording_files(), [], "files appeared under recordings_dir")
        for p in ("/etc/x", os.path.join(d.workdir, "etc", "x")):
            self.assertFalse(os.path.exists(p), p)
        d.assert_log_clean()


if __name__ == "__main__":
    rt.main()
