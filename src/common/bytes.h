/*
 * Amounts of storage as people read them in alerts and logs ("180 MiB",
 * "12.5 KiB", "0 B"): binary units, as the config files write sizes.
 */
#ifndef HBMON_COMMON_BYTES_H
#define HBMON_COMMON_BYTES_H

#include <stddef.h>
#include <stdint.h>

/*
 * Formats bytes with the largest binary unit that keeps the number at
 * least 1 (B, KiB, MiB, GiB, TiB), with one decimal below 10 and none
 * above: 0 -> "0 B", 1536 -> "1.5 KiB", 188743680 -> "180 MiB"; a negative
 * amount is "unknown". Always NUL-terminates when buf_len > 0 (24 bytes
 * always suffice). Returns buf. Thread-safe, no allocation.
 */
char *bytes_human(int64_t bytes, char *buf, size_t buf_len);

#endif
