/*
 * src/wa/cert.c: the server's Noise certificate chain (PROTOCOL.md §3).
 *
 * The chain is two certificates, each a protobuf Details blob plus an
 * XEdDSA signature over exactly those bytes: WhatsApp's long-term root key
 * signs the intermediate, the intermediate's key signs the leaf, and the
 * leaf names the static key the server used in the handshake.  We check it
 * the way whatsmeow does, plus the validity windows, and say which check
 * failed: a rejected chain is either an attack or a protocol change, and
 * the log line is all an operator will have to tell which.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include "wa/cert.h"
#include "wa.pb-c.h"

typedef Wa__CertChain__NoiseCertificate Cert;
typedef Wa__CertChain__NoiseCertificate__Details Details;

/* protoc-c writes pack/unpack helpers for top-level messages only; Details
 * is nested, so it goes through the generic calls and its descriptor. */
#define DETAILS_DESC (&wa__cert_chain__noise_certificate__details__descriptor)

/*
 * WhatsApp's root ("WhatsAppLongTerm1", serial 0).  From Baileys
 * src/Defaults/index.ts, WA_CERT_DETAILS.PUBLIC_KEY
 * (WhiskeySockets/Baileys commit 78e7e4e2, 2026-05-21); whatsmeow's
 * handshake.go WACertPubKey holds the same 32 bytes.
 */
const uint8_t wa_cert_whatsapp_root[32] = {
	0x14, 0x23, 0x75, 0x57, 0x4d, 0x0a, 0x58, 0x71,
	0x66, 0xaa, 0xe7, 0x1e, 0xbe, 0x51, 0x64, 0x37,
	0xc4, 0xa2, 0x8b, 0x73, 0xe3, 0x69, 0x5c, 0x6c,
	0xe1, 0xf7, 0xf9, 0x54, 0x5d, 0xa8, 0xee, 0x6b,
};

static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Nothing but the 64 digits: no prefix, no spaces, no newline.  A key
 * that is almost right is a configuration mistake worth hearing about. */
int
wa_cert_parse_root_hex(const char *hex, uint8_t out[32])
{
	uint8_t k[32];

	if (hex == NULL || strlen(hex) != WA_ROOT_KEY_HEX_LEN)
		return WA_EMALFORM;
	for (size_t i = 0; i < 32; i++) {
		int hi = hexval(hex[2 * i]), lo = hexval(hex[2 * i + 1]);
		if (hi < 0 || lo < 0)
			return WA_EMALFORM;
		k[i] = (uint8_t)(hi << 4 | lo);
	}
	memcpy(out, k, 32);
	return 0;
}

/* --- verification --------------------------------------------------------- */

#if defined(__GNUC__)
__attribute__((format(printf, 3, 4)))
#endif
static int
reject(char *why, size_t whylen, const char *fmt, ...)
{
	va_list ap;

	if (why != NULL && whylen > 0) {
		va_start(ap, fmt);
		vsnprintf(why, whylen, fmt, ap);
		va_end(ap);
	}
	return WA_ECERT;
}

/* ISO 8601 UTC for the messages; a time past year 9999 is printed as the
 * raw number, which is also what a broken certificate deserves. */
#define TIMEBUF 48
static const char *
fmt_time(uint64_t t, char buf[TIMEBUF])
{
	time_t tt;
	struct tm tm;

	if (t <= UINT64_C(253402300799)) {
		tt = (time_t)t;
		if (gmtime_r(&tt, &tm) != NULL &&
		    strftime(buf, TIMEBUF, "%Y-%m-%dT%H:%M:%SZ", &tm) > 0)
			return buf;
	}
	snprintf(buf, TIMEBUF, "%" PRIu64 " (unix time)", t);
	return buf;
}

static int
check_present(const Cert *c, const char *name, char *why, size_t whylen)
{
	if (c == NULL)
		return reject(why, whylen, "%s certificate missing", name);
	if (!c->has_details)
		return reject(why, whylen, "%s certificate has no details",
		    name);
	if (!c->has_signature)
		return reject(why, whylen, "%s certificate has no signature",
		    name);
	if (c->signature.len != 64)
		return reject(why, whylen,
		    "%s certificate signature is %zu bytes, expected 64", name,
		    c->signature.len);
	return 0;
}

static int
check_signature(const Cert *c, const char *name, const uint8_t key[32],
    const char *keyname, char *why, size_t whylen)
{
	int rc = wa_xeddsa_verify(key, c->details.data, c->details.len,
	    c->signature.data);

	if (rc == 0)
		return 0;
	if (rc == WA_ENOMEM) {
		reject(why, whylen, "out of memory verifying the %s certificate",
		    name);
		return rc;
	}
	if (rc == WA_EMALFORM)
		return reject(why, whylen,
		    "%s certificate: the %s is not a usable X25519 public key",
		    name, keyname);
	return reject(why, whylen,
	    "%s certificate: signature does not verify with the %s", name,
	    keyname);
}

static int
decode_details(const Cert *c, const char *name, Details **out, char *why,
    size_t whylen)
{
	*out = (Details *)protobuf_c_message_unpack(DETAILS_DESC, NULL,
	    c->details.len, c->details.data);
	if (*out == NULL)
		return reject(why, whylen,
		    "%s certificate: details are not a valid Details protobuf",
		    name);
	return 0;
}

static int
check_key_length(const Details *d, const char *name, char *why, size_t whylen)
{
	if (!d->has_key)
		return reject(why, whylen, "%s certificate has no key", name);
	if (d->key.len != 32)
		return reject(why, whylen, "%s key is %zu bytes, expected 32",
		    name, d->key.len);
	return 0;
}

/*
 * A missing notBefore is no lower bound (protobuf's default 0); a missing
 * notAfter is refused rather than read as "never expires": whatsmeow
 * reads it as 0, i.e. long expired, and real chains carry both.
 */
static int
check_validity(const Details *d, const char *name, uint64_t now, char *why,
    size_t whylen)
{
	char t1[TIMEBUF], t2[TIMEBUF];
	uint64_t nb = d->has_notbefore ? d->notbefore : 0;

	if (!d->has_notafter)
		return reject(why, whylen, "%s certificate has no notAfter",
		    name);
	if (now < nb)
		return reject(why, whylen,
		    "%s certificate not valid before %s (now %s)", name,
		    fmt_time(nb, t1), fmt_time(now, t2));
	if (now > d->notafter)
		return reject(why, whylen,
		    "%s certificate expired at %s (now %s)", name,
		    fmt_time(d->notafter, t1), fmt_time(now, t2));
	return 0;
}

/*
 * The order matters in one way: nothing inside a Details blob is read
 * before its signature has checked out, so an unsigned blob can neither
 * steer the checks nor reach the protobuf decoder's corners.  Missing
 * serial fields count as 0 (proto3-style encoders leave zeros out, and
 * the intermediate's issuerSerial is 0).
 */
int
wa_cert_verify_chain(const uint8_t *chain, size_t len,
    const uint8_t root[32], const uint8_t server_static[32], uint64_t now,
    char *why, size_t whylen)
{
	Wa__CertChain *ch = NULL;
	Details *id = NULL, *ld = NULL;
	uint32_t iserial, iissuer, lissuer;
	int rc;

	if (why != NULL && whylen > 0)
		why[0] = '\0';
	if (chain == NULL && len > 0)
		return reject(why, whylen, "certificate chain missing");
	ch = wa__cert_chain__unpack(NULL, len, chain);
	if (ch == NULL)
		return reject(why, whylen,
		    "certificate chain is not a valid CertChain protobuf "
		    "(%zu bytes)", len);
	if ((rc = check_present(ch->intermediate, "intermediate", why,
	    whylen)) < 0 ||
	    (rc = check_present(ch->leaf, "leaf", why, whylen)) < 0)
		goto out;

	if ((rc = check_signature(ch->intermediate, "intermediate", root,
	    "root key", why, whylen)) < 0 ||
	    (rc = decode_details(ch->intermediate, "intermediate", &id, why,
	    whylen)) < 0)
		goto out;
	iserial = id->has_serial ? id->serial : 0;
	iissuer = id->has_issuerserial ? id->issuerserial : 0;
	if (iissuer != 0) {
		rc = reject(why, whylen,
		    "intermediate issuerSerial is %" PRIu32 ", expected 0",
		    iissuer);
		goto out;
	}
	if ((rc = check_key_length(id, "intermediate", why, whylen)) < 0)
		goto out;

	if ((rc = check_signature(ch->leaf, "leaf", id->key.data,
	    "intermediate key", why, whylen)) < 0 ||
	    (rc = decode_details(ch->leaf, "leaf", &ld, why, whylen)) < 0)
		goto out;
	lissuer = ld->has_issuerserial ? ld->issuerserial : 0;
	if (lissuer != iserial) {
		rc = reject(why, whylen,
		    "leaf issuerSerial is %" PRIu32 ", expected %" PRIu32
		    " (the intermediate's serial)", lissuer, iserial);
		goto out;
	}
	if ((rc = check_key_length(ld, "leaf", why, whylen)) < 0)
		goto out;
	if (CRYPTO_memcmp(ld->key.data, server_static, 32) != 0) {
		rc = reject(why, whylen,
		    "leaf key does not match the server's static key");
		goto out;
	}

	if ((rc = check_validity(id, "intermediate", now, why, whylen)) < 0 ||
	    (rc = check_validity(ld, "leaf", now, why, whylen)) < 0)
		goto out;
	rc = 0;
out:
	if (ld != NULL)
		protobuf_c_message_free_unpacked(&ld->base, NULL);
	if (id != NULL)
		protobuf_c_message_free_unpacked(&id->base, NULL);
	wa__cert_chain__free_unpacked(ch, NULL);
	return rc;
}

/* --- issuing (the loopback test server) ----------------------------------- */

/* A fresh X25519 pair, from OpenSSL (noise.c's key pairs are not used
 * here so that this file stands alone). */
static int
x25519_generate(uint8_t priv[32], uint8_t pub[32])
{
	EVP_PKEY *pk = EVP_PKEY_Q_keygen(NULL, NULL, "X25519");
	size_t n1 = 32, n2 = 32;
	int ok;

	if (pk == NULL) {
		ERR_clear_error();
		return WA_ECRYPTO;
	}
	ok = EVP_PKEY_get_raw_private_key(pk, priv, &n1) == 1 && n1 == 32 &&
	    EVP_PKEY_get_raw_public_key(pk, pub, &n2) == 1 && n2 == 32;
	EVP_PKEY_free(pk);
	if (!ok) {
		ERR_clear_error();
		return WA_ECRYPTO;
	}
	return 0;
}

/* Encodes d into a malloc'd buffer and signs it: the signed bytes are the
 * bytes sent, so nothing re-encodes them between the two. */
static int
sign_details(const Details *d, const uint8_t signer_priv[32], uint8_t **blob,
    size_t *bloblen, uint8_t sig[64])
{
	size_t n = protobuf_c_message_get_packed_size(&d->base);
	int rc;

	if ((*blob = malloc(n ? n : 1)) == NULL)
		return WA_ENOMEM;
	*bloblen = protobuf_c_message_pack(&d->base, *blob);
	if ((rc = wa_xeddsa_sign(signer_priv, *blob, *bloblen, sig)) < 0) {
		free(*blob);
		*blob = NULL;
	}
	return rc;
}

int
wa_cert_issue_chain(const uint8_t root_priv[32],
    const uint8_t server_static[32], uint32_t serial, uint64_t not_before,
    uint64_t not_after, struct wa_buf *out)
{
	Details id = WA__CERT_CHAIN__NOISE_CERTIFICATE__DETAILS__INIT;
	Details ld = WA__CERT_CHAIN__NOISE_CERTIFICATE__DETAILS__INIT;
	Cert ic = WA__CERT_CHAIN__NOISE_CERTIFICATE__INIT;
	Cert lc = WA__CERT_CHAIN__NOISE_CERTIFICATE__INIT;
	Wa__CertChain ch = WA__CERT_CHAIN__INIT;
	uint8_t ipriv[32], ipub[32], isig[64], lsig[64];
	uint8_t *iblob = NULL, *lblob = NULL;
	size_t ilen = 0, llen = 0, n;
	int rc;

	if ((rc = x25519_generate(ipriv, ipub)) < 0)
		goto out;

	id.has_serial = id.has_issuerserial = id.has_key = 1;
	id.has_notbefore = id.has_notafter = 1;
	id.serial = serial;
	id.issuerserial = 0;
	id.key.data = ipub;
	id.key.len = sizeof(ipub);
	id.notbefore = not_before;
	id.notafter = not_after;

	ld = id;
	ld.serial = serial + 1;      /* any value; wraps harmlessly */
	ld.issuerserial = serial;
	ld.key.data = (uint8_t *)server_static;  /* read-only: only packed */
	ld.key.len = 32;

	if ((rc = sign_details(&id, root_priv, &iblob, &ilen, isig)) < 0 ||
	    (rc = sign_details(&ld, ipriv, &lblob, &llen, lsig)) < 0)
		goto out;

	ic.has_details = ic.has_signature = 1;
	ic.details.data = iblob;
	ic.details.len = ilen;
	ic.signature.data = isig;
	ic.signature.len = sizeof(isig);
	lc.has_details = lc.has_signature = 1;
	lc.details.data = lblob;
	lc.details.len = llen;
	lc.signature.data = lsig;
	lc.signature.len = sizeof(lsig);
	ch.intermediate = &ic;
	ch.leaf = &lc;

	n = wa__cert_chain__get_packed_size(&ch);
	if ((rc = wa_buf_reserve(out, n)) < 0)
		goto out;
	out->len += wa__cert_chain__pack(&ch, out->data + out->len);
	rc = 0;
out:
	/* The intermediate's private key dies here: a test server issues a
	 * fresh chain per start and never needs it again. */
	OPENSSL_cleanse(ipriv, sizeof(ipriv));
	free(iblob);
	free(lblob);
	return rc;
}
