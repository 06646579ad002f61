/* reel-synthetic-room.c: test participants on a timetable. */
#include "sfu/reel-synthetic-room.h"

typedef struct {
  ReelSyntheticRoom *room;    /* (unowned) */
  ReelSyntheticParticipant *p;/* (unowned): owned by the spec */
  char *id;
  guint join_timer;
  guint leave_timer;
  gboolean present;
} Member;

struct _ReelSyntheticRoom {
  GObject parent_instance;
  ReelRoomSpec *spec;
  GPtrArray *members;         /* (element-type Member) */
  gboolean joined;
};

static void reel_synthetic_room_iface_init (ReelRoomInterface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (ReelSyntheticRoom, reel_synthetic_room, G_TYPE_OBJECT,
                               G_IMPLEMENT_INTERFACE (REEL_TYPE_ROOM, reel_synthetic_room_iface_init))

static void
member_free (Member *m)
{
  g_clear_handle_id (&m->join_timer, g_source_remove);
  g_clear_handle_id (&m->leave_timer, g_source_remove);
  g_free (m->id);
  g_free (m);
}

static char *
track_id (const Member *m, ReelTrackKind kind)
{
  return g_strdup_printf ("%s-%s", m->id, reel_track_kind_to_string (kind));
}

static gboolean
member_join (gpointer data)
{
  Member *m = data;
  ReelRoom *room = REEL_ROOM (m->room);
  m->join_timer = 0;
  m->present = TRUE;
  reel_room_emit_participant_joined (room, m->id, m->p->name);
  ReelTrackInfo video = { .kind = REEL_TRACK_VIDEO, .color_rgb = m->p->color_rgb };
  ReelTrackInfo audio = { .kind = REEL_TRACK_AUDIO, .tone_hz = m->p->tone_hz };
  g_autofree char *vid = track_id (m, REEL_TRACK_VIDEO);
  g_autofree char *aid = track_id (m, REEL_TRACK_AUDIO);
  reel_room_emit_track_added (room, m->id, vid, &video);
  reel_room_emit_track_added (room, m->id, aid, &audio);
  return G_SOURCE_REMOVE;
}

static gboolean
member_leave (gpointer data)
{
  Member *m = data;
  ReelRoom *room = REEL_ROOM (m->room);
  m->leave_timer = 0;
  if (!m->present)
    return G_SOURCE_REMOVE;
  m->present = FALSE;
  g_autofree char *vid = track_id (m, REEL_TRACK_VIDEO);
  g_autofree char *aid = track_id (m, REEL_TRACK_AUDIO);
  reel_room_emit_track_removed (room, m->id, vid);
  reel_room_emit_track_removed (room, m->id, aid);
  reel_room_emit_participant_left (room, m->id);
  return G_SOURCE_REMOVE;
}

static guint
seconds_to_ms (double s)
{
  return (guint) (MAX (s, 0.0) * 1000.0 + 0.5);
}

static void
synthetic_join (ReelRoom *room)
{
  ReelSyntheticRoom *self = REEL_SYNTHETIC_ROOM (room);
  if (self->joined)
    return;
  self->joined = TRUE;
  for (guint i = 0; i < self->members->len; i++) {
    Member *m = g_ptr_array_index (self->members, i);
    if (m->p->join_at_s <= 0)
      member_join (m);
    else
      m->join_timer = g_timeout_add (seconds_to_ms (m->p->join_at_s), member_join, m);
    if (m->p->leave_at_s >= 0)
      m->leave_timer = g_timeout_add (seconds_to_ms (m->p->leave_at_s), member_leave, m);
  }
}

static void
synthetic_leave (ReelRoom *room)
{
  ReelSyntheticRoom *self = REEL_SYNTHETIC_ROOM (room);
  for (guint i = 0; i < self->members->len; i++) {
    Member *m = g_ptr_array_index (self->members, i);
    g_clear_handle_id (&m->join_timer, g_source_remove);
    g_clear_handle_id (&m->leave_timer, g_source_remove);
  }
}

static void
reel_synthetic_room_iface_init (ReelRoomInterface *iface)
{
  iface->join = synthetic_join;
  iface->leave = synthetic_leave;
}

/**
 * reel_synthetic_room_new:
 * Returns: (transfer full): the room
 */
ReelSyntheticRoom *
reel_synthetic_room_new (const ReelRoomSpec *spec)
{
  ReelSyntheticRoom *self = g_object_new (REEL_TYPE_SYNTHETIC_ROOM, NULL);
  self->spec = reel_room_spec_copy (spec);
  for (guint i = 0; i < self->spec->participants->len; i++) {
    Member *m = g_new0 (Member, 1);
    m->room = self;
    m->p = g_ptr_array_index (self->spec->participants, i);
    m->id = g_strdup_printf ("p%u", i + 1);
    g_ptr_array_add (self->members, m);
  }
  return self;
}

static void
reel_synthetic_room_finalize (GObject *object)
{
  ReelSyntheticRoom *self = REEL_SYNTHETIC_ROOM (object);
  g_ptr_array_unref (self->members);
  reel_room_spec_free (self->spec);
  G_OBJECT_CLASS (reel_synthetic_room_parent_class)->finalize (object);
}

static void
reel_synthetic_room_init (ReelSyntheticRoom *self)
{
  self->members = g_ptr_array_new_with_free_func ((GDestroyNotify) member_free);
}

static void
reel_synthetic_room_class_init (ReelSyntheticRoomClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = reel_synthetic_room_finalize;
}
