/*
 * tools/wa-testserver/inject.c: faults the control interface injects into
 * live connections, in the form the real server sends them.
 *   515             <stream:error code="515"/>           restart required
 *   503             <stream:error code="503"/>           unavailable
 *   replaced        <stream:error><conflict type="replaced"/></stream:error>
 *   device_removed  <stream:error code="401"><conflict type="device_removed"/>
 *                   </stream:error>  (Baileys maps code, so it says 401;
 *                   without the code it would say 440, like replaced)
 *   xmlstreamend    <xmlstreamend/>
 *   close           FIN, no WebSocket close frame
 *   reset           RST
 * Every stanza is followed by closing the connection, as WhatsApp does.
 */
#include <string.h>
#include "wa/stanza.h"
#include "wa-testserver/ts.h"

static const char *const kinds[] = {
	"515", "503", "replaced", "device_removed", "401", "xmlstreamend",
	"close", "reset", NULL
};

static int
known(const char *kind)
{
	int i;

	for (i = 0; kinds[i] != NULL; i++)
		if (strcmp(kinds[i], kind) == 0)
			return 1;
	return 0;
}

int
ts_inject_one(struct ts_conn *c, const char *kind)
{
	return ts_inject_stanza(c, kind, 1);
}

int
ts_inject_stanza(struct ts_conn *c, const char *kind, int close_after)
{
	struct wa_arena a;
	struct wa_node *n = NULL;
	int rc;

	if (strcmp(kind, "close") == 0) {
		ts_conn_kill(c, TS_K_CLOSE);
		return 0;
	}
	if (strcmp(kind, "reset") == 0) {
		ts_conn_kill(c, TS_K_RESET);
		return 0;
	}
	wa_arena_init(&a, 0);
	if (strcmp(kind, "515") == 0 || strcmp(kind, "503") == 0) {
		n = wa_stanza_stream_error(&a, strcmp(kind, "515") == 0 ? 515 :
		    503);
	} else if (strcmp(kind, "replaced") == 0) {
		n = wa_stanza_conflict(&a, "replaced");
	} else if (strcmp(kind, "device_removed") == 0 ||
	    strcmp(kind, "401") == 0) {
		n = wa_stanza_conflict(&a, "device_removed");
		if (n != NULL && wa_node_attr(n, "code") == NULL &&
		    wa_node_set_attr(&a, n, "code", "401") < 0)
			n = NULL;
	} else if (strcmp(kind, "xmlstreamend") == 0) {
		n = wa_stanza_stream_end(&a);
	} else {
		wa_arena_free(&a);
		return -1;
	}
	rc = ts_send_node(c, n, close_after);
	wa_arena_free(&a);
	return rc < 0 ? rc : 0;
}

int
ts_inject(struct ts_server *s, struct ts_device *only, uint64_t phone,
    const char *kind)
{
	struct ts_conn *c;
	int n = 0, any = only == NULL && phone == 0;

	if (!known(kind))
		return -1;
	for (c = s->conns; c != NULL; c = c->next) {
		if (c->state == TS_C_DEAD || c->closing)
			continue;
		/* stanzas need a logged-in connection (a transport);
		 * dropping the TCP connection works at any stage */
		if (c->state != TS_C_OPEN && strcmp(kind, "close") != 0 &&
		    strcmp(kind, "reset") != 0)
			continue;
		if (!any && (c->dev == NULL || (only != NULL && c->dev != only) ||
		    (phone != 0 && c->dev->phone != phone)))
			continue;
		if (ts_inject_one(c, kind) == 0)
			n++;
	}
	s->st.injected += (uint64_t)n;
	return n;
}
