/* nng errors in hbmon's words (common/nngerr.h). */
#include <criterion/criterion.h>

#include <nng/nng.h>

#include "common/nngerr.h"
#include "hbmon/error.h"

Test(nngerr, a_server_not_there_is_unavailable_when_dialling, .timeout = 10)
{
	static const int gone[] = { NNG_ECONNREFUSED, NNG_ENOENT,
		                    NNG_EUNREACHABLE, NNG_ETIMEDOUT,
		                    NNG_ECLOSED };

	for (size_t i = 0; i < sizeof(gone) / sizeof(gone[0]); i++) {
		cr_assert_eq(nngerr_map(gone[i], NNGERR_DIAL), HBMON_EUNAVAIL,
		             "%s", nng_strerror(gone[i]));
	}
	cr_assert_eq(nngerr_map(NNG_EPERM, NNGERR_DIAL), HBMON_EPERM);
	cr_assert_eq(nngerr_map(NNG_EADDRINVAL, NNGERR_DIAL), HBMON_EINVAL);
	cr_assert_eq(nngerr_map(NNG_EPEERAUTH, NNGERR_DIAL), HBMON_EAUTH);
	cr_assert_eq(nngerr_map(NNG_ECRYPTO, NNGERR_DIAL), HBMON_EAUTH);
}

Test(nngerr, a_call_tells_time_out_from_close_and_garbage, .timeout = 10)
{
	cr_assert_eq(nngerr_map(NNG_ETIMEDOUT, NNGERR_IO), HBMON_ETIMEDOUT);
	cr_assert_eq(nngerr_map(NNG_ECLOSED, NNGERR_IO), HBMON_ECLOSED);
	cr_assert_eq(nngerr_map(NNG_ECANCELED, NNGERR_IO), HBMON_ECLOSED);
	cr_assert_eq(nngerr_map(NNG_EPROTO, NNGERR_IO), HBMON_EPROTO);
	cr_assert_eq(nngerr_map(NNG_ECONNSHUT, NNGERR_IO), HBMON_EUNAVAIL);
	cr_assert_eq(nngerr_map(NNG_ECONNRESET, NNGERR_IO), HBMON_EUNAVAIL);
	cr_assert_eq(nngerr_map(NNG_EPEERAUTH, NNGERR_IO), HBMON_EAUTH);
}

Test(nngerr, a_listener_says_busy_invalid_or_io, .timeout = 10)
{
	cr_assert_eq(nngerr_map(NNG_EADDRINUSE, NNGERR_LISTEN), HBMON_EBUSY);
	cr_assert_eq(nngerr_map(NNG_EADDRINVAL, NNGERR_LISTEN), HBMON_EINVAL);
	cr_assert_eq(nngerr_map(NNG_ENOTSUP, NNGERR_LISTEN), HBMON_EINVAL);
	cr_assert_eq(nngerr_map(NNG_EPERM, NNGERR_LISTEN), HBMON_EPERM);
	cr_assert_eq(nngerr_map(NNG_ECRYPTO, NNGERR_LISTEN), HBMON_EIO);
}

Test(nngerr, memory_is_memory_and_the_rest_has_a_default, .timeout = 10)
{
	for (int op = NNGERR_DIAL; op <= NNGERR_LISTEN; op++) {
		cr_assert_eq(nngerr_map(NNG_ENOMEM, op), HBMON_ENOMEM);
	}
	cr_assert_eq(nngerr_map(NNG_EINTERNAL, NNGERR_DIAL), HBMON_EUNAVAIL);
	cr_assert_eq(nngerr_map(NNG_EINTERNAL, NNGERR_IO), HBMON_EUNAVAIL);
	cr_assert_eq(nngerr_map(NNG_EINTERNAL, NNGERR_LISTEN), HBMON_EIO);
	cr_assert_eq(nngerr_map(12345, NNGERR_LISTEN), HBMON_EIO);
}
