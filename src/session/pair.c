/*
 * src/session/pair.c: pairing a new device (PROTOCOL.md §7), the session's
 * side.  The spec decides when (states pairing and paired of
 * fsm/lifecycle.fsm); this file does what: keeps the refs of a
 * <pair-device>, shows one QR per ref (logs, optionally a PNG) or asks for
 * a pairing code, finishes the code exchange, and accepts a pair-success
 * (the checks and signatures are wa/pair.c's, pure).
 *
 * Where the credentials come from: a session with no snapshot gets a new
 * credential set here, saved before the first connection uses it, so a
 * crash between pairing attempts never loses the keys the phone may
 * already have seen.  Until pair-success the snapshot has no account and
 * no JID; connect.c then logs in with the registration payload.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/crypto.h>
#include "log/log.h"
#include "net/waconn.h"
#include "qr/qr.h"
#include "session/session.h"
#include "session/session_int.h"
#include "store/mirror.h"
#include "wa/pair.h"
#include "wa/stanza.h"

/* What the phone sees as this companion in its code notification. */
#define PAIR_PLATFORM WA_PAIR_PLATFORM_CHROME
#define PAIR_DISPLAY  "Chrome (Linux)"

struct session_pairing {
	struct wa_pair_device dev;        /* refs of the pair-device */
	size_t shown;                     /* refs shown so far */
	int code_mode;                    /* a pairing code, not QR codes */
	struct wa_pair_code code;         /* secrets: wiped on free */
	char hello_id[40];                /* our companion_hello iq */
	struct wa_pair_code_notif notif;  /* the phone took the code */
	int code_taken;                   /* the phone sent its half */
	uint8_t adv[32];                  /* the adv secret the code */
	int have_adv;                     /* exchange derived */
	struct wa_pair_success ps;        /* identity points to `identity` */
	uint8_t *identity;
	char bad[160];                    /* the pair-success did not parse */
};

void
session_pairing_free(struct session *s)
{
	struct session_pairing *p = s->pairing;

	if (p == NULL)
		return;
	wa_pair_code_wipe(&p->code);
	free(p->identity);
	OPENSSL_cleanse(p, sizeof(*p));
	free(p);
	s->pairing = NULL;
}

static struct session_pairing *
pairing(struct session *s)
{
	if (s->pairing == NULL)
		s->pairing = calloc(1, sizeof(*s->pairing));
	return s->pairing;
}

static const char *
phone(const struct session *s)
{
	return s->env->pair_phone != NULL ? s->env->pair_phone :
	    s->env->cfg->pairing_number;
}

/* --- new credentials --------------------------------------------------------- */

int
session_pair_new_creds(struct session *s, int replacing)
{
	struct store_snap *n = &s->snap;
	int rc;

	store_snap_clear(n);
	memset(n, 0, sizeof(*n));
	snprintf(n->session_id, sizeof(n->session_id), "%s", s->id);
	if ((rc = wa_creds_generate(&n->creds)) < 0) {
		log_error("session=%s msg=\"cannot generate credentials\" "
		    "reason=\"%s\"", s->id, wa_strerror(rc));
		/* Nothing in memory is worth a save now: the stored session
		 * must not be overwritten by what is left of this one. */
		s->have_snap = 0;
		return -1;
	}
	n->creds.next_prekey_id = 1;
	n->creds.first_unuploaded_prekey_id = 1;
	s->have_snap = 1;
	if (replacing) {
		s->provisional = 1;
		log_info("session=%s msg=\"new device credentials generated; "
		    "the stored session is replaced only once the pairing "
		    "succeeded\"", s->id);
		return 0;
	}
	/* The file copy is on disk when store_save returns; the database
	 * copy is queued ahead of every later save of this session. */
	if (store_save(s->env->store, n, NULL, NULL) < 0) {
		log_error("session=%s msg=\"cannot save the new credentials; "
		    "not pairing with keys that could be lost\"", s->id);
		store_snap_clear(n);
		memset(n, 0, sizeof(*n));
		s->have_snap = 0;
		return -1;
	}
	log_info("session=%s msg=\"new device credentials generated and "
	    "saved; registering for pairing\" generation=%llu", s->id,
	    (unsigned long long)n->generation);
	return 0;
}

/* --- inbound ----------------------------------------------------------------- */

static void
hello_answer(struct session *s, struct session_pairing *p,
    const struct wa_node *n)
{
	char why[160];
	int rc;

	p->hello_id[0] = '\0';
	if ((rc = wa_pair_hello_result_parse(n, &p->code, why,
	    sizeof(why))) < 0) {
		log_error("session=%s msg=\"the server refused the pairing "
		    "code request\" reason=\"%s\" hint=\"check PAIRING_NUMBER: "
		    "the phone number of the WhatsApp account, country code "
		    "first\"", s->id, why);
		session_dispatch(s, LIFECYCLE_E_PAIR_REJECTED);
		return;
	}
	log_debug("session=%s msg=\"pairing code request accepted\"", s->id);
}

int
session_pair_node(struct session *s, const struct wa_node *n)
{
	struct session_pairing *p;
	struct wa_arena a;
	const char *id;
	char why[160];

	if (s->logged_in)
		return 0;
	if (wa_pair_is_pair_device(n)) {
		struct wa_pair_device dev;
		if ((p = pairing(s)) == NULL)
			return 0;
		if (wa_pair_device_parse(n, &dev, why, sizeof(why)) < 0) {
			log_warn("session=%s msg=\"malformed pair-device from "
			    "the server; reconnecting\" reason=\"%s\"", s->id,
			    why);
			session_dispatch(s, LIFECYCLE_E_TRANSPORT_DOWN);
			return 1;
		}
		if (s->m.state != LIFECYCLE_S_CONNECTING) {
			/* The same refs again (the spec ignores it): acked,
			 * as Baileys acks every one; the refs shown stay. */
			wa_arena_init(&a, 0);
			(void)session_send(s, &a, wa_pair_device_ack(&a, dev.id),
			    "pair-device ack");
			wa_arena_free(&a);
		} else
			p->dev = dev;
		session_dispatch(s, LIFECYCLE_E_PAIR_DEVICE);
		return 1;
	}
	if ((p = s->pairing) == NULL)
		return 0;
	if (wa_pair_is_pair_success(n)) {
		free(p->identity);
		p->identity = NULL;
		p->bad[0] = '\0';
		if (wa_pair_success_parse(n, &p->ps, p->bad, sizeof(p->bad)) < 0)
			;       /* accept_pairing rejects it with p->bad */
		else if ((p->identity = malloc(p->ps.identity_len + 1)) == NULL)
			snprintf(p->bad, sizeof(p->bad), "out of memory");
		else {
			memcpy(p->identity, p->ps.identity, p->ps.identity_len);
			p->ps.identity = p->identity;
		}
		session_dispatch(s, LIFECYCLE_E_PAIR_SUCCESS);
		return 1;
	}
	if (p->hello_id[0] != '\0' && strcmp(n->tag, "iq") == 0 &&
	    (id = wa_node_attr(n, "id")) != NULL &&
	    strcmp(id, p->hello_id) == 0) {
		hello_answer(s, p, n);
		return 1;
	}
	if (wa_pair_is_code_notif(n)) {
		wa_arena_init(&a, 0);
		(void)session_send(s, &a, wa_pair_notif_ack(&a, n), "ack");
		wa_arena_free(&a);
		if (!p->code_mode) {
			log_warn("session=%s msg=\"pairing code notification "
			    "without a code request; ignored\"", s->id);
			return 1;
		}
		if (wa_pair_code_notif_parse(n, &p->notif, why,
		    sizeof(why)) < 0) {
			log_error("session=%s msg=\"malformed pairing code "
			    "notification\" reason=\"%s\"", s->id, why);
			session_dispatch(s, LIFECYCLE_E_PAIR_REJECTED);
			return 1;
		}
		session_dispatch(s, LIFECYCLE_E_CODE_ENTERED);
		return 1;
	}
	return 0;
}

/* --- actions ----------------------------------------------------------------- */

static void
request_code(struct session *s, struct session_pairing *p, const char *ph)
{
	struct wa_arena a;
	struct wa_node *n = NULL;
	char why[160];

	if (wa_pair_code_start(&p->code, ph, NULL, why, sizeof(why)) < 0) {
		log_error("session=%s msg=\"cannot request a pairing code\" "
		    "reason=\"%s\"", s->id, why);
		session_dispatch(s, LIFECYCLE_E_PAIR_REJECTED);
		return;
	}
	p->code_mode = 1;
	wa_arena_init(&a, 0);
	session_iq_id(s, p->hello_id, sizeof(p->hello_id));
	/* The phone shows a notification for a code request: only for the
	 * first round, not for every paced retry of a forgotten bot. */
	if (wa_pair_hello_build(&a, p->hello_id, &p->code, &s->snap.creds,
	    PAIR_PLATFORM, PAIR_DISPLAY, s->pair_rounds == 0, &n) < 0 ||
	    session_send(s, &a, n, "pairing code request") < 0) {
		wa_arena_free(&a);
		session_dispatch(s, LIFECYCLE_E_PAIR_REJECTED);
		return;
	}
	wa_arena_free(&a);
	/* The code is what the user types: it has to be shown.  It is
	 * worthless once this pairing attempt ends. */
	log_show("session=%s pairing_code=%.4s-%.4s phone=%s msg=\"PAIRING "
	    "CODE %.4s-%.4s: on the phone open WhatsApp > Settings > Linked "
	    "devices > Link a device > Link with phone number instead, and "
	    "type this code\"", s->id, p->code.code, p->code.code + 4, ph,
	    p->code.code, p->code.code + 4);
}

void
lifecycle_act_start_pairing(struct fsm *m, void *ctx)
{
	struct session *s = ctx;
	struct session_pairing *p = s->pairing;
	struct wa_arena a;
	const char *ph = phone(s);

	(void)m;
	if (p == NULL)
		return;
	wa_arena_init(&a, 0);
	(void)session_send(s, &a, wa_pair_device_ack(&a, p->dev.id),
	    "pair-device ack");
	wa_arena_free(&a);
	p->shown = 0;
	log_show("session=%s msg=\"this device is not linked to a WhatsApp "
	    "account yet: link it from the phone\" method=%s refs=%zu "
	    "count#skykeeper.pairing_attempts=1", s->id,
	    ph != NULL ? "code" : "qr", p->dev.nrefs);
	if (ph != NULL)
		request_code(s, p, ph);
}

static void
qr_line(const char *line, void *arg)
{
	/* One fixed-width prefix per line keeps the picture aligned in
	 * `heroku logs`, which prefixes every line with the same fields. */
	log_show("session=%s qr=\"%s\"", (const char *)arg, line);
}

static void
show_code_reminder(struct session *s, struct session_pairing *p,
    double expires)
{
	if (p->code_taken) {
		log_info("session=%s msg=\"the phone took the code; waiting for "
		    "it to finish the link\" expires_s=%.0f", s->id, expires);
		return;
	}
	log_show("session=%s pairing_code=%.4s-%.4s msg=\"still waiting for "
	    "the pairing code to be typed on the phone\" expires_s=%.0f",
	    s->id, p->code.code, p->code.code + 4, expires);
}

void
lifecycle_act_show_qr(struct fsm *m, void *ctx)
{
	struct session *s = ctx;
	struct session_pairing *p = s->pairing;
	const struct cfg *c = s->env->cfg;
	double expires;
	char text[WA_PAIR_QR_MAX], why[256];
	const char *ref;

	(void)m;
	if (p == NULL)
		return;
	if (p->shown >= p->dev.nrefs) {
		log_warn("session=%s msg=\"nobody linked the device in time: "
		    "all %zu %s expired\"", s->id, p->dev.nrefs, p->code_mode ?
		    "pairing windows" : "QR codes");
		session_dispatch(s, LIFECYCLE_E_REFS_EXHAUSTED);
		return;
	}
	expires = p->shown == 0 ? c->qr_first : c->qr_next;
	ref = p->dev.refs[p->shown++].s;
	if (p->code_mode) {
		if (p->shown > 1)
			show_code_reminder(s, p, expires);
		return;
	}
	if (wa_pair_qr_text(&s->snap.creds, ref, PAIR_PLATFORM, text,
	    sizeof(text)) < 0) {
		log_error("session=%s msg=\"cannot build the QR text\"", s->id);
		session_dispatch(s, LIFECYCLE_E_PAIR_REJECTED);
		return;
	}
	log_show("session=%s msg=\"scan this QR code: on the phone open "
	    "WhatsApp > Settings > Linked devices > Link a device\" "
	    "qr_number=%zu qr_count=%zu expires_s=%.0f", s->id, p->shown,
	    p->dev.nrefs, expires);
	if (qr_art(text, qr_line, s->id, why, sizeof(why)) < 0)
		log_warn("session=%s msg=\"cannot draw the QR code\" "
		    "reason=\"%s\"", s->id, why);
	/* The same code as text, for rendering it elsewhere. */
	log_show("session=%s qr_text=\"%s\"", s->id, text);
	if (c->qr_png != NULL) {
		if (qr_png(text, c->qr_png, why, sizeof(why)) < 0)
			log_warn("session=%s msg=\"cannot write the QR PNG "
			    "(SKYKEEPER_QR_PNG)\" reason=\"%s\"", s->id, why);
		else
			log_info("session=%s msg=\"QR code written\" png=\"%s\"",
			    s->id, c->qr_png);
	}
	OPENSSL_cleanse(text, sizeof(text));
}

double
lifecycle_delay_qr_ref_delay(struct fsm *m, void *ctx)
{
	struct session *s = ctx;

	(void)m;
	/* Armed before the entry action shows the ref it times. */
	return s->pairing == NULL || s->pairing->shown == 0 ?
	    s->env->cfg->qr_first : s->env->cfg->qr_next;
}

void
lifecycle_act_finish_code_pairing(struct fsm *m, void *ctx)
{
	struct session *s = ctx;
	struct session_pairing *p = s->pairing;
	struct wa_arena a;
	struct wa_node *n = NULL;
	struct wa_creds tmp;
	char id[40], why[160];
	int rc;

	(void)m;
	if (p == NULL)
		return;
	wa_arena_init(&a, 0);
	session_iq_id(s, id, sizeof(id));
	/* The adv secret it derives is kept aside: the credentials change
	 * only once the phone's pair-success proves it. */
	tmp = s->snap.creds;
	rc = wa_pair_finish_build(&a, id, &p->code, &p->notif, &tmp, &n, why,
	    sizeof(why));
	memcpy(p->adv, tmp.adv_secret, sizeof(p->adv));
	p->have_adv = rc == 0;
	OPENSSL_cleanse(&tmp, sizeof(tmp));
	if (rc < 0) {
		wa_arena_free(&a);
		log_error("session=%s msg=\"cannot finish the pairing code "
		    "exchange\" reason=\"%s\"", s->id, why);
		session_dispatch(s, LIFECYCLE_E_PAIR_REJECTED);
		return;
	}
	(void)session_send(s, &a, n, "companion_finish");
	wa_arena_free(&a);
	p->code_taken = 1;
	log_info("session=%s msg=\"the phone took the pairing code; "
	    "finishing the link\"", s->id);
}

void
lifecycle_act_accept_pairing(struct fsm *m, void *ctx)
{
	struct session *s = ctx;
	struct session_pairing *p = s->pairing;
	struct wa_arena a;
	struct wa_node *reply = NULL;
	struct wa_creds tmp;
	char why[160];
	int rc;

	(void)m;
	if (p == NULL)
		return;
	if (p->bad[0] != '\0' || p->identity == NULL) {
		log_error("session=%s msg=\"pairing rejected: malformed "
		    "pair-success; nothing was stored\" reason=\"%s\"", s->id,
		    p->bad[0] ? p->bad : "no device identity");
		session_dispatch(s, LIFECYCLE_E_PAIR_REJECTED);
		return;
	}
	wa_arena_init(&a, 0);
	tmp = s->snap.creds;
	if (p->have_adv)
		memcpy(tmp.adv_secret, p->adv, sizeof(p->adv));
	/* Fills tmp only when every check passed. */
	rc = wa_pair_success_accept(&p->ps, &tmp, &a, &reply, why,
	    sizeof(why));
	/* Stored only once the phone can have our signature: a reply that
	 * did not go out leaves a device the server never confirmed. */
	if (rc == 0 && session_send(s, &a, reply, "pair-device-sign") < 0) {
		rc = WA_ESTATE;
		snprintf(why, sizeof(why), "the reply could not be sent");
	}
	if (rc == 0)
		s->snap.creds = tmp;
	OPENSSL_cleanse(&tmp, sizeof(tmp));
	if (rc < 0) {
		wa_arena_free(&a);
		log_error("session=%s msg=\"pairing rejected: %s; nothing was "
		    "stored\" reason=\"%s\" count#skykeeper.pairing_rejected=1",
		    s->id, wa_pair_strerror(rc), why);
		session_dispatch(s, LIFECYCLE_E_PAIR_REJECTED);
		return;
	}
	wa_arena_free(&a);
	s->pair_rounds = 0;
	s->provisional = 0;
	s->snap.meta.logged_out = 0;
	log_show("session=%s msg=\"device linked to the account; waiting for "
	    "the server to restart the stream\" jid=\"%s\" "
	    "count#skykeeper.paired=1", s->id, s->snap.creds.me_jid);
	session_save(s, "paired");
	wa_pair_code_wipe(&p->code);
}

void
lifecycle_act_note_pair_failed(struct fsm *m, void *ctx)
{
	struct session *s = ctx;

	double floor = s->env->cfg->pair_retry;

	(void)m;
	session_backoff_failure(s->env->cfg, &s->bo, session_now(s));
	for (unsigned i = 0; i < s->pair_rounds && floor < SESSION_PAIR_RETRY_MAX;
	    i++)
		floor *= 2;
	s->bo.floor = floor < SESSION_PAIR_RETRY_MAX ? floor :
	    SESSION_PAIR_RETRY_MAX;
	s->pair_rounds++;
	if (s->env->pair_mode)
		log_warn("session=%s msg=\"pairing did not complete\"", s->id);
	else
		log_warn("session=%s msg=\"pairing did not complete; a new "
		    "attempt with new codes in %.0f s or a little more (doubling "
		    "after each round, up to an hour; skykeeper pair pairs at "
		    "once)\" round=%u", s->id, s->bo.floor, s->pair_rounds);
	session_note(s, SESSION_NOTE_FAILED, "pairing did not complete");
}
