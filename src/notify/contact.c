/* SERVER_UNREACHABLE: the notifier's own alert about its server. */
#include "notify/contact.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/duration.h"
#include "common/log.h"
#include "common/rfc3339.h"
#include "common/tz.h"
#include "hbmon/error.h"
#include "notify/settings.h"
#include "notify/statefile.h"

#define K(x)   HBMON__V1__ALERT_KIND__ALERT_KIND_##x
#define SEV(x) HBMON__V1__SEVERITY__SEVERITY_##x
#define ST(x)  HBMON__V1__ALERT_STATE__ALERT_STATE_##x

#define PATH_LEN    1024
#define PENDING_MAX 8 /* notices waiting at most; a repeat waits its turn */
#define FILE_MAGIC  "hbmon-notify contact 1"
#define FILE_MAX    (64 * 1024)

enum cause {
	CAUSE_SILENT = 0, /* neither keepalive nor outbox answer */
	CAUSE_OUTBOX = 1, /* keepalives, but the outbox cannot be read */
};

struct contact {
	struct contact_options opts;
	char name[64];
	char dir[PATH_LEN];
	char path[PATH_LEN];
	int64_t start_ms; /* monotonic: the notifier started */
	uint64_t next_seq;
	/* the open episode */
	bool open;
	uint64_t episode;         /* notifier_seq of its first notice */
	int cause;                /* enum cause */
	int64_t lost_since_wall;  /* last contact; 0: never had any */
	int64_t started_wall;     /* the notifier's start, when never heard */
	int64_t last_notice_wall; /* its last firing notice */
	uint32_t repeats;
	uint64_t tail_at_loss; /* newest alert seq known at the loss */
	int64_t opened_ms;     /* monotonic; 0: opened by an earlier run */
	/* notices not yet delivered, oldest first */
	Hbmon__V1__Alert *pending[PENDING_MAX];
	size_t n_pending;
};

/* ---- the state file ---- */

static void
hex_append(char *out, const uint8_t *p, size_t n)
{
	static const char digits[] = "0123456789abcdef";

	for (size_t i = 0; i < n; i++) {
		*out++ = digits[p[i] >> 4];
		*out++ = digits[p[i] & 15];
	}
	*out = '\0';
}

static int
save(struct contact *c, char *why, size_t why_len)
{
	size_t cap = 512, len;
	char *text;
	int rv;

	for (size_t i = 0; i < c->n_pending; i++) {
		cap +=
		    16 + 2 * hbmon__v1__alert__get_packed_size(c->pending[i]);
	}
	if ((text = malloc(cap)) == NULL) {
		snprintf(why, why_len, "out of memory");
		return HBMON_EIO;
	}
	len = (size_t) snprintf(
	    text, cap, FILE_MAGIC "\nnext_seq %" PRIu64 "\n", c->next_seq);
	if (c->open) {
		len += (size_t) snprintf(
		    text + len, cap - len,
		    "episode %" PRIu64 " %d %" PRId64 " %" PRId64 " %" PRId64
		    " %" PRIu32 " %" PRIu64 "\n",
		    c->episode, c->cause, c->lost_since_wall, c->started_wall,
		    c->last_notice_wall, c->repeats, c->tail_at_loss);
	}
	for (size_t i = 0; i < c->n_pending; i++) {
		size_t n = hbmon__v1__alert__get_packed_size(c->pending[i]);
		uint8_t *buf = malloc(n + 1);
		if (buf == NULL) {
			free(text);
			snprintf(why, why_len, "out of memory");
			return HBMON_EIO;
		}
		hbmon__v1__alert__pack(c->pending[i], buf);
		len += (size_t) snprintf(text + len, cap - len, "pending ");
		hex_append(text + len, buf, n);
		len += 2 * n;
		text[len++] = '\n';
		text[len] = '\0';
		free(buf);
	}
	rv = statefile_replace(c->dir, c->path, text, len, why, why_len);
	free(text);
	return rv;
}

/* Saves, and says so in the log when it cannot. */
static void
save_or_log(struct contact *c)
{
	char why[600];

	if (save(c, why, sizeof(why)) != HBMON_OK) {
		log_error("cannot store the contact state; a restart may send "
		          "a notice again",
		          "why=%s", why);
	}
}

static int
hex_value(char ch)
{
	return ch >= '0' && ch <= '9'   ? ch - '0'
	       : ch >= 'a' && ch <= 'f' ? ch - 'a' + 10
	                                : -1;
}

/* One "pending HEX" line; false when it does not hold an Alert. */
static bool
load_pending(struct contact *c, const char *hex)
{
	size_t n = strlen(hex) / 2;
	uint8_t *buf;
	Hbmon__V1__Alert *a;

	if (strlen(hex) % 2 != 0 || c->n_pending == PENDING_MAX ||
	    (buf = malloc(n + 1)) == NULL) {
		return false;
	}
	for (size_t i = 0; i < n; i++) {
		int hi = hex_value(hex[2 * i]), lo = hex_value(hex[2 * i + 1]);
		if (hi < 0 || lo < 0) {
			free(buf);
			return false;
		}
		buf[i] = (uint8_t) (hi << 4 | lo);
	}
	a = hbmon__v1__alert__unpack(NULL, n, buf);
	free(buf);
	if (a == NULL) {
		return false;
	}
	c->pending[c->n_pending++] = a;
	return true;
}

static int
load(struct contact *c, char *why, size_t why_len)
{
	FILE *f = fopen(c->path, "r");
	char *text, *line, *next;
	size_t n;
	bool ok = true;

	if (f == NULL) {
		if (errno == ENOENT) {
			return HBMON_OK; /* a first run */
		}
		snprintf(why, why_len, "cannot read %s: %s", c->path,
		         strerror(errno));
		return HBMON_EIO;
	}
	if ((text = malloc(FILE_MAX + 1)) == NULL) {
		fclose(f);
		return HBMON_ENOMEM;
	}
	n = fread(text, 1, FILE_MAX, f);
	fclose(f);
	text[n] = '\0';
	if (strncmp(text, FILE_MAGIC "\n", sizeof(FILE_MAGIC)) != 0) {
		ok = false;
	}
	for (line = text; ok && line != NULL && *line != '\0'; line = next) {
		if ((next = strchr(line, '\n')) != NULL) {
			*next++ = '\0';
		}
		if (strcmp(line, FILE_MAGIC) == 0) {
			continue;
		}
		if (strncmp(line, "next_seq ", 9) == 0) {
			ok = sscanf(line + 9, "%" SCNu64, &c->next_seq) == 1;
		} else if (strncmp(line, "episode ", 8) == 0) {
			ok = sscanf(line + 8,
			            "%" SCNu64 " %d %" SCNd64 " %" SCNd64
			            " %" SCNd64 " %" SCNu32 " %" SCNu64,
			            &c->episode, &c->cause, &c->lost_since_wall,
			            &c->started_wall, &c->last_notice_wall,
			            &c->repeats, &c->tail_at_loss) == 7;
			c->open = ok;
		} else if (strncmp(line, "pending ", 8) == 0) {
			ok = load_pending(c, line + 8);
		} else {
			ok = false;
		}
	}
	free(text);
	if (!ok || c->next_seq == 0) {
		snprintf(why, why_len,
		         "%s does not hold this notifier's contact state; look "
		         "at it, then remove it",
		         c->path);
		return HBMON_EINVAL;
	}
	return HBMON_OK;
}

/* ---- notices ---- */

static void
format_wall(const struct contact *c, int64_t wall, char *buf, size_t len)
{
	tz_format(wall, c->opts.tz_offset_min, buf, len);
}

/* Queues a notice (summary copied) and takes the next seq for it. */
static void
queue_notice(struct contact *c, int kind, int severity, int state,
             uint32_t repeat, const char *summary, int64_t wall,
             const Hbmon__V1__AlertDetails *details)
{
	Hbmon__V1__Alert a = HBMON__V1__ALERT__INIT;
	char key[128];
	size_t n;
	uint8_t *buf;

	if (c->n_pending == PENDING_MAX) {
		/* Only while the sink fails for a long time; what waits
		 * already says contact is lost. */
		log_warn("notices about the server wait for the sink; one "
		         "more is dropped",
		         "summary=%s", summary);
		return;
	}
	snprintf(key, sizeof(key), "notify-%s:SERVER_UNREACHABLE:%" PRIu64,
	         c->name, c->episode);
	a.seq = 0;
	a.dedupe_key = key;
	a.kind = kind;
	a.severity = severity;
	a.state = state;
	a.robot = "";
	a.account = "";
	a.summary = (char *) summary;
	a.raised_at_ms = wall;
	a.repeat = repeat;
	a.details = (Hbmon__V1__AlertDetails *) details;
	a.notifier = c->name;
	a.notifier_seq = c->next_seq++;
	/* A copy that owns its memory, as a loaded one does. */
	n = hbmon__v1__alert__get_packed_size(&a);
	if ((buf = malloc(n + 1)) == NULL) {
		return;
	}
	hbmon__v1__alert__pack(&a, buf);
	c->pending[c->n_pending] = hbmon__v1__alert__unpack(NULL, n, buf);
	free(buf);
	if (c->pending[c->n_pending] != NULL) {
		c->n_pending++;
	}
}

/* The firing notice (first or repeat) of the open episode. */
static void
notice_firing(struct contact *c, const struct source_contact *sc, int64_t wall)
{
	Hbmon__V1__AlertDetails d = HBMON__V1__ALERT_DETAILS__INIT;
	char since[RFC3339_MAX], dur[32], summary[1400];
	int64_t since_wall =
	    c->lost_since_wall != 0 ? c->lost_since_wall : c->started_wall;

	format_wall(c, since_wall, since, sizeof(since));
	duration_human(wall - since_wall, dur, sizeof(dur));
	if (c->cause == CAUSE_OUTBOX) {
		snprintf(summary, sizeof(summary),
		         "%scannot read the outbox of hbmon-server at %s since "
		         "%s (%s); its keepalives still arrive, but alerts may "
		         "be missed",
		         c->repeats > 0 ? "still: " : "", sc->admin_url, since,
		         dur);
	} else if (c->lost_since_wall == 0) {
		snprintf(summary, sizeof(summary),
		         "%sno contact with hbmon-server at %s since this "
		         "notifier started at %s (%s): no keepalive and no "
		         "answer",
		         c->repeats > 0 ? "still " : "", sc->admin_url, since,
		         dur);
	} else {
		snprintf(summary, sizeof(summary),
		         "%slost contact with hbmon-server at %s since %s (%s "
		         "without a keepalive or an answer)",
		         c->repeats > 0 ? "still " : "", sc->admin_url, since,
		         dur);
	}
	d.duration_ms = wall - since_wall;
	d.last_seen_ms = c->lost_since_wall;
	queue_notice(c, K(SERVER_UNREACHABLE), SEV(CRITICAL), ST(FIRING),
	             c->repeats, summary, wall, &d);
	c->last_notice_wall = wall;
	log_error("contact with the server lost", "summary=%s", summary);
}

static void
notice_back(struct contact *c, const struct source_contact *sc, int64_t wall)
{
	Hbmon__V1__AlertDetails d = HBMON__V1__ALERT_DETAILS__INIT;
	char dur[32], summary[1400];
	int64_t since_wall =
	    c->lost_since_wall != 0 ? c->lost_since_wall : c->started_wall;
	uint64_t meanwhile = sc->outbox_last > c->tail_at_loss
	                         ? sc->outbox_last - c->tail_at_loss
	                         : 0;

	duration_human(wall - since_wall, dur, sizeof(dur));
	if (meanwhile > 0) {
		snprintf(summary, sizeof(summary),
		         "hbmon-server at %s is back after %s; %" PRIu64
		         " alert%s raised meanwhile follow%s",
		         sc->admin_url, dur, meanwhile,
		         meanwhile == 1 ? "" : "s", meanwhile == 1 ? "s" : "");
	} else {
		snprintf(summary, sizeof(summary),
		         "hbmon-server at %s is back after %s; no alerts were "
		         "raised meanwhile",
		         sc->admin_url, dur);
	}
	d.duration_ms = wall - since_wall;
	d.resolves = K(SERVER_UNREACHABLE);
	d.alerts_meanwhile = meanwhile;
	queue_notice(c, K(RECOVERED), SEV(INFO), ST(RESOLVED), 0, summary, wall,
	             &d);
	log_info("contact with the server is back", "summary=%s", summary);
}

/* ---- the episode ---- */

int
contact_open(const struct contact_options *opts, int64_t now_ms,
             struct contact **out, char *why, size_t why_len)
{
	struct contact *c = calloc(1, sizeof(*c));
	int rv;

	if (c == NULL) {
		return HBMON_ENOMEM;
	}
	c->opts = *opts;
	snprintf(c->name, sizeof(c->name), "%s", opts->name);
	snprintf(c->dir, sizeof(c->dir), "%s", opts->state_dir);
	if ((size_t) snprintf(c->path, sizeof(c->path), "%s/notify-%s.contact",
	                      opts->state_dir,
	                      opts->name) >= sizeof(c->path) - 8) {
		snprintf(why, why_len, "state_dir is too long");
		free(c);
		return HBMON_EINVAL;
	}
	c->start_ms = now_ms;
	c->next_seq = 1;
	if ((rv = load(c, why, why_len)) != HBMON_OK) {
		contact_close(c);
		return rv;
	}
	if (c->open) {
		log_warn("contact with the server was lost when this notifier "
		         "last ran; it is resolved by the first answer",
		         "episode=%" PRIu64, c->episode);
	}
	*out = c;
	return HBMON_OK;
}

void
contact_close(struct contact *c)
{
	if (c == NULL) {
		return;
	}
	for (size_t i = 0; i < c->n_pending; i++) {
		hbmon__v1__alert__free_unpacked(c->pending[i], NULL);
	}
	free(c);
}

bool
contact_lost(const struct contact *c)
{
	return c->open;
}

const Hbmon__V1__Alert *
contact_pending(const struct contact *c)
{
	return c->n_pending > 0 ? c->pending[0] : NULL;
}

int
contact_delivered(struct contact *c, char *why, size_t why_len)
{
	if (c->n_pending == 0) {
		return HBMON_OK;
	}
	hbmon__v1__alert__free_unpacked(c->pending[0], NULL);
	memmove(c->pending, c->pending + 1,
	        (c->n_pending - 1) * sizeof(c->pending[0]));
	c->n_pending--;
	return save(c, why, why_len);
}

/* Whether a firing notice of the episode still waits for the sink. */
static bool
firing_pending(const struct contact *c)
{
	for (size_t i = 0; i < c->n_pending; i++) {
		if (c->pending[i]->state == ST(FIRING)) {
			return true;
		}
	}
	return false;
}

void
contact_update(struct contact *c, const struct source_contact *sc,
               int64_t now_ms, int64_t wall_ms)
{
	int64_t heard = sc->keepalive_ms > sc->admin_ok_ms ? sc->keepalive_ms
	                                                   : sc->admin_ok_ms;

	if (!c->open) {
		bool ever = heard != 0;
		bool silent = now_ms - (ever ? heard : c->start_ms) >=
		              c->opts.server_timeout;
		bool outbox =
		    sc->admin_failing_ms != 0 &&
		    now_ms - sc->admin_failing_ms >= c->opts.server_timeout;

		if (!silent && !outbox) {
			return;
		}
		c->open = true;
		c->episode = c->next_seq;
		c->cause = silent ? CAUSE_SILENT : CAUSE_OUTBOX;
		c->lost_since_wall =
		    !ever    ? 0
		    : silent ? wall_ms - (now_ms - heard)
		             : wall_ms - (now_ms - sc->admin_failing_ms);
		c->started_wall = wall_ms - (now_ms - c->start_ms);
		c->repeats = 0;
		c->tail_at_loss = sc->tail;
		c->opened_ms = now_ms;
		notice_firing(c, sc, wall_ms);
		save_or_log(c);
		return;
	}
	/* The first outbox answer after the loss ends it: only then can
	 * the alerts raised meanwhile be read. */
	if (sc->admin_ok_ms != 0 && sc->admin_ok_ms > c->opened_ms) {
		notice_back(c, sc, wall_ms);
		c->open = false;
		save_or_log(c);
		return;
	}
	if (wall_ms - c->last_notice_wall >= c->opts.repeat_interval &&
	    !firing_pending(c)) {
		c->repeats++;
		notice_firing(c, sc, wall_ms);
		save_or_log(c);
	}
}
