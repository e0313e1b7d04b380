/* src/wa/wa.c: error strings and the byte buffer shared by src/wa/. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "wa/wa.h"

const char *
wa_strerror(int code)
{
	switch (code) {
	case WA_OK: return "ok";
	case WA_ENOMEM: return "out of memory";
	case WA_EMALFORM: return "malformed input";
	case WA_ETRUNC: return "truncated input";
	case WA_ETOOBIG: return "input over the size limit";
	case WA_EDEPTH: return "nesting over the depth limit";
	case WA_ECRYPTO: return "cryptographic failure";
	case WA_ECOUNTER: return "nonce counter exhausted";
	case WA_ECERT: return "certificate rejected";
	case WA_EPROTO: return "protocol violation";
	case WA_ESTATE: return "not allowed in this state";
	default: return "unknown error";
	}
}

void
wa_say(char *why, size_t whylen, const char *msg)
{
	if (why != NULL && whylen > 0)
		snprintf(why, whylen, "%s", msg);
}

int
wa_buf_reserve(struct wa_buf *b, size_t extra)
{
	size_t need, cap;
	uint8_t *p;

	if (extra > SIZE_MAX - b->len)
		return WA_ETOOBIG;
	need = b->len + extra;
	if (need <= b->cap)
		return 0;
	cap = b->cap ? b->cap : 256;
	while (cap < need)
		cap = cap > SIZE_MAX / 2 ? need : cap * 2;
	p = realloc(b->data, cap);
	if (p == NULL)
		return WA_ENOMEM;
	b->data = p;
	b->cap = cap;
	return 0;
}

int
wa_buf_put(struct wa_buf *b, const void *p, size_t n)
{
	int rc = wa_buf_reserve(b, n);
	if (rc < 0)
		return rc;
	if (n)
		memcpy(b->data + b->len, p, n);
	b->len += n;
	return 0;
}

void
wa_buf_free(struct wa_buf *b)
{
	free(b->data);
	b->data = NULL;
	b->len = b->cap = 0;
}
