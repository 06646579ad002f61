"""gstutil: the webrtcbin settings every test peer needs (see test-environment.md).

- ICE only on the given local addresses (nice_agent_add_local_address), libnice UPnP
  off, ICE-TCP off, no STUN/TURN (webrtcbin has none unless told).
- A workaround for PyGObject + webrtcbin 1.22 (see keep_ref).
"""

import ctypes

import gi
gi.require_version("Gst", "1.0")
gi.require_version("GstWebRTC", "1.0")
gi.require_version("GstSdp", "1.0")
gi.require_version("Nice", "0.1")
from gi.repository import Gst, GstSdp, GstWebRTC, Nice  # noqa: E402,F401

_gobject = None


def keep_ref(obj):
    """One extra reference on a GObject that PyGObject would otherwise steal.

    webrtcbin 1.22 creates its GstWebRTCNice floating and never sinks it: the Python
    wrapper returned for the "ice-agent" property sinks that floating reference and
    drops it with the wrapper, freeing the ICE object under webrtcbin's feet (criticals,
    then a crash at negotiation). C code that g_object_get()s and unrefs is not hit."""
    global _gobject
    if _gobject is None:
        _gobject = ctypes.CDLL("libgobject-2.0.so.0")
        _gobject.g_object_ref.argtypes = [ctypes.c_void_p]
        _gobject.g_object_ref.restype = ctypes.c_void_p
    before = obj.__grefcount__
    _gobject.g_object_ref(hash(obj))  # PyGObject hashes a wrapper by its GObject pointer
    if obj.__grefcount__ != before + 1:
        raise RuntimeError("could not take a reference on %r" % obj)
    return obj


def configure_ice(webrtc, local_addresses):
    """Rules 1 and 2 of test-environment.md: explicit local addresses, no UPnP, no ICE-TCP.
    Call before any negotiation."""
    ice = webrtc.get_property("ice-agent")
    if ice.__grefcount__ < 2:
        keep_ref(ice)
    ice.set_property("ice-tcp", False)
    agent = ice.get_property("agent")
    agent.set_property("upnp", False)
    for addr in local_addresses:
        a = Nice.Address.new()
        if not a.set_from_string(addr):
            raise ValueError("bad local address %r" % addr)
        if not agent.add_local_address(a):
            raise RuntimeError("nice_agent_add_local_address(%s) failed" % addr)


def promise_wait(promise):
    if promise.wait() != Gst.PromiseResult.REPLIED:
        raise RuntimeError("webrtcbin promise not replied")
    return promise.get_reply()


def sdp_description(kind, text):
    """A GstWebRTCSessionDescription of kind "offer"/"answer" from SDP text."""
    ok, sdp = GstSdp.SDPMessage.new_from_text(text)
    if ok != GstSdp.SDPResult.OK:
        raise RuntimeError("cannot parse SDP %s" % kind)
    t = GstWebRTC.WebRTCSDPType.OFFER if kind == "offer" else GstWebRTC.WebRTCSDPType.ANSWER
    return GstWebRTC.WebRTCSessionDescription.new(t, sdp)


def set_description(webrtc, which, desc):
    """which: "local" or "remote"."""
    promise = Gst.Promise.new()
    webrtc.emit("set-%s-description" % which, desc, promise)
    return promise_wait(promise)
