#!/usr/bin/python3
"""gstrun: gst-launch-1.0 for the lever graphs, in Python, so that pad properties that
take a GstVideo enum inside a structure (compositor pads' converter-config with
GstVideoConverter.resampler-method) parse: gst-launch-1.0 parses before libgstvideo has
registered those enum types, and the property is then silently ignored.

    /usr/bin/python3 gstrun.py 'DESCRIPTION'

Runs until SIGINT or SIGTERM, then sends EOS and waits (up to 10 s) for it to reach the
sinks, so an MP4 is finalized. Exit code 0, or 1 on a pipeline error.
"""

import signal
import sys

import gi
gi.require_version("Gst", "1.0")
gi.require_version("GstVideo", "1.0")
from gi.repository import GLib, Gst, GstVideo  # noqa: E402


def main():
    Gst.init(None)
    # register the enum types a description may name in a structure
    GstVideo.VideoResamplerMethod.__gtype__  # noqa: B018
    GstVideo.VideoChromaMode.__gtype__  # noqa: B018
    GstVideo.VideoDitherMethod.__gtype__  # noqa: B018
    pipeline = Gst.parse_launch(sys.argv[1])
    loop = GLib.MainLoop()
    code = [0]
    stopping = [False]

    def on_message(bus, msg):
        if msg.type == Gst.MessageType.ERROR:
            err, dbg = msg.parse_error()
            sys.stderr.write("ERROR: %s (%s)\n" % (err.message, dbg))
            code[0] = 1
            loop.quit()
        elif msg.type == Gst.MessageType.EOS:
            loop.quit()

    def stop():
        if not stopping[0]:
            stopping[0] = True
            pipeline.send_event(Gst.Event.new_eos())
            GLib.timeout_add_seconds(10, loop.quit)
        return GLib.SOURCE_REMOVE

    bus = pipeline.get_bus()
    bus.add_signal_watch()
    bus.connect("message", on_message)
    for sig in (signal.SIGINT, signal.SIGTERM):
        GLib.unix_signal_add(GLib.PRIORITY_HIGH, sig, stop)
    if pipeline.set_state(Gst.State.PLAYING) == Gst.StateChangeReturn.FAILURE:
        sys.stderr.write("ERROR: the pipeline does not start\n")
        return 1
    loop.run()
    pipeline.set_state(Gst.State.NULL)
    return code[0]


if __name__ == "__main__":
    sys.exit(main())
