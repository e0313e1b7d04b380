/*
 * tests/check_noise.c: the Noise layer (src/wa/noise.c).
 *  - every public vector in tests/vectors/noise-xx-25519-aesgcm-sha256.json
 *    in standard mode: each handshake message written by its sender and
 *    read by its receiver, the handshake hash, the transport messages with
 *    the split ciphers both ways;
 *  - WhatsApp mode: a full handshake, and proof that it differs from
 *    standard Noise in the one MixHash of message 1 and nowhere else;
 *  - counters, nonce layout, tag failures, state errors, X25519 and HKDF
 *    against their RFCs.
 * Run from the repository root.  The JSON reader below understands just
 * enough JSON for the vector file (objects, arrays, strings, literals).
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include "util.h"
#include "wa/noise.h"

#define VECTORS "tests/vectors/noise-xx-25519-aesgcm-sha256.json"

static const uint8_t wa_prologue[4] = { 'W', 'A', 6, 3 };

/* --- a minimal JSON reader ------------------------------------------------ */

enum jtype { J_STR, J_ARR, J_OBJ, J_LIT };

struct jv {
	enum jtype type;
	char *s;              /* J_STR, J_LIT */
	char **keys;          /* J_OBJ */
	struct jv **vals;     /* J_ARR, J_OBJ */
	size_t n;
};

static void
j_free(struct jv *v)
{
	if (v == NULL)
		return;
	for (size_t i = 0; i < v->n; i++) {
		if (v->keys != NULL)
			free(v->keys[i]);
		j_free(v->vals[i]);
	}
	free(v->keys);
	free(v->vals);
	free(v->s);
	free(v);
}

static void
j_ws(const char **p)
{
	while (**p == ' ' || **p == '\n' || **p == '\r' || **p == '\t')
		(*p)++;
}

/* *p at the opening quote; no \u escapes (the vectors are hex). */
static char *
j_string(const char **p)
{
	const char *q = *p + 1;
	size_t n = 0, cap = 32;
	char *s = malloc(cap), *t;

	while (s != NULL && *q != '"') {
		char c = *q++;
		if (c == '\0')
			goto bad;
		if (c == '\\') {
			switch (*q++) {
			case '"': c = '"'; break;
			case '\\': c = '\\'; break;
			case '/': c = '/'; break;
			case 'n': c = '\n'; break;
			case 't': c = '\t'; break;
			default: goto bad;
			}
		}
		if (n + 1 >= cap) {
			if ((t = realloc(s, cap *= 2)) == NULL)
				goto bad;
			s = t;
		}
		s[n++] = c;
	}
	if (s == NULL)
		return NULL;
	s[n] = '\0';
	*p = q + 1;
	return s;
bad:
	free(s);
	return NULL;
}

static int
j_append(struct jv *v, char *key, struct jv *item)
{
	struct jv **vals = realloc(v->vals, (v->n + 1) * sizeof(*vals));
	char **keys;

	if (vals == NULL)
		return -1;
	v->vals = vals;
	if (v->type == J_OBJ) {
		if ((keys = realloc(v->keys, (v->n + 1) * sizeof(*keys))) == NULL)
			return -1;
		v->keys = keys;
		v->keys[v->n] = key;
	}
	v->vals[v->n++] = item;
	return 0;
}

static struct jv *
j_value(const char **p, int depth)
{
	struct jv *v;
	char close;

	j_ws(p);
	if (depth > 16 || (v = calloc(1, sizeof(*v))) == NULL)
		return NULL;
	if (**p == '"') {
		v->type = J_STR;
		if ((v->s = j_string(p)) == NULL)
			goto bad;
		return v;
	}
	if (**p != '{' && **p != '[') {
		const char *q = *p;
		while ((*q >= 'a' && *q <= 'z') || (*q >= '0' && *q <= '9') ||
		    *q == '-' || *q == '+' || *q == '.' || *q == 'E')
			q++;
		if (q == *p || (v->s = strndup(*p, (size_t)(q - *p))) == NULL)
			goto bad;
		v->type = J_LIT;
		*p = q;
		return v;
	}
	v->type = **p == '{' ? J_OBJ : J_ARR;
	close = **p == '{' ? '}' : ']';
	(*p)++;
	j_ws(p);
	if (**p == close) {
		(*p)++;
		return v;
	}
	for (;;) {
		char *key = NULL;
		struct jv *item;

		if (v->type == J_OBJ) {
			j_ws(p);
			if (**p != '"' || (key = j_string(p)) == NULL)
				goto bad;
			j_ws(p);
			if (*(*p)++ != ':') {
				free(key);
				goto bad;
			}
		}
		if ((item = j_value(p, depth + 1)) == NULL ||
		    j_append(v, key, item) < 0) {
			free(key);
			j_free(item);
			goto bad;
		}
		j_ws(p);
		if (**p == ',') {
			(*p)++;
			continue;
		}
		if (*(*p)++ == close)
			return v;
		goto bad;
	}
bad:
	j_free(v);
	return NULL;
}

static const struct jv *
j_get(const struct jv *o, const char *key)
{
	if (o == NULL || o->type != J_OBJ)
		return NULL;
	for (size_t i = 0; i < o->n; i++)
		if (strcmp(o->keys[i], key) == 0)
			return o->vals[i];
	return NULL;
}

static const char *
j_str(const struct jv *o, const char *key)
{
	const struct jv *v = j_get(o, key);
	return v != NULL && v->type == J_STR ? v->s : NULL;
}

/* --- helpers -------------------------------------------------------------- */

static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Hex into out (cap bytes); returns the length, aborts the test on junk. */
static size_t
unhex(const char *hex, uint8_t *out, size_t cap)
{
	size_t n = strlen(hex);

	ck_assert_msg(n % 2 == 0 && n / 2 <= cap, "bad hex length %zu", n);
	for (size_t i = 0; i < n / 2; i++) {
		int hi = hexval(hex[2 * i]), lo = hexval(hex[2 * i + 1]);
		ck_assert_msg(hi >= 0 && lo >= 0, "bad hex digit in %s", hex);
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	return n / 2;
}

static size_t
field_hex(const struct jv *o, const char *key, uint8_t *out, size_t cap)
{
	const char *s = j_str(o, key);

	ck_assert_msg(s != NULL, "vector lacks %s", key);
	return unhex(s, out, cap);
}

/* SHA-256 of a || b, computed here without the code under test. */
static void
sha256_cat(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen,
    uint8_t out[32])
{
	uint8_t buf[512];
	unsigned int olen = 0;

	ck_assert(alen + blen <= sizeof(buf));
	if (alen > 0)
		memcpy(buf, a, alen);
	if (blen > 0)
		memcpy(buf + alen, b, blen);
	ck_assert(EVP_Digest(buf, alen + blen, out, &olen, EVP_sha256(),
	    NULL) == 1);
	ck_assert_uint_eq(olen, 32);
}

static void
keys_from(struct wa_noise *n, const char *s_hex, const char *e_hex)
{
	uint8_t priv[32];
	struct wa_keypair e;

	if (s_hex != NULL) {
		unhex(s_hex, priv, 32);
		ck_assert_int_eq(wa_keypair_from_private(&n->s, priv), 0);
	}
	if (e_hex != NULL) {
		unhex(e_hex, priv, 32);
		ck_assert_int_eq(wa_keypair_from_private(&e, priv), 0);
		wa_noise_set_ephemeral(n, &e);
	}
}

/* --- the public vectors --------------------------------------------------- */

static char *vector_text;
static struct jv *vector_doc;
static const struct jv *vectors;   /* the "vectors" array */
static int nvectors;

static void
load_vectors(void)
{
	const char *p;

	if ((vector_text = test_slurp(VECTORS)) == NULL)
		return;
	p = vector_text;
	vector_doc = j_value(&p, 0);
	vectors = j_get(vector_doc, "vectors");
	if (vectors != NULL && vectors->type == J_ARR)
		nvectors = (int)vectors->n;
	else
		vectors = NULL;
}

START_TEST(vectors_load)
{
	int old_style = 0, noise_c_style = 0;

	ck_assert_msg(vector_text != NULL, "cannot read %s", VECTORS);
	ck_assert_msg(vectors != NULL, "%s: no \"vectors\" array", VECTORS);
	ck_assert_int_ge(nvectors, 4);
	for (int i = 0; i < nvectors; i++) {
		old_style += j_get(vectors->vals[i], "protocol_name") != NULL;
		noise_c_style += j_get(vectors->vals[i], "name") != NULL;
	}
	/* both key styles exist in the file and each vector has one */
	ck_assert_int_gt(old_style, 0);
	ck_assert_int_gt(noise_c_style, 0);
	ck_assert_int_eq(old_style + noise_c_style, nvectors);
}
END_TEST

static void
check_field(const struct jv *v, const char *key, const char *want)
{
	const char *got = j_str(v, key);
	if (got != NULL)
		ck_assert_str_eq(got, want);
}

/* The transport ciphers own EVP contexts: each test frees its own. */
static void
wipe4(struct wa_cipher *a, struct wa_cipher *b, struct wa_cipher *c,
    struct wa_cipher *d)
{
	wa_cipher_wipe(a);
	wa_cipher_wipe(b);
	wa_cipher_wipe(c);
	wa_cipher_wipe(d);
}

START_TEST(vector_standard)
{
	const struct jv *v = vectors->vals[_i], *msgs, *psks;
	const char *name = j_str(v, "protocol_name");
	struct wa_noise ini, res;
	struct wa_cipher ic1, ic2, rc1, rc2;
	uint8_t pro[256], payload[1024], ct[1024], want_hh[32], plain[1024];
	size_t prolen, plen, ctlen;

	if (name == NULL)
		name = j_str(v, "name");
	ck_assert_msg(name != NULL, "vector %d has no name", _i);
	ck_assert_str_eq(name, "Noise_XX_25519_AESGCM_SHA256");
	check_field(v, "pattern", "XX");
	check_field(v, "dh", "25519");
	check_field(v, "cipher", "AESGCM");
	check_field(v, "hash", "SHA256");
	ck_assert((psks = j_get(v, "init_psks")) == NULL || psks->n == 0);
	ck_assert((psks = j_get(v, "resp_psks")) == NULL || psks->n == 0);

	prolen = field_hex(v, "init_prologue", pro, sizeof(pro));
	ck_assert_int_eq(wa_noise_init(&ini, WA_NOISE_STANDARD, 1, pro, prolen),
	    0);
	prolen = field_hex(v, "resp_prologue", pro, sizeof(pro));
	ck_assert_int_eq(wa_noise_init(&res, WA_NOISE_STANDARD, 0, pro, prolen),
	    0);
	keys_from(&ini, j_str(v, "init_static"), j_str(v, "init_ephemeral"));
	keys_from(&res, j_str(v, "resp_static"), j_str(v, "resp_ephemeral"));

	msgs = j_get(v, "messages");
	ck_assert(msgs != NULL && msgs->type == J_ARR);
	ck_assert_uint_ge(msgs->n, 3);
	for (size_t k = 0; k < msgs->n; k++) {
		/* senders alternate, the initiator first, through the
		 * handshake and on into the transport messages */
		int from_ini = k % 2 == 0;
		struct wa_noise *w = from_ini ? &ini : &res;
		struct wa_noise *r = from_ini ? &res : &ini;

		plen = field_hex(msgs->vals[k], "payload", payload,
		    sizeof(payload));
		ctlen = field_hex(msgs->vals[k], "ciphertext", ct, sizeof(ct));
		if (k < 3) {
			struct wa_buf out = { 0 }, got = { 0 };

			ck_assert_int_eq(wa_noise_write_message(w, payload, plen,
			    &out), 0);
			ck_assert_msg(out.len == ctlen &&
			    memcmp(out.data, ct, ctlen) == 0,
			    "vector %d message %zu: ciphertext differs", _i, k);
			ck_assert_int_eq(wa_noise_read_message(r, ct, ctlen,
			    &got), 0);
			ck_assert_msg(got.len == plen && (plen == 0 ||
			    memcmp(got.data, payload, plen) == 0),
			    "vector %d message %zu: payload differs", _i, k);
			wa_buf_free(&out);
			wa_buf_free(&got);
			if (k == 2) {
				ck_assert_int_eq(ini.step, WA_NOISE_DONE);
				ck_assert_int_eq(res.step, WA_NOISE_DONE);
				ck_assert_int_eq(wa_noise_split(&ini, &ic1, &ic2),
				    0);
				ck_assert_int_eq(wa_noise_split(&res, &rc1, &rc2),
				    0);
				ck_assert_mem_eq(ini.h, res.h, 32);
				if (j_str(v, "handshake_hash") != NULL) {
					field_hex(v, "handshake_hash", want_hh,
					    32);
					ck_assert_mem_eq(ini.h, want_hh, 32);
				}
			}
		} else {
			struct wa_cipher *cw = from_ini ? &ic1 : &rc2;
			struct wa_cipher *cr = from_ini ? &rc1 : &ic2;
			uint8_t out[1024];

			ck_assert_uint_eq(plen + WA_NOISE_TAG, ctlen);
			ck_assert_int_eq(wa_cipher_encrypt(cw, NULL, 0, payload,
			    plen, out), 0);
			ck_assert_msg(memcmp(out, ct, ctlen) == 0,
			    "vector %d transport message %zu differs", _i, k);
			ck_assert_int_eq(wa_cipher_decrypt(cr, NULL, 0, ct,
			    ctlen, plain), 0);
			ck_assert(plen == 0 || memcmp(plain, payload, plen) == 0);
		}
	}
	wa_noise_wipe(&ini);
	wa_noise_wipe(&res);
	wipe4(&ic1, &ic2, &rc1, &rc2);
}
END_TEST

/* --- WhatsApp mode -------------------------------------------------------- */

static const char *ini_s =
    "e61ef9919cde45dd5f82166404bd08e38bceb5dfdfded0a34c8df7ed542214d1";
static const char *ini_e =
    "893e28b9dc6ca8d611ab664754b8ceb7bac5117349a4439a6b0569da977c464a";
static const char *res_s =
    "4a3acbfdb163dec651dfa3194dece676d437029c62a408b4c5ea9114246e4893";
static const char *res_e =
    "bbdb4cdbd309f1a1f2e1456967fe288cadd6f712d65dc7b7793d5e63da6b375b";

static const uint8_t name32[32] = "Noise_XX_25519_AESGCM_SHA256";

START_TEST(init_uses_padded_name_in_both_modes)
{
	enum wa_noise_mode modes[2] = { WA_NOISE_STANDARD, WA_NOISE_WHATSAPP };
	uint8_t want[32];

	sha256_cat(name32, 32, wa_prologue, 4, want);
	for (int i = 0; i < 2; i++) {
		struct wa_noise n;
		ck_assert_int_eq(wa_noise_init(&n, modes[i], 1, wa_prologue, 4),
		    0);
		ck_assert_mem_eq(n.ck, name32, 32);
		ck_assert_mem_eq(n.h, want, 32);
		ck_assert_int_eq(n.c.has_key, 0);
		ck_assert_int_eq(n.step, 0);
	}
}
END_TEST

/* Complete a handshake between ini and res; payloads for messages 2, 3. */
static void
handshake(struct wa_noise *ini, struct wa_noise *res, struct wa_cipher *ic1,
    struct wa_cipher *ic2, struct wa_cipher *rc1, struct wa_cipher *rc2,
    size_t *msg1_len)
{
	static const uint8_t cert[] = "certificate chain";
	static const uint8_t login[] = "client payload";
	struct wa_buf m = { 0 }, p = { 0 };

	ck_assert_int_eq(wa_noise_write_message(ini, NULL, 0, &m), 0);
	*msg1_len = m.len;
	ck_assert_int_eq(wa_noise_read_message(res, m.data, m.len, &p), 0);
	ck_assert_uint_eq(p.len, 0);
	m.len = 0;
	ck_assert_int_eq(wa_noise_write_message(res, cert, sizeof(cert), &m), 0);
	ck_assert_uint_eq(m.len, 32 + 48 + sizeof(cert) + 16);
	ck_assert_int_eq(wa_noise_read_message(ini, m.data, m.len, &p), 0);
	ck_assert(p.len == sizeof(cert) && memcmp(p.data, cert, p.len) == 0);
	ck_assert_mem_eq(ini->rs, res->s.pub, 32);
	m.len = p.len = 0;
	ck_assert_int_eq(wa_noise_write_message(ini, login, sizeof(login), &m),
	    0);
	ck_assert_int_eq(wa_noise_read_message(res, m.data, m.len, &p), 0);
	ck_assert(p.len == sizeof(login) && memcmp(p.data, login, p.len) == 0);
	ck_assert_mem_eq(res->rs, ini->s.pub, 32);
	ck_assert_mem_eq(ini->h, res->h, 32);
	ck_assert_int_eq(wa_noise_split(ini, ic1, ic2), 0);
	ck_assert_int_eq(wa_noise_split(res, rc1, rc2), 0);
	wa_buf_free(&m);
	wa_buf_free(&p);
}

static void
transport_both_ways(struct wa_cipher *ic1, struct wa_cipher *ic2,
    struct wa_cipher *rc1, struct wa_cipher *rc2)
{
	uint8_t msg[64], ct[64 + WA_NOISE_TAG], back[64];

	for (int i = 0; i < 10; i++) {
		int up = i % 3 != 0;  /* not strictly alternating */
		size_t len = (size_t)(i * 7) % sizeof(msg);

		memset(msg, 'a' + i, sizeof(msg));
		ck_assert_int_eq(wa_cipher_encrypt(up ? ic1 : rc2, NULL, 0, msg,
		    len, ct), 0);
		ck_assert_int_eq(wa_cipher_decrypt(up ? rc1 : ic2, NULL, 0, ct,
		    len + WA_NOISE_TAG, back), 0);
		ck_assert(len == 0 || memcmp(back, msg, len) == 0);
	}
	ck_assert_uint_eq(ic1->n, rc1->n);
	ck_assert_uint_eq(ic2->n, rc2->n);
	ck_assert_uint_eq(ic1->n + ic2->n, 10);
}

START_TEST(whatsapp_mode_handshake)
{
	struct wa_noise ini, res;
	struct wa_cipher ic1, ic2, rc1, rc2;
	size_t msg1_len;

	ck_assert_int_eq(wa_noise_init(&ini, WA_NOISE_WHATSAPP, 1, wa_prologue,
	    4), 0);
	ck_assert_int_eq(wa_noise_init(&res, WA_NOISE_WHATSAPP, 0, wa_prologue,
	    4), 0);
	/* random keys: the ephemerals are generated by write_message */
	ck_assert_int_eq(wa_keypair_generate(&ini.s), 0);
	ck_assert_int_eq(wa_keypair_generate(&res.s), 0);
	handshake(&ini, &res, &ic1, &ic2, &rc1, &rc2, &msg1_len);
	ck_assert_uint_eq(msg1_len, 32);
	ck_assert(memcmp(ic1.k, ic2.k, 32) != 0);
	ck_assert_mem_eq(ic1.k, rc1.k, 32);
	ck_assert_mem_eq(ic2.k, rc2.k, 32);
	transport_both_ways(&ic1, &ic2, &rc1, &rc2);
	wa_noise_wipe(&ini);
	wa_noise_wipe(&res);
	wipe4(&ic1, &ic2, &rc1, &rc2);
}
END_TEST

START_TEST(standard_mode_handshake_random_keys)
{
	struct wa_noise ini, res;
	struct wa_cipher ic1, ic2, rc1, rc2;
	size_t msg1_len;

	ck_assert_int_eq(wa_noise_init(&ini, WA_NOISE_STANDARD, 1, NULL, 0), 0);
	ck_assert_int_eq(wa_noise_init(&res, WA_NOISE_STANDARD, 0, NULL, 0), 0);
	ck_assert_int_eq(wa_keypair_generate(&ini.s), 0);
	ck_assert_int_eq(wa_keypair_generate(&res.s), 0);
	handshake(&ini, &res, &ic1, &ic2, &rc1, &rc2, &msg1_len);
	ck_assert_uint_eq(msg1_len, 32);  /* e and the empty payload */
	transport_both_ways(&ic1, &ic2, &rc1, &rc2);
	wipe4(&ic1, &ic2, &rc1, &rc2);
}
END_TEST

/* After message 1: WhatsApp h = SHA256(SHA256(name || prologue) || e.pub),
 * standard h = SHA256(that || empty payload), computed independently. */
START_TEST(whatsapp_mode_skips_one_mix_hash)
{
	struct wa_noise wi, wr, si, sr;
	struct wa_buf wm = { 0 }, sm = { 0 }, p = { 0 };
	uint8_t h1[32], h2[32], h3[32];

	ck_assert_int_eq(wa_noise_init(&wi, WA_NOISE_WHATSAPP, 1, wa_prologue,
	    4), 0);
	ck_assert_int_eq(wa_noise_init(&wr, WA_NOISE_WHATSAPP, 0, wa_prologue,
	    4), 0);
	ck_assert_int_eq(wa_noise_init(&si, WA_NOISE_STANDARD, 1, wa_prologue,
	    4), 0);
	ck_assert_int_eq(wa_noise_init(&sr, WA_NOISE_STANDARD, 0, wa_prologue,
	    4), 0);
	keys_from(&wi, ini_s, ini_e);
	keys_from(&si, ini_s, ini_e);
	keys_from(&wr, res_s, res_e);
	keys_from(&sr, res_s, res_e);
	ck_assert_mem_eq(wi.h, si.h, 32);  /* identical until message 1 */

	ck_assert_int_eq(wa_noise_write_message(&wi, NULL, 0, &wm), 0);
	ck_assert_int_eq(wa_noise_write_message(&si, NULL, 0, &sm), 0);
	/* the same bytes on the wire: an empty payload adds none */
	ck_assert_uint_eq(wm.len, 32);
	ck_assert_uint_eq(sm.len, 32);
	ck_assert_mem_eq(wm.data, sm.data, 32);
	ck_assert_mem_eq(wm.data, wi.e.pub, 32);

	sha256_cat(name32, 32, wa_prologue, 4, h1);
	sha256_cat(h1, 32, wi.e.pub, 32, h2);
	sha256_cat(h2, 32, NULL, 0, h3);
	ck_assert_mem_eq(wi.h, h2, 32);
	ck_assert_mem_eq(si.h, h3, 32);
	ck_assert_int_eq(wa_noise_read_message(&wr, wm.data, wm.len, &p), 0);
	ck_assert_int_eq(wa_noise_read_message(&sr, sm.data, sm.len, &p), 0);
	ck_assert_mem_eq(wr.h, h2, 32);
	ck_assert_mem_eq(sr.h, h3, 32);

	/* and nothing else differs: give the standard states the WhatsApp
	 * h, and messages 2, 3 and the transport keys come out the same */
	memcpy(si.h, wi.h, 32);
	memcpy(sr.h, wr.h, 32);
	for (int step = 1; step <= 2; step++) {
		struct wa_noise *ww = step == 1 ? &wr : &wi;
		struct wa_noise *sw = step == 1 ? &sr : &si;
		struct wa_noise *wrd = step == 1 ? &wi : &wr;
		struct wa_noise *srd = step == 1 ? &si : &sr;
		static const uint8_t pl[] = "payload";

		wm.len = sm.len = p.len = 0;
		ck_assert_int_eq(wa_noise_write_message(ww, pl, sizeof(pl), &wm),
		    0);
		ck_assert_int_eq(wa_noise_write_message(sw, pl, sizeof(pl), &sm),
		    0);
		ck_assert_uint_eq(wm.len, sm.len);
		ck_assert_mem_eq(wm.data, sm.data, wm.len);
		ck_assert_int_eq(wa_noise_read_message(wrd, wm.data, wm.len, &p),
		    0);
		ck_assert_int_eq(wa_noise_read_message(srd, sm.data, sm.len, &p),
		    0);
	}
	ck_assert_mem_eq(wi.h, si.h, 32);
	ck_assert_mem_eq(wi.ck, si.ck, 32);
	wa_buf_free(&wm);
	wa_buf_free(&sm);
	wa_buf_free(&p);
}
END_TEST

START_TEST(whatsapp_mode_message1_has_no_payload)
{
	struct wa_noise n, r;
	struct wa_buf m = { 0 }, p = { 0 };
	uint8_t msg[33] = { 0 }, h[32];
	int ret;

	ck_assert_int_eq(wa_noise_init(&n, WA_NOISE_WHATSAPP, 1, wa_prologue,
	    4), 0);
	ck_assert_int_eq(wa_keypair_generate(&n.s), 0);
	memcpy(h, n.h, 32);
	ck_assert_int_eq(wa_noise_write_message(&n, msg, 1, &m), WA_EPROTO);
	ck_assert_uint_eq(m.len, 0);
	ck_assert_int_eq(n.step, 0);       /* untouched, so usable */
	ck_assert_mem_eq(n.h, h, 32);
	ck_assert_int_eq(wa_noise_write_message(&n, NULL, 0, &m), 0);

	ck_assert_int_eq(wa_noise_init(&r, WA_NOISE_WHATSAPP, 0, wa_prologue,
	    4), 0);
	memcpy(msg, m.data, 32);
	ret = wa_noise_read_message(&r, msg, 33, &p);
	ck_assert_int_eq(ret, WA_EMALFORM);
	ck_assert_int_eq(wa_noise_read_message(&r, msg, 31, &p), WA_ETRUNC);
	ck_assert_int_eq(wa_noise_read_message(&r, msg, 32, &p), 0);
	ck_assert_uint_eq(p.len, 0);
	ck_assert_mem_eq(r.h, n.h, 32);
	wa_buf_free(&m);
	wa_buf_free(&p);
}
END_TEST

/* A WhatsApp initiator and a standard responder disagree on h after
 * message 1, so message 2's encrypted static key fails its tag. */
START_TEST(modes_do_not_interoperate)
{
	struct wa_noise ini, res;
	struct wa_buf m = { 0 }, p = { 0 };

	ck_assert_int_eq(wa_noise_init(&ini, WA_NOISE_WHATSAPP, 1, wa_prologue,
	    4), 0);
	ck_assert_int_eq(wa_noise_init(&res, WA_NOISE_STANDARD, 0, wa_prologue,
	    4), 0);
	ck_assert_int_eq(wa_keypair_generate(&ini.s), 0);
	ck_assert_int_eq(wa_keypair_generate(&res.s), 0);
	ck_assert_int_eq(wa_noise_write_message(&ini, NULL, 0, &m), 0);
	ck_assert_int_eq(wa_noise_read_message(&res, m.data, m.len, &p), 0);
	m.len = 0;
	ck_assert_int_eq(wa_noise_write_message(&res, NULL, 0, &m), 0);
	ck_assert_int_eq(wa_noise_read_message(&ini, m.data, m.len, &p),
	    WA_ECRYPTO);
	ck_assert_int_eq(ini.step, WA_NOISE_FAILED);
	ck_assert_int_eq(wa_noise_read_message(&ini, m.data, m.len, &p),
	    WA_ESTATE);
	ck_assert_int_eq(wa_noise_write_message(&ini, NULL, 0, &m), WA_ESTATE);
	{
		struct wa_cipher a, b;
		ck_assert_int_eq(wa_noise_split(&ini, &a, &b), WA_ESTATE);
	}
	wa_buf_free(&m);
	wa_buf_free(&p);
}
END_TEST

/* --- cipher states -------------------------------------------------------- */

static const uint8_t key[32] = {
	1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16,
	17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32
};

/* AES-256-GCM with an explicit IV, here, without the code under test. */
static void
ref_gcm(const uint8_t iv[12], const uint8_t *in, int len, uint8_t *out)
{
	EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
	int outl;

	ck_assert(ctx != NULL);
	ck_assert(EVP_EncryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, key, iv) == 1);
	ck_assert(EVP_EncryptUpdate(ctx, out, &outl, in, len) == 1);
	ck_assert(EVP_EncryptFinal_ex(ctx, out + len, &outl) == 1);
	ck_assert(EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, 16,
	    out + len) == 1);
	EVP_CIPHER_CTX_free(ctx);
}

START_TEST(nonce_layout)
{
	static const uint64_t counters[] = { 0, 1, 0x01020304, 0xFFFFFFFF };
	static const uint8_t msg[] = "nonce layout";
	uint8_t got[64], want[64];

	for (size_t i = 0; i < sizeof(counters) / sizeof(counters[0]); i++) {
		uint64_t n = counters[i];
		uint8_t wa_iv[12] = { 0 }, noise_iv[12] = { 0 };
		struct wa_cipher c;

		/* WhatsApp: 8 zero bytes || BE u32; Noise: 4 zero || BE u64 */
		for (int b = 0; b < 4; b++)
			wa_iv[8 + b] = (uint8_t)(n >> (24 - 8 * b));
		for (int b = 0; b < 8; b++)
			noise_iv[4 + b] = (uint8_t)(n >> (56 - 8 * b));
		ck_assert_mem_eq(wa_iv, noise_iv, 12);
		ref_gcm(wa_iv, msg, sizeof(msg), want);
		wa_cipher_init(&c, key);
		c.n = n;
		ck_assert_int_eq(wa_cipher_encrypt(&c, NULL, 0, msg, sizeof(msg),
		    got), 0);
		ck_assert_mem_eq(got, want, sizeof(msg) + 16);
		ck_assert_uint_eq(c.n, n + 1);
		wa_cipher_wipe(&c);
	}
}
END_TEST

START_TEST(counter_stops_at_2_32_minus_1)
{
	struct wa_cipher tx, rx;
	uint8_t msg[8] = "counter", ct[3][8 + 16], out[8 + 16], back[8];

	wa_cipher_init(&tx, key);
	wa_cipher_init(&rx, key);
	tx.n = rx.n = WA_NOISE_COUNTER_MAX - 1;
	ck_assert_int_eq(wa_cipher_encrypt(&tx, NULL, 0, msg, 8, ct[0]), 0);
	ck_assert_int_eq(wa_cipher_encrypt(&tx, NULL, 0, msg, 8, ct[1]), 0);
	ck_assert_uint_eq(tx.n, (uint64_t)WA_NOISE_COUNTER_MAX + 1);
	memset(out, 0x5A, sizeof(out));
	ck_assert_int_eq(wa_cipher_encrypt(&tx, NULL, 0, msg, 8, out),
	    WA_ECOUNTER);
	ck_assert_int_eq(wa_cipher_encrypt(&tx, NULL, 0, msg, 8, out),
	    WA_ECOUNTER);
	ck_assert_uint_eq(tx.n, (uint64_t)WA_NOISE_COUNTER_MAX + 1);
	for (size_t i = 0; i < sizeof(out); i++)
		ck_assert_uint_eq(out[i], 0x5A);   /* nothing written */

	ck_assert_int_eq(wa_cipher_decrypt(&rx, NULL, 0, ct[0], 24, back), 0);
	ck_assert_int_eq(wa_cipher_decrypt(&rx, NULL, 0, ct[1], 24, back), 0);
	ck_assert_mem_eq(back, msg, 8);
	/* what counter 2^32 would give: IV wraps to counter 0's, refused */
	wa_cipher_wipe(&tx);
	wa_cipher_init(&tx, key);
	ck_assert_int_eq(wa_cipher_encrypt(&tx, NULL, 0, msg, 8, ct[2]), 0);
	ck_assert_int_eq(wa_cipher_decrypt(&rx, NULL, 0, ct[2], 24, back),
	    WA_ECOUNTER);
	ck_assert_uint_eq(rx.n, (uint64_t)WA_NOISE_COUNTER_MAX + 1);
	wa_cipher_wipe(&tx);
	wa_cipher_wipe(&rx);
}
END_TEST

START_TEST(handshake_counter_limit)
{
	struct wa_noise n;
	uint8_t ikm[32] = { 7 }, h[32], out[32 + 16];

	ck_assert_int_eq(wa_noise_init(&n, WA_NOISE_WHATSAPP, 1, wa_prologue,
	    4), 0);
	ck_assert_int_eq(wa_noise_mix_key(&n, ikm), 0);
	n.c.n = (uint64_t)WA_NOISE_COUNTER_MAX + 1;
	memcpy(h, n.h, 32);
	ck_assert_int_eq(wa_noise_encrypt_and_hash(&n, ikm, 32, out, NULL),
	    WA_ECOUNTER);
	ck_assert_mem_eq(n.h, h, 32);
	/* MixKey resets it */
	ck_assert_int_eq(wa_noise_mix_key(&n, ikm), 0);
	ck_assert_uint_eq(n.c.n, 0);
	ck_assert_int_eq(wa_noise_encrypt_and_hash(&n, ikm, 32, out, NULL), 0);
	ck_assert_uint_eq(n.c.n, 1);
}
END_TEST

static int
all_zero(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] != 0)
			return 0;
	return 1;
}

START_TEST(bad_tag_leaves_counter)
{
	struct wa_cipher tx, rx;
	uint8_t msg[3][20], ct[3][36], bad[36], out[20];

	wa_cipher_init(&tx, key);
	wa_cipher_init(&rx, key);
	for (int i = 0; i < 3; i++) {
		memset(msg[i], 'x' + i, 20);
		ck_assert_int_eq(wa_cipher_encrypt(&tx, NULL, 0, msg[i], 20,
		    ct[i]), 0);
	}
	ck_assert_int_eq(wa_cipher_decrypt(&rx, NULL, 0, ct[0], 36, out), 0);

	/* a flipped tag bit, a flipped ciphertext bit, wrong ad: no */
	memcpy(bad, ct[1], 36);
	bad[35] ^= 1;
	memset(out, 0x33, sizeof(out));
	ck_assert_int_eq(wa_cipher_decrypt(&rx, NULL, 0, bad, 36, out),
	    WA_ECRYPTO);
	ck_assert(all_zero(out, 20));      /* unverified plaintext wiped */
	ck_assert_uint_eq(rx.n, 1);
	ck_assert_int_eq(wa_cipher_decrypt(&rx, NULL, 0, bad, 36, out),
	    WA_ECRYPTO);                   /* a retry fails the same way */
	memcpy(bad, ct[1], 36);
	bad[0] ^= 0x80;
	ck_assert_int_eq(wa_cipher_decrypt(&rx, NULL, 0, bad, 36, out),
	    WA_ECRYPTO);
	ck_assert_int_eq(wa_cipher_decrypt(&rx, (const uint8_t *)"ad", 2,
	    ct[1], 36, out), WA_ECRYPTO);
	ck_assert_int_eq(wa_cipher_decrypt(&rx, NULL, 0, ct[1], 15, out),
	    WA_ETRUNC);
	/* the message after the expected one is not accepted in its place */
	ck_assert_int_eq(wa_cipher_decrypt(&rx, NULL, 0, ct[2], 36, out),
	    WA_ECRYPTO);
	ck_assert_uint_eq(rx.n, 1);
	/* the genuine next message still is, once, then the one after */
	ck_assert_int_eq(wa_cipher_decrypt(&rx, NULL, 0, ct[1], 36, out), 0);
	ck_assert_mem_eq(out, msg[1], 20);
	ck_assert_int_eq(wa_cipher_decrypt(&rx, NULL, 0, ct[1], 36, out),
	    WA_ECRYPTO);
	ck_assert_int_eq(wa_cipher_decrypt(&rx, NULL, 0, ct[2], 36, out), 0);
	ck_assert_mem_eq(out, msg[2], 20);
	ck_assert_uint_eq(rx.n, 3);
	wa_cipher_wipe(&tx);
	wa_cipher_wipe(&rx);
}
END_TEST

START_TEST(in_place_and_empty)
{
	struct wa_cipher tx, rx, none = { 0 };
	uint8_t buf[40], tag_only[16];

	wa_cipher_init(&tx, key);
	wa_cipher_init(&rx, key);
	memset(buf, 'q', 24);
	ck_assert_int_eq(wa_cipher_encrypt(&tx, NULL, 0, buf, 24, buf), 0);
	ck_assert_int_eq(wa_cipher_decrypt(&rx, NULL, 0, buf, 40, buf), 0);
	for (int i = 0; i < 24; i++)
		ck_assert_uint_eq(buf[i], 'q');
	ck_assert_int_eq(wa_cipher_encrypt(&tx, NULL, 0, NULL, 0, tag_only), 0);
	ck_assert_int_eq(wa_cipher_decrypt(&rx, NULL, 0, tag_only, 16, buf), 0);
	ck_assert_int_eq(wa_cipher_encrypt(&none, NULL, 0, buf, 4, buf),
	    WA_ESTATE);
	ck_assert_int_eq(wa_cipher_decrypt(&none, NULL, 0, buf, 20, buf),
	    WA_ESTATE);
	wa_cipher_wipe(&tx);
	ck_assert(all_zero(tx.k, 32) && tx.n == 0 && tx.has_key == 0);
	ck_assert(tx.ctx == NULL);
	wa_cipher_wipe(&tx);              /* again: harmless */
	wa_cipher_wipe(&rx);
}
END_TEST

START_TEST(decrypt_and_hash_failure_keeps_h)
{
	struct wa_noise a, b;
	uint8_t ikm[32] = { 9 }, msg[10] = "handshake", ct[26], out[26];
	uint8_t h[32];
	size_t olen = 0;

	ck_assert_int_eq(wa_noise_init(&a, WA_NOISE_WHATSAPP, 1, wa_prologue,
	    4), 0);
	ck_assert_int_eq(wa_noise_init(&b, WA_NOISE_WHATSAPP, 0, wa_prologue,
	    4), 0);
	ck_assert_int_eq(wa_noise_mix_key(&a, ikm), 0);
	ck_assert_int_eq(wa_noise_mix_key(&b, ikm), 0);
	ck_assert_int_eq(wa_noise_encrypt_and_hash(&a, msg, 10, ct, &olen), 0);
	ck_assert_uint_eq(olen, 26);
	memcpy(out, ct, 26);
	out[3] ^= 4;
	memcpy(h, b.h, 32);
	ck_assert_int_eq(wa_noise_decrypt_and_hash(&b, out, 26, out, &olen),
	    WA_ECRYPTO);
	ck_assert_mem_eq(b.h, h, 32);
	ck_assert_uint_eq(b.c.n, 0);
	ck_assert_int_eq(wa_noise_decrypt_and_hash(&b, ct, 15, out, &olen),
	    WA_ETRUNC);
	/* in place: out over in */
	memcpy(out, ct, 26);
	ck_assert_int_eq(wa_noise_decrypt_and_hash(&b, out, 26, out, &olen), 0);
	ck_assert_uint_eq(olen, 10);
	ck_assert_mem_eq(out, msg, 10);
	ck_assert_mem_eq(a.h, b.h, 32);
}
END_TEST

/* --- the pattern API's state rules ---------------------------------------- */

START_TEST(out_of_turn_and_truncated)
{
	struct wa_noise ini, res;
	struct wa_buf m = { 0 }, p = { 0 }, tmp = { 0 };
	uint8_t h[32] = { 0 };

	ck_assert_int_eq(wa_noise_init(&ini, WA_NOISE_STANDARD, 1, NULL, 0), 0);
	ck_assert_int_eq(wa_noise_init(&res, WA_NOISE_STANDARD, 0, NULL, 0), 0);
	keys_from(&ini, ini_s, ini_e);
	keys_from(&res, NULL, res_e);
	ck_assert_int_eq(wa_noise_read_message(&ini, h, 32, &p), WA_ESTATE);
	ck_assert_int_eq(wa_noise_write_message(&res, NULL, 0, &m), WA_ESTATE);
	ck_assert_int_eq(wa_noise_write_message(&ini, NULL, 0, &m), 0);
	ck_assert_int_eq(wa_noise_write_message(&ini, NULL, 0, &m), WA_ESTATE);
	ck_assert_int_eq(wa_noise_read_message(&res, m.data, m.len, &p), 0);
	/* the responder has no static key yet */
	ck_assert_int_eq(wa_noise_write_message(&res, NULL, 0, &tmp),
	    WA_ESTATE);
	keys_from(&res, res_s, NULL);
	m.len = 0;
	ck_assert_int_eq(wa_noise_write_message(&res, NULL, 0, &m), 0);
	ck_assert_uint_eq(m.len, 96);
	memcpy(h, ini.h, 32);
	ck_assert_int_eq(wa_noise_read_message(&ini, m.data, 95, &p),
	    WA_ETRUNC);
	ck_assert_int_eq(ini.step, 1);     /* found before any change */
	ck_assert_mem_eq(ini.h, h, 32);
	ck_assert_int_eq(wa_noise_read_message(&ini, m.data, m.len, &p), 0);
	m.len = 0;
	ck_assert_int_eq(wa_noise_write_message(&ini, NULL, 0, &m), 0);
	ck_assert_uint_eq(m.len, 64);
	ck_assert_int_eq(wa_noise_read_message(&res, m.data, 63, &p),
	    WA_ETRUNC);
	m.data[10] ^= 1;
	ck_assert_int_eq(wa_noise_read_message(&res, m.data, m.len, &p),
	    WA_ECRYPTO);
	ck_assert_int_eq(res.step, WA_NOISE_FAILED);
	ck_assert_int_eq(ini.step, WA_NOISE_DONE);
	ck_assert_int_eq(wa_noise_write_message(&ini, NULL, 0, &m), WA_ESTATE);
	ck_assert_int_eq(wa_noise_read_message(&ini, m.data, m.len, &p),
	    WA_ESTATE);
	wa_buf_free(&m);
	wa_buf_free(&p);
	wa_buf_free(&tmp);
}
END_TEST

START_TEST(split_wipes_and_happens_once)
{
	struct wa_noise ini, res;
	struct wa_cipher ic1, ic2, rc1, rc2, x, y;
	uint8_t h[32];
	size_t msg1_len;

	ck_assert_int_eq(wa_noise_init(&ini, WA_NOISE_WHATSAPP, 1, wa_prologue,
	    4), 0);
	ck_assert_int_eq(wa_noise_init(&res, WA_NOISE_WHATSAPP, 0, wa_prologue,
	    4), 0);
	ck_assert_int_eq(wa_keypair_generate(&ini.s), 0);
	ck_assert_int_eq(wa_keypair_generate(&res.s), 0);
	handshake(&ini, &res, &ic1, &ic2, &rc1, &rc2, &msg1_len);
	memcpy(h, ini.h, 32);
	ck_assert(all_zero(ini.ck, 32));
	ck_assert(all_zero(ini.c.k, 32));
	ck_assert(all_zero(ini.e.priv, 32));
	ck_assert_int_eq(ini.c.has_key, 0);
	ck_assert(!all_zero(h, 32));
	ck_assert_int_eq(ini.step, WA_NOISE_SPLIT);
	ck_assert_int_eq(wa_noise_split(&ini, &x, &y), WA_ESTATE);
	ck_assert_uint_eq(ic1.n, 0);
	ck_assert_uint_eq(ic2.n, 0);
	wa_noise_wipe(&ini);
	ck_assert(all_zero(ini.s.priv, 32) && all_zero(ini.h, 32));
	wipe4(&ic1, &ic2, &rc1, &rc2);
}
END_TEST

/* Split = HKDF(ck, empty): temp = HMAC(ck, ""), k1 = HMAC(temp, 01),
 * k2 = HMAC(temp, k1 || 02), with OpenSSL's HMAC() directly. */
START_TEST(split_matches_noise_hkdf)
{
	struct wa_noise n;
	struct wa_cipher c1, c2;
	uint8_t ck[32], temp[32], k1[32], k2[32], in[33];
	unsigned int len;

	ck_assert_int_eq(wa_noise_init(&n, WA_NOISE_STANDARD, 1, NULL, 0), 0);
	memset(n.ck, 0xC3, 32);
	memcpy(ck, n.ck, 32);
	ck_assert_int_eq(wa_noise_split(&n, &c1, &c2), 0);
	ck_assert(HMAC(EVP_sha256(), ck, 32, (const uint8_t *)"", 0, temp,
	    &len) != NULL);
	in[0] = 1;
	ck_assert(HMAC(EVP_sha256(), temp, 32, in, 1, k1, &len) != NULL);
	memcpy(in, k1, 32);
	in[32] = 2;
	ck_assert(HMAC(EVP_sha256(), temp, 32, in, 33, k2, &len) != NULL);
	ck_assert_mem_eq(c1.k, k1, 32);
	ck_assert_mem_eq(c2.k, k2, 32);
	ck_assert_int_eq(c1.has_key, 1);
	wa_cipher_wipe(&c1);
	wa_cipher_wipe(&c2);
}
END_TEST

/* --- primitives against their RFCs ---------------------------------------- */

START_TEST(x25519_rfc7748)
{
	uint8_t a[32], b[32], apub[32], bpub[32], shared[32], s1[32], s2[32];
	struct wa_keypair ka, kb;

	unhex("77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a",
	    a, 32);
	unhex("8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a",
	    apub, 32);
	unhex("5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb",
	    b, 32);
	unhex("de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f",
	    bpub, 32);
	unhex("4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742",
	    shared, 32);
	ck_assert_int_eq(wa_keypair_from_private(&ka, a), 0);
	ck_assert_int_eq(wa_keypair_from_private(&kb, b), 0);
	ck_assert_mem_eq(ka.pub, apub, 32);
	ck_assert_mem_eq(kb.pub, bpub, 32);
	ck_assert_int_eq(wa_dh(ka.priv, kb.pub, s1), 0);
	ck_assert_int_eq(wa_dh(kb.priv, ka.pub, s2), 0);
	ck_assert_mem_eq(s1, shared, 32);
	ck_assert_mem_eq(s2, shared, 32);
}
END_TEST

START_TEST(x25519_low_order_rejected)
{
	uint8_t zero[32] = { 0 }, one[32] = { 1 }, out[32];
	struct wa_keypair k;

	ck_assert_int_eq(wa_keypair_generate(&k), 0);
	memset(out, 0xEE, 32);
	ck_assert_int_eq(wa_dh(k.priv, zero, out), WA_ECRYPTO);
	ck_assert(all_zero(out, 32));
	ck_assert_int_eq(wa_dh(k.priv, one, out), WA_ECRYPTO);
}
END_TEST

START_TEST(keypair_generate)
{
	struct wa_keypair a, b, again;

	ck_assert_int_eq(wa_keypair_generate(&a), 0);
	ck_assert_int_eq(wa_keypair_generate(&b), 0);
	ck_assert(memcmp(a.priv, b.priv, 32) != 0);
	ck_assert(!all_zero(a.pub, 32));
	ck_assert_int_eq(wa_keypair_from_private(&again, a.priv), 0);
	ck_assert_mem_eq(again.pub, a.pub, 32);
}
END_TEST

/* Failures drop what OpenSSL queued for them and keep what was there. */
START_TEST(error_queue_left_as_found)
{
	uint8_t zero[32] = { 0 }, out[32], ct[16] = { 0 };
	struct wa_keypair k;
	struct wa_cipher c;
	unsigned long e;

	ck_assert_int_eq(wa_keypair_generate(&k), 0);
	wa_cipher_init(&c, key);
	ERR_clear_error();
	ERR_raise(ERR_LIB_USER, 42);
	ck_assert_int_eq(wa_dh(k.priv, zero, out), WA_ECRYPTO);
	ck_assert_int_eq(wa_cipher_decrypt(&c, NULL, 0, ct, 16, out),
	    WA_ECRYPTO);
	e = ERR_get_error();
	ck_assert_int_eq(ERR_GET_LIB(e), ERR_LIB_USER);
	ck_assert_int_eq(ERR_GET_REASON(e), 42);
	ck_assert_uint_eq(ERR_get_error(), 0);
	/* and a failure leaves an empty queue empty */
	ck_assert_int_eq(wa_dh(k.priv, zero, out), WA_ECRYPTO);
	ck_assert_uint_eq(ERR_peek_error(), 0);
	wa_cipher_wipe(&c);
}
END_TEST

/* RFC 5869 A.3 (SHA-256, empty salt, empty info): for HMAC-SHA256 an empty
 * key and 32 zero bytes are the same key, so a zero salt must agree. */
START_TEST(hkdf_rfc5869)
{
	uint8_t salt[32] = { 0 }, ikm[22], okm[42], o1[32], o2[32];

	memset(ikm, 0x0b, sizeof(ikm));
	unhex("8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d"
	    "9d201395faa4b61a96c8", okm, sizeof(okm));
	ck_assert_int_eq(wa_hkdf2(salt, ikm, sizeof(ikm), o1, o2), 0);
	ck_assert_mem_eq(o1, okm, 32);
	ck_assert_mem_eq(o2, okm + 32, 10);
}
END_TEST

static Suite *
noise_suite(void)
{
	Suite *s = suite_create("noise");
	TCase *tc;

	tc = tcase_create("vectors");
	tcase_add_test(tc, vectors_load);
	if (nvectors > 0)
		tcase_add_loop_test(tc, vector_standard, 0, nvectors);
	suite_add_tcase(s, tc);

	tc = tcase_create("whatsapp");
	tcase_add_test(tc, init_uses_padded_name_in_both_modes);
	tcase_add_test(tc, whatsapp_mode_handshake);
	tcase_add_test(tc, standard_mode_handshake_random_keys);
	tcase_add_test(tc, whatsapp_mode_skips_one_mix_hash);
	tcase_add_test(tc, whatsapp_mode_message1_has_no_payload);
	tcase_add_test(tc, modes_do_not_interoperate);
	suite_add_tcase(s, tc);

	tc = tcase_create("cipher");
	tcase_add_test(tc, nonce_layout);
	tcase_add_test(tc, counter_stops_at_2_32_minus_1);
	tcase_add_test(tc, handshake_counter_limit);
	tcase_add_test(tc, bad_tag_leaves_counter);
	tcase_add_test(tc, in_place_and_empty);
	tcase_add_test(tc, decrypt_and_hash_failure_keeps_h);
	suite_add_tcase(s, tc);

	tc = tcase_create("state");
	tcase_add_test(tc, out_of_turn_and_truncated);
	tcase_add_test(tc, split_wipes_and_happens_once);
	tcase_add_test(tc, split_matches_noise_hkdf);
	suite_add_tcase(s, tc);

	tc = tcase_create("primitives");
	tcase_add_test(tc, x25519_rfc7748);
	tcase_add_test(tc, x25519_low_order_rejected);
	tcase_add_test(tc, keypair_generate);
	tcase_add_test(tc, hkdf_rfc5869);
	tcase_add_test(tc, error_queue_left_as_found);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr;
	int failed;

	load_vectors();
	sr = srunner_create(noise_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	j_free(vector_doc);
	free(vector_text);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
