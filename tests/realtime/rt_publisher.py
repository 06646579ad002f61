#!/usr/bin/python3
"""A GStreamer WebRTC publisher for the Cloudflare Realtime API (push flow).

    /usr/bin/python3 rt_publisher.py --api http://127.0.0.1:PORT/v1 --app app1 --secret s1 \
        --name alice --codec vp8 --color '#ff0000' --tone 440 --local-address 127.0.0.1

The media is tests/janus/publisher.py's: a solid-colour 640x360@30 picture (VP8 or
H.264 constrained-baseline, a keyframe every second) and a sine tone (Opus), with
explicit SSRCs so the offer carries a=ssrc. The flow is Cloudflare's: POST
sessions/new, then POST tracks/new with the complete (non-trickle) offer and one
`location: local` track per m-line (trackName NAME-video and NAME-audio unless
--video-track/--audio-track say otherwise), then the answer is applied.

Progress on stdout, one line each:
    SESSION <sessionId>
    TRACKS <video trackName> <audio trackName>
    PUBLISHED                      (the SFU's answer applied)
    CONNECTED                      (ICE connected)
    LEFT                           (after SIGTERM/SIGINT: tracks closed with force)
    FAILED <why>
Exit codes: 0 clean leave, 2 setup error.
"""

import argparse
import os
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "janus"))
import rtapi  # noqa: E402
import publisher as janus_publisher  # noqa: E402  (tests/janus/publisher.py)
from gstutil import Gst, GstWebRTC  # noqa: E402
from gi.repository import GLib  # noqa: E402


def out(line):
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def log(msg):
    sys.stderr.write("[rt-publisher %s] %s\n" % (time.strftime("%H:%M:%S"), msg))
    sys.stderr.flush()


def with_keyframe_interval(seconds):
    """publisher.pipeline_description, with keyframes only every `seconds` (and on
    request): late joiners then depend on keyframe requests getting through the SFU."""
    frames = int(seconds * 30)
    original = janus_publisher.pipeline_description

    def describe(args, video_ssrc, audio_ssrc):
        desc = original(args, video_ssrc, audio_ssrc)
        desc = desc.replace("keyframe-max-dist=30 ", "keyframe-max-dist=%d " % frames)
        desc = desc.replace("key-int-max=30 ", "key-int-max=%d " % frames)
        if "keyframe-max-dist=%d " % frames not in desc and "key-int-max=%d " % frames not in desc:
            raise RuntimeError("cannot set the keyframe interval in: %s" % desc)
        return desc
    return describe


class Publisher(janus_publisher.Publisher):
    """tests/janus/publisher.py's pipeline and offer, with the Realtime API's push flow."""

    def __init__(self, args):
        super().__init__(args)
        self.api = rtapi.RealtimeApi(args.api, args.app, args.secret)
        self.session_id = None
        self.mids = {}
        self._connected = False

    def _on_ice_state(self, webrtc, pspec):
        state = webrtc.get_property("ice-connection-state")
        log("ICE connection state: %s" % state.value_nick)
        if state in (GstWebRTC.WebRTCICEConnectionState.CONNECTED, GstWebRTC.WebRTCICEConnectionState.COMPLETED) \
                and not self._connected:
            self._connected = True
            out("CONNECTED")

    def _make_offer(self):
        # webrtcbin takes the codecs from the caps on its sink pads: wait for them (Janus's
        # join round trip gave them time; sessions/new is quicker).
        deadline = time.monotonic() + 10
        while not all(pad.get_current_caps() for pad in self.webrtc.sinkpads):
            if time.monotonic() > deadline:
                raise RuntimeError("no caps on webrtcbin's sink pads after 10 s")
            time.sleep(0.02)
        return super()._make_offer()

    def setup(self):
        a = self.args
        try:
            self.session_id = self.api.new_session()
            out("SESSION %s" % self.session_id)
            sdp = self._make_offer()
            names = {"video": a.video_track or "%s-video" % a.name, "audio": a.audio_track or "%s-audio" % a.name}
            tracks = []
            for kind, mid in rtapi.sdp_mids(sdp):
                if kind in names:
                    self.mids[kind] = mid
                    tracks.append({"location": "local", "mid": mid, "trackName": names[kind]})
            resp = self.api.tracks_new(self.session_id, tracks, offer=sdp)
            errors = [t for t in resp.get("tracks", []) if t.get("errorCode")]
            if errors:
                raise RuntimeError("tracks/new refused tracks: %s" % errors)
            answer = resp["sessionDescription"]
            if answer.get("type") != "answer":
                raise RuntimeError("tracks/new returned a %s, not an answer" % answer.get("type"))
            if a.verbose:
                log("offer:\n%s\nanswer:\n%s" % (sdp, answer["sdp"]))
            self._set_answer(answer["sdp"])
            out("TRACKS %s %s" % (names["video"], names["audio"]))
            out("PUBLISHED")
        except Exception as e:  # noqa: BLE001
            log("setup failed: %s: %s" % (type(e).__name__, e))
            out("FAILED %s" % e)
            self.exit_code = 2
            GLib.idle_add(self.loop.quit)

    def leave(self):
        """tracks/close (force) for the published tracks, then exit."""
        if self._leaving:
            return GLib.SOURCE_REMOVE
        self._leaving = True

        def bye():
            if self.session_id and self.mids:
                try:
                    self.api.tracks_close(self.session_id, list(self.mids.values()), force=True)
                except Exception as e:  # noqa: BLE001
                    log("tracks/close: %s" % e)
            out("LEFT")
            GLib.idle_add(self.loop.quit)
        threading.Thread(target=bye, daemon=True).start()
        return GLib.SOURCE_REMOVE


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--api", required=True, help="API base, e.g. http://127.0.0.1:PORT/v1")
    p.add_argument("--app", required=True)
    p.add_argument("--secret", required=True)
    p.add_argument("--name", default="gst-publisher")
    p.add_argument("--video-track")
    p.add_argument("--audio-track")
    p.add_argument("--codec", choices=("vp8", "h264"), default="vp8")
    p.add_argument("--color", default="#ff0000")
    p.add_argument("--tone", type=float, default=440.0)
    p.add_argument("--width", type=int, default=640)
    p.add_argument("--height", type=int, default=360)
    p.add_argument("--keyframe-interval", type=float, default=0,
                   help="seconds between periodic keyframes (default: 1 s)")
    p.add_argument("--local-address", action="append", required=True)
    p.add_argument("--verbose", action="store_true")
    p.add_argument("--duration", type=float, default=0)
    args = p.parse_args()
    Gst.init(None)
    if args.keyframe_interval:
        janus_publisher.pipeline_description = with_keyframe_interval(args.keyframe_interval)
    try:
        pub = Publisher(args)
    except Exception as e:  # noqa: BLE001
        log("cannot build the pipeline: %s" % e)
        out("FAILED %s" % e)
        return 2
    return pub.run()


if __name__ == "__main__":
    sys.exit(main())
