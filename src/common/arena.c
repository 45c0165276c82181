/* Bump allocator over a list of blocks. */
#include "common/arena.h"

#include <malloc.h>
#include <stdalign.h>
#include <stdlib.h>
#include <string.h>

/* Bytes freed by one reset after which memory is handed back to the
 * system at once. */
#define ARENA_TRIM_AFTER (1024 * 1024)

struct arena_block {
	struct arena_block *next;
	size_t used, size;
	max_align_t data[];
};

static void *
pb_alloc(void *data, size_t size)
{
	return arena_alloc(data, size);
}

static void
pb_free(void *data, void *p)
{
	(void) data;
	(void) p; /* the arena goes as a whole */
}

void
arena_init(struct arena *a, size_t block_size)
{
	memset(a, 0, sizeof(*a));
	a->block_size = block_size > 0 ? block_size : 16 * 1024;
	a->pb.alloc = pb_alloc;
	a->pb.free = pb_free;
	a->pb.allocator_data = a;
}

void *
arena_alloc(struct arena *a, size_t size)
{
	struct arena_block *b = a->blocks;
	size_t align = alignof(max_align_t);
	void *p;

	size = (size + align - 1) & ~(align - 1);
	if (b == NULL || b->size - b->used < size) {
		size_t cap = size > a->block_size ? size : a->block_size;
		if ((b = malloc(sizeof(*b) + cap)) == NULL) {
			a->failed = 1;
			return NULL;
		}
		b->next = a->blocks;
		b->used = 0;
		b->size = cap;
		a->blocks = b;
	}
	p = (char *) b->data + b->used;
	b->used += size;
	memset(p, 0, size);
	return p;
}

char *
arena_strdup(struct arena *a, const char *s)
{
	size_t n = s != NULL ? strlen(s) : 0;
	char *p = arena_alloc(a, n + 1);

	if (p == NULL) {
		return (char *) "";
	}
	if (n > 0) {
		memcpy(p, s, n);
	}
	return p;
}

void
arena_reset(struct arena *a)
{
	struct arena_block *keep = NULL;
	size_t freed = 0;

	/* Keep one block of the usual size: the next ordinary request then
	 * needs no malloc, and an arena that once held a big request does not
	 * keep its memory (hundreds of workers each would add up). */
	for (struct arena_block *b = a->blocks; b != NULL; b = b->next) {
		if (b->size == a->block_size) {
			keep = b;
			break;
		}
	}
	while (a->blocks != NULL) {
		struct arena_block *b = a->blocks;
		a->blocks = b->next;
		if (b != keep) {
			freed += b->size;
			free(b);
		}
	}
	if (keep != NULL) {
		keep->next = NULL;
		keep->used = 0;
		a->blocks = keep;
	}
	a->failed = 0;
	/* After a big request, give the pages back: glibc keeps freed memory
	 * in the thread's arena (and a process has many threads, each with
	 * an arena), so one huge batch would otherwise stay in RSS. */
	if (freed >= ARENA_TRIM_AFTER) {
		malloc_trim(0);
	}
}

void
arena_fini(struct arena *a)
{
	while (a->blocks != NULL) {
		struct arena_block *b = a->blocks;
		a->blocks = b->next;
		free(b);
	}
}
