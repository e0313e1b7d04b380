/*
 * tools/wa-testserver/control.c: the control interface, HTTP + JSON on
 * its own loopback port (--control-port; a second lws vhost).
 *
 * Requests (every answer is JSON; errors are {"ok":false,"error":"…"}
 * with status 400 or 404):
 *
 *   GET  /status                 counters, and every device that has had
 *                                a connection, a failure or a policy:
 *     {"ok":true,"connections":N,"logged_in":N,"accepted":N,"refused":N,
 *      "handshakes":N,"logins":N,"login_failures":N,"pings_answered":N,
 *      "iqs_answered":N,"presences":N,"unknown_stanzas":N,
 *      "prekey_uploads":N,"replaced_kicks":N,"injected":N,"malformed":N,
 *      "policy":{…all…},
 *      "devices":[{"device":"PHONE:DEV","logins":N,"current":N,
 *                  "max_simultaneous":N,"replaced":N,"failures":N,
 *                  "policy":{"silent":b,"refuse":b,"fail_login":N,
 *                            "delay_ms":N}}, …]}
 *   GET  /status?brief=1         the same without "devices"
 *   GET  /status?device=P:D      the same with only that device
 *
 *   POST /inject   {"kind":K, "device":T}
 *        K: "515" | "503" | "replaced" | "device_removed" (also "401") |
 *           "xmlstreamend" | "close" (FIN) | "reset" (RST)
 *        T: "all" (default) | "PHONE" (every device of it) | "PHONE:DEV"
 *        -> {"ok":true,"affected":N}   (N live connections reached)
 *
 *   POST /policy   {"device":T, "silent":b, "refuse":b, "fail_login":N,
 *                   "delay_ms":N}
 *        Sets only the fields given, for T (default "all").  silent: send
 *        and answer nothing, keep TCP open.  refuse: for "all", new TCP
 *        connections are closed at accept; for a device, its logins are
 *        dropped (TCP closed, no answer).  fail_login: answer logins with
 *        <failure reason=N/> (0 = off).  delay_ms: hold every stanza the
 *        server sends for that long.  -> {"ok":true,"devices":N}
 *
 *   POST /clear        every policy back to off     -> {"ok":true}
 *   POST /reset-stats  every counter back to zero   -> {"ok":true}
 *
 *   POST /pair-qr, POST /pair-code   play the phone for a pending pairing;
 *        the answer waits for the attempt to end (ctlpair.c says how).
 *   GET  /pairings     {"ok":true,"pairings":[…]}, as in /status
 *   /status also has "registrations", "pair_successes", "paired",
 *   "pair_failures" and (unless brief) "pairings": [{"conn":N,
 *   "phase":…,"refs":N,"acked":b,"companion_hello":b,"phone":…|null,
 *   "attempts":N,"waiting":b,"outcome":…}] for each pending pairing.
 *
 * Example: curl -s -d '{"kind":"515","device":"15550100001:1"}' \
 *              http://127.0.0.1:CONTROL_PORT/inject
 *
 * This file decides what a request means; ctlhttp.c reads requests off
 * the socket and writes the answers.
 */
#include <stdlib.h>
#include <string.h>
#include <json-c/json.h>
#include <libwebsockets.h>
#include "wa-testserver/ts.h"

static void
reply(struct ts_ctl_req *r, unsigned status, json_object *o)
{
	const char *t = json_object_to_json_string_ext(o,
	    JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
	size_t n = strlen(t);

	free(r->resp);
	if ((r->resp = malloc(n + 1)) != NULL) {
		memcpy(r->resp, t, n);
		r->resp[n] = '\n';
		r->resp_len = n + 1;
	}
	r->status = status;
	json_object_put(o);
}

static void
reply_error(struct ts_ctl_req *r, unsigned status, const char *msg)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, "ok", json_object_new_boolean(0));
	json_object_object_add(o, "error", json_object_new_string(msg));
	reply(r, status, o);
}

static json_object *
ok_obj(void)
{
	json_object *o = json_object_new_object();
	json_object_object_add(o, "ok", json_object_new_boolean(1));
	return o;
}

static json_object *
policy_obj(const struct ts_policy *p)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, "silent", json_object_new_boolean(p->silent));
	json_object_object_add(o, "refuse", json_object_new_boolean(p->refuse));
	json_object_object_add(o, "fail_login",
	    json_object_new_int(p->fail_login));
	json_object_object_add(o, "delay_ms",
	    json_object_new_int64(p->delay_ms));
	return o;
}

static int
policy_set(const struct ts_policy *p)
{
	return p->silent || p->refuse || p->fail_login || p->delay_ms;
}

static void
add_u64(json_object *o, const char *k, uint64_t v)
{
	json_object_object_add(o, k, json_object_new_int64((int64_t)v));
}

static json_object *
device_obj(const struct ts_device *d)
{
	json_object *o = json_object_new_object();
	char name[40];

	json_object_object_add(o, "device",
	    json_object_new_string(ts_dev_name(d, name, sizeof(name))));
	add_u64(o, "logins", d->logins);
	add_u64(o, "current", d->current);
	add_u64(o, "max_simultaneous", d->max_simul);
	add_u64(o, "replaced", d->replaced);
	add_u64(o, "failures", d->failures);
	json_object_object_add(o, "policy", policy_obj(&d->pol));
	return o;
}

/* "all" / absent -> *all = 1; "PHONE" -> *phone; "PHONE:DEV" -> *dev. */
static int
parse_target(struct ts_server *s, const char *t, int *all, uint64_t *phone,
    struct ts_device **dev)
{
	unsigned long long p;
	unsigned d;
	int used;

	*all = 0;
	*phone = 0;
	*dev = NULL;
	if (t == NULL || strcmp(t, "all") == 0) {
		*all = 1;
		return 0;
	}
	if (sscanf(t, "%llu:%u%n", &p, &d, &used) == 2 && t[used] == '\0') {
		if ((*dev = ts_registry_find(&s->reg, p, d)) == NULL)
			return -2;
		return 0;
	}
	if (sscanf(t, "%llu%n", &p, &used) == 1 && t[used] == '\0' && p) {
		*phone = p;
		return 0;
	}
	return -1;
}

static void
do_status(struct ts_server *s, struct ts_ctl_req *r)
{
	json_object *o = ok_obj(), *devs;
	struct ts_device *d, *only = NULL;
	int brief = strstr(r->args, "brief=1") != NULL, all;
	const char *dv = strstr(r->args, "device=");
	uint64_t phone;
	size_t i;

	if (dv != NULL && parse_target(s, dv + 7, &all, &phone, &only) < 0) {
		json_object_put(o);
		reply_error(r, 404, "no such device");
		return;
	}
	add_u64(o, "connections", s->nconns);
	add_u64(o, "logged_in", s->nopen);
	add_u64(o, "accepted", s->st.accepted);
	add_u64(o, "refused", s->st.refused);
	add_u64(o, "handshakes", s->st.handshakes);
	add_u64(o, "logins", s->st.logins);
	add_u64(o, "login_failures", s->st.login_failures);
	add_u64(o, "pings_answered", s->st.pings);
	add_u64(o, "iqs_answered", s->st.iqs);
	add_u64(o, "presences", s->st.presences);
	add_u64(o, "unknown_stanzas", s->st.unknown);
	add_u64(o, "prekey_uploads", s->st.prekey_uploads);
	add_u64(o, "replaced_kicks", s->st.replaced);
	add_u64(o, "injected", s->st.injected);
	add_u64(o, "malformed", s->st.malformed);
	add_u64(o, "registered_devices", s->reg.count);
	add_u64(o, "registrations", s->st.registrations);
	add_u64(o, "pair_successes", s->st.pair_successes);
	add_u64(o, "paired", s->st.paired);
	add_u64(o, "pair_failures", s->st.pair_failures);
	json_object_object_add(o, "policy", policy_obj(&s->pol));
	if (!brief) {
		json_object_object_add(o, "pairings", ts_ctl_pairings(s));
		devs = json_object_new_array();
		if (only != NULL) {
			json_object_array_add(devs, device_obj(only));
		} else {
			for (i = 0; i < s->reg.nbuckets; i++)
				for (d = s->reg.buckets[i]; d; d = d->hnext)
					if (d->logins || d->current ||
					    d->failures || policy_set(&d->pol))
						json_object_array_add(devs,
						    device_obj(d));
		}
		json_object_object_add(o, "devices", devs);
	}
	reply(r, 200, o);
}

static const char *
get_str(json_object *req, const char *k)
{
	json_object *v;

	if (!json_object_object_get_ex(req, k, &v) ||
	    !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

static void
do_inject(struct ts_server *s, struct ts_ctl_req *r, json_object *req)
{
	const char *kind = get_str(req, "kind");
	struct ts_device *d;
	uint64_t phone;
	json_object *o;
	int all, n, rc;

	if (kind == NULL) {
		reply_error(r, 400, "\"kind\" (a string) is required");
		return;
	}
	if ((rc = parse_target(s, get_str(req, "device"), &all, &phone,
	    &d)) < 0) {
		reply_error(r, rc == -2 ? 404 : 400, rc == -2 ?
		    "no such device" : "device: \"all\", \"PHONE\" or "
		    "\"PHONE:DEV\"");
		return;
	}
	if ((n = ts_inject(s, d, phone, kind)) < 0) {
		reply_error(r, 400, "kind: one of 515, 503, replaced, "
		    "device_removed, 401, xmlstreamend, close, reset");
		return;
	}
	ts_say(s, "control: inject %s into %s: %d connection(s)", kind,
	    get_str(req, "device") ? get_str(req, "device") : "all", n);
	o = ok_obj();
	json_object_object_add(o, "affected", json_object_new_int(n));
	reply(r, 200, o);
}

/* Applies the fields present in req to p; -1 on a wrong type. */
static int
apply_policy(struct ts_policy *p, json_object *req)
{
	json_object *v;

	if (json_object_object_get_ex(req, "silent", &v)) {
		if (!json_object_is_type(v, json_type_boolean))
			return -1;
		p->silent = json_object_get_boolean(v);
	}
	if (json_object_object_get_ex(req, "refuse", &v)) {
		if (!json_object_is_type(v, json_type_boolean))
			return -1;
		p->refuse = json_object_get_boolean(v);
	}
	if (json_object_object_get_ex(req, "fail_login", &v)) {
		if (!json_object_is_type(v, json_type_int) ||
		    json_object_get_int(v) < 0 || json_object_get_int(v) > 999)
			return -1;
		p->fail_login = json_object_get_int(v);
	}
	if (json_object_object_get_ex(req, "delay_ms", &v)) {
		if (!json_object_is_type(v, json_type_int) ||
		    json_object_get_int64(v) < 0 ||
		    json_object_get_int64(v) > 600000)
			return -1;
		p->delay_ms = (uint32_t)json_object_get_int64(v);
	}
	return 0;
}

static void
do_policy(struct ts_server *s, struct ts_ctl_req *r, json_object *req)
{
	struct ts_device *d, *only;
	struct ts_policy check = { 0 };
	uint64_t phone;
	json_object *o;
	size_t i;
	int all, rc, n = 0;

	if (apply_policy(&check, req) < 0) {
		reply_error(r, 400, "silent/refuse are booleans, fail_login "
		    "0..999, delay_ms 0..600000");
		return;
	}
	if ((rc = parse_target(s, get_str(req, "device"), &all, &phone,
	    &only)) < 0) {
		reply_error(r, rc == -2 ? 404 : 400, "no such device");
		return;
	}
	if (all) {
		apply_policy(&s->pol, req);
	} else if (only != NULL) {
		apply_policy(&only->pol, req);
		n = 1;
	} else {
		for (i = 0; i < s->reg.nbuckets; i++)
			for (d = s->reg.buckets[i]; d; d = d->hnext)
				if (d->phone == phone) {
					apply_policy(&d->pol, req);
					n++;
				}
		if (n == 0) {
			reply_error(r, 404, "no device with that phone");
			return;
		}
	}
	ts_say(s, "control: policy %s for %s", json_object_to_json_string(req),
	    get_str(req, "device") ? get_str(req, "device") : "all");
	o = ok_obj();
	json_object_object_add(o, "devices", json_object_new_int(n));
	reply(r, 200, o);
}

static void
do_clear(struct ts_server *s, struct ts_ctl_req *r, int stats)
{
	struct ts_device *d;
	size_t i;

	if (!stats)
		memset(&s->pol, 0, sizeof(s->pol));
	else
		memset(&s->st, 0, sizeof(s->st));
	for (i = 0; i < s->reg.nbuckets; i++)
		for (d = s->reg.buckets[i]; d; d = d->hnext) {
			if (!stats) {
				memset(&d->pol, 0, sizeof(d->pol));
			} else {
				d->logins = d->replaced = d->failures = 0;
				d->max_simul = d->current;
			}
		}
	ts_say(s, "control: %s", stats ? "reset-stats" : "clear");
	reply(r, 200, ok_obj());
}

/* /pair-qr and /pair-code: an answer now, or later (r->waiting). */
static void
do_pair(struct ts_server *s, struct lws *wsi, struct ts_ctl_req *r,
    json_object *req)
{
	struct ts_ctl_answer ans = { 0, NULL };

	if (strcmp(r->path, "/pair-qr") == 0)
		ts_ctl_pair_qr(s, wsi, req, &ans);
	else
		ts_ctl_pair_code(s, wsi, req, &ans);
	if (ans.status == 0) {
		r->waiting = 1;
		/* bounded by the pairing's own deadline; lws must not cut
		 * the request first */
		lws_set_timeout(wsi, PENDING_TIMEOUT_USER_OK, 130);
		return;
	}
	free(r->resp);
	r->resp = NULL;
	if (ans.json != NULL && (r->resp = realloc(ans.json,
	    strlen(ans.json) + 2)) != NULL) {
		r->resp_len = strlen(r->resp) + 1;
		r->resp[r->resp_len - 1] = '\n';
	} else {
		free(ans.json);
	}
	r->status = ans.status;
}

static void
do_pairings(struct ts_server *s, struct ts_ctl_req *r)
{
	json_object *o = ok_obj();

	json_object_object_add(o, "pairings", ts_ctl_pairings(s));
	reply(r, 200, o);
}

void
ts_ctl_handle(struct ts_server *s, struct lws *wsi, struct ts_ctl_req *r)
{
	json_object *req = NULL;
	enum json_tokener_error e = json_tokener_success;

	if (!r->post) {
		if (strcmp(r->path, "/status") == 0)
			do_status(s, r);
		else if (strcmp(r->path, "/pairings") == 0)
			do_pairings(s, r);
		else
			reply_error(r, 404, "GET /status /pairings, or POST "
			    "/inject /policy /clear /reset-stats /pair-qr "
			    "/pair-code");
		return;
	}
	if (r->body.len > 0) {
		req = json_tokener_parse_verbose(
		    wa_buf_put(&r->body, "", 1) == 0 ?
		    (const char *)r->body.data : "", &e);
		if (req == NULL || !json_object_is_type(req, json_type_object)) {
			json_object_put(req);
			reply_error(r, 400, "the body must be a JSON object");
			return;
		}
	} else {
		req = json_object_new_object();
	}
	if (strcmp(r->path, "/inject") == 0)
		do_inject(s, r, req);
	else if (strcmp(r->path, "/policy") == 0)
		do_policy(s, r, req);
	else if (strcmp(r->path, "/clear") == 0)
		do_clear(s, r, 0);
	else if (strcmp(r->path, "/reset-stats") == 0)
		do_clear(s, r, 1);
	else if (strcmp(r->path, "/pair-qr") == 0 ||
	    strcmp(r->path, "/pair-code") == 0)
		do_pair(s, wsi, r, req);
	else
		reply_error(r, 404, "POST /inject, /policy, /clear, "
		    "/reset-stats, /pair-qr or /pair-code");
	json_object_put(req);
}
