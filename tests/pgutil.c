/*
 * tests/pgutil.c: the harness check_pg and check_mirror share: the
 * throwaway cluster from tests/pg/run.sh (tools/pgtmp), plain SQL to look
 * at what the store wrote, fresh databases, and running the loop until a
 * condition holds.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "pgutil.h"

#define URL_ENV "SKYKEEPER_TEST_DATABASE_URL"

/* --- harness ---------------------------------------------------------- */

const char *
admin_url(void)
{
	const char *u = getenv(URL_ENV);

	ck_assert_msg(u != NULL && u[0] != '\0',
	    URL_ENV " is not set: run this test through tests/pg/run.sh, "
	    "which starts a throwaway PostgreSQL cluster");
	return u;
}

void
pgtmp(const char *cmd)
{
	const char *tool = getenv("SKYKEEPER_TEST_PGTMP");
	const char *dir = getenv("SKYKEEPER_TEST_PGTMP_DIR");
	char line[1024];

	ck_assert_msg(tool != NULL && dir != NULL,
	    "SKYKEEPER_TEST_PGTMP(_DIR) not set: run through tests/pg/run.sh");
	snprintf(line, sizeof(line), "'%s' %s '%s'", tool, cmd, dir);
	ck_assert_msg(system(line) == 0, "%s failed", line);
}

static void
quiet(void *arg, const char *msg)
{
	(void)arg;
	(void)msg;
}

/* A blocking statement on its own connection: test plumbing only. */
PGresult *
sql_on(const char *url, const char *q)
{
	PGconn *c = PQconnectdb(url);
	PGresult *r;

	ck_assert_msg(PQstatus(c) == CONNECTION_OK, "connect: %s", PQerrorMessage(c));
	PQsetNoticeProcessor(c, quiet, NULL);
	r = PQexec(c, q);
	PQfinish(c);
	return r;
}

void
sql_ok(const char *url, const char *q)
{
	PGresult *r = sql_on(url, q);
	ExecStatusType st = PQresultStatus(r);

	ck_assert_msg(st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK, "%s: %s", q,
	    PQresultErrorMessage(r));
	PQclear(r);
}

/* The first value of the first row, malloc'd ("" for no row). */
char *
sql_dup(const char *url, const char *q)
{
	PGresult *r = sql_on(url, q);
	char *v;

	ck_assert_msg(PQresultStatus(r) == PGRES_TUPLES_OK, "%s: %s", q,
	    PQresultErrorMessage(r));
	v = strdup(PQntuples(r) > 0 ? PQgetvalue(r, 0, 0) : "");
	ck_assert_ptr_nonnull(v);
	PQclear(r);
	return v;
}

/* The first value of the first row, into out ("" for no row). */
char *
sql_val(const char *url, const char *q, char *out, size_t n)
{
	PGresult *r = sql_on(url, q);

	ck_assert_msg(PQresultStatus(r) == PGRES_TUPLES_OK, "%s: %s", q,
	    PQresultErrorMessage(r));
	snprintf(out, n, "%s", PQntuples(r) > 0 ? PQgetvalue(r, 0, 0) : "");
	PQclear(r);
	return out;
}

long long
sql_int(const char *url, const char *q)
{
	char *v = sql_dup(url, q);
	long long n = v[0] ? atoll(v) : -1;

	free(v);
	return n;
}

/* A new, empty database for one test; its URL in url. */
void
db_fresh(const char *name, char *url, size_t n)
{
	const char *a = admin_url();
	const char *slash = strrchr(a, '/');
	char q[256];

	pgtmp("up");  /* a failed earlier test may have left it down */
	snprintf(q, sizeof(q), "DROP DATABASE IF EXISTS %s", name);
	sql_ok(a, q);
	snprintf(q, sizeof(q), "CREATE DATABASE %s", name);
	sql_ok(a, q);
	ck_assert_ptr_nonnull(slash);
	snprintf(url, n, "%.*s/%s", (int)(slash - a), a, name);
}

struct wait {
	int (*cond)(void *);
	void *arg;
	long ticks, max_ticks;
};

static void
on_tick(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct wait *c = w->data;

	(void)revents;
	if ((c->cond != NULL && c->cond(c->arg)) || ++c->ticks >= c->max_ticks)
		ev_break(loop, EVBREAK_ALL);
}

static void
on_stop(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)w;
	(void)revents;
	ev_break(loop, EVBREAK_ALL);
}

/* Runs the loop until cond holds or max_s passes; cond NULL: max_s. */
int
run_until(struct ev_loop *loop, int (*cond)(void *), void *arg, double max_s)
{
	struct wait c = { cond, arg, 0, (long)(max_s / 0.005) + 10 };
	ev_timer tick, stop;

	/* the loop's clock stood still while the test blocked (pgtmp, SQL) */
	ev_now_update(loop);
	ev_timer_init(&tick, on_tick, 0.005, 0.005);
	ev_timer_init(&stop, on_stop, max_s, 0);
	tick.data = &c;
	ev_timer_start(loop, &tick);
	ev_timer_start(loop, &stop);
	ev_run(loop, 0);
	ev_timer_stop(loop, &tick);
	ev_timer_stop(loop, &stop);
	return cond == NULL || cond(arg);
}

