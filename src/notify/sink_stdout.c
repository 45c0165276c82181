/*
 * Stdout: one alert per line as the JSON object of common/alert_json.h,
 * flushed at once, for piping into other tools. A write that fails
 * (closed pipe, full disk) is retried like any failed send.
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
	*out = s;
	return HBMON_OK;
}

static void
stdout_close(void *arg)
{
	free(arg);
}

static void
stdout_send(void *arg, const Hbmon__V1__Alert *const *alerts, size_t n,
            struct sink_result *out)
{
	struct stdout_sink *s = arg;
	const Hbmon__V1__Alert *a = alerts[0];
	char *json;
	size_t len, pos = 0;

	(void) n;
	json = alert_json_text(a, s->tz_offset_min);
	if (json == NULL) {
		sink_fail(out, SINK_RETRY, "out of memory");
		return;
	}
	len = strlen(json);
	json[len++] = '\n'; /* replaces the NUL; written by length */
	/* One write per line where possible, so lines never interleave
	 * with anything else writing to the same pipe. */
	while (pos < len) {
		ssize_t w = write(STDOUT_FILENO, json + pos, len - pos);
		if (w < 0 && errno == EINTR) {
			continue;
		}
		if (w <= 0) {
			sink_fail(out, SINK_RETRY, "stdout: %s",
			          strerror(errno));
			free(json);
			return;
		}
		pos += (size_t) w;
	}
	free(json);
	out->verdict = SINK_SENT;
	out->taken = 1;
}

const struct sink_ops sink_stdout = {
	.name = "stdout",
	.batch_max = 1,
	.needs_messages = false,
	.open = stdout_open,
	.send = stdout_send,
	.close = stdout_close,
};
