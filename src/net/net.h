/*
 * src/net/net.h: the WebSocket transport, a libwebsockets client running on
 * the process's libev loop (lws "foreign loop").
 *
 * One `struct net` per process holds the lws context; it serves any number
 * of connections.  A `struct net_ws` is one connection, owned by whoever
 * made it (a session, the probe): nothing about a connection is global.
 *
 * The contract, in the order things happen:
 *  - net_ws_connect() only fails for a bad URL, a connection that is not
 *    idle, or no memory.  Every network failure (DNS, TCP, TLS, the HTTP
 *    upgrade) arrives later through the `closed` callback with
 *    NET_WS_CONNECT, never from inside net_ws_connect() itself, so the
 *    caller never sees a callback re-enter it.
 *  - `opened` once the upgrade succeeded; from then on `data` delivers
 *    received bytes in order.  WebSocket message boundaries are passed on
 *    (first/final) but mean nothing to WhatsApp's framing: a message may
 *    arrive in several pieces, and one piece may hold several frames.
 *  - net_ws_send() queues one binary message and returns at once; lws
 *    writes it when the socket is writable.  It never blocks.
 *  - `closed` exactly once per connect, with the reason.  After it the
 *    connection is idle again: connect it again or free it.
 *  - net_ws_close() is the polite end: queued messages go out first, then
 *    a close frame; `closed` follows with NET_WS_LOCAL.
 *    net_ws_abort() is the rude one: the socket is closed before the call
 *    returns (so a server never sees the old connection next to the next
 *    one), the connection is idle and no callback follows.
 *  - Callbacks may call anything here, including net_ws_free() on the
 *    connection they are about.
 *
 * There are no timers here: how long to wait for anything is the lifecycle
 * engine's decision (src/fsm), which calls net_ws_abort() when it is over.
 * (lws keeps its own generous internal limits on connecting and closing.)
 *
 * Host names are resolved with a blocking getaddrinfo(): Debian's lws 4.1
 * is built without lws's asynchronous resolver.  That costs one resolver
 * round trip per connect on the loop thread.
 */
#ifndef SK_NET_H
#define SK_NET_H

#include <stddef.h>
#include <stdint.h>

struct ev_loop;
struct net;
struct net_ws;

/* Why a connection ended. */
enum net_ws_end {
	NET_WS_CONNECT,    /* never opened: DNS, TCP, TLS or upgrade failed */
	NET_WS_PEER,       /* the server sent a close frame */
	NET_WS_LOST,       /* the connection broke without a close frame */
	NET_WS_LOCAL,      /* net_ws_close() finished */
	NET_WS_ERROR,      /* a write failed, or net_ws_fail() */
};
const char *net_ws_end_name(enum net_ws_end e);

struct net_ws_cb {
	void (*opened)(struct net_ws *ws, void *arg);
	void (*data)(struct net_ws *ws, const uint8_t *p, size_t n, int first,
	    int final, void *arg);
	/* code: the WebSocket close code when the server sent one, else 0;
	 * reason: one short line, never NULL. */
	void (*closed)(struct net_ws *ws, enum net_ws_end end, int code,
	    const char *reason, void *arg);
};

/* --- the process's context (ws.c) ---------------------------------------
 * net_new: the lws context on `loop` (normally EV_DEFAULT).  TLS uses the
 * system CA store (net_tls_load_ca); the TLS context is made at the first
 * wss:// connect, so a process that only uses ws:// never loads it.
 * Every WebSocket upgrade carries `Origin: https://web.whatsapp.com`.
 * Returns NULL with `why` set.
 * net_free: free every connection first; one still attached is dropped
 * without a callback. */
struct net *net_new(struct ev_loop *loop, char *why, size_t whylen);
void net_free(struct net *n);

/* The system CA store into a client SSL_CTX (`ssl_ctx`), for ws.c and
 * http.c.  OpenSSL's defaults would parse the whole bundle file (cert.pem,
 * ~140 certificates, ~700 KiB of heap kept for the life of the process) to
 * check one server.  The hashed directory next to it (c_rehash,
 * update-ca-certificates: every Debian and Ubuntu, Heroku's stacks) holds
 * the same certificates and OpenSSL reads from it only the issuers a chain
 * asks for.  So: OpenSSL's default lookups without the bundle file when
 * the default directory (or SSL_CERT_DIR) is hashed and SSL_CERT_FILE is
 * not set; otherwise exactly OpenSSL's defaults.  0, or -1 (no memory). */
int net_tls_load_ca(void *ssl_ctx);

/* --- one connection (ws.c) ---------------------------------------------- */
struct net_ws *net_ws_new(struct net *n, const struct net_ws_cb *cb,
    void *arg);
/* url: ws://host[:port][/path] or wss://...; "[v6]" literals allowed.
 * Returns 0, or -1 with `why` set (bad URL, not idle, no memory). */
int net_ws_connect(struct net_ws *ws, const char *url, char *why,
    size_t whylen);
/* Queues one binary message (copied).  -1 when not open; also -1 when
 * the queue would pass NET_WS_QUEUE_MAX bytes: the peer is not reading, so
 * the connection is ended as by net_ws_fail(). */
#define NET_WS_QUEUE_MAX (32u << 20)
int net_ws_send(struct net_ws *ws, const uint8_t *p, size_t n);
size_t net_ws_queued(const struct net_ws *ws);   /* bytes not yet written */
void net_ws_close(struct net_ws *ws);
void net_ws_abort(struct net_ws *ws);
/* Ends the connection because its owner found it unusable (a malformed
 * stream, a cipher that cannot go on): the socket is dropped now, and
 * `closed` follows on the next loop iteration with NET_WS_ERROR and
 * `reason`, never from inside this call.  No more data is delivered. */
void net_ws_fail(struct net_ws *ws, const char *reason);
void net_ws_free(struct net_ws *ws);
int net_ws_is_open(const struct net_ws *ws);
int net_ws_is_idle(const struct net_ws *ws);

/* --- URLs (url.c) ---------------------------------------------------------
 * Pure: splits a ws:// or wss:// URL. */
struct net_url {
	int tls;
	int port;
	char host[256];      /* without brackets for IPv6 literals */
	char hostport[272];  /* the Host header: host, or host:port when not
	                        the scheme's default port */
	char path[1024];     /* "/" when the URL has none */
};
int net_url_parse(const char *url, struct net_url *u, char *why,
    size_t whylen);

#endif
