/* The form of nng URLs: scheme, HOST:PORT or an ipc path. */
#include "common/url.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "hbmon/error.h"

/* The schemes and how a setting's allowed list is spelled in errors. */
static const struct {
	const char *prefix;
	unsigned bit;
	const char *example;
} schemes[] = {
	{ "tcp://", URL_TCP, "tcp://127.0.0.1:7781" },
	{ "tls+tcp://", URL_TLS, "tls+tcp://0.0.0.0:7782" },
	{ "ipc://", URL_IPC, "ipc:///var/lib/hbmon/robots.sock" },
};

#define N_SCHEMES (sizeof(schemes) / sizeof(schemes[0]))

static void
list_allowed(unsigned allowed, char *buf, size_t len)
{
	size_t used = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < N_SCHEMES; i++) {
		if ((allowed & schemes[i].bit) != 0 && used < len) {
			int n = snprintf(buf + used, len - used, "%s%s",
			                 used > 0 ? " or " : "",
			                 schemes[i].example);
			used += n > 0 ? (size_t) n : 0;
		}
	}
}

static bool
host_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || c == '.' || c == '-' || c == '_';
}

/* HOST:PORT after the scheme; why gets the reason on failure. */
static bool
check_host_port(const char *rest, const char *example, bool listen, char *why,
                size_t why_len)
{
	const char *colon, *p;
	unsigned long port = 0;

	if (rest[0] == '[') {
		const char *close = strchr(rest, ']');
		if (close == NULL || close == rest + 1) {
			snprintf(why, why_len,
			         "an IPv6 address is written in "
			         "brackets, e.g. [::1]:7781");
			return false;
		}
		for (p = rest + 1; p < close; p++) {
			if (strchr("0123456789abcdefABCDEF:.", *p) == NULL) {
				snprintf(why, why_len,
				         "'%.*s' is not an IPv6 address",
				         (int) (close - rest - 1), rest + 1);
				return false;
			}
		}
		colon = close + 1;
		if (*colon != ':') {
			snprintf(why, why_len, "no :PORT after the address");
			return false;
		}
	} else {
		if ((colon = strrchr(rest, ':')) == NULL) {
			snprintf(why, why_len, "no :PORT (e.g. %s)", example);
			return false;
		}
		if (!(colon == rest + 1 && rest[0] == '*')) {
			for (p = rest; p < colon; p++) {
				if (!host_char(*p)) {
					snprintf(why, why_len,
					         "'%.*s' is not a host name or "
					         "address",
					         (int) (colon - rest), rest);
					return false;
				}
			}
		}
	}
	for (p = colon + 1; *p >= '0' && *p <= '9' && port <= 65535; p++) {
		port = port * 10 + (unsigned long) (*p - '0');
	}
	if (p == colon + 1 || *p != '\0' || port < (listen ? 0u : 1u) ||
	    port > 65535) {
		if (strchr(colon + 1, '/') != NULL) {
			snprintf(why, why_len,
			         "nothing may follow the port (e.g. %s)",
			         example);
		} else {
			snprintf(why, why_len,
			         "port '%s' is not a number from %d to 65535 "
			         "(e.g. %s)",
			         colon + 1, listen ? 0 : 1, example);
		}
		return false;
	}
	return true;
}

int
url_check(const char *url, unsigned allowed, const char *key, char *why,
          size_t why_len)
{
	char reason[256], want[256];

	for (const char *p = url; *p != '\0'; p++) {
		if ((unsigned char) *p < 0x20 || *p == 0x7f) {
			snprintf(why, why_len,
			         "%s: the URL holds a control character", key);
			return HBMON_EINVAL;
		}
	}
	for (size_t i = 0; i < N_SCHEMES; i++) {
		size_t plen = strlen(schemes[i].prefix);
		const char *rest = url + plen;

		if (strncmp(url, schemes[i].prefix, plen) != 0) {
			continue;
		}
		if ((allowed & schemes[i].bit) == 0) {
			break;
		}
		if (schemes[i].bit == URL_IPC) {
			size_t len = strlen(rest);
			if (len == 0) {
				snprintf(reason, sizeof(reason),
				         "no socket path (e.g. %s)",
				         schemes[i].example);
			} else if (len > URL_IPC_PATH_MAX) {
				snprintf(reason, sizeof(reason),
				         "the socket path is %zu bytes long, "
				         "at most %d fit in a socket address",
				         len, URL_IPC_PATH_MAX);
			} else {
				return HBMON_OK;
			}
		} else if (check_host_port(rest, schemes[i].example,
		                           (allowed & URL_LISTEN) != 0, reason,
		                           sizeof(reason))) {
			return HBMON_OK;
		}
		snprintf(why, why_len, "%s: '%s': %s", key, url, reason);
		return HBMON_EINVAL;
	}
	list_allowed(allowed, want, sizeof(want));
	snprintf(why, why_len,
	         "%s: '%s' is not a URL this setting takes; give %s", key, url,
	         want);
	return HBMON_EINVAL;
}
