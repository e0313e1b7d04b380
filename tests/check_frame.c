/*
 * tests/check_frame.c: framing (src/wa/frame.c).
 * The reader's output is checked by writing each frame it hands out back
 * with wa_frame_put: for any way of cutting a stream into feeds, that must
 * give back the stream (without the intro), byte for byte.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>
#include "wa/frame.h"

/* Check records every passing ck_assert, a system call each, and the
 * loops below run hundreds of thousands of steps: they test with a plain
 * `if` and call Check only to fail. */
#define REQUIRE(cond, ...) do { \
	if (!(cond)) \
		ck_abort_msg(__VA_ARGS__); \
} while (0)

/* Drains r, re-framing every frame into got; returns 0 or the error. */
static int
drain(struct wa_frame_reader *r, struct wa_buf *got)
{
	const uint8_t *f;
	size_t len;
	int rc;

	while ((rc = wa_frame_next(r, &f, &len)) == 1) {
		REQUIRE(len <= r->limit, "frame of %zu over the limit", len);
		REQUIRE(wa_frame_put(got, f, len) == 0, "wa_frame_put failed");
	}
	return rc;
}

/* A stream of frames with awkward sizes: empty ones, one byte, sizes
 * around 256 (the middle length byte), bytes that look like headers. */
static void
make_frames(struct wa_buf *s)
{
	static const size_t sizes[] = { 0, 1, 0, 0, 255, 256, 257, 3, 0, 40 };
	uint8_t buf[300];

	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		for (size_t j = 0; j < sizes[i]; j++)
			buf[j] = (uint8_t)(i * 31 + j);
		if (sizes[i] > 4)
			memcpy(buf, "WA\6\3", 4);
		ck_assert_int_eq(wa_frame_put(s, buf, sizes[i]), 0);
	}
}

static void
assert_same(const struct wa_buf *got, const uint8_t *want, size_t len,
    const char *what, size_t at)
{
	REQUIRE(got->len == len && (len == 0 ||
	    memcmp(got->data, want, len) == 0),
	    "%s, cut at %zu: frames differ (%zu bytes, want %zu)", what, at,
	    got->len, len);
}

/* --- writers -------------------------------------------------------------- */

START_TEST(put_intro_plain)
{
	struct wa_buf b = { 0 };

	ck_assert_int_eq(wa_frame_put_intro(&b, NULL, 0), 0);
	ck_assert_uint_eq(b.len, 4);
	ck_assert_mem_eq(b.data, "WA\x06\x03", 4);
	ck_assert_mem_eq(wa_intro, "WA\x06\x03", 4);
	wa_buf_free(&b);
}
END_TEST

START_TEST(put_intro_routing)
{
	static const uint8_t want[] = { 'E', 'D', 0, 1, 0, 0, 3, 'a', 'b', 'c',
		'W', 'A', 6, 3 };
	static const uint8_t want_empty[] = { 'E', 'D', 0, 1, 0, 0, 0,
		'W', 'A', 6, 3 };
	struct wa_buf b = { 0 };

	ck_assert_int_eq(wa_frame_put(&b, NULL, 0), 0);   /* something before */
	ck_assert_int_eq(wa_frame_put_intro(&b, (const uint8_t *)"abc", 3), 0);
	ck_assert_uint_eq(b.len, 3 + sizeof(want));
	ck_assert_mem_eq(b.data + 3, want, sizeof(want));
	b.len = 0;
	ck_assert_int_eq(wa_frame_put_intro(&b, (const uint8_t *)"", 0), 0);
	ck_assert_uint_eq(b.len, sizeof(want_empty));
	ck_assert_mem_eq(b.data, want_empty, sizeof(want_empty));
	/* the length is checked before anything is read or written */
	ck_assert_int_eq(wa_frame_put_intro(&b, (const uint8_t *)"x",
	    (size_t)WA_FRAME_MAX + 1), WA_ETOOBIG);
	ck_assert_uint_eq(b.len, sizeof(want_empty));
	wa_buf_free(&b);
}
END_TEST

START_TEST(put_frame)
{
	struct wa_buf b = { 0 };
	uint8_t *big;

	ck_assert_int_eq(wa_frame_put(&b, (const uint8_t *)"hello", 5), 0);
	ck_assert_int_eq(wa_frame_put(&b, NULL, 0), 0);
	ck_assert_uint_eq(b.len, 8 + 3);
	ck_assert_mem_eq(b.data, "\0\0\5hello\0\0\0", 11);
	ck_assert_int_eq(wa_frame_put(&b, (const uint8_t *)"x",
	    (size_t)WA_FRAME_MAX + 1), WA_ETOOBIG);
	ck_assert_int_eq(wa_frame_put(&b, (const uint8_t *)"x", (size_t)-1),
	    WA_ETOOBIG);
	ck_assert_uint_eq(b.len, 11);
	/* the largest frame, and its length bytes */
	big = calloc(1, WA_FRAME_MAX);
	ck_assert(big != NULL);
	big[WA_FRAME_MAX - 1] = 0x77;
	b.len = 0;
	ck_assert_int_eq(wa_frame_put(&b, big, WA_FRAME_MAX), 0);
	ck_assert_uint_eq(b.len, 3 + (size_t)WA_FRAME_MAX);
	ck_assert_mem_eq(b.data, "\xff\xff\xff", 3);
	ck_assert_uint_eq(b.data[b.len - 1], 0x77);
	free(big);
	wa_buf_free(&b);
}
END_TEST

/* --- reassembly ----------------------------------------------------------- */

/* Every cut of the stream into two feeds, and every cut into three. */
static void
check_cuts(const uint8_t *s, size_t n, size_t skip, int expect_intro,
    const char *what)
{
	const uint8_t *want = s + skip;
	size_t wlen = n - skip;

	for (size_t a = 0; a <= n; a++) {
		struct wa_frame_reader r;
		struct wa_buf got = { 0 };

		wa_frame_reader_init(&r, 0, expect_intro);
		REQUIRE(wa_frame_feed(&r, s, a) == 0 && drain(&r, &got) == 0 &&
		    wa_frame_feed(&r, s + a, n - a) == 0 &&
		    drain(&r, &got) == 0, "%s, cut at %zu: error", what, a);
		assert_same(&got, want, wlen, what, a);
		REQUIRE(r.off == r.pending.len, "%s: bytes left over", what);
		wa_frame_reader_free(&r);
		wa_buf_free(&got);
	}
	for (size_t a = 0; a <= n; a += 7)
		for (size_t b = a; b <= n; b++) {
			struct wa_frame_reader r;
			struct wa_buf got = { 0 };

			wa_frame_reader_init(&r, 0, expect_intro);
			REQUIRE(wa_frame_feed(&r, s, a) == 0 &&
			    drain(&r, &got) == 0 &&
			    wa_frame_feed(&r, s + a, b - a) == 0 &&
			    drain(&r, &got) == 0 &&
			    wa_frame_feed(&r, s + b, n - b) == 0 &&
			    drain(&r, &got) == 0,
			    "%s, cuts at %zu, %zu: error", what, a, b);
			assert_same(&got, want, wlen, what, a * 100000 + b);
			wa_frame_reader_free(&r);
			wa_buf_free(&got);
		}
}

static void
check_bytewise(const uint8_t *s, size_t n, size_t skip, int expect_intro)
{
	struct wa_frame_reader r;
	struct wa_buf got = { 0 };

	wa_frame_reader_init(&r, 0, expect_intro);
	for (size_t i = 0; i < n; i++)
		REQUIRE(wa_frame_feed(&r, s + i, 1) == 0 &&
		    drain(&r, &got) == 0 &&
		    wa_frame_feed(&r, NULL, 0) == 0,      /* an empty message */
		    "byte by byte: error at %zu", i);
	assert_same(&got, s + skip, n - skip, "byte by byte", n);
	wa_frame_reader_free(&r);
	wa_buf_free(&got);
}

START_TEST(split_at_every_position_client)
{
	struct wa_buf s = { 0 };

	make_frames(&s);
	check_cuts(s.data, s.len, 0, 0, "client");
	check_bytewise(s.data, s.len, 0, 0);
	wa_buf_free(&s);
}
END_TEST

START_TEST(split_at_every_position_server_intro)
{
	struct wa_buf s = { 0 };

	ck_assert_int_eq(wa_frame_put_intro(&s, NULL, 0), 0);
	make_frames(&s);
	check_cuts(s.data, s.len, 4, 1, "server");
	check_bytewise(s.data, s.len, 4, 1);
	wa_buf_free(&s);
}
END_TEST

START_TEST(split_at_every_position_routing_header)
{
	static const uint8_t routing[] = { 'W', 'A', 6, 3, 0xED, 0, 1, 2 };
	struct wa_buf s = { 0 };

	ck_assert_int_eq(wa_frame_put_intro(&s, routing, sizeof(routing)), 0);
	make_frames(&s);
	check_cuts(s.data, s.len, 7 + sizeof(routing) + 4, 1, "routing");
	check_bytewise(s.data, s.len, 7 + sizeof(routing) + 4, 1);
	wa_buf_free(&s);
	/* an empty routing part */
	ck_assert_int_eq(wa_frame_put_intro(&s, routing, 0), 0);
	make_frames(&s);
	check_cuts(s.data, s.len, 11, 1, "empty routing");
	wa_buf_free(&s);
}
END_TEST

START_TEST(many_frames_one_feed)
{
	struct wa_frame_reader r;
	struct wa_buf s = { 0 }, got = { 0 };
	uint8_t buf[600];
	const uint8_t *f[3];
	size_t len[3];

	for (int i = 0; i < 5000; i++) {
		size_t n = (size_t)(i * 37) % 600;
		memset(buf, i, n);
		ck_assert_int_eq(wa_frame_put(&s, buf, n), 0);
	}
	wa_frame_reader_init(&r, 1000, 0);
	ck_assert_int_eq(wa_frame_feed(&r, s.data, s.len), 0);
	/* frames handed out stay valid until the next feed */
	for (int i = 0; i < 3; i++)
		ck_assert_int_eq(wa_frame_next(&r, &f[i], &len[i]), 1);
	ck_assert_uint_eq(len[0], 0);
	ck_assert_uint_eq(len[1], 37);
	ck_assert_uint_eq(len[2], 74);
	ck_assert(f[1][0] == 1 && f[1][36] == 1 && f[2][73] == 2);
	for (int i = 0; i < 3; i++)
		ck_assert_int_eq(wa_frame_put(&got, f[i], len[i]), 0);
	ck_assert_int_eq(drain(&r, &got), 0);
	assert_same(&got, s.data, s.len, "one feed", 0);
	ck_assert_int_eq(wa_frame_next(&r, &f[0], &len[0]), 0);
	wa_frame_reader_free(&r);
	wa_buf_free(&s);
	wa_buf_free(&got);
}
END_TEST

START_TEST(zero_length_frames)
{
	static const uint8_t three[9] = { 0 };
	struct wa_frame_reader r;
	const uint8_t *f;
	size_t len = 99;

	wa_frame_reader_init(&r, 0, 0);
	ck_assert_int_eq(wa_frame_next(&r, &f, &len), 0);   /* nothing yet */
	ck_assert_int_eq(wa_frame_feed(&r, three, 2), 0);
	ck_assert_int_eq(wa_frame_next(&r, &f, &len), 0);
	ck_assert_int_eq(wa_frame_feed(&r, three + 2, 7), 0);
	for (int i = 0; i < 3; i++) {
		len = 99;
		ck_assert_int_eq(wa_frame_next(&r, &f, &len), 1);
		ck_assert_uint_eq(len, 0);
	}
	ck_assert_int_eq(wa_frame_next(&r, &f, &len), 0);
	wa_frame_reader_free(&r);
}
END_TEST

/* The buffer holds no more than the unfinished frame plus one feed, when
 * the caller drains after every feed. */
START_TEST(buffer_stays_small)
{
	struct wa_frame_reader r;
	struct wa_buf s = { 0 }, got = { 0 };
	uint8_t buf[100] = { 0 };

	for (int i = 0; i < 3000; i++)
		ck_assert_int_eq(wa_frame_put(&s, buf, (size_t)i % 100), 0);
	wa_frame_reader_init(&r, 100, 0);
	for (size_t at = 0; at < s.len; at += 61) {
		size_t n = s.len - at < 61 ? s.len - at : 61;
		REQUIRE(wa_frame_feed(&r, s.data + at, n) == 0, "feed");
		REQUIRE(r.pending.len <= 103 + 61, "%zu bytes held",
		    r.pending.len);
		REQUIRE(drain(&r, &got) == 0, "drain");
	}
	assert_same(&got, s.data, s.len, "61-byte feeds", 0);
	wa_frame_reader_free(&r);
	wa_buf_free(&s);
	wa_buf_free(&got);
}
END_TEST

/* A big frame's buffer is released after it is handed out. */
START_TEST(big_buffer_released)
{
	struct wa_frame_reader r;
	struct wa_buf s = { 0 };
	uint8_t *big = calloc(1, 1 << 20);
	const uint8_t *f;
	size_t len;

	ck_assert(big != NULL);
	ck_assert_int_eq(wa_frame_put(&s, big, 1 << 20), 0);
	wa_frame_reader_init(&r, 0, 0);
	ck_assert_int_eq(wa_frame_feed(&r, s.data, s.len), 0);
	ck_assert_int_eq(wa_frame_next(&r, &f, &len), 1);
	ck_assert_uint_eq(len, 1 << 20);
	ck_assert_int_eq(wa_frame_feed(&r, (const uint8_t *)"\0\0\1z", 4), 0);
	ck_assert_uint_lt(r.pending.cap, 1 << 20);
	ck_assert_int_eq(wa_frame_next(&r, &f, &len), 1);
	ck_assert(len == 1 && f[0] == 'z');
	wa_frame_reader_free(&r);
	wa_buf_free(&s);
	free(big);
}
END_TEST

/* --- limits and bad input ------------------------------------------------- */

START_TEST(oversize_poisons)
{
	struct wa_frame_reader r;
	struct wa_buf s = { 0 }, got = { 0 };
	uint8_t buf[101] = { 0 };
	const uint8_t *f;
	size_t len;

	ck_assert_int_eq(wa_frame_put(&s, buf, 100), 0);   /* at the limit */
	ck_assert_int_eq(wa_frame_put(&s, buf, 7), 0);
	ck_assert_int_eq(wa_frame_put(&s, buf, 101), 0);   /* one over */
	ck_assert_int_eq(wa_frame_put(&s, buf, 1), 0);
	wa_frame_reader_init(&r, 100, 0);
	/* known from the 3 length bytes alone, before the payload */
	ck_assert_int_eq(wa_frame_feed(&r, s.data, 103 + 10 + 3), 0);
	ck_assert_int_eq(drain(&r, &got), WA_ETOOBIG);
	ck_assert_uint_eq(got.len, 103 + 10);          /* the two before it */
	ck_assert_int_eq(wa_frame_next(&r, &f, &len), WA_ETOOBIG);
	ck_assert_int_eq(wa_frame_feed(&r, s.data + 116, s.len - 116),
	    WA_ETOOBIG);
	ck_assert_int_eq(wa_frame_next(&r, &f, &len), WA_ETOOBIG);
	ck_assert_int_eq(r.failed, WA_ETOOBIG);
	wa_frame_reader_free(&r);
	wa_buf_free(&s);
	wa_buf_free(&got);
}
END_TEST

START_TEST(limit_defaults_and_clamps)
{
	struct wa_frame_reader r;
	const uint8_t *f;
	size_t len;

	wa_frame_reader_init(&r, 0, 0);
	ck_assert_uint_eq(r.limit, WA_FRAME_MAX);
	/* the largest length is fine with the default limit: it waits */
	ck_assert_int_eq(wa_frame_feed(&r, (const uint8_t *)"\xff\xff\xff", 3),
	    0);
	ck_assert_int_eq(wa_frame_next(&r, &f, &len), 0);
	wa_frame_reader_free(&r);
	wa_frame_reader_init(&r, (size_t)WA_FRAME_MAX * 4, 1);
	ck_assert_uint_eq(r.limit, WA_FRAME_MAX);
	ck_assert_int_eq(r.expect_intro, 1);
	wa_frame_reader_init(&r, 1, 0);
	ck_assert_uint_eq(r.limit, 1);
	ck_assert_int_eq(wa_frame_feed(&r, (const uint8_t *)"\0\0\2", 3), 0);
	ck_assert_int_eq(wa_frame_next(&r, &f, &len), WA_ETOOBIG);
	wa_frame_reader_free(&r);
}
END_TEST

/* Feeds bad byte by byte: no error while what came so far could still be
 * an intro, WA_EMALFORM (or want) from the byte at index fail_at on. */
static void
check_bad_intro(const uint8_t *bad, size_t n, size_t fail_at, size_t limit,
    int want)
{
	struct wa_frame_reader r;
	const uint8_t *f;
	size_t len;

	wa_frame_reader_init(&r, limit, 1);
	for (size_t i = 0; i < n; i++) {
		int rc;
		ck_assert_int_eq(wa_frame_feed(&r, bad + i, 1),
		    i <= fail_at ? 0 : want);
		rc = wa_frame_next(&r, &f, &len);
		ck_assert_msg(rc == (i < fail_at ? 0 : want),
		    "byte %zu of a bad intro: got %d", i, rc);
	}
	ck_assert_int_eq(r.failed, want);
	wa_frame_reader_free(&r);
	/* and all at once */
	wa_frame_reader_init(&r, limit, 1);
	ck_assert_int_eq(wa_frame_feed(&r, bad, n), 0);
	ck_assert_int_eq(wa_frame_next(&r, &f, &len), want);
	ck_assert_int_eq(wa_frame_next(&r, &f, &len), want);
	wa_frame_reader_free(&r);
}

START_TEST(wrong_intro)
{
	check_bad_intro((const uint8_t *)"WA\6\2\0\0\0", 7, 3, 0, WA_EMALFORM);
	check_bad_intro((const uint8_t *)"WA\5\3\0\0\0", 7, 2, 0, WA_EMALFORM);
	check_bad_intro((const uint8_t *)"WB\6\3", 4, 1, 0, WA_EMALFORM);
	check_bad_intro((const uint8_t *)"wa\6\3", 4, 0, 0, WA_EMALFORM);
	check_bad_intro((const uint8_t *)"\0\0\0", 3, 0, 0, WA_EMALFORM);
	check_bad_intro((const uint8_t *)"EX\0\1", 4, 1, 0, WA_EMALFORM);
	check_bad_intro((const uint8_t *)"ED\0\2\0\0\0WA\6\3", 11, 3, 0,
	    WA_EMALFORM);
	/* a good routing header followed by a bad intro */
	check_bad_intro((const uint8_t *)"ED\0\1\0\0\2rrWA\6\4", 13, 12, 0,
	    WA_EMALFORM);
	check_bad_intro((const uint8_t *)"ED\0\1\0\0\0ED\0\1", 11, 7, 0,
	    WA_EMALFORM);
	/* a routing header longer than the limit */
	check_bad_intro((const uint8_t *)"ED\0\1\0\1\0", 7, 6, 255,
	    WA_ETOOBIG);
}
END_TEST

/* The client's reader expects no intro: "WA" 6 3 would be a length. */
START_TEST(client_reader_takes_no_intro)
{
	struct wa_frame_reader r;
	const uint8_t *f;
	size_t len;

	wa_frame_reader_init(&r, 1 << 16, 0);
	ck_assert_int_eq(wa_frame_feed(&r, wa_intro, 4), 0);
	ck_assert_int_eq(wa_frame_next(&r, &f, &len), WA_ETOOBIG);
	wa_frame_reader_free(&r);
}
END_TEST

START_TEST(reader_reinit_after_free)
{
	struct wa_frame_reader r;
	struct wa_buf got = { 0 };

	wa_frame_reader_init(&r, 0, 1);
	ck_assert_int_eq(wa_frame_feed(&r, (const uint8_t *)"WA\6\3\0\0\1a",
	    8), 0);
	ck_assert_int_eq(drain(&r, &got), 0);
	ck_assert_uint_eq(got.len, 4);
	wa_frame_reader_free(&r);
	wa_frame_reader_free(&r);   /* twice is harmless */
	wa_frame_reader_init(&r, 0, 0);
	ck_assert_int_eq(wa_frame_feed(&r, (const uint8_t *)"\0\0\1b", 4), 0);
	ck_assert_int_eq(drain(&r, &got), 0);
	ck_assert_uint_eq(got.len, 8);
	ck_assert_mem_eq(got.data, "\0\0\1a\0\0\1b", 8);
	wa_frame_reader_free(&r);
	wa_buf_free(&got);
}
END_TEST

static Suite *
frame_suite(void)
{
	Suite *s = suite_create("frame");
	TCase *tc;

	tc = tcase_create("writers");
	tcase_add_test(tc, put_intro_plain);
	tcase_add_test(tc, put_intro_routing);
	tcase_add_test(tc, put_frame);
	suite_add_tcase(s, tc);

	tc = tcase_create("reassembly");
	tcase_set_timeout(tc, 60);   /* every cut, under the sanitizers */
	tcase_add_test(tc, split_at_every_position_client);
	tcase_add_test(tc, split_at_every_position_server_intro);
	tcase_add_test(tc, split_at_every_position_routing_header);
	tcase_add_test(tc, many_frames_one_feed);
	tcase_add_test(tc, zero_length_frames);
	tcase_add_test(tc, buffer_stays_small);
	tcase_add_test(tc, big_buffer_released);
	suite_add_tcase(s, tc);

	tc = tcase_create("bad input");
	tcase_add_test(tc, oversize_poisons);
	tcase_add_test(tc, limit_defaults_and_clamps);
	tcase_add_test(tc, wrong_intro);
	tcase_add_test(tc, client_reader_takes_no_intro);
	tcase_add_test(tc, reader_reinit_after_free);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(frame_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
