/*
 * tools/wa-testserver/tsc.h: the client side of a WhatsApp Web session,
 * as much as the test client and the load tool need: WebSocket (wsc.c),
 * the Noise handshake as initiator, the login payload, then stanzas.
 */
#ifndef TS_TSC_H
#define TS_TSC_H

#include "wa/handshake.h"
#include "wa/frame.h"
#include "wa/node.h"
#include "wa-testserver/wsc.h"

enum tsc_state { TSC_WS, TSC_HELLO, TSC_LOGIN, TSC_OPEN, TSC_CLOSED };

struct tsc;

struct tsc_cb {
	/* the first stanza after the handshake: <success> or <failure> */
	void (*login)(struct tsc *c, const struct wa_node *n, int ok);
	/* every later stanza */
	void (*node)(struct tsc *c, const struct wa_node *n);
	/* once; how: wsc's words, or "handshake: …", "protocol: …" */
	void (*closed)(struct tsc *c, const char *how);
};

struct tsc {
	struct wsc ws;
	struct wa_hs *hs;            /* only while handshaking */
	struct wa_transport t;
	struct wa_frame_reader rd;
	struct wa_keypair noise;
	char me_jid[64];
	const uint8_t *root;         /* strict certificate check, or NULL */
	int state;
	const struct tsc_cb *cb;
	void *arg;
};

/* c->noise, c->me_jid, c->root, c->cb, c->arg are set by the caller. */
int tsc_start(struct tsc *c, struct ev_loop *loop, const char *host,
    int port);
int tsc_send_node(struct tsc *c, const struct wa_node *n);
void tsc_close(struct tsc *c);

#endif
