/*
 * src/store/import.h: what `skykeeper import` and `export` need besides
 * creds.json (store/baileys.h): the "session id" strings public Baileys
 * bots hand their users (import.c), and Baileys' pre-key files
 * (prekeys.c).  Both pure over bytes and files; no store, no network.
 *
 * The session id forms are documented, with where each was seen, in
 * docs/import.md.  The string is a secret (it holds the account's private
 * keys): no function here puts any of it into `why`, except the bot-name
 * prefix.
 */
#ifndef SK_STORE_IMPORT_H
#define SK_STORE_IMPORT_H

#include <stddef.h>
#include "store/snapshot.h"

/* Longest session id string accepted, and most bytes it may inflate to. */
#define STORE_IMPORT_TEXT_MAX  (8u << 20)
#define STORE_IMPORT_FILES_MAX (16u << 20)

/* One file of a Baileys auth folder, as the session id carried it. */
struct store_import_file {
	char name[96];       /* "creds.json", "pre-key-5.json" */
	char *data;          /* malloc'd, NUL-terminated JSON text */
	size_t len;
};

struct store_import {
	struct store_import_file *files;
	size_t n;
	char prefix[48];     /* the bot-name prefix, "" when there was none */
	char sep[8];         /* its separator ("~", ";;;", ":", ...), "" none */
	char form[96];       /* how the payload was packed, for the user */
};

/*
 * A session id string -> the files it carries (at least creds.json).
 * Whitespace anywhere and surrounding quotes are ignored.  Accepted:
 *   [PREFIX SEP] BASE64( [gzip|zlib]( creds.json | files map ) )
 *   [PREFIX]     the same, PREFIX running straight into the payload
 *   raw creds.json text
 * SEP is any run of characters outside the base64 alphabets; a files
 * map is {"creds.json": "...", "pre-key-1.json": "...", ...} or
 * {"v":1,"files":{...}}.  0, or a negative WA-style code (-1) with why.
 */
int store_sessionid_decode(const char *text, struct store_import *out,
    char *why, size_t whylen);

/* Writes the files into dir (which must exist), each 0600.  Only names of
 * the form creds.json / pre-key-N.json are written; others are skipped. */
int store_import_write_dir(const struct store_import *im, const char *dir,
    char *why, size_t whylen);

/* Wipes the file contents and frees them. */
void store_import_free(struct store_import *im);

/*
 * DIR/pre-key-N.json (Baileys' useMultiFileAuthState key files, BufferJSON)
 * -> *out, sorted by id, malloc'd (*n entries; NULL when none).  A
 * directory without pre-key files is 0 with *n = 0.  At most
 * STORE_SNAP_PREKEYS_MAX.
 */
int store_prekeys_read(const char *dir, struct store_prekey **out, size_t *n,
    char *why, size_t whylen);

/* pk -> DIR/pre-key-ID.json each (0600, temp file and rename), in the
 * form Baileys writes them. */
int store_prekeys_write(const char *dir, const struct store_prekey *pk,
    size_t n, char *why, size_t whylen);

#endif
