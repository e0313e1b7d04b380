/*
 * src/store/prekeys.c: Baileys' pre-key files <-> struct store_prekey
 * (import.h).
 *
 * useMultiFileAuthState keeps each one-time pre-key as DIR/pre-key-ID.json:
 * JSON.stringify of {private, public} with BufferJSON.replacer, i.e.
 *   {"private":{"type":"Buffer","data":"<base64>"},"public":{...}}
 * with 32-byte keys (Baileys drops libsignal's 0x05 prefix; a 33-byte
 * public key with it is accepted too).  Reading accepts every form
 * BufferJSON.reviver turns into bytes.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <json-c/json.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include "store/import.h"

#define FILE_MAX (64u << 10)   /* a pre-key file is ~150 bytes */

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

/* "pre-key-ID.json" exactly -> id; -1 for any other name. */
static long long
prekey_id(const char *name)
{
	unsigned long id;
	char back[64], *end;

	if (strncmp(name, "pre-key-", 8) != 0 || name[8] < '0' || name[8] > '9')
		return -1;
	errno = 0;
	id = strtoul(name + 8, &end, 10);
	if (errno != 0 || id > 0xffffffffUL)
		return -1;
	snprintf(back, sizeof(back), "pre-key-%lu.json", id);
	return strcmp(back, name) == 0 ? (long long)id : -1;
}

/* Bytes in any form BufferJSON.reviver accepts; the length, or -1. */
static long
get_bytes(json_object *v, uint8_t *out, size_t cap)
{
	json_object *data = NULL;
	size_t n = 0;
	int len;

	if (json_object_is_type(v, json_type_object) &&
	    json_object_object_get_ex(v, "data", &data))
		v = data;
	if (json_object_is_type(v, json_type_string)) {
		const char *s = json_object_get_string(v);
		uint8_t tmp[128];
		size_t sl = strlen(s);
		if (sl == 0 || sl > 4 * ((sizeof(tmp) - 2) / 3))
			return -1;
		/* EVP_DecodeBlock wants padding to a multiple of 4 */
		char padded[sizeof(tmp) * 2];
		snprintf(padded, sizeof(padded), "%s%s", s,
		    sl % 4 == 2 ? "==" : sl % 4 == 3 ? "=" : "");
		len = EVP_DecodeBlock(tmp, (const unsigned char *)padded,
		    (int)strlen(padded));
		if (len < 0)
			return -1;
		for (size_t i = strlen(padded); i > 0 && padded[i - 1] == '='; i--)
			len--;
		if ((size_t)len > cap)
			return -1;
		memcpy(out, tmp, (size_t)len);
		OPENSSL_cleanse(tmp, sizeof(tmp));
		OPENSSL_cleanse(padded, sizeof(padded));
		return len;
	}
	if (json_object_is_type(v, json_type_array)) {
		size_t k = json_object_array_length(v);
		if (k > cap)
			return -1;
		for (n = 0; n < k; n++) {
			int b = json_object_get_int(json_object_array_get_idx(v, n));
			if (b < 0 || b > 255)
				return -1;
			out[n] = (uint8_t)b;
		}
		return (long)n;
	}
	if (json_object_is_type(v, json_type_object)) {
		/* {"0": 12, "1": 34, ...} */
		json_object_object_foreach(v, key, val) {
			char *end;
			unsigned long i = strtoul(key, &end, 10);
			int b = json_object_get_int(val);
			if (*end || i >= cap || b < 0 || b > 255)
				return -1;
			out[i] = (uint8_t)b;
			if (i + 1 > n)
				n = i + 1;
		}
		return (long)n;
	}
	return -1;
}

static int
read_one(const char *path, struct store_prekey *pk, char *why, size_t whylen)
{
	char *text;
	json_object *root = NULL, *v;
	uint8_t pub[33];
	long n;
	FILE *f;
	size_t got;
	int rc = -1;

	if ((f = fopen(path, "re")) == NULL)
		return fail(why, whylen, "%s: %s", path, strerror(errno));
	if ((text = malloc(FILE_MAX + 1)) == NULL) {
		fclose(f);
		return fail(why, whylen, "out of memory");
	}
	got = fread(text, 1, FILE_MAX + 1, f);
	fclose(f);
	if (got > FILE_MAX) {
		fail(why, whylen, "%s: too large for a pre-key", path);
		goto out;
	}
	text[got] = '\0';
	if ((root = json_tokener_parse(text)) == NULL ||
	    !json_object_is_type(root, json_type_object)) {
		fail(why, whylen, "%s: not JSON", path);
		goto out;
	}
	if (!json_object_object_get_ex(root, "private", &v) ||
	    get_bytes(v, pk->pair.priv, 32) != 32) {
		fail(why, whylen, "%s: private: want 32 bytes", path);
		goto out;
	}
	if (!json_object_object_get_ex(root, "public", &v) ||
	    ((n = get_bytes(v, pub, sizeof(pub))) != 32 && !(n == 33 && pub[0] == 5))) {
		fail(why, whylen, "%s: public: want 32 bytes (or 33 with 0x05)", path);
		goto out;
	}
	memcpy(pk->pair.pub, pub + (n == 33), 32);
	rc = 0;
out:
	json_object_put(root);
	OPENSSL_cleanse(text, got < FILE_MAX ? got : FILE_MAX);
	free(text);
	return rc;
}

static int
by_id(const void *a, const void *b)
{
	const struct store_prekey *x = a, *y = b;

	return x->id < y->id ? -1 : x->id > y->id;
}

int
store_prekeys_read(const char *dir, struct store_prekey **out, size_t *n,
    char *why, size_t whylen)
{
	struct store_prekey *v = NULL, *nv;
	size_t cnt = 0, cap = 0;
	struct dirent *e;
	char path[4096];
	long long id;
	DIR *d;

	*out = NULL;
	*n = 0;
	if ((d = opendir(dir)) == NULL)
		return fail(why, whylen, "%s: %s", dir, strerror(errno));
	while ((e = readdir(d)) != NULL) {
		if ((id = prekey_id(e->d_name)) < 0)
			continue;
		if (cnt >= STORE_SNAP_PREKEYS_MAX) {
			fail(why, whylen, "%s: more than %d pre-key files", dir,
			    STORE_SNAP_PREKEYS_MAX);
			goto bad;
		}
		if (cnt == cap) {
			cap = cap ? cap * 2 : 64;
			if ((nv = realloc(v, cap * sizeof(*v))) == NULL) {
				fail(why, whylen, "out of memory");
				goto bad;
			}
			v = nv;
		}
		memset(&v[cnt], 0, sizeof(v[cnt]));
		v[cnt].id = (uint32_t)id;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		if (read_one(path, &v[cnt], why, whylen) < 0)
			goto bad;
		cnt++;
	}
	closedir(d);
	if (cnt > 0)
		qsort(v, cnt, sizeof(*v), by_id);
	*out = v;
	*n = cnt;
	return 0;
bad:
	closedir(d);
	if (v != NULL)
		OPENSSL_cleanse(v, cnt * sizeof(*v));
	free(v);
	return -1;
}

static void
b64(const uint8_t *p, size_t n, char *out)
{
	EVP_EncodeBlock((unsigned char *)out, p, (int)n);
}

int
store_prekeys_write(const char *dir, const struct store_prekey *pk, size_t n,
    char *why, size_t whylen)
{
	char path[4096], tmp[4200], text[256], priv[48], pub[48];
	ssize_t w;
	int fd, len, dfd;

	for (size_t i = 0; i < n; i++) {
		b64(pk[i].pair.priv, 32, priv);
		b64(pk[i].pair.pub, 32, pub);
		len = snprintf(text, sizeof(text), "{\"private\":{\"type\":\"Buffer\","
		    "\"data\":\"%s\"},\"public\":{\"type\":\"Buffer\",\"data\":\"%s\"}}",
		    priv, pub);
		OPENSSL_cleanse(priv, sizeof(priv));
		snprintf(path, sizeof(path), "%s/pre-key-%u.json", dir, pk[i].id);
		snprintf(tmp, sizeof(tmp), "%s/.pre-key-%u.json.tmp", dir, pk[i].id);
		fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW,
		    0600);
		if (fd < 0) {
			OPENSSL_cleanse(text, sizeof(text));
			return fail(why, whylen, "%s: %s", tmp, strerror(errno));
		}
		w = write(fd, text, (size_t)len);
		OPENSSL_cleanse(text, sizeof(text));
		if (w != len || fchmod(fd, 0600) < 0 || fsync(fd) < 0) {
			close(fd);
			unlink(tmp);
			return fail(why, whylen, "%s: cannot write", tmp);
		}
		if (close(fd) < 0 || rename(tmp, path) < 0) {
			unlink(tmp);
			return fail(why, whylen, "%s: cannot write", path);
		}
	}
	if ((dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) >= 0) {
		(void)fsync(dfd);
		close(dfd);
	}
	return 0;
}
