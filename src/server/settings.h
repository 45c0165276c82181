/*
 * hbmon-server's settings (SPEC §6): every key in the INI file is also a
 * flag (`miss_threshold` <-> `--miss-threshold 3`), flags win over the file.
 */
#ifndef HBMON_SERVER_SETTINGS_H
#define HBMON_SERVER_SETTINGS_H

#include <stdbool.h>
#include <stdint.h>

#include "common/config.h"

#define SETTINGS_URL_MAX  512
#define SETTINGS_PATH_MAX 1024

enum settings_auth { AUTH_HMAC = 0, AUTH_NONE = 1 };
enum settings_durability { DURABILITY_NORMAL = 0, DURABILITY_FULL = 1 };

struct server_settings {
	char data_dir[SETTINGS_PATH_MAX];
	char listen[SETTINGS_URL_MAX];    /* robots (Monitor service) */
	char admin[SETTINGS_URL_MAX];     /* "" -> ipc://DATA_DIR/admin.sock */
	char admin_tcp[SETTINGS_URL_MAX]; /* optional; needs the admin secret */
	char admin_secret_file[SETTINGS_PATH_MAX];
	bool admin_tcp_insecure; /* admin_tcp may be tcp://, without TLS */
	char publish[SETTINGS_URL_MAX]; /* "" -> ipc://DATA_DIR/alerts.sock */
	int auth;                       /* enum settings_auth */
	int64_t auth_window;            /* ms, allowed |sent_at - now| */
	int64_t interval_min;           /* ms */
	int64_t interval_max;           /* ms: lateness is counted in these */
	uint32_t miss_threshold;
	int64_t repeat_interval; /* ms */
	int64_t clock_skew_max;  /* ms */
	int durability;          /* enum settings_durability */
	int64_t retention;       /* ms */
	uint64_t recv_max;       /* bytes, largest robot request */
	uint64_t admin_recv_max; /* bytes, largest admin request */
	int log_level;           /* enum log_level */
	uint32_t workers;        /* concurrent requests in progress */
	uint32_t batch_max;      /* requests per group commit, at most */
	uint32_t publish_buffer; /* alerts queued per PUB subscriber */
	int64_t tick;            /* ms between looks at deadlines */
	int64_t flush_interval;  /* latest state written at least this often */
	bool flush_when_idle;    /* ... and at once under light load */
	/* Watching the server itself (SPEC §3.6) */
	int64_t listener_check;     /* ms between listener self-checks */
	int64_t keepalive_interval; /* ms between keepalives on PUB */
	char watch_server[SETTINGS_URL_MAX]; /* report our health there */
	char watch_robot[65];                /* ... as this robot */
	char watch_secret_file[SETTINGS_PATH_MAX];
	int64_t watch_interval;  /* ms between those reports, at most */
	uint32_t accounts_max;   /* accounts per robot; a batch holds at most
	                            this many + 1 heartbeats */
	uint64_t wal_max;        /* the WAL's ceiling, bytes */
	uint64_t disk_free_min;  /* DISK_SPACE_LOW below this many bytes free */
	int64_t alert_retention; /* ms alerts are kept (past every reader) */

	/* The edge (listener.h, docs/SECURITY.md). */
	char tls_cert_file[SETTINGS_PATH_MAX];
	char tls_key_file[SETTINGS_PATH_MAX];
	char tls_ca_file[SETTINGS_PATH_MAX];
	int tls_verify_peer;       /* enum tlsconf_verify */
	int64_t handshake_timeout; /* ms: accept -> SP handshake done */
	int64_t idle_timeout;      /* ms: REP connection with nothing to do */
	int64_t message_timeout;   /* ms: one message in or out */
	uint32_t max_connections;  /* robot listener */
	uint32_t admin_max_connections;    /* each admin listener */
	uint32_t publish_max_connections;  /* the alert listener */
	uint32_t max_connections_per_peer; /* tcp, per address */
	uint32_t accept_rate;              /* tcp, per address and second */
	uint64_t unauth_buffer_max;        /* bytes, per listener */
	int64_t refusal_log_interval;      /* ms */

	/* The HTTP listener (http.h, docs/http.md). */
	char http_listen[SETTINGS_URL_MAX]; /* "" off; http:// or https:// */
	uint32_t http_max_connections;      /* at once */
	uint64_t http_header_max;           /* bytes of a request head */
	uint64_t http_body_max;             /* bytes of a request body */
	int64_t http_header_timeout;        /* ms: a request head arrives */
	int64_t http_body_timeout;          /* ms: its body arrives */
};

/*
 * What TLS needs, checked after settings_load (and after the secret files
 * are read, so that their errors come first): a tls+tcp:// listener
 * (listen, admin_tcp, publish; an https:// http_listen) needs tls_cert_file and
 * tls_key_file, and tls_verify_peer other than none needs tls_ca_file. The
 * files themselves are read by tlsconf_server. Returns HBMON_OK or HBMON_EINVAL
 * with err.
 */
int settings_check_tls(const struct server_settings *s,
                       struct config_error *err);

/* The key table, for config_load and --help. */
extern const struct config_spec settings_spec;

/*
 * Loads settings from defaults, --config FILE, environment and flags (see
 * config_load), then checks what no single key can: interval_min <=
 * interval_max, admin_tcp is tls+tcp:// unless admin_tcp_insecure, the
 * form of every URL (url_check; admin is ipc://, admin_tcp needs
 * admin_secret_file), and fills the default data dir (paths.h) and the
 * derived admin/publish URLs. Touches no file but the config file it
 * reads.
 * Returns HBMON_OK or an error with err filled. out_npos: positional
 * arguments left at the front of argv + 1.
 */
int settings_load(struct server_settings *s, int argc, char **argv,
                  int *out_npos, struct config_error *err);

#endif
