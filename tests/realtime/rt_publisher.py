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
import random
import signal
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "janus"))
import rtapi  # noqa: E402
from gstutil import Gst, GstWebRTC, configure_ice, promise_wait, sdp_description, set_description  # noqa: E402
from publisher import pipeline_description  # noqa: E402  (tests/janus/publisher.py)
from gi.repository import GLib  # noqa: E402


def out(line):
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def log(msg):
    sys.stderr.write("[rt-publisher %s] %s\n" % (time.strftime("%H:%M:%S"), msg))
    sys.stderr.flush()


class Publisher:
    def __init__(self, args):
        self.args = args
        self.api = rtapi.RealtimeApi(args.api, args.app, args.secret)
        self.loop = GLib.MainLoop()
        self.ssrcs = (random.randint(0x10000, 0x7FFFFFFF), random.randint(0x10000, 0x7FFFFFFF))
        desc = pipeline_description(args, *self.ssrcs)
        if args.keyframe_interval:
            # keyframes only this often (and on request): late joiners then depend on
            # keyframe requests getting through the SFU
            frames = int(args.keyframe_interval * 30)
            desc = desc.replace("keyframe-max-dist=30 ", "keyframe-max-dist=%d " % frames)
            desc = desc.replace("key-int-max=30 ", "key-int-max=%d " % frames)
            if "keyframe-max-dist=%d " % frames not in desc and "key-int-max=%d " % frames not in desc:
                raise RuntimeError("cannot set the keyframe interval in: %s" % desc)
        self.pipeline = Gst.parse_launch(desc)
        self.webrtc = self.pipeline.get_by_name("webrtc")
        configure_ice(self.webrtc, args.local_address)
        self.gathered = threading.Event()
        self.webrtc.connect("notify::ice-gathering-state", self._on_gathering)
        self.webrtc.connect("notify::ice-connection-state", self._on_ice_state)
        bus = self.pipeline.get_bus()
        bus.add_signal_watch()
        bus.connect("message::error", self._on_error)
        self.session_id = None
        self.mids = {}
        self.exit_code = 0
        self._leaving = False
        self._connected = False

    def _on_error(self, bus, msg):
        err, dbg = msg.parse_error()
        log("pipeline error: %s (%s)" % (err.message, dbg))
        self.exit_code = 2
        self.loop.quit()

    def _on_gathering(self, webrtc, pspec):
        if webrtc.get_property("ice-gathering-state") == GstWebRTC.WebRTCICEGatheringState.COMPLETE:
            self.gathered.set()

    def _on_ice_state(self, webrtc, pspec):
        state = webrtc.get_property("ice-connection-state")
        log("ICE connection state: %s" % state.value_nick)
        if state in (GstWebRTC.WebRTCICEConnectionState.CONNECTED, GstWebRTC.WebRTCICEConnectionState.COMPLETED) \
                and not self._connected:
            self._connected = True
            out("CONNECTED")

    def _offer(self):
        # webrtcbin takes the codecs from the caps on its sink pads: wait for them.
        deadline = time.monotonic() + 10
        while not all(pad.get_current_caps() for pad in self.webrtc.sinkpads):
            if time.monotonic() > deadline:
                raise RuntimeError("no caps on webrtcbin's sink pads after 10 s")
            time.sleep(0.02)
        for pad in self.webrtc.sinkpads:
            t = pad.get_property("transceiver")
            if t is not None:
                t.set_property("direction", GstWebRTC.WebRTCRTPTransceiverDirection.SENDONLY)
        promise = Gst.Promise.new()
        self.webrtc.emit("create-offer", None, promise)
        reply = promise_wait(promise)  # keep: the offer lives in the reply structure
        offer = reply.get_value("offer")
        set_description(self.webrtc, "local", offer)
        if not self.gathered.wait(10):
            raise RuntimeError("ICE gathering did not complete in 10 s")
        sdp = self.webrtc.get_property("local-description").sdp.as_text()
        if "a=candidate" not in sdp:
            raise RuntimeError("offer has no ICE candidate (local address %s?)" % self.args.local_address)
        return sdp

    def setup(self):
        a = self.args
        try:
            self.session_id = self.api.new_session()
            out("SESSION %s" % self.session_id)
            sdp = self._offer()
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
            set_description(self.webrtc, "remote", sdp_description("answer", answer["sdp"]))
            out("TRACKS %s %s" % (names["video"], names["audio"]))
            out("PUBLISHED")
        except Exception as e:  # noqa: BLE001
            log("setup failed: %s: %s" % (type(e).__name__, e))
            out("FAILED %s" % e)
            self.exit_code = 2
            GLib.idle_add(self.loop.quit)

    def leave(self):
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

    def run(self):
        for sig in (signal.SIGTERM, signal.SIGINT):
            GLib.unix_signal_add(GLib.PRIORITY_HIGH, sig, self.leave)
        if self.pipeline.set_state(Gst.State.PLAYING) == Gst.StateChangeReturn.FAILURE:
            log("pipeline does not start")
            return 2
        threading.Thread(target=self.setup, daemon=True).start()
        if self.args.duration:
            GLib.timeout_add(int(self.args.duration * 1000), self.leave)
        self.loop.run()
        self.pipeline.set_state(Gst.State.NULL)
        return self.exit_code


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
    try:
        pub = Publisher(args)
    except Exception as e:  # noqa: BLE001
        log("cannot build the pipeline: %s" % e)
        out("FAILED %s" % e)
        return 2
    return pub.run()


if __name__ == "__main__":
    sys.exit(main())
