/*
 * src/main.c: bin/skykeeper, one binary with subcommands.
 */
#include <stdio.h>
#include <string.h>
#include "cli/cli.h"
#include "cli/config.h"
#include "cli/probe.h"
#include "cli/store_cmds.h"
#include "lifecycle_fsm.h"

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: skykeeper COMMAND [ARGS]\n"
	    "\n"
	    "  run                       keep the configured sessions connected\n"
	    "  pair [--session ID] [--phone NUMBER] [--force]\n"
	    "                            link a new device (QR code or pairing code), then exit\n"
	    "  replay [--min-coverage PCT] FILE...\n"
	    "                            replay lifecycle traces (or daemon logs)\n"
	    "  config                    print the effective configuration (secrets masked)\n"
	    "  import (--baileys DIR | --session-id [TEXT]) [--session ID] [--force]\n"
	    "                            put a Baileys auth state into the store\n"
	    "  export --baileys DIR [--session ID]\n"
	    "                            write a stored session as a Baileys auth folder\n"
	    "  status [--json]           one line per stored session\n"
	    "  probe --creds DIR [--url URL] [--root-key HEX|--no-cert-check]\n"
	    "                            log in once, send 3 pings, print each step\n"
	    "  version                   print the version and the lifecycle spec hash\n");
}

int
main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	if (strcmp(argv[1], "run") == 0)
		return cli_run(argc - 1, argv + 1);
	if (strcmp(argv[1], "pair") == 0)
		return cli_pair(argc - 1, argv + 1);
	if (strcmp(argv[1], "import") == 0)
		return cli_import(argc - 1, argv + 1);
	if (strcmp(argv[1], "export") == 0)
		return cli_export(argc - 1, argv + 1);
	if (strcmp(argv[1], "status") == 0)
		return cli_status(argc - 1, argv + 1);
	if (strcmp(argv[1], "config") == 0)
		return cli_config(argc - 1, argv + 1);
	if (strcmp(argv[1], "probe") == 0)
		return cli_probe(argc - 1, argv + 1);
	if (strcmp(argv[1], "replay") == 0)
		return cli_replay(argc - 1, argv + 1);
	if (strcmp(argv[1], "version") == 0) {
		printf("skykeeper %s lifecycle-spec=%s trace-version=%d\n",
		    SK_VERSION, lifecycle_spec.hash, FSM_TRACE_VERSION);
		return 0;
	}
	if (strcmp(argv[1], "help") == 0 || strcmp(argv[1], "--help") == 0) {
		usage(stdout);
		return 0;
	}
	fprintf(stderr, "skykeeper: unknown command '%s'\n", argv[1]);
	usage(stderr);
	return 2;
}
