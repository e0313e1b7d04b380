/*
 * tests/check_stanza.c: stanza builders and the classifier.  Each inbound
 * case is built as the server would send it, encoded and decoded through
 * the real codec, then classified.
 */
#include <check.h>
#include <string.h>
#include "wa/cert.h"
#include "wa/stanza.h"

static struct wa_arena A;

static void setup(void) { wa_arena_init(&A, 0); }
static void teardown(void) { wa_arena_free(&A); }

/* encode + decode: what the other side really sees */
static const struct wa_node *
wire(const struct wa_node *n)
{
	struct wa_buf b = { 0 };
	struct wa_node *out = NULL;

	ck_assert_ptr_nonnull(n);
	ck_assert_int_eq(wa_node_encode_frame(n, &b), 0);
	ck_assert_int_eq(wa_node_decode_frame(b.data, b.len, &A, &out), 0);
	wa_buf_free(&b);
	return out;
}

static struct wa_inbound
classify(const struct wa_node *n)
{
	struct wa_inbound in;
	wa_stanza_classify(wire(n), &in);
	return in;
}

START_TEST(stream_errors_map_to_reasons)
{
	struct wa_inbound in;

	in = classify(wa_stanza_stream_error(&A, 515));
	ck_assert_int_eq(in.kind, WA_IN_STREAM_ERROR);
	ck_assert_int_eq(in.reason, WA_R_RESTART_REQUIRED);
	in = classify(wa_stanza_stream_error(&A, 503));
	ck_assert_int_eq(in.reason, WA_R_UNAVAILABLE);
	in = classify(wa_stanza_stream_error(&A, 401));
	ck_assert_int_eq(in.reason, WA_R_LOGGED_OUT);
	in = classify(wa_stanza_conflict(&A, "replaced"));
	ck_assert_int_eq(in.reason, WA_R_REPLACED);
	ck_assert_str_eq(in.text, "replaced");
	in = classify(wa_stanza_conflict(&A, "device_removed"));
	ck_assert_int_eq(in.reason, WA_R_LOGGED_OUT);
	in = classify(wa_stanza_stream_end(&A));
	ck_assert_int_eq(in.kind, WA_IN_STREAM_END);
	ck_assert_int_eq(in.reason, WA_R_CONNECTION_CLOSED);
	/* an unknown stream error without a code is a bad session (500) */
	in = classify(wa_node_new(&A, "stream:error"));
	ck_assert_int_eq(in.reason, WA_R_BAD_SESSION);
}
END_TEST

START_TEST(login_outcomes)
{
	struct wa_inbound in;

	in = classify(wa_stanza_success(&A, 1800000000ULL, "123@lid"));
	ck_assert_int_eq(in.kind, WA_IN_SUCCESS);
	in = classify(wa_stanza_failure(&A, 401));
	ck_assert_int_eq(in.kind, WA_IN_FAILURE);
	ck_assert_int_eq(in.reason, WA_R_LOGGED_OUT);
	in = classify(wa_stanza_failure(&A, 405));
	ck_assert_int_eq(in.reason, WA_R_CLIENT_OUTDATED);
	ck_assert_int_eq(in.code, 405);
}
END_TEST

START_TEST(ping_and_result)
{
	const struct wa_node *p = wire(wa_stanza_ping(&A, "p1"));
	struct wa_inbound in;
	struct wa_node *res;

	ck_assert_str_eq(p->tag, "iq");
	ck_assert_str_eq(wa_node_attr(p, "xmlns"), "w:p");
	ck_assert_str_eq(wa_node_attr(p, "type"), "get");
	ck_assert_str_eq(wa_node_attr(p, "to"), "s.whatsapp.net");
	ck_assert_ptr_nonnull(wa_node_child(p, "ping"));
	wa_stanza_classify(p, &in);
	ck_assert_int_eq(in.kind, WA_IN_IQ_REQUEST);
	ck_assert_str_eq(in.id, "p1");
	/* the answer to a server's request: same id, type result */
	res = wa_stanza_iq_result(&A, p);
	in = classify(res);
	ck_assert_int_eq(in.kind, WA_IN_IQ_RESULT);
	ck_assert_str_eq(in.id, "p1");
}
END_TEST

START_TEST(presence_needs_a_name)
{
	const struct wa_node *p = wire(wa_stanza_presence(&A, "Bot", 0));
	ck_assert_str_eq(wa_node_attr(p, "type"), "unavailable");
	ck_assert_str_eq(wa_node_attr(p, "name"), "Bot");
	ck_assert_ptr_null(wa_stanza_presence(&A, "", 1));
	ck_assert_ptr_null(wa_stanza_presence(&A, NULL, 1));
}
END_TEST

START_TEST(prekey_upload_shape)
{
	struct wa_creds c;
	struct wa_keypair keys[5];
	const struct wa_node *n, *list, *skey;

	ck_assert_int_eq(wa_creds_generate(&c), 0);
	n = wire(wa_stanza_prekey_upload(&A, "u1", &c, keys, 100, 5));
	ck_assert_str_eq(wa_node_attr(n, "xmlns"), "encrypt");
	ck_assert_uint_eq(wa_node_child(n, "registration")->len, 4);
	ck_assert_uint_eq(wa_node_child(n, "type")->data[0], 5);
	ck_assert(memcmp(wa_node_child(n, "identity")->data, c.identity.pub, 32) == 0);
	list = wa_node_child(n, "list");
	ck_assert_uint_eq(list->nchildren, 5);
	/* ids are 3 bytes big-endian: 100 .. 104 */
	ck_assert_int_eq(wa_node_child(&list->children[4], "id")->data[2], 104);
	ck_assert(memcmp(wa_node_child(&list->children[0], "value")->data, keys[0].pub, 32) == 0);
	skey = wa_node_child(n, "skey");
	ck_assert_uint_eq(wa_node_child(skey, "signature")->len, 64);
	wa_creds_wipe(&c);
}
END_TEST

START_TEST(payloads_round_trip)
{
	struct wa_creds c;
	struct wa_version v = { 2, 3000, 1027934701 };
	struct wa_buf b = { 0 };
	struct wa_login l;

	ck_assert_int_eq(wa_creds_generate(&c), 0);
	strcpy(c.me_jid, "15550001234:7@s.whatsapp.net");
	ck_assert_int_eq(wa_payload_login(&c, &v, &b), 0);
	ck_assert_int_eq(wa_payload_parse(b.data, b.len, &l), 0);
	ck_assert(!l.registration);
	ck_assert_uint_eq(l.username, 15550001234ULL);
	ck_assert_uint_eq(l.device, 7);
	ck_assert(l.passive);
	ck_assert_uint_eq(l.version.tertiary, 1027934701);
	b.len = 0;
	ck_assert_int_eq(wa_payload_register(&c, &v, &b), 0);
	ck_assert_int_eq(wa_payload_parse(b.data, b.len, &l), 0);
	ck_assert(l.registration);
	ck_assert(memcmp(l.identity_pub, c.identity.pub, 32) == 0);
	/* a jid without a number is refused, not sent */
	strcpy(c.me_jid, "@s.whatsapp.net");
	b.len = 0;
	ck_assert_int_lt(wa_payload_login(&c, &v, &b), 0);
	ck_assert_int_lt(wa_payload_parse((const uint8_t *)"\xff\xff", 2, &l), 0);
	wa_buf_free(&b);
	wa_creds_wipe(&c);
}
END_TEST

START_TEST(signed_prekey_signature_verifies)
{
	struct wa_creds c;
	uint8_t msg[33];

	ck_assert_int_eq(wa_creds_generate(&c), 0);
	msg[0] = 5;
	memcpy(msg + 1, c.signed_prekey.pub, 32);
	ck_assert_int_eq(wa_xeddsa_verify(c.identity.pub, msg, 33, c.signed_prekey_sig), 0);
	msg[5] ^= 1;
	ck_assert_int_ne(wa_xeddsa_verify(c.identity.pub, msg, 33, c.signed_prekey_sig), 0);
	wa_creds_wipe(&c);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("stanza");
	TCase *tc = tcase_create("stanza");
	SRunner *sr;
	int failed;

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, stream_errors_map_to_reasons);
	tcase_add_test(tc, login_outcomes);
	tcase_add_test(tc, ping_and_result);
	tcase_add_test(tc, presence_needs_a_name);
	tcase_add_test(tc, prekey_upload_shape);
	tcase_add_test(tc, payloads_round_trip);
	tcase_add_test(tc, signed_prekey_signature_verifies);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
