/*
 * src/store/pq_dl.c: libpq is opened on the first DATABASE_URL, not at
 * exec.  libpq drags in ~20 libraries (libldap, libgnutls, libp11-kit,
 * libkrb5, libgssapi, libsasl2, libnettle, libgmp, ...): ~3.5 MiB of RSS
 * in a process that runs on the file store alone.
 */
#define PQ_DL_IMPL
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "store/pq_dl.h"

struct pq_api pq_api;
static int loaded;

int
pq_load(char *err, size_t errlen)
{
	void *h;
	int gnutls_env;

	if (loaded)
		return 0;
	/* libgnutls (libldap's TLS, which libpq uses only for LDAP service
	 * lookups) initialises itself in its constructor: ~0.8 MiB of RSS.
	 * libldap calls gnutls_global_init() itself when it needs TLS, so
	 * the implicit one is skipped -- only around this dlopen, the
	 * environment is as it was afterwards. */
	gnutls_env = getenv("GNUTLS_NO_IMPLICIT_INIT") == NULL;
	if (gnutls_env)
		setenv("GNUTLS_NO_IMPLICIT_INIT", "1", 1);
	h = dlopen("libpq.so.5", RTLD_NOW | RTLD_LOCAL);
	if (gnutls_env)
		unsetenv("GNUTLS_NO_IMPLICIT_INIT");
	if (h == NULL) {
		snprintf(err, errlen, "cannot load libpq (install libpq5, or "
		    "unset DATABASE_URL for the file store alone): %s",
		    dlerror());
		return -1;
	}
#define PQ_SYM(f) \
	if ((*(void **)&pq_api.f = dlsym(h, #f)) == NULL) { \
		snprintf(err, errlen, "libpq.so.5 lacks %s (too old?)", #f); \
		memset(&pq_api, 0, sizeof(pq_api)); \
		dlclose(h); \
		return -1; \
	}
	PQ_FUNCS(PQ_SYM)
#undef PQ_SYM
	loaded = 1;
	return 0;
}
