/*
 * tests/check_pg.c: the PostgreSQL store against a real server.
 *
 * Run through tests/pg/run.sh, which starts a throwaway cluster with
 * tools/pgtmp and passes SKYKEEPER_TEST_DATABASE_URL (and the pgtmp path
 * and directory, so tests can stop and start the server).  Without them
 * every database test fails: nothing is skipped silently.  Each test gets a
 * database of its own.  Every wait runs a real libev loop, bounded in time
 * (and in iterations).
 */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <ev.h>
#include <libpq-fe.h>
#include "log/log.h"
#include "store/pg.h"
#include "pgutil.h"

static struct store_pg *wait_store;
static int
is_ready(void *arg)
{
	(void)arg;
	return store_pg_state(wait_store) == STORE_PG_S_READY;
}

static int
is_incompatible(void *arg)
{
	(void)arg;
	return store_pg_state(wait_store) == STORE_PG_S_INCOMPATIBLE;
}

/* One answer, as the callback saw it. */
struct ans {
	int called, seq, status;
	int64_t generation, fence;
	char owner[128];
	double expires_in;
	char blob[256];
	size_t blob_len;
	char error[256];
};

static int seq;

static void
on_ans(void *arg, const struct store_pg_result *r)
{
	struct ans *a = arg;

	a->called++;
	a->seq = ++seq;
	a->status = r->status;
	a->generation = r->generation;
	a->fence = r->fence;
	snprintf(a->owner, sizeof(a->owner), "%s", r->owner ? r->owner : "");
	a->expires_in = r->expires_in;
	a->blob_len = r->blob_len;
	if (r->blob != NULL)
		memcpy(a->blob, r->blob, r->blob_len < sizeof(a->blob) ? r->blob_len : sizeof(a->blob));
	snprintf(a->error, sizeof(a->error), "%s", r->error ? r->error : "");
}

struct many {
	struct ans *a;
	size_t n;
};

static int
all_called(void *arg)
{
	struct many *m = arg;

	for (size_t i = 0; i < m->n; i++)
		if (!m->a[i].called)
			return 0;
	return 1;
}

static int
called(void *arg)
{
	return ((struct ans *)arg)->called > 0;
}

/* Fast retries: the tests stop and start the server. */
static void
test_cfg(struct store_pg_config *c)
{
	store_pg_config_default(c);
	c->backoff_min = 0.05;
	c->backoff_max = 0.3;
	c->connect_timeout = 3;
	c->query_timeout = 5;
}

static struct store_pg *
open_ready(struct ev_loop *loop, const char *url, const struct store_pg_config *cfg)
{
	char err[256];
	struct store_pg *s = store_pg_open(loop, url, cfg, err, sizeof(err));

	ck_assert_msg(s != NULL, "open: %s", err);
	wait_store = s;
	ck_assert_msg(run_until(loop, is_ready, NULL, 15), "not ready: state %s",
	    store_pg_state_name(store_pg_state(s)));
	return s;
}

/* Saves and waits for the answer. */
static struct ans
save_wait(struct ev_loop *loop, struct store_pg *s, const char *id, int64_t g,
    const char *blob, int64_t fence)
{
	struct ans a = { 0 };

	ck_assert_int_eq(store_pg_save(s, id, g, blob, strlen(blob), fence, on_ans, &a), 0);
	ck_assert_msg(run_until(loop, called, &a, 10), "save %s g%lld: no answer", id, (long long)g);
	return a;
}

static struct ans
load_wait(struct ev_loop *loop, struct store_pg *s, const char *id)
{
	struct ans a = { 0 };

	ck_assert_int_eq(store_pg_load(s, id, on_ans, &a), 0);
	ck_assert_msg(run_until(loop, called, &a, 10), "load %s: no answer", id);
	return a;
}

static struct ans
acquire_wait(struct ev_loop *loop, struct store_pg *s, const char *id, const char *owner,
    double ttl)
{
	struct ans a = { 0 };

	ck_assert_int_eq(store_pg_lease_acquire(s, id, owner, ttl, on_ans, &a), 0);
	ck_assert_msg(run_until(loop, called, &a, 10), "acquire: no answer");
	return a;
}

static struct ans
renew_wait(struct ev_loop *loop, struct store_pg *s, const char *id, const char *owner,
    int64_t fence, double ttl)
{
	struct ans a = { 0 };

	ck_assert_int_eq(store_pg_lease_renew(s, id, owner, fence, ttl, on_ans, &a), 0);
	ck_assert_msg(run_until(loop, called, &a, 10), "renew: no answer");
	return a;
}

static struct ans
release_wait(struct ev_loop *loop, struct store_pg *s, const char *id, const char *owner,
    int64_t fence)
{
	struct ans a = { 0 };

	ck_assert_int_eq(store_pg_lease_release(s, id, owner, fence, on_ans, &a), 0);
	ck_assert_msg(run_until(loop, called, &a, 10), "release: no answer");
	return a;
}

/* The log goes to a file the test reads back. */
static char log_path[64];
static int log_fd = -1;

static void
log_capture(void)
{
	snprintf(log_path, sizeof(log_path), "/tmp/check_pg_log.XXXXXX");
	log_fd = mkstemp(log_path);
	ck_assert_int_ge(log_fd, 0);
	log_set_fd(log_fd);
	log_set_level(LOG_INFO);
}

static char *
log_read(void)
{
	static char buf[65536];
	FILE *f = fopen(log_path, "r");
	size_t n;

	ck_assert_ptr_nonnull(f);
	n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

/* CHECK_PG_LOG=1 shows what the test read from the log */
static void
log_release(void)
{
	if (getenv("CHECK_PG_LOG") != NULL)
		fprintf(stderr, "--- captured log ---\n%s--- end ---\n", log_read());
	log_set_fd(1);
	if (log_fd >= 0) {
		close(log_fd);
		unlink(log_path);
	}
	log_fd = -1;
}

static int
count_lines(const char *text, const char *a, const char *b)
{
	int n = 0;

	for (const char *line = text; *line != '\0';) {
		const char *end = strchr(line, '\n');
		size_t len = end ? (size_t)(end - line) : strlen(line);
		char tmp[2048];
		snprintf(tmp, sizeof(tmp), "%.*s", (int)len, line);
		if (strstr(tmp, a) != NULL && (b == NULL || strstr(tmp, b) != NULL))
			n++;
		line += len + (end != NULL);
	}
	return n;
}

/* --- pure functions --------------------------------------------------- */

START_TEST(test_enabled)
{
	ck_assert_int_eq(store_pg_enabled(NULL), 0);
	ck_assert_int_eq(store_pg_enabled(""), 0);
	ck_assert_int_eq(store_pg_enabled("postgres://u@h/d"), 1);
}
END_TEST

static const struct {
	const char *in, *out;
} conninfo_cases[] = {
	{ "postgres://u:p@db.example.com:5432/d", "postgres://u:p@db.example.com:5432/d?sslmode=require" },
	{ "postgresql://u:p@db.example.com/d?application_name=x",
	  "postgresql://u:p@db.example.com/d?application_name=x&sslmode=require" },
	{ "postgres://u:p@db.example.com/d?", "postgres://u:p@db.example.com/d?sslmode=require" },
	{ "postgres://u:p@db.example.com/d?sslmode=disable", NULL },
	{ "postgres://u:p@db.example.com/d?sslmode=verify-full", NULL },
	{ "postgres://u@127.0.0.1:5432/d", NULL },
	{ "postgres://u@127.0.0.2/d", NULL },
	{ "postgres://u@localhost/d", NULL },
	{ "postgres://u@LocalHost/d", NULL },
	{ "postgres://u@[::1]:5432/d", NULL },
	{ "postgres:///d", NULL },
	{ "postgresql:///d?host=/var/run/postgresql", NULL },
	{ "postgres://u@%2Fvar%2Frun%2Fpostgresql/d", NULL },
	{ "postgres://u@localhost,db.example.com/d", "postgres://u@localhost,db.example.com/d?sslmode=require" },
	{ "postgres://u@127.0.0.1/d?hostaddr=10.0.0.5", "postgres://u@127.0.0.1/d?hostaddr=10.0.0.5&sslmode=require" },
	{ "postgres://u@[2001:db8::1]/d", "postgres://u@[2001:db8::1]/d?sslmode=require" },
	{ "host=db.example.com dbname=d", "host=db.example.com dbname=d sslmode=require" },
	{ "host=localhost dbname=d", NULL },
	{ "host=db.example.com sslmode=prefer", NULL },
};

START_TEST(test_conninfo)
{
	char err[256];

	for (size_t i = 0; i < sizeof(conninfo_cases) / sizeof(conninfo_cases[0]); i++) {
		const char *want = conninfo_cases[i].out ? conninfo_cases[i].out : conninfo_cases[i].in;
		char *got = store_pg_conninfo(conninfo_cases[i].in, err, sizeof(err));
		ck_assert_msg(got != NULL, "%s: %s", conninfo_cases[i].in, err);
		ck_assert_str_eq(got, want);
		free(got);
	}
}
END_TEST

START_TEST(test_conninfo_invalid)
{
	char err[256];

	ck_assert_ptr_null(store_pg_conninfo("", err, sizeof(err)));
	ck_assert_ptr_null(store_pg_conninfo("postgres://u@[::1/d", err, sizeof(err)));
	ck_assert_ptr_nonnull(strstr(err, "DATABASE_URL"));
	/* the parse error must not echo the password */
	ck_assert_ptr_null(store_pg_conninfo("postgres://u:s3cr%zzt@h/d", err, sizeof(err)));
	ck_assert_ptr_null(strstr(err, "s3cr"));
	ck_assert_ptr_null(store_pg_conninfo("host=h password", err, sizeof(err)));
}
END_TEST

static const struct {
	const char *in, *out;
} mask_cases[] = {
	{ "postgres://u:secret@h:5432/d", "postgres://u:***@h:5432/d" },
	{ "postgres://u@h/d", "postgres://u@h/d" },
	{ "postgres://h:5432/d", "postgres://h:5432/d" },
	{ "postgres://u:se/c?r@et@h/d", "postgres://u:***@h/d" },
	{ "postgres://u@h/d?password=secret&sslmode=require",
	  "postgres://u@h/d?password=***&sslmode=require" },
	{ "postgres://u@h/d?sslmode=require&password=secret", "postgres://u@h/d?sslmode=require&password=***" },
	{ "host=h password=secret dbname=d", "host=h password=*** dbname=d" },
	{ "host=h password = 'sec ret\\' x' dbname=d", "host=h password = *** dbname=d" },
	{ "password=secret", "password=***" },
};

START_TEST(test_mask)
{
	char out[256];

	for (size_t i = 0; i < sizeof(mask_cases) / sizeof(mask_cases[0]); i++) {
		store_pg_mask_url(mask_cases[i].in, out, sizeof(out));
		ck_assert_str_eq(out, mask_cases[i].out);
	}
	store_pg_mask_url("postgres://u:secret@host/d", out, 12);
	ck_assert_str_eq(out, "postgres://");
	ck_assert_ptr_null(strstr(out, "secret"));
}
END_TEST

START_TEST(test_owner)
{
	char a[128], b[128], pid[32];

	ck_assert_int_eq(store_pg_owner_make(a, sizeof(a)), 0);
	ck_assert_int_eq(store_pg_owner_make(b, sizeof(b)), 0);
	ck_assert_str_ne(a, b);
	snprintf(pid, sizeof(pid), "%ld@", (long)getpid());
	ck_assert_msg(strncmp(a, pid, strlen(pid)) == 0, "%s", a);
	ck_assert_ptr_nonnull(strchr(a, '/'));
	ck_assert_int_eq(store_pg_owner_make(a, 8), -1);
	setenv("DYNO", "worker.1", 1);
	ck_assert_int_eq(store_pg_owner_make(a, sizeof(a)), 0);
	ck_assert_ptr_nonnull(strstr(a, "@worker.1/"));
}
END_TEST

/* --- without a server: arguments, the queue's bound, close ------------ */

START_TEST(test_open_invalid)
{
	struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
	struct store_pg_config c;
	char err[256];

	ck_assert_ptr_null(store_pg_open(loop, "postgres://u:pw@[::1/d", NULL, err, sizeof(err)));
	ck_assert_ptr_nonnull(strstr(err, "not a valid"));
	store_pg_config_default(&c);
	c.schema_target = STORE_PG_SCHEMA_VERSION + 1;
	ck_assert_ptr_null(store_pg_open(loop, "postgres://u@127.0.0.1:1/d", &c, err, sizeof(err)));
	ev_loop_destroy(loop);
}
END_TEST

START_TEST(test_arguments)
{
	struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
	char err[256], longid[STORE_PG_ID_MAX + 2];
	struct store_pg *s = store_pg_open(loop, "postgres://u@127.0.0.1:1/d", NULL, err, sizeof(err));

	ck_assert_ptr_nonnull(s);
	memset(longid, 'x', sizeof(longid) - 1);
	longid[sizeof(longid) - 1] = '\0';
	ck_assert_int_eq(store_pg_save(s, "", 1, "x", 1, 0, NULL, NULL), STORE_PG_EINVAL);
	ck_assert_int_eq(store_pg_save(s, "a b", 1, "x", 1, 0, NULL, NULL), STORE_PG_EINVAL);
	ck_assert_int_eq(store_pg_save(s, "\xc3\xa9", 1, "x", 1, 0, NULL, NULL), STORE_PG_EINVAL);
	ck_assert_int_eq(store_pg_save(s, longid, 1, "x", 1, 0, NULL, NULL), STORE_PG_EINVAL);
	ck_assert_int_eq(store_pg_save(s, "a", -1, "x", 1, 0, NULL, NULL), STORE_PG_EINVAL);
	ck_assert_int_eq(store_pg_save(s, "a", 1, "x", 1, -1, NULL, NULL), STORE_PG_EINVAL);
	ck_assert_int_eq(store_pg_lease_acquire(s, "a", "", 30, NULL, NULL), STORE_PG_EINVAL);
	ck_assert_int_eq(store_pg_lease_acquire(s, "a", "me", 0, NULL, NULL), STORE_PG_EINVAL);
	ck_assert_int_eq(store_pg_lease_acquire(s, "a", "me", NAN, NULL, NULL), STORE_PG_EINVAL);
	ck_assert_int_eq(store_pg_lease_renew(s, "a", "me", -2, 30, NULL, NULL), STORE_PG_EINVAL);
	ck_assert_uint_eq(store_pg_pending(s), 0);
	store_pg_close(s);
	ev_loop_destroy(loop);
}
END_TEST

/* Nothing listens on port 1: the store stays down, the queue keeps the
 * newest save per session, up to max_queue sessions. */
START_TEST(test_queue_bound_and_close)
{
	struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
	struct store_pg_config c;
	struct ans a[6] = { { 0 } }, d = { 0 };
	char err[256];
	struct store_pg *s;

	log_capture();
	test_cfg(&c);
	c.max_queue = 3;
	c.op_timeout = 0.2;
	s = store_pg_open(loop, "postgres://u:hunter2@127.0.0.1:1/d", &c, err, sizeof(err));
	ck_assert_ptr_nonnull(s);
	ck_assert_int_eq(store_pg_save(s, "s1", 1, "a", 1, 0, on_ans, &a[0]), 0);
	ck_assert_int_eq(store_pg_save(s, "s2", 1, "a", 1, 0, on_ans, &a[1]), 0);
	ck_assert_int_eq(store_pg_load(s, "s1", on_ans, &a[2]), 0);
	ck_assert_int_eq(store_pg_save(s, "s3", 1, "a", 1, 0, on_ans, &a[3]), STORE_PG_EFULL);
	/* the same session coalesces: no new entry */
	ck_assert_int_eq(store_pg_save(s, "s1", 2, "b", 1, 0, on_ans, &a[4]), 0);
	ck_assert_uint_eq(store_pg_pending(s), 4);  /* 3 queued + 1 superseded */
	run_until(loop, NULL, NULL, 0.5);
	ck_assert_int_eq(a[0].status, STORE_PG_SUPERSEDED);
	ck_assert_int_eq(a[2].called, 1);
	ck_assert_int_eq(a[2].status, STORE_PG_ETIMEDOUT);  /* loads don't wait forever */
	ck_assert_int_eq(a[1].called, 0);
	ck_assert_int_eq(a[4].called, 0);
	ck_assert_int_eq(a[3].called, 0);
	ck_assert_int_ne(store_pg_state(s), STORE_PG_S_READY);
	ck_assert_uint_eq(store_pg_pending(s), 2);
	store_pg_close(s);
	ck_assert_int_eq(a[1].status, STORE_PG_ECLOSED);
	ck_assert_int_eq(a[4].status, STORE_PG_ECLOSED);
	(void)d;
	/* the failure was logged, without the password */
	{
		char *text = log_read();
		ck_assert_int_ge(count_lines(text, "at=warn", "event=connect_failed"), 1);
		ck_assert_ptr_null(strstr(text, "hunter2"));
		ck_assert_ptr_nonnull(strstr(text, "u:***@127.0.0.1:1/d"));
	}
	log_release();
	ev_loop_destroy(loop);
}
END_TEST

/* --- schema ----------------------------------------------------------- */

START_TEST(test_migrate_from_empty)
{
	struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
	char url[512];
	struct store_pg *s;

	db_fresh("t_mig_empty", url, sizeof(url));
	s = open_ready(loop, url, NULL);
	ck_assert_int_eq(store_pg_schema_version(s), STORE_PG_SCHEMA_VERSION);
	store_pg_close(s);
	ck_assert_int_eq(sql_int(url, "SELECT max(version) FROM skykeeper_schema"), 2);
	ck_assert_int_eq(sql_int(url, "SELECT count(*) FROM skykeeper_schema"), 2);
	ck_assert_int_eq(sql_int(url, "SELECT count(*) FROM information_schema.columns"
	    " WHERE table_name = 'skykeeper_sessions' AND column_name = 'created_at'"), 1);
	/* a second start finds it current and changes nothing */
	s = open_ready(loop, url, NULL);
	ck_assert_int_eq(store_pg_schema_version(s), 2);
	store_pg_close(s);
	ck_assert_int_eq(sql_int(url, "SELECT count(*) FROM skykeeper_schema"), 2);
	ev_loop_destroy(loop);
}
END_TEST

START_TEST(test_migrate_1_to_2)
{
	struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
	struct store_pg_config c;
	char url[512];
	struct store_pg *s;
	struct ans a;
	PGresult *r;

	db_fresh("t_mig_1_2", url, sizeof(url));
	/* what a binary that knew only version 1 left behind */
	store_pg_config_default(&c);
	c.schema_target = 1;
	s = open_ready(loop, url, &c);
	ck_assert_int_eq(store_pg_schema_version(s), 1);
	a = save_wait(loop, s, "old", 3, "from-v1", 0);
	ck_assert_int_eq(a.status, STORE_PG_OK);
	store_pg_close(s);
	ck_assert_int_eq(sql_int(url, "SELECT max(version) FROM skykeeper_schema"), 1);
	ck_assert_int_eq(sql_int(url, "SELECT count(*) FROM information_schema.columns"
	    " WHERE table_name = 'skykeeper_sessions' AND column_name = 'created_at'"), 0);
	/* version 1 takes a negative generation; version 2 will not */
	sql_ok(url, "INSERT INTO skykeeper_sessions (id, generation) VALUES ('neg', -1)");
	sql_ok(url, "DELETE FROM skykeeper_sessions WHERE id = 'neg'");

	s = open_ready(loop, url, NULL);
	ck_assert_int_eq(store_pg_schema_version(s), 2);
	a = load_wait(loop, s, "old");
	ck_assert_int_eq(a.status, STORE_PG_OK);
	ck_assert_int_eq(a.generation, 3);
	ck_assert_int_eq((int)a.blob_len, 7);
	ck_assert_int_eq(memcmp(a.blob, "from-v1", 7), 0);
	store_pg_close(s);
	ck_assert_int_eq(sql_int(url, "SELECT max(version) FROM skykeeper_schema"), 2);
	ck_assert_int_eq(sql_int(url, "SELECT count(*) FROM skykeeper_sessions"
	    " WHERE id = 'old' AND created_at IS NOT NULL"), 1);
	r = sql_on(url, "INSERT INTO skykeeper_sessions (id, generation) VALUES ('neg', -1)");
	ck_assert_int_eq(PQresultStatus(r), PGRES_FATAL_ERROR);
	ck_assert_str_eq(PQresultErrorField(r, PG_DIAG_SQLSTATE), "23514");  /* check_violation */
	PQclear(r);
	ev_loop_destroy(loop);
}
END_TEST

START_TEST(test_schema_newer_than_binary)
{
	struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
	char url[512], err[256];
	struct store_pg *s;
	struct ans a = { 0 };
	char *text;

	db_fresh("t_schema_new", url, sizeof(url));
	s = open_ready(loop, url, NULL);
	ck_assert_int_eq(save_wait(loop, s, "keep", 5, "five", 0).status, STORE_PG_OK);
	store_pg_close(s);
	sql_ok(url, "INSERT INTO skykeeper_schema (version) VALUES (99)");

	log_capture();
	s = store_pg_open(loop, url, NULL, err, sizeof(err));
	ck_assert_ptr_nonnull(s);
	ck_assert_int_eq(store_pg_save(s, "keep", 6, "six", 3, 0, on_ans, &a), 0);
	wait_store = s;
	ck_assert(run_until(loop, is_incompatible, NULL, 10));
	ck_assert_int_eq(store_pg_schema_version(s), 99);
	ck_assert(run_until(loop, called, &a, 2));
	ck_assert_int_eq(a.status, STORE_PG_ESCHEMA);
	/* refuses new writes at once, and stays so */
	ck_assert_int_eq(store_pg_save(s, "keep", 7, "seven", 5, 0, on_ans, &a), STORE_PG_ESCHEMA);
	ck_assert_int_eq(store_pg_lease_acquire(s, "keep", "me", 30, on_ans, &a), STORE_PG_ESCHEMA);
	run_until(loop, NULL, NULL, 0.3);
	ck_assert_int_eq(store_pg_state(s), STORE_PG_S_INCOMPATIBLE);
	text = log_read();
	ck_assert_int_eq(count_lines(text, "at=error", "event=schema_too_new"), 1);
	ck_assert_int_eq(count_lines(text, "schema_version=99 known=2", NULL), 1);
	store_pg_close(s);
	log_release();
	ck_assert_int_eq(sql_int(url, "SELECT generation FROM skykeeper_sessions WHERE id = 'keep'"), 5);
	ev_loop_destroy(loop);
}
END_TEST

/* --- saves ------------------------------------------------------------ */

START_TEST(test_cas_generation)
{
	struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
	char url[512];
	struct store_pg *s;
	struct ans a;

	db_fresh("t_cas", url, sizeof(url));
	s = open_ready(loop, url, NULL);
	ck_assert_int_eq(load_wait(loop, s, "s").status, STORE_PG_ABSENT);
	ck_assert_int_eq(save_wait(loop, s, "s", 5, "five", 0).status, STORE_PG_OK);
	a = save_wait(loop, s, "s", 3, "three", 0);
	ck_assert_int_eq(a.status, STORE_PG_STALE);
	ck_assert_int_eq(a.generation, 5);  /* what the database holds */
	a = save_wait(loop, s, "s", 4, "four", 0);
	ck_assert_int_eq(a.status, STORE_PG_STALE);
	/* the same generation under the same fence: a retry that landed */
	ck_assert_int_eq(save_wait(loop, s, "s", 5, "five", 0).status, STORE_PG_OK);
	ck_assert_int_eq(save_wait(loop, s, "s", 6, "six", 0).status, STORE_PG_OK);
	a = load_wait(loop, s, "s");
	ck_assert_int_eq(a.status, STORE_PG_OK);
	ck_assert_int_eq(a.generation, 6);
	ck_assert_int_eq((int)a.blob_len, 3);
	ck_assert_int_eq(memcmp(a.blob, "six", 3), 0);
	/* an empty blob is a blob */
	ck_assert_int_eq(save_wait(loop, s, "e", 1, "", 0).status, STORE_PG_OK);
	a = load_wait(loop, s, "e");
	ck_assert_int_eq(a.status, STORE_PG_OK);
	ck_assert_int_eq((int)a.blob_len, 0);
	store_pg_close(s);
	ev_loop_destroy(loop);
}
END_TEST

/* One statement judges each row on its own. */
START_TEST(test_batch_outcomes)
{
	struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
	char url[512];
	struct store_pg *s;
	struct ans a[4] = { { 0 } };
	struct many m = { a, 4 };
	unsigned char bin[3] = { 0, 0xff, 0 };

	db_fresh("t_batch", url, sizeof(url));
	s = open_ready(loop, url, NULL);
	sql_ok(url, "INSERT INTO skykeeper_sessions (id, generation, blob, fence) VALUES"
	    " ('stale', 10, 'x', 0), ('zombie', 1, 'x', 2), ('again', 7, 'x', 0)");
	ck_assert_int_eq(store_pg_save(s, "stale", 5, "a", 1, 0, on_ans, &a[0]), 0);
	ck_assert_int_eq(store_pg_save(s, "zombie", 5, "a", 1, 1, on_ans, &a[1]), 0);
	ck_assert_int_eq(store_pg_save(s, "new", 1, bin, 3, 0, on_ans, &a[2]), 0);
	ck_assert_int_eq(store_pg_save(s, "again", 7, "x", 1, 0, on_ans, &a[3]), 0);
	ck_assert(run_until(loop, all_called, &m, 10));
	ck_assert_int_eq(a[0].status, STORE_PG_STALE);
	ck_assert_int_eq(a[0].generation, 10);
	ck_assert_int_eq(a[1].status, STORE_PG_FENCED);
	ck_assert_int_eq(a[1].fence, 2);
	ck_assert_int_eq(a[2].status, STORE_PG_OK);
	ck_assert_int_eq(a[3].status, STORE_PG_OK);
	ck_assert_int_eq(sql_int(url, "SELECT generation FROM skykeeper_sessions WHERE id='zombie'"), 1);
	ck_assert_int_eq(sql_int(url, "SELECT count(*) FROM skykeeper_sessions"
	    " WHERE id='new' AND blob = '\\x00ff00'::bytea"), 1);
	store_pg_close(s);
	ev_loop_destroy(loop);
}
END_TEST

/* More saves than one statement takes; answers in order of the queue. */
START_TEST(test_batch_many)
{
	struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
	struct store_pg_config c;
	enum { N = 1203 };
	static struct ans a[N];
	struct many m = { a, N };
	char url[512], id[32], blob[64];
	struct store_pg *s;
	int order_ok = 1;

	db_fresh("t_batch_many", url, sizeof(url));
	test_cfg(&c);
	c.batch_max = 500;
	s = open_ready(loop, url, &c);
	memset(a, 0, sizeof(a));
	for (int i = 0; i < N; i++) {
		snprintf(id, sizeof(id), "sess-%04d", i);
		snprintf(blob, sizeof(blob), "blob of %d", i);
		ck_assert_int_eq(store_pg_save(s, id, i + 1, blob, strlen(blob), 0, on_ans, &a[i]), 0);
	}
	ck_assert(run_until(loop, all_called, &m, 20));
	for (int i = 0; i < N; i++) {
		ck_assert_int_eq(a[i].status, STORE_PG_OK);
		if (i > 0 && a[i].seq < a[i - 1].seq)
			order_ok = 0;
	}
	ck_assert(order_ok);
	ck_assert_int_eq(sql_int(url, "SELECT count(*) FROM skykeeper_sessions"), N);
	ck_assert_int_eq(sql_int(url, "SELECT generation FROM skykeeper_sessions WHERE id='sess-1202'"), 1203);
	store_pg_close(s);
	ev_loop_destroy(loop);
}
END_TEST

START_TEST(test_coalesce)
{
	struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
	char url[512], blob[32];
	struct store_pg *s;
	static struct ans a[52];
	struct many m = { a, 52 };

	db_fresh("t_coalesce", url, sizeof(url));
	s = open_ready(loop, url, NULL);
	memset(a, 0, sizeof(a));
	/* fifty generations in one go: only the newest is written */
	for (int g = 1; g <= 50; g++) {
		snprintf(blob, sizeof(blob), "g%d", g);
		ck_assert_int_eq(store_pg_save(s, "s", g, blob, strlen(blob), 0, on_ans, &a[g - 1]), 0);
	}
	/* an older one after a newer one loses at once */
	ck_assert_int_eq(store_pg_save(s, "t", 60, "g60", 3, 0, on_ans, &a[50]), 0);
	ck_assert_int_eq(store_pg_save(s, "t", 55, "g55", 3, 0, on_ans, &a[51]), 0);
	ck_assert(run_until(loop, all_called, &m, 10));
	for (int g = 1; g < 50; g++)
		ck_assert_int_eq(a[g - 1].status, STORE_PG_SUPERSEDED);
	ck_assert_int_eq(a[49].status, STORE_PG_OK);
	ck_assert_int_eq(a[50].status, STORE_PG_OK);
	ck_assert_int_eq(a[51].status, STORE_PG_SUPERSEDED);
	ck_assert_int_eq(sql_int(url, "SELECT generation FROM skykeeper_sessions WHERE id='s'"), 50);
	ck_assert_int_eq(sql_int(url, "SELECT generation FROM skykeeper_sessions WHERE id='t'"), 60);
	store_pg_close(s);
	ev_loop_destroy(loop);
}
END_TEST

/* --- leases ----------------------------------------------------------- */

START_TEST(test_lease_busy_release)
{
	struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
	char url[512];
	struct store_pg *s;
	struct ans a, b, sv = { 0 }, rl = { 0 };
	int64_t fa;

	db_fresh("t_lease", url, sizeof(url));
	s = open_ready(loop, url, NULL);
	a = acquire_wait(loop, s, "s", "A", 30);
	ck_assert_int_eq(a.status, STORE_PG_OK);
	ck_assert_int_ge(a.fence, 1);
	ck_assert(a.expires_in > 29 && a.expires_in <= 30);
	fa = a.fence;
	b = acquire_wait(loop, s, "s", "B", 30);
	ck_assert_int_eq(b.status, STORE_PG_BUSY);
	ck_assert_str_eq(b.owner, "A");
	ck_assert(b.expires_in > 25 && b.expires_in <= 30);
	ck_assert_int_eq(b.fence, fa);
	/* renewals extend; the fence stays */
	a = acquire_wait(loop, s, "r", "A", 1);
	a = renew_wait(loop, s, "r", "A", a.fence, 30);
	ck_assert_int_eq(a.status, STORE_PG_OK);
	ck_assert(a.expires_in > 29);
	/* final save, then release, queued together: in that order */
	ck_assert_int_eq(store_pg_save(s, "s", 1, "final", 5, fa, on_ans, &sv), 0);
	ck_assert_int_eq(store_pg_lease_release(s, "s", "A", fa, on_ans, &rl), 0);
	ck_assert(run_until(loop, called, &rl, 10));
	ck_assert_int_eq(sv.status, STORE_PG_OK);
	ck_assert_int_eq(rl.status, STORE_PG_OK);
	ck_assert_int_lt(sv.seq, rl.seq);
	/* releasing again is fine (a retry); renewing a released lease is not */
	ck_assert_int_eq(release_wait(loop, s, "s", "A", fa).status, STORE_PG_OK);
	ck_assert_int_eq(renew_wait(loop, s, "s", "A", fa, 30).status, STORE_PG_LOST);
	b = acquire_wait(loop, s, "s", "B", 30);
	ck_assert_int_eq(b.status, STORE_PG_OK);
	ck_assert_int_eq(b.fence, fa + 1);
	a = acquire_wait(loop, s, "s", "A", 30);
	ck_assert_int_eq(a.status, STORE_PG_BUSY);
	ck_assert_str_eq(a.owner, "B");
	/* the blob survived the lease changes */
	a = load_wait(loop, s, "s");
	ck_assert_int_eq(a.generation, 1);
	store_pg_close(s);
	ev_loop_destroy(loop);
}
END_TEST

START_TEST(test_lease_expiry)
{
	struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
	char url[512];
	struct store_pg *s;
	struct ans a, b;

	db_fresh("t_expiry", url, sizeof(url));
	s = open_ready(loop, url, NULL);
	a = acquire_wait(loop, s, "s", "A", 0.4);
	ck_assert_int_eq(a.status, STORE_PG_OK);
	b = acquire_wait(loop, s, "s", "B", 30);
	ck_assert_int_eq(b.status, STORE_PG_BUSY);
	ck_assert(b.expires_in > 0 && b.expires_in <= 0.4);
	run_until(loop, NULL, NULL, b.expires_in + 0.2);
	b = acquire_wait(loop, s, "s", "B", 30);
	ck_assert_int_eq(b.status, STORE_PG_OK);
	ck_assert_int_gt(b.fence, a.fence);
	store_pg_close(s);
	ev_loop_destroy(loop);
}
END_TEST

/* A holds the lease, stalls past its expiry, B takes over: A, a zombie
 * now, can neither save, renew nor release.  Two stores on one loop stand
 * for two processes. */
START_TEST(test_fencing_zombie)
{
	struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
	char url[512];
	struct store_pg *pa, *pb;
	struct ans a, b;
	int64_t fa, fb;

	db_fresh("t_fence", url, sizeof(url));
	pa = open_ready(loop, url, NULL);
	pb = open_ready(loop, url, NULL);
	a = acquire_wait(loop, pa, "s", "A", 0.4);
	ck_assert_int_eq(a.status, STORE_PG_OK);
	fa = a.fence;
	ck_assert_int_eq(save_wait(loop, pa, "s", 1, "A1", fa).status, STORE_PG_OK);
	ck_assert_int_eq(acquire_wait(loop, pb, "s", "B", 30).status, STORE_PG_BUSY);
	run_until(loop, NULL, NULL, 0.6);
	b = acquire_wait(loop, pb, "s", "B", 30);
	ck_assert_int_eq(b.status, STORE_PG_OK);
	fb = b.fence;
	ck_assert_int_gt(fb, fa);
	/* the zombie's save carries a newer generation and is still refused */
	a = save_wait(loop, pa, "s", 2, "A2", fa);
	ck_assert_int_eq(a.status, STORE_PG_FENCED);
	ck_assert_int_eq(a.fence, fb);
	ck_assert_int_eq(save_wait(loop, pb, "s", 2, "B2", fb).status, STORE_PG_OK);
	ck_assert_int_eq(save_wait(loop, pa, "s", 3, "A3", fa).status, STORE_PG_FENCED);
	ck_assert_int_eq(renew_wait(loop, pa, "s", "A", fa, 30).status, STORE_PG_LOST);
	ck_assert_int_eq(release_wait(loop, pa, "s", "A", fa).status, STORE_PG_LOST);
	a = load_wait(loop, pb, "s");
	ck_assert_int_eq(a.generation, 2);
	ck_assert_int_eq(memcmp(a.blob, "B2", 2), 0);
	ck_assert_int_eq(sql_int(url, "SELECT fence FROM skykeeper_sessions WHERE id='s'"), fb);
	store_pg_close(pa);
	store_pg_close(pb);
	ev_loop_destroy(loop);
}
END_TEST

/* --- outages ---------------------------------------------------------- */

START_TEST(test_down_at_start)
{
	struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
	struct store_pg_config c;
	char url[512], err[256];
	struct store_pg *s;
	struct ans a[4] = { { 0 } };
	struct many m = { a, 4 };

	db_fresh("t_down_start", url, sizeof(url));
	pgtmp("down");
	test_cfg(&c);
	s = store_pg_open(loop, url, &c, err, sizeof(err));
	ck_assert_ptr_nonnull(s);  /* enabled and open even though it is down */
	ck_assert_int_eq(store_pg_save(s, "s1", 1, "s1g1", 4, 0, on_ans, &a[0]), 0);
	ck_assert_int_eq(store_pg_save(s, "s2", 1, "s2g1", 4, 0, on_ans, &a[1]), 0);
	run_until(loop, NULL, NULL, 0.8);
	ck_assert_int_ne(store_pg_state(s), STORE_PG_S_READY);
	ck_assert_int_eq(a[0].called + a[1].called, 0);
	ck_assert_int_eq(store_pg_save(s, "s1", 2, "s1g2", 4, 0, on_ans, &a[2]), 0);
	ck_assert_int_eq(store_pg_save(s, "s1", 3, "s1g3", 4, 0, on_ans, &a[3]), 0);
	run_until(loop, NULL, NULL, 0.3);
	ck_assert_int_eq(a[0].status, STORE_PG_SUPERSEDED);
	ck_assert_int_eq(a[2].status, STORE_PG_SUPERSEDED);
	ck_assert_uint_eq(store_pg_pending(s), 2);
	pgtmp("up");
	ck_assert(run_until(loop, all_called, &m, 15));
	ck_assert_int_eq(a[1].status, STORE_PG_OK);
	ck_assert_int_eq(a[3].status, STORE_PG_OK);
	ck_assert_int_eq(store_pg_state(s), STORE_PG_S_READY);
	store_pg_close(s);
	ck_assert_int_eq(sql_int(url, "SELECT generation FROM skykeeper_sessions WHERE id='s1'"), 3);
	ck_assert_int_eq(sql_int(url, "SELECT generation FROM skykeeper_sessions WHERE id='s2'"), 1);
	ev_loop_destroy(loop);
}
END_TEST

START_TEST(test_down_during_run)
{
	struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
	struct store_pg_config c;
	char url[512], *text;
	struct store_pg *s;
	struct ans a[4] = { { 0 } }, l = { 0 };
	struct many m = { a, 4 };

	db_fresh("t_down_run", url, sizeof(url));
	test_cfg(&c);
	s = open_ready(loop, url, &c);
	ck_assert_int_eq(save_wait(loop, s, "s1", 1, "s1g1", 0).status, STORE_PG_OK);
	log_capture();
	pgtmp("down");  /* pg_ctl stop -m fast, while the store is idle */
	/* queued at once: the first goes out on a socket that is already dead */
	ck_assert_int_eq(store_pg_save(s, "s1", 2, "s1g2", 4, 0, on_ans, &a[0]), 0);
	ck_assert_int_eq(store_pg_save(s, "s2", 1, "s2g1", 4, 0, on_ans, &a[1]), 0);
	ck_assert_int_eq(store_pg_load(s, "s1", on_ans, &l), 0);
	run_until(loop, NULL, NULL, 1.0);
	ck_assert_int_ne(store_pg_state(s), STORE_PG_S_READY);
	ck_assert_int_eq(a[0].called + a[1].called, 0);
	ck_assert_int_eq(store_pg_save(s, "s1", 3, "s1g3", 4, 0, on_ans, &a[2]), 0);
	ck_assert_int_eq(store_pg_save(s, "s3", 1, "s3g1", 4, 0, on_ans, &a[3]), 0);
	run_until(loop, NULL, NULL, 0.5);
	ck_assert_int_eq(a[0].status, STORE_PG_SUPERSEDED);
	pgtmp("up");
	ck_assert(run_until(loop, all_called, &m, 15));
	ck_assert(run_until(loop, called, &l, 5));
	ck_assert_int_eq(a[1].status, STORE_PG_OK);
	ck_assert_int_eq(a[2].status, STORE_PG_OK);
	ck_assert_int_eq(a[3].status, STORE_PG_OK);
	ck_assert_int_eq(l.status, STORE_PG_OK);  /* queued before the newer saves */
	ck_assert_int_eq(store_pg_state(s), STORE_PG_S_READY);
	store_pg_close(s);
	ck_assert_int_eq(sql_int(url, "SELECT generation FROM skykeeper_sessions WHERE id='s1'"), 3);
	ck_assert_int_eq(sql_int(url, "SELECT generation FROM skykeeper_sessions WHERE id='s2'"), 1);
	ck_assert_int_eq(sql_int(url, "SELECT generation FROM skykeeper_sessions WHERE id='s3'"), 1);
	/* many attempts, each distinct failure logged once, then the recovery */
	text = log_read();
	ck_assert_int_eq(count_lines(text, "at=warn", "event=connect_failed"), 1);
	ck_assert_int_ge(count_lines(text, "at=warn", "event=connection_lost"), 1);
	ck_assert_int_eq(count_lines(text, "at=info", "event=reconnected"), 1);
	log_release();
	ev_loop_destroy(loop);
}
END_TEST

/* A statement that never answers (a row lock held elsewhere) hits the
 * statement timeout; the save goes again after a reconnect and lands once
 * the lock is gone. */
static PGconn *blocker;

static void
on_unblock(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)loop;
	(void)w;
	(void)revents;
	PQclear(PQexec(blocker, "COMMIT"));
}

START_TEST(test_statement_timeout)
{
	struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
	struct store_pg_config c;
	char url[512], *text;
	struct store_pg *s;
	struct ans a = { 0 };
	ev_timer unblock;
	PGresult *r;

	db_fresh("t_stmt_timeout", url, sizeof(url));
	test_cfg(&c);
	c.query_timeout = 0.4;
	s = open_ready(loop, url, &c);
	ck_assert_int_eq(save_wait(loop, s, "s", 1, "g1", 0).status, STORE_PG_OK);
	blocker = PQconnectdb(url);
	ck_assert_int_eq(PQstatus(blocker), CONNECTION_OK);
	r = PQexec(blocker, "BEGIN; SELECT 1 FROM skykeeper_sessions WHERE id = 's' FOR UPDATE");
	ck_assert_int_eq(PQresultStatus(r), PGRES_TUPLES_OK);
	PQclear(r);
	log_capture();
	ev_timer_init(&unblock, on_unblock, 1.2, 0);
	ev_timer_start(loop, &unblock);
	ck_assert_int_eq(store_pg_save(s, "s", 2, "g2", 2, 0, on_ans, &a), 0);
	ck_assert(run_until(loop, called, &a, 15));
	ck_assert_int_eq(a.status, STORE_PG_OK);
	text = log_read();
	ck_assert_int_ge(count_lines(text, "at=warn", "event=statement_timeout"), 1);
	log_release();
	PQfinish(blocker);
	store_pg_close(s);
	ck_assert_int_eq(sql_int(url, "SELECT generation FROM skykeeper_sessions WHERE id='s'"), 2);
	ev_loop_destroy(loop);
}
END_TEST

static int drained;
static void
on_drained(void *arg)
{
	(void)arg;
	drained++;
}

static int
is_drained(void *arg)
{
	(void)arg;
	return drained > 0;
}

START_TEST(test_drain)
{
	struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
	char url[512], id[16];
	struct store_pg *s;
	static struct ans a[20];

	db_fresh("t_drain", url, sizeof(url));
	s = open_ready(loop, url, NULL);
	memset(a, 0, sizeof(a));
	for (int i = 0; i < 20; i++) {
		snprintf(id, sizeof(id), "d%d", i);
		ck_assert_int_eq(store_pg_save(s, id, 1, "x", 1, 0, on_ans, &a[i]), 0);
	}
	drained = 0;
	store_pg_drain(s, on_drained, NULL);
	ck_assert_int_eq(drained, 0);  /* never from inside the call */
	ck_assert(run_until(loop, is_drained, NULL, 10));
	for (int i = 0; i < 20; i++)
		ck_assert_int_eq(a[i].status, STORE_PG_OK);
	ck_assert_uint_eq(store_pg_pending(s), 0);
	run_until(loop, NULL, NULL, 0.1);
	ck_assert_int_eq(drained, 1);
	store_pg_close(s);
	ev_loop_destroy(loop);
}
END_TEST

/* Closing with a statement in flight, saves queued and answers not yet
 * delivered: every callback runs once, inside close, and the loop runs on
 * without the store. */
START_TEST(test_close_busy)
{
	struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
	char url[512], id[16];
	struct store_pg *s;
	static struct ans a[30];

	db_fresh("t_close_busy", url, sizeof(url));
	s = open_ready(loop, url, NULL);
	memset(a, 0, sizeof(a));
	for (int i = 0; i < 20; i++) {
		snprintf(id, sizeof(id), "c%d", i);
		ck_assert_int_eq(store_pg_save(s, id, 2, "x", 1, 0, on_ans, &a[i]), 0);
	}
	ck_assert_int_eq(store_pg_save(s, "c0", 1, "x", 1, 0, on_ans, &a[20]), 0);
	ev_run(loop, EVRUN_NOWAIT);  /* the batch goes out */
	for (int i = 0; i < 5; i++) {
		snprintf(id, sizeof(id), "c%d", i);
		ck_assert_int_eq(store_pg_save(s, id, 3, "y", 1, 0, on_ans, &a[21 + i]), 0);
	}
	ck_assert_int_eq(store_pg_lease_acquire(s, "c9", "me", 30, on_ans, &a[26]), 0);
	store_pg_close(s);
	for (int i = 0; i < 27; i++)
		ck_assert_int_eq(a[i].called, 1);
	ck_assert_int_eq(a[20].status, STORE_PG_SUPERSEDED);
	ck_assert_int_eq(a[26].status, STORE_PG_ECLOSED);
	run_until(loop, NULL, NULL, 0.2);
	for (int i = 0; i < 27; i++)
		ck_assert_int_eq(a[i].called, 1);
	ev_loop_destroy(loop);
}
END_TEST

static Suite *
pg_suite(void)
{
	Suite *su = suite_create("store_pg");
	TCase *pure = tcase_create("pure");
	TCase *noserver = tcase_create("noserver");
	TCase *db = tcase_create("db");

	tcase_add_test(pure, test_enabled);
	tcase_add_test(pure, test_conninfo);
	tcase_add_test(pure, test_conninfo_invalid);
	tcase_add_test(pure, test_mask);
	tcase_add_test(pure, test_owner);
	suite_add_tcase(su, pure);

	tcase_add_test(noserver, test_open_invalid);
	tcase_add_test(noserver, test_arguments);
	tcase_add_test(noserver, test_queue_bound_and_close);
	suite_add_tcase(su, noserver);

	tcase_set_timeout(db, 60);
	tcase_add_test(db, test_migrate_from_empty);
	tcase_add_test(db, test_migrate_1_to_2);
	tcase_add_test(db, test_schema_newer_than_binary);
	tcase_add_test(db, test_cas_generation);
	tcase_add_test(db, test_batch_outcomes);
	tcase_add_test(db, test_batch_many);
	tcase_add_test(db, test_coalesce);
	tcase_add_test(db, test_lease_busy_release);
	tcase_add_test(db, test_lease_expiry);
	tcase_add_test(db, test_fencing_zombie);
	tcase_add_test(db, test_down_at_start);
	tcase_add_test(db, test_down_during_run);
	tcase_add_test(db, test_statement_timeout);
	tcase_add_test(db, test_drain);
	tcase_add_test(db, test_close_busy);
	suite_add_tcase(su, db);
	return su;
}

int
main(void)
{
	SRunner *sr = srunner_create(pg_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
