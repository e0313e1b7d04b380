/*
 * src/store/file.c: the local file copy (see file.h).
 *
 * Cost of a save: two fsyncs (the file, then the directory), which is
 * milliseconds on a disk and dominates everything else here.  Both are
 * needed: without the first, the rename can reach the disk before the data
 * and a power cut leaves an empty file under the real name; without the
 * second, the rename itself may be lost.  A kill -9 loses neither (the page
 * cache survives the process); the crash trials in tests/crash/ check the
 * rename's atomicity, the fsyncs are for the machine going down.
 *
 * All file access goes through the sessions directory's descriptor
 * (openat, renameat, unlinkat): names are short, and the directory cannot
 * be swapped under us by renaming a parent.  O_NOFOLLOW everywhere: a
 * symlink planted in the directory is refused, not followed.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>
#include "store/file.h"

#define SESSIONS "sessions"
#define SUFFIX   ".snap"
#define TMPSUF   ".tmp"

static int
fail(char *why, size_t whylen, int code, const char *fmt, ...)
{
	va_list ap;

	if (why != NULL && whylen > 0) {
		va_start(ap, fmt);
		vsnprintf(why, whylen, fmt, ap);
		va_end(ap);
	}
	return code;
}

#define FAIL_IO(what, path) \
	fail(why, whylen, STORE_FILE_EIO, "%s: %s: %s", (path), (what), \
	    strerror(errno))

int
store_file_id_valid(const char *id, char *why, size_t whylen)
{
	size_t n;

	if (id == NULL || (n = strnlen(id, STORE_FILE_ID_MAX + 1)) == 0)
		return fail(why, whylen, STORE_FILE_EID, "session id is empty");
	if (n > STORE_FILE_ID_MAX)
		return fail(why, whylen, STORE_FILE_EID,
		    "session id is longer than %d bytes", STORE_FILE_ID_MAX);
	/* The id may come from a user: report the byte, never echo it. */
	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)id[i];
		int alnum = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		    (ch >= '0' && ch <= '9');
		if (i == 0 && !alnum)
			return fail(why, whylen, STORE_FILE_EID,
			    "session id must start with a letter or digit");
		if (!alnum && ch != '.' && ch != '_' && ch != '-')
			return fail(why, whylen, STORE_FILE_EID,
			    "session id byte %zu (0x%02x) is not one of "
			    "A-Z a-z 0-9 . _ -", i + 1, ch);
	}
	if (strstr(id, "..") != NULL)
		return fail(why, whylen, STORE_FILE_EID,
		    "session id contains \"..\"");
	return 0;
}

/* mkdir -p, each directory it creates 0700 whatever the umask. */
static int
make_dirs(const char *path, char *why, size_t whylen)
{
	char buf[sizeof(((struct store_file *)0)->data_dir)];
	struct stat st;
	size_t n = strlen(path);

	memcpy(buf, path, n + 1);
	for (size_t i = 1; i <= n; i++) {
		if (buf[i] != '/' && buf[i] != '\0')
			continue;
		buf[i] = '\0';
		if (mkdir(buf, 0700) == 0) {
			if (chmod(buf, 0700) < 0)
				return FAIL_IO("chmod", buf);
		} else if (errno != EEXIST) {
			return FAIL_IO("mkdir", buf);
		}
		if (i == n) {
			if (stat(buf, &st) < 0)
				return FAIL_IO("stat", buf);
			if (!S_ISDIR(st.st_mode))
				return fail(why, whylen, STORE_FILE_EIO,
				    "%s: not a directory", buf);
		}
		buf[i] = i < n ? '/' : '\0';
	}
	return 0;
}

/* The holder's "pid=N host=H" as printable text, for the error. */
static void
read_holder(int fd, char *out, size_t outlen)
{
	char buf[200];
	ssize_t r = pread(fd, buf, sizeof(buf) - 1, 0);
	size_t j = 0;

	for (ssize_t i = 0; i < r && buf[i] != '\n' && j + 1 < outlen; i++)
		if (buf[i] >= 0x20 && buf[i] < 0x7f)
			out[j++] = buf[i];
	out[j] = '\0';
}

static int
take_lock(struct store_file *f, char *why, size_t whylen)
{
	char path[sizeof(f->data_dir) + 8], holder[160], host[128], line[200];
	int fd, len;

	snprintf(path, sizeof(path), "%s/lock", f->data_dir);
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return FAIL_IO("open", path);
	while (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		if (errno == EINTR)
			continue;
		if (errno == EWOULDBLOCK) {
			read_holder(fd, holder, sizeof(holder));
			close(fd);
			return fail(why, whylen, STORE_FILE_ELOCKED,
			    "data dir %s is in use by another skykeeper (%s); "
			    "two processes must not share it",
			    f->data_dir, holder[0] ? holder : "holder unknown");
		}
		fail(why, whylen, STORE_FILE_EIO, "%s: flock: %s", path,
		    strerror(errno));
		close(fd);
		return STORE_FILE_EIO;
	}
	/* Ours now: say who we are, for the next one who tries. */
	if (gethostname(host, sizeof(host)) < 0)
		snprintf(host, sizeof(host), "?");
	host[sizeof(host) - 1] = '\0';
	len = snprintf(line, sizeof(line), "pid=%ld host=%s\n", (long)getpid(),
	    host);
	if (fchmod(fd, 0600) < 0 || ftruncate(fd, 0) < 0 ||
	    pwrite(fd, line, (size_t)len, 0) != len) {
		fail(why, whylen, STORE_FILE_EIO, "%s: write: %s", path,
		    strerror(errno));
		close(fd);
		return STORE_FILE_EIO;
	}
	f->lock_fd = fd;
	return 0;
}

/* Temp files of saves a crash interrupted: ".ID.snap.tmp". */
static void
remove_stale_temps(struct store_file *f)
{
	int fd = openat(f->dir_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	struct dirent *e;
	size_t n;

	if (d == NULL) {
		if (fd >= 0)
			close(fd);
		return;
	}
	while ((e = readdir(d)) != NULL) {
		n = strlen(e->d_name);
		if (e->d_name[0] == '.' && n > sizeof(SUFFIX TMPSUF) &&
		    strcmp(e->d_name + n - strlen(SUFFIX TMPSUF),
		    SUFFIX TMPSUF) == 0)
			unlinkat(f->dir_fd, e->d_name, 0);
	}
	closedir(d);
}

int
store_file_open(struct store_file *f, const char *data_dir, char *why,
    size_t whylen)
{
	char path[sizeof(f->data_dir) + sizeof(SESSIONS) + 1];
	struct stat st;
	int rc, dfd;

	f->lock_fd = f->dir_fd = -1;
	f->data_dir[0] = '\0';
	if (data_dir == NULL || data_dir[0] == '\0')
		return fail(why, whylen, STORE_FILE_EIO, "data dir is empty");
	if (strlen(data_dir) >= sizeof(f->data_dir))
		return fail(why, whylen, STORE_FILE_EIO,
		    "data dir path is longer than %zu bytes",
		    sizeof(f->data_dir) - 1);
	snprintf(f->data_dir, sizeof(f->data_dir), "%s", data_dir);
	if ((rc = make_dirs(f->data_dir, why, whylen)) < 0 ||
	    (rc = take_lock(f, why, whylen)) < 0)
		return rc;

	snprintf(path, sizeof(path), "%s/" SESSIONS, f->data_dir);
	if (mkdir(path, 0700) == 0) {
		/* The new entry for sessions/ must survive a power cut too. */
		if ((dfd = open(f->data_dir, O_RDONLY | O_DIRECTORY |
		    O_CLOEXEC)) >= 0) {
			(void)fsync(dfd);
			close(dfd);
		}
	} else if (errno != EEXIST) {
		rc = FAIL_IO("mkdir", path);
		goto bad;
	}
	f->dir_fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	if (f->dir_fd < 0) {
		rc = FAIL_IO("open", path);
		goto bad;
	}
	if (fstat(f->dir_fd, &st) < 0 ||
	    ((st.st_mode & 07777) != 0700 && fchmod(f->dir_fd, 0700) < 0)) {
		rc = FAIL_IO("chmod", path);
		goto bad;
	}
	remove_stale_temps(f);
	return 0;
bad:
	store_file_close(f);
	return rc;
}

void
store_file_close(struct store_file *f)
{
	if (f->dir_fd >= 0)
		close(f->dir_fd);
	if (f->lock_fd >= 0)
		close(f->lock_fd);   /* drops the flock */
	f->dir_fd = f->lock_fd = -1;
}

/* Checks the store and the id; name = "ID.snap". */
static int
prepare(struct store_file *f, const char *id, char *name, size_t namelen,
    char *why, size_t whylen)
{
	int rc;

	if (f->lock_fd < 0 || f->dir_fd < 0)
		return fail(why, whylen, STORE_FILE_ECLOSED, "file store not open");
	if ((rc = store_file_id_valid(id, why, whylen)) < 0)
		return rc;
	snprintf(name, namelen, "%s" SUFFIX, id);
	return 0;
}

static int
write_all(int fd, const uint8_t *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

static int
fsync_retry(int fd)
{
	int r;

	while ((r = fsync(fd)) < 0 && errno == EINTR)
		;
	return r;
}

int
store_file_save(struct store_file *f, const char *id, const uint8_t *blob,
    size_t len, char *why, size_t whylen)
{
	char name[STORE_FILE_ID_MAX + 8], tmp[STORE_FILE_ID_MAX + 16];
	char shown[sizeof(f->data_dir) + sizeof(tmp) + 16];
	int fd, rc, saved;

	if ((rc = prepare(f, id, name, sizeof(name), why, whylen)) < 0)
		return rc;
	snprintf(tmp, sizeof(tmp), ".%s" TMPSUF, name);
	snprintf(shown, sizeof(shown), "%s/" SESSIONS "/%s", f->data_dir, tmp);
	/* O_TRUNC: a temp file left by a crash is simply reused.  fchmod:
	 * the umask, or such a leftover, may have left other bits. */
	fd = openat(f->dir_fd, tmp,
	    O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return FAIL_IO("open", shown);
	if (fchmod(fd, 0600) < 0) {
		rc = FAIL_IO("fchmod", shown);
		goto bad;
	}
	if (write_all(fd, blob, len) < 0) {
		rc = FAIL_IO("write", shown);
		goto bad;
	}
	if (fsync_retry(fd) < 0) {
		rc = FAIL_IO("fsync", shown);
		goto bad;
	}
	if (close(fd) < 0) {
		fd = -1;
		rc = FAIL_IO("close", shown);
		goto bad;
	}
	fd = -1;
	if (renameat(f->dir_fd, tmp, f->dir_fd, name) < 0) {
		rc = FAIL_IO("rename", shown);
		goto bad;
	}
	/* The rename is done; if this fsync fails the new file is in place
	 * but maybe not durable: report it, the caller retries the save. */
	if (fsync_retry(f->dir_fd) < 0)
		return fail(why, whylen, STORE_FILE_EIO, "%s/" SESSIONS
		    ": fsync: %s", f->data_dir, strerror(errno));
	return 0;
bad:
	saved = errno;
	if (fd >= 0)
		close(fd);
	unlinkat(f->dir_fd, tmp, 0);
	errno = saved;
	return rc;
}

int
store_file_load(struct store_file *f, const char *id, uint8_t **blob,
    size_t *len, char *why, size_t whylen)
{
	char name[STORE_FILE_ID_MAX + 8];
	char shown[sizeof(f->data_dir) + sizeof(name) + 16];
	struct stat st;
	uint8_t *b;
	size_t got = 0;
	int fd, rc;

	*blob = NULL;
	*len = 0;
	if ((rc = prepare(f, id, name, sizeof(name), why, whylen)) < 0)
		return rc;
	snprintf(shown, sizeof(shown), "%s/" SESSIONS "/%s", f->data_dir, name);
	fd = openat(f->dir_fd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0) {
		if (errno == ENOENT)
			return STORE_FILE_MISSING;
		return FAIL_IO("open", shown);
	}
	if (fstat(fd, &st) < 0) {
		rc = FAIL_IO("fstat", shown);
		close(fd);
		return rc;
	}
	if (!S_ISREG(st.st_mode) || st.st_size > (off_t)STORE_FILE_SIZE_MAX) {
		close(fd);
		return fail(why, whylen, S_ISREG(st.st_mode) ? STORE_FILE_ETOOBIG :
		    STORE_FILE_EIO, "%s: %s", shown, S_ISREG(st.st_mode) ?
		    "file too large for a snapshot" : "not a regular file");
	}
	if ((b = malloc(st.st_size > 0 ? (size_t)st.st_size : 1)) == NULL) {
		close(fd);
		return fail(why, whylen, STORE_FILE_ENOMEM, "out of memory");
	}
	/* We hold the lock, so nobody changes the file while we read; a short
	 * read just means a shorter blob, which decode calls truncated. */
	while (got < (size_t)st.st_size) {
		ssize_t r = read(fd, b + got, (size_t)st.st_size - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			rc = FAIL_IO("read", shown);
			close(fd);
			free(b);
			return rc;
		}
		if (r == 0)
			break;
		got += (size_t)r;
	}
	close(fd);
	*blob = b;
	*len = got;
	return 0;
}

int
store_file_remove(struct store_file *f, const char *id, char *why,
    size_t whylen)
{
	char name[STORE_FILE_ID_MAX + 8];
	int rc;

	if ((rc = prepare(f, id, name, sizeof(name), why, whylen)) < 0)
		return rc;
	if (unlinkat(f->dir_fd, name, 0) < 0) {
		if (errno == ENOENT)
			return 0;
		return fail(why, whylen, STORE_FILE_EIO, "%s/" SESSIONS
		    "/%s: unlink: %s", f->data_dir, name, strerror(errno));
	}
	if (fsync_retry(f->dir_fd) < 0)
		return fail(why, whylen, STORE_FILE_EIO, "%s/" SESSIONS
		    ": fsync: %s", f->data_dir, strerror(errno));
	return 0;
}

int
store_file_list(struct store_file *f, int (*fn)(const char *id, void *arg),
    void *arg, char *why, size_t whylen)
{
	char id[STORE_FILE_ID_MAX + 1];
	struct dirent *e;
	DIR *d;
	size_t n, sl = strlen(SUFFIX);
	int fd, rc = 0;

	if (f->lock_fd < 0 || f->dir_fd < 0)
		return fail(why, whylen, STORE_FILE_ECLOSED, "file store not open");
	/* A fresh open of the directory: readdir moves the offset, which
	 * dir_fd shares with any dup of it. */
	fd = openat(f->dir_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 || (d = fdopendir(fd)) == NULL) {
		rc = fail(why, whylen, STORE_FILE_EIO, "%s/" SESSIONS
		    ": opendir: %s", f->data_dir, strerror(errno));
		if (fd >= 0)
			close(fd);
		return rc;
	}
	while (rc == 0 && (e = readdir(d)) != NULL) {
		n = strlen(e->d_name);
		if (n <= sl || n - sl > STORE_FILE_ID_MAX ||
		    strcmp(e->d_name + n - sl, SUFFIX) != 0)
			continue;
		memcpy(id, e->d_name, n - sl);
		id[n - sl] = '\0';
		if (store_file_id_valid(id, NULL, 0) == 0)
			rc = fn(id, arg);
	}
	closedir(d);
	return rc;
}

const char *
store_file_strerror(int code)
{
	switch (code) {
	case 0:                  return "ok";
	case STORE_FILE_MISSING: return "no file";
	case STORE_FILE_EID:     return "bad session id";
	case STORE_FILE_EIO:     return "i/o error";
	case STORE_FILE_ELOCKED: return "data dir locked by another process";
	case STORE_FILE_ENOMEM:  return "out of memory";
	case STORE_FILE_ETOOBIG: return "file too large";
	case STORE_FILE_ECLOSED: return "store not open";
	}
	return "unknown error";
}
