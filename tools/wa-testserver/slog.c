/*
 * tools/wa-testserver/slog.c: the stanza log (--log FILE), one JSON object
 * per line, flushed per line so a test can tail it while the server runs:
 *
 *   {"t":1716800000.123,"conn":7,"dev":"15550100001:1","dir":"in",
 *    "node":{"tag":"iq","attrs":{"id":"…","xmlns":"w:p","type":"get"},
 *            "content":[{"tag":"ping","attrs":{}}]}}
 *
 * "dev" is null before login; "dir" is "in" for what a client sent and
 * "out" for what the server sent.  A node's "content" is absent when it has
 * none, a list of nodes for children, a string of hex digits for bytes, and
 * {"text":"…"} for string content.
 *
 * Pairing steps (pairing.c, phone.c) are lines of their own, "dir":"pair":
 *
 *   {"t":…,"conn":7,"dev":null,"dir":"pair","step":"pair-success",
 *    "info":{"device":"15550009999:1","fault":"none"}}
 */
#include <string.h>
#include <sys/time.h>
#include "wa-testserver/ts.h"

int
ts_json_str(struct wa_buf *b, const char *s, size_t n)
{
	static const char hexd[] = "0123456789abcdef";
	char esc[8];
	size_t i;
	int rc = wa_buf_put(b, "\"", 1);

	for (i = 0; rc == 0 && i < n; i++) {
		unsigned char ch = (unsigned char)s[i];
		if (ch == '"' || ch == '\\') {
			esc[0] = '\\';
			esc[1] = (char)ch;
			rc = wa_buf_put(b, esc, 2);
		} else if (ch < 0x20 || ch == 0x7f) {
			memcpy(esc, "\\u00", 4);
			esc[4] = hexd[ch >> 4];
			esc[5] = hexd[ch & 15];
			rc = wa_buf_put(b, esc, 6);
		} else {
			/* bytes >= 0x80 pass through: valid UTF-8 stays
			 * valid; binary never reaches here (it is hex) */
			rc = wa_buf_put(b, &s[i], 1);
		}
	}
	return rc ? rc : wa_buf_put(b, "\"", 1);
}

static int
put(struct wa_buf *b, const char *s)
{
	return wa_buf_put(b, s, strlen(s));
}

int
ts_json_node(struct wa_buf *b, const struct wa_node *n, int depth)
{
	static const char hexd[] = "0123456789abcdef";
	size_t i;
	int rc;

	if (depth > WA_NODE_MAX_DEPTH)
		return WA_EDEPTH;
	if ((rc = put(b, "{\"tag\":")) < 0 ||
	    (rc = ts_json_str(b, n->tag ? n->tag : "", n->tag ?
	    strlen(n->tag) : 0)) < 0 || (rc = put(b, ",\"attrs\":{")) < 0)
		return rc;
	for (i = 0; i < n->nattrs; i++) {
		const char *k = n->attrs[i].key ? n->attrs[i].key : "";
		const char *v = n->attrs[i].val ? n->attrs[i].val : "";
		if ((i && (rc = put(b, ",")) < 0) ||
		    (rc = ts_json_str(b, k, strlen(k))) < 0 ||
		    (rc = put(b, ":")) < 0 ||
		    (rc = ts_json_str(b, v, strlen(v))) < 0)
			return rc;
	}
	if ((rc = put(b, "}")) < 0)
		return rc;
	switch (n->kind) {
	case WA_CONTENT_LIST:
		if ((rc = put(b, ",\"content\":[")) < 0)
			return rc;
		for (i = 0; i < n->nchildren; i++)
			if ((i && (rc = put(b, ",")) < 0) ||
			    (rc = ts_json_node(b, &n->children[i],
			    depth + 1)) < 0)
				return rc;
		rc = put(b, "]");
		break;
	case WA_CONTENT_BYTES:
		if ((rc = put(b, ",\"content\":\"")) < 0 ||
		    (rc = wa_buf_reserve(b, 2 * n->len)) < 0)
			return rc;
		for (i = 0; i < n->len; i++) {
			b->data[b->len++] = (uint8_t)hexd[n->data[i] >> 4];
			b->data[b->len++] = (uint8_t)hexd[n->data[i] & 15];
		}
		rc = put(b, "\"");
		break;
	case WA_CONTENT_STRING:
		if ((rc = put(b, ",\"content\":{\"text\":")) < 0 ||
		    (rc = ts_json_str(b, (const char *)n->data, n->len)) < 0)
			return rc;
		rc = put(b, "}");
		break;
	default:
		break;
	}
	if (rc < 0)
		return rc;
	return put(b, "}");
}

void
ts_log_node(struct ts_server *s, struct ts_conn *c, const char *dir,
    const struct wa_node *n)
{
	struct wa_buf *b = &s->logbuf;
	struct timeval tv;
	char head[160], name[40];

	if (s->log == NULL || n == NULL)
		return;
	gettimeofday(&tv, NULL);
	b->len = 0;
	if (c->dev != NULL)
		snprintf(name, sizeof(name), "\"%llu:%u\"",
		    (unsigned long long)c->dev->phone, c->dev->dev);
	else
		snprintf(name, sizeof(name), "null");
	snprintf(head, sizeof(head),
	    "{\"t\":%lld.%03d,\"conn\":%u,\"dev\":%s,\"dir\":\"%s\",\"node\":",
	    (long long)tv.tv_sec, (int)(tv.tv_usec / 1000), c->id, name, dir);
	if (put(b, head) < 0 || ts_json_node(b, n, 0) < 0 ||
	    put(b, "}\n") < 0)
		return;
	fwrite(b->data, 1, b->len, s->log);
	fflush(s->log);
	if (b->cap > 65536)
		wa_buf_free(b);
}

void
ts_log_pair(struct ts_server *s, struct ts_conn *c, const char *step,
    const char *info)
{
	struct wa_buf *b = &s->logbuf;
	struct timeval tv;
	char head[160], name[40];

	if (s->log == NULL)
		return;
	gettimeofday(&tv, NULL);
	b->len = 0;
	if (c->dev != NULL)
		snprintf(name, sizeof(name), "\"%llu:%u\"",
		    (unsigned long long)c->dev->phone, c->dev->dev);
	else
		snprintf(name, sizeof(name), "null");
	snprintf(head, sizeof(head),
	    "{\"t\":%lld.%03d,\"conn\":%u,\"dev\":%s,\"dir\":\"pair\","
	    "\"step\":", (long long)tv.tv_sec, (int)(tv.tv_usec / 1000), c->id,
	    name);
	if (put(b, head) < 0 || ts_json_str(b, step, strlen(step)) < 0 ||
	    put(b, ",\"info\":") < 0 || put(b, info ? info : "{}") < 0 ||
	    put(b, "}\n") < 0)
		return;
	fwrite(b->data, 1, b->len, s->log);
	fflush(s->log);
}
