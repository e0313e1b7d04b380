/*
 * src/store/mirror_int.h: what mirror.c, mirror_restore.c and mirror_lease.c
 * share.
 */
#ifndef SK_STORE_MIRROR_INT_H
#define SK_STORE_MIRROR_INT_H

#include <stddef.h>
#include <stdint.h>
#include <ev.h>
#include "store/file.h"
#include "store/mirror.h"
#include "store/pg.h"
#include "store/snapshot.h"

/*
 * What the store remembers of one session: the fence of our last lease
 * grant (sent with every save) and the highest generation seen in any
 * copy, so a save always goes above it.  ~100 bytes each, never freed
 * before store_close: a process runs a fixed set of sessions.
 */
struct store_sess {
	struct store_sess *next;        /* hash chain */
	int64_t fence;                  /* 0: never granted to us */
	int leased;                     /* granted and not released or lost */
	uint64_t known_gen;
	char id[STORE_SNAP_ID_MAX + 1];
};

enum store_req_kind { REQ_RESTORE, REQ_SAVE, REQ_LEASE };

/*
 * One call in progress, from the call to its callback.  `ready`: the
 * outcome is decided and the kick delivers it from the loop; otherwise a
 * database answer is awaited.
 */
struct store_req {
	struct store_req *prev, *next;
	struct store *s;
	enum store_req_kind kind;
	int ready;
	int rc;
	char why[512];
	void *arg;
	store_restore_cb *rcb;
	store_done_cb *dcb;
	store_lease_cb *lcb;
	/* restore */
	struct store_snap snap;
	uint8_t *fblob;                 /* the file copy as read */
	size_t flen;
	int frc;                        /* store_file_load's rc */
	char ferr[160];
	ev_tstamp t0;                   /* when restore was called */
	/* lease */
	char holder[160];
	double expires_in;
	char id[STORE_SNAP_ID_MAX + 1];
};

struct store {
	struct ev_loop *loop;
	struct store_file file;
	struct store_pg *pg;            /* NULL: file copy only */
	char *secret;                   /* NULL: plain; wiped at close */
	double lease_ttl, db_wait;
	int read_only;
	char owner[128];
	struct store_sess **tab;
	size_t tsize, tcount;
	struct store_req *head, *tail;  /* calls in progress, oldest first */
	size_t nreq;
	ev_timer kick;                  /* 0 s: deliver ready outcomes */
	void (*drain_cb)(void *);
	void *drain_arg;
	int drain_check;
	int closing;
};

/* mirror.c */
struct store_sess *store_sess_get(struct store *s, const char *id);
struct store_req *store_req_new(struct store *s, enum store_req_kind kind,
    const char *id, void *arg);
void store_req_ready(struct store_req *r, int rc, const char *why);
void store_req_finish(struct store_req *r);
int store_id_check(const char *id, char *why, size_t whylen);
int64_t store_now_ms(void);

/* mirror_restore.c */
void store_restore_decide(struct store_req *r, const struct store_pg_result *pr);

#endif
