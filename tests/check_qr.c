/*
 * tests/check_qr.c: the pairing QR code scans.
 *
 *  - the text art, read back cell by cell, is exactly libqrencode's module
 *    matrix with the quiet zone (so no half block is misplaced);
 *  - the PNG decodes back to the text with zbarimg (zbar-tools), a scanner
 *    that shares no code with libqrencode;
 *  - a text too long for any QR code is a clear error, not a crash.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <qrencode.h>
#include "qr/qr.h"

/* Shaped like a WhatsApp pairing text: ref, three base64 keys, platform. */
static const char *sample =
    "2@hTzLGxbQ3yD0aQ1eI9g1sR+1XbZ0qk8nWmB2cVt6Jp4uYf3LrEo7KdAwSx5Hi,"
    "xZ1vQm4yT2bN8kR6cP0wL3jH5gF7dS9aE1uI4oY2tR6=,"
    "Hn3kL8pQ2wE5rT7yU9iO1aS4dF6gJ8kZ0xC3vB5nM7q=,"
    "Qw9eR7tY5uI3oP1aS2dF4gH6jK8lZ0xC2vB4nM6qW8e=,WEB";

struct art {
	char lines[128][1024];
	int n;
};

static void
collect(const char *line, void *arg)
{
	struct art *a = arg;

	ck_assert_int_lt(a->n, 128);
	ck_assert_uint_lt(strlen(line), sizeof(a->lines[0]));
	strcpy(a->lines[a->n++], line);
}

/* 0 dark, 1 light: what the art shows at column x of a line, top/bottom. */
static int
cell(const char *line, int x, int *top, int *bot)
{
	const char *p = line;

	for (int i = 0; i < x; i++) {
		if (*p == ' ')
			p++;
		else if ((unsigned char)*p == 0xe2)
			p += 3;
		else
			return -1;
	}
	if (*p == ' ')
		*top = *bot = 0;
	else if (strncmp(p, "\xe2\x96\x88", 3) == 0)
		*top = *bot = 1;
	else if (strncmp(p, "\xe2\x96\x80", 3) == 0)
		*top = 1, *bot = 0;
	else if (strncmp(p, "\xe2\x96\x84", 3) == 0)
		*top = 0, *bot = 1;
	else
		return -1;
	return 0;
}

START_TEST(art_is_the_matrix)
{
	static struct art a;
	QRcode *q = QRcode_encodeString(sample, 0, QR_ECLEVEL_L, QR_MODE_8, 1);
	char why[128];
	int side, m = QR_ART_MARGIN;

	ck_assert_ptr_nonnull(q);
	a.n = 0;
	ck_assert_int_eq(qr_art(sample, collect, &a, why, sizeof(why)), 0);
	side = q->width + 2 * m;
	ck_assert_int_eq(a.n, (side + 1) / 2);
	for (int y = 0; y < side; y++)
		for (int x = 0; x < side; x++) {
			int top, bot, shown, want;
			ck_assert_int_eq(cell(a.lines[y / 2], x, &top, &bot), 0);
			shown = y % 2 == 0 ? top : bot;
			want = x < m || y < m || x >= m + q->width ||
			    y >= m + q->width ? 1 :
			    !(q->data[(y - m) * q->width + (x - m)] & 1);
			ck_assert_msg(shown == want, "module %d,%d", x, y);
		}
	/* the lower half of the last line of an odd side is margin */
	if (side % 2 == 1)
		for (int x = 0; x < side; x++) {
			int top, bot;
			ck_assert_int_eq(cell(a.lines[a.n - 1], x, &top, &bot), 0);
			ck_assert_int_eq(bot, 0);
		}
	/* nothing after the last column */
	{
		int top, bot;
		ck_assert_int_eq(cell(a.lines[0], side, &top, &bot), -1);
	}
	QRcode_free(q);
}
END_TEST

START_TEST(png_scans_back)
{
	char dir[] = "/tmp/sk-qr.XXXXXX", path[256], cmd[512], out[1024];
	char why[128];
	FILE *p;
	size_t n;

	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/qr.png", dir);
	ck_assert_int_eq(qr_png(sample, path, why, sizeof(why)), 0);
	snprintf(cmd, sizeof(cmd), "zbarimg --raw -q %s 2>/dev/null", path);
	ck_assert_ptr_nonnull(p = popen(cmd, "r"));
	n = fread(out, 1, sizeof(out) - 1, p);
	out[n] = '\0';
	ck_assert_msg(pclose(p) == 0, "zbarimg found no code (is zbar-tools "
	    "installed? tools/bootstrap installs it): '%s'", out);
	while (n > 0 && (out[n - 1] == '\n' || out[n - 1] == '\r'))
		out[--n] = '\0';
	ck_assert_str_eq(out, sample);
	/* no temp file left behind */
	snprintf(cmd, sizeof(cmd), "%s/qr.png.tmp", dir);
	ck_assert_int_ne(access(cmd, F_OK), 0);
	unlink(path);
	rmdir(dir);
}
END_TEST

START_TEST(png_bad_path)
{
	char why[256] = "";

	ck_assert_int_eq(qr_png(sample, "/nonexistent-dir/qr.png", why,
	    sizeof(why)), -1);
	ck_assert_ptr_nonnull(strstr(why, "/nonexistent-dir/qr.png.tmp"));
}
END_TEST

static void
ignore(const char *line, void *arg)
{
	(void)line;
	(void)arg;
	ck_abort_msg("no line expected");
}

START_TEST(too_long)
{
	char *big = malloc(8000), why[128] = "";

	memset(big, 'x', 7999);
	big[7999] = '\0';
	ck_assert_int_eq(qr_art(big, ignore, NULL, why, sizeof(why)), -1);
	ck_assert_str_eq(why, "text too long for a QR code");
	free(big);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("qr");
	TCase *tc = tcase_create("qr");
	SRunner *sr;
	int nf;

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, art_is_the_matrix);
	tcase_add_test(tc, png_scans_back);
	tcase_add_test(tc, png_bad_path);
	tcase_add_test(tc, too_long);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	nf = srunner_ntests_failed(sr);
	srunner_free(sr);
	return nf == 0 ? 0 : 1;
}
