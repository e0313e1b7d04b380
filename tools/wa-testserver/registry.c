/*
 * tools/wa-testserver/registry.c: the devices the server knows.
 *
 * DIR/devices.tsv, one device per line, appended by --make-device(s)
 * (possibly while the server runs: it re-reads the new tail when a login
 * names a device it does not know yet):
 *
 *   PHONE <TAB> DEVICE <TAB> NOISE_PUB_HEX <TAB> IDENTITY_PUB_HEX <TAB> LID
 *
 * Lines starting with '#' are comments; a later line for the same
 * PHONE:DEVICE replaces the earlier one.  In memory: a chained hash table,
 * ~200 bytes per device.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "wa-testserver/ts.h"

#define REG_FILE "devices.tsv"

static size_t
slot(const struct ts_registry *r, uint64_t phone, uint32_t dev)
{
	uint64_t h = phone * 0x9E3779B97F4A7C15ull ^ (uint64_t)dev * 0xC2B2AE35u;

	h ^= h >> 29;
	return (size_t)(h & (r->nbuckets - 1));
}

static int
grow(struct ts_registry *r)
{
	size_t n = r->nbuckets ? r->nbuckets * 2 : 1024, i;
	struct ts_device **b = calloc(n, sizeof(*b)), *d, *next;
	struct ts_registry tmp = *r;

	if (b == NULL)
		return -1;
	tmp.buckets = b;
	tmp.nbuckets = n;
	for (i = 0; i < r->nbuckets; i++)
		for (d = r->buckets[i]; d != NULL; d = next) {
			size_t k = slot(&tmp, d->phone, d->dev);
			next = d->hnext;
			d->hnext = b[k];
			b[k] = d;
		}
	free(r->buckets);
	r->buckets = b;
	r->nbuckets = n;
	return 0;
}

static struct ts_device *
lookup(const struct ts_registry *r, uint64_t phone, uint32_t dev)
{
	struct ts_device *d;

	if (r->nbuckets == 0)
		return NULL;
	for (d = r->buckets[slot(r, phone, dev)]; d != NULL; d = d->hnext)
		if (d->phone == phone && d->dev == dev)
			return d;
	return NULL;
}

/* One line, NUL-terminated, without its newline. */
static int
add_line(struct ts_registry *r, char *line)
{
	char *f[5], *save = NULL, *end;
	struct ts_device *d;
	unsigned long long phone;
	unsigned long dev;
	int i;

	if (line[0] == '#' || line[0] == '\0')
		return 0;
	for (i = 0; i < 5; i++)
		if ((f[i] = strtok_r(i ? NULL : line, "\t", &save)) == NULL)
			return -1;
	errno = 0;
	phone = strtoull(f[0], &end, 10);
	if (errno || *end || phone == 0)
		return -1;
	dev = strtoul(f[1], &end, 10);
	if (*end || dev > 0xffff || strlen(f[2]) != 64 || strlen(f[3]) != 64 ||
	    strlen(f[4]) >= TS_LID_MAX)
		return -1;
	if ((d = lookup(r, phone, (uint32_t)dev)) == NULL) {
		if (r->count + 1 > r->nbuckets && grow(r) < 0)
			return -1;
		if ((d = calloc(1, sizeof(*d))) == NULL)
			return -1;
		d->phone = phone;
		d->dev = (uint32_t)dev;
		i = (int)slot(r, phone, (uint32_t)dev);
		d->hnext = r->buckets[i];
		r->buckets[i] = d;
		r->count++;
	}
	if (ts_unhex(f[2], d->noise_pub, 32) < 0 ||
	    ts_unhex(f[3], d->identity_pub, 32) < 0)
		return -1;
	memcpy(d->lid, f[4], strlen(f[4]) + 1);
	return 0;
}

int
ts_registry_reload(struct ts_registry *r)
{
	FILE *f = fopen(r->path, "r");
	char line[512];
	long off;
	size_t n;
	int bad = 0;

	if (f == NULL)
		return errno == ENOENT ? 0 : -1;
	if (fseek(f, r->loaded_off, SEEK_SET) < 0) {
		fclose(f);
		return -1;
	}
	for (;;) {
		off = ftell(f);
		if (fgets(line, sizeof(line), f) == NULL)
			break;
		n = strlen(line);
		if (n == 0 || line[n - 1] != '\n') {
			/* a line still being written: read it next time */
			r->loaded_off = off;
			fclose(f);
			return bad ? -1 : 0;
		}
		line[n - 1] = '\0';
		if (add_line(r, line) < 0)
			bad++;
		r->loaded_off = ftell(f);
	}
	fclose(f);
	return bad ? -1 : 0;
}

int
ts_registry_open(struct ts_registry *r, const char *dir, char *why,
    size_t whylen)
{
	memset(r, 0, sizeof(*r));
	if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
		snprintf(why, whylen, "%s: %s", dir, strerror(errno));
		return -1;
	}
	snprintf(r->path, sizeof(r->path), "%s/%s", dir, REG_FILE);
	if (grow(r) < 0) {
		snprintf(why, whylen, "out of memory");
		return -1;
	}
	if (ts_registry_reload(r) < 0) {
		snprintf(why, whylen, "%s: unreadable or malformed lines "
		    "(PHONE TAB DEVICE TAB NOISE_PUB_HEX TAB IDENTITY_HEX TAB "
		    "LID)", r->path);
		return -1;
	}
	return 0;
}

void
ts_registry_free(struct ts_registry *r)
{
	struct ts_device *d, *next;
	size_t i;

	for (i = 0; i < r->nbuckets; i++)
		for (d = r->buckets[i]; d != NULL; d = next) {
			next = d->hnext;
			free(d);
		}
	free(r->buckets);
	r->buckets = NULL;
	r->nbuckets = r->count = 0;
}

struct ts_device *
ts_registry_find(struct ts_registry *r, uint64_t phone, uint32_t dev)
{
	struct ts_device *d = lookup(r, phone, dev);

	if (d == NULL) {
		(void)ts_registry_reload(r);
		d = lookup(r, phone, dev);
	}
	return d;
}

int
ts_registry_append(const char *dir, uint64_t phone, uint32_t dev,
    const uint8_t noise_pub[32], const uint8_t identity_pub[32],
    const char *lid, char *why, size_t whylen)
{
	char path[512], line[256], np[65], ip[65];
	int fd, n;

	if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
		snprintf(why, whylen, "%s: %s", dir, strerror(errno));
		return -1;
	}
	snprintf(path, sizeof(path), "%s/%s", dir, REG_FILE);
	ts_hex(noise_pub, 32, np);
	ts_hex(identity_pub, 32, ip);
	n = snprintf(line, sizeof(line), "%llu\t%u\t%s\t%s\t%s\n",
	    (unsigned long long)phone, dev, np, ip, lid);
	/* O_APPEND and one write: a concurrent reader sees whole lines */
	fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0 || write(fd, line, (size_t)n) != n) {
		snprintf(why, whylen, "%s: %s", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	close(fd);
	return 0;
}

/* Scans the file: the next device id for `phone`, or, when phone is 0, a
 * phone number no line uses yet (stored in *auto_phone). */
uint32_t
ts_registry_next_dev(const char *dir, uint64_t phone, uint64_t *auto_phone)
{
	struct ts_registry r;
	struct ts_device *d;
	uint32_t next = 1;
	uint64_t p;
	size_t i;
	char why[64];

	if (ts_registry_open(&r, dir, why, sizeof(why)) < 0)
		return 1;
	if (phone == 0) {
		/* 1555 01 NNNNN: the North American fictional range */
		for (p = 15550100001ull + r.count;; p++) {
			int used = 0;
			for (i = 0; i < r.nbuckets && !used; i++)
				for (d = r.buckets[i]; d != NULL; d = d->hnext)
					if (d->phone == p)
						used = 1;
			if (!used)
				break;
		}
		phone = p;
	}
	for (i = 0; i < r.nbuckets; i++)
		for (d = r.buckets[i]; d != NULL; d = d->hnext)
			if (d->phone == phone && d->dev >= next)
				next = d->dev + 1;
	ts_registry_free(&r);
	if (auto_phone != NULL)
		*auto_phone = phone;
	return next;
}

int
ts_registry_add(struct ts_registry *r, uint64_t phone, uint32_t dev,
    const uint8_t noise_pub[32], const uint8_t identity_pub[32],
    const char *lid, char *why, size_t whylen)
{
	char dir[sizeof(r->path)];
	size_t n = strlen(r->path), k = strlen("/" REG_FILE);

	if (n <= k)
		return -1;
	memcpy(dir, r->path, n - k);
	dir[n - k] = '\0';
	if (ts_registry_append(dir, phone, dev, noise_pub, identity_pub, lid,
	    why, whylen) < 0)
		return -1;
	if (ts_registry_reload(r) < 0 || lookup(r, phone, dev) == NULL) {
		snprintf(why, whylen, "%s: the new line did not read back",
		    r->path);
		return -1;
	}
	return 0;
}
