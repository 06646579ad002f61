/* reel-recording-spec.h: a validated recording request (POST /v1/recordings body).
 *
 * Plain data, no GStreamer. Built by api/reel-request.c from untrusted JSON;
 * everything in here has passed validation.
 */
#pragma once

#include <glib.h>

#include "sfu/reel-room-spec.h"

G_BEGIN_DECLS

typedef enum {
  REEL_OUTPUT_FILE,
  REEL_OUTPUT_RTMP,
} ReelOutputType;

typedef enum {
  REEL_FILE_FORMAT_MP4,
  REEL_FILE_FORMAT_MKV,
} ReelFileFormat;

typedef struct {
  ReelOutputType type;
  ReelFileFormat format;  /* REEL_OUTPUT_FILE */
  char *url;              /* REEL_OUTPUT_RTMP: rtmp:// or rtmps:// URL (holds a stream key: never log it) */
} ReelOutputSpec;

typedef enum {
  REEL_LAYOUT_GRID,
} ReelLayoutKind;

typedef struct {
  ReelRoomSpec *room;
  ReelLayoutKind layout;
  guint width;          /* even, pixels */
  guint height;         /* even, pixels */
  guint framerate;      /* frames per second */
  guint bitrate_kbps;   /* video */
  GPtrArray *outputs;   /* (element-type ReelOutputSpec) at least one */
  guint64 max_duration_s;
} ReelRecordingSpec;

const char *reel_output_type_to_string (ReelOutputType type);
const char *reel_file_format_to_string (ReelFileFormat format);
const char *reel_file_format_extension (ReelFileFormat format);
gboolean reel_layout_kind_from_string (const char *name, ReelLayoutKind *kind);
const char *reel_layout_kind_to_string (ReelLayoutKind kind);

ReelOutputSpec *reel_output_spec_new (ReelOutputType type);
ReelOutputSpec *reel_output_spec_copy (const ReelOutputSpec *spec);
void reel_output_spec_free (ReelOutputSpec *spec);

ReelRecordingSpec *reel_recording_spec_new (void);
void reel_recording_spec_free (ReelRecordingSpec *spec);

/* The room's identity for logs (journal field REEL_ROOM): the provider, then the
 * room's address without secrets: "janus:http://host:8088/janus#1234",
 * "cloudflare:<app_id>", "orange:https://meet.example#room", "synthetic". URLs lose
 * their user info, query and fragment; pins, secrets and tokens never appear.
 * Returns: (transfer full) */
char *reel_recording_spec_room_label (const ReelRecordingSpec *spec);

/* Returns: (transfer full): @url with its stream key (the last path segment and any
 * query) replaced by "***", for logs and API answers. */
char *reel_redact_stream_url (const char *url);

/* Bounds and defaults for validating a request, from the config. */
typedef struct {
  guint max_participants;
  guint64 max_duration_s;     /* upper bound for max_duration_s; also the default */
  guint default_width, default_height, default_framerate, default_bitrate_kbps;
} ReelRequestLimits;

/* A validated PATCH /v1/recordings/{id} body: every field optional, at least one present. */
typedef struct {
  gboolean has_layout;
  ReelLayoutKind layout;
  GPtrArray *add_outputs;     /* (element-type ReelOutputSpec) may be empty */
  GPtrArray *remove_outputs;  /* (element-type utf8) output ids, may be empty */
  GPtrArray *tracks;          /* (nullable) (element-type ReelRemoteTrack) cloudflare rooms:
                               * the new track list, replacing the old one; NULL = unchanged */
} ReelRecordingPatch;

ReelRecordingPatch *reel_recording_patch_new (void);
void reel_recording_patch_free (ReelRecordingPatch *patch);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (ReelRecordingPatch, reel_recording_patch_free)

G_DEFINE_AUTOPTR_CLEANUP_FUNC (ReelOutputSpec, reel_output_spec_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (ReelRecordingSpec, reel_recording_spec_free)

G_END_DECLS
