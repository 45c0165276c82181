/*
 * A sick disk never blinds the monitor (SPEC §3.5): the real server's data
 * dir on a small tmpfs that is then filled up. While the database cannot
 * be written, a robot that goes silent is still alerted in time, on PUB
 * and through a stdout notifier; STORAGE_FAILING fires and resolves;
 * `hbctl status` answers throughout; and nothing acknowledged is lost once
 * space returns, nor after a kill -9.
 *
 * Mounting a tmpfs needs root (this machine and CI run as root); without
 * it the test says so and is skipped.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <nng/nng.h>
#include <nng/protocol/pubsub0/sub.h>

#include "common/alert_topic.h"
#include "common/clock.h"
#include "common/rfc3339.h"
#include "common/rpc_client.h"
#include "common/rpc_status.h"
#include "harness.h"
#include "hbmon/error.h"
#include "notify_support.h"

#define H(x)   HBMON__V1__HEALTH_STATUS__HEALTH_STATUS_##x
#define K(x)   HBMON__V1__ALERT_KIND__ALERT_KIND_##x
#define SEV(x) HBMON__V1__SEVERITY__SEVERITY_##x
#define ST(x)  HBMON__V1__ALERT_STATE__ALERT_STATE_##x

#define SECRET    "hbs_disk-test-secret"
#define M_ROBOT   "/hbmon.v1.Monitor/ReportRobot"
#define ACKED_MAX 4096

static struct harness_server srv;
static char filler[700];

/* The acknowledged requests of the robots: (robot, seq). */
static struct {
	char robot[8];
	uint64_t seq;
} acked[ACKED_MAX];
static size_t n_acked;

static void
teardown(void)
{
	harness_server_fini(&srv);
}

/* srv with its data dir on a fresh tmpfs of size bytes. */
static void
init_on_tmpfs(const char *size)
{
	harness_server_init(&srv);
	harness_server_tmpfs(&srv, size);
	snprintf(filler, sizeof(filler), "%s/filler", srv.dir);
}

/* Fills the file system up; returns how much it wrote. */
static int64_t
fill_disk(void)
{
	static char block[64 * 1024];
	int fd = open(filler, O_WRONLY | O_CREAT | O_APPEND, 0600);
	int64_t total = 0;
	ssize_t n;

	cr_assert_geq(fd, 0);
	memset(block, 'x', sizeof(block));
	while ((n = write(fd, block, sizeof(block))) > 0) {
		total += n;
	}
	/* The last few bytes too, so not even a page is left. */
	while ((n = write(fd, block, 512)) > 0) {
		total += n;
	}
	cr_assert_eq(errno, ENOSPC, "%s", strerror(errno));
	close(fd);
	return total;
}

static void
free_disk(void)
{
	cr_assert_eq(unlink(filler), 0);
}

/* One robot heartbeat from robot with its own seq; keeps it if acked. */
static int
beat(struct rpc_client *c, const char *robot)
{
	Hbmon__V1__RobotHeartbeat hb = HBMON__V1__ROBOT_HEARTBEAT__INIT;
	struct rpc_status st;
	char ts[RFC3339_MAX];
	uint64_t seq = (uint64_t) clock_wall_us();

	rfc3339_format(clock_wall_ms(), 7 * 60, ts, sizeof(ts));
	hb.event = "ROBOT_HEARTBEAT";
	hb.status = H(HEALTHY);
	hb.timestamp = ts;
	if (rpc_client_call_with(c, M_ROBOT, &hb.base, seq, clock_wall_ms(),
	                         NULL, NULL, &st) != HBMON_OK) {
		return -1;
	}
	if (st.code == RPC_OK) {
		cr_assert_lt(n_acked, ACKED_MAX);
		snprintf(acked[n_acked].robot, sizeof(acked[n_acked].robot),
		         "%s", robot);
		acked[n_acked++].seq = seq;
	} else {
		cr_assert_eq(st.code, RPC_UNAVAILABLE, "%s", st.message);
	}
	return st.code;
}

/* Every acknowledged request is in the database, once. */
static void
assert_acked_present(const char *when)
{
	for (size_t i = 0; i < n_acked; i++) {
		char sql[160];
		snprintf(sql, sizeof(sql),
		         "SELECT count(*) FROM requests WHERE robot = '%s' AND "
		         "seq = %llu",
		         acked[i].robot, (unsigned long long) acked[i].seq);
		cr_assert_eq(harness_query_int(&srv, sql), 1,
		             "%s: acknowledged request %s seq %llu is missing",
		             when, acked[i].robot,
		             (unsigned long long) acked[i].seq);
	}
}

/* ---- what went out on PUB ---- */

static nng_socket sub;
static Hbmon__V1__Alert *published[1024];
static size_t n_published;

static void
subscribe(void)
{
	cr_assert_eq(nng_sub0_open(&sub), 0);
	cr_assert_eq(nng_socket_set(sub, NNG_OPT_SUB_SUBSCRIBE, "", 0), 0);
	cr_assert_eq(nng_dial(sub, srv.publish, NULL, 0), 0);
	harness_sleep_ms(200); /* PUB: late joiners see nothing */
}

static void
drain_pub(void)
{
	void *buf;
	size_t len;

	while (nng_recv(sub, &buf, &len, NNG_FLAG_ALLOC | NNG_FLAG_NONBLOCK) ==
	       0) {
		Hbmon__V1__Alert *a = NULL;
		/* Keepalives share the socket: only alerts are kept. */
		if (alert_topic_unpack(buf, len, &a) == HBMON_OK) {
			if (n_published < 1024) {
				published[n_published++] = a;
			} else {
				hbmon__v1__alert__free_unpacked(a, NULL);
			}
		}
		nng_free(buf, len);
	}
}

/* The first alert published of kind (state 0: any) about robot. */
static const Hbmon__V1__Alert *
published_kind(int kind, int state, const char *robot)
{
	drain_pub();
	for (size_t i = 0; i < n_published; i++) {
		const Hbmon__V1__Alert *a = published[i];
		if ((int) a->kind == kind &&
		    (state == 0 || (int) a->state == state) &&
		    strcmp(a->robot, robot) == 0) {
			return a;
		}
	}
	return NULL;
}

static void
unsubscribe(void)
{
	nng_close(sub);
	for (size_t i = 0; i < n_published; i++) {
		hbmon__v1__alert__free_unpacked(published[i], NULL);
	}
	n_published = 0;
}

static bool
notifier_said(void *arg)
{
	const char *const *words = arg;
	struct nt_notifier *n = (struct nt_notifier *) (void *) words[0];
	char *out = harness_read_file(n->out);
	bool all = true;

	for (int i = 1; words[i] != NULL; i++) {
		all = all && strstr(out, words[i]) != NULL;
	}
	free(out);
	return all;
}

/*
 * Waits up to 20 s for STORAGE_FAILING to resolve on PUB while robot c
 * keeps sending; returns the all-clear (asserts it came).
 */
static const Hbmon__V1__Alert *
await_storage_resolved(struct rpc_client *c, const char *robot)
{
	const Hbmon__V1__Alert *resolved;
	int64_t until = clock_mono_ms() + 20000;

	while ((resolved = published_kind(K(RECOVERED), ST(RESOLVED), "")) ==
	           NULL &&
	       clock_mono_ms() < until) {
		beat(c, robot);
		harness_sleep_ms(100);
	}
	cr_assert_not_null(resolved, "STORAGE_FAILING did not resolve");
	cr_assert_eq(resolved->details->resolves, K(STORAGE_FAILING));
	return resolved;
}

static int
hbctl_status(char **out)
{
	const char *argv[] = { harness_bin("tools/hbctl/hbctl"), "--admin",
		               srv.admin, "status", NULL };
	int st = harness_run(argv, NULL, out, NULL, 20000);

	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

Test(disk, full_disk_alerts_from_memory_and_loses_nothing_acked,
     .fini = teardown, .timeout = 180)
{
	const char *args[] = { "--interval-max", "300ms", "--miss-threshold",
		               "2", NULL };
	struct rpc_client *r1, *r2, *adm;
	struct nt_notifier notifier;
	const Hbmon__V1__Alert *failing, *missed;
	int64_t silent_from, until;
	char *out = NULL;

	init_on_tmpfs("8m");
	harness_robot_add(&srv, "R1", SECRET);
	harness_robot_add(&srv, "R2", SECRET);
	cr_assert(harness_server_start(&srv, args));
	subscribe();
	nt_notifier_init(&notifier);
	nt_notifier_start(&notifier, &srv, "stdout", NULL, NULL);
	r1 = harness_client(srv.listen, "R1", SECRET);
	r2 = harness_client(srv.listen, "R2", SECRET);
	adm = harness_admin(&srv);
	for (int i = 0; i < 5; i++) {
		cr_assert_eq(beat(r1, "R1"), RPC_OK);
		cr_assert_eq(beat(r2, "R2"), RPC_OK);
		harness_sleep_ms(100);
	}

	/* The disk fills up; both robots go on until the server says its
	 * writes fail. */
	fill_disk();
	until = clock_mono_ms() + 30000;
	while ((failing = published_kind(K(STORAGE_FAILING), ST(FIRING), "")) ==
	           NULL &&
	       clock_mono_ms() < until) {
		beat(r1, "R1");
		beat(r2, "R2");
		harness_sleep_ms(100);
	}
	cr_assert_not_null(failing,
	                   "no STORAGE_FAILING while the disk is full");
	cr_assert_eq(failing->severity, SEV(CRITICAL));
	cr_assert(failing->not_durable);
	cr_assert_str_eq(failing->details->reason, "disk full");

	/* R2 goes silent; R1 keeps its schedule (refused, but heard). */
	silent_from = clock_mono_ms();
	until = silent_from + 10000;
	while ((missed = published_kind(K(HEARTBEAT_MISSED), 0, "R2")) ==
	           NULL &&
	       clock_mono_ms() < until) {
		/* Refused, or now and then recorded: a full disk can still
		 * take a commit that fits where the WAL starts over. */
		beat(r1, "R1");
		harness_sleep_ms(100);
	}
	cr_assert_not_null(missed,
	                   "no HEARTBEAT_MISSED for R2 while the disk is full");
	/* Down after three intervals (900 ms) from its last heartbeat: well
	 * inside this, never later than a few ticks in practice. */
	cr_assert_lt(clock_mono_ms() - silent_from, 5000);
	cr_assert_eq(missed->severity, SEV(CRITICAL));
	cr_assert_null(published_kind(K(HEARTBEAT_MISSED), 0, "R1"),
	               "R1 kept its schedule and was alerted");
	{
		const char *words[] = { (const char *) &notifier,
			                "STORAGE_FAILING", "HEARTBEAT_MISSED",
			                "\"robot\":\"R2\"", NULL };
		cr_assert(nt_wait(notifier_said, (void *) words, 10000),
		          "the stdout notifier did not deliver both alerts");
	}
	/* The owner can still look. */
	cr_assert_eq(hbctl_status(&out), 0, "%s", out);
	cr_assert(strstr(out, "R2") != NULL && strstr(out, "down") != NULL,
	          "%s", out);
	free(out);
	{
		Hbmon__V1__Alert **a;
		size_t n = harness_alerts(adm, 0, &a);
		cr_assert_neq(
		    harness_find_kind(a, n, K(STORAGE_FAILING)), NULL,
		    "AlertsAfter does not serve the unwritten alerts");
		harness_alerts_free(a, n);
	}
	cr_assert(published_kind(K(RECOVERED), 0, "") == NULL,
	          "STORAGE_FAILING resolved while the disk was still full");

	/* Space returns: the held-back alerts are written, STORAGE_FAILING
	 * resolves, R1's heartbeats are recorded again. */
	free_disk();
	await_storage_resolved(r1, "R1");
	until = clock_mono_ms() + 10000;
	while (beat(r1, "R1") != RPC_OK && clock_mono_ms() < until) {
		harness_sleep_ms(100);
	}
	assert_acked_present("after space returned");
	{
		/* In the outbox, in order, each once: what went out from
		 * memory kept its seq. */
		Hbmon__V1__Alert **a;
		size_t n = harness_alerts(adm, 0, &a);
		bool found_failing = false, found_missed = false;
		for (size_t i = 0; i < n; i++) {
			if (i > 0) {
				cr_assert_gt(a[i]->seq, a[i - 1]->seq);
			}
			found_failing |= a[i]->seq == failing->seq &&
			                 a[i]->kind == K(STORAGE_FAILING);
			found_missed |= a[i]->seq == missed->seq &&
			                a[i]->kind == K(HEARTBEAT_MISSED);
			cr_assert(!a[i]->not_durable);
		}
		cr_assert(found_failing && found_missed,
		          "the alerts sent from memory are not in the outbox "
		          "with their seqs");
		harness_alerts_free(a, n);
	}
	cr_assert_eq(
	    harness_query_int(&srv, "SELECT count(*) FROM alerts WHERE seq = "
	                            "(SELECT max(seq) FROM alerts)"),
	    1);

	/* And after a kill -9, all of it is still there. */
	rpc_client_close(r1);
	rpc_client_close(r2);
	rpc_client_close(adm);
	nt_notifier_stop(&notifier);
	nt_notifier_fini(&notifier);
	unsubscribe();
	harness_server_kill(&srv);
	cr_assert_eq(harness_query_int(&srv, "SELECT count(*) FROM "
	                                     "pragma_integrity_check WHERE "
	                                     "integrity_check != 'ok'"),
	             0);
	assert_acked_present("after kill -9");
	cr_assert(harness_server_start(&srv, args));
	adm = harness_admin(&srv);
	{
		Hbmon__V1__Alert **a;
		size_t n = harness_alerts(adm, 0, &a);
		cr_assert_neq(harness_find_kind(a, n, K(SERVER_RESTARTED)),
		              NULL);
		for (size_t i = 1; i < n; i++) {
			cr_assert_gt(a[i]->seq, a[i - 1]->seq);
		}
		harness_alerts_free(a, n);
	}
	rpc_client_close(adm);
}

/* An Admin Pause of robot for an hour; returns its code. */
static int
pause_robot(struct rpc_client *adm, const char *robot, char *msg,
            size_t msg_len)
{
	Hbmon__V1__PauseRequest in = HBMON__V1__PAUSE_REQUEST__INIT;
	struct rpc_status st;

	in.subject = (char *) robot;
	in.until_ms = clock_wall_ms() + 3600 * 1000;
	in.reason = "maintenance";
	cr_assert_eq(rpc_client_call(adm, "/hbmon.v1.Admin/Pause", &in.base,
	                             NULL, NULL, &st),
	             HBMON_OK);
	snprintf(msg, msg_len, "%s", st.message);
	return st.code;
}

/* Lines of the server's log that contain text. */
static int
log_lines(const char *text)
{
	char *log = harness_server_log(&srv);
	int n = 0;

	for (const char *p = log; (p = strstr(p, text)) != NULL; p++) {
		n++;
	}
	free(log);
	return n;
}

/*
 * The same without root: another process holds the database's write lock
 * (as `sqlite3 hbmon.db` writing would), so every commit fails for as long
 * as it does. Every alert then goes out from memory.
 */
Test(disk, a_locked_database_blinds_nothing, .fini = teardown, .timeout = 120)
{
	const char *args[] = { "--interval-max", "300ms", "--miss-threshold",
		               "2", NULL };
	struct rpc_client *r1, *r2, *adm;
	const Hbmon__V1__Alert *failing = NULL, *missed = NULL, *resolved;
	struct sqlite3 *lock;
	int64_t until, locked_at;
	char msg[512], *out = NULL;

	harness_server_init(&srv);
	harness_robot_add(&srv, "R1", SECRET);
	harness_robot_add(&srv, "R2", SECRET);
	cr_assert(harness_server_start(&srv, args));
	subscribe();
	r1 = harness_client(srv.listen, "R1", SECRET);
	r2 = harness_client(srv.listen, "R2", SECRET);
	adm = harness_admin(&srv);
	for (int i = 0; i < 3; i++) {
		cr_assert_eq(beat(r1, "R1"), RPC_OK);
		cr_assert_eq(beat(r2, "R2"), RPC_OK);
		harness_sleep_ms(100);
	}

	lock = harness_lock_store(&srv);
	locked_at = clock_mono_ms();
	until = locked_at + 10000;
	while ((missed == NULL || failing == NULL) && clock_mono_ms() < until) {
		cr_assert_eq(beat(r1, "R1"), RPC_UNAVAILABLE,
		             "recorded while the database was locked");
		harness_sleep_ms(100);
		missed = published_kind(K(HEARTBEAT_MISSED), 0, "R2");
		failing = published_kind(K(STORAGE_FAILING), ST(FIRING), "");
	}
	cr_assert_not_null(missed, "R2 went silent and was not alerted");
	cr_assert(missed->not_durable);
	cr_assert_not_null(failing, "no STORAGE_FAILING for a locked database");
	cr_assert(failing->not_durable);
	cr_assert_str_eq(failing->details->reason, "locked by another process");
	/* A lock is not an alarm until it lasts. */
	cr_assert_geq(clock_mono_ms() - locked_at, 2000);
	cr_assert_null(published_kind(K(HEARTBEAT_MISSED), 0, "R1"));

	/* Reads work; writes are refused and change nothing. */
	cr_assert_eq(hbctl_status(&out), 0, "%s", out);
	cr_assert(strstr(out, "R2") != NULL && strstr(out, "down") != NULL,
	          "%s", out);
	free(out);
	{
		Hbmon__V1__Alert **a;
		size_t n = harness_alerts(adm, 0, &a);
		Hbmon__V1__Alert *m =
		    harness_find_kind(a, n, K(HEARTBEAT_MISSED));
		cr_assert_not_null(m);
		cr_assert(m->not_durable);
		cr_assert_eq(m->seq, missed->seq);
		harness_alerts_free(a, n);
	}
	cr_assert_eq(pause_robot(adm, "R1", msg, sizeof(msg)), RPC_UNAVAILABLE,
	             "%s", msg);
	cr_assert(strstr(msg, "STORAGE_FAILING") != NULL, "%s", msg);
	/* Said in the log, but not a line per failed transaction. */
	cr_assert_geq(log_lines("the database cannot be written"), 1);
	cr_assert_leq(log_lines("the database cannot be written"), 2);

	harness_unlock_store(lock);
	resolved = await_storage_resolved(r1, "R1");
	cr_assert(!resolved->not_durable);
	assert_acked_present("after the lock");
	cr_assert_eq(pause_robot(adm, "R1", msg, sizeof(msg)), RPC_OK, "%s",
	             msg);
	{
		char sql[96];
		snprintf(
		    sql, sizeof(sql),
		    "SELECT count(*) FROM alerts WHERE seq IN (%llu, %llu)",
		    (unsigned long long) missed->seq,
		    (unsigned long long) failing->seq);
		cr_assert_eq(harness_query_int(&srv, sql), 2);
	}
	rpc_client_close(r1);
	rpc_client_close(r2);
	rpc_client_close(adm);
	unsubscribe();
}
