/*
 * tests/daemon/seed.c: puts a Baileys creds.json into the file store as a
 * session snapshot (until `skykeeper import` exists), and reads a stored
 * snapshot's facts back for the daemon tests.
 *
 *   seed put DATA_DIR ID CREDS_DIR     generation 1, plain
 *   seed show DATA_DIR ID              "generation=N logged_out=0|1 state=S"
 */
#include <stdio.h>
#include <string.h>
#include "store/baileys.h"
#include "store/file.h"
#include "store/snapshot.h"

int
main(int argc, char **argv)
{
	struct store_file f;
	struct store_snap s;
	uint8_t *blob = NULL;
	size_t len = 0;
	char why[256];
	int rc;

	memset(&s, 0, sizeof(s));
	if (argc < 4 || store_file_open(&f, argv[2], why, sizeof(why)) < 0) {
		fprintf(stderr, "seed: usage or open failed\n");
		return 2;
	}
	if (strcmp(argv[1], "put") == 0 && argc == 5) {
		if (store_baileys_read(argv[4], &s.creds, why, sizeof(why)) < 0) {
			fprintf(stderr, "seed: %s\n", why);
			return 1;
		}
		snprintf(s.session_id, sizeof(s.session_id), "%s", argv[3]);
		s.generation = 1;
		rc = store_snap_encode(&s, NULL, &blob, &len, why, sizeof(why));
		if (rc == 0)
			rc = store_file_save(&f, argv[3], blob, len, why,
			    sizeof(why));
	} else {
		rc = store_file_load(&f, argv[3], &blob, &len, why, sizeof(why));
		if (rc == 0)
			rc = store_snap_decode(blob, len, NULL, &s, NULL, why,
			    sizeof(why));
		if (rc == 0)
			printf("generation=%llu logged_out=%d state=%s\n",
			    (unsigned long long)s.generation,
			    s.meta.logged_out, s.meta.last_state);
	}
	if (rc != 0)
		fprintf(stderr, "seed: %s\n", why);
	store_snap_blob_free(blob, len);
	store_snap_clear(&s);
	store_file_close(&f);
	return rc == 0 ? 0 : 1;
}
