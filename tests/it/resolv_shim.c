/*
 * tests/it/resolv_shim.c: an LD_PRELOAD getaddrinfo() for tests/it/
 * reresolve.sh.  A lookup of the name in SK_SHIM_NAME answers the address
 * written in the file SK_SHIM_FILE (read at every call, so the test can
 * "move" the host while the daemon runs) and appends "NAME ADDRESS" to
 * SK_SHIM_LOG; every other lookup goes to the real getaddrinfo().  Loopback
 * addresses only: anything else in the file is refused (EAI_FAIL).
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef int gai_fn(const char *, const char *, const struct addrinfo *,
    struct addrinfo **);

int
getaddrinfo(const char *node, const char *service,
    const struct addrinfo *hints, struct addrinfo **res)
{
	static gai_fn *real;
	const char *name = getenv("SK_SHIM_NAME");
	const char *file = getenv("SK_SHIM_FILE");
	const char *log = getenv("SK_SHIM_LOG");
	char addr[64] = "";
	FILE *f;

	if (real == NULL && (real = (gai_fn *)dlsym(RTLD_NEXT,
	    "getaddrinfo")) == NULL)
		return EAI_SYSTEM;
	if (node == NULL || name == NULL || file == NULL ||
	    strcmp(node, name) != 0)
		return real(node, service, hints, res);
	if ((f = fopen(file, "r")) != NULL) {
		if (fgets(addr, sizeof(addr), f) == NULL)
			addr[0] = '\0';
		fclose(f);
	}
	addr[strcspn(addr, " \t\r\n")] = '\0';
	if (log != NULL && (f = fopen(log, "a")) != NULL) {
		fprintf(f, "%s %s\n", node, addr);
		fclose(f);
	}
	if (strncmp(addr, "127.", 4) != 0)
		return EAI_FAIL;
	return real(addr, service, hints, res);
}
