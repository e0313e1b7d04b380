/*
 * src/store/pg_ops.c: the statements for queued operations, and what
 * their answers mean.  Consecutive saves at the head of the queue go out
 * as one statement (pg_sql_save), answered row by row.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "log/log.h"
#include "store/pg.h"
#include "store/pg_int.h"

/* A row changed under a save this many times in a row: call it stale. */
#define RETRY_MAX 3

/* --- statements ------------------------------------------------------- */

/* Consecutive saves from the head, up to batch_max rows and batch_bytes
 * of blobs (at least one), as four binary arrays: one statement. */
static void
send_saves(struct store_pg *s)
{
	static const Oid types[4] = { PG_OID_TEXT_ARRAY, PG_OID_INT8_ARRAY,
		PG_OID_BYTEA_ARRAY, PG_OID_INT8_ARRAY };
	static const int formats[4] = { 1, 1, 1, 1 };
	struct pg_buf a[4] = { { 0 } };
	const char *values[4];
	int lengths[4];
	struct pg_op *op;
	size_t n = 0, bytes = 0, i;
	int oom = 0;

	for (op = s->queue.head; op != NULL && op->kind == PG_OP_SAVE && n < s->cfg.batch_max;
	    op = op->next) {
		if (n > 0 && (op->solo || bytes + op->blob_len > s->cfg.batch_bytes))
			break;
		n++;
		bytes += op->blob_len;
		if (op->solo)
			break;
	}
	pg_array_begin(&a[0], PG_OID_TEXT, (uint32_t)n);
	pg_array_begin(&a[1], PG_OID_INT8, (uint32_t)n);
	pg_array_begin(&a[2], PG_OID_BYTEA, (uint32_t)n);
	pg_array_begin(&a[3], PG_OID_INT8, (uint32_t)n);
	for (i = 0; i < n; i++) {
		size_t idn;
		op = s->queue.head;
		pg_list_unlink(&s->queue, op);
		pg_h_remove(s, op);
		s->inflight[i] = op;
		idn = strlen(op->id);
		pg_buf_be32(&a[0], (uint32_t)idn);
		pg_buf_put(&a[0], op->id, idn);
		pg_buf_be32(&a[1], 8);
		pg_buf_be64(&a[1], (uint64_t)op->generation);
		pg_buf_be32(&a[2], (uint32_t)op->blob_len);
		pg_buf_put(&a[2], op->blob, op->blob_len);
		pg_buf_be32(&a[3], 8);
		pg_buf_be64(&a[3], (uint64_t)op->fence);
	}
	s->ninflight = n;
	for (i = 0; i < 4; i++) {
		oom |= a[i].oom;
		values[i] = (const char *)a[i].p;
		lengths[i] = (int)a[i].len;
	}
	if (oom) {
		for (i = 0; i < n; i++)
			pg_finish_later(s, s->inflight[i], STORE_PG_ENOMEM, "out of memory");
		s->ninflight = 0;
	} else {
		pg_send(s, pg_sql_save, 4, types, values, lengths, formats);
	}
	for (i = 0; i < 4; i++)
		pg_buf_free(&a[i]);
}

/* One load or lease operation; parameters as text, typed. */
static void
send_one(struct store_pg *s, struct pg_op *op)
{
	static const Oid types[4] = { PG_OID_TEXT, PG_OID_TEXT, PG_OID_INT8, PG_OID_FLOAT8 };
	static const Oid acq_types[3] = { PG_OID_TEXT, PG_OID_TEXT, PG_OID_FLOAT8 };
	char fence[24], ttl[40];
	const char *v[4] = { op->id, op->owner, fence, ttl };

	pg_list_unlink(&s->queue, op);
	s->inflight[0] = op;
	s->ninflight = 1;
	snprintf(fence, sizeof(fence), "%lld", (long long)op->fence);
	snprintf(ttl, sizeof(ttl), "%.6f", op->ttl);
	switch (op->kind) {
	case PG_OP_LOAD:
		pg_send(s, pg_sql_load, 1, types, v, NULL, NULL);
		break;
	case PG_OP_ACQUIRE:
		v[2] = ttl;
		pg_send(s, pg_sql_acquire, 3, acq_types, v, NULL, NULL);
		break;
	case PG_OP_RENEW:
		pg_send(s, pg_sql_renew, 4, types, v, NULL, NULL);
		break;
	case PG_OP_RELEASE:
		pg_send(s, pg_sql_release, 3, types, v, NULL, NULL);
		break;
	case PG_OP_LIST:
		pg_send(s, pg_sql_list, 0, NULL, NULL, NULL, NULL);
		break;
	case PG_OP_SAVE:
		break;  /* not here: send_saves */
	}
}

void
pg_dispatch(struct store_pg *s)
{
	struct pg_op *op;

	while (s->state == STORE_PG_S_READY && !s->busy && s->ninflight == 0 &&
	    (op = s->queue.head) != NULL) {
		if (op->kind == PG_OP_SAVE) {
			send_saves(s);
		} else if (op->deadline <= ev_now(s->loop)) {
			pg_list_unlink(&s->queue, op);
			pg_finish_later(s, op, STORE_PG_ETIMEDOUT, "database unavailable");
		} else {
			send_one(s, op);
		}
	}
}

/* --- answers ---------------------------------------------------------- */

/* op->answered while the answer rows are read */
enum { ROW_NONE, ROW_RETRY };

static void
save_answers(struct store_pg *s, const PGresult *r, size_t n)
{
	struct store_pg_result res;
	struct pg_op *op;
	size_t i;

	for (i = 0; i < n; i++)
		s->inflight[i]->answered = ROW_NONE;
	for (int row = 0; r != NULL && row < PQntuples(r) && PQnfields(r) == 4; row++) {
		int64_t k = pg_get_int8(r, row, 0);
		if (k < 1 || (uint64_t)k > n || s->inflight[k - 1] == NULL)
			continue;
		op = s->inflight[k - 1];
		memset(&res, 0, sizeof(res));
		res.owner = "";
		res.generation = pg_get_int8(r, row, 2);
		res.fence = pg_get_int8(r, row, 3);
		switch (pg_get_int4(r, row, 1)) {
		case PG_SAVE_DONE:
			res.status = STORE_PG_OK;
			res.generation = op->generation;
			res.fence = op->fence;
			break;
		case PG_SAVE_FENCED:
			res.status = STORE_PG_FENCED;
			log_warn("store=pg event=save_fenced id=%s generation=%lld fence=%lld "
			    "db_fence=%lld msg=\"a later lease holder owns this session\"",
			    op->id, (long long)op->generation, (long long)op->fence,
			    (long long)res.fence);
			break;
		case PG_SAVE_RETRY:
			if (++op->retries <= RETRY_MAX) {
				op->answered = ROW_RETRY;
				continue;
			}
			/* fall through - a row that keeps changing under us */
		default:
			res.status = STORE_PG_STALE;
			break;
		}
		s->inflight[k - 1] = NULL;
		pg_answer(op, &res);
	}
	/* backwards, so the queue's front keeps their order */
	for (i = n; i-- > 0;) {
		if ((op = s->inflight[i]) == NULL)
			continue;
		s->inflight[i] = NULL;
		if (op->answered == ROW_RETRY) {
			pg_requeue(s, op);
			continue;
		}
		log_warn("store=pg event=save_unanswered db=%s id=%s", s->db, op->id);
		pg_finish_later(s, op, STORE_PG_EQUERY, "no answer for this row");
	}
}

/* All rows at once, pointing into the result; the op is freed here. */
static void
list_answer(struct pg_op *op, const PGresult *r, int rows)
{
	struct store_pg_row *v = NULL;
	int i, n = PQnfields(r) == 7 ? rows : 0;

	if (n > 0 && (v = calloc((size_t)n, sizeof(*v))) == NULL) {
		if (op->list_cb != NULL)
			op->list_cb(op->arg, STORE_PG_ENOMEM, NULL, 0, "out of memory");
		free(op);
		return;
	}
	for (i = 0; i < n; i++) {
		v[i].id = PQgetvalue(r, i, 0);  /* binary text: the bytes, NUL added */
		v[i].generation = pg_get_int8(r, i, 1);
		v[i].fence = pg_get_int8(r, i, 2);
		v[i].owner = PQgetvalue(r, i, 3);
		v[i].expires_in = pg_get_float8(r, i, 4);
		v[i].age = pg_get_float8(r, i, 5);
		if (!PQgetisnull(r, i, 6)) {
			v[i].blob = (const unsigned char *)PQgetvalue(r, i, 6);
			v[i].blob_len = (size_t)PQgetlength(r, i, 6);
		}
	}
	if (op->list_cb != NULL)
		op->list_cb(op->arg, STORE_PG_OK, v, (size_t)n, NULL);
	free(v);
	free(op);
}

void
pg_ops_result(struct store_pg *s, const PGresult *r)
{
	struct store_pg_result res = { .status = STORE_PG_OK, .owner = "" };
	size_t n = s->ninflight;
	struct pg_op *op;
	int rows = r != NULL ? PQntuples(r) : 0;

	if (n == 0)
		return;
	op = s->inflight[0];
	if (op->kind == PG_OP_SAVE) {
		save_answers(s, r, n);
		s->ninflight = 0;
		return;
	}
	s->ninflight = 0;
	switch (op->kind) {
	case PG_OP_LOAD:
		if (rows < 1) {
			res.status = STORE_PG_ABSENT;
			break;
		}
		res.generation = pg_get_int8(r, 0, 0);
		res.blob = (const unsigned char *)PQgetvalue(r, 0, 1);
		res.blob_len = (size_t)PQgetlength(r, 0, 1);
		break;
	case PG_OP_ACQUIRE:
		if (rows < 1) {
			res.status = STORE_PG_BUSY;  /* a grant we could not see yet */
			break;
		}
		res.status = pg_get_bool(r, 0, 0) ? STORE_PG_OK : STORE_PG_BUSY;
		res.fence = pg_get_int8(r, 0, 1);
		res.owner = PQgetvalue(r, 0, 2);
		res.expires_in = pg_get_float8(r, 0, 3);
		break;
	case PG_OP_RENEW:
		res.fence = op->fence;
		if (rows < 1)
			res.status = STORE_PG_LOST;
		else
			res.expires_in = pg_get_float8(r, 0, 0);
		break;
	case PG_OP_RELEASE:
		res.fence = op->fence;
		if (rows < 1)
			res.status = STORE_PG_LOST;
		break;
	case PG_OP_LIST:
		list_answer(op, r, rows);
		return;
	case PG_OP_SAVE:
		break;
	}
	pg_answer(op, &res);
}

/*
 * A statement failed for a reason a retry will not fix (the connection is
 * fine).  A batch is split: each save goes again alone, so one bad row
 * fails only itself.
 */
void
pg_ops_error(struct store_pg *s, const char *sqlstate, const char *msg)
{
	size_t n = s->ninflight, i;
	struct store_pg_result res = { .status = STORE_PG_EQUERY, .owner = "", .error = msg };
	struct pg_op *op;

	s->ninflight = 0;
	if (n > 1) {
		log_warn("store=pg event=batch_failed db=%s rows=%zu sqlstate=%s err=\"%s\" "
		    "msg=\"retrying the rows one by one\"", s->db, n, sqlstate, msg);
		for (i = n; i-- > 0;) {
			s->inflight[i]->solo = 1;
			pg_requeue(s, s->inflight[i]);
		}
		return;
	}
	if (n == 0)
		return;
	op = s->inflight[0];
	log_warn("store=pg event=statement_failed db=%s op=%s id=%s sqlstate=%s err=\"%s\"",
	    s->db, op->kind == PG_OP_SAVE ? "save" : op->kind == PG_OP_LOAD ? "load" :
	    op->kind == PG_OP_LIST ? "list" : "lease",
	    op->id, sqlstate, msg);
	res.generation = op->generation;
	res.fence = op->fence;
	pg_answer(op, &res);
}
