/*
 * src/cli/import.c: `skykeeper import`: a Baileys auth state into the
 * store, as the daemon's snapshot of a session.
 *
 *   skykeeper import --baileys DIR        [--session ID] [--force]
 *   skykeeper import --session-id [TEXT]  [--session ID] [--force]
 *
 * --baileys reads DIR/creds.json and DIR/pre-key-N.json (what Baileys'
 * useMultiFileAuthState writes); --session-id reads the "session id"
 * string bots hand out (TEXT, or $SESSION_ID without TEXT; the forms are
 * in docs/import.md).  The snapshot goes through the configured store,
 * like a save of the daemon: file copy and, with DATABASE_URL, the
 * database, under the session's lease (taken first, released after).
 * An existing session is replaced only with --force.  Prints one line:
 * what was imported (the account's phone number and name; never a key).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <dirent.h>
#include <openssl/crypto.h>
#include "cli/store_cmds.h"
#include "store/baileys.h"
#include "store/file.h"
#include "store/import.h"

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: skykeeper import --baileys DIR [--session ID] [--force]\n"
	    "       skykeeper import --session-id [TEXT] [--session ID] [--force]\n"
	    "  --baileys DIR     a Baileys auth folder (creds.json, pre-key-N.json)\n"
	    "  --session-id TEXT a bot's session id string (without TEXT: $SESSION_ID)\n"
	    "  --session ID      the store's session id (default: the first of\n"
	    "                    SKYKEEPER_SESSIONS, else \"main\")\n"
	    "  --force           replace a session the store already holds\n");
}

/* Removes the files import wrote into its temporary folder, then it. */
static void
rm_tmp(const char *dir)
{
	char path[4096 + 256 + 2];
	struct dirent *e;
	DIR *d = opendir(dir);

	while (d != NULL && (e = readdir(d)) != NULL) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		unlink(path);
	}
	if (d != NULL)
		closedir(d);
	rmdir(dir);
}

/* DIR -> creds and pre-keys. */
static int
read_dir(const char *dir, struct store_snap *s, char *why, size_t whylen)
{
	if (store_baileys_read(dir, &s->creds, why, whylen) < 0)
		return -1;
	return store_prekeys_read(dir, &s->prekeys, &s->n_prekeys, why, whylen);
}

/* The session id string -> a temporary Baileys folder -> creds. */
static int
read_session_id(const char *text, struct store_snap *s, struct store_import *im,
    char *why, size_t whylen)
{
	char tmp[] = "/tmp/skykeeper-import.XXXXXX";
	const char *base = getenv("TMPDIR");
	char dir[4096];
	int rc;

	if (store_sessionid_decode(text, im, why, whylen) < 0)
		return -1;
	if (base != NULL && base[0] != '\0')
		snprintf(dir, sizeof(dir), "%s/skykeeper-import.XXXXXX", base);
	else
		snprintf(dir, sizeof(dir), "%s", tmp);
	if (mkdtemp(dir) == NULL) {   /* 0700 */
		snprintf(why, whylen, "cannot make a temporary folder");
		return -1;
	}
	rc = store_import_write_dir(im, dir, why, whylen);
	if (rc == 0)
		rc = read_dir(dir, s, why, whylen);
	rm_tmp(dir);
	return rc;
}

int
cli_import(int argc, char **argv)
{
	const char *bdir = NULL, *text = NULL, *id = NULL;
	struct cli_store c = { 0 };
	struct store_snap snap = { 0 }, old = { 0 };
	struct store_import im = { 0 };
	char why[512], holder[160], acct[64];
	int use_sid = 0, force = 0, rc, leased = 0, status = 1, existed = 0;
	uint64_t old_gen = 0;
	double exp = 0;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--baileys") == 0 && i + 1 < argc) {
			bdir = argv[++i];
		} else if (strcmp(argv[i], "--session-id") == 0) {
			use_sid = 1;
			if (i + 1 < argc && strncmp(argv[i + 1], "--", 2) != 0)
				text = argv[++i];
		} else if (strcmp(argv[i], "--session") == 0 && i + 1 < argc) {
			id = argv[++i];
		} else if (strcmp(argv[i], "--force") == 0) {
			force = 1;
		} else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			usage(stdout);
			return 0;
		} else {
			usage(stderr);
			return 2;
		}
	}
	if ((bdir != NULL) == use_sid) {
		fprintf(stderr, "skykeeper import: give one of --baileys DIR and "
		    "--session-id\n");
		usage(stderr);
		return 2;
	}
	if (use_sid && text == NULL && ((text = getenv("SESSION_ID")) == NULL ||
	    text[0] == '\0')) {
		fprintf(stderr, "skykeeper import: --session-id without TEXT reads "
		    "SESSION_ID, which is not set\n");
		return 2;
	}
	if (cli_store_env(&c.env) < 0)
		return 2;
	if (id == NULL)
		id = c.env.session;
	if (store_file_id_valid(id, why, sizeof(why)) < 0) {
		fprintf(stderr, "skykeeper import: --session: %s\n", why);
		return 2;
	}

	/* read everything before touching the store */
	rc = bdir != NULL ? read_dir(bdir, &snap, why, sizeof(why)) :
	    read_session_id(text, &snap, &im, why, sizeof(why));
	if (rc < 0) {
		fprintf(stderr, "skykeeper import: %s\n", why);
		goto out;
	}
	snprintf(snap.session_id, sizeof(snap.session_id), "%s", id);

	if (cli_store_open(&c, 0) < 0)
		goto out;
	if (store_db_enabled(c.store)) {
		/* a save with fence 0 is refused on a row ever leased, and a
		 * running daemon must not be overwritten under it */
		rc = cli_store_lease(&c, CLI_LEASE_ACQUIRE, id, holder,
		    sizeof(holder), &exp);
		if (rc == STORE_LEASE_BUSY) {
			fprintf(stderr, "skykeeper import: session %s is leased by %s "
			    "for %.0f s more: a running skykeeper owns it; stop it "
			    "first (or wait for the lease to expire)\n", id, holder, exp);
			goto out;
		}
		if (rc != 0) {
			fprintf(stderr, "skykeeper import: cannot take the lease of "
			    "session %s: %s\n", id, store_strerror(rc));
			goto out;
		}
		leased = 1;
	}
	rc = cli_store_restore(&c, id, &old, why, sizeof(why));
	if (rc == 0) {
		existed = 1;
		old_gen = old.generation;
		cli_store_account(old.creds.me_jid, acct, sizeof(acct));
		if (!force) {
			fprintf(stderr, "skykeeper import: session %s already exists "
			    "(generation %llu, account %s): use --force to replace it\n",
			    id, (unsigned long long)old_gen, acct[0] ? acct : "unpaired");
			goto out;
		}
	} else if (rc == STORE_EDAMAGED && force) {
		/* the store knows the damaged copies' generation: the save goes
		 * above it */
		existed = 1;
	} else if (rc != STORE_RESTORE_NEW) {
		fprintf(stderr, "skykeeper import: session %s: %s\n", id, why);
		goto out;
	}
	snap.generation = old_gen;
	rc = cli_store_save(&c, &snap, why, sizeof(why));
	if (rc < 0) {
		fprintf(stderr, "skykeeper import: session %s not saved: %s\n", id,
		    why);
		goto out;
	}
	cli_store_account(snap.creds.me_jid, acct, sizeof(acct));
	printf("imported session=%s generation=%llu source=%s", id,
	    (unsigned long long)snap.generation, bdir ? "baileys-dir" : "session-id");
	if (!bdir)
		printf(" form=\"%s\" prefix=\"%s\" separator=\"%s\"", im.form,
		    im.prefix, im.sep);
	printf(" account=%s jid=%s lid=%s name=\"%s\" platform=%s prekeys=%zu "
	    "paired=%s copies=file%s encrypted=%s%s\n", acct[0] ? acct : "-",
	    snap.creds.me_jid[0] ? snap.creds.me_jid : "-",
	    snap.creds.me_lid[0] ? snap.creds.me_lid : "-", snap.creds.push_name,
	    snap.creds.platform[0] ? snap.creds.platform : "-", snap.n_prekeys,
	    snap.creds.me_jid[0] ? "yes" : "no",
	    store_db_enabled(c.store) ? ",pg" : "", c.env.secret ? "yes" : "no",
	    existed ? " replaced=yes" : "");
	if (snap.creds.me_jid[0] == '\0')
		fprintf(stderr, "skykeeper import: note: these credentials were "
		    "never paired (no me.id): the session needs pairing\n");
	status = 0;
out:
	if (leased && cli_store_lease(&c, CLI_LEASE_RELEASE, id, NULL, 0, NULL) != 0)
		fprintf(stderr, "skykeeper import: the lease of %s was not "
		    "released; it expires in %.0f s\n", id, c.env.lease_ttl);
	if (c.store != NULL && cli_store_close(&c) < 0)
		status = 1;
	store_snap_clear(&snap);
	store_snap_clear(&old);
	store_import_free(&im);
	return status;
}
