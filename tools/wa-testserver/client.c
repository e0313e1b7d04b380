/*
 * tools/wa-testserver/client.c: `wa-testserver client`, a scripted test
 * client.  It logs one device in (credentials from a Baileys creds.json
 * folder, or one line of a --make-devices file), optionally pings, and
 * prints one line per event on stdout, flushed, for shell tests to grep:
 *
 *   login success lid=… t=…        login failure reason=N
 *   pong id=ping-3 rtt_ms=12       offline count=0
 *   stream_error code=515 conflict=-        xmlstreamend
 *   stanza <…>                     (anything else, as text)
 *   closed how=eof|reset|ws_close|refused|handshake: …
 *   end logged_in=1 pings=N pongs=M closed=0 how=-
 *
 * Exit status: 0 when the login succeeded (however it ended), 1 when it
 * never did, 2 for usage or local errors.  With --garbage MODE it sends a
 * malformed first message instead and exits 0 when the server closed the
 * connection.  Everything is bounded by
 * --timeout-ms (default 15000).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "wa/cert.h"
#include "wa/stanza.h"
#include "store/baileys.h"
#include "wa-testserver/ts.h"
#include "wa-testserver/tsc.h"

struct client {
	struct tsc c;
	struct ev_loop *loop;
	ev_timer ping, hold, deadline;
	double ping_s, hold_s;
	long pings_max;
	long pings, pongs;
	double sent_at[4096];
	int logged_in, closed;
	char how[200];
};

static void
say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void
say(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
}

static void
stop(struct client *k)
{
	say("end logged_in=%d pings=%ld pongs=%ld closed=%d how=%s",
	    k->logged_in, k->pings, k->pongs, k->closed,
	    k->closed ? k->how : "-");
	ev_break(k->loop, EVBREAK_ALL);
}

static void
send_ping(struct client *k)
{
	struct wa_arena a;
	char id[32];

	if (k->pings >= (long)(sizeof(k->sent_at) / sizeof(k->sent_at[0])))
		return;
	snprintf(id, sizeof(id), "ping-%ld", k->pings);
	wa_arena_init(&a, 0);
	if (tsc_send_node(&k->c, wa_stanza_ping(&a, id)) == 0)
		k->sent_at[k->pings++] = ev_now(k->loop);
	wa_arena_free(&a);
}

static void
ping_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct client *k = w->data;

	(void)loop;
	(void)revents;
	if (k->pings_max >= 0 && k->pings >= k->pings_max) {
		ev_timer_stop(k->loop, &k->ping);
		return;
	}
	send_ping(k);
}

static void
end_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct client *k = w->data;

	(void)loop;
	(void)revents;
	if (w == &k->deadline)
		say("timeout");
	stop(k);
}

static void
print_node(const struct wa_node *n)
{
	struct wa_buf b = { 0 };

	if (wa_node_to_text(n, &b) == 0 && wa_buf_put(&b, "", 1) == 0)
		say("stanza %s", (char *)b.data);
	else
		say("stanza <%s …>", n->tag ? n->tag : "?");
	wa_buf_free(&b);
}

static void
on_login(struct tsc *c, const struct wa_node *n, int ok)
{
	struct client *k = c->arg;
	const char *lid = wa_node_attr(n, "lid"), *t = wa_node_attr(n, "t");

	if (ok) {
		k->logged_in = 1;
		say("login success lid=%s t=%s", lid ? lid : "-", t ? t : "-");
		if (k->ping_s > 0 && k->pings_max != 0) {
			ev_timer_set(&k->ping, k->ping_s, k->ping_s);
			ev_timer_start(k->loop, &k->ping);
		}
		if (k->hold_s > 0) {
			ev_timer_set(&k->hold, k->hold_s, 0.);
			ev_timer_start(k->loop, &k->hold);
		} else if (k->ping_s <= 0 || k->pings_max == 0) {
			stop(k);
		}
	} else if (n->tag != NULL && strcmp(n->tag, "failure") == 0) {
		const char *r = wa_node_attr(n, "reason");
		say("login failure reason=%s", r ? r : "-");
	} else {
		print_node(n);
	}
}

static void
on_node(struct tsc *c, const struct wa_node *n)
{
	struct client *k = c->arg;
	const char *id = wa_node_attr(n, "id"), *type = wa_node_attr(n, "type");
	const struct wa_node *ch;
	long i;

	if (strcmp(n->tag, "iq") == 0 && type != NULL &&
	    strcmp(type, "result") == 0 && id != NULL &&
	    strncmp(id, "ping-", 5) == 0) {
		i = strtol(id + 5, NULL, 10);
		k->pongs++;
		say("pong id=%s rtt_ms=%.0f", id, i >= 0 && i < k->pings ?
		    (ev_now(k->loop) - k->sent_at[i]) * 1000 : -1.0);
		if (k->pings_max > 0 && k->pongs >= k->pings_max &&
		    k->hold_s <= 0)
			stop(k);
		return;
	}
	if (strcmp(n->tag, "stream:error") == 0) {
		const char *code = wa_node_attr(n, "code");
		const char *ct = NULL;
		if ((ch = wa_node_child(n, "conflict")) != NULL)
			ct = wa_node_attr(ch, "type");
		say("stream_error code=%s conflict=%s", code ? code : "-",
		    ct ? ct : "-");
		return;
	}
	if (strcmp(n->tag, "xmlstreamend") == 0) {
		say("xmlstreamend");
		return;
	}
	if (strcmp(n->tag, "ib") == 0 &&
	    (ch = wa_node_child(n, "offline")) != NULL) {
		const char *cnt = wa_node_attr(ch, "count");
		say("offline count=%s", cnt ? cnt : "-");
		return;
	}
	if (strcmp(n->tag, "iq") == 0 && type != NULL && id != NULL &&
	    (strcmp(type, "get") == 0 || strcmp(type, "set") == 0)) {
		struct wa_arena a;
		wa_arena_init(&a, 0);
		(void)tsc_send_node(c, wa_stanza_iq_result(&a, n));
		wa_arena_free(&a);
	}
	print_node(n);
}

static void
on_closed(struct tsc *c, const char *how)
{
	struct client *k = c->arg;

	k->closed = 1;
	snprintf(k->how, sizeof(k->how), "%s", how);
	say("closed how=%s", how);
	stop(k);
}

static const struct tsc_cb client_cb = { on_login, on_node, on_closed };

/* --garbage MODE: instead of a handshake, send something malformed and
 * report how the server ends the connection.
 *   intro     a first message that does not start with the intro bytes
 *   hello     the intro, then a frame that is not a HandshakeMessage
 *   oversize  the intro, then a length prefix over the server's limit */
static const char *garbage_mode;

static void
g_open(struct wsc *w)
{
	static const uint8_t not_intro[] = "GET / HTTP/1.1\r\n";
	uint8_t msg[64];
	size_t n = 0, i;

	if (strcmp(garbage_mode, "intro") == 0) {
		memcpy(msg, not_intro, sizeof(not_intro) - 1);
		n = sizeof(not_intro) - 1;
	} else {
		memcpy(msg, "WA\x06\x03", 4);
		if (strcmp(garbage_mode, "oversize") == 0) {
			msg[4] = msg[5] = msg[6] = 0xff;
			n = 7;
		} else {
			msg[4] = 0;
			msg[5] = 0;
			msg[6] = 40;
			for (i = 0; i < 40; i++)
				msg[7 + i] = (uint8_t)(0xf7 ^ (i * 37));
			n = 47;
		}
	}
	say("sent garbage=%s", garbage_mode);
	if (wsc_send(w, msg, n) < 0)
		say("send failed");
}

static void
g_data(struct wsc *w, const uint8_t *p, size_t n)
{
	(void)w;
	(void)p;
	say("garbage answered with %zu bytes", n);
}

static void
g_closed(struct wsc *w, const char *how)
{
	struct client *k = w->arg;

	k->closed = 1;
	snprintf(k->how, sizeof(k->how), "%s", how);
	say("closed how=%s", how);
	stop(k);
}

static const struct wsc_cb garbage_cb = { g_open, g_data, g_closed };

static void
client_usage(void)
{
	fputs("usage: wa-testserver client --port N [--host 127.0.0.1]\n"
	    "         (--creds DIR | --bulk FILE --index I)\n"
	    "         [--root HEX] [--wrong-noise] [--ping-ms M] [--pings K]\n"
	    "         [--hold-ms T] [--timeout-ms T]\n"
	    "       wa-testserver client --port N --garbage intro|hello|oversize\n",
	    stderr);
	exit(2);
}

/* Line `index` (0-based) of a --make-devices file. */
static int
bulk_line(const char *path, long index, struct tsc *c)
{
	FILE *f = fopen(path, "r");
	char line[256], hex[80];
	unsigned long long phone;
	unsigned dev;
	uint8_t priv[32];
	long i = 0;
	int rc = -1;

	if (f == NULL)
		return -1;
	while (fgets(line, sizeof(line), f) != NULL) {
		if (i++ != index)
			continue;
		if (sscanf(line, "%llu %u %79s", &phone, &dev, hex) == 3 &&
		    strlen(hex) == 64 && ts_unhex(hex, priv, 32) == 0 &&
		    wa_keypair_from_private(&c->noise, priv) == 0) {
			snprintf(c->me_jid, sizeof(c->me_jid),
			    "%llu:%u@s.whatsapp.net", phone, dev);
			rc = 0;
		}
		break;
	}
	fclose(f);
	return rc;
}

int
ts_client_main(int argc, char **argv)
{
	static struct client k;
	static uint8_t root[32];
	const char *host = "127.0.0.1", *creds = NULL, *bulk = NULL;
	long port = 0, index = 0, timeout_ms = 15000;
	int wrong = 0, i;
	char why[256];

	k.pings_max = -1;
	for (i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (strcmp(a, "--wrong-noise") == 0) {
			wrong = 1;
			continue;
		}
		if (strcmp(a, "--garbage") == 0 && v != NULL &&
		    (strcmp(v, "intro") == 0 || strcmp(v, "hello") == 0 ||
		    strcmp(v, "oversize") == 0)) {
			garbage_mode = v;
			i++;
			continue;
		}
		if (v == NULL)
			client_usage();
		i++;
		if (strcmp(a, "--port") == 0)
			port = atol(v);
		else if (strcmp(a, "--host") == 0)
			host = v;
		else if (strcmp(a, "--creds") == 0)
			creds = v;
		else if (strcmp(a, "--bulk") == 0)
			bulk = v;
		else if (strcmp(a, "--index") == 0)
			index = atol(v);
		else if (strcmp(a, "--root") == 0) {
			if (wa_cert_parse_root_hex(v, root) < 0) {
				fputs("client: --root wants 64 hex digits\n",
				    stderr);
				return 2;
			}
			k.c.root = root;
		} else if (strcmp(a, "--ping-ms") == 0)
			k.ping_s = atol(v) / 1000.0;
		else if (strcmp(a, "--pings") == 0)
			k.pings_max = atol(v);
		else if (strcmp(a, "--hold-ms") == 0)
			k.hold_s = atol(v) / 1000.0;
		else if (strcmp(a, "--timeout-ms") == 0)
			timeout_ms = atol(v);
		else
			client_usage();
	}
	if (port <= 0 || port > 65535 || timeout_ms <= 0 ||
	    timeout_ms > 600000 ||
	    (garbage_mode == NULL && (creds == NULL) == (bulk == NULL)))
		client_usage();
	if (garbage_mode != NULL) {
		k.loop = ev_default_loop(0);
		ev_timer_init(&k.deadline, end_cb, timeout_ms / 1000.0, 0.);
		k.deadline.data = &k;
		ev_timer_start(k.loop, &k.deadline);
		if (wsc_connect(&k.c.ws, k.loop, host, (int)port, "/ws/chat",
		    &garbage_cb, &k) < 0)
			return 2;
		ev_run(k.loop, 0);
		wsc_close(&k.c.ws);
		return k.closed ? 0 : 1;
	}
	if (creds != NULL) {
		struct wa_creds *cr = calloc(1, sizeof(*cr));
		if (cr == NULL || store_baileys_read(creds, cr, why,
		    sizeof(why)) < 0) {
			fprintf(stderr, "client: %s\n", cr ? why : "no memory");
			free(cr);
			return 2;
		}
		k.c.noise = cr->noise;
		snprintf(k.c.me_jid, sizeof(k.c.me_jid), "%.63s", cr->me_jid);
		wa_creds_wipe(cr);
		free(cr);
	} else if (bulk_line(bulk, index, &k.c) < 0) {
		fprintf(stderr, "client: %s: no usable line %ld\n", bulk, index);
		return 2;
	}
	if (wrong && wa_keypair_generate(&k.c.noise) < 0)
		return 2;
	k.loop = ev_default_loop(0);
	k.c.cb = &client_cb;
	k.c.arg = &k;
	ev_init(&k.ping, ping_cb);
	k.ping.data = &k;
	ev_init(&k.hold, end_cb);
	k.hold.data = &k;
	ev_timer_init(&k.deadline, end_cb, timeout_ms / 1000.0, 0.);
	k.deadline.data = &k;
	ev_timer_start(k.loop, &k.deadline);
	if (tsc_start(&k.c, k.loop, host, (int)port) < 0) {
		fprintf(stderr, "client: cannot connect to %s:%ld: %s\n", host,
		    port, strerror(errno));
		return 2;
	}
	ev_run(k.loop, 0);
	tsc_close(&k.c);
	return k.logged_in ? 0 : 1;
}
