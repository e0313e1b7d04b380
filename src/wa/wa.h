/*
 * src/wa/wa.h: what every part of the wire-protocol layer shares.
 *
 * src/wa/ is pure: bytes in, bytes out, no sockets, no clocks (times are
 * parameters), no globals.  Functions return 0 (or a length) on success and
 * a negative WA_E* code on failure; where a code is not enough, the caller
 * passes a `char *why, size_t whylen` buffer that receives one short line.
 */
#ifndef SK_WA_H
#define SK_WA_H

#include <stddef.h>
#include <stdint.h>

enum {
	WA_OK       = 0,
	WA_ENOMEM   = -1,   /* allocation failed */
	WA_EMALFORM = -2,   /* input does not follow the format */
	WA_ETRUNC   = -3,   /* input ends early */
	WA_ETOOBIG  = -4,   /* over a size limit */
	WA_EDEPTH   = -5,   /* nesting over the depth limit */
	WA_ECRYPTO  = -6,   /* OpenSSL failed, or authentication failed */
	WA_ECOUNTER = -7,   /* a nonce counter would wrap */
	WA_ECERT    = -8,   /* certificate chain rejected */
	WA_EPROTO   = -9,   /* message out of order / unexpected */
	WA_ESTATE   = -10,  /* call not allowed in this state */
};

const char *wa_strerror(int code);
/* Puts one line into a caller's `why` buffer; NULL or 0 length: nothing. */
void wa_say(char *why, size_t whylen, const char *msg);

/* A growable byte buffer; data is malloc'd. */
struct wa_buf {
	uint8_t *data;
	size_t len, cap;
};
int wa_buf_reserve(struct wa_buf *b, size_t extra);
int wa_buf_put(struct wa_buf *b, const void *p, size_t n);
void wa_buf_free(struct wa_buf *b);

#endif
