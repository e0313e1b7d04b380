/*
 * src/wa/node.h: WhatsApp's binary XML ("binary node") codec, PROTOCOL.md §5.
 *
 * A node is a tag, string attributes and content: nothing, child nodes,
 * raw bytes, or a string.  Decoded nodes live in an arena: one free for a
 * whole stanza, and no pointer into the input survives (the frame buffer
 * can be reused at once).  JIDs are strings in the usual text form
 * ("user@s.whatsapp.net", "user:3@s.whatsapp.net", "user@lid", ...); the
 * encoder picks the JID tag forms, the decoder renders them back.
 *
 * Compatibility with Baileys (npm @whiskeysockets/baileys 7.0.0-rc14,
 * src/WABinary/{encode,decode}.ts), checked both ways by
 * tests/interop/codec/run.sh:
 *  - The encoder makes Baileys' choices and so Baileys' bytes: a token when
 *    the string is in the dictionary (a string in both tables takes the
 *    double-byte form), else NIBBLE_8 for up to 127 of [0-9.-], else HEX_8
 *    for up to 127 of [0-9A-F], else a JID form for a string with '@', else
 *    BINARY_8/20/32.  The empty string is BINARY_8 of length 0.
 *  - Where Baileys' JID form would not decode back to the same text (an
 *    agent "_N", a device that is 0, over 255 or not plain decimal, a
 *    second ':', a device on a server other than s.whatsapp.net, lid,
 *    hosted, hosted.lid, an empty server), the encoder does not follow
 *    it: "user:D@msgr" becomes FB_JID, "I-user:D@interop" INTEROP_JID,
 *    anything else a plain binary string.  So decode(encode(n)) keeps
 *    every string, which Baileys does not.
 *  - The decoder gives what Baileys gives: content in BINARY_8/20/32 is
 *    WA_CONTENT_BYTES, content in any other string form (token, packed,
 *    JID) is WA_CONTENT_STRING, LIST_EMPTY content is an empty list; JIDs
 *    render as Baileys renders them (AD_JID: "user[:device]@server" with
 *    server s.whatsapp.net, lid (1), hosted (128) or hosted.lid (129),
 *    device 0 left out; FB_JID "user:device@server"; INTEROP_JID
 *    "integrator-user:device@server", server "interop" when absent).
 *  - The decoder is stricter: strings with a NUL byte, nesting over the
 *    limits, more than WA_NODE_MAX_ATTRS attributes and bytes after the
 *    node are errors.  Duplicate attribute keys are kept in wire order and
 *    wa_node_attr returns the last, which is the one Baileys keeps.
 */
#ifndef SK_WA_NODE_H
#define SK_WA_NODE_H

#include "wa/wa.h"

#define WA_NODE_MAX_DEPTH   64
#define WA_NODE_MAX_ATTRS   256
#define WA_NODE_MAX_CHILDREN 65535
#define WA_NODE_MAX_INFLATE (8u << 20)  /* zlib output cap per frame */
/* JID forms nest strings (a JID_PAIR's server may itself be a JID); the
 * decoder refuses deeper nesting, the encoder writes a plain string
 * instead of going deeper. */
#define WA_NODE_MAX_STR_DEPTH 8

/* Wire tags, PROTOCOL.md §5.  Bytes 1..235 are single-byte tokens. */
enum {
	WA_TAG_LIST_EMPTY = 0,
	WA_TAG_DICT_0 = 236,    /* ..239: double-byte token, dictionary 0..3 */
	WA_TAG_INTEROP_JID = 245,
	WA_TAG_FB_JID = 246,
	WA_TAG_AD_JID = 247,
	WA_TAG_LIST_8 = 248,
	WA_TAG_LIST_16 = 249,
	WA_TAG_JID_PAIR = 250,
	WA_TAG_HEX_8 = 251,
	WA_TAG_BINARY_8 = 252,
	WA_TAG_BINARY_20 = 253,
	WA_TAG_BINARY_32 = 254,
	WA_TAG_NIBBLE_8 = 255,
};
#define WA_PACKED_MAX 127       /* characters in one NIBBLE_8 / HEX_8 */

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

/* limit caps the bytes handed out (alignment included); over it, allocation
 * fails and a decode returns WA_ETOOBIG.  Set one for untrusted input: a
 * decoded frame takes up to about 45 times its size (a long list of 3-byte
 * children, 64 bytes each, in an array rounded up to a power of two). */
void wa_arena_init(struct wa_arena *a, size_t limit);
/* Frees every block; the arena can be used again. */
void wa_arena_free(struct wa_arena *a);
/* Forgets everything allocated but keeps the largest block, so a loop that
 * decodes one stanza after another does no malloc in the steady state. */
void wa_arena_reset(struct wa_arena *a);
/* Zeroed, aligned for any type. */
void *wa_arena_alloc(struct wa_arena *a, size_t n);
char *wa_arena_strndup(struct wa_arena *a, const char *s, size_t n);
/* Room for n chars and a NUL, unaligned, not zeroed. */
char *wa_arena_alloc_str(struct wa_arena *a, size_t n);
/* n bytes copied, plus a NUL after them (not counted in n). */
uint8_t *wa_arena_memdup(struct wa_arena *a, const void *p, size_t n);

/* Decodes one decrypted transport frame: flag byte (0x02 = zlib-deflated,
 * output capped at WA_NODE_MAX_INFLATE; other bits are ignored, as Baileys
 * and whatsmeow do) then exactly one node.  Returns 0, or WA_ETRUNC,
 * WA_EMALFORM, WA_ETOOBIG, WA_EDEPTH, WA_ENOMEM.  On failure the arena may
 * hold partial results: free or reset it. */
int wa_node_decode_frame(const uint8_t *buf, size_t len, struct wa_arena *a,
    struct wa_node **out);
/* Decodes a bare node (no flag byte). */
int wa_node_decode(const uint8_t *buf, size_t len, struct wa_arena *a,
    struct wa_node **out);
/* Encodes flag byte 0x00 then the node, appended to out; on failure out is
 * left as it was.  Fails (WA_EMALFORM) on a NULL or empty tag, a NULL key,
 * bytes or string content with NULL data; WA_EDEPTH / WA_ETOOBIG over the
 * limits above, so whatever encodes also decodes.  Attributes whose value
 * is NULL are skipped, as Baileys skips undefined ones. */
int wa_node_encode_frame(const struct wa_node *n, struct wa_buf *out);
int wa_node_encode(const struct wa_node *n, struct wa_buf *out);

/* Builders (arena-backed; strings are copied).  They may extend only
 * nodes made by wa_node_new, wa_node_add_child or the decoder, whose
 * arrays leave room to grow.  NULL / negative on failure. */
struct wa_node *wa_node_new(struct wa_arena *a, const char *tag);
/* Replaces the value of the last attribute with that key, else appends. */
int wa_node_set_attr(struct wa_arena *a, struct wa_node *n, const char *key,
    const char *val);
/* The value of the last attribute with that key, or NULL. */
const char *wa_node_attr(const struct wa_node *n, const char *key);
/* Appends a child (content becomes LIST) and returns it.  The children are
 * one array that moves when it grows: the pointer stays valid only until
 * the next wa_node_add_child on the same parent, so fill a child before
 * adding its sibling. */
struct wa_node *wa_node_add_child(struct wa_arena *a, struct wa_node *n,
    const char *tag);
int wa_node_set_bytes(struct wa_arena *a, struct wa_node *n,
    const uint8_t *data, size_t len);
int wa_node_set_string(struct wa_arena *a, struct wa_node *n, const char *s);
/* The room the builders expect behind an array of count attributes or
 * children (the decoder allocates that much too). */
size_t wa_node_grow_cap(size_t count);
/* First child with the tag, or NULL. */
const struct wa_node *wa_node_child(const struct wa_node *n, const char *tag);
/* 1 when x and y say the same on the wire: tags, attributes in order,
 * children alike; string and bytes content compare by their bytes (a
 * string encoded plain is BINARY, which decodes as bytes, as in Baileys). */
int wa_node_same(const struct wa_node *x, const struct wa_node *y);

/* Debug text, for logs and tests; deterministic: attributes in their
 * order, <tag k="v"/> without content, <tag>…</tag> around children,
 * a string as "text", bytes as 0x followed by lowercase hex.  Quotes,
 * backslashes and bytes outside 0x20..0x7e are escaped (\" \\ \xNN); so
 * are spaces, '<', '>', '=' and '/' in tags and keys. */
int wa_node_to_text(const struct wa_node *n, struct wa_buf *out);

#endif
