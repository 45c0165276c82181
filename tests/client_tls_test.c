/*
 * libhbmon-client over tls+tcp://: an in-process nng REP listener with a
 * self-signed certificate (generated once with openssl for this test,
 * valid until 2126, for CN/SAN localhost and 127.0.0.1), answering like
 * the server does.
 */
#include <criterion/criterion.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <nng/nng.h>
#include <nng/protocol/reqrep0/rep.h>

#include "common/envelope.h"
#include "hbmon/client.h"
#include "hbmon/v1/monitor.pb-c.h"

static const char test_cert_key_pem[] =
    "-----BEGIN CERTIFICATE-----\n"
    "MIIBmjCCAUGgAwIBAgIUSXB6vH6By9ilyAzS5WJ1A/TliTEwCgYIKoZIzj0EAwIw\n"
    "FDESMBAGA1UEAwwJbG9jYWxob3N0MCAXDTI2MTEyODAzMjAxNVoYDzIxMjYxMTA0\n"
    "MDMyMDE1WjAUMRIwEAYDVQQDDAlsb2NhbGhvc3QwWTATBgcqhkjOPQIBBggqhkjO\n"
    "PQMBBwNCAAS1X+SPQgWhj+RqY8X6FylolGoiZI3HLc6CjFZNll0FjcOd3BbWvO+9\n"
    "084MIEWaZRNRxSAVdJJWNiN0VuhSYumbo28wbTAdBgNVHQ4EFgQUXUE7RJo7c2RB\n"
    "8K/uMf6iG6djn8QwHwYDVR0jBBgwFoAUXUE7RJo7c2RB8K/uMf6iG6djn8QwDwYD\n"
    "VR0TAQH/BAUwAwEB/zAaBgNVHREEEzARgglsb2NhbGhvc3SHBH8AAAEwCgYIKoZI\n"
    "zj0EAwIDRwAwRAIgFOyTkQy1Ww9ZO82JYSXXfgsq3ejHotHWCpP1wZJJUaECIA+1\n"
    "EH495g5HyB5RU8/hc3rJuWmHKiKTAhDqp3s0ooBG\n"
    "-----END CERTIFICATE-----\n"
    "-----BEGIN PRIVATE KEY-----\n"
    "MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQge7VCEa7ghIoUu3Ut\n"
    "/VWlFXyxyEz0hRFbVkJxpem0i2KhRANCAAS1X+SPQgWhj+RqY8X6FylolGoiZI3H\n"
    "Lc6CjFZNll0FjcOd3BbWvO+9084MIEWaZRNRxSAVdJJWNiN0VuhSYumb\n"
    "-----END PRIVATE KEY-----\n";

static char dir[64];
static char pem_path[128];
static char url[64];
static nng_socket sock;
static pthread_t thread;
static atomic_bool stop;

static void *
serve(void *arg)
{
	(void) arg;
	while (!atomic_load(&stop)) {
		Hbmon__V1__ReportResult res = HBMON__V1__REPORT_RESULT__INIT;
		Hbmon__V1__RpcRequest *req;
		nng_msg *msg;
		uint8_t *buf;
		size_t len;

		if (nng_recvmsg(sock, &msg, 0) != 0) {
			continue;
		}
		if (env_request_unpack(nng_msg_body(msg), nng_msg_len(msg),
		                       &req, NULL, 0) != HBMON_OK) {
			nng_msg_free(msg);
			continue;
		}
		res.subject = req->robot_id;
		if (env_response_pack(0, "", &res.base, &buf, &len) ==
		    HBMON_OK) {
			nng_msg_clear(msg);
			nng_msg_append(msg, buf, len);
			free(buf);
			if (nng_sendmsg(sock, msg, 0) == 0) {
				msg = NULL;
			}
		}
		hbmon__v1__rpc_request__free_unpacked(req, NULL);
		if (msg != NULL) {
			nng_msg_free(msg);
		}
	}
	return NULL;
}

static void
setup(void)
{
	nng_listener l;
	FILE *f;
	int port;

	snprintf(dir, sizeof(dir), "/tmp/hbmon-tls-XXXXXX");
	cr_assert_not_null(mkdtemp(dir));
	snprintf(pem_path, sizeof(pem_path), "%s/server.pem", dir);
	f = fopen(pem_path, "w");
	cr_assert_not_null(f);
	fputs(test_cert_key_pem, f);
	fclose(f);

	cr_assert_eq(nng_rep0_open(&sock), 0);
	nng_socket_set_ms(sock, NNG_OPT_RECVTIMEO, 50);
	cr_assert_eq(nng_listener_create(&l, sock, "tls+tcp://127.0.0.1:0"), 0);
	cr_assert_eq(
	    nng_listener_set_string(l, NNG_OPT_TLS_CERT_KEY_FILE, pem_path), 0);
	cr_assert_eq(nng_listener_start(l, 0), 0);
	cr_assert_eq(nng_listener_get_int(l, NNG_OPT_TCP_BOUND_PORT, &port), 0);
	snprintf(url, sizeof(url), "tls+tcp://127.0.0.1:%d", port);
	cr_assert_eq(pthread_create(&thread, NULL, serve, NULL), 0);
}

static void
teardown(void)
{
	atomic_store(&stop, true);
	pthread_join(thread, NULL);
	nng_close(sock);
	unlink(pem_path);
	rmdir(dir);
}

TestSuite(client, .init = setup, .fini = teardown);

Test(client, tls_with_the_servers_ca_reports, .timeout = 30)
{
	hbmon_robot_state r = { HBMON_HEALTHY, 0, 0 };
	hbmon_client *c = NULL;
	hbmon_result res;

	cr_assert_eq(hbmon_client_open(&c, url, "R1", "s", 0), HBMON_OK);
	cr_assert_eq(hbmon_client_set_tls(c, pem_path, NULL, "localhost"),
	             HBMON_OK);
	for (int i = 0; i < 3; i++) {
		cr_assert_eq(hbmon_report_robot(c, &r, &res), HBMON_OK, "%s",
		             res.message);
		cr_assert_str_eq(res.subject, "R1");
	}
	hbmon_client_close(c);
}

Test(client, tls_without_trusting_the_server_is_refused, .timeout = 30)
{
	hbmon_robot_state r = { HBMON_HEALTHY, 0, 0 };
	hbmon_client *c = NULL;
	hbmon_result res;

	cr_assert_eq(hbmon_client_open(&c, url, "R1", "s", 0), HBMON_OK);
	hbmon_client_set_timeout(c, 3000);
	/* No CA: the server's certificate cannot be verified. */
	cr_assert_eq(hbmon_report_robot(c, &r, &res), HBMON_EAUTH, "%s",
	             res.message);
	cr_assert_eq(res.code, HBMON_NO_CODE);
	hbmon_client_close(c);
}

Test(client, tls_settings_check_their_files, .timeout = 30)
{
	hbmon_client *c = NULL;

	cr_assert_eq(hbmon_client_open(&c, url, "R1", "s", 0), HBMON_OK);
	cr_assert_eq(hbmon_client_set_tls(c, NULL, NULL, NULL), HBMON_EINVAL);
	cr_assert_eq(hbmon_client_set_tls(c, "/nonexistent/ca.pem", NULL, NULL),
	             HBMON_EIO);
	hbmon_client_close(c);
}
