/*
 * gen/spec.h: the in-memory model of a lifecycle spec, shared by the
 * scanner, parser, checks and every emitter of fsmc.
 *
 * The model keeps source positions for everything a check can complain
 * about, because every diagnostic must read FILE:LINE:COL.
 */
#ifndef FSMC_SPEC_H
#define FSMC_SPEC_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define SPEC_MAX_NAMES   128  /* per namespace; the engine indexes with uint8 */
#define SPEC_MAX_RULES   1024
#define SPEC_MAX_ACTS    16   /* actions in one list */
#define SPEC_MAX_EVERY   4    /* periodic activities per state */

struct pos { int line, col; };

/* A name as written, with where it was written. */
struct ref { char name[64]; struct pos pos; };

enum dur_kind { DUR_NONE, DUR_CONST, DUR_CFG, DUR_DELAY };
struct dur {
	enum dur_kind kind;
	double seconds;   /* DUR_CONST */
	struct ref ref;   /* DUR_CFG: config name; DUR_DELAY: delay function */
	int index;        /* resolved index into cfg[] or delays[] */
};

struct actlist { int n; struct ref acts[SPEC_MAX_ACTS]; int idx[SPEC_MAX_ACTS]; };

struct every {
	struct dur period, jitter;
	struct actlist acts;
	struct pos pos;
};

struct state {
	struct ref decl;
	int final;
	int has_timeout;
	struct dur timeout;
	struct ref timeout_target;
	int timeout_target_idx;
	int timeout_reenter;  /* 'timeout D -> SELF reenter': restart the timer only */
	struct actlist timeout_acts;
	struct pos timeout_pos;
	int has_entry, has_exit;
	struct actlist entry, exit;
	struct pos entry_pos, exit_pos;
	int nevery;
	struct every every[SPEC_MAX_EVERY];
};

enum rule_kind { RULE_TRANS, RULE_IGNORE, RULE_INVALID };

/* One rule line; sources and events may be lists or '*'. */
struct rule {
	enum rule_kind kind;
	struct pos pos;
	int src_star, ev_star;
	int nsrc, nev;
	struct ref src[SPEC_MAX_NAMES];
	struct ref ev[SPEC_MAX_NAMES];
	int has_guard;
	struct ref guard;
	int guard_idx;
	struct ref target;
	int target_idx;
	int reenter;
	int from_timeout;  /* synthesised from a state's timeout line */
	struct actlist acts;
};

struct names { int n; struct ref v[SPEC_MAX_NAMES]; };

/* A resolved cell of the total table: which rules apply, in order. */
struct cell {
	enum rule_kind kind;  /* of the first rule; TRANS cells may hold guarded chains */
	int nrules;
	int rules[8];         /* indices into spec.rules, in spec order */
};

struct spec {
	const char *file;
	struct ref machine;
	struct ref initial;
	int initial_idx;
	struct ref shutdown;  /* the event that must lead every state to a final one */
	int shutdown_idx;
	struct names events, actions, guards, delays, cfgs;
	int nstates;
	struct state states[SPEC_MAX_NAMES];
	int nrules;
	struct rule *rules;   /* SPEC_MAX_RULES entries */
	int timeout_ev;       /* index of the implicit 'timeout' event, or -1 */
	struct cell *cells;   /* nstates * events.n, filled by spec_check */
	uint64_t hash;        /* of the resolved tables, see spec_hash */
	int nerrors;
};

/* scan.rl / parse.c */
int spec_parse(struct spec *s, const char *file, const char *text, size_t len);
void spec_free(struct spec *s);

/* check.c: resolves names, builds cells, runs every check. */
int spec_check(struct spec *s);
struct cell *spec_cell(const struct spec *s, int state, int ev);

/* Diagnostics: FILE:LINE:COL: error: ... on stderr; counts errors. */
void spec_error(struct spec *s, struct pos p, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* emit_*.c */
int emit_c(const struct spec *s, const char *dir);
int emit_dot(const struct spec *s, FILE *out);
int emit_mermaid(const struct spec *s, FILE *out);
int emit_promela(const struct spec *s, FILE *out);

/* emit_dot.c: what an edge is, shared so the two pictures agree. */
const char *emit_guard_label(const struct spec *s, int si, int ev, int k);
int emit_same_edge(const struct spec *s, int si, int e1, int k1, int e2,
    int k2);
int emit_edge_leader(const struct spec *s, int si, int ev, int k);

/* Helpers shared by emitters. */
const char *spec_dur_str(const struct dur *d, char *buf, size_t n);
int spec_name_index(const struct names *ns, const char *name);
int spec_state_index(const struct spec *s, const char *name);

#endif
