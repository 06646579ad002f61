#include "elements/reel-opus-dec.h"

#include <opus.h>

GST_DEBUG_CATEGORY_STATIC (reel_opus_dec_debug);
#define GST_CAT_DEFAULT reel_opus_dec_debug

#define RATE 48000
#define CHANNELS 2
#define MAX_SAMPLES (RATE * 120 / 1000) /* the longest Opus packet: 120 ms */
#define PLC_STEP (RATE / 400)           /* libopus conceals in steps of 2.5 ms */

struct _ReelOpusDec {
  GstAudioDecoder parent_instance;
  OpusDecoder *decoder;
  int last_samples;           /* the last packet's length: a gap of unknown length conceals this */
};

G_DEFINE_FINAL_TYPE (ReelOpusDec, reel_opus_dec, GST_TYPE_AUDIO_DECODER)

static GstStaticPadTemplate sink_template =
  GST_STATIC_PAD_TEMPLATE ("sink", GST_PAD_SINK, GST_PAD_ALWAYS,
                           GST_STATIC_CAPS ("audio/x-opus, channel-mapping-family = (int) 0"));

static GstStaticPadTemplate src_template =
  GST_STATIC_PAD_TEMPLATE ("src", GST_PAD_SRC, GST_PAD_ALWAYS,
                           GST_STATIC_CAPS ("audio/x-raw, format = (string) " GST_AUDIO_NE (F32) ", "
                                            "layout = (string) interleaved, rate = (int) 48000, "
                                            "channels = (int) 2"));

static gboolean
reel_opus_dec_start (GstAudioDecoder *dec)
{
  ReelOpusDec *self = REEL_OPUS_DEC (dec);
  int err = OPUS_OK;
  self->decoder = opus_decoder_create (RATE, CHANNELS, &err);
  if (self->decoder == NULL || err != OPUS_OK) {
    GST_ELEMENT_ERROR (self, LIBRARY, INIT, (NULL), ("libopus: %s", opus_strerror (err)));
    return FALSE;
  }
  self->last_samples = RATE / 50;
  /* Part of the base class's context, which it resets before start. */
  gst_audio_decoder_set_plc_aware (dec, TRUE);
  gst_audio_decoder_set_drainable (dec, TRUE);
  return TRUE;
}

static gboolean
reel_opus_dec_stop (GstAudioDecoder *dec)
{
  ReelOpusDec *self = REEL_OPUS_DEC (dec);
  g_clear_pointer (&self->decoder, opus_decoder_destroy);
  return TRUE;
}

static gboolean
reel_opus_dec_set_format (GstAudioDecoder *dec, GstCaps *caps)
{
  GstAudioInfo info;
  gst_audio_info_set_format (&info, GST_AUDIO_FORMAT_F32, RATE, CHANNELS, NULL);
  return gst_audio_decoder_set_output_format (dec, &info);
}

/* Any stream, mono or stereo: libopus mixes it to the stereo we output, so the
 * base class must not ask downstream for the channel count. */
static GstCaps *
reel_opus_dec_getcaps (GstAudioDecoder *dec, GstCaps *filter)
{
  GstCaps *caps = gst_pad_get_pad_template_caps (GST_AUDIO_DECODER_SINK_PAD (dec));
  if (filter != NULL) {
    GstCaps *both = gst_caps_intersect_full (filter, caps, GST_CAPS_INTERSECT_FIRST);
    gst_caps_unref (caps);
    caps = both;
  }
  return caps;
}

static void
reel_opus_dec_flush (GstAudioDecoder *dec, gboolean hard)
{
  ReelOpusDec *self = REEL_OPUS_DEC (dec);
  if (self->decoder != NULL)
    opus_decoder_ctl (self->decoder, OPUS_RESET_STATE);
}

/* How much a gap (an empty buffer) asks to conceal, in libopus's steps. */
static int
gap_samples (ReelOpusDec *self, GstBuffer *gap)
{
  int samples = self->last_samples;
  if (GST_BUFFER_DURATION_IS_VALID (gap))
    samples = (int) gst_util_uint64_scale_round (GST_BUFFER_DURATION (gap), RATE, GST_SECOND);
  samples = (samples + PLC_STEP / 2) / PLC_STEP * PLC_STEP;
  return CLAMP (samples, PLC_STEP, MAX_SAMPLES);
}

/* The samples a packet holds (its header says), or the most any packet can
 * hold if the header is damaged: libopus then refuses the packet itself. */
static int
packet_samples (const GstMapInfo *packet)
{
  int samples = opus_packet_get_nb_samples (packet->data, (opus_int32) packet->size, RATE);
  return samples > 0 && samples <= MAX_SAMPLES ? samples : MAX_SAMPLES;
}

static GstFlowReturn
reel_opus_dec_handle_frame (GstAudioDecoder *dec, GstBuffer *buffer)
{
  ReelOpusDec *self = REEL_OPUS_DEC (dec);
  if (buffer == NULL)
    return GST_FLOW_OK; /* drain: libopus holds nothing back */
  GstMapInfo in;
  if (!gst_buffer_map (buffer, &in, GST_MAP_READ)) {
    GST_ELEMENT_ERROR (self, STREAM, DECODE, (NULL), ("cannot read the input buffer"));
    return GST_FLOW_ERROR;
  }
  int room = in.size == 0 ? gap_samples (self, buffer) : packet_samples (&in);
  GstBuffer *out = gst_audio_decoder_allocate_output_buffer (dec, (gsize) room * CHANNELS * sizeof (float));
  GstMapInfo pcm;
  gst_buffer_map (out, &pcm, GST_MAP_WRITE);
  /* An empty buffer is a gap: libopus conceals it (PLC). */
  int samples = opus_decode_float (self->decoder, in.size ? in.data : NULL, (opus_int32) in.size,
                                   (float *) pcm.data, room, 0);
  gst_buffer_unmap (out, &pcm);
  gst_buffer_unmap (buffer, &in);
  if (samples < 0) {
    gst_buffer_unref (out);
    GstFlowReturn ret = GST_FLOW_OK;
    /* A damaged packet is dropped and counted, never fatal (max-errors -1). */
    GST_AUDIO_DECODER_ERROR (dec, 1, STREAM, DECODE, (NULL), ("libopus: %s", opus_strerror (samples)), ret);
    return ret;
  }
  if (in.size > 0)
    self->last_samples = samples;
  gst_buffer_set_size (out, (gsize) samples * CHANNELS * sizeof (float));
  return gst_audio_decoder_finish_frame (dec, out, 1);
}

static void
reel_opus_dec_init (ReelOpusDec *self)
{
  GstAudioDecoder *dec = GST_AUDIO_DECODER (self);
  gst_audio_decoder_set_plc (dec, TRUE);
  gst_audio_decoder_set_max_errors (dec, -1);
}

static void
reel_opus_dec_class_init (ReelOpusDecClass *klass)
{
  GstElementClass *element = GST_ELEMENT_CLASS (klass);
  GstAudioDecoderClass *dec = GST_AUDIO_DECODER_CLASS (klass);
  gst_element_class_add_static_pad_template (element, &sink_template);
  gst_element_class_add_static_pad_template (element, &src_template);
  gst_element_class_set_static_metadata (element, "Opus decoder (one stream)", "Codec/Decoder/Audio",
                                         "Decodes a WebRTC Opus stream with libopus, concealing lost packets",
                                         "reel");
  dec->start = reel_opus_dec_start;
  dec->stop = reel_opus_dec_stop;
  dec->set_format = reel_opus_dec_set_format;
  dec->flush = reel_opus_dec_flush;
  dec->getcaps = reel_opus_dec_getcaps;
  dec->handle_frame = reel_opus_dec_handle_frame;
  GST_DEBUG_CATEGORY_INIT (reel_opus_dec_debug, "reelopusdec", 0, "reel's Opus decoder");
}
