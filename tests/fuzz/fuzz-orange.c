/* fuzz-orange.c: libFuzzer target for sfu/reel-orange-api.c, the parsers of Orange
 * Meets room messages (untrusted: any deployment at any room.url, over its WebSocket).
 *
 * The input is taken as a room message and as a room page's loader data.
 * Invariants: parsing never warns or crashes; every user has an id; every track
 * reference splits into a URL-safe session id and a printable track name; the
 * tracks to pull are each pulled once, with a kind and a participant; what reel
 * sends is JSON.
 *
 *   ./fuzz-orange -max_len=16384 tests/fuzz/corpus/orange
 *
 * tests/fuzz/fuzz-replay.c runs the same function over files, for gcc builds.
 */
#include <json-glib/json-glib.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sfu/reel-orange-api.h"

#include "fuzz-common.h"

static void
check_ref (const ReelOrangeTrackRef *ref)
{
  if (ref == NULL)
    return;
  CHECK (ref->session_id[0] != '\0' && ref->track_name[0] != '\0');
  for (const char *p = ref->session_id; *p; p++)
    CHECK (g_ascii_isalnum (*p) || *p == '-' || *p == '_');
  for (const char *p = ref->track_name; *p; p++)
    CHECK ((guchar) *p > 0x20 && (guchar) *p < 0x7f);
}

static void
check_json (const char *text)
{
  g_autoptr (JsonParser) parser = json_parser_new ();
  CHECK (json_parser_load_from_data (parser, text, -1, NULL));
}

/**
 * LLVMFuzzerTestOneInput:
 * Returns: 0
 */
int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  const char *text = (const char *) data;
  g_autoptr (ReelOrangeMessage) m = reel_orange_message_parse (text, size);
  CHECK (m != NULL && m->users != NULL);
  for (guint i = 0; i < m->users->len; i++) {
    ReelOrangeUser *u = g_ptr_array_index (m->users, i);
    CHECK (u->id != NULL && u->id[0] != '\0');
    check_ref (u->audio);
    check_ref (u->video);
    check_ref (u->screenshare);
  }
  g_autoptr (GPtrArray) wanted = reel_orange_wanted_tracks (m, "self");
  g_autoptr (GHashTable) seen = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  for (guint i = 0; i < wanted->len; i++) {
    ReelRemoteTrack *t = g_ptr_array_index (wanted, i);
    CHECK (t->kind != NULL && t->participant != NULL && t->participant_name != NULL);
    CHECK (g_hash_table_add (seen, g_strdup_printf ("%s/%s", t->session_id, t->track_name)));
  }
  CHECK (reel_orange_joined_count (m, "self") <= m->users->len);
  (void) reel_orange_loader_says_e2ee (text, size);
  g_autofree char *nul_free = g_strndup (text, size);
  if (g_utf8_validate (nul_free, -1, NULL)) {
    g_autofree char *update = reel_orange_user_update_message ("self", nul_free, TRUE);
    check_json (update);
  }
  return 0;
}
