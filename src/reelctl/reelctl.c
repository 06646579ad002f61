/* reelctl: a small client for reeld's REST API, for people (tables) and scripts
 * (--json, exit codes). */
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>

#include "reel-build-config.h"
#include "reelctl/reelctl-body.h"
#include "reelctl/reelctl-client.h"
#include "reelctl/reelctl-format.h"

#define SUMMARY \
  "Commands:\n" \
  "  record [RECORDING OPTIONS]     start a recording; prints it\n" \
  "  list                           every recording, newest first\n" \
  "  show ID                        one recording: participants, outputs, bytes\n" \
  "  stop ID                        stop a recording (finalizes its files)\n" \
  "  schedule --start-at T --duration S [--rrule R] [--timezone TZ] [RECORDING OPTIONS]\n" \
  "  schedules                      every schedule\n" \
  "  unschedule ID                  delete a schedule (a recording it started goes on)\n" \
  "\n" \
  "Recording options: --participant NAME:#RRGGBB:TONE_HZ[:JOIN_S[:LEAVE_S]] (repeat; a\n" \
  "synthetic room) or --room JSON|@FILE, --layout, --output mp4|mkv|rtmp://… (repeat;\n" \
  "default mp4), --max-duration S; or --body JSON|@FILE|- for the whole recording.\n" \
  "\n" \
  "Where: --url, else $REEL_URL, else [api] listen of --config / $REEL_CONFIG / the\n" \
  "installed reel.conf. Token: --token, else $REEL_API_TOKEN, else [api] token there.\n" \
  "\n" \
  "Exit codes: 0 ok, 1 other error, 2 usage, 3 reeld unreachable, 4 unauthorized (401),\n" \
  "5 not found (404), 6 wrong state (409), 7 request refused (400/413/415/422),\n" \
  "8 at capacity (503)."

typedef struct {
  char *url, *token, *config;
  gboolean json, version;
  ReelctlBodyOptions body;
} Options;

typedef struct {
  ReelctlClient *client;
  const Options *opts;
  char **args; /* after the command name */
} Call;

typedef ReelctlExit (*CommandFunc) (Call *call);

static ReelctlExit
fail (ReelctlExit code, const GError *error)
{
  fprintf (stderr, "reelctl: %s\n", error->message);
  return code;
}

/* Sends the request; prints the answer as JSON or with @print. */
static ReelctlExit
run (Call *call, const char *method, const char *path, const char *body, void (*print) (JsonNode *))
{
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonNode) answer = NULL;
  ReelctlExit code = reelctl_client_request (call->client, method, path, body, &answer, &error);
  if (code != REELCTL_EXIT_OK)
    return fail (code, error);
  if (answer != NULL && call->opts->json)
    reelctl_print_json (answer);
  else if (answer != NULL && print != NULL)
    print (answer);
  return REELCTL_EXIT_OK;
}

static char *
escaped_path (const char *prefix, const char *id, const char *suffix)
{
  g_autofree char *escaped = g_uri_escape_string (id, NULL, FALSE);
  return g_strconcat (prefix, escaped, suffix, NULL);
}

static ReelctlExit
cmd_record (Call *call)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *body = reelctl_recording_body (&call->opts->body, &error);
  if (body == NULL)
    return fail (REELCTL_EXIT_USAGE, error);
  return run (call, "POST", "/v1/recordings", body, reelctl_print_recording);
}

static ReelctlExit
cmd_list (Call *call)
{
  return run (call, "GET", "/v1/recordings", NULL, reelctl_print_recordings);
}

static ReelctlExit
cmd_show (Call *call)
{
  g_autofree char *path = escaped_path ("/v1/recordings/", call->args[0], "");
  return run (call, "GET", path, NULL, reelctl_print_recording);
}

static ReelctlExit
cmd_stop (Call *call)
{
  g_autofree char *path = escaped_path ("/v1/recordings/", call->args[0], "/stop");
  return run (call, "POST", path, NULL, reelctl_print_recording);
}

static ReelctlExit
cmd_schedule (Call *call)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *body = reelctl_schedule_body (&call->opts->body, &error);
  if (body == NULL)
    return fail (REELCTL_EXIT_USAGE, error);
  return run (call, "POST", "/v1/schedules", body, reelctl_print_schedule);
}

static ReelctlExit
cmd_schedules (Call *call)
{
  return run (call, "GET", "/v1/schedules", NULL, reelctl_print_schedules);
}

static ReelctlExit
cmd_unschedule (Call *call)
{
  g_autofree char *path = escaped_path ("/v1/schedules/", call->args[0], "");
  ReelctlExit code = run (call, "DELETE", path, NULL, NULL);
  if (code == REELCTL_EXIT_OK && !call->opts->json)
    printf ("deleted %s\n", call->args[0]);
  return code;
}

static const struct {
  const char *name;
  guint n_args;
  CommandFunc func;
} commands[] = {
  { "record", 0, cmd_record },     { "list", 0, cmd_list },
  { "show", 1, cmd_show },         { "stop", 1, cmd_stop },
  { "schedule", 0, cmd_schedule }, { "schedules", 0, cmd_schedules },
  { "unschedule", 1, cmd_unschedule },
};

static gboolean
parse_options (Options *o, int *argc, char ***argv, GError **error)
{
  ReelctlBodyOptions *b = &o->body;
  GOptionEntry entries[] = {
    { "url", 'u', 0, G_OPTION_ARG_STRING, &o->url, "reeld's base URL", "URL" },
    { "token", 't', 0, G_OPTION_ARG_STRING, &o->token, "API token (prefer $REEL_API_TOKEN)", "TOKEN" },
    { "config", 'c', 0, G_OPTION_ARG_FILENAME, &o->config, "reel.conf to read URL and token from", "FILE" },
    { "json", 'j', 0, G_OPTION_ARG_NONE, &o->json, "Print the API's JSON", NULL },
    { "version", 0, 0, G_OPTION_ARG_NONE, &o->version, "Print the version", NULL },
    { "body", 0, 0, G_OPTION_ARG_STRING, &b->body, "Whole recording body", "JSON|@FILE|-" },
    { "room", 0, 0, G_OPTION_ARG_STRING, &b->room, "Room object", "JSON|@FILE" },
    { "participant", 'p', 0, G_OPTION_ARG_STRING_ARRAY, &b->participants, "Synthetic participant",
      "NAME:#RRGGBB:TONE[:JOIN[:LEAVE]]" },
    { "layout", 0, 0, G_OPTION_ARG_STRING, &b->layout, "Layout (grid)", "NAME" },
    { "output", 'o', 0, G_OPTION_ARG_STRING_ARRAY, &b->outputs, "Output", "mp4|mkv|rtmp://…" },
    { "max-duration", 0, 0, G_OPTION_ARG_INT64, &b->max_duration, "Stop after S seconds", "S" },
    { "start-at", 0, 0, G_OPTION_ARG_STRING, &b->start_at, "Schedule start (RFC 3339)", "TIME" },
    { "duration", 0, 0, G_OPTION_ARG_INT64, &b->duration, "Schedule length", "S" },
    { "rrule", 0, 0, G_OPTION_ARG_STRING, &b->rrule, "Repetition (RFC 5545 RRULE)", "RULE" },
    { "timezone", 0, 0, G_OPTION_ARG_STRING, &b->timezone, "Time zone of the rrule", "TZ" },
    { NULL },
  };
  g_autoptr (GOptionContext) ctx = g_option_context_new ("COMMAND [ID] - control reeld");
  g_option_context_set_description (ctx, SUMMARY);
  g_option_context_add_main_entries (ctx, entries, NULL);
  return g_option_context_parse (ctx, argc, argv, error);
}

static ReelctlExit
dispatch (const Options *opts, int argc, char **argv)
{
  for (gsize i = 0; i < G_N_ELEMENTS (commands); i++) {
    if (!g_str_equal (argv[1], commands[i].name))
      continue;
    if ((guint) argc - 2 != commands[i].n_args) {
      fprintf (stderr, "reelctl: %s takes %u argument(s)\n", commands[i].name, commands[i].n_args);
      return REELCTL_EXIT_USAGE;
    }
    g_autoptr (GError) error = NULL;
    g_autoptr (ReelctlClient) client = reelctl_client_new (opts->url, opts->token, opts->config, &error);
    if (client == NULL)
      return fail (REELCTL_EXIT_USAGE, error);
    Call call = { .client = client, .opts = opts, .args = argv + 2 };
    return commands[i].func (&call);
  }
  fprintf (stderr, "reelctl: unknown command %s (see reelctl --help)\n", argv[1]);
  return REELCTL_EXIT_USAGE;
}

static void
options_clear (Options *o)
{
  g_free (o->url);
  g_free (o->token);
  g_free (o->config);
  g_free (o->body.body);
  g_free (o->body.room);
  g_strfreev (o->body.participants);
  g_free (o->body.layout);
  g_strfreev (o->body.outputs);
  g_free (o->body.start_at);
  g_free (o->body.rrule);
  g_free (o->body.timezone);
}

int
main (int argc, char **argv)
{
  Options opts = { 0 };
  g_autoptr (GError) error = NULL;
  if (!parse_options (&opts, &argc, &argv, &error)) {
    options_clear (&opts);
    return fail (REELCTL_EXIT_USAGE, error);
  }
  if (opts.version) {
    printf ("reelctl %s\n", REEL_VERSION);
    options_clear (&opts);
    return REELCTL_EXIT_OK;
  }
  if (argc < 2) {
    fprintf (stderr, "reelctl: no command (see reelctl --help)\n");
    options_clear (&opts);
    return REELCTL_EXIT_USAGE;
  }
  curl_global_init (CURL_GLOBAL_DEFAULT);
  ReelctlExit code = dispatch (&opts, argc, argv);
  curl_global_cleanup ();
  options_clear (&opts);
  return (int) code;
}
