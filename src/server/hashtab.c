/* Linear-probing hash table of record pointers with tombstones. */
#include "server/hashtab.h"

#include <stdlib.h>

#include "hbmon/error.h"

static char gone_marker;
#define GONE ((void *) &gone_marker)

uint32_t
hashtab_hash(const void *key, size_t key_len)
{
	const unsigned char *p = key;
	uint64_t h = 14695981039346656037ull;

	for (size_t i = 0; i < key_len; i++) {
		h ^= p[i];
		h *= 1099511628211ull;
	}
	return (uint32_t) (h ^ (h >> 32));
}

void
hashtab_init(struct hashtab *t, hashtab_match_fn match)
{
	t->slots = NULL;
	t->hashes = NULL;
	t->cap = 0;
	t->count = 0;
	t->used = 0;
	t->match = match;
}

void
hashtab_fini(struct hashtab *t)
{
	free(t->slots);
	free(t->hashes);
	t->slots = NULL;
	t->hashes = NULL;
	t->cap = t->count = t->used = 0;
}

void *
hashtab_find(const struct hashtab *t, uint32_t hash, const void *key,
             size_t key_len)
{
	if (t->cap == 0) {
		return NULL;
	}
	for (size_t i = hash & (t->cap - 1);; i = (i + 1) & (t->cap - 1)) {
		void *r = t->slots[i];
		if (r == NULL) {
			return NULL;
		}
		if (r != GONE && t->hashes[i] == hash &&
		    t->match(r, key, key_len)) {
			return r;
		}
	}
}

static void
place(void **slots, uint32_t *hashes, size_t cap, uint32_t hash, void *record)
{
	size_t i = hash & (cap - 1);

	while (slots[i] != NULL && slots[i] != GONE) {
		i = (i + 1) & (cap - 1);
	}
	slots[i] = record;
	hashes[i] = hash;
}

/* Rebuilds at a size that keeps the load (live + deleted) under 1/2. */
static int
grow(struct hashtab *t)
{
	size_t cap = t->cap == 0 ? 64 : t->cap;
	void **slots;
	uint32_t *hashes;

	while (cap / 2 <= t->count + 1) {
		cap *= 2;
	}
	slots = calloc(cap, sizeof(*slots));
	hashes = malloc(cap * sizeof(*hashes));
	if (slots == NULL || hashes == NULL) {
		free(slots);
		free(hashes);
		return HBMON_ENOMEM;
	}
	for (size_t i = 0; i < t->cap; i++) {
		if (t->slots[i] != NULL && t->slots[i] != GONE) {
			place(slots, hashes, cap, t->hashes[i], t->slots[i]);
		}
	}
	free(t->slots);
	free(t->hashes);
	t->slots = slots;
	t->hashes = hashes;
	t->cap = cap;
	t->used = t->count;
	return HBMON_OK;
}

int
hashtab_insert(struct hashtab *t, uint32_t hash, void *record)
{
	size_t i;

	if ((t->used + 1) * 2 > t->cap) {
		int rv = grow(t);
		if (rv != HBMON_OK) {
			return rv;
		}
	}
	i = hash & (t->cap - 1);
	while (t->slots[i] != NULL && t->slots[i] != GONE) {
		i = (i + 1) & (t->cap - 1);
	}
	if (t->slots[i] == NULL) {
		t->used++;
	}
	t->slots[i] = record;
	t->hashes[i] = hash;
	t->count++;
	return HBMON_OK;
}

void *
hashtab_remove(struct hashtab *t, uint32_t hash, const void *key,
               size_t key_len)
{
	if (t->cap == 0) {
		return NULL;
	}
	for (size_t i = hash & (t->cap - 1);; i = (i + 1) & (t->cap - 1)) {
		void *r = t->slots[i];
		if (r == NULL) {
			return NULL;
		}
		if (r != GONE && t->hashes[i] == hash &&
		    t->match(r, key, key_len)) {
			t->slots[i] = GONE;
			t->count--;
			return r;
		}
	}
}

int
hashtab_each(const struct hashtab *t, int (*fn)(void *record, void *arg),
             void *arg)
{
	for (size_t i = 0; i < t->cap; i++) {
		void *r = t->slots[i];
		if (r != NULL && r != GONE) {
			int rv = fn(r, arg);
			if (rv != 0) {
				return rv;
			}
		}
	}
	return 0;
}
