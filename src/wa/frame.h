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

/* Appends the intro (and, when routing is given, the "ED" header before
 * it) to out. */
int wa_frame_put_intro(struct wa_buf *out, const uint8_t *routing,
    size_t routing_len);
/* Appends 3-byte length + payload; WA_ETOOBIG over WA_FRAME_MAX. */
int wa_frame_put(struct wa_buf *out, const uint8_t *payload, size_t len);

/* Reassembling reader.  `limit` caps one frame (<= WA_FRAME_MAX); a longer
 * length prefix is WA_ETOOBIG and poisons the reader: the connection must
 * be closed, since the stream can no longer be trusted. */
struct wa_frame_reader {
	struct wa_buf pending;
	size_t limit;
	int expect_intro;   /* server side: the client's intro comes first */
	int failed;
};

void wa_frame_reader_init(struct wa_frame_reader *r, size_t limit,
    int expect_intro);
void wa_frame_reader_free(struct wa_frame_reader *r);
/* Feeds bytes of one WebSocket message. */
int wa_frame_feed(struct wa_frame_reader *r, const uint8_t *p, size_t n);
/* Next complete frame: returns 1 and points *frame/*len into the reader's
 * buffer (valid until the next feed/next call), 0 when none is complete,
 * or a negative error. */
int wa_frame_next(struct wa_frame_reader *r, const uint8_t **frame,
    size_t *len);

#endif
