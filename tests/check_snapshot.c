/*
 * tests/check_snapshot.c: session snapshots (src/store/snapshot.c).
 *  - round trips, plain and encrypted, with every field set, with the
 *    optional ones empty, and at the size limits;
 *  - damage: every byte flipped (two ways), every truncation, extra bytes,
 *    wrong magic, a newer or unknown format version, unknown flags, and a
 *    sound blob whose payload is unusable;
 *  - secrets: wrong, missing, empty, and a secret given for a plain blob
 *    (reads, so SESSION_SECRET can be turned on later; the next save is
 *    encrypted); the header is authenticated;
 *  - the key derivation is the documented one (checked through another
 *    OpenSSL API), and version-1 blobs keep reading (a frozen blob).
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/sha.h>
#include "session.pb-c.h"
#include "store/snapshot.h"

#define SECRET "correct horse battery staple"

/* Deterministic filler: the same seed gives the same snapshot. */
static uint32_t
next(uint32_t *st)
{
	*st = *st * 1103515245u + 12345u;
	return *st >> 8;
}

static void
fill(void *p, size_t n, uint32_t *st)
{
	for (size_t i = 0; i < n; i++)
		((uint8_t *)p)[i] = (uint8_t)next(st);
}

static void
make_snap(struct store_snap *s, uint64_t gen, size_t nprekeys, uint32_t seed)
{
	struct wa_creds *c = &s->creds;

	memset(s, 0, sizeof(*s));
	snprintf(s->session_id, sizeof(s->session_id), "bot-%u", seed);
	s->generation = gen;
	s->saved_ms = 1700000000000 + seed;
	fill(&c->noise, sizeof(c->noise), &seed);
	fill(&c->identity, sizeof(c->identity), &seed);
	fill(&c->signed_prekey, sizeof(c->signed_prekey), &seed);
	c->signed_prekey_id = next(&seed);
	fill(c->signed_prekey_sig, sizeof(c->signed_prekey_sig), &seed);
	c->registration_id = next(&seed) & 0x3fff;
	fill(c->adv_secret, sizeof(c->adv_secret), &seed);
	snprintf(c->me_jid, sizeof(c->me_jid), "1555%07u:2@s.whatsapp.net",
	    next(&seed) % 10000000);
	snprintf(c->me_lid, sizeof(c->me_lid), "%u:2@lid", next(&seed));
	snprintf(c->push_name, sizeof(c->push_name), "Sky Keeper \xe2\x98\x81");
	snprintf(c->platform, sizeof(c->platform), "smba");
	c->account_len = 100 + next(&seed) % 200;
	fill(c->account, c->account_len, &seed);
	c->routing_len = 8 + next(&seed) % 20;
	fill(c->routing, c->routing_len, &seed);
	c->next_prekey_id = (uint32_t)nprekeys + 1;
	c->first_unuploaded_prekey_id = (uint32_t)nprekeys + 1;
	if (nprekeys > 0) {
		s->prekeys = calloc(nprekeys, sizeof(*s->prekeys));
		ck_assert_ptr_nonnull(s->prekeys);
		s->n_prekeys = nprekeys;
		for (size_t i = 0; i < nprekeys; i++) {
			s->prekeys[i].id = (uint32_t)i + 1;
			fill(&s->prekeys[i].pair, sizeof(s->prekeys[i].pair), &seed);
		}
	}
	snprintf(s->meta.last_state, sizeof(s->meta.last_state), "open");
	s->meta.last_open_ms = 1700000000000 - seed;
	s->meta.consecutive_failures = seed % 7;
	s->meta.last_disconnect = 428;
	snprintf(s->meta.last_disconnect_text,
	    sizeof(s->meta.last_disconnect_text), "Connection Closed");
	s->meta.logged_out = (int)(seed & 1);
}

static void
assert_same(const struct store_snap *a, const struct store_snap *b)
{
	const struct wa_creds *x = &a->creds, *y = &b->creds;

	ck_assert_str_eq(a->session_id, b->session_id);
	ck_assert_uint_eq(a->generation, b->generation);
	ck_assert_int_eq(a->saved_ms, b->saved_ms);
	ck_assert(memcmp(&x->noise, &y->noise, sizeof(x->noise)) == 0);
	ck_assert(memcmp(&x->identity, &y->identity, sizeof(x->identity)) == 0);
	ck_assert(memcmp(&x->signed_prekey, &y->signed_prekey,
	    sizeof(x->signed_prekey)) == 0);
	ck_assert_uint_eq(x->signed_prekey_id, y->signed_prekey_id);
	ck_assert(memcmp(x->signed_prekey_sig, y->signed_prekey_sig, 64) == 0);
	ck_assert_uint_eq(x->registration_id, y->registration_id);
	ck_assert(memcmp(x->adv_secret, y->adv_secret, 32) == 0);
	ck_assert_str_eq(x->me_jid, y->me_jid);
	ck_assert_str_eq(x->me_lid, y->me_lid);
	ck_assert_str_eq(x->push_name, y->push_name);
	ck_assert_str_eq(x->platform, y->platform);
	ck_assert_uint_eq(x->account_len, y->account_len);
	ck_assert(memcmp(x->account, y->account, x->account_len) == 0);
	ck_assert_uint_eq(x->routing_len, y->routing_len);
	ck_assert(memcmp(x->routing, y->routing, x->routing_len) == 0);
	ck_assert_uint_eq(x->next_prekey_id, y->next_prekey_id);
	ck_assert_uint_eq(x->first_unuploaded_prekey_id,
	    y->first_unuploaded_prekey_id);
	ck_assert_uint_eq(a->n_prekeys, b->n_prekeys);
	for (size_t i = 0; i < a->n_prekeys; i++) {
		ck_assert_uint_eq(a->prekeys[i].id, b->prekeys[i].id);
		ck_assert(memcmp(&a->prekeys[i].pair, &b->prekeys[i].pair,
		    sizeof(a->prekeys[i].pair)) == 0);
	}
	ck_assert_str_eq(a->meta.last_state, b->meta.last_state);
	ck_assert_int_eq(a->meta.last_open_ms, b->meta.last_open_ms);
	ck_assert_uint_eq(a->meta.consecutive_failures,
	    b->meta.consecutive_failures);
	ck_assert_int_eq(a->meta.last_disconnect, b->meta.last_disconnect);
	ck_assert_str_eq(a->meta.last_disconnect_text,
	    b->meta.last_disconnect_text);
	ck_assert_int_eq(a->meta.logged_out, b->meta.logged_out);
}

static void
encode_ok(const struct store_snap *s, const char *secret, uint8_t **b,
    size_t *n)
{
	char why[200] = "";

	ck_assert_msg(store_snap_encode(s, secret, b, n, why, sizeof(why)) == 0,
	    "encode: %s", why);
}

static int
contains(const uint8_t *hay, size_t n, const uint8_t *needle, size_t m)
{
	for (size_t i = 0; i + m <= n; i++)
		if (memcmp(hay + i, needle, m) == 0)
			return 1;
	return 0;
}

/* After a header edit: a checksum that holds again. */
static void
reseal(uint8_t *b, size_t n)
{
	SHA256(b, n - 32, b + n - 32);
}

/* A sound blob around any payload bytes (plain). */
static uint8_t *
wrap(const uint8_t *payload, size_t pn, uint64_t gen, size_t *n)
{
	uint8_t *b;

	*n = 24 + pn + 32;
	b = malloc(*n);
	ck_assert_ptr_nonnull(b);
	memcpy(b, "SKSNAP\0\1", 8);
	for (int i = 0; i < 8; i++)
		b[8 + i] = (uint8_t)(gen >> (56 - 8 * i));
	memset(b + 16, 0, 4);
	for (int i = 0; i < 4; i++)
		b[20 + i] = (uint8_t)(pn >> (24 - 8 * i));
	if (pn > 0)
		memcpy(b + 24, payload, pn);
	reseal(b, *n);
	return b;
}

/* --- round trips ----------------------------------------------------- */

START_TEST(round_trip)
{
	/* _i: 0 plain, 1 encrypted */
	const char *secret = _i ? SECRET : NULL;
	struct store_snap in, out;
	struct store_snap_hdr h;
	uint8_t *b;
	size_t n;
	char why[200] = "";

	make_snap(&in, 77, 120, 5);
	encode_ok(&in, secret, &b, &n);
	ck_assert_int_eq(store_snap_decode(b, n, secret, &out, &h, why,
	    sizeof(why)), 0);
	assert_same(&in, &out);
	ck_assert_uint_eq(h.version, STORE_SNAP_VERSION);
	ck_assert_uint_eq(h.generation, 77);
	ck_assert_uint_eq(h.flags, _i ? STORE_SNAP_F_ENCRYPTED : 0);
	ck_assert_uint_eq(h.payload_len, n - 24 - 32);
	/* plaintext keys are in a plain blob and nowhere in an encrypted one */
	ck_assert_int_eq(contains(b, n, in.creds.noise.priv, 32), !_i);
	ck_assert_int_eq(contains(b, n, in.prekeys[60].pair.priv, 32), !_i);
	ck_assert_int_eq(contains(b, n, (const uint8_t *)SECRET, 8), 0);
	store_snap_clear(&out);
	ck_assert_ptr_null(out.prekeys);
	ck_assert_uint_eq(out.generation, 0);
	store_snap_blob_free(b, n);
	store_snap_clear(&in);
}
END_TEST

START_TEST(round_trip_empty_optionals)
{
	struct store_snap in, out;
	uint8_t *b;
	size_t n;
	char why[200] = "";

	make_snap(&in, 1, 0, 9);
	in.session_id[0] = '\0';
	in.saved_ms = 0;
	in.creds.me_jid[0] = in.creds.me_lid[0] = '\0';
	in.creds.push_name[0] = in.creds.platform[0] = '\0';
	in.creds.account_len = in.creds.routing_len = 0;
	memset(&in.meta, 0, sizeof(in.meta));
	encode_ok(&in, SECRET, &b, &n);
	ck_assert_int_eq(store_snap_decode(b, n, SECRET, &out, NULL, why,
	    sizeof(why)), 0);
	assert_same(&in, &out);
	ck_assert_ptr_null(out.prekeys);
	store_snap_blob_free(b, n);
	store_snap_clear(&out);
}
END_TEST

START_TEST(round_trip_at_the_limits)
{
	struct store_snap in, out;
	uint8_t *b;
	size_t n;
	char why[200] = "";

	make_snap(&in, STORE_SNAP_GEN_MAX, STORE_SNAP_PREKEYS_MAX, 3);
	in.creds.account_len = sizeof(in.creds.account);
	in.creds.routing_len = sizeof(in.creds.routing);
	memset(in.creds.me_jid, 'j', sizeof(in.creds.me_jid) - 1);
	memset(in.creds.platform, 'p', sizeof(in.creds.platform) - 1);
	memset(in.session_id, 's', sizeof(in.session_id) - 1);
	memset(in.meta.last_state, 'x', sizeof(in.meta.last_state) - 1);
	memset(in.meta.last_disconnect_text, 't',
	    sizeof(in.meta.last_disconnect_text) - 1);
	in.meta.last_disconnect = -1;
	in.meta.last_open_ms = INT64_MIN;
	encode_ok(&in, SECRET, &b, &n);
	ck_assert_int_eq(store_snap_decode(b, n, SECRET, &out, NULL, why,
	    sizeof(why)), 0);
	assert_same(&in, &out);
	store_snap_blob_free(b, n);
	store_snap_clear(&out);
	store_snap_clear(&in);
}
END_TEST

START_TEST(each_encryption_uses_a_fresh_nonce)
{
	struct store_snap in;
	uint8_t *b1, *b2;
	size_t n1, n2;

	make_snap(&in, 4, 3, 1);
	encode_ok(&in, SECRET, &b1, &n1);
	encode_ok(&in, SECRET, &b2, &n2);
	ck_assert_uint_eq(n1, n2);
	ck_assert(memcmp(b1, b2, 24) == 0);                  /* same header */
	ck_assert(memcmp(b1 + 24, b2 + 24, 12) != 0);        /* nonce */
	ck_assert(memcmp(b1 + 36, b2 + 36, n1 - 36) != 0);   /* ciphertext */
	store_snap_blob_free(b1, n1);
	store_snap_blob_free(b2, n2);
	store_snap_clear(&in);
}
END_TEST

START_TEST(plain_encoding_is_deterministic)
{
	struct store_snap in;
	uint8_t *b1, *b2;
	size_t n1, n2;

	make_snap(&in, 4, 3, 1);
	encode_ok(&in, NULL, &b1, &n1);
	encode_ok(&in, "", &b2, &n2);    /* "" is no secret */
	ck_assert_uint_eq(n1, n2);
	ck_assert(memcmp(b1, b2, n1) == 0);
	store_snap_blob_free(b1, n1);
	store_snap_blob_free(b2, n2);
	store_snap_clear(&in);
}
END_TEST

/* --- damage ---------------------------------------------------------- */

/* Every byte flipped, one at a time, two ways (all bits; the low bit):
 * never accepted, and the error says what kind of damage it is. */
START_TEST(every_flipped_byte_is_caught)
{
	const char *secret = _i ? SECRET : NULL;
	static const uint8_t masks[] = { 0xff, 0x01 };
	struct store_snap in, out;
	uint8_t *b;
	size_t n;
	char why[200];
	int rc;

	make_snap(&in, 12, 20, 2);
	encode_ok(&in, secret, &b, &n);
	for (size_t m = 0; m < sizeof(masks); m++) {
		for (size_t pos = 0; pos < n; pos++) {
			b[pos] ^= masks[m];
			why[0] = '\0';
			out.generation = 99;
			rc = store_snap_decode(b, n, secret, &out, NULL, why,
			    sizeof(why));
			ck_assert_msg(rc < 0, "flip 0x%02x at %zu accepted",
			    masks[m], pos);
			ck_assert_uint_eq(out.generation, 0);   /* left cleared */
			ck_assert_ptr_null(out.prekeys);
			ck_assert(why[0] != '\0');
			if (pos < 6)
				ck_assert_int_eq(rc, STORE_SNAP_EMAGIC);
			else if (pos >= 20 && pos < 24)   /* the length field */
				ck_assert_msg(rc == STORE_SNAP_ETRUNC ||
				    rc == STORE_SNAP_EMALFORM, "at %zu: %s", pos, why);
			else
				ck_assert_msg(rc == STORE_SNAP_ECHECKSUM &&
				    strcmp(why, "checksum mismatch") == 0,
				    "at %zu: rc %d %s", pos, rc, why);
			/* peek agrees with decode on damage */
			ck_assert_int_eq(store_snap_peek(b, n, NULL, NULL, 0), rc);
			b[pos] ^= masks[m];
		}
	}
	ck_assert_int_eq(store_snap_decode(b, n, secret, &out, NULL, NULL, 0), 0);
	store_snap_clear(&out);
	store_snap_blob_free(b, n);
	store_snap_clear(&in);
}
END_TEST

START_TEST(every_truncation_is_caught)
{
	const char *secret = _i ? SECRET : NULL;
	struct store_snap in, out;
	uint8_t *b, *cut;
	size_t n;
	char why[200];

	make_snap(&in, 12, 20, 2);
	encode_ok(&in, secret, &b, &n);
	for (size_t len = 0; len < n; len++) {
		/* a copy of exactly len bytes, so ASan sees any over-read */
		cut = malloc(len > 0 ? len : 1);
		ck_assert_ptr_nonnull(cut);
		memcpy(cut, b, len);
		why[0] = '\0';
		ck_assert_int_eq(store_snap_decode(cut, len, secret, &out, NULL,
		    why, sizeof(why)), STORE_SNAP_ETRUNC);
		ck_assert_msg(strncmp(why, "truncated", 9) == 0, "%zu: %s", len,
		    why);
		free(cut);
	}
	store_snap_blob_free(b, n);
	store_snap_clear(&in);
}
END_TEST

START_TEST(extra_bytes_are_caught)
{
	struct store_snap in, out;
	uint8_t *b, *more;
	size_t n;

	make_snap(&in, 12, 2, 2);
	encode_ok(&in, NULL, &b, &n);
	more = calloc(1, n + 1);
	memcpy(more, b, n);
	ck_assert_int_eq(store_snap_decode(more, n + 1, NULL, &out, NULL, NULL,
	    0), STORE_SNAP_EMALFORM);
	free(more);
	store_snap_blob_free(b, n);
	store_snap_clear(&in);
}
END_TEST

START_TEST(wrong_magic)
{
	static const char json[] = "{\"noiseKey\":{\"private\":{\"type\":";
	static const char near[] = "SKSNAQ\0\1xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx";
	static const char gzip[] = "\x1f\x8b\x08\x00";
	static const char lower[] = "sksnap\0\1";
	static const char one[] = "X";
	static const struct { const char *p; size_t n; } others[] = {
		{ json, sizeof(json) - 1 }, { near, sizeof(near) - 1 },
		{ gzip, sizeof(gzip) - 1 }, { lower, sizeof(lower) - 1 },
		{ one, sizeof(one) - 1 },
	};
	struct store_snap out;
	char why[200];

	for (size_t i = 0; i < sizeof(others) / sizeof(others[0]); i++) {
		ck_assert_int_eq(store_snap_decode((const uint8_t *)others[i].p,
		    others[i].n, NULL, &out, NULL, why, sizeof(why)),
		    STORE_SNAP_EMAGIC);
		ck_assert_str_eq(why, "wrong magic: not a skykeeper snapshot");
	}
}
END_TEST

START_TEST(newer_format_version)
{
	struct store_snap in, out;
	struct store_snap_hdr h;
	uint8_t *b;
	size_t n;
	char why[200];

	make_snap(&in, 12, 2, 2);
	encode_ok(&in, SECRET, &b, &n);
	b[6] = 0;
	b[7] = 3;
	reseal(b, n);
	ck_assert_int_eq(store_snap_decode(b, n, SECRET, &out, NULL, why,
	    sizeof(why)), STORE_SNAP_EVERSION);
	ck_assert_str_eq(why, "format version 3 is newer than this binary (1)");
	ck_assert_int_eq(store_snap_peek(b, n, &h, why, sizeof(why)),
	    STORE_SNAP_EVERSION);
	/* a later format may lay out the rest differently: only magic, version
	 * and trailing checksum are relied on */
	b[20] = 0xff;
	reseal(b, n);
	ck_assert_int_eq(store_snap_decode(b, n, SECRET, &out, NULL, why,
	    sizeof(why)), STORE_SNAP_EVERSION);
	/* version 0 is nobody's */
	b[7] = 0;
	reseal(b, n);
	ck_assert_int_eq(store_snap_decode(b, n, SECRET, &out, NULL, why,
	    sizeof(why)), STORE_SNAP_EVERSION);
	ck_assert_str_eq(why, "format version 0 is not one this binary reads (1)");
	store_snap_blob_free(b, n);
	store_snap_clear(&in);
}
END_TEST

START_TEST(unknown_flags_and_generation_zero)
{
	struct store_snap in, out;
	uint8_t *b;
	size_t n;
	char why[200];

	make_snap(&in, 12, 2, 2);
	encode_ok(&in, NULL, &b, &n);
	b[16] = 0x80;
	reseal(b, n);
	ck_assert_int_eq(store_snap_decode(b, n, NULL, &out, NULL, why,
	    sizeof(why)), STORE_SNAP_EMALFORM);
	ck_assert_str_eq(why, "unknown flags 0x80000000");
	b[16] = 0;
	memset(b + 8, 0, 8);
	reseal(b, n);
	ck_assert_int_eq(store_snap_decode(b, n, NULL, &out, NULL, why,
	    sizeof(why)), STORE_SNAP_EMALFORM);
	ck_assert_str_eq(why, "generation 0 is outside 1 .. 2^63-1");
	b[8] = 0x80;                     /* 2^63: over the bigint range */
	reseal(b, n);
	ck_assert_int_eq(store_snap_peek(b, n, NULL, NULL, 0),
	    STORE_SNAP_EMALFORM);
	b[8] = 0;
	/* a sound header whose generation is not the payload's */
	b[15] = 13;
	reseal(b, n);
	ck_assert_int_eq(store_snap_decode(b, n, NULL, &out, NULL, why,
	    sizeof(why)), STORE_SNAP_EMALFORM);
	ck_assert_str_eq(why, "payload generation does not match the header's");
	store_snap_blob_free(b, n);
	store_snap_clear(&in);
}
END_TEST

START_TEST(too_big_is_refused_unread)
{
	uint8_t small[8] = "SKSNAP";
	struct store_snap out;

	/* the length alone decides: nothing past small[] is touched */
	ck_assert_int_eq(store_snap_decode(small, STORE_SNAP_BLOB_MAX + 1, NULL,
	    &out, NULL, NULL, 0), STORE_SNAP_ETOOBIG);
}
END_TEST

/* Sound blobs (checksum fine) whose payload is not a usable snapshot. */
START_TEST(unusable_payloads)
{
	Sk__Snapshot m = SK__SNAPSHOT__INIT;
	Sk__Creds c = SK__CREDS__INIT;
	Sk__KeyPair kp = SK__KEY_PAIR__INIT, shortkp = SK__KEY_PAIR__INIT;
	Sk__PreKey pk = SK__PRE_KEY__INIT, *pkp = &pk;
	uint8_t k32[32] = { 1 }, k64[64] = { 2 }, pb[4096], *b;
	char jid[200], why[200];
	struct store_snap out;
	size_t pn, n;
	int rc;

	kp.has_priv = kp.has_pub = 1;
	kp.priv.data = kp.pub.data = k32;
	kp.priv.len = kp.pub.len = 32;
	shortkp = kp;
	shortkp.pub.len = 31;
	c.noise = c.identity = c.signed_prekey = &kp;
	c.has_signed_prekey_sig = 1;
	c.signed_prekey_sig.data = k64;
	c.signed_prekey_sig.len = 64;
	c.has_registration_id = 1;
	c.has_adv_secret = 1;
	c.adv_secret.data = k32;
	c.adv_secret.len = 32;
	m.has_generation = 1;
	m.generation = 5;
	m.creds = &c;
	memset(jid, 'a', sizeof(jid) - 1);
	jid[sizeof(jid) - 1] = '\0';
	pk.has_id = 1;
	pk.pair = &kp;

	for (int t = 0; t < 9; t++) {
		Sk__Snapshot mm = m;
		Sk__Creds cc = c;
		mm.creds = &cc;
		switch (t) {
		case 0: break;                                /* the good one */
		case 1: mm.creds = NULL; break;
		case 2: cc.noise = NULL; break;
		case 3: cc.identity = &shortkp; break;
		case 4: cc.signed_prekey_sig.len = 63; break;
		case 5: cc.has_registration_id = 0; break;
		case 6: cc.me_jid = jid; break;
		case 7: mm.n_prekeys = 1; mm.prekeys = &pkp; pk.has_id = 0; break;
		case 8: mm.has_generation = 0; break;
		}
		pn = sk__snapshot__pack(&mm, pb);
		ck_assert_uint_lt(pn, sizeof(pb));
		b = wrap(pb, pn, 5, &n);
		why[0] = '\0';
		rc = store_snap_decode(b, n, NULL, &out, NULL, why, sizeof(why));
		if (t == 0) {
			ck_assert_msg(rc == 0, "good one: %s", why);
			ck_assert_uint_eq(out.generation, 5);
		} else {
			ck_assert_msg(rc == STORE_SNAP_EMALFORM, "case %d: rc %d %s",
			    t, rc, why);
			ck_assert(why[0] != '\0');
		}
		store_snap_clear(&out);
		free(b);
		pk.has_id = 1;
	}
	/* not protobuf at all */
	b = wrap((const uint8_t *)"\xff\xff\xff\xff", 4, 5, &n);
	ck_assert_int_eq(store_snap_decode(b, n, NULL, &out, NULL, why,
	    sizeof(why)), STORE_SNAP_EMALFORM);
	ck_assert_str_eq(why, "payload is not a sk.Snapshot message");
	free(b);
}
END_TEST

START_TEST(encode_refuses_bad_input)
{
	struct store_snap in;
	uint8_t *b;
	size_t n;
	char why[200];

	make_snap(&in, 0, 1, 1);
	ck_assert_int_eq(store_snap_encode(&in, NULL, &b, &n, why, sizeof(why)),
	    STORE_SNAP_EINVAL);
	ck_assert_ptr_null(b);
	in.generation = STORE_SNAP_GEN_MAX + 1;   /* not a PostgreSQL bigint */
	ck_assert_int_eq(store_snap_encode(&in, NULL, &b, &n, why, sizeof(why)),
	    STORE_SNAP_EINVAL);
	in.generation = 1;
	in.creds.account_len = sizeof(in.creds.account) + 1;
	ck_assert_int_eq(store_snap_encode(&in, NULL, &b, &n, why, sizeof(why)),
	    STORE_SNAP_EINVAL);
	in.creds.account_len = 1;
	memset(in.creds.push_name, 'x', sizeof(in.creds.push_name));
	ck_assert_int_eq(store_snap_encode(&in, NULL, &b, &n, why, sizeof(why)),
	    STORE_SNAP_EINVAL);
	in.creds.push_name[0] = '\0';
	in.n_prekeys = STORE_SNAP_PREKEYS_MAX + 1;
	ck_assert_int_eq(store_snap_encode(&in, NULL, &b, &n, why, sizeof(why)),
	    STORE_SNAP_EINVAL);
	in.n_prekeys = 1;
	encode_ok(&in, NULL, &b, &n);
	store_snap_blob_free(b, n);
	store_snap_clear(&in);
}
END_TEST

/* --- secrets --------------------------------------------------------- */

START_TEST(wrong_secret)
{
	struct store_snap in, out;
	struct store_snap_hdr h;
	uint8_t *b;
	size_t n;
	char why[200];

	make_snap(&in, 31, 5, 4);
	encode_ok(&in, SECRET, &b, &n);
	memset(&h, 0, sizeof(h));
	ck_assert_int_eq(store_snap_decode(b, n, "correct horse battery stapl",
	    &out, &h, why, sizeof(why)), STORE_SNAP_EBADSECRET);
	ck_assert_str_eq(why, "encrypted with a different SESSION_SECRET");
	ck_assert_uint_eq(h.generation, 31);     /* the header is sound */
	ck_assert_uint_eq(out.generation, 0);
	ck_assert_int_eq(store_snap_decode(b, n, SECRET "x", &out, NULL, why,
	    sizeof(why)), STORE_SNAP_EBADSECRET);
	store_snap_blob_free(b, n);
	store_snap_clear(&in);
}
END_TEST

START_TEST(missing_secret)
{
	struct store_snap in, out;
	struct store_snap_hdr h;
	uint8_t *b;
	size_t n;
	char why[200];

	make_snap(&in, 31, 5, 4);
	encode_ok(&in, SECRET, &b, &n);
	ck_assert_int_eq(store_snap_decode(b, n, NULL, &out, &h, why,
	    sizeof(why)), STORE_SNAP_ENOSECRET);
	ck_assert_str_eq(why, "encrypted but SESSION_SECRET is not set");
	ck_assert_uint_eq(h.flags, STORE_SNAP_F_ENCRYPTED);
	ck_assert_int_eq(store_snap_decode(b, n, "", &out, NULL, why,
	    sizeof(why)), STORE_SNAP_ENOSECRET);
	/* but the generation is readable without it, for the mirror */
	ck_assert_int_eq(store_snap_peek(b, n, &h, why, sizeof(why)), 0);
	ck_assert_uint_eq(h.generation, 31);
	store_snap_blob_free(b, n);
	store_snap_clear(&in);
}
END_TEST

/* SESSION_SECRET turned on for a deployment with plain copies: they still
 * load (flags say plain), and the next save writes them encrypted. */
START_TEST(secret_given_for_a_plain_blob)
{
	struct store_snap in, out;
	struct store_snap_hdr h;
	uint8_t *b;
	size_t n;
	char why[200] = "";

	make_snap(&in, 8, 5, 6);
	encode_ok(&in, NULL, &b, &n);
	ck_assert_int_eq(store_snap_decode(b, n, SECRET, &out, &h, why,
	    sizeof(why)), 0);
	ck_assert_uint_eq(h.flags & STORE_SNAP_F_ENCRYPTED, 0);
	assert_same(&in, &out);
	store_snap_blob_free(b, n);
	out.generation++;
	encode_ok(&out, SECRET, &b, &n);
	ck_assert_int_eq(store_snap_peek(b, n, &h, NULL, 0), 0);
	ck_assert_uint_eq(h.flags, STORE_SNAP_F_ENCRYPTED);
	ck_assert_uint_eq(h.generation, 9);
	store_snap_clear(&out);
	ck_assert_int_eq(store_snap_decode(b, n, NULL, &out, NULL, NULL, 0),
	    STORE_SNAP_ENOSECRET);
	store_snap_blob_free(b, n);
	store_snap_clear(&in);
}
END_TEST

/* The header is associated data: changing it (and fixing the checksum,
 * which anyone can) is caught by the tag. */
START_TEST(header_is_authenticated)
{
	struct store_snap in, out;
	uint8_t *b;
	size_t n;

	make_snap(&in, 50, 5, 4);
	encode_ok(&in, SECRET, &b, &n);
	b[15] ^= 0x40;                         /* generation 50 -> 114 */
	reseal(b, n);
	ck_assert_int_eq(store_snap_decode(b, n, SECRET, &out, NULL, NULL, 0),
	    STORE_SNAP_EBADSECRET);
	b[15] ^= 0x40;
	b[40] ^= 1;                            /* ciphertext */
	reseal(b, n);
	ck_assert_int_eq(store_snap_decode(b, n, SECRET, &out, NULL, NULL, 0),
	    STORE_SNAP_EBADSECRET);
	store_snap_blob_free(b, n);
	store_snap_clear(&in);
}
END_TEST

/* The key derivation as snapshot.h documents it, through OpenSSL's other
 * HKDF interface (EVP_PKEY): a reader of the docs can decrypt a blob. */
START_TEST(key_derivation_is_the_documented_one)
{
	static const char salt[] = "skykeeper/session-snapshot/v1";
	static const char info[] = "aes-256-gcm key";
	struct store_snap in, out;
	uint8_t *b, key[32], *plain;
	size_t n, klen = sizeof(key), ctlen;
	EVP_PKEY_CTX *pc;
	EVP_CIPHER_CTX *cc;
	Sk__Snapshot *m;
	int l1, l2;

	make_snap(&in, 21, 4, 8);
	encode_ok(&in, SECRET, &b, &n);
	pc = EVP_PKEY_CTX_new_id(EVP_PKEY_HKDF, NULL);
	ck_assert(pc != NULL && EVP_PKEY_derive_init(pc) > 0 &&
	    EVP_PKEY_CTX_set_hkdf_md(pc, EVP_sha256()) > 0 &&
	    EVP_PKEY_CTX_set1_hkdf_salt(pc, (const unsigned char *)salt,
	    sizeof(salt) - 1) > 0 &&
	    EVP_PKEY_CTX_set1_hkdf_key(pc, (const unsigned char *)SECRET,
	    sizeof(SECRET) - 1) > 0 &&
	    EVP_PKEY_CTX_add1_hkdf_info(pc, (const unsigned char *)info,
	    sizeof(info) - 1) > 0 &&
	    EVP_PKEY_derive(pc, key, &klen) > 0);
	EVP_PKEY_CTX_free(pc);
	ctlen = n - 24 - 12 - 16 - 32;
	plain = malloc(ctlen);
	cc = EVP_CIPHER_CTX_new();
	ck_assert(EVP_DecryptInit_ex(cc, EVP_aes_256_gcm(), NULL, key,
	    b + 24) == 1 &&
	    EVP_DecryptUpdate(cc, NULL, &l1, b, 24) == 1 &&
	    EVP_DecryptUpdate(cc, plain, &l1, b + 36, (int)ctlen) == 1 &&
	    EVP_CIPHER_CTX_ctrl(cc, EVP_CTRL_GCM_SET_TAG, 16,
	    b + 36 + ctlen) == 1 &&
	    EVP_DecryptFinal_ex(cc, plain + l1, &l2) == 1);
	EVP_CIPHER_CTX_free(cc);
	m = sk__snapshot__unpack(NULL, ctlen, plain);
	ck_assert_ptr_nonnull(m);
	ck_assert_uint_eq(m->generation, 21);
	ck_assert_str_eq(m->session_id, in.session_id);
	sk__snapshot__free_unpacked(m, NULL);
	ck_assert_int_eq(store_snap_decode(b, n, SECRET, &out, NULL, NULL, 0), 0);
	store_snap_clear(&out);
	free(plain);
	store_snap_blob_free(b, n);
	store_snap_clear(&in);
}
END_TEST

/* --- format freeze --------------------------------------------------- */

/* make_snap(&s, 3, 1, 42), encoded plain by the first version-1 binary.
 * If this stops decoding to the same snapshot, old files on disk and rows
 * in the database stop loading: bump STORE_SNAP_VERSION and keep a reader
 * for version 1 instead. */
static const uint8_t v1_blob[749] = {
	0x53, 0x4b, 0x53, 0x4e, 0x41, 0x50, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x03, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0xb5,
	0x0a, 0x06, 0x62, 0x6f, 0x74, 0x2d, 0x34, 0x32, 0x10, 0x03, 0x18, 0xaa,
	0xd0, 0x95, 0xff, 0xbc, 0x31, 0x22, 0xae, 0x04, 0x0a, 0x44, 0x0a, 0x20,
	0x0e, 0x6b, 0x1d, 0xf4, 0x70, 0x8b, 0x01, 0x6a, 0x25, 0xf9, 0xed, 0xac,
	0x87, 0xe2, 0x9d, 0xc7, 0xb4, 0x32, 0x8d, 0x87, 0x85, 0x95, 0xf8, 0x78,
	0x99, 0x77, 0xdb, 0xe5, 0x4a, 0x03, 0xf1, 0xdb, 0x12, 0x20, 0xb5, 0x26,
	0xb8, 0x26, 0xb6, 0x8b, 0x6a, 0x51, 0xe9, 0xa0, 0x04, 0xaa, 0xa9, 0x8f,
	0x42, 0x3b, 0x13, 0x45, 0x9f, 0xd1, 0x03, 0x6d, 0x59, 0xf7, 0x15, 0x75,
	0x6a, 0xfa, 0xa4, 0x87, 0x8e, 0xe6, 0x12, 0x44, 0x0a, 0x20, 0xcd, 0x90,
	0x43, 0x87, 0x6c, 0x3c, 0xc3, 0x69, 0x1d, 0xf6, 0x0b, 0xd7, 0x3b, 0xeb,
	0xd7, 0xde, 0xe3, 0x07, 0xa2, 0x4a, 0xf1, 0xf6, 0xa9, 0xa6, 0x01, 0x23,
	0xe8, 0x40, 0x6e, 0xbb, 0x1b, 0x22, 0x12, 0x20, 0x55, 0xaa, 0xbe, 0x19,
	0x92, 0x9c, 0x0c, 0xb0, 0xc1, 0xfc, 0x02, 0x34, 0x3d, 0xf8, 0x5c, 0xb1,
	0x23, 0x7a, 0x95, 0xf3, 0x4f, 0x2e, 0xea, 0x86, 0x5d, 0x82, 0x57, 0xb5,
	0xa8, 0xa0, 0x98, 0x8d, 0x1a, 0x44, 0x0a, 0x20, 0x4d, 0x75, 0x29, 0xda,
	0x28, 0xac, 0x45, 0x28, 0xd5, 0xb3, 0xe9, 0xc2, 0xaf, 0xb4, 0xd1, 0xb5,
	0xd3, 0x9c, 0x78, 0xcd, 0x1d, 0x17, 0x1b, 0x95, 0x29, 0x90, 0xb6, 0x5a,
	0x52, 0x34, 0x05, 0x29, 0x12, 0x20, 0xb5, 0xef, 0x83, 0xcb, 0x2e, 0x6d,
	0x6e, 0xcf, 0x58, 0x19, 0xc0, 0x7f, 0x91, 0x20, 0x35, 0xe8, 0xf3, 0x6e,
	0x4b, 0xd6, 0x5b, 0xaf, 0x3c, 0xd5, 0x64, 0x4e, 0x05, 0x30, 0x6c, 0x79,
	0x62, 0xf4, 0x20, 0x8d, 0xed, 0x08, 0x2a, 0x40, 0x19, 0xce, 0xed, 0xa4,
	0xdd, 0x87, 0xa6, 0x4c, 0x30, 0x87, 0x6d, 0xe3, 0x3d, 0x8a, 0x4c, 0x83,
	0xf1, 0x0e, 0x0f, 0x09, 0xf7, 0x4d, 0x44, 0x10, 0xbd, 0x44, 0x35, 0xf6,
	0x6d, 0xaf, 0xef, 0xd5, 0xf4, 0x09, 0x3e, 0x8a, 0xfe, 0x8f, 0xae, 0xb0,
	0xf6, 0x3d, 0x8a, 0xa5, 0x09, 0xcf, 0xdf, 0x83, 0x23, 0xc1, 0x79, 0x27,
	0xf0, 0x4e, 0xe3, 0x2c, 0xdb, 0x73, 0x6b, 0xef, 0x11, 0xec, 0x1b, 0x8d,
	0x30, 0xfe, 0x14, 0x3a, 0x20, 0x34, 0xbf, 0xdf, 0xce, 0x88, 0xe5, 0x84,
	0x6c, 0xe4, 0xd7, 0xd6, 0x85, 0x04, 0xa2, 0xf3, 0x05, 0x64, 0x12, 0xb4,
	0x98, 0x3f, 0xb3, 0xb8, 0xaa, 0x92, 0xd0, 0x59, 0x66, 0x18, 0x76, 0xb4,
	0xb9, 0x42, 0x1c, 0x31, 0x35, 0x35, 0x35, 0x36, 0x35, 0x33, 0x36, 0x33,
	0x39, 0x39, 0x3a, 0x32, 0x40, 0x73, 0x2e, 0x77, 0x68, 0x61, 0x74, 0x73,
	0x61, 0x70, 0x70, 0x2e, 0x6e, 0x65, 0x74, 0x4a, 0x0e, 0x31, 0x35, 0x39,
	0x39, 0x35, 0x37, 0x36, 0x31, 0x3a, 0x32, 0x40, 0x6c, 0x69, 0x64, 0x52,
	0x0e, 0x53, 0x6b, 0x79, 0x20, 0x4b, 0x65, 0x65, 0x70, 0x65, 0x72, 0x20,
	0xe2, 0x98, 0x81, 0x5a, 0x04, 0x73, 0x6d, 0x62, 0x61, 0x62, 0x91, 0x01,
	0x4e, 0x71, 0x4c, 0xc8, 0x93, 0x7b, 0x55, 0x78, 0xb2, 0x29, 0x96, 0xd2,
	0x98, 0xf6, 0xdc, 0xb2, 0xf0, 0x20, 0xb2, 0xb4, 0x28, 0xa1, 0x65, 0x33,
	0x6a, 0x35, 0x01, 0x4c, 0xa3, 0x5a, 0x52, 0xdb, 0x7f, 0x4a, 0xe4, 0x7c,
	0x69, 0x02, 0x02, 0x8a, 0x8e, 0x3e, 0xb9, 0x22, 0xda, 0x79, 0xd5, 0x20,
	0xf9, 0xf0, 0xe1, 0x20, 0x56, 0x9f, 0x2b, 0x7d, 0x1e, 0x42, 0xbd, 0x54,
	0x3d, 0x55, 0x64, 0x81, 0x5f, 0x13, 0xab, 0xa0, 0xef, 0x79, 0xdf, 0x0c,
	0x1b, 0x43, 0x0c, 0xe2, 0xcd, 0xec, 0xfe, 0xfe, 0xb1, 0xb1, 0x41, 0xfc,
	0x35, 0x8e, 0x20, 0x37, 0x83, 0x3f, 0xa8, 0xcc, 0x88, 0x40, 0xa5, 0x97,
	0xef, 0xcc, 0xa3, 0x34, 0x26, 0xe0, 0xed, 0xfe, 0x57, 0x38, 0x90, 0x12,
	0x6f, 0x4f, 0x58, 0x4c, 0x1a, 0x62, 0xd0, 0x48, 0xc3, 0x6d, 0x45, 0x61,
	0x97, 0x2c, 0xc4, 0xb4, 0x82, 0x1a, 0x16, 0x1d, 0x30, 0x75, 0xca, 0x37,
	0x0c, 0x37, 0x2a, 0x60, 0x43, 0x1c, 0x43, 0xb2, 0xc1, 0xa2, 0xe1, 0x0a,
	0x32, 0x6a, 0x13, 0x90, 0x03, 0x01, 0x3c, 0x9b, 0xfb, 0x5c, 0x09, 0x0f,
	0x0c, 0x2c, 0xe5, 0xb8, 0x13, 0x20, 0x0e, 0x21, 0xab, 0xa3, 0x70, 0x02,
	0x78, 0x02, 0x2a, 0x48, 0x08, 0x01, 0x12, 0x44, 0x0a, 0x20, 0x7e, 0x98,
	0x32, 0xe0, 0xf1, 0x27, 0xc2, 0xc4, 0xe5, 0x9a, 0x38, 0xfa, 0x94, 0x7f,
	0x2f, 0xf0, 0xfb, 0x20, 0x05, 0xd0, 0xd6, 0x8a, 0xd4, 0x87, 0xa0, 0x89,
	0x79, 0xc1, 0x96, 0xa9, 0x8f, 0xe9, 0x12, 0x20, 0xb4, 0x35, 0x74, 0x2c,
	0xb6, 0x3a, 0x42, 0x76, 0x18, 0x84, 0xd6, 0x73, 0x15, 0x9e, 0xcb, 0x8e,
	0xaa, 0xd6, 0x7e, 0xf4, 0x93, 0x36, 0x0c, 0x91, 0x4b, 0x8a, 0x4e, 0x11,
	0x0f, 0x60, 0xe3, 0xdf, 0x32, 0x27, 0x0a, 0x04, 0x6f, 0x70, 0x65, 0x6e,
	0x10, 0xb0, 0x90, 0xda, 0xd2, 0xb9, 0x31, 0x18, 0x02, 0x20, 0xac, 0x03,
	0x2a, 0x11, 0x43, 0x6f, 0x6e, 0x6e, 0x65, 0x63, 0x74, 0x69, 0x6f, 0x6e,
	0x20, 0x43, 0x6c, 0x6f, 0x73, 0x65, 0x64, 0x30, 0x00, 0x0a, 0x1e, 0x13,
	0xe0, 0xfa, 0xbe, 0xc9, 0x7c, 0x6c, 0x95, 0xd1, 0x86, 0x18, 0xd9, 0x5a,
	0x67, 0x86, 0x15, 0x65, 0xd0, 0xad, 0x43, 0xad, 0xe4, 0x06, 0x5c, 0x4e,
	0x50, 0x50, 0x17, 0xb9, 0xe5,
};

START_TEST(version_1_blob_still_reads)
{
	struct store_snap want, got;
	uint8_t *b;
	size_t n;
	char why[200] = "";

	make_snap(&want, 3, 1, 42);
	ck_assert_int_eq(store_snap_decode(v1_blob, sizeof(v1_blob), NULL, &got,
	    NULL, why, sizeof(why)), 0);
	assert_same(&want, &got);
	/* and this binary still writes exactly it */
	encode_ok(&want, NULL, &b, &n);
	ck_assert_uint_eq(n, sizeof(v1_blob));
	ck_assert(memcmp(b, v1_blob, n) == 0);
	store_snap_blob_free(b, n);
	store_snap_clear(&got);
	store_snap_clear(&want);
}
END_TEST

START_TEST(strerror_names_every_code)
{
	for (int c = STORE_SNAP_ETOOBIG; c < 0; c++)
		ck_assert_str_ne(store_snap_strerror(c), "unknown error");
	ck_assert_str_eq(store_snap_strerror(-999), "unknown error");
}
END_TEST

static Suite *
snapshot_suite(void)
{
	Suite *s = suite_create("store_snapshot");
	TCase *tc = tcase_create("round trips");

	tcase_add_loop_test(tc, round_trip, 0, 2);
	tcase_add_test(tc, round_trip_empty_optionals);
	tcase_add_test(tc, round_trip_at_the_limits);
	tcase_add_test(tc, each_encryption_uses_a_fresh_nonce);
	tcase_add_test(tc, plain_encoding_is_deterministic);
	tcase_add_test(tc, version_1_blob_still_reads);
	tcase_add_test(tc, strerror_names_every_code);
	suite_add_tcase(s, tc);

	tc = tcase_create("damage");
	tcase_set_timeout(tc, 60);     /* the loops, under sanitizers */
	tcase_add_loop_test(tc, every_flipped_byte_is_caught, 0, 2);
	tcase_add_loop_test(tc, every_truncation_is_caught, 0, 2);
	tcase_add_test(tc, extra_bytes_are_caught);
	tcase_add_test(tc, wrong_magic);
	tcase_add_test(tc, newer_format_version);
	tcase_add_test(tc, unknown_flags_and_generation_zero);
	tcase_add_test(tc, too_big_is_refused_unread);
	tcase_add_test(tc, unusable_payloads);
	tcase_add_test(tc, encode_refuses_bad_input);
	suite_add_tcase(s, tc);

	tc = tcase_create("secrets");
	tcase_add_test(tc, wrong_secret);
	tcase_add_test(tc, missing_secret);
	tcase_add_test(tc, secret_given_for_a_plain_blob);
	tcase_add_test(tc, header_is_authenticated);
	tcase_add_test(tc, key_derivation_is_the_documented_one);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(snapshot_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
