/*
 * src/fsm/replay.c: the replay driver.
 *
 * Time: each step line carries t=.  Before an external event at t, every
 * state timeout due by t fires (in deadline order, across instances), as it
 * would have in the daemon.  A line whose event is 'timeout' or
 * 'every:ACTION' is the timer itself: the driver checks that timer is armed
 * and not early, then fires it at t.  Periodic activities never fire on
 * their own here: their jitter is random, they cannot change state, so only
 * the trace says when they ran.
 *
 * After a mismatch the instance is abandoned: its state no longer matches
 * the recording, and every later line would only repeat the first error.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include "fsm/replay.h"

#define MAX_KV     32
#define MAX_INST   32
#define TOLERANCE  0.002   /* trace times have 3 decimals */

struct kv { char *k, *v; };

struct inst {
	char id[64];
	struct fsm m;
	int dead;             /* abandoned after a mismatch */
};

struct replay {
	const struct fsm_spec *spec;
	const char *file;
	FILE *err;
	uint32_t *hits;
	int have_header;
	double late;          /* how late a recorded timer may have fired */
	int other;            /* a header of another machine was seen */
	int nsteps;
	double cfg[256];
	int cfg_set[256];
	struct fsm_clock clock;
	struct inst inst[MAX_INST];
	int ninst;
	int errors;
	/* the step the current line produced */
	struct fsm *capture_for;
	struct fsm_step last;
	int captured;
};

/* logfmt: key=value pairs; a value may be "quoted".  Modifies the line. */
static int
split_kv(char *s, struct kv *kv, int max)
{
	int n = 0;

	while (*s) {
		while (*s == ' ' || *s == '\t' || *s == '\r' || *s == '\n')
			s++;
		if (*s == '\0')
			break;
		char *k = s;
		while (*s && *s != '=' && *s != ' ' && *s != '\t')
			s++;
		if (*s != '=') {  /* a bare word: skip it */
			while (*s && *s != ' ' && *s != '\t')
				s++;
			continue;
		}
		*s++ = '\0';
		char *v = s;
		if (*s == '"') {
			v = ++s;
			while (*s && *s != '"')
				s++;
		} else {
			while (*s && *s != ' ' && *s != '\t' && *s != '\r' && *s != '\n')
				s++;
		}
		if (*s)
			*s++ = '\0';
		if (n < max) {
			kv[n].k = k;
			kv[n].v = v;
			n++;
		}
	}
	return n;
}

static const char *
get(const struct kv *kv, int n, const char *k)
{
	for (int i = 0; i < n; i++)
		if (strcmp(kv[i].k, k) == 0)
			return kv[i].v;
	return NULL;
}

static void
fail(struct replay *r, int line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void
fail(struct replay *r, int line, const char *fmt, ...)
{
	va_list ap;
	fprintf(r->err, "%s:%d: ", r->file, line);
	va_start(ap, fmt);
	vfprintf(r->err, fmt, ap);
	va_end(ap);
	fputc('\n', r->err);
	r->errors++;
}

static void
capture(const struct fsm *m, const struct fsm_step *st, void *arg)
{
	struct replay *r = arg;
	if (m == r->capture_for) {
		r->last = *st;
		r->captured = 1;
	}
}

static int
parse_num(const char *s, double *out)
{
	char *end;
	errno = 0;
	*out = strtod(s, &end);
	return (errno || end == s || *end) ? -1 : 0;
}

static int
header(struct replay *r, int line, const struct kv *kv, int n)
{
	const char *ver = get(kv, n, "trace");
	const char *hash = get(kv, n, "spec");

	if (strcmp(ver, "1") != 0) {
		fail(r, line, "unsupported trace version '%s' (this replay reads %d)",
		    ver, FSM_TRACE_VERSION);
		return -1;
	}
	/* A recording from a real loop may show a timer firing a little
	 * after an event that arrived at the same moment; hand-written traces
	 * (clock=virtual, the default) are exact. */
	const char *clk = get(kv, n, "clock");
	r->late = clk != NULL && strcmp(clk, "real") == 0 ? 1.0 : 0.0;
	if (hash != NULL && strcmp(hash, r->spec->hash) != 0)
		fprintf(r->err, "%s:%d: note: recorded with spec %s, replaying with %s\n",
		    r->file, line, hash, r->spec->hash);
	for (int i = 0; i < n; i++) {
		if (strncmp(kv[i].k, "cfg.", 4) != 0)
			continue;
		int c;
		for (c = 0; c < r->spec->ncfg; c++)
			if (strcmp(r->spec->cfg_names[c], kv[i].k + 4) == 0)
				break;
		if (c == r->spec->ncfg)
			continue;  /* a value the current spec no longer names */
		if (parse_num(kv[i].v, &r->cfg[c]) < 0 || r->cfg[c] < 0) {
			fail(r, line, "bad value for %s: '%s' (seconds)", kv[i].k,
			    kv[i].v);
			return -1;
		}
		r->cfg_set[c] = 1;
	}
	for (int c = 0; c < r->spec->ncfg; c++)
		if (!r->cfg_set[c]) {
			fail(r, line, "header lacks cfg.%s (seconds)",
			    r->spec->cfg_names[c]);
			return -1;
		}
	r->have_header = 1;
	return 0;
}

static struct inst *
instance(struct replay *r, int line, const char *id, double t)
{
	for (int i = 0; i < r->ninst; i++)
		if (strcmp(r->inst[i].id, id) == 0)
			return &r->inst[i];
	if (r->ninst == MAX_INST || strlen(id) >= sizeof(r->inst[0].id)) {
		fail(r, line, "too many instances or id too long");
		return NULL;
	}
	struct inst *in = &r->inst[r->ninst];
	snprintf(in->id, sizeof(in->id), "%s", id);
	if (fsm_init(&in->m, r->spec, NULL, r, in->id, r->cfg, &r->clock,
	    (uint64_t)(r->ninst + 1)) < 0) {
		fail(r, line, "out of memory");
		return NULL;
	}
	in->m.trace = capture;
	in->m.trace_arg = r;
	r->ninst++;
	(void)t;
	return in;
}

/* Fires every state timeout due by `t`, earliest first. */
static void
advance(struct replay *r, double t)
{
	for (;;) {
		struct inst *best = NULL;
		for (int i = 0; i < r->ninst; i++) {
			struct fsm_timer *tm = &r->inst[i].m.timers[0];
			if (r->inst[i].dead || !tm->armed ||
			    tm->deadline > t - r->late + TOLERANCE)
				continue;
			if (best == NULL || tm->deadline < best->m.timers[0].deadline)
				best = &r->inst[i];
		}
		if (best == NULL)
			break;
		if (best->m.timers[0].deadline > r->clock.vnow)
			r->clock.vnow = best->m.timers[0].deadline;
		fsm_fire(&best->m, 0);
		for (int k = 0; k < best->m.spec->nrules; k++)
			r->hits[k] += best->m.hits[k], best->m.hits[k] = 0;
	}
	if (t > r->clock.vnow)
		r->clock.vnow = t;
}

static void
set_guards(struct replay *r, int line, struct fsm *m, const char *g)
{
	char buf[256], *save = NULL;

	m->rec_nguard = 0;
	if (g == NULL || strcmp(g, "-") == 0)
		return;
	snprintf(buf, sizeof(buf), "%s", g);
	for (char *p = strtok_r(buf, ",", &save); p; p = strtok_r(NULL, ",", &save)) {
		char *colon = strchr(p, ':');
		int gi;
		if (colon == NULL) {
			fail(r, line, "bad guard '%s' (expected NAME:yes or NAME:no)", p);
			continue;
		}
		*colon = '\0';
		for (gi = 0; gi < r->spec->nguards; gi++)
			if (strcmp(r->spec->guard_names[gi], p) == 0)
				break;
		if (gi == r->spec->nguards) {
			fail(r, line, "unknown guard '%s'", p);
			continue;
		}
		if (m->rec_nguard < sizeof(m->rec_guard_set)) {
			m->rec_guard_set[m->rec_nguard] = (uint8_t)gi;
			m->rec_guard_val[m->rec_nguard++] =
			    strcmp(colon + 1, "yes") == 0;
		}
	}
}

static void
acts_str(const struct fsm_spec *sp, const struct fsm_step *st, char *buf,
    size_t n)
{
	size_t len = 0;
	buf[0] = '\0';
	if (st->nacts == 0)
		snprintf(buf, n, "-");
	for (int i = 0; i < st->nacts && len < n; i++)
		len += (size_t)snprintf(buf + len, n - len, "%s%s", i ? "," : "",
		    sp->action_names[st->acts[i]]);
}

/* Compares what the line expects with what the engine did. */
static void
compare(struct replay *r, int line, struct inst *in, const struct kv *kv,
    int n)
{
	const struct fsm_spec *sp = r->spec;
	const struct fsm_step *st = &r->last;
	char exp[512] = "", got[512] = "", a[400];
	size_t el = 0, gl = 0;
	const char *v;
	static const char *kinds[] = { "trans", "ignore", "invalid" };
	const char *kind = st->every >= 0 ? "every" :
	    st->kind == FSM_NONE ? "start" : kinds[st->kind];
	const char *before = st->kind == FSM_NONE && st->every < 0 ? "-" :
	    sp->state_names[st->state];

#define DIFF(key, want, have) do {                                        \
		if (strcmp((want), (have)) != 0) {                        \
			el += (size_t)snprintf(exp + el, sizeof(exp) - el, " %s=%s", key, want); \
			gl += (size_t)snprintf(got + gl, sizeof(got) - gl, " %s=%s", key, have); \
		}                                                         \
	} while (0)

	if ((v = get(kv, n, "state")) != NULL)
		DIFF("state", v, before);
	if ((v = get(kv, n, "next")) != NULL)
		DIFF("next", v, sp->state_names[st->next]);
	if ((v = get(kv, n, "kind")) != NULL)
		DIFF("kind", v, kind);
	if ((v = get(kv, n, "actions")) != NULL) {
		acts_str(sp, st, a, sizeof(a));
		DIFF("actions", v, a);
	}
	if ((v = get(kv, n, "timer")) != NULL) {
		char tb[32];
		double want;
		if (st->timer < 0)
			snprintf(tb, sizeof(tb), "-");
		else
			snprintf(tb, sizeof(tb), "%.3f", st->timer);
		if (parse_num(v, &want) < 0 || st->timer < 0 ||
		    want - st->timer > TOLERANCE || st->timer - want > TOLERANCE)
			DIFF("timer", v, tb);
	}
#undef DIFF
	if (el > 0) {
		fail(r, line, "expected%s got%s", exp, got);
		in->dead = 1;
	}
}

static void
step(struct replay *r, int line, struct kv *kv, int n)
{
	const char *ev = get(kv, n, "event"), *ts = get(kv, n, "t");
	const char *id = get(kv, n, "id");
	const char *timer = get(kv, n, "timer");
	struct inst *in;
	double t;

	if (!r->have_header) {
		fail(r, line, "expected a 'trace=%d fsm=%s ...' header before the first step",
		    FSM_TRACE_VERSION, r->spec->name);
		r->have_header = -1;  /* say it once */
		return;
	}
	if (r->have_header < 0)
		return;
	if (ts == NULL || parse_num(ts, &t) < 0) {
		fail(r, line, "missing or bad t= (seconds)");
		return;
	}
	if (t + TOLERANCE < r->clock.vnow) {
		fail(r, line, "t=%s goes back in time (now %.3f)", ts, r->clock.vnow);
		return;
	}
	in = instance(r, line, id ? id : "main", t);
	if (in == NULL || in->dead)
		return;
	struct fsm *m = &in->m;
	r->capture_for = m;
	r->captured = 0;

	if (strcmp(ev, "start") == 0) {
		advance(r, t);
		if (m->started) {
			fail(r, line, "instance '%s' started twice", in->id);
			in->dead = 1;
			return;
		}
		if (timer && parse_num(timer, &m->rec_delay) < 0)
			fail(r, line, "bad timer=%s", timer);
		fsm_start(m);
	} else if (strncmp(ev, "every:", 6) == 0) {
		const struct fsm_state_def *sd;
		int k;
		if (!m->started) {
			fail(r, line, "'%s' before instance '%s' started", ev, in->id);
			in->dead = 1;
			return;
		}
		advance(r, t);
		sd = &r->spec->states[m->state];
		for (k = 0; k < sd->nevery; k++)
			if (strcmp(r->spec->action_names[r->spec->acts[
			    r->spec->every[sd->every_off + k].act_off]], ev + 6) == 0)
				break;
		if (k == sd->nevery || !m->timers[1 + k].armed) {
			fail(r, line, "expected activity %s armed got none in state %s",
			    ev + 6, r->spec->state_names[m->state]);
			in->dead = 1;
			return;
		}
		fsm_fire(m, 1 + k);
	} else {
		int e = fsm_event_index(r->spec, ev);
		if (e < 0) {
			fail(r, line, "unknown event '%s' for machine %s", ev,
			    r->spec->name);
			return;
		}
		if (!m->started)
			fsm_start(m);
		if (e == r->spec->ev_timeout) {
			/* The timer itself: fire everything else due first,
			 * but not this one, which may have run late. */
			struct fsm_timer *tm = &m->timers[0];
			int armed = tm->armed;
			tm->armed = 0;
			advance(r, t);
			tm->armed = armed;
			if (!tm->armed) {
				fail(r, line, "expected a timeout armed in state %s got none",
				    r->spec->state_names[m->state]);
				in->dead = 1;
				return;
			}
			if (t + TOLERANCE < tm->deadline) {
				fail(r, line, "expected timeout at t>=%.3f got t=%s (early)",
				    tm->deadline, ts);
				in->dead = 1;
				return;
			}
			if (timer && parse_num(timer, &m->rec_delay) < 0)
				fail(r, line, "bad timer=%s", timer);
			set_guards(r, line, m, get(kv, n, "guard"));
			fsm_fire(m, 0);
		} else {
			advance(r, t);
			if (timer && parse_num(timer, &m->rec_delay) < 0)
				fail(r, line, "bad timer=%s", timer);
			set_guards(r, line, m, get(kv, n, "guard"));
			fsm_dispatch(m, (uint8_t)e);
		}
	}
	for (int k = 0; k < r->spec->nrules; k++)
		r->hits[k] += m->hits[k], m->hits[k] = 0;
	if (!r->captured) {
		fail(r, line, "expected a step for '%s' got none", ev);
		return;
	}
	compare(r, line, in, kv, n);
}

int
replay_text(const struct fsm_spec *spec, const char *name, const char *text,
    uint32_t *hits, FILE *err)
{
	struct replay *r = calloc(1, sizeof(*r));
	int lineno = 0, errors;
	const char *p = text;

	if (r == NULL)
		return -1;
	r->spec = spec;
	r->file = name;
	r->err = err;
	r->hits = hits;
	while (*p) {
		const char *nl = strchr(p, '\n');
		size_t len = nl ? (size_t)(nl - p) : strlen(p);
		char line[2048];
		struct kv kv[MAX_KV];
		int n;
		const char *fsm;

		lineno++;
		if (len >= sizeof(line)) {
			fail(r, lineno, "line longer than %zu bytes", sizeof(line) - 1);
			len = 0;
		}
		memcpy(line, p, len);
		line[len] = '\0';
		p = nl ? nl + 1 : p + len;
		char *s = line;
		while (*s == ' ' || *s == '\t')
			s++;
		if (*s == '#' || *s == '\0')
			continue;
		n = split_kv(s, kv, MAX_KV);
		fsm = get(kv, n, "fsm");
		if (get(kv, n, "trace") != NULL) {
			if (fsm != NULL && strcmp(fsm, spec->name) == 0)
				header(r, lineno, kv, n);
			else
				r->other = 1;  /* another machine's steps follow */
			continue;
		}
		/* A recording mixes trace lines with ordinary log lines, so
		 * there only lines naming the machine count.  A hand-written
		 * trace (no clock=real) may leave fsm= out, but only after its
		 * header: before it, a line without fsm= is someone's log. */
		if (fsm != NULL ? strcmp(fsm, spec->name) != 0 :
		    (r->have_header <= 0 || r->late > 0 || r->other ||
		    get(kv, n, "event") == NULL))
			continue;
		if (get(kv, n, "event") == NULL) {
			fail(r, lineno, "step without event=");
			continue;
		}
		r->nsteps++;
		step(r, lineno, kv, n);
	}
	if (r->have_header > 0 && r->nsteps == 0 && r->errors == 0)
		fail(r, lineno ? lineno : 1, "no steps for machine %s", spec->name);
	if (!r->have_header && r->errors == 0)
		fail(r, lineno ? lineno : 1, "no '%s' trace found (expected a 'trace=%d fsm=%s' header)",
		    spec->name, FSM_TRACE_VERSION, spec->name);
	for (int i = 0; i < r->ninst; i++)
		fsm_free(&r->inst[i].m);
	errors = r->errors;
	free(r);
	return errors;
}

int
replay_file(const struct fsm_spec *spec, const char *path, uint32_t *hits,
    FILE *err)
{
	FILE *f = fopen(path, "r");
	char *buf;
	long n;
	int rc;

	if (f == NULL) {
		fprintf(err, "%s: %s\n", path, strerror(errno));
		return -1;
	}
	if (fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0 ||
	    fseek(f, 0, SEEK_SET) != 0) {
		fprintf(err, "%s: cannot size the file\n", path);
		fclose(f);
		return -1;
	}
	buf = malloc((size_t)n + 1);
	if (buf == NULL || fread(buf, 1, (size_t)n, f) != (size_t)n) {
		fprintf(err, "%s: read error\n", path);
		free(buf);
		fclose(f);
		return -1;
	}
	fclose(f);
	buf[n] = '\0';
	rc = replay_text(spec, path, buf, hits, err);
	free(buf);
	return rc;
}

double
replay_coverage(const struct fsm_spec *spec, const uint32_t *hits, FILE *out)
{
	int total = 0, covered = 0;

	for (int k = 0; k < spec->nrules; k++)
		if (spec->rules[k].kind == FSM_R_TRANS) {
			total++;
			covered += hits[k] > 0;
		}
	fprintf(out, "transitions covered: %d/%d\n", covered, total);
	for (int s = 0; s < spec->nstates; s++)
		for (int e = 0; e < spec->nevents; e++) {
			const struct fsm_cell *c = &spec->cells[s * spec->nevents + e];
			for (int i = 0; i < c->n; i++) {
				const struct fsm_rule *r = &spec->rules[c->first + i];
				if (r->kind != FSM_R_TRANS || hits[c->first + i])
					continue;
				fprintf(out, "uncovered: %s %s%s%s%s -> %s\n",
				    spec->state_names[s], spec->event_names[e],
				    r->guard != FSM_NONE ? " [" : "",
				    r->guard != FSM_NONE ? spec->guard_names[r->guard] : "",
				    r->guard != FSM_NONE ? "]" : "",
				    spec->state_names[r->target]);
			}
		}
	return total ? 100.0 * covered / total : 100.0;
}
