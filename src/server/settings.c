/* hbmon-server's key table. */
#include "server/settings.h"

#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "common/log.h"
#include "common/paths.h"
#include "common/tlsconf.h"
#include "common/url.h"
#include "server/rules.h"
#include "hbmon/error.h"

#define OFF(f) offsetof(struct server_settings, f)
#define STR(f) CONFIG_STRING, OFF(f), sizeof(((struct server_settings *) 0)->f)

static const char *const auth_words[] = { "hmac", "none", NULL };
static const char *const durability_words[] = { "normal", "full", NULL };

static const struct config_key keys[] = {
	{ "data_dir", STR(data_dir), "", 0, 0, NULL, PATHS_DATA_DIR_ENV,
	  "directory for the database, sockets and lock; "
	  "empty: " PATHS_DATA_DIR_INSTALLED " (./var from the build tree)" },
	{ "listen", STR(listen), "tcp://127.0.0.1:7781", 0, 0, NULL, NULL,
	  "URL robots report to (tcp://, ipc://, tls+tcp://)" },
	{ "admin", STR(admin), "", 0, 0, NULL, NULL,
	  "admin URL; empty: ipc://DATA_DIR/admin.sock" },
	{ "admin_tcp", STR(admin_tcp), "", 0, 0, NULL, NULL,
	  "optional tls+tcp:// admin listener (needs admin_secret_file)" },
	{ "admin_secret_file", STR(admin_secret_file), "", 0, 0, NULL, NULL,
	  "file holding the admin secret for admin_tcp" },
	{ "admin_tcp_insecure", CONFIG_BOOL, OFF(admin_tcp_insecure), 0,
	  "false", 0, 0, NULL, NULL,
	  "allow a tcp:// admin_tcp without TLS (secrets in cleartext)" },
	{ "publish", STR(publish), "", 0, 0, NULL, NULL,
	  "alert PUB URL; empty: ipc://DATA_DIR/alerts.sock" },
	{ "auth", CONFIG_ENUM, OFF(auth), 0, "hmac", 0, 0, auth_words, NULL,
	  "hmac, or none for local development only" },
	{ "auth_window", CONFIG_DURATION, OFF(auth_window), 0, "300s", 1000,
	  86400000, NULL, NULL, "allowed difference of sent_at_ms from now" },
	{ "interval_min", CONFIG_DURATION, OFF(interval_min), 0, "0", 0,
	  INT64_C(31536000000), NULL, NULL,
	  "shortest expected interval; 0: half of interval_max" },
	{ "interval_max", CONFIG_DURATION, OFF(interval_max), 0, "120s", 1,
	  INT64_C(31536000000), NULL, NULL,
	  "longest expected interval; misses are counted in these" },
	{ "miss_threshold", CONFIG_UINT, OFF(miss_threshold), 0, "2", 0,
	  1000000, NULL, NULL, "misses tolerated before a subject is down" },
	{ "repeat_interval", CONFIG_DURATION, OFF(repeat_interval), 0, "1h", 1,
	  INT64_C(31536000000), NULL, NULL,
	  "repeat a firing, unacknowledged alert this often" },
	{ "clock_skew_max", CONFIG_DURATION, OFF(clock_skew_max), 0, "30s", 1,
	  INT64_C(31536000000), NULL, NULL,
	  "heartbeat timestamp vs receive time before CLOCK_SKEW" },
	{ "durability", CONFIG_ENUM, OFF(durability), 0, "normal", 0, 0,
	  durability_words, NULL,
	  "normal: survives kill -9; full: also power loss" },
	{ "retention", CONFIG_DURATION, OFF(retention), 0, "30d", 1000,
	  INT64_C(3153600000000), NULL, NULL,
	  "how long raw heartbeats are kept" },
	{ "alert_retention", CONFIG_DURATION, OFF(alert_retention), 0, "90d",
	  1000, INT64_C(3153600000000), NULL, NULL,
	  "how long alerts are kept (never past a notifier's cursor)" },
	{ "disk_free_min", CONFIG_SIZE, OFF(disk_free_min), 0, "256MiB", 0,
	  INT64_C(1099511627776), NULL, NULL,
	  "free space in the data dir below which DISK_SPACE_LOW warns" },
	{ "recv_max", CONFIG_SIZE, OFF(recv_max), 0, "1MiB", 1024,
	  INT64_C(1073741824), NULL, NULL,
	  "largest robot request (a batch of 10,000 accounts fits)" },
	{ "admin_recv_max", CONFIG_SIZE, OFF(admin_recv_max), 0, "64KiB", 1024,
	  INT64_C(1073741824), NULL, NULL, "largest admin request" },
	{ "log_level", CONFIG_ENUM, OFF(log_level), 0, "info", 0, 0,
	  log_level_words, NULL, "debug, info, warn or error" },
	{ "workers", CONFIG_UINT, OFF(workers), 0, "256", 1, 65536, NULL, NULL,
	  "requests served concurrently" },
	{ "batch_max", CONFIG_UINT, OFF(batch_max), 0, "1024", 1, 1000000, NULL,
	  NULL, "requests committed together at most" },
	{ "publish_buffer", CONFIG_UINT, OFF(publish_buffer), 0, "1024", 1,
	  8192, NULL, NULL, "alerts queued per PUB subscriber before drops" },
	{ "tick", CONFIG_DURATION, OFF(tick), 0, "10ms", 1, 1000, NULL, NULL,
	  "how often deadlines are looked at" },
	{ "flush_interval", CONFIG_DURATION, OFF(flush_interval), 0, "1s", 10,
	  INT64_C(86400000), NULL, NULL,
	  "latest state is written behind the requests at least this often" },
	{ "flush_when_idle", CONFIG_BOOL, OFF(flush_when_idle), 0, "true", 0, 0,
	  NULL, NULL, "and at once while load is light" },
	{ "listener_check", CONFIG_DURATION, OFF(listener_check), 0, "5s", 100,
	  INT64_C(3600000), NULL, NULL,
	  "how often each listener's answer is checked" },
	{ "keepalive_interval", CONFIG_DURATION, OFF(keepalive_interval), 0,
	  "5s", 100, INT64_C(3600000), NULL, NULL,
	  "a keepalive on the alert PUB socket this often" },
	{ "watch_server", STR(watch_server), "", 0, 0, NULL, NULL,
	  "another hbmon-server's robot URL to report this one's health to" },
	{ "watch_robot", STR(watch_robot), "", 0, 0, NULL, NULL,
	  "the robot id this server reports as there" },
	{ "watch_secret_file", STR(watch_secret_file), "", 0, 0, NULL, NULL,
	  "file holding that robot's secret" },
	{ "watch_interval", CONFIG_DURATION, OFF(watch_interval), 0, "60s", 100,
	  INT64_C(86400000), NULL, NULL,
	  "report to watch_server at least this often" },
	{ "accounts_max", CONFIG_UINT, OFF(accounts_max), 0, "10000", 1,
	  1000000, NULL, NULL,
	  "accounts one robot may have; a batch holds at most this + 1" },
	{ "wal_max", CONFIG_SIZE, OFF(wal_max), 0, "64MiB", 1048576,
	  INT64_C(17179869184), NULL, NULL,
	  "the write-ahead log's ceiling: past it the writer waits for a "
	  "checkpoint" },
	{ "tls_cert_file", STR(tls_cert_file), "", 0, 0, NULL, NULL,
	  "PEM certificate (chain) of every tls+tcp:// listener" },
	{ "tls_key_file", STR(tls_key_file), "", 0, 0, NULL, NULL,
	  "PEM private key of tls_cert_file" },
	{ "tls_ca_file", STR(tls_ca_file), "", 0, 0, NULL, NULL,
	  "PEM CA certificates that sign client certificates" },
	{ "tls_verify_peer", CONFIG_ENUM, OFF(tls_verify_peer), 0, "none", 0, 0,
	  tlsconf_verify_words, NULL,
	  "client certificates: none, optional or required" },
	{ "handshake_timeout", CONFIG_DURATION, OFF(handshake_timeout), 0, "5s",
	  10, 600000, NULL, NULL,
	  "a connection's SP (and TLS) handshake must end within this" },
	{ "idle_timeout", CONFIG_DURATION, OFF(idle_timeout), 0, "5m", 0,
	  INT64_C(86400000), NULL, NULL,
	  "a request connection with nothing to do is closed after this; "
	  "0: never" },
	{ "message_timeout", CONFIG_DURATION, OFF(message_timeout), 0, "10s",
	  10, 3600000, NULL, NULL,
	  "each message must arrive (or be sent) within this of its first "
	  "byte" },
	{ "max_connections", CONFIG_UINT, OFF(max_connections), 0, "1000", 1,
	  1000000, NULL, NULL, "connections to the robot listener at once" },
	{ "admin_max_connections", CONFIG_UINT, OFF(admin_max_connections), 0,
	  "64", 1, 1000000, NULL, NULL,
	  "connections to each admin listener at once" },
	{ "publish_max_connections", CONFIG_UINT, OFF(publish_max_connections),
	  0, "64", 1, 1000000, NULL, NULL,
	  "subscribers to the alert listener at once" },
	{ "max_connections_per_peer", CONFIG_UINT,
	  OFF(max_connections_per_peer), 0, "128", 0, 1000000, NULL, NULL,
	  "tcp: connections from one address per listener; 0: no cap" },
	{ "accept_rate", CONFIG_UINT, OFF(accept_rate), 0, "100", 0, 1000000,
	  NULL, NULL,
	  "tcp: new connections per second from one address; 0: no limit" },
	{ "unauth_buffer_max", CONFIG_SIZE, OFF(unauth_buffer_max), 0, "16MiB",
	  0, INT64_C(1099511627776), NULL, NULL,
	  "bytes of partial requests unauthenticated connections may hold "
	  "per listener" },
	{ "refusal_log_interval", CONFIG_DURATION, OFF(refusal_log_interval), 0,
	  "10s", 100, INT64_C(86400000), NULL, NULL,
	  "refusals are logged at most once per level and summarised this "
	  "often" },
	{ "http_listen", STR(http_listen), "", 0, 0, NULL, NULL,
	  "HTTP listener (http://HOST:PORT or https://HOST:PORT with the "
	  "tls_* keys); empty: off" },
	{ "http_max_connections", CONFIG_UINT, OFF(http_max_connections), 0,
	  "256", 1, 1000000, NULL, NULL,
	  "connections to the HTTP listener at once" },
	{ "http_header_max", CONFIG_SIZE, OFF(http_header_max), 0, "8KiB", 1024,
	  1048576, NULL, NULL, "largest HTTP request head (431 beyond)" },
	{ "http_body_max", CONFIG_SIZE, OFF(http_body_max), 0, "1MiB", 1024,
	  INT64_C(1073741824), NULL, NULL,
	  "largest HTTP request body (413 beyond)" },
	{ "http_header_timeout", CONFIG_DURATION, OFF(http_header_timeout), 0,
	  "10s", 10, 600000, NULL, NULL,
	  "an HTTP request's head must arrive within this" },
	{ "http_body_timeout", CONFIG_DURATION, OFF(http_body_timeout), 0,
	  "30s", 10, 3600000, NULL, NULL,
	  "an HTTP request's body must arrive within this after its head" },
};

const struct config_spec settings_spec = {
	keys,
	sizeof(keys) / sizeof(keys[0]),
	"server",
};

/*
 * http_listen: http:// or https:// and then HOST:PORT as for tcp://,
 * port 0 allowed.
 */
static int
check_http_url(const struct server_settings *s, struct config_error *err)
{
	const char *u = s->http_listen;
	const char *rest = strncmp(u, "http://", 7) == 0    ? u + 7
	                   : strncmp(u, "https://", 8) == 0 ? u + 8
	                                                    : NULL;
	char tcp[SETTINGS_URL_MAX + 8];

	if (rest == NULL) {
		snprintf(err->text, sizeof(err->text),
		         "http_listen: '%s' is not an http:// or https:// URL "
		         "(e.g. http://127.0.0.1:7780); empty turns it off",
		         u);
		return HBMON_EINVAL;
	}
	snprintf(tcp, sizeof(tcp), "tcp://%s", rest);
	if (url_check(tcp, URL_TCP | URL_LISTEN, "http_listen", err->text,
	              sizeof(err->text)) != HBMON_OK) {
		snprintf(err->text, sizeof(err->text),
		         "http_listen: '%s' is not SCHEME://HOST:PORT with a "
		         "port from 0 to 65535 (e.g. http://127.0.0.1:7780)",
		         u);
		return HBMON_EINVAL;
	}
	return HBMON_OK;
}

/*
 * Every URL's form, so that a typo stops start-up as bad configuration
 * before the data dir or the database exist (SPEC §6).
 */
static int
check_urls(const struct server_settings *s, struct config_error *err)
{
	const unsigned any = URL_TCP | URL_TLS | URL_IPC;

	if (strncmp(s->admin, "ipc://", 6) != 0) {
		snprintf(
		    err->text, sizeof(err->text),
		    "admin: must be an ipc:// URL (only the owner can open "
		    "it); use admin_tcp for a network listener");
		return HBMON_EINVAL;
	}
	if (url_check(s->listen, any | URL_LISTEN, "listen", err->text,
	              sizeof(err->text)) != HBMON_OK ||
	    url_check(s->admin, URL_IPC, "admin", err->text,
	              sizeof(err->text)) != HBMON_OK ||
	    url_check(s->publish, any | URL_LISTEN, "publish", err->text,
	              sizeof(err->text)) != HBMON_OK ||
	    (s->admin_tcp[0] != '\0' &&
	     url_check(s->admin_tcp, URL_TCP | URL_TLS | URL_LISTEN,
	               "admin_tcp", err->text,
	               sizeof(err->text)) != HBMON_OK) ||
	    (s->watch_server[0] != '\0' &&
	     url_check(s->watch_server, any, "watch_server", err->text,
	               sizeof(err->text)) != HBMON_OK)) {
		return HBMON_EINVAL;
	}
	if (s->http_listen[0] != '\0' && check_http_url(s, err) != HBMON_OK) {
		return HBMON_EINVAL;
	}
	if (s->admin_tcp[0] != '\0' && s->admin_secret_file[0] == '\0') {
		snprintf(
		    err->text, sizeof(err->text),
		    "admin_tcp needs admin_secret_file (requests to it are "
		    "signed with the admin secret)");
		return HBMON_EINVAL;
	}
	return HBMON_OK;
}

int
settings_check_tls(const struct server_settings *s, struct config_error *err)
{
	const char *const urls[][2] = {
		{ "listen", s->listen },
		{ "admin_tcp", s->admin_tcp },
		{ "publish", s->publish },
	};

	if (strncmp(s->http_listen, "https://", 8) == 0 &&
	    (s->tls_cert_file[0] == '\0' || s->tls_key_file[0] == '\0')) {
		snprintf(err->text, sizeof(err->text),
		         "http_listen is %s, but https:// needs tls_cert_file "
		         "and tls_key_file (--tls-cert-file, --tls-key-file)",
		         s->http_listen);
		return HBMON_EINVAL;
	}
	for (size_t i = 0; i < sizeof(urls) / sizeof(urls[0]); i++) {
		if (tlsconf_is_tls_url(urls[i][1]) &&
		    (s->tls_cert_file[0] == '\0' ||
		     s->tls_key_file[0] == '\0')) {
			snprintf(err->text, sizeof(err->text),
			         "%s is %s, but a tls+tcp:// listener needs "
			         "tls_cert_file and tls_key_file "
			         "(--tls-cert-file, --tls-key-file)",
			         urls[i][0], urls[i][1]);
			return HBMON_EINVAL;
		}
	}
	if (s->tls_verify_peer != TLSCONF_VERIFY_NONE &&
	    s->tls_ca_file[0] == '\0') {
		snprintf(err->text, sizeof(err->text),
		         "tls_verify_peer = %s needs tls_ca_file, the CA that "
		         "signs client certificates",
		         tlsconf_verify_words[s->tls_verify_peer]);
		return HBMON_EINVAL;
	}
	return HBMON_OK;
}

int
settings_load(struct server_settings *s, int argc, char **argv, int *out_npos,
              struct config_error *err)
{
	int rv;

	memset(s, 0, sizeof(*s));
	rv = config_load(&settings_spec, s, argc, argv, out_npos, err);
	if (rv != HBMON_OK) {
		return rv;
	}
	if (s->data_dir[0] == '\0') {
		snprintf(s->data_dir, sizeof(s->data_dir), "%s",
		         paths_default_data_dir());
	}
	/* The seed's 60-120 s: by default the shortest interval is half the
	 * longest, so setting interval_max alone is enough. */
	if (s->interval_min == 0) {
		s->interval_min = s->interval_max / 2;
	}
	if (s->interval_min > s->interval_max) {
		snprintf(err->text, sizeof(err->text),
		         "interval_min (%lld ms) is longer than interval_max "
		         "(%lld ms)",
		         (long long) s->interval_min,
		         (long long) s->interval_max);
		return HBMON_EINVAL;
	}
	if (s->watch_server[0] != '\0' &&
	    (s->watch_robot[0] == '\0' || s->watch_secret_file[0] == '\0')) {
		snprintf(err->text, sizeof(err->text),
		         "watch_server needs watch_robot and watch_secret_file "
		         "(register the robot on the watching server with "
		         "`hbctl robot add`)");
		return HBMON_EINVAL;
	}
	/* RobotAdd and RobotRotate replies carry robot secrets, and every
	 * request could be read and timed: over a network only with TLS,
	 * unless the operator says otherwise in so many words. */
	if (s->admin_tcp[0] != '\0' &&
	    strncmp(s->admin_tcp, "tls+tcp://", 10) != 0 &&
	    !s->admin_tcp_insecure) {
		snprintf(err->text, sizeof(err->text),
		         "admin_tcp %s is not TLS: robot secrets (the replies "
		         "of robot add and robot rotate) would cross the "
		         "network in cleartext; use a tls+tcp:// URL, or set "
		         "admin_tcp_insecure = true (--admin-tcp-insecure) on "
		         "a network you trust",
		         s->admin_tcp);
		return HBMON_EINVAL;
	}
	if (s->watch_server[0] != '\0') {
		char why[256];
		if (rules_check_robot_id(s->watch_robot, why, sizeof(why)) !=
		    HBMON_OK) {
			snprintf(err->text, sizeof(err->text),
			         "watch_robot '%s': %s", s->watch_robot, why);
			return HBMON_EINVAL;
		}
	}
	if ((rv = config_default_ipc_url(s->admin, sizeof(s->admin),
	                                 s->data_dir, "admin.sock", "admin",
	                                 err)) != HBMON_OK ||
	    (rv = config_default_ipc_url(s->publish, sizeof(s->publish),
	                                 s->data_dir, "alerts.sock", "publish",
	                                 err)) != HBMON_OK) {
		return rv;
	}
	return check_urls(s, err);
}
