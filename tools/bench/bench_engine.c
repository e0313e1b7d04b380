/*
 * tools/bench/bench_engine.c: the engine alone.
 *
 *   bench_engine plain N   N table transitions of tools/bench/bench.fsm:
 *                          no guard, no action, no timer, tracing off
 *   bench_engine rearm N   N 'open frame -> open reenter' dispatches of the
 *                          real lifecycle on a libev loop: each re-arms the
 *                          idle deadline with ev_timer_again (the daemon's
 *                          hot path: every inbound frame does this)
 *
 * tools/bench/run calls it under callgrind with two N and divides the
 * difference of instruction counts by the difference of N, which cancels
 * start-up cost and gives instructions per dispatch.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "bench_fsm.h"
#include "lifecycle_fsm.h"

static double
since(const struct timespec *a)
{
	struct timespec b;
	clock_gettime(CLOCK_MONOTONIC, &b);
	return (double)(b.tv_sec - a->tv_sec) + (double)(b.tv_nsec - a->tv_nsec) / 1e9;
}

static int
plain(long n)
{
	struct fsm_clock clock = { 0 };
	struct fsm m;
	struct timespec a;
	double secs;

	if (fsm_init(&m, &bench_spec, NULL, NULL, "bench", NULL, &clock, 1) < 0)
		return 2;
	fsm_start(&m);
	clock_gettime(CLOCK_MONOTONIC, &a);
	for (long i = 0; i < n; i++)
		fsm_dispatch(&m, BENCH_E_FLIP);
	secs = since(&a);
	/* the state after N flips is known: proof the loop really ran */
	if (m.state != (n % 2 ? BENCH_S_B : BENCH_S_A))
		return 1;
	printf("bench: plain dispatches=%ld seconds=%.3f dispatches_per_sec=%.0f\n",
	    n, secs, secs > 0 ? (double)n / secs : 0);
	fsm_free(&m);
	return 0;
}

static int
rearm(long n)
{
	struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
	struct fsm_clock clock = { .loop = loop };
	double cfg[LIFECYCLE_NCFG];
	struct fsm m;
	struct timespec a;
	double secs;

	for (int i = 0; i < LIFECYCLE_NCFG; i++)
		cfg[i] = 60;
	clock.t0 = ev_now(loop);
	/* record mode: no action runs; open/frame has none anyway */
	if (fsm_init(&m, &lifecycle_spec, NULL, NULL, "bench", cfg, &clock, 1) < 0)
		return 2;
	fsm_start(&m);
	fsm_dispatch(&m, LIFECYCLE_E_LOGGED_IN);
	if (m.state != LIFECYCLE_S_OPEN)
		return 1;
	clock_gettime(CLOCK_MONOTONIC, &a);
	for (long i = 0; i < n; i++)
		fsm_dispatch(&m, LIFECYCLE_E_FRAME);
	secs = since(&a);
	if (m.state != LIFECYCLE_S_OPEN || !ev_is_active(&m.timers[0].w))
		return 1;
	printf("bench: rearm dispatches=%ld seconds=%.3f dispatches_per_sec=%.0f\n",
	    n, secs, secs > 0 ? (double)n / secs : 0);
	fsm_free(&m);
	ev_loop_destroy(loop);
	return 0;
}

int
main(int argc, char **argv)
{
	long n = argc > 2 ? atol(argv[2]) : 0;

	if (argc != 3 || n <= 0) {
		fprintf(stderr, "usage: bench_engine plain|rearm N\n");
		return 2;
	}
	if (strcmp(argv[1], "plain") == 0)
		return plain(n);
	if (strcmp(argv[1], "rearm") == 0)
		return rearm(n);
	fprintf(stderr, "usage: bench_engine plain|rearm N\n");
	return 2;
}
