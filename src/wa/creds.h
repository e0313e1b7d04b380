/*
 * src/wa/creds.h: one device's credentials, as much as logging in needs.
 * The same facts Baileys keeps in creds.json (src/store/baileys.c reads and
 * writes that form); the session snapshot of the store issue wraps this.
 */
#ifndef SK_WA_CREDS_H
#define SK_WA_CREDS_H

#include "wa/noise.h"

#define WA_JID_MAX 128

struct wa_creds {
	struct wa_keypair noise;          /* Noise static key: the login key */
	struct wa_keypair identity;       /* Signal identity key */
	struct wa_keypair signed_prekey;
	uint32_t signed_prekey_id;
	uint8_t signed_prekey_sig[64];    /* XEdDSA by identity over 0x05||pub */
	uint32_t registration_id;
	uint8_t adv_secret[32];
	char me_jid[WA_JID_MAX];          /* "15550001234:2@s.whatsapp.net"; empty: not paired */
	char me_lid[WA_JID_MAX];
	char push_name[WA_JID_MAX];
	char platform[32];
	uint8_t account[1024];            /* encoded ADVSignedDeviceIdentity */
	size_t account_len;
	uint8_t routing[256];             /* edge routing info from the server */
	size_t routing_len;
	uint32_t next_prekey_id;
	uint32_t first_unuploaded_prekey_id;
};

/* Splits me_jid into phone number and device ("123:4@s.whatsapp.net" ->
 * 123, 4; no ':' -> device 0). */
int wa_creds_user_device(const struct wa_creds *c, uint64_t *user,
    uint32_t *device);

/* A complete new credential set: every key generated, signed pre-key
 * signed (XEdDSA), registration id and adv secret random; not paired. */
int wa_creds_generate(struct wa_creds *c);

void wa_creds_wipe(struct wa_creds *c);

#endif
