/* tests/util.h: small helpers shared by the Check tests. */
#ifndef SK_TESTS_UTIL_H
#define SK_TESTS_UTIL_H

/* The whole file, NUL-terminated, malloc'd; NULL if it can't be read. */
char *test_slurp(const char *path);

#endif
