/*
 * src/wa/pair.c: what the pairing files share: error names, base64, and
 * small helpers for reading and writing pairing nodes.
 */
#include <stdarg.h>
#include <string.h>
#include <openssl/evp.h>
#include "wa/pair_int.h"
#include "wa/stanza.h"

const uint8_t pair_prefix_account[2] = { 6, 0 };
const uint8_t pair_prefix_device[2] = { 6, 1 };
const uint8_t pair_prefix_hosted_account[2] = { 6, 5 };

const char *
wa_pair_strerror(int code)
{
	switch (code) {
	case WA_PAIR_EHMAC:
		return "device identity HMAC does not match the adv secret";
	case WA_PAIR_EACCOUNT: return "account signature does not verify";
	case WA_PAIR_EDEVICE: return "device signature does not verify";
	case WA_PAIR_EPHONE: return "phone number invalid";
	case WA_PAIR_ECODE: return "pairing code wrong";
	case WA_PAIR_EREF: return "pairing ref mismatch";
	case WA_PAIR_EIDENT: return "key bundle names other identities";
	default: return wa_strerror(code);
	}
}

void
pair_sayf(char *why, size_t whylen, const char *fmt, ...)
{
	va_list ap;

	if (why == NULL || whylen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(why, whylen, fmt, ap);
	va_end(ap);
}

int
pair_copy_str(char *dst, size_t cap, const char *src)
{
	size_t n;

	if (src == NULL)
		return WA_EMALFORM;
	n = strlen(src);
	if (n >= cap)
		return WA_ETOOBIG;
	memcpy(dst, src, n + 1);
	return 0;
}

int
pair_child_data(const struct wa_node *n, const char *tag,
    const uint8_t **data, size_t *len)
{
	const struct wa_node *c = n != NULL ? wa_node_child(n, tag) : NULL;

	if (c == NULL || (c->kind != WA_CONTENT_BYTES &&
	    c->kind != WA_CONTENT_STRING) || c->data == NULL)
		return WA_EMALFORM;
	*data = c->data;
	*len = c->len;
	return 0;
}

int
pair_child_fixed(const struct wa_node *n, const char *tag, uint8_t *out,
    size_t want)
{
	const uint8_t *d;
	size_t len;

	if (pair_child_data(n, tag, &d, &len) < 0 || len != want)
		return WA_EMALFORM;
	memcpy(out, d, want);
	return 0;
}

int
pair_ref_valid(const uint8_t *p, size_t len)
{
	if (p == NULL || len == 0 || len > WA_PAIR_REF_MAX)
		return WA_EMALFORM;
	for (size_t i = 0; i < len; i++)
		if (p[i] < 0x21 || p[i] > 0x7e || p[i] == ',')
			return WA_EMALFORM;
	return 0;
}

int
pair_ref_set(struct wa_pair_ref *r, const uint8_t *p, size_t len)
{
	int rc = pair_ref_valid(p, len);

	if (rc < 0)
		return rc;
	memcpy(r->s, p, len);
	r->s[len] = '\0';
	r->len = len;
	return 0;
}

int
pair_ref_eq(const struct wa_pair_ref *a, const struct wa_pair_ref *b)
{
	return a->len == b->len && memcmp(a->s, b->s, a->len) == 0;
}

int
pair_b64_encode(const uint8_t *in, size_t len, char *out, size_t cap)
{
	size_t need = 4 * ((len + 2) / 3);

	if (len > 1024 || need + 1 > cap)
		return WA_ETOOBIG;
	return EVP_EncodeBlock((unsigned char *)out, in, (int)len);
}

int
pair_b64_decode32(const char *in, size_t len, uint8_t out[32])
{
	unsigned char tmp[33];
	char back[45];

	/* 32 bytes are 43 characters and one '='; EVP_DecodeBlock gives 33
	 * bytes for them (it does not strip padding).  Re-encoding and
	 * comparing refuses every non-canonical spelling (stray bits in the
	 * last character, whitespace, which EVP_DecodeBlock would skip). */
	if (in == NULL || len != 44 || in[43] != '=' || in[42] == '=')
		return WA_EMALFORM;
	if (EVP_DecodeBlock(tmp, (const unsigned char *)in, 44) != 33)
		return WA_EMALFORM;
	if (EVP_EncodeBlock((unsigned char *)back, tmp, 32) != 44 ||
	    memcmp(back, in, 44) != 0)
		return WA_EMALFORM;
	memcpy(out, tmp, 32);
	return 0;
}

struct wa_node *
pair_iq(struct wa_arena *a, const char *to, const char *type, const char *id,
    const char *xmlns)
{
	struct wa_node *n = wa_node_new(a, "iq");

	if (n == NULL || id == NULL ||
	    (to != NULL && wa_node_set_attr(a, n, "to", to) < 0) ||
	    wa_node_set_attr(a, n, "type", type) < 0 ||
	    wa_node_set_attr(a, n, "id", id) < 0 ||
	    (xmlns != NULL && wa_node_set_attr(a, n, "xmlns", xmlns) < 0))
		return NULL;
	return n;
}

int
pair_add_bytes(struct wa_arena *a, struct wa_node *parent, const char *tag,
    const uint8_t *data, size_t len)
{
	struct wa_node *c = wa_node_add_child(a, parent, tag);

	if (c == NULL || wa_node_set_bytes(a, c, data, len) < 0)
		return WA_ENOMEM;
	return 0;
}

int
pair_add_string(struct wa_arena *a, struct wa_node *parent, const char *tag,
    const char *s)
{
	struct wa_node *c = wa_node_add_child(a, parent, tag);

	if (c == NULL || wa_node_set_string(a, c, s) < 0)
		return WA_ENOMEM;
	return 0;
}

int
pair_get_id(const struct wa_node *n, char id[WA_PAIR_ID_MAX + 1])
{
	const char *v = wa_node_attr(n, "id");

	if (v == NULL || *v == '\0')
		return WA_EMALFORM;
	return pair_copy_str(id, WA_PAIR_ID_MAX + 1, v);
}
