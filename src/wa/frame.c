/*
 * src/wa/frame.c: 3-byte length framing and the client's intro.
 *
 * The reader appends each WebSocket message to one buffer and hands out
 * frames by advancing an offset, so a message holding many frames costs
 * one copy in and no moves; the consumed prefix is dropped at the next
 * feed, when what is left is at most one unfinished frame.
 */
#include <string.h>
#include <stdlib.h>
#include "wa/frame.h"

const uint8_t wa_intro[4] = { 'W', 'A', 6, 3 };

/* "ED" 0 1, then a 3-byte length and the routing bytes (PROTOCOL.md §1) */
static const uint8_t edge_header[4] = { 'E', 'D', 0, 1 };

/* A buffer grown past this is released once it is empty rather than kept:
 * one large frame should not pin its size in memory for the rest of the
 * connection, while the common small buffer is reused without malloc. */
#define KEEP_CAP (256 * 1024)

static void
put_u24(uint8_t *p, size_t v)
{
	p[0] = (uint8_t)(v >> 16);
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)v;
}

static size_t
get_u24(const uint8_t *p)
{
	return (size_t)p[0] << 16 | (size_t)p[1] << 8 | p[2];
}

int
wa_frame_put_intro(struct wa_buf *out, const uint8_t *routing,
    size_t routing_len)
{
	size_t need = sizeof(wa_intro);
	uint8_t *p;
	int rc;

	if (routing != NULL) {
		if (routing_len > WA_FRAME_MAX)
			return WA_ETOOBIG;
		need += sizeof(edge_header) + 3 + routing_len;
	}
	if ((rc = wa_buf_reserve(out, need)) < 0)
		return rc;
	p = out->data + out->len;
	if (routing != NULL) {
		memcpy(p, edge_header, sizeof(edge_header));
		put_u24(p + 4, routing_len);
		if (routing_len > 0)
			memcpy(p + 7, routing, routing_len);
		p += 7 + routing_len;
	}
	memcpy(p, wa_intro, sizeof(wa_intro));
	out->len += need;
	return 0;
}

int
wa_frame_put(struct wa_buf *out, const uint8_t *payload, size_t len)
{
	int rc;

	if (len > WA_FRAME_MAX)
		return WA_ETOOBIG;
	if ((rc = wa_buf_reserve(out, 3 + len)) < 0)
		return rc;
	put_u24(out->data + out->len, len);
	if (len > 0)
		memcpy(out->data + out->len + 3, payload, len);
	out->len += 3 + len;
	return 0;
}

void
wa_frame_reader_init(struct wa_frame_reader *r, size_t limit,
    int expect_intro)
{
	memset(r, 0, sizeof(*r));
	r->limit = limit == 0 || limit > WA_FRAME_MAX ? WA_FRAME_MAX : limit;
	r->expect_intro = expect_intro != 0;
}

void
wa_frame_reader_free(struct wa_frame_reader *r)
{
	wa_buf_free(&r->pending);
	r->off = 0;
}

static int
fail(struct wa_frame_reader *r, int code)
{
	r->failed = code;
	return code;
}

int
wa_frame_feed(struct wa_frame_reader *r, const uint8_t *p, size_t n)
{
	struct wa_buf *b = &r->pending;
	int rc;

	if (r->failed)
		return r->failed;
	if (r->off == b->len) {
		if (b->cap > KEEP_CAP)
			wa_buf_free(b);
		b->len = 0;
	} else if (r->off > 0) {
		memmove(b->data, b->data + r->off, b->len - r->off);
		b->len -= r->off;
	}
	r->off = 0;
	if (n == 0)
		return 0;
	/* a lost piece would leave the stream unparseable: poison */
	if ((rc = wa_buf_put(b, p, n)) < 0)
		return fail(r, rc);
	return 0;
}

/* Whether the avail bytes at p agree with the start of want (a prefix
 * shorter than want can still agree: more may come). */
static int
agrees(const uint8_t *p, size_t avail, const uint8_t *want, size_t wlen)
{
	return memcmp(p, want, avail < wlen ? avail : wlen) == 0;
}

/* 1 when the intro (and any routing header) was consumed, 0 when more
 * bytes are needed, or an error. */
static int
take_intro(struct wa_frame_reader *r)
{
	size_t avail = r->pending.len - r->off, at = 0, rlen;
	const uint8_t *p;

	if (avail == 0)
		return 0;
	p = r->pending.data + r->off;
	if (p[0] == edge_header[0]) {
		if (!agrees(p, avail, edge_header, sizeof(edge_header)))
			return fail(r, WA_EMALFORM);
		if (avail < sizeof(edge_header) + 3)
			return 0;
		rlen = get_u24(p + sizeof(edge_header));
		if (rlen > r->limit)
			return fail(r, WA_ETOOBIG);
		at = sizeof(edge_header) + 3 + rlen;
		if (avail < at)
			return 0;
	}
	if (!agrees(p + at, avail - at, wa_intro, sizeof(wa_intro)))
		return fail(r, WA_EMALFORM);
	if (avail - at < sizeof(wa_intro))
		return 0;
	r->off += at + sizeof(wa_intro);
	r->expect_intro = 0;
	return 1;
}

int
wa_frame_next(struct wa_frame_reader *r, const uint8_t **frame,
    size_t *len)
{
	const uint8_t *p;
	size_t avail, flen;
	int rc;

	if (r->failed)
		return r->failed;
	if (r->expect_intro && (rc = take_intro(r)) <= 0)
		return rc;
	avail = r->pending.len - r->off;
	if (avail < 3)
		return 0;
	p = r->pending.data + r->off;
	flen = get_u24(p);
	if (flen > r->limit)
		return fail(r, WA_ETOOBIG);
	if (avail - 3 < flen)
		return 0;
	*frame = p + 3;
	*len = flen;
	r->off += 3 + flen;
	return 1;
}
