/* src/session/session_int.h: what the files of src/session/ share. */
#ifndef SK_SESSION_INT_H
#define SK_SESSION_INT_H

#include <stddef.h>
#include "session/session.h"
#include "wa/node.h"

/* session.c */
double session_now(const struct session *s);
const char *session_state(const struct session *s);
const char *session_clean(const char *in, char *buf, size_t n);
void session_iq_id(struct session *s, char *buf, size_t n);
int session_send(struct session *s, struct wa_arena *a, struct wa_node *n,
    const char *what);
void session_save(struct session *s, const char *why);

void session_note(struct session *s, enum session_note what,
    const char *why);

/* actions.c */
void session_release_lease_now(struct session *s);

/* pair.c */
/* Handles the pairing stanzas of a connection that has not logged in:
 * 1 when n was one (and was dealt with), 0 otherwise. */
int session_pair_node(struct session *s, const struct wa_node *n);
/* A new credential set for this session: 0, or -1 (logged) when it could
 * not be made or saved.  With nothing stored for the session it is saved
 * before it is used (the keys the phone may see are never lost); when it
 * replaces a stored session (skykeeper pair on a logged-out one, or
 * --force) it stays in memory until a pairing succeeded, so an attempt
 * that fails or is interrupted leaves the stored session as it was. */
int session_pair_new_creds(struct session *s, int replacing);

/* connect.c */
void session_lease_renew_cb(struct ev_loop *loop, ev_timer *w, int revents);

#endif
