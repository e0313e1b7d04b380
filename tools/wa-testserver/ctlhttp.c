/*
 * tools/wa-testserver/ctlhttp.c: the control interface's HTTP side, one
 * request per struct ts_ctl_req (lws' per-session data of the control
 * vhost): the path, the query, a POST body of at most CTL_BODY_MAX bytes;
 * control.c decides the answer.  An answer is written when the socket is
 * writable: headers first, then the body.  A pairing request
 * (ctlpair.c) may leave the answer for later: the request then waits,
 * bounded by the pairing's own deadline, until ts_ctl_late_answer.
 */
#include <stdlib.h>
#include <string.h>
#include <libwebsockets.h>
#include "wa-testserver/ts.h"

#define CTL_BODY_MAX 65536

static void
ctl_reset(struct ts_ctl_req *r)
{
	wa_buf_free(&r->body);
	free(r->resp);
	memset(r, 0, sizeof(*r));
}

/* Headers now; the body when lws says the socket is writable. */
static int
respond(struct lws *wsi, struct ts_ctl_req *r)
{
	uint8_t buf[LWS_PRE + 512], *start = &buf[LWS_PRE], *p = start;
	uint8_t *end = &buf[sizeof(buf) - 1];

	if (r->resp == NULL)
		return -1;
	if (lws_add_http_common_headers(wsi, r->status, "application/json",
	    r->resp_len, &p, end) ||
	    lws_finalize_write_http_header(wsi, start, &p, end))
		return -1;
	lws_callback_on_writable(wsi);
	return 0;
}

static int
ctl_cb(struct lws *wsi, enum lws_callback_reasons reason, void *user,
    void *in, size_t len)
{
	struct ts_server *s = lws_context_user(lws_get_context(wsi));
	struct ts_ctl_req *r = user;
	char cl[24];
	uint8_t *out;
	int n;

	if (r == NULL)
		return 0;     /* vhost- and protocol-level callbacks */
	switch (reason) {
	case LWS_CALLBACK_HTTP:
		ctl_reset(r);
		snprintf(r->path, sizeof(r->path), "%s", (const char *)in);
		if (lws_hdr_copy_fragment(wsi, r->args, sizeof(r->args),
		    WSI_TOKEN_HTTP_URI_ARGS, 0) < 0)
			r->args[0] = '\0';
		r->post = lws_hdr_total_length(wsi, WSI_TOKEN_POST_URI) > 0;
		if (r->post && lws_hdr_copy(wsi, cl, sizeof(cl),
		    WSI_TOKEN_HTTP_CONTENT_LENGTH) > 0 && atol(cl) > 0)
			return 0;     /* the body follows */
		ts_ctl_handle(s, wsi, r);
		return r->waiting ? 0 : respond(wsi, r);
	case LWS_CALLBACK_HTTP_BODY:
		if (r->body.len + len > CTL_BODY_MAX ||
		    wa_buf_put(&r->body, in, len) < 0)
			return -1;
		return 0;
	case LWS_CALLBACK_HTTP_BODY_COMPLETION:
		ts_ctl_handle(s, wsi, r);
		return r->waiting ? 0 : respond(wsi, r);
	case LWS_CALLBACK_HTTP_WRITEABLE:
		if (r->late) {         /* headers first, the body next time */
			r->late = 0;
			return respond(wsi, r);
		}
		if (r->resp == NULL || r->waiting)
			return 0;
		if ((out = malloc(LWS_PRE + r->resp_len)) == NULL)
			return -1;
		memcpy(out + LWS_PRE, r->resp, r->resp_len);
		n = lws_write(wsi, out + LWS_PRE, r->resp_len,
		    LWS_WRITE_HTTP_FINAL);
		free(out);
		ctl_reset(r);
		if (n < 0)
			return -1;
		return lws_http_transaction_completed(wsi) ? -1 : 0;
	case LWS_CALLBACK_CLOSED_HTTP:
		if (r->waiting)
			ts_ctl_gone(s, wsi);
		ctl_reset(r);
		return 0;
	default:
		return 0;
	}
}

/* A pairing ended: its answer goes out when the socket is writable (not
 * from the chat connection's callback that ended it). */
void
ts_ctl_late_answer(struct lws *wsi, unsigned status, char *json)
{
	struct ts_ctl_req *r = lws_wsi_user(wsi);
	size_t n = json != NULL ? strlen(json) : 0;

	if (r == NULL || !r->waiting || json == NULL) {
		free(json);
		return;
	}
	free(r->resp);
	if ((r->resp = realloc(json, n + 1)) == NULL) {
		free(json);
		return;
	}
	r->resp[n] = '\n';
	r->resp_len = n + 1;
	r->status = status;
	r->waiting = 0;
	r->late = 1;
	lws_callback_on_writable(wsi);
}

static const struct lws_protocols ctl_protocols[] = {
	{ .name = "http", .callback = ctl_cb,
	  .per_session_data_size = sizeof(struct ts_ctl_req) },
	{ .name = NULL }
};

const struct lws_protocols *ts_control_protocols = ctl_protocols;
