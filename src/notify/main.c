/*
 * hbmon-notify: delivers hbmon alerts to one sink (SPEC §4, §6).
 *
 *   hbmon-notify --sink telegram|email|webhook|exec|stdout
 *                [--admin URL] [--subscribe URL] [--config FILE] ...
 *
 * Sink settings come from the config file, the environment (HBMON_*) or
 * flags; secrets only from files or the environment. See docs/notifiers.md.
 */
#include <curl/curl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/alert_filter.h"
#include "common/clock.h"
#include "common/log.h"
#include "common/sdnotify.h"
#include "hbmon/error.h"
#include "notify/contact.h"
#include "notify/cursor.h"
#include "notify/deadman.h"
#include "notify/delivery.h"
#include "notify/http.h"
#include "notify/message.h"
#include "notify/selfbeat.h"
#include "notify/settings.h"
#include "notify/sink.h"
#include "notify/source.h"

#define EXIT_CONFIG 2
#define SECRET_MAX  512

static atomic_bool stopping;

static void
on_signal(int sig)
{
	(void) sig;
	atomic_store(&stopping, true);
}

static void
usage(FILE *f)
{
	fprintf(f,
	        "usage: hbmon-notify --sink telegram|email|webhook|exec|stdout "
	        "[--admin URL]\n"
	        "                    [--subscribe URL] [--config FILE] "
	        "[--KEY VALUE ...]\n"
	        "       hbmon-notify --check-config --sink NAME [...]\n"
	        "       hbmon-notify --version\n"
	        "\n"
	        "Delivers hbmon alerts, at least once and in order, to one "
	        "sink.\n"
	        "Secrets come from files or the environment "
	        "(HBMON_TELEGRAM_TOKEN,\n"
	        "HBMON_SMTP_PASSWORD_FILE, HBMON_WEBHOOK_SECRET_FILE, "
	        "HBMON_SECRET), never\n"
	        "from the command line; a secret file must be mode 0600.\n"
	        "--check-config checks the settings, templates and secret "
	        "files, prints\n"
	        "the settings and exits: 0 good, 2 bad. Nothing is created; "
	        "exit status 2\n"
	        "is always bad configuration, found before anything is "
	        "created.\n"
	        "\n");
	config_print_help(&notify_settings_spec, f);
}

/* Whether flag (or its short form, when not NULL) comes before any "--". */
static bool
wants_flag(int argc, char **argv, const char *flag, const char *short_flag)
{
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--") == 0) {
			break;
		}
		if (strcmp(argv[i], flag) == 0 ||
		    (short_flag != NULL && strcmp(argv[i], short_flag) == 0)) {
			return true;
		}
	}
	return false;
}

/* Loads the own robot's secret into secret when a robot is configured. */
static int
selfbeat_secret(const struct notify_settings *s, char *secret, size_t len)
{
	char why[600];
	int rv;

	if (s->robot[0] == '\0') {
		return HBMON_OK;
	}
	if ((rv = notify_secret(s->secret_file, "HBMON_SECRET", secret, len,
	                        why, sizeof(why))) != HBMON_OK) {
		fprintf(stderr,
		        "hbmon-notify: secret of robot %s: %s (set "
		        "HBMON_NOTIFY_SECRET_FILE or secret_file)\n",
		        s->robot, why);
	}
	return rv;
}

/* Starts self-heartbeats when a robot is configured, signed with secret. */
static int
start_selfbeat(const struct notify_settings *s, const char *secret,
               struct selfbeat **out)
{
	struct selfbeat_options o = { 0 };
	char why[600];
	int rv;

	*out = NULL;
	if (s->robot[0] == '\0') {
		log_warn("no own heartbeats: set robot (and its secret) so the "
		         "server notices when this notifier dies",
		         "notifier=%s", s->name);
		return HBMON_OK;
	}
	o.server = s->server;
	o.tls = notify_settings_tls(s);
	o.robot = s->robot;
	o.secret = secret;
	o.secret_len = strlen(secret);
	o.interval_ms = s->heartbeat_interval;
	rv = selfbeat_start(&o, out, why, sizeof(why));
	if (rv != HBMON_OK) {
		fprintf(stderr, "hbmon-notify: own heartbeats: %s\n", why);
		return rv;
	}
	log_info("own heartbeats", "robot=%s server=%s interval_ms=%lld",
	         s->robot, s->server, (long long) s->heartbeat_interval);
	return HBMON_OK;
}

/* Whether deadman_url is an http(s) URL curl can use; says why not. */
static bool
deadman_url_ok(const char *url)
{
	char why[512];

	if (strncmp(url, "https://", 8) != 0 &&
	    strncmp(url, "http://", 7) != 0) {
		fprintf(stderr, "hbmon-notify: deadman_url: give an http(s):// "
		                "URL to ping\n");
		return false;
	}
	if (http_url_check(url, why, sizeof(why)) != HBMON_OK) {
		fprintf(stderr, "hbmon-notify: deadman_url: %s\n", why);
		return false;
	}
	return true;
}

/* Loads the admin secret when the admin URL is tcp (signed as @admin). */
static int
admin_secret(const struct notify_settings *s, char *buf, size_t len, bool *have)
{
	char why[600];
	int rv;

	*have = false;
	if (strncmp(s->admin, "tcp://", 6) != 0 &&
	    strncmp(s->admin, "tls+tcp://", 10) != 0) {
		return HBMON_OK;
	}
	if ((rv = notify_secret(s->admin_secret_file, "HBMON_ADMIN_SECRET", buf,
	                        len, why, sizeof(why))) != HBMON_OK) {
		fprintf(stderr, "hbmon-notify: admin secret for %s: %s\n",
		        s->admin, why);
		return rv;
	}
	*have = true;
	return HBMON_OK;
}

int
main(int argc, char **argv)
{
	static struct notify_settings set;
	struct config_error err;
	const struct sink_ops *ops;
	struct message_set *messages = NULL;
	struct cursor *cursor = NULL;
	struct source *source = NULL;
	struct selfbeat *beat = NULL;
	struct contact *contact = NULL;
	struct deadman *deadman = NULL;
	struct contact_options co = { 0 };
	struct alert_filter filter;
	struct sink_env env = { 0 };
	struct source_options so = { 0 };
	struct delivery_options dopt = { 0 };
	struct sigaction sa;
	char why[1024], key[SECRET_MAX], beat_secret[SECRET_MAX] = "";
	const char *sev;
	void *sink = NULL;
	uint64_t seq = 0;
	bool found = false, have_key = false, check_only;
	int npos = 0, code = EXIT_CONFIG;

	if (wants_flag(argc, argv, "--version", NULL)) {
		printf("hbmon-notify %s\n", HBMON_VERSION);
		return 0;
	}
	if (wants_flag(argc, argv, "--help", "-h")) {
		usage(stdout);
		return 0;
	}
	check_only = config_take_flag(&argc, argv, "--check-config");
	if (notify_settings_load(&set, argc, argv, &npos, &err) != HBMON_OK) {
		fprintf(stderr, "hbmon-notify: %s\n", err.text);
		return EXIT_CONFIG;
	}
	if (npos > 0) {
		fprintf(stderr, "hbmon-notify: unexpected argument '%s'\n",
		        argv[1]);
		return EXIT_CONFIG;
	}
	log_set_level((enum log_level) set.log_level);

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != 0) {
		fprintf(stderr, "hbmon-notify: cannot initialise libcurl\n");
		return 1;
	}

	ops = sink_find(set.sink);
	sev = notify_severity_words[set.min_severity];
	if (alert_filter_parse(&filter, sev, set.kinds, set.robots, why,
	                       sizeof(why)) != HBMON_OK ||
	    notify_settings_tz(&set, &env.tz_offset_min, why, sizeof(why)) !=
	        HBMON_OK) {
		fprintf(stderr, "hbmon-notify: %s\n", why);
		goto out;
	}
	if (ops->needs_messages) {
		struct message_options mo = {
			.dir = set.templates_dir,
			.lang = set.lang,
			.tz_offset_min = env.tz_offset_min,
			.notifier = set.name,
		};
		if (message_set_load(&mo, &messages, why, sizeof(why)) !=
		    HBMON_OK) {
			fprintf(stderr, "hbmon-notify: %s\n", why);
			goto out;
		}
	}
	env.settings = &set;
	env.messages = messages;
	env.stop = &stopping;
	if (ops->open(&env, &sink, why, sizeof(why)) != HBMON_OK) {
		fprintf(stderr, "hbmon-notify: %s\n", why);
		goto out;
	}
	if (admin_secret(&set, key, sizeof(key), &have_key) != HBMON_OK ||
	    selfbeat_secret(&set, beat_secret, sizeof(beat_secret)) !=
	        HBMON_OK) {
		goto out;
	}
	if (set.deadman_url[0] != '\0' && !deadman_url_ok(set.deadman_url)) {
		goto out;
	}
	/* Everything above only reads: bad configuration (exit 2) leaves
	 * no cursor, lock or state dir behind. From here on a failure is
	 * the system's, not the settings'. */
	if (check_only) {
		config_print_values(&notify_settings_spec, &set, stdout);
		code = fflush(stdout) == 0 ? 0 : 1;
		goto out;
	}
	code = 1;
	if (cursor_open(set.state_dir, set.name, &cursor, &seq, &found, why,
	                sizeof(why)) != HBMON_OK) {
		fprintf(stderr, "hbmon-notify: %s\n", why);
		goto out;
	}
	so.admin_url = set.admin;
	so.tls = notify_settings_tls(&set);
	so.subscribe_url = set.subscribe;
	so.admin_key = have_key ? key : NULL;
	so.admin_key_len = have_key ? strlen(key) : 0;
	so.queue_max = set.queue_max;
	so.poll_interval_ms = set.poll_interval;
	so.retry_ms = set.retry_min;
	/* Ask the outbox well before server_timeout runs out: a quiet PUB
	 * socket alone does not mean the server is gone. */
	so.probe_ms = set.server_timeout / 3;
	so.reader = set.name;
	filter.no_recovered = !set.recovered;
	if (!found && set.first_run != 1) {
		/* first_run = new or recent: where the outbox ends now. */
		uint64_t end;
		struct source *probe;
		if (source_open(&so, 0, &probe, why, sizeof(why)) != HBMON_OK) {
			fprintf(stderr, "hbmon-notify: %s\n", why);
			goto out;
		}
		while (source_outbox_last(probe, &end, why, sizeof(why)) !=
		       HBMON_OK) {
			log_warn("waiting for the server to learn where the "
			         "outbox ends (first_run)",
			         "why=%s", why);
			if (atomic_load(&stopping)) {
				source_close(probe);
				code = 0;
				goto out;
			}
		}
		source_close(probe);
		if (set.first_run == 2) {
			/* new: start after it. */
			seq = end;
			found = true;
			if (cursor_store(cursor, seq, why, sizeof(why)) !=
			    HBMON_OK) {
				fprintf(stderr, "hbmon-notify: %s\n", why);
				goto out;
			}
		} else {
			/* recent: of the past, only what was raised lately,
			 * and so every episode still firing and not
			 * acknowledged (it repeats every repeat_interval);
			 * the cursor passes the rest. */
			filter.past_seq = end;
			filter.raised_after_ms =
			    clock_wall_ms() - set.first_run_window;
			log_info("first run: delivering what the last "
			         "first_run_window raised",
			         "outbox_last=%" PRIu64
			         " first_run_window_ms=%lld",
			         end, (long long) set.first_run_window);
		}
	}
	if (source_open(&so, seq, &source, why, sizeof(why)) != HBMON_OK) {
		fprintf(stderr, "hbmon-notify: %s\n", why);
		goto out;
	}
	if (start_selfbeat(&set, beat_secret, &beat) != HBMON_OK) {
		goto out;
	}
	co.state_dir = set.state_dir;
	co.name = set.name;
	co.server_timeout = set.server_timeout;
	co.repeat_interval = set.repeat_interval;
	co.tz_offset_min = env.tz_offset_min;
	if (contact_open(&co, clock_mono_ms(), &contact, why, sizeof(why)) !=
	    HBMON_OK) {
		fprintf(stderr, "hbmon-notify: %s\n", why);
		goto out;
	}
	if (set.deadman_url[0] != '\0') {
		if (deadman_start(set.deadman_url, set.deadman_interval,
		                  &deadman) != HBMON_OK) {
			fprintf(stderr, "hbmon-notify: cannot start the dead "
			                "man's switch\n");
			goto out;
		}
	}
	log_info("hbmon-notify started",
	         "sink=%s name=%s cursor=%llu cursor_file=%s admin=%s "
	         "subscribe=%s min_severity=%s",
	         set.sink, set.name, (unsigned long long) seq,
	         cursor_path(cursor), set.admin, set.subscribe, sev);

	dopt.ops = ops;
	dopt.sink = sink;
	dopt.source = source;
	dopt.cursor = cursor;
	dopt.cursor_seq = seq;
	dopt.filter = &filter;
	dopt.limits = notify_settings_limits(&set);
	dopt.retry_min_ms = set.retry_min;
	dopt.retry_max_ms = set.retry_max;
	dopt.degraded_after_ms = set.degraded_after;
	dopt.selfbeat = beat;
	dopt.contact = contact;
	dopt.deadman = deadman;
	dopt.stop = &stopping;
	dopt.name = set.name;
	sdnotify_ready("delivering");
	code = delivery_run(&dopt) == HBMON_OK ? 0 : 1;
	sdnotify_stopping();
	log_info("hbmon-notify stopped", "name=%s", set.name);
out:
	deadman_stop(deadman);
	contact_close(contact);
	selfbeat_stop(beat);
	source_close(source);
	cursor_close(cursor);
	if (sink != NULL) {
		ops->close(sink);
	}
	message_set_free(messages);
	explicit_bzero(key, sizeof(key));
	explicit_bzero(beat_secret, sizeof(beat_secret));
	curl_global_cleanup();
	return code;
}
