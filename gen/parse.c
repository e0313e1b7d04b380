/*
 * gen/parse.c: line-oriented recursive descent over the Ragel tokens.
 *
 * One statement per line.  A syntax error skips to the end of its line and
 * parsing goes on, so one run reports every broken line, not just the first.
 * Names are only recorded here; check.c resolves them.
 */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include "scan.h"
#include "spec.h"

struct parser {
	struct spec *s;
	struct token *t;
	int i;
	int cur_state;   /* index of the open 'state' block, or -1 */
};

static struct token *peek(struct parser *p) { return &p->t[p->i]; }

static int
is_kw(const struct token *t, const char *kw)
{
	return t->kind == T_IDENT && (size_t)t->len == strlen(kw) &&
	    memcmp(t->p, kw, (size_t)t->len) == 0;
}

static const char *const keywords[] = {
	"machine", "initial", "shutdown", "event", "action", "guard", "delay",
	"config", "state", "final", "timeout", "every", "jitter", "entry",
	"exit", "ignore", "invalid", "reenter", NULL,
};

static int
is_any_kw(const struct token *t)
{
	for (int k = 0; keywords[k] != NULL; k++)
		if (is_kw(t, keywords[k]))
			return 1;
	return 0;
}

static void
describe(const struct token *t, char *buf, size_t n)
{
	if (t->kind == T_IDENT || t->kind == T_NUMBER || t->kind == T_CFG ||
	    t->kind == T_DELAY)
		snprintf(buf, n, "'%.*s'", t->len > 40 ? 40 : t->len, t->p);
	else if (t->kind == T_ERROR)
		snprintf(buf, n, "invalid character '%c'", *t->p);
	else
		snprintf(buf, n, "%s", tok_kind_name(t->kind));
}

/* Reports "expected WHAT, found TOKEN" and returns -1 so callers can bail. */
static int
expected(struct parser *p, const char *what)
{
	char d[64];
	describe(peek(p), d, sizeof(d));
	spec_error(p->s, peek(p)->pos, "expected %s, found %s", what, d);
	return -1;
}

static void
set_ref(struct ref *r, const struct token *t)
{
	int n = t->len < (int)sizeof(r->name) - 1 ? t->len : (int)sizeof(r->name) - 1;
	memcpy(r->name, t->p, (size_t)n);
	r->name[n] = '\0';
	r->pos = t->pos;
}

static int
take_name(struct parser *p, struct ref *r, const char *what)
{
	struct token *t = peek(p);
	if (t->kind != T_IDENT || is_any_kw(t))
		return expected(p, what);
	if (t->len >= (int)sizeof(r->name)) {
		spec_error(p->s, t->pos, "name longer than %d characters",
		    (int)sizeof(r->name) - 1);
		return -1;
	}
	set_ref(r, t);
	p->i++;
	return 0;
}

static int
end_of_line(struct parser *p)
{
	struct token *t = peek(p);
	if (t->kind == T_NL) {
		p->i++;
		return 0;
	}
	if (t->kind == T_EOF)
		return 0;
	return expected(p, "end of line");
}

/* name {, name} into a names table (declarations). */
static int
parse_decls(struct parser *p, struct names *ns, const char *what)
{
	for (;;) {
		if (ns->n >= SPEC_MAX_NAMES) {
			spec_error(p->s, peek(p)->pos, "too many %ss (at most %d)",
			    what, SPEC_MAX_NAMES);
			return -1;
		}
		if (take_name(p, &ns->v[ns->n], what) < 0)
			return -1;
		ns->n++;
		if (peek(p)->kind != T_COMMA)
			return end_of_line(p);
		p->i++;
	}
}

static int
parse_actlist(struct parser *p, struct actlist *a)
{
	for (;;) {
		if (a->n >= SPEC_MAX_ACTS) {
			spec_error(p->s, peek(p)->pos,
			    "too many actions in one list (at most %d)", SPEC_MAX_ACTS);
			return -1;
		}
		if (take_name(p, &a->acts[a->n], "an action name") < 0)
			return -1;
		a->n++;
		if (peek(p)->kind != T_COMMA)
			return 0;
		p->i++;
	}
}

/* [/ actions] */
static int
parse_opt_actions(struct parser *p, struct actlist *a)
{
	if (peek(p)->kind != T_SLASH)
		return 0;
	p->i++;
	return parse_actlist(p, a);
}

static int
parse_dur(struct parser *p, struct dur *d)
{
	struct token *t = peek(p);
	char buf[32];

	switch (t->kind) {
	case T_NUMBER:
		if (t->len >= (int)sizeof(buf))
			return expected(p, "a shorter number");
		memcpy(buf, t->p, (size_t)t->len);
		buf[t->len] = '\0';
		d->kind = DUR_CONST;
		d->seconds = strtod(buf, NULL);
		set_ref(&d->ref, t);
		break;
	case T_CFG:
		d->kind = DUR_CFG;
		set_ref(&d->ref, t);
		memmove(d->ref.name, d->ref.name + 4, strlen(d->ref.name + 4) + 1);
		break;
	case T_DELAY:
		d->kind = DUR_DELAY;
		set_ref(&d->ref, t);
		memmove(d->ref.name, d->ref.name + 1, strlen(d->ref.name + 1) + 1);
		break;
	default:
		return expected(p, "a duration (seconds, cfg.NAME or @DELAY)");
	}
	p->i++;
	return 0;
}

static struct state *
need_state(struct parser *p, const struct token *kw)
{
	if (p->cur_state < 0) {
		spec_error(p->s, kw->pos, "'%.*s' outside a state block",
		    kw->len, kw->p);
		return NULL;
	}
	return &p->s->states[p->cur_state];
}

static int
parse_state_line(struct parser *p)
{
	struct spec *s = p->s;
	struct state *st;

	p->i++;
	if (s->nstates >= SPEC_MAX_NAMES) {
		spec_error(s, peek(p)->pos, "too many states (at most %d)",
		    SPEC_MAX_NAMES);
		return -1;
	}
	st = &s->states[s->nstates];
	memset(st, 0, sizeof(*st));
	if (take_name(p, &st->decl, "a state name") < 0)
		return -1;
	if (is_kw(peek(p), "final")) {
		st->final = 1;
		p->i++;
	}
	p->cur_state = s->nstates++;
	return end_of_line(p);
}

static int
parse_timeout(struct parser *p, struct token *kw)
{
	struct state *st = need_state(p, kw);
	if (st == NULL)
		return -1;
	p->i++;
	if (st->has_timeout) {
		spec_error(p->s, kw->pos,
		    "duplicate timeout for state '%s' (first at line %d)",
		    st->decl.name, st->timeout_pos.line);
		return -1;
	}
	st->has_timeout = 1;
	st->timeout_pos = kw->pos;
	if (parse_dur(p, &st->timeout) < 0)
		return -1;
	if (peek(p)->kind != T_ARROW)
		return expected(p, "'->'");
	p->i++;
	if (take_name(p, &st->timeout_target, "a target state") < 0)
		return -1;
	if (is_kw(peek(p), "reenter")) {
		st->timeout_reenter = 1;
		p->i++;
	}
	if (parse_opt_actions(p, &st->timeout_acts) < 0)
		return -1;
	return end_of_line(p);
}

static int
parse_every(struct parser *p, struct token *kw)
{
	struct state *st = need_state(p, kw);
	struct every *e;
	if (st == NULL)
		return -1;
	p->i++;
	if (st->nevery >= SPEC_MAX_EVERY) {
		spec_error(p->s, kw->pos,
		    "too many periodic activities in state '%s' (at most %d)",
		    st->decl.name, SPEC_MAX_EVERY);
		return -1;
	}
	e = &st->every[st->nevery];
	memset(e, 0, sizeof(*e));
	e->pos = kw->pos;
	if (parse_dur(p, &e->period) < 0)
		return -1;
	if (is_kw(peek(p), "jitter")) {
		p->i++;
		if (parse_dur(p, &e->jitter) < 0)
			return -1;
	}
	if (peek(p)->kind != T_SLASH)
		return expected(p, "'/' and the activity's actions");
	if (parse_opt_actions(p, &e->acts) < 0)
		return -1;
	st->nevery++;
	return end_of_line(p);
}

static int
parse_entry_exit(struct parser *p, struct token *kw, int is_entry)
{
	struct state *st = need_state(p, kw);
	int *has;
	struct pos *where;
	if (st == NULL)
		return -1;
	p->i++;
	has = is_entry ? &st->has_entry : &st->has_exit;
	where = is_entry ? &st->entry_pos : &st->exit_pos;
	if (*has) {
		spec_error(p->s, kw->pos,
		    "duplicate %s actions for state '%s' (first at line %d)",
		    is_entry ? "entry" : "exit", st->decl.name, where->line);
		return -1;
	}
	*has = 1;
	*where = kw->pos;
	if (peek(p)->kind != T_SLASH)
		return expected(p, "'/'");
	if (parse_opt_actions(p, is_entry ? &st->entry : &st->exit) < 0)
		return -1;
	return end_of_line(p);
}

/* '*' or name {, name} */
static int
parse_namelist(struct parser *p, int *star, struct ref *v, int *n,
    const char *what)
{
	if (peek(p)->kind == T_STAR) {
		*star = 1;
		p->i++;
		return 0;
	}
	for (;;) {
		if (*n >= SPEC_MAX_NAMES)
			return expected(p, "a shorter list");
		if (take_name(p, &v[*n], what) < 0)
			return -1;
		(*n)++;
		if (peek(p)->kind != T_COMMA)
			return 0;
		p->i++;
	}
}

static int
parse_rule(struct parser *p)
{
	struct spec *s = p->s;
	struct rule *r;

	if (s->nrules >= SPEC_MAX_RULES) {
		spec_error(s, peek(p)->pos, "too many rules (at most %d)",
		    SPEC_MAX_RULES);
		return -1;
	}
	r = &s->rules[s->nrules];
	memset(r, 0, sizeof(*r));
	r->pos = peek(p)->pos;
	p->cur_state = -1;  /* a rule line closes any state block */
	if (parse_namelist(p, &r->src_star, r->src, &r->nsrc,
	    "a state name, '*' or a statement") < 0)
		return -1;
	if (parse_namelist(p, &r->ev_star, r->ev, &r->nev,
	    "an event name or '*'") < 0)
		return -1;
	if (peek(p)->kind == T_LBRACK) {
		p->i++;
		r->has_guard = 1;
		if (take_name(p, &r->guard, "a guard name") < 0)
			return -1;
		if (peek(p)->kind != T_RBRACK)
			return expected(p, "']'");
		p->i++;
	}
	if (peek(p)->kind == T_ARROW) {
		p->i++;
		r->kind = RULE_TRANS;
		if (take_name(p, &r->target, "a target state") < 0)
			return -1;
		if (is_kw(peek(p), "reenter")) {
			r->reenter = 1;
			p->i++;
		}
		if (parse_opt_actions(p, &r->acts) < 0)
			return -1;
	} else if (is_kw(peek(p), "ignore") || is_kw(peek(p), "invalid")) {
		r->kind = is_kw(peek(p), "ignore") ? RULE_IGNORE : RULE_INVALID;
		if (r->has_guard) {
			spec_error(s, r->guard.pos,
			    "a guard makes no sense on an '%s' rule",
			    r->kind == RULE_IGNORE ? "ignore" : "invalid");
			return -1;
		}
		p->i++;
	} else {
		return expected(p, "'->', 'ignore' or 'invalid'");
	}
	if (r->src_star && r->ev_star) {
		spec_error(s, r->pos,
		    "'* *' would decide every pair at once and defeat the totality check");
		return -1;
	}
	if (r->ev_star && r->kind == RULE_TRANS) {
		spec_error(s, r->pos,
		    "'*' for events is only allowed with 'ignore' or 'invalid'");
		return -1;
	}
	if (end_of_line(p) < 0)
		return -1;
	s->nrules++;
	return 0;
}

static int
parse_single(struct parser *p, struct ref *r, const char *kw, const char *what)
{
	struct token *t = peek(p);
	if (r->name[0] != '\0') {
		spec_error(p->s, t->pos, "duplicate '%s' (first at line %d)", kw,
		    r->pos.line);
		return -1;
	}
	p->i++;
	if (take_name(p, r, what) < 0)
		return -1;
	return end_of_line(p);
}

static int
parse_line(struct parser *p)
{
	struct token *t = peek(p);
	struct spec *s = p->s;

	if (t->kind == T_NL) {
		p->i++;
		return 0;
	}
	if (t->kind == T_ERROR)
		return expected(p, "a statement");
	if (is_kw(t, "machine"))
		return parse_single(p, &s->machine, "machine", "a machine name");
	if (is_kw(t, "initial"))
		return parse_single(p, &s->initial, "initial", "a state name");
	if (is_kw(t, "shutdown"))
		return parse_single(p, &s->shutdown, "shutdown", "an event name");
	if (is_kw(t, "event") || is_kw(t, "action") || is_kw(t, "guard") ||
	    is_kw(t, "delay") || is_kw(t, "config")) {
		struct names *ns = is_kw(t, "event") ? &s->events :
		    is_kw(t, "action") ? &s->actions : is_kw(t, "guard") ?
		    &s->guards : is_kw(t, "delay") ? &s->delays : &s->cfgs;
		const char *what = is_kw(t, "event") ? "an event name" :
		    is_kw(t, "action") ? "an action name" : is_kw(t, "guard") ?
		    "a guard name" : is_kw(t, "delay") ? "a delay name" :
		    "a config name";
		p->cur_state = -1;
		p->i++;
		return parse_decls(p, ns, what);
	}
	if (is_kw(t, "state"))
		return parse_state_line(p);
	if (is_kw(t, "timeout"))
		return parse_timeout(p, t);
	if (is_kw(t, "every"))
		return parse_every(p, t);
	if (is_kw(t, "entry"))
		return parse_entry_exit(p, t, 1);
	if (is_kw(t, "exit"))
		return parse_entry_exit(p, t, 0);
	if (t->kind == T_IDENT && is_any_kw(t))
		return expected(p, "a statement");
	return parse_rule(p);
}

int
spec_parse(struct spec *s, const char *file, const char *text, size_t len)
{
	struct parser p = { .s = s, .i = 0, .cur_state = -1 };
	int n;

	memset(s, 0, sizeof(*s));
	s->file = file;
	s->timeout_ev = -1;
	s->initial_idx = s->shutdown_idx = -1;
	s->rules = calloc(SPEC_MAX_RULES, sizeof(*s->rules));
	if (s->rules == NULL)
		return -1;
	n = scan_tokens(text, len, &p.t);
	if (n < 0)
		return -1;
	while (peek(&p)->kind != T_EOF) {
		if (parse_line(&p) < 0) {
			/* Skip the rest of the broken line. */
			while (peek(&p)->kind != T_NL && peek(&p)->kind != T_EOF)
				p.i++;
		}
	}
	free(p.t);
	return s->nerrors ? -1 : 0;
}

void
spec_free(struct spec *s)
{
	free(s->rules);
	free(s->cells);
	s->rules = NULL;
	s->cells = NULL;
}
