/*
 * gen/scan.rl: tokenizer for .fsm specs, compiled by Ragel into
 * build/gen/scan.c.
 *
 * The language is line-oriented, so newlines are tokens; comments run from
 * '#' to the end of the line.  A character the scanner does not know
 * becomes a T_ERROR token at its column, which the parser reports as a
 * syntax error before skipping to the next line.
 */
#include <stdlib.h>
#include <string.h>
#include "scan.h"

%%{
	machine fsmscan;
	write data nofinal noerror;

	ident = [A-Za-z_] [A-Za-z0-9_]*;
	number = digit+ ('.' digit+)?;

	main := |*
		'\n'                 { EMIT(T_NL); line++; lstart = te; };
		[ \t\r]+             ;
		'#' [^\n]*           ;
		'cfg.' ident         { EMIT(T_CFG); };
		'@' ident            { EMIT(T_DELAY); };
		ident                { EMIT(T_IDENT); };
		number               { EMIT(T_NUMBER); };
		'->'                 { EMIT(T_ARROW); };
		'/'                  { EMIT(T_SLASH); };
		','                  { EMIT(T_COMMA); };
		'['                  { EMIT(T_LBRACK); };
		']'                  { EMIT(T_RBRACK); };
		'*'                  { EMIT(T_STAR); };
		any                  { EMIT(T_ERROR); };
	*|;
}%%

int
scan_tokens(const char *text, size_t len, struct token **out)
{
	const char *p = text, *pe = text + len, *eof = pe;
	const char *ts = NULL, *te = NULL, *lstart = text;
	int cs, act, line = 1;
	int n = 0, cap = 256;
	struct token *v = malloc(sizeof(*v) * (size_t)cap);

	if (v == NULL)
		return -1;
	(void)act;

#define EMIT(k) do {                                                    \
		if (n + 1 >= cap) {                                     \
			struct token *nv;                               \
			cap *= 2;                                       \
			nv = realloc(v, sizeof(*v) * (size_t)cap);      \
			if (nv == NULL) { free(v); return -1; }         \
			v = nv;                                         \
		}                                                       \
		v[n].kind = (k); v[n].p = ts; v[n].len = (int)(te - ts); \
		v[n].pos.line = line;                                   \
		v[n].pos.col = (int)(ts - lstart) + 1;                  \
		n++;                                                    \
	} while (0)

	%% write init;
	%% write exec;

	v[n].kind = T_EOF;
	v[n].p = pe;
	v[n].len = 0;
	v[n].pos.line = line;
	v[n].pos.col = (int)(pe - lstart) + 1;
	n++;
	(void)fsmscan_en_main;
	(void)eof;
	*out = v;
	return n;
#undef EMIT
}

const char *
tok_kind_name(enum tok k)
{
	static const char *names[] = {
		"end of file", "end of line", "name", "number", "cfg.NAME",
		"@DELAY", "'->'", "'/'", "','", "'['", "']'", "'*'",
		"invalid character",
	};
	return names[k];
}
