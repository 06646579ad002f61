/* reel-pipeline-template.h: GStreamer graph fragments read from pipelines/.
 *
 * A template is gst-launch syntax in `<dir>/<name>.pipeline`. Lines starting with
 * '#' are comments. `{key}` placeholders are replaced by values reel computes
 * (numbers and fixed words only: never request text), so a user can swap an
 * encoder or muxer by editing a file, without recompiling.
 */
#pragma once

#include <gst/gst.h>

G_BEGIN_DECLS

/* Returns: %TRUE if @name is a safe template name: [a-z0-9][a-z0-9_-]*, at most 64 chars. */
gboolean reel_pipeline_template_name_is_valid (const char *name);

/* Reads the template and substitutes @vars ((element-type utf8 utf8)). An unknown
 * placeholder is an error naming it.
 * Returns: (transfer full): the gst-launch description */
char *reel_pipeline_template_expand (const char *dir, const char *name, GHashTable *vars,
                                     GError **error);

/* Expands the template and parses it into a bin whose unlinked pads are ghosted
 * ("sink"/"src" for a filter chain).
 * Returns: (transfer floating): the bin */
GstElement *reel_pipeline_template_make_bin (const char *dir, const char *name, GHashTable *vars,
                                             const char *bin_name, GError **error);

G_END_DECLS
