/*
 * tools/wa-testserver/ctlpair.c: the control requests that play the phone
 * (control.c routes them here; README.md documents them).
 *
 *   POST /pair-qr    {"qr":TEXT, "phone":"15550009999", "fault":F,
 *                     "timeout_ms":N}
 *        TEXT: what the client shows (with or without the wa.me prefix).
 *        Finds the pending pairing that was sent the ref and proved the
 *        noise key; sends pair-success for PHONE:NEXT.
 *   POST /pair-code  {"code":"ABCD-EFGH", "conn":N, "fault":F,
 *                     "timeout_ms":N}
 *        The pending pairing that sent companion_hello (conn N, else the
 *        newest); the phone number is the one the client asked for.
 *   F: "none" (default) | "hmac" | "account-sig".
 *
 * The answer waits until the attempt ends (at most timeout_ms, default
 * 20000, max 120000):
 *   200 {"ok":B,"conn":N,"method":"qr"|"code","outcome":O,"registered":B,
 *        "device":"PHONE:DEV"|null,"jid":…,"lid":…,"fault":F,
 *        "device_signature":"valid"|"invalid"|"none","detail":"…"}
 *   ok = registered.  O: registered | client_closed | client_error |
 *   bad_reply | bad_device_signature | accepted_fault | wrong_code |
 *   bad_finish | timeout | server_error.
 * Errors at once: 400 malformed request, 404 no pending pairing matches,
 * 409 an attempt is already running on that connection, 500 otherwise.
 */
#include <stdlib.h>
#include <string.h>
#include <ctype.h>
#include <json-c/json.h>
#include <libwebsockets.h>
#include "wa-testserver/ts.h"

#define DEFAULT_PHONE   "15550009999"
#define DEFAULT_WAIT_MS 20000
#define MAX_WAIT_MS     120000

static char *
text_of(json_object *o)
{
	const char *t = json_object_to_json_string_ext(o,
	    JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
	char *r = strdup(t);

	json_object_put(o);
	return r;
}

static void
fail(struct ts_ctl_answer *ans, unsigned status, const char *msg)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, "ok", json_object_new_boolean(0));
	json_object_object_add(o, "error", json_object_new_string(msg));
	ans->status = status;
	ans->json = text_of(o);
}

static const char *
str_field(json_object *req, const char *k)
{
	json_object *v;

	if (!json_object_object_get_ex(req, k, &v) ||
	    !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

/* The fields every pairing request shares; -1 after fail(). */
static int
common(json_object *req, enum wa_pair_fault *fault, int *wait_ms,
    struct ts_ctl_answer *ans)
{
	const char *f = str_field(req, "fault");
	json_object *v;

	*fault = WA_PAIR_FAULT_NONE;
	*wait_ms = DEFAULT_WAIT_MS;
	if (json_object_object_get_ex(req, "fault", &v) && f == NULL) {
		fail(ans, 400, "fault: a string");
		return -1;
	}
	if (f != NULL && strcmp(f, "hmac") == 0)
		*fault = WA_PAIR_FAULT_HMAC;
	else if (f != NULL && strcmp(f, "account-sig") == 0)
		*fault = WA_PAIR_FAULT_ACCOUNT_SIG;
	else if (f != NULL && strcmp(f, "none") != 0) {
		fail(ans, 400, "fault: none, hmac or account-sig");
		return -1;
	}
	if (json_object_object_get_ex(req, "timeout_ms", &v)) {
		if (!json_object_is_type(v, json_type_int) ||
		    json_object_get_int64(v) < 100 ||
		    json_object_get_int64(v) > MAX_WAIT_MS) {
			fail(ans, 400, "timeout_ms: 100..120000");
			return -1;
		}
		*wait_ms = (int)json_object_get_int64(v);
	}
	return 0;
}

/* One attempt at a time per connection, and none after it is paired. */
static int
busy(struct ts_conn *c, struct ts_ctl_answer *ans)
{
	struct ts_pairing *p = c->pair;
	char msg[96];

	if (p->ctl == NULL && p->phase != TS_P_CODE_SENT &&
	    p->phase != TS_P_SUCCESS_SENT && p->phase != TS_P_DONE)
		return 0;
	snprintf(msg, sizeof(msg), "conn %u: %s", c->id,
	    p->phase == TS_P_DONE ? "already paired" :
	    "a pairing attempt is running");
	fail(ans, 409, msg);
	return 1;
}

static void
wait_for_end(struct ts_conn *c, struct lws *wsi, int wait_ms,
    struct ts_ctl_answer *ans)
{
	struct ts_pairing *p = c->pair;

	p->ctl = wsi;
	ev_timer_set(&p->deadline, wait_ms / 1000.0, 0.);
	ev_timer_start(c->srv->loop, &p->deadline);
	ans->status = 0;
}

void
ts_ctl_pair_qr(struct ts_server *s, struct lws *wsi, json_object *req,
    struct ts_ctl_answer *ans)
{
	const char *text = str_field(req, "qr"), *ph = str_field(req, "phone");
	struct wa_pair_qr qr;
	enum wa_pair_fault fault;
	struct ts_conn *c;
	json_object *v;
	char why[160], num[24];
	int wait_ms;

	if (common(req, &fault, &wait_ms, ans) < 0)
		return;
	if (text == NULL) {
		fail(ans, 400, "\"qr\" (the QR text, a string) is required");
		return;
	}
	if (ph == NULL && json_object_object_get_ex(req, "phone", &v) &&
	    json_object_is_type(v, json_type_int)) {
		snprintf(num, sizeof(num), "%lld",
		    (long long)json_object_get_int64(v));
		ph = num;
	}
	if (ph == NULL)
		ph = DEFAULT_PHONE;
	if (wa_pair_phone_check(ph, why, sizeof(why)) < 0) {
		fail(ans, 400, why);
		return;
	}
	if (wa_pair_qr_parse(text, &qr) < 0) {
		fail(ans, 400, "qr: not a pairing QR text (REF,NOISE,IDENTITY,"
		    "ADV,PLATFORM)");
		return;
	}
	if ((c = ts_pair_find_qr(s, &qr, why, sizeof(why))) == NULL) {
		fail(ans, 404, why);
		return;
	}
	if (busy(c, ans))
		return;
	ts_say(s, "control: pair-qr conn=%u phone=%s", c->id, ph);
	if (ts_phone_qr(c, &qr, strtoull(ph, NULL, 10), fault, why,
	    sizeof(why)) < 0) {
		fail(ans, 500, why);
		return;
	}
	wait_for_end(c, wsi, wait_ms, ans);
}

void
ts_ctl_pair_code(struct ts_server *s, struct lws *wsi, json_object *req,
    struct ts_ctl_answer *ans)
{
	const char *in = str_field(req, "code");
	enum wa_pair_fault fault;
	struct ts_conn *c;
	json_object *v;
	char code[WA_PAIR_CODE_LEN + 1], why[160];
	uint32_t conn = 0;
	size_t i, n = 0;
	int wait_ms;

	if (common(req, &fault, &wait_ms, ans) < 0)
		return;
	/* XXXX-XXXX as shown, or the 8 characters; any case */
	for (i = 0; in != NULL && in[i] != '\0' && n <= WA_PAIR_CODE_LEN; i++)
		if (!(i == 4 && in[i] == '-'))
			code[n++] = (char)toupper((unsigned char)in[i]);
	if (in == NULL || n != WA_PAIR_CODE_LEN || in[i] != '\0' ||
	    (code[n] = '\0', wa_pair_code_check(code) < 0)) {
		fail(ans, 400, "code: 8 characters of " WA_PAIR_CODE_ALPHABET
		    ", as XXXX-XXXX or without the dash");
		return;
	}
	if (json_object_object_get_ex(req, "conn", &v)) {
		if (!json_object_is_type(v, json_type_int) ||
		    json_object_get_int64(v) <= 0) {
			fail(ans, 400, "conn: a connection number");
			return;
		}
		conn = (uint32_t)json_object_get_int64(v);
	}
	if ((c = ts_pair_find_hello(s, conn)) == NULL) {
		fail(ans, 404, "no pending pairing has sent companion_hello");
		return;
	}
	if (busy(c, ans))
		return;
	ts_say(s, "control: pair-code conn=%u", c->id);
	if (ts_phone_code(c, code, fault, why, sizeof(why)) < 0) {
		fail(ans, 500, why);
		return;
	}
	wait_for_end(c, wsi, wait_ms, ans);
}

static void
add_str(json_object *o, const char *k, const char *v)
{
	json_object_object_add(o, k, v ? json_object_new_string(v) : NULL);
}

char *
ts_ctl_pair_result(const struct ts_conn *c)
{
	const struct ts_pairing *p = c->pair;
	json_object *o = json_object_new_object();
	int reg = strcmp(p->outcome, "registered") == 0;
	char dev[40], jid[WA_JID_MAX];

	snprintf(dev, sizeof(dev), "%llu:%u", (unsigned long long)p->phone,
	    p->dev);
	snprintf(jid, sizeof(jid), "%s@s.whatsapp.net", dev);
	json_object_object_add(o, "ok", json_object_new_boolean(reg));
	json_object_object_add(o, "conn", json_object_new_int64(c->id));
	add_str(o, "method", p->by_code ? "code" : "qr");
	add_str(o, "outcome", p->outcome);
	json_object_object_add(o, "registered", json_object_new_boolean(reg));
	add_str(o, "device", p->dev ? dev : NULL);
	add_str(o, "jid", p->dev ? jid : NULL);
	add_str(o, "lid", p->dev ? p->lid : NULL);
	add_str(o, "fault", p->fault == WA_PAIR_FAULT_HMAC ? "hmac" :
	    p->fault == WA_PAIR_FAULT_ACCOUNT_SIG ? "account-sig" : "none");
	add_str(o, "device_signature", p->sig_valid ? "valid" :
	    strcmp(p->outcome, "bad_device_signature") == 0 ? "invalid" :
	    "none");
	add_str(o, "detail", p->detail);
	return text_of(o);
}

static const char *
phase_name(int ph)
{
	static const char *const n[] = { "refs_sent", "showing", "code_sent",
	    "success_sent", "paired", "failed" };

	return ph >= 0 && ph <= TS_P_FAILED ? n[ph] : "?";
}

json_object *
ts_ctl_pairings(struct ts_server *s)
{
	json_object *a = json_object_new_array(), *o;
	struct ts_conn *c;
	char num[24];

	for (c = s->conns; c != NULL; c = c->next) {
		const struct ts_pairing *p = c->pair;
		if (c->state != TS_C_PAIRING || p == NULL)
			continue;
		o = json_object_new_object();
		json_object_object_add(o, "conn", json_object_new_int64(c->id));
		add_str(o, "phase", phase_name(p->phase));
		json_object_object_add(o, "refs",
		    json_object_new_int64((int64_t)p->pd.nrefs));
		json_object_object_add(o, "acked",
		    json_object_new_boolean(p->acked));
		json_object_object_add(o, "companion_hello",
		    json_object_new_boolean(p->hello_seen));
		snprintf(num, sizeof(num), "%llu", (unsigned long long)p->phone);
		add_str(o, "phone", p->hello_seen && p->phone ? num : NULL);
		json_object_object_add(o, "attempts",
		    json_object_new_int64(p->attempts));
		json_object_object_add(o, "waiting",
		    json_object_new_boolean(p->ctl != NULL));
		add_str(o, "outcome", p->outcome);
		json_object_array_add(a, o);
	}
	return a;
}

void
ts_ctl_gone(struct ts_server *s, struct lws *wsi)
{
	struct ts_conn *c;

	for (c = s->conns; c != NULL; c = c->next)
		if (c->pair != NULL && c->pair->ctl == wsi) {
			/* the attempt goes on, without a deadline */
			c->pair->ctl = NULL;
			ev_timer_stop(s->loop, &c->pair->deadline);
		}
}
