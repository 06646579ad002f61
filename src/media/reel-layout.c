/* reel-layout.c: layout maths. */
#include "media/reel-layout.h"

/**
 * reel_layout_grid_shape:
 * @cols: (out): columns
 * @rows: (out): rows
 */
void
reel_layout_grid_shape (guint n_tiles, guint *cols, guint *rows)
{
  guint c = 0;
  while (c * c < n_tiles)
    c++;
  *cols = c;
  *rows = c == 0 ? 0 : (n_tiles + c - 1) / c;
}

static gint
round_down_even (gint64 v)
{
  return (gint) (v - (v & 1));
}

/* Fits a src_num:src_den picture in a cell, centred, even sizes and offsets. */
static void
fit_in_cell (gint cell_x, gint cell_y, gint cell_w, gint cell_h,
             gint src_num, gint src_den, ReelRect *out)
{
  /* Compare aspect ratios in 64-bit to avoid rounding: cell_w/cell_h vs num/den. */
  gint64 w, h;
  if ((gint64) cell_w * src_den > (gint64) cell_h * src_num) {
    h = cell_h;
    w = (gint64) cell_h * src_num / src_den;
  } else {
    w = cell_w;
    h = (gint64) cell_w * src_den / src_num;
  }
  out->width = MAX (round_down_even (w), 2);
  out->height = MAX (round_down_even (h), 2);
  out->x = cell_x + round_down_even ((cell_w - out->width) / 2);
  out->y = cell_y + round_down_even ((cell_h - out->height) / 2);
}

/**
 * reel_layout_fit:
 * @out: (out caller-allocates): the picture's place in @cell
 * Returns: %TRUE on success
 */
gboolean
reel_layout_fit (const ReelRect *cell, gint src_aspect_num, gint src_aspect_den, ReelRect *out)
{
  if (cell->width < 2 || cell->height < 2 || src_aspect_num <= 0 || src_aspect_den <= 0)
    return FALSE;
  fit_in_cell (cell->x, cell->y, cell->width, cell->height, src_aspect_num, src_aspect_den, out);
  return TRUE;
}

/**
 * reel_layout_grid_cells:
 * @cells: (out caller-allocates) (array length=n_tiles): the cells
 * Returns: %TRUE on success
 */
gboolean
reel_layout_grid_cells (guint n_tiles, gint canvas_w, gint canvas_h, ReelRect *cells)
{
  if (canvas_w < 2 || canvas_h < 2)
    return FALSE;
  if (n_tiles == 0)
    return TRUE;
  guint cols, rows;
  reel_layout_grid_shape (n_tiles, &cols, &rows);
  if ((guint) canvas_w < 2 * cols || (guint) canvas_h < 2 * rows)
    return FALSE;

  for (guint i = 0; i < n_tiles; i++) {
    guint col = i % cols, row = i / cols;
    /* Cell edges from exact fractions so cells tile the canvas with no gap. */
    gint x0 = round_down_even ((gint64) canvas_w * col / cols);
    gint x1 = col + 1 == cols ? canvas_w : round_down_even ((gint64) canvas_w * (col + 1) / cols);
    gint y0 = round_down_even ((gint64) canvas_h * row / rows);
    gint y1 = row + 1 == rows ? canvas_h : round_down_even ((gint64) canvas_h * (row + 1) / rows);
    cells[i] = (ReelRect) { x0, y0, x1 - x0, y1 - y0 };
  }
  return TRUE;
}

/**
 * reel_layout_grid:
 * @rects: (out caller-allocates) (array length=n_tiles): the tiles
 * Returns: %TRUE on success
 */
gboolean
reel_layout_grid (guint n_tiles, gint canvas_w, gint canvas_h,
                  gint src_aspect_num, gint src_aspect_den, ReelRect *rects)
{
  if (src_aspect_num <= 0 || src_aspect_den <= 0)
    return FALSE;
  g_autofree ReelRect *cells = g_new0 (ReelRect, MAX (n_tiles, 1));
  if (!reel_layout_grid_cells (n_tiles, canvas_w, canvas_h, cells))
    return FALSE;
  for (guint i = 0; i < n_tiles; i++)
    reel_layout_fit (&cells[i], src_aspect_num, src_aspect_den, &rects[i]);
  return TRUE;
}
