/*
 * src/wa/pair_code_primary.c: pairing with a code, primary side: what the
 * phone (our loopback test server) does after the user typed the code.
 * It reads companion_hello, answers with a ref, sends its own ephemeral
 * wrapped with the code in a link_code_companion_reg notification, then
 * opens the companion's key bundle and derives the same adv secret.
 */
#include <string.h>
#include <openssl/crypto.h>
#include "wa/pair_int.h"
#include "wa/stanza.h"

#define INFO_BUNDLE "link_code_pairing_key_bundle_encryption_key"
#define INFO_ADV "adv_secret"

/* the link_code_companion_reg child of an iq, when its stage is `stage` */
static const struct wa_node *
reg_of(const struct wa_node *n, const char *stage)
{
	const struct wa_node *reg;
	const char *s;

	if (n == NULL || n->tag == NULL || strcmp(n->tag, "iq") != 0 ||
	    (reg = wa_node_child(n, "link_code_companion_reg")) == NULL ||
	    (s = wa_node_attr(reg, "stage")) == NULL || strcmp(s, stage))
		return NULL;
	return reg;
}

int
wa_pair_is_hello(const struct wa_node *n)
{
	return reg_of(n, "companion_hello") != NULL;
}

int
wa_pair_is_finish(const struct wa_node *n)
{
	return reg_of(n, "companion_finish") != NULL;
}

/* a text child into a fixed field: no NUL inside, fits with its NUL */
static int
child_text(const struct wa_node *reg, const char *tag, char *dst, size_t cap)
{
	const uint8_t *d;
	size_t len;

	if (pair_child_data(reg, tag, &d, &len) < 0 || len >= cap ||
	    memchr(d, '\0', len) != NULL)
		return WA_EMALFORM;
	memcpy(dst, d, len);
	dst[len] = '\0';
	return 0;
}

int
wa_pair_hello_parse(const struct wa_node *iq, struct wa_pair_hello *out,
    char *why, size_t whylen)
{
	const struct wa_node *reg = reg_of(iq, "companion_hello");
	const char *push;
	int rc;

	memset(out, 0, sizeof(*out));
	if (reg == NULL) {
		wa_say(why, whylen, "companion_hello: not an iq with "
		    "link_code_companion_reg stage=companion_hello");
		return WA_EMALFORM;
	}
	if ((rc = pair_get_id(iq, out->id)) < 0 ||
	    (rc = pair_copy_str(out->jid, sizeof(out->jid),
	    wa_node_attr(reg, "jid"))) < 0) {
		wa_say(why, whylen, "companion_hello: id or jid missing or "
		    "too long");
		return rc;
	}
	if (pair_child_fixed(reg,
	    "link_code_pairing_wrapped_companion_ephemeral_pub",
	    out->wrapped_companion_ephemeral, WA_PAIR_WRAPPED_LEN) < 0 ||
	    pair_child_fixed(reg, "companion_server_auth_key_pub",
	    out->noise_pub, 32) < 0) {
		wa_say(why, whylen, "companion_hello: wrapped ephemeral must "
		    "be 80 bytes and the noise key 32");
		return WA_EMALFORM;
	}
	if (child_text(reg, "companion_platform_id", out->platform_id,
	    sizeof(out->platform_id)) < 0 ||
	    child_text(reg, "companion_platform_display",
	    out->platform_display, sizeof(out->platform_display)) < 0) {
		wa_say(why, whylen, "companion_hello: platform id or display "
		    "missing or too long");
		return WA_EMALFORM;
	}
	push = wa_node_attr(reg, "should_show_push_notification");
	out->show_push_notification = push != NULL && strcmp(push, "true") == 0;
	return 0;
}

struct wa_node *
wa_pair_hello_result_build(struct wa_arena *a, const char *id, const char *to,
    const char *ref)
{
	struct wa_node *iq, *reg;

	if (ref == NULL || pair_ref_valid((const uint8_t *)ref,
	    strlen(ref)) < 0)
		return NULL;
	if ((iq = pair_iq(a, to, "result", id, NULL)) == NULL ||
	    (reg = wa_node_add_child(a, iq, "link_code_companion_reg")) ==
	    NULL ||
	    pair_add_bytes(a, reg, "link_code_pairing_ref",
	    (const uint8_t *)ref, strlen(ref)) < 0)
		return NULL;
	return iq;
}

int
wa_pair_primary_start(struct wa_pair_primary *st,
    const struct wa_pair_hello *h, const char *code, const char *ref)
{
	int rc;

	memset(st, 0, sizeof(*st));
	if (wa_pair_code_check(code) < 0)
		return WA_PAIR_ECODE;
	if (ref == NULL || (rc = pair_ref_set(&st->ref, (const uint8_t *)ref,
	    strlen(ref))) < 0)
		return WA_EMALFORM;
	memcpy(st->code, code, WA_PAIR_CODE_LEN + 1);
	if ((rc = wa_pair_code_unwrap(code, h->wrapped_companion_ephemeral,
	    st->companion_ephemeral_pub)) < 0 ||
	    (rc = wa_keypair_generate(&st->ephemeral)) < 0) {
		wa_pair_primary_wipe(st);
		return rc;
	}
	return 0;
}

void
wa_pair_primary_wipe(struct wa_pair_primary *st)
{
	OPENSSL_cleanse(st, sizeof(*st));
}

int
wa_pair_code_notif_build(struct wa_arena *a, const char *id,
    const struct wa_pair_primary *st, const uint8_t primary_identity_pub[32],
    struct wa_node **out)
{
	uint8_t wrapped[WA_PAIR_WRAPPED_LEN];
	struct wa_node *n, *reg;
	int rc;

	*out = NULL;
	if (id == NULL || st->ref.len == 0 ||
	    wa_pair_code_check(st->code) < 0)
		return WA_ESTATE;
	if ((rc = wa_pair_code_wrap(st->code, st->ephemeral.pub, wrapped)) < 0)
		return rc;
	if ((n = wa_node_new(a, "notification")) == NULL ||
	    wa_node_set_attr(a, n, "from", WA_SERVER_JID) < 0 ||
	    wa_node_set_attr(a, n, "type", "link_code_companion_reg") < 0 ||
	    wa_node_set_attr(a, n, "id", id) < 0 ||
	    (reg = wa_node_add_child(a, n, "link_code_companion_reg")) ==
	    NULL ||
	    wa_node_set_attr(a, reg, "stage", "primary_hello") < 0 ||
	    pair_add_bytes(a, reg, "link_code_pairing_ref",
	    (const uint8_t *)st->ref.s, st->ref.len) < 0 ||
	    pair_add_bytes(a, reg, "primary_identity_pub",
	    primary_identity_pub, 32) < 0 ||
	    pair_add_bytes(a, reg,
	    "link_code_pairing_wrapped_primary_ephemeral_pub", wrapped,
	    sizeof(wrapped)) < 0)
		return WA_ENOMEM;
	*out = n;
	return 0;
}

int
wa_pair_finish_parse(const struct wa_node *iq, struct wa_pair_finish *out,
    char *why, size_t whylen)
{
	const struct wa_node *reg = reg_of(iq, "companion_finish");
	const uint8_t *d;
	size_t len;
	int rc;

	memset(out, 0, sizeof(*out));
	if (reg == NULL) {
		wa_say(why, whylen, "companion_finish: not an iq with "
		    "link_code_companion_reg stage=companion_finish");
		return WA_EMALFORM;
	}
	if ((rc = pair_get_id(iq, out->id)) < 0 ||
	    (rc = pair_copy_str(out->jid, sizeof(out->jid),
	    wa_node_attr(reg, "jid"))) < 0) {
		wa_say(why, whylen, "companion_finish: id or jid missing or "
		    "too long");
		return rc;
	}
	if (pair_child_fixed(reg, "link_code_pairing_wrapped_key_bundle",
	    out->bundle, WA_PAIR_BUNDLE_LEN) < 0 ||
	    pair_child_fixed(reg, "companion_identity_public",
	    out->companion_identity_pub, 32) < 0 ||
	    pair_child_data(reg, "link_code_pairing_ref", &d, &len) < 0 ||
	    pair_ref_set(&out->ref, d, len) < 0) {
		wa_say(why, whylen, "companion_finish: key bundle must be 156 "
		    "bytes, identity 32, and a valid ref present");
		return WA_EMALFORM;
	}
	return 0;
}

int
wa_pair_finish_open(const struct wa_pair_finish *f,
    const struct wa_pair_primary *st, const struct wa_keypair *primary_identity,
    uint8_t adv_secret[32], char *why, size_t whylen)
{
	uint8_t shared[32], ident_shared[32], key[32], plain[96], ikm[96];
	int rc;

	if (!pair_ref_eq(&f->ref, &st->ref)) {
		wa_say(why, whylen, "companion_finish: ref is not ours");
		return WA_PAIR_EREF;
	}
	/* With a wrong code the companion's ephemeral unwrapped to noise;
	 * X25519 still gives some key (all zeros only for a low-order point),
	 * and the GCM tag below is what notices. */
	if (wa_dh(st->ephemeral.priv, st->companion_ephemeral_pub,
	    shared) < 0) {
		wa_say(why, whylen, "companion_finish: the companion's "
		    "ephemeral key is unusable (wrong code?)");
		rc = WA_PAIR_ECODE;
		goto out;
	}
	if ((rc = pair_hkdf(shared, 32, f->bundle, 32, INFO_BUNDLE, key)) < 0)
		goto out;
	rc = pair_gcm_open(key, f->bundle + 32, f->bundle + 44,
	    WA_PAIR_BUNDLE_LEN - 44, plain);
	if (rc < 0) {
		wa_say(why, whylen, "companion_finish: key bundle does not "
		    "open: the codes differ");
		rc = rc == WA_ECRYPTO ? WA_PAIR_ECODE : rc;
		goto out;
	}
	if (CRYPTO_memcmp(plain, f->companion_identity_pub, 32) != 0 ||
	    CRYPTO_memcmp(plain + 32, primary_identity->pub, 32) != 0) {
		wa_say(why, whylen, "companion_finish: key bundle names other "
		    "identity keys");
		rc = WA_PAIR_EIDENT;
		goto out;
	}
	if ((rc = wa_dh(primary_identity->priv, f->companion_identity_pub,
	    ident_shared)) < 0) {
		wa_say(why, whylen, "companion_finish: companion identity key "
		    "unusable");
		goto out;
	}
	memcpy(ikm, shared, 32);
	memcpy(ikm + 32, ident_shared, 32);
	memcpy(ikm + 64, plain + 64, 32);
	if ((rc = pair_hkdf(ikm, sizeof(ikm), NULL, 0, INFO_ADV, key)) < 0)
		goto out;
	memcpy(adv_secret, key, 32);
out:
	OPENSSL_cleanse(shared, sizeof(shared));
	OPENSSL_cleanse(ident_shared, sizeof(ident_shared));
	OPENSSL_cleanse(key, sizeof(key));
	OPENSSL_cleanse(plain, sizeof(plain));
	OPENSSL_cleanse(ikm, sizeof(ikm));
	return rc;
}
