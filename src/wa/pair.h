/*
 * src/wa/pair.h: linking a new companion device (PROTOCOL.md §7), both
 * roles, pure: nodes and bytes in, nodes and bytes out, no I/O, no clock
 * (timestamps are parameters), no globals.
 *
 *  - companion: skykeeper's daemon.  QR pairing (pair-device, QR text,
 *    pair-success) and pairing-code pairing (companion_hello, the
 *    link_code_companion_reg notification, companion_finish).
 *  - primary: the phone, played by the loopback test server
 *    (tools/wa-testserver): the other half of each exchange, plus fault
 *    injection so tests can see the companion refuse.
 *
 * Wire facts follow Baileys 7.0.0-rc14 (Socket/socket.js,
 * Socket/messages-recv.js, Utils/validate-connection.js,
 * Utils/companion-reg-client-utils.js), cross-checked with whatsmeow
 * (pair.go, pair-code.go).
 *
 * Errors: 0 / a negative WA_E* code (wa/wa.h), or one of the WA_PAIR_E*
 * codes below where the caller must tell failures apart; where a builder
 * can fail for several reasons it returns int and gives the node through
 * an out pointer.  wa_pair_strerror names every code.  Functions with a
 * `why` buffer put one short line there on failure; it never holds key
 * material (only names and lengths).
 *
 * Nodes built here live in the caller's arena; parsed results copy what
 * they keep (strings and keys into fixed arrays), so the arena of the
 * input can be reset afterwards, except where a field says otherwise.
 */
#ifndef SK_WA_PAIR_H
#define SK_WA_PAIR_H

#include "wa/creds.h"
#include "wa/node.h"

/* Pairing-specific results (below every WA_E* code in wa/wa.h). */
enum {
	WA_PAIR_EHMAC    = -40,  /* device-identity HMAC != HMAC(adv secret) */
	WA_PAIR_EACCOUNT = -41,  /* account signature does not verify */
	WA_PAIR_EDEVICE  = -42,  /* (primary) device signature does not verify */
	WA_PAIR_EPHONE   = -43,  /* phone number not 6-15 digits, no leading 0 */
	WA_PAIR_ECODE    = -44,  /* pairing code wrong: bundle does not open,
	                          * or a code not 8 chars of the alphabet */
	WA_PAIR_EREF     = -45,  /* link code ref differs from the one expected */
	WA_PAIR_EIDENT   = -46,  /* (primary) key bundle names other identities */
};
/* Names WA_PAIR_E* codes, and every WA_E* code through wa_strerror. */
const char *wa_pair_strerror(int code);

#define WA_PAIR_MAX_REFS  16    /* refs kept from one pair-device; more: ignored */
#define WA_PAIR_REF_MAX   256   /* bytes of one ref (printable, no ',') */
#define WA_PAIR_ID_MAX    64    /* bytes of an iq / notification id */
#define WA_PAIR_QR_MAX    640   /* room for any QR text with its NUL */
#define WA_PAIR_QR_PREFIX "https://wa.me/settings/linked_devices#"
#define WA_PAIR_CODE_LEN  8
#define WA_PAIR_CODE_ALPHABET "123456789ABCDEFGHJKLMNPQRSTVWXYZ"
#define WA_PAIR_WRAPPED_LEN 80  /* salt 32 || iv 16 || AES-CTR(pub) 32 */
#define WA_PAIR_BUNDLE_LEN 156  /* salt 32 || iv 12 || GCM(96 bytes) || tag 16 */
#define WA_PAIR_PBKDF2_ITER 131072

/* companion_platform_id / the last QR field: Baileys' CompanionWebClientType. */
enum wa_pair_platform {
	WA_PAIR_PLATFORM_UNKNOWN = 0,
	WA_PAIR_PLATFORM_CHROME = 1,
	WA_PAIR_PLATFORM_EDGE = 2,
	WA_PAIR_PLATFORM_FIREFOX = 3,
	WA_PAIR_PLATFORM_IE = 4,
	WA_PAIR_PLATFORM_OPERA = 5,
	WA_PAIR_PLATFORM_SAFARI = 6,
	WA_PAIR_PLATFORM_ELECTRON = 7,
	WA_PAIR_PLATFORM_UWP = 8,
	WA_PAIR_PLATFORM_OTHER_WEB = 9,
};

/* One ref: opaque text from the server, NUL-terminated. */
struct wa_pair_ref {
	char s[WA_PAIR_REF_MAX + 1];
	size_t len;
};

/* ======================================================================
 * QR pairing, companion side
 * ==================================================================== */

/* <iq type=set id=…><pair-device><ref>…</ref>…</pair-device></iq>. */
struct wa_pair_device {
	char id[WA_PAIR_ID_MAX + 1];
	size_t nrefs;                       /* 1..WA_PAIR_MAX_REFS */
	struct wa_pair_ref refs[WA_PAIR_MAX_REFS];
};

/* 1 when the node is an iq carrying <pair-device>, else 0: for dispatch. */
int wa_pair_is_pair_device(const struct wa_node *n);
/* Parses the iq.  WA_EMALFORM: not an iq type=set with an id and a
 * pair-device child, no ref, a ref that is empty, longer than
 * WA_PAIR_REF_MAX, or holds a byte outside 0x21..0x7e or a ',' (the QR
 * text separates fields with commas).  WA_ETOOBIG: id over WA_PAIR_ID_MAX.
 * Refs after the first WA_PAIR_MAX_REFS are ignored. */
int wa_pair_device_parse(const struct wa_node *iq, struct wa_pair_device *out,
    char *why, size_t whylen);
/* The acknowledgement Baileys sends at once:
 * <iq to=s.whatsapp.net type=result id=ID/>.  NULL on failure. */
struct wa_node *wa_pair_device_ack(struct wa_arena *a, const char *id);

/* The text to put in a QR code for one ref (Baileys buildPairingQRData):
 *   https://wa.me/settings/linked_devices#REF,B64(noise pub),
 *   B64(identity pub),B64(adv secret),PLATFORM_ID
 * with standard padded base64 and the platform id in decimal.  Writes a
 * NUL-terminated string into out (WA_PAIR_QR_MAX is always enough) and
 * returns its length; WA_ETOOBIG when outlen is too small, WA_EMALFORM
 * for a ref that wa_pair_device_parse would refuse.  The text carries the
 * adv secret: show it to the person pairing and wipe it; the daemon prints
 * it because that is how QR pairing from logs works (docs/pairing.md). */
int wa_pair_qr_text(const struct wa_creds *c, const char *ref,
    enum wa_pair_platform platform, char *out, size_t outlen);

/* <iq id=… from=s.whatsapp.net type=result><pair-success>
 *   <device-identity>ADVSignedDeviceIdentityHMAC</device-identity>
 *   <device jid=… lid=…/> <platform name=…/> <biz name=…/>?
 * </pair-success></iq>  (Baileys matches any iq type: so do we). */
struct wa_pair_success {
	char id[WA_PAIR_ID_MAX + 1];
	const uint8_t *identity;    /* device-identity bytes: points INTO the
	                             * parsed node, valid while its arena is */
	size_t identity_len;
	char jid[WA_JID_MAX];       /* "15550001234:2@s.whatsapp.net" */
	char lid[WA_JID_MAX];       /* "" when absent */
	char platform[32];          /* "" when absent */
	char biz_name[WA_JID_MAX];  /* "" when absent */
};

int wa_pair_is_pair_success(const struct wa_node *n);
/* WA_EMALFORM: no id, no device-identity bytes, no device jid;
 * WA_ETOOBIG: a string over its field (lid/platform/biz over their field
 * are errors too, not truncated). */
int wa_pair_success_parse(const struct wa_node *iq,
    struct wa_pair_success *out, char *why, size_t whylen);

/* Accepts a parsed pair-success for the device whose credentials are *c
 * (identity key pair and adv secret used; Baileys configureSuccessfulPairing):
 *  1. ADVSignedDeviceIdentityHMAC: HMAC-SHA256(adv secret,
 *     [06 05 when accountType = HOSTED] || details) == hmac, compared in
 *     constant time; else WA_PAIR_EHMAC.
 *  2. details is an ADVSignedDeviceIdentity; its details an
 *     ADVDeviceIdentity.  accountSignature = XEdDSA by accountSignatureKey
 *     over (06 05 when deviceType = HOSTED, else 06 00) || deviceDetails ||
 *     our identity pub; else WA_PAIR_EACCOUNT.
 *  3. deviceSignature = XEdDSA(identity priv, 06 01 || deviceDetails ||
 *     identity pub || accountSignatureKey).
 *  4. *reply = <iq to=s.whatsapp.net type=result id=ID><pair-device-sign>
 *     <device-identity key-index=N>ADVSignedDeviceIdentity without
 *     accountSignatureKey</device-identity></pair-device-sign></iq>.
 *  5. *c gets: account = the whole signed identity (accountSignatureKey
 *     included, as Baileys stores creds.account), me_jid, me_lid (may be
 *     ""), platform, and push_name = biz name when there is one (else
 *     push_name stays).
 * WA_EMALFORM for protobuf that does not decode or lacks a field, keys
 * not 32 bytes, signatures not 64; WA_ETOOBIG for an account over
 * sizeof(c->account).  On any failure *c is byte-for-byte as before and
 * *reply is NULL. */
int wa_pair_success_accept(const struct wa_pair_success *ps,
    struct wa_creds *c, struct wa_arena *a, struct wa_node **reply,
    char *why, size_t whylen);

/* parse + accept in one call (the daemon parses on arrival and accepts
 * later, in its accept_pairing action; tests and fuzz_pair use this). */
int wa_pair_success_handle(const struct wa_node *iq, struct wa_creds *c,
    struct wa_arena *a, struct wa_node **reply, char *why, size_t whylen);

/* ======================================================================
 * QR pairing, primary side (the test server plays the phone)
 * ==================================================================== */

/* What the phone reads from a QR text (with or without the URL prefix;
 * the platform field is optional). */
struct wa_pair_qr {
	char ref[WA_PAIR_REF_MAX + 1];
	uint8_t noise_pub[32];
	uint8_t identity_pub[32];
	uint8_t adv_secret[32];
	int platform;               /* -1 when absent */
};
/* WA_EMALFORM: fields missing or extra, base64 that does not decode to
 * exactly 32 bytes, a bad ref, a platform that is not a small decimal. */
int wa_pair_qr_parse(const char *text, struct wa_pair_qr *out);

/* <iq from=s.whatsapp.net type=set id=ID><pair-device><ref>…</ref>…
 * </pair-device></iq> with nrefs (1..WA_PAIR_MAX_REFS) fresh random refs
 * ("2@" + base64 of 18 random bytes, like real ones in shape), which are
 * written to refs_out (when not NULL) so the server can match the QR. */
int wa_pair_device_build(struct wa_arena *a, const char *id, size_t nrefs,
    struct wa_pair_device *refs_out, struct wa_node **out);

enum wa_pair_fault {
	WA_PAIR_FAULT_NONE = 0,
	WA_PAIR_FAULT_HMAC,          /* the HMAC is computed with a wrong key */
	/* The account signature covers other bytes (HMAC still right).  Our
	 * companion refuses it; stock Baileys 7.0.0-rc14 ACCEPTS it: its
	 * Curve.verify returns true unless libsignal throws, and libsignal
	 * throws only for bad lengths.  wa_pair_sign_check on its reply then
	 * fails with WA_PAIR_EACCOUNT. */
	WA_PAIR_FAULT_ACCOUNT_SIG,
	/* A 63-byte account signature: refused by Baileys (length check)
	 * and by us (WA_EMALFORM). */
	WA_PAIR_FAULT_ACCOUNT_SIG_SHORT,
};

/* Everything the phone puts into a pair-success. */
struct wa_pair_success_spec {
	const char *id;                       /* iq id */
	const struct wa_keypair *account;     /* the phone's account (identity)
	                                       * key: signs the device */
	uint8_t companion_identity_pub[32];   /* from the QR / registration */
	uint8_t adv_secret[32];               /* from the QR / code pairing */
	const char *device_jid;               /* "PHONE:N@s.whatsapp.net" */
	const char *lid;                      /* NULL: no lid attribute */
	const char *platform;                 /* NULL: no <platform> */
	const char *biz_name;                 /* NULL: no <biz> */
	uint32_t key_index;
	uint32_t raw_id;
	uint64_t timestamp;                   /* unix seconds */
	int hosted;                           /* accountType and deviceType
	                                       * HOSTED: 06 05 prefixes */
	enum wa_pair_fault fault;
};
int wa_pair_success_build(struct wa_arena *a,
    const struct wa_pair_success_spec *s, struct wa_node **out);

/* Checks the companion's reply to a pair-success: an iq type=result whose
 * id is `id`, <pair-device-sign><device-identity key-index=N>, an
 * ADVSignedDeviceIdentity without accountSignatureKey whose account
 * signature verifies with account_pub (so the details are the ones the
 * phone signed) and whose deviceSignature verifies with
 * companion_identity_pub over 06 01 || details || companion identity pub
 * || account_pub.  key_index (if not NULL) gets N.  WA_EPROTO: wrong type
 * or id, accountSignatureKey present, key-index differing from the
 * details'; WA_PAIR_EACCOUNT / WA_PAIR_EDEVICE: a signature that does not
 * verify; WA_EMALFORM otherwise. */
int wa_pair_sign_check(const struct wa_node *reply, const char *id,
    const uint8_t account_pub[32], const uint8_t companion_identity_pub[32],
    uint32_t *key_index, char *why, size_t whylen);

/* ======================================================================
 * Pairing code: shared helpers
 * ==================================================================== */

/* 0 when phone is 6..15 ASCII digits without a leading 0 (international
 * form, no '+', no spaces); else WA_PAIR_EPHONE and a line in why. */
int wa_pair_phone_check(const char *phone, char *why, size_t whylen);
/* 0 when code is exactly 8 characters of WA_PAIR_CODE_ALPHABET (upper
 * case); else WA_PAIR_ECODE. */
int wa_pair_code_check(const char *code);
/* The code for 5 bytes: 40 bits, 5 per character, most significant
 * first, over WA_PAIR_CODE_ALPHABET (Baileys bytesToCrockford); e.g.
 * 01 23 45 67 89 -> "15JMBSWA".  wa_pair_code_start feeds it random
 * bytes; exposed for known-answer tests. */
void wa_pair_code_from_bytes(const uint8_t r[5],
    char code[WA_PAIR_CODE_LEN + 1]);
/* salt32 || iv16 || AES-256-CTR(PBKDF2-SHA256(code, salt, 131072), pub),
 * salt and iv random.  Costs one PBKDF2 (tens of ms). */
int wa_pair_code_wrap(const char *code, const uint8_t pub[32],
    uint8_t out[WA_PAIR_WRAPPED_LEN]);
/* The inverse.  CTR has no tag: a wrong code gives a wrong key, not an
 * error; the mismatch shows when the key bundle does not open. */
int wa_pair_code_unwrap(const char *code,
    const uint8_t in[WA_PAIR_WRAPPED_LEN], uint8_t pub[32]);

/* ======================================================================
 * Pairing code, companion side
 * ==================================================================== */

/* The companion's state from companion_hello to companion_finish.  Holds
 * secrets (the code and the ephemeral key): keep it with the session,
 * show only the code (the user types it), wipe it (wa_pair_code_wipe) when
 * pairing ends. */
struct wa_pair_code {
	char code[WA_PAIR_CODE_LEN + 1];  /* show as XXXX-XXXX */
	struct wa_keypair ephemeral;
	char jid[WA_JID_MAX];             /* PHONE@s.whatsapp.net */
	struct wa_pair_ref ref;           /* from the hello result; len 0: unknown */
};

/* Checks the phone number, makes the code (5 random bytes in base32 over
 * WA_PAIR_CODE_ALPHABET, or `custom` when not NULL: it must pass
 * wa_pair_code_check) and a fresh X25519 ephemeral.  WA_PAIR_EPHONE /
 * WA_PAIR_ECODE with a line in why. */
int wa_pair_code_start(struct wa_pair_code *pc, const char *phone,
    const char *custom, char *why, size_t whylen);
void wa_pair_code_wipe(struct wa_pair_code *pc);

/* <iq to=s.whatsapp.net type=set id=ID xmlns=md>
 *  <link_code_companion_reg jid=PHONE@s.whatsapp.net stage=companion_hello
 *      should_show_push_notification=true|false>
 *   <link_code_pairing_wrapped_companion_ephemeral_pub>80 bytes</…>
 *   <companion_server_auth_key_pub>noise pub</…>
 *   <companion_platform_id>"1"</…>            (decimal, string content)
 *   <companion_platform_display>"Chrome (Linux)"</…>
 *   <link_code_pairing_nonce>"0"</…>          (Baileys: the string "0")
 *  </link_code_companion_reg></iq>
 * platform_display NULL: "Chrome (Linux)". */
int wa_pair_hello_build(struct wa_arena *a, const char *id,
    const struct wa_pair_code *pc, const struct wa_creds *c,
    enum wa_pair_platform platform, const char *platform_display,
    int show_push_notification, struct wa_node **out);

/* The server's answer: <iq type=result id=…><link_code_companion_reg>
 * <link_code_pairing_ref>REF</…></…></iq>.  Stores the ref in pc->ref.
 * WA_EPROTO for type=error; WA_EMALFORM without a ref.  (Baileys ignores
 * this answer; whatsmeow keeps the ref and checks it later.) */
int wa_pair_hello_result_parse(const struct wa_node *iq,
    struct wa_pair_code *pc, char *why, size_t whylen);

/* <notification from=s.whatsapp.net type=link_code_companion_reg id=…>
 *  <link_code_companion_reg stage=primary_hello>
 *   <link_code_pairing_ref>REF</…>
 *   <primary_identity_pub>32</…>
 *   <link_code_pairing_wrapped_primary_ephemeral_pub>80</…>
 *  </link_code_companion_reg></notification> */
struct wa_pair_code_notif {
	char id[WA_PAIR_ID_MAX + 1];
	char from[WA_JID_MAX];
	struct wa_pair_ref ref;
	uint8_t primary_identity_pub[32];
	uint8_t wrapped_primary_ephemeral[WA_PAIR_WRAPPED_LEN];
};
int wa_pair_is_code_notif(const struct wa_node *n);
/* WA_EMALFORM: a child missing or of the wrong size. */
int wa_pair_code_notif_parse(const struct wa_node *n,
    struct wa_pair_code_notif *out, char *why, size_t whylen);
/* Baileys acks every notification (buildAckStanza):
 * <ack id=ID to=FROM class=notification type=TYPE/>, TYPE only when the
 * notification has one.  NULL on failure or without id/from. */
struct wa_node *wa_pair_notif_ack(struct wa_arena *a,
    const struct wa_node *notification);

/* companion_finish: unwraps the primary's ephemeral with pc->code, X25519
 * with pc->ephemeral, key = HKDF-SHA256(shared, salt random32, info
 * "link_code_pairing_key_bundle_encryption_key"), bundle = salt32 ||
 * iv12 || AES-256-GCM(identity pub || primary identity pub || random32)
 * with its tag; adv secret = HKDF-SHA256(shared || X25519(identity priv,
 * primary identity pub) || random32, no salt, info "adv_secret"), written
 * into c->adv_secret (only on success).
 *   <iq to=s.whatsapp.net type=set id=ID xmlns=md>
 *    <link_code_companion_reg jid=PHONE@s.whatsapp.net stage=companion_finish>
 *     <link_code_pairing_wrapped_key_bundle>156 bytes</…>
 *     <companion_identity_public>identity pub</…>
 *     <link_code_pairing_ref>REF</…>
 *    </link_code_companion_reg></iq>
 * WA_PAIR_EREF when pc->ref is known and differs from the notification's;
 * WA_ECRYPTO when a DH gives all zeros (e.g. a wrong code unwrapped a
 * low-order point). */
int wa_pair_finish_build(struct wa_arena *a, const char *id,
    const struct wa_pair_code *pc, const struct wa_pair_code_notif *nt,
    struct wa_creds *c, struct wa_node **out, char *why, size_t whylen);

/* ======================================================================
 * Pairing code, primary side (the test server plays the phone)
 * ==================================================================== */

/* What the phone reads from companion_hello. */
struct wa_pair_hello {
	char id[WA_PAIR_ID_MAX + 1];
	char jid[WA_JID_MAX];
	uint8_t wrapped_companion_ephemeral[WA_PAIR_WRAPPED_LEN];
	uint8_t noise_pub[32];
	char platform_id[16];
	char platform_display[64];
	int show_push_notification;
};
int wa_pair_is_hello(const struct wa_node *n);   /* stage=companion_hello */
int wa_pair_hello_parse(const struct wa_node *iq, struct wa_pair_hello *out,
    char *why, size_t whylen);
/* <iq to=JID? type=result id=ID><link_code_companion_reg>
 * <link_code_pairing_ref>REF</…></…></iq> (to omitted when NULL). */
struct wa_node *wa_pair_hello_result_build(struct wa_arena *a,
    const char *id, const char *to, const char *ref);

/* The phone's state: the user typed `code` into it; holds secrets. */
struct wa_pair_primary {
	char code[WA_PAIR_CODE_LEN + 1];
	struct wa_keypair ephemeral;          /* the phone's */
	uint8_t companion_ephemeral_pub[32];  /* unwrapped with code */
	struct wa_pair_ref ref;
};
/* Unwraps the companion's ephemeral with `code`, makes the phone's
 * ephemeral, remembers ref (the one wa_pair_hello_result_build sends).
 * A wrong code is not detected here (see wa_pair_code_unwrap); a code
 * that is not 8 alphabet characters is WA_PAIR_ECODE, a bad ref
 * WA_EMALFORM. */
int wa_pair_primary_start(struct wa_pair_primary *st,
    const struct wa_pair_hello *h, const char *code, const char *ref);
void wa_pair_primary_wipe(struct wa_pair_primary *st);
/* <notification from=s.whatsapp.net type=link_code_companion_reg id=ID>
 * <link_code_companion_reg stage=primary_hello> ref, primary_identity_pub,
 * the phone's ephemeral wrapped with the code </…></notification>. */
int wa_pair_code_notif_build(struct wa_arena *a, const char *id,
    const struct wa_pair_primary *st, const uint8_t primary_identity_pub[32],
    struct wa_node **out);

/* What the phone reads from companion_finish. */
struct wa_pair_finish {
	char id[WA_PAIR_ID_MAX + 1];
	char jid[WA_JID_MAX];
	uint8_t bundle[WA_PAIR_BUNDLE_LEN];
	uint8_t companion_identity_pub[32];
	struct wa_pair_ref ref;
};
int wa_pair_is_finish(const struct wa_node *n);  /* stage=companion_finish */
int wa_pair_finish_parse(const struct wa_node *iq, struct wa_pair_finish *out,
    char *why, size_t whylen);
/* Opens the bundle with the shared ephemeral key, checks it names
 * companion_identity_public and our identity (WA_PAIR_EIDENT), and derives
 * the adv secret the companion derived.  WA_PAIR_ECODE when the bundle
 * does not open (the codes differed); WA_PAIR_EREF when the ref is not
 * st->ref; adv_secret untouched on failure. */
int wa_pair_finish_open(const struct wa_pair_finish *f,
    const struct wa_pair_primary *st, const struct wa_keypair *primary_identity,
    uint8_t adv_secret[32], char *why, size_t whylen);

#endif
