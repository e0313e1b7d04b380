/*
 * tests/check_pair.c: pairing a new companion (src/wa/pair*.c), both roles
 * in one process: our companion against our phone, every node going
 * through the binary codec (encode, decode) as it would on the wire.
 * Then the refusals: a wrong HMAC, a wrong account signature, a wrong
 * code, a ref that changed, and malformed or truncated input, each with
 * the companion's credentials left exactly as they were.
 */
#include <check.h>
#include <stdio.h>
#include <string.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include "wa/cert.h"
#include "wa/pair.h"
#include "wa/pair_int.h"   /* the crypto helpers, for known answers */
#include "wa.pb-c.h"

#define NOW 1800000000ULL
#define JID "15550001234:7@s.whatsapp.net"
#define LID "98765432109876:7@lid"
#define PHONE "15550001234"

static struct wa_creds C;        /* the companion */
static struct wa_keypair ACC;    /* the phone's account / identity key */
static struct wa_arena A;

static void
setup(void)
{
	ck_assert_int_eq(wa_creds_generate(&C), 0);
	ck_assert_int_eq(wa_keypair_generate(&ACC), 0);
	wa_arena_init(&A, 1 << 20);
}

static void
teardown(void)
{
	wa_arena_free(&A);
	wa_creds_wipe(&C);
}

/* What the peer receives: encode, decode (into the same arena). */
static struct wa_node *
wire(const struct wa_node *n)
{
	struct wa_buf b = { 0 };
	struct wa_node *out = NULL;

	ck_assert_ptr_nonnull(n);
	ck_assert_int_eq(wa_node_encode(n, &b), 0);
	ck_assert_int_eq(wa_node_decode(b.data, b.len, &A, &out), 0);
	wa_buf_free(&b);
	return out;
}

static void
spec_init(struct wa_pair_success_spec *s, const uint8_t adv[32])
{
	memset(s, 0, sizeof(*s));
	s->id = "ps-1";
	s->account = &ACC;
	memcpy(s->companion_identity_pub, C.identity.pub, 32);
	memcpy(s->adv_secret, adv, 32);
	s->device_jid = JID;
	s->lid = LID;
	s->platform = "android";
	s->key_index = 3;
	s->raw_id = 0x1234;
	s->timestamp = NOW;
}

static struct wa_node *
pair_success(const struct wa_pair_success_spec *s)
{
	struct wa_node *n = NULL;

	ck_assert_int_eq(wa_pair_success_build(&A, s, &n), 0);
	return wire(n);
}

/* The companion refuses with `want`, says why, and keeps its creds. */
static void
refused(const struct wa_node *iq, int want)
{
	struct wa_creds before;
	struct wa_node *reply = (struct wa_node *)1;
	char why[200] = "";

	memcpy(&before, &C, sizeof(C));
	ck_assert_int_eq(wa_pair_success_handle(iq, &C, &A, &reply, why,
	    sizeof(why)), want);
	ck_assert_ptr_null(reply);
	ck_assert(memcmp(&before, &C, sizeof(C)) == 0);
	ck_assert_msg(why[0] != '\0', "no reason given");
}

START_TEST(qr_text_round_trip)
{
	char qr[WA_PAIR_QR_MAX], small[64];
	struct wa_pair_qr q;
	int n, commas = 0;

	n = wa_pair_qr_text(&C, "2@abcDEF+/=", WA_PAIR_PLATFORM_CHROME, qr,
	    sizeof(qr));
	ck_assert_int_gt(n, 0);
	ck_assert_uint_eq((size_t)n, strlen(qr));
	ck_assert(strncmp(qr, WA_PAIR_QR_PREFIX,
	    strlen(WA_PAIR_QR_PREFIX)) == 0);
	for (const char *p = qr; *p; p++)
		commas += *p == ',';
	ck_assert_int_eq(commas, 4);
	ck_assert_str_eq(qr + n - 2, ",1");
	/* base64 of 32 bytes: 44 characters ending in one '=' */
	ck_assert_uint_eq(strlen(qr), strlen(WA_PAIR_QR_PREFIX) + 11 + 3 * 45 +
	    2);

	ck_assert_int_eq(wa_pair_qr_parse(qr, &q), 0);
	ck_assert_str_eq(q.ref, "2@abcDEF+/=");
	ck_assert(memcmp(q.noise_pub, C.noise.pub, 32) == 0);
	ck_assert(memcmp(q.identity_pub, C.identity.pub, 32) == 0);
	ck_assert(memcmp(q.adv_secret, C.adv_secret, 32) == 0);
	ck_assert_int_eq(q.platform, 1);

	/* the older form: no URL, no platform */
	ck_assert_int_eq(wa_pair_qr_parse(qr + strlen(WA_PAIR_QR_PREFIX), &q),
	    0);
	qr[n - 2] = '\0';
	ck_assert_int_eq(wa_pair_qr_parse(qr + strlen(WA_PAIR_QR_PREFIX), &q),
	    0);
	ck_assert_int_eq(q.platform, -1);
	ck_assert(memcmp(q.adv_secret, C.adv_secret, 32) == 0);

	ck_assert_int_eq(wa_pair_qr_text(&C, "2@x", 1, small, sizeof(small)),
	    WA_ETOOBIG);
	ck_assert_int_eq(wa_pair_qr_text(&C, "a,b", 1, qr, sizeof(qr)),
	    WA_EMALFORM);
	ck_assert_int_eq(wa_pair_qr_text(&C, "", 1, qr, sizeof(qr)),
	    WA_EMALFORM);
}
END_TEST

START_TEST(qr_parse_refuses_malformed)
{
	static const char *bad[] = {
		"",
		WA_PAIR_QR_PREFIX,
		"ref",
		"ref,AAAA,AAAA,AAAA",
		/* 43 characters without padding */
		"r,AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA,"
		"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=,"
		"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
		/* non-canonical last character (stray bits) */
		"r,AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAB=,"
		"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=,"
		"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
		/* a platform that is not a number, then too many fields */
		"r,AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=,"
		"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=,"
		"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=,x",
		"r,AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=,"
		"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=,"
		"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=,1,2",
		"r,AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=,"
		"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=,"
		"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=,",
	};
	static const char good[] =
		"r,AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=,"
		"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=,"
		"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=,7";
	struct wa_pair_qr q;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(wa_pair_qr_parse(bad[i], &q) == WA_EMALFORM,
		    "accepted bad QR %zu", i);
	ck_assert_int_eq(wa_pair_qr_parse(good, &q), 0);
	ck_assert_int_eq(q.platform, 7);
	ck_assert_int_eq(wa_pair_qr_parse(NULL, &q), WA_EMALFORM);
}
END_TEST

START_TEST(pair_device_refs_and_ack)
{
	struct wa_pair_device sent, got;
	struct wa_node *n, *ack, *big, *pd;
	char why[200];

	ck_assert_int_eq(wa_pair_device_build(&A, "pd-9", 5, &sent, &n), 0);
	ck_assert_uint_eq(sent.nrefs, 5);
	ck_assert(wa_pair_is_pair_device(n));
	ck_assert_int_eq(wa_pair_device_parse(wire(n), &got, why,
	    sizeof(why)), 0);
	ck_assert_str_eq(got.id, "pd-9");
	ck_assert_uint_eq(got.nrefs, 5);
	for (size_t i = 0; i < 5; i++) {
		ck_assert_str_eq(got.refs[i].s, sent.refs[i].s);
		ck_assert(strncmp(got.refs[i].s, "2@", 2) == 0);
	}
	ck_assert_str_ne(got.refs[0].s, got.refs[1].s);

	ack = wa_pair_device_ack(&A, got.id);
	ck_assert_ptr_nonnull(ack);
	ck_assert_str_eq(ack->tag, "iq");
	ck_assert_str_eq(wa_node_attr(ack, "to"), "s.whatsapp.net");
	ck_assert_str_eq(wa_node_attr(ack, "type"), "result");
	ck_assert_str_eq(wa_node_attr(ack, "id"), "pd-9");
	ck_assert_uint_eq(ack->nchildren, 0);

	/* a server sending more refs than we keep: the first 16 count */
	ck_assert_int_eq(wa_pair_device_build(&A, "x", 0, NULL, &n),
	    WA_EMALFORM);
	ck_assert_int_eq(wa_pair_device_build(&A, "x", WA_PAIR_MAX_REFS + 1,
	    NULL, &n), WA_EMALFORM);
	big = wa_node_new(&A, "iq");
	wa_node_set_attr(&A, big, "type", "set");
	wa_node_set_attr(&A, big, "id", "big");
	pd = wa_node_add_child(&A, big, "pair-device");
	for (int i = 0; i < 40; i++) {
		char r[16];
		snprintf(r, sizeof(r), "ref-%d", i);
		wa_node_set_bytes(&A, wa_node_add_child(&A, pd, "ref"),
		    (const uint8_t *)r, strlen(r));
	}
	ck_assert_int_eq(wa_pair_device_parse(wire(big), &got, why,
	    sizeof(why)), 0);
	ck_assert_uint_eq(got.nrefs, WA_PAIR_MAX_REFS);
	ck_assert_str_eq(got.refs[15].s, "ref-15");
}
END_TEST

START_TEST(qr_pairing_round_trip)
{
	struct wa_pair_success_spec s;
	struct wa_pair_qr q;
	struct wa_node *reply = NULL;
	Wa__ADVSignedDeviceIdentity *acc;
	char qr[WA_PAIR_QR_MAX], why[200] = "";
	uint32_t idx = 99;

	/* the phone scans the QR and learns our identity and adv secret */
	ck_assert_int_gt(wa_pair_qr_text(&C, "2@ref", WA_PAIR_PLATFORM_CHROME,
	    qr, sizeof(qr)), 0);
	ck_assert_int_eq(wa_pair_qr_parse(qr, &q), 0);
	spec_init(&s, q.adv_secret);
	memcpy(s.companion_identity_pub, q.identity_pub, 32);
	s.biz_name = "Acme Ltd";
	C.push_name[0] = '\0';

	ck_assert_msg(wa_pair_success_handle(pair_success(&s), &C, &A, &reply,
	    why, sizeof(why)) == 0, "%s", why);
	ck_assert_ptr_nonnull(reply);
	ck_assert_str_eq(wa_node_attr(reply, "to"), "s.whatsapp.net");
	ck_assert_str_eq(wa_node_attr(reply, "type"), "result");
	ck_assert_str_eq(wa_node_attr(reply, "id"), "ps-1");
	ck_assert_msg(wa_pair_sign_check(wire(reply), "ps-1", ACC.pub,
	    C.identity.pub, &idx, why, sizeof(why)) == 0, "%s", why);
	ck_assert_uint_eq(idx, 3);

	ck_assert_str_eq(C.me_jid, JID);
	ck_assert_str_eq(C.me_lid, LID);
	ck_assert_str_eq(C.platform, "android");
	ck_assert_str_eq(C.push_name, "Acme Ltd");
	/* creds.account keeps the account key, and our device signature */
	acc = wa__advsigned_device_identity__unpack(NULL, C.account_len,
	    C.account);
	ck_assert_ptr_nonnull(acc);
	ck_assert(acc->has_accountsignaturekey);
	ck_assert_uint_eq(acc->accountsignaturekey.len, 32);
	ck_assert(memcmp(acc->accountsignaturekey.data, ACC.pub, 32) == 0);
	ck_assert(acc->has_devicesignature);
	ck_assert_uint_eq(acc->devicesignature.len, 64);
	wa__advsigned_device_identity__free_unpacked(acc, NULL);
}
END_TEST

START_TEST(no_biz_keeps_push_name_and_lid_optional)
{
	struct wa_pair_success_spec s;
	struct wa_node *reply;
	char why[200] = "";

	snprintf(C.push_name, sizeof(C.push_name), "kept");
	spec_init(&s, C.adv_secret);
	s.lid = NULL;
	s.platform = NULL;
	ck_assert_msg(wa_pair_success_handle(pair_success(&s), &C, &A, &reply,
	    why, sizeof(why)) == 0, "%s", why);
	ck_assert_str_eq(C.push_name, "kept");
	ck_assert_str_eq(C.me_lid, "");
	ck_assert_str_eq(C.platform, "");
}
END_TEST

START_TEST(bad_hmac_refused_creds_untouched)
{
	struct wa_pair_success_spec s;

	spec_init(&s, C.adv_secret);
	s.fault = WA_PAIR_FAULT_HMAC;
	refused(pair_success(&s), WA_PAIR_EHMAC);
	/* the right HMAC under another adv secret: the same */
	spec_init(&s, C.adv_secret);
	s.adv_secret[0] ^= 1;
	refused(pair_success(&s), WA_PAIR_EHMAC);
}
END_TEST

START_TEST(bad_account_signature_refused_creds_untouched)
{
	struct wa_pair_success_spec s;
	struct wa_keypair other;

	spec_init(&s, C.adv_secret);
	s.fault = WA_PAIR_FAULT_ACCOUNT_SIG;
	refused(pair_success(&s), WA_PAIR_EACCOUNT);
	s.fault = WA_PAIR_FAULT_ACCOUNT_SIG_SHORT;
	refused(pair_success(&s), WA_EMALFORM);
	/* signed for another companion's identity */
	ck_assert_int_eq(wa_keypair_generate(&other), 0);
	spec_init(&s, C.adv_secret);
	memcpy(s.companion_identity_pub, other.pub, 32);
	refused(pair_success(&s), WA_PAIR_EACCOUNT);
}
END_TEST

/* Rewrites the device-identity of a built pair-success through fn. */
static struct wa_node *
mutate(const struct wa_pair_success_spec *s,
    void (*fn)(Wa__ADVSignedDeviceIdentityHMAC *))
{
	struct wa_node *n = pair_success(s);
	struct wa_node *ps = (struct wa_node *)wa_node_child(n, "pair-success");
	struct wa_node *di = (struct wa_node *)wa_node_child(ps,
	    "device-identity");
	Wa__ADVSignedDeviceIdentityHMAC *hm;
	uint8_t buf[2048];
	size_t len;

	hm = wa__advsigned_device_identity_hmac__unpack(NULL, di->len,
	    di->data);
	ck_assert_ptr_nonnull(hm);
	fn(hm);
	len = wa__advsigned_device_identity_hmac__pack(hm, buf);
	wa__advsigned_device_identity_hmac__free_unpacked(hm, NULL);
	ck_assert_int_eq(wa_node_set_bytes(&A, di, buf, len), 0);
	return wire(n);
}

static void
to_e2ee(Wa__ADVSignedDeviceIdentityHMAC *hm)
{
	hm->has_accounttype = 0;
	hm->accounttype = WA__ADVENCRYPTION_TYPE__E2EE;
}

static void
to_hosted(Wa__ADVSignedDeviceIdentityHMAC *hm)
{
	hm->has_accounttype = 1;
	hm->accounttype = WA__ADVENCRYPTION_TYPE__HOSTED;
}

START_TEST(hosted_account_prefixes)
{
	struct wa_pair_success_spec s;
	struct wa_node *reply;
	char why[200] = "";
	uint32_t idx;

	spec_init(&s, C.adv_secret);
	s.hosted = 1;
	ck_assert_msg(wa_pair_success_handle(pair_success(&s), &C, &A, &reply,
	    why, sizeof(why)) == 0, "%s", why);
	ck_assert_msg(wa_pair_sign_check(wire(reply), "ps-1", ACC.pub,
	    C.identity.pub, &idx, why, sizeof(why)) == 0, "%s", why);
	/* the 06 05 prefix is part of the HMAC: dropping the HOSTED mark
	 * (or adding it) makes the same bytes fail */
	refused(mutate(&s, to_e2ee), WA_PAIR_EHMAC);
	s.hosted = 0;
	refused(mutate(&s, to_hosted), WA_PAIR_EHMAC);
}
END_TEST

START_TEST(sign_check_refusals)
{
	struct wa_pair_success_spec s;
	struct wa_node *reply, *di;
	struct wa_keypair other;
	char why[200] = "";
	uint8_t copy[512];
	size_t len;

	spec_init(&s, C.adv_secret);
	ck_assert_int_eq(wa_pair_success_handle(pair_success(&s), &C, &A,
	    &reply, why, sizeof(why)), 0);
	reply = wire(reply);
	ck_assert_int_eq(wa_pair_sign_check(reply, "ps-1", ACC.pub,
	    C.identity.pub, NULL, why, sizeof(why)), 0);
	ck_assert_int_eq(wa_pair_sign_check(reply, "ps-2", ACC.pub,
	    C.identity.pub, NULL, why, sizeof(why)), WA_EPROTO);
	ck_assert_int_eq(wa_keypair_generate(&other), 0);
	ck_assert_int_eq(wa_pair_sign_check(reply, "ps-1", other.pub,
	    C.identity.pub, NULL, why, sizeof(why)), WA_PAIR_EACCOUNT);

	/* the device signature's last byte flipped */
	di = (struct wa_node *)wa_node_child(wa_node_child(reply,
	    "pair-device-sign"), "device-identity");
	len = di->len;
	ck_assert_uint_le(len, sizeof(copy));
	memcpy(copy, di->data, len);
	copy[len - 1] ^= 0x01;  /* deviceSignature is the last field */
	wa_node_set_bytes(&A, di, copy, len);
	ck_assert_int_eq(wa_pair_sign_check(reply, "ps-1", ACC.pub,
	    C.identity.pub, NULL, why, sizeof(why)), WA_PAIR_EDEVICE);

	/* the account key must not be sent back */
	{
		Wa__ADVSignedDeviceIdentity *sd;
		uint8_t buf[512];
		size_t n;

		copy[len - 1] ^= 0x01;
		sd = wa__advsigned_device_identity__unpack(NULL, len, copy);
		ck_assert_ptr_nonnull(sd);
		ck_assert(!sd->has_accountsignaturekey);
		sd->has_accountsignaturekey = 1;
		sd->accountsignaturekey.data = ACC.pub;
		sd->accountsignaturekey.len = 32;
		n = wa__advsigned_device_identity__pack(sd, buf);
		sd->has_accountsignaturekey = 0;
		sd->accountsignaturekey.data = NULL;
		wa__advsigned_device_identity__free_unpacked(sd, NULL);
		wa_node_set_bytes(&A, di, buf, n);
		ck_assert_int_eq(wa_pair_sign_check(reply, "ps-1", ACC.pub,
		    C.identity.pub, NULL, why, sizeof(why)), WA_EPROTO);
	}
	wa_node_set_attr(&A, di, "key-index", "4");
	ck_assert_int_eq(wa_pair_sign_check(reply, "ps-1", ACC.pub,
	    C.identity.pub, NULL, why, sizeof(why)), WA_EPROTO);
	wa_node_set_attr(&A, di, "key-index", "x");
	ck_assert_int_eq(wa_pair_sign_check(reply, "ps-1", ACC.pub,
	    C.identity.pub, NULL, why, sizeof(why)), WA_EMALFORM);
}
END_TEST

START_TEST(truncated_and_garbled_identity_refused)
{
	struct wa_pair_success_spec s;
	struct wa_pair_success ps;
	struct wa_creds before;
	struct wa_node *n, *reply;
	uint8_t full[2048], tmp[2048];
	size_t len;
	char why[200];
	int rc;

	spec_init(&s, C.adv_secret);
	n = pair_success(&s);
	ck_assert_int_eq(wa_pair_success_parse(n, &ps, why, sizeof(why)), 0);
	len = ps.identity_len;
	ck_assert_uint_le(len, sizeof(full));
	memcpy(full, ps.identity, len);
	memcpy(&before, &C, sizeof(C));
	for (size_t cut = 0; cut < len; cut++) {
		memcpy(tmp, full, cut);
		ps.identity = tmp;
		ps.identity_len = cut;
		rc = wa_pair_success_accept(&ps, &C, &A, &reply, why,
		    sizeof(why));
		ck_assert_msg(rc < 0, "accepted %zu of %zu bytes", cut, len);
		ck_assert(memcmp(&before, &C, sizeof(C)) == 0);
	}
	/* every single-bit change anywhere is refused too */
	for (size_t i = 0; i < len; i++) {
		memcpy(tmp, full, len);
		tmp[i] ^= (uint8_t)(1u << (i % 8));
		ps.identity = tmp;
		ps.identity_len = len;
		rc = wa_pair_success_accept(&ps, &C, &A, &reply, why,
		    sizeof(why));
		ck_assert_msg(rc < 0, "accepted a flip at byte %zu", i);
		ck_assert(memcmp(&before, &C, sizeof(C)) == 0);
	}
	/* and the intact bytes still work, so the loops tested something */
	ps.identity = full;
	ps.identity_len = len;
	ck_assert_int_eq(wa_pair_success_accept(&ps, &C, &A, &reply, why,
	    sizeof(why)), 0);
}
END_TEST

START_TEST(malformed_nodes_refused)
{
	struct wa_pair_device pd;
	struct wa_pair_success ps;
	struct wa_pair_code_notif nt;
	struct wa_pair_hello h;
	struct wa_pair_finish f;
	struct wa_node *n, *c;
	char why[200];
	char longid[100];

	/* not even the right tag */
	n = wa_node_new(&A, "message");
	ck_assert(!wa_pair_is_pair_device(n));
	ck_assert(!wa_pair_is_pair_success(n));
	ck_assert(!wa_pair_is_code_notif(n));
	ck_assert(!wa_pair_is_hello(n));
	ck_assert(!wa_pair_is_finish(n));
	ck_assert_int_eq(wa_pair_device_parse(n, &pd, why, sizeof(why)),
	    WA_EMALFORM);
	ck_assert_int_eq(wa_pair_success_parse(n, &ps, why, sizeof(why)),
	    WA_EMALFORM);
	ck_assert_int_eq(wa_pair_code_notif_parse(n, &nt, why, sizeof(why)),
	    WA_EMALFORM);
	ck_assert_int_eq(wa_pair_hello_parse(n, &h, why, sizeof(why)),
	    WA_EMALFORM);
	ck_assert_int_eq(wa_pair_finish_parse(n, &f, why, sizeof(why)),
	    WA_EMALFORM);
	ck_assert_int_eq(wa_pair_sign_check(n, "x", ACC.pub, C.identity.pub,
	    NULL, why, sizeof(why)), WA_EMALFORM);
	ck_assert_ptr_null(wa_pair_notif_ack(&A, n));  /* no id, no from */

	/* pair-device: no id, no refs, an empty ref, a ref with a comma,
	 * an id too long */
	n = wa_node_new(&A, "iq");
	wa_node_set_attr(&A, n, "type", "set");
	c = wa_node_add_child(&A, n, "pair-device");
	ck_assert_int_eq(wa_pair_device_parse(n, &pd, why, sizeof(why)),
	    WA_EMALFORM);
	wa_node_set_attr(&A, n, "id", "1");
	ck_assert_int_eq(wa_pair_device_parse(wire(n), &pd, why,
	    sizeof(why)), WA_EMALFORM);
	wa_node_set_bytes(&A, wa_node_add_child(&A, c, "ref"),
	    (const uint8_t *)"", 0);
	ck_assert_int_eq(wa_pair_device_parse(wire(n), &pd, why,
	    sizeof(why)), WA_EMALFORM);
	n = wa_node_new(&A, "iq");
	wa_node_set_attr(&A, n, "type", "set");
	wa_node_set_attr(&A, n, "id", "1");
	c = wa_node_add_child(&A, n, "pair-device");
	wa_node_set_bytes(&A, wa_node_add_child(&A, c, "ref"),
	    (const uint8_t *)"a,b", 3);
	ck_assert_int_eq(wa_pair_device_parse(wire(n), &pd, why,
	    sizeof(why)), WA_EMALFORM);
	memset(longid, '7', sizeof(longid) - 1);
	longid[sizeof(longid) - 1] = '\0';
	wa_node_set_attr(&A, n, "id", longid);
	ck_assert_int_eq(wa_pair_device_parse(n, &pd, why, sizeof(why)),
	    WA_ETOOBIG);

	/* pair-success without device, then without device-identity */
	n = wa_node_new(&A, "iq");
	wa_node_set_attr(&A, n, "id", "1");
	c = wa_node_add_child(&A, n, "pair-success");
	wa_node_set_bytes(&A, wa_node_add_child(&A, c, "device-identity"),
	    (const uint8_t *)"\x0a\x01", 2);
	ck_assert_int_eq(wa_pair_success_parse(wire(n), &ps, why,
	    sizeof(why)), WA_EMALFORM);
	n = wa_node_new(&A, "iq");
	wa_node_set_attr(&A, n, "id", "1");
	c = wa_node_add_child(&A, n, "pair-success");
	wa_node_set_attr(&A, wa_node_add_child(&A, c, "device"), "jid", JID);
	ck_assert_int_eq(wa_pair_success_parse(wire(n), &ps, why,
	    sizeof(why)), WA_EMALFORM);
	/* garbage protobuf */
	n = wa_node_new(&A, "iq");
	wa_node_set_attr(&A, n, "id", "1");
	c = wa_node_add_child(&A, n, "pair-success");
	wa_node_set_bytes(&A, wa_node_add_child(&A, c, "device-identity"),
	    (const uint8_t *)"\xff\xff\xff\xff", 4);
	c = &n->children[0];
	wa_node_set_attr(&A, wa_node_add_child(&A, c, "device"), "jid", JID);
	refused(wire(n), WA_EMALFORM);

	/* code notification with a short key */
	n = wa_node_new(&A, "notification");
	wa_node_set_attr(&A, n, "type", "link_code_companion_reg");
	wa_node_set_attr(&A, n, "id", "9");
	wa_node_set_attr(&A, n, "from", "s.whatsapp.net");
	c = wa_node_add_child(&A, n, "link_code_companion_reg");
	wa_node_set_bytes(&A, wa_node_add_child(&A, c,
	    "link_code_pairing_ref"), (const uint8_t *)"r", 1);
	wa_node_set_bytes(&A, wa_node_add_child(&A, c,
	    "primary_identity_pub"), C.noise.pub, 31);
	ck_assert_int_eq(wa_pair_code_notif_parse(wire(n), &nt, why,
	    sizeof(why)), WA_EMALFORM);
}
END_TEST

START_TEST(phone_numbers_and_codes)
{
	static const char *bad_phones[] = { "", "12345", "1234567890123456",
	    "+15550001234", "1555 0001234", "05550001234", "1555000123a" };
	static const char *good_phones[] = { "123456", "15550001234",
	    "123456789012345" };
	struct wa_pair_code pc;
	char why[200];
	int seen[256] = { 0 };

	for (size_t i = 0; i < sizeof(bad_phones) / sizeof(*bad_phones); i++) {
		why[0] = '\0';
		ck_assert_msg(wa_pair_code_start(&pc, bad_phones[i], NULL, why,
		    sizeof(why)) == WA_PAIR_EPHONE, "took %s", bad_phones[i]);
		ck_assert(why[0] != '\0');
	}
	ck_assert_int_eq(wa_pair_phone_check(NULL, why, sizeof(why)),
	    WA_PAIR_EPHONE);
	for (size_t i = 0; i < sizeof(good_phones) / sizeof(*good_phones); i++)
		ck_assert_int_eq(wa_pair_phone_check(good_phones[i], why,
		    sizeof(why)), 0);

	/* 400 codes: 8 characters, all from the alphabet, and every one of
	 * its 32 characters turns up (3200 draws; a missing one would take
	 * a bias or a bug) */
	for (int i = 0; i < 400; i++) {
		ck_assert_int_eq(wa_pair_code_start(&pc, PHONE, NULL, why,
		    sizeof(why)), 0);
		ck_assert_uint_eq(strlen(pc.code), WA_PAIR_CODE_LEN);
		ck_assert_int_eq(wa_pair_code_check(pc.code), 0);
		for (int j = 0; j < WA_PAIR_CODE_LEN; j++)
			seen[(unsigned char)pc.code[j]]++;
	}
	for (const char *p = WA_PAIR_CODE_ALPHABET; *p; p++)
		ck_assert_msg(seen[(unsigned char)*p] > 0, "never saw %c", *p);
	for (int ch = 0; ch < 256; ch++)
		if (ch == 0 || strchr(WA_PAIR_CODE_ALPHABET, ch) == NULL)
			ck_assert_int_eq(seen[ch], 0);
	ck_assert_str_eq(pc.jid, PHONE "@s.whatsapp.net");

	ck_assert_int_eq(wa_pair_code_start(&pc, PHONE, "ABCD2345", why,
	    sizeof(why)), 0);
	ck_assert_str_eq(pc.code, "ABCD2345");
	ck_assert_int_eq(wa_pair_code_start(&pc, PHONE, "ABCD0345", why,
	    sizeof(why)), WA_PAIR_ECODE);   /* 0 is not in the alphabet */
	ck_assert_int_eq(wa_pair_code_start(&pc, PHONE, "abcd2345", why,
	    sizeof(why)), WA_PAIR_ECODE);
	ck_assert_int_eq(wa_pair_code_start(&pc, PHONE, "ABCD234", why,
	    sizeof(why)), WA_PAIR_ECODE);
	ck_assert_int_eq(wa_pair_code_check("ABCDEFGHU"), WA_PAIR_ECODE);
	ck_assert_int_eq(wa_pair_code_check("UUUUUUUU"), WA_PAIR_ECODE);
	wa_pair_code_wipe(&pc);
}
END_TEST

/* The code flow up to the phone opening companion_finish. */
struct code_run {
	struct wa_pair_code pc;
	struct wa_pair_primary st;
	struct wa_pair_finish f;
	uint8_t adv[32];
	int open_rc;
};

static void
code_flow(struct code_run *r, const char *phone_code, const char *hello_ref,
    const char *notif_ref, int *finish_rc)
{
	struct wa_pair_hello h;
	struct wa_pair_code_notif nt;
	struct wa_node *n, *ack;
	char why[200] = "";

	memset(r, 0, sizeof(*r));
	ck_assert_int_eq(wa_pair_code_start(&r->pc, PHONE, NULL, why,
	    sizeof(why)), 0);
	ck_assert_int_eq(wa_pair_hello_build(&A, "h-1", &r->pc, &C,
	    WA_PAIR_PLATFORM_CHROME, NULL, 1, &n), 0);
	n = wire(n);
	ck_assert(wa_pair_is_hello(n));
	ck_assert_str_eq(wa_node_attr(n, "xmlns"), "md");
	ck_assert_str_eq(wa_node_attr(n, "to"), "s.whatsapp.net");

	/* the phone (with the server in between) */
	ck_assert_msg(wa_pair_hello_parse(n, &h, why, sizeof(why)) == 0, "%s",
	    why);
	ck_assert_str_eq(h.id, "h-1");
	ck_assert_str_eq(h.jid, PHONE "@s.whatsapp.net");
	ck_assert(memcmp(h.noise_pub, C.noise.pub, 32) == 0);
	ck_assert_str_eq(h.platform_id, "1");
	ck_assert_str_eq(h.platform_display, "Chrome (Linux)");
	ck_assert_int_eq(h.show_push_notification, 1);
	ck_assert_int_eq(wa_pair_primary_start(&r->st, &h,
	    phone_code ? phone_code : r->pc.code, notif_ref), 0);
	if (phone_code == NULL)
		ck_assert(memcmp(r->st.companion_ephemeral_pub,
		    r->pc.ephemeral.pub, 32) == 0);

	n = wa_pair_hello_result_build(&A, h.id, NULL, hello_ref);
	ck_assert_msg(wa_pair_hello_result_parse(wire(n), &r->pc, why,
	    sizeof(why)) == 0, "%s", why);
	ck_assert_str_eq(r->pc.ref.s, hello_ref);

	ck_assert_int_eq(wa_pair_code_notif_build(&A, "n-1", &r->st, ACC.pub,
	    &n), 0);
	n = wire(n);
	ck_assert(wa_pair_is_code_notif(n));
	ck_assert_msg(wa_pair_code_notif_parse(n, &nt, why, sizeof(why)) == 0,
	    "%s", why);
	ck_assert(memcmp(nt.primary_identity_pub, ACC.pub, 32) == 0);
	ack = wa_pair_notif_ack(&A, n);
	ck_assert_ptr_nonnull(ack);
	ck_assert_str_eq(ack->tag, "ack");
	ck_assert_str_eq(wa_node_attr(ack, "id"), "n-1");
	ck_assert_str_eq(wa_node_attr(ack, "to"), "s.whatsapp.net");
	ck_assert_str_eq(wa_node_attr(ack, "class"), "notification");
	ck_assert_str_eq(wa_node_attr(ack, "type"), "link_code_companion_reg");

	*finish_rc = wa_pair_finish_build(&A, "f-1", &r->pc, &nt, &C, &n, why,
	    sizeof(why));
	if (*finish_rc < 0)
		return;
	n = wire(n);
	ck_assert(wa_pair_is_finish(n));
	ck_assert_msg(wa_pair_finish_parse(n, &r->f, why, sizeof(why)) == 0,
	    "%s", why);
	ck_assert(memcmp(r->f.companion_identity_pub, C.identity.pub, 32) == 0);
	r->open_rc = wa_pair_finish_open(&r->f, &r->st, &ACC, r->adv, why,
	    sizeof(why));
}

START_TEST(code_pairing_round_trip)
{
	struct code_run r;
	struct wa_pair_success_spec s;
	struct wa_node *reply;
	uint8_t old_adv[32];
	char why[200] = "";
	int frc;

	memcpy(old_adv, C.adv_secret, 32);
	code_flow(&r, NULL, "2@linkref", "2@linkref", &frc);
	ck_assert_int_eq(frc, 0);
	ck_assert_int_eq(r.open_rc, 0);
	/* both derived the same new adv secret */
	ck_assert(memcmp(r.adv, C.adv_secret, 32) == 0);
	ck_assert(memcmp(old_adv, C.adv_secret, 32) != 0);

	/* and the phone's pair-success under it is accepted */
	spec_init(&s, r.adv);
	ck_assert_msg(wa_pair_success_handle(pair_success(&s), &C, &A, &reply,
	    why, sizeof(why)) == 0, "%s", why);
	ck_assert_int_eq(wa_pair_sign_check(wire(reply), "ps-1", ACC.pub,
	    C.identity.pub, NULL, why, sizeof(why)), 0);
	ck_assert_str_eq(C.me_jid, JID);

	/* the bundle is bound to the phone's identity: another one refuses */
	{
		struct wa_keypair other = ACC;
		uint8_t adv[32];

		other.pub[0] ^= 1;
		ck_assert_int_eq(wa_pair_finish_open(&r.f, &r.st, &other, adv,
		    why, sizeof(why)), WA_PAIR_EIDENT);
	}
	wa_pair_code_wipe(&r.pc);
	wa_pair_primary_wipe(&r.st);
}
END_TEST

START_TEST(wrong_code_refused_by_phone)
{
	struct code_run r;
	uint8_t adv_before[32];
	int frc;

	code_flow(&r, "ZZZZ9999", "2@linkref", "2@linkref", &frc);
	/* the companion cannot tell (CTR has no tag) and sends finish */
	ck_assert_int_eq(frc, 0);
	memcpy(adv_before, r.adv, 32);
	ck_assert_int_eq(r.open_rc, WA_PAIR_ECODE);
	ck_assert(memcmp(adv_before, r.adv, 32) == 0);
}
END_TEST

START_TEST(ref_mismatch_refused)
{
	struct code_run r;
	uint8_t adv[32];
	char why[200];
	int frc;

	memcpy(adv, C.adv_secret, 32);
	code_flow(&r, NULL, "2@hello-ref", "2@other-ref", &frc);
	ck_assert_int_eq(frc, WA_PAIR_EREF);
	ck_assert(memcmp(adv, C.adv_secret, 32) == 0);  /* untouched */
	/* the phone checks its side too */
	code_flow(&r, NULL, "2@same", "2@same", &frc);
	ck_assert_int_eq(r.open_rc, 0);
	r.f.ref.s[2] = 'X';
	ck_assert_int_eq(wa_pair_finish_open(&r.f, &r.st, &ACC, adv, why,
	    sizeof(why)), WA_PAIR_EREF);
}
END_TEST

START_TEST(code_wrap_round_trip)
{
	uint8_t w[WA_PAIR_WRAPPED_LEN], w2[WA_PAIR_WRAPPED_LEN], pub[32];

	ck_assert_int_eq(wa_pair_code_wrap("ABCD2345", C.noise.pub, w), 0);
	ck_assert_int_eq(wa_pair_code_wrap("ABCD2345", C.noise.pub, w2), 0);
	ck_assert(memcmp(w, w2, sizeof(w)) != 0);      /* fresh salt and iv */
	ck_assert_int_eq(wa_pair_code_unwrap("ABCD2345", w, pub), 0);
	ck_assert(memcmp(pub, C.noise.pub, 32) == 0);
	ck_assert_int_eq(wa_pair_code_unwrap("ABCD2346", w, pub), 0);
	ck_assert(memcmp(pub, C.noise.pub, 32) != 0);
	ck_assert_str_eq(wa_pair_strerror(WA_PAIR_EHMAC),
	    "device identity HMAC does not match the adv secret");
	ck_assert_str_eq(wa_pair_strerror(WA_EMALFORM), "malformed input");
}
END_TEST

static void
unhex(const char *h, uint8_t *out, size_t n)
{
	ck_assert_uint_eq(strlen(h), 2 * n);
	for (size_t i = 0; i < n; i++) {
		unsigned v;
		ck_assert_int_eq(sscanf(h + 2 * i, "%2x", &v), 1);
		out[i] = (uint8_t)v;
	}
}

static void
seq(uint8_t *p, uint8_t start, size_t n)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)(start + i);
}

/* Known answers computed with stock Baileys 7.0.0-rc14's own functions
 * (Utils/generics.js bytesToCrockford; Utils/crypto.js
 * derivePairingCodeKey, aesEncryptCTR, hkdf, aesEncryptGCM) on the inputs
 * below: both of our sides share these helpers, so only an outside answer
 * catches a mistake they would make together. */
START_TEST(baileys_known_answers)
{
	static const struct { uint8_t b[5]; const char *code; } crock[] = {
		{ { 0, 0, 0, 0, 0 }, "11111111" },
		{ { 0xff, 0xff, 0xff, 0xff, 0xff }, "ZZZZZZZZ" },
		{ { 0x01, 0x23, 0x45, 0x67, 0x89 }, "15JMBSWA" },
		{ { 0xde, 0xad, 0xbe, 0xef, 0x42 }, "VTPVXVT3" },
	};
	uint8_t salt[32], pub[32], got[32], want[32], wrapped[80], ikm[96];
	uint8_t gcm[112], gcm_want[112], plain[96], key[32], iv[12];
	char code[WA_PAIR_CODE_LEN + 1];

	for (size_t i = 0; i < sizeof(crock) / sizeof(crock[0]); i++) {
		wa_pair_code_from_bytes(crock[i].b, code);
		ck_assert_str_eq(code, crock[i].code);
	}
	/* PBKDF2 of the code; the wrapped key unwraps to 40 41 .. 5f */
	seq(salt, 0, 32);
	ck_assert_int_eq(pair_pbkdf2("ABCD2345", salt, got), 0);
	unhex("fc9c4bfd83a71c63199e5871fd4ace6dfa302c1461a4596c3493f616f21756d1",
	    want, 32);
	ck_assert(memcmp(got, want, 32) == 0);
	unhex("000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
	    "202122232425262728292a2b2c2d2e2f"
	    "ad416d44a9de581364da0d30911ed0f75ed6822ac02d9155c16d3631a2f403c0",
	    wrapped, 80);
	ck_assert_int_eq(wa_pair_code_unwrap("ABCD2345", wrapped, got), 0);
	seq(pub, 0x40, 32);
	ck_assert(memcmp(got, pub, 32) == 0);
	/* the bundle key: HKDF(60..7f, salt 80..9f, info ...) */
	seq(ikm, 0x60, 32);
	seq(salt, 0x80, 32);
	ck_assert_int_eq(pair_hkdf(ikm, 32, salt, 32,
	    "link_code_pairing_key_bundle_encryption_key", got), 0);
	unhex("59993d4ec9f63ef93ac9dc25909b8fdc41e1fd11949fb7df4d3840e69a1894e8",
	    want, 32);
	ck_assert(memcmp(got, want, 32) == 0);
	/* the adv secret: HKDF(a0..ff, no salt, info adv_secret) */
	seq(ikm, 0xa0, 96);
	ck_assert_int_eq(pair_hkdf(ikm, 96, NULL, 0, "adv_secret", got), 0);
	unhex("25a75bb1e1a7eef48e2e5d64218afb6dd9b8696b1e5dbf78e377f0d81b30fc76",
	    want, 32);
	ck_assert(memcmp(got, want, 32) == 0);
	/* AES-256-GCM, empty AAD, tag after the ciphertext */
	seq(plain, 0, 96);
	seq(key, 0x10, 32);
	seq(iv, 0x30, 12);
	ck_assert_int_eq(pair_gcm_seal(key, iv, plain, 96, gcm), 0);
	unhex("9611278af43890511c2fe254293796157d5ff08fa2615644c4a91dc08520f2e3"
	    "8c865170f58adcfac371731c3de49752bb322ed881385f980cb2d56940a3b1b1"
	    "086dc4ab3c74a283a5dcf0eabafc5ff8a7e054a49250439ae8bf8297fe2a16ea"
	    "3dbdbba10eadc043957faea86c6635af", gcm_want, 112);
	ck_assert(memcmp(gcm, gcm_want, 112) == 0);
	ck_assert_int_eq(pair_gcm_open(key, iv, gcm, 112, plain), 0);
	gcm[5] ^= 1;
	ck_assert_int_eq(pair_gcm_open(key, iv, gcm, 112, plain), WA_ECRYPTO);
}
END_TEST

/* The signed bytes, checked here with wa_xeddsa_verify and OpenSSL's
 * HMAC on layouts written out from Baileys' configureSuccessfulPairing,
 * not through the pair code's own helpers. */
static void
check_layout(int hosted)
{
	struct wa_pair_success_spec s;
	struct wa_pair_success ps;
	struct wa_node *reply;
	Wa__ADVSignedDeviceIdentityHMAC *hm;
	Wa__ADVSignedDeviceIdentity *sd, *acc;
	uint8_t msg[1024], mac[32];
	unsigned maclen = 0;
	size_t n, dl;
	char why[200] = "";

	spec_init(&s, C.adv_secret);
	s.hosted = hosted;
	ck_assert_int_eq(wa_pair_success_parse(pair_success(&s), &ps, why,
	    sizeof(why)), 0);
	hm = wa__advsigned_device_identity_hmac__unpack(NULL,
	    ps.identity_len, ps.identity);
	ck_assert_ptr_nonnull(hm);
	ck_assert_int_eq(hm->has_accounttype && hm->accounttype ==
	    WA__ADVENCRYPTION_TYPE__HOSTED, hosted);
	n = 0;
	if (hosted) {
		msg[n++] = 6;
		msg[n++] = 5;
	}
	memcpy(msg + n, hm->details.data, hm->details.len);
	n += hm->details.len;
	ck_assert_ptr_nonnull(HMAC(EVP_sha256(), C.adv_secret, 32, msg, n,
	    mac, &maclen));
	ck_assert_uint_eq(hm->hmac.len, 32);
	ck_assert(memcmp(mac, hm->hmac.data, 32) == 0);
	sd = wa__advsigned_device_identity__unpack(NULL, hm->details.len,
	    hm->details.data);
	ck_assert_ptr_nonnull(sd);
	dl = sd->details.len;
	msg[0] = 6;
	msg[1] = hosted ? 5 : 0;
	memcpy(msg + 2, sd->details.data, dl);
	memcpy(msg + 2 + dl, C.identity.pub, 32);
	ck_assert_int_eq(wa_xeddsa_verify(ACC.pub, msg, 2 + dl + 32,
	    sd->accountsignature.data), 0);
	msg[1] = hosted ? 0 : 5;
	ck_assert_int_ne(wa_xeddsa_verify(ACC.pub, msg, 2 + dl + 32,
	    sd->accountsignature.data), 0);

	/* the companion's device signature: 06 01 || details || identity
	 * || account key (06 01 for hosted too, as Baileys) */
	ck_assert_int_eq(wa_pair_success_accept(&ps, &C, &A, &reply, why,
	    sizeof(why)), 0);
	acc = wa__advsigned_device_identity__unpack(NULL, C.account_len,
	    C.account);
	ck_assert_ptr_nonnull(acc);
	ck_assert_uint_eq(acc->details.len, dl);
	ck_assert(memcmp(acc->details.data, sd->details.data, dl) == 0);
	msg[0] = 6;
	msg[1] = 1;
	memcpy(msg + 2 + dl + 32, ACC.pub, 32);
	ck_assert_int_eq(wa_xeddsa_verify(C.identity.pub, msg, 2 + dl + 64,
	    acc->devicesignature.data), 0);
	wa__advsigned_device_identity__free_unpacked(acc, NULL);
	wa__advsigned_device_identity__free_unpacked(sd, NULL);
	wa__advsigned_device_identity_hmac__free_unpacked(hm, NULL);
}

START_TEST(signed_bytes_layout)
{
	check_layout(0);
	check_layout(1);
}
END_TEST

/* Every parser on every stanza with one byte changed, as far as the
 * codec still decodes it: errors or (rarely) success, never a crash
 * (the ASan build runs this too). */
static void
all_parsers(const struct wa_node *n)
{
	struct wa_pair_device pd;
	struct wa_pair_success ps;
	struct wa_pair_code_notif nt;
	struct wa_pair_hello h;
	struct wa_pair_finish f;
	struct wa_pair_code pc;
	struct wa_creds copy;
	struct wa_node *reply;
	char why[200];

	(void)wa_pair_device_parse(n, &pd, why, sizeof(why));
	if (wa_pair_success_parse(n, &ps, why, sizeof(why)) == 0) {
		memcpy(&copy, &C, sizeof(C));
		(void)wa_pair_success_accept(&ps, &copy, &A, &reply, why,
		    sizeof(why));
	}
	(void)wa_pair_code_notif_parse(n, &nt, why, sizeof(why));
	(void)wa_pair_notif_ack(&A, n);
	(void)wa_pair_hello_parse(n, &h, why, sizeof(why));
	(void)wa_pair_finish_parse(n, &f, why, sizeof(why));
	memset(&pc, 0, sizeof(pc));
	(void)wa_pair_hello_result_parse(n, &pc, why, sizeof(why));
	(void)wa_pair_sign_check(n, "ps-1", ACC.pub, C.identity.pub, NULL,
	    why, sizeof(why));
}

START_TEST(garbled_stanzas_never_crash)
{
	struct wa_pair_success_spec s;
	struct wa_pair_code pc;
	struct wa_pair_primary st;
	struct wa_pair_hello h;
	struct wa_node *nodes[6], *reply, *got;
	struct wa_arena tmp;
	char why[200];
	size_t accepted = 0;

	spec_init(&s, C.adv_secret);
	s.biz_name = "B";
	nodes[0] = pair_success(&s);
	ck_assert_int_eq(wa_pair_success_handle(nodes[0], &C, &A, &reply, why,
	    sizeof(why)), 0);
	nodes[1] = reply;
	ck_assert_int_eq(wa_pair_device_build(&A, "d", 3, NULL, &nodes[2]), 0);
	ck_assert_int_eq(wa_pair_code_start(&pc, PHONE, "ABCD2345", why,
	    sizeof(why)), 0);
	ck_assert_int_eq(wa_pair_hello_build(&A, "h", &pc, &C, 1, NULL, 1,
	    &nodes[3]), 0);
	ck_assert_int_eq(wa_pair_hello_parse(nodes[3], &h, why, sizeof(why)),
	    0);
	ck_assert_int_eq(wa_pair_primary_start(&st, &h, "ABCD2345", "2@r"), 0);
	ck_assert_int_eq(wa_pair_code_notif_build(&A, "n", &st, ACC.pub,
	    &nodes[4]), 0);
	nodes[5] = wa_pair_hello_result_build(&A, "h", NULL, "2@r");
	ck_assert_ptr_nonnull(nodes[5]);

	wa_arena_init(&tmp, 1 << 20);
	for (size_t k = 0; k < 6; k++) {
		struct wa_buf b = { 0 };

		ck_assert_int_eq(wa_node_encode(nodes[k], &b), 0);
		for (size_t i = 0; i < b.len; i++) {
			for (int bit = 0; bit < 8; bit += 3) {
				b.data[i] ^= (uint8_t)(1u << bit);
				wa_arena_reset(&tmp);
				if (wa_node_decode(b.data, b.len, &tmp,
				    &got) == 0) {
					all_parsers(got);
					accepted++;
				}
				b.data[i] ^= (uint8_t)(1u << bit);
			}
			/* and every truncation */
			wa_arena_reset(&tmp);
			if (wa_node_decode(b.data, i, &tmp, &got) == 0)
				all_parsers(got);
		}
		wa_buf_free(&b);
	}
	wa_arena_free(&tmp);
	ck_assert_uint_gt(accepted, 100);   /* the parsers did get input */
	wa_pair_code_wipe(&pc);
	wa_pair_primary_wipe(&st);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("pair");
	TCase *tc = tcase_create("wa");
	SRunner *sr;
	int failed;

	tcase_add_checked_fixture(tc, setup, teardown);
	/* PBKDF2 at 131072 rounds runs four times per code flow */
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, qr_text_round_trip);
	tcase_add_test(tc, qr_parse_refuses_malformed);
	tcase_add_test(tc, pair_device_refs_and_ack);
	tcase_add_test(tc, qr_pairing_round_trip);
	tcase_add_test(tc, no_biz_keeps_push_name_and_lid_optional);
	tcase_add_test(tc, bad_hmac_refused_creds_untouched);
	tcase_add_test(tc, bad_account_signature_refused_creds_untouched);
	tcase_add_test(tc, hosted_account_prefixes);
	tcase_add_test(tc, sign_check_refusals);
	tcase_add_test(tc, truncated_and_garbled_identity_refused);
	tcase_add_test(tc, malformed_nodes_refused);
	tcase_add_test(tc, phone_numbers_and_codes);
	tcase_add_test(tc, code_pairing_round_trip);
	tcase_add_test(tc, wrong_code_refused_by_phone);
	tcase_add_test(tc, ref_mismatch_refused);
	tcase_add_test(tc, code_wrap_round_trip);
	tcase_add_test(tc, baileys_known_answers);
	tcase_add_test(tc, signed_bytes_layout);
	tcase_add_test(tc, garbled_stanzas_never_crash);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
