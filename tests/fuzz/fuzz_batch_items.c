/*
 * libFuzzer target: ingest_batch_items, the count of heartbeats in a
 * ReportBatch payload that refuses a batch over accounts_max + 1 before it
 * is decoded. Whatever protobuf-c decodes, the count is never lower than
 * what it decodes: no batch can slip past the cap.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "hbmon/v1/heartbeat.pb-c.h"
#include "server/ingest.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t counted = ingest_batch_items(data, size, SIZE_MAX - 1);
	size_t limited = ingest_batch_items(data, size, 3);
	Hbmon__V1__HeartbeatBatch *b =
	    hbmon__v1__heartbeat_batch__unpack(NULL, size, data);

	/* Stops past the limit (bytes it did not reach are not judged),
	 * and agrees with the whole count below it. */
	if (limited > 4 || (counted > 3 && limited != 4) ||
	    (counted != 0 && counted <= 3 && limited != counted)) {
		abort();
	}
	if (b != NULL) {
		size_t decoded = (b->robot != NULL ? 1 : 0) + b->n_accounts;
		if (counted < decoded) {
			abort();
		}
		hbmon__v1__heartbeat_batch__free_unpacked(b, NULL);
	}
	return 0;
}
