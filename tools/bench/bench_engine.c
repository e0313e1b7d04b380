/*
 * tools/bench/bench_engine.c: the engine alone, on tools/bench/bench.fsm.
 *
 *   bench_engine N   dispatch N table transitions (no guard, no action,
 *                    no timer, tracing off) and print the rate
 *
 * tools/bench/run calls it under callgrind with two N and divides the
 * difference of instruction counts by the difference of N, which cancels
 * start-up cost and gives instructions per dispatch.
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include "bench_fsm.h"

int
main(int argc, char **argv)
{
	struct fsm_clock clock = { 0 };
	struct fsm m;
	struct timespec a, b;
	long n = argc > 1 ? atol(argv[1]) : 10000000L;
	double secs;

	if (n <= 0 || fsm_init(&m, &bench_spec, NULL, NULL, "bench", NULL,
	    &clock, 1) < 0)
		return 2;
	fsm_start(&m);
	clock_gettime(CLOCK_MONOTONIC, &a);
	for (long i = 0; i < n; i++)
		fsm_dispatch(&m, BENCH_E_FLIP);
	clock_gettime(CLOCK_MONOTONIC, &b);
	secs = (double)(b.tv_sec - a.tv_sec) + (double)(b.tv_nsec - a.tv_nsec) / 1e9;
	/* the state after an even number of flips is known: a cheap sanity check
	 * that the loop was not optimised into nothing */
	if (m.state != (n % 2 ? BENCH_S_B : BENCH_S_A))
		return 1;
	printf("bench: dispatches=%ld seconds=%.3f dispatches_per_sec=%.0f\n", n,
	    secs, secs > 0 ? (double)n / secs : 0);
	fsm_free(&m);
	return 0;
}
