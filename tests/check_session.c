/*
 * tests/check_session.c: the reconnect policy (src/session/backoff.c) with
 * a pinned clock and pinned randomness: every delay within
 * [0, min(cap, initial * factor^(n-1))], the counter reset only after a
 * long-enough open, the 440 floor, and the third 'replaced' in a row.
 *
 * backoff.c is compiled into this test directly: src/session/ is not part
 * of the core every check binary links with.
 */
#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "../src/session/backoff.c"

static struct cfg
cfg_default(void)
{
	struct cfg c;

	memset(&c, 0, sizeof(c));
	c.backoff_initial = 1;
	c.backoff_factor = 2;
	c.backoff_max = 60;
	c.backoff_reset = 60;
	c.replaced_floor = 300;
	return c;
}

static struct session_backoff
fresh(void)
{
	struct session_backoff b = { 0, 0, -1, 0 };

	return b;
}

START_TEST(delays_within_bounds)
{
	struct cfg c = cfg_default();
	struct session_backoff b = fresh();
	uint64_t rng = 42;
	double t = 0;

	for (int n = 1; n <= 20; n++) {
		double cap = fmin(60, pow(2, n - 1)), lo = cap, hi = 0;

		session_backoff_failure(&c, &b, t);
		ck_assert_uint_eq(b.attempts, (unsigned)n);
		for (int k = 0; k < 2000; k++) {
			double d = session_backoff_delay(&c, &b,
			    session_unit_random(&rng));
			ck_assert(d >= 0 && d <= cap);
			lo = fmin(lo, d);
			hi = fmax(hi, d);
		}
		/* full jitter: the whole range is used */
		ck_assert(lo < cap * 0.05);
		ck_assert(hi > cap * 0.95);
		/* the extremes of the random number map to 0 and the cap */
		ck_assert_double_eq(session_backoff_delay(&c, &b, 0), 0);
		ck_assert_double_eq_tol(session_backoff_delay(&c, &b,
		    0.999999999), cap, 1e-6);
		t += 1;
	}
}
END_TEST

START_TEST(other_settings)
{
	struct cfg c = cfg_default();
	struct session_backoff b = fresh();

	c.backoff_initial = 0.5;
	c.backoff_factor = 3;
	c.backoff_max = 10;
	for (int n = 1; n <= 5; n++)
		session_backoff_failure(&c, &b, 0);
	/* 0.5 * 3^4 = 40.5, capped at 10 */
	ck_assert_double_eq_tol(session_backoff_delay(&c, &b, 0.999999999),
	    10, 1e-6);
	b = fresh();
	session_backoff_failure(&c, &b, 0);
	session_backoff_failure(&c, &b, 0);
	ck_assert_double_eq_tol(session_backoff_delay(&c, &b, 0.5), 0.75,
	    1e-9);
	/* factor 1: constant cap */
	c.backoff_factor = 1;
	for (int n = 0; n < 1000; n++)
		session_backoff_failure(&c, &b, 0);
	ck_assert_double_eq_tol(session_backoff_delay(&c, &b, 0.999999999),
	    0.5, 1e-6);
}
END_TEST

START_TEST(reset_only_after_long_open)
{
	struct cfg c = cfg_default();
	struct session_backoff b = fresh();

	for (int n = 0; n < 4; n++)
		session_backoff_failure(&c, &b, n);
	ck_assert_uint_eq(b.attempts, 4);
	/* open for 59 s: a flapping server does not reset the counter */
	b.opened_at = 100;
	session_backoff_failure(&c, &b, 159);
	ck_assert_uint_eq(b.attempts, 5);
	ck_assert(b.opened_at < 0);
	/* open for exactly the reset period: counter starts over */
	b.opened_at = 200;
	session_backoff_failure(&c, &b, 260);
	ck_assert_uint_eq(b.attempts, 1);
	/* a failure that never reached open changes nothing but the count */
	session_backoff_failure(&c, &b, 1000);
	ck_assert_uint_eq(b.attempts, 2);
	/* leaving open by drain: reset judged the same way */
	b.opened_at = 2000;
	session_backoff_leave_open(&c, &b, 3000);
	ck_assert_uint_eq(b.attempts, 0);
}
END_TEST

START_TEST(replaced_floor)
{
	struct cfg c = cfg_default();
	struct session_backoff b = fresh();
	uint64_t rng = 7;

	b.opened_at = 0;
	session_backoff_replaced(&c, &b, 5);
	ck_assert_uint_eq(b.replaced, 1);
	for (int k = 0; k < 1000; k++)
		ck_assert(session_backoff_delay(&c, &b,
		    session_unit_random(&rng)) >= 300);
	/* an ordinary failure afterwards drops the floor */
	session_backoff_failure(&c, &b, 400);
	ck_assert_double_eq(b.floor, 0);
	ck_assert(session_backoff_delay(&c, &b, 0) == 0);
}
END_TEST

START_TEST(third_replaced_parks)
{
	struct cfg c = cfg_default();
	struct session_backoff b = fresh();
	double t = 0;

	for (int n = 1; n <= 2; n++) {
		b.opened_at = t;        /* each open lasts 10 s */
		t += 10;
		ck_assert(!session_backoff_replaced_too_often(&c, &b, t));
		session_backoff_replaced(&c, &b, t);
		t += 300;
	}
	b.opened_at = t;
	ck_assert(session_backoff_replaced_too_often(&c, &b, t + 10));
	/* but an open that lasted the reset period forgives the earlier two */
	ck_assert(!session_backoff_replaced_too_often(&c, &b, t + 61));
	session_backoff_replaced(&c, &b, t + 61);
	ck_assert_uint_eq(b.replaced, 1);
}
END_TEST

START_TEST(random_is_uniform_enough)
{
	uint64_t rng = 1;
	int bins[10] = { 0 };

	for (int k = 0; k < 100000; k++) {
		double u = session_unit_random(&rng);
		ck_assert(u >= 0 && u < 1);
		bins[(int)(u * 10)]++;
	}
	for (int i = 0; i < 10; i++)
		ck_assert(bins[i] > 9000 && bins[i] < 11000);
}
END_TEST

static Suite *
session_suite(void)
{
	Suite *s = suite_create("session");
	TCase *tc = tcase_create("backoff");

	tcase_add_test(tc, delays_within_bounds);
	tcase_add_test(tc, other_settings);
	tcase_add_test(tc, reset_only_after_long_open);
	tcase_add_test(tc, replaced_floor);
	tcase_add_test(tc, third_replaced_parks);
	tcase_add_test(tc, random_is_uniform_enough);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(session_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
