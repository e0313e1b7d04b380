/*
 * src/session/connect.c: open_transport, the way to a connection: the
 * session lease, the snapshot, then the WebSocket with the login payload.
 * Each step answers through a callback on the loop; an answer for an
 * attempt that was abandoned meanwhile (connect timeout, 515, drain) is
 * dropped: every request carries the attempt's generation, which
 * close_transport bumps.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/crypto.h>
#include "log/log.h"
#include "net/waconn.h"
#include "session/session.h"
#include "session/session_int.h"
#include "store/mirror.h"
#include "wa/stanza.h"

struct session_req {
	struct session *s;
	unsigned gen;
};

static struct session_req *
req_new(struct session *s)
{
	struct session_req *r = malloc(sizeof(*r));

	if (r != NULL) {
		r->s = s;
		r->gen = s->gen;
	}
	return r;
}

/* The session the request was for, or NULL when the attempt is over. */
static struct session *
req_take(void *arg)
{
	struct session_req *r = arg;
	struct session *s = r->s;
	unsigned gen = r->gen;

	free(r);
	/* Only an attempt still connecting goes on: draining or closed
	 * must not start a connection. */
	return !s->env->closing && s->gen == gen &&
	    s->m.state == LIFECYCLE_S_CONNECTING ? s : NULL;
}

/* --- connect: lease, restore, WebSocket ---------------------------------- */

static void begin_restore(struct session *s);

static void
begin_connect(struct session *s)
{
	const struct cfg *c = s->env->cfg;
	struct wa_version v = { c->version[0], c->version[1], c->version[2] };
	struct wa_buf payload = { 0 };
	struct net_wa_login l;
	char why[256], r[256];
	int rc;

	/* No JID yet: a registration, answered with pairing refs. */
	rc = s->snap.creds.me_jid[0] == '\0' ?
	    wa_payload_register(&s->snap.creds, &v, &payload) :
	    wa_payload_login(&s->snap.creds, &v, &payload);
	if (rc < 0) {
		log_error("session=%s msg=\"cannot build the login payload\" "
		    "reason=\"%s\"", s->id, wa_strerror(rc));
		wa_buf_free(&payload);
		s->fail = SESSION_FAIL_STORE;
		session_dispatch(s, LIFECYCLE_E_LOGIN_FAILED);
		return;
	}
	if (!net_wa_is_idle(s->conn))
		net_wa_abort(s->conn);
	memset(&l, 0, sizeof(l));
	l.url = c->wa_url;
	l.noise = &s->snap.creds.noise;
	l.payload = payload.data;
	l.payload_len = payload.len;
	l.root = c->root_key;
	l.routing = s->snap.creds.routing_len > 0 ? s->snap.creds.routing : NULL;
	l.routing_len = s->snap.creds.routing_len;
	rc = net_wa_connect(s->conn, &l, why, sizeof(why));
	if (payload.data != NULL)
		OPENSSL_cleanse(payload.data, payload.cap);
	wa_buf_free(&payload);
	if (rc < 0) {
		log_warn("session=%s msg=\"cannot start the connection\" "
		    "reason=\"%s\"", s->id, session_clean(why, r, sizeof(r)));
		session_dispatch(s, LIFECYCLE_E_TRANSPORT_DOWN);
	}
}

/* No usable credentials: a new device, saved, then registered. */
static void
new_device(struct session *s, int replacing)
{
	if (session_pair_new_creds(s, replacing) < 0) {
		s->fail = SESSION_FAIL_STORE;
		session_dispatch(s, LIFECYCLE_E_LOGIN_FAILED);
		return;
	}
	begin_connect(s);
}

static void
on_restore(void *arg, int rc, struct store_snap *snap, const char *why)
{
	struct session *s = req_take(arg);
	char r[256];

	if (s == NULL) {
		if (rc == 0 && snap != NULL)
			store_snap_clear(snap);
		return;
	}
	if (rc == STORE_RESTORE_NEW) {
		log_info("session=%s msg=\"no stored credentials for this "
		    "session: pairing a new device\"", s->id);
		new_device(s, 0);
		return;
	}
	if (rc < 0 || snap == NULL) {
		log_error("session=%s msg=\"cannot restore the session; nothing "
		    "was overwritten\" reason=\"%s\" hint=\"check "
		    "SESSION_SECRET and the store\"", s->id,
		    session_clean(why, r, sizeof(r)));
		s->fail = SESSION_FAIL_STORE;
		session_dispatch(s, LIFECYCLE_E_LOGIN_FAILED);
		return;
	}
	store_snap_clear(&s->snap);
	s->snap = *snap;       /* takes the pre-keys array over */
	memset(snap, 0, sizeof(*snap));
	s->have_snap = 1;
	log_info("session=%s msg=\"session restored\" generation=%llu",
	    s->id, (unsigned long long)s->snap.generation);
	if (s->env->pair_mode && (s->snap.meta.logged_out ||
	    s->env->pair_force)) {
		log_info("session=%s msg=\"replacing the stored credentials "
		    "with a new device\" was=%s", s->id,
		    s->snap.meta.logged_out ? "logged-out" : "paired");
		new_device(s, 1);
		return;
	}
	if (s->snap.meta.logged_out) {
		log_error("session=%s msg=\"this session was logged out "
		    "(device removed or 401): it will not connect. Pair it "
		    "again: skykeeper pair --session %s (on Heroku: heroku run "
		    "bin/skykeeper pair --session %s), then restart\"", s->id,
		    s->id, s->id);
		session_dispatch(s, LIFECYCLE_E_LOGGED_OUT);
		return;
	}
	if (s->env->pair_mode && s->snap.creds.me_jid[0] != '\0') {
		log_error("session=%s msg=\"this session is already paired; "
		    "skykeeper pair --force replaces it with a new device\"",
		    s->id);
		s->fail = SESSION_FAIL_PAIRING;
		session_dispatch(s, LIFECYCLE_E_LOGIN_FAILED);
		return;
	}
	if (s->snap.creds.me_jid[0] == '\0')
		log_info("session=%s msg=\"stored credentials are not paired "
		    "yet: registering for pairing\"", s->id);
	begin_connect(s);
}

static void
begin_restore(struct session *s)
{
	struct session_req *r;

	/* The copy in memory is the newest one this process knows (it saved
	 * it); reloading is the fallback after repeated failures, in case
	 * the other copy holds something better. */
	if (s->have_snap && (s->bo.attempts == 0 ||
	    s->bo.attempts % SESSION_RELOAD_AFTER != 0)) {
		begin_connect(s);
		return;
	}
	if (s->have_snap)
		log_warn("session=%s msg=\"%u failures in a row: reloading the "
		    "session from the store\"", s->id, s->bo.attempts);
	if ((r = req_new(s)) == NULL ||
	    store_restore(s->env->store, s->id, on_restore, r) < 0) {
		free(r);
		log_error("session=%s msg=\"cannot ask the store for the "
		    "session\"", s->id);
		s->fail = SESSION_FAIL_STORE;
		session_dispatch(s, LIFECYCLE_E_LOGIN_FAILED);
	}
}

static void
on_renew(void *arg, int rc, const char *holder, double expires_in)
{
	struct session *s = arg;
	char h[128];

	(void)expires_in;
	if (rc == 0 || !s->lease_held || s->env->closing)
		return;
	if (rc < 0) {
		/* The database is away (maintenance, failover): the lease row
		 * still names us until it expires, and the connection is
		 * worth more than a renewal.  Keep going; the next renewal
		 * or the store's fencing settles it. */
		log_warn("session=%s msg=\"lease renewal failed; keeping the "
		    "session\" rc=%d", s->id, rc);
		return;
	}
	log_error("session=%s msg=\"lease lost: another process owns this "
	    "session now\" holder=\"%s\"", s->id,
	    session_clean(holder, h, sizeof(h)));
	s->lease_held = 0;
	/* note_lease_busy: taken by another process, not "database away". */
	s->lease_taken = 1;
	ev_timer_stop(s->env->loop, &s->lease_renew);
	session_dispatch(s, LIFECYCLE_E_LEASE_LOST);
}

void
session_lease_renew_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct session *s = w->data;

	(void)revents;
	if (s->release_by > 0) {
		/* Closed, waiting for the transport before releasing
		 * (lifecycle_act_release_lease). */
		if (net_wa_is_idle(s->conn) || ev_now(loop) >= s->release_by) {
			if (!net_wa_is_idle(s->conn))
				log_warn("session=%s msg=\"transport still "
				    "closing; releasing the lease anyway\"",
				    s->id);
			session_release_lease_now(s);
		}
		return;
	}
	if (s->lease_held)
		(void)store_lease_renew(s->env->store, s->id, on_renew, s);
}

static void
on_lease(void *arg, int rc, const char *holder, double expires_in)
{
	struct session_req *r = arg;
	struct session *s = r->s;
	int stale = s->gen != r->gen || s->m.state != LIFECYCLE_S_CONNECTING;
	char h[128];

	free(r);
	if (s->env->closing)
		return;
	if (rc == 0) {
		/* Held even when the attempt was abandoned meanwhile: the next
		 * attempt uses it, and closed releases it. */
		s->lease_held = 1;
		s->busy_since = 0;
		/* Renew at a third of the TTL: two renewals may fail before
		 * the lease runs out. */
		ev_timer_set(&s->lease_renew, s->env->cfg->lease_ttl / 3,
		    s->env->cfg->lease_ttl / 3);
		ev_timer_again(s->env->loop, &s->lease_renew);
		if (s->m.state == LIFECYCLE_S_CLOSED)
			lifecycle_act_release_lease(&s->m, s);
	}
	if (stale)
		return;
	if (rc == STORE_LEASE_BUSY) {
		/* > 0 tells note_lease_busy "busy", not "store error". */
		s->lease_wait = expires_in > 0 ? expires_in : 0.001;
		log_info("session=%s msg=\"session lease held by another "
		    "process: polling it every %.1f s\" holder=\"%s\" "
		    "expires_in_s=%.1f", s->id, SESSION_LEASE_POLL,
		    session_clean(holder, h, sizeof(h)), expires_in);
		session_dispatch(s, LIFECYCLE_E_LEASE_BUSY);
		return;
	}
	if (rc != 0) {
		/* Without the lease we cannot know nobody else is connected:
		 * wait (about a lease TTL) rather than risk a 440 fight. */
		log_warn("session=%s msg=\"cannot take the session lease; "
		    "not connecting without it\" rc=%d", s->id, rc);
		s->lease_wait = 0;
		session_dispatch(s, LIFECYCLE_E_LEASE_LOST);
		return;
	}
	begin_restore(s);
}

void
lifecycle_act_open_transport(struct fsm *m, void *ctx)
{
	struct session *s = ctx;
	struct session_req *r;

	(void)m;
	s->gen++;
	s->fail = SESSION_FAIL_NONE;
	s->logged_in = 0;
	s->t_connect = session_now(s);
	if (s->lease_held) {
		begin_restore(s);
		return;
	}
	if ((r = req_new(s)) == NULL ||
	    store_lease_acquire(s->env->store, s->id, on_lease, r) < 0) {
		free(r);
		s->lease_wait = 0;
		session_dispatch(s, LIFECYCLE_E_LEASE_LOST);
	}
}

