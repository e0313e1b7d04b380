/*
 * src/store/file.h: the local file copy of session snapshots.
 *
 *   DATA_DIR/lock                 held (flock) by the one process using DATA_DIR
 *   DATA_DIR/sessions/ID.snap     one blob per session (store/snapshot.h)
 *
 * The store moves blobs; it neither encodes nor checks them.  Every save
 * replaces the file atomically: temp file in the same directory, write all,
 * fsync, rename over ID.snap, fsync the directory.  A crash at any moment
 * leaves either the old blob or the new one, never a mix.  Directories are
 * made 0700 and files 0600 (whatever the umask), since a plain blob holds
 * the account's private keys.
 *
 * The lock: store_file_open takes an exclusive flock on DATA_DIR/lock and
 * writes "pid=N host=H" into it; a second opener (another process, or a
 * second open in the same one) gets STORE_FILE_ELOCKED naming the holder.
 * The kernel drops the lock when the holder dies, even by SIGKILL, so no
 * stale lock outlives a crash.  flock locks belong to the open file: a
 * child made by fork() shares its parent's lock; exec'd programs do not
 * inherit the descriptor (O_CLOEXEC).  On Heroku the filesystem is per
 * dyno, so this guards one machine only; PostgreSQL's lease guards the
 * account.
 *
 * Functions return 0 or a negative STORE_FILE_E* code with one short line
 * in `why` (may be NULL); store_file_load returns STORE_FILE_MISSING
 * (positive) when the session has no file, which is not an error.
 */
#ifndef SK_STORE_FILE_H
#define SK_STORE_FILE_H

#include <stddef.h>
#include <stdint.h>

#define STORE_FILE_ID_MAX   64           /* bytes in a session id */
/* Files over this are refused on load (a blob is far smaller). */
#define STORE_FILE_SIZE_MAX (16u << 20)

enum {
	STORE_FILE_MISSING = 1,    /* load: no file for this session */
	STORE_FILE_EID     = -1,   /* session id not acceptable */
	STORE_FILE_EIO     = -2,   /* a system call failed (errno in why) */
	STORE_FILE_ELOCKED = -3,   /* another opener holds DATA_DIR/lock */
	STORE_FILE_ENOMEM  = -4,
	STORE_FILE_ETOOBIG = -5,   /* file over STORE_FILE_SIZE_MAX */
	STORE_FILE_ECLOSED = -6,   /* store not open */
};

struct store_file {
	int lock_fd;     /* DATA_DIR/lock, flock'd; -1 when closed */
	int dir_fd;      /* DATA_DIR/sessions, for *at() calls and fsync */
	char data_dir[512];
};

/*
 * Creates DATA_DIR (and missing parents) 0700 and DATA_DIR/sessions 0700
 * (tightened to 0700 if it exists), takes the lock, and removes temp files
 * a crash left behind.  On failure f is closed and nothing is held.
 */
int store_file_open(struct store_file *f, const char *data_dir, char *why,
    size_t whylen);

/* Releases the lock.  Safe on a closed store. */
void store_file_close(struct store_file *f);

/*
 * A session id is 1..64 bytes of A-Z a-z 0-9 . _ -, starting with a letter
 * or digit, with no "..": it is a file name as it stands, never a path.
 */
int store_file_id_valid(const char *id, char *why, size_t whylen);

/* Atomically replaces the session's file with blob.  Returns once the new
 * file and its directory entry are on disk. */
int store_file_save(struct store_file *f, const char *id, const uint8_t *blob,
    size_t len, char *why, size_t whylen);

/*
 * The session's blob: 0 and *blob malloc'd (*len bytes), to be released
 * with store_snap_blob_free (it wipes; a plain blob holds private keys);
 * STORE_FILE_MISSING with *blob NULL when there is no file; or an error.
 */
int store_file_load(struct store_file *f, const char *id, uint8_t **blob,
    size_t *len, char *why, size_t whylen);

/* Deletes the session's file (and syncs the directory); no file is not an
 * error. */
int store_file_remove(struct store_file *f, const char *id, char *why,
    size_t whylen);

/*
 * Calls fn(id, arg) for every ID.snap with a valid id, in directory order;
 * stops early and returns fn's value when fn returns non-zero.
 */
int store_file_list(struct store_file *f,
    int (*fn)(const char *id, void *arg), void *arg, char *why,
    size_t whylen);

const char *store_file_strerror(int code);

#endif
