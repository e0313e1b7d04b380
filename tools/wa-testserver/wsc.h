/* tools/wa-testserver/wsc.h: a minimal WebSocket client on libev (wsc.c). */
#ifndef TS_WSC_H
#define TS_WSC_H

#include <ev.h>
#include "wa/wa.h"

struct wsc;

struct wsc_cb {
	void (*open)(struct wsc *w);
	/* bytes of a binary message (or of one fragment of it) */
	void (*data)(struct wsc *w, const uint8_t *p, size_t n);
	/* once; how: "eof" (FIN), "reset" (RST), "ws_close" (close frame),
	 * "refused", "bad_upgrade", "error", ... */
	void (*closed)(struct wsc *w, const char *how);
};

struct wsc {
	struct ev_loop *loop;
	ev_io io;
	int fd, state, port;
	uint32_t rng;
	struct wa_buf in, out;
	const struct wsc_cb *cb;
	void *arg;
	char key[32];
	char host[48];
	char path[32];
};

int wsc_connect(struct wsc *w, struct ev_loop *loop, const char *host,
    int port, const char *path, const struct wsc_cb *cb, void *arg);
int wsc_send(struct wsc *w, const uint8_t *p, size_t n);
/* Drops the connection (FIN); no closed callback follows. */
void wsc_close(struct wsc *w);
int wsc_is_open(const struct wsc *w);

#endif
