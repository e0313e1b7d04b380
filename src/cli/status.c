/*
 * src/cli/status.c: `skykeeper status [--json]`: one line per session the
 * store holds: id, generation, which copies hold it and whether they
 * agree, the lease (owner, seconds left), last lifecycle state, age of the
 * last save, logged-out flag.
 *
 * Read-only and lock-free: it reads DATA_DIR/sessions/ *.snap directly
 * (saves replace files by rename, so a read sees a whole blob) and the
 * database's rows with one statement (store_pg_list), so it works next to
 * a running daemon.  Without SESSION_SECRET the encrypted snapshots still
 * show their generations (the header is plain); the rest reads "?".
 * Exit status 1 when a source could not be read (what could be is still
 * printed).
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <json-c/json.h>
#include "cli/store_cmds.h"
#include "store/file.h"
#include "store/pg.h"
#include "store/snapshot.h"

enum cstate { CS_NONE, CS_OK, CS_LOCKED, CS_NEWER, CS_DAMAGED, CS_LEASE_ONLY };

/* One copy of one session, as far as it could be read. */
struct copy {
	enum cstate st;
	uint64_t gen;
	char err[120];
	int meta_ok;
	struct store_meta meta;
	int64_t saved_ms;
	char jid[128];
	double age;          /* seconds since written, by file time or row time */
};

struct row {
	char id[STORE_PG_ID_MAX + 1];
	struct copy file, pg;
	char owner[160];
	double expires_in;
	int64_t fence;
};

struct table {
	struct row *v;
	size_t n, cap;
};

static struct row *
row_get(struct table *t, const char *id)
{
	struct row *nv;

	for (size_t i = 0; i < t->n; i++)
		if (strcmp(t->v[i].id, id) == 0)
			return &t->v[i];
	if (t->n == t->cap) {
		t->cap = t->cap ? t->cap * 2 : 32;
		if ((nv = realloc(t->v, t->cap * sizeof(*nv))) == NULL) {
			fprintf(stderr, "skykeeper status: out of memory\n");
			exit(1);
		}
		t->v = nv;
	}
	memset(&t->v[t->n], 0, sizeof(t->v[t->n]));
	snprintf(t->v[t->n].id, sizeof(t->v[t->n].id), "%s", id);
	return &t->v[t->n++];
}

static double
now_s(void)
{
	struct timespec t;

	clock_gettime(CLOCK_REALTIME, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* Header without the secret, then the content with it. */
static void
judge(const uint8_t *b, size_t len, const char *secret, struct copy *c)
{
	struct store_snap_hdr h;
	struct store_snap s = { 0 };
	int rc = store_snap_peek(b, len, &h, c->err, sizeof(c->err));

	if (rc == STORE_SNAP_EVERSION) {
		c->st = CS_NEWER;
		return;
	}
	if (rc < 0) {
		c->st = CS_DAMAGED;
		return;
	}
	c->gen = h.generation;
	rc = store_snap_decode(b, len, secret, &s, NULL, c->err, sizeof(c->err));
	if (rc == STORE_SNAP_ENOSECRET || rc == STORE_SNAP_EBADSECRET) {
		c->st = CS_LOCKED;
		return;
	}
	if (rc < 0) {
		c->st = CS_DAMAGED;
		return;
	}
	c->st = CS_OK;
	c->err[0] = '\0';
	c->meta_ok = 1;
	c->meta = s.meta;
	c->saved_ms = s.saved_ms;
	snprintf(c->jid, sizeof(c->jid), "%s", s.creds.me_jid);
	store_snap_clear(&s);
}

/* --- the file copies ------------------------------------------------------ */

static int
read_files(const char *data_dir, const char *secret, struct table *t)
{
	char dir[4096], path[4200], id[STORE_FILE_ID_MAX + 1];
	struct dirent *e;
	struct stat st;
	uint8_t *b;
	size_t n, got;
	FILE *f;
	DIR *d;

	snprintf(dir, sizeof(dir), "%s/sessions", data_dir);
	if ((d = opendir(dir)) == NULL) {
		if (errno == ENOENT)
			return 0;  /* nothing saved here yet */
		fprintf(stderr, "skykeeper status: %s: %s\n", dir, strerror(errno));
		return -1;
	}
	while ((e = readdir(d)) != NULL) {
		n = strlen(e->d_name);
		if (n <= 5 || n - 5 > STORE_FILE_ID_MAX ||
		    strcmp(e->d_name + n - 5, ".snap") != 0)
			continue;
		snprintf(id, sizeof(id), "%.*s", (int)(n - 5), e->d_name);
		if (store_file_id_valid(id, NULL, 0) < 0)
			continue;
		struct row *r = row_get(t, id);
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		if (stat(path, &st) < 0 || st.st_size > (off_t)STORE_FILE_SIZE_MAX ||
		    (f = fopen(path, "re")) == NULL) {
			r->file.st = CS_DAMAGED;
			snprintf(r->file.err, sizeof(r->file.err), "unreadable");
			continue;
		}
		r->file.age = now_s() - (double)st.st_mtime;
		b = malloc((size_t)st.st_size + 1);
		got = b != NULL ? fread(b, 1, (size_t)st.st_size, f) : 0;
		fclose(f);
		if (b == NULL) {
			r->file.st = CS_DAMAGED;
			snprintf(r->file.err, sizeof(r->file.err), "out of memory");
			continue;
		}
		judge(b, got, secret, &r->file);
		store_snap_blob_free(b, (size_t)st.st_size + 1);
	}
	closedir(d);
	return 0;
}

/* --- the database copies -------------------------------------------------- */

struct listing {
	struct table *t;
	const char *secret;
	int done, status;
	char err[256];
};

static void
on_list(void *arg, int status, const struct store_pg_row *rows, size_t n,
    const char *error)
{
	struct listing *l = arg;

	l->done = 1;
	l->status = status;
	snprintf(l->err, sizeof(l->err), "%s", error ? error : store_pg_status_name(status));
	for (size_t i = 0; status == STORE_PG_OK && i < n; i++) {
		struct row *r = row_get(l->t, rows[i].id);
		snprintf(r->owner, sizeof(r->owner), "%s", rows[i].owner);
		r->expires_in = rows[i].expires_in;
		r->fence = rows[i].fence;
		r->pg.age = rows[i].age;
		if (rows[i].blob == NULL) {
			r->pg.st = CS_LEASE_ONLY;
			continue;
		}
		judge(rows[i].blob, rows[i].blob_len, l->secret, &r->pg);
		if (r->pg.st == CS_OK && r->pg.gen != (uint64_t)rows[i].generation) {
			r->pg.st = CS_DAMAGED;
			snprintf(r->pg.err, sizeof(r->pg.err), "row generation %lld, "
			    "blob generation %llu", (long long)rows[i].generation,
			    (unsigned long long)r->pg.gen);
		}
	}
}

static void on_tick(struct ev_loop *l, ev_timer *w, int e) { (void)l; (void)w; (void)e; }

static int
read_db(const char *url, const char *secret, struct table *t)
{
	struct listing l = { .t = t, .secret = secret };
	struct store_pg_config cfg;
	struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
	struct store_pg *pg;
	char err[256];
	ev_timer tick;
	ev_tstamp end;
	int rc;

	store_pg_config_default(&cfg);
	if ((pg = store_pg_open(loop, url, &cfg, err, sizeof(err))) == NULL) {
		fprintf(stderr, "skykeeper status: DATABASE_URL: %s\n", err);
		ev_loop_destroy(loop);
		return -1;
	}
	ev_timer_init(&tick, on_tick, 0.1, 0.1);
	ev_timer_start(loop, &tick);
	if ((rc = store_pg_list(pg, on_list, &l)) < 0) {
		l.done = 1;
		l.status = rc;
		snprintf(l.err, sizeof(l.err), "%s", store_pg_status_name(rc));
	}
	end = ev_time() + cfg.op_timeout + cfg.query_timeout + 1;
	while (!l.done && ev_time() < end)
		ev_run(loop, EVRUN_ONCE);
	ev_timer_stop(loop, &tick);
	store_pg_close(pg);   /* a late answer: ECLOSED into l, still alive */
	ev_loop_destroy(loop);
	if (l.status != STORE_PG_OK) {
		fprintf(stderr, "skykeeper status: database not read: %s\n",
		    l.done ? l.err : "no answer");
		return -1;
	}
	return 0;
}

/* --- output --------------------------------------------------------------- */

static const char *
word(enum cstate st)
{
	switch (st) {
	case CS_NONE:       return "missing";
	case CS_OK:         return "ok";
	case CS_LOCKED:     return "encrypted(secret does not open it)";
	case CS_NEWER:      return "newer-format";
	case CS_DAMAGED:    return "damaged";
	case CS_LEASE_ONLY: return "missing";
	}
	return "?";
}

static int
has_gen(const struct copy *c)
{
	return c->st == CS_OK || c->st == CS_LOCKED;
}

/* The copy whose facts are shown: the newest that decoded, else the
 * newest with a generation. */
static const struct copy *
best(const struct row *r)
{
	const struct copy *f = &r->file, *p = &r->pg;

	if (f->meta_ok && p->meta_ok)
		return f->gen >= p->gen ? f : p;
	if (f->meta_ok || p->meta_ok)
		return f->meta_ok ? f : p;
	if (has_gen(f) && has_gen(p))
		return f->gen >= p->gen ? f : p;
	return has_gen(f) ? f : has_gen(p) ? p : NULL;
}

struct view {
	uint64_t gen;
	char copies[16], agree[8], lease[16];
	const char *last_state, *logged_out;
	double saved_ago;    /* < 0: unknown */
	char account[64];
};

static void
view_of(const struct row *r, int db, struct view *v)
{
	const struct copy *b = best(r);
	int fg = has_gen(&r->file), pg = has_gen(&r->pg);

	memset(v, 0, sizeof(*v));
	v->gen = b != NULL ? (fg && pg ? (r->file.gen > r->pg.gen ? r->file.gen :
	    r->pg.gen) : b->gen) : 0;
	snprintf(v->copies, sizeof(v->copies), "%s%s%s",
	    r->file.st != CS_NONE ? "file" : "",
	    r->file.st != CS_NONE && r->pg.st != CS_NONE && r->pg.st != CS_LEASE_ONLY ? "," : "",
	    r->pg.st != CS_NONE && r->pg.st != CS_LEASE_ONLY ? "pg" : "");
	if (v->copies[0] == '\0')
		snprintf(v->copies, sizeof(v->copies), "none");
	snprintf(v->agree, sizeof(v->agree), "%s", fg && pg ?
	    (r->file.gen == r->pg.gen ? "yes" : "no") : "-");
	if (!db)
		snprintf(v->lease, sizeof(v->lease), "file-lock");
	else if (r->owner[0] == '\0')
		snprintf(v->lease, sizeof(v->lease), "free");
	else
		snprintf(v->lease, sizeof(v->lease), "%s", r->expires_in > 0 ?
		    "held" : "expired");
	v->last_state = b != NULL && b->meta_ok ? (b->meta.last_state[0] ?
	    b->meta.last_state : "-") : "?";
	v->logged_out = b != NULL && b->meta_ok ? (b->meta.logged_out ? "yes" :
	    "no") : "?";
	v->saved_ago = -1;
	if (b != NULL && b->meta_ok && b->saved_ms > 0)
		v->saved_ago = now_s() - (double)b->saved_ms / 1000.0;
	else if (b != NULL)
		v->saved_ago = b->age;
	if (b != NULL && b->meta_ok)
		cli_store_account(b->jid, v->account, sizeof(v->account));
}

static void
print_copy_text(const char *name, const struct copy *c)
{
	if (c->st == CS_OK || c->st == CS_LOCKED)
		printf(" %s_generation=%llu", name, (unsigned long long)c->gen);
	if (c->st != CS_OK && c->st != CS_NONE && c->st != CS_LEASE_ONLY)
		printf(" %s=%s", name, word(c->st));
	if (c->st == CS_DAMAGED)
		printf(" %s_error=\"%s\"", name, c->err);
}

static void
print_text(const struct table *t, int db)
{
	struct view v;

	for (size_t i = 0; i < t->n; i++) {
		const struct row *r = &t->v[i];
		view_of(r, db, &v);
		printf("session=%s generation=%llu copies=%s agree=%s", r->id,
		    (unsigned long long)v.gen, v.copies, v.agree);
		print_copy_text("file", &r->file);
		if (db)
			print_copy_text("pg", &r->pg);
		printf(" lease=%s", v.lease);
		if (db && r->owner[0])
			printf(" lease_owner=%s lease_expires_in=%.1f", r->owner,
			    r->expires_in);
		if (db)
			printf(" fence=%lld", (long long)r->fence);
		printf(" last_state=%s", v.last_state);
		if (v.saved_ago >= 0)
			printf(" saved_ago_s=%.0f", v.saved_ago);
		else
			printf(" saved_ago_s=?");
		printf(" logged_out=%s account=%s\n", v.logged_out,
		    v.account[0] ? v.account : "?");
	}
}

static json_object *
copy_json(const struct copy *c)
{
	json_object *o;

	if (c->st == CS_NONE || c->st == CS_LEASE_ONLY)
		return NULL;
	o = json_object_new_object();
	json_object_object_add(o, "state", json_object_new_string(
	    c->st == CS_OK ? "ok" : c->st == CS_LOCKED ? "locked" :
	    c->st == CS_NEWER ? "newer-format" : "damaged"));
	if (has_gen(c))
		json_object_object_add(o, "generation", json_object_new_int64((int64_t)c->gen));
	if (c->st == CS_DAMAGED)
		json_object_object_add(o, "error", json_object_new_string(c->err));
	return o;
}

static void
print_json(const struct table *t, int db)
{
	json_object *arr = json_object_new_array(), *o, *l;
	struct view v;

	for (size_t i = 0; i < t->n; i++) {
		const struct row *r = &t->v[i];
		view_of(r, db, &v);
		o = json_object_new_object();
		json_object_object_add(o, "id", json_object_new_string(r->id));
		json_object_object_add(o, "generation", json_object_new_int64((int64_t)v.gen));
		json_object_object_add(o, "copies", json_object_new_string(v.copies));
		json_object_object_add(o, "agree", v.agree[0] == '-' ? NULL :
		    json_object_new_boolean(v.agree[0] == 'y'));
		json_object_object_add(o, "file", copy_json(&r->file));
		json_object_object_add(o, "pg", db ? copy_json(&r->pg) : NULL);
		l = json_object_new_object();
		json_object_object_add(l, "state", json_object_new_string(v.lease));
		if (db && r->owner[0]) {
			json_object_object_add(l, "owner", json_object_new_string(r->owner));
			json_object_object_add(l, "expires_in", json_object_new_double(r->expires_in));
		}
		if (db)
			json_object_object_add(l, "fence", json_object_new_int64(r->fence));
		json_object_object_add(o, "lease", l);
		json_object_object_add(o, "last_state", v.last_state[0] == '?' ? NULL :
		    json_object_new_string(v.last_state));
		json_object_object_add(o, "saved_ago_s", v.saved_ago < 0 ? NULL :
		    json_object_new_double((double)(long long)(v.saved_ago + 0.5)));
		json_object_object_add(o, "logged_out", v.logged_out[0] == '?' ? NULL :
		    json_object_new_boolean(v.logged_out[0] == 'y'));
		json_object_object_add(o, "account", v.account[0] ?
		    json_object_new_string(v.account) : NULL);
		json_object_array_add(arr, o);
	}
	printf("%s\n", json_object_to_json_string_ext(arr,
	    JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(arr);
}

static int
by_id(const void *a, const void *b)
{
	return strcmp(((const struct row *)a)->id, ((const struct row *)b)->id);
}

int
cli_status(int argc, char **argv)
{
	struct cli_store_env env;
	struct table t = { 0 };
	int json = 0, status = 0;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--json") == 0) {
			json = 1;
		} else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			printf("usage: skykeeper status [--json]\n");
			return 0;
		} else {
			fprintf(stderr, "usage: skykeeper status [--json]\n");
			return 2;
		}
	}
	if (cli_store_env(&env) < 0)
		return 2;
	if (read_files(env.data_dir, env.secret, &t) < 0)
		status = 1;
	if (env.database_url != NULL && read_db(env.database_url, env.secret, &t) < 0)
		status = 1;
	if (t.n > 0)
		qsort(t.v, t.n, sizeof(*t.v), by_id);
	if (json)
		print_json(&t, env.database_url != NULL);
	else
		print_text(&t, env.database_url != NULL);
	if (t.n == 0 && !json)
		fprintf(stderr, "skykeeper status: no sessions in the store\n");
	free(t.v);
	return status;
}
