/*
 * src/cli/probe.c: `skykeeper probe`, a one-shot WhatsApp Web client for
 * finding out where a connection goes wrong.
 *
 *   skykeeper probe --url URL --creds DIR [--root-key HEX | --no-cert-check]
 *                   [--version P.S.T] [--timeout SECONDS]
 *
 * It logs in once with DIR/creds.json, sends three pings and prints one
 * logfmt line per step: connect, handshake, certificate verdict, login
 * result, each ping's round-trip time.  Exit 0 when every step passed;
 * exit 1 with a line naming the step that failed (creds, connect,
 * handshake, certificate, login, ping N) and why; exit 2 for bad usage.
 * The whole run is bounded by --timeout, so it never hangs.
 *
 * Certificates are checked strictly against WhatsApp's root key unless
 * told otherwise; any other root (a test server's) is announced with a
 * warning, because a probe that quietly trusts another key proves nothing.
 * Nothing secret is printed: no key, no credential, no phone number.
 */
#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <ev.h>
#include <openssl/crypto.h>
#include "cli/probe.h"
#include "log/log.h"
#include "net/net.h"
#include "net/waconn.h"
#include "store/baileys.h"
#include "wa/cert.h"
#include "wa/stanza.h"

#define PROBE_PINGS 3
#define PROBE_DEFAULT_URL "wss://web.whatsapp.com/ws/chat"
/* After the last ping, how long a clean close may take before the probe
 * stops waiting: the verdict is already in. */
#define PROBE_CLOSE_GRACE 2.0

/* The client version Baileys 7.0.0-rc14 sends (its Defaults); the real
 * server answers an outdated one with <failure reason="405">. */
static const struct wa_version probe_default_version = { 2, 3000, 1043857760 };

enum phase { P_CONNECT, P_HANDSHAKE, P_LOGIN, P_PING, P_CLOSING, P_OVER };

struct probe {
	struct ev_loop *loop;
	struct net *net;
	struct net_wa *conn;
	ev_timer deadline;
	double timeout;
	enum phase phase;
	int ping;                  /* 1..PROBE_PINGS: the one in flight */
	char ping_id[32];
	double t_start, t_sent;
	int result;                /* exit status once P_OVER */
	const char *root_source;   /* "builtin", "flag", "env", "none" */
};

static double
mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* A logfmt-safe copy of text from the network or from a library: no
 * quotes, backslashes or control bytes. */
static const char *
clean(const char *s, char *buf, size_t n)
{
	size_t o = 0;

	if (s == NULL)
		s = "";
	for (; *s != '\0' && o + 1 < n; s++) {
		unsigned char c = (unsigned char)*s;
		buf[o++] = c < 0x20 || c == 0x7f || c == '"' || c == '\\' ?
		    '\'' : (char)c;
	}
	buf[o] = '\0';
	return buf;
}

static const char *
step_name(const struct probe *p, char *buf, size_t n)
{
	switch (p->phase) {
	case P_CONNECT: return "connect";
	case P_HANDSHAKE: return "handshake";
	case P_LOGIN: return "login";
	case P_PING:
		/* logfmt: "step=ping n=2", the step and its number */
		snprintf(buf, n, "ping n=%d", p->ping);
		return buf;
	case P_CLOSING:
	case P_OVER:
		return "close";
	}
	return "unknown";
}

static void
finish(struct probe *p, int result)
{
	if (p->phase == P_OVER)
		return;
	p->phase = P_OVER;
	p->result = result;
	ev_timer_stop(p->loop, &p->deadline);
	ev_break(p->loop, EVBREAK_ALL);
}

/* A step failed: one line naming it, then exit 1. */
static void
fail_step(struct probe *p, const char *step, const char *reason)
{
	char r[384];

	log_error("step=%s result=failed reason=\"%s\"", step,
	    clean(reason, r, sizeof(r)));
	net_wa_abort(p->conn);
	finish(p, 1);
}

static void
fail_here(struct probe *p, const char *reason)
{
	char b[32];

	fail_step(p, step_name(p, b, sizeof(b)), reason);
}

static int
send_ping(struct probe *p)
{
	struct wa_arena a;
	struct wa_node *n;
	int rc;

	snprintf(p->ping_id, sizeof(p->ping_id), "probe-%ld-%d",
	    (long)getpid(), p->ping);
	wa_arena_init(&a, 0);
	n = wa_stanza_ping(&a, p->ping_id);
	rc = n != NULL ? net_wa_send_node(p->conn, n) : WA_ENOMEM;
	wa_arena_free(&a);
	p->t_sent = mono_ms();
	return rc;
}

static void
next_ping_or_close(struct probe *p)
{
	int rc;

	if (p->ping < PROBE_PINGS) {
		p->ping++;
		if ((rc = send_ping(p)) < 0)
			fail_here(p, wa_strerror(rc));
		return;
	}
	log_info("step=done result=ok pings=%d ms=%.1f", PROBE_PINGS,
	    mono_ms() - p->t_start);
	p->phase = P_CLOSING;
	p->result = 0;
	ev_timer_stop(p->loop, &p->deadline);
	ev_timer_set(&p->deadline, PROBE_CLOSE_GRACE, 0.);
	ev_timer_start(p->loop, &p->deadline);
	net_wa_close(p->conn);
}

/* --- connection events --------------------------------------------------- */

static void
on_opened(struct net_wa *c, void *arg)
{
	struct probe *p = arg;

	(void)c;
	log_info("step=connect result=ok ms=%.1f", mono_ms() - p->t_start);
	p->phase = P_HANDSHAKE;
}

static void
on_handshake(struct net_wa *c, const struct net_wa_hello *h, void *arg)
{
	struct probe *p = arg;

	(void)c;
	log_info("step=handshake result=ok ms=%.1f", mono_ms() - p->t_start);
	if (h->cert_checked)
		log_info("step=certificate result=verified root=%s",
		    p->root_source);
	else
		log_warn("step=certificate result=unchecked "
		    "msg=\"certificate chain not verified (--no-cert-check)\"");
	p->phase = P_LOGIN;
}

static void
answer_iq(struct probe *p, const struct wa_node *n)
{
	struct wa_arena a;
	struct wa_node *r;

	/* A server that asks something (a ping of its own) and hears nothing
	 * may hang up; answering keeps the probe about its own questions. */
	wa_arena_init(&a, 0);
	r = wa_stanza_iq_result(&a, n);
	if (r != NULL)
		(void)net_wa_send_node(p->conn, r);
	wa_arena_free(&a);
}

static void
on_login_node(struct probe *p, const struct wa_inbound *in)
{
	char r[128], why[256];

	switch (in->kind) {
	case WA_IN_SUCCESS:
		log_info("step=login result=success ms=%.1f",
		    mono_ms() - p->t_start);
		p->phase = P_PING;
		next_ping_or_close(p);
		return;
	case WA_IN_FAILURE:
		snprintf(why, sizeof(why), "server answered <failure reason=%s>%s",
		    clean(in->text, r, sizeof(r)),
		    in->code == WA_R_CLIENT_OUTDATED ? ": client version "
		    "outdated, set --version or SKYKEEPER_WA_VERSION" :
		    in->code == WA_R_LOGGED_OUT ? ": logged out, pair again" :
		    "");
		fail_here(p, why);
		return;
	case WA_IN_STREAM_ERROR:
		snprintf(why, sizeof(why), "server sent stream error %d (%s)",
		    in->code, clean(in->text, r, sizeof(r)));
		fail_here(p, why);
		return;
	case WA_IN_STREAM_END:
		fail_here(p, "server ended the stream");
		return;
	default:
		return;   /* anything else before the verdict: not ours */
	}
}

static void
on_ping_node(struct probe *p, const struct wa_inbound *in)
{
	char r[128], why[256];

	switch (in->kind) {
	case WA_IN_IQ_RESULT:
		if (in->id == NULL || strcmp(in->id, p->ping_id) != 0)
			return;
		log_info("step=ping n=%d result=ok rtt_ms=%.2f", p->ping,
		    mono_ms() - p->t_sent);
		next_ping_or_close(p);
		return;
	case WA_IN_IQ_ERROR:
		if (in->id == NULL || strcmp(in->id, p->ping_id) != 0)
			return;
		fail_here(p, "server answered the ping with an iq error");
		return;
	case WA_IN_FAILURE:
	case WA_IN_STREAM_ERROR:
		snprintf(why, sizeof(why), "server sent %s %d (%s)",
		    in->kind == WA_IN_FAILURE ? "failure" : "stream error",
		    in->code, clean(in->text, r, sizeof(r)));
		fail_here(p, why);
		return;
	case WA_IN_STREAM_END:
		fail_here(p, "server ended the stream");
		return;
	default:
		return;
	}
}

static void
on_node(struct net_wa *c, const struct wa_node *n, void *arg)
{
	struct probe *p = arg;
	struct wa_inbound in;

	(void)c;
	wa_stanza_classify(n, &in);
	if (in.kind == WA_IN_IQ_REQUEST) {
		answer_iq(p, n);
		return;
	}
	if (p->phase == P_LOGIN)
		on_login_node(p, &in);
	else if (p->phase == P_PING)
		on_ping_node(p, &in);
}

static void
on_closed(struct net_wa *c, enum net_wa_end end, const char *reason,
    void *arg)
{
	struct probe *p = arg;
	char why[448];

	(void)c;
	if (p->phase == P_CLOSING) {
		finish(p, 0);
		return;
	}
	if (p->phase == P_OVER)
		return;
	/* The step says where; the kind of end says what, unless the step
	 * already does. */
	if (end == NET_WA_CERT)
		fail_step(p, "certificate", reason);
	else if (end == NET_WA_CONNECT)
		fail_step(p, "connect", reason);
	else {
		snprintf(why, sizeof(why), "%s: %s", net_wa_end_name(end),
		    reason);
		fail_here(p, why);
	}
}

static void
on_deadline(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct probe *p = w->data;
	char why[96];

	(void)loop;
	(void)revents;
	if (p->phase == P_CLOSING) {
		/* Every step passed; only the goodbye is slow. */
		net_wa_abort(p->conn);
		finish(p, 0);
		return;
	}
	snprintf(why, sizeof(why), "no progress within the %.0f s time limit",
	    p->timeout);
	fail_here(p, why);
}

/* --- arguments ----------------------------------------------------------- */

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: skykeeper probe --creds DIR [--url URL]\n"
	    "           [--root-key HEX | --no-cert-check] [--version P.S.T]\n"
	    "           [--timeout SECONDS]\n"
	    "\n"
	    "Logs in once with DIR/creds.json, sends %d pings, prints each step.\n"
	    "  --url URL          default $SKYKEEPER_WA_URL, else %s\n"
	    "  --root-key HEX     check the server certificate against this root\n"
	    "                     (64 hex digits; default $SKYKEEPER_WA_ROOT_KEY,\n"
	    "                     else WhatsApp's own key)\n"
	    "  --no-cert-check    do not verify the certificate chain at all\n"
	    "  --version P.S.T    client version to announce (default\n"
	    "                     $SKYKEEPER_WA_VERSION, else %u.%u.%u)\n"
	    "  --timeout SECONDS  give up after this long (default 20)\n"
	    "Exit: 0 every step passed, 1 a step failed, 2 bad usage.\n",
	    PROBE_PINGS, PROBE_DEFAULT_URL, probe_default_version.primary,
	    probe_default_version.secondary, probe_default_version.tertiary);
}

static int
parse_version(const char *s, struct wa_version *v)
{
	unsigned long a, b, c;
	char *e;

	a = strtoul(s, &e, 10);
	if (e == s || *e != '.')
		return -1;
	s = e + 1;
	b = strtoul(s, &e, 10);
	if (e == s || *e != '.')
		return -1;
	s = e + 1;
	c = strtoul(s, &e, 10);
	if (e == s || *e != '\0' || a > 0xffffffffUL || b > 0xffffffffUL ||
	    c > 0xffffffffUL)
		return -1;
	v->primary = (uint32_t)a;
	v->secondary = (uint32_t)b;
	v->tertiary = (uint32_t)c;
	return 0;
}

struct probe_args {
	const char *url, *creds, *root_hex, *version;
	int no_cert_check;
	double timeout;
};

static int
parse_args(int argc, char **argv, struct probe_args *a)
{
	static const struct option opts[] = {
		{ "url", required_argument, NULL, 'u' },
		{ "creds", required_argument, NULL, 'c' },
		{ "root-key", required_argument, NULL, 'r' },
		{ "no-cert-check", no_argument, NULL, 'n' },
		{ "version", required_argument, NULL, 'v' },
		{ "timeout", required_argument, NULL, 't' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int ch;
	char *e;

	memset(a, 0, sizeof(*a));
	a->timeout = 20;
	optind = 1;
	opterr = 0;
	while ((ch = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (ch) {
		case 'u': a->url = optarg; break;
		case 'c': a->creds = optarg; break;
		case 'r': a->root_hex = optarg; break;
		case 'n': a->no_cert_check = 1; break;
		case 'v': a->version = optarg; break;
		case 't':
			a->timeout = strtod(optarg, &e);
			if (e == optarg || *e != '\0' || !(a->timeout > 0) ||
			    a->timeout > 3600) {
				fprintf(stderr, "skykeeper probe: --timeout "
				    "wants seconds, 0 < N <= 3600\n");
				return 2;
			}
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			fprintf(stderr, "skykeeper probe: unknown or incomplete "
			    "option '%s'\n", argv[optind - 1]);
			usage(stderr);
			return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "skykeeper probe: unexpected argument '%s'\n",
		    argv[optind]);
		usage(stderr);
		return 2;
	}
	if (a->creds == NULL) {
		fprintf(stderr, "skykeeper probe: --creds DIR is required\n");
		usage(stderr);
		return 2;
	}
	if (a->root_hex != NULL && a->no_cert_check) {
		fprintf(stderr, "skykeeper probe: --root-key and --no-cert-check "
		    "exclude each other\n");
		return 2;
	}
	return -1;    /* go on */
}

/* --- the run ------------------------------------------------------------- */

static int
run(struct probe *p, const char *url, const struct net_wa_login *login)
{
	static const struct net_wa_cb cb = {
		.opened = on_opened,
		.handshake = on_handshake,
		.node = on_node,
		.closed = on_closed,
	};
	char why[256];

	p->loop = EV_DEFAULT;
	p->net = net_new(p->loop, why, sizeof(why));
	if (p->net == NULL) {
		log_error("step=connect result=failed reason=\"%s\"", why);
		return 1;
	}
	p->conn = net_wa_new(p->net, &cb, p);
	if (p->conn == NULL) {
		log_error("step=connect result=failed reason=\"out of memory\"");
		net_free(p->net);
		return 1;
	}
	ev_timer_init(&p->deadline, on_deadline, p->timeout, 0.);
	p->deadline.data = p;
	p->t_start = mono_ms();
	p->phase = P_CONNECT;
	p->result = 1;
	if (net_wa_connect(p->conn, login, why, sizeof(why)) < 0) {
		char r[256];
		log_error("step=connect result=failed reason=\"%s\" url=\"%s\"",
		    clean(why, r, sizeof(r)), url);
	} else {
		ev_timer_start(p->loop, &p->deadline);
		ev_run(p->loop, 0);
	}
	ev_timer_stop(p->loop, &p->deadline);
	net_wa_free(p->conn);
	net_free(p->net);
	return p->result;
}

int
cli_probe(int argc, char **argv)
{
	struct probe_args a;
	struct probe p;
	struct wa_creds creds;
	struct wa_version version = probe_default_version;
	struct wa_buf payload = { 0 };
	struct net_wa_login login;
	uint8_t root[32];
	const char *env, *level;
	char why[256], r[256];
	enum log_level lvl;
	int rc;

	if ((rc = parse_args(argc, argv, &a)) >= 0)
		return rc;
	if ((level = getenv("LOG_LEVEL")) != NULL &&
	    log_level_parse(level, &lvl) == 0)
		log_set_level(lvl);
	if (a.url == NULL)
		a.url = (env = getenv("SKYKEEPER_WA_URL")) != NULL && *env ?
		    env : PROBE_DEFAULT_URL;
	if (a.version == NULL)
		a.version = getenv("SKYKEEPER_WA_VERSION");
	if (a.version != NULL && *a.version != '\0' &&
	    parse_version(a.version, &version) < 0) {
		fprintf(stderr, "skykeeper probe: version '%s' is not "
		    "P.S.T (three numbers)\n", a.version);
		return 2;
	}

	memset(&p, 0, sizeof(p));
	p.timeout = a.timeout;
	memcpy(root, wa_cert_whatsapp_root, 32);
	p.root_source = "builtin";
	if (a.no_cert_check) {
		p.root_source = "none";
	} else if (a.root_hex != NULL) {
		if (wa_cert_parse_root_hex(a.root_hex, root) < 0) {
			fprintf(stderr, "skykeeper probe: --root-key wants %d "
			    "hex digits\n", WA_ROOT_KEY_HEX_LEN);
			return 2;
		}
		p.root_source = "flag";
	} else if ((env = getenv("SKYKEEPER_WA_ROOT_KEY")) != NULL &&
	    *env != '\0') {
		if (wa_cert_parse_root_hex(env, root) < 0) {
			fprintf(stderr, "skykeeper probe: SKYKEEPER_WA_ROOT_KEY "
			    "wants %d hex digits\n", WA_ROOT_KEY_HEX_LEN);
			return 2;
		}
		p.root_source = "env";
	}

	log_info("step=start url=\"%s\" creds=\"%s\" version=%u.%u.%u "
	    "cert_check=%s timeout_s=%.0f", clean(a.url, why, sizeof(why)),
	    clean(a.creds, r, sizeof(r)), version.primary, version.secondary,
	    version.tertiary, a.no_cert_check ? "off" : "strict", a.timeout);
	if (a.no_cert_check)
		log_warn("msg=\"certificate checking is off: any server is "
		    "believed\"");
	else if (memcmp(root, wa_cert_whatsapp_root, 32) != 0)
		log_warn("msg=\"certificate root key overridden: the server is "
		    "checked against a key that is not WhatsApp's\" source=%s",
		    strcmp(p.root_source, "env") == 0 ?
		    "SKYKEEPER_WA_ROOT_KEY" : "--root-key");

	memset(&creds, 0, sizeof(creds));
	if (store_baileys_read(a.creds, &creds, why, sizeof(why)) < 0) {
		log_error("step=creds result=failed reason=\"%s\"",
		    clean(why, r, sizeof(r)));
		wa_creds_wipe(&creds);
		return 1;
	}
	if (creds.me_jid[0] == '\0') {
		log_error("step=creds result=failed reason=\"device is not "
		    "paired (creds.json has no me.id): pair it first\"");
		wa_creds_wipe(&creds);
		return 1;
	}
	if ((rc = wa_payload_login(&creds, &version, &payload)) < 0) {
		log_error("step=creds result=failed reason=\"cannot build the "
		    "login payload: %s\"", wa_strerror(rc));
		wa_creds_wipe(&creds);
		wa_buf_free(&payload);
		return 1;
	}
	log_info("step=creds result=ok");

	signal(SIGPIPE, SIG_IGN);
	memset(&login, 0, sizeof(login));
	login.url = a.url;
	login.noise = &creds.noise;
	login.payload = payload.data;
	login.payload_len = payload.len;
	login.root = a.no_cert_check ? NULL : root;
	login.routing = creds.routing_len > 0 ? creds.routing : NULL;
	login.routing_len = creds.routing_len;
	rc = run(&p, a.url, &login);

	wa_creds_wipe(&creds);
	if (payload.data != NULL)
		OPENSSL_cleanse(payload.data, payload.cap);
	wa_buf_free(&payload);
	return rc;
}
