/*
 * src/session/session.c: one session's side effects.  The lifecycle spec
 * decides *when*; the functions here do *what*: send stanzas, save, and
 * turn what the network says into lifecycle events (the way to a
 * connection is in connect.c, policy actions in actions.c).
 *
 * Two rules keep this file simple:
 *  - Actions never dispatch: they run inside a dispatch, so an event they
 *    cause (flushed with nothing to flush) goes through fsm_dispatch, which
 *    queues it while the machine is busy.  Callbacks from the loop (network,
 *    store, lease timer) dispatch directly.
 *  - Every asynchronous request started for one connect attempt carries
 *    the attempt's generation; close_transport bumps it, so an answer that
 *    arrives after the attempt was abandoned is dropped, not applied to the
 *    next one.
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

/* Pre-keys: upload when the server holds fewer than this, this many. */
#define SESSION_PREKEY_LOW    5
#define SESSION_PREKEY_BATCH  30

double
session_now(const struct session *s)
{
	return ev_now(s->env->loop);
}

const char *
session_state(const struct session *s)
{
	return lifecycle_spec.state_names[s->m.state];
}

void
session_dispatch(struct session *s, uint8_t ev)
{
	fsm_dispatch(&s->m, ev);
}

/* A logfmt-safe copy of text from the network or a library. */
const char *
session_clean(const char *in, char *buf, size_t n)
{
	size_t o = 0;

	for (; in != NULL && *in != '\0' && o + 1 < n; in++) {
		unsigned char c = (unsigned char)*in;
		buf[o++] = c < 0x20 || c == 0x7f || c == '"' || c == '\\' ?
		    '\'' : (char)c;
	}
	buf[o] = '\0';
	return buf;
}

void
session_iq_id(struct session *s, char *buf, size_t n)
{
	snprintf(buf, n, "sk.%u", ++s->iq_seq);
}

/* Encodes and queues one node; a stanza that cannot go out is logged, and
 * the transport's own end (if that is what happened) follows as
 * transport_down through `closed`. */
int
session_send(struct session *s, struct wa_arena *a, struct wa_node *n,
    const char *what)
{
	int rc;

	if (n == NULL) {
		log_warn("session=%s msg=\"cannot build %s stanza\"", s->id, what);
		return -1;
	}
	if ((rc = net_wa_send_node(s->conn, n)) < 0) {
		log_warn("session=%s msg=\"cannot send %s\" reason=\"%s\"",
		    s->id, what, wa_strerror(rc));
		return -1;
	}
	(void)a;
	return 0;
}

void
session_note(struct session *s, enum session_note what, const char *why)
{
	if (s->env->note != NULL)
		s->env->note(s->env->note_arg, s, what, why);
}

void
lifecycle_act_close_transport(struct fsm *m, void *ctx)
{
	struct session *s = ctx;

	(void)m;
	s->gen++;
	/* Refs and codes belong to the connection that got them. */
	session_pairing_free(s);
	s->logged_in = 0;
	s->ping_id[0] = s->prekey_id[0] = '\0';
	if (net_wa_is_idle(s->conn))
		return;
	/* Draining: queued frames (presence unavailable) go out first.
	 * Otherwise the next attempt may start in this same dispatch (515),
	 * and a connection must be idle for that. */
	if (s->draining)
		net_wa_close(s->conn);
	else
		net_wa_abort(s->conn);
}

/* --- network callbacks --------------------------------------------------- */

static void
on_opened(struct net_wa *c, void *arg)
{
	struct session *s = arg;

	(void)c;
	log_debug("session=%s msg=\"websocket open\"", s->id);
}

static void
on_handshake(struct net_wa *c, const struct net_wa_hello *h, void *arg)
{
	struct session *s = arg;

	(void)c;
	log_debug("session=%s msg=\"noise handshake done\" cert=%s", s->id,
	    h->cert_checked ? "verified" : "unchecked");
}

static void
after_login(struct session *s)
{
	struct wa_arena a;

	/* What Baileys does after <success>: ask how many pre-keys the
	 * server holds, then say the client is active. */
	wa_arena_init(&a, 0);
	session_iq_id(s, s->prekey_id, sizeof(s->prekey_id));
	(void)session_send(s, &a, wa_stanza_prekey_count(&a, s->prekey_id),
	    "pre-key count");
	wa_arena_reset(&a);
	{
		char id[40];
		session_iq_id(s, id, sizeof(id));
		(void)session_send(s, &a, wa_stanza_active(&a, id, 1), "active");
	}
	wa_arena_free(&a);
}

static void
on_store_saved(void *arg, int rc, const char *why)
{
	char *id = arg, r[256];

	if (rc < 0)
		log_warn("session=%s msg=\"database copy not saved\" "
		    "reason=\"%s\"", id, session_clean(why, r, sizeof(r)));
	free(id);
}

/* A save whose outcome only needs logging. */
void
session_save(struct session *s, const char *why)
{
	char *id;

	if (!s->have_snap || s->provisional)
		return;
	id = strdup(s->id);
	if (id == NULL || store_save(s->env->store, &s->snap, on_store_saved,
	    id) < 0) {
		free(id);
		log_warn("session=%s msg=\"snapshot not saved\" reason=%s",
		    s->id, why);
	}
}

static void
prekey_count(struct session *s, const struct wa_node *n)
{
	const struct wa_node *cn = NULL;
	const char *v;
	struct wa_keypair *keys;
	struct store_prekey *grown;
	struct wa_arena a;
	char id[40];
	uint32_t first;

	s->prekey_id[0] = '\0';
	for (size_t i = 0; n->kind == WA_CONTENT_LIST && i < n->nchildren; i++)
		if (strcmp(n->children[i].tag, "count") == 0)
			cn = &n->children[i];
	if (cn == NULL || (v = wa_node_attr(cn, "value")) == NULL)
		return;
	log_debug("session=%s msg=\"server holds pre-keys\" count=%s",
	    s->id, v);
	if (atoi(v) >= SESSION_PREKEY_LOW || !s->have_snap)
		return;
	keys = calloc(SESSION_PREKEY_BATCH, sizeof(*keys));
	grown = realloc(s->snap.prekeys, (s->snap.n_prekeys +
	    SESSION_PREKEY_BATCH) * sizeof(*grown));
	if (keys == NULL || grown == NULL) {
		free(keys);
		if (grown != NULL)
			s->snap.prekeys = grown;
		return;
	}
	s->snap.prekeys = grown;
	first = s->snap.creds.next_prekey_id ? s->snap.creds.next_prekey_id : 1;
	wa_arena_init(&a, 0);
	session_iq_id(s, id, sizeof(id));
	if (session_send(s, &a, wa_stanza_prekey_upload(&a, id, &s->snap.creds,
	    keys, first, SESSION_PREKEY_BATCH), "pre-key upload") == 0) {
		for (size_t i = 0; i < SESSION_PREKEY_BATCH; i++) {
			grown[s->snap.n_prekeys].id = first + (uint32_t)i;
			grown[s->snap.n_prekeys].pair = keys[i];
			s->snap.n_prekeys++;
		}
		s->snap.creds.next_prekey_id = first + SESSION_PREKEY_BATCH;
		s->snap.creds.first_unuploaded_prekey_id =
		    s->snap.creds.next_prekey_id;
		log_info("session=%s msg=\"uploaded pre-keys\" n=%d", s->id,
		    SESSION_PREKEY_BATCH);
		session_save(s, "pre-keys");
	}
	OPENSSL_cleanse(keys, SESSION_PREKEY_BATCH * sizeof(*keys));
	free(keys);
	wa_arena_free(&a);
}

static void
on_stream_error(struct session *s, const struct wa_inbound *in)
{
	char r[128];

	log_warn("session=%s msg=\"stream error from the server\" code=%d "
	    "reason=%d text=\"%s\"", s->id, in->code, (int)in->reason,
	    session_clean(in->text, r, sizeof(r)));
	s->snap.meta.last_disconnect = (int32_t)in->reason;
	snprintf(s->snap.meta.last_disconnect_text,
	    sizeof(s->snap.meta.last_disconnect_text), "%s", r);
	switch (in->reason) {
	case WA_R_RESTART_REQUIRED:
		session_dispatch(s, LIFECYCLE_E_RESTART_REQUIRED);
		break;
	case WA_R_REPLACED:
		session_dispatch(s, LIFECYCLE_E_REPLACED);
		break;
	case WA_R_LOGGED_OUT:
		session_dispatch(s, LIFECYCLE_E_LOGGED_OUT);
		break;
	default:  /* 503, 500 and anything new: an ordinary reconnect */
		session_dispatch(s, LIFECYCLE_E_TRANSPORT_DOWN);
		break;
	}
}

static void
on_failure(struct session *s, const struct wa_inbound *in)
{
	const struct cfg *c = s->env->cfg;
	char r[128];

	s->snap.meta.last_disconnect = in->code;
	if (in->code == WA_R_LOGGED_OUT) {
		session_dispatch(s, LIFECYCLE_E_LOGGED_OUT);
		return;
	}
	if (in->code == WA_R_CLIENT_OUTDATED)
		log_error("session=%s msg=\"login refused (405): the server "
		    "considers client version %u.%u.%u outdated; set "
		    "SKYKEEPER_WA_VERSION to the current WhatsApp Web version "
		    "(P.S.T)\" version=%u.%u.%u source=%s", s->id,
		    c->version[0], c->version[1], c->version[2], c->version[0],
		    c->version[1], c->version[2], c->version_overridden ?
		    "SKYKEEPER_WA_VERSION" : "builtin");
	else
		log_error("session=%s msg=\"login refused\" reason=%d text=\"%s\" "
		    "version=%u.%u.%u hint=\"if this persists check "
		    "SKYKEEPER_WA_VERSION\"", s->id, in->code,
		    session_clean(in->text, r, sizeof(r)), c->version[0],
		    c->version[1], c->version[2]);
	s->fail = SESSION_FAIL_VERSION;
	session_dispatch(s, LIFECYCLE_E_LOGIN_FAILED);
}

static void
answer_iq(struct session *s, const struct wa_node *n)
{
	struct wa_arena a;

	wa_arena_init(&a, 0);
	(void)session_send(s, &a, wa_stanza_iq_result(&a, n), "iq result");
	wa_arena_free(&a);
}

static void
on_node(struct net_wa *c, const struct wa_node *n, void *arg)
{
	struct session *s = arg;
	struct wa_inbound in;
	double ms;

	(void)c;
	if (session_pair_node(s, n))
		return;
	wa_stanza_classify(n, &in);
	switch (in.kind) {
	case WA_IN_SUCCESS:
		if (s->logged_in)
			break;
		s->logged_in = 1;
		ms = (session_now(s) - s->t_connect) * 1e3;
		log_info("session=%s msg=\"logged in\" "
		    "measure#skykeeper.connect_ms=%.0f", s->id, ms);
		session_dispatch(s, LIFECYCLE_E_LOGGED_IN);
		if (s->m.state == LIFECYCLE_S_OPEN && s->logged_in)
			after_login(s);
		return;
	case WA_IN_FAILURE:
		on_failure(s, &in);
		return;
	case WA_IN_STREAM_ERROR:
		on_stream_error(s, &in);
		return;
	case WA_IN_STREAM_END:
		log_warn("session=%s msg=\"server ended the stream\"", s->id);
		s->snap.meta.last_disconnect = WA_R_CONNECTION_CLOSED;
		session_dispatch(s, LIFECYCLE_E_TRANSPORT_DOWN);
		return;
	case WA_IN_IQ_REQUEST:
		answer_iq(s, n);
		break;
	case WA_IN_IQ_RESULT:
		if (in.id != NULL && s->ping_id[0] != '\0' &&
		    strcmp(in.id, s->ping_id) == 0) {
			s->ping_id[0] = '\0';
			session_dispatch(s, LIFECYCLE_E_PONG);
			return;
		}
		if (in.id != NULL && s->prekey_id[0] != '\0' &&
		    strcmp(in.id, s->prekey_id) == 0)
			prekey_count(s, n);
		break;
	default:
		break;
	}
	session_dispatch(s, LIFECYCLE_E_FRAME);
}

static void
on_closed(struct net_wa *c, enum net_wa_end end, const char *reason,
    void *arg)
{
	struct session *s = arg;
	char r[256];

	(void)c;
	if (end == NET_WA_LOCAL)
		return;   /* we closed it; the lifecycle already moved on */
	log_warn("session=%s msg=\"connection ended\" end=%s reason=\"%s\"",
	    s->id, net_wa_end_name(end), session_clean(reason, r, sizeof(r)));
	s->logged_in = 0;
	session_dispatch(s, LIFECYCLE_E_TRANSPORT_DOWN);
}

/* --- the session --------------------------------------------------------- */

struct session *
session_new(struct session_env *env, const char *id, uint64_t seed)
{
	static const struct net_wa_cb cb = {
		.opened = on_opened,
		.handshake = on_handshake,
		.node = on_node,
		.closed = on_closed,
	};
	struct session *s = calloc(1, sizeof(*s));

	if (s == NULL)
		return NULL;
	s->env = env;
	snprintf(s->id, sizeof(s->id), "%s", id);
	s->rng = seed;
	s->bo.opened_at = -1;
	if ((s->conn = net_wa_new(env->net, &cb, s)) == NULL ||
	    fsm_init(&s->m, &lifecycle_spec, &lifecycle_binding, s, s->id,
	    env->fsm_cfg, &env->clock, seed ^ 0x5bd1e995ULL) < 0) {
		if (s->conn != NULL)
			net_wa_free(s->conn);
		free(s);
		return NULL;
	}
	s->m.trace = fsm_trace_log;
	ev_init(&s->lease_renew, session_lease_renew_cb);
	s->lease_renew.data = s;
	return s;
}

void
session_start(struct session *s)
{
	fsm_start(&s->m);
}

int
session_is_closed(const struct session *s)
{
	return s->m.state == LIFECYCLE_S_CLOSED;
}

/* Nothing of this session is still on its way out. */
int
session_transport_idle(const struct session *s)
{
	return net_wa_is_idle(s->conn) && !s->release_pending;
}

void
session_free(struct session *s)
{
	if (s == NULL)
		return;
	ev_timer_stop(s->env->loop, &s->lease_renew);
	session_pairing_free(s);
	fsm_free(&s->m);
	net_wa_free(s->conn);
	store_snap_clear(&s->snap);
	free(s);
}
