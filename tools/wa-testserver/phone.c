/*
 * tools/wa-testserver/phone.c: the phone's half of pairing, played by the
 * server when a test asks (ctlpair.c).  The crypto and the stanzas are
 * src/wa/pair*.c's primary role; this file decides what to hand out and
 * what to do with the answers.
 *
 * QR:   the QR gives the adv secret -> pair-success.
 * Code: the code unwraps the companion's ephemeral key (companion_hello)
 *       -> notification link_code_companion_reg (the phone's ephemeral,
 *       wrapped with the same code, and its identity key) -> the client's
 *       companion_finish carries a key bundle that opens only when both
 *       sides used the same code -> both derive the adv secret ->
 *       pair-success.
 * Then, either way: the client checks the HMAC (adv secret) and the
 * account signature, signs the device identity and replies with
 * pair-device-sign; the server checks that signature, registers the
 * device (its noise key is from then on the login key of
 * PHONE:DEV) and sends <stream:error code=515/> and closes, as the real
 * server does: the client reconnects and logs in.
 *
 * The account key (s->account) stands for the phone's identity key: the
 * accountSignatureKey of every device the server pairs, whatever the
 * phone number.  A fault (hmac, account-sig) corrupts the pair-success;
 * a faulty attempt never registers anything, even if a broken client
 * replied to it.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <openssl/rand.h>
#include "wa-testserver/ts.h"

static const char *
fault_name(int f)
{
	return f == WA_PAIR_FAULT_HMAC ? "hmac" :
	    f == WA_PAIR_FAULT_ACCOUNT_SIG ? "account-sig" : "none";
}

/* The next device id of phone: past every registered device and every
 * device another pending pairing has just been offered. */
static uint32_t
next_dev(struct ts_server *s, const struct ts_conn *self, uint64_t phone,
    char *lid_user, size_t lulen)
{
	struct ts_device *d;
	struct ts_conn *c;
	uint32_t next = 1;
	size_t i;

	(void)ts_registry_reload(&s->reg);
	lid_user[0] = '\0';
	for (i = 0; i < s->reg.nbuckets; i++)
		for (d = s->reg.buckets[i]; d != NULL; d = d->hnext) {
			if (d->phone != phone)
				continue;
			if (d->dev >= next)
				next = d->dev + 1;
			/* one account, one LID user: devices share it */
			if (lid_user[0] == '\0')
				snprintf(lid_user, lulen, "%.*s",
				    (int)strcspn(d->lid, ":@"), d->lid);
		}
	for (c = s->conns; c != NULL; c = c->next)
		if (c != self && c->pair != NULL &&
		    c->pair->phase == TS_P_SUCCESS_SENT &&
		    c->pair->phone == phone && c->pair->dev >= next)
			next = c->pair->dev + 1;
	return next;
}

static int
send_success(struct ts_conn *c, char *why, size_t whylen)
{
	struct ts_server *s = c->srv;
	struct ts_pairing *p = c->pair;
	struct wa_pair_success_spec spec;
	struct wa_arena a;
	struct wa_node *n = NULL;
	char jid[WA_JID_MAX], lid_user[TS_LID_MAX], info[256];
	uint8_t r[8];
	uint64_t v = 0;
	int i, rc;

	if (RAND_bytes(r, sizeof(r)) != 1) {
		snprintf(why, whylen, "no random bytes");
		return -1;
	}
	for (i = 0; i < 8; i++)
		v = v << 8 | r[i];
	p->dev = next_dev(s, c, p->phone, lid_user, sizeof(lid_user));
	if (lid_user[0] == '\0')    /* 15 digits, like real LIDs */
		snprintf(lid_user, sizeof(lid_user), "%llu",
		    100000000000000ull + (unsigned long long)(v %
		    900000000000000ull));
	snprintf(p->lid, sizeof(p->lid), "%s:%u@lid", lid_user, p->dev);
	snprintf(jid, sizeof(jid), "%llu:%u@s.whatsapp.net",
	    (unsigned long long)p->phone, p->dev);
	p->key_index = p->dev;
	ts_pair_next_id(s, p->ps_id, sizeof(p->ps_id));
	memset(&spec, 0, sizeof(spec));
	spec.id = p->ps_id;
	spec.account = &s->account;
	memcpy(spec.companion_identity_pub, p->identity_pub, 32);
	memcpy(spec.adv_secret, p->adv_secret, 32);
	spec.device_jid = jid;
	spec.lid = p->lid;
	spec.platform = "android";
	spec.key_index = p->key_index;
	spec.raw_id = (uint32_t)(v >> 32);
	spec.timestamp = (uint64_t)time(NULL);
	spec.fault = (enum wa_pair_fault)p->fault;
	wa_arena_init(&a, 0);
	rc = wa_pair_success_build(&a, &spec, &n);
	if (rc == 0)
		rc = ts_send_node(c, n, 0);
	wa_arena_free(&a);
	if (rc < 0) {
		snprintf(why, whylen, "pair-success: %s", wa_pair_strerror(rc));
		p->ps_id[0] = '\0';
		return -1;
	}
	p->phase = TS_P_SUCCESS_SENT;
	s->st.pair_successes++;
	snprintf(info, sizeof(info), "{\"device\":\"%llu:%u\",\"lid\":\"%s\","
	    "\"method\":\"%s\",\"fault\":\"%s\",\"id\":\"%s\"}",
	    (unsigned long long)p->phone, p->dev, p->lid,
	    p->by_code ? "code" : "qr", fault_name(p->fault), p->ps_id);
	ts_log_pair(s, c, "pair-success", info);
	return 0;
}

int
ts_phone_qr(struct ts_conn *c, const struct wa_pair_qr *qr, uint64_t phone,
    enum wa_pair_fault fault, char *why, size_t whylen)
{
	struct ts_pairing *p = c->pair;

	p->attempts++;
	p->by_code = 0;
	p->fault = (uint8_t)fault;
	p->phone = phone;
	p->sig_valid = 0;
	memcpy(p->adv_secret, qr->adv_secret, 32);
	ts_log_pair(c->srv, c, "qr-scanned", NULL);
	return send_success(c, why, whylen);
}

int
ts_phone_code(struct ts_conn *c, const char *code, enum wa_pair_fault fault,
    char *why, size_t whylen)
{
	struct ts_server *s = c->srv;
	struct ts_pairing *p = c->pair;
	struct wa_arena a;
	struct wa_node *n = NULL;
	char id[24];
	int rc;

	p->attempts++;
	p->by_code = 1;
	p->fault = (uint8_t)fault;
	p->sig_valid = 0;
	if ((rc = wa_pair_primary_start(&p->code, &p->hello, code,
	    p->link_ref)) < 0) {
		snprintf(why, whylen, "code exchange: %s", wa_pair_strerror(rc));
		return -1;
	}
	ts_pair_next_id(s, id, sizeof(id));
	wa_arena_init(&a, 0);
	rc = wa_pair_code_notif_build(&a, id, &p->code, s->account.pub, &n);
	if (rc == 0)
		rc = ts_send_node(c, n, 0);
	wa_arena_free(&a);
	if (rc < 0) {
		snprintf(why, whylen, "link_code_companion_reg: %s",
		    wa_pair_strerror(rc));
		wa_pair_primary_wipe(&p->code);
		return -1;
	}
	p->phase = TS_P_CODE_SENT;
	ts_log_pair(s, c, "link_code_companion_reg", NULL);
	return 0;
}

/* companion_finish: answered at once (the client waits for the result
 * before it does anything else); then the bundle says whether both sides
 * used the same code. */
void
ts_phone_finish(struct ts_conn *c, const struct wa_node *iq)
{
	struct ts_server *s = c->srv;
	struct ts_pairing *p = c->pair;
	struct wa_pair_finish f;
	uint8_t adv[32];
	char why[160], detail[200];
	int rc;

	ts_answer(c, iq);
	if ((rc = wa_pair_finish_parse(iq, &f, why, sizeof(why))) < 0) {
		ts_log_pair(s, c, "companion_finish-malformed", NULL);
		if (p->phase == TS_P_CODE_SENT)
			ts_pair_end(c, "bad_finish", why);
		return;
	}
	if (p->phase != TS_P_CODE_SENT) {
		ts_log_pair(s, c, "companion_finish-unexpected", NULL);
		return;
	}
	ts_log_pair(s, c, "companion_finish", NULL);
	if (memcmp(f.companion_identity_pub, p->identity_pub, 32) != 0) {
		ts_pair_end(c, "bad_finish", "companion_identity_public is not "
		    "the identity key of the registration");
		return;
	}
	rc = wa_pair_finish_open(&f, &p->code, &s->account, adv, why,
	    sizeof(why));
	if (rc < 0) {
		snprintf(detail, sizeof(detail), "%s: %s", wa_pair_strerror(rc),
		    why);
		ts_pair_end(c, rc == WA_PAIR_ECODE ? "wrong_code" : "bad_finish",
		    detail);
		return;
	}
	memcpy(p->adv_secret, adv, 32);
	memset(adv, 0, sizeof(adv));
	wa_pair_primary_wipe(&p->code);
	if (send_success(c, why, sizeof(why)) < 0)
		ts_pair_end(c, "server_error", why);
}

/* The answer to pair-success: a pair-device-sign to check, or an error. */
void
ts_phone_reply(struct ts_conn *c, const struct wa_node *iq)
{
	struct ts_server *s = c->srv;
	struct ts_pairing *p = c->pair;
	uint32_t ki = 0;
	char why[160], detail[200], info[96];
	const char *type = wa_node_attr(iq, "type");
	int rc;

	if (type != NULL && strcmp(type, "error") == 0) {
		ts_pair_end(c, "client_error", "the client answered "
		    "pair-success with an iq error");
		return;
	}
	rc = wa_pair_sign_check(iq, p->ps_id, s->account.pub, p->identity_pub,
	    &ki, why, sizeof(why));
	p->sig_valid = rc == 0;
	snprintf(info, sizeof(info), "{\"device_signature\":\"%s\","
	    "\"key_index\":%u}", rc == 0 ? "valid" : "invalid", ki);
	ts_log_pair(s, c, "pair-device-sign", info);
	if (p->fault != WA_PAIR_FAULT_NONE) {
		/* stock Baileys does this for account-sig: its Curve.verify
		 * says true for any signature */
		snprintf(detail, sizeof(detail), "the client signed a "
		    "pair-success with a corrupted %s: not registered",
		    p->fault == WA_PAIR_FAULT_HMAC ? "HMAC" :
		    "account signature");
		ts_pair_end(c, "accepted_fault", detail);
		ts_pair_hangup(c, "device_removed");
		return;
	}
	if (rc < 0) {
		snprintf(detail, sizeof(detail), "%s: %s", wa_pair_strerror(rc),
		    why);
		ts_pair_end(c, rc == WA_PAIR_EDEVICE ? "bad_device_signature" :
		    "bad_reply", detail);
		ts_pair_hangup(c, "device_removed");
		return;
	}
	if (ts_registry_add(&s->reg, p->phone, p->dev, p->noise_pub,
	    p->identity_pub, p->lid, why, sizeof(why)) < 0) {
		ts_pair_end(c, "server_error", why);
		return;
	}
	s->st.paired++;
	snprintf(info, sizeof(info), "{\"device\":\"%llu:%u\"}",
	    (unsigned long long)p->phone, p->dev);
	ts_log_pair(s, c, "registered", info);
	ts_pair_end(c, "registered", NULL);
	/* the real server's next word: restart, then log in as PHONE:DEV */
	ts_pair_hangup(c, "515");
}
