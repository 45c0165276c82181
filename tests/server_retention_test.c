/*
 * The disk never fills (SPEC §3.5): alerts are pruned after
 * alert_retention like heartbeats after retention, but never one a
 * notifier has not passed (notifiers name themselves and their durable
 * cursor in AlertsAfter); and below disk_free_min the server warns
 * (DISK_SPACE_LOW) before writes fail, and prunes what retention allows.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>
#include <unistd.h>

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

#define SECRET "hbs_retention-test-secret"

static struct harness_server srv;

static void
teardown(void)
{
	harness_server_fini(&srv);
}

/* One robot heartbeat with health; asserts it is recorded. */
static void
beat(struct rpc_client *c, int health)
{
	Hbmon__V1__RobotHeartbeat hb = HBMON__V1__ROBOT_HEARTBEAT__INIT;
	struct rpc_status st;
	char ts[RFC3339_MAX];

	rfc3339_format(clock_wall_ms(), 0, ts, sizeof(ts));
	hb.event = "ROBOT_HEARTBEAT";
	hb.status = health;
	hb.timestamp = ts;
	cr_assert_eq(rpc_client_call(c, "/hbmon.v1.Monitor/ReportRobot",
	                             &hb.base, NULL, NULL, &st),
	             HBMON_OK);
	cr_assert_eq(st.code, RPC_OK, "%s", st.message);
}

/* A notifier's AlertsAfter: reader name and its delivered cursor. */
static void
say_delivered(struct rpc_client *adm, const char *reader, uint64_t seq)
{
	Hbmon__V1__AlertsAfterRequest req =
	    HBMON__V1__ALERTS_AFTER_REQUEST__INIT;
	struct rpc_status st;

	req.after_seq = seq;
	req.limit = 1;
	req.reader = (char *) reader;
	req.delivered_seq = seq;
	cr_assert_eq(rpc_client_call(adm, "/hbmon.v1.Admin/AlertsAfter",
	                             &req.base, NULL, NULL, &st),
	             HBMON_OK);
	cr_assert_eq(st.code, RPC_OK, "%s", st.message);
}

static int64_t alerts_upto(uint64_t seq);

/*
 * The slow notifier keeps asking (delivered up to cursor), as a live one
 * does, until alerts up to upto are gone (20 s at most); returns how many
 * are left.
 */
static int64_t
slow_reader_until_pruned(struct rpc_client *adm, uint64_t cursor, uint64_t upto)
{
	int64_t until = clock_mono_ms() + 20000;

	while (alerts_upto(upto) != 0 && clock_mono_ms() < until) {
		say_delivered(adm, "slow", cursor);
		harness_sleep_ms(200);
	}
	return alerts_upto(upto);
}

static int64_t
alerts_upto(uint64_t seq)
{
	char sql[96];

	snprintf(sql, sizeof(sql),
	         "SELECT count(*) FROM alerts WHERE seq <= %llu",
	         (unsigned long long) seq);
	return harness_query_int(&srv, sql);
}

/* Waits (timeout_ms at most) until query returns want; returns the last. */
static int64_t
await(int64_t (*query)(uint64_t), uint64_t arg, int64_t want, int timeout_ms)
{
	int64_t until = clock_mono_ms() + timeout_ms, v;

	while ((v = query(arg)) != want && clock_mono_ms() < until) {
		harness_sleep_ms(50);
	}
	return v;
}

Test(retention, alerts_go_after_alert_retention_never_past_a_notifier,
     .fini = teardown, .timeout = 120)
{
	const char *args[] = { "--alert-retention", "3s", NULL };
	struct rpc_client *robot, *adm;
	struct nt_notifier notifier;
	uint64_t last;

	harness_server_init(&srv);
	harness_robot_add(&srv, "R1", SECRET);
	cr_assert(harness_server_start(&srv, args));
	robot = harness_client(srv.listen, "R1", SECRET);
	adm = harness_admin(&srv);
	/* Six alerts: degraded, healthy again, three times. */
	beat(robot, H(HEALTHY));
	for (int i = 0; i < 3; i++) {
		beat(robot, H(DEGRADED));
		beat(robot, H(HEALTHY));
	}
	last = harness_query_int(&srv, "SELECT max(seq) FROM alerts");
	cr_assert_eq(last, 6);
	/* A slow notifier has delivered three; a fast one, all of them. */
	say_delivered(adm, "slow", 3);
	nt_notifier_init(&notifier);
	nt_notifier_start(&notifier, &srv, "stdout", NULL, NULL);

	/* Older than alert_retention: the three the slow one passed go;
	 * the rest wait for it (it keeps asking, as a live notifier does:
	 * one not heard from within alert_retention holds nothing back). */
	cr_assert_eq(slow_reader_until_pruned(adm, 3, 3), 0,
	             "alerts older than alert_retention were not pruned");
	for (int i = 0; i < 10; i++) { /* a few more pruning steps */
		say_delivered(adm, "slow", 3);
		harness_sleep_ms(200);
	}
	cr_assert_eq(alerts_upto(last), 3,
	             "an alert the slow notifier has not passed was pruned");

	/* The cursors survive a restart (and the fast notifier's is the
	 * real one's). */
	nt_notifier_stop(&notifier);
	cr_assert_eq(harness_server_stop(&srv), 0);
	cr_assert_eq(harness_query_int(&srv, "SELECT delivered_seq FROM "
	                                     "alert_readers WHERE name = "
	                                     "'slow'"),
	             3);
	cr_assert_geq(harness_query_int(&srv, "SELECT max(delivered_seq) FROM "
	                                      "alert_readers WHERE name != "
	                                      "'slow'"),
	              (int64_t) last);
	cr_assert(harness_server_start(&srv, args));
	rpc_client_close(adm);
	adm = harness_admin(&srv);
	say_delivered(adm, "slow", 3);
	harness_sleep_ms(1000);
	cr_assert_eq(alerts_upto(last), 3,
	             "pruned past a cursor after restart");

	/* The slow one catches up: now they go too. */
	cr_assert_eq(slow_reader_until_pruned(adm, last, last), 0);
	nt_notifier_fini(&notifier);
	rpc_client_close(adm);
	rpc_client_close(robot);
}

/* ---- disk_free_min on a small tmpfs (root) ---- */

static int64_t
free_space(void)
{
	struct statvfs st;

	cr_assert_eq(statvfs(srv.dir, &st), 0);
	return (int64_t) st.f_bavail * (int64_t) st.f_frsize;
}

/* Writes a file of bytes into the data dir. */
static void
take_space(const char *name, int64_t bytes)
{
	static char block[64 * 1024];
	char path[700];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", srv.dir, name);
	cr_assert_geq(fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600), 0);
	memset(block, 'x', sizeof(block));
	while (bytes > 0) {
		ssize_t n =
		    write(fd, block,
		          bytes < (int64_t) sizeof(block) ? (size_t) bytes
		                                          : sizeof(block));
		cr_assert_gt(n, 0, "%s", strerror(errno));
		bytes -= n;
	}
	close(fd);
}

static int64_t
requests(uint64_t unused)
{
	(void) unused;
	return harness_query_int(&srv, "SELECT count(*) FROM requests");
}

Test(retention, below_disk_free_min_a_warning_before_writes_fail,
     .fini = teardown, .timeout = 120)
{
	const char *args[] = { "--disk-free-min", "4MiB", "--retention", "5s",
		               NULL };
	struct rpc_client *robot, *adm;
	char path[700];
	uint64_t seq;

	harness_server_init(&srv);
	harness_server_tmpfs(&srv, "16m");
	harness_robot_add(&srv, "R1", SECRET);
	cr_assert(harness_server_start(&srv, args));
	robot = harness_client(srv.listen, "R1", SECRET);
	adm = harness_admin(&srv);
	for (int i = 0; i < 20; i++) {
		beat(robot, H(HEALTHY));
	}
	cr_assert_eq(requests(0), 20);
	{
		Hbmon__V1__Alert **a;
		size_t n = harness_alerts(adm, 0, &a);
		cr_assert_null(harness_find_kind(a, n, K(DISK_SPACE_LOW)));
		harness_alerts_free(a, n);
	}

	/* 16 MiB with 4 MiB to spare is fine; 3 MiB left is not yet full,
	 * but low: a warning, and writes still work. */
	take_space("filler", free_space() - 3 * 1024 * 1024);
	seq = harness_wait_alert(adm, K(DISK_SPACE_LOW), "", "", 5000);
	cr_assert_neq(seq, 0, "no DISK_SPACE_LOW at %lld bytes free",
	              (long long) free_space());
	beat(robot, H(HEALTHY));
	{
		Hbmon__V1__Alert **a;
		size_t n = harness_alerts(adm, 0, &a);
		Hbmon__V1__Alert *low =
		    harness_find_kind(a, n, K(DISK_SPACE_LOW));
		cr_assert_eq(low->severity, SEV(WARNING));
		cr_assert_eq(low->state, ST(FIRING));
		cr_assert(!low->not_durable, "the warning came after writes "
		                             "failed");
		cr_assert(strstr(low->summary, "disk_free_min") != NULL, "%s",
		          low->summary);
		cr_assert_gt(low->details->free_bytes, 0);
		cr_assert_null(harness_find_kind(a, n, K(STORAGE_FAILING)));
		harness_alerts_free(a, n);
	}
	/* What retention allows (5 s) goes, while the disk is low too. */
	cr_assert_eq(await(requests, 0, 0, 15000), 0,
	             "heartbeats past retention were not pruned");

	/* Space again (a tenth above the minimum): resolved. */
	snprintf(path, sizeof(path), "%s/filler", srv.dir);
	cr_assert_eq(unlink(path), 0);
	cr_assert_neq(harness_wait_alert(adm, K(RECOVERED), "", "", 5000), 0,
	              "DISK_SPACE_LOW did not resolve");
	rpc_client_close(adm);
	rpc_client_close(robot);
}
