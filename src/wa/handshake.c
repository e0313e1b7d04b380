/*
 * src/wa/handshake.c: the WhatsApp Noise XX handshake, client and server.
 *
 * The token order is the XX pattern's (-> e; <- e, ee, s, es; -> s, se)
 * with WhatsApp's one deviation: message 1 carries no payload, and nothing
 * is mixed in for it.  Each side drives the Noise primitives itself because
 * WhatsApp wraps the tokens in protobuf instead of concatenating them.
 */
#include <stdio.h>
#include <string.h>
#include <openssl/crypto.h>
#include "wa/cert.h"
#include "wa/frame.h"
#include "wa/handshake.h"
#include "wa.pb-c.h"

static int
pack_message(const Wa__HandshakeMessage *m, struct wa_buf *out)
{
	size_t n = wa__handshake_message__get_packed_size(m);
	int rc = wa_buf_reserve(out, n);
	if (rc < 0)
		return rc;
	wa__handshake_message__pack(m, out->data + out->len);
	out->len += n;
	return 0;
}

static int
start_noise(struct wa_hs *hs, int initiator)
{
	memset(hs, 0, sizeof(*hs));
	return wa_noise_init(&hs->n, WA_NOISE_WHATSAPP, initiator, wa_intro,
	    sizeof(wa_intro));
}

int
wa_hs_client_start(struct wa_hs *hs, struct wa_buf *out)
{
	Wa__HandshakeMessage m = WA__HANDSHAKE_MESSAGE__INIT;
	Wa__HandshakeMessage__ClientHello hello =
	    WA__HANDSHAKE_MESSAGE__CLIENT_HELLO__INIT;
	int rc;

	if ((rc = start_noise(hs, 1)) < 0 ||
	    (rc = wa_keypair_generate(&hs->n.e)) < 0 ||
	    (rc = wa_noise_mix_hash(&hs->n, hs->n.e.pub, 32)) < 0)
		return rc;
	hello.has_ephemeral = 1;
	hello.ephemeral.data = hs->n.e.pub;
	hello.ephemeral.len = 32;
	m.clienthello = &hello;
	hs->step = 1;
	return pack_message(&m, out);
}

/* MixKey(DH(priv, pub)), wiping the shared secret. */
static int
mix_dh(struct wa_hs *hs, const uint8_t priv[32], const uint8_t pub[32])
{
	uint8_t shared[32];
	int rc = wa_dh(priv, pub, shared);
	if (rc == 0)
		rc = wa_noise_mix_key(&hs->n, shared);
	OPENSSL_cleanse(shared, sizeof(shared));
	return rc;
}

static int
field32(const ProtobufCBinaryData *d, int has)
{
	return has && d->len == 32;
}

int
wa_hs_client_finish(struct wa_hs *hs, const uint8_t *msg, size_t len,
    const struct wa_keypair *noise_static, const uint8_t *payload,
    size_t plen, const uint8_t *root, uint64_t now, struct wa_buf *out,
    struct wa_transport *t, char *why, size_t whylen)
{
	Wa__HandshakeMessage *in;
	Wa__HandshakeMessage__ServerHello *sh;
	Wa__HandshakeMessage m = WA__HANDSHAKE_MESSAGE__INIT;
	Wa__HandshakeMessage__ClientFinish fin =
	    WA__HANDSHAKE_MESSAGE__CLIENT_FINISH__INIT;
	struct wa_buf chain = { 0 }, enc_static = { 0 }, enc_payload = { 0 };
	size_t n;
	int rc;

	if (hs->step != 1) {
		wa_say(why, whylen, "serverHello out of order");
		return WA_ESTATE;
	}
	in = wa__handshake_message__unpack(NULL, len, msg);
	if (in == NULL || (sh = in->serverhello) == NULL ||
	    !field32(&sh->ephemeral, sh->has_ephemeral) ||
	    !sh->has_static_ || sh->static_.len != 32 + WA_NOISE_TAG ||
	    !sh->has_payload || sh->payload.len < WA_NOISE_TAG) {
		wa_say(why, whylen, "serverHello is malformed");
		rc = WA_EMALFORM;
		goto out;
	}
	memcpy(hs->n.re, sh->ephemeral.data, 32);
	if ((rc = wa_noise_mix_hash(&hs->n, hs->n.re, 32)) < 0 ||
	    (rc = mix_dh(hs, hs->n.e.priv, hs->n.re)) < 0)
		goto crypto;
	n = 32;
	if ((rc = wa_noise_decrypt_and_hash(&hs->n, sh->static_.data,
	    sh->static_.len, hs->server_static, &n)) < 0 || n != 32) {
		wa_say(why, whylen, "server static key does not decrypt");
		rc = rc < 0 ? rc : WA_EMALFORM;
		goto out;
	}
	if ((rc = mix_dh(hs, hs->n.e.priv, hs->server_static)) < 0 ||
	    (rc = wa_buf_reserve(&chain, sh->payload.len)) < 0)
		goto crypto;
	if ((rc = wa_noise_decrypt_and_hash(&hs->n, sh->payload.data,
	    sh->payload.len, chain.data, &chain.len)) < 0) {
		wa_say(why, whylen, "certificate payload does not decrypt");
		goto out;
	}
	if (root != NULL) {
		rc = wa_cert_verify_chain(chain.data, chain.len, root,
		    hs->server_static, now, why, whylen);
		if (rc < 0)
			goto out;
	}

	/* -> s, se, then the login payload */
	memcpy(&hs->n.s, noise_static, sizeof(hs->n.s));
	if ((rc = wa_buf_reserve(&enc_static, 32 + WA_NOISE_TAG)) < 0 ||
	    (rc = wa_noise_encrypt_and_hash(&hs->n, noise_static->pub, 32,
	    enc_static.data, &enc_static.len)) < 0 ||
	    (rc = mix_dh(hs, noise_static->priv, hs->n.re)) < 0 ||
	    (rc = wa_buf_reserve(&enc_payload, plen + WA_NOISE_TAG)) < 0 ||
	    (rc = wa_noise_encrypt_and_hash(&hs->n, payload, plen,
	    enc_payload.data, &enc_payload.len)) < 0)
		goto crypto;
	fin.has_static_ = 1;
	fin.static_.data = enc_static.data;
	fin.static_.len = enc_static.len;
	fin.has_payload = 1;
	fin.payload.data = enc_payload.data;
	fin.payload.len = enc_payload.len;
	m.clientfinish = &fin;
	if ((rc = pack_message(&m, out)) < 0 ||
	    (rc = wa_noise_split(&hs->n, &t->tx, &t->rx)) < 0)
		goto crypto;
	hs->step = 2;
	rc = 0;
	goto out;
crypto:
	wa_say(why, whylen, wa_strerror(rc));
out:
	if (in != NULL)
		wa__handshake_message__free_unpacked(in, NULL);
	wa_buf_free(&chain);
	wa_buf_free(&enc_static);
	wa_buf_free(&enc_payload);
	return rc;
}

int
wa_hs_server_hello(struct wa_hs *hs, const uint8_t *msg, size_t len,
    const struct wa_keypair *server_static, const uint8_t *chain,
    size_t chain_len, struct wa_buf *out)
{
	Wa__HandshakeMessage *in;
	Wa__HandshakeMessage m = WA__HANDSHAKE_MESSAGE__INIT;
	Wa__HandshakeMessage__ServerHello sh =
	    WA__HANDSHAKE_MESSAGE__SERVER_HELLO__INIT;
	uint8_t enc_static[32 + WA_NOISE_TAG];
	struct wa_buf enc_chain = { 0 };
	size_t n = 0;
	int rc;

	in = wa__handshake_message__unpack(NULL, len, msg);
	if (in == NULL || in->clienthello == NULL ||
	    !field32(&in->clienthello->ephemeral,
	    in->clienthello->has_ephemeral)) {
		rc = WA_EMALFORM;
		goto out;
	}
	if ((rc = start_noise(hs, 0)) < 0)
		goto out;
	memcpy(hs->n.re, in->clienthello->ephemeral.data, 32);
	memcpy(&hs->n.s, server_static, sizeof(hs->n.s));
	if ((rc = wa_noise_mix_hash(&hs->n, hs->n.re, 32)) < 0 ||
	    (rc = wa_keypair_generate(&hs->n.e)) < 0 ||
	    (rc = wa_noise_mix_hash(&hs->n, hs->n.e.pub, 32)) < 0 ||
	    (rc = mix_dh(hs, hs->n.e.priv, hs->n.re)) < 0 ||
	    (rc = wa_noise_encrypt_and_hash(&hs->n, server_static->pub, 32,
	    enc_static, &n)) < 0 ||
	    (rc = mix_dh(hs, server_static->priv, hs->n.re)) < 0 ||
	    (rc = wa_buf_reserve(&enc_chain, chain_len + WA_NOISE_TAG)) < 0 ||
	    (rc = wa_noise_encrypt_and_hash(&hs->n, chain, chain_len,
	    enc_chain.data, &enc_chain.len)) < 0)
		goto out;
	sh.has_ephemeral = 1;
	sh.ephemeral.data = hs->n.e.pub;
	sh.ephemeral.len = 32;
	sh.has_static_ = 1;
	sh.static_.data = enc_static;
	sh.static_.len = n;
	sh.has_payload = 1;
	sh.payload.data = enc_chain.data;
	sh.payload.len = enc_chain.len;
	m.serverhello = &sh;
	rc = pack_message(&m, out);
	hs->step = 1;
out:
	if (in != NULL)
		wa__handshake_message__free_unpacked(in, NULL);
	wa_buf_free(&enc_chain);
	return rc;
}

int
wa_hs_server_finish(struct wa_hs *hs, const uint8_t *msg, size_t len,
    struct wa_buf *payload, struct wa_transport *t)
{
	Wa__HandshakeMessage *in;
	Wa__HandshakeMessage__ClientFinish *cf;
	size_t n = 32;
	int rc;

	if (hs->step != 1)
		return WA_ESTATE;
	in = wa__handshake_message__unpack(NULL, len, msg);
	if (in == NULL || (cf = in->clientfinish) == NULL ||
	    !cf->has_static_ || cf->static_.len != 32 + WA_NOISE_TAG ||
	    !cf->has_payload || cf->payload.len < WA_NOISE_TAG) {
		rc = WA_EMALFORM;
		goto out;
	}
	if ((rc = wa_noise_decrypt_and_hash(&hs->n, cf->static_.data,
	    cf->static_.len, hs->client_static, &n)) < 0)
		goto out;
	memcpy(hs->n.rs, hs->client_static, 32);
	payload->len = 0;
	if ((rc = mix_dh(hs, hs->n.e.priv, hs->client_static)) < 0 ||
	    (rc = wa_buf_reserve(payload, cf->payload.len)) < 0 ||
	    (rc = wa_noise_decrypt_and_hash(&hs->n, cf->payload.data,
	    cf->payload.len, payload->data, &payload->len)) < 0)
		goto out;
	/* the server receives with the initiator's cipher */
	if ((rc = wa_noise_split(&hs->n, &t->rx, &t->tx)) < 0)
		goto out;
	hs->step = 2;
out:
	if (in != NULL)
		wa__handshake_message__free_unpacked(in, NULL);
	return rc;
}

void
wa_hs_wipe(struct wa_hs *hs)
{
	wa_noise_wipe(&hs->n);
	OPENSSL_cleanse(hs, sizeof(*hs));
}

int
wa_transport_seal(struct wa_transport *t, const uint8_t *plain, size_t len,
    struct wa_buf *out)
{
	size_t clen = len + WA_NOISE_TAG;
	int rc;

	if (clen > WA_FRAME_MAX)
		return WA_ETOOBIG;
	if ((rc = wa_buf_reserve(out, 3 + clen)) < 0)
		return rc;
	out->data[out->len] = (uint8_t)(clen >> 16);
	out->data[out->len + 1] = (uint8_t)(clen >> 8);
	out->data[out->len + 2] = (uint8_t)clen;
	rc = wa_cipher_encrypt(&t->tx, NULL, 0, plain, len,
	    out->data + out->len + 3);
	if (rc < 0)
		return rc;
	out->len += 3 + clen;
	return 0;
}

int
wa_transport_open(struct wa_transport *t, const uint8_t *ct, size_t len,
    struct wa_buf *plain)
{
	int rc;

	if (len < WA_NOISE_TAG)
		return WA_ETRUNC;
	plain->len = 0;
	if ((rc = wa_buf_reserve(plain, len - WA_NOISE_TAG + 1)) < 0)
		return rc;
	rc = wa_cipher_decrypt(&t->rx, NULL, 0, ct, len, plain->data);
	if (rc < 0)
		return rc;
	plain->len = len - WA_NOISE_TAG;
	return 0;
}

void
wa_transport_wipe(struct wa_transport *t)
{
	wa_cipher_wipe(&t->tx);
	wa_cipher_wipe(&t->rx);
}
