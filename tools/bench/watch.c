/* Alerts off the server's PUB socket, judged against the silence plan. */
#include "watch.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <nng/nng.h>
#include <nng/protocol/pubsub0/sub.h>

#include "common/alert_topic.h"
#include "common/clock.h"
#include "common/words.h"
#include "fleet.h"
#include "hbmon/error.h"

/* nng's largest receive queue: a burst of alerts must not be dropped
 * here, where a drop would read as a missed detection. */
#define SUB_RECVBUF 8192

struct watch {
	struct silence_plan *plan;
	nng_socket sock;
	pthread_t thread;
	pthread_mutex_t lock; /* guards stats */
	struct watch_stats stats;
};

static void note(char *buf, size_t len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Keeps the first story of a kind of surprise. */
static void
note(char *buf, size_t len, const char *fmt, ...)
{
	va_list ap;

	if (buf[0] != '\0') {
		return;
	}
	va_start(ap, fmt);
	vsnprintf(buf, len, fmt, ap);
	va_end(ap);
}

/* An alert as a person reads it, for the first-of-a-kind notes. */
static void
describe(const Hbmon__V1__Alert *a, char *buf, size_t len)
{
	snprintf(buf, len, "%s %s%s%s: %s", words_alert_kind(a->kind),
	         a->robot[0] != '\0' ? a->robot : "(server)",
	         a->account[0] != '\0' ? "/" : "", a->account, a->summary);
}

enum verdict { V_EXPECTED, V_FALSE, V_UNEXPECTED };

/*
 * Judges one alert and, for an expected one, stamps its silence with the
 * arrival time. why: the reason for any other verdict. Plan lock held.
 */
static enum verdict
judge(struct watch *w, const Hbmon__V1__Alert *a, int64_t mono_ns,
      int64_t wall_ms, char *why, size_t why_len)
{
	struct silence_plan *plan = w->plan;
	struct silence *s, *robot_silence;
	uint32_t robot, account;
	int32_t subject;

	if (a->robot[0] == '\0') {
		snprintf(why, why_len, "a server alert");
		return V_UNEXPECTED;
	}
	if (!fleet_robot_index(a->robot, &robot) || robot >= plan->robots) {
		snprintf(why, why_len, "a robot the fleet does not have");
		return V_UNEXPECTED;
	}
	if (a->account[0] == '\0') {
		subject = SILENCE_ROBOT;
	} else if (fleet_account_index(a->account, &account) &&
	           account < plan->accounts) {
		subject = (int32_t) account;
	} else {
		snprintf(why, why_len, "an account the fleet does not have");
		return V_UNEXPECTED;
	}
	s = silence_find(plan, robot, subject);
	robot_silence = silence_find(plan, robot, SILENCE_ROBOT);
	if (s == NULL && subject != SILENCE_ROBOT && robot_silence != NULL &&
	    robot_silence->effective) {
		snprintf(why, why_len,
		         "an account of a silent robot alerted on its own "
		         "(the robot's alert covers it)");
		return V_UNEXPECTED;
	}
	if (s == NULL || !s->effective) {
		snprintf(why, why_len, "%s kept its schedule",
		         subject == SILENCE_ROBOT ? "the robot"
		                                  : "the account");
		return V_FALSE;
	}
	if (a->kind != HBMON__V1__ALERT_KIND__ALERT_KIND_HEARTBEAT_MISSED ||
	    a->state != HBMON__V1__ALERT_STATE__ALERT_STATE_FIRING) {
		snprintf(why, why_len,
		         "another kind than HEARTBEAT_MISSED "
		         "about a silenced subject");
		return V_UNEXPECTED;
	}
	if (s->alerts++ > 0) {
		snprintf(why, why_len,
		         "a second HEARTBEAT_MISSED for the "
		         "same silence");
		return V_UNEXPECTED;
	}
	s->alert_ns = mono_ns;
	s->alert_wall_ms = wall_ms;
	s->raised_at_ms = a->raised_at_ms;
	s->last_seen_ms = a->details != NULL ? a->details->last_seen_ms : 0;
	return V_EXPECTED;
}

static void
handle(struct watch *w, nng_msg *msg, int64_t mono_ns, int64_t wall_ms)
{
	Hbmon__V1__Alert *a = NULL;
	char why[160] = "", text[300];
	enum verdict v;

	if (pub_topic_classify(nng_msg_body(msg), nng_msg_len(msg)) ==
	    PUB_KEEPALIVE) {
		return; /* the server's sign of life, not an alert */
	}
	if (alert_topic_unpack(nng_msg_body(msg), nng_msg_len(msg), &a) !=
	    HBMON_OK) {
		pthread_mutex_lock(&w->lock);
		w->stats.received++;
		w->stats.unexpected++;
		note(w->stats.first_unexpected,
		     sizeof(w->stats.first_unexpected),
		     "a %zu-byte message that is not an alert",
		     nng_msg_len(msg));
		pthread_mutex_unlock(&w->lock);
		return;
	}
	pthread_mutex_lock(&w->plan->lock);
	v = judge(w, a, mono_ns, wall_ms, why, sizeof(why));
	pthread_mutex_unlock(&w->plan->lock);
	describe(a, text, sizeof(text));
	pthread_mutex_lock(&w->lock);
	w->stats.received++;
	switch (v) {
	case V_EXPECTED:
		w->stats.expected++;
		break;
	case V_FALSE:
		w->stats.false_alerts++;
		note(w->stats.first_false, sizeof(w->stats.first_false),
		     "%s (%s)", text, why);
		break;
	case V_UNEXPECTED:
		w->stats.unexpected++;
		note(w->stats.first_unexpected,
		     sizeof(w->stats.first_unexpected), "%s (%s)", text, why);
		break;
	}
	pthread_mutex_unlock(&w->lock);
	hbmon__v1__alert__free_unpacked(a, NULL);
}

static void *
watch_main(void *arg)
{
	struct watch *w = arg;

	for (;;) {
		nng_msg *msg;
		int64_t mono_ns, wall_ms;

		if (nng_recvmsg(w->sock, &msg, 0) != 0) {
			break; /* closed by watch_stop */
		}
		/* Stamp first: the arrival time is the measurement. */
		mono_ns = clock_mono_ns();
		wall_ms = clock_wall_ms();
		handle(w, msg, mono_ns, wall_ms);
		nng_msg_free(msg);
	}
	return NULL;
}

int
watch_start(const char *url, struct silence_plan *plan, struct watch **out,
            char *why, size_t why_len)
{
	struct watch *w = calloc(1, sizeof(*w));
	int rv;

	if (w == NULL) {
		snprintf(why, why_len, "out of memory for the alert watcher");
		return HBMON_ENOMEM;
	}
	w->plan = plan;
	pthread_mutex_init(&w->lock, NULL);
	if ((rv = nng_sub0_open(&w->sock)) != 0) {
		snprintf(why, why_len, "cannot open a SUB socket: %s",
		         nng_strerror(rv));
		pthread_mutex_destroy(&w->lock);
		free(w);
		return HBMON_EIO;
	}
	nng_socket_set_int(w->sock, NNG_OPT_RECVBUF, SUB_RECVBUF);
	/* Everything: any alert at all is judged. */
	nng_socket_set(w->sock, NNG_OPT_SUB_SUBSCRIBE, "", 0);
	if ((rv = nng_dial(w->sock, url, NULL, 0)) != 0) {
		snprintf(why, why_len, "cannot subscribe to %s: %s", url,
		         nng_strerror(rv));
		rv = HBMON_EUNAVAIL;
		goto fail;
	}
	if (pthread_create(&w->thread, NULL, watch_main, w) != 0) {
		snprintf(why, why_len, "cannot start the watcher's thread");
		rv = HBMON_ENOMEM;
		goto fail;
	}
	*out = w;
	return HBMON_OK;
fail:
	nng_close(w->sock);
	pthread_mutex_destroy(&w->lock);
	free(w);
	return rv;
}

void
watch_stats_get(struct watch *w, struct watch_stats *out)
{
	pthread_mutex_lock(&w->lock);
	*out = w->stats;
	pthread_mutex_unlock(&w->lock);
}

void
watch_stop(struct watch *w, struct watch_stats *out)
{
	if (w == NULL) {
		return;
	}
	nng_close(w->sock);
	pthread_join(w->thread, NULL);
	if (out != NULL) {
		*out = w->stats;
	}
	pthread_mutex_destroy(&w->lock);
	free(w);
}
