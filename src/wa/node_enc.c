/*
 * src/wa/node_enc.c: binary node encoder (PROTOCOL.md §5).
 *
 * Makes the choices Baileys' encoder makes (src/WABinary/encode.ts), so
 * the bytes are Baileys' bytes and tests can compare them; where Baileys'
 * JID form would lose part of the string, it writes a form that keeps it
 * (node.h says which).  Limits are the decoder's, so whatever this writes
 * wa_node_decode reads back.
 */
#include <string.h>
#include "wa/node.h"
#include "wa/tokens.h"

static inline int
put1(struct wa_buf *b, unsigned v)
{
	int rc;

	if (b->len == b->cap && (rc = wa_buf_reserve(b, 1)) < 0)
		return rc;
	b->data[b->len++] = (uint8_t)v;
	return 0;
}

static inline int
put2(struct wa_buf *b, unsigned v1, unsigned v2)
{
	int rc;

	if (b->cap - b->len < 2 && (rc = wa_buf_reserve(b, 2)) < 0)
		return rc;
	b->data[b->len++] = (uint8_t)v1;
	b->data[b->len++] = (uint8_t)v2;
	return 0;
}

/* BINARY_8 / BINARY_20 / BINARY_32 and the length, the bytes after. */
static int
put_binary(struct wa_buf *b, const void *p, size_t n)
{
	uint8_t hdr[5];
	size_t h;
	int rc;

	if ((uint64_t)n > 0xFFFFFFFFu)
		return WA_ETOOBIG;
	if (n >= (1u << 20)) {
		hdr[0] = WA_TAG_BINARY_32;
		hdr[1] = (uint8_t)(n >> 24);
		hdr[2] = (uint8_t)(n >> 16);
		hdr[3] = (uint8_t)(n >> 8);
		hdr[4] = (uint8_t)n;
		h = 5;
	} else if (n >= 256) {
		hdr[0] = WA_TAG_BINARY_20;
		hdr[1] = (uint8_t)(n >> 16);
		hdr[2] = (uint8_t)(n >> 8);
		hdr[3] = (uint8_t)n;
		h = 4;
	} else {
		hdr[0] = WA_TAG_BINARY_8;
		hdr[1] = (uint8_t)n;
		h = 2;
	}
	if ((rc = wa_buf_reserve(b, h + n)) < 0)
		return rc;
	memcpy(b->data + b->len, hdr, h);
	if (n)
		memcpy(b->data + b->len + h, p, n);
	b->len += h + n;
	return 0;
}

static unsigned
pack_value(char c)
{
	switch (c) {
	case '-': return 10;
	case '.': return 11;
	default: return c <= '9' ? (unsigned)(c - '0') : (unsigned)(c - 'A' + 10);
	}
}

/* n <= WA_PACKED_MAX characters, all in the tag's alphabet; an odd length
 * sets 0x80 in the length byte and pads with nibble 15. */
static int
put_packed(struct wa_buf *b, unsigned tag, const char *s, size_t n)
{
	size_t bytes = (n + 1) / 2;
	uint8_t *p;
	int rc;

	if ((rc = wa_buf_reserve(b, 2 + bytes)) < 0)
		return rc;
	p = b->data + b->len;
	*p++ = (uint8_t)tag;
	*p++ = (uint8_t)(bytes | (n & 1 ? 0x80 : 0));
	for (size_t i = 0; i + 1 < n; i += 2)
		*p++ = (uint8_t)(pack_value(s[i]) << 4 | pack_value(s[i + 1]));
	if (n & 1)
		*p++ = (uint8_t)(pack_value(s[n - 1]) << 4 | 15);
	b->len += 2 + bytes;
	return 0;
}

/* A canonical decimal in [min, max]: no sign, no leading zero. */
static int
decimal_in(const char *p, size_t n, unsigned min, unsigned max, unsigned *v)
{
	unsigned x = 0;

	if (n == 0 || n > 5 || (n > 1 && p[0] == '0'))
		return 0;
	for (size_t i = 0; i < n; i++) {
		if (p[i] < '0' || p[i] > '9')
			return 0;
		x = x * 10 + (unsigned)(p[i] - '0');
	}
	*v = x;
	return x >= min && x <= max;
}

static int
is(const char *p, size_t n, const char *lit)
{
	return strlen(lit) == n && memcmp(p, lit, n) == 0;
}

/* The AD_JID domain byte Baileys would render back as this server. */
static int
ad_domain(const char *s, size_t n)
{
	return is(s, n, "s.whatsapp.net") ? 0 : is(s, n, "lid") ? 1 :
	    is(s, n, "hosted") ? 128 : is(s, n, "hosted.lid") ? 129 : -1;
}

static int put_string(struct wa_buf *b, const char *s, size_t n, int sdepth);

/* A string with '@' at s[at].  Returns 0 when a JID form was written, 1
 * when no JID form keeps the whole string (the caller writes it plain),
 * or an error.  Baileys' jidDecode: user part before the first '@', split
 * at ':' into user-agent and device, user-agent split at '_' into user and
 * agent; a non-empty device means AD_JID, else JID_PAIR. */
static int
put_jid(struct wa_buf *b, const char *s, size_t n, size_t at, int sdepth)
{
	const char *u = s, *srv = s + at + 1;
	size_t ulen = at, slen = n - at - 1;
	const char *c1 = memchr(u, ':', ulen), *c2 = NULL, *dev = NULL;
	size_t devlen = 0, userlen;
	unsigned d, integ;
	int rc, dom;

	if (c1 == NULL) {
		/* JID_PAIR loses an agent and cannot say an empty server */
		if (memchr(u, '_', ulen) != NULL || slen == 0)
			return 1;
		if ((rc = put1(b, WA_TAG_JID_PAIR)) < 0 ||
		    (rc = ulen ? put_string(b, u, ulen, sdepth + 1) :
		    put1(b, WA_TAG_LIST_EMPTY)) < 0)
			return rc;
		return put_string(b, srv, slen, sdepth + 1);
	}
	userlen = (size_t)(c1 - u);
	dev = c1 + 1;
	c2 = memchr(dev, ':', (size_t)(u + ulen - dev));
	if (c2 != NULL)
		return 1;   /* a second ':' is lost by every form */
	devlen = (size_t)(u + ulen - dev);
	/* AD_JID renders no agent, devices 1..255 only, four servers only */
	if (memchr(u, '_', userlen) == NULL &&
	    decimal_in(dev, devlen, 1, 255, &d) &&
	    (dom = ad_domain(srv, slen)) >= 0) {
		if ((rc = put1(b, WA_TAG_AD_JID)) < 0 ||
		    (rc = put2(b, (unsigned)dom, d)) < 0)
			return rc;
		return put_string(b, u, userlen, sdepth + 1);
	}
	/* Baileys would write AD_JID and lose something: forms it reads */
	if (is(srv, slen, "msgr") && decimal_in(dev, devlen, 0, 0xFFFF, &d)) {
		if ((rc = put1(b, WA_TAG_FB_JID)) < 0 ||
		    (rc = put_string(b, u, userlen, sdepth + 1)) < 0 ||
		    (rc = put2(b, d >> 8, d & 0xFF)) < 0)
			return rc;
		return put_string(b, srv, slen, sdepth + 1);
	}
	if (is(srv, slen, "interop") && decimal_in(dev, devlen, 0, 0xFFFF, &d)) {
		const char *dash = memchr(u, '-', userlen);

		if (dash == NULL || !decimal_in(u, (size_t)(dash - u), 0,
		    0xFFFF, &integ))
			return 1;
		if ((rc = put1(b, WA_TAG_INTEROP_JID)) < 0 ||
		    (rc = put_string(b, dash + 1, (size_t)(c1 - dash - 1),
		    sdepth + 1)) < 0 ||
		    (rc = put2(b, d >> 8, d & 0xFF)) < 0 ||
		    (rc = put2(b, integ >> 8, integ & 0xFF)) < 0)
			return rc;
		return put_string(b, srv, slen, sdepth + 1);
	}
	return 1;
}

/* Baileys' writeString: empty, token, nibble, hex, JID, plain. */
static int
put_string(struct wa_buf *b, const char *s, size_t n, int sdepth)
{
	const char *at;
	int code, nib = 1, hex = 1, rc;

	if (n == 0)
		return put2(b, WA_TAG_BINARY_8, 0);
	if ((code = wa_token_lookup(s, n)) >= 0) {
		if (code < 256)
			return put1(b, (unsigned)code);
		return put2(b, WA_TAG_DICT_0 + ((unsigned)(code - 256) >> 8),
		    (unsigned)code & 0xFF);
	}
	if (n <= WA_PACKED_MAX) {
		for (size_t i = 0; i < n && (nib | hex); i++) {
			char c = s[i];

			if (c >= '0' && c <= '9')
				continue;
			if (c == '-' || c == '.')
				hex = 0;
			else if (c >= 'A' && c <= 'F')
				nib = 0;
			else
				nib = hex = 0;
		}
		if (nib)
			return put_packed(b, WA_TAG_NIBBLE_8, s, n);
		if (hex)
			return put_packed(b, WA_TAG_HEX_8, s, n);
	}
	if (sdepth < WA_NODE_MAX_STR_DEPTH &&
	    (at = memchr(s, '@', n)) != NULL) {
		size_t mark = b->len;

		if ((rc = put_jid(b, s, n, (size_t)(at - s), sdepth)) <= 0)
			return rc;
		b->len = mark;
	}
	return put_binary(b, s, n);
}

static int
put_list_start(struct wa_buf *b, size_t size)
{
	int rc;

	if (size == 0)
		return put1(b, WA_TAG_LIST_EMPTY);
	if (size < 256)
		return put2(b, WA_TAG_LIST_8, (unsigned)size);
	if ((rc = put1(b, WA_TAG_LIST_16)) < 0)
		return rc;
	return put2(b, (unsigned)(size >> 8), (unsigned)size & 0xFF);
}

static int
put_node(struct wa_buf *b, const struct wa_node *n, int depth)
{
	size_t nattrs = 0;
	int rc;

	if (depth > WA_NODE_MAX_DEPTH)
		return WA_EDEPTH;
	if (n->tag == NULL || n->tag[0] == '\0')
		return WA_EMALFORM;
	for (size_t i = 0; i < n->nattrs; i++) {
		if (n->attrs[i].key == NULL)
			return WA_EMALFORM;
		nattrs += n->attrs[i].val != NULL;
	}
	if (nattrs > WA_NODE_MAX_ATTRS)
		return WA_ETOOBIG;
	switch (n->kind) {
	case WA_CONTENT_NONE:
		break;
	case WA_CONTENT_LIST:
		if (n->nchildren > WA_NODE_MAX_CHILDREN)
			return WA_ETOOBIG;
		if (n->nchildren && n->children == NULL)
			return WA_EMALFORM;
		break;
	case WA_CONTENT_BYTES:
	case WA_CONTENT_STRING:
		if (n->len && n->data == NULL)
			return WA_EMALFORM;
		break;
	default:
		return WA_EMALFORM;
	}
	if ((rc = put_list_start(b, 1 + 2 * nattrs +
	    (n->kind != WA_CONTENT_NONE))) < 0 ||
	    (rc = put_string(b, n->tag, strlen(n->tag), 0)) < 0)
		return rc;
	for (size_t i = 0; i < n->nattrs; i++) {
		const struct wa_attr *at = &n->attrs[i];

		if (at->val == NULL)
			continue;
		if ((rc = put_string(b, at->key, strlen(at->key), 0)) < 0 ||
		    (rc = put_string(b, at->val, strlen(at->val), 0)) < 0)
			return rc;
	}
	switch (n->kind) {
	case WA_CONTENT_LIST:
		if ((rc = put_list_start(b, n->nchildren)) < 0)
			return rc;
		for (size_t i = 0; i < n->nchildren; i++)
			if ((rc = put_node(b, &n->children[i], depth + 1)) < 0)
				return rc;
		return 0;
	case WA_CONTENT_BYTES:
		return put_binary(b, n->data, n->len);
	case WA_CONTENT_STRING:
		/* a NUL would make a string the decoder refuses: as bytes */
		if (n->len && memchr(n->data, '\0', n->len) != NULL)
			return put_binary(b, n->data, n->len);
		return put_string(b, (const char *)n->data, n->len, 0);
	default:
		return 0;
	}
}

int
wa_node_encode(const struct wa_node *n, struct wa_buf *out)
{
	size_t start = out->len;
	int rc = put_node(out, n, 1);

	if (rc < 0)
		out->len = start;
	return rc;
}

int
wa_node_encode_frame(const struct wa_node *n, struct wa_buf *out)
{
	size_t start = out->len;
	int rc;

	if ((rc = put1(out, 0x00)) < 0)
		return rc;
	if ((rc = wa_node_encode(n, out)) < 0)
		out->len = start;
	return rc;
}
