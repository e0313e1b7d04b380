/*
 * src/wa/frame.h: the framing under Noise.  Every frame is a 3-byte
 * big-endian length and that many bytes; the client's first WebSocket
 * message starts with the intro "WA" 6 3 (optionally preceded by the
 * "ED" 0 1 routing header).  WebSocket message boundaries mean nothing:
 * the reader reassembles frames split across messages and splits messages
 * holding several frames.
 */
#ifndef SK_WA_FRAME_H
#define SK_WA_FRAME_H

#include "wa/wa.h"

#define WA_FRAME_MAX  0xFFFFFF   /* 2^24 - 1 */

extern const uint8_t wa_intro[4];   /* 'W' 'A' 6 3 */

/* Appends the intro to out; when routing is not NULL, the "ED" 0 1 header
 * with routing_len (3-byte BE length) and the routing bytes go first.
 * WA_ETOOBIG when routing_len is over WA_FRAME_MAX.  On error out is
 * unchanged (both writers). */
int wa_frame_put_intro(struct wa_buf *out, const uint8_t *routing,
    size_t routing_len);
/* Appends 3-byte length + payload; WA_ETOOBIG over WA_FRAME_MAX. */
int wa_frame_put(struct wa_buf *out, const uint8_t *payload, size_t len);

/* Reassembling reader.  `limit` caps one frame (<= WA_FRAME_MAX); a longer
 * length prefix is WA_ETOOBIG and poisons the reader: the connection must
 * be closed, since the stream can no longer be trusted.  The same holds for
 * a wrong intro (WA_EMALFORM, found as soon as the first wrong byte is in)
 * and a routing header longer than `limit` (WA_ETOOBIG).
 * Memory: pending holds at most what one feed brought plus the unfinished
 * frame before it, if the caller drains wa_frame_next after every feed. */
struct wa_frame_reader {
	struct wa_buf pending;
	size_t off;         /* bytes of pending already handed out */
	size_t limit;
	int expect_intro;   /* server side: the client's intro comes first */
	int failed;         /* 0, or the WA_E* code every later call returns */
};

/* limit 0 or over WA_FRAME_MAX means WA_FRAME_MAX. */
void wa_frame_reader_init(struct wa_frame_reader *r, size_t limit,
    int expect_intro);
void wa_frame_reader_free(struct wa_frame_reader *r);
/* Feeds bytes of one WebSocket message (n may be 0).  Only buffers: the
 * checks happen in wa_frame_next. */
int wa_frame_feed(struct wa_frame_reader *r, const uint8_t *p, size_t n);
/* Next complete frame: returns 1 and sets *frame (pointing into the
 * reader's buffer, valid until the next feed, free or init) and *len, 0
 * when none is complete, or a negative error.  A zero-length frame is 1
 * with *len 0. */
int wa_frame_next(struct wa_frame_reader *r, const uint8_t **frame,
    size_t *len);

#endif
