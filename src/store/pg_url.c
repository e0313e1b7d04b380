/*
 * src/store/pg_url.c: DATABASE_URL in, conninfo and log-safe text out.
 * Pure (no I/O), so the unit tests reach every rule.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>
#include <sys/random.h>
#include "store/pg.h"
#include "store/pg_int.h"

int
store_pg_enabled(const char *database_url)
{
	return database_url != NULL && database_url[0] != '\0';
}

int
pg_id_valid(const char *id)
{
	size_t n;

	if (id == NULL)
		return 0;
	for (n = 0; id[n] != '\0'; n++)
		if ((unsigned char)id[n] <= 0x20 || (unsigned char)id[n] >= 0x7f)
			return 0;
	return n > 0 && n <= STORE_PG_ID_MAX;
}

/*
 * libpq's messages end in newlines and quote things: make one line fit for
 * err="..." in a logfmt line.
 */
void
pg_oneline(const char *msg, char *out, size_t outlen)
{
	size_t o = 0;

	if (outlen == 0)
		return;
	for (; msg != NULL && *msg != '\0' && o + 1 < outlen; msg++) {
		char c = *msg;
		if (c == '"')
			c = '\'';
		else if ((unsigned char)c < 0x20)
			c = ' ';
		if (c == ' ' && (o == 0 || out[o - 1] == ' '))
			continue;
		out[o++] = c;
	}
	while (o > 0 && out[o - 1] == ' ')
		o--;
	out[o] = '\0';
}

/*
 * A parse error from libpq may quote a piece of the URL, and that piece
 * may be the password: keep the words, drop whatever is quoted.
 */
static void
unquoted(const char *msg, char *out, size_t outlen)
{
	char tmp[256];
	size_t o = 0;
	int in = 0;

	for (; msg != NULL && *msg != '\0' && o + 4 < sizeof(tmp); msg++) {
		if (*msg == '"') {
			if (!in) {
				memcpy(tmp + o, "...", 3);
				o += 3;
			}
			in = !in;
			continue;
		}
		if (!in)
			tmp[o++] = *msg;
	}
	tmp[o] = '\0';
	pg_oneline(tmp, out, outlen);
}

/* Every host in a comma-separated list is this machine. */
static int
hosts_local(const char *list)
{
	const char *p = list;

	if (list == NULL)
		return 1;
	for (;;) {
		size_t n = strcspn(p, ",");
		int local = n == 0 ||                 /* no host: default socket */
		    p[0] == '/' || p[0] == '@' ||     /* socket dir, abstract socket */
		    (n == 9 && strncasecmp(p, "localhost", 9) == 0) ||
		    (n == 3 && strncmp(p, "::1", 3) == 0) ||
		    (n >= 4 && strncmp(p, "127.", 4) == 0);
		if (!local)
			return 0;
		if (p[n] == '\0')
			return 1;
		p += n + 1;
	}
}

static int
is_uri(const char *s)
{
	return strncmp(s, "postgresql://", 13) == 0 || strncmp(s, "postgres://", 11) == 0;
}

char *
store_pg_conninfo(const char *url, char *err, size_t errlen)
{
	PQconninfoOption *opts, *o;
	char *perr = NULL, *out;
	const char *host = NULL, *hostaddr = NULL, *sep;
	int has_sslmode = 0;
	size_t n;

	if (!store_pg_enabled(url)) {
		snprintf(err, errlen, "DATABASE_URL is empty");
		return NULL;
	}
	if (pq_load(err, errlen) < 0)
		return NULL;
	opts = PQconninfoParse(url, &perr);
	if (opts == NULL) {
		char why[200];
		unquoted(perr ? perr : "out of memory", why, sizeof(why));
		snprintf(err, errlen, "DATABASE_URL is not a valid PostgreSQL URL: %s", why);
		PQfreemem(perr);
		return NULL;
	}
	for (o = opts; o->keyword != NULL; o++) {
		if (o->val == NULL)
			continue;
		if (strcmp(o->keyword, "sslmode") == 0)
			has_sslmode = 1;
		else if (strcmp(o->keyword, "host") == 0)
			host = o->val;
		else if (strcmp(o->keyword, "hostaddr") == 0)
			hostaddr = o->val;
	}
	n = strlen(url);
	out = malloc(n + sizeof("&sslmode=require"));
	if (out == NULL) {
		PQconninfoFree(opts);
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	memcpy(out, url, n + 1);
	if (!has_sslmode && !(hosts_local(host) && hosts_local(hostaddr))) {
		if (!is_uri(url))
			sep = " ";
		else if (strchr(url, '?') == NULL)
			sep = "?";
		else if (url[n - 1] == '?' || url[n - 1] == '&')
			sep = "";
		else
			sep = "&";
		snprintf(out + n, sizeof("&sslmode=require"), "%ssslmode=require", sep);
	}
	PQconninfoFree(opts);
	return out;
}

/* Bounded appends into the caller's buffer. */
struct sink {
	char *p;
	size_t len, cap;
};

static void
put(struct sink *k, const char *s, size_t n)
{
	if (k->len + 1 >= k->cap)
		return;
	if (n > k->cap - 1 - k->len)
		n = k->cap - 1 - k->len;
	memcpy(k->p + k->len, s, n);
	k->len += n;
	k->p[k->len] = '\0';
}

/* URI query: every password=VALUE parameter becomes password=***. */
static void
mask_query(struct sink *k, const char *s)
{
	while (*s != '\0') {
		int at_param = s[0] == '?' || s[0] == '&';
		put(k, s, 1);
		s++;
		if (at_param && strncmp(s, "password=", 9) == 0) {
			put(k, "password=***", 12);
			s += 9 + strcspn(s + 9, "&");
		}
	}
}

/* key=value form: the value of every password keyword. */
static void
mask_keywords(struct sink *k, const char *s)
{
	const char *start = s;

	while (*s != '\0') {
		const char *v;
		if ((s == start || s[-1] == ' ' || s[-1] == '\t') &&
		    strncmp(s, "password", 8) == 0) {
			v = s + 8;
			v += strspn(v, " \t");
			if (*v == '=') {
				v++;
				v += strspn(v, " \t");
				put(k, s, (size_t)(v - s));
				put(k, "***", 3);
				if (*v == '\'') {
					/* quoted: up to the closing quote, \' escaped */
					for (v++; *v != '\0' && *v != '\''; v++)
						if (*v == '\\' && v[1] != '\0')
							v++;
					if (*v == '\'')
						v++;
				} else {
					v += strcspn(v, " \t");
				}
				s = v;
				continue;
			}
		}
		put(k, s, 1);
		s++;
	}
}

void
store_pg_mask_url(const char *url, char *out, size_t outlen)
{
	struct sink k = { out, 0, outlen };
	const char *auth, *at, *colon, *rest;

	if (outlen == 0)
		return;
	out[0] = '\0';
	if (url == NULL)
		return;
	if (!is_uri(url)) {
		mask_keywords(&k, url);
		return;
	}
	/*
	 * The user info ends at the last '@'.  A password holding '@', '/' or
	 * '?' unencoded then stays hidden; an '@' in the query only makes us
	 * hide more than needed.
	 */
	auth = strstr(url, "://") + 3;
	at = strrchr(auth, '@');
	colon = at ? memchr(auth, ':', (size_t)(at - auth)) : NULL;
	if (colon != NULL) {
		put(&k, url, (size_t)(colon + 1 - url));
		put(&k, "***", 3);
		rest = at;
	} else {
		rest = url;
	}
	mask_query(&k, rest);
}

int
store_pg_owner_make(char *out, size_t outlen)
{
	char host[64];
	const char *h = getenv("DYNO");
	unsigned char r[6];
	int n;

	if (h == NULL || h[0] == '\0') {
		if (gethostname(host, sizeof(host)) != 0)
			snprintf(host, sizeof(host), "unknown");
		host[sizeof(host) - 1] = '\0';
		h = host;
	}
	if (getrandom(r, sizeof(r), GRND_NONBLOCK) != (ssize_t)sizeof(r)) {
		/* unique enough for an owner name: pid and time differ anyway */
		unsigned long x = (unsigned long)time(NULL) * 2654435761u ^ (unsigned long)clock();
		for (size_t i = 0; i < sizeof(r); i++, x >>= 8)
			r[i] = (unsigned char)x;
	}
	n = snprintf(out, outlen, "%ld@%.60s/%02x%02x%02x%02x%02x%02x", (long)getpid(), h,
	    r[0], r[1], r[2], r[3], r[4], r[5]);
	return n < 0 || (size_t)n >= outlen ? -1 : 0;
}
