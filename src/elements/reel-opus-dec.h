/* reelopusdec: Opus (one stream, as WebRTC sends it) to 48 kHz stereo F32.
 *
 * GStreamer's opusdec decodes through libopus's multistream API. In libopus
 * 1.3.1 every multistream decode call sizes its decoders again, and each size
 * runs the CPU feature probe: four CPUID instructions per packet, which a virtual
 * machine traps (measured: 4 % of reeld's time at 9 participants). This element
 * calls libopus's single-stream decoder, which probes once. It conceals lost
 * packets (libopus PLC) when the depayloader reports a gap. */
#pragma once

#include <gst/audio/audio.h>

G_BEGIN_DECLS

#define REEL_TYPE_OPUS_DEC (reel_opus_dec_get_type ())
G_DECLARE_FINAL_TYPE (ReelOpusDec, reel_opus_dec, REEL, OPUS_DEC, GstAudioDecoder)

G_END_DECLS
