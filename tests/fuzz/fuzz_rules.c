/*
 * libFuzzer target: a ReportBatch payload as a robot could send it, through
 * protobuf-c and every validation rule the server applies.
 */
#include <stddef.h>
#include <stdint.h>

#include "hbmon/v1/heartbeat.pb-c.h"
#include "server/rules.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	Hbmon__V1__HeartbeatBatch *b =
	    hbmon__v1__heartbeat_batch__unpack(NULL, size, data);
	char why[256];
	struct rfc3339_time ts;

	if (b == NULL) {
		return 0;
	}
	if (b->robot != NULL) {
		(void) rules_check_robot(b->robot, &ts, why, sizeof(why));
		(void) rules_health_allowed((int) b->robot->status,
		                            (int) b->robot->active_tasks % 5);
	}
	for (size_t i = 0; i < b->n_accounts; i++) {
		(void) rules_check_account(b->accounts[i], &ts, why,
		                           sizeof(why));
		(void) rules_account_allowed((int) b->accounts[i]->status,
		                             (int) b->accounts[i]->open_orders %
		                                 6);
	}
	hbmon__v1__heartbeat_batch__free_unpacked(b, NULL);
	return 0;
}
