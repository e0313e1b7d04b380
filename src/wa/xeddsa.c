/*
 * src/wa/xeddsa.c: XEdDSA signatures with X25519 keys, the Signal way.
 *
 * The signature format is the one libsignal's curve25519_sign writes and
 * WhatsApp uses everywhere (certificates, pre-keys, device identities): a
 * plain Ed25519 signature R || S made with the Edwards form of the X25519
 * key, with the sign bit of that Edwards key stored in the top bit of the
 * last byte (S is below 2^253, so that bit is otherwise always zero).
 *
 * Verify is OpenSSL only: the public key is data from the network, and all
 * that is needed is a change of coordinates plus a stock Ed25519 check.
 * Sign needs the X25519 scalar used directly as the Ed25519 scalar, which
 * no OpenSSL API accepts (Ed25519 keys are seeds, hashed before use), so it
 * goes through libsignal-protocol-c's public curve_calculate_signature.
 */
#include <string.h>
#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <signal/signal_protocol.h>
#include <signal/curve.h>
#include "wa/cert.h"

/*
 * X25519 public keys of small order (the identity-ish points of order 1, 2,
 * 4 and 8), little-endian, canonical forms only (non-canonical encodings
 * are refused before this list is consulted).  A signature "by" such a key
 * proves nothing: with a cofactorless verifier, [k]A takes at most 8 values
 * and a forger can try R until it matches.  No honest key is one of them,
 * since an X25519 public key is a clamped multiple of a prime-order point.
 * 0 maps to the Edwards point (0, -1), 1 to (±sqrt(-1), 0); the two order-8
 * u were computed from y^2 = (-1 + sqrt(1 + d)) / d on edwards25519.
 */
static const uint8_t small_order[4][32] = {
	{ 0 },
	{ 1 },
	{ 0xe0, 0xeb, 0x7a, 0x7c, 0x3b, 0x41, 0xb8, 0xae, 0x16, 0x56, 0xe3,
	  0xfa, 0xf1, 0x9f, 0xc4, 0x6a, 0xda, 0x09, 0x8d, 0xeb, 0x9c, 0x32,
	  0xb1, 0xfd, 0x86, 0x62, 0x05, 0x16, 0x5f, 0x49, 0xb8, 0x00 },
	{ 0x5f, 0x9c, 0x95, 0xbc, 0xa3, 0x50, 0x8c, 0x24, 0xb1, 0xd0, 0xb1,
	  0x55, 0x9c, 0x83, 0xef, 0x5b, 0x04, 0x44, 0x5c, 0xc4, 0x58, 0x1c,
	  0x8e, 0x86, 0xd8, 0x22, 0x4e, 0xdd, 0xd0, 0x9f, 0x11, 0x57 },
};

/*
 * Montgomery u -> Edwards y = (u - 1) / (u + 1) mod p, p = 2^255 - 19,
 * both little-endian.  BIGNUM is not constant-time, which is fine: only
 * public keys pass through here.  Refuses u >= p (XEdDSA's verify does
 * too; X25519 itself would silently reduce it), u = p - 1 (u + 1 has no
 * inverse) and the small-order keys above.
 */
static int
mont_to_edwards(const uint8_t u_le[32], uint8_t y_le[32])
{
	BN_CTX *bc;
	BIGNUM *p, *u, *num, *den, *y;
	int rc = WA_ENOMEM;

	for (size_t i = 0; i < sizeof(small_order) / sizeof(small_order[0]); i++)
		if (memcmp(u_le, small_order[i], 32) == 0)
			return WA_EMALFORM;
	if ((bc = BN_CTX_new()) == NULL)
		return WA_ENOMEM;
	BN_CTX_start(bc);
	p = BN_CTX_get(bc);
	u = BN_CTX_get(bc);
	num = BN_CTX_get(bc);
	den = BN_CTX_get(bc);
	y = BN_CTX_get(bc);
	if (y == NULL)               /* BN_CTX_get fails for good once it fails */
		goto out;
	BN_zero(p);
	if (!BN_set_bit(p, 255) || !BN_sub_word(p, 19) ||
	    BN_lebin2bn(u_le, 32, u) == NULL)
		goto out;
	rc = WA_EMALFORM;
	if (BN_cmp(u, p) >= 0)
		goto out;
	rc = WA_ENOMEM;
	if (!BN_copy(num, u) || !BN_copy(den, u) || !BN_add_word(den, 1))
		goto out;
	if (BN_cmp(den, p) == 0) {   /* u = p - 1 */
		rc = WA_EMALFORM;
		goto out;
	}
	/* u < p - 1 here, so u + 1 < p; u - 1 wraps to p - 1 when u = 0, but
	 * 0 is in the small-order list and never gets here. */
	if (!BN_sub_word(num, 1) ||
	    BN_mod_inverse(den, den, p, bc) == NULL ||
	    !BN_mod_mul(y, num, den, p, bc) ||
	    BN_bn2lebinpad(y, y_le, 32) != 32)
		goto out;
	rc = 0;
out:
	BN_CTX_end(bc);
	BN_CTX_free(bc);
	return rc;
}

int
wa_xeddsa_verify(const uint8_t pub[32], const uint8_t *msg, size_t len,
    const uint8_t sig[64])
{
	static const uint8_t empty[1];
	uint8_t ed[32], s[64];
	EVP_PKEY *pk = NULL;
	EVP_MD_CTX *mc = NULL;
	int rc;

	if ((rc = mont_to_edwards(pub, ed)) < 0)
		return rc;
	memcpy(s, sig, 64);
	ed[31] |= s[63] & 0x80;
	s[63] &= 0x7f;
	/* A u on the twist gives a y with no x on the curve; OpenSSL finds
	 * that out inside the verify, which then just fails (WA_ECRYPTO). */
	rc = WA_ENOMEM;
	if ((pk = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, ed,
	    sizeof(ed))) == NULL ||
	    (mc = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestVerifyInit(mc, NULL, NULL, NULL, pk) != 1)
		goto out;
	rc = EVP_DigestVerify(mc, s, sizeof(s), msg != NULL ? msg : empty,
	    len) == 1 ? 0 : WA_ECRYPTO;
out:
	/* A failed check leaves OpenSSL errors queued on this thread; they
	 * are not ours to report and would confuse the next caller that
	 * reads the queue. */
	if (rc != 0)
		ERR_clear_error();
	EVP_MD_CTX_free(mc);
	EVP_PKEY_free(pk);
	return rc;
}

/*
 * libsignal's crypto provider.  Signing calls only random_func (64 bytes
 * of nonce randomness; it hashes with its own bundled SHA-512), but
 * signal_context_set_crypto_provider refuses a provider without the four
 * HMAC-SHA256 callbacks.  They are stubs that fail: nothing on this path
 * calls them, and if a future libsignal did, signing would fail loudly
 * instead of running code no test has exercised.
 */
static int
sig_random(uint8_t *data, size_t len, void *user)
{
	(void)user;
	if (len > (size_t)INT32_MAX)
		return SG_ERR_INVAL;
	return RAND_bytes(data, (int)len) == 1 ? SG_SUCCESS : SG_ERR_UNKNOWN;
}

static int
sig_hmac_init(void **hctx, const uint8_t *key, size_t len, void *user)
{
	(void)hctx; (void)key; (void)len; (void)user;
	return SG_ERR_UNKNOWN;
}

static int
sig_hmac_update(void *hctx, const uint8_t *data, size_t len, void *user)
{
	(void)hctx; (void)data; (void)len; (void)user;
	return SG_ERR_UNKNOWN;
}

static int
sig_hmac_final(void *hctx, signal_buffer **out, void *user)
{
	(void)hctx; (void)out; (void)user;
	return SG_ERR_UNKNOWN;
}

static void
sig_hmac_cleanup(void *hctx, void *user)
{
	(void)hctx; (void)user;
}

/*
 * A signal_context lives for one call: no process-wide state, safe from
 * any thread without libsignal's locking callbacks.  It costs a calloc and
 * a free of a small struct, next to the two scalar multiplications of the
 * signature itself; and signing is rare (a certificate, a pre-key batch, a
 * pairing), so keeping a context in a caller-owned struct would buy
 * nothing measurable.
 */
int
wa_xeddsa_sign(const uint8_t priv[32], const uint8_t *msg, size_t len,
    uint8_t sig[64])
{
	static const uint8_t empty[1];
	static const signal_crypto_provider provider = {
		.random_func = sig_random,
		.hmac_sha256_init_func = sig_hmac_init,
		.hmac_sha256_update_func = sig_hmac_update,
		.hmac_sha256_final_func = sig_hmac_final,
		.hmac_sha256_cleanup_func = sig_hmac_cleanup,
	};
	signal_context *ctx = NULL;
	ec_private_key *key = NULL;
	signal_buffer *out = NULL;
	uint8_t k[32];
	int rc = WA_ECRYPTO;

	/*
	 * curve25519_sign uses the 32 bytes as the scalar as they are, while
	 * X25519 clamps before every use, so any 32 bytes are a valid X25519
	 * private key.  libsignal and OpenSSL clamp the keys they generate,
	 * but a key imported from elsewhere need not be; unclamped, the
	 * signature would belong to a different public key than the one
	 * X25519 derives.  Clamping a clamped key changes nothing.
	 */
	memcpy(k, priv, 32);
	k[0] &= 248;
	k[31] &= 127;
	k[31] |= 64;
	if (signal_context_create(&ctx, NULL) != 0) {
		rc = WA_ENOMEM;
		goto out;
	}
	if (signal_context_set_crypto_provider(ctx, &provider) != 0 ||
	    curve_decode_private_point(&key, k, sizeof(k), ctx) != 0 ||
	    curve_calculate_signature(ctx, &out, key,
	        msg != NULL ? msg : empty, len) != 0 ||
	    out == NULL || signal_buffer_len(out) != 64)
		goto out;
	memcpy(sig, signal_buffer_data(out), 64);
	rc = 0;
out:
	/* libsignal wipes its copy of the key when it frees it; this is ours. */
	OPENSSL_cleanse(k, sizeof(k));
	if (out != NULL)
		signal_buffer_free(out);
	SIGNAL_UNREF(key);
	if (ctx != NULL)
		signal_context_destroy(ctx);
	return rc;
}
