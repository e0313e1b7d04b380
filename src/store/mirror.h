/*
 * src/store/mirror.h: the process's session store.  Every save goes to the
 * file copy and, when DATABASE_URL is set, to PostgreSQL; restore reads
 * both, takes the highest valid generation, repairs the other copy and
 * logs which copy won and why.  Leases make one process the owner of a
 * session: with a database they are rows with expiry and fencing numbers;
 * without one the data-dir lock (one process per machine) plays that role.
 *
 * All calls return at once; results come through callbacks on the libev
 * loop, never from inside the call.
 */
#ifndef SK_STORE_MIRROR_H
#define SK_STORE_MIRROR_H

#include <ev.h>
#include "store/snapshot.h"

struct store;

struct store_config {
	const char *data_dir;       /* SKYKEEPER_DATA_DIR, default "./var" */
	const char *database_url;   /* DATABASE_URL; NULL or "": file copy only */
	const char *secret;         /* SESSION_SECRET; NULL or "": plain */
	double lease_ttl;           /* seconds, default 30 */
};

/* Opens the file copy (taking the data-dir lock) and, when a database URL
 * is given, starts connecting to it.  "Database enabled" is decided here,
 * once, from the URL alone, even if the database is down now. */
struct store *store_open(struct ev_loop *loop, const struct store_config *cfg,
    char *why, size_t whylen);
int store_db_enabled(const struct store *s);

/* restore: rc 0 with *snap filled (owned by the caller: store_snap_clear),
 * rc STORE_RESTORE_NEW when no copy holds the session (pairing needed),
 * or a negative rc with `why` (e.g. the secret does not open the blob: the
 * session must not start, and nothing is overwritten). */
#define STORE_RESTORE_NEW 1
typedef void store_restore_cb(void *arg, int rc, struct store_snap *snap,
    const char *why);
int store_restore(struct store *s, const char *id, store_restore_cb *cb,
    void *arg);

/* save: bumps snap->generation, encodes once, writes the file copy (sync)
 * and queues the database copy with the session's fencing number.  The
 * callback reports the database outcome (0, or a negative rc with `why`;
 * a fenced-out save means another process owns the session now). */
typedef void store_done_cb(void *arg, int rc, const char *why);
int store_save(struct store *s, struct store_snap *snap, store_done_cb *cb,
    void *arg);

/* leases: rc 0 granted, STORE_LEASE_BUSY (holder, expires_in), or
 * STORE_LEASE_LOST (renew/release found another owner). */
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

/* drain: calls done once every queued database write has landed or failed;
 * then store_close. */
void store_drain(struct store *s, void (*done)(void *arg), void *arg);
void store_close(struct store *s);

#endif
