/* The per-request arena: zeroed, aligned memory and what a reset keeps. */
#include <criterion/criterion.h>
#include <stdalign.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "common/arena.h"

Test(arena, memory_is_zeroed_and_aligned)
{
	struct arena a;

	arena_init(&a, 1024);
	for (size_t size = 1; size < 3000; size += 97) {
		unsigned char *p = arena_alloc(&a, size);
		cr_assert_not_null(p);
		cr_assert_eq((uintptr_t) p % alignof(max_align_t), 0);
		for (size_t i = 0; i < size; i++) {
			cr_assert_eq(p[i], 0);
		}
		memset(p, 0xab, size);
	}
	arena_reset(&a);
	/* Reused memory is zeroed again. */
	unsigned char *q = arena_alloc(&a, 512);
	for (size_t i = 0; i < 512; i++) {
		cr_assert_eq(q[i], 0);
	}
	cr_assert_eq(a.failed, 0);
	arena_fini(&a);
}

Test(arena, reset_keeps_an_ordinary_block_not_a_big_one)
{
	struct arena a;
	void *first, *big;

	arena_init(&a, 4096);
	first = arena_alloc(&a, 100);
	/* A big request: a block of its own, larger than the usual. */
	big = arena_alloc(&a, 1000000);
	cr_assert_not_null(big);
	memset(big, 1, 1000000);
	arena_reset(&a);
	/* The ordinary block is kept and used first; the big one is gone
	 * (valgrind and ASan would see it leak otherwise). */
	cr_assert_eq(arena_alloc(&a, 100), first);
	arena_reset(&a);

	/* Only big requests since the start: nothing is kept. */
	arena_fini(&a);
	arena_init(&a, 4096);
	cr_assert_not_null(arena_alloc(&a, 50000));
	arena_reset(&a);
	cr_assert_not_null(arena_alloc(&a, 10));
	arena_fini(&a);
}

Test(arena, strdup_copies)
{
	struct arena a;

	arena_init(&a, 0);
	cr_assert_str_eq(arena_strdup(&a, "ACC_001"), "ACC_001");
	cr_assert_str_eq(arena_strdup(&a, NULL), "");
	arena_fini(&a);
}
