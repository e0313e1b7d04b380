/*
 * tools/bench/bench_handshake.c: WhatsApp Noise handshakes per second,
 * client and server in one process (strict certificate check included),
 * and sealed-frame throughput of the transport afterwards.
 *
 *   bench_handshake N    run N handshakes, then 1 MiB of 1 KiB frames
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include "wa/cert.h"
#include "wa/handshake.h"

static double
now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

int
main(int argc, char **argv)
{
	long n = argc > 1 ? atol(argv[1]) : 2000;
	struct wa_keypair root, server, client;
	struct wa_buf chain = { 0 }, m1 = { 0 }, m2 = { 0 }, m3 = { 0 };
	struct wa_buf seen = { 0 }, wire = { 0 }, plain = { 0 };
	struct wa_transport ct = { 0 }, st = { 0 };
	struct wa_hs c, s;
	uint64_t t = (uint64_t)time(NULL);
	uint8_t frame[1024] = { 0 };
	double a, secs;
	char why[160];

	if (n <= 0 || wa_keypair_generate(&root) || wa_keypair_generate(&server) ||
	    wa_keypair_generate(&client) ||
	    wa_cert_issue_chain(root.priv, server.pub, 1, t - 60, t + 3600, &chain))
		return 2;
	a = now();
	for (long i = 0; i < n; i++) {
		m1.len = m2.len = m3.len = 0;
		wa_transport_wipe(&ct);   /* the last round's, if any */
		wa_transport_wipe(&st);
		if (wa_hs_client_start(&c, &m1) ||
		    wa_hs_server_hello(&s, m1.data, m1.len, &server, chain.data,
		    chain.len, &m2) ||
		    wa_hs_client_finish(&c, m2.data, m2.len, &client,
		    (const uint8_t *)"payload", 7, root.pub, t, &m3, &ct, why,
		    sizeof(why)) ||
		    wa_hs_server_finish(&s, m3.data, m3.len, &seen, &st)) {
			fprintf(stderr, "bench: handshake failed: %s\n", why);
			return 1;
		}
	}
	secs = now() - a;
	printf("bench: handshakes=%ld seconds=%.3f handshakes_per_sec=%.0f\n", n,
	    secs, (double)n / secs);
	a = now();
	for (int i = 0; i < 1024 * 16; i++) {
		wire.len = 0;
		if (wa_transport_seal(&ct, frame, sizeof(frame), &wire) ||
		    wa_transport_open(&st, wire.data + 3, wire.len - 3, &plain))
			return 1;
	}
	secs = now() - a;
	printf("bench: transport seal+open MB/s=%.0f (1 KiB frames)\n",
	    16.0 / secs);
	wa_transport_wipe(&ct);
	wa_transport_wipe(&st);
	wa_buf_free(&chain);
	wa_buf_free(&m1);
	wa_buf_free(&m2);
	wa_buf_free(&m3);
	wa_buf_free(&seen);
	wa_buf_free(&wire);
	wa_buf_free(&plain);
	return 0;
}
