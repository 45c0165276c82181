/* hbctl command lines: the global flags, each verb's flags, values. */
#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/duration.h"
#include "common/paths.h"
#include "common/quote.h"
#include "common/rfc3339.h"
#include "common/subject_name.h"
#include "common/url.h"
#include "hbctl.h"
#include "hbmon/error.h"

enum {
	G_ADMIN = 256,
	G_DATA_DIR,
	G_ADMIN_SECRET_FILE,
	G_ADMIN_SECRET,
	G_SERVER,
	G_ROBOT,
	G_SECRET_FILE,
	G_SECRET,
	G_JSON,
	G_TZ,
	G_TIMEOUT,
	G_NO_COLOR,
	G_VERSION,
	G_TLS_CA_FILE,
	G_TLS_CERT_FILE,
	G_TLS_KEY_FILE,
	G_HELP = 'h',
};

const struct option hbctl_global_options[] = {
	{ "admin", required_argument, NULL, G_ADMIN },
	{ "data-dir", required_argument, NULL, G_DATA_DIR },
	{ "admin-secret-file", required_argument, NULL, G_ADMIN_SECRET_FILE },
	{ "admin-secret", required_argument, NULL, G_ADMIN_SECRET },
	{ "server", required_argument, NULL, G_SERVER },
	{ "robot", required_argument, NULL, G_ROBOT },
	{ "secret-file", required_argument, NULL, G_SECRET_FILE },
	{ "secret", required_argument, NULL, G_SECRET },
	{ "json", no_argument, NULL, G_JSON },
	{ "tz", required_argument, NULL, G_TZ },
	{ "timeout", required_argument, NULL, G_TIMEOUT },
	{ "no-color", no_argument, NULL, G_NO_COLOR },
	{ "version", no_argument, NULL, G_VERSION },
	{ "tls-ca-file", required_argument, NULL, G_TLS_CA_FILE },
	{ "tls-cert-file", required_argument, NULL, G_TLS_CERT_FILE },
	{ "tls-key-file", required_argument, NULL, G_TLS_KEY_FILE },
	{ "help", no_argument, NULL, G_HELP },
	{ NULL, 0, NULL, 0 },
};

const char hbctl_global_help[] =
    "Global flags (before or after the verb):\n"
    "  --admin URL          the server's admin socket (default $HBMON_ADMIN,\n"
    "                       else admin.sock in the data dir)\n"
    "  --data-dir D         the server's data dir: its admin.sock (default\n"
    "                       $HBMON_DATA_DIR, else " PATHS_DATA_DIR_INSTALLED
    ";\n"
    "                       ./var for hbctl run from its build tree)\n"
    "  --admin-secret-file F  the admin secret, for a tcp:// admin URL\n"
    "                       (also $HBMON_ADMIN_SECRET)\n"
    "  --json               JSON instead of tables (one object per line)\n"
    "  --tz ZONE            show times in this zone: a name such as\n"
    "                       Europe/London or Asia/Jakarta (daylight saving\n"
    "                       followed), a UTC offset (+07:00, Z), or local\n"
    "                       (default: this machine's zone)\n"
    "  --timeout D          how long to wait for the server (default 5s)\n"
    "  --tls-ca-file F      for tls+tcp:// URLs: the CA that signed the\n"
    "                       server's certificate ($HBMON_TLS_CA_FILE)\n"
    "  --tls-cert-file F, --tls-key-file F\n"
    "                       a client certificate and its key, for a server\n"
    "                       that asks for one ($HBMON_TLS_CERT_FILE,\n"
    "                       $HBMON_TLS_KEY_FILE)\n"
    "  --no-color           no colour (also $NO_COLOR; colour is only ever\n"
    "                       used on a terminal)\n"
    "  --version            hbctl's version (hbctl version: the server's too)\n"
    "  -h, --help           help (hbctl VERB --help for a verb)\n";

/* Writes a formatted message to stderr, quoted: it can hold what the
 * server said and what the user typed, either of which may hold anything. */
static void
put_quoted(const char *fmt, va_list ap)
{
	char text[2048];
	char quoted[4096];
	int n = vsnprintf(text, sizeof(text), fmt, ap);

	if (n < 0) {
		return;
	}
	quote_buf(quoted, sizeof(quoted), text,
	          (size_t) n < sizeof(text) ? (size_t) n : sizeof(text) - 1,
	          QUOTE_UTF8);
	fputs(quoted, stderr);
}

void
hbctl_error(const char *fmt, ...)
{
	va_list ap;

	fputs("hbctl: ", stderr);
	va_start(ap, fmt);
	put_quoted(fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

int
hbctl_usage_error(const struct hbctl *h, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "hbctl%s%s: ", h->verb != NULL ? " " : "",
	        h->verb != NULL ? h->verb : "");
	va_start(ap, fmt);
	put_quoted(fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n(hbctl%s%s --help for usage)\n",
	        h->verb != NULL ? " " : "", h->verb != NULL ? h->verb : "");
	return HBCTL_EXIT_USAGE;
}

int
hbctl_duration(const struct hbctl *h, const char *flag, const char *value,
               int64_t *out_ms)
{
	char why[128];

	if (duration_parse(value, out_ms, why, sizeof(why)) != HBMON_OK) {
		return hbctl_usage_error(h,
		                         "bad duration '%s' for %s: %s (e.g. "
		                         "90s, 30m, 2h, 1h30m)",
		                         value, flag, why);
	}
	return HBCTL_CONTINUE;
}

int
hbctl_time(const struct hbctl *h, const char *flag, const char *value,
           int64_t now_ms, int64_t *out_ms)
{
	struct rfc3339_time t;
	char why[128];
	int64_t ago;

	if (duration_parse(value, &ago, NULL, 0) == HBMON_OK) {
		*out_ms = duration_sub(now_ms, ago); /* any ago: no overflow */
		return HBCTL_CONTINUE;
	}
	if (rfc3339_parse(value, strlen(value), &t, why, sizeof(why)) ==
	    HBMON_OK) {
		*out_ms = rfc3339_unix_ms(&t);
		return HBCTL_CONTINUE;
	}
	return hbctl_usage_error(h,
	                         "bad time '%s' for %s: give a duration back "
	                         "from now (30m, 2h, 1d) or an RFC 3339 time "
	                         "(2026-01-20T09:30:00+07:00)",
	                         value, flag);
}

int
hbctl_number(const struct hbctl *h, const char *flag, const char *value,
             uint64_t min, uint64_t max, uint64_t *out)
{
	char *end;
	unsigned long long n;

	errno = 0;
	n = strtoull(value, &end, 10);
	if (value[0] < '0' || value[0] > '9' || errno != 0 || *end != '\0' ||
	    n < min || n > max) {
		return hbctl_usage_error(h,
		                         "%s '%s' must be a whole number from "
		                         "%" PRIu64 " to %" PRIu64,
		                         flag, value, min, max);
	}
	*out = n;
	return HBCTL_CONTINUE;
}

int
hbctl_subject(const struct hbctl *h, const char *subject)
{
	struct subject_name_ref ref;

	if (!subject_name_parse(subject, &ref)) {
		return hbctl_usage_error(
		    h,
		    "'%s' is not a subject; write ROBOT or "
		    "ROBOT/ACCOUNT, e.g. R1/ACC_003",
		    subject);
	}
	return HBCTL_CONTINUE;
}

int
hbctl_positional(const struct hbctl *h, int argc, char **argv, int first,
                 int min, int max, const char *names)
{
	int n = argc - first;

	if (n < min) {
		return hbctl_usage_error(h, "missing %s", names);
	}
	if (n > max) {
		return hbctl_usage_error(
		    h, "unexpected argument '%s' (expected %s)",
		    argv[first + max], names);
	}
	return HBCTL_CONTINUE;
}

int
hbctl_global_flag(struct hbctl *h, int val, const char *value)
{
	char why[512];
	int64_t ms;
	int rv;

	switch (val) {
	case G_ADMIN:
		h->admin_url = value;
		h->admin_given = true;
		break;
	case G_DATA_DIR:
		if (value[0] == '\0') {
			return hbctl_usage_error(h, "--data-dir is empty");
		}
		h->data_dir = value;
		break;
	case G_ADMIN_SECRET_FILE:
		h->admin_secret_file = value;
		break;
	case G_SERVER:
		h->server_url = value;
		break;
	case G_ROBOT:
		h->robot = value;
		break;
	case G_SECRET_FILE:
		h->secret_file = value;
		break;
	case G_ADMIN_SECRET:
	case G_SECRET:
		return hbctl_usage_error(
		    h,
		    "a secret is never taken from the command line (other "
		    "users see it in ps); use %s",
		    val == G_SECRET ? "--secret-file F or HBMON_SECRET"
		                    : "--admin-secret-file F or "
		                      "HBMON_ADMIN_SECRET");
	case G_JSON:
		h->json = true;
		break;
	case G_TZ:
		if (tz_select(value, &h->tz_min, why, sizeof(why)) !=
		    HBMON_OK) {
			return hbctl_usage_error(h, "bad --tz: %s", why);
		}
		break;
	case G_TIMEOUT:
		if ((rv = hbctl_duration(h, "--timeout", value, &ms)) !=
		    HBCTL_CONTINUE) {
			return rv;
		}
		if (ms <= 0 || ms > INT_MAX) {
			return hbctl_usage_error(
			    h,
			    "--timeout '%s' must be above 0 and at most "
			    "24 d",
			    value);
		}
		h->timeout_ms = (int) ms;
		break;
	case G_NO_COLOR:
		h->no_color = true;
		break;
	case G_VERSION:
		/* This program's version only: `hbctl version` also asks the
		 * server. */
		printf("hbctl %s\n", HBMON_VERSION);
		return HBCTL_EXIT_OK;
	case G_TLS_CA_FILE:
		h->tls.ca_file = value;
		break;
	case G_TLS_CERT_FILE:
		h->tls.cert_file = value;
		break;
	case G_TLS_KEY_FILE:
		h->tls.key_file = value;
		break;
	default:
		return hbctl_usage_error(h, "unknown flag");
	}
	return HBCTL_CONTINUE;
}

/*
 * The admin URL by the rule of paths.h: an explicit --admin wins, then
 * --data-dir, then $HBMON_ADMIN (already in admin_url), then the data
 * dir of $HBMON_DATA_DIR or the default one. Checks its form, so that a
 * typo is a usage error before anything is sent.
 */
static int
settle_admin_url(struct hbctl *h)
{
	char why[1400];

	if (!h->admin_given && (h->data_dir != NULL || h->admin_url == NULL)) {
		const char *dir =
		    h->data_dir != NULL ? h->data_dir : paths_data_dir();
		if ((size_t) snprintf(h->admin_buf, sizeof(h->admin_buf),
		                      "ipc://%s/admin.sock",
		                      dir) >= sizeof(h->admin_buf)) {
			return hbctl_usage_error(h, "the data dir is too long");
		}
		h->admin_url = h->admin_buf;
		h->admin_derived = true;
	}
	if (url_check(h->admin_url, URL_TCP | URL_TLS | URL_IPC,
	              h->admin_derived ? "admin socket of the data dir"
	                               : "--admin",
	              why, sizeof(why)) != HBMON_OK) {
		return hbctl_usage_error(h, "%s", why);
	}
	return HBCTL_CONTINUE;
}

static void
print_help(const struct hbctl *h)
{
	fputs(h->usage, stdout);
	fputc('\n', stdout);
	fputs(hbctl_global_help, stdout);
}

int
hbctl_parse(struct hbctl *h, int argc, char **argv, const struct option *opts,
            int (*on_flag)(struct hbctl *h, int val, const char *value,
                           void *arg),
            void *arg, int *first)
{
	struct option all[64];
	size_t n = 0;
	int ch, rv = HBCTL_CONTINUE;

	/* The verb's flags first: getopt takes the first exact match, so a
	 * verb may give a global name its own meaning (alerts --robot R). */
	for (size_t i = 0; opts != NULL && opts[i].name != NULL; i++) {
		all[n++] = opts[i];
	}
	for (size_t i = 0; hbctl_global_options[i].name != NULL; i++) {
		all[n++] = hbctl_global_options[i];
	}
	assert(n < sizeof(all) / sizeof(all[0]));
	memset(&all[n], 0, sizeof(all[n]));

	/* glibc: optind 0 starts over; permuting, so flags may follow the
	 * arguments ("hbctl robot add R1 --json"). */
	optind = 0;
	opterr = 0;
	while (rv == HBCTL_CONTINUE &&
	       (ch = getopt_long(argc, argv, ":h", all, NULL)) != -1) {
		const char *flag = argv[optind - 1];

		switch (ch) {
		case 'h':
			print_help(h);
			return HBCTL_EXIT_OK;
		case ':':
			return hbctl_usage_error(h, "%s needs a value", flag);
		case '?':
			if (optopt != 0) {
				return hbctl_usage_error(
				    h, "unknown flag '-%c'", optopt);
			}
			return hbctl_usage_error(h, "unknown flag '%s'", flag);
		default:
			if (ch >= 1000) {
				rv = on_flag(h, ch, optarg, arg);
			} else {
				rv = hbctl_global_flag(h, ch, optarg);
			}
		}
	}
	*first = optind;
	h->color = out_want_color(h->no_color);
	if (rv == HBCTL_CONTINUE) {
		rv = settle_admin_url(h);
	}
	return rv;
}
