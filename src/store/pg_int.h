/*
 * src/store/pg_int.h: what the store_pg files share and nobody else needs.
 */
#ifndef SK_STORE_PG_INT_H
#define SK_STORE_PG_INT_H

#include <stddef.h>
#include <stdint.h>
#include <ev.h>
#include <libpq-fe.h>
#include "store/pq_dl.h"
#include "store/pg.h"

enum pg_kind { PG_OP_SAVE, PG_OP_LOAD, PG_OP_ACQUIRE, PG_OP_RENEW, PG_OP_RELEASE,
	PG_OP_LIST };

/*
 * One operation, from the call that queued it to its callback.  id, owner
 * and the blob copy live in the same allocation.  On the queue, in flight
 * (s->inflight), or on the done list with its outcome decided.
 */
struct pg_op {
	struct pg_op *prev, *next;  /* queue or done list */
	struct pg_op *hnext;        /* hash chain: queued saves by id */
	enum pg_kind kind;
	int status;                 /* decided outcome (done list) */
	const char *error;          /* static reason for a negative status */
	int solo;                   /* send alone: its batch failed as a whole */
	int retries;                /* RETRY answers so far */
	int answered;
	int64_t generation, fence;
	double ttl;
	ev_tstamp deadline;         /* non-saves: fail with ETIMEDOUT after */
	const char *id, *owner;
	const unsigned char *blob;
	size_t blob_len;
	store_pg_cb cb;
	store_pg_list_cb list_cb;   /* PG_OP_LIST answers through this one */
	void *arg;
};

struct pg_list {
	struct pg_op *head, *tail;
	size_t n;
};

/* Migration steps, for the statement in flight while MIGRATING. */
enum { PG_MIG_BEGIN, PG_MIG_APPLY, PG_MIG_COMMIT };

struct store_pg {
	struct ev_loop *loop;
	struct store_pg_config cfg;
	char *conninfo;
	char db[256];               /* the URL, password masked, for log lines */
	PGconn *conn;
	enum store_pg_state state;
	ev_io io;                   /* PQsocket(conn); re-set at every change */
	ev_timer timer;             /* the state's deadline: backoff, connect,
	                               statement */
	ev_timer kick;              /* 0 s: run the queue from the loop */
	ev_timer expire;            /* deadlines of queued non-saves */

	/* the statement in flight */
	int busy;
	int want_write;             /* PQflush has more to send */
	int mig_step, mig_version;
	struct pg_op **inflight;    /* cfg.batch_max slots */
	size_t ninflight;
	PGresult *res;              /* the answer kept so far */
	int err;
	char err_state[6];
	char err_msg[256];

	struct pg_list queue, done;
	struct pg_op **hash;        /* queued saves by id: coalescing */
	size_t hsize, hcount;

	int attempt;                /* failures since the last READY */
	uint64_t rng;
	int outage;
	ev_tstamp down_since;
	char last_err[256];         /* last failure logged at warn */
	int schema_version;

	void (*drain_cb)(void *);
	void *drain_arg;
	int closing;                /* inside store_pg_close: queue nothing */
};

/* A growable byte buffer; on allocation failure it sticks at oom. */
struct pg_buf {
	unsigned char *p;
	size_t len, cap;
	int oom;
};

/* Outcome codes of one row of the save statement (pg_sql.c). */
enum { PG_SAVE_DONE = 0, PG_SAVE_STALE = 1, PG_SAVE_FENCED = 2, PG_SAVE_RETRY = 3 };

/* pg.c */
void pg_schedule(struct store_pg *s);
void pg_send(struct store_pg *s, const char *sql, int n, const Oid *types,
    const char *const *values, const int *lengths, const int *formats);

/* pg_queue.c */
void pg_list_unlink(struct pg_list *l, struct pg_op *op);
void pg_h_remove(struct store_pg *s, struct pg_op *op);
void pg_finish_later(struct store_pg *s, struct pg_op *op, int status, const char *error);
void pg_answer(struct pg_op *op, struct store_pg_result *r);
void pg_requeue(struct store_pg *s, struct pg_op *op);
void pg_deliver(struct store_pg *s);
void pg_ops_requeue(struct store_pg *s);
void pg_ops_fail_all(struct store_pg *s, int status, const char *why);
void pg_ops_free(struct store_pg *s);
void pg_on_expire(struct ev_loop *loop, ev_timer *w, int revents);

/* pg_ops.c */
void pg_dispatch(struct store_pg *s);
void pg_ops_result(struct store_pg *s, const PGresult *r);
void pg_ops_error(struct store_pg *s, const char *sqlstate, const char *msg);

/* pg_url.c */
int pg_id_valid(const char *id);
void pg_oneline(const char *msg, char *out, size_t outlen);

/* pg_sql.c */
extern const char *const pg_migrations[];      /* [1..STORE_PG_SCHEMA_VERSION] */
extern const char pg_sql_schema_begin[];
extern const char pg_sql_save[];
extern const char pg_sql_load[];
extern const char pg_sql_acquire[];
extern const char pg_sql_renew[];
extern const char pg_sql_release[];
extern const char pg_sql_list[];
void pg_buf_put(struct pg_buf *b, const void *p, size_t n);
void pg_buf_be32(struct pg_buf *b, uint32_t v);
void pg_buf_be64(struct pg_buf *b, uint64_t v);
void pg_buf_free(struct pg_buf *b);
void pg_array_begin(struct pg_buf *b, uint32_t elem_oid, uint32_t count);
int64_t pg_get_int8(const PGresult *r, int row, int col);
int32_t pg_get_int4(const PGresult *r, int row, int col);
double pg_get_float8(const PGresult *r, int row, int col);
int pg_get_bool(const PGresult *r, int row, int col);
int pg_sqlstate_transient(const char *sqlstate);

/* Type OIDs, fixed since forever (pg_type.dat). */
#define PG_OID_BOOL     16
#define PG_OID_BYTEA    17
#define PG_OID_INT8     20
#define PG_OID_INT4     23
#define PG_OID_TEXT     25
#define PG_OID_FLOAT8   701
#define PG_OID_BYTEA_ARRAY 1001
#define PG_OID_TEXT_ARRAY  1009
#define PG_OID_INT8_ARRAY  1016

#endif
