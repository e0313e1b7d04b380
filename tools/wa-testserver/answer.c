/*
 * tools/wa-testserver/answer.c: replies to what logged-in clients send.
 *
 * Every iq of type get or set gets a result with its id, promptly, so no
 * client query waits for its time-out; the ones whose result a client
 * reads get the child it looks for:
 *   xmlns=w:p        <ping/>          keepalive: bare result (counted)
 *   xmlns=encrypt    <count/>         <count value=N/>  (N = --prekey-count,
 *                                     50: no upload needed)
 *                    <digest/>        <digest/>  (Baileys checks presence)
 *                    upload, rotate   bare result (uploads counted)
 *   xmlns=abt        <props/>         <props protocol=1 hash=…/>
 *   xmlns=privacy    <privacy/>       <privacy/>  (Baileys reads content[0])
 *   xmlns=blocklist                   <list/>
 *   anything else                     bare result
 * presence, ib, receipts and acks need no reply.  Stanzas we do not know
 * are logged (and counted), never fatal.
 */
#include <string.h>
#include "wa/stanza.h"
#include "wa-testserver/ts.h"

static int
is(const char *a, const char *b)
{
	return a != NULL && strcmp(a, b) == 0;
}

static const char *
first_child_tag(const struct wa_node *n)
{
	if (n->kind != WA_CONTENT_LIST || n->nchildren == 0)
		return NULL;
	return n->children[0].tag;
}

static void
answer_iq(struct ts_conn *c, const struct wa_node *n)
{
	struct ts_server *s = c->srv;
	const char *type = wa_node_attr(n, "type");
	const char *id = wa_node_attr(n, "id");
	const char *xmlns = wa_node_attr(n, "xmlns");
	const char *child = first_child_tag(n);
	struct wa_arena a;
	struct wa_node *r, *k;
	char count[16];

	if (is(type, "result") || is(type, "error"))
		return;        /* answers to iqs of ours: we send none */
	if (id == NULL || !(is(type, "get") || is(type, "set"))) {
		s->st.unknown++;
		ts_say(s, "conn=%u iq without id or with type %s: ignored",
		    c->id, type ? type : "(none)");
		return;
	}
	if (ts_policy_of(s, c->dev).silent)
		return;
	wa_arena_init(&a, 0);
	r = wa_node_new(&a, "iq");
	if (r == NULL || wa_node_set_attr(&a, r, "from", WA_SERVER_JID) < 0 ||
	    wa_node_set_attr(&a, r, "type", "result") < 0 ||
	    wa_node_set_attr(&a, r, "id", id) < 0)
		goto out;
	s->st.iqs++;
	if (is(xmlns, "w:p")) {
		s->st.pings++;
	} else if (is(xmlns, "encrypt")) {
		if (is(child, "count")) {
			snprintf(count, sizeof(count), "%u", s->prekey_count);
			if ((k = wa_node_add_child(&a, r, "count")) == NULL ||
			    wa_node_set_attr(&a, k, "value", count) < 0)
				goto out;
		} else if (is(child, "digest")) {
			if (wa_node_add_child(&a, r, "digest") == NULL)
				goto out;
		} else if (is(type, "set") && !is(child, "rotate")) {
			s->st.prekey_uploads++;
		}
	} else if (is(xmlns, "abt")) {
		if ((k = wa_node_add_child(&a, r, "props")) == NULL ||
		    wa_node_set_attr(&a, k, "protocol", "1") < 0 ||
		    wa_node_set_attr(&a, k, "hash", "wa-testserver") < 0)
			goto out;
	} else if (is(xmlns, "privacy") && is(type, "get")) {
		if (wa_node_add_child(&a, r, "privacy") == NULL)
			goto out;
	} else if (is(xmlns, "blocklist") && is(type, "get")) {
		if (wa_node_add_child(&a, r, "list") == NULL)
			goto out;
	} else if (s->verbose) {
		ts_say(s, "conn=%u generic result for iq xmlns=%s child=%s",
		    c->id, xmlns ? xmlns : "-", child ? child : "-");
	}
	(void)ts_send_node(c, r, 0);
out:
	wa_arena_free(&a);
}

void
ts_answer(struct ts_conn *c, const struct wa_node *n)
{
	struct ts_server *s = c->srv;

	if (is(n->tag, "iq")) {
		answer_iq(c, n);
	} else if (is(n->tag, "presence")) {
		s->st.presences++;
	} else if (is(n->tag, "ib") || is(n->tag, "receipt") ||
	    is(n->tag, "ack") || is(n->tag, "chatstate") ||
	    is(n->tag, "notification") || is(n->tag, "call")) {
		/* nothing to answer */
	} else if (is(n->tag, "xmlstreamend")) {
		ts_conn_kill(c, TS_K_CLOSE);
	} else {
		s->st.unknown++;
		ts_say(s, "conn=%u unhandled stanza <%s>: logged, not answered",
		    c->id, n->tag ? n->tag : "?");
	}
}
