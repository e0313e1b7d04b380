/*
 * src/cli/store_cli.c: what import, export and status share: the
 * environment, and the store's asynchronous calls run to completion on a
 * private loop (a command line tool has nothing else to do meanwhile).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cli/store_cmds.h"
#include "log/log.h"
#include "store/file.h"

/* Longest any single call may take: db_wait (10 s) plus a margin. */
#define CALL_MAX_S  25.0
#define DRAIN_MAX_S 30.0

int
cli_store_env(struct cli_store_env *e)
{
	const char *v;
	char *end;
	enum log_level lvl;
	size_t n;

	memset(e, 0, sizeof(*e));
	e->data_dir = getenv("SKYKEEPER_DATA_DIR");
	if (e->data_dir == NULL || e->data_dir[0] == '\0')
		e->data_dir = "./var";
	e->database_url = getenv("DATABASE_URL");
	if (e->database_url != NULL && e->database_url[0] == '\0')
		e->database_url = NULL;
	e->secret = getenv("SESSION_SECRET");
	if (e->secret != NULL && e->secret[0] == '\0')
		e->secret = NULL;
	e->lease_ttl = 30;
	if ((v = getenv("SKYKEEPER_LEASE_TTL")) != NULL && v[0] != '\0') {
		e->lease_ttl = strtod(v, &end);
		if (*end != '\0' || !isfinite(e->lease_ttl) || e->lease_ttl <= 0 ||
		    e->lease_ttl > 3600) {
			fprintf(stderr, "skykeeper: SKYKEEPER_LEASE_TTL=%s: want "
			    "seconds, 0 < TTL <= 3600\n", v);
			return -1;
		}
	}
	/* the first of SKYKEEPER_SESSIONS, as the daemon's default */
	snprintf(e->session, sizeof(e->session), "main");
	if ((v = getenv("SKYKEEPER_SESSIONS")) != NULL) {
		while (*v == ' ' || *v == ',')
			v++;
		n = strcspn(v, ", ");
		if (n > 0 && n < sizeof(e->session))
			snprintf(e->session, sizeof(e->session), "%.*s", (int)n, v);
	}
	/* the result goes to stdout; the log to stderr */
	log_set_fd(2);
	if ((v = getenv("LOG_LEVEL")) != NULL && log_level_parse(v, &lvl) == 0)
		log_set_level(lvl);
	return 0;
}

int
cli_store_open(struct cli_store *c, int read_only)
{
	struct store_config cfg = { 0 };
	char why[512];

	c->loop = ev_loop_new(EVFLAG_AUTO);
	if (c->loop == NULL) {
		fprintf(stderr, "skykeeper: no event loop\n");
		return -1;
	}
	cfg.data_dir = c->env.data_dir;
	cfg.database_url = c->env.database_url;
	cfg.secret = c->env.secret;
	cfg.lease_ttl = c->env.lease_ttl;
	cfg.read_only = read_only;
	if ((c->store = store_open(c->loop, &cfg, why, sizeof(why))) == NULL) {
		fprintf(stderr, "skykeeper: cannot open the store: %s\n", why);
		ev_loop_destroy(c->loop);
		c->loop = NULL;
		return -1;
	}
	return 0;
}

/* Runs the loop until *flag or max_s; 0 when the flag was set. */
static int
run_until(struct ev_loop *loop, const int *flag, double max_s)
{
	ev_tstamp end;

	ev_now_update(loop);
	end = ev_now(loop) + max_s;
	while (!*flag && ev_now(loop) < end)
		ev_run(loop, EVRUN_ONCE);
	return *flag ? 0 : -1;
}

/* A timer so EVRUN_ONCE never blocks past the deadline check. */
static void on_tick(struct ev_loop *l, ev_timer *w, int e) { (void)l; (void)w; (void)e; }

/* On the heap: a call that timed out leaves its wait to the callback,
 * which may still come (at the latest from store_close). */
struct wait {
	int done, rc, abandoned;
	char why[512];
	char holder[160];
	double expires_in;
	struct store_snap snap;
	ev_timer tick;
};

static struct wait *
wait_begin(struct cli_store *c)
{
	struct wait *w = calloc(1, sizeof(*w));

	if (w == NULL) {
		fprintf(stderr, "skykeeper: out of memory\n");
		exit(1);
	}
	ev_timer_init(&w->tick, on_tick, 0.1, 0.1);
	ev_timer_start(c->loop, &w->tick);
	return w;
}

/* 0: answered (w still ours: wait_free it); -1: timed out (w abandoned). */
static int
wait_end(struct cli_store *c, struct wait *w, double max_s)
{
	int rc = run_until(c->loop, &w->done, max_s);

	ev_timer_stop(c->loop, &w->tick);
	if (rc < 0)
		w->abandoned = 1;
	return rc;
}

static void
wait_free(struct wait *w)
{
	store_snap_clear(&w->snap);
	free(w);
}

/* For callbacks: 1 when nobody waits any more (w freed). */
static int
gone(struct wait *w)
{
	if (!w->abandoned)
		return 0;
	wait_free(w);
	return 1;
}

static void
on_drained(void *arg)
{
	struct wait *w = arg;

	if (!gone(w))
		w->done = 1;
}

int
cli_store_close(struct cli_store *c)
{
	struct wait *w;
	int rc = 0;

	if (c->store == NULL)
		return 0;
	w = wait_begin(c);
	store_drain(c->store, on_drained, w);
	if (wait_end(c, w, DRAIN_MAX_S) < 0) {
		fprintf(stderr, "skykeeper: the database did not take the last "
		    "writes within %.0f s (the file copy has them)\n", DRAIN_MAX_S);
		rc = -1;
	} else {
		wait_free(w);
	}
	/* a drain that timed out never calls back: close drops it */
	store_close(c->store);
	if (rc < 0)
		wait_free(w);
	c->store = NULL;
	ev_loop_destroy(c->loop);
	c->loop = NULL;
	return rc;
}

static void
on_restored(void *arg, int rc, struct store_snap *snap, const char *why)
{
	struct wait *w = arg;

	if (rc == 0 && snap != NULL) {
		w->snap = *snap;
		memset(snap, 0, sizeof(*snap));
	}
	if (gone(w))
		return;
	w->done = 1;
	w->rc = rc;
	snprintf(w->why, sizeof(w->why), "%s", why ? why : store_strerror(rc));
}

int
cli_store_restore(struct cli_store *c, const char *id, struct store_snap *out,
    char *why, size_t whylen)
{
	struct wait *w = wait_begin(c);
	int rc;

	if ((rc = store_restore(c->store, id, on_restored, w)) < 0) {
		ev_timer_stop(c->loop, &w->tick);
		wait_free(w);
		snprintf(why, whylen, "%s", store_strerror(rc));
		return rc;
	}
	if (wait_end(c, w, CALL_MAX_S) < 0) {
		snprintf(why, whylen, "no answer from the store");
		return STORE_EUNAVAIL;
	}
	snprintf(why, whylen, "%s", w->why);
	*out = w->snap;
	memset(&w->snap, 0, sizeof(w->snap));
	rc = w->rc;
	wait_free(w);
	return rc;
}

static void
on_saved(void *arg, int rc, const char *why)
{
	struct wait *w = arg;

	if (gone(w))
		return;
	w->done = 1;
	w->rc = rc;
	snprintf(w->why, sizeof(w->why), "%s", why ? why : "");
}

int
cli_store_save(struct cli_store *c, struct store_snap *snap, char *why,
    size_t whylen)
{
	struct wait *w = wait_begin(c);
	int rc;

	if ((rc = store_save(c->store, snap, on_saved, w)) < 0) {
		ev_timer_stop(c->loop, &w->tick);
		wait_free(w);
		snprintf(why, whylen, "%s", store_strerror(rc));
		return rc;
	}
	if (wait_end(c, w, CALL_MAX_S) < 0) {
		/* the file copy is written; the database one stays queued and
		 * the closing drain gives it more time */
		snprintf(why, whylen, "the database did not answer yet");
		return 0;
	}
	snprintf(why, whylen, "%s", w->why);
	rc = w->rc;
	wait_free(w);
	return rc;
}

static void
on_lease(void *arg, int rc, const char *holder, double expires_in)
{
	struct wait *w = arg;

	if (gone(w))
		return;
	w->done = 1;
	w->rc = rc;
	snprintf(w->holder, sizeof(w->holder), "%s", holder ? holder : "");
	w->expires_in = expires_in;
}

int
cli_store_lease(struct cli_store *c, int op, const char *id, char *holder,
    size_t holderlen, double *expires_in)
{
	struct wait *w = wait_begin(c);
	int rc;

	rc = op == CLI_LEASE_ACQUIRE ? store_lease_acquire(c->store, id, on_lease, w) :
	    store_lease_release(c->store, id, on_lease, w);
	if (rc < 0) {
		ev_timer_stop(c->loop, &w->tick);
		wait_free(w);
		return rc;
	}
	if (wait_end(c, w, CALL_MAX_S) < 0)
		return STORE_EDB;
	if (holder != NULL)
		snprintf(holder, holderlen, "%s", w->holder);
	if (expires_in != NULL)
		*expires_in = w->expires_in;
	rc = w->rc;
	wait_free(w);
	return rc;
}

void
cli_store_account(const char *jid, char *out, size_t n)
{
	size_t k = strcspn(jid, ":@");

	snprintf(out, n, "%.*s", (int)k, jid);
}
