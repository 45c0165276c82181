/*
 * Support for hbmon-notify's end-to-end tests: the real hbmon-notify
 * binary, the loopback Telegram stand-in (notify_telegram.py) and the
 * aiosmtpd server (notify_smtp.py) as child processes on scratch
 * directories, and readers for what they recorded. Every process started
 * here is killed by nt_kill_all (call it from the fixture's fini) and dies
 * with the test process if that crashes (PR_SET_PDEATHSIG).
 */
#ifndef HBMON_TESTS_NOTIFY_SUPPORT_H
#define HBMON_TESTS_NOTIFY_SUPPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <jansson.h>

#include "harness.h"

/* The secret the tests register robots with. */
#define NT_SECRET "hbs_notify-test-secret"

/*
 * Prepares srv, registers robots (NULL-terminated) with NT_SECRET and starts
 * the server with short intervals: --interval-max 300ms --miss-threshold 2
 * (a silent robot is alerted on about 900 ms after its last heartbeat).
 */
void nt_server_start(struct harness_server *srv, const char *const *robots);

/* As nt_server_start, with more flags (NULL-terminated; they win). */
void nt_server_start_with(struct harness_server *srv, const char *const *robots,
                          const char *const *more);

/* Debian's python: the one with python3-aiosmtpd (see tools/install-deps.sh).
 */
#define NT_PYTHON "/usr/bin/python3"

/*
 * Starts argv[0] with argv, the environment plus env ("NAME=value",
 * NULL-terminated, may be NULL), stdout appended to out_path and stderr to
 * err_path (NULL: /dev/null). Returns the pid.
 */
pid_t nt_spawn(const char *const *argv, const char *const *env,
               const char *out_path, const char *err_path);

/* SIGTERM, waits (10 s at most, then SIGKILL); returns the wait status. */
int nt_stop(pid_t *pid);

/* SIGKILL and wait. */
void nt_kill(pid_t *pid);

/* Kills every process nt_spawn started that is still running. */
void nt_kill_all(void);

/* A stand-in server: notify_telegram.py or notify_smtp.py. */
struct nt_fake {
	char dir[512];
	pid_t pid;
	int port;
	char url[128]; /* http://127.0.0.1:PORT or smtp://127.0.0.1:PORT */
};

/* Starts the Telegram stand-in accepting bot token. */
void nt_telegram_start(struct nt_fake *f, const char *token);

/* Starts the SMTP server. */
void nt_smtp_start(struct nt_fake *f);

/* Sets the stand-in's answers (see the scripts), atomically. */
void nt_fake_mode(const struct nt_fake *f, const char *mode);

/* Every request the Telegram stand-in recorded (a JSON array; decref). */
json_t *nt_requests(const struct nt_fake *f);

/* How many mails the SMTP server accepted. */
int nt_mail_count(const struct nt_fake *f);

/*
 * Mail n (from 1) parsed by Python's email package: {"headers": [[name,
 * decoded value], ...], "body": decoded text, "raw_headers": text,
 * "mail_from", "rcpt_tos"}. Decref.
 */
json_t *nt_mail(const struct nt_fake *f, int n);

/* Stops the stand-in and removes its directory. */
void nt_fake_stop(struct nt_fake *f);

/* An hbmon-notify process. */
struct nt_notifier {
	pid_t pid;
	char dir[512]; /* its state_dir */
	char log[600]; /* stderr, appended over restarts */
	char out[600]; /* stdout, appended over restarts */
	int starts;
};

/* Makes n's scratch state dir; starts nothing. */
void nt_notifier_init(struct nt_notifier *n);

/*
 * Starts hbmon-notify --sink sink against srv (its admin and publish URLs),
 * with n's state dir, the built-in templates, short retry and poll
 * times, then flags (NULL-terminated, may be NULL) and env.
 */
void nt_notifier_start(struct nt_notifier *n, struct harness_server *srv,
                       const char *sink, const char *const *flags,
                       const char *const *env);

/*
 * Stops n with SIGTERM and asserts it exits with status 0 (under ASan
 * that also means nothing leaked).
 */
void nt_notifier_stop(struct nt_notifier *n);

/*
 * The JSON lines n's stdout holds so far (the stdout sink's alerts), as a
 * JSON array (decref); a line still being written is left out. Asserts
 * every complete line is JSON.
 */
json_t *nt_out_lines(const struct nt_notifier *n);

/* Kills n if running and removes its state dir. */
void nt_notifier_fini(struct nt_notifier *n);

/* Writes text to path atomically (temp file + rename), mode 0600. */
void nt_write_file(const char *path, const char *text);

/*
 * Polls done(arg) every 50 ms until it is true or timeout_ms passed.
 * Returns its last answer.
 */
bool nt_wait(bool (*done)(void *), void *arg, int timeout_ms);

/*
 * The alert seqs a Telegram text names ("#12"), in order. Returns how many
 * (at most max are stored).
 */
size_t nt_text_seqs(const char *text, uint64_t *seqs, size_t max);

/*
 * Polls the outbox until an alert of kind for robot with seq > after
 * appears (timeout_ms at most); returns its seq, or 0.
 */
uint64_t nt_wait_alert_after(struct rpc_client *admin, uint64_t after, int kind,
                             const char *robot, int timeout_ms);

/*
 * The seqs of every alert in srv's outbox, in order (malloc'd; free).
 */
size_t nt_outbox_seqs(struct rpc_client *admin, uint64_t **out);

/*
 * Gives robot R1 (already registered on srv) an account as an older hbmon
 * recorded it, with a name the server now refuses (CR, LF, ...): the
 * server is stopped, the account (active, one open order, just heard)
 * written into its store, and the server started again. R1 then keeps
 * reporting while the account, which can no longer be reported, goes
 * silent; returns the seq of its HEARTBEAT_MISSED once that is in the
 * outbox. For the sinks' own escaping of names, which still matters for
 * such databases.
 */
uint64_t nt_legacy_account_down(struct harness_server *srv,
                                const char *account);

/*
 * Sends one batch for robot over c: the robot healthy with n accounts of
 * the given names and statuses (AccountStatus; session valid unless
 * expired). Asserts the server accepted every item.
 */
void nt_send_accounts(struct rpc_client *c, size_t n, const char *const *names,
                      const int *statuses);

/* As nt_send_accounts, with each account's open orders (NULL: none). */
void nt_send_orders(struct rpc_client *c, size_t n, const char *const *names,
                    const int *statuses, const uint32_t *open_orders);

#endif
