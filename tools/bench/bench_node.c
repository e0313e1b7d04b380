/*
 * tools/bench/bench_node.c: binary node codec throughput on a stanza mix
 * like a session's: keepalive iqs and their results, presence, receipts,
 * acks, messages with encrypted payloads (small and media-sized),
 * notifications with lists, success and failure.
 *
 *   bench_node [ITERATIONS]     default 20000 passes over the mix
 *
 * Prints "bench: node decode MB/s=… encode MB/s=…" (MB = 10^6 bytes of
 * frame, flag byte included) and stanzas per second.  Decoding reuses one
 * arena (wa_arena_reset), encoding one buffer: the steady state of a
 * session.  Build (no Makefile rule yet):
 *   cc -O2 -std=c11 -D_POSIX_C_SOURCE=200809L -Isrc -o bin/bench_node \
 *       tools/bench/bench_node.c src/wa/wa.c src/wa/node.c \
 *       src/wa/node_dec.c src/wa/node_enc.c src/wa/node_zlib.c \
 *       src/wa/tokens.c -lz
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "wa/node.h"

#define NMIX 12

static struct wa_node *
mk(struct wa_arena *a, const char *tag, const char *const *kv)
{
	struct wa_node *n = wa_node_new(a, tag);

	for (; kv != NULL && kv[0] != NULL; kv += 2)
		if (wa_node_set_attr(a, n, kv[0], kv[1]) < 0)
			exit(1);
	return n;
}

static void
add(struct wa_arena *a, struct wa_node *p, const char *tag,
    const char *const *kv, size_t nbytes)
{
	struct wa_node *c = wa_node_add_child(a, p, tag);
	static uint8_t junk[8192];

	for (; kv != NULL && kv[0] != NULL; kv += 2)
		if (wa_node_set_attr(a, c, kv[0], kv[1]) < 0)
			exit(1);
	for (size_t i = 0; i < sizeof(junk); i++)
		junk[i] = (uint8_t)(i * 131 + 7);
	if (nbytes && wa_node_set_bytes(a, c, junk, nbytes) < 0)
		exit(1);
}

/* The mix, as nodes. */
static void
build_mix(struct wa_arena *a, struct wa_node *mix[NMIX])
{
	int k = 0;

	mix[k] = mk(a, "iq", (const char *const[]){ "id", "44931.22784-1",
	    "to", "@s.whatsapp.net", "type", "get", "xmlns", "w:p", NULL });
	add(a, mix[k++], "ping", NULL, 0);
	mix[k++] = mk(a, "iq", (const char *const[]){ "from",
	    "@s.whatsapp.net", "id", "44931.22784-1", "type", "result",
	    "t", "1717171717", NULL });
	mix[k++] = mk(a, "presence", (const char *const[]){ "name",
	    "Sky Keeper", "type", "available", NULL });
	mix[k++] = mk(a, "receipt", (const char *const[]){ "id",
	    "3EB0C431A3D5F2E6B2", "from", "5511987654321:7@s.whatsapp.net",
	    "participant", "123456789012345:3@lid", "type", "read",
	    "t", "1717171717", NULL });
	mix[k++] = mk(a, "ack", (const char *const[]){ "class", "receipt",
	    "id", "3EB0C431A3D5F2E6B2", "to", "5511987654321@s.whatsapp.net",
	    "type", "read", NULL });
	mix[k] = mk(a, "message", (const char *const[]){ "id",
	    "3EB0ABCDEF0123456789", "from", "120363025246125486@g.us",
	    "participant", "5511987654321:2@s.whatsapp.net", "type", "text",
	    "t", "1717171717", "notify", "Alice", NULL });
	add(a, mix[k], "enc", (const char *const[]){ "v", "2", "type",
	    "skmsg", NULL }, 180);
	add(a, mix[k++], "enc", (const char *const[]){ "v", "2", "type",
	    "pkmsg", NULL }, 620);
	mix[k] = mk(a, "message", (const char *const[]){ "id",
	    "3EB0ABCDEF0123456780", "from", "5511987654321@s.whatsapp.net",
	    "type", "media", "t", "1717171718", "notify", "Bob", NULL });
	add(a, mix[k++], "enc", (const char *const[]){ "v", "2", "type",
	    "msg", "mediatype", "image", NULL }, 4096);
	mix[k] = mk(a, "notification", (const char *const[]){ "from",
	    "120363025246125486@g.us", "id", "1234567890", "type", "w:gp2",
	    "t", "1717171719", "participant", "5511987654321@s.whatsapp.net",
	    NULL });
	for (int i = 0; i < 8; i++)
		add(a, mix[k], "participant", (const char *const[]){ "jid",
		    "5511987654321:3@s.whatsapp.net", "type", "admin", NULL }, 0);
	k++;
	mix[k] = mk(a, "iq", (const char *const[]){ "from", "@s.whatsapp.net",
	    "id", "7", "type", "result", NULL });
	add(a, mix[k++], "count", (const char *const[]){ "value", "30", NULL },
	    0);
	mix[k++] = mk(a, "success", (const char *const[]){ "t", "1717171717",
	    "props", "12", "abprops", "34", "location", "frc",
	    "lid", "123456789012345@lid", "creation", "1600000000", NULL });
	mix[k++] = mk(a, "failure", (const char *const[]){ "reason", "405",
	    "location", "frc", NULL });
	mix[k] = mk(a, "iq", (const char *const[]){ "id", "8", "type", "set",
	    "xmlns", "encrypt", "to", "@s.whatsapp.net", NULL });
	add(a, mix[k], "registration", NULL, 4);
	add(a, mix[k], "type", NULL, 1);
	add(a, mix[k++], "identity", NULL, 32);
}

static double
now(void)
{
	struct timespec ts;

	/* CPU time, not wall time: other work on a busy machine (builds,
	 * CI) skews it less */
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int
main(int argc, char **argv)
{
	long iters = argc > 1 ? atol(argv[1]) : 20000;
	struct wa_arena build, dec;
	struct wa_node *mix[NMIX], *n;
	struct wa_buf frames[NMIX] = { { 0 } }, out = { 0 };
	size_t total = 0;
	double t0, tdec, tenc;

	if (iters <= 0)
		iters = 1;
	wa_arena_init(&build, 0);
	wa_arena_init(&dec, 0);
	build_mix(&build, mix);
	for (int i = 0; i < NMIX; i++) {
		if (wa_node_encode_frame(mix[i], &frames[i]) < 0)
			return 1;
		total += frames[i].len;
	}

	t0 = now();
	for (long it = 0; it < iters; it++)
		for (int i = 0; i < NMIX; i++) {
			if (wa_node_decode_frame(frames[i].data, frames[i].len,
			    &dec, &n) < 0)
				return 1;
			wa_arena_reset(&dec);
		}
	tdec = now() - t0;

	t0 = now();
	for (long it = 0; it < iters; it++)
		for (int i = 0; i < NMIX; i++) {
			out.len = 0;
			if (wa_node_encode_frame(mix[i], &out) < 0)
				return 1;
		}
	tenc = now() - t0;

	printf("bench: node mix of %d stanzas, %zu bytes, %ld passes\n", NMIX,
	    total, iters);
	printf("bench: node decode stanzas/s=%.0f encode stanzas/s=%.0f\n",
	    (double)NMIX * (double)iters / tdec,
	    (double)NMIX * (double)iters / tenc);
	printf("bench: node decode MB/s=%.0f encode MB/s=%.0f\n",
	    (double)total * (double)iters / tdec / 1e6,
	    (double)total * (double)iters / tenc / 1e6);
	for (int i = 0; i < NMIX; i++)
		wa_buf_free(&frames[i]);
	wa_buf_free(&out);
	wa_arena_free(&dec);
	wa_arena_free(&build);
	return 0;
}
