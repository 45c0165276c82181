/*
 * hbctl send FILE.json: heartbeats in the documented JSON, sent and
 * signed as a robot would (Monitor.ReportBatch on the robot socket).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/hbjson.h"
#include "common/rpc_status.h"
#include "common/secret.h"
#include "common/sign.h"
#include "common/subject_name.h"
#include "common/url.h"
#include "hbctl.h"
#include "hbmon/error.h"
#include "hbmon/v1/monitor.pb-c.h"

const char cmd_send_usage[] =
    "usage: hbctl --server URL --robot ID --secret-file F send FILE.json "
    "[--json]\n"
    "\n"
    "Sends heartbeats written in the documented JSON (seed document:\n"
    "ROBOT_HEARTBEAT and ACCOUNT_HEARTBEAT objects) to hbmon-server as\n"
    "robot ID, signed with its secret: a way to test a setup, or to report\n"
    "from a script. FILE.json (- for standard input) holds one heartbeat\n"
    "object, an array of them (at most one robot heartbeat), or\n"
    "{\"robot\": {...}, \"accounts\": [{...}, ...]}.\n"
    "\n"
    "  --server URL         hbmon-server's robot socket (default\n"
    "                       $HBMON_SERVER, else " HBCTL_DEFAULT_SERVER ")\n"
    "  --robot ID           the robot to send as (or $HBMON_ROBOT)\n"
    "  --secret-file F      file holding the robot's secret (or\n"
    "                       $HBMON_SECRET; never on the command line)\n"
    "Each heartbeat is judged on its own; exit 1 if any was refused.\n"
    "--json: one result object per heartbeat per line.\n";

/* Longest file accepted: far more heartbeats than one batch should hold. */
#define SEND_MAX (16u << 20)

/* Reads path ("-": stdin) into a malloc'd buffer. */
static int
read_file(const char *path, char **out, size_t *out_len, char *why,
          size_t why_len)
{
	FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
	size_t cap = 65536, len = 0, n;
	char *buf;

	if (f == NULL) {
		snprintf(why, why_len, "cannot read %s: %s", path,
		         strerror(errno));
		return HBCTL_EXIT_USAGE;
	}
	if ((buf = malloc(cap)) == NULL) {
		goto nomem;
	}
	while ((n = fread(buf + len, 1, cap - len, f)) > 0) {
		len += n;
		if (len == cap) {
			char *more;
			if (cap >= SEND_MAX) {
				snprintf(why, why_len,
				         "%s is larger than %u MB; send it in "
				         "parts",
				         path, SEND_MAX >> 20);
				free(buf);
				goto fail;
			}
			if ((more = realloc(buf, 2 * cap)) == NULL) {
				free(buf);
				goto nomem;
			}
			buf = more;
			cap *= 2;
		}
	}
	if (ferror(f)) {
		snprintf(why, why_len, "cannot read %s: %s", path,
		         strerror(errno));
		free(buf);
		goto fail;
	}
	if (f != stdin) {
		fclose(f);
	}
	*out = buf;
	*out_len = len;
	return HBCTL_EXIT_OK;

nomem:
	snprintf(why, why_len, "out of memory reading %s", path);
fail:
	if (f != stdin) {
		fclose(f);
	}
	return HBCTL_EXIT_USAGE;
}

/* Prints one heartbeat's outcome; returns whether it was recorded. */
static bool
print_result(const struct hbctl *h, const Hbmon__V1__ReportResult *r,
             const char *fallback)
{
	const char *subject =
	    r->subject != NULL && r->subject[0] != '\0' ? r->subject : fallback;
	bool ok = r->code == RPC_OK;

	if (h->json) {
		out_json_line(json_pack(
		    "{s:s, s:b, s:i, s:s, s:s, s:b}", "subject", subject,
		    "recorded", ok, "code", r->code, "status",
		    rpc_code_name(r->code), "message",
		    r->message != NULL ? r->message : "",
		    "transition_not_allowed", r->transition_not_allowed));
	} else if (ok) {
		printf("%s: recorded%s%s\n", subject,
		       r->message != NULL && r->message[0] ? "; " : "",
		       r->message != NULL ? r->message : "");
	} else {
		printf("%s: refused (%s): %s\n", subject,
		       rpc_code_name(r->code),
		       r->message != NULL ? r->message : "");
	}
	return ok;
}

int
cmd_send(struct hbctl *h, int argc, char **argv)
{
	const ProtobufCMethodDescriptor *m =
	    protobuf_c_service_descriptor_get_method_by_name(
	        &hbmon__v1__monitor__descriptor, "ReportBatch");
	Hbmon__V1__HeartbeatBatch *batch = NULL;
	Hbmon__V1__BatchReply *reply = NULL;
	struct rpc_client *client = NULL;
	struct rpc_status st;
	char secret[SIGN_SECRET_MAX], why[1024], path[128];
	char *text = NULL;
	size_t len;
	bool all_ok = true;
	int first, rv;

	if ((rv = hbctl_parse(h, argc, argv, NULL, NULL, NULL, &first)) !=
	        HBCTL_CONTINUE ||
	    (rv = hbctl_positional(h, argc, argv, first, 1, 1, "FILE.json")) !=
	        HBCTL_CONTINUE) {
		return rv;
	}
	if (h->robot == NULL || h->robot[0] == '\0') {
		return hbctl_usage_error(h, "which robot? give --robot ID (or "
		                            "HBMON_ROBOT)");
	}
	if (url_check(h->server_url, URL_TCP | URL_TLS | URL_IPC, "--server",
	              why, sizeof(why)) != HBMON_OK) {
		return hbctl_usage_error(h, "%s", why);
	}
	rv = secret_load(h->secret_file, "HBMON_SECRET", secret, sizeof(secret),
	                 why, sizeof(why));
	if (rv == HBMON_ENOENT && h->secret_file == NULL) {
		return hbctl_usage_error(h,
		                         "no secret for robot %s: give "
		                         "--secret-file F or HBMON_SECRET",
		                         h->robot);
	}
	if (rv != HBMON_OK) {
		hbctl_error("%s", why);
		return HBCTL_EXIT_USAGE;
	}
	if ((rv = read_file(argv[first], &text, &len, why, sizeof(why))) !=
	    HBCTL_EXIT_OK) {
		hbctl_error("%s", why);
		goto done;
	}
	if (hbjson_parse_batch(text, len, &batch, why, sizeof(why)) !=
	    HBMON_OK) {
		hbctl_error("%s is not heartbeat JSON as documented: %s",
		            argv[first], why);
		rv = HBCTL_EXIT_USAGE;
		goto done;
	}
	if ((rv = hbctl_open(h, h->server_url, "--server", h->robot, secret,
	                     &client, why, sizeof(why))) != HBCTL_EXIT_OK) {
		hbctl_error("%s", why);
		goto done;
	}
	snprintf(path, sizeof(path), "/%s/%s",
	         hbmon__v1__monitor__descriptor.name, m->name);
	rv = rpc_client_call(client, path, &batch->base, m->output,
	                     (ProtobufCMessage **) &reply, &st);
	if ((rv = hbctl_call_result(h, rv, &st, h->server_url, "--server", why,
	                            sizeof(why))) != HBCTL_EXIT_OK) {
		hbctl_error("%s", why);
		goto done;
	}
	/* Printed below: the server's words and the file's names. */
	if (hbctl_sanitize(&reply->base, h->json) != HBMON_OK ||
	    hbctl_sanitize(&batch->base, h->json) != HBMON_OK) {
		hbctl_error("out of memory");
		rv = HBCTL_EXIT_FAILED;
		goto done;
	}
	if (reply->robot != NULL) {
		all_ok &= print_result(h, reply->robot, h->robot);
	}
	for (size_t i = 0; i < reply->n_accounts; i++) {
		char name[256];
		subject_name_format(
		    name, sizeof(name), h->robot,
		    i < batch->n_accounts ? batch->accounts[i]->account : "?");
		all_ok &= print_result(h, reply->accounts[i], name);
	}
	rv = all_ok ? HBCTL_EXIT_OK : HBCTL_EXIT_FAILED;

done:
	explicit_bzero(secret, sizeof(secret));
	if (reply != NULL) {
		protobuf_c_message_free_unpacked(&reply->base, NULL);
	}
	if (batch != NULL) {
		protobuf_c_message_free_unpacked(&batch->base, NULL);
	}
	rpc_client_close(client);
	free(text);
	return rv;
}
