/* common/bytes: storage amounts as alerts and logs print them. */
#include <criterion/criterion.h>

#include "common/bytes.h"

static void
assert_human(int64_t bytes, const char *want)
{
	char buf[24];

	cr_assert_str_eq(bytes_human(bytes, buf, sizeof(buf)), want,
	                 "%lld bytes", (long long) bytes);
}

Test(bytes, binary_units_one_decimal_below_ten)
{
	assert_human(0, "0 B");
	assert_human(1023, "1023 B");
	assert_human(1024, "1.0 KiB");
	assert_human(1536, "1.5 KiB");
	/* Truncated, never rounded up into the next figure. */
	assert_human(10 * 1024 - 1, "9.9 KiB");
	assert_human(10 * 1024, "10 KiB");
	assert_human(180 * 1024 * 1024, "180 MiB");
	assert_human((int64_t) 256 * 1024 * 1024, "256 MiB");
	assert_human((int64_t) 3 * 1024 * 1024 * 1024 / 2, "1.5 GiB");
	assert_human((int64_t) 5 << 40, "5.0 TiB");
	assert_human((int64_t) 5000 << 40, "5000 TiB");
	assert_human(-1, "unknown");
}

Test(bytes, never_overflows_its_buffer)
{
	char small[5];

	bytes_human((int64_t) 180 * 1024 * 1024, small, sizeof(small));
	cr_assert_str_eq(small, "180 ");
	cr_assert_eq(bytes_human(1, small, 0), small);
}
