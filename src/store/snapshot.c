/*
 * src/store/snapshot.c: struct store_snap <-> blob (see snapshot.h for the
 * layout and the encryption).
 *
 * Costs: an encode or decode is one protobuf pack/unpack, one SHA-256 over
 * the blob and, with a secret, one HKDF and one AES-GCM pass: for a session
 * with a hundred pre-keys (~8 KB) that is tens of microseconds, noise next
 * to the fsync the file copy pays for every save.  The key is derived on
 * every call instead of being cached, so no key outlives the call.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/params.h>
#include <openssl/rand.h>
#include <openssl/sha.h>
#include "session.pb-c.h"
#include "store/snapshot.h"

static const uint8_t magic[6] = { 'S', 'K', 'S', 'N', 'A', 'P' };

/* A field added to struct wa_creds that the snapshot does not carry would
 * be lost at the first restart, silently.  This trips first: carry the new
 * field in proto/session.proto, to_pb and from_pb, then update the size. */
#if SIZE_MAX == UINT64_MAX
_Static_assert(sizeof(struct wa_creds) == 2016,
    "struct wa_creds changed: store the new field in the snapshot");
#endif

#define HKDF_SALT "skykeeper/session-snapshot/v1"
#define HKDF_INFO "aes-256-gcm key"

static int
fail(char *why, size_t whylen, int code, const char *fmt, ...)
{
	va_list ap;

	if (why != NULL && whylen > 0) {
		va_start(ap, fmt);
		vsnprintf(why, whylen, fmt, ap);
		va_end(ap);
	}
	return code;
}

/* A failed OpenSSL call leaves entries in the thread's error queue; the
 * TLS code on the same thread would take them for its own failure. */
static int
crypto_fail(char *why, size_t whylen, int code, const char *what)
{
	ERR_clear_error();
	return fail(why, whylen, code, "%s", what);
}

static void
put_be16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void
put_be32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (24 - 8 * i));
}

static void
put_be64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (56 - 8 * i));
}

static uint64_t
get_be(const uint8_t *p, int n)
{
	uint64_t v = 0;

	for (int i = 0; i < n; i++)
		v = v << 8 | p[i];
	return v;
}

/* --- an allocator that wipes: unpacked messages hold private keys ------ */

/* Each block carries its size in front, so free can wipe it.  16 bytes of
 * prefix keep the pointer handed out as aligned as malloc's. */
#define WIPE_PREFIX 16

static void *
wipe_alloc(void *data, size_t size)
{
	uint8_t *p;

	(void)data;
	if (size > SIZE_MAX - WIPE_PREFIX ||
	    (p = malloc(size + WIPE_PREFIX)) == NULL)
		return NULL;
	memcpy(p, &size, sizeof(size));
	return p + WIPE_PREFIX;
}

static void
wipe_free(void *data, void *ptr)
{
	uint8_t *p;
	size_t size;

	(void)data;
	if (ptr == NULL)
		return;
	p = (uint8_t *)ptr - WIPE_PREFIX;
	memcpy(&size, p, sizeof(size));
	OPENSSL_cleanse(p, size + WIPE_PREFIX);
	free(p);
}

static ProtobufCAllocator wipe_allocator = {
	.alloc = wipe_alloc,
	.free = wipe_free,
	.allocator_data = NULL,
};

/* --- key and cipher ---------------------------------------------------- */

static int
has_secret(const char *secret)
{
	return secret != NULL && secret[0] != '\0';
}

static int
derive_key(const char *secret, uint8_t key[32])
{
	EVP_KDF *kdf = EVP_KDF_fetch(NULL, "HKDF", NULL);
	EVP_KDF_CTX *kctx = kdf != NULL ? EVP_KDF_CTX_new(kdf) : NULL;
	OSSL_PARAM params[5];
	int ok;

	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST,
	    (char *)"SHA256", 0);
	params[1] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY,
	    (void *)secret, strlen(secret));
	params[2] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT,
	    (void *)HKDF_SALT, sizeof(HKDF_SALT) - 1);
	params[3] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO,
	    (void *)HKDF_INFO, sizeof(HKDF_INFO) - 1);
	params[4] = OSSL_PARAM_construct_end();
	ok = kctx != NULL && EVP_KDF_derive(kctx, key, 32, params) > 0;
	EVP_KDF_CTX_free(kctx);   /* cleanses its copy of the secret */
	EVP_KDF_free(kdf);
	if (!ok)
		OPENSSL_cleanse(key, 32);
	return ok ? 0 : STORE_SNAP_ECRYPTO;
}

/* out = nonce || ciphertext || tag; out has room for n + 28 bytes. */
static int
seal(const char *secret, const uint8_t *aad, const uint8_t *in, size_t n,
    uint8_t *out)
{
	uint8_t key[32];
	EVP_CIPHER_CTX *ctx = NULL;
	uint8_t *ct = out + STORE_SNAP_NONCE_LEN;
	int l1 = 0, l2 = 0, ok = 0;

	if (n > INT32_MAX || derive_key(secret, key) < 0)
		return STORE_SNAP_ECRYPTO;
	ok = RAND_bytes(out, STORE_SNAP_NONCE_LEN) == 1 &&
	    (ctx = EVP_CIPHER_CTX_new()) != NULL &&
	    EVP_EncryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, key, out) == 1 &&
	    EVP_EncryptUpdate(ctx, NULL, &l1, aad, STORE_SNAP_HDR_LEN) == 1 &&
	    EVP_EncryptUpdate(ctx, ct, &l1, in, (int)n) == 1 &&
	    EVP_EncryptFinal_ex(ctx, ct + l1, &l2) == 1 &&
	    (size_t)l1 + (size_t)l2 == n &&
	    EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, STORE_SNAP_TAG_LEN,
	    ct + n) == 1;
	EVP_CIPHER_CTX_free(ctx);
	OPENSSL_cleanse(key, sizeof(key));
	return ok ? 0 : STORE_SNAP_ECRYPTO;
}

/* in = nonce || ciphertext || tag (n bytes, n >= 28) -> out (n - 28).
 * STORE_SNAP_EBADSECRET when the tag does not verify: the checksum held,
 * so the bytes are the ones written, and the key is what differs. */
static int
open_sealed(const char *secret, const uint8_t *aad, const uint8_t *in,
    size_t n, uint8_t *out)
{
	uint8_t key[32], tag[STORE_SNAP_TAG_LEN];
	EVP_CIPHER_CTX *ctx = NULL;
	size_t ctlen = n - STORE_SNAP_NONCE_LEN - STORE_SNAP_TAG_LEN;
	int l1 = 0, l2 = 0, rc = STORE_SNAP_ECRYPTO;

	if (ctlen > INT32_MAX || derive_key(secret, key) < 0)
		return STORE_SNAP_ECRYPTO;
	memcpy(tag, in + n - STORE_SNAP_TAG_LEN, sizeof(tag));
	if ((ctx = EVP_CIPHER_CTX_new()) != NULL &&
	    EVP_DecryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, key, in) == 1 &&
	    EVP_DecryptUpdate(ctx, NULL, &l1, aad, STORE_SNAP_HDR_LEN) == 1 &&
	    EVP_DecryptUpdate(ctx, out, &l1, in + STORE_SNAP_NONCE_LEN,
	    (int)ctlen) == 1 &&
	    EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, STORE_SNAP_TAG_LEN,
	    tag) == 1)
		rc = EVP_DecryptFinal_ex(ctx, out + l1, &l2) == 1 ? 0 :
		    STORE_SNAP_EBADSECRET;
	EVP_CIPHER_CTX_free(ctx);
	OPENSSL_cleanse(key, sizeof(key));
	if (rc < 0) {
		OPENSSL_cleanse(out, ctlen);
		ERR_clear_error();
	}
	return rc;
}

/* --- struct store_snap -> sk.Snapshot ---------------------------------- */

/* The message tree borrows every byte from the snapshot: nothing to wipe
 * but the packed output. */
struct pb_out {
	Sk__Snapshot snap;
	Sk__Creds creds;
	Sk__KeyPair noise, identity, spk;
	Sk__Lifecycle life;
	Sk__PreKey *pk;
	Sk__KeyPair *pkpair;
	Sk__PreKey **pkptr;
};

static void
set_pair(Sk__KeyPair *m, const struct wa_keypair *kp)
{
	sk__key_pair__init(m);
	m->has_priv = m->has_pub = 1;
	m->priv.data = (uint8_t *)kp->priv;
	m->priv.len = 32;
	m->pub.data = (uint8_t *)kp->pub;
	m->pub.len = 32;
}

/* A fixed char array as an optional string: NULL (absent) when empty;
 * -1 when it has no terminator. */
static int
opt_str(char **field, const char *s, size_t cap)
{
	size_t n = strnlen(s, cap);

	if (n == cap)
		return -1;
	*field = n > 0 ? (char *)s : NULL;
	return 0;
}

static int
to_pb(const struct store_snap *s, struct pb_out *o, char *why, size_t whylen)
{
	const struct wa_creds *c = &s->creds;

	memset(o, 0, sizeof(*o));
	if (s->generation == 0 || s->generation > STORE_SNAP_GEN_MAX)
		return fail(why, whylen, STORE_SNAP_EINVAL,
		    "generation %llu is outside 1 .. 2^63-1",
		    (unsigned long long)s->generation);
	if (c->account_len > sizeof(c->account) ||
	    c->routing_len > sizeof(c->routing))
		return fail(why, whylen, STORE_SNAP_EINVAL,
		    "account or routing length out of range");
	if (s->n_prekeys > STORE_SNAP_PREKEYS_MAX ||
	    (s->n_prekeys > 0 && s->prekeys == NULL))
		return fail(why, whylen, STORE_SNAP_EINVAL,
		    "%zu pre-keys (at most %d)", s->n_prekeys,
		    STORE_SNAP_PREKEYS_MAX);

	sk__snapshot__init(&o->snap);
	sk__creds__init(&o->creds);
	sk__lifecycle__init(&o->life);
	if (opt_str(&o->snap.session_id, s->session_id,
	    sizeof(s->session_id)) < 0 ||
	    opt_str(&o->creds.me_jid, c->me_jid, sizeof(c->me_jid)) < 0 ||
	    opt_str(&o->creds.me_lid, c->me_lid, sizeof(c->me_lid)) < 0 ||
	    opt_str(&o->creds.push_name, c->push_name,
	    sizeof(c->push_name)) < 0 ||
	    opt_str(&o->creds.platform, c->platform, sizeof(c->platform)) < 0 ||
	    opt_str(&o->life.last_state, s->meta.last_state,
	    sizeof(s->meta.last_state)) < 0 ||
	    opt_str(&o->life.last_disconnect_text, s->meta.last_disconnect_text,
	    sizeof(s->meta.last_disconnect_text)) < 0)
		return fail(why, whylen, STORE_SNAP_EINVAL,
		    "a string field is not NUL-terminated");

	o->snap.has_generation = 1;
	o->snap.generation = s->generation;
	o->snap.has_saved_ms = 1;
	o->snap.saved_ms = s->saved_ms;
	o->snap.creds = &o->creds;
	o->snap.lifecycle = &o->life;

	set_pair(&o->noise, &c->noise);
	set_pair(&o->identity, &c->identity);
	set_pair(&o->spk, &c->signed_prekey);
	o->creds.noise = &o->noise;
	o->creds.identity = &o->identity;
	o->creds.signed_prekey = &o->spk;
	o->creds.has_signed_prekey_id = 1;
	o->creds.signed_prekey_id = c->signed_prekey_id;
	o->creds.has_signed_prekey_sig = 1;
	o->creds.signed_prekey_sig.data = (uint8_t *)c->signed_prekey_sig;
	o->creds.signed_prekey_sig.len = sizeof(c->signed_prekey_sig);
	o->creds.has_registration_id = 1;
	o->creds.registration_id = c->registration_id;
	o->creds.has_adv_secret = 1;
	o->creds.adv_secret.data = (uint8_t *)c->adv_secret;
	o->creds.adv_secret.len = sizeof(c->adv_secret);
	o->creds.has_account = c->account_len > 0;
	o->creds.account.data = (uint8_t *)c->account;
	o->creds.account.len = c->account_len;
	o->creds.has_routing = c->routing_len > 0;
	o->creds.routing.data = (uint8_t *)c->routing;
	o->creds.routing.len = c->routing_len;
	o->creds.has_next_prekey_id = 1;
	o->creds.next_prekey_id = c->next_prekey_id;
	o->creds.has_first_unuploaded_prekey_id = 1;
	o->creds.first_unuploaded_prekey_id = c->first_unuploaded_prekey_id;

	o->life.has_last_open_ms = 1;
	o->life.last_open_ms = s->meta.last_open_ms;
	o->life.has_consecutive_failures = 1;
	o->life.consecutive_failures = s->meta.consecutive_failures;
	o->life.has_last_disconnect = 1;
	o->life.last_disconnect = s->meta.last_disconnect;
	o->life.has_logged_out = 1;
	o->life.logged_out = s->meta.logged_out != 0;

	if (s->n_prekeys > 0) {
		o->pk = calloc(s->n_prekeys, sizeof(*o->pk));
		o->pkpair = calloc(s->n_prekeys, sizeof(*o->pkpair));
		o->pkptr = calloc(s->n_prekeys, sizeof(*o->pkptr));
		if (o->pk == NULL || o->pkpair == NULL || o->pkptr == NULL)
			return fail(why, whylen, STORE_SNAP_ENOMEM, "out of memory");
		for (size_t i = 0; i < s->n_prekeys; i++) {
			sk__pre_key__init(&o->pk[i]);
			o->pk[i].has_id = 1;
			o->pk[i].id = s->prekeys[i].id;
			set_pair(&o->pkpair[i], &s->prekeys[i].pair);
			o->pk[i].pair = &o->pkpair[i];
			o->pkptr[i] = &o->pk[i];
		}
		o->snap.n_prekeys = s->n_prekeys;
		o->snap.prekeys = o->pkptr;
	}
	return 0;
}

static void
pb_out_free(struct pb_out *o)
{
	free(o->pk);
	free(o->pkpair);
	free(o->pkptr);
}

/* --- sk.Snapshot -> struct store_snap ---------------------------------- */

static int
get_pair(struct wa_keypair *kp, const Sk__KeyPair *m)
{
	if (m == NULL || !m->has_priv || !m->has_pub || m->priv.len != 32 ||
	    m->pub.len != 32)
		return -1;
	memcpy(kp->priv, m->priv.data, 32);
	memcpy(kp->pub, m->pub.data, 32);
	return 0;
}

/* Optional string into a fixed array; -1 when it does not fit. */
static int
get_str(char *dst, size_t cap, const char *src)
{
	size_t n;

	if (src == NULL) {
		dst[0] = '\0';
		return 0;
	}
	if ((n = strlen(src)) >= cap)
		return -1;
	memcpy(dst, src, n + 1);
	return 0;
}

static int
from_pb(const Sk__Snapshot *m, uint64_t hdr_gen, struct store_snap *s,
    char *why, size_t whylen)
{
	const Sk__Creds *mc = m->creds;
	const Sk__Lifecycle *ml = m->lifecycle;
	struct wa_creds *c = &s->creds;

#define BAD(...) fail(why, whylen, STORE_SNAP_EMALFORM, __VA_ARGS__)
	if (!m->has_generation || m->generation != hdr_gen)
		return BAD("payload generation does not match the header's");
	s->generation = m->generation;
	s->saved_ms = m->has_saved_ms ? m->saved_ms : 0;
	if (get_str(s->session_id, sizeof(s->session_id), m->session_id) < 0)
		return BAD("session id too long");

	if (mc == NULL)
		return BAD("no credentials");
	if (get_pair(&c->noise, mc->noise) < 0)
		return BAD("noise key pair missing or not 32+32 bytes");
	if (get_pair(&c->identity, mc->identity) < 0)
		return BAD("identity key pair missing or not 32+32 bytes");
	if (get_pair(&c->signed_prekey, mc->signed_prekey) < 0)
		return BAD("signed pre-key missing or not 32+32 bytes");
	if (!mc->has_signed_prekey_sig ||
	    mc->signed_prekey_sig.len != sizeof(c->signed_prekey_sig))
		return BAD("signed pre-key signature missing or not 64 bytes");
	memcpy(c->signed_prekey_sig, mc->signed_prekey_sig.data,
	    sizeof(c->signed_prekey_sig));
	if (!mc->has_registration_id)
		return BAD("no registration id");
	c->registration_id = mc->registration_id;
	c->signed_prekey_id = mc->signed_prekey_id;
	if (!mc->has_adv_secret || mc->adv_secret.len != sizeof(c->adv_secret))
		return BAD("adv secret missing or not 32 bytes");
	memcpy(c->adv_secret, mc->adv_secret.data, sizeof(c->adv_secret));
	if (get_str(c->me_jid, sizeof(c->me_jid), mc->me_jid) < 0 ||
	    get_str(c->me_lid, sizeof(c->me_lid), mc->me_lid) < 0 ||
	    get_str(c->push_name, sizeof(c->push_name), mc->push_name) < 0 ||
	    get_str(c->platform, sizeof(c->platform), mc->platform) < 0)
		return BAD("a JID, push name or platform is too long");
	if (mc->has_account) {
		if (mc->account.len > sizeof(c->account))
			return BAD("account identity of %zu bytes (at most %zu)",
			    mc->account.len, sizeof(c->account));
		memcpy(c->account, mc->account.data, mc->account.len);
		c->account_len = mc->account.len;
	}
	if (mc->has_routing) {
		if (mc->routing.len > sizeof(c->routing))
			return BAD("routing info of %zu bytes (at most %zu)",
			    mc->routing.len, sizeof(c->routing));
		memcpy(c->routing, mc->routing.data, mc->routing.len);
		c->routing_len = mc->routing.len;
	}
	c->next_prekey_id = mc->next_prekey_id;
	c->first_unuploaded_prekey_id = mc->first_unuploaded_prekey_id;

	if (m->n_prekeys > STORE_SNAP_PREKEYS_MAX)
		return BAD("%zu pre-keys (at most %d)", m->n_prekeys,
		    STORE_SNAP_PREKEYS_MAX);
	if (m->n_prekeys > 0) {
		s->prekeys = calloc(m->n_prekeys, sizeof(*s->prekeys));
		if (s->prekeys == NULL)
			return fail(why, whylen, STORE_SNAP_ENOMEM, "out of memory");
		s->n_prekeys = m->n_prekeys;
		for (size_t i = 0; i < m->n_prekeys; i++) {
			if (!m->prekeys[i]->has_id ||
			    get_pair(&s->prekeys[i].pair, m->prekeys[i]->pair) < 0)
				return BAD("pre-key %zu has no id or a bad key pair", i);
			s->prekeys[i].id = m->prekeys[i]->id;
		}
	}

	if (ml != NULL) {
		if (get_str(s->meta.last_state, sizeof(s->meta.last_state),
		    ml->last_state) < 0 ||
		    get_str(s->meta.last_disconnect_text,
		    sizeof(s->meta.last_disconnect_text),
		    ml->last_disconnect_text) < 0)
			return BAD("lifecycle state name or text too long");
		s->meta.last_open_ms = ml->last_open_ms;
		s->meta.consecutive_failures = ml->consecutive_failures;
		s->meta.last_disconnect = ml->last_disconnect;
		s->meta.logged_out = ml->logged_out != 0;
	}
#undef BAD
	return 0;
}

/* --- the blob ---------------------------------------------------------- */

int
store_snap_peek(const uint8_t *b, size_t len, struct store_snap_hdr *hdr,
    char *why, size_t whylen)
{
	uint8_t sum[SHA256_DIGEST_LENGTH];
	struct store_snap_hdr h;
	size_t want;

	if (len > STORE_SNAP_BLOB_MAX)
		return fail(why, whylen, STORE_SNAP_ETOOBIG,
		    "%zu bytes is over the %u-byte limit", len,
		    (unsigned)STORE_SNAP_BLOB_MAX);
	if (len < 8) {
		/* A prefix of the magic is a snapshot cut short. */
		if (b == NULL || memcmp(b, magic, len < 6 ? len : 6) != 0)
			return fail(why, whylen, STORE_SNAP_EMAGIC,
			    "wrong magic: not a skykeeper snapshot");
		return fail(why, whylen, STORE_SNAP_ETRUNC,
		    "truncated: %zu bytes", len);
	}
	if (memcmp(b, magic, sizeof(magic)) != 0)
		return fail(why, whylen, STORE_SNAP_EMAGIC,
		    "wrong magic: not a skykeeper snapshot");
	memset(&h, 0, sizeof(h));
	h.version = (uint16_t)get_be(b + 6, 2);
	if (h.version != STORE_SNAP_VERSION) {
		/* All we may assume of another version is the trailing
		 * checksum: it tells damage from a genuine other format. */
		if (len < 8 + STORE_SNAP_SUM_LEN)
			return fail(why, whylen, STORE_SNAP_ETRUNC,
			    "truncated: %zu bytes", len);
		SHA256(b, len - STORE_SNAP_SUM_LEN, sum);
		if (CRYPTO_memcmp(sum, b + len - STORE_SNAP_SUM_LEN,
		    sizeof(sum)) != 0)
			return fail(why, whylen, STORE_SNAP_ECHECKSUM,
			    "checksum mismatch");
		if (h.version > STORE_SNAP_VERSION)
			return fail(why, whylen, STORE_SNAP_EVERSION,
			    "format version %u is newer than this binary (%u)",
			    (unsigned)h.version, (unsigned)STORE_SNAP_VERSION);
		return fail(why, whylen, STORE_SNAP_EVERSION,
		    "format version %u is not one this binary reads (%u)",
		    (unsigned)h.version, (unsigned)STORE_SNAP_VERSION);
	}
	if (len < STORE_SNAP_HDR_LEN)
		return fail(why, whylen, STORE_SNAP_ETRUNC,
		    "truncated: %zu bytes, the header alone is %d", len,
		    STORE_SNAP_HDR_LEN);
	h.generation = get_be(b + 8, 8);
	h.flags = (uint32_t)get_be(b + 16, 4);
	h.payload_len = (uint32_t)get_be(b + 20, 4);
	want = (size_t)STORE_SNAP_HDR_LEN + h.payload_len + STORE_SNAP_SUM_LEN;
	if (len < want)
		return fail(why, whylen, STORE_SNAP_ETRUNC,
		    "truncated: %zu bytes, the header says %zu", len, want);
	if (len > want)
		return fail(why, whylen, STORE_SNAP_EMALFORM,
		    "%zu bytes, the header says %zu", len, want);
	SHA256(b, want - STORE_SNAP_SUM_LEN, sum);
	if (CRYPTO_memcmp(sum, b + want - STORE_SNAP_SUM_LEN, sizeof(sum)) != 0)
		return fail(why, whylen, STORE_SNAP_ECHECKSUM, "checksum mismatch");
	if ((h.flags & ~STORE_SNAP_F_ENCRYPTED) != 0)
		return fail(why, whylen, STORE_SNAP_EMALFORM,
		    "unknown flags 0x%x", (unsigned)h.flags);
	if (h.generation == 0 || h.generation > STORE_SNAP_GEN_MAX)
		return fail(why, whylen, STORE_SNAP_EMALFORM,
		    "generation %llu is outside 1 .. 2^63-1",
		    (unsigned long long)h.generation);
	if ((h.flags & STORE_SNAP_F_ENCRYPTED) &&
	    h.payload_len < STORE_SNAP_NONCE_LEN + STORE_SNAP_TAG_LEN)
		return fail(why, whylen, STORE_SNAP_EMALFORM,
		    "encrypted payload of %u bytes", (unsigned)h.payload_len);
	if (hdr != NULL)
		*hdr = h;
	return 0;
}

int
store_snap_encode(const struct store_snap *s, const char *secret,
    uint8_t **blob, size_t *len, char *why, size_t whylen)
{
	struct pb_out o;
	uint8_t *b = NULL, *plain = NULL;
	size_t pn = 0, payload, total = 0;
	int enc = has_secret(secret), rc;

	*blob = NULL;
	*len = 0;
	if ((rc = to_pb(s, &o, why, whylen)) < 0)
		goto out;
	pn = sk__snapshot__get_packed_size(&o.snap);
	payload = enc ? pn + STORE_SNAP_NONCE_LEN + STORE_SNAP_TAG_LEN : pn;
	total = STORE_SNAP_HDR_LEN + payload + STORE_SNAP_SUM_LEN;
	if (total > STORE_SNAP_BLOB_MAX) {
		rc = fail(why, whylen, STORE_SNAP_ETOOBIG,
		    "snapshot of %zu bytes is over the limit", total);
		goto out;
	}
	if ((b = malloc(total)) == NULL)
		goto nomem;
	memcpy(b, magic, sizeof(magic));
	put_be16(b + 6, STORE_SNAP_VERSION);
	put_be64(b + 8, s->generation);
	put_be32(b + 16, enc ? STORE_SNAP_F_ENCRYPTED : 0);
	put_be32(b + 20, (uint32_t)payload);
	if (!enc) {
		if (sk__snapshot__pack(&o.snap, b + STORE_SNAP_HDR_LEN) != pn)
			goto packfail;
	} else {
		if ((plain = malloc(pn > 0 ? pn : 1)) == NULL)
			goto nomem;
		if (sk__snapshot__pack(&o.snap, plain) != pn)
			goto packfail;
		if (seal(secret, b, plain, pn, b + STORE_SNAP_HDR_LEN) < 0) {
			rc = crypto_fail(why, whylen, STORE_SNAP_ECRYPTO,
			    "encryption failed");
			goto out;
		}
	}
	SHA256(b, STORE_SNAP_HDR_LEN + payload, b + STORE_SNAP_HDR_LEN + payload);
	*blob = b;
	*len = total;
	b = NULL;
	rc = 0;
	goto out;
nomem:
	rc = fail(why, whylen, STORE_SNAP_ENOMEM, "out of memory");
	goto out;
packfail:
	rc = fail(why, whylen, STORE_SNAP_EINVAL, "protobuf pack size mismatch");
out:
	if (plain != NULL)
		store_snap_blob_free(plain, pn);
	if (b != NULL)
		store_snap_blob_free(b, total);
	pb_out_free(&o);
	return rc;
}

int
store_snap_decode(const uint8_t *b, size_t len, const char *secret,
    struct store_snap *s, struct store_snap_hdr *hdr, char *why,
    size_t whylen)
{
	struct store_snap_hdr h;
	Sk__Snapshot *m;
	const uint8_t *payload;
	uint8_t *plain = NULL;
	size_t pn;
	int rc;

	memset(s, 0, sizeof(*s));
	if ((rc = store_snap_peek(b, len, &h, why, whylen)) < 0)
		return rc;
	if (hdr != NULL)
		*hdr = h;
	payload = b + STORE_SNAP_HDR_LEN;
	pn = h.payload_len;
	if (h.flags & STORE_SNAP_F_ENCRYPTED) {
		if (!has_secret(secret))
			return fail(why, whylen, STORE_SNAP_ENOSECRET,
			    "encrypted but SESSION_SECRET is not set");
		pn -= STORE_SNAP_NONCE_LEN + STORE_SNAP_TAG_LEN;
		if ((plain = malloc(pn > 0 ? pn : 1)) == NULL)
			return fail(why, whylen, STORE_SNAP_ENOMEM, "out of memory");
		rc = open_sealed(secret, b, payload, h.payload_len, plain);
		if (rc < 0) {
			free(plain);
			return fail(why, whylen, rc, "%s",
			    rc == STORE_SNAP_EBADSECRET ?
			    "encrypted with a different SESSION_SECRET" :
			    "decryption failed");
		}
		payload = plain;
	}
	m = sk__snapshot__unpack(&wipe_allocator, pn, payload);
	if (plain != NULL)
		store_snap_blob_free(plain, pn);
	if (m == NULL)
		return fail(why, whylen, STORE_SNAP_EMALFORM,
		    "payload is not a sk.Snapshot message");
	rc = from_pb(m, h.generation, s, why, whylen);
	sk__snapshot__free_unpacked(m, &wipe_allocator);
	if (rc < 0)
		store_snap_clear(s);
	return rc;
}

void
store_snap_clear(struct store_snap *s)
{
	if (s->prekeys != NULL) {
		OPENSSL_cleanse(s->prekeys, s->n_prekeys * sizeof(*s->prekeys));
		free(s->prekeys);
	}
	OPENSSL_cleanse(s, sizeof(*s));
}

void
store_snap_blob_free(uint8_t *blob, size_t len)
{
	if (blob == NULL)
		return;
	OPENSSL_cleanse(blob, len);
	free(blob);
}

const char *
store_snap_strerror(int code)
{
	switch (code) {
	case 0:                     return "ok";
	case STORE_SNAP_ENOMEM:     return "out of memory";
	case STORE_SNAP_EINVAL:     return "invalid snapshot";
	case STORE_SNAP_EMAGIC:     return "wrong magic";
	case STORE_SNAP_ETRUNC:     return "truncated";
	case STORE_SNAP_ECHECKSUM:  return "checksum mismatch";
	case STORE_SNAP_EVERSION:   return "unknown format version";
	case STORE_SNAP_EMALFORM:   return "malformed snapshot";
	case STORE_SNAP_ENOSECRET:  return "encrypted but SESSION_SECRET is not set";
	case STORE_SNAP_EBADSECRET: return "encrypted with a different SESSION_SECRET";
	case STORE_SNAP_ECRYPTO:    return "crypto failure";
	case STORE_SNAP_ETOOBIG:    return "too big";
	}
	return "unknown error";
}
