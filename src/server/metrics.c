/* Counters, histograms and the Prometheus text format; see metrics.h. */
#include "server/metrics.h"

#include <ctype.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdalign.h>
#include <stdatomic.h>
#include <string.h>

#include "common/rpc_status.h"
#include "common/utf8.h"
#include "common/words.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

/* Upper bounds of the latency buckets, in microseconds: 100 µs .. 10 s,
 * from a heartbeat answered out of memory to a commit behind a slow disk. */
static const int64_t bucket_us[] = {
	100,   250,    500,    1000,   2500,    5000,    10000,   25000,
	50000, 100000, 250000, 500000, 1000000, 2500000, 5000000, 10000000,
};
#define BUCKETS (NELEM(bucket_us) + 1) /* and +Inf */

struct histogram {
	atomic_uint_least64_t bucket[BUCKETS]; /* not cumulative */
	atomic_uint_least64_t sum_us;
};

/* HTTP statuses counted each on its own; any other is "other". */
static const int http_statuses[] = {
	200, 201, 204, 301, 302, 303, 304, 400, 401, 403, 404, 405,
	408, 409, 411, 413, 414, 415, 429, 431, 500, 501, 503, 505,
};
#define STATUSES (NELEM(http_statuses) + 1)

/* What the hot paths count, one copy per shard. */
struct shard {
	alignas(64)
	    atomic_uint_least64_t heartbeats[METRICS_HB_KINDS][METRICS_CODES];
	atomic_uint_least64_t rpc_codes[METRICS_LISTENERS_MAX][METRICS_CODES];
	struct histogram rpc[METRICS_LISTENERS_MAX];
	atomic_uint_least64_t http_codes[METRICS_ROUTES_MAX][STATUSES];
	struct histogram http[METRICS_ROUTES_MAX];
};

static struct shard shards[METRICS_SHARDS];
static atomic_uint next_shard;
static _Thread_local struct shard *this_shard;

/* Once per transaction or per alert: one copy is enough. */
static struct histogram commits;
static atomic_uint_least64_t commits_failed;
#define KINDS_MAX      32
#define SEVERITIES_MAX 4
static atomic_uint_least64_t alerts[KINDS_MAX][SEVERITIES_MAX];

/* Names registered for listeners and routes: written once under the lock,
 * before their count is raised (release); read after it (acquire). */
struct names {
	char name[METRICS_LISTENERS_MAX > METRICS_ROUTES_MAX
	              ? METRICS_LISTENERS_MAX
	              : METRICS_ROUTES_MAX][METRICS_NAME_MAX];
	atomic_int n;
	int max;
};

static pthread_mutex_t names_lock = PTHREAD_MUTEX_INITIALIZER;
static struct names listeners = { .max = METRICS_LISTENERS_MAX };
static struct names routes = { .max = METRICS_ROUTES_MAX };

static struct shard *
shard(void)
{
	if (this_shard == NULL) {
		this_shard = &shards[atomic_fetch_add_explicit(
		                         &next_shard, 1, memory_order_relaxed) %
		                     METRICS_SHARDS];
	}
	return this_shard;
}

static void
add(atomic_uint_least64_t *counter, uint64_t n)
{
	atomic_fetch_add_explicit(counter, n, memory_order_relaxed);
}

static uint64_t
get(const atomic_uint_least64_t *counter)
{
	return atomic_load_explicit(counter, memory_order_relaxed);
}

static int
code_index(int code)
{
	return code >= 0 && code < METRICS_CODES ? code : RPC_UNKNOWN;
}

static void
observe(struct histogram *h, int64_t elapsed_us)
{
	size_t i = 0;

	if (elapsed_us < 0) {
		elapsed_us = 0;
	}
	while (i < NELEM(bucket_us) && elapsed_us > bucket_us[i]) {
		i++;
	}
	add(&h->bucket[i], 1);
	add(&h->sum_us, (uint64_t) elapsed_us);
}

void
metrics_heartbeats(enum metrics_hb_kind kind, int code, uint64_t n)
{
	if ((unsigned) kind < METRICS_HB_KINDS && n > 0) {
		add(&shard()->heartbeats[kind][code_index(code)], n);
	}
}

static int
names_register(struct names *t, const char *name)
{
	int n, id = -1;

	pthread_mutex_lock(&names_lock);
	n = atomic_load_explicit(&t->n, memory_order_relaxed);
	for (int i = 0; i < n && id < 0; i++) {
		if (strncmp(t->name[i], name, METRICS_NAME_MAX - 1) == 0) {
			id = i;
		}
	}
	if (id < 0 && n < t->max) {
		strncpy(t->name[n], name, METRICS_NAME_MAX - 1);
		t->name[n][METRICS_NAME_MAX - 1] = '\0';
		id = n;
		atomic_store_explicit(&t->n, n + 1, memory_order_release);
	}
	pthread_mutex_unlock(&names_lock);
	return id;
}

int
metrics_rpc_listener(const char *name)
{
	return names_register(&listeners, name);
}

int
metrics_http_route(const char *name)
{
	return names_register(&routes, name);
}

void
metrics_rpc(int id, int code, int64_t elapsed_us)
{
	struct shard *s;

	if (id < 0 || id >= METRICS_LISTENERS_MAX) {
		return;
	}
	s = shard();
	add(&s->rpc_codes[id][code_index(code)], 1);
	observe(&s->rpc[id], elapsed_us);
}

static size_t
status_index(int status)
{
	size_t i = 0;

	while (i < NELEM(http_statuses) && http_statuses[i] != status) {
		i++;
	}
	return i;
}

void
metrics_http(int id, int status, int64_t elapsed_us)
{
	struct shard *s;

	if (id < 0 || id >= METRICS_ROUTES_MAX) {
		return;
	}
	s = shard();
	add(&s->http_codes[id][status_index(status)], 1);
	observe(&s->http[id], elapsed_us);
}

void
metrics_commit(int64_t elapsed_us, bool committed)
{
	observe(&commits, elapsed_us);
	if (!committed) {
		add(&commits_failed, 1);
	}
}

void
metrics_alert(int kind, int severity)
{
	if (kind >= 0 && kind < KINDS_MAX && severity >= 0 &&
	    severity < SEVERITIES_MAX) {
		add(&alerts[kind][severity], 1);
	}
}

/* ---- the exposition ---- */

/* Appends s as a label value: escaped, and UTF-8 throughout. */
static void
add_value(struct strbuf *out, const char *s)
{
	size_t n = strlen(s);

	for (size_t i = 0; i < n;) {
		uint32_t cp;
		size_t len = utf8_decode((const uint8_t *) s + i, n - i, &cp);

		if (len == 0) {
			strbuf_addc(out, '?');
			i++;
			continue;
		}
		if (cp == '\\') {
			strbuf_adds(out, "\\\\");
		} else if (cp == '"') {
			strbuf_adds(out, "\\\"");
		} else if (cp == '\n') {
			strbuf_adds(out, "\\n");
		} else {
			strbuf_add(out, s + i, len);
		}
		i += len;
	}
}

/* A gRPC code as a label value: "ok", "invalid_argument", ... */
static void
add_code(struct strbuf *out, int code)
{
	const char *name = rpc_code_name(code);

	for (; *name != '\0'; name++) {
		strbuf_addc(out, (char) tolower((unsigned char) *name));
	}
}

static void
family(struct strbuf *out, const char *name, const char *type, const char *help)
{
	strbuf_addf(out, "# HELP %s %s\n# TYPE %s %s\n", name, help, name,
	            type);
}

/* A name the shards added up over. */
struct sum {
	uint64_t codes[STATUSES > METRICS_CODES ? STATUSES : METRICS_CODES];
	uint64_t bucket[BUCKETS];
	uint64_t sum_us;
};

static void
sum_histogram(struct sum *out, const struct histogram *h)
{
	for (size_t b = 0; b < BUCKETS; b++) {
		out->bucket[b] += get(&h->bucket[b]);
	}
	out->sum_us += get(&h->sum_us);
}

/* One histogram's series; labels: "" or `name="value",`-style pairs
 * without the braces, already escaped. */
static void
histogram_series(struct strbuf *out, const char *name, const char *labels,
                 const struct sum *s)
{
	uint64_t cumulative = 0;
	const char *sep = labels[0] != '\0' ? "," : "";

	for (size_t b = 0; b < BUCKETS; b++) {
		cumulative += s->bucket[b];
		if (b < NELEM(bucket_us)) {
			strbuf_addf(out,
			            "%s_bucket{%s%sle=\"%g\"} %" PRIu64 "\n",
			            name, labels, sep,
			            (double) bucket_us[b] / 1e6, cumulative);
		} else {
			strbuf_addf(out,
			            "%s_bucket{%s%sle=\"+Inf\"} %" PRIu64 "\n",
			            name, labels, sep, cumulative);
		}
	}
	strbuf_addf(out, "%s_sum%s%s%s %.6f\n", name,
	            labels[0] != '\0' ? "{" : "", labels,
	            labels[0] != '\0' ? "}" : "", (double) s->sum_us / 1e6);
	strbuf_addf(out, "%s_count%s%s%s %" PRIu64 "\n", name,
	            labels[0] != '\0' ? "{" : "", labels,
	            labels[0] != '\0' ? "}" : "", cumulative);
}

/* `key="escaped value"` into buf (a strbuf, reset first). */
static const char *
label(struct strbuf *buf, const char *key, const char *value)
{
	strbuf_truncate(buf, 0);
	strbuf_addf(buf, "%s=\"", key);
	add_value(buf, value);
	strbuf_addc(buf, '"');
	return strbuf_str(buf);
}

static void
render_heartbeats(struct strbuf *out)
{
	static const char *const kinds[] = { "robot", "account" };

	family(out, "hbmon_heartbeats_received_total", "counter",
	       "Heartbeats decoded, by the seed's type and the gRPC code "
	       "they were answered with (ok: recorded).");
	for (int k = 0; k < METRICS_HB_KINDS; k++) {
		for (int c = 0; c < METRICS_CODES; c++) {
			uint64_t n = 0;
			for (size_t s = 0; s < METRICS_SHARDS; s++) {
				n += get(&shards[s].heartbeats[k][c]);
			}
			if (n == 0 && c != RPC_OK) {
				continue;
			}
			strbuf_addf(
			    out,
			    "hbmon_heartbeats_received_total{kind=\"%s\","
			    "result=\"",
			    kinds[k]);
			add_code(out, c);
			strbuf_addf(out, "\"} %" PRIu64 "\n", n);
		}
	}
}

static void
render_rpc(struct strbuf *out, struct strbuf *lbl)
{
	int n = atomic_load_explicit(&listeners.n, memory_order_acquire);
	struct sum sums[METRICS_LISTENERS_MAX];

	memset(sums, 0, sizeof(sums));
	for (int l = 0; l < n; l++) {
		for (size_t s = 0; s < METRICS_SHARDS; s++) {
			for (int c = 0; c < METRICS_CODES; c++) {
				sums[l].codes[c] +=
				    get(&shards[s].rpc_codes[l][c]);
			}
			sum_histogram(&sums[l], &shards[s].rpc[l]);
		}
	}
	family(out, "hbmon_rpc_requests_total", "counter",
	       "Requests answered on the SP listeners, by listener and gRPC "
	       "code.");
	for (int l = 0; l < n; l++) {
		for (int c = 0; c < METRICS_CODES; c++) {
			if (sums[l].codes[c] == 0 && c != RPC_OK) {
				continue;
			}
			strbuf_addf(out, "hbmon_rpc_requests_total{%s,code=\"",
			            label(lbl, "listener", listeners.name[l]));
			add_code(out, c);
			strbuf_addf(out, "\"} %" PRIu64 "\n", sums[l].codes[c]);
		}
	}
	family(out, "hbmon_rpc_request_duration_seconds", "histogram",
	       "Time from a request's last byte to its reply being queued, "
	       "by SP listener.");
	for (int l = 0; l < n; l++) {
		histogram_series(out, "hbmon_rpc_request_duration_seconds",
		                 label(lbl, "listener", listeners.name[l]),
		                 &sums[l]);
	}
}

static void
render_http(struct strbuf *out, struct strbuf *lbl)
{
	int n = atomic_load_explicit(&routes.n, memory_order_acquire);
	struct sum sums[METRICS_ROUTES_MAX];

	memset(sums, 0, sizeof(sums));
	for (int r = 0; r < n; r++) {
		for (size_t s = 0; s < METRICS_SHARDS; s++) {
			for (size_t c = 0; c < STATUSES; c++) {
				sums[r].codes[c] +=
				    get(&shards[s].http_codes[r][c]);
			}
			sum_histogram(&sums[r], &shards[s].http[r]);
		}
	}
	family(out, "hbmon_http_requests_total", "counter",
	       "HTTP requests answered, by route and status.");
	for (int r = 0; r < n; r++) {
		for (size_t c = 0; c < STATUSES; c++) {
			if (sums[r].codes[c] == 0) {
				continue;
			}
			strbuf_addf(out, "hbmon_http_requests_total{%s,code=\"",
			            label(lbl, "route", routes.name[r]));
			if (c < NELEM(http_statuses)) {
				strbuf_addf(out, "%d", http_statuses[c]);
			} else {
				strbuf_adds(out, "other");
			}
			strbuf_addf(out, "\"} %" PRIu64 "\n", sums[r].codes[c]);
		}
	}
	family(out, "hbmon_http_request_duration_seconds", "histogram",
	       "Time from an HTTP request's arrival to its response, by "
	       "route.");
	for (int r = 0; r < n; r++) {
		histogram_series(out, "hbmon_http_request_duration_seconds",
		                 label(lbl, "route", routes.name[r]), &sums[r]);
	}
}

static void
render_recorder(struct strbuf *out, const struct metrics_gauges *g)
{
	struct sum s;

	memset(&s, 0, sizeof(s));
	sum_histogram(&s, &commits);
	family(out, "hbmon_commit_duration_seconds", "histogram",
	       "Time the recorder's transactions (group commits) took to "
	       "commit or fail.");
	histogram_series(out, "hbmon_commit_duration_seconds", "", &s);
	family(out, "hbmon_commits_failed_total", "counter",
	       "Transactions that could not be written (a sick or full "
	       "disk).");
	strbuf_addf(out, "hbmon_commits_failed_total %" PRIu64 "\n",
	            get(&commits_failed));
	family(out, "hbmon_recorder_pending", "gauge",
	       "Requests waiting at the writer or being written.");
	strbuf_addf(out, "hbmon_recorder_pending %" PRIu64 "\n",
	            g->recorder_pending);
}

static void
render_alerts(struct strbuf *out)
{
	family(out, "hbmon_alerts_total", "counter",
	       "Alerts published (first notices and repeats), by kind and "
	       "severity.");
	for (int k = 0; k < KINDS_MAX; k++) {
		const char *kind = words_alert_kind((Hbmon__V1__AlertKind) k);
		for (int v = 0; v < SEVERITIES_MAX; v++) {
			const char *sev =
			    words_severity((Hbmon__V1__Severity) v);
			uint64_t n = get(&alerts[k][v]);
			if (n == 0 || kind == NULL || sev == NULL) {
				continue;
			}
			strbuf_addf(out,
			            "hbmon_alerts_total{kind=\"%s\",severity="
			            "\"%s\"} %" PRIu64 "\n",
			            kind, sev, n);
		}
	}
}

static void
render_subjects(struct strbuf *out, const struct metrics_gauges *g)
{
	static const char *const kinds[] = { "robot", "account" };

	family(out, "hbmon_subjects", "gauge",
	       "Robots and accounts the server knows, by liveness.");
	for (int k = 0; k < METRICS_HB_KINDS; k++) {
		for (int l = HBMON__V1__LIVENESS__LIVENESS_UNKNOWN;
		     l <= HBMON__V1__LIVENESS__LIVENESS_PAUSED; l++) {
			strbuf_addf(
			    out,
			    "hbmon_subjects{kind=\"%s\",liveness=\"%s\"} "
			    "%" PRIu64 "\n",
			    kinds[k], words_liveness((Hbmon__V1__Liveness) l),
			    g->subjects[k][l]);
		}
	}
}

static void
render_outbox(struct strbuf *out, struct strbuf *lbl,
              const struct metrics_gauges *g)
{
	if (!g->outbox_known) {
		return;
	}
	family(out, "hbmon_outbox_last_seq", "gauge",
	       "The highest alert seq in the outbox.");
	strbuf_addf(out, "hbmon_outbox_last_seq %" PRIu64 "\n", g->outbox_last);
	family(out, "hbmon_outbox_undelivered", "gauge",
	       "Alerts in the outbox past a notifier's delivery cursor.");
	for (size_t i = 0; i < g->n_readers; i++) {
		const struct metrics_reader *r = &g->readers[i];
		strbuf_addf(out, "hbmon_outbox_undelivered{%s} %" PRIu64 "\n",
		            label(lbl, "reader", r->name),
		            g->outbox_last > r->delivered
		                ? g->outbox_last - r->delivered
		                : 0);
	}
	family(out, "hbmon_outbox_oldest_undelivered_age_seconds", "gauge",
	       "How long ago the oldest alert a notifier has not delivered "
	       "was raised (0: none is owed).");
	for (size_t i = 0; i < g->n_readers; i++) {
		const struct metrics_reader *r = &g->readers[i];
		int64_t age = r->oldest_undelivered_ms > 0 &&
		                      g->now_ms > r->oldest_undelivered_ms
		                  ? g->now_ms - r->oldest_undelivered_ms
		                  : 0;
		strbuf_addf(out,
		            "hbmon_outbox_oldest_undelivered_age_seconds{%s} "
		            "%.3f\n",
		            label(lbl, "reader", r->name), (double) age / 1e3);
	}
}

static void
render_server(struct strbuf *out, struct strbuf *lbl,
              const struct metrics_gauges *g)
{
	if (g->health_level != 0) {
		family(out, "hbmon_server_health", "gauge",
		       "The server's judgement of itself, as /healthz and "
		       "the watchdog: 1 healthy, 2 degraded, 3 unhealthy.");
		strbuf_addf(out, "hbmon_server_health %d\n", g->health_level);
	}
	family(out, "hbmon_listener_restarts_total", "counter",
	       "Listeners replaced after failing their self-check.");
	strbuf_addf(out, "hbmon_listener_restarts_total %" PRIu64 "\n",
	            g->listener_restarts);
	family(out, "hbmon_start_time_seconds", "gauge",
	       "When the server started, in seconds since the Unix epoch.");
	strbuf_addf(out, "hbmon_start_time_seconds %.3f\n",
	            (double) g->started_ms / 1e3);
	family(out, "hbmon_build_info", "gauge",
	       "Always 1; the version of hbmon-server in its label.");
	strbuf_addf(
	    out, "hbmon_build_info{%s} 1\n",
	    label(lbl, "version", g->version != NULL ? g->version : ""));
}

void
metrics_render(const struct metrics_gauges *g, struct strbuf *out)
{
	struct strbuf lbl = STRBUF_INIT;

	render_heartbeats(out);
	render_rpc(out, &lbl);
	render_http(out, &lbl);
	render_recorder(out, g);
	render_alerts(out);
	render_subjects(out, g);
	render_outbox(out, &lbl, g);
	render_server(out, &lbl, g);
	strbuf_free(&lbl);
}
