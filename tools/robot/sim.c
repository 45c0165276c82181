/* The simulated robot engine; see sim.h. */
#include "sim.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/duration.h"

/* splitmix64: small, seedable, the same sequence on every platform. */
static uint64_t
next_u64(uint64_t *state)
{
	uint64_t z = (*state += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* A number in [0, 1). */
static double
next_unit(uint64_t *state)
{
	return (double) (next_u64(state) >> 11) / 9007199254740992.0;
}

static uint32_t
next_below(uint64_t *state, uint32_t n)
{
	return (uint32_t) (next_u64(state) % n);
}

/* The seed's diagrams: where each state may go next. */
static const hbmon_health_status health_next[4][2] = {
	[HBMON_HEALTHY] = { HBMON_DEGRADED, HBMON_DEGRADED },
	[HBMON_DEGRADED] = { HBMON_HEALTHY, HBMON_UNHEALTHY },
	[HBMON_UNHEALTHY] = { HBMON_DEGRADED, HBMON_HEALTHY },
};

static const struct {
	size_t n;
	hbmon_account_status to[3];
} account_next[5] = {
	[HBMON_ACCOUNT_IDLE] = { 2,
	                         { HBMON_ACCOUNT_ACTIVE,
	                           HBMON_ACCOUNT_EXPIRED } },
	[HBMON_ACCOUNT_ACTIVE] = { 3,
	                           { HBMON_ACCOUNT_IDLE, HBMON_ACCOUNT_EXPIRED,
	                             HBMON_ACCOUNT_ERROR } },
	[HBMON_ACCOUNT_EXPIRED] = { 2,
	                            { HBMON_ACCOUNT_ACTIVE,
	                              HBMON_ACCOUNT_IDLE } },
	[HBMON_ACCOUNT_ERROR] = { 1, { HBMON_ACCOUNT_ACTIVE } },
};

/* Moves an account to status, keeping the other fields consistent. */
static void
account_enter(struct sim *s, struct sim_account *a, hbmon_account_status status)
{
	a->status = status;
	switch (status) {
	case HBMON_ACCOUNT_IDLE:
		a->session_valid = true;
		a->open_orders = 0;
		break;
	case HBMON_ACCOUNT_ACTIVE:
		a->session_valid = true;
		a->open_orders = next_below(&s->rng, 6);
		break;
	case HBMON_ACCOUNT_EXPIRED:
		/* Orders stay on the exchange when a session expires: the
		 * case the owner most needs to hear about. */
		a->session_valid = false;
		break;
	case HBMON_ACCOUNT_ERROR:
		a->session_valid = true;
		break;
	}
}

int
sim_init(struct sim *s, size_t n, uint64_t seed, double change_rate)
{
	memset(s, 0, sizeof(*s));
	s->rng = seed;
	s->change_rate = change_rate;
	s->health = HBMON_HEALTHY;
	s->n_accounts = n;
	if (n > 0 && (s->accounts = calloc(n, sizeof(*s->accounts))) == NULL) {
		return HBMON_ENOMEM;
	}
	for (size_t i = 0; i < n; i++) {
		struct sim_account *a = &s->accounts[i];
		snprintf(a->name, sizeof(a->name), "ACC_%03zu", i + 1);
		account_enter(s, a,
		              next_below(&s->rng, 2) == 0
		                  ? HBMON_ACCOUNT_IDLE
		                  : HBMON_ACCOUNT_ACTIVE);
	}
	return HBMON_OK;
}

void
sim_fini(struct sim *s)
{
	free(s->accounts);
	s->accounts = NULL;
}

static int
find_account(const struct sim *s, const char *name)
{
	for (size_t i = 0; i < s->n_accounts; i++) {
		if (strcmp(s->accounts[i].name, name) == 0) {
			return (int) i;
		}
	}
	return -1;
}

int
sim_add_fault(struct sim *s, const char *arg, char *why, size_t why_len)
{
	static const struct {
		const char *name;
		enum sim_fault_kind kind;
		int value; /* 0 none, 1 account, 2 skew */
	} kinds[] = {
		{ "die", SIM_DIE, 0 },         { "degrade", SIM_DEGRADE, 0 },
		{ "recover", SIM_RECOVER, 0 }, { "expire", SIM_EXPIRE, 1 },
		{ "error", SIM_ERROR, 1 },     { "silent", SIM_SILENT, 1 },
		{ "resume", SIM_RESUME, 1 },   { "skew", SIM_SKEW, 2 },
	};
	struct sim_fault f;
	char buf[96];
	char *at, *eq, *value = NULL;
	char dwhy[96];
	size_t k;

	memset(&f, 0, sizeof(f));
	if (snprintf(buf, sizeof(buf), "%s", arg) >= (int) sizeof(buf)) {
		snprintf(why, why_len, "fault '%.40s...' is too long", arg);
		return HBMON_EINVAL;
	}
	snprintf(f.text, sizeof(f.text), "%s", arg);
	if ((at = strrchr(buf, '@')) == NULL) {
		snprintf(why, why_len,
		         "fault '%s' needs a time, e.g. die@30s or "
		         "expire=ACC_003@20s",
		         arg);
		return HBMON_EINVAL;
	}
	*at++ = '\0';
	if (duration_parse(at, &f.at_ms, dwhy, sizeof(dwhy)) != HBMON_OK) {
		snprintf(why, why_len, "fault '%s': time '%s': %s", arg, at,
		         dwhy);
		return HBMON_EINVAL;
	}
	if ((eq = strchr(buf, '=')) != NULL) {
		*eq = '\0';
		value = eq + 1;
	}
	for (k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++) {
		if (strcmp(buf, kinds[k].name) == 0) {
			break;
		}
	}
	if (k == sizeof(kinds) / sizeof(kinds[0])) {
		snprintf(
		    why, why_len,
		    "fault '%s': '%s' is not one of die, degrade, recover, "
		    "expire, error, silent, resume, skew",
		    arg, buf);
		return HBMON_EINVAL;
	}
	f.kind = kinds[k].kind;
	if ((kinds[k].value == 0) != (value == NULL)) {
		snprintf(why, why_len,
		         kinds[k].value == 0
		             ? "fault '%s': %s takes no value"
		             : "fault '%s': %s needs a value, e.g. "
		               "expire=ACC_003@20s or skew=+90s@5s",
		         arg, kinds[k].name);
		return HBMON_EINVAL;
	}
	if (kinds[k].value == 1) {
		if ((f.account = find_account(s, value)) < 0) {
			snprintf(why, why_len,
			         "fault '%s': no account '%s' (this robot has "
			         "ACC_001..ACC_%03zu)",
			         arg, value, s->n_accounts);
			return HBMON_EINVAL;
		}
	} else if (kinds[k].value == 2) {
		bool negative = value[0] == '-';
		if (value[0] == '+' || value[0] == '-') {
			value++;
		}
		if (duration_parse(value, &f.skew_ms, dwhy, sizeof(dwhy)) !=
		    HBMON_OK) {
			snprintf(why, why_len, "fault '%s': skew: %s", arg,
			         dwhy);
			return HBMON_EINVAL;
		}
		if (negative) {
			f.skew_ms = -f.skew_ms;
		}
	}
	if (s->n_faults == SIM_FAULTS_MAX) {
		snprintf(why, why_len, "at most %d faults", SIM_FAULTS_MAX);
		return HBMON_ENOMEM;
	}
	if (f.kind == SIM_EXPIRE || f.kind == SIM_ERROR) {
		/* Start it active and keep random changes off it: active ->
		 * expired and active -> error are both in the diagram. */
		struct sim_account *a = &s->accounts[f.account];
		if (!a->pinned) {
			a->pinned = true;
			account_enter(s, a, HBMON_ACCOUNT_ACTIVE);
		}
	}
	s->faults[s->n_faults++] = f;
	return HBMON_OK;
}

static void say(void (*log)(void *, const char *), void *arg, const char *fmt,
                ...) __attribute__((format(printf, 3, 4)));

static void
say(void (*log)(void *, const char *), void *arg, const char *fmt, ...)
{
	char line[256];
	va_list ap;

	if (log == NULL) {
		return;
	}
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	log(arg, line);
}

void
sim_tick(struct sim *s, void (*log)(void *arg, const char *line), void *arg)
{
	/* The robot's health changes less often than its accounts'. */
	if (!s->health_pinned && next_unit(&s->rng) < s->change_rate / 3) {
		hbmon_health_status to =
		    health_next[s->health][next_below(&s->rng, 2)];
		say(log, arg, "change robot: %s -> %s",
		    hbmon_health_status_name(s->health),
		    hbmon_health_status_name(to));
		s->health = to;
	}
	for (size_t i = 0; i < s->n_accounts; i++) {
		struct sim_account *a = &s->accounts[i];
		hbmon_account_status to;

		if (next_unit(&s->rng) >= s->change_rate || a->pinned) {
			continue;
		}
		to = account_next[a->status].to[next_below(
		    &s->rng, (uint32_t) account_next[a->status].n)];
		say(log, arg, "change %s: %s -> %s", a->name,
		    hbmon_account_status_name(a->status),
		    hbmon_account_status_name(to));
		account_enter(s, a, to);
	}
}

const struct sim_fault *
sim_faults_due(struct sim *s, int64_t elapsed_ms,
               void (*log)(void *arg, const char *line), void *arg)
{
	for (size_t i = 0; i < s->n_faults; i++) {
		struct sim_fault *f = &s->faults[i];
		struct sim_account *a = &s->accounts[f->account];

		if (f->done || f->at_ms > elapsed_ms) {
			continue;
		}
		f->done = true;
		say(log, arg, "fault %s", f->text);
		switch (f->kind) {
		case SIM_DIE:
			return f;
		case SIM_DEGRADE:
			s->health = HBMON_DEGRADED;
			s->health_pinned = true;
			break;
		case SIM_RECOVER:
			s->health = HBMON_HEALTHY;
			s->health_pinned = true;
			break;
		case SIM_EXPIRE:
			account_enter(s, a, HBMON_ACCOUNT_EXPIRED);
			break;
		case SIM_ERROR:
			account_enter(s, a, HBMON_ACCOUNT_ERROR);
			break;
		case SIM_SILENT:
			a->silent = true;
			break;
		case SIM_RESUME:
			a->silent = false;
			break;
		case SIM_SKEW:
			s->skew_ms = f->skew_ms;
			break;
		}
	}
	return NULL;
}

int64_t
sim_next_fault_ms(const struct sim *s)
{
	int64_t next = -1;

	for (size_t i = 0; i < s->n_faults; i++) {
		const struct sim_fault *f = &s->faults[i];
		if (!f->done && (next < 0 || f->at_ms < next)) {
			next = f->at_ms;
		}
	}
	return next;
}

void
sim_robot_state(const struct sim *s, hbmon_robot_state *out)
{
	uint32_t tasks = 0;

	for (size_t i = 0; i < s->n_accounts; i++) {
		if (s->accounts[i].status == HBMON_ACCOUNT_ACTIVE) {
			tasks++;
		}
	}
	out->status = s->health;
	/* Every account the engine runs, silent ones included: a hung
	 * account thread is exactly what the server's cross-check finds. */
	out->active_accounts = (uint32_t) s->n_accounts;
	out->active_tasks = tasks;
}

void
sim_account_state(const struct sim *s, size_t i, hbmon_account_state *out)
{
	const struct sim_account *a = &s->accounts[i];

	out->account = a->name;
	out->status = a->status;
	out->session_valid = a->session_valid;
	out->open_orders = a->open_orders;
}
