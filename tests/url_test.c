/*
 * The form of nng URLs (common/url): what hbmon programs refuse as bad
 * configuration before they create anything.
 */
#include <criterion/criterion.h>
#include <string.h>

#include "common/url.h"
#include "hbmon/error.h"

#define ANY (URL_TCP | URL_TLS | URL_IPC)

Test(url, good_urls_pass)
{
	static const char *const good[] = {
		"tcp://127.0.0.1:7781",
		"tcp://0.0.0.0:1",
		"tcp://:7781",
		"tcp://*:65535",
		"tcp://robots.example.com:7781",
		"tcp://[::1]:7781",
		"tcp://[fe80::1]:7781",
		"tls+tcp://0.0.0.0:7782",
		"ipc:///var/lib/hbmon/admin.sock",
		"ipc://./var/admin.sock",
	};
	char why[512];

	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		why[0] = '\0';
		cr_assert_eq(
		    url_check(good[i], ANY, "listen", why, sizeof(why)),
		    HBMON_OK, "%s: %s", good[i], why);
	}
}

Test(url, bad_urls_say_what_is_wrong)
{
	static const struct {
		const char *url;
		unsigned allowed;
		const char *says;
	} cases[] = {
		{ "tcp://0.0.0.0:abc", ANY,
		  "listen: 'tcp://0.0.0.0:abc': port 'abc' is not a number "
		  "from 1 to 65535" },
		{ "tcp://0.0.0.0:0", ANY, "port '0' is not a number" },
		{ "tcp://0.0.0.0:65536", ANY, "port '65536'" },
		{ "tcp://0.0.0.0:99999999999999999999", ANY,
		  "is not a number" },
		{ "tcp://0.0.0.0:", ANY, "port '' is not a number" },
		{ "tcp://0.0.0.0", ANY, "no :PORT" },
		{ "tcp://0.0.0.0:7781/x", ANY, "nothing may follow the port" },
		{ "tcp://exa mple:7781", ANY, "is not a host name" },
		{ "tcp://[::1:7781", ANY, "in brackets" },
		{ "tcp://[zz]:7781", ANY, "is not an IPv6 address" },
		{ "tcp://[::1]7781", ANY, "no :PORT after the address" },
		{ "ipc://", ANY, "no socket path" },
		{ "udp://0.0.0.0:7781", ANY,
		  "is not a URL this setting takes" },
		{ "0.0.0.0:7781", ANY, "is not a URL this setting takes" },
		{ "", ANY, "is not a URL this setting takes" },
		{ "tcp://127.0.0.1:7781", URL_IPC,
		  "is not a URL this setting takes; give ipc://" },
		{ "ipc:///x", URL_TCP | URL_TLS,
		  "give tcp://127.0.0.1:7781 or "
		  "tls+tcp://" },
		{ "tcp://127.0.0.1:77\n81", ANY, "holds a control character" },
	};
	char why[512];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		why[0] = '\0';
		cr_assert_eq(url_check(cases[i].url, cases[i].allowed, "listen",
		                       why, sizeof(why)),
		             HBMON_EINVAL, "'%s' passed", cases[i].url);
		cr_assert(strstr(why, cases[i].says) != NULL,
		          "'%s': expected \"%s\" in: %s", cases[i].url,
		          cases[i].says, why);
	}
}

Test(url, ipc_paths_must_fit_a_socket_address)
{
	char url[256] = "ipc:///", why[512];

	memset(url + 7, 'a', URL_IPC_PATH_MAX - 1);
	cr_assert_eq(url_check(url, ANY, "admin", why, sizeof(why)), HBMON_OK,
	             "%s", why);
	strcat(url, "a");
	cr_assert_eq(url_check(url, ANY, "admin", why, sizeof(why)),
	             HBMON_EINVAL);
	cr_assert(strstr(why, "at most 107 fit") != NULL, "%s", why);
}
