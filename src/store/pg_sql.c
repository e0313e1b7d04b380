/*
 * src/store/pg_sql.c: the schema, the statements, and the binary encoding
 * of their parameters and results.  Every statement is one implicit
 * transaction (PgBouncer transaction pooling), and decides by itself on
 * the server's clock: no read-then-write round trips, no client clocks.
 */
#include <stdlib.h>
#include <string.h>
#include "store/pg.h"
#include "store/pg_int.h"

/*
 * The migrations, in the binary.  N runs in its own transaction, after
 * BEGIN and the schema lock of pg_sql_schema_begin, followed by the row
 * that records version N.  Never edit a released one: add N+1.
 */
static const char migration_1[] =
	"CREATE TABLE skykeeper_sessions ("
	" id text PRIMARY KEY,"
	" generation bigint NOT NULL,"          /* of blob; 0: leased, never saved */
	" blob bytea,"                          /* the encoded snapshot, opaque */
	" owner text,"                          /* lease holder, NULL when free */
	" lease_expires timestamptz,"
	" fence bigint NOT NULL DEFAULT 0,"     /* +1 at every grant */
	" updated_at timestamptz NOT NULL DEFAULT now());"  /* last blob write */
	"COMMENT ON TABLE skykeeper_sessions IS"
	" 'skykeeper: one row per WhatsApp session (snapshot and lease)'";

/* Small on purpose: it exists so the upgrade path is tested. */
static const char migration_2[] =
	"ALTER TABLE skykeeper_sessions"
	" ADD COLUMN created_at timestamptz NOT NULL DEFAULT now(),"
	" ADD CONSTRAINT skykeeper_sessions_counters"
	"  CHECK (generation >= 0 AND fence >= 0)";

const char *const pg_migrations[STORE_PG_SCHEMA_VERSION + 1] = {
	NULL, migration_1, migration_2,
};

/*
 * Opens the transaction of one migration step and answers the version.
 * pg_advisory_xact_lock is released by COMMIT/ROLLBACK, so it is safe
 * under transaction pooling; it makes two processes starting together
 * (old and new dyno) migrate one after the other, and covers the CREATE
 * TABLE IF NOT EXISTS race too.  The key is "skykeepr" in ASCII.
 */
const char pg_sql_schema_begin[] =
	"BEGIN;"
	"SELECT pg_advisory_xact_lock(8316874639039361138);"
	"CREATE TABLE IF NOT EXISTS skykeeper_schema ("
	" version integer PRIMARY KEY,"
	" applied_at timestamptz NOT NULL DEFAULT now());"
	"SELECT coalesce(max(version), 0) FROM skykeeper_schema";

/*
 * A batch of saves: $1 ids, $2 generations, $3 blobs, $4 fences (arrays,
 * row i of each is one save).  Compare-and-set per row: update when the
 * row holds an older generation under the same fence, insert when absent.
 * Then one answer row per input row, in order (n), judged against the
 * snapshot the statement started from:
 *   DONE    updated or inserted; or the row already holds this generation
 *           under this fence (a retry of a write that landed)
 *   FENCED  the fence differs: another lease was granted since
 *   STALE   a newer generation is there
 *   RETRY   the snapshot would have allowed the write but it did not
 *           happen: a concurrent writer changed the row in between; the
 *           next attempt sees the new row and judges it
 */
const char pg_sql_save[] =
	"WITH i AS ("
	"  SELECT * FROM unnest($1::text[], $2::int8[], $3::bytea[], $4::int8[])"
	"    WITH ORDINALITY AS t(id, generation, blob, fence, n)"
	"), up AS ("
	"  UPDATE skykeeper_sessions s"
	"     SET generation = i.generation, blob = i.blob, updated_at = now()"
	"    FROM i"
	"   WHERE s.id = i.id AND s.generation < i.generation AND s.fence = i.fence"
	"  RETURNING i.n"
	"), ins AS ("
	"  INSERT INTO skykeeper_sessions (id, generation, blob, fence)"
	"  SELECT i.id, i.generation, i.blob, i.fence FROM i"
	"   WHERE NOT EXISTS (SELECT 1 FROM skykeeper_sessions s WHERE s.id = i.id)"
	"  ON CONFLICT (id) DO NOTHING"
	"  RETURNING id"
	")"
	"SELECT i.n::int8,"
	"  (CASE WHEN up.n IS NOT NULL OR ins.id IS NOT NULL THEN 0"
	"        WHEN s.id IS NULL THEN 3"
	"        WHEN s.fence <> i.fence THEN 2"
	"        WHEN s.generation = i.generation THEN 0"
	"        WHEN s.generation > i.generation THEN 1"
	"        ELSE 3 END)::int4,"
	"  coalesce(s.generation, 0)::int8, coalesce(s.fence, 0)::int8"
	"  FROM i LEFT JOIN up ON up.n = i.n"
	"         LEFT JOIN ins ON ins.id = i.id"
	"         LEFT JOIN skykeeper_sessions s ON s.id = i.id"
	" ORDER BY i.n";

const char pg_sql_load[] =
	"SELECT generation, blob FROM skykeeper_sessions"
	" WHERE id = $1 AND blob IS NOT NULL";

/*
 * $1 id, $2 owner, $3 ttl seconds.  Granted (first column true, the new
 * fence) when the row is absent, free, expired, or already ours; else one
 * row saying who holds it, read from the statement's snapshot.  No row at
 * all: a concurrent grant we could not see; the caller retries as for
 * busy.  A grant creates the row when absent (generation 0, no blob).
 */
const char pg_sql_acquire[] =
	"WITH g AS ("
	"  INSERT INTO skykeeper_sessions AS s (id, generation, owner, lease_expires, fence)"
	"  VALUES ($1, 0, $2, now() + make_interval(secs => $3), 1)"
	"  ON CONFLICT (id) DO UPDATE"
	"     SET owner = excluded.owner, lease_expires = excluded.lease_expires,"
	"         fence = s.fence + 1"
	"   WHERE s.owner IS NULL OR s.lease_expires IS NULL"
	"      OR s.lease_expires <= now() OR s.owner = excluded.owner"
	"  RETURNING s.fence, s.owner, s.lease_expires"
	")"
	"SELECT true, fence, owner, extract(epoch FROM lease_expires - now())::float8"
	"  FROM g "
	"UNION ALL "
	"SELECT false, s.fence, coalesce(s.owner, ''),"
	"       coalesce(extract(epoch FROM s.lease_expires - now()), 0)::float8"
	"  FROM skykeeper_sessions s"
	" WHERE s.id = $1 AND NOT EXISTS (SELECT 1 FROM g)";

/*
 * $1 id, $2 owner, $3 fence, $4 ttl seconds.  Renewing an expired lease
 * nobody took is fine: the same owner and fence prove nobody did.
 */
const char pg_sql_renew[] =
	"UPDATE skykeeper_sessions"
	"   SET lease_expires = now() + make_interval(secs => $4)"
	" WHERE id = $1 AND owner = $2 AND fence = $3"
	" RETURNING extract(epoch FROM lease_expires - now())::float8";

/* $1 id, $2 owner, $3 fence.  Idempotent: a retry finds owner NULL. */
const char pg_sql_release[] =
	"UPDATE skykeeper_sessions SET owner = NULL, lease_expires = NULL"
	" WHERE id = $1 AND fence = $3 AND (owner = $2 OR owner IS NULL)"
	" RETURNING fence";

/* Every row for status: id, generation, fence, owner, lease seconds left,
 * seconds since the last blob write, blob (NULL: leased, never saved). */
const char pg_sql_list[] =
	"SELECT id, generation, fence, coalesce(owner, ''),"
	"  CASE WHEN owner IS NULL OR lease_expires IS NULL THEN 0"
	"       ELSE extract(epoch FROM lease_expires - now()) END::float8,"
	"  extract(epoch FROM now() - updated_at)::float8, blob"
	"  FROM skykeeper_sessions ORDER BY id";

void
pg_buf_put(struct pg_buf *b, const void *p, size_t n)
{
	if (b->oom)
		return;
	if (b->cap - b->len < n) {
		size_t cap = b->cap ? b->cap : 256;
		unsigned char *q;
		while (cap - b->len < n)
			cap *= 2;
		q = realloc(b->p, cap);
		if (q == NULL) {
			b->oom = 1;
			return;
		}
		b->p = q;
		b->cap = cap;
	}
	if (n > 0)
		memcpy(b->p + b->len, p, n);
	b->len += n;
}

void
pg_buf_be32(struct pg_buf *b, uint32_t v)
{
	unsigned char x[4] = { (unsigned char)(v >> 24), (unsigned char)(v >> 16),
		(unsigned char)(v >> 8), (unsigned char)v };
	pg_buf_put(b, x, 4);
}

void
pg_buf_be64(struct pg_buf *b, uint64_t v)
{
	pg_buf_be32(b, (uint32_t)(v >> 32));
	pg_buf_be32(b, (uint32_t)v);
}

void
pg_buf_free(struct pg_buf *b)
{
	free(b->p);
	memset(b, 0, sizeof(*b));
}

/*
 * The binary form of a one-dimensional array without NULLs (the server's
 * array_recv): dimensions, has-nulls flag, element type, then per
 * dimension its length and lower bound (1); the caller appends each
 * element as a 4-byte length and its bytes.
 */
void
pg_array_begin(struct pg_buf *b, uint32_t elem_oid, uint32_t count)
{
	pg_buf_be32(b, 1);
	pg_buf_be32(b, 0);
	pg_buf_be32(b, elem_oid);
	pg_buf_be32(b, count);
	pg_buf_be32(b, 1);
}

static uint64_t
be64_at(const PGresult *r, int row, int col)
{
	const unsigned char *p = (const unsigned char *)PQgetvalue(r, row, col);
	uint64_t v = 0;

	if (PQgetisnull(r, row, col) || PQgetlength(r, row, col) != 8)
		return 0;
	for (int i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return v;
}

int64_t
pg_get_int8(const PGresult *r, int row, int col)
{
	return (int64_t)be64_at(r, row, col);
}

int32_t
pg_get_int4(const PGresult *r, int row, int col)
{
	const unsigned char *p = (const unsigned char *)PQgetvalue(r, row, col);

	if (PQgetisnull(r, row, col) || PQgetlength(r, row, col) != 4)
		return 0;
	return (int32_t)((uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	    (uint32_t)p[2] << 8 | (uint32_t)p[3]);
}

double
pg_get_float8(const PGresult *r, int row, int col)
{
	uint64_t v = be64_at(r, row, col);
	double d;

	memcpy(&d, &v, sizeof(d));  /* IEEE 754 binary64, like the server's */
	return d;
}

int
pg_get_bool(const PGresult *r, int row, int col)
{
	if (PQgetisnull(r, row, col) || PQgetlength(r, row, col) != 1)
		return 0;
	return PQgetvalue(r, row, col)[0] != 0;
}

/*
 * Errors worth a reconnect and a retry rather than a verdict: the
 * connection or the server is going away or is busy (Heroku maintenance
 * answers "read only" for a while), or a concurrency conflict.
 */
int
pg_sqlstate_transient(const char *st)
{
	static const char *const prefixes[] = {
		"08",     /* connection exception */
		"53",     /* insufficient resources (too many connections, disk) */
		"57P",    /* admin/crash shutdown, cannot connect now */
		"57014",  /* query canceled */
		"58",     /* system error (I/O) */
		"40",     /* serialization failure, deadlock */
		"25006",  /* read-only transaction: failover or maintenance */
		"55P03",  /* lock not available */
	};

	if (st == NULL || st[0] == '\0')
		return 1;  /* no SQLSTATE: libpq's own, i.e. the connection */
	for (size_t i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++)
		if (strncmp(st, prefixes[i], strlen(prefixes[i])) == 0)
			return 1;
	return 0;
}
