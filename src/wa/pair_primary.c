/*
 * src/wa/pair_primary.c: QR pairing, primary side: what the phone (our
 * loopback test server) does.  It reads the QR text, sends pair-device
 * with refs, sends pair-success with a signed device identity (optionally
 * broken, so tests see the companion refuse) and checks the companion's
 * pair-device-sign reply.
 */
#include <stdlib.h>
#include <string.h>
#include <openssl/crypto.h>
#include "wa/pair_int.h"
#include "wa/stanza.h"
#include "wa.pb-c.h"

/* next comma-separated field of [*p, end) */
static int
field(const char **p, const char *end, const char **f, size_t *len)
{
	const char *c;

	if (*p > end)
		return WA_EMALFORM;
	c = memchr(*p, ',', (size_t)(end - *p));
	if (c == NULL)
		c = end;
	*f = *p;
	*len = (size_t)(c - *p);
	*p = c + 1;
	return 0;
}

int
wa_pair_qr_parse(const char *text, struct wa_pair_qr *out)
{
	const char *p, *end, *f;
	size_t len, plen = strlen(WA_PAIR_QR_PREFIX);
	int nfields = 0;

	memset(out, 0, sizeof(*out));
	out->platform = -1;
	if (text == NULL)
		return WA_EMALFORM;
	p = text;
	end = text + strlen(text);
	if ((size_t)(end - p) >= plen && memcmp(p, WA_PAIR_QR_PREFIX, plen) == 0)
		p += plen;
	while (p <= end) {
		if (field(&p, end, &f, &len) < 0 || nfields == 5)
			goto bad;
		switch (nfields) {
		case 0:
			if (pair_ref_valid((const uint8_t *)f, len) < 0)
				goto bad;
			memcpy(out->ref, f, len);
			out->ref[len] = '\0';
			break;
		case 1:
			if (pair_b64_decode32(f, len, out->noise_pub) < 0)
				goto bad;
			break;
		case 2:
			if (pair_b64_decode32(f, len, out->identity_pub) < 0)
				goto bad;
			break;
		case 3:
			if (pair_b64_decode32(f, len, out->adv_secret) < 0)
				goto bad;
			break;
		case 4:
			if (len == 0 || len > 4)
				goto bad;
			out->platform = 0;
			for (size_t i = 0; i < len; i++) {
				if (f[i] < '0' || f[i] > '9')
					goto bad;
				out->platform = out->platform * 10 + (f[i] - '0');
			}
			break;
		}
		nfields++;
	}
	if (nfields < 4)
		goto bad;
	return 0;
bad:
	OPENSSL_cleanse(out, sizeof(*out));
	out->platform = -1;
	return WA_EMALFORM;
}

int
wa_pair_device_build(struct wa_arena *a, const char *id, size_t nrefs,
    struct wa_pair_device *refs_out, struct wa_node **out)
{
	struct wa_node *iq, *pd;
	struct wa_pair_ref r;
	uint8_t rnd[18];
	char b64[32];
	int rc;

	*out = NULL;
	if (id == NULL || nrefs == 0 || nrefs > WA_PAIR_MAX_REFS)
		return WA_EMALFORM;
	if (refs_out != NULL) {
		memset(refs_out, 0, sizeof(*refs_out));
		if ((rc = pair_copy_str(refs_out->id, sizeof(refs_out->id),
		    id)) < 0)
			return rc;
	}
	if ((iq = wa_node_new(a, "iq")) == NULL ||
	    wa_node_set_attr(a, iq, "from", WA_SERVER_JID) < 0 ||
	    wa_node_set_attr(a, iq, "type", "set") < 0 ||
	    wa_node_set_attr(a, iq, "id", id) < 0 ||
	    wa_node_set_attr(a, iq, "xmlns", "md") < 0 ||
	    (pd = wa_node_add_child(a, iq, "pair-device")) == NULL)
		return WA_ENOMEM;
	for (size_t i = 0; i < nrefs; i++) {
		if ((rc = pair_random(rnd, sizeof(rnd))) < 0)
			return rc;
		if (pair_b64_encode(rnd, sizeof(rnd), b64, sizeof(b64)) < 0)
			return WA_ECRYPTO;
		r.len = (size_t)snprintf(r.s, sizeof(r.s), "2@%s", b64);
		if ((rc = pair_add_bytes(a, pd, "ref", (const uint8_t *)r.s,
		    r.len)) < 0)
			return rc;
		if (refs_out != NULL)
			refs_out->refs[refs_out->nrefs++] = r;
	}
	*out = iq;
	return 0;
}

/* pack a message into a malloc'd buffer */
static uint8_t *
packed(const ProtobufCMessage *m, size_t *len)
{
	size_t n = protobuf_c_message_get_packed_size(m);
	uint8_t *p = malloc(n ? n : 1);

	if (p != NULL)
		*len = protobuf_c_message_pack(m, p);
	return p;
}

int
wa_pair_success_build(struct wa_arena *a,
    const struct wa_pair_success_spec *s, struct wa_node **out)
{
	Wa__ADVDeviceIdentity di = WA__ADVDEVICE_IDENTITY__INIT;
	Wa__ADVSignedDeviceIdentity sd = WA__ADVSIGNED_DEVICE_IDENTITY__INIT;
	Wa__ADVSignedDeviceIdentityHMAC hm =
	    WA__ADVSIGNED_DEVICE_IDENTITY_HMAC__INIT;
	uint8_t *details = NULL, *signed_ = NULL, *wrapped = NULL;
	size_t dlen = 0, slen = 0, wlen = 0;
	uint8_t sig[64], mac[32], key[32], ident[32];
	struct wa_node *iq, *ps, *c;
	int rc;

	*out = NULL;
	if (s == NULL || s->id == NULL || s->account == NULL ||
	    s->device_jid == NULL)
		return WA_EMALFORM;
	di.has_rawid = 1;
	di.rawid = s->raw_id;
	di.has_timestamp = 1;
	di.timestamp = s->timestamp;
	di.has_keyindex = 1;
	di.keyindex = s->key_index;
	if (s->hosted) {
		di.has_accounttype = di.has_devicetype = 1;
		di.accounttype = di.devicetype = WA__ADVENCRYPTION_TYPE__HOSTED;
	}
	rc = WA_ENOMEM;
	if ((details = packed(&di.base, &dlen)) == NULL)
		goto out;
	/* the account signature binds the companion's identity key; the
	 * fault signs another key, so the bytes no longer match */
	memcpy(ident, s->companion_identity_pub, 32);
	if (s->fault == WA_PAIR_FAULT_ACCOUNT_SIG)
		ident[0] ^= 0x01;
	if ((rc = pair_account_sign(s->account->priv, s->hosted, details,
	    dlen, ident, sig)) < 0)
		goto out;
	sd.has_details = 1;
	sd.details.data = details;
	sd.details.len = dlen;
	sd.has_accountsignaturekey = 1;
	sd.accountsignaturekey.data = (uint8_t *)s->account->pub;
	sd.accountsignaturekey.len = 32;
	sd.has_accountsignature = 1;
	sd.accountsignature.data = sig;
	sd.accountsignature.len =
	    s->fault == WA_PAIR_FAULT_ACCOUNT_SIG_SHORT ? 63 : 64;
	rc = WA_ENOMEM;
	if ((signed_ = packed(&sd.base, &slen)) == NULL)
		goto out;
	memcpy(key, s->adv_secret, 32);
	if (s->fault == WA_PAIR_FAULT_HMAC)
		key[31] ^= 0x80;
	if ((rc = pair_hmac(key, 32, s->hosted ? pair_prefix_hosted_account :
	    NULL, s->hosted ? 2 : 0, signed_, slen, mac)) < 0)
		goto out;
	hm.has_details = 1;
	hm.details.data = signed_;
	hm.details.len = slen;
	hm.has_hmac = 1;
	hm.hmac.data = mac;
	hm.hmac.len = 32;
	if (s->hosted) {
		hm.has_accounttype = 1;
		hm.accounttype = WA__ADVENCRYPTION_TYPE__HOSTED;
	}
	rc = WA_ENOMEM;
	if ((wrapped = packed(&hm.base, &wlen)) == NULL)
		goto out;
	/* <iq from=s.whatsapp.net type=set id><pair-success>… (whatsmeow
	 * takes pair-success only in an iq type=set from the server) */
	if ((iq = wa_node_new(a, "iq")) == NULL ||
	    wa_node_set_attr(a, iq, "from", WA_SERVER_JID) < 0 ||
	    wa_node_set_attr(a, iq, "type", "set") < 0 ||
	    wa_node_set_attr(a, iq, "id", s->id) < 0 ||
	    wa_node_set_attr(a, iq, "xmlns", "md") < 0 ||
	    (ps = wa_node_add_child(a, iq, "pair-success")) == NULL ||
	    pair_add_bytes(a, ps, "device-identity", wrapped, wlen) < 0)
		goto out;
	if (s->platform != NULL &&
	    ((c = wa_node_add_child(a, ps, "platform")) == NULL ||
	    wa_node_set_attr(a, c, "name", s->platform) < 0))
		goto out;
	if ((c = wa_node_add_child(a, ps, "device")) == NULL ||
	    wa_node_set_attr(a, c, "jid", s->device_jid) < 0 ||
	    (s->lid != NULL && wa_node_set_attr(a, c, "lid", s->lid) < 0))
		goto out;
	if (s->biz_name != NULL &&
	    ((c = wa_node_add_child(a, ps, "biz")) == NULL ||
	    wa_node_set_attr(a, c, "name", s->biz_name) < 0))
		goto out;
	*out = iq;
	rc = 0;
out:
	OPENSSL_cleanse(key, sizeof(key));
	OPENSSL_cleanse(mac, sizeof(mac));
	free(details);
	free(signed_);
	free(wrapped);
	return rc;
}

static int
parse_u32(const char *s, uint32_t *v)
{
	uint64_t x = 0;

	if (s == NULL || *s == '\0' || strlen(s) > 10)
		return WA_EMALFORM;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return WA_EMALFORM;
		x = x * 10 + (uint64_t)(*s - '0');
	}
	if (x > UINT32_MAX)
		return WA_EMALFORM;
	*v = (uint32_t)x;
	return 0;
}

int
wa_pair_sign_check(const struct wa_node *reply, const char *id,
    const uint8_t account_pub[32], const uint8_t companion_identity_pub[32],
    uint32_t *key_index, char *why, size_t whylen)
{
	Wa__ADVSignedDeviceIdentity *sd = NULL;
	Wa__ADVDeviceIdentity *di = NULL;
	const struct wa_node *pds, *dev;
	const char *type, *rid;
	uint32_t idx;
	int rc = WA_EMALFORM, hosted;

	if (reply == NULL || reply->tag == NULL || strcmp(reply->tag, "iq")) {
		wa_say(why, whylen, "pair-device-sign: not an iq");
		return WA_EMALFORM;
	}
	type = wa_node_attr(reply, "type");
	rid = wa_node_attr(reply, "id");
	if (type == NULL || strcmp(type, "result") != 0 || rid == NULL ||
	    id == NULL || strcmp(rid, id) != 0) {
		wa_say(why, whylen, "pair-device-sign: not an iq result with "
		    "the pair-success id");
		return WA_EPROTO;
	}
	if ((pds = wa_node_child(reply, "pair-device-sign")) == NULL ||
	    (dev = wa_node_child(pds, "device-identity")) == NULL ||
	    dev->kind != WA_CONTENT_BYTES ||
	    parse_u32(wa_node_attr(dev, "key-index"), &idx) < 0) {
		wa_say(why, whylen, "pair-device-sign: no device-identity bytes "
		    "with a key-index");
		return WA_EMALFORM;
	}
	sd = wa__advsigned_device_identity__unpack(NULL, dev->len, dev->data);
	if (sd == NULL || !sd->has_details || !sd->has_accountsignature ||
	    sd->accountsignature.len != 64 || !sd->has_devicesignature ||
	    sd->devicesignature.len != 64 ||
	    (di = wa__advdevice_identity__unpack(NULL, sd->details.len,
	    sd->details.data)) == NULL) {
		wa_say(why, whylen, "pair-device-sign: signed identity lacks "
		    "details or a 64-byte signature");
		goto out;
	}
	/* Larger details cannot be the ones the phone signed; refused here
	 * so the verify below never answers WA_ETOOBIG for them. */
	if (sd->details.len > WA_PAIR_DETAILS_MAX) {
		wa_say(why, whylen, "pair-device-sign: device details over "
		    "1024 bytes");
		goto out;
	}
	rc = WA_EPROTO;
	if (sd->has_accountsignaturekey) {
		wa_say(why, whylen, "pair-device-sign: accountSignatureKey "
		    "must be left out");
		goto out;
	}
	if ((di->has_keyindex ? di->keyindex : 0) != idx) {
		wa_say(why, whylen, "pair-device-sign: key-index differs from "
		    "the details");
		goto out;
	}
	hosted = di->has_devicetype &&
	    di->devicetype == WA__ADVENCRYPTION_TYPE__HOSTED;
	if ((rc = pair_account_verify(account_pub, hosted, sd->details.data,
	    sd->details.len, companion_identity_pub,
	    sd->accountsignature.data)) < 0) {
		wa_say(why, whylen, "pair-device-sign: account signature does "
		    "not verify: the details are not the ones we signed");
		goto out;
	}
	if ((rc = pair_device_verify(companion_identity_pub, sd->details.data,
	    sd->details.len, account_pub, sd->devicesignature.data)) < 0) {
		wa_say(why, whylen, "pair-device-sign: device signature does "
		    "not verify");
		goto out;
	}
	if (key_index != NULL)
		*key_index = idx;
	rc = 0;
out:
	wa__advdevice_identity__free_unpacked(di, NULL);
	wa__advsigned_device_identity__free_unpacked(sd, NULL);
	return rc;
}
