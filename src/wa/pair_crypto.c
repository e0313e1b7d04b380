/*
 * src/wa/pair_crypto.c: the symmetric crypto of pairing (HMAC, HKDF,
 * PBKDF2, AES-CTR, AES-GCM), OpenSSL 3 EVP only, and the code wrapping of
 * ephemeral keys.  Like wa/noise.c, every function leaves OpenSSL's error
 * queue as it found it (a stale entry would surface later as a bogus TLS
 * error in libwebsockets).
 */
#include <string.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/rand.h>
#include "wa/pair_int.h"

static int
done(int ok)
{
	ERR_pop_to_mark();
	return ok ? 0 : WA_ECRYPTO;
}

int
pair_random(uint8_t *p, size_t n)
{
	int ok;

	ERR_set_mark();
	ok = n <= 1024 && RAND_bytes(p, (int)n) == 1;
	return done(ok);
}

int
pair_hmac(const uint8_t *key, size_t keylen, const uint8_t *p1, size_t n1,
    const uint8_t *p2, size_t n2, uint8_t out[32])
{
	EVP_MAC *mac;
	EVP_MAC_CTX *ctx;
	OSSL_PARAM params[2];
	size_t outlen = 0;
	int ok;

	ERR_set_mark();
	mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
	ctx = mac != NULL ? EVP_MAC_CTX_new(mac) : NULL;
	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST,
	    (char *)"SHA256", 0);
	params[1] = OSSL_PARAM_construct_end();
	ok = ctx != NULL && EVP_MAC_init(ctx, key, keylen, params) == 1 &&
	    (n1 == 0 || EVP_MAC_update(ctx, p1, n1) == 1) &&
	    (n2 == 0 || EVP_MAC_update(ctx, p2, n2) == 1) &&
	    EVP_MAC_final(ctx, out, &outlen, 32) == 1 && outlen == 32;
	EVP_MAC_CTX_free(ctx);
	EVP_MAC_free(mac);
	return done(ok);
}

int
pair_hkdf(const uint8_t *ikm, size_t ikmlen, const uint8_t *salt,
    size_t saltlen, const char *info, uint8_t out[32])
{
	EVP_KDF *kdf;
	EVP_KDF_CTX *kctx;
	OSSL_PARAM params[5], *p = params;
	int ok;

	ERR_set_mark();
	kdf = EVP_KDF_fetch(NULL, "HKDF", NULL);
	kctx = kdf != NULL ? EVP_KDF_CTX_new(kdf) : NULL;
	*p++ = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST,
	    (char *)"SHA256", 0);
	/* no salt parameter: OpenSSL uses HashLen zero bytes, as RFC 5869
	 * and the peers' HKDF do when the salt is absent */
	if (salt != NULL && saltlen > 0)
		*p++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT,
		    (void *)salt, saltlen);
	*p++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY,
	    (void *)ikm, ikmlen);
	*p++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO,
	    (void *)info, strlen(info));
	*p = OSSL_PARAM_construct_end();
	ok = kctx != NULL && ikmlen > 0 &&
	    EVP_KDF_derive(kctx, out, 32, params) > 0;
	EVP_KDF_CTX_free(kctx);
	EVP_KDF_free(kdf);
	return done(ok);
}

int
pair_pbkdf2(const char *code, const uint8_t salt[32], uint8_t key[32])
{
	int ok;

	ERR_set_mark();
	ok = PKCS5_PBKDF2_HMAC(code, (int)strlen(code), salt, 32,
	    WA_PAIR_PBKDF2_ITER, EVP_sha256(), 32, key) == 1;
	return done(ok);
}

int
pair_aes_ctr(const uint8_t key[32], const uint8_t iv[16], const uint8_t *in,
    size_t len, uint8_t *out)
{
	EVP_CIPHER_CTX *ctx;
	int n1 = 0, n2 = 0, ok;

	ERR_set_mark();
	ctx = EVP_CIPHER_CTX_new();
	ok = ctx != NULL && len <= 4096 &&
	    EVP_EncryptInit_ex(ctx, EVP_aes_256_ctr(), NULL, key, iv) == 1 &&
	    EVP_EncryptUpdate(ctx, out, &n1, in, (int)len) == 1 &&
	    EVP_EncryptFinal_ex(ctx, out + n1, &n2) == 1 &&
	    (size_t)(n1 + n2) == len;
	EVP_CIPHER_CTX_free(ctx);
	return done(ok);
}

int
pair_gcm_seal(const uint8_t key[32], const uint8_t iv[12], const uint8_t *in,
    size_t len, uint8_t *out)
{
	EVP_CIPHER_CTX *ctx;
	int n1 = 0, n2 = 0, ok;

	ERR_set_mark();
	ctx = EVP_CIPHER_CTX_new();
	ok = ctx != NULL && len <= 4096 &&
	    EVP_EncryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, NULL, NULL) == 1 &&
	    EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_IVLEN, 12, NULL) == 1 &&
	    EVP_EncryptInit_ex(ctx, NULL, NULL, key, iv) == 1 &&
	    EVP_EncryptUpdate(ctx, out, &n1, in, (int)len) == 1 &&
	    EVP_EncryptFinal_ex(ctx, out + n1, &n2) == 1 &&
	    (size_t)(n1 + n2) == len &&
	    EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, 16, out + len) == 1;
	EVP_CIPHER_CTX_free(ctx);
	return done(ok);
}

int
pair_gcm_open(const uint8_t key[32], const uint8_t iv[12], const uint8_t *in,
    size_t len, uint8_t *out)
{
	EVP_CIPHER_CTX *ctx;
	uint8_t tag[16];
	size_t clen;
	int n1 = 0, n2 = 0, ok;

	if (len < 16 || len - 16 > 4096)
		return WA_ETRUNC;
	clen = len - 16;
	memcpy(tag, in + clen, 16);
	ERR_set_mark();
	ctx = EVP_CIPHER_CTX_new();
	ok = ctx != NULL &&
	    EVP_DecryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, NULL, NULL) == 1 &&
	    EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_IVLEN, 12, NULL) == 1 &&
	    EVP_DecryptInit_ex(ctx, NULL, NULL, key, iv) == 1 &&
	    EVP_DecryptUpdate(ctx, out, &n1, in, (int)clen) == 1 &&
	    EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, 16, tag) == 1 &&
	    EVP_DecryptFinal_ex(ctx, out + n1, &n2) == 1 &&
	    (size_t)(n1 + n2) == clen;
	EVP_CIPHER_CTX_free(ctx);
	if (!ok)
		OPENSSL_cleanse(out, clen);
	return done(ok);
}

int
wa_pair_code_wrap(const char *code, const uint8_t pub[32],
    uint8_t out[WA_PAIR_WRAPPED_LEN])
{
	uint8_t key[32];
	int rc;

	if (code == NULL || pub == NULL)
		return WA_EMALFORM;
	if ((rc = pair_random(out, 48)) < 0 ||
	    (rc = pair_pbkdf2(code, out, key)) < 0)
		goto out;
	rc = pair_aes_ctr(key, out + 32, pub, 32, out + 48);
out:
	OPENSSL_cleanse(key, sizeof(key));
	return rc;
}

int
wa_pair_code_unwrap(const char *code, const uint8_t in[WA_PAIR_WRAPPED_LEN],
    uint8_t pub[32])
{
	uint8_t key[32];
	int rc;

	if (code == NULL || in == NULL)
		return WA_EMALFORM;
	if ((rc = pair_pbkdf2(code, in, key)) == 0)
		rc = pair_aes_ctr(key, in + 32, in + 48, 32, pub);
	OPENSSL_cleanse(key, sizeof(key));
	return rc;
}
