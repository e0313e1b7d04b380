/*
 * tests/interop/codec/wa-nodecat.c: our side of the differential test of
 * the binary node codec against Baileys (run.sh drives it).
 *
 *   wa-nodecat decode        stdin: one frame per line, in hex.  Prints per
 *                            line "OK <canon>\t<hex of our re-encoding>" or
 *                            "ERR <code> <reason>".
 *   wa-nodecat gen SEED N    N random nodes from a seeded PRNG, each encoded
 *                            by us: "<frame hex>\t<canon>", where canon is
 *                            our decoding of our bytes, checked here to keep
 *                            every string of the generated node.
 *   wa-nodecat tokens        the token tables, "s I TEXT" / "d K I TEXT".
 *
 * The canonical rendering, which codec.mjs produces identically from
 * Baileys' decoded nodes:
 *   node    ( STR(tag) {attrs} content )   with single spaces, see canon()
 *   attrs   STR(key)=STR(val) joined by ',', sorted by key bytes; where a
 *           key repeats the last value wins (as in a JavaScript object)
 *   content nothing | " [" nodes joined by "," "]" | " b:" lowercase hex
 *           | " s:" STR(text)
 *   STR     '"' bytes, with 0x20..0x7e except '"' and '\' as they are and
 *           every other byte as \xNN (lowercase) '"'
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "wa/node.h"
#include "wa/tokens.h"

static void
die(const char *msg)
{
	fprintf(stderr, "wa-nodecat: %s\n", msg);
	exit(2);
}

static void
put(struct wa_buf *b, const void *p, size_t n)
{
	if (wa_buf_put(b, p, n) < 0)
		die("out of memory");
}

static void
puts_(struct wa_buf *b, const char *s)
{
	put(b, s, strlen(s));
}

static const char hexdig[] = "0123456789abcdef";

static void
put_hex(struct wa_buf *b, const uint8_t *p, size_t n)
{
	if (wa_buf_reserve(b, 2 * n) < 0)
		die("out of memory");
	for (size_t i = 0; i < n; i++) {
		b->data[b->len++] = (uint8_t)hexdig[p[i] >> 4];
		b->data[b->len++] = (uint8_t)hexdig[p[i] & 15];
	}
}

/* --- canonical rendering ------------------------------------------------ */

static void
canon_str(struct wa_buf *b, const uint8_t *s, size_t n)
{
	puts_(b, "\"");
	if (wa_buf_reserve(b, 4 * n + 1) < 0)
		die("out of memory");
	for (size_t i = 0; i < n; i++) {
		uint8_t c = s[i];
		if (c >= 0x20 && c <= 0x7e && c != '"' && c != '\\') {
			b->data[b->len++] = c;
		} else {
			b->data[b->len++] = '\\';
			b->data[b->len++] = 'x';
			b->data[b->len++] = (uint8_t)hexdig[c >> 4];
			b->data[b->len++] = (uint8_t)hexdig[c & 15];
		}
	}
	puts_(b, "\"");
}

struct kv {
	const char *k, *v;
	size_t i;
};

static int
kv_cmp(const void *x, const void *y)
{
	const struct kv *a = x, *b = y;
	int c = strcmp(a->k, b->k);

	if (c)
		return c;
	return a->i < b->i ? -1 : a->i > b->i;
}

static void
canon(struct wa_buf *b, const struct wa_node *n)
{
	struct kv *kv = calloc(n->nattrs + 1, sizeof(*kv));
	int first = 1;

	if (kv == NULL)
		die("out of memory");
	puts_(b, "(");
	canon_str(b, (const uint8_t *)n->tag, strlen(n->tag));
	puts_(b, " {");
	for (size_t i = 0; i < n->nattrs; i++)
		kv[i] = (struct kv){ n->attrs[i].key, n->attrs[i].val, i };
	qsort(kv, n->nattrs, sizeof(*kv), kv_cmp);
	for (size_t i = 0; i < n->nattrs; i++) {
		if (i + 1 < n->nattrs && strcmp(kv[i].k, kv[i + 1].k) == 0)
			continue;   /* a later one with the same key wins */
		if (!first)
			puts_(b, ",");
		first = 0;
		canon_str(b, (const uint8_t *)kv[i].k, strlen(kv[i].k));
		puts_(b, "=");
		canon_str(b, (const uint8_t *)kv[i].v, strlen(kv[i].v));
	}
	free(kv);
	puts_(b, "}");
	switch (n->kind) {
	case WA_CONTENT_NONE:
		break;
	case WA_CONTENT_LIST:
		puts_(b, " [");
		for (size_t i = 0; i < n->nchildren; i++) {
			if (i)
				puts_(b, ",");
			canon(b, &n->children[i]);
		}
		puts_(b, "]");
		break;
	case WA_CONTENT_BYTES:
		puts_(b, " b:");
		put_hex(b, n->data, n->len);
		break;
	case WA_CONTENT_STRING:
		puts_(b, " s:");
		canon_str(b, n->data, n->len);
		break;
	}
	puts_(b, ")");
}

/* --- decode ------------------------------------------------------------- */

static int
unhex(const char *s, size_t n, struct wa_buf *out)
{
	out->len = 0;
	if (n % 2 || wa_buf_reserve(out, n / 2 + 1) < 0)
		return -1;
	for (size_t i = 0; i < n; i += 2) {
		int v = 0;
		for (int j = 0; j < 2; j++) {
			char c = s[i + j];
			v <<= 4;
			if (c >= '0' && c <= '9')
				v |= c - '0';
			else if (c >= 'a' && c <= 'f')
				v |= c - 'a' + 10;
			else if (c >= 'A' && c <= 'F')
				v |= c - 'A' + 10;
			else
				return -1;
		}
		out->data[out->len++] = (uint8_t)v;
	}
	return 0;
}

static int
cmd_decode(void)
{
	struct wa_buf in = { 0 }, out = { 0 }, enc = { 0 };
	struct wa_arena a;
	char *line = NULL;
	size_t cap = 0;
	ssize_t len;

	wa_arena_init(&a, 0);
	while ((len = getline(&line, &cap, stdin)) >= 0) {
		struct wa_node *n;
		int rc;

		while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
			len--;
		out.len = 0;
		if (unhex(line, (size_t)len, &in) < 0) {
			puts_(&out, "ERR bad hex line");
		} else if ((rc = wa_node_decode_frame(in.data, in.len, &a, &n)) < 0) {
			char msg[64];
			snprintf(msg, sizeof(msg), "ERR %d %s", rc, wa_strerror(rc));
			puts_(&out, msg);
		} else {
			puts_(&out, "OK ");
			canon(&out, n);
			puts_(&out, "\t");
			enc.len = 0;
			if ((rc = wa_node_encode_frame(n, &enc)) < 0)
				puts_(&out, "encode-failed");
			else
				put_hex(&out, enc.data, enc.len);
		}
		puts_(&out, "\n");
		fwrite(out.data, 1, out.len, stdout);
		wa_arena_reset(&a);
	}
	free(line);
	wa_buf_free(&in);
	wa_buf_free(&out);
	wa_buf_free(&enc);
	wa_arena_free(&a);
	return fflush(stdout) == 0 ? 0 : 2;
}

/* --- random nodes ------------------------------------------------------- */

static uint64_t rng_state;

static uint64_t
rnd(void)
{
	/* splitmix64: tiny, and good enough to spread test cases */
	uint64_t z = (rng_state += 0x9E3779B97F4A7C15ull);
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
	return z ^ (z >> 31);
}

static unsigned
below(unsigned n)
{
	return (unsigned)(rnd() % n);
}

static int
chance(unsigned percent)
{
	return below(100) < percent;
}

/* Strings are built in a scratch buffer and copied into the arena. */
static void
put_chars(struct wa_buf *b, const char *alphabet, size_t n)
{
	size_t k = strlen(alphabet);
	for (size_t i = 0; i < n; i++)
		put(b, &alphabet[below((unsigned)k)], 1);
}

/* Valid UTF-8 only: Baileys turns bytes into a JavaScript string. */
static void
put_text(struct wa_buf *b, size_t n)
{
	static const char *const pieces[] = { "a", "b", "z", "Q", " ", "!",
	    "\"", "\\", "_", ":", "-", ".", "é", "ß", "中", "文", "😀",
	    "\t", "\n", "~", "0", "7" };
	while (n--) {
		const char *p = pieces[below(sizeof(pieces) / sizeof(pieces[0]))];
		put(b, p, strlen(p));
	}
}

static void put_any(struct wa_buf *b, int depth);

static void
put_user(struct wa_buf *b)
{
	switch (below(5)) {
	case 0:
		put_chars(b, "0123456789", 1 + below(15));
		break;
	case 1: /* a token */
		puts_(b, wa_token_single[1 + below(WA_TOKEN_SINGLE_COUNT - 1)]);
		break;
	case 2:
		put_chars(b, "abcdefghijklmnopqrstuvwxyz", 1 + below(10));
		break;
	case 3:
		break;  /* empty */
	default:
		put_chars(b, "0123456789ABCDEF", 1 + below(20));
		break;
	}
}

static void
put_num(struct wa_buf *b, unsigned v)
{
	char num[16];
	snprintf(num, sizeof(num), "%u", v);
	puts_(b, num);
}

static void
put_jid(struct wa_buf *b, int depth)
{
	static const char *const servers[] = { "s.whatsapp.net", "lid",
	    "hosted", "hosted.lid", "g.us", "broadcast", "newsletter", "c.us",
	    "call", "bot", "msgr", "interop", "example.com" };
	const char *srv = servers[below(sizeof(servers) / sizeof(servers[0]))];

	switch (below(8)) {
	case 0: case 1:     /* user@server: JID_PAIR */
		put_user(b);
		puts_(b, "@");
		puts_(b, srv);
		break;
	case 2: case 3:     /* user:device@server: AD_JID or FB_JID */
		put_user(b);
		puts_(b, ":");
		put_num(b, chance(80) ? 1 + below(255) : below(70000));
		puts_(b, "@");
		puts_(b, chance(20) ? "msgr" : srv);
		break;
	case 4:             /* integrator-user:device@interop */
		put_num(b, below(70000));
		puts_(b, "-");
		put_user(b);
		puts_(b, ":");
		put_num(b, below(70000));
		puts_(b, "@interop");
		break;
	case 5:             /* agents and odd devices: written plain */
		put_user(b);
		puts_(b, "_");
		put_num(b, below(200));
		if (chance(50)) {
			puts_(b, ":");
			put_num(b, below(300));
		}
		puts_(b, "@");
		puts_(b, srv);
		break;
	case 6:             /* nested: the server is a JID too */
		put_user(b);
		puts_(b, "@");
		if (depth < 3)
			put_jid(b, depth + 1);
		else
			puts_(b, srv);
		break;
	default:            /* oddities */
		switch (below(6)) {
		case 0: puts_(b, "@"); break;
		case 1: put_user(b); puts_(b, "@"); break;
		case 2: put_user(b); puts_(b, ":@lid"); break;
		case 3: put_user(b); puts_(b, ":007@lid"); break;
		case 4: put_user(b); puts_(b, ":1:2@s.whatsapp.net"); break;
		default: put_user(b); puts_(b, ":0@s.whatsapp.net"); break;
		}
		break;
	}
}

/* Cleared for the children of a long list, which stay small so that the
 * whole run stays a few tens of megabytes. */
static int big_ok;

/* Any string; mostly short, sometimes at or over a size boundary. */
static void
put_any(struct wa_buf *b, int depth)
{
	unsigned k = below(100);

	if (k < 20)
		puts_(b, wa_token_single[1 + below(WA_TOKEN_SINGLE_COUNT - 1)]);
	else if (k < 32)
		puts_(b, wa_token_double[below(4)][below(256)]);
	else if (k < 42)
		put_chars(b, "0123456789-.", chance(10) ? 126 + below(3) :
		    1 + below(30));
	else if (k < 50)
		put_chars(b, "0123456789ABCDEF", chance(10) ? 126 + below(3) :
		    1 + below(40));
	else if (k < 53)
		put_chars(b, "0123456789abcdef", 1 + below(40));
	else if (k < 70)
		put_jid(b, depth);
	else if (k < 75)
		(void)0;    /* empty */
	else if (k < 97)
		put_text(b, 1 + below(40));
	else if (k < 99 || !big_ok)
		put_text(b, 250 + below(20));
	else
		put_chars(b, "xyz", 300 + below(5000));
}

static const char *
gen_string(struct wa_arena *a, struct wa_buf *tmp, int nonempty)
{
	char *s;

	do {
		tmp->len = 0;
		put_any(tmp, 0);
	} while (nonempty && tmp->len == 0);
	if ((s = wa_arena_strndup(a, (const char *)tmp->data, tmp->len)) == NULL)
		die("out of memory");
	return s;
}

/* chain: one child per level down to the depth limit, to cover it. */
static void
gen_node(struct wa_arena *a, struct wa_buf *tmp, struct wa_node *n,
    int depth, int maxdepth, int chain)
{
	unsigned nattrs = big_ok && chance(2) ? 120 + below(20) : below(6), k;

	n->tag = gen_string(a, tmp, 1);
	for (unsigned i = 0; i < nattrs; i++) {
		const char *key = gen_string(a, tmp, 0);
		if (wa_node_set_attr(a, n, key, gen_string(a, tmp, 0)) < 0)
			die("set_attr");
	}
	k = below(100);
	if (chain && depth < WA_NODE_MAX_DEPTH) {
		struct wa_node *c = wa_node_add_child(a, n, "x");
		if (c == NULL)
			die("add_child");
		gen_node(a, tmp, c, depth + 1, maxdepth, chain);
	} else if (depth < maxdepth && k < 35) {
		unsigned kids = big_ok && chance(3) ? 256 + below(50) : below(5);
		int was = big_ok;

		if (kids == 0) {
			n->kind = WA_CONTENT_LIST;
			return;
		}
		if (kids > 8)
			big_ok = 0;
		for (unsigned i = 0; i < kids; i++) {
			struct wa_node *c = wa_node_add_child(a, n, "x");
			if (c == NULL)
				die("add_child");
			gen_node(a, tmp, c, depth + 1, kids > 8 ? depth + 1 :
			    maxdepth, 0);
		}
		big_ok = was;
	} else if (k < 60) {
		size_t len = big_ok && chance(8) ? 256 + below(5000) :
		    below(300);
		uint8_t *p = malloc(len + 1);
		if (p == NULL)
			die("out of memory");
		for (size_t i = 0; i < len; i++)
			p[i] = (uint8_t)rnd();
		if (wa_node_set_bytes(a, n, p, len) < 0)
			die("set_bytes");
		free(p);
	} else if (k < 80) {
		if (wa_node_set_string(a, n, gen_string(a, tmp, 0)) < 0)
			die("set_string");
	}
}

/* BINARY_32: a string over 1 MiB in an attribute, bytes over 1 MiB in
 * the content, once in a while. */
static void
make_huge(struct wa_arena *a, struct wa_buf *tmp, struct wa_node *n)
{
	size_t len = (1u << 20) + below(100);
	uint8_t *p = malloc(len);

	if (p == NULL)
		die("out of memory");
	tmp->len = 0;
	put_chars(tmp, "huge", len);
	put(tmp, "", 1);
	if (wa_node_set_attr(a, n, "huge", (const char *)tmp->data) < 0)
		die("set_attr");
	for (size_t i = 0; i < len; i++)
		p[i] = (uint8_t)rnd();
	if (wa_node_set_bytes(a, n, p, len) < 0)
		die("set_bytes");
	free(p);
}

static int
cmd_gen(unsigned long long seed, unsigned long count)
{
	struct wa_buf tmp = { 0 }, enc = { 0 }, out = { 0 };
	struct wa_arena a;

	rng_state = seed;
	wa_arena_init(&a, 0);
	for (unsigned long i = 0; i < count; i++) {
		struct wa_node *n, *back;
		int rc;

		if ((n = wa_node_new(&a, "x")) == NULL)
			die("out of memory");
		big_ok = 1;
		gen_node(&a, &tmp, n, 1, 1 + (int)below(5), chance(2));
		if (i % 500 == 7)
			make_huge(&a, &tmp, n);
		enc.len = 0;
		if ((rc = wa_node_encode_frame(n, &enc)) < 0) {
			fprintf(stderr, "wa-nodecat: node %lu: encode: %s\n", i,
			    wa_strerror(rc));
			return 1;
		}
		if ((rc = wa_node_decode_frame(enc.data, enc.len, &a, &back)) < 0) {
			fprintf(stderr, "wa-nodecat: node %lu: decode: %s\n", i,
			    wa_strerror(rc));
			return 1;
		}
		if (!wa_node_same(n, back)) {
			fprintf(stderr, "wa-nodecat: node %lu: lost in a round "
			    "trip\n", i);
			return 1;
		}
		out.len = 0;
		put_hex(&out, enc.data, enc.len);
		puts_(&out, "\t");
		canon(&out, back);
		puts_(&out, "\n");
		fwrite(out.data, 1, out.len, stdout);
		wa_arena_reset(&a);
	}
	wa_buf_free(&tmp);
	wa_buf_free(&enc);
	wa_buf_free(&out);
	wa_arena_free(&a);
	return fflush(stdout) == 0 ? 0 : 2;
}

static int
cmd_tokens(void)
{
	for (int i = 0; i < WA_TOKEN_SINGLE_COUNT; i++)
		printf("s %d %s\n", i, wa_token_single[i]);
	for (int k = 0; k < WA_TOKEN_DICTS; k++)
		for (int i = 0; i < WA_TOKEN_DICT_SIZE; i++)
			printf("d %d %d %s\n", k, i, wa_token_double[k][i]);
	return fflush(stdout) == 0 ? 0 : 2;
}

int
main(int argc, char **argv)
{
	if (argc == 2 && strcmp(argv[1], "decode") == 0)
		return cmd_decode();
	if (argc == 2 && strcmp(argv[1], "tokens") == 0)
		return cmd_tokens();
	if (argc == 4 && strcmp(argv[1], "gen") == 0) {
		char *end;
		unsigned long long seed;
		unsigned long count;

		errno = 0;
		seed = strtoull(argv[2], &end, 10);
		if (errno || *end)
			die("bad seed");
		count = strtoul(argv[3], &end, 10);
		if (errno || *end)
			die("bad count");
		return cmd_gen(seed, count);
	}
	fprintf(stderr, "usage: wa-nodecat decode | gen SEED COUNT | tokens\n");
	return 2;
}
