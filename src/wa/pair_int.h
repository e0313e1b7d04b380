/*
 * src/wa/pair_int.h: what the pair*.c files share and nobody else needs:
 * node reading/writing shortcuts and the symmetric crypto of pairing.
 * Same conventions as wa/pair.h: 0 / negative WA_E* codes.
 */
#ifndef SK_WA_PAIR_INT_H
#define SK_WA_PAIR_INT_H

#include <stdio.h>
#include "wa/pair.h"

/* The ADV signature prefixes (Baileys Defaults: WA_ADV_*). */
extern const uint8_t pair_prefix_account[2];        /* 06 00 */
extern const uint8_t pair_prefix_device[2];         /* 06 01 */
extern const uint8_t pair_prefix_hosted_account[2]; /* 06 05 */

/* why-buffer with a format; secrets never go through here */
void pair_sayf(char *why, size_t whylen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Copies a NUL-terminated src; WA_ETOOBIG when it does not fit cap
 * (dst untouched then), WA_EMALFORM for NULL. */
int pair_copy_str(char *dst, size_t cap, const char *src);
/* The data of a child with BYTES or STRING content (the decoder gives
 * STRING for text the peer packed as a token or nibbles). */
int pair_child_data(const struct wa_node *n, const char *tag,
    const uint8_t **data, size_t *len);
/* A child whose content is exactly `want` bytes, copied to out. */
int pair_child_fixed(const struct wa_node *n, const char *tag, uint8_t *out,
    size_t want);
/* A ref: 1..WA_PAIR_REF_MAX bytes of 0x21..0x7e except ','. */
int pair_ref_valid(const uint8_t *p, size_t len);
int pair_ref_set(struct wa_pair_ref *r, const uint8_t *p, size_t len);
/* Same bytes, same length; not constant time (refs are not secret). */
int pair_ref_eq(const struct wa_pair_ref *a, const struct wa_pair_ref *b);

/* Base64 (standard, padded) through OpenSSL.  encode: writes a NUL-
 * terminated string, returns its length or WA_ETOOBIG.  decode32: exactly
 * the 44 canonical characters of 32 bytes, else WA_EMALFORM. */
int pair_b64_encode(const uint8_t *in, size_t len, char *out, size_t cap);
int pair_b64_decode32(const char *in, size_t len, uint8_t out[32]);

/* <iq [to] type id [xmlns]> (NULL attributes are left out). */
struct wa_node *pair_iq(struct wa_arena *a, const char *to, const char *type,
    const char *id, const char *xmlns);
/* Adds <tag>bytes</tag> / <tag>"string"</tag> under parent. */
int pair_add_bytes(struct wa_arena *a, struct wa_node *parent,
    const char *tag, const uint8_t *data, size_t len);
int pair_add_string(struct wa_arena *a, struct wa_node *parent,
    const char *tag, const char *s);
/* The iq id into a fixed field: WA_EMALFORM absent/empty, WA_ETOOBIG long. */
int pair_get_id(const struct wa_node *n, char id[WA_PAIR_ID_MAX + 1]);

/* --- pair_crypto.c --------------------------------------------------- */
/* HMAC-SHA256(key, p1 || p2); p1 may be NULL with n1 0. */
int pair_hmac(const uint8_t *key, size_t keylen, const uint8_t *p1,
    size_t n1, const uint8_t *p2, size_t n2, uint8_t out[32]);
/* HKDF-SHA256, 32 bytes out; salt NULL: none (HashLen zeros). */
int pair_hkdf(const uint8_t *ikm, size_t ikmlen, const uint8_t *salt,
    size_t saltlen, const char *info, uint8_t out[32]);
int pair_pbkdf2(const char *code, const uint8_t salt[32], uint8_t key[32]);
int pair_aes_ctr(const uint8_t key[32], const uint8_t iv[16],
    const uint8_t *in, size_t len, uint8_t *out);
/* AES-256-GCM, empty AAD: out = ciphertext || tag (len + 16). */
int pair_gcm_seal(const uint8_t key[32], const uint8_t iv[12],
    const uint8_t *in, size_t len, uint8_t *out);
/* in = ciphertext || tag; out gets len - 16 bytes; WA_ECRYPTO bad tag
 * (out wiped). */
int pair_gcm_open(const uint8_t key[32], const uint8_t iv[12],
    const uint8_t *in, size_t len, uint8_t *out);
int pair_random(uint8_t *p, size_t n);

/* --- pair_adv.c: the ADV signatures (Baileys configureSuccessfulPairing)
 * account: XEdDSA by the account key over (06 05 hosted | 06 00) ||
 *          deviceDetails || companion identity pub
 * device:  XEdDSA by the companion identity over 06 01 || deviceDetails ||
 *          companion identity pub || account key
 * verify: 0, or WA_PAIR_EACCOUNT / WA_PAIR_EDEVICE.  Details are capped at
 * WA_PAIR_DETAILS_MAX bytes (WA_ETOOBIG). */
#define WA_PAIR_DETAILS_MAX 1024
int pair_account_sign(const uint8_t account_priv[32], int hosted,
    const uint8_t *details, size_t len, const uint8_t identity_pub[32],
    uint8_t sig[64]);
int pair_account_verify(const uint8_t account_pub[32], int hosted,
    const uint8_t *details, size_t len, const uint8_t identity_pub[32],
    const uint8_t sig[64]);
int pair_device_sign(const struct wa_keypair *identity,
    const uint8_t *details, size_t len, const uint8_t account_pub[32],
    uint8_t sig[64]);
int pair_device_verify(const uint8_t identity_pub[32],
    const uint8_t *details, size_t len, const uint8_t account_pub[32],
    const uint8_t sig[64]);

#endif
