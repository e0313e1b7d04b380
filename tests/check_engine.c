/*
 * tests/check_engine.c: the engine against tests/fsm/enginetest.fsm, with
 * its real generated tables and binding, on a virtual clock and on a real
 * libev loop.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "enginetest_fsm.h"
#include "fsm/replay.h"

struct rec {
	char log[2048];
	int allowed;
	double wait;
	int state_seen_in_raise;
	int ticks;
	double tick_times[64];
	int nsteps;
	char steps[16][256];
};

static void
note(void *ctx, const char *what)
{
	struct rec *r = ctx;
	size_t n = strlen(r->log);
	snprintf(r->log + n, sizeof(r->log) - n, "%s%s", n ? "," : "", what);
}

#define ACT(name) void enginetest_act_##name(struct fsm *m, void *ctx) { (void)m; note(ctx, #name); }
ACT(enter_idle) ACT(exit_idle) ACT(enter_busy) ACT(exit_busy) ACT(on_go)
ACT(on_kick) ACT(on_timeout) ACT(on_wait_over) ACT(on_stop)

void
enginetest_act_raise_kick(struct fsm *m, void *ctx)
{
	struct rec *r = ctx;
	note(ctx, "raise_kick");
	fsm_post(m, ENGINETEST_E_KICK);
	/* run-to-completion: the raised event must not have run yet */
	r->state_seen_in_raise = m->state;
}

void
enginetest_act_tick(struct fsm *m, void *ctx)
{
	struct rec *r = ctx;
	if (r->ticks < 64)
		r->tick_times[r->ticks] = fsm_now(m);
	r->ticks++;
}

int
enginetest_guard_allowed(struct fsm *m, void *ctx)
{
	(void)m;
	return ((struct rec *)ctx)->allowed;
}

double
enginetest_delay_wait(struct fsm *m, void *ctx)
{
	(void)m;
	return ((struct rec *)ctx)->wait;
}

static void
trace_to_rec(const struct fsm *m, const struct fsm_step *st, void *arg)
{
	struct rec *r = arg;
	if (r->nsteps < 16)
		fsm_trace_format(m, st, r->steps[r->nsteps++], sizeof(r->steps[0]));
}

/* busy_timeout, tick_every, tick_jitter */
static double cfg[ENGINETEST_NCFG] = { 10, 2, 0.5 };

static struct fsm M;
static struct rec R;
static struct fsm_clock VCLOCK;

static void
setup_virtual(void)
{
	memset(&R, 0, sizeof(R));
	memset(&VCLOCK, 0, sizeof(VCLOCK));
	R.wait = 7;
	ck_assert_int_eq(fsm_init(&M, &enginetest_spec, &enginetest_binding, &R,
	    "t1", cfg, &VCLOCK, 42), 0);
	M.trace = trace_to_rec;
	M.trace_arg = &R;
	fsm_start(&M);
}

static void
teardown(void)
{
	fsm_free(&M);
}

START_TEST(start_runs_entry_of_initial)
{
	ck_assert_int_eq(M.state, ENGINETEST_S_IDLE);
	ck_assert_str_eq(R.log, "enter_idle");
	ck_assert_int_eq(R.nsteps, 1);
	ck_assert_str_eq(R.steps[0],
	    "t=0.000 fsm=enginetest id=t1 state=- event=start guard=- next=idle kind=start actions=enter_idle");
}
END_TEST

START_TEST(guard_true_takes_first_rule_in_order)
{
	R.allowed = 1;
	R.log[0] = '\0';
	fsm_dispatch(&M, ENGINETEST_E_GO);
	ck_assert_int_eq(M.state, ENGINETEST_S_BUSY);
	/* exit of the old state, the transition, entry of the new one */
	ck_assert_str_eq(R.log, "exit_idle,on_go,enter_busy");
	ck_assert_str_eq(R.steps[1],
	    "t=0.000 fsm=enginetest id=t1 state=idle event=go guard=allowed:yes next=busy kind=trans actions=exit_idle,on_go,enter_busy timer=10.000");
}
END_TEST

START_TEST(guard_false_falls_through_to_next_rule)
{
	R.allowed = 0;
	fsm_dispatch(&M, ENGINETEST_E_GO);
	ck_assert_int_eq(M.state, ENGINETEST_S_WAITING);
	ck_assert(strstr(R.steps[1], "guard=allowed:no next=waiting") != NULL);
}
END_TEST

START_TEST(state_timeout_armed_on_entry_fires_at_deadline)
{
	R.allowed = 1;
	fsm_dispatch(&M, ENGINETEST_E_GO);
	ck_assert(M.timers[0].armed);
	ck_assert(M.timers[0].deadline == 10.0);
	VCLOCK.vnow = 10.0;
	R.log[0] = '\0';
	fsm_fire(&M, 0);
	ck_assert_int_eq(M.state, ENGINETEST_S_IDLE);
	ck_assert_str_eq(R.log, "exit_busy,on_timeout,enter_idle");
	/* leaving busy stopped its timers; idle has none */
	ck_assert(!M.timers[0].armed);
	ck_assert(!M.timers[1].armed);
}
END_TEST

START_TEST(reenter_rearms_timeout_without_exit_or_entry)
{
	R.allowed = 1;
	fsm_dispatch(&M, ENGINETEST_E_GO);
	VCLOCK.vnow = 6.0;
	R.log[0] = '\0';
	fsm_dispatch(&M, ENGINETEST_E_PING);
	ck_assert_int_eq(M.state, ENGINETEST_S_BUSY);
	ck_assert(M.timers[0].deadline == 16.0);
	ck_assert_str_eq(R.log, "");  /* no exit_busy/enter_busy */
}
END_TEST

/* 'timeout @wait -> polling reenter': only the state timer restarts, with
 * the delay evaluated again; the activity (every 3) keeps its schedule,
 * where an external self-transition would restart it. */
START_TEST(timeout_reenter_keeps_activity_schedule_and_reevaluates_delay)
{
	R.wait = 7;
	fsm_dispatch(&M, ENGINETEST_E_POLL);
	ck_assert_int_eq(M.state, ENGINETEST_S_POLLING);
	ck_assert(M.timers[0].deadline == 7.0);
	ck_assert(M.timers[1].deadline == 3.0);
	VCLOCK.vnow = 3.0;
	fsm_fire(&M, 1);
	VCLOCK.vnow = 6.0;
	fsm_fire(&M, 1);
	ck_assert_int_eq(R.ticks, 2);
	ck_assert(M.timers[1].deadline == 9.0);

	R.wait = 4;
	R.log[0] = '\0';
	R.nsteps = 0;
	VCLOCK.vnow = 7.0;
	fsm_fire(&M, 0);
	ck_assert_int_eq(M.state, ENGINETEST_S_POLLING);
	ck_assert_str_eq(R.log, "on_wait_over");  /* no exit, no entry */
	ck_assert(M.timers[0].armed);
	ck_assert(M.timers[0].deadline == 11.0);  /* 7 + the new delay */
	ck_assert(M.timers[1].armed);
	ck_assert(M.timers[1].deadline == 9.0);   /* not 7 + 3 */
	ck_assert_int_eq(R.nsteps, 1);
	ck_assert_str_eq(R.steps[0],
	    "t=7.000 fsm=enginetest id=t1 state=polling event=timeout guard=- next=polling kind=trans actions=on_wait_over timer=4.000");

	VCLOCK.vnow = 9.0;
	fsm_fire(&M, 1);
	ck_assert_int_eq(R.ticks, 3);
	R.wait = 0.5;
	VCLOCK.vnow = 11.0;
	fsm_fire(&M, 0);
	ck_assert(M.timers[0].deadline == 11.5);
	ck_assert(M.timers[1].deadline == 12.0);
	const struct fsm_cell *c = &enginetest_spec.cells[ENGINETEST_S_POLLING *
	    enginetest_spec.nevents + ENGINETEST_E_TIMEOUT];
	ck_assert_uint_eq(enginetest_spec.rules[c->first].reenter, 1);
	ck_assert_uint_eq(M.hits[c->first], 2);
}
END_TEST

START_TEST(computed_delay_sets_the_timer)
{
	R.allowed = 0;
	R.wait = 3.25;
	fsm_dispatch(&M, ENGINETEST_E_GO);
	ck_assert_int_eq(M.state, ENGINETEST_S_WAITING);
	ck_assert(M.timers[0].deadline == 3.25);
	ck_assert(strstr(R.steps[1], " timer=3.250") != NULL);
}
END_TEST

START_TEST(event_raised_by_action_is_queued_until_dispatch_ends)
{
	R.log[0] = '\0';
	fsm_dispatch(&M, ENGINETEST_E_RAISE);
	ck_assert_int_eq(R.state_seen_in_raise, ENGINETEST_S_IDLE);
	ck_assert_int_eq(M.state, ENGINETEST_S_BUSY);
	/* idle raise -> idle is an external self-transition: exit, action,
	 * entry; then the queued kick */
	ck_assert_str_eq(R.log,
	    "exit_idle,raise_kick,enter_idle,exit_idle,on_kick,enter_busy");
	ck_assert_int_eq(R.nsteps, 3);
	ck_assert(strstr(R.steps[1], "event=raise ") != NULL);
	ck_assert(strstr(R.steps[2], "event=kick ") != NULL);
}
END_TEST

START_TEST(invalid_and_ignore_are_counted_and_change_nothing)
{
	R.allowed = 1;
	fsm_dispatch(&M, ENGINETEST_E_GO);
	fsm_dispatch(&M, ENGINETEST_E_GO);    /* busy go: invalid */
	fsm_dispatch(&M, ENGINETEST_E_KICK);  /* busy kick: ignore */
	ck_assert_int_eq(M.state, ENGINETEST_S_BUSY);
	ck_assert_uint_eq(M.invalid, 1);
	ck_assert_uint_eq(M.ignored, 1);
	ck_assert(strstr(R.steps[2], "kind=invalid") != NULL);
	ck_assert(strstr(R.steps[3], "kind=ignore") != NULL);
}
END_TEST

START_TEST(per_transition_counters)
{
	uint32_t total = 0;
	R.allowed = 1;
	fsm_dispatch(&M, ENGINETEST_E_GO);
	fsm_dispatch(&M, ENGINETEST_E_PING);
	fsm_dispatch(&M, ENGINETEST_E_PING);
	for (int i = 0; i < enginetest_spec.nrules; i++)
		total += M.hits[i];
	ck_assert_uint_eq(total, 3);
	const struct fsm_cell *c = &enginetest_spec.cells[ENGINETEST_S_BUSY *
	    enginetest_spec.nevents + ENGINETEST_E_PING];
	ck_assert_uint_eq(M.hits[c->first], 2);
}
END_TEST

START_TEST(activity_jitter_stays_in_range)
{
	R.allowed = 1;
	fsm_dispatch(&M, ENGINETEST_E_GO);
	for (int i = 0; i < 40; i++) {
		double armed_at = VCLOCK.vnow;
		double d = M.timers[1].deadline - armed_at;
		ck_assert_msg(d >= 1.5 && d <= 2.5, "interval %f outside 2±0.5", d);
		VCLOCK.vnow = M.timers[1].deadline;
		fsm_dispatch(&M, ENGINETEST_E_PING);  /* keep busy from timing out */
		fsm_fire(&M, 1);
	}
	ck_assert_int_eq(R.ticks, 40);
	ck_assert_int_eq(M.state, ENGINETEST_S_BUSY);
}
END_TEST

START_TEST(final_state_ignores_everything)
{
	fsm_dispatch(&M, ENGINETEST_E_STOP);
	ck_assert_int_eq(M.state, ENGINETEST_S_DONE);
	for (int e = 0; e < ENGINETEST_NEVENTS; e++)
		if (e != ENGINETEST_E_TIMEOUT)
			fsm_dispatch(&M, (uint8_t)e);
	ck_assert_int_eq(M.state, ENGINETEST_S_DONE);
	ck_assert_uint_eq(M.invalid, 0);
	/* no timer in a final state: a timeout there is impossible, so invalid */
	fsm_dispatch(&M, ENGINETEST_E_TIMEOUT);
	ck_assert_uint_eq(M.invalid, 1);
}
END_TEST

/* Replay reads a re-entering timeout like any other timeout line: the timer
 * it re-arms (timer=, a computed delay) decides when the next one is due,
 * and the activity stays armed across it. */
static const char reenter_trace[] =
    "trace=1 fsm=enginetest cfg.busy_timeout=10 cfg.tick_every=2 cfg.tick_jitter=0.5\n"
    "t=0 event=start next=idle kind=start actions=enter_idle\n"
    "t=1 state=idle event=poll next=polling kind=trans actions=exit_idle timer=7\n"
    "t=4 state=polling event=every:tick next=polling kind=every actions=tick\n"
    "t=8 state=polling event=timeout guard=- next=polling kind=trans actions=on_wait_over timer=4\n"
    "t=10 state=polling event=every:tick next=polling kind=every actions=tick\n"
    "t=12 state=polling event=timeout next=polling kind=trans actions=on_wait_over timer=2.5\n"
    "t=13 state=polling event=stop next=done kind=trans actions=on_stop\n";

START_TEST(replay_accepts_a_timeout_reenter)
{
	uint32_t hits[256] = { 0 };
	FILE *err = tmpfile();
	char buf[512] = "";

	ck_assert_int_eq(replay_text(&enginetest_spec, "reenter.trace",
	    reenter_trace, hits, err), 0);
	rewind(err);
	ck_assert(fgets(buf, sizeof(buf), err) == NULL);
	fclose(err);
	const struct fsm_cell *c = &enginetest_spec.cells[ENGINETEST_S_POLLING *
	    enginetest_spec.nevents + ENGINETEST_E_TIMEOUT];
	ck_assert_uint_eq(hits[c->first], 2);
}
END_TEST

START_TEST(replay_times_the_next_timeout_from_the_reenter)
{
	static const char early[] =
	    "trace=1 fsm=enginetest cfg.busy_timeout=10 cfg.tick_every=2 cfg.tick_jitter=0.5\n"
	    "t=0 event=start\n"
	    "t=1 event=poll timer=7\n"
	    "t=8 event=timeout next=polling kind=trans actions=on_wait_over timer=4\n"
	    "t=10 event=timeout\n";
	uint32_t hits[256] = { 0 };
	FILE *err = tmpfile();
	char buf[512] = "";

	ck_assert_int_eq(replay_text(&enginetest_spec, "early.trace", early,
	    hits, err), 1);
	rewind(err);
	ck_assert(fgets(buf, sizeof(buf), err) != NULL);
	ck_assert_str_eq(buf,
	    "early.trace:5: expected timeout at t>=12.000 got t=10 (early)\n");
	fclose(err);
}
END_TEST

/* A real libev loop: timers and activities fire by themselves. */
static void
stop_loop(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)w;
	(void)revents;
	ev_break(loop, EVBREAK_ALL);
}

START_TEST(libev_timers_fire_in_real_time)
{
	struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
	struct fsm_clock clock = { .loop = loop };
	double c[ENGINETEST_NCFG] = { 0.25, 0.02, 0.005 };
	struct fsm m;
	struct rec r;
	ev_timer guard;

	memset(&r, 0, sizeof(r));
	clock.t0 = ev_now(loop);
	ck_assert_int_eq(fsm_init(&m, &enginetest_spec, &enginetest_binding, &r,
	    "ev", c, &clock, 7), 0);
	fsm_start(&m);
	r.allowed = 1;
	fsm_dispatch(&m, ENGINETEST_E_GO);
	ev_timer_init(&guard, stop_loop, 5.0, 0);  /* upper bound, never reached */
	ev_timer_start(loop, &guard);
	/* Run until the busy timeout takes us back to idle. */
	while (m.state == ENGINETEST_S_BUSY && ev_now(loop) - clock.t0 < 5.0)
		ev_run(loop, EVRUN_ONCE);
	ck_assert_int_eq(m.state, ENGINETEST_S_IDLE);
	ck_assert(strstr(r.log, "on_timeout") != NULL);
	/* 0.25 s of 0.015..0.025 s ticks */
	ck_assert_msg(r.ticks >= 5 && r.ticks <= 17, "ticks=%d", r.ticks);
	ck_assert(!ev_is_active(&m.timers[1].w));
	ev_timer_stop(loop, &guard);
	fsm_free(&m);
	ev_loop_destroy(loop);
}
END_TEST

static Suite *
engine_suite(void)
{
	Suite *s = suite_create("engine");
	TCase *tc = tcase_create("virtual");

	tcase_add_checked_fixture(tc, setup_virtual, teardown);
	tcase_add_test(tc, start_runs_entry_of_initial);
	tcase_add_test(tc, guard_true_takes_first_rule_in_order);
	tcase_add_test(tc, guard_false_falls_through_to_next_rule);
	tcase_add_test(tc, state_timeout_armed_on_entry_fires_at_deadline);
	tcase_add_test(tc, reenter_rearms_timeout_without_exit_or_entry);
	tcase_add_test(tc, timeout_reenter_keeps_activity_schedule_and_reevaluates_delay);
	tcase_add_test(tc, computed_delay_sets_the_timer);
	tcase_add_test(tc, replay_accepts_a_timeout_reenter);
	tcase_add_test(tc, replay_times_the_next_timeout_from_the_reenter);
	tcase_add_test(tc, event_raised_by_action_is_queued_until_dispatch_ends);
	tcase_add_test(tc, invalid_and_ignore_are_counted_and_change_nothing);
	tcase_add_test(tc, per_transition_counters);
	tcase_add_test(tc, activity_jitter_stays_in_range);
	tcase_add_test(tc, final_state_ignores_everything);
	suite_add_tcase(s, tc);
	tc = tcase_create("libev");
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, libev_timers_fire_in_real_time);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(engine_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
