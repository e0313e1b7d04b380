/*
 * src/store/pg_queue.c: the queue of operations, from the call that
 * queues one to its callback.
 *
 * One FIFO keeps the caller's order (a session's final save goes out
 * before its release).  Saves coalesce in place: a hash by id finds the
 * queued save of the same session and the higher generation stays, so the
 * queue holds at most one save per session whatever the outage lasts.
 * Answers decided without the database (superseded, timed out, closed)
 * wait on the done list and are delivered from the loop, never from
 * inside the call that decided them.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "store/pg.h"
#include "store/pg_int.h"

/* bytea holds up to 1 GB; a snapshot is a few KiB.  This keeps every
 * length in an int, as libpq wants. */
#define BLOB_MAX (64u << 20)

/* --- lists and the hash ---------------------------------------------- */

static void
list_push_back(struct pg_list *l, struct pg_op *op)
{
	op->next = NULL;
	op->prev = l->tail;
	if (l->tail != NULL)
		l->tail->next = op;
	else
		l->head = op;
	l->tail = op;
	l->n++;
}

static void
list_push_front(struct pg_list *l, struct pg_op *op)
{
	op->prev = NULL;
	op->next = l->head;
	if (l->head != NULL)
		l->head->prev = op;
	else
		l->tail = op;
	l->head = op;
	l->n++;
}

void
pg_list_unlink(struct pg_list *l, struct pg_op *op)
{
	if (op->prev != NULL)
		op->prev->next = op->next;
	else
		l->head = op->next;
	if (op->next != NULL)
		op->next->prev = op->prev;
	else
		l->tail = op->prev;
	op->prev = op->next = NULL;
	l->n--;
}

/* old's place in the queue goes to op */
static void
list_replace(struct pg_list *l, struct pg_op *old, struct pg_op *op)
{
	op->prev = old->prev;
	op->next = old->next;
	if (op->prev != NULL)
		op->prev->next = op;
	else
		l->head = op;
	if (op->next != NULL)
		op->next->prev = op;
	else
		l->tail = op;
	old->prev = old->next = NULL;
}

static size_t
hash_of(const char *id)
{
	size_t h = 2166136261u;  /* FNV-1a */

	for (; *id != '\0'; id++)
		h = (h ^ (unsigned char)*id) * 16777619u;
	return h;
}

static struct pg_op **
h_slot(struct store_pg *s, const char *id)
{
	struct pg_op **pp;

	if (s->hsize == 0)
		return NULL;
	for (pp = &s->hash[hash_of(id) & (s->hsize - 1)]; *pp != NULL; pp = &(*pp)->hnext)
		if (strcmp((*pp)->id, id) == 0)
			return pp;
	return NULL;
}

static struct pg_op *
h_find(struct store_pg *s, const char *id)
{
	struct pg_op **pp = h_slot(s, id);
	return pp ? *pp : NULL;
}

void
pg_h_remove(struct store_pg *s, struct pg_op *op)
{
	struct pg_op **pp = h_slot(s, op->id);

	if (pp != NULL && *pp == op) {
		*pp = op->hnext;
		op->hnext = NULL;
		s->hcount--;
	}
}

/* Grows at load factor 1; a failed growth only makes chains longer. */
static void
h_insert(struct store_pg *s, struct pg_op *op)
{
	size_t i;

	if (s->hcount >= s->hsize) {
		size_t nsize = s->hsize ? s->hsize * 2 : 64;
		struct pg_op **nh = calloc(nsize, sizeof(*nh));
		if (nh != NULL) {
			for (i = 0; i < s->hsize; i++)
				while (s->hash[i] != NULL) {
					struct pg_op *o = s->hash[i];
					s->hash[i] = o->hnext;
					o->hnext = nh[hash_of(o->id) & (nsize - 1)];
					nh[hash_of(o->id) & (nsize - 1)] = o;
				}
			free(s->hash);
			s->hash = nh;
			s->hsize = nsize;
		}
	}
	if (s->hsize == 0)
		return;  /* no table at all: saves just don't coalesce */
	i = hash_of(op->id) & (s->hsize - 1);
	op->hnext = s->hash[i];
	s->hash[i] = op;
	s->hcount++;
}

/* --- completion ------------------------------------------------------- */

/* Decided now, answered from the loop. */
void
pg_finish_later(struct store_pg *s, struct pg_op *op, int status, const char *error)
{
	op->status = status;
	op->error = error;
	list_push_back(&s->done, op);
	pg_schedule(s);
}

void
pg_answer(struct pg_op *op, struct store_pg_result *r)
{
	r->id = op->id;
	if (op->kind == PG_OP_LIST) {
		if (op->list_cb != NULL)
			op->list_cb(op->arg, r->status, NULL, 0, r->error);
	} else if (op->cb != NULL) {
		op->cb(op->arg, r);
	}
	free(op);
}

void
pg_deliver(struct store_pg *s)
{
	/* only what is there now: a callback may queue more */
	for (size_t n = s->done.n; n > 0 && s->done.head != NULL; n--) {
		struct pg_op *op = s->done.head;
		struct store_pg_result r = { .status = op->status, .error = op->error,
			.generation = op->generation, .fence = op->fence, .owner = "" };
		pg_list_unlink(&s->done, op);
		pg_answer(op, &r);
	}
	if (s->done.n > 0)
		pg_schedule(s);
}

/* Back on the queue's front after a lost connection or a batch split;
 * coalesces with a save of the same session queued meanwhile. */
void
pg_requeue(struct store_pg *s, struct pg_op *op)
{
	struct pg_op *q;

	if (op->kind != PG_OP_SAVE) {
		if (op->deadline <= ev_now(s->loop))
			pg_finish_later(s, op, STORE_PG_ETIMEDOUT, "database unavailable");
		else
			list_push_front(&s->queue, op);
		return;
	}
	q = h_find(s, op->id);
	if (q == NULL) {
		list_push_front(&s->queue, op);
		h_insert(s, op);
	} else if (op->generation > q->generation) {
		list_replace(&s->queue, q, op);
		pg_h_remove(s, q);
		h_insert(s, op);
		pg_finish_later(s, q, STORE_PG_SUPERSEDED, NULL);
	} else {
		pg_finish_later(s, op, STORE_PG_SUPERSEDED, NULL);
	}
}

void
pg_ops_requeue(struct store_pg *s)
{
	size_t n = s->ninflight;
	int nonsave = 0;

	s->ninflight = 0;
	while (n-- > 0) {  /* backwards, so the front keeps their order */
		nonsave |= s->inflight[n]->kind != PG_OP_SAVE;
		pg_requeue(s, s->inflight[n]);
	}
	if (nonsave && !ev_is_active(&s->expire)) {
		ev_timer_set(&s->expire, s->cfg.op_timeout, 0);
		ev_timer_start(s->loop, &s->expire);
	}
}

void
pg_ops_fail_all(struct store_pg *s, int status, const char *why)
{
	struct pg_op *op;

	for (size_t i = 0; i < s->ninflight; i++)
		pg_finish_later(s, s->inflight[i], status, why);
	s->ninflight = 0;
	while ((op = s->queue.head) != NULL) {
		pg_list_unlink(&s->queue, op);
		pg_h_remove(s, op);
		pg_finish_later(s, op, status, why);
	}
	ev_timer_stop(s->loop, &s->expire);
}

void
pg_ops_free(struct store_pg *s)
{
	free(s->hash);
	s->hash = NULL;
	s->hsize = s->hcount = 0;
}

/* Queued loads and lease operations past their deadline fail: a renew
 * must learn in time that it did not happen. */
void
pg_on_expire(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct store_pg *s = w->data;
	ev_tstamp now = ev_now(loop), next = 0;
	struct pg_op *op, *nx;

	(void)revents;
	ev_timer_stop(loop, w);
	for (op = s->queue.head; op != NULL; op = nx) {
		nx = op->next;
		if (op->kind == PG_OP_SAVE)
			continue;
		if (op->deadline <= now) {
			pg_list_unlink(&s->queue, op);
			pg_finish_later(s, op, STORE_PG_ETIMEDOUT, "database unavailable");
		} else if (next == 0 || op->deadline < next) {
			next = op->deadline;
		}
	}
	if (next > 0) {
		ev_timer_set(w, next - now, 0);
		ev_timer_start(loop, w);
	}
}

/* --- queueing --------------------------------------------------------- */

static int
admissible(struct store_pg *s, const char *id)
{
	if (s->closing)
		return STORE_PG_ECLOSED;
	if (!pg_id_valid(id))
		return STORE_PG_EINVAL;
	if (s->state == STORE_PG_S_INCOMPATIBLE)
		return STORE_PG_ESCHEMA;
	return 0;
}

static struct pg_op *
op_new(enum pg_kind kind, const char *id, const char *owner, const void *blob,
    size_t len, store_pg_cb cb, void *arg)
{
	size_t idn = strlen(id) + 1, on = owner ? strlen(owner) + 1 : 0;
	struct pg_op *op = malloc(sizeof(*op) + idn + on + len);
	char *p;

	if (op == NULL)
		return NULL;
	memset(op, 0, sizeof(*op));
	p = (char *)(op + 1);
	op->kind = kind;
	op->cb = cb;
	op->arg = arg;
	memcpy(p, id, idn);
	op->id = p;
	p += idn;
	if (owner != NULL) {
		memcpy(p, owner, on);
		op->owner = p;
		p += on;
	}
	if (len > 0)
		memcpy(p, blob, len);
	op->blob = (const unsigned char *)p;
	op->blob_len = len;
	return op;
}

static int
queue_other(struct store_pg *s, struct pg_op *op)
{
	if (s->queue.n >= s->cfg.max_queue) {
		free(op);
		return STORE_PG_EFULL;
	}
	op->deadline = ev_now(s->loop) + s->cfg.op_timeout;
	list_push_back(&s->queue, op);
	if (!ev_is_active(&s->expire)) {
		ev_timer_set(&s->expire, s->cfg.op_timeout, 0);
		ev_timer_start(s->loop, &s->expire);
	}
	pg_schedule(s);
	return 0;
}

int
store_pg_save(struct store_pg *s, const char *id, int64_t generation,
    const void *blob, size_t len, int64_t fence, store_pg_cb cb, void *arg)
{
	struct pg_op *op, *q;
	int rc = admissible(s, id);

	if (rc != 0)
		return rc;
	if (generation < 0 || fence < 0 || len > BLOB_MAX || (len > 0 && blob == NULL))
		return STORE_PG_EINVAL;
	q = h_find(s, id);
	if (q == NULL && s->queue.n >= s->cfg.max_queue)
		return STORE_PG_EFULL;
	op = op_new(PG_OP_SAVE, id, NULL, blob, len, cb, arg);
	if (op == NULL)
		return STORE_PG_ENOMEM;
	op->generation = generation;
	op->fence = fence;
	if (q == NULL) {
		list_push_back(&s->queue, op);
		h_insert(s, op);
	} else if (generation >= q->generation) {
		/* the newest wins, in the older one's place in line */
		list_replace(&s->queue, q, op);
		pg_h_remove(s, q);
		h_insert(s, op);
		pg_finish_later(s, q, STORE_PG_SUPERSEDED, NULL);
	} else {
		pg_finish_later(s, op, STORE_PG_SUPERSEDED, NULL);
	}
	pg_schedule(s);
	return 0;
}

int
store_pg_load(struct store_pg *s, const char *id, store_pg_cb cb, void *arg)
{
	struct pg_op *op;
	int rc = admissible(s, id);

	if (rc != 0)
		return rc;
	if ((op = op_new(PG_OP_LOAD, id, NULL, NULL, 0, cb, arg)) == NULL)
		return STORE_PG_ENOMEM;
	return queue_other(s, op);
}

static int
lease_op(struct store_pg *s, enum pg_kind kind, const char *id, const char *owner,
    int64_t fence, double ttl, store_pg_cb cb, void *arg)
{
	struct pg_op *op;
	int rc = admissible(s, id);

	if (rc != 0)
		return rc;
	if (!pg_id_valid(owner) || fence < 0)
		return STORE_PG_EINVAL;
	if (kind != PG_OP_RELEASE && !(isfinite(ttl) && ttl > 0 && ttl <= 86400))
		return STORE_PG_EINVAL;
	if ((op = op_new(kind, id, owner, NULL, 0, cb, arg)) == NULL)
		return STORE_PG_ENOMEM;
	op->fence = fence;
	op->ttl = ttl;
	return queue_other(s, op);
}

int
store_pg_lease_acquire(struct store_pg *s, const char *id, const char *owner,
    double ttl, store_pg_cb cb, void *arg)
{
	return lease_op(s, PG_OP_ACQUIRE, id, owner, 0, ttl, cb, arg);
}

int
store_pg_lease_renew(struct store_pg *s, const char *id, const char *owner,
    int64_t fence, double ttl, store_pg_cb cb, void *arg)
{
	return lease_op(s, PG_OP_RENEW, id, owner, fence, ttl, cb, arg);
}

int
store_pg_lease_release(struct store_pg *s, const char *id, const char *owner,
    int64_t fence, store_pg_cb cb, void *arg)
{
	return lease_op(s, PG_OP_RELEASE, id, owner, fence, 1, cb, arg);
}

/* Not a session operation: no id to check (the op's id is ""). */
int
store_pg_list(struct store_pg *s, store_pg_list_cb cb, void *arg)
{
	struct pg_op *op;

	if (s->closing)
		return STORE_PG_ECLOSED;
	if (s->state == STORE_PG_S_INCOMPATIBLE)
		return STORE_PG_ESCHEMA;
	if ((op = op_new(PG_OP_LIST, "", NULL, NULL, 0, NULL, arg)) == NULL)
		return STORE_PG_ENOMEM;
	op->list_cb = cb;
	return queue_other(s, op);
}
