"""levers: reel's recording graph rebuilt as one gst-launch description (run by gstrun.py) from the bench's
files, to measure tuning levers that reel's templates cannot reach (compositor and
encoder threading, where scaling happens, decoder threads, a lower simulcast layer).

The graph is reel's (src/media/reel-media-graph.c + pipelines/*.pipeline), without the
WebRTC receive side (no Janus, no SRTP, no jitter buffer): per input
    filesrc ! matroskademux ! queue ! clocksync (real-time pacing, like the network)
      ! queue leaky=downstream max-size-time=1s (reel's, in front of each decoder)
      ! <decode-vp8 template> ! compositor pad (xpos, ypos, width, height, zorder)
      ! <decode-opus template> ! audiomixer pad
plus reel's base inputs (a live transparent 16x16 picture and live silence: they make both
mixers live), then
    compositor background=black latency=100 ms ! caps I420 1280x720@30 ! queue
      ! <video-h264 template> ! mp4mux fragment-duration=1000 ! filesink
    audiomixer latency=100 ms ! caps F32LE 48 kHz stereo ! queue ! <audio-aac template> ! mux

Cost = CPU of the gst-launch process over a steady window / media seconds (real time).
The files are 20 s long and are not looped here: warmup + window must stay below that.
The window starts and ends on completed MP4 fragments, so the media seconds are those written.
"""

import os
import subprocess
import time

import benchlib as b

LINEAR_PAD = 'sink_{i}::converter-config="config,GstVideoConverter.resampler-method=(GstVideoResamplerMethod)linear"'
# reel's tile scaling (src/media/reel-media-graph.c): bilinear, 2 taps
BILINEAR_PAD = ('sink_{i}::converter-config="config,GstVideoConverter.resampler-method=(GstVideoResamplerMethod)linear,'
                'GstVideoResampler.max-taps=(int)2"')
X264 = "x264enc speed-preset=veryfast tune=zerolatency bitrate={kbps} key-int-max={keyint}"

# reel's graph as its templates and C code build it today
BASE = {
    "decoder": "avdec_vp8 max-threads=1",  # video decoder element with its properties
    "dec_convert": "",                 # something between decoder and compositor
    "branch_scale": None,              # None: the compositor scales; else "videoscale method=..."
    "compositor": "max-threads=1",     # extra compositor properties
    "pad_extra": BILINEAR_PAD,         # extra per-pad properties
    "encoder": X264 + " threads=1",
    "pre_encoder": "videoconvert ! video/x-raw,format=I420 ! ",
    "opus": "opusdec plc=true",
    "queue_venc": "queue",
    "input_queue": "queue max-size-buffers=0 max-size-bytes=0 max-size-time=1000000000 leaky=downstream",
    "suffix": "",                      # file name suffix for a lower "simulcast layer"
    "audio": True,
    "amix": "",                        # extra audiomixer properties (output-buffer-duration=...)
    "silence_spb": 480,                # samplesperbuffer of reel's base silence
    "aac": "avenc_aac",                # AAC encoder element
}


def description(files, out, opts):
    o = dict(BASE)
    o.update(opts)
    n = len(files)
    tiles = b.grid(n)
    parts = []
    comp = "compositor name=mix background=black latency=100000000 %s" % o["compositor"]
    pads = []
    for i, (x, y, w, h) in enumerate(tiles):
        if o["branch_scale"]:
            pads.append("sink_%d::xpos=%d sink_%d::ypos=%d sink_%d::zorder=%d %s"
                        % (i, x, i, y, i, i + 1, o["pad_extra"].replace("{i}", str(i))))
        else:
            pads.append("sink_%d::xpos=%d sink_%d::ypos=%d sink_%d::width=%d sink_%d::height=%d sink_%d::zorder=%d %s"
                        % (i, x, i, y, i, w, i, h, i, i + 1, o["pad_extra"].replace("{i}", str(i))))
    pads.append("sink_%d::alpha=0 sink_%d::zorder=0" % (n, n))
    parts.append(comp + " " + " ".join(pads)
                 + " ! video/x-raw,format=I420,width=%d,height=%d,framerate=%d/1,pixel-aspect-ratio=1/1 ! %s ! "
                 % (b.W, b.H, b.FPS, o["queue_venc"])
                 + o["pre_encoder"] + o["encoder"].format(kbps=b.VIDEO_KBPS, keyint=b.KEYINT)
                 + " ! video/x-h264,profile=high ! h264parse config-interval=-1 ! queue ! mux.")
    if o["audio"]:
        parts.append("audiomixer name=amix latency=100000000 " + o["amix"] + " ! audio/x-raw,format=F32LE,rate=48000,channels=2,"
                     "layout=interleaved ! queue ! audioconvert ! audioresample ! %s bitrate=%d ! aacparse "
                     "! queue ! mux." % (o["aac"], b.AUDIO_KBPS * 1000))
    parts.append("mp4mux name=mux fragment-duration=1000 ! filesink location=%s sync=false async=false" % out)
    parts.append("videotestsrc is-live=true pattern=black ! video/x-raw,format=I420,width=16,height=16,"
                 "framerate=%d/1 ! mix.sink_%d" % (b.FPS, n))
    if o["audio"]:
        parts.append("audiotestsrc is-live=true wave=silence samplesperbuffer=%d ! audio/x-raw,rate=48000,channels=2 "
                     "! amix." % o["silence_spb"])
    for i, f in enumerate(files):
        x, y, w, h = tiles[i]
        path = f
        if o["suffix"]:
            path = f.replace(".mkv", o["suffix"] + ".mkv")
        v = "filesrc location=%s ! matroskademux name=d%d d%d.video_0 ! queue ! clocksync ! %s ! %s" % (
            path, i, i, o["input_queue"], o["decoder"])
        if o["dec_convert"]:
            v += " ! " + o["dec_convert"]
        if o["branch_scale"]:
            v += " ! %s ! video/x-raw,width=%d,height=%d" % (o["branch_scale"], w, h)
        parts.append(v + " ! mix.sink_%d" % i)
        if o["audio"]:
            parts.append("d%d.audio_0 ! queue ! clocksync ! %s ! %s ! amix." % (i, o["input_queue"], o["opus"]))
    return " ".join(parts)


def run_graph(files, opts, warmup, window, workdir, tag, attempts=2):
    """Runs the graph; a start failure (mp4mux now and then rejects a first buffer
    without PTS: a race at start of the standalone graph) is retried once."""
    for attempt in range(attempts):
        try:
            return _run_graph(files, opts, warmup, window, workdir, tag)
        except RuntimeError:
            if attempt == attempts - 1:
                raise


def _run_graph(files, opts, warmup, window, workdir, tag):
    out = os.path.join(workdir, "%s.mp4" % tag)
    desc = description(files, out, opts)
    with open(os.path.join(workdir, "%s.gst" % tag), "w") as f:
        f.write(desc + "\n")
    log = open(os.path.join(workdir, "%s.log" % tag), "w")
    proc = subprocess.Popen(["/usr/bin/python3", os.path.join(os.path.dirname(os.path.abspath(__file__)), "gstrun.py"),
                             desc], stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT)
    log.close()
    try:
        time.sleep(warmup)
        if proc.poll() is not None:
            raise RuntimeError("gst-launch exited early (%s): see %s.log" % (proc.returncode, tag))
        w, media = b.fragment_window(out, proc.pid, window)
    finally:
        if proc.poll() is None:
            proc.send_signal(2)   # SIGINT: -e sends EOS, the file is finalized
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
    res = w.facts()
    res.update(threads=w.threads, file=out, media_s=round(media, 3), cpu_per_media_s=round(w.cpu / media, 4),
               speed=round(media / w.wall, 3))
    return res


# The levers measured, each as (name, what it changes, options). "reel" is reel's graph
# as its templates and C code build it today; every other row changes one thing.
LEVERS = [
    ("reel", "reel's graph today: avdec_vp8 max-threads=1, compositor max-threads=1 scaling bilinear (2 taps), "
     "x264enc threads=1", {}),
    ("before", "reel's graph before tuning: avdec_vp8, compositor auto threads and its default cubic scaling, "
     "x264enc auto threads", {"decoder": "avdec_vp8", "compositor": "", "pad_extra": "", "encoder": X264}),
    ("avdec-auto", "decoder: avdec_vp8 with its automatic threads", {"decoder": "avdec_vp8"}),
    ("vp8dec-1thread", "decoder: vp8dec threads=1 (libvpx)", {"decoder": "vp8dec threads=1"}),
    ("x264-auto", "encoder: x264enc automatic (sliced) threads", {"encoder": X264}),
    ("comp-auto", "compositor: automatic blending threads", {"compositor": ""}),
    ("scale-cubic", "tiles scaled with the compositor's default (cubic, taps growing with the ratio)",
     {"pad_extra": ""}),
    ("scale-linear", "tiles scaled linear, taps growing with the ratio", {"pad_extra": LINEAR_PAD}),
    ("branch-scale", "scaling in each input branch (videoscale method=bilinear) instead of the compositor",
     {"branch_scale": "videoscale method=bilinear", "pad_extra": ""}),
    ("simulcast-low", "inputs at 320x180 (a lower simulcast layer; the compositor scales them up to the tile)", {
        "suffix": "_low"}),
    ("amix-40ms", "audiomixer output-buffer-duration=40 ms, base silence in 40 ms buffers (C)", {
        "amix": "output-buffer-duration=40000000", "silence_spb": 1920}),
    ("voaacenc", "AAC by voaacenc instead of avenc_aac (lower quality at low bitrates)", {"aac": "voaacenc"}),
    ("avdec-opus", "Opus by avdec_opus (libavcodec's decoder, no loss concealment) instead of opusdec plc=true",
     {"opus": "avdec_opus ! audioconvert"}),
    ("no-audio", "video only (what the audio path costs)", {"audio": False}),
]


def combos():
    """Levers together."""
    return [
        ("reel+voaac+avopus", "reel + voaacenc + avdec_opus (the audio levers that change the output)",
         {"aac": "voaacenc", "opus": "avdec_opus ! audioconvert"}),
    ]


# Levers that only matter with scaling (N = 9: 640x360 into 426x240 tiles); at N = 4 the
# tiles are the inputs' size and nothing is scaled.
SCALING_ONLY = {"scale-cubic", "scale-linear", "branch-scale", "simulcast-low"}
