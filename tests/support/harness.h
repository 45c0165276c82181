/*
 * Test harness: scratch data dirs, the real hbmon-server binary started on
 * ipc:// addresses inside them, robots registered in its store, and signed
 * calls to it. Everything is torn down by the test so ASan and valgrind
 * stay clean. Test processes only; failures abort the test via Criterion.
 */
#ifndef HBMON_TESTS_HARNESS_H
#define HBMON_TESTS_HARNESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <protobuf-c/protobuf-c.h>

#include "common/rpc_client.h"
#include "common/tlsconf.h"
#include "hbmon/v1/rpc.pb-c.h"

struct harness_server {
	char dir[512];       /* data dir, a fresh temp dir */
	char listen[600];    /* ipc://DIR/robots.sock */
	char admin[600];     /* ipc://DIR/admin.sock */
	char publish[600];   /* ipc://DIR/alerts.sock */
	char admin_tcp[600]; /* "" unless --admin-tcp is among the flags */
	char log_path[600];  /* the server's stderr */
	pid_t pid;           /* 0 when not running */
	bool tmpfs; /* dir is a tmpfs of its own (harness_server_tmpfs) */
	/* The server binary, relative to the build dir; NULL (as init
	 * leaves it): "src/server/hbmon-server". */
	const char *program;
	/* For tls+tcp:// URLs: what clients of the harness dial with. */
	struct tlsconf_files tls;
};

/* Path of a built program, e.g. harness_bin("src/server/hbmon-server"). */
const char *harness_bin(const char *relative);

/* Makes a fresh temp dir in out (mkdtemp under $TMPDIR or /tmp). */
void harness_tmpdir(char *out, size_t out_len);

/* rm -rf dir. */
void harness_rmrf(const char *dir);

/*
 * Prepares srv with a new data dir and its socket URLs; starts nothing.
 * Tests may change listen, admin and publish before starting: a tcp URL
 * may end in ":0", and start then fills in the port the server chose.
 */
void harness_server_init(struct harness_server *srv);

/*
 * Registers robot with secret in the server's store (server not running,
 * or running: SQLite serialises). The running server only sees robots it
 * loaded at start.
 */
void harness_robot_add(struct harness_server *srv, const char *robot,
                       const char *secret);

/*
 * Starts hbmon-server on srv's addresses with extra flags (NULL-terminated
 * list, may be NULL) and waits for its "hbmon-server ready" line (30 s at
 * most), from which the URLs it listens on are read back into srv
 * (listen, admin, admin_tcp, publish: ports chosen for ":0" filled in).
 * Then it must answer on srv->listen. Returns true when it is serving.
 */
bool harness_server_start(struct harness_server *srv, const char *const *extra);

/*
 * As harness_server_start, with extra environment variables for the server
 * ("NAME=value", NULL-terminated, may be NULL), e.g. for libfaketime.
 */
bool harness_server_start_env(struct harness_server *srv,
                              const char *const *extra, const char *const *env);

/* As harness_server_start, returns false if it exited (exit status in *status).
 */
bool harness_server_start_status(struct harness_server *srv,
                                 const char *const *extra, int *status);

/*
 * Server flags for alert tests (NULL-terminated): --interval-max 300ms
 * --miss-threshold 2 --repeat-interval 1h: a silent robot is alerted on
 * about 900 ms after its last heartbeat, and nothing repeats.
 */
extern const char *const harness_quick_alerts[];

/*
 * Joins two NULL-terminated flag lists (either may be NULL) into out (max
 * entries with the NULL): base, then more, whose flags win.
 */
void harness_args(const char **out, size_t max, const char *const *base,
                  const char *const *more);

/*
 * Runs hbmon-server on srv's data dir (and a robot socket in it) with
 * extra flags to completion, for start-ups that must be refused: returns
 * the wait status; err: its stderr, malloc'd. Killed after 10 s.
 */
int harness_server_run(struct harness_server *srv, const char *const *extra,
                       char **err);

/* SIGTERM, then waits; returns the exit status (as waitpid gives it). */
int harness_server_stop(struct harness_server *srv);

/* SIGKILL, then waits. */
void harness_server_kill(struct harness_server *srv);

/*
 * Mounts a fresh tmpfs of size ("8m") on srv's data dir, which
 * harness_server_init has just made, so that a test can fill the disk up.
 * Needs root: without it the test is skipped, saying why.
 * harness_server_fini unmounts it.
 */
void harness_server_tmpfs(struct harness_server *srv, const char *size);

/*
 * Stops the server if running and removes the data dir (and its tmpfs);
 * with $HBMON_TEST_LOG set, writes the server's log to stderr first.
 */
void harness_server_fini(struct harness_server *srv);

/* Writes text to path (created or truncated) with mode, e.g. 0600 for a
 * secret file. */
void harness_write_file(const char *path, const char *text, mode_t mode);

/* A whole file, malloc'd; "" when it is missing. */
char *harness_read_file(const char *path);

/* The server's stderr so far, malloc'd (caller frees). */
char *harness_server_log(const struct harness_server *srv);

/* Opens a signed client for robot/secret at url (secret NULL: unsigned). */
struct rpc_client *harness_client(const char *url, const char *robot,
                                  const char *secret);

/* As harness_client, for a tls+tcp:// url with these files (may be NULL). */
struct rpc_client *harness_client_tls(const char *url, const char *robot,
                                      const char *secret,
                                      const struct tlsconf_files *tls);

/*
 * One robot heartbeat (HealthStatus health, stamped now) from robot with
 * secret on a new connection to url (tls: for tls+tcp://, may be NULL).
 * Asserts a reply came; returns its code.
 */
int harness_report_robot(const char *url, const struct tlsconf_files *tls,
                         const char *robot, const char *secret, int health);

/* ---- the edge: raw connections, fds, memory ---- */

/*
 * A raw stream socket connected to url: tcp:// and tls+tcp:// over tcp
 * (from source address src, e.g. "127.0.0.2", or NULL for any), ipc://
 * over AF_UNIX. Fails the test when it cannot connect.
 */
int harness_raw_connect(const char *url, const char *src);

/* As harness_raw_connect, returning -1 instead of failing the test. */
int harness_raw_try_connect(const char *url, const char *src);

/*
 * Closes fd with FIN then RST: shutdown(SHUT_WR), then close with
 * SO_LINGER 0, the way nng 1.5.2's SP listeners were killed.
 */
void harness_raw_fin_rst(int fd);

/*
 * Whether the peer has closed fd (EOF or reset) within timeout_ms;
 * whatever else arrives meanwhile is read and dropped.
 */
bool harness_raw_closed(int fd, int timeout_ms);

/*
 * Makes the test certificates in dir with openssl (tests/support/
 * tls_certs.sh says which files; ca.pem signs server.pem and client.pem).
 */
void harness_tls_certs(const char *dir);

/*
 * Whether the peer has closed fd within timeout_ms, without reading
 * anything (POLLHUP or POLLRDHUP): for a peer that must not be drained.
 */
bool harness_raw_hungup(int fd, int timeout_ms);

/* Raises this process's soft fd limit to its hard limit. */
void harness_raise_fd_limit(void);

/* Open fds of process pid (/proc/PID/fd), or -1. */
int harness_fd_count(pid_t pid);

/*
 * Waits up to timeout_ms for pid to have at most max open fds; returns
 * the count last seen.
 */
int harness_await_fds(pid_t pid, int max, int timeout_ms);

/* Resident memory of pid in KiB (VmRSS), or -1. */
long harness_rss_kib(pid_t pid);

/* Lines of the server's log so far that contain needle. */
size_t harness_log_count(const struct harness_server *srv, const char *needle);

/* Waits up to timeout_ms for a log line containing needle. */
bool harness_log_wait(const struct harness_server *srv, const char *needle,
                      int timeout_ms);

/*
 * Heartbeats recorded for robot/account (account "" for the robot's own),
 * read out of the recorded requests.
 */
int64_t harness_heartbeats(struct harness_server *srv, const char *robot,
                           const char *account);

/*
 * Counts rows of a table in the server's store (read-only connection);
 * "heartbeats" counts the heartbeats the recorded requests hold.
 */
int64_t harness_count(struct harness_server *srv, const char *table);

/*
 * Runs one SQL query returning a single integer on a read-only connection
 * to the store in data dir dir (-1 when it returns no row).
 */
int64_t harness_store_int(const char *dir, const char *sql);

/*
 * Runs SQL (any statements) on a read-write connection to the store in
 * data dir dir, made with the current schema if missing: for data that
 * only an older hbmon could have written.
 */
void harness_store_exec(const char *dir, const char *sql);

/*
 * Checkpoints srv's WAL completely from a connection of the test's own
 * (PRAGMA wal_checkpoint(TRUNCATE), retried for up to timeout_ms while
 * the server's own checkpoint or writes are in the way). Returns true when
 * one completed and left the WAL empty; false when a reader kept it from
 * completing the whole time (a read transaction left open). out_rc: the
 * last attempt's SQLite result code (may be NULL).
 */
bool harness_checkpoint_all(struct harness_server *srv, int timeout_ms,
                            int *out_rc);

/*
 * Holds srv's database write lock from a connection of the test's own
 * (BEGIN IMMEDIATE), as an outside writer or a stuck disk would, until
 * harness_unlock_store. Returns that connection.
 */
struct sqlite3 *harness_lock_store(struct harness_server *srv);
void harness_unlock_store(struct sqlite3 *db);

/* Bytes of srv's WAL file (0 when there is none). */
int64_t harness_wal_bytes(struct harness_server *srv);

/* harness_store_int on srv's data dir. */
int64_t harness_query_int(struct harness_server *srv, const char *sql);

/*
 * Runs the query until it returns want, for 5 s at most, and returns what
 * it returned last: for what the server writes behind the requests (the
 * latest state in `subjects`), which follows within a tick or two.
 */
int64_t harness_await_int(struct harness_server *srv, const char *sql,
                          int64_t want);

/*
 * A signed RpcRequest around any payload bytes, packed by hand (so tests
 * can send payloads no encoder would produce). Returns malloc'd bytes.
 */
uint8_t *harness_signed_request(const char *method, const char *robot,
                                const char *secret, uint64_t seq,
                                int64_t sent_at_ms, const uint8_t *payload,
                                size_t payload_len, size_t *out_len);

/*
 * Runs argv (argv[0] a path) to completion with stdin from /dev/null (or
 * the given text when stdin_text is not NULL); stdout and stderr are
 * returned malloc'd (either may be NULL when not wanted). Returns the
 * wait status. Gives up (SIGKILL) after timeout_ms.
 */
int harness_run(const char *const *argv, const char *stdin_text, char **out,
                char **err, int timeout_ms);

/* ---- robots and alerts, for the alert engine's end-to-end tests ---- */

#include "hbmon/v1/admin.pb-c.h"
#include "hbmon/v1/alert.pb-c.h"

/* Statuses of one simulated robot and its accounts. */
struct harness_robot {
	struct rpc_client *client;
	int health; /* HealthStatus */
	uint32_t active_accounts;
	int n_accounts;
	char names[64][16]; /* ACC_001... */
	int status[64];     /* AccountStatus */
	bool session_valid[64];
	uint32_t open_orders[64];
	int64_t skew_ms;         /* added to the timestamp it sends */
	char last_timestamp[32]; /* what the last send carried */
};

/*
 * Prepares robot (registered with secret) with n accounts, all healthy /
 * active with valid sessions and no orders; active_accounts = n.
 */
void harness_robot_init(struct harness_robot *r, struct harness_server *srv,
                        const char *robot, const char *secret, int n);

/* Sends one batch (robot + every account); asserts it is accepted. */
void harness_robot_send(struct harness_robot *r);

/* Sends only the accounts, or only the robot heartbeat. */
void harness_robot_send_accounts(struct harness_robot *r);
void harness_robot_send_robot(struct harness_robot *r);

void harness_robot_fini(struct harness_robot *r);

/* An admin client for srv. */
struct rpc_client *harness_admin(struct harness_server *srv);

/*
 * Every alert in the outbox with seq > after, in seq order (all pages).
 * out: a malloc'd array of unpacked alerts; free with harness_alerts_free.
 */
size_t harness_alerts(struct rpc_client *admin, uint64_t after,
                      Hbmon__V1__Alert ***out);
void harness_alerts_free(Hbmon__V1__Alert **alerts, size_t n);

/* How many of alerts are of kind (and, when state is not 0, that state). */
size_t harness_count_kind(Hbmon__V1__Alert **alerts, size_t n, int kind,
                          int state);

/* The first alert of kind, or NULL. */
Hbmon__V1__Alert *harness_find_kind(Hbmon__V1__Alert **alerts, size_t n,
                                    int kind);

/*
 * Polls the outbox until an alert of kind (and subject robot/account,
 * account "" for a robot, NULL: any) appears, up to timeout_ms; returns its
 * seq, or 0 on timeout.
 */
uint64_t harness_wait_alert(struct rpc_client *admin, int kind,
                            const char *robot, const char *account,
                            int timeout_ms);

/* The admin's view of one subject; free with protobuf_c_message_free_unpacked.
 */
Hbmon__V1__SubjectReply *harness_subject(struct rpc_client *admin,
                                         const char *subject);

/* ---- replies read by a strict proto3 parser ---- */

/*
 * Replies kept for Google protobuf's parser (tests/support/strict_parse.py
 * under /usr/bin/python3, Python code generated from proto/ at test time),
 * which refuses a whole message whose strings are not UTF-8, as Python and
 * Go clients do. Start from { 0 }.
 */
struct harness_strict {
	char *lines; /* "OUTPUT_TYPE HEX\n" per reply */
	size_t len, cap;
	size_t n;
};

/* Keeps reply; output_type: the hbmon.v1 message of its payload ("-"). */
void harness_strict_add(struct harness_strict *s, const char *output_type,
                        const uint8_t *reply, size_t reply_len);

/* Parses every kept reply strictly; asserts all parse; frees s. */
void harness_strict_check(struct harness_strict *s);

/*
 * Sends raw request bytes on c, keeps the reply for s (may be NULL) and
 * returns it unpacked (free with hbmon__v1__rpc_response__free_unpacked).
 * Asserts that a reply came and that it decodes.
 */
Hbmon__V1__RpcResponse *harness_raw_call(struct rpc_client *c, const void *req,
                                         size_t req_len,
                                         struct harness_strict *s,
                                         const char *output_type);

/* A free tcp port on loopback (bound, read and closed: a small race). */
int harness_free_port(void);

/* Milliseconds to sleep. */
void harness_sleep_ms(int ms);

#endif
