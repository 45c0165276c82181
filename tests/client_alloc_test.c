/*
 * The client's promise (SPEC §7): no heap allocation per heartbeat. This
 * program replaces malloc, calloc, realloc and the aligned allocators for
 * the whole process (every thread, nng's and the client's included) with
 * counting wrappers around glibc's own, then sends heartbeats to the real
 * hbmon-server, which runs in another process, and asserts that the count
 * did not move.
 *
 * Under AddressSanitizer or ThreadSanitizer the sanitizer owns malloc and
 * the wrappers would break it, so the tests are skipped there; the plain
 * build (the first half of CI) is where this proof runs.
 */
#include <criterion/criterion.h>
#include <malloc.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/clock.h"
#include "harness.h"
#include "hbmon/client.h"

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define COUNTING 0
#else
#define COUNTING 1
#endif

#define SECRET "hbs_alloc_test_secret"

static atomic_long allocations;

#if COUNTING
extern void *__libc_malloc(size_t n);
extern void *__libc_calloc(size_t n, size_t size);
extern void *__libc_realloc(void *p, size_t n);
extern void *__libc_memalign(size_t align, size_t n);

void *
malloc(size_t n)
{
	atomic_fetch_add(&allocations, 1);
	return __libc_malloc(n);
}

void *
calloc(size_t n, size_t size)
{
	atomic_fetch_add(&allocations, 1);
	return __libc_calloc(n, size);
}

void *
realloc(void *p, size_t n)
{
	atomic_fetch_add(&allocations, 1);
	return __libc_realloc(p, n);
}

void *
aligned_alloc(size_t align, size_t n)
{
	atomic_fetch_add(&allocations, 1);
	return __libc_memalign(align, n);
}

void *
memalign(size_t align, size_t n)
{
	atomic_fetch_add(&allocations, 1);
	return __libc_memalign(align, n);
}

int
posix_memalign(void **out, size_t align, size_t n)
{
	void *p;

	atomic_fetch_add(&allocations, 1);
	if ((p = __libc_memalign(align, n)) == NULL) {
		return 12; /* ENOMEM */
	}
	*out = p;
	return 0;
}
#endif

static struct harness_server srv;

static void
server_up(void)
{
	if (!COUNTING) {
		cr_skip_test("the sanitizer owns malloc in this build");
	}
	harness_server_init(&srv);
	harness_robot_add(&srv, "R1", SECRET);
	cr_assert(harness_server_start(&srv, NULL),
	          "hbmon-server did not start");
}

static void
server_down(void)
{
	if (COUNTING) {
		harness_server_fini(&srv);
	}
}

TestSuite(client, .init = server_up, .fini = server_down);

#define ACCOUNTS 100

static void
make_accounts(hbmon_account_state *a, char (*names)[16])
{
	for (int i = 0; i < ACCOUNTS; i++) {
		snprintf(names[i], sizeof(names[i]), "ACC_%03d", i + 1);
		a[i] = (hbmon_account_state){ names[i], HBMON_ACCOUNT_ACTIVE,
			                      true, (uint32_t) i };
	}
}

Test(client, sync_heartbeats_allocate_nothing_once_connected, .timeout = 120)
{
	static hbmon_account_state accounts[ACCOUNTS];
	static char names[ACCOUNTS][16];
	static hbmon_result per[ACCOUNTS];
	hbmon_robot_state robot = { HBMON_HEALTHY, ACCOUNTS, 3 };
	hbmon_result res, r_robot;
	hbmon_client *c = NULL;
	long before, after;
	int failures = 0;

	make_accounts(accounts, names);
	cr_assert_eq(hbmon_client_open(&c, srv.listen, "R1", SECRET, ACCOUNTS),
	             HBMON_OK);
	/* The first call connects: that allocates inside nng, once. */
	cr_assert_eq(hbmon_report_robot(c, &robot, &res), HBMON_OK, "%s",
	             res.message);

	before = atomic_load(&allocations);
	for (int i = 0; i < 300; i++) {
		failures += hbmon_report_robot(c, &robot, &res) != HBMON_OK;
		failures += hbmon_report_account(c, &accounts[i % ACCOUNTS],
		                                 &res) != HBMON_OK;
		failures += hbmon_report_batch(c, &robot, accounts, ACCOUNTS,
		                               &res, &r_robot, per) != HBMON_OK;
	}
	after = atomic_load(&allocations);

	cr_assert_eq(failures, 0, "last: %s", res.message);
	cr_assert_eq(after - before, 0,
	             "%ld heap allocations for 900 calls (30,600 heartbeats)",
	             after - before);
	hbmon_client_close(c);
}

Test(client, automatic_mode_allocates_nothing_per_batch, .timeout = 120)
{
	static hbmon_account_state accounts[ACCOUNTS];
	static char names[ACCOUNTS][16];
	hbmon_robot_state robot = { HBMON_HEALTHY, ACCOUNTS, 3 };
	hbmon_client_health h;
	hbmon_client *c = NULL;
	long before, after;
	uint64_t first;

	make_accounts(accounts, names);
	cr_assert_eq(hbmon_client_open(&c, srv.listen, "R1", SECRET, ACCOUNTS),
	             HBMON_OK);
	hbmon_client_set_interval(c, 5, 10);
	hbmon_set_robot(c, &robot);
	for (int i = 0; i < ACCOUNTS; i++) {
		cr_assert_eq(hbmon_set_account(c, &accounts[i]), HBMON_OK);
	}
	/* Starting makes the thread; its first batch connects. */
	cr_assert_eq(hbmon_client_start(c), HBMON_OK);
	do {
		usleep(5000);
		hbmon_client_get_health(c, &h);
	} while (h.successes == 0 && h.attempts < 100);
	cr_assert_gt(h.successes, 0, "%s", h.last_result.message);
	first = h.successes;

	before = atomic_load(&allocations);
	/* The robot keeps changing its state while batches go out. */
	for (int round = 0; h.successes < first + 50 && round < 20000;
	     round++) {
		accounts[round % ACCOUNTS].open_orders = (uint32_t) round;
		hbmon_set_account(c, &accounts[round % ACCOUNTS]);
		robot.active_tasks = (uint32_t) round;
		hbmon_set_robot(c, &robot);
		usleep(1000);
		hbmon_client_get_health(c, &h);
	}
	after = atomic_load(&allocations);

	cr_assert_geq(h.successes, first + 50, "%s", h.last_result.message);
	cr_assert_eq(h.consecutive_failures, 0, "%s", h.last_result.message);
	cr_assert_eq(after - before, 0, "%ld heap allocations for %llu batches",
	             after - before,
	             (unsigned long long) (h.successes - first));
	hbmon_client_stop(c);
	hbmon_client_close(c);
}

Test(client, the_counter_sees_allocations, .timeout = 30)
{
	/* Guards the proof itself: if the wrappers were not in effect, the
	 * two tests above would pass for the wrong reason. */
	long before = atomic_load(&allocations);
	char *volatile p = malloc(32);

	cr_assert_not_null(p);
	free(p);
	cr_assert_eq(atomic_load(&allocations) - before, 1);
}
