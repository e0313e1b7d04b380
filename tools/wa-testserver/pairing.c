/*
 * tools/wa-testserver/pairing.c: registration logins, the way the real
 * server takes them (PROTOCOL.md §7).
 *
 * A ClientPayload with devicePairingData is a companion that wants to be
 * linked.  The connection stays open as a pending pairing: the server
 * sends <iq type=set xmlns=md><pair-device> with --pair-refs refs and
 * expects the iq result; the client shows one QR per ref.  Nothing else
 * happens until a test plays the phone through the control interface
 * (ctlpair.c, phone.c): it names the connection by a QR (ref and noise
 * key) or by the companion_hello the client sent for a pairing code.
 *
 * Kept per pending pairing: the noise key the client proved in the
 * handshake, its identity key (eIdent), the refs, the companion_hello.
 * One attempt at a time runs on a connection; it ends in ts_pair_end,
 * which answers the control request that started it.  A failed attempt
 * leaves the connection pending, so a test can try again (a right code
 * after a wrong one) as long as the client stays.
 */
#include <stdlib.h>
#include <string.h>
#include <libwebsockets.h>
#include <openssl/rand.h>
#include "wa/stanza.h"
#include "wa-testserver/ts.h"

static int
is(const char *a, const char *b)
{
	return a != NULL && strcmp(a, b) == 0;
}

int
ts_pair_next_id(struct ts_server *s, char *buf, size_t n)
{
	return snprintf(buf, n, "ts-%u", ++s->next_iq);
}

static void
deadline_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct ts_conn *c = w->data;

	(void)loop;
	(void)revents;
	if (c->pair != NULL && c->pair->hangup)
		ts_conn_kill(c, TS_K_CLOSE);
	else if (c->pair != NULL)
		ts_pair_end(c, "timeout", "the client did not answer in time");
}

/* The stream error first, the FIN later: Baileys decodes frames
 * asynchronously, and a FIN right behind the 515 can overtake it (it then
 * reports 428, connection closed, instead of 515 restart required).  The
 * real server also leaves the closing to the client. */
void
ts_pair_hangup(struct ts_conn *c, const char *kind)
{
	struct ts_pairing *p = c->pair;

	if (ts_inject_stanza(c, kind, 0) < 0) {
		ts_conn_kill(c, TS_K_CLOSE);
		return;
	}
	c->closing = 1;        /* nothing more goes out, nothing is read */
	p->hangup = 1;
	ev_timer_stop(c->srv->loop, &p->deadline);
	/* a delay policy holds the stanza: the FIN waits as long again */
	ev_timer_set(&p->deadline, TS_PAIR_LINGER_S +
	    ts_policy_of(c->srv, NULL).delay_ms / 1000.0, 0.);
	ev_timer_start(c->srv->loop, &p->deadline);
}

int
ts_pair_begin(struct ts_conn *c, const uint8_t noise_pub[32],
    const uint8_t identity_pub[32])
{
	struct ts_server *s = c->srv;
	struct ts_pairing *p;
	struct wa_arena a;
	struct wa_node *n = NULL;
	char id[24], info[96];
	int rc;

	if ((p = calloc(1, sizeof(*p))) == NULL)
		return -1;
	memcpy(p->noise_pub, noise_pub, 32);
	memcpy(p->identity_pub, identity_pub, 32);
	ev_init(&p->deadline, deadline_cb);
	p->deadline.data = c;
	snprintf(p->outcome, sizeof(p->outcome), "none");
	c->pair = p;
	c->state = TS_C_PAIRING;
	s->st.registrations++;
	/* the companion may wait for the phone much longer than a login */
	lws_set_timeout(c->wsi, PENDING_TIMEOUT_USER_OK, TS_PAIR_TIMEOUT_S);
	ts_pair_next_id(s, id, sizeof(id));
	wa_arena_init(&a, 0);
	rc = wa_pair_device_build(&a, id, s->pair_refs, &p->pd, &n);
	snprintf(p->pd.id, sizeof(p->pd.id), "%s", id);
	if (rc == 0)
		rc = ts_send_node(c, n, 0);
	wa_arena_free(&a);
	if (rc < 0) {
		ts_say(s, "conn=%u pair-device: %s", c->id, wa_pair_strerror(rc));
		return -1;
	}
	snprintf(info, sizeof(info), "{\"refs\":%zu,\"id\":\"%s\"}",
	    p->pd.nrefs, id);
	ts_log_pair(s, c, "pair-device", info);
	if (s->verbose)
		ts_say(s, "conn=%u registration: pending pairing, %zu refs",
		    c->id, p->pd.nrefs);
	return 0;
}

/* "15550009999@s.whatsapp.net" -> 15550009999; 0 when not a number. */
static uint64_t
jid_phone(const char *jid)
{
	uint64_t v = 0;
	int n = 0;

	for (; jid[n] >= '0' && jid[n] <= '9' && n < 19; n++)
		v = v * 10 + (uint64_t)(jid[n] - '0');
	return n > 0 && (jid[n] == '@' || jid[n] == '\0') ? v : 0;
}

/* companion_hello: the client asks for a pairing code for a phone
 * number.  The server answers at once with the ref the phone's
 * notification will carry; the phone acts when a test posts the code. */
static void
on_hello(struct ts_conn *c, const struct wa_node *iq)
{
	struct ts_server *s = c->srv;
	struct ts_pairing *p = c->pair;
	struct wa_pair_hello h;
	struct wa_arena a;
	uint8_t rnd[12];
	char why[128], hex[25], info[256];
	int rc;

	if ((rc = wa_pair_hello_parse(iq, &h, why, sizeof(why))) < 0) {
		s->st.unknown++;
		ts_say(s, "conn=%u companion_hello refused: %s: %s", c->id,
		    wa_pair_strerror(rc), why);
		ts_answer(c, iq);
		return;
	}
	if (RAND_bytes(rnd, sizeof(rnd)) != 1)
		return;
	ts_hex(rnd, sizeof(rnd), hex);
	memcpy(&p->hello, &h, sizeof(h));
	p->hello_seen = 1;
	p->phone = jid_phone(h.jid);
	snprintf(p->link_ref, sizeof(p->link_ref), "2@%s", hex);
	wa_arena_init(&a, 0);
	(void)ts_send_node(c, wa_pair_hello_result_build(&a, h.id, NULL,
	    p->link_ref), 0);
	wa_arena_free(&a);
	snprintf(info, sizeof(info), "{\"phone\":\"%llu\",\"noise_key_matches\":"
	    "%s,\"platform\":\"%.15s\"}", (unsigned long long)p->phone,
	    memcmp(h.noise_pub, p->noise_pub, 32) == 0 ? "true" : "false",
	    h.platform_id);
	ts_log_pair(s, c, "companion_hello", info);
}

void
ts_pair_stanza(struct ts_conn *c, const struct wa_node *n)
{
	struct ts_pairing *p = c->pair;
	const char *type = wa_node_attr(n, "type");
	const char *id = wa_node_attr(n, "id");

	if (is(n->tag, "iq") && id != NULL) {
		int answer = is(type, "result") || is(type, "error");
		if (answer && !p->acked && is(id, p->pd.id)) {
			p->acked = 1;
			if (p->phase == TS_P_REFS)
				p->phase = TS_P_SHOWING;
			ts_log_pair(c->srv, c, "pair-device-ack",
			    is(type, "error") ? "{\"error\":true}" : NULL);
			return;
		}
		if (answer && p->ps_id[0] != '\0' && is(id, p->ps_id)) {
			ts_phone_reply(c, n);
			return;
		}
		if (wa_pair_is_hello(n)) {
			on_hello(c, n);
			return;
		}
		if (wa_pair_is_finish(n)) {
			ts_phone_finish(c, n);
			return;
		}
	}
	ts_answer(c, n);
}

void
ts_pair_end(struct ts_conn *c, const char *outcome, const char *detail)
{
	struct ts_server *s = c->srv;
	struct ts_pairing *p = c->pair;
	struct wa_buf b = { 0 };
	int ok = strcmp(outcome, "registered") == 0;

	snprintf(p->outcome, sizeof(p->outcome), "%s", outcome);
	snprintf(p->detail, sizeof(p->detail), "%s", detail ? detail : "");
	ev_timer_stop(s->loop, &p->deadline);
	p->ps_id[0] = '\0';          /* a late reply is answered like any */
	wa_pair_primary_wipe(&p->code);
	if (ok) {
		p->phase = TS_P_DONE;
	} else {
		s->st.pair_failures++;
		p->phase = p->acked ? TS_P_SHOWING : TS_P_REFS;
	}
	if (wa_buf_put(&b, "{\"outcome\":", 11) == 0 &&
	    ts_json_str(&b, outcome, strlen(outcome)) == 0 &&
	    wa_buf_put(&b, ",\"detail\":", 10) == 0 &&
	    ts_json_str(&b, p->detail, strlen(p->detail)) == 0 &&
	    wa_buf_put(&b, "}", 2) == 0)
		ts_log_pair(s, c, "end", (const char *)b.data);
	wa_buf_free(&b);
	ts_say(s, "conn=%u pairing ended: %s%s%s", c->id, outcome,
	    p->detail[0] ? ": " : "", p->detail);
	if (p->ctl != NULL) {
		struct lws *wsi = p->ctl;
		p->ctl = NULL;
		ts_ctl_late_answer(wsi, 200, ts_ctl_pair_result(c));
	}
}

void
ts_pair_free(struct ts_conn *c)
{
	struct ts_pairing *p = c->pair;

	if (p == NULL)
		return;
	if (p->ctl != NULL)
		ts_pair_end(c, "client_closed",
		    "the connection closed before the pairing ended");
	ev_timer_stop(c->srv->loop, &p->deadline);
	wa_pair_primary_wipe(&p->code);
	memset(p, 0, sizeof(*p));
	free(p);
	c->pair = NULL;
}

struct ts_conn *
ts_pair_find_qr(struct ts_server *s, const struct wa_pair_qr *qr, char *why,
    size_t whylen)
{
	struct ts_conn *c;
	size_t i;

	for (c = s->conns; c != NULL; c = c->next) {
		if (c->state != TS_C_PAIRING || c->pair == NULL)
			continue;
		for (i = 0; i < c->pair->pd.nrefs; i++)
			if (is(qr->ref, c->pair->pd.refs[i].s))
				break;
		if (i == c->pair->pd.nrefs)
			continue;
		if (memcmp(qr->noise_pub, c->pair->noise_pub, 32) != 0) {
			snprintf(why, whylen, "the ref is conn %u's but the "
			    "noise key is not the one it proved", c->id);
			return NULL;
		}
		if (memcmp(qr->identity_pub, c->pair->identity_pub, 32) != 0) {
			snprintf(why, whylen, "the ref is conn %u's but the "
			    "identity key is not its registration's", c->id);
			return NULL;
		}
		return c;
	}
	snprintf(why, whylen, "no pending pairing was sent that ref");
	return NULL;
}

struct ts_conn *
ts_pair_find_hello(struct ts_server *s, uint32_t conn_id)
{
	struct ts_conn *c, *best = NULL;

	for (c = s->conns; c != NULL; c = c->next) {
		if (c->state != TS_C_PAIRING || c->pair == NULL ||
		    !c->pair->hello_seen)
			continue;
		if (conn_id != 0 ? c->id == conn_id :
		    (best == NULL || c->id > best->id))
			best = c;
	}
	return best;
}
