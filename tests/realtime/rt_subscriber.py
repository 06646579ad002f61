#!/usr/bin/python3
"""A GStreamer subscriber for the Cloudflare Realtime API (pull flow): what reel does.

    /usr/bin/python3 rt_subscriber.py --api http://127.0.0.1:PORT/v1 --app app1 --secret s1 \
        --local-address 127.0.0.1 --pull SID:alice-video --pull SID:alice-audio --duration 8

POST sessions/new; POST tracks/new with the remote tracks and no SDP; the SFU's
offer is applied, answered once ICE gathering is complete, and the answer sent with
PUT renegotiate. Every pulled track is decoded; pads are mapped to tracks by the
a=ssrc of the offer. Scripted changes, at seconds after the first answer:
    --pull-at SID:TRACK@T       a later pull (another offer/answer round)
    --close TRACK@T             PUT tracks/close force:true for that track's mid
    --update TRACK=SID:OTHER@T  PUT tracks/update: TRACK's mid now carries OTHER
Prints one JSON object on stdout:
    {"session_id", "tracks": [{"mid", "type", "codec", "session_id", "track_name",
      "rtp_buffers", "decoded", "first_decoded_s", "color", "tone_hz",
      "decoded_after_close"(decodes 1 s or more after the last close)}],
     "answered_s", "closed_s", "responses": [...], "errors": [...]}
Exit code 0 if every pulled track decoded --min-frames video frames / --min-audio
audio buffers, 1 otherwise, 2 on a setup error.
"""

import argparse
import json
import os
import signal
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "janus"))
import rtapi  # noqa: E402
from gstutil import Gst, promise_wait, sdp_description, set_description  # noqa: E402
from subscriber_probe import T0, Probe, Stream, ssrc_to_mid  # noqa: E402
from gi.repository import GLib  # noqa: E402


def log(msg):
    sys.stderr.write("[rt-subscriber %6.2f] %s\n" % (time.monotonic() - T0, msg))
    sys.stderr.flush()


def now_s():
    return round(time.monotonic() - T0, 3)


class Track(Stream):
    """One pulled track (subscriber_probe's Stream, with the Realtime names)."""

    def __init__(self, mid, kind, session_id, track_name):
        super().__init__({"mid": mid, "type": kind, "feed_id": session_id, "feed_display": track_name})
        self.session_id = session_id
        self.track_name = track_name
        self.times = []

    def report(self, closed_s):
        d = self.summary()
        d.pop("feed_id", None)
        d.pop("display", None)
        d["session_id"], d["track_name"] = self.session_id, self.track_name
        if closed_s is not None:
            d["decoded_after_close"] = sum(1 for t in self.times if t >= closed_s + 1.0)
        return d


def parse_ref(text):
    sid, _, name = text.partition(":")
    if not sid or not name:
        raise ValueError("expected SESSION:TRACK, not %r" % text)
    return sid, name


def parse_at(text):
    what, _, t = text.rpartition("@")
    if not what:
        raise ValueError("expected ...@SECONDS, not %r" % text)
    return what, float(t)


class Subscriber(Probe):
    """subscriber_probe's Probe (webrtcbin, pad mapping by a=ssrc, decoding), with the
    Realtime API's signalling instead of Janus's. self.streams: mid -> Track."""

    def __init__(self, args):
        super().__init__(args)
        self.api = rtapi.RealtimeApi(args.api, args.app, args.secret)
        self.lock = threading.Lock()
        self.session_id = None
        self.responses = []
        self.answered_s = None
        self.closed_s = None

    def _on_pad(self, webrtc, pad):
        super()._on_pad(webrtc, pad)
        if pad.get_direction() != Gst.PadDirection.SRC:
            return
        s = (pad.get_current_caps() or pad.query_caps(None)).get_structure(0)
        ok, ssrc = s.get_uint("ssrc")
        track = self.streams.get(self.ssrc_mid.get(ssrc)) if ok else None
        if track is not None:
            track.codec = (s.get_string("encoding-name") or "").upper()

    def _on_sample(self, sink, track):
        before = track.decoded
        ret = super()._on_sample(sink, track)
        if track.decoded != before:
            with track.lock:
                track.times.append(now_s())
        return ret

    # -- signalling ------------------------------------------------------------------

    def pull(self, refs):
        """tracks/new (remote), offer -> answer -> renegotiate. Runs on a worker thread."""
        body = [{"location": "remote", "sessionId": sid, "trackName": name} for sid, name in refs]
        resp = self.api.tracks_new(self.session_id, body)
        self.responses.append({"call": "tracks/new", "response": {k: v for k, v in resp.items()
                                                                  if k != "sessionDescription"}})
        if not resp.get("requiresImmediateRenegotiation"):
            self.errors.extend("pull %s: %s" % (t.get("trackName"), t.get("errorCode"))
                               for t in resp.get("tracks", []) if t.get("errorCode"))
            return resp
        offer = resp["sessionDescription"]["sdp"]
        if self.args.verbose:
            log("offer:\n" + offer)
        kinds = dict((mid, kind) for kind, mid in rtapi.sdp_mids(offer))
        with self.lock:
            for t in resp.get("tracks", []):
                if t.get("errorCode"):
                    self.errors.append("pull %s: %s %s" % (t.get("trackName"), t["errorCode"],
                                                           t.get("errorDescription")))
                    continue
                self.streams[t["mid"]] = Track(t["mid"], kinds.get(t["mid"]), t["sessionId"], t["trackName"])
            self.ssrc_mid = ssrc_to_mid(offer)
        set_description(self.webrtc, "remote", sdp_description("offer", offer))
        promise = Gst.Promise.new()
        self.webrtc.emit("create-answer", None, promise)
        reply = promise_wait(promise)
        answer = reply.get_value("answer")
        set_description(self.webrtc, "local", answer)
        if not self.gathered.wait(10):
            raise RuntimeError("ICE gathering did not complete in 10 s")
        sdp = self.webrtc.get_property("local-description").sdp.as_text()
        self.api.renegotiate(self.session_id, sdp)
        return resp

    def _mid_of(self, name):
        with self.lock:
            for mid, t in self.streams.items():
                if t.track_name == name:
                    return mid
        raise RuntimeError("no pulled track named %s" % name)

    def _action(self, kind, what):
        try:
            if kind == "pull":
                self.pull([parse_ref(what)])
            elif kind == "close":
                mid = self._mid_of(what)
                resp = self.api.tracks_close(self.session_id, [mid], force=True)
                self.responses.append({"call": "tracks/close", "response": resp})
                bad = [t for t in resp.get("tracks", []) if t.get("errorCode")]
                if bad:
                    raise RuntimeError("tracks/close: %s" % bad)
                self.closed_s = now_s()
                log("closed %s (mid %s)" % (what, mid))
            elif kind == "update":
                name, _, ref = what.partition("=")
                sid, other = parse_ref(ref)
                mid = self._mid_of(name)
                resp = self.api.tracks_update(self.session_id, [{"location": "remote", "sessionId": sid,
                                                                  "trackName": other, "mid": mid}])
                self.responses.append({"call": "tracks/update", "response": resp})
                bad = [t for t in resp.get("tracks", []) if t.get("errorCode")]
                if bad:
                    raise RuntimeError("tracks/update: %s" % bad)
                with self.lock:
                    t = self.streams[mid]
                    t.session_id, t.track_name = sid, other
                log("mid %s now carries %s" % (mid, other))
        except Exception as e:  # noqa: BLE001
            log("%s %s failed: %s" % (kind, what, e))
            self.errors.append("%s %s: %s" % (kind, what, e))

    def setup(self):
        a = self.args
        try:
            self.session_id = self.api.new_session()
            self.pull([parse_ref(r) for r in a.pull])
            self.answered_s = now_s()
            log("answered; decoding for %.1fs" % a.duration)
        except Exception as e:  # noqa: BLE001
            log("setup failed: %s: %s" % (type(e).__name__, e))
            self.errors.append("setup: %s" % e)
            self.exit_code = 2
            GLib.idle_add(self.loop.quit)
            return
        plan = [(t, "pull", w) for w, t in map(parse_at, a.pull_at)]
        plan += [(t, "close", w) for w, t in map(parse_at, a.close)]
        plan += [(t, "update", w) for w, t in map(parse_at, a.update)]
        for t, kind, what in sorted(plan):
            delay = self.answered_s + t - now_s()
            if delay > 0:
                time.sleep(delay)
            self._action(kind, what)
        left = self.answered_s + a.duration - now_s()
        if left > 0:
            time.sleep(left)
        GLib.idle_add(self.loop.quit)

    def run(self):
        GLib.unix_signal_add(GLib.PRIORITY_HIGH, signal.SIGTERM, self.loop.quit)
        self.pipeline.set_state(Gst.State.PLAYING)
        threading.Thread(target=self.setup, daemon=True).start()
        GLib.timeout_add(int((self.args.duration + 60) * 1000), self.loop.quit)
        self.loop.run()
        self.pipeline.set_state(Gst.State.NULL)
        report = {"session_id": self.session_id, "answered_s": self.answered_s, "closed_s": self.closed_s,
                  "tracks": [t.report(self.closed_s) for t in self.streams.values()],
                  "responses": self.responses, "errors": self.errors}
        if self.exit_code == 0:
            for t in report["tracks"]:
                need = self.args.min_frames if t["type"] == "video" else self.args.min_audio
                if t["decoded"] < need:
                    report["errors"].append("%s (mid %s): %d decoded, expected >= %d"
                                            % (t["track_name"], t["mid"], t["decoded"], need))
            if report["errors"]:
                self.exit_code = 1
        print(json.dumps(report, indent=1))
        sys.stdout.flush()
        return self.exit_code


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--api", required=True)
    p.add_argument("--app", required=True)
    p.add_argument("--secret", required=True)
    p.add_argument("--local-address", action="append", required=True)
    p.add_argument("--pull", action="append", required=True, help="SESSION:TRACK (repeatable)")
    p.add_argument("--pull-at", action="append", default=[], help="SESSION:TRACK@SECONDS")
    p.add_argument("--close", action="append", default=[], help="TRACK@SECONDS")
    p.add_argument("--update", action="append", default=[], help="TRACK=SESSION:OTHER@SECONDS")
    p.add_argument("--duration", type=float, default=8)
    p.add_argument("--min-frames", type=int, default=1)
    p.add_argument("--min-audio", type=int, default=1)
    p.add_argument("--verbose", action="store_true")
    args = p.parse_args()
    Gst.init(None)
    return Subscriber(args).run()


if __name__ == "__main__":
    sys.exit(main())
