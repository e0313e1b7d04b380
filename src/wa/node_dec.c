/*
 * src/wa/node_dec.c: binary node decoder (PROTOCOL.md §5).
 *
 * Input is untrusted (it comes from the server, or from a fuzzer): every
 * read is checked against the end, nesting is bounded (WA_NODE_MAX_DEPTH
 * nodes, WA_NODE_MAX_STR_DEPTH strings inside JIDs), and a count read from
 * the wire is checked against the bytes left before anything is allocated
 * for it, so memory stays proportional to the input (and the arena limit
 * caps it absolutely).  What Baileys accepts and how it renders it is the
 * model (see node.h); where this file is stricter it says so.
 */
#include <string.h>
#include "wa/node.h"
#include "wa/tokens.h"

struct dec {
	const uint8_t *p, *end;
	struct wa_arena *a;
};

struct str {
	const char *s;
	size_t n;
};

/* An allocation failed: with a limit set, that is the likely reason. */
static int
alloc_failed(const struct dec *d, size_t n)
{
	(void)n;
	return d->a->limit ? WA_ETOOBIG : WA_ENOMEM;
}

static inline size_t
left(const struct dec *d)
{
	return (size_t)(d->end - d->p);
}

static inline int
get8(struct dec *d, unsigned *v)
{
	if (d->p == d->end)
		return WA_ETRUNC;
	*v = *d->p++;
	return 0;
}

static int
get_be(struct dec *d, int nbytes, uint32_t *v)
{
	uint32_t x = 0;

	if (left(d) < (size_t)nbytes)
		return WA_ETRUNC;
	for (int i = 0; i < nbytes; i++)
		x = x << 8 | *d->p++;
	*v = x;
	return 0;
}

/* The length after a BINARY_* tag.  BINARY_20 keeps 20 bits of its three
 * bytes, as every client does. */
static int
get_len(struct dec *d, unsigned tag, size_t *n)
{
	uint32_t v = 0;
	int rc;

	switch (tag) {
	case WA_TAG_BINARY_8:
		rc = get_be(d, 1, &v);
		break;
	case WA_TAG_BINARY_20:
		rc = get_be(d, 3, &v);
		v &= 0xFFFFF;
		break;
	default:
		rc = get_be(d, 4, &v);
		break;
	}
	*n = v;
	if (rc == 0 && *n > left(d))
		rc = WA_ETRUNC;
	return rc;
}

/* Concatenates parts into one NUL-terminated arena string. */
static int
join(struct dec *d, struct str *out, const struct str *parts, int nparts)
{
	size_t n = 0;
	char *s;

	for (int i = 0; i < nparts; i++)
		n += parts[i].n;
	if ((s = wa_arena_alloc_str(d->a, n)) == NULL)
		return alloc_failed(d, n);
	out->s = s;
	out->n = n;
	for (int i = 0; i < nparts; i++) {
		memcpy(s, parts[i].s, parts[i].n);
		s += parts[i].n;
	}
	*s = '\0';
	return 0;
}

static struct str
decimal(char *buf, unsigned v)
{
	char tmp[12];
	size_t n = 0;

	do {
		tmp[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	for (size_t i = 0; i < n; i++)
		buf[i] = tmp[n - 1 - i];
	return (struct str){ buf, n };
}

#define LIT(s) ((struct str){ s, sizeof(s) - 1 })

/* '\xff' marks a nibble that does not exist in the alphabet. */
static const char nibble_chars[16] = "0123456789-.\xff\xff\xff";
static const char hex_chars[16] = "0123456789ABCDEF";

/* NIBBLE_8 / HEX_8.  Like Baileys, every nibble must be in the alphabet,
 * the pad nibble of an odd length included, whatever its value.  Nibble 15
 * means NUL, which only the pad may be. */
static int
read_packed(struct dec *d, unsigned tag, struct str *out)
{
	const char *tab = tag == WA_TAG_NIBBLE_8 ? nibble_chars : hex_chars;
	unsigned start, cnt, bad = 0;
	size_t n;
	char *s;
	int rc;

	if ((rc = get8(d, &start)) < 0)
		return rc;
	cnt = start & 0x7F;
	if (cnt > left(d))
		return WA_ETRUNC;
	n = 2 * (size_t)cnt - (cnt && (start & 0x80) ? 1 : 0);
	if ((s = wa_arena_alloc_str(d->a, 2 * (size_t)cnt)) == NULL)
		return alloc_failed(d, 2 * (size_t)cnt);
	for (unsigned i = 0; i < cnt; i++) {
		uint8_t b = *d->p++;
		char hi = tab[b >> 4], lo = tab[b & 15];

		bad |= (hi == '\xff') | (lo == '\xff');
		s[2 * i] = hi;
		s[2 * i + 1] = lo;
	}
	if (bad)
		return WA_EMALFORM;
	s[n] = '\0';
	if (memchr(s, '\0', n) != NULL)
		return WA_EMALFORM;
	out->s = s;
	out->n = n;
	return 0;
}

static int read_string(struct dec *d, unsigned tag, int sdepth,
    struct str *out);

static int
read_sub(struct dec *d, int sdepth, struct str *out)
{
	unsigned tag;
	int rc;

	if (sdepth >= WA_NODE_MAX_STR_DEPTH)
		return WA_EDEPTH;
	if ((rc = get8(d, &tag)) < 0)
		return rc;
	return read_string(d, tag, sdepth + 1, out);
}

static int
read_jid_pair(struct dec *d, int sdepth, struct str *out)
{
	struct str p[3];
	int rc;

	if ((rc = read_sub(d, sdepth, &p[0])) < 0 ||
	    (rc = read_sub(d, sdepth, &p[2])) < 0)
		return rc;
	if (p[2].n == 0)
		return WA_EMALFORM;
	p[1] = LIT("@");
	return join(d, out, p, 3);
}

/* Baileys renders the agent byte as a server and drops any other: 1 lid,
 * 128 hosted, 129 hosted.lid, everything else s.whatsapp.net. */
static int
read_ad_jid(struct dec *d, int sdepth, struct str *out)
{
	struct str p[5];
	char num[4];
	unsigned domain, device;
	int rc, k = 1;

	if ((rc = get8(d, &domain)) < 0 || (rc = get8(d, &device)) < 0 ||
	    (rc = read_sub(d, sdepth, &p[0])) < 0)
		return rc;
	if (device) {
		p[k++] = LIT(":");
		p[k++] = decimal(num, device);
	}
	p[k++] = LIT("@");
	p[k++] = domain == 1 ? LIT("lid") : domain == 128 ? LIT("hosted") :
	    domain == 129 ? LIT("hosted.lid") : LIT("s.whatsapp.net");
	return join(d, out, p, k);
}

static int
read_fb_jid(struct dec *d, int sdepth, struct str *out)
{
	struct str p[5];
	char num[6];
	uint32_t device;
	int rc;

	if ((rc = read_sub(d, sdepth, &p[0])) < 0 ||
	    (rc = get_be(d, 2, &device)) < 0 ||
	    (rc = read_sub(d, sdepth, &p[4])) < 0)
		return rc;
	p[1] = LIT(":");
	p[2] = decimal(num, device);
	p[3] = LIT("@");
	return join(d, out, p, 5);
}

/* The server is optional: Baileys tries to read a string and, when that
 * fails, rewinds and says "interop".  Mirrored exactly, since a frame from
 * a Baileys-like peer relies on it; a failure for want of memory is still
 * a failure. */
static int
read_interop_jid(struct dec *d, int sdepth, struct str *out)
{
	struct str p[7];
	char num1[6], num2[6];
	uint32_t device, integrator;
	const uint8_t *save;
	int rc;

	if ((rc = read_sub(d, sdepth, &p[2])) < 0 ||
	    (rc = get_be(d, 2, &device)) < 0 ||
	    (rc = get_be(d, 2, &integrator)) < 0)
		return rc;
	save = d->p;
	rc = read_sub(d, sdepth, &p[6]);
	if (rc == WA_ETRUNC || rc == WA_EMALFORM || rc == WA_EDEPTH) {
		d->p = save;
		p[6] = LIT("interop");
	} else if (rc < 0) {
		return rc;
	}
	p[0] = decimal(num1, integrator);
	p[1] = LIT("-");
	p[3] = LIT(":");
	p[4] = decimal(num2, device);
	p[5] = LIT("@");
	return join(d, out, p, 7);
}

/* Any string form.  Strings are copied into the arena (tokens point at the
 * static tables); a NUL inside one is an error here, where Baileys would
 * keep it, because the API hands out C strings. */
static int
read_string(struct dec *d, unsigned tag, int sdepth, struct str *out)
{
	size_t n;
	char *s;
	int rc;

	if (tag >= 1 && tag < WA_TOKEN_SINGLE_COUNT) {
		out->s = wa_token_single[tag];
		out->n = wa_token_single_len[tag];
		return 0;
	}
	switch (tag) {
	case WA_TAG_LIST_EMPTY:
		*out = LIT("");
		return 0;
	case WA_TAG_DICT_0:
	case WA_TAG_DICT_0 + 1:
	case WA_TAG_DICT_0 + 2:
	case WA_TAG_DICT_0 + 3: {
		unsigned idx;
		if ((rc = get8(d, &idx)) < 0)
			return rc;
		out->s = wa_token_double[tag - WA_TAG_DICT_0][idx];
		out->n = wa_token_double_len[tag - WA_TAG_DICT_0][idx];
		return 0;
	}
	case WA_TAG_BINARY_8:
	case WA_TAG_BINARY_20:
	case WA_TAG_BINARY_32:
		if ((rc = get_len(d, tag, &n)) < 0)
			return rc;
		if (memchr(d->p, '\0', n) != NULL)
			return WA_EMALFORM;
		if ((s = (char *)wa_arena_memdup(d->a, d->p, n)) == NULL)
			return alloc_failed(d, n);
		d->p += n;
		out->s = s;
		out->n = n;
		return 0;
	case WA_TAG_NIBBLE_8:
	case WA_TAG_HEX_8:
		return read_packed(d, tag, out);
	case WA_TAG_JID_PAIR:
		return read_jid_pair(d, sdepth, out);
	case WA_TAG_AD_JID:
		return read_ad_jid(d, sdepth, out);
	case WA_TAG_FB_JID:
		return read_fb_jid(d, sdepth, out);
	case WA_TAG_INTEROP_JID:
		return read_interop_jid(d, sdepth, out);
	default:
		return WA_EMALFORM;
	}
}

static int
read_str(struct dec *d, struct str *out)
{
	unsigned tag;
	int rc;

	if ((rc = get8(d, &tag)) < 0)
		return rc;
	return read_string(d, tag, 0, out);
}

/* LIST_EMPTY, LIST_8, LIST_16 and their size; anything else is no list. */
static int
list_size(struct dec *d, unsigned tag, uint32_t *size)
{
	switch (tag) {
	case WA_TAG_LIST_EMPTY:
		*size = 0;
		return 0;
	case WA_TAG_LIST_8:
		return get_be(d, 1, size);
	case WA_TAG_LIST_16:
		return get_be(d, 2, size);
	default:
		return WA_EMALFORM;
	}
}

/* The smallest node is 3 bytes (LIST_8, size 1, a token tag), the smallest
 * attribute 2: checked before allocating room for a count. */
#define MIN_NODE 3
#define MIN_ATTR 2

static int read_node(struct dec *d, int depth, struct wa_node *n);

static int
read_content(struct dec *d, int depth, struct wa_node *n)
{
	struct wa_node *kids;
	struct str s;
	unsigned tag;
	uint32_t count;
	size_t len;
	int rc;

	if ((rc = get8(d, &tag)) < 0)
		return rc;
	switch (tag) {
	case WA_TAG_LIST_EMPTY:
	case WA_TAG_LIST_8:
	case WA_TAG_LIST_16:
		if ((rc = list_size(d, tag, &count)) < 0)
			return rc;
		n->kind = WA_CONTENT_LIST;
		if (count == 0)
			return 0;
		if (count > left(d) / MIN_NODE)
			return WA_ETRUNC;
		len = wa_node_grow_cap(count) * sizeof(*kids);
		if ((kids = wa_arena_alloc(d->a, len)) == NULL)
			return alloc_failed(d, len);
		n->children = kids;
		for (uint32_t i = 0; i < count; i++) {
			if ((rc = read_node(d, depth + 1, &kids[i])) < 0)
				return rc;
			n->nchildren++;
		}
		return 0;
	case WA_TAG_BINARY_8:
	case WA_TAG_BINARY_20:
	case WA_TAG_BINARY_32:
		if ((rc = get_len(d, tag, &len)) < 0)
			return rc;
		if ((n->data = wa_arena_memdup(d->a, d->p, len)) == NULL)
			return alloc_failed(d, len);
		d->p += len;
		n->len = len;
		n->kind = WA_CONTENT_BYTES;
		return 0;
	default:
		if ((rc = read_string(d, tag, 0, &s)) < 0)
			return rc;
		n->data = (const uint8_t *)s.s;
		n->len = s.n;
		n->kind = WA_CONTENT_STRING;
		return 0;
	}
}

/* n is zeroed by the caller. */
static int
read_node(struct dec *d, int depth, struct wa_node *n)
{
	struct str s;
	unsigned tag;
	uint32_t size, nattrs;
	size_t len;
	int rc;

	if (depth > WA_NODE_MAX_DEPTH)
		return WA_EDEPTH;
	if ((rc = get8(d, &tag)) < 0 || (rc = list_size(d, tag, &size)) < 0)
		return rc;
	if (size == 0)
		return WA_EMALFORM;
	if ((rc = read_str(d, &s)) < 0)
		return rc;
	if (s.n == 0)
		return WA_EMALFORM;
	n->tag = s.s;
	nattrs = (size - 1) / 2;
	if (nattrs > WA_NODE_MAX_ATTRS)
		return WA_ETOOBIG;
	if (nattrs > left(d) / MIN_ATTR)
		return WA_ETRUNC;
	if (nattrs) {
		len = wa_node_grow_cap(nattrs) * sizeof(*n->attrs);
		if ((n->attrs = wa_arena_alloc(d->a, len)) == NULL)
			return alloc_failed(d, len);
		for (uint32_t i = 0; i < nattrs; i++) {
			if ((rc = read_str(d, &s)) < 0)
				return rc;
			n->attrs[i].key = s.s;
			if ((rc = read_str(d, &s)) < 0)
				return rc;
			n->attrs[i].val = s.s;
			n->nattrs++;
		}
	}
	if (size % 2 == 0)
		return read_content(d, depth, n);
	return 0;
}

int
wa_node_decode(const uint8_t *buf, size_t len, struct wa_arena *a,
    struct wa_node **out)
{
	struct dec d;
	struct wa_node *n;
	int rc;

	if (len == 0)
		return WA_ETRUNC;
	d.p = buf;
	d.end = buf + len;
	d.a = a;
	if ((n = wa_arena_alloc(a, sizeof(*n))) == NULL)
		return alloc_failed(&d, sizeof(*n));
	if ((rc = read_node(&d, 1, n)) < 0)
		return rc;
	if (d.p != d.end)
		return WA_EMALFORM;
	*out = n;
	return 0;
}
