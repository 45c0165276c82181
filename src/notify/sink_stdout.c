/*
 * Stdout, flushed at once. stdout.format = json (the default): one alert
 * per line as the JSON object of common/alert_json.h, for piping into
 * other tools. text: the words of the alert's Telegram message, plain,
 * followed by a blank line, for a person at a terminal (the demo). A
 * write that fails (closed pipe, full disk) is retried like any failed
 * send.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/alert_json.h"
#include "hbmon/error.h"
#include "notify/sink.h"

struct stdout_sink {
	int tz_offset_min;
	bool text;
	const struct message_set *messages;
};

static int
stdout_open(const struct sink_env *env, void **out, char *why, size_t why_len)
{
	struct stdout_sink *s = calloc(1, sizeof(*s));

	(void) why;
	(void) why_len;
	if (s == NULL) {
		return HBMON_ENOMEM;
	}
	s->tz_offset_min = env->tz_offset_min;
	s->text = env->settings->stdout_format == 1;
	s->messages = env->messages;
	*out = s;
	return HBMON_OK;
}

static void
stdout_close(void *arg)
{
	free(arg);
}

/* The alert as the configured format, ending in a line end. NULL: out of
 * memory. Freed by the caller with free(). */
static char *
render(const struct stdout_sink *s, const Hbmon__V1__Alert *a)
{
	struct strbuf b = STRBUF_INIT;
	char *json;

	if (s->text) {
		message_text(s->messages, a, &b);
		strbuf_adds(&b, "\n\n");
		return strbuf_take(&b);
	}
	if ((json = alert_json_text(a, s->tz_offset_min)) == NULL) {
		return NULL;
	}
	strbuf_adds(&b, json);
	strbuf_addc(&b, '\n');
	free(json);
	return strbuf_take(&b);
}

static void
stdout_send(void *arg, const Hbmon__V1__Alert *const *alerts, size_t n,
            struct sink_result *out)
{
	struct stdout_sink *s = arg;
	char *text;
	size_t len, pos = 0;

	(void) n;
	if ((text = render(s, alerts[0])) == NULL) {
		sink_fail(out, SINK_RETRY, "out of memory");
		return;
	}
	len = strlen(text);
	/* One write per alert where possible, so its lines never
	 * interleave with anything else writing to the same pipe. */
	while (pos < len) {
		ssize_t w = write(STDOUT_FILENO, text + pos, len - pos);
		if (w < 0 && errno == EINTR) {
			continue;
		}
		if (w <= 0) {
			sink_fail(out, SINK_RETRY, "stdout: %s",
			          strerror(errno));
			free(text);
			return;
		}
		pos += (size_t) w;
	}
	free(text);
	out->verdict = SINK_SENT;
	out->taken = 1;
}

const struct sink_ops sink_stdout = {
	.name = "stdout",
	.batch_max = 1,
	.needs_messages = true, /* for stdout.format = text */
	.open = stdout_open,
	.send = stdout_send,
	.close = stdout_close,
};
