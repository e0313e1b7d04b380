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
 * and the (empty) payload of message 1 is not mixed into h.  The first is
 * no difference in practice: the standard name is 28 bytes, and Noise pads
 * a name of at most HASHLEN bytes with zeros instead of hashing it, which
 * gives the same 32 bytes.  So the one step that differs is message 1.
 *
 * All functions return 0 or a negative WA_E* code, and leave OpenSSL's
 * per-thread error queue as they found it: a stale entry there would make
 * a later SSL_get_error() on the TLS connection (libwebsockets) report a
 * failure that did not happen.
 */
#ifndef SK_WA_NOISE_H
#define SK_WA_NOISE_H

#include <openssl/types.h>
#include "wa/wa.h"

#define WA_NOISE_TAG 16  /* AES-GCM tag bytes */
#define WA_NOISE_COUNTER_MAX 0xFFFFFFFFu   /* the last usable nonce */

/* wa_noise.step for the pattern API: 0, 1, 2 = the XX message to be
 * written or read next; then: */
#define WA_NOISE_DONE    3    /* all three messages done: split next */
#define WA_NOISE_SPLIT   4    /* split done: ck and the ephemeral wiped */
#define WA_NOISE_FAILED  (-1) /* a message failed half-way: dead */

enum wa_noise_mode { WA_NOISE_STANDARD, WA_NOISE_WHATSAPP };

struct wa_keypair {
	uint8_t priv[32];
	uint8_t pub[32];
};

/* A cipher state: key and counter.  The AES-GCM IV is 4 zero bytes ||
 * big-endian u64 counter (Noise); WhatsApp writes it as 8 zero bytes ||
 * big-endian u32, the same bytes while the counter fits in 32 bits, so the
 * counter stops at 2^32 - 1: one more is WA_ECOUNTER, never a reuse.
 * n counts the messages done; n == 2^32 means exhausted.
 *
 * ctx: a transport cipher (from wa_cipher_init, which wa_noise_split
 * uses) owns one EVP_CIPHER_CTX holding k's key schedule, so a message
 * only sets its IV.  NULL means none, and every message keys a context of
 * its own: the handshake cipher (struct wa_noise's c: MixKey sets its key
 * in place, and each key serves a message or two), a zeroed state, and
 * the fallback when wa_cipher_init could not get a context (the same
 * results, slower).  So a state from wa_cipher_init must end with
 * wa_cipher_wipe, which frees the context and wipes the key; it must not
 * be copied by value (two owners of one context); and wa_cipher_init is
 * for uninitialised or wiped states only (it does not look at what was
 * there: a live state would leak its context). */
struct wa_cipher {
	uint8_t k[32];
	uint64_t n;
	int has_key;
	EVP_CIPHER_CTX *ctx;
};

struct wa_noise {
	enum wa_noise_mode mode;
	int initiator;
	uint8_t h[32], ck[32];
	struct wa_cipher c;        /* the handshake's cipher state */
	struct wa_keypair e, s;    /* our ephemeral and static */
	uint8_t re[32], rs[32];    /* their ephemeral and static */
	int step;                  /* pattern API progress, WA_NOISE_* above */
};

/* Key pairs (X25519).  wa_dh fails (WA_ECRYPTO) when the result is all
 * zeros, i.e. the peer sent a low-order point: Noise allows either, but an
 * all-zero secret adds nothing to the key and only an attacker sends one. */
int wa_keypair_generate(struct wa_keypair *kp);
int wa_keypair_from_private(struct wa_keypair *kp, const uint8_t priv[32]);
int wa_dh(const uint8_t priv[32], const uint8_t pub[32], uint8_t out[32]);

/* Initialise: protocol name per mode, then MixHash(prologue).  Zeroes the
 * whole state first, so set keys (n->s, wa_noise_set_ephemeral) after. */
int wa_noise_init(struct wa_noise *n, enum wa_noise_mode mode, int initiator,
    const uint8_t *prologue, size_t prologue_len);

/* Noise spec primitives.  The handshake cipher (n->c) has one counter for
 * both directions, as Noise's CipherState does. */
int wa_noise_mix_hash(struct wa_noise *n, const uint8_t *data, size_t len);
int wa_noise_mix_key(struct wa_noise *n, const uint8_t ikm[32]);
/* out gets len + WA_NOISE_TAG bytes when a key is set, else len bytes;
 * *outlen (if not NULL) is set to that.  out may equal in.  Decryption
 * needs len >= WA_NOISE_TAG once a key is set (else WA_ETRUNC); when the
 * tag does not verify it is WA_ECRYPTO, h and the counter stay as they
 * were and out is wiped. */
int wa_noise_encrypt_and_hash(struct wa_noise *n, const uint8_t *in,
    size_t len, uint8_t *out, size_t *outlen);
int wa_noise_decrypt_and_hash(struct wa_noise *n, const uint8_t *in,
    size_t len, uint8_t *out, size_t *outlen);
/* Split into (initiator->responder, responder->initiator) ciphers, both
 * with counter 0, by wa_cipher_init: c1 and c2 must be uninitialised or
 * wiped, and the caller wa_cipher_wipe()s them when done.  Then wipes ck,
 * the handshake cipher and the ephemeral private key (forward secrecy:
 * nothing left can rebuild the transport keys) and sets step to
 * WA_NOISE_SPLIT; h stays, it is the handshake hash.
 * A second split, or one after WA_NOISE_FAILED, is WA_ESTATE. */
int wa_noise_split(struct wa_noise *n, struct wa_cipher *c1,
    struct wa_cipher *c2);

/* The XX pattern in standard framing (used with the test vectors).  Keys
 * are set after wa_noise_init and before the first call: n->s always, n->e
 * for deterministic vectors (wa_noise_set_ephemeral), else one is
 * generated.  A key whose public half is all zeros counts as unset (no
 * X25519 key pair has one).
 *   write_message appends the message to out; read_message appends the
 *   decrypted payload to payload.  Messages alternate initiator, responder,
 *   initiator; a call out of turn, or after the third message, is
 *   WA_ESTATE.  Errors found before the state changes (turn, length,
 *   memory) leave it as it was; any later failure (a bad tag, a low-order
 *   key) sets step to WA_NOISE_FAILED and every later call is WA_ESTATE.
 *   In WhatsApp mode message 1 carries no payload: a non-empty one is
 *   WA_EPROTO when writing, and bytes after the ephemeral key are
 *   WA_EMALFORM when reading (they would be neither hashed nor encrypted).
 *   No limit on the payload size beyond what AES-GCM via EVP takes (int);
 *   framing limits it to 2^24 - 1 anyway. */
void wa_noise_set_ephemeral(struct wa_noise *n, const struct wa_keypair *e);
int wa_noise_write_message(struct wa_noise *n, const uint8_t *payload,
    size_t plen, struct wa_buf *out);
int wa_noise_read_message(struct wa_noise *n, const uint8_t *msg, size_t len,
    struct wa_buf *payload);

/* Transport messages: AEAD with empty associated data (ad may be NULL when
 * adlen is 0).  out may equal in; no other overlap.
 *   Counter: the message uses IV(n), then n++.  With n > 2^32 - 1 it is
 *   WA_ECOUNTER and nothing happens: a counter is never reused.
 *   A key is needed (has_key), else WA_ESTATE.
 *   Decryption failure: WA_ETRUNC for fewer than 16 bytes, WA_ECRYPTO when
 *   the tag does not verify.  Either way n is NOT advanced (as the Noise
 *   spec says) and the len - 16 bytes of out are wiped, so no unverified
 *   plaintext escapes.  Keeping n means a retry of the same forged bytes
 *   fails again, a message for any other counter fails, and only the
 *   genuine next message can succeed; it never lets one ciphertext be
 *   accepted twice.  On a stream transport nothing legitimate fails, so
 *   callers should treat WA_ECRYPTO as fatal for the connection anyway. */
int wa_cipher_encrypt(struct wa_cipher *c, const uint8_t *ad, size_t adlen,
    const uint8_t *in, size_t len, uint8_t *out);  /* out: len + 16 */
int wa_cipher_decrypt(struct wa_cipher *c, const uint8_t *ad, size_t adlen,
    const uint8_t *in, size_t len, uint8_t *out);  /* out: len - 16 */
/* Key k, counter 0, and the state's own keyed EVP context (see struct
 * wa_cipher; without one, when OpenSSL cannot make it, every message keys
 * its own as before).  c: uninitialised or wiped. */
void wa_cipher_init(struct wa_cipher *c, const uint8_t k[32]);
/* Frees the context (OpenSSL clears its key schedule) and zeroes the whole
 * state: has_key 0, ctx NULL.  Safe on a zeroed or already wiped state. */
void wa_cipher_wipe(struct wa_cipher *c);

/* HKDF-SHA256 with the given salt, two 32-byte outputs (Noise's HKDF). */
int wa_hkdf2(const uint8_t salt[32], const uint8_t *ikm, size_t ikmlen,
    uint8_t out1[32], uint8_t out2[32]);

/* Wipes every secret (the whole state). */
void wa_noise_wipe(struct wa_noise *n);

#endif
