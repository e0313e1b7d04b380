/*
 * src/session/session.h: one WhatsApp account's session, driven by the
 * lifecycle tables generated from fsm/lifecycle.fsm.
 *
 * Everything a session needs hangs off its struct session; what sessions
 * share (loop, lws context, store, configuration, trace clock) is in the
 * struct session_env the daemon owns.  The lifecycle_act_* / _guard_ /
 * _delay_ functions the generated binding names live in session.c (the
 * network and store side) and backoff.c (the pure policy).
 */
#ifndef SK_SESSION_H
#define SK_SESSION_H

#include <stdint.h>
#include <ev.h>
#include "cli/config.h"
#include "fsm/fsm.h"
#include "lifecycle_fsm.h"
#include "store/snapshot.h"

struct net;
struct net_wa;
struct store;

/* Every this many failures in a row the next connect reloads the session
 * from the store (both copies read, the newest valid one wins) instead of
 * reusing the one in memory: once per SESSION_RELOAD_AFTER attempts, so a
 * long outage does not cost a database round trip per attempt. */
#define SESSION_RELOAD_AFTER   5
/* Replaced this many times in a row: park, never fight another client. */
#define SESSION_REPLACED_PARK  3
/* No snapshot (pairing needed) or an unreadable one: retry this rarely. */
#define SESSION_PARK_RETRY     300.0
/* Unattended pairing: the pause after a round that ended unpaired doubles
 * from SKYKEEPER_PAIR_RETRY up to this, so a forgotten bot does not show
 * QR codes (or push a code notification to the phone) every few minutes
 * for ever. */
#define SESSION_PAIR_RETRY_MAX 3600.0
/* Another process holds the session's lease (most often the dyno being
 * replaced, which releases it right after its final save): ask again this
 * often instead of waiting out the holder's TTL.  One small UPDATE per
 * second per waiting session; the wait is never counted as a failure. */
#define SESSION_LEASE_POLL     1.0
/* Closed: the lease is released once the transport is fully closed (the
 * server saw this connection end), checked every SESSION_RELEASE_STEP, but
 * not later than SESSION_RELEASE_WAIT after the final save (run.c lingers
 * 1 s for the releases). */
#define SESSION_RELEASE_WAIT   0.5
#define SESSION_RELEASE_STEP   0.005

/* The pure part of the reconnect policy (backoff.c). */
struct session_backoff {
	uint32_t attempts;        /* failures since the last long-enough open */
	uint32_t replaced;        /* 'replaced' in a row */
	double opened_at;         /* when the last open began; < 0: not open */
	double floor;             /* minimum for the next delay (440, lease) */
};

/* What a session tells its owner besides its trace (skykeeper pair waits
 * for these; the daemon does not listen). */
enum session_note {
	SESSION_NOTE_OPEN,        /* logged in */
	SESSION_NOTE_FAILED,      /* a connect or pairing attempt failed, or
	                             the session parked; why says which */
};
struct session;
typedef void session_note_fn(void *arg, struct session *s,
    enum session_note what, const char *why);

struct session_env {
	struct ev_loop *loop;
	struct net *net;
	struct store *store;
	const struct cfg *cfg;
	struct fsm_clock clock;
	double fsm_cfg[LIFECYCLE_NCFG];
	unsigned nopen;           /* sessions in 'open' or 'stale' */
	/* Set while the owner closes the store: the answers store_close
	 * fails back are dropped, nothing new starts. */
	int closing;
	/* skykeeper pair: a logged-out snapshot (with pair_force also a
	 * paired one) is replaced by a new registration; pair_phone, when
	 * set, overrides PAIRING_NUMBER. */
	int pair_mode, pair_force;
	const char *pair_phone;
	session_note_fn *note;    /* NULL: nobody listens */
	void *note_arg;
};

struct session_pairing;       /* pair.c: refs, code, pair-success */

enum session_fail {
	SESSION_FAIL_NONE,
	SESSION_FAIL_VERSION,     /* 405 and other login failures */
	SESSION_FAIL_PAIRING,     /* no snapshot: pairing needed */
	SESSION_FAIL_STORE,       /* snapshot unreadable */
};

struct session {
	struct session_env *env;
	char id[STORE_SNAP_ID_MAX + 1];
	struct fsm m;
	struct net_wa *conn;
	struct store_snap snap;
	int have_snap;
	int lease_held;
	int release_pending;
	int logged_in;
	unsigned gen;             /* bumped by every open/close: stale callbacks */
	uint64_t rng;
	struct session_backoff bo;
	enum session_fail fail;
	double lease_wait;        /* seconds the lease holder still has */
	double lease_poll;        /* > 0: the next backoff is this lease poll */
	double busy_since;        /* when the lease was first found busy; 0: not */
	int lease_taken;          /* the last lease_lost: another process owns it */
	double release_by;        /* > 0: lease_renew waits to release it */
	double t_connect;         /* ev_now at open_transport */
	unsigned iq_seq;
	char ping_id[40];
	char prekey_id[40];
	int draining;
	int flushed;
	int flush_pending;
	int overrun;
	int parked;
	unsigned pair_rounds;     /* pairing attempts that ended unpaired */
	int provisional;          /* snap replaces a stored session once paired:
	                             never saved before that */
	int flush_rc;             /* the final save's database outcome */
	struct session_pairing *pairing;   /* NULL unless pairing */
	ev_timer lease_renew;
};

/* session.c */
struct session *session_new(struct session_env *env, const char *id,
    uint64_t seed);
void session_start(struct session *s);
void session_dispatch(struct session *s, uint8_t ev);
int session_is_closed(const struct session *s);
int session_transport_idle(const struct session *s);
void session_free(struct session *s);

/* pair.c */
void session_pairing_free(struct session *s);

/* backoff.c: pure, clock and randomness passed in. */
double session_backoff_delay(const struct cfg *c,
    const struct session_backoff *b, double unit_random);
void session_backoff_leave_open(const struct cfg *c,
    struct session_backoff *b, double now);
void session_backoff_failure(const struct cfg *c, struct session_backoff *b,
    double now);
void session_backoff_replaced(const struct cfg *c, struct session_backoff *b,
    double now);
double session_lease_poll_delay(double expires_in);
int session_backoff_replaced_too_often(const struct cfg *c,
    const struct session_backoff *b, double now);
double session_unit_random(uint64_t *state);

#endif
