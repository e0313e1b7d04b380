/*
 * src/wa/noise.c: Noise_XX_25519_AESGCM_SHA256 on OpenSSL 3 EVP.
 *
 * Costs: a transport cipher keeps one keyed EVP_CIPHER_CTX (struct
 * wa_cipher), so a frame costs an IV set and the GCM pass, no allocation
 * and no key schedule (tools/bench/bench_transport).  The handshake's
 * AEAD calls still make a context each (a key serves a message or two),
 * and every HKDF fetches the KDF from the provider store (~2.5 us each):
 * a handshake happens once per connection.
 */
#include <limits.h>
#include <string.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/params.h>
#include "wa/noise.h"

#define HASHLEN 32
#define DHLEN   32

/* Noise's rule for the initial h: a name of at most HASHLEN bytes is
 * padded with zeros, a longer one hashed. */
static const char noise_name[] = "Noise_XX_25519_AESGCM_SHA256";
/* WhatsApp's constant, already padded: the same 32 bytes. */
static const uint8_t wa_noise_name[HASHLEN] = {
	'N', 'o', 'i', 's', 'e', '_', 'X', 'X', '_', '2', '5', '5', '1', '9',
	'_', 'A', 'E', 'S', 'G', 'C', 'M', '_', 'S', 'H', 'A', '2', '5', '6',
	0, 0, 0, 0
};

/* OpenSSL queues errors per thread, and a stale entry would make a later
 * SSL_get_error() on the TLS connection (libwebsockets) report a failure
 * that did not happen.  So every function here that calls EVP sets a mark
 * first and pops back to it at the end: whatever OpenSSL queued for us
 * goes, and what others queued before stays. */
static int
evp_done(int ok)
{
	ERR_pop_to_mark();
	return ok ? 0 : WA_ECRYPTO;
}

static int
key_unset(const uint8_t pub[32])
{
	uint8_t acc = 0;

	for (int i = 0; i < 32; i++)
		acc |= pub[i];
	return acc == 0;
}

/* --- X25519 --------------------------------------------------------------- */

static int
keypair_from_pkey(EVP_PKEY *pk, struct wa_keypair *kp)
{
	size_t n1 = sizeof(kp->priv), n2 = sizeof(kp->pub);

	return EVP_PKEY_get_raw_private_key(pk, kp->priv, &n1) > 0 &&
	    n1 == sizeof(kp->priv) &&
	    EVP_PKEY_get_raw_public_key(pk, kp->pub, &n2) > 0 &&
	    n2 == sizeof(kp->pub);
}

int
wa_keypair_generate(struct wa_keypair *kp)
{
	EVP_PKEY_CTX *ctx;
	EVP_PKEY *pk = NULL;
	int ok;

	ERR_set_mark();
	ctx = EVP_PKEY_CTX_new_id(EVP_PKEY_X25519, NULL);
	ok = ctx != NULL && EVP_PKEY_keygen_init(ctx) > 0 &&
	    EVP_PKEY_keygen(ctx, &pk) > 0 && keypair_from_pkey(pk, kp);
	EVP_PKEY_free(pk);
	EVP_PKEY_CTX_free(ctx);
	if (!ok)
		OPENSSL_cleanse(kp, sizeof(*kp));
	return evp_done(ok);
}

int
wa_keypair_from_private(struct wa_keypair *kp, const uint8_t priv[32])
{
	EVP_PKEY *pk;
	int ok;

	ERR_set_mark();
	pk = EVP_PKEY_new_raw_private_key(EVP_PKEY_X25519, NULL, priv, 32);
	ok = pk != NULL && keypair_from_pkey(pk, kp);
	EVP_PKEY_free(pk);
	if (!ok)
		OPENSSL_cleanse(kp, sizeof(*kp));
	return evp_done(ok);
}

/* OpenSSL's X25519 derive itself refuses an all-zero shared secret. */
int
wa_dh(const uint8_t priv[32], const uint8_t pub[32], uint8_t out[32])
{
	EVP_PKEY *sk, *pk;
	EVP_PKEY_CTX *ctx = NULL;
	size_t len = DHLEN;
	int ok;

	ERR_set_mark();
	sk = EVP_PKEY_new_raw_private_key(EVP_PKEY_X25519, NULL, priv, 32);
	pk = EVP_PKEY_new_raw_public_key(EVP_PKEY_X25519, NULL, pub, 32);
	if (sk != NULL && pk != NULL)
		ctx = EVP_PKEY_CTX_new(sk, NULL);
	ok = ctx != NULL && EVP_PKEY_derive_init(ctx) > 0 &&
	    EVP_PKEY_derive_set_peer(ctx, pk) > 0 &&
	    EVP_PKEY_derive(ctx, out, &len) > 0 && len == DHLEN;
	EVP_PKEY_CTX_free(ctx);
	EVP_PKEY_free(pk);
	EVP_PKEY_free(sk);
	if (!ok)
		OPENSSL_cleanse(out, DHLEN);
	return evp_done(ok);
}

/* --- SHA-256, HKDF -------------------------------------------------------- */

/* out = SHA256(a || b); out may alias a or b. */
static int
sha256_2(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen,
    uint8_t out[HASHLEN])
{
	EVP_MD_CTX *md;
	unsigned int olen = 0;
	int ok;

	ERR_set_mark();
	md = EVP_MD_CTX_new();
	ok = md != NULL && EVP_DigestInit_ex(md, EVP_sha256(), NULL) > 0 &&
	    (alen == 0 || EVP_DigestUpdate(md, a, alen) > 0) &&
	    (blen == 0 || EVP_DigestUpdate(md, b, blen) > 0) &&
	    EVP_DigestFinal_ex(md, out, &olen) > 0 && olen == HASHLEN;
	EVP_MD_CTX_free(md);
	return evp_done(ok);
}

/* Noise's HKDF(ck, ikm) with two outputs is RFC 5869 HKDF-SHA256 with an
 * empty info and 64 bytes of output, split in halves.  The outputs may
 * alias salt (MixKey writes the new ck over the old). */
int
wa_hkdf2(const uint8_t salt[32], const uint8_t *ikm, size_t ikmlen,
    uint8_t out1[32], uint8_t out2[32])
{
	/* OpenSSL wants a key pointer even when the key is empty (Split). */
	static const uint8_t empty[1];
	EVP_KDF *kdf;
	EVP_KDF_CTX *kctx;
	OSSL_PARAM params[4];
	uint8_t okm[2 * HASHLEN];
	int ok;

	ERR_set_mark();
	kdf = EVP_KDF_fetch(NULL, "HKDF", NULL);
	kctx = kdf != NULL ? EVP_KDF_CTX_new(kdf) : NULL;
	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST,
	    (char *)"SHA256", 0);
	params[1] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT,
	    (void *)salt, HASHLEN);
	params[2] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY,
	    (void *)(ikmlen > 0 ? ikm : empty), ikmlen);
	params[3] = OSSL_PARAM_construct_end();
	ok = kctx != NULL && EVP_KDF_derive(kctx, okm, sizeof(okm), params) > 0;
	EVP_KDF_CTX_free(kctx);
	EVP_KDF_free(kdf);
	if (ok) {
		memcpy(out1, okm, HASHLEN);
		memcpy(out2, okm + HASHLEN, HASHLEN);
	}
	OPENSSL_cleanse(okm, sizeof(okm));
	return evp_done(ok);
}

/* --- AES-256-GCM cipher states -------------------------------------------- */

/* The key schedule is done here, once; a message then only sets its IV
 * (gcm below).  The direction is set per message too, so one state could
 * both seal and open: AES-GCM uses the same (encryption) key schedule
 * either way.  A failure leaves ctx NULL: the one-shot path, same bytes. */
void
wa_cipher_init(struct wa_cipher *c, const uint8_t k[32])
{
	EVP_CIPHER_CTX *ctx;

	memcpy(c->k, k, sizeof(c->k));
	c->n = 0;
	c->has_key = 1;
	ERR_set_mark();
	ctx = EVP_CIPHER_CTX_new();
	if (ctx != NULL && EVP_CipherInit_ex(ctx, EVP_aes_256_gcm(), NULL, k,
	    NULL, 1) <= 0) {
		EVP_CIPHER_CTX_free(ctx);
		ctx = NULL;
	}
	ERR_pop_to_mark();
	c->ctx = ctx;
}

void
wa_cipher_wipe(struct wa_cipher *c)
{
	/* the provider clears the key schedule when the context goes */
	EVP_CIPHER_CTX_free(c->ctx);
	OPENSSL_cleanse(c, sizeof(*c));
}

/* One AES-256-GCM operation with IV(n) = 8 zero bytes || BE u32 n, on c's
 * own context when it has one (only the IV is set), else on a temporary
 * one keyed with c->k.  Encrypt writes len bytes to out and the tag to
 * tag; decrypt checks tag.  out may equal in.  The counter is the
 * caller's business. */
static int
gcm(int enc, const struct wa_cipher *c, const uint8_t *ad, size_t adlen,
    const uint8_t *in, size_t len, uint8_t *out, uint8_t tag[WA_NOISE_TAG])
{
	EVP_CIPHER_CTX *ctx = c->ctx, *tmp = NULL;
	const EVP_CIPHER *cipher = NULL;
	const uint8_t *k = NULL;
	uint64_t n = c->n;
	uint8_t iv[12] = { 0 }, fin[WA_NOISE_TAG];
	int outl = 0, ok;

	if (len > (size_t)INT_MAX - WA_NOISE_TAG || adlen > (size_t)INT_MAX)
		return WA_ETOOBIG;
	iv[8] = (uint8_t)(n >> 24);
	iv[9] = (uint8_t)(n >> 16);
	iv[10] = (uint8_t)(n >> 8);
	iv[11] = (uint8_t)n;
	ERR_set_mark();
	/* On c's context: NULL cipher and key keep the key schedule, and
	 * the new IV starts a new message (GCM's state from the last one,
	 * finished or failed half-way, goes). */
	if (ctx == NULL) {
		ctx = tmp = EVP_CIPHER_CTX_new();
		cipher = EVP_aes_256_gcm();
		k = c->k;
	}
	ok = ctx != NULL &&
	    EVP_CipherInit_ex(ctx, cipher, NULL, k, iv, enc) > 0 &&
	    (adlen == 0 ||
	    EVP_CipherUpdate(ctx, NULL, &outl, ad, (int)adlen) > 0) &&
	    (len == 0 || (EVP_CipherUpdate(ctx, out, &outl, in, (int)len) > 0 &&
	    outl == (int)len)) &&
	    (enc || EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, WA_NOISE_TAG,
	    tag) > 0) &&
	    EVP_CipherFinal_ex(ctx, fin, &outl) > 0 &&
	    (!enc || EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG,
	    WA_NOISE_TAG, tag) > 0);
	EVP_CIPHER_CTX_free(tmp);
	return evp_done(ok);
}

static int
cipher_ready(const struct wa_cipher *c)
{
	if (!c->has_key)
		return WA_ESTATE;
	if (c->n > WA_NOISE_COUNTER_MAX)
		return WA_ECOUNTER;
	return 0;
}

int
wa_cipher_encrypt(struct wa_cipher *c, const uint8_t *ad, size_t adlen,
    const uint8_t *in, size_t len, uint8_t *out)
{
	int rc;

	if ((rc = cipher_ready(c)) < 0)
		return rc;
	if ((rc = gcm(1, c, ad, adlen, in, len, out, out + len)) < 0)
		return rc;
	c->n++;
	return 0;
}

int
wa_cipher_decrypt(struct wa_cipher *c, const uint8_t *ad, size_t adlen,
    const uint8_t *in, size_t len, uint8_t *out)
{
	uint8_t tag[WA_NOISE_TAG];
	size_t plen;
	int rc;

	if ((rc = cipher_ready(c)) < 0)
		return rc;
	if (len < WA_NOISE_TAG)
		return WA_ETRUNC;
	plen = len - WA_NOISE_TAG;
	/* copied first: with out == in, decryption may not reach the tag,
	 * but a copy costs nothing and frees us from reasoning about it */
	memcpy(tag, in + plen, WA_NOISE_TAG);
	if ((rc = gcm(0, c, ad, adlen, in, plen, out, tag)) < 0) {
		/* GCM decrypts before it checks: drop the unverified text */
		if (plen > 0)
			OPENSSL_cleanse(out, plen);
		return rc;
	}
	c->n++;
	return 0;
}

/* --- symmetric state ------------------------------------------------------ */

int
wa_noise_init(struct wa_noise *n, enum wa_noise_mode mode, int initiator,
    const uint8_t *prologue, size_t prologue_len)
{
	OPENSSL_cleanse(n, sizeof(*n));
	if (mode == WA_NOISE_WHATSAPP) {
		memcpy(n->h, wa_noise_name, HASHLEN);
	} else if (mode == WA_NOISE_STANDARD) {
		size_t len = strlen(noise_name);
		int rc;

		if (len <= HASHLEN)
			memcpy(n->h, noise_name, len);
		else if ((rc = sha256_2((const uint8_t *)noise_name, len,
		    NULL, 0, n->h)) < 0)
			return rc;
	} else
		return WA_ESTATE;
	n->mode = mode;
	n->initiator = initiator != 0;
	memcpy(n->ck, n->h, HASHLEN);
	return wa_noise_mix_hash(n, prologue, prologue_len);
}

int
wa_noise_mix_hash(struct wa_noise *n, const uint8_t *data, size_t len)
{
	return sha256_2(n->h, HASHLEN, data, len, n->h);
}

int
wa_noise_mix_key(struct wa_noise *n, const uint8_t ikm[32])
{
	int rc = wa_hkdf2(n->ck, ikm, DHLEN, n->ck, n->c.k);

	if (rc < 0)
		return rc;
	/* n->c has no EVP context to rekey: wa_noise_init zeroed it and
	 * nothing here gives it one, so each message keys its own */
	n->c.n = 0;
	n->c.has_key = 1;
	return 0;
}

int
wa_noise_encrypt_and_hash(struct wa_noise *n, const uint8_t *in,
    size_t len, uint8_t *out, size_t *outlen)
{
	size_t olen = len;
	int rc;

	if (n->c.has_key) {
		if ((rc = wa_cipher_encrypt(&n->c, n->h, HASHLEN, in, len,
		    out)) < 0)
			return rc;
		olen = len + WA_NOISE_TAG;
	} else if (len > 0)
		memmove(out, in, len);
	if ((rc = wa_noise_mix_hash(n, out, olen)) < 0)
		return rc;
	if (outlen != NULL)
		*outlen = olen;
	return 0;
}

int
wa_noise_decrypt_and_hash(struct wa_noise *n, const uint8_t *in,
    size_t len, uint8_t *out, size_t *outlen)
{
	uint8_t next_h[HASHLEN];
	size_t olen = len;
	int rc;

	/* h is mixed with the ciphertext, which out may overwrite: hash
	 * first, keep the result only if the tag verifies */
	if ((rc = sha256_2(n->h, HASHLEN, in, len, next_h)) < 0)
		return rc;
	if (n->c.has_key) {
		if ((rc = wa_cipher_decrypt(&n->c, n->h, HASHLEN, in, len,
		    out)) < 0)
			return rc;
		olen = len - WA_NOISE_TAG;
	} else if (len > 0)
		memmove(out, in, len);
	memcpy(n->h, next_h, HASHLEN);
	if (outlen != NULL)
		*outlen = olen;
	return 0;
}

int
wa_noise_split(struct wa_noise *n, struct wa_cipher *c1,
    struct wa_cipher *c2)
{
	uint8_t k1[32], k2[32];
	int rc;

	if (n->step == WA_NOISE_SPLIT || n->step == WA_NOISE_FAILED)
		return WA_ESTATE;
	if ((rc = wa_hkdf2(n->ck, NULL, 0, k1, k2)) < 0)
		return rc;
	wa_cipher_init(c1, k1);
	wa_cipher_init(c2, k2);
	OPENSSL_cleanse(k1, sizeof(k1));
	OPENSSL_cleanse(k2, sizeof(k2));
	OPENSSL_cleanse(n->ck, sizeof(n->ck));
	wa_cipher_wipe(&n->c);
	OPENSSL_cleanse(n->e.priv, sizeof(n->e.priv));
	n->step = WA_NOISE_SPLIT;
	return 0;
}

void
wa_noise_wipe(struct wa_noise *n)
{
	wa_cipher_wipe(&n->c);   /* has no context (mix_key): a no-op free */
	OPENSSL_cleanse(n, sizeof(*n));
}

/* --- the XX pattern ------------------------------------------------------ *
 *   -> e
 *   <- e, ee, s, es
 *   -> s, se
 */

void
wa_noise_set_ephemeral(struct wa_noise *n, const struct wa_keypair *e)
{
	memcpy(&n->e, e, sizeof(n->e));
}

static int
mix_dh(struct wa_noise *n, const uint8_t priv[32], const uint8_t pub[32])
{
	uint8_t shared[DHLEN];
	int rc = wa_dh(priv, pub, shared);

	if (rc == 0)
		rc = wa_noise_mix_key(n, shared);
	OPENSSL_cleanse(shared, sizeof(shared));
	return rc;
}

/* 0 when it is our turn to write (writing) or read (!writing). */
static int
our_turn(const struct wa_noise *n, int writing)
{
	int initiator_sends;

	if (n->step < 0 || n->step >= WA_NOISE_DONE)
		return WA_ESTATE;
	initiator_sends = n->step % 2 == 0;
	return (initiator_sends == n->initiator) == writing ? 0 : WA_ESTATE;
}

static int
write_e(struct wa_noise *n, uint8_t *p, size_t *at)
{
	int rc;

	if (key_unset(n->e.pub) && (rc = wa_keypair_generate(&n->e)) < 0)
		return rc;
	memcpy(p + *at, n->e.pub, 32);
	*at += 32;
	return wa_noise_mix_hash(n, n->e.pub, 32);
}

static int
write_tokens(struct wa_noise *n, const uint8_t *payload, size_t plen,
    uint8_t *p, size_t *at)
{
	size_t olen;
	int rc;

	switch (n->step) {
	case 0:                                /* -> e */
		if ((rc = write_e(n, p, at)) < 0)
			return rc;
		if (n->mode == WA_NOISE_WHATSAPP)
			return 0;              /* the one deviation */
		break;
	case 1:                                /* <- e, ee, s, es */
		if ((rc = write_e(n, p, at)) < 0 ||
		    (rc = mix_dh(n, n->e.priv, n->re)) < 0 ||
		    (rc = wa_noise_encrypt_and_hash(n, n->s.pub, 32, p + *at,
		    &olen)) < 0)
			return rc;
		*at += olen;
		if ((rc = mix_dh(n, n->s.priv, n->re)) < 0)
			return rc;
		break;
	case 2:                                /* -> s, se */
		if ((rc = wa_noise_encrypt_and_hash(n, n->s.pub, 32, p + *at,
		    &olen)) < 0)
			return rc;
		*at += olen;
		if ((rc = mix_dh(n, n->s.priv, n->re)) < 0)
			return rc;
		break;
	default:
		return WA_ESTATE;
	}
	if ((rc = wa_noise_encrypt_and_hash(n, payload, plen, p + *at,
	    &olen)) < 0)
		return rc;
	*at += olen;
	return 0;
}

int
wa_noise_write_message(struct wa_noise *n, const uint8_t *payload,
    size_t plen, struct wa_buf *out)
{
	size_t need, at = 0;
	int rc;

	if ((rc = our_turn(n, 1)) < 0)
		return rc;
	if (n->step > 0 && key_unset(n->s.pub))
		return WA_ESTATE;
	if (n->mode == WA_NOISE_WHATSAPP && n->step == 0 && plen > 0)
		return WA_EPROTO;
	if (plen > (size_t)INT_MAX - 128)
		return WA_ETOOBIG;
	/* the largest message: e, encrypted s, encrypted payload */
	need = 32 + 32 + WA_NOISE_TAG + plen + WA_NOISE_TAG;
	if ((rc = wa_buf_reserve(out, need)) < 0)
		return rc;
	rc = write_tokens(n, payload, plen, out->data + out->len, &at);
	if (rc < 0) {
		OPENSSL_cleanse(out->data + out->len, need);
		n->step = WA_NOISE_FAILED;
		return rc;
	}
	out->len += at;
	n->step++;
	return 0;
}

static int
read_tokens(struct wa_noise *n, const uint8_t *msg, size_t len, uint8_t *p,
    size_t *plen)
{
	size_t at = 0, olen;
	int rc;

	switch (n->step) {
	case 0:                                /* -> e */
		memcpy(n->re, msg, 32);
		at = 32;
		if ((rc = wa_noise_mix_hash(n, n->re, 32)) < 0)
			return rc;
		if (n->mode == WA_NOISE_WHATSAPP)
			return 0;              /* the one deviation */
		break;
	case 1:                                /* <- e, ee, s, es */
		memcpy(n->re, msg, 32);
		at = 32;
		if ((rc = wa_noise_mix_hash(n, n->re, 32)) < 0 ||
		    (rc = mix_dh(n, n->e.priv, n->re)) < 0 ||
		    (rc = wa_noise_decrypt_and_hash(n, msg + at,
		    32 + WA_NOISE_TAG, n->rs, &olen)) < 0)
			return rc;
		at += 32 + WA_NOISE_TAG;
		if ((rc = mix_dh(n, n->e.priv, n->rs)) < 0)
			return rc;
		break;
	case 2:                                /* -> s, se */
		if ((rc = wa_noise_decrypt_and_hash(n, msg, 32 + WA_NOISE_TAG,
		    n->rs, &olen)) < 0)
			return rc;
		at = 32 + WA_NOISE_TAG;
		if ((rc = mix_dh(n, n->e.priv, n->rs)) < 0)
			return rc;
		break;
	default:
		return WA_ESTATE;
	}
	return wa_noise_decrypt_and_hash(n, msg + at, len - at, p, plen);
}

int
wa_noise_read_message(struct wa_noise *n, const uint8_t *msg, size_t len,
    struct wa_buf *payload)
{
	static const size_t least[3] = {
		32,                                    /* e */
		32 + 32 + WA_NOISE_TAG + WA_NOISE_TAG, /* e, s, payload tag */
		32 + WA_NOISE_TAG + WA_NOISE_TAG,      /* s, payload tag */
	};
	size_t plen = 0;
	int rc;

	if ((rc = our_turn(n, 0)) < 0)
		return rc;
	if (len < least[n->step])
		return WA_ETRUNC;
	if (n->mode == WA_NOISE_WHATSAPP && n->step == 0 && len != 32)
		return WA_EMALFORM;
	if (len > (size_t)INT_MAX)
		return WA_ETOOBIG;
	/* no payload is longer than the message */
	if ((rc = wa_buf_reserve(payload, len)) < 0)
		return rc;
	rc = read_tokens(n, msg, len, payload->data + payload->len, &plen);
	if (rc < 0) {
		n->step = WA_NOISE_FAILED;
		return rc;
	}
	payload->len += plen;
	n->step++;
	return 0;
}
