/*
 * src/store/snapshot.h: one session's snapshot and its encoded blob.
 *
 * Pure: bytes in, bytes out (the only outside thing used is OpenSSL's
 * random generator, for the AES-GCM nonce).  The file copy (store/file.c)
 * and the database copy store the blob as it is; both can read the header
 * and check the checksum without the secret (store_snap_peek), which is
 * what the mirror needs to pick the newest valid copy.
 *
 * Blob layout, format version 1 (all integers big-endian):
 *
 *   off  len  field
 *     0    6  magic "SKSNAP"
 *     6    2  format version (1)
 *     8    8  generation (1 .. 2^63-1, only grows)
 *    16    4  flags: bit 0 = payload encrypted; other bits must be zero
 *    20    4  payload length P
 *    24    P  payload: proto/session.proto sk.Snapshot, packed; or, when
 *             encrypted, nonce (12) || AES-256-GCM ciphertext || tag (16)
 *  24+P   32  SHA-256 over bytes [0, 24+P)
 *
 * What every later format version must keep, so that this binary can tell
 * "newer format" from "damaged": the magic, the version at offset 6, and
 * the trailing 32 bytes being SHA-256 of everything before them.  A version
 * other than ours is only reported as such when that checksum holds;
 * otherwise the blob is damaged (a flipped version byte reads as "checksum
 * mismatch", not as a newer format).
 *
 * Encryption at rest (SESSION_SECRET): key = HKDF-SHA256(ikm = the secret's
 * bytes, salt = "skykeeper/session-snapshot/v1", info = "aes-256-gcm key"),
 * 32 bytes.  A fresh random 12-byte nonce per encode; the 24-byte header is
 * the associated data, so generation and flags cannot be swapped between
 * blobs.  The checksum is over the ciphertext: damage shows up without the
 * secret.  Derived keys and plaintext buffers are wiped before they are
 * freed; the secret is never copied, logged or put into `why`.
 *
 * A secret given for a plain blob: the blob decodes (that is how a
 * deployment turns SESSION_SECRET on: the old plain copies still load and
 * the next save writes them encrypted); `hdr.flags` tells the caller it was
 * plain.  An encrypted blob with no secret, or with another secret, is an
 * error and the caller must not overwrite it.  An empty secret ("") counts
 * as no secret.
 *
 * Errors: negative STORE_SNAP_E* codes, and one short line in `why`
 * (may be NULL).
 */
#ifndef SK_STORE_SNAPSHOT_H
#define SK_STORE_SNAPSHOT_H

#include <stddef.h>
#include <stdint.h>
#include "wa/creds.h"

#define STORE_SNAP_VERSION     1    /* the format this binary writes */
#define STORE_SNAP_HDR_LEN     24
#define STORE_SNAP_SUM_LEN     32
#define STORE_SNAP_NONCE_LEN   12
#define STORE_SNAP_TAG_LEN     16
#define STORE_SNAP_F_ENCRYPTED 0x1u
#define STORE_SNAP_ID_MAX      64   /* same limit as the file store's ids */
/* Generations fit PostgreSQL's bigint: 1 .. 2^63 - 1. */
#define STORE_SNAP_GEN_MAX     ((uint64_t)INT64_MAX)
#define STORE_SNAP_STATE_MAX   32
#define STORE_SNAP_TEXT_MAX    128
/* Decode refuses more pre-keys than this (Baileys keeps a few hundred). */
#define STORE_SNAP_PREKEYS_MAX 4096
/* Larger blobs are refused before any parsing: 4096 pre-keys are ~300 KB. */
#define STORE_SNAP_BLOB_MAX    (4u << 20)

enum {
	STORE_SNAP_ENOMEM     = -1,  /* allocation failed */
	STORE_SNAP_EINVAL     = -2,  /* bad argument to encode */
	STORE_SNAP_EMAGIC     = -3,  /* not a snapshot blob */
	STORE_SNAP_ETRUNC     = -4,  /* shorter than its header says */
	STORE_SNAP_ECHECKSUM  = -5,  /* SHA-256 does not match: damaged */
	STORE_SNAP_EVERSION   = -6,  /* a format version we can't read */
	STORE_SNAP_EMALFORM   = -7,  /* checksum fine, content not usable */
	STORE_SNAP_ENOSECRET  = -8,  /* encrypted, and no secret given */
	STORE_SNAP_EBADSECRET = -9,  /* encrypted with another secret */
	STORE_SNAP_ECRYPTO    = -10, /* OpenSSL failed (not a wrong key) */
	STORE_SNAP_ETOOBIG    = -11, /* over STORE_SNAP_BLOB_MAX */
};

struct store_prekey {
	uint32_t id;
	struct wa_keypair pair;
};

/* Lifecycle facts kept across restarts. */
struct store_meta {
	char last_state[STORE_SNAP_STATE_MAX];  /* FSM state name; "" unknown */
	int64_t last_open_ms;                   /* unix ms; 0: never open */
	uint32_t consecutive_failures;
	int32_t last_disconnect;                /* status code; 0: none */
	char last_disconnect_text[STORE_SNAP_TEXT_MAX];
	int logged_out;
};

/*
 * A decoded snapshot.  `prekeys` is malloc'd (n_prekeys entries) and owned
 * by the snapshot: release with store_snap_clear, which also wipes the
 * keys.  Zero-initialise before first use.
 */
struct store_snap {
	char session_id[STORE_SNAP_ID_MAX + 1];
	uint64_t generation;                    /* 1 .. STORE_SNAP_GEN_MAX */
	int64_t saved_ms;                       /* unix ms; 0: unknown */
	struct wa_creds creds;
	struct store_prekey *prekeys;
	size_t n_prekeys;
	struct store_meta meta;
};

/* The fixed part of a blob, as read by store_snap_peek. */
struct store_snap_hdr {
	uint16_t version;
	uint64_t generation;
	uint32_t flags;
	uint32_t payload_len;
};

/*
 * s -> *blob (malloc'd, *len bytes).  secret NULL or "": plain payload.
 * Refuses a generation outside 1 .. STORE_SNAP_GEN_MAX and out-of-range
 * lengths in s (STORE_SNAP_EINVAL).
 * Free the blob with store_snap_blob_free.
 */
int store_snap_encode(const struct store_snap *s, const char *secret,
    uint8_t **blob, size_t *len, char *why, size_t whylen);

/*
 * blob -> s: checks, in order, size limit, magic, format version (any
 * other version: checksum, then "newer than this binary"), length,
 * checksum, flags; then decrypts (when flagged) and parses.  Every
 * truncation of a valid blob is STORE_SNAP_ETRUNC; any other damage to the
 * bytes after the header is STORE_SNAP_ECHECKSUM.  s is output only: it is
 * overwritten, not freed (store_snap_clear a used one first), and left
 * zeroed on failure.  hdr (may be NULL) receives the header on
 * success, and also on STORE_SNAP_ENOSECRET / EBADSECRET / EMALFORM, where
 * the header itself is sound.
 */
int store_snap_decode(const uint8_t *blob, size_t len, const char *secret,
    struct store_snap *s, struct store_snap_hdr *hdr, char *why,
    size_t whylen);

/*
 * The header of a blob, after the same magic, length, checksum and version
 * checks as decode, without decrypting or parsing: the generation of an
 * encrypted blob is known without the secret.  A blob that peeks fine can
 * still fail decode (wrong secret, unusable payload).
 */
int store_snap_peek(const uint8_t *blob, size_t len,
    struct store_snap_hdr *hdr, char *why, size_t whylen);

/* Wipes and frees the pre-keys, then zeroes all of s. */
void store_snap_clear(struct store_snap *s);

/* Wipes len bytes, then frees (a plain blob holds private keys). */
void store_snap_blob_free(uint8_t *blob, size_t len);

const char *store_snap_strerror(int code);

#endif
