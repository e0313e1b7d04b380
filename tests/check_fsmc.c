/*
 * tests/check_fsmc.c: golden tests of the spec compiler.
 *
 * For every tests/fsmc/NAME.fsm, `fsmc check` must print exactly
 * tests/fsmc/NAME.err on stderr (an empty .err means: a good spec, exit 0,
 * nothing on stderr) and exit 1 when the .err is not empty.  The fsmc
 * binary under test comes from $FSMC.  Run from the repository root.
 */
#include <check.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include "util.h"

static char specs[64][256];
static int nspecs;
static const char *fsmc;

static int
cmp(const void *a, const void *b)
{
	return strcmp(a, b);
}

static void
list_specs(void)
{
	DIR *d = opendir("tests/fsmc");
	struct dirent *e;

	nspecs = 0;
	if (d == NULL)
		return;
	while ((e = readdir(d)) != NULL && nspecs < 64) {
		size_t n = strlen(e->d_name);
		if (n > 4 && strcmp(e->d_name + n - 4, ".fsm") == 0)
			snprintf(specs[nspecs++], sizeof(specs[0]), "tests/fsmc/%.*s",
			    (int)n - 4, e->d_name);
	}
	closedir(d);
	qsort(specs, (size_t)nspecs, sizeof(specs[0]), cmp);
}

START_TEST(golden)
{
	char cmd[1024], errpath[300], outpath[] = "/tmp/sk-fsmc-XXXXXX";
	char *want, *got;
	int status, fd;

	snprintf(errpath, sizeof(errpath), "%s.err", specs[_i]);
	want = test_slurp(errpath);
	ck_assert_msg(want != NULL, "missing golden file %s", errpath);
	fd = mkstemp(outpath);
	ck_assert_int_ge(fd, 0);
	snprintf(cmd, sizeof(cmd), "%s check %s.fsm 2>%s >/dev/null", fsmc,
	    specs[_i], outpath);
	status = system(cmd);
	ck_assert(WIFEXITED(status));
	got = test_slurp(outpath);
	ck_assert_msg(strcmp(want, got) == 0, "%s.fsm:\n--- want\n%s--- got\n%s",
	    specs[_i], want, got);
	ck_assert_int_eq(WEXITSTATUS(status), want[0] ? 1 : 0);
	remove(outpath);
	free(want);
	free(got);
}
END_TEST

/* Each check has its own golden case; losing one loses a test. */
START_TEST(every_check_has_a_case)
{
	static const char *const needed[] = {
		"missing_pairs", "unknown_state", "unknown_event", "unknown_action",
		"unknown_guard", "unknown_config", "unreachable", "drain_dead_end",
		"shadowed", "duplicate", "syntax", "bad_char", "guarded_only",
		"final_transition", "missing_machine", "good", "timeout_reenter",
		"timeout_reenter_other", NULL,
	};
	for (int i = 0; needed[i] != NULL; i++) {
		int found = 0;
		for (int k = 0; k < nspecs; k++)
			found |= strcmp(specs[k] + strlen("tests/fsmc/"), needed[i]) == 0;
		ck_assert_msg(found, "no golden case tests/fsmc/%s.fsm", needed[i]);
	}
}
END_TEST

START_TEST(generates_c_for_the_lifecycle)
{
	char cmd[1024];
	snprintf(cmd, sizeof(cmd),
	    "d=$(mktemp -d) && %s c fsm/lifecycle.fsm -o $d && "
	    "test -s $d/lifecycle_fsm.h && test -s $d/lifecycle_fsm.c && "
	    "test -s $d/lifecycle_bind.c && grep -q 'LIFECYCLE_SPEC_HASH' $d/lifecycle_fsm.h; "
	    "rc=$?; rm -rf $d; exit $rc", fsmc);
	ck_assert_int_eq(system(cmd), 0);
}
END_TEST

/* A timeout line with 'reenter' reaches every back end: the rule's flag in
 * the C table, the re-arm mark on the dot and Mermaid edge, "reenter" in the
 * Mermaid state table's timeout column. */
START_TEST(timeout_reenter_reaches_the_emitters)
{
	char cmd[2048];
	snprintf(cmd, sizeof(cmd),
	    "f=tests/fsmc/timeout_reenter.fsm; d=$(mktemp -d) && %s c $f -o $d && "
	    "grep -q 'showing timeout \\*/ { FSM_R_TRANS, 255, 0, 1,' $d/treenter_fsm.c && "
	    "%s dot $f | grep -qF '\"showing\" -> \"showing\" [label=\"timeout (@next_delay) (re-arm)' && "
	    "%s mermaid $f | grep -qF 'showing --> showing : timeout (next_delay) (re-arm) / show_next' && "
	    "%s mermaid $f | grep -qF '`@next_delay -> showing reenter / show_next`' && "
	    "%s mermaid $f | grep -qF '| `showing` | `timeout (@next_delay)` |  | `showing` (reenter) |'; "
	    "rc=$?; rm -rf $d; exit $rc", fsmc, fsmc, fsmc, fsmc, fsmc);
	ck_assert_int_eq(system(cmd), 0);
}
END_TEST

START_TEST(usage_errors_exit_2)
{
	char cmd[512];
	snprintf(cmd, sizeof(cmd), "%s frobnicate x 2>/dev/null", fsmc);
	ck_assert_int_eq(WEXITSTATUS(system(cmd)), 2);
	snprintf(cmd, sizeof(cmd), "%s check /nonexistent.fsm 2>/dev/null", fsmc);
	ck_assert_int_eq(WEXITSTATUS(system(cmd)), 2);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("fsmc");
	TCase *tc = tcase_create("golden");
	SRunner *sr;
	int failed;

	fsmc = getenv("FSMC");
	if (fsmc == NULL)
		fsmc = "bin/fsmc";
	list_specs();
	tcase_add_test(tc, every_check_has_a_case);
	tcase_add_loop_test(tc, golden, 0, nspecs);
	tcase_add_test(tc, generates_c_for_the_lifecycle);
	tcase_add_test(tc, timeout_reenter_reaches_the_emitters);
	tcase_add_test(tc, usage_errors_exit_2);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
