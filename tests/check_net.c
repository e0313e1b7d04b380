/*
 * tests/check_net.c: the WebSocket transport (src/net/ws.c, url.c) and the
 * WhatsApp connection layer on it (src/net/waconn.c), against a small
 * lws server in the same process, on the same libev loop, on 127.0.0.1
 * only.
 *
 * The server has two personalities.  M_ECHO echoes every message and
 * understands "close-me" (it closes with code 4000 "bye") and "frag" (it
 * answers with one message in two WebSocket fragments).  The other modes
 * speak the server side of WhatsApp's handshake with the same src/wa code,
 * then misbehave as the test asks: what is checked is that every
 * malformed input ends that one connection with the right reason and
 * nothing crashes (the suite also runs under ASan+UBSan).
 */
#include <check.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <ev.h>
#include <libwebsockets.h>
#include "net/net.h"
#include "net/waconn.h"
#include "wa/cert.h"
#include "wa/frame.h"
#include "wa/stanza.h"

/* --- the server ----------------------------------------------------------- */

enum mode {
	M_ECHO,          /* plain WebSocket echo */
	M_OK,            /* handshake, <success>, answer pings */
	M_GARBAGE_HELLO, /* answer the clientHello with junk */
	M_BAD_DECRYPT,   /* after the handshake: a frame that does not open */
	M_BAD_NODE,      /* after the handshake: sealed bytes that are no node */
	M_SPLIT,         /* <success> and two nodes in odd WebSocket pieces */
	M_CLOSE_IN_HS,   /* close the WebSocket instead of a serverHello */
};

struct out_msg {
	struct out_msg *next;
	int flags;
	size_t len;
	unsigned char buf[];
};

struct pss {
	struct out_msg *head, *tail;
	int close_now;
	/* M_ECHO */
	unsigned char *acc;
	size_t acc_len;
	/* WhatsApp modes */
	struct wa_frame_reader rd;
	struct wa_hs hs;
	struct wa_transport t;
	int state;                   /* 0 hello, 1 finish, 2 open */
};

struct srv {
	struct lws_context *ctx;
	int port;
	enum mode mode;
	char origin[128];
	char uri[128];
	int established, open, closed;
	/* WhatsApp modes */
	struct wa_keypair root, noise;
	struct wa_buf chain;
	int logins, pings;
	struct wa_login login;
	int saw_routing;
};

static void
out_flags(struct lws *wsi, struct pss *p, int flags, const void *d, size_t n)
{
	struct out_msg *m = malloc(sizeof(*m) + LWS_PRE + n);

	ck_assert_ptr_nonnull(m);
	m->next = NULL;
	m->flags = flags;
	m->len = n;
	memcpy(m->buf + LWS_PRE, d, n);
	if (p->tail)
		p->tail->next = m;
	else
		p->head = m;
	p->tail = m;
	lws_callback_on_writable(wsi);
}

static void
out_raw(struct lws *wsi, struct pss *p, const uint8_t *d, size_t n)
{
	out_flags(wsi, p, LWS_WRITE_BINARY, d, n);
}

static int
echo_receive(struct lws *wsi, struct pss *p, const void *in, size_t len)
{
	p->acc = realloc(p->acc, p->acc_len + len + 1);
	memcpy(p->acc + p->acc_len, in, len);
	p->acc_len += len;
	if (!lws_is_final_fragment(wsi))
		return 0;
	if (p->acc_len == 8 && memcmp(p->acc, "close-me", 8) == 0) {
		lws_close_reason(wsi, 4000, (unsigned char *)"bye", 3);
		p->acc_len = 0;
		return -1;
	}
	if (p->acc_len == 4 && memcmp(p->acc, "frag", 4) == 0) {
		out_flags(wsi, p, LWS_WRITE_BINARY | LWS_WRITE_NO_FIN,
		    "first-", 6);
		out_flags(wsi, p, LWS_WRITE_CONTINUATION, "second", 6);
	} else
		out_raw(wsi, p, p->acc, p->acc_len);
	p->acc_len = 0;
	return 0;
}

static void
seal_node(struct pss *p, const struct wa_node *n, struct wa_buf *out)
{
	struct wa_buf plain = { 0 };

	ck_assert_int_eq(wa_node_encode_frame(n, &plain), 0);
	ck_assert_int_eq(wa_transport_seal(&p->t, plain.data, plain.len, out),
	    0);
	wa_buf_free(&plain);
}

static void
after_login(struct lws *wsi, struct srv *s, struct pss *p)
{
	struct wa_arena a;
	struct wa_buf out = { 0 };
	uint8_t junk[40];

	wa_arena_init(&a, 0);
	switch (s->mode) {
	case M_BAD_DECRYPT:
		memset(junk, 0x5a, sizeof(junk));
		ck_assert_int_eq(wa_frame_put(&out, junk, sizeof(junk)), 0);
		out_raw(wsi, p, out.data, out.len);
		break;
	case M_BAD_NODE: {
		const uint8_t bad[] = { 0x00, 0xf8 };   /* LIST_8 and no size */
		ck_assert_int_eq(wa_transport_seal(&p->t, bad, sizeof(bad),
		    &out), 0);
		out_raw(wsi, p, out.data, out.len);
		break;
	}
	case M_SPLIT: {
		/* three frames in one buffer, sent as pieces cut across
		 * frame boundaries: 1 byte, then 5, then the rest */
		struct wa_node *n = wa_stanza_success(&a, 1700000000, "1@lid");
		seal_node(p, n, &out);
		n = wa_node_new(&a, "ib");
		seal_node(p, n, &out);
		n = wa_node_new(&a, "notification");
		wa_node_set_attr(&a, n, "id", "n1");
		seal_node(p, n, &out);
		out_raw(wsi, p, out.data, 1);
		out_raw(wsi, p, out.data + 1, 5);
		out_raw(wsi, p, out.data + 6, out.len - 6);
		break;
	}
	default:
		seal_node(p, wa_stanza_success(&a, 1700000000, "1@lid"), &out);
		out_raw(wsi, p, out.data, out.len);
		break;
	}
	wa_buf_free(&out);
	wa_arena_free(&a);
}

static void
on_frame(struct lws *wsi, struct srv *s, struct pss *p, const uint8_t *f,
    size_t len)
{
	struct wa_buf body = { 0 }, out = { 0 };

	if (p->state == 0) {
		if (s->mode == M_GARBAGE_HELLO) {
			const uint8_t junk[] = { 0x1a, 0x03, 0x01, 0x02, 0x03 };
			ck_assert_int_eq(wa_frame_put(&out, junk, sizeof(junk)),
			    0);
			out_raw(wsi, p, out.data, out.len);
		} else if (s->mode == M_CLOSE_IN_HS) {
			p->close_now = 1;
			lws_callback_on_writable(wsi);
		} else {
			ck_assert_int_eq(wa_hs_server_hello(&p->hs, f, len,
			    &s->noise, s->chain.data, s->chain.len, &body), 0);
			ck_assert_int_eq(wa_frame_put(&out, body.data, body.len),
			    0);
			out_raw(wsi, p, out.data, out.len);
		}
		p->state = 1;
	} else if (p->state == 1) {
		ck_assert_int_eq(wa_hs_server_finish(&p->hs, f, len, &body,
		    &p->t), 0);
		ck_assert_int_eq(wa_payload_parse(body.data, body.len,
		    &s->login), 0);
		s->logins++;
		p->state = 2;
		after_login(wsi, s, p);
	} else {
		struct wa_arena a;
		struct wa_node *n;
		struct wa_buf plain = { 0 };

		ck_assert_int_eq(wa_transport_open(&p->t, f, len, &plain), 0);
		wa_arena_init(&a, 0);
		ck_assert_int_eq(wa_node_decode_frame(plain.data, plain.len, &a,
		    &n), 0);
		if (strcmp(n->tag, "iq") == 0 && wa_node_child(n, "ping")) {
			struct wa_node *r = wa_node_new(&a, "iq");
			wa_node_set_attr(&a, r, "id", wa_node_attr(n, "id"));
			wa_node_set_attr(&a, r, "type", "result");
			wa_node_set_attr(&a, r, "from", WA_SERVER_JID);
			seal_node(p, r, &out);
			out_raw(wsi, p, out.data, out.len);
			s->pings++;
		}
		wa_arena_free(&a);
		wa_buf_free(&plain);
	}
	wa_buf_free(&body);
	wa_buf_free(&out);
}

static int
wa_receive(struct lws *wsi, struct srv *s, struct pss *p, const void *in,
    size_t len)
{
	const uint8_t *f;
	size_t flen;
	int rc;

	if (p->state == 0 && len >= 2 && memcmp(in, "ED", 2) == 0)
		s->saw_routing = 1;
	ck_assert_int_eq(wa_frame_feed(&p->rd, in, len), 0);
	while ((rc = wa_frame_next(&p->rd, &f, &flen)) == 1)
		on_frame(wsi, s, p, f, flen);
	ck_assert_int_eq(rc, 0);
	return 0;
}

static int
srv_cb(struct lws *wsi, enum lws_callback_reasons reason, void *user,
    void *in, size_t len)
{
	struct pss *p = user;
	struct srv *s = lws_context_user(lws_get_context(wsi));

	switch (reason) {
	case LWS_CALLBACK_ESTABLISHED:
		memset(p, 0, sizeof(*p));
		s->established++;
		s->open++;
		lws_hdr_copy(wsi, s->origin, sizeof(s->origin), WSI_TOKEN_ORIGIN);
		lws_hdr_copy(wsi, s->uri, sizeof(s->uri), WSI_TOKEN_GET_URI);
		wa_frame_reader_init(&p->rd, 0, 1);
		return 0;
	case LWS_CALLBACK_RECEIVE:
		if (s->mode == M_ECHO)
			return echo_receive(wsi, p, in, len);
		return wa_receive(wsi, s, p, in, len);
	case LWS_CALLBACK_SERVER_WRITEABLE: {
		struct out_msg *m = p->head;
		int rc;

		if (m == NULL)
			return p->close_now ? -1 : 0;
		p->head = m->next;
		if (p->head == NULL)
			p->tail = NULL;
		rc = lws_write(wsi, m->buf + LWS_PRE, m->len,
		    (enum lws_write_protocol)m->flags);
		if (rc < (int)m->len) {
			free(m);
			return -1;
		}
		free(m);
		if (p->head || p->close_now)
			lws_callback_on_writable(wsi);
		return 0;
	}
	case LWS_CALLBACK_CLOSED: {
		struct out_msg *m, *n;

		s->open--;
		s->closed++;
		for (m = p->head; m; m = n) {
			n = m->next;
			free(m);
		}
		p->head = p->tail = NULL;
		free(p->acc);
		p->acc = NULL;
		wa_frame_reader_free(&p->rd);
		wa_hs_wipe(&p->hs);
		wa_transport_wipe(&p->t);
		return 0;
	}
	default:
		return 0;
	}
}

static const struct lws_protocols srv_protocols[] = {
	{ .name = "test", .callback = srv_cb,
	  .per_session_data_size = sizeof(struct pss),
	  .rx_buffer_size = 4096 },
	{ .name = NULL, .callback = NULL },
};

static void *srv_loops[1];

static void
srv_start(struct srv *s, enum mode mode)
{
	struct lws_context_creation_info info;
	uint64_t now = (uint64_t)time(NULL);

	memset(s, 0, sizeof(*s));
	s->mode = mode;
	if (mode != M_ECHO) {
		ck_assert_int_eq(wa_keypair_generate(&s->root), 0);
		ck_assert_int_eq(wa_keypair_generate(&s->noise), 0);
		ck_assert_int_eq(wa_cert_issue_chain(s->root.priv, s->noise.pub,
		    7, now - 3600, now + 3600, &s->chain), 0);
	}
	memset(&info, 0, sizeof(info));
	lws_set_log_level(LLL_ERR, NULL);
	srv_loops[0] = EV_DEFAULT;
	info.port = 0;
	info.iface = "127.0.0.1";
	info.protocols = srv_protocols;
	info.gid = -1;
	info.uid = -1;
	info.options = LWS_SERVER_OPTION_LIBEV;
	info.foreign_loops = srv_loops;
	info.user = s;
	s->ctx = lws_create_context(&info);
	ck_assert_ptr_nonnull(s->ctx);
	s->port = lws_get_vhost_listen_port(
	    lws_get_vhost_by_name(s->ctx, "default"));
	ck_assert_int_gt(s->port, 0);
}

static void
srv_stop(struct srv *s)
{
	lws_context_destroy(s->ctx);
	wa_buf_free(&s->chain);
}

/* --- the loop ------------------------------------------------------------- */

/* Runs the loop until *flag reaches want, or `secs` pass. */
static int
run_until(const int *flag, int want, double secs)
{
	double end = ev_time() + secs;

	while (*flag < want && ev_time() < end)
		ev_run(EV_DEFAULT, EVRUN_ONCE | EVRUN_NOWAIT), usleep(1000);
	return *flag >= want;
}

static void
run_for(double secs)
{
	int never = 0;
	run_until(&never, 1, secs);
}

static struct net *
mknet(void)
{
	char why[256];
	struct net *n = net_new(EV_DEFAULT, why, sizeof(why));
	ck_assert_msg(n != NULL, "net_new: %s", why);
	return n;
}

/* --- the client side ------------------------------------------------------ */

struct cli {
	struct net_ws *ws;
	int inside_call;       /* set around our own calls into net_ws */
	int reentered;         /* a callback came while inside_call */
	int opened, closed;
	enum net_ws_end end;
	int code;
	char reason[256];
	unsigned char *rx;
	size_t rx_len;
	int pieces, messages;
	int first_seen;
	int free_on_data;
	int freed;
};

static void
c_opened(struct net_ws *ws, void *arg)
{
	struct cli *c = arg;
	(void)ws;
	c->reentered |= c->inside_call;
	c->opened++;
}

static void
c_data(struct net_ws *ws, const uint8_t *p, size_t n, int first, int final,
    void *arg)
{
	struct cli *c = arg;

	c->reentered |= c->inside_call;
	c->rx = realloc(c->rx, c->rx_len + n + 1);
	memcpy(c->rx + c->rx_len, p, n);
	c->rx_len += n;
	c->rx[c->rx_len] = 0;
	c->pieces++;
	c->first_seen += first;
	c->messages += final;
	if (c->free_on_data) {
		net_ws_free(ws);
		c->ws = NULL;
		c->freed = 1;
	}
}

static void
c_closed(struct net_ws *ws, enum net_ws_end end, int code, const char *reason,
    void *arg)
{
	struct cli *c = arg;
	(void)ws;
	c->reentered |= c->inside_call;
	c->closed++;
	c->end = end;
	c->code = code;
	snprintf(c->reason, sizeof(c->reason), "%s", reason);
}

static const struct net_ws_cb ccb = {
	.opened = c_opened, .data = c_data, .closed = c_closed,
};

static void
connect_to(struct cli *c, struct net *n, int port, const char *path)
{
	char url[128], why[256];
	int rc;

	snprintf(url, sizeof(url), "ws://127.0.0.1:%d%s", port, path);
	c->ws = net_ws_new(n, &ccb, c);
	ck_assert_ptr_nonnull(c->ws);
	c->inside_call = 1;
	rc = net_ws_connect(c->ws, url, why, sizeof(why));
	c->inside_call = 0;
	ck_assert_msg(rc == 0, "connect: %s", why);
}

/* --- transport tests ------------------------------------------------------ */

START_TEST(url_forms)
{
	struct net_url u;
	char why[128];

	ck_assert_int_eq(net_url_parse("wss://web.whatsapp.com/ws/chat", &u,
	    why, sizeof(why)), 0);
	ck_assert_int_eq(u.tls, 1);
	ck_assert_int_eq(u.port, 443);
	ck_assert_str_eq(u.host, "web.whatsapp.com");
	ck_assert_str_eq(u.hostport, "web.whatsapp.com");
	ck_assert_str_eq(u.path, "/ws/chat");

	ck_assert_int_eq(net_url_parse("ws://127.0.0.1:8080", &u, why,
	    sizeof(why)), 0);
	ck_assert_int_eq(u.tls, 0);
	ck_assert_int_eq(u.port, 8080);
	ck_assert_str_eq(u.hostport, "127.0.0.1:8080");
	ck_assert_str_eq(u.path, "/");

	ck_assert_int_eq(net_url_parse("ws://[::1]:9/x?y=1", &u, why,
	    sizeof(why)), 0);
	ck_assert_str_eq(u.host, "::1");
	ck_assert_str_eq(u.hostport, "[::1]:9");
	ck_assert_str_eq(u.path, "/x?y=1");

	ck_assert_int_eq(net_url_parse("WS://h?q", &u, why, sizeof(why)), 0);
	ck_assert_str_eq(u.path, "/?q");

	ck_assert_int_lt(net_url_parse("http://h/", &u, why, sizeof(why)), 0);
	ck_assert_ptr_nonnull(strstr(why, "ws://"));
	ck_assert_int_lt(net_url_parse("ws://:80/", &u, why, sizeof(why)), 0);
	ck_assert_int_lt(net_url_parse("ws://h:0/", &u, why, sizeof(why)), 0);
	ck_assert_int_lt(net_url_parse("ws://h:65536/", &u, why,
	    sizeof(why)), 0);
	ck_assert_int_lt(net_url_parse("ws://h:12x/", &u, why, sizeof(why)),
	    0);
	ck_assert_int_lt(net_url_parse("ws://u@h/", &u, why, sizeof(why)), 0);
	ck_assert_int_lt(net_url_parse("ws://[::1/", &u, why, sizeof(why)), 0);
	ck_assert_int_lt(net_url_parse("ws://h/#f", &u, why, sizeof(why)), 0);
	ck_assert_int_lt(net_url_parse(NULL, &u, why, sizeof(why)), 0);
}
END_TEST

START_TEST(echo_with_origin_then_clean_close)
{
	struct srv s;
	struct cli c = { 0 };
	struct net *n;

	srv_start(&s, M_ECHO);
	n = mknet();
	connect_to(&c, n, s.port, "/ws/chat");
	ck_assert_int_eq(net_ws_send(c.ws, (const uint8_t *)"x", 1), -1);
	ck_assert(run_until(&c.opened, 1, 5));
	ck_assert_str_eq(s.origin, "https://web.whatsapp.com");
	ck_assert_str_eq(s.uri, "/ws/chat");
	ck_assert(net_ws_is_open(c.ws));

	ck_assert_int_eq(net_ws_send(c.ws, (const uint8_t *)"hello", 5), 0);
	ck_assert_int_eq(net_ws_send(c.ws, (const uint8_t *)"world", 5), 0);
	ck_assert(run_until(&c.messages, 2, 5));
	ck_assert_str_eq((char *)c.rx, "helloworld");
	ck_assert_int_eq(net_ws_queued(c.ws), 0);

	net_ws_close(c.ws);
	ck_assert(run_until(&c.closed, 1, 10));
	ck_assert_int_eq(c.end, NET_WS_LOCAL);
	ck_assert(net_ws_is_idle(c.ws));
	ck_assert_int_eq(c.reentered, 0);
	net_ws_free(c.ws);
	net_free(n);
	srv_stop(&s);
	free(c.rx);
}
END_TEST

START_TEST(large_message_arrives_in_pieces_and_whole)
{
	struct srv s;
	struct cli c = { 0 };
	struct net *n;
	size_t big = 1u << 20;
	uint8_t *buf = malloc(big);

	for (size_t i = 0; i < big; i++)
		buf[i] = (uint8_t)(i * 7 + (i >> 9));
	srv_start(&s, M_ECHO);
	n = mknet();
	connect_to(&c, n, s.port, "/");
	ck_assert(run_until(&c.opened, 1, 5));
	ck_assert_int_eq(net_ws_send(c.ws, buf, big), 0);
	ck_assert_int_eq(net_ws_queued(c.ws), big);
	ck_assert(run_until(&c.messages, 1, 10));
	ck_assert_uint_eq(c.rx_len, big);
	ck_assert(memcmp(c.rx, buf, big) == 0);
	ck_assert_int_gt(c.pieces, 1);
	ck_assert_int_eq(c.first_seen, 1);
	net_ws_free(c.ws);
	net_free(n);
	srv_stop(&s);
	free(buf);
	free(c.rx);
}
END_TEST

START_TEST(fragmented_message_is_delivered_in_order)
{
	struct srv s;
	struct cli c = { 0 };
	struct net *n;

	srv_start(&s, M_ECHO);
	n = mknet();
	connect_to(&c, n, s.port, "/");
	ck_assert(run_until(&c.opened, 1, 5));
	ck_assert_int_eq(net_ws_send(c.ws, (const uint8_t *)"frag", 4), 0);
	ck_assert(run_until(&c.messages, 1, 5));
	ck_assert_str_eq((char *)c.rx, "first-second");
	ck_assert_int_ge(c.pieces, 2);
	ck_assert_int_eq(c.first_seen, 1);
	net_ws_free(c.ws);
	net_free(n);
	srv_stop(&s);
	free(c.rx);
}
END_TEST

START_TEST(server_close_reports_code_and_reason)
{
	struct srv s;
	struct cli c = { 0 };
	struct net *n;

	srv_start(&s, M_ECHO);
	n = mknet();
	connect_to(&c, n, s.port, "/");
	ck_assert(run_until(&c.opened, 1, 5));
	ck_assert_int_eq(net_ws_send(c.ws, (const uint8_t *)"close-me", 8), 0);
	ck_assert(run_until(&c.closed, 1, 10));
	ck_assert_int_eq(c.end, NET_WS_PEER);
	ck_assert_int_eq(c.code, 4000);
	ck_assert_ptr_nonnull(strstr(c.reason, "bye"));
	ck_assert(net_ws_is_idle(c.ws));

	/* the same connection object connects again */
	c.opened = 0;
	c.inside_call = 1;
	{
		char url[64], why[128];
		snprintf(url, sizeof(url), "ws://127.0.0.1:%d/", s.port);
		ck_assert_int_eq(net_ws_connect(c.ws, url, why, sizeof(why)),
		    0);
	}
	c.inside_call = 0;
	ck_assert(run_until(&c.opened, 1, 5));
	net_ws_free(c.ws);
	net_free(n);
	srv_stop(&s);
	free(c.rx);
}
END_TEST

/* A port nothing listens on: bind one, note it, close it. */
static int
dead_port(void)
{
	struct sockaddr_in sa;
	socklen_t len = sizeof(sa);
	int fd = socket(AF_INET, SOCK_STREAM, 0), port;

	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
	port = ntohs(sa.sin_port);
	close(fd);
	return port;
}

START_TEST(refused_connect_is_reported_later_not_inside_connect)
{
	struct cli c = { 0 };
	struct net *n = mknet();

	connect_to(&c, n, dead_port(), "/");
	ck_assert_int_eq(c.closed, 0);
	ck_assert(run_until(&c.closed, 1, 10));
	ck_assert_int_eq(c.end, NET_WS_CONNECT);
	ck_assert_int_eq(c.opened, 0);
	ck_assert_int_eq(c.reentered, 0);
	ck_assert(c.reason[0] != '\0');
	ck_assert(net_ws_is_idle(c.ws));
	net_ws_free(c.ws);
	net_free(n);
}
END_TEST

START_TEST(bad_url_fails_at_once)
{
	struct cli c = { 0 };
	struct net *n = mknet();
	char why[128];

	c.ws = net_ws_new(n, &ccb, &c);
	ck_assert_int_lt(net_ws_connect(c.ws, "http://x/", why, sizeof(why)),
	    0);
	ck_assert(net_ws_is_idle(c.ws));
	run_for(0.1);
	ck_assert_int_eq(c.closed, 0);
	net_ws_free(c.ws);
	net_free(n);
}
END_TEST

START_TEST(abort_is_silent_and_the_object_reconnects)
{
	struct srv s;
	struct cli c = { 0 };
	struct net *n;
	char url[64], why[128];

	srv_start(&s, M_ECHO);
	n = mknet();
	connect_to(&c, n, s.port, "/");
	ck_assert(run_until(&c.opened, 1, 5));
	ck_assert_int_eq(net_ws_send(c.ws, (const uint8_t *)"late", 4), 0);
	net_ws_abort(c.ws);
	ck_assert(net_ws_is_idle(c.ws));
	ck_assert_int_eq(net_ws_queued(c.ws), 0);
	run_for(0.3);
	ck_assert_int_eq(c.closed, 0);
	ck_assert_int_eq(c.messages, 0);

	/* abort while still connecting, too */
	snprintf(url, sizeof(url), "ws://127.0.0.1:%d/", s.port);
	ck_assert_int_eq(net_ws_connect(c.ws, url, why, sizeof(why)), 0);
	net_ws_abort(c.ws);
	run_for(0.3);
	ck_assert_int_eq(c.closed, 0);
	ck_assert_int_eq(c.opened, 1);

	ck_assert_int_eq(net_ws_connect(c.ws, url, why, sizeof(why)), 0);
	ck_assert(run_until(&c.opened, 2, 5));
	net_ws_free(c.ws);
	net_free(n);
	srv_stop(&s);
}
END_TEST

/* The server hears the socket go at once, even when nothing else happens
 * on the loop: an aborted connection must not linger (a lingering one
 * looks like a second login to WhatsApp). */
START_TEST(abort_closes_the_socket_promptly)
{
	struct srv s;
	struct cli c = { 0 };
	struct net *n;

	srv_start(&s, M_ECHO);
	n = mknet();
	connect_to(&c, n, s.port, "/");
	ck_assert(run_until(&c.opened, 1, 5));
	run_for(0.2);
	ck_assert_int_eq(s.closed, 0);
	net_ws_abort(c.ws);
	ck_assert(run_until(&s.closed, 1, 1));
	ck_assert_int_eq(c.closed, 0);
	net_ws_free(c.ws);
	net_free(n);
	srv_stop(&s);
}
END_TEST

START_TEST(close_while_connecting_reports_local)
{
	struct srv s;
	struct cli c = { 0 };
	struct net *n;

	srv_start(&s, M_ECHO);
	n = mknet();
	connect_to(&c, n, s.port, "/");
	c.inside_call = 1;
	net_ws_close(c.ws);
	c.inside_call = 0;
	ck_assert(run_until(&c.closed, 1, 5));
	ck_assert_int_eq(c.end, NET_WS_LOCAL);
	ck_assert_int_eq(c.reentered, 0);
	run_for(0.2);
	ck_assert_int_eq(c.closed, 1);
	net_ws_free(c.ws);
	net_free(n);
	srv_stop(&s);
}
END_TEST

START_TEST(free_inside_data_callback)
{
	struct srv s;
	struct cli c = { 0 };
	struct net *n;

	srv_start(&s, M_ECHO);
	n = mknet();
	connect_to(&c, n, s.port, "/");
	ck_assert(run_until(&c.opened, 1, 5));
	c.free_on_data = 1;
	ck_assert_int_eq(net_ws_send(c.ws, (const uint8_t *)"ping", 4), 0);
	ck_assert(run_until(&c.freed, 1, 5));
	run_for(0.3);                   /* lws finishes the old socket */
	ck_assert_int_eq(c.closed, 0);
	net_free(n);
	srv_stop(&s);
	free(c.rx);
}
END_TEST

START_TEST(fail_reports_error_on_next_iteration)
{
	struct srv s;
	struct cli c = { 0 };
	struct net *n;

	srv_start(&s, M_ECHO);
	n = mknet();
	connect_to(&c, n, s.port, "/");
	ck_assert(run_until(&c.opened, 1, 5));
	c.inside_call = 1;
	net_ws_fail(c.ws, "stream is garbage");
	c.inside_call = 0;
	ck_assert_int_eq(c.closed, 0);
	ck_assert_int_eq(net_ws_send(c.ws, (const uint8_t *)"x", 1), -1);
	ck_assert(run_until(&c.closed, 1, 5));
	ck_assert_int_eq(c.end, NET_WS_ERROR);
	ck_assert_str_eq(c.reason, "stream is garbage");
	ck_assert_int_eq(c.reentered, 0);
	net_ws_free(c.ws);
	net_free(n);
	srv_stop(&s);
}
END_TEST

/* --- a WhatsApp client ---------------------------------------------------- */

struct acli {
	struct net_wa *c;
	int opened, handshakes, nodes, closed, cert_checked;
	enum net_wa_end end;
	char reason[512];
	char tags[256];
	int pong;
	int free_on_node;
};

static void
a_opened(struct net_wa *c, void *arg)
{
	(void)c;
	((struct acli *)arg)->opened++;
}

static void
a_handshake(struct net_wa *c, const struct net_wa_hello *h, void *arg)
{
	struct acli *k = arg;
	(void)c;
	k->handshakes++;
	k->cert_checked = h->cert_checked;
}

static void
a_node(struct net_wa *c, const struct wa_node *n, void *arg)
{
	struct acli *k = arg;
	size_t l = strlen(k->tags);

	snprintf(k->tags + l, sizeof(k->tags) - l, "%s%s", l ? "," : "",
	    n->tag);
	k->nodes++;
	if (strcmp(n->tag, "iq") == 0)
		k->pong++;
	if (k->free_on_node) {
		net_wa_free(c);
		k->c = NULL;
	}
}

static void
a_closed(struct net_wa *c, enum net_wa_end end, const char *reason, void *arg)
{
	struct acli *k = arg;
	(void)c;
	k->closed++;
	k->end = end;
	snprintf(k->reason, sizeof(k->reason), "%s", reason);
}

static const struct net_wa_cb accb = {
	.opened = a_opened, .handshake = a_handshake, .node = a_node,
	.closed = a_closed,
};

static struct wa_creds creds;
static struct wa_buf payload;

static void
start_client(struct acli *k, struct net *n, struct srv *s, const uint8_t *root,
    const uint8_t *routing, size_t routing_len)
{
	struct net_wa_login l;
	struct wa_version v = { 2, 3000, 1 };
	char url[64], why[256];

	memset(&creds, 0, sizeof(creds));
	ck_assert_int_eq(wa_creds_generate(&creds), 0);
	snprintf(creds.me_jid, sizeof(creds.me_jid),
	    "15550001234:3@s.whatsapp.net");
	memset(&payload, 0, sizeof(payload));
	ck_assert_int_eq(wa_payload_login(&creds, &v, &payload), 0);
	snprintf(url, sizeof(url), "ws://127.0.0.1:%d/ws/chat", s->port);
	memset(&l, 0, sizeof(l));
	l.url = url;
	l.noise = &creds.noise;
	l.payload = payload.data;
	l.payload_len = payload.len;
	l.root = root;
	l.routing = routing;
	l.routing_len = routing_len;
	k->c = net_wa_new(n, &accb, k);
	ck_assert_ptr_nonnull(k->c);
	ck_assert_msg(net_wa_connect(k->c, &l, why, sizeof(why)) == 0, "%s",
	    why);
	wa_buf_free(&payload);      /* copied: the layer must not need it */
}

static int
send_ping(struct acli *k, const char *id)
{
	struct wa_arena a;
	int rc;

	wa_arena_init(&a, 0);
	rc = net_wa_send_node(k->c, wa_stanza_ping(&a, id));
	wa_arena_free(&a);
	return rc;
}

/* --- WhatsApp connection tests ------------------------------------------- */

START_TEST(strict_login_success_and_pings)
{
	struct srv s;
	struct acli k = { 0 };
	struct net *n = mknet();
	uint64_t user;
	uint32_t dev;

	srv_start(&s, M_OK);
	start_client(&k, n, &s, s.root.pub, NULL, 0);
	ck_assert_int_eq(send_ping(&k, "early"), WA_ESTATE);
	ck_assert(run_until(&k.nodes, 1, 5));
	ck_assert_int_eq(k.opened, 1);
	ck_assert_int_eq(k.handshakes, 1);
	ck_assert_int_eq(k.cert_checked, 1);
	ck_assert_str_eq(k.tags, "success");
	ck_assert(net_wa_is_ready(k.c));
	ck_assert_int_eq(s.logins, 1);
	ck_assert_int_eq(wa_creds_user_device(&creds, &user, &dev), 0);
	ck_assert_uint_eq(s.login.username, user);
	ck_assert_uint_eq(s.login.device, dev);
	ck_assert_int_eq(s.saw_routing, 0);

	for (int i = 0; i < 3; i++) {
		char id[16];
		snprintf(id, sizeof(id), "p%d", i);
		ck_assert_int_eq(send_ping(&k, id), 0);
		ck_assert(run_until(&k.pong, i + 1, 5));
	}
	ck_assert_int_eq(s.pings, 3);
	ck_assert_uint_ge(net_wa_stats(k.c)->frames_in, 5);
	ck_assert_uint_ge(net_wa_stats(k.c)->frames_out, 5);

	net_wa_close(k.c);
	ck_assert(!net_wa_is_ready(k.c));
	ck_assert_int_eq(send_ping(&k, "late"), WA_ESTATE);
	ck_assert(run_until(&k.closed, 1, 10));
	ck_assert_int_eq(k.end, NET_WA_LOCAL);
	ck_assert(net_wa_is_idle(k.c));
	net_wa_free(k.c);
	net_free(n);
	srv_stop(&s);
	wa_creds_wipe(&creds);
}
END_TEST

START_TEST(wrong_root_is_a_certificate_failure)
{
	struct srv s;
	struct acli k = { 0 };
	struct net *n = mknet();

	srv_start(&s, M_OK);
	start_client(&k, n, &s, wa_cert_whatsapp_root, NULL, 0);
	ck_assert(run_until(&k.closed, 1, 5));
	ck_assert_int_eq(k.end, NET_WA_CERT);
	ck_assert_int_eq(k.handshakes, 0);
	ck_assert_int_eq(k.nodes, 0);
	ck_assert_int_eq(s.logins, 0);
	ck_assert(k.reason[0] != '\0');
	ck_assert_str_eq(net_wa_end_name(k.end), "certificate");
	net_wa_free(k.c);
	net_free(n);
	srv_stop(&s);
	wa_creds_wipe(&creds);
}
END_TEST

START_TEST(no_root_skips_the_check_with_routing_header)
{
	struct srv s;
	struct acli k = { 0 };
	struct net *n = mknet();
	const uint8_t routing[] = { 8, 2, 8, 5 };

	srv_start(&s, M_OK);
	start_client(&k, n, &s, NULL, routing, sizeof(routing));
	ck_assert(run_until(&k.nodes, 1, 5));
	ck_assert_int_eq(k.cert_checked, 0);
	ck_assert_int_eq(s.saw_routing, 1);
	net_wa_free(k.c);
	net_free(n);
	srv_stop(&s);
	wa_creds_wipe(&creds);
}
END_TEST

START_TEST(garbage_server_hello_is_a_handshake_failure)
{
	struct srv s;
	struct acli k = { 0 };
	struct net *n = mknet();

	srv_start(&s, M_GARBAGE_HELLO);
	start_client(&k, n, &s, s.root.pub, NULL, 0);
	ck_assert(run_until(&k.closed, 1, 5));
	ck_assert_int_eq(k.end, NET_WA_HANDSHAKE);
	ck_assert_int_eq(k.handshakes, 0);
	net_wa_free(k.c);
	net_free(n);
	srv_stop(&s);
	wa_creds_wipe(&creds);
}
END_TEST

START_TEST(undecryptable_frame_ends_the_connection)
{
	struct srv s;
	struct acli k = { 0 };
	struct net *n = mknet();

	srv_start(&s, M_BAD_DECRYPT);
	start_client(&k, n, &s, s.root.pub, NULL, 0);
	ck_assert(run_until(&k.closed, 1, 5));
	ck_assert_int_eq(k.handshakes, 1);
	ck_assert_int_eq(k.end, NET_WA_DECRYPT);
	ck_assert_int_eq(k.nodes, 0);
	ck_assert_int_eq(send_ping(&k, "x"), WA_ESTATE);
	net_wa_free(k.c);
	net_free(n);
	srv_stop(&s);
	wa_creds_wipe(&creds);
}
END_TEST

START_TEST(undecodable_node_ends_the_connection)
{
	struct srv s;
	struct acli k = { 0 };
	struct net *n = mknet();

	srv_start(&s, M_BAD_NODE);
	start_client(&k, n, &s, s.root.pub, NULL, 0);
	ck_assert(run_until(&k.closed, 1, 5));
	ck_assert_int_eq(k.end, NET_WA_NODE);
	ck_assert_ptr_nonnull(strstr(k.reason, "node"));
	net_wa_free(k.c);
	net_free(n);
	srv_stop(&s);
	wa_creds_wipe(&creds);
}
END_TEST

START_TEST(frames_split_and_joined_across_messages)
{
	struct srv s;
	struct acli k = { 0 };
	struct net *n = mknet();

	srv_start(&s, M_SPLIT);
	start_client(&k, n, &s, s.root.pub, NULL, 0);
	ck_assert(run_until(&k.nodes, 3, 5));
	ck_assert_str_eq(k.tags, "success,ib,notification");
	ck_assert_int_eq(k.closed, 0);
	net_wa_free(k.c);
	net_free(n);
	srv_stop(&s);
	wa_creds_wipe(&creds);
}
END_TEST

START_TEST(server_closing_during_handshake_is_transport)
{
	struct srv s;
	struct acli k = { 0 };
	struct net *n = mknet();

	srv_start(&s, M_CLOSE_IN_HS);
	start_client(&k, n, &s, s.root.pub, NULL, 0);
	ck_assert(run_until(&k.closed, 1, 10));
	ck_assert_int_eq(k.end, NET_WA_TRANSPORT);
	ck_assert_ptr_nonnull(strstr(k.reason, "handshake"));
	net_wa_free(k.c);
	net_free(n);
	srv_stop(&s);
	wa_creds_wipe(&creds);
}
END_TEST

START_TEST(free_inside_node_callback_stops_the_rest)
{
	struct srv s;
	struct acli k = { 0 };
	struct net *n = mknet();

	srv_start(&s, M_SPLIT);
	k.free_on_node = 1;
	start_client(&k, n, &s, s.root.pub, NULL, 0);
	ck_assert(run_until(&k.nodes, 1, 5));
	run_for(0.3);
	ck_assert_int_eq(k.nodes, 1);
	ck_assert_int_eq(k.closed, 0);
	net_free(n);
	srv_stop(&s);
	wa_creds_wipe(&creds);
}
END_TEST

/* What the lifecycle does on a dead connection: abort, connect again.
 * The server must never hold the old and the new one at the same time
 * past the moment the abort returns. */
START_TEST(abort_then_reconnect_never_overlaps)
{
	struct srv s;
	struct acli k = { 0 };
	struct net *n = mknet();
	struct net_wa_login l;
	char url[64], why[256];
	struct wa_version v = { 2, 3000, 1 };

	srv_start(&s, M_OK);
	start_client(&k, n, &s, s.root.pub, NULL, 0);
	ck_assert(run_until(&k.nodes, 1, 5));
	ck_assert_int_eq(s.open, 1);
	net_wa_abort(k.c);
	ck_assert(net_wa_is_idle(k.c));
	ck_assert(run_until(&s.closed, 1, 1));
	ck_assert_int_eq(s.open, 0);

	memset(&payload, 0, sizeof(payload));
	ck_assert_int_eq(wa_payload_login(&creds, &v, &payload), 0);
	snprintf(url, sizeof(url), "ws://127.0.0.1:%d/ws/chat", s.port);
	memset(&l, 0, sizeof(l));
	l.url = url;
	l.noise = &creds.noise;
	l.payload = payload.data;
	l.payload_len = payload.len;
	l.root = s.root.pub;
	ck_assert_int_eq(net_wa_connect(k.c, &l, why, sizeof(why)), 0);
	wa_buf_free(&payload);
	ck_assert(run_until(&k.nodes, 2, 5));
	ck_assert_int_eq(s.logins, 2);
	ck_assert_int_eq(s.open, 1);
	ck_assert_int_eq(k.closed, 0);
	net_wa_free(k.c);
	net_free(n);
	srv_stop(&s);
	wa_creds_wipe(&creds);
}
END_TEST

START_TEST(connect_refused_is_connect)
{
	struct srv s;
	struct acli k = { 0 };
	struct net *n = mknet();
	int port;

	srv_start(&s, M_OK);
	port = s.port;
	srv_stop(&s);                   /* nothing listens there now */
	s.port = port;
	start_client(&k, n, &s, s.root.pub, NULL, 0);
	ck_assert_int_eq(k.closed, 0);
	ck_assert(run_until(&k.closed, 1, 10));
	ck_assert_int_eq(k.end, NET_WA_CONNECT);
	ck_assert_int_eq(k.opened, 0);
	net_wa_free(k.c);
	net_free(n);
	wa_creds_wipe(&creds);
}
END_TEST

static Suite *
net_suite(void)
{
	Suite *s = suite_create("net");
	TCase *tc = tcase_create("url");

	tcase_add_test(tc, url_forms);
	suite_add_tcase(s, tc);

	tc = tcase_create("ws");
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, echo_with_origin_then_clean_close);
	tcase_add_test(tc, large_message_arrives_in_pieces_and_whole);
	tcase_add_test(tc, fragmented_message_is_delivered_in_order);
	tcase_add_test(tc, server_close_reports_code_and_reason);
	tcase_add_test(tc, refused_connect_is_reported_later_not_inside_connect);
	tcase_add_test(tc, bad_url_fails_at_once);
	tcase_add_test(tc, abort_is_silent_and_the_object_reconnects);
	tcase_add_test(tc, abort_closes_the_socket_promptly);
	tcase_add_test(tc, close_while_connecting_reports_local);
	tcase_add_test(tc, free_inside_data_callback);
	tcase_add_test(tc, fail_reports_error_on_next_iteration);
	suite_add_tcase(s, tc);

	tc = tcase_create("waconn");
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, strict_login_success_and_pings);
	tcase_add_test(tc, wrong_root_is_a_certificate_failure);
	tcase_add_test(tc, no_root_skips_the_check_with_routing_header);
	tcase_add_test(tc, garbage_server_hello_is_a_handshake_failure);
	tcase_add_test(tc, undecryptable_frame_ends_the_connection);
	tcase_add_test(tc, undecodable_node_ends_the_connection);
	tcase_add_test(tc, frames_split_and_joined_across_messages);
	tcase_add_test(tc, server_closing_during_handshake_is_transport);
	tcase_add_test(tc, free_inside_node_callback_stops_the_rest);
	tcase_add_test(tc, abort_then_reconnect_never_overlaps);
	tcase_add_test(tc, connect_refused_is_connect);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(net_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
