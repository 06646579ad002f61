#!/usr/bin/python3
"""Self-test of reeltest's media checks, on media made here with gst-launch-1.0 / ffmpeg.

No reeld needed. Each checker must pass on a correct file and FAIL on a wrong one
(wrong colour, wrong tile count, missing or extra tone, frozen frames, timestamp gap,
High 4:4:4, wrong size/rate, truncated files).
"""

import os
import shutil
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import reeltest as rt  # noqa: E402

W, H, FPS = 1280, 720, 30
RED, GREEN, BLUE, YELLOW = "#ff0000", "#00ff00", "#0000ff", "#ffff00"
MAGENTA, CYAN = "#ff00ff", "#00ffff"


def gst(pipeline, timeout=120):
    cmd = ["gst-launch-1.0", "-q", "-e"] + pipeline.split()
    p = subprocess.run(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       timeout=timeout)
    if p.returncode != 0:
        raise AssertionError("gst-launch failed (%d): %s\n%s" % (p.returncode, pipeline, p.stderr.decode()[-2000:]))


def tiles_for(layout):
    """Hard-coded tile rectangles (independent of reeltest.grid_geometry) for n = 1..4."""
    return {
        1: [(0, 0, 1280, 720)],
        2: [(0, 180, 640, 360), (640, 180, 640, 360)],
        3: [(0, 0, 640, 360), (640, 0, 640, 360), (0, 360, 640, 360)],
        4: [(0, 0, 640, 360), (640, 0, 640, 360), (0, 360, 640, 360), (640, 360, 640, 360)],
    }[layout]


def make_clip(path, colors, tones, seconds=6, mux="mp4", pix_format="I420", size=(W, H), fps=FPS,
              with_audio=True):
    """A call-like clip: len(colors) ball tiles in the grid, a sum of sines.
    pix_format=None leaves x264enc free (it then picks Y444 -> High 4:4:4)."""
    frames = int(seconds * fps)
    vw, vh = size
    parts = ["compositor name=c background=black"]
    for i, (x, y, w, h) in enumerate(tiles_for(len(colors))):
        parts.append("sink_%d::xpos=%d sink_%d::ypos=%d" % (i, x * vw // W, i, y * vh // H))
    caps = "video/x-raw,width=%d,height=%d,framerate=%d/1" % (vw, vh, fps)
    if pix_format:
        caps = "video/x-raw,format=%s,width=%d,height=%d,framerate=%d/1" % (pix_format, vw, vh, fps)
    profile = "! video/x-h264,profile=high " if pix_format == "I420" else ""
    parts.append("! %s ! x264enc speed-preset=veryfast bitrate=2500 key-int-max=30 %s! h264parse ! queue ! mux."
                 % (caps, profile))
    for i, (color, (x, y, w, h)) in enumerate(zip(colors, tiles_for(len(colors)))):
        argb = "0xff" + color.lstrip("#")
        parts.append("videotestsrc pattern=ball background-color=%s num-buffers=%d ! "
                     "video/x-raw,width=%d,height=%d,framerate=%d/1 ! c.sink_%d"
                     % (argb, frames, w * vw // W, h * vh // H, fps, i))
    if with_audio:
        parts.append("audiomixer name=am ! audioconvert ! audio/x-raw,rate=48000,channels=2 ! "
                     "avenc_aac ! aacparse ! queue ! mux.")
        nbuf = int(seconds * 30)
        for f in tones:
            parts.append("audiotestsrc freq=%g volume=0.2 samplesperbuffer=1600 num-buffers=%d ! "
                         "audio/x-raw,rate=48000,channels=1 ! am." % (f, nbuf))
        if not tones:
            parts.append("audiotestsrc wave=silence samplesperbuffer=1600 num-buffers=%d ! "
                         "audio/x-raw,rate=48000,channels=1 ! am." % nbuf)
    muxer = {"mp4": "mp4mux name=mux fragment-duration=1000",
             "mp4-plain": "mp4mux name=mux",
             "mkv": "matroskamux name=mux",
             "flv": "flvmux name=mux streamable=true"}[mux]
    parts.append("%s ! filesink location=%s" % (muxer, path))
    gst(" ".join(parts))
    return path


def ffmpeg(*args):
    rt.run(["ffmpeg", "-nostdin", "-v", "error", "-y"] + list(args))


class MediaFixtures:
    dir = None

    @classmethod
    def setup(cls):
        if cls.dir:
            return
        cls.dir = rt.tempfile.mkdtemp(prefix="reel-helpers-")
        d = cls.dir
        cls.grid4 = make_clip(os.path.join(d, "grid4.mp4"), [RED, GREEN, BLUE, YELLOW], [440, 660, 880, 1100])
        cls.grid4_mkv = make_clip(os.path.join(d, "grid4.mkv"), [RED, GREEN, BLUE, YELLOW],
                                  [440, 660, 880, 1100], mux="mkv")
        cls.three_tones = make_clip(os.path.join(d, "three.mp4"), [RED, GREEN, BLUE, YELLOW], [440, 660, 880],
                                    seconds=3)
        cls.silent = make_clip(os.path.join(d, "silent.mp4"), [RED, GREEN], [], seconds=2)
        cls.hi444 = make_clip(os.path.join(d, "hi444.mp4"), [RED], [440], seconds=1, pix_format=None)
        cls.small = make_clip(os.path.join(d, "small.mp4"), [RED], [440], seconds=1, size=(640, 360), fps=25)
        cls.plain = make_clip(os.path.join(d, "plain.mp4"), [RED], [440], seconds=3, mux="mp4-plain")
        cls.flv = make_clip(os.path.join(d, "grid2.flv"), [RED, GREEN], [440, 660], seconds=4, mux="flv")
        # join/leave: A,B for 2 s; A,B,C for 2 s; A,C for 2 s, joined without re-encoding
        segs = [make_clip(os.path.join(d, "seg1.mp4"), [RED, GREEN], [440, 660], seconds=2, mux="mp4"),
                make_clip(os.path.join(d, "seg2.mp4"), [RED, GREEN, BLUE], [440, 660, 880], seconds=2, mux="mp4"),
                make_clip(os.path.join(d, "seg3.mp4"), [RED, BLUE], [440, 880], seconds=2, mux="mp4")]
        cls.joinleave = os.path.join(d, "joinleave.mp4")
        ffmpeg("-i", segs[0], "-i", segs[1], "-i", segs[2], "-filter_complex",
               "[0:v][0:a][1:v][1:a][2:v][2:a]concat=n=3:v=1:a=1[v][a]", "-map", "[v]", "-map", "[a]",
               "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "aac", cls.joinleave)
        # frozen: frames 60..75 replaced by frame 59 (as a stalled mixer would produce)
        cls.frozen = os.path.join(d, "frozen.mp4")
        ffmpeg("-i", cls.grid4, "-filter_complex", "[0:v]split[a][b];[a][b]freezeframes=first=60:last=75:replace=59[v]",
               "-map", "[v]", "-map", "0:a", "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p",
               "-c:a", "copy", cls.frozen)
        # gap: frames 60..75 dropped, timestamps kept (a 0.5 s hole)
        cls.gap = os.path.join(d, "gap.mkv")
        ffmpeg("-i", cls.grid4, "-vf", "select='not(between(n\\,60\\,75))'", "-fps_mode", "passthrough",
               "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-an", cls.gap)
        # crash: fragmented MP4 / MKV / plain MP4 cut at 60 % of their size
        cls.cut_frag = cls._truncate(cls.grid4, "cut_frag.mp4", 0.6)
        cls.cut_mkv = cls._truncate(cls.grid4_mkv, "cut.mkv", 0.6)
        cls.cut_plain = cls._truncate(cls.plain, "cut_plain.mp4", 0.6)

    @classmethod
    def _truncate(cls, src, name, frac):
        dst = os.path.join(cls.dir, name)
        with open(src, "rb") as f:
            data = f.read()
        with open(dst, "wb") as f:
            f.write(data[:int(len(data) * frac)])
        return dst

    @classmethod
    def teardown(cls):
        if cls.dir and not rt.KEEP:
            shutil.rmtree(cls.dir, True)
        cls.dir = None


def setUpModule():
    unittest.addModuleCleanup(MediaFixtures.teardown)
    MediaFixtures.setup()


M = MediaFixtures


class ProbeTest(unittest.TestCase):
    def test_good_file_passes(self):
        for path in (M.grid4, M.grid4_mkv):
            info = rt.ffprobe(path)
            self.assertEqual(rt.check_av_format(info), [], rt.probe_summary(info))
            self.assertAlmostEqual(rt.format_duration(info), 6.0, delta=0.1)
            self.assertAlmostEqual(rt.packet_duration(path), 6.0, delta=0.05)

    def test_high_444_is_caught(self):
        info = rt.ffprobe(M.hi444)
        problems = rt.check_av_format(info)
        self.assertTrue(any("profile" in p for p in problems), problems)
        self.assertTrue(any("pix_fmt" in p for p in problems), problems)

    def test_wrong_size_and_rate_are_caught(self):
        problems = rt.check_av_format(rt.ffprobe(M.small))
        self.assertTrue(any("size" in p for p in problems), problems)
        self.assertTrue(any("frame rate" in p for p in problems), problems)

    def test_missing_audio_is_caught(self):
        path = os.path.join(M.dir, "noaudio.mp4")
        ffmpeg("-i", M.grid4, "-an", "-c", "copy", path)
        problems = rt.check_av_format(rt.ffprobe(path))
        self.assertTrue(any("audio stream" in p for p in problems), problems)

    def test_flv(self):
        info = rt.ffprobe(M.flv)
        self.assertEqual(rt.video_stream(info)["codec_name"], "h264")
        self.assertEqual(rt.audio_stream(info)["codec_name"], "aac")
        self.assertAlmostEqual(rt.packet_duration(M.flv), 4.0, delta=0.1)

    def test_truncated_fragmented_mp4_and_mkv_still_play(self):
        for path, full in ((M.cut_frag, 6.0), (M.cut_mkv, 6.0)):
            info = rt.ffprobe(path)
            dur = rt.packet_duration(path)
            self.assertGreater(dur, 0.3 * full, path)
            self.assertLess(dur, full, path)
            self.assertEqual(rt.video_stream(info)["codec_name"], "h264")
            ok, err = rt.decodes_cleanly(path)
            # a torn last fragment/cluster may be reported, but the decode must get through
            frame = rt.frame_at(path, 1.0)
            self.assertEqual(rt.check_grid(frame, [RED, GREEN, BLUE, YELLOW]), [])

    def test_truncated_plain_mp4_is_caught(self):
        with self.assertRaises(AssertionError):
            rt.ffprobe(M.cut_plain)


class GridTest(unittest.TestCase):
    def test_geometry(self):
        tiles, empty, bands = rt.grid_geometry(2)
        self.assertEqual([tuple(map(int, t)) for t in tiles], [(0, 180, 640, 360), (640, 180, 640, 360)])
        self.assertEqual(empty, [])
        self.assertEqual(len(bands), 4)
        tiles, empty, _ = rt.grid_geometry(3)
        self.assertEqual([tuple(map(int, t)) for t in tiles], tiles_for(3))
        self.assertEqual([tuple(map(int, e)) for e in empty], [(640, 360, 640, 360)])
        tiles, empty, bands = rt.grid_geometry(5)  # 3 cols x 2 rows, cells 426.7x360 -> 16:9 tile 426.7x240
        self.assertEqual(len(tiles), 5)
        self.assertEqual(len(empty), 1)
        self.assertAlmostEqual(tiles[0][3], 240.0)
        self.assertAlmostEqual(tiles[0][1], 60.0)
        tiles, empty, bands = rt.grid_geometry(1)
        self.assertEqual(tiles, [(0.0, 0.0, 1280.0, 720.0)])
        self.assertEqual(bands, [])

    def test_colours_at_many_times(self):
        colors = [RED, GREEN, BLUE, YELLOW]
        for t in (0.5, 1.5, 2.5, 3.0, 4.5, 5.5):
            frame = rt.frame_at(M.grid4, t)
            self.assertEqual(rt.check_grid(frame, colors), [], "t=%s" % t)

    def test_mkv_colours(self):
        frame = rt.frame_at(M.grid4_mkv, 3.0)
        self.assertEqual(rt.check_grid(frame, [RED, GREEN, BLUE, YELLOW]), [])

    def test_wrong_colour_is_caught(self):
        frame = rt.frame_at(M.grid4, 3.0)
        # swapped tiles
        problems = rt.check_grid(frame, [GREEN, RED, BLUE, YELLOW])
        self.assertEqual(len(problems), 2, problems)
        # a close-but-wrong colour (magenta instead of red, cyan instead of green)
        self.assertEqual(len(rt.check_grid(frame, [MAGENTA, CYAN, BLUE, YELLOW])), 2)
        # moderately off: 0x80 in a channel that should be 0
        self.assertEqual(len(rt.check_grid(frame, ["#ff8000", GREEN, BLUE, YELLOW])), 1)

    def test_wrong_tile_count_is_caught(self):
        frame = rt.frame_at(M.grid4, 3.0)
        self.assertNotEqual(rt.check_grid(frame, [RED, GREEN, BLUE]), [])  # cell 4 is not black
        self.assertNotEqual(rt.check_grid(frame, [RED, GREEN]), [])
        self.assertNotEqual(rt.check_grid(frame, [RED, GREEN, BLUE, YELLOW, RED]), [])

    def test_join_leave_layouts(self):
        f1, f3, f5 = (rt.frame_at(M.joinleave, t) for t in (1.0, 3.0, 5.0))
        self.assertEqual(rt.check_grid(f1, [RED, GREEN]), [])
        self.assertEqual(rt.check_grid(f3, [RED, GREEN, BLUE]), [])
        self.assertEqual(rt.check_grid(f5, [RED, BLUE]), [])
        # the layout of the wrong moment fails
        self.assertNotEqual(rt.check_grid(f1, [RED, GREEN, BLUE]), [])
        self.assertNotEqual(rt.check_grid(f3, [RED, GREEN]), [])
        self.assertNotEqual(rt.check_grid(f5, [RED, GREEN]), [])
        self.assertNotEqual(rt.check_grid(f5, [RED, GREEN, BLUE]), [])


class FreezeTest(unittest.TestCase):
    def test_moving_ball_never_freezes(self):
        frames = rt.frames_between(M.grid4, 0.0, 6.0)
        self.assertGreaterEqual(len(frames), 178)
        counts = [rt.changed_pixels(a, b) for a, b in zip(frames, frames[1:])]
        self.assertEqual([i for i, c in enumerate(counts) if c < 30], [])
        sys.stderr.write("changed pixels between frames: min %d median %d\n"
                         % (min(counts), sorted(counts)[len(counts) // 2]))

    def test_window_has_expected_frame_count(self):
        frames = rt.frames_between(M.grid4, 1.7, 2.3)
        self.assertIn(len(frames), range(17, 20))

    def test_freeze_is_caught(self):
        frames = rt.frames_between(M.frozen, 1.7, 2.7)
        frozen = rt.frozen_frames(frames)
        self.assertGreaterEqual(len(frozen), 14, frozen)
        self.assertEqual(rt.frozen_frames(rt.frames_between(M.frozen, 3.0, 4.0)), [])

    def test_timestamps_continuous(self):
        for path in (M.grid4, M.grid4_mkv, M.joinleave, M.flv, M.frozen):
            self.assertEqual(rt.timestamp_gaps(path), [], path)

    def test_gap_is_caught(self):
        gaps = rt.timestamp_gaps(M.gap)
        self.assertEqual(len(gaps), 1, gaps)
        self.assertAlmostEqual(gaps[0][1], 17 / 30, delta=0.01)
        self.assertEqual(rt.timestamp_gaps(M.gap, t0=3.0, t1=6.0), [])


class ToneTest(unittest.TestCase):
    def test_all_four_tones(self):
        samples = rt.decode_audio(M.grid4)
        self.assertAlmostEqual(len(samples) / 16000, 6.0, delta=0.1)
        self.assertEqual(rt.detect_tones(samples, 16000, [440, 660, 880, 1100]), {440, 660, 880, 1100},
                         rt.describe_tones(samples, 16000, [440, 660, 880, 1100]))
        self.assertEqual(rt.check_tones(samples, 16000, [440, 660, 880, 1100], absent=[550, 990]), [])

    def test_missing_tone_is_caught(self):
        samples = rt.decode_audio(M.three_tones)
        problems = rt.check_tones(samples, 16000, [440, 660, 880, 1100])
        self.assertEqual(len(problems), 1, problems)
        self.assertIn("1100", problems[0])

    def test_extra_tone_is_caught(self):
        samples = rt.decode_audio(M.grid4)
        problems = rt.check_tones(samples, 16000, [440, 660, 880], absent=[1100])
        self.assertEqual(len(problems), 1, problems)
        self.assertIn("1100", problems[0])

    def test_silence_has_no_tones(self):
        samples = rt.decode_audio(M.silent)
        self.assertEqual(rt.detect_tones(samples, 16000, [440, 660]), set())
        self.assertEqual(len(rt.check_tones(samples, 16000, [440, 660])), 2)

    def test_windows(self):
        a = rt.decode_audio(M.joinleave, 0.3, 1.4)
        b = rt.decode_audio(M.joinleave, 2.3, 1.4)
        c = rt.decode_audio(M.joinleave, 4.3, 1.4)
        self.assertEqual(rt.check_tones(a, 16000, [440, 660], absent=[880]), [])
        self.assertEqual(rt.check_tones(b, 16000, [440, 660, 880]), [])
        self.assertEqual(rt.check_tones(c, 16000, [440, 880], absent=[660]), [])
        self.assertNotEqual(rt.check_tones(c, 16000, [440, 660]), [])
        self.assertNotEqual(rt.check_tones(a, 16000, [440], absent=[660]), [])

    def test_flv_tones(self):
        samples = rt.decode_audio(M.flv)
        self.assertEqual(rt.check_tones(samples, 16000, [440, 660], absent=[880]), [])


if __name__ == "__main__":
    rt.main()
