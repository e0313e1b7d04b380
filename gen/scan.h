/* gen/scan.h: the Ragel-generated tokenizer of the spec language. */
#ifndef FSMC_SCAN_H
#define FSMC_SCAN_H

#include <stddef.h>
#include "spec.h"

enum tok {
	T_EOF, T_NL, T_IDENT, T_NUMBER, T_CFG, T_DELAY,
	T_ARROW, T_SLASH, T_COMMA, T_LBRACK, T_RBRACK, T_STAR, T_ERROR
};

struct token {
	enum tok kind;
	const char *p;  /* into the spec text; not NUL-terminated */
	int len;
	struct pos pos;
};

/* Tokenizes the whole text.  Returns the number of tokens written to *out
 * (malloc'd, ends with T_EOF), or -1 when out of memory. */
int scan_tokens(const char *text, size_t len, struct token **out);
const char *tok_kind_name(enum tok k);

#endif
