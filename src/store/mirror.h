/*
 * src/store/mirror.h: the process's session store.  Every save goes to the
 * file copy and, when DATABASE_URL is set, to PostgreSQL; restore reads
 * both, takes the highest valid generation, repairs the other copy and
 * logs which copy won and why.  Leases make one process the owner of a
 * session: with a database they are rows with expiry and fencing numbers;
 * without one the data-dir lock (one process per machine) plays that role.
 *
 * All calls return at once; results come through callbacks on the libev
 * loop, never from inside the call.  A call that returns a negative rc
 * never calls its callback.
 *
 * Errors are the negative STORE_E* codes below, with a short reason in
 * `why` (never a key, the secret or a password; the database URL only
 * masked).
 *
 * The order the daemon keeps for one session (with a database):
 *   store_lease_acquire -> granted -> store_restore -> connect ... saves ...
 *   -> final store_save -> its callback -> store_lease_release
 * Acquire before restore: the repair of the database copy that restore
 * may write carries the fence of the grant (a save with fence 0 is refused
 * on a row that was ever leased).
 */
#ifndef SK_STORE_MIRROR_H
#define SK_STORE_MIRROR_H

#include <ev.h>
#include "store/pg.h"
#include "store/snapshot.h"

struct store;

struct store_config {
	const char *data_dir;       /* SKYKEEPER_DATA_DIR, default "./var" */
	const char *database_url;   /* DATABASE_URL; NULL or "": file copy only */
	const char *secret;         /* SESSION_SECRET; NULL or "": plain */
	double lease_ttl;           /* seconds, default 30 */
	/* Seconds a restore waits for an unreachable database before it goes
	 * on with the file copy alone (and a queued lease operation before it
	 * fails).  0: the default, 10. */
	double db_wait;
	/* Nonzero: restore repairs nothing and save is refused (export, and
	 * other tools that only read).  The data dir is still locked. */
	int read_only;
	/* The database connection's tuning; NULL: store_pg_config_default
	 * (tests shorten the reconnect backoff).  op_timeout is db_wait. */
	const struct store_pg_config *pg;
};

/* Errors (negative); STORE_RESTORE_NEW and STORE_LEASE_* are positive. */
enum {
	STORE_ENOMEM   = -1,
	STORE_EINVAL   = -2,   /* bad argument: session id, generation, state */
	STORE_EIO      = -3,   /* the file copy could not be written or read */
	STORE_ESECRET  = -4,   /* a copy SESSION_SECRET does not open (or an
	                          encrypted copy and no secret): not restored,
	                          nothing overwritten */
	STORE_EVERSION = -5,   /* a copy written by a newer skykeeper */
	STORE_EDAMAGED = -6,   /* every copy present is damaged */
	STORE_EUNAVAIL = -7,   /* no file copy, and the database did not
	                          answer within db_wait: retry later (never a
	                          reason to pair anew) */
	STORE_EFENCED  = -8,   /* save: a later lease was granted to another
	                          process: it owns the session now */
	STORE_ESTALE   = -9,   /* save: the database holds a newer generation */
	STORE_EDB      = -10,  /* the database refused or failed the operation */
	STORE_ECLOSED  = -11,  /* the store was closed first */
	STORE_EREADONLY = -12, /* save on a read_only store */
};

const char *store_strerror(int rc);

/* Opens the file copy (taking the data-dir lock) and, when a database URL
 * is given, starts connecting to it.  "Database enabled" is decided here,
 * once, from the URL alone, even if the database is down now.  NULL with
 * a reason in why: the data dir is locked or unusable, or the URL does
 * not parse. */
struct store *store_open(struct ev_loop *loop, const struct store_config *cfg,
    char *why, size_t whylen);
int store_db_enabled(const struct store *s);
/* This process's lease owner name, "PID@HOST/RANDOM" (one per store). */
const char *store_owner(const struct store *s);

/*
 * restore: rc 0 with *snap filled, rc STORE_RESTORE_NEW when no copy holds
 * the session (pairing needed), or a negative rc with `why` (e.g. the
 * secret does not open the blob: the session must not start, and nothing
 * is overwritten).
 *
 * *snap's contents belong to the caller from then on; the struct itself
 * is valid only during the callback: take it by value (`mine = *snap;`,
 * which takes the pre-keys array along), or store_snap_clear(snap) there
 * to drop it.
 *
 * How the copy is chosen: both are read (the file at once, the database
 * asynchronously, waiting at most db_wait for an unreachable one) and
 * checked (checksum, format version, the secret, the session id inside);
 * the highest valid generation wins.  A damaged or missing copy loses to
 * a valid one; a copy the secret does not open, or from a newer format,
 * stops the restore (STORE_ESECRET, STORE_EVERSION) whatever the other
 * holds.  The losing copy is then repaired with the winner's blob (the
 * database one as a queued save with the session's fence; if that row
 * claims a generation at or above the winner's, the winner is re-saved
 * to both copies one generation higher).  With the database unreachable
 * the file copy wins by default, the log says so, and the repair of the
 * database copy lands when it is back; with no file copy either the
 * answer is STORE_EUNAVAIL, never STORE_RESTORE_NEW.  One logfmt line
 * says which copy won and why:
 *   at=info session=ID event=restored from=pg generation=12
 *     file_generation=11 reason="file older" repaired=file
 */
#define STORE_RESTORE_NEW 1
typedef void store_restore_cb(void *arg, int rc, struct store_snap *snap,
    const char *why);
int store_restore(struct store *s, const char *id, store_restore_cb *cb,
    void *arg);

/*
 * save: bumps snap->generation (above anything the store has seen of this
 * session), sets snap->saved_ms, encodes once, writes the file copy
 * (sync) and queues the database copy with the session's fencing number.
 * Returns 0 once the file copy is on disk (or, with a database, even when
 * the file write failed: that is logged and the database copy still
 * goes), or a negative rc when nothing was saved (snap->generation is then
 * left as it was).
 * The callback reports the database outcome: 0, also when a newer save of
 * the same session replaced this one in the queue before it was sent (why
 * says "superseded"); STORE_EFENCED: another process owns the session now
 * (a later lease was granted); STORE_ESTALE: the database holds a newer
 * generation (the next save goes above it); STORE_EDB, STORE_ECLOSED.
 * Without a database it reports 0 from the loop.  A save queued while the
 * database is down waits for it (saves never time out; store_drain
 * bounds the wait).
 */
typedef void store_done_cb(void *arg, int rc, const char *why);
int store_save(struct store *s, struct store_snap *snap, store_done_cb *cb,
    void *arg);

/*
 * leases: rc 0 granted, STORE_LEASE_BUSY (holder, expires_in), or
 * STORE_LEASE_LOST (renew/release found another owner); negative: the
 * database did not answer within db_wait (STORE_EDB, STORE_ECLOSED).
 *
 * With a database: rows with an expiry (lease_ttl) and a fencing number
 * that grows at every grant; the fence of our grant goes with every save
 * of the session.  Renewing or releasing a lease this store never got
 * answers STORE_LEASE_LOST / 0.
 *
 * Without a database, acquire is granted at once (holder = our owner
 * name, expires_in = lease_ttl) and renew and release answer 0: the
 * data-dir lock taken by store_open already guarantees one process per
 * data dir, and without a shared database there is nothing else two
 * machines could share.
 */
#define STORE_LEASE_BUSY 1
#define STORE_LEASE_LOST 2
typedef void store_lease_cb(void *arg, int rc, const char *holder,
    double expires_in);
int store_lease_acquire(struct store *s, const char *id, store_lease_cb *cb,
    void *arg);
int store_lease_renew(struct store *s, const char *id, store_lease_cb *cb,
    void *arg);
int store_lease_release(struct store *s, const char *id, store_lease_cb *cb,
    void *arg);

/* drain: calls done once every queued database write has landed or failed
 * and every callback has been delivered; then store_close.  The caller's
 * own deadline decides how long to wait for a database that is down. */
void store_drain(struct store *s, void (*done)(void *arg), void *arg);
/* Calls every callback still pending, inside this call, with
 * STORE_ECLOSED (a decided outcome, e.g. a file-only save, keeps its rc),
 * closes the database connection, releases the data-dir lock, wipes the
 * secret.  Not from inside a store callback (the drain's done excepted). */
void store_close(struct store *s);

#endif
