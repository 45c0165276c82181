/*
 * What admin.c, admin_read.c and admin_write.c share; nothing else
 * includes it.
 *
 * admin.c is the service table, the listeners and the dispatch: every
 * method's generated handler (ADMIN_HANDLER) prepares a struct call in
 * the worker's scratch and hands it on, a read to the reader threads
 * (readpool.h), a write to the recorder as an exec job. admin_read.c holds
 * the reads, admin_write.c the writes.
 *
 * Threads. A read's run function runs on a reader thread with that
 * thread's read-only connection (c->reader, NULL when the database cannot
 * be opened); it touches the recorder's memory (subjects, engine, clocks,
 * the registry's robots) only inside a function given to
 * admin_from_memory, which runs on the recorder thread. A write's run
 * function runs on the writer (recorder.h) inside the transaction; its
 * apply function, after the commit, also there. Either way the reply is
 * sent once, by finish() in admin.c: for a read on its reader thread,
 * for a write from the job's done (recorder.h, "Completion").
 */
#ifndef HBMON_SERVER_ADMIN_IMPL_H
#define HBMON_SERVER_ADMIN_IMPL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/arena.h"
#include "common/sign.h"
#include "hbmon/v1/admin.pb-c.h"
#include "server/admin.h"
#include "server/admin_auth.h"
#include "server/readpool.h"
#include "server/recorder.h"
#include "server/rpcserver.h"
#include "server/rules.h"

struct admin {
	/* The generated service struct; first, so handlers find the admin
	 * from the service pointer they are given. */
	Hbmon__V1__Admin_Service service;
	struct admin_options opts;
	struct recorder *rec;
	struct registry *reg;
	struct readpool *readers;
	struct rpcserver *ipc;
	struct rpcserver *tcp;
	struct admin_auth auth; /* admin_tcp's; unused without it */
};

/* ---- per-call state; memory comes from the worker's arena ---- */

/* A subject's names and id, copied out of memory for the reads that
 * follow on a reader thread. */
struct subject_ref {
	int64_t id;
	char robot[RULES_NAME_MAX + 1];
	char account[RULES_NAME_MAX + 1];
	bool is_robot;
};

struct call {
	struct recorder_job job;  /* writes: the exec job; job.arg is this */
	struct readpool_job read; /* reads: the reader threads' job */
	struct admin *adm;
	struct rpc_call *rpc;
	ProtobufCClosure done;
	const ProtobufCMessage *input;
	ProtobufCMessage *output;
	int (*run)(struct call *c);
	/* Writes: what changes in memory once the write is committed (on the
	 * writer, before the reply). NULL: nothing. */
	void (*apply)(struct call *c);
	struct arena *arena;  /* the worker's: reset after the reply */
	struct store *reader; /* reads: the thread's connection, or NULL */
	/* A signed admin_tcp request's seq, made durable with what it does
	 * (writes) or right after (reads); 0 over ipc. */
	uint64_t signed_seq;
	struct subject_ref subject;
	/* Writes: what apply changes. */
	char secret[SIGN_SECRET_MAX];
	int64_t interval_ms;
	uint8_t ping_hash[SIGN_LEN]; /* a new ping token's SHA-256 */
};

/* Zeroed memory from the call's arena; lives until the reply is sent.
 * NULL when out of memory (the reply then says so). */
void *admin_alloc(struct call *c, size_t size);

/* s copied into the call's arena (NULL when out of memory). */
char *admin_strdup(struct call *c, const char *s);

/*
 * Fails the call with the gRPC code and a sentence for the owner. Returns
 * HBMON_OK (the job itself went fine), so a run function can return it.
 */
int admin_fail(struct call *c, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/*
 * The one way a read looks at memory: runs fn(arg, rec) on the recorder
 * thread (recorder_read) and returns when it has. fn must copy what it
 * needs into the call. Returns HBMON_OK or HBMON_ECLOSED (stopping).
 */
int admin_from_memory(struct call *c,
                      void (*fn)(void *arg, struct recorder *rec), void *arg);

/* A read's database connection, or NULL with the call failed
 * (UNAVAILABLE). */
struct store *admin_reader_of(struct call *c);

/*
 * On the recorder thread: the subject named "R1" or "R1/ACC_003", or NULL
 * with the call failed (INVALID_ARGUMENT or NOT_FOUND).
 */
struct subject *admin_find_subject(struct call *c, const char *subject);

/*
 * The audit line of a write (admin_write.c): who asked (the admin peer:
 * "uid:1000@admin" over ipc, "192.0.2.7@admin" over tcp), what, and the
 * outcome, at info level, once the reply's code is known; the line's
 * time is when. Every write is logged, refused ones included; nothing
 * secret is (a new secret is not in the request).
 */
void admin_audit_write(const struct call *c);

/* Hands a prepared call to the reader threads / the recorder. */
void admin_submit_read(Hbmon__V1__Admin_Service *svc, void *data,
                       const ProtobufCMessage *input, ProtobufCClosure done,
                       int (*run)(struct call *c));
void admin_submit_write(Hbmon__V1__Admin_Service *svc, void *data,
                        const ProtobufCMessage *input, ProtobufCClosure done,
                        int (*run)(struct call *c));

/* Defines the generated handler admin_NAME of a method: a read or a write,
 * whose work is run_NAME in the same file. */
#define ADMIN_HANDLER(kind, name, In, Closure)                                 \
	static int run_##name(struct call *c);                                 \
	void admin_##name(Hbmon__V1__Admin_Service *svc, const In *input,      \
	                  Closure closure, void *data)                         \
	{                                                                      \
		admin_submit_##kind(svc, data, &input->base,                   \
		                    (ProtobufCClosure) closure, run_##name);   \
	}

/* The methods (admin_read.c) ... */
void admin_overview(Hbmon__V1__Admin_Service *svc,
                    const Hbmon__V1__OverviewRequest *input,
                    Hbmon__V1__OverviewReply_Closure closure, void *data);
void admin_accounts(Hbmon__V1__Admin_Service *svc,
                    const Hbmon__V1__AccountsRequest *input,
                    Hbmon__V1__AccountsReply_Closure closure, void *data);
void admin_subject(Hbmon__V1__Admin_Service *svc,
                   const Hbmon__V1__SubjectRequest *input,
                   Hbmon__V1__SubjectReply_Closure closure, void *data);
void admin_history(Hbmon__V1__Admin_Service *svc,
                   const Hbmon__V1__HistoryRequest *input,
                   Hbmon__V1__HistoryReply_Closure closure, void *data);
void admin_alerts_after(Hbmon__V1__Admin_Service *svc,
                        const Hbmon__V1__AlertsAfterRequest *input,
                        Hbmon__V1__AlertsAfterReply_Closure closure,
                        void *data);
void admin_alerts_open(Hbmon__V1__Admin_Service *svc,
                       const Hbmon__V1__AlertsOpenRequest *input,
                       Hbmon__V1__AlertsOpenReply_Closure closure, void *data);
void admin_robot_list(Hbmon__V1__Admin_Service *svc,
                      const Hbmon__V1__RobotListRequest *input,
                      Hbmon__V1__RobotListReply_Closure closure, void *data);
void admin_server_info(Hbmon__V1__Admin_Service *svc,
                       const Hbmon__V1__ServerInfoRequest *input,
                       Hbmon__V1__ServerInfoReply_Closure closure, void *data);

/* ... and (admin_write.c). */
void admin_ack(Hbmon__V1__Admin_Service *svc,
               const Hbmon__V1__AckRequest *input,
               Hbmon__V1__AckReply_Closure closure, void *data);
void admin_pause(Hbmon__V1__Admin_Service *svc,
                 const Hbmon__V1__PauseRequest *input,
                 Hbmon__V1__PauseReply_Closure closure, void *data);
void admin_resume(Hbmon__V1__Admin_Service *svc,
                  const Hbmon__V1__ResumeRequest *input,
                  Hbmon__V1__ResumeReply_Closure closure, void *data);
void admin_robot_add(Hbmon__V1__Admin_Service *svc,
                     const Hbmon__V1__RobotAddRequest *input,
                     Hbmon__V1__RobotAddReply_Closure closure, void *data);
void admin_robot_rotate(Hbmon__V1__Admin_Service *svc,
                        const Hbmon__V1__RobotRotateRequest *input,
                        Hbmon__V1__RobotAddReply_Closure closure, void *data);
void admin_robot_remove(Hbmon__V1__Admin_Service *svc,
                        const Hbmon__V1__RobotRemoveRequest *input,
                        Hbmon__V1__RobotRemoveReply_Closure closure,
                        void *data);
void admin_robot_set(Hbmon__V1__Admin_Service *svc,
                     const Hbmon__V1__RobotSetRequest *input,
                     Hbmon__V1__RobotInfo_Closure closure, void *data);
void admin_robot_ping_token(Hbmon__V1__Admin_Service *svc,
                            const Hbmon__V1__RobotPingTokenRequest *input,
                            Hbmon__V1__RobotPingTokenReply_Closure closure,
                            void *data);

#endif
