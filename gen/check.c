/*
 * gen/check.c: name resolution, the total (state x event) table and every
 * static check of a spec.  Errors are collected, not fatal, so one run of
 * `fsmc check` shows all of them in source order of discovery.
 */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include "spec.h"

void
spec_error(struct spec *s, struct pos p, const char *fmt, ...)
{
	va_list ap;
	fprintf(stderr, "%s:%d:%d: error: ", s->file, p.line, p.col);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	s->nerrors++;
}

int
spec_name_index(const struct names *ns, const char *name)
{
	for (int i = 0; i < ns->n; i++)
		if (strcmp(ns->v[i].name, name) == 0)
			return i;
	return -1;
}

int
spec_state_index(const struct spec *s, const char *name)
{
	for (int i = 0; i < s->nstates; i++)
		if (strcmp(s->states[i].decl.name, name) == 0)
			return i;
	return -1;
}

struct cell *
spec_cell(const struct spec *s, int state, int ev)
{
	return &s->cells[state * s->events.n + ev];
}

static void
check_dups(struct spec *s, const struct names *ns, const char *what)
{
	for (int i = 0; i < ns->n; i++)
		for (int j = 0; j < i; j++)
			if (strcmp(ns->v[i].name, ns->v[j].name) == 0) {
				spec_error(s, ns->v[i].pos,
				    "duplicate %s '%s' (first at line %d)", what,
				    ns->v[i].name, ns->v[j].pos.line);
				break;
			}
}

static int
resolve(struct spec *s, const struct names *ns, const struct ref *r,
    const char *what)
{
	int i = spec_name_index(ns, r->name);
	if (i < 0)
		spec_error(s, r->pos, "unknown %s '%s'", what, r->name);
	return i;
}

static int
resolve_state(struct spec *s, const struct ref *r)
{
	int i = spec_state_index(s, r->name);
	if (i < 0)
		spec_error(s, r->pos, "unknown state '%s'", r->name);
	return i;
}

static void
resolve_acts(struct spec *s, struct actlist *a)
{
	for (int i = 0; i < a->n; i++)
		a->idx[i] = resolve(s, &s->actions, &a->acts[i], "action");
}

static void
resolve_dur(struct spec *s, struct dur *d)
{
	if (d->kind == DUR_CFG)
		d->index = resolve(s, &s->cfgs, &d->ref, "config value");
	else if (d->kind == DUR_DELAY)
		d->index = resolve(s, &s->delays, &d->ref, "delay");
}

/* The timeout event is implicit: a state's 'timeout' line defines it. */
static void
add_timeout_event(struct spec *s)
{
	struct pos first = { 0, 0 };
	int any = 0;

	for (int i = 0; i < s->nstates; i++)
		if (s->states[i].has_timeout && !any) {
			first = s->states[i].timeout_pos;
			any = 1;
		}
	int declared = spec_name_index(&s->events, "timeout");
	if (declared >= 0) {
		spec_error(s, s->events.v[declared].pos,
		    "'timeout' is reserved: a state's timeout line defines it");
		return;
	}
	if (!any)
		return;
	if (s->events.n >= SPEC_MAX_NAMES) {
		spec_error(s, first, "too many events (at most %d)", SPEC_MAX_NAMES);
		return;
	}
	s->timeout_ev = s->events.n;
	strcpy(s->events.v[s->events.n].name, "timeout");
	s->events.v[s->events.n].pos = first;
	s->events.n++;
}

static int
append_rule(struct spec *s, struct rule **out)
{
	if (s->nrules >= SPEC_MAX_RULES) {
		spec_error(s, (struct pos){ 1, 1 }, "too many rules (at most %d)",
		    SPEC_MAX_RULES);
		return -1;
	}
	*out = &s->rules[s->nrules++];
	memset(*out, 0, sizeof(**out));
	return 0;
}

/* Turns each timeout line into an ordinary rule for (state, timeout), and
 * marks (state, timeout) invalid where no timer exists: the engine can never
 * raise it there, so a trace that claims it is wrong. */
static void
synthesise_timeout_rules(struct spec *s)
{
	if (s->timeout_ev < 0)
		return;
	for (int i = 0; i < s->nstates; i++) {
		struct state *st = &s->states[i];
		struct rule *r;
		if (append_rule(s, &r) < 0)
			return;
		r->pos = st->has_timeout ? st->timeout_pos : st->decl.pos;
		r->from_timeout = st->has_timeout ? 1 : 2;
		r->nsrc = r->nev = 1;
		r->src[0] = st->decl;
		strcpy(r->ev[0].name, "timeout");
		r->ev[0].pos = r->pos;
		if (st->has_timeout) {
			r->kind = RULE_TRANS;
			r->target = st->timeout_target;
			r->reenter = st->timeout_reenter;
			r->acts = st->timeout_acts;
		} else {
			r->kind = RULE_INVALID;
		}
	}
}

/* Duplicates need nothing resolved, so they are reported even when the
 * parse failed: one run shows them together with syntax errors. */
static void
check_all_dups(struct spec *s)
{
	check_dups(s, &s->events, "event");
	check_dups(s, &s->actions, "action");
	check_dups(s, &s->guards, "guard");
	check_dups(s, &s->delays, "delay");
	check_dups(s, &s->cfgs, "config value");
	for (int i = 0; i < s->nstates; i++)
		for (int j = 0; j < i; j++)
			if (strcmp(s->states[i].decl.name, s->states[j].decl.name) == 0) {
				spec_error(s, s->states[i].decl.pos,
				    "duplicate state '%s' (first at line %d)",
				    s->states[i].decl.name, s->states[j].decl.pos.line);
				break;
			}
}

static void
resolve_all(struct spec *s)
{
	if (s->initial.name[0])
		s->initial_idx = resolve_state(s, &s->initial);
	if (s->shutdown.name[0])
		s->shutdown_idx = resolve(s, &s->events, &s->shutdown, "event");

	for (int i = 0; i < s->nstates; i++) {
		struct state *st = &s->states[i];
		if (st->has_timeout) {
			resolve_dur(s, &st->timeout);
			st->timeout_target_idx = resolve_state(s, &st->timeout_target);
			resolve_acts(s, &st->timeout_acts);
		}
		resolve_acts(s, &st->entry);
		resolve_acts(s, &st->exit);
		for (int k = 0; k < st->nevery; k++) {
			struct every *e = &st->every[k];
			resolve_dur(s, &e->period);
			if (e->jitter.kind != DUR_NONE)
				resolve_dur(s, &e->jitter);
			if (e->period.kind == DUR_DELAY || e->jitter.kind == DUR_DELAY)
				spec_error(s, e->pos,
				    "a periodic activity takes a fixed or configured period, not a delay");
			resolve_acts(s, &e->acts);
			for (int j = 0; j < k; j++)
				if (strcmp(st->every[j].acts.acts[0].name,
				    e->acts.acts[0].name) == 0)
					spec_error(s, e->pos,
					    "duplicate activity '%s' in state '%s' (first at line %d)",
					    e->acts.acts[0].name, st->decl.name,
					    st->every[j].pos.line);
		}
		if (st->final && (st->has_timeout || st->nevery))
			spec_error(s, st->decl.pos,
			    "final state '%s' cannot have a timeout or activities",
			    st->decl.name);
	}

	for (int i = 0; i < s->nrules; i++) {
		struct rule *r = &s->rules[i];
		for (int k = 0; k < r->nsrc; k++)
			resolve_state(s, &r->src[k]);
		for (int k = 0; k < r->nev; k++) {
			if (strcmp(r->ev[k].name, "timeout") == 0 && !r->from_timeout) {
				spec_error(s, r->ev[k].pos,
				    "'timeout' is raised by a state's timeout line; write the rule there");
				continue;
			}
			resolve(s, &s->events, &r->ev[k], "event");
		}
		r->guard_idx = r->has_guard ?
		    resolve(s, &s->guards, &r->guard, "guard") : -1;
		r->target_idx = -1;
		if (r->kind == RULE_TRANS)
			r->target_idx = resolve_state(s, &r->target);
		resolve_acts(s, &r->acts);
		if (r->reenter && (r->src_star || r->nsrc != 1 ||
		    strcmp(r->src[0].name, r->target.name) != 0))
			spec_error(s, r->target.pos,
			    "'reenter' needs a single source state equal to the target");
	}
}

static void
cell_add(struct spec *s, int st, int ev, int ri, int explicit_pair,
    int *shadowed, int *pairs)
{
	struct cell *c = spec_cell(s, st, ev);
	struct rule *r = &s->rules[ri];

	(*pairs)++;
	for (int k = 0; k < c->nrules; k++) {
		struct rule *prev = &s->rules[c->rules[k]];
		if (prev->kind != RULE_TRANS || !prev->has_guard) {
			(*shadowed)++;
			if (explicit_pair)
				spec_error(s, r->pos,
				    "rule for (%s, %s) is shadowed by the unguarded rule at line %d",
				    s->states[st].decl.name, s->events.v[ev].name,
				    prev->pos.line);
			return;
		}
	}
	if (c->nrules >= (int)(sizeof(c->rules) / sizeof(c->rules[0]))) {
		spec_error(s, r->pos, "too many guarded rules for (%s, %s)",
		    s->states[st].decl.name, s->events.v[ev].name);
		return;
	}
	c->rules[c->nrules++] = ri;
	c->kind = r->kind;
}

static void
build_cells(struct spec *s)
{
	int nev = s->events.n;

	s->cells = calloc((size_t)(s->nstates * (nev ? nev : 1)), sizeof(*s->cells));
	if (s->cells == NULL) {
		spec_error(s, (struct pos){ 1, 1 }, "out of memory");
		return;
	}
	for (int ri = 0; ri < s->nrules; ri++) {
		struct rule *r = &s->rules[ri];
		int shadowed = 0, pairs = 0;
		for (int si = 0; si < s->nstates; si++) {
			int src_named = 0;
			if (r->src_star) {
				if (s->states[si].final)
					continue;
			} else {
				for (int k = 0; k < r->nsrc; k++)
					if (strcmp(r->src[k].name, s->states[si].decl.name) == 0)
						src_named = 1;
				if (!src_named)
					continue;
			}
			if (r->kind == RULE_TRANS && s->states[si].final) {
				spec_error(s, r->pos,
				    "final state '%s' cannot have transitions",
				    s->states[si].decl.name);
				continue;
			}
			for (int ei = 0; ei < nev; ei++) {
				int ev_named = 0;
				if (!r->ev_star) {
					for (int k = 0; k < r->nev; k++)
						if (strcmp(r->ev[k].name, s->events.v[ei].name) == 0)
							ev_named = 1;
					if (!ev_named)
						continue;
				} else if (ei == s->timeout_ev) {
					continue;  /* timeout pairs come from timeout lines */
				}
				cell_add(s, si, ei, ri, src_named && ev_named,
				    &shadowed, &pairs);
			}
		}
		if (pairs > 0 && shadowed == pairs && (r->src_star || r->ev_star))
			spec_error(s, r->pos,
			    "rule is shadowed for every pair it names by earlier unguarded rules");
	}
}

static void
check_total(struct spec *s)
{
	char buf[1024];

	for (int si = 0; si < s->nstates; si++) {
		size_t n = 0;
		int missing = 0;
		buf[0] = '\0';
		for (int ei = 0; ei < s->events.n; ei++) {
			struct cell *c = spec_cell(s, si, ei);
			if (c->nrules > 0 &&
			    s->rules[c->rules[c->nrules - 1]].has_guard) {
				spec_error(s, s->rules[c->rules[c->nrules - 1]].pos,
				    "(%s, %s) has only guarded rules: add an unguarded rule, 'ignore' or 'invalid' after them",
				    s->states[si].decl.name, s->events.v[ei].name);
				continue;
			}
			if (c->nrules > 0)
				continue;
			if (n + strlen(s->events.v[ei].name) + 3 < sizeof(buf))
				n += (size_t)snprintf(buf + n, sizeof(buf) - n, "%s%s",
				    missing ? ", " : "", s->events.v[ei].name);
			missing++;
		}
		if (missing)
			spec_error(s, s->states[si].decl.pos,
			    "state '%s' does not decide %d event%s: %s (add a transition, 'ignore' or 'invalid')",
			    s->states[si].decl.name, missing, missing == 1 ? "" : "s",
			    buf);
	}
}

/* Marks everything reachable from `from` through transitions. */
static void
reach(const struct spec *s, int from, char *seen)
{
	int stack[SPEC_MAX_NAMES], sp = 0;

	if (seen[from])
		return;
	seen[from] = 1;
	stack[sp++] = from;
	while (sp > 0) {
		int st = stack[--sp];
		for (int ei = 0; ei < s->events.n; ei++) {
			struct cell *c = spec_cell(s, st, ei);
			for (int k = 0; k < c->nrules; k++) {
				int t = s->rules[c->rules[k]].target_idx;
				if (s->rules[c->rules[k]].kind == RULE_TRANS && t >= 0 &&
				    !seen[t]) {
					seen[t] = 1;
					stack[sp++] = t;
				}
			}
		}
	}
}

static void
check_reach(struct spec *s)
{
	char seen[SPEC_MAX_NAMES] = { 0 };

	if (s->initial_idx < 0)
		return;
	reach(s, s->initial_idx, seen);
	for (int i = 0; i < s->nstates; i++)
		if (!seen[i])
			spec_error(s, s->states[i].decl.pos,
			    "state '%s' is unreachable from the initial state '%s'",
			    s->states[i].decl.name, s->initial.name);
}

static int
final_reachable(const struct spec *s, int from)
{
	char seen[SPEC_MAX_NAMES] = { 0 };
	reach(s, from, seen);
	for (int i = 0; i < s->nstates; i++)
		if (seen[i] && s->states[i].final)
			return 1;
	return 0;
}

static void
check_shutdown(struct spec *s)
{
	int ev = s->shutdown_idx;

	if (ev < 0)
		return;
	for (int si = 0; si < s->nstates; si++) {
		struct cell *c = spec_cell(s, si, ev);
		int ok = 1;
		if (s->states[si].final)
			continue;
		if (c->nrules == 0)
			continue;  /* reported by check_total */
		for (int k = 0; k < c->nrules; k++) {
			struct rule *r = &s->rules[c->rules[k]];
			if (r->kind == RULE_INVALID)
				ok = 0;
			else if (r->kind == RULE_IGNORE)
				ok &= final_reachable(s, si);
			else if (r->target_idx >= 0)
				ok &= final_reachable(s, r->target_idx);
		}
		if (!ok)
			spec_error(s, s->states[si].decl.pos,
			    "no final state can be reached from '%s' after '%s'",
			    s->states[si].decl.name, s->shutdown.name);
	}
}

/* FNV-1a over a canonical dump of the resolved machine: comments, layout
 * and declaration order of unused names do not change it; behaviour does. */
static uint64_t h_acc;
static void h_str(const char *p) { for (; *p; p++) { h_acc ^= (uint8_t)*p; h_acc *= 0x100000001b3ULL; } h_acc ^= 0xff; h_acc *= 0x100000001b3ULL; }
static void h_int(long v) { char b[32]; snprintf(b, sizeof(b), "%ld", v); h_str(b); }
static void h_acts(const struct actlist *a) { h_int(a->n); for (int i = 0; i < a->n; i++) h_str(a->acts[i].name); }
static void h_dur(const struct dur *d) { char b[32]; h_int(d->kind); snprintf(b, sizeof(b), "%.6f", d->seconds); h_str(d->kind == DUR_CONST ? b : d->ref.name); }

static void
compute_hash(struct spec *s)
{
	h_acc = 0xcbf29ce484222325ULL;
	h_str(s->machine.name);
	h_str(s->initial.name);
	for (int i = 0; i < s->nstates; i++) {
		const struct state *st = &s->states[i];
		h_str(st->decl.name);
		h_int(st->final);
		h_acts(&st->entry);
		h_acts(&st->exit);
		h_dur(&st->timeout);
		for (int k = 0; k < st->nevery; k++) {
			h_dur(&st->every[k].period);
			h_dur(&st->every[k].jitter);
			h_acts(&st->every[k].acts);
		}
	}
	for (int e = 0; e < s->events.n; e++)
		h_str(s->events.v[e].name);
	for (int si = 0; si < s->nstates; si++)
		for (int ei = 0; ei < s->events.n; ei++) {
			struct cell *c = spec_cell(s, si, ei);
			for (int k = 0; k < c->nrules; k++) {
				const struct rule *r = &s->rules[c->rules[k]];
				h_int(r->kind);
				h_str(r->has_guard ? r->guard.name : "");
				h_str(r->kind == RULE_TRANS ? r->target.name : "");
				h_int(r->reenter);
				h_acts(&r->acts);
			}
		}
	s->hash = h_acc;
}

int
spec_check(struct spec *s)
{
	check_all_dups(s);
	if (s->nerrors)
		return -1;
	if (s->machine.name[0] == '\0')
		spec_error(s, (struct pos){ 1, 1 }, "missing 'machine NAME' statement");
	if (s->initial.name[0] == '\0')
		spec_error(s, (struct pos){ 1, 1 }, "missing 'initial STATE' statement");
	if (s->nstates == 0)
		spec_error(s, (struct pos){ 1, 1 }, "no states declared");
	if (s->nerrors)
		return -1;
	add_timeout_event(s);
	synthesise_timeout_rules(s);
	resolve_all(s);
	if (s->nerrors)
		return -1;  /* the table needs resolved names */
	build_cells(s);
	check_total(s);
	if (s->nerrors)
		return -1;
	check_reach(s);
	check_shutdown(s);
	if (s->nerrors)
		return -1;
	compute_hash(s);
	return 0;
}

const char *
spec_dur_str(const struct dur *d, char *buf, size_t n)
{
	switch (d->kind) {
	case DUR_CONST: snprintf(buf, n, "%gs", d->seconds); break;
	case DUR_CFG: snprintf(buf, n, "cfg.%s", d->ref.name); break;
	case DUR_DELAY: snprintf(buf, n, "@%s", d->ref.name); break;
	default: snprintf(buf, n, "-"); break;
	}
	return buf;
}
