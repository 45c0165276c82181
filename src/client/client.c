/*
 * The robot client: open and close, settings, and the synchronous calls.
 * Automatic mode lives in autosend.c.
 */
#include <assert.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "client/client_impl.h"
#include "common/clock.h"
#include "common/rpc_status.h"
#include "common/tz.h"

#define DEFAULT_TIMEOUT_MS      5000
#define DEFAULT_INTERVAL_MIN_MS 60000
#define DEFAULT_INTERVAL_MAX_MS 120000
#define MAX_ACCOUNTS_LIMIT      1000000

int
client_result_local(hbmon_result *res, int err, const char *fmt, ...)
{
	va_list ap;

	memset(res, 0, sizeof(*res));
	res->err = err;
	res->code = HBMON_NO_CODE;
	va_start(ap, fmt);
	vsnprintf(res->message, sizeof(res->message), fmt, ap);
	va_end(ap);
	return err;
}

/* The server's rule for robot ids (rules_check_robot_id). */
static bool
robot_id_ok(const char *id)
{
	size_t n = strlen(id);

	if (n == 0 || n > HBMON_NAME_MAX || id[0] == '.' || id[0] == '-') {
		return false;
	}
	for (size_t i = 0; i < n; i++) {
		char ch = id[i];
		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		      (ch >= '0' && ch <= '9') || ch == '.' || ch == '_' ||
		      ch == '-')) {
			return false;
		}
	}
	return true;
}

bool
client_account_name_ok(const char *name)
{
	size_t n;

	if (name == NULL) {
		return false;
	}
	n = strnlen(name, HBMON_NAME_MAX + 1);
	return n > 0 && n <= HBMON_NAME_MAX;
}

/*
 * Microseconds on the system wall clock: the base of every request seq.
 * No request takes under a microsecond, so seqs never run ahead of this
 * clock, and a robot that restarts (or a client reopened in the same
 * process) continues above every seq it used before, as SPEC §2.3 needs,
 * without persisting anything. Only a wall clock stepped back across a
 * restart by more than the downtime breaks that; the server then says
 * "seq lower than the last accepted one" until the clock catches up.
 */
static uint64_t
wall_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t) ts.tv_sec * 1000000u + (uint64_t) ts.tv_nsec / 1000u;
}

static uint64_t
seed_rng(void)
{
	uint64_t seed = 0;

	/* Jitter only needs robots not to beat in step; a clock-derived
	 * seed does when the OS has no randomness to give. */
	if (getrandom(&seed, sizeof(seed), GRND_NONBLOCK) != sizeof(seed)) {
		seed = (uint64_t) clock_mono_ns() ^ (uint64_t) clock_wall_ms();
	}
	return seed != 0 ? seed : 0x9e3779b97f4a7c15ull;
}

int
hbmon_client_open(hbmon_client **out, const char *server_url,
                  const char *robot_id, const char *secret, size_t max_accounts)
{
	hbmon_client *c = NULL;
	pthread_condattr_t cattr;
	bool locks = false;
	int rv;

	if (out == NULL || server_url == NULL || server_url[0] == '\0' ||
	    robot_id == NULL || !robot_id_ok(robot_id) ||
	    (secret != NULL && secret[0] == '\0')) {
		return HBMON_EINVAL;
	}
	if (max_accounts > MAX_ACCOUNTS_LIMIT) {
		return HBMON_ERANGE;
	}
	if ((c = calloc(1, sizeof(*c))) == NULL) {
		return HBMON_ENOMEM;
	}
	c->max_accounts = max_accounts;
	c->timeout_ms = DEFAULT_TIMEOUT_MS;
	c->interval_min_ms = DEFAULT_INTERVAL_MIN_MS;
	c->interval_max_ms = DEFAULT_INTERVAL_MAX_MS;
	c->utc_offset_min = HBMON_UTC_OFFSET_LOCAL;
	c->rng = seed_rng();
	c->last_seq = wall_us();
	snprintf(c->robot_id, sizeof(c->robot_id), "%s", robot_id);

	rv = HBMON_ENOMEM;
	if ((c->url = strdup(server_url)) == NULL) {
		goto fail;
	}
	if (secret != NULL) {
		c->secret_len = strlen(secret);
		if ((c->secret = strdup(secret)) == NULL) {
			goto fail;
		}
		if ((rv = sign_ctx_init(&c->signer, c->secret,
		                        c->secret_len)) != HBMON_OK) {
			goto fail;
		}
	}
	rv = HBMON_ENOMEM;
	c->payload_cap = CLIENT_ROBOT_HB_MAX + 16 +
	                 max_accounts * (size_t) CLIENT_ACCOUNT_HB_MAX;
	c->frame_cap = CLIENT_FRAME_HEAD + CLIENT_ENVELOPE_MAX + c->payload_cap;
	if ((c->payload = malloc(c->payload_cap)) == NULL ||
	    (c->frame = malloc(c->frame_cap)) == NULL) {
		goto fail;
	}
	if (max_accounts > 0 &&
	    ((c->table = calloc(max_accounts, sizeof(*c->table))) == NULL ||
	     (c->snapshot = calloc(max_accounts, sizeof(*c->snapshot))) ==
	         NULL)) {
		goto fail;
	}
	if ((rv = client_conn_init(&c->conn, c->url)) != HBMON_OK) {
		goto fail;
	}
	if (pthread_mutex_init(&c->send_lock, NULL) != 0) {
		rv = HBMON_ENOMEM;
		goto fail_conn;
	}
	if (pthread_mutex_init(&c->lock, NULL) != 0) {
		pthread_mutex_destroy(&c->send_lock);
		rv = HBMON_ENOMEM;
		goto fail_conn;
	}
	pthread_condattr_init(&cattr);
	/* Schedules run on the monotonic clock: a wall-clock jump must
	 * neither hold back nor hurry a heartbeat. */
	pthread_condattr_setclock(&cattr, CLOCK_MONOTONIC);
	if (pthread_cond_init(&c->wake, &cattr) != 0) {
		pthread_condattr_destroy(&cattr);
		rv = HBMON_ENOMEM;
		locks = true;
		goto fail_conn;
	}
	pthread_condattr_destroy(&cattr);
	{
		/* The first localtime_r reads the zone file; do it now so
		 * that no heartbeat ever pays for it. */
		time_t t = time(NULL);
		struct tm tm;
		localtime_r(&t, &tm);
	}
	*out = c;
	return HBMON_OK;

fail_conn:
	if (locks) {
		pthread_mutex_destroy(&c->lock);
		pthread_mutex_destroy(&c->send_lock);
	}
	client_conn_fini(&c->conn);
fail:
	sign_ctx_fini(&c->signer);
	free(c->snapshot);
	free(c->table);
	free(c->frame);
	free(c->payload);
	if (c->secret != NULL) {
		explicit_bzero(c->secret, c->secret_len);
		free(c->secret);
	}
	free(c->url);
	free(c);
	return rv;
}

void
hbmon_client_close(hbmon_client *c)
{
	if (c == NULL) {
		return;
	}
	client_auto_shutdown(c);
	/* Cancels a call in flight and fails later ones at once. */
	client_conn_abort(&c->conn);
	client_conn_fini(&c->conn);
	sign_ctx_fini(&c->signer);
	pthread_cond_destroy(&c->wake);
	pthread_mutex_destroy(&c->lock);
	pthread_mutex_destroy(&c->send_lock);
	free(c->snapshot);
	free(c->table);
	free(c->frame);
	free(c->payload);
	if (c->secret != NULL) {
		explicit_bzero(c->secret, c->secret_len);
		free(c->secret);
	}
	free(c->url);
	free(c);
}

/* ---- settings ---------------------------------------------------------- */

int
hbmon_client_set_timeout(hbmon_client *c, uint32_t timeout_ms)
{
	if (c == NULL) {
		return HBMON_EINVAL;
	}
	if (timeout_ms < 1 || timeout_ms > 3600000) {
		return HBMON_ERANGE;
	}
	pthread_mutex_lock(&c->lock);
	c->timeout_ms = timeout_ms;
	pthread_mutex_unlock(&c->lock);
	return HBMON_OK;
}

int
hbmon_client_set_interval(hbmon_client *c, uint32_t min_ms, uint32_t max_ms)
{
	if (c == NULL) {
		return HBMON_EINVAL;
	}
	if (min_ms < 1 || min_ms > max_ms || max_ms > 86400000) {
		return HBMON_ERANGE;
	}
	pthread_mutex_lock(&c->lock);
	c->interval_min_ms = min_ms;
	c->interval_max_ms = max_ms;
	pthread_mutex_unlock(&c->lock);
	return HBMON_OK;
}

int
hbmon_client_set_utc_offset(hbmon_client *c, int offset_min)
{
	if (c == NULL) {
		return HBMON_EINVAL;
	}
	if (offset_min != HBMON_UTC_OFFSET_LOCAL &&
	    (offset_min < -1439 || offset_min > 1439)) {
		return HBMON_ERANGE;
	}
	pthread_mutex_lock(&c->lock);
	c->utc_offset_min = offset_min;
	pthread_mutex_unlock(&c->lock);
	return HBMON_OK;
}

int
hbmon_client_set_clock(hbmon_client *c, int64_t (*fn)(void *arg), void *arg)
{
	if (c == NULL) {
		return HBMON_EINVAL;
	}
	pthread_mutex_lock(&c->lock);
	c->clock_fn = fn;
	c->clock_arg = arg;
	pthread_mutex_unlock(&c->lock);
	return HBMON_OK;
}

int
hbmon_client_set_trace(hbmon_client *c, void (*fn)(void *arg, const char *line),
                       void *arg)
{
	if (c == NULL) {
		return HBMON_EINVAL;
	}
	pthread_mutex_lock(&c->lock);
	c->trace_fn = fn;
	c->trace_arg = arg;
	pthread_mutex_unlock(&c->lock);
	return HBMON_OK;
}

int
hbmon_client_set_health_callback(hbmon_client *c,
                                 void (*fn)(void *arg,
                                            const hbmon_client_health *health),
                                 void *arg)
{
	if (c == NULL) {
		return HBMON_EINVAL;
	}
	pthread_mutex_lock(&c->lock);
	c->health_fn = fn;
	c->health_arg = arg;
	pthread_mutex_unlock(&c->lock);
	return HBMON_OK;
}

int
hbmon_client_set_tls(hbmon_client *c, const char *ca_file,
                     const char *cert_key_file, const char *server_name)
{
	int rv;

	if (c == NULL) {
		return HBMON_EINVAL;
	}
	/* The dialer belongs to the send path. */
	pthread_mutex_lock(&c->send_lock);
	rv = client_conn_set_tls(&c->conn, ca_file, cert_key_file, server_name);
	if (rv == HBMON_OK) {
		/* A connection made without these settings must not be
		 * kept. */
		client_conn_drop(&c->conn);
	}
	pthread_mutex_unlock(&c->send_lock);
	return rv;
}

void
client_call_opts_get(hbmon_client *c, struct client_call_opts *o)
{
	pthread_mutex_lock(&c->lock);
	o->timeout_ms = c->timeout_ms;
	o->utc_offset_min = c->utc_offset_min;
	o->clock_fn = c->clock_fn;
	o->clock_arg = c->clock_arg;
	o->trace_fn = c->trace_fn;
	o->trace_arg = c->trace_arg;
	pthread_mutex_unlock(&c->lock);
}

/* ---- the send path ----------------------------------------------------- */

/* Formats now_ms as an RFC 3339 timestamp in the configured offset. */
static void
format_timestamp(int64_t now_ms, int offset_min, char *buf, size_t len)
{
	static_assert(HBMON_UTC_OFFSET_LOCAL == TZ_ZONE,
	              "the client's local offset is the common zone");
	if (tz_format(now_ms, offset_min, buf, len) != HBMON_OK) {
		/* Only a clock outside years 0000..9999 gets here; the
		 * server will say what is wrong with the empty string. */
		buf[0] = '\0';
	}
}

/* Takes send_lock by deadline_ms (monotonic). */
static bool
lock_by(pthread_mutex_t *m, int64_t deadline_ms)
{
	struct timespec ts;

	ts.tv_sec = (time_t) (deadline_ms / 1000);
	ts.tv_nsec = (long) (deadline_ms % 1000) * 1000000;
	return pthread_mutex_clocklock(m, CLOCK_MONOTONIC, &ts) == 0;
}

/*
 * Sends the frame and reads the reply into r. A connection that sat idle
 * since the last call may have been closed by a server restart without
 * our noticing; then the request is sent once more on a new connection,
 * with the same seq and bytes, so that if the first copy did arrive the
 * server answers it again instead of recording it twice (SPEC §2.3).
 */
static int
exchange(hbmon_client *c, size_t body_len, int64_t deadline_ms,
         struct client_reply *r)
{
	for (int attempt = 0;; attempt++) {
		bool reused = client_conn_connected(&c->conn);
		pb_istream_t is;
		uint32_t id;
		int rv;

		if ((rv = client_conn_connect(&c->conn, deadline_ms)) !=
		    HBMON_OK) {
			return rv;
		}
		rv = client_conn_send(&c->conn, c->frame, body_len, deadline_ms,
		                      &id);
		if (rv == HBMON_OK) {
			rv = client_conn_reply_begin(&c->conn, id, deadline_ms,
			                             &is);
		}
		if (rv == HBMON_OK) {
			bool ok = client_decode_reply(&is, r);
			rv = client_conn_reply_end(&c->conn, ok);
		}
		if (rv == HBMON_OK || !reused || attempt > 0 ||
		    rv != HBMON_EUNAVAIL) {
			return rv;
		}
	}
}

static void
trace_call(const struct client_call_opts *o, const struct client_items *it,
           uint64_t seq, const hbmon_result *res)
{
	char line[768];

	if (o->trace_fn == NULL) {
		return;
	}
	if (it->has_robot) {
		client_trace_json(it, -1, line, sizeof(line));
		o->trace_fn(o->trace_arg, line);
	}
	for (size_t i = 0; i < it->n_accounts; i++) {
		client_trace_json(it, (long) i, line, sizeof(line));
		o->trace_fn(o->trace_arg, line);
	}
	if (res->code == HBMON_NO_CODE) {
		snprintf(line, sizeof(line), "# seq %llu: %s: %s",
		         (unsigned long long) seq, hbmon_strerror(res->err),
		         res->message);
	} else {
		snprintf(line, sizeof(line), "# seq %llu: code %d (%s)%s%s",
		         (unsigned long long) seq, res->code,
		         hbmon_strerror(res->err), res->message[0] ? ": " : "",
		         res->message);
	}
	o->trace_fn(o->trace_arg, line);
}

int
client_call(hbmon_client *c, const struct client_call_opts *o, int64_t start_ms,
            enum client_method m, struct client_items *items,
            hbmon_result *out_call, hbmon_result *out_single,
            hbmon_result *out_accounts, bool *accepted, size_t *n_rejected,
            bool auto_mode)
{
	int64_t deadline_ms = start_ms + o->timeout_ms;
	struct client_envelope env;
	struct client_reply reply;
	hbmon_result scratch;
	size_t payload_len = 0;
	size_t body_len = 0;
	int64_t now_ms;
	uint64_t seq = 0;
	int rv;

	memset(&reply, 0, sizeof(reply));
	*accepted = false;
	*n_rejected = 0;
	if (!lock_by(&c->send_lock, deadline_ms)) {
		client_result_local(out_call, HBMON_ETIMEDOUT,
		                    "another call on this client held the "
		                    "connection until the timeout (%u ms)",
		                    (unsigned) o->timeout_ms);
		goto done;
	}
	if (auto_mode) {
		pthread_mutex_lock(&c->lock);
		c->auto_sending = true;
		pthread_mutex_unlock(&c->lock);
	}
	now_ms =
	    o->clock_fn != NULL ? o->clock_fn(o->clock_arg) : clock_wall_ms();
	format_timestamp(now_ms, o->utc_offset_min, items->timestamp,
	                 sizeof(items->timestamp));
	rv = client_encode_payload(m, items, c->payload, c->payload_cap,
	                           &payload_len);
	if (rv != HBMON_OK) {
		client_result_local(out_call, rv,
		                    "%zu account heartbeats do not fit the "
		                    "client's buffers (max_accounts %zu)",
		                    items->n_accounts, c->max_accounts);
		goto unlock;
	}

	/* Seq follows the system clock, never the robot's own (which may
	 * be skewed or stepped back), and always goes up. */
	seq = wall_us();
	if (seq <= c->last_seq) {
		seq = c->last_seq + 1;
	}
	c->last_seq = seq;
	memset(&env, 0, sizeof(env));
	env.method = client_method_path(m);
	env.robot_id = c->robot_id;
	env.seq = seq;
	env.sent_at_ms = now_ms;
	env.timeout_ms = o->timeout_ms;
	if (c->secret != NULL) {
		struct sign_fields f = { env.method, env.robot_id,
			                 env.seq,    env.sent_at_ms,
			                 c->payload, payload_len };
		if ((rv = sign_ctx_sign(&c->signer, &f, env.signature)) !=
		    HBMON_OK) {
			client_result_local(out_call, rv, "signing failed");
			goto unlock;
		}
		env.signed_ = true;
	}
	rv = client_encode_request(&env, c->payload, payload_len,
	                           c->frame + CLIENT_FRAME_HEAD,
	                           c->frame_cap - CLIENT_FRAME_HEAD, &body_len);
	if (rv != HBMON_OK) {
		client_result_local(out_call, rv, "the request does not fit");
		goto unlock;
	}

	reply.method = m;
	reply.single = out_single != NULL ? out_single : &scratch;
	reply.accounts = out_accounts;
	reply.accounts_cap = out_accounts != NULL ? items->n_accounts : 0;
	rv = exchange(c, body_len, deadline_ms, &reply);
	if (rv != HBMON_OK) {
		client_result_local(out_call, rv, "%s", c->conn.why);
		goto unlock;
	}
	memset(out_call, 0, sizeof(*out_call));
	out_call->code = reply.code;
	out_call->err = rpc_code_to_err(reply.code);
	if (reply.code != 0) {
		snprintf(out_call->message, sizeof(out_call->message), "%s",
		         reply.message);
		goto unlock;
	}
	*accepted = true;
	*n_rejected = reply.n_rejected;
	if (m != CLIENT_REPORT_BATCH) {
		if (reply.got_single) {
			*out_call = *reply.single;
		}
		/* else: a resend answered after a server restart, which no
		 * longer knows the original reply; it was recorded. */
	} else if (reply.n_rejected > 0) {
		const hbmon_result *first = &reply.first_rejected;
		out_call->err = first->err;
		out_call->code = first->code;
		snprintf(out_call->subject, sizeof(out_call->subject), "%s",
		         first->subject);
		snprintf(out_call->message, sizeof(out_call->message),
		         /* Bounded so that the counts always fit; the full
		          * sentence is in the item's own result. */
		         "%zu of %zu heartbeats were not recorded; first: "
		         "%.64s: %.100s",
		         reply.n_rejected,
		         items->n_accounts + (items->has_robot ? 1 : 0),
		         first->subject, first->message);
	}
unlock:
	if (auto_mode) {
		pthread_mutex_lock(&c->lock);
		c->auto_sending = false;
		pthread_mutex_unlock(&c->lock);
	}
	pthread_mutex_unlock(&c->send_lock);
done:
	/* Items the reply did not speak for share the call's outcome: the
	 * whole request failed, or a resend was answered without them. */
	if (out_single != NULL && (!*accepted || !reply.got_single)) {
		*out_single = *out_call;
	}
	if (out_accounts != NULL) {
		size_t from = *accepted ? reply.n_accounts : 0;
		for (size_t i = from; i < items->n_accounts; i++) {
			out_accounts[i] = *out_call;
		}
	}
	trace_call(o, items, seq, out_call);
	return out_call->err;
}

/* ---- synchronous calls ------------------------------------------------- */

static bool
health_ok(int status)
{
	return status >= HBMON_HEALTHY && status <= HBMON_UNHEALTHY;
}

static bool
account_status_ok(int status)
{
	return status >= HBMON_ACCOUNT_IDLE && status <= HBMON_ACCOUNT_ERROR;
}

static int
check_account(const hbmon_account_state *a, hbmon_result *res)
{
	if (!client_account_name_ok(a->account)) {
		return client_result_local(res, HBMON_EINVAL,
		                           "an account name must be 1 to %d "
		                           "bytes",
		                           HBMON_NAME_MAX);
	}
	if (!account_status_ok((int) a->status)) {
		return client_result_local(res, HBMON_EINVAL,
		                           "account '%s': status %d is not one "
		                           "of idle, active, expired, error",
		                           a->account, (int) a->status);
	}
	return HBMON_OK;
}

int
hbmon_report_robot(hbmon_client *c, const hbmon_robot_state *robot,
                   hbmon_result *out)
{
	int64_t start_ms = clock_mono_ms();
	struct client_call_opts o;
	struct client_items items;
	hbmon_result res;
	bool accepted;
	size_t rejected;

	if (c == NULL || robot == NULL) {
		return client_result_local(out != NULL ? out : &res,
		                           HBMON_EINVAL, "no client or state");
	}
	if (!health_ok((int) robot->status)) {
		return client_result_local(out != NULL ? out : &res,
		                           HBMON_EINVAL,
		                           "robot status %d is not one of "
		                           "healthy, degraded, unhealthy",
		                           (int) robot->status);
	}
	client_call_opts_get(c, &o);
	memset(&items, 0, sizeof(items));
	items.has_robot = true;
	items.robot = *robot;
	return client_call(c, &o, start_ms, CLIENT_REPORT_ROBOT, &items,
	                   out != NULL ? out : &res, NULL, NULL, &accepted,
	                   &rejected, false);
}

int
hbmon_report_account(hbmon_client *c, const hbmon_account_state *account,
                     hbmon_result *out)
{
	int64_t start_ms = clock_mono_ms();
	hbmon_result res;
	hbmon_result *o_res = out != NULL ? out : &res;
	struct client_call_opts o;
	struct client_items items;
	bool accepted;
	size_t rejected;
	int rv;

	if (c == NULL || account == NULL) {
		return client_result_local(o_res, HBMON_EINVAL,
		                           "no client or state");
	}
	if ((rv = check_account(account, o_res)) != HBMON_OK) {
		return rv;
	}
	client_call_opts_get(c, &o);
	memset(&items, 0, sizeof(items));
	items.accounts = account;
	items.n_accounts = 1;
	return client_call(c, &o, start_ms, CLIENT_REPORT_ACCOUNT, &items,
	                   o_res, NULL, NULL, &accepted, &rejected, false);
}

int
hbmon_report_batch(hbmon_client *c, const hbmon_robot_state *robot,
                   const hbmon_account_state *accounts, size_t n_accounts,
                   hbmon_result *out_call, hbmon_result *out_robot,
                   hbmon_result *out_accounts)
{
	int64_t start_ms = clock_mono_ms();
	hbmon_result res;
	hbmon_result *o_res = out_call != NULL ? out_call : &res;
	struct client_call_opts o;
	struct client_items items;
	bool accepted;
	size_t rejected;
	int rv = HBMON_OK;

	if (c == NULL || (accounts == NULL && n_accounts > 0)) {
		rv = client_result_local(o_res, HBMON_EINVAL,
		                         "no client or accounts");
	} else if (robot != NULL && !health_ok((int) robot->status)) {
		rv = client_result_local(
		    o_res, HBMON_EINVAL,
		    "robot status %d is not one of healthy, "
		    "degraded, unhealthy",
		    (int) robot->status);
	} else if (n_accounts > c->max_accounts) {
		rv = client_result_local(o_res, HBMON_ENOMEM,
		                         "%zu accounts are more than the "
		                         "client's max_accounts (%zu)",
		                         n_accounts, c->max_accounts);
	}
	for (size_t i = 0; rv == HBMON_OK && i < n_accounts; i++) {
		rv = check_account(&accounts[i], o_res);
	}
	if (rv != HBMON_OK) {
		if (out_robot != NULL) {
			*out_robot = *o_res;
		}
		for (size_t i = 0; out_accounts != NULL && i < n_accounts;
		     i++) {
			out_accounts[i] = *o_res;
		}
		return rv;
	}
	client_call_opts_get(c, &o);
	memset(&items, 0, sizeof(items));
	if (robot != NULL) {
		items.has_robot = true;
		items.robot = *robot;
	}
	items.accounts = accounts;
	items.n_accounts = n_accounts;
	return client_call(c, &o, start_ms, CLIENT_REPORT_BATCH, &items, o_res,
	                   out_robot, out_accounts, &accepted, &rejected,
	                   false);
}

/* ---- words ------------------------------------------------------------- */

const char *
hbmon_health_status_name(int status)
{
	switch (status) {
	case HBMON_HEALTHY:
		return "healthy";
	case HBMON_DEGRADED:
		return "degraded";
	case HBMON_UNHEALTHY:
		return "unhealthy";
	}
	return "unknown";
}

const char *
hbmon_account_status_name(int status)
{
	switch (status) {
	case HBMON_ACCOUNT_IDLE:
		return "idle";
	case HBMON_ACCOUNT_ACTIVE:
		return "active";
	case HBMON_ACCOUNT_EXPIRED:
		return "expired";
	case HBMON_ACCOUNT_ERROR:
		return "error";
	}
	return "unknown";
}
