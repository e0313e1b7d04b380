/*
 * tests/fuzz/fuzz_pair.c: the pairing layer (src/wa/pair*.c) on whatever
 * node the network could send.
 *
 * Input: one decrypted transport frame (flag byte, then a node, deflated
 * when flag & 0x02), decoded into an arena with a limit; a frame that does
 * not decode is not this target's business.  The node then goes through
 * every pairing parser, both roles, and what succeeds goes on to the next
 * step against one fixed state (made once from fixed bytes, so nothing
 * asserted here depends on randomness):
 *  - pair-device: refs, the ack, and the QR text of every ref (which
 *    wa_pair_qr_parse must read back);
 *  - pair-success: wa_pair_success_accept with the fixed credentials
 *    (refused: credentials byte-for-byte as before, no reply; accepted:
 *    only the documented fields changed, the reply encodes and passes the
 *    phone's wa_pair_sign_check); wa_pair_success_handle agrees;
 *  - pair-device-sign: wa_pair_sign_check with the fixed keys;
 *  - the code notification: its ack, wa_pair_finish_build with the fixed
 *    wa_pair_code (refused: credentials untouched; built: the phone opens
 *    the bundle to the same adv secret, or refuses with ECODE / EIDENT when
 *    the notification carried other keys);
 *  - companion_hello: the result the phone would send, read back;
 *  - companion_finish: wa_pair_finish_open with the fixed phone state
 *    (refused: adv secret untouched);
 *  - the companion_hello result: only pc->ref may change;
 * and, the input taken as text up to its first NUL, the text parsers:
 * wa_pair_qr_parse (what the phone's camera reads), wa_pair_phone_check
 * and wa_pair_code_check (what the user types).
 * Beyond "no crash, no leak": every failure is a code the header documents
 * for that call (WA_ENOMEM and WA_ECRYPTO too where the call allocates or
 * runs OpenSSL), with a line in `why` that does not hold the pairing code;
 * every success has the documented shape (ids non-empty, strings
 * NUL-terminated inside their arrays, refs 1..WA_PAIR_REF_MAX printable
 * bytes without ',', nrefs 1..WA_PAIR_MAX_REFS, ...).
 *
 * The seeds in tests/fuzz/seeds/fuzz_pair/ are made with this very file
 * compiled with -DFUZZ_PAIR_SEEDS (its main() is at the end) and linked
 * like the replay build without standalone.o:
 *   cc $(CPPFLAGS) $(WARN) -DFUZZ_PAIR_SEEDS -o mkseeds tests/fuzz/fuzz_pair.c \
 *       $(CORE_OBJ) $(LDLIBS) && ./mkseeds tests/fuzz/seeds/fuzz_pair
 * It also asserts that every seed reaches the step it is for.  Make them
 * again whenever the fixed state below changes.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "wa/pair.h"
#include "wa.pb-c.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(c) do { if (!(c)) abort(); } while (0)

#define ONE_OF(rc, ...) one_of((rc), (const int[]){ __VA_ARGS__ }, \
    sizeof((const int[]){ __VA_ARGS__ }) / sizeof(int))

#define ARENA_LIMIT (1u << 20)
#define PHONE "15550001234"
#define CODE "ABCD2345"
#define REF "2@fuzz-ref"
#define SUCCESS_ID "ps-1"       /* the pair-success id the phone expects */

/* What an input reached; the seed maker checks its seeds with it. */
enum {
	R_DEVICE = 1 << 0,          /* pair-device parsed */
	R_SUCCESS = 1 << 1,         /* pair-success parsed */
	R_ACCEPTED = 1 << 2,        /* ... and accepted */
	R_SIGNED = 1 << 3,          /* pair-device-sign verified */
	R_NOTIF = 1 << 4,           /* code notification parsed */
	R_FINISH_BUILT = 1 << 5,    /* ... companion_finish built */
	R_ROUND_TRIP = 1 << 6,      /* ... and the phone opened it */
	R_HELLO = 1 << 7,           /* companion_hello parsed */
	R_FINISH = 1 << 8,          /* companion_finish parsed */
	R_FINISH_OPEN = 1 << 9,     /* ... and opened */
	R_RESULT = 1 << 10,         /* hello result parsed */
	R_QR = 1 << 11,             /* the input, as text, is a QR text */
};

/* The fixed state: the companion's credentials, the phone's account and
 * identity keys, and both sides halfway through code pairing (the
 * companion's ephemeral is the one the phone unwrapped). */
static struct {
	int ready;
	struct wa_creds creds;
	struct wa_keypair account, primary_identity;
	struct wa_pair_code code;
	struct wa_pair_primary primary;
} F;

static void
fixed_key(struct wa_keypair *kp, uint8_t tag)
{
	uint8_t priv[32];

	for (size_t i = 0; i < 32; i++)
		priv[i] = (uint8_t)(tag * 37 + i * 11 + 1);
	CHECK(wa_keypair_from_private(kp, priv) == 0);
}

static void
fixed_init(void)
{
	if (F.ready)
		return;
	memset(&F, 0, sizeof(F));
	fixed_key(&F.creds.noise, 1);
	fixed_key(&F.creds.identity, 2);
	fixed_key(&F.creds.signed_prekey, 3);
	F.creds.signed_prekey_id = 1;
	memset(F.creds.signed_prekey_sig, 0x5a, 64);
	F.creds.registration_id = 4321;
	for (size_t i = 0; i < 32; i++)
		F.creds.adv_secret[i] = (uint8_t)(0xa0 + i);
	strcpy(F.creds.push_name, "fuzz push name");
	F.creds.next_prekey_id = F.creds.first_unuploaded_prekey_id = 1;
	fixed_key(&F.account, 6);
	fixed_key(&F.primary_identity, 7);

	strcpy(F.code.code, CODE);
	fixed_key(&F.code.ephemeral, 4);
	strcpy(F.code.jid, PHONE "@s.whatsapp.net");
	strcpy(F.code.ref.s, REF);
	F.code.ref.len = strlen(REF);

	strcpy(F.primary.code, CODE);
	fixed_key(&F.primary.ephemeral, 5);
	memcpy(F.primary.companion_ephemeral_pub, F.code.ephemeral.pub, 32);
	F.primary.ref = F.code.ref;
	F.ready = 1;
}

static int
one_of(int rc, const int *set, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (rc == set[i])
			return 1;
	return 0;
}

/* A why buffer: reset before each call, checked after. */
struct why {
	char s[200];
};

static char *
why_reset(struct why *w)
{
	memset(w->s, 0x55, sizeof(w->s));
	w->s[0] = '\0';
	return w->s;
}

static void
why_check(const struct why *w, int rc)
{
	CHECK(memchr(w->s, '\0', sizeof(w->s)) != NULL);
	CHECK(strstr(w->s, CODE) == NULL);
	/* a failure says why, unless the allocator or OpenSSL failed */
	if (rc < 0 && rc != WA_ENOMEM && rc != WA_ECRYPTO)
		CHECK(w->s[0] != '\0');
}

/* NUL-terminated inside its array */
static void
str_in(const char *s, size_t cap)
{
	CHECK(memchr(s, '\0', cap) != NULL);
}

static void
id_of(const char id[WA_PAIR_ID_MAX + 1], const struct wa_node *n)
{
	const char *v = wa_node_attr(n, "id");

	str_in(id, WA_PAIR_ID_MAX + 1);
	CHECK(id[0] != '\0' && v != NULL && strcmp(v, id) == 0);
}

static void
ref_ok(const struct wa_pair_ref *r)
{
	CHECK(r->len >= 1 && r->len <= WA_PAIR_REF_MAX);
	CHECK(r->s[r->len] == '\0' && strlen(r->s) == r->len);
	for (size_t i = 0; i < r->len; i++)
		CHECK(r->s[i] >= 0x21 && r->s[i] <= 0x7e && r->s[i] != ',');
}

static int
ref_same(const struct wa_pair_ref *x, const struct wa_pair_ref *y)
{
	return x->len == y->len && memcmp(x->s, y->s, x->len + 1) == 0;
}

/* A built node encodes; decoded again (into a), it is handed back. */
static const struct wa_node *
rewire(const struct wa_node *n, struct wa_arena *a)
{
	struct wa_buf b = { 0 };
	struct wa_node *back = NULL;

	CHECK(n != NULL);
	CHECK(wa_node_encode_frame(n, &b) == 0);
	CHECK(wa_node_decode_frame(b.data, b.len, a, &back) == 0);
	wa_buf_free(&b);
	return back;
}

/* --- QR pairing, companion side -------------------------------------- */

static int
pair_device(const struct wa_node *n, struct wa_arena *ra)
{
	struct wa_pair_device pd;
	struct wa_pair_qr qr;
	struct why w;
	char text[WA_PAIR_QR_MAX];
	int is = wa_pair_is_pair_device(n), rc;

	CHECK(is == 0 || is == 1);
	rc = wa_pair_device_parse(n, &pd, why_reset(&w), sizeof(w.s));
	why_check(&w, rc);
	if (rc < 0) {
		CHECK(ONE_OF(rc, WA_EMALFORM, WA_ETOOBIG));
		return 0;
	}
	CHECK(rc == 0 && is);
	id_of(pd.id, n);
	CHECK(pd.nrefs >= 1 && pd.nrefs <= WA_PAIR_MAX_REFS);
	for (size_t i = 0; i < pd.nrefs; i++) {
		ref_ok(&pd.refs[i]);
		/* WA_PAIR_QR_MAX is always enough, and the phone reads it */
		rc = wa_pair_qr_text(&F.creds, pd.refs[i].s,
		    WA_PAIR_PLATFORM_CHROME, text, sizeof(text));
		CHECK(rc > 0 && (size_t)rc < sizeof(text) &&
		    strlen(text) == (size_t)rc);
		CHECK(wa_pair_qr_parse(text, &qr) == 0);
		CHECK(strcmp(qr.ref, pd.refs[i].s) == 0);
		CHECK(memcmp(qr.noise_pub, F.creds.noise.pub, 32) == 0);
		CHECK(memcmp(qr.identity_pub, F.creds.identity.pub, 32) == 0);
		CHECK(memcmp(qr.adv_secret, F.creds.adv_secret, 32) == 0);
		CHECK(qr.platform == WA_PAIR_PLATFORM_CHROME);
	}
	wa_arena_reset(ra);
	(void)rewire(wa_pair_device_ack(ra, pd.id), ra);
	return R_DEVICE;
}

/* *c as it must be after accepting ps: before, plus the documented fields */
static void
accepted_creds(const struct wa_creds *before, const struct wa_creds *c,
    const struct wa_pair_success *ps)
{
	struct wa_creds want;

	CHECK(c->account_len >= 1 && c->account_len <= sizeof(c->account));
	memcpy(&want, before, sizeof(want));
	memcpy(want.account, c->account, c->account_len);
	want.account_len = c->account_len;
	memcpy(want.me_jid, ps->jid, strlen(ps->jid) + 1);
	memcpy(want.me_lid, ps->lid, strlen(ps->lid) + 1);
	memcpy(want.platform, ps->platform, strlen(ps->platform) + 1);
	if (ps->biz_name[0] != '\0')
		memcpy(want.push_name, ps->biz_name,
		    strlen(ps->biz_name) + 1);
	CHECK(memcmp(&want, c, sizeof(want)) == 0);
}

/* The reply of an accepted pair-success is what the phone checks: an
 * account key out of the stored account, and the signatures verify. */
static void
reply_verifies(const struct wa_node *reply, const struct wa_pair_success *ps,
    const struct wa_creds *c, struct wa_arena *ra)
{
	Wa__ADVSignedDeviceIdentity *acc;
	const struct wa_node *back = rewire(reply, ra);
	struct why w;
	uint32_t idx;
	int rc;

	acc = wa__advsigned_device_identity__unpack(NULL, c->account_len,
	    c->account);
	CHECK(acc != NULL && acc->has_accountsignaturekey &&
	    acc->accountsignaturekey.len == 32 && acc->has_devicesignature &&
	    acc->devicesignature.len == 64);
	rc = wa_pair_sign_check(back, ps->id, acc->accountsignaturekey.data,
	    F.creds.identity.pub, &idx, why_reset(&w), sizeof(w.s));
	why_check(&w, rc);
	CHECK(rc == 0);
	wa__advsigned_device_identity__free_unpacked(acc, NULL);
}

static int
pair_success(const struct wa_node *n, struct wa_arena *ra)
{
	static const int accept_codes[] = { WA_PAIR_EHMAC, WA_PAIR_EACCOUNT,
	    WA_EMALFORM, WA_ETOOBIG, WA_ENOMEM, WA_ECRYPTO };
	struct wa_pair_success ps;
	struct wa_creds c, c2;
	struct wa_node *reply, *reply2;
	const struct wa_node *psn, *di;
	struct why w;
	int is = wa_pair_is_pair_success(n), rc, rc2, got = 0;

	CHECK(is == 0 || is == 1);
	rc = wa_pair_success_parse(n, &ps, why_reset(&w), sizeof(w.s));
	why_check(&w, rc);
	if (rc < 0)
		CHECK(ONE_OF(rc, WA_EMALFORM, WA_ETOOBIG));
	else {
		CHECK(rc == 0 && is);
		id_of(ps.id, n);
		/* identity points into the node's device-identity */
		psn = wa_node_child(n, "pair-success");
		di = psn != NULL ? wa_node_child(psn, "device-identity") : NULL;
		CHECK(di != NULL && ps.identity == di->data &&
		    ps.identity_len == di->len && ps.identity_len > 0);
		str_in(ps.jid, sizeof(ps.jid));
		CHECK(ps.jid[0] != '\0');
		str_in(ps.lid, sizeof(ps.lid));
		str_in(ps.platform, sizeof(ps.platform));
		str_in(ps.biz_name, sizeof(ps.biz_name));
		got |= R_SUCCESS;

		memcpy(&c, &F.creds, sizeof(c));
		wa_arena_reset(ra);
		reply = (struct wa_node *)1;
		rc = wa_pair_success_accept(&ps, &c, ra, &reply, why_reset(&w),
		    sizeof(w.s));
		why_check(&w, rc);
		if (rc < 0) {
			CHECK(one_of(rc, accept_codes, sizeof(accept_codes) /
			    sizeof(int)));
			CHECK(reply == NULL);
			CHECK(memcmp(&c, &F.creds, sizeof(c)) == 0);
		} else {
			CHECK(rc == 0 && reply != NULL);
			accepted_creds(&F.creds, &c, &ps);
			reply_verifies(reply, &ps, &c, ra);
			got |= R_ACCEPTED;
		}
	}
	/* parse + accept in one call: the same answer */
	memcpy(&c2, &F.creds, sizeof(c2));
	wa_arena_reset(ra);
	reply2 = (struct wa_node *)1;
	rc2 = wa_pair_success_handle(n, &c2, ra, &reply2, why_reset(&w),
	    sizeof(w.s));
	why_check(&w, rc2);
	CHECK(rc2 == rc);
	if (rc2 < 0) {
		CHECK(reply2 == NULL);
		CHECK(memcmp(&c2, &F.creds, sizeof(c2)) == 0);
	} else {
		CHECK(reply2 != NULL);
		accepted_creds(&F.creds, &c2, &ps);
	}
	return got;
}

/* --- QR pairing, primary side ---------------------------------------- */

static int
sign_check(const struct wa_node *n)
{
	struct why w;
	uint32_t idx = 0;
	int rc;

	rc = wa_pair_sign_check(n, SUCCESS_ID, F.account.pub,
	    F.creds.identity.pub, &idx, why_reset(&w), sizeof(w.s));
	why_check(&w, rc);
	if (rc < 0) {
		CHECK(ONE_OF(rc, WA_EPROTO, WA_PAIR_EACCOUNT, WA_PAIR_EDEVICE,
		    WA_EMALFORM, WA_ENOMEM));
		return 0;
	}
	CHECK(rc == 0);
	return R_SIGNED;
}

/* --- pairing code, companion side ------------------------------------ */

static int
code_notif(const struct wa_node *n, struct wa_arena *ra)
{
	struct wa_pair_code_notif nt;
	struct wa_pair_finish f;
	struct wa_creds c;
	struct wa_node *out;
	const struct wa_node *back;
	uint8_t adv[32];
	struct why w;
	int is = wa_pair_is_code_notif(n), rc, got = 0;

	CHECK(is == 0 || is == 1);
	rc = wa_pair_code_notif_parse(n, &nt, why_reset(&w), sizeof(w.s));
	why_check(&w, rc);
	if (rc < 0) {
		CHECK(ONE_OF(rc, WA_EMALFORM, WA_ETOOBIG));
		return 0;
	}
	CHECK(rc == 0 && is);
	id_of(nt.id, n);
	str_in(nt.from, sizeof(nt.from));
	ref_ok(&nt.ref);
	got |= R_NOTIF;

	memcpy(&c, &F.creds, sizeof(c));
	wa_arena_reset(ra);
	out = (struct wa_node *)1;
	rc = wa_pair_finish_build(ra, nt.id, &F.code, &nt, &c, &out,
	    why_reset(&w), sizeof(w.s));
	why_check(&w, rc);
	if (rc < 0) {
		CHECK(ONE_OF(rc, WA_PAIR_EREF, WA_ECRYPTO, WA_ENOMEM));
		CHECK(rc != WA_PAIR_EREF || strcmp(nt.ref.s, REF) != 0);
		CHECK(out == NULL);
		CHECK(memcmp(&c, &F.creds, sizeof(c)) == 0);
		return got;
	}
	CHECK(rc == 0 && out != NULL);
	CHECK(strcmp(nt.ref.s, REF) == 0);
	/* only the adv secret changed */
	memcpy(adv, c.adv_secret, 32);
	memcpy(c.adv_secret, F.creds.adv_secret, 32);
	CHECK(memcmp(&c, &F.creds, sizeof(c)) == 0);
	got |= R_FINISH_BUILT;

	/* the phone reads it; it opens when the notification carried the
	 * phone's keys (else the bundle does not open, or names another
	 * identity), and then both sides hold the same adv secret */
	back = rewire(out, ra);
	CHECK(wa_pair_is_finish(back));
	rc = wa_pair_finish_parse(back, &f, why_reset(&w), sizeof(w.s));
	why_check(&w, rc);
	CHECK(rc == 0);
	CHECK(strcmp(f.id, nt.id) == 0 && strcmp(f.jid, F.code.jid) == 0);
	CHECK(memcmp(f.companion_identity_pub, F.creds.identity.pub, 32) == 0);
	CHECK(ref_same(&f.ref, &nt.ref));
	rc = wa_pair_finish_open(&f, &F.primary, &F.primary_identity,
	    c.adv_secret, why_reset(&w), sizeof(w.s));
	why_check(&w, rc);
	if (memcmp(nt.primary_identity_pub, F.primary_identity.pub, 32) == 0)
		CHECK(rc == 0 || rc == WA_PAIR_ECODE);
	else
		CHECK(rc == WA_PAIR_ECODE || rc == WA_PAIR_EIDENT);
	if (rc == 0) {
		CHECK(memcmp(c.adv_secret, adv, 32) == 0);
		got |= R_ROUND_TRIP;
	}
	return got;
}

static int
hello_result(const struct wa_node *n)
{
	struct wa_pair_code pc;
	struct why w;
	int rc;

	memcpy(&pc, &F.code, sizeof(pc));
	pc.ref.len = 0;
	memset(pc.ref.s, 0, sizeof(pc.ref.s));
	rc = wa_pair_hello_result_parse(n, &pc, why_reset(&w), sizeof(w.s));
	why_check(&w, rc);
	/* only the ref may change */
	CHECK(memcmp(pc.code, F.code.code, sizeof(pc.code)) == 0 &&
	    memcmp(&pc.ephemeral, &F.code.ephemeral, sizeof(pc.ephemeral)) ==
	    0 && memcmp(pc.jid, F.code.jid, sizeof(pc.jid)) == 0);
	if (rc < 0) {
		CHECK(ONE_OF(rc, WA_EPROTO, WA_EMALFORM));
		return 0;
	}
	CHECK(rc == 0);
	ref_ok(&pc.ref);
	return R_RESULT;
}

/* --- pairing code, primary side -------------------------------------- */

static int
hello(const struct wa_node *n, struct wa_arena *ra)
{
	struct wa_pair_hello h;
	struct wa_pair_code pc;
	const struct wa_node *back;
	struct why w;
	int is = wa_pair_is_hello(n), rc;

	CHECK(is == 0 || is == 1);
	rc = wa_pair_hello_parse(n, &h, why_reset(&w), sizeof(w.s));
	why_check(&w, rc);
	if (rc < 0) {
		CHECK(ONE_OF(rc, WA_EMALFORM, WA_ETOOBIG));
		return 0;
	}
	CHECK(rc == 0 && is);
	id_of(h.id, n);
	str_in(h.jid, sizeof(h.jid));
	str_in(h.platform_id, sizeof(h.platform_id));
	str_in(h.platform_display, sizeof(h.platform_display));
	CHECK(h.show_push_notification == 0 || h.show_push_notification == 1);

	/* the phone's answer, read by the companion */
	wa_arena_reset(ra);
	back = rewire(wa_pair_hello_result_build(ra, h.id, h.jid, REF), ra);
	memset(&pc, 0, sizeof(pc));
	CHECK(wa_pair_hello_result_parse(back, &pc, NULL, 0) == 0);
	CHECK(pc.ref.len == strlen(REF) && strcmp(pc.ref.s, REF) == 0);
	return R_HELLO;
}

static int
finish(const struct wa_node *n)
{
	struct wa_pair_finish f;
	uint8_t adv[32];
	struct why w;
	int is = wa_pair_is_finish(n), rc;

	CHECK(is == 0 || is == 1);
	rc = wa_pair_finish_parse(n, &f, why_reset(&w), sizeof(w.s));
	why_check(&w, rc);
	if (rc < 0) {
		CHECK(ONE_OF(rc, WA_EMALFORM, WA_ETOOBIG));
		return 0;
	}
	CHECK(rc == 0 && is);
	id_of(f.id, n);
	str_in(f.jid, sizeof(f.jid));
	ref_ok(&f.ref);

	memset(adv, 0x77, sizeof(adv));
	rc = wa_pair_finish_open(&f, &F.primary, &F.primary_identity, adv,
	    why_reset(&w), sizeof(w.s));
	why_check(&w, rc);
	if (rc < 0) {
		CHECK(ONE_OF(rc, WA_PAIR_EREF, WA_PAIR_ECODE, WA_PAIR_EIDENT,
		    WA_ECRYPTO));
		CHECK(rc != WA_PAIR_EREF || strcmp(f.ref.s, REF) != 0);
		for (size_t i = 0; i < sizeof(adv); i++)
			CHECK(adv[i] == 0x77);
		return R_FINISH;
	}
	CHECK(rc == 0);
	return R_FINISH | R_FINISH_OPEN;
}

/* --- text: what the phone's camera reads, what the user types -------- */

static int
texts(const uint8_t *data, size_t size)
{
	struct wa_pair_qr qr;
	struct why w;
	char *t = malloc(size + 1);
	size_t n;
	int rc, got = 0;

	CHECK(t != NULL);
	if (size > 0)
		memcpy(t, data, size);
	t[size] = '\0';
	n = strlen(t);

	rc = wa_pair_qr_parse(t, &qr);
	if (rc < 0)
		CHECK(rc == WA_EMALFORM);
	else {
		size_t len = strlen(qr.ref);

		CHECK(rc == 0);
		str_in(qr.ref, sizeof(qr.ref));
		CHECK(len >= 1 && len <= WA_PAIR_REF_MAX);
		for (size_t i = 0; i < len; i++)
			CHECK(qr.ref[i] >= 0x21 && qr.ref[i] <= 0x7e &&
			    qr.ref[i] != ',');
		CHECK(qr.platform >= -1 && qr.platform <= 9999);
		got |= R_QR;
	}

	rc = wa_pair_phone_check(t, why_reset(&w), sizeof(w.s));
	why_check(&w, rc);
	CHECK(rc == 0 || rc == WA_PAIR_EPHONE);
	if (rc == 0) {
		CHECK(n >= 6 && n <= 15 && t[0] != '0');
		for (size_t i = 0; i < n; i++)
			CHECK(t[i] >= '0' && t[i] <= '9');
	}
	rc = wa_pair_code_check(t);
	CHECK(rc == 0 || rc == WA_PAIR_ECODE);
	if (rc == 0) {
		CHECK(n == WA_PAIR_CODE_LEN);
		for (size_t i = 0; i < n; i++)
			CHECK(strchr(WA_PAIR_CODE_ALPHABET, t[i]) != NULL);
	}
	free(t);
	return got;
}

/* --- one input -------------------------------------------------------- */

static int
notif_ack(const struct wa_node *n, struct wa_arena *ra)
{
	const struct wa_node *ack, *back;
	const char *type = wa_node_attr(n, "type");

	wa_arena_reset(ra);
	ack = wa_pair_notif_ack(ra, n);
	if (ack == NULL)
		return 0;
	/* only with id and from, and it says what it acks */
	back = rewire(ack, ra);
	CHECK(strcmp(back->tag, "ack") == 0);
	CHECK(wa_node_attr(n, "id") != NULL &&
	    strcmp(wa_node_attr(back, "id"), wa_node_attr(n, "id")) == 0);
	CHECK(wa_node_attr(n, "from") != NULL &&
	    strcmp(wa_node_attr(back, "to"), wa_node_attr(n, "from")) == 0);
	CHECK(strcmp(wa_node_attr(back, "class"), n->tag) == 0);
	CHECK(type == NULL ? wa_node_attr(back, "type") == NULL :
	    strcmp(wa_node_attr(back, "type"), type) == 0);
	return 0;
}

static int
run(const uint8_t *data, size_t size)
{
	struct wa_arena a, ra;
	struct wa_node *n;
	int rc, got = 0;

	fixed_init();
	got |= texts(data, size);
	wa_arena_init(&a, ARENA_LIMIT);
	rc = wa_node_decode_frame(data, size, &a, &n);
	if (rc < 0) {
		CHECK(ONE_OF(rc, WA_ETRUNC, WA_EMALFORM, WA_ETOOBIG, WA_EDEPTH,
		    WA_ENOMEM));
		wa_arena_free(&a);
		return got;
	}
	CHECK(rc == 0 && n != NULL);
	wa_arena_init(&ra, ARENA_LIMIT);

	/* dispatch predicates never claim one node for two flows that
	 * exclude each other */
	CHECK(!(wa_pair_is_code_notif(n) && (wa_pair_is_pair_device(n) ||
	    wa_pair_is_pair_success(n) || wa_pair_is_hello(n) ||
	    wa_pair_is_finish(n))));
	CHECK(!(wa_pair_is_hello(n) && wa_pair_is_finish(n)));

	got |= pair_device(n, &ra);
	got |= pair_success(n, &ra);
	got |= sign_check(n);
	got |= notif_ack(n, &ra);
	got |= code_notif(n, &ra);
	got |= hello_result(n);
	got |= hello(n, &ra);
	got |= finish(n);

	wa_arena_free(&ra);
	wa_arena_free(&a);
	return got;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	(void)run(data, size);
	return 0;
}

#ifdef FUZZ_PAIR_SEEDS
/* The seed maker: one valid frame per stanza kind, each checked to reach
 * the step it is for.  The refs, salts and nonces inside are random; the
 * keys are the fixed ones above. */
static const char *seed_dir;
static struct wa_arena A;

static void
save(const char *name, const struct wa_node *n, int want, int not)
{
	struct wa_buf b = { 0 };
	char path[4096];
	FILE *f;
	int got;

	CHECK(n != NULL && wa_node_encode_frame(n, &b) == 0);
	snprintf(path, sizeof(path), "%s/%s", seed_dir, name);
	f = fopen(path, "wb");
	CHECK(f != NULL && fwrite(b.data, 1, b.len, f) == b.len &&
	    fclose(f) == 0);
	got = run(b.data, b.len);
	if ((got & want) != want || (got & not) != 0) {
		fprintf(stderr, "%s: reached %#x, wanted %#x and not %#x\n",
		    name, (unsigned)got, (unsigned)want, (unsigned)not);
		exit(1);
	}
	printf("%s: %zu bytes, reached %#x\n", name, b.len, (unsigned)got);
	wa_buf_free(&b);
}

static void
spec(struct wa_pair_success_spec *s)
{
	memset(s, 0, sizeof(*s));
	s->id = SUCCESS_ID;
	s->account = &F.account;
	memcpy(s->companion_identity_pub, F.creds.identity.pub, 32);
	memcpy(s->adv_secret, F.creds.adv_secret, 32);
	s->device_jid = PHONE ":7@s.whatsapp.net";
	s->lid = "98765432109876:7@lid";
	s->platform = "android";
	s->biz_name = "Fuzz Biz";
	s->key_index = 3;
	s->raw_id = 0x1234;
	s->timestamp = 1800000000;
}

int
main(int argc, char **argv)
{
	struct wa_pair_success_spec s;
	struct wa_pair_code_notif nt;
	struct wa_creds c;
	struct wa_node *n, *pd, *notif, *reply;
	char why[200];

	if (argc != 2) {
		fprintf(stderr, "usage: %s DIR\n", argv[0]);
		return 2;
	}
	seed_dir = argv[1];
	fixed_init();
	wa_arena_init(&A, 0);

	CHECK(wa_pair_device_build(&A, "pd-1", 3, NULL, &n) == 0);
	save("pair_device", n, R_DEVICE, 0);
	/* one ref over WA_PAIR_MAX_REFS: ignored */
	CHECK(wa_pair_device_build(&A, "pd-2", WA_PAIR_MAX_REFS, NULL,
	    &n) == 0);
	pd = &n->children[0];
	CHECK(wa_node_set_bytes(&A, wa_node_add_child(&A, pd, "ref"),
	    (const uint8_t *)"2@extra", 7) == 0);
	save("pair_device_17_refs", n, R_DEVICE, 0);

	spec(&s);
	CHECK(wa_pair_success_build(&A, &s, &n) == 0);
	save("pair_success", n, R_SUCCESS | R_ACCEPTED, 0);
	memcpy(&c, &F.creds, sizeof(c));
	CHECK(wa_pair_success_handle(n, &c, &A, &reply, why,
	    sizeof(why)) == 0);
	save("pair_device_sign", reply, R_SIGNED, 0);

	spec(&s);
	s.hosted = 1;
	s.lid = s.platform = s.biz_name = NULL;
	CHECK(wa_pair_success_build(&A, &s, &n) == 0);
	save("pair_success_hosted", n, R_SUCCESS | R_ACCEPTED, 0);

	spec(&s);
	s.fault = WA_PAIR_FAULT_HMAC;
	CHECK(wa_pair_success_build(&A, &s, &n) == 0);
	save("pair_success_bad_hmac", n, R_SUCCESS, R_ACCEPTED);

	spec(&s);
	s.fault = WA_PAIR_FAULT_ACCOUNT_SIG;
	CHECK(wa_pair_success_build(&A, &s, &n) == 0);
	save("pair_success_bad_account_sig", n, R_SUCCESS, R_ACCEPTED);

	CHECK(wa_pair_code_notif_build(&A, "n-1", &F.primary,
	    F.primary_identity.pub, &notif) == 0);
	save("code_notif", notif, R_NOTIF | R_FINISH_BUILT | R_ROUND_TRIP, 0);

	CHECK(wa_pair_hello_build(&A, "h-1", &F.code, &F.creds,
	    WA_PAIR_PLATFORM_CHROME, NULL, 1, &n) == 0);
	save("companion_hello", n, R_HELLO, 0);

	CHECK(wa_pair_code_notif_parse(notif, &nt, why, sizeof(why)) == 0);
	memcpy(&c, &F.creds, sizeof(c));
	CHECK(wa_pair_finish_build(&A, "f-1", &F.code, &nt, &c, &n, why,
	    sizeof(why)) == 0);
	save("companion_finish", n, R_FINISH | R_FINISH_OPEN, 0);

	{
		char qr[WA_PAIR_QR_MAX];
		FILE *f;
		char path[4096];
		int len = wa_pair_qr_text(&F.creds, REF,
		    WA_PAIR_PLATFORM_CHROME, qr, sizeof(qr));

		CHECK(len > 0);
		snprintf(path, sizeof(path), "%s/qr_text", seed_dir);
		f = fopen(path, "wb");
		CHECK(f != NULL && fwrite(qr, 1, (size_t)len, f) ==
		    (size_t)len && fclose(f) == 0);
		CHECK(run((const uint8_t *)qr, (size_t)len) & R_QR);
		printf("qr_text: %d bytes\n", len);
	}

	save("hello_result", wa_pair_hello_result_build(&A, "h-1", NULL, REF),
	    R_RESULT, 0);
	n = wa_node_new(&A, "iq");
	CHECK(n != NULL && wa_node_set_attr(&A, n, "type", "error") == 0 &&
	    wa_node_set_attr(&A, n, "id", "h-1") == 0);
	save("hello_result_error", n, 0, R_RESULT);

	wa_arena_free(&A);
	return 0;
}
#endif
