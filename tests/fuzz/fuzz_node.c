/*
 * tests/fuzz/fuzz_node.c: the binary node decoder on arbitrary frames.
 *
 * Input: one decrypted transport frame (flag byte, then a node, deflated
 * when flag & 0x02).  Beyond "no crash, no leak, no read out of bounds":
 *  - a failure is one of the documented codes;
 *  - a decoded node has what the API promises (non-empty tag, attribute
 *    count within the limit, NUL-terminated strings and data);
 *  - it encodes, and its encoding decodes to the same node (string content
 *    may come back as bytes: a string written plain is BINARY, which the
 *    decoder reads as bytes, as Baileys does), and that encodes to the very
 *    same bytes: the encoder never loses a string the decoder made;
 *  - the debug text can be made;
 *  - a small arena either holds the same node or fails with WA_ETOOBIG.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "wa/node.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(c) do { if (!(c)) abort(); } while (0)

static void
check_shape(const struct wa_node *n, int depth)
{
	CHECK(depth <= WA_NODE_MAX_DEPTH);
	CHECK(n->tag != NULL && n->tag[0] != '\0');
	CHECK(n->nattrs <= WA_NODE_MAX_ATTRS);
	for (size_t i = 0; i < n->nattrs; i++)
		CHECK(n->attrs[i].key != NULL && n->attrs[i].val != NULL);
	switch (n->kind) {
	case WA_CONTENT_NONE:
		break;
	case WA_CONTENT_LIST:
		CHECK(n->nchildren <= WA_NODE_MAX_CHILDREN);
		for (size_t i = 0; i < n->nchildren; i++)
			check_shape(&n->children[i], depth + 1);
		break;
	case WA_CONTENT_STRING:
		CHECK(memchr(n->data, '\0', n->len) == NULL);
		/* fall through */
	case WA_CONTENT_BYTES:
		CHECK(n->data != NULL && n->data[n->len] == '\0');
		break;
	default:
		CHECK(0);
	}
}

static int
known_error(int rc)
{
	return rc == WA_ETRUNC || rc == WA_EMALFORM || rc == WA_ETOOBIG ||
	    rc == WA_EDEPTH;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct wa_arena a, b, small;
	struct wa_buf e1 = { 0 }, e2 = { 0 }, txt = { 0 };
	struct wa_node *n, *back, *s;
	int rc;

	wa_arena_init(&a, 0);
	rc = wa_node_decode_frame(data, size, &a, &n);
	if (rc < 0) {
		CHECK(known_error(rc));
		wa_arena_free(&a);
		return 0;
	}
	CHECK(rc == 0);
	check_shape(n, 1);
	CHECK(wa_node_to_text(n, &txt) == 0);

	CHECK(wa_node_encode_frame(n, &e1) == 0);
	wa_arena_init(&b, 0);
	CHECK(wa_node_decode_frame(e1.data, e1.len, &b, &back) == 0);
	CHECK(wa_node_same(n, back));
	CHECK(wa_node_encode_frame(back, &e2) == 0);
	CHECK(e1.len == e2.len && memcmp(e1.data, e2.data, e1.len) == 0);

	wa_arena_init(&small, 2048);
	rc = wa_node_decode_frame(data, size, &small, &s);
	CHECK(rc == WA_ETOOBIG || (rc == 0 && wa_node_same(n, s) && n->kind == s->kind));
	CHECK(small.used_total <= 2048);

	wa_arena_free(&small);
	wa_arena_free(&b);
	wa_arena_free(&a);
	wa_buf_free(&e1);
	wa_buf_free(&e2);
	wa_buf_free(&txt);
	return 0;
}
