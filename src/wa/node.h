/*
 * src/wa/node.h: WhatsApp's binary XML ("binary node") codec, PROTOCOL.md §5.
 *
 * A node is a tag, string attributes and content: nothing, child nodes,
 * raw bytes, or a string.  Decoded nodes live in an arena: one free for a
 * whole stanza, and no pointer into the input survives (the frame buffer
 * can be reused at once).  JIDs are strings in the usual text form
 * ("user@s.whatsapp.net", "user:3@s.whatsapp.net", "user@lid", ...); the
 * encoder picks the JID tag forms, the decoder renders them back.
 */
#ifndef SK_WA_NODE_H
#define SK_WA_NODE_H

#include "wa/wa.h"

#define WA_NODE_MAX_DEPTH   64
#define WA_NODE_MAX_ATTRS   256
#define WA_NODE_MAX_CHILDREN 65535
#define WA_NODE_MAX_INFLATE (8u << 20)  /* zlib output cap per frame */

enum wa_content { WA_CONTENT_NONE, WA_CONTENT_LIST, WA_CONTENT_BYTES,
    WA_CONTENT_STRING };

struct wa_attr {
	const char *key;
	const char *val;
};

struct wa_node {
	const char *tag;
	struct wa_attr *attrs;
	size_t nattrs;
	enum wa_content kind;
	struct wa_node *children;   /* WA_CONTENT_LIST: nchildren nodes */
	size_t nchildren;
	const uint8_t *data;        /* BYTES or STRING (NUL-terminated too) */
	size_t len;
};

/* Bump allocator; everything a decode or a builder makes lives here. */
struct wa_arena {
	struct wa_arena_block *head;
	size_t used_total;
	size_t limit;               /* 0: no limit */
};

void wa_arena_init(struct wa_arena *a, size_t limit);
void wa_arena_free(struct wa_arena *a);
void *wa_arena_alloc(struct wa_arena *a, size_t n);
char *wa_arena_strndup(struct wa_arena *a, const char *s, size_t n);

/* Decodes one decrypted transport frame: flag byte (0x02 = zlib-deflated)
 * then one node. */
int wa_node_decode_frame(const uint8_t *buf, size_t len, struct wa_arena *a,
    struct wa_node **out);
/* Decodes a bare node (no flag byte). */
int wa_node_decode(const uint8_t *buf, size_t len, struct wa_arena *a,
    struct wa_node **out);
/* Encodes flag byte 0x00 then the node, appended to out. */
int wa_node_encode_frame(const struct wa_node *n, struct wa_buf *out);
int wa_node_encode(const struct wa_node *n, struct wa_buf *out);

/* Builders (arena-backed; strings are copied). */
struct wa_node *wa_node_new(struct wa_arena *a, const char *tag);
int wa_node_set_attr(struct wa_arena *a, struct wa_node *n, const char *key,
    const char *val);
const char *wa_node_attr(const struct wa_node *n, const char *key);
/* Appends a child (content becomes LIST) and returns it. */
struct wa_node *wa_node_add_child(struct wa_arena *a, struct wa_node *n,
    const char *tag);
int wa_node_set_bytes(struct wa_arena *a, struct wa_node *n,
    const uint8_t *data, size_t len);
int wa_node_set_string(struct wa_arena *a, struct wa_node *n, const char *s);
/* First child with the tag, or NULL. */
const struct wa_node *wa_node_child(const struct wa_node *n, const char *tag);

/* Debug text: <tag k="v">…</tag>, bytes as hex, for logs and tests. */
int wa_node_to_text(const struct wa_node *n, struct wa_buf *out);

#endif
