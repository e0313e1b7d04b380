/*
 * tests/check_handshake.c: the WhatsApp handshake, client against server,
 * in one process, with a certificate chain from wa_cert_issue_chain and
 * strict verification; then transport frames both ways.
 */
#include <check.h>
#include <string.h>
#include "wa/cert.h"
#include "wa/frame.h"
#include "wa/handshake.h"

#define NOW 1800000000ULL

struct pair {
	struct wa_keypair root, server, client;
	struct wa_buf chain;
	struct wa_hs c, s;
	struct wa_transport ct, st;
};

static struct pair P;

static void
setup(void)
{
	memset(&P, 0, sizeof(P));
	ck_assert_int_eq(wa_keypair_generate(&P.root), 0);
	ck_assert_int_eq(wa_keypair_generate(&P.server), 0);
	ck_assert_int_eq(wa_keypair_generate(&P.client), 0);
	ck_assert_int_eq(wa_cert_issue_chain(P.root.priv, P.server.pub, 7,
	    NOW - 3600, NOW + 3600, &P.chain), 0);
}

static void
teardown(void)
{
	wa_buf_free(&P.chain);
	wa_transport_wipe(&P.ct);
	wa_transport_wipe(&P.st);
}

/* Runs the three messages; returns the client's finish result. */
static int
run(const uint8_t *root, uint64_t now, char *why, size_t whylen,
    struct wa_buf *payload_seen)
{
	struct wa_buf m1 = { 0 }, m2 = { 0 }, m3 = { 0 };
	const uint8_t login[] = "pretend ClientPayload";
	int rc;

	ck_assert_int_eq(wa_hs_client_start(&P.c, &m1), 0);
	ck_assert_int_eq(wa_hs_server_hello(&P.s, m1.data, m1.len, &P.server,
	    P.chain.data, P.chain.len, &m2), 0);
	rc = wa_hs_client_finish(&P.c, m2.data, m2.len, &P.client, login,
	    sizeof(login), root, now, &m3, &P.ct, why, whylen);
	if (rc == 0) {
		ck_assert_int_eq(wa_hs_server_finish(&P.s, m3.data, m3.len,
		    payload_seen, &P.st), 0);
		ck_assert_uint_eq(payload_seen->len, sizeof(login));
		ck_assert(memcmp(payload_seen->data, login, sizeof(login)) == 0);
		/* the server learnt the key the client proved */
		ck_assert(memcmp(P.s.client_static, P.client.pub, 32) == 0);
		ck_assert(memcmp(P.c.server_static, P.server.pub, 32) == 0);
	}
	wa_buf_free(&m1);
	wa_buf_free(&m2);
	wa_buf_free(&m3);
	return rc;
}

START_TEST(strict_handshake_and_transport)
{
	struct wa_buf seen = { 0 }, wire = { 0 }, plain = { 0 };
	struct wa_frame_reader r;
	const uint8_t *f;
	size_t flen;
	char why[200] = "";

	ck_assert_msg(run(P.root.pub, NOW, why, sizeof(why), &seen) == 0, "%s", why);
	/* client -> server, three frames in one buffer */
	for (int i = 0; i < 3; i++) {
		uint8_t msg[2] = { 'c', (uint8_t)('0' + i) };
		ck_assert_int_eq(wa_transport_seal(&P.ct, msg, 2, &wire), 0);
	}
	wa_frame_reader_init(&r, WA_FRAME_MAX, 0);
	ck_assert_int_eq(wa_frame_feed(&r, wire.data, wire.len), 0);
	for (int i = 0; i < 3; i++) {
		ck_assert_int_eq(wa_frame_next(&r, &f, &flen), 1);
		ck_assert_int_eq(wa_transport_open(&P.st, f, flen, &plain), 0);
		ck_assert_uint_eq(plain.len, 2);
		ck_assert_int_eq(plain.data[1], '0' + i);
	}
	ck_assert_int_eq(wa_frame_next(&r, &f, &flen), 0);
	/* server -> client */
	wire.len = 0;
	ck_assert_int_eq(wa_transport_seal(&P.st, (const uint8_t *)"pong", 4, &wire), 0);
	ck_assert_int_eq(wa_transport_open(&P.ct, wire.data + 3, wire.len - 3, &plain), 0);
	ck_assert(plain.len == 4 && memcmp(plain.data, "pong", 4) == 0);
	/* a replayed frame fails: the counter moved on */
	ck_assert_int_lt(wa_transport_open(&P.ct, wire.data + 3, wire.len - 3, &plain), 0);
	wa_frame_reader_free(&r);
	wa_buf_free(&seen);
	wa_buf_free(&wire);
	wa_buf_free(&plain);
}
END_TEST

START_TEST(wrong_root_key_aborts_with_reason)
{
	struct wa_buf seen = { 0 };
	char why[200] = "";

	ck_assert_int_lt(run(wa_cert_whatsapp_root, NOW, why, sizeof(why), &seen), 0);
	ck_assert_msg(strstr(why, "root") != NULL, "why: %s", why);
	wa_buf_free(&seen);
}
END_TEST

START_TEST(expired_chain_aborts)
{
	struct wa_buf seen = { 0 };
	char why[200] = "";

	ck_assert_int_lt(run(P.root.pub, NOW + 7200, why, sizeof(why), &seen), 0);
	ck_assert_msg(why[0] != '\0', "no reason given");
	wa_buf_free(&seen);
}
END_TEST

START_TEST(lenient_mode_skips_signatures)
{
	struct wa_buf seen = { 0 };
	char why[200] = "";

	/* root NULL: Baileys' behaviour; the wrong-key chain passes */
	ck_assert_msg(run(NULL, NOW + 7200, why, sizeof(why), &seen) == 0, "%s", why);
	wa_buf_free(&seen);
}
END_TEST

START_TEST(tampered_server_hello_fails)
{
	struct wa_buf m1 = { 0 }, m2 = { 0 }, m3 = { 0 };
	char why[200] = "";

	ck_assert_int_eq(wa_hs_client_start(&P.c, &m1), 0);
	ck_assert_int_eq(wa_hs_server_hello(&P.s, m1.data, m1.len, &P.server,
	    P.chain.data, P.chain.len, &m2), 0);
	m2.data[m2.len - 5] ^= 1;  /* inside the encrypted payload */
	ck_assert_int_lt(wa_hs_client_finish(&P.c, m2.data, m2.len, &P.client,
	    (const uint8_t *)"x", 1, P.root.pub, NOW, &m3, &P.ct, why,
	    sizeof(why)), 0);
	ck_assert(why[0] != '\0');
	/* garbage is malformed, not a crash */
	ck_assert_int_lt(wa_hs_server_hello(&P.s, (const uint8_t *)"\x12\x05", 2,
	    &P.server, P.chain.data, P.chain.len, &m3), 0);
	wa_buf_free(&m1);
	wa_buf_free(&m2);
	wa_buf_free(&m3);
}
END_TEST

START_TEST(out_of_order_is_refused)
{
	struct wa_buf m = { 0 };
	char why[100];

	ck_assert_int_eq(wa_hs_client_finish(&P.c, (const uint8_t *)"", 0,
	    &P.client, NULL, 0, NULL, NOW, &m, &P.ct, why, sizeof(why)), WA_ESTATE);
	ck_assert_int_eq(wa_hs_server_finish(&P.s, (const uint8_t *)"", 0, &m,
	    &P.st), WA_ESTATE);
	wa_buf_free(&m);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("handshake");
	TCase *tc = tcase_create("wa");
	SRunner *sr;
	int failed;

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, strict_handshake_and_transport);
	tcase_add_test(tc, wrong_root_key_aborts_with_reason);
	tcase_add_test(tc, expired_chain_aborts);
	tcase_add_test(tc, lenient_mode_skips_signatures);
	tcase_add_test(tc, tampered_server_hello_fails);
	tcase_add_test(tc, out_of_order_is_refused);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
