/*
 * src/log/log.h: one logfmt line per call on stdout (Heroku's convention:
 * `heroku logs` shows stdout and stderr).  Each line is written with one
 * write(2) so lines from different sources never interleave mid-line.
 */
#ifndef SK_LOG_H
#define SK_LOG_H

#include <stdarg.h>

enum log_level { LOG_ERROR, LOG_WARN, LOG_INFO, LOG_DEBUG };

void log_set_level(enum log_level lvl);
enum log_level log_get_level(void);
int log_level_parse(const char *s, enum log_level *out);
void log_set_fd(int fd);

/* at=LEVEL followed by the formatted text. */
void log_msg(enum log_level lvl, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void log_vmsg(enum log_level lvl, const char *fmt, va_list ap);

/* An at=info line whatever LOG_LEVEL says: for what a person must see to
 * act (the pairing QR codes and code), which LOG_LEVEL=warn must not hide. */
void log_show(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#define log_error(...) log_msg(LOG_ERROR, __VA_ARGS__)
#define log_warn(...)  log_msg(LOG_WARN, __VA_ARGS__)
#define log_info(...)  log_msg(LOG_INFO, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_DEBUG, __VA_ARGS__)

#endif
