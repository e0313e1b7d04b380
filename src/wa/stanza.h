/*
 * src/wa/stanza.h: the stanzas skykeeper speaks (PROTOCOL.md §4, §6), for
 * both sides: the client (daemon, probe) and the loopback test server.
 * Builders return arena nodes; the caller encodes and seals them.
 */
#ifndef SK_WA_STANZA_H
#define SK_WA_STANZA_H

#include "wa/creds.h"
#include "wa/node.h"

#define WA_SERVER_JID "s.whatsapp.net"

struct wa_version {
	uint32_t primary, secondary, tertiary;
};

/* --- ClientPayload ------------------------------------------------------- */
int wa_payload_login(const struct wa_creds *c, const struct wa_version *v,
    struct wa_buf *out);
int wa_payload_register(const struct wa_creds *c, const struct wa_version *v,
    struct wa_buf *out);

/* What the server reads from a ClientPayload. */
struct wa_login {
	int registration;          /* devicePairingData present */
	uint64_t username;
	uint32_t device;
	int passive;
	struct wa_version version;
	uint8_t identity_pub[32];  /* registration: eIdent */
};
int wa_payload_parse(const uint8_t *p, size_t len, struct wa_login *out);

/* --- inbound: what a stanza means to the lifecycle ---------------------- */
enum wa_kind {
	WA_IN_OTHER,        /* nothing the lifecycle cares about */
	WA_IN_SUCCESS,      /* <success>: logged in */
	WA_IN_FAILURE,      /* <failure reason=N> */
	WA_IN_STREAM_ERROR, /* <stream:error ...> */
	WA_IN_STREAM_END,   /* <xmlstreamend/> */
	WA_IN_IQ_RESULT,    /* answer to one of our iqs (id) */
	WA_IN_IQ_ERROR,
	WA_IN_IQ_REQUEST,   /* the server asks; needs an iq result */
};

/* Disconnect reasons, in Baileys' numbering where it has one. */
enum wa_reason {
	WA_R_NONE = 0,
	WA_R_LOGGED_OUT = 401,        /* failure 401, conflict device_removed */
	WA_R_CLIENT_OUTDATED = 405,
	WA_R_CONNECTION_CLOSED = 428, /* xmlstreamend */
	WA_R_REPLACED = 440,          /* conflict type=replaced */
	WA_R_BAD_SESSION = 500,
	WA_R_UNAVAILABLE = 503,
	WA_R_RESTART_REQUIRED = 515,
};

struct wa_inbound {
	enum wa_kind kind;
	enum wa_reason reason;   /* STREAM_ERROR, FAILURE, STREAM_END */
	int code;                /* the number the server sent, if any */
	const char *id;          /* iq id */
	const char *text;        /* failure reason / conflict type, for logs */
};
void wa_stanza_classify(const struct wa_node *n, struct wa_inbound *out);

/* --- client builders ------------------------------------------------------ */
struct wa_node *wa_stanza_ping(struct wa_arena *a, const char *id);
struct wa_node *wa_stanza_presence(struct wa_arena *a, const char *name,
    int available);
struct wa_node *wa_stanza_status(struct wa_arena *a, const char *id,
    const char *text);
struct wa_node *wa_stanza_prekey_count(struct wa_arena *a, const char *id);
/* Uploads `n` fresh pre-keys (ids from c->next_prekey_id; their key pairs
 * are generated here and written to keys[]), the identity and the signed
 * pre-key. */
struct wa_node *wa_stanza_prekey_upload(struct wa_arena *a, const char *id,
    const struct wa_creds *c, struct wa_keypair *keys, uint32_t first_id,
    size_t n);
struct wa_node *wa_stanza_active(struct wa_arena *a, const char *id,
    int active);
/* The result for an iq the server sent (same id, to its from). */
struct wa_node *wa_stanza_iq_result(struct wa_arena *a,
    const struct wa_node *request);

/* --- server builders (the loopback test server) ------------------------- */
struct wa_node *wa_stanza_success(struct wa_arena *a, uint64_t t,
    const char *lid);
struct wa_node *wa_stanza_failure(struct wa_arena *a, int reason);
struct wa_node *wa_stanza_stream_error(struct wa_arena *a, int code);
struct wa_node *wa_stanza_conflict(struct wa_arena *a, const char *type);
struct wa_node *wa_stanza_stream_end(struct wa_arena *a);

#endif
