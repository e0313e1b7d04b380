/*
 * gen/emit_dot.c: the Graphviz back end, plus the edge-merging rules that
 * the Mermaid back end shares so both pictures agree on what an edge is.
 *
 * The picture is drawn from the resolved cells, not from the rule lines, so
 * wildcards are already expanded and a diagram can never show a transition
 * the engine would not take.  Ignore and invalid cells are left out: they
 * are most of the table and would bury the transitions; the Markdown
 * document lists them.
 *
 * Output depends only on the spec (states, events and rules in spec order,
 * no pointers, no hashing), because the generated docs are committed and a
 * check diffs them against a fresh run.
 */
#include <string.h>
#include "spec.h"

/* Shared with emit_mermaid.c; the prototypes are repeated there. */
const char *emit_guard_label(const struct spec *s, int si, int ev, int k);
int emit_same_edge(const struct spec *s, int si, int e1, int k1, int e2,
    int k2);
int emit_edge_leader(const struct spec *s, int si, int ev, int k);
const char *emit_event_label(const struct spec *s, int si, int ev,
    char *buf, size_t n);

/* Longest event line of an edge label before it wraps, in characters:
 * enough for two typical event names, so labels stay narrow. */
#define DOT_LINE_WRAP 30

/*
 * The guard under which rule k of a cell applies.  A rule after guarded
 * ones only runs when all of them failed, so calling it unguarded would
 * misdescribe it; "else" is what it means.
 */
const char *
emit_guard_label(const struct spec *s, int si, int ev, int k)
{
	const struct cell *c = spec_cell(s, si, ev);
	const struct rule *r = &s->rules[c->rules[k]];

	if (r->has_guard)
		return r->guard.name;
	return k > 0 ? "else" : NULL;
}

/* Two (event, rule) pairs of one source state draw as one edge when only
 * the event differs. */
int
emit_same_edge(const struct spec *s, int si, int e1, int k1, int e2, int k2)
{
	const struct rule *a = &s->rules[spec_cell(s, si, e1)->rules[k1]];
	const struct rule *b = &s->rules[spec_cell(s, si, e2)->rules[k2]];
	const char *ga = emit_guard_label(s, si, e1, k1);
	const char *gb = emit_guard_label(s, si, e2, k2);

	if (a->kind != RULE_TRANS || b->kind != RULE_TRANS)
		return 0;
	if (a->target_idx != b->target_idx || a->reenter != b->reenter)
		return 0;
	if ((ga == NULL) != (gb == NULL) || (ga && strcmp(ga, gb) != 0))
		return 0;
	if (a->acts.n != b->acts.n)
		return 0;
	for (int i = 0; i < a->acts.n; i++)
		if (a->acts.idx[i] != b->acts.idx[i])
			return 0;
	return 1;
}

/* True for the first (event, rule) pair of each merged edge, in table
 * order; the emitters draw an edge there and nowhere else.  Quadratic in
 * the events of one state, which is a few hundred comparisons. */
int
emit_edge_leader(const struct spec *s, int si, int ev, int k)
{
	if (s->rules[spec_cell(s, si, ev)->rules[k]].kind != RULE_TRANS)
		return 0;
	for (int e = 0; e <= ev; e++) {
		const struct cell *c = spec_cell(s, si, e);
		for (int j = 0; j < c->nrules && (e < ev || j < k); j++)
			if (emit_same_edge(s, si, e, j, ev, k))
				return 0;
	}
	return 1;
}

/* The timeout event reads better with its duration next to it. */
const char *
emit_event_label(const struct spec *s, int si, int ev, char *buf, size_t n)
{
	char d[96];

	if (ev == s->timeout_ev && s->states[si].has_timeout)
		snprintf(buf, n, "timeout (%s)",
		    spec_dur_str(&s->states[si].timeout, d, sizeof(d)));
	else
		snprintf(buf, n, "%s", s->events.v[ev].name);
	return buf;
}

/* Names are identifiers and durations are cfg.X, @X or numbers, so nothing
 * needs escaping today; escaping anyway keeps a future name from breaking
 * the file in a way only `dot` would notice. */
static void
put_quoted(FILE *out, const char *p)
{
	for (; *p; p++) {
		if (*p == '"' || *p == '\\')
			fputc('\\', out);
		fputc(*p, out);
	}
}

static void
put_html(FILE *out, const char *p)
{
	for (; *p; p++)
		switch (*p) {
		case '&': fputs("&amp;", out); break;
		case '<': fputs("&lt;", out); break;
		case '>': fputs("&gt;", out); break;
		case '"': fputs("&quot;", out); break;
		default: fputc(*p, out); break;
		}
}

/* Writes one word of a node line, wrapping first when the line would grow
 * past DOT_LINE_WRAP: a narrow label keeps a doublecircle from swelling to
 * the width of its longest action list. */
static void
put_word(FILE *out, int *col, const char *sep, const char *word)
{
	int len = (int)(strlen(sep) + strlen(word));

	if (*col > 0 && *col + len > DOT_LINE_WRAP) {
		fputs(sep[0] == ',' ? ",<BR ALIGN=\"LEFT\"/>" :
		    "<BR ALIGN=\"LEFT\"/>", out);
		*col = 0;
		sep = "";
		len = (int)strlen(word);
	}
	put_html(out, sep);
	put_html(out, word);
	*col += len;
}

static void
put_node_line(FILE *out, const char *head, const struct actlist *a)
{
	int col = 0;

	put_word(out, &col, "", head);
	put_word(out, &col, " ", "/");
	for (int i = 0; i < a->n; i++)
		put_word(out, &col, i ? ", " : " ", a->acts[i].name);
	fputs("<BR ALIGN=\"LEFT\"/>", out);
}

/* One line per entry, exit and periodic activity under the state's name,
 * left-aligned, in a smaller font so the name stays the eye-catcher. */
static void
dot_state(const struct spec *s, int si, FILE *out)
{
	const struct state *st = &s->states[si];
	char d[96], j[96], head[256];

	fputs("\t\"", out);
	put_quoted(out, st->decl.name);
	fprintf(out, "\" [%slabel=<<B>", st->final ? "shape=doublecircle, " : "");
	put_html(out, st->decl.name);
	fputs("</B>", out);
	if (!st->has_entry && !st->has_exit && st->nevery == 0) {
		fputs(">];\n", out);
		return;
	}
	fputs("<BR/><FONT POINT-SIZE=\"10\">", out);
	if (st->has_entry)
		put_node_line(out, "entry", &st->entry);
	if (st->has_exit)
		put_node_line(out, "exit", &st->exit);
	for (int k = 0; k < st->nevery; k++) {
		const struct every *e = &st->every[k];
		snprintf(head, sizeof(head), "every %s%s%s",
		    spec_dur_str(&e->period, d, sizeof(d)),
		    e->jitter.kind != DUR_NONE ? " jitter " : "",
		    e->jitter.kind != DUR_NONE ?
		    spec_dur_str(&e->jitter, j, sizeof(j)) : "");
		put_node_line(out, head, &e->acts);
	}
	fputs("</FONT>>];\n", out);
}

/* Label: the merged events (wrapped), then the guard and re-arm mark, then
 * the actions on a line of their own. */
static void
dot_edge(const struct spec *s, int si, int ev, int k, FILE *out)
{
	const struct rule *r = &s->rules[spec_cell(s, si, ev)->rules[k]];
	const char *guard = emit_guard_label(s, si, ev, k);
	char buf[160];
	int col = 0, nev = 0, only_timeout = 1;

	fputs("\t\"", out);
	put_quoted(out, s->states[si].decl.name);
	fputs("\" -> \"", out);
	put_quoted(out, s->states[r->target_idx].decl.name);
	fputs("\" [label=\"", out);
	for (int e = ev; e < s->events.n; e++) {
		const struct cell *c = spec_cell(s, si, e);
		for (int j = 0; j < c->nrules; j++) {
			if (!emit_same_edge(s, si, ev, k, e, j))
				continue;
			emit_event_label(s, si, e, buf, sizeof(buf));
			if (nev > 0 && col + (int)strlen(buf) + 2 > DOT_LINE_WRAP) {
				fputs(",\\n", out);
				col = 0;
			} else if (nev > 0) {
				fputs(", ", out);
				col += 2;
			}
			put_quoted(out, buf);
			col += (int)strlen(buf);
			nev++;
			if (e != s->timeout_ev)
				only_timeout = 0;
			break;  /* a repeated guard in one cell is still one event */
		}
	}
	if (guard) {
		fputs(" [", out);
		put_quoted(out, guard);
		fputs("]", out);
	}
	if (r->reenter)
		fputs(" (re-arm)", out);
	for (int i = 0; i < r->acts.n; i++) {
		fputs(i ? ", " : "\\n/ ", out);
		put_quoted(out, r->acts.acts[i].name);
	}
	/* Dashed: nothing from outside caused it, only the state's own timer. */
	fprintf(out, "\"%s];\n", only_timeout ? ", style=dashed" : "");
}

int
emit_dot(const struct spec *s, FILE *out)
{
	fprintf(out, "// Generated by fsmc from %s. Do not edit.\n", s->file);
	fprintf(out, "// spec hash %016llx\n", (unsigned long long)s->hash);
	fputs("digraph \"", out);
	put_quoted(out, s->machine.name);
	fputs("\" {\n", out);
	fputs("\trankdir=LR;\n", out);
	fputs("\tnode [shape=box, style=rounded];\n", out);
	fputs("\tedge [fontsize=10];\n\n", out);
	/* "[*]" cannot be a state name, so the start marker never collides. */
	fputs("\t\"[*]\" [shape=point, label=\"\"];\n", out);
	for (int si = 0; si < s->nstates; si++)
		dot_state(s, si, out);
	fputs("\n\t\"[*]\" -> \"", out);
	put_quoted(out, s->states[s->initial_idx].decl.name);
	fputs("\";\n", out);
	for (int si = 0; si < s->nstates; si++)
		for (int ev = 0; ev < s->events.n; ev++) {
			const struct cell *c = spec_cell(s, si, ev);
			for (int k = 0; k < c->nrules; k++)
				if (emit_edge_leader(s, si, ev, k))
					dot_edge(s, si, ev, k, out);
		}
	fputs("}\n", out);
	return ferror(out) ? -1 : 0;
}
