/*
 * src/cli/store_cmds.h: the store's subcommands of bin/skykeeper (import,
 * export, status) and what they share.  Each takes argv with argv[0] the
 * subcommand's name, returns the exit status (0 done, 1 refused or failed,
 * 2 usage), prints its result on stdout and its log (logfmt) on stderr.
 * Configuration comes from the same environment the daemon reads:
 * SKYKEEPER_DATA_DIR, DATABASE_URL, SESSION_SECRET, SKYKEEPER_LEASE_TTL,
 * SKYKEEPER_SESSIONS (the default session id is its first entry, else
 * "main"), LOG_LEVEL.
 */
#ifndef SK_CLI_STORE_CMDS_H
#define SK_CLI_STORE_CMDS_H

#include <stddef.h>
#include <ev.h>
#include "store/mirror.h"

/* cli/import.c */
int cli_import(int argc, char **argv);
/* cli/export.c */
int cli_export(int argc, char **argv);
/* cli/status.c */
int cli_status(int argc, char **argv);

/* cli/store_cli.c: shared by the three */
struct cli_store_env {
	const char *data_dir;          /* never NULL */
	const char *database_url;      /* NULL: none */
	const char *secret;            /* NULL: none */
	double lease_ttl;
	char session[65];              /* the default session id */
};

/* The environment; -1 (and a line on stderr) for a bad value. */
int cli_store_env(struct cli_store_env *e);

struct cli_store {
	struct ev_loop *loop;
	struct store *store;
	struct cli_store_env env;
};

/* Opens the store as the daemon would (read_only for export). */
int cli_store_open(struct cli_store *c, int read_only);
/* Drains (at most 30 s: a database that stays down loses the wait), then
 * closes; -1 when the drain did not finish. */
int cli_store_close(struct cli_store *c);

/* The store's calls, waited for (each bounded).  why gets the reason. */
int cli_store_restore(struct cli_store *c, const char *id,
    struct store_snap *out, char *why, size_t whylen);
int cli_store_save(struct cli_store *c, struct store_snap *snap, char *why,
    size_t whylen);
enum { CLI_LEASE_ACQUIRE, CLI_LEASE_RELEASE };
int cli_store_lease(struct cli_store *c, int op, const char *id,
    char *holder, size_t holderlen, double *expires_in);

/* "15550100001" from "15550100001:2@s.whatsapp.net" (out gets "" when
 * unpaired). */
void cli_store_account(const char *jid, char *out, size_t n);

#endif
