/* fuzz-common.h: what the parser fuzz targets share. Included by each target's
 * one source file (it defines LLVMFuzzerInitialize).
 *
 * CHECK() aborts on a broken invariant, so libFuzzer saves the input; every GLib
 * warning is fatal (a parser must reject bad input quietly); GSlice is off so
 * the sanitizers see every allocation. */
#pragma once

#include <glib.h>
#include <stdint.h>
#include <stdlib.h>

int LLVMFuzzerInitialize (int *argc, char ***argv);
int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

#define CHECK(cond)                                                                     \
  do {                                                                                  \
    if (!(cond)) {                                                                      \
      g_printerr ("%s:%d: invariant failed: %s\n", __FILE__, __LINE__, #cond);         \
      abort ();                                                                         \
    }                                                                                   \
  } while (0)

/**
 * LLVMFuzzerInitialize:
 * Returns: 0
 */
int
LLVMFuzzerInitialize (int *argc, char ***argv)
{
  g_setenv ("G_SLICE", "always-malloc", TRUE);
  g_log_set_always_fatal (G_LOG_LEVEL_WARNING | G_LOG_LEVEL_CRITICAL);
  return 0;
}
