/* fuzz-realtime.c: libFuzzer target for realtime-request.c (the local Realtime SFU's
 * request parser).
 *
 * Parses the input as each kind of request body and checks the invariants: exactly
 * one of result and error; every error an RT_ERROR with a known code and a bounded,
 * printable message; every accepted request consistent (an SDP only with its type,
 * at most RT_MAX_TRACKS items, names valid, items with an error carry a description,
 * local/remote not mixed in tracks/new). A violated invariant, a GLib warning or
 * critical (fatal here), a crash or a leak is a finding.
 *
 *   meson setup build-fuzz -Dfuzz=true (CC=clang): the "fuzz" suite runs it
 *   fuzz-realtime-replay tests/realtime/fuzz-corpus: the seeds as a plain test
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "realtime-request.h"

#include "../fuzz/fuzz-common.h"

static void
check_text (const char *s, gsize max)
{
  CHECK (s != NULL && strlen (s) < max);
  CHECK (g_utf8_validate (s, -1, NULL));
}

static void
check_request (RtRequestKind kind, const RtRequest *req)
{
  CHECK (req->kind == kind);
  CHECK ((req->sdp == NULL) == (req->sdp_type == NULL));
  if (req->sdp != NULL) {
    CHECK (g_str_has_prefix (req->sdp, "v=0") && strlen (req->sdp) <= RT_MAX_SDP);
    CHECK (g_str_equal (req->sdp_type, kind == RT_REQUEST_RENEGOTIATE ? "answer" : "offer"));
  }
  CHECK (kind != RT_REQUEST_RENEGOTIATE || req->sdp != NULL);
  CHECK (kind != RT_REQUEST_TRACKS_CLOSE || req->force || req->sdp != NULL);
  CHECK (req->tracks != NULL && req->tracks->len <= RT_MAX_TRACKS);
  for (guint i = 0; i < req->tracks->len; i++) {
    const RtTrack *t = g_ptr_array_index (req->tracks, i);
    if (t->error_code != NULL) {
      check_text (t->error_code, 64);
      check_text (t->error_description, 1024);
      for (const char *p = t->error_description; *p; p++)
        CHECK ((guchar) *p >= 0x20 && *p != 0x7f);
      continue;
    }
    CHECK (t->error_description == NULL);
    CHECK (t->mid == NULL || rt_name_is_valid (t->mid));
    if (kind == RT_REQUEST_TRACKS_CLOSE) {
      CHECK (t->mid != NULL);
      continue;
    }
    CHECK (t->track_name != NULL && rt_name_is_valid (t->track_name));
    CHECK (t->location == RT_LOCATION_LOCAL || t->location == RT_LOCATION_REMOTE);
    CHECK ((t->location == RT_LOCATION_REMOTE) == (t->session_id != NULL));
    CHECK (t->session_id == NULL || rt_name_is_valid (t->session_id));
    CHECK (t->kind == NULL || g_str_equal (t->kind, "audio") || g_str_equal (t->kind, "video"));
    if (kind == RT_REQUEST_TRACKS_NEW)
      CHECK (t->location == req->location);
    if (kind == RT_REQUEST_TRACKS_UPDATE)
      CHECK (t->mid != NULL);
  }
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  static const RtRequestKind kinds[] = { RT_REQUEST_NEW_SESSION, RT_REQUEST_TRACKS_NEW, RT_REQUEST_RENEGOTIATE,
                                         RT_REQUEST_TRACKS_UPDATE, RT_REQUEST_TRACKS_CLOSE };
  for (guint k = 0; k < G_N_ELEMENTS (kinds); k++) {
    g_autoptr (GError) error = NULL;
    g_autoptr (RtRequest) req = rt_request_parse (kinds[k], (const char *) data, size, &error);
    CHECK ((req == NULL) != (error == NULL));
    if (req != NULL) {
      check_request (kinds[k], req);
      continue;
    }
    CHECK (error->domain == RT_ERROR && error->code >= 0 && error->code < RT_ERROR_N_CODES);
    CHECK (rt_error_http_status (error->code) >= 400);
    check_text (error->message, 1024);
  }
  return 0;
}
