/*
 * libFuzzer target: whatever bytes arrive on the robots' socket. The
 * envelope decoder, the signature check and the dispatch to a method's
 * input decoder must reject garbage without crashing or leaking.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/dispatch.h"
#include "common/envelope.h"
#include "common/utf8.h"
#include "hbmon/error.h"
#include "hbmon/v1/monitor.pb-c.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
done(const ProtobufCMessage *output, void *data)
{
	(void) output;
	(void) data;
}

/* Every handler just answers: the point is decoding, not recording. */
static void
report_robot(Hbmon__V1__Monitor_Service *svc,
             const Hbmon__V1__RobotHeartbeat *in,
             Hbmon__V1__ReportResult_Closure closure, void *data)
{
	(void) svc;
	(void) in;
	closure(NULL, data);
}

static void
report_batch(Hbmon__V1__Monitor_Service *svc,
             const Hbmon__V1__HeartbeatBatch *in,
             Hbmon__V1__BatchReply_Closure closure, void *data)
{
	(void) svc;
	(void) in;
	closure(NULL, data);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static Hbmon__V1__Monitor_Service monitor;
	Hbmon__V1__RpcRequest *req = NULL;
	struct rpc_call call;
	char why[256];

	if (monitor.base.descriptor == NULL) {
		hbmon__v1__monitor__init(&monitor, NULL);
		monitor.report_robot = report_robot;
		monitor.report_batch = report_batch;
	}
	if (env_request_unpack(data, size, &req, why, sizeof(why)) !=
	    HBMON_OK) {
		/* The sentence goes into a reply: always UTF-8. */
		if (!utf8_valid(why, strlen(why), NULL)) {
			abort();
		}
		return 0;
	}
	(void) env_request_verify(req, "hbs_fuzz", 8);
	rpc_call_init(&call, req, NULL);
	rpc_dispatch(&monitor.base, &call, done);
	if (!utf8_valid(call.message, strlen(call.message), NULL)) {
		abort();
	}
	rpc_call_release(&call);
	hbmon__v1__rpc_request__free_unpacked(req, NULL);
	return 0;
}
