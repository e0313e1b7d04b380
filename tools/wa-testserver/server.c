/*
 * tools/wa-testserver/server.c: the chat endpoint.  One lws context on
 * the process's libev loop (lws' "foreign loop"), two vhosts on 127.0.0.1:
 * the WebSocket at /ws/chat and the control interface (control.c).
 *
 * A connection goes HELLO -> FINISH -> OPEN:
 *  HELLO   the client's first message: intro bytes + clientHello; we
 *          answer serverHello (our ephemeral, static, certificate chain);
 *  FINISH  clientFinish: the client's static key and its ClientPayload;
 *          login.c decides success or failure, or a pending pairing
 *          (PAIRING: pairing.c reads what the client sends);
 *  OPEN    transport frames: decrypt, decode, log, answer (answer.c).
 * Anything malformed closes that connection and only that one.
 *
 * Outbound stanzas are queued as plaintext and sealed only when written,
 * so a delayed reply never reorders the nonce counter; a per-connection
 * libev timer (armed only while something waits) releases delayed items.
 * Memory per idle connection is this struct plus lws' own: the handshake
 * state is freed at login and buffers are freed whenever they empty.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>
#include <libwebsockets.h>
#include "wa-testserver/ts.h"

static void
conn_bad(struct ts_conn *c, const char *what, int rc)
{
	char name[40];

	c->srv->st.malformed++;
	ts_say(c->srv, "conn=%u dev=%s closing: %s: %s", c->id,
	    ts_dev_name(c->dev, name, sizeof(name)), what, wa_strerror(rc));
}

static void
out_free_all(struct ts_conn *c)
{
	struct ts_out *o;

	while ((o = c->oq) != NULL) {
		c->oq = o->next;
		free(o);
	}
	c->oq_tail = NULL;
}

/* Wakes the writer now or when the head item is due. */
static void
out_schedule(struct ts_conn *c)
{
	ev_tstamp now = ev_now(c->srv->loop);

	if (c->oq == NULL && c->kill == TS_K_NONE)
		return;
	if (c->kill != TS_K_NONE || c->oq->due <= now) {
		ev_timer_stop(c->srv->loop, &c->delay);
		lws_callback_on_writable(c->wsi);
		return;
	}
	/* "be smart about timeouts": one timer, re-armed to the head */
	ev_timer_stop(c->srv->loop, &c->delay);
	ev_timer_set(&c->delay, c->oq->due - now, 0.);
	ev_timer_start(c->srv->loop, &c->delay);
}

static void
delay_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct ts_conn *c = w->data;

	(void)loop;
	(void)revents;
	if (c->wsi != NULL)
		lws_callback_on_writable(c->wsi);
}

static int
out_push(struct ts_conn *c, const uint8_t *p, size_t n, int raw,
    int close_after)
{
	struct ts_policy pol = ts_policy_of(c->srv, c->dev);
	struct ts_out *o;

	if (c->state == TS_C_DEAD || c->closing)
		return 0;
	if (pol.silent)
		return 0;    /* silent: nothing leaves, not even errors */
	if ((o = malloc(sizeof(*o) + n)) == NULL)
		return WA_ENOMEM;
	o->next = NULL;
	o->due = ev_now(c->srv->loop) + pol.delay_ms / 1000.0;
	o->raw = (uint8_t)raw;
	o->close_after = (uint8_t)close_after;
	o->len = n;
	memcpy(o->data, p, n);
	if (c->oq_tail)
		c->oq_tail->next = o;
	else
		c->oq = o;
	c->oq_tail = o;
	if (c->oq == o)
		out_schedule(c);
	return 0;
}

int
ts_send_node(struct ts_conn *c, const struct wa_node *n, int close_after)
{
	struct wa_buf b = { 0 };
	int rc;

	if (n == NULL)
		return WA_ENOMEM;
	ts_log_node(c->srv, c, "out", n);
	if ((rc = wa_node_encode_frame(n, &b)) == 0)
		rc = out_push(c, b.data, b.len, 0, close_after);
	wa_buf_free(&b);
	return rc;
}

void
ts_conn_kill(struct ts_conn *c, enum ts_kill how)
{
	if (c->state == TS_C_DEAD || c->wsi == NULL)
		return;
	if (c->kill < how)
		c->kill = (uint8_t)how;
	lws_callback_on_writable(c->wsi);
}

/* RST instead of FIN: dissolving the association with connect(AF_UNSPEC)
 * makes Linux send a reset at once (tcp_disconnect); SO_LINGER 0 makes
 * the close that follows a reset too, whatever lws does first. */
static void
reset_socket(struct lws *wsi)
{
	struct linger lg = { 1, 0 };
	struct sockaddr sa;
	int fd = (int)lws_get_socket_fd(wsi);

	if (fd < 0)
		return;
	(void)setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	memset(&sa, 0, sizeof(sa));
	sa.sa_family = AF_UNSPEC;
	(void)connect(fd, &sa, sizeof(sa));
}

static int
conn_writable(struct ts_conn *c)
{
	struct ts_server *s = c->srv;
	struct wa_buf b = { 0 };
	ev_tstamp now = ev_now(s->loop);
	struct ts_out *o;
	int rc = 0, close_now = 0;
	uint8_t pre[LWS_PRE];

	if (c->kill == TS_K_RESET) {
		reset_socket(c->wsi);
		return -1;
	}
	if (c->kill == TS_K_CLOSE)
		return -1;
	memset(pre, 0, sizeof(pre));
	if (wa_buf_put(&b, pre, sizeof(pre)) < 0)
		return -1;
	/* everything due goes out in one WebSocket message: the protocol
	 * lets one message carry several frames */
	while ((o = c->oq) != NULL && o->due <= now + 0.0005) {
		c->oq = o->next;
		if (c->oq == NULL)
			c->oq_tail = NULL;
		if (ts_policy_of(s, c->dev).silent)
			rc = 0;
		else if (o->raw)
			rc = wa_buf_put(&b, o->data, o->len);
		else
			rc = wa_transport_seal(&c->t, o->data, o->len, &b);
		close_now = o->close_after;
		free(o);
		if (rc < 0 || close_now)
			break;
	}
	if (rc == 0 && b.len > LWS_PRE &&
	    lws_write(c->wsi, b.data + LWS_PRE, b.len - LWS_PRE,
	    LWS_WRITE_BINARY) < (int)(b.len - LWS_PRE))
		rc = WA_EPROTO;
	wa_buf_free(&b);
	if (rc < 0) {
		conn_bad(c, "write", rc);
		return -1;
	}
	if (close_now) {
		/* lws flushes what it still holds before the FIN */
		c->closing = 1;
		out_free_all(c);
		return -1;
	}
	out_schedule(c);
	return 0;
}

static int
conn_open(struct ts_server *s, struct ts_conn *c, struct lws *wsi)
{
	memset(c, 0, sizeof(*c));
	/* c->srv stays NULL until the connection is linked in: a failed
	 * open is then closed without touching the lists */
	if ((c->hs = calloc(1, sizeof(*c->hs))) == NULL)
		return -1;
	c->wsi = wsi;
	c->srv = s;
	c->id = ++s->next_id;
	c->state = TS_C_HELLO;
	wa_frame_reader_init(&c->rd, TS_FRAME_LIMIT, 1);
	ev_init(&c->delay, delay_cb);
	c->delay.data = c;
	c->next = s->conns;
	if (s->conns)
		s->conns->prev = c;
	s->conns = c;
	s->nconns++;
	s->st.accepted++;
	lws_set_timeout(wsi, PENDING_TIMEOUT_USER_OK, TS_HS_TIMEOUT_S);
	return 0;
}

static void
conn_close(struct ts_conn *c)
{
	struct ts_server *s = c->srv;
	char name[40];

	if (s == NULL)
		return;        /* closed before it was established */
	if (s->verbose)
		ts_say(s, "conn=%u dev=%s closed", c->id,
		    ts_dev_name(c->dev, name, sizeof(name)));
	ts_logout(c);
	ev_timer_stop(s->loop, &c->delay);
	out_free_all(c);
	if (c->hs != NULL) {
		wa_hs_wipe(c->hs);
		free(c->hs);
		c->hs = NULL;
	}
	wa_transport_wipe(&c->t);
	wa_frame_reader_free(&c->rd);
	if (c->prev)
		c->prev->next = c->next;
	else
		s->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	s->nconns--;
	c->state = TS_C_DEAD;
	c->wsi = NULL;
	c->srv = NULL;
}

static int
on_frame(struct ts_conn *c, const uint8_t *f, size_t n)
{
	struct ts_server *s = c->srv;
	struct wa_buf body = { 0 }, framed = { 0 };
	struct wa_arena a;
	struct wa_node *node;
	uint8_t client_static[32];
	int rc;

	switch (c->state) {
	case TS_C_HELLO:
		rc = wa_hs_server_hello(c->hs, f, n, &s->noise, s->chain.data,
		    s->chain.len, &body);
		if (rc == 0)
			rc = wa_frame_put(&framed, body.data, body.len);
		if (rc == 0)
			rc = out_push(c, framed.data, framed.len, 1, 0);
		wa_buf_free(&body);
		wa_buf_free(&framed);
		if (rc < 0) {
			conn_bad(c, "clientHello", rc);
			return -1;
		}
		c->state = TS_C_FINISH;
		return 0;
	case TS_C_FINISH:
		rc = wa_hs_server_finish(c->hs, f, n, &s->scratch, &c->t);
		if (rc == 0)
			memcpy(client_static, c->hs->client_static, 32);
		wa_hs_wipe(c->hs);
		free(c->hs);
		c->hs = NULL;
		if (rc < 0) {
			conn_bad(c, "clientFinish", rc);
			return -1;
		}
		s->st.handshakes++;
		return ts_login(c, client_static, s->scratch.data,
		    s->scratch.len);
	case TS_C_OPEN:
	case TS_C_PAIRING:
		if ((rc = wa_transport_open(&c->t, f, n, &s->scratch)) < 0) {
			conn_bad(c, "transport frame", rc);
			return -1;
		}
		wa_arena_init(&a, 4u << 20);
		rc = wa_node_decode_frame(s->scratch.data, s->scratch.len, &a,
		    &node);
		if (rc < 0) {
			wa_arena_free(&a);
			conn_bad(c, "stanza", rc);
			return -1;
		}
		ts_log_node(s, c, "in", node);
		if (c->state == TS_C_PAIRING)
			ts_pair_stanza(c, node);
		else
			ts_answer(c, node);
		wa_arena_free(&a);
		return 0;
	default:
		return 0;
	}
}

static int
conn_rx(struct ts_conn *c, const uint8_t *p, size_t n)
{
	const uint8_t *f;
	size_t flen;
	int rc;

	if (c->srv == NULL)
		return -1;
	if (c->state == TS_C_DEAD || c->closing || c->kill)
		return 0;
	if ((rc = wa_frame_feed(&c->rd, p, n)) < 0) {
		conn_bad(c, "framing", rc);
		return -1;
	}
	while ((rc = wa_frame_next(&c->rd, &f, &flen)) == 1) {
		if (on_frame(c, f, flen) < 0)
			return -1;
		if (c->closing || c->kill)
			break;
	}
	if (rc < 0) {
		conn_bad(c, "framing", rc);
		return -1;
	}
	/* an idle connection keeps no receive buffer (the reader stays
	 * usable after free: only its buffer goes) */
	if (c->rd.off == c->rd.pending.len)
		wa_frame_reader_free(&c->rd);
	/* one big upload must not pin its buffer for ever */
	if (c->srv->scratch.cap > 65536)
		wa_buf_free(&c->srv->scratch);
	return 0;
}

struct ts_policy
ts_policy_of(const struct ts_server *s, const struct ts_device *d)
{
	struct ts_policy p = s->pol;

	if (d != NULL) {
		p.silent = p.silent || d->pol.silent;
		p.refuse = p.refuse || d->pol.refuse;
		if (d->pol.fail_login)
			p.fail_login = d->pol.fail_login;
		if (d->pol.delay_ms > p.delay_ms)
			p.delay_ms = d->pol.delay_ms;
	}
	return p;
}

const char *
ts_dev_name(const struct ts_device *d, char *buf, size_t n)
{
	if (d == NULL)
		snprintf(buf, n, "-");
	else
		snprintf(buf, n, "%llu:%u", (unsigned long long)d->phone, d->dev);
	return buf;
}

/* Plain HTTP on the chat port gets a 404 and is closed. */
static int
not_found(struct lws *wsi)
{
	if (lws_return_http_status(wsi, HTTP_STATUS_NOT_FOUND, NULL))
		return -1;
	return lws_http_transaction_completed(wsi) ? -1 : 0;
}

static int
ws_cb(struct lws *wsi, enum lws_callback_reasons reason, void *user,
    void *in, size_t len)
{
	struct ts_server *s = lws_context_user(lws_get_context(wsi));
	struct ts_conn *c = user;
	char uri[64];

	switch (reason) {
	case LWS_CALLBACK_FILTER_NETWORK_CONNECTION:
		/* user is not our per-session data here: lws passes its
		 * accept arguments; refusing closes the accepted socket */
		if (s->pol.refuse) {
			s->st.refused++;
			return 1;
		}
		return 0;
	case LWS_CALLBACK_FILTER_PROTOCOL_CONNECTION:
		if (lws_hdr_copy(wsi, uri, sizeof(uri), WSI_TOKEN_GET_URI) <= 0 ||
		    strcmp(uri, "/ws/chat") != 0)
			return 1;
		return 0;
	case LWS_CALLBACK_HTTP:
		return not_found(wsi);
	case LWS_CALLBACK_ESTABLISHED:
		return conn_open(s, c, wsi);
	case LWS_CALLBACK_RECEIVE:
		return conn_rx(c, in, len);
	case LWS_CALLBACK_SERVER_WRITEABLE:
		if (c->srv == NULL || c->state == TS_C_DEAD)
			return 0;
		return conn_writable(c);
	case LWS_CALLBACK_CLOSED:
		conn_close(c);
		return 0;
	default:
		return 0;
	}
}

static const struct lws_protocols ws_protocols[] = {
	/* first: lws binds clients that name no subprotocol (Baileys,
	 * skykeeper) to protocols[0].  A small rx buffer keeps lws' own
	 * per-connection allocation small; frames are reassembled anyway. */
	{ .name = "wa-chat", .callback = ws_cb,
	  .per_session_data_size = sizeof(struct ts_conn),
	  .rx_buffer_size = 1024 },
	{ .name = NULL }
};

static void
lws_to_stderr(int level, const char *line)
{
	(void)level;
	fputs(line, stderr);
}

/* The promise is loopback only, whatever lws does with iface: every
 * listening socket of this process must be bound to 127.0.0.1, or the
 * server refuses to run. */
static int
loopback_only(struct ts_server *s)
{
	struct sockaddr_storage ss;
	struct sockaddr_in *in = (struct sockaddr_in *)&ss;
	socklen_t len;
	int fd, on, n = 0;

	for (fd = 0; fd < 256; fd++) {
		len = sizeof(on);
		if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &on, &len) < 0 ||
		    !on)
			continue;
		len = sizeof(ss);
		if (getsockname(fd, (struct sockaddr *)&ss, &len) < 0 ||
		    ss.ss_family != AF_INET ||
		    in->sin_addr.s_addr != htonl(INADDR_LOOPBACK)) {
			ts_say(s, "a listening socket is not bound to "
			    "127.0.0.1: refusing to run");
			return -1;
		}
		n++;
	}
	if (n != 2) {
		ts_say(s, "expected 2 listening sockets, found %d", n);
		return -1;
	}
	return 0;
}

int
ts_server_start(struct ts_server *s, const char *iface)
{
	struct lws_context_creation_info info;
	void *loops[1] = { s->loop };

	lws_set_log_level(s->verbose > 1 ? LLL_ERR | LLL_WARN | LLL_NOTICE :
	    LLL_ERR, lws_to_stderr);
	memset(&info, 0, sizeof(info));
	info.options = LWS_SERVER_OPTION_LIBEV |
	    LWS_SERVER_OPTION_EXPLICIT_VHOSTS;
	info.foreign_loops = loops;
	info.user = s;
	info.port = CONTEXT_PORT_NO_LISTEN;
	info.fd_limit_per_thread = 0;   /* lws sizes by RLIMIT_NOFILE */
	info.timeout_secs = 5;
	if ((s->ctx = lws_create_context(&info)) == NULL) {
		ts_say(s, "lws_create_context failed");
		return -1;
	}
	/* IPv4 only: on an IPv6 socket lws 4.1 does not bind to an IPv4
	 * address given as iface, it binds to every address instead */
	memset(&info, 0, sizeof(info));
	info.options = LWS_SERVER_OPTION_LIBEV | LWS_SERVER_OPTION_DISABLE_IPV6;
	info.port = s->port;
	info.iface = iface;
	info.protocols = ws_protocols;
	info.vhost_name = "chat";
	if ((s->vh_ws = lws_create_vhost(s->ctx, &info)) == NULL) {
		ts_say(s, "cannot listen on %s:%d", iface, s->port);
		return -1;
	}
	s->port = lws_get_vhost_listen_port(s->vh_ws);
	memset(&info, 0, sizeof(info));
	info.options = LWS_SERVER_OPTION_LIBEV | LWS_SERVER_OPTION_DISABLE_IPV6;
	info.port = s->ctl_port;
	info.iface = iface;
	info.protocols = ts_control_protocols;
	info.vhost_name = "control";
	if ((s->vh_ctl = lws_create_vhost(s->ctx, &info)) == NULL) {
		ts_say(s, "cannot listen on %s:%d (control)", iface,
		    s->ctl_port);
		return -1;
	}
	s->ctl_port = lws_get_vhost_listen_port(s->vh_ctl);
	return loopback_only(s);
}

void
ts_server_stop(struct ts_server *s)
{
	if (s->ctx != NULL) {
		lws_context_destroy(s->ctx);
		s->ctx = NULL;
	}
}
