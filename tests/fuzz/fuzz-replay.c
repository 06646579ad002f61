/* fuzz-replay.c: runs a libFuzzer target over files, without libFuzzer.
 *
 *   fuzz-replay FILE|DIR...
 *
 * Calls LLVMFuzzerInitialize() once, then LLVMFuzzerTestOneInput() on every FILE and
 * on every regular file directly inside every DIR (a corpus), so a seed corpus runs as
 * a plain test under gcc and sanitizers. Exits 1 if an argument cannot be read; a
 * finding aborts, as under libFuzzer.
 */
#include <stdint.h>
#include <stdlib.h>

#include <glib.h>

int LLVMFuzzerInitialize (int *argc, char ***argv);
int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

static gboolean
replay_file (const char *path)
{
  g_autofree char *contents = NULL;
  gsize length = 0;
  g_autoptr (GError) error = NULL;

  if (!g_file_get_contents (path, &contents, &length, &error)) {
    g_printerr ("fuzz-replay: %s\n", error->message);
    return FALSE;
  }
  /* an exact-size copy, so ASan sees any read past the end */
  g_autofree uint8_t *data = g_memdup2 (contents, length);
  LLVMFuzzerTestOneInput (data, length);
  return TRUE;
}

static gint
compare_names (gconstpointer a, gconstpointer b)
{
  return g_strcmp0 (*(char *const *) a, *(char *const *) b);
}

/* Replays the regular files in @path, in name order. */
static gboolean
replay_dir (const char *path, guint *count)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GDir) dir = g_dir_open (path, 0, &error);
  g_autoptr (GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
  gboolean ok = TRUE;

  if (dir == NULL) {
    g_printerr ("fuzz-replay: %s\n", error->message);
    return FALSE;
  }
  for (const char *name; (name = g_dir_read_name (dir)) != NULL;)
    g_ptr_array_add (names, g_build_filename (path, name, NULL));
  g_ptr_array_sort (names, compare_names);
  for (guint i = 0; i < names->len; i++) {
    const char *file = g_ptr_array_index (names, i);
    if (!g_file_test (file, G_FILE_TEST_IS_REGULAR))
      continue;
    ok = replay_file (file) && ok;
    (*count)++;
  }
  return ok;
}

int
main (int argc, char **argv)
{
  guint count = 0;
  gboolean ok = TRUE;

  if (argc < 2) {
    g_printerr ("usage: %s FILE|DIR...\n", argv[0]);
    return 2;
  }
  LLVMFuzzerInitialize (&argc, &argv);
  for (int i = 1; i < argc; i++) {
    if (g_file_test (argv[i], G_FILE_TEST_IS_DIR)) {
      ok = replay_dir (argv[i], &count) && ok;
    } else {
      ok = replay_file (argv[i]) && ok;
      count++;
    }
  }
  g_print ("fuzz-replay: %u inputs%s\n", count, ok ? "" : ", some unreadable");
  return ok ? 0 : 1;
}
