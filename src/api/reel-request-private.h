/* reel-request-private.h: what the request parser's files share (not for other
 * modules). Every failure is a REEL_ERROR whose message starts with a field's path.
 */
#pragma once

#include "api/reel-request.h"
#include "base/reel-error.h"

G_BEGIN_DECLS

/* ---------- messages and paths (reel-request-fields.c) ---------- */

/* Returns: (transfer full): at most ECHO_MAX bytes of @text, sanitized for a message */
char *reel_request_echo (const char *text);

/* Returns: (transfer full): the path of member @name of the object at @parent ("" for
 * the body) */
char *reel_request_path_member (const char *parent, const char *name);

/* Returns: (transfer full): "@parent[@i]" */
char *reel_request_path_index (const char *parent, guint i);

/* Sets "PATH: DETAIL" in @error. Returns: %FALSE */
gboolean reel_request_fail (GError **error, gint code, const char *path, const char *format, ...)
  G_GNUC_PRINTF (4, 5);

#define reel_request_invalid(error, path, ...) \
  reel_request_fail ((error), REEL_ERROR_INVALID_FIELD, (path), __VA_ARGS__)

/* Sets "PATH: expected @what, got <what @node is>". Returns: %FALSE */
gboolean reel_request_expected (GError **error, const char *path, const char *what,
                                JsonNode *node);

/* ---------- typed access (reel-request-fields.c) ---------- */

gboolean reel_request_is_value_of (JsonNode *node, GType type);

/* Returns: (transfer none) (nullable): the object @node holds */
JsonObject *reel_request_want_object (JsonNode *node, const char *path, GError **error);

/* Returns: (transfer none) (nullable): the array @node holds */
JsonArray *reel_request_want_array (JsonNode *node, const char *path, GError **error);

/* @value: (out) (transfer none) */
gboolean reel_request_want_string (JsonNode *node, const char *path, const char **value,
                                   GError **error);
gboolean reel_request_want_int (JsonNode *node, const char *path, gint64 *value, GError **error);
gboolean reel_request_want_number (JsonNode *node, const char *path, double *value,
                                   GError **error);

/* Returns: (transfer none) (nullable): member @name of @obj, or %NULL with an error
 * naming @path if it is missing */
JsonNode *reel_request_need (JsonObject *obj, const char *name, const char *path, GError **error);

/* Fails on the first member of @obj (in document order) not in @known. */
gboolean reel_request_check_members (JsonObject *obj, const char *parent,
                                     const char *const *known, gboolean in_output,
                                     GError **error);

typedef struct {
  const char *name;
  gint64 min, max;
  gboolean even;
} ReelRequestIntRule;

/* Reads optional integer member @rule->name of @obj into @value (left as is if absent). */
gboolean reel_request_optional_int (JsonObject *obj, const char *parent,
                                    const ReelRequestIntRule *rule, gint64 *value,
                                    GError **error);

/* ---------- URLs (reel-request-fields.c) ---------- */

/* An rtmp:// or rtmps:// URL; messages never echo it (it holds a stream key). */
gboolean reel_request_check_rtmp_url (const char *url, const char *path, GError **error);

/* An SFU's HTTP API base: http:// or https://, a host, no user info, no query. */
gboolean reel_request_check_http_url (const char *url, const char *path, GError **error);

/* ---------- the schema ---------- */

/* The "room" member of @body (reel-request-room.c).
 * Returns: (transfer full) (nullable): the room */
ReelRoomSpec *reel_request_parse_room (JsonObject *body, const ReelRequestLimits *limits,
                                       GError **error);

/* An array of @min to 256 cloudflare tracks, at most @max_participants distinct
 * participants, appended to @tracks (reel-request-room.c). */
gboolean reel_request_parse_remote_tracks (JsonNode *node, const char *path, guint min,
                                           guint max_participants, GPtrArray *tracks,
                                           GError **error);

/* An array of @min to 8 output objects, appended to @outputs (reel-request-outputs.c). */
gboolean reel_request_parse_output_list (JsonNode *node, const char *path, guint min,
                                         GPtrArray *outputs, GError **error);

/* The "outputs" member of a PATCH body: {add?, remove?} (reel-request-outputs.c). */
gboolean reel_request_parse_patch_outputs (JsonNode *node, ReelRecordingPatch *patch,
                                           GError **error);

G_END_DECLS
