/*
 * tools/bench/bench_transport.c: the Noise transport's per-frame cost, the
 * hot path of every session: wa_transport_seal on one side and
 * wa_transport_open on the other (AES-256-GCM, 3-byte frame header), for a
 * keepalive-sized, a typical and a large frame.
 *
 *   bench_transport [SECONDS]    time per frame size, default 0.5
 *
 * Frames go in batches of BATCH: seal the batch, then open it, each timed
 * as a whole, so the clock is read twice per batch, not per frame.  The
 * output and plaintext buffers are reused (the steady state of a
 * connection: no wa_buf growth after the first batch), and every opened
 * frame is compared with what was sealed, outside the timed part.
 * Prints one line per frame size:
 *   bench: transport SIZE B frames: seal ns/frame=… open ns/frame=…
 *          seal+open frames/s=… MB/s=…
 * where "seal+open" is one frame sealed and opened (the cost of one frame
 * to the two ends together) and MB = 10^6 bytes of payload.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "wa/handshake.h"

#define BATCH 64

static double
now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

struct run {
	struct wa_transport a, b;       /* a seals, b opens */
	struct wa_buf wire[BATCH], plain[BATCH];
	uint8_t *msg;
};

/* One batch; adds its seal and open times.  0, or -1 on any failure. */
static int
batch(struct run *r, size_t size, double *tseal, double *topen)
{
	double t0, t1, t2;

	for (int i = 0; i < BATCH; i++)
		r->wire[i].len = 0;
	t0 = now();
	for (int i = 0; i < BATCH; i++)
		if (wa_transport_seal(&r->a, r->msg, size, &r->wire[i]) < 0)
			return -1;
	t1 = now();
	for (int i = 0; i < BATCH; i++)
		if (wa_transport_open(&r->b, r->wire[i].data + 3,
		    r->wire[i].len - 3, &r->plain[i]) < 0)
			return -1;
	t2 = now();
	for (int i = 0; i < BATCH; i++)
		if (r->plain[i].len != size ||
		    memcmp(r->plain[i].data, r->msg, size) != 0)
			return -1;
	*tseal += t1 - t0;
	*topen += t2 - t1;
	return 0;
}

static int
bench_size(size_t size, double seconds)
{
	static const uint8_t k1[32] = { 0x6b, 0x31 }, k2[32] = { 0x6b, 0x32 };
	struct run r;
	double tseal = 0, topen = 0, ignore = 0, both;
	long frames = 0;
	int rc = 0;

	memset(&r, 0, sizeof(r));
	if ((r.msg = malloc(size)) == NULL)
		return -1;
	for (size_t i = 0; i < size; i++)
		r.msg[i] = (uint8_t)(i * 31 + 7);
	/* a's tx is b's rx; the other direction is keyed but idle */
	wa_cipher_init(&r.a.tx, k1);
	wa_cipher_init(&r.b.rx, k1);
	wa_cipher_init(&r.a.rx, k2);
	wa_cipher_init(&r.b.tx, k2);
	if (batch(&r, size, &ignore, &ignore) < 0)   /* warm-up */
		rc = -1;
	while (rc == 0 && tseal + topen < seconds) {
		if (batch(&r, size, &tseal, &topen) < 0)
			rc = -1;
		frames += BATCH;
	}
	if (rc == 0) {
		both = tseal + topen;
		printf("bench: transport %zu B frames: seal ns/frame=%.0f "
		    "open ns/frame=%.0f seal+open frames/s=%.0f MB/s=%.0f\n",
		    size, tseal / (double)frames * 1e9,
		    topen / (double)frames * 1e9, (double)frames / both,
		    (double)frames * (double)size / both / 1e6);
	} else
		fprintf(stderr, "bench: transport %zu B: seal or open failed\n",
		    size);
	wa_cipher_wipe(&r.a.tx);
	wa_cipher_wipe(&r.a.rx);
	wa_cipher_wipe(&r.b.tx);
	wa_cipher_wipe(&r.b.rx);
	for (int i = 0; i < BATCH; i++) {
		wa_buf_free(&r.wire[i]);
		wa_buf_free(&r.plain[i]);
	}
	free(r.msg);
	return rc;
}

int
main(int argc, char **argv)
{
	static const size_t sizes[] = { 64, 1024, 16384 };
	double seconds = argc > 1 ? atof(argv[1]) : 0.5;

	if (!(seconds > 0))
		seconds = 0.5;
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++)
		if (bench_size(sizes[i], seconds) < 0)
			return 1;
	return 0;
}
