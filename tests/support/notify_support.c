/* hbmon-notify test support: child processes and stand-in servers. */
#include "notify_support.h"

#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/rfc3339.h"
#include "common/rpc_status.h"
#include "hbmon/error.h"
#include "hbmon/v1/monitor.pb-c.h"

extern char **environ;

#define PROCS_MAX 32

static pid_t procs[PROCS_MAX];

static void
remember(pid_t pid)
{
	for (int i = 0; i < PROCS_MAX; i++) {
		if (procs[i] == 0) {
			procs[i] = pid;
			return;
		}
	}
}

static void
forget(pid_t pid)
{
	for (int i = 0; i < PROCS_MAX; i++) {
		if (procs[i] == pid) {
			procs[i] = 0;
		}
	}
}

static int
open_out(const char *path)
{
	return path != NULL ? open(path, O_WRONLY | O_CREAT | O_APPEND, 0600)
	                    : open("/dev/null", O_WRONLY);
}

pid_t
nt_spawn(const char *const *argv, const char *const *env, const char *out_path,
         const char *err_path)
{
	const char *envp[512];
	size_t n = 0;
	pid_t parent = getpid(), pid;

	for (size_t i = 0; environ[i] != NULL && n < 400; i++) {
		envp[n++] = environ[i];
	}
	for (size_t i = 0; env != NULL && env[i] != NULL && n < 510; i++) {
		envp[n++] = env[i];
	}
	envp[n] = NULL;
	pid = fork();
	cr_assert_neq(pid, -1, "fork: %s", strerror(errno));
	if (pid == 0) {
		int out = open_out(out_path), err = open_out(err_path);
		int in = open("/dev/null", O_RDONLY);

		/* Dies with the test, even when the test crashes. */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent) {
			_exit(126);
		}
		dup2(in, 0);
		dup2(out, 1);
		dup2(err, 2);
		execve(argv[0], (char *const *) argv, (char *const *) envp);
		_exit(127);
	}
	remember(pid);
	return pid;
}

int
nt_stop(pid_t *pid)
{
	int st = -1;

	if (*pid <= 0) {
		return -1;
	}
	kill(*pid, SIGTERM);
	for (int i = 0; i < 200; i++) {
		if (waitpid(*pid, &st, WNOHANG) == *pid) {
			forget(*pid);
			*pid = 0;
			return st;
		}
		harness_sleep_ms(50);
	}
	nt_kill(pid);
	cr_assert_fail("a process did not stop within 10 s of SIGTERM");
	return st;
}

void
nt_kill(pid_t *pid)
{
	int st;

	if (*pid > 0) {
		kill(*pid, SIGKILL);
		waitpid(*pid, &st, 0);
		forget(*pid);
		*pid = 0;
	}
}

void
nt_kill_all(void)
{
	for (int i = 0; i < PROCS_MAX; i++) {
		if (procs[i] > 0) {
			pid_t p = procs[i];
			nt_kill(&p);
		}
	}
}

void
nt_write_file(const char *path, const char *text)
{
	char tmp[700];
	FILE *f;
	int fd;

	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	/* 0600: secret files must be (secret_load refuses others). */
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	f = fd >= 0 ? fdopen(fd, "w") : NULL;
	cr_assert_not_null(f, "%s: %s", tmp, strerror(errno));
	fputs(text, f);
	fclose(f);
	cr_assert_eq(rename(tmp, path), 0);
}

bool
nt_wait(bool (*done)(void *), void *arg, int timeout_ms)
{
	int64_t until = clock_mono_ms() + timeout_ms;

	for (;;) {
		if (done(arg)) {
			return true;
		}
		if (clock_mono_ms() >= until) {
			return done(arg);
		}
		harness_sleep_ms(50);
	}
}

static const char *
source_path(const char *relative)
{
	static __thread char path[1024];
	const char *src = getenv("HBMON_SOURCE_DIR");

	cr_assert_not_null(src, "HBMON_SOURCE_DIR is not set (run via ctest)");
	snprintf(path, sizeof(path), "%s/%s", src, relative);
	return path;
}

static void
fake_start(struct nt_fake *f, const char *script, const char *arg,
           const char *scheme)
{
	char port_path[600], log_path[600];
	const char *argv[] = { NT_PYTHON, NULL, f->dir, arg, NULL };
	char script_path[1024];

	memset(f, 0, sizeof(*f));
	harness_tmpdir(f->dir, sizeof(f->dir));
	snprintf(script_path, sizeof(script_path), "%s", source_path(script));
	argv[1] = script_path;
	snprintf(port_path, sizeof(port_path), "%s/port", f->dir);
	snprintf(log_path, sizeof(log_path), "%s/server.log", f->dir);
	f->pid = nt_spawn(argv, NULL, NULL, log_path);
	for (int i = 0; i < 200; i++) {
		char *text = harness_read_file(port_path);
		f->port = atoi(text);
		free(text);
		if (f->port > 0) {
			break;
		}
		harness_sleep_ms(50);
	}
	if (f->port <= 0) {
		char *log = harness_read_file(log_path);
		cr_assert_fail("%s did not start: %s", script, log);
	}
	snprintf(f->url, sizeof(f->url), "%s://127.0.0.1:%d", scheme, f->port);
}

void
nt_telegram_start(struct nt_fake *f, const char *token)
{
	fake_start(f, "tests/support/notify_telegram.py", token, "http");
}

void
nt_smtp_start(struct nt_fake *f)
{
	fake_start(f, "tests/support/notify_smtp.py", NULL, "smtp");
}

void
nt_fake_mode(const struct nt_fake *f, const char *mode)
{
	char path[600];

	snprintf(path, sizeof(path), "%s/mode", f->dir);
	nt_write_file(path, mode);
}

json_t *
nt_requests(const struct nt_fake *f)
{
	char path[600];
	char *text, *line, *next;
	json_t *all = json_array();

	snprintf(path, sizeof(path), "%s/requests.jsonl", f->dir);
	text = harness_read_file(path);
	for (line = text; line != NULL && *line != '\0'; line = next) {
		json_t *r;
		if ((next = strchr(line, '\n')) == NULL) {
			break; /* a line still being written */
		}
		*next++ = '\0';
		r = json_loads(line, 0, NULL);
		cr_assert_not_null(r, "bad record: %s", line);
		json_array_append_new(all, r);
	}
	free(text);
	return all;
}

int
nt_mail_count(const struct nt_fake *f)
{
	char path[600];
	int n = 0;

	for (;;) {
		snprintf(path, sizeof(path), "%s/mail-%d.eml", f->dir, n + 1);
		if (access(path, F_OK) != 0) {
			return n;
		}
		n++;
	}
}

json_t *
nt_mail(const struct nt_fake *f, int n)
{
	static const char parser[] =
	    "import email, email.policy, json, sys\n"
	    "raw = open(sys.argv[1], 'rb').read()\n"
	    "m = email.message_from_bytes(raw, policy=email.policy.default)\n"
	    "env = json.load(open(sys.argv[2]))\n"
	    "head = raw.split(b'\\r\\n\\r\\n', 1)[0].decode('ascii')\n"
	    "print(json.dumps({'headers': [[k, str(v)] for k, v in "
	    "m.items()],\n"
	    "  'body': m.get_content().replace('\\r\\n', '\\n'),\n"
	    "  'raw_headers': head,\n"
	    "  'mail_from': env['mail_from'], 'rcpt_tos': env['rcpt_tos'],\n"
	    "  'defects': [str(d) for d in m.defects]}))\n";
	char eml[600], meta[600];
	const char *argv[] = { NT_PYTHON, "-c", parser, eml, meta, NULL };
	char *out = NULL, *err = NULL;
	json_t *j;
	int st;

	snprintf(eml, sizeof(eml), "%s/mail-%d.eml", f->dir, n);
	snprintf(meta, sizeof(meta), "%s/mail-%d.json", f->dir, n);
	st = harness_run(argv, NULL, &out, &err, 10000);
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0,
	          "cannot parse mail %d: %s", n, err);
	j = json_loads(out, 0, NULL);
	cr_assert_not_null(j, "parser output: %s", out);
	free(out);
	free(err);
	return j;
}

void
nt_fake_stop(struct nt_fake *f)
{
	nt_kill(&f->pid);
	harness_rmrf(f->dir);
}

void
nt_notifier_init(struct nt_notifier *n)
{
	memset(n, 0, sizeof(*n));
	harness_tmpdir(n->dir, sizeof(n->dir));
	snprintf(n->log, sizeof(n->log), "%s/notify.log", n->dir);
	snprintf(n->out, sizeof(n->out), "%s/notify.out", n->dir);
}

void
nt_notifier_start(struct nt_notifier *n, struct harness_server *srv,
                  const char *sink, const char *const *flags,
                  const char *const *env)
{
	const char *argv[64];
	int k = 0;

	/* No --templates-dir: the built-in set, as an installed notifier
	 * runs (flags may still give one). */
	argv[k++] = harness_bin("src/notify/hbmon-notify");
	argv[k++] = "--sink";
	argv[k++] = sink;
	argv[k++] = "--admin";
	argv[k++] = srv->admin;
	argv[k++] = "--subscribe";
	argv[k++] = srv->publish;
	argv[k++] = "--state-dir";
	argv[k++] = n->dir;
	argv[k++] = "--retry-min";
	argv[k++] = "100ms";
	argv[k++] = "--retry-max";
	argv[k++] = "1s";
	argv[k++] = "--poll-interval";
	argv[k++] = "1s";
	argv[k++] = "--log-level";
	argv[k++] = "debug";
	for (int i = 0; flags != NULL && flags[i] != NULL && k < 62; i++) {
		argv[k++] = flags[i];
	}
	argv[k] = NULL;
	n->pid = nt_spawn(argv, env, n->out, n->log);
	n->starts++;
}

void
nt_notifier_stop(struct nt_notifier *n)
{
	int st = nt_stop(&n->pid);

	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
		char *log = harness_read_file(n->log);
		cr_assert_fail("hbmon-notify stopped with status %d; its "
		               "log:\n%s",
		               st, log);
	}
}

json_t *
nt_out_lines(const struct nt_notifier *n)
{
	char *text = harness_read_file(n->out);
	json_t *all = json_array();

	for (char *line = text, *next; *line != '\0'; line = next) {
		json_t *j;
		if ((next = strchr(line, '\n')) == NULL) {
			break;
		}
		*next++ = '\0';
		j = json_loads(line, 0, NULL);
		cr_assert_not_null(j, "not a JSON line: %s", line);
		json_array_append_new(all, j);
	}
	free(text);
	return all;
}

void
nt_notifier_fini(struct nt_notifier *n)
{
	if (n->pid > 0) {
		nt_kill(&n->pid);
	}
	harness_rmrf(n->dir);
}

size_t
nt_text_seqs(const char *text, uint64_t *seqs, size_t max)
{
	size_t n = 0;

	for (const char *p = strchr(text, '#'); p != NULL;
	     p = strchr(p + 1, '#')) {
		char *end;
		unsigned long long v;

		if (p[1] < '0' || p[1] > '9') {
			continue;
		}
		v = strtoull(p + 1, &end, 10);
		if (n < max) {
			seqs[n] = v;
		}
		n++;
	}
	return n;
}

uint64_t
nt_wait_alert_after(struct rpc_client *admin, uint64_t after, int kind,
                    const char *robot, int timeout_ms)
{
	int64_t until = clock_mono_ms() + timeout_ms;

	do {
		Hbmon__V1__Alert **a;
		size_t n = harness_alerts(admin, after, &a);
		uint64_t seq = 0;

		for (size_t i = 0; i < n && seq == 0; i++) {
			if ((int) a[i]->kind == kind &&
			    strcmp(a[i]->robot, robot) == 0) {
				seq = a[i]->seq;
			}
		}
		harness_alerts_free(a, n);
		if (seq != 0) {
			return seq;
		}
		harness_sleep_ms(50);
	} while (clock_mono_ms() < until);
	return 0;
}

size_t
nt_outbox_seqs(struct rpc_client *admin, uint64_t **out)
{
	Hbmon__V1__Alert **a;
	size_t n = harness_alerts(admin, 0, &a);
	uint64_t *seqs = calloc(n + 1, sizeof(*seqs));

	cr_assert_not_null(seqs);
	for (size_t i = 0; i < n; i++) {
		seqs[i] = a[i]->seq;
	}
	harness_alerts_free(a, n);
	*out = seqs;
	return n;
}

void
nt_send_accounts(struct rpc_client *c, size_t n, const char *const *names,
                 const int *statuses)
{
	nt_send_orders(c, n, names, statuses, NULL);
}

void
nt_send_orders(struct rpc_client *c, size_t n, const char *const *names,
               const int *statuses, const uint32_t *open_orders)
{
	Hbmon__V1__HeartbeatBatch b = HBMON__V1__HEARTBEAT_BATCH__INIT;
	Hbmon__V1__RobotHeartbeat hb = HBMON__V1__ROBOT_HEARTBEAT__INIT;
	Hbmon__V1__AccountHeartbeat acc[64];
	Hbmon__V1__AccountHeartbeat *ptrs[64];
	Hbmon__V1__BatchReply *reply = NULL;
	struct rpc_status st;
	char ts[RFC3339_MAX];

	cr_assert_leq(n, 64);
	rfc3339_format(clock_wall_ms(), 7 * 60, ts, sizeof(ts));
	hb.event = "ROBOT_HEARTBEAT";
	hb.status = HBMON__V1__HEALTH_STATUS__HEALTH_STATUS_HEALTHY;
	hb.active_accounts = (uint32_t) n;
	hb.active_tasks = 1;
	hb.timestamp = ts;
	for (size_t i = 0; i < n; i++) {
		hbmon__v1__account_heartbeat__init(&acc[i]);
		acc[i].event = "ACCOUNT_HEARTBEAT";
		acc[i].account = (char *) names[i];
		acc[i].status = statuses[i];
		acc[i].session_valid =
		    statuses[i] !=
		    HBMON__V1__ACCOUNT_STATUS__ACCOUNT_STATUS_EXPIRED;
		acc[i].open_orders = open_orders != NULL ? open_orders[i] : 0;
		acc[i].timestamp = ts;
		ptrs[i] = &acc[i];
	}
	b.robot = &hb;
	b.accounts = ptrs;
	b.n_accounts = n;
	cr_assert_eq(rpc_client_call(c, "/hbmon.v1.Monitor/ReportBatch",
	                             &b.base,
	                             &hbmon__v1__batch_reply__descriptor,
	                             (ProtobufCMessage **) &reply, &st),
	             HBMON_OK, "no reply: %s", st.message);
	cr_assert_eq(st.code, RPC_OK, "batch refused: %s", st.message);
	for (size_t i = 0; i < reply->n_accounts; i++) {
		cr_assert_eq(reply->accounts[i]->code, RPC_OK, "%s",
		             reply->accounts[i]->message);
	}
	protobuf_c_message_free_unpacked(&reply->base, NULL);
}

void
nt_server_start(struct harness_server *srv, const char *const *robots)
{
	nt_server_start_with(srv, robots, NULL);
}

void
nt_server_start_with(struct harness_server *srv, const char *const *robots,
                     const char *const *more)
{
	const char *args[32];

	harness_args(args, 32, harness_quick_alerts, more);
	harness_server_init(srv);
	for (size_t i = 0; robots != NULL && robots[i] != NULL; i++) {
		harness_robot_add(srv, robots[i], NT_SECRET);
	}
	cr_assert(harness_server_start(srv, args), "server did not start");
}

uint64_t
nt_legacy_account_down(struct harness_server *srv, const char *account)
{
	struct rpc_client *robot, *admin;
	char sql[1024], hex[2 * 64 + 1];
	size_t n = strlen(account);
	uint64_t seq = 0;

	cr_assert_leq(n, 64);
	for (size_t i = 0; i < n; i++) {
		snprintf(hex + 2 * i, 3, "%02x", (unsigned char) account[i]);
	}
	hex[2 * n] = '\0';
	cr_assert_eq(WEXITSTATUS(harness_server_stop(srv)), 0);
	snprintf(sql, sizeof(sql),
	         "INSERT OR IGNORE INTO subjects (robot, account, created_ms,"
	         " status, session_valid, open_orders, timestamp,"
	         " last_seen_ms) VALUES ('R1', '', %1$lld, 1, 0, 0, '',"
	         " %1$lld), ('R1', CAST(X'%2$s' AS TEXT), %1$lld, 2, 1, 1,"
	         " '2026-01-20T09:30:00+07:00', %1$lld)",
	         (long long) clock_wall_ms(), hex);
	harness_store_exec(srv->dir, sql);
	cr_assert(harness_server_start(srv, harness_quick_alerts),
	          "server did not start again");
	/* The robot reports, on new connections (the old ones may still be
	 * backing off), while the account, which it can no longer report,
	 * stays silent until it is down. */
	robot = harness_client(srv->listen, "R1", NT_SECRET);
	admin = harness_admin(srv);
	for (int i = 0; i < 100 && seq == 0; i++) {
		nt_send_accounts(robot, 0, NULL, NULL);
		seq = harness_wait_alert(
		    admin, HBMON__V1__ALERT_KIND__ALERT_KIND_HEARTBEAT_MISSED,
		    "R1", account, 100);
	}
	rpc_client_close(robot);
	rpc_client_close(admin);
	cr_assert_neq(seq, 0, "the legacy account was not alerted on");
	return seq;
}
