/*
 * tests/check_import.c: the session id forms (store/import.c) and
 * Baileys' pre-key files (store/prekeys.c), without a store.  The same
 * forms made by Node and imported end to end: tests/interop/import/.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <openssl/evp.h>
#include <zlib.h>
#include "store/baileys.h"
#include "store/import.h"
#include "util.h"

static char dir[64];
static char *creds_text;     /* a creds.json store_baileys_write made */
static struct wa_creds creds;

static void
rm_rf(const char *d)
{
	char cmd[256];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", d);
	(void)system(cmd);
}

static void
setup(void)
{
	char path[128], why[256];

	snprintf(dir, sizeof(dir), "/tmp/check_import.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	ck_assert_int_eq(wa_creds_generate(&creds), 0);
	snprintf(creds.me_jid, sizeof(creds.me_jid), "15550001111:4@s.whatsapp.net");
	snprintf(creds.push_name, sizeof(creds.push_name), "Import");
	ck_assert_msg(store_baileys_write(dir, &creds, why, sizeof(why)) == 0, "%s", why);
	snprintf(path, sizeof(path), "%s/creds.json", dir);
	creds_text = test_slurp(path);
	ck_assert_ptr_nonnull(creds_text);
	unlink(path);
}

static void
teardown(void)
{
	free(creds_text);
	rm_rf(dir);
}

static char *
b64(const void *p, size_t n)
{
	char *s = malloc(4 * ((n + 2) / 3) + 1);

	EVP_EncodeBlock((unsigned char *)s, p, (int)n);
	return s;
}

/* zlib (gzip: windowBits 31) of text. */
static char *
packed_b64(const char *text, int gzip)
{
	z_stream z;
	size_t n = strlen(text), cap = n + 1024;
	unsigned char *out = malloc(cap);
	char *s;

	memset(&z, 0, sizeof(z));
	ck_assert_int_eq(deflateInit2(&z, 9, Z_DEFLATED, gzip ? 31 : 15, 8,
	    Z_DEFAULT_STRATEGY), Z_OK);
	z.next_in = (Bytef *)text;
	z.avail_in = (uInt)n;
	z.next_out = out;
	z.avail_out = (uInt)cap;
	ck_assert_int_eq(deflate(&z, Z_FINISH), Z_STREAM_END);
	s = b64(out, z.total_out);
	deflateEnd(&z);
	free(out);
	return s;
}

static char *
cat3(const char *a, const char *b, const char *c)
{
	char *s = malloc(strlen(a) + strlen(b) + strlen(c) + 1);

	strcpy(s, a);
	strcat(s, b);
	strcat(s, c);
	return s;
}

/* Decodes text; its creds.json must read back as `creds`. */
static void
decodes_to_creds(const char *text, const char *prefix, const char *sep,
    const char *form)
{
	struct store_import im;
	struct wa_creds got;
	char why[512], sub[80], path[128];

	ck_assert_msg(store_sessionid_decode(text, &im, why, sizeof(why)) == 0,
	    "decode: %s", why);
	ck_assert_str_eq(im.prefix, prefix);
	ck_assert_str_eq(im.sep, sep);
	ck_assert_str_eq(im.form, form);
	snprintf(sub, sizeof(sub), "%s/sub", dir);
	rm_rf(sub);
	ck_assert_int_eq(mkdir(sub, 0700), 0);
	ck_assert_msg(store_import_write_dir(&im, sub, why, sizeof(why)) == 0, "%s", why);
	snprintf(path, sizeof(path), "%s/creds.json", sub);
	ck_assert_int_eq(access(path, R_OK), 0);
	ck_assert_msg(store_baileys_read(sub, &got, why, sizeof(why)) == 0, "%s", why);
	ck_assert_mem_eq(got.noise.priv, creds.noise.priv, 32);
	ck_assert_mem_eq(got.identity.priv, creds.identity.priv, 32);
	ck_assert_str_eq(got.me_jid, creds.me_jid);
	store_import_free(&im);
	ck_assert_ptr_null(im.files);
}

START_TEST(plain_base64)
{
	char *s = b64(creds_text, strlen(creds_text));

	decodes_to_creds(s, "", "", "base64(creds.json)");
	free(s);
}
END_TEST

START_TEST(prefixes_and_separators)
{
	static const char *const seps[] = { "~", ";;;", ":", "!", "#", "=>" };
	char *p = b64(creds_text, strlen(creds_text)), *s;

	for (size_t i = 0; i < sizeof(seps) / sizeof(*seps); i++) {
		char pre[32];
		snprintf(pre, sizeof(pre), "MY-BOT%s", seps[i]);
		s = cat3(pre, p, "");
		/* "=>": '=' is padding, so the separator looks like ">" after
		 * a prefix "MY-BOT=": what matters is the payload */
		decodes_to_creds(s, strcmp(seps[i], "=>") ? "MY-BOT" : "MY-BOT=",
		    strcmp(seps[i], "=>") ? seps[i] : ">", "base64(creds.json)");
		free(s);
	}
	/* glued: a prefix running straight into the payload */
	s = cat3("Guru", p, "");
	decodes_to_creds(s, "Guru", "", "base64(creds.json)");
	free(s);
	free(p);
}
END_TEST

START_TEST(compressed_payloads)
{
	char *g = packed_b64(creds_text, 1), *z = packed_b64(creds_text, 0), *s;

	s = cat3("BWM-XMD;;;", g, "");
	decodes_to_creds(s, "BWM-XMD", ";;;", "base64(gzip(creds.json))");
	free(s);
	decodes_to_creds(z, "", "", "base64(zlib(creds.json))");
	s = cat3("KING", g, "");   /* glued to a gzip payload */
	decodes_to_creds(s, "KING", "", "base64(gzip(creds.json))");
	free(s);
	free(g);
	free(z);
}
END_TEST

START_TEST(whitespace_quotes_urlsafe)
{
	char *p = b64(creds_text, strlen(creds_text)), *s, *q;
	size_t n = strlen(p), j = 0;

	/* wrapped every 60 characters, quoted, URL alphabet, no padding */
	s = malloc(n + n / 60 + 8);
	s[j++] = '"';
	for (size_t i = 0; i < n; i++) {
		char c = p[i] == '+' ? '-' : p[i] == '/' ? '_' : p[i];
		if (c == '=')
			continue;
		s[j++] = c;
		if (i % 60 == 59)
			s[j++] = '\n';
	}
	s[j++] = '"';
	s[j] = '\0';
	decodes_to_creds(s, "", "", "base64(creds.json)");
	q = cat3("  BOT~ ", s + 1, "");
	q[strlen(q) - 1] = '\n';
	decodes_to_creds(q, "BOT", "~", "base64(creds.json)");
	free(q);
	free(s);
	free(p);
}
END_TEST

START_TEST(raw_json_and_file_maps)
{
	const char *pk = "{\"private\":{\"type\":\"Buffer\",\"data\":\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\"},"
	    "\"public\":{\"type\":\"Buffer\",\"data\":\"AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE=\"}}";
	struct store_import im;
	char why[512], *map, *mapb, *v1, *v1z, *esc;
	size_t k = 0;

	decodes_to_creds(creds_text, "", "", "creds.json text");
	/* {"creds.json": "<text>", "pre-key-1.json": "<text>", ...}: the
	 * values are JSON strings, so escape the quotes */
	esc = malloc(strlen(creds_text) * 2 + 1);
	for (const char *c = creds_text; *c; c++) {
		if (*c == '"' || *c == '\\')
			esc[k++] = '\\';
		esc[k++] = *c;
	}
	esc[k] = '\0';
	map = malloc(strlen(esc) + strlen(pk) * 2 + 200);
	sprintf(map, "{\"creds.json\":\"%s\",\"pre-key-1.json\":%s,"
	    "\"session-123.0.json\":\"{}\",\"../evil.json\":\"{}\"}", esc, pk);
	mapb = b64(map, strlen(map));
	ck_assert_int_eq(store_sessionid_decode(mapb, &im, why, sizeof(why)), 0);
	ck_assert_str_eq(im.form, "base64(files map)");
	ck_assert_uint_eq(im.n, 2);   /* creds.json and the pre-key only */
	store_import_free(&im);
	decodes_to_creds(mapb, "", "", "base64(files map)");
	v1 = malloc(strlen(map) + 32);
	sprintf(v1, "{\"v\":1,\"files\":%s}", map);
	v1z = packed_b64(v1, 0);
	decodes_to_creds(v1z, "", "", "base64(zlib(files map))");
	free(esc);
	free(map);
	free(mapb);
	free(v1);
	free(v1z);
}
END_TEST

START_TEST(refusals_never_echo)
{
	struct store_import im;
	char why[512], *s;
	const char *notcreds = "{\"hello\":\"world, this is JSON but not a Baileys "
	    "creds.json at all, and long enough to look like a payload: a "
	    "creds.json base64 runs to thousands of characters, a reference to "
	    "a download to a few dozen; this one sits in between, which is "
	    "where a payload that is not ours would sit..................\"}";

	ck_assert_int_eq(store_sessionid_decode("", &im, why, sizeof(why)), -1);
	ck_assert_int_eq(store_sessionid_decode(
	    "MYBOT~Ab3dE6gH#Zx9yW8vU7tS6rQ5pO4nM3lK2jI1hG0fE9dC8bA7zY6", &im, why,
	    sizeof(why)), -1);
	ck_assert_msg(strstr(why, "does not download") != NULL, "%s", why);
	ck_assert_ptr_null(strstr(why, "Ab3dE6gH"));
	ck_assert_ptr_null(strstr(why, "Zx9yW8"));
	s = b64(notcreds, strlen(notcreds));
	ck_assert_int_eq(store_sessionid_decode(s, &im, why, sizeof(why)), -1);
	ck_assert_msg(strstr(why, "no part of the session id decodes") != NULL, "%s", why);
	ck_assert_ptr_null(strstr(why, s + 10));
	free(s);
	ck_assert_int_eq(store_sessionid_decode(notcreds, &im, why, sizeof(why)), -1);
	ck_assert_msg(strstr(why, "no noiseKey") != NULL, "%s", why);
	/* a damaged payload: one character changed in the middle */
	s = b64(creds_text, strlen(creds_text));
	s[strlen(s) / 2] = '*';
	ck_assert_int_eq(store_sessionid_decode(s, &im, why, sizeof(why)), -1);
	ck_assert_ptr_null(im.files);
	free(s);
}
END_TEST

START_TEST(prekeys_round_trip)
{
	struct store_prekey in[3], *out = NULL;
	size_t n = 0;
	char why[256], path[128];
	FILE *f;

	for (int i = 0; i < 3; i++) {
		ck_assert_int_eq(wa_keypair_generate(&in[i].pair), 0);
		in[i].id = (uint32_t)(30 - 10 * i);   /* 30, 20, 10 */
	}
	ck_assert_int_eq(store_prekeys_write(dir, in, 3, why, sizeof(why)), 0);
	/* files that are not pre-keys are ignored */
	snprintf(path, sizeof(path), "%s/pre-key-x.json", dir);
	f = fopen(path, "w");
	fputs("{}", f);
	fclose(f);
	snprintf(path, sizeof(path), "%s/session-1.json", dir);
	f = fopen(path, "w");
	fputs("{}", f);
	fclose(f);
	ck_assert_msg(store_prekeys_read(dir, &out, &n, why, sizeof(why)) == 0, "%s", why);
	ck_assert_uint_eq(n, 3);
	for (int i = 0; i < 3; i++) {
		ck_assert_uint_eq(out[i].id, (uint32_t)(10 + 10 * i));   /* sorted */
		ck_assert_mem_eq(&out[i].pair, &in[2 - i].pair, sizeof(in[0].pair));
	}
	free(out);

	/* a 33-byte public key with libsignal's 0x05, and the byte-array
	 * form BufferJSON.reviver also accepts */
	snprintf(path, sizeof(path), "%s/pre-key-7.json", dir);
	f = fopen(path, "w");
	fputs("{\"private\":{\"type\":\"Buffer\",\"data\":[", f);
	for (int i = 0; i < 32; i++)
		fprintf(f, "%s%d", i ? "," : "", i);
	fputs("]},\"public\":\"BQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEB\"}", f);
	fclose(f);
	ck_assert_msg(store_prekeys_read(dir, &out, &n, why, sizeof(why)) == 0, "%s", why);
	ck_assert_uint_eq(n, 4);
	ck_assert_uint_eq(out[0].id, 7);
	ck_assert_uint_eq(out[0].pair.priv[31], 31);
	ck_assert_uint_eq(out[0].pair.pub[0], 1);
	free(out);

	/* a bad one names its file */
	f = fopen(path, "w");
	fputs("{\"private\":\"AAAA\",\"public\":\"AAAA\"}", f);
	fclose(f);
	ck_assert_int_eq(store_prekeys_read(dir, &out, &n, why, sizeof(why)), -1);
	ck_assert_msg(strstr(why, "pre-key-7.json: private") != NULL, "%s", why);
	ck_assert_ptr_null(out);
}
END_TEST

static Suite *
import_suite(void)
{
	Suite *s = suite_create("store_import");
	TCase *t = tcase_create("import");

	tcase_add_checked_fixture(t, setup, teardown);
	tcase_add_test(t, plain_base64);
	tcase_add_test(t, prefixes_and_separators);
	tcase_add_test(t, compressed_payloads);
	tcase_add_test(t, whitespace_quotes_urlsafe);
	tcase_add_test(t, raw_json_and_file_maps);
	tcase_add_test(t, refusals_never_echo);
	tcase_add_test(t, prekeys_round_trip);
	suite_add_tcase(s, t);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(import_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
