/*
 * src/net/http.h: one small HTTP(S) GET at a time, a libwebsockets client on
 * the process's libev loop.  Only the HEROKU_APP_URL ping uses it: the
 * answer's status code and how long it took are all anybody wants.
 *
 * The contract:
 *  - net_http_get() fails only for a bad URL, a request still in flight or
 *    no memory.  Everything else (DNS, TCP, TLS, no answer within
 *    `timeout` seconds) reaches `done` later, never from inside the call.
 *  - `done` is called exactly once per request, from the loop: status is
 *    the HTTP status code, or 0 with `err` saying what went wrong (err is
 *    NULL when there is a status).  ms is the time since net_http_get().
 *    `done` may start the next request; it must not free the client.
 *  - net_http_abort() drops a request in flight without calling `done`.
 *  - The body is read and thrown away.
 *
 * It runs its own small lws context (a handful of fds) on the same libev
 * loop as the WebSocket context of net.h, created only when a URL is set.
 */
#ifndef SK_NET_HTTP_H
#define SK_NET_HTTP_H

#include <stddef.h>

struct ev_loop;
struct net_http;

typedef void net_http_done_fn(int status, double ms, const char *err,
    void *arg);

struct net_http *net_http_new(struct ev_loop *loop, char *why, size_t whylen);
void net_http_free(struct net_http *h);

/* url: http://host[:port][/path][?query] or https://...  Returns 0, or -1
 * with `why` set. */
int net_http_get(struct net_http *h, const char *url, double timeout,
    net_http_done_fn *done, void *arg, char *why, size_t whylen);
void net_http_abort(struct net_http *h);
int net_http_busy(const struct net_http *h);

/* What may be logged of a URL: scheme://host[:port]/path, without the
 * query (it may hold a token) and without user info.  Pure. */
void net_http_redact(const char *url, char *out, size_t outlen);

#endif
