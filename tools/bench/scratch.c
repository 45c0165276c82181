/* Temp dirs and free addresses for benchmark runs. */
#include "scratch.h"

#include <errno.h>
#include <ftw.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "hbmon/error.h"

int
scratch_dir_make(char *out, size_t out_len, char *why, size_t why_len)
{
	const char *tmp = getenv("TMPDIR");

	snprintf(out, out_len, "%s/hbmon-bench-XXXXXX",
	         tmp != NULL && tmp[0] != '\0' ? tmp : "/tmp");
	if (mkdtemp(out) == NULL) {
		snprintf(why, why_len, "cannot make a temp dir %s: %s", out,
		         strerror(errno));
		out[0] = '\0';
		return HBMON_EIO;
	}
	return HBMON_OK;
}

static int
remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void) st;
	(void) flag;
	(void) ftw;
	remove(path);
	return 0;
}

void
scratch_dir_remove(const char *dir)
{
	if (dir[0] != '\0') {
		nftw(dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
	}
}

/*
 * Asks the kernel for a free loopback port. Between closing this socket
 * and the server binding the port another program could take it; on a
 * benchmark machine that is rare, and the server then fails loudly.
 */
static int
free_tcp_port(unsigned *out, char *why, size_t why_len)
{
	struct sockaddr_in addr = { 0 };
	socklen_t len = sizeof(addr);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0) {
		snprintf(why, why_len, "cannot open a TCP socket: %s",
		         strerror(errno));
		return HBMON_EIO;
	}
	addr.sin_family = AF_INET;
	addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(fd, (struct sockaddr *) &addr, sizeof(addr)) != 0 ||
	    getsockname(fd, (struct sockaddr *) &addr, &len) != 0) {
		snprintf(why, why_len, "cannot find a free TCP port: %s",
		         strerror(errno));
		close(fd);
		return HBMON_EIO;
	}
	close(fd);
	*out = ntohs(addr.sin_port);
	return HBMON_OK;
}

int
scratch_url(const char *transport, const char *dir, const char *name, char *out,
            size_t out_len, char *why, size_t why_len)
{
	unsigned port;
	int rv;

	if (strcmp(transport, "ipc") == 0) {
		snprintf(out, out_len, "ipc://%s/%s.sock", dir, name);
		return HBMON_OK;
	}
	if (strcmp(transport, "tcp") == 0) {
		if ((rv = free_tcp_port(&port, why, why_len)) != HBMON_OK) {
			return rv;
		}
		snprintf(out, out_len, "tcp://127.0.0.1:%u", port);
		return HBMON_OK;
	}
	snprintf(why, why_len, "unknown transport '%s'", transport);
	return HBMON_EINVAL;
}
