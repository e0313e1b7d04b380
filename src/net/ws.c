/*
 * src/net/ws.c: the lws context on the shared libev loop, and one
 * WebSocket client connection per struct net_ws.  The contract is in
 * net/net.h.
 *
 * The link between an lws wsi and its net_ws is the wsi's opaque user
 * pointer, and only that.  Aborting or freeing a connection "detaches" it:
 * the pointer is cleared and the wsi is told to die at lws's next timeout
 * check.  Whatever lws still calls for a detached wsi finds NULL and is
 * ignored, so a net_ws can be reconnected or freed at any moment, even from
 * inside one of its own callbacks, without waiting for lws to finish
 * tearing the old socket down.
 *
 * Only lws API present in both 4.1 (Debian 12) and 4.3 (Ubuntu 24.04,
 * Heroku) is used.
 */
#include <ctype.h>
#include <dirent.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <ev.h>
#include <libwebsockets.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include "log/log.h"
#include "wa/wa.h"
#include "net/net.h"

/* Per-connection receive buffer in lws.  Bigger means fewer pieces per
 * large message but costs this much per connection whether used or not;
 * WhatsApp stanzas are mostly well under it, and anything larger arrives in
 * pieces, which the frame reader reassembles anyway. */
#define NET_RX_BUF 16384

#define NET_ORIGIN "https://web.whatsapp.com"

/* The most sockets lws tracks at once: every session's connection, lws's
 * own event pipe, and room for sockets on their way out.  lws sizes two
 * tables from this at context creation (16 bytes a slot); left at 0 it
 * takes `ulimit -n`, which is 10000 or more on most hosts and costs
 * hundreds of KiB for nothing.  Must stay well above CFG_SESSIONS_MAX. */
#define NET_FD_LIMIT 1024

struct net {
	struct lws_context *ctx;
	struct lws_vhost *vh;
	struct ev_loop *loop;
	void *loops[1];          /* lws reads the foreign loop from here */
	int destroying;
	int tls_ready;           /* the vhost's client TLS context exists */
};

enum ws_state { WS_IDLE, WS_CONNECTING, WS_OPEN, WS_CLOSING };

struct net_msg {
	struct net_msg *next;
	size_t len;
	unsigned char buf[];     /* LWS_PRE bytes of headroom, then payload */
};

struct net_ws {
	struct net *net;
	struct net_ws_cb cb;
	void *arg;
	enum ws_state state;
	struct lws *wsi;         /* NULL when idle or detached */
	struct net_url url;      /* kept: lws may read the strings later */
	struct net_msg *head, *tail;
	size_t queued;
	int write_failed;
	struct lws *serviced;    /* the wsi whose callback is running, if any */
	int busy;                /* nesting depth of calls into the owner */
	int dead;                /* net_ws_free() while busy: free on leave */
	int in_connect;          /* inside lws_client_connect_via_info() */
	char tls_error[96];      /* why the server's certificate failed */
	int peer_code;           /* the server's close frame, if any */
	char peer_reason[124];
	/* A report that must not be made from inside the caller's own call
	 * (net_ws_connect, net_ws_close while connecting): made on the next
	 * loop iteration instead. */
	ev_timer later;
	int later_pending;
	enum net_ws_end later_end;
	char later_reason[448];
};

static const char *const end_names[] = {
	[NET_WS_CONNECT] = "connect",
	[NET_WS_PEER] = "peer_closed",
	[NET_WS_LOST] = "lost",
	[NET_WS_LOCAL] = "local_close",
	[NET_WS_ERROR] = "error",
};

const char *
net_ws_end_name(enum net_ws_end e)
{
	if ((unsigned)e < sizeof(end_names) / sizeof(end_names[0]) &&
	    end_names[e] != NULL)
		return end_names[e];
	return "unknown";
}

/* --- calling the owner ----------------------------------------------------
 * Every call into the owner is bracketed, so that net_ws_free() from inside
 * it only marks the connection; the memory goes when the outermost call
 * returns.  leave() says whether it is gone. */
static void
enter(struct net_ws *ws)
{
	ws->busy++;
}

static int
leave(struct net_ws *ws)
{
	if (--ws->busy == 0 && ws->dead) {
		free(ws);
		return 1;
	}
	return 0;
}

static void
drop_queue(struct net_ws *ws)
{
	struct net_msg *m, *next;

	for (m = ws->head; m != NULL; m = next) {
		next = m->next;
		free(m);
	}
	ws->head = ws->tail = NULL;
	ws->queued = 0;
}

/* Cuts the wsi loose; with `kill`, closes its socket too.
 *
 * The close must happen now: a socket left for lws to reap at its next
 * timer check can linger as long as nothing else happens on the loop (in
 * lws 4.1 a scheduled kill does not wake a foreign loop), and a lingering
 * old connection next to a new one looks like a second login to WhatsApp.
 * So it is killed synchronously, which lws allows for any wsi but the one
 * it is servicing.  That one (the owner aborts from inside our callback
 * for it) is closed by returning -1 from the callback instead: the
 * callback sees it was detached.  The asynchronous kill is only the
 * belt to those braces. */
static void
detach(struct net_ws *ws, int kill)
{
	struct lws *wsi = ws->wsi;

	if (wsi == NULL)
		return;
	lws_set_opaque_user_data(wsi, NULL);
	ws->wsi = NULL;
	if (!kill)
		return;
	if (wsi == ws->serviced)
		lws_set_timeout(wsi, PENDING_TIMEOUT_USER_OK, LWS_TO_KILL_ASYNC);
	else
		lws_set_timeout(wsi, PENDING_TIMEOUT_USER_OK, LWS_TO_KILL_SYNC);
}

/* The connection is over: back to idle, then tell the owner. */
static void
finish(struct net_ws *ws, enum net_ws_end end, int code, const char *reason)
{
	detach(ws, 0);
	drop_queue(ws);
	ws->state = WS_IDLE;
	ws->write_failed = 0;
	ws->peer_code = 0;
	ws->peer_reason[0] = '\0';
	if (ws->cb.closed != NULL) {
		enter(ws);
		ws->cb.closed(ws, end, code, reason, ws->arg);
		leave(ws);
	}
}

static void
later_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct net_ws *ws = w->data;
	char reason[sizeof(ws->later_reason)];

	(void)loop;
	(void)revents;
	ev_timer_stop(ws->net->loop, &ws->later);
	ws->later_pending = 0;
	memcpy(reason, ws->later_reason, sizeof(reason));
	finish(ws, ws->later_end, 0, reason);
}

static void
report_later(struct net_ws *ws, enum net_ws_end end, const char *reason)
{
	if (ws->later_pending)
		return;                 /* the first reason is the real one */
	ws->later_pending = 1;
	ws->later_end = end;
	snprintf(ws->later_reason, sizeof(ws->later_reason), "%s", reason);
	ev_timer_set(&ws->later, 0., 0.);
	ev_timer_start(ws->net->loop, &ws->later);
}

/* --- lws callbacks ------------------------------------------------------- */

static int
on_writeable(struct net_ws *ws, struct lws *wsi)
{
	struct net_msg *m = ws->head;

	if (m != NULL) {
		int n;

		ws->head = m->next;
		if (ws->head == NULL)
			ws->tail = NULL;
		ws->queued -= m->len;
		/* lws buffers whatever the socket does not take and holds
		 * back the next WRITEABLE until it has gone: one write per
		 * callback is its rule. */
		n = lws_write(wsi, m->buf + LWS_PRE, m->len, LWS_WRITE_BINARY);
		if (n < 0 || (size_t)n < m->len) {
			free(m);
			ws->write_failed = 1;
			return -1;
		}
		free(m);
	}
	if (ws->head != NULL)
		lws_callback_on_writable(wsi);
	else if (ws->state == WS_CLOSING) {
		lws_close_reason(wsi, LWS_CLOSE_STATUS_NORMAL, NULL, 0);
		return -1;
	}
	return 0;
}

static void
on_closed(struct net_ws *ws, const char *what)
{
	if (ws->state == WS_CLOSING)
		finish(ws, NET_WS_LOCAL, 0, "closed as asked");
	else if (ws->write_failed)
		finish(ws, NET_WS_ERROR, 0, "write to the socket failed");
	else if (ws->peer_code != 0 || ws->peer_reason[0] != '\0') {
		char reason[160];
		snprintf(reason, sizeof(reason), "server closed the WebSocket%s%s",
		    ws->peer_reason[0] ? ": " : "", ws->peer_reason);
		finish(ws, NET_WS_PEER, ws->peer_code, reason);
	} else if (ws->state == WS_CONNECTING)
		finish(ws, NET_WS_CONNECT, 0, what);
	else
		finish(ws, NET_WS_LOST, 0, what);
}

/* Keeps the server's close code and text (printable ASCII only: it goes
 * into log lines). */
static void
note_peer_close(struct net_ws *ws, const unsigned char *in, size_t len)
{
	size_t i, o = 0;

	ws->peer_code = len >= 2 ? (in[0] << 8) | in[1] : 1005;
	for (i = 2; i < len && o + 1 < sizeof(ws->peer_reason); i++)
		ws->peer_reason[o++] =
		    in[i] >= 0x20 && in[i] < 0x7f && in[i] != '"' ? (char)in[i]
		    : '?';
	ws->peer_reason[o] = '\0';
}

static int
ws_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user,
    void *in, size_t len)
{
	struct net_ws *ws = lws_get_opaque_user_data(wsi);
	int gone;

	(void)user;
	if (ws != NULL && ws->net->destroying) {
		/* net_free() with this connection still attached: it is
		 * dropped without a word, as net.h says. */
		detach(ws, 0);
		drop_queue(ws);
		ws->state = WS_IDLE;
		return 0;
	}

	switch (reason) {
	case LWS_CALLBACK_CLIENT_CONNECTION_ERROR: {
		char msg[448];

		if (ws == NULL)
			return 0;
		/* lws's own text for a refused certificate is an OpenSSL
		 * error number; the verify callback kept the real reason. */
		if (ws->tls_error[0] != '\0')
			snprintf(msg, sizeof(msg), "%s: TLS certificate "
			    "rejected: %s", ws->url.hostport, ws->tls_error);
		else
			snprintf(msg, sizeof(msg), "%s: %s", ws->url.hostport,
			    in != NULL ? (const char *)in : "connection failed");
		detach(ws, 0);
		/* Inside net_ws_connect() the owner must not be called. */
		if (ws->in_connect)
			report_later(ws, NET_WS_CONNECT, msg);
		else
			finish(ws, NET_WS_CONNECT, 0, msg);
		return 0;
	}
	case LWS_CALLBACK_OPENSSL_PERFORM_SERVER_CERT_VERIFICATION:
		/* user: the X509_STORE_CTX; len: OpenSSL's preverify_ok.
		 * Returning 0 leaves OpenSSL's verdict as it is. */
		if (ws != NULL && len == 0 && user != NULL)
			snprintf(ws->tls_error, sizeof(ws->tls_error), "%s",
			    X509_verify_cert_error_string(
			    X509_STORE_CTX_get_error(user)));
		return 0;

	case LWS_CALLBACK_OPENSSL_LOAD_EXTRA_CLIENT_VERIFY_CERTS:
		/* user: the new client SSL_CTX (lws added no CA of its own:
		 * DISABLE_OS_CA_CERTS). */
		if (user != NULL && net_tls_load_ca(user) < 0)
			log_warn("component=net msg=\"could not load the system "
			    "CA certificates: wss:// servers will not verify\"");
		return 0;

	case LWS_CALLBACK_CLIENT_ESTABLISHED:
		if (ws == NULL)
			return -1;
		ws->state = WS_OPEN;
		if (ws->cb.opened == NULL)
			return 0;
		enter(ws);
		ws->serviced = wsi;
		ws->cb.opened(ws, ws->arg);
		ws->serviced = NULL;
		gone = ws->wsi != wsi;
		leave(ws);
		return gone ? -1 : 0;

	case LWS_CALLBACK_CLIENT_RECEIVE:
		if (ws == NULL)
			return -1;
		if (ws->cb.data == NULL)
			return 0;
		enter(ws);
		ws->serviced = wsi;
		ws->cb.data(ws, in, len, lws_is_first_fragment(wsi),
		    lws_is_final_fragment(wsi), ws->arg);
		ws->serviced = NULL;
		gone = ws->wsi != wsi;
		leave(ws);
		return gone ? -1 : 0;

	case LWS_CALLBACK_WS_PEER_INITIATED_CLOSE:
		if (ws != NULL)
			note_peer_close(ws, in, len);
		return 0;

	case LWS_CALLBACK_CLIENT_WRITEABLE:
		if (ws == NULL)
			return -1;
		return on_writeable(ws, wsi);

	case LWS_CALLBACK_CLIENT_CLOSED:
		if (ws != NULL)
			on_closed(ws, "connection lost");
		return 0;

	case LWS_CALLBACK_WSI_DESTROY:
		/* Normally reported already; this catches any path that ends
		 * a wsi without CLIENT_CLOSED or CONNECTION_ERROR. */
		if (ws != NULL) {
			if (ws->in_connect) {
				detach(ws, 0);
				report_later(ws, NET_WS_CONNECT,
				    "connection failed");
			} else
				on_closed(ws, "connection ended");
		}
		return 0;

	default:
		return 0;
	}
}

static const struct lws_protocols protocols[] = {
	{ .name = "skykeeper-wa", .callback = ws_callback,
	  .rx_buffer_size = NET_RX_BUF },
	{ .name = NULL, .callback = NULL },
};

/* lws's own log lines, at debug level: they are about lws internals and
 * every failure that matters reaches the owner as a reason anyway. */
static void
lws_log_line(int level, const char *line)
{
	char buf[512];
	size_t i, o = 0;

	(void)level;
	if (log_get_level() < LOG_DEBUG)
		return;
	for (i = 0; line[i] != '\0' && o + 1 < sizeof(buf); i++) {
		char c = line[i];
		if (c == '\n' || c == '\r')
			continue;
		buf[o++] = c == '"' ? '\'' : c;
	}
	buf[o] = '\0';
	log_debug("component=lws msg=\"%s\"", buf);
}

/* --- the system CA store -------------------------------------------------- */

/* Does `dir` hold c_rehash links (an entry named like 9d8a3f2c.0)? */
static int
dir_is_hashed(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int yes = 0;

	if (d == NULL)
		return 0;
	while (!yes && (e = readdir(d)) != NULL) {
		const char *s = e->d_name;
		size_t i;

		for (i = 0; i < 8 && isxdigit((unsigned char)s[i]); i++)
			;
		yes = i == 8 && s[8] == '.' && isdigit((unsigned char)s[9]);
	}
	closedir(d);
	return yes;
}

int
net_tls_load_ca(void *ssl_ctx)
{
	X509_STORE *st = SSL_CTX_get_cert_store(ssl_ctx);
	X509_LOOKUP *lu;
	const char *dir;

	if (st == NULL)
		return -1;
	dir = getenv(X509_get_default_cert_dir_env());
	if (dir == NULL)
		dir = X509_get_default_cert_dir();
	if (getenv(X509_get_default_cert_file_env()) != NULL ||
	    strchr(dir, ':') != NULL || !dir_is_hashed(dir))
		return X509_STORE_set_default_paths(st) == 1 ? 0 : -1;
	/* X509_STORE_set_default_paths() without its first step, the
	 * bundle file: the same directory and store lookups, both of which
	 * read a certificate only when a chain asks for it. */
	if ((lu = X509_STORE_add_lookup(st, X509_LOOKUP_hash_dir())) == NULL ||
	    X509_LOOKUP_add_dir(lu, NULL, X509_FILETYPE_DEFAULT) != 1)
		return X509_STORE_set_default_paths(st) == 1 ? 0 : -1;
	if ((lu = X509_STORE_add_lookup(st, X509_LOOKUP_store())) != NULL)
		X509_LOOKUP_add_store(lu, NULL);
	ERR_clear_error();
	return 0;
}

/* --- the context --------------------------------------------------------- */

/* Context and vhost options.  The vhost is made explicitly, without
 * DO_SSL_GLOBAL_INIT, so that it gets no client TLS context yet: that one
 * (an SSL_CTX holding the system CA store) is made by tls_init() when the
 * first wss:// connection starts, and a process that only ever connects
 * with ws:// never pays for it.  The context keeps DO_SSL_GLOBAL_INIT:
 * OpenSSL's library init and lws's ex_data indexes happen there.
 * RAW_ORIGIN: without it lws writes "Origin: http://" + origin. */
#define NET_VHOST_OPTIONS (LWS_SERVER_OPTION_LIBEV | \
	LWS_SERVER_OPTION_JUST_USE_RAW_ORIGIN | \
	LWS_SERVER_OPTION_DISABLE_OS_CA_CERTS)
#define NET_CTX_OPTIONS (NET_VHOST_OPTIONS | \
	LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT | \
	LWS_SERVER_OPTION_EXPLICIT_VHOSTS)

static void
ctx_info(struct net *n, struct lws_context_creation_info *info,
    uint64_t options)
{
	memset(info, 0, sizeof(*info));
	info->port = CONTEXT_PORT_NO_LISTEN;
	info->protocols = protocols;
	info->gid = -1;
	info->uid = -1;
	info->fd_limit_per_thread = NET_FD_LIMIT;
	info->options = options;
	info->foreign_loops = n->loops;
	info->user = n;
}

struct net *
net_new(struct ev_loop *loop, char *why, size_t whylen)
{
	struct lws_context_creation_info info;
	struct net *n;

	if (loop == NULL) {
		wa_say(why, whylen, "no event loop");
		return NULL;
	}
	n = calloc(1, sizeof(*n));
	if (n == NULL) {
		wa_say(why, whylen, "out of memory");
		return NULL;
	}
	n->loop = loop;
	n->loops[0] = loop;
	lws_set_log_level(LLL_ERR | LLL_WARN, lws_log_line);

	ctx_info(n, &info, NET_CTX_OPTIONS);
	n->ctx = lws_create_context(&info);
	if (n->ctx == NULL) {
		wa_say(why, whylen, "libwebsockets could not create its context "
		    "(is the libev event-loop plugin installed?)");
		free(n);
		return NULL;
	}
	ctx_info(n, &info, NET_VHOST_OPTIONS);
	info.vhost_name = "default";
	n->vh = lws_create_vhost(n->ctx, &info);
	if (n->vh == NULL) {
		wa_say(why, whylen, "libwebsockets could not create its vhost");
		lws_context_destroy(n->ctx);
		free(n);
		return NULL;
	}
	return n;
}

/* The client TLS context, made once, on the first wss:// connect (lws
 * made it in lws_create_context() before).  Same lws and OpenSSL settings;
 * the CA store comes from net_tls_load_ca(), called back by lws with
 * LWS_CALLBACK_OPENSSL_LOAD_EXTRA_CLIENT_VERIFY_CERTS. */
static int
tls_init(struct net *n)
{
	struct lws_context_creation_info info;

	if (n->tls_ready)
		return 0;
	ctx_info(n, &info, NET_VHOST_OPTIONS |
	    LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT);
	if (lws_init_vhost_client_ssl(&info, n->vh) != 0)
		return -1;
	n->tls_ready = 1;
	return 0;
}

void
net_free(struct net *n)
{
	if (n == NULL)
		return;
	n->destroying = 1;
	lws_context_destroy(n->ctx);
	free(n);
}

/* --- connections --------------------------------------------------------- */

struct net_ws *
net_ws_new(struct net *n, const struct net_ws_cb *cb, void *arg)
{
	struct net_ws *ws = calloc(1, sizeof(*ws));

	if (ws == NULL)
		return NULL;
	ws->net = n;
	if (cb != NULL)
		ws->cb = *cb;
	ws->arg = arg;
	ev_timer_init(&ws->later, later_cb, 0., 0.);
	ws->later.data = ws;
	return ws;
}

/* lws returns no reason when a connection fails before it starts; the
 * usual cause is a name that does not resolve, so ask the resolver once
 * more, on this failure path only, to say so. */
static void
explain_start_failure(struct net_ws *ws)
{
	struct addrinfo hints, *res = NULL;
	char msg[sizeof(ws->later_reason)];
	int rc;

	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	rc = getaddrinfo(ws->url.host, NULL, &hints, &res);
	if (rc != 0)
		snprintf(msg, sizeof(msg), "cannot resolve %s: %s",
		    ws->url.host, gai_strerror(rc));
	else
		snprintf(msg, sizeof(msg), "%s: could not start the connection",
		    ws->url.hostport);
	if (res != NULL)
		freeaddrinfo(res);
	report_later(ws, NET_WS_CONNECT, msg);
}

int
net_ws_connect(struct net_ws *ws, const char *url, char *why, size_t whylen)
{
	struct lws_client_connect_info ci;
	struct lws *wsi;

	if (ws->state != WS_IDLE || ws->later_pending) {
		wa_say(why, whylen, "connection is not idle");
		return -1;
	}
	if (net_url_parse(url, &ws->url, why, whylen) < 0)
		return -1;

	if (ws->url.tls && tls_init(ws->net) < 0) {
		/* Reported like any other failure to connect: later. */
		ws->state = WS_CONNECTING;
		report_later(ws, NET_WS_CONNECT, "could not set up TLS "
		    "(OpenSSL client context)");
		return 0;
	}

	memset(&ci, 0, sizeof(ci));
	ci.context = ws->net->ctx;
	ci.vhost = ws->net->vh;
	ci.address = ws->url.host;
	ci.port = ws->url.port;
	ci.ssl_connection = ws->url.tls ? LCCSCF_USE_SSL : 0;
	ci.path = ws->url.path;
	ci.host = ws->url.hostport;
	ci.origin = NET_ORIGIN;
	ci.protocol = NULL;             /* no Sec-WebSocket-Protocol */
	ci.local_protocol_name = protocols[0].name;
	ci.opaque_user_data = ws;
	ci.pwsi = &ws->wsi;

	ws->state = WS_CONNECTING;
	ws->tls_error[0] = '\0';
	ws->write_failed = 0;
	ws->peer_code = 0;
	ws->peer_reason[0] = '\0';
	ws->in_connect = 1;
	wsi = lws_client_connect_via_info(&ci);
	ws->in_connect = 0;
	if (wsi == NULL) {
		ws->wsi = NULL;         /* lws scrubbed it */
		explain_start_failure(ws);
	}
	return 0;
}

int
net_ws_send(struct net_ws *ws, const uint8_t *p, size_t n)
{
	struct net_msg *m;

	if (ws->state != WS_OPEN || ws->wsi == NULL)
		return -1;
	if (n > NET_WS_QUEUE_MAX - ws->queued) {
		net_ws_fail(ws, "send queue full: the server is not reading");
		return -1;
	}
	m = malloc(sizeof(*m) + LWS_PRE + n);
	if (m == NULL)
		return -1;
	m->next = NULL;
	m->len = n;
	if (n > 0)
		memcpy(m->buf + LWS_PRE, p, n);
	if (ws->tail != NULL)
		ws->tail->next = m;
	else
		ws->head = m;
	ws->tail = m;
	ws->queued += n;
	lws_callback_on_writable(ws->wsi);
	return 0;
}

size_t
net_ws_queued(const struct net_ws *ws)
{
	return ws->queued;
}

void
net_ws_close(struct net_ws *ws)
{
	switch (ws->state) {
	case WS_IDLE:
	case WS_CLOSING:
		return;
	case WS_CONNECTING:
		/* No WebSocket yet to say goodbye on: drop the attempt, and
		 * still report, as close always does. */
		detach(ws, 1);
		report_later(ws, NET_WS_LOCAL, "closed before it opened");
		return;
	case WS_OPEN:
		ws->state = WS_CLOSING;
		if (ws->wsi != NULL)
			lws_callback_on_writable(ws->wsi);
		return;
	}
}

void
net_ws_fail(struct net_ws *ws, const char *reason)
{
	if (ws->state == WS_IDLE || ws->later_pending)
		return;
	detach(ws, 1);
	drop_queue(ws);
	report_later(ws, NET_WS_ERROR, reason);
}

void
net_ws_abort(struct net_ws *ws)
{
	if (ws->later_pending) {
		ev_timer_stop(ws->net->loop, &ws->later);
		ws->later_pending = 0;
	}
	detach(ws, 1);
	drop_queue(ws);
	ws->state = WS_IDLE;
	ws->write_failed = 0;
	ws->peer_code = 0;
	ws->peer_reason[0] = '\0';
}

void
net_ws_free(struct net_ws *ws)
{
	if (ws == NULL)
		return;
	net_ws_abort(ws);
	if (ws->busy > 0) {
		ws->dead = 1;
		return;
	}
	free(ws);
}

int
net_ws_is_open(const struct net_ws *ws)
{
	return ws->state == WS_OPEN;
}

int
net_ws_is_idle(const struct net_ws *ws)
{
	return ws->state == WS_IDLE && !ws->later_pending;
}
