/*
 * tests/check_mirror.c: the mirror (store/mirror.h) against a real
 * PostgreSQL and real files.
 *
 * Run through tests/pg/run.sh, which starts a throwaway cluster
 * (tools/pgtmp) and passes SKYKEEPER_TEST_DATABASE_URL and the pgtmp path
 * and directory (to stop and start the server).  Without them the database
 * tests fail: nothing is skipped silently.  Each test gets a database and
 * data directories of its own; every wait runs a real libev loop, bounded.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <ev.h>
#include <libpq-fe.h>
#include "log/log.h"
#include "store/mirror.h"
#include "store/snapshot.h"
#include "pgutil.h"

#define SECRET  "correct horse battery staple"

/* --- the log, captured ---------------------------------------------------- */

static char log_path[64];
static int log_fd = -1;

static void
log_capture(void)
{
	snprintf(log_path, sizeof(log_path), "/tmp/check_mirror_log.XXXXXX");
	log_fd = mkstemp(log_path);
	ck_assert_int_ge(log_fd, 0);
	log_set_fd(log_fd);
	log_set_level(LOG_DEBUG);
}

static char *
log_read(void)
{
	static char buf[1 << 18];
	FILE *f = fopen(log_path, "r");
	size_t n;

	ck_assert_ptr_nonnull(f);
	n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

/* The last log line containing `what`, in out ("" if none). */
static const char *
log_line(const char *what, char *out, size_t n)
{
	const char *all = log_read(), *p, *hit = NULL, *end;

	for (p = all; (p = strstr(p, what)) != NULL; p++)
		hit = p;
	out[0] = '\0';
	if (hit == NULL)
		return out;
	while (hit > all && hit[-1] != '\n')
		hit--;
	end = strchr(hit, '\n');
	snprintf(out, n, "%.*s", (int)(end ? end - hit : (long)strlen(hit)), hit);
	return out;
}

static void
log_done(void)
{
	log_set_fd(1);
	if (log_fd >= 0)
		close(log_fd);
	unlink(log_path);
	log_fd = -1;
}

/* --- files ---------------------------------------------------------------- */

static void
tmpdir(char *out, size_t n)
{
	snprintf(out, n, "/tmp/check_mirror.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(out));
}

static void
rm_rf(const char *dir)
{
	char cmd[600];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	(void)system(cmd);
}

static void
snap_path(const char *dir, const char *id, char *out, size_t n)
{
	snprintf(out, n, "%s/sessions/%s.snap", dir, id);
}

/* The file copy's bytes (malloc'd), NULL when there is none. */
static unsigned char *
file_bytes(const char *dir, const char *id, size_t *len)
{
	char path[600];
	struct stat st;
	unsigned char *b;
	FILE *f;

	snap_path(dir, id, path, sizeof(path));
	if (stat(path, &st) < 0)
		return NULL;
	b = malloc((size_t)st.st_size + 1);
	f = fopen(path, "rb");
	ck_assert_ptr_nonnull(f);
	*len = fread(b, 1, (size_t)st.st_size, f);
	fclose(f);
	return b;
}

static void
file_put(const char *dir, const char *id, const unsigned char *b, size_t len)
{
	char path[600];
	FILE *f;

	snap_path(dir, id, path, sizeof(path));
	f = fopen(path, "wb");
	ck_assert_ptr_nonnull(f);
	ck_assert_uint_eq(fwrite(b, 1, len, f), len);
	fclose(f);
}

/* The generation in the file's header, 0 when absent or damaged. */
static long long
file_gen(const char *dir, const char *id)
{
	struct store_snap_hdr h;
	size_t len = 0;
	unsigned char *b = file_bytes(dir, id, &len);
	long long g = 0;

	if (b != NULL && store_snap_peek(b, len, &h, NULL, 0) == 0)
		g = (long long)h.generation;
	free(b);
	return g;
}

static char *
hex(const unsigned char *b, size_t n)
{
	char *s = malloc(2 * n + 1);

	for (size_t i = 0; i < n; i++)
		sprintf(s + 2 * i, "%02x", b[i]);
	s[2 * n] = '\0';
	return s;
}

static long long
pg_gen(const char *url, const char *id)
{
	char q[256];

	snprintf(q, sizeof(q), "SELECT generation FROM skykeeper_sessions "
	    "WHERE id = '%s' AND blob IS NOT NULL", id);
	return sql_int(url, q);
}

static char *
pg_blob_hex(const char *url, const char *id)
{
	char q[256];

	snprintf(q, sizeof(q), "SELECT encode(blob, 'hex') FROM "
	    "skykeeper_sessions WHERE id = '%s'", id);
	return sql_dup(url, q);
}

/* Puts these bytes and generation into the database row. */
static void
pg_put(const char *url, const char *id, long long gen, const unsigned char *b,
    size_t len)
{
	char *h = hex(b, len), *q = malloc(2 * len + 256);

	sprintf(q, "UPDATE skykeeper_sessions SET generation = %lld, "
	    "blob = decode('%s', 'hex') WHERE id = '%s'", gen, h, id);
	sql_ok(url, q);
	free(q);
	free(h);
}

/* --- the store ------------------------------------------------------------ */

static struct ev_loop *loop;

static void
setup(void)
{
	loop = ev_loop_new(EVFLAG_AUTO);
	log_capture();
}

static void
teardown(void)
{
	log_done();
	ev_loop_destroy(loop);
}

static struct store *
open_store(const char *dir, const char *url, const char *secret, double ttl,
    double db_wait)
{
	struct store_pg_config pc;
	struct store_config c = { .data_dir = dir, .database_url = url,
		.secret = secret, .lease_ttl = ttl, .db_wait = db_wait, .pg = &pc };
	char why[256];
	struct store *s;

	store_pg_config_default(&pc);
	pc.backoff_min = 0.05;
	pc.backoff_max = 0.3;
	pc.connect_timeout = 3;
	pc.query_timeout = 5;
	s = store_open(loop, &c, why, sizeof(why));
	ck_assert_msg(s != NULL, "store_open: %s", why);
	return s;
}

struct res {
	int called, rc;
	char why[512];
	char holder[160];
	double expires_in;
	struct store_snap snap;
};

static int
called(void *arg)
{
	return ((struct res *)arg)->called > 0;
}

static void
on_done(void *arg, int rc, const char *why)
{
	struct res *r = arg;

	r->called++;
	r->rc = rc;
	snprintf(r->why, sizeof(r->why), "%s", why ? why : "");
}

static void
on_restored(void *arg, int rc, struct store_snap *snap, const char *why)
{
	struct res *r = arg;

	r->called++;
	r->rc = rc;
	snprintf(r->why, sizeof(r->why), "%s", why ? why : "");
	if (rc == 0) {
		ck_assert_ptr_nonnull(snap);
		r->snap = *snap;   /* takes the pre-keys over */
	} else {
		ck_assert_ptr_null(snap);
	}
}

static void
on_lease(void *arg, int rc, const char *holder, double expires_in)
{
	struct res *r = arg;

	r->called++;
	r->rc = rc;
	snprintf(r->holder, sizeof(r->holder), "%s", holder ? holder : "");
	r->expires_in = expires_in;
}

static struct res
save_wait(struct store *s, struct store_snap *snap)
{
	struct res r = { 0 };
	int rc;

	ev_now_update(loop);   /* the test blocked: the loop's clock is old */
	rc = store_save(s, snap, on_done, &r);

	ck_assert_msg(rc == 0, "store_save: %s", store_strerror(rc));
	ck_assert_int_eq(r.called, 0);  /* never from inside the call */
	ck_assert_msg(run_until(loop, called, &r, 20), "save: no answer");
	return r;
}

static struct res
restore_wait(struct store *s, const char *id, double max_s)
{
	struct res r = { 0 };

	ev_now_update(loop);
	ck_assert_int_eq(store_restore(s, id, on_restored, &r), 0);
	ck_assert_int_eq(r.called, 0);
	ck_assert_msg(run_until(loop, called, &r, max_s), "restore: no answer");
	return r;
}

enum { ACQ, RENEW, REL };

static struct res
lease_wait(struct store *s, int op, const char *id)
{
	struct res r = { 0 };
	int rc;

	ev_now_update(loop);
	rc = op == ACQ ? store_lease_acquire(s, id, on_lease, &r) :
	    op == RENEW ? store_lease_renew(s, id, on_lease, &r) :
	    store_lease_release(s, id, on_lease, &r);

	ck_assert_int_eq(rc, 0);
	ck_assert_int_eq(r.called, 0);
	ck_assert_msg(run_until(loop, called, &r, 20), "lease: no answer");
	return r;
}

static int drained;
static void on_drained(void *arg) { (void)arg; drained++; }
static int is_drained(void *arg) { (void)arg; return drained > 0; }

static void
drain_wait(struct store *s, double max_s)
{
	drained = 0;
	store_drain(s, on_drained, NULL);
	ck_assert_int_eq(drained, 0);
	ck_assert_msg(run_until(loop, is_drained, NULL, max_s), "drain: not done");
}

/* A paired-looking session with three pre-keys. */
static void
make_snap(struct store_snap *s, const char *id)
{
	memset(s, 0, sizeof(*s));
	snprintf(s->session_id, sizeof(s->session_id), "%s", id);
	ck_assert_int_eq(wa_creds_generate(&s->creds), 0);
	snprintf(s->creds.me_jid, sizeof(s->creds.me_jid),
	    "15550001234:2@s.whatsapp.net");
	snprintf(s->creds.push_name, sizeof(s->creds.push_name), "Mirror");
	s->prekeys = calloc(3, sizeof(*s->prekeys));
	s->n_prekeys = 3;
	for (uint32_t i = 0; i < 3; i++) {
		s->prekeys[i].id = i + 1;
		ck_assert_int_eq(wa_keypair_generate(&s->prekeys[i].pair), 0);
	}
	snprintf(s->meta.last_state, sizeof(s->meta.last_state), "open");
}

static void
same_creds(const struct store_snap *a, const struct store_snap *b)
{
	ck_assert_mem_eq(a->creds.noise.priv, b->creds.noise.priv, 32);
	ck_assert_mem_eq(a->creds.identity.priv, b->creds.identity.priv, 32);
	ck_assert_str_eq(a->creds.me_jid, b->creds.me_jid);
	ck_assert_uint_eq(a->n_prekeys, b->n_prekeys);
}

/* --- tests ---------------------------------------------------------------- */

START_TEST(save_lands_in_both)
{
	char url[512], dir[64];
	struct store_snap snap;
	struct store *s;
	struct res r;
	unsigned char *fb;
	size_t flen = 0;
	char *fh, *ph;

	db_fresh("mirror_save", url, sizeof(url));
	tmpdir(dir, sizeof(dir));
	s = open_store(dir, url, SECRET, 30, 10);
	ck_assert(store_db_enabled(s));
	make_snap(&snap, "alpha");
	r = save_wait(s, &snap);
	ck_assert_msg(r.rc == 0, "save: %s", r.why);
	ck_assert_uint_eq(snap.generation, 1);
	ck_assert_int_gt(snap.saved_ms, 0);
	r = save_wait(s, &snap);
	ck_assert_int_eq(r.rc, 0);
	ck_assert_uint_eq(snap.generation, 2);
	ck_assert_int_eq(file_gen(dir, "alpha"), 2);
	ck_assert_int_eq(pg_gen(url, "alpha"), 2);
	/* encoded once: the same bytes in both copies */
	fb = file_bytes(dir, "alpha", &flen);
	fh = hex(fb, flen);
	ph = pg_blob_hex(url, "alpha");
	ck_assert_str_eq(fh, ph);
	free(fb);
	free(fh);
	free(ph);
	drain_wait(s, 10);
	store_close(s);
	store_snap_clear(&snap);
	rm_rf(dir);
}
END_TEST

/* Two saves; the older blob put back into one copy.  Returns the first
 * save's bytes. */
static unsigned char *
two_generations(struct store *s, const char *dir, const char *id,
    struct store_snap *snap, size_t *len)
{
	unsigned char *b1;

	make_snap(snap, id);
	ck_assert_int_eq(save_wait(s, snap).rc, 0);
	b1 = file_bytes(dir, id, len);
	ck_assert_ptr_nonnull(b1);
	ck_assert_int_eq(save_wait(s, snap).rc, 0);
	ck_assert_uint_eq(snap->generation, 2);
	return b1;
}

START_TEST(restore_file_newer)
{
	char url[512], dir[64], line[1024];
	struct store_snap snap;
	struct store *s;
	struct res r;
	unsigned char *b1;
	size_t len = 0;

	db_fresh("mirror_filenewer", url, sizeof(url));
	tmpdir(dir, sizeof(dir));
	s = open_store(dir, url, SECRET, 30, 10);
	b1 = two_generations(s, dir, "beta", &snap, &len);
	drain_wait(s, 10);
	store_close(s);
	pg_put(url, "beta", 1, b1, len);           /* the database is behind */

	s = open_store(dir, url, SECRET, 30, 10);
	ck_assert_int_eq(lease_wait(s, ACQ, "beta").rc, 0);
	r = restore_wait(s, "beta", 10);
	ck_assert_msg(r.rc == 0, "restore: %s", r.why);
	ck_assert_uint_eq(r.snap.generation, 2);
	same_creds(&r.snap, &snap);
	log_line("event=restored", line, sizeof(line));
	ck_assert_msg(strstr(line, "session=beta event=restored from=file "
	    "generation=2 pg_generation=1 reason=\"database older\" repaired=pg")
	    != NULL, "log: %s", line);
	drain_wait(s, 10);
	ck_assert_int_eq(pg_gen(url, "beta"), 2);   /* repaired */
	store_close(s);
	store_snap_clear(&r.snap);
	store_snap_clear(&snap);
	free(b1);
	rm_rf(dir);
}
END_TEST

START_TEST(restore_pg_newer)
{
	char url[512], dir[64], line[1024];
	struct store_snap snap;
	struct store *s;
	struct res r;
	unsigned char *b1;
	size_t len = 0;

	db_fresh("mirror_pgnewer", url, sizeof(url));
	tmpdir(dir, sizeof(dir));
	s = open_store(dir, url, SECRET, 30, 10);
	b1 = two_generations(s, dir, "gamma", &snap, &len);
	drain_wait(s, 10);
	store_close(s);
	file_put(dir, "gamma", b1, len);            /* the file is behind */

	s = open_store(dir, url, SECRET, 30, 10);
	ck_assert_int_eq(lease_wait(s, ACQ, "gamma").rc, 0);
	r = restore_wait(s, "gamma", 10);
	ck_assert_msg(r.rc == 0, "restore: %s", r.why);
	ck_assert_uint_eq(r.snap.generation, 2);
	log_line("event=restored", line, sizeof(line));
	ck_assert_msg(strstr(line, "from=pg generation=2 file_generation=1 "
	    "reason=\"file older\" repaired=file") != NULL, "log: %s", line);
	ck_assert_int_eq(file_gen(dir, "gamma"), 2);
	/* the next save goes above both */
	ck_assert_int_eq(save_wait(s, &r.snap).rc, 0);
	ck_assert_uint_eq(r.snap.generation, 3);
	ck_assert_int_eq(pg_gen(url, "gamma"), 3);
	store_close(s);
	store_snap_clear(&r.snap);
	store_snap_clear(&snap);
	free(b1);
	rm_rf(dir);
}
END_TEST

START_TEST(file_corrupt_pg_wins)
{
	char url[512], dir[64], line[1024];
	struct store_snap snap;
	struct store *s;
	struct res r;
	unsigned char *b;
	size_t len = 0;
	char *fh, *ph;

	db_fresh("mirror_filecorrupt", url, sizeof(url));
	tmpdir(dir, sizeof(dir));
	s = open_store(dir, url, SECRET, 30, 10);
	make_snap(&snap, "delta");
	ck_assert_int_eq(save_wait(s, &snap).rc, 0);
	store_close(s);
	b = file_bytes(dir, "delta", &len);
	b[STORE_SNAP_HDR_LEN + 7] ^= 0x01;         /* one flipped bit */
	file_put(dir, "delta", b, len);
	free(b);
	ck_assert_int_eq(file_gen(dir, "delta"), 0);

	s = open_store(dir, url, SECRET, 30, 10);
	ck_assert_int_eq(lease_wait(s, ACQ, "delta").rc, 0);
	r = restore_wait(s, "delta", 10);
	ck_assert_msg(r.rc == 0, "restore: %s", r.why);
	ck_assert_uint_eq(r.snap.generation, 1);
	same_creds(&r.snap, &snap);
	log_line("event=restored", line, sizeof(line));
	ck_assert_msg(strstr(line, "from=pg generation=1 file=damaged") != NULL &&
	    strstr(line, "reason=\"file copy damaged: checksum") != NULL &&
	    strstr(line, "repaired=file") != NULL, "log: %s", line);
	/* repaired: the file holds the database's bytes again */
	b = file_bytes(dir, "delta", &len);
	fh = hex(b, len);
	ph = pg_blob_hex(url, "delta");
	ck_assert_str_eq(fh, ph);
	free(b);
	free(fh);
	free(ph);
	store_close(s);
	store_snap_clear(&r.snap);
	store_snap_clear(&snap);
	rm_rf(dir);
}
END_TEST

START_TEST(pg_corrupt_file_wins)
{
	char url[512], dir[64], line[1024];
	struct store_snap snap;
	struct store *s;
	struct res r;

	db_fresh("mirror_pgcorrupt", url, sizeof(url));
	tmpdir(dir, sizeof(dir));
	s = open_store(dir, url, SECRET, 30, 10);
	make_snap(&snap, "eps");
	ck_assert_int_eq(save_wait(s, &snap).rc, 0);
	store_close(s);
	sql_ok(url, "UPDATE skykeeper_sessions SET blob = "
	    "set_byte(blob, 40, get_byte(blob, 40) # 1) WHERE id = 'eps'");

	s = open_store(dir, url, SECRET, 30, 10);
	ck_assert_int_eq(lease_wait(s, ACQ, "eps").rc, 0);
	r = restore_wait(s, "eps", 10);
	ck_assert_msg(r.rc == 0, "restore: %s", r.why);
	same_creds(&r.snap, &snap);
	log_line("event=restored", line, sizeof(line));
	ck_assert_msg(strstr(line, "from=file") != NULL &&
	    strstr(line, "pg=damaged") != NULL &&
	    strstr(line, "reason=\"database copy damaged") != NULL, "log: %s", line);
	/* the damaged row claims generation 1, as the file does: the winner
	 * goes to both copies one generation higher, or the CAS would refuse */
	ck_assert_uint_eq(r.snap.generation, 2);
	drain_wait(s, 10);
	ck_assert_int_eq(pg_gen(url, "eps"), 2);
	ck_assert_int_eq(file_gen(dir, "eps"), 2);
	store_close(s);

	/* and it reads back valid from the database alone */
	unlink(strcat(strcpy(line, dir), "/sessions/eps.snap"));
	s = open_store(dir, url, SECRET, 30, 10);
	store_snap_clear(&r.snap);
	r = restore_wait(s, "eps", 10);
	ck_assert_msg(r.rc == 0, "restore: %s", r.why);
	ck_assert_uint_eq(r.snap.generation, 2);
	store_close(s);
	store_snap_clear(&r.snap);
	store_snap_clear(&snap);
	rm_rf(dir);
}
END_TEST

START_TEST(one_missing)
{
	char url[512], dir[64], line[1024], path[600];
	struct store_snap snap;
	struct store *s;
	struct res r;

	db_fresh("mirror_missing", url, sizeof(url));
	tmpdir(dir, sizeof(dir));
	s = open_store(dir, url, SECRET, 30, 10);
	make_snap(&snap, "zeta");
	ck_assert_int_eq(save_wait(s, &snap).rc, 0);
	store_close(s);

	/* no file: the database copy, and the file comes back */
	snap_path(dir, "zeta", path, sizeof(path));
	ck_assert_int_eq(unlink(path), 0);
	s = open_store(dir, url, SECRET, 30, 10);
	ck_assert_int_eq(lease_wait(s, ACQ, "zeta").rc, 0);
	r = restore_wait(s, "zeta", 10);
	ck_assert_msg(r.rc == 0, "restore: %s", r.why);
	log_line("event=restored", line, sizeof(line));
	ck_assert_msg(strstr(line, "from=pg generation=1 file=missing "
	    "reason=\"no file copy\" repaired=file") != NULL, "log: %s", line);
	ck_assert_int_eq(file_gen(dir, "zeta"), 1);
	store_snap_clear(&r.snap);
	store_close(s);

	/* no row: the file copy, and the row comes back */
	sql_ok(url, "DELETE FROM skykeeper_sessions WHERE id = 'zeta'");
	s = open_store(dir, url, SECRET, 30, 10);
	ck_assert_int_eq(lease_wait(s, ACQ, "zeta").rc, 0);
	r = restore_wait(s, "zeta", 10);
	ck_assert_msg(r.rc == 0, "restore: %s", r.why);
	log_line("event=restored", line, sizeof(line));
	ck_assert_msg(strstr(line, "from=file generation=1 pg=missing "
	    "reason=\"no database copy\" repaired=pg") != NULL, "log: %s", line);
	drain_wait(s, 10);
	ck_assert_int_eq(pg_gen(url, "zeta"), 1);
	store_snap_clear(&r.snap);
	store_close(s);
	store_snap_clear(&snap);
	rm_rf(dir);
}
END_TEST

START_TEST(both_missing_is_new)
{
	char url[512], dir[64], path[600];
	struct store *s;
	struct res r;
	struct stat st;

	db_fresh("mirror_new", url, sizeof(url));
	tmpdir(dir, sizeof(dir));
	s = open_store(dir, url, SECRET, 30, 10);
	ck_assert_int_eq(lease_wait(s, ACQ, "eta").rc, 0);
	r = restore_wait(s, "eta", 10);
	ck_assert_int_eq(r.rc, STORE_RESTORE_NEW);
	drain_wait(s, 10);
	snap_path(dir, "eta", path, sizeof(path));
	ck_assert_int_ne(stat(path, &st), 0);
	ck_assert_int_eq(pg_gen(url, "eta"), -1);  /* only the lease row */
	/* both missing without a database too */
	store_close(s);
	s = open_store(dir, NULL, SECRET, 30, 10);
	r = restore_wait(s, "eta", 10);
	ck_assert_int_eq(r.rc, STORE_RESTORE_NEW);
	store_close(s);
	rm_rf(dir);
}
END_TEST

START_TEST(wrong_secret_overwrites_nothing)
{
	char url[512], dir[64];
	struct store_snap snap;
	struct store *s;
	struct res r;
	unsigned char *before, *after;
	size_t blen = 0, alen = 0;
	char *pbefore, *pafter;

	db_fresh("mirror_secret", url, sizeof(url));
	tmpdir(dir, sizeof(dir));
	s = open_store(dir, url, SECRET, 30, 10);
	make_snap(&snap, "theta");
	ck_assert_int_eq(save_wait(s, &snap).rc, 0);
	ck_assert_int_eq(save_wait(s, &snap).rc, 0);
	store_close(s);
	/* make the copies differ, so a restore would want to repair */
	sql_ok(url, "UPDATE skykeeper_sessions SET generation = 1 WHERE id = 'theta'");
	before = file_bytes(dir, "theta", &blen);
	pbefore = pg_blob_hex(url, "theta");

	for (int i = 0; i < 2; i++) {
		s = open_store(dir, url, i == 0 ? "another secret" : NULL, 30, 10);
		ck_assert_int_eq(lease_wait(s, ACQ, "theta").rc, 0);
		r = restore_wait(s, "theta", 10);
		ck_assert_int_eq(r.rc, STORE_ESECRET);
		ck_assert_msg(strstr(r.why, "nothing overwritten") != NULL, "%s", r.why);
		ck_assert_ptr_null(strstr(r.why, SECRET));
		ck_assert_int_eq(lease_wait(s, REL, "theta").rc, 0);
		drain_wait(s, 10);
		store_close(s);
		after = file_bytes(dir, "theta", &alen);
		ck_assert_uint_eq(alen, blen);
		ck_assert_mem_eq(after, before, blen);
		free(after);
		pafter = pg_blob_hex(url, "theta");
		ck_assert_str_eq(pafter, pbefore);
		free(pafter);
	}
	ck_assert_ptr_null(strstr(log_read(), SECRET));
	free(before);
	free(pbefore);
	store_snap_clear(&snap);
	rm_rf(dir);
}
END_TEST

START_TEST(database_down_at_start)
{
	char url[512], dir[64], line[1024];
	struct store_snap snap;
	struct store *s;
	struct res r, sv = { 0 };
	ev_tstamp t0, took;

	db_fresh("mirror_down", url, sizeof(url));
	tmpdir(dir, sizeof(dir));
	s = open_store(dir, url, SECRET, 30, 10);
	make_snap(&snap, "iota");
	ck_assert_int_eq(save_wait(s, &snap).rc, 0);
	store_close(s);

	pgtmp("down");
	s = open_store(dir, url, SECRET, 30, 1.5);
	t0 = ev_time();
	r = restore_wait(s, "iota", 10);
	took = ev_time() - t0;
	ck_assert_msg(r.rc == 0, "restore: %s", r.why);
	ck_assert_uint_eq(r.snap.generation, 1);
	/* the bound: db_wait, plus a little */
	ck_assert_msg(took >= 1.4 && took < 3.0, "restore took %.2f s", took);
	log_line("event=restored", line, sizeof(line));
	ck_assert_msg(strstr(line, "from=file generation=1 pg=unavailable") != NULL &&
	    strstr(line, "reason=\"database unavailable") != NULL &&
	    strstr(line, "going on with the file copy") != NULL, "log: %s", line);

	/* a save now: the file copy at once, the database copy later */
	ck_assert_int_eq(store_save(s, &r.snap, on_done, &sv), 0);
	ck_assert_int_eq(file_gen(dir, "iota"), 2);
	ck_assert(!run_until(loop, called, &sv, 1.0));  /* still waiting */
	pgtmp("up");
	ck_assert_msg(run_until(loop, called, &sv, 20), "save never landed");
	ck_assert_msg(sv.rc == 0, "save: %s", sv.why);
	ck_assert_int_eq(pg_gen(url, "iota"), 2);
	drain_wait(s, 10);
	store_close(s);

	/* no file copy and no database: never "new", an error to retry */
	pgtmp("down");
	rm_rf(dir);
	tmpdir(dir, sizeof(dir));
	s = open_store(dir, url, SECRET, 30, 1.0);
	store_snap_clear(&r.snap);
	r = restore_wait(s, "iota", 10);
	ck_assert_int_eq(r.rc, STORE_EUNAVAIL);
	store_close(s);
	pgtmp("up");
	store_snap_clear(&snap);
	rm_rf(dir);
}
END_TEST

START_TEST(lease_busy_for_second_store)
{
	char url[512], d1[64], d2[64];
	struct store *a, *b;
	struct res r;

	db_fresh("mirror_busy", url, sizeof(url));
	tmpdir(d1, sizeof(d1));
	tmpdir(d2, sizeof(d2));
	a = open_store(d1, url, SECRET, 30, 10);
	b = open_store(d2, url, SECRET, 30, 10);
	ck_assert_str_ne(store_owner(a), store_owner(b));
	r = lease_wait(a, ACQ, "kappa");
	ck_assert_int_eq(r.rc, 0);
	ck_assert_str_eq(r.holder, store_owner(a));
	ck_assert(r.expires_in > 29 && r.expires_in <= 30.5);
	r = lease_wait(b, ACQ, "kappa");
	ck_assert_int_eq(r.rc, STORE_LEASE_BUSY);
	ck_assert_str_eq(r.holder, store_owner(a));
	ck_assert(r.expires_in > 28 && r.expires_in <= 30.5);
	ck_assert_int_eq(lease_wait(a, RENEW, "kappa").rc, 0);
	/* released right after the final save: the other one gets it */
	ck_assert_int_eq(lease_wait(a, REL, "kappa").rc, 0);
	r = lease_wait(b, ACQ, "kappa");
	ck_assert_int_eq(r.rc, 0);
	ck_assert_str_eq(r.holder, store_owner(b));
	ck_assert_int_eq(sql_int(url, "SELECT fence FROM skykeeper_sessions "
	    "WHERE id = 'kappa'"), 2);
	store_close(a);
	store_close(b);
	rm_rf(d1);
	rm_rf(d2);
}
END_TEST

START_TEST(fencing_rejects_old_owner)
{
	char url[512], d1[64], d2[64];
	struct store_snap sa, sb;
	struct store *a, *b;
	struct res r;

	db_fresh("mirror_fence", url, sizeof(url));
	tmpdir(d1, sizeof(d1));
	tmpdir(d2, sizeof(d2));
	a = open_store(d1, url, SECRET, 1.0, 10);
	b = open_store(d2, url, SECRET, 1.0, 10);
	ck_assert_int_eq(lease_wait(a, ACQ, "lambda").rc, 0);
	make_snap(&sa, "lambda");
	r = save_wait(a, &sa);
	ck_assert_msg(r.rc == 0, "%s", r.why);
	/* a stalls past its TTL; b takes over */
	run_until(loop, NULL, NULL, 1.3);
	ck_assert_int_eq(lease_wait(b, ACQ, "lambda").rc, 0);
	r = restore_wait(b, "lambda", 10);
	ck_assert_int_eq(r.rc, 0);
	sb = r.snap;
	ck_assert_int_eq(save_wait(b, &sb).rc, 0);
	/* the zombie's save: its file copy is its own, the database refuses */
	r = save_wait(a, &sa);
	ck_assert_int_eq(r.rc, STORE_EFENCED);
	ck_assert_msg(strstr(r.why, "fenced") != NULL, "%s", r.why);
	ck_assert_int_eq(pg_gen(url, "lambda"), 2);
	r = lease_wait(a, RENEW, "lambda");
	ck_assert_int_eq(r.rc, STORE_LEASE_LOST);
	r = lease_wait(a, REL, "lambda");
	ck_assert_int_eq(r.rc, STORE_LEASE_LOST);
	store_close(a);
	store_close(b);
	store_snap_clear(&sa);
	store_snap_clear(&sb);
	rm_rf(d1);
	rm_rf(d2);
}
END_TEST

START_TEST(file_only_store)
{
	char dir[64], line[1024];
	struct store_snap snap;
	struct store *s;
	struct res r;

	tmpdir(dir, sizeof(dir));
	s = open_store(dir, "", NULL, 30, 10);
	ck_assert(!store_db_enabled(s));
	r = lease_wait(s, ACQ, "mu");
	ck_assert_int_eq(r.rc, 0);
	ck_assert_str_eq(r.holder, store_owner(s));
	ck_assert_int_eq(lease_wait(s, RENEW, "mu").rc, 0);
	make_snap(&snap, "mu");
	ck_assert_int_eq(save_wait(s, &snap).rc, 0);
	ck_assert_int_eq(file_gen(dir, "mu"), 1);
	r = restore_wait(s, "mu", 5);
	ck_assert_int_eq(r.rc, 0);
	log_line("event=restored", line, sizeof(line));
	ck_assert_msg(strstr(line, "from=file generation=1 pg=disabled "
	    "reason=\"file copy only (no DATABASE_URL)\" repaired=none") != NULL,
	    "log: %s", line);
	ck_assert_int_eq(lease_wait(s, REL, "mu").rc, 0);
	drain_wait(s, 5);
	store_close(s);
	store_snap_clear(&r.snap);
	store_snap_clear(&snap);
	rm_rf(dir);
}
END_TEST

START_TEST(read_only_repairs_nothing)
{
	char url[512], dir[64], path[600];
	struct store_config c = { 0 };
	struct store_snap snap;
	struct store *s;
	struct res r;
	struct stat st;
	char why[256];

	db_fresh("mirror_ro", url, sizeof(url));
	tmpdir(dir, sizeof(dir));
	s = open_store(dir, url, SECRET, 30, 10);
	make_snap(&snap, "nu");
	ck_assert_int_eq(save_wait(s, &snap).rc, 0);
	store_close(s);
	snap_path(dir, "nu", path, sizeof(path));
	unlink(path);
	c.data_dir = dir;
	c.database_url = url;
	c.secret = SECRET;
	c.read_only = 1;
	s = store_open(loop, &c, why, sizeof(why));
	ck_assert_ptr_nonnull(s);
	r = restore_wait(s, "nu", 10);
	ck_assert_int_eq(r.rc, 0);
	ck_assert_int_ne(stat(path, &st), 0);   /* not repaired */
	ck_assert_int_eq(store_save(s, &r.snap, on_done, &r), STORE_EREADONLY);
	store_close(s);
	store_snap_clear(&r.snap);
	store_snap_clear(&snap);
	rm_rf(dir);
}
END_TEST

START_TEST(secrets_not_logged)
{
	char url[512], purl[600], dir[64];
	const char *p;
	struct store_snap snap;
	struct store *s;

	db_fresh("mirror_log", url, sizeof(url));
	/* trust authentication ignores the password: it only has to show up
	 * nowhere */
	p = strstr(url, "://");
	ck_assert_ptr_nonnull(p);
	p = strchr(p + 3, '@');
	ck_assert_ptr_nonnull(p);
	snprintf(purl, sizeof(purl), "%.*s:hunter2pw%s", (int)(p - url), url, p);
	tmpdir(dir, sizeof(dir));
	s = open_store(dir, purl, SECRET, 30, 10);
	make_snap(&snap, "xi");
	ck_assert_int_eq(save_wait(s, &snap).rc, 0);
	ck_assert_int_eq(lease_wait(s, ACQ, "xi").rc, 0);
	store_close(s);
	ck_assert_ptr_nonnull(strstr(log_read(), "event=open"));
	ck_assert_ptr_null(strstr(log_read(), "hunter2pw"));
	ck_assert_ptr_null(strstr(log_read(), SECRET));
	store_snap_clear(&snap);
	rm_rf(dir);
}
END_TEST

START_TEST(close_answers_pending)
{
	char url[512], dir[64];
	struct store_snap snap;
	struct store *s;
	struct res sv = { 0 }, rs = { 0 };

	db_fresh("mirror_close", url, sizeof(url));
	tmpdir(dir, sizeof(dir));
	pgtmp("down");
	s = open_store(dir, url, SECRET, 30, 5);
	make_snap(&snap, "omicron");
	ck_assert_int_eq(store_save(s, &snap, on_done, &sv), 0);
	ck_assert_int_eq(store_restore(s, "omicron", on_restored, &rs), 0);
	store_close(s);
	ck_assert_int_eq(sv.called, 1);
	ck_assert_int_eq(sv.rc, STORE_ECLOSED);
	ck_assert_int_eq(rs.called, 1);
	ck_assert_int_eq(rs.rc, STORE_ECLOSED);
	pgtmp("up");
	store_snap_clear(&snap);
	rm_rf(dir);
}
END_TEST

/* store_pg_list, which `skykeeper status` reads the database with. */
struct listed {
	int called, status;
	size_t n;
	char ids[4][32], owners[4][160];
	long long gens[4];
	int has_blob[4];
	double expires[4];
};

static void
on_list(void *arg, int status, const struct store_pg_row *rows, size_t n,
    const char *error)
{
	struct listed *l = arg;

	(void)error;
	l->called++;
	l->status = status;
	l->n = n;
	for (size_t i = 0; i < n && i < 4; i++) {
		snprintf(l->ids[i], sizeof(l->ids[i]), "%s", rows[i].id);
		snprintf(l->owners[i], sizeof(l->owners[i]), "%s", rows[i].owner);
		l->gens[i] = rows[i].generation;
		l->has_blob[i] = rows[i].blob != NULL;
		l->expires[i] = rows[i].expires_in;
		if (rows[i].blob != NULL) {
			struct store_snap_hdr h;
			ck_assert_int_eq(store_snap_peek(rows[i].blob, rows[i].blob_len,
			    &h, NULL, 0), 0);
			ck_assert_int_eq((long long)h.generation, rows[i].generation);
		}
	}
}

static int
list_called(void *arg)
{
	return ((struct listed *)arg)->called > 0;
}

START_TEST(pg_list_rows)
{
	char url[512], dir[64], err[256];
	struct store_pg_config pc;
	struct store_snap a, b;
	struct store_pg *pg;
	struct store *s;
	struct listed l = { 0 };

	db_fresh("mirror_list", url, sizeof(url));
	tmpdir(dir, sizeof(dir));
	s = open_store(dir, url, SECRET, 30, 10);
	make_snap(&a, "list-b");
	make_snap(&b, "list-a");
	ck_assert_int_eq(save_wait(s, &a).rc, 0);
	ck_assert_int_eq(save_wait(s, &a).rc, 0);
	ck_assert_int_eq(save_wait(s, &b).rc, 0);
	ck_assert_int_eq(lease_wait(s, ACQ, "list-c").rc, 0);   /* lease only */
	drain_wait(s, 10);

	store_pg_config_default(&pc);
	pg = store_pg_open(loop, url, &pc, err, sizeof(err));
	ck_assert_ptr_nonnull(pg);
	ck_assert_int_eq(store_pg_list(pg, on_list, &l), 0);
	ck_assert_int_eq(l.called, 0);
	ck_assert(run_until(loop, list_called, &l, 10));
	ck_assert_int_eq(l.status, STORE_PG_OK);
	ck_assert_uint_eq(l.n, 3);
	ck_assert_str_eq(l.ids[0], "list-a");          /* ordered by id */
	ck_assert_str_eq(l.ids[1], "list-b");
	ck_assert_str_eq(l.ids[2], "list-c");
	ck_assert_int_eq(l.gens[0], 1);
	ck_assert_int_eq(l.gens[1], 2);
	ck_assert_int_eq(l.gens[2], 0);
	ck_assert(l.has_blob[0] && l.has_blob[1] && !l.has_blob[2]);
	ck_assert_str_eq(l.owners[0], "");
	ck_assert_str_eq(l.owners[2], store_owner(s));
	ck_assert(l.expires[2] > 25 && l.expires[2] <= 30.5);
	store_pg_close(pg);

	/* the database down: an answer within op_timeout, not a hang */
	pgtmp("down");
	pc.op_timeout = 1.0;
	pg = store_pg_open(loop, url, &pc, err, sizeof(err));
	memset(&l, 0, sizeof(l));
	ev_now_update(loop);
	ck_assert_int_eq(store_pg_list(pg, on_list, &l), 0);
	ck_assert(run_until(loop, list_called, &l, 5));
	ck_assert_int_eq(l.status, STORE_PG_ETIMEDOUT);
	store_pg_close(pg);
	pgtmp("up");
	store_close(s);
	store_snap_clear(&a);
	store_snap_clear(&b);
	rm_rf(dir);
}
END_TEST

static Suite *
mirror_suite(void)
{
	Suite *su = suite_create("store_mirror");
	TCase *t = tcase_create("mirror");

	tcase_add_checked_fixture(t, setup, teardown);
	tcase_set_timeout(t, 60);
	tcase_add_test(t, save_lands_in_both);
	tcase_add_test(t, restore_file_newer);
	tcase_add_test(t, restore_pg_newer);
	tcase_add_test(t, file_corrupt_pg_wins);
	tcase_add_test(t, pg_corrupt_file_wins);
	tcase_add_test(t, one_missing);
	tcase_add_test(t, both_missing_is_new);
	tcase_add_test(t, wrong_secret_overwrites_nothing);
	tcase_add_test(t, database_down_at_start);
	tcase_add_test(t, lease_busy_for_second_store);
	tcase_add_test(t, fencing_rejects_old_owner);
	tcase_add_test(t, file_only_store);
	tcase_add_test(t, read_only_repairs_nothing);
	tcase_add_test(t, secrets_not_logged);
	tcase_add_test(t, close_answers_pending);
	tcase_add_test(t, pg_list_rows);
	suite_add_tcase(su, t);
	return su;
}

int
main(void)
{
	SRunner *sr = srunner_create(mirror_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
