#!/usr/bin/python3
"""A multistream subscriber for a Janus VideoRoom: what reel will do, without reel.

    /usr/bin/python3 subscriber_probe.py --url http://198.18.0.2:8088/janus --room 1234 \
        --local-address 198.18.0.1 --expect Alice,Bob,Carol --duration 8

Waits until every --expect display name publishes in the room (or takes whoever
publishes), joins as ONE subscriber to every stream of those feeds (Janus 1.x
"streams": [{"feed": id}, ...]), answers Janus's offer (non-trickle: after ICE gathering
is complete), sends "start", and decodes every stream for --duration seconds from the
moment Janus says "started". Prints one JSON object on stdout:

    {"streams": [{"mid", "type", "feed_id", "display", "codec", "rtp_buffers",
                  "decoded", "first_decoded_s", "width", "height",
                  "color": [r, g, b] (median of the centre of the last frame),
                  "tone_hz" (dominant frequency of the decoded audio)}],
     "started_s": seconds from start to "started", "errors": [...]}

Exit code 0 if every expected stream decoded at least --min-frames video frames and
--min-audio audio buffers, 1 otherwise, 2 on a setup error.
"""

import argparse
import json
import os
import re
import signal
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import janusapi  # noqa: E402
from gstutil import Gst, GstWebRTC, configure_ice, promise_wait, sdp_description, set_description  # noqa: E402
from gi.repository import GLib  # noqa: E402

try:
    import numpy as np
except ImportError:  # the probe still counts frames without numpy
    np = None

T0 = time.monotonic()


def log(msg):
    sys.stderr.write("[probe %6.2f] %s\n" % (time.monotonic() - T0, msg))
    sys.stderr.flush()


DECODERS = {
    "VP8": "rtpvp8depay ! vp8dec",
    "H264": "rtph264depay ! avdec_h264",
    "VP9": "rtpvp9depay ! vp9dec",
    "OPUS": "rtpopusdepay ! opusdec",
}
VIDEO_TAIL = "videoconvert ! videoscale ! video/x-raw,format=RGB,width=64,height=36,pixel-aspect-ratio=1/1"
AUDIO_RATE = 16000
AUDIO_TAIL = "audioconvert ! audioresample ! audio/x-raw,format=S16LE,rate=%d,channels=1" % AUDIO_RATE


def ssrc_to_mid(sdp):
    """{ssrc: mid} from the a=ssrc and a=mid lines of each m-section."""
    out = {}
    for section in re.split(r"\r?\nm=", sdp)[1:]:
        mid = re.search(r"^a=mid:(\S+)", section, re.M)
        if not mid:
            continue
        for ssrc in re.findall(r"^a=ssrc:(\d+) ", section, re.M):
            out[int(ssrc)] = mid.group(1)
    return out


class Stream:
    def __init__(self, info):
        self.mid = info.get("mid")
        self.type = info.get("type")
        self.feed_id = info.get("feed_id")
        self.display = info.get("feed_display")
        self.codec = (info.get("codec") or "").upper()
        self.rtp_buffers = 0
        self.decoded = 0
        self.first_decoded_s = None
        self.width = self.height = None
        self.last_rgb = None
        self.audio = []
        self.audio_samples = 0
        self.lock = threading.Lock()

    def summary(self):
        d = {"mid": self.mid, "type": self.type, "feed_id": self.feed_id, "display": self.display,
             "codec": self.codec, "rtp_buffers": self.rtp_buffers, "decoded": self.decoded,
             "first_decoded_s": self.first_decoded_s}
        if self.type == "video":
            d["width"], d["height"] = self.width, self.height
            if self.last_rgb is not None and np is not None:
                frame = np.frombuffer(self.last_rgb, dtype=np.uint8).reshape(36, 64, 3)
                d["color"] = [int(v) for v in np.median(frame[9:27, 16:48].reshape(-1, 3), axis=0)]
        if self.type == "audio" and self.audio and np is not None:
            x = np.concatenate(self.audio).astype(np.float64)
            x -= x.mean()
            spec = np.abs(np.fft.rfft(x * np.hanning(len(x))))
            spec[:int(len(x) * 50 / AUDIO_RATE)] = 0  # ignore < 50 Hz
            d["tone_hz"] = round(float(np.fft.rfftfreq(len(x), 1.0 / AUDIO_RATE)[int(np.argmax(spec))]), 1)
            d["rms"] = round(float(np.sqrt((x ** 2).mean())), 1)
        return d


class Probe:
    def __init__(self, args):
        self.args = args
        self.loop = GLib.MainLoop()
        self.pipeline = Gst.Pipeline.new("probe")
        self.webrtc = Gst.ElementFactory.make("webrtcbin", "webrtc")
        self.webrtc.set_property("bundle-policy", GstWebRTC.WebRTCBundlePolicy.MAX_BUNDLE)
        self.webrtc.set_property("latency", 100)
        self.pipeline.add(self.webrtc)
        configure_ice(self.webrtc, args.local_address)
        self.gathered = threading.Event()
        self.webrtc.connect("notify::ice-gathering-state", self._on_gathering)
        self.webrtc.connect("notify::ice-connection-state",
                            lambda w, p: log("ICE %s" % w.get_property("ice-connection-state").value_nick))
        self.webrtc.connect("pad-added", self._on_pad)
        bus = self.pipeline.get_bus()
        bus.add_signal_watch()
        bus.connect("message::error", self._on_error)
        self.streams = {}       # mid -> Stream
        self.ssrc_mid = {}
        self.errors = []
        self.started_s = None
        self.session = None
        self.handle = None
        self.exit_code = 0

    def _on_error(self, bus, msg):
        err, dbg = msg.parse_error()
        self.errors.append("%s: %s" % (msg.src.get_name(), err.message))
        log("pipeline error from %s: %s (%s)" % (msg.src.get_name(), err.message, dbg))

    def _on_gathering(self, webrtc, pspec):
        if webrtc.get_property("ice-gathering-state") == GstWebRTC.WebRTCICEGatheringState.COMPLETE:
            self.gathered.set()

    # -- media -----------------------------------------------------------------------

    def _on_pad(self, webrtc, pad):
        if pad.get_direction() != Gst.PadDirection.SRC:
            return
        caps = pad.get_current_caps() or pad.query_caps(None)
        s = caps.get_structure(0)
        enc = (s.get_string("encoding-name") or "").upper()
        ok, ssrc = s.get_uint("ssrc")
        mid = self.ssrc_mid.get(ssrc) if ok else None
        stream = self.streams.get(mid)
        log("pad %s: %s ssrc=%s -> mid %s (%s)" % (pad.get_name(), enc, ssrc if ok else "?", mid,
                                                   stream.display if stream else "unknown"))
        if stream is None:
            self.errors.append("pad %s (%s, ssrc %s) matches no stream of the offer" % (pad.get_name(), enc, ssrc))
            sink = Gst.ElementFactory.make("fakesink")
            sink.set_property("async", False)
            self.pipeline.add(sink)
            sink.sync_state_with_parent()
            pad.link(sink.get_static_pad("sink"))
            return
        if enc not in DECODERS:
            self.errors.append("no decoder for %s (mid %s)" % (enc, mid))
            return
        tail = VIDEO_TAIL if stream.type == "video" else AUDIO_TAIL
        desc = "queue ! %s ! %s ! appsink name=sink emit-signals=true sync=false async=false max-buffers=4 drop=true" \
            % (DECODERS[enc], tail)
        bin_ = Gst.parse_bin_from_description(desc, True)
        self.pipeline.add(bin_)
        sink = bin_.get_by_name("sink")
        sink.connect("new-sample", self._on_sample, stream)
        pad.add_probe(Gst.PadProbeType.BUFFER, self._count_rtp, stream)
        bin_.sync_state_with_parent()
        if pad.link(bin_.get_static_pad("sink")) != Gst.PadLinkReturn.OK:
            self.errors.append("cannot link pad for mid %s" % mid)

    def _count_rtp(self, pad, info, stream):
        stream.rtp_buffers += 1
        return Gst.PadProbeReturn.OK

    def _on_sample(self, sink, stream):
        sample = sink.emit("pull-sample")
        if sample is None:
            return Gst.FlowReturn.OK
        buf = sample.get_buffer()
        ok, mi = buf.map(Gst.MapFlags.READ)
        if not ok:
            return Gst.FlowReturn.OK
        try:
            data = bytes(mi.data)
        finally:
            buf.unmap(mi)
        with stream.lock:
            stream.decoded += 1
            if stream.first_decoded_s is None:
                stream.first_decoded_s = round(time.monotonic() - T0, 3)
            if stream.type == "video":
                stream.last_rgb = data
                if stream.width is None:
                    # the decoder's size, before our downscale, from the caps upstream of videoscale
                    stream.width, stream.height = self._decoded_size(sink)
            elif np is not None and stream.audio_samples < AUDIO_RATE * 10:
                a = np.frombuffer(data, dtype="<i2")
                stream.audio.append(a)
                stream.audio_samples += len(a)
        return Gst.FlowReturn.OK

    @staticmethod
    def _decoded_size(sink):
        bin_ = sink.get_parent()
        for el in bin_.iterate_elements():
            if el.get_factory() and el.get_factory().get_name() == "videoconvert":
                caps = el.get_static_pad("sink").get_current_caps()
                if caps:
                    s = caps.get_structure(0)
                    return s.get_value("width"), s.get_value("height")
        return None, None

    # -- signalling ------------------------------------------------------------------

    def wait_publishers(self):
        a = self.args
        expect = [n for n in (a.expect or "").split(",") if n]
        deadline = time.monotonic() + a.wait
        while True:
            resp = self.session.message(self.handle, {"request": "listparticipants", "room": a.room})
            pubs = [p for p in janusapi.plugin_data(resp).get("participants") or [] if p.get("publisher")]
            names = {p.get("display") for p in pubs}
            if (expect and all(n in names for n in expect)) or (not expect and pubs):
                return [p for p in pubs if not expect or p.get("display") in expect]
            if time.monotonic() > deadline:
                raise RuntimeError("publishers in room %d: %s, expected %s" % (a.room, sorted(map(str, names)), expect))
            time.sleep(0.2)

    def setup(self):
        a = self.args
        try:
            self.session = janusapi.JanusSession(a.url, log=log)
            self.handle = self.session.attach()
            pubs = self.wait_publishers()
            log("publishers: %s" % ", ".join("%s=%s" % (p.get("display"), p.get("id")) for p in pubs))
            join = {"request": "join", "ptype": "subscriber", "room": a.room,
                    "streams": [{"feed": p["id"]} for p in pubs]}
            if a.pin:
                join["pin"] = a.pin
            self.session.message(self.handle, join)
            ev = self.session.wait_event(lambda e: janusapi.videoroom(e) == "attached", 10, "attached")
            offer = ev["jsep"]["sdp"]
            for info in janusapi.plugin_data(ev).get("streams") or []:
                if info.get("type") in ("audio", "video") and info.get("active", True):
                    self.streams[info["mid"]] = Stream(info)
            self.ssrc_mid = ssrc_to_mid(offer)
            if a.verbose:
                log("offer:\n" + offer)
            set_description(self.webrtc, "remote", sdp_description("offer", offer))
            promise = Gst.Promise.new()
            self.webrtc.emit("create-answer", None, promise)
            reply = promise_wait(promise)
            answer = reply.get_value("answer") if reply is not None and reply.has_field("answer") else None
            if answer is None:
                raise RuntimeError("create-answer failed: %s" % (reply.to_string() if reply else "no reply"))
            set_description(self.webrtc, "local", answer)
            if not self.gathered.wait(10):
                raise RuntimeError("ICE gathering did not complete in 10 s")
            sdp = self.webrtc.get_property("local-description").sdp.as_text()
            self.session.message(self.handle, {"request": "start"}, jsep={"type": "answer", "sdp": sdp})
            self.session.wait_event(lambda e: janusapi.plugin_data(e).get("started") == "ok", 10, "started")
            self.started_s = round(time.monotonic() - T0, 3)
            log("started; decoding for %.1fs" % a.duration)
        except Exception as e:  # noqa: BLE001
            log("setup failed: %s: %s" % (type(e).__name__, e))
            self.errors.append("setup: %s" % e)
            self.exit_code = 2
            GLib.idle_add(self.loop.quit)
            return
        GLib.timeout_add(int(a.duration * 1000), self.finish)

    def finish(self):
        self.loop.quit()
        return GLib.SOURCE_REMOVE

    def run(self):
        GLib.unix_signal_add(GLib.PRIORITY_HIGH, signal.SIGTERM, self.finish)
        GLib.unix_signal_add(GLib.PRIORITY_HIGH, signal.SIGINT, self.finish)
        self.pipeline.set_state(Gst.State.PLAYING)
        threading.Thread(target=self.setup, daemon=True).start()
        GLib.timeout_add(int((self.args.duration + self.args.wait + 30) * 1000), self.finish)
        self.loop.run()
        report = {"streams": [s.summary() for s in self.streams.values()],
                  "started_s": self.started_s, "errors": self.errors}
        if self.session is not None:
            try:
                self.session.message(self.handle, {"request": "leave"}, timeout=2)
                self.session.detach(self.handle)
            except (janusapi.JanusError, janusapi.JanusUnreachable):
                pass
            self.session.destroy()
        self.pipeline.set_state(Gst.State.NULL)
        if self.exit_code == 0:
            for s in report["streams"]:
                need = self.args.min_frames if s["type"] == "video" else self.args.min_audio
                if s["decoded"] < need:
                    report["errors"].append("%s %s (mid %s): %d decoded, expected >= %d"
                                            % (s["display"], s["type"], s["mid"], s["decoded"], need))
            expect = [n for n in (self.args.expect or "").split(",") if n]
            for name in expect:
                kinds = {s["type"] for s in report["streams"] if s["display"] == name}
                if kinds != {"audio", "video"}:
                    report["errors"].append("%s: streams %s, expected audio and video" % (name, sorted(kinds)))
            if report["errors"]:
                self.exit_code = 1
        print(json.dumps(report, indent=1))
        sys.stdout.flush()
        return self.exit_code


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--url", required=True)
    p.add_argument("--room", type=int, default=1234)
    p.add_argument("--pin")
    p.add_argument("--local-address", action="append", required=True)
    p.add_argument("--expect", help="comma-separated display names that must be subscribed")
    p.add_argument("--wait", type=float, default=15, help="seconds to wait for the expected publishers")
    p.add_argument("--duration", type=float, default=8)
    p.add_argument("--min-frames", type=int, default=1)
    p.add_argument("--min-audio", type=int, default=1)
    p.add_argument("--verbose", action="store_true")
    args = p.parse_args()
    Gst.init(None)
    return Probe(args).run()


if __name__ == "__main__":
    sys.exit(main())
