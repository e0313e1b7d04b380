/*
 * tools/wa-testserver/login.c: what the server decides once the handshake
 * is over, and the real server's rule for two logins of one device.
 *
 * A login is accepted when the ClientPayload names a registered device
 * (username = phone, device = device id) AND the Noise static key the
 * client proved in the handshake is the one registered for it: the key
 * is the credential, the payload only says who it claims to be.
 * Otherwise <failure reason="401"/> and the connection is closed.
 * A registration payload (no username, devicePairingData) starts a
 * pending pairing instead (pairing.c).
 *
 * A newer login of a device that is already logged in wins: every older
 * connection gets <stream:error><conflict type="replaced"/> and is closed,
 * as WhatsApp does (Baileys reports it as 440).
 */
#include <string.h>
#include <time.h>
#include <libwebsockets.h>
#include "wa/stanza.h"
#include "wa-testserver/ts.h"

static int
refuse_login(struct ts_conn *c, struct ts_device *d, int reason,
    const char *why)
{
	struct ts_server *s = c->srv;
	struct wa_arena a;
	char name[40];
	int rc;

	s->st.login_failures++;
	if (d != NULL)
		d->failures++;
	ts_say(s, "conn=%u dev=%s login refused (%d): %s", c->id,
	    ts_dev_name(d, name, sizeof(name)), reason, why);
	wa_arena_init(&a, 0);
	rc = ts_send_node(c, wa_stanza_failure(&a, reason), 1);
	wa_arena_free(&a);
	c->state = TS_C_FAILED;    /* whatever the client sends now is ignored */
	/* silent mode queues nothing: the connection then just stays */
	return rc < 0 ? -1 : 0;
}

static void
unlink_conn(struct ts_device *d, struct ts_conn *c)
{
	struct ts_conn **pp;

	for (pp = &d->conns; *pp != NULL; pp = &(*pp)->dnext) {
		if (*pp == c) {
			*pp = c->dnext;
			c->dnext = NULL;
			d->current--;
			return;
		}
	}
}

int
ts_login(struct ts_conn *c, const uint8_t client_static[32],
    const uint8_t *payload, size_t len)
{
	struct ts_server *s = c->srv;
	struct wa_login l;
	struct ts_device *d;
	struct ts_policy pol;
	struct ts_conn *old, *next;
	struct wa_arena a;
	struct wa_node *n;
	char name[40];
	int rc;

	if ((rc = wa_payload_parse(payload, len, &l)) < 0) {
		s->st.malformed++;
		ts_say(s, "conn=%u ClientPayload does not parse: %s", c->id,
		    wa_strerror(rc));
		return -1;
	}
	if (l.registration) {
		pol = ts_policy_of(s, NULL);
		if (pol.fail_login)
			return refuse_login(c, NULL, pol.fail_login,
			    "failing logins");
		return ts_pair_begin(c, client_static, l.identity_pub);
	}
	d = ts_registry_find(&s->reg, l.username, l.device);
	if (d == NULL) {
		char why[80];
		snprintf(why, sizeof(why), "unknown device %llu:%u",
		    (unsigned long long)l.username, l.device);
		return refuse_login(c, NULL, 401, why);
	}
	if (memcmp(d->noise_pub, client_static, 32) != 0)
		return refuse_login(c, d, 401,
		    "noise static key is not the registered one");
	c->dev = d;
	pol = ts_policy_of(s, d);
	if (pol.refuse) {
		s->st.refused++;
		ts_say(s, "conn=%u dev=%s refused at login", c->id,
		    ts_dev_name(d, name, sizeof(name)));
		ts_conn_kill(c, TS_K_CLOSE);
		c->dev = NULL;
		c->state = TS_C_FAILED;
		return 0;
	}
	if (pol.fail_login) {
		c->dev = NULL;
		return refuse_login(c, d, pol.fail_login, "failing logins");
	}

	/* the newest login wins */
	if (d->current + 1 > d->max_simul)
		d->max_simul = d->current + 1;
	for (old = d->conns; old != NULL; old = next) {
		next = old->dnext;
		ts_say(s, "conn=%u dev=%s replaced by conn=%u", old->id,
		    ts_dev_name(d, name, sizeof(name)), c->id);
		ts_inject_one(old, "replaced");
		unlink_conn(d, old);
		d->replaced++;
		s->st.replaced++;
	}
	c->dnext = d->conns;
	d->conns = c;
	d->current++;
	d->logins++;
	s->st.logins++;
	s->nopen++;
	c->state = TS_C_OPEN;
	lws_set_timeout(c->wsi, NO_PENDING_TIMEOUT, 0);
	if (s->verbose)
		ts_say(s, "conn=%u dev=%s logged in", c->id,
		    ts_dev_name(d, name, sizeof(name)));

	wa_arena_init(&a, 0);
	rc = ts_send_node(c, wa_stanza_success(&a, (uint64_t)time(NULL),
	    d->lid), 0);
	/* no offline messages wait: say so, as the real server does after
	 * delivering them, so the client stops buffering its events */
	if (rc == 0 && (n = wa_node_new(&a, "ib")) != NULL &&
	    wa_node_set_attr(&a, n, "from", WA_SERVER_JID) == 0) {
		struct wa_node *off = wa_node_add_child(&a, n, "offline");
		if (off != NULL && wa_node_set_attr(&a, off, "count", "0") == 0)
			rc = ts_send_node(c, n, 0);
	}
	wa_arena_free(&a);
	return rc < 0 ? -1 : 0;
}

void
ts_logout(struct ts_conn *c)
{
	if (c->state == TS_C_OPEN && c->srv != NULL)
		c->srv->nopen--;
	if (c->dev != NULL)
		unlink_conn(c->dev, c);
	c->dev = NULL;
	ts_pair_free(c);
}
