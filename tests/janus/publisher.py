#!/usr/bin/python3
"""A GStreamer WebRTC publisher for a Janus VideoRoom, over the Janus HTTP API.

    /usr/bin/python3 publisher.py --url http://198.18.0.2:8088/janus --room 1234 \
        --name Alice --codec vp8 --color '#ff0000' --tone 440 --local-address 198.18.0.1

Sends a solid-colour 640x360@30 picture (VP8 or H.264 constrained-baseline, a keyframe
every second) and a sine tone (Opus). Joins as a publisher with the display name,
publishes with a complete (non-trickle) offer once ICE gathering is done, keeps the
session alive and long-polls for events. ICE uses only --local-address (libnice UPnP
off, no STUN/TURN, no ICE-TCP).

Progress goes to stdout, one line each, for the tests:
    JOINED <feed id>
    PUBLISHED                      (Janus's answer applied)
    WEBRTCUP                       (Janus: DTLS up)
    MEDIA audio|video              (Janus: receiving this kind)
    LEFT                           (after SIGTERM/SIGINT: unpublished, left, destroyed)
    LOST <reason>                  (Janus stopped answering; exits 3)
Exit codes: 0 clean leave, 2 setup error, 3 Janus lost.
"""

import argparse
import os
import random
import signal
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import janusapi  # noqa: E402

from gstutil import Gst, GstWebRTC, configure_ice, promise_wait, sdp_description, set_description  # noqa: E402
from gi.repository import GLib  # noqa: E402


def out(line):
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def log(msg):
    sys.stderr.write("[publisher %s] %s\n" % (time.strftime("%H:%M:%S"), msg))
    sys.stderr.flush()


def color_argb(color):
    c = color.lstrip("#")
    if len(c) != 6:
        raise ValueError("colour must be #rrggbb: %r" % color)
    return 0xFF000000 | int(c, 16)


VIDEO_PT = {"vp8": 96, "h264": 102}
AUDIO_PT = 111


def pipeline_description(args, video_ssrc, audio_ssrc):
    """Explicit SSRCs in the payloaders and caps: webrtcbin then writes a=ssrc lines into
    the offer whatever the timing, and Janus maps the RTP to its m-line (without them the
    offer races the first buffer and Janus may drop the video as "Unknown SSRC")."""
    color = color_argb(args.color)
    video_src = ("videotestsrc is-live=true pattern=solid-color foreground-color=%d "
                 "! video/x-raw,width=%d,height=%d,framerate=30/1 ! videoconvert "
                 "! video/x-raw,format=I420 ! queue max-size-buffers=2 leaky=downstream ! "
                 % (color, args.width, args.height))
    if args.codec == "vp8":
        video_enc = ("vp8enc deadline=1 cpu-used=8 keyframe-max-dist=30 target-bitrate=600000 "
                     "error-resilient=partitions "
                     "! rtpvp8pay pt=%d ssrc=%d picture-id-mode=15-bit mtu=1200 "
                     "! application/x-rtp,media=video,encoding-name=VP8,payload=%d,clock-rate=90000,ssrc=(uint)%d "
                     % (VIDEO_PT["vp8"], video_ssrc, VIDEO_PT["vp8"], video_ssrc))
    else:
        video_enc = ("x264enc tune=zerolatency speed-preset=ultrafast key-int-max=30 bitrate=800 "
                     "! video/x-h264,profile=constrained-baseline,stream-format=byte-stream "
                     "! rtph264pay pt=%d ssrc=%d config-interval=-1 aggregate-mode=zero-latency mtu=1200 "
                     "! application/x-rtp,media=video,encoding-name=H264,payload=%d,clock-rate=90000,"
                     "packetization-mode=(string)1,profile-level-id=(string)42e01f,ssrc=(uint)%d "
                     % (VIDEO_PT["h264"], video_ssrc, VIDEO_PT["h264"], video_ssrc))
    audio = ("audiotestsrc is-live=true wave=sine freq=%g volume=0.3 ! audioconvert ! audioresample "
             "! audio/x-raw,rate=48000,channels=1 ! opusenc bitrate=48000 frame-size=20 "
             "! rtpopuspay pt=%d ssrc=%d mtu=1200 "
             "! application/x-rtp,media=audio,encoding-name=OPUS,payload=%d,clock-rate=48000,ssrc=(uint)%d "
             % (args.tone, AUDIO_PT, audio_ssrc, AUDIO_PT, audio_ssrc))
    return ("webrtcbin name=webrtc bundle-policy=max-bundle latency=100 "
            "%s%s! webrtc.  %s! webrtc." % (video_src, video_enc, audio))


class Publisher:
    def __init__(self, args):
        self.args = args
        self.loop = GLib.MainLoop()
        self.ssrcs = (random.randint(0x10000, 0x7FFFFFFF), random.randint(0x10000, 0x7FFFFFFF))
        self.pipeline = Gst.parse_launch(pipeline_description(args, *self.ssrcs))
        self.webrtc = self.pipeline.get_by_name("webrtc")
        configure_ice(self.webrtc, args.local_address)
        self.gathered = threading.Event()
        self.webrtc.connect("notify::ice-gathering-state", self._on_gathering)
        self.webrtc.connect("notify::ice-connection-state", self._on_ice_state)
        bus = self.pipeline.get_bus()
        bus.add_signal_watch()
        bus.connect("message::error", self._on_error)
        self.session = None
        self.handle = None
        self.feed_id = None
        self.exit_code = 0
        self._leaving = False
        self._media = set()

    # -- GStreamer -------------------------------------------------------------------

    def _on_error(self, bus, msg):
        err, dbg = msg.parse_error()
        log("pipeline error: %s (%s)" % (err.message, dbg))
        self.exit_code = 2
        self.loop.quit()

    def _on_gathering(self, webrtc, pspec):
        state = webrtc.get_property("ice-gathering-state")
        if state == GstWebRTC.WebRTCICEGatheringState.COMPLETE:
            self.gathered.set()

    def _on_ice_state(self, webrtc, pspec):
        log("ICE connection state: %s" % webrtc.get_property("ice-connection-state").value_nick)

    def _make_offer(self):
        for pad in self.webrtc.sinkpads:
            t = pad.get_property("transceiver")
            if t is not None:
                t.set_property("direction", GstWebRTC.WebRTCRTPTransceiverDirection.SENDONLY)
        promise = Gst.Promise.new()
        self.webrtc.emit("create-offer", None, promise)
        reply = promise_wait(promise)
        offer = reply.get_value("offer")
        set_description(self.webrtc, "local", offer)
        if not self.gathered.wait(10):
            raise RuntimeError("ICE gathering did not complete in 10 s")
        sdp = self.webrtc.get_property("local-description").sdp.as_text()
        for ssrc in self.ssrcs:
            if "a=ssrc:%d " % ssrc not in sdp:
                raise RuntimeError("offer lacks a=ssrc:%d\n%s" % (ssrc, sdp))
        if "a=candidate" not in sdp:
            raise RuntimeError("offer has no ICE candidate (local address %s?)\n%s" % (self.args.local_address, sdp))
        return sdp

    def _set_answer(self, sdp_text):
        set_description(self.webrtc, "remote", sdp_description("answer", sdp_text))

    # -- Janus -----------------------------------------------------------------------

    def _on_event(self, ev):
        kind = ev.get("janus")
        if kind == "webrtcup":
            out("WEBRTCUP")
        elif kind == "media":
            what = ev.get("type")
            if ev.get("receiving") and what not in self._media:
                self._media.add(what)
                out("MEDIA %s" % what)
        elif kind == "hangup":
            log("Janus hung up: %s" % ev.get("reason"))

    def setup(self):
        """Runs in a thread: signalling, then hands over to the main loop."""
        a = self.args
        try:
            self.session = janusapi.JanusSession(a.url, on_event=self._on_event, log=log, lost_after=3.0)
            self.handle = self.session.attach()
            join = {"request": "join", "ptype": "publisher", "room": a.room, "display": a.name}
            if a.pin:
                join["pin"] = a.pin
            if a.id:
                join["id"] = a.id
            self.session.message(self.handle, join)
            ev = self.session.wait_event(lambda e: janusapi.videoroom(e) == "joined", 10, "joined")
            self.feed_id = janusapi.plugin_data(ev).get("id")
            out("JOINED %s" % self.feed_id)
            sdp = self._make_offer()
            self.session.message(self.handle, {"request": "publish", "display": a.name},
                                 jsep={"type": "offer", "sdp": sdp})
            ev = self.session.wait_event(lambda e: (e.get("jsep") or {}).get("type") == "answer", 10,
                                         "the answer to publish")
            if a.verbose:
                log("offer:\n%s\nanswer:\n%s" % (sdp, ev["jsep"]["sdp"]))
            self._set_answer(ev["jsep"]["sdp"])
            out("PUBLISHED")
        except Exception as e:  # noqa: BLE001
            log("setup failed: %s: %s" % (type(e).__name__, e))
            out("FAILED %s" % e)
            self.exit_code = 2
            GLib.idle_add(self.loop.quit)
            return
        threading.Thread(target=self._watch_lost, daemon=True).start()

    def _watch_lost(self):
        self.session.lost.wait()
        if self._leaving:
            return
        out("LOST Janus stopped answering")
        log("Janus lost: exiting")
        self.exit_code = 3
        GLib.idle_add(self.loop.quit)

    def leave(self):
        """Unpublish, leave, detach, destroy: every step best effort and short."""
        if self._leaving:
            return GLib.SOURCE_REMOVE
        self._leaving = True

        def bye():
            s, h = self.session, self.handle
            if s is not None and not s.lost.is_set():
                for body in ({"request": "unpublish"}, {"request": "leave"}):
                    try:
                        s.message(h, body, timeout=2.0)
                    except (janusapi.JanusError, janusapi.JanusUnreachable) as e:
                        log("%s: %s" % (body["request"], e))
                for fn in (lambda: s.detach(h, timeout=2.0), lambda: s.destroy(timeout=2.0)):
                    try:
                        fn()
                    except (janusapi.JanusError, janusapi.JanusUnreachable) as e:
                        log("teardown: %s" % e)
            elif s is not None:
                s.close()
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
    p.add_argument("--url", required=True, help="Janus HTTP API base, e.g. http://198.18.0.2:8088/janus")
    p.add_argument("--room", type=int, default=1234)
    p.add_argument("--pin")
    p.add_argument("--id", type=int, help="feed id to ask for (default: Janus picks one)")
    p.add_argument("--name", default="gst-publisher")
    p.add_argument("--codec", choices=("vp8", "h264"), default="vp8")
    p.add_argument("--color", default="#ff0000")
    p.add_argument("--tone", type=float, default=440.0)
    p.add_argument("--width", type=int, default=640)
    p.add_argument("--height", type=int, default=360)
    p.add_argument("--local-address", action="append", required=True,
                   help="the only address ICE may use (repeatable)")
    p.add_argument("--verbose", action="store_true", help="log the SDPs")
    p.add_argument("--duration", type=float, default=0, help="leave after this many seconds (0: on SIGTERM)")
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
