/* hbctl robot add|list|rotate|remove|set|ping-token: the robot registry. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/duration.h"
#include "common/quote.h"
#include "common/rfc3339.h"
#include "common/subject_name.h"
#include "hbctl.h"

const char cmd_robot_usage[] =
    "usage: hbctl robot add ID [--secret-file F [--force]] [--json]\n"
    "       hbctl robot list [--json]\n"
    "       hbctl robot rotate ID [--secret-file F [--force]] [--json]\n"
    "       hbctl robot remove ID [--json]\n"
    "       hbctl robot set ID --interval-max D|default [--json]\n"
    "       hbctl robot ping-token ID [--revoke] [--json]\n"
    "\n"
    "The robots allowed to report. `add` registers a robot and prints its\n"
    "secret (the HMAC key it signs with) once: store it at once, the\n"
    "server never shows it again; --secret-file F writes it to F (mode\n"
    "0600) instead of printing it. `rotate` gives a robot a new secret (the\n"
    "old one stops working at once), `remove` unregisters it: its\n"
    "heartbeats are refused and it is no longer watched.\n"
    "`ping-token` issues a token for GET /v1/ping/TOKEN on the HTTP\n"
    "listener (scripts that cannot sign), or revokes it.\n"
    "`robot add ID --json` prints {\"robot\": ID, \"secret\": S}.\n";

static const char add_usage[] =
    "usage: hbctl robot add ID [--secret-file F [--force]] [--json]\n"
    "\n"
    "Registers robot ID and prints its secret, once. Give the secret to\n"
    "the robot in a file (hbmon-robot --secret-file F) or HBMON_SECRET,\n"
    "never on a command line. --json prints {\"robot\": ID, \"secret\": S}.\n"
    "\n"
    "  --secret-file F      write the secret to F, mode 0600, and print\n"
    "                       nothing secret (--json: {\"robot\": ID,\n"
    "                       \"secret_file\": F}). F must not exist yet;\n"
    "                       it is checked before the robot is added\n"
    "  --force              replace F if it exists\n";

static const char list_usage[] =
    "usage: hbctl robot list [--json]\n"
    "\n"
    "The registered robots: when added, when last heard, how many\n"
    "accounts. --json: one object per robot per line.\n";

static const char rotate_usage[] =
    "usage: hbctl robot rotate ID [--secret-file F [--force]] [--json]\n"
    "\n"
    "Gives robot ID a new secret and prints it, once; the old secret stops\n"
    "working at once. --json prints {\"robot\": ID, \"secret\": S}.\n"
    "\n"
    "  --secret-file F      write the new secret to F, mode 0600, and print\n"
    "                       nothing secret; F must not exist yet\n"
    "  --force              replace F if it exists (e.g. the robot's own\n"
    "                       secret file, which then holds the new secret)\n";

static const char remove_usage[] =
    "usage: hbctl robot remove ID [--json]\n"
    "\n"
    "Unregisters robot ID: its heartbeats are refused from now on and it\n"
    "and its accounts are no longer watched (no alerts).\n";

static const char set_usage[] =
    "usage: hbctl robot set ID --interval-max D|default [--json]\n"
    "\n"
    "Gives robot ID (and its accounts) its own interval_max, the period in\n"
    "which lateness is counted, e.g. 10m for a robot that reports slowly by\n"
    "design; `default` goes back to the server's interval_max. Deadlines\n"
    "move at once.\n";

static const char ping_usage[] =
    "usage: hbctl robot ping-token ID [--revoke] [--json]\n"
    "\n"
    "Issues robot ID a new ping token and prints it, once: a GET or POST\n"
    "of /v1/ping/TOKEN on the HTTP listener (http_listen) records a robot\n"
    "heartbeat for ID, healthy unless ?status=degraded or unhealthy. The\n"
    "server keeps only the token's SHA-256; a new token replaces the old\n"
    "one at once. --json prints {\"robot\": ID, \"token\": T}.\n"
    "\n"
    "  --revoke             take the token away: pings are refused from now\n"
    "                       on (--json: {\"robot\": ID, \"token\": null})\n";

/*
 * How to send a first heartbeat over HTTP (docs/http.md), for robots that
 * do not speak nng: the shell function there, with this robot's file.
 */
static void
print_http_hint(const char *robot, const char *secret_file)
{
	printf("Over HTTP (with http_listen set on the server), the shell "
	       "function hbmon_post in docs/http.md sends a first "
	       "heartbeat:\n"
	       "  hbmon_post http://127.0.0.1:7780 %s %s robot.json\n",
	       robot, secret_file);
}

/* Prints a robot's new secret: JSON exactly as SPEC §6, or for people. */
static void
print_secret(const struct hbctl *h, const Hbmon__V1__RobotAddReply *r,
             bool added)
{
	if (h->json) {
		json_t *o = json_pack("{s:s, s:s}", "robot", r->robot, "secret",
		                      r->secret);
		/* Not compact: SPEC §6 writes {"robot": ID, "secret": S}. */
		char *text =
		    o != NULL ? json_dumps(o, JSON_PRESERVE_ORDER) : NULL;
		if (text != NULL) {
			puts(text);
		}
		free(text);
		json_decref(o);
		return;
	}
	printf("%s robot %s. Its secret, shown only this once:\n\n    %s\n\n"
	       "Store it now and give it to the robot in a file (mode 0600):\n"
	       "  hbmon-robot --robot %s --secret-file F ..., or "
	       "HBMON_SECRET.\n"
	       "(--secret-file F writes it to F, mode 0600, instead.)\n%s",
	       added ? "Registered" : "New secret for", r->robot, r->secret,
	       r->robot, added ? "" : "The old secret no longer works.\n");
	print_http_hint(r->robot, "F");
}

/*
 * A secret file being written: a temporary file beside the final one,
 * mode 0600, made before the server is asked (so that a path that cannot
 * be written is a usage error with nothing done), and put in place only
 * once it holds the secret.
 */
struct secret_out {
	const char *path; /* --secret-file; NULL: print the secret */
	bool force;       /* --force: replace path */
	char tmp[4096];   /* the temporary file */
	int fd;           /* open on tmp; -1 when none */
};

enum { OPT_SECRET_FILE = 1000, OPT_FORCE, OPT_INTERVAL_MAX, OPT_REVOKE };

static int
on_secret_flag(struct hbctl *h, int val, const char *value, void *arg)
{
	struct secret_out *so = arg;

	(void) h;
	if (val == OPT_FORCE) {
		so->force = true;
	} else {
		so->path = value;
	}
	return HBCTL_CONTINUE;
}

/* Creates so->tmp beside so->path. HBCTL_CONTINUE or HBCTL_EXIT_USAGE. */
static int
secret_out_prepare(struct hbctl *h, struct secret_out *so)
{
	const char *slash = strrchr(so->path, '/');
	struct stat st;
	int dir_len = slash != NULL ? (int) (slash - so->path + 1) : 0;

	if (so->path[0] == '\0' || (slash != NULL && slash[1] == '\0')) {
		return hbctl_usage_error(h, "--secret-file needs a file name");
	}
	if (lstat(so->path, &st) == 0 && !so->force) {
		return hbctl_usage_error(h,
		                         "%s already exists; --force replaces "
		                         "it",
		                         so->path);
	}
	if ((size_t) snprintf(so->tmp, sizeof(so->tmp), "%.*s.%s.XXXXXX",
	                      dir_len, so->path,
	                      so->path + dir_len) >= sizeof(so->tmp)) {
		return hbctl_usage_error(h, "--secret-file: the path is too "
		                            "long");
	}
	/* mkstemp makes the file 0600 whatever the umask. */
	if ((so->fd = mkstemp(so->tmp)) < 0) {
		int e = errno;
		return hbctl_usage_error(h,
		                         "cannot create a file beside %s: %s",
		                         so->path, strerror(e));
	}
	return HBCTL_CONTINUE;
}

/* Removes the temporary file: the server did not hand out a secret. */
static void
secret_out_abandon(struct secret_out *so)
{
	if (so->fd >= 0) {
		close(so->fd);
		unlink(so->tmp);
		so->fd = -1;
	}
}

/*
 * Writes secret to the temporary file and puts it in place. On failure
 * says what to do: the server already holds the new secret.
 * Returns HBCTL_EXIT_OK or HBCTL_EXIT_FAILED.
 */
static int
secret_out_commit(struct secret_out *so, const char *robot, const char *secret,
                  bool added)
{
	size_t len = strlen(secret);
	int rv = -1;

	if (write(so->fd, secret, len) == (ssize_t) len &&
	    write(so->fd, "\n", 1) == 1 && fsync(so->fd) == 0) {
		rv = so->force ? rename(so->tmp, so->path)
		               : link(so->tmp, so->path);
	}
	if (rv != 0) {
		int e = errno;
		close(so->fd);
		so->fd = -1;
		if (e == EEXIST) {
			/* Someone made path since: never overwrite it. */
			hbctl_error("%s appeared meanwhile; robot %s's secret "
			            "is in %s (mode 0600) instead",
			            so->path, robot, so->tmp);
			return HBCTL_EXIT_FAILED;
		}
		unlink(so->tmp);
		hbctl_error("cannot write the secret to %s: %s; robot %s %s "
		            "a secret nobody holds now: run hbctl robot "
		            "rotate %s --secret-file F",
		            so->path, strerror(e), robot,
		            added ? "is registered with" : "has", robot);
		return HBCTL_EXIT_FAILED;
	}
	if (!so->force) {
		unlink(so->tmp);
	}
	close(so->fd);
	so->fd = -1;
	return HBCTL_EXIT_OK;
}

/* What is printed when the secret went to a file: nothing secret. */
static void
print_secret_file(const struct hbctl *h, const char *robot, const char *path,
                  bool added)
{
	if (h->json) {
		out_json_line(json_pack("{s:s, s:s}", "robot", robot,
		                        "secret_file", path));
		return;
	}
	printf("%s robot %s; its secret is in %s (mode 0600).\n%s"
	       "Give the file to the robot: hbmon-robot --robot %s "
	       "--secret-file %s ...\n",
	       added ? "Registered" : "New secret for", robot, path,
	       added ? "" : "The old secret no longer works.\n", robot, path);
	print_http_hint(robot, path);
}

static int
robot_id_arg(struct hbctl *h, int argc, char **argv, const char **out,
             struct secret_out *so)
{
	static const struct option secret_opts[] = {
		{ "secret-file", required_argument, NULL, OPT_SECRET_FILE },
		{ "force", no_argument, NULL, OPT_FORCE },
		{ NULL, 0, NULL, 0 },
	};
	int first, rv;

	if ((rv = hbctl_parse(h, argc, argv, so != NULL ? secret_opts : NULL,
	                      on_secret_flag, so, &first)) != HBCTL_CONTINUE) {
		return rv;
	}
	if ((rv = hbctl_positional(h, argc, argv, first, 1, 1, "ID")) !=
	    HBCTL_CONTINUE) {
		return rv;
	}
	if (!subject_name_is_robot(argv[first])) {
		return hbctl_usage_error(h, "'%s': a robot id has no '/'",
		                         argv[first]);
	}
	*out = argv[first];
	return HBCTL_CONTINUE;
}

/* add (added) or rotate: both answer with the robot's new secret. */
static int
robot_new_secret(struct hbctl *h, int argc, char **argv, bool added)
{
	Hbmon__V1__RobotAddRequest add = HBMON__V1__ROBOT_ADD_REQUEST__INIT;
	Hbmon__V1__RobotRotateRequest rotate =
	    HBMON__V1__ROBOT_ROTATE_REQUEST__INIT;
	Hbmon__V1__RobotAddReply *reply = NULL;
	struct secret_out so = { .path = NULL, .fd = -1 };
	const char *id = NULL;
	int rv;

	if ((rv = robot_id_arg(h, argc, argv, &id, &so)) != HBCTL_CONTINUE) {
		return rv;
	}
	if (so.force && so.path == NULL) {
		return hbctl_usage_error(h,
		                         "--force goes with --secret-file F");
	}
	if (so.path != NULL &&
	    (rv = secret_out_prepare(h, &so)) != HBCTL_CONTINUE) {
		return rv;
	}
	add.robot = rotate.robot = (char *) id;
	if ((rv = hbctl_admin(h, added ? "RobotAdd" : "RobotRotate",
	                      added ? &add.base : &rotate.base,
	                      (ProtobufCMessage **) &reply)) != HBCTL_EXIT_OK) {
		secret_out_abandon(&so);
		return rv;
	}
	if (so.path == NULL) {
		print_secret(h, reply, added);
	} else if ((rv = secret_out_commit(&so, reply->robot, reply->secret,
	                                   added)) == HBCTL_EXIT_OK) {
		print_secret_file(h, reply->robot, so.path, added);
	}
	protobuf_c_message_free_unpacked(&reply->base, NULL);
	return rv;
}

static int
robot_add(struct hbctl *h, int argc, char **argv)
{
	return robot_new_secret(h, argc, argv, true);
}

static int
robot_rotate(struct hbctl *h, int argc, char **argv)
{
	return robot_new_secret(h, argc, argv, false);
}

static int
robot_remove(struct hbctl *h, int argc, char **argv)
{
	Hbmon__V1__RobotRemoveRequest req =
	    HBMON__V1__ROBOT_REMOVE_REQUEST__INIT;
	Hbmon__V1__RobotRemoveReply *reply = NULL;
	const char *id = NULL;
	int rv;

	if ((rv = robot_id_arg(h, argc, argv, &id, NULL)) != HBCTL_CONTINUE) {
		return rv;
	}
	req.robot = (char *) id;
	if ((rv = hbctl_admin(h, "RobotRemove", &req.base,
	                      (ProtobufCMessage **) &reply)) != HBCTL_EXIT_OK) {
		return rv;
	}
	if (h->json) {
		out_json_line(
		    json_pack("{s:s, s:b}", "robot", id, "removed", 1));
	} else {
		char shown[QUOTE_NAME_SIZE];
		printf("Removed robot %s: its heartbeats are refused from now "
		       "on and it is no longer watched.\n",
		       quote_str(shown, sizeof(shown), id));
	}
	protobuf_c_message_free_unpacked(&reply->base, NULL);
	return HBCTL_EXIT_OK;
}

static json_t *
robot_json(const Hbmon__V1__RobotInfo *r, int tz)
{
	char created[RFC3339_MAX] = "", seen[RFC3339_MAX] = "";
	char interval[32] = "";

	if (r->created_ms != 0) {
		tz_format(r->created_ms, tz, created, sizeof(created));
	}
	if (r->last_seen_ms != 0) {
		tz_format(r->last_seen_ms, tz, seen, sizeof(seen));
	}
	if (r->interval_max_ms != 0) {
		duration_format(r->interval_max_ms, interval, sizeof(interval));
	}
	return json_pack(
	    "{s:s, s:o, s:I, s:o, s:I, s:I, s:o}", "robot", r->robot, "created",
	    created[0] ? json_string(created) : json_null(), "created_ms",
	    (json_int_t) r->created_ms, "last_seen",
	    seen[0] ? json_string(seen) : json_null(), "last_seen_ms",
	    (json_int_t) r->last_seen_ms, "accounts", (json_int_t) r->accounts,
	    "interval_max", interval[0] ? json_string(interval) : json_null());
}

static int
robot_list(struct hbctl *h, int argc, char **argv)
{
	static const char *const headers[] = { "ROBOT",        "ADDED",
		                               "LAST SEEN",    "ACCOUNTS",
		                               "INTERVAL MAX", NULL };
	Hbmon__V1__RobotListRequest req = HBMON__V1__ROBOT_LIST_REQUEST__INIT;
	Hbmon__V1__RobotListReply *reply = NULL;
	struct table *t;
	int64_t now;
	int first, rv;

	if ((rv = hbctl_parse(h, argc, argv, NULL, NULL, NULL, &first)) !=
	        HBCTL_CONTINUE ||
	    (rv = hbctl_positional(h, argc, argv, first, 0, 0, "nothing")) !=
	        HBCTL_CONTINUE) {
		return rv;
	}
	if ((rv = hbctl_admin(h, "RobotList", &req.base,
	                      (ProtobufCMessage **) &reply)) != HBCTL_EXIT_OK) {
		return rv;
	}
	now = clock_wall_ms();
	if (h->json) {
		for (size_t i = 0; i < reply->n_robots; i++) {
			out_json_line(robot_json(reply->robots[i], h->tz_min));
		}
	} else if (reply->n_robots == 0) {
		printf("No robot is registered. `hbctl robot add ID` adds "
		       "one.\n");
	} else if ((t = table_new(headers)) != NULL) {
		for (size_t i = 0; i < reply->n_robots; i++) {
			const Hbmon__V1__RobotInfo *r = reply->robots[i];
			char added[64], seen[64], interval[32];

			out_time(added, sizeof(added), r->created_ms,
			         h->tz_min);
			out_age(seen, sizeof(seen), now, r->last_seen_ms);
			if (r->interval_max_ms == 0) {
				snprintf(interval, sizeof(interval), "default");
			} else {
				duration_format(r->interval_max_ms, interval,
				                sizeof(interval));
			}
			table_row(t);
			table_cell(t, NULL, "%s", r->robot);
			table_cell(t, NULL, "%s", added);
			table_cell(t, NULL, "%s", seen);
			table_cell(t, NULL, "%u", r->accounts);
			table_cell(t, NULL, "%s", interval);
		}
		table_print(t, stdout, h->color);
		table_free(t);
	}
	protobuf_c_message_free_unpacked(&reply->base, NULL);
	return HBCTL_EXIT_OK;
}

static int
on_set_flag(struct hbctl *h, int val, const char *value, void *arg)
{
	int64_t *interval = arg;
	int rv;

	(void) val;
	if (strcmp(value, "default") == 0) {
		*interval = -1; /* RobotSet: below 0 is the global value */
		return HBCTL_CONTINUE;
	}
	if ((rv = hbctl_duration(h, "--interval-max", value, interval)) !=
	    HBCTL_CONTINUE) {
		return rv;
	}
	if (*interval < 1000) {
		return hbctl_usage_error(h,
		                         "--interval-max '%s' is shorter "
		                         "than a second",
		                         value);
	}
	return HBCTL_CONTINUE;
}

static int
robot_set(struct hbctl *h, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "interval-max", required_argument, NULL, OPT_INTERVAL_MAX },
		{ NULL, 0, NULL, 0 },
	};
	Hbmon__V1__RobotSetRequest req = HBMON__V1__ROBOT_SET_REQUEST__INIT;
	Hbmon__V1__RobotInfo *reply = NULL;
	int64_t interval = 0;
	char text[32];
	int first, rv;

	if ((rv = hbctl_parse(h, argc, argv, opts, on_set_flag, &interval,
	                      &first)) != HBCTL_CONTINUE ||
	    (rv = hbctl_positional(h, argc, argv, first, 1, 1, "ID")) !=
	        HBCTL_CONTINUE) {
		return rv;
	}
	if (interval == 0) {
		return hbctl_usage_error(h, "nothing to set; give "
		                            "--interval-max D or default");
	}
	req.robot = argv[first];
	req.interval_max_ms = interval;
	if ((rv = hbctl_admin(h, "RobotSet", &req.base,
	                      (ProtobufCMessage **) &reply)) != HBCTL_EXIT_OK) {
		return rv;
	}
	if (h->json) {
		out_json_line(robot_json(reply, h->tz_min));
	} else if (reply->interval_max_ms == 0) {
		printf("Robot %s uses the server's interval_max again.\n",
		       reply->robot);
	} else {
		duration_format(reply->interval_max_ms, text, sizeof(text));
		printf("Robot %s: interval_max %s (its accounts too).\n",
		       reply->robot, text);
	}
	protobuf_c_message_free_unpacked(&reply->base, NULL);
	return HBCTL_EXIT_OK;
}

static int
on_ping_flag(struct hbctl *h, int val, const char *value, void *arg)
{
	(void) h;
	(void) val;
	(void) value;
	*(bool *) arg = true; /* --revoke, its only flag */
	return HBCTL_CONTINUE;
}

static int
robot_ping_token(struct hbctl *h, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "revoke", no_argument, NULL, OPT_REVOKE },
		{ NULL, 0, NULL, 0 },
	};
	Hbmon__V1__RobotPingTokenRequest req =
	    HBMON__V1__ROBOT_PING_TOKEN_REQUEST__INIT;
	Hbmon__V1__RobotPingTokenReply *reply = NULL;
	char shown[QUOTE_NAME_SIZE];
	bool revoke = false;
	int first, rv;

	if ((rv = hbctl_parse(h, argc, argv, opts, on_ping_flag, &revoke,
	                      &first)) != HBCTL_CONTINUE ||
	    (rv = hbctl_positional(h, argc, argv, first, 1, 1, "ID")) !=
	        HBCTL_CONTINUE) {
		return rv;
	}
	if (!subject_name_is_robot(argv[first])) {
		return hbctl_usage_error(h, "'%s': a robot id has no '/'",
		                         argv[first]);
	}
	req.robot = argv[first];
	req.revoke = revoke;
	if ((rv = hbctl_admin(h, "RobotPingToken", &req.base,
	                      (ProtobufCMessage **) &reply)) != HBCTL_EXIT_OK) {
		return rv;
	}
	quote_str(shown, sizeof(shown), reply->robot);
	if (h->json) {
		out_json_line(json_pack(
		    "{s:s, s:o}", "robot", reply->robot, "token",
		    revoke ? json_null() : json_string(reply->token)));
	} else if (revoke) {
		printf("Robot %s has no ping token now: pings are refused.\n",
		       shown);
	} else {
		printf("%s\n\n"
		       "The ping token of robot %s, shown once (the server "
		       "keeps only its hash).\n"
		       "Ping with: curl -fsS http://HOST:PORT/v1/ping/%s\n"
		       "(docs/http.md, \"Ping tokens\"; add ?status=degraded "
		       "to report trouble).\n",
		       reply->token, shown, reply->token);
	}
	protobuf_c_message_free_unpacked(&reply->base, NULL);
	return HBCTL_EXIT_OK;
}

static const struct hbctl_verb subverbs[] = {
	{ "add", add_usage, robot_add },
	{ "list", list_usage, robot_list },
	{ "rotate", rotate_usage, robot_rotate },
	{ "remove", remove_usage, robot_remove },
	{ "set", set_usage, robot_set },
	{ "ping-token", ping_usage, robot_ping_token },
};

int
cmd_robot(struct hbctl *h, int argc, char **argv)
{
	static char verb[32];

	/* "hbctl robot --help" is the robot verb's own help. */
	if (argc < 2 || argv[1][0] == '-') {
		int first,
		    rv = hbctl_parse(h, argc, argv, NULL, NULL, NULL, &first);
		if (rv != HBCTL_CONTINUE) {
			return rv;
		}
		return first < argc
		           ? cmd_robot(h, argc - first + 1, argv + first - 1)
		           : hbctl_usage_error(h, "missing add, list, "
		                                  "rotate, remove, set or "
		                                  "ping-token");
	}
	for (size_t i = 0; i < sizeof(subverbs) / sizeof(subverbs[0]); i++) {
		if (strcmp(argv[1], subverbs[i].name) == 0) {
			snprintf(verb, sizeof(verb), "robot %s",
			         subverbs[i].name);
			h->verb = verb;
			h->usage = subverbs[i].usage;
			return subverbs[i].handler(h, argc - 1, argv + 1);
		}
	}
	return hbctl_usage_error(h,
	                         "no robot verb '%s'; use add, list, rotate, "
	                         "remove, set or ping-token",
	                         argv[1]);
}
