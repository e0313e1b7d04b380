/*
 * src/qr/qr.h: a pairing QR code for people: as text art for the logs and
 * as a PNG file.  libqrencode makes the module matrix; the rest is layout.
 *
 * The art uses Unicode half blocks, two module rows per text line, so a
 * code of a WhatsApp-sized text stays under ~35 lines and still scans from
 * `heroku logs --tail`.  Light modules (and the quiet zone) are the drawn
 * ones: on the usual dark terminal the code shows dark-on-light, as a
 * scanner wants it (the same choice as `qrencode -t UTF8`).
 */
#ifndef SK_QR_H
#define SK_QR_H

#include <stddef.h>

/* Modules of quiet zone around the code in the art / the PNG. */
#define QR_ART_MARGIN 2
#define QR_PNG_MARGIN 4
#define QR_PNG_SCALE  8      /* pixels per module */

typedef void qr_line_fn(const char *line, void *arg);

/* Calls fn once per text line, top to bottom.  0, or -1 with why. */
int qr_art(const char *text, qr_line_fn *fn, void *arg, char *why,
    size_t whylen);

/* An 8-bit grey PNG of the code at path (temp file + rename, so a viewer
 * never sees half a file).  0, or -1 with why. */
int qr_png(const char *text, const char *path, char *why, size_t whylen);

#endif
