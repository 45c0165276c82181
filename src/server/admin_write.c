/*
 * The Admin service's writes: ack, pause, resume and the robot registry.
 * Each runs on the recorder thread as an exec job, inside the transaction
 * of the heartbeats around it; what it changes in memory (apply) happens
 * only once that is committed.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/quote.h"
#include "common/rpc_status.h"
#include "common/sign.h"
#include "hbmon/error.h"
#include "server/admin_impl.h"
#include "server/engine.h"

/* ---- ack, pause, resume ---- */

struct ack_ctx {
	struct call *c;
	Hbmon__V1__AckReply *r;
};

static int
ack_key(void *arg, const struct store_alert *row)
{
	struct ack_ctx *a = arg;

	a->r->dedupe_key = admin_strdup(a->c, row->dedupe_key);
	return 0;
}

ADMIN_HANDLER(write, ack, Hbmon__V1__AckRequest, Hbmon__V1__AckReply_Closure)
static int
run_ack(struct call *c)
{
	const Hbmon__V1__AckRequest *in =
	    (const Hbmon__V1__AckRequest *) c->input;
	Hbmon__V1__AckReply *r = admin_alloc(c, sizeof(*r));
	char why[256] = "";
	int64_t now, wall;
	int rv;

	if (r == NULL) {
		return HBMON_OK;
	}
	recorder_clock(c->adm->rec, &now, &wall);
	rv = engine_ack(recorder_engine(c->adm->rec), in->seq, in->by, wall,
	                why, sizeof(why));
	switch (rv) {
	case HBMON_OK:
		break;
	case HBMON_ENOENT:
		return admin_fail(c, RPC_NOT_FOUND, "%s", why);
	case HBMON_EINVAL:
		return admin_fail(c, RPC_FAILED_PRECONDITION, "%s", why);
	default:
		return rv;
	}
	hbmon__v1__ack_reply__init(r);
	r->dedupe_key = (char *) "";
	{
		struct ack_ctx a = { c, r };
		store_alerts_after(recorder_store(c->adm->rec), in->seq - 1, 1,
		                   ack_key, &a);
	}
	c->output = &r->base;
	return HBMON_OK;
}

ADMIN_HANDLER(write, pause, Hbmon__V1__PauseRequest,
              Hbmon__V1__PauseReply_Closure)
static int
run_pause(struct call *c)
{
	const Hbmon__V1__PauseRequest *in =
	    (const Hbmon__V1__PauseRequest *) c->input;
	struct subject *s = admin_find_subject(c, in->subject);
	Hbmon__V1__PauseReply *r;
	int64_t now, wall;
	int rv;

	if (s == NULL) {
		return HBMON_OK;
	}
	recorder_clock(c->adm->rec, &now, &wall);
	if (in->until_ms <= wall) {
		return admin_fail(
		    c, RPC_INVALID_ARGUMENT,
		    "the pause would end in the past; give a time "
		    "ahead, e.g. --for 2h");
	}
	if ((r = admin_alloc(c, sizeof(*r))) == NULL) {
		return HBMON_OK;
	}
	rv = engine_pause(recorder_engine(c->adm->rec), s, in->until_ms,
	                  in->reason, now, wall);
	if (rv != HBMON_OK) {
		return rv;
	}
	hbmon__v1__pause_reply__init(r);
	r->until_ms = in->until_ms;
	c->output = &r->base;
	return HBMON_OK;
}

ADMIN_HANDLER(write, resume, Hbmon__V1__ResumeRequest,
              Hbmon__V1__ResumeReply_Closure)
static int
run_resume(struct call *c)
{
	const Hbmon__V1__ResumeRequest *in =
	    (const Hbmon__V1__ResumeRequest *) c->input;
	struct subject *s = admin_find_subject(c, in->subject);
	Hbmon__V1__ResumeReply *r;
	int64_t now, wall;
	int rv;

	if (s == NULL) {
		return HBMON_OK;
	}
	if ((r = admin_alloc(c, sizeof(*r))) == NULL) {
		return HBMON_OK;
	}
	recorder_clock(c->adm->rec, &now, &wall);
	rv = engine_pause(recorder_engine(c->adm->rec), s, 0, "", now, wall);
	if (rv != HBMON_OK) {
		return rv;
	}
	hbmon__v1__resume_reply__init(r);
	c->output = &r->base;
	return HBMON_OK;
}

/* ---- the robot registry: written first, then changed in memory ---- */

static int
robot_secret_reply(struct call *c, const char *robot, const char *secret)
{
	Hbmon__V1__RobotAddReply *r = admin_alloc(c, sizeof(*r));

	if (r == NULL) {
		return HBMON_OK;
	}
	hbmon__v1__robot_add_reply__init(r);
	r->robot = admin_strdup(c, robot);
	r->secret = admin_strdup(c, secret);
	c->output = &r->base;
	return HBMON_OK;
}

/* After the commit: the new secret works (and resets the seq floor). */
static void
apply_secret(struct call *c)
{
	const char *robot =
	    c->input->descriptor == &hbmon__v1__robot_add_request__descriptor
	        ? ((const Hbmon__V1__RobotAddRequest *) c->input)->robot
	        : ((const Hbmon__V1__RobotRotateRequest *) c->input)->robot;

	if (registry_set_secret(c->adm->reg, robot, c->secret) != HBMON_OK) {
		admin_fail(c, RPC_RESOURCE_EXHAUSTED,
		           "out of memory; the secret is stored: `hbctl robot "
		           "rotate %s` again",
		           robot);
	}
	explicit_bzero(c->secret, sizeof(c->secret));
}

ADMIN_HANDLER(write, robot_add, Hbmon__V1__RobotAddRequest,
              Hbmon__V1__RobotAddReply_Closure)
static int
run_robot_add(struct call *c)
{
	const Hbmon__V1__RobotAddRequest *in =
	    (const Hbmon__V1__RobotAddRequest *) c->input;
	struct robot *known = registry_find(c->adm->reg, in->robot);
	char why[128];
	int64_t now, wall;
	int rv;

	if (rules_check_robot_id(in->robot, why, sizeof(why)) != HBMON_OK) {
		return admin_fail(c, RPC_INVALID_ARGUMENT, "%s", why);
	}
	if (known != NULL && !known->removed) {
		return admin_fail(
		    c, RPC_ALREADY_EXISTS,
		    "robot '%s' is already registered; `hbctl robot "
		    "rotate %s` gives it a new secret",
		    in->robot, in->robot);
	}
	if (sign_new_secret(c->secret, sizeof(c->secret)) != HBMON_OK) {
		return admin_fail(c, RPC_INTERNAL,
		                  "no randomness for a secret");
	}
	recorder_clock(c->adm->rec, &now, &wall);
	rv = store_robot_add(recorder_store(c->adm->rec), in->robot, c->secret,
	                     wall);
	if (rv == HBMON_EEXIST) {
		/* Removed earlier: the row went, a stale one means a race. */
		rv = store_robot_secret(recorder_store(c->adm->rec), in->robot,
		                        c->secret);
	}
	if (rv != HBMON_OK) {
		return HBMON_EIO;
	}
	{
		/* Watched from now on: it is expected to report. */
		struct subject *s;
		if (recorder_subject(c->adm->rec, in->robot, "", &s) !=
		    HBMON_OK) {
			return HBMON_EIO;
		}
		engine_expect(recorder_engine(c->adm->rec), s, now);
	}
	c->apply = apply_secret;
	return robot_secret_reply(c, in->robot, c->secret);
}

ADMIN_HANDLER(write, robot_rotate, Hbmon__V1__RobotRotateRequest,
              Hbmon__V1__RobotAddReply_Closure)
static int
run_robot_rotate(struct call *c)
{
	const Hbmon__V1__RobotRotateRequest *in =
	    (const Hbmon__V1__RobotRotateRequest *) c->input;
	struct robot *known = registry_find(c->adm->reg, in->robot);
	char q[QUOTE_NAME_SIZE];

	if (known == NULL || known->removed) {
		return admin_fail(c, RPC_NOT_FOUND,
		                  "robot '%s' is not registered; `hbctl robot "
		                  "list` shows the robots",
		                  quote_str(q, sizeof(q), in->robot));
	}
	if (sign_new_secret(c->secret, sizeof(c->secret)) != HBMON_OK) {
		return admin_fail(c, RPC_INTERNAL,
		                  "no randomness for a secret");
	}
	if (store_robot_secret(recorder_store(c->adm->rec), in->robot,
	                       c->secret) != HBMON_OK) {
		return HBMON_EIO;
	}
	c->apply = apply_secret;
	return robot_secret_reply(c, in->robot, c->secret);
}

/* After the commit: it stops being watched (no deadlines, no alerts). */
static void
apply_remove(struct call *c)
{
	const Hbmon__V1__RobotRemoveRequest *in =
	    (const Hbmon__V1__RobotRemoveRequest *) c->input;
	struct engine *e = recorder_engine(c->adm->rec);
	struct subject *robot =
	    subjects_find(recorder_subjects(c->adm->rec), in->robot, "");

	if (robot != NULL) {
		while (robot->accounts != NULL) {
			struct subject *a = robot->accounts;
			engine_forget_subject(e, a);
			recorder_remove_subject(c->adm->rec, a);
		}
		engine_forget_subject(e, robot);
		recorder_remove_subject(c->adm->rec, robot);
	}
	registry_remove(c->adm->reg, in->robot);
}

ADMIN_HANDLER(write, robot_remove, Hbmon__V1__RobotRemoveRequest,
              Hbmon__V1__RobotRemoveReply_Closure)
static int
run_robot_remove(struct call *c)
{
	const Hbmon__V1__RobotRemoveRequest *in =
	    (const Hbmon__V1__RobotRemoveRequest *) c->input;
	struct subjects *set = recorder_subjects(c->adm->rec);
	struct robot *known = registry_find(c->adm->reg, in->robot);
	struct subject *robot = subjects_find(set, in->robot, "");
	Hbmon__V1__RobotRemoveReply *r;
	char q[QUOTE_NAME_SIZE];
	int64_t now, wall;
	int rv;

	if ((known == NULL || known->removed) && robot == NULL) {
		return admin_fail(c, RPC_NOT_FOUND,
		                  "robot '%s' is not registered",
		                  quote_str(q, sizeof(q), in->robot));
	}
	if ((r = admin_alloc(c, sizeof(*r))) == NULL) {
		return HBMON_OK;
	}
	recorder_clock(c->adm->rec, &now, &wall);
	/* What fires for it ends with it, in the same transaction. */
	if (robot != NULL &&
	    (rv = engine_removed(recorder_engine(c->adm->rec), robot, now,
	                         wall)) != HBMON_OK) {
		return rv;
	}
	rv = store_robot_remove(recorder_store(c->adm->rec), in->robot, wall);
	if (rv != HBMON_OK && rv != HBMON_ENOENT) {
		return rv;
	}
	c->apply = apply_remove;
	hbmon__v1__robot_remove_reply__init(r);
	c->output = &r->base;
	return HBMON_OK;
}

/* After the commit: the robot's deadlines follow its new interval. */
static void
apply_interval(struct call *c)
{
	const Hbmon__V1__RobotSetRequest *in =
	    (const Hbmon__V1__RobotSetRequest *) c->input;
	struct subject *robot =
	    subjects_find(recorder_subjects(c->adm->rec), in->robot, "");
	int64_t interval =
	    c->interval_ms > 0 ? c->interval_ms : c->adm->opts.interval_max_ms;
	int64_t now, wall;

	registry_set_interval(c->adm->reg, in->robot, c->interval_ms);
	recorder_clock(c->adm->rec, &now, &wall);
	if (robot != NULL) {
		struct engine *e = recorder_engine(c->adm->rec);
		engine_set_interval(e, robot, (uint32_t) interval, now);
		for (struct subject *a = robot->accounts; a != NULL;
		     a = a->next_account) {
			engine_set_interval(e, a, (uint32_t) interval, now);
		}
	}
}

ADMIN_HANDLER(write, robot_set, Hbmon__V1__RobotSetRequest,
              Hbmon__V1__RobotInfo_Closure)
static int
run_robot_set(struct call *c)
{
	const Hbmon__V1__RobotSetRequest *in =
	    (const Hbmon__V1__RobotSetRequest *) c->input;
	struct robot *known = registry_find(c->adm->reg, in->robot);
	struct subject *robot =
	    subjects_find(recorder_subjects(c->adm->rec), in->robot, "");
	Hbmon__V1__RobotInfo *info;
	char q[QUOTE_NAME_SIZE];

	if (known == NULL || known->removed) {
		return admin_fail(c, RPC_NOT_FOUND,
		                  "robot '%s' is not registered; `hbctl robot "
		                  "list` shows the robots",
		                  quote_str(q, sizeof(q), in->robot));
	}
	if (in->interval_max_ms > UINT32_MAX) {
		return admin_fail(c, RPC_INVALID_ARGUMENT,
		                  "interval_max of %" PRId64 " ms is too long",
		                  in->interval_max_ms);
	}
	if ((info = admin_alloc(c, sizeof(*info))) == NULL) {
		return HBMON_OK;
	}
	hbmon__v1__robot_info__init(info);
	info->robot = admin_strdup(c, in->robot);
	info->interval_max_ms = known->interval_max_ms;
	if (in->interval_max_ms != 0) {
		c->interval_ms =
		    in->interval_max_ms > 0 ? in->interval_max_ms : 0;
		if (store_robot_interval(recorder_store(c->adm->rec), in->robot,
		                         c->interval_ms) == HBMON_EIO) {
			return HBMON_EIO;
		}
		c->apply = apply_interval;
		info->interval_max_ms = c->interval_ms;
	}
	if (robot != NULL) {
		info->last_seen_ms = robot->last_seen_ms;
		info->accounts = robot->n_accounts;
	}
	c->output = &info->base;
	return HBMON_OK;
}

/* ---- ping tokens ---- */

/* After the commit: the new token works, the old one (if any) does not. */
static void
apply_ping(struct call *c)
{
	const Hbmon__V1__RobotPingTokenRequest *in =
	    (const Hbmon__V1__RobotPingTokenRequest *) c->input;

	if (registry_set_ping(c->adm->reg, in->robot,
	                      in->revoke ? NULL : c->ping_hash) ==
	    HBMON_ENOMEM) {
		admin_fail(c, RPC_RESOURCE_EXHAUSTED,
		           "out of memory; the token is stored and works "
		           "after a restart, or issue one again");
	}
}

ADMIN_HANDLER(write, robot_ping_token, Hbmon__V1__RobotPingTokenRequest,
              Hbmon__V1__RobotPingTokenReply_Closure)
static int
run_robot_ping_token(struct call *c)
{
	const Hbmon__V1__RobotPingTokenRequest *in =
	    (const Hbmon__V1__RobotPingTokenRequest *) c->input;
	struct robot *known = registry_find(c->adm->reg, in->robot);
	Hbmon__V1__RobotPingTokenReply *r;
	char q[QUOTE_NAME_SIZE];
	char hex[2 * SIGN_LEN + 1];

	if (known == NULL || known->removed) {
		return admin_fail(c, RPC_NOT_FOUND,
		                  "robot '%s' is not registered; `hbctl robot "
		                  "list` shows the robots",
		                  quote_str(q, sizeof(q), in->robot));
	}
	if ((r = admin_alloc(c, sizeof(*r))) == NULL) {
		return HBMON_OK;
	}
	hbmon__v1__robot_ping_token_reply__init(r);
	r->robot = admin_strdup(c, in->robot);
	r->token = (char *) "";
	if (!in->revoke) {
		if (sign_new_ping_token(c->secret, sizeof(c->secret)) !=
		        HBMON_OK ||
		    sign_sha256(c->secret, strlen(c->secret), c->ping_hash) !=
		        HBMON_OK) {
			return admin_fail(c, RPC_INTERNAL,
			                  "no randomness for a ping token");
		}
		sign_hex(c->ping_hash, SIGN_LEN, hex);
		r->token = admin_strdup(c, c->secret);
		explicit_bzero(c->secret, sizeof(c->secret));
	}
	if (store_robot_ping(recorder_store(c->adm->rec), in->robot,
	                     in->revoke ? NULL : hex) != HBMON_OK) {
		return HBMON_EIO;
	}
	c->apply = apply_ping;
	c->output = &r->base;
	return HBMON_OK;
}

/* ---- the audit line ---- */

/*
 * Who asked, as the audit line names them: the local user over ipc
 * ("uid:1000@admin"), the address over tcp ("192.0.2.7@admin").
 */
static void
audit_who(const struct call *c, char *out, size_t out_len)
{
	const char *detail = rpcserver_peer_detail(c->rpc);

	if (rpcserver_principal(c->rpc) != NULL) {
		snprintf(out, out_len, "%s@admin", rpcserver_peer(c->rpc));
	} else {
		/* "uid:1000 pid:4242": the user is who; the pid is in
		 * peer=. */
		snprintf(out, out_len, "%.*s@admin", (int) strcspn(detail, " "),
		         detail);
	}
}

void
admin_audit_write(const struct call *c)
{
	const ProtobufCMessageDescriptor *d = c->input->descriptor;
	const char *peer = rpcserver_peer_detail(c->rpc);
	const char *code = rpc_code_name(c->rpc->code);
	const char *why = c->rpc->code == RPC_OK ? "" : c->rpc->message;
	char who[128];

	audit_who(c, who, sizeof(who));
	if (d == &hbmon__v1__ack_request__descriptor) {
		const Hbmon__V1__AckRequest *in = (const void *) c->input;
		log_info("admin write",
		         "by=%s peer=%s action=ack alert_seq=%" PRIu64
		         " ack_by=%s code=%s why=%s",
		         who, peer, in->seq, in->by, code, why);
	} else if (d == &hbmon__v1__pause_request__descriptor) {
		const Hbmon__V1__PauseRequest *in = (const void *) c->input;
		log_info(
		    "admin write",
		    "by=%s peer=%s action=pause subject=%s until_ms=%" PRId64
		    " reason=%s code=%s why=%s",
		    who, peer, in->subject, in->until_ms, in->reason, code,
		    why);
	} else if (d == &hbmon__v1__resume_request__descriptor) {
		const Hbmon__V1__ResumeRequest *in = (const void *) c->input;
		log_info(
		    "admin write",
		    "by=%s peer=%s action=resume subject=%s code=%s why=%s",
		    who, peer, in->subject, code, why);
	} else if (d == &hbmon__v1__robot_add_request__descriptor) {
		const Hbmon__V1__RobotAddRequest *in = (const void *) c->input;
		log_info(
		    "admin write",
		    "by=%s peer=%s action=robot_add robot=%s code=%s why=%s",
		    who, peer, in->robot, code, why);
	} else if (d == &hbmon__v1__robot_rotate_request__descriptor) {
		const Hbmon__V1__RobotRotateRequest *in =
		    (const void *) c->input;
		log_info("admin write",
		         "by=%s peer=%s action=robot_rotate robot=%s code=%s "
		         "why=%s",
		         who, peer, in->robot, code, why);
	} else if (d == &hbmon__v1__robot_remove_request__descriptor) {
		const Hbmon__V1__RobotRemoveRequest *in =
		    (const void *) c->input;
		log_info("admin write",
		         "by=%s peer=%s action=robot_remove robot=%s code=%s "
		         "why=%s",
		         who, peer, in->robot, code, why);
	} else if (d == &hbmon__v1__robot_set_request__descriptor) {
		const Hbmon__V1__RobotSetRequest *in = (const void *) c->input;
		log_info("admin write",
		         "by=%s peer=%s action=robot_set robot=%s "
		         "interval_max_ms=%" PRId64 " code=%s why=%s",
		         who, peer, in->robot, in->interval_max_ms, code, why);
	} else if (d == &hbmon__v1__robot_ping_token_request__descriptor) {
		const Hbmon__V1__RobotPingTokenRequest *in =
		    (const void *) c->input;
		log_info("admin write",
		         "by=%s peer=%s action=%s robot=%s code=%s why=%s", who,
		         peer, in->revoke ? "ping_revoke" : "ping_token",
		         in->robot, code, why);
	} else {
		/* A write added without its own line still leaves one. */
		log_info("admin write",
		         "by=%s peer=%s action=%s code=%s why=%s", who, peer,
		         d->name, code, why);
	}
}
