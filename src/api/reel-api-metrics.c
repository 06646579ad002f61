/* reel-api-metrics.c: Prometheus text for /metrics. Families are written whole, one
 * after the other (# HELP, # TYPE, then every sample), as the format requires. */
#include "api/reel-api-metrics.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "reel-build-config.h"

#define CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

static ReelStore *metrics_store; /* (nullable) weak: the store closes when reeld drops it */

/**
 * reel_api_metrics_set_store:
 * @store: (transfer none) (nullable): the state store
 */
void
reel_api_metrics_set_store (ReelStore *store)
{
  g_set_weak_pointer (&metrics_store, store);
}

static void
family (GString *out, const char *name, const char *type, const char *help)
{
  g_string_append_printf (out, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* Appends @value as a label value: backslash, quote and newline escaped. */
static void
append_label_value (GString *out, const char *value)
{
  for (const char *p = value != NULL ? value : ""; *p != '\0'; p++) {
    if (*p == '\\' || *p == '"')
      g_string_append_c (out, '\\');
    if (*p == '\n')
      g_string_append (out, "\\n");
    else
      g_string_append_c (out, *p);
  }
}

/* name{k1="v1",k2="v2"} value; @labels: NULL-terminated key, value pairs */
static void
sample (GString *out, const char *name, const char *const *labels, double value)
{
  g_string_append (out, name);
  for (guint i = 0; labels != NULL && labels[i] != NULL; i += 2) {
    g_string_append_printf (out, "%s%s=\"", i == 0 ? "{" : ",", labels[i]);
    append_label_value (out, labels[i + 1]);
    g_string_append_c (out, '"');
    if (labels[i + 2] == NULL)
      g_string_append_c (out, '}');
  }
  char number[G_ASCII_DTOSTR_BUF_SIZE];
  g_string_append_printf (out, " %s\n", g_ascii_dtostr (number, sizeof number, value));
}

static void
render_states (GString *out, GPtrArray *list)
{
  family (out, "reel_recordings", "gauge", "Recordings known to this reeld, by state.");
  for (ReelRecordingState s = REEL_RECORDING_SCHEDULED; s <= REEL_RECORDING_FAILED; s++) {
    guint n = 0;
    for (guint i = 0; i < list->len; i++)
      n += ((ReelRecording *) g_ptr_array_index (list, i))->state == s;
    const char *labels[] = { "state", reel_recording_state_to_string (s), NULL };
    sample (out, "reel_recordings", labels, n);
  }
}

static guint
count_tracks (ReelRecording *rec, const char *kind)
{
  guint n = 0;
  for (guint i = 0; i < rec->participants->len; i++) {
    ReelRecordingParticipant *p = g_ptr_array_index (rec->participants, i);
    for (guint j = 0; p->tracks != NULL && j < p->tracks->len; j++)
      n += g_strcmp0 (((ReelRecordingTrack *) g_ptr_array_index (p->tracks, j))->kind, kind) == 0;
  }
  return n;
}

/* Per-recording series exist only while the recording is active: ended ones
 * would grow the label set without bound. */
static void
render_participants (GString *out, GPtrArray *active)
{
  family (out, "reel_recording_participants", "gauge", "Participants present in an active recording.");
  for (guint i = 0; i < active->len; i++) {
    ReelRecording *rec = g_ptr_array_index (active, i);
    const char *labels[] = { "recording_id", rec->id, NULL };
    sample (out, "reel_recording_participants", labels, rec->participants->len);
  }
  family (out, "reel_recording_tracks", "gauge", "Live tracks of an active recording, by kind.");
  static const char *const kinds[] = { "audio", "video" };
  for (guint i = 0; i < active->len; i++) {
    ReelRecording *rec = g_ptr_array_index (active, i);
    for (gsize k = 0; k < G_N_ELEMENTS (kinds); k++) {
      const char *labels[] = { "recording_id", rec->id, "kind", kinds[k], NULL };
      sample (out, "reel_recording_tracks", labels, count_tracks (rec, kinds[k]));
    }
  }
}

#define OUTPUT_LABELS_MAX 11

/* An output's labels into @labels (NULL-terminated pairs), with "kind" if @kind is
 * set. No state label: a series must not restart when its output changes state. */
static void
output_labels (const char **labels, ReelRecording *rec, ReelRecordingOutput *o, const char *kind)
{
  gboolean file = o->spec->type == REEL_OUTPUT_FILE;
  const char *pairs[] = { "recording_id", rec->id, "output_id", o->id,
                          "type", reel_output_type_to_string (o->spec->type),
                          "format", file ? reel_file_format_to_string (o->spec->format) : "flv",
                          "kind", kind, NULL };
  guint n = kind != NULL ? 10 : 8;
  memcpy (labels, pairs, n * sizeof *labels);
  labels[n] = NULL;
}

typedef double (*OutputValue) (const ReelRecordingOutput *out);

static double output_bytes (const ReelRecordingOutput *o) { return (double) o->bytes; }
static double output_retries (const ReelRecordingOutput *o) { return o->retries; }
static double output_failed (const ReelRecordingOutput *o) { return o->state == REEL_OUTPUT_STATE_FAILED; }

static void
render_output_family (GString *out, GPtrArray *active, const char *name, const char *type,
                      const char *help, OutputValue value)
{
  family (out, name, type, help);
  for (guint i = 0; i < active->len; i++) {
    ReelRecording *rec = g_ptr_array_index (active, i);
    for (guint j = 0; j < rec->outputs->len; j++) {
      ReelRecordingOutput *o = g_ptr_array_index (rec->outputs, j);
      const char *labels[OUTPUT_LABELS_MAX];
      output_labels (labels, rec, o, NULL);
      sample (out, name, labels, value (o));
    }
  }
}

static const char *const media_kinds[2] = { "audio", "video" }; /* ReelRecordingMediaStats order */

/* What the media graphs measure. Sources, so an operator knows what to act on:
 * - encoder drops: QoS reports (in frames) of the compositor, the audiomixer and
 *   the encoders, i.e. frames skipped because they were late (CPU), plus encoded
 *   frames without a timestamp discarded before the outputs;
 * - output drops: leak events of an output's 3 s queue (output/reel-output-bin.c),
 *   i.e. its sink (disk, RTMP uplink) did not keep up and the oldest frames went;
 * - latency: pipeline clock running time minus the running time of the last frame
 *   leaving each encoder (mixer latency + queueing + encoding). */
typedef double (*MediaValue) (const ReelRecordingMediaStats *s, gsize kind);

static double media_dropped (const ReelRecordingMediaStats *s, gsize k) { return (double) s->encoder_frames_dropped[k]; }
static double media_latency (const ReelRecordingMediaStats *s, gsize k) { return s->latency_s[k]; }

/* One sample per active recording and kind; a negative value means "not measured": no sample. */
static void
render_media_family (GString *out, GPtrArray *active, const ReelRecordingMediaStats *stats,
                     const char *name, const char *type, const char *help, MediaValue value)
{
  family (out, name, type, help);
  for (guint i = 0; i < active->len; i++) {
    ReelRecording *rec = g_ptr_array_index (active, i);
    for (gsize k = 0; k < G_N_ELEMENTS (media_kinds); k++) {
      double v = value (&stats[i], k);
      if (v < 0)
        continue;
      const char *labels[] = { "recording_id", rec->id, "kind", media_kinds[k], NULL };
      sample (out, name, labels, v);
    }
  }
}

static void
render_media (GString *out, ReelJobManager *manager, GPtrArray *active)
{
  g_autofree ReelRecordingMediaStats *stats = g_new0 (ReelRecordingMediaStats, MAX (active->len, 1));
  for (guint i = 0; i < active->len; i++) {
    ReelRecording *rec = g_ptr_array_index (active, i);
    if (!reel_job_manager_get_media_stats (manager, rec->id, &stats[i]))
      stats[i].latency_s[0] = stats[i].latency_s[1] = -1.0; /* no graph yet: drops 0 */
  }
  render_media_family (out, active, stats, "reel_encoder_frames_dropped_total", "counter",
                       "Frames dropped at the mixer or encoder of an active recording, by kind: "
                       "frames the compositor, audiomixer or encoder reported skipping as late "
                       "(QoS: CPU too slow) and encoded frames without a timestamp discarded "
                       "before the outputs.", media_dropped);
  render_media_family (out, active, stats, "reel_pipeline_latency_seconds", "gauge",
                       "Age of the last frame leaving the encoder of an active recording, by "
                       "kind: pipeline running time minus the frame's timestamp (mixer latency, "
                       "queueing, encoding). Growing means the machine cannot keep up.",
                       media_latency);
}

/* Per output and kind: leak events of the output's queue. */
static void
render_output_drops (GString *out, ReelJobManager *manager, GPtrArray *active)
{
  const char *name = "reel_output_frames_dropped_total";
  family (out, name, "counter",
          "Frames an output of an active recording discarded, by kind: leak events of its 3 s "
          "queue, each dropping the oldest frame(s), because its sink (disk, RTMP uplink) did "
          "not keep up.");
  for (guint i = 0; i < active->len; i++) {
    ReelRecording *rec = g_ptr_array_index (active, i);
    for (guint j = 0; j < rec->outputs->len; j++) {
      ReelRecordingOutput *o = g_ptr_array_index (rec->outputs, j);
      for (gsize k = 0; k < G_N_ELEMENTS (media_kinds); k++) {
        const char *labels[OUTPUT_LABELS_MAX];
        output_labels (labels, rec, o, media_kinds[k]);
        sample (out, name, labels,
                (double) reel_job_manager_get_output_frames_dropped (manager, rec->id, o->id, k == 1));
      }
    }
  }
}

static void
render_output_states (GString *out, GPtrArray *active)
{
  family (out, "reel_outputs", "gauge", "Outputs of the active recordings, by state.");
  for (ReelOutputState s = REEL_OUTPUT_STATE_STARTING; s <= REEL_OUTPUT_STATE_STOPPED; s++) {
    guint n = 0;
    for (guint i = 0; i < active->len; i++) {
      GPtrArray *outs = ((ReelRecording *) g_ptr_array_index (active, i))->outputs;
      for (guint j = 0; j < outs->len; j++)
        n += ((ReelRecordingOutput *) g_ptr_array_index (outs, j))->state == s;
    }
    const char *labels[] = { "state", reel_output_state_to_string (s), NULL };
    sample (out, "reel_outputs", labels, n);
  }
}

static void
render_outputs (GString *out, GPtrArray *active)
{
  render_output_states (out, active);
  render_output_family (out, active, "reel_output_bytes", "gauge",
                        "Bytes written (files) or sent (streams) by an output of an active recording.",
                        output_bytes);
  render_output_family (out, active, "reel_output_retries_total", "counter",
                        "Restarts of a failed output (RTMP retries) in an active recording.",
                        output_retries);
  render_output_family (out, active, "reel_output_failed", "gauge",
                        "1 while an output of an active recording is failed (retrying or given up).",
                        output_failed);
}

/* utime + stime (clock ticks) and rss (pages) from /proc/self/stat. */
static gboolean
read_proc_stat (double *cpu_s, double *rss_bytes)
{
  g_autofree char *text = NULL;
  if (!g_file_get_contents ("/proc/self/stat", &text, NULL, NULL))
    return FALSE;
  const char *p = strrchr (text, ')'); /* comm may hold spaces and parentheses */
  if (p == NULL)
    return FALSE;
  g_auto (GStrv) f = g_strsplit (p + 2, " ", -1);
  if (g_strv_length (f) < 22) /* f[0] is field 3 (state) */
    return FALSE;
  double ticks = (double) sysconf (_SC_CLK_TCK);
  *cpu_s = (g_ascii_strtod (f[11], NULL) + g_ascii_strtod (f[12], NULL)) / ticks;
  *rss_bytes = g_ascii_strtod (f[21], NULL) * (double) sysconf (_SC_PAGESIZE);
  return TRUE;
}

static void
render_process (GString *out, ReelStore *store)
{
  double cpu_s, rss;
  if (read_proc_stat (&cpu_s, &rss)) {
    family (out, "process_cpu_seconds_total", "counter", "User and system CPU time spent, in seconds.");
    sample (out, "process_cpu_seconds_total", NULL, cpu_s);
    family (out, "process_resident_memory_bytes", "gauge", "Resident memory size in bytes.");
    sample (out, "process_resident_memory_bytes", NULL, rss);
  }
  family (out, "reel_webhook_queue_depth", "gauge", "Webhook events waiting in the outbox.");
  sample (out, "reel_webhook_queue_depth", NULL, store != NULL ? reel_store_outbox_count (store) : 0);
  family (out, "reel_build_info", "gauge", "reeld's version (always 1).");
  const char *labels[] = { "version", REEL_VERSION, NULL };
  sample (out, "reel_build_info", labels, 1);
}

/**
 * reel_api_metrics_render:
 * @store: (nullable): the webhook outbox's store
 * Returns: (transfer full): the exposition text
 */
char *
reel_api_metrics_render (ReelJobManager *manager, ReelStore *store)
{
  g_autoptr (GPtrArray) list = reel_job_manager_list (manager);
  g_autoptr (GPtrArray) active = g_ptr_array_new ();
  for (guint i = 0; i < list->len; i++) {
    ReelRecording *rec = g_ptr_array_index (list, i);
    if (reel_recording_state_is_active (rec->state))
      g_ptr_array_add (active, rec);
  }
  GString *out = g_string_new (NULL);
  render_states (out, list);
  render_participants (out, active);
  render_outputs (out, active);
  render_output_drops (out, manager, active);
  render_media (out, manager, active);
  render_process (out, store);
  return g_string_free (out, FALSE);
}

/**
 * reel_api_metrics_respond:
 * @msg: (transfer none): a request for /metrics
 */
void
reel_api_metrics_respond (ReelJobManager *manager, SoupServerMessage *msg)
{
  const char *method = soup_server_message_get_method (msg);
  if (!g_str_equal (method, "GET") && !g_str_equal (method, "HEAD")) {
    static const char body[] = "{\"error\":{\"code\":\"method_not_allowed\",\"message\":\"method not allowed on this resource\"}}";
    soup_message_headers_replace (soup_server_message_get_response_headers (msg), "Allow", "GET");
    soup_server_message_set_status (msg, SOUP_STATUS_METHOD_NOT_ALLOWED, NULL);
    soup_server_message_set_response (msg, "application/json", SOUP_MEMORY_STATIC, body, strlen (body));
    return;
  }
  char *text = reel_api_metrics_render (manager, metrics_store);
  soup_server_message_set_status (msg, SOUP_STATUS_OK, NULL);
  soup_server_message_set_response (msg, CONTENT_TYPE, SOUP_MEMORY_TAKE, text, strlen (text));
}
