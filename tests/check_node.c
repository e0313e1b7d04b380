/*
 * tests/check_node.c: the binary node codec (src/wa/node*.c).
 *  - frames from Baileys' encoder decode to the expected text and our
 *    encoder gives the same bytes back;
 *  - every tag kind of PROTOCOL.md §5, with byte vectors derived by hand
 *    from the spec (and, for the JID forms, from Baileys' rules);
 *  - hostile input: truncation, trailing bytes, bad tags, nesting, counts
 *    larger than the input, zlib bombs;
 *  - builders, the debug text, and a seeded random round trip.
 * The differential test against Baileys itself is tests/interop/codec.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>
#include "wa/node.h"
#include "wa/tokens.h"

/* --- helpers ------------------------------------------------------------ */

static struct wa_arena arena;

static void
setup(void)
{
	wa_arena_init(&arena, 0);
}

static void
teardown(void)
{
	wa_arena_free(&arena);
}

/* hex -> bytes, malloc'd; *n gets the length */
static uint8_t *
unhex(const char *hex, size_t *n)
{
	size_t len = strlen(hex) / 2;
	uint8_t *p = malloc(len + 1);

	ck_assert_ptr_nonnull(p);
	for (size_t i = 0; i < 2 * len; i++) {
		char c = hex[i];
		int v = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ?
		    c - 'a' + 10 : -1;
		ck_assert_int_ge(v, 0);
		p[i / 2] = (uint8_t)(i % 2 ? p[i / 2] << 4 | v : v);
	}
	*n = len;
	return p;
}

static char *
tohex(const uint8_t *p, size_t n)
{
	char *s = malloc(2 * n + 1);

	ck_assert_ptr_nonnull(s);
	for (size_t i = 0; i < n; i++)
		snprintf(s + 2 * i, 3, "%02x", p[i]);
	s[2 * n] = '\0';
	return s;
}

/* The node's debug text, in the arena. */
static const char *
text(const struct wa_node *n)
{
	struct wa_buf b = { 0 };
	char *s;

	ck_assert_int_eq(wa_node_to_text(n, &b), 0);
	s = wa_arena_strndup(&arena, (const char *)b.data, b.len);
	wa_buf_free(&b);
	return s;
}

/* Encodes a frame and returns its hex, in the arena. */
static const char *
enc_hex(const struct wa_node *n)
{
	struct wa_buf b = { 0 };
	char *h, *s;

	ck_assert_int_eq(wa_node_encode_frame(n, &b), 0);
	h = tohex(b.data, b.len);
	s = wa_arena_strndup(&arena, h, strlen(h));
	free(h);
	wa_buf_free(&b);
	return s;
}

/* Decodes a frame given in hex; returns the code, the node in *out. */
static int
dec_hex(const char *hex, struct wa_node **out)
{
	size_t n;
	uint8_t *p = unhex(hex, &n);
	int rc = wa_node_decode_frame(p, n, &arena, out);

	free(p);
	return rc;
}

/* Hex of a frame "00 f8 01" + the encoding of s as a tag: what a string
 * becomes, seen alone. */
static const char *
str_hex(const char *s)
{
	struct wa_node *n = wa_node_new(&arena, s);
	const char *h;

	ck_assert_ptr_nonnull(n);
	h = enc_hex(n);
	ck_assert_msg(strncmp(h, "00f801", 6) == 0, "%s: %s", s, h);
	return h + 6;
}

/* s written as the frame-less tag string encoding want; and back. */
static void
check_str(const char *s, const char *want)
{
	struct wa_node *n;
	char frame[600];

	ck_assert_str_eq(str_hex(s), want);
	snprintf(frame, sizeof(frame), "00f801%s", want);
	ck_assert_int_eq(dec_hex(frame, &n), 0);
	ck_assert_str_eq(n->tag, s);
}

/* A frame that must decode as a node whose tag is want. */
static void
check_dec_tag(const char *frame, const char *want)
{
	struct wa_node *n;

	ck_assert_int_eq(dec_hex(frame, &n), 0);
	ck_assert_str_eq(n->tag, want);
}

/* --- Baileys' bytes ----------------------------------------------------- */

/* Frames produced once by Baileys' encodeBinaryNode (npm
 * @whiskeysockets/baileys 7.0.0-rc14) from the nodes the text shows, hex
 * pasted here; the text is what our decoder must make of them, and our
 * encoder must give the same bytes back. */
static const struct {
	const char *hex, *text;
} baileys[] = {
	/* the keepalive of PROTOCOL.md §5 */
	{ "00f80a1908ff82123f110304291657f801f80156",
	  "<iq id=\"123\" to=\"s.whatsapp.net\" type=\"get\" xmlns=\"w:p\">"
	  "<ping/></iq>" },
	/* Baileys' own keepalive: a message tag id, to = "@s.whatsapp.net" */
	{ "00f80a1908ff8744931b22784a1f11fa000304291657f801f80156",
	  "<iq id=\"44931.22784-1\" to=\"@s.whatsapp.net\" type=\"get\" "
	  "xmlns=\"w:p\"><ping/></iq>" },
	{ "00f8051f89fc0a536b79204b65657065720488",
	  "<presence name=\"Sky Keeper\" type=\"available\"/>" },
	{ "00f80b0708fb093eb0c431a3d5f2e6b211f70007ff875511987654321f05f70103"
	  "ff88123456789012345f042a1aff051717171717",
	  "<receipt id=\"3EB0C431A3D5F2E6B2\" to=\"5511987654321:7@s.whatsapp.net\" "
	  "participant=\"123456789012345:3@lid\" type=\"read\" t=\"1717171717\"/>" },
	{ "00f8081308fb0a3eb0abcdef012345678911faff091203630252461254861c0438"
	  "f801f8061d51450432fc1000112233445566778899aabbccddeeff",
	  "<message id=\"3EB0ABCDEF0123456789\" to=\"120363025246125486@g.us\" "
	  "type=\"text\"><enc v=\"2\" type=\"skmsg\">"
	  "0x00112233445566778899aabbccddeeff</enc></message>" },
	{ "00f80d4c1aff0517171717175ccf4bee5f3dfc0366726376faff8812345678901234"
	  "5f763cff051600000000",
	  "<success t=\"1717171717\" props=\"12\" abprops=\"34\" location=\"frc\" "
	  "lid=\"123456789012345@lid\" creation=\"1600000000\"/>" },
	{ "00f805ee3cec2eff82405f3dfc03667263",
	  "<failure reason=\"405\" location=\"frc\"/>" },
	/* a plain string as content comes back as bytes, in Baileys too */
	{ "00f80a1908e3045a160b11fa0003f801f8020bfc0c68656c6c6f2c20776f726c64",
	  "<iq id=\"7\" type=\"set\" xmlns=\"status\" to=\"@s.whatsapp.net\">"
	  "<status>0x68656c6c6f2c20776f726c64</status></iq>" },
	{ "00f807fc0178fc0161f7800255fc0162f78104a2ee25fa0076",
	  "<x a=\"1:2@hosted\" b=\"3:4@hosted.lid\" c=\"@lid\"/>" },
};

START_TEST(baileys_frames_decode_and_encode_back)
{
	struct wa_node *n;

	ck_assert_int_eq(dec_hex(baileys[_i].hex, &n), 0);
	ck_assert_str_eq(text(n), baileys[_i].text);
	ck_assert_str_eq(enc_hex(n), baileys[_i].hex);
}
END_TEST

START_TEST(keepalive_built_matches_baileys)
{
	struct wa_node *iq = wa_node_new(&arena, "iq");

	ck_assert_int_eq(wa_node_set_attr(&arena, iq, "id", "44931.22784-1"), 0);
	ck_assert_int_eq(wa_node_set_attr(&arena, iq, "to", "@s.whatsapp.net"), 0);
	ck_assert_int_eq(wa_node_set_attr(&arena, iq, "type", "get"), 0);
	ck_assert_int_eq(wa_node_set_attr(&arena, iq, "xmlns", "w:p"), 0);
	ck_assert_ptr_nonnull(wa_node_add_child(&arena, iq, "ping"));
	ck_assert_str_eq(enc_hex(iq), baileys[1].hex);
}
END_TEST

/* --- each string form ------------------------------------------------- */

START_TEST(tokens)
{
	char want[8];

	check_str("iq", "19");
	check_str("s.whatsapp.net", "03");
	for (int k = 0; k < WA_TOKEN_DICTS; k++) {
		const int idx[] = { 0, 1, 128, 255 };
		for (int j = 0; j < 4; j++) {
			const char *t = wa_token_double[k][idx[j]];
			/* a string in both tables is written double-byte */
			snprintf(want, sizeof(want), "%02x%02x", 236 + k, idx[j]);
			if (wa_token_lookup(t, strlen(t)) == 256 + k * 256 + idx[j])
				check_str(t, want);
		}
	}
	check_dec_tag("00f801ec00", "read-self");
	check_dec_tag("00f801efff", wa_token_double[3][255]);
	/* every single-byte token decodes to its text */
	for (int t = 1; t < WA_TOKEN_SINGLE_COUNT; t++) {
		char frame[16];
		struct wa_node *n;
		snprintf(frame, sizeof(frame), "00f801%02x", t);
		if (wa_token_single[t][0] == '\0')
			continue;
		ck_assert_int_eq(dec_hex(frame, &n), 0);
		ck_assert_str_eq(n->tag, wa_token_single[t]);
	}
}
END_TEST

START_TEST(nibble_and_hex_packing)
{
	char s[200], want[400];

	check_str("123", "ff82123f");
	check_str("1234", "ff021234");
	check_str("-.-", "ff82abaf");
	check_str("ABC1", "fb02abc1");
	check_str("ABC", "fb82abcf");
	check_str("0A", "fb010a");
	/* lower-case hex is no HEX_8 for Baileys: a plain string */
	check_str("abc1", "fc0461626331");
	/* a mix of nibble-only and hex-only characters is neither */
	check_str("-A", "fc022d41");

	/* the limit: 127 characters pack, 128 do not */
	memset(s, '9', 127);
	s[127] = '\0';
	strcpy(want, "ffc0");
	for (int i = 0; i < 63; i++)
		strcat(want, "99");
	strcat(want, "9f");
	check_str(s, want);
	s[126] = '\0';
	strcpy(want, "ff3f");
	for (int i = 0; i < 63; i++)
		strcat(want, "99");
	check_str(s, want);
	memset(s, '9', 128);
	s[128] = '\0';
	strcpy(want, "fc80");
	for (int i = 0; i < 128; i++)
		strcat(want, "39");
	ck_assert_str_eq(str_hex(s), want);
	memset(s, 'F', 127);
	s[127] = '\0';
	ck_assert_str_eq(str_hex(s) + strlen(str_hex(s)) - 6, "ffffff");
	ck_assert(strncmp(str_hex(s), "fbc0", 4) == 0);
}
END_TEST

START_TEST(packed_decoding_edges)
{
	struct wa_node *n;

	/* zero bytes, odd flag set: the empty string, as in Baileys (here as
	 * an attribute value, since a tag may not be empty) */
	ck_assert_int_eq(dec_hex("00f8031908ff80", &n), 0);
	ck_assert_str_eq(n->attrs[0].val, "");
	/* 127 bytes, even: 254 characters, more than an encoder writes */
	{
		char frame[600] = "00f801ff7f";
		for (int i = 0; i < 127; i++)
			strcat(frame, "12");
		ck_assert_int_eq(dec_hex(frame, &n), 0);
		ck_assert_uint_eq(strlen(n->tag), 254);
	}
	/* nibbles 12..14 exist in no alphabet, the pad nibble included */
	ck_assert_int_eq(dec_hex("00f801ff01c1", &n), WA_EMALFORM);
	ck_assert_int_eq(dec_hex("00f801ff811e", &n), WA_EMALFORM);
	/* nibble 15 is NUL: fine as the pad of an odd length, refused inside */
	check_dec_tag("00f801ff811f", "1");
	ck_assert_int_eq(dec_hex("00f801ff01f1", &n), WA_EMALFORM);
	ck_assert_int_eq(dec_hex("00f801ff011f", &n), WA_EMALFORM);
	/* hex: any pad nibble */
	check_dec_tag("00f801fb81a3", "A");
	check_dec_tag("00f801fb01ff", "FF");
	/* truncated */
	ck_assert_int_eq(dec_hex("00f801ff0212", &n), WA_ETRUNC);
}
END_TEST

START_TEST(binary_lengths)
{
	struct wa_node *n = wa_node_new(&arena, "enc");
	static uint8_t big[(1u << 20) + 3];
	struct wa_buf b = { 0 };
	struct wa_node *back;
	const size_t sizes[] = { 0, 1, 255, 256, (1u << 20) - 1, 1u << 20,
	    (1u << 20) + 3 };
	const char *hdr[] = { "fc00", "fc01", "fcff", "fd000100", "fd0fffff",
	    "fe00100000", "fe00100003" };

	for (size_t i = 0; i < sizeof(big); i++)
		big[i] = (uint8_t)(i * 7);
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		char *h;
		b.len = 0;
		ck_assert_int_eq(wa_node_set_bytes(&arena, n, big, sizes[i]), 0);
		ck_assert_int_eq(wa_node_encode_frame(n, &b), 0);
		/* 00 f8 02 <enc token 1d> then the length header */
		h = tohex(b.data, b.len < 10 ? b.len : 10);
		ck_assert_msg(strncmp(h + 8, hdr[i], strlen(hdr[i])) == 0,
		    "size %zu: %s", sizes[i], h);
		free(h);
		ck_assert_int_eq(wa_node_decode_frame(b.data, b.len, &arena,
		    &back), 0);
		ck_assert_int_eq(back->kind, WA_CONTENT_BYTES);
		ck_assert_uint_eq(back->len, sizes[i]);
		ck_assert(sizes[i] == 0 || memcmp(back->data, big, sizes[i]) == 0);
	}
	wa_buf_free(&b);
	/* BINARY_20 keeps 20 bits: the high nibble of its first byte is
	 * ignored, as by Baileys */
	ck_assert_int_eq(dec_hex("00f8021dfdf0000201ff", &back), 0);
	ck_assert_uint_eq(back->len, 2);
	/* strings take the same forms */
	check_str("hello", "fc0568656c6c6f");
	{
		char s[301];
		memset(s, 'x', 300);
		s[300] = '\0';
		ck_assert(strncmp(str_hex(s), "fd00012c7878", 12) == 0);
	}
}
END_TEST

START_TEST(jid_forms)
{
	/* JID_PAIR: user (LIST_EMPTY when empty), then server */
	check_str("123@s.whatsapp.net", "faff82123f03");
	check_str("@s.whatsapp.net", "fa0003");
	check_str("abc@g.us", "fafc036162631c");
	check_str("a@b@g.us", "fafc0161fafc01621c");
	/* AD_JID: domain type, device, user */
	check_str("123:4@s.whatsapp.net", "f70004ff82123f");
	check_str("123:255@lid", "f701ffff82123f");
	check_str("123:1@hosted", "f78001ff82123f");
	check_str("123:2@hosted.lid", "f78102ff82123f");
	check_str(":5@lid", "f70105fc00");
	/* Baileys would write these as AD_JID and read back something else
	 * (agent lost, device 0 dropped, server replaced): written plain */
	check_str("123_1:2@s.whatsapp.net", "fc16" "3132335f313a324073"
	    "2e77686174736170702e6e6574");
	check_str("123:0@s.whatsapp.net", "fc14" "3132333a304073"
	    "2e77686174736170702e6e6574");
	check_str("123:07@lid", "fc0a3132333a3037406c6964");
	check_str("abc:2@g.us", "fc0a6162633a324067"
	    "2e7573");
	check_str("a:1:2@lid", "fc09613a313a32406c6964");
	check_str("a_b@lid", "fc07615f62406c6964");
	/* FB_JID: user, u16 device, server (msgr is token 204) */
	check_str("123:7@msgr", "f6ff82123f0007cc");
	check_str("123:0@msgr", "f6ff82123f0000cc");
	check_str("123:65535@msgr", "f6ff82123fffffcc");
	/* INTEROP_JID: user, u16 device, u16 integrator, server */
	check_str("5-123:7@interop", "f5ff82123f00070005fc07696e7465726f70");
	check_str("70000-1:7@interop", "fc11" "37303030302d313a3740696e7465726f70");
}
END_TEST

START_TEST(jid_decoding_as_baileys_renders)
{
	struct wa_node *n;

	/* AD_JID: any domain type but 1, 128, 129 is s.whatsapp.net; device 0
	 * is left out */
	check_dec_tag("00f801f70200ff82123f", "123@s.whatsapp.net");
	check_dec_tag("00f801f70100ff82123f", "123@lid");
	check_dec_tag("00f801f7ff09ff82123f", "123:9@s.whatsapp.net");
	/* FB_JID prints device 0 */
	check_dec_tag("00f801f6ff82123f0000fc0178", "123:0@x");
	/* INTEROP_JID at the very end, without server: "interop" */
	ck_assert_int_eq(dec_hex("00f80219f5ff82123f00070005", &n), 0);
	ck_assert_int_eq(n->kind, WA_CONTENT_STRING);
	ck_assert_str_eq((const char *)n->data, "5-123:7@interop");
	/* ... and with one */
	check_dec_tag("00f801f5fc01610001000203", "2-a:1@s.whatsapp.net");
	/* JID_PAIR: an empty server is an error, an empty user is not */
	ck_assert_int_eq(dec_hex("00f801fafc0161fc00", &n), WA_EMALFORM);
	ck_assert_int_eq(dec_hex("00f801fa0000", &n), WA_EMALFORM);
	check_dec_tag("00f801fafc0003", "@s.whatsapp.net");
	/* JID inside JID, up to WA_NODE_MAX_STR_DEPTH */
	{
		char frame[200] = "00f801", want[64] = "";
		/* MAX JID_PAIRs, each the server of the one before */
		for (int i = 0; i < WA_NODE_MAX_STR_DEPTH; i++) {
			strcat(frame, "fa00");
			strcat(want, "@");
		}
		strcat(frame, "03");
		strcat(want, "s.whatsapp.net");
		ck_assert_int_eq(dec_hex(frame, &n), 0);
		ck_assert_str_eq(n->tag, want);
		/* the encoder nests them the same way */
		ck_assert_str_eq(enc_hex(n), frame);
		/* one more is too deep */
		strcpy(frame, "00f801fa00");
		for (int i = 0; i < WA_NODE_MAX_STR_DEPTH; i++)
			strcat(frame, "fa00");
		strcat(frame, "03");
		ck_assert_int_eq(dec_hex(frame, &n), WA_EDEPTH);
		/* and the encoder writes the deeper string plain */
		n = wa_node_new(&arena, "@@@@@@@@@s.whatsapp.net");
		ck_assert(strncmp(enc_hex(n), "00f801fa00fa00fa00fa00fa00fa00fa00fa00fc0f"
		    "4073", 42) == 0);
	}
}
END_TEST

START_TEST(content_kinds)
{
	struct wa_node *n, *c;

	/* BINARY content is bytes; token / packed / JID content is a string;
	 * LIST_EMPTY content is an empty list; an odd size has none */
	ck_assert_int_eq(dec_hex("00f8021dfc03616263", &n), 0);
	ck_assert_int_eq(n->kind, WA_CONTENT_BYTES);
	ck_assert_int_eq(dec_hex("00f8021d56", &n), 0);
	ck_assert_int_eq(n->kind, WA_CONTENT_STRING);
	ck_assert_str_eq((const char *)n->data, "ping");
	ck_assert_uint_eq(n->len, 4);
	ck_assert_int_eq(dec_hex("00f8021dff82123f", &n), 0);
	ck_assert_int_eq(n->kind, WA_CONTENT_STRING);
	ck_assert_int_eq(dec_hex("00f8021dfa0003", &n), 0);
	ck_assert_str_eq((const char *)n->data, "@s.whatsapp.net");
	ck_assert_int_eq(dec_hex("00f8021d00", &n), 0);
	ck_assert_int_eq(n->kind, WA_CONTENT_LIST);
	ck_assert_uint_eq(n->nchildren, 0);
	ck_assert_int_eq(dec_hex("00f8011d", &n), 0);
	ck_assert_int_eq(n->kind, WA_CONTENT_NONE);

	/* and the encoder writes each back */
	n = wa_node_new(&arena, "enc");
	n->kind = WA_CONTENT_LIST;
	ck_assert_str_eq(enc_hex(n), "00f8021d00");
	ck_assert_int_eq(wa_node_set_string(&arena, n, "ping"), 0);
	ck_assert_str_eq(enc_hex(n), "00f8021d56");
	ck_assert_int_eq(wa_node_set_string(&arena, n, ""), 0);
	ck_assert_str_eq(enc_hex(n), "00f8021dfc00");
	/* a string with a NUL goes as bytes, never as a token or JID */
	ck_assert_int_eq(wa_node_set_bytes(&arena, n, (const uint8_t *)"a\0@lid",
	    6), 0);
	n->kind = WA_CONTENT_STRING;
	ck_assert_str_eq(enc_hex(n), "00f8021dfc066100406c6964");

	/* LIST_8 and LIST_16 */
	n = wa_node_new(&arena, "iq");
	for (int i = 0; i < 300; i++) {
		c = wa_node_add_child(&arena, n, "item");
		ck_assert_ptr_nonnull(c);
		ck_assert_int_eq(wa_node_set_attr(&arena, c, "id", i % 2 ? "1" :
		    "22"), 0);
	}
	{
		struct wa_buf b = { 0 };
		struct wa_node *back;
		ck_assert_int_eq(wa_node_encode(n, &b), 0);
		/* LIST_8 size 2, tag token, LIST_16 300 */
		ck_assert_uint_eq(b.data[0], 0xf8);
		ck_assert_uint_eq(b.data[1], 2);
		ck_assert_uint_eq(b.data[3], 0xf9);
		ck_assert_uint_eq(b.data[4], 0x01);
		ck_assert_uint_eq(b.data[5], 0x2c);
		ck_assert_int_eq(wa_node_decode(b.data, b.len, &arena, &back), 0);
		ck_assert_uint_eq(back->nchildren, 300);
		ck_assert_str_eq(wa_node_attr(&back->children[299], "id"), "1");
		ck_assert_str_eq(wa_node_attr(&back->children[298], "id"), "22");
		wa_buf_free(&b);
	}
	/* a node of 200 attributes has a LIST_16 size of its own */
	n = wa_node_new(&arena, "x");
	for (int i = 0; i < 200; i++) {
		char k[16];
		snprintf(k, sizeof(k), "k%d", i);
		ck_assert_int_eq(wa_node_set_attr(&arena, n, k, "v"), 0);
	}
	ck_assert(strncmp(enc_hex(n), "00f90191", 8) == 0);
	ck_assert_int_eq(dec_hex(enc_hex(n), &c), 0);
	ck_assert_uint_eq(c->nattrs, 200);
}
END_TEST

/* --- hostile input ------------------------------------------------------ */

START_TEST(every_truncation_fails)
{
	for (size_t v = 0; v < sizeof(baileys) / sizeof(baileys[0]); v++) {
		size_t n;
		uint8_t *p = unhex(baileys[v].hex, &n);
		for (size_t len = 0; len < n; len++) {
			/* a fresh copy of exactly len bytes, so ASan sees any
			 * read past the end */
			uint8_t *q = malloc(len ? len : 1);
			struct wa_node *out;
			int rc;
			memcpy(q, p, len);
			rc = wa_node_decode_frame(q, len, &arena, &out);
			ck_assert_msg(rc < 0, "vector %zu cut at %zu decoded", v, len);
			free(q);
		}
		free(p);
	}
}
END_TEST

START_TEST(trailing_bytes_fail)
{
	struct wa_node *n;
	char frame[200];

	snprintf(frame, sizeof(frame), "%s00", baileys[0].hex);
	ck_assert_int_eq(dec_hex(frame, &n), WA_EMALFORM);
	snprintf(frame, sizeof(frame), "%sf801f80156", baileys[0].hex);
	ck_assert_int_eq(dec_hex(frame, &n), WA_EMALFORM);
}
END_TEST

START_TEST(bad_tags_fail)
{
	struct wa_node *n;
	char frame[32];

	ck_assert_int_eq(dec_hex("", &n), WA_ETRUNC);
	ck_assert_int_eq(dec_hex("00", &n), WA_ETRUNC);
	/* a node must start with a list of size >= 1 */
	ck_assert_int_eq(dec_hex("0000", &n), WA_EMALFORM);
	ck_assert_int_eq(dec_hex("00f800", &n), WA_EMALFORM);
	ck_assert_int_eq(dec_hex("00fc0161", &n), WA_EMALFORM);
	ck_assert_int_eq(dec_hex("0019", &n), WA_EMALFORM);
	/* and have a non-empty tag */
	ck_assert_int_eq(dec_hex("00f801fc00", &n), WA_EMALFORM);
	ck_assert_int_eq(dec_hex("00f80100", &n), WA_EMALFORM);
	/* 240..244 are no string tags, nor are list tags */
	for (int t = 240; t <= 244; t++) {
		snprintf(frame, sizeof(frame), "00f801%02x", t);
		ck_assert_int_eq(dec_hex(frame, &n), WA_EMALFORM);
	}
	ck_assert_int_eq(dec_hex("00f801f801", &n), WA_EMALFORM);
	ck_assert_int_eq(dec_hex("00f8031908f9", &n), WA_EMALFORM);
	/* NUL in a string: refused (the API hands out C strings) */
	ck_assert_int_eq(dec_hex("00f801fc026100", &n), WA_EMALFORM);
	ck_assert_int_eq(dec_hex("00f8031908fc0100", &n), WA_EMALFORM);
	/* but bytes content may hold anything */
	ck_assert_int_eq(dec_hex("00f80219fc020000", &n), 0);
}
END_TEST

START_TEST(counts_beyond_the_input_fail_cheaply)
{
	struct wa_node *n;
	struct wa_arena small;
	uint8_t f[] = { 0, 0xf8, 2, 0x19, 0xf9, 0xff, 0xff };

	/* 65535 children announced, none there: no 4 MB array first */
	wa_arena_init(&small, 4096);
	ck_assert_int_eq(wa_node_decode_frame(f, sizeof(f), &small, &n),
	    WA_ETRUNC);
	wa_arena_free(&small);
	ck_assert_int_eq(dec_hex("00f8021dfeffffffff", &n), WA_ETRUNC);
	ck_assert_int_eq(dec_hex("00f8021dfd0fffff00", &n), WA_ETRUNC);
	ck_assert_int_eq(dec_hex("00f801fcff61", &n), WA_ETRUNC);
	/* 32767 attributes announced */
	ck_assert_int_eq(dec_hex("00f9ffff19", &n), WA_ETOOBIG);
	/* 255 announced, a few there */
	ck_assert_int_eq(dec_hex("00f8ff19080808", &n), WA_ETRUNC);
}
END_TEST

START_TEST(attribute_limit)
{
	struct wa_node *n = wa_node_new(&arena, "x"), *back;
	struct wa_buf b = { 0 };
	char k[16];
	int i;

	for (i = 0; i < WA_NODE_MAX_ATTRS; i++) {
		snprintf(k, sizeof(k), "%d", 1000 + i);
		ck_assert_int_eq(wa_node_set_attr(&arena, n, k, "v"), 0);
	}
	ck_assert_int_eq(wa_node_set_attr(&arena, n, "one-more", "v"),
	    WA_ETOOBIG);
	ck_assert_int_eq(wa_node_encode(n, &b), 0);
	ck_assert_int_eq(wa_node_decode(b.data, b.len, &arena, &back), 0);
	ck_assert_uint_eq(back->nattrs, WA_NODE_MAX_ATTRS);
	/* one more on the wire: 257 pairs */
	b.data[1] = (uint8_t)((2 * 257 + 1) >> 8);
	b.data[2] = (uint8_t)(2 * 257 + 1);
	ck_assert_int_eq(wa_node_decode(b.data, b.len, &arena, &back),
	    WA_ETOOBIG);
	/* and the encoder refuses what the decoder would */
	n->attrs = wa_arena_alloc(&arena, 300 * sizeof(*n->attrs));
	for (i = 0; i < 257; i++)
		n->attrs[i] = (struct wa_attr){ "k", "v" };
	n->nattrs = 257;
	b.len = 0;
	ck_assert_int_eq(wa_node_encode(n, &b), WA_ETOOBIG);
	ck_assert_uint_eq(b.len, 0);
	wa_buf_free(&b);
}
END_TEST

/* Hex of a chain of depth nodes, each the only child of the one above. */
static char *
chain_hex(int depth)
{
	char *s = malloc(10 * (size_t)depth + 16), *p = s;

	p += sprintf(p, "00");
	for (int i = 1; i < depth; i++)
		p += sprintf(p, "f80219f801");
	sprintf(p, "f80119");
	return s;
}

START_TEST(nesting_limit)
{
	struct wa_node *n, *p;
	struct wa_buf b = { 0 };
	char *h = chain_hex(WA_NODE_MAX_DEPTH);

	ck_assert_int_eq(dec_hex(h, &n), 0);
	ck_assert_str_eq(enc_hex(n), h);
	free(h);
	h = chain_hex(WA_NODE_MAX_DEPTH + 1);
	ck_assert_int_eq(dec_hex(h, &n), WA_EDEPTH);
	free(h);
	/* a deep attack stops at the limit, far from the stack's end */
	h = chain_hex(100000);
	ck_assert_int_eq(dec_hex(h, &n), WA_EDEPTH);
	free(h);

	/* the encoder refuses a node one level too deep */
	n = p = wa_node_new(&arena, "iq");
	for (int i = 1; i < WA_NODE_MAX_DEPTH; i++)
		p = wa_node_add_child(&arena, p, "iq");
	ck_assert_int_eq(wa_node_encode_frame(n, &b), 0);
	wa_node_add_child(&arena, p, "iq");
	b.len = 0;
	ck_assert_int_eq(wa_node_encode_frame(n, &b), WA_EDEPTH);
	ck_assert_uint_eq(b.len, 0);
	ck_assert_int_eq(wa_node_to_text(n, &b), WA_EDEPTH);
	wa_buf_free(&b);
}
END_TEST

START_TEST(arena_limit)
{
	struct wa_arena small;
	struct wa_node *n;
	size_t len;
	uint8_t *p = unhex(baileys[4].hex, &len);

	wa_arena_init(&small, 64);
	ck_assert_int_eq(wa_node_decode_frame(p, len, &small, &n), WA_ETOOBIG);
	wa_arena_free(&small);
	wa_arena_init(&small, 1 << 16);
	ck_assert_int_eq(wa_node_decode_frame(p, len, &small, &n), 0);
	ck_assert_uint_le(small.used_total, 1 << 16);
	/* reset keeps working memory for the next stanza */
	wa_arena_reset(&small);
	ck_assert_uint_eq(small.used_total, 0);
	ck_assert_int_eq(wa_node_decode_frame(p, len, &small, &n), 0);
	ck_assert_str_eq(text(n), baileys[4].text);
	wa_arena_free(&small);
	free(p);
}
END_TEST

/* --- zlib frames -------------------------------------------------------- */

/* flag byte + zlib(body) */
static uint8_t *
deflated(uint8_t flag, const uint8_t *body, size_t n, size_t *outn)
{
	uLongf cap = compressBound(n);
	uint8_t *p = malloc(cap + 1);

	ck_assert_ptr_nonnull(p);
	p[0] = flag;
	ck_assert_int_eq(compress2(p + 1, &cap, body, n, 6), Z_OK);
	*outn = cap + 1;
	return p;
}

START_TEST(zlib_frames)
{
	struct wa_node *n;
	size_t len, zn;
	uint8_t *plain = unhex(baileys[4].hex, &len), *z;

	z = deflated(0x02, plain + 1, len - 1, &zn);
	ck_assert_int_eq(wa_node_decode_frame(z, zn, &arena, &n), 0);
	ck_assert_str_eq(text(n), baileys[4].text);
	/* other flag bits mean nothing */
	z[0] = 0x06;
	ck_assert_int_eq(wa_node_decode_frame(z, zn, &arena, &n), 0);
	/* bit 0x02 clear: not inflated, so zlib bytes are no node */
	z[0] = 0x00;
	ck_assert_int_lt(wa_node_decode_frame(z, zn, &arena, &n), 0);
	z[0] = 0x02;
	/* truncated stream */
	for (size_t cut = 1; cut < zn; cut++)
		ck_assert_int_lt(wa_node_decode_frame(z, cut, &arena, &n), 0);
	ck_assert_int_eq(wa_node_decode_frame(z, zn - 1, &arena, &n), WA_ETRUNC);
	/* corrupted: the Adler-32 check fails */
	z[zn - 1] ^= 0x55;
	ck_assert_int_eq(wa_node_decode_frame(z, zn, &arena, &n), WA_EMALFORM);
	z[zn - 1] ^= 0x55;
	/* not zlib at all */
	ck_assert_int_eq(dec_hex("02f80119", &n), WA_EMALFORM);
	/* bytes after the stream */
	{
		uint8_t *t = malloc(zn + 1);
		memcpy(t, z, zn);
		t[zn] = 0;
		ck_assert_int_eq(wa_node_decode_frame(t, zn + 1, &arena, &n),
		    WA_EMALFORM);
		free(t);
	}
	/* a stream that inflates to a node with trailing bytes */
	free(z);
	{
		uint8_t body[] = { 0xf8, 0x01, 0x19, 0x00 };
		z = deflated(0x02, body, sizeof(body), &zn);
		ck_assert_int_eq(wa_node_decode_frame(z, zn, &arena, &n),
		    WA_EMALFORM);
	}
	free(z);
	free(plain);
}
END_TEST

/* A node of exactly `total` bytes: f8 02 19 fe <u32 len> <len bytes>. */
static uint8_t *
node_of_size(size_t total)
{
	uint8_t *p = calloc(1, total);
	size_t len = total - 8;

	p[0] = 0xf8;
	p[1] = 2;
	p[2] = 0x19;
	p[3] = 0xfe;
	p[4] = (uint8_t)(len >> 24);
	p[5] = (uint8_t)(len >> 16);
	p[6] = (uint8_t)(len >> 8);
	p[7] = (uint8_t)len;
	return p;
}

START_TEST(zlib_output_limit)
{
	struct wa_node *n;
	size_t zn;
	uint8_t *body, *z;

	/* exactly the cap: fine */
	body = node_of_size(WA_NODE_MAX_INFLATE);
	z = deflated(0x02, body, WA_NODE_MAX_INFLATE, &zn);
	ck_assert_uint_lt(zn, 20000);
	ck_assert_int_eq(wa_node_decode_frame(z, zn, &arena, &n), 0);
	ck_assert_uint_eq(n->len, WA_NODE_MAX_INFLATE - 8);
	free(z);
	free(body);
	/* one byte over: a bomb */
	body = node_of_size(WA_NODE_MAX_INFLATE + 1);
	z = deflated(0x02, body, WA_NODE_MAX_INFLATE + 1, &zn);
	ck_assert_int_eq(wa_node_decode_frame(z, zn, &arena, &n), WA_ETOOBIG);
	free(z);
	free(body);
	/* far over */
	body = node_of_size(16u << 20);
	z = deflated(0x02, body, 16u << 20, &zn);
	ck_assert_int_eq(wa_node_decode_frame(z, zn, &arena, &n), WA_ETOOBIG);
	free(z);
	free(body);
}
END_TEST

/* --- builders, accessors, text ------------------------------------------ */

START_TEST(builders_and_accessors)
{
	struct wa_node *n = wa_node_new(&arena, "iq"), *c;
	char tag[16];

	ck_assert_ptr_null(wa_node_new(&arena, NULL));
	ck_assert_int_eq(wa_node_set_attr(&arena, n, "type", "get"), 0);
	ck_assert_int_eq(wa_node_set_attr(&arena, n, "id", "1"), 0);
	ck_assert_int_eq(wa_node_set_attr(&arena, n, "type", "set"), 0);
	ck_assert_uint_eq(n->nattrs, 2);
	ck_assert_str_eq(wa_node_attr(n, "type"), "set");
	ck_assert_ptr_null(wa_node_attr(n, "to"));
	ck_assert_int_eq(wa_node_set_attr(&arena, n, NULL, "x"), WA_EMALFORM);
	ck_assert_int_eq(wa_node_set_attr(&arena, n, "x", NULL), WA_EMALFORM);
	/* children survive the array's moves */
	for (int i = 0; i < 40; i++) {
		snprintf(tag, sizeof(tag), "c%d", i);
		c = wa_node_add_child(&arena, n, tag);
		ck_assert_ptr_nonnull(c);
		ck_assert_int_eq(wa_node_set_attr(&arena, c, "i", tag), 0);
	}
	ck_assert_uint_eq(n->nchildren, 40);
	for (int i = 0; i < 40; i++) {
		snprintf(tag, sizeof(tag), "c%d", i);
		ck_assert_str_eq(wa_node_attr(wa_node_child(n, tag), "i"), tag);
	}
	ck_assert_ptr_null(wa_node_child(n, "nope"));
	/* content replaces content */
	ck_assert_int_eq(wa_node_set_bytes(&arena, n, (const uint8_t *)"\1\2", 2), 0);
	ck_assert_int_eq(n->kind, WA_CONTENT_BYTES);
	ck_assert_uint_eq(n->nchildren, 0);
	ck_assert_ptr_null(wa_node_child(n, "c1"));
	ck_assert_int_eq(wa_node_set_bytes(&arena, n, NULL, 1), WA_EMALFORM);
	ck_assert_ptr_nonnull(wa_node_add_child(&arena, n, "again"));
	ck_assert_int_eq(n->kind, WA_CONTENT_LIST);
	ck_assert_uint_eq(n->nchildren, 1);
	/* decoded nodes grow too, and the last duplicate key wins */
	ck_assert_int_eq(dec_hex("00f80519" "08fc0161" "08fc0162", &c), 0);
	ck_assert_uint_eq(c->nattrs, 2);
	ck_assert_str_eq(wa_node_attr(c, "id"), "b");
	for (int i = 0; i < 10; i++) {
		snprintf(tag, sizeof(tag), "k%d", i);
		ck_assert_int_eq(wa_node_set_attr(&arena, c, tag, "v"), 0);
		ck_assert_ptr_nonnull(wa_node_add_child(&arena, c, tag));
	}
	ck_assert_str_eq(c->attrs[0].val, "a");
	ck_assert_str_eq(wa_node_attr(c, "k9"), "v");
	ck_assert_ptr_nonnull(wa_node_child(c, "k0"));
}
END_TEST

START_TEST(encoder_refuses_bad_nodes)
{
	struct wa_buf b = { 0 };
	struct wa_node n = { 0 };
	struct wa_attr at[2] = { { "a", NULL }, { "b", "x" } };

	ck_assert_int_eq(wa_buf_put(&b, "keep", 4), 0);
	ck_assert_int_eq(wa_node_encode_frame(&n, &b), WA_EMALFORM);
	n.tag = "";
	ck_assert_int_eq(wa_node_encode_frame(&n, &b), WA_EMALFORM);
	n.tag = "x";
	n.kind = WA_CONTENT_BYTES;
	n.len = 3;
	ck_assert_int_eq(wa_node_encode_frame(&n, &b), WA_EMALFORM);
	n.kind = 42;
	ck_assert_int_eq(wa_node_encode_frame(&n, &b), WA_EMALFORM);
	ck_assert_uint_eq(b.len, 4);
	/* NULL values are skipped, as Baileys skips undefined ones */
	n.kind = WA_CONTENT_NONE;
	n.attrs = at;
	n.nattrs = 2;
	ck_assert_int_eq(wa_node_encode_frame(&n, &b), 0);
	/* flag, LIST_8 3, then "x", "b", "x" as BINARY_8 */
	ck_assert_uint_eq(b.len, 4 + 1 + 2 + 3 + 3 + 3);
	at[0].key = NULL;
	ck_assert_int_eq(wa_node_encode_frame(&n, &b), WA_EMALFORM);
	wa_buf_free(&b);
}
END_TEST

START_TEST(debug_text)
{
	struct wa_node *n = wa_node_new(&arena, "a b"), *c;

	wa_node_set_attr(&arena, n, "k=", "q\"\\\n\x7f\xc3\xa9");
	c = wa_node_add_child(&arena, n, "s");
	wa_node_set_string(&arena, c, "x<y>");
	c = wa_node_add_child(&arena, n, "b");
	wa_node_set_bytes(&arena, c, (const uint8_t *)"\x00\xff", 2);
	c = wa_node_add_child(&arena, n, "e");
	c->kind = WA_CONTENT_LIST;
	wa_node_add_child(&arena, n, "none");
	ck_assert_str_eq(text(n), "<a\\x20b k\\x3d=\"q\\\"\\\\\\x0a\\x7f\\xc3\\xa9\">"
	    "<s>\"x<y>\"</s><b>0x00ff</b><e></e><none/></a\\x20b>");
}
END_TEST

/* --- random round trip ---------------------------------------------------- */

static uint64_t seed;

static unsigned
rnd(unsigned n)
{
	seed = seed * 6364136223846793005ull + 1442695040888963407ull;
	return (unsigned)((seed >> 33) % n);
}

static const char *
rnd_string(char *buf)
{
	static const char *const fixed[] = { "", "iq", "ping", "s.whatsapp.net",
	    "123@s.whatsapp.net", "123:7@s.whatsapp.net", "9:3@lid",
	    "1:200@hosted", "5:5@hosted.lid", "abc@g.us", "x_1:2@lid",
	    "7:0@msgr", "44-abc:9@interop", "a@b@c", "@c.us", "3EB0A1",
	    "12.5-3", "héllo wörld" };
	static const char *const alpha[] = { "0123456789", "0123456789-.",
	    "0123456789ABCDEF", "abcxyz:_@-.", "\x01\x7f\xc3\xa9 \"" };
	const char *a;
	size_t n;

	if (rnd(3) == 0)
		return fixed[rnd(sizeof(fixed) / sizeof(fixed[0]))];
	if (rnd(4) == 0)
		return rnd(2) ? wa_token_single[1 + rnd(235)] :
		    wa_token_double[rnd(4)][rnd(256)];
	a = alpha[rnd(sizeof(alpha) / sizeof(alpha[0]))];
	n = 1 + rnd(rnd(10) ? 20 : 300);
	for (size_t i = 0; i < n; i++)
		buf[i] = a[rnd((unsigned)strlen(a))];
	buf[n] = '\0';
	return buf;
}

static void
rnd_node(struct wa_node *n, int depth)
{
	char buf[400];
	unsigned k = rnd(10);

	for (unsigned i = rnd(5); i > 0; i--) {
		const char *key = rnd_string(buf);
		char kc[400];
		strcpy(kc, key);
		wa_node_set_attr(&arena, n, kc, rnd_string(buf));
	}
	if (k < 3 && depth < 6) {
		for (unsigned i = rnd(4); i > 0; i--) {
			const char *t;
			do
				t = rnd_string(buf);
			while (t[0] == '\0');
			rnd_node(wa_node_add_child(&arena, n, t), depth + 1);
		}
		n->kind = WA_CONTENT_LIST;
	} else if (k < 5) {
		uint8_t b[600];
		size_t len = rnd(rnd(5) ? 40 : 600);
		for (size_t i = 0; i < len; i++)
			b[i] = (uint8_t)rnd(256);
		wa_node_set_bytes(&arena, n, b, len);
	} else if (k < 7) {
		wa_node_set_string(&arena, n, rnd_string(buf));
	}
}

/* The comparator the round trips rely on tells every difference. */
START_TEST(same_tells_differences)
{
	struct wa_arena a;
	struct wa_node *x, *y, *c;

	wa_arena_init(&a, 0);
	x = wa_node_new(&a, "iq");
	y = wa_node_new(&a, "iq");
	ck_assert_int_eq(wa_node_set_attr(&a, x, "id", "1"), 0);
	ck_assert_int_eq(wa_node_set_attr(&a, y, "id", "1"), 0);
	ck_assert_int_eq(wa_node_set_string(&a, wa_node_add_child(&a, x, "a"),
	    "ab"), 0);
	c = wa_node_add_child(&a, y, "a");
	ck_assert_int_eq(wa_node_set_bytes(&a, c, (const uint8_t *)"ab", 2), 0);
	ck_assert(wa_node_same(x, y));          /* string and bytes alike */
	c->data = (const uint8_t *)"ac";
	ck_assert(!wa_node_same(x, y));         /* content differs */
	c->data = (const uint8_t *)"ab";
	ck_assert_int_eq(wa_node_set_attr(&a, y, "id", "2"), 0);
	ck_assert(!wa_node_same(x, y));         /* attribute value */
	ck_assert_int_eq(wa_node_set_attr(&a, y, "id", "1"), 0);
	ck_assert_int_eq(wa_node_set_attr(&a, y, "to", "s"), 0);
	ck_assert(!wa_node_same(x, y));         /* attribute count */
	y->nattrs = 1;
	ck_assert(wa_node_same(x, y));
	(void)wa_node_add_child(&a, y, "b");
	ck_assert(!wa_node_same(x, y));         /* children count */
	y->nchildren = 1;
	y->children[0].tag = "z";
	ck_assert(!wa_node_same(x, y));         /* child tag */
	wa_arena_free(&a);
}
END_TEST

START_TEST(random_round_trip)
{
	struct wa_buf b1 = { 0 }, b2 = { 0 };

	seed = 20240601;
	for (int i = 0; i < 3000; i++) {
		struct wa_node *n, *back, *again;
		char tag[400], buf[400];
		do
			strcpy(tag, rnd_string(buf));
		while (tag[0] == '\0');
		n = wa_node_new(&arena, tag);
		rnd_node(n, 1);
		b1.len = b2.len = 0;
		ck_assert_int_eq(wa_node_encode_frame(n, &b1), 0);
		ck_assert_int_eq(wa_node_decode_frame(b1.data, b1.len, &arena,
		    &back), 0);
		ck_assert_msg(wa_node_same(n, back), "node %d: %s\n  != %s", i, text(n),
		    text(back));
		/* and the decoded node encodes to the same bytes */
		ck_assert_int_eq(wa_node_encode_frame(back, &b2), 0);
		ck_assert_uint_eq(b1.len, b2.len);
		ck_assert(memcmp(b1.data, b2.data, b1.len) == 0);
		ck_assert_int_eq(wa_node_decode_frame(b2.data, b2.len, &arena,
		    &again), 0);
		ck_assert_str_eq(text(again), text(back));
		if (i % 100 == 99)
			wa_arena_reset(&arena);
	}
	wa_buf_free(&b1);
	wa_buf_free(&b2);
}
END_TEST

static Suite *
node_suite(void)
{
	Suite *s = suite_create("node");
	TCase *tc = tcase_create("baileys");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_loop_test(tc, baileys_frames_decode_and_encode_back, 0,
	    (int)(sizeof(baileys) / sizeof(baileys[0])));
	tcase_add_test(tc, keepalive_built_matches_baileys);
	suite_add_tcase(s, tc);

	tc = tcase_create("forms");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, tokens);
	tcase_add_test(tc, nibble_and_hex_packing);
	tcase_add_test(tc, packed_decoding_edges);
	tcase_add_test(tc, binary_lengths);
	tcase_add_test(tc, jid_forms);
	tcase_add_test(tc, jid_decoding_as_baileys_renders);
	tcase_add_test(tc, content_kinds);
	suite_add_tcase(s, tc);

	tc = tcase_create("hostile");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, every_truncation_fails);
	tcase_add_test(tc, trailing_bytes_fail);
	tcase_add_test(tc, bad_tags_fail);
	tcase_add_test(tc, counts_beyond_the_input_fail_cheaply);
	tcase_add_test(tc, attribute_limit);
	tcase_add_test(tc, nesting_limit);
	tcase_add_test(tc, arena_limit);
	tcase_add_test(tc, zlib_frames);
	tcase_add_test(tc, zlib_output_limit);
	suite_add_tcase(s, tc);

	tc = tcase_create("api");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, builders_and_accessors);
	tcase_add_test(tc, encoder_refuses_bad_nodes);
	tcase_add_test(tc, debug_text);
	tcase_add_test(tc, same_tells_differences);
	tcase_add_test(tc, random_round_trip);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(node_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
