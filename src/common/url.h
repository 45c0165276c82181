/*
 * Checking the nng URLs hbmon programs are configured with, before they
 * create anything: a typo such as "tcp://0.0.0.0:abc" is bad configuration
 * (exit status 2) found at start-up, not a listener that fails after the
 * database was opened (SPEC §6). Only the form is checked; whether a host
 * resolves or a port is free is for the listener or dialer to say.
 */
#ifndef HBMON_COMMON_URL_H
#define HBMON_COMMON_URL_H

#include <stddef.h>

/* The schemes a setting accepts (bits, or'ed together). */
enum url_scheme {
	URL_TCP = 1 << 0, /* tcp://HOST:PORT */
	URL_TLS = 1 << 1, /* tls+tcp://HOST:PORT */
	URL_IPC = 1 << 2, /* ipc://PATH */
	/* Not a scheme: the URL is listened on, so PORT may also be 0 (the
	 * system chooses; hbmon-server's ready line says which). */
	URL_LISTEN = 1 << 3,
};

/* The longest ipc:// path: sun_path holds 108 bytes with its NUL. */
#define URL_IPC_PATH_MAX 107

/*
 * Checks url against the schemes in allowed. tcp:// and tls+tcp:// need
 * HOST:PORT with PORT a number 1..65535 (0..65535 with URL_LISTEN in
 * allowed) and HOST a name, an IPv4 address,
 * [an IPv6 address], "*" or empty (every interface), and nothing after
 * the port. ipc:// needs a path of 1..URL_IPC_PATH_MAX bytes.
 * key: how the setting is named in why ("listen", "--admin").
 * why: on failure one sentence that quotes the URL and says what is
 * wrong and what would do, e.g. "listen: 'tcp://0.0.0.0:abc': port 'abc'
 * is not a number from 1 to 65535 (e.g. tcp://0.0.0.0:7781)".
 * Returns HBMON_OK or HBMON_EINVAL. No allocation; thread-safe.
 */
int url_check(const char *url, unsigned allowed, const char *key, char *why,
              size_t why_len);

#endif
