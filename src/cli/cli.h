/* src/cli/cli.h: the subcommands of bin/skykeeper. */
#ifndef SK_CLI_H
#define SK_CLI_H

/* cli/replay.c */
int cli_replay(int argc, char **argv);
/* cli/run.c */
int cli_run(int argc, char **argv);

/* What differs between `skykeeper run` and `skykeeper pair`. */
struct run_opts {
	int pair;               /* exit after the first login (0) or failure (1) */
	int force;              /* pair: replace a paired session */
	const char *session;    /* pair: the one session (else SKYKEEPER_SESSIONS) */
	const char *phone;      /* pair: pairing code for this number */
};
int run_main(const struct run_opts *opts);

/* cli/pair.c */
int cli_pair(int argc, char **argv);

#endif
