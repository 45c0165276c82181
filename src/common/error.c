/* hbmon_strerror: text for every hbmon_err. */
#include "hbmon/error.h"

const char *
hbmon_strerror(int err)
{
	switch (err) {
	case HBMON_OK:
		return "success";
	case HBMON_EINVAL:
		return "invalid argument";
	case HBMON_ENOMEM:
		return "out of memory";
	case HBMON_ENOENT:
		return "not found";
	case HBMON_EEXIST:
		return "already exists";
	case HBMON_EIO:
		return "input/output error";
	case HBMON_ETIMEDOUT:
		return "timed out";
	case HBMON_EAUTH:
		return "authentication failed";
	case HBMON_EPERM:
		return "permission denied";
	case HBMON_EPROTO:
		return "protocol error";
	case HBMON_ECLOSED:
		return "closed";
	case HBMON_EUNAVAIL:
		return "server unavailable";
	case HBMON_EBUSY:
		return "busy";
	case HBMON_ERANGE:
		return "value out of range";
	case HBMON_EREMOTE:
		return "server returned an error";
	case HBMON_EINTERNAL:
		return "internal error";
	}
	return "unknown error";
}
