/*
 * tests/check_cert.c: XEdDSA and the server certificate chain.
 *
 *  - XEdDSA against libsignal-protocol-c both ways (its signatures verify
 *    with our OpenSSL verifier, ours with its curve_verify_signature), over
 *    many random keys, and against Signal's published test vector;
 *  - every bit flipped in message, signature or key fails;
 *  - a chain from wa_cert_issue_chain verifies, and each check of
 *    PROTOCOL.md §3 fails on its own, with its own reason, when a chain is
 *    built broken in exactly that one way.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <signal/signal_protocol.h>
#include <signal/curve.h>
#include "wa/cert.h"
#include "wa.pb-c.h"

typedef Wa__CertChain__NoiseCertificate Cert;
typedef Wa__CertChain__NoiseCertificate__Details Details;

#define ROUNDS 200

/* --- helpers: OpenSSL keys, libsignal as the reference implementation -- */

static void
random_bytes(uint8_t *p, size_t n)
{
	ck_assert(n == 0 || RAND_bytes(p, (int)n) == 1);
}

/* An OpenSSL X25519 pair (OpenSSL clamps the keys it generates). */
static void
ossl_keypair(uint8_t priv[32], uint8_t pub[32])
{
	EVP_PKEY *pk = EVP_PKEY_Q_keygen(NULL, NULL, "X25519");
	size_t n1 = 32, n2 = 32;

	ck_assert_ptr_nonnull(pk);
	ck_assert_int_eq(EVP_PKEY_get_raw_private_key(pk, priv, &n1), 1);
	ck_assert_int_eq(EVP_PKEY_get_raw_public_key(pk, pub, &n2), 1);
	EVP_PKEY_free(pk);
}

static void
ossl_public(const uint8_t priv[32], uint8_t pub[32])
{
	EVP_PKEY *pk = EVP_PKEY_new_raw_private_key(EVP_PKEY_X25519, NULL,
	    priv, 32);
	size_t n = 32;

	ck_assert_ptr_nonnull(pk);
	ck_assert_int_eq(EVP_PKEY_get_raw_public_key(pk, pub, &n), 1);
	EVP_PKEY_free(pk);
}

static int
ls_random(uint8_t *data, size_t len, void *user)
{
	(void)user;
	return RAND_bytes(data, (int)len) == 1 ? 0 : SG_ERR_UNKNOWN;
}

static int
ls_hmac_init(void **c, const uint8_t *k, size_t n, void *u)
{
	(void)c; (void)k; (void)n; (void)u;
	return SG_ERR_UNKNOWN;
}

static int
ls_hmac_update(void *c, const uint8_t *d, size_t n, void *u)
{
	(void)c; (void)d; (void)n; (void)u;
	return SG_ERR_UNKNOWN;
}

static int
ls_hmac_final(void *c, signal_buffer **o, void *u)
{
	(void)c; (void)o; (void)u;
	return SG_ERR_UNKNOWN;
}

static void
ls_hmac_cleanup(void *c, void *u)
{
	(void)c; (void)u;
}

static signal_context *ls;

static void
ls_setup(void)
{
	signal_crypto_provider p = {
		.random_func = ls_random,
		.hmac_sha256_init_func = ls_hmac_init,
		.hmac_sha256_update_func = ls_hmac_update,
		.hmac_sha256_final_func = ls_hmac_final,
		.hmac_sha256_cleanup_func = ls_hmac_cleanup,
	};

	ck_assert_int_eq(signal_context_create(&ls, NULL), 0);
	ck_assert_int_eq(signal_context_set_crypto_provider(ls, &p), 0);
}

static void
ls_teardown(void)
{
	signal_context_destroy(ls);
	ls = NULL;
}

/* A libsignal pair (its private keys are stored clamped). */
static void
ls_keypair(uint8_t priv[32], uint8_t pub[32])
{
	ec_key_pair *kp = NULL;
	signal_buffer *b = NULL;

	ck_assert_int_eq(curve_generate_key_pair(ls, &kp), 0);
	ck_assert_int_eq(ec_public_key_serialize(&b,
	    ec_key_pair_get_public(kp)), 0);
	ck_assert_uint_eq(signal_buffer_len(b), 33);
	ck_assert_uint_eq(signal_buffer_data(b)[0], 0x05);
	memcpy(pub, signal_buffer_data(b) + 1, 32);
	signal_buffer_free(b);
	b = NULL;
	ck_assert_int_eq(ec_private_key_serialize(&b,
	    ec_key_pair_get_private(kp)), 0);
	ck_assert_uint_eq(signal_buffer_len(b), 32);
	memcpy(priv, signal_buffer_data(b), 32);
	signal_buffer_bzero_free(b);
	SIGNAL_UNREF(kp);
}

static void
ls_sign(const uint8_t priv[32], const uint8_t *msg, size_t len,
    uint8_t sig[64])
{
	ec_private_key *k = NULL;
	signal_buffer *b = NULL;

	ck_assert_int_eq(curve_decode_private_point(&k, priv, 32, ls), 0);
	ck_assert_int_eq(curve_calculate_signature(ls, &b, k, msg, len), 0);
	ck_assert_uint_eq(signal_buffer_len(b), 64);
	memcpy(sig, signal_buffer_data(b), 64);
	signal_buffer_free(b);
	SIGNAL_UNREF(k);
}

/* 1 = valid, as curve_verify_signature says. */
static int
ls_verify(const uint8_t pub[32], const uint8_t *msg, size_t len,
    const uint8_t sig[64])
{
	uint8_t ser[33];
	ec_public_key *k = NULL;
	int r;

	ser[0] = 0x05;              /* libsignal's "DJB" key type byte */
	memcpy(ser + 1, pub, 32);
	ck_assert_int_eq(curve_decode_point(&k, ser, sizeof(ser), ls), 0);
	r = curve_verify_signature(k, msg, len, sig, 64);
	SIGNAL_UNREF(k);
	return r;
}

/* --- XEdDSA --------------------------------------------------------------- */

/*
 * Signal's own curve25519 signature vector (libsignal-protocol-c
 * tests/test_curve25519.c, test_curve25519_signature; the same bytes are in
 * libsignal-protocol-java's Curve25519Test): Alice's identity key signs her
 * serialized ephemeral public key (0x05 || 32 bytes).
 */
static const uint8_t alice_priv[32] = {
	0xc0, 0x97, 0x24, 0x84, 0x12, 0xe5, 0x8b, 0xf0, 0x5d, 0xf4, 0x87, 0x96,
	0x82, 0x05, 0x13, 0x27, 0x94, 0x17, 0x8e, 0x36, 0x76, 0x37, 0xf5, 0x81,
	0x8f, 0x81, 0xe0, 0xe6, 0xce, 0x73, 0xe8, 0x65,
};
static const uint8_t alice_pub[32] = {
	0xab, 0x7e, 0x71, 0x7d, 0x4a, 0x16, 0x3b, 0x7d, 0x9a, 0x1d, 0x80, 0x71,
	0xdf, 0xe9, 0xdc, 0xf8, 0xcd, 0xcd, 0x1c, 0xea, 0x33, 0x39, 0xb6, 0x35,
	0x6b, 0xe8, 0x4d, 0x88, 0x7e, 0x32, 0x2c, 0x64,
};
static const uint8_t alice_msg[33] = {
	0x05, 0xed, 0xce, 0x9d, 0x9c, 0x41, 0x5c, 0xa7, 0x8c, 0xb7, 0x25, 0x2e,
	0x72, 0xc2, 0xc4, 0xa5, 0x54, 0xd3, 0xeb, 0x29, 0x48, 0x5a, 0x0e, 0x1d,
	0x50, 0x31, 0x18, 0xd1, 0xa8, 0x2d, 0x99, 0xfb, 0x4a,
};
static const uint8_t alice_sig[64] = {
	0x5d, 0xe8, 0x8c, 0xa9, 0xa8, 0x9b, 0x4a, 0x11, 0x5d, 0xa7, 0x91, 0x09,
	0xc6, 0x7c, 0x9c, 0x74, 0x64, 0xa3, 0xe4, 0x18, 0x02, 0x74, 0xf1, 0xcb,
	0x8c, 0x63, 0xc2, 0x98, 0x4e, 0x28, 0x6d, 0xfb, 0xed, 0xe8, 0x2d, 0xeb,
	0x9d, 0xcd, 0x9f, 0xae, 0x0b, 0xfb, 0xb8, 0x21, 0x56, 0x9b, 0x3d, 0x90,
	0x01, 0xbd, 0x81, 0x30, 0xcd, 0x11, 0xd4, 0x86, 0xce, 0xf0, 0x47, 0xbd,
	0x60, 0xb8, 0x6e, 0x88,
};

START_TEST(signal_vector_verifies)
{
	uint8_t pub[32], sig[64];

	ossl_public(alice_priv, pub);
	ck_assert_mem_eq(pub, alice_pub, 32);
	ck_assert_int_eq(wa_xeddsa_verify(alice_pub, alice_msg,
	    sizeof(alice_msg), alice_sig), 0);
	/* the top bit of the last byte carries the Edwards sign: it matters */
	memcpy(sig, alice_sig, 64);
	sig[63] ^= 0x80;
	ck_assert_int_ne(wa_xeddsa_verify(alice_pub, alice_msg,
	    sizeof(alice_msg), sig), 0);
	/* and a fresh signature by the same key verifies with libsignal */
	ck_assert_int_eq(wa_xeddsa_sign(alice_priv, alice_msg,
	    sizeof(alice_msg), sig), 0);
	ck_assert_int_eq(ls_verify(alice_pub, alice_msg, sizeof(alice_msg),
	    sig), 1);
}
END_TEST

START_TEST(libsignal_signs_we_verify)
{
	uint8_t priv[32], pub[32], sig[64], msg[300];

	for (int i = 0; i < ROUNDS; i++) {
		size_t len = (size_t)(i * 37 % (int)sizeof(msg));
		ls_keypair(priv, pub);
		random_bytes(msg, len);
		ls_sign(priv, msg, len, sig);
		ck_assert_msg(wa_xeddsa_verify(pub, msg, len, sig) == 0,
		    "round %d: libsignal's signature does not verify", i);
	}
}
END_TEST

START_TEST(we_sign_libsignal_verifies)
{
	uint8_t priv[32], pub[32], sig[64], msg[300];

	for (int i = 0; i < ROUNDS; i++) {
		size_t len = (size_t)(i * 53 % (int)sizeof(msg));
		ossl_keypair(priv, pub);
		random_bytes(msg, len);
		ck_assert_int_eq(wa_xeddsa_sign(priv, msg, len, sig), 0);
		ck_assert_msg(ls_verify(pub, msg, len, sig) == 1,
		    "round %d: libsignal rejects our signature", i);
		ck_assert_msg(wa_xeddsa_verify(pub, msg, len, sig) == 0,
		    "round %d: our signature does not verify", i);
	}
}
END_TEST

/* libsignal uses the scalar as given; X25519 clamps.  A key with every bit
 * set (and random unclamped ones) must still sign for the public key X25519
 * derives from it.  Generated keys are all clamped: only this test would
 * notice a missing clamp. */
START_TEST(unclamped_private_key_signs_for_its_public_key)
{
	uint8_t priv[32], pub[32], sig[64];
	static const uint8_t msg[] = "clamp me";

	memset(priv, 0xff, sizeof(priv));
	for (int i = 0; i < 20; i++) {
		if (i > 0) {
			random_bytes(priv, sizeof(priv));
			priv[0] |= 7;           /* surely unclamped */
			priv[31] |= 0x80;
		}
		ossl_public(priv, pub);
		ck_assert_int_eq(wa_xeddsa_sign(priv, msg, sizeof(msg), sig), 0);
		ck_assert_int_eq(wa_xeddsa_verify(pub, msg, sizeof(msg), sig), 0);
		ck_assert_int_eq(ls_verify(pub, msg, sizeof(msg), sig), 1);
	}
}
END_TEST

START_TEST(signatures_are_randomized)
{
	uint8_t priv[32], pub[32], s1[64], s2[64];
	static const uint8_t msg[] = "same message";

	ossl_keypair(priv, pub);
	ck_assert_int_eq(wa_xeddsa_sign(priv, msg, sizeof(msg), s1), 0);
	ck_assert_int_eq(wa_xeddsa_sign(priv, msg, sizeof(msg), s2), 0);
	ck_assert_mem_ne(s1, s2, 64);
	ck_assert_int_eq(wa_xeddsa_verify(pub, msg, sizeof(msg), s1), 0);
	ck_assert_int_eq(wa_xeddsa_verify(pub, msg, sizeof(msg), s2), 0);
}
END_TEST

START_TEST(every_flipped_bit_fails)
{
	uint8_t priv[32], pub[32], sig[64], msg[40], x[64];

	ossl_keypair(priv, pub);
	random_bytes(msg, sizeof(msg));
	ck_assert_int_eq(wa_xeddsa_sign(priv, msg, sizeof(msg), sig), 0);
	ck_assert_int_eq(wa_xeddsa_verify(pub, msg, sizeof(msg), sig), 0);
	for (int b = 0; b < 8 * (int)sizeof(msg); b++) {
		memcpy(x, msg, sizeof(msg));
		x[b / 8] ^= (uint8_t)(1u << (b % 8));
		ck_assert_msg(wa_xeddsa_verify(pub, x, sizeof(msg), sig) != 0,
		    "message bit %d flipped, still verifies", b);
	}
	for (int b = 0; b < 512; b++) {
		memcpy(x, sig, 64);
		x[b / 8] ^= (uint8_t)(1u << (b % 8));
		ck_assert_msg(wa_xeddsa_verify(pub, msg, sizeof(msg), x) != 0,
		    "signature bit %d flipped, still verifies", b);
	}
	for (int b = 0; b < 256; b++) {
		memcpy(x, pub, 32);
		x[b / 8] ^= (uint8_t)(1u << (b % 8));
		ck_assert_msg(wa_xeddsa_verify(x, msg, sizeof(msg), sig) != 0,
		    "key bit %d flipped, still verifies", b);
	}
	/* and a shorter or longer message */
	ck_assert_int_ne(wa_xeddsa_verify(pub, msg, sizeof(msg) - 1, sig), 0);
	ck_assert_int_ne(wa_xeddsa_verify(pub, msg, 0, sig), 0);
}
END_TEST

START_TEST(empty_and_large_messages)
{
	uint8_t priv[32], pub[32], sig[64], *big;
	const size_t bigl = 1 << 20;

	ossl_keypair(priv, pub);
	ck_assert_int_eq(wa_xeddsa_sign(priv, NULL, 0, sig), 0);
	ck_assert_int_eq(wa_xeddsa_verify(pub, NULL, 0, sig), 0);
	ck_assert_int_eq(wa_xeddsa_verify(pub, (const uint8_t *)"", 0, sig), 0);
	ck_assert_int_eq(ls_verify(pub, (const uint8_t *)"", 0, sig), 1);

	big = calloc(1, bigl);
	ck_assert_ptr_nonnull(big);
	ck_assert_int_eq(wa_xeddsa_sign(priv, big, bigl, sig), 0);
	ck_assert_int_eq(wa_xeddsa_verify(pub, big, bigl, sig), 0);
	ck_assert_int_eq(ls_verify(pub, big, bigl, sig), 1);
	big[bigl - 1] = 1;
	ck_assert_int_ne(wa_xeddsa_verify(pub, big, bigl, sig), 0);
	free(big);
}
END_TEST

/* Keys refused before any signature math: non-canonical (u >= p), u = -1,
 * and the small-order points. */
START_TEST(bad_public_keys_are_refused)
{
	static const uint8_t bad[][32] = {
		/* p = 2^255 - 19 */
		{ 0xed, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
		  0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
		  0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
		  0xff, 0x7f },
		/* p + 1 */
		{ 0xee, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
		  0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
		  0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
		  0xff, 0x7f },
		/* 2^256 - 1 */
		{ 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
		  0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
		  0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
		  0xff, 0xff },
		/* p - 1 = -1: u + 1 has no inverse */
		{ 0xec, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
		  0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
		  0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
		  0xff, 0x7f },
		/* small order: 0, 1, the two points of order 8 */
		{ 0 },
		{ 1 },
		{ 0xe0, 0xeb, 0x7a, 0x7c, 0x3b, 0x41, 0xb8, 0xae, 0x16, 0x56,
		  0xe3, 0xfa, 0xf1, 0x9f, 0xc4, 0x6a, 0xda, 0x09, 0x8d, 0xeb,
		  0x9c, 0x32, 0xb1, 0xfd, 0x86, 0x62, 0x05, 0x16, 0x5f, 0x49,
		  0xb8, 0x00 },
		{ 0x5f, 0x9c, 0x95, 0xbc, 0xa3, 0x50, 0x8c, 0x24, 0xb1, 0xd0,
		  0xb1, 0x55, 0x9c, 0x83, 0xef, 0x5b, 0x04, 0x44, 0x5c, 0xc4,
		  0x58, 0x1c, 0x8e, 0x86, 0xd8, 0x22, 0x4e, 0xdd, 0xd0, 0x9f,
		  0x11, 0x57 },
	};
	uint8_t pub[32];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(wa_xeddsa_verify(bad[i], alice_msg,
		    sizeof(alice_msg), alice_sig) == WA_EMALFORM,
		    "bad key %zu not refused as malformed", i);
	/* a valid key with the top bit set is non-canonical too */
	memcpy(pub, alice_pub, 32);
	pub[31] |= 0x80;
	ck_assert_int_eq(wa_xeddsa_verify(pub, alice_msg, sizeof(alice_msg),
	    alice_sig), WA_EMALFORM);
}
END_TEST

/* A u on the quadratic twist (u^3 + 486662 u^2 + u is not a square mod p;
 * picked at random and checked with Python) has no point on the curve:
 * nothing verifies with it, in either sign. */
START_TEST(twist_key_verifies_nothing)
{
	static const uint8_t twist[32] = {
		0xf7, 0xb1, 0x65, 0x22, 0x4a, 0x58, 0xb7, 0x91, 0xdf, 0x6a,
		0xf1, 0xd8, 0x30, 0x3e, 0x61, 0xcd, 0xc4, 0xbb, 0x86, 0xc3,
		0xd1, 0xc4, 0x27, 0x10, 0x3c, 0x34, 0x4c, 0x41, 0xc4, 0xf5,
		0x17, 0x0f,
	};
	uint8_t sig[64];

	memcpy(sig, alice_sig, 64);
	ck_assert_int_eq(wa_xeddsa_verify(twist, alice_msg, sizeof(alice_msg),
	    sig), WA_ECRYPTO);
	sig[63] ^= 0x80;
	ck_assert_int_eq(wa_xeddsa_verify(twist, alice_msg, sizeof(alice_msg),
	    sig), WA_ECRYPTO);
}
END_TEST

/* --- root key ------------------------------------------------------------- */

START_TEST(root_hex_parses)
{
	/* Baileys WA_CERT_DETAILS.PUBLIC_KEY, as hex */
	static const char hex[] =
	    "142375574d0a587166aae71ebe516437c4a28b73e3695c6ce1f7f9545da8ee6b";
	static const char upper[] =
	    "142375574D0A587166AAE71EBE516437C4A28B73E3695C6CE1F7F9545DA8EE6B";
	uint8_t k[32];

	ck_assert_int_eq(wa_cert_parse_root_hex(hex, k), 0);
	ck_assert_mem_eq(k, wa_cert_whatsapp_root, 32);
	memset(k, 0, 32);
	ck_assert_int_eq(wa_cert_parse_root_hex(upper, k), 0);
	ck_assert_mem_eq(k, wa_cert_whatsapp_root, 32);
}
END_TEST

START_TEST(root_hex_refuses_anything_else)
{
	static const char *const bad[] = {
		"",
		"142375574d0a587166aae71ebe516437c4a28b73e3695c6ce1f7f9545da8ee6",
		"142375574d0a587166aae71ebe516437c4a28b73e3695c6ce1f7f9545da8ee6b0",
		"142375574d0a587166aae71ebe516437c4a28b73e3695c6ce1f7f9545da8ee6g",
		"0x142375574d0a587166aae71ebe516437c4a28b73e3695c6ce1f7f9545da8ee",
		"142375574d0a587166aae71ebe516437c4a28b73e3695c6ce1f7f9545da8ee6b\n",
		" 142375574d0a587166aae71ebe516437c4a28b73e3695c6ce1f7f9545da8ee6b",
		"142375574d0a5871 6aae71ebe516437c4a28b73e3695c6ce1f7f9545da8ee6b",
		NULL,
	};
	uint8_t k[32], zero[32] = { 0 };

	for (int i = 0; bad[i] != NULL; i++) {
		memset(k, 0, 32);
		ck_assert_msg(wa_cert_parse_root_hex(bad[i], k) < 0,
		    "accepted \"%s\"", bad[i]);
		ck_assert_mem_eq(k, zero, 32);   /* untouched on failure */
	}
	ck_assert_int_lt(wa_cert_parse_root_hex(NULL, k), 0);
}
END_TEST

/* --- chains ----------------------------------------------------------------- */

/* 2026-01-01T00:00:00Z and 2027-01-01T00:00:00Z */
#define T0 UINT64_C(1767225600)
#define T1 UINT64_C(1798761600)

static uint8_t root_priv[32], root_pub[32];
static uint8_t inter_priv[32], inter_pub[32];
static uint8_t static_priv[32], static_pub[32];
static uint8_t other_priv[32], other_pub[32];
static const uint8_t zero_key[32];

static void
chain_setup(void)
{
	ls_setup();
	ossl_keypair(root_priv, root_pub);
	ossl_keypair(inter_priv, inter_pub);
	ossl_keypair(static_priv, static_pub);
	ossl_keypair(other_priv, other_pub);
}

/* One certificate of a hand-built chain; the defaults make a good one and
 * each case changes one thing. */
struct cspec {
	int omit, no_details, no_sig, flip_sig, flip_details, garbage_details;
	size_t siglen;
	int has_serial, has_issuer, has_key, has_nb, has_na;
	uint32_t serial, issuer;
	const uint8_t *key;
	size_t keylen;
	const uint8_t *signer;
	uint64_t nb, na;
};

struct spec {
	struct cspec i, l;
	uint64_t now;
};

static struct spec
good_spec(void)
{
	struct spec s = {
		.i = { .siglen = 64, .has_serial = 1, .has_issuer = 1,
		    .has_key = 1, .has_nb = 1, .has_na = 1, .serial = 4,
		    .issuer = 0, .key = inter_pub, .keylen = 32,
		    .signer = root_priv, .nb = T0, .na = T1 },
		.l = { .siglen = 64, .has_serial = 1, .has_issuer = 1,
		    .has_key = 1, .has_nb = 1, .has_na = 1, .serial = 5,
		    .issuer = 4, .key = static_pub, .keylen = 32,
		    .signer = inter_priv, .nb = T0, .na = T1 },
		.now = T0 + 100,
	};
	return s;
}

struct built {
	uint8_t *blob;
	uint8_t sig[65];
};

static void
build_cert(const struct cspec *c, Cert *out, struct built *b)
{
	static const uint8_t garbage[] = { 0xff, 0xff, 0xff };
	Details d = WA__CERT_CHAIN__NOISE_CERTIFICATE__DETAILS__INIT;
	size_t n;

	d.has_serial = c->has_serial;
	d.serial = c->serial;
	d.has_issuerserial = c->has_issuer;
	d.issuerserial = c->issuer;
	d.has_key = c->has_key;
	d.key.data = (uint8_t *)c->key;
	d.key.len = c->keylen;
	d.has_notbefore = c->has_nb;
	d.notbefore = c->nb;
	d.has_notafter = c->has_na;
	d.notafter = c->na;
	if (c->garbage_details) {
		n = sizeof(garbage);
		b->blob = malloc(n);
		ck_assert_ptr_nonnull(b->blob);
		memcpy(b->blob, garbage, n);
	} else {
		n = protobuf_c_message_get_packed_size(&d.base);
		b->blob = malloc(n);
		ck_assert_ptr_nonnull(b->blob);
		ck_assert_uint_eq(protobuf_c_message_pack(&d.base, b->blob), n);
	}
	ck_assert_int_eq(wa_xeddsa_sign(c->signer, b->blob, n, b->sig), 0);
	b->sig[64] = 0;
	if (c->flip_sig)
		b->sig[10] ^= 0x04;
	if (c->flip_details)
		b->blob[n - 1] ^= 0x01;
	out->has_details = !c->no_details;
	out->details.data = b->blob;
	out->details.len = n;
	out->has_signature = !c->no_sig;
	out->signature.data = b->sig;
	out->signature.len = c->siglen;
}

static void
build_chain(const struct spec *s, struct wa_buf *out)
{
	Cert ic = WA__CERT_CHAIN__NOISE_CERTIFICATE__INIT;
	Cert lc = WA__CERT_CHAIN__NOISE_CERTIFICATE__INIT;
	Wa__CertChain ch = WA__CERT_CHAIN__INIT;
	struct built bi = { 0 }, bl = { 0 };
	size_t n;

	build_cert(&s->i, &ic, &bi);
	build_cert(&s->l, &lc, &bl);
	ch.intermediate = s->i.omit ? NULL : &ic;
	ch.leaf = s->l.omit ? NULL : &lc;
	n = wa__cert_chain__get_packed_size(&ch);
	ck_assert_int_eq(wa_buf_reserve(out, n), 0);
	out->len += wa__cert_chain__pack(&ch, out->data + out->len);
	free(bi.blob);
	free(bl.blob);
}

static void m_good(struct spec *s) { (void)s; }
static void m_no_serials(struct spec *s)
{ s->i.has_serial = s->i.has_issuer = s->l.has_issuer = 0; }
static void m_no_not_before(struct spec *s) { s->i.has_nb = s->l.has_nb = 0; }
static void m_at_not_before(struct spec *s) { s->now = T0; }
static void m_at_not_after(struct spec *s) { s->now = T1; }
static void m_wrong_root(struct spec *s) { s->i.signer = other_priv; }
static void m_i_issuer(struct spec *s) { s->i.issuer = 3; }
static void m_l_issuer(struct spec *s) { s->l.issuer = 5; }
static void m_l_issuer_absent(struct spec *s) { s->l.has_issuer = 0; }
static void m_l_key_not_static(struct spec *s) { s->l.key = other_pub; }
static void m_i_not_yet(struct spec *s) { s->i.nb = T0 + 200; }
static void m_l_not_yet(struct spec *s) { s->l.nb = T0 + 200; }
static void m_i_expired(struct spec *s) { s->i.na = T0 + 50; }
static void m_l_expired(struct spec *s) { s->l.na = T0 + 50; }
static void m_now_huge(struct spec *s) { s->now = UINT64_MAX; }
static void m_i_missing(struct spec *s) { s->i.omit = 1; }
static void m_l_missing(struct spec *s) { s->l.omit = 1; }
static void m_i_no_details(struct spec *s) { s->i.no_details = 1; }
static void m_l_no_details(struct spec *s) { s->l.no_details = 1; }
static void m_i_no_sig(struct spec *s) { s->i.no_sig = 1; }
static void m_l_no_sig(struct spec *s) { s->l.no_sig = 1; }
static void m_i_long_sig(struct spec *s) { s->i.siglen = 65; }
static void m_l_short_sig(struct spec *s) { s->l.siglen = 63; }
static void m_i_bad_sig(struct spec *s) { s->i.flip_sig = 1; }
static void m_i_altered(struct spec *s) { s->i.flip_details = 1; }
static void m_l_bad_sig(struct spec *s) { s->l.flip_sig = 1; }
static void m_l_altered(struct spec *s) { s->l.flip_details = 1; }
static void m_l_signed_by_root(struct spec *s) { s->l.signer = root_priv; }
static void m_i_key_short(struct spec *s) { s->i.keylen = 31; }
static void m_i_no_key(struct spec *s) { s->i.has_key = 0; }
static void m_l_no_key(struct spec *s) { s->l.has_key = 0; }
static void m_l_key_long(struct spec *s) { s->l.keylen = 33; s->l.key = alice_msg; }
static void m_i_key_small(struct spec *s) { s->i.key = zero_key; }
static void m_i_garbage(struct spec *s) { s->i.garbage_details = 1; }
static void m_l_garbage(struct spec *s) { s->l.garbage_details = 1; }
static void m_i_no_na(struct spec *s) { s->i.has_na = 0; }
static void m_l_no_na(struct spec *s) { s->l.has_na = 0; }

static const struct chain_case {
	const char *name;
	void (*mutate)(struct spec *);
	const char *why;            /* NULL: the chain must verify */
} chain_cases[] = {
	{ "good", m_good, NULL },
	{ "serials omitted count as 0", m_no_serials, NULL },
	{ "no notBefore: no lower bound", m_no_not_before, NULL },
	{ "now = notBefore", m_at_not_before, NULL },
	{ "now = notAfter", m_at_not_after, NULL },
	{ "wrong root", m_wrong_root,
	  "intermediate certificate: signature does not verify with the root key" },
	{ "intermediate issuerSerial", m_i_issuer,
	  "intermediate issuerSerial is 3, expected 0" },
	{ "leaf issuerSerial", m_l_issuer,
	  "leaf issuerSerial is 5, expected 4 (the intermediate's serial)" },
	{ "leaf issuerSerial absent", m_l_issuer_absent,
	  "leaf issuerSerial is 0, expected 4 (the intermediate's serial)" },
	{ "leaf key is not the static key", m_l_key_not_static,
	  "leaf key does not match the server's static key" },
	{ "intermediate not yet valid", m_i_not_yet,
	  "intermediate certificate not valid before 2026-01-01T00:03:20Z "
	  "(now 2026-01-01T00:01:40Z)" },
	{ "leaf not yet valid", m_l_not_yet,
	  "leaf certificate not valid before 2026-01-01T00:03:20Z "
	  "(now 2026-01-01T00:01:40Z)" },
	{ "intermediate expired", m_i_expired,
	  "intermediate certificate expired at 2026-01-01T00:00:50Z "
	  "(now 2026-01-01T00:01:40Z)" },
	{ "leaf expired", m_l_expired,
	  "leaf certificate expired at 2026-01-01T00:00:50Z "
	  "(now 2026-01-01T00:01:40Z)" },
	{ "now far beyond any date", m_now_huge,
	  "intermediate certificate expired at 2027-01-01T00:00:00Z "
	  "(now 18446744073709551615 (unix time))" },
	{ "intermediate missing", m_i_missing,
	  "intermediate certificate missing" },
	{ "leaf missing", m_l_missing, "leaf certificate missing" },
	{ "intermediate without details", m_i_no_details,
	  "intermediate certificate has no details" },
	{ "leaf without details", m_l_no_details,
	  "leaf certificate has no details" },
	{ "intermediate without signature", m_i_no_sig,
	  "intermediate certificate has no signature" },
	{ "leaf without signature", m_l_no_sig,
	  "leaf certificate has no signature" },
	{ "intermediate signature too long", m_i_long_sig,
	  "intermediate certificate signature is 65 bytes, expected 64" },
	{ "leaf signature too short", m_l_short_sig,
	  "leaf certificate signature is 63 bytes, expected 64" },
	{ "intermediate signature corrupted", m_i_bad_sig,
	  "intermediate certificate: signature does not verify with the root key" },
	{ "intermediate details altered", m_i_altered,
	  "intermediate certificate: signature does not verify with the root key" },
	{ "leaf signature corrupted", m_l_bad_sig,
	  "leaf certificate: signature does not verify with the intermediate key" },
	{ "leaf details altered", m_l_altered,
	  "leaf certificate: signature does not verify with the intermediate key" },
	{ "leaf signed by the root", m_l_signed_by_root,
	  "leaf certificate: signature does not verify with the intermediate key" },
	{ "intermediate key 31 bytes", m_i_key_short,
	  "intermediate key is 31 bytes, expected 32" },
	{ "intermediate without key", m_i_no_key,
	  "intermediate certificate has no key" },
	{ "leaf without key", m_l_no_key, "leaf certificate has no key" },
	{ "leaf key 33 bytes", m_l_key_long,
	  "leaf key is 33 bytes, expected 32" },
	{ "intermediate key of small order", m_i_key_small,
	  "leaf certificate: the intermediate key is not a usable X25519 "
	  "public key" },
	{ "intermediate details not a protobuf", m_i_garbage,
	  "intermediate certificate: details are not a valid Details protobuf" },
	{ "leaf details not a protobuf", m_l_garbage,
	  "leaf certificate: details are not a valid Details protobuf" },
	{ "intermediate without notAfter", m_i_no_na,
	  "intermediate certificate has no notAfter" },
	{ "leaf without notAfter", m_l_no_na,
	  "leaf certificate has no notAfter" },
};
#define NCASES ((int)(sizeof(chain_cases) / sizeof(chain_cases[0])))

START_TEST(chain_case)
{
	const struct chain_case *c = &chain_cases[_i];
	struct spec s = good_spec();
	struct wa_buf b = { 0 };
	char why[256];
	int rc;

	c->mutate(&s);
	build_chain(&s, &b);
	memset(why, 'x', sizeof(why));
	rc = wa_cert_verify_chain(b.data, b.len, root_pub, static_pub, s.now,
	    why, sizeof(why));
	if (c->why == NULL) {
		ck_assert_msg(rc == 0, "%s: rejected: %s", c->name, why);
		ck_assert_str_eq(why, "");
	} else {
		ck_assert_msg(rc == WA_ECERT, "%s: rc %d", c->name, rc);
		ck_assert_msg(strcmp(why, c->why) == 0,
		    "%s:\n  want: %s\n  got:  %s", c->name, c->why, why);
	}
	wa_buf_free(&b);
}
END_TEST

START_TEST(issued_chain_verifies)
{
	struct wa_buf b = { 0 };
	Wa__CertChain *ch;
	Details *d;
	char why[256];

	/* appends: what was in the buffer stays */
	ck_assert_int_eq(wa_buf_put(&b, "hdr", 3), 0);
	ck_assert_int_eq(wa_cert_issue_chain(root_priv, static_pub, 7, T0, T1,
	    &b), 0);
	ck_assert_mem_eq(b.data, "hdr", 3);
	ck_assert_int_eq(wa_cert_verify_chain(b.data + 3, b.len - 3, root_pub,
	    static_pub, T0 + 1, why, sizeof(why)), 0);

	ch = wa__cert_chain__unpack(NULL, b.len - 3, b.data + 3);
	ck_assert_ptr_nonnull(ch);
	ck_assert_ptr_nonnull(ch->intermediate);
	ck_assert_ptr_nonnull(ch->leaf);
	ck_assert_uint_eq(ch->intermediate->signature.len, 64);
	ck_assert_uint_eq(ch->leaf->signature.len, 64);
	d = (Details *)protobuf_c_message_unpack(
	    &wa__cert_chain__noise_certificate__details__descriptor, NULL,
	    ch->intermediate->details.len, ch->intermediate->details.data);
	ck_assert_ptr_nonnull(d);
	ck_assert(d->has_serial && d->serial == 7);
	ck_assert(d->has_issuerserial && d->issuerserial == 0);
	ck_assert(d->has_key && d->key.len == 32);
	ck_assert(d->has_notbefore && d->notbefore == T0);
	ck_assert(d->has_notafter && d->notafter == T1);
	/* the intermediate key is fresh, none of the others */
	ck_assert_mem_ne(d->key.data, root_pub, 32);
	ck_assert_mem_ne(d->key.data, static_pub, 32);
	protobuf_c_message_free_unpacked(&d->base, NULL);
	d = (Details *)protobuf_c_message_unpack(
	    &wa__cert_chain__noise_certificate__details__descriptor, NULL,
	    ch->leaf->details.len, ch->leaf->details.data);
	ck_assert_ptr_nonnull(d);
	ck_assert(d->has_issuerserial && d->issuerserial == 7);
	ck_assert(d->has_key && d->key.len == 32);
	ck_assert_mem_eq(d->key.data, static_pub, 32);
	ck_assert(d->has_notbefore && d->notbefore == T0);
	ck_assert(d->has_notafter && d->notafter == T1);
	protobuf_c_message_free_unpacked(&d->base, NULL);
	wa__cert_chain__free_unpacked(ch, NULL);
	wa_buf_free(&b);
}
END_TEST

START_TEST(issued_chain_checks_time_and_keys)
{
	struct wa_buf b = { 0 }, b2 = { 0 };
	char why[256];

	ck_assert_int_eq(wa_cert_issue_chain(root_priv, static_pub, 1, T0, T1,
	    &b), 0);
	ck_assert_int_eq(wa_cert_verify_chain(b.data, b.len, root_pub,
	    static_pub, T0, why, sizeof(why)), 0);
	ck_assert_int_eq(wa_cert_verify_chain(b.data, b.len, root_pub,
	    static_pub, T1, why, sizeof(why)), 0);
	ck_assert_int_eq(wa_cert_verify_chain(b.data, b.len, root_pub,
	    static_pub, T0 - 1, why, sizeof(why)), WA_ECERT);
	ck_assert_str_eq(why, "intermediate certificate not valid before "
	    "2026-01-01T00:00:00Z (now 2025-12-31T23:59:59Z)");
	ck_assert_int_eq(wa_cert_verify_chain(b.data, b.len, root_pub,
	    static_pub, T1 + 1, why, sizeof(why)), WA_ECERT);
	ck_assert_str_eq(why, "intermediate certificate expired at "
	    "2027-01-01T00:00:00Z (now 2027-01-01T00:00:01Z)");
	ck_assert_int_eq(wa_cert_verify_chain(b.data, b.len, root_pub,
	    other_pub, T0, why, sizeof(why)), WA_ECERT);
	ck_assert_str_eq(why, "leaf key does not match the server's static key");
	ck_assert_int_eq(wa_cert_verify_chain(b.data, b.len, other_pub,
	    static_pub, T0, why, sizeof(why)), WA_ECERT);
	ck_assert_str_eq(why,
	    "intermediate certificate: signature does not verify with the root key");

	/* every chain has its own intermediate key */
	ck_assert_int_eq(wa_cert_issue_chain(root_priv, static_pub, 1, T0, T1,
	    &b2), 0);
	ck_assert(b.len != b2.len || memcmp(b.data, b2.data, b.len) != 0);
	wa_buf_free(&b);
	wa_buf_free(&b2);
}
END_TEST

START_TEST(whatsapp_root_rejects_test_chain)
{
	struct wa_buf b = { 0 };
	char why[256];

	ck_assert_mem_eq(wa_cert_whatsapp_root,
	    "\x14\x23\x75\x57\x4d\x0a\x58\x71", 8);
	ck_assert_int_eq(wa_cert_issue_chain(root_priv, static_pub, 1, T0, T1,
	    &b), 0);
	ck_assert_int_eq(wa_cert_verify_chain(b.data, b.len,
	    wa_cert_whatsapp_root, static_pub, T0 + 1, why, sizeof(why)),
	    WA_ECERT);
	ck_assert_str_eq(why,
	    "intermediate certificate: signature does not verify with the root key");
	wa_buf_free(&b);
}
END_TEST

START_TEST(garbage_is_rejected)
{
	static const uint8_t ff[] = { 0xff, 0xff, 0xff, 0xff };
	uint8_t zeros[100] = { 0 }, rnd[256];
	struct wa_buf b = { 0 };
	char why[256];

	ck_assert_int_eq(wa_cert_verify_chain(ff, sizeof(ff), root_pub,
	    static_pub, T0, why, sizeof(why)), WA_ECERT);
	ck_assert_str_eq(why,
	    "certificate chain is not a valid CertChain protobuf (4 bytes)");
	ck_assert_int_eq(wa_cert_verify_chain(zeros, sizeof(zeros), root_pub,
	    static_pub, T0, why, sizeof(why)), WA_ECERT);
	ck_assert_int_eq(wa_cert_verify_chain(NULL, 0, root_pub, static_pub,
	    T0, why, sizeof(why)), WA_ECERT);
	ck_assert_str_eq(why, "intermediate certificate missing");
	ck_assert_int_eq(wa_cert_verify_chain(NULL, 5, root_pub, static_pub,
	    T0, why, sizeof(why)), WA_ECERT);

	/* every proper prefix of a good chain is refused, with a reason */
	ck_assert_int_eq(wa_cert_issue_chain(root_priv, static_pub, 1, T0, T1,
	    &b), 0);
	for (size_t n = 0; n < b.len; n++) {
		why[0] = '\0';
		ck_assert_msg(wa_cert_verify_chain(b.data, n, root_pub,
		    static_pub, T0, why, sizeof(why)) == WA_ECERT,
		    "prefix of %zu bytes accepted", n);
		ck_assert_msg(why[0] != '\0', "prefix %zu: no reason", n);
	}
	wa_buf_free(&b);

	for (int i = 0; i < ROUNDS; i++) {
		size_t n = (size_t)(i * 7 % (int)sizeof(rnd));
		random_bytes(rnd, n);
		ck_assert_int_eq(wa_cert_verify_chain(rnd, n, root_pub,
		    static_pub, T0, why, sizeof(why)), WA_ECERT);
	}
}
END_TEST

START_TEST(why_buffer_is_optional_and_bounded)
{
	struct wa_buf b = { 0 };
	char why[12];

	ck_assert_int_eq(wa_cert_issue_chain(root_priv, static_pub, 1, T0, T1,
	    &b), 0);
	ck_assert_int_eq(wa_cert_verify_chain(b.data, b.len, other_pub,
	    static_pub, T0, NULL, 0), WA_ECERT);
	memset(why, 'x', sizeof(why));
	ck_assert_int_eq(wa_cert_verify_chain(b.data, b.len, other_pub,
	    static_pub, T0, why, sizeof(why)), WA_ECERT);
	ck_assert_str_eq(why, "intermediat");
	wa_buf_free(&b);
}
END_TEST

static Suite *
cert_suite(void)
{
	Suite *s = suite_create("cert");
	TCase *tc = tcase_create("xeddsa");

	tcase_add_checked_fixture(tc, ls_setup, ls_teardown);
	tcase_set_timeout(tc, 60);   /* sanitizer builds are slow */
	tcase_add_test(tc, signal_vector_verifies);
	tcase_add_test(tc, libsignal_signs_we_verify);
	tcase_add_test(tc, we_sign_libsignal_verifies);
	tcase_add_test(tc, unclamped_private_key_signs_for_its_public_key);
	tcase_add_test(tc, signatures_are_randomized);
	tcase_add_test(tc, every_flipped_bit_fails);
	tcase_add_test(tc, empty_and_large_messages);
	tcase_add_test(tc, bad_public_keys_are_refused);
	tcase_add_test(tc, twist_key_verifies_nothing);
	suite_add_tcase(s, tc);

	tc = tcase_create("root");
	tcase_add_test(tc, root_hex_parses);
	tcase_add_test(tc, root_hex_refuses_anything_else);
	suite_add_tcase(s, tc);

	tc = tcase_create("chain");
	tcase_add_checked_fixture(tc, chain_setup, ls_teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_loop_test(tc, chain_case, 0, NCASES);
	tcase_add_test(tc, issued_chain_verifies);
	tcase_add_test(tc, issued_chain_checks_time_and_keys);
	tcase_add_test(tc, whatsapp_root_rejects_test_chain);
	tcase_add_test(tc, garbage_is_rejected);
	tcase_add_test(tc, why_buffer_is_optional_and_bounded);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(cert_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
