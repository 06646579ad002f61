"""benchlib: the pieces of reel's benchmark (bench.py): test media, CPU and memory from
/proc, a reeld launcher, the ffmpeg reference and floor commands, MP4 inspection, and the
A/V sync analysis. Stdlib + numpy; run with /usr/bin/python3.
"""

import concurrent.futures
import contextlib
import hashlib
import http.client
import json
import os
import re
import secrets
import signal
import subprocess
import sys
import threading
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE_ROOT = os.path.abspath(os.environ.get("REEL_SOURCE_ROOT") or os.path.join(HERE, "..", ".."))
CLK_TCK = os.sysconf("SC_CLK_TCK")
PAGE = os.sysconf("SC_PAGE_SIZE")

# The recording every case makes: reel's defaults, and the reference's settings.
W, H, FPS = 1280, 720, 30
VIDEO_KBPS = 2500
AUDIO_KBPS = 128
KEYINT = 2 * FPS          # reel's video-h264 template: key-int-max = 2 x framerate
# Publisher media: VP8 640x360@30 (a keyframe every second) + Opus 48 kHz mono.
SRC_W, SRC_H = 640, 360
MEDIA_SECONDS = 20        # files loop (publishers: segment seeks; ffmpeg: -stream_loop)
MEDIA_VERSION = "v2"      # bump when the generation below changes
OPUS_FRAME_S = 0.020      # one Opus packet; MEDIA_SECONDS holds a whole number of them
OPUS_PRESKIP_S = 312 / 48000.0  # libopus's encoder delay (the header's pre-skip)
SYNC_BEEP_HZ = 3000
SYNC_FLASH_S = 0.1        # flash and beep last 100 ms, every second, both starting at t = k + 0.5
SYNC_PHASE_S = 0.5        # half-way through each second: never at a loop's seam


def note(msg):
    sys.stderr.write("[bench %s] %s\n" % (time.strftime("%H:%M:%S"), msg))
    sys.stderr.flush()


def run(cmd, timeout=600, check=True, **kw):
    p = subprocess.run(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       timeout=timeout, **kw)
    if check and p.returncode != 0:
        raise RuntimeError("%s exited %d: %s" % (" ".join(cmd[:6]), p.returncode,
                                                 p.stderr.decode("utf-8", "replace")[-2000:]))
    return p


def median(values):
    v = sorted(x for x in values if x is not None)
    if not v:
        return None
    n = len(v)
    return v[n // 2] if n % 2 else (v[n // 2 - 1] + v[n // 2]) / 2.0


# ------------------------------------------------------------------------------------
# media


def participant_tone(i):
    return 300 + 70 * i


def media_dir_default():
    return os.environ.get("REEL_BENCH_MEDIA") or "/var/tmp/reel-bench-media-%s" % MEDIA_VERSION


def _encode_args(kind, seconds, kbps=800):
    """Encoder arguments for one stream of `seconds`: VP8 pictures or Opus packets."""
    if kind == "v":
        return ["-frames:v", str(int(round(seconds * FPS))),
                "-c:v", "libvpx", "-deadline", "realtime", "-cpu-used", "8", "-b:v", "%dk" % kbps,
                "-g", "30", "-keyint_min", "30", "-auto-alt-ref", "0", "-lag-in-frames", "0",
                "-error-resilient", "1", "-threads", "2", "-pix_fmt", "yuv420p"]
    # The encoder's delay plus the samples make whole packets, none of them trimmed.
    samples = int(round(seconds * 48000)) - int(round(OPUS_PRESKIP_S * 48000))
    return ["-af", "atrim=end_sample=%d" % samples,
            "-c:a", "libopus", "-b:a", "48k", "-ac", "1", "-frame_duration", "20", "-application", "audio"]


def media_spec(name):
    """ffmpeg input arguments for one file, (video, audio): pN (N = 0..) a moving test
    pattern with its own hue and a sine tone; "sync" a black picture that turns white for
    100 ms and a 3 kHz beep for the same 100 ms, both starting half-way through every
    second (k + 0.5 s).

    The beep is generated OPUS_PRESKIP_S (the encoder's delay, the header's pre-skip)
    early: a receiver of the RTP stream (reel) decodes every packet from its timestamp and
    never skips the encoder's delay, so it hears the beep exactly at k + 0.5 s, with the
    flash. (Nothing else is early: the flash and the beep are half-way into a second,
    away from a loop's seam.)"""
    if name == "sync":
        on = "gte(mod(t%s\\,1)\\,{p})*lt(mod(t%s\\,1)\\,{e})".format(p=SYNC_PHASE_S, e=SYNC_PHASE_S + SYNC_FLASH_S)
        return (["-f", "lavfi", "-i",
                 "color=c=black:s=%dx%d:r=%d,drawbox=x=0:y=0:w=iw:h=ih:color=white:t=fill:"
                 "enable='%s'" % (SRC_W, SRC_H, FPS, on % ("", ""))],
                ["-f", "lavfi", "-i",
                 "aevalsrc=exprs='if(%s\\,0.5*sin(2*PI*%d*t)\\,0)':s=48000"
                 % (on % (("+%.7f" % OPUS_PRESKIP_S,) * 2), SYNC_BEEP_HZ)])
    w, h = SRC_W, SRC_H
    if name.endswith("_low"):          # the lower simulcast layer of pN: 320x180
        name, w, h = name[:-4], SRC_W // 2, SRC_H // 2
    i = int(name[1:])
    return (["-f", "lavfi", "-i", "testsrc2=s=%dx%d:r=%d,hue=h=%d" % (w, h, FPS, (i * 40) % 360)],
            ["-f", "lavfi", "-i", "sine=f=%d:sample_rate=48000" % participant_tone(i)])


def ensure_media(media_dir, names, seconds=MEDIA_SECONDS):
    """Generates (once; cached in media_dir) p0.mkv ... and sync.mkv: VP8 640x360@30 with a
    keyframe every second + Opus, `seconds` long (pN_low.mkv: 320x180, for the simulcast
    lever). Returns {name: path}.

    Each file loops seamlessly: exactly seconds x FPS pictures and seconds / 20 ms Opus
    packets. (Encoded together, ffmpeg ends the file with the video and cuts the last Opus
    packet short; with -t the sound runs a packet over. Either way a looped file would
    carry more or less sound than pictures every loop.) So the two streams are encoded
    apart and put together without re-encoding."""
    os.makedirs(media_dir, exist_ok=True)
    paths, todo = {}, []
    for name in names:
        path = os.path.join(media_dir, "%s.mkv" % name)
        paths[name] = path
        if not os.path.exists(path):
            todo.append((name, path))
    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        for f in [pool.submit(_make_media, name, path, seconds) for name, path in todo]:
            f.result()
    if todo:
        note("generated %s in %s" % (", ".join(n for n, _ in todo), media_dir))
    return paths


def _make_media(name, path, seconds):
    ff = ["ffmpeg", "-nostdin", "-v", "error", "-y"]
    parts = {}
    for k, inputs in zip(("v", "a"), media_spec(name)):
        parts[k] = "%s.part-%s.mkv" % (path, k)
        run(ff + inputs + _encode_args(k, seconds, 250 if name.endswith("_low") else 800) + [parts[k]])
    tmp = path + ".part.mkv"
    run(ff + ["-i", parts["v"], "-i", parts["a"], "-map", "0:v", "-map", "1:a", "-c", "copy", tmp])
    for p in parts.values():
        os.unlink(p)
    want = {"v": int(round(seconds * FPS)), "a": int(round(seconds / OPUS_FRAME_S))}
    for kind, n in want.items():
        p = run(["ffprobe", "-v", "error", "-select_streams", kind, "-count_packets",
                 "-show_entries", "stream=nb_read_packets", "-of", "csv=p=0", tmp])
        got = int(p.stdout.decode().strip() or 0)
        if got != n:
            raise RuntimeError("%s: %d %s packets, not %d: it would not loop seamlessly" % (path, got, kind, n))
    os.rename(tmp, path)


# ------------------------------------------------------------------------------------
# /proc


def proc_cpu(pid):
    """utime + stime of a process (all its threads), in seconds."""
    with open("/proc/%d/stat" % pid) as f:
        stat = f.read()
    fields = stat[stat.rindex(")") + 2:].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def proc_ctxt(pid):
    """Context switches (voluntary + involuntary) of every thread of a process."""
    total = 0
    try:
        tids = os.listdir("/proc/%d/task" % pid)
    except OSError:
        return None
    for tid in tids:
        with contextlib.suppress(OSError):
            with open("/proc/%d/task/%s/status" % (pid, tid)) as f:
                for line in f:
                    if line.startswith(("voluntary_ctxt_switches", "nonvoluntary_ctxt_switches")):
                        total += int(line.split()[1])
    return total


def machine_busy():
    """(busy, total, steal) jiffies of the whole machine from /proc/stat."""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    idle = v[3] + v[4]
    steal = v[7] if len(v) > 7 else 0
    return sum(v[:8]) - idle, sum(v[:8]), steal


def machine_cores(seconds=2.0):
    """Cores the whole machine kept busy over `seconds` (every process, ours included)."""
    a = machine_busy()
    time.sleep(seconds)
    b_ = machine_busy()
    return (b_[0] - a[0]) / CLK_TCK / seconds


def wait_quiet(threshold, max_wait, base=0.0):
    """Waits (up to max_wait s) until the machine, minus `base` cores that are ours (Janus,
    publishers), is busier than `threshold` cores no more: other people's processes skew
    CPU-time measurements on a shared 2-core machine. Returns (others' cores when it
    started, waited seconds)."""
    t0 = time.monotonic()
    while True:
        others = machine_cores(2.0) - base
        if others <= threshold or time.monotonic() - t0 >= max_wait:
            return round(others, 3), round(time.monotonic() - t0, 1)


def proc_cpu_safe(pid):
    try:
        return proc_cpu(pid)
    except (OSError, ValueError, IndexError):
        return 0.0


def proc_rss_mb(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024.0
    return None


def udp_rcvbuf_errors():
    """UDP datagrams this network namespace's sockets dropped because their receive
    buffer was full (/proc/net/snmp): a receiver that was not scheduled for a while."""
    with open("/proc/net/snmp") as f:
        rows = [line.split() for line in f if line.startswith("Udp:")]
    return int(rows[1][rows[0].index("RcvbufErrors")])


class Disturbance:
    """What the machine did to a case: datagrams dropped at full sockets and steal time
    (CPU time the hypervisor gave to others while this VM wanted it, all CPUs)."""

    def __init__(self):
        self.drops0, self.steal0 = udp_rcvbuf_errors(), machine_busy()[2]

    def report(self):
        return {"udp_rcvbuf_errors": udp_rcvbuf_errors() - self.drops0,
                "steal_s": round((machine_busy()[2] - self.steal0) / CLK_TCK, 1)}


def proc_threads(pid):
    """{thread name: cpu seconds}, threads of the same name summed; names are what
    GStreamer gives its streaming threads (the element and pad, cut to 15 characters)."""
    out = {}
    try:
        tids = os.listdir("/proc/%d/task" % pid)
    except OSError:
        return out
    for tid in tids:
        try:
            with open("/proc/%d/task/%s/stat" % (pid, tid)) as f:
                stat = f.read()
        except OSError:
            continue
        name = stat[stat.index("(") + 1:stat.rindex(")")]
        fields = stat[stat.rindex(")") + 2:].split()
        cpu = (int(fields[11]) + int(fields[12])) / CLK_TCK
        key = thread_group(name)
        out[key] = out.get(key, 0.0) + cpu
    return out


def thread_group(name):
    """Folds per-instance thread names into groups: "dec-3:src" -> "dec-*:src"."""
    name = re.sub(r"\d+", "*", name)
    return name


def thread_delta(a, b, seconds):
    keys = set(a) | set(b)
    d = {k: (b.get(k, 0.0) - a.get(k, 0.0)) / seconds for k in keys}
    return {k: round(v, 4) for k, v in sorted(d.items(), key=lambda kv: -kv[1]) if v >= 0.002}


class CpuWindow:
    """CPU seconds of one process between start() and stop(), per wall second."""

    def __init__(self, pid):
        self.pid = pid

    def start(self):
        self.t0 = time.monotonic()
        self.c0 = proc_cpu(self.pid)
        self.th0 = proc_threads(self.pid)
        self.x0 = proc_ctxt(self.pid)
        self.m0 = machine_busy()

    def stop(self):
        self.t1 = time.monotonic()
        self.c1 = proc_cpu(self.pid)
        self.th1 = proc_threads(self.pid)
        self.rss_mb = proc_rss_mb(self.pid)
        self.wall = self.t1 - self.t0
        self.cpu = self.c1 - self.c0
        self.per_s = self.cpu / self.wall
        self.threads = thread_delta(self.th0, self.th1, self.wall)
        x1 = proc_ctxt(self.pid)
        self.ctxt_per_s = (x1 - self.x0) / self.wall if x1 is not None and self.x0 is not None else None
        m1 = machine_busy()
        # the whole machine's load during the window, in cores (others' processes included)
        self.machine_cores = (m1[0] - self.m0[0]) / CLK_TCK / self.wall
        self.steal_cores = (m1[2] - self.m0[2]) / CLK_TCK / self.wall
        return self.per_s

    def facts(self):
        return {"cpu_s": round(self.cpu, 3), "wall_s": round(self.wall, 3),
                "cpu_per_media_s": round(self.per_s, 4), "rss_mb": round(self.rss_mb or 0, 1),
                "ctxt_per_s": round(self.ctxt_per_s) if self.ctxt_per_s is not None else None,
                "machine_cores": round(self.machine_cores, 3), "steal_cores": round(self.steal_cores, 3)}


# ------------------------------------------------------------------------------------
# reeld


def reeld_path():
    path = os.environ.get("REELD")
    if not path:
        for cand in ("build", "_build", "builddir"):
            p = os.path.join(SOURCE_ROOT, cand, "src", "reeld", "reeld")
            if os.access(p, os.X_OK):
                path = p
                break
    if not path or not os.access(path, os.X_OK):
        raise RuntimeError("reeld not found: build it (ninja -C build) or set REELD")
    return path


LISTEN_RE = re.compile(r"reeld: listening on http://([^\s:/]+):(\d+)")


class Reeld:
    """One reeld with its own config, folder and token, recording from Janus."""

    def __init__(self, workdir, local_address, pipelines_dir=None, media=None, extra=None, tag="reeld"):
        self.workdir = workdir
        os.makedirs(workdir, exist_ok=True)
        self.token = secrets.token_hex(16)
        self.recordings_dir = os.path.join(workdir, "recordings")
        self.sections = {
            "api": {"listen": "127.0.0.1:0", "token": self.token},
            "storage": {"recordings_dir": self.recordings_dir, "state_db": os.path.join(workdir, "reel.db")},
            "webrtc": {"local_addresses": local_address},
            "limits": {"max_recordings": 32},
            "media": {"pipelines_dir": pipelines_dir or os.path.join(SOURCE_ROOT, "pipelines")},
        }
        self.sections["media"].update(media or {})
        for group, keys in (extra or {}).items():
            self.sections.setdefault(group, {}).update(keys)
        self.config_path = os.path.join(workdir, "reel.conf")
        with open(self.config_path, "w") as f:
            for group, keys in self.sections.items():
                f.write("[%s]\n" % group)
                for k, v in keys.items():
                    f.write("%s = %s\n" % (k, v))
                f.write("\n")
        self.log_path = os.path.join(workdir, "%s.log" % tag)
        self.proc = None
        self.port = None

    def start(self, timeout=20):
        env = dict(os.environ)
        for k in ("REEL_API_TOKEN", "CREDENTIALS_DIRECTORY", "NOTIFY_SOCKET"):
            env.pop(k, None)
        log = open(self.log_path, "w")
        self.proc = subprocess.Popen([reeld_path(), "--config", self.config_path], stdin=subprocess.DEVNULL,
                                     stdout=log, stderr=subprocess.PIPE, cwd=self.workdir, env=env)
        ready = threading.Event()

        def drain():
            for raw in iter(self.proc.stderr.readline, b""):
                line = raw.decode("utf-8", "replace")
                with contextlib.suppress(ValueError):
                    log.write(line)
                    log.flush()
                if not ready.is_set():
                    m = LISTEN_RE.search(line)
                    if m:
                        self.port = int(m.group(2))
                        ready.set()
            ready.set()
            with contextlib.suppress(ValueError):
                log.close()
        threading.Thread(target=drain, daemon=True).start()
        if not ready.wait(timeout) or self.port is None:
            raise RuntimeError("reeld did not start (see %s)" % self.log_path)
        return self

    @property
    def pid(self):
        return self.proc.pid

    def api(self, method, path, body=None, timeout=15):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            hdrs = {"Authorization": "Bearer %s" % self.token}
            data = None
            if body is not None:
                data = json.dumps(body).encode()
                hdrs["Content-Type"] = "application/json"
            conn.request(method, path, body=data, headers=hdrs)
            resp = conn.getresponse()
            raw = resp.read()
        finally:
            conn.close()
        try:
            return resp.status, json.loads(raw) if raw else None
        except ValueError:
            return resp.status, None

    def create(self, body):
        st, rec = self.api("POST", "/v1/recordings", body)
        if st != 201:
            raise RuntimeError("POST /v1/recordings -> %d: %s" % (st, rec))
        return rec

    def get(self, rec_id):
        st, rec = self.api("GET", "/v1/recordings/%s" % rec_id)
        if st != 200:
            raise RuntimeError("GET %s -> %d" % (rec_id, st))
        return rec

    def wait_state(self, rec_id, states, timeout=30):
        deadline = time.monotonic() + timeout
        while True:
            rec = self.get(rec_id)
            if rec.get("state") in states:
                return rec
            if rec.get("state") in ("finished", "failed") or time.monotonic() > deadline:
                raise RuntimeError("recording %s is %s (waited for %s): %s\n%s"
                                   % (rec_id, rec.get("state"), states, json.dumps(rec)[:1500], self.log_tail()))
            time.sleep(0.05)

    def stop_recording(self, rec_id, timeout=40):
        self.api("POST", "/v1/recordings/%s/stop" % rec_id)
        return self.wait_state(rec_id, ("finished", "failed"), timeout)

    def output_path(self, rec):
        p = rec["outputs"][0]["path"]
        return p if os.path.isabs(p) else os.path.join(self.workdir, p)

    def log_tail(self, n=40):
        try:
            with open(self.log_path, errors="replace") as f:
                return "\n".join(f.read().splitlines()[-n:])
        except OSError:
            return ""

    def stop(self, timeout=30):
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(10)


def janus_body(url, room, seconds, video=None):
    return {"room": {"provider": "janus", "url": url, "room": room}, "layout": "grid",
            "video": video or {"width": W, "height": H, "framerate": FPS, "bitrate_kbps": VIDEO_KBPS},
            "outputs": [{"type": "file", "format": "mp4"}], "max_duration_s": int(seconds)}


# ------------------------------------------------------------------------------------
# the ffmpeg reference and the floor


def grid(n, width=W, height=H, aspect=16.0 / 9.0):
    """reel's grid (src/media/reel-layout.c): cols = ceil(sqrt(n)), rows = ceil(n / cols),
    16:9 tiles centred in equal cells; integer (x, y, w, h), even sizes."""
    import math
    cols = int(math.ceil(math.sqrt(n)))
    rows = int(math.ceil(n / cols))
    cw, ch = width / cols, height / rows
    if cw / ch > aspect:
        th, tw = ch, ch * aspect
    else:
        tw, th = cw, cw / aspect
    out = []
    for i in range(n):
        r, c = divmod(i, cols)
        x = c * cw + (cw - tw) / 2
        y = r * ch + (ch - th) / 2
        out.append((int(x), int(y), int(tw) // 2 * 2, int(th) // 2 * 2))
    return out


def x264_args(threads=None):
    """libx264 as reel's video-h264 template sets x264enc: veryfast, zerolatency, ABR at
    2500 kbit/s with x264enc's default VBV (600 ms), High profile, keyframe every 2 s."""
    a = ["-c:v", "libx264", "-preset", "veryfast", "-tune", "zerolatency",
         "-b:v", "%dk" % VIDEO_KBPS, "-maxrate", "%dk" % VIDEO_KBPS, "-bufsize", "%dk" % (VIDEO_KBPS * 6 // 10),
         "-g", str(KEYINT), "-profile:v", "high", "-pix_fmt", "yuv420p"]
    if threads is not None:
        a += ["-threads", str(threads)]
    return a


def aac_args():
    return ["-c:a", "aac", "-b:a", "%dk" % AUDIO_KBPS, "-ar", "48000", "-ac", "2"]


def ffmpeg_inputs(files, seconds):
    """Real-time, looped inputs, each read for `seconds` (so that inputs only decoded
    into a null sink end too)."""
    args = []
    for f in files:
        args += ["-re", "-stream_loop", "-1", "-t", "%.1f" % seconds, "-i", f]
    return args


def ffmpeg_reference_cmd(files, seconds, out, progress, x264_threads=None):
    """The obvious native alternative: every input decoded, put on the 30 fps grid (fps:
    the files' millisecond timestamps would otherwise make xstack drop and repeat
    frames), scaled into reel's grid, stacked with xstack and padded to 1280x720 (the
    letterbox and empty cells black, as reel's), audio mixed with amix, libx264 + AAC,
    real time (-re)."""
    n = len(files)
    tiles = grid(n)
    parts = []
    for i, (x, y, w, h) in enumerate(tiles):
        scale = "" if (w, h) == (SRC_W, SRC_H) else ",scale=%d:%d" % (w, h)
        parts.append("[%d:v]fps=%d,setpts=PTS-STARTPTS%s[v%d]" % (i, FPS, scale, i))
    x0, y0 = tiles[0][0], tiles[0][1]
    if n == 1:
        stacked = "[v0]"
    else:
        layout = "|".join("%d_%d" % (x - x0, y - y0) for x, y, _, _ in tiles)
        stacked = "%sxstack=inputs=%d:layout=%s:fill=black," % ("".join("[v%d]" % i for i in range(n)), n, layout)
    if n == 1:
        parts.append("[v0]pad=%d:%d:%d:%d:black,format=yuv420p[vout]" % (W, H, x0, y0))
    else:
        parts.append("%spad=%d:%d:%d:%d:black,format=yuv420p[vout]" % (stacked, W, H, x0, y0))
    if n == 1:
        parts.append("[0:a]aresample=48000,aformat=channel_layouts=stereo[aout]")
    else:
        parts.append("%samix=inputs=%d:duration=longest:normalize=0,aformat=channel_layouts=stereo[aout]"
                     % ("".join("[%d:a]" % i for i in range(n)), n))
    return (["ffmpeg", "-nostdin", "-v", "error", "-y"] + ffmpeg_inputs(files, seconds + 0.5)
            + ["-filter_complex", ";".join(parts), "-map", "[vout]", "-map", "[aout]"]
            + x264_args(x264_threads) + aac_args()
            + ["-t", "%.1f" % seconds, "-progress", progress, "-stats_period", "0.5", out])


def ffmpeg_floor_cmd(files, seconds, out, progress, x264_threads=None):
    """The floor: the same N inputs decoded (video and audio, real time), and ONE
    1280x720@30 encode: input 0's picture scaled to 1280x720 (fast bilinear) and its
    audio, same libx264/AAC settings. Inputs 1..N-1 are decoded into a null sink. No
    compositing, no mixing."""
    n = len(files)
    parts = ["[0:v]fps=%d,scale=%d:%d:flags=fast_bilinear,format=yuv420p[vout]" % (FPS, W, H),
             "[0:a]aresample=48000,aformat=channel_layouts=stereo[aout]"]
    maps = ["-map", "[vout]", "-map", "[aout]"] + x264_args(x264_threads) + aac_args() \
        + ["-t", "%.1f" % seconds, "-progress", progress, "-stats_period", "0.5", out]
    for i in range(1, n):
        parts.append("[%d:v]nullsink" % i)
        parts.append("[%d:a]anullsink" % i)
    return (["ffmpeg", "-nostdin", "-v", "error", "-y"] + ffmpeg_inputs(files, seconds + 0.5)
            + ["-filter_complex", ";".join(parts)] + maps)


def read_progress(path):
    """The last complete block of ffmpeg -progress: {key: value}."""
    try:
        with open(path) as f:
            text = f.read()
    except OSError:
        return {}
    blocks = re.split(r"progress=\w+\n", text)
    for block in reversed(blocks[:-1] if len(blocks) > 1 else blocks):
        d = dict(line.split("=", 1) for line in block.strip().splitlines() if "=" in line)
        if "frame" in d:
            return d
    return {}


def progress_media_s(d):
    try:
        return int(d.get("out_time_us", "0")) / 1e6
    except ValueError:
        return None


# ------------------------------------------------------------------------------------
# files


def ffprobe_json(path, *args, timeout=120):
    p = run(["ffprobe", "-v", "error", "-of", "json"] + list(args) + [path], timeout=timeout, check=False)
    try:
        return json.loads(p.stdout or b"{}")
    except ValueError:
        return {}


def video_facts(path):
    """{codec, profile, width, height, frames, duration, fps, audio_codec, ...} of a file."""
    d = ffprobe_json(path, "-count_packets", "-show_streams", "-show_format")
    out = {"path": path, "bytes": os.path.getsize(path) if os.path.exists(path) else 0}
    for s in d.get("streams", []):
        if s.get("codec_type") == "video" and "codec" not in out:
            out.update(codec=s.get("codec_name"), profile=s.get("profile"), width=s.get("width"),
                       height=s.get("height"), frames=int(s.get("nb_read_packets") or 0),
                       video_start=float(s.get("start_time") or 0), r_frame_rate=s.get("r_frame_rate"))
        elif s.get("codec_type") == "audio" and "audio_codec" not in out:
            out.update(audio_codec=s.get("codec_name"), audio_rate=int(s.get("sample_rate") or 0),
                       audio_channels=s.get("channels"), audio_packets=int(s.get("nb_read_packets") or 0))
    dur = float((d.get("format") or {}).get("duration") or 0)
    out["duration"] = dur
    if dur > 0 and out.get("frames"):
        out["fps"] = out["frames"] / dur
    return out


def plays(path, timeout=300):
    """(ok, message): ffmpeg decodes the whole file without an error."""
    p = run(["ffmpeg", "-nostdin", "-v", "error", "-i", path, "-f", "null", "-"], timeout=timeout, check=False)
    err = p.stderr.decode("utf-8", "replace").strip()
    return p.returncode == 0 and not err, err[-500:]


def video_packet_count(path):
    """Video packets in a (possibly still growing) fragmented MP4, or None."""
    d = ffprobe_json(path, "-select_streams", "v:0", "-count_packets", "-show_entries", "stream=nb_read_packets",
                     timeout=60)
    try:
        return int(d["streams"][0]["nb_read_packets"])
    except (KeyError, IndexError, ValueError, TypeError):
        return None


def mp4_top_boxes(path):
    """[(type, offset, size)] of the complete top-level boxes of an MP4 written so far."""
    out = []
    try:
        size = os.path.getsize(path)
        with open(path, "rb") as f:
            off = 0
            while off + 8 <= size:
                f.seek(off)
                hdr = f.read(16)
                if len(hdr) < 8:
                    break
                bsize = int.from_bytes(hdr[:4], "big")
                btype = hdr[4:8].decode("latin-1")
                if bsize == 1 and len(hdr) >= 16:
                    bsize = int.from_bytes(hdr[8:16], "big")
                if bsize < 8 or off + bsize > size:
                    break
                out.append((btype, off, bsize))
                off += bsize
    except OSError:
        pass
    return out


def _children(data, off, end):
    """[(type, payload offset, end)] of the boxes in data[off:end]."""
    out = []
    while off + 8 <= end:
        size = int.from_bytes(data[off:off + 4], "big")
        btype = data[off + 4:off + 8].decode("latin-1")
        hdr = 8
        if size == 1:
            size = int.from_bytes(data[off + 8:off + 16], "big")
            hdr = 16
        if size < 8 or off + size > end:
            break
        out.append((btype, off + hdr, off + size))
        off += size
    return out


class Mp4Fragments:
    """Follows a fragmented MP4 being written: the video track (from moov) and, for every
    complete moof, its track and sample count. poll() reads only what is new."""

    def __init__(self, path):
        self.path = path
        self.off = 0
        self.video_track = None
        self.video_frames = 0        # video samples in the complete moofs seen so far
        self.video_moofs = 0

    def poll(self):
        try:
            size = os.path.getsize(self.path)
            with open(self.path, "rb") as f:
                while self.off + 8 <= size:
                    f.seek(self.off)
                    hdr = f.read(16)
                    bsize = int.from_bytes(hdr[:4], "big")
                    btype = hdr[4:8].decode("latin-1")
                    if bsize == 1:
                        bsize = int.from_bytes(hdr[8:16], "big")
                    if bsize < 8:
                        return self
                    if btype in ("moov", "moof"):
                        if self.off + bsize > size:
                            return self           # not complete yet
                        f.seek(self.off)
                        data = f.read(bsize)
                        if btype == "moov":
                            self._moov(data)
                        else:
                            self._moof(data)
                    elif self.off + bsize > size:
                        # an mdat still being written: skip it once its header is known
                        pass
                    self.off += bsize
        except OSError:
            pass
        return self

    def _moov(self, data):
        for t, a, e in _children(data, 8, len(data)):
            if t != "trak":
                continue
            tid, handler = None, None
            for t2, a2, e2 in _children(data, a, e):
                if t2 == "tkhd":
                    v = data[a2]
                    tid = int.from_bytes(data[a2 + (20 if v == 1 else 12):a2 + (24 if v == 1 else 16)], "big")
                elif t2 == "mdia":
                    for t3, a3, e3 in _children(data, a2, e2):
                        if t3 == "hdlr":
                            handler = data[a3 + 8:a3 + 12].decode("latin-1")
            if handler == "vide":
                self.video_track = tid

    def _moof(self, data):
        for t, a, e in _children(data, 8, len(data)):
            if t != "traf":
                continue
            tid, samples = None, 0
            for t2, a2, e2 in _children(data, a, e):
                if t2 == "tfhd":
                    tid = int.from_bytes(data[a2 + 4:a2 + 8], "big")
                elif t2 == "trun":
                    samples += int.from_bytes(data[a2 + 4:a2 + 8], "big")
            if tid is not None and tid == self.video_track:
                self.video_frames += samples
                self.video_moofs += 1

    def wait_new_video_moof(self, timeout, interval=0.01):
        """Polls until a new video fragment is complete; returns True, or False on timeout."""
        start = self.video_moofs
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.poll()
            if self.video_moofs > start:
                return True
            time.sleep(interval)
        return False


def mark_fragments(trackers, timeout=15.0, interval=0.01):
    """For each Mp4Fragments tracker: (time, video frames) at the moment its next video
    fragment completes (None if none within timeout). Fragment-aligned marks make frame
    rates exact to the polling interval."""
    starts = [tr.poll().video_moofs for tr in trackers]
    marks = [None] * len(trackers)
    deadline = time.monotonic() + timeout
    while any(m is None for m in marks) and time.monotonic() < deadline:
        for i, tr in enumerate(trackers):
            if marks[i] is None:
                tr.poll()
                if tr.video_moofs > starts[i]:
                    marks[i] = (time.monotonic(), tr.video_frames)
        time.sleep(interval)
    return marks


def fragment_window(path, pid, window, timeout_extra=10.0):
    """CPU of `pid` per media second, over a window that starts and ends the moment a
    new video fragment of `path` (a fragmented MP4 being written) is complete: the media
    written in between is exactly the frames of the fragments that completed, however
    far behind real time the writer runs. Returns (CpuWindow, media seconds)."""
    fr = Mp4Fragments(path).poll()
    if not fr.wait_new_video_moof(15.0):
        size = os.path.getsize(path) if os.path.exists(path) else None
        raise RuntimeError("no new video fragment in %s within 15 s (size %s, video track %s, %d video "
                           "fragments, boxes %s)" % (path, size, fr.video_track, fr.video_moofs,
                                                     [t for t, _, _ in mp4_top_boxes(path)][:8]))
    w = CpuWindow(pid)
    w.start()
    f0 = fr.video_frames
    t_end = time.monotonic() + window
    time.sleep(max(0.0, window - 1.5))
    while True:
        if not fr.wait_new_video_moof(timeout_extra):
            raise RuntimeError("%s stopped growing" % path)
        if time.monotonic() >= t_end - 0.5:
            break
    w.stop()
    return w, (fr.video_frames - f0) / float(FPS)


def first_fragment_end(path):
    """Byte offset after the first complete moof+mdat pair, or None."""
    boxes = mp4_top_boxes(path)
    for i, (t, off, size) in enumerate(boxes):
        if t == "mdat" and i > 0 and boxes[i - 1][0] == "moof":
            return off + size
    return None


# ------------------------------------------------------------------------------------
# decoded pictures


def gray_frames(path, start=None, duration=None, width=160, height=90):
    """(times, frames): every video frame (no rate conversion) as a small grey picture,
    with its presentation time in seconds from ffprobe."""
    sel = []
    if start is not None:
        sel += ["-read_intervals", "%.3f%%+%.3f" % (start, duration or 3600)]
    d = ffprobe_json(path, "-select_streams", "v:0", "-show_entries", "frame=pts_time,best_effort_timestamp_time",
                     *sel, timeout=600)
    times = []
    for fr in d.get("frames", []):
        t = fr.get("pts_time") or fr.get("best_effort_timestamp_time")
        if t is not None:
            times.append(float(t))
    cmd = ["ffmpeg", "-nostdin", "-v", "error"]
    if start is not None:
        cmd += ["-ss", "%.3f" % start]
    cmd += ["-i", path]
    if duration is not None:
        cmd += ["-t", "%.3f" % duration]
    cmd += ["-map", "0:v:0", "-fps_mode", "passthrough", "-vf", "scale=%d:%d:flags=area,format=gray" % (width, height),
            "-f", "rawvideo", "-"]
    p = run(cmd, timeout=600)
    n = len(p.stdout) // (width * height)
    frames = np.frombuffer(p.stdout[:n * width * height], dtype=np.uint8).reshape(n, height, width)
    if start is not None:
        times = [t for t in times if t >= start - 1e-3][:n]
    if len(times) != n:
        # ffprobe and ffmpeg disagree (a trailing partial fragment): trust the frame rate.
        t0 = times[0] if times else (start or 0.0)
        times = [t0 + i / FPS for i in range(n)]
    return np.array(times[:n]), frames


def tile_rects_small(n, width=160, height=90):
    return [(x * width // W, y * height // H, max(1, w * width // W), max(1, h * height // H)) for x, y, w, h in grid(n)]


def tile_activity(frames, n, threshold=30, min_pixels=4):
    """Per tile: the fraction of consecutive frame pairs in which the tile visibly changed
    (at least min_pixels pixels of the small grey picture by more than threshold levels).
    The bench's moving pattern changes in every frame, so a live tile scores about 1.0;
    a tile whose decoder falls behind repeats pictures and scores lower."""
    out = []
    for x, y, w, h in tile_rects_small(n, frames.shape[2], frames.shape[1]):
        t = frames[:, y:y + h, x:x + w].astype(np.int16)
        if len(t) < 2:
            out.append(None)
            continue
        d = (np.abs(np.diff(t, axis=0)) > threshold).sum(axis=(1, 2))
        out.append(float((d >= min_pixels).mean()))
    return out


def first_live_picture(times, frames, n, black=24, placeholder=(18, 72)):
    """Media time of the first frame in which every one of the n tiles shows a picture
    (not black, not reel's dark-grey placeholder): mean grey level per tile centre."""
    rects = tile_rects_small(n, frames.shape[2], frames.shape[1])
    for t, fr in zip(times, frames):
        ok = True
        for x, y, w, h in rects:
            c = fr[y + h // 4:y + 3 * h // 4, x + w // 4:x + 3 * w // 4]
            m, s = float(c.mean()), float(c.std())
            if m <= black and s < 10:
                ok = False
            elif placeholder[0] <= m <= placeholder[1] and s < 12:
                ok = False
        if ok:
            return float(t)
    return None


# ------------------------------------------------------------------------------------
# A/V sync


def decode_audio(path, rate=16000):
    """(0.0, mono int16 samples at `rate`): sample i is at time i / rate on the file's
    timeline (aresample pads or trims the start to pts 0, whatever the stream's start
    time, codec delay or edit list)."""
    p = run(["ffmpeg", "-nostdin", "-v", "error", "-i", path, "-map", "0:a:0",
             "-af", "aresample=async=1:first_pts=0", "-ac", "1", "-ar", str(rate),
             "-f", "s16le", "-acodec", "pcm_s16le", "-"], timeout=600)
    return 0.0, np.frombuffer(p.stdout, dtype="<i2")


def beep_onsets(start, samples, rate=16000, freq=SYNC_BEEP_HZ, hop_s=0.001):
    """Times (s) at which the beep starts: the band energy around `freq` (a 10 ms window
    every ms) crossing half of its typical peak, after at least 0.5 s below it."""
    x = samples.astype(np.float64)
    if len(x) < rate:
        return []
    win = int(0.010 * rate)
    hop = max(1, int(hop_s * rate))
    t = np.arange(win) / rate
    c = np.cos(2 * np.pi * freq * t) * np.hanning(win)
    s = np.sin(2 * np.pi * freq * t) * np.hanning(win)
    n = (len(x) - win) // hop
    idx = np.arange(n) * hop
    frames = np.lib.stride_tricks.sliding_window_view(x, win)[idx]
    env = np.hypot(frames @ c, frames @ s)
    peak = np.percentile(env, 99.5)
    if peak <= 0:
        return []
    thr = peak / 2
    onsets, last = [], -1e9
    above = env > thr
    for i in np.nonzero(above[1:] & ~above[:-1])[0] + 1:
        ti = start + (idx[i] + win / 2) / rate
        if ti - last >= 0.5:
            # refine: the window centre where the envelope crosses thr, interpolated
            e0, e1 = env[i - 1], env[i]
            frac = (thr - e0) / (e1 - e0) if e1 != e0 else 0.0
            onsets.append(start + (idx[i - 1] + frac * hop + win / 2) / rate)
        last = ti
    return onsets


def flash_onsets(times, frames, n):
    """Times (s) of the flashes: in the tile with the strongest once-a-second brightness
    spikes, the first frame whose mean grey level crosses half-way between dark and
    bright, after at least 0.5 s below it. Returns (onsets, tile index)."""
    best = None
    for k, (x, y, w, h) in enumerate(tile_rects_small(n, frames.shape[2], frames.shape[1])):
        lum = frames[:, y + h // 4:y + 3 * h // 4, x + w // 4:x + 3 * w // 4].mean(axis=(1, 2))
        spread = np.percentile(lum, 99) - np.percentile(lum, 50)
        if best is None or spread > best[0]:
            best = (spread, k, lum)
    spread, k, lum = best
    lo, hi = np.percentile(lum, 50), np.percentile(lum, 99)
    if hi - lo < 40:
        return [], k
    thr = (lo + hi) / 2
    onsets, last = [], -1e9
    above = lum > thr
    for i in np.nonzero(above[1:] & ~above[:-1])[0] + 1:
        if times[i] - last >= 0.5:
            onsets.append(float(times[i]))
        last = times[i]
    return onsets, k


def live_summary(rec):
    """What a recording's JSON says reel receives: participants, and tracks live."""
    parts = rec.get("participants") or []
    return {"participants_seen": len(parts),
            "live_tracks": sum(1 for p in parts for t in p.get("tracks") or [] if t.get("state") == "live")}


def sync_report(path, n, skip_s=2.0):
    """Pairs every flash with the beep nearest to it (within 0.5 s); offset = beep -
    flash (positive: the sound comes late). Drift = slope of offset over time. The
    first skip_s seconds (participants arriving, jitter buffers settling) are left out."""
    times, frames = gray_frames(path)
    flashes, tile = flash_onsets(times, frames, n)
    flashes = [f for f in flashes if f >= skip_s]
    a_start, samples = decode_audio(path)
    beeps = beep_onsets(a_start, samples)
    pairs = []
    for f in flashes:
        if not beeps:
            break
        b = min(beeps, key=lambda x: abs(x - f))
        if abs(b - f) < 0.5:
            pairs.append((f, b - f))
    out = {"flashes": len(flashes), "beeps": len(beeps), "pairs": len(pairs), "tile": tile}
    if len(pairs) >= 3:
        t = np.array([p[0] for p in pairs])
        o = np.array([p[1] for p in pairs]) * 1000.0
        slope = np.polyfit(t, o, 1)[0] if t.max() - t.min() > 1 else 0.0
        out.update(offset_ms_median=round(float(np.median(o)), 1), offset_ms_mean=round(float(o.mean()), 1),
                   offset_ms_min=round(float(o.min()), 1), offset_ms_max=round(float(o.max()), 1),
                   offset_ms_std=round(float(o.std()), 1),
                   claps_beyond_20ms=int((abs(o) > 20.0).sum()),
                   drift_ms_per_min=round(float(slope * 60.0), 2),
                   first_to_last_ms=round(float(o[-3:].mean() - o[:3].mean()), 1),
                   span_s=round(float(t.max() - t.min()), 1))
    return out


def run_ffmpeg_case(kind, files, warmup, window, workdir, x264_threads=None, tag=None):
    """Runs the ffmpeg reference ("ffmpeg") or the floor ("floor") in real time for
    warmup + window (+ a little) seconds; CPU of the ffmpeg process over the window,
    divided by the media seconds it encoded in that window (from -progress)."""
    tag = tag or "%s-%d" % (kind, len(files))
    out = os.path.join(workdir, "%s.mp4" % tag)
    progress = os.path.join(workdir, "%s.progress" % tag)
    seconds = warmup + window + 2.0
    build = ffmpeg_reference_cmd if kind == "ffmpeg" else ffmpeg_floor_cmd
    cmd = build(files, seconds, out, progress, x264_threads)
    with open(os.path.join(workdir, "%s.cmd" % tag), "w") as f:
        f.write(" ".join("'%s'" % c if any(ch in c for ch in " ;[]|'") else c for c in cmd) + "\n")
    err = open(os.path.join(workdir, "%s.log" % tag), "w")
    proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=err)
    err.close()
    try:
        time.sleep(warmup)
        w = CpuWindow(proc.pid)
        m0 = progress_media_s(read_progress(progress))
        w.start()
        time.sleep(window)
        m1 = progress_media_s(read_progress(progress))
        w.stop()
        proc.wait(seconds + 60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    media = (m1 - m0) if (m0 is not None and m1 is not None and m1 > m0) else w.wall
    res = w.facts()
    res.update({"media_s": round(media, 3), "cpu_per_media_s": round(w.cpu / media, 4),
                "speed": round(media / w.wall, 3), "file": out, "exit": proc.returncode})
    return res
