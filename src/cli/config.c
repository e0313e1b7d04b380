/*
 * src/cli/config.c: every environment variable skykeeper reads, with its
 * default and its check.  One table for the durations keeps the checks,
 * the printout and docs/configuration.md in step; the few variables with
 * a shape of their own (URLs, lists, keys) get a function each.
 *
 * An error line names the variable and the form it wants and never echoes
 * a secret's value.  Cross-checks (jitter below its period, ping deadline
 * below the idle deadline...) come after the single values, so one typo
 * does not produce a cascade of lines.
 */
#include <ctype.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include "cli/config.h"
#include "log/log.h"
#include "net/http.h"
#include "store/file.h"
#include "wa/cert.h"

/* Baileys 7.0.0-rc14's client version, as src/cli/probe.c announces it. */
static const uint32_t cfg_default_version[3] = { 2, 3000, 1043857760 };

struct cfg_dur {
	const char *name;
	size_t off;
	double def, min, max;
	int min_open;         /* 1: the value must be > min, not >= */
};

#define D(name, field, def, min, max, open) \
	{ name, offsetof(struct cfg, field), def, min, max, open }
static const struct cfg_dur cfg_durs[] = {
	D("SKYKEEPER_KEEPALIVE",        keepalive,        25,    0, 3600, 1),
	D("SKYKEEPER_KEEPALIVE_JITTER", keepalive_jitter, 5,     0, 3600, 0),
	D("SKYKEEPER_IDLE_DEADLINE",    idle_deadline,    45,    0, 3600, 1),
	D("SKYKEEPER_PING_DEADLINE",    ping_deadline,    10,    0, 600,  1),
	D("SKYKEEPER_CONNECT_TIMEOUT",  connect_timeout,  20,    0, 600,  1),
	D("SKYKEEPER_HEAVY_EVERY",      heavy_every,      10800, 0, 604800, 1),
	D("SKYKEEPER_HEAVY_JITTER",     heavy_jitter,     1800,  0, 604800, 0),
	D("SKYKEEPER_BACKOFF_INITIAL",  backoff_initial,  1,     0, 3600, 1),
	D("SKYKEEPER_BACKOFF_FACTOR",   backoff_factor,   2,     1, 100,  0),
	D("SKYKEEPER_BACKOFF_MAX",      backoff_max,      60,    0, 86400, 1),
	D("SKYKEEPER_BACKOFF_RESET",    backoff_reset,    60,    0, 86400, 0),
	D("SKYKEEPER_REPLACED_FLOOR",   replaced_floor,   300,   0, 86400, 0),
	D("SKYKEEPER_LEASE_TTL",        lease_ttl,        30,    0, 3600, 1),
	D("SKYKEEPER_DRAIN_BUDGET",     drain_budget,     20,    0, 30,   1),
	D("SKYKEEPER_METRICS_EVERY",    metrics_every,    60,    0, 86400, 1),
	D("SKYKEEPER_APP_URL_EVERY",    app_url_every,    1200,  0, 86400, 1),
	/* WhatsApp Web's own timing: the first QR 60 s, each next one 20 s. */
	D("SKYKEEPER_QR_FIRST",         qr_first,         60,    0, 3600, 1),
	D("SKYKEEPER_QR_NEXT",          qr_next,          20,    0, 3600, 1),
	D("SKYKEEPER_PAIR_RETRY",       pair_retry,       30,    0, 86400, 1),
};
#undef D

const char *
cfg_getenv(const char *name, void *arg)
{
	(void)arg;
	return getenv(name);
}

static const char *
get(cfg_get_fn *fn, void *arg, const char *name)
{
	const char *v = fn(name, arg);

	return v != NULL && *v != '\0' ? v : NULL;   /* empty means unset */
}

/* One line per bad value.  `shown` is the value, or NULL for secrets. */
static void
bad(FILE *err, int *nbad, const char *var, const char *shown,
    const char *want)
{
	char v[96];
	size_t o = 0;

	for (; shown != NULL && *shown && o + 4 < sizeof(v); shown++)
		v[o++] = *shown == '"' || *shown == '\\' ||
		    (unsigned char)*shown < 0x20 ? '?' : *shown;
	v[o] = '\0';
	fprintf(err, "at=error msg=\"bad configuration\" var=%s value=\"%s\" "
	    "want=\"%s\"\n", var, shown == NULL && o == 0 ? "****" : v, want);
	(*nbad)++;
}

static int
parse_seconds(const char *s, double *out)
{
	char *e;
	double d;

	if (!isdigit((unsigned char)s[0]))
		return -1;
	d = strtod(s, &e);
	if (e == s || *e != '\0' || d != d)
		return -1;
	*out = d;
	return 0;
}

static int
parse_version(const char *s, uint32_t v[3])
{
	unsigned long x;
	char *e;

	for (int i = 0; i < 3; i++) {
		if (!isdigit((unsigned char)*s))
			return -1;
		x = strtoul(s, &e, 10);
		if (x > 0xffffffffUL || *e != (i < 2 ? '.' : '\0'))
			return -1;
		v[i] = (uint32_t)x;
		s = e + 1;
	}
	return 0;
}

/* scheme://host...: something after the scheme, no blanks. */
static int
url_ok(const char *s, const char *const *schemes)
{
	for (; *schemes != NULL; schemes++) {
		size_t n = strlen(*schemes);
		if (strncmp(s, *schemes, n) == 0 && s[n] != '\0' &&
		    s[n] != '/' && strpbrk(s, " \t\r\n") == NULL)
			return 1;
	}
	return 0;
}

int
cfg_phone_ok(const char *s)
{
	size_t n = strlen(s);

	if (n < 6 || n > 15 || s[0] == '0')
		return -1;
	for (; *s != '\0'; s++)
		if (!isdigit((unsigned char)*s))
			return -1;
	return 0;
}

static void
load_sessions(struct cfg *c, const char *list, FILE *err, int *nbad)
{
	char why[128], want[256];
	char *p, *tok, *save = NULL;

	if (strlen(list) >= sizeof(c->sessions_buf)) {
		bad(err, nbad, "SKYKEEPER_SESSIONS", list,
		    "a comma-separated list under 4096 bytes");
		return;
	}
	strcpy(c->sessions_buf, list);
	c->nsessions = 0;
	for (p = c->sessions_buf; (tok = strtok_r(p, ",", &save)) != NULL;
	    p = NULL) {
		while (*tok == ' ')
			tok++;
		for (char *e = tok + strlen(tok); e > tok && e[-1] == ' '; )
			*--e = '\0';
		if (store_file_id_valid(tok, why, sizeof(why)) < 0) {
			bad(err, nbad, "SKYKEEPER_SESSIONS", tok,
			    "comma-separated ids of 1-64 letters, digits, "
			    ". _ -, starting with a letter or digit");
			return;
		}
		for (size_t i = 0; i < c->nsessions; i++)
			if (strcmp(c->sessions[i], tok) == 0) {
				snprintf(want, sizeof(want), "each id once "
				    "('%s' is listed twice)", tok);
				bad(err, nbad, "SKYKEEPER_SESSIONS", list, want);
				return;
			}
		if (c->nsessions == CFG_SESSIONS_MAX) {
			bad(err, nbad, "SKYKEEPER_SESSIONS", list,
			    "at most 256 ids");
			return;
		}
		c->sessions[c->nsessions++] = tok;
	}
	if (c->nsessions == 0)
		bad(err, nbad, "SKYKEEPER_SESSIONS", list,
		    "comma-separated ids of 1-64 letters, digits, . _ -, "
		    "starting with a letter or digit");
}

int
cfg_load(struct cfg *c, cfg_get_fn *fn, void *arg, FILE *err)
{
	static const char *const ws[] = { "ws://", "wss://", NULL };
	static const char *const pg[] = { "postgres://", "postgresql://",
	    NULL };
	static const char *const web[] = { "https://", "http://", NULL };
	const char *v;
	char want[160];
	int nbad = 0;
	enum log_level lvl;

	memset(c, 0, sizeof(*c));
	c->data_dir = "./var";
	c->wa_url = "wss://web.whatsapp.com/ws/chat";
	memcpy(c->version, cfg_default_version, sizeof(c->version));
	memcpy(c->root_key, wa_cert_whatsapp_root, 32);
	c->log_level = LOG_INFO;
	c->log_level_name = "info";

	for (size_t i = 0; i < sizeof(cfg_durs) / sizeof(cfg_durs[0]); i++) {
		const struct cfg_dur *d = &cfg_durs[i];
		double *field = (double *)((char *)c + d->off), x;

		*field = d->def;
		if ((v = get(fn, arg, d->name)) == NULL)
			continue;
		if (parse_seconds(v, &x) < 0 || x > d->max ||
		    (d->min_open ? x <= d->min : x < d->min)) {
			if (d->off == offsetof(struct cfg, backoff_factor))
				snprintf(want, sizeof(want), "a number, "
				    "1 <= N <= %g", d->max);
			else
				snprintf(want, sizeof(want), "seconds, a number, "
				    "%g %s N %s %g", d->min, d->min_open ? "<" :
				    "<=", d->off == offsetof(struct cfg,
				    drain_budget) ? "<" : "<=", d->max);
			bad(err, &nbad, d->name, v, want);
			continue;
		}
		if (d->off == offsetof(struct cfg, drain_budget) && x >= 30) {
			bad(err, &nbad, d->name, v, "seconds, a number, "
			    "0 < N < 30 (Heroku kills the dyno at 30 s)");
			continue;
		}
		*field = x;
	}

	c->database_url = get(fn, arg, "DATABASE_URL");
	if (c->database_url != NULL && !url_ok(c->database_url, pg)) {
		char m[256];
		cfg_mask_url(c->database_url, m, sizeof(m));
		bad(err, &nbad, "DATABASE_URL", m,
		    "postgres://USER:PASSWORD@HOST:PORT/DB");
	}
	c->session_secret = get(fn, arg, "SESSION_SECRET");
	if (c->session_secret != NULL && strlen(c->session_secret) < 16)
		bad(err, &nbad, "SESSION_SECRET", NULL,
		    "at least 16 characters (e.g. openssl rand -hex 32)");
	if ((v = get(fn, arg, "SKYKEEPER_DATA_DIR")) != NULL) {
		if (strlen(v) >= 400)
			bad(err, &nbad, "SKYKEEPER_DATA_DIR", v,
			    "a directory path under 400 bytes");
		else
			c->data_dir = v;
	}
	load_sessions(c, (v = get(fn, arg, "SKYKEEPER_SESSIONS")) != NULL ?
	    v : "main", err, &nbad);
	if ((v = get(fn, arg, "SKYKEEPER_WA_URL")) != NULL) {
		if (!url_ok(v, ws))
			bad(err, &nbad, "SKYKEEPER_WA_URL", v,
			    "a ws:// or wss:// URL");
		else
			c->wa_url = v;
	}
	if ((v = get(fn, arg, "SKYKEEPER_WA_ROOT_KEY")) != NULL) {
		if (strlen(v) != 64 || wa_cert_parse_root_hex(v, c->root_key) < 0)
			bad(err, &nbad, "SKYKEEPER_WA_ROOT_KEY", v,
			    "64 hex digits (a 32-byte public key)");
		else {
			c->root_key_hex = v;
			c->root_overridden =
			    memcmp(c->root_key, wa_cert_whatsapp_root, 32) != 0;
		}
	}
	if ((v = get(fn, arg, "SKYKEEPER_WA_VERSION")) != NULL) {
		if (parse_version(v, c->version) < 0) {
			bad(err, &nbad, "SKYKEEPER_WA_VERSION", v,
			    "P.S.T, three numbers, e.g. 2.3000.1043857760");
			memcpy(c->version, cfg_default_version,
			    sizeof(c->version));
		} else
			c->version_overridden = 1;
	}
	if ((v = get(fn, arg, "SKYKEEPER_IDLE_STATUS")) != NULL) {
		if (strlen(v) > CFG_STATUS_MAX)
			bad(err, &nbad, "SKYKEEPER_IDLE_STATUS", v,
			    "text of at most 139 bytes");
		else
			c->idle_status = v;
	}
	if ((v = get(fn, arg, "HEROKU_APP_URL")) != NULL) {
		if (!url_ok(v, web))
			bad(err, &nbad, "HEROKU_APP_URL", v,
			    "an https:// URL");
		else
			c->heroku_app_url = v;
	}
	if ((v = get(fn, arg, "LOG_LEVEL")) != NULL) {
		if (log_level_parse(v, &lvl) < 0)
			bad(err, &nbad, "LOG_LEVEL", v,
			    "error, warn, info or debug");
		else {
			c->log_level = (int)lvl;
			c->log_level_name = v;
		}
	}
	if ((v = get(fn, arg, "PAIRING_NUMBER")) != NULL) {
		if (cfg_phone_ok(v) < 0)
			bad(err, &nbad, "PAIRING_NUMBER", v, "the phone number "
			    "in digits only, country code first, e.g. "
			    "15550001234 (no +, spaces or dashes)");
		else
			c->pairing_number = v;
	}
	if ((v = get(fn, arg, "SKYKEEPER_QR_PNG")) != NULL) {
		if (strlen(v) >= 400)
			bad(err, &nbad, "SKYKEEPER_QR_PNG", v,
			    "a file path under 400 bytes");
		else
			c->qr_png = v;
	}
	/* PORT is Heroku's for web dynos; a worker has nothing to listen on. */

	if (nbad > 0)
		return nbad;
	/* cross-checks: an unset side shows as its default */
#define SHOWN(n) (get(fn, arg, n) != NULL ? get(fn, arg, n) : "(default)")
	if (c->keepalive_jitter >= c->keepalive)
		bad(err, &nbad, "SKYKEEPER_KEEPALIVE_JITTER", SHOWN(
		    "SKYKEEPER_KEEPALIVE_JITTER"), "seconds, less than "
		    "SKYKEEPER_KEEPALIVE");
	if (c->heavy_jitter >= c->heavy_every)
		bad(err, &nbad, "SKYKEEPER_HEAVY_JITTER", SHOWN(
		    "SKYKEEPER_HEAVY_JITTER"), "seconds, less than "
		    "SKYKEEPER_HEAVY_EVERY");
	if (c->keepalive + c->keepalive_jitter >= c->idle_deadline)
		bad(err, &nbad, "SKYKEEPER_IDLE_DEADLINE", SHOWN(
		    "SKYKEEPER_IDLE_DEADLINE"), "seconds, more than "
		    "SKYKEEPER_KEEPALIVE + SKYKEEPER_KEEPALIVE_JITTER");
	if (c->backoff_initial > c->backoff_max)
		bad(err, &nbad, "SKYKEEPER_BACKOFF_INITIAL", SHOWN(
		    "SKYKEEPER_BACKOFF_INITIAL"), "seconds, at most "
		    "SKYKEEPER_BACKOFF_MAX");
	if (c->pairing_number != NULL && c->nsessions > 1)
		bad(err, &nbad, "PAIRING_NUMBER", c->pairing_number, "unset "
		    "when SKYKEEPER_SESSIONS lists several sessions (pair each "
		    "with: skykeeper pair --session ID --phone NUMBER)");
#undef SHOWN
	return nbad;
}

void
cfg_mask_url(const char *url, char *buf, size_t n)
{
	const char *scheme = strstr(url, "://"), *at, *colon;

	if (scheme == NULL || (at = strchr(scheme + 3, '@')) == NULL) {
		snprintf(buf, n, "%s", url);
		return;
	}
	colon = memchr(scheme + 3, ':', (size_t)(at - scheme - 3));
	if (colon == NULL) {
		snprintf(buf, n, "%s", url);
		return;
	}
	snprintf(buf, n, "%.*s:****%s", (int)(colon - url), url, at);
}

void
cfg_print(const struct cfg *c, FILE *out)
{
	char m[512];

	if (c->database_url != NULL)
		cfg_mask_url(c->database_url, m, sizeof(m));
	fprintf(out, "DATABASE_URL=\"%s\"\n", c->database_url ? m :
	    "(unset: file copy only)");
	fprintf(out, "SESSION_SECRET=\"%s\"\n", c->session_secret ?
	    "**** (set)" : "(unset: snapshots stored plain)");
	fprintf(out, "SKYKEEPER_DATA_DIR=\"%s\"\n", c->data_dir);
	fprintf(out, "SKYKEEPER_SESSIONS=\"");
	for (size_t i = 0; i < c->nsessions; i++)
		fprintf(out, "%s%s", i ? "," : "", c->sessions[i]);
	fprintf(out, "\"\n");
	fprintf(out, "SKYKEEPER_WA_URL=\"%s\"\n", c->wa_url);
	fprintf(out, "SKYKEEPER_WA_ROOT_KEY=\"%s\"\n", c->root_overridden ?
	    c->root_key_hex : "(WhatsApp's own root key)");
	fprintf(out, "SKYKEEPER_WA_VERSION=\"%u.%u.%u\"\n", c->version[0],
	    c->version[1], c->version[2]);
	for (size_t i = 0; i < sizeof(cfg_durs) / sizeof(cfg_durs[0]); i++)
		fprintf(out, "%s=%g\n", cfg_durs[i].name,
		    *(const double *)((const char *)c + cfg_durs[i].off));
	fprintf(out, "SKYKEEPER_IDLE_STATUS=\"%s\"\n", c->idle_status ?
	    c->idle_status : "(unset: the profile text is never touched)");
	if (c->heroku_app_url != NULL)
		net_http_redact(c->heroku_app_url, m, sizeof(m));
	fprintf(out, "HEROKU_APP_URL=\"%s\"\n", c->heroku_app_url ?
	    m : "(unset)");
	fprintf(out, "PAIRING_NUMBER=\"%s\"\n", c->pairing_number ?
	    c->pairing_number : "(unset: pair by QR code)");
	fprintf(out, "SKYKEEPER_QR_PNG=\"%s\"\n", c->qr_png ? c->qr_png :
	    "(unset: QR only in the logs)");
	fprintf(out, "LOG_LEVEL=\"%s\"\n", c->log_level_name);
}

int
cli_config(int argc, char **argv)
{
	struct cfg c;

	(void)argv;
	if (argc > 1) {
		fprintf(stderr, "usage: skykeeper config\n");
		return 2;
	}
	if (cfg_load(&c, cfg_getenv, NULL, stderr) > 0)
		return 2;
	cfg_print(&c, stdout);
	return 0;
}
