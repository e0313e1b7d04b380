/*
 * tests/check_file.c: the local file copy (src/store/file.c).
 *  - session ids: what is accepted, what is refused and how;
 *  - permissions: 0700 directories and 0600 files whatever the umask, and
 *    wider ones tightened;
 *  - missing file is its own result; symlinks are refused;
 *  - the lock: a second process (fork) is refused with the holder's pid and
 *    host; the lock goes when its holder closes or is killed -9;
 *  - atomic replace: a reader running beside the writer only ever sees a
 *    whole old or a whole new file; crash leftovers are cleaned up.
 * Every loop is bounded in count; Check's timeout bounds the time.
 */
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "store/file.h"

static char tmpdir[64];
static char datadir[128];

/* Two levels are all the store makes: DATA/lock, DATA/sessions/x. */
static void
rm_tree(const char *path)
{
	DIR *d = opendir(path);
	struct dirent *e;
	char sub[512];
	struct stat st;

	if (d != NULL) {
		while ((e = readdir(d)) != NULL) {
			if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
				continue;
			snprintf(sub, sizeof(sub), "%s/%s", path, e->d_name);
			if (lstat(sub, &st) == 0 && S_ISDIR(st.st_mode))
				rm_tree(sub);
			else
				unlink(sub);
		}
		closedir(d);
	}
	rmdir(path);
}

static void
setup(void)
{
	const char *base = getenv("TMPDIR");

	snprintf(tmpdir, sizeof(tmpdir), "%s/skfile.XXXXXX",
	    base != NULL && strlen(base) < 40 ? base : "/tmp");
	ck_assert_ptr_nonnull(mkdtemp(tmpdir));
	/* A data dir that does not exist yet, two levels down. */
	snprintf(datadir, sizeof(datadir), "%s/var/data", tmpdir);
}

static void
teardown(void)
{
	rm_tree(tmpdir);
}

static mode_t
mode_of(const char *path)
{
	struct stat st;

	ck_assert_msg(lstat(path, &st) == 0, "%s: %s", path, strerror(errno));
	return st.st_mode & 07777;
}

static void
open_ok(struct store_file *f)
{
	char why[300] = "";

	ck_assert_msg(store_file_open(f, datadir, why, sizeof(why)) == 0,
	    "open: %s", why);
}

static void
save_ok(struct store_file *f, const char *id, const void *b, size_t n)
{
	char why[300] = "";

	ck_assert_msg(store_file_save(f, id, b, n, why, sizeof(why)) == 0,
	    "save %s: %s", id, why);
}

/* --- ids ------------------------------------------------------------- */

static const char *good_ids[] = {
	"default", "a", "7", "bot-1.main_2", "A.b-C_d",
	"0123456789012345678901234567890123456789012345678901234567890123",
};

static const char *bad_ids[] = {
	"", "..", ".", "../x", "a/b", "/etc", ".hidden", "a..b", "-rf", "_x",
	"a b", "a\nb", "caf\xc3\xa9", "a\\b", "x*", "x.snap/",
	"01234567890123456789012345678901234567890123456789012345678901234",
};

START_TEST(id_good)
{
	char why[200] = "";

	ck_assert_msg(store_file_id_valid(good_ids[_i], why, sizeof(why)) == 0,
	    "\"%s\" refused: %s", good_ids[_i], why);
}
END_TEST

START_TEST(id_bad)
{
	char why[200] = "";

	ck_assert_int_eq(store_file_id_valid(bad_ids[_i], why, sizeof(why)),
	    STORE_FILE_EID);
	ck_assert_msg(strstr(why, "session id") != NULL, "why: %s", why);
	/* The id itself is never echoed (it may hold control bytes). */
	ck_assert(bad_ids[_i][0] == '\0' || strstr(why, bad_ids[_i]) == NULL ||
	    strlen(bad_ids[_i]) <= 2);
}
END_TEST

START_TEST(id_bad_is_refused_by_every_call)
{
	struct store_file f;
	char why[200];
	uint8_t *b = (uint8_t *)"x";
	size_t n;

	open_ok(&f);
	ck_assert_int_eq(store_file_save(&f, "../escape", b, 1, why,
	    sizeof(why)), STORE_FILE_EID);
	ck_assert_int_eq(store_file_load(&f, "../escape", &b, &n, why,
	    sizeof(why)), STORE_FILE_EID);
	ck_assert_ptr_null(b);
	ck_assert_int_eq(store_file_remove(&f, "a/b", why, sizeof(why)),
	    STORE_FILE_EID);
	store_file_close(&f);
	ck_assert_int_ne(access("../escape.snap", F_OK), 0);
}
END_TEST

/* --- basics ---------------------------------------------------------- */

START_TEST(round_trip_and_missing)
{
	struct store_file f;
	uint8_t *b, big[100000];
	size_t n;
	char why[300];

	open_ok(&f);
	ck_assert_int_eq(store_file_load(&f, "nobody", &b, &n, why, sizeof(why)),
	    STORE_FILE_MISSING);
	ck_assert_ptr_null(b);
	ck_assert_uint_eq(n, 0);
	for (size_t i = 0; i < sizeof(big); i++)
		big[i] = (uint8_t)(i * 7 + 3);
	save_ok(&f, "s1", big, sizeof(big));
	ck_assert_int_eq(store_file_load(&f, "s1", &b, &n, why, sizeof(why)), 0);
	ck_assert_uint_eq(n, sizeof(big));
	ck_assert(memcmp(b, big, n) == 0);
	free(b);
	/* an empty blob is a file too (decode will call it truncated) */
	save_ok(&f, "empty", big, 0);
	ck_assert_int_eq(store_file_load(&f, "empty", &b, &n, why, sizeof(why)),
	    0);
	ck_assert_uint_eq(n, 0);
	free(b);
	/* remove: gone, then removing again is no error */
	ck_assert_int_eq(store_file_remove(&f, "s1", why, sizeof(why)), 0);
	ck_assert_int_eq(store_file_load(&f, "s1", &b, &n, why, sizeof(why)),
	    STORE_FILE_MISSING);
	ck_assert_int_eq(store_file_remove(&f, "s1", why, sizeof(why)), 0);
	store_file_close(&f);
	store_file_close(&f);     /* twice is harmless */
	ck_assert_int_eq(store_file_save(&f, "s1", big, 1, why, sizeof(why)),
	    STORE_FILE_ECLOSED);
}
END_TEST

START_TEST(data_survives_reopen)
{
	struct store_file f;
	uint8_t *b;
	size_t n;
	char why[300];

	open_ok(&f);
	save_ok(&f, "keep", "hello", 5);
	store_file_close(&f);
	open_ok(&f);
	ck_assert_int_eq(store_file_load(&f, "keep", &b, &n, why, sizeof(why)),
	    0);
	ck_assert_uint_eq(n, 5);
	ck_assert(memcmp(b, "hello", 5) == 0);
	free(b);
	store_file_close(&f);
}
END_TEST

START_TEST(permissions_whatever_the_umask)
{
	static const mode_t masks[] = { 0, 022, 077, 0277 };
	struct store_file f;
	char p[300];

	umask(masks[_i]);
	open_ok(&f);
	save_ok(&f, "perm", "x", 1);
	ck_assert_uint_eq(mode_of(datadir), 0700);
	snprintf(p, sizeof(p), "%s/var", tmpdir);
	ck_assert_uint_eq(mode_of(p), 0700);       /* parents made too */
	snprintf(p, sizeof(p), "%s/sessions", datadir);
	ck_assert_uint_eq(mode_of(p), 0700);
	snprintf(p, sizeof(p), "%s/sessions/perm.snap", datadir);
	ck_assert_uint_eq(mode_of(p), 0600);
	snprintf(p, sizeof(p), "%s/lock", datadir);
	ck_assert_uint_eq(mode_of(p), 0600);
	store_file_close(&f);
	umask(022);
}
END_TEST

START_TEST(wide_permissions_are_tightened)
{
	struct store_file f;
	char sess[300], file[320];
	int fd;

	umask(0);
	snprintf(sess, sizeof(sess), "%s/var", tmpdir);
	ck_assert_int_eq(mkdir(sess, 0755), 0);
	ck_assert_int_eq(mkdir(datadir, 0755), 0);
	snprintf(sess, sizeof(sess), "%s/sessions", datadir);
	ck_assert_int_eq(mkdir(sess, 0777), 0);
	snprintf(file, sizeof(file), "%s/wide.snap", sess);
	fd = open(file, O_WRONLY | O_CREAT, 0666);
	ck_assert_int_ge(fd, 0);
	close(fd);
	open_ok(&f);
	ck_assert_uint_eq(mode_of(sess), 0700);
	save_ok(&f, "wide", "y", 1);
	ck_assert_uint_eq(mode_of(file), 0600);
	store_file_close(&f);
	umask(022);
}
END_TEST

START_TEST(symlink_is_refused)
{
	struct store_file f;
	char link[300], target[300], why[300] = "";
	uint8_t *b;
	size_t n;
	int fd;

	open_ok(&f);
	snprintf(target, sizeof(target), "%s/elsewhere", tmpdir);
	fd = open(target, O_WRONLY | O_CREAT, 0600);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, "secret", 6), 6);
	close(fd);
	snprintf(link, sizeof(link), "%s/sessions/ln.snap", datadir);
	ck_assert_int_eq(symlink(target, link), 0);
	ck_assert_int_eq(store_file_load(&f, "ln", &b, &n, why, sizeof(why)),
	    STORE_FILE_EIO);
	ck_assert_ptr_null(b);
	ck_assert_msg(strstr(why, "ln.snap") != NULL, "why: %s", why);
	/* a save replaces the link itself, never writes through it */
	save_ok(&f, "ln", "new", 3);
	ck_assert_uint_eq(mode_of(link) & 0777, 0600);
	ck_assert_int_eq(store_file_load(&f, "ln", &b, &n, why, sizeof(why)), 0);
	ck_assert_uint_eq(n, 3);
	free(b);
	fd = open(target, O_RDONLY);
	ck_assert_int_eq(read(fd, link, sizeof(link)), 6);
	close(fd);
	store_file_close(&f);
}
END_TEST

START_TEST(data_dir_that_is_a_file)
{
	struct store_file f;
	char why[300] = "";
	int fd;

	snprintf(datadir, sizeof(datadir), "%s/plainfile", tmpdir);
	fd = open(datadir, O_WRONLY | O_CREAT, 0600);
	ck_assert_int_ge(fd, 0);
	close(fd);
	ck_assert_int_eq(store_file_open(&f, datadir, why, sizeof(why)),
	    STORE_FILE_EIO);
	ck_assert_msg(strstr(why, "not a directory") != NULL, "why: %s", why);
	ck_assert_int_eq(store_file_open(&f, "", why, sizeof(why)),
	    STORE_FILE_EIO);
}
END_TEST

static int
collect(const char *id, void *arg)
{
	char *out = arg;

	ck_assert_uint_lt(strlen(out) + strlen(id) + 2, 256);
	strcat(out, id);
	strcat(out, ",");
	return 0;
}

static int
stop_at_first(const char *id, void *arg)
{
	(void)id;
	(*(int *)arg)++;
	return 42;
}

START_TEST(list_sees_only_sessions)
{
	struct store_file f;
	char seen[256] = "", p[300], why[300];
	const char *junk[] = { "notes.txt", "bad id.snap", ".snap", "x.snap.old" };
	int fd, calls = 0;

	open_ok(&f);
	save_ok(&f, "alpha", "a", 1);
	save_ok(&f, "beta", "b", 1);
	save_ok(&f, "gamma", "c", 1);
	for (size_t i = 0; i < sizeof(junk) / sizeof(junk[0]); i++) {
		snprintf(p, sizeof(p), "%s/sessions/%s", datadir, junk[i]);
		fd = open(p, O_WRONLY | O_CREAT, 0600);
		ck_assert_int_ge(fd, 0);
		close(fd);
	}
	ck_assert_int_eq(store_file_list(&f, collect, seen, why, sizeof(why)),
	    0);
	ck_assert_uint_eq(strlen(seen), strlen("alpha,beta,gamma,"));
	ck_assert_ptr_nonnull(strstr(seen, "alpha,"));
	ck_assert_ptr_nonnull(strstr(seen, "beta,"));
	ck_assert_ptr_nonnull(strstr(seen, "gamma,"));
	ck_assert_int_eq(store_file_list(&f, stop_at_first, &calls, why,
	    sizeof(why)), 42);
	ck_assert_int_eq(calls, 1);
	store_file_close(&f);
}
END_TEST

/* --- the lock -------------------------------------------------------- */

/* Child: try to open the store; exit 0 if refused with a message naming
 * pid `holder`, 1 if it opened, 2 if refused without the holder's name. */
static void
child_try_open(pid_t holder)
{
	struct store_file f;
	char why[400] = "", want[40], host[128];
	int rc = store_file_open(&f, datadir, why, sizeof(why));

	if (rc == 0)
		_exit(1);
	snprintf(want, sizeof(want), "pid=%ld ", (long)holder);
	gethostname(host, sizeof(host));
	host[sizeof(host) - 1] = '\0';
	if (rc != STORE_FILE_ELOCKED || strstr(why, want) == NULL ||
	    strstr(why, host) == NULL || strstr(why, datadir) == NULL) {
		fprintf(stderr, "child: rc=%d why=%s\n", rc, why);
		_exit(2);
	}
	_exit(0);
}

static int
run_child_try_open(pid_t holder)
{
	int st;
	pid_t pid = fork();

	ck_assert_int_ge(pid, 0);
	if (pid == 0)
		child_try_open(holder);
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	ck_assert(WIFEXITED(st));
	return WEXITSTATUS(st);
}

START_TEST(second_process_is_refused_with_holder)
{
	struct store_file f;
	int st;
	pid_t pid;

	open_ok(&f);
	ck_assert_int_eq(run_child_try_open(getpid()), 0);
	store_file_close(&f);
	/* released: another process gets it now */
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		struct store_file g;
		_exit(store_file_open(&g, datadir, NULL, 0) == 0 ? 0 : 1);
	}
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	ck_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
}
END_TEST

START_TEST(second_open_in_one_process_is_refused)
{
	struct store_file f, g;
	char why[400] = "";

	open_ok(&f);
	ck_assert_int_eq(store_file_open(&g, datadir, why, sizeof(why)),
	    STORE_FILE_ELOCKED);
	ck_assert_msg(strstr(why, "in use") != NULL, "why: %s", why);
	/* the refused open must not have disturbed the holder */
	save_ok(&f, "still", "ok", 2);
	store_file_close(&f);
	open_ok(&g);
	store_file_close(&g);
}
END_TEST

START_TEST(lock_dies_with_a_killed_holder)
{
	struct store_file f;
	char why[400] = "", ready;
	int p[2], st;
	pid_t pid;

	ck_assert_int_eq(pipe(p), 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		struct store_file g;
		close(p[0]);
		if (store_file_open(&g, datadir, NULL, 0) != 0)
			_exit(1);
		if (write(p[1], "r", 1) != 1)
			_exit(1);
		for (int i = 0; i < 100; i++)   /* 10 s at most */
			usleep(100000);
		_exit(0);
	}
	close(p[1]);
	ck_assert_int_eq(read(p[0], &ready, 1), 1);
	close(p[0]);
	ck_assert_int_eq(store_file_open(&f, datadir, why, sizeof(why)),
	    STORE_FILE_ELOCKED);
	ck_assert_int_eq(kill(pid, SIGKILL), 0);
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	ck_assert(WIFSIGNALED(st));
	open_ok(&f);
	store_file_close(&f);
}
END_TEST

/* --- atomic replace -------------------------------------------------- */

/* Generation g's content: length and bytes both depend on g, so a mix of
 * two generations (or a short file) is always detectable. */
static size_t
gen_len(unsigned g)
{
	return 3000 + (g * 7919u) % 60000;
}

static void
gen_fill(uint8_t *b, unsigned g)
{
	size_t n = gen_len(g);

	for (size_t i = 0; i < n; i++)
		b[i] = (uint8_t)(g + i / 4096);
	memcpy(b, &g, sizeof(g));
}

START_TEST(reader_never_sees_a_torn_file)
{
	enum { SAVES = 150 };
	static uint8_t buf[70000], want[70000];
	struct store_file f;
	uint8_t *b;
	size_t n;
	int st, p[2];
	pid_t pid;
	char why[300];

	open_ok(&f);
	gen_fill(buf, 0);
	save_ok(&f, "rw", buf, gen_len(0));
	ck_assert_int_eq(pipe(p), 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		/* The reader shares the parent's store (fork keeps the flock
		 * and the directory descriptor). Bounded: 20000 reads. */
		unsigned g, reads = 0, bad = 0;
		char stop;
		close(p[1]);
		fcntl(p[0], F_SETFL, O_NONBLOCK);
		while (reads < 20000 && read(p[0], &stop, 1) < 0) {
			if (store_file_load(&f, "rw", &b, &n, why, sizeof(why)) != 0)
				_exit(3);
			memcpy(&g, b, sizeof(g));
			gen_fill(want, g);
			if (n != gen_len(g) || memcmp(b, want, n) != 0)
				bad++;
			free(b);
			reads++;
		}
		_exit(bad == 0 ? 0 : 1);
	}
	close(p[0]);
	signal(SIGPIPE, SIG_IGN);   /* the reader may be done already */
	for (unsigned g = 1; g <= SAVES; g++) {
		gen_fill(buf, g);
		save_ok(&f, "rw", buf, gen_len(g));
	}
	(void)!write(p[1], "s", 1);
	close(p[1]);
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0,
	    "reader saw a torn or mixed file (status %d)", st);
	ck_assert_int_eq(store_file_load(&f, "rw", &b, &n, why, sizeof(why)), 0);
	gen_fill(want, SAVES);
	ck_assert_uint_eq(n, gen_len(SAVES));
	ck_assert(memcmp(b, want, n) == 0);
	free(b);
	store_file_close(&f);
}
END_TEST

START_TEST(no_temp_files_are_left)
{
	struct store_file f;
	char p[300];
	DIR *d;
	struct dirent *e;
	int others = 0, fd;

	open_ok(&f);
	for (int i = 0; i < 5; i++)
		save_ok(&f, "t", "abc", 3);
	store_file_close(&f);
	/* a crash leftover, even a wide one, goes at the next open */
	snprintf(p, sizeof(p), "%s/sessions/.t.snap.tmp", datadir);
	fd = open(p, O_WRONLY | O_CREAT, 0644);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, "torn", 4), 4);
	close(fd);
	open_ok(&f);
	ck_assert_int_ne(access(p, F_OK), 0);
	/* and a save over one that appears later still ends 0600 */
	fd = open(p, O_WRONLY | O_CREAT, 0644);
	ck_assert_int_ge(fd, 0);
	close(fd);
	save_ok(&f, "t", "abcd", 4);
	snprintf(p, sizeof(p), "%s/sessions", datadir);
	d = opendir(p);
	ck_assert_ptr_nonnull(d);
	while ((e = readdir(d)) != NULL)
		if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0 &&
		    strcmp(e->d_name, "t.snap") != 0)
			others++;
	closedir(d);
	ck_assert_int_eq(others, 0);
	snprintf(p, sizeof(p), "%s/sessions/t.snap", datadir);
	ck_assert_uint_eq(mode_of(p), 0600);
	store_file_close(&f);
}
END_TEST

START_TEST(strerror_names_every_code)
{
	static const int codes[] = { STORE_FILE_MISSING, STORE_FILE_EID,
		STORE_FILE_EIO, STORE_FILE_ELOCKED, STORE_FILE_ENOMEM,
		STORE_FILE_ETOOBIG, STORE_FILE_ECLOSED };

	for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++)
		ck_assert_str_ne(store_file_strerror(codes[i]), "unknown error");
	ck_assert_str_eq(store_file_strerror(-999), "unknown error");
}
END_TEST

static Suite *
file_suite(void)
{
	Suite *s = suite_create("store_file");
	TCase *tc = tcase_create("ids");

	tcase_add_loop_test(tc, id_good, 0,
	    (int)(sizeof(good_ids) / sizeof(good_ids[0])));
	tcase_add_loop_test(tc, id_bad, 0,
	    (int)(sizeof(bad_ids) / sizeof(bad_ids[0])));
	tcase_add_test(tc, strerror_names_every_code);
	suite_add_tcase(s, tc);

	tc = tcase_create("files");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, id_bad_is_refused_by_every_call);
	tcase_add_test(tc, round_trip_and_missing);
	tcase_add_test(tc, data_survives_reopen);
	tcase_add_loop_test(tc, permissions_whatever_the_umask, 0, 4);
	tcase_add_test(tc, wide_permissions_are_tightened);
	tcase_add_test(tc, symlink_is_refused);
	tcase_add_test(tc, data_dir_that_is_a_file);
	tcase_add_test(tc, list_sees_only_sessions);
	tcase_add_test(tc, no_temp_files_are_left);
	suite_add_tcase(s, tc);

	tc = tcase_create("lock");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, second_process_is_refused_with_holder);
	tcase_add_test(tc, second_open_in_one_process_is_refused);
	tcase_add_test(tc, lock_dies_with_a_killed_holder);
	suite_add_tcase(s, tc);

	tc = tcase_create("atomic");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);   /* 150 fsync'd saves; sanitizers slow */
	tcase_add_test(tc, reader_never_sees_a_torn_file);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(file_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
