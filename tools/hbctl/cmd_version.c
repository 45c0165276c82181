/* hbctl version: this program's version and, if reachable, the server's. */
#include <stdio.h>

#include "common/duration.h"
#include "hbctl.h"

const char cmd_version_usage[] =
    "usage: hbctl version [--json]\n"
    "\n"
    "hbctl's version, and the version, uptime and counts of the server at\n"
    "--admin when it answers. Exits 0 even when the server does not\n"
    "answer (that is said on stderr).\n";

int
cmd_version(struct hbctl *h, int argc, char **argv)
{
	Hbmon__V1__ServerInfoRequest req = HBMON__V1__SERVER_INFO_REQUEST__INIT;
	Hbmon__V1__ServerInfoReply *info = NULL;
	char why[1024], up[32];
	int first, rv;

	if ((rv = hbctl_parse(h, argc, argv, NULL, NULL, NULL, &first)) !=
	        HBCTL_CONTINUE ||
	    (rv = hbctl_positional(h, argc, argv, first, 0, 0, "nothing")) !=
	        HBCTL_CONTINUE) {
		return rv;
	}
	rv = hbctl_try_admin(h, "ServerInfo", &req.base,
	                     (ProtobufCMessage **) &info, why, sizeof(why));
	if (h->json) {
		json_t *server = json_null();
		if (info != NULL) {
			server = json_pack(
			    "{s:s, s:s, s:I, s:I, s:I, s:I, s:I, s:I, s:I}",
			    "version", info->version, "admin", h->admin_url,
			    "uptime_ms", (json_int_t) info->uptime_ms, "robots",
			    (json_int_t) info->robots, "accounts",
			    (json_int_t) info->accounts, "heartbeats",
			    (json_int_t) info->heartbeats, "alerts",
			    (json_int_t) info->alerts, "last_alert_seq",
			    (json_int_t) info->last_alert_seq, "database_bytes",
			    (json_int_t) info->database_bytes);
		}
		out_json_line(json_pack("{s:s, s:o}", "hbctl", HBMON_VERSION,
		                        "server", server));
	} else {
		printf("hbctl %s\n", HBMON_VERSION);
		if (info != NULL) {
			duration_human(info->uptime_ms / 1000 * 1000, up,
			               sizeof(up));
			printf("hbmon-server %s at %s: up %s; robots %u, "
			       "accounts %u, heartbeats kept %llu, alerts "
			       "%llu (last seq %llu), database %.1f MB\n",
			       info->version, h->admin_url, up, info->robots,
			       info->accounts,
			       (unsigned long long) info->heartbeats,
			       (unsigned long long) info->alerts,
			       (unsigned long long) info->last_alert_seq,
			       (double) info->database_bytes / 1e6);
		}
	}
	if (rv != HBCTL_EXIT_OK) {
		hbctl_error("no server version: %s", why);
	}
	if (info != NULL) {
		protobuf_c_message_free_unpacked(&info->base, NULL);
	}
	return HBCTL_EXIT_OK;
}
