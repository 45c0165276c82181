/*
 * hbmon-notify's settings: one key table for the INI file (--config),
 * the environment (SPEC §6 names: HBMON_TELEGRAM_CHAT_ID, HBMON_SMTP_URL,
 * ...) and flags. Secrets are not keys: only the files that hold them
 * are, and secrets themselves come from those files or the environment
 * (notify_secret), never from argv.
 */
#ifndef HBMON_NOTIFY_SETTINGS_H
#define HBMON_NOTIFY_SETTINGS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/config.h"
#include "common/tlsconf.h"
#include "common/tz.h"

#define NOTIFY_PATH_MAX 512
#define NOTIFY_URL_MAX  1024

/* Per-sink delivery limits. */
struct notify_sink_limits {
	int64_t timeout;       /* ms, one attempt */
	int64_t rate_interval; /* ms between messages; 0: no limit */
	uint32_t rate_burst;   /* messages that may go back to back */
};

struct notify_settings {
	char sink[16]; /* telegram, email, webhook, exec, stdout */
	char name[64]; /* instance name: cursor file; "": the sink's */
	char data_dir[NOTIFY_PATH_MAX];
	char admin[NOTIFY_URL_MAX];     /* "": ipc://DATA_DIR/admin.sock */
	char subscribe[NOTIFY_URL_MAX]; /* "": ipc://DATA_DIR/alerts.sock */
	char admin_secret_file[NOTIFY_PATH_MAX];
	/* For tls+tcp:// admin, subscribe and server URLs. */
	char tls_ca_file[NOTIFY_PATH_MAX];
	char tls_cert_file[NOTIFY_PATH_MAX];
	char tls_key_file[NOTIFY_PATH_MAX];
	char state_dir[NOTIFY_PATH_MAX]; /* "": DATA_DIR */
	int min_severity;                /* index into info/warning/critical */
	char kinds[512];
	char robots[2048];
	int first_run;            /* 0: recent, 1: all, 2: new */
	int64_t first_run_window; /* first_run = recent: this far back */
	bool recovered;           /* deliver RECOVERED alerts */
	uint32_t queue_max;
	int64_t retry_min, retry_max, poll_interval, degraded_after;
	char lang[32];
	char templates_dir[NOTIFY_PATH_MAX];
	char tz[TZ_NAME_MAX + 1];
	/* self-heartbeats */
	char server[NOTIFY_URL_MAX];
	char robot[65];
	char secret_file[NOTIFY_PATH_MAX];
	int64_t heartbeat_interval;
	int log_level;
	/* watching the server (SPEC §3.6) */
	int64_t server_timeout;  /* SERVER_UNREACHABLE after this long */
	int64_t repeat_interval; /* ... repeated this often */
	char deadman_url[NOTIFY_URL_MAX];
	int64_t deadman_interval;

	char telegram_api[NOTIFY_URL_MAX];
	char telegram_chat_id[128];
	char telegram_token_file[NOTIFY_PATH_MAX];
	struct notify_sink_limits telegram;

	char email_url[NOTIFY_URL_MAX];
	char email_from[256];
	char email_to[2048];
	char email_user[256];
	char email_password_file[NOTIFY_PATH_MAX];
	int email_tls; /* 0: required, 1: none */
	struct notify_sink_limits email;

	char webhook_url[NOTIFY_URL_MAX];
	char webhook_secret_file[NOTIFY_PATH_MAX];
	struct notify_sink_limits webhook;

	char exec_command[NOTIFY_URL_MAX];
	struct notify_sink_limits exec;

	int stdout_format; /* 0: json (one object a line), 1: text */
};

extern const struct config_spec notify_settings_spec;

/* The words min_severity indexes. */
extern const char *const notify_severity_words[];

/*
 * Loads settings as config_load does, then fills derived defaults (name,
 * admin, subscribe, state_dir) and checks what one key cannot check on its
 * own (--sink present and known). Returns HBMON_OK or an error with err
 * filled, as config_load.
 */
int notify_settings_load(struct notify_settings *s, int argc, char **argv,
                         int *out_npos, struct config_error *err);

/*
 * The TLS files for the server's tls+tcp:// URLs; pointers into s (NULL
 * for keys left empty).
 */
struct tlsconf_files notify_settings_tls(const struct notify_settings *s);

/* The limits of the configured sink (zeros for stdout). */
struct notify_sink_limits
notify_settings_limits(const struct notify_settings *s);

/*
 * The tz key, as tz_select takes it (a zone name becomes the process's
 * zone: call before any thread starts). *out: an offset or TZ_ZONE.
 * Returns HBMON_OK or HBMON_EINVAL with why.
 */
int notify_settings_tz(const struct notify_settings *s, int *out, char *why,
                       size_t why_len);

/*
 * Reads a secret from file (when not empty) or else the environment
 * variable env, as secret_load, into buf. Returns what secret_load does.
 */
int notify_secret(const char *file, const char *env, char *buf, size_t buf_len,
                  char *why, size_t why_len);

#endif
