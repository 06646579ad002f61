#include "elements/reel-elements.h"

#include "elements/reel-opus-dec.h"

/**
 * reel_elements_register:
 *
 * Registers reel's elements with GStreamer (once; any thread, after gst_init()).
 */
void
reel_elements_register (void)
{
  static gsize done = 0;
  if (g_once_init_enter (&done)) {
    gst_element_register (NULL, "reelopusdec", GST_RANK_NONE, REEL_TYPE_OPUS_DEC);
    g_once_init_leave (&done, 1);
  }
}
