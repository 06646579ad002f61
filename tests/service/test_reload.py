#!/usr/bin/python3
"""SIGHUP (systemctl reload reel) on a running reeld, and the API token as a systemd
credential ($CREDENTIALS_DIRECTORY/reel-api-token, what LoadCredential= provides):

- The credential's token is the one accepted; the config file's own token is refused.
- While a recording runs, the config file gets [limits] max_recordings = 1, another
  [log] level, another [api] listen, and the credential a new token; after SIGHUP the
  new token is accepted and the old one refused, a second recording is refused with 503
  (at capacity), the log says that [api] listen needs a restart and reeld still answers
  on its port, and the running recording goes on (bytes still growing) and finishes.
- An invalid edit is refused: the previous token still works.
"""

import os
import signal
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "integration"))
import reeltest as rt  # noqa: E402


def body():
    return rt.recording_body([rt.participant("Alice", "#ff0000", 440)],
                             [{"type": "file", "format": "mkv"}], max_duration_s=60)


class ReloadTest(rt.ReelTestCase):
    def reload(self, d, mark):
        n = d.log_text().count(mark)
        os.kill(d.pid, signal.SIGHUP)
        rt.wait_for(lambda: d.log_text().count(mark) > n, 10, what="%r in the log" % mark)

    def test_token_credential_and_reload(self):
        creds = rt.make_tempdir(self, "reel-creds-")
        token_file = os.path.join(creds, "reel-api-token")

        def write_token(t):
            with open(token_file, "w") as f:
                f.write(t + "\n")  # systemd keeps the file's newline; reeld strips it
        write_token("credential-token-one")
        d = rt.ReelDaemon(self, token="config-file-token", env={"CREDENTIALS_DIRECTORY": creds})
        self.assertEqual(d.api("GET", "/v1/recordings", token="config-file-token")[0], 401)
        self.assertEqual(d.api("GET", "/v1/recordings", token="credential-token-one")[0], 200)
        d.token = "credential-token-one"
        rid = d.create(body())["id"]
        d.wait_state(rid, "recording", timeout=20)
        rt.wait_for(lambda: (d.get(rid)["outputs"][0].get("bytes") or 0) > 0, 30, what="bytes")

        d.sections["limits"] = {"max_recordings": 1}
        d.sections["log"] = {"level": "debug"}
        d.sections["api"]["listen"] = "127.0.0.1:%d" % rt.free_port()
        d.write_config()
        write_token("credential-token-two")
        self.reload(d, "reload: configuration applied")
        self.assertIn("reload: [api] listen changed: takes effect at the next restart", d.log_text())
        self.assertEqual(d.api("GET", "/v1/recordings", token="credential-token-one")[0], 401)
        d.token = "credential-token-two"
        self.assertEqual(d.api("GET", "/v1/recordings")[0], 200)
        st, answer, _ = d.api("POST", "/v1/recordings", body())
        self.assertEqual(st, 503, answer)

        # the running recording was not touched
        b1 = d.get(rid)["outputs"][0]["bytes"]
        rt.wait_for(lambda: d.get(rid)["outputs"][0]["bytes"] > b1, 15, what="bytes growing after reload")
        self.assertEqual(d.get(rid)["state"], "recording")

        d.write_config("[limits]\nmax_recordings = many\n")
        write_token("credential-token-three")
        self.reload(d, "reload: configuration kept")
        self.assertEqual(d.api("GET", "/v1/recordings")[0], 200, "an invalid file changes nothing")

        d.stop_recording(rid)
        d.wait_state(rid, "finished", timeout=30)
        self.assertEqual(d.stop(), 0)
        d.assert_log_clean()


if __name__ == "__main__":
    rt.main()
