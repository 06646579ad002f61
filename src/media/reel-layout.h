/* reel-layout.h: where each tile goes on the canvas. Pure C, no GStreamer. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct {
  gint x, y;           /* top-left corner on the canvas */
  gint width, height;  /* size of the picture inside its cell */
} ReelRect;

/* Grid layout for @n_tiles tiles on a @canvas_w x @canvas_h canvas.
 *
 * cols = ceil(sqrt(n)), rows = ceil(n / cols); equal cells filling the canvas;
 * each picture keeps the @src_aspect_num:@src_aspect_den aspect ratio and is
 * fitted and centred in its cell; coordinates and sizes are even (I420 chroma).
 * Tiles are placed row-major in the order given. @rects must hold @n_tiles entries.
 * Returns: %FALSE (and leaves @rects alone) when the arguments cannot make a layout. */
gboolean reel_layout_grid (guint n_tiles, gint canvas_w, gint canvas_h,
                           gint src_aspect_num, gint src_aspect_den, ReelRect *rects);

/* The grid's cells (the same grid as reel_layout_grid(), unfitted).
 * Returns: %FALSE when the canvas cannot hold @n_tiles cells. */
gboolean reel_layout_grid_cells (guint n_tiles, gint canvas_w, gint canvas_h, ReelRect *cells);

/* Fits a picture of display aspect @src_aspect_num:@src_aspect_den in @cell,
 * centred, with even sizes and offsets.
 * Returns: %FALSE (and leaves @out alone) when the arguments cannot make a fit. */
gboolean reel_layout_fit (const ReelRect *cell, gint src_aspect_num, gint src_aspect_den,
                          ReelRect *out);

/* Columns and rows of the grid for @n_tiles (both 0 for 0 tiles). */
void reel_layout_grid_shape (guint n_tiles, guint *cols, guint *rows);

G_END_DECLS
