/* The listener self-check; see selfcheck.h. */
#include "server/selfcheck.h"

#include <assert.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/clock.h"
#include "common/log.h"
#include "common/tlsconf.h"
#include "hbmon/error.h"
#include "server/engine.h"
#include "server/spwire.h"

/* A listener that cannot be replaced is logged again this often. */
#define DOWN_LOG_EVERY_MS 60000

/* One listener looked after. Touched by the thread only. */
struct watched {
	struct listener *l;
	int health_id;
	uint32_t replaced;      /* times since start */
	bool down;              /* the last replacement failed */
	int64_t down_logged_ms; /* when that was last logged */
};

struct selfcheck {
	struct selfcheck_options opts;
	struct watched watched[SELFCHECK_LISTENERS_MAX];
	nng_aio *aio; /* the thread's, for every step of a check */
	pthread_t thread;
	pthread_mutex_t lock; /* guards the sleep */
	pthread_cond_t wake;
	atomic_bool stop;
};

/* LISTENER_RESTARTED, raised on the recorder thread. */
struct restart_job {
	struct recorder_job job; /* first: the job is the allocation */
	char listener[32];
	char url[512];
	char why[160];
};

static int
restart_exec(struct recorder *rec, struct recorder_job *job)
{
	struct restart_job *j = (struct restart_job *) job;
	int64_t now, wall;

	recorder_clock(rec, &now, &wall);
	return engine_listener_restarted(recorder_engine(rec), j->listener,
	                                 j->url, j->why, wall);
}

static void
restart_done(struct recorder_job *job)
{
	free(job);
}

static void
raise_restarted(struct selfcheck *sc, const struct watched *w, const char *why)
{
	struct restart_job *j = calloc(1, sizeof(*j));

	static_assert(offsetof(struct restart_job, job) == 0,
	              "a restart job is its recorder job");
	if (j == NULL) {
		log_error("cannot raise LISTENER_RESTARTED: out of memory",
		          "listener=%s", listener_name(w->l));
		return;
	}
	snprintf(j->listener, sizeof(j->listener), "%s", listener_name(w->l));
	snprintf(j->url, sizeof(j->url), "%s", listener_url(w->l));
	snprintf(j->why, sizeof(j->why), "%s", why);
	j->job.exec = restart_exec;
	j->job.done = restart_done;
	if (recorder_submit(sc->opts.recorder, &j->job) != HBMON_OK) {
		free(j); /* stopping: nobody would hear of it */
	}
}

/*
 * The URL to dial a listener at: its own, but a wildcard host (tcp://:P,
 * 0.0.0.0, [::]) as the loopback address.
 */
static void
dial_url(const char *url, char *out, size_t out_len)
{
	const char *host = strstr(url, "://");
	const char *port;
	size_t host_len;
	int scheme_len;

	snprintf(out, out_len, "%s", url);
	if (host == NULL || strncmp(url, "ipc://", 6) == 0) {
		return;
	}
	host += 3;
	if ((port = strrchr(host, ':')) == NULL) {
		return;
	}
	host_len = (size_t) (port - host);
	scheme_len = (int) (host - url);
	if (host_len == 0 ||
	    (host_len == 7 && memcmp(host, "0.0.0.0", 7) == 0)) {
		snprintf(out, out_len, "%.*s127.0.0.1%s", scheme_len, url,
		         port);
	} else if (host_len == 4 && memcmp(host, "[::]", 4) == 0) {
		snprintf(out, out_len, "%.*s[::1]%s", scheme_len, url, port);
	}
}

/* Milliseconds left until until, at least 1 (nng: 0 would mean none). */
static nng_duration
left_ms(int64_t until)
{
	int64_t left = until - clock_mono_ms();

	return left > 0 ? (nng_duration) left : 1;
}

/*
 * Sends (or receives) all of buf[0..len) on s before until. Returns 0 or
 * the nng error.
 */
static int
xfer(struct selfcheck *sc, nng_stream *s, bool sending, uint8_t *buf,
     size_t len, int64_t until)
{
	size_t done = 0;

	while (done < len) {
		nng_iov iov = { .iov_buf = buf + done, .iov_len = len - done };
		int rv;

		if (atomic_load(&sc->stop)) {
			return NNG_ECANCELED;
		}
		nng_aio_set_iov(sc->aio, 1, &iov);
		nng_aio_set_timeout(sc->aio, left_ms(until));
		if (sending) {
			nng_stream_send(s, sc->aio);
		} else {
			nng_stream_recv(s, sc->aio);
		}
		nng_aio_wait(sc->aio);
		if ((rv = nng_aio_result(sc->aio)) != 0) {
			return rv;
		}
		done += nng_aio_count(sc->aio);
	}
	return 0;
}

/*
 * Dials l and completes the SP handshake with it as its peer would.
 * Returns true when it answered; otherwise what failed, in a few words.
 */
static bool
probe(struct selfcheck *sc, struct listener *l, char *what, size_t what_len)
{
	bool rep = listener_role(l) == LISTENER_REP;
	int64_t until = clock_mono_ms() + SELFCHECK_DEADLINE_MS;
	nng_stream_dialer *d = NULL;
	nng_stream *s = NULL;
	uint8_t hello[SPWIRE_HELLO_LEN], answer[SPWIRE_HELLO_LEN];
	char url[600];
	nng_sockaddr local;
	uint16_t peer;
	bool ok = false;
	int rv;

	dial_url(listener_url(l), url, sizeof(url));
	if ((rv = nng_stream_dialer_alloc(&d, url)) != 0 ||
	    (tlsconf_is_tls_url(url) &&
	     (rv = nng_stream_dialer_set_ptr(d, NNG_OPT_TLS_CONFIG,
	                                     sc->opts.tls)) != 0)) {
		snprintf(what, what_len, "cannot dial %s: %s", url,
		         nng_strerror(rv));
		goto done;
	}
	nng_aio_set_timeout(sc->aio, left_ms(until));
	nng_stream_dialer_dial(d, sc->aio);
	nng_aio_wait(sc->aio);
	if ((rv = nng_aio_result(sc->aio)) != 0) {
		snprintf(what, what_len, "connect: %s", nng_strerror(rv));
		goto done;
	}
	s = nng_aio_get_output(sc->aio, 0);
	/* Before a byte is sent (a TLS handshake starts with the first):
	 * whatever the listener refuses of this connection is ours. */
	if (nng_stream_get_addr(s, NNG_OPT_LOCADDR, &local) == 0) {
		listener_mark_self(l, &local);
	}
	spwire_hello(rep ? SPWIRE_REQ0 : SPWIRE_SUB0, hello);
	if ((rv = xfer(sc, s, true, hello, sizeof(hello), until)) != 0) {
		snprintf(what, what_len, "handshake, sending: %s",
		         nng_strerror(rv));
		goto done;
	}
	if ((rv = xfer(sc, s, false, answer, sizeof(answer), until)) != 0) {
		snprintf(what, what_len, "handshake, receiving: %s",
		         nng_strerror(rv));
		goto done;
	}
	if (spwire_hello_check(answer, rep ? SPWIRE_REP0 : SPWIRE_PUB0,
	                       &peer) != SPWIRE_HELLO_OK) {
		snprintf(what, what_len,
		         "handshake: the answer is not an SP %s hello",
		         rep ? "REP" : "PUB");
		goto done;
	}
	ok = true;

done:
	/* Closed after a whole handshake: to the listener, a peer that
	 * went away. */
	if (s != NULL) {
		nng_stream_close(s);
		nng_stream_free(s);
	}
	listener_mark_self(l, NULL);
	if (d != NULL) {
		nng_stream_dialer_close(d);
		nng_stream_dialer_free(d);
	}
	return ok;
}

/*
 * Probes w; a listener that failed and accepted nothing meanwhile is
 * deaf. Returns whether it answers (or, accepting, is alive); what: why
 * not.
 */
static bool
answers(struct selfcheck *sc, struct watched *w, char *what, size_t what_len)
{
	uint64_t accepted = listener_accepts(w->l);

	if (probe(sc, w->l, what, what_len)) {
		return true;
	}
	if (listener_accepts(w->l) != accepted) {
		/* Its accept loop works: it refused ours (caps, a client
		 * certificate it requires) or was slow to answer. */
		log_debug("self-check not answered, but the listener accepts "
		          "connections",
		          "listener=%s failed=%s", listener_name(w->l), what);
		return true;
	}
	return false;
}

/*
 * w did not answer (what): replaces it and raises LISTENER_RESTARTED.
 * Says to health whether it answers now.
 */
static void
replace(struct selfcheck *sc, struct watched *w, const char *what)
{
	char why[512], again[160];
	int64_t now;
	bool ok;

	if (listener_rebind(w->l, why, sizeof(why)) != HBMON_OK) {
		now = clock_mono_ms();
		health_listener_checked(sc->opts.health, w->health_id, false,
		                        now);
		if (!w->down || now - w->down_logged_ms >= DOWN_LOG_EVERY_MS) {
			log_error("listener failed its self-check and cannot "
			          "be replaced; nothing listens there until "
			          "it can (tried again every listener_check)",
			          "listener=%s url=%s failed=%s why=%s",
			          listener_name(w->l), listener_url(w->l), what,
			          why);
			w->down_logged_ms = now;
		}
		w->down = true;
		return;
	}
	w->down = false;
	w->replaced++;
	now = clock_mono_ms();
	health_listener_replaced(sc->opts.health, w->health_id, now);
	log_warn("listener failed its self-check; replaced at the same "
	         "address",
	         "listener=%s url=%s failed=%s replaced=%u",
	         listener_name(w->l), listener_url(w->l), what,
	         (unsigned) w->replaced);
	raise_restarted(sc, w, what);
	/* The new one is checked at once (a listener replaced at once is
	 * no time unhealthy): one that does not answer either keeps the
	 * server unhealthy until a later round mends it. */
	ok = answers(sc, w, again, sizeof(again));
	health_listener_checked(sc->opts.health, w->health_id, ok,
	                        clock_mono_ms());
}

static void
check(struct selfcheck *sc, struct watched *w)
{
	char what[160];
	bool ok = answers(sc, w, what, sizeof(what));

	if (atomic_load(&sc->stop)) {
		return; /* cut short: no verdict */
	}
	if (ok) {
		health_listener_checked(sc->opts.health, w->health_id, true,
		                        clock_mono_ms());
	} else {
		replace(sc, w, what);
	}
}

static void *
run(void *arg)
{
	struct selfcheck *sc = arg;
	int64_t due = clock_mono_ms() + sc->opts.interval_ms;

	for (;;) {
		struct timespec until = { .tv_sec = (time_t) (due / 1000),
			                  .tv_nsec =
			                      (long) (due % 1000) * 1000000 };
		int64_t now;

		pthread_mutex_lock(&sc->lock);
		while (!atomic_load(&sc->stop) && clock_mono_ms() < due) {
			pthread_cond_timedwait(&sc->wake, &sc->lock, &until);
		}
		pthread_mutex_unlock(&sc->lock);
		if (atomic_load(&sc->stop)) {
			break;
		}
		for (size_t i = 0; i < sc->opts.n_listeners; i++) {
			check(sc, &sc->watched[i]);
		}
		/* The next round an interval after this one was due; after
		 * a long round (a deadline or two), an interval from now. */
		now = clock_mono_ms();
		due += sc->opts.interval_ms;
		if (due <= now) {
			due = now + sc->opts.interval_ms;
		}
	}
	return NULL;
}

int
selfcheck_start(const struct selfcheck_options *opts, struct selfcheck **out)
{
	struct selfcheck *sc = calloc(1, sizeof(*sc));
	pthread_condattr_t attr;
	int rv;

	if (sc == NULL) {
		return HBMON_ENOMEM;
	}
	assert(opts->interval_ms > 0 &&
	       opts->n_listeners <= SELFCHECK_LISTENERS_MAX);
	sc->opts = *opts;
	for (size_t i = 0; i < opts->n_listeners; i++) {
		sc->watched[i].l = opts->listeners[i];
		rv = health_listener_add(opts->health,
		                         listener_name(opts->listeners[i]),
		                         &sc->watched[i].health_id);
		if (rv != HBMON_OK) {
			free(sc);
			return rv;
		}
	}
	if (nng_aio_alloc(&sc->aio, NULL, NULL) != 0) {
		free(sc);
		return HBMON_ENOMEM;
	}
	atomic_init(&sc->stop, false);
	pthread_mutex_init(&sc->lock, NULL);
	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_cond_init(&sc->wake, &attr);
	pthread_condattr_destroy(&attr);
	if (sc->opts.tls != NULL) {
		nng_tls_config_hold(sc->opts.tls);
	}
	if (pthread_create(&sc->thread, NULL, run, sc) != 0) {
		tlsconf_free(sc->opts.tls);
		pthread_cond_destroy(&sc->wake);
		pthread_mutex_destroy(&sc->lock);
		nng_aio_free(sc->aio);
		free(sc);
		return HBMON_ENOMEM;
	}
	log_info("listener self-check started", "every_ms=%lld listeners=%zu",
	         (long long) opts->interval_ms, opts->n_listeners);
	*out = sc;
	return HBMON_OK;
}

void
selfcheck_stop(struct selfcheck *sc)
{
	if (sc == NULL) {
		return;
	}
	pthread_mutex_lock(&sc->lock);
	atomic_store(&sc->stop, true);
	pthread_cond_signal(&sc->wake);
	pthread_mutex_unlock(&sc->lock);
	/* A step in progress ends now rather than at its deadline. */
	nng_aio_cancel(sc->aio);
	pthread_join(sc->thread, NULL);
	nng_aio_free(sc->aio);
	tlsconf_free(sc->opts.tls);
	pthread_cond_destroy(&sc->wake);
	pthread_mutex_destroy(&sc->lock);
	free(sc);
}
