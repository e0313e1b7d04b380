/*
 * tests/crash/writer.c: the victim of the crash trials (tests/crash/run).
 *
 *   crash_writer save DIR ID [SECRET]
 *       saves snapshots of generation 1, 2, 3, ... of session ID through the
 *       real file store in DIR, and after each save returns writes
 *       "saved GEN\n" to stdout with one write(2), unbuffered, so the line
 *       is in the pipe before the next save starts.  Runs until killed, or
 *       for at most 20 s / 1,000,000 saves.  If descriptor 3 is open at
 *       start, "ready\n" is written to it (then it is closed) once the store
 *       is open, just before the first save: the driver starts its random
 *       delay from there, so start-up time (dynamic linking, which varies a
 *       lot with the machine's load) does not eat the kill window.
 *   crash_writer verify DIR ID [SECRET]
 *       restores: prints "gen GEN" when the file decodes and is exactly
 *       what `save` wrote for that generation, "missing" when there is no
 *       file; anything else (torn, undecodable, wrong content) is printed
 *       to stderr with exit status 1.
 *
 * Snapshot GEN is a pure function of GEN: pre-key count (so blob size,
 * ~100 bytes to ~50 KB) and every key byte vary with it, so a file mixing
 * two saves, or cut short, can never pass for either.  verify compares by
 * re-encoding plain, which is deterministic.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "store/file.h"
#include "store/snapshot.h"

static void
fill(void *p, size_t n, uint32_t *st)
{
	for (size_t i = 0; i < n; i++) {
		*st = *st * 1664525u + 1013904223u;
		((uint8_t *)p)[i] = (uint8_t)(*st >> 24);
	}
}

static int
make_snap(struct store_snap *s, const char *id, uint64_t gen)
{
	struct wa_creds *c = &s->creds;
	uint32_t st = (uint32_t)gen * 2654435761u;
	size_t np = 1 + (size_t)(gen * 37 % 700);

	memset(s, 0, sizeof(*s));
	snprintf(s->session_id, sizeof(s->session_id), "%s", id);
	s->generation = gen;
	s->saved_ms = (int64_t)gen;
	fill(&c->noise, sizeof(c->noise), &st);
	fill(&c->identity, sizeof(c->identity), &st);
	fill(&c->signed_prekey, sizeof(c->signed_prekey), &st);
	fill(c->signed_prekey_sig, sizeof(c->signed_prekey_sig), &st);
	fill(c->adv_secret, sizeof(c->adv_secret), &st);
	c->registration_id = (uint32_t)gen;
	snprintf(c->me_jid, sizeof(c->me_jid), "1555%07u:1@s.whatsapp.net",
	    (unsigned)(gen % 10000000));
	c->account_len = 200;
	fill(c->account, c->account_len, &st);
	c->next_prekey_id = (uint32_t)np + 1;
	c->first_unuploaded_prekey_id = (uint32_t)np + 1;
	if ((s->prekeys = calloc(np, sizeof(*s->prekeys))) == NULL)
		return -1;
	s->n_prekeys = np;
	for (size_t i = 0; i < np; i++) {
		s->prekeys[i].id = (uint32_t)i + 1;
		fill(&s->prekeys[i].pair, sizeof(s->prekeys[i].pair), &st);
	}
	snprintf(s->meta.last_state, sizeof(s->meta.last_state), "open");
	s->meta.consecutive_failures = (uint32_t)(gen % 5);
	return 0;
}

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static int
save_loop(struct store_file *f, const char *id, const char *secret)
{
	struct store_snap s;
	uint8_t *b;
	size_t n;
	char why[300], line[40];
	double end = now() + 20;
	int len;

	if (fcntl(3, F_GETFD) >= 0) {
		if (write(3, "ready\n", 6) != 6)
			return 1;
		close(3);
	}
	for (uint64_t gen = 1; gen <= 1000000 && now() < end; gen++) {
		if (make_snap(&s, id, gen) < 0 ||
		    store_snap_encode(&s, secret, &b, &n, why, sizeof(why)) < 0) {
			fprintf(stderr, "writer: encode %llu failed\n",
			    (unsigned long long)gen);
			return 1;
		}
		store_snap_clear(&s);
		if (store_file_save(f, id, b, n, why, sizeof(why)) < 0) {
			fprintf(stderr, "writer: save: %s\n", why);
			return 1;
		}
		store_snap_blob_free(b, n);
		len = snprintf(line, sizeof(line), "saved %llu\n",
		    (unsigned long long)gen);
		if (write(1, line, (size_t)len) != len)
			return 1;
	}
	return 0;
}

static int
verify(struct store_file *f, const char *id, const char *secret)
{
	struct store_snap got, want;
	uint8_t *b, *eb, *gb;
	size_t n, en, gn;
	char why[300];
	int rc, same;

	rc = store_file_load(f, id, &b, &n, why, sizeof(why));
	if (rc == STORE_FILE_MISSING) {
		printf("missing\n");
		return 0;
	}
	if (rc < 0) {
		fprintf(stderr, "verify: load: %s\n", why);
		return 1;
	}
	rc = store_snap_decode(b, n, secret, &got, NULL, why, sizeof(why));
	store_snap_blob_free(b, n);
	if (rc < 0) {
		fprintf(stderr, "verify: decode (%zu bytes): %s\n", n, why);
		return 1;
	}
	if (make_snap(&want, id, got.generation) < 0 ||
	    store_snap_encode(&want, NULL, &eb, &en, why, sizeof(why)) < 0 ||
	    store_snap_encode(&got, NULL, &gb, &gn, why, sizeof(why)) < 0) {
		fprintf(stderr, "verify: re-encode failed\n");
		return 1;
	}
	same = en == gn && memcmp(eb, gb, en) == 0;
	store_snap_blob_free(eb, en);
	store_snap_blob_free(gb, gn);
	store_snap_clear(&want);
	if (!same) {
		fprintf(stderr, "verify: generation %llu decodes but is not what "
		    "was saved as it\n", (unsigned long long)got.generation);
		store_snap_clear(&got);
		return 1;
	}
	printf("gen %llu\n", (unsigned long long)got.generation);
	store_snap_clear(&got);
	return 0;
}

int
main(int argc, char **argv)
{
	struct store_file f;
	char why[400];
	const char *secret;
	int rc;

	if (argc < 4 || argc > 5 || (strcmp(argv[1], "save") != 0 &&
	    strcmp(argv[1], "verify") != 0)) {
		fprintf(stderr, "usage: crash_writer save|verify DIR ID [SECRET]\n");
		return 2;
	}
	secret = argc == 5 ? argv[4] : NULL;
	if (store_file_open(&f, argv[2], why, sizeof(why)) < 0) {
		fprintf(stderr, "crash_writer: %s\n", why);
		return 1;
	}
	rc = strcmp(argv[1], "save") == 0 ? save_loop(&f, argv[3], secret) :
	    verify(&f, argv[3], secret);
	store_file_close(&f);
	return rc;
}
