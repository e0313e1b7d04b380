/*
 * tools/wa-testserver/ts.h: the loopback WhatsApp server's private header,
 * prototypes grouped by file.  See README.md next to it for what the
 * server does and how tests drive it.
 *
 * One process, one libev loop, one lws context with two vhosts: the chat
 * WebSocket (/ws/chat) and the HTTP+JSON control interface.  Everything
 * hangs off struct ts_server; nothing is global except the pointer the
 * signal watcher needs.
 */
#ifndef TS_H
#define TS_H

#include <stdint.h>
#include <stdio.h>
#include <ev.h>
#include "wa/handshake.h"
#include "wa/frame.h"
#include "wa/node.h"
#include "wa/creds.h"
#include "wa/pair.h"

#define TS_FRAME_LIMIT   (1u << 20)  /* one client frame; a full pre-key
                                        upload is ~40 KiB */
#define TS_HS_TIMEOUT_S  20          /* handshake + login must finish */
#define TS_LID_MAX       48
#define TS_PAIR_LINGER_S 1.0         /* after the last stream error */
#define TS_PAIR_TIMEOUT_S 300        /* a pending pairing may wait this long
                                        (Baileys: 60 s + 5 x 20 s of QRs) */

struct lws;
struct lws_context;
struct lws_vhost;

/* What the control interface can set, for all devices or for one. */
struct ts_policy {
	int silent;       /* send nothing, answer nothing, keep TCP */
	int refuse;       /* all: refuse TCP; device: drop it at login */
	int fail_login;   /* 0, or the failure reason code to send */
	uint32_t delay_ms;/* every reply waits this long */
};

struct ts_conn;

/* A device the server knows (registry line) and what happened to it. */
struct ts_device {
	uint64_t phone;
	uint32_t dev;
	uint8_t noise_pub[32];
	uint8_t identity_pub[32];
	char lid[TS_LID_MAX];
	struct ts_policy pol;
	uint32_t logins, current, max_simul, replaced, failures;
	struct ts_conn *conns;       /* logged-in connections, newest first */
	struct ts_device *hnext;     /* hash chain */
};

struct ts_registry {
	char path[512];              /* DIR/devices.tsv */
	long loaded_off;             /* bytes of the file already read */
	struct ts_device **buckets;
	size_t nbuckets, count;
};

/* One queued outbound item: a plaintext stanza (sealed when written, so
 * counters stay in order whatever the delay) or raw handshake bytes. */
struct ts_out {
	struct ts_out *next;
	ev_tstamp due;
	uint8_t raw;                 /* already framed, not to be sealed */
	uint8_t close_after;         /* close the connection once written */
	size_t len;
	uint8_t data[];
};

enum ts_conn_state { TS_C_HELLO, TS_C_FINISH, TS_C_OPEN, TS_C_FAILED,
    TS_C_DEAD, TS_C_PAIRING };

/* Where a pending pairing is (pairing.c).  QR: REFS -> SHOWING ->
 * SUCCESS_SENT -> DONE.  Code: the same, with CODE_SENT between SHOWING and
 * SUCCESS_SENT. */
enum ts_pair_phase { TS_P_REFS, TS_P_SHOWING, TS_P_CODE_SENT,
    TS_P_SUCCESS_SENT, TS_P_DONE, TS_P_FAILED };

/* A registration connection: the companion waits for the phone (a control
 * command) to pair it.  Allocated at the registration login, freed with
 * the connection: only pairing connections pay for it (~5 KiB). */
struct ts_pairing {
	uint8_t noise_pub[32];       /* proved in the handshake */
	uint8_t identity_pub[32];    /* eIdent of the ClientPayload */
	struct wa_pair_device pd;    /* our pair-device: its id and refs */
	uint8_t phase;               /* enum ts_pair_phase */
	uint8_t acked;               /* the client acknowledged pair-device */
	uint8_t hello_seen;          /* companion_hello received */
	uint8_t fault;               /* enum wa_pair_fault of this attempt */
	uint8_t by_code;             /* this attempt is a pairing code */
	uint8_t sig_valid;           /* the last reply's device signature */
	uint8_t hangup;              /* last word sent: close when the
	                                deadline fires, if the client has not */
	unsigned attempts;
	uint64_t phone;              /* asked (companion_hello) or given */
	struct wa_pair_hello hello;  /* companion_hello, when hello_seen */
	struct wa_pair_primary code; /* the phone's side of the code exchange */
	char link_ref[WA_PAIR_REF_MAX + 1];
	uint8_t adv_secret[32];      /* from the QR, or derived (code) */
	uint32_t dev, key_index;     /* what pair-success hands out */
	char lid[TS_LID_MAX];
	char ps_id[24];              /* our pair-success iq */
	struct lws *ctl;             /* control request waiting for the end */
	ev_timer deadline;           /* armed while ctl waits */
	char outcome[32];            /* the last attempt's end, for /status */
	char detail[128];            /* and why */
};

enum ts_kill { TS_K_NONE, TS_K_CLOSE, TS_K_RESET };

/* Per connection: lws' per-session data.  Small on purpose: an idle
 * logged-in connection holds this, the two cipher states and nothing
 * else (the handshake state is freed at login, buffers when empty). */
struct ts_conn {
	struct lws *wsi;
	struct ts_server *srv;
	struct wa_hs *hs;            /* only while handshaking */
	struct wa_transport t;
	struct wa_frame_reader rd;
	struct ts_device *dev;       /* after login */
	struct ts_pairing *pair;     /* TS_C_PAIRING only */
	struct ts_conn *dnext;       /* in dev->conns */
	struct ts_conn *next, *prev; /* in srv->conns */
	struct ts_out *oq, *oq_tail;
	ev_timer delay;              /* armed only while an item waits */
	uint32_t id;
	uint8_t state;               /* enum ts_conn_state */
	uint8_t kill;                /* enum ts_kill, done when writable */
	uint8_t closing;             /* a close_after item was written */
};

struct ts_stats {
	uint64_t accepted, refused, handshakes, logins, login_failures;
	uint64_t pings, iqs, presences, unknown, replaced, prekey_uploads;
	uint64_t malformed, injected;
	uint64_t registrations;      /* registration logins (pending pairings) */
	uint64_t pair_successes;     /* pair-success stanzas sent */
	uint64_t paired;             /* devices registered by pairing */
	uint64_t pair_failures;      /* attempts that ended otherwise */
};

struct ts_server {
	struct ev_loop *loop;
	struct lws_context *ctx;
	struct lws_vhost *vh_ws, *vh_ctl;
	int port, ctl_port;
	struct wa_keypair root, noise;
	struct wa_keypair account;   /* the "phone": signs pair-success (the
	                                accountSignatureKey), identity key of
	                                the code exchange */
	unsigned pair_refs;          /* refs per pair-device (--pair-refs) */
	uint32_t next_iq;            /* ids of the iqs the server sends */
	struct wa_buf chain;
	struct ts_registry reg;
	struct ts_policy pol;        /* for all devices */
	struct ts_conn *conns;
	uint32_t nconns, nopen, next_id;
	struct ts_stats st;
	uint32_t prekey_count;       /* what <count value=…/> says */
	FILE *log;
	struct wa_buf scratch;       /* decrypted frame, reused */
	struct wa_buf logbuf;        /* one JSON line, reused */
	int verbose;
	ev_signal sigint, sigterm;
};

/* main.c */
void ts_say(struct ts_server *s, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* server.c */
int ts_server_start(struct ts_server *s, const char *iface);
void ts_server_stop(struct ts_server *s);
/* Queues a stanza (or raw bytes) for c honoring its policy; returns 0 or
 * a WA_E* code. */
int ts_send_node(struct ts_conn *c, const struct wa_node *n, int close_after);
void ts_conn_kill(struct ts_conn *c, enum ts_kill how);
struct ts_policy ts_policy_of(const struct ts_server *s,
    const struct ts_device *d);
const char *ts_dev_name(const struct ts_device *d, char *buf, size_t n);

/* login.c */
int ts_login(struct ts_conn *c, const uint8_t client_static[32],
    const uint8_t *payload, size_t len);
void ts_logout(struct ts_conn *c);

/* answer.c */
void ts_answer(struct ts_conn *c, const struct wa_node *n);

/* pairing.c: registration connections, the stanzas of a pending pairing */
int ts_pair_begin(struct ts_conn *c, const uint8_t noise_pub[32],
    const uint8_t identity_pub[32]);
void ts_pair_stanza(struct ts_conn *c, const struct wa_node *n);
/* The connection is going away: answers a waiting control request. */
void ts_pair_free(struct ts_conn *c);
/* The pending connection a QR belongs to (ref and noise key), or NULL
 * with the reason in why. */
struct ts_conn *ts_pair_find_qr(struct ts_server *s,
    const struct wa_pair_qr *qr, char *why, size_t whylen);
/* The pending connection with a companion_hello: conn_id when not 0, else
 * the newest such connection. */
struct ts_conn *ts_pair_find_hello(struct ts_server *s, uint32_t conn_id);
/* Ends the current attempt: records the outcome, logs it, answers the
 * control request that waits for it (ctlpair.c). */
void ts_pair_end(struct ts_conn *c, const char *outcome, const char *detail);
/* Sends a last stream error (inject kind) and closes TS_PAIR_LINGER_S
 * later unless the client closes first. */
void ts_pair_hangup(struct ts_conn *c, const char *kind);
int ts_pair_next_id(struct ts_server *s, char *buf, size_t n);

/* phone.c: the phone's half of pairing */
int ts_phone_qr(struct ts_conn *c, const struct wa_pair_qr *qr,
    uint64_t phone, enum wa_pair_fault fault, char *why, size_t whylen);
int ts_phone_code(struct ts_conn *c, const char *code,
    enum wa_pair_fault fault, char *why, size_t whylen);
void ts_phone_finish(struct ts_conn *c, const struct wa_node *iq);
void ts_phone_reply(struct ts_conn *c, const struct wa_node *iq);

/* ctlpair.c: the pairing control requests; an answer may wait */
struct ts_ctl_answer {
	unsigned status;             /* 0: the answer comes later */
	char *json;                  /* malloc'd, when status != 0 */
};
struct json_object;
void ts_ctl_pair_qr(struct ts_server *s, struct lws *wsi,
    struct json_object *req, struct ts_ctl_answer *ans);
void ts_ctl_pair_code(struct ts_server *s, struct lws *wsi,
    struct json_object *req, struct ts_ctl_answer *ans);
/* The answer to the request that started c's pairing attempt (malloc'd
 * JSON text). */
char *ts_ctl_pair_result(const struct ts_conn *c);
/* The "pairings" array of /status. */
struct json_object *ts_ctl_pairings(struct ts_server *s);
/* ctlhttp.c: sends a late answer on a control connection */
void ts_ctl_late_answer(struct lws *wsi, unsigned status, char *json);
/* A control connection closed: pairings stop waiting on it. */
void ts_ctl_gone(struct ts_server *s, struct lws *wsi);

/* inject.c */
/* kind: "515", "replaced", "device_removed", "503", "xmlstreamend",
 * "close", "reset".  Returns how many connections it reached, or -1 for
 * an unknown kind. */
int ts_inject(struct ts_server *s, struct ts_device *only, uint64_t phone,
    const char *kind);
int ts_inject_one(struct ts_conn *c, const char *kind);
/* The same, closing only when close_after (kinds that are stanzas). */
int ts_inject_stanza(struct ts_conn *c, const char *kind, int close_after);

/* One control request and its answer: ctlhttp.c reads and writes it,
 * control.c decides. */
struct ts_ctl_req {
	char path[64];
	char args[128];
	int post;
	struct wa_buf body;
	char *resp;                  /* the answer: JSON text and '\n' */
	size_t resp_len;
	unsigned status;
	uint8_t waiting;             /* a pairing answers later */
	uint8_t late;                /* that answer is here: headers not sent */
};

/* control.c */
void ts_ctl_handle(struct ts_server *s, struct lws *wsi,
    struct ts_ctl_req *r);

/* ctlhttp.c */
extern const struct lws_protocols *ts_control_protocols;

/* registry.c */
int ts_registry_open(struct ts_registry *r, const char *dir, char *why,
    size_t whylen);
void ts_registry_free(struct ts_registry *r);
/* Looks up, re-reading what other processes appended when not found. */
struct ts_device *ts_registry_find(struct ts_registry *r, uint64_t phone,
    uint32_t dev);
int ts_registry_reload(struct ts_registry *r);
/* Appends a device line and reads it in at once (pairing). */
int ts_registry_add(struct ts_registry *r, uint64_t phone, uint32_t dev,
    const uint8_t noise_pub[32], const uint8_t identity_pub[32],
    const char *lid, char *why, size_t whylen);
/* Appends a device line (O_APPEND: one write per line). */
int ts_registry_append(const char *dir, uint64_t phone, uint32_t dev,
    const uint8_t noise_pub[32], const uint8_t identity_pub[32],
    const char *lid, char *why, size_t whylen);
/* Next free device id of phone (1 when none), reading the file. */
uint32_t ts_registry_next_dev(const char *dir, uint64_t phone,
    uint64_t *auto_phone);

/* makedev.c */
int ts_make_device(const char *regdir, const char *outdir, uint64_t phone,
    char *why, size_t whylen);
int ts_make_devices(const char *regdir, const char *outfile, unsigned n,
    char *why, size_t whylen);

/* slog.c: the JSON-lines stanza log */
void ts_log_node(struct ts_server *s, struct ts_conn *c, const char *dir,
    const struct wa_node *n);
/* A pairing step: {"t":…,"conn":N,"dev":…,"dir":"pair","step":STEP,
 * "info":INFO} where info is a JSON object text (NULL: {}). */
void ts_log_pair(struct ts_server *s, struct ts_conn *c, const char *step,
    const char *info);
int ts_json_node(struct wa_buf *b, const struct wa_node *n, int depth);
int ts_json_str(struct wa_buf *b, const char *s, size_t n);

/* hex.c */
void ts_hex(const uint8_t *p, size_t n, char *out);
int ts_unhex(const char *s, uint8_t *out, size_t n);

/* client.c / load.c / wsc.c: the test client and the load tool */
int ts_client_main(int argc, char **argv);
int ts_load_main(int argc, char **argv);

#endif
