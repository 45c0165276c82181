/*
 * An open-addressing hash table of pointers to the caller's records, keyed
 * by a string the caller derives from each record. One pointer per slot
 * (8 bytes) keeps it small at a million subjects. Not thread-safe: the
 * owner serialises access.
 */
#ifndef HBMON_SERVER_HASHTAB_H
#define HBMON_SERVER_HASHTAB_H

#include <stddef.h>
#include <stdint.h>

/* Whether record holds the key (key_len bytes, may contain NUL). */
typedef int (*hashtab_match_fn)(const void *record, const void *key,
                                size_t key_len);

struct hashtab {
	void **slots;     /* NULL: empty; HASHTAB_GONE: deleted */
	uint32_t *hashes; /* hash of the record in each slot */
	size_t cap;       /* power of two */
	size_t count;     /* live records */
	size_t used;      /* live + deleted slots */
	hashtab_match_fn match;
};

/* FNV-1a 64 folded to 32 bits, for keys given to the functions below. */
uint32_t hashtab_hash(const void *key, size_t key_len);

/* Prepares an empty table. Allocates nothing until the first insert. */
void hashtab_init(struct hashtab *t, hashtab_match_fn match);

/* Frees the slots (not the records). A zeroed table is fine. */
void hashtab_fini(struct hashtab *t);

/* The record with key, or NULL. */
void *hashtab_find(const struct hashtab *t, uint32_t hash, const void *key,
                   size_t key_len);

/*
 * Adds record under hash (the caller has checked it is absent). Returns
 * HBMON_OK or HBMON_ENOMEM (table unchanged).
 */
int hashtab_insert(struct hashtab *t, uint32_t hash, void *record);

/* Removes the record with key; returns it, or NULL if absent. */
void *hashtab_remove(struct hashtab *t, uint32_t hash, const void *key,
                     size_t key_len);

/*
 * Calls fn for each record, in no particular order. fn must not change the
 * table. Stops and returns fn's value when it is not 0.
 */
int hashtab_each(const struct hashtab *t, int (*fn)(void *record, void *arg),
                 void *arg);

#endif
