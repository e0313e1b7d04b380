/*
 * tests/check_replay.c: replay verdicts.
 *  - every trace under tests/replay/bad/ must fail with exactly the
 *    messages in its .out file (golden);
 *  - a trace written by the engine on a real libev loop, through the real
 *    logger, in the daemon's format, must replay with no mismatch.
 * Run from the repository root.
 */
#include <check.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "util.h"
#include "fsm/replay.h"
#include "log/log.h"
#include "lifecycle_fsm.h"

static char bad[32][256];
static int nbad;

static void
list_bad(void)
{
	DIR *d = opendir("tests/replay/bad");
	struct dirent *e;

	nbad = 0;
	if (d == NULL)
		return;
	while ((e = readdir(d)) != NULL && nbad < 32) {
		size_t n = strlen(e->d_name);
		if (n > 6 && strcmp(e->d_name + n - 6, ".trace") == 0)
			snprintf(bad[nbad++], sizeof(bad[0]), "tests/replay/bad/%s",
			    e->d_name);
	}
	closedir(d);
}

START_TEST(bad_trace_fails_with_golden_message)
{
	char out[300], *want, *got;
	uint32_t hits[1024] = { 0 };
	FILE *err = tmpfile();
	long n;
	int rc;

	ck_assert_int_lt(_i, nbad);
	rc = replay_file(&lifecycle_spec, bad[_i], hits, err);
	ck_assert_msg(rc > 0, "%s: replay accepted a trace that must fail", bad[_i]);
	snprintf(out, sizeof(out), "%.*s.out", (int)strlen(bad[_i]) - 6, bad[_i]);
	want = test_slurp(out);
	ck_assert_msg(want != NULL, "missing golden file %s", out);
	n = ftell(err);
	got = calloc(1, (size_t)n + 1);
	rewind(err);
	ck_assert(fread(got, 1, (size_t)n, err) == (size_t)n);
	ck_assert_msg(strcmp(want, got) == 0, "%s:\n--- want\n%s--- got\n%s",
	    bad[_i], want, got);
	free(want);
	free(got);
	fclose(err);
}
END_TEST

START_TEST(bad_traces_exist)
{
	ck_assert_int_ge(nbad, 5);
}
END_TEST

/* --- a live run, logged like the daemon logs it ---------------------- */

struct live {
	struct fsm m;
	int n;
};

static void any_action(struct fsm *m, void *ctx) { (void)m; (void)ctx; }
static int no_guard(struct fsm *m, void *ctx) { (void)m; (void)ctx; return 0; }
static double short_delay(struct fsm *m, void *ctx) { (void)m; (void)ctx; return 0.03; }

static fsm_action_fn *acts[64];
static fsm_guard_fn *guards[8];
static fsm_delay_fn *delays[8];
static const struct fsm_binding live_binding = { acts, guards, delays };

struct script { double at; const char *id; int ev; };

static struct live A, B;
static const struct script *cur;

static void
script_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)revents;
	struct live *l = strcmp(cur->id, "a") == 0 ? &A : &B;
	if (cur->ev < 0) {
		ev_break(loop, EVBREAK_ALL);
		return;
	}
	(void)w;
	fsm_dispatch(&l->m, (uint8_t)cur->ev);
	cur++;
}

START_TEST(daemon_log_replays_as_it_is)
{
	/* connect_timeout, idle_deadline, ping_deadline, drain_budget,
	 * keepalive, keepalive_jitter, heavy_every, heavy_jitter */
	double cfg[LIFECYCLE_NCFG] = { 0.05, 0.08, 0.04, 0.5, 0.02, 0.005, 0.07, 0.01 };
	static const struct script script[] = {
		{ 0.10, "a", LIFECYCLE_E_LOGGED_IN },  /* b: times out, backs off */
		{ 0.13, "a", LIFECYCLE_E_FRAME },
		{ 0.15, "b", LIFECYCLE_E_LOGGED_IN },
		{ 0.16, "a", LIFECYCLE_E_PONG },
		/* a goes quiet: stale after 0.08 s, backoff after 0.04 more */
		{ 0.40, "b", LIFECYCLE_E_RESTART_REQUIRED },
		{ 0.42, "b", LIFECYCLE_E_LOGGED_IN },
		{ 0.45, "a", LIFECYCLE_E_DRAIN },
		{ 0.46, "b", LIFECYCLE_E_DRAIN },
		{ 0.47, "a", LIFECYCLE_E_FLUSHED },
		{ 0.48, "b", LIFECYCLE_E_FLUSHED },
		{ 0.55, "a", -1 },
	};
	char path[] = "/tmp/sk-replay-XXXXXX";
	int fd = mkstemp(path);
	struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
	struct fsm_clock clock = { .loop = loop };
	uint32_t *hits = calloc(lifecycle_spec.nrules, sizeof(*hits));
	ev_timer w;
	FILE *err = tmpfile();
	int rc;

	ck_assert_int_ge(fd, 0);
	for (int i = 0; i < lifecycle_spec.nactions; i++)
		acts[i] = any_action;
	for (int i = 0; i < lifecycle_spec.nguards; i++)
		guards[i] = no_guard;
	for (int i = 0; i < lifecycle_spec.ndelays; i++)
		delays[i] = short_delay;
	log_set_fd(fd);
	clock.t0 = ev_now(loop);
	fsm_trace_log_header(&lifecycle_spec, cfg);
	log_info("msg=\"an ordinary log line the replay must skip\"");
	ck_assert_int_eq(fsm_init(&A.m, &lifecycle_spec, &live_binding, &A, "a",
	    cfg, &clock, 1), 0);
	ck_assert_int_eq(fsm_init(&B.m, &lifecycle_spec, &live_binding, &B, "b",
	    cfg, &clock, 2), 0);
	A.m.trace = B.m.trace = fsm_trace_log;
	fsm_start(&A.m);
	fsm_start(&B.m);
	cur = script;
	ev_timer_init(&w, script_cb, 0, 0);
	for (;;) {
		double wait = cur->at - (ev_now(loop) - clock.t0);
		ev_timer_set(&w, wait > 0 ? wait : 0, 0);
		ev_timer_start(loop, &w);
		while (ev_is_active(&w))
			ev_run(loop, EVRUN_ONCE);
		if (cur->ev < 0 || cur == script + sizeof(script) / sizeof(script[0]) - 1)
			break;
	}
	ck_assert_int_eq(A.m.state, LIFECYCLE_S_CLOSED);
	ck_assert_int_eq(B.m.state, LIFECYCLE_S_CLOSED);
	fsm_free(&A.m);
	fsm_free(&B.m);
	ev_loop_destroy(loop);
	log_set_fd(1);
	close(fd);

	rc = replay_file(&lifecycle_spec, path, hits, err);
	if (rc != 0) {
		char buf[4096] = "";
		rewind(err);
		size_t n = fread(buf, 1, sizeof(buf) - 1, err);
		buf[n] = '\0';
		char *log = test_slurp(path);
		ck_abort_msg("replay of the live log failed:\n%s\nlog:\n%s", buf, log);
	}
	/* the stale path really happened and was replayed */
	uint32_t total = 0;
	for (int i = 0; i < lifecycle_spec.nrules; i++)
		total += hits[i];
	ck_assert_uint_ge(total, 12);
	char *log = test_slurp(path);
	ck_assert(strstr(log, "next=stale") != NULL);
	ck_assert(strstr(log, "event=every:send_keepalive") != NULL);
	free(log);
	free(hits);
	fclose(err);
	unlink(path);
}
END_TEST

static Suite *
replay_suite(void)
{
	Suite *s = suite_create("replay");
	TCase *tc = tcase_create("verdicts");

	list_bad();
	tcase_add_test(tc, bad_traces_exist);
	tcase_add_loop_test(tc, bad_trace_fails_with_golden_message, 0, nbad);
	suite_add_tcase(s, tc);
	tc = tcase_create("live");
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, daemon_log_replays_as_it_is);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(replay_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
