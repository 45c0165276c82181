/* hbctl pause / resume: silence a subject for maintenance, or end it. */
#include <stdio.h>
#include <string.h>

#include "common/clock.h"
#include "common/rfc3339.h"
#include "common/quote.h"
#include "common/duration.h"
#include "hbctl.h"

const char cmd_pause_usage[] =
    "usage: hbctl pause SUBJECT --for D [--reason TEXT] [--json]\n"
    "\n"
    "Silences a robot (R1) or an account (R1/ACC_003) for maintenance: no\n"
    "alerts about it until the pause ends by itself after D (e.g. 30m, 2h),\n"
    "or `hbctl resume SUBJECT` ends it sooner.\n"
    "\n"
    "  --for D              how long (required)\n"
    "  --reason TEXT        shown with the subject while paused\n";

const char cmd_resume_usage[] =
    "usage: hbctl resume SUBJECT [--json]\n"
    "\n"
    "Ends a pause now: the subject is watched again from this moment.\n";

enum { OPT_FOR = 1000, OPT_REASON };

struct pause_args {
	int64_t for_ms;
	bool for_given;
	const char *reason;
};

static int
on_flag(struct hbctl *h, int val, const char *value, void *arg)
{
	struct pause_args *p = arg;
	int rv;

	if (val == OPT_REASON) {
		p->reason = value;
		return HBCTL_CONTINUE;
	}
	if ((rv = hbctl_duration(h, "--for", value, &p->for_ms)) !=
	    HBCTL_CONTINUE) {
		return rv;
	}
	if (p->for_ms <= 0) {
		return hbctl_usage_error(h, "--for must be longer than 0");
	}
	p->for_given = true;
	return HBCTL_CONTINUE;
}

int
cmd_pause(struct hbctl *h, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "for", required_argument, NULL, OPT_FOR },
		{ "reason", required_argument, NULL, OPT_REASON },
		{ NULL, 0, NULL, 0 },
	};
	Hbmon__V1__PauseRequest req = HBMON__V1__PAUSE_REQUEST__INIT;
	Hbmon__V1__PauseReply *reply = NULL;
	struct pause_args p = { 0, false, "" };
	char when[64], age[64];
	int64_t now;
	int first, rv;

	if ((rv = hbctl_parse(h, argc, argv, opts, on_flag, &p, &first)) !=
	    HBCTL_CONTINUE) {
		return rv;
	}
	if ((rv = hbctl_positional(h, argc, argv, first, 1, 1, "SUBJECT")) !=
	        HBCTL_CONTINUE ||
	    (rv = hbctl_subject(h, argv[first])) != HBCTL_CONTINUE) {
		return rv;
	}
	if (!p.for_given) {
		return hbctl_usage_error(h, "how long? give --for D, e.g. "
		                            "--for 2h");
	}
	now = clock_wall_ms();
	req.subject = argv[first];
	req.until_ms = duration_add(now, p.for_ms); /* --for 100000d: far */
	req.reason = (char *) p.reason;
	if ((rv = hbctl_admin(h, "Pause", &req.base,
	                      (ProtobufCMessage **) &reply)) != HBCTL_EXIT_OK) {
		return rv;
	}
	out_time(when, sizeof(when), reply->until_ms, h->tz_min);
	out_age(age, sizeof(age), now, reply->until_ms);
	if (h->json) {
		char until[RFC3339_MAX] = "";
		tz_format(reply->until_ms, h->tz_min, until, sizeof(until));
		out_json_line(json_pack(
		    "{s:s, s:s, s:I, s:s}", "subject", argv[first],
		    "paused_until", until, "paused_until_ms",
		    (json_int_t) reply->until_ms, "reason", p.reason));
	} else {
		char subject[QUOTE_NAME_SIZE * 2], reason[1024];
		quote_str(subject, sizeof(subject), argv[first]);
		printf("Paused %s until %s (%s)%s%s. No alerts about it until "
		       "then; `hbctl resume %s` ends it sooner.\n",
		       subject, when, age, p.reason[0] ? ": " : "",
		       quote_str(reason, sizeof(reason), p.reason), subject);
	}
	protobuf_c_message_free_unpacked(&reply->base, NULL);
	return HBCTL_EXIT_OK;
}

int
cmd_resume(struct hbctl *h, int argc, char **argv)
{
	Hbmon__V1__ResumeRequest req = HBMON__V1__RESUME_REQUEST__INIT;
	Hbmon__V1__ResumeReply *reply = NULL;
	int first, rv;

	if ((rv = hbctl_parse(h, argc, argv, NULL, NULL, NULL, &first)) !=
	    HBCTL_CONTINUE) {
		return rv;
	}
	if ((rv = hbctl_positional(h, argc, argv, first, 1, 1, "SUBJECT")) !=
	        HBCTL_CONTINUE ||
	    (rv = hbctl_subject(h, argv[first])) != HBCTL_CONTINUE) {
		return rv;
	}
	req.subject = argv[first];
	if ((rv = hbctl_admin(h, "Resume", &req.base,
	                      (ProtobufCMessage **) &reply)) != HBCTL_EXIT_OK) {
		return rv;
	}
	if (h->json) {
		out_json_line(json_pack("{s:s, s:b}", "subject", argv[first],
		                        "paused", 0));
	} else {
		char subject[QUOTE_NAME_SIZE * 2];
		printf("Resumed %s: it is watched again from now.\n",
		       quote_str(subject, sizeof(subject), argv[first]));
	}
	protobuf_c_message_free_unpacked(&reply->base, NULL);
	return HBCTL_EXIT_OK;
}
