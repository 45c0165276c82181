/*
 * The status page at GET / (docs/http.md): robots, their accounts,
 * liveness and last seen, open alerts and paused subjects, as one
 * server-rendered HTML document for a browser or a phone. No script, no
 * external asset (it works on a LAN without internet); it refreshes itself
 * (meta refresh). Everything that came from a robot or a request (names,
 * summaries, pause reasons) is escaped, and bytes that are not UTF-8 are
 * shown as U+FFFD.
 *
 * Pure: statuspage_render turns a struct statuspage, gathered by views.h,
 * into text. Thread-safe; allocates only through the strbuf.
 */
#ifndef HBMON_SERVER_STATUSPAGE_H
#define HBMON_SERVER_STATUSPAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/strbuf.h"
#include "server/rules.h"

/* The headers the page is served with: it needs nothing from anywhere,
 * runs nothing, and is never framed by another site. */
#define STATUSPAGE_CONTENT_TYPE "text/html; charset=utf-8"
#define STATUSPAGE_CSP                                                         \
	"default-src 'none'; style-src 'unsafe-inline'; "                      \
	"frame-ancestors 'none'; form-action 'self'"

/* One robot or account as the page shows it. */
struct statuspage_subject {
	int64_t id; /* subjects.id; 0: never heard */
	char robot[RULES_NAME_MAX + 1];
	char account[RULES_NAME_MAX + 1]; /* "" for the robot itself */
	int liveness;                     /* hbmon.v1.Liveness */
	int status;           /* HealthStatus or AccountStatus; 0: never */
	bool session_valid;   /* accounts */
	uint32_t open_orders; /* accounts */
	uint32_t n_accounts;  /* robots: accounts known */
	uint32_t misses;
	int64_t last_seen_ms;    /* wall clock; 0: never */
	int64_t paused_until_ms; /* wall clock; 0: not paused */
	char pause_reason[128];
};

/* One open alert episode. */
struct statuspage_alert {
	uint64_t seq;                     /* of the alert that opened it */
	int kind;                         /* hbmon.v1.AlertKind */
	int severity;                     /* hbmon.v1.Severity */
	char robot[RULES_NAME_MAX + 1];   /* "" for the server's own */
	char account[RULES_NAME_MAX + 1]; /* "" for a robot */
	char summary[256];
	int64_t opened_ms;
	uint32_t repeats;
	int64_t acked_ms; /* 0: not acknowledged */
	char acked_by[64];
};

struct statuspage {
	/* Robots in name order, each followed by the accounts shown for it
	 * (in name order). */
	const struct statuspage_subject *subjects;
	size_t n_subjects;
	size_t robots_total;    /* robots the server knows */
	size_t robots_hidden;   /* of them, left out for space */
	size_t accounts_hidden; /* accounts of shown robots left out */
	/* Paused subjects (robots and accounts), in name order. */
	const struct statuspage_subject *paused;
	size_t n_paused;
	/* Open alerts, oldest first. */
	const struct statuspage_alert *alerts;
	size_t n_alerts;
	size_t alerts_hidden;
	bool alerts_known; /* false: the database could not be read */
	int health_level;  /* enum health_level */
	char health_problem[256];
	int64_t now_ms; /* wall clock of the snapshot */
	int refresh_s;  /* 0: no refresh */
	const char *version;
};

/* Appends the whole HTML document for p to out. */
void statuspage_render(const struct statuspage *p, struct strbuf *out);

/*
 * Appends the page that asks for the status token (a form that POSTs
 * `token` to /login), with notice (may be NULL or "") said above it.
 */
void statuspage_login(struct strbuf *out, const char *notice);

/*
 * Appends s HTML-escaped (& < > " ' and control characters), with bytes
 * that are not UTF-8 as U+FFFD: safe in text and in quoted attributes.
 */
void statuspage_escape(struct strbuf *out, const char *s);

#endif
