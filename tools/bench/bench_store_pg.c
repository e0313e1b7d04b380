/*
 * tools/bench/bench_store_pg.c: the PostgreSQL store's figures.
 *
 *   bench_store_pg         starts a throwaway cluster (tools/pgtmp, or
 *                          $SKYKEEPER_PGTMP), measures, stops it
 *   bench_store_pg URL     measures against that database instead (it gets
 *                          skykeeper's tables and keeps rows named bench-*)
 *
 * Prints
 *   bench: pg save_ms p50=… p99=… restore_ms=… write_10000_s=…
 * save_ms: one save of a 2 KiB snapshot, queued to answered, one at a
 * time; restore_ms: one load (the median); write_10000_s: 10,000 sessions'
 * snapshots queued at once until all are answered (the store batches
 * them), the worse of a first write (rows inserted) and a second (rows
 * updated, as in a drain).  Target (issue 4): under 3 s, so a drain of
 * thousands of sessions fits in Heroku's 30 s.  Exits 1 above it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <ev.h>
#include "log/log.h"
#include "store/pg.h"

#define BLOB 2048
#define SINGLES 1000
#define DRAIN 10000

static struct ev_loop *loop;
static struct store_pg *store;
static long answered, failed;

static double
now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static void
on_answer(void *arg, const struct store_pg_result *r)
{
	(void)arg;
	answered++;
	if (r->status != STORE_PG_OK) {
		failed++;
		if (failed < 5)
			fprintf(stderr, "bench_store_pg: %s: %s %s\n", r->id,
			    store_pg_status_name(r->status), r->error ? r->error : "");
	}
}

/* Runs the loop until `target` answers, at most max_s. */
static int
wait_answers(long target, double max_s)
{
	double end = now() + max_s;

	while (answered < target && now() < end)
		ev_run(loop, EVRUN_ONCE);
	return answered >= target ? 0 : -1;
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static double
pct(double *v, int n, double p)
{
	qsort(v, (size_t)n, sizeof(*v), cmp_double);
	return v[(int)(p * (n - 1) + 0.5)];
}

static void
fill(unsigned char *p, size_t n, uint64_t *x)
{
	for (size_t i = 0; i < n; i++) {
		*x ^= *x << 13;
		*x ^= *x >> 7;
		*x ^= *x << 17;
		p[i] = (unsigned char)*x;
	}
}

/* 10,000 distinct sessions at generation g, all queued at once. */
static double
write_many(unsigned char *blobs, int64_t g)
{
	char id[32];
	long base = answered;
	double t0 = now();

	for (int i = 0; i < DRAIN; i++) {
		snprintf(id, sizeof(id), "bench-drain-%05d", i);
		if (store_pg_save(store, id, g, blobs + (size_t)i * BLOB, BLOB, 0, on_answer, NULL) != 0)
			return -1;
	}
	if (wait_answers(base + DRAIN, 60) < 0)
		return -1;
	return now() - t0;
}

static int
run(const char *url)
{
	static double lat[SINGLES];
	static unsigned char one[BLOB];
	unsigned char *blobs;
	struct store_pg_config cfg;
	char err[256], id[32];
	double t0, p50, p99, r50, r99, w1, w2, wmax;
	uint64_t x = 0x9e3779b97f4a7c15ull;
	int i;

	store_pg_config_default(&cfg);
	store = store_pg_open(loop, url, &cfg, err, sizeof(err));
	if (store == NULL) {
		fprintf(stderr, "bench_store_pg: %s\n", err);
		return 2;
	}
	t0 = now();
	while (store_pg_state(store) != STORE_PG_S_READY && now() - t0 < 30)
		ev_run(loop, EVRUN_ONCE);
	if (store_pg_state(store) != STORE_PG_S_READY) {
		fprintf(stderr, "bench_store_pg: database not ready\n");
		return 2;
	}

	/* single saves, one at a time, over 100 sessions */
	for (i = 0; i < SINGLES; i++) {
		fill(one, sizeof(one), &x);
		snprintf(id, sizeof(id), "bench-single-%02d", i % 100);
		t0 = now();
		if (store_pg_save(store, id, i + 1, one, sizeof(one), 0, on_answer, NULL) != 0 ||
		    wait_answers(answered + 1, 10) < 0)
			return 2;
		lat[i] = (now() - t0) * 1e3;
	}
	p50 = pct(lat, SINGLES, 0.50);
	p99 = pct(lat, SINGLES, 0.99);

	/* loads: what a restore costs per session */
	for (i = 0; i < SINGLES; i++) {
		snprintf(id, sizeof(id), "bench-single-%02d", i % 100);
		t0 = now();
		if (store_pg_load(store, id, on_answer, NULL) != 0 ||
		    wait_answers(answered + 1, 10) < 0)
			return 2;
		lat[i] = (now() - t0) * 1e3;
	}
	r50 = pct(lat, SINGLES, 0.50);
	r99 = pct(lat, SINGLES, 0.99);

	blobs = malloc((size_t)DRAIN * BLOB);
	if (blobs == NULL)
		return 2;
	fill(blobs, (size_t)DRAIN * BLOB, &x);
	w1 = write_many(blobs, 1);
	fill(blobs, (size_t)DRAIN * BLOB, &x);
	w2 = write_many(blobs, 2);
	free(blobs);
	if (w1 < 0 || w2 < 0 || failed > 0) {
		fprintf(stderr, "bench_store_pg: writes failed (%ld)\n", failed);
		return 2;
	}
	wmax = w1 > w2 ? w1 : w2;
	printf("bench: pg save_ms p50=%.3f p99=%.3f restore_ms=%.3f write_10000_s=%.3f\n",
	    p50, p99, r50, wmax);
	printf("bench: pg restore_ms_p99=%.3f write_10000_insert_s=%.3f write_10000_update_s=%.3f "
	    "blob_bytes=%d batch_max=%zu\n", r99, w1, w2, BLOB, cfg.batch_max);
	store_pg_close(store);
	store = NULL;
	if (wmax >= 3.0) {
		printf("bench: pg write_10000 is above the 3 s target\n");
		return 1;
	}
	return 0;
}

int
main(int argc, char **argv)
{
	const char *pgtmp = getenv("SKYKEEPER_PGTMP");
	char dir[] = "/tmp/skykeeper-bench-pg.XXXXXX", cmd[1024], url[512];
	FILE *p;
	int rc;

	log_set_level(LOG_WARN);
	loop = ev_loop_new(EVFLAG_AUTO);
	if (argc > 1) {
		rc = run(argv[1]);
		if (store != NULL)
			store_pg_close(store);
		ev_loop_destroy(loop);
		return rc;
	}
	if (pgtmp == NULL)
		pgtmp = "tools/pgtmp";
	if (mkdtemp(dir) == NULL) {
		perror("bench_store_pg: mkdtemp");
		return 2;
	}
	snprintf(cmd, sizeof(cmd), "'%s' start '%s'", pgtmp, dir);
	p = popen(cmd, "r");
	if (p == NULL || fgets(url, sizeof(url), p) == NULL) {
		fprintf(stderr, "bench_store_pg: %s failed\n", cmd);
		if (p != NULL)
			pclose(p);
		rmdir(dir);
		return 2;
	}
	pclose(p);
	url[strcspn(url, "\n")] = '\0';
	rc = run(url);
	if (store != NULL)
		store_pg_close(store);
	snprintf(cmd, sizeof(cmd), "'%s' stop '%s'", pgtmp, dir);
	if (system(cmd) != 0)
		fprintf(stderr, "bench_store_pg: %s failed\n", cmd);
	ev_loop_destroy(loop);
	return rc;
}
