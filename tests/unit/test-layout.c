/* Unit tests: grid layout maths. */
#include "media/reel-layout.h"

static void
test_shape (void)
{
  static const struct { guint n, cols, rows; } cases[] = {
    { 0, 0, 0 }, { 1, 1, 1 }, { 2, 2, 1 }, { 3, 2, 2 }, { 4, 2, 2 }, { 5, 3, 2 },
    { 6, 3, 2 }, { 7, 3, 3 }, { 9, 3, 3 }, { 10, 4, 3 }, { 16, 4, 4 }, { 17, 5, 4 }, { 25, 5, 5 },
  };
  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++) {
    guint cols, rows;
    reel_layout_grid_shape (cases[i].n, &cols, &rows);
    g_assert_cmpuint (cols, ==, cases[i].cols);
    g_assert_cmpuint (rows, ==, cases[i].rows);
  }
}

static void
test_single_fills_canvas (void)
{
  ReelRect r;
  g_assert_true (reel_layout_grid (1, 1280, 720, 16, 9, &r));
  g_assert_cmpint (r.x, ==, 0);
  g_assert_cmpint (r.y, ==, 0);
  g_assert_cmpint (r.width, ==, 1280);
  g_assert_cmpint (r.height, ==, 720);
}

static void
test_two_side_by_side (void)
{
  ReelRect r[2];
  g_assert_true (reel_layout_grid (2, 1280, 720, 16, 9, r));
  /* 640x720 cells: a 640x360 picture centred vertically. */
  g_assert_cmpint (r[0].x, ==, 0);
  g_assert_cmpint (r[0].y, ==, 180);
  g_assert_cmpint (r[0].width, ==, 640);
  g_assert_cmpint (r[0].height, ==, 360);
  g_assert_cmpint (r[1].x, ==, 640);
  g_assert_cmpint (r[1].y, ==, 180);
}

static void
test_four_quadrants (void)
{
  ReelRect r[4];
  g_assert_true (reel_layout_grid (4, 1280, 720, 16, 9, r));
  const gint xs[] = { 0, 640, 0, 640 }, ys[] = { 0, 0, 360, 360 };
  for (int i = 0; i < 4; i++) {
    g_assert_cmpint (r[i].x, ==, xs[i]);
    g_assert_cmpint (r[i].y, ==, ys[i]);
    g_assert_cmpint (r[i].width, ==, 640);
    g_assert_cmpint (r[i].height, ==, 360);
  }
}

/* Every tile of every grid: inside the canvas, even, no overlap, aspect kept. */
static void
test_invariants (void)
{
  const gint sizes[][2] = { { 1280, 720 }, { 1920, 1080 }, { 640, 480 }, { 720, 1280 }, { 854, 480 } };
  for (gsize s = 0; s < G_N_ELEMENTS (sizes); s++) {
    for (guint n = 1; n <= 25; n++) {
      g_autofree ReelRect *r = g_new0 (ReelRect, n);
      gint w = sizes[s][0], h = sizes[s][1];
      g_assert_true (reel_layout_grid (n, w, h, 16, 9, r));
      for (guint i = 0; i < n; i++) {
        g_assert_cmpint (r[i].x % 2, ==, 0);
        g_assert_cmpint (r[i].y % 2, ==, 0);
        g_assert_cmpint (r[i].width % 2, ==, 0);
        g_assert_cmpint (r[i].height % 2, ==, 0);
        g_assert_cmpint (r[i].x, >=, 0);
        g_assert_cmpint (r[i].y, >=, 0);
        g_assert_cmpint (r[i].x + r[i].width, <=, w);
        g_assert_cmpint (r[i].y + r[i].height, <=, h);
        double aspect = (double) r[i].width / r[i].height;
        g_assert_cmpfloat (ABS (aspect - 16.0 / 9.0), <, 0.1);
        for (guint j = 0; j < i; j++) {
          gboolean apart = r[i].x >= r[j].x + r[j].width || r[j].x >= r[i].x + r[i].width ||
                           r[i].y >= r[j].y + r[j].height || r[j].y >= r[i].y + r[i].height;
          g_assert_true (apart);
        }
      }
    }
  }
}

static void
test_row_major_order (void)
{
  ReelRect r[5];
  g_assert_true (reel_layout_grid (5, 1920, 1080, 16, 9, r));
  /* 3 columns, 2 rows: tile 3 starts the second row. */
  g_assert_cmpint (r[0].y, ==, r[1].y);
  g_assert_cmpint (r[1].y, ==, r[2].y);
  g_assert_cmpint (r[3].y, >, r[2].y);
  g_assert_cmpint (r[3].x, <, r[1].x);
}

static void
test_rejects_bad_arguments (void)
{
  ReelRect r[4] = { { 7, 7, 7, 7 } };
  g_assert_false (reel_layout_grid (1, 0, 720, 16, 9, r));
  g_assert_false (reel_layout_grid (1, 1280, 720, 0, 9, r));
  g_assert_false (reel_layout_grid (1, 1280, 720, 16, -1, r));
  g_assert_false (reel_layout_grid (4, 2, 2, 16, 9, r)); /* cells smaller than 2 px */
  g_assert_cmpint (r[0].x, ==, 7);
  g_assert_true (reel_layout_grid (0, 1280, 720, 16, 9, NULL));
}

/* Each picture keeps its own shape inside its cell. */
static void
test_fit (void)
{
  ReelRect cell = { 640, 360, 640, 360 }, r;
  g_assert_true (reel_layout_fit (&cell, 9, 16, &r)); /* a phone held upright */
  g_assert_cmpint (r.height, ==, 360);
  g_assert_cmpint (r.width, ==, 202);
  g_assert_cmpint (r.x, ==, 640 + 218);
  g_assert_cmpint (r.y, ==, 360);
  g_assert_true (reel_layout_fit (&cell, 4, 3, &r));
  g_assert_cmpint (r.width, ==, 480);
  g_assert_cmpint (r.height, ==, 360);
  g_assert_cmpint (r.x, ==, 640 + 80);
  g_assert_true (reel_layout_fit (&cell, 16, 9, &r));
  g_assert_cmpint (r.width, ==, 640);
  g_assert_cmpint (r.x, ==, 640);
  g_assert_true (reel_layout_fit (&cell, 64, 9, &r)); /* very wide: letterboxed */
  g_assert_cmpint (r.width, ==, 640);
  g_assert_cmpint (r.height, ==, 90);
  g_assert_cmpint (r.y, ==, 360 + 134);
  ReelRect tiny = { 0, 0, 1, 100 };
  g_assert_false (reel_layout_fit (&tiny, 16, 9, &r));
  g_assert_false (reel_layout_fit (&cell, 0, 9, &r));

  ReelRect cells[3];
  g_assert_true (reel_layout_grid_cells (3, 1280, 720, cells));
  g_assert_cmpint (cells[2].x, ==, 0);
  g_assert_cmpint (cells[2].y, ==, 360);
  g_assert_cmpint (cells[2].width, ==, 640);
  g_assert_cmpint (cells[2].height, ==, 360);
  g_assert_false (reel_layout_grid_cells (9, 4, 4, cells));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/layout/shape", test_shape);
  g_test_add_func ("/layout/single", test_single_fills_canvas);
  g_test_add_func ("/layout/two", test_two_side_by_side);
  g_test_add_func ("/layout/four", test_four_quadrants);
  g_test_add_func ("/layout/invariants", test_invariants);
  g_test_add_func ("/layout/order", test_row_major_order);
  g_test_add_func ("/layout/bad-arguments", test_rejects_bad_arguments);
  g_test_add_func ("/layout/fit", test_fit);
  return g_test_run ();
}
