/* fuzz-cloudflare.c: libFuzzer target for sfu/reel-cloudflare-api.c, the parsers of
 * Cloudflare Realtime API answers (untrusted: any SFU at any api_url).
 *
 * The input is taken as a response body (tracks/new, sessions/new, errors) and as
 * an SDP offer. Invariants: parsing never warns or crashes; a classification is
 * always one of the verdicts; a session id is safe in a URL path; the mid → kind
 * lookup answers audio, video or nothing; request bodies built from what was
 * parsed are JSON again.
 *
 *   ./fuzz-cloudflare -max_len=16384 tests/fuzz/corpus/cloudflare
 *
 * tests/fuzz/fuzz-replay.c runs the same function over files, for gcc builds.
 */
#include <json-glib/json-glib.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sfu/reel-cloudflare-api.h"

#include "fuzz-common.h"

static void
check_json (const char *text)
{
  g_autoptr (JsonParser) parser = json_parser_new ();
  CHECK (json_parser_load_from_data (parser, text, -1, NULL));
}

static void
check_response (ReelCfResponse *r)
{
  static const guint statuses[] = { 0, 200, 201, 400, 401, 404, 406, 410, 425, 429, 500, 503 };
  for (gsize i = 0; i < G_N_ELEMENTS (statuses); i++) {
    ReelCfVerdict v = reel_cf_classify (statuses[i], r);
    CHECK (v >= REEL_CF_OK && v <= REEL_CF_FAILED);
  }
  g_autoptr (GPtrArray) mids = g_ptr_array_new ();
  for (guint i = 0; i < r->tracks->len; i++) {
    ReelCfTrackResult *t = g_ptr_array_index (r->tracks, i);
    ReelCfVerdict v = reel_cf_classify_track (t->error_code);
    CHECK ((t->error_code == NULL) == (v == REEL_CF_OK));
    if (t->mid != NULL) {
      g_ptr_array_add (mids, t->mid);
      if (r->sdp != NULL) {
        const char *kind = reel_cf_sdp_mid_kind (r->sdp, t->mid);
        CHECK (kind == NULL || g_str_equal (kind, "audio") || g_str_equal (kind, "video"));
      }
    }
  }
  g_autofree char *close = reel_cf_close_body ((const char *const *) mids->pdata, mids->len);
  check_json (close);
  if (r->sdp != NULL) {
    g_autofree char *answer = reel_cf_renegotiate_body (r->sdp);
    check_json (answer);
  }
}

/**
 * LLVMFuzzerTestOneInput:
 * @data: (array length=size): one API answer
 * Returns: 0
 */
int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  const char *body = (const char *) data;
  g_autoptr (ReelCfResponse) r = reel_cf_response_parse (body, size);
  if (r != NULL)
    check_response (r);
  CHECK (reel_cf_classify (0, NULL) == REEL_CF_RETRY);

  g_autofree char *id = reel_cf_parse_session_id (body, size);
  if (id != NULL) {
    CHECK (id[0] != '\0' && strlen (id) <= 256);
    for (const char *p = id; *p != '\0'; p++)
      CHECK (g_ascii_isalnum (*p) || *p == '-' || *p == '_' || *p == '.');
  }

  /* the input as an SDP offer */
  g_autofree char *sdp = g_strndup (body, size);
  const char *mids[] = { "0", "1", "7", "" };
  for (gsize i = 0; i < G_N_ELEMENTS (mids); i++) {
    const char *kind = reel_cf_sdp_mid_kind (sdp, mids[i]);
    CHECK (kind == NULL || g_str_equal (kind, "audio") || g_str_equal (kind, "video"));
  }
  if (g_utf8_validate (sdp, -1, NULL)) {
    const char *names[] = { sdp };
    const char *sessions[] = { "s" };
    g_autofree char *pull = reel_cf_tracks_new_body (sessions, names, 1, "a");
    check_json (pull);
  }
  return 0;
}
