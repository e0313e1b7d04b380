/*
 * src/fsm/engine.c: dispatch over the generated tables.
 *
 * Run-to-completion: an event raised while a dispatch is under way (by an
 * action, say) is queued and handled after the current one finishes, so an
 * action never sees the machine half-way through a transition.
 *
 * Timers: slot 0 is the state's timeout, slots 1.. its periodic activities.
 * They are armed when a state is entered and stopped when it is left, here
 * and nowhere else.  With libev we re-arm with ev_timer_again, which moves
 * one heap entry instead of stopping and starting a watcher: the idle
 * deadline is re-armed on every inbound frame, so this is the hot path.
 */
#include <stdlib.h>
#include <string.h>
#include "fsm/fsm.h"

#define ACTIVITY_BIT 0x80   /* queue entries >= this are activity firings */

static void timer_cb(struct ev_loop *loop, ev_timer *w, int revents);

double
fsm_now(const struct fsm *m)
{
	if (m->clock->loop != NULL)
		return ev_now(m->clock->loop) - m->clock->t0;
	return m->clock->vnow;
}

/* xorshift64*: jitter needs spread, not secrecy. */
static double
rand_unit(struct fsm *m)
{
	m->rng ^= m->rng >> 12;
	m->rng ^= m->rng << 25;
	m->rng ^= m->rng >> 27;
	return (double)((m->rng * 0x2545F4914F6CDD1DULL) >> 11) /
	    (double)(1ULL << 53);
}

static void
timer_arm(struct fsm *m, int slot, double after)
{
	struct fsm_timer *t = &m->timers[slot];

	if (after < 0.001)
		after = 0.001;
	t->armed = 1;
	if (m->clock->loop != NULL) {
		t->w.repeat = after;
		ev_timer_again(m->clock->loop, &t->w);
	} else {
		t->deadline = m->clock->vnow + after;
	}
}

static void
timer_stop(struct fsm *m, int slot)
{
	struct fsm_timer *t = &m->timers[slot];

	if (!t->armed)
		return;
	t->armed = 0;
	if (m->clock->loop != NULL)
		ev_timer_stop(m->clock->loop, &t->w);
}

static double
dur_value(struct fsm *m, const struct fsm_dur *d)
{
	switch (d->kind) {
	case FSM_DUR_CONST:
		return d->seconds;
	case FSM_DUR_CFG:
		return m->cfg[d->index];
	case FSM_DUR_DELAY:
		if (m->bind == NULL)
			return m->rec_delay;
		return m->bind->delays[d->index](m, m->ctx);
	default:
		return 0;
	}
}

static void
run_acts_slow(struct fsm *m, uint16_t off, uint8_t n, struct fsm_step *st)
{
	for (uint8_t i = 0; i < n; i++) {
		uint8_t a = m->spec->acts[off + i];
		if (st != NULL && st->nacts < sizeof(st->acts))
			st->acts[st->nacts++] = a;
		if (m->bind != NULL)
			m->bind->actions[a](m, m->ctx);
	}
}

/* Most rules and states have no actions: test n here so the common case
 * costs a compare instead of a call (see make bench). */
static inline void
run_acts(struct fsm *m, uint16_t off, uint8_t n, struct fsm_step *st)
{
	if (n != 0)
		run_acts_slow(m, off, n, st);
}

static void
arm_activity(struct fsm *m, int k)
{
	const struct fsm_state_def *sd = &m->spec->states[m->state];
	const struct fsm_every *e = &m->spec->every[sd->every_off + k];
	double period = dur_value(m, &e->period);
	double jitter = e->jitter.kind ? dur_value(m, &e->jitter) : 0;

	m->timers[1 + k].nominal = period;
	timer_arm(m, 1 + k, period + jitter * (2 * rand_unit(m) - 1));
}

static void
enter_timers_slow(struct fsm *m, struct fsm_step *st)
{
	const struct fsm_state_def *sd = &m->spec->states[m->state];

	if (sd->timeout.kind != FSM_DUR_NONE) {
		double v = dur_value(m, &sd->timeout);
		timer_arm(m, 0, v);
		if (st != NULL)
			st->timer = v;
	}
	for (int k = 0; k < sd->nevery; k++)
		arm_activity(m, k);
}

static inline void
enter_timers(struct fsm *m, struct fsm_step *st)
{
	const struct fsm_state_def *sd = &m->spec->states[m->state];

	if ((sd->timeout.kind | sd->nevery) != 0)
		enter_timers_slow(m, st);
}

static inline void
leave_timers(struct fsm *m)
{
	const struct fsm_state_def *sd = &m->spec->states[m->state];

	if ((sd->timeout.kind | sd->nevery) == 0)
		return;
	if (sd->timeout.kind != FSM_DUR_NONE)
		timer_stop(m, 0);
	for (int k = 0; k < sd->nevery; k++)
		timer_stop(m, 1 + k);
}

static int
eval_guard(struct fsm *m, uint8_t g, struct fsm_step *st)
{
	int v = 0;

	if (m->bind != NULL) {
		v = m->bind->guards[g](m, m->ctx) != 0;
	} else {
		for (int i = 0; i < m->rec_nguard; i++)
			if (m->rec_guard_set[i] == g)
				v = m->rec_guard_val[i];
	}
	if (st != NULL && st->nguards < sizeof(st->guards)) {
		st->guards[st->nguards] = g;
		st->guard_val[st->nguards++] = (uint8_t)v;
	}
	return v;
}

static void
step_init(struct fsm *m, struct fsm_step *st, uint8_t ev)
{
	st->t = fsm_now(m);
	st->state = st->next = m->state;
	st->event = ev;
	st->kind = FSM_R_IGNORE;
	st->nacts = st->nguards = 0;
	st->every = -1;
	st->timer = -1;
}

static void
step_activity(struct fsm *m, int k)
{
	const struct fsm_state_def *sd = &m->spec->states[m->state];
	const struct fsm_every *e;
	struct fsm_step step, *st = m->trace != NULL ? &step : NULL;

	if (k >= sd->nevery)
		return;  /* fired after the state was left: stale queue entry */
	e = &m->spec->every[sd->every_off + k];
	if (st != NULL) {
		step_init(m, st, FSM_NONE);
		st->kind = FSM_NONE;
		st->every = (int16_t)k;
	}
	run_acts(m, e->act_off, e->act_n, st);
	if (!m->timers[1 + k].armed)
		arm_activity(m, k);
	if (st != NULL)
		m->trace(m, st, m->trace_arg);
}

static void
step_event(struct fsm *m, uint8_t ev)
{
	const struct fsm_spec *sp = m->spec;
	const struct fsm_cell *c = &sp->cells[m->state * sp->nevents + ev];
	const struct fsm_rule *r = NULL;
	struct fsm_step step, *st = m->trace != NULL ? &step : NULL;
	uint16_t i;

	if (st != NULL)
		step_init(m, st, ev);
	for (i = 0; i < c->n; i++) {
		r = &sp->rules[c->first + i];
		if (r->guard == FSM_NONE || eval_guard(m, r->guard, st))
			break;
	}
	if (i == c->n) {
		/* fsmc proves the last rule of a cell is unguarded, so only
		 * hand-made tables get here; count it as invalid. */
		m->invalid++;
		if (st != NULL) {
			st->kind = FSM_R_INVALID;
			m->trace(m, st, m->trace_arg);
		}
		return;
	}
	m->hits[c->first + i]++;
	if (r->kind == FSM_R_TRANS) {
		const struct fsm_state_def *from = &sp->states[m->state];
		if (!r->reenter) {
			/* A change of state, or an external self-transition
			 * (515 in connecting: reconnect from scratch). */
			leave_timers(m);
			run_acts(m, from->exit_off, from->exit_n, st);
			run_acts(m, r->act_off, r->act_n, st);
			m->state = r->target;
			enter_timers(m, st);
			run_acts(m, sp->states[r->target].entry_off,
			    sp->states[r->target].entry_n, st);
		} else {
			/* 'reenter' keeps the state: no exit/entry, activities
			 * keep their schedule, only the state timer restarts
			 * (the idle deadline on inbound traffic). */
			if (from->timeout.kind != FSM_DUR_NONE) {
				double v = dur_value(m, &from->timeout);
				timer_arm(m, 0, v);
				if (st != NULL)
					st->timer = v;
			}
			run_acts(m, r->act_off, r->act_n, st);
		}
	} else if (r->kind == FSM_R_IGNORE) {
		m->ignored++;
	} else {
		m->invalid++;
	}
	if (st != NULL) {
		st->kind = r->kind;
		st->next = m->state;
		m->trace(m, st, m->trace_arg);
	}
}

static void
drain_queue(struct fsm *m)
{
	while (m->qlen > 0) {
		uint8_t e = m->queue[m->qhead];
		m->qhead = (uint8_t)((m->qhead + 1) % FSM_QUEUE);
		m->qlen--;
		if (e & ACTIVITY_BIT)
			step_activity(m, e & ~ACTIVITY_BIT);
		else
			step_event(m, e);
	}
	m->busy = 0;
	m->rec_nguard = 0;
}

static void
enqueue(struct fsm *m, uint8_t e)
{
	if (m->qlen == FSM_QUEUE) {
		m->dropped++;  /* an action storm; the owner logs the counter */
		return;
	}
	m->queue[(m->qhead + m->qlen) % FSM_QUEUE] = e;
	m->qlen++;
}

void
fsm_dispatch(struct fsm *m, uint8_t ev)
{
	const struct fsm_spec *sp = m->spec;

	if (ev >= sp->nevents) {
		m->invalid++;
		return;
	}
	if (m->busy) {
		enqueue(m, ev);
		return;
	}
	if (m->trace == NULL) {
		/* Fast path, decided by fsmc at build time: nothing runs, no
		 * timer moves, nothing can be raised; only the state changes. */
		const struct fsm_cell *c = &sp->cells[m->state * sp->nevents + ev];
		uint16_t first = c->first;
		const struct fsm_rule *r = &sp->rules[first];
		if (c->n != 0 && r->plain) {
			m->hits[first]++;
			m->state = r->target;
			return;
		}
	}
	m->busy = 1;
	step_event(m, ev);
	if (m->qlen == 0) {  /* the common case: nothing raised */
		m->busy = 0;
		m->rec_nguard = 0;
		return;
	}
	drain_queue(m);
}

void
fsm_post(struct fsm *m, uint8_t ev)
{
	fsm_dispatch(m, ev);
}

void
fsm_fire(struct fsm *m, int slot)
{
	if (!m->timers[slot].armed)
		return;
	timer_stop(m, slot);  /* ev_timer_again left it repeating */
	if (slot == 0) {
		fsm_dispatch(m, m->spec->ev_timeout);
		return;
	}
	if (m->busy) {
		enqueue(m, (uint8_t)(ACTIVITY_BIT | (slot - 1)));
		return;
	}
	m->busy = 1;
	enqueue(m, (uint8_t)(ACTIVITY_BIT | (slot - 1)));
	drain_queue(m);
}

static void
timer_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct fsm_timer *t = (struct fsm_timer *)w;

	(void)loop;
	(void)revents;
	fsm_fire(t->m, t->slot);
}

int
fsm_init(struct fsm *m, const struct fsm_spec *spec,
    const struct fsm_binding *bind, void *ctx, const char *id,
    const double *cfg, struct fsm_clock *clock, uint64_t seed)
{
	memset(m, 0, sizeof(*m));
	m->spec = spec;
	m->bind = bind;
	m->ctx = ctx;
	m->id = id;
	m->cfg = cfg;
	m->clock = clock;
	m->state = spec->initial;
	m->rng = seed ? seed : 0x9E3779B97F4A7C15ULL;
	m->rec_delay = 1.0;
	for (int i = 0; i < 1 + FSM_MAX_EVERY; i++) {
		ev_init(&m->timers[i].w, timer_cb);
		m->timers[i].m = m;
		m->timers[i].slot = i;
	}
	m->hits = calloc(spec->nrules ? spec->nrules : 1, sizeof(*m->hits));
	return m->hits == NULL ? -1 : 0;
}

void
fsm_start(struct fsm *m)
{
	const struct fsm_state_def *sd = &m->spec->states[m->state];
	struct fsm_step step, *st = m->trace != NULL ? &step : NULL;

	if (m->started)
		return;
	m->started = 1;
	m->busy = 1;
	if (st != NULL) {
		step_init(m, st, FSM_NONE);
		st->kind = FSM_NONE;
	}
	enter_timers(m, st);
	run_acts(m, sd->entry_off, sd->entry_n, st);
	if (st != NULL)
		m->trace(m, st, m->trace_arg);
	drain_queue(m);
}

void
fsm_stop_timers(struct fsm *m)
{
	for (int i = 0; i < 1 + FSM_MAX_EVERY; i++)
		timer_stop(m, i);
}

void
fsm_free(struct fsm *m)
{
	fsm_stop_timers(m);
	free(m->hits);
	m->hits = NULL;
}

int
fsm_event_index(const struct fsm_spec *spec, const char *name)
{
	for (int i = 0; i < spec->nevents; i++)
		if (strcmp(spec->event_names[i], name) == 0)
			return i;
	return -1;
}

int
fsm_state_index(const struct fsm_spec *spec, const char *name)
{
	for (int i = 0; i < spec->nstates; i++)
		if (strcmp(spec->state_names[i], name) == 0)
			return i;
	return -1;
}
