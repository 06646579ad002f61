#!/usr/bin/python3
"""tests/realtime/rt_publisher.py, publishing into a session that already exists.

    /usr/bin/python3 late_publisher.py --session SID [rt_publisher.py's options]

A Realtime app knows a publisher's session before that publisher has published
anything: the recording can name (session, track) first and the tracks appear later.
Same output lines as rt_publisher.py (SESSION is the given one).
"""

import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "realtime"))
import rt_publisher  # noqa: E402
import rtapi  # noqa: E402


def main():
    argv = sys.argv[1:]
    if "--session" not in argv:
        sys.stderr.write("late_publisher.py: --session SID is required\n")
        return 2
    i = argv.index("--session")
    session = argv[i + 1]
    del argv[i:i + 2]
    rtapi.RealtimeApi.new_session = lambda self, offer=None: session
    sys.argv = [sys.argv[0]] + argv
    return rt_publisher.main()


if __name__ == "__main__":
    sys.exit(main())
