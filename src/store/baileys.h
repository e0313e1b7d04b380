/*
 * src/store/baileys.h: Baileys' multi-file auth state, creds.json, in the
 * BufferJSON encoding ({"type":"Buffer","data":"<base64>"} for bytes).
 * The loopback test server writes it for the devices it makes, the probe
 * and the interop tests read it, and the store's import/export builds on it.
 */
#ifndef SK_STORE_BAILEYS_H
#define SK_STORE_BAILEYS_H

#include "wa/creds.h"

/* DIR/creds.json -> c.  On failure `why` names the file and the field. */
int store_baileys_read(const char *dir, struct wa_creds *c, char *why,
    size_t whylen);
/* c -> DIR/creds.json (DIR created 0700, file 0600, written via a temp
 * file and rename). */
int store_baileys_write(const char *dir, const struct wa_creds *c,
    char *why, size_t whylen);

#endif
