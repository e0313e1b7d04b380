/*
 * src/session/backoff.c: when to try again.  Pure: the clock and the random
 * number come in as arguments, so tests pin them.
 *
 * Capped exponential backoff with full jitter: attempt n (1-based) waits a
 * uniform random time in [0, min(max, initial * factor^(n-1))], then at
 * least the floor a 440 set.  A busy lease is polled at a fixed
 * SESSION_LEASE_POLL instead (session_lease_poll_delay).  Full jitter spreads a fleet
 * that lost the server at the same moment; the cost is that a single
 * retry may come almost at once, which the cap on attempts absorbs.
 *
 * The attempt counter resets only when a connection stayed open for
 * SKYKEEPER_BACKOFF_RESET: a server that accepts and drops at once must
 * not keep the delay at its minimum.  There is no timer for that (only the
 * engine arms state timers): note_open stamps the time, and leaving open
 * looks at how long it lasted.
 */
#include <math.h>
#include "session/session.h"

double
session_unit_random(uint64_t *st)
{
	uint64_t x = *st ? *st : 0x9E3779B97F4A7C15ULL;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*st = x;
	return (double)((x * 0x2545F4914F6CDD1DULL) >> 11) /
	    (double)(1ULL << 53);
}

double
session_backoff_delay(const struct cfg *c, const struct session_backoff *b,
    double u)
{
	double cap = c->backoff_initial;
	uint32_t n = b->attempts > 0 ? b->attempts - 1 : 0;

	/* factor^n overflows to inf long before n does: stop at the cap. */
	for (uint32_t i = 0; i < n && cap < c->backoff_max; i++)
		cap *= c->backoff_factor;
	if (cap > c->backoff_max)
		cap = c->backoff_max;
	return fmax(u * cap, b->floor);
}

/* Called when a connection that was open ends, whatever ended it. */
void
session_backoff_leave_open(const struct cfg *c, struct session_backoff *b,
    double now)
{
	if (b->opened_at >= 0 && now - b->opened_at >= c->backoff_reset) {
		b->attempts = 0;
		b->replaced = 0;
	}
	b->opened_at = -1;
}

void
session_backoff_failure(const struct cfg *c, struct session_backoff *b,
    double now)
{
	session_backoff_leave_open(c, b, now);
	b->attempts++;
	b->floor = 0;
}

/* Another process holds the lease: ask again after SESSION_LEASE_POLL, or
 * as soon as the holder's lease runs out when that is sooner.  Not a
 * failure (the attempt counter stays) and not jittered: the holder is
 * alive and releases the lease when it is done. */
double
session_lease_poll_delay(double expires_in)
{
	if (expires_in > 0.05 && expires_in < SESSION_LEASE_POLL)
		return expires_in;
	return SESSION_LEASE_POLL;
}

void
session_backoff_replaced(const struct cfg *c, struct session_backoff *b,
    double now)
{
	session_backoff_leave_open(c, b, now);
	b->attempts++;
	b->replaced++;
	b->floor = c->replaced_floor;
}

/* The guard runs before the actions of the 'replaced' rule: this one would
 * be the (replaced + 1)th in a row, unless the open it ends lasted long
 * enough to forgive the earlier ones. */
int
session_backoff_replaced_too_often(const struct cfg *c,
    const struct session_backoff *b, double now)
{
	uint32_t before = b->replaced;

	if (b->opened_at >= 0 && now - b->opened_at >= c->backoff_reset)
		before = 0;
	return before + 1 >= SESSION_REPLACED_PARK;
}
