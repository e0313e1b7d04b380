/*
 * tests/check_baileys.c: Baileys' creds.json (src/store/baileys.c).
 *  - a full credential set survives store_baileys_write + read, and the
 *    file has the shape Baileys writes (Buffers, base64 strings, me,
 *    registered, account, signalIdentities), mode 0600 in a 0700 folder;
 *  - a file written by stock Baileys 7.0.0-rc14 (fixture below) reads;
 *  - writing into an existing creds.json keeps the fields we don't hold;
 *  - every malformed file gives an error whose `why` names the file and
 *    the field.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <json-c/json.h>
#include <openssl/rand.h>
#include "util.h"
#include "store/baileys.h"
#include "wa.pb-c.h"

/* Written by stock Baileys 7.0.0-rc14: initAuthCreds(), then me,
 * account, platform, signalIdentities and lastPropHash set as pairing
 * sets them, JSON.stringify(creds, BufferJSON.replacer). */
static const char baileys_fixture[] =
    "{\"noiseKey\":{\"private\":{\"type\":\"Buffer\",\"data\":"
    "\"0DkqXxrOdaG9UFzyB4wmXESpxW0WiLSGIuUEyx0IpHA=\"},\"public\":{\"type\":"
    "\"Buffer\",\"data\":\"KitgJzuph6sfvI9auYZpA9dTY9BRHE0KEwxNyQyWESk=\"}},"
    "\"pairingEphemeralKeyPair\":{\"private\":{\"type\":\"Buffer\",\"data\":"
    "\"wODp66oz3GMf34VtoOj/VPiHh4Awou3aKhAVpumc0Ww=\"},\"public\":{\"type\":"
    "\"Buffer\",\"data\":\"6WJvdT/LFCsFGotp4F2+3wvD2LIocZIEDcmCQ3ABAD8=\"}},"
    "\"signedIdentityKey\":{\"private\":{\"type\":\"Buffer\",\"data\":"
    "\"qGbzVKLZ7utMDyGmvHFccM+AqcBwjY8AWlvgQK+G0Ug=\"},\"public\":{\"type\":"
    "\"Buffer\",\"data\":\"kxlgoBxFgVvgmxa3Fy1/u5YRjTuZlSpj7D9mP2WOvh8=\"}},"
    "\"signedPreKey\":{\"keyPair\":{\"private\":{\"type\":\"Buffer\",\"data\":"
    "\"EE7s3D4Eyeh/4pZuM8pXNXSmjC5t/hAp14DZlbtuYkU=\"},\"public\":{\"type\":"
    "\"Buffer\",\"data\":\"Wop+HdOQFQow0LY19NOxLH0edzJmpwE0hpz99KHE2B0=\"}},"
    "\"signature\":{\"type\":\"Buffer\",\"data\":\"soKuOS898JCeWucQG2QlU6Zky"
    "kf4XJPA9ccREquPBceVavdqpnlO/G6vJpAPLIiwU57pDfHS+7wwkOwlh+U8CQ==\"},"
    "\"keyId\":1},\"registrationId\":164,\"advSecretKey\":"
    "\"TV18rpWPoxBtgih+hqnFbXCcl9X486Mgb3RvQ3ivzYk=\","
    "\"processedHistoryMessages\":[],\"nextPreKeyId\":1,"
    "\"firstUnuploadedPreKeyId\":1,\"accountSyncCounter\":0,"
    "\"accountSettings\":{\"unarchiveChats\":false},\"registered\":true,"
    "\"lastPropHash\":\"2V77qU\",\"me\":{\"id\":"
    "\"15550001234:7@s.whatsapp.net\",\"lid\":\"99887766:7@lid\",\"name\":"
    "\"Fixture\"},\"account\":{\"details\":\"CAEQAg==\","
    "\"accountSignatureKey\":"
    "\"BwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwc=\",\"accountSignature\":"
    "\"AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEB"
    "AQEBAQEBAQEBAQEBAQ==\",\"deviceSignature\":\"CQkJCQkJCQkJCQkJCQkJCQkJ"
    "CQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQ==\"},"
    "\"platform\":\"smba\",\"signalIdentities\":[{\"identifier\":{\"name\":"
    "\"99887766:7@lid\",\"deviceId\":0},\"identifierKey\":{\"type\":"
    "\"Buffer\",\"data\":\"BQcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcH\"}}]}";

static char dir[64];

static void
setup(void)
{
	snprintf(dir, sizeof(dir), "/tmp/check_baileys.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
}

static void
teardown(void)
{
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	ck_assert_int_eq(system(cmd), 0);
}

static void
put_file(const char *text)
{
	char path[128];
	FILE *f;

	snprintf(path, sizeof(path), "%s/creds.json", dir);
	f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	ck_assert_int_eq(fputs(text, f) >= 0, 1);
	ck_assert_int_eq(fclose(f), 0);
}

static json_object *
get_file(void)
{
	char path[128], *text;
	json_object *o;

	snprintf(path, sizeof(path), "%s/creds.json", dir);
	text = test_slurp(path);
	ck_assert_ptr_nonnull(text);
	o = json_tokener_parse(text);
	free(text);
	ck_assert_ptr_nonnull(o);
	return o;
}

static const char *
str_at(json_object *o, const char *a, const char *b, const char *c)
{
	const char *k[3] = { a, b, c };
	int i;

	for (i = 0; i < 3 && k[i] != NULL; i++)
		if (!json_object_object_get_ex(o, k[i], &o))
			return NULL;
	return json_object_is_type(o, json_type_string) ?
	    json_object_get_string(o) : NULL;
}

/* A complete, paired credential set with every field non-trivial. */
static void
make_creds(struct wa_creds *c)
{
	Wa__ADVSignedDeviceIdentity a = WA__ADVSIGNED_DEVICE_IDENTITY__INIT;
	uint8_t details[20], key[32], sig[64], dsig[64];

	memset(c, 0, sizeof(*c));
	ck_assert_int_eq(wa_keypair_generate(&c->noise), 0);
	ck_assert_int_eq(wa_keypair_generate(&c->identity), 0);
	ck_assert_int_eq(wa_keypair_generate(&c->signed_prekey), 0);
	ck_assert_int_eq(RAND_bytes(c->signed_prekey_sig, 64), 1);
	ck_assert_int_eq(RAND_bytes(c->adv_secret, 32), 1);
	ck_assert_int_eq(RAND_bytes(details, sizeof(details)), 1);
	ck_assert_int_eq(RAND_bytes(key, sizeof(key)), 1);
	ck_assert_int_eq(RAND_bytes(sig, sizeof(sig)), 1);
	ck_assert_int_eq(RAND_bytes(dsig, sizeof(dsig)), 1);
	ck_assert_int_eq(RAND_bytes(c->routing, 23), 1);
	c->routing_len = 23;
	c->signed_prekey_id = 3;
	c->registration_id = 12345;
	c->next_prekey_id = 31;
	c->first_unuploaded_prekey_id = 29;
	strcpy(c->me_jid, "15550001234:12@s.whatsapp.net");
	strcpy(c->me_lid, "223344556677:12@lid");
	strcpy(c->push_name, "Keeper \"Bot\" \xc3\xa9");
	strcpy(c->platform, "android");
	a.has_details = a.has_accountsignaturekey = a.has_accountsignature =
	    a.has_devicesignature = 1;
	a.details.data = details;
	a.details.len = sizeof(details);
	a.accountsignaturekey.data = key;
	a.accountsignaturekey.len = sizeof(key);
	a.accountsignature.data = sig;
	a.accountsignature.len = sizeof(sig);
	a.devicesignature.data = dsig;
	a.devicesignature.len = sizeof(dsig);
	c->account_len = wa__advsigned_device_identity__pack(&a, c->account);
}

static void
assert_same(const struct wa_creds *a, const struct wa_creds *b)
{
	ck_assert_mem_eq(&a->noise, &b->noise, sizeof(a->noise));
	ck_assert_mem_eq(&a->identity, &b->identity, sizeof(a->identity));
	ck_assert_mem_eq(&a->signed_prekey, &b->signed_prekey,
	    sizeof(a->signed_prekey));
	ck_assert_uint_eq(a->signed_prekey_id, b->signed_prekey_id);
	ck_assert_mem_eq(a->signed_prekey_sig, b->signed_prekey_sig, 64);
	ck_assert_uint_eq(a->registration_id, b->registration_id);
	ck_assert_mem_eq(a->adv_secret, b->adv_secret, 32);
	ck_assert_str_eq(a->me_jid, b->me_jid);
	ck_assert_str_eq(a->me_lid, b->me_lid);
	ck_assert_str_eq(a->push_name, b->push_name);
	ck_assert_str_eq(a->platform, b->platform);
	ck_assert_uint_eq(a->account_len, b->account_len);
	ck_assert_mem_eq(a->account, b->account, a->account_len);
	ck_assert_uint_eq(a->routing_len, b->routing_len);
	ck_assert_mem_eq(a->routing, b->routing, a->routing_len);
	ck_assert_uint_eq(a->next_prekey_id, b->next_prekey_id);
	ck_assert_uint_eq(a->first_unuploaded_prekey_id,
	    b->first_unuploaded_prekey_id);
}

START_TEST(round_trip)
{
	struct wa_creds c, back;
	char why[256] = "";

	make_creds(&c);
	ck_assert_msg(store_baileys_write(dir, &c, why, sizeof(why)) == 0,
	    "%s", why);
	ck_assert_msg(store_baileys_read(dir, &back, why, sizeof(why)) == 0,
	    "%s", why);
	assert_same(&c, &back);
	/* and again: a second write over the first changes nothing */
	ck_assert_int_eq(store_baileys_write(dir, &back, why, sizeof(why)), 0);
	ck_assert_int_eq(store_baileys_read(dir, &back, why, sizeof(why)), 0);
	assert_same(&c, &back);
}
END_TEST

START_TEST(unpaired_round_trip)
{
	struct wa_creds c, back;
	char why[256] = "";
	json_object *o, *v;

	make_creds(&c);
	c.me_jid[0] = c.me_lid[0] = c.push_name[0] = c.platform[0] = '\0';
	c.account_len = c.routing_len = 0;
	ck_assert_int_eq(store_baileys_write(dir, &c, why, sizeof(why)), 0);
	ck_assert_msg(store_baileys_read(dir, &back, why, sizeof(why)) == 0,
	    "%s", why);
	assert_same(&c, &back);
	o = get_file();
	ck_assert(!json_object_object_get_ex(o, "me", NULL));
	ck_assert(!json_object_object_get_ex(o, "account", NULL));
	ck_assert(json_object_object_get_ex(o, "registered", &v));
	ck_assert(!json_object_get_boolean(v));
	json_object_put(o);
}
END_TEST

START_TEST(baileys_shape)
{
	struct wa_creds c;
	char why[256], path[128];
	json_object *o, *v;
	struct stat st;

	make_creds(&c);
	ck_assert_int_eq(store_baileys_write(dir, &c, why, sizeof(why)), 0);
	o = get_file();
	ck_assert_str_eq(str_at(o, "noiseKey", "private", "type"), "Buffer");
	ck_assert_ptr_nonnull(str_at(o, "noiseKey", "public", "data"));
	ck_assert_str_eq(str_at(o, "pairingEphemeralKeyPair", "public",
	    "type"), "Buffer");
	ck_assert_str_eq(str_at(o, "signedIdentityKey", "public", "type"),
	    "Buffer");
	ck_assert_str_eq(str_at(o, "signedPreKey", "signature", "type"),
	    "Buffer");
	/* Baileys keeps these as strings, not Buffers */
	ck_assert_ptr_nonnull(str_at(o, "advSecretKey", NULL, NULL));
	ck_assert_ptr_nonnull(str_at(o, "account", "details", NULL));
	ck_assert_ptr_nonnull(str_at(o, "account", "deviceSignature", NULL));
	ck_assert_str_eq(str_at(o, "me", "id", NULL),
	    "15550001234:12@s.whatsapp.net");
	ck_assert_str_eq(str_at(o, "me", "lid", NULL), "223344556677:12@lid");
	ck_assert(json_object_object_get_ex(o, "registered", &v) &&
	    json_object_get_boolean(v));
	ck_assert(json_object_object_get_ex(o, "signalIdentities", &v) &&
	    json_object_array_length(v) == 1);
	ck_assert(json_object_object_get_ex(o, "processedHistoryMessages",
	    &v) && json_object_is_type(v, json_type_array));
	ck_assert(json_object_object_get_ex(o, "accountSettings", &v));
	ck_assert(json_object_object_get_ex(o, "accountSyncCounter", &v));
	json_object_put(o);
	snprintf(path, sizeof(path), "%s/creds.json", dir);
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_uint_eq(st.st_mode & 0777, 0600);
}
END_TEST

START_TEST(new_dir_is_private)
{
	struct wa_creds c;
	char why[256], sub[128];
	struct stat st;

	make_creds(&c);
	snprintf(sub, sizeof(sub), "%s/a/b", dir);
	ck_assert_msg(store_baileys_write(sub, &c, why, sizeof(why)) == 0,
	    "%s", why);
	ck_assert_int_eq(stat(sub, &st), 0);
	ck_assert_uint_eq(st.st_mode & 0777, 0700);
}
END_TEST

START_TEST(reads_stock_baileys_file)
{
	struct wa_creds c;
	char why[256] = "";
	static const uint8_t noise_pub_head[4] = { 0x2a, 0x2b, 0x60, 0x27 };

	put_file(baileys_fixture);
	ck_assert_msg(store_baileys_read(dir, &c, why, sizeof(why)) == 0,
	    "%s", why);
	ck_assert_mem_eq(c.noise.pub, noise_pub_head, 4);
	ck_assert_str_eq(c.me_jid, "15550001234:7@s.whatsapp.net");
	ck_assert_str_eq(c.me_lid, "99887766:7@lid");
	ck_assert_str_eq(c.push_name, "Fixture");
	ck_assert_str_eq(c.platform, "smba");
	ck_assert_uint_eq(c.registration_id, 164);
	ck_assert_uint_eq(c.signed_prekey_id, 1);
	ck_assert_uint_eq(c.next_prekey_id, 1);
	ck_assert_uint_gt(c.account_len, 64 + 64 + 32);
}
END_TEST

START_TEST(write_keeps_other_fields)
{
	struct wa_creds c;
	char why[256];
	json_object *o;

	put_file(baileys_fixture);
	ck_assert_int_eq(store_baileys_read(dir, &c, why, sizeof(why)), 0);
	c.registration_id = 999;
	ck_assert_int_eq(store_baileys_write(dir, &c, why, sizeof(why)), 0);
	o = get_file();
	ck_assert_str_eq(str_at(o, "lastPropHash", NULL, NULL), "2V77qU");
	/* the pairing-code key pair Baileys made is kept, not replaced */
	ck_assert_str_eq(str_at(o, "pairingEphemeralKeyPair", "public",
	    "data"), "6WJvdT/LFCsFGotp4F2+3wvD2LIocZIEDcmCQ3ABAD8=");
	json_object_put(o);
	ck_assert_int_eq(store_baileys_read(dir, &c, why, sizeof(why)), 0);
	ck_assert_uint_eq(c.registration_id, 999);
}
END_TEST

START_TEST(reads_old_buffer_forms)
{
	struct wa_creds c;
	char why[256] = "";
	json_object *o, *priv, *arr, *num;
	uint8_t raw[32];
	char key[8];
	int i;

	put_file(baileys_fixture);
	ck_assert_int_eq(store_baileys_read(dir, &c, why, sizeof(why)), 0);
	memcpy(raw, c.signed_prekey.priv, 32);
	o = get_file();
	/* {"type":"Buffer","data":[...]} and {"0":..,"1":..} */
	arr = json_object_new_array();
	num = json_object_new_object();
	for (i = 0; i < 32; i++) {
		json_object_array_add(arr, json_object_new_int(raw[i]));
		snprintf(key, sizeof(key), "%d", 31 - i);
		json_object_object_add(num, key,
		    json_object_new_int(raw[31 - i]));
	}
	json_object_object_get_ex(o, "signedPreKey", &priv);
	json_object_object_get_ex(priv, "keyPair", &priv);
	json_object_object_get_ex(priv, "private", &priv);
	json_object_object_add(priv, "data", arr);
	put_file(json_object_to_json_string(o));
	ck_assert_msg(store_baileys_read(dir, &c, why, sizeof(why)) == 0,
	    "%s", why);
	ck_assert_mem_eq(c.signed_prekey.priv, raw, 32);
	json_object_object_get_ex(o, "signedPreKey", &priv);
	json_object_object_get_ex(priv, "keyPair", &priv);
	json_object_object_add(priv, "private", num);
	put_file(json_object_to_json_string(o));
	ck_assert_msg(store_baileys_read(dir, &c, why, sizeof(why)) == 0,
	    "%s", why);
	ck_assert_mem_eq(c.signed_prekey.priv, raw, 32);
	json_object_put(o);
}
END_TEST

/* --- malformed files: each edit of the fixture and the words `why` must
 * contain (besides the file name) --------------------------------------- */
struct bad {
	const char *find, *replace;  /* find == NULL: replace is the file */
	const char *why;
};

static const struct bad bads[] = {
	{ NULL, "", "empty file" },
	{ NULL, "{\"noiseKey\": {", "ends early" },
	{ NULL, "{\n  \"noiseKey\": nope\n}", "not valid JSON at line 2" },
	{ NULL, "[1, 2]", "expected a JSON object, found array" },
	{ NULL, "{} x", "text after the end" },
	{ NULL, "{}", "noiseKey.private: missing" },
	{ "\"noiseKey\":{\"private\"", "\"noiseKey\":{\"privat\"",
	    "noiseKey.private: missing" },
	{ "KitgJzuph6sfvI9auYZpA9dTY9BRHE0KEwxNyQyWESk=",
	    "KitgJzuph6sfvI9auYZpA9dTY9BRHE0KEwxNyQyW", /* 30 bytes */
	    "noiseKey.public: expected 32 to 33 bytes, found 30" },
	{ "KitgJzuph6sfvI9auYZpA9dTY9BRHE0KEwxNyQyWESk=",
	    "KitgJzuph6sfvI9auYZpA9dTY9BRHE0KEwxNyQyWESs=",
	    "noiseKey: public key does not belong to the private key" },
	{ "0DkqXxrOdaG9UFzyB4wmXESpxW0WiLSGIuUEyx0IpHA=",
	    "0DkqXxrOdaG9UFzyB4wmXESpxW0WiLSGIuUEyx0Ip*A=",
	    "noiseKey.private: Buffer data is not valid base64" },
	{ "\"signature\":{\"type\":\"Buffer\",\"data\":\"soKu",
	    "\"signature\":{\"type\":\"Buffer\",\"data\":\"AAsoKu",
	    "signedPreKey.signature: expected 64 bytes" },
	{ "\"keyId\":1", "\"keyId\":\"1\"",
	    "signedPreKey.keyId: expected an integer, found string" },
	{ "\"registrationId\":164", "\"registrationId\":-4",
	    "registrationId: out of range" },
	{ "\"registrationId\":164,", "",
	    "registrationId: missing" },
	{ "\"advSecretKey\":\"TV18rpWPoxBtgih+hqnFbXCcl9X486Mgb3RvQ3ivzYk=\"",
	    "\"advSecretKey\":\"TV18\"",
	    "advSecretKey: expected 32 bytes, found 3" },
	{ "\"id\":\"15550001234:7@s.whatsapp.net\"", "\"id\":\"+1555@x\"",
	    "me.id: \"+1555@x\" is not PHONE[:DEVICE]@server" },
	{ "\"id\":\"15550001234:7@s.whatsapp.net\",", "",
	    "me.id: missing" },
	{ "\"name\":\"Fixture\"", "\"name\":7",
	    "me.name: expected a string, found int" },
	{ "\"details\":\"CAEQAg==\"", "\"details\":{\"type\":\"Buffer\"}",
	    "account.details: Buffer without data" },
	{ "\"deviceSignature\":\"CQkJ", "\"deviceSignature\":\"CQkJCQkJ",
	    "account.deviceSignature: expected 64 bytes" },
	{ "\"signedIdentityKey\":{\"private\":{\"type\":\"Buffer\",\"data\":"
	    "\"qGbzVKLZ7utMDyGmvHFccM+AqcBwjY8AWlvgQK+G0Ug=\"}",
	    "\"signedIdentityKey\":{\"private\":"
	    "\"qGbzVKLZ7utMDyGmvHFccM+AqcBwjY8AWlvgQK+G0Ug=\"",
	    "signedIdentityKey.private: expected a Buffer" },
};

START_TEST(malformed_says_why)
{
	const struct bad *b = &bads[_i];
	struct wa_creds c;
	char why[512] = "", *text, *at, want_file[128];
	size_t fl, rl;

	if (b->find == NULL) {
		put_file(b->replace);
	} else {
		at = strstr(baileys_fixture, b->find);
		ck_assert_msg(at != NULL, "case %d: fixture lacks %s", _i,
		    b->find);
		fl = strlen(b->find);
		rl = strlen(b->replace);
		text = malloc(sizeof(baileys_fixture) + rl);
		memcpy(text, baileys_fixture, (size_t)(at - baileys_fixture));
		memcpy(text + (at - baileys_fixture), b->replace, rl);
		strcpy(text + (at - baileys_fixture) + rl, at + fl);
		put_file(text);
		free(text);
	}
	memset(&c, 0xAA, sizeof(c));
	ck_assert_int_lt(store_baileys_read(dir, &c, why, sizeof(why)), 0);
	snprintf(want_file, sizeof(want_file), "%s/creds.json: ", dir);
	ck_assert_msg(strncmp(why, want_file, strlen(want_file)) == 0,
	    "case %d: why does not name the file: %s", _i, why);
	ck_assert_msg(strstr(why, b->why) != NULL,
	    "case %d: want \"%s\" in \"%s\"", _i, b->why, why);
	/* nothing half-read is left behind */
	ck_assert_uint_eq(c.noise.priv[0], 0);
	ck_assert_uint_eq(c.me_jid[0], 0);
}
END_TEST

START_TEST(missing_file_says_why)
{
	struct wa_creds c;
	char why[256] = "";

	ck_assert_int_lt(store_baileys_read(dir, &c, why, sizeof(why)), 0);
	ck_assert_msg(strstr(why, "creds.json: No such file") != NULL, "%s",
	    why);
}
END_TEST

START_TEST(write_into_unwritable_says_why)
{
	struct wa_creds c;
	char why[256] = "";

	if (geteuid() == 0)
		return;  /* root writes anywhere */
	make_creds(&c);
	ck_assert_int_lt(store_baileys_write("/proc/nope", &c, why,
	    sizeof(why)), 0);
	ck_assert_msg(strstr(why, "/proc/nope") != NULL, "%s", why);
}
END_TEST

static Suite *
suite(void)
{
	Suite *s = suite_create("baileys");
	TCase *tc = tcase_create("creds.json");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, round_trip);
	tcase_add_test(tc, unpaired_round_trip);
	tcase_add_test(tc, baileys_shape);
	tcase_add_test(tc, new_dir_is_private);
	tcase_add_test(tc, reads_stock_baileys_file);
	tcase_add_test(tc, write_keeps_other_fields);
	tcase_add_test(tc, reads_old_buffer_forms);
	tcase_add_loop_test(tc, malformed_says_why, 0,
	    (int)(sizeof(bads) / sizeof(bads[0])));
	tcase_add_test(tc, missing_file_says_why);
	tcase_add_test(tc, write_into_unwritable_says_why);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
