/* src/cli/cli.h: the subcommands of bin/skykeeper. */
#ifndef SK_CLI_H
#define SK_CLI_H

/* cli/replay.c */
int cli_replay(int argc, char **argv);
/* cli/run.c */
int cli_run(int argc, char **argv);

#endif
