/*
 * src/net/http.c: a single HTTP(S) GET on a libwebsockets client context
 * that shares the process's libev loop.  See http.h.
 *
 * Every outcome -- an answer, a failure reported by lws, the timeout --
 * is written into the client and then reported by the `tick` timer on the
 * next loop iteration, so `done` never runs inside an lws callback or
 * inside net_http_get().  The same timer is the request's timeout while it
 * is in flight.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <ev.h>
#include <libwebsockets.h>
#include <openssl/x509.h>
#include "log/log.h"
#include "wa/wa.h"
#include "net/http.h"
#include "net/net.h"

/* The ping needs a few fds at most; lws sizes its tables from this. */
#define HTTP_FDS 8

struct net_http {
	struct lws_context *ctx;
	struct lws_vhost *vh;
	int tls_ready;            /* the vhost's client TLS context exists */
	struct ev_loop *loop;
	void *loops[1];
	struct lws *wsi;          /* NULL when idle or detached */
	struct net_url url;       /* kept: lws reads the strings later */
	int busy;                 /* a request not yet reported */
	int have_result;          /* status/err below are final */
	int status;
	char err[600];
	char tls_error[96];       /* why the server's certificate failed */
	double t0;
	ev_timer tick;            /* timeout, then the report */
	net_http_done_fn *done;
	void *arg;
	int destroying;
};

/* Cuts the wsi loose; with `kill`, closes it (now when lws allows it). */
static void
detach(struct net_http *h, int kill, int servicing)
{
	struct lws *wsi = h->wsi;

	if (wsi == NULL)
		return;
	lws_set_opaque_user_data(wsi, NULL);
	h->wsi = NULL;
	if (kill)
		lws_set_timeout(wsi, PENDING_TIMEOUT_USER_OK, servicing ?
		    LWS_TO_KILL_ASYNC : LWS_TO_KILL_SYNC);
}

/* The outcome is known: report it on the next loop iteration. */
static void
result(struct net_http *h, int status, const char *err)
{
	if (!h->busy || h->have_result)
		return;                  /* the first outcome is the real one */
	h->have_result = 1;
	h->status = status;
	snprintf(h->err, sizeof(h->err), "%s", err != NULL ? err : "");
	ev_timer_stop(h->loop, &h->tick);
	ev_timer_set(&h->tick, 0., 0.);
	ev_timer_start(h->loop, &h->tick);
}

static void
tick_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct net_http *h = w->data;
	net_http_done_fn *done;
	double ms;
	int status;
	char err[sizeof(h->err)];

	(void)revents;
	ev_timer_stop(loop, w);
	if (!h->busy)
		return;
	if (!h->have_result) {           /* the timeout */
		detach(h, 1, 0);
		h->have_result = 1;
		h->status = 0;
		snprintf(h->err, sizeof(h->err), "no answer within the timeout");
	}
	ev_now_update(loop);
	ms = (ev_now(loop) - h->t0) * 1e3;
	status = h->status;
	memcpy(err, h->err, sizeof(err));
	done = h->done;
	h->busy = 0;
	h->have_result = 0;
	if (done != NULL)
		done(status, ms, status != 0 ? NULL : err, h->arg);
}

static int
http_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user,
    void *in, size_t len)
{
	struct net_http *h = wsi != NULL ? lws_get_opaque_user_data(wsi) : NULL;
	char buf[LWS_PRE + 2048], *px;
	int lenx;

	if (h != NULL && h->destroying) {
		detach(h, 0, 1);
		return 0;
	}
	switch (reason) {
	case LWS_CALLBACK_CLIENT_CONNECTION_ERROR: {
		char msg[560];

		if (h == NULL)
			return 0;
		if (h->tls_error[0] != '\0')
			snprintf(msg, sizeof(msg), "%s: TLS certificate "
			    "rejected: %s", h->url.hostport, h->tls_error);
		else
			snprintf(msg, sizeof(msg), "%s: %s", h->url.hostport,
			    in != NULL ? (const char *)in : "connection failed");
		detach(h, 0, 1);
		result(h, 0, msg);
		return 0;
	}
	case LWS_CALLBACK_OPENSSL_PERFORM_SERVER_CERT_VERIFICATION:
		/* user: the X509_STORE_CTX; len: OpenSSL's preverify_ok.
		 * Returning 0 leaves OpenSSL's verdict as it is. */
		if (h != NULL && len == 0 && user != NULL)
			snprintf(h->tls_error, sizeof(h->tls_error), "%s",
			    X509_verify_cert_error_string(
			    X509_STORE_CTX_get_error(user)));
		return 0;

	case LWS_CALLBACK_OPENSSL_LOAD_EXTRA_CLIENT_VERIFY_CERTS:
		/* user: the new client SSL_CTX; see net_tls_load_ca(). */
		if (user != NULL && net_tls_load_ca(user) < 0)
			log_warn("component=app_ping msg=\"could not load the "
			    "system CA certificates: https:// will not verify\"");
		return 0;

	case LWS_CALLBACK_ESTABLISHED_CLIENT_HTTP:
		if (h == NULL)
			return -1;
		/* The status is known now; the body is drained and dropped,
		 * and the report waits for the end so that the connection
		 * is not left half-read. */
		h->status = (int)lws_http_client_http_response(wsi);
		return 0;

	case LWS_CALLBACK_RECEIVE_CLIENT_HTTP:
		if (h == NULL)
			return -1;
		px = buf + LWS_PRE;
		lenx = (int)sizeof(buf) - LWS_PRE;
		if (lws_http_client_read(wsi, &px, &lenx) < 0)
			return -1;
		return 0;

	case LWS_CALLBACK_RECEIVE_CLIENT_HTTP_READ:
		return 0;                /* the body: not wanted */

	case LWS_CALLBACK_COMPLETED_CLIENT_HTTP:
		if (h == NULL)
			return -1;
		detach(h, 0, 1);
		result(h, h->status, NULL);
		return -1;               /* no keep-alive: one request */

	case LWS_CALLBACK_CLOSED_CLIENT_HTTP:
	case LWS_CALLBACK_WSI_DESTROY:
		if (h == NULL)
			return 0;
		detach(h, 0, 1);
		if (h->status != 0)      /* closed after the headers */
			result(h, h->status, NULL);
		else
			result(h, 0, "connection closed before an answer");
		return 0;

	default:
		return 0;
	}
}

static const struct lws_protocols http_protocols[] = {
	{ .name = "skykeeper-http", .callback = http_callback },
	{ .name = NULL, .callback = NULL },
};

/* As in ws.c: the vhost is made without client TLS, which tls_init() adds
 * on the first https:// GET; the CA store is read by net_tls_load_ca(). */
#define HTTP_VHOST_OPTIONS (LWS_SERVER_OPTION_LIBEV | \
	LWS_SERVER_OPTION_DISABLE_OS_CA_CERTS)
#define HTTP_CTX_OPTIONS (HTTP_VHOST_OPTIONS | \
	LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT | \
	LWS_SERVER_OPTION_EXPLICIT_VHOSTS)

static void
ctx_info(struct net_http *h, struct lws_context_creation_info *info,
    uint64_t options)
{
	memset(info, 0, sizeof(*info));
	info->port = CONTEXT_PORT_NO_LISTEN;
	info->protocols = http_protocols;
	info->gid = -1;
	info->uid = -1;
	info->fd_limit_per_thread = HTTP_FDS;
	info->options = options;
	info->foreign_loops = h->loops;
	info->user = h;
}

struct net_http *
net_http_new(struct ev_loop *loop, char *why, size_t whylen)
{
	struct lws_context_creation_info info;
	struct net_http *h;

	if (loop == NULL) {
		wa_say(why, whylen, "no event loop");
		return NULL;
	}
	if ((h = calloc(1, sizeof(*h))) == NULL) {
		wa_say(why, whylen, "out of memory");
		return NULL;
	}
	h->loop = loop;
	h->loops[0] = loop;
	ctx_info(h, &info, HTTP_CTX_OPTIONS);
	h->ctx = lws_create_context(&info);
	if (h->ctx == NULL) {
		wa_say(why, whylen, "libwebsockets could not create its HTTP "
		    "context (is the libev event-loop plugin installed?)");
		free(h);
		return NULL;
	}
	ctx_info(h, &info, HTTP_VHOST_OPTIONS);
	info.vhost_name = "default";
	h->vh = lws_create_vhost(h->ctx, &info);
	if (h->vh == NULL) {
		wa_say(why, whylen, "libwebsockets could not create its HTTP "
		    "vhost");
		lws_context_destroy(h->ctx);
		free(h);
		return NULL;
	}
	ev_init(&h->tick, tick_cb);
	h->tick.data = h;
	return h;
}

/* The client TLS context, made once, on the first https:// GET. */
static int
tls_init(struct net_http *h)
{
	struct lws_context_creation_info info;

	if (h->tls_ready)
		return 0;
	ctx_info(h, &info, HTTP_VHOST_OPTIONS |
	    LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT);
	if (lws_init_vhost_client_ssl(&info, h->vh) != 0)
		return -1;
	h->tls_ready = 1;
	return 0;
}

void
net_http_free(struct net_http *h)
{
	if (h == NULL)
		return;
	ev_timer_stop(h->loop, &h->tick);
	h->busy = 0;
	h->destroying = 1;
	lws_context_destroy(h->ctx);
	free(h);
}

/* http(s):// -> the ws(s):// form net_url_parse() knows; same rules. */
static int
parse(const char *url, struct net_url *u, char *why, size_t whylen)
{
	char tmp[1400];
	const char *rest;
	const char *scheme;

	if (url == NULL) {
		wa_say(why, whylen, "no URL");
		return -1;
	}
	if (strncasecmp(url, "https://", 8) == 0) {
		scheme = "wss://";
		rest = url + 8;
	} else if (strncasecmp(url, "http://", 7) == 0) {
		scheme = "ws://";
		rest = url + 7;
	} else {
		wa_say(why, whylen, "URL must start with http:// or https://");
		return -1;
	}
	if (snprintf(tmp, sizeof(tmp), "%s%s", scheme, rest) >=
	    (int)sizeof(tmp)) {
		wa_say(why, whylen, "URL is too long");
		return -1;
	}
	return net_url_parse(tmp, u, why, whylen);
}

void
net_http_redact(const char *url, char *out, size_t outlen)
{
	struct net_url u;

	if (outlen == 0)
		return;
	if (parse(url, &u, NULL, 0) < 0) {
		snprintf(out, outlen, "(unparsable)");
		return;
	}
	u.path[strcspn(u.path, "?")] = '\0';
	snprintf(out, outlen, "%s://%s%s", u.tls ? "https" : "http",
	    u.hostport, u.path);
}

int
net_http_get(struct net_http *h, const char *url, double timeout,
    net_http_done_fn *done, void *arg, char *why, size_t whylen)
{
	struct lws_client_connect_info ci;
	struct lws *wsi;

	if (h->busy) {
		wa_say(why, whylen, "a request is still in flight");
		return -1;
	}
	if (parse(url, &h->url, why, whylen) < 0)
		return -1;

	memset(&ci, 0, sizeof(ci));
	ci.context = h->ctx;
	ci.vhost = h->vh;
	ci.address = h->url.host;
	ci.port = h->url.port;
	ci.ssl_connection = h->url.tls ? LCCSCF_USE_SSL : 0;
	ci.path = h->url.path;
	ci.host = h->url.hostport;
	ci.origin = h->url.hostport;
	ci.method = "GET";
	ci.alpn = "http/1.1";
	ci.protocol = http_protocols[0].name;
	ci.local_protocol_name = http_protocols[0].name;
	ci.opaque_user_data = h;
	ci.pwsi = &h->wsi;

	h->done = done;
	h->arg = arg;
	h->busy = 1;
	h->have_result = 0;
	h->status = 0;
	h->err[0] = '\0';
	h->tls_error[0] = '\0';
	ev_now_update(h->loop);
	h->t0 = ev_now(h->loop);
	ev_timer_stop(h->loop, &h->tick);
	ev_timer_set(&h->tick, timeout > 0 ? timeout : 30., 0.);
	ev_timer_start(h->loop, &h->tick);
	if (h->url.tls && tls_init(h) < 0) {
		result(h, 0, "could not set up TLS (OpenSSL client context)");
		return 0;
	}
	wsi = lws_client_connect_via_info(&ci);
	if (wsi == NULL) {
		h->wsi = NULL;
		result(h, 0, "could not start the connection (does the host "
		    "name resolve?)");
	}
	return 0;
}

void
net_http_abort(struct net_http *h)
{
	if (h == NULL || !h->busy)
		return;
	ev_timer_stop(h->loop, &h->tick);
	detach(h, 1, 0);
	h->busy = 0;
	h->have_result = 0;
}

int
net_http_busy(const struct net_http *h)
{
	return h != NULL && h->busy;
}
