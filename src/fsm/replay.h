/*
 * src/fsm/replay.h: replaying trace lines against compiled tables with the
 * real engine on a virtual clock.  Actions are recorded, not executed;
 * guards and computed delays take the values the trace recorded.
 */
#ifndef SK_REPLAY_H
#define SK_REPLAY_H

#include <stdint.h>
#include <stdio.h>
#include "fsm/fsm.h"

/* Replays one file.  Mismatches and errors go to `err` as FILE:LINE: ...;
 * `hits` (spec->nrules entries) accumulates rule coverage across calls.
 * Returns the number of mismatches and errors, or -1 if the file can't be
 * read. */
int replay_file(const struct fsm_spec *spec, const char *path,
    uint32_t *hits, FILE *err);

/* Same, over text already in memory (tests, fuzzing). */
int replay_text(const struct fsm_spec *spec, const char *name,
    const char *text, uint32_t *hits, FILE *err);

/* Prints "transitions covered: X/Y" and one line per uncovered
 * transition; returns the percentage covered (0..100). */
double replay_coverage(const struct fsm_spec *spec, const uint32_t *hits,
    FILE *out);

#endif
