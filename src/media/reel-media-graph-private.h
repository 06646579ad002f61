/* reel-media-graph-private.h: what the files of ReelMediaGraph share: the graph's
 * fields, its Inputs and Outputs, and the functions one of its files calls in
 * another. Only src/media/ includes it.
 *
 *   reel-media-graph.c    mixers, encoders and tees; the bus; start and stop
 *   reel-media-layout.c   the video tiles on the canvas
 *   reel-media-inputs.c   tracks, their sources and their removal
 *   reel-media-outputs.c  outputs: attached, detached, finalized, failed
 *
 * Thread rule: every field is owned by the main context. Streaming threads only
 * touch the atomic `failed` flag of an output (from the bus sync handler) and
 * post work to the main context.
 */
#pragma once

#include "media/reel-media-graph.h"

G_BEGIN_DECLS

GST_DEBUG_CATEGORY_EXTERN (reel_media_debug);
#define GST_CAT_DEFAULT reel_media_debug

#define AUDIO_RATE 48000
#define AUDIO_BLOCK_SAMPLES 1024   /* the mixer's output block: one AAC frame */
#define AAC_PRIMING_SAMPLES 1024   /* audio-aac: avenc_aac's encoder delay */

/* On an output's bin: its Output. */
extern GQuark reel_media_graph_output_quark;

typedef struct _Output Output;
typedef struct _Input Input;

struct _Output {
  ReelMediaGraph *graph;      /* (unowned) */
  char *id;
  guint serial;               /* tells apart a retried output from its predecessor */
  GstElement *bin;            /* (owned) */
  GstPad *tee_pads[2];        /* video, audio (owned) */
  gulong drop_probes[2];
  gint *failed;               /* atomic rc box: set from the bus sync handler; its tee
                               * pads' probes hold it too, as a callback may still run
                               * after the probe is removed and the Output freed */
  guint pending_unlinks;
  gboolean detaching;
  gboolean finalize;
  gboolean timed_out;
  gboolean eos;               /* finalized: its sink has seen EOS */
};

struct _Input {
  ReelMediaGraph *graph;      /* (unowned) */
  char *track_id;
  char *participant_id;
  ReelMediaKind kind;
  GstElement *bin;            /* (owned) (nullable): NULL for a pad track */
  GstPad *src;                /* (owned) the pad that feeds the mixer */
  GstPad *mixer_pad;          /* (owned) */
  gboolean removing;
  gboolean keep_pad;          /* a base input: at stop its mixer pad stays, at EOS */
  guint participant_seq;      /* tiles are ordered by when their participant first came */
  guint seq;
  gint aspect_num, aspect_den; /* video: display aspect from its caps; 0 = not known yet */
  gint width, height;         /* video: picture size from its caps; 0 = not known yet */
  gboolean scaling_set;       /* video: its pad's converter config is set, to... */
  gboolean scaled;            /* ...scale (TRUE) or none (FALSE) */
};

/* Streaming-thread numbers of one kind (audio or video), filled by the probe on
 * the tee's sink pad. Reference-counted: a probe may outlive the graph. */
typedef struct {
  gint untimed;               /* atomic: encoded frames without PTS dropped before the tee */
  gint lag_us;                /* atomic: age of the last encoded frame at the tee; -1 = none yet */
  GstClockTimeDiff delay;     /* set once at creation: the offset of this kind's inputs */
} KindCounters;

struct _ReelMediaGraph {
  GObject parent_instance;
  char *name;
  guint width, height, framerate;
  GstElement *pipeline;
  GstElement *mixers[2];      /* indexed by ReelMediaKind */
  GstElement *tees[2];
  GstElement *encoders[2];
  KindCounters *counters[2];  /* (owned) rc boxes */
  guint64 qos_dropped[2];     /* frames the mixers and encoders reported dropped (QoS) */
  GHashTable *qos_reported;   /* element → guint64* its last cumulative QoS count */
  GHashTable *output_drops;   /* output id → OutputDrops (rc box) */
  GHashTable *outputs;        /* id → Output */
  GHashTable *inputs;         /* track id → Input */
  GPtrArray *tiles;           /* (element-type Input) video inputs in join order, unowned */
  guint next_output_serial;
  GHashTable *participant_order; /* participant id → first-seen sequence */
  guint next_seq;
  GPtrArray *elements;        /* (element-type GstElement) added with add_element, owned */
  guint bus_watch;
  guint stop_timeout;
  gboolean started;
  gboolean stopping;
  gboolean done;
};

enum {
  SIG_STARTED, SIG_OUTPUT_FINISHED, SIG_OUTPUT_FAILED, SIG_FINISHED, SIG_FAILED,
  SIG_TRACK_RELEASED, SIG_ELEMENT_FAILED, N_SIGNALS
};
extern guint reel_media_graph_signals[N_SIGNALS];

/* reel-media-graph.c */
GstClockTimeDiff reel_media_graph_video_delay (ReelMediaGraph *self);
void reel_media_graph_finish (ReelMediaGraph *self);
void reel_media_graph_teardown_bin (ReelMediaGraph *self, GstElement *bin);

/* reel-media-layout.c */
void reel_media_graph_apply_layout (ReelMediaGraph *self);
void reel_media_graph_follow_video_shape (ReelMediaGraph *self, Input *in);

/* reel-media-inputs.c */
gboolean reel_media_graph_add_base_inputs (ReelMediaGraph *self, const ReelMediaSettings *s);
void reel_media_graph_input_remove (ReelMediaGraph *self, Input *in);
void reel_media_graph_input_free (Input *in);

/* reel-media-outputs.c */
void reel_media_graph_output_free (Output *o);
void reel_media_graph_output_drops_release (gpointer drops);
Output *reel_media_graph_find_output_of (ReelMediaGraph *self, GstObject *obj);
void reel_media_graph_check_outputs_done (ReelMediaGraph *self);
void reel_media_graph_on_output_error (ReelMediaGraph *self, Output *o, GError *err,
                                       const char *debug);
void reel_media_graph_on_forwarded (ReelMediaGraph *self, GstMessage *msg);

G_END_DECLS
