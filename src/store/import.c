/*
 * src/store/import.c: "session id" strings -> the Baileys files they carry
 * (import.h; the forms and where they come from: docs/import.md).
 *
 * The payload is found without trusting the prefix: first the text after
 * the last character outside the base64 alphabets (the separator), then
 * the whole text, then every place a known payload start appears ("eyJ"
 * and "ewo" are base64 of `{"` and `{\n`, "H4sI" of a gzip header, "eJ"
 * and "eN" of zlib's): the first candidate that decodes to a Baileys
 * creds.json, or to a map of its files, wins.  Each try costs one base64
 * decode (and one inflate) of a few KiB.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <json-c/json.h>
#include <openssl/crypto.h>
#include <zlib.h>
#include "store/import.h"

/* How far into the text a prefix without separator may run. */
#define PREFIX_SEARCH 64

static int
fail(char *why, size_t whylen, const char *fmt, ...)
{
	va_list ap;

	if (why != NULL && whylen > 0) {
		va_start(ap, fmt);
		vsnprintf(why, whylen, fmt, ap);
		va_end(ap);
	}
	return -1;
}

/* --- base64, both alphabets, padding optional ------------------------- */

static int
b64v(int c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+' || c == '-')
		return 62;
	if (c == '/' || c == '_')
		return 63;
	return -1;
}

static int
b64_char(int c)
{
	return b64v(c) >= 0 || c == '=';
}

/* s[0..n) -> out (room for n * 3 / 4 + 3); the length, or -1. */
static long
b64_decode(const char *s, size_t n, uint8_t *out)
{
	uint32_t acc = 0;
	size_t o = 0, data = 0, i;
	int bits = 0, v, pad = 0;

	for (i = 0; i < n; i++) {
		if (s[i] == '=') {
			pad++;
			continue;
		}
		if (pad || (v = b64v((unsigned char)s[i])) < 0)
			return -1;
		data++;
		acc = acc << 6 | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[o++] = (uint8_t)(acc >> bits);
		}
	}
	if (pad > 2 || data % 4 == 1)
		return -1;
	return (long)o;
}

/* --- inflate ------------------------------------------------------------ */

static int
compressed(const uint8_t *b, size_t n)
{
	if (n >= 2 && b[0] == 0x1f && b[1] == 0x8b)
		return 1;  /* gzip */
	if (n >= 2 && (b[0] & 0x0f) == 8 && ((unsigned)b[0] << 8 | b[1]) % 31 == 0)
		return 2;  /* zlib */
	return 0;
}

/* gzip or zlib (inflateInit2 with 32: the header says which). */
static int
inflate_all(const uint8_t *in, size_t n, uint8_t **out, size_t *outlen)
{
	z_stream z;
	size_t cap = n * 4 + 1024;
	uint8_t *b = malloc(cap), *nb;
	int rc;

	if (b == NULL)
		return -1;
	memset(&z, 0, sizeof(z));
	if (inflateInit2(&z, 15 + 32) != Z_OK) {
		free(b);
		return -1;
	}
	z.next_in = (Bytef *)in;
	z.avail_in = (uInt)n;
	for (;;) {
		z.next_out = b + z.total_out;
		z.avail_out = (uInt)(cap - 1 - z.total_out);
		rc = inflate(&z, Z_NO_FLUSH);
		if (rc == Z_STREAM_END)
			break;
		if (rc != Z_OK && rc != Z_BUF_ERROR)
			goto bad;
		if (z.avail_out > 0 && z.avail_in == 0)
			goto bad;  /* truncated */
		if (cap >= STORE_IMPORT_FILES_MAX)
			goto bad;
		cap *= 2;
		if ((nb = malloc(cap)) == NULL)
			goto bad;
		memcpy(nb, b, z.total_out);
		OPENSSL_cleanse(b, z.total_out);
		free(b);
		b = nb;
	}
	*outlen = z.total_out;
	b[*outlen] = '\0';
	*out = b;
	inflateEnd(&z);
	return 0;
bad:
	OPENSSL_cleanse(b, z.total_out);
	free(b);
	inflateEnd(&z);
	return -1;
}

/* --- files ------------------------------------------------------------- */

/* creds.json or pre-key-N.json: the files import reads. */
static int
wanted(const char *name)
{
	unsigned long id;
	char back[96], *end;

	if (strcmp(name, "creds.json") == 0)
		return 1;
	if (strncmp(name, "pre-key-", 8) != 0)
		return 0;
	id = strtoul(name + 8, &end, 10);
	snprintf(back, sizeof(back), "pre-key-%lu.json", id);
	return end != name + 8 && strcmp(back, name) == 0 && id <= 0xffffffffUL;
}

static int
add_file(struct store_import *im, const char *name, const char *data, size_t len)
{
	struct store_import_file *f;

	f = realloc(im->files, (im->n + 1) * sizeof(*f));
	if (f == NULL)
		return -1;
	im->files = f;
	f = &im->files[im->n];
	memset(f, 0, sizeof(*f));
	snprintf(f->name, sizeof(f->name), "%s", name);
	if ((f->data = malloc(len + 1)) == NULL)
		return -1;
	memcpy(f->data, data, len);
	f->data[len] = '\0';
	f->len = len;
	im->n++;
	return 0;
}

/* JSON text -> files.  1: a creds.json or a files map; 0: not one. */
static int
from_json(const char *text, struct store_import *im, int *map)
{
	json_object *root, *m, *v, *noise;
	const char *s;
	int rc = 0;

	while (*text == ' ' || *text == '\t' || *text == '\r' || *text == '\n')
		text++;
	if (strncmp(text, "\xef\xbb\xbf", 3) == 0)
		text += 3;
	if (*text != '{' || (root = json_tokener_parse(text)) == NULL)
		return 0;
	if (!json_object_is_type(root, json_type_object))
		goto out;
	if (json_object_object_get_ex(root, "noiseKey", &noise)) {
		rc = add_file(im, "creds.json", text, strlen(text)) < 0 ? -1 : 1;
		*map = 0;
		goto out;
	}
	m = root;
	if (json_object_object_get_ex(root, "files", &v) &&
	    json_object_is_type(v, json_type_object))
		m = v;
	if (!json_object_object_get_ex(m, "creds.json", NULL))
		goto out;
	*map = 1;
	rc = 1;
	json_object_object_foreach(m, key, val) {
		if (!wanted(key))
			continue;   /* session-*, app-state-*: not carried */
		if (json_object_is_type(val, json_type_string))
			s = json_object_get_string(val);
		else if (json_object_is_type(val, json_type_object))
			s = json_object_to_json_string_ext(val, JSON_C_TO_STRING_PLAIN);
		else
			continue;
		if (add_file(im, key, s, strlen(s)) < 0) {
			rc = -1;
			break;
		}
	}
out:
	json_object_put(root);
	return rc;
}

/* One candidate payload: base64, maybe compressed, then JSON. */
static int
try_payload(const char *p, size_t n, struct store_import *im)
{
	uint8_t *raw = malloc(n * 3 / 4 + 4), *inf = NULL;
	size_t inflen = 0;
	long len;
	int rc = 0, map = 0, z;

	if (raw == NULL)
		return -1;
	if ((len = b64_decode(p, n, raw)) <= 0)
		goto out;
	z = compressed(raw, (size_t)len);
	if (z && inflate_all(raw, (size_t)len, &inf, &inflen) < 0)
		goto out;
	if (!z) {
		raw[len] = '\0';
		rc = from_json((const char *)raw, im, &map);
	} else {
		rc = from_json((const char *)inf, im, &map);
	}
	if (rc == 1)
		snprintf(im->form, sizeof(im->form), "base64(%s%s%s)",
		    z == 1 ? "gzip(" : z == 2 ? "zlib(" : "",
		    map ? "files map" : "creds.json", z ? ")" : "");
out:
	if (inf != NULL) {
		OPENSSL_cleanse(inf, inflen);
		free(inf);
	}
	OPENSSL_cleanse(raw, n * 3 / 4 + 4);
	free(raw);
	return rc;
}

static void
set_prefix(struct store_import *im, const char *t, size_t plen, size_t seplen)
{
	size_t i, j = 0;

	for (i = 0; i < plen && j + 1 < sizeof(im->prefix); i++)
		if (t[i] > 0x20 && t[i] < 0x7f)
			im->prefix[j++] = t[i];
	im->prefix[j] = '\0';
	j = 0;
	for (i = plen; i < plen + seplen && j + 1 < sizeof(im->sep); i++)
		if (t[i] > 0x20 && t[i] < 0x7f)
			im->sep[j++] = t[i];
	im->sep[j] = '\0';
}

int
store_sessionid_decode(const char *text, struct store_import *im, char *why,
    size_t whylen)
{
	static const char *const magics[] = { "eyJ", "ewo", "eyA", "H4sI", "eJ", "eN" };
	size_t n, i, t = 0, cut = 0, tail;
	char *buf;
	int rc = -1, found = 0;

	memset(im, 0, sizeof(*im));
	if (text == NULL || (n = strlen(text)) == 0)
		return fail(why, whylen, "the session id is empty");
	if (n > STORE_IMPORT_TEXT_MAX)
		return fail(why, whylen, "the session id is longer than %u bytes",
		    STORE_IMPORT_TEXT_MAX);
	if ((buf = malloc(n + 1)) == NULL)
		return fail(why, whylen, "out of memory");
	/* whitespace anywhere (wrapped env values), then outer quotes */
	for (i = 0; i < n; i++)
		if (text[i] != ' ' && text[i] != '\t' && text[i] != '\r' &&
		    text[i] != '\n')
			buf[t++] = text[i];
	buf[t] = '\0';
	if (t >= 2 && (buf[0] == '"' || buf[0] == '\'') && buf[t - 1] == buf[0]) {
		memmove(buf, buf + 1, t - 2);
		buf[t -= 2] = '\0';
	}
	if (buf[0] == '{') {
		int map = 0;
		if ((found = from_json(buf, im, &map)) == 1)
			snprintf(im->form, sizeof(im->form), "%s", map ?
			    "JSON files map" : "creds.json text");
		rc = found == 1 ? 0 : -1;
		if (rc < 0)
			fail(why, whylen, "the session id is JSON but not a Baileys "
			    "creds.json (no noiseKey)");
		goto out;
	}
	/* the separator: the last character outside the base64 alphabets */
	for (i = t; i > 0; i--)
		if (!b64_char((unsigned char)buf[i - 1])) {
			cut = i;
			break;
		}
	tail = t - cut;
	if ((found = try_payload(buf + cut, tail, im)) == 1) {
		size_t p = cut;
		while (p > 0 && !b64_char((unsigned char)buf[p - 1]))
			p--;
		set_prefix(im, buf, p, cut - p);
	}
	/* a prefix running straight into the payload ("Guru" + base64) */
	for (size_t k = 0; found == 0 && k < sizeof(magics) / sizeof(*magics); k++) {
		const char *m = buf + cut;
		/* a bot name is short: look only near the start, so a huge
		 * string that is not a session costs a few decodes, not
		 * thousands */
		while (found == 0 && (m = strstr(m + 1, magics[k])) != NULL &&
		    m - (buf + cut) <= PREFIX_SEARCH)
			if ((found = try_payload(m, t - (size_t)(m - buf), im)) == 1)
				set_prefix(im, buf, (size_t)(m - buf), 0);
	}
	if (found == 1) {
		rc = 0;
	} else if (found < 0) {
		fail(why, whylen, "out of memory");
	} else if (tail < 200) {
		fail(why, whylen, "the session id carries no credentials (%zu "
		    "characters after the last separator; a creds.json takes "
		    "thousands): it looks like a reference to a download (a Mega "
		    "file id, a paste or gist id, a pairing-site key).  skykeeper "
		    "does not download sessions: fetch creds.json and run "
		    "import --baileys DIR", tail);
	} else {
		fail(why, whylen, "no part of the session id decodes to a Baileys "
		    "creds.json (forms accepted: docs/import.md)");
	}
out:
	OPENSSL_cleanse(buf, n + 1);
	free(buf);
	if (rc < 0)
		store_import_free(im);
	return rc;
}

void
store_import_free(struct store_import *im)
{
	for (size_t i = 0; i < im->n; i++) {
		if (im->files[i].data != NULL)
			OPENSSL_cleanse(im->files[i].data, im->files[i].len);
		free(im->files[i].data);
	}
	free(im->files);
	memset(im, 0, sizeof(*im));
}

int
store_import_write_dir(const struct store_import *im, const char *dir,
    char *why, size_t whylen)
{
	char path[4096];
	const char *p;
	size_t left;
	ssize_t w;
	int fd;

	for (size_t i = 0; i < im->n; i++) {
		if (!wanted(im->files[i].name))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, im->files[i].name);
		fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW,
		    0600);
		if (fd < 0)
			return fail(why, whylen, "%s: %s", path, strerror(errno));
		for (p = im->files[i].data, left = im->files[i].len; left > 0;
		    p += w, left -= (size_t)w)
			if ((w = write(fd, p, left)) <= 0) {
				if (w < 0 && errno == EINTR) {
					w = 0;
					continue;
				}
				close(fd);
				return fail(why, whylen, "%s: cannot write", path);
			}
		if (close(fd) < 0)
			return fail(why, whylen, "%s: cannot write", path);
	}
	return 0;
}
