/*
 * src/wa/node_zlib.c: transport frames around nodes: the flag byte and,
 * when its bit 0x02 is set, the zlib inflation before decoding.
 */
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>
#include "wa/node.h"

/* zlib stream (RFC 1950, what Node's zlib.inflate reads) into a malloc'd
 * buffer of at most WA_NODE_MAX_INFLATE bytes.  The buffer starts at a
 * guess and doubles, so a bomb costs at most the cap; bytes after the end
 * of the stream are an error. */
static int
inflate_all(const uint8_t *in, size_t n, uint8_t **outp, size_t *outn)
{
	const size_t limit = (size_t)WA_NODE_MAX_INFLATE + 1;
	z_stream z;
	uint8_t *buf, *p;
	size_t cap;
	int zrc, rc;

	if (n > UINT_MAX)
		return WA_ETOOBIG;
	cap = n < limit / 4 ? n * 4 : limit;
	if (cap < 4096)
		cap = 4096;
	if ((buf = malloc(cap)) == NULL)
		return WA_ENOMEM;
	memset(&z, 0, sizeof(z));
	if (inflateInit(&z) != Z_OK) {
		free(buf);
		return WA_ENOMEM;
	}
	z.next_in = (Bytef *)(uintptr_t)in;
	z.avail_in = (uInt)n;
	for (;;) {
		z.next_out = buf + z.total_out;
		z.avail_out = (uInt)(cap - z.total_out);
		zrc = inflate(&z, Z_NO_FLUSH);
		if (zrc == Z_STREAM_END) {
			/* one byte over the cap is how a bomb shows */
			rc = z.avail_in != 0 ? WA_EMALFORM :
			    z.total_out > WA_NODE_MAX_INFLATE ? WA_ETOOBIG : 0;
			break;
		}
		if (zrc == Z_MEM_ERROR) {
			rc = WA_ENOMEM;
			break;
		}
		if (zrc != Z_OK && zrc != Z_BUF_ERROR) {
			rc = WA_EMALFORM;   /* Z_DATA_ERROR, Z_NEED_DICT */
			break;
		}
		if (z.avail_out != 0) {
			rc = WA_ETRUNC;     /* stopped with room left: no input */
			break;
		}
		if (cap == limit) {
			rc = WA_ETOOBIG;
			break;
		}
		cap = cap < limit / 2 ? cap * 2 : limit;
		if ((p = realloc(buf, cap)) == NULL) {
			rc = WA_ENOMEM;
			break;
		}
		buf = p;
	}
	*outn = z.total_out;
	inflateEnd(&z);
	if (rc < 0) {
		free(buf);
		return rc;
	}
	*outp = buf;
	return 0;
}

int
wa_node_decode_frame(const uint8_t *buf, size_t len, struct wa_arena *a,
    struct wa_node **out)
{
	uint8_t *plain;
	size_t n;
	int rc;

	if (len == 0)
		return WA_ETRUNC;
	if ((buf[0] & 0x02) == 0)
		return wa_node_decode(buf + 1, len - 1, a, out);
	if ((rc = inflate_all(buf + 1, len - 1, &plain, &n)) < 0)
		return rc;
	rc = wa_node_decode(plain, n, a, out);
	free(plain);
	return rc;
}
