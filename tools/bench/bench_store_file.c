/*
 * tools/bench/bench_store_file.c: the file copy's figures.
 *
 *   save_ms     encode + store_file_save (temp file, write, fsync, rename,
 *               fsync of the directory): what a session pays per save
 *   restore_ms  store_file_load + decode, the median of the restores
 *
 * for a session of typical size (100 pre-keys, ~8 KB blob), plain and
 * encrypted, in a fresh directory under $TMPDIR (or /tmp), removed after.
 * Bounded: SAVES saves and RESTORES restores per mode, and each mode stops
 * early after 20 s.  The fsyncs make save_ms a property of the disk more
 * than of the code.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "store/file.h"
#include "store/snapshot.h"

#define SAVES    200
#define RESTORES 200
#define PREKEYS  100

static double
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static double
pct(double *v, int n, double p)
{
	int i = (int)(p * (n - 1) + 0.5);

	qsort(v, (size_t)n, sizeof(*v), cmp_double);
	return v[i < n ? i : n - 1];
}

static void
make_snap(struct store_snap *s, uint64_t gen)
{
	struct wa_creds *c = &s->creds;
	uint32_t st = 12345;
	uint8_t *p;

	memset(s, 0, sizeof(*s));
	snprintf(s->session_id, sizeof(s->session_id), "bench");
	s->generation = gen;
	snprintf(c->me_jid, sizeof(c->me_jid), "15550001234:3@s.whatsapp.net");
	snprintf(c->push_name, sizeof(c->push_name), "bench");
	c->account_len = 300;
	c->routing_len = 12;
	s->n_prekeys = PREKEYS;
	s->prekeys = calloc(PREKEYS, sizeof(*s->prekeys));
	for (size_t i = 0; s->prekeys != NULL && i < PREKEYS; i++) {
		s->prekeys[i].id = (uint32_t)i + 1;
		p = (uint8_t *)&s->prekeys[i].pair;
		for (size_t j = 0; j < sizeof(s->prekeys[i].pair); j++)
			p[j] = (uint8_t)((st = st * 1103515245u + 12345u) >> 16);
	}
	p = (uint8_t *)c;
	for (size_t j = 0; j < offsetof(struct wa_creds, me_jid); j++)
		p[j] = (uint8_t)((st = st * 1103515245u + 12345u) >> 16);
}

static void
rm_dir(const char *dir)
{
	char p[512];
	DIR *d;
	struct dirent *e;

	snprintf(p, sizeof(p), "%s/sessions", dir);
	if ((d = opendir(p)) != NULL) {
		while ((e = readdir(d)) != NULL) {
			if (e->d_name[0] == '.')
				continue;
			snprintf(p, sizeof(p), "%s/sessions/%s", dir, e->d_name);
			unlink(p);
		}
		closedir(d);
	}
	snprintf(p, sizeof(p), "%s/sessions", dir);
	rmdir(p);
	snprintf(p, sizeof(p), "%s/lock", dir);
	unlink(p);
	rmdir(dir);
}

static int
run(const char *label, const char *secret)
{
	static double save[SAVES], restore[RESTORES];
	struct store_file f;
	struct store_snap s, got;
	char dir[128], why[300];
	const char *base = getenv("TMPDIR");
	uint8_t *b;
	size_t n = 0, blob = 0;
	double t, end;
	int ns = 0, nr = 0, rc = 1;

	snprintf(dir, sizeof(dir), "%s/skbench.XXXXXX",
	    base != NULL && strlen(base) < 80 ? base : "/tmp");
	if (mkdtemp(dir) == NULL || store_file_open(&f, dir, why,
	    sizeof(why)) < 0) {
		fprintf(stderr, "bench: %s\n", why);
		return 1;
	}
	end = now_ms() + 20e3;
	for (; ns < SAVES && now_ms() < end; ns++) {
		make_snap(&s, (uint64_t)ns + 1);
		t = now_ms();
		if (store_snap_encode(&s, secret, &b, &n, why, sizeof(why)) < 0 ||
		    store_file_save(&f, "bench", b, n, why, sizeof(why)) < 0) {
			fprintf(stderr, "bench: %s\n", why);
			goto out;
		}
		save[ns] = now_ms() - t;
		blob = n;
		store_snap_blob_free(b, n);
		store_snap_clear(&s);
	}
	end = now_ms() + 20e3;
	for (; nr < RESTORES && now_ms() < end; nr++) {
		t = now_ms();
		if (store_file_load(&f, "bench", &b, &n, why, sizeof(why)) != 0 ||
		    store_snap_decode(b, n, secret, &got, NULL, why,
		    sizeof(why)) < 0) {
			fprintf(stderr, "bench: restore: %s\n", why);
			goto out;
		}
		restore[nr] = now_ms() - t;
		store_snap_blob_free(b, n);
		store_snap_clear(&got);
	}
	printf("bench: %s save_ms p50=%.3f p99=%.3f restore_ms=%.3f "
	    "(%d saves, %d restores, %zu-byte blob)\n", label,
	    pct(save, ns, 0.5), pct(save, ns, 0.99), pct(restore, nr, 0.5),
	    ns, nr, blob);
	rc = 0;
out:
	store_file_close(&f);
	rm_dir(dir);
	return rc;
}

int
main(void)
{
	if (run("file", NULL) != 0 || run("file-encrypted", "bench-secret") != 0)
		return 1;
	return 0;
}
