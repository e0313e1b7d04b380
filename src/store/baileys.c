/*
 * src/store/baileys.c: Baileys' creds.json <-> struct wa_creds.
 *
 * The file is what Baileys' useMultiFileAuthState writes: JSON.stringify
 * with BufferJSON.replacer, so every Buffer is {"type":"Buffer","data":
 * "<base64>"}.  Two exceptions matter:
 *  - advSecretKey is a plain base64 string (Baileys keeps it as a string);
 *  - account is a protobufjs message, whose toJSON runs before the
 *    replacer: its four bytes fields come out as plain base64 strings.
 * Reading accepts every form Baileys' reviver accepts for bytes (base64
 * string data, an array of byte values, an object with numeric keys) and
 * a plain base64 string where the field is a string in Baileys.
 *
 * Writing merges into an existing creds.json when there is one: the fields
 * struct wa_creds holds are replaced, every other field Baileys keeps
 * (lastPropHash, myAppStateKeyId, accountSettings, ...) survives, so
 * exporting into a live Baileys folder does not throw its state away.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <json-c/json.h>
#include <openssl/crypto.h>
#include "store/baileys.h"
#include "wa.pb-c.h"

#define CREDS_FILE "creds.json"
#define CREDS_MAX_BYTES (4u << 20)  /* a real creds.json is a few KiB */

/* Where a read failure is reported: "FILE: FIELD: what". */
struct ctx {
	char file[PATH_MAX];
	char *why;
	size_t whylen;
};

static int
fail(struct ctx *x, int rc, const char *field, const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	if (x->why == NULL || x->whylen == 0)
		return rc;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (field != NULL)
		snprintf(x->why, x->whylen, "%s: %s: %s", x->file, field, msg);
	else
		snprintf(x->why, x->whylen, "%s: %s", x->file, msg);
	return rc;
}

/* --- base64 (RFC 4648; Node's decoder also takes the URL alphabet and
 * missing padding, so this one does too) -------------------------------- */
static const char b64chars[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static int
b64val(int c)
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

/* Returns the decoded length, or -1 (bad character, or over cap). */
static long
b64_decode(const char *s, uint8_t *out, size_t cap)
{
	uint32_t acc = 0;
	size_t n = 0;
	int bits = 0, v, pad = 0;

	for (; *s; s++) {
		if (*s == '=') {
			pad++;
			continue;
		}
		if (pad || (v = b64val((unsigned char)*s)) < 0)
			return -1;
		acc = (acc << 6) | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			if (n >= cap)
				return -1;
			out[n++] = (uint8_t)(acc >> bits);
		}
	}
	if (pad > 2)
		return -1;
	return (long)n;
}

/* out needs 4 * ceil(n / 3) + 1 bytes. */
static void
b64_encode(const uint8_t *p, size_t n, char *out)
{
	size_t i;
	uint32_t v;

	for (i = 0; i + 2 < n; i += 3) {
		v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8 | p[i + 2];
		*out++ = b64chars[v >> 18];
		*out++ = b64chars[(v >> 12) & 63];
		*out++ = b64chars[(v >> 6) & 63];
		*out++ = b64chars[v & 63];
	}
	if (i < n) {
		v = (uint32_t)p[i] << 16;
		if (i + 1 < n)
			v |= (uint32_t)p[i + 1] << 8;
		*out++ = b64chars[v >> 18];
		*out++ = b64chars[(v >> 12) & 63];
		*out++ = i + 1 < n ? b64chars[(v >> 6) & 63] : '=';
		*out++ = '=';
	}
	*out = '\0';
}

/* --- reading ------------------------------------------------------------ */

/* A field at `path` (dot-separated) or NULL. */
static json_object *
field(json_object *root, const char *path)
{
	char part[64];
	const char *p = path, *dot;
	json_object *o = root;
	size_t n;

	while (o != NULL) {
		if (!json_object_is_type(o, json_type_object))
			return NULL;
		dot = strchr(p, '.');
		n = dot ? (size_t)(dot - p) : strlen(p);
		if (n >= sizeof(part))
			return NULL;
		memcpy(part, p, n);
		part[n] = '\0';
		if (!json_object_object_get_ex(o, part, &o))
			return NULL;
		if (dot == NULL)
			return json_object_is_type(o, json_type_null) ? NULL : o;
		p = dot + 1;
	}
	return NULL;
}

/* Bytes in any form Baileys' reviver (or protobufjs' toJSON) produces.
 * Sets *got; fails when the value is absent (if required), not bytes, or
 * its length is outside [min, max]. */
static int
get_bytes(struct ctx *x, json_object *root, const char *path, int required,
    int plain_string_ok, uint8_t *out, size_t min, size_t max, size_t *got)
{
	json_object *v = field(root, path), *d, *e;
	const char *s;
	uint8_t tmp[2048];
	size_t n = 0, i, len;
	long dl;

	*got = 0;
	if (v == NULL) {
		if (required)
			return fail(x, WA_EMALFORM, path, "missing");
		return 0;
	}
	if (max > sizeof(tmp))
		max = sizeof(tmp);
	if (json_object_is_type(v, json_type_string)) {
		if (!plain_string_ok)
			return fail(x, WA_EMALFORM, path, "expected a Buffer "
			    "({\"type\":\"Buffer\",\"data\":\"<base64>\"}), "
			    "found a string");
		s = json_object_get_string(v);
		if ((dl = b64_decode(s, tmp, sizeof(tmp))) < 0)
			return fail(x, WA_EMALFORM, path, "not valid base64");
		n = (size_t)dl;
	} else if (json_object_is_type(v, json_type_object) &&
	    json_object_object_get_ex(v, "type", &e) &&
	    json_object_is_type(e, json_type_string) &&
	    strcmp(json_object_get_string(e), "Buffer") == 0) {
		if (!json_object_object_get_ex(v, "data", &d))
			return fail(x, WA_EMALFORM, path, "Buffer without data");
		if (json_object_is_type(d, json_type_string)) {
			dl = b64_decode(json_object_get_string(d), tmp,
			    sizeof(tmp));
			if (dl < 0)
				return fail(x, WA_EMALFORM, path,
				    "Buffer data is not valid base64");
			n = (size_t)dl;
		} else if (json_object_is_type(d, json_type_array)) {
			len = json_object_array_length(d);
			if (len > sizeof(tmp))
				return fail(x, WA_ETOOBIG, path, "too long");
			for (i = 0; i < len; i++) {
				e = json_object_array_get_idx(d, i);
				if (!json_object_is_type(e, json_type_int) ||
				    json_object_get_int(e) < 0 ||
				    json_object_get_int(e) > 255)
					return fail(x, WA_EMALFORM, path,
					    "Buffer data[%zu] is not a byte", i);
				tmp[i] = (uint8_t)json_object_get_int(e);
			}
			n = len;
		} else {
			return fail(x, WA_EMALFORM, path,
			    "Buffer data is neither base64 nor an array");
		}
	} else if (json_object_is_type(v, json_type_object)) {
		/* the reviver's old form: {"0":12,"1":34,...} */
		len = (size_t)json_object_object_length(v);
		if (len == 0 || len > sizeof(tmp))
			return fail(x, WA_EMALFORM, path, "not a Buffer");
		json_object_object_foreach(v, key, val) {
			char *end;
			unsigned long k = strtoul(key, &end, 10);
			if (*key == '\0' || *end != '\0' || k >= len ||
			    !json_object_is_type(val, json_type_int) ||
			    json_object_get_int(val) < 0 ||
			    json_object_get_int(val) > 255)
				return fail(x, WA_EMALFORM, path, "not a Buffer");
			tmp[k] = (uint8_t)json_object_get_int(val);
		}
		n = len;
	} else {
		return fail(x, WA_EMALFORM, path, "expected a Buffer, found %s",
		    json_type_to_name(json_object_get_type(v)));
	}
	if (n < min || n > max) {
		OPENSSL_cleanse(tmp, sizeof(tmp));
		if (min == max)
			return fail(x, WA_EMALFORM, path,
			    "expected %zu bytes, found %zu", min, n);
		return fail(x, WA_EMALFORM, path,
		    "expected %zu to %zu bytes, found %zu", min, max, n);
	}
	memcpy(out, tmp, n);
	OPENSSL_cleanse(tmp, sizeof(tmp));
	*got = n;
	return 0;
}

/* A public key: 32 bytes, or 33 with libsignal's type byte 5 in front. */
static int
get_pub(struct ctx *x, json_object *root, const char *path, uint8_t out[32])
{
	uint8_t b[33];
	size_t n;
	int rc = get_bytes(x, root, path, 1, 0, b, 32, 33, &n);

	if (rc < 0)
		return rc;
	if (n == 33 && b[0] != 5)
		return fail(x, WA_EMALFORM, path,
		    "33-byte key without the type byte 5");
	memcpy(out, b + (n - 32), 32);
	return 0;
}

static int
get_keypair(struct ctx *x, json_object *root, const char *path,
    struct wa_keypair *kp)
{
	char p[96];
	size_t n;
	struct wa_keypair check;
	int rc;

	snprintf(p, sizeof(p), "%s.private", path);
	if ((rc = get_bytes(x, root, p, 1, 0, kp->priv, 32, 32, &n)) < 0)
		return rc;
	snprintf(p, sizeof(p), "%s.public", path);
	if ((rc = get_pub(x, root, p, kp->pub)) < 0)
		return rc;
	/* a pair that does not match would fail much later, at the server,
	 * with nothing pointing at the file */
	if (wa_keypair_from_private(&check, kp->priv) < 0 ||
	    memcmp(check.pub, kp->pub, 32) != 0) {
		OPENSSL_cleanse(&check, sizeof(check));
		return fail(x, WA_EMALFORM, path,
		    "public key does not belong to the private key");
	}
	OPENSSL_cleanse(&check, sizeof(check));
	return 0;
}

static int
get_uint(struct ctx *x, json_object *root, const char *path, int required,
    uint32_t dflt, uint32_t *out)
{
	json_object *v = field(root, path);
	int64_t i;

	if (v == NULL) {
		if (required)
			return fail(x, WA_EMALFORM, path, "missing");
		*out = dflt;
		return 0;
	}
	if (!json_object_is_type(v, json_type_int))
		return fail(x, WA_EMALFORM, path, "expected an integer, found %s",
		    json_type_to_name(json_object_get_type(v)));
	i = json_object_get_int64(v);
	if (i < 0 || i > UINT32_MAX)
		return fail(x, WA_EMALFORM, path, "out of range (%lld)",
		    (long long)i);
	*out = (uint32_t)i;
	return 0;
}

static int
get_string(struct ctx *x, json_object *root, const char *path, char *out,
    size_t cap)
{
	json_object *v = field(root, path);
	const char *s;

	out[0] = '\0';
	if (v == NULL)
		return 0;
	if (!json_object_is_type(v, json_type_string))
		return fail(x, WA_EMALFORM, path, "expected a string, found %s",
		    json_type_to_name(json_object_get_type(v)));
	s = json_object_get_string(v);
	if (strlen(s) >= cap)
		return fail(x, WA_ETOOBIG, path, "longer than %zu characters",
		    cap - 1);
	memcpy(out, s, strlen(s) + 1);
	return 0;
}

/* "DIGITS[:DIGITS]@server": what the login payload is made of. */
static int
jid_ok(const char *s)
{
	const char *p = s;

	if (*p < '0' || *p > '9')
		return 0;
	while (*p >= '0' && *p <= '9')
		p++;
	if (*p == ':') {
		p++;
		if (*p < '0' || *p > '9')
			return 0;
		while (*p >= '0' && *p <= '9')
			p++;
	}
	return *p == '@' && p[1] != '\0';
}

static int
get_account(struct ctx *x, json_object *root, struct wa_creds *c)
{
	Wa__ADVSignedDeviceIdentity a = WA__ADVSIGNED_DEVICE_IDENTITY__INIT;
	uint8_t details[512], key[33], sig[64], dsig[64];
	size_t nd, nk, ns, nds;
	int rc;

	c->account_len = 0;
	if (field(root, "account") == NULL)
		return 0;
	if ((rc = get_bytes(x, root, "account.details", 1, 1, details, 1,
	    sizeof(details), &nd)) < 0 ||
	    (rc = get_bytes(x, root, "account.accountSignatureKey", 0, 1, key,
	    32, 33, &nk)) < 0 ||
	    (rc = get_bytes(x, root, "account.accountSignature", 0, 1, sig, 64,
	    64, &ns)) < 0 ||
	    (rc = get_bytes(x, root, "account.deviceSignature", 0, 1, dsig, 64,
	    64, &nds)) < 0)
		return rc;
	a.has_details = 1;
	a.details.data = details;
	a.details.len = nd;
	if (nk) {
		a.has_accountsignaturekey = 1;
		a.accountsignaturekey.data = key;
		a.accountsignaturekey.len = nk;
	}
	if (ns) {
		a.has_accountsignature = 1;
		a.accountsignature.data = sig;
		a.accountsignature.len = ns;
	}
	if (nds) {
		a.has_devicesignature = 1;
		a.devicesignature.data = dsig;
		a.devicesignature.len = nds;
	}
	if (wa__advsigned_device_identity__get_packed_size(&a) >
	    sizeof(c->account))
		return fail(x, WA_ETOOBIG, "account", "over %zu bytes encoded",
		    sizeof(c->account));
	c->account_len = wa__advsigned_device_identity__pack(&a, c->account);
	return 0;
}

/* 1-based line and column of byte offset `off`. */
static void
line_col(const char *s, size_t off, int *line, int *col)
{
	size_t i;

	*line = 1;
	*col = 1;
	for (i = 0; i < off && s[i]; i++) {
		if (s[i] == '\n') {
			(*line)++;
			*col = 1;
		} else {
			(*col)++;
		}
	}
}

/* Reads and parses path; on failure sets why and returns NULL. */
static json_object *
load_json(struct ctx *x, int *rcp)
{
	struct json_tokener *tok;
	json_object *root;
	struct stat st;
	char *buf;
	size_t len = 0, end;
	ssize_t r;
	int fd, line, col;

	*rcp = WA_EMALFORM;
	if ((fd = open(x->file, O_RDONLY | O_CLOEXEC)) < 0) {
		*rcp = fail(x, WA_EMALFORM, NULL, "%s", strerror(errno));
		return NULL;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		*rcp = fail(x, WA_EMALFORM, NULL, "not a regular file");
		return NULL;
	}
	if ((size_t)st.st_size > CREDS_MAX_BYTES) {
		close(fd);
		*rcp = fail(x, WA_ETOOBIG, NULL, "over %u bytes",
		    CREDS_MAX_BYTES);
		return NULL;
	}
	if ((buf = malloc((size_t)st.st_size + 1)) == NULL) {
		close(fd);
		*rcp = fail(x, WA_ENOMEM, NULL, "out of memory");
		return NULL;
	}
	while (len < (size_t)st.st_size &&
	    (r = read(fd, buf + len, (size_t)st.st_size - len)) != 0) {
		if (r < 0) {
			if (errno == EINTR)
				continue;
			*rcp = fail(x, WA_EMALFORM, NULL, "%s", strerror(errno));
			close(fd);
			free(buf);
			return NULL;
		}
		len += (size_t)r;
	}
	close(fd);
	buf[len] = '\0';
	if (len == 0) {
		free(buf);
		*rcp = fail(x, WA_ETRUNC, NULL, "empty file");
		return NULL;
	}
	tok = json_tokener_new();
	if (tok == NULL) {
		free(buf);
		*rcp = fail(x, WA_ENOMEM, NULL, "out of memory");
		return NULL;
	}
	root = json_tokener_parse_ex(tok, buf, (int)len);
	end = json_tokener_get_parse_end(tok);
	if (root == NULL) {
		enum json_tokener_error e = json_tokener_get_error(tok);
		if (e == json_tokener_continue) {
			*rcp = fail(x, WA_ETRUNC, NULL,
			    "not valid JSON: ends early");
		} else {
			line_col(buf, end, &line, &col);
			*rcp = fail(x, WA_EMALFORM, NULL,
			    "not valid JSON at line %d, column %d: %s", line,
			    col, json_tokener_error_desc(e));
		}
	} else {
		while (end < len && strchr(" \t\r\n", buf[end]) != NULL)
			end++;
		if (end < len) {
			line_col(buf, end, &line, &col);
			*rcp = fail(x, WA_EMALFORM, NULL, "not valid JSON at "
			    "line %d, column %d: text after the end", line, col);
			json_object_put(root);
			root = NULL;
		} else if (!json_object_is_type(root, json_type_object)) {
			*rcp = fail(x, WA_EMALFORM, NULL,
			    "expected a JSON object, found %s",
			    json_type_to_name(json_object_get_type(root)));
			json_object_put(root);
			root = NULL;
		}
	}
	json_tokener_free(tok);
	OPENSSL_cleanse(buf, len);
	free(buf);
	return root;
}

static void
set_file(struct ctx *x, const char *dir, const char *name)
{
	snprintf(x->file, sizeof(x->file), "%s/%s", dir, name);
}

int
store_baileys_read(const char *dir, struct wa_creds *c, char *why,
    size_t whylen)
{
	struct ctx x = { .why = why, .whylen = whylen };
	json_object *root;
	uint8_t adv[64];
	size_t n;
	int rc;

	set_file(&x, dir, CREDS_FILE);
	memset(c, 0, sizeof(*c));
	if ((root = load_json(&x, &rc)) == NULL)
		return rc;
	if ((rc = get_keypair(&x, root, "noiseKey", &c->noise)) < 0 ||
	    (rc = get_keypair(&x, root, "signedIdentityKey", &c->identity)) < 0 ||
	    (rc = get_keypair(&x, root, "signedPreKey.keyPair",
	    &c->signed_prekey)) < 0 ||
	    (rc = get_bytes(&x, root, "signedPreKey.signature", 1, 0,
	    c->signed_prekey_sig, 64, 64, &n)) < 0 ||
	    (rc = get_uint(&x, root, "signedPreKey.keyId", 1, 0,
	    &c->signed_prekey_id)) < 0 ||
	    (rc = get_uint(&x, root, "registrationId", 1, 0,
	    &c->registration_id)) < 0 ||
	    (rc = get_bytes(&x, root, "advSecretKey", 1, 1, adv, 32, 32,
	    &n)) < 0 ||
	    (rc = get_string(&x, root, "me.id", c->me_jid,
	    sizeof(c->me_jid))) < 0 ||
	    (rc = get_string(&x, root, "me.lid", c->me_lid,
	    sizeof(c->me_lid))) < 0 ||
	    (rc = get_string(&x, root, "me.name", c->push_name,
	    sizeof(c->push_name))) < 0 ||
	    (rc = get_string(&x, root, "platform", c->platform,
	    sizeof(c->platform))) < 0 ||
	    (rc = get_account(&x, root, c)) < 0 ||
	    (rc = get_bytes(&x, root, "routingInfo", 0, 0, c->routing, 1,
	    sizeof(c->routing), &c->routing_len)) < 0 ||
	    (rc = get_uint(&x, root, "nextPreKeyId", 0, 1,
	    &c->next_prekey_id)) < 0 ||
	    (rc = get_uint(&x, root, "firstUnuploadedPreKeyId", 0, 1,
	    &c->first_unuploaded_prekey_id)) < 0)
		goto out;
	memcpy(c->adv_secret, adv, 32);
	if (field(root, "me") != NULL && c->me_jid[0] == '\0') {
		rc = fail(&x, WA_EMALFORM, "me.id", "missing");
		goto out;
	}
	if (c->me_jid[0] != '\0' && !jid_ok(c->me_jid)) {
		rc = fail(&x, WA_EMALFORM, "me.id",
		    "\"%s\" is not PHONE[:DEVICE]@server", c->me_jid);
		goto out;
	}
	rc = 0;
out:
	OPENSSL_cleanse(adv, sizeof(adv));
	json_object_put(root);
	if (rc < 0)
		OPENSSL_cleanse(c, sizeof(*c));
	return rc;
}

/* --- writing ------------------------------------------------------------ */

static json_object *
buffer_obj(const uint8_t *p, size_t n)
{
	char s[4 * ((2048 + 2) / 3) + 1];
	json_object *o;

	if (n > 2048)
		return NULL;
	b64_encode(p, n, s);
	if ((o = json_object_new_object()) == NULL)
		return NULL;
	json_object_object_add(o, "type", json_object_new_string("Buffer"));
	json_object_object_add(o, "data", json_object_new_string(s));
	return o;
}

static json_object *
b64_string(const uint8_t *p, size_t n)
{
	char s[4 * ((2048 + 2) / 3) + 1];

	if (n > 2048)
		return NULL;
	b64_encode(p, n, s);
	return json_object_new_string(s);
}

static json_object *
keypair_obj(const struct wa_keypair *kp)
{
	json_object *o = json_object_new_object();

	if (o == NULL)
		return NULL;
	json_object_object_add(o, "private", buffer_obj(kp->priv, 32));
	json_object_object_add(o, "public", buffer_obj(kp->pub, 32));
	return o;
}

/* The object at key in parent, created (replacing a non-object) if need
 * be. */
static json_object *
child_obj(json_object *parent, const char *key)
{
	json_object *o;

	if (json_object_object_get_ex(parent, key, &o) &&
	    json_object_is_type(o, json_type_object))
		return o;
	o = json_object_new_object();
	json_object_object_add(parent, key, o);
	return o;
}

static void
set_default(json_object *root, const char *key, json_object *v)
{
	json_object *old;

	if (json_object_object_get_ex(root, key, &old) && old != NULL)
		json_object_put(v);
	else
		json_object_object_add(root, key, v);
}

/* account and signalIdentities from the encoded ADVSignedDeviceIdentity,
 * in the form Baileys writes after pairing. */
static int
put_account(json_object *root, const struct wa_creds *c)
{
	Wa__ADVSignedDeviceIdentity *a;
	json_object *acc, *ids, *id, *ident;
	uint8_t key[33];
	const char *name;

	if (c->account_len == 0) {
		json_object_object_del(root, "account");
		return 0;
	}
	a = wa__advsigned_device_identity__unpack(NULL, c->account_len,
	    c->account);
	if (a == NULL)
		return WA_EMALFORM;
	acc = json_object_new_object();
	if (a->has_details)
		json_object_object_add(acc, "details",
		    b64_string(a->details.data, a->details.len));
	if (a->has_accountsignaturekey)
		json_object_object_add(acc, "accountSignatureKey",
		    b64_string(a->accountsignaturekey.data,
		    a->accountsignaturekey.len));
	if (a->has_accountsignature)
		json_object_object_add(acc, "accountSignature",
		    b64_string(a->accountsignature.data,
		    a->accountsignature.len));
	if (a->has_devicesignature)
		json_object_object_add(acc, "deviceSignature",
		    b64_string(a->devicesignature.data,
		    a->devicesignature.len));
	json_object_object_add(root, "account", acc);
	/* Baileys names its signal identity after the LID it was paired
	 * with (the JID when there is none), keyed by the account key with
	 * libsignal's type byte */
	if (a->has_accountsignaturekey && a->accountsignaturekey.len == 32 &&
	    !json_object_object_get_ex(root, "signalIdentities", &ids)) {
		key[0] = 5;
		memcpy(key + 1, a->accountsignaturekey.data, 32);
		name = c->me_lid[0] ? c->me_lid : c->me_jid;
		ident = json_object_new_object();
		json_object_object_add(ident, "name",
		    json_object_new_string(name));
		json_object_object_add(ident, "deviceId", json_object_new_int(0));
		id = json_object_new_object();
		json_object_object_add(id, "identifier", ident);
		json_object_object_add(id, "identifierKey", buffer_obj(key, 33));
		ids = json_object_new_array();
		json_object_array_add(ids, id);
		json_object_object_add(root, "signalIdentities", ids);
	}
	wa__advsigned_device_identity__free_unpacked(a, NULL);
	return 0;
}

static int
fill(json_object *root, const struct wa_creds *c)
{
	struct wa_keypair eph;
	json_object *spk, *me;
	int rc;

	json_object_object_add(root, "noiseKey", keypair_obj(&c->noise));
	/* Baileys wants the pairing-code key pair present; we keep none, so
	 * a fresh one does (it only matters while pairing by code) */
	if (!json_object_object_get_ex(root, "pairingEphemeralKeyPair", NULL)) {
		if ((rc = wa_keypair_generate(&eph)) < 0)
			return rc;
		json_object_object_add(root, "pairingEphemeralKeyPair",
		    keypair_obj(&eph));
		OPENSSL_cleanse(&eph, sizeof(eph));
	}
	json_object_object_add(root, "signedIdentityKey",
	    keypair_obj(&c->identity));
	spk = json_object_new_object();
	json_object_object_add(spk, "keyPair", keypair_obj(&c->signed_prekey));
	json_object_object_add(spk, "signature",
	    buffer_obj(c->signed_prekey_sig, 64));
	json_object_object_add(spk, "keyId",
	    json_object_new_int64(c->signed_prekey_id));
	json_object_object_add(root, "signedPreKey", spk);
	json_object_object_add(root, "registrationId",
	    json_object_new_int64(c->registration_id));
	json_object_object_add(root, "advSecretKey",
	    b64_string(c->adv_secret, 32));
	set_default(root, "processedHistoryMessages", json_object_new_array());
	json_object_object_add(root, "nextPreKeyId",
	    json_object_new_int64(c->next_prekey_id ? c->next_prekey_id : 1));
	json_object_object_add(root, "firstUnuploadedPreKeyId",
	    json_object_new_int64(c->first_unuploaded_prekey_id ?
	    c->first_unuploaded_prekey_id : 1));
	set_default(root, "accountSyncCounter", json_object_new_int(0));
	if (!json_object_object_get_ex(root, "accountSettings", NULL)) {
		json_object *s = json_object_new_object();
		json_object_object_add(s, "unarchiveChats",
		    json_object_new_boolean(0));
		json_object_object_add(root, "accountSettings", s);
	}
	if (c->me_jid[0] != '\0') {
		me = child_obj(root, "me");
		json_object_object_add(me, "id",
		    json_object_new_string(c->me_jid));
		if (c->me_lid[0])
			json_object_object_add(me, "lid",
			    json_object_new_string(c->me_lid));
		else
			json_object_object_del(me, "lid");
		if (c->push_name[0])
			json_object_object_add(me, "name",
			    json_object_new_string(c->push_name));
		/* a paired device is registered: Baileys logs in with it */
		json_object_object_add(root, "registered",
		    json_object_new_boolean(1));
	} else {
		json_object_object_del(root, "me");
		set_default(root, "registered", json_object_new_boolean(0));
	}
	if ((rc = put_account(root, c)) < 0)
		return rc;
	if (c->platform[0])
		json_object_object_add(root, "platform",
		    json_object_new_string(c->platform));
	if (c->routing_len > 0 && c->routing_len <= sizeof(c->routing))
		json_object_object_add(root, "routingInfo",
		    buffer_obj(c->routing, c->routing_len));
	else
		json_object_object_del(root, "routingInfo");
	return 0;
}

static int
wfail(char *why, size_t whylen, const char *path, const char *what, int rc)
{
	if (why != NULL && whylen > 0)
		snprintf(why, whylen, "%s: %s", path, what);
	return rc;
}

/* mkdir -p, the last component 0700. */
static int
make_dir(const char *dir)
{
	char p[PATH_MAX];
	size_t i, n = strlen(dir);

	if (n == 0 || n >= sizeof(p))
		return -1;
	memcpy(p, dir, n + 1);
	for (i = 1; i < n; i++) {
		if (p[i] != '/')
			continue;
		p[i] = '\0';
		if (mkdir(p, 0700) < 0 && errno != EEXIST)
			return -1;
		p[i] = '/';
	}
	if (mkdir(p, 0700) < 0 && errno != EEXIST)
		return -1;
	return 0;
}

static int
write_all(int fd, const char *p, size_t n)
{
	ssize_t w;

	while (n > 0) {
		w = write(fd, p, n);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

int
store_baileys_write(const char *dir, const struct wa_creds *c, char *why,
    size_t whylen)
{
	struct ctx x = { .why = NULL, .whylen = 0 };
	char tmp[PATH_MAX + 32], err[128];
	json_object *root = NULL;
	const char *text;
	struct stat st;
	int fd, dfd, rc, ignored;

	set_file(&x, dir, CREDS_FILE);
	if (make_dir(dir) < 0) {
		snprintf(err, sizeof(err), "cannot create: %s", strerror(errno));
		return wfail(why, whylen, dir, err, WA_EMALFORM);
	}
	/* merge into what is there (see the top of the file); a file that
	 * does not parse is replaced */
	if (stat(x.file, &st) == 0)
		root = load_json(&x, &ignored);
	if (root == NULL && (root = json_object_new_object()) == NULL)
		return wfail(why, whylen, x.file, "out of memory", WA_ENOMEM);
	if ((rc = fill(root, c)) < 0) {
		json_object_put(root);
		return wfail(why, whylen, x.file, rc == WA_EMALFORM ?
		    "account is not an encoded ADVSignedDeviceIdentity" :
		    wa_strerror(rc), rc);
	}
	text = json_object_to_json_string_ext(root,
	    JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
	snprintf(tmp, sizeof(tmp), "%s/.creds.json.XXXXXX", dir);
	if ((fd = mkstemp(tmp)) < 0) {
		snprintf(err, sizeof(err), "cannot create a temporary file: %s",
		    strerror(errno));
		json_object_put(root);
		return wfail(why, whylen, dir, err, WA_EMALFORM);
	}
	rc = 0;
	if (fchmod(fd, 0600) < 0 || write_all(fd, text, strlen(text)) < 0 ||
	    fsync(fd) < 0) {
		snprintf(err, sizeof(err), "cannot write: %s", strerror(errno));
		rc = wfail(why, whylen, tmp, err, WA_EMALFORM);
	}
	/* the text holds private keys */
	OPENSSL_cleanse((void *)text, strlen(text));
	json_object_put(root);
	if (close(fd) < 0 && rc == 0) {
		snprintf(err, sizeof(err), "cannot write: %s", strerror(errno));
		rc = wfail(why, whylen, tmp, err, WA_EMALFORM);
	}
	if (rc == 0 && rename(tmp, x.file) < 0) {
		snprintf(err, sizeof(err), "cannot rename into place: %s",
		    strerror(errno));
		rc = wfail(why, whylen, x.file, err, WA_EMALFORM);
	}
	if (rc < 0) {
		unlink(tmp);
		return rc;
	}
	/* the rename is durable only once the directory is synced */
	if ((dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) >= 0) {
		(void)fsync(dfd);
		close(dfd);
	}
	return 0;
}
