/*
 * src/cli/replay.c: `skykeeper replay [--min-coverage PCT] FILE...`
 *
 * Replays traces (hand-written, or the daemon's own log as it is) against
 * the lifecycle tables compiled into this binary.  Exit 0 when every line
 * matches and coverage reaches the minimum, 1 otherwise, 2 on usage errors.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cli/cli.h"
#include "fsm/replay.h"
#include "lifecycle_fsm.h"

int
cli_replay(int argc, char **argv)
{
	const struct fsm_spec *spec = &lifecycle_spec;
	double min_cov = -1, cov;
	int errors = 0, files = 0;
	uint32_t *hits;

	hits = calloc(spec->nrules, sizeof(*hits));
	if (hits == NULL)
		return 2;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--min-coverage") == 0 && i + 1 < argc) {
			char *end;
			min_cov = strtod(argv[++i], &end);
			if (*end || min_cov < 0 || min_cov > 100) {
				fprintf(stderr, "replay: --min-coverage takes a percentage 0-100\n");
				free(hits);
				return 2;
			}
			continue;
		}
		if (argv[i][0] == '-' && argv[i][1] != '\0') {
			fprintf(stderr, "usage: skykeeper replay [--min-coverage PCT] FILE...\n");
			free(hits);
			return 2;
		}
		int rc = strcmp(argv[i], "-") == 0 ?
		    -1 : replay_file(spec, argv[i], hits, stderr);
		if (strcmp(argv[i], "-") == 0) {
			/* stdin: read it whole, so a live log can be piped in */
			size_t cap = 1 << 16, n = 0;
			char *buf = malloc(cap);
			while (buf != NULL) {
				size_t r = fread(buf + n, 1, cap - n - 1, stdin);
				n += r;
				if (r == 0)
					break;
				if (n + 1 == cap) {
					char *nb = realloc(buf, cap *= 2);
					if (nb == NULL) {
						free(buf);
						buf = NULL;
					} else {
						buf = nb;
					}
				}
			}
			if (buf == NULL) {
				fprintf(stderr, "replay: out of memory\n");
				free(hits);
				return 2;
			}
			buf[n] = '\0';
			rc = replay_text(spec, "<stdin>", buf, hits, stderr);
			free(buf);
		}
		files++;
		errors += rc < 0 ? 1 : rc;
	}
	if (files == 0) {
		fprintf(stderr, "usage: skykeeper replay [--min-coverage PCT] FILE...\n");
		free(hits);
		return 2;
	}
	cov = replay_coverage(spec, hits, stdout);
	free(hits);
	printf("replay: %d file%s, %d mismatch%s\n", files, files == 1 ? "" : "s",
	    errors, errors == 1 ? "" : "es");
	if (min_cov >= 0 && cov + 1e-9 < min_cov) {
		fprintf(stderr, "replay: coverage %.1f%% is below the required %.1f%%\n",
		    cov, min_cov);
		return 1;
	}
	return errors ? 1 : 0;
}
