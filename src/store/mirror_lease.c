/*
 * src/store/mirror_lease.c: leases through the mirror (mirror.h).  With a
 * database they are store/pg's rows with expiry and fencing numbers: the
 * fence of our last grant is kept per session and goes with every save.
 * Without one the data-dir lock taken by store_open is the lease: one
 * process per data dir, and nothing else two machines could share.
 */
#include <stdio.h>
#include <string.h>
#include "log/log.h"
#include "store/mirror.h"
#include "store/mirror_int.h"

/* --- leases ------------------------------------------------------------- */

enum { LEASE_ACQUIRE, LEASE_RENEW, LEASE_RELEASE };

static void
lease_answer(struct store_req *r, const struct store_pg_result *pr, int op)
{
	struct store_sess *e = store_sess_get(r->s, r->id);

	r->expires_in = pr->expires_in;
	switch (pr->status) {
	case STORE_PG_OK:
		r->rc = 0;
		if (op == LEASE_ACQUIRE && e != NULL) {
			e->fence = pr->fence;
			e->leased = 1;
		} else if (op == LEASE_RELEASE && e != NULL) {
			e->leased = 0;
		}
		snprintf(r->holder, sizeof(r->holder), "%s", op == LEASE_RELEASE ?
		    "" : r->s->owner);
		break;
	case STORE_PG_BUSY:
		r->rc = STORE_LEASE_BUSY;
		snprintf(r->holder, sizeof(r->holder), "%s",
		    pr->owner ? pr->owner : "");
		break;
	case STORE_PG_LOST:
		r->rc = STORE_LEASE_LOST;
		if (e != NULL)
			e->leased = 0;
		break;
	case STORE_PG_ECLOSED:
		r->rc = STORE_ECLOSED;
		break;
	default:
		r->rc = STORE_EDB;
		break;
	}
	if (r->rc < 0)
		log_warn("session=%s event=lease_failed op=%s status=%s err=\"%s\"",
		    r->id, op == LEASE_ACQUIRE ? "acquire" : op == LEASE_RENEW ?
		    "renew" : "release", store_pg_status_name(pr->status),
		    pr->error ? pr->error : "");
	else if (op != LEASE_RENEW || r->rc != 0)
		log_info("session=%s event=lease op=%s result=%s fence=%lld "
		    "holder=%s expires_in=%.1f", r->id, op == LEASE_ACQUIRE ?
		    "acquire" : op == LEASE_RENEW ? "renew" : "release",
		    store_pg_status_name(pr->status), (long long)pr->fence,
		    r->holder[0] ? r->holder : "-", pr->expires_in);
	store_req_finish(r);
}

static void on_acquired(void *a, const struct store_pg_result *pr) { lease_answer(a, pr, LEASE_ACQUIRE); }
static void on_renewed(void *a, const struct store_pg_result *pr) { lease_answer(a, pr, LEASE_RENEW); }
static void on_released(void *a, const struct store_pg_result *pr) { lease_answer(a, pr, LEASE_RELEASE); }

static int
lease_op(struct store *s, int op, const char *id, store_lease_cb *cb,
    void *arg)
{
	struct store_sess *e;
	struct store_req *r;
	int rc;

	if (s->closing)
		return STORE_ECLOSED;
	if (store_id_check(id, NULL, 0) < 0)
		return STORE_EINVAL;
	if ((e = store_sess_get(s, id)) == NULL ||
	    (r = store_req_new(s, REQ_LEASE, id, arg)) == NULL)
		return STORE_ENOMEM;
	r->lcb = cb;
	if (s->pg == NULL) {
		/* the data-dir lock is the lease (see mirror.h) */
		if (op == LEASE_ACQUIRE)
			snprintf(r->holder, sizeof(r->holder), "%s", s->owner);
		r->expires_in = op == LEASE_RELEASE ? 0 : s->lease_ttl;
		e->leased = op != LEASE_RELEASE;
		store_req_ready(r, 0, NULL);
		return 0;
	}
	switch (op) {
	case LEASE_ACQUIRE:
		rc = store_pg_lease_acquire(s->pg, id, s->owner, s->lease_ttl,
		    on_acquired, r);
		break;
	case LEASE_RENEW:
		if (e->fence == 0) {
			store_req_ready(r, STORE_LEASE_LOST, "never granted to us");
			return 0;
		}
		rc = store_pg_lease_renew(s->pg, id, s->owner, e->fence,
		    s->lease_ttl, on_renewed, r);
		break;
	default:
		if (e->fence == 0) {
			store_req_ready(r, 0, "never granted to us");
			return 0;
		}
		rc = store_pg_lease_release(s->pg, id, s->owner, e->fence,
		    on_released, r);
		break;
	}
	if (rc < 0) {
		/* not queued: no callback, as for any refused call */
		r->lcb = NULL;
		store_req_finish(r);
		return rc == STORE_PG_ENOMEM ? STORE_ENOMEM :
		    rc == STORE_PG_ECLOSED ? STORE_ECLOSED : STORE_EDB;
	}
	return 0;
}

int
store_lease_acquire(struct store *s, const char *id, store_lease_cb *cb,
    void *arg)
{
	return lease_op(s, LEASE_ACQUIRE, id, cb, arg);
}

int
store_lease_renew(struct store *s, const char *id, store_lease_cb *cb,
    void *arg)
{
	return lease_op(s, LEASE_RENEW, id, cb, arg);
}

int
store_lease_release(struct store *s, const char *id, store_lease_cb *cb,
    void *arg)
{
	return lease_op(s, LEASE_RELEASE, id, cb, arg);
}
