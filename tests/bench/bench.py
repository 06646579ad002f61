#!/usr/bin/python3
"""reel's benchmark: cost, capacity, start latency, memory and A/V sync, side by side with
ffmpeg, on the real path (GStreamer publishers -> Janus VideoRoom in a network namespace
-> reeld -> MP4).

    sudo /usr/bin/python3 tests/bench/bench.py --mode full     # for people: ~45 min
    sudo /usr/bin/python3 tests/bench/bench.py --mode short    # CI smoke test: < 4 min
    sudo /usr/bin/python3 tests/bench/bench.py --mode long     # 30-minute memory and drift

Prints a table; writes it as Markdown and JSON (--out DIR; full and long mode default to
tests/bench/results/, short mode to a temporary folder).

Cost: CPU-seconds per media-second (1.0 = one core busy), from /proc/PID/stat
(utime + stime) of one process, sampled at the start and the end of a steady window
after a warmup, divided by the media seconds written in that window:
- reel:   reeld's process only (not Janus, not the publishers), recording N publishers
          (VP8 640x360@30 + Opus, pre-encoded files sent without re-encoding) into
          1280x720@30 H.264 2500 kbit/s + AAC 128 kbit/s MP4, through Janus, with reel's
          templates as they are in pipelines/;
- reel tuned: the same with the tuned templates (TUNED_TEMPLATES below: no libavcodec,
          a different AAC encoder), an option whose price and gain are shown, not a default;
- ffmpeg: the same files, -re -stream_loop -1, fps + scale + xstack + pad, amix,
          libx264 veryfast zerolatency 2500k (x264enc's VBV), AAC 128k, same size;
- floor:  ffmpeg decoding the same N inputs (video and audio, -re) and encoding ONE
          1280x720@30 picture (input 0 scaled up, fast bilinear) + its audio with the same
          settings: what any recorder of these inputs must spend, without compositing.
Every case runs `runs` times, interleaved (reel, tuned, ffmpeg, floor, reel, ...); the
table shows the median.

Stall: one 4-participant recording whose reeld is frozen (SIGSTOP) for 3 s, once in short
mode and 3 times in full mode, as a busy machine freezes a process; reeld's RSS before
and after each freeze, and whether the file plays with every tile moving at its end.
"""

import argparse
import contextlib
import datetime
import json
import os
import platform
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "janus"))
import benchlib as b  # noqa: E402
import levers  # noqa: E402

ROOM = 4242
PYTHON = "/usr/bin/python3"

MODES = {
    # ns: participant counts; runs per case; warmup and window in seconds
    "short": dict(ns=[1, 4], runs=1, warmup=3, window=8, floor_ns=[4], tuned=True, tuned_ns=[4], capacity=False,
                  sync_n=1, sync_s=10, levers=False, long_s=0, stall_n=1, stall_settle=8),
    "full": dict(ns=[1, 4, 9], runs=3, warmup=8, window=30, floor_ns=[1, 4, 9], tuned=True, tuned_ns=[1, 4, 9],
                 capacity=True,
                 sync_n=4, sync_s=60, levers=True, long_s=0, stall_n=3, stall_settle=20),
    "long": dict(ns=[], runs=0, warmup=0, window=0, floor_ns=[], tuned=False, tuned_ns=[], capacity=False,
                 sync_n=0, sync_s=0, levers=False, long_s=1800, stall_n=0, stall_settle=0),
}

# reel tuned: what reel's defaults cannot give without changing the output a little, kept
# measured so that its price is known. reel's defaults (pipelines/) already hold every lever
# that keeps the output the same (one x264 thread, one VP8 decoding thread per stream, the
# compositor's one blending thread and bilinear tile scaling: README, "Benchmarks"). The
# tuned variant adds: no libavcodec in the process (vp8dec for VP8, VisualOn's voaacenc
# for AAC instead of libavcodec's AAC encoder, which encodes better at low bitrates), which
# saves CPU and the RSS of the ~200 libraries libavcodec pulls in. The templates are
# written into a pipelines folder made for the run (a copy of pipelines/).
TUNED_ENCODER = "video-h264"
TUNED_TEMPLATES = {
    "decode-vp8": """# VP8 from an SFU (bench variant): libvpx, one decoding thread per stream.
rtpvp8depay request-keyframe=true wait-for-keyframe=true ! vp8dec threads=1
""",
    "audio-aac": """# AAC (bench variant): VisualOn's encoder, no libavcodec in the process.
# Placeholders: {audio_bitrate_bps}
audioconvert ! audioresample ! voaacenc bitrate={audio_bitrate_bps} ! aacparse
""",
}


def now_iso():
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


class Bench:
    def __init__(self, args):
        self.args = args
        self.mode = args.mode
        self.cfg = dict(MODES[args.mode])
        for k in ("runs", "warmup", "window"):
            v = getattr(args, k)
            if v is not None:
                self.cfg[k] = v
        if args.long_seconds and self.mode == "long":
            self.cfg["long_s"] = args.long_seconds
        if args.ns:
            ns = [int(x) for x in args.ns.split(",")]
            full = self.mode == "full"
            self.cfg["floor_ns"] = [n for n in ns if full or n in self.cfg["floor_ns"]]
            self.cfg["tuned_ns"] = [n for n in ns if full or n in self.cfg["tuned_ns"]]
            self.cfg["ns"] = ns
        for s in (args.skip or "").split(","):
            s = s.strip()
            if s in ("capacity", "levers", "tuned"):
                self.cfg[s] = False
            elif s == "sync":
                self.cfg["sync_n"] = 0
            elif s == "stall":
                self.cfg["stall_n"] = 0
            elif s == "cost":
                self.cfg["ns"] = []
            elif s == "floor":
                self.cfg["floor_ns"] = []
            elif s:
                raise SystemExit("--skip: unknown part %r (cost, floor, tuned, sync, stall, capacity, levers)" % s)
        self.workdir = tempfile.mkdtemp(prefix="reel-bench-")
        self.env = None
        self.peers = {}
        self.results = {"mode": self.mode, "started_at": now_iso(), "settings": self.cfg,
                        "nice": os.getpriority(os.PRIO_PROCESS, 0),
                        "machine": machine_info(), "cost": {}, "levers": {}, "errors": []}
        self.t_start = time.monotonic()

    # -- environment -----------------------------------------------------------------

    def setup(self):
        import janusenv
        ok, why = janusenv.can_run()
        if not ok:
            raise RuntimeError("cannot build the Janus environment: " + why)
        need = max(self.cfg["ns"] + [self.cfg["sync_n"], 4 if (self.cfg["capacity"] or self.cfg["long_s"] or self.cfg["stall_n"]) else 0])
        names = ["p%d" % i for i in range(need)] + (["sync"] if (self.cfg["sync_n"] or self.cfg["long_s"]) else [])
        if self.cfg["levers"]:
            names += ["p%d" % i for i in range(need, 9)] + ["p%d_low" % i for i in range(9)]
        t = time.monotonic()
        self.media = b.ensure_media(self.args.media_dir, names)
        self.results["media_generation_s"] = round(time.monotonic() - t, 1)
        self.env = janusenv.JanusEnv(rooms={ROOM: {"description": "reel bench", "publishers": 32,
                                                   "bitrate": 4000000}},
                                     chromium_ns=False).start()
        b.note("Janus at %s; reel's local address %s; work folder %s" % (self.env.url, self.env.local_address,
                                                                         self.workdir))
        self.pipelines_default = os.path.join(b.SOURCE_ROOT, "pipelines")
        self.pipelines_tuned = os.path.join(self.workdir, "pipelines-tuned")
        shutil.copytree(self.pipelines_default, self.pipelines_tuned,
                        ignore=shutil.ignore_patterns("meson.build"))
        for name, text in TUNED_TEMPLATES.items():
            with open(os.path.join(self.pipelines_tuned, name + ".pipeline"), "w") as f:
                f.write(text)
        if not os.path.exists(os.path.join(self.pipelines_tuned, TUNED_ENCODER + ".pipeline")):
            raise RuntimeError("pipelines/%s.pipeline is missing" % TUNED_ENCODER)

    def close(self):
        for name in list(self.peers):
            self.drop_publisher(name)
        if self.env:
            self.env.close()
        if not self.args.keep:
            shutil.rmtree(self.workdir, True)
        else:
            b.note("kept %s" % self.workdir)

    # -- publishers ------------------------------------------------------------------

    def add_publisher(self, name, media):
        import janusenv
        argv = [PYTHON, os.path.join(HERE, "filepub.py"), "--url", self.env.url, "--room", str(ROOM),
                "--name", name, "--file", self.media[media], "--local-address", self.env.local_address,
                "--loop-s", str(b.MEDIA_SECONDS), "--fps", str(b.FPS), "--audio-frame-ms", str(b.OPUS_FRAME_S * 1000)]
        peer = janusenv.Peer(self.env, name, argv)
        self.peers[name] = peer
        return peer

    def drop_publisher(self, name):
        peer = self.peers.pop(name, None)
        if peer is None:
            return
        with contextlib.suppress(Exception):
            peer.leave(10)
        peer.kill()

    def publishers(self, wanted):
        """Makes the room hold exactly `wanted` ({display name: media name}), waiting for
        Janus to receive everybody's audio and video."""
        for name in [n for n in self.peers if n not in wanted]:
            self.drop_publisher(name)
        new = [self.add_publisher(name, media) for name, media in wanted.items() if name not in self.peers]
        for peer in new:
            peer.wait_media(30)
        self.env.wait_publishers(list(wanted), room=ROOM, timeout=20)
        deadline = time.monotonic() + 10
        while len(self.env.publishers(ROOM)) != len(wanted) and time.monotonic() < deadline:
            time.sleep(0.2)
        if new:
            time.sleep(1.0)   # the first loop of the new files, Janus's first keyframes

    def cost_publishers(self, n):
        self.publishers({"P%d" % i: "p%d" % i for i in range(n)})

    # -- reel ------------------------------------------------------------------------

    def reeld(self, tag, tuned=False):
        d = b.Reeld(os.path.join(self.workdir, tag), self.env.local_address,
                    pipelines_dir=self.pipelines_tuned if tuned else self.pipelines_default,
                    media={"video_encoder": TUNED_ENCODER} if tuned else None)
        return d.start()

    def reel_case(self, n, tuned, run, warmup, window, analyse=True):
        """One recording of the room's n publishers; cost over the window, start latency,
        RSS, and what the file holds."""
        tag = "reel%s-%d-%d" % ("-tuned" if tuned else "", n, run)
        d = self.reeld(tag, tuned)
        res = {"tag": tag}
        try:
            time.sleep(0.5)
            res["rss_idle_mb"] = round(b.proc_rss_mb(d.pid), 1)
            t_post = time.monotonic()
            rec = d.create(b.janus_body(self.env.url, ROOM, warmup + window + 120))
            t_created = time.monotonic()
            d.wait_state(rec["id"], ("recording",), timeout=30)
            t_rec = time.monotonic()
            res["post_to_created_s"] = round(t_created - t_post, 3)
            res["post_to_recording_s"] = round(t_rec - t_post, 3)
            path = None
            time.sleep(max(0.0, warmup - (time.monotonic() - t_post)))
            rec = d.get(rec["id"])
            path = d.output_path(rec)
            res.update(b.live_summary(rec))
            w, media = b.fragment_window(path, d.pid, window)
            res.update(w.facts())
            res.update(media_s=round(media, 3), cpu_per_media_s=round(w.cpu / media, 4),
                       speed=round(media / w.wall, 3), threads=w.threads)
            t_stop = time.monotonic()
            fin = d.stop_recording(rec["id"])
            res["state"] = fin.get("state")
            res["stop_s"] = round(time.monotonic() - t_stop, 2)
        finally:
            d.stop()
        if path and os.path.exists(path) and analyse:
            facts = b.video_facts(path)
            res["file"] = {k: facts.get(k) for k in ("codec", "profile", "width", "height", "frames", "duration",
                                                     "fps", "audio_codec", "audio_rate", "audio_channels", "bytes")}
            res["file"]["kbps"] = round(facts["bytes"] * 8 / 1000 / facts["duration"], 1) if facts.get("duration") else None
            ok, err = b.plays(path)
            res["plays"] = ok
            if not ok:
                res["play_error"] = err
            # start latency: media t = 0 is the pipeline going to PLAYING, which is what
            # the "recording" state reports (polled every 50 ms)
            times, frames = b.gray_frames(path, 0, min(8.0, warmup + 2))
            first = b.first_live_picture(times, frames, n)
            res["first_all_tiles_media_s"] = first
            res["post_to_all_tiles_s"] = round(res["post_to_recording_s"] + first, 3) if first is not None else None
            t2, f2 = b.gray_frames(path, warmup + 1.0, min(window, 10.0))
            res["tile_activity"] = [round(x, 3) if x is not None else None for x in b.tile_activity(f2, n)]
        res["path"] = path
        return res

    def ffmpeg_case(self, kind, n, run, warmup, window):
        files = [self.media["p%d" % i] for i in range(n)]
        res = b.run_ffmpeg_case(kind, files, warmup, window, self.workdir, tag="%s-%d-%d" % (kind, n, run))
        if os.path.exists(res["file"]):
            ok, err = b.plays(res["file"])
            res["plays"] = ok
            facts = b.video_facts(res["file"])
            res["fps"] = facts.get("fps")
            res["kbps"] = round(facts["bytes"] * 8 / 1000 / facts["duration"], 1) if facts.get("duration") else None
        return res

    # -- phases ----------------------------------------------------------------------

    def cost(self):
        c = self.cfg
        for n in c["ns"]:
            self.cost_publishers(n)
            rows = {"reel": [], "reel_tuned": [], "ffmpeg": [], "floor": []}
            for run in range(c["runs"]):
                b.note("cost N=%d, run %d/%d" % (n, run + 1, c["runs"]))
                cases = [("reel", self.reel_case, (n, False, run, c["warmup"], c["window"]))]
                if c["tuned"] and n in c["tuned_ns"]:
                    cases.append(("reel_tuned", self.reel_case, (n, True, run, c["warmup"], c["window"])))
                cases.append(("ffmpeg", self.ffmpeg_case, ("ffmpeg", n, run, c["warmup"], c["window"])))
                if n in c["floor_ns"]:
                    cases.append(("floor", self.ffmpeg_case, ("floor", n, run, c["warmup"], c["window"])))
                for kind, fn, a in cases:
                    others = self.quiet()
                    r = self.safe(fn, *a)
                    r["others_cores_before"] = others
                    rows[kind].append(r)
            self.results["cost"][str(n)] = rows
            self.save_partial()

    def our_pids(self):
        pids = [p.proc.pid for p in self.peers.values() if p.proc.poll() is None]
        if self.env and self.env.janus_proc is not None:
            pids.append(self.env.janus_proc.pid)
        return pids

    def quiet(self):
        """In full mode, waits (up to --quiet-wait s) until other people's processes use
        less than 0.3 cores; returns what they used (cores) when the case started."""
        if not self.args.quiet_wait:
            return None
        t0 = time.monotonic()
        while True:
            pids = self.our_pids()
            c0 = sum(b.proc_cpu_safe(p) for p in pids)
            m0 = b.machine_busy()
            time.sleep(2.0)
            c1 = sum(b.proc_cpu_safe(p) for p in pids)
            m1 = b.machine_busy()
            others = (m1[0] - m0[0]) / b.CLK_TCK / 2.0 - (c1 - c0) / 2.0
            if others <= 0.3 or time.monotonic() - t0 >= self.args.quiet_wait:
                if time.monotonic() - t0 >= self.args.quiet_wait:
                    b.note("the machine is busy with other processes (%.2f cores): measuring anyway" % others)
                return round(others, 3)

    def safe(self, fn, *a):
        try:
            return fn(*a)
        except Exception as e:  # noqa: BLE001 - one failed run is reported, the bench goes on
            msg = "%s%s: %s: %s" % (fn.__name__, a[:3], type(e).__name__, str(e)[:1500])
            b.note("FAILED " + msg)
            self.results["errors"].append(msg)
            return {"error": msg}

    def capacity(self):
        """Simultaneous 4-participant recordings in one reeld, added one at a time. Each
        step holds `hold` s; every recording must write >= 29.5 video frames per wall
        second over the step (measured between completed MP4 fragments, so exact) and its
        lag (wall time since "recording" - media time written) must not grow by more than
        0.5 s. The last step's files are decoded: every tile must still move."""
        hold = self.args.capacity_hold
        self.cost_publishers(4)
        tuned = self.args.capacity_tuned
        d = self.reeld("capacity", tuned=tuned)
        steps, recs = [], []
        out = {"tuned": tuned, "hold_s": hold, "steps": steps}
        try:
            time.sleep(0.5)
            rss0 = b.proc_rss_mb(d.pid)
            out["rss_idle_mb"] = round(rss0, 1)
            for k in range(1, self.args.capacity_max + 1):
                rec = d.create(b.janus_body(self.env.url, ROOM, 3600))
                d.wait_state(rec["id"], ("recording",), timeout=30)
                t_rec = time.monotonic()
                time.sleep(1.0)
                path = d.output_path(d.get(rec["id"]))
                recs.append({"id": rec["id"], "t_rec": t_rec, "path": path, "tracker": b.Mp4Fragments(path)})
                time.sleep(9.0)   # its participants arrive, its first keyframes
                trackers = [r["tracker"] for r in recs]
                q = os.getloadavg()
                w = b.CpuWindow(d.pid)
                w.start()
                m0 = b.mark_fragments(trackers)
                time.sleep(max(0.0, hold - 1.0))
                m1 = b.mark_fragments(trackers)
                w.stop()
                per = []
                for r, a_, z_ in zip(recs, m0, m1):
                    if a_ is None or z_ is None:
                        per.append({"id": r["id"], "fps": None, "lag_growth_s": None})
                        continue
                    (ta, fa), (tz, fz) = a_, z_
                    lag0 = (ta - r["t_rec"]) - fa / b.FPS
                    lag1 = (tz - r["t_rec"]) - fz / b.FPS
                    per.append({"id": r["id"], "fps": round((fz - fa) / (tz - ta), 2),
                                "lag_start_s": round(lag0, 2), "lag_end_s": round(lag1, 2),
                                "lag_growth_s": round(lag1 - lag0, 2),
                                "window_media": (round(fa / b.FPS, 2), round(fz / b.FPS, 2))})
                ok = all(p["fps"] is not None and p["fps"] >= 29.5 and p["lag_growth_s"] <= 0.5 for p in per)
                step = {"recordings": k, "ok": ok, "cpu_per_s": round(w.per_s, 3), "rss_mb": round(w.rss_mb, 1),
                        "rss_per_recording_mb": round((w.rss_mb - rss0) / k, 1), "per_recording": per,
                        "machine_cores": round(w.machine_cores, 2), "load": q}
                steps.append(step)
                b.note("capacity: %d recordings: %s (min fps %s, max lag growth %s s, reeld %.2f cores, machine %.2f)"
                       % (k, "real time" if ok else "NOT real time",
                          min((p["fps"] or 0) for p in per), max((p["lag_growth_s"] or 99) for p in per),
                          w.per_s, w.machine_cores))
                self.save_partial()
                if not ok:
                    break
            for r in recs:
                with contextlib.suppress(Exception):
                    d.api("POST", "/v1/recordings/%s/stop" % r["id"])
            for r in recs:
                with contextlib.suppress(Exception):
                    d.wait_state(r["id"], ("finished", "failed"), 60)
        finally:
            d.stop(60)
        good = [s_ for s_ in steps if s_["ok"]]
        out["capacity"] = good[-1]["recordings"] if good else 0
        out["limit_reached"] = bool(steps) and not steps[-1]["ok"]
        # decoded check of the last good step: every tile of every recording still moving
        if good:
            last = good[-1]
            for p in last["per_recording"]:
                r = next(r for r in recs if r["id"] == p["id"])
                with contextlib.suppress(Exception):
                    start = max(0.0, p["window_media"][1] - 5.0)
                    _, f = b.gray_frames(r["path"], start, 4.0)
                    p["tile_activity"] = [round(x, 3) for x in b.tile_activity(f, 4)]
        for r in recs:
            r.pop("tracker", None)
        self.results["capacity"] = out

    def sync(self):
        """A/V sync: publisher S0 flashes white and beeps (3 kHz) at the same instant once
        a second; with sync_n > 1 it shares the grid with P1.. (their own tones). Offset
        = beep - flash in the recorded file, per flash; drift = its slope. A recording
        with fewer than 3 flash/beep pairs is recorded once more (both attempts are in
        the JSON): on a shared machine a few seconds of stolen CPU can freeze one."""
        n, seconds = self.cfg["sync_n"], self.cfg["sync_s"]
        wanted = {"S0": "sync"}
        wanted.update({"P%d" % i: "p%d" % i for i in range(1, n)})
        self.publishers(wanted)
        src = b.sync_report(self.media["sync"], 1)
        attempts = []
        for attempt in range(2):
            rep = self.sync_once(n, seconds, "sync" if attempt == 0 else "sync-%d" % (attempt + 1))
            rep["source_offset_ms"] = src.get("offset_ms_median")
            attempts.append(rep)
            if rep.get("pairs", 0) >= 3:
                break
            b.note("sync: %d flash/beep pairs in the file (%s); recording again" % (rep.get("pairs", 0), rep))
        rep = dict(attempts[-1])
        if len(attempts) > 1:
            rep["attempts"] = attempts
        self.results["sync"] = rep

    def sync_once(self, n, seconds, tag):
        d = self.reeld(tag, tuned=False)
        seen = {}
        try:
            rec = d.create(b.janus_body(self.env.url, ROOM, seconds + 120))
            d.wait_state(rec["id"], ("recording",), timeout=30)
            machine = b.Disturbance()
            time.sleep(seconds)
            seen = b.live_summary(d.get(rec["id"]))
            seen.update(machine.report())
            rec = d.stop_recording(rec["id"])
            path = d.output_path(rec)
        finally:
            d.stop()
        rep = b.sync_report(path, n)
        rep.update(seen)
        rep["participants"] = n
        rep["seconds"] = seconds
        ok, err = b.plays(path)
        rep["plays"] = ok
        if rep.get("pairs", 0) < 3:
            rep["reeld_log_tail"] = d.log_tail(25)
        return rep

    def long(self):
        """30 minutes of one 4-participant recording (S0 flashing and beeping, P1..P3):
        reeld's RSS every 10 s, and A/V drift over the whole file."""
        seconds = self.cfg["long_s"]
        self.publishers({"S0": "sync", "P1": "p1", "P2": "p2", "P3": "p3"})
        d = self.reeld("long", tuned=False)
        samples, disturbed = [], []
        try:
            rec = d.create(b.janus_body(self.env.url, ROOM, seconds + 300))
            d.wait_state(rec["id"], ("recording",), timeout=30)
            t0 = time.monotonic()
            c0 = b.proc_cpu(d.pid)
            machine = b.Disturbance()
            last = machine.report()
            while time.monotonic() - t0 < seconds:
                time.sleep(10)
                t = round(time.monotonic() - t0, 1)
                samples.append((t, round(b.proc_rss_mb(d.pid), 1)))
                now = machine.report()
                step = {k: round(now[k] - last[k], 1) for k in now}
                if step["udp_rcvbuf_errors"] or step["steal_s"] >= 1.0:
                    disturbed.append([t, step["udp_rcvbuf_errors"], step["steal_s"]])
                last = now
            cpu = (b.proc_cpu(d.pid) - c0) / (time.monotonic() - t0)
            rec = d.stop_recording(rec["id"], timeout=120)
            path = d.output_path(rec)
        finally:
            d.stop(60)
        after2 = [r for t, r in samples if t >= 120]
        out = {"seconds": seconds, "rss_samples": samples, "cpu_per_media_s": round(cpu, 4)}
        # 10-s samples in which datagrams were dropped at full sockets or the hypervisor
        # took a second or more: [t, datagrams, steal s]
        out.update(last, disturbed_samples=disturbed)
        if after2:
            import numpy as np
            ts = np.array([t for t, _ in samples if t >= 120])
            out.update(rss_at_2min_mb=after2[0], rss_end_mb=after2[-1], rss_max_mb=max(after2),
                       rss_growth_mb=round(after2[-1] - after2[0], 1),
                       rss_slope_mb_per_10min=round(float(np.polyfit(ts, np.array(after2), 1)[0] * 600), 2))
        out["sync"] = b.sync_report(path, 4)
        out["file"] = b.video_facts(path)
        self.results["long"] = out

    def stall(self):
        """One 4-participant recording whose reeld is frozen (SIGSTOP) for 3 s, stall_n
        times, as a busy machine freezes a process. reeld's RSS before the first freeze
        and stall_settle s after each (median of 3 samples); whether the file plays and
        every tile still moves at its end."""
        freezes, settle = self.cfg["stall_n"], self.cfg["stall_settle"]
        self.cost_publishers(4)
        d = self.reeld("stall")
        out = {"freezes": freezes, "freeze_s": STALL_S, "settle_s": settle}
        path = None
        machine = b.Disturbance()
        try:
            rec = d.create(b.janus_body(self.env.url, ROOM, 120 + (freezes + 1) * (settle + STALL_S + 5)))
            d.wait_state(rec["id"], ("recording",), timeout=30)
            time.sleep(settle + 10)   # past the first minute's allocations
            rss = [settled_rss_mb(d.pid)]
            for _ in range(freezes):
                os.kill(d.pid, signal.SIGSTOP)
                try:
                    time.sleep(STALL_S)
                finally:
                    os.kill(d.pid, signal.SIGCONT)
                time.sleep(settle)
                rss.append(settled_rss_mb(d.pid))
            out.update(machine.report())
            rec = d.stop_recording(rec["id"])
            out["state"] = rec.get("state")
            path = d.output_path(rec)
        finally:
            d.stop()
        out.update(rss_mb=rss, rss_growth_mb=round(rss[-1] - rss[0], 1),
                   rss_steps_mb=[round(y - x, 1) for x, y in zip(rss, rss[1:])])
        if path and os.path.exists(path):
            ok, err = b.plays(path)
            out["plays"] = ok
            duration = b.video_facts(path).get("duration") or 0
            _, frames = b.gray_frames(path, max(0.0, duration - 6.0), 5.0)
            out["tile_activity_at_end"] = [round(x, 3) if x is not None else None for x in b.tile_activity(frames, 4)]
        self.results["stall"] = out

    def run_levers(self):
        """reel's graph as one gst-launch command (no WebRTC side), with one lever changed
        at a time, N = 4 and 9; the median of runs."""
        c = self.cfg
        out = {}
        for n in (4, 9):
            files = [self.media["p%d" % i] for i in range(n)]
            for name, what, opts in levers.LEVERS + levers.combos():
                if n == 4 and name in levers.SCALING_ONLY:
                    continue
                vals = []
                for run in range(max(1, min(2, c["runs"]))):
                    self.quiet()
                    r = self.safe(levers.run_graph, files, opts, 3, 14, self.workdir, "lever-%s-%d-%d" % (name, n, run))
                    if "cpu_per_media_s" in r and r.get("speed", 1) >= 0.98:
                        vals.append(r["cpu_per_media_s"])
                out.setdefault(name, {"what": what})[str(n)] = {"runs": vals, "median": b.median(vals)}
                b.note("lever %s N=%d: %s" % (name, n, vals))
            self.results["levers"] = out
            self.save_partial()

    # -- output ----------------------------------------------------------------------

    def save_partial(self):
        if self.args.out:
            os.makedirs(self.args.out, exist_ok=True)
            with open(os.path.join(self.args.out, "bench-%s.partial.json" % self.mode), "w") as f:
                json.dump(self.results, f, indent=1, default=str)

    def run(self):
        try:
            self.setup()
            if self.cfg["ns"]:
                self.cost()
            if self.cfg["sync_n"]:
                self.safe(self.sync)
            if self.cfg["stall_n"]:
                self.safe(self.stall)
            if self.cfg["capacity"]:
                self.safe(self.capacity)
            if self.cfg["levers"]:
                self.safe(self.run_levers)
            if self.cfg["long_s"]:
                self.safe(self.long)
        finally:
            self.results["finished_at"] = now_iso()
            self.results["duration_s"] = round(time.monotonic() - self.t_start, 1)
            self.close()
        return self.results


STALL_S = 3.0


def settled_rss_mb(pid):
    samples = []
    for _ in range(3):
        samples.append(b.proc_rss_mb(pid))
        time.sleep(1.0)
    return round(b.median(samples), 1)


def machine_info():
    info = {"kernel": platform.release(), "cpus": os.cpu_count(), "load_at_start": os.getloadavg()}
    with contextlib.suppress(OSError):
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    info["cpu"] = line.split(":", 1)[1].strip()
                    break
    with contextlib.suppress(Exception):
        info["gstreamer"] = subprocess.run(["gst-launch-1.0", "--version"], stdout=subprocess.PIPE,
                                           timeout=10).stdout.decode().splitlines()[1].split()[-1]
    with contextlib.suppress(Exception):
        info["ffmpeg"] = subprocess.run(["ffmpeg", "-version"], stdout=subprocess.PIPE,
                                        timeout=10).stdout.decode().split()[2]
    return info


# ---------------------------------------------------------------------------------------
# report


def med(rows, key="cpu_per_media_s"):
    """Median over the runs that kept real time (speed >= 0.98: a run starved by other
    processes is left out), or over every run if none did."""
    rows = [r for r in rows or [] if isinstance(r, dict) and r.get(key) is not None]
    good = [r for r in rows if r.get("speed", 1.0) >= 0.98]
    return b.median([r.get(key) for r in (good or rows)])


def fmt(v, nd=3):
    if v is None:
        return "-"
    if isinstance(v, float):
        return ("%%.%df" % nd) % v
    return str(v)


def summarize(res):
    """The numbers of the table, as a dict (also written to the JSON)."""
    s = {"cost": {}}
    for n, rows in sorted(res.get("cost", {}).items(), key=lambda kv: int(kv[0])):
        reel, tuned, ff, fl = (med(rows.get(k)) for k in ("reel", "reel_tuned", "ffmpeg", "floor"))
        best = reel   # the targets are judged on what users get: reel's defaults
        s["cost"][n] = {
            "reel": reel, "reel_tuned": tuned, "ffmpeg": ff, "floor": fl,
            "reel_vs_ffmpeg": round(reel / ff, 3) if reel and ff else None,
            "tuned_vs_ffmpeg": round(tuned / ff, 3) if tuned and ff else None,
            "reel_vs_floor": round(reel / fl, 3) if reel and fl else None,
            "tuned_vs_floor": round(tuned / fl, 3) if tuned and fl else None,
            "runs": {k: [r.get("cpu_per_media_s") for r in rows.get(k) or []] for k in rows},
            "start_recording_s": med(rows.get("reel"), "post_to_recording_s"),
            "start_all_tiles_s": med((rows.get("reel") or []) + (rows.get("reel_tuned") or []), "post_to_all_tiles_s"),
            "rss_mb": med(rows.get("reel"), "rss_mb"),
            "rss_idle_mb": med(rows.get("reel"), "rss_idle_mb"),
            "rss_tuned_mb": med(rows.get("reel_tuned"), "rss_mb"),
            "ffmpeg_rss_mb": med(rows.get("ffmpeg"), "rss_mb"),
            "best": best,
        }
        target = {"4": 0.85, "9": 0.9}.get(n)
        if target and best and ff:
            s["cost"][n]["target"] = target
            s["cost"][n]["meets_target"] = best / ff <= target
    return s


def table(res):
    s = summarize(res)
    lines = []
    m = res.get("machine", {})
    lines.append("reel benchmark, mode %s, %s; %s, %s CPUs, GStreamer %s, ffmpeg %s; load at start %s"
                 % (res.get("mode"), res.get("started_at"), m.get("cpu"), m.get("cpus"), m.get("gstreamer"),
                    m.get("ffmpeg"), ", ".join("%.2f" % x for x in m.get("load_at_start") or [])))
    lines.append("")
    lines.append("### Cost: CPU-seconds per media-second (median of %s runs; 1.0 = one core)"
                 % res.get("settings", {}).get("runs"))
    lines.append("")
    lines.append("| N | reel | reel tuned | ffmpeg | floor | reel/ffmpeg | tuned/ffmpeg | reel/floor | tuned/floor | target |")
    lines.append("|---|---|---|---|---|---|---|---|---|---|")
    for n, c in s["cost"].items():
        tgt = "-"
        if c.get("target"):
            tgt = "<= %.2f: %s" % (c["target"], "met" if c.get("meets_target") else "NOT met")
        lines.append("| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |" % (
            n, fmt(c["reel"]), fmt(c["reel_tuned"]), fmt(c["ffmpeg"]), fmt(c["floor"]), fmt(c["reel_vs_ffmpeg"], 2),
            fmt(c["tuned_vs_ffmpeg"], 2), fmt(c["reel_vs_floor"], 2), fmt(c["tuned_vs_floor"], 2), tgt))
    lines.append("")
    lines.append("### Start latency and memory (reel)")
    lines.append("")
    lines.append("| N | POST -> recording (first frame) s | POST -> every tile showing video s | reeld RSS idle MB | RSS recording MB (default / tuned) | ffmpeg RSS MB |")
    lines.append("|---|---|---|---|---|---|")
    for n, c in s["cost"].items():
        lines.append("| %s | %s | %s | %s | %s / %s | %s |" % (n, fmt(c["start_recording_s"], 2), fmt(c["start_all_tiles_s"], 2),
                                                       fmt(c["rss_idle_mb"], 1), fmt(c["rss_mb"], 1),
                                                       fmt(c["rss_tuned_mb"], 1), fmt(c["ffmpeg_rss_mb"], 1)))
    cap = res.get("capacity")
    if cap:
        lines.append("")
        lines.append("### Capacity: simultaneous 4-participant 720p30 recordings in real time (one reeld, %s templates, %d s per step)"
                     % ("tuned" if cap.get("tuned") else "default", cap.get("hold_s", 0)))
        lines.append("")
        lines.append("| recordings | real time | reeld cores | min fps | max lag growth s | RSS MB | RSS per recording MB | load avg |")
        lines.append("|---|---|---|---|---|---|---|---|")
        for st in cap.get("steps", []):
            per = st["per_recording"]
            lines.append("| %d | %s | %.2f | %.2f | %.2f | %.1f | %.1f | %.1f |" % (
                st["recordings"], "yes" if st["ok"] else "no", st["cpu_per_s"], min(p["fps"] or 0 for p in per),
                max(p["lag_growth_s"] for p in per), st["rss_mb"], st["rss_per_recording_mb"], st["load"][0]))
        lines.append("")
        lines.append("Capacity: **%d** recordings%s." % (cap.get("capacity", 0),
                                                        "" if cap.get("limit_reached") else " (the step limit, not the machine's)"))
    sy = res.get("sync")
    if sy:
        lines.append("")
        lines.append("### A/V sync (flash + beep once a second, %d participants, %d s)" % (sy.get("participants", 0),
                                                                                            sy.get("seconds", 0)))
        lines.append("")
        lines.append("| pairs | offset median ms | min / max ms | std ms | drift ms/min | source file offset ms "
                     "| claps beyond 20 ms | datagrams dropped at full sockets |")
        lines.append("|---|---|---|---|---|---|---|---|")
        lines.append("| %s | %s | %s / %s | %s | %s | %s | %s | %s |" % (
            sy.get("pairs"), fmt(sy.get("offset_ms_median"), 1), fmt(sy.get("offset_ms_min"), 1),
            fmt(sy.get("offset_ms_max"), 1), fmt(sy.get("offset_ms_std"), 1), fmt(sy.get("drift_ms_per_min"), 2),
            fmt(sy.get("source_offset_ms"), 1), sy.get("claps_beyond_20ms", "-"), sy.get("udp_rcvbuf_errors", "-")))
        lines.append("")
        lines.append("Offset = beep - flash (positive: sound late). Video is sampled at 30 fps, so one offset has +-17 ms of quantisation.")
        if sy.get("attempts"):
            lines.append("Recorded %d times: the first file held %s pairs (see the JSON)."
                         % (len(sy["attempts"]), sy["attempts"][0].get("pairs")))
    lv = res.get("levers")
    if lv:
        lines.append("")
        lines.append("### Levers: reel's graph as one gst-launch command (no WebRTC side), CPU-s per media-s")
        lines.append("")
        lines.append("| lever | N=4 | vs reel | N=9 | vs reel | what |")
        lines.append("|---|---|---|---|---|---|")
        base = lv.get("reel", {})
        for name, v in lv.items():
            r4 = (v.get("4") or {}).get("median")
            r9 = (v.get("9") or {}).get("median")
            b4 = (base.get("4") or {}).get("median")
            b9 = (base.get("9") or {}).get("median")
            lines.append("| %s | %s | %s | %s | %s | %s |" % (
                name, fmt(r4), ("%+.0f%%" % (100 * (r4 / b4 - 1))) if r4 and b4 else "-",
                fmt(r9), ("%+.0f%%" % (100 * (r9 / b9 - 1))) if r9 and b9 else "-", v.get("what", "")))
    st = res.get("stall")
    if st and "rss_mb" in st:
        lines.append("")
        lines.append("### Stalls: reeld frozen %.0f s, %d times (4 participants)" % (st["freeze_s"], st["freezes"]))
        lines.append("")
        lines.append("| RSS before MB | RSS %d s after each freeze MB | growth MB | plays | tiles moving at the end "
                     "| datagrams dropped at full sockets |" % st["settle_s"])
        lines.append("|---|---|---|---|---|---|")
        lines.append("| %s | %s | %s | %s | %s | %s |" % (fmt(st["rss_mb"][0], 1), ", ".join(fmt(x, 1) for x in st["rss_mb"][1:]),
                                                    fmt(st["rss_growth_mb"], 1), st.get("plays"),
                                                    ", ".join(fmt(x, 2) for x in st.get("tile_activity_at_end") or []),
                                                    st.get("udp_rcvbuf_errors", "-")))
    lg = res.get("long")
    if lg:
        lines.append("")
        lines.append("### Long recording (%d s, 4 participants)" % lg.get("seconds", 0))
        lines.append("")
        lines.append("| RSS at 2 min MB | RSS at end MB | growth MB | max MB | cores | A/V offset ms | drift ms/min "
                     "| claps / beyond 20 ms | datagrams dropped at full sockets | steal s |")
        lines.append("|---|---|---|---|---|---|---|---|---|---|")
        sy = lg.get("sync", {})
        lines.append("| %s | %s | %s | %s | %s | %s | %s | %s / %s | %s | %s |" % (
            fmt(lg.get("rss_at_2min_mb"), 1), fmt(lg.get("rss_end_mb"), 1), fmt(lg.get("rss_growth_mb"), 1),
            fmt(lg.get("rss_max_mb"), 1), fmt(lg.get("cpu_per_media_s")), fmt(sy.get("offset_ms_median"), 1),
            fmt(sy.get("drift_ms_per_min"), 2), sy.get("pairs"), sy.get("claps_beyond_20ms"),
            lg.get("udp_rcvbuf_errors"), fmt(lg.get("steal_s"), 1)))
        if lg.get("disturbed_samples"):
            lines.append("")
            lines.append("Disturbed 10-s samples (t s, datagrams dropped, steal s): %s"
                         % "; ".join("%.0f, %d, %.1f" % tuple(x) for x in lg["disturbed_samples"]))
    if res.get("errors"):
        lines.append("")
        lines.append("Errors: %d (see the JSON)" % len(res["errors"]))
    lines.append("")
    lines.append("Total %.0f s." % (res.get("duration_s") or 0))
    return "\n".join(lines), s


def smoke_check(res):
    """Short mode's only assertions: numbers were produced and the files play."""
    problems = []
    for n, rows in res.get("cost", {}).items():
        for kind in ("reel", "ffmpeg"):
            for r in rows.get(kind) or []:
                if not isinstance(r.get("cpu_per_media_s"), float) or not r["cpu_per_media_s"] > 0:
                    problems.append("N=%s %s: no cost number (%s)" % (n, kind, r.get("error", "")[:300]))
                if not r.get("plays"):
                    problems.append("N=%s %s: the file does not play (%s)" % (n, kind, r.get("play_error", r.get("error", ""))))
    settings = res.get("settings", {})
    sy = res.get("sync")
    if settings.get("sync_n") and (sy is None or sy.get("pairs", 0) < 3 or not sy.get("plays")):
        if sy is None:
            problems.append("sync: %s" % res.get("errors"))
        for a in (sy or {}).get("attempts") or ([sy] if sy else []):
            brief = {k: v for k, v in a.items() if k != "reeld_log_tail"}
            problems.append("sync: %s\n    reeld's log ends:\n      %s"
                            % (brief, "\n      ".join((a.get("reeld_log_tail") or "").splitlines())))
    st = res.get("stall")
    if settings.get("stall_n") and (st is None or len(st.get("rss_mb") or []) != st.get("freezes", 0) + 1
                                    or not st.get("plays")):
        problems.append("stall: %s" % (st or res.get("errors")))
    return problems


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--mode", choices=sorted(MODES), default="full")
    p.add_argument("--out", help="folder for bench-MODE.md/.json (default: tests/bench/results for full/long)")
    p.add_argument("--media-dir", default=b.media_dir_default())
    p.add_argument("--ns", help="participant counts for the cost table, e.g. 4,9")
    p.add_argument("--runs", type=int)
    p.add_argument("--warmup", type=float)
    p.add_argument("--window", type=float)
    p.add_argument("--skip", help="comma-separated: cost,floor,tuned,sync,stall,capacity,levers")
    p.add_argument("--long-seconds", type=float, help="length of the long mode's recording (default 1800)")
    p.add_argument("--capacity-hold", type=float, default=60.0)
    p.add_argument("--capacity-max", type=int, default=10)
    p.add_argument("--capacity-tuned", action="store_true", help="capacity with the tuned templates (default: reel's)")
    p.add_argument("--quiet-wait", type=float, default=None,
                   help="before each case, wait up to this many seconds for other processes to use < 0.3 "
                        "cores (default: 90 in full mode, 0 otherwise)")
    p.add_argument("--keep", action="store_true", help="keep the work folder (files, logs)")
    p.add_argument("--priority", type=int, default=0,
                   help="run the bench and everything it starts (Janus, publishers, reeld, ffmpeg) at nice "
                        "-PRIORITY: on a shared machine, other processes then preempt the measured ones less")
    args = p.parse_args()
    if args.quiet_wait is None:
        args.quiet_wait = 90.0 if args.mode == "full" else 0.0
    if args.priority:
        os.setpriority(os.PRIO_PROCESS, 0, -abs(args.priority))
    import janusenv
    ok, why = janusenv.can_run()
    if not ok:
        print("SKIP: %s" % why)
        return 77
    for tool in ("ffmpeg", "ffprobe", "gst-launch-1.0"):
        if not shutil.which(tool):
            print("SKIP: %s is not installed" % tool)
            return 77
    if args.out is None and args.mode in ("full", "long"):
        args.out = os.path.join(HERE, "results")
    bench = Bench(args)
    res = bench.run()
    text, summary = table(res)
    res["summary"] = summary
    print(text)
    sys.stdout.flush()
    out = args.out or tempfile.mkdtemp(prefix="reel-bench-out-")
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(out, "bench-%s.md" % args.mode), "w") as f:
        f.write(text + "\n")
    with open(os.path.join(out, "bench-%s.json" % args.mode), "w") as f:
        json.dump(res, f, indent=1, default=str)
    with contextlib.suppress(OSError):
        os.remove(os.path.join(out, "bench-%s.partial.json" % args.mode))
    b.note("wrote %s/bench-%s.md and .json" % (out, args.mode))
    if args.mode == "short":
        problems = smoke_check(res)
        if problems:
            print("SMOKE TEST FAILED:\n  " + "\n  ".join(problems))
            return 1
        print("smoke test: numbers produced, files play")
    return 0


if __name__ == "__main__":
    sys.exit(main())
