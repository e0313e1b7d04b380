/*
 * tools/bench/bench_store_mirror.c: what a restore costs through the
 * mirror (store/mirror.h): both copies read, checked, decrypted, compared.
 *
 *   bench_store_mirror        starts a throwaway cluster (tools/pgtmp, or
 *                             $SKYKEEPER_PGTMP), measures, stops it
 *   bench_store_mirror URL    against that database instead
 *
 * Prints
 *   bench: mirror restore_ms p50=… p99=… file_only_ms p50=… p99=…
 *          restore_all_1000_s=…
 * restore_ms: one session restored from file + database (agreeing copies,
 * encrypted with SESSION_SECRET, 20 pre-keys), call to callback, one at a
 * time; file_only_ms: the same without a database; restore_all_1000_s:
 * 1,000 sessions' restores issued at once until the last callback (a
 * daemon starting with many sessions).  No target in the issue; printed
 * for the record.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <ev.h>
#include "log/log.h"
#include "store/mirror.h"

#define SINGLES 300
#define MANY    1000
#define PREKEYS 20

static struct ev_loop *loop;
static long answered, failed;

static double
now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static void
on_saved(void *arg, int rc, const char *why)
{
	(void)arg;
	answered++;
	if (rc < 0 && ++failed < 5)
		fprintf(stderr, "bench_store_mirror: save: %s\n", why ? why : "");
}

static void
on_restored(void *arg, int rc, struct store_snap *snap, const char *why)
{
	(void)arg;
	answered++;
	if (rc != 0) {
		if (++failed < 5)
			fprintf(stderr, "bench_store_mirror: restore: %d %s\n", rc,
			    why ? why : "");
		return;
	}
	store_snap_clear(snap);
}

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
make_snap(struct store_snap *s, const char *id)
{
	memset(s, 0, sizeof(*s));
	snprintf(s->session_id, sizeof(s->session_id), "%s", id);
	wa_creds_generate(&s->creds);
	snprintf(s->creds.me_jid, sizeof(s->creds.me_jid), "15550001234:2@s.whatsapp.net");
	s->prekeys = calloc(PREKEYS, sizeof(*s->prekeys));
	s->n_prekeys = PREKEYS;
	for (uint32_t i = 0; i < PREKEYS; i++) {
		s->prekeys[i].id = i + 1;
		wa_keypair_generate(&s->prekeys[i].pair);
	}
}

/* Saves MANY sessions, then the figures.  url NULL: file copy only. */
static int
measure(const char *url, double *p50, double *p99, double *all)
{
	static double lat[SINGLES];
	char dir[] = "/tmp/skykeeper-bench-mirror.XXXXXX", cmd[128], why[256], id[32];
	struct store_config cfg = { .database_url = url, .secret = "bench secret" };
	struct store_snap snap;
	struct store *s;
	double t0;
	int i;

	if (mkdtemp(dir) == NULL)
		return -1;
	cfg.data_dir = dir;
	if ((s = store_open(loop, &cfg, why, sizeof(why))) == NULL) {
		fprintf(stderr, "bench_store_mirror: %s\n", why);
		return -1;
	}
	for (i = 0; i < MANY; i++) {
		snprintf(id, sizeof(id), "bench-%04d", i);
		make_snap(&snap, id);
		if (store_save(s, &snap, on_saved, NULL) != 0)
			return -1;
		store_snap_clear(&snap);
	}
	if (wait_answers(MANY, 60) < 0 || failed > 0)
		return -1;
	for (i = 0; i < SINGLES; i++) {
		snprintf(id, sizeof(id), "bench-%04d", i % MANY);
		t0 = now();
		if (store_restore(s, id, on_restored, NULL) != 0 ||
		    wait_answers(answered + 1, 15) < 0)
			return -1;
		lat[i] = (now() - t0) * 1e3;
	}
	*p50 = pct(lat, SINGLES, 0.50);
	*p99 = pct(lat, SINGLES, 0.99);
	t0 = now();
	for (i = 0; i < MANY; i++) {
		snprintf(id, sizeof(id), "bench-%04d", i);
		if (store_restore(s, id, on_restored, NULL) != 0)
			return -1;
	}
	if (wait_answers(answered + MANY, 60) < 0 || failed > 0)
		return -1;
	*all = now() - t0;
	store_close(s);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static int
run(const char *url)
{
	double p50, p99, all, f50, f99, fall;

	if (measure(url, &p50, &p99, &all) < 0 || measure(NULL, &f50, &f99, &fall) < 0) {
		fprintf(stderr, "bench_store_mirror: failed (%ld failures)\n", failed);
		return 2;
	}
	printf("bench: mirror restore_ms p50=%.3f p99=%.3f file_only_ms p50=%.3f "
	    "p99=%.3f restore_all_1000_s=%.3f file_only_all_1000_s=%.3f\n",
	    p50, p99, f50, f99, all, fall);
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
		ev_loop_destroy(loop);
		return rc;
	}
	if (pgtmp == NULL)
		pgtmp = "tools/pgtmp";
	if (mkdtemp(dir) == NULL) {
		perror("bench_store_mirror: mkdtemp");
		return 2;
	}
	snprintf(cmd, sizeof(cmd), "'%s' start '%s'", pgtmp, dir);
	p = popen(cmd, "r");
	if (p == NULL || fgets(url, sizeof(url), p) == NULL) {
		fprintf(stderr, "bench_store_mirror: %s failed\n", cmd);
		if (p != NULL)
			pclose(p);
		rmdir(dir);
		return 2;
	}
	pclose(p);
	url[strcspn(url, "\n")] = '\0';
	rc = run(url);
	snprintf(cmd, sizeof(cmd), "'%s' stop '%s'", pgtmp, dir);
	if (system(cmd) != 0)
		fprintf(stderr, "bench_store_mirror: %s failed\n", cmd);
	ev_loop_destroy(loop);
	return rc;
}
