/*
 * src/wa/pair_adv.c: the two ADV signatures that bind a companion device
 * to an account (PROTOCOL.md §7): the phone's account signature and the
 * companion's device signature.  Byte layouts from Baileys
 * Utils/validate-connection.js; the device prefix stays 06 01 for hosted
 * accounts too, as there (only the account prefix changes to 06 05).
 */
#include <stdlib.h>
#include <string.h>
#include "wa/cert.h"
#include "wa/pair_int.h"

/* prefix || details || k1 [|| k2], malloc'd */
static int
cat(const uint8_t prefix[2], const uint8_t *details, size_t len,
    const uint8_t k1[32], const uint8_t *k2, uint8_t **out, size_t *outlen)
{
	size_t n = 2 + len + 32 + (k2 != NULL ? 32 : 0);
	uint8_t *p;

	if (len > WA_PAIR_DETAILS_MAX)
		return WA_ETOOBIG;
	if ((p = malloc(n)) == NULL)
		return WA_ENOMEM;
	memcpy(p, prefix, 2);
	if (len)
		memcpy(p + 2, details, len);
	memcpy(p + 2 + len, k1, 32);
	if (k2 != NULL)
		memcpy(p + 2 + len + 32, k2, 32);
	*out = p;
	*outlen = n;
	return 0;
}

static const uint8_t *
account_prefix(int hosted)
{
	return hosted ? pair_prefix_hosted_account : pair_prefix_account;
}

int
pair_account_sign(const uint8_t account_priv[32], int hosted,
    const uint8_t *details, size_t len, const uint8_t identity_pub[32],
    uint8_t sig[64])
{
	uint8_t *m;
	size_t n;
	int rc;

	if ((rc = cat(account_prefix(hosted), details, len, identity_pub,
	    NULL, &m, &n)) < 0)
		return rc;
	rc = wa_xeddsa_sign(account_priv, m, n, sig);
	free(m);
	return rc;
}

int
pair_account_verify(const uint8_t account_pub[32], int hosted,
    const uint8_t *details, size_t len, const uint8_t identity_pub[32],
    const uint8_t sig[64])
{
	uint8_t *m;
	size_t n;
	int rc;

	if ((rc = cat(account_prefix(hosted), details, len, identity_pub,
	    NULL, &m, &n)) < 0)
		return rc;
	rc = wa_xeddsa_verify(account_pub, m, n, sig);
	free(m);
	if (rc == WA_ENOMEM)
		return rc;
	return rc == 0 ? 0 : WA_PAIR_EACCOUNT;
}

int
pair_device_sign(const struct wa_keypair *identity, const uint8_t *details,
    size_t len, const uint8_t account_pub[32], uint8_t sig[64])
{
	uint8_t *m;
	size_t n;
	int rc;

	if ((rc = cat(pair_prefix_device, details, len, identity->pub,
	    account_pub, &m, &n)) < 0)
		return rc;
	rc = wa_xeddsa_sign(identity->priv, m, n, sig);
	free(m);
	return rc;
}

int
pair_device_verify(const uint8_t identity_pub[32], const uint8_t *details,
    size_t len, const uint8_t account_pub[32], const uint8_t sig[64])
{
	uint8_t *m;
	size_t n;
	int rc;

	if ((rc = cat(pair_prefix_device, details, len, identity_pub,
	    account_pub, &m, &n)) < 0)
		return rc;
	rc = wa_xeddsa_verify(identity_pub, m, n, sig);
	free(m);
	if (rc == WA_ENOMEM)
		return rc;
	return rc == 0 ? 0 : WA_PAIR_EDEVICE;
}
