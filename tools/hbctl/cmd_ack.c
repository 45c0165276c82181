/* hbctl ack ALERT_SEQ: acknowledge an alert, which stops its repeats. */
#include <inttypes.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "common/quote.h"
#include "hbctl.h"

const char cmd_ack_usage[] =
    "usage: hbctl ack ALERT_SEQ [--by NAME] [--json]\n"
    "\n"
    "Acknowledges the alert with seq ALERT_SEQ (see `hbctl alerts`) and so\n"
    "its whole episode: a firing alert is no longer repeated every\n"
    "repeat_interval. A recovery still resolves it as usual.\n"
    "\n"
    "  --by NAME            who acknowledged (default: your user name)\n";

enum { OPT_BY = 1000 };

static int
on_flag(struct hbctl *h, int val, const char *value, void *arg)
{
	(void) h;
	(void) val;
	*(const char **) arg = value;
	return HBCTL_CONTINUE;
}

/* The user's name, for the record of who acknowledged. */
static const char *
user_name(void)
{
	struct passwd *pw = getpwuid(getuid());
	const char *env = getenv("USER");

	if (pw != NULL && pw->pw_name != NULL) {
		return pw->pw_name;
	}
	return env != NULL ? env : "hbctl";
}

int
cmd_ack(struct hbctl *h, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "by", required_argument, NULL, OPT_BY },
		{ NULL, 0, NULL, 0 },
	};
	Hbmon__V1__AckRequest req = HBMON__V1__ACK_REQUEST__INIT;
	Hbmon__V1__AckReply *reply = NULL;
	const char *by = NULL;
	uint64_t seq;
	int first, rv;

	if ((rv = hbctl_parse(h, argc, argv, opts, on_flag, &by, &first)) !=
	    HBCTL_CONTINUE) {
		return rv;
	}
	if ((rv = hbctl_positional(h, argc, argv, first, 1, 1, "ALERT_SEQ")) !=
	        HBCTL_CONTINUE ||
	    (rv = hbctl_number(h, "ALERT_SEQ", argv[first], 1, INT64_MAX,
	                       &seq)) != HBCTL_CONTINUE) {
		return rv;
	}
	req.seq = seq;
	req.by = (char *) (by != NULL ? by : user_name());
	if ((rv = hbctl_admin(h, "Ack", &req.base,
	                      (ProtobufCMessage **) &reply)) != HBCTL_EXIT_OK) {
		return rv;
	}
	if (h->json) {
		out_json_line(json_pack("{s:I, s:s}", "acked", (json_int_t) seq,
		                        "by", req.by));
	} else {
		char by_shown[QUOTE_NAME_SIZE];
		printf("Acknowledged alert %" PRIu64 " (by %s): its episode "
		       "is not repeated any more.\n",
		       seq, quote_str(by_shown, sizeof(by_shown), req.by));
	}
	protobuf_c_message_free_unpacked(&reply->base, NULL);
	return HBCTL_EXIT_OK;
}
