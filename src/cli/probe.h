/* src/cli/probe.h: `skykeeper probe`, the one-shot debug client. */
#ifndef SK_CLI_PROBE_H
#define SK_CLI_PROBE_H

/* cli/probe.c: argv[0] is "probe".  Exit 0: logged in and three pings
 * answered; 1: a step failed (named in the last line); 2: bad usage. */
int cli_probe(int argc, char **argv);

#endif
