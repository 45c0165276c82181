/*
 * libFuzzer target: the JSON mirror (what `hbctl send FILE.json` reads).
 * Anything it accepts must print back and parse again to the same batch.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/hbjson.h"
#include "hbmon/error.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	Hbmon__V1__HeartbeatBatch *b = NULL;
	char why[256];

	if (hbjson_parse_batch((const char *) data, size, &b, why,
	                       sizeof(why)) != HBMON_OK) {
		return 0;
	}
	for (size_t i = 0; i < b->n_accounts; i++) {
		char *text = hbjson_account_text(b->accounts[i], HBJSON_PRETTY);
		Hbmon__V1__AccountHeartbeat *back = NULL;
		if (text == NULL) {
			abort();
		}
		/* What was accepted and printed must be accepted again. */
		if (hbjson_parse_account(text, strlen(text), &back, why,
		                         sizeof(why)) != HBMON_OK ||
		    strcmp(back->account, b->accounts[i]->account) != 0 ||
		    back->open_orders != b->accounts[i]->open_orders) {
			abort();
		}
		protobuf_c_message_free_unpacked(&back->base, NULL);
		free(text);
	}
	protobuf_c_message_free_unpacked(&b->base, NULL);
	return 0;
}
