/*
 * libhbmon-client against a scriptable fake server: an nng REP socket in a
 * thread that decodes each request with protobuf-c (the server's side of
 * the wire), checks its signature, and answers as told. Covers interop
 * (every status, large batches), reply handling, timeouts, peers that are
 * not hbmon, reconnection, and automatic mode.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <nng/nng.h>
#include <nng/protocol/reqrep0/rep.h>

#include "common/clock.h"
#include "common/envelope.h"
#include "common/rfc3339.h"
#include "hbmon/client.h"
#include "hbmon/v1/heartbeat.pb-c.h"
#include "hbmon/v1/monitor.pb-c.h"

#define SECRET "hbs_wire_test_secret"

enum fake_mode {
	FAKE_OK,      /* OK, every item recorded */
	FAKE_CODE,    /* envelope error: fake.code, fake.message */
	FAKE_REJECT,  /* OK, but account fake.reject_index refused */
	FAKE_GARBAGE, /* bytes that are not an RpcResponse */
	FAKE_HOLD,    /* never answer */
	FAKE_LONG,    /* OK with a 1000-character message */
};

struct seen {
	char method[64];
	char robot_id[72];
	uint64_t seq;
	int64_t sent_at_ms;
	uint32_t timeout_ms;
	bool sig_ok;
	Hbmon__V1__HeartbeatBatch *batch;     /* ReportBatch */
	Hbmon__V1__RobotHeartbeat *robot;     /* ReportRobot */
	Hbmon__V1__AccountHeartbeat *account; /* ReportAccount */
};

#define SEEN_MAX 256

static struct fake {
	char dir[64];
	char url[128];
	nng_socket sock;
	pthread_t thread;
	atomic_bool stop;
	atomic_int mode;
	int code;
	char message[64];
	long reject_index;
	pthread_mutex_t lock;
	struct seen seen[SEEN_MAX];
	size_t n_seen;
} fake;

static void
seen_free(struct seen *s)
{
	if (s->batch != NULL) {
		hbmon__v1__heartbeat_batch__free_unpacked(s->batch, NULL);
	}
	if (s->robot != NULL) {
		hbmon__v1__robot_heartbeat__free_unpacked(s->robot, NULL);
	}
	if (s->account != NULL) {
		hbmon__v1__account_heartbeat__free_unpacked(s->account, NULL);
	}
	memset(s, 0, sizeof(*s));
}

static void
result_init(Hbmon__V1__ReportResult *r, int code, const char *subject,
            const char *message)
{
	hbmon__v1__report_result__init(r);
	r->code = code;
	r->subject = (char *) subject;
	r->message = (char *) message;
}

/* Records req and packs the answer the current mode asks for. */
static nng_msg *
answer(const Hbmon__V1__RpcRequest *req)
{
	struct seen s;
	const ProtobufCMessage *out = NULL;
	Hbmon__V1__ReportResult single, *items = NULL, **ptrs = NULL;
	Hbmon__V1__BatchReply batch = HBMON__V1__BATCH_REPLY__INIT;
	Hbmon__V1__ReportResult robot_res;
	static char long_message[1001];
	char(*subjects)[160] = NULL;
	int mode = atomic_load(&fake.mode);
	int code = 0;
	const char *message = "";
	uint8_t *buf = NULL;
	size_t len = 0;
	nng_msg *msg = NULL;

	memset(&s, 0, sizeof(s));
	snprintf(s.method, sizeof(s.method), "%s", req->method);
	snprintf(s.robot_id, sizeof(s.robot_id), "%s", req->robot_id);
	s.seq = req->seq;
	s.sent_at_ms = req->sent_at_ms;
	s.timeout_ms = req->timeout_ms;
	s.sig_ok = env_request_verify(req, SECRET, strlen(SECRET)) == HBMON_OK;
	if (strcmp(req->method, "/hbmon.v1.Monitor/ReportBatch") == 0) {
		s.batch = hbmon__v1__heartbeat_batch__unpack(
		    NULL, req->payload.len, req->payload.data);
	} else if (strcmp(req->method, "/hbmon.v1.Monitor/ReportRobot") == 0) {
		s.robot = hbmon__v1__robot_heartbeat__unpack(
		    NULL, req->payload.len, req->payload.data);
	} else {
		s.account = hbmon__v1__account_heartbeat__unpack(
		    NULL, req->payload.len, req->payload.data);
	}

	memset(long_message, 'm', 1000);
	if (mode == FAKE_CODE) {
		code = fake.code;
		message = fake.message;
	} else if (s.batch != NULL) {
		size_t n = s.batch->n_accounts;
		items = calloc(n + 1, sizeof(*items));
		ptrs = calloc(n + 1, sizeof(*ptrs));
		subjects = calloc(n + 1, sizeof(*subjects));
		cr_assert(items && ptrs && subjects);
		if (s.batch->robot != NULL) {
			result_init(&robot_res, 0, s.robot_id, "");
			batch.robot = &robot_res;
		}
		for (size_t i = 0; i < n; i++) {
			bool bad = mode == FAKE_REJECT &&
			           (long) i == fake.reject_index;
			snprintf(subjects[i], sizeof(subjects[i]), "%s/%s",
			         s.robot_id, s.batch->accounts[i]->account);
			result_init(&items[i], bad ? 3 : 0, subjects[i],
			            bad ? "account name is no good" : "");
			ptrs[i] = &items[i];
		}
		batch.accounts = ptrs;
		batch.n_accounts = n;
		out = &batch.base;
	} else {
		result_init(&single, 0, s.robot_id,
		            mode == FAKE_LONG ? long_message : "");
		single.transition_not_allowed = mode == FAKE_LONG;
		out = &single.base;
	}
	if (mode == FAKE_GARBAGE) {
		static const uint8_t junk[] = { 0xff, 0xff, 0xff, 0x07, 0x01 };
		nng_msg_alloc(&msg, 0);
		nng_msg_append(msg, junk, sizeof(junk));
	} else {
		cr_assert_eq(env_response_pack(code, message, out, &buf, &len),
		             HBMON_OK);
		nng_msg_alloc(&msg, 0);
		nng_msg_append(msg, buf, len);
		free(buf);
	}
	free(items);
	free(ptrs);
	free(subjects);

	pthread_mutex_lock(&fake.lock);
	if (fake.n_seen < SEEN_MAX) {
		fake.seen[fake.n_seen++] = s;
	} else {
		seen_free(&s);
	}
	pthread_mutex_unlock(&fake.lock);
	return msg;
}

static void *
fake_main(void *arg)
{
	(void) arg;
	while (!atomic_load(&fake.stop)) {
		nng_msg *msg;
		Hbmon__V1__RpcRequest *req;
		nng_msg *reply;

		if (nng_recvmsg(fake.sock, &msg, 0) != 0) {
			continue; /* receive timeout: look at stop */
		}
		if (env_request_unpack(nng_msg_body(msg), nng_msg_len(msg),
		                       &req, NULL, 0) != HBMON_OK) {
			nng_msg_free(msg);
			continue;
		}
		nng_msg_free(msg);
		reply = answer(req);
		hbmon__v1__rpc_request__free_unpacked(req, NULL);
		if (atomic_load(&fake.mode) == FAKE_HOLD) {
			nng_msg_free(reply);
			continue;
		}
		if (nng_sendmsg(fake.sock, reply, 0) != 0) {
			nng_msg_free(reply);
		}
	}
	return NULL;
}

static void
fake_listen(void)
{
	cr_assert_eq(nng_rep0_open(&fake.sock), 0);
	nng_socket_set_ms(fake.sock, NNG_OPT_RECVTIMEO, 50);
	cr_assert_eq(nng_listen(fake.sock, fake.url, NULL, 0), 0);
}

static void
fake_start(void)
{
	memset(&fake, 0, sizeof(fake));
	snprintf(fake.dir, sizeof(fake.dir), "/tmp/hbmon-wire-XXXXXX");
	cr_assert_not_null(mkdtemp(fake.dir));
	snprintf(fake.url, sizeof(fake.url), "ipc://%s/robots.sock", fake.dir);
	pthread_mutex_init(&fake.lock, NULL);
	fake.reject_index = -1;
	fake_listen();
	cr_assert_eq(pthread_create(&fake.thread, NULL, fake_main, NULL), 0);
}

static void
fake_stop(void)
{
	char path[160];

	atomic_store(&fake.stop, true);
	pthread_join(fake.thread, NULL);
	nng_close(fake.sock);
	for (size_t i = 0; i < fake.n_seen; i++) {
		seen_free(&fake.seen[i]);
	}
	snprintf(path, sizeof(path), "%s/robots.sock", fake.dir);
	unlink(path);
	rmdir(fake.dir);
}

static size_t
seen_count(void)
{
	size_t n;

	pthread_mutex_lock(&fake.lock);
	n = fake.n_seen;
	pthread_mutex_unlock(&fake.lock);
	return n;
}

/* Waits (10 s at most) until the fake has seen at least n requests. */
static void
await_seen(size_t n)
{
	for (int i = 0; i < 1000 && seen_count() < n; i++) {
		usleep(10000);
	}
	cr_assert_geq(seen_count(), n, "the fake server saw %zu of %zu",
	              seen_count(), n);
}

static hbmon_client *
client_for_fake(size_t max_accounts)
{
	hbmon_client *c = NULL;

	cr_assert_eq(
	    hbmon_client_open(&c, fake.url, "R1", SECRET, max_accounts),
	    HBMON_OK);
	return c;
}

TestSuite(client, .init = fake_start, .fini = fake_stop);

Test(client, robot_heartbeat_decodes_on_the_server_for_every_status,
     .timeout = 20)
{
	hbmon_client *c = client_for_fake(0);
	int64_t before = clock_wall_ms();

	hbmon_client_set_utc_offset(c, 420);
	hbmon_client_set_timeout(c, 4321);
	for (int s = HBMON_HEALTHY; s <= HBMON_UNHEALTHY; s++) {
		hbmon_robot_state r = { (hbmon_health_status) s, 12, 5 };
		hbmon_result res;
		cr_assert_eq(hbmon_report_robot(c, &r, &res), HBMON_OK, "%s",
		             res.message);
		cr_assert_eq(res.code, 0);
		cr_assert_str_eq(res.subject, "R1");
	}
	cr_assert_eq(seen_count(), 3);
	for (int i = 0; i < 3; i++) {
		struct seen *s = &fake.seen[i];
		struct rfc3339_time t;

		cr_assert_str_eq(s->method, "/hbmon.v1.Monitor/ReportRobot");
		cr_assert_str_eq(s->robot_id, "R1");
		cr_assert(s->sig_ok, "signature verifies with the secret");
		cr_assert_eq(s->timeout_ms, 4321);
		cr_assert_geq(s->sent_at_ms, before);
		cr_assert_not_null(s->robot);
		cr_assert_str_eq(s->robot->event, "ROBOT_HEARTBEAT");
		cr_assert_eq((int) s->robot->status, HBMON_HEALTHY + i);
		cr_assert_eq(s->robot->active_accounts, 12);
		cr_assert_eq(s->robot->active_tasks, 5);
		cr_assert_eq(rfc3339_parse(s->robot->timestamp,
		                           strlen(s->robot->timestamp), &t,
		                           NULL, 0),
		             HBMON_OK, "'%s'", s->robot->timestamp);
		cr_assert_eq(t.offset_min, 420, "'%s'", s->robot->timestamp);
		cr_assert(strstr(s->robot->timestamp, "+07:00") != NULL);
		if (i > 0) {
			cr_assert_gt(s->seq, fake.seen[i - 1].seq,
			             "seq increases");
		}
	}
	hbmon_client_close(c);
}

Test(client, account_heartbeat_decodes_on_the_server_for_every_status,
     .timeout = 20)
{
	hbmon_client *c = client_for_fake(0);

	for (int s = HBMON_ACCOUNT_IDLE; s <= HBMON_ACCOUNT_ERROR; s++) {
		hbmon_account_state a = { "ACC_\xc3\xa9",
			                  (hbmon_account_status) s,
			                  s != HBMON_ACCOUNT_EXPIRED,
			                  UINT32_MAX };
		hbmon_result res;
		cr_assert_eq(hbmon_report_account(c, &a, &res), HBMON_OK, "%s",
		             res.message);
	}
	cr_assert_eq(seen_count(), 4);
	for (int i = 0; i < 4; i++) {
		Hbmon__V1__AccountHeartbeat *a = fake.seen[i].account;
		cr_assert_str_eq(fake.seen[i].method,
		                 "/hbmon.v1.Monitor/ReportAccount");
		cr_assert(fake.seen[i].sig_ok);
		cr_assert_not_null(a);
		cr_assert_str_eq(a->event, "ACCOUNT_HEARTBEAT");
		cr_assert_str_eq(a->account, "ACC_\xc3\xa9");
		cr_assert_eq((int) a->status, HBMON_ACCOUNT_IDLE + i);
		cr_assert_eq(a->session_valid,
		             HBMON_ACCOUNT_IDLE + i != HBMON_ACCOUNT_EXPIRED);
		cr_assert_eq(a->open_orders, UINT32_MAX);
	}
	hbmon_client_close(c);
}

Test(client, large_batch_decodes_item_by_item, .timeout = 30)
{
	enum { N = 5000 };
	static hbmon_account_state accounts[N];
	static char names[N][16];
	static hbmon_result per[N];
	hbmon_robot_state robot = { HBMON_DEGRADED, N, 7 };
	hbmon_result call, r_robot;
	hbmon_client *c = client_for_fake(N);
	Hbmon__V1__HeartbeatBatch *b;

	for (int i = 0; i < N; i++) {
		snprintf(names[i], sizeof(names[i]), "ACC_%04d", i + 1);
		accounts[i] =
		    (hbmon_account_state){ names[i],
			                   (hbmon_account_status) (1 + i % 4),
			                   i % 4 != 2, (uint32_t) i };
	}
	cr_assert_eq(
	    hbmon_report_batch(c, &robot, accounts, N, &call, &r_robot, per),
	    HBMON_OK, "%s", call.message);
	cr_assert_str_eq(r_robot.subject, "R1");
	cr_assert_str_eq(per[N - 1].subject, "R1/ACC_5000");
	cr_assert_eq(per[N - 1].err, HBMON_OK);
	b = fake.seen[0].batch;
	cr_assert(fake.seen[0].sig_ok);
	cr_assert_not_null(b);
	cr_assert_not_null(b->robot);
	cr_assert_eq((int) b->robot->status, HBMON_DEGRADED);
	cr_assert_eq(b->robot->active_accounts, N);
	cr_assert_eq(b->n_accounts, N);
	for (int i = 0; i < N; i++) {
		cr_assert_str_eq(b->accounts[i]->account, names[i]);
		cr_assert_eq((int) b->accounts[i]->status, 1 + i % 4);
		cr_assert_eq(b->accounts[i]->session_valid, i % 4 != 2);
		cr_assert_eq(b->accounts[i]->open_orders, (uint32_t) i);
		cr_assert_str_eq(b->accounts[i]->timestamp,
		                 b->robot->timestamp);
	}
	/* Accounts only: the batch carries no robot heartbeat. */
	cr_assert_eq(
	    hbmon_report_batch(c, NULL, accounts, 2, &call, NULL, NULL),
	    HBMON_OK);
	cr_assert_null(fake.seen[1].batch->robot);
	cr_assert_eq(fake.seen[1].batch->n_accounts, 2);
	hbmon_client_close(c);
}

static void
expect_code(int code, int err)
{
	hbmon_client *c = client_for_fake(0);
	hbmon_robot_state r = { HBMON_HEALTHY, 0, 0 };
	hbmon_result res;

	atomic_store(&fake.mode, FAKE_CODE);
	fake.code = code;
	snprintf(fake.message, sizeof(fake.message), "sentence %d", code);
	cr_assert_eq(hbmon_report_robot(c, &r, &res), err, "code %d", code);
	cr_assert_eq(res.err, err);
	cr_assert_eq(res.code, code);
	cr_assert_str_eq(res.message, fake.message);
	hbmon_client_close(c);
}

Test(client, server_codes_map_to_errors_with_the_servers_words, .timeout = 20)
{
	expect_code(3, HBMON_EINVAL);
	expect_code(7, HBMON_EPERM);
	expect_code(14, HBMON_EUNAVAIL);
	expect_code(16, HBMON_EAUTH);
	expect_code(13, HBMON_EREMOTE);
	expect_code(99, HBMON_EREMOTE);
}

Test(client, long_server_message_is_cut_not_refused, .timeout = 10)
{
	hbmon_client *c = client_for_fake(0);
	hbmon_robot_state r = { HBMON_HEALTHY, 0, 0 };
	hbmon_result res;

	atomic_store(&fake.mode, FAKE_LONG);
	cr_assert_eq(hbmon_report_robot(c, &r, &res), HBMON_OK);
	cr_assert_eq(strlen(res.message), HBMON_MESSAGE_MAX - 1);
	cr_assert(res.transition_not_allowed);
	hbmon_client_close(c);
}

Test(client, refused_item_fails_the_batch_and_says_which, .timeout = 10)
{
	hbmon_client *c = client_for_fake(3);
	hbmon_robot_state r = { HBMON_HEALTHY, 3, 0 };
	hbmon_account_state a[3] = {
		{ "ACC_001", HBMON_ACCOUNT_IDLE, true, 0 },
		{ "ACC_002", HBMON_ACCOUNT_IDLE, true, 0 },
		{ "ACC_003", HBMON_ACCOUNT_IDLE, true, 0 },
	};
	hbmon_result call, robot, per[3];

	atomic_store(&fake.mode, FAKE_REJECT);
	fake.reject_index = 1;
	cr_assert_eq(hbmon_report_batch(c, &r, a, 3, &call, &robot, per),
	             HBMON_EINVAL);
	cr_assert_eq(call.code, 3);
	cr_assert_str_eq(call.subject, "R1/ACC_002");
	cr_assert(strstr(call.message, "1 of 4 heartbeats") != NULL, "%s",
	          call.message);
	cr_assert_eq(robot.err, HBMON_OK);
	cr_assert_eq(per[0].err, HBMON_OK);
	cr_assert_eq(per[1].err, HBMON_EINVAL);
	cr_assert_str_eq(per[1].message, "account name is no good");
	cr_assert_eq(per[2].err, HBMON_OK);
	hbmon_client_close(c);
}

Test(client, garbage_reply_is_a_protocol_error_then_recovers, .timeout = 10)
{
	hbmon_client *c = client_for_fake(0);
	hbmon_robot_state r = { HBMON_HEALTHY, 0, 0 };
	hbmon_result res;

	atomic_store(&fake.mode, FAKE_GARBAGE);
	cr_assert_eq(hbmon_report_robot(c, &r, &res), HBMON_EPROTO);
	cr_assert_eq(res.code, HBMON_NO_CODE);
	atomic_store(&fake.mode, FAKE_OK);
	cr_assert_eq(hbmon_report_robot(c, &r, &res), HBMON_OK, "%s",
	             res.message);
	hbmon_client_close(c);
}

Test(client, silent_server_times_out_within_the_timeout, .timeout = 20)
{
	hbmon_client *c = client_for_fake(0);
	hbmon_robot_state r = { HBMON_HEALTHY, 0, 0 };
	hbmon_result res;
	int64_t t0;

	hbmon_client_set_timeout(c, 300);
	atomic_store(&fake.mode, FAKE_HOLD);
	t0 = clock_mono_ms();
	cr_assert_eq(hbmon_report_robot(c, &r, &res), HBMON_ETIMEDOUT);
	/* Generous: it returns, and not long after its 300 ms. */
	cr_assert_lt(clock_mono_ms() - t0, 5000);
	cr_assert_eq(res.code, HBMON_NO_CODE);
	atomic_store(&fake.mode, FAKE_OK);
	hbmon_client_set_timeout(c, 5000);
	cr_assert_eq(hbmon_report_robot(c, &r, &res), HBMON_OK, "%s",
	             res.message);
	hbmon_client_close(c);
}

/* A unix socket that is not SP: accepts, then says something else. */
static void *
not_sp_main(void *arg)
{
	int lfd = *(int *) arg;
	int fd = accept(lfd, NULL, NULL);

	if (fd >= 0) {
		static const char text[] = "HTTP/1.1 400 Bad Request\r\n\r\n";
		ssize_t w = write(fd, text, sizeof(text) - 1);
		(void) w;
		usleep(500000);
		close(fd);
	}
	return NULL;
}

static int
unix_listen(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);

	cr_assert_geq(fd, 0);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	cr_assert_eq(bind(fd, (struct sockaddr *) &sa, sizeof(sa)), 0);
	cr_assert_eq(listen(fd, 4), 0);
	return fd;
}

Test(client, peer_that_is_not_sp_is_a_protocol_error, .timeout = 10)
{
	char path[160], url[180];
	hbmon_robot_state r = { HBMON_HEALTHY, 0, 0 };
	hbmon_client *c = NULL;
	hbmon_result res;
	pthread_t t;
	int lfd;

	snprintf(path, sizeof(path), "%s/other.sock", fake.dir);
	snprintf(url, sizeof(url), "ipc://%s", path);
	lfd = unix_listen(path);
	pthread_create(&t, NULL, not_sp_main, &lfd);
	cr_assert_eq(hbmon_client_open(&c, url, "R1", SECRET, 0), HBMON_OK);
	cr_assert_eq(hbmon_report_robot(c, &r, &res), HBMON_EPROTO);
	cr_assert(strstr(res.message, "not an hbmon server") != NULL, "%s",
	          res.message);
	hbmon_client_close(c);
	pthread_join(t, NULL);
	close(lfd);
	unlink(path);
}

Test(client, peer_that_never_answers_the_handshake_times_out, .timeout = 10)
{
	char path[160], url[180];
	hbmon_robot_state r = { HBMON_HEALTHY, 0, 0 };
	hbmon_client *c = NULL;
	hbmon_result res;
	int64_t t0;
	int lfd;

	/* listen() but never accept(): the kernel completes the connection
	 * and then nothing ever comes, as with a frozen server. */
	snprintf(path, sizeof(path), "%s/frozen.sock", fake.dir);
	snprintf(url, sizeof(url), "ipc://%s", path);
	lfd = unix_listen(path);
	cr_assert_eq(hbmon_client_open(&c, url, "R1", SECRET, 0), HBMON_OK);
	hbmon_client_set_timeout(c, 250);
	t0 = clock_mono_ms();
	cr_assert_eq(hbmon_report_robot(c, &r, &res), HBMON_ETIMEDOUT, "%s",
	             res.message);
	cr_assert_lt(clock_mono_ms() - t0, 5000);
	hbmon_client_close(c);
	close(lfd);
	unlink(path);
}

Test(client, seq_keeps_increasing_across_a_robot_restart, .timeout = 10)
{
	hbmon_robot_state r = { HBMON_HEALTHY, 0, 0 };
	uint64_t last;

	for (int run = 0; run < 3; run++) {
		hbmon_client *c = client_for_fake(0);
		for (int i = 0; i < 5; i++) {
			cr_assert_eq(hbmon_report_robot(c, &r, NULL), HBMON_OK);
		}
		hbmon_client_close(c);
	}
	cr_assert_eq(seen_count(), 15);
	last = fake.seen[0].seq;
	for (size_t i = 1; i < 15; i++) {
		cr_assert_gt(fake.seen[i].seq, last, "request %zu", i);
		last = fake.seen[i].seq;
	}
}

Test(client, server_restart_between_calls_costs_no_heartbeat, .timeout = 20)
{
	hbmon_client *c = client_for_fake(0);
	hbmon_robot_state r = { HBMON_HEALTHY, 0, 0 };
	hbmon_result res;

	cr_assert_eq(hbmon_report_robot(c, &r, &res), HBMON_OK);
	/* The server goes away and comes back while the client's connection
	 * sits idle: the next call must notice and reconnect, not fail. */
	atomic_store(&fake.stop, true);
	pthread_join(fake.thread, NULL);
	nng_close(fake.sock);
	atomic_store(&fake.stop, false);
	fake_listen();
	cr_assert_eq(pthread_create(&fake.thread, NULL, fake_main, NULL), 0);
	cr_assert_eq(hbmon_report_robot(c, &r, &res), HBMON_OK, "%s",
	             res.message);
	hbmon_client_close(c);
}

struct racer {
	hbmon_client *c;
	int ok;
};

static void *
racer_main(void *arg)
{
	struct racer *rc = arg;
	hbmon_robot_state r = { HBMON_HEALTHY, 0, 0 };

	for (int i = 0; i < 50; i++) {
		if (hbmon_report_robot(rc->c, &r, NULL) == HBMON_OK) {
			rc->ok++;
		}
	}
	return NULL;
}

Test(client, calls_from_many_threads_arrive_in_seq_order, .timeout = 30)
{
	hbmon_client *c = client_for_fake(0);
	struct racer rc[4];
	pthread_t t[4];

	for (int i = 0; i < 4; i++) {
		rc[i] = (struct racer){ c, 0 };
		pthread_create(&t[i], NULL, racer_main, &rc[i]);
	}
	for (int i = 0; i < 4; i++) {
		pthread_join(t[i], NULL);
		cr_assert_eq(rc[i].ok, 50);
	}
	cr_assert_eq(seen_count(), 200);
	for (size_t i = 1; i < 200; i++) {
		cr_assert_gt(fake.seen[i].seq, fake.seen[i - 1].seq);
	}
	hbmon_client_close(c);
}

/* ---- automatic mode --------------------------------------------------- */

static atomic_int health_calls;

static void
count_health(void *arg, const hbmon_client_health *h)
{
	(void) arg;
	(void) h;
	atomic_fetch_add(&health_calls, 1);
}

Test(client, automatic_mode_sends_the_table_in_batches, .timeout = 30)
{
	hbmon_client *c = client_for_fake(4);
	hbmon_robot_state r = { HBMON_HEALTHY, 2, 1 };
	hbmon_account_state a = { "ACC_001", HBMON_ACCOUNT_ACTIVE, true, 3 };
	hbmon_client_health h;
	Hbmon__V1__HeartbeatBatch *b;
	size_t n;

	hbmon_client_set_interval(c, 20, 40);
	hbmon_client_set_health_callback(c, count_health, NULL);
	cr_assert_eq(hbmon_set_account(c, &a), HBMON_OK);
	cr_assert_eq(hbmon_client_start(c), HBMON_OK);
	await_seen(2);
	/* Before hbmon_set_robot, batches carry accounts only. */
	cr_assert_null(fake.seen[0].batch->robot);
	cr_assert_eq(fake.seen[0].batch->n_accounts, 1);

	cr_assert_eq(hbmon_set_robot(c, &r), HBMON_OK);
	a.account = "ACC_002";
	a.status = HBMON_ACCOUNT_EXPIRED;
	a.session_valid = false;
	cr_assert_eq(hbmon_set_account(c, &a), HBMON_OK);
	cr_assert_eq(hbmon_remove_account(c, "ACC_001"), HBMON_OK);
	n = seen_count();
	await_seen(n + 2);
	pthread_mutex_lock(&fake.lock);
	b = fake.seen[fake.n_seen - 1].batch;
	cr_assert(fake.seen[fake.n_seen - 1].sig_ok);
	cr_assert_not_null(b->robot);
	cr_assert_eq(b->robot->active_accounts, 2);
	cr_assert_eq(b->n_accounts, 1);
	cr_assert_str_eq(b->accounts[0]->account, "ACC_002");
	cr_assert_eq((int) b->accounts[0]->status, HBMON_ACCOUNT_EXPIRED);
	pthread_mutex_unlock(&fake.lock);

	/* Health is updated just after the fake has answered. */
	for (int i = 0; i < 500; i++) {
		cr_assert_eq(hbmon_client_get_health(c, &h), HBMON_OK);
		if (h.successes >= 4) {
			break;
		}
		usleep(10000);
	}
	cr_assert(h.running);
	cr_assert_geq(h.successes, 4);
	cr_assert_eq(h.consecutive_failures, 0);
	cr_assert_gt(h.last_success_ms, 0);
	cr_assert_gt(atomic_load(&health_calls), 0);
	cr_assert_eq(hbmon_client_stop(c), HBMON_OK);
	hbmon_client_close(c);
}

Test(client, state_set_after_start_goes_out_without_waiting, .timeout = 30)
{
	hbmon_client *c = client_for_fake(1);
	hbmon_robot_state r = { HBMON_HEALTHY, 0, 0 };

	/* Default schedule: 60-120 s. Nothing is set when it starts, so the
	 * first tick has nothing to send; the first setter must not have to
	 * wait for the next one. */
	cr_assert_eq(hbmon_client_start(c), HBMON_OK);
	usleep(100000);
	cr_assert_eq(seen_count(), 0);
	cr_assert_eq(hbmon_set_robot(c, &r), HBMON_OK);
	await_seen(1);
	cr_assert_not_null(fake.seen[0].batch->robot);
	hbmon_client_close(c);
}

Test(client, automatic_mode_counts_failures_and_recovers, .timeout = 30)
{
	hbmon_client *c = client_for_fake(1);
	hbmon_robot_state r = { HBMON_HEALTHY, 0, 0 };
	hbmon_client_health h;

	hbmon_client_set_interval(c, 10, 20);
	hbmon_set_robot(c, &r);
	atomic_store(&fake.mode, FAKE_CODE);
	fake.code = 14;
	snprintf(fake.message, sizeof(fake.message), "database busy");
	cr_assert_eq(hbmon_client_start(c), HBMON_OK);
	await_seen(3);
	for (int i = 0; i < 500; i++) {
		hbmon_client_get_health(c, &h);
		if (h.consecutive_failures >= 3) {
			break;
		}
		usleep(10000);
	}
	cr_assert_geq(h.consecutive_failures, 3);
	cr_assert_eq(h.last_result.err, HBMON_EUNAVAIL);
	cr_assert_eq(h.last_result.code, 14);
	cr_assert_str_eq(h.last_result.message, "database busy");
	cr_assert_eq(h.last_success_ms, 0);

	atomic_store(&fake.mode, FAKE_OK);
	for (int i = 0; i < 500; i++) {
		hbmon_client_get_health(c, &h);
		if (h.consecutive_failures == 0) {
			break;
		}
		usleep(10000);
	}
	cr_assert_eq(h.consecutive_failures, 0);
	cr_assert_gt(h.last_success_ms, 0);
	hbmon_client_close(c);
}

Test(client, setters_never_wait_for_a_frozen_server, .timeout = 30)
{
	hbmon_client *c = client_for_fake(100);
	hbmon_robot_state r = { HBMON_HEALTHY, 100, 0 };
	char names[100][16];
	int64_t t0, spent;

	hbmon_client_set_timeout(c, 3000);
	hbmon_client_set_interval(c, 10, 10);
	hbmon_set_robot(c, &r);
	atomic_store(&fake.mode, FAKE_HOLD);
	cr_assert_eq(hbmon_client_start(c), HBMON_OK);
	await_seen(1); /* the thread is now waiting for a reply */
	t0 = clock_mono_ns();
	for (int round = 0; round < 10; round++) {
		for (int i = 0; i < 100; i++) {
			hbmon_account_state a = {
				names[i],
				(hbmon_account_status) (1 + round % 2), true,
				(uint32_t) round
			};
			snprintf(names[i], sizeof(names[i]), "ACC_%03d", i);
			cr_assert_eq(hbmon_set_account(c, &a), HBMON_OK);
		}
		cr_assert_eq(hbmon_set_robot(c, &r), HBMON_OK);
	}
	spent = clock_mono_ns() - t0;
	/* 1010 setter calls while a send is stuck: not a speed test, only
	 * that they finish long before the 3 s network timeout could. */
	cr_assert_lt(spent, 1000000000LL, "setters took %lld ns",
	             (long long) spent);

	/* stop cancels the stuck send instead of waiting it out. */
	t0 = clock_mono_ms();
	cr_assert_eq(hbmon_client_stop(c), HBMON_OK);
	cr_assert_lt(clock_mono_ms() - t0, 2500);
	hbmon_client_close(c);
}

Test(client, close_does_not_wait_for_a_frozen_server, .timeout = 30)
{
	hbmon_client *c = client_for_fake(1);
	hbmon_robot_state r = { HBMON_HEALTHY, 0, 0 };
	int64_t t0;

	hbmon_client_set_timeout(c, 20000);
	hbmon_set_robot(c, &r);
	atomic_store(&fake.mode, FAKE_HOLD);
	cr_assert_eq(hbmon_client_start(c), HBMON_OK);
	await_seen(1);
	t0 = clock_mono_ms();
	hbmon_client_close(c);
	cr_assert_lt(clock_mono_ms() - t0, 10000);
}

/* ---- trace ------------------------------------------------------------ */

static char trace_lines[8][800];
static int n_trace;

static void
keep_trace(void *arg, const char *line)
{
	(void) arg;
	if (n_trace < 8) {
		snprintf(trace_lines[n_trace++], sizeof(trace_lines[0]), "%s",
		         line);
	}
}

Test(client, trace_prints_the_seeds_json, .timeout = 10)
{
	hbmon_client *c = client_for_fake(1);
	hbmon_robot_state r = { HBMON_HEALTHY, 12, 5 };
	hbmon_account_state a = { "ACC_\"3\"", HBMON_ACCOUNT_ACTIVE, true, 2 };

	hbmon_client_set_trace(c, keep_trace, NULL);
	cr_assert_eq(hbmon_report_batch(c, &r, &a, 1, NULL, NULL, NULL),
	             HBMON_OK);
	cr_assert_eq(n_trace, 3);
	cr_assert(strncmp(trace_lines[0],
	                  "{\"event\":\"ROBOT_HEARTBEAT\",\"status\":"
	                  "\"healthy\",\"active_accounts\":12,"
	                  "\"active_tasks\":5,\"timestamp\":\"",
	                  90) == 0,
	          "%s", trace_lines[0]);
	cr_assert(strstr(trace_lines[1],
	                 "\"account\":\"ACC_\\\"3\\\"\",\"status\":\"active\","
	                 "\"session_valid\":true,\"open_orders\":2") != NULL,
	          "%s", trace_lines[1]);
	cr_assert(strncmp(trace_lines[2], "# seq ", 6) == 0, "%s",
	          trace_lines[2]);
	hbmon_client_close(c);
}
