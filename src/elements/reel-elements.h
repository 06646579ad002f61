/* reel's own GStreamer elements, for pipeline templates to name. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

void reel_elements_register (void);

G_END_DECLS
