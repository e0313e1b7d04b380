/*
 * src/wa/handshake.h: WhatsApp's Noise XX handshake (PROTOCOL.md §2), both
 * sides, on top of the primitives in wa/noise.h.  Messages are protobuf
 * HandshakeMessage bodies; the caller frames them (wa/frame.h) and puts the
 * intro in front of the client's first one.  Pure: no I/O, `now` is a
 * parameter.
 */
#ifndef SK_WA_HANDSHAKE_H
#define SK_WA_HANDSHAKE_H

#include "wa/noise.h"

/* After the handshake: one cipher per direction, counters from 0.  Each
 * owns an EVP context (struct wa_cipher): wa_transport_wipe when done, and
 * a *_finish call only on a transport that is zeroed or wiped. */
struct wa_transport {
	struct wa_cipher tx, rx;
};

struct wa_hs {
	struct wa_noise n;
	int step;                   /* 0: fresh, 1: hello sent/received, 2: done */
	uint8_t server_static[32];  /* client: learnt in serverHello */
	uint8_t client_static[32];  /* server: learnt in clientFinish */
};

/* --- client ---------------------------------------------------------------
 * start: appends the clientHello body to out.
 * on_server_hello: checks the certificate chain strictly against `root`
 * (unless root is NULL: then it only requires both certificates present,
 * like Baileys), then appends the clientFinish body carrying `payload`
 * (an encoded ClientPayload) and fills *t. */
int wa_hs_client_start(struct wa_hs *hs, struct wa_buf *out);
int wa_hs_client_finish(struct wa_hs *hs, const uint8_t *msg, size_t len,
    const struct wa_keypair *noise_static, const uint8_t *payload,
    size_t plen, const uint8_t *root, uint64_t now, struct wa_buf *out,
    struct wa_transport *t, char *why, size_t whylen);

/* --- server ---------------------------------------------------------------
 * on_client_hello: appends the serverHello body (our ephemeral, our static
 * and the certificate chain, both encrypted) to out.
 * on_client_finish: learns the client's static key and returns its
 * ClientPayload (decrypted bytes) in `payload`; fills *t. */
int wa_hs_server_hello(struct wa_hs *hs, const uint8_t *msg, size_t len,
    const struct wa_keypair *server_static, const uint8_t *chain,
    size_t chain_len, struct wa_buf *out);
int wa_hs_server_finish(struct wa_hs *hs, const uint8_t *msg, size_t len,
    struct wa_buf *payload, struct wa_transport *t);

void wa_hs_wipe(struct wa_hs *hs);

/* --- transport ------------------------------------------------------------
 * seal: encrypts and appends one frame (3-byte length + ciphertext).
 * open: decrypts one frame's body into `plain` (replacing its content). */
int wa_transport_seal(struct wa_transport *t, const uint8_t *plain,
    size_t len, struct wa_buf *out);
int wa_transport_open(struct wa_transport *t, const uint8_t *ct, size_t len,
    struct wa_buf *plain);
/* Frees both ciphers' contexts and zeroes t; safe on a zeroed or wiped t. */
void wa_transport_wipe(struct wa_transport *t);

#endif
