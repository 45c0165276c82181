/* Self-heartbeats through the Monitor service. */
#include "notify/selfbeat.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/clock.h"
#include "common/log.h"
#include "common/rfc3339.h"
#include "common/rpc_client.h"
#include "common/rpc_status.h"
#include "hbmon/error.h"
#include "hbmon/v1/heartbeat.pb-c.h"
#include "hbmon/v1/monitor.pb-c.h"

#define H(x) HBMON__V1__HEALTH_STATUS__HEALTH_STATUS_##x

struct selfbeat {
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t wake;
	bool stop;
	bool degraded;
	bool changed;
	uint32_t backlog;
	int64_t interval_ms;
	char robot[65];
	struct rpc_client *client;
	bool failing; /* the last beat failed; said once in the log */
};

/* Sends one heartbeat; logs only when success turns to failure or back. */
static void
beat(struct selfbeat *b, bool degraded, uint32_t backlog)
{
	Hbmon__V1__RobotHeartbeat hb = HBMON__V1__ROBOT_HEARTBEAT__INIT;
	Hbmon__V1__ReportResult *res = NULL;
	struct rpc_status st;
	char ts[RFC3339_MAX];
	char why[600] = "";
	int rv;

	rfc3339_format(clock_wall_ms(), 0, ts, sizeof(ts));
	hb.event = "ROBOT_HEARTBEAT";
	hb.status = degraded ? H(DEGRADED) : H(HEALTHY);
	hb.active_accounts = 0;
	hb.active_tasks = backlog;
	hb.timestamp = ts;
	rv = rpc_client_call(b->client, "/hbmon.v1.Monitor/ReportRobot",
	                     &hb.base, &hbmon__v1__report_result__descriptor,
	                     (ProtobufCMessage **) &res, &st);
	if (rv != HBMON_OK) {
		snprintf(why, sizeof(why), "%s", st.message);
	} else if (st.code != RPC_OK) {
		snprintf(why, sizeof(why), "%s: %s%s", rpc_code_name(st.code),
		         st.message,
		         st.code == RPC_UNAUTHENTICATED
		             ? " (is the robot registered with `hbctl robot "
		               "add` and the secret file its secret?)"
		             : "");
	} else if (res != NULL && res->code != RPC_OK) {
		snprintf(why, sizeof(why), "%s", res->message);
	}
	if (res != NULL) {
		protobuf_c_message_free_unpacked(&res->base, NULL);
	}
	if (why[0] != '\0' && !b->failing) {
		log_warn("own heartbeat failed", "robot=%s why=%s", b->robot,
		         why);
	} else if (why[0] == '\0' && b->failing) {
		log_info("own heartbeat accepted again", "robot=%s", b->robot);
	}
	b->failing = why[0] != '\0';
}

static void *
run(void *arg)
{
	struct selfbeat *b = arg;

	pthread_mutex_lock(&b->lock);
	while (!b->stop) {
		bool degraded = b->degraded;
		uint32_t backlog = b->backlog;
		struct timespec until;
		int64_t due;

		b->changed = false;
		pthread_mutex_unlock(&b->lock);
		beat(b, degraded, backlog);
		pthread_mutex_lock(&b->lock);
		due = clock_mono_ms() + b->interval_ms;
		until.tv_sec = (time_t) (due / 1000);
		until.tv_nsec = (long) (due % 1000) * 1000000;
		while (!b->stop && !b->changed && clock_mono_ms() < due) {
			pthread_cond_timedwait(&b->wake, &b->lock, &until);
		}
	}
	pthread_mutex_unlock(&b->lock);
	return NULL;
}

int
selfbeat_start(const struct selfbeat_options *opts, struct selfbeat **out,
               char *why, size_t why_len)
{
	struct selfbeat *b = calloc(1, sizeof(*b));
	struct rpc_client_options o = {
		.url = opts->server,
		.robot_id = opts->robot,
		.key = opts->secret,
		.key_len = opts->secret_len,
		.background_dial = true,
		.tls = opts->tls,
	};
	pthread_condattr_t attr;
	int rv;

	if (b == NULL) {
		return HBMON_ENOMEM;
	}
	/* A reply slower than a beat is as good as none. */
	o.timeout_ms = opts->interval_ms < 1000   ? 1000
	               : opts->interval_ms > 5000 ? 5000
	                                          : (int) opts->interval_ms;
	b->interval_ms = opts->interval_ms;
	snprintf(b->robot, sizeof(b->robot), "%s", opts->robot);
	if ((rv = rpc_client_open(&o, &b->client, why, why_len)) != HBMON_OK) {
		free(b);
		return rv;
	}
	pthread_mutex_init(&b->lock, NULL);
	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_cond_init(&b->wake, &attr);
	pthread_condattr_destroy(&attr);
	if (pthread_create(&b->thread, NULL, run, b) != 0) {
		snprintf(why, why_len, "cannot start the heartbeat thread");
		pthread_cond_destroy(&b->wake);
		pthread_mutex_destroy(&b->lock);
		rpc_client_close(b->client);
		free(b);
		return HBMON_ENOMEM;
	}
	*out = b;
	return HBMON_OK;
}

void
selfbeat_set(struct selfbeat *b, bool degraded, uint32_t backlog)
{
	if (b == NULL) {
		return;
	}
	pthread_mutex_lock(&b->lock);
	if (b->degraded != degraded) {
		b->changed = true;
		pthread_cond_signal(&b->wake);
	}
	b->degraded = degraded;
	b->backlog = backlog;
	pthread_mutex_unlock(&b->lock);
}

void
selfbeat_stop(struct selfbeat *b)
{
	if (b == NULL) {
		return;
	}
	pthread_mutex_lock(&b->lock);
	b->stop = true;
	pthread_cond_signal(&b->wake);
	pthread_mutex_unlock(&b->lock);
	pthread_join(b->thread, NULL);
	pthread_cond_destroy(&b->wake);
	pthread_mutex_destroy(&b->lock);
	rpc_client_close(b->client);
	free(b);
}
