#!/usr/bin/python3
"""filepub: publishes a pre-encoded Matroska/WebM file (VP8 + Opus) into a Janus VideoRoom
without re-encoding, looping it for as long as it runs.

    /usr/bin/python3 filepub.py --url http://198.18.0.2:8088/janus --room 1234 \
        --local-address 198.18.0.1 --name P0 --file /var/tmp/reel-bench-media-v2/p0.mkv --loop-s 20

The file is demuxed, paced to the clock (clocksync) and payloaded straight into
webrtcbin: a publisher costs a few percent of a core, so nine of them fit next to the
recorder on a 2-core machine. Looping uses segment seeks, so running time (and with it
the RTP timestamps) keeps growing across loops; the file's keyframes (every second) are
the only ones there are: a PLI/FIR from Janus or a subscriber is answered by the next
one.

The RTP timestamps are exact, as a real sender's are (LoopClock): Matroska stores times
in whole milliseconds (a picture at 33 or 34 ms, an Opus packet 6.5 ms early for the
encoder's delay), so each picture is put back on its 1/fps grid and each Opus packet on
its 20 ms grid; and each loop lasts --loop-s exactly. (The demuxer starts each loop where
its last packet was, about 19 ms short of 20 s here: then every loop carried 20 s of
sound in 19.98 s of timestamps, and a receiver, which plays sound sample after sample,
fell that much behind the pictures every loop.)

Signalling is tests/janus/publisher.py's (Janus HTTP API, one offer with a=ssrc lines,
non-trickle), reused through tests/janus/janusapi.py and gstutil.py. Progress lines on
stdout, as publisher.py prints them: JOINED id, PUBLISHED, WEBRTCUP, MEDIA audio|video,
LEFT, LOST, FAILED.
"""

import argparse
import os
import random
import signal
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "janus"))
import janusapi  # noqa: E402
from gstutil import Gst, GstWebRTC, configure_ice, promise_wait, sdp_description, set_description  # noqa: E402
from gi.repository import GLib  # noqa: E402

VIDEO_PT = 96
AUDIO_PT = 111


def out(line):
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def log(msg):
    sys.stderr.write("[filepub %s] %s\n" % (time.strftime("%H:%M:%S"), msg))
    sys.stderr.flush()


def pipeline_description(path, video_ssrc, audio_ssrc):
    """Explicit SSRCs (see publisher.py): the offer carries a=ssrc whatever the timing."""
    loc = path.replace("\\", "\\\\").replace('"', '\\"')
    return (
        'webrtcbin name=webrtc bundle-policy=max-bundle latency=100 '
        'filesrc location="%s" ! matroskademux name=demux '
        'demux.video_0 ! queue name=vq max-size-time=2000000000 max-size-buffers=0 max-size-bytes=0 '
        '! clocksync name=vsync ! rtpvp8pay pt=%d ssrc=%d picture-id-mode=15-bit mtu=1200 '
        '! application/x-rtp,media=video,encoding-name=VP8,payload=%d,clock-rate=90000,ssrc=(uint)%d ! webrtc. '
        'demux.audio_0 ! queue name=aq max-size-time=2000000000 max-size-buffers=0 max-size-bytes=0 '
        '! clocksync name=async ! rtpopuspay pt=%d ssrc=%d mtu=1200 '
        '! application/x-rtp,media=audio,encoding-name=OPUS,payload=%d,clock-rate=48000,ssrc=(uint)%d ! webrtc. '
        % (loc, VIDEO_PT, video_ssrc, VIDEO_PT, video_ssrc, AUDIO_PT, audio_ssrc, AUDIO_PT, audio_ssrc))


class LoopClock:
    """The timeline of a looped file, the same for all its streams: each buffer's time
    put on its stream's grid (a multiple of `step`), and loop k (k = 1, 2, ...: the
    segments the demuxer starts after each segment seek) placed at B + (k - 1) x loop_s,
    where B is the end of whatever played before the first seek (the demuxer has one
    streaming thread, so both streams are past it when either sees loop 1). The
    demuxer's own segments after the first are dropped, so downstream keeps the first
    one (start 0, base 0) and a buffer's time is its running time. With loop_s = 0 only
    the grid is applied and the demuxer's segments pass."""

    def __init__(self, loop_s):
        self.loop_ns = int(round(loop_s * Gst.SECOND))
        self.first_base = None
        self.end = 0            # the latest end of a buffer before loop 1
        self.lock = threading.Lock()

    def attach(self, element, step):
        state = {"segments": 0, "offset": 0, "step": step}
        element.get_static_pad("sink").add_probe(
            Gst.PadProbeType.BUFFER | Gst.PadProbeType.EVENT_DOWNSTREAM, self._probe, state)

    def _probe(self, pad, info, state):
        if info.type & Gst.PadProbeType.BUFFER:
            buf = info.get_buffer()
            if buf.pts != Gst.CLOCK_TIME_NONE:
                step = state["step"]
                buf.pts = state["offset"] + int(round(buf.pts / step) * step)
                buf.duration = int(step)
                if state["segments"] <= 1:
                    with self.lock:
                        self.end = max(self.end, buf.pts + buf.duration)
            return Gst.PadProbeReturn.OK
        ev = info.get_event()
        if ev.type != Gst.EventType.SEGMENT or not self.loop_ns:
            return Gst.PadProbeReturn.OK
        n = state["segments"]
        state["segments"] += 1
        if n == 0:
            return Gst.PadProbeReturn.OK
        with self.lock:
            if self.first_base is None:
                self.first_base = max(ev.parse_segment().base, self.end)
            state["offset"] = self.first_base + (n - 1) * self.loop_ns
        return Gst.PadProbeReturn.DROP


class FilePublisher:
    def __init__(self, args):
        self.args = args
        self.loop = GLib.MainLoop()
        self.ssrcs = (random.randint(0x10000, 0x7FFFFFFF), random.randint(0x10000, 0x7FFFFFFF))
        self.pipeline = Gst.parse_launch(pipeline_description(args.file, *self.ssrcs))
        self.webrtc = self.pipeline.get_by_name("webrtc")
        self.demux = self.pipeline.get_by_name("demux")
        self.loop_clock = LoopClock(args.loop_s)
        self.loop_clock.attach(self.pipeline.get_by_name("vq"), Gst.SECOND / args.fps)
        self.loop_clock.attach(self.pipeline.get_by_name("aq"), args.audio_frame_ms * Gst.MSECOND)
        configure_ice(self.webrtc, args.local_address)
        self.gathered = threading.Event()
        self.webrtc.connect("notify::ice-gathering-state", self._on_gathering)
        bus = self.pipeline.get_bus()
        bus.add_signal_watch()
        bus.connect("message::error", self._on_error)
        bus.connect("message::segment-done", self._on_segment_done)
        self.session = None
        self.handle = None
        self.exit_code = 0
        self.loops = 0
        self._leaving = False
        self._media = set()

    # -- GStreamer -------------------------------------------------------------------

    def _on_error(self, bus, msg):
        err, dbg = msg.parse_error()
        log("pipeline error: %s (%s)" % (err.message, dbg))
        self.exit_code = 2
        self.loop.quit()

    def _seek(self):
        """A non-flushing segment seek back to the start, sent to the demuxer itself (a
        seek sent to the pipeline goes to webrtcbin's sinks and never reaches it). In
        its own thread: the demuxer takes it once its streaming thread lets go of the
        stream lock, which before negotiation only happens after the answer."""
        def run():
            stop = int(self.args.loop_s * Gst.SECOND) if self.args.loop_s else -1
            ev = Gst.Event.new_seek(1.0, Gst.Format.TIME, Gst.SeekFlags.SEGMENT,
                                    Gst.SeekType.SET, 0, Gst.SeekType.SET if stop >= 0 else Gst.SeekType.NONE,
                                    stop)
            if not self.demux.send_event(ev):
                log("segment seek refused")
        threading.Thread(target=run, daemon=True).start()

    def _wait_caps(self, timeout=10):
        """Until both webrtcbin sink pads have caps (create-offer needs them); then the
        first segment seek, so the end of the file posts SEGMENT_DONE (and the file
        loops) instead of EOS."""
        deadline = time.monotonic() + timeout
        while not all(p.get_current_caps() is not None for p in self.webrtc.sinkpads):
            if time.monotonic() > deadline:
                raise RuntimeError("no caps on webrtcbin's sink pads after %ds" % timeout)
            time.sleep(0.02)
        self._seek()

    def _on_segment_done(self, bus, msg):
        self.loops += 1
        if self.args.verbose:
            log("loop %d" % self.loops)
        self._seek()

    def _on_gathering(self, webrtc, pspec):
        if webrtc.get_property("ice-gathering-state") == GstWebRTC.WebRTCICEGatheringState.COMPLETE:
            self.gathered.set()

    def _make_offer(self):
        for pad in self.webrtc.sinkpads:
            t = pad.get_property("transceiver")
            if t is not None:
                t.set_property("direction", GstWebRTC.WebRTCRTPTransceiverDirection.SENDONLY)
        promise = Gst.Promise.new()
        self.webrtc.emit("create-offer", None, promise)
        reply = promise_wait(promise)
        offer = reply.get_value("offer") if reply is not None and reply.has_field("offer") else None
        if offer is None:
            raise RuntimeError("create-offer gave no offer: %s" % (reply.to_string() if reply else None))
        set_description(self.webrtc, "local", offer)
        if not self.gathered.wait(10):
            raise RuntimeError("ICE gathering did not complete in 10 s")
        sdp = self.webrtc.get_property("local-description").sdp.as_text()
        for ssrc in self.ssrcs:
            if "a=ssrc:%d " % ssrc not in sdp:
                raise RuntimeError("offer lacks a=ssrc:%d" % ssrc)
        if "a=candidate" not in sdp:
            raise RuntimeError("offer has no ICE candidate (local address %s?)" % self.args.local_address)
        return sdp

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
        a = self.args
        try:
            self.session = janusapi.JanusSession(a.url, on_event=self._on_event, log=log, lost_after=3.0)
            self.handle = self.session.attach()
            join = {"request": "join", "ptype": "publisher", "room": a.room, "display": a.name}
            if a.id:
                join["id"] = a.id
            self.session.message(self.handle, join)
            ev = self.session.wait_event(lambda e: janusapi.videoroom(e) == "joined", 10, "joined")
            out("JOINED %s" % janusapi.plugin_data(ev).get("id"))
            self._wait_caps()
            sdp = self._make_offer()
            self.session.message(self.handle, {"request": "publish", "display": a.name},
                                 jsep={"type": "offer", "sdp": sdp})
            ev = self.session.wait_event(lambda e: (e.get("jsep") or {}).get("type") == "answer", 10,
                                         "the answer to publish")
            set_description(self.webrtc, "remote", sdp_description("answer", ev["jsep"]["sdp"]))
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
        self.exit_code = 3
        GLib.idle_add(self.loop.quit)

    def leave(self):
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
    p.add_argument("--url", required=True)
    p.add_argument("--room", type=int, default=1234)
    p.add_argument("--id", type=int)
    p.add_argument("--name", default="filepub")
    p.add_argument("--file", required=True, help="Matroska/WebM with one VP8 and one Opus stream")
    p.add_argument("--local-address", action="append", required=True)
    p.add_argument("--loop-s", type=float, default=0,
                   help="the length of one loop (0: the file's duration)")
    p.add_argument("--fps", type=float, default=30, help="the video's frame rate (its timestamp grid)")
    p.add_argument("--audio-frame-ms", type=float, default=20, help="one Opus packet (the audio's timestamp grid)")
    p.add_argument("--verbose", action="store_true")
    p.add_argument("--duration", type=float, default=0, help="leave after this many seconds (0: on SIGTERM)")
    args = p.parse_args()
    Gst.init(None)
    try:
        pub = FilePublisher(args)
    except Exception as e:  # noqa: BLE001
        log("cannot build the pipeline: %s" % e)
        out("FAILED %s" % e)
        return 2
    return pub.run()


if __name__ == "__main__":
    sys.exit(main())
