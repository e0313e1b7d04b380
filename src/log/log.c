/*
 * src/log/log.c: the logger.  Process-wide by nature (there is one stdout),
 * which is why the level and fd are the only globals outside main.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include "log/log.h"

static enum log_level cur_level = LOG_INFO;
static int log_fd = 1;

static const char *const level_names[] = { "error", "warn", "info", "debug" };

void log_set_level(enum log_level lvl) { cur_level = lvl; }
enum log_level log_get_level(void) { return cur_level; }
void log_set_fd(int fd) { log_fd = fd; }

int
log_level_parse(const char *s, enum log_level *out)
{
	for (int i = 0; i <= LOG_DEBUG; i++)
		if (strcasecmp(s, level_names[i]) == 0) {
			*out = (enum log_level)i;
			return 0;
		}
	return -1;
}

static void
emit(enum log_level lvl, const char *fmt, va_list ap)
{
	char buf[4096];
	int n, m;

	n = snprintf(buf, sizeof(buf), "at=%s ", level_names[lvl]);
	m = vsnprintf(buf + n, sizeof(buf) - (size_t)n - 1, fmt, ap);
	if (m < 0)
		return;
	n += m;
	if (n > (int)sizeof(buf) - 2)
		n = (int)sizeof(buf) - 2;  /* truncated, but still one line */
	buf[n++] = '\n';
	for (int off = 0; off < n;) {
		ssize_t w = write(log_fd, buf + off, (size_t)(n - off));
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return;  /* nowhere left to complain to */
		off += (int)w;
	}
}

void
log_vmsg(enum log_level lvl, const char *fmt, va_list ap)
{
	if (lvl <= cur_level)
		emit(lvl, fmt, ap);
}

void
log_show(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	emit(LOG_INFO, fmt, ap);
	va_end(ap);
}

void
log_msg(enum log_level lvl, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	log_vmsg(lvl, fmt, ap);
	va_end(ap);
}
