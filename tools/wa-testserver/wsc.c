/*
 * tools/wa-testserver/wsc.c: a minimal WebSocket client (RFC 6455) on
 * libev, for the test client and the load tool.
 *
 * Why not lws' client: the tests must tell a FIN from an RST (the server's
 * "close" and "reset" injections), and the load tool holds 10,000
 * connections in one process, so each one here is a socket, an ev_io and
 * two buffers that are freed whenever they empty.  Client frames are
 * masked as the RFC requires; server frames must not be.  Only what the
 * WhatsApp endpoint uses is supported: binary messages (fragmented or
 * not), ping (answered), pong, close.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/sha.h>
#include "wa-testserver/wsc.h"

enum { W_CONNECTING, W_UPGRADING, W_OPEN, W_CLOSED };

static uint32_t
mask_word(struct wsc *w)
{
	/* xorshift: masking defends proxies, not secrets, so speed wins */
	uint32_t x = w->rng ? w->rng : 0x9e3779b9u;

	x ^= x << 13;
	x ^= x >> 17;
	x ^= x << 5;
	w->rng = x;
	return x;
}

static void
finish(struct wsc *w, const char *how)
{
	if (w->state == W_CLOSED)
		return;
	w->state = W_CLOSED;
	ev_io_stop(w->loop, &w->io);
	close(w->fd);
	w->fd = -1;
	wa_buf_free(&w->in);
	wa_buf_free(&w->out);
	if (w->cb->closed != NULL)
		w->cb->closed(w, how);
}

static void
want(struct wsc *w)
{
	int ev = EV_READ | (w->out.len > 0 || w->state == W_CONNECTING ?
	    EV_WRITE : 0);

	if (w->io.events != ev) {
		ev_io_stop(w->loop, &w->io);
		ev_io_set(&w->io, w->fd, ev);
		ev_io_start(w->loop, &w->io);
	}
}

static int
flush_out(struct wsc *w)
{
	ssize_t n;

	while (w->out.len > 0) {
		n = send(w->fd, w->out.data, w->out.len, MSG_NOSIGNAL);
		if (n < 0) {
			if (errno == EAGAIN || errno == EINTR)
				break;
			finish(w, errno == ECONNRESET || errno == EPIPE ?
			    "reset" : "error");
			return -1;
		}
		memmove(w->out.data, w->out.data + n, w->out.len - (size_t)n);
		w->out.len -= (size_t)n;
	}
	if (w->out.len == 0)
		wa_buf_free(&w->out);
	want(w);
	return 0;
}

static int
put_frame(struct wsc *w, int opcode, const uint8_t *p, size_t n)
{
	uint8_t h[14];
	size_t hl = 2, i, at;
	uint32_t m = mask_word(w);
	uint8_t mk[4] = { (uint8_t)(m >> 24), (uint8_t)(m >> 16),
	    (uint8_t)(m >> 8), (uint8_t)m };

	h[0] = (uint8_t)(0x80 | opcode);
	if (n < 126) {
		h[1] = (uint8_t)(0x80 | n);
	} else if (n < 65536) {
		h[1] = 0x80 | 126;
		h[2] = (uint8_t)(n >> 8);
		h[3] = (uint8_t)n;
		hl = 4;
	} else {
		h[1] = 0x80 | 127;
		for (i = 0; i < 8; i++)
			h[2 + i] = (uint8_t)((uint64_t)n >> (56 - 8 * i));
		hl = 10;
	}
	memcpy(h + hl, mk, 4);
	hl += 4;
	if (wa_buf_put(&w->out, h, hl) < 0 || wa_buf_reserve(&w->out, n) < 0)
		return -1;
	at = w->out.len;
	for (i = 0; i < n; i++)
		w->out.data[at + i] = p[i] ^ mk[i & 3];
	w->out.len += n;
	return 0;
}

int
wsc_send(struct wsc *w, const uint8_t *p, size_t n)
{
	if (w->state != W_OPEN)
		return -1;
	if (put_frame(w, 2, p, n) < 0)
		return -1;
	return flush_out(w);
}

/* The end of the HTTP head, or NULL. */
static char *
head_end(char *p, size_t n)
{
	size_t i;

	for (i = 0; i + 4 <= n; i++)
		if (memcmp(p + i, "\r\n\r\n", 4) == 0)
			return p + i;
	return NULL;
}

/* The value of header `name` (lowercase, with the colon) in a
 * NUL-terminated head, or NULL. */
static char *
header(char *head, const char *name)
{
	size_t n = strlen(name);
	char *p;

	for (p = strstr(head, "\r\n"); p != NULL; p = strstr(p + 2, "\r\n"))
		if (strncasecmp(p + 2, name, n) == 0)
			return p + 2 + n;
	return NULL;
}

/* The Sec-WebSocket-Accept the server must answer for our key. */
static void
expected_accept(const char *key, char out[32])
{
	static const char guid[] = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
	uint8_t d[SHA_DIGEST_LENGTH];
	char buf[128];

	snprintf(buf, sizeof(buf), "%.60s%s", key, guid);
	SHA1((const uint8_t *)buf, strlen(buf), d);
	EVP_EncodeBlock((uint8_t *)out, d, sizeof(d));
}

static int
parse_upgrade(struct wsc *w)
{
	char *end, *acc, want_acc[32];
	size_t hl;

	if (w->in.len > 8192) {
		finish(w, "bad_upgrade");
		return -1;
	}
	if ((end = head_end((char *)w->in.data, w->in.len)) == NULL)
		return 0;
	*end = '\0';
	hl = (size_t)(end - (char *)w->in.data) + 4;
	expected_accept(w->key, want_acc);
	if (strncmp((char *)w->in.data, "HTTP/1.1 101", 12) != 0 ||
	    (acc = header((char *)w->in.data, "sec-websocket-accept:")) ==
	    NULL) {
		finish(w, "bad_upgrade");
		return -1;
	}
	while (*acc == ' ')
		acc++;
	if (strncmp(acc, want_acc, strlen(want_acc)) != 0) {
		finish(w, "bad_upgrade");
		return -1;
	}
	memmove(w->in.data, w->in.data + hl, w->in.len - hl);
	w->in.len -= hl;
	w->state = W_OPEN;
	if (w->cb->open != NULL)
		w->cb->open(w);
	return w->state == W_OPEN ? 1 : -1;
}

static int
parse_frames(struct wsc *w)
{
	const uint8_t *p;
	uint64_t n;
	size_t hl, i;
	int op;

	while (w->state == W_OPEN && w->in.len >= 2) {
		p = w->in.data;
		op = p[0] & 15;
		if (p[1] & 0x80) {
			finish(w, "masked_frame");
			return -1;
		}
		n = p[1] & 127;
		hl = 2;
		if (n == 126) {
			if (w->in.len < 4)
				return 0;
			n = (uint64_t)p[2] << 8 | p[3];
			hl = 4;
		} else if (n == 127) {
			if (w->in.len < 10)
				return 0;
			for (n = 0, i = 0; i < 8; i++)
				n = n << 8 | p[2 + i];
			hl = 10;
		}
		if (n > (16u << 20)) {
			finish(w, "frame_too_big");
			return -1;
		}
		if (w->in.len < hl + n)
			return 0;
		switch (op) {
		case 0: case 1: case 2:
			if (w->cb->data != NULL)
				w->cb->data(w, p + hl, (size_t)n);
			break;
		case 8:
			finish(w, "ws_close");
			return -1;
		case 9:
			if (put_frame(w, 10, p + hl, (size_t)n) < 0) {
				finish(w, "error");
				return -1;
			}
			break;
		default:
			break;
		}
		if (w->state != W_OPEN)
			return -1;
		memmove(w->in.data, w->in.data + hl + n,
		    w->in.len - hl - (size_t)n);
		w->in.len -= hl + (size_t)n;
	}
	return 0;
}

static void
io_cb(struct ev_loop *loop, ev_io *io, int revents)
{
	struct wsc *w = io->data;
	char req[512], key64[32];
	uint8_t key[16];
	socklen_t sl = sizeof(int);
	ssize_t n;
	int err = 0;

	(void)loop;
	if (w->state == W_CONNECTING && (revents & EV_WRITE)) {
		if (getsockopt(w->fd, SOL_SOCKET, SO_ERROR, &err, &sl) < 0 ||
		    err != 0) {
			finish(w, err == ECONNREFUSED ? "refused" : "error");
			return;
		}
		if (RAND_bytes(key, sizeof(key)) != 1 ||
		    RAND_bytes((uint8_t *)&w->rng, sizeof(w->rng)) != 1) {
			finish(w, "error");
			return;
		}
		EVP_EncodeBlock((uint8_t *)key64, key, sizeof(key));
		snprintf(w->key, sizeof(w->key), "%s", key64);
		n = snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\n"
		    "Host: %s:%d\r\nUpgrade: websocket\r\n"
		    "Connection: Upgrade\r\nSec-WebSocket-Key: %s\r\n"
		    "Sec-WebSocket-Version: 13\r\n"
		    "Origin: https://web.whatsapp.com\r\n\r\n",
		    w->path, w->host, w->port, w->key);
		w->state = W_UPGRADING;
		if (wa_buf_put(&w->out, req, (size_t)n) < 0) {
			finish(w, "error");
			return;
		}
	}
	if ((revents & EV_WRITE) && flush_out(w) < 0)
		return;
	if (!(revents & EV_READ))
		return;
	for (;;) {
		if (wa_buf_reserve(&w->in, 4096) < 0) {
			finish(w, "error");
			return;
		}
		n = recv(w->fd, w->in.data + w->in.len, 4096, 0);
		if (n == 0) {
			finish(w, "eof");
			return;
		}
		if (n < 0) {
			if (errno == EAGAIN || errno == EINTR)
				break;
			finish(w, errno == ECONNRESET ? "reset" : "error");
			return;
		}
		w->in.len += (size_t)n;
		if (w->state == W_UPGRADING && parse_upgrade(w) < 0)
			return;
		if (w->state == W_OPEN && parse_frames(w) < 0)
			return;
		if ((size_t)n < 4096)
			break;
	}
	if (w->state == W_OPEN) {
		if (w->in.len == 0)
			wa_buf_free(&w->in);
		want(w);
	}
}

int
wsc_connect(struct wsc *w, struct ev_loop *loop, const char *host, int port,
    const char *path, const struct wsc_cb *cb, void *arg)
{
	struct sockaddr_in sa;
	int one = 1;

	memset(w, 0, sizeof(*w));
	w->loop = loop;
	w->cb = cb;
	w->arg = arg;
	w->port = port;
	snprintf(w->host, sizeof(w->host), "%s", host);
	snprintf(w->path, sizeof(w->path), "%s", path);
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons((uint16_t)port);
	if (inet_pton(AF_INET, host, &sa.sin_addr) != 1)
		return -1;      /* loopback addresses only: no resolver */
	w->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (w->fd < 0)
		return -1;
	(void)setsockopt(w->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(w->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 &&
	    errno != EINPROGRESS) {
		close(w->fd);
		w->fd = -1;
		return -1;
	}
	w->state = W_CONNECTING;
	ev_io_init(&w->io, io_cb, w->fd, EV_READ | EV_WRITE);
	w->io.data = w;
	ev_io_start(loop, &w->io);
	return 0;
}

void
wsc_close(struct wsc *w)
{
	const struct wsc_cb *cb = w->cb;
	static const struct wsc_cb none = { 0 };

	if (w->state == W_CLOSED)
		return;
	w->cb = &none;       /* no callback for a close we asked for */
	finish(w, "local");
	w->cb = cb;
}

int
wsc_is_open(const struct wsc *w)
{
	return w->state == W_OPEN;
}
