/*
 * src/fsm/trace.c: the trace line, version FSM_TRACE_VERSION.
 *
 * The line the daemon logs for each dispatch is the line `skykeeper replay`
 * reads: this file is that interface.  Keys (logfmt, any order on input):
 *   t        seconds since the machine's clock started, 3 decimals
 *   fsm, id  machine and instance
 *   state    state before; '-' for the start step
 *   event    event name, 'start', or 'every:ACTION' for a periodic activity
 *   guard    guards evaluated, 'name:yes' / 'name:no', comma-separated, or '-'
 *   next     state after
 *   kind     trans | ignore | invalid | start | every
 *   actions  actions run (exit, transition, entry order), or '-'
 *   timer    seconds the state timer was armed with, when this step armed it
 * A header line 'trace=1 fsm=NAME spec=HASH clock=real cfg.NAME=SECONDS ...'
 * precedes the steps of a machine.  clock=real says timers ran on a real
 * loop and may have fired late; hand-written traces omit it (exact time).  Changing a key's meaning means a new version.
 */
#include <stdio.h>
#include <string.h>
#include "fsm/fsm.h"
#include "log/log.h"

#define PUT(...) do {                                                   \
		int w_ = snprintf(buf + len, len < n ? n - len : 0, __VA_ARGS__); \
		if (w_ < 0)                                             \
			return -1;                                      \
		len += (size_t)w_;                                      \
	} while (0)

int
fsm_trace_format(const struct fsm *m, const struct fsm_step *st, char *buf,
    size_t n)
{
	const struct fsm_spec *sp = m->spec;
	static const char *kinds[] = { "trans", "ignore", "invalid" };
	size_t len = 0;
	const char *kind;

	if (st->every >= 0)
		kind = "every";
	else if (st->kind == FSM_NONE)
		kind = "start";
	else
		kind = kinds[st->kind];
	PUT("t=%.3f fsm=%s id=%s state=%s", st->t, sp->name, m->id,
	    st->kind == FSM_NONE && st->every < 0 ? "-" :
	    sp->state_names[st->state]);
	if (st->every >= 0)
		PUT(" event=every:%s", sp->action_names[st->acts[0]]);
	else if (st->kind == FSM_NONE)
		PUT(" event=start");
	else
		PUT(" event=%s", sp->event_names[st->event]);
	PUT(" guard=");
	if (st->nguards == 0)
		PUT("-");
	for (int i = 0; i < st->nguards; i++)
		PUT("%s%s:%s", i ? "," : "", sp->guard_names[st->guards[i]],
		    st->guard_val[i] ? "yes" : "no");
	PUT(" next=%s kind=%s actions=", sp->state_names[st->next], kind);
	if (st->nacts == 0)
		PUT("-");
	for (int i = 0; i < st->nacts; i++)
		PUT("%s%s", i ? "," : "", sp->action_names[st->acts[i]]);
	if (st->timer >= 0)
		PUT(" timer=%.3f", st->timer);
	if (len >= n)
		return -1;
	return (int)len;
}

int
fsm_trace_header(const struct fsm_spec *sp, const double *cfg, char *buf,
    size_t n)
{
	size_t len = 0;

	PUT("trace=%d fsm=%s spec=%s clock=real", FSM_TRACE_VERSION, sp->name,
	    sp->hash);
	for (int i = 0; i < sp->ncfg; i++)
		PUT(" cfg.%s=%.3f", sp->cfg_names[i], cfg[i]);
	if (len >= n)
		return -1;
	return (int)len;
}

/* The daemon's trace sink (struct fsm.trace): one logfmt line per step
 * through the logger.  An 'invalid' step is a bug somewhere else in the
 * daemon, so it goes out as a warning; the line is the same either way. */
void
fsm_trace_log(const struct fsm *m, const struct fsm_step *st, void *arg)
{
	char line[1024];

	(void)arg;
	if (fsm_trace_format(m, st, line, sizeof(line)) < 0)
		return;
	log_msg(st->kind == FSM_R_INVALID && st->every < 0 ? LOG_WARN : LOG_INFO,
	    "%s", line);
}

void
fsm_trace_log_header(const struct fsm_spec *spec, const double *cfg)
{
	char line[2048];

	if (fsm_trace_header(spec, cfg, line, sizeof(line)) >= 0)
		log_info("%s", line);
}
