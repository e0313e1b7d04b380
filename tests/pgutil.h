/* tests/pgutil.h: see pgutil.c. */
#ifndef SK_TESTS_PGUTIL_H
#define SK_TESTS_PGUTIL_H

#include <stddef.h>
#include <ev.h>
#include <libpq-fe.h>

#define URL_ENV "SKYKEEPER_TEST_DATABASE_URL"

/* The cluster's admin URL (fails the test when run outside tests/pg/run.sh). */
const char *admin_url(void);
/* tools/pgtmp CMD DIR on the test's cluster: "down", "up". */
void pgtmp(const char *cmd);
PGresult *sql_on(const char *url, const char *q);
void sql_ok(const char *url, const char *q);
char *sql_dup(const char *url, const char *q);
char *sql_val(const char *url, const char *q, char *out, size_t n);
/* The first value as a number; -1 when there is no row. */
long long sql_int(const char *url, const char *q);
/* A new, empty database NAME on the cluster; its URL into url. */
void db_fresh(const char *name, char *url, size_t n);
/* Runs the loop until cond holds or max_s passes; cond NULL: max_s. */
int run_until(struct ev_loop *loop, int (*cond)(void *), void *arg,
    double max_s);

#endif
