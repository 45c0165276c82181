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

struct harness_server {
	char dir[512];      /* data dir, a fresh temp dir */
	char listen[600];   /* ipc://DIR/robots.sock */
	char admin[600];    /* ipc://DIR/admin.sock */
	char publish[600];  /* ipc://DIR/alerts.sock */
	char log_path[600]; /* the server's stderr */
	pid_t pid;          /* 0 when not running */
};

/* Path of a built program, e.g. harness_bin("src/server/hbmon-server"). */
const char *harness_bin(const char *relative);

/* Makes a fresh temp dir in out (mkdtemp under $TMPDIR or /tmp). */
void harness_tmpdir(char *out, size_t out_len);

/* rm -rf dir. */
void harness_rmrf(const char *dir);

/* Prepares srv with a new data dir and its socket URLs; starts nothing. */
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
 * list, may be NULL) and waits until it answers on srv->listen (10 s at
 * most). Returns true when it is serving.
 */
bool harness_server_start(struct harness_server *srv, const char *const *extra);

/* As harness_server_start, returns false if it exited (exit status in *status).
 */
bool harness_server_start_status(struct harness_server *srv,
                                 const char *const *extra, int *status);

/* SIGTERM, then waits; returns the exit status (as waitpid gives it). */
int harness_server_stop(struct harness_server *srv);

/* SIGKILL, then waits. */
void harness_server_kill(struct harness_server *srv);

/* Stops the server if running and removes the data dir. */
void harness_server_fini(struct harness_server *srv);

/* The server's stderr so far, malloc'd (caller frees). */
char *harness_server_log(const struct harness_server *srv);

/* Opens a signed client for robot/secret at url (secret NULL: unsigned). */
struct rpc_client *harness_client(const char *url, const char *robot,
                                  const char *secret);

/* Counts rows of a table in the server's store (read-only connection). */
int64_t harness_count(struct harness_server *srv, const char *table);

/* Runs one SQL query returning a single integer (read-only connection). */
int64_t harness_query_int(struct harness_server *srv, const char *sql);

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

#endif
