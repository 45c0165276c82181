/*
 * What the HTTP listener shows of the running server: the body of GET
 * /metrics (metrics.h) and of the status page at GET / (statuspage.h).
 *
 * Each gathers from three places: memory, copied on the recorder thread
 * through recorder_read (subjects by liveness, the robots and accounts
 * shown, paused subjects); the database, through one read-only connection
 * of its own (the outbox and the notifiers' cursors in alert_readers,
 * open alert episodes, pause reasons), so the writer is never waited for;
 * and the server's judgement of itself (health.h).
 *
 * A snapshot is gathered at most once a second and shared by the requests
 * in that second, so a flood of scrapes or page loads costs the recorder
 * one walk over the subjects per second, not one per request. The walk
 * visits every subject (for the counts) but copies only what a page shows:
 * the first VIEWS_ROBOTS_MAX robots by name and at most VIEWS_ACCOUNTS_MAX
 * of their accounts.
 *
 * Thread-safe: callers are served one at a time (one lock), each blocking
 * until its body is ready.
 */
#ifndef HBMON_SERVER_VIEWS_H
#define HBMON_SERVER_VIEWS_H

#include <stdint.h>

#include "common/strbuf.h"
#include "server/health.h"
#include "server/recorder.h"
#include "server/registry.h"

/* What one page shows at most; the rest is counted, and named by hbctl. */
#define VIEWS_ROBOTS_MAX   200
#define VIEWS_ACCOUNTS_MAX 2000
#define VIEWS_ALERTS_MAX   100
#define VIEWS_PAUSED_MAX   100
#define VIEWS_READERS_MAX  64

struct views_options {
	const char *data_dir;  /* the database read beside the writer */
	struct recorder *rec;  /* required */
	struct registry *reg;  /* robots registered and never heard; may be
	                          NULL */
	struct health *health; /* may be NULL */
	int64_t started_ms;    /* wall clock */
	const char *version;
	int refresh_s; /* how often the page reloads itself; 0: 15 s */
};

struct views;

/*
 * Prepares the views (the database is opened on first use). rec, reg and
 * health must outlive them. out: freed with views_close. Returns HBMON_OK
 * or HBMON_ENOMEM.
 */
int views_open(const struct views_options *opts, struct views **out);

/* Frees v and closes its database connection. NULL is fine. */
void views_close(struct views *v);

/*
 * Appends the /metrics exposition (METRICS_CONTENT_TYPE) to out. Returns
 * HBMON_OK, or HBMON_ECLOSED when the recorder is stopping (nothing is
 * appended).
 */
int views_metrics(struct views *v, struct strbuf *out);

/*
 * Appends the status page (STATUSPAGE_CONTENT_TYPE) to out. Returns as
 * views_metrics.
 */
int views_status_page(struct views *v, struct strbuf *out);

#endif
