/*
 * tools/wa-testserver/makedev.c: new test devices.
 *
 * --make-device OUTDIR: a complete credential set (wa_creds_generate), a
 * phone number and device id, a LID, a push name and an account identity
 * signed the way pairing signs it (a made-up "phone" key signs the device
 * details and our identity key; our identity key countersigns), recorded
 * in the registry and written as OUTDIR/creds.json that stock Baileys
 * loads with useMultiFileAuthState and logs in with.
 *
 * --make-devices N OUTFILE: the same registry records for N devices with
 * only what a login needs kept, one line per device in OUTFILE:
 *   PHONE <SP> DEVICE <SP> NOISE_PRIVATE_HEX
 * (the load tool reads it).  No account or pre-keys: those don't take
 * part in the handshake or the login.
 */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <openssl/rand.h>
#include "wa/cert.h"
#include "store/baileys.h"
#include "wa.pb-c.h"
#include "wa-testserver/ts.h"

static uint64_t
random_lid(void)
{
	uint8_t r[8];
	uint64_t v = 0;
	int i;

	if (RAND_bytes(r, sizeof(r)) != 1)
		return 100000000000001ull;
	for (i = 0; i < 8; i++)
		v = v << 8 | r[i];
	/* 15 digits, like the LIDs the real server hands out */
	return 100000000000000ull + v % 900000000000000ull;
}

/* ADVSignedDeviceIdentity as the phone would have signed it at pairing:
 * accountSignature over 06 00 || details || our identity key, by the
 * account key; deviceSignature over 06 01 || details || identity ||
 * account key, by our identity key (PROTOCOL.md §7). */
static int
make_account(struct wa_creds *c)
{
	Wa__ADVDeviceIdentity id = WA__ADVDEVICE_IDENTITY__INIT;
	Wa__ADVSignedDeviceIdentity sd = WA__ADVSIGNED_DEVICE_IDENTITY__INIT;
	struct wa_keypair acct;
	uint8_t details[64], msg[2 + 64 + 32 + 32], asig[64], dsig[64];
	uint32_t raw;
	size_t dl;
	int rc;

	if (RAND_bytes((uint8_t *)&raw, sizeof(raw)) != 1 ||
	    (rc = wa_keypair_generate(&acct)) < 0)
		return WA_ECRYPTO;
	id.has_rawid = id.has_timestamp = id.has_keyindex = 1;
	id.rawid = raw;
	id.timestamp = (uint64_t)time(NULL);
	id.keyindex = 1;
	if (wa__advdevice_identity__get_packed_size(&id) > sizeof(details))
		return WA_ETOOBIG;
	dl = wa__advdevice_identity__pack(&id, details);
	msg[0] = 6;
	msg[1] = 0;
	memcpy(msg + 2, details, dl);
	memcpy(msg + 2 + dl, c->identity.pub, 32);
	if ((rc = wa_xeddsa_sign(acct.priv, msg, 2 + dl + 32, asig)) < 0)
		return rc;
	msg[1] = 1;
	memcpy(msg + 2 + dl + 32, acct.pub, 32);
	if ((rc = wa_xeddsa_sign(c->identity.priv, msg, 2 + dl + 64, dsig)) < 0)
		return rc;
	sd.has_details = sd.has_accountsignaturekey = sd.has_accountsignature =
	    sd.has_devicesignature = 1;
	sd.details.data = details;
	sd.details.len = dl;
	sd.accountsignaturekey.data = acct.pub;
	sd.accountsignaturekey.len = 32;
	sd.accountsignature.data = asig;
	sd.accountsignature.len = 64;
	sd.devicesignature.data = dsig;
	sd.devicesignature.len = 64;
	if (wa__advsigned_device_identity__get_packed_size(&sd) >
	    sizeof(c->account))
		return WA_ETOOBIG;
	c->account_len = wa__advsigned_device_identity__pack(&sd, c->account);
	memset(&acct, 0, sizeof(acct));
	return 0;
}

int
ts_make_device(const char *regdir, const char *outdir, uint64_t phone,
    char *why, size_t whylen)
{
	struct wa_creds c;
	uint64_t ph = 0;
	uint32_t dev;
	int rc;

	if ((rc = wa_creds_generate(&c)) < 0 || (rc = make_account(&c)) < 0) {
		snprintf(why, whylen, "generating credentials: %s",
		    wa_strerror(rc));
		return -1;
	}
	dev = ts_registry_next_dev(regdir, phone, &ph);
	snprintf(c.me_jid, sizeof(c.me_jid), "%llu:%u@s.whatsapp.net",
	    (unsigned long long)ph, dev);
	snprintf(c.me_lid, sizeof(c.me_lid), "%llu:%u@lid",
	    (unsigned long long)random_lid(), dev);
	snprintf(c.push_name, sizeof(c.push_name), "Test %llu",
	    (unsigned long long)ph);
	snprintf(c.platform, sizeof(c.platform), "android");
	if (store_baileys_write(outdir, &c, why, whylen) < 0 ||
	    ts_registry_append(regdir, ph, dev, c.noise.pub, c.identity.pub,
	    c.me_lid, why, whylen) < 0) {
		wa_creds_wipe(&c);
		return -1;
	}
	printf("device=%llu:%u jid=%s lid=%s dir=%s\n", (unsigned long long)ph,
	    dev, c.me_jid, c.me_lid, outdir);
	fflush(stdout);
	wa_creds_wipe(&c);
	return 0;
}

static int
write_file(const char *path, const struct wa_buf *b, int append)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC |
	    (append ? O_APPEND : O_TRUNC), 0600);
	size_t off = 0;
	ssize_t w;

	if (fd < 0)
		return -1;
	while (off < b->len) {
		if ((w = write(fd, b->data + off, b->len - off)) <= 0) {
			close(fd);
			return -1;
		}
		off += (size_t)w;
	}
	return close(fd);
}

int
ts_make_devices(const char *regdir, const char *outfile, unsigned n,
    char *why, size_t whylen)
{
	struct wa_buf reg = { 0 }, out = { 0 };
	struct wa_keypair noise, ident;
	char line[320], np[65], ip[65], priv[65], path[512];
	uint64_t base = 0;
	unsigned i;
	int len, rc = 0;

	/* one scan for a free base; the block base .. base+n-1 follows */
	(void)ts_registry_next_dev(regdir, 0, &base);
	base += 1000000;     /* keep clear of numbers single devices get */
	for (i = 0; i < n && rc == 0; i++) {
		if (wa_keypair_generate(&noise) < 0 ||
		    wa_keypair_generate(&ident) < 0) {
			rc = -1;
			break;
		}
		ts_hex(noise.pub, 32, np);
		ts_hex(ident.pub, 32, ip);
		ts_hex(noise.priv, 32, priv);
		len = snprintf(line, sizeof(line), "%llu\t1\t%s\t%s\t%llu:1@lid\n",
		    (unsigned long long)(base + i), np, ip,
		    (unsigned long long)random_lid());
		rc = wa_buf_put(&reg, line, (size_t)len);
		len = snprintf(line, sizeof(line), "%llu 1 %s\n",
		    (unsigned long long)(base + i), priv);
		if (rc == 0)
			rc = wa_buf_put(&out, line, (size_t)len);
	}
	snprintf(path, sizeof(path), "%s/devices.tsv", regdir);
	if (rc < 0)
		snprintf(why, whylen, "generating keys failed");
	else if (write_file(outfile, &out, 0) < 0)
		snprintf(why, whylen, "%s: cannot write", outfile), rc = -1;
	else if (write_file(path, &reg, 1) < 0)
		snprintf(why, whylen, "%s: cannot write", path), rc = -1;
	else
		printf("devices=%u first=%llu:1 file=%s\n", n,
		    (unsigned long long)base, outfile);
	if (out.data != NULL)
		memset(out.data, 0, out.len);   /* private keys */
	wa_buf_free(&reg);
	wa_buf_free(&out);
	return rc;
}
