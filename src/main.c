/*
 * src/main.c: bin/skykeeper, one binary with subcommands.
 */
#include <stdio.h>
#include <string.h>
#include "cli/cli.h"
#include "cli/probe.h"
#include "lifecycle_fsm.h"

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: skykeeper COMMAND [ARGS]\n"
	    "\n"
	    "  run                       keep the configured sessions connected\n"
	    "  replay [--min-coverage PCT] FILE...\n"
	    "                            replay lifecycle traces (or daemon logs)\n"
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
