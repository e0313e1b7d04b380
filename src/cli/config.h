/*
 * src/cli/config.h: the daemon's configuration, from the environment only
 * (12-factor).  Every variable is read and validated once, at start, before
 * any connection: cfg_load reports each bad value on its own line naming
 * the variable and the form it wants, and the caller exits 2.
 *
 * The lookup function is injected so tests can feed an environment without
 * touching the process's own (cfg_getenv is the real one).
 */
#ifndef SK_CLI_CONFIG_H
#define SK_CLI_CONFIG_H

#include <stdint.h>
#include <stdio.h>

#define CFG_SESSIONS_MAX 256
#define CFG_STATUS_MAX   139   /* WhatsApp's "about" text limit */

struct cfg {
	const char *database_url;     /* NULL: file copy only */
	const char *session_secret;   /* NULL: snapshots stored plain */
	const char *data_dir;
	const char *wa_url;
	const char *root_key_hex;     /* NULL: WhatsApp's own root */
	uint8_t root_key[32];
	int root_overridden;
	uint32_t version[3];
	int version_overridden;
	/* seconds */
	double keepalive, keepalive_jitter, idle_deadline, ping_deadline;
	double connect_timeout, heavy_every, heavy_jitter;
	double backoff_initial, backoff_factor, backoff_max, backoff_reset;
	double replaced_floor, lease_ttl, drain_budget, metrics_every;
	double app_url_every;         /* HEROKU_APP_URL ping interval */
	double qr_first, qr_next;     /* how long the first / each next QR ref lives */
	double pair_retry;            /* pause after an unscanned or rejected pairing */
	const char *pairing_number;   /* NULL: QR pairing; else digits, country code first */
	const char *qr_png;           /* NULL: no PNG of the QR */
	const char *idle_status;      /* NULL: never touch the "about" text */
	const char *heroku_app_url;   /* NULL: no ping (src/net/http.c) */
	int log_level;                /* enum log_level */
	const char *log_level_name;
	size_t nsessions;
	char *sessions[CFG_SESSIONS_MAX];
	char sessions_buf[4096];
};

typedef const char *cfg_get_fn(const char *name, void *arg);
cfg_get_fn cfg_getenv;

/* Fills c with defaults overridden by the environment.  Returns the number
 * of bad values (0: usable); each one is one line on err. */
int cfg_load(struct cfg *c, cfg_get_fn *get, void *arg, FILE *err);
/* The effective configuration, one logfmt line per variable, secrets
 * masked (DATABASE_URL keeps its host, SESSION_SECRET shows only "set"). */
void cfg_print(const struct cfg *c, FILE *out);
/* 0 when s is a phone number for PAIRING_NUMBER / --phone: 6-15 digits,
 * country code first, no leading 0; -1 otherwise. */
int cfg_phone_ok(const char *s);
/* DATABASE_URL with the password replaced by "****", for logs. */
void cfg_mask_url(const char *url, char *buf, size_t n);
/* `skykeeper config` */
int cli_config(int argc, char **argv);

#endif
