/*
 * src/cli/export.c: `skykeeper export --baileys DIR [--session ID]`: the
 * stored session back into a Baileys auth folder: DIR/creds.json (merged
 * into an existing one: fields we do not carry survive, see
 * store/baileys.c) and DIR/pre-key-N.json, which Baileys'
 * useMultiFileAuthState(DIR) loads.
 *
 * The store is opened read-only: export restores as the daemon would
 * (both copies judged, the newest valid one taken) but repairs nothing
 * and takes no lease.  It still takes the data-dir lock, so it cannot run
 * next to a daemon using the same SKYKEEPER_DATA_DIR (on Heroku a one-off
 * dyno has a data dir of its own and reads the database copy).
 */
#include <stdio.h>
#include <string.h>
#include "cli/store_cmds.h"
#include "store/baileys.h"
#include "store/file.h"
#include "store/import.h"

static void
usage(FILE *f)
{
	fprintf(f, "usage: skykeeper export --baileys DIR [--session ID]\n");
}

int
cli_export(int argc, char **argv)
{
	const char *dir = NULL, *id = NULL;
	struct cli_store c = { 0 };
	struct store_snap snap = { 0 };
	char why[512], acct[64];
	int rc, status = 1;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--baileys") == 0 && i + 1 < argc) {
			dir = argv[++i];
		} else if (strcmp(argv[i], "--session") == 0 && i + 1 < argc) {
			id = argv[++i];
		} else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			usage(stdout);
			return 0;
		} else {
			usage(stderr);
			return 2;
		}
	}
	if (dir == NULL) {
		usage(stderr);
		return 2;
	}
	if (cli_store_env(&c.env) < 0)
		return 2;
	if (id == NULL)
		id = c.env.session;
	if (store_file_id_valid(id, why, sizeof(why)) < 0) {
		fprintf(stderr, "skykeeper export: --session: %s\n", why);
		return 2;
	}
	if (cli_store_open(&c, 1) < 0)
		return 1;
	rc = cli_store_restore(&c, id, &snap, why, sizeof(why));
	if (rc == STORE_RESTORE_NEW) {
		fprintf(stderr, "skykeeper export: the store holds no session %s\n", id);
		goto out;
	}
	if (rc != 0) {
		fprintf(stderr, "skykeeper export: session %s: %s\n", id, why);
		goto out;
	}
	if (store_baileys_write(dir, &snap.creds, why, sizeof(why)) < 0 ||
	    store_prekeys_write(dir, snap.prekeys, snap.n_prekeys, why,
	    sizeof(why)) < 0) {
		fprintf(stderr, "skykeeper export: %s\n", why);
		goto out;
	}
	cli_store_account(snap.creds.me_jid, acct, sizeof(acct));
	printf("exported session=%s generation=%llu dir=%s account=%s jid=%s "
	    "prekeys=%zu\n", id, (unsigned long long)snap.generation, dir,
	    acct[0] ? acct : "-", snap.creds.me_jid[0] ? snap.creds.me_jid : "-",
	    snap.n_prekeys);
	status = 0;
out:
	if (cli_store_close(&c) < 0)
		status = 1;
	store_snap_clear(&snap);
	return status;
}
