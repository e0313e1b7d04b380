/*
 * src/store/mirror.c: the store the daemon sees (mirror.h): the file copy
 * and the database copy behind one API, the per-session fence and
 * generation floor, saves, drain.  Restore is in mirror_restore.c, leases
 * in mirror_lease.c.
 *
 * Costs: a save is one encode (plus AES-GCM with a secret), one file
 * write with two fsyncs (milliseconds; it blocks the loop, which is what
 * "the file copy is written synchronously" costs) and one queued database
 * statement, batched with other sessions' saves by store/pg.  The session
 * table is a hash: O(1) per call at thousands of sessions.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <openssl/crypto.h>
#include "log/log.h"
#include "store/mirror.h"
#include "store/mirror_int.h"

#define DEFAULT_DATA_DIR "./var"
#define DEFAULT_TTL      30.0
#define DEFAULT_DB_WAIT  10.0

const char *
store_strerror(int rc)
{
	switch (rc) {
	case 0:                 return "ok";
	case STORE_RESTORE_NEW: return "no copy: a new session";
	case STORE_ENOMEM:      return "out of memory";
	case STORE_EINVAL:      return "invalid argument";
	case STORE_EIO:         return "file copy i/o error";
	case STORE_ESECRET:     return "SESSION_SECRET does not open the stored session";
	case STORE_EVERSION:    return "stored by a newer skykeeper";
	case STORE_EDAMAGED:    return "every stored copy is damaged";
	case STORE_EUNAVAIL:    return "database unavailable and no file copy";
	case STORE_EFENCED:     return "another process owns the session (fenced)";
	case STORE_ESTALE:      return "the database holds a newer generation";
	case STORE_EDB:         return "database error";
	case STORE_ECLOSED:     return "store closed";
	case STORE_EREADONLY:   return "store opened read-only";
	}
	return "unknown error";
}

int64_t
store_now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_REALTIME, &t);
	return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

/* The file store's rule (a file name) is the stricter of the two. */
int
store_id_check(const char *id, char *why, size_t whylen)
{
	return store_file_id_valid(id, why, whylen) < 0 ? STORE_EINVAL : 0;
}

/* --- sessions --------------------------------------------------------- */

static size_t
hash_id(const char *id)
{
	size_t h = 2166136261u;  /* FNV-1a */

	for (; *id != '\0'; id++)
		h = (h ^ (unsigned char)*id) * 16777619u;
	return h;
}

/* Grows at load factor 1; a failed growth only lengthens chains. */
static void
sess_grow(struct store *s)
{
	size_t n = s->tsize ? s->tsize * 2 : 64, i;
	struct store_sess **t = calloc(n, sizeof(*t)), *e;

	if (t == NULL)
		return;
	for (i = 0; i < s->tsize; i++)
		while ((e = s->tab[i]) != NULL) {
			s->tab[i] = e->next;
			e->next = t[hash_id(e->id) & (n - 1)];
			t[hash_id(e->id) & (n - 1)] = e;
		}
	free(s->tab);
	s->tab = t;
	s->tsize = n;
}

/* The session's record, made on first use; NULL: out of memory. */
struct store_sess *
store_sess_get(struct store *s, const char *id)
{
	struct store_sess *e;
	size_t k;

	if (s->tsize > 0)
		for (e = s->tab[hash_id(id) & (s->tsize - 1)]; e != NULL; e = e->next)
			if (strcmp(e->id, id) == 0)
				return e;
	if (s->tcount >= s->tsize)
		sess_grow(s);
	if (s->tsize == 0 || (e = calloc(1, sizeof(*e))) == NULL)
		return NULL;
	snprintf(e->id, sizeof(e->id), "%s", id);
	k = hash_id(id) & (s->tsize - 1);
	e->next = s->tab[k];
	s->tab[k] = e;
	s->tcount++;
	return e;
}

/* --- requests --------------------------------------------------------- */

static void on_kick(struct ev_loop *loop, ev_timer *w, int revents);

static void
kick(struct store *s)
{
	if (!ev_is_active(&s->kick)) {
		ev_timer_set(&s->kick, 0, 0);
		ev_timer_start(s->loop, &s->kick);
	}
}

struct store_req *
store_req_new(struct store *s, enum store_req_kind kind, const char *id,
    void *arg)
{
	struct store_req *r = calloc(1, sizeof(*r));

	if (r == NULL)
		return NULL;
	r->s = s;
	r->kind = kind;
	r->arg = arg;
	snprintf(r->id, sizeof(r->id), "%s", id);
	r->prev = s->tail;
	if (s->tail != NULL)
		s->tail->next = r;
	else
		s->head = r;
	s->tail = r;
	s->nreq++;
	return r;
}

void
store_req_ready(struct store_req *r, int rc, const char *why)
{
	r->ready = 1;
	r->rc = rc;
	if (why != NULL && why != r->why)
		snprintf(r->why, sizeof(r->why), "%s", why);
	kick(r->s);
}

static void
maybe_drained_later(struct store *s)
{
	if (s->drain_cb != NULL) {
		s->drain_check = 1;
		kick(s);
	}
}

/* Unlinks r, calls its callback, frees it. */
void
store_req_finish(struct store_req *r)
{
	struct store *s = r->s;
	const char *why = r->why[0] ? r->why : NULL;

	if (r->prev != NULL)
		r->prev->next = r->next;
	else
		s->head = r->next;
	if (r->next != NULL)
		r->next->prev = r->prev;
	else
		s->tail = r->prev;
	s->nreq--;
	switch (r->kind) {
	case REQ_RESTORE:
		if (r->rcb != NULL)
			r->rcb(r->arg, r->rc, r->rc == 0 ? &r->snap : NULL, why);
		break;
	case REQ_SAVE:
		if (r->dcb != NULL)
			r->dcb(r->arg, r->rc, why);
		break;
	case REQ_LEASE:
		if (r->lcb != NULL)
			r->lcb(r->arg, r->rc, r->holder[0] || r->rc == STORE_LEASE_BUSY ?
			    r->holder : NULL, r->expires_in);
		break;
	}
	/* a restored snapshot's contents belong to the callback now (it may
	 * have copied the struct without zeroing ours); else wipe it */
	if (!(r->kind == REQ_RESTORE && r->rc == 0 && r->rcb != NULL))
		store_snap_clear(&r->snap);
	if (r->fblob != NULL)
		store_snap_blob_free(r->fblob, r->flen);
	OPENSSL_cleanse(r, sizeof(*r));
	free(r);
	maybe_drained_later(s);
}

static void
on_kick(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct store *s = w->data;
	struct store_req *r, *next;
	size_t n = s->nreq;
	void (*done)(void *);

	(void)loop;
	(void)revents;
	/* only those there now: a callback may add more */
	for (r = s->head; r != NULL && n > 0; r = next, n--) {
		next = r->next;
		/* a callback may queue more (at the tail), never finish
		 * another one (store_close is not allowed there) */
		if (r->ready)
			store_req_finish(r);
	}
	for (r = s->head; r != NULL; r = r->next)
		if (r->ready) {
			kick(s);
			break;
		}
	if (!s->drain_check || s->drain_cb == NULL)
		return;
	s->drain_check = 0;
	if (s->nreq > 0)
		return;
	if (s->pg != NULL && store_pg_pending(s->pg) > 0)
		return;  /* on_pg_drained comes back here */
	/* the last thing: the caller may close the store in it */
	done = s->drain_cb;
	s->drain_cb = NULL;
	done(s->drain_arg);
}

/* --- open and close --------------------------------------------------- */

struct store *
store_open(struct ev_loop *loop, const struct store_config *cfg, char *why,
    size_t whylen)
{
	const char *dir = cfg->data_dir && cfg->data_dir[0] ? cfg->data_dir :
	    DEFAULT_DATA_DIR;
	struct store_pg_config pc;
	struct store *s;
	char err[256], masked[256];

	if ((s = calloc(1, sizeof(*s))) == NULL) {
		snprintf(why, whylen, "out of memory");
		return NULL;
	}
	s->loop = loop;
	s->lease_ttl = cfg->lease_ttl > 0 && isfinite(cfg->lease_ttl) ?
	    cfg->lease_ttl : DEFAULT_TTL;
	s->db_wait = cfg->db_wait > 0 && isfinite(cfg->db_wait) ?
	    cfg->db_wait : DEFAULT_DB_WAIT;
	s->read_only = cfg->read_only;
	ev_init(&s->kick, on_kick);
	s->kick.data = s;
	if (store_file_open(&s->file, dir, why, whylen) < 0) {
		free(s);
		return NULL;
	}
	if (cfg->secret != NULL && cfg->secret[0] != '\0' &&
	    (s->secret = strdup(cfg->secret)) == NULL) {
		snprintf(why, whylen, "out of memory");
		store_file_close(&s->file);
		free(s);
		return NULL;
	}
	if (store_pg_owner_make(s->owner, sizeof(s->owner)) < 0)
		snprintf(s->owner, sizeof(s->owner), "unknown");
	masked[0] = '\0';
	if (store_pg_enabled(cfg->database_url)) {
		if (cfg->pg != NULL)
			pc = *cfg->pg;
		else
			store_pg_config_default(&pc);
		pc.op_timeout = s->db_wait;
		s->pg = store_pg_open(loop, cfg->database_url, &pc, err, sizeof(err));
		if (s->pg == NULL) {
			snprintf(why, whylen, "DATABASE_URL: %s", err);
			store_close(s);
			return NULL;
		}
		store_pg_mask_url(cfg->database_url, masked, sizeof(masked));
	}
	log_info("store=mirror event=open data_dir=%s db=%s encrypted=%s "
	    "lease_ttl=%.1f owner=%s%s", s->file.data_dir,
	    s->pg != NULL ? masked : "none", s->secret != NULL ? "yes" : "no",
	    s->lease_ttl, s->owner, s->read_only ? " read_only=yes" : "");
	return s;
}

int
store_db_enabled(const struct store *s)
{
	return s->pg != NULL;
}

const char *
store_owner(const struct store *s)
{
	return s->owner;
}

void
store_close(struct store *s)
{
	struct store_req *r;
	size_t i;

	if (s == NULL)
		return;
	s->closing = 1;
	s->drain_cb = NULL;
	/* answers ECLOSED to every database operation: their callbacks
	 * finish the requests waiting for one */
	if (s->pg != NULL)
		store_pg_close(s->pg);
	s->pg = NULL;
	while ((r = s->head) != NULL) {
		if (!r->ready) {
			r->rc = STORE_ECLOSED;
			snprintf(r->why, sizeof(r->why), "store closed");
		}
		store_req_finish(r);
	}
	ev_timer_stop(s->loop, &s->kick);
	store_file_close(&s->file);
	if (s->secret != NULL) {
		OPENSSL_cleanse(s->secret, strlen(s->secret));
		free(s->secret);
	}
	for (i = 0; i < s->tsize; i++) {
		struct store_sess *e, *n;
		for (e = s->tab[i]; e != NULL; e = n) {
			n = e->next;
			free(e);
		}
	}
	free(s->tab);
	free(s);
}

/* --- drain -------------------------------------------------------------- */

static void
on_pg_drained(void *arg)
{
	struct store *s = arg;

	s->drain_check = 1;
	kick(s);
}

void
store_drain(struct store *s, void (*done)(void *arg), void *arg)
{
	s->drain_cb = done;
	s->drain_arg = arg;
	s->drain_check = 1;
	if (s->pg != NULL)
		store_pg_drain(s->pg, on_pg_drained, s);
	kick(s);
}

/* --- save --------------------------------------------------------------- */

static void
on_pg_saved(void *arg, const struct store_pg_result *pr)
{
	struct store_req *r = arg;
	struct store_sess *e = store_sess_get(r->s, r->id);

	switch (pr->status) {
	case STORE_PG_OK:
		r->rc = 0;
		break;
	case STORE_PG_SUPERSEDED:
		r->rc = 0;
		snprintf(r->why, sizeof(r->why), "superseded by a newer save");
		break;
	case STORE_PG_STALE:
		r->rc = STORE_ESTALE;
		if (e != NULL && (uint64_t)pr->generation > e->known_gen)
			e->known_gen = (uint64_t)pr->generation;
		snprintf(r->why, sizeof(r->why), "the database holds generation "
		    "%lld; the next save goes above it", (long long)pr->generation);
		break;
	case STORE_PG_FENCED:
		r->rc = STORE_EFENCED;
		if (e != NULL)
			e->leased = 0;
		snprintf(r->why, sizeof(r->why), "fenced: the lease was granted to "
		    "another process since (database fence %lld, ours %lld)",
		    (long long)pr->fence, e != NULL ? (long long)e->fence : 0LL);
		break;
	case STORE_PG_ECLOSED:
		r->rc = STORE_ECLOSED;
		snprintf(r->why, sizeof(r->why), "store closed before the "
		    "database copy was written");
		break;
	default:
		r->rc = STORE_EDB;
		snprintf(r->why, sizeof(r->why), "database: %s%s%s",
		    store_pg_status_name(pr->status), pr->error ? ": " : "",
		    pr->error ? pr->error : "");
		break;
	}
	store_req_finish(r);
}

int
store_save(struct store *s, struct store_snap *snap, store_done_cb *cb,
    void *arg)
{
	struct store_sess *e;
	struct store_req *r;
	uint64_t old = snap->generation, base;
	int64_t old_ms = snap->saved_ms;
	uint8_t *blob = NULL;
	size_t len = 0;
	char why[256];
	int rc;

	if (s->closing)
		return STORE_ECLOSED;
	if (s->read_only)
		return STORE_EREADONLY;
	if (store_id_check(snap->session_id, why, sizeof(why)) < 0) {
		log_warn("store=mirror event=save_refused reason=\"%s\"", why);
		return STORE_EINVAL;
	}
	if ((e = store_sess_get(s, snap->session_id)) == NULL)
		return STORE_ENOMEM;
	base = snap->generation > e->known_gen ? snap->generation : e->known_gen;
	if (base >= STORE_SNAP_GEN_MAX)
		return STORE_EINVAL;
	snap->generation = base + 1;
	snap->saved_ms = store_now_ms();
	if ((rc = store_snap_encode(snap, s->secret, &blob, &len, why,
	    sizeof(why))) < 0) {
		log_error("session=%s event=save_failed reason=\"%s\"",
		    snap->session_id, why);
		snap->generation = old;
		snap->saved_ms = old_ms;
		return rc == STORE_SNAP_ENOMEM ? STORE_ENOMEM : STORE_EINVAL;
	}
	if ((rc = store_file_save(&s->file, snap->session_id, blob, len, why,
	    sizeof(why))) < 0) {
		log_error("session=%s event=file_save_failed generation=%llu "
		    "reason=\"%s\"%s", snap->session_id,
		    (unsigned long long)snap->generation, why, s->pg != NULL ?
		    " msg=\"the database copy still goes\"" : "");
		if (s->pg == NULL) {
			store_snap_blob_free(blob, len);
			snap->generation = old;
			snap->saved_ms = old_ms;
			return STORE_EIO;
		}
	}
	e->known_gen = snap->generation;
	if ((r = store_req_new(s, REQ_SAVE, snap->session_id, arg)) == NULL) {
		store_snap_blob_free(blob, len);
		return STORE_ENOMEM;  /* the file copy landed; the caller retries */
	}
	r->dcb = cb;
	if (s->pg == NULL) {
		store_req_ready(r, 0, NULL);
	} else if ((rc = store_pg_save(s->pg, snap->session_id,
	    (int64_t)snap->generation, blob, len, e->fence, on_pg_saved, r)) < 0) {
		snprintf(why, sizeof(why), "database copy not queued: %s",
		    store_pg_status_name(rc));
		store_req_ready(r, rc == STORE_PG_ECLOSED ? STORE_ECLOSED :
		    rc == STORE_PG_ENOMEM ? STORE_ENOMEM : STORE_EDB, why);
	}
	store_snap_blob_free(blob, len);
	return 0;
}
