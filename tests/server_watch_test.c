/*
 * hbmon-server watching itself (SPEC §3.6), with the real binary: the
 * keepalive on its own PUB topic (and nowhere else), sd_notify READY /
 * WATCHDOG / STOPPING on a NOTIFY_SOCKET the test listens on, WATCHDOG
 * stopping while a held database write lock keeps the recorder from
 * committing, and two servers watching each other.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <nng/nng.h>
#include <nng/protocol/pubsub0/sub.h>
#include <sqlite3.h>

#include "common/alert_topic.h"
#include "common/clock.h"
#include "common/rpc_status.h"
#include "hbmon/error.h"
#include "harness.h"
#include "server/store.h"

#define H(x) HBMON__V1__HEALTH_STATUS__HEALTH_STATUS_##x
#define K(x) HBMON__V1__ALERT_KIND__ALERT_KIND_##x

#define SECRET "hbs_watch-test-secret"

static struct harness_server a, b;

static void
teardown(void)
{
	harness_server_fini(&a);
	harness_server_fini(&b);
}

TestSuite(server_watch, .fini = teardown, .timeout = 120);

/* A SUB socket on srv's PUB socket, subscribed to prefix. */
static nng_socket
subscribe(const struct harness_server *srv, const char *prefix)
{
	nng_socket s;

	cr_assert_eq(nng_sub0_open(&s), 0);
	cr_assert_eq(
	    nng_socket_set(s, NNG_OPT_SUB_SUBSCRIBE, prefix, strlen(prefix)),
	    0);
	cr_assert_eq(nng_socket_set_ms(s, NNG_OPT_RECVTIMEO, 3000), 0);
	cr_assert_eq(nng_dial(s, srv->publish, NULL, 0), 0);
	return s;
}

/* The next keepalive on s (asserted to come within 3 s). */
static Hbmon__V1__Keepalive *
next_keepalive(nng_socket s)
{
	for (;;) {
		Hbmon__V1__Keepalive *k = NULL;
		void *buf;
		size_t len;
		int rv = nng_recv(s, &buf, &len, NNG_FLAG_ALLOC);

		cr_assert_eq(rv, 0, "no keepalive: %s", nng_strerror(rv));
		if (pub_topic_classify(buf, len) == PUB_KEEPALIVE) {
			cr_assert_eq(keepalive_topic_unpack(buf, len, &k),
			             HBMON_OK);
			nng_free(buf, len);
			return k;
		}
		nng_free(buf, len);
	}
}

Test(server_watch, keepalive_on_its_own_topic)
{
	const char *args[] = { "--keepalive-interval", "200ms", NULL };
	Hbmon__V1__Keepalive *k1, *k2, *k3;
	struct harness_robot r;
	nng_socket only, alerts, all;
	char boot[64];
	int64_t t0;

	harness_server_init(&a);
	harness_robot_add(&a, "R1", SECRET);
	cr_assert(harness_server_start(&a, args));
	only = subscribe(&a, KEEPALIVE_TOPIC);
	alerts = subscribe(&a, "warning/");
	all = subscribe(&a, "");
	harness_sleep_ms(300);

	k1 = next_keepalive(only);
	t0 = clock_mono_ms();
	k2 = next_keepalive(only);
	cr_assert_leq(clock_mono_ms() - t0, 1000, "keepalives too far apart");
	cr_assert_eq(strlen(k1->boot_id), 32);
	cr_assert_str_eq(k1->boot_id, k2->boot_id);
	cr_assert_gt(k2->uptime_ms, k1->uptime_ms);
	cr_assert_eq(k1->interval_ms, 200);
	cr_assert_eq(k1->health, H(HEALTHY), "%s", k1->problem);
	cr_assert_str_eq(k1->problem, "");
	cr_assert_eq(k1->last_alert_seq, 0);
	snprintf(boot, sizeof(boot), "%s", k1->boot_id);
	hbmon__v1__keepalive__free_unpacked(k1, NULL);
	hbmon__v1__keepalive__free_unpacked(k2, NULL);

	/* An alert: the keepalive carries its seq once committed. */
	harness_robot_init(&r, &a, "R1", SECRET, 0);
	r.health = H(HEALTHY);
	harness_robot_send_robot(&r);
	r.health = H(DEGRADED);
	harness_robot_send_robot(&r);
	harness_robot_fini(&r);
	k3 = next_keepalive(only);
	if (k3->last_alert_seq == 0) {
		hbmon__v1__keepalive__free_unpacked(k3, NULL);
		k3 = next_keepalive(only);
	}
	cr_assert_eq(k3->last_alert_seq, 1);
	hbmon__v1__keepalive__free_unpacked(k3, NULL);

	/* A severity subscriber gets the alert and never a keepalive. */
	{
		void *buf;
		size_t len;
		Hbmon__V1__Alert *alert;
		int64_t until = clock_mono_ms() + 1500;

		cr_assert_eq(nng_recv(alerts, &buf, &len, NNG_FLAG_ALLOC), 0);
		cr_assert_eq(pub_topic_classify(buf, len), PUB_ALERT);
		cr_assert_eq(alert_topic_unpack(buf, len, &alert), HBMON_OK);
		cr_assert_eq(alert->kind, K(STATUS_CHANGED));
		hbmon__v1__alert__free_unpacked(alert, NULL);
		nng_free(buf, len);
		nng_socket_set_ms(alerts, NNG_OPT_RECVTIMEO, 300);
		while (clock_mono_ms() < until) {
			if (nng_recv(alerts, &buf, &len, NNG_FLAG_ALLOC) == 0) {
				cr_assert_fail(
				    "a warning/ subscriber got %.10s",
				    (char *) buf);
			}
		}
	}
	/* Everything: keepalives are never taken for alerts. */
	for (int i = 0; i < 5; i++) {
		void *buf;
		size_t len;
		Hbmon__V1__Alert *alert = NULL;

		cr_assert_eq(nng_recv(all, &buf, &len, NNG_FLAG_ALLOC), 0);
		if (pub_topic_classify(buf, len) == PUB_KEEPALIVE) {
			cr_assert_eq(alert_topic_unpack(buf, len, &alert),
			             HBMON_EPROTO);
		}
		nng_free(buf, len);
	}
	nng_close(alerts);
	nng_close(all);

	/* A restart is a new boot id. */
	cr_assert_eq(harness_server_stop(&a), 0);
	cr_assert(harness_server_start(&a, args));
	/* (The old server's last keepalives may still be queued here.) */
	for (int i = 0;; i++) {
		bool same;
		k1 = next_keepalive(only);
		same = strcmp(k1->boot_id, boot) == 0;
		hbmon__v1__keepalive__free_unpacked(k1, NULL);
		if (!same) {
			break;
		}
		cr_assert_lt(i, 20, "the boot id did not change");
	}
	nng_close(only);
}

/* ---- sd_notify ---- */

struct notify_sock {
	int fd;
	char path[600];
};

static void
notify_listen(struct notify_sock *n, const char *dir)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };

	snprintf(n->path, sizeof(n->path), "%s/notify.sock", dir);
	cr_assert_lt(strlen(n->path), sizeof(sa.sun_path));
	strcpy(sa.sun_path, n->path);
	n->fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	cr_assert_geq(n->fd, 0);
	cr_assert_eq(bind(n->fd, (struct sockaddr *) &sa, sizeof(sa)), 0, "%s",
	             strerror(errno));
}

/*
 * Reads datagrams for ms, counting those that hold want; the last STATUS
 * line seen goes to status (may be NULL).
 */
static int
notify_count(struct notify_sock *n, const char *want, int ms, char *status,
             size_t status_len)
{
	int64_t until = clock_mono_ms() + ms;
	int count = 0;

	for (;;) {
		int64_t left = until - clock_mono_ms();
		struct timeval tv;
		char buf[1024];
		ssize_t len;

		if (left <= 0) {
			return count;
		}
		tv.tv_sec = left / 1000;
		tv.tv_usec = (left % 1000) * 1000;
		setsockopt(n->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		len = recv(n->fd, buf, sizeof(buf) - 1, 0);
		if (len <= 0) {
			continue;
		}
		buf[len] = '\0';
		if (strstr(buf, want) != NULL) {
			count++;
		}
		if (status != NULL && strstr(buf, "STATUS=") != NULL) {
			snprintf(status, status_len, "%s",
			         strstr(buf, "STATUS=") + 7);
		}
	}
}

Test(server_watch, sd_notify_ready_watchdog_stopping_and_a_stalled_recorder)
{
	struct notify_sock ns;
	char env_sock[700], status[512] = "", db_path[700];
	const char *env[] = { env_sock, "WATCHDOG_USEC=1000000", NULL };
	sqlite3 *db;
	int n;

	harness_server_init(&a);
	notify_listen(&ns, a.dir);
	snprintf(env_sock, sizeof(env_sock), "NOTIFY_SOCKET=%s", ns.path);
	cr_assert(harness_server_start_env(&a, NULL, env));
	cr_assert_geq(notify_count(&ns, "READY=1", 500, NULL, 0), 1,
	              "no READY=1");
	/* WatchdogSec=1s: fed every half second while healthy. */
	n = notify_count(&ns, "WATCHDOG=1", 3000, NULL, 0);
	cr_assert_geq(n, 4, "WATCHDOG=1 %d times in 3 s", n);

	/* Another process holds the database's write lock: the recorder
	 * can no longer commit. The server says so (unhealthy, and
	 * STORAGE_FAILING), but its tick goes on and alerts go out from
	 * memory: it keeps feeding the watchdog, since a restart would mend
	 * nothing and start every robot's grace period again (SPEC §3.5). A
	 * wedged tick still starves it (tests/health_test.c). */
	snprintf(db_path, sizeof(db_path), "%s/" STORE_FILE, a.dir);
	cr_assert_eq(sqlite3_open(db_path, &db), SQLITE_OK);
	cr_assert_eq(sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL),
	             SQLITE_OK, "%s", sqlite3_errmsg(db));
	/* The stall limit is 10 s; by 12 s it is judged unhealthy. */
	notify_count(&ns, "WATCHDOG=1", 12000, status, sizeof(status));
	cr_assert(strstr(status, "unhealthy: the database cannot be written "
	                         "(locked by another process)") != NULL,
	          "STATUS=%s", status);
	n = notify_count(&ns, "WATCHDOG=1", 3000, NULL, 0);
	cr_assert_geq(n, 4,
	              "WATCHDOG=1 %d times in 3 s while alerts still go "
	              "out from memory",
	              n);

	/* The lock goes: commits resume and so does the watchdog. */
	cr_assert_eq(sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	n = notify_count(&ns, "WATCHDOG=1", 8000, status, sizeof(status));
	cr_assert_geq(n, 2, "the watchdog is not fed again");
	/* Not unhealthy any more. */
	cr_assert(strstr(status, "unhealthy") == NULL, "STATUS=%s", status);

	kill(a.pid, SIGTERM);
	cr_assert_geq(notify_count(&ns, "STOPPING=1", 3000, NULL, 0), 1,
	              "no STOPPING=1");
	cr_assert_eq(harness_server_stop(&a), 0);
	close(ns.fd);
}

/* ---- two servers watching each other ---- */

static void
write_secret(const char *path)
{
	FILE *f = fopen(path, "w");

	cr_assert_not_null(f);
	fputs(SECRET "\n", f);
	fclose(f);
	chmod(path, 0600);
}

static bool
watching(struct harness_server *srv, const char *robot)
{
	struct rpc_client *adm = harness_admin(srv);
	Hbmon__V1__SubjectRequest req = HBMON__V1__SUBJECT_REQUEST__INIT;
	Hbmon__V1__SubjectReply *reply = NULL;
	struct rpc_status st;
	bool yes = false;

	req.subject = (char *) robot;
	if (rpc_client_call(adm, "/hbmon.v1.Admin/Subject", &req.base,
	                    &hbmon__v1__subject_reply__descriptor,
	                    (ProtobufCMessage **) &reply, &st) == HBMON_OK &&
	    st.code == 0 && reply != NULL && reply->state != NULL) {
		yes = reply->state->health != 0; /* heard from */
	}
	if (reply != NULL) {
		protobuf_c_message_free_unpacked(&reply->base, NULL);
	}
	rpc_client_close(adm);
	return yes;
}

Test(server_watch, two_servers_watch_each_other)
{
	char secret_a[700], secret_b[700];
	const char *args_a[] = { "--interval-max",
		                 "500ms",
		                 "--watch-server",
		                 b.listen,
		                 "--watch-robot",
		                 "hbmon-a",
		                 "--watch-secret-file",
		                 secret_a,
		                 "--watch-interval",
		                 "200ms",
		                 NULL };
	const char *args_b[] = { "--interval-max",
		                 "500ms",
		                 "--watch-server",
		                 a.listen,
		                 "--watch-robot",
		                 "hbmon-b",
		                 "--watch-secret-file",
		                 secret_b,
		                 "--watch-interval",
		                 "200ms",
		                 NULL };
	struct rpc_client *adm;
	int64_t until;

	harness_server_init(&a);
	harness_server_init(&b);
	/* The args above took the listen URLs before init filled them. */
	args_a[3] = b.listen;
	args_b[3] = a.listen;
	snprintf(secret_a, sizeof(secret_a), "%s/watch.secret", a.dir);
	snprintf(secret_b, sizeof(secret_b), "%s/watch.secret", b.dir);
	write_secret(secret_a);
	write_secret(secret_b);
	harness_robot_add(&a, "hbmon-b", SECRET);
	harness_robot_add(&b, "hbmon-a", SECRET);
	cr_assert(harness_server_start(&a, args_a));
	cr_assert(harness_server_start(&b, args_b));

	until = clock_mono_ms() + 10000;
	while (!(watching(&a, "hbmon-b") && watching(&b, "hbmon-a"))) {
		cr_assert_lt(clock_mono_ms(), until,
		             "they do not see each "
		             "other");
		harness_sleep_ms(100);
	}
	/* Each reports itself healthy. */
	adm = harness_admin(&a);
	{
		Hbmon__V1__SubjectReply *s = harness_subject(adm, "hbmon-b");
		cr_assert_eq(s->state->health, H(HEALTHY));
		protobuf_c_message_free_unpacked(&s->base, NULL);
	}
	/* One dies: the other alerts on it. */
	harness_server_kill(&b);
	cr_assert_neq(
	    harness_wait_alert(adm, K(HEARTBEAT_MISSED), "hbmon-b", "", 10000),
	    0, "server A did not notice server B die");
	rpc_client_close(adm);
	/* ... and A goes on without its watcher (no hang, clean stop). */
	cr_assert_eq(harness_server_stop(&a), 0);
}

Test(server_watch, watch_settings_are_checked_at_start)
{
	const char *no_robot[] = { "--watch-server", "tcp://127.0.0.1:9",
		                   NULL };
	const char *no_file[] = { "--watch-server",
		                  "tcp://127.0.0.1:9",
		                  "--watch-robot",
		                  "hbmon-a",
		                  "--watch-secret-file",
		                  "/nonexistent/secret",
		                  NULL };
	const char *bad_robot[] = { "--watch-server",
		                    "tcp://127.0.0.1:9",
		                    "--watch-robot",
		                    "no spaces",
		                    "--watch-secret-file",
		                    NULL,
		                    NULL };
	char secret[700];
	char *log;
	int st = 0;

	harness_server_init(&a);
	cr_assert_not(harness_server_start_status(&a, no_robot, &st));
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 2, "status %d", st);
	log = harness_server_log(&a);
	cr_assert(strstr(log, "watch_server needs watch_robot and "
	                      "watch_secret_file") != NULL,
	          "%s", log);
	free(log);

	/* Bad configuration, all of it: exit 2 before anything is made. */
	cr_assert_not(harness_server_start_status(&a, no_file, &st));
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 2, "status %d", st);
	log = harness_server_log(&a);
	cr_assert(strstr(log, "watch_secret_file") != NULL, "%s", log);
	free(log);

	snprintf(secret, sizeof(secret), "%s/watch.secret", a.dir);
	write_secret(secret);
	bad_robot[5] = secret;
	cr_assert_not(harness_server_start_status(&a, bad_robot, &st));
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 2, "status %d", st);
	log = harness_server_log(&a);
	cr_assert(strstr(log, "watch_robot 'no spaces'") != NULL, "%s", log);
	free(log);
}
