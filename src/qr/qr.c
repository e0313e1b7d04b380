/*
 * src/qr/qr.c: QR text art and PNG (qr.h).  libqrencode encodes; zlib
 * deflates the PNG's pixel rows and computes its chunk CRCs, so what is
 * left here is the PNG container (signature, IHDR, IDAT, IEND), which is a
 * few dozen bytes of fixed layout.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <qrencode.h>
#include <zlib.h>
#include "qr/qr.h"

static void
say(char *why, size_t n, const char *msg)
{
	if (why != NULL && n > 0)
		snprintf(why, n, "%s", msg);
}

static QRcode *
encode(const char *text, char *why, size_t whylen)
{
	QRcode *q;

	/* Level L: the largest capacity, and so the fewest modules; a
	 * screen is not a crumpled label. */
	q = QRcode_encodeString(text, 0, QR_ECLEVEL_L, QR_MODE_8, 1);
	if (q == NULL)
		say(why, whylen, errno == ERANGE ? "text too long for a QR code"
		    : "cannot encode the QR code");
	return q;
}

/* 1 when module (x, y) of the code with its margin is dark. */
static int
dark(const QRcode *q, int margin, int x, int y)
{
	x -= margin;
	y -= margin;
	if (x < 0 || y < 0 || x >= q->width || y >= q->width)
		return 0;
	return q->data[y * q->width + x] & 1;
}

int
qr_art(const char *text, qr_line_fn *fn, void *arg, char *why,
    size_t whylen)
{
	static const char *const cell[4] = {
		"\xe2\x96\x88",   /* U+2588 both light */
		"\xe2\x96\x80",   /* U+2580 upper light */
		"\xe2\x96\x84",   /* U+2584 lower light */
		" ",              /* both dark */
	};
	QRcode *q = encode(text, why, whylen);
	int side, y, x;
	char *line;

	if (q == NULL)
		return -1;
	side = q->width + 2 * QR_ART_MARGIN;
	if ((line = malloc((size_t)side * 3 + 1)) == NULL) {
		QRcode_free(q);
		say(why, whylen, "out of memory");
		return -1;
	}
	for (y = 0; y < side; y += 2) {
		size_t o = 0;
		for (x = 0; x < side; x++) {
			int top = dark(q, QR_ART_MARGIN, x, y);
			/* An odd side: the last line's lower half is past
			 * the picture, left undrawn. */
			int bot = y + 1 < side ? dark(q, QR_ART_MARGIN, x, y + 1)
			    : 1;
			const char *c = cell[top * 2 + bot];
			size_t n = strlen(c);
			memcpy(line + o, c, n);
			o += n;
		}
		line[o] = '\0';
		fn(line, arg);
	}
	free(line);
	QRcode_free(q);
	return 0;
}

static void
put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

/* length, type, data, CRC over type and data */
static int
chunk(FILE *f, const char *type, const uint8_t *data, uint32_t len)
{
	uint8_t h[8], c[4];
	uLong crc = crc32(0L, Z_NULL, 0);

	put32(h, len);
	memcpy(h + 4, type, 4);
	crc = crc32(crc, h + 4, 4);
	if (len > 0)
		crc = crc32(crc, data, len);
	put32(c, (uint32_t)crc);
	return fwrite(h, 1, 8, f) == 8 && (len == 0 ||
	    fwrite(data, 1, len, f) == len) && fwrite(c, 1, 4, f) == 4 ? 0 : -1;
}

int
qr_png(const char *text, const char *path, char *why, size_t whylen)
{
	static const uint8_t sig[8] = { 0x89, 'P', 'N', 'G', '\r', '\n',
	    0x1a, '\n' };
	QRcode *q = encode(text, why, whylen);
	uint8_t ihdr[13], *raw = NULL, *z = NULL;
	uLongf zlen;
	size_t side, row, y, x;
	char tmp[512];
	FILE *f;
	int rc = -1, ok, fd;

	if (q == NULL)
		return -1;
	side = ((size_t)q->width + 2 * QR_PNG_MARGIN) * QR_PNG_SCALE;
	row = side + 1;                   /* filter byte 0, then pixels */
	raw = malloc(row * side);
	zlen = compressBound((uLong)(row * side));
	z = malloc(zlen);
	if (raw == NULL || z == NULL) {
		say(why, whylen, "out of memory");
		goto out;
	}
	for (y = 0; y < side; y++) {
		raw[y * row] = 0;
		for (x = 0; x < side; x++)
			raw[y * row + 1 + x] = dark(q, QR_PNG_MARGIN,
			    (int)(x / QR_PNG_SCALE), (int)(y / QR_PNG_SCALE)) ?
			    0x00 : 0xff;
	}
	if (compress2(z, &zlen, raw, (uLong)(row * side), 9) != Z_OK) {
		say(why, whylen, "cannot compress the PNG");
		goto out;
	}
	put32(ihdr, (uint32_t)side);
	put32(ihdr + 4, (uint32_t)side);
	ihdr[8] = 8;                      /* bit depth */
	ihdr[9] = 0;                      /* greyscale */
	ihdr[10] = ihdr[11] = ihdr[12] = 0;
	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= sizeof(tmp)) {
		say(why, whylen, "PNG path too long");
		goto out;
	}
	/* 0600: the code carries the adv secret until the pairing ends. */
	(void)unlink(tmp);      /* a leftover keeps its mode: start afresh */
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW,
	    0600)) < 0 || (f = fdopen(fd, "wb")) == NULL) {
		if (fd >= 0)
			close(fd);
		snprintf(why, whylen, "cannot write %s: %s", tmp,
		    strerror(errno));
		goto out;
	}
	ok = fwrite(sig, 1, 8, f) == 8 && chunk(f, "IHDR", ihdr, 13) == 0 &&
	    chunk(f, "IDAT", z, (uint32_t)zlen) == 0 &&
	    chunk(f, "IEND", NULL, 0) == 0;
	if (fclose(f) != 0)
		ok = 0;
	if (!ok) {
		snprintf(why, whylen, "cannot write %s: %s", tmp,
		    strerror(errno));
		(void)unlink(tmp);
		goto out;
	}
	if (rename(tmp, path) < 0) {
		snprintf(why, whylen, "cannot rename %s to %s: %s", tmp, path,
		    strerror(errno));
		(void)unlink(tmp);
		goto out;
	}
	rc = 0;
out:
	free(raw);
	free(z);
	QRcode_free(q);
	return rc;
}
