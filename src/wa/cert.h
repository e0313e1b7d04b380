/*
 * src/wa/cert.h: XEdDSA and the server certificate chain (PROTOCOL.md §3).
 *
 * Verification uses OpenSSL only (Montgomery u -> Edwards y, sign bit from
 * the signature, then Ed25519).  Signing needs the raw scalar, which
 * OpenSSL's API cannot take: that goes through libsignal-protocol-c.
 */
#ifndef SK_WA_CERT_H
#define SK_WA_CERT_H

#include "wa/wa.h"

#define WA_ROOT_KEY_HEX_LEN 64

/* WhatsApp's public root key (the built-in default). */
extern const uint8_t wa_cert_whatsapp_root[32];

/* XEdDSA over msg with an X25519 key pair, in Signal's format (the Edwards
 * sign bit in sig[63] & 0x80), as WhatsApp and libsignal use it.
 *
 * verify: 0 = valid signature; WA_ECRYPTO = it does not verify (also for
 * a key on the twist); WA_EMALFORM = pub is refused outright (u >= p,
 * u = p - 1, small order); WA_ENOMEM.  msg may be NULL when len is 0.
 *
 * sign: 0 or WA_ECRYPTO / WA_ENOMEM.  Any 32 bytes are a private key, as
 * for X25519 (they are clamped first).  Randomized: two signatures of the
 * same message differ.  No state survives the call. */
int wa_xeddsa_verify(const uint8_t pub[32], const uint8_t *msg, size_t len,
    const uint8_t sig[64]);
int wa_xeddsa_sign(const uint8_t priv[32], const uint8_t *msg, size_t len,
    uint8_t sig[64]);

/* Parses exactly 64 hex characters, either case, nothing around them
 * (SKYKEEPER_WA_ROOT_KEY).  WA_EMALFORM otherwise; out untouched then. */
int wa_cert_parse_root_hex(const char *hex, uint8_t out[32]);

/* Strict check of an encoded CertChain: both certificates present with
 * 64-byte signatures, the intermediate signed by `root` with issuerSerial
 * 0 and a 32-byte key, the leaf signed by the intermediate's key with
 * issuerSerial = the intermediate's serial, the leaf key equal to
 * `server_static`, notBefore <= `now` (unix seconds) <= notAfter for both.
 * Absent serials count as 0 and an absent notBefore as no lower bound; an
 * absent notAfter is refused.  0 = accepted; WA_ECERT = refused, and `why`
 * (if not NULL) gets one line naming the check that failed; WA_ENOMEM. */
int wa_cert_verify_chain(const uint8_t *chain, size_t len,
    const uint8_t root[32], const uint8_t server_static[32], uint64_t now,
    char *why, size_t whylen);

/* The test server's side: issue a chain for `server_static` signed by a
 * root private key, through a fresh intermediate key pair that is wiped on
 * return (intermediate serial `serial`, issuerSerial 0; leaf serial
 * `serial` + 1, issuerSerial `serial`; both valid not_before ..
 * not_after).  Appends the encoded CertChain to out. */
int wa_cert_issue_chain(const uint8_t root_priv[32],
    const uint8_t server_static[32], uint32_t serial, uint64_t not_before,
    uint64_t not_after, struct wa_buf *out);

#endif
