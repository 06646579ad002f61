#!/usr/bin/python3
"""reeld's structured log as journald receives it, without journald: the test re-runs
itself in a private mount namespace (unshare; root only) with a tmpfs on /run/systemd,
binds /run/systemd/journal/socket (the native protocol, datagrams) and
/run/systemd/journal/stdout, and starts reeld with its stderr connected to the latter, as
systemd does, so GLib's journald detection and writer are the real ones.

One recording with a file and an RTMP output to a closed port; the entries carrying
REEL_RECORDING_ID=<its id> (what `journalctl REEL_RECORDING_ID=…` selects) tell its
story: created, started, the RTMP failure with REEL_OUTPUT=out_1, GStreamer's own
warning about it (GLIB_DOMAIN=GStreamer, GST_CATEGORY, the same REEL_* fields),
finished. The stream key appears in no entry. Every entry of the story, GStreamer's
too, names its room in REEL_ROOM ("synthetic").

A Janus recording whose SFU is unreachable, with a pin and a room secret: its entries
carry REEL_ROOM=janus:http://127.0.0.1:PORT/janus#1234 (what `journalctl REEL_ROOM=…`
selects) and no secret appears in any entry.
"""

import os
import shutil
import socket
import struct
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "integration"))
import reeltest as rt  # noqa: E402

INNER = "REEL_JOURNAL_TEST_INNER"
JOURNAL = "/run/systemd/journal"
KEY = "journal-k3y"


def parse_native(data):
    """One datagram of the journal's native protocol → {FIELD: value}."""
    fields, i = {}, 0
    while i < len(data):
        nl = data.index(b"\n", i)
        line = data[i:nl]
        if b"=" in line:
            k, v = line.split(b"=", 1)
            fields[k.decode()] = v.decode("utf-8", "replace")
            i = nl + 1
        else:  # KEY\n<le64 size><value>\n
            size = struct.unpack("<Q", data[nl + 1:nl + 9])[0]
            fields[line.decode()] = data[nl + 9:nl + 9 + size].decode("utf-8", "replace")
            i = nl + 9 + size + 1
    return fields


class JournalTest(rt.ReelTestCase):
    def setUp(self):
        super().setUp()
        if os.environ.get(INNER) != "1":
            self.skipTest("runs inside its own mount namespace")
        subprocess.run(["mount", "-t", "tmpfs", "tmpfs", "/run/systemd"], check=True)
        os.makedirs(JOURNAL)
        self.journal = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.journal.bind(JOURNAL + "/socket")
        self.addCleanup(self.journal.close)
        self.journal.settimeout(0.2)
        self.stdout_listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.stdout_listener.bind(JOURNAL + "/stdout")
        self.stdout_listener.listen(1)
        self.addCleanup(self.stdout_listener.close)
        self.entries = []
        # Read all the time, as journald does: GLib's journal writer blocks on a full socket.
        self.reading = True
        self.reader = threading.Thread(target=self.read_journal, daemon=True)
        self.reader.start()
        self.addCleanup(self.stop_reading)

    def read_journal(self):
        while self.reading:
            try:
                self.entries.append(parse_native(self.journal.recv(65536)))
            except socket.timeout:
                pass

    def stop_reading(self):
        self.reading = False
        self.reader.join(5)

    def read_stream(self, conn):
        while conn.recv(65536):
            pass

    def story(self, rec_id):
        return [e for e in self.entries if e.get("REEL_RECORDING_ID") == rec_id]

    def start_reeld(self, config=None):
        """reeld with its stderr on the journal's stdout socket; returns (daemon, process)."""
        cfg = {"api": {"listen": "127.0.0.1:%d" % rt.free_port()}}
        cfg.update(config or {})
        d = rt.ReelDaemon(self, config=cfg, start=False)
        port = int(d.sections["api"]["listen"].rsplit(":", 1)[1])
        err = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        err.connect(JOURNAL + "/stdout")
        conn, _ = self.stdout_listener.accept()
        self.addCleanup(conn.close)
        threading.Thread(target=self.read_stream, args=(conn,), daemon=True).start()
        proc = subprocess.Popen([rt.reeld_path(), "--config", d.config_path], stdin=subprocess.DEVNULL,
                                stdout=subprocess.DEVNULL, stderr=err.fileno(), cwd=d.workdir, env=d.env)
        err.close()
        self.addCleanup(lambda: proc.poll() is None and (proc.terminate(), proc.wait(30)))
        d.host, d.port = "127.0.0.1", port
        rt.wait_for(lambda: rt.port_open(port), 20, what="reeld listening")
        return d, proc

    def test_one_recordings_story(self):
        d, proc = self.start_reeld({"rtmp": {"retry_initial_ms": 300}})
        url = "rtmp://127.0.0.1:%d/live/%s" % (rt.free_port(), KEY)
        rec = d.create(rt.recording_body([rt.participant("Alice", "#ff0000", 440)],
                                         [{"type": "file", "format": "mkv"}, {"type": "rtmp", "url": url}],
                                         max_duration_s=60))
        rid = rec["id"]
        d.wait_state(rid, "recording", timeout=20)
        rt.wait_for(lambda: (d.get(rid)["outputs"][1].get("retries") or 0) >= 1, 15, what="a retry")
        d.stop_recording(rid)
        d.wait_state(rid, "finished", timeout=30)
        proc.terminate()
        self.assertEqual(proc.wait(30), 0)
        time.sleep(0.5)
        self.stop_reading()

        story = self.story(rid)
        messages = [e.get("MESSAGE", "") for e in story]
        self.assertTrue(any("created" in m for m in messages), messages)
        self.assertTrue(any("finished" in m for m in messages), messages)
        out1 = [e for e in story if e.get("REEL_OUTPUT") == "out_1"]
        self.assertTrue(any(e.get("GLIB_DOMAIN") != "GStreamer" and "failed" in e["MESSAGE"] for e in out1),
                        [e["MESSAGE"] for e in out1])
        gst = [e for e in out1 if e.get("GLIB_DOMAIN") == "GStreamer"]
        self.assertTrue(gst, "GStreamer's warning about the RTMP sink, with the recording's fields")
        self.assertTrue(all(e.get("GST_CATEGORY") and e.get("PRIORITY") == "4" for e in gst), gst[:2])
        others = [e for e in self.entries if e.get("REEL_RECORDING_ID") not in (None, rid)]
        self.assertEqual(others, [])
        self.assertFalse([e for e in self.entries if KEY in repr(e)], "stream key in the journal")
        self.assertEqual({e.get("REEL_ROOM") for e in story}, {"synthetic"})
        self.assertTrue(gst)

    def test_room_field(self):
        d, proc = self.start_reeld()
        sfu_port = rt.free_port()
        sfu = "http://127.0.0.1:%d/janus" % sfu_port
        rec = d.create({"room": {"provider": "janus", "url": sfu, "room": 1234,
                                 "pin": "pin-s3cret", "secret": "room-s3cret"},
                        "outputs": [{"type": "file", "format": "mkv"}], "max_duration_s": 60})
        rid = rec["id"]
        d.wait_state(rid, "failed", timeout=30)
        proc.terminate()
        self.assertEqual(proc.wait(30), 0)
        time.sleep(0.5)
        self.stop_reading()
        story = self.story(rid)
        self.assertTrue(any("created" in e.get("MESSAGE", "") for e in story), story)
        want = "janus:http://127.0.0.1:%d/janus#1234" % sfu_port
        self.assertEqual({e.get("REEL_ROOM") for e in story}, {want})
        self.assertFalse([e for e in self.entries if "s3cret" in repr(e)], "a secret in the journal")


def main():
    if os.environ.get(INNER) == "1":
        rt.main()
        return
    if os.geteuid() != 0 or not shutil.which("unshare"):
        print("test_journal: skipped (needs root and unshare for a private mount namespace)")
        sys.exit(77)
    env = dict(os.environ, **{INNER: "1"})
    sys.exit(subprocess.run(["unshare", "--mount", "--propagation", "private", sys.executable,
                             os.path.abspath(__file__)], env=env).returncode)


if __name__ == "__main__":
    main()
