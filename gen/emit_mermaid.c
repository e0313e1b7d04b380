/*
 * gen/emit_mermaid.c: the Markdown back end.  One document per machine:
 * a Mermaid state diagram drawn like the dot output (same merged edges, same
 * labels), a table of states and a table of every (state, event) cell.
 *
 * The diagram is for reading; the transitions table is the contract, one
 * row per rule of every cell in the order the engine tries them, so a
 * reviewer can answer "what happens on X in state Y" without the spec.
 * Output is byte-for-byte a function of the spec: the document is committed
 * and a check diffs it against a fresh run.
 */
#include <ctype.h>
#include <string.h>
#include "spec.h"

const char *emit_event_label(const struct spec *s, int si, int ev,
    char *buf, size_t n);

/* Words the Mermaid state-diagram lexer (v10) takes for syntax, so a state
 * with one of these names breaks the diagram: found by parsing a
 * two-state diagram with each candidate word. */
static const char *const mermaid_words[] = {
	"state", "note", "class", "classDef", "scale", "default", NULL,
};

/*
 * Mermaid labels end at '#', ';' or a newline and treat '<', '>', ':' and
 * quotes specially, so labels keep only characters known to pass through:
 * letters, digits, '_', ' ', ',', brackets, '/' and '.'.  Anything else is
 * dropped ("@backoff_delay" reads "backoff_delay"); the tables below keep
 * the exact text.
 */
static void
put_label(FILE *out, const char *p)
{
	for (; *p; p++)
		if (isalnum((unsigned char)*p) || strchr("_ ,[]()/.", *p))
			fputc(*p, out);
}

/* A table cell as one code span, so '_' and '*' in names never turn into
 * emphasis; '|' would end the cell. */
static void
put_cell(FILE *out, const char *p)
{
	if (*p == '\0')
		return;
	fputc('`', out);
	for (; *p; p++) {
		if (*p == '|')
			fputc('\\', out);
		fputc(*p, out);
	}
	fputc('`', out);
}

static void
acts_str(const struct actlist *a, char *buf, size_t n)
{
	size_t off = 0;

	buf[0] = '\0';
	for (int i = 0; i < a->n && off < n; i++)
		off += (size_t)snprintf(buf + off, n - off, "%s%s", i ? ", " : "",
		    a->acts[i].name);
}

static void
every_str(const struct every *e, char *buf, size_t n)
{
	char p[96], j[96], a[1200];

	acts_str(&e->acts, a, sizeof(a));
	snprintf(buf, n, "every %s%s%s / %s", spec_dur_str(&e->period, p, sizeof(p)),
	    e->jitter.kind != DUR_NONE ? " jitter " : "",
	    e->jitter.kind != DUR_NONE ? spec_dur_str(&e->jitter, j, sizeof(j)) : "",
	    a);
}

static int
check_names(const struct spec *s)
{
	for (int si = 0; si < s->nstates; si++)
		for (int k = 0; mermaid_words[k] != NULL; k++)
			if (strcmp(s->states[si].decl.name, mermaid_words[k]) == 0) {
				fprintf(stderr,
				    "fsmc: state '%s' is a Mermaid keyword; rename it to draw the diagram\n",
				    mermaid_words[k]);
				return -1;
			}
	return 0;
}

static void
mermaid_edge(const struct spec *s, int si, int ev, int k, FILE *out)
{
	const struct rule *r = &s->rules[spec_cell(s, si, ev)->rules[k]];
	const char *guard = emit_guard_label(s, si, ev, k);
	char buf[160], a[1200];
	int nev = 0;

	fprintf(out, "    %s --> %s : ", s->states[si].decl.name,
	    s->states[r->target_idx].decl.name);
	for (int e = ev; e < s->events.n; e++) {
		const struct cell *c = spec_cell(s, si, e);
		for (int j = 0; j < c->nrules; j++)
			if (emit_same_edge(s, si, ev, k, e, j)) {
				fputs(nev++ ? ", " : "", out);
				put_label(out, emit_event_label(s, si, e, buf, sizeof(buf)));
				break;
			}
	}
	if (guard) {
		fputs(" [", out);
		put_label(out, guard);
		fputs("]", out);
	}
	if (r->reenter)
		fputs(" (re-arm)", out);
	if (r->acts.n) {
		acts_str(&r->acts, a, sizeof(a));
		fputs(" / ", out);
		put_label(out, a);
	}
	fputs("\n", out);
}

static void
mermaid_diagram(const struct spec *s, FILE *out)
{
	char buf[1400];

	fputs("```mermaid\nstateDiagram-v2\n", out);
	fprintf(out, "    [*] --> %s\n", s->states[s->initial_idx].decl.name);
	/* Descriptions put entry, exit and activities inside the state box. */
	for (int si = 0; si < s->nstates; si++) {
		const struct state *st = &s->states[si];
		if (st->has_entry) {
			acts_str(&st->entry, buf, sizeof(buf));
			fprintf(out, "    %s : entry / ", st->decl.name);
			put_label(out, buf);
			fputs("\n", out);
		}
		if (st->has_exit) {
			acts_str(&st->exit, buf, sizeof(buf));
			fprintf(out, "    %s : exit / ", st->decl.name);
			put_label(out, buf);
			fputs("\n", out);
		}
		for (int k = 0; k < st->nevery; k++) {
			every_str(&st->every[k], buf, sizeof(buf));
			fprintf(out, "    %s : ", st->decl.name);
			put_label(out, buf);
			fputs("\n", out);
		}
	}
	for (int si = 0; si < s->nstates; si++)
		for (int ev = 0; ev < s->events.n; ev++) {
			const struct cell *c = spec_cell(s, si, ev);
			for (int k = 0; k < c->nrules; k++)
				if (emit_edge_leader(s, si, ev, k))
					mermaid_edge(s, si, ev, k, out);
		}
	for (int si = 0; si < s->nstates; si++)
		if (s->states[si].final)
			fprintf(out, "    %s --> [*]\n", s->states[si].decl.name);
	fputs("```\n", out);
}

static void
state_table(const struct spec *s, FILE *out)
{
	char buf[1400], a[1200], d[96];

	fputs("## States\n\n", out);
	fputs("| state | timeout | entry | exit | activities |\n", out);
	fputs("|---|---|---|---|---|\n", out);
	for (int si = 0; si < s->nstates; si++) {
		const struct state *st = &s->states[si];
		fputs("| ", out);
		put_cell(out, st->decl.name);
		if (si == s->initial_idx)
			fputs(" (initial)", out);
		if (st->final)
			fputs(" (final)", out);
		fputs(" | ", out);
		if (st->has_timeout) {
			acts_str(&st->timeout_acts, a, sizeof(a));
			snprintf(buf, sizeof(buf), "%s -> %s%s%s%s",
			    spec_dur_str(&st->timeout, d, sizeof(d)),
			    st->timeout_target.name,
			    st->timeout_reenter ? " reenter" : "",
			    a[0] ? " / " : "", a);
			put_cell(out, buf);
		}
		fputs(" | ", out);
		acts_str(&st->entry, buf, sizeof(buf));
		put_cell(out, buf);
		fputs(" | ", out);
		acts_str(&st->exit, buf, sizeof(buf));
		put_cell(out, buf);
		fputs(" | ", out);
		for (int k = 0; k < st->nevery; k++) {
			every_str(&st->every[k], buf, sizeof(buf));
			fputs(k ? "<br>" : "", out);
			put_cell(out, buf);
		}
		fputs(" |\n", out);
	}
}

static void
transition_table(const struct spec *s, FILE *out)
{
	static const char *const kinds[] = { "", "ignore", "invalid" };
	char buf[1200];

	fputs("## Transitions\n\n", out);
	fputs("Every (state, event) pair, one row per rule in the order the engine "
	    "tries them: the first whose guard holds decides, and `else` marks a "
	    "rule that runs only when every guard above it in the pair failed. "
	    "`ignore` is expected and harmless; `invalid` cannot happen when the "
	    "rest of the daemon is right, and is logged and counted.\n\n", out);
	fputs("| state | event | guard | outcome | actions |\n", out);
	fputs("|---|---|---|---|---|\n", out);
	for (int si = 0; si < s->nstates; si++)
		for (int ev = 0; ev < s->events.n; ev++) {
			const struct cell *c = spec_cell(s, si, ev);
			for (int k = 0; k < c->nrules; k++) {
				const struct rule *r = &s->rules[c->rules[k]];
				const char *guard = emit_guard_label(s, si, ev, k);
				fputs("| ", out);
				put_cell(out, s->states[si].decl.name);
				fputs(" | ", out);
				put_cell(out, emit_event_label(s, si, ev, buf, sizeof(buf)));
				fputs(" | ", out);
				put_cell(out, guard ? guard : "");
				fputs(" | ", out);
				if (r->kind == RULE_TRANS) {
					put_cell(out, s->states[r->target_idx].decl.name);
					if (r->reenter)
						fputs(" (reenter)", out);
				} else {
					put_cell(out, kinds[r->kind]);
				}
				fputs(" | ", out);
				acts_str(&r->acts, buf, sizeof(buf));
				put_cell(out, buf);
				fputs(" |\n", out);
			}
		}
}

int
emit_mermaid(const struct spec *s, FILE *out)
{
	if (check_names(s) < 0)
		return -1;
	fprintf(out, "# %s state machine\n\n", s->machine.name);
	fprintf(out, "Generated by fsmc from `%s`. Do not edit: change the spec "
	    "and regenerate.\n\n", s->file);
	fprintf(out, "Spec hash: `%016llx`\n\n", (unsigned long long)s->hash);
	mermaid_diagram(s, out);
	fputs("\n", out);
	state_table(s, out);
	fputs("\n", out);
	transition_table(s, out);
	return ferror(out) ? -1 : 0;
}
