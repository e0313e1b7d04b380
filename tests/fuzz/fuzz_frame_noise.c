/*
 * tests/fuzz/fuzz_frame_noise.c: the path every byte from the network
 * takes before the node decoder: WebSocket messages -> wa_frame_reader ->
 * AES-GCM decryption.
 *
 * Input: byte 0 chooses the setup
 *   bit 0     server side (the reader expects the client's intro)
 *   bits 1-2  frame limit: WA_FRAME_MAX, 16, 300, 4096
 *   bit 3     the receive counter starts at 2^32 - 2, two short of the end
 *   bit 4     decrypt in place (out == in)
 *   bit 5     decrypt as a handshake message (DecryptAndHash, ad = h)
 * then WebSocket messages, each one length byte and that many bytes (the
 * last one may be short).  Every complete frame is decrypted with a cipher
 * whose key is fuzz_key; the seeds hold frames encrypted with it.
 *
 * Beyond "no crash, no leak", it checks:
 *  - the frames (and the final error) do not depend on how the stream was
 *    cut: a second reader fed the whole stream at once must agree;
 *  - no frame is longer than the limit;
 *  - a decryption either succeeds, advancing the counter by one, and the
 *    plaintext encrypts back to the frame; or fails with ETRUNC, ECRYPTO
 *    or ECOUNTER and changes neither the counter nor h.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "wa/frame.h"
#include "wa/noise.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The seeds are encrypted with these (tests/fuzz/seeds/fuzz_frame_noise/
 * was made by encrypting with them independently of this code). */
static const uint8_t fuzz_key[32] = {
	0x73, 0x6b, 0x79, 0x6b, 0x65, 0x65, 0x70, 0x65, 0x72, 0x20, 0x66,
	0x75, 0x7a, 0x7a, 0x20, 0x6b, 0x65, 0x79, 0x20, 0x30, 0x31, 0x32,
	0x33, 0x34, 0x35, 0x36, 0x37, 0x38, 0x39, 0x61, 0x62, 0x63
};  /* "skykeeper fuzz key 0123456789abc" */
static const uint8_t fuzz_ikm[32] = {
	0x68, 0x61, 0x6e, 0x64, 0x73, 0x68, 0x61, 0x6b, 0x65, 0x20, 0x69,
	0x6b, 0x6d, 0x20, 0x30, 0x31, 0x32, 0x33, 0x34, 0x35, 0x36, 0x37,
	0x38, 0x39, 0x61, 0x62, 0x63, 0x64, 0x65, 0x66, 0x67, 0x68
};  /* "handshake ikm 0123456789abcdefgh" */

static const size_t limits[4] = { WA_FRAME_MAX, 16, 300, 4096 };

#define CHECK(cond) do { if (!(cond)) abort(); } while (0)

struct opener {
	struct wa_cipher c;     /* transport: wa_cipher_decrypt */
	struct wa_noise n;      /* handshake: wa_noise_decrypt_and_hash */
	int handshake, in_place;
};

static void
open_frame(struct opener *o, const uint8_t *f, size_t len)
{
	struct wa_cipher *c = o->handshake ? &o->n.c : &o->c;
	uint64_t n0 = c->n;
	uint8_t h0[32], *in, *out, *again;
	size_t olen = 0;
	int rc;

	memcpy(h0, o->n.h, 32);
	in = malloc(len + 1);
	out = o->in_place ? in : malloc(len + 1);
	CHECK(in != NULL && out != NULL);
	if (len > 0)
		memcpy(in, f, len);
	if (o->handshake)
		rc = wa_noise_decrypt_and_hash(&o->n, in, len, out, &olen);
	else if ((rc = wa_cipher_decrypt(c, NULL, 0, in, len, out)) == 0)
		olen = len - WA_NOISE_TAG;
	if (rc == 0) {
		struct wa_cipher e;

		CHECK(len >= WA_NOISE_TAG && olen == len - WA_NOISE_TAG);
		CHECK(c->n == n0 + 1);
		CHECK(!o->handshake || memcmp(o->n.h, h0, 32) != 0);
		/* what was accepted is exactly what the key makes of it */
		wa_cipher_init(&e, c->k);
		e.n = n0;
		again = malloc(len + 1);
		CHECK(again != NULL);
		CHECK(wa_cipher_encrypt(&e, o->handshake ? h0 : NULL,
		    o->handshake ? 32 : 0, out, olen, again) == 0);
		CHECK(memcmp(again, f, len) == 0);
		free(again);
		wa_cipher_wipe(&e);
	} else {
		CHECK(rc == WA_ETRUNC || rc == WA_ECRYPTO || rc == WA_ECOUNTER);
		CHECK(rc != WA_ETRUNC || len < WA_NOISE_TAG);
		CHECK(rc != WA_ECOUNTER || n0 > WA_NOISE_COUNTER_MAX);
		CHECK(c->n == n0);
		CHECK(memcmp(o->n.h, h0, 32) == 0);
	}
	if (out != in)
		free(out);
	free(in);
}

/* Hands every complete frame to the opener (when given) and re-frames it
 * into log; returns 0 or the reader's error. */
static int
drain(struct wa_frame_reader *r, struct wa_buf *log, struct opener *o)
{
	const uint8_t *f;
	size_t len;
	int rc;

	while ((rc = wa_frame_next(r, &f, &len)) == 1) {
		CHECK(len <= r->limit);
		CHECK(wa_frame_put(log, f, len) == 0);
		if (o != NULL)
			open_frame(o, f, len);
	}
	CHECK(rc == 0 || rc == WA_ETOOBIG || rc == WA_EMALFORM);
	return rc;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint8_t intro[4] = { 'W', 'A', 6, 3 };
	struct wa_frame_reader cut, whole;
	struct wa_buf all = { 0 }, log_cut = { 0 }, log_whole = { 0 };
	struct opener o;
	int err_cut = 0, err_whole, server;
	size_t at = 1, limit;

	if (size < 1)
		return 0;
	server = data[0] & 1;
	limit = limits[(data[0] >> 1) & 3];
	memset(&o, 0, sizeof(o));
	o.in_place = (data[0] >> 4) & 1;
	o.handshake = (data[0] >> 5) & 1;
	wa_cipher_init(&o.c, fuzz_key);
	CHECK(wa_noise_init(&o.n, WA_NOISE_WHATSAPP, 1, intro, 4) == 0);
	CHECK(wa_noise_mix_key(&o.n, fuzz_ikm) == 0);
	if (data[0] & 8)
		o.c.n = o.n.c.n = WA_NOISE_COUNTER_MAX - 1;

	wa_frame_reader_init(&cut, limit, server);
	while (at < size) {
		size_t n = data[at++];
		if (n > size - at)
			n = size - at;
		CHECK(wa_buf_put(&all, data + at, n) == 0);
		if (err_cut == 0) {
			err_cut = wa_frame_feed(&cut, data + at, n);
			if (err_cut == 0)
				err_cut = drain(&cut, &log_cut, &o);
		}
		at += n;
	}

	wa_frame_reader_init(&whole, limit, server);
	CHECK(wa_frame_feed(&whole, all.data, all.len) == 0);
	err_whole = drain(&whole, &log_whole, NULL);
	CHECK(err_cut == err_whole);
	CHECK(log_cut.len == log_whole.len);
	CHECK(log_cut.len == 0 ||
	    memcmp(log_cut.data, log_whole.data, log_cut.len) == 0);
	/* a failed reader stays failed */
	if (err_cut != 0) {
		const uint8_t *f;
		size_t len;
		CHECK(wa_frame_next(&cut, &f, &len) == err_cut);
		CHECK(wa_frame_feed(&cut, intro, 4) == err_cut);
	}

	wa_frame_reader_free(&cut);
	wa_frame_reader_free(&whole);
	wa_buf_free(&all);
	wa_buf_free(&log_cut);
	wa_buf_free(&log_whole);
	wa_noise_wipe(&o.n);
	wa_cipher_wipe(&o.c);
	return 0;
}
