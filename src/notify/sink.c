/* The sinks hbmon-notify knows. */
#include "notify/sink.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

const struct sink_ops *
sink_find(const char *name)
{
	static const struct sink_ops *const all[] = {
		&sink_telegram, &sink_email,  &sink_webhook,
		&sink_exec,     &sink_stdout,
	};

	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++) {
		if (strcmp(all[i]->name, name) == 0) {
			return all[i];
		}
	}
	return NULL;
}

void
sink_fail(struct sink_result *out, enum sink_verdict verdict, const char *fmt,
          ...)
{
	va_list ap;

	out->verdict = verdict;
	out->taken = 0;
	va_start(ap, fmt);
	vsnprintf(out->why, sizeof(out->why), fmt, ap);
	va_end(ap);
}
