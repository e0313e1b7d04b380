/*
 * src/cli/run.c: `skykeeper run`, the daemon.
 *
 * One process, the libev default loop, the lws client context on that same
 * loop, one struct session per id in SKYKEEPER_SESSIONS.  Start-up order is
 * the contract of ARCHITECTURE.md: configuration validated (exit 2 before
 * any connection), store opened (the "database enabled" decision is made
 * there, once), then the sessions' machines start in `connecting`.
 *
 * Shutdown: SIGTERM/SIGINT send `drain` to every session.  The spec takes
 * each one through draining (presence unavailable, final save) to closed
 * (transport closed, lease released).  This file only watches for "every
 * session closed", lets the last frames and lease releases leave (at most
 * a second), drains and closes the store, and exits 0 -- or 1 when a
 * session overran the drain budget.  A process-level deadline just past
 * the budget (still under Heroku's 30 s) is the last resort if the store
 * itself hangs.  Only the engine arms state timers; the timers here
 * (metrics sample, HEROKU_APP_URL ping, shutdown deadline, linger) belong
 * to the process.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <ev.h>
#include "cli/cli.h"
#include "cli/config.h"
#include "log/log.h"
#include "net/http.h"
#include "net/net.h"
#include "session/session.h"
#include "store/mirror.h"

/* How long closed sessions may take to get their last frames and lease
 * releases out before the store is drained anyway. */
#define RUN_LINGER 1.0

enum run_phase { RUN_UP, RUN_DRAINING, RUN_LINGERING, RUN_STORE, RUN_DONE };

struct run {
	const struct run_opts *opts;
	struct cfg cfg;
	struct session_env env;
	struct session **s;
	size_t n;
	enum run_phase phase;
	int rc;
	double t_drain;
	ev_signal sigterm, sigint;
	ev_signal sighup;              /* skykeeper pair: the terminal went away */
	ev_timer metrics, deadline, linger;
	/* HEROKU_APP_URL: a process timer and one GET at a time. */
	ev_timer app_ping;
	ev_timer pair_done;            /* skykeeper pair: fed, never armed */
	int paired_open;               /* skykeeper pair: the first login came */
	struct net_http *http;
	char app_url_shown[512];       /* no user info, no query */
	ev_prepare watch;
};

static unsigned
count_open(const struct run *r)
{
	unsigned n = 0;

	for (size_t i = 0; i < r->n; i++)
		if (r->s[i]->m.state == LIFECYCLE_S_OPEN ||
		    r->s[i]->m.state == LIFECYCLE_S_STALE)
			n++;
	return n;
}

static void
metrics_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct run *r = w->data;

	(void)loop;
	(void)revents;
	log_info("sample#skykeeper.sessions_open=%u sample#skykeeper.sessions=%zu",
	    count_open(r), r->n);
}

/* --- HEROKU_APP_URL ---------------------------------------------------- */

/* The ping may take at most this long, and at most 90% of the interval. */
#define APP_PING_TIMEOUT 30.0

static void
app_ping_done(int status, double ms, const char *err, void *arg)
{
	struct run *r = arg;

	if (status == 0)
		log_warn("component=app_ping url=\"%s\" status=0 ms=%.0f "
		    "error=\"%s\" count#skykeeper.app_ping_errors=1",
		    r->app_url_shown, ms, err != NULL ? err : "failed");
	else if (status >= 400)
		log_warn("component=app_ping url=\"%s\" status=%d ms=%.0f "
		    "measure#skykeeper.app_ping_ms=%.0f", r->app_url_shown,
		    status, ms, ms);
	else
		log_info("component=app_ping url=\"%s\" status=%d ms=%.0f "
		    "measure#skykeeper.app_ping_ms=%.0f", r->app_url_shown,
		    status, ms, ms);
}

static void
app_ping_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct run *r = w->data;
	/* Shorter than the interval, so that one answer never costs the
	 * next ping. */
	double timeout = r->cfg.app_url_every * 0.9 < APP_PING_TIMEOUT ?
	    r->cfg.app_url_every * 0.9 : APP_PING_TIMEOUT;
	char why[256];

	(void)loop;
	(void)revents;
	if (r->phase != RUN_UP)
		return;
	if (net_http_busy(r->http)) {
		log_info("component=app_ping url=\"%s\" msg=\"previous ping "
		    "still in flight; skipped\"", r->app_url_shown);
		return;
	}
	if (net_http_get(r->http, r->cfg.heroku_app_url, timeout,
	    app_ping_done, r, why, sizeof(why)) < 0)
		log_warn("component=app_ping url=\"%s\" status=0 "
		    "error=\"%s\" count#skykeeper.app_ping_errors=1",
		    r->app_url_shown, why);
}

/* Started after the network layer; a failure here only loses the ping. */
static void
app_ping_start(struct run *r)
{
	char why[256];

	ev_init(&r->app_ping, app_ping_cb);
	r->app_ping.data = r;
	if (r->cfg.heroku_app_url == NULL)
		return;
	if ((r->http = net_http_new(r->env.loop, why, sizeof(why))) == NULL) {
		log_warn("component=app_ping msg=\"HEROKU_APP_URL will not be "
		    "pinged\" reason=\"%s\"", why);
		return;
	}
	ev_timer_set(&r->app_ping, r->cfg.app_url_every,
	    r->cfg.app_url_every);
	ev_timer_start(r->env.loop, &r->app_ping);
}

static void
app_ping_stop(struct run *r)
{
	ev_timer_stop(r->env.loop, &r->app_ping);
	net_http_abort(r->http);
}

static void
finish(struct run *r)
{
	r->phase = RUN_DONE;
	ev_break(r->env.loop, EVBREAK_ALL);
}

/* skykeeper pair: 0 only when the first login came and the final save
 * reached every copy, even if it landed after the drain budget (the store
 * drain waits for it). */
static void
pair_outcome(struct run *r)
{
	if (!r->paired_open)
		return;
	r->rc = 0;
	for (size_t i = 0; r->rc == 0 && i < r->n; i++) {
		const struct session *s = r->s[i];
		if (!s->flushed || s->flush_rc != 0) {
			log_error("session=%s msg=\"paired, but the final save did "
			    "not reach every copy of the store: run skykeeper "
			    "pair again once the store works\"", s->id);
			r->rc = 1;
		} else
			log_show("session=%s msg=\"paired and stored (file%s): "
			    "start the worker (heroku ps:scale worker=1)\"",
			    s->id, store_db_enabled(r->env.store) ?
			    " and database" : " copy");
	}
}

static void
on_store_drained(void *arg)
{
	struct run *r = arg;

	if (r->phase != RUN_STORE)
		return;
	if (r->opts->pair)
		pair_outcome(r);
	store_close(r->env.store);
	r->env.store = NULL;
	log_info("msg=\"drained: every session closed, store closed\" "
	    "measure#skykeeper.drain_ms=%.0f exit=%d",
	    (ev_time() - r->t_drain) * 1e3, r->rc);
	finish(r);
}

static void
drain_store(struct run *r)
{
	r->phase = RUN_STORE;
	ev_timer_stop(r->env.loop, &r->linger);
	store_drain(r->env.store, on_store_drained, r);
}

static void
linger_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct run *r = w->data;

	(void)loop;
	(void)revents;
	if (r->phase == RUN_LINGERING) {
		log_warn("msg=\"some transports or lease releases did not "
		    "finish within %.1f s; draining the store anyway\"",
		    RUN_LINGER);
		drain_store(r);
	}
}

/* Runs before the loop blocks: after every callback, whichever it was
 * (a state timer, a network or store answer), so no transition to closed
 * is missed. */
static void
watch_cb(struct ev_loop *loop, ev_prepare *w, int revents)
{
	struct run *r = w->data;
	size_t i;

	(void)revents;
	if (r->phase == RUN_DRAINING) {
		for (i = 0; i < r->n && session_is_closed(r->s[i]); i++)
			;
		if (i < r->n)
			return;
		for (i = 0; i < r->n; i++)
			if (r->s[i]->overrun)
				r->rc = 1;
		r->phase = RUN_LINGERING;
		ev_timer_set(&r->linger, RUN_LINGER, 0.);
		ev_timer_start(loop, &r->linger);
	}
	if (r->phase == RUN_LINGERING) {
		for (i = 0; i < r->n && session_transport_idle(r->s[i]); i++)
			;
		if (i == r->n)
			drain_store(r);
	}
}

static void
deadline_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct run *r = w->data;

	(void)loop;
	(void)revents;
	for (size_t i = 0; i < r->n; i++)
		if (!r->s[i]->flushed && r->s[i]->have_snap)
			log_error("session=%s msg=\"not saved before the "
			    "shutdown deadline\" state=%s", r->s[i]->id,
			    lifecycle_spec.state_names[r->s[i]->m.state]);
	log_error("msg=\"shutdown deadline passed (SKYKEEPER_DRAIN_BUDGET "
	    "%.0f s): exiting without a complete drain\" "
	    "measure#skykeeper.drain_ms=%.0f", r->cfg.drain_budget,
	    (ev_time() - r->t_drain) * 1e3);
	r->rc = 1;
	finish(r);
}

/* Every session drains: the spec's drain event, the process deadline. */
static void
begin_drain(struct run *r, struct ev_loop *loop)
{
	double hard;

	r->phase = RUN_DRAINING;
	r->t_drain = ev_time();
	/* The spec's drain_budget ends a session's draining; this one ends
	 * the process if the store itself never answers. */
	hard = r->cfg.drain_budget + 2.0;
	if (hard > 29.0)
		hard = 29.0;
	ev_timer_set(&r->deadline, hard, 0.);
	ev_timer_start(loop, &r->deadline);
	ev_timer_stop(loop, &r->metrics);
	app_ping_stop(r);
	for (size_t i = 0; i < r->n; i++)
		session_dispatch(r->s[i], LIFECYCLE_E_DRAIN);
}

static void
signal_cb(struct ev_loop *loop, ev_signal *w, int revents)
{
	struct run *r = w->data;

	(void)revents;
	if (r->phase != RUN_UP) {
		/* Heroku may send SIGTERM more than once: the drain already
		 * under way goes on unchanged (the spec ignores it). */
		log_info("msg=\"signal during drain: nothing changes\" signal=%d",
		    w->signum);
		for (size_t i = 0; i < r->n; i++)
			session_dispatch(r->s[i], LIFECYCLE_E_DRAIN);
		return;
	}
	log_info("msg=\"draining\" signal=%d budget_s=%.1f "
	    "sample#skykeeper.sessions_open=%u", w->signum,
	    r->cfg.drain_budget, count_open(r));
	if (r->opts->pair)
		r->rc = 1;      /* interrupted before the first login */
	begin_drain(r, loop);
}

/* skykeeper pair: the first login ends it well, the first failure badly;
 * either way through the drain, so the session is saved and its lease
 * released like at any shutdown.  The dispatch that reported it is still
 * running: the drain waits for the loop's next turn. */
static void
pair_note(void *arg, struct session *s, enum session_note what,
    const char *why)
{
	struct run *r = arg;

	if (r->phase != RUN_UP)
		return;
	if (what == SESSION_NOTE_OPEN) {
		log_info("session=%s msg=\"paired and logged in; saving the "
		    "session\"", s->id);
		r->paired_open = 1;
		r->rc = 0;
	} else {
		log_error("session=%s msg=\"pairing failed\" reason=\"%s\"",
		    s->id, why != NULL ? why : "unknown");
		r->rc = 1;
	}
	ev_feed_event(r->env.loop, &r->pair_done, EV_CUSTOM);
}

static void
pair_done_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct run *r = w->data;

	(void)revents;
	if (r->phase == RUN_UP)
		begin_drain(r, loop);
}

/* nohup (or any caller) ignoring SIGHUP keeps it ignored: libev would
 * install its handler regardless. */
static int
sighup_ignored(void)
{
	struct sigaction old;

	return sigaction(SIGHUP, NULL, &old) == 0 && old.sa_handler == SIG_IGN;
}

static void
log_start(struct run *r)
{
	const struct cfg *c = &r->cfg;
	char url[512];

	if (c->database_url != NULL)
		cfg_mask_url(c->database_url, url, sizeof(url));
	log_info("msg=\"skykeeper starting\" version=%s sessions=%zu "
	    "wa_url=\"%s\" wa_version=%u.%u.%u store=%s data_dir=\"%s\" "
	    "encrypted=%s", SK_VERSION, r->n, c->wa_url, c->version[0],
	    c->version[1], c->version[2], c->database_url ?
	    "postgres+file" : "file", c->data_dir,
	    c->session_secret ? "yes" : "no");
	if (c->root_overridden)
		log_warn("msg=\"SKYKEEPER_WA_ROOT_KEY overrides WhatsApp's "
		    "certificate root: servers are checked against another "
		    "key (only right for a test server)\"");
	if (c->heroku_app_url != NULL) {
		net_http_redact(c->heroku_app_url, r->app_url_shown,
		    sizeof(r->app_url_shown));
		log_info("component=app_ping url=\"%s\" every_s=%.0f "
		    "msg=\"HEROKU_APP_URL is pinged, which only helps apps with "
		    "a web dyno (it keeps an Eco web dyno awake); a worker dyno "
		    "never sleeps, and the WhatsApp connection has its own "
		    "keep-alive\"", r->app_url_shown, c->app_url_every);
	}
}

static void
free_all(struct run *r)
{
	/* The store first: closing it fails its pending requests back, and
	 * their callbacks still need the sessions (past the shutdown
	 * deadline, saves may be pending). */
	r->env.closing = 1;
	if (r->env.store != NULL)
		store_close(r->env.store);
	r->env.store = NULL;
	/* r->s is NULL when start-up failed before the sessions existed. */
	for (size_t i = 0; r->s != NULL && i < r->n; i++)
		session_free(r->s[i]);
	free(r->s);
	if (r->http != NULL) {
		app_ping_stop(r);
		net_http_free(r->http);
		r->http = NULL;
	}
	if (r->env.net != NULL)
		net_free(r->env.net);
}

int
cli_run(int argc, char **argv)
{
	static const struct run_opts daemon;

	(void)argv;
	if (argc > 1) {
		fprintf(stderr, "usage: skykeeper run (configured by the "
		    "environment: see skykeeper config)\n");
		return 2;
	}
	return run_main(&daemon);
}

int
run_main(const struct run_opts *opts)
{
	struct run *r;
	struct store_config sc;
	struct ev_loop *loop;
	char why[256];
	int rc;

	if ((r = calloc(1, sizeof(*r))) == NULL)
		return 1;
	r->opts = opts;
	if (cfg_load(&r->cfg, cfg_getenv, NULL, stderr) > 0) {
		free(r);
		return 2;
	}
	if (opts->pair && opts->session == NULL && r->cfg.nsessions > 1) {
		fprintf(stderr, "skykeeper pair: SKYKEEPER_SESSIONS lists %zu "
		    "sessions: say which one with --session ID\n",
		    r->cfg.nsessions);
		free(r);
		return 2;
	}
	if (opts->session != NULL) {
		/* skykeeper pair: the one session it was asked for */
		r->cfg.sessions[0] = (char *)opts->session;
		r->cfg.nsessions = 1;
	}
	log_set_level((enum log_level)r->cfg.log_level);
	signal(SIGPIPE, SIG_IGN);
	r->n = r->cfg.nsessions;
	log_start(r);
	r->env.fsm_cfg[LIFECYCLE_CFG_CONNECT_TIMEOUT] = r->cfg.connect_timeout;
	r->env.fsm_cfg[LIFECYCLE_CFG_IDLE_DEADLINE] = r->cfg.idle_deadline;
	r->env.fsm_cfg[LIFECYCLE_CFG_PING_DEADLINE] = r->cfg.ping_deadline;
	r->env.fsm_cfg[LIFECYCLE_CFG_DRAIN_BUDGET] = r->cfg.drain_budget;
	r->env.fsm_cfg[LIFECYCLE_CFG_KEEPALIVE] = r->cfg.keepalive;
	r->env.fsm_cfg[LIFECYCLE_CFG_KEEPALIVE_JITTER] = r->cfg.keepalive_jitter;
	r->env.fsm_cfg[LIFECYCLE_CFG_HEAVY_EVERY] = r->cfg.heavy_every;
	r->env.fsm_cfg[LIFECYCLE_CFG_HEAVY_JITTER] = r->cfg.heavy_jitter;

	/* The header goes first: `skykeeper replay` reads this stdout, and
	 * other layers' lines before it could be taken for steps. */
	fsm_trace_log_header(&lifecycle_spec, r->env.fsm_cfg);

	loop = EV_DEFAULT;
	r->env.loop = loop;
	r->env.cfg = &r->cfg;
	if ((r->env.net = net_new(loop, why, sizeof(why))) == NULL) {
		log_error("msg=\"cannot start the network layer\" reason=\"%s\"",
		    why);
		free(r);
		return 1;
	}
	memset(&sc, 0, sizeof(sc));
	sc.data_dir = r->cfg.data_dir;
	sc.database_url = r->cfg.database_url;
	sc.secret = r->cfg.session_secret;
	sc.lease_ttl = r->cfg.lease_ttl;
	if ((r->env.store = store_open(loop, &sc, why, sizeof(why))) == NULL) {
		log_error("msg=\"cannot open the session store\" reason=\"%s\"",
		    why);
		free_all(r);
		free(r);
		return 1;
	}

	r->env.clock.loop = loop;
	ev_now_update(loop);
	r->env.clock.t0 = ev_now(loop);
	if ((r->s = calloc(r->n, sizeof(*r->s))) == NULL) {
		free_all(r);
		free(r);
		return 1;
	}
	for (size_t i = 0; i < r->n; i++) {
		uint64_t seed = (uint64_t)time(NULL) ^
		    ((uint64_t)getpid() << 20) ^ (0x9E3779B97F4A7C15ULL * (i + 1));
		if ((r->s[i] = session_new(&r->env, r->cfg.sessions[i],
		    seed)) == NULL) {
			log_error("msg=\"out of memory creating sessions\"");
			r->n = i;
			free_all(r);
			free(r);
			return 1;
		}
	}

	ev_signal_init(&r->sigterm, signal_cb, SIGTERM);
	ev_signal_init(&r->sigint, signal_cb, SIGINT);
	ev_signal_init(&r->sighup, signal_cb, SIGHUP);
	r->sigterm.data = r->sigint.data = r->sighup.data = r;
	/* `heroku run` whose connection drops hangs the one-off dyno up:
	 * drain like ^C, so the lease is released and not held for a TTL. */
	if (opts->pair && !sighup_ignored())
		ev_signal_start(loop, &r->sighup);
	ev_signal_start(loop, &r->sigterm);
	ev_signal_start(loop, &r->sigint);
	ev_init(&r->deadline, deadline_cb);
	ev_init(&r->linger, linger_cb);
	r->deadline.data = r->linger.data = r;
	ev_init(&r->pair_done, pair_done_cb);
	r->pair_done.data = r;
	if (opts->pair) {
		r->env.pair_mode = 1;
		r->env.pair_force = opts->force;
		r->env.pair_phone = opts->phone;
		r->env.note = pair_note;
		r->env.note_arg = r;
	}
	ev_timer_init(&r->metrics, metrics_cb, r->cfg.metrics_every,
	    r->cfg.metrics_every);
	r->metrics.data = r;
	ev_timer_start(loop, &r->metrics);
	ev_prepare_init(&r->watch, watch_cb);
	r->watch.data = r;
	ev_prepare_start(loop, &r->watch);
	app_ping_start(r);

	for (size_t i = 0; i < r->n; i++)
		session_start(r->s[i]);
	ev_run(loop, 0);

	ev_prepare_stop(loop, &r->watch);
	ev_timer_stop(loop, &r->metrics);
	ev_timer_stop(loop, &r->deadline);
	ev_timer_stop(loop, &r->linger);
	ev_timer_stop(loop, &r->pair_done);
	ev_signal_stop(loop, &r->sigterm);
	ev_signal_stop(loop, &r->sigint);
	ev_signal_stop(loop, &r->sighup);
	rc = r->rc;
	free_all(r);
	free(r);
	return rc;
}
