/* nng REP echo server, the SPEC §7 baseline. */
#include "echo.h"

#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <nng/nng.h>
#include <nng/protocol/reqrep0/rep.h>

#include "hbmon/error.h"
#include "util.h"

#define VERB "echo-server" /* for messages */

enum echo_state { ECHO_RECV, ECHO_SEND };

struct echo_worker {
	nng_aio *aio;
	nng_ctx ctx;
	enum echo_state state;
};

struct echo_server {
	nng_socket sock;
	bool sock_open;
	struct echo_worker *workers;
	uint32_t n_workers;
};

/* The same transitions and error handling as ingest.c's worker_cb. */
static void
echo_worker_cb(void *arg)
{
	struct echo_worker *w = arg;
	int rv = nng_aio_result(w->aio);

	switch (w->state) {
	case ECHO_RECV:
		if (rv == NNG_ECLOSED) {
			return;
		}
		if (rv != 0) {
			nng_ctx_recv(w->ctx, w->aio);
			return;
		}
		/* The received message is the reply: no copy at all. */
		w->state = ECHO_SEND;
		nng_ctx_send(w->ctx, w->aio);
		return;
	case ECHO_SEND:
		if (rv != 0) {
			nng_msg_free(nng_aio_get_msg(w->aio));
		}
		if (rv == NNG_ECLOSED) {
			return;
		}
		w->state = ECHO_RECV;
		nng_ctx_recv(w->ctx, w->aio);
		return;
	}
}

int
echo_start(const char *url, uint32_t workers, size_t recv_max,
           struct echo_server **out, char *why, size_t why_len)
{
	struct echo_server *echo = calloc(1, sizeof(*echo));
	int rv;

	if (echo == NULL) {
		snprintf(why, why_len, "out of memory for the echo server");
		return HBMON_ENOMEM;
	}
	if ((rv = nng_rep0_open(&echo->sock)) != 0) {
		goto fail;
	}
	echo->sock_open = true;
	nng_socket_set_size(echo->sock, NNG_OPT_RECVMAXSZ, recv_max);
	echo->workers = calloc(workers, sizeof(*echo->workers));
	if (echo->workers == NULL) {
		rv = NNG_ENOMEM;
		goto fail;
	}
	echo->n_workers = workers;
	for (uint32_t i = 0; i < workers; i++) {
		struct echo_worker *w = &echo->workers[i];
		if ((rv = nng_aio_alloc(&w->aio, echo_worker_cb, w)) != 0 ||
		    (rv = nng_ctx_open(&w->ctx, echo->sock)) != 0) {
			goto fail;
		}
	}
	if ((rv = nng_listen(echo->sock, url, NULL, 0)) != 0) {
		goto fail;
	}
	for (uint32_t i = 0; i < workers; i++) {
		echo->workers[i].state = ECHO_RECV;
		nng_ctx_recv(echo->workers[i].ctx, echo->workers[i].aio);
	}
	*out = echo;
	return HBMON_OK;

fail:
	snprintf(why, why_len, "cannot start the echo server on %s: %s", url,
	         nng_strerror(rv));
	echo_stop(echo);
	return rv == NNG_ENOMEM ? HBMON_ENOMEM : HBMON_EIO;
}

void
echo_stop(struct echo_server *echo)
{
	if (echo == NULL) {
		return;
	}
	/* As ingest_close: stop every worker before the socket goes, so no
	 * callback issues new work on a closing socket. */
	for (uint32_t i = 0; echo->workers != NULL && i < echo->n_workers;
	     i++) {
		if (echo->workers[i].aio != NULL) {
			nng_aio_stop(echo->workers[i].aio);
		}
	}
	if (echo->sock_open) {
		nng_close(echo->sock);
	}
	for (uint32_t i = 0; echo->workers != NULL && i < echo->n_workers;
	     i++) {
		if (echo->workers[i].aio != NULL) {
			nng_aio_free(echo->workers[i].aio);
		}
	}
	free(echo->workers);
	free(echo);
}

const char echo_server_summary[] =
    "serve a bare nng REP echo until SIGTERM (ingest's baseline process)";

static const char echo_usage[] =
    "usage: hbmon-bench echo-server --listen URL [--workers N]\n"
    "         [--recv-max BYTES]\n"
    "\n"
    "Sends every request on URL straight back, with a pool of N contexts\n"
    "(default 64) and NNG_OPT_RECVMAXSZ of BYTES (default 1048576), until\n"
    "SIGTERM or SIGINT; then exits 0. `hbmon-bench ingest` runs it as the\n"
    "baseline a separate hbmon-server process is compared with.\n";

int
echo_server_main(int argc, char **argv)
{
	const char *url = NULL;
	uint32_t workers = 64, recv_max = 1048576;
	struct echo_server *echo;
	char why[512];
	sigset_t stop;
	int sig;

	for (int i = 1; i < argc; i++) {
		const char *arg = argv[i];
		bool has_value = i + 1 < argc;
		if (strcmp(arg, "-h") == 0 || strcmp(arg, "--help") == 0) {
			fputs(echo_usage, stdout);
			return 0;
		}
		if (strcmp(arg, "--listen") == 0 && has_value) {
			url = argv[++i];
		} else if (strcmp(arg, "--workers") == 0 && has_value) {
			if (!bench_uint_flag(VERB, arg, argv[++i], 1, 4096,
			                     &workers)) {
				return 2;
			}
		} else if (strcmp(arg, "--recv-max") == 0 && has_value) {
			if (!bench_uint_flag(VERB, arg, argv[++i], 1, 1u << 30,
			                     &recv_max)) {
				return 2;
			}
		} else {
			bench_usage_error(VERB, "unexpected '%s'", arg);
			return 2;
		}
	}
	if (url == NULL) {
		bench_usage_error(VERB, "--listen URL is required");
		return 2;
	}
	/* Blocked before nng starts its threads, so only sigwait sees them. */
	sigemptyset(&stop);
	sigaddset(&stop, SIGTERM);
	sigaddset(&stop, SIGINT);
	pthread_sigmask(SIG_BLOCK, &stop, NULL);
	if (echo_start(url, workers, recv_max, &echo, why, sizeof(why)) !=
	    HBMON_OK) {
		fprintf(stderr, "hbmon-bench echo-server: %s\n", why);
		return 1;
	}
	sigwait(&stop, &sig);
	echo_stop(echo);
	return 0;
}
