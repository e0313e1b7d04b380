/*
 * src/net/waconn.h: one WhatsApp Web connection on top of the WebSocket
 * transport (net/net.h): intro and Noise handshake, frame reassembly,
 * transport decryption and binary-node decoding on the way in; node
 * encoding, sealing and framing on the way out.
 *
 * It reports what happened and nothing more: it does not classify stanzas
 * (wa/stanza.h does), keeps no timers (the lifecycle engine does) and never
 * retries.  A server that sends something malformed ends that connection
 * with a reason; nothing it sends can take the process down.
 *
 * Order of callbacks for one connect:
 *   opened      the WebSocket is up and the intro + clientHello are queued
 *   handshake   serverHello checked (and its certificate chain, in strict
 *               mode), clientFinish with the login payload queued: nodes
 *               may be sent from here on; the server's answer to the login
 *               (<success>/<failure>) is the first node
 *   node        one per inbound transport frame
 *   closed      exactly once, with why; the connection is idle again
 * Callbacks may call anything here, net_wa_free() included.
 */
#ifndef SK_NET_WACONN_H
#define SK_NET_WACONN_H

#include "net/net.h"
#include "wa/handshake.h"
#include "wa/node.h"

struct net_wa;

enum net_wa_end {
	NET_WA_CONNECT,    /* the WebSocket never opened */
	NET_WA_TRANSPORT,  /* the WebSocket ended: server closed it, or lost */
	NET_WA_HANDSHAKE,  /* serverHello malformed or cryptographically bad */
	NET_WA_CERT,       /* strict mode: the certificate chain was rejected */
	NET_WA_FRAME,      /* framing broken (length over the limit) */
	NET_WA_DECRYPT,    /* a transport frame failed to authenticate */
	NET_WA_NODE,       /* a decrypted frame is not a valid binary node */
	NET_WA_LOCAL,      /* net_wa_close() finished */
	NET_WA_INTERNAL,   /* out of memory, a cipher counter ran out, or the
	                      send queue overflowed */
};
/* "connect", "transport", "handshake", "certificate", "frame", "decrypt",
 * "node", "local", "internal": stable words for log lines. */
const char *net_wa_end_name(enum net_wa_end e);

/* What a finished handshake tells the owner. */
struct net_wa_hello {
	int cert_checked;          /* 1: chain verified against the root key;
	                              0: not checked (no root given) */
	uint8_t server_static[32]; /* the server's Noise static key */
};

struct net_wa_cb {
	void (*opened)(struct net_wa *c, void *arg);
	void (*handshake)(struct net_wa *c, const struct net_wa_hello *h,
	    void *arg);
	/* The node and its strings live until the callback returns. */
	void (*node)(struct net_wa *c, const struct wa_node *n, void *arg);
	/* reason: one short line for logs, never NULL, never a secret. */
	void (*closed)(struct net_wa *c, enum net_wa_end end,
	    const char *reason, void *arg);
};

/* What one connect needs.  Everything is copied: the caller's memory may
 * go away after net_wa_connect() returns. */
struct net_wa_login {
	const char *url;                /* ws:// or wss:// */
	const struct wa_keypair *noise; /* the device's Noise static key */
	const uint8_t *payload;         /* encoded ClientPayload: login or */
	size_t payload_len;             /* registration (wa/stanza.h) */
	const uint8_t *root;            /* 32 bytes: strict certificate check
	                                   against this root; NULL: none */
	const uint8_t *routing;         /* edge routing info, or NULL */
	size_t routing_len;
};

struct net_wa_stats {
	uint64_t frames_in, frames_out;
	uint64_t bytes_in, bytes_out;   /* WebSocket payload bytes */
};

struct net_wa *net_wa_new(struct net *n, const struct net_wa_cb *cb,
    void *arg);
/* 0, or -1 with `why` (bad URL, not idle, no memory).  Network trouble
 * comes later, through `closed`. */
int net_wa_connect(struct net_wa *c, const struct net_wa_login *l,
    char *why, size_t whylen);
/* Encodes, seals and queues one node; only after `handshake`.  Returns 0
 * or a negative WA_E* code: WA_ESTATE when not ready (before the
 * handshake, after net_wa_close(), after the end); an encoding error
 * leaves the connection as it was; a failure after sealing (a nonce was
 * spent) ends the connection and `closed` follows. */
int net_wa_send_node(struct net_wa *c, const struct wa_node *node);
/* Polite end: queued frames go out, then the WebSocket close; `closed`
 * follows with NET_WA_LOCAL. */
void net_wa_close(struct net_wa *c);
/* Rude end: dropped now, idle on return, no callback. */
void net_wa_abort(struct net_wa *c);
void net_wa_free(struct net_wa *c);
int net_wa_is_ready(const struct net_wa *c);   /* handshake done */
int net_wa_is_idle(const struct net_wa *c);
const struct net_wa_stats *net_wa_stats(const struct net_wa *c);

#endif
