/* Test harness: real server processes on scratch ipc:// addresses. */
#include "harness.h"

#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <arpa/inet.h>
#include <dirent.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "common/clock.h"
#include "common/rfc3339.h"
#include "common/sign.h"
#include "hbmon/error.h"
#include "hbmon/v1/monitor.pb-c.h"
#include "hbmon/v1/rpc.pb-c.h"
#include "server/store.h"

const char *
harness_bin(const char *relative)
{
	static __thread char path[1024];
	const char *build = getenv("HBMON_BUILD_DIR");

	cr_assert_not_null(build, "HBMON_BUILD_DIR is not set (run via ctest)");
	snprintf(path, sizeof(path), "%s/%s", build, relative);
	return path;
}

void
harness_tmpdir(char *out, size_t out_len)
{
	const char *tmp = getenv("TMPDIR");

	snprintf(out, out_len, "%s/hbmon-test-XXXXXX",
	         tmp != NULL && tmp[0] != '\0' ? tmp : "/tmp");
	cr_assert_not_null(mkdtemp(out), "mkdtemp: %s", strerror(errno));
}

static int
rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void) st;
	(void) flag;
	(void) ftw;
	remove(path);
	return 0;
}

void
harness_rmrf(const char *dir)
{
	if (dir[0] != '\0') {
		nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	}
}

void
harness_server_init(struct harness_server *srv)
{
	memset(srv, 0, sizeof(*srv));
	harness_tmpdir(srv->dir, sizeof(srv->dir));
	snprintf(srv->listen, sizeof(srv->listen), "ipc://%s/robots.sock",
	         srv->dir);
	snprintf(srv->admin, sizeof(srv->admin), "ipc://%s/admin.sock",
	         srv->dir);
	snprintf(srv->publish, sizeof(srv->publish), "ipc://%s/alerts.sock",
	         srv->dir);
	snprintf(srv->log_path, sizeof(srv->log_path), "%s/server.log",
	         srv->dir);
}

void
harness_robot_add(struct harness_server *srv, const char *robot,
                  const char *secret)
{
	struct store *s;
	char why[512];

	cr_assert_eq(store_open(srv->dir, STORE_NORMAL, &s, why, sizeof(why)),
	             HBMON_OK, "%s", why);
	cr_assert_eq(store_robot_add(s, robot, secret, clock_wall_ms()),
	             HBMON_OK, "robot add %s: %s", robot, store_errmsg(s));
	store_close(s);
}

/*
 * Whether the server answers SP on its robot socket: over tcp and ipc, the
 * REP side of the SP handshake (not a request: a refused one would take
 * the first line of the tests' own refusals in the rate-limited log);
 * over TLS, a TLS handshake (one that fails on certificates is a server
 * that is up: tests of that start it so on purpose).
 */
static bool
answers(const struct harness_server *srv)
{
	uint8_t hello[8] = { 0, 'S', 'P', 0, 0, 0x30, 0, 0 }, theirs[8];
	size_t got = 0;
	int fd;

	if (tlsconf_is_tls_url(srv->listen)) {
		struct rpc_client_options o = { .url = srv->listen,
			                        .timeout_ms = 300,
			                        .tls = srv->tls };
		struct rpc_client *c;
		char why[256];
		int rv = rpc_client_open(&o, &c, why, sizeof(why));

		rpc_client_close(rv == HBMON_OK ? c : NULL);
		return rv == HBMON_OK || rv == HBMON_EAUTH;
	}
	if ((fd = harness_raw_try_connect(srv->listen, NULL)) < 0) {
		return false;
	}
	if (send(fd, hello, sizeof(hello), MSG_NOSIGNAL) == sizeof(hello)) {
		int64_t until = clock_mono_ms() + 1000;
		while (got < sizeof(theirs) && clock_mono_ms() < until) {
			struct pollfd pfd = { .fd = fd, .events = POLLIN };
			ssize_t n;
			if (poll(&pfd, 1, 100) <= 0) {
				continue;
			}
			if ((n = recv(fd, theirs + got, sizeof(theirs) - got,
			              0)) <= 0) {
				break;
			}
			got += (size_t) n;
		}
	}
	close(fd);
	return got == sizeof(theirs) && theirs[1] == 'S' && theirs[2] == 'P' &&
	       theirs[5] == 0x31;
}

static bool start_server(struct harness_server *srv, const char *const *extra,
                         const char *const *env, int *status);

/*
 * The value of key=VALUE in a logfmt line (quotes taken off), copied
 * into out; false when the line has no such key.
 */
static bool
log_field(const char *line, const char *key, char *out, size_t out_len)
{
	char pat[64];
	const char *p, *end;

	snprintf(pat, sizeof(pat), " %s=", key);
	if ((p = strstr(line, pat)) == NULL) {
		return false;
	}
	p += strlen(pat);
	if (*p == '"') {
		end = strchr(++p, '"');
	} else {
		end = p + strcspn(p, " \n");
	}
	if (end == NULL || (size_t) (end - p) >= out_len) {
		return false;
	}
	memcpy(out, p, (size_t) (end - p));
	out[end - p] = '\0';
	return true;
}

/* Reads the URLs the server listens on from its ready line, if any yet. */
static bool
read_ready_line(struct harness_server *srv)
{
	char *log = harness_server_log(srv);
	char *line = strstr(log, "msg=\"hbmon-server ready\"");
	bool ok = line != NULL;

	if (ok) {
		char *nl = strchr(line, '\n');
		if (nl != NULL) {
			*nl = '\0';
		}
		log_field(line, "listen", srv->listen, sizeof(srv->listen));
		log_field(line, "admin", srv->admin, sizeof(srv->admin));
		log_field(line, "admin_tcp", srv->admin_tcp,
		          sizeof(srv->admin_tcp));
		log_field(line, "publish", srv->publish, sizeof(srv->publish));
	}
	free(log);
	return ok;
}

bool
harness_server_start_status(struct harness_server *srv,
                            const char *const *extra, int *status)
{
	return start_server(srv, extra, NULL, status);
}

bool
harness_server_start_env(struct harness_server *srv, const char *const *extra,
                         const char *const *env)
{
	return start_server(srv, extra, env, NULL);
}

static bool
start_server(struct harness_server *srv, const char *const *extra,
             const char *const *env, int *status)
{
	const char *argv[64];
	int n = 0;
	pid_t pid, parent;

	argv[n++] = harness_bin(
	    srv->program != NULL ? srv->program : "src/server/hbmon-server");
	argv[n++] = "--data-dir";
	argv[n++] = srv->dir;
	argv[n++] = "--listen";
	argv[n++] = srv->listen;
	argv[n++] = "--admin";
	argv[n++] = srv->admin;
	argv[n++] = "--publish";
	argv[n++] = srv->publish;
	for (int i = 0; extra != NULL && extra[i] != NULL && n < 62; i++) {
		argv[n++] = extra[i];
	}
	argv[n] = NULL;

	parent = getpid();
	pid = fork();
	cr_assert_neq(pid, -1, "fork: %s", strerror(errno));
	if (pid == 0) {
		int fd;
		/* A test that dies (a timeout, a skip that runs no .fini)
		 * takes its server with it. */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent) {
			_exit(127);
		}
		fd = open(srv->log_path, O_WRONLY | O_CREAT | O_APPEND, 0600);
		if (fd >= 0) {
			/* stdout too: a server left running must not hold the
			 * test's output pipe open. */
			dup2(fd, 1);
			dup2(fd, 2);
			close(fd);
		}
		for (int i = 0; env != NULL && env[i] != NULL; i++) {
			putenv((char *) env[i]);
		}
		execv(argv[0], (char *const *) argv);
		_exit(127);
	}
	srv->pid = pid;
	for (int i = 0; i < 600; i++) {
		int st;
		if (waitpid(pid, &st, WNOHANG) == pid) {
			srv->pid = 0;
			if (status != NULL) {
				*status = st;
			}
			return false;
		}
		/* The ready line comes when every listener is up. */
		if (read_ready_line(srv) && answers(srv)) {
			return true;
		}
		usleep(50 * 1000);
	}
	return false;
}

bool
harness_server_start(struct harness_server *srv, const char *const *extra)
{
	return start_server(srv, extra, NULL, NULL);
}

const char *const harness_quick_alerts[] = {
	"--interval-max",
	"300ms",
	"--miss-threshold",
	"2",
	"--repeat-interval",
	"1h",
	NULL,
};

void
harness_args(const char **out, size_t max, const char *const *base,
             const char *const *more)
{
	size_t n = 0;

	for (size_t i = 0; base != NULL && base[i] != NULL; i++) {
		cr_assert_lt(n + 1, max, "too many flags");
		out[n++] = base[i];
	}
	for (size_t i = 0; more != NULL && more[i] != NULL; i++) {
		cr_assert_lt(n + 1, max, "too many flags");
		out[n++] = more[i];
	}
	out[n] = NULL;
}

int
harness_server_run(struct harness_server *srv, const char *const *extra,
                   char **err)
{
	char listen[700];
	const char *argv[32] = { harness_bin("src/server/hbmon-server"),
		                 "--data-dir", srv->dir, "--listen", listen };
	int n = 5;

	snprintf(listen, sizeof(listen), "ipc://%s/robots.sock", srv->dir);
	for (int i = 0; extra != NULL && extra[i] != NULL && n < 31; i++) {
		argv[n++] = extra[i];
	}
	argv[n] = NULL;
	return harness_run(argv, NULL, NULL, err, 10000);
}

int
harness_server_stop(struct harness_server *srv)
{
	int st = -1;

	if (srv->pid <= 0) {
		return -1;
	}
	kill(srv->pid, SIGTERM);
	/* Bounded wait: a server that does not stop fails the test. */
	for (int i = 0; i < 600; i++) {
		if (waitpid(srv->pid, &st, WNOHANG) == srv->pid) {
			srv->pid = 0;
			if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
				/* Whatever the test says next, the server's
				 * own words are what explain it. */
				char *log = harness_server_log(srv);
				fprintf(stderr,
				        "hbmon-server ended with status "
				        "%d; its log:\n%s\n",
				        st, log);
				free(log);
			}
			return st;
		}
		usleep(50 * 1000);
	}
	kill(srv->pid, SIGKILL);
	waitpid(srv->pid, &st, 0);
	srv->pid = 0;
	cr_assert_fail("hbmon-server did not stop within 30 s of SIGTERM");
	return st;
}

void
harness_server_kill(struct harness_server *srv)
{
	int st;

	if (srv->pid > 0) {
		kill(srv->pid, SIGKILL);
		waitpid(srv->pid, &st, 0);
		srv->pid = 0;
	}
}

void
harness_server_fini(struct harness_server *srv)
{
	if (srv->pid > 0) {
		harness_server_kill(srv);
	}
	if (getenv("HBMON_TEST_LOG") != NULL && srv->dir[0] != '\0') {
		/* To see why a test failed: the server's words. */
		char *log = harness_server_log(srv);
		fprintf(stderr, "server log:\n%s\n", log);
		free(log);
	}
	if (srv->tmpfs) {
		umount2(srv->dir, MNT_DETACH);
		srv->tmpfs = false;
	}
	harness_rmrf(srv->dir);
}

void
harness_server_tmpfs(struct harness_server *srv, const char *size)
{
	char opts[64];

	if (geteuid() != 0) {
		cr_skip_test("a tmpfs to fill up needs root to mount");
	}
	snprintf(opts, sizeof(opts), "size=%s,mode=0700", size);
	cr_assert_eq(mount("tmpfs", srv->dir, "tmpfs", 0, opts), 0,
	             "mount tmpfs on %s: %s", srv->dir, strerror(errno));
	srv->tmpfs = true;
}

void
harness_write_file(const char *path, const char *text, mode_t mode)
{
	FILE *f = fopen(path, "w");

	cr_assert_not_null(f, "%s: %s", path, strerror(errno));
	cr_assert_eq(fputs(text, f) >= 0 && fclose(f) == 0, true, "%s", path);
	cr_assert_eq(chmod(path, mode), 0, "%s: %s", path, strerror(errno));
}

char *
harness_read_file(const char *path)
{
	FILE *f = fopen(path, "r");
	char *buf;
	long n;

	if (f == NULL) {
		return strdup("");
	}
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	buf = calloc(1, (size_t) n + 1);
	cr_assert_not_null(buf);
	if (n > 0 && fread(buf, 1, (size_t) n, f) != (size_t) n) {
		buf[0] = '\0';
	}
	fclose(f);
	return buf;
}

char *
harness_server_log(const struct harness_server *srv)
{
	return harness_read_file(srv->log_path);
}

struct rpc_client *
harness_client(const char *url, const char *robot, const char *secret)
{
	return harness_client_tls(url, robot, secret, NULL);
}

struct rpc_client *
harness_client_tls(const char *url, const char *robot, const char *secret,
                   const struct tlsconf_files *tls)
{
	struct rpc_client_options o = {
		.url = url,
		.robot_id = robot,
		.key = secret,
		.key_len = secret != NULL ? strlen(secret) : 0,
		.timeout_ms = 5000,
	};
	struct rpc_client *c;
	char why[512];

	if (tls != NULL) {
		o.tls = *tls;
	}
	cr_assert_eq(rpc_client_open(&o, &c, why, sizeof(why)), HBMON_OK, "%s",
	             why);
	return c;
}

int
harness_report_robot(const char *url, const struct tlsconf_files *tls,
                     const char *robot, const char *secret, int health)
{
	struct rpc_client *c = harness_client_tls(url, robot, secret, tls);
	Hbmon__V1__RobotHeartbeat hb = HBMON__V1__ROBOT_HEARTBEAT__INIT;
	struct rpc_status st;
	char ts[RFC3339_MAX];
	int rv;

	rfc3339_format(clock_wall_ms(), 0, ts, sizeof(ts));
	hb.event = "ROBOT_HEARTBEAT";
	hb.status = health;
	hb.timestamp = ts;
	rv = rpc_client_call(c, "/hbmon.v1.Monitor/ReportRobot", &hb.base, NULL,
	                     NULL, &st);
	rpc_client_close(c);
	cr_assert_eq(rv, HBMON_OK, "heartbeat to %s: %s", url, st.message);
	return st.code;
}

int64_t
harness_store_int(const char *dir, const char *sql)
{
	char path[600];
	sqlite3 *db;
	sqlite3_stmt *st;
	int64_t v = -1;

	snprintf(path, sizeof(path), "%s/%s", dir, STORE_FILE);
	cr_assert_eq(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL),
	             SQLITE_OK);
	sqlite3_busy_timeout(db, 5000);
	cr_assert_eq(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK,
	             "%s: %s", sql, sqlite3_errmsg(db));
	if (sqlite3_step(st) == SQLITE_ROW) {
		v = sqlite3_column_int64(st, 0);
	}
	sqlite3_finalize(st);
	sqlite3_close(db);
	return v;
}

void
harness_store_exec(const char *dir, const char *sql)
{
	char path[600];
	struct store *s;
	char why[512];
	sqlite3 *db;
	char *err = NULL;

	/* Made, and brought to the current schema, first. */
	cr_assert_eq(store_open(dir, STORE_NORMAL, &s, why, sizeof(why)),
	             HBMON_OK, "%s", why);
	store_close(s);
	snprintf(path, sizeof(path), "%s/%s", dir, STORE_FILE);
	cr_assert_eq(sqlite3_open(path, &db), SQLITE_OK);
	sqlite3_busy_timeout(db, 5000);
	cr_assert_eq(sqlite3_exec(db, sql, NULL, NULL, &err), SQLITE_OK,
	             "%s: %s", sql, err != NULL ? err : "");
	sqlite3_close(db);
}

bool
harness_checkpoint_all(struct harness_server *srv, int timeout_ms, int *out_rc)
{
	char path[600];
	sqlite3 *db;
	int64_t until = clock_mono_ms() + timeout_ms;
	int rc, log = -1, done = -1;

	snprintf(path, sizeof(path), "%s/%s", srv->dir, STORE_FILE);
	cr_assert_eq(sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL),
	             SQLITE_OK);
	/* Long enough to wait out one commit of the server, short enough to
	 * retry: a pinned reader keeps the checkpoint busy for good. */
	sqlite3_busy_timeout(db, 200);
	/* A connection that has not read the database yet does not know it
	 * is in WAL mode, and its checkpoint does nothing (log -1). */
	cr_assert_eq(sqlite3_exec(db, "SELECT count(*) FROM sqlite_master",
	                          NULL, NULL, NULL),
	             SQLITE_OK);
	do {
		rc = sqlite3_wal_checkpoint_v2(
		    db, NULL, SQLITE_CHECKPOINT_TRUNCATE, &log, &done);
		if (rc == SQLITE_OK && log == 0) {
			break;
		}
		harness_sleep_ms(20);
	} while (clock_mono_ms() < until);
	sqlite3_close(db);
	if (out_rc != NULL) {
		*out_rc = rc;
	}
	return rc == SQLITE_OK && log == 0;
}

struct sqlite3 *
harness_lock_store(struct harness_server *srv)
{
	char path[600];
	sqlite3 *db;

	snprintf(path, sizeof(path), "%s/%s", srv->dir, STORE_FILE);
	cr_assert_eq(sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL),
	             SQLITE_OK);
	sqlite3_busy_timeout(db, 5000);
	cr_assert_eq(sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL),
	             SQLITE_OK, "%s", sqlite3_errmsg(db));
	return db;
}

void
harness_unlock_store(struct sqlite3 *db)
{
	cr_assert_eq(sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
}

int64_t
harness_wal_bytes(struct harness_server *srv)
{
	char path[600];
	struct stat st;

	snprintf(path, sizeof(path), "%s/%s-wal", srv->dir, STORE_FILE);
	return stat(path, &st) == 0 ? (int64_t) st.st_size : 0;
}

int64_t
harness_query_int(struct harness_server *srv, const char *sql)
{
	return harness_store_int(srv->dir, sql);
}

int64_t
harness_await_int(struct harness_server *srv, const char *sql, int64_t want)
{
	int64_t v = harness_query_int(srv, sql);

	for (int i = 0; i < 1000 && v != want; i++) {
		harness_sleep_ms(5);
		v = harness_query_int(srv, sql);
	}
	return v;
}

int64_t
harness_count(struct harness_server *srv, const char *table)
{
	char sql[128];

	if (strcmp(table, "heartbeats") == 0) {
		return harness_query_int(srv, "SELECT coalesce(sum(items), 0) "
		                              "FROM requests");
	}
	snprintf(sql, sizeof(sql), "SELECT count(*) FROM %s", table);
	return harness_query_int(srv, sql);
}

static int
count_heartbeat(void *arg, const struct store_heartbeat_row *row)
{
	(void) row;
	(*(int64_t *) arg)++;
	return 0;
}

int64_t
harness_heartbeats(struct harness_server *srv, const char *robot,
                   const char *account)
{
	struct store *st;
	char why[256];
	int64_t n = 0;

	cr_assert_eq(store_open_reader(srv->dir, &st, why, sizeof(why)),
	             HBMON_OK, "%s", why);
	cr_assert_eq(store_heartbeats_each(st, robot, account, 0, 0, UINT32_MAX,
	                                   false, count_heartbeat, &n),
	             HBMON_OK);
	store_close(st);
	return n;
}

uint8_t *
harness_signed_request(const char *method, const char *robot,
                       const char *secret, uint64_t seq, int64_t sent_at_ms,
                       const uint8_t *payload, size_t payload_len,
                       size_t *out_len)
{
	Hbmon__V1__RpcRequest rq = HBMON__V1__RPC_REQUEST__INIT;
	struct sign_fields f = { method,     robot,   seq,
		                 sent_at_ms, payload, payload_len };
	uint8_t sig[SIGN_LEN];
	uint8_t *buf;

	cr_assert_eq(sign_compute(secret, strlen(secret), &f, sig), HBMON_OK);
	rq.method = (char *) method;
	rq.robot_id = (char *) robot;
	rq.seq = seq;
	rq.sent_at_ms = sent_at_ms;
	rq.payload.data = (uint8_t *) payload;
	rq.payload.len = payload_len;
	rq.signature.data = sig;
	rq.signature.len = SIGN_LEN;
	buf = malloc(hbmon__v1__rpc_request__get_packed_size(&rq) + 1);
	cr_assert_not_null(buf);
	*out_len = hbmon__v1__rpc_request__pack(&rq, buf);
	return buf;
}

/* Reads all of fd into a malloc'd string. */
static char *
slurp_fd(int fd)
{
	size_t cap = 4096, len = 0;
	char *buf = malloc(cap);
	ssize_t n;

	cr_assert_not_null(buf);
	lseek(fd, 0, SEEK_SET);
	while ((n = read(fd, buf + len, cap - len - 1)) > 0) {
		len += (size_t) n;
		if (cap - len < 2) {
			cap *= 2;
			buf = realloc(buf, cap);
			cr_assert_not_null(buf);
		}
	}
	buf[len] = '\0';
	return buf;
}

int
harness_run(const char *const *argv, const char *stdin_text, char **out,
            char **err, int timeout_ms)
{
	char out_path[] = "/tmp/hbmon-run-out-XXXXXX";
	char err_path[] = "/tmp/hbmon-run-err-XXXXXX";
	char in_path[] = "/tmp/hbmon-run-in-XXXXXX";
	int out_fd = mkstemp(out_path);
	int err_fd = mkstemp(err_path);
	int in_fd = mkstemp(in_path);
	int st = -1;
	pid_t pid;

	cr_assert(out_fd >= 0 && err_fd >= 0 && in_fd >= 0);
	unlink(out_path);
	unlink(err_path);
	unlink(in_path);
	if (stdin_text != NULL) {
		cr_assert_eq(write(in_fd, stdin_text, strlen(stdin_text)),
		             (ssize_t) strlen(stdin_text));
		lseek(in_fd, 0, SEEK_SET);
	}
	pid = fork();
	cr_assert_neq(pid, -1);
	if (pid == 0) {
		dup2(in_fd, 0);
		dup2(out_fd, 1);
		dup2(err_fd, 2);
		execv(argv[0], (char *const *) argv);
		_exit(127);
	}
	for (int waited = 0;; waited += 10) {
		if (waitpid(pid, &st, WNOHANG) == pid) {
			break;
		}
		if (waited >= timeout_ms) {
			kill(pid, SIGKILL);
			waitpid(pid, &st, 0);
			break;
		}
		usleep(10 * 1000);
	}
	if (out != NULL) {
		*out = slurp_fd(out_fd);
	}
	if (err != NULL) {
		*err = slurp_fd(err_fd);
	}
	close(out_fd);
	close(err_fd);
	close(in_fd);
	return st;
}

/* ---- robots and alerts ---- */

#include "common/rfc3339.h"
#include "common/rpc_status.h"

void
harness_sleep_ms(int ms)
{
	struct timespec t = { ms / 1000, (long) (ms % 1000) * 1000000 };
	while (nanosleep(&t, &t) != 0) {
	}
}

void
harness_robot_init(struct harness_robot *r, struct harness_server *srv,
                   const char *robot, const char *secret, int n)
{
	memset(r, 0, sizeof(*r));
	cr_assert_leq(n, 64);
	r->client = harness_client(srv->listen, robot, secret);
	r->health = HBMON__V1__HEALTH_STATUS__HEALTH_STATUS_HEALTHY;
	r->n_accounts = n;
	r->active_accounts = (uint32_t) n;
	for (int i = 0; i < n; i++) {
		snprintf(r->names[i], sizeof(r->names[i]), "ACC_%03d", i + 1);
		r->status[i] = HBMON__V1__ACCOUNT_STATUS__ACCOUNT_STATUS_ACTIVE;
		r->session_valid[i] = true;
	}
}

static void
send_batch(struct harness_robot *r, bool robot, bool accounts)
{
	Hbmon__V1__HeartbeatBatch b = HBMON__V1__HEARTBEAT_BATCH__INIT;
	Hbmon__V1__RobotHeartbeat hb = HBMON__V1__ROBOT_HEARTBEAT__INIT;
	Hbmon__V1__AccountHeartbeat acc[64];
	Hbmon__V1__AccountHeartbeat *ptrs[64];
	Hbmon__V1__BatchReply *reply = NULL;
	struct rpc_status st;
	char ts[RFC3339_MAX];

	rfc3339_format(clock_wall_ms() + r->skew_ms, 7 * 60, ts, sizeof(ts));
	snprintf(r->last_timestamp, sizeof(r->last_timestamp), "%s", ts);
	hb.event = "ROBOT_HEARTBEAT";
	hb.status = r->health;
	hb.active_accounts = r->active_accounts;
	hb.active_tasks = 1;
	hb.timestamp = ts;
	for (int i = 0; accounts && i < r->n_accounts; i++) {
		hbmon__v1__account_heartbeat__init(&acc[i]);
		acc[i].event = "ACCOUNT_HEARTBEAT";
		acc[i].account = r->names[i];
		acc[i].status = r->status[i];
		acc[i].session_valid = r->session_valid[i];
		acc[i].open_orders = r->open_orders[i];
		acc[i].timestamp = ts;
		ptrs[i] = &acc[i];
	}
	b.robot = robot ? &hb : NULL;
	b.accounts = ptrs;
	b.n_accounts = accounts ? (size_t) r->n_accounts : 0;
	cr_assert_eq(rpc_client_call(r->client, "/hbmon.v1.Monitor/ReportBatch",
	                             &b.base,
	                             &hbmon__v1__batch_reply__descriptor,
	                             (ProtobufCMessage **) &reply, &st),
	             HBMON_OK, "no reply: %s", st.message);
	cr_assert_eq(st.code, RPC_OK, "batch refused: %s", st.message);
	if (reply->robot != NULL) {
		cr_assert_eq(reply->robot->code, RPC_OK, "%s",
		             reply->robot->message);
	}
	for (size_t i = 0; i < reply->n_accounts; i++) {
		cr_assert_eq(reply->accounts[i]->code, RPC_OK, "%s",
		             reply->accounts[i]->message);
	}
	protobuf_c_message_free_unpacked(&reply->base, NULL);
}

void
harness_robot_send(struct harness_robot *r)
{
	send_batch(r, true, true);
}

void
harness_robot_send_accounts(struct harness_robot *r)
{
	send_batch(r, false, true);
}

void
harness_robot_send_robot(struct harness_robot *r)
{
	send_batch(r, true, false);
}

void
harness_robot_fini(struct harness_robot *r)
{
	rpc_client_close(r->client);
	r->client = NULL;
}

struct rpc_client *
harness_admin(struct harness_server *srv)
{
	return harness_client(srv->admin, NULL, NULL);
}

size_t
harness_alerts(struct rpc_client *admin, uint64_t after,
               Hbmon__V1__Alert ***out)
{
	Hbmon__V1__Alert **all = NULL;
	size_t n = 0;

	for (;;) {
		Hbmon__V1__AlertsAfterRequest req =
		    HBMON__V1__ALERTS_AFTER_REQUEST__INIT;
		Hbmon__V1__AlertsAfterReply *page = NULL;
		struct rpc_status st;

		req.after_seq = after;
		req.limit = 100;
		cr_assert_eq(
		    rpc_client_call(admin, "/hbmon.v1.Admin/AlertsAfter",
		                    &req.base,
		                    &hbmon__v1__alerts_after_reply__descriptor,
		                    (ProtobufCMessage **) &page, &st),
		    HBMON_OK, "%s", st.message);
		cr_assert_eq(st.code, RPC_OK, "%s", st.message);
		all = realloc(all, (n + page->n_alerts + 1) * sizeof(*all));
		for (size_t i = 0; i < page->n_alerts; i++) {
			uint8_t buf[65536];
			size_t len =
			    hbmon__v1__alert__pack(page->alerts[i], buf);
			/* Keep each alert on its own, independent of the page.
			 */
			all[n++] = hbmon__v1__alert__unpack(NULL, len, buf);
			after = page->alerts[i]->seq;
		}
		bool more = page->more && page->n_alerts > 0;
		protobuf_c_message_free_unpacked(&page->base, NULL);
		if (!more) {
			break;
		}
	}
	*out = all;
	return n;
}

void
harness_alerts_free(Hbmon__V1__Alert **alerts, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		hbmon__v1__alert__free_unpacked(alerts[i], NULL);
	}
	free(alerts);
}

size_t
harness_count_kind(Hbmon__V1__Alert **alerts, size_t n, int kind, int state)
{
	size_t c = 0;

	for (size_t i = 0; i < n; i++) {
		if ((int) alerts[i]->kind == kind &&
		    (state == 0 || (int) alerts[i]->state == state)) {
			c++;
		}
	}
	return c;
}

Hbmon__V1__Alert *
harness_find_kind(Hbmon__V1__Alert **alerts, size_t n, int kind)
{
	for (size_t i = 0; i < n; i++) {
		if ((int) alerts[i]->kind == kind) {
			return alerts[i];
		}
	}
	return NULL;
}

uint64_t
harness_wait_alert(struct rpc_client *admin, int kind, const char *robot,
                   const char *account, int timeout_ms)
{
	int64_t until = clock_mono_ms() + timeout_ms;

	do {
		Hbmon__V1__Alert **a;
		size_t n = harness_alerts(admin, 0, &a);
		uint64_t seq = 0;

		for (size_t i = 0; i < n && seq == 0; i++) {
			if ((int) a[i]->kind == kind &&
			    (robot == NULL ||
			     strcmp(a[i]->robot, robot) == 0) &&
			    (account == NULL ||
			     strcmp(a[i]->account, account) == 0)) {
				seq = a[i]->seq;
			}
		}
		harness_alerts_free(a, n);
		if (seq != 0) {
			return seq;
		}
		harness_sleep_ms(20);
	} while (clock_mono_ms() < until);
	return 0;
}

Hbmon__V1__SubjectReply *
harness_subject(struct rpc_client *admin, const char *subject)
{
	Hbmon__V1__SubjectRequest req = HBMON__V1__SUBJECT_REQUEST__INIT;
	Hbmon__V1__SubjectReply *reply = NULL;
	struct rpc_status st;

	req.subject = (char *) subject;
	cr_assert_eq(rpc_client_call(admin, "/hbmon.v1.Admin/Subject",
	                             &req.base,
	                             &hbmon__v1__subject_reply__descriptor,
	                             (ProtobufCMessage **) &reply, &st),
	             HBMON_OK, "%s", st.message);
	cr_assert_eq(st.code, RPC_OK, "%s: %s", subject, st.message);
	return reply;
}

/* ---- the edge: raw connections, fds, memory ---- */

int
harness_free_port(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	int port;

	cr_assert_neq(fd, -1, "socket: %s", strerror(errno));
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	cr_assert_eq(bind(fd, (struct sockaddr *) &a, sizeof(a)), 0);
	cr_assert_eq(getsockname(fd, (struct sockaddr *) &a, &len), 0);
	port = ntohs(a.sin_port);
	close(fd);
	return port;
}

void
harness_strict_add(struct harness_strict *s, const char *output_type,
                   const uint8_t *reply, size_t reply_len)
{
	size_t need = strlen(output_type) + 2 + 2 * reply_len + 1;

	if (s->len + need > s->cap) {
		s->cap = (s->len + need) * 2;
		s->lines = realloc(s->lines, s->cap);
		cr_assert_not_null(s->lines);
	}
	s->len += (size_t) sprintf(s->lines + s->len, "%s ", output_type);
	for (size_t i = 0; i < reply_len; i++) {
		s->len += (size_t) sprintf(s->lines + s->len, "%02x", reply[i]);
	}
	s->lines[s->len++] = '\n';
	s->lines[s->len] = '\0';
	s->n++;
}

void
harness_strict_check(struct harness_strict *s)
{
	const char *source = getenv("HBMON_SOURCE_DIR");
	char script[1024], want[32], dir[512];
	const char *argv[] = { "/usr/bin/python3", script, source, dir, NULL };
	char *out = NULL, *err = NULL;
	int st;

	cr_assert_not_null(source, "HBMON_SOURCE_DIR is not set (run via "
	                           "ctest)");
	cr_assert_gt(s->n, 0, "no replies to parse");
	snprintf(script, sizeof(script), "%s/tests/support/strict_parse.py",
	         source);
	harness_tmpdir(dir, sizeof(dir));
	st = harness_run(argv, s->lines, &out, &err, 60000);
	harness_rmrf(dir);
	snprintf(want, sizeof(want), "ok %zu\n", s->n);
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0 &&
	              strcmp(out, want) == 0,
	          "a strict parser refused a reply:\n%s%s", out, err);
	free(out);
	free(err);
	free(s->lines);
	memset(s, 0, sizeof(*s));
}

Hbmon__V1__RpcResponse *
harness_raw_call(struct rpc_client *c, const void *req, size_t req_len,
                 struct harness_strict *s, const char *output_type)
{
	Hbmon__V1__RpcResponse *resp;
	uint8_t *reply;
	size_t len;

	cr_assert_eq(rpc_client_call_raw(c, req, req_len, &reply, &len),
	             HBMON_OK, "no reply");
	if (s != NULL) {
		harness_strict_add(s, output_type, reply, len);
	}
	resp = hbmon__v1__rpc_response__unpack(NULL, len, reply);
	cr_assert_not_null(resp, "the reply does not decode");
	free(reply);
	return resp;
}

int
harness_raw_try_connect(const char *url, const char *src)
{
	int fd = -1;

	if (strncmp(url, "ipc://", 6) == 0) {
		struct sockaddr_un a = { .sun_family = AF_UNIX };
		snprintf(a.sun_path, sizeof(a.sun_path), "%s", url + 6);
		fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd >= 0 &&
		    connect(fd, (struct sockaddr *) &a, sizeof(a)) != 0) {
			close(fd);
			fd = -1;
		}
		return fd;
	}
	{
		const char *hp = strstr(url, "://");
		struct sockaddr_in a = { .sin_family = AF_INET };
		char host[64];
		const char *colon;

		cr_assert_not_null(hp, "%s", url);
		hp += 3;
		colon = strrchr(hp, ':');
		cr_assert_not_null(colon, "%s", url);
		snprintf(host, sizeof(host), "%.*s", (int) (colon - hp), hp);
		a.sin_port = htons((uint16_t) atoi(colon + 1));
		cr_assert_eq(inet_pton(AF_INET, host, &a.sin_addr), 1, "%s",
		             url);
		fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd >= 0 && src != NULL) {
			struct sockaddr_in b = { .sin_family = AF_INET };
			cr_assert_eq(inet_pton(AF_INET, src, &b.sin_addr), 1);
			cr_assert_eq(
			    bind(fd, (struct sockaddr *) &b, sizeof(b)), 0,
			    "bind %s: %s", src, strerror(errno));
		}
		if (fd >= 0 &&
		    connect(fd, (struct sockaddr *) &a, sizeof(a)) != 0) {
			close(fd);
			fd = -1;
		}
	}
	return fd;
}

int
harness_raw_connect(const char *url, const char *src)
{
	int fd = harness_raw_try_connect(url, src);

	cr_assert_geq(fd, 0, "cannot connect to %s: %s", url, strerror(errno));
	return fd;
}

void
harness_raw_fin_rst(int fd)
{
	struct linger lg = { .l_onoff = 1, .l_linger = 0 };

	shutdown(fd, SHUT_WR);
	setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	close(fd);
}

bool
harness_raw_closed(int fd, int timeout_ms)
{
	int64_t until = clock_mono_ms() + timeout_ms;
	char buf[4096];

	for (;;) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		int64_t left = until - clock_mono_ms();
		ssize_t n;

		if (left <= 0 || poll(&pfd, 1, (int) left) <= 0) {
			return false;
		}
		n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
		if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
			return true;
		}
	}
}

bool
harness_raw_hungup(int fd, int timeout_ms)
{
	struct pollfd pfd = { .fd = fd, .events = POLLRDHUP };

	return poll(&pfd, 1, timeout_ms) > 0 &&
	       (pfd.revents & (POLLHUP | POLLRDHUP)) != 0;
}

void
harness_tls_certs(const char *dir)
{
	const char *src = getenv("HBMON_SOURCE_DIR");
	char script[1024], *err = NULL;
	int st;

	cr_assert_not_null(src, "HBMON_SOURCE_DIR is not set (run via ctest)");
	snprintf(script, sizeof(script), "%s/tests/support/tls_certs.sh", src);
	st = harness_run((const char *[]){ "/bin/bash", script, dir, NULL },
	                 NULL, NULL, &err, 60000);
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0,
	          "tls_certs.sh failed (openssl, faketime installed?): %s",
	          err);
	free(err);
}

void
harness_raise_fd_limit(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

int
harness_fd_count(pid_t pid)
{
	char path[64];
	DIR *d;
	struct dirent *e;
	int n = 0;

	snprintf(path, sizeof(path), "/proc/%d/fd", (int) pid);
	if ((d = opendir(path)) == NULL) {
		return -1;
	}
	while ((e = readdir(d)) != NULL) {
		n += e->d_name[0] != '.' ? 1 : 0;
	}
	closedir(d);
	return n;
}

int
harness_await_fds(pid_t pid, int max, int timeout_ms)
{
	int64_t until = clock_mono_ms() + timeout_ms;
	int n;

	while ((n = harness_fd_count(pid)) > max && clock_mono_ms() < until) {
		harness_sleep_ms(20);
	}
	return n;
}

long
harness_rss_kib(pid_t pid)
{
	char path[64], *text, *p;
	long kib = -1;

	snprintf(path, sizeof(path), "/proc/%d/status", (int) pid);
	text = harness_read_file(path);
	if ((p = strstr(text, "VmRSS:")) != NULL) {
		kib = strtol(p + 6, NULL, 10);
	}
	free(text);
	return kib;
}

size_t
harness_log_count(const struct harness_server *srv, const char *needle)
{
	char *log = harness_server_log(srv);
	size_t n = 0;

	for (char *line = log; line != NULL && *line != '\0';) {
		char *nl = strchr(line, '\n');
		if (nl != NULL) {
			*nl = '\0';
		}
		n += strstr(line, needle) != NULL ? 1 : 0;
		line = nl != NULL ? nl + 1 : NULL;
	}
	free(log);
	return n;
}

bool
harness_log_wait(const struct harness_server *srv, const char *needle,
                 int timeout_ms)
{
	int64_t until = clock_mono_ms() + timeout_ms;

	do {
		if (harness_log_count(srv, needle) > 0) {
			return true;
		}
		harness_sleep_ms(20);
	} while (clock_mono_ms() < until);
	return false;
}
