/* nng errors -> hbmon errors: the table. */
#include "common/nngerr.h"

#include <nng/nng.h>

#include "hbmon/error.h"

#define UNAVAIL HBMON_EUNAVAIL

static const struct {
	int nng;
	int by_op[3]; /* indexed by enum nngerr_op */
} table[] = {
	/*                    DIAL            IO               LISTEN */
	{ NNG_ECONNREFUSED, { UNAVAIL, UNAVAIL, HBMON_EIO } },
	{ NNG_ENOENT, { UNAVAIL, UNAVAIL, HBMON_EIO } },
	{ NNG_EUNREACHABLE, { UNAVAIL, UNAVAIL, HBMON_EIO } },
	{ NNG_ETIMEDOUT, { UNAVAIL, HBMON_ETIMEDOUT, HBMON_EIO } },
	{ NNG_ECLOSED, { UNAVAIL, HBMON_ECLOSED, HBMON_EIO } },
	{ NNG_ECANCELED, { UNAVAIL, HBMON_ECLOSED, HBMON_EIO } },
	{ NNG_EPROTO, { UNAVAIL, HBMON_EPROTO, HBMON_EIO } },
	{ NNG_EPERM, { HBMON_EPERM, UNAVAIL, HBMON_EPERM } },
	{ NNG_EADDRINVAL, { HBMON_EINVAL, UNAVAIL, HBMON_EINVAL } },
	{ NNG_ENOTSUP, { HBMON_EINVAL, UNAVAIL, HBMON_EINVAL } },
	{ NNG_EINVAL, { HBMON_EINVAL, UNAVAIL, HBMON_EINVAL } },
	{ NNG_EADDRINUSE, { UNAVAIL, UNAVAIL, HBMON_EBUSY } },
	{ NNG_ENOMEM, { HBMON_ENOMEM, HBMON_ENOMEM, HBMON_ENOMEM } },
	{ NNG_ECRYPTO, { HBMON_EAUTH, HBMON_EAUTH, HBMON_EIO } },
	{ NNG_EPEERAUTH, { HBMON_EAUTH, HBMON_EAUTH, HBMON_EIO } },
};

int
nngerr_map(int nng_rv, enum nngerr_op op)
{
	for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++) {
		if (table[i].nng == nng_rv) {
			return table[i].by_op[op];
		}
	}
	return op == NNGERR_LISTEN ? HBMON_EIO : UNAVAIL;
}
