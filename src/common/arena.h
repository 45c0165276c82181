/*
 * A bump allocator for the life of one request: decoded messages, reply
 * parts and strings come from a few blocks that are reset, not freed, when
 * the request is answered, so a worker serving request after request stops
 * calling malloc at all. Also usable as protobuf-c's allocator.
 * Not thread-safe: one arena per worker.
 */
#ifndef HBMON_COMMON_ARENA_H
#define HBMON_COMMON_ARENA_H

#include <stddef.h>

#include <protobuf-c/protobuf-c.h>

struct arena_block;

struct arena {
	struct arena_block *blocks; /* newest first */
	size_t block_size;          /* the usual size of a new block */
	ProtobufCAllocator pb;      /* for protobuf_c_message_unpack */
	int failed;                 /* an allocation has failed since reset */
};

/* Prepares an empty arena growing in blocks of block_size (0: 16 KiB). */
void arena_init(struct arena *a, size_t block_size);

/*
 * size bytes, zeroed, aligned for any type, valid until arena_reset or
 * arena_fini. NULL when out of memory (and a->failed is set).
 */
void *arena_alloc(struct arena *a, size_t size);

/* A copy of s ("" for NULL); on failure "" and a->failed is set. */
char *arena_strdup(struct arena *a, const char *s);

/*
 * Forgets everything allocated; keeps one block of block_size for reuse
 * and frees the rest (larger ones made for big requests included). When
 * that frees 1 MiB or more, the process's free heap memory is returned to
 * the system (malloc_trim), so one huge request does not stay in RSS.
 */
void arena_reset(struct arena *a);

/* Frees every block. A zeroed arena is fine. */
void arena_fini(struct arena *a);

#endif
