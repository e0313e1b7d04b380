/*
 * tools/wa-testserver/tsc.c: a client session for tests (tsc.h).  It uses
 * the same src/wa/ code the daemon uses, from the other side of the
 * server, so a login here exercises both ends of every layer.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "wa/stanza.h"
#include "wa-testserver/tsc.h"

/* Closed: handshake state and transport keys wiped, reader freed. */
static void
teardown(struct tsc *c)
{
	c->state = TSC_CLOSED;
	if (c->hs != NULL) {
		wa_hs_wipe(c->hs);
		free(c->hs);
		c->hs = NULL;
	}
	wa_transport_wipe(&c->t);
	wa_frame_reader_free(&c->rd);
}

static void
tsc_fail(struct tsc *c, const char *how)
{
	if (c->state == TSC_CLOSED)
		return;
	tsc_close(c);
	if (c->cb->closed != NULL)
		c->cb->closed(c, how);
}

static void
on_open(struct wsc *w)
{
	struct tsc *c = w->arg;
	struct wa_buf body = { 0 }, msg = { 0 };
	int rc;

	if ((c->hs = calloc(1, sizeof(*c->hs))) == NULL) {
		tsc_fail(c, "error: out of memory");
		return;
	}
	/* the first message: intro bytes, then the clientHello frame */
	if ((rc = wa_hs_client_start(c->hs, &body)) < 0 ||
	    (rc = wa_frame_put_intro(&msg, NULL, 0)) < 0 ||
	    (rc = wa_frame_put(&msg, body.data, body.len)) < 0 ||
	    wsc_send(w, msg.data, msg.len) < 0) {
		wa_buf_free(&body);
		wa_buf_free(&msg);
		tsc_fail(c, "error: clientHello");
		return;
	}
	wa_buf_free(&body);
	wa_buf_free(&msg);
	c->state = TSC_HELLO;
}

static int
on_server_hello(struct tsc *c, const uint8_t *f, size_t n)
{
	static const struct wa_version v = { 2, 3000, 1 };
	struct wa_creds *cr;
	struct wa_buf pl = { 0 }, body = { 0 }, msg = { 0 };
	char why[160], how[200];
	int rc;

	/* the payload needs only me_jid; a whole wa_creds is 1.7 KiB */
	if ((cr = calloc(1, sizeof(*cr))) == NULL) {
		tsc_fail(c, "error: out of memory");
		return -1;
	}
	snprintf(cr->me_jid, sizeof(cr->me_jid), "%s", c->me_jid);
	rc = wa_payload_login(cr, &v, &pl);
	free(cr);
	why[0] = '\0';
	if (rc == 0)
		rc = wa_hs_client_finish(c->hs, f, n, &c->noise, pl.data,
		    pl.len, c->root, (uint64_t)time(NULL), &body, &c->t, why,
		    sizeof(why));
	wa_buf_free(&pl);
	if (rc == 0)
		rc = wa_frame_put(&msg, body.data, body.len);
	if (rc == 0 && wsc_send(&c->ws, msg.data, msg.len) < 0)
		rc = WA_EPROTO;
	wa_buf_free(&body);
	wa_buf_free(&msg);
	wa_hs_wipe(c->hs);
	free(c->hs);
	c->hs = NULL;
	if (rc < 0) {
		snprintf(how, sizeof(how), "handshake: %s",
		    why[0] ? why : wa_strerror(rc));
		tsc_fail(c, how);
		return -1;
	}
	c->state = TSC_LOGIN;
	return 0;
}

static int
on_transport(struct tsc *c, const uint8_t *f, size_t n)
{
	struct wa_buf plain = { 0 };
	struct wa_arena a;
	struct wa_node *node;
	char how[80];
	int rc;

	if ((rc = wa_transport_open(&c->t, f, n, &plain)) < 0) {
		wa_buf_free(&plain);
		snprintf(how, sizeof(how), "protocol: %s", wa_strerror(rc));
		tsc_fail(c, how);
		return -1;
	}
	wa_arena_init(&a, 8u << 20);
	rc = wa_node_decode_frame(plain.data, plain.len, &a, &node);
	wa_buf_free(&plain);
	if (rc < 0) {
		wa_arena_free(&a);
		snprintf(how, sizeof(how), "protocol: %s", wa_strerror(rc));
		tsc_fail(c, how);
		return -1;
	}
	if (c->state == TSC_LOGIN) {
		int ok = node->tag != NULL && strcmp(node->tag, "success") == 0;
		if (ok)
			c->state = TSC_OPEN;
		if (c->cb->login != NULL)
			c->cb->login(c, node, ok);
	} else if (c->cb->node != NULL) {
		c->cb->node(c, node);
	}
	wa_arena_free(&a);
	return c->state == TSC_CLOSED ? -1 : 0;
}

static void
on_data(struct wsc *w, const uint8_t *p, size_t n)
{
	struct tsc *c = w->arg;
	const uint8_t *f;
	size_t fl;
	int rc;

	if (c->state == TSC_CLOSED)
		return;
	if (wa_frame_feed(&c->rd, p, n) < 0) {
		tsc_fail(c, "protocol: framing");
		return;
	}
	while ((rc = wa_frame_next(&c->rd, &f, &fl)) == 1) {
		if (c->state == TSC_HELLO)
			rc = on_server_hello(c, f, fl);
		else
			rc = on_transport(c, f, fl);
		if (rc < 0 || c->state == TSC_CLOSED)
			return;
	}
	if (rc < 0) {
		tsc_fail(c, "protocol: framing");
		return;
	}
	if (c->rd.off == c->rd.pending.len)
		wa_frame_reader_free(&c->rd);
}

static void
on_closed(struct wsc *w, const char *how)
{
	struct tsc *c = w->arg;
	const struct tsc_cb *cb = c->cb;

	if (c->state == TSC_CLOSED)
		return;
	teardown(c);
	if (cb->closed != NULL)
		cb->closed(c, how);
}

static const struct wsc_cb ws_cb = { on_open, on_data, on_closed };

int
tsc_start(struct tsc *c, struct ev_loop *loop, const char *host, int port)
{
	c->state = TSC_WS;
	c->hs = NULL;
	memset(&c->t, 0, sizeof(c->t));
	wa_frame_reader_init(&c->rd, WA_FRAME_MAX, 0);
	return wsc_connect(&c->ws, loop, host, port, "/ws/chat", &ws_cb, c);
}

int
tsc_send_node(struct tsc *c, const struct wa_node *n)
{
	struct wa_buf plain = { 0 }, msg = { 0 };
	int rc;

	if (c->state != TSC_OPEN || n == NULL)
		return -1;
	if ((rc = wa_node_encode_frame(n, &plain)) == 0 &&
	    (rc = wa_transport_seal(&c->t, plain.data, plain.len, &msg)) == 0)
		rc = wsc_send(&c->ws, msg.data, msg.len);
	wa_buf_free(&plain);
	wa_buf_free(&msg);
	return rc < 0 ? -1 : 0;
}

void
tsc_close(struct tsc *c)
{
	if (c->state == TSC_CLOSED)
		return;
	wsc_close(&c->ws);
	teardown(c);
}
