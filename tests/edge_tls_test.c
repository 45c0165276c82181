/*
 * edge_tls_test: hbmon-server's tls+tcp:// listeners with certificates
 * made at test time by openssl (tests/support/tls_certs.sh): the right
 * CA, the wrong CA, expired certificates, client certificates required,
 * optional or not presented, and configurations that cannot work
 * refused at start (exit 2) with the reason. Clients: the test's
 * rpc_client (what hbctl and hbmon-notify use), hbctl itself, nngcat
 * and libhbmon-client.
 */
#include <criterion/criterion.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/rpc_status.h"
#include "harness.h"
#include "hbmon/client.h"
#include "hbmon/error.h"
#include "hbmon/v1/monitor.pb-c.h"

#define SECRET       "hbs_edge-tls-robot-secret"
#define ADMIN_SECRET "hbs_edge-tls-admin-secret"

static struct harness_server srv;
static char certs[600], admin_secret[700];

static void
stop(void)
{
	harness_server_fini(&srv);
}

TestSuite(tls, .fini = stop, .timeout = 120);

/* A certificate file's path in the test's certificate directory; the
 * same name always gives the same, lasting string. */
static const char *
cert(const char *name)
{
	static char names[32][64], paths[32][700];
	static int n;

	for (int i = 0; i < n; i++) {
		if (strcmp(names[i], name) == 0) {
			return paths[i];
		}
	}
	cr_assert_lt(n, 32);
	snprintf(names[n], sizeof(names[n]), "%s", name);
	snprintf(paths[n], sizeof(paths[n]), "%s/%s", certs, name);
	return paths[n++];
}

static void
prepare(void)
{

	harness_server_init(&srv);
	harness_robot_add(&srv, "R1", SECRET);
	snprintf(certs, sizeof(certs), "%s/certs", srv.dir);
	cr_assert_eq(mkdir(certs, 0700), 0);
	harness_tls_certs(certs);
	snprintf(admin_secret, sizeof(admin_secret), "%s/admin.secret",
	         srv.dir);
	harness_write_file(admin_secret, ADMIN_SECRET "\n", 0600);
	snprintf(srv.listen, sizeof(srv.listen), "tls+tcp://127.0.0.1:0");
}

/*
 * Starts the server with robots on tls+tcp, admin_tcp on tls+tcp,
 * server certificate server_cert (and its key), verify_peer, and the CA
 * of client certificates.
 */
static void
start(const char *server_cert, const char *server_key, const char *verify)
{
	const char *args[] = { "--admin-tcp",
		               "tls+tcp://127.0.0.1:0",
		               "--admin-secret-file",
		               admin_secret,
		               "--tls-cert-file",
		               cert(server_cert),
		               "--tls-key-file",
		               cert(server_key),
		               "--tls-ca-file",
		               cert("ca.pem"),
		               "--tls-verify-peer",
		               verify,
		               NULL };

	srv.tls.ca_file = cert("ca.pem");
	if (strcmp(verify, "required") == 0) {
		srv.tls.cert_file = cert("client.pem");
		srv.tls.key_file = cert("client.key");
	}
	cr_assert(harness_server_start(&srv, args), "server did not start: %s",
	          harness_server_log(&srv));
}

/* Opens an rpc_client to the robot listener with these files; returns
 * what rpc_client_open returned (the client closed). */
static int
robot_open(const struct tlsconf_files *files, char *why, size_t why_len)
{
	struct rpc_client_options o = { .url = srv.listen,
		                        .robot_id = "R1",
		                        .key = SECRET,
		                        .key_len = strlen(SECRET),
		                        .timeout_ms = 3000,
		                        .tls = *files };
	struct rpc_client *c = NULL;
	int rv = rpc_client_open(&o, &c, why, why_len);

	rpc_client_close(c);
	return rv;
}

/* A heartbeat over the robot listener with these files: the code. */
static int
report(const struct tlsconf_files *files)
{
	return harness_report_robot(
	    srv.listen, files, "R1", SECRET,
	    HBMON__V1__HEALTH_STATUS__HEALTH_STATUS_HEALTHY);
}

/* hbctl status over admin_tcp with extra flags; returns the exit code. */
static int
hbctl_status(const char *const *flags, char **err)
{
	const char *argv[24];
	char *out = NULL;
	int n = 0, st;

	argv[n++] = harness_bin("tools/hbctl/hbctl");
	argv[n++] = "--admin";
	argv[n++] = srv.admin_tcp;
	argv[n++] = "--admin-secret-file";
	argv[n++] = admin_secret;
	for (int i = 0; flags[i] != NULL; i++) {
		argv[n++] = flags[i];
	}
	argv[n++] = "status";
	argv[n] = NULL;
	st = harness_run(argv, NULL, &out, err, 20000);
	free(out);
	cr_assert(WIFEXITED(st), "hbctl: %d", st);
	return WEXITSTATUS(st);
}

Test(tls, the_right_ca_is_served_and_the_wrong_one_refused)
{
	struct tlsconf_files right = { .ca_file = NULL }, wrong = { 0 };
	hbmon_robot_state r = { HBMON_HEALTHY, 0, 0 };
	hbmon_client *c = NULL;
	hbmon_result res;
	char why[512], *err = NULL;

	prepare();
	start("server.pem", "server.key", "none");
	right.ca_file = cert("ca.pem");
	wrong.ca_file = cert("ca2.pem");

	/* The right CA: robots, hbctl and libhbmon-client are served. */
	cr_assert_eq(report(&right), RPC_OK);
	cr_assert_eq(hbctl_status((const char *[]){ "--tls-ca-file",
	                                            cert("ca.pem"), NULL },
	                          &err),
	             0, "%s", err);
	free(err);
	cr_assert_eq(hbmon_client_open(&c, srv.listen, "R1", SECRET, 0),
	             HBMON_OK);
	cr_assert_eq(hbmon_client_set_tls(c, cert("ca.pem"), NULL, NULL),
	             HBMON_OK);
	cr_assert_eq(hbmon_report_robot(c, &r, &res), HBMON_OK, "%s",
	             res.message);
	hbmon_client_close(c);

	/* The wrong CA: the client refuses the server, and says so. */
	cr_assert_eq(robot_open(&wrong, why, sizeof(why)), HBMON_EAUTH, "%s",
	             why);
	cr_assert(strstr(why, "TLS CA file") != NULL, "%s", why);
	cr_assert_eq(hbctl_status((const char *[]){ "--tls-ca-file",
	                                            cert("ca2.pem"), NULL },
	                          &err),
	             3);
	cr_assert(strstr(err, "--tls-ca-file") != NULL, "%s", err);
	free(err);
	/* No CA at all: refused before anything is sent. */
	cr_assert_eq(hbctl_status((const char *[]){ NULL }, &err), 2);
	cr_assert(strstr(err, "needs the CA that signed the server's "
	                      "certificate") != NULL,
	          "%s", err);
	free(err);
	/* And the listener keeps serving. */
	cr_assert_eq(report(&right), RPC_OK);
	cr_assert(harness_log_wait(&srv, "TLS handshake failed", 5000),
	          "the failed handshakes were not logged");
}

Test(tls, an_expired_server_certificate_is_said_at_start_and_refused)
{
	struct tlsconf_files right = { .ca_file = NULL };
	char why[512];

	prepare();
	start("expired.pem", "expired.key", "none");
	right.ca_file = cert("ca.pem");
	/* The server runs (a dead monitor is worse) and says why robots
	 * will not get in. */
	cr_assert(harness_log_count(&srv, "level=error msg=\"TLS certificate "
	                                  "not valid now\"") > 0);
	cr_assert(harness_log_count(&srv, "expired on") > 0);
	cr_assert_eq(robot_open(&right, why, sizeof(why)), HBMON_EAUTH, "%s",
	             why);
}

Test(tls, a_required_client_certificate)
{
	struct tlsconf_files none = { 0 }, good = { 0 }, other = { 0 },
	                     expired = { 0 };
	hbmon_robot_state r = { HBMON_HEALTHY, 0, 0 };
	hbmon_client *c = NULL;
	hbmon_result res;
	char why[512], *err = NULL;

	prepare();
	start("server.pem", "server.key", "required");
	none.ca_file = good.ca_file = other.ca_file = expired.ca_file =
	    cert("ca.pem");
	good.cert_file = cert("client.pem");
	good.key_file = cert("client.key");
	other.cert_file = cert("client2.pem");
	other.key_file = cert("client2.key");
	expired.cert_file = cert("client-expired.pem");
	expired.key_file = cert("client-expired.key");

	cr_assert_eq(report(&good), RPC_OK);
	/* Without one, with one of another CA, or an expired one: the
	 * handshake fails. */
	cr_assert_neq(robot_open(&none, why, sizeof(why)), HBMON_OK);
	cr_assert_neq(robot_open(&other, why, sizeof(why)), HBMON_OK);
	cr_assert_neq(robot_open(&expired, why, sizeof(why)), HBMON_OK);
	/* hbctl with and without its certificate. */
	cr_assert_eq(
	    hbctl_status((const char *[]){ "--tls-ca-file", cert("ca.pem"),
	                                   "--tls-cert-file",
	                                   cert("client.pem"), "--tls-key-file",
	                                   cert("client.key"), NULL },
	                 &err),
	    0, "%s", err);
	free(err);
	cr_assert_eq(hbctl_status((const char *[]){ "--tls-ca-file",
	                                            cert("ca.pem"), NULL },
	                          &err),
	             3);
	free(err);
	/* A certificate without its key is refused by hbctl itself. */
	cr_assert_eq(
	    hbctl_status((const char *[]){ "--tls-ca-file", cert("ca.pem"),
	                                   "--tls-cert-file",
	                                   cert("client.pem"), NULL },
	                 &err),
	    2);
	cr_assert(strstr(err, "needs both its file and its key") != NULL, "%s",
	          err);
	free(err);
	/* libhbmon-client, certificate and key in one file. */
	cr_assert_eq(hbmon_client_open(&c, srv.listen, "R1", SECRET, 0),
	             HBMON_OK);
	cr_assert_eq(hbmon_client_set_tls(c, cert("ca.pem"),
	                                  cert("client.both.pem"), NULL),
	             HBMON_OK);
	cr_assert_eq(hbmon_report_robot(c, &r, &res), HBMON_OK, "%s",
	             res.message);
	hbmon_client_close(c);
	cr_assert_eq(hbmon_client_open(&c, srv.listen, "R1", SECRET, 0),
	             HBMON_OK);
	hbmon_client_set_timeout(c, 3000);
	cr_assert_eq(hbmon_client_set_tls(c, cert("ca.pem"), NULL, NULL),
	             HBMON_OK);
	cr_assert_neq(hbmon_report_robot(c, &r, &res), HBMON_OK);
	hbmon_client_close(c);
	/* Still serving. */
	cr_assert_eq(report(&good), RPC_OK);
}

Test(tls, an_optional_client_certificate)
{
	struct tlsconf_files none = { 0 }, good = { 0 };

	prepare();
	start("server.pem", "server.key", "optional");
	none.ca_file = good.ca_file = cert("ca.pem");
	good.cert_file = cert("client.pem");
	good.key_file = cert("client.key");
	cr_assert_eq(report(&none), RPC_OK);
	cr_assert_eq(report(&good), RPC_OK);
}

/* Runs hbmon-server with args and expects exit status 2 with why. */
static void
refused_at_start(const char *const *args, const char *why)
{
	const char *argv[32];
	char *err = NULL;
	int n = 0, st;

	argv[n++] = harness_bin("src/server/hbmon-server");
	argv[n++] = "--data-dir";
	argv[n++] = srv.dir;
	for (int i = 0; args[i] != NULL; i++) {
		argv[n++] = args[i];
	}
	argv[n] = NULL;
	st = harness_run(argv, NULL, NULL, &err, 20000);
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 2, "status %d: %s", st,
	          err);
	cr_assert(strstr(err, why) != NULL, "'%s' not in: %s", why, err);
	free(err);
}

Test(tls, settings_that_cannot_work_stop_the_start)
{
	prepare();
	refused_at_start(
	    (const char *[]){ "--listen", "tls+tcp://127.0.0.1:0", NULL },
	    "listen is tls+tcp://127.0.0.1:0, but a tls+tcp:// "
	    "listener needs tls_cert_file and tls_key_file");
	refused_at_start((const char *[]){ "--publish", "tls+tcp://127.0.0.1:0",
	                                   "--tls-cert-file",
	                                   cert("server.pem"), NULL },
	                 "publish is tls+tcp://127.0.0.1:0, but a tls+tcp:// "
	                 "listener needs tls_cert_file and tls_key_file");
	refused_at_start(
	    (const char *[]){ "--tls-verify-peer", "required", NULL },
	    "tls_verify_peer = required needs tls_ca_file");
	refused_at_start((const char *[]){ "--listen", "tls+tcp://127.0.0.1:0",
	                                   "--tls-cert-file",
	                                   cert("server.pem"), "--tls-key-file",
	                                   cert("client.key"), NULL },
	                 "is not the key of the certificate in tls_cert_file");
	refused_at_start(
	    (const char *[]){ "--listen", "tls+tcp://127.0.0.1:0",
	                      "--tls-cert-file", "/nonexistent/server.pem",
	                      "--tls-key-file", cert("server.key"), NULL },
	    "tls_cert_file /nonexistent/server.pem: No such file");
	refused_at_start((const char *[]){ "--listen", "tls+tcp://127.0.0.1:0",
	                                   "--tls-cert-file",
	                                   cert("server.key"), "--tls-key-file",
	                                   cert("server.key"), NULL },
	                 "not a certificate");
	refused_at_start(
	    (const char *[]){ "--tls-verify-peer", "sometimes", NULL },
	    "tls-verify-peer");
}
