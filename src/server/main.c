/*
 * hbmon-server: records robots' heartbeats, applies the documented state
 * rules and (with the alert engine) raises alerts. With no arguments it
 * serves on defaults against the default data dir (common/paths.h:
 * /var/lib/hbmon, or ./var from the build tree).
 *
 * Exit status: 0 stopped by a signal (or --help, --version,
 * --check-config), 1 could not start or failed, 2 bad configuration —
 * found before anything is created, so a typo leaves no trace.
 */
#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <pthread.h>
#include <stdbool.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/dirs.h"
#include "common/log.h"
#include "common/sdnotify.h"
#include "hbmon/error.h"
#include "common/secret.h"
#include "common/sign.h"
#include "common/tlsconf.h"
#include "server/admin.h"
#include "server/health.h"
#include "server/http.h"
#include "server/http_health.h"
#include "server/http_ingest.h"
#include "server/http_ping.h"
#include "server/http_views.h"
#include "server/ingest.h"
#include "server/publisher.h"
#include "server/recorder.h"
#include "server/registry.h"
#include "server/selfcheck.h"
#include "server/selfwatch.h"
#include "server/settings.h"
#include "server/store.h"
#include "server/views.h"
#include "server/watcher.h"
#ifdef HBMON_TEST_HOOKS
#include "server/listener_hook.h"
#endif

#define EXIT_CONFIG      2
#define DRAIN_TIMEOUT_MS 10000
/* fds kept for the database, nng, logs and the rest. */
#define FD_RESERVE 128

static void
usage(FILE *f)
{
	fprintf(f, "usage: hbmon-server [--config FILE] [--KEY VALUE ...]\n"
	           "       hbmon-server --check-config [--config FILE] ...\n"
	           "       hbmon-server --status-token [--config FILE] ...\n"
	           "       hbmon-server --version\n"
	           "\n"
	           "Records trading robots' heartbeats and raises alerts.\n"
	           "Every key of the config file is also a flag; flags win.\n"
	           "--check-config checks the settings (and the admin secret\n"
	           "file), prints them and exits: 0 good, 2 bad. Nothing is\n"
	           "created. --status-token prints the token the status page\n"
	           "and /metrics ask for (from admin_secret_file).\n"
	           "\n");
	config_print_help(&settings_spec, f);
}

/*
 * Refuses a data dir that another user could change: one writable by
 * group or others, or owned by someone else, could have admin.sock (the
 * owner's socket) or the database moved away and replaced. Checked
 * before anything is created in it. Returns false with a message that
 * gives the fix.
 */
static bool
data_dir_is_private(const char *data_dir)
{
	struct stat st;

	if (stat(data_dir, &st) != 0) {
		fprintf(stderr, "hbmon-server: cannot use data dir %s: %s\n",
		        data_dir, strerror(errno));
		return false;
	}
	if (!S_ISDIR(st.st_mode)) {
		fprintf(stderr,
		        "hbmon-server: data dir %s is not a directory\n",
		        data_dir);
		return false;
	}
	if (st.st_uid != geteuid()) {
		fprintf(stderr,
		        "hbmon-server: data dir %s belongs to uid %ld, not to "
		        "the server's user (uid %ld): fix it with `chown %ld "
		        "%s`, or run the server as its owner\n",
		        data_dir, (long) st.st_uid, (long) geteuid(),
		        (long) geteuid(), data_dir);
		return false;
	}
	if ((st.st_mode & (S_IWGRP | S_IWOTH)) != 0) {
		fprintf(stderr,
		        "hbmon-server: data dir %s is writable by %s (mode "
		        "%04o): another user could replace its sockets or its "
		        "database; fix it with `chmod 700 %s`\n",
		        data_dir,
		        (st.st_mode & S_IWOTH) != 0 ? "others" : "its group",
		        (unsigned) (st.st_mode & 07777), data_dir);
		return false;
	}
	return true;
}

/*
 * Holds data_dir/server.lock for the life of the process, so a second
 * server on the same data dir is refused instead of corrupting state.
 * Returns the fd, or -1 with a message printed.
 */
static int
lock_data_dir(const char *data_dir)
{
	char path[SETTINGS_PATH_MAX + 32];
	char pid[32];
	int fd;
	ssize_t n;

	snprintf(path, sizeof(path), "%s/server.lock", data_dir);
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0) {
		fprintf(stderr, "hbmon-server: cannot open %s: %s\n", path,
		        strerror(errno));
		return -1;
	}
	if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
		n = read(fd, pid, sizeof(pid) - 1);
		pid[n > 0 ? n : 0] = '\0';
		pid[strcspn(pid, "\n")] = '\0';
		fprintf(stderr,
		        "hbmon-server: another hbmon-server%s%s%s is already "
		        "using data dir %s; stop it first or choose another "
		        "--data-dir\n",
		        pid[0] != '\0' ? " (pid " : "", pid,
		        pid[0] != '\0' ? ")" : "", data_dir);
		close(fd);
		return -1;
	}
	snprintf(pid, sizeof(pid), "%ld\n", (long) getpid());
	if (ftruncate(fd, 0) != 0 ||
	    pwrite(fd, pid, strlen(pid), 0) != (ssize_t) strlen(pid)) {
		/* The lock is what matters; the pid is only a courtesy. */
		log_warn("cannot write the pid to the lock file", "path=%s",
		         path);
	}
	return fd;
}

/*
 * Lets the process have as many fds as the system allows it, and keeps
 * the connection caps within that, with room for the database, nng and
 * the rest (FD_RESERVE): running out of fds would stop SQLite and nng
 * too, not only new connections.
 */
static void
fit_fd_limit(struct server_settings *set, bool admin_tcp)
{
	struct rlimit rl;
	uint64_t others, need, room;

	if (getrlimit(RLIMIT_NOFILE, &rl) != 0) {
		return;
	}
	if (rl.rlim_cur < rl.rlim_max) {
		rlim_t want = rl.rlim_max;
		rl.rlim_cur = want;
		if (setrlimit(RLIMIT_NOFILE, &rl) != 0) {
			getrlimit(RLIMIT_NOFILE, &rl);
		}
	}
	others = (uint64_t) set->admin_max_connections * (admin_tcp ? 2 : 1) +
	         set->publish_max_connections;
	need = (uint64_t) set->max_connections + others + FD_RESERVE;
	if (rl.rlim_cur == RLIM_INFINITY || need <= (uint64_t) rl.rlim_cur) {
		return;
	}
	room = (uint64_t) rl.rlim_cur > others + FD_RESERVE + 16
	           ? (uint64_t) rl.rlim_cur - others - FD_RESERVE
	           : 16;
	log_warn("the fd limit is lower than the connection caps need; "
	         "max_connections lowered to fit (raise LimitNOFILE / ulimit "
	         "-n to keep it)",
	         "fd_limit=%llu max_connections=%u lowered_to=%llu",
	         (unsigned long long) rl.rlim_cur, set->max_connections,
	         (unsigned long long) room);
	set->max_connections = (uint32_t) room;
}

/* The limits of one listener from the settings. */
static void
edge_limits(const struct server_settings *set, uint32_t max_connections,
            struct listener_limits *out)
{
	memset(out, 0, sizeof(*out));
	out->handshake_ms = set->handshake_timeout;
	out->idle_ms = set->idle_timeout;
	out->message_ms = set->message_timeout;
	out->max_connections = max_connections;
	out->max_per_peer = set->max_connections_per_peer;
	out->accept_rate = set->accept_rate;
	out->unauth_buffer_max = set->unauth_buffer_max;
	out->refusal_log_ms = set->refusal_log_interval;
}

/* The HTTP listener's limits from the settings. */
static void
http_limits_of(const struct server_settings *set, struct http_limits *out)
{
	memset(out, 0, sizeof(*out));
	out->max_connections = set->http_max_connections;
	out->max_per_peer = set->max_connections_per_peer;
	out->header_max = (size_t) set->http_header_max;
	out->body_max = (size_t) set->http_body_max;
	out->body_budget = (size_t) set->unauth_buffer_max;
	out->header_ms = set->http_header_timeout;
	out->body_ms = set->http_body_timeout;
	/* idle_timeout 0 means "never"; a day stands for it here. */
	out->idle_ms = set->idle_timeout > 0 ? set->idle_timeout : 86400000;
	out->send_ms = set->message_timeout;
	out->refusal_log_ms = set->refusal_log_interval;
}

/*
 * Opens the HTTP listener (http_listen), adds its handlers and starts
 * it. Returns HBMON_OK (also when http_listen is empty: *out NULL) or
 * an error with a message printed.
 */
static int
start_http(const struct server_settings *set, nng_tls_config *tls,
           const struct http_health *hh, const struct http_ingest *hi,
           const struct http_views *hv, struct http_server **out)
{
	struct http_limits lim;
	struct http_options ho = { 0 };
	char why[1024];
	int rv;

	*out = NULL;
	if (set->http_listen[0] == '\0') {
		return HBMON_OK;
	}
	http_limits_of(set, &lim);
	ho.url = set->http_listen;
	ho.limits = &lim;
	ho.tls = tls;
	if ((rv = http_open(&ho, out, why, sizeof(why))) != HBMON_OK) {
		fprintf(stderr, "hbmon-server: %s\n", why);
		return rv;
	}
	if ((rv = http_health_register(*out, hh)) != HBMON_OK ||
	    (rv = http_ingest_register(*out, hi)) != HBMON_OK ||
	    (rv = http_views_register(*out, hv)) != HBMON_OK ||
	    (rv = http_ping_register(*out, hi)) != HBMON_OK ||
	    (rv = http_start(*out, why, sizeof(why))) != HBMON_OK) {
		fprintf(stderr, "hbmon-server: %s\n",
		        rv == HBMON_OK ? "cannot add the HTTP handlers" : why);
		http_close(*out);
		*out = NULL;
	}
	return rv;
}

/*
 * Prepares what GET /metrics and the status page show (views.h) and who
 * may see them (http_views.h): off loopback, the holders of the token
 * derived from the admin secret. Returns HBMON_OK, or an error with a
 * message printed.
 */
static int
start_views(const struct server_settings *set, const char *admin_secret,
            bool need_token, struct recorder *rec, struct registry *reg,
            struct health *health, struct views **out, struct http_views *hv)
{
	struct views_options vo = { 0 };
	int rv;

	vo.data_dir = set->data_dir;
	vo.rec = rec;
	vo.reg = reg;
	vo.health = health;
	vo.started_ms = clock_wall_ms();
	vo.version = HBMON_VERSION;
	if ((rv = views_open(&vo, out)) != HBMON_OK) {
		fprintf(stderr, "hbmon-server: out of memory\n");
		return rv;
	}
	hv->views = *out;
	hv->require_token = need_token;
	hv->https = strncmp(set->http_listen, "https://", 8) == 0;
	if (need_token && admin_secret[0] != '\0' &&
	    (rv = http_views_token(admin_secret, hv->token,
	                           sizeof(hv->token))) != HBMON_OK) {
		fprintf(stderr,
		        "hbmon-server: cannot make the status token: %s\n",
		        hbmon_strerror(rv));
		return rv;
	}
	if (need_token && hv->token[0] == '\0') {
		log_warn("http_listen is not bound to loopback and there is no "
		         "admin_secret_file: the status page and /metrics "
		         "answer 403 there until one is set",
		         "http_listen=%s", set->http_listen);
	} else if (need_token && !hv->https) {
		log_warn("http_listen is not loopback and not https://: the "
		         "status token crosses the network in cleartext",
		         "http_listen=%s", set->http_listen);
	}
	return HBMON_OK;
}

/*
 * The TLS config every tls+tcp:// listener shares, or NULL when none is
 * tls+tcp://. Returns false (message printed) when it cannot be made.
 */
static bool
make_tls(const struct server_settings *set, nng_tls_config **out)
{
	char why[1024], warn[512];

	*out = NULL;
	if (!tlsconf_is_tls_url(set->listen) &&
	    !tlsconf_is_tls_url(set->admin_tcp) &&
	    !tlsconf_is_tls_url(set->publish) &&
	    strncmp(set->http_listen, "https://", 8) != 0) {
		if (set->tls_cert_file[0] != '\0') {
			log_warn("tls_cert_file is set, but no listener is "
			         "tls+tcp://",
			         "tls_cert_file=%s", set->tls_cert_file);
		}
		return true;
	}
	if (tlsconf_server(set->tls_cert_file, set->tls_key_file,
	                   set->tls_ca_file,
	                   (enum tlsconf_verify) set->tls_verify_peer, out, why,
	                   sizeof(why), warn, sizeof(warn)) != HBMON_OK) {
		fprintf(stderr, "hbmon-server: %s\n", why);
		return false;
	}
	if (warn[0] != '\0') {
		log_error("TLS certificate not valid now", "why=%s", warn);
	}
	return true;
}

/*
 * Starts watching the server itself (SPEC §3.6): the report to a watching
 * server when watch_server is set (signed with watch_secret, read with
 * the other secrets before anything was created), then the loop that
 * feeds the systemd watchdog and publishes keepalives. Returns HBMON_OK,
 * or an error with a message printed.
 */
static int
start_selfwatch(const struct server_settings *set, const char *watch_secret,
                struct health *health, struct recorder *rec,
                struct publisher *pub, int64_t started_mono,
                struct watcher **out_watcher, struct selfwatch **out)
{
	struct selfwatch_options so = { 0 };
	char why[1024];
	int rv;

	*out_watcher = NULL;
	if (set->watch_server[0] != '\0') {
		struct watcher_options wo = { 0 };
		wo.server = set->watch_server;
		wo.robot = set->watch_robot;
		wo.secret = watch_secret;
		wo.interval_ms = set->watch_interval;
		rv = watcher_open(&wo, out_watcher, why, sizeof(why));
		if (rv != HBMON_OK) {
			fprintf(stderr, "hbmon-server: %s\n", why);
			return rv;
		}
		log_info("reporting this server's health as a robot",
		         "watch_server=%s watch_robot=%s", set->watch_server,
		         set->watch_robot);
	}
	so.health = health;
	so.recorder = rec;
	so.publisher = pub;
	so.watcher = *out_watcher;
	so.keepalive_interval_ms = set->keepalive_interval;
	so.started_mono_ms = started_mono;
	if ((rv = selfwatch_start(&so, out)) != HBMON_OK) {
		fprintf(stderr, "hbmon-server: cannot start watching itself\n");
		watcher_close(*out_watcher);
		*out_watcher = NULL;
	}
	return rv;
}

/*
 * Starts the listener self-check (SPEC §3.6) on every listener the server
 * has, with a TLS client config of the server's own certificate when one
 * of them is tls+tcp://. Returns HBMON_OK, or an error with a message
 * printed.
 */
static int
start_selfcheck(const struct server_settings *set, struct health *health,
                struct recorder *rec, struct ingest *ing, struct admin *adm,
                struct publisher *pub, struct selfcheck **out)
{
	struct selfcheck_options so = { 0 };
	char why[1024];
	int rv;

	so.health = health;
	so.recorder = rec;
	so.interval_ms = set->listener_check;
	so.listeners[so.n_listeners++] = ingest_listener(ing);
	so.listeners[so.n_listeners++] = admin_ipc_listener(adm);
	if (admin_tcp_listener(adm) != NULL) {
		so.listeners[so.n_listeners++] = admin_tcp_listener(adm);
	}
	so.listeners[so.n_listeners++] = publisher_listener(pub);
	for (size_t i = 0; i < so.n_listeners && so.tls == NULL; i++) {
		if (tlsconf_is_tls_url(listener_url(so.listeners[i])) &&
		    tlsconf_self(set->tls_cert_file, set->tls_key_file, &so.tls,
		                 why, sizeof(why)) != HBMON_OK) {
			fprintf(stderr,
			        "hbmon-server: the listener self-check: %s\n",
			        why);
			return HBMON_EINVAL;
		}
	}
	rv = selfcheck_start(&so, out);
	tlsconf_free(so.tls); /* the self-check holds its own */
	if (rv != HBMON_OK) {
		fprintf(stderr,
		        "hbmon-server: cannot start the listener self-check\n");
	}
	return rv;
}

#ifdef HBMON_TEST_HOOKS
/*
 * Test builds only (hbmon-server-hooks): SIGUSR2 breaks the listener
 * named in DATA_DIR/break-listener ("robots", "admin", "admin_tcp",
 * "alerts"), for the self-check to find (tests/server_selfcheck_test.c).
 */
static void
hook_break(const char *data_dir, struct ingest *ing, struct admin *adm,
           struct publisher *pub)
{
	struct listener *all[] = { ingest_listener(ing),
		                   admin_ipc_listener(adm),
		                   admin_tcp_listener(adm),
		                   publisher_listener(pub) };
	char path[SETTINGS_PATH_MAX + 32], name[32] = "";
	FILE *f;

	snprintf(path, sizeof(path), "%s/break-listener", data_dir);
	if ((f = fopen(path, "r")) != NULL) {
		if (fgets(name, sizeof(name), f) == NULL) {
			name[0] = '\0';
		}
		fclose(f);
	}
	name[strcspn(name, "\n")] = '\0';
	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++) {
		if (all[i] != NULL &&
		    strcmp(listener_name(all[i]), name) == 0) {
			listener_hook_break(all[i]);
			log_info("test hook: listener broken", "listener=%s",
			         name);
			return;
		}
	}
	log_warn("test hook: no such listener", "listener=%s", name);
}
#endif

static int
load_robot(void *arg, const struct store_robot *row)
{
	uint8_t ping[SIGN_LEN];
	int rv = registry_add(arg, row->robot, row->secret, row->last_seq,
	                      row->last_sig, row->interval_max_ms);

	if (rv == HBMON_OK && sign_unhex(row->ping_hash, ping, sizeof(ping))) {
		rv = registry_set_ping(arg, row->robot, ping);
	}
	return rv;
}

int
main(int argc, char **argv)
{
	struct server_settings set;
	struct config_error err;
	struct registry reg;
	struct store *store = NULL;
	struct recorder *rec = NULL;
	struct ingest *ing = NULL;
	struct http_server *http = NULL;
	struct http_health hh = { 0 };
	struct http_ingest hi = { 0 };
	struct http_views hv = { 0 };
	struct views *views = NULL;
	bool print_token, http_token;
	struct publisher *pub = NULL;
	struct admin *adm = NULL;
	struct health *health = NULL;
	struct health_options hopts = { 0 };
	struct selfwatch *sw = NULL;
	struct selfcheck *sc = NULL;
	struct watcher *watcher = NULL;
	int64_t started_mono = clock_mono_ms();
	struct admin_options aopts;
	char admin_secret[REGISTRY_SECRET_MAX] = "";
	char watch_secret[REGISTRY_SECRET_MAX] = "";
	struct recorder_options ropts;
	struct ingest_options iopts = { 0 };
	struct publisher_options popts = { 0 };
	struct listener_limits robot_limits, admin_limits, publish_limits;
	nng_tls_config *tls = NULL;
	sigset_t stop_signals;
	char why[1024];
	bool check_only;
	int npos = 0;
	int lock_fd = -1;
	int sig = 0;
	int rv;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--help") == 0 ||
		    strcmp(argv[i], "-h") == 0) {
			usage(stdout);
			return 0;
		}
		if (strcmp(argv[i], "--version") == 0) {
			printf("hbmon-server %s\n", HBMON_VERSION);
			return 0;
		}
	}
	check_only = config_take_flag(&argc, argv, "--check-config");
	print_token = config_take_flag(&argc, argv, "--status-token");
	if (settings_load(&set, argc, argv, &npos, &err) != HBMON_OK) {
		fprintf(stderr, "hbmon-server: %s\n", err.text);
		return EXIT_CONFIG;
	}
	if (npos > 0) {
		fprintf(stderr,
		        "hbmon-server: unexpected argument '%s' (settings are "
		        "given as --key value; see --help)\n",
		        argv[1]);
		return EXIT_CONFIG;
	}
	log_set_level((enum log_level) set.log_level);
	/* The status page and /metrics need a token off loopback
	 * (http_views.h). */
	http_token = set.http_listen[0] != '\0' &&
	             !http_views_loopback_url(set.http_listen);
	if (print_token && set.admin_secret_file[0] == '\0') {
		fprintf(stderr, "hbmon-server: --status-token needs "
		                "admin_secret_file: the token is derived from "
		                "the admin secret\n");
		return EXIT_CONFIG;
	}
	/* A secret file that is missing or open to others is configuration
	 * too: found before the data dir is touched. */
	if ((set.admin_tcp[0] != '\0' || print_token ||
	     (http_token && set.admin_secret_file[0] != '\0')) &&
	    secret_load(set.admin_secret_file, NULL, admin_secret,
	                sizeof(admin_secret), why, sizeof(why)) != HBMON_OK) {
		fprintf(stderr, "hbmon-server: admin_secret_file: %s\n", why);
		return EXIT_CONFIG;
	}
	if (set.watch_server[0] != '\0' &&
	    secret_load(set.watch_secret_file, NULL, watch_secret,
	                sizeof(watch_secret), why, sizeof(why)) != HBMON_OK) {
		explicit_bzero(admin_secret, sizeof(admin_secret));
		fprintf(stderr, "hbmon-server: watch_secret_file: %s\n", why);
		return EXIT_CONFIG;
	}
	/* Certificates and keys are configuration too: checked now. */
	if (settings_check_tls(&set, &err) != HBMON_OK) {
		explicit_bzero(admin_secret, sizeof(admin_secret));
		explicit_bzero(watch_secret, sizeof(watch_secret));
		fprintf(stderr, "hbmon-server: %s\n", err.text);
		return EXIT_CONFIG;
	}
	if (!make_tls(&set, &tls)) {
		explicit_bzero(admin_secret, sizeof(admin_secret));
		explicit_bzero(watch_secret, sizeof(watch_secret));
		return EXIT_CONFIG;
	}
	if (print_token) {
		tlsconf_free(tls);
		explicit_bzero(watch_secret, sizeof(watch_secret));
		rv = http_views_token(admin_secret, hv.token, sizeof(hv.token));
		explicit_bzero(admin_secret, sizeof(admin_secret));
		if (rv != HBMON_OK) {
			fprintf(stderr,
			        "hbmon-server: cannot make the status "
			        "token: %s\n",
			        hbmon_strerror(rv));
			return 1;
		}
		printf("%s\n", hv.token);
		explicit_bzero(hv.token, sizeof(hv.token));
		return fflush(stdout) == 0 ? 0 : 1;
	}
	if (check_only) {
		tlsconf_free(tls);
		explicit_bzero(admin_secret, sizeof(admin_secret));
		explicit_bzero(watch_secret, sizeof(watch_secret));
		config_print_values(&settings_spec, &set, stdout);
		return fflush(stdout) == 0 ? 0 : 1;
	}
	/* A fixed threshold: blocks of 256 KiB and more are always mapped
	 * and unmapped when freed. glibc's default raises the threshold after
	 * every large free, after which one huge request's memory stays in
	 * the heap (and in RSS) for good. */
	mallopt(M_MMAP_THRESHOLD, 256 * 1024);

	fit_fd_limit(&set, set.admin_tcp[0] != '\0');
	edge_limits(&set, set.max_connections, &robot_limits);
	edge_limits(&set, set.admin_max_connections, &admin_limits);
	edge_limits(&set, set.publish_max_connections, &publish_limits);
	if (set.idle_timeout > 0 && set.idle_timeout <= set.interval_max) {
		log_warn("idle_timeout is not longer than interval_max: robots "
		         "that keep their connection between heartbeats will "
		         "reconnect for each one",
		         "idle_timeout_ms=%lld interval_max_ms=%lld",
		         (long long) set.idle_timeout,
		         (long long) set.interval_max);
	}

	/* Block the stop signals before any thread exists, so that they are
	 * delivered only to sigwait below. */
	sigemptyset(&stop_signals);
	sigaddset(&stop_signals, SIGTERM);
	sigaddset(&stop_signals, SIGINT);
#ifdef HBMON_TEST_HOOKS
	sigaddset(&stop_signals, SIGUSR2);
#endif
	pthread_sigmask(SIG_BLOCK, &stop_signals, NULL);
	signal(SIGPIPE, SIG_IGN);

	/* The database holds robot secrets: nothing the server creates is
	 * for other users' eyes. */
	umask(0077);
	if (dirs_make(set.data_dir) != 0) {
		fprintf(stderr, "hbmon-server: cannot create data dir %s: %s\n",
		        set.data_dir, strerror(errno));
		tlsconf_free(tls);
		return 1;
	}
	if (!data_dir_is_private(set.data_dir)) {
		tlsconf_free(tls);
		return 2; /* bad configuration */
	}
	if ((lock_fd = lock_data_dir(set.data_dir)) < 0) {
		tlsconf_free(tls);
		return 1;
	}
	if (store_open(set.data_dir, (enum store_durability) set.durability,
	               &store, why, sizeof(why)) != HBMON_OK) {
		fprintf(stderr, "hbmon-server: %s\n", why);
		tlsconf_free(tls);
		return 1;
	}
	memset(&aopts, 0, sizeof(aopts));
	if (registry_init(&reg, set.auth == AUTH_NONE, set.auth_window) !=
	    HBMON_OK) {
		fprintf(stderr, "hbmon-server: out of memory\n");
		store_close(store);
		tlsconf_free(tls);
		return 1;
	}
	if ((rv = store_robots_each(store, load_robot, &reg)) != HBMON_OK) {
		fprintf(stderr, "hbmon-server: cannot load robots: %s (%s)\n",
		        hbmon_strerror(rv), store_errmsg(store));
		goto fail;
	}
	if ((rv = store_admin_seq_get(store, &aopts.seq_floor)) != HBMON_OK) {
		fprintf(stderr,
		        "hbmon-server: cannot read the admin seq floor: %s\n",
		        store_errmsg(store));
		goto fail;
	}
	if (set.auth == AUTH_NONE) {
		log_warn("authentication is off (auth = none): any process "
		         "that reaches the socket can report as any robot; "
		         "use only for local development",
		         "listen=%s", set.listen);
	}

	popts.url = set.publish;
	popts.send_buffer = set.publish_buffer;
	popts.limits = &publish_limits;
	popts.tls = tls;
	popts.verify = (enum tlsconf_verify) set.tls_verify_peer;
	if (publisher_open(&popts, &pub, why, sizeof(why)) != HBMON_OK) {
		fprintf(stderr, "hbmon-server: %s\n", why);
		goto fail;
	}
	memset(&ropts, 0, sizeof(ropts));
	ropts.retention_ms = set.retention;
	ropts.alert_retention_ms = set.alert_retention;
	ropts.disk_free_min = (int64_t) set.disk_free_min;
	ropts.batch_max = set.batch_max;
	ropts.auth_none = set.auth == AUTH_NONE;
	ropts.interval_max_ms = set.interval_max;
	ropts.tick_ms = set.tick;
	ropts.flush_interval_ms = set.flush_interval;
	ropts.flush_when_idle = set.flush_when_idle;
	ropts.accounts_max = set.accounts_max;
	ropts.wal_max = (int64_t) set.wal_max;
	ropts.engine.miss_threshold = set.miss_threshold;
	ropts.engine.repeat_interval_ms = set.repeat_interval;
	ropts.engine.clock_skew_max_ms = set.clock_skew_max;
	ropts.registry = &reg;
	ropts.publisher = pub;
	hopts.data_dir = set.data_dir;
	hopts.disk_free_min = set.disk_free_min;
	hopts.backlog_max = set.workers / 2 > 8 ? set.workers / 2 : 8;
	if (health_open(&hopts, clock_mono_ms(), &health) != HBMON_OK) {
		fprintf(stderr, "hbmon-server: out of memory\n");
		goto fail;
	}
	ropts.health = health;
	if (store_open(set.data_dir, (enum store_durability) set.durability,
	               &ropts.checkpoint_store, why, sizeof(why)) != HBMON_OK) {
		log_warn("no second database connection; the writer "
		         "checkpoints",
		         "why=%s", why);
		ropts.checkpoint_store = NULL;
	}
	if ((rv = recorder_start(store, &ropts, &rec)) != HBMON_OK) {
		fprintf(stderr, "hbmon-server: cannot load state: %s (%s)\n",
		        hbmon_strerror(rv), store_errmsg(store));
		goto fail;
	}
	store = NULL; /* the recorder owns it now */
	/* Before listening: bad watch_* settings stop the start. */
	rv = start_selfwatch(&set, watch_secret, health, rec, pub, started_mono,
	                     &watcher, &sw);
	explicit_bzero(watch_secret, sizeof(watch_secret));
	if (rv != HBMON_OK) {
		goto fail;
	}

	aopts.data_dir = set.data_dir;
	aopts.ipc_url = set.admin;
	aopts.tcp_url = set.admin_tcp;
	aopts.recv_max = (size_t) set.admin_recv_max;
	aopts.limits = &admin_limits;
	aopts.tls = tls;
	aopts.verify = (enum tlsconf_verify) set.tls_verify_peer;
	aopts.miss_threshold = set.miss_threshold;
	aopts.interval_max_ms = set.interval_max;
	aopts.auth_window_ms = set.auth_window;
	aopts.started_ms = clock_wall_ms();
	aopts.version = HBMON_VERSION;
	if (set.admin_tcp[0] != '\0') {
		aopts.secret = admin_secret; /* loaded and checked above */
		if (strncmp(set.admin_tcp, "tls+tcp://", 10) != 0) {
			log_warn("admin_tcp is not TLS (admin_tcp_insecure = "
			         "true): robot secrets and every admin request "
			         "cross the network in cleartext",
			         "admin_tcp=%s", set.admin_tcp);
		}
	}
	if (admin_start(&aopts, rec, &reg, &adm, why, sizeof(why)) !=
	    HBMON_OK) {
		fprintf(stderr, "hbmon-server: %s\n", why);
		goto fail;
	}

	iopts.url = set.listen;
	iopts.recv_max = (size_t) set.recv_max;
	iopts.workers = set.workers;
	iopts.batch_items_max = set.accounts_max + 1;
	iopts.limits = &robot_limits;
	iopts.tls = tls;
	iopts.verify = (enum tlsconf_verify) set.tls_verify_peer;
	if (ingest_start(&iopts, &reg, rec, &ing, why, sizeof(why)) !=
	    HBMON_OK) {
		fprintf(stderr, "hbmon-server: %s\n", why);
		goto fail;
	}
	hh.health = health;
	hh.rec = rec;
	hi.ingest = ing;
	hi.batch_items_max = set.accounts_max + 1;
	hi.auth_none = set.auth == AUTH_NONE;
	if (set.http_listen[0] != '\0' &&
	    start_views(&set, admin_secret, http_token, rec, &reg, health,
	                &views, &hv) != HBMON_OK) {
		goto fail;
	}
	if (start_http(&set, tls, &hh, &hi, &hv, &http) != HBMON_OK) {
		goto fail;
	}
	explicit_bzero(admin_secret, sizeof(admin_secret));
	if (start_selfcheck(&set, health, rec, ing, adm, pub, &sc) !=
	    HBMON_OK) {
		goto fail;
	}
	sdnotify_ready("serving");
	/* The listeners hold the TLS config as long as they need it. */
	tlsconf_free(tls);
	tls = NULL;
	log_info("hbmon-server ready",
	         "version=%s data_dir=%s listen=%s admin=%s admin_tcp=%s "
	         "publish=%s http=%s auth=%s tls_verify_peer=%s",
	         HBMON_VERSION, set.data_dir, ingest_url(ing),
	         admin_ipc_url(adm),
	         admin_tcp_url(adm) != NULL ? admin_tcp_url(adm) : "",
	         publisher_url(pub), http != NULL ? http_url(http) : "",
	         set.auth == AUTH_NONE ? "none" : "hmac",
	         tlsconf_verify_words[set.tls_verify_peer]);

	for (;;) {
		if (sigwait(&stop_signals, &sig) != 0) {
			continue;
		}
#ifdef HBMON_TEST_HOOKS
		if (sig == SIGUSR2) {
			hook_break(set.data_dir, ing, adm, pub);
			continue;
		}
#endif
		break;
	}
	sdnotify_stopping();
	log_info("stopping", "signal=%s", sig == SIGINT ? "SIGINT" : "SIGTERM");
	selfcheck_stop(sc);
	selfwatch_stop(sw);
	watcher_close(watcher);
	admin_drain(adm, DRAIN_TIMEOUT_MS);
	if (http_drain(http, DRAIN_TIMEOUT_MS) > 0 ||
	    ingest_drain(ing, DRAIN_TIMEOUT_MS) > 0) {
		log_warn("requests still in progress after the drain timeout",
		         "timeout_ms=%d", DRAIN_TIMEOUT_MS);
	}
	http_close(http);
	views_close(views);
	explicit_bzero(hv.token, sizeof(hv.token));
	recorder_stop(rec);
	health_close(health);
	admin_close(adm);
	/* No nng socket is left to hang in nng_close (nanomsg/nng#1498):
	 * the listeners are the server's own, and close in bounded time. */
	ingest_close(ing);
	publisher_close(pub);
	registry_destroy(&reg);
	log_info("stopped", NULL);
	close(lock_fd);
	return 0;

fail:
	explicit_bzero(admin_secret, sizeof(admin_secret));
	tlsconf_free(tls);
	explicit_bzero(watch_secret, sizeof(watch_secret));
	selfcheck_stop(sc);
	selfwatch_stop(sw);
	watcher_close(watcher);
	http_close(http);
	views_close(views);
	explicit_bzero(hv.token, sizeof(hv.token));
	admin_close(adm);
	recorder_stop(rec);
	health_close(health);
	ingest_close(ing);
	publisher_close(pub);
	store_close(store);
	registry_destroy(&reg);
	close(lock_fd);
	return 1;
}
