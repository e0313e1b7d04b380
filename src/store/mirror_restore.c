/*
 * src/store/mirror_restore.c: restore (see mirror.h): read both copies,
 * judge each, pick the highest valid generation, repair the other, say
 * which won and why in one log line.
 *
 * Judging a copy costs a SHA-256 over the blob and, when it is valid, a
 * decode (AES-GCM with a secret): microseconds for a few-KiB snapshot.
 * The wait for the database answer dominates: one round trip when it is
 * up, at most db_wait when it is not.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "log/log.h"
#include "store/mirror.h"
#include "store/mirror_int.h"

/* What one copy turned out to be. */
enum copy_state {
	C_DISABLED,   /* database: no DATABASE_URL */
	C_MISSING,
	C_UNAVAIL,    /* database: no answer (down, or refused) */
	C_DAMAGED,    /* unreadable, bad checksum, truncated, wrong id, ... */
	C_LOCKED,     /* sound, but this process must not use or overwrite it:
	                 the secret does not open it, or a newer format */
	C_OK,
};

struct copy {
	const char *name;          /* "file" or "pg" */
	enum copy_state st;
	int lock_rc;               /* C_LOCKED: STORE_ESECRET / STORE_EVERSION */
	uint64_t gen;              /* C_OK */
	const uint8_t *blob;       /* C_OK: valid during the decision only */
	size_t len;
	struct store_snap snap;    /* C_OK */
	char why[120];
};

static const char *
state_word(enum copy_state st)
{
	switch (st) {
	case C_DISABLED: return "disabled";
	case C_MISSING:  return "missing";
	case C_UNAVAIL:  return "unavailable";
	case C_DAMAGED:  return "damaged";
	case C_LOCKED:   return "unusable";
	case C_OK:       return "ok";
	}
	return "?";
}

/* Peek (header, checksum: no secret needed), then decode with the secret
 * and check that the blob belongs to this session. */
static void
judge(struct store *s, const char *id, const uint8_t *blob, size_t len,
    struct copy *c)
{
	struct store_snap_hdr h;
	int rc;

	c->blob = blob;
	c->len = len;
	rc = store_snap_peek(blob, len, &h, c->why, sizeof(c->why));
	if (rc == STORE_SNAP_EVERSION) {
		c->st = C_LOCKED;
		c->lock_rc = STORE_EVERSION;
		return;
	}
	if (rc < 0) {
		c->st = C_DAMAGED;
		return;
	}
	rc = store_snap_decode(blob, len, s->secret, &c->snap, &h, c->why,
	    sizeof(c->why));
	if (rc == STORE_SNAP_ENOSECRET || rc == STORE_SNAP_EBADSECRET) {
		c->st = C_LOCKED;
		c->lock_rc = STORE_ESECRET;
		return;
	}
	if (rc < 0) {
		c->st = C_DAMAGED;
		return;
	}
	if (c->snap.session_id[0] != '\0' && strcmp(c->snap.session_id, id) != 0) {
		snprintf(c->why, sizeof(c->why), "holds another session's snapshot");
		store_snap_clear(&c->snap);
		c->st = C_DAMAGED;
		return;
	}
	c->st = C_OK;
	c->gen = h.generation;
}

static void
on_repaired(void *arg, const struct store_pg_result *pr)
{
	struct store *s = arg;
	struct store_sess *e;

	if (pr->status == STORE_PG_OK || pr->status == STORE_PG_SUPERSEDED) {
		log_info("session=%s event=repaired copy=pg generation=%lld", pr->id,
		    (long long)pr->generation);
		return;
	}
	if (pr->status == STORE_PG_STALE && (e = store_sess_get(s, pr->id)) != NULL &&
	    (uint64_t)pr->generation > e->known_gen)
		e->known_gen = (uint64_t)pr->generation;
	log_warn("session=%s event=repair_failed copy=pg status=%s "
	    "db_generation=%lld err=\"%s\"", pr->id,
	    store_pg_status_name(pr->status), (long long)pr->generation,
	    pr->error ? pr->error : "");
}

/* The other copy's part of the log line: its generation, or its state. */
static void
describe(const struct copy *c, char *out, size_t n)
{
	if (c->st == C_OK)
		snprintf(out, n, "%s_generation=%llu", c->name,
		    (unsigned long long)c->gen);
	else if (c->st == C_DAMAGED || c->st == C_UNAVAIL || c->st == C_LOCKED)
		snprintf(out, n, "%s=%s %s_error=\"%s\"", c->name,
		    state_word(c->st), c->name, c->why);
	else
		snprintf(out, n, "%s=%s", c->name, state_word(c->st));
}

/*
 * The winner's blob to the file copy.  bump > 0: the winner is re-encoded
 * at that generation first and goes to both copies (the database row
 * claims a generation at or above the winner's, so a plain repair would
 * be refused as stale).
 */
static const char *
repair(struct store_req *r, struct copy *win, struct copy *lose, uint64_t bump)
{
	struct store *s = r->s;
	struct store_sess *e = store_sess_get(s, r->id);
	uint8_t *blob = NULL;
	size_t len = 0;
	char why[256];
	int rc;

	if (s->read_only)
		return "none(read-only)";
	if (bump > 0) {
		win->snap.generation = bump;
		if (store_snap_encode(&win->snap, s->secret, &blob, &len, why,
		    sizeof(why)) < 0) {
			log_warn("session=%s event=repair_failed reason=\"%s\"", r->id,
			    why);
			return "failed";
		}
		win->gen = bump;
		if (store_file_save(&s->file, r->id, blob, len, why, sizeof(why)) < 0)
			log_warn("session=%s event=repair_failed copy=file reason=\"%s\"",
			    r->id, why);
		if (e != NULL && bump > e->known_gen)
			e->known_gen = bump;
		rc = store_pg_save(s->pg, r->id, (int64_t)bump, blob, len,
		    e != NULL ? e->fence : 0, on_repaired, s);
		store_snap_blob_free(blob, len);
		return rc < 0 ? "file" : "file,pg";
	}
	if (lose == NULL || lose->st == C_DISABLED)
		return "none";
	if (strcmp(lose->name, "file") == 0) {
		if (store_file_save(&s->file, r->id, win->blob, win->len, why,
		    sizeof(why)) < 0) {
			log_warn("session=%s event=repair_failed copy=file reason=\"%s\"",
			    r->id, why);
			return "failed";
		}
		return "file";
	}
	rc = store_pg_save(s->pg, r->id, (int64_t)win->gen, win->blob, win->len,
	    e != NULL ? e->fence : 0, on_repaired, s);
	if (rc < 0) {
		log_warn("session=%s event=repair_failed copy=pg status=%s", r->id,
		    store_pg_status_name(rc));
		return "failed";
	}
	return lose->st == C_UNAVAIL ? "pg(queued)" : "pg";
}

/* Neither copy is usable: the verdict, and its log line. */
static void
no_winner(struct store_req *r, struct copy *f, struct copy *p)
{
	char fd[256], pd[256];

	describe(f, fd, sizeof(fd));
	describe(p, pd, sizeof(pd));
	if (f->st == C_MISSING && (p->st == C_MISSING || p->st == C_DISABLED)) {
		r->rc = STORE_RESTORE_NEW;
		snprintf(r->why, sizeof(r->why), "no stored copy of this session");
		log_info("session=%s event=restore_new %s %s reason=\"no copy in "
		    "any store: pairing needed\"", r->id, fd, pd);
		return;
	}
	if (f->st == C_MISSING && p->st == C_UNAVAIL) {
		r->rc = STORE_EUNAVAIL;
		snprintf(r->why, sizeof(r->why), "no file copy, and the database "
		    "did not answer (%s): not starting a new pairing", p->why);
	} else {
		r->rc = STORE_EDAMAGED;
		snprintf(r->why, sizeof(r->why), "file copy %s%s%s, database copy "
		    "%s%s%s", state_word(f->st), f->why[0] ? ": " : "", f->why,
		    state_word(p->st), p->why[0] ? ": " : "", p->why);
	}
	log_error("session=%s event=restore_failed %s %s reason=\"%s\"", r->id,
	    fd, pd, r->why);
}

void
store_restore_decide(struct store_req *r, const struct store_pg_result *pr)
{
	struct store *s = r->s;
	struct copy f = { .name = "file" }, p = { .name = "pg" };
	struct copy *win, *lose, *locked;
	struct store_sess *e = store_sess_get(s, r->id);
	uint64_t claim = 0, bump = 0;
	char other[300], reason[300];
	const char *repaired;

	if (s->closing) {
		r->rc = STORE_ECLOSED;
		snprintf(r->why, sizeof(r->why), "store closed");
		return;
	}
	if (r->frc == STORE_FILE_MISSING) {
		f.st = C_MISSING;
	} else if (r->frc < 0) {
		f.st = C_DAMAGED;
		snprintf(f.why, sizeof(f.why), "%.119s", r->ferr);
	} else {
		judge(s, r->id, r->fblob, r->flen, &f);
	}
	if (s->pg == NULL) {
		p.st = C_DISABLED;
	} else if (pr->status == STORE_PG_ABSENT) {
		p.st = C_MISSING;
	} else if (pr->status == STORE_PG_OK) {
		claim = (uint64_t)pr->generation;
		judge(s, r->id, pr->blob, pr->blob_len, &p);
		if (p.st == C_OK && p.gen != claim) {
			snprintf(p.why, sizeof(p.why), "row generation %llu, blob "
			    "generation %llu", (unsigned long long)claim,
			    (unsigned long long)p.gen);
			store_snap_clear(&p.snap);
			p.st = C_DAMAGED;
		}
	} else {
		p.st = C_UNAVAIL;
		snprintf(p.why, sizeof(p.why), "%.119s", pr->status == STORE_PG_ETIMEDOUT ?
		    "no answer in time" : pr->error ? pr->error :
		    store_pg_status_name(pr->status));
	}

	/* what this process must not touch stops everything */
	locked = f.st == C_LOCKED ? &f : p.st == C_LOCKED ? &p : NULL;
	if (locked != NULL) {
		r->rc = locked->lock_rc;
		snprintf(r->why, sizeof(r->why), "%s copy: %s; not restored, nothing "
		    "overwritten%s", locked == &f ? "file" : "database", locked->why,
		    locked->lock_rc == STORE_ESECRET ? " (check SESSION_SECRET)" : "");
		log_error("session=%s event=restore_refused reason=\"%s\"", r->id,
		    r->why);
		goto out;
	}
	if (f.st == C_OK && p.st == C_OK)
		win = f.gen >= p.gen ? &f : &p;
	else
		win = f.st == C_OK ? &f : p.st == C_OK ? &p : NULL;
	if (win == NULL) {
		no_winner(r, &f, &p);
		goto out;
	}
	lose = win == &f ? &p : &f;
	if (e != NULL) {
		if (win->gen > e->known_gen)
			e->known_gen = win->gen;
		if (claim > e->known_gen)
			e->known_gen = claim;
	}

	if (lose->st == C_OK && lose->gen == win->gen) {
		snprintf(reason, sizeof(reason), "copies agree");
		lose = NULL;
	} else if (lose->st == C_OK) {
		snprintf(reason, sizeof(reason), "%s older", lose == &f ? "file" :
		    "database");
	} else if (lose->st == C_MISSING) {
		snprintf(reason, sizeof(reason), "no %s copy", lose == &f ? "file" :
		    "database");
	} else if (lose->st == C_DAMAGED) {
		snprintf(reason, sizeof(reason), "%s copy damaged: %s", lose == &f ?
		    "file" : "database", lose->why);
		/* the row's claim is what the CAS compares against */
		if (lose == &p && claim >= win->gen)
			bump = claim + 1;
	} else if (lose->st == C_UNAVAIL) {
		snprintf(reason, sizeof(reason), "database unavailable (%s): going on "
		    "with the file copy", lose->why);
	} else {
		snprintf(reason, sizeof(reason), "file copy only (no DATABASE_URL)");
		lose = NULL;
	}
	describe(lose != NULL ? lose : win == &f ? &p : &f, other, sizeof(other));
	repaired = lose != NULL || bump > 0 ? repair(r, win, lose, bump) : "none";
	log_info("session=%s event=restored from=%s generation=%llu %s "
	    "reason=\"%s\" repaired=%s ms=%.1f", r->id, win->name,
	    (unsigned long long)win->gen, other, reason, repaired,
	    (ev_time() - r->t0) * 1e3);
	r->rc = 0;
	r->snap = win->snap;   /* the pre-keys go along */
	memset(&win->snap, 0, sizeof(win->snap));
out:
	store_snap_clear(&f.snap);
	store_snap_clear(&p.snap);
}

static void
on_pg_loaded(void *arg, const struct store_pg_result *pr)
{
	struct store_req *r = arg;

	store_restore_decide(r, pr);
	store_req_finish(r);
}

int
store_restore(struct store *s, const char *id, store_restore_cb *cb,
    void *arg)
{
	struct store_pg_result pr = { .owner = "" };
	struct store_req *r;
	int rc;

	if (s->closing)
		return STORE_ECLOSED;
	if (store_id_check(id, NULL, 0) < 0)
		return STORE_EINVAL;
	if ((r = store_req_new(s, REQ_RESTORE, id, arg)) == NULL)
		return STORE_ENOMEM;
	r->rcb = cb;
	r->t0 = ev_time();
	r->frc = store_file_load(&s->file, id, &r->fblob, &r->flen, r->ferr,
	    sizeof(r->ferr));
	if (s->pg != NULL) {
		if ((rc = store_pg_load(s->pg, id, on_pg_loaded, r)) == 0)
			return 0;
		/* refused at once (schema newer than us, queue full): judged
		 * as unavailable, the file copy decides */
		pr.status = rc;
		pr.error = store_pg_status_name(rc);
	}
	store_restore_decide(r, &pr);
	store_req_ready(r, r->rc, NULL);
	return 0;
}
