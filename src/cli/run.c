/*
 * src/cli/run.c: `skykeeper run`.
 *
 * The daemon needs the WhatsApp transport (wire protocol, issue "WhatsApp
 * Web wire protocol") and the session store before it can keep anything
 * open.  Until they exist this command says so and fails, rather than
 * pretending to hold a session.
 */
#include <stdio.h>
#include "cli/cli.h"
#include "lifecycle_fsm.h"

int
cli_run(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	fprintf(stderr,
	    "at=error msg=\"skykeeper run is not available yet: the WhatsApp "
	    "transport and session store are not built\" fsm=lifecycle spec=%s\n",
	    lifecycle_spec.hash);
	return 2;
}
