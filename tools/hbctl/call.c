/*
 * hbctl talking to hbmon-server: opening the admin socket (signed as
 * "@admin" when it is not ipc://), calling Admin methods by name, and
 * turning every failure into a sentence that says what to do.
 */
#include <stdio.h>
#include <string.h>

#include "common/rpc_status.h"
#include "common/secret.h"
#include "common/sign.h"
#include "hbctl.h"
#include "hbmon/error.h"

/* Whether requests to url need the admin secret: anything but a local
 * socket, whose file mode is the owner's proof. */
static bool
needs_secret(const char *url)
{
	return strncmp(url, "ipc://", 6) != 0 &&
	       strncmp(url, "inproc://", 9) != 0;
}

int
hbctl_open(const struct hbctl *h, const char *url, const char *flag,
           const char *robot, const char *key, struct rpc_client **out,
           char *why, size_t why_len)
{
	struct rpc_client_options o = {
		.url = url,
		.robot_id = robot,
		.key = key,
		.key_len = key != NULL ? strlen(key) : 0,
		.timeout_ms = h->timeout_ms,
		.background_dial = false,
		.tls = h->tls,
	};
	char reason[512] = "";
	const char *what = strcmp(flag, "--admin") == 0 ? "admin" : "server";

	switch (rpc_client_open(&o, out, reason, sizeof(reason))) {
	case HBMON_OK:
		return HBCTL_EXIT_OK;
	case HBMON_EPERM:
		snprintf(why, why_len,
		         "permission denied on %s: the %s socket is mode 0600; "
		         "run hbctl as the user hbmon-server runs as",
		         url, what);
		return HBCTL_EXIT_UNREACHABLE;
	case HBMON_EINVAL:
		if (tlsconf_is_tls_url(url)) {
			/* The URL is fine; the TLS files are not. */
			snprintf(why, why_len, "%s", reason);
			return HBCTL_EXIT_USAGE;
		}
		snprintf(why, why_len,
		         "%s; give %s a URL such as ipc:///var/lib/hbmon/%s or "
		         "tcp://127.0.0.1:7781",
		         reason, flag,
		         strcmp(what, "admin") == 0 ? "admin.sock"
		                                    : "robots.sock");
		return HBCTL_EXIT_USAGE;
	case HBMON_ENOMEM:
		snprintf(why, why_len, "out of memory");
		return HBCTL_EXIT_FAILED;
	case HBMON_EAUTH:
		snprintf(why, why_len,
		         "%s (--tls-ca-file, --tls-cert-file, --tls-key-file)",
		         reason);
		return HBCTL_EXIT_UNREACHABLE;
	default:
		snprintf(why, why_len, "%s (%s%s)", reason,
		         h->admin_derived && url == h->admin_url
		             ? "the admin socket in the data dir; "
		               "--data-dir D or --admin URL for another"
		             : flag,
		         h->admin_derived && url == h->admin_url ? " server"
		                                                 : " URL");
		return HBCTL_EXIT_UNREACHABLE;
	}
}

int
hbctl_call_result(const struct hbctl *h, int rv, const struct rpc_status *st,
                  const char *url, const char *flag, char *why, size_t why_len)
{
	bool admin = strcmp(flag, "--admin") == 0;

	(void) h;
	switch (rv) {
	case HBMON_OK:
		break;
	case HBMON_ETIMEDOUT:
		snprintf(
		    why, why_len,
		    "%s; is hbmon-server stopped or overloaded? (--timeout "
		    "D waits longer)",
		    st->message);
		return HBCTL_EXIT_UNREACHABLE;
	default:
		snprintf(why, why_len, "talking to %s failed: %s", url,
		         st->message[0] != '\0' ? st->message
		                                : hbmon_strerror(rv));
		return HBCTL_EXIT_UNREACHABLE;
	}
	switch (st->code) {
	case RPC_OK:
		return HBCTL_EXIT_OK;
	case RPC_NOT_FOUND:
		snprintf(why, why_len, "%s", st->message);
		return HBCTL_EXIT_NOT_FOUND;
	case RPC_UNAUTHENTICATED:
		snprintf(why, why_len, "%s refused the request: %s; %s", url,
		         st->message,
		         admin ? "check --admin-secret-file (the server's "
		                 "admin_secret_file)"
		               : "check --robot, --secret-file or "
		                 "HBMON_SECRET, and this machine's clock");
		return HBCTL_EXIT_UNREACHABLE;
	case RPC_UNAVAILABLE:
		snprintf(why, why_len, "%s", st->message);
		return HBCTL_EXIT_UNREACHABLE;
	case RPC_UNIMPLEMENTED:
		snprintf(why, why_len,
		         "%s does not know this request (%s); is it an older "
		         "hbmon-server?",
		         url, st->message);
		return HBCTL_EXIT_FAILED;
	default:
		snprintf(why, why_len, "%s", st->message);
		return HBCTL_EXIT_FAILED;
	}
}

/* Opens h->admin on first use. */
static int
admin_client(struct hbctl *h, char *why, size_t why_len)
{
	char secret[SIGN_SECRET_MAX];
	char reason[256];
	bool sign = false;
	int rv;

	if (h->admin != NULL) {
		return HBCTL_EXIT_OK;
	}
	if (h->admin_secret_file != NULL || needs_secret(h->admin_url)) {
		rv =
		    secret_load(h->admin_secret_file, "HBMON_ADMIN_SECRET",
		                secret, sizeof(secret), reason, sizeof(reason));
		if (rv == HBMON_ENOENT && h->admin_secret_file == NULL) {
			snprintf(why, why_len,
			         "%s is not a local ipc:// socket, so requests "
			         "are signed with the admin secret: give "
			         "--admin-secret-file F or HBMON_ADMIN_SECRET",
			         h->admin_url);
			return HBCTL_EXIT_USAGE;
		}
		if (rv != HBMON_OK) {
			snprintf(why, why_len, "%s", reason);
			return HBCTL_EXIT_USAGE;
		}
		sign = true;
	}
	rv = hbctl_open(h, h->admin_url, "--admin", sign ? "@admin" : NULL,
	                sign ? secret : NULL, &h->admin, why, why_len);
	explicit_bzero(secret, sizeof(secret));
	return rv;
}

int
hbctl_try_admin(struct hbctl *h, const char *method,
                const ProtobufCMessage *input, ProtobufCMessage **out,
                char *why, size_t why_len)
{
	const ProtobufCMethodDescriptor *m =
	    protobuf_c_service_descriptor_get_method_by_name(
	        &hbmon__v1__admin__descriptor, method);
	struct rpc_status st;
	char path[128];
	int rv;

	*out = NULL;
	if (m == NULL) {
		snprintf(why, why_len, "hbctl bug: no Admin method %s", method);
		return HBCTL_EXIT_FAILED;
	}
	if ((rv = admin_client(h, why, why_len)) != HBCTL_EXIT_OK) {
		return rv;
	}
	snprintf(path, sizeof(path), "/%s/%s",
	         hbmon__v1__admin__descriptor.name, m->name);
	rv = rpc_client_call(h->admin, path, input, m->output, out, &st);
	rv = hbctl_call_result(h, rv, &st, h->admin_url, "--admin", why,
	                       why_len);
	/* Whatever a verb prints of the reply is what robots sent. */
	if (rv == HBCTL_EXIT_OK && *out != NULL &&
	    hbctl_sanitize(*out, h->json) != HBMON_OK) {
		snprintf(why, why_len, "out of memory");
		rv = HBCTL_EXIT_FAILED;
	}
	if (rv != HBCTL_EXIT_OK && *out != NULL) {
		protobuf_c_message_free_unpacked(*out, NULL);
		*out = NULL;
	}
	return rv;
}

int
hbctl_admin(struct hbctl *h, const char *method, const ProtobufCMessage *input,
            ProtobufCMessage **out)
{
	char why[1024];
	int rv = hbctl_try_admin(h, method, input, out, why, sizeof(why));

	if (rv != HBCTL_EXIT_OK) {
		hbctl_error("%s", why);
	}
	return rv;
}

void
hbctl_close(struct hbctl *h)
{
	rpc_client_close(h->admin);
	h->admin = NULL;
}
