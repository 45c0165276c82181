/* In-memory latest state, keyed by "robot\0account". */
#include "server/subjects.h"

#include <assert.h>
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "common/hbjson.h"
#include "common/rfc3339.h"
#include "hbmon/error.h"
#include "server/rules.h"

/* key: robot, NUL, account (no trailing NUL); key_len covers both. */
static int
subject_match(const void *record, const void *key, size_t key_len)
{
	const struct subject *s = record;
	size_t account_len = strlen(subject_account(s));

	return (size_t) s->robot_len + 1 + account_len == key_len &&
	       memcmp(s->names, key, key_len) == 0;
}

static size_t
make_key(char *key, const char *robot, const char *account)
{
	size_t r = strlen(robot);
	size_t a = strlen(account);

	memcpy(key, robot, r);
	key[r] = '\0';
	memcpy(key + r + 1, account, a);
	return r + 1 + a;
}

void
subjects_init(struct subjects *set)
{
	hashtab_init(&set->table, subject_match);
}

static int
free_subject(void *record, void *arg)
{
	struct subject *s = record;

	(void) arg;
	free(s->host);
	free(s);
	return 0;
}

void
subjects_fini(struct subjects *set)
{
	hashtab_each(&set->table, free_subject, NULL);
	hashtab_fini(&set->table);
}

struct subject *
subjects_find(struct subjects *set, const char *robot, const char *account)
{
	char key[2 * RULES_NAME_MAX + 2];
	size_t len;

	if (strlen(robot) > RULES_NAME_MAX ||
	    strlen(account) > RULES_NAME_MAX) {
		return NULL;
	}
	len = make_key(key, robot, account);
	return hashtab_find(&set->table, hashtab_hash(key, len), key, len);
}

int
subjects_add(struct subjects *set, const char *robot, const char *account,
             int64_t id, struct subject **out)
{
	char key[2 * RULES_NAME_MAX + 2];
	struct subject *s;
	size_t len;
	uint32_t hash;
	int rv;

	if (strlen(robot) > RULES_NAME_MAX ||
	    strlen(account) > RULES_NAME_MAX) {
		return HBMON_EINVAL;
	}
	len = make_key(key, robot, account);
	hash = hashtab_hash(key, len);
	if (hashtab_find(&set->table, hash, key, len) != NULL) {
		return HBMON_EEXIST;
	}
	/* names holds the key plus the account's terminating NUL. */
	if ((s = calloc(1, sizeof(*s) + len + 1)) == NULL) {
		return HBMON_ENOMEM;
	}
	s->id = id;
	s->hash = hash;
	s->timer.kind = WHEEL_SUBJECT;
	s->robot_len = (uint8_t) strlen(robot);
	memcpy(s->names, key, len);
	s->names[len] = '\0';
	if ((rv = hashtab_insert(&set->table, hash, s)) != HBMON_OK) {
		free(s);
		return rv;
	}
	/* An account joins its robot's list. Callers create the robot's
	 * subject first (the recorder does, and the store loads robots
	 * first), so an account is never without one. */
	if (account[0] != '\0') {
		struct subject *r = subjects_find(set, robot, "");
		if (r != NULL) {
			assert(subject_is_robot(r));
			s->robot = r;
			s->next_account = r->accounts;
			r->accounts = s;
			r->n_accounts++;
		}
	}
	*out = s;
	return HBMON_OK;
}

void
subjects_remove(struct subjects *set, struct subject *s)
{
	if (s->robot != NULL) {
		struct subject **p = &s->robot->accounts;
		while (*p != NULL && *p != s) {
			p = &(*p)->next_account;
		}
		if (*p == s) {
			*p = s->next_account;
			s->robot->n_accounts--;
		}
	}
	for (struct subject *a = s->accounts; a != NULL; a = a->next_account) {
		a->robot = NULL;
	}
	hashtab_remove(&set->table, s->hash, s->names,
	               (size_t) s->robot_len + 1 + strlen(subject_account(s)));
	free(s->host);
	free(s);
}

struct each_ctx {
	int (*fn)(struct subject *, void *);
	void *arg;
};

static int
each_one(void *record, void *arg)
{
	struct each_ctx *c = arg;
	return c->fn(record, c->arg);
}

int
subjects_each(struct subjects *set, int (*fn)(struct subject *s, void *arg),
              void *arg)
{
	struct each_ctx c = { fn, arg };
	return hashtab_each(&set->table, each_one, &c);
}

size_t
subjects_count(const struct subjects *set)
{
	return set->table.count;
}

char *
subject_timestamp(const struct subject *s, char *buf, size_t buf_len)
{
	if (buf_len > 0) {
		buf[0] = '\0';
	}
	if (s->timestamp_ms != 0) {
		/* "" on a value rfc3339_format cannot write: never a part. */
		rfc3339_format(s->timestamp_ms, s->timestamp_offset, buf,
		               buf_len);
	}
	return buf;
}

char *
subject_heartbeat_json(const char *account,
                       const struct store_heartbeat_row *hb)
{
	if (account[0] == '\0') {
		Hbmon__V1__RobotHeartbeat r = HBMON__V1__ROBOT_HEARTBEAT__INIT;
		r.event = "ROBOT_HEARTBEAT";
		r.status = hb->status;
		r.active_accounts = hb->active_accounts;
		r.active_tasks = hb->active_tasks;
		r.timestamp = (char *) hb->timestamp;
		return hbjson_robot_text(&r, HBJSON_COMPACT);
	} else {
		Hbmon__V1__AccountHeartbeat a =
		    HBMON__V1__ACCOUNT_HEARTBEAT__INIT;
		a.event = "ACCOUNT_HEARTBEAT";
		a.account = (char *) account;
		a.status = hb->status;
		a.session_valid = hb->session_valid;
		a.open_orders = hb->open_orders;
		a.timestamp = (char *) hb->timestamp;
		return hbjson_account_text(&a, HBJSON_COMPACT);
	}
}

char *
subject_last_json(const struct subject *s)
{
	struct store_heartbeat_row hb = { 0 };
	char ts[RFC3339_MAX];

	hb.status = s->status;
	hb.session_valid = s->session_valid;
	hb.open_orders = s->open_orders;
	hb.active_accounts = s->active_accounts;
	hb.active_tasks = s->active_tasks;
	hb.timestamp = subject_timestamp(s, ts, sizeof(ts));
	return subject_heartbeat_json(subject_account(s), &hb);
}

int
subject_name_cmp(const char *a, const char *b)
{
	while (*a != '\0' && *b != '\0') {
		if (isdigit((unsigned char) *a) &&
		    isdigit((unsigned char) *b)) {
			const char *x = a, *y = b;
			size_t nx, ny;
			int r;
			while (*x == '0') {
				x++;
			}
			while (*y == '0') {
				y++;
			}
			nx = strspn(x, "0123456789");
			ny = strspn(y, "0123456789");
			if (nx != ny) {
				return nx < ny ? -1 : 1;
			}
			if ((r = memcmp(x, y, nx)) != 0) {
				return r;
			}
			a = x + nx;
			b = y + ny;
			continue;
		}
		if (*a != *b) {
			return (unsigned char) *a < (unsigned char) *b ? -1 : 1;
		}
		a++;
		b++;
	}
	return (unsigned char) *a - (unsigned char) *b;
}
