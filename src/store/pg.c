/*
 * src/store/pg.c: the connection.  A small state machine (DOWN ->
 * CONNECTING -> MIGRATING -> READY, INCOMPATIBLE final) driven by libev:
 * one io watcher on PQsocket, one timer whose meaning is the state's
 * deadline (backoff in DOWN, connect timeout in CONNECTING, statement
 * timeout while a statement is in flight).  set_state() is the only code
 * that changes the state and the only one that arms the timer for it.
 * The queue and the meaning of answers are in pg_ops.c.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include "log/log.h"
#include "store/pg.h"
#include "store/pg_int.h"

static void pg_fail(struct store_pg *s, const char *event, const char *why);
static void mig_begin(struct store_pg *s);

const char *
store_pg_state_name(enum store_pg_state st)
{
	static const char *const names[] = {
		"down", "connecting", "migrating", "ready", "incompatible",
	};
	return (unsigned)st < sizeof(names) / sizeof(names[0]) ? names[st] : "?";
}

const char *
store_pg_status_name(int st)
{
	switch (st) {
	case STORE_PG_OK: return "ok";
	case STORE_PG_ABSENT: return "absent";
	case STORE_PG_STALE: return "stale";
	case STORE_PG_FENCED: return "fenced";
	case STORE_PG_BUSY: return "busy";
	case STORE_PG_LOST: return "lost";
	case STORE_PG_SUPERSEDED: return "superseded";
	case STORE_PG_EINVAL: return "einval";
	case STORE_PG_EFULL: return "efull";
	case STORE_PG_ESCHEMA: return "eschema";
	case STORE_PG_ETIMEDOUT: return "etimedout";
	case STORE_PG_EQUERY: return "equery";
	case STORE_PG_ECLOSED: return "eclosed";
	case STORE_PG_ENOMEM: return "enomem";
	}
	return "?";
}

void
store_pg_config_default(struct store_pg_config *c)
{
	memset(c, 0, sizeof(*c));
	c->connect_timeout = 10;
	c->query_timeout = 15;
	c->op_timeout = 10;
	c->backoff_min = 0.5;
	c->backoff_max = 30;
	c->max_queue = 100000;
	c->batch_max = 500;
	c->batch_bytes = 8u << 20;
	c->schema_target = 0;
}

/* xorshift64*: jitter only, nothing secret. */
static double
rand01(struct store_pg *s)
{
	s->rng ^= s->rng >> 12;
	s->rng ^= s->rng << 25;
	s->rng ^= s->rng >> 27;
	return (double)((s->rng * 2685821657736338717ull) >> 11) / 9007199254740992.0;
}

/*
 * Capped exponential backoff with full jitter: uniform in [0, cap) where
 * cap doubles per failed attempt up to backoff_max.  Jitter spreads the
 * reconnects of many dynos after a database restart.
 */
static double
backoff(struct store_pg *s)
{
	double cap = s->cfg.backoff_min * ldexp(1.0, s->attempt > 30 ? 30 : s->attempt - 1);

	if (cap > s->cfg.backoff_max)
		cap = s->cfg.backoff_max;
	return cap * rand01(s);
}

static void
arm(struct store_pg *s, double secs)
{
	s->timer.repeat = secs > 0 ? secs : 1e-6;
	ev_timer_again(s->loop, &s->timer);
}

static void
set_state(struct store_pg *s, enum store_pg_state st, double timeout)
{
	ev_timer_stop(s->loop, &s->timer);
	s->state = st;
	if (st == STORE_PG_S_DOWN || st == STORE_PG_S_CONNECTING)
		arm(s, timeout);
}

void
pg_schedule(struct store_pg *s)
{
	if (!ev_is_active(&s->kick)) {
		ev_timer_set(&s->kick, 0, 0);
		ev_timer_start(s->loop, &s->kick);
	}
}

/* Watch the connection's socket for events.  Always ev_io_set: libpq may
 * have closed and reopened it (next host, SSL retry), maybe at the same
 * number, and libev assumes a new descriptor only on ev_io_set. */
static int
watch(struct store_pg *s, int events)
{
	int fd = PQsocket(s->conn);

	ev_io_stop(s->loop, &s->io);
	if (fd < 0)
		return -1;
	ev_io_set(&s->io, fd, events);
	ev_io_start(s->loop, &s->io);
	return 0;
}

static void
close_conn(struct store_pg *s)
{
	ev_io_stop(s->loop, &s->io);
	if (s->conn != NULL)
		PQfinish(s->conn);
	s->conn = NULL;
	s->busy = 0;
	s->want_write = 0;
	PQclear(s->res);
	s->res = NULL;
	s->err = 0;
}

static void
on_notice(void *arg, const char *msg)
{
	struct store_pg *s = arg;
	char line[256];

	pg_oneline(msg, line, sizeof(line));
	log_debug("store=pg event=notice db=%s msg=\"%s\"", s->db, line);
}

static void
connect_start(struct store_pg *s)
{
	/* gssencmode=disable unless the URL or PGGSSENCMODE says otherwise
	 * (a keyword before dbname: the expanded URL overrides it).  libpq's
	 * default, prefer, looks for a Kerberos credential cache at every
	 * connect -- libkrb5 and libgssapi wake up, ~0.5 MiB of RSS -- and
	 * without one goes on without GSS anyway. */
	const char *kw[3] = { "gssencmode", "dbname", NULL };
	const char *val[3] = { "disable", s->conninfo, NULL };
	int k = getenv("PGGSSENCMODE") != NULL;

	s->conn = PQconnectStartParams(kw + k, val + k, 1);
	if (s->conn == NULL) {
		pg_fail(s, "connect_failed", "out of memory");
		return;
	}
	PQsetNoticeProcessor(s->conn, on_notice, s);
	if (PQstatus(s->conn) == CONNECTION_BAD) {
		pg_fail(s, "connect_failed", PQerrorMessage(s->conn));
		return;
	}
	set_state(s, STORE_PG_S_CONNECTING, s->cfg.connect_timeout);
	/* libpq: start as if PQconnectPoll had said WRITING */
	if (watch(s, EV_WRITE) < 0)
		pg_fail(s, "connect_failed", "no socket");
}

static void
connect_poll(struct store_pg *s)
{
	switch (PQconnectPoll(s->conn)) {
	case PGRES_POLLING_READING:
		if (watch(s, EV_READ) < 0)
			pg_fail(s, "connect_failed", "no socket");
		return;
	case PGRES_POLLING_WRITING:
		if (watch(s, EV_WRITE) < 0)
			pg_fail(s, "connect_failed", "no socket");
		return;
	case PGRES_POLLING_OK:
		break;
	default:
		pg_fail(s, "connect_failed", PQerrorMessage(s->conn));
		return;
	}
	if (PQsetnonblocking(s->conn, 1) != 0) {
		pg_fail(s, "connect_failed", PQerrorMessage(s->conn));
		return;
	}
	set_state(s, STORE_PG_S_MIGRATING, 0);
	if (watch(s, EV_READ) < 0) {
		pg_fail(s, "connect_failed", "no socket");
		return;
	}
	mig_begin(s);
}

/* Sends what libpq has buffered; watches for writability while some is
 * left.  -1: the connection failed (and pg_fail ran). */
static int
flush(struct store_pg *s)
{
	int r = PQflush(s->conn);
	int want = r == 1;

	if (r < 0) {
		pg_fail(s, "connection_lost", PQerrorMessage(s->conn));
		return -1;
	}
	if (want != s->want_write) {
		s->want_write = want;
		if (watch(s, want ? EV_READ | EV_WRITE : EV_READ) < 0) {
			pg_fail(s, "connection_lost", "no socket");
			return -1;
		}
	}
	return 0;
}

static void
sent(struct store_pg *s, int ok)
{
	if (!ok) {
		pg_fail(s, "connection_lost", PQerrorMessage(s->conn));
		return;
	}
	s->busy = 1;
	arm(s, s->cfg.query_timeout);
	flush(s);
}

void
pg_send(struct store_pg *s, const char *sql, int n, const Oid *types,
    const char *const *values, const int *lengths, const int *formats)
{
	/* binary results: integers and blobs without text round trips */
	sent(s, PQsendQueryParams(s->conn, sql, n, types, values, lengths, formats, 1));
}

static void
send_simple(struct store_pg *s, const char *sql)
{
	sent(s, PQsendQuery(s->conn, sql));
}

static void
mig_begin(struct store_pg *s)
{
	s->mig_step = PG_MIG_BEGIN;
	send_simple(s, pg_sql_schema_begin);
}

static void
useful(struct store_pg *s)
{
	s->attempt = 0;
	s->last_err[0] = '\0';
}

static void
ready(struct store_pg *s)
{
	if (s->outage)
		log_info("store=pg event=reconnected db=%s down_s=%.1f attempts=%d queued=%zu",
		    s->db, ev_now(s->loop) - s->down_since, s->attempt, s->queue.n);
	else
		log_info("store=pg event=ready db=%s schema_version=%d", s->db, s->schema_version);
	s->outage = 0;
	/*
	 * The backoff starts over only once the connection has proved useful
	 * (a statement answered, or nothing to do): a statement that times
	 * out at every attempt must not reconnect at the minimum delay, each
	 * time leaving a backend behind on the server.
	 */
	if (s->queue.n == 0)
		useful(s);
	set_state(s, STORE_PG_S_READY, 0);
	pg_schedule(s);
}

static void
incompatible(struct store_pg *s, int version, int known)
{
	log_error("store=pg event=schema_too_new db=%s schema_version=%d known=%d "
	    "msg=\"the database schema is newer than this binary: not writing to it; "
	    "run a skykeeper that knows version %d\"", s->db, version, known, version);
	close_conn(s);  /* the server rolls the open transaction back */
	set_state(s, STORE_PG_S_INCOMPATIBLE, 0);
	pg_ops_fail_all(s, STORE_PG_ESCHEMA, "database schema newer than this binary");
	pg_schedule(s);
}

static void
mig_result(struct store_pg *s, const PGresult *r)
{
	int target = s->cfg.schema_target > 0 ? s->cfg.schema_target : STORE_PG_SCHEMA_VERSION;
	char sql[4096];
	int v, n;

	switch (s->mig_step) {
	case PG_MIG_BEGIN:
		if (r == NULL || PQntuples(r) != 1 || PQnfields(r) != 1) {
			pg_fail(s, "migration_failed", "no schema version in the answer");
			return;
		}
		v = atoi(PQgetvalue(r, 0, 0));
		s->schema_version = v;
		if (v > target) {
			incompatible(s, v, target);
		} else if (v == target) {
			s->mig_step = PG_MIG_COMMIT;
			send_simple(s, "COMMIT");
		} else {
			s->mig_step = PG_MIG_APPLY;
			s->mig_version = v + 1;
			n = snprintf(sql, sizeof(sql),
			    "%s;INSERT INTO skykeeper_schema (version) VALUES (%d);COMMIT",
			    pg_migrations[v + 1], v + 1);
			if (n < 0 || (size_t)n >= sizeof(sql)) {
				pg_fail(s, "migration_failed", "migration text too long");
				return;
			}
			send_simple(s, sql);
		}
		return;
	case PG_MIG_APPLY:
		log_info("store=pg event=migrated db=%s schema_version=%d", s->db, s->mig_version);
		s->schema_version = s->mig_version;
		mig_begin(s);  /* the next one, in a transaction of its own */
		return;
	default:
		ready(s);
		return;
	}
}

/* The statement in flight has given all its results. */
static void
statement_done(struct store_pg *s)
{
	PGresult *r = s->res;
	char why[320];

	s->res = NULL;
	s->busy = 0;
	ev_timer_stop(s->loop, &s->timer);
	if (s->err) {
		s->err = 0;
		PQclear(r);
		snprintf(why, sizeof(why), "sqlstate %s: %s", s->err_state, s->err_msg);
		if (PQstatus(s->conn) == CONNECTION_BAD || pg_sqlstate_transient(s->err_state))
			pg_fail(s, "statement_failed", why);
		else if (s->state == STORE_PG_S_MIGRATING)
			pg_fail(s, "migration_failed", why);
		else
			pg_ops_error(s, s->err_state, s->err_msg);
		pg_schedule(s);
		return;
	}
	if (s->state == STORE_PG_S_MIGRATING) {
		mig_result(s, r);
	} else {
		useful(s);
		pg_ops_result(s, r);
	}
	PQclear(r);
	pg_schedule(s);
}

/* Results, as far as they have arrived. */
static void
collect(struct store_pg *s)
{
	while (s->busy && !PQisBusy(s->conn)) {
		PGresult *r = PQgetResult(s->conn);
		ExecStatusType st;

		if (r == NULL) {
			statement_done(s);
			return;
		}
		st = PQresultStatus(r);
		if (st == PGRES_TUPLES_OK || st == PGRES_COMMAND_OK) {
			/* a multi-statement string answers several times: the
			 * last row set is the one that matters */
			if (st == PGRES_TUPLES_OK || s->res == NULL) {
				PQclear(s->res);
				s->res = r;
			} else {
				PQclear(r);
			}
			continue;
		}
		if (!s->err) {
			const char *code = PQresultErrorField(r, PG_DIAG_SQLSTATE);
			s->err = 1;
			snprintf(s->err_state, sizeof(s->err_state), "%s", code ? code : "");
			pg_oneline(st == PGRES_FATAL_ERROR || st == PGRES_NONFATAL_ERROR
			    ? PQresultErrorMessage(r) : PQresStatus(st),
			    s->err_msg, sizeof(s->err_msg));
		}
		PQclear(r);
	}
}

static void
on_io(struct ev_loop *loop, ev_io *w, int revents)
{
	struct store_pg *s = w->data;

	(void)loop;
	if (s->state == STORE_PG_S_CONNECTING) {
		connect_poll(s);
		return;
	}
	if ((revents & EV_WRITE) && flush(s) < 0)
		return;
	if (!(revents & EV_READ))
		return;
	/* Reading also while a send is pending: the server may be waiting
	 * for us to read before it reads more (libpq's advice for PQflush). */
	if (!PQconsumeInput(s->conn)) {
		pg_fail(s, "connection_lost", PQerrorMessage(s->conn));
		return;
	}
	if (s->want_write && flush(s) < 0)
		return;
	if (!s->busy) {
		/* idle: only the server going away or a notice is expected */
		if (PQstatus(s->conn) == CONNECTION_BAD)
			pg_fail(s, "connection_lost", PQerrorMessage(s->conn));
		return;
	}
	collect(s);
}

static void
on_timer(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct store_pg *s = w->data;
	char why[96];

	(void)revents;
	ev_timer_stop(loop, w);
	switch (s->state) {
	case STORE_PG_S_DOWN:
		connect_start(s);
		break;
	case STORE_PG_S_CONNECTING:
		snprintf(why, sizeof(why), "no connection within %.1f s", s->cfg.connect_timeout);
		pg_fail(s, "connect_timeout", why);
		break;
	case STORE_PG_S_MIGRATING:
	case STORE_PG_S_READY:
		snprintf(why, sizeof(why), "no answer within %.1f s", s->cfg.query_timeout);
		pg_fail(s, "statement_timeout", why);
		break;
	case STORE_PG_S_INCOMPATIBLE:
		break;
	}
}

/* The queue's turn: send what can be sent, answer what is decided, and
 * tell a drain when everything is done. */
static void
on_kick(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct store_pg *s = w->data;
	void (*done)(void *);

	(void)loop;
	(void)revents;
	pg_dispatch(s);
	pg_deliver(s);
	if (s->drain_cb != NULL && s->queue.n == 0 && s->ninflight == 0 && s->done.n == 0) {
		done = s->drain_cb;
		s->drain_cb = NULL;
		done(s->drain_arg);
	}
}

/*
 * The connection failed or became unusable: log (a failure already logged
 * during this outage only at debug level), put what was in flight back on
 * the queue, and wait out the backoff.
 */
static void
pg_fail(struct store_pg *s, const char *event, const char *why)
{
	char line[256];
	double delay;

	pg_oneline(why, line, sizeof(line));
	if (!s->outage) {
		s->outage = 1;
		s->down_since = ev_now(s->loop);
	}
	s->attempt++;
	delay = backoff(s);
	log_msg(strcmp(line, s->last_err) != 0 ? LOG_WARN : LOG_DEBUG,
	    "store=pg event=%s db=%s state=%s attempt=%d retry_in=%.2f queued=%zu err=\"%s\"",
	    event, s->db, store_pg_state_name(s->state), s->attempt, delay,
	    s->queue.n + s->ninflight, line);
	snprintf(s->last_err, sizeof(s->last_err), "%s", line);
	close_conn(s);
	pg_ops_requeue(s);
	set_state(s, STORE_PG_S_DOWN, delay);
	pg_schedule(s);
}

struct store_pg *
store_pg_open(struct ev_loop *loop, const char *url, const struct store_pg_config *cfg,
    char *err, size_t errlen)
{
	struct store_pg *s;
	uint64_t seed = 0;

	s = calloc(1, sizeof(*s));
	if (s == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	s->loop = loop;
	if (cfg != NULL)
		s->cfg = *cfg;
	else
		store_pg_config_default(&s->cfg);
	if (s->cfg.batch_max == 0)
		s->cfg.batch_max = 1;
	if (s->cfg.schema_target > STORE_PG_SCHEMA_VERSION) {
		snprintf(err, errlen, "schema_target %d: this binary knows up to %d",
		    s->cfg.schema_target, STORE_PG_SCHEMA_VERSION);
		free(s);
		return NULL;
	}
	s->conninfo = store_pg_conninfo(url, err, errlen);
	s->inflight = calloc(s->cfg.batch_max, sizeof(*s->inflight));
	if (s->conninfo == NULL || s->inflight == NULL) {
		if (s->conninfo != NULL)
			snprintf(err, errlen, "out of memory");
		free(s->conninfo);
		free(s->inflight);
		free(s);
		return NULL;
	}
	store_pg_mask_url(url, s->db, sizeof(s->db));
	if (getrandom(&seed, sizeof(seed), GRND_NONBLOCK) != (ssize_t)sizeof(seed))
		seed = (uint64_t)(uintptr_t)s ^ (uint64_t)(ev_time() * 1e6);
	s->rng = seed | 1;
	ev_io_init(&s->io, on_io, 0, EV_READ);
	ev_init(&s->timer, on_timer);
	ev_init(&s->kick, on_kick);
	ev_init(&s->expire, pg_on_expire);
	s->io.data = s->timer.data = s->kick.data = s->expire.data = s;
	log_info("store=pg event=open db=%s", s->db);
	/* the first attempt from the loop, right away */
	set_state(s, STORE_PG_S_DOWN, 0);
	return s;
}

void
store_pg_close(struct store_pg *s)
{
	if (s == NULL)
		return;
	s->closing = 1;
	ev_timer_stop(s->loop, &s->timer);
	ev_timer_stop(s->loop, &s->kick);
	ev_timer_stop(s->loop, &s->expire);
	close_conn(s);
	pg_ops_fail_all(s, STORE_PG_ECLOSED, "store closed");
	pg_deliver(s);
	/* failing them scheduled the kick again: the loop outlives us */
	ev_timer_stop(s->loop, &s->kick);
	ev_timer_stop(s->loop, &s->expire);
	pg_ops_free(s);
	free(s->inflight);
	free(s->conninfo);
	free(s);
}

void
store_pg_drain(struct store_pg *s, void (*done)(void *arg), void *arg)
{
	s->drain_cb = done;
	s->drain_arg = arg;
	pg_schedule(s);
}

enum store_pg_state
store_pg_state(const struct store_pg *s)
{
	return s->state;
}

size_t
store_pg_pending(const struct store_pg *s)
{
	return s->queue.n + s->ninflight + s->done.n;
}

int
store_pg_schema_version(const struct store_pg *s)
{
	return s->schema_version;
}
