/*
 * src/wa/noise.h: Noise_XX_25519_AESGCM_SHA256 (OpenSSL 3 EVP only).
 *
 * Two layers:
 *  - the symmetric/handshake state primitives of the Noise spec (MixHash,
 *    MixKey, EncryptAndHash, DecryptAndHash, Split), which the WhatsApp
 *    handshake in wa/handshake.c drives directly because its messages are
 *    protobuf, not Noise's concatenated tokens;
 *  - the XX pattern's three messages in standard Noise framing, for both
 *    roles, which is what the public test vectors check.
 * WA_NOISE_WHATSAPP differs from standard in exactly the ways PROTOCOL.md §2
 * says: the 32-byte padded protocol name is used as h/ck without hashing,
 * and the (empty) payload of message 1 is not mixed into h.
 */
#ifndef SK_WA_NOISE_H
#define SK_WA_NOISE_H

#include "wa/wa.h"

#define WA_NOISE_TAG 16  /* AES-GCM tag bytes */

enum wa_noise_mode { WA_NOISE_STANDARD, WA_NOISE_WHATSAPP };

struct wa_keypair {
	uint8_t priv[32];
	uint8_t pub[32];
};

/* A cipher state: key and counter.  The AES-GCM IV is 4 zero bytes ||
 * big-endian u64 counter (Noise); WhatsApp writes it as 8 zero bytes ||
 * big-endian u32, the same bytes while the counter fits in 32 bits, so the
 * counter stops at 2^32 - 1: one more is WA_ECOUNTER, never a reuse. */
struct wa_cipher {
	uint8_t k[32];
	uint64_t n;
	int has_key;
};

struct wa_noise {
	enum wa_noise_mode mode;
	int initiator;
	uint8_t h[32], ck[32];
	struct wa_cipher c;        /* the handshake's cipher state */
	struct wa_keypair e, s;    /* our ephemeral and static */
	uint8_t re[32], rs[32];    /* their ephemeral and static */
	int step;                  /* XX message index, for the pattern API */
};

/* Key pairs (X25519). */
int wa_keypair_generate(struct wa_keypair *kp);
int wa_keypair_from_private(struct wa_keypair *kp, const uint8_t priv[32]);
int wa_dh(const uint8_t priv[32], const uint8_t pub[32], uint8_t out[32]);

/* Initialise: protocol name per mode, then MixHash(prologue). */
int wa_noise_init(struct wa_noise *n, enum wa_noise_mode mode, int initiator,
    const uint8_t *prologue, size_t prologue_len);

/* Noise spec primitives. */
int wa_noise_mix_hash(struct wa_noise *n, const uint8_t *data, size_t len);
int wa_noise_mix_key(struct wa_noise *n, const uint8_t ikm[32]);
/* out gets len + WA_NOISE_TAG bytes when a key is set, else len bytes. */
int wa_noise_encrypt_and_hash(struct wa_noise *n, const uint8_t *in,
    size_t len, uint8_t *out, size_t *outlen);
int wa_noise_decrypt_and_hash(struct wa_noise *n, const uint8_t *in,
    size_t len, uint8_t *out, size_t *outlen);
/* Split into (initiator->responder, responder->initiator) ciphers. */
int wa_noise_split(struct wa_noise *n, struct wa_cipher *c1,
    struct wa_cipher *c2);

/* The XX pattern in standard framing (used with the test vectors).  Keys
 * are set before the first call: n->s always, n->e for deterministic
 * vectors (wa_noise_set_ephemeral), else one is generated. */
void wa_noise_set_ephemeral(struct wa_noise *n, const struct wa_keypair *e);
int wa_noise_write_message(struct wa_noise *n, const uint8_t *payload,
    size_t plen, struct wa_buf *out);
int wa_noise_read_message(struct wa_noise *n, const uint8_t *msg, size_t len,
    struct wa_buf *payload);

/* Transport messages: AEAD with empty associated data. */
int wa_cipher_encrypt(struct wa_cipher *c, const uint8_t *ad, size_t adlen,
    const uint8_t *in, size_t len, uint8_t *out);  /* out: len + 16 */
int wa_cipher_decrypt(struct wa_cipher *c, const uint8_t *ad, size_t adlen,
    const uint8_t *in, size_t len, uint8_t *out);  /* out: len - 16 */

/* HKDF-SHA256 with the given salt, two 32-byte outputs (Noise's HKDF). */
int wa_hkdf2(const uint8_t salt[32], const uint8_t *ikm, size_t ikmlen,
    uint8_t out1[32], uint8_t out2[32]);

void wa_noise_wipe(struct wa_noise *n);

#endif
