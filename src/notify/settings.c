/* hbmon-notify's key table. */
#include "notify/settings.h"

#include <stdio.h>
#include <string.h>

#include "common/log.h"
#include "common/paths.h"
#include "common/secret.h"
#include "common/url.h"
#include "hbmon/error.h"

#define OFF(f) offsetof(struct notify_settings, f)
#define STR(f) CONFIG_STRING, OFF(f), sizeof(((struct notify_settings *) 0)->f)
#define YEAR   INT64_C(31536000000)

const char *const notify_severity_words[] = { "info", "warning", "critical",
	                                      NULL };
static const char *const first_run_words[] = { "recent", "all", "new", NULL };
static const char *const tls_words[] = { "required", "none", NULL };
static const char *const stdout_format_words[] = { "json", "text", NULL };

/* The three limits every sending sink has, in its own section. clang-format
 * cannot lay out a macro of initialisers. */
// clang-format off
#define LIMITS(sec, field, def_timeout, def_interval, def_burst)             \
	{ sec ".timeout", CONFIG_DURATION, OFF(field.timeout), 0,            \
	  def_timeout, 100, 600000, NULL, NULL,                              \
	  "give up on one attempt after this" },                             \
	{ sec ".rate_interval", CONFIG_DURATION, OFF(field.rate_interval),  \
	  0, def_interval, 0, 86400000, NULL, NULL,                          \
	  "at most one message this often (0: no limit)" },                 \
	{ sec ".rate_burst", CONFIG_UINT, OFF(field.rate_burst), 0,          \
	  def_burst, 1, 1000, NULL, NULL,                                    \
	  "messages that may go back to back before the rate applies" }
// clang-format on

static const struct config_key keys[] = {
	{ "sink", STR(sink), "", 0, 0, NULL, NULL,
	  "telegram, email, webhook, exec or stdout (required)" },
	{ "name", STR(name), "", 0, 0, NULL, NULL,
	  "instance name for the cursor file; empty: the sink's name" },
	{ "data_dir", STR(data_dir), "", 0, 0, NULL, PATHS_DATA_DIR_ENV,
	  "the server's data dir (default sockets) and default state_dir; "
	  "empty: " PATHS_DATA_DIR_INSTALLED " (./var from the build tree)" },
	{ "admin", STR(admin), "", 0, 0, NULL, NULL,
	  "server admin URL; empty: ipc://DATA_DIR/admin.sock" },
	{ "admin_secret_file", STR(admin_secret_file), "", 0, 0, NULL,
	  "HBMON_ADMIN_SECRET_FILE",
	  "admin secret for a tcp:// admin URL (or $HBMON_ADMIN_SECRET)" },
	{ "subscribe", STR(subscribe), "", 0, 0, NULL, NULL,
	  "server alert PUB URL; empty: ipc://DATA_DIR/alerts.sock" },
	{ "tls_ca_file", STR(tls_ca_file), "", 0, 0, NULL, "HBMON_TLS_CA_FILE",
	  "for tls+tcp:// server URLs: the CA of the server's certificate" },
	{ "tls_cert_file", STR(tls_cert_file), "", 0, 0, NULL,
	  "HBMON_TLS_CERT_FILE",
	  "a client certificate for a server that asks for one" },
	{ "tls_key_file", STR(tls_key_file), "", 0, 0, NULL,
	  "HBMON_TLS_KEY_FILE", "the key of tls_cert_file" },
	{ "state_dir", STR(state_dir), "", 0, 0, NULL, NULL,
	  "where the delivery cursor is kept; empty: data_dir" },
	{ "min_severity", CONFIG_ENUM, OFF(min_severity), 0, "info", 0, 0,
	  notify_severity_words, NULL,
	  "deliver alerts of this severity and above" },
	{ "kinds", STR(kinds), "", 0, 0, NULL, NULL,
	  "comma-separated alert kinds to deliver; empty: all" },
	{ "robots", STR(robots), "", 0, 0, NULL, NULL,
	  "comma-separated robots to deliver for; empty: all" },
	{ "recovered", CONFIG_BOOL, OFF(recovered), 0, "true", 0, 0, NULL, NULL,
	  "deliver the all-clears (RECOVERED); false: only what pages" },
	{ "first_run", CONFIG_ENUM, OFF(first_run), 0, "recent", 0, 0,
	  first_run_words, NULL,
	  "without a cursor: recent (raised in the last first_run_window), "
	  "all (every alert in the outbox) or new (none of the past)" },
	{ "first_run_window", CONFIG_DURATION, OFF(first_run_window), 0, "2h",
	  0, YEAR, NULL, NULL,
	  "first_run = recent: how far back; longer than the server's "
	  "repeat_interval, so every unacknowledged firing alert is seen" },
	{ "queue_max", CONFIG_UINT, OFF(queue_max), 0, "10000", 10, 10000000,
	  NULL, NULL, "alerts held in memory; the rest wait in the outbox" },
	{ "retry_min", CONFIG_DURATION, OFF(retry_min), 0, "1s", 10, YEAR, NULL,
	  NULL, "first wait after a failed send" },
	{ "retry_max", CONFIG_DURATION, OFF(retry_max), 0, "5m", 10, YEAR, NULL,
	  NULL, "longest wait between attempts (backoff cap)" },
	{ "poll_interval", CONFIG_DURATION, OFF(poll_interval), 0, "30s", 100,
	  YEAR, NULL, NULL, "ask the outbox for missed alerts this often" },
	{ "degraded_after", CONFIG_DURATION, OFF(degraded_after), 0, "1m", 0,
	  YEAR, NULL, NULL,
	  "report degraded when sends have failed this long" },
	{ "lang", STR(lang), "en", 0, 0, NULL, "HBMON_NOTIFY_LANG",
	  "message language: en or id built in, or one of templates_dir" },
	{ "templates_dir", STR(templates_dir), "", 0, 0, NULL, NULL,
	  "your own templates, DIR/LANG/FILE, each overriding the built-in "
	  "one; empty: built in" },
	{ "tz", STR(tz), "local", 0, 0, NULL, NULL,
	  "time zone of times in messages: a name (Europe/London), an "
	  "offset (+07:00, Z) or local" },
	{ "server", STR(server), "tcp://127.0.0.1:7781", 0, 0, NULL,
	  "HBMON_SERVER", "server URL for this notifier's own heartbeats" },
	{ "robot", STR(robot), "", 0, 0, NULL, "HBMON_NOTIFY_ROBOT",
	  "robot id this notifier reports its health as; empty: none" },
	{ "secret_file", STR(secret_file), "", 0, 0, NULL,
	  "HBMON_NOTIFY_SECRET_FILE",
	  "that robot's secret file (or $HBMON_SECRET)" },
	{ "heartbeat_interval", CONFIG_DURATION, OFF(heartbeat_interval), 0,
	  "30s", 10, YEAR, NULL, NULL, "own heartbeat every this long" },
	{ "log_level", CONFIG_ENUM, OFF(log_level), 0, "info", 0, 0,
	  log_level_words, NULL, "debug, info, warn or error" },
	{ "server_timeout", CONFIG_DURATION, OFF(server_timeout), 0, "30s",
	  1000, YEAR, NULL, NULL,
	  "SERVER_UNREACHABLE after this long without keepalive or answer" },
	{ "repeat_interval", CONFIG_DURATION, OFF(repeat_interval), 0, "1h",
	  1000, YEAR, NULL, NULL,
	  "repeat SERVER_UNREACHABLE this often while it lasts" },
	{ "deadman_url", STR(deadman_url), "", 0, 0, NULL, "HBMON_DEADMAN_URL",
	  "GET this URL every deadman_interval while all is healthy" },
	{ "deadman_interval", CONFIG_DURATION, OFF(deadman_interval), 0, "60s",
	  100, YEAR, NULL, NULL, "how often deadman_url is pinged" },

	{ "telegram.api", STR(telegram_api), "https://api.telegram.org", 0, 0,
	  NULL, "HBMON_TELEGRAM_API", "Bot API base URL" },
	{ "telegram.chat_id", STR(telegram_chat_id), "", 0, 0, NULL,
	  "HBMON_TELEGRAM_CHAT_ID", "chat to send to (id or @channel)" },
	{ "telegram.token_file", STR(telegram_token_file), "", 0, 0, NULL,
	  "HBMON_TELEGRAM_TOKEN_FILE",
	  "file with the bot token (or $HBMON_TELEGRAM_TOKEN)" },
	LIMITS("telegram", telegram, "10s", "1s", "1"),

	{ "email.url", STR(email_url), "", 0, 0, NULL, "HBMON_SMTP_URL",
	  "smtps://host:465 or smtp://host:587 (STARTTLS)" },
	{ "email.from", STR(email_from), "", 0, 0, NULL, "HBMON_SMTP_FROM",
	  "sender address" },
	{ "email.to", STR(email_to), "", 0, 0, NULL, "HBMON_SMTP_TO",
	  "comma-separated recipients" },
	{ "email.user", STR(email_user), "", 0, 0, NULL, "HBMON_SMTP_USER",
	  "SMTP login; empty: none" },
	{ "email.password_file", STR(email_password_file), "", 0, 0, NULL,
	  "HBMON_SMTP_PASSWORD_FILE",
	  "file with the SMTP password (or $HBMON_SMTP_PASSWORD)" },
	{ "email.tls", CONFIG_ENUM, OFF(email_tls), 0, "required", 0, 0,
	  tls_words, NULL,
	  "required: STARTTLS on smtp:// or smtps://; none: plain" },
	LIMITS("email", email, "30s", "10s", "1"),

	{ "webhook.url", STR(webhook_url), "", 0, 0, NULL, "HBMON_WEBHOOK_URL",
	  "URL the alert JSON is POSTed to" },
	{ "webhook.secret_file", STR(webhook_secret_file), "", 0, 0, NULL,
	  "HBMON_WEBHOOK_SECRET_FILE",
	  "file with the signing secret (or $HBMON_WEBHOOK_SECRET)" },
	LIMITS("webhook", webhook, "10s", "0", "1"),

	{ "exec.command", STR(exec_command), "", 0, 0, NULL, "HBMON_EXEC",
	  "shell command run with the alert JSON on stdin" },
	LIMITS("exec", exec, "30s", "0", "1"),

	{ "stdout.format", CONFIG_ENUM, OFF(stdout_format), 0, "json", 0, 0,
	  stdout_format_words, NULL,
	  "json: one alert JSON object a line; text: the Telegram message's "
	  "words, plain, a blank line between alerts" },
};

const struct config_spec notify_settings_spec = {
	keys,
	sizeof(keys) / sizeof(keys[0]),
	"notify",
};

int
notify_settings_load(struct notify_settings *s, int argc, char **argv,
                     int *out_npos, struct config_error *err)
{
	static const char *const sinks[] = { "telegram", "email", "webhook",
		                             "exec", "stdout" };
	const unsigned any = URL_TCP | URL_TLS | URL_IPC;
	bool known = false;
	int rv;

	memset(s, 0, sizeof(*s));
	if ((rv = config_load(&notify_settings_spec, s, argc, argv, out_npos,
	                      err)) != HBMON_OK) {
		return rv;
	}
	for (size_t i = 0; i < sizeof(sinks) / sizeof(sinks[0]); i++) {
		known |= strcmp(s->sink, sinks[i]) == 0;
	}
	if (!known) {
		snprintf(err->text, sizeof(err->text),
		         "--sink: %s; give one of telegram, email, webhook, "
		         "exec, stdout",
		         s->sink[0] == '\0' ? "missing" : "unknown sink");
		return HBMON_EINVAL;
	}
	if (s->name[0] == '\0') {
		snprintf(s->name, sizeof(s->name), "%s", s->sink);
	}
	if (strspn(s->name, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwx"
	                    "yz0123456789._-") != strlen(s->name) ||
	    s->name[0] == '.') {
		snprintf(err->text, sizeof(err->text),
		         "name: may only hold letters, digits, '.', '_' and "
		         "'-' (it names the cursor file)");
		return HBMON_EINVAL;
	}
	if (s->data_dir[0] == '\0') {
		snprintf(s->data_dir, sizeof(s->data_dir), "%s",
		         paths_default_data_dir());
	}
	if (s->state_dir[0] == '\0') {
		snprintf(s->state_dir, sizeof(s->state_dir), "%s", s->data_dir);
	}
	if (s->retry_min > s->retry_max) {
		snprintf(err->text, sizeof(err->text),
		         "retry_min is longer than retry_max");
		return HBMON_EINVAL;
	}
	if ((rv = config_default_ipc_url(s->admin, sizeof(s->admin),
	                                 s->data_dir, "admin.sock", "admin",
	                                 err)) != HBMON_OK ||
	    (rv = config_default_ipc_url(s->subscribe, sizeof(s->subscribe),
	                                 s->data_dir, "alerts.sock",
	                                 "subscribe", err)) != HBMON_OK) {
		return rv;
	}
	/* The form of the server's URLs, so that a typo stops start-up
	 * before the cursor exists (the sinks check their own URLs). */
	if (url_check(s->admin, any, "admin", err->text, sizeof(err->text)) !=
	        HBMON_OK ||
	    url_check(s->subscribe, any, "subscribe", err->text,
	              sizeof(err->text)) != HBMON_OK ||
	    (s->robot[0] != '\0' &&
	     url_check(s->server, any, "server", err->text,
	               sizeof(err->text)) != HBMON_OK)) {
		return HBMON_EINVAL;
	}
	return HBMON_OK;
}

static const char *
or_null(const char *s)
{
	return s[0] != '\0' ? s : NULL;
}

struct tlsconf_files
notify_settings_tls(const struct notify_settings *s)
{
	struct tlsconf_files f = {
		.ca_file = or_null(s->tls_ca_file),
		.cert_file = or_null(s->tls_cert_file),
		.key_file = or_null(s->tls_key_file),
	};
	return f;
}

struct notify_sink_limits
notify_settings_limits(const struct notify_settings *s)
{
	struct notify_sink_limits none = { 10000, 0, 1 };

	if (strcmp(s->sink, "telegram") == 0) {
		return s->telegram;
	}
	if (strcmp(s->sink, "email") == 0) {
		return s->email;
	}
	if (strcmp(s->sink, "webhook") == 0) {
		return s->webhook;
	}
	if (strcmp(s->sink, "exec") == 0) {
		return s->exec;
	}
	return none;
}

int
notify_secret(const char *file, const char *env, char *buf, size_t buf_len,
              char *why, size_t why_len)
{
	return secret_load(file != NULL && file[0] != '\0' ? file : NULL, env,
	                   buf, buf_len, why, why_len);
}

int
notify_settings_tz(const struct notify_settings *s, int *out, char *why,
                   size_t why_len)
{
	char reason[512];

	if (tz_select(s->tz, out, reason, sizeof(reason)) != HBMON_OK) {
		snprintf(why, why_len, "tz: %s", reason);
		return HBMON_EINVAL;
	}
	return HBMON_OK;
}
