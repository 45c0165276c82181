/*
 * hbmon error codes, shared by the robot client library and every hbmon
 * program. gRPC status numbers exist only on the wire; everything inside a
 * process speaks hbmon_err.
 */
#ifndef HBMON_ERROR_H
#define HBMON_ERROR_H

#ifdef __cplusplus
extern "C" {
#endif

typedef enum hbmon_err {
	HBMON_OK = 0,        /* success */
	HBMON_EINVAL = 1,    /* an argument or input could not be understood */
	HBMON_ENOMEM = 2,    /* out of memory or a fixed buffer is too small */
	HBMON_ENOENT = 3,    /* no such robot, account, file or record */
	HBMON_EEXIST = 4,    /* it already exists */
	HBMON_EIO = 5,       /* a file, database or system call failed */
	HBMON_ETIMEDOUT = 6, /* no answer within the time allowed */
	HBMON_EAUTH = 7,  /* authentication failed (secret, signature, clock) */
	HBMON_EPERM = 8,  /* authenticated, but not allowed to do this */
	HBMON_EPROTO = 9, /* the peer sent something that is not hbmon */
	HBMON_ECLOSED = 10,  /* the object was closed or is shutting down */
	HBMON_EUNAVAIL = 11, /* the server cannot be reached right now */
	HBMON_EBUSY = 12,   /* in use, e.g. a data dir held by another server */
	HBMON_ERANGE = 13,  /* a value is outside its allowed range */
	HBMON_EREMOTE = 14, /* the server answered with an error status */
	HBMON_EINTERNAL = 15 /* a bug or broken invariant; please report it */
} hbmon_err;

/*
 * Returns a short English description of err, e.g. "invalid argument".
 * Never NULL; unknown codes give "unknown error". Thread-safe: the strings
 * are static.
 */
const char *hbmon_strerror(int err);

#ifdef __cplusplus
}
#endif

#endif /* HBMON_ERROR_H */
