/*
 * hbctl: the owner's window into hbmon-server (SPEC §5, §6).
 *
 *   hbctl [--admin URL] [--json] [--tz +07:00] VERB [ARGS] [FLAGS]
 *
 * Verbs come from the table below; each lives in cmd_<verb>.c.
 */
#include <stdlib.h>
#include <string.h>

#include "hbctl.h"

static int cmd_help(struct hbctl *h, int argc, char **argv);

static const char cmd_help_usage[] =
    "usage: hbctl help [VERB]\n"
    "\n"
    "Lists the verbs, or shows the help of one (same as hbctl VERB --help).\n";

static const struct hbctl_verb verbs[] = {
	{ "status", cmd_status_usage, cmd_status },
	{ "accounts", cmd_accounts_usage, cmd_accounts },
	{ "show", cmd_show_usage, cmd_show },
	{ "history", cmd_history_usage, cmd_history },
	{ "alerts", cmd_alerts_usage, cmd_alerts },
	{ "pause", cmd_pause_usage, cmd_pause },
	{ "resume", cmd_resume_usage, cmd_resume },
	{ "ack", cmd_ack_usage, cmd_ack },
	{ "robot", cmd_robot_usage, cmd_robot },
	{ "send", cmd_send_usage, cmd_send },
	{ "check", cmd_check_usage, cmd_check },
	{ "version", cmd_version_usage, cmd_version },
	{ "help", cmd_help_usage, cmd_help },
};

#define N_VERBS (sizeof(verbs) / sizeof(verbs[0]))

static const char main_usage[] =
    "usage: hbctl [GLOBAL FLAGS] VERB [ARGS] [FLAGS]\n"
    "\n"
    "The owner's command line for hbmon-server: what the robots report, the\n"
    "alerts, maintenance pauses and the robot registry. Monitoring only:\n"
    "nothing here starts, stops or steers trading.\n"
    "\n"
    "Verbs:\n"
    "  status                  every robot: liveness, health, accounts\n"
    "  accounts [ROBOT]        accounts, of one robot or of all\n"
    "  show SUBJECT            one robot or ROBOT/ACCOUNT, with recent\n"
    "                          heartbeats and state changes\n"
    "  history SUBJECT         heartbeats and state changes in a time range\n"
    "  alerts                  alerts from the outbox; --follow for new ones\n"
    "  pause SUBJECT --for D   silence a subject for maintenance\n"
    "  resume SUBJECT          end a pause now\n"
    "  ack ALERT_SEQ           acknowledge an alert: no more repeats\n"
    "  robot add|list|rotate|remove|set [ID]\n"
    "                          the robot registry and robots' secrets\n"
    "  send FILE.json          send heartbeats (the documented JSON) as a\n"
    "                          robot would\n"
    "  check [SUBJECT]         Nagios plugin: exit 0 OK, 1 WARNING,\n"
    "                          2 CRITICAL, 3 UNKNOWN\n"
    "  version                 hbctl's version and the server's\n"
    "  help [VERB]             this text, or a verb's\n"
    "\n"
    "A SUBJECT is ROBOT or ROBOT/ACCOUNT, e.g. R1/ACC_003.\n"
    "Exit codes: 0 done, 1 refused by the server, 2 bad command line,\n"
    "3 server not reachable, 4 no such subject, robot or alert.\n"
    "\n";

static const struct hbctl_verb *
find_verb(const char *name)
{
	for (size_t i = 0; i < N_VERBS; i++) {
		if (strcmp(verbs[i].name, name) == 0) {
			return &verbs[i];
		}
	}
	return NULL;
}

static void
print_main_usage(FILE *f)
{
	fputs(main_usage, f);
	fputs(hbctl_global_help, f);
}

static int
cmd_help(struct hbctl *h, int argc, char **argv)
{
	const struct hbctl_verb *v;
	int first, rv;

	if ((rv = hbctl_parse(h, argc, argv, NULL, NULL, NULL, &first)) !=
	    HBCTL_CONTINUE) {
		return rv;
	}
	if (first >= argc) {
		print_main_usage(stdout);
		return HBCTL_EXIT_OK;
	}
	if ((v = find_verb(argv[first])) == NULL) {
		return hbctl_usage_error(
		    h, "no verb '%s'; hbctl help lists them", argv[first]);
	}
	fputs(v->usage, stdout);
	fputc('\n', stdout);
	fputs(hbctl_global_help, stdout);
	return HBCTL_EXIT_OK;
}

int
main(int argc, char **argv)
{
	struct hbctl h = { 0 };
	const struct hbctl_verb *v;
	const char *env;
	int ch, rv = HBCTL_CONTINUE;

	env = getenv("HBMON_ADMIN");
	h.admin_url = env != NULL && env[0] != '\0' ? env : NULL;
	env = getenv("HBMON_SERVER");
	h.server_url =
	    env != NULL && env[0] != '\0' ? env : HBCTL_DEFAULT_SERVER;
	env = getenv("HBMON_ROBOT");
	h.robot = env != NULL && env[0] != '\0' ? env : NULL;
	env = getenv("HBMON_TLS_CA_FILE");
	h.tls.ca_file = env != NULL && env[0] != '\0' ? env : NULL;
	env = getenv("HBMON_TLS_CERT_FILE");
	h.tls.cert_file = env != NULL && env[0] != '\0' ? env : NULL;
	env = getenv("HBMON_TLS_KEY_FILE");
	h.tls.key_file = env != NULL && env[0] != '\0' ? env : NULL;
	h.tz_min = TZ_ZONE; /* the machine's zone, instant by instant */
	h.timeout_ms = 5000;

	/* Global flags up to the verb ("+": stop at the first argument). */
	opterr = 0;
	while (rv == HBCTL_CONTINUE &&
	       (ch = getopt_long(argc, argv, "+:h", hbctl_global_options,
	                         NULL)) != -1) {
		switch (ch) {
		case 'h':
			print_main_usage(stdout);
			return HBCTL_EXIT_OK;
		case ':':
			rv = hbctl_usage_error(&h, "%s needs a value",
			                       argv[optind - 1]);
			break;
		case '?':
			rv = hbctl_usage_error(&h, "unknown flag '%s'",
			                       argv[optind - 1]);
			break;
		default:
			rv = hbctl_global_flag(&h, ch, optarg);
		}
	}
	if (rv != HBCTL_CONTINUE) {
		return rv;
	}
	if (optind >= argc) {
		fputs("hbctl: missing VERB\n\n", stderr);
		print_main_usage(stderr);
		return HBCTL_EXIT_USAGE;
	}
	if ((v = find_verb(argv[optind])) == NULL) {
		return hbctl_usage_error(
		    &h, "no verb '%s'; hbctl help lists them", argv[optind]);
	}
	h.verb = v->name;
	h.usage = v->usage;
	rv = v->handler(&h, argc - optind, argv + optind);
	hbctl_close(&h);
	if (fflush(stdout) != 0 && rv == HBCTL_EXIT_OK) {
		rv = HBCTL_EXIT_FAILED; /* e.g. a full disk behind > */
	}
	return rv;
}
