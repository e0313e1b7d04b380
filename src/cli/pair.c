/*
 * src/cli/pair.c: `skykeeper pair [--session ID] [--phone NUMBER] [--force]`,
 * interactive pairing for a one-off dyno (`heroku run bin/skykeeper pair`).
 *
 * It is the daemon (run.c) with one session and a different ending: the
 * QR codes or the pairing code appear on the terminal exactly as they
 * would in the worker's logs, and the process exits 0 once the first
 * login after pairing succeeded (the session saved to the configured store
 * and its lease released, through the usual drain), or 1 with the reason
 * when the attempt failed: nobody scanned in time, the phone's answer did
 * not verify, the session is in use by another process (the worker), or
 * it is already paired (--force replaces it).
 */
#include <stdio.h>
#include <string.h>
#include "cli/cli.h"
#include "cli/config.h"
#include "store/file.h"

static int
usage(FILE *f)
{
	fprintf(f, "usage: skykeeper pair [--session ID] [--phone NUMBER] "
	    "[--force]\n"
	    "  --session ID     the session to pair (default: the only one in "
	    "SKYKEEPER_SESSIONS, or main)\n"
	    "  --phone NUMBER   pair with a code typed on that phone instead "
	    "of a QR code\n"
	    "                   (digits, country code first, e.g. "
	    "15550001234)\n"
	    "  --force          replace a session that is already paired\n"
	    "Configured by the environment like skykeeper run (see skykeeper "
	    "config).\n");
	return 2;
}

int
cli_pair(int argc, char **argv)
{
	struct run_opts o;
	char why[128];

	memset(&o, 0, sizeof(o));
	o.pair = 1;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--force") == 0)
			o.force = 1;
		else if (strcmp(argv[i], "--session") == 0 && i + 1 < argc)
			o.session = argv[++i];
		else if (strcmp(argv[i], "--phone") == 0 && i + 1 < argc)
			o.phone = argv[++i];
		else if (strcmp(argv[i], "-h") == 0 ||
		    strcmp(argv[i], "--help") == 0) {
			usage(stdout);
			return 0;
		} else
			return usage(stderr);
	}
	if (o.session != NULL &&
	    store_file_id_valid(o.session, why, sizeof(why)) < 0) {
		fprintf(stderr, "skykeeper pair: --session: %s\n", why);
		return 2;
	}
	if (o.phone != NULL && cfg_phone_ok(o.phone) < 0) {
		fprintf(stderr, "skykeeper pair: --phone: want the phone number "
		    "in digits only, country code first, e.g. 15550001234 "
		    "(no +, spaces or dashes)\n");
		return 2;
	}
	return run_main(&o);
}
