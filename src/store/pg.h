/*
 * src/store/pg.h: the PostgreSQL copy of session snapshots, and the leases
 * that give one process the right to run a session.
 *
 * One connection per process (Heroku's small plans allow ~20), libpq in
 * non-blocking mode on the daemon's libev loop: nothing here ever blocks
 * the loop on the network, except the host name lookup inside
 * PQconnectStart (libpq resolves names synchronously; a hostaddr= in the
 * URL avoids it).
 *
 * Operations are queued and run one statement at a time (no pipeline
 * mode: one statement in flight keeps the protocol state trivially
 * PgBouncer-safe and the queue easy to replay after a reconnect).  Saves
 * are batched instead: consecutive queued saves go out as one statement of
 * up to cfg.batch_max rows (unnest over arrays), which is what makes a
 * drain of thousands of sessions fit in Heroku's 30 s.
 *
 * While the database is down the store keeps queueing, retries with
 * capped, jittered exponential backoff and flushes the queue when it is
 * back.  The queue is bounded (cfg.max_queue) and saves coalesce: at most
 * one queued save per session, the newest generation, so an outage of any
 * length costs at most one blob per session.
 *
 * PgBouncer transaction pooling: every operation is one statement (an
 * implicit transaction); migrations are explicit transactions serialised
 * with a transaction-scoped advisory lock; no session-level state
 * (no SET, no named prepared statements, no session advisory locks).
 * Leases are rows with an expiry, compared against the server's clock.
 */
#ifndef SK_STORE_PG_H
#define SK_STORE_PG_H

#include <stddef.h>
#include <stdint.h>
#include <ev.h>

/* What an operation came to.  >= 0: an answer; < 0: no answer. */
enum store_pg_status {
	STORE_PG_OK = 0,         /* saved, loaded, granted, renewed, released */
	STORE_PG_ABSENT = 1,     /* load: the database has no snapshot of it */
	STORE_PG_STALE = 2,      /* save: the database holds a newer generation */
	STORE_PG_FENCED = 3,     /* save: a later lease was granted: we are a zombie */
	STORE_PG_BUSY = 4,       /* acquire: another owner holds an unexpired lease */
	STORE_PG_LOST = 5,       /* renew, release: the lease is not ours any more */
	STORE_PG_SUPERSEDED = 6, /* save: a newer generation of the same session
	                            replaced it in the queue before it was sent */
	STORE_PG_EINVAL = -1,    /* bad argument (id empty, too long, not ASCII) */
	STORE_PG_EFULL = -2,     /* the queue is at cfg.max_queue */
	STORE_PG_ESCHEMA = -3,   /* the database's schema is newer than this binary */
	STORE_PG_ETIMEDOUT = -4, /* not run within cfg.op_timeout (not for saves) */
	STORE_PG_EQUERY = -5,    /* the statement failed for good (see error) */
	STORE_PG_ECLOSED = -6,   /* the store was closed first */
	STORE_PG_ENOMEM = -7,
};

const char *store_pg_status_name(int status);

/* Where the connection stands; see store_pg_state(). */
enum store_pg_state {
	STORE_PG_S_DOWN,         /* no connection; waiting out the backoff */
	STORE_PG_S_CONNECTING,   /* PQconnectPoll in progress */
	STORE_PG_S_MIGRATING,    /* connected, bringing the schema up to date */
	STORE_PG_S_READY,        /* connected; operations run */
	STORE_PG_S_INCOMPATIBLE, /* schema newer than this binary: every
	                            operation fails with ESCHEMA, and no
	                            reconnect (final: a newer binary must run) */
};

const char *store_pg_state_name(enum store_pg_state st);

/* The highest schema version this binary knows. */
#define STORE_PG_SCHEMA_VERSION 2

/* Longest session id, in bytes (printable ASCII only). */
#define STORE_PG_ID_MAX 200

struct store_pg_config {
	double connect_timeout;  /* s, for one connection attempt (10) */
	double query_timeout;    /* s, for one statement in flight (15) */
	double op_timeout;       /* s, a queued load or lease operation fails
	                            with ETIMEDOUT after this (10); saves never
	                            time out: they wait for the database */
	double backoff_min;      /* s, first reconnect delay bound (0.5) */
	double backoff_max;      /* s, cap of the delay (30) */
	size_t max_queue;        /* queued operations, saves included (100000) */
	size_t batch_max;        /* rows per save statement (500) */
	size_t batch_bytes;      /* blob bytes per save statement (8 MiB) */
	int schema_target;       /* migrate up to this version; 0 = the newest
	                            (tests use 1 to build a version-1 database) */
};

void store_pg_config_default(struct store_pg_config *cfg);

/*
 * One answer.  Pointers are valid only during the callback.
 *   save:    generation/fence: on STALE and FENCED, the database's own
 *   load:    generation, blob, blob_len on OK
 *   acquire: fence (the new fencing number), expires_in on OK;
 *            owner (the holder, "" if unknown), expires_in on BUSY
 *   renew:   expires_in on OK
 *   errors:  error, a short reason
 * expires_in is seconds until the lease's expiry by the server's clock:
 * compare with the local monotonic clock, never with the local wall clock.
 */
struct store_pg_result {
	int status;                  /* enum store_pg_status */
	const char *id;
	int64_t generation;
	int64_t fence;
	const unsigned char *blob;
	size_t blob_len;
	const char *owner;
	double expires_in;
	const char *error;
};

typedef void (*store_pg_cb)(void *arg, const struct store_pg_result *r);

struct store_pg;

/*
 * The "database enabled" decision: true when DATABASE_URL is set and not
 * empty.  Made once, at start, before any session starts, whether or not
 * the database answers then.  Pure: pass getenv("DATABASE_URL").
 */
int store_pg_enabled(const char *database_url);

/*
 * The conninfo libpq gets: the URL (or key=value string) as given, plus
 * sslmode=require when it names no sslmode and its host is not local
 * (127.0.0.0/8, ::1, localhost, a unix socket path, or no host).  Heroku
 * Postgres requires TLS; a local test cluster has none.  Returns a malloc'd
 * string, or NULL with a reason in err (an unparsable URL).
 */
char *store_pg_conninfo(const char *database_url, char *err, size_t errlen);

/*
 * The URL fit for a log line: the password (in the user-info part, or a
 * password= parameter) replaced with "***".  Errs on the side of hiding
 * too much.  Always NUL-terminates out (truncating).
 */
void store_pg_mask_url(const char *url, char *out, size_t outlen);

/*
 * A lease owner name, unique per process: "PID@HOST/RANDOM" (HOST is
 * $DYNO when set, e.g. worker.1, else the host name).  0, or -1 when out
 * is too small.
 */
int store_pg_owner_make(char *out, size_t outlen);

/*
 * Opens the store: validates the URL now (a malformed DATABASE_URL is an
 * error at start, NULL with a reason in err), then connects in the
 * background.  Operations may be queued at once.  cfg NULL: the defaults.
 */
struct store_pg *store_pg_open(struct ev_loop *loop, const char *database_url,
    const struct store_pg_config *cfg, char *err, size_t errlen);

/*
 * Fails every pending operation with ECLOSED (their callbacks run inside
 * this call), closes the connection, frees everything.  Not from inside a
 * store_pg callback.  Call store_pg_drain first to let the queue empty.
 */
void store_pg_close(struct store_pg *s);

/*
 * The operations.  Each returns 0 when queued, and then calls cb exactly
 * once, later, from the loop (never from inside the call); or a negative
 * status (EINVAL, EFULL, ESCHEMA, ENOMEM) and never calls cb.
 *
 * save: compare-and-set on generation, with the fencing number of the
 *   caller's lease (0 for a session nobody ever leased).  Written only if
 *   the row is absent (inserted) or holds an older generation and the same
 *   fence.  OK also when the database already holds exactly this
 *   generation under this fence: a retry after a connection dropped
 *   mid-statement.  The blob is copied; it is opaque here.
 */
int store_pg_save(struct store_pg *s, const char *id, int64_t generation,
    const void *blob, size_t len, int64_t fence, store_pg_cb cb, void *arg);
int store_pg_load(struct store_pg *s, const char *id, store_pg_cb cb,
    void *arg);

/*
 * Leases.  acquire grants when the row has no owner, an expired lease, or
 * the same owner; every grant increments the fence.  BUSY tells who holds
 * it and for how long: the caller waits and retries, it never connects the
 * session meanwhile.  renew extends our lease (OK) unless someone else was
 * granted it since (LOST).  release right after the final save; releasing
 * a lease already released by us is OK.
 */
int store_pg_lease_acquire(struct store_pg *s, const char *id,
    const char *owner, double ttl, store_pg_cb cb, void *arg);
int store_pg_lease_renew(struct store_pg *s, const char *id,
    const char *owner, int64_t fence, double ttl, store_pg_cb cb, void *arg);
int store_pg_lease_release(struct store_pg *s, const char *id,
    const char *owner, int64_t fence, store_pg_cb cb, void *arg);

/*
 * Every row, for `skykeeper status`: one answer with all of them, ordered
 * by id, or a negative status (rows NULL, n 0) with error.  Queued like a
 * load (fails with ETIMEDOUT after cfg.op_timeout while the database is
 * down).  Rows and everything they point to are valid only during the
 * callback.  Cost: every blob crosses the wire, so it is for a command
 * line tool, not for the daemon's hot path.
 *   generation  of the blob; 0 with blob NULL: leased, never saved
 *   owner       the lease holder, "" when free
 *   expires_in  seconds until the lease expires, by the server's clock
 *               (negative: expired; 0 when free)
 *   fence       the fencing number of the last grant
 *   age         seconds since the blob was last written (server's clock)
 */
struct store_pg_row {
	const char *id;
	int64_t generation;
	int64_t fence;
	const char *owner;
	double expires_in;
	double age;
	const unsigned char *blob;
	size_t blob_len;
};
typedef void (*store_pg_list_cb)(void *arg, int status,
    const struct store_pg_row *rows, size_t n, const char *error);
int store_pg_list(struct store_pg *s, store_pg_list_cb cb, void *arg);

/*
 * done(arg) runs once, from the loop, as soon as nothing is queued, in
 * flight or waiting to be answered (at the next iteration if that is
 * already so).  The daemon's drain: the final saves, the releases, then
 * this, then store_pg_close; its own deadline decides how long to wait
 * when the database is down.  One drain at a time; a new call replaces
 * the previous one.
 */
void store_pg_drain(struct store_pg *s, void (*done)(void *arg), void *arg);

enum store_pg_state store_pg_state(const struct store_pg *s);
/* Operations queued or in flight. */
size_t store_pg_pending(const struct store_pg *s);
/* The database's schema version seen at the last connect (0: not yet). */
int store_pg_schema_version(const struct store_pg *s);

#endif
