#!/usr/bin/python3
"""GET /metrics on a real reeld, checked with the rules of the Prometheus text
exposition format (0.0.4) and against what the API says:

- Content-Type text/plain; version=0.0.4; every line a HELP, a TYPE or a sample; names
  and label names match the grammar; label values properly escaped; values are Go
  floats; one TYPE per family, before its samples; a family's samples contiguous; no
  series twice; the text ends with a newline; counters end in _total.
- While a recording runs (a file and an RTMP output to a closed port): recordings by
  state, its participants and tracks, bytes growing between two scrapes and equal in
  order of magnitude to the API's, the failed RTMP output counted with its retries,
  process CPU and RSS, the webhook queue depth. Once it ended its series are gone.
- The media numbers (a file output and an RTMP output to a server that accepts the
  connection and never answers): the RTMP output's queue discards frames once its 3 s
  are full, so reel_output_frames_dropped_total grows for it (and goes on counting
  across its retries) while the file output's stays 0; reel_pipeline_latency_seconds
  is measured for both kinds and small on an idle graph; the encoder drop counters
  exist.
- POST /metrics → 405.
"""

import http.client
import os
import re
import socket
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "integration"))
import reeltest as rt  # noqa: E402

NAME = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
LABEL = r"[a-zA-Z_][a-zA-Z0-9_]*"
VALUE = r'"(?:[^"\\\n]|\\[\\"n])*"'
SAMPLE_RE = re.compile(r"^(%s)(\{(?:%s=%s)(?:,%s=%s)*,?\})? (\S+)( -?\d+)?$" % (NAME, LABEL, VALUE, LABEL, VALUE))
LABEL_RE = re.compile(r"(%s)=(%s)" % (LABEL, VALUE))
TYPES = ("counter", "gauge", "histogram", "summary", "untyped")


def unescape(v):
    return re.sub(r"\\(.)", lambda m: "\n" if m.group(1) == "n" else m.group(1), v[1:-1])


def go_float(text):
    if text in ("NaN", "+Inf", "-Inf"):
        return float(text.replace("Inf", "inf"))
    if not re.match(r"^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$", text):
        raise AssertionError("not a float: %r" % text)
    return float(text)


def family_of(name, types):
    for suffix in ("_bucket", "_sum", "_count"):
        base = name[:-len(suffix)] if name.endswith(suffix) else None
        if base and types.get(base) in ("histogram", "summary"):
            return base
    return name


def parse_exposition(text):
    """{(name, frozenset(labels)): value}, {family: type}; raises AssertionError on any rule broken."""
    assert text.endswith("\n"), "must end with a newline"
    types, helps, samples, done, current = {}, {}, {}, set(), None
    for n, line in enumerate(text[:-1].split("\n"), 1):
        where = "line %d: %r" % (n, line)
        if line.startswith("#"):
            parts = line.split(" ", 3)
            if len(parts) >= 3 and parts[1] in ("HELP", "TYPE"):
                assert re.fullmatch(NAME, parts[2]), where
                if parts[1] == "TYPE":
                    assert parts[2] not in types, "second TYPE: " + where
                    assert not any(k[0] == parts[2] or family_of(k[0], {parts[2]: parts[3]}) == parts[2]
                                   for k in samples), "TYPE after samples: " + where
                    assert len(parts) == 4 and parts[3] in TYPES, where
                    types[parts[2]] = parts[3]
                else:
                    assert parts[2] not in helps, "second HELP: " + where
                    helps[parts[2]] = parts[3] if len(parts) == 4 else ""
            continue
        if not line.strip():
            continue
        m = SAMPLE_RE.match(line)
        assert m, "not a sample: " + where
        name, labels = m.group(1), frozenset((k, unescape(v)) for k, v in LABEL_RE.findall(m.group(2) or ""))
        assert len(labels) == len(LABEL_RE.findall(m.group(2) or "")), "label twice: " + where
        fam = family_of(name, types)
        if fam != current:
            assert fam not in done, "family %s not contiguous: %s" % (fam, where)
            if current:
                done.add(current)
            current = fam
        key = (name, labels)
        assert key not in samples, "series twice: " + where
        samples[key] = go_float(m.group(3))
    for fam, t in types.items():
        if t == "counter":
            assert fam.endswith("_total"), "counter without _total: " + fam
    return samples, types


def series(samples, name, **labels):
    return {dict(k[1]).get("recording_id", "") + "/" + dict(k[1]).get("output_id", ""): v
            for k, v in samples.items() if k[0] == name and labels.items() <= dict(k[1]).items()}


def value(samples, name, **labels):
    found = [v for k, v in samples.items() if k[0] == name and dict(k[1]) == labels]
    assert len(found) == 1, "%s%s: %s" % (name, labels, found)
    return found[0]


class MetricsTest(rt.ReelTestCase):
    def scrape(self, d, method="GET"):
        conn = http.client.HTTPConnection("127.0.0.1", d.port, timeout=10)
        try:
            conn.request(method, "/metrics")
            r = conn.getresponse()
            return r.status, r.getheader("Content-Type"), r.read().decode("utf-8")
        finally:
            conn.close()

    def test_format_and_values(self):
        d = rt.ReelDaemon(self, config={"rtmp": {"retry_initial_ms": 200, "retry_max_ms": 400}})
        status, ctype, text = self.scrape(d)
        self.assertEqual(status, 200)
        self.assertEqual(ctype, "text/plain; version=0.0.4; charset=utf-8")
        samples, types = parse_exposition(text)
        self.assertEqual(value(samples, "reel_recordings", state="recording"), 0)
        self.assertEqual(types["reel_output_bytes"], "gauge")

        body = rt.recording_body([rt.participant("Alice", "#ff0000", 440), rt.participant("Bob", "#00ff00", 660)],
                                 [{"type": "file", "format": "mkv"},
                                  {"type": "rtmp", "url": "rtmp://127.0.0.1:%d/live/secretkey" % rt.free_port()}],
                                 max_duration_s=60)
        rec = d.create(body)
        rid = rec["id"]
        d.wait_state(rid, "recording", timeout=20)
        # generous: on a loaded machine (load 20+) the first bytes took over 10 s
        rt.wait_for(lambda: (d.get(rid)["outputs"][0].get("bytes") or 0) > 0, 30, what="bytes")
        rt.wait_for(lambda: (d.get(rid)["outputs"][1].get("retries") or 0) >= 1, 30, what="an RTMP retry")
        _, _, text = self.scrape(d)
        self.assertNotIn("secretkey", text)
        s1, _ = parse_exposition(text)
        self.assertEqual(value(s1, "reel_recordings", state="recording"), 1)
        self.assertEqual(value(s1, "reel_recording_participants", recording_id=rid), 2)
        self.assertEqual(value(s1, "reel_recording_tracks", recording_id=rid, kind="video"), 2)
        self.assertEqual(value(s1, "reel_recording_tracks", recording_id=rid, kind="audio"), 2)
        file_labels = dict(recording_id=rid, output_id="out_0", type="file", format="mkv")
        rtmp_labels = dict(recording_id=rid, output_id="out_1", type="rtmp", format="flv")
        b1 = value(s1, "reel_output_bytes", **file_labels)
        self.assertGreater(b1, 0)
        self.assertGreaterEqual(value(s1, "reel_output_retries_total", **rtmp_labels), 1)
        self.assertEqual(value(s1, "reel_output_failed", **file_labels), 0)
        self.assertGreater(value(s1, "process_cpu_seconds_total"), 0)
        self.assertGreater(value(s1, "process_resident_memory_bytes"), 10 * 1024 * 1024)
        self.assertEqual(value(s1, "reel_webhook_queue_depth"), 0)
        time.sleep(2.5)
        s2, _ = parse_exposition(self.scrape(d)[2])
        b2 = value(s2, "reel_output_bytes", **file_labels)
        self.assertGreater(b2, b1, "bytes grow while recording")
        api_bytes = d.get(rid)["outputs"][0]["bytes"]
        self.assertLess(abs(api_bytes - b2), max(b2, 1) * 0.5 + 200000, "metrics agree with the API")
        self.assertGreaterEqual(value(s2, "process_cpu_seconds_total"), value(s1, "process_cpu_seconds_total"))

        d.stop_recording(rid)
        d.wait_state(rid, "finished", timeout=30)
        s3, _ = parse_exposition(self.scrape(d)[2])
        self.assertEqual(value(s3, "reel_recordings", state="finished"), 1)
        self.assertEqual(series(s3, "reel_output_bytes"), {}, "ended recordings leave no per-output series")
        self.assertEqual(self.scrape(d, "POST")[0], 405)
        d.assert_log_clean()

    def silent_server(self):
        """A TCP port that accepts connections and never answers (an RTMP server that hangs)."""
        srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        srv.bind(("127.0.0.1", 0))
        srv.listen(8)
        self.addCleanup(srv.close)
        held = []
        self.addCleanup(lambda: [c.close() for c in held])

        def accept():
            while True:
                try:
                    held.append(srv.accept()[0])
                except OSError:
                    return
        threading.Thread(target=accept, daemon=True).start()
        return srv.getsockname()[1]

    def test_media_numbers(self):
        port = self.silent_server()
        d = rt.ReelDaemon(self, config={"rtmp": {"stall_timeout_s": 60, "retry_initial_ms": 200}})
        body = rt.recording_body([rt.participant("Alice", "#ff0000", 440)],
                                 [{"type": "file", "format": "mkv"},
                                  {"type": "rtmp", "url": "rtmp://127.0.0.1:%d/live/k" % port}],
                                 max_duration_s=60)
        rid = d.create(body)["id"]
        d.wait_state(rid, "recording", timeout=20)
        file_v = dict(recording_id=rid, output_id="out_0", type="file", format="mkv", kind="video")
        rtmp_v = dict(recording_id=rid, output_id="out_1", type="rtmp", format="flv", kind="video")
        rtmp_a = dict(rtmp_v, kind="audio")

        def dropped(kind_labels):
            return value(parse_exposition(self.scrape(d)[2])[0], "reel_output_frames_dropped_total",
                         **kind_labels)
        # the RTMP sink waits for its handshake (5 s) while its 3 s queue fills up
        first = rt.wait_for(lambda: dropped(rtmp_v), 30, what="frames dropped by the hung RTMP output")
        self.assertGreater(dropped(rtmp_a), 0)
        rt.wait_for(lambda: (d.get(rid)["outputs"][1].get("retries") or 0) >= 1, 30, what="a retry")
        rt.wait_for(lambda: dropped(rtmp_v) > first, 30, what="more drops after the retry")
        samples, types = parse_exposition(self.scrape(d)[2])
        self.assertEqual(types["reel_output_frames_dropped_total"], "counter")
        self.assertEqual(types["reel_encoder_frames_dropped_total"], "counter")
        self.assertEqual(types["reel_pipeline_latency_seconds"], "gauge")
        self.assertEqual(value(samples, "reel_output_frames_dropped_total", **file_v), 0)
        for kind in ("audio", "video"):
            self.assertGreaterEqual(value(samples, "reel_encoder_frames_dropped_total",
                                          recording_id=rid, kind=kind), 0)
            latency = value(samples, "reel_pipeline_latency_seconds", recording_id=rid, kind=kind)
            # a one-participant graph encodes within its frame time plus the mixer's latency
            self.assertGreater(latency, 0, kind)
            self.assertLess(latency, 2.0, kind)
        d.stop_recording(rid)
        d.wait_state(rid, "finished", timeout=30)
        s3, _ = parse_exposition(self.scrape(d)[2])
        self.assertEqual(series(s3, "reel_pipeline_latency_seconds"), {})
        self.assertEqual(series(s3, "reel_output_frames_dropped_total"), {})
        d.assert_log_clean()

    def test_parser_rejects_broken_text(self):
        """The checker itself: each rule catches its violation."""
        good = "# HELP a_total x\n# TYPE a_total counter\na_total{k=\"v\\\"q\"} 1\n"
        parse_exposition(good)
        for bad in ("a 1",                                   # no trailing newline
                    "# TYPE a counter\na 1\n",               # counter without _total
                    "a{k=\"v\"} 1\na{k=\"v\"} 2\n",          # series twice
                    "a 1\nb 1\na{x=\"1\"} 1\n",              # family not contiguous
                    "a{1k=\"v\"} 1\n",                       # bad label name
                    "a{k=\"v\n\"} 1\n",                      # raw newline in a value
                    "a 1,5\n",                               # not a float
                    "a 1\n# TYPE a gauge\n"):                # TYPE after samples
            with self.assertRaises(AssertionError, msg=repr(bad)):
                parse_exposition(bad)


if __name__ == "__main__":
    rt.main()
