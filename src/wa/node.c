/*
 * src/wa/node.c: the node arena, the builders and accessors, and the debug
 * text.  The codec proper is node_dec.c and node_enc.c.
 *
 * The arena is a list of blocks, newest first; allocation bumps a pointer
 * in the newest block and opens a new one (twice the last, at most
 * BLOCK_MAX, or just the request when that is bigger) when it is full.
 * Nothing is freed alone: a stanza dies with its arena.
 */
#include <stdalign.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include "wa/node.h"

#define BLOCK_MIN 4096
#define BLOCK_MAX (1u << 20)
#define ALIGN     alignof(max_align_t)

struct wa_arena_block {
	struct wa_arena_block *next;
	size_t size, used;
	alignas(max_align_t) unsigned char data[];
};

void
wa_arena_init(struct wa_arena *a, size_t limit)
{
	a->head = NULL;
	a->used_total = 0;
	a->limit = limit;
}

void
wa_arena_free(struct wa_arena *a)
{
	struct wa_arena_block *b, *next;

	for (b = a->head; b != NULL; b = next) {
		next = b->next;
		free(b);
	}
	a->head = NULL;
	a->used_total = 0;
}

void
wa_arena_reset(struct wa_arena *a)
{
	struct wa_arena_block *b, *next, *keep = NULL;

	for (b = a->head; b != NULL; b = b->next)
		if (keep == NULL || b->size > keep->size)
			keep = b;
	for (b = a->head; b != NULL; b = next) {
		next = b->next;
		if (b != keep)
			free(b);
	}
	a->head = keep;
	a->used_total = 0;
	if (keep != NULL) {
		keep->next = NULL;
		keep->used = 0;
	}
}

/* The one allocator; align is 1 or ALIGN.  Counts padding against the
 * limit, so the limit bounds memory and not just payload. */
static void *
arena_take(struct wa_arena *a, size_t n, size_t align)
{
	struct wa_arena_block *b = a->head;
	size_t off = 0, cost, size;

	if (b != NULL) {
		off = (b->used + align - 1) & ~(align - 1);
		if (off <= b->size && n <= b->size - off) {
			cost = off - b->used + n;
			if (a->limit && cost > a->limit - a->used_total)
				return NULL;
			b->used = off + n;
			a->used_total += cost;
			return b->data + off;
		}
	}
	if (n > SIZE_MAX / 2 - sizeof(*b))
		return NULL;
	if (a->limit && n > a->limit - a->used_total)
		return NULL;
	size = b != NULL ? b->size * 2 : BLOCK_MIN;
	if (size > BLOCK_MAX)
		size = BLOCK_MAX;
	if (size < n)
		size = n;
	b = malloc(sizeof(*b) + size);
	if (b == NULL)
		return NULL;
	b->next = a->head;
	b->size = size;
	b->used = n;
	a->head = b;
	a->used_total += n;
	return b->data;
}

void *
wa_arena_alloc(struct wa_arena *a, size_t n)
{
	void *p = arena_take(a, n ? n : 1, ALIGN);

	if (p != NULL)
		memset(p, 0, n);
	return p;
}

char *
wa_arena_alloc_str(struct wa_arena *a, size_t n)
{
	return n == SIZE_MAX ? NULL : arena_take(a, n + 1, 1);
}

uint8_t *
wa_arena_memdup(struct wa_arena *a, const void *p, size_t n)
{
	uint8_t *d;

	if (n == SIZE_MAX || (d = arena_take(a, n + 1, 1)) == NULL)
		return NULL;
	if (n)
		memcpy(d, p, n);
	d[n] = 0;
	return d;
}

char *
wa_arena_strndup(struct wa_arena *a, const char *s, size_t n)
{
	size_t len = 0;

	while (len < n && s[len] != '\0')
		len++;
	return (char *)wa_arena_memdup(a, s, len);
}

/* --- builders ----------------------------------------------------------- */

/* Arrays made here and by the decoder hold room for grow_cap(count)
 * elements: 4, then powers of two.  So an append needs a new array only
 * when count is 0 or a power of two of at least 4: amortized O(1), at most
 * twice the memory. */
size_t
wa_node_grow_cap(size_t count)
{
	size_t cap = 4;

	while (cap < count)
		cap *= 2;
	return cap;
}

static void *
grow(struct wa_arena *a, void *arr, size_t count, size_t elem)
{
	void *p;

	if (count != 0 && (count < 4 || (count & (count - 1)) != 0))
		return arr;
	if (count > SIZE_MAX / 2 / elem)
		return NULL;
	p = wa_arena_alloc(a, wa_node_grow_cap(count + 1) * elem);
	if (p != NULL && count)
		memcpy(p, arr, count * elem);
	return p;
}

struct wa_node *
wa_node_new(struct wa_arena *a, const char *tag)
{
	struct wa_node *n;

	if (tag == NULL || (n = wa_arena_alloc(a, sizeof(*n))) == NULL)
		return NULL;
	if ((n->tag = wa_arena_strndup(a, tag, strlen(tag))) == NULL)
		return NULL;
	return n;
}

int
wa_node_set_attr(struct wa_arena *a, struct wa_node *n, const char *key,
    const char *val)
{
	struct wa_attr *attrs;
	const char *k, *v;

	if (key == NULL || val == NULL)
		return WA_EMALFORM;
	if ((v = wa_arena_strndup(a, val, strlen(val))) == NULL)
		return WA_ENOMEM;
	for (size_t i = n->nattrs; i-- > 0;)
		if (strcmp(n->attrs[i].key, key) == 0) {
			n->attrs[i].val = v;
			return 0;
		}
	if (n->nattrs >= WA_NODE_MAX_ATTRS)
		return WA_ETOOBIG;
	if ((k = wa_arena_strndup(a, key, strlen(key))) == NULL ||
	    (attrs = grow(a, n->attrs, n->nattrs, sizeof(*attrs))) == NULL)
		return WA_ENOMEM;
	attrs[n->nattrs].key = k;
	attrs[n->nattrs].val = v;
	n->attrs = attrs;
	n->nattrs++;
	return 0;
}

const char *
wa_node_attr(const struct wa_node *n, const char *key)
{
	for (size_t i = n->nattrs; i-- > 0;)
		if (strcmp(n->attrs[i].key, key) == 0)
			return n->attrs[i].val;
	return NULL;
}

struct wa_node *
wa_node_add_child(struct wa_arena *a, struct wa_node *n, const char *tag)
{
	struct wa_node *kids, *c;
	const char *t;

	if (tag == NULL)
		return NULL;
	if (n->kind != WA_CONTENT_LIST) {
		n->children = NULL;
		n->nchildren = 0;
		n->data = NULL;
		n->len = 0;
	}
	if (n->nchildren >= WA_NODE_MAX_CHILDREN)
		return NULL;
	if ((t = wa_arena_strndup(a, tag, strlen(tag))) == NULL ||
	    (kids = grow(a, n->children, n->nchildren, sizeof(*kids))) == NULL)
		return NULL;
	n->kind = WA_CONTENT_LIST;
	n->children = kids;
	c = &kids[n->nchildren++];
	memset(c, 0, sizeof(*c));
	c->tag = t;
	return c;
}

static int
set_data(struct wa_arena *a, struct wa_node *n, enum wa_content kind,
    const void *data, size_t len)
{
	uint8_t *d;

	if (data == NULL && len)
		return WA_EMALFORM;
	if ((d = wa_arena_memdup(a, data, len)) == NULL)
		return WA_ENOMEM;
	n->kind = kind;
	n->children = NULL;
	n->nchildren = 0;
	n->data = d;
	n->len = len;
	return 0;
}

int
wa_node_set_bytes(struct wa_arena *a, struct wa_node *n, const uint8_t *data,
    size_t len)
{
	return set_data(a, n, WA_CONTENT_BYTES, data, len);
}

int
wa_node_set_string(struct wa_arena *a, struct wa_node *n, const char *s)
{
	if (s == NULL)
		return WA_EMALFORM;
	return set_data(a, n, WA_CONTENT_STRING, s, strlen(s));
}

const struct wa_node *
wa_node_child(const struct wa_node *n, const char *tag)
{
	if (n->kind != WA_CONTENT_LIST)
		return NULL;
	for (size_t i = 0; i < n->nchildren; i++)
		if (strcmp(n->children[i].tag, tag) == 0)
			return &n->children[i];
	return NULL;
}

/* --- debug text --------------------------------------------------------- */

static const char hexdig[] = "0123456789abcdef";

/* name: a tag or key, unquoted, so the characters that would make the
 * text ambiguous are escaped too. */
static int
put_escaped(struct wa_buf *out, const uint8_t *s, size_t n, int name)
{
	int rc = n > SIZE_MAX / 4 ? WA_ETOOBIG : wa_buf_reserve(out, n * 4);

	if (rc < 0)
		return rc;
	for (size_t i = 0; i < n; i++) {
		uint8_t c = s[i];
		uint8_t *p = out->data + out->len;

		if (c == '"' || c == '\\') {
			p[0] = '\\';
			p[1] = c;
			out->len += 2;
		} else if (c < 0x20 || c > 0x7e || (name && (c == ' ' ||
		    c == '<' || c == '>' || c == '=' || c == '/'))) {
			p[0] = '\\';
			p[1] = 'x';
			p[2] = (uint8_t)hexdig[c >> 4];
			p[3] = (uint8_t)hexdig[c & 15];
			out->len += 4;
		} else {
			p[0] = c;
			out->len++;
		}
	}
	return 0;
}

#define PUTS(s) do { if ((rc = wa_buf_put(out, s, strlen(s))) < 0) \
	return rc; } while (0)
#define ESC(s, n, name) do { if ((rc = put_escaped(out, (const uint8_t *)(s), \
	n, name)) < 0) return rc; } while (0)

static int
text_node(const struct wa_node *n, struct wa_buf *out, int depth)
{
	int rc;

	if (depth > WA_NODE_MAX_DEPTH)
		return WA_EDEPTH;
	PUTS("<");
	ESC(n->tag, strlen(n->tag), 1);
	for (size_t i = 0; i < n->nattrs; i++) {
		if (n->attrs[i].val == NULL)
			continue;
		PUTS(" ");
		ESC(n->attrs[i].key, strlen(n->attrs[i].key), 1);
		PUTS("=\"");
		ESC(n->attrs[i].val, strlen(n->attrs[i].val), 0);
		PUTS("\"");
	}
	switch (n->kind) {
	case WA_CONTENT_NONE:
		PUTS("/>");
		return 0;
	case WA_CONTENT_LIST:
		PUTS(">");
		for (size_t i = 0; i < n->nchildren; i++)
			if ((rc = text_node(&n->children[i], out, depth + 1)) < 0)
				return rc;
		break;
	case WA_CONTENT_STRING:
		PUTS(">\"");
		ESC(n->data, n->len, 0);
		PUTS("\"");
		break;
	case WA_CONTENT_BYTES:
		PUTS(">0x");
		if ((rc = wa_buf_reserve(out, n->len * 2)) < 0)
			return rc;
		for (size_t i = 0; i < n->len; i++) {
			out->data[out->len++] = (uint8_t)hexdig[n->data[i] >> 4];
			out->data[out->len++] = (uint8_t)hexdig[n->data[i] & 15];
		}
		break;
	default:
		return WA_EMALFORM;
	}
	PUTS("</");
	ESC(n->tag, strlen(n->tag), 1);
	PUTS(">");
	return 0;
}

int
wa_node_to_text(const struct wa_node *n, struct wa_buf *out)
{
	size_t start = out->len;
	int rc = text_node(n, out, 1);

	if (rc < 0)
		out->len = start;
	return rc;
}

int
wa_node_same(const struct wa_node *x, const struct wa_node *y)
{
	if (strcmp(x->tag, y->tag) != 0 || x->nattrs != y->nattrs)
		return 0;
	for (size_t i = 0; i < x->nattrs; i++)
		if (strcmp(x->attrs[i].key, y->attrs[i].key) != 0 ||
		    strcmp(x->attrs[i].val, y->attrs[i].val) != 0)
			return 0;
	if (x->kind == WA_CONTENT_LIST || y->kind == WA_CONTENT_LIST ||
	    x->kind == WA_CONTENT_NONE || y->kind == WA_CONTENT_NONE) {
		if (x->kind != y->kind || x->nchildren != y->nchildren)
			return 0;
		for (size_t i = 0; i < x->nchildren; i++)
			if (!wa_node_same(&x->children[i], &y->children[i]))
				return 0;
		return 1;
	}
	return x->len == y->len && (x->len == 0 ||
	    memcmp(x->data, y->data, x->len) == 0);
}
