/*
 * src/net/waconn.c: a WhatsApp Web connection over net_ws (net/waconn.h).
 *
 * Every way a connection ends goes through the WebSocket's `closed`
 * callback, including the ends this layer decides on itself (a malformed
 * frame, a rejected certificate): those call net_ws_fail(), which drops
 * the socket at once and reports on the next loop iteration.  So there is
 * one place that resets the state and one call to the owner, and no call
 * the owner makes into this file ever comes back as a callback before it
 * returns.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <openssl/crypto.h>
#include "net/waconn.h"
#include "wa/frame.h"

/* Memory one decoded stanza may use.  The frame is at most 16 MiB and its
 * inflated form at most WA_NODE_MAX_INFLATE; the decoded tree costs a
 * small multiple of the encoded bytes, so this only stops a pathological
 * frame, never a real one. */
#define NET_WA_ARENA_LIMIT (64u << 20)
/* After a stanza, an arena that stayed under this keeps its block for the
 * next one (no malloc per stanza); a bigger one is given back, so one huge
 * stanza does not stay resident for the life of the connection. */
#define NET_WA_ARENA_KEEP (64u << 10)

enum wa_state {
	WA_IDLE,
	WA_CONNECTING,   /* WebSocket being opened */
	WA_HELLO_SENT,   /* intro + clientHello queued: serverHello next */
	WA_READY,        /* transport keys in place */
};

struct net_wa {
	struct net_ws *ws;
	struct net_wa_cb cb;
	void *arg;
	enum wa_state state;
	unsigned epoch;            /* bumped by connect and abort */
	int busy, dead;            /* see enter/leave in ws.c: same idea */

	/* what the current connect was given (copied, wiped on reset) */
	struct wa_keypair noise;
	struct wa_buf payload;
	uint8_t root[32];
	int has_root;
	uint8_t routing[256];
	size_t routing_len;

	struct wa_hs hs;
	struct wa_transport t;
	struct wa_frame_reader reader;
	struct wa_buf plain;       /* the current decrypted frame */
	struct wa_arena arena;     /* the current decoded stanza */

	/* an end this layer decided, waiting for the WebSocket to report */
	int failing;
	enum net_wa_end fail_end;
	char fail_reason[256];

	struct net_wa_stats stats;
};

static const char *const end_names[] = {
	[NET_WA_CONNECT] = "connect",
	[NET_WA_TRANSPORT] = "transport",
	[NET_WA_HANDSHAKE] = "handshake",
	[NET_WA_CERT] = "certificate",
	[NET_WA_FRAME] = "frame",
	[NET_WA_DECRYPT] = "decrypt",
	[NET_WA_NODE] = "node",
	[NET_WA_LOCAL] = "local",
	[NET_WA_INTERNAL] = "internal",
};

const char *
net_wa_end_name(enum net_wa_end e)
{
	if ((unsigned)e < sizeof(end_names) / sizeof(end_names[0]) &&
	    end_names[e] != NULL)
		return end_names[e];
	return "unknown";
}

static void
enter(struct net_wa *c)
{
	c->busy++;
}

static void
destroy(struct net_wa *c)
{
	wa_frame_reader_free(&c->reader);
	wa_buf_free(&c->plain);
	wa_buf_free(&c->payload);
	wa_arena_free(&c->arena);
	wa_transport_wipe(&c->t);   /* reset() did: again is harmless */
	OPENSSL_cleanse(c, sizeof(*c));
	free(c);
}

static int
leave(struct net_wa *c)
{
	if (--c->busy == 0 && c->dead) {
		destroy(c);
		return 1;
	}
	return 0;
}

/* Back to idle, keys wiped.  The buffers keep their memory for the next
 * connect, except the payload copy, which is wiped. */
static void
reset(struct net_wa *c)
{
	c->state = WA_IDLE;
	c->epoch++;
	c->failing = 0;
	c->fail_reason[0] = '\0';
	wa_hs_wipe(&c->hs);
	wa_transport_wipe(&c->t);
	OPENSSL_cleanse(&c->noise, sizeof(c->noise));
	if (c->payload.data != NULL)
		OPENSSL_cleanse(c->payload.data, c->payload.cap);
	c->payload.len = 0;
	if (c->plain.data != NULL)
		OPENSSL_cleanse(c->plain.data, c->plain.cap);
	c->plain.len = 0;
	wa_frame_reader_free(&c->reader);
	wa_frame_reader_init(&c->reader, WA_FRAME_MAX, 0);
	c->has_root = 0;
	c->routing_len = 0;
}

/* This layer ends the connection; the owner hears of it through on_closed
 * on the next loop iteration.  The first reason wins. */
static void fail(struct net_wa *c, enum net_wa_end end, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void
fail(struct net_wa *c, enum net_wa_end end, const char *fmt, ...)
{
	va_list ap;

	if (c->failing)
		return;
	c->failing = 1;
	c->fail_end = end;
	va_start(ap, fmt);
	vsnprintf(c->fail_reason, sizeof(c->fail_reason), fmt, ap);
	va_end(ap);
	/* The keys are useless from here on: wipe them now, not later. */
	wa_hs_wipe(&c->hs);
	wa_transport_wipe(&c->t);
	net_ws_fail(c->ws, c->fail_reason);
}

static int
send_bytes(struct net_wa *c, const struct wa_buf *b)
{
	if (net_ws_send(c->ws, b->data, b->len) < 0)
		return -1;
	c->stats.frames_out++;
	c->stats.bytes_out += b->len;
	return 0;
}

/* --- the WebSocket's callbacks ------------------------------------------ */

static void
on_opened(struct net_ws *ws, void *arg)
{
	struct net_wa *c = arg;
	struct wa_buf body = { 0 }, msg = { 0 };
	int rc;

	(void)ws;
	if ((rc = wa_frame_put_intro(&msg, c->routing_len ? c->routing : NULL,
	    c->routing_len)) < 0 ||
	    (rc = wa_hs_client_start(&c->hs, &body)) < 0 ||
	    (rc = wa_frame_put(&msg, body.data, body.len)) < 0) {
		fail(c, NET_WA_INTERNAL, "cannot build the client hello: %s",
		    wa_strerror(rc));
	} else if (send_bytes(c, &msg) < 0) {
		fail(c, NET_WA_INTERNAL, "%s", "cannot queue the client hello");
	} else {
		c->state = WA_HELLO_SENT;
		if (c->cb.opened != NULL) {
			enter(c);
			c->cb.opened(c, c->arg);
			leave(c);   /* ws.c holds the memory of ws; c may go */
		}
	}
	wa_buf_free(&body);
	wa_buf_free(&msg);
}

static void
on_server_hello(struct net_wa *c, const uint8_t *f, size_t len)
{
	struct wa_buf body = { 0 }, msg = { 0 };
	struct net_wa_hello hello;
	char why[256] = "";
	int rc;

	rc = wa_hs_client_finish(&c->hs, f, len, &c->noise, c->payload.data,
	    c->payload.len, c->has_root ? c->root : NULL,
	    (uint64_t)time(NULL), &body, &c->t, why, sizeof(why));
	if (rc < 0) {
		if (why[0] == '\0')
			snprintf(why, sizeof(why), "%s", wa_strerror(rc));
		fail(c, rc == WA_ECERT ? NET_WA_CERT : NET_WA_HANDSHAKE, "%s",
		    why);
		goto out;
	}
	if ((rc = wa_frame_put(&msg, body.data, body.len)) < 0 ||
	    send_bytes(c, &msg) < 0) {
		fail(c, NET_WA_INTERNAL, "%s", "cannot queue the client finish");
		goto out;
	}
	c->state = WA_READY;
	hello.cert_checked = c->has_root;
	memcpy(hello.server_static, c->hs.server_static, 32);
	/* The handshake state has nothing left to give: the transport
	 * ciphers are in c->t. */
	wa_hs_wipe(&c->hs);
	OPENSSL_cleanse(&c->noise, sizeof(c->noise));
	OPENSSL_cleanse(c->payload.data, c->payload.cap);
	c->payload.len = 0;
	if (c->cb.handshake != NULL)
		c->cb.handshake(c, &hello, c->arg);   /* caller holds enter() */
out:
	if (body.data != NULL)
		OPENSSL_cleanse(body.data, body.cap);
	wa_buf_free(&body);
	wa_buf_free(&msg);
}

static void
on_transport_frame(struct net_wa *c, const uint8_t *f, size_t len)
{
	struct wa_node *node;
	int rc;

	rc = wa_transport_open(&c->t, f, len, &c->plain);
	if (rc < 0) {
		fail(c, NET_WA_DECRYPT, "server frame does not decrypt: %s",
		    wa_strerror(rc));
		return;
	}
	rc = wa_node_decode_frame(c->plain.data, c->plain.len, &c->arena,
	    &node);
	if (rc < 0)
		fail(c, NET_WA_NODE, "server sent an undecodable node: %s",
		    wa_strerror(rc));
	else if (c->cb.node != NULL)
		c->cb.node(c, node, c->arg);          /* caller holds enter() */
	/* c is still allocated (enter() in on_data), maybe reset: either
	 * way the arena is ours to empty. */
	if (c->arena.used_total > NET_WA_ARENA_KEEP)
		wa_arena_free(&c->arena);
	else
		wa_arena_reset(&c->arena);
}

static void
on_data(struct net_ws *ws, const uint8_t *p, size_t n, int first, int final,
    void *arg)
{
	struct net_wa *c = arg;
	const uint8_t *f;
	size_t flen;
	unsigned epoch = c->epoch;
	int rc;

	(void)ws;
	(void)first;
	(void)final;
	if (c->failing || c->state < WA_HELLO_SENT)
		return;
	c->stats.bytes_in += n;
	if ((rc = wa_frame_feed(&c->reader, p, n)) < 0) {
		fail(c, NET_WA_FRAME, "server framing is broken: %s",
		    wa_strerror(rc));
		return;
	}
	enter(c);
	/* Each callback may abort, reconnect or free: stop as soon as this
	 * connection is no longer the one the bytes came for. */
	while (!c->dead && !c->failing && c->epoch == epoch) {
		rc = wa_frame_next(&c->reader, &f, &flen);
		if (rc == 0)
			break;
		if (rc < 0) {
			fail(c, NET_WA_FRAME, "server framing is broken: %s",
			    wa_strerror(rc));
			break;
		}
		c->stats.frames_in++;
		if (c->state == WA_HELLO_SENT)
			on_server_hello(c, f, flen);
		else
			on_transport_frame(c, f, flen);
	}
	leave(c);
}

static void
on_closed(struct net_ws *ws, enum net_ws_end wend, int code,
    const char *reason, void *arg)
{
	struct net_wa *c = arg;
	enum net_wa_end end;
	char text[384];
	const char *phase = c->state == WA_HELLO_SENT ?
	    " (during the handshake)" : "";

	(void)ws;
	if (c->failing) {
		end = c->fail_end;
		snprintf(text, sizeof(text), "%s", c->fail_reason);
	} else {
		switch (wend) {
		case NET_WS_CONNECT:
			end = NET_WA_CONNECT;
			break;
		case NET_WS_LOCAL:
			end = NET_WA_LOCAL;
			break;
		case NET_WS_PEER:
		case NET_WS_LOST:
		case NET_WS_ERROR:
		default:
			end = NET_WA_TRANSPORT;
			break;
		}
		if (code != 0)
			snprintf(text, sizeof(text), "%s (code %d)%s", reason,
			    code, phase);
		else
			snprintf(text, sizeof(text), "%s%s", reason, phase);
	}
	reset(c);
	if (c->cb.closed != NULL) {
		enter(c);
		c->cb.closed(c, end, text, c->arg);
		leave(c);
	}
}

static const struct net_ws_cb ws_callbacks = {
	.opened = on_opened,
	.data = on_data,
	.closed = on_closed,
};

/* --- the owner's calls ---------------------------------------------------- */

struct net_wa *
net_wa_new(struct net *n, const struct net_wa_cb *cb, void *arg)
{
	struct net_wa *c = calloc(1, sizeof(*c));

	if (c == NULL)
		return NULL;
	c->ws = net_ws_new(n, &ws_callbacks, c);
	if (c->ws == NULL) {
		free(c);
		return NULL;
	}
	if (cb != NULL)
		c->cb = *cb;
	c->arg = arg;
	wa_frame_reader_init(&c->reader, WA_FRAME_MAX, 0);
	wa_arena_init(&c->arena, NET_WA_ARENA_LIMIT);
	return c;
}

int
net_wa_connect(struct net_wa *c, const struct net_wa_login *l, char *why,
    size_t whylen)
{
	if (c->state != WA_IDLE || !net_ws_is_idle(c->ws)) {
		wa_say(why, whylen, "connection is not idle");
		return -1;
	}
	if (l->noise == NULL || l->payload == NULL || l->payload_len == 0) {
		wa_say(why, whylen, "no Noise key or login payload");
		return -1;
	}
	if (l->routing_len > sizeof(c->routing)) {
		wa_say(why, whylen, "routing info is too long");
		return -1;
	}
	reset(c);
	c->noise = *l->noise;
	if (wa_buf_put(&c->payload, l->payload, l->payload_len) < 0) {
		wa_say(why, whylen, "out of memory");
		reset(c);
		return -1;
	}
	if (l->root != NULL) {
		memcpy(c->root, l->root, 32);
		c->has_root = 1;
	}
	if (l->routing != NULL && l->routing_len > 0) {
		memcpy(c->routing, l->routing, l->routing_len);
		c->routing_len = l->routing_len;
	}
	if (net_ws_connect(c->ws, l->url, why, whylen) < 0) {
		reset(c);
		return -1;
	}
	c->state = WA_CONNECTING;
	return 0;
}

int
net_wa_send_node(struct net_wa *c, const struct wa_node *node)
{
	struct wa_buf enc = { 0 }, out = { 0 };
	int rc;

	/* Closing counts as not ready: refusing here, before a nonce is
	 * spent, keeps a polite close polite. */
	if (c->state != WA_READY || c->failing || !net_ws_is_open(c->ws))
		return WA_ESTATE;
	if ((rc = wa_node_encode_frame(node, &enc)) < 0)
		goto out;                 /* nothing spent: still usable */
	rc = wa_transport_seal(&c->t, enc.data, enc.len, &out);
	if (rc == WA_ETOOBIG || rc == WA_ENOMEM)
		goto out;                 /* refused before the nonce was used */
	if (rc < 0) {
		fail(c, NET_WA_INTERNAL, "cannot seal a frame: %s",
		    wa_strerror(rc));
		goto out;
	}
	if (send_bytes(c, &out) < 0) {
		/* The nonce is spent: the stream cannot go on without it. */
		fail(c, NET_WA_INTERNAL, "%s", "cannot queue a frame");
		rc = WA_ESTATE;
	}
out:
	if (enc.data != NULL)
		OPENSSL_cleanse(enc.data, enc.cap);
	wa_buf_free(&enc);
	wa_buf_free(&out);
	return rc;
}

void
net_wa_close(struct net_wa *c)
{
	if (c->state == WA_IDLE || c->failing)
		return;
	net_ws_close(c->ws);
}

void
net_wa_abort(struct net_wa *c)
{
	net_ws_abort(c->ws);
	reset(c);
}

void
net_wa_free(struct net_wa *c)
{
	if (c == NULL)
		return;
	net_wa_abort(c);
	net_ws_free(c->ws);
	c->ws = NULL;
	if (c->busy > 0) {
		c->dead = 1;
		return;
	}
	destroy(c);
}

int
net_wa_is_ready(const struct net_wa *c)
{
	return c->state == WA_READY && !c->failing && net_ws_is_open(c->ws);
}

int
net_wa_is_idle(const struct net_wa *c)
{
	return c->state == WA_IDLE && net_ws_is_idle(c->ws);
}

const struct net_wa_stats *
net_wa_stats(const struct net_wa *c)
{
	return &c->stats;
}
