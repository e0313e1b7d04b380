/*
 * src/wa/pair_code.c: pairing with a code instead of a QR (PROTOCOL.md §7),
 * companion side.  The user types our 8-character code into the phone;
 * both sides wrap an ephemeral X25519 key with it (PBKDF2 + AES-CTR), the
 * companion then sends its identity in a key bundle only the phone that
 * knows the code can open, and both derive the adv secret that
 * authenticates pair-success.  Wire facts: Baileys 7.0.0-rc14
 * Socket/socket.js requestPairingCode, Socket/messages-recv.js
 * (link_code_companion_reg), cross-checked with whatsmeow pair-code.go.
 */
#include <string.h>
#include <openssl/crypto.h>
#include "wa/pair_int.h"
#include "wa/stanza.h"

#define INFO_BUNDLE "link_code_pairing_key_bundle_encryption_key"
#define INFO_ADV "adv_secret"

int
wa_pair_phone_check(const char *phone, char *why, size_t whylen)
{
	size_t n;

	if (phone == NULL) {
		wa_say(why, whylen, "phone number missing");
		return WA_PAIR_EPHONE;
	}
	n = strlen(phone);
	for (size_t i = 0; i < n; i++)
		if (phone[i] < '0' || phone[i] > '9') {
			wa_say(why, whylen, "phone number: digits only, in "
			    "international form without '+' or spaces "
			    "(e.g. 15550001234)");
			return WA_PAIR_EPHONE;
		}
	if (n < 6 || n > 15) {
		pair_sayf(why, whylen, "phone number: %zu digits, expected 6 "
		    "to 15 (country code included)", n);
		return WA_PAIR_EPHONE;
	}
	if (phone[0] == '0') {
		wa_say(why, whylen, "phone number: starts with 0; give the "
		    "country code instead of a trunk prefix");
		return WA_PAIR_EPHONE;
	}
	return 0;
}

int
wa_pair_code_check(const char *code)
{
	if (code == NULL || strlen(code) != WA_PAIR_CODE_LEN)
		return WA_PAIR_ECODE;
	for (size_t i = 0; i < WA_PAIR_CODE_LEN; i++)
		if (code[i] == '\0' ||
		    strchr(WA_PAIR_CODE_ALPHABET, code[i]) == NULL)
			return WA_PAIR_ECODE;
	return 0;
}

void
wa_pair_code_from_bytes(const uint8_t r[5], char code[WA_PAIR_CODE_LEN + 1])
{
	static const char alpha[] = WA_PAIR_CODE_ALPHABET;
	uint64_t v = 0;

	for (int i = 0; i < 5; i++)
		v = v << 8 | r[i];
	for (int i = 0; i < WA_PAIR_CODE_LEN; i++)
		code[i] = alpha[(v >> (35 - 5 * i)) & 31];
	code[WA_PAIR_CODE_LEN] = '\0';
}

int
wa_pair_code_start(struct wa_pair_code *pc, const char *phone,
    const char *custom, char *why, size_t whylen)
{
	uint8_t r[5];
	int rc;

	memset(pc, 0, sizeof(*pc));
	if ((rc = wa_pair_phone_check(phone, why, whylen)) < 0)
		return rc;
	if (custom != NULL) {
		if (wa_pair_code_check(custom) < 0) {
			wa_say(why, whylen, "pairing code: exactly 8 of "
			    WA_PAIR_CODE_ALPHABET);
			return WA_PAIR_ECODE;
		}
		memcpy(pc->code, custom, WA_PAIR_CODE_LEN + 1);
	} else {
		if ((rc = pair_random(r, sizeof(r))) < 0)
			return rc;
		wa_pair_code_from_bytes(r, pc->code);
		OPENSSL_cleanse(r, sizeof(r));
	}
	snprintf(pc->jid, sizeof(pc->jid), "%s@%s", phone, WA_SERVER_JID);
	if ((rc = wa_keypair_generate(&pc->ephemeral)) < 0) {
		wa_pair_code_wipe(pc);
		return rc;
	}
	return 0;
}

void
wa_pair_code_wipe(struct wa_pair_code *pc)
{
	OPENSSL_cleanse(pc, sizeof(*pc));
}

int
wa_pair_hello_build(struct wa_arena *a, const char *id,
    const struct wa_pair_code *pc, const struct wa_creds *c,
    enum wa_pair_platform platform, const char *platform_display,
    int show_push_notification, struct wa_node **out)
{
	uint8_t wrapped[WA_PAIR_WRAPPED_LEN];
	struct wa_node *iq, *reg;
	char pid[16];
	int rc;

	*out = NULL;
	if (id == NULL || pc->jid[0] == '\0' ||
	    wa_pair_code_check(pc->code) < 0 || (int)platform < 0)
		return WA_EMALFORM;
	if ((rc = wa_pair_code_wrap(pc->code, pc->ephemeral.pub,
	    wrapped)) < 0)
		return rc;
	snprintf(pid, sizeof(pid), "%d", (int)platform);
	if ((iq = pair_iq(a, WA_SERVER_JID, "set", id, "md")) == NULL ||
	    (reg = wa_node_add_child(a, iq, "link_code_companion_reg")) ==
	    NULL ||
	    wa_node_set_attr(a, reg, "jid", pc->jid) < 0 ||
	    wa_node_set_attr(a, reg, "stage", "companion_hello") < 0 ||
	    wa_node_set_attr(a, reg, "should_show_push_notification",
	    show_push_notification ? "true" : "false") < 0 ||
	    pair_add_bytes(a, reg,
	    "link_code_pairing_wrapped_companion_ephemeral_pub", wrapped,
	    sizeof(wrapped)) < 0 ||
	    pair_add_bytes(a, reg, "companion_server_auth_key_pub",
	    c->noise.pub, 32) < 0 ||
	    pair_add_string(a, reg, "companion_platform_id", pid) < 0 ||
	    pair_add_string(a, reg, "companion_platform_display",
	    platform_display != NULL ? platform_display :
	    "Chrome (Linux)") < 0 ||
	    pair_add_string(a, reg, "link_code_pairing_nonce", "0") < 0)
		return WA_ENOMEM;
	*out = iq;
	return 0;
}

int
wa_pair_hello_result_parse(const struct wa_node *iq, struct wa_pair_code *pc,
    char *why, size_t whylen)
{
	const struct wa_node *reg;
	const uint8_t *d;
	size_t len;
	const char *type;

	if (iq == NULL || iq->tag == NULL || strcmp(iq->tag, "iq") != 0 ||
	    (type = wa_node_attr(iq, "type")) == NULL) {
		wa_say(why, whylen, "companion_hello answer: not an iq");
		return WA_EMALFORM;
	}
	if (strcmp(type, "error") == 0) {
		wa_say(why, whylen, "companion_hello refused by the server");
		return WA_EPROTO;
	}
	if (strcmp(type, "result") != 0 ||
	    (reg = wa_node_child(iq, "link_code_companion_reg")) == NULL ||
	    pair_child_data(reg, "link_code_pairing_ref", &d, &len) < 0 ||
	    pair_ref_set(&pc->ref, d, len) < 0) {
		wa_say(why, whylen, "companion_hello answer: no valid "
		    "link_code_pairing_ref");
		return WA_EMALFORM;
	}
	return 0;
}

int
wa_pair_is_code_notif(const struct wa_node *n)
{
	const char *type;

	if (n == NULL || n->tag == NULL || strcmp(n->tag, "notification"))
		return 0;
	type = wa_node_attr(n, "type");
	return type != NULL && strcmp(type, "link_code_companion_reg") == 0;
}

int
wa_pair_code_notif_parse(const struct wa_node *n,
    struct wa_pair_code_notif *out, char *why, size_t whylen)
{
	const struct wa_node *reg;
	const uint8_t *d;
	size_t len;
	int rc;

	memset(out, 0, sizeof(*out));
	if (!wa_pair_is_code_notif(n) ||
	    (reg = wa_node_child(n, "link_code_companion_reg")) == NULL) {
		wa_say(why, whylen, "code notification: not a "
		    "link_code_companion_reg notification");
		return WA_EMALFORM;
	}
	if ((rc = pair_get_id(n, out->id)) < 0 ||
	    (wa_node_attr(n, "from") != NULL &&
	    (rc = pair_copy_str(out->from, sizeof(out->from),
	    wa_node_attr(n, "from"))) < 0)) {
		wa_say(why, whylen, "code notification: id or from missing "
		    "or too long");
		return rc;
	}
	if (pair_child_data(reg, "link_code_pairing_ref", &d, &len) < 0 ||
	    pair_ref_set(&out->ref, d, len) < 0) {
		wa_say(why, whylen, "code notification: no valid "
		    "link_code_pairing_ref");
		return WA_EMALFORM;
	}
	if (pair_child_fixed(reg, "primary_identity_pub",
	    out->primary_identity_pub, 32) < 0 ||
	    pair_child_fixed(reg,
	    "link_code_pairing_wrapped_primary_ephemeral_pub",
	    out->wrapped_primary_ephemeral, WA_PAIR_WRAPPED_LEN) < 0) {
		wa_say(why, whylen, "code notification: primary_identity_pub "
		    "must be 32 bytes and the wrapped ephemeral 80");
		return WA_EMALFORM;
	}
	return 0;
}

struct wa_node *
wa_pair_notif_ack(struct wa_arena *a, const struct wa_node *notification)
{
	const char *id, *from, *type;
	struct wa_node *n;

	if (notification == NULL || notification->tag == NULL)
		return NULL;
	id = wa_node_attr(notification, "id");
	from = wa_node_attr(notification, "from");
	type = wa_node_attr(notification, "type");
	if (id == NULL || from == NULL ||
	    (n = wa_node_new(a, "ack")) == NULL ||
	    wa_node_set_attr(a, n, "id", id) < 0 ||
	    wa_node_set_attr(a, n, "to", from) < 0 ||
	    wa_node_set_attr(a, n, "class", notification->tag) < 0 ||
	    (type != NULL && wa_node_set_attr(a, n, "type", type) < 0))
		return NULL;
	return n;
}

int
wa_pair_finish_build(struct wa_arena *a, const char *id,
    const struct wa_pair_code *pc, const struct wa_pair_code_notif *nt,
    struct wa_creds *c, struct wa_node **out, char *why, size_t whylen)
{
	uint8_t primary_eph[32], shared[32], ident_shared[32], rnd[32];
	uint8_t key[32], adv[32], plain[96], ikm[96];
	uint8_t bundle[WA_PAIR_BUNDLE_LEN];
	struct wa_node *iq, *reg;
	int rc;

	*out = NULL;
	if (id == NULL || pc->jid[0] == '\0' ||
	    wa_pair_code_check(pc->code) < 0) {
		wa_say(why, whylen, "companion_finish: no pairing in progress");
		return WA_ESTATE;
	}
	if (pc->ref.len > 0 && !pair_ref_eq(&pc->ref, &nt->ref)) {
		wa_say(why, whylen, "companion_finish: the notification's ref "
		    "is not the one companion_hello got");
		return WA_PAIR_EREF;
	}
	if ((rc = wa_pair_code_unwrap(pc->code, nt->wrapped_primary_ephemeral,
	    primary_eph)) < 0)
		goto out;
	if ((rc = wa_dh(pc->ephemeral.priv, primary_eph, shared)) < 0 ||
	    (rc = wa_dh(c->identity.priv, nt->primary_identity_pub,
	    ident_shared)) < 0) {
		wa_say(why, whylen, "companion_finish: a key agreement gave "
		    "zeros (bad primary key)");
		goto out;
	}
	/* bundle = salt32 || iv12 || GCM(identity || primary identity ||
	 * random32) || tag */
	if ((rc = pair_random(rnd, sizeof(rnd))) < 0 ||
	    (rc = pair_random(bundle, 32 + 12)) < 0 ||
	    (rc = pair_hkdf(shared, 32, bundle, 32, INFO_BUNDLE, key)) < 0)
		goto out;
	memcpy(plain, c->identity.pub, 32);
	memcpy(plain + 32, nt->primary_identity_pub, 32);
	memcpy(plain + 64, rnd, 32);
	if ((rc = pair_gcm_seal(key, bundle + 32, plain, sizeof(plain),
	    bundle + 44)) < 0)
		goto out;
	memcpy(ikm, shared, 32);
	memcpy(ikm + 32, ident_shared, 32);
	memcpy(ikm + 64, rnd, 32);
	if ((rc = pair_hkdf(ikm, sizeof(ikm), NULL, 0, INFO_ADV, adv)) < 0)
		goto out;
	rc = WA_ENOMEM;
	if ((iq = pair_iq(a, WA_SERVER_JID, "set", id, "md")) == NULL ||
	    (reg = wa_node_add_child(a, iq, "link_code_companion_reg")) ==
	    NULL ||
	    wa_node_set_attr(a, reg, "jid", pc->jid) < 0 ||
	    wa_node_set_attr(a, reg, "stage", "companion_finish") < 0 ||
	    pair_add_bytes(a, reg, "link_code_pairing_wrapped_key_bundle",
	    bundle, sizeof(bundle)) < 0 ||
	    pair_add_bytes(a, reg, "companion_identity_public",
	    c->identity.pub, 32) < 0 ||
	    pair_add_bytes(a, reg, "link_code_pairing_ref",
	    (const uint8_t *)nt->ref.s, nt->ref.len) < 0)
		goto out;
	memcpy(c->adv_secret, adv, 32);
	*out = iq;
	rc = 0;
out:
	OPENSSL_cleanse(primary_eph, sizeof(primary_eph));
	OPENSSL_cleanse(shared, sizeof(shared));
	OPENSSL_cleanse(ident_shared, sizeof(ident_shared));
	OPENSSL_cleanse(rnd, sizeof(rnd));
	OPENSSL_cleanse(key, sizeof(key));
	OPENSSL_cleanse(adv, sizeof(adv));
	OPENSSL_cleanse(plain, sizeof(plain));
	OPENSSL_cleanse(ikm, sizeof(ikm));
	return rc;
}
