/*
 * gen/fsmc.c: the spec compiler's command line.
 *
 *   fsmc check SPEC            check only; nothing on stderr when good
 *   fsmc c SPEC -o DIR         C header, tables and binding into DIR
 *   fsmc dot SPEC              Graphviz on stdout
 *   fsmc mermaid SPEC          Markdown (Mermaid diagram + table) on stdout
 *   fsmc promela SPEC          Promela model for spin on stdout
 *
 * Exit 0 on success, 1 when the spec has errors (each reported as
 * FILE:LINE:COL: error: ...), 2 on usage or I/O errors.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "spec.h"

static void
usage(void)
{
	fprintf(stderr,
	    "usage: fsmc check SPEC\n"
	    "       fsmc c SPEC -o DIR\n"
	    "       fsmc dot|mermaid|promela SPEC\n");
	exit(2);
}

static char *
slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	size_t cap = 0, n = 0;

	if (f == NULL) {
		fprintf(stderr, "fsmc: %s: %s\n", path, strerror(errno));
		return NULL;
	}
	for (;;) {
		if (n + 4096 + 1 > cap) {
			char *nb;
			cap = cap ? cap * 2 : 8192;
			nb = realloc(buf, cap);
			if (nb == NULL) {
				free(buf);
				fclose(f);
				return NULL;
			}
			buf = nb;
		}
		size_t r = fread(buf + n, 1, 4096, f);
		n += r;
		if (r < 4096)
			break;
	}
	if (ferror(f)) {
		fprintf(stderr, "fsmc: %s: read error\n", path);
		fclose(f);
		free(buf);
		return NULL;
	}
	fclose(f);
	buf[n] = '\0';
	if (memchr(buf, '\0', n) != NULL) {
		fprintf(stderr, "%s:1:1: error: NUL byte in spec\n", path);
		free(buf);
		return NULL;
	}
	*len = n;
	return buf;
}

int
main(int argc, char **argv)
{
	struct spec s;
	const char *cmd, *file, *outdir = NULL;
	char *text;
	size_t len;
	int rc;

	if (argc < 3)
		usage();
	cmd = argv[1];
	file = argv[2];
	if (strcmp(cmd, "c") == 0) {
		if (argc != 5 || strcmp(argv[3], "-o") != 0)
			usage();
		outdir = argv[4];
	} else if (argc != 3 || (strcmp(cmd, "check") && strcmp(cmd, "dot") &&
	    strcmp(cmd, "mermaid") && strcmp(cmd, "promela"))) {
		usage();
	}
	text = slurp(file, &len);
	if (text == NULL)
		return 2;
	rc = spec_parse(&s, file, text, len);
	if (s.rules != NULL)
		rc = spec_check(&s) < 0 || rc < 0 ? -1 : 0;
	if (rc != 0) {
		spec_free(&s);
		free(text);
		return 1;
	}
	if (strcmp(cmd, "c") == 0)
		rc = emit_c(&s, outdir);
	else if (strcmp(cmd, "dot") == 0)
		rc = emit_dot(&s, stdout);
	else if (strcmp(cmd, "mermaid") == 0)
		rc = emit_mermaid(&s, stdout);
	else if (strcmp(cmd, "promela") == 0)
		rc = emit_promela(&s, stdout);
	if (fflush(stdout) != 0)
		rc = -1;
	spec_free(&s);
	free(text);
	return rc == 0 ? 0 : 2;
}
