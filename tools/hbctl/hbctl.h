/*
 * hbctl: the owner's command line for hbmon (SPEC §5, §6). main.c holds
 * the verb table; each verb that is more than a few lines has its own
 * cmd_<verb>.c. Everything here is single-threaded; only main() exits.
 *
 * Exit codes (docs/hbctl.md):
 *   0  done
 *   1  the server refused the request, or a heartbeat of `send` was refused
 *   2  bad command line or input file (unknown flag, bad duration, ...)
 *   3  could not talk to the server (not running, permission denied on the
 *      socket, no answer in time, admin secret refused)
 *   4  no such subject, robot or alert
 * `check` answers with Nagios codes instead: 0 OK, 1 WARNING, 2 CRITICAL,
 * 3 UNKNOWN.
 */
#ifndef HBMON_HBCTL_H
#define HBMON_HBCTL_H

#include <getopt.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <jansson.h>
#include <protobuf-c/protobuf-c.h>

#include "common/rpc_client.h"
#include "common/tz.h"
#include "hbmon/v1/admin.pb-c.h"

enum hbctl_exit {
	HBCTL_EXIT_OK = 0,          /* done */
	HBCTL_EXIT_FAILED = 1,      /* refused by the server, or failed */
	HBCTL_EXIT_USAGE = 2,       /* bad command line or input */
	HBCTL_EXIT_UNREACHABLE = 3, /* could not talk to the server */
	HBCTL_EXIT_NOT_FOUND = 4,   /* no such subject, robot or alert */
};

/* hbctl_parse's answer when the verb should go on (not an exit code). */
#define HBCTL_CONTINUE (-1)

/* hbmon-server's default listen URL (SPEC §6). */
#define HBCTL_DEFAULT_SERVER "tcp://127.0.0.1:7781"

/* Everything the global flags decide, and the admin connection. */
struct hbctl {
	/* --admin, else --data-dir's socket, else $HBMON_ADMIN, else the
	 * socket in $HBMON_DATA_DIR or the default data dir (paths.h);
	 * settled by hbctl_parse. */
	const char *admin_url;
	bool admin_given;              /* --admin was given */
	bool admin_derived;            /* admin_url is a data dir's socket */
	const char *data_dir;          /* --data-dir */
	char admin_buf[1100];          /* a derived admin_url */
	const char *admin_secret_file; /* --admin-secret-file (tcp admin) */
	const char *server_url;        /* send: --server, $HBMON_SERVER */
	const char *robot;             /* send: --robot, $HBMON_ROBOT */
	const char *secret_file;       /* send: --secret-file */
	/* --tls-ca-file, --tls-cert-file, --tls-key-file ($HBMON_TLS_*):
	 * for tls+tcp:// URLs. */
	struct tlsconf_files tls;
	bool json;                /* --json */
	bool no_color;            /* --no-color */
	bool color;               /* colour on stdout: a TTY, allowed */
	int tz_min;               /* --tz: an offset, or TZ_ZONE */
	int timeout_ms;           /* --timeout, default 5000 */
	const char *verb;         /* "status", "robot add", ... */
	const char *usage;        /* the verb's help text */
	struct rpc_client *admin; /* opened on first use */
};

/* A verb: its name, its help text (first line: the synopsis), its code. */
struct hbctl_verb {
	const char *name;
	const char *usage;
	int (*handler)(struct hbctl *h, int argc, char **argv);
};

/* ---- command lines (args.c) ---- */

/*
 * The global flags, for help texts: a paragraph listing them.
 */
extern const char hbctl_global_help[];

/*
 * Parses a verb's command line: argv[0] is the verb, then its flags and
 * arguments in any order, the global flags among them. opts: the verb's
 * own flags (val >= 1000), terminated by a zero entry; may be NULL. For
 * each of them on_flag(h, val, optarg, arg) is called and returns
 * HBCTL_CONTINUE or an exit code. On return the positional arguments are
 * argv[*first .. argc).
 * Returns HBCTL_CONTINUE, HBCTL_EXIT_OK after printing --help, or
 * HBCTL_EXIT_USAGE after printing why to stderr.
 */
int hbctl_parse(struct hbctl *h, int argc, char **argv,
                const struct option *opts,
                int (*on_flag)(struct hbctl *h, int val, const char *value,
                               void *arg),
                void *arg, int *first);

/*
 * Handles one global flag (val is its id from args.c's table); main()
 * uses it for the flags before the verb. Returns HBCTL_CONTINUE, or an
 * exit code after printing why.
 */
int hbctl_global_flag(struct hbctl *h, int val, const char *value);

/* The global flags as getopt options (terminated by a zero entry). */
extern const struct option hbctl_global_options[];

/*
 * Prints "hbctl VERB: <message>" and a pointer to --help on stderr;
 * returns HBCTL_EXIT_USAGE.
 */
int hbctl_usage_error(const struct hbctl *h, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/*
 * Prints "hbctl: <message>" on stderr. The message is quoted (quote.h):
 * it may carry the server's sentence, and whatever it quotes.
 */
void hbctl_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/*
 * Makes every string of m, at any depth, safe to print (sanitize.c):
 * quoted as quote.h does for a terminal, or with json only the bytes that
 * are not UTF-8 escaped (jansson escapes controls and refuses invalid
 * UTF-8). m must be unpacked with the default allocator; replaced strings
 * are freed and malloc'd ones put in their place, so
 * protobuf_c_message_free_unpacked(m, NULL) still frees everything.
 * Returns HBMON_OK or HBMON_ENOMEM (m stays valid, partly quoted).
 */
int hbctl_sanitize(ProtobufCMessage *m, bool json);

/*
 * Checks that min..max positional arguments argv[first..argc) are left
 * (names: what they are, for the message, e.g. "SUBJECT"). Returns
 * HBCTL_CONTINUE or HBCTL_EXIT_USAGE.
 */
int hbctl_positional(const struct hbctl *h, int argc, char **argv, int first,
                     int min, int max, const char *names);

/* Parses a duration flag ("2h"); HBCTL_CONTINUE or HBCTL_EXIT_USAGE. */
int hbctl_duration(const struct hbctl *h, const char *flag, const char *value,
                   int64_t *out_ms);

/*
 * Parses a point in time: a duration meaning that long ago ("1h") or an
 * RFC 3339 time. out_ms: wall ms. HBCTL_CONTINUE or HBCTL_EXIT_USAGE.
 */
int hbctl_time(const struct hbctl *h, const char *flag, const char *value,
               int64_t now_ms, int64_t *out_ms);

/* Parses a whole number min..max; HBCTL_CONTINUE or HBCTL_EXIT_USAGE. */
int hbctl_number(const struct hbctl *h, const char *flag, const char *value,
                 uint64_t min, uint64_t max, uint64_t *out);

/*
 * Checks a SUBJECT argument ("R1" or "R1/ACC_003"); HBCTL_CONTINUE or
 * HBCTL_EXIT_USAGE.
 */
int hbctl_subject(const struct hbctl *h, const char *subject);

/* ---- talking to the server (call.c) ---- */

/*
 * Calls an Admin method by name ("Overview") with input; the reply type
 * comes from the service descriptor. out: the reply, freed by the caller
 * with protobuf_c_message_free_unpacked(o, NULL); NULL on failure.
 * Opens the admin connection on first use.
 * why: on failure the sentence to show (it says what to do).
 * Returns HBCTL_EXIT_OK, or the exit code for the failure (1, 2, 3, 4).
 * Prints nothing.
 */
int hbctl_try_admin(struct hbctl *h, const char *method,
                    const ProtobufCMessage *input, ProtobufCMessage **out,
                    char *why, size_t why_len);

/* As hbctl_try_admin, printing why on stderr on failure. */
int hbctl_admin(struct hbctl *h, const char *method,
                const ProtobufCMessage *input, ProtobufCMessage **out);

/*
 * Opens a client to url. robot/key: sign as robot with key (NULL: do not
 * sign). flag: the flag that names url, for hints ("--admin").
 * Returns HBCTL_EXIT_OK or an exit code with why set.
 */
int hbctl_open(const struct hbctl *h, const char *url, const char *flag,
               const char *robot, const char *key, struct rpc_client **out,
               char *why, size_t why_len);

/*
 * Turns an rpc_client_call result into an exit code and a sentence
 * (status message plus a hint); url/flag name the socket.
 */
int hbctl_call_result(const struct hbctl *h, int rv,
                      const struct rpc_status *st, const char *url,
                      const char *flag, char *why, size_t why_len);

/* Closes the admin connection if open. */
void hbctl_close(struct hbctl *h);

/* ---- output (output.c) ---- */

/* ANSI colours; out_color returns "" when colour is off. */
#define COLOR_RED    "\033[31m"
#define COLOR_YELLOW "\033[33m"
#define COLOR_GREEN  "\033[32m"
#define COLOR_BLUE   "\033[34m"
#define COLOR_DIM    "\033[2m"
#define COLOR_BOLD   "\033[1m"
#define COLOR_RESET  "\033[0m"

/* A table printed with aligned columns, built row by row. */
struct table;

/*
 * Makes a table with the given column headers (NULL-terminated list).
 * Returns NULL when out of memory. Free with table_free.
 */
struct table *table_new(const char *const *headers);

/* Starts a new row. */
void table_row(struct table *t);

/*
 * Appends a cell to the current row: printf-style text, shown in color
 * (a COLOR_ constant, or NULL) when colour is on.
 */
void table_cell(struct table *t, const char *color, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Prints header and rows to f; columns two spaces apart. */
void table_print(const struct table *t, FILE *f, bool color);

/* Rows so far. */
size_t table_rows(const struct table *t);

void table_free(struct table *t);

/*
 * "42 s ago", "3 min ago", "in 2 h", "never" (then_ms 0), "just now".
 */
void out_age(char *buf, size_t len, int64_t now_ms, int64_t then_ms);

/* A wall time in tz_min (tz.h) at that instant, whole seconds ("-" for 0). */
void out_time(char *buf, size_t len, int64_t ms, int tz_min);

/* Prints value as one compact JSON line on stdout and releases it. */
void out_json_line(json_t *value);

/* The colour of a liveness / severity (NULL: none). */
const char *out_liveness_color(Hbmon__V1__Liveness l);
const char *out_severity_color(int severity);

/* Whether stdout should get colour, from the flags, NO_COLOR and isatty. */
bool out_want_color(bool no_color);

/* ---- subjects (subject.c) ---- */

/* The reported status word: "healthy", "active", ... ("-" if none). */
const char *subject_status(const Hbmon__V1__SubjectState *s);

/* The liveness word ("ok", "late", ...; "-" if none). */
const char *subject_liveness(const Hbmon__V1__SubjectState *s);

/*
 * The JSON object of a subject's state. Returns a new reference, or NULL
 * when out of memory.
 */
json_t *subject_json(const Hbmon__V1__SubjectState *s, int tz_min);

/*
 * "paused until 2026-01-20T11:30:00+07:00 (in 2 h): reason", or "" when
 * the subject is not paused.
 */
void subject_pause_note(char *buf, size_t len, const Hbmon__V1__SubjectState *s,
                        int64_t now_ms, int tz_min);

/* A recorded heartbeat / transition as a JSON object (new reference). */
json_t *subject_heartbeat_json(const Hbmon__V1__HeartbeatRecord *r, int tz_min);
json_t *subject_transition_json(const Hbmon__V1__TransitionRecord *r,
                                int tz_min);

/* ---- verbs ---- */

int cmd_status(struct hbctl *h, int argc, char **argv);
int cmd_accounts(struct hbctl *h, int argc, char **argv);
int cmd_show(struct hbctl *h, int argc, char **argv);
int cmd_history(struct hbctl *h, int argc, char **argv);
int cmd_alerts(struct hbctl *h, int argc, char **argv);
int cmd_pause(struct hbctl *h, int argc, char **argv);
int cmd_resume(struct hbctl *h, int argc, char **argv);
int cmd_ack(struct hbctl *h, int argc, char **argv);
int cmd_robot(struct hbctl *h, int argc, char **argv);
int cmd_send(struct hbctl *h, int argc, char **argv);
int cmd_check(struct hbctl *h, int argc, char **argv);
int cmd_version(struct hbctl *h, int argc, char **argv);

extern const char cmd_status_usage[];
extern const char cmd_accounts_usage[];
extern const char cmd_show_usage[];
extern const char cmd_history_usage[];
extern const char cmd_alerts_usage[];
extern const char cmd_pause_usage[];
extern const char cmd_resume_usage[];
extern const char cmd_ack_usage[];
extern const char cmd_robot_usage[];
extern const char cmd_send_usage[];
extern const char cmd_check_usage[];
extern const char cmd_version_usage[];

#endif
