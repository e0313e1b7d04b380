/*
 * src/wa/pair_qr.c: QR pairing, companion side (PROTOCOL.md §7): the
 * pair-device iq and its refs, the QR text, and accepting pair-success.
 * Wire facts: Baileys 7.0.0-rc14 Socket/socket.js (CB:iq,type:set,
 * pair-device and CB:iq,,pair-success), Utils/companion-reg-client-utils.js
 * (buildPairingQRData) and Utils/validate-connection.js
 * (configureSuccessfulPairing).
 */
#include <string.h>
#include <openssl/crypto.h>
#include "wa/cert.h"
#include "wa/pair_int.h"
#include "wa/stanza.h"
#include "wa.pb-c.h"

int
wa_pair_is_pair_device(const struct wa_node *n)
{
	const char *type;

	if (n == NULL || n->tag == NULL || strcmp(n->tag, "iq") != 0)
		return 0;
	type = wa_node_attr(n, "type");
	return type != NULL && strcmp(type, "set") == 0 &&
	    wa_node_child(n, "pair-device") != NULL;
}

int
wa_pair_device_parse(const struct wa_node *iq, struct wa_pair_device *out,
    char *why, size_t whylen)
{
	const struct wa_node *pd;
	int rc;

	memset(out, 0, sizeof(*out));
	if (!wa_pair_is_pair_device(iq)) {
		wa_say(why, whylen, "pair-device: not an iq type=set with pair-device");
		return WA_EMALFORM;
	}
	if ((rc = pair_get_id(iq, out->id)) < 0) {
		wa_say(why, whylen, "pair-device: iq id missing or too long");
		return rc;
	}
	pd = wa_node_child(iq, "pair-device");
	if (pd->kind == WA_CONTENT_LIST) {
		for (size_t i = 0; i < pd->nchildren; i++) {
			const struct wa_node *r = &pd->children[i];

			if (r->tag == NULL || strcmp(r->tag, "ref") != 0)
				continue;
			if (out->nrefs == WA_PAIR_MAX_REFS)
				break;  /* more than a session lives for */
			if ((r->kind != WA_CONTENT_BYTES &&
			    r->kind != WA_CONTENT_STRING) ||
			    pair_ref_set(&out->refs[out->nrefs], r->data,
			    r->len) < 0) {
				pair_sayf(why, whylen,
				    "pair-device: ref %zu is not 1-%d printable "
				    "bytes without ','", i, WA_PAIR_REF_MAX);
				return WA_EMALFORM;
			}
			out->nrefs++;
		}
	}
	if (out->nrefs == 0) {
		wa_say(why, whylen, "pair-device: no ref");
		return WA_EMALFORM;
	}
	return 0;
}

struct wa_node *
wa_pair_device_ack(struct wa_arena *a, const char *id)
{
	return pair_iq(a, WA_SERVER_JID, "result", id, NULL);
}

int
wa_pair_qr_text(const struct wa_creds *c, const char *ref,
    enum wa_pair_platform platform, char *out, size_t outlen)
{
	char noise[48], ident[48], adv[48];
	int n;

	if (ref == NULL || pair_ref_valid((const uint8_t *)ref,
	    strlen(ref)) < 0 || (int)platform < 0)
		return WA_EMALFORM;
	/* Baileys keeps advSecretKey as base64 text and puts it in as it
	 * is; ours is the 32 raw bytes, so encode it the same way */
	if (pair_b64_encode(c->noise.pub, 32, noise, sizeof(noise)) < 0 ||
	    pair_b64_encode(c->identity.pub, 32, ident, sizeof(ident)) < 0 ||
	    pair_b64_encode(c->adv_secret, 32, adv, sizeof(adv)) < 0)
		return WA_ECRYPTO;
	n = snprintf(out, outlen, "%s%s,%s,%s,%s,%d", WA_PAIR_QR_PREFIX, ref,
	    noise, ident, adv, (int)platform);
	OPENSSL_cleanse(adv, sizeof(adv));
	if (n < 0 || (size_t)n >= outlen) {
		if (outlen > 0)
			OPENSSL_cleanse(out, outlen);
		return WA_ETOOBIG;
	}
	return n;
}

int
wa_pair_is_pair_success(const struct wa_node *n)
{
	return n != NULL && n->tag != NULL && strcmp(n->tag, "iq") == 0 &&
	    wa_node_child(n, "pair-success") != NULL;
}

/* attribute of a child into a fixed field; absent child or attribute: "" */
static int
opt_attr(const struct wa_node *ps, const char *tag, const char *key,
    char *dst, size_t cap)
{
	const struct wa_node *c = wa_node_child(ps, tag);
	const char *v = c != NULL ? wa_node_attr(c, key) : NULL;

	dst[0] = '\0';
	return v == NULL ? 0 : pair_copy_str(dst, cap, v);
}

int
wa_pair_success_parse(const struct wa_node *iq, struct wa_pair_success *out,
    char *why, size_t whylen)
{
	const struct wa_node *ps, *dev;
	int rc;

	memset(out, 0, sizeof(*out));
	if (!wa_pair_is_pair_success(iq)) {
		wa_say(why, whylen, "pair-success: not an iq with pair-success");
		return WA_EMALFORM;
	}
	if ((rc = pair_get_id(iq, out->id)) < 0) {
		wa_say(why, whylen, "pair-success: iq id missing or too long");
		return rc;
	}
	ps = wa_node_child(iq, "pair-success");
	if (pair_child_data(ps, "device-identity", &out->identity,
	    &out->identity_len) < 0 || out->identity_len == 0) {
		wa_say(why, whylen, "pair-success: no device-identity bytes");
		return WA_EMALFORM;
	}
	dev = wa_node_child(ps, "device");
	if (dev == NULL || wa_node_attr(dev, "jid") == NULL ||
	    *wa_node_attr(dev, "jid") == '\0') {
		wa_say(why, whylen, "pair-success: no device jid");
		return WA_EMALFORM;
	}
	if ((rc = pair_copy_str(out->jid, sizeof(out->jid),
	    wa_node_attr(dev, "jid"))) < 0 ||
	    (rc = opt_attr(ps, "device", "lid", out->lid,
	    sizeof(out->lid))) < 0 ||
	    (rc = opt_attr(ps, "platform", "name", out->platform,
	    sizeof(out->platform))) < 0 ||
	    (rc = opt_attr(ps, "biz", "name", out->biz_name,
	    sizeof(out->biz_name))) < 0) {
		wa_say(why, whylen, "pair-success: a jid or name is too long");
		return rc;
	}
	return 0;
}

/* <iq to=s.whatsapp.net type=result id><pair-device-sign>
 * <device-identity key-index=N>enc</device-identity></…></iq> */
static struct wa_node *
sign_reply(struct wa_arena *a, const char *id, uint32_t key_index,
    const uint8_t *enc, size_t len)
{
	struct wa_node *iq = pair_iq(a, WA_SERVER_JID, "result", id, NULL);
	struct wa_node *pds, *di;
	char idx[16];

	snprintf(idx, sizeof(idx), "%u", (unsigned)key_index);
	if (iq == NULL || (pds = wa_node_add_child(a, iq,
	    "pair-device-sign")) == NULL ||
	    (di = wa_node_add_child(a, pds, "device-identity")) == NULL ||
	    wa_node_set_attr(a, di, "key-index", idx) < 0 ||
	    wa_node_set_bytes(a, di, enc, len) < 0)
		return NULL;
	return iq;
}

int
wa_pair_success_accept(const struct wa_pair_success *ps, struct wa_creds *c,
    struct wa_arena *a, struct wa_node **reply, char *why, size_t whylen)
{
	Wa__ADVSignedDeviceIdentityHMAC *hm = NULL;
	Wa__ADVSignedDeviceIdentity *acc = NULL;
	Wa__ADVDeviceIdentity *di = NULL;
	struct wa_creds next;
	struct wa_node *r;
	uint8_t mac[32], devsig[64], enc[sizeof(c->account)];
	const uint8_t *hprefix = NULL;
	ProtobufCBinaryData saved_key, orig_sig = { 0, NULL };
	size_t full_len, n;
	int rc, hosted, orig_has = 0, swapped = 0;

	*reply = NULL;
	memcpy(&next, c, sizeof(next));
	hm = wa__advsigned_device_identity_hmac__unpack(NULL, ps->identity_len,
	    ps->identity);
	if (hm == NULL || !hm->has_details || !hm->has_hmac) {
		wa_say(why, whylen, "pair-success: device-identity is not an "
		    "ADVSignedDeviceIdentityHMAC with details and hmac");
		rc = WA_EMALFORM;
		goto out;
	}
	/* 1. the HMAC proves the phone read our adv secret from the QR (or
	 * derived it in code pairing) */
	if (hm->has_accounttype &&
	    hm->accounttype == WA__ADVENCRYPTION_TYPE__HOSTED)
		hprefix = pair_prefix_hosted_account;
	if ((rc = pair_hmac(c->adv_secret, 32, hprefix, hprefix ? 2 : 0,
	    hm->details.data, hm->details.len, mac)) < 0)
		goto out;
	if (hm->hmac.len != 32 || CRYPTO_memcmp(mac, hm->hmac.data, 32) != 0) {
		wa_say(why, whylen, "pair-success: HMAC does not match our adv "
		    "secret");
		rc = WA_PAIR_EHMAC;
		goto out;
	}
	acc = wa__advsigned_device_identity__unpack(NULL, hm->details.len,
	    hm->details.data);
	if (acc == NULL || !acc->has_details ||
	    !acc->has_accountsignaturekey ||
	    acc->accountsignaturekey.len != 32 ||
	    !acc->has_accountsignature || acc->accountsignature.len != 64) {
		wa_say(why, whylen, "pair-success: signed device identity lacks "
		    "details, a 32-byte account key or a 64-byte signature");
		rc = WA_EMALFORM;
		goto out;
	}
	di = wa__advdevice_identity__unpack(NULL, acc->details.len,
	    acc->details.data);
	if (di == NULL) {
		wa_say(why, whylen, "pair-success: device details do not decode");
		rc = WA_EMALFORM;
		goto out;
	}
	/* 2. the account key vouches for our identity key */
	hosted = di->has_devicetype &&
	    di->devicetype == WA__ADVENCRYPTION_TYPE__HOSTED;
	rc = pair_account_verify(acc->accountsignaturekey.data, hosted,
	    acc->details.data, acc->details.len, c->identity.pub,
	    acc->accountsignature.data);
	if (rc < 0) {
		wa_say(why, whylen, rc == WA_PAIR_EACCOUNT ?
		    "pair-success: account signature does not verify" :
		    "pair-success: account signature not checkable");
		goto out;
	}
	/* 3. and we vouch for the account */
	if ((rc = pair_device_sign(&c->identity, acc->details.data,
	    acc->details.len, acc->accountsignaturekey.data, devsig)) < 0) {
		wa_say(why, whylen, "pair-success: signing failed");
		goto out;
	}
	orig_has = acc->has_devicesignature;
	orig_sig = acc->devicesignature;
	swapped = 1;
	acc->has_devicesignature = 1;
	acc->devicesignature.data = devsig;
	acc->devicesignature.len = sizeof(devsig);
	/* 5 first (into the copy): the account as Baileys stores it, key
	 * included */
	full_len = wa__advsigned_device_identity__get_packed_size(acc);
	if (full_len > sizeof(next.account)) {
		wa_say(why, whylen, "pair-success: account over the stored size");
		rc = WA_ETOOBIG;
		goto out;
	}
	next.account_len = wa__advsigned_device_identity__pack(acc,
	    next.account);
	/* 4. the reply carries it without the account key */
	saved_key = acc->accountsignaturekey;
	acc->has_accountsignaturekey = 0;
	acc->accountsignaturekey.data = NULL;
	acc->accountsignaturekey.len = 0;
	n = wa__advsigned_device_identity__pack(acc, enc);
	acc->accountsignaturekey = saved_key;
	acc->has_accountsignaturekey = 1;
	if ((r = sign_reply(a, ps->id, di->has_keyindex ? di->keyindex : 0,
	    enc, n)) == NULL) {
		rc = WA_ENOMEM;
		goto out;
	}
	if ((rc = pair_copy_str(next.me_jid, sizeof(next.me_jid),
	    ps->jid)) < 0 ||
	    (rc = pair_copy_str(next.me_lid, sizeof(next.me_lid),
	    ps->lid)) < 0 ||
	    (rc = pair_copy_str(next.platform, sizeof(next.platform),
	    ps->platform)) < 0 ||
	    (ps->biz_name[0] != '\0' &&
	    (rc = pair_copy_str(next.push_name, sizeof(next.push_name),
	    ps->biz_name)) < 0)) {
		wa_say(why, whylen, "pair-success: a jid or name is too long");
		goto out;
	}
	memcpy(c, &next, sizeof(next));
	*reply = r;
	rc = 0;
out:
	/* free_unpacked frees what unpack allocated: put back whatever
	 * deviceSignature the phone sent (normally none) before it runs */
	if (acc != NULL) {
		if (swapped) {
			acc->has_devicesignature = orig_has;
			acc->devicesignature = orig_sig;
		}
		wa__advsigned_device_identity__free_unpacked(acc, NULL);
	}
	wa__advsigned_device_identity_hmac__free_unpacked(hm, NULL);
	wa__advdevice_identity__free_unpacked(di, NULL);
	OPENSSL_cleanse(&next, sizeof(next));
	OPENSSL_cleanse(mac, sizeof(mac));
	return rc;
}

int
wa_pair_success_handle(const struct wa_node *iq, struct wa_creds *c,
    struct wa_arena *a, struct wa_node **reply, char *why, size_t whylen)
{
	struct wa_pair_success ps;
	int rc;

	*reply = NULL;
	if ((rc = wa_pair_success_parse(iq, &ps, why, whylen)) < 0)
		return rc;
	return wa_pair_success_accept(&ps, c, a, reply, why, whylen);
}
