/* Media suite: the recording graph in-process (runs under ASan/UBSan in CI).
 * Real GStreamer, real files; outputs are checked with GstDiscoverer. */
#include "base/reel-error.h"
#include "media/reel-media-graph.h"
#include "output/reel-output-bin.h"

#include <gio/gio.h>
#include <gst/pbutils/pbutils.h>

typedef struct {
  GMainLoop *loop;
  ReelMediaGraph *graph;
  char *dir;
  GPtrArray *finished_outputs;
  GPtrArray *failed_outputs;
  gboolean started;
  gboolean finished;
  gboolean failed;
  guint tiles_seen_max;
} Fixture;

static const char *
pipelines_dir (void)
{
  const char *root = g_getenv ("REEL_SOURCE_ROOT");
  g_assert_nonnull (root);
  static char *dir;
  if (dir == NULL)
    dir = g_build_filename (root, "pipelines", NULL);
  return dir;
}

static void
on_output_finished (ReelMediaGraph *g, const char *id, Fixture *f)
{
  g_ptr_array_add (f->finished_outputs, g_strdup (id));
}

static void
on_output_failed (ReelMediaGraph *g, const char *id, GError *error, Fixture *f)
{
  g_assert_true (error->domain == REEL_ERROR);
  g_ptr_array_add (f->failed_outputs, g_strdup (id));
}

static void
on_started (ReelMediaGraph *g, Fixture *f)
{
  f->started = TRUE;
}

static void
on_finished (ReelMediaGraph *g, Fixture *f)
{
  f->finished = TRUE;
  g_main_loop_quit (f->loop);
}

static void
on_failed (ReelMediaGraph *g, GError *error, Fixture *f)
{
  g_printerr ("graph failed: %s\n", error->message);
  f->failed = TRUE;
  g_main_loop_quit (f->loop);
}

static void
fixture_setup (Fixture *f, gconstpointer data)
{
  f->loop = g_main_loop_new (NULL, FALSE);
  f->dir = g_dir_make_tmp ("reel-media-XXXXXX", NULL);
  f->finished_outputs = g_ptr_array_new_with_free_func (g_free);
  f->failed_outputs = g_ptr_array_new_with_free_func (g_free);
  ReelMediaSettings s = {
    .name = "rec_media_test", .width = 640, .height = 360, .framerate = 30,
    .bitrate_kbps = 800, .audio_bitrate_kbps = 96, .pipelines_dir = pipelines_dir (),
    .video_encoder = "video-h264", .audio_encoder = "audio-aac",
  };
  g_autoptr (GError) error = NULL;
  f->graph = reel_media_graph_new (&s, &error);
  g_assert_no_error (error);
  g_signal_connect (f->graph, "output-finished", G_CALLBACK (on_output_finished), f);
  g_signal_connect (f->graph, "output-failed", G_CALLBACK (on_output_failed), f);
  g_signal_connect (f->graph, "started", G_CALLBACK (on_started), f);
  g_signal_connect (f->graph, "finished", G_CALLBACK (on_finished), f);
  g_signal_connect (f->graph, "failed", G_CALLBACK (on_failed), f);
}

static void
fixture_teardown (Fixture *f, gconstpointer data)
{
  g_clear_object (&f->graph);
  g_main_loop_unref (f->loop);
  g_autoptr (GFile) dir = g_file_new_for_path (f->dir);
  g_autoptr (GFileEnumerator) e = g_file_enumerate_children (dir, "standard::name", 0, NULL, NULL);
  GFileInfo *info;
  while (e && (info = g_file_enumerator_next_file (e, NULL, NULL))) {
    g_autoptr (GFile) child = g_file_get_child (dir, g_file_info_get_name (info));
    g_file_delete (child, NULL, NULL);
    g_object_unref (info);
  }
  g_file_delete (dir, NULL, NULL);
  g_free (f->dir);
  g_ptr_array_unref (f->finished_outputs);
  g_ptr_array_unref (f->failed_outputs);
}

static char *
add_file_output (Fixture *f, const char *id, const char *format)
{
  g_autofree char *name = g_strdup_printf ("%s.%s", id, format);
  char *path = g_build_filename (f->dir, name, NULL);
  g_autofree char *templ = g_strdup_printf ("output-%s", format);
  g_autoptr (GHashTable) vars = g_hash_table_new (g_str_hash, g_str_equal);
  g_hash_table_insert (vars, "fragment_ms", "500");
  g_autoptr (GError) error = NULL;
  GstElement *bin = reel_output_bin_new (pipelines_dir (), templ, vars, id, path, &error);
  g_assert_no_error (error);
  g_assert_true (reel_media_graph_add_output (f->graph, id, bin, &error));
  g_assert_no_error (error);
  return path;
}

static void
add_participant (Fixture *f, const char *id, guint32 rgb, double hz)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *vid = g_strdup_printf ("%s-video", id);
  g_autofree char *aid = g_strdup_printf ("%s-audio", id);
  GstElement *v = reel_media_synthetic_source_new (REEL_MEDIA_KIND_VIDEO, rgb, 0, 320, 180, 30);
  GstElement *a = reel_media_synthetic_source_new (REEL_MEDIA_KIND_AUDIO, 0, hz, 0, 0, 0);
  g_assert_true (reel_media_graph_add_track (f->graph, id, vid, REEL_MEDIA_KIND_VIDEO, v, &error));
  g_assert_true (reel_media_graph_add_track (f->graph, id, aid, REEL_MEDIA_KIND_AUDIO, a, &error));
}

static void
remove_participant (Fixture *f, const char *id)
{
  g_autofree char *vid = g_strdup_printf ("%s-video", id);
  g_autofree char *aid = g_strdup_printf ("%s-audio", id);
  reel_media_graph_remove_track (f->graph, vid);
  reel_media_graph_remove_track (f->graph, aid);
}

static void
run_for (Fixture *f, guint ms)
{
  GMainContext *ctx = g_main_loop_get_context (f->loop);
  gint64 until = g_get_monotonic_time () + ms * 1000;
  while (g_get_monotonic_time () < until && !f->failed)
    if (!g_main_context_iteration (ctx, FALSE))
      g_usleep (2000);
}

/* Starts the graph and waits (sanitizer builds are slow) until it is PLAYING. */
static void
start_and_wait (Fixture *f)
{
  g_autoptr (GError) error = NULL;
  g_assert_true (reel_media_graph_start (f->graph, &error));
  g_assert_no_error (error);
  GMainContext *ctx = g_main_loop_get_context (f->loop);
  gint64 until = g_get_monotonic_time () + 30 * G_USEC_PER_SEC;
  while (!f->started && !f->failed && g_get_monotonic_time () < until)
    if (!g_main_context_iteration (ctx, FALSE))
      g_usleep (2000);
  g_assert_true (f->started);
}

static double
discovered_duration_s (const char *path, guint *n_video, guint *n_audio)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GstDiscoverer) d = gst_discoverer_new (10 * GST_SECOND, &error);
  g_assert_no_error (error);
  g_autofree char *uri = gst_filename_to_uri (path, NULL);
  g_autoptr (GstDiscovererInfo) info = gst_discoverer_discover_uri (d, uri, &error);
  g_assert_no_error (error);
  GList *v = gst_discoverer_info_get_video_streams (info);
  GList *a = gst_discoverer_info_get_audio_streams (info);
  *n_video = g_list_length (v);
  *n_audio = g_list_length (a);
  gst_discoverer_stream_info_list_free (v);
  gst_discoverer_stream_info_list_free (a);
  return (double) gst_discoverer_info_get_duration (info) / GST_SECOND;
}

static void
stop_and_wait (Fixture *f)
{
  reel_media_graph_stop (f->graph, 20);
  if (!f->finished && !f->failed) /* it may finish inside stop */
    g_main_loop_run (f->loop);
  g_assert_false (f->failed);
  g_assert_true (f->finished);
}

/* Joins and leaves in a running graph; two files finalized by EOS. */
static void
test_join_leave (Fixture *f, gconstpointer data)
{
  g_autofree char *mp4 = add_file_output (f, "out_0", "mp4");
  g_autofree char *mkv = add_file_output (f, "out_1", "mkv");
  g_autoptr (GError) error = NULL;
  add_participant (f, "p1", 0xff0000, 440);
  start_and_wait (f);
  run_for (f, 700);
  add_participant (f, "p2", 0x00ff00, 660);
  add_participant (f, "p3", 0x0000ff, 880);
  g_assert_cmpuint (reel_media_graph_get_n_tiles (f->graph), ==, 3);
  run_for (f, 700);
  remove_participant (f, "p2");
  g_assert_cmpuint (reel_media_graph_get_n_tiles (f->graph), ==, 2);
  run_for (f, 700);
  remove_participant (f, "p1");
  remove_participant (f, "p3");
  run_for (f, 500); /* nobody there: the timeline goes on */
  g_assert_true (GST_CLOCK_TIME_IS_VALID (reel_media_graph_get_running_time (f->graph)));
  stop_and_wait (f);
  g_assert_cmpuint (f->finished_outputs->len, ==, 2);
  g_assert_cmpuint (f->failed_outputs->len, ==, 0);
  guint nv, na;
  double d = discovered_duration_s (mp4, &nv, &na);
  g_assert_cmpuint (nv, ==, 1);
  g_assert_cmpuint (na, ==, 1);
  g_assert_cmpfloat (d, >, 2.2);
  g_assert_cmpfloat (d, <, 4.0);
  d = discovered_duration_s (mkv, &nv, &na);
  g_assert_cmpuint (nv, ==, 1);
  g_assert_cmpuint (na, ==, 1);
  g_assert_cmpfloat (d, >, 2.2);
}

static GstPadProbeReturn
hold_first_buffer (GstPad *pad, GstPadProbeInfo *info, gpointer data)
{
  g_usleep (400 * 1000);
  return GST_PAD_PROBE_REMOVE;
}

/* The mixers time out (100 ms) before the permanent silence and black inputs
 * have data: the audio branch must go on (an audiomixer whose pads are all
 * "inactive" reports EOS and the file gets no audio at all). */
static void
test_late_base_inputs (Fixture *f, gconstpointer data)
{
  g_autofree char *mkv = add_file_output (f, "out_0", "mkv");
  GstElement *pipeline = reel_media_graph_get_pipeline (f->graph);
  const char *bases[] = { "in-base-audio", "in-base-video" };
  for (guint i = 0; i < G_N_ELEMENTS (bases); i++) {
    g_autoptr (GstElement) bin = gst_bin_get_by_name (GST_BIN (pipeline), bases[i]);
    g_assert_nonnull (bin);
    g_autoptr (GstPad) src = gst_element_get_static_pad (bin, "src");
    gst_pad_add_probe (src, GST_PAD_PROBE_TYPE_BUFFER, hold_first_buffer, NULL, NULL);
  }
  start_and_wait (f);
  run_for (f, 600);
  add_participant (f, "p1", 0xff0000, 440);
  run_for (f, 1200);
  stop_and_wait (f);
  g_assert_cmpuint (f->finished_outputs->len, ==, 1);
  guint nv, na;
  double d = discovered_duration_s (mkv, &nv, &na);
  g_assert_cmpuint (nv, ==, 1);
  g_assert_cmpuint (na, ==, 1);
  g_assert_cmpfloat (d, >, 1.2);
}

/* An RTMP output with no server fails alone; the file goes on; an output added
 * mid-recording starts at a keyframe and is finalized on removal. */
static void
test_failing_and_late_outputs (Fixture *f, gconstpointer data)
{
  g_autofree char *mp4 = add_file_output (f, "out_0", "mp4");
  /* A listening socket that accepts nothing RTMP-like: bind, then close it, so
   * the port is (almost certainly) closed and the connect is refused. */
  g_autoptr (GSocket) sock = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_STREAM,
                                           G_SOCKET_PROTOCOL_TCP, NULL);
  g_autoptr (GInetAddress) lo = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr (GSocketAddress) any = g_inet_socket_address_new (lo, 0);
  g_assert_true (g_socket_bind (sock, any, TRUE, NULL));
  g_autoptr (GSocketAddress) bound = g_socket_get_local_address (sock, NULL);
  guint16 port = g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (bound));
  g_socket_close (sock, NULL);
  g_autofree char *url = g_strdup_printf ("rtmp://127.0.0.1:%u/live/key", port);
  g_autoptr (GError) error = NULL;
  GstElement *rtmp = reel_output_bin_new (pipelines_dir (), "output-rtmp", NULL, "out_1", url, &error);
  g_assert_no_error (error);
  g_assert_true (reel_media_graph_add_output (f->graph, "out_1", rtmp, &error));
  add_participant (f, "p1", 0xffff00, 550);
  start_and_wait (f);
  run_for (f, 1500);
  g_assert_cmpuint (f->failed_outputs->len, ==, 1);
  g_assert_cmpstr (g_ptr_array_index (f->failed_outputs, 0), ==, "out_1");
  g_autofree char *late = add_file_output (f, "out_2", "mkv");
  run_for (f, 1200);
  reel_media_graph_remove_output (f->graph, "out_2", TRUE);
  run_for (f, 800);
  g_assert_cmpuint (f->finished_outputs->len, ==, 1);
  g_assert_false (reel_media_graph_has_output (f->graph, "out_2"));
  stop_and_wait (f);
  g_assert_cmpuint (f->finished_outputs->len, ==, 2);
  guint nv, na;
  double d = discovered_duration_s (mp4, &nv, &na);
  g_assert_cmpfloat (d, >, 3.0);
  d = discovered_duration_s (late, &nv, &na);
  g_assert_cmpuint (nv, ==, 1);
  g_assert_cmpfloat (d, >, 0.5);
}

/* Mixer pads of the video tiles whose picture is taller than wide. */
static guint
count_portrait_tiles (Fixture *f)
{
  g_autoptr (GstElement) mixer =
      gst_bin_get_by_name (GST_BIN (reel_media_graph_get_pipeline (f->graph)), "mix-video");
  guint n = 0;
  for (GList *l = GST_ELEMENT (mixer)->sinkpads; l != NULL; l = l->next) {
    gint w = 0, h = 0;
    g_object_get (l->data, "width", &w, "height", &h, NULL);
    n += h > w;
  }
  return n;
}

/* A phone held upright: its tile keeps the portrait shape (pillarboxed), and
 * follows when the same track turns to landscape. */
static void
test_portrait_tile (Fixture *f, gconstpointer data)
{
  g_autofree char *mkv = add_file_output (f, "out_0", "mkv");
  add_participant (f, "p1", 0xff0000, 440);
  start_and_wait (f);
  g_autoptr (GError) error = NULL;
  GstElement *v = gst_parse_bin_from_description (
      "videotestsrc is-live=true pattern=solid-color foreground-color=0xff00ff00 "
      "! video/x-raw,format=I420,width=180,height=320,framerate=30/1 ! capsfilter name=shape",
      TRUE, &error);
  g_assert_no_error (error);
  g_assert_true (reel_media_graph_add_track (f->graph, "p2", "p2-video", REEL_MEDIA_KIND_VIDEO,
                                             v, &error));
  run_for (f, 600);
  g_assert_cmpuint (count_portrait_tiles (f), ==, 1);
  g_autoptr (GstElement) shape = gst_bin_get_by_name (GST_BIN (v), "shape");
  g_autoptr (GstCaps) landscape = gst_caps_from_string (
      "video/x-raw,format=I420,width=320,height=180,framerate=30/1");
  g_object_set (shape, "caps", landscape, NULL);
  run_for (f, 600);
  g_assert_cmpuint (count_portrait_tiles (f), ==, 0);
  stop_and_wait (f);
  g_assert_cmpuint (f->finished_outputs->len, ==, 1);
}

/* Stop while tracks are still starting (their first buffers meet released mixer
 * pads): the recording finishes, it does not fail. */
static void
test_stop_right_after_join (Fixture *f, gconstpointer data)
{
  for (int i = 0; i < 10; i++) {
    if (i > 0) {
      fixture_teardown (f, NULL);
      fixture_setup (f, NULL);
    }
    g_autofree char *mkv = add_file_output (f, "out_0", "mkv");
    start_and_wait (f);
    add_participant (f, "p1", 0xff0000, 440);
    add_participant (f, "p2", 0x00ff00, 660);
    if (i % 2)
      run_for (f, 5 * i);
    stop_and_wait (f);
    g_assert_cmpuint (f->failed_outputs->len, ==, 0);
  }
}

/* Stop before start: finishes at once, no output is left waiting. */
static void
test_stop_unstarted (Fixture *f, gconstpointer data)
{
  g_autofree char *mp4 = add_file_output (f, "out_0", "mp4");
  reel_media_graph_stop (f->graph, 5);
  g_assert_true (f->finished);
}

int
main (int argc, char **argv)
{
  g_setenv ("GIO_USE_PROXY_RESOLVER", "dummy", FALSE);
  gst_init (&argc, &argv);
  g_test_init (&argc, &argv, NULL);
  /* A failing output is logged as a warning, and failing one is this test's point. */
  g_log_set_always_fatal (G_LOG_FATAL_MASK | G_LOG_LEVEL_CRITICAL);
  g_test_add ("/media/join-leave", Fixture, NULL, fixture_setup, test_join_leave, fixture_teardown);
  g_test_add ("/media/failing-and-late-outputs", Fixture, NULL, fixture_setup,
              test_failing_and_late_outputs, fixture_teardown);
  g_test_add ("/media/late-base-inputs", Fixture, NULL, fixture_setup, test_late_base_inputs,
              fixture_teardown);
  g_test_add ("/media/portrait-tile", Fixture, NULL, fixture_setup, test_portrait_tile,
              fixture_teardown);
  g_test_add ("/media/stop-right-after-join", Fixture, NULL, fixture_setup,
              test_stop_right_after_join, fixture_teardown);
  g_test_add ("/media/stop-unstarted", Fixture, NULL, fixture_setup, test_stop_unstarted,
              fixture_teardown);
  return g_test_run ();
}
