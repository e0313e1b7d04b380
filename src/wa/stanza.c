/*
 * src/wa/stanza.c: builders and the classifier for the stanzas skykeeper
 * speaks (PROTOCOL.md §4, §6), client and server side.
 *
 * The classifier maps what the server says to Baileys' numbering
 * (DisconnectReason), because that is the vocabulary bot operators know
 * from their logs: 515 restart, 440 replaced, 401 logged out, 428 closed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/evp.h>
#include "wa/cert.h"
#include "wa/stanza.h"
#include "wa.pb-c.h"

/* ------------------------------------------------------------------------
 * ClientPayload
 */
static void
user_agent(Wa__ClientPayload__UserAgent *ua,
    Wa__ClientPayload__UserAgent__AppVersion *av, const struct wa_version *v)
{
	av->has_primary = av->has_secondary = av->has_tertiary = 1;
	av->primary = v->primary;
	av->secondary = v->secondary;
	av->tertiary = v->tertiary;
	ua->has_platform = 1;
	ua->platform = WA__CLIENT_PAYLOAD__USER_AGENT__PLATFORM__WEB;
	ua->appversion = av;
	ua->has_releasechannel = 1;
	ua->releasechannel = WA__CLIENT_PAYLOAD__USER_AGENT__RELEASE_CHANNEL__RELEASE;
	ua->osversion = (char *)"0.1";
	ua->device = (char *)"Desktop";
	ua->osbuildnumber = (char *)"0.1";
	ua->localelanguageiso6391 = (char *)"en";
	ua->mnc = (char *)"000";
	ua->mcc = (char *)"000";
	ua->localecountryiso31661alpha2 = (char *)"US";
}

static int
pack_payload(const Wa__ClientPayload *p, struct wa_buf *out)
{
	size_t n = wa__client_payload__get_packed_size(p);
	int rc = wa_buf_reserve(out, n);
	if (rc < 0)
		return rc;
	wa__client_payload__pack(p, out->data + out->len);
	out->len += n;
	return 0;
}

int
wa_payload_login(const struct wa_creds *c, const struct wa_version *v,
    struct wa_buf *out)
{
	Wa__ClientPayload p = WA__CLIENT_PAYLOAD__INIT;
	Wa__ClientPayload__UserAgent ua = WA__CLIENT_PAYLOAD__USER_AGENT__INIT;
	Wa__ClientPayload__UserAgent__AppVersion av =
	    WA__CLIENT_PAYLOAD__USER_AGENT__APP_VERSION__INIT;
	Wa__ClientPayload__WebInfo wi = WA__CLIENT_PAYLOAD__WEB_INFO__INIT;
	uint64_t user;
	uint32_t device;
	int rc;

	if ((rc = wa_creds_user_device(c, &user, &device)) < 0)
		return rc;
	user_agent(&ua, &av, v);
	wi.has_websubplatform = 1;
	wi.websubplatform = WA__CLIENT_PAYLOAD__WEB_INFO__WEB_SUB_PLATFORM__WEB_BROWSER;
	p.useragent = &ua;
	p.webinfo = &wi;
	p.has_connecttype = 1;
	p.connecttype = WA__CLIENT_PAYLOAD__CONNECT_TYPE__WIFI_UNKNOWN;
	p.has_connectreason = 1;
	p.connectreason = WA__CLIENT_PAYLOAD__CONNECT_REASON__USER_ACTIVATED;
	p.has_passive = p.has_pull = 1;
	p.passive = p.pull = 1;
	p.has_username = 1;
	p.username = user;
	p.has_device = 1;
	p.device = device;
	p.has_liddbmigrated = 1;
	p.liddbmigrated = 0;
	return pack_payload(&p, out);
}

static void
be_bytes(uint8_t *dst, uint32_t v, int n)
{
	for (int i = n - 1; i >= 0; i--, v >>= 8)
		dst[i] = (uint8_t)v;
}

int
wa_payload_register(const struct wa_creds *c, const struct wa_version *v,
    struct wa_buf *out)
{
	Wa__ClientPayload p = WA__CLIENT_PAYLOAD__INIT;
	Wa__ClientPayload__UserAgent ua = WA__CLIENT_PAYLOAD__USER_AGENT__INIT;
	Wa__ClientPayload__UserAgent__AppVersion av =
	    WA__CLIENT_PAYLOAD__USER_AGENT__APP_VERSION__INIT;
	Wa__ClientPayload__WebInfo wi = WA__CLIENT_PAYLOAD__WEB_INFO__INIT;
	Wa__ClientPayload__DevicePairingRegistrationData d =
	    WA__CLIENT_PAYLOAD__DEVICE_PAIRING_REGISTRATION_DATA__INIT;
	Wa__DeviceProps props = WA__DEVICE_PROPS__INIT;
	Wa__DeviceProps__AppVersion pv = WA__DEVICE_PROPS__APP_VERSION__INIT;
	uint8_t regid[4], keytype[1] = { 5 }, skey_id[3], hash[16];
	uint8_t props_buf[64];
	char ver[48];
	unsigned int hlen = 0;
	int rc;

	user_agent(&ua, &av, v);
	wi.has_websubplatform = 1;
	wi.websubplatform = WA__CLIENT_PAYLOAD__WEB_INFO__WEB_SUB_PLATFORM__WEB_BROWSER;

	/* buildHash is MD5 of the version text: a fingerprint the server
	 * expects, not a security measure */
	snprintf(ver, sizeof(ver), "%u.%u.%u", v->primary, v->secondary,
	    v->tertiary);
	if (!EVP_Digest(ver, strlen(ver), hash, &hlen, EVP_md5(), NULL) ||
	    hlen != sizeof(hash))
		return WA_ECRYPTO;
	props.os = (char *)"skykeeper";
	props.has_platformtype = 1;
	props.platformtype = WA__DEVICE_PROPS__PLATFORM_TYPE__DESKTOP;
	props.has_requirefullsync = 1;
	props.requirefullsync = 0;
	pv.has_primary = pv.has_secondary = pv.has_tertiary = 1;
	pv.primary = 10;
	pv.secondary = 15;
	pv.tertiary = 7;
	props.version = &pv;
	if (wa__device_props__get_packed_size(&props) > sizeof(props_buf))
		return WA_ETOOBIG;

	be_bytes(regid, c->registration_id, 4);
	be_bytes(skey_id, c->signed_prekey_id, 3);
	d.has_eregid = 1;
	d.eregid.data = regid;
	d.eregid.len = 4;
	d.has_ekeytype = 1;
	d.ekeytype.data = keytype;
	d.ekeytype.len = 1;
	d.has_eident = 1;
	d.eident.data = (uint8_t *)c->identity.pub;
	d.eident.len = 32;
	d.has_eskeyid = 1;
	d.eskeyid.data = skey_id;
	d.eskeyid.len = 3;
	d.has_eskeyval = 1;
	d.eskeyval.data = (uint8_t *)c->signed_prekey.pub;
	d.eskeyval.len = 32;
	d.has_eskeysig = 1;
	d.eskeysig.data = (uint8_t *)c->signed_prekey_sig;
	d.eskeysig.len = 64;
	d.has_buildhash = 1;
	d.buildhash.data = hash;
	d.buildhash.len = sizeof(hash);
	d.has_deviceprops = 1;
	d.deviceprops.data = props_buf;
	d.deviceprops.len = wa__device_props__pack(&props, props_buf);

	p.useragent = &ua;
	p.webinfo = &wi;
	p.has_connecttype = 1;
	p.connecttype = WA__CLIENT_PAYLOAD__CONNECT_TYPE__WIFI_UNKNOWN;
	p.has_connectreason = 1;
	p.connectreason = WA__CLIENT_PAYLOAD__CONNECT_REASON__USER_ACTIVATED;
	p.has_passive = p.has_pull = 1;
	p.passive = p.pull = 0;
	p.devicepairingdata = &d;
	rc = pack_payload(&p, out);
	return rc;
}

int
wa_payload_parse(const uint8_t *buf, size_t len, struct wa_login *out)
{
	Wa__ClientPayload *p = wa__client_payload__unpack(NULL, len, buf);
	int rc = 0;

	memset(out, 0, sizeof(*out));
	if (p == NULL)
		return WA_EMALFORM;
	if (p->devicepairingdata != NULL) {
		out->registration = 1;
		if (p->devicepairingdata->has_eident &&
		    p->devicepairingdata->eident.len == 32)
			memcpy(out->identity_pub, p->devicepairingdata->eident.data, 32);
		else
			rc = WA_EMALFORM;
	} else if (!p->has_username) {
		rc = WA_EMALFORM;  /* neither a login nor a registration */
	}
	out->username = p->username;
	out->device = p->device;
	out->passive = p->has_passive && p->passive;
	if (p->useragent != NULL && p->useragent->appversion != NULL) {
		out->version.primary = p->useragent->appversion->primary;
		out->version.secondary = p->useragent->appversion->secondary;
		out->version.tertiary = p->useragent->appversion->tertiary;
	}
	wa__client_payload__free_unpacked(p, NULL);
	return rc;
}

/* ------------------------------------------------------------------------
 * Inbound classification
 */
static int
is(const char *a, const char *b)
{
	return a != NULL && strcmp(a, b) == 0;
}

static int
code_of(const char *s)
{
	char *end;
	long v;

	if (s == NULL || *s == '\0')
		return 0;
	v = strtol(s, &end, 10);
	return (*end == '\0' && v > 0 && v < 100000) ? (int)v : 0;
}

static enum wa_reason
reason_of_code(int code)
{
	switch (code) {
	case 401: return WA_R_LOGGED_OUT;
	case 405: return WA_R_CLIENT_OUTDATED;
	case 503: return WA_R_UNAVAILABLE;
	case 515: return WA_R_RESTART_REQUIRED;
	default: return code > 0 ? (enum wa_reason)code : WA_R_BAD_SESSION;
	}
}

void
wa_stanza_classify(const struct wa_node *n, struct wa_inbound *out)
{
	memset(out, 0, sizeof(*out));
	out->kind = WA_IN_OTHER;
	if (n == NULL || n->tag == NULL)
		return;
	if (is(n->tag, "success")) {
		out->kind = WA_IN_SUCCESS;
	} else if (is(n->tag, "failure")) {
		out->kind = WA_IN_FAILURE;
		out->code = code_of(wa_node_attr(n, "reason"));
		out->reason = reason_of_code(out->code);
		out->text = wa_node_attr(n, "reason");
	} else if (is(n->tag, "stream:error")) {
		const struct wa_node *conflict = wa_node_child(n, "conflict");
		out->kind = WA_IN_STREAM_ERROR;
		out->code = code_of(wa_node_attr(n, "code"));
		if (conflict != NULL) {
			/* the type says who took the session, or that it is gone */
			out->text = wa_node_attr(conflict, "type");
			out->reason = is(out->text, "device_removed") ?
			    WA_R_LOGGED_OUT : is(out->text, "replaced") ?
			    WA_R_REPLACED : WA_R_BAD_SESSION;
		} else {
			out->reason = reason_of_code(out->code);
			out->text = wa_node_attr(n, "code");
		}
	} else if (is(n->tag, "xmlstreamend")) {
		out->kind = WA_IN_STREAM_END;
		out->reason = WA_R_CONNECTION_CLOSED;
	} else if (is(n->tag, "iq")) {
		const char *type = wa_node_attr(n, "type");
		out->id = wa_node_attr(n, "id");
		out->kind = is(type, "result") ? WA_IN_IQ_RESULT :
		    is(type, "error") ? WA_IN_IQ_ERROR :
		    (is(type, "get") || is(type, "set")) ? WA_IN_IQ_REQUEST :
		    WA_IN_OTHER;
	}
}

/* ------------------------------------------------------------------------
 * Client builders
 */
static struct wa_node *
iq(struct wa_arena *a, const char *id, const char *type, const char *xmlns)
{
	struct wa_node *n = wa_node_new(a, "iq");

	if (n == NULL ||
	    (id != NULL && wa_node_set_attr(a, n, "id", id) < 0) ||
	    wa_node_set_attr(a, n, "to", WA_SERVER_JID) < 0 ||
	    wa_node_set_attr(a, n, "type", type) < 0 ||
	    (xmlns != NULL && wa_node_set_attr(a, n, "xmlns", xmlns) < 0))
		return NULL;
	return n;
}

struct wa_node *
wa_stanza_ping(struct wa_arena *a, const char *id)
{
	struct wa_node *n = iq(a, id, "get", "w:p");
	if (n == NULL || wa_node_add_child(a, n, "ping") == NULL)
		return NULL;
	return n;
}

struct wa_node *
wa_stanza_presence(struct wa_arena *a, const char *name, int available)
{
	struct wa_node *n = wa_node_new(a, "presence");

	/* the server wants the push name; callers skip presence without it */
	if (n == NULL || name == NULL || *name == '\0' ||
	    wa_node_set_attr(a, n, "name", name) < 0 ||
	    wa_node_set_attr(a, n, "type",
	    available ? "available" : "unavailable") < 0)
		return NULL;
	return n;
}

struct wa_node *
wa_stanza_status(struct wa_arena *a, const char *id, const char *text)
{
	struct wa_node *n = iq(a, id, "set", "status"), *s;
	if (n == NULL || (s = wa_node_add_child(a, n, "status")) == NULL ||
	    wa_node_set_bytes(a, s, (const uint8_t *)text, strlen(text)) < 0)
		return NULL;
	return n;
}

struct wa_node *
wa_stanza_prekey_count(struct wa_arena *a, const char *id)
{
	struct wa_node *n = iq(a, id, "get", "encrypt");
	if (n == NULL || wa_node_add_child(a, n, "count") == NULL)
		return NULL;
	return n;
}

static struct wa_node *
bytes_child(struct wa_arena *a, struct wa_node *parent, const char *tag,
    const uint8_t *p, size_t len)
{
	struct wa_node *c = wa_node_add_child(a, parent, tag);
	if (c == NULL || wa_node_set_bytes(a, c, p, len) < 0)
		return NULL;
	return c;
}

struct wa_node *
wa_stanza_prekey_upload(struct wa_arena *a, const char *id,
    const struct wa_creds *c, struct wa_keypair *keys, uint32_t first_id,
    size_t count)
{
	struct wa_node *n = iq(a, id, "set", "encrypt"), *list, *skey;
	uint8_t regid[4], type[1] = { 5 }, kid[3];

	if (n == NULL)
		return NULL;
	be_bytes(regid, c->registration_id, 4);
	if (bytes_child(a, n, "registration", regid, 4) == NULL ||
	    bytes_child(a, n, "type", type, 1) == NULL ||
	    bytes_child(a, n, "identity", c->identity.pub, 32) == NULL ||
	    (list = wa_node_add_child(a, n, "list")) == NULL)
		return NULL;
	for (size_t i = 0; i < count; i++) {
		struct wa_node *k = wa_node_add_child(a, list, "key");
		if (k == NULL || wa_keypair_generate(&keys[i]) < 0)
			return NULL;
		be_bytes(kid, first_id + (uint32_t)i, 3);
		if (bytes_child(a, k, "id", kid, 3) == NULL ||
		    bytes_child(a, k, "value", keys[i].pub, 32) == NULL)
			return NULL;
	}
	be_bytes(kid, c->signed_prekey_id, 3);
	if ((skey = wa_node_add_child(a, n, "skey")) == NULL ||
	    bytes_child(a, skey, "id", kid, 3) == NULL ||
	    bytes_child(a, skey, "value", c->signed_prekey.pub, 32) == NULL ||
	    bytes_child(a, skey, "signature", c->signed_prekey_sig, 64) == NULL)
		return NULL;
	return n;
}

struct wa_node *
wa_stanza_active(struct wa_arena *a, const char *id, int active)
{
	struct wa_node *n = iq(a, id, "set", "passive");
	if (n == NULL ||
	    wa_node_add_child(a, n, active ? "active" : "passive") == NULL)
		return NULL;
	return n;
}

struct wa_node *
wa_stanza_iq_result(struct wa_arena *a, const struct wa_node *request)
{
	const char *id = wa_node_attr(request, "id");
	const char *from = wa_node_attr(request, "from");
	struct wa_node *n = wa_node_new(a, "iq");

	if (n == NULL || id == NULL ||
	    wa_node_set_attr(a, n, "to", from ? from : WA_SERVER_JID) < 0 ||
	    wa_node_set_attr(a, n, "type", "result") < 0 ||
	    wa_node_set_attr(a, n, "id", id) < 0)
		return NULL;
	return n;
}

/* ------------------------------------------------------------------------
 * Server builders
 */
struct wa_node *
wa_stanza_success(struct wa_arena *a, uint64_t t, const char *lid)
{
	struct wa_node *n = wa_node_new(a, "success");
	char ts[24];

	snprintf(ts, sizeof(ts), "%llu", (unsigned long long)t);
	if (n == NULL || wa_node_set_attr(a, n, "t", ts) < 0 ||
	    (lid != NULL && *lid && wa_node_set_attr(a, n, "lid", lid) < 0))
		return NULL;
	return n;
}

struct wa_node *
wa_stanza_failure(struct wa_arena *a, int reason)
{
	struct wa_node *n = wa_node_new(a, "failure");
	char r[16];

	snprintf(r, sizeof(r), "%d", reason);
	if (n == NULL || wa_node_set_attr(a, n, "reason", r) < 0)
		return NULL;
	return n;
}

struct wa_node *
wa_stanza_stream_error(struct wa_arena *a, int code)
{
	struct wa_node *n = wa_node_new(a, "stream:error");
	char c[16];

	snprintf(c, sizeof(c), "%d", code);
	if (n == NULL || wa_node_set_attr(a, n, "code", c) < 0)
		return NULL;
	return n;
}

struct wa_node *
wa_stanza_conflict(struct wa_arena *a, const char *type)
{
	struct wa_node *n = wa_node_new(a, "stream:error"), *c;
	if (n == NULL || (c = wa_node_add_child(a, n, "conflict")) == NULL ||
	    wa_node_set_attr(a, c, "type", type) < 0)
		return NULL;
	return n;
}

struct wa_node *
wa_stanza_stream_end(struct wa_arena *a)
{
	return wa_node_new(a, "xmlstreamend");
}
