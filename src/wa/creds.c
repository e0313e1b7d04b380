/*
 * src/wa/creds.c: generating and reading a device's credential set.
 */
#include <stdlib.h>
#include <string.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include "wa/cert.h"
#include "wa/creds.h"

int
wa_creds_user_device(const struct wa_creds *c, uint64_t *user,
    uint32_t *device)
{
	const char *p = c->me_jid;
	uint64_t u = 0;
	uint32_t d = 0;

	if (*p < '0' || *p > '9')
		return WA_EMALFORM;
	for (; *p >= '0' && *p <= '9'; p++) {
		if (u > (UINT64_MAX - 9) / 10)
			return WA_EMALFORM;
		u = u * 10 + (uint64_t)(*p - '0');
	}
	/* an agent part ("user_1:2@...") is not used by web devices */
	if (*p == ':') {
		p++;
		if (*p < '0' || *p > '9')
			return WA_EMALFORM;
		for (; *p >= '0' && *p <= '9'; p++) {
			if (d > 65535)
				return WA_EMALFORM;
			d = d * 10 + (uint32_t)(*p - '0');
		}
	}
	if (*p != '@')
		return WA_EMALFORM;
	*user = u;
	*device = d;
	return 0;
}

int
wa_creds_generate(struct wa_creds *c)
{
	uint8_t msg[33];
	uint8_t r[4];
	int rc;

	memset(c, 0, sizeof(*c));
	if ((rc = wa_keypair_generate(&c->noise)) < 0 ||
	    (rc = wa_keypair_generate(&c->identity)) < 0 ||
	    (rc = wa_keypair_generate(&c->signed_prekey)) < 0)
		return rc;
	/* the signed pre-key is signed in its serialized form: type byte 5
	 * (DJB) followed by the key, as libsignal does */
	msg[0] = 5;
	memcpy(msg + 1, c->signed_prekey.pub, 32);
	if ((rc = wa_xeddsa_sign(c->identity.priv, msg, sizeof(msg),
	    c->signed_prekey_sig)) < 0)
		return rc;
	if (RAND_bytes(r, sizeof(r)) != 1 ||
	    RAND_bytes(c->adv_secret, sizeof(c->adv_secret)) != 1)
		return WA_ECRYPTO;
	/* registration ids are 14 bits in libsignal's generator */
	c->registration_id = (((uint32_t)r[0] << 8 | r[1]) & 0x3fff) + 1;
	c->signed_prekey_id = 1;
	c->next_prekey_id = 1;
	c->first_unuploaded_prekey_id = 1;
	return 0;
}

void
wa_creds_wipe(struct wa_creds *c)
{
	OPENSSL_cleanse(c, sizeof(*c));
}
