/*
 * hbmon-server's life: start-up refusals, clean stops that drain, and
 * durability across kill -9.
 */
#include <criterion/criterion.h>
#include <dirent.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/rpc_client.h"
#include "common/rpc_status.h"
#include "harness.h"
#include "hbmon/error.h"
#include "hbmon/v1/monitor.pb-c.h"
#include "hbmon/v1/admin.pb-c.h"
#include "hbmon/v1/rpc.pb-c.h"

#define H(x)      HBMON__V1__HEALTH_STATUS__HEALTH_STATUS_##x
#define A(x)      HBMON__V1__ACCOUNT_STATUS__ACCOUNT_STATUS_##x
#define M_ACCOUNT "/hbmon.v1.Monitor/ReportAccount"
#define M_ROBOT   "/hbmon.v1.Monitor/ReportRobot"

static struct harness_server srv;

static void
fini(void)
{
	harness_server_fini(&srv);
}

Test(lifecycle, second_server_on_same_data_dir_is_refused, .fini = fini,
     .timeout = 60)
{
	const char *argv[] = { harness_bin("src/server/hbmon-server"),
		               "--data-dir",
		               srv.dir,
		               "--listen",
		               "ipc:///tmp/hbmon-second.sock",
		               NULL };
	char *err;
	int st;

	harness_server_init(&srv);
	argv[2] = srv.dir;
	cr_assert(harness_server_start(&srv, NULL));
	st = harness_run(argv, NULL, NULL, &err, 10000);
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 1, "status %d", st);
	cr_assert(strstr(err, "is already using data dir") != NULL, "%s", err);
	cr_assert(strstr(err, "(pid ") != NULL, "%s", err);
	free(err);
	/* The first one is unharmed. */
	cr_assert_eq(WEXITSTATUS(harness_server_stop(&srv)), 0);
}

Test(lifecycle, bad_config_stops_startup_with_file_and_line, .fini = fini,
     .timeout = 30)
{
	char path[700];
	const char *argv[] = { harness_bin("src/server/hbmon-server"),
		               "--config", path, NULL };
	FILE *f;
	char *err;
	int st;

	harness_server_init(&srv);
	snprintf(path, sizeof(path), "%s/server.ini", srv.dir);
	f = fopen(path, "w");
	fprintf(f,
	        "# hbmon\ndata_dir = %s\nmiss_threshold = 2\n"
	        "interval_max = 2 minutes\n",
	        srv.dir);
	fclose(f);
	st = harness_run(argv, NULL, NULL, &err, 10000);
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 2, "status %d", st);
	cr_assert(strstr(err, "server.ini:4:") != NULL, "%s", err);
	cr_assert(strstr(err, "interval_max") != NULL, "%s", err);
	free(err);

	/* A flag that is not a key is named. */
	argv[1] = "--miss-treshold";
	argv[2] = "3";
	st = harness_run(argv, NULL, NULL, &err, 10000);
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 2);
	cr_assert(strstr(err, "miss-treshold") != NULL, "%s", err);
	free(err);
}

static size_t
entries(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	size_t n = 0;

	cr_assert_not_null(d);
	while ((e = readdir(d)) != NULL) {
		n +=
		    strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0;
	}
	closedir(d);
	return n;
}

/* Another user could move admin.sock away and put their own in its
 * place: a data dir writable by group or others is refused, with the
 * fix, before anything is made in it. */
Test(lifecycle, data_dir_writable_by_others_is_refused, .fini = fini,
     .timeout = 30)
{
	static const mode_t modes[] = { 0777, 0770, 0702, 01777 };
	char *err;
	int st;

	harness_server_init(&srv);
	for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
		char fix[800];

		cr_assert_eq(chmod(srv.dir, modes[i]), 0);
		st = harness_server_run(&srv, NULL, &err);
		cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 2,
		          "mode %o: status %d", (unsigned) modes[i], st);
		snprintf(fix, sizeof(fix), "fix it with `chmod 700 %s`",
		         srv.dir);
		cr_assert(strstr(err, fix) != NULL, "%s", err);
		cr_assert(strstr(err, "is writable by") != NULL, "%s", err);
		free(err);
		cr_assert_eq(entries(srv.dir), 0, "something was created");
	}
	/* The fix works. */
	cr_assert_eq(chmod(srv.dir, 0700), 0);
	cr_assert(harness_server_start(&srv, NULL));
	cr_assert_eq(WEXITSTATUS(harness_server_stop(&srv)), 0);
	/* Group-readable is not a way in; only writable is refused. */
	cr_assert_eq(chmod(srv.dir, 0750), 0);
	cr_assert(harness_server_start(&srv, NULL));
}

Test(lifecycle, data_dir_of_another_user_is_refused, .fini = fini,
     .timeout = 30)
{
	char *err;
	int st;

	harness_server_init(&srv);
	if (geteuid() != 0) {
		/* Only root can hand a directory to someone else. */
		cr_skip_test("needs root to chown the data dir");
	}
	cr_assert_eq(chown(srv.dir, 65534, 65534), 0);
	st = harness_server_run(&srv, NULL, &err);
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 2, "status %d", st);
	cr_assert(strstr(err, "belongs to uid 65534") != NULL, "%s", err);
	cr_assert(strstr(err, "chown 0 ") != NULL, "%s", err);
	free(err);
	cr_assert_eq(entries(srv.dir), 0, "something was created");
	cr_assert_eq(chown(srv.dir, 0, 0), 0);
}

Test(lifecycle, auth_none_warns_and_accepts_unsigned, .fini = fini,
     .timeout = 60)
{
	const char *extra[] = { "--auth", "none", NULL };
	Hbmon__V1__RobotHeartbeat r = HBMON__V1__ROBOT_HEARTBEAT__INIT;
	struct rpc_client *c;
	struct rpc_status st;
	char *log;

	harness_server_init(&srv);
	cr_assert(harness_server_start(&srv, extra));
	log = harness_server_log(&srv);
	cr_assert(strstr(log, "level=warn") != NULL, "%s", log);
	cr_assert(strstr(log, "authentication is off") != NULL, "%s", log);
	free(log);
	r.event = "ROBOT_HEARTBEAT";
	r.status = H(HEALTHY);
	r.timestamp = "2026-01-20T09:30:00Z";
	c = harness_client(srv.listen, "dev-robot", NULL);
	cr_assert_eq(rpc_client_call(c, M_ROBOT, &r.base, NULL, NULL, &st),
	             HBMON_OK);
	cr_assert_eq(st.code, RPC_OK, "%s", st.message);
	rpc_client_close(c);
	cr_assert_eq(harness_query_int(&srv, "SELECT count(*) FROM subjects "
	                                     "WHERE robot='dev-robot'"),
	             1);
}

/* ---- concurrent senders, for drain and kill -9 ---- */

#define SENDERS  4
#define MAX_ACKS 200000

struct sender {
	char robot[16];
	pthread_t thread;
	atomic_bool *stop;
	uint64_t acked[MAX_ACKS]; /* seqs the server said OK to */
	size_t n_acked;
	/* The last request that got no OK, kept to resend later. */
	uint8_t *pending;
	size_t pending_len;
	uint64_t pending_seq;
	size_t unavailable; /* UNAVAILABLE answers (shutting down) */
};

static void *
sender_main(void *arg)
{
	struct sender *s = arg;
	struct rpc_client_options o = { .url = srv.listen,
		                        .timeout_ms = 1000,
		                        .background_dial = true };
	struct rpc_client *c;
	char why[256];
	uint64_t seq = (uint64_t) clock_wall_ms() * 1000;

	cr_assert_eq(rpc_client_open(&o, &c, why, sizeof(why)), HBMON_OK);
	while (!atomic_load(s->stop) && s->n_acked < MAX_ACKS) {
		Hbmon__V1__AccountHeartbeat a =
		    HBMON__V1__ACCOUNT_HEARTBEAT__INIT;
		char account[32];
		uint8_t payload[256];
		size_t payload_len;
		uint8_t *req, *reply = NULL;
		size_t req_len, reply_len;
		Hbmon__V1__RpcResponse *resp;
		int rv;

		snprintf(account, sizeof(account), "ACC_%zu", s->n_acked % 10);
		a.event = "ACCOUNT_HEARTBEAT";
		a.account = account;
		a.status = A(ACTIVE);
		a.session_valid = true;
		a.open_orders = (uint32_t) s->n_acked;
		a.timestamp = "2026-01-20T09:30:00+07:00";
		payload_len = hbmon__v1__account_heartbeat__pack(&a, payload);
		seq++;
		req = harness_signed_request(
		    M_ACCOUNT, s->robot, "hbs_lifecycle", seq, clock_wall_ms(),
		    payload, payload_len, &req_len);
		rv = rpc_client_call_raw(c, req, req_len, &reply, &reply_len);
		resp = rv == HBMON_OK ? hbmon__v1__rpc_response__unpack(
		                            NULL, reply_len, reply)
		                      : NULL;
		if (resp != NULL && resp->code == RPC_OK) {
			s->acked[s->n_acked++] = seq;
			free(req);
		} else {
			if (resp != NULL && resp->code == RPC_UNAVAILABLE) {
				s->unavailable++;
			}
			free(s->pending);
			s->pending = req;
			s->pending_len = req_len;
			s->pending_seq = seq;
			if (rv != HBMON_OK) {
				/* The server is gone: stop sending. */
				if (resp != NULL) {
					hbmon__v1__rpc_response__free_unpacked(
					    resp, NULL);
				}
				free(reply);
				break;
			}
		}
		if (resp != NULL) {
			hbmon__v1__rpc_response__free_unpacked(resp, NULL);
		}
		free(reply);
	}
	rpc_client_close(c);
	return NULL;
}

static struct sender *
start_senders(atomic_bool *stop)
{
	struct sender *s = calloc(SENDERS, sizeof(*s));

	for (int i = 0; i < SENDERS; i++) {
		snprintf(s[i].robot, sizeof(s[i].robot), "R%d", i);
		s[i].stop = stop;
		pthread_create(&s[i].thread, NULL, sender_main, &s[i]);
	}
	return s;
}

static void
join_senders(struct sender *s)
{
	for (int i = 0; i < SENDERS; i++) {
		pthread_join(s[i].thread, NULL);
	}
}

static int64_t
rows_with_seq(const char *robot, uint64_t seq)
{
	char sql[256];

	snprintf(sql, sizeof(sql),
	         "SELECT coalesce(sum(items), 0) FROM requests WHERE "
	         "robot = '%s' AND seq = %llu",
	         robot, (unsigned long long) seq);
	return harness_query_int(&srv, sql);
}

static void
register_senders(void)
{
	for (int i = 0; i < SENDERS; i++) {
		char robot[16];
		snprintf(robot, sizeof(robot), "R%d", i);
		harness_robot_add(&srv, robot, "hbs_lifecycle");
	}
}

/* Every acknowledged heartbeat is in the database exactly once. */
static size_t
assert_acked_recorded(struct sender *s)
{
	size_t total = 0;
	int64_t rows;

	for (int i = 0; i < SENDERS; i++) {
		char sql[128];
		snprintf(sql, sizeof(sql),
		         "SELECT coalesce(sum(items), 0) FROM requests WHERE "
		         "robot = '%s'",
		         s[i].robot);
		rows = harness_query_int(&srv, sql);
		/* At most one more than acknowledged: the request in
		 * flight when the server died may have been committed
		 * without its reply arriving. */
		cr_assert(rows >= (int64_t) s[i].n_acked &&
		              rows <= (int64_t) s[i].n_acked + 1,
		          "%s: %lld rows for %zu acks", s[i].robot,
		          (long long) rows, s[i].n_acked);
		for (size_t k = 0; k < s[i].n_acked; k += 97) {
			cr_assert_eq(rows_with_seq(s[i].robot, s[i].acked[k]),
			             1, "%s seq %llu", s[i].robot,
			             (unsigned long long) s[i].acked[k]);
		}
		if (s[i].n_acked > 0) {
			cr_assert_eq(
			    rows_with_seq(s[i].robot,
			                  s[i].acked[s[i].n_acked - 1]),
			    1);
		}
		total += s[i].n_acked;
	}
	return total;
}

Test(lifecycle, acknowledged_heartbeats_survive_kill_9, .fini = fini,
     .timeout = 120)
{
	atomic_bool stop = false;
	struct sender *s;
	size_t total;

	harness_server_init(&srv);
	register_senders();
	cr_assert(harness_server_start(&srv, NULL));
	s = start_senders(&stop);
	usleep(800 * 1000);
	harness_server_kill(&srv); /* kill -9 mid-stream */
	join_senders(s);

	total = assert_acked_recorded(s);
	cr_assert_gt(total, 100, "only %zu heartbeats acknowledged", total);

	/* Restarted on the same database, a resend of the request that got
	 * no answer is recorded at most once, whichever side of the crash
	 * its commit fell. */
	cr_assert(harness_server_start(&srv, NULL));
	for (int i = 0; i < SENDERS; i++) {
		struct rpc_client *c;
		uint8_t *reply;
		size_t reply_len;
		Hbmon__V1__RpcResponse *resp;

		if (s[i].pending == NULL) {
			continue;
		}
		c = harness_client(srv.listen, NULL, NULL);
		cr_assert_eq(rpc_client_call_raw(c, s[i].pending,
		                                 s[i].pending_len, &reply,
		                                 &reply_len),
		             HBMON_OK);
		resp = hbmon__v1__rpc_response__unpack(NULL, reply_len, reply);
		cr_assert_not_null(resp);
		cr_assert_eq(resp->code, RPC_OK, "%s: %s", s[i].robot,
		             resp->message);
		hbmon__v1__rpc_response__free_unpacked(resp, NULL);
		free(reply);
		rpc_client_close(c);
		cr_assert_eq(rows_with_seq(s[i].robot, s[i].pending_seq), 1,
		             "%s pending seq recorded twice or not at all",
		             s[i].robot);
		free(s[i].pending);
	}
	cr_assert_eq(WEXITSTATUS(harness_server_stop(&srv)), 0);
	free(s);
}

Test(lifecycle, sigterm_drains_and_exits_zero, .fini = fini, .timeout = 120)
{
	atomic_bool stop = false;
	struct sender *s;
	int st;

	harness_server_init(&srv);
	register_senders();
	cr_assert(harness_server_start(&srv, NULL));
	s = start_senders(&stop);
	usleep(500 * 1000);
	st = harness_server_stop(&srv);
	atomic_store(&stop, true);
	join_senders(s);
	cr_assert(WIFEXITED(st), "status %d", st);
	cr_assert_eq(WEXITSTATUS(st), 0);
	if (getenv("HBMON_TEST_SHOW_LOG")) {
		char *log = harness_server_log(&srv);
		fprintf(stderr, "%s", log);
		free(log);
	}
	/* A clean stop commits everything it acknowledged, and refuses
	 * (UNAVAILABLE) rather than drops what came in while stopping. */
	assert_acked_recorded(s);
	for (int i = 0; i < SENDERS; i++) {
		free(s[i].pending);
	}
	free(s);
}

Test(lifecycle, latest_state_is_replayed_after_kill_9, .fini = fini,
     .timeout = 60)
{
	/* Nothing but the requests is written: the latest state can only
	 * come back by replaying them. */
	const char *extra[] = { "--flush-when-idle=false", "--flush-interval",
		                "1h", NULL };
	Hbmon__V1__SubjectReply *sub;
	struct harness_robot r;
	struct rpc_client *adm;

	harness_server_init(&srv);
	harness_robot_add(&srv, "R1", "hbs_lifecycle");
	cr_assert(harness_server_start(&srv, extra));
	harness_robot_init(&r, &srv, "R1", "hbs_lifecycle", 2);
	harness_robot_send(&r);
	r.open_orders[1] = 7;
	r.status[0] = A(IDLE);
	r.health = H(DEGRADED);
	harness_robot_send(&r);
	cr_assert_eq(harness_query_int(&srv, "SELECT open_orders FROM subjects "
	                                     "WHERE account = 'ACC_002'"),
	             0, "the state was written: nothing to replay");
	harness_server_kill(&srv);
	harness_robot_fini(&r);

	cr_assert(harness_server_start(&srv, extra));
	adm = harness_admin(&srv);
	sub = harness_subject(adm, "R1/ACC_002");
	cr_assert_eq(sub->state->open_orders, 7);
	cr_assert_neq(sub->state->last_timestamp[0], '\0');
	protobuf_c_message_free_unpacked(&sub->base, NULL);
	sub = harness_subject(adm, "R1/ACC_001");
	cr_assert_eq(sub->state->account_status, A(IDLE));
	cr_assert_eq(sub->n_heartbeats, 2);
	protobuf_c_message_free_unpacked(&sub->base, NULL);
	sub = harness_subject(adm, "R1");
	cr_assert_eq(sub->state->health, H(DEGRADED));
	protobuf_c_message_free_unpacked(&sub->base, NULL);
	rpc_client_close(adm);
	cr_assert_eq(WEXITSTATUS(harness_server_stop(&srv)), 0);
	/* A clean stop writes the state. */
	cr_assert_eq(harness_query_int(&srv, "SELECT open_orders FROM subjects "
	                                     "WHERE account = 'ACC_002'"),
	             7);
}
