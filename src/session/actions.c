/*
 * src/session/actions.c: the lifecycle actions that are policy rather than
 * plumbing: keep-alive and anti-idle activity, the disconnect policy
 * (note_* / park / logged out), the final save and the lease.
 *
 * Actions run inside a dispatch and never arm or cancel state timers: the
 * engine does that from the spec.  The backoff arithmetic itself is in
 * backoff.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "log/log.h"
#include "net/waconn.h"
#include "session/session.h"
#include "session/session_int.h"
#include "store/mirror.h"
#include "wa/stanza.h"

static int64_t
unix_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void
ping(struct session *s, const char *why)
{
	struct wa_arena a;

	/* Also while pairing: the handshake is done, only the login is not. */
	if (!net_wa_is_ready(s->conn))
		return;
	wa_arena_init(&a, 0);
	session_iq_id(s, s->ping_id, sizeof(s->ping_id));
	if (session_send(s, &a, wa_stanza_ping(&a, s->ping_id), "ping") == 0)
		log_debug("session=%s msg=\"ping sent\" why=%s id=%s", s->id,
		    why, s->ping_id);
	wa_arena_free(&a);
}

/* Presence needs the push name; without it the server has nothing to
 * show and the stanza is skipped (PROTOCOL.md §6). */
static void
presence(struct session *s, int available)
{
	struct wa_arena a;
	const char *name = s->snap.creds.push_name;

	if (!s->logged_in)
		return;
	if (name[0] == '\0') {
		log_debug("session=%s msg=\"presence skipped: push name "
		    "unknown\"", s->id);
		return;
	}
	wa_arena_init(&a, 0);
	if (session_send(s, &a, wa_stanza_presence(&a, name, available),
	    "presence") == 0)
		log_info("session=%s msg=\"presence sent\" type=%s", s->id,
		    available ? "available" : "unavailable");
	wa_arena_free(&a);
}

void
lifecycle_act_send_keepalive(struct fsm *m, void *ctx)
{
	(void)m;
	ping(ctx, "keepalive");
}

void
lifecycle_act_send_ping(struct fsm *m, void *ctx)
{
	struct session *s = ctx;

	(void)m;
	log_warn("session=%s msg=\"no inbound traffic for %g s: connection "
	    "looks stale, pinging\" ping_deadline_s=%g", s->id,
	    s->env->cfg->idle_deadline, s->env->cfg->ping_deadline);
	ping(s, "stale");
}

void
lifecycle_act_heavy_activity(struct fsm *m, void *ctx)
{
	struct session *s = ctx;
	const char *text = s->env->cfg->idle_status;
	struct wa_arena a;
	char id[40];

	(void)m;
	presence(s, 1);
	/* The account's "about" text is user-visible: touched only when the
	 * operator asked for it (ORIGINAL.md, anti-idle). */
	if (text == NULL || !s->logged_in)
		return;
	wa_arena_init(&a, 0);
	session_iq_id(s, id, sizeof(id));
	if (session_send(s, &a, wa_stanza_status(&a, id, text), "status") == 0)
		log_info("session=%s msg=\"profile status set "
		    "(SKYKEEPER_IDLE_STATUS)\"", s->id);
	wa_arena_free(&a);
}

void
lifecycle_act_say_available(struct fsm *m, void *ctx)
{
	(void)m;
	presence(ctx, 1);
}

void
lifecycle_act_say_unavailable(struct fsm *m, void *ctx)
{
	(void)m;
	presence(ctx, 0);
}

void
lifecycle_act_note_open(struct fsm *m, void *ctx)
{
	struct session *s = ctx;

	(void)m;
	s->bo.opened_at = session_now(s);
	s->snap.meta.consecutive_failures = 0;
	s->snap.meta.last_open_ms = unix_ms();
	log_info("session=%s msg=\"session open\" jid_known=%s", s->id,
	    s->snap.creds.me_jid[0] ? "yes" : "no");
	session_note(s, SESSION_NOTE_OPEN, NULL);
}

void
lifecycle_act_note_failure(struct fsm *m, void *ctx)
{
	struct session *s = ctx;

	(void)m;
	session_backoff_failure(s->env->cfg, &s->bo, session_now(s));
	s->snap.meta.consecutive_failures = s->bo.attempts;
	log_info("session=%s msg=\"connection failed or lost\" attempt=%u "
	    "count#skykeeper.reconnects=1", s->id, s->bo.attempts);
	session_note(s, SESSION_NOTE_FAILED, "connection failed or lost");
}

void
lifecycle_act_note_lease_busy(struct fsm *m, void *ctx)
{
	struct session *s = ctx;
	double now = session_now(s);

	(void)m;
	if (s->lease_wait > 0) {
		/* skykeeper pair right after `heroku ps:scale worker=0`: the
		 * worker may still be draining.  Only a holder that keeps the
		 * lease for a whole lease TTL is an answer. */
		if (s->busy_since <= 0)
			s->busy_since = now;
		if (now - s->busy_since > s->env->cfg->lease_ttl)
			session_note(s, SESSION_NOTE_FAILED, "the session is in "
			    "use by another process (its lease is held: is the "
			    "worker running? heroku ps:scale worker=0)");
		/* Busy: the holder is most likely the dyno being replaced,
		 * which releases the lease right after its final save.  Never
		 * fight it, but do not wait out its TTL either: ask again
		 * every SESSION_LEASE_POLL, so the handover takes about a
		 * second after the old process's drain. */
		session_backoff_leave_open(s->env->cfg, &s->bo,
		    session_now(s));
		s->bo.floor = 0;
		s->lease_poll = session_lease_poll_delay(s->lease_wait);
	} else {
		/* The lease could not be asked for (database away): without
		 * it nobody knows who is connected; wait about a lease TTL
		 * rather than risk a 440 fight. */
		session_backoff_failure(s->env->cfg, &s->bo, session_now(s));
		s->bo.floor = s->env->cfg->lease_ttl;
		session_note(s, SESSION_NOTE_FAILED, s->lease_taken ?
		    "another process took the session lease over" :
		    "the session lease could not be asked for: is the "
		    "database reachable?");
	}
	s->lease_wait = 0;
	s->lease_taken = 0;
}

void
lifecycle_act_note_replaced(struct fsm *m, void *ctx)
{
	struct session *s = ctx;

	(void)m;
	session_backoff_replaced(s->env->cfg, &s->bo, session_now(s));
	log_warn("session=%s msg=\"another client took this session over "
	    "(440 replaced): backing off, not fighting\" in_a_row=%u "
	    "floor_s=%.1f count#skykeeper.replaced=1", s->id, s->bo.replaced,
	    s->bo.floor);
}

void
lifecycle_act_note_login_failed(struct fsm *m, void *ctx)
{
	struct session *s = ctx;

	(void)m;
	session_backoff_failure(s->env->cfg, &s->bo, session_now(s));
	switch (s->fail) {
	case SESSION_FAIL_PAIRING:
	case SESSION_FAIL_STORE:
		s->bo.floor = SESSION_PARK_RETRY;
		break;
	case SESSION_FAIL_VERSION:
		/* Retrying an outdated version at once cannot work. */
		s->bo.floor = s->env->cfg->backoff_max;
		break;
	case SESSION_FAIL_NONE:
		break;
	}
	session_note(s, SESSION_NOTE_FAILED, "login failed");
}

int
lifecycle_guard_replaced_too_often(struct fsm *m, void *ctx)
{
	struct session *s = ctx;

	(void)m;
	return session_backoff_replaced_too_often(s->env->cfg, &s->bo,
	    session_now(s));
}

double
lifecycle_delay_backoff_delay(struct fsm *m, void *ctx)
{
	struct session *s = ctx;
	double d;

	(void)m;
	if (s->lease_poll > 0) {
		d = s->lease_poll;
		s->lease_poll = 0;
		log_info("session=%s msg=\"asking for the session lease "
		    "again\" delay_s=%.3f", s->id, d);
		return d;
	}
	d = session_backoff_delay(s->env->cfg, &s->bo,
	    session_unit_random(&s->rng));
	log_info("session=%s msg=\"reconnecting later\" attempt=%u "
	    "delay_s=%.3f floor_s=%.1f", s->id, s->bo.attempts, d, s->bo.floor);
	return d;
}

void
lifecycle_act_park_replaced(struct fsm *m, void *ctx)
{
	struct session *s = ctx;

	(void)m;
	s->parked = 1;
	log_error("session=%s msg=\"another client keeps using this session "
	    "(replaced %d times in a row): skykeeper stopped this session "
	    "instead of fighting it. Stop the other client (another dyno, "
	    "a bot on another machine, a second skykeeper) and restart "
	    "skykeeper\"", s->id, SESSION_REPLACED_PARK);
	session_note(s, SESSION_NOTE_FAILED, "another client uses the session");
}

void
lifecycle_act_mark_logged_out(struct fsm *m, void *ctx)
{
	struct session *s = ctx;

	(void)m;
	s->parked = 1;
	log_error("session=%s msg=\"logged out by WhatsApp (401 or device "
	    "removed): the stored credentials are dead and will not be "
	    "used again. Pair this session again: skykeeper pair --session "
	    "%s (on Heroku: heroku run bin/skykeeper pair --session %s), "
	    "then restart skykeeper\"", s->id, s->id, s->id);
	if (s->have_snap && !s->snap.meta.logged_out) {
		s->snap.meta.logged_out = 1;
		session_save(s, "logged-out");
	}
	session_note(s, SESSION_NOTE_FAILED, "logged out");
}

static void
on_flushed(void *arg, int rc, const char *why)
{
	struct session *s = arg;
	char r[256];

	s->flush_pending = 0;
	s->flush_rc = rc;
	if (s->env->closing)
		return;         /* past the deadline: already reported */
	if (rc < 0)
		log_warn("session=%s msg=\"final save: database copy not "
		    "saved (the file copy is)\" reason=\"%s\"", s->id,
		    session_clean(why, r, sizeof(r)));
	else
		log_info("session=%s msg=\"final save done\" generation=%llu",
		    s->id, (unsigned long long)s->snap.generation);
	s->flushed = 1;
	s->flush_pending = 0;
	if (s->m.state == LIFECYCLE_S_DRAINING)
		session_dispatch(s, LIFECYCLE_E_FLUSHED);
}

void
lifecycle_act_flush_session(struct fsm *m, void *ctx)
{
	struct session *s = ctx;

	(void)m;
	s->draining = 1;
	if (!s->have_snap || s->provisional) {
		/* Never restored, or new keys that were never paired and must
		 * not replace the stored session: nothing of ours to save. */
		s->flushed = 1;
		session_dispatch(s, LIFECYCLE_E_FLUSHED);
		return;
	}
	snprintf(s->snap.meta.last_state, sizeof(s->snap.meta.last_state),
	    "%s", session_state(s));
	s->flush_pending = 1;
	if (store_save(s->env->store, &s->snap, on_flushed, s) < 0) {
		s->flush_pending = 0;
		log_error("session=%s msg=\"final save could not start\"",
		    s->id);
		session_dispatch(s, LIFECYCLE_E_FLUSHED);
	}
}

static void
on_released(void *arg, int rc, const char *holder, double expires_in)
{
	struct session *s = arg;

	(void)holder;
	(void)expires_in;
	s->release_pending = 0;
	log_info("session=%s msg=\"lease released\" rc=%d", s->id, rc);
}

void
session_release_lease_now(struct session *s)
{
	s->release_by = 0;
	ev_timer_stop(s->env->loop, &s->lease_renew);
	s->release_pending = 1;
	if (store_lease_release(s->env->store, s->id, on_released, s) < 0)
		s->release_pending = 0;
}

/*
 * Runs on entry to closed, after the final save (the spec's order: flushed
 * -> closed / close_transport, release_lease).  The next holder (the new
 * dyno polling the lease) logs in as soon as it gets the lease, so the
 * lease goes only once this connection is over: when the transport is
 * still closing (queued presence, WebSocket close handshake), the
 * lease_renew timer checks it every SESSION_RELEASE_STEP and releases when
 * it is idle, or after SESSION_RELEASE_WAIT at the latest.  release_pending
 * keeps run.c lingering (up to 1 s) until the release is confirmed by the
 * store, i.e. it is in PostgreSQL before the process exits.
 */
void
lifecycle_act_release_lease(struct fsm *m, void *ctx)
{
	struct session *s = ctx;

	(void)m;
	if (s->release_by > 0)
		return;                 /* already on its way */
	ev_timer_stop(s->env->loop, &s->lease_renew);
	if (!s->lease_held)
		return;
	s->lease_held = 0;
	if (net_wa_is_idle(s->conn)) {
		session_release_lease_now(s);
		return;
	}
	log_debug("session=%s msg=\"lease release waits for the transport "
	    "to close\"", s->id);
	s->release_pending = 1;
	s->release_by = ev_now(s->env->loop) + SESSION_RELEASE_WAIT;
	ev_timer_set(&s->lease_renew, SESSION_RELEASE_STEP,
	    SESSION_RELEASE_STEP);
	ev_timer_again(s->env->loop, &s->lease_renew);
}

void
lifecycle_act_log_drain_overrun(struct fsm *m, void *ctx)
{
	struct session *s = ctx;

	(void)m;
	s->overrun = 1;
	log_error("session=%s msg=\"drain budget of %g s exceeded\" "
	    "final_save=%s", s->id, s->env->cfg->drain_budget,
	    !s->have_snap ? "nothing-to-save" : s->flush_pending ?
	    "NOT-CONFIRMED(the database copy may miss the last generation)" :
	    "done");
}
