/*
 * tools/wa-testserver/main.c: bin/wa-testserver, a loopback WhatsApp Web
 * server for tests (README.md next to this file), and its two helpers:
 *
 *   wa-testserver [--port N] [--control-port N] [--registry DIR]
 *                 [--root-key FILE] [--log FILE] [--prekey-count N]
 *                 [--pair-refs N] [-v]
 *   wa-testserver --registry DIR --make-device OUTDIR [--phone N]
 *   wa-testserver --registry DIR --make-devices N OUTFILE
 *   wa-testserver --registry DIR --adopt-device DIR
 *   wa-testserver client …   a scripted test client (client.c)
 *   wa-testserver load …     the bounded load tool (load.c)
 *
 * At start it prints one line on stdout, e.g.
 *   root_key=<64 hex> port=41234 control_port=41235 pid=123
 * and then runs until SIGTERM or SIGINT, when it exits 0.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>
#include "wa/cert.h"
#include "store/baileys.h"
#include "wa-testserver/ts.h"

#define IFACE "127.0.0.1"

void
ts_say(struct ts_server *s, const char *fmt, ...)
{
	char line[512];
	struct timeval tv;
	va_list ap;
	int n;

	(void)s;
	gettimeofday(&tv, NULL);
	n = snprintf(line, sizeof(line), "wa-testserver %lld.%03d ",
	    (long long)tv.tv_sec, (int)(tv.tv_usec / 1000));
	va_start(ap, fmt);
	vsnprintf(line + n, sizeof(line) - (size_t)n - 1, fmt, ap);
	va_end(ap);
	strcat(line, "\n");
	fputs(line, stderr);
}

static void
usage(void)
{
	fputs("usage: wa-testserver [--port N] [--control-port N] "
	    "[--registry DIR]\n"
	    "                     [--root-key FILE] [--log FILE] "
	    "[--prekey-count N]\n"
	    "                     [--pair-refs N] [-v]\n"
	    "       wa-testserver --registry DIR --make-device OUTDIR "
	    "[--phone N]\n"
	    "       wa-testserver --registry DIR --make-devices N OUTFILE\n"
	    "       wa-testserver --registry DIR --adopt-device DIR\n"
	    "       wa-testserver client --help\n"
	    "       wa-testserver load --help\n", stderr);
	exit(2);
}

/* 10,000 connections need 10,000 descriptors: take what the hard limit
 * allows. */
static void
raise_nofile(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		(void)setrlimit(RLIMIT_NOFILE, &rl);
	}
}

/* The root key pair: FILE holds the private key in hex; made when
 * missing, so a test can keep one root across restarts. */
static int
root_key(const char *path, struct wa_keypair *kp)
{
	char hex[80];
	FILE *f;

	if (path != NULL && (f = fopen(path, "r")) != NULL) {
		int ok = fgets(hex, sizeof(hex), f) != NULL;
		uint8_t priv[32];
		fclose(f);
		if (!ok || strlen(hex) < 64 || ts_unhex(hex, priv, 32) < 0 ||
		    wa_keypair_from_private(kp, priv) < 0) {
			fprintf(stderr, "wa-testserver: %s: expected 64 hex "
			    "digits (the root private key)\n", path);
			return -1;
		}
		return 0;
	}
	if (wa_keypair_generate(kp) < 0)
		return -1;
	if (path != NULL) {
		int fd;
		ts_hex(kp->priv, 32, hex);
		strcat(hex, "\n");
		fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
		if (fd < 0 || write(fd, hex, strlen(hex)) != (ssize_t)strlen(hex)) {
			fprintf(stderr, "wa-testserver: %s: %s\n", path,
			    strerror(errno));
			return -1;
		}
		close(fd);
	}
	return 0;
}

static struct ts_server *the_server;   /* for the signal watchers only */

static void
on_signal(struct ev_loop *loop, ev_signal *w, int revents)
{
	(void)revents;
	ts_say(the_server, "signal %d: exiting", w->signum);
	ev_break(loop, EVBREAK_ALL);
}

static int
serve(struct ts_server *s, const char *regdir, const char *rootfile,
    const char *logfile)
{
	char why[256], hex[65];
	uint64_t now = (uint64_t)time(NULL);

	raise_nofile();
	signal(SIGPIPE, SIG_IGN);
	if (ts_registry_open(&s->reg, regdir, why, sizeof(why)) < 0) {
		fprintf(stderr, "wa-testserver: registry: %s\n", why);
		return 1;
	}
	if (root_key(rootfile, &s->root) < 0 ||
	    wa_keypair_generate(&s->noise) < 0 ||
	    wa_keypair_generate(&s->account) < 0 ||
	    wa_cert_issue_chain(s->root.priv, s->noise.pub, 1, now - 3600,
	    now + 30 * 86400, &s->chain) < 0) {
		fprintf(stderr, "wa-testserver: cannot make keys and "
		    "certificates\n");
		return 1;
	}
	if (logfile != NULL && (s->log = fopen(logfile, "a")) == NULL) {
		fprintf(stderr, "wa-testserver: %s: %s\n", logfile,
		    strerror(errno));
		return 1;
	}
	s->loop = ev_default_loop(0);
	the_server = s;
	ev_signal_init(&s->sigint, on_signal, SIGINT);
	ev_signal_init(&s->sigterm, on_signal, SIGTERM);
	ev_signal_start(s->loop, &s->sigint);
	ev_signal_start(s->loop, &s->sigterm);
	if (ts_server_start(s, IFACE) < 0)
		return 1;
	ts_hex(s->root.pub, 32, hex);
	printf("root_key=%s port=%d control_port=%d pid=%d\n", hex, s->port,
	    s->ctl_port, (int)getpid());
	fflush(stdout);
	ts_say(s, "listening on ws://%s:%d/ws/chat, control http://%s:%d/, "
	    "%zu registered devices", IFACE, s->port, IFACE, s->ctl_port,
	    s->reg.count);
	ev_run(s->loop, 0);
	ts_server_stop(s);
	ev_signal_stop(s->loop, &s->sigint);
	ev_signal_stop(s->loop, &s->sigterm);
	if (s->log != NULL)
		fclose(s->log);
	wa_buf_free(&s->chain);
	wa_buf_free(&s->scratch);
	wa_buf_free(&s->logbuf);
	ts_registry_free(&s->reg);
	return 0;
}

/*
 * --adopt-device DIR: registers the device whose credentials are in
 * DIR/creds.json (made elsewhere: by stock Baileys, or exported by
 * skykeeper), so it can log in here: its phone and device from me.id, its
 * noise and identity public keys, its LID (PHONE:DEV@lid when it has
 * none).  Prints the same line as --make-device.
 */
static int
adopt_device(const char *regdir, const char *dir, char *why, size_t whylen)
{
	struct wa_creds c;
	uint64_t phone;
	uint32_t dev;
	char lid[TS_LID_MAX];

	if (store_baileys_read(dir, &c, why, whylen) < 0)
		return -1;
	if (c.me_jid[0] == '\0' || wa_creds_user_device(&c, &phone, &dev) < 0) {
		snprintf(why, whylen, "%s/creds.json: no me.id: not a paired device",
		    dir);
		wa_creds_wipe(&c);
		return -1;
	}
	if (c.me_lid[0] != '\0' && strlen(c.me_lid) < sizeof(lid))
		snprintf(lid, sizeof(lid), "%s", c.me_lid);
	else
		snprintf(lid, sizeof(lid), "%llu:%u@lid", (unsigned long long)phone,
		    dev);
	if (ts_registry_append(regdir, phone, dev, c.noise.pub, c.identity.pub,
	    lid, why, whylen) < 0) {
		wa_creds_wipe(&c);
		return -1;
	}
	printf("device=%llu:%u jid=%s lid=%s dir=%s\n", (unsigned long long)phone,
	    dev, c.me_jid, lid, dir);
	fflush(stdout);
	wa_creds_wipe(&c);
	return 0;
}

static long
num(const char *s, long lo, long hi)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || *end || v < lo || v > hi)
		usage();
	return v;
}

int
main(int argc, char **argv)
{
	static struct ts_server s;
	const char *regdir = NULL, *rootfile = NULL, *logfile = NULL;
	const char *mkdev = NULL, *mkdevs_file = NULL, *adopt = NULL;
	unsigned long long phone = 0;
	long mkdevs = 0;
	char why[256];
	int i;

	if (argc > 1 && strcmp(argv[1], "client") == 0)
		return ts_client_main(argc - 1, argv + 1);
	if (argc > 1 && strcmp(argv[1], "load") == 0)
		return ts_load_main(argc - 1, argv + 1);
	s.prekey_count = 50;
	s.pair_refs = 6;
	for (i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (strcmp(a, "-v") == 0 || strcmp(a, "--verbose") == 0) {
			s.verbose++;
			continue;
		}
		if (v == NULL)
			usage();
		i++;
		if (strcmp(a, "--port") == 0)
			s.port = (int)num(v, 0, 65535);
		else if (strcmp(a, "--control-port") == 0)
			s.ctl_port = (int)num(v, 0, 65535);
		else if (strcmp(a, "--registry") == 0)
			regdir = v;
		else if (strcmp(a, "--root-key") == 0)
			rootfile = v;
		else if (strcmp(a, "--log") == 0)
			logfile = v;
		else if (strcmp(a, "--prekey-count") == 0)
			s.prekey_count = (uint32_t)num(v, 0, 100000);
		else if (strcmp(a, "--pair-refs") == 0)
			s.pair_refs = (unsigned)num(v, 1, WA_PAIR_MAX_REFS);
		else if (strcmp(a, "--make-device") == 0)
			mkdev = v;
		else if (strcmp(a, "--adopt-device") == 0)
			adopt = v;
		else if (strcmp(a, "--phone") == 0)
			phone = (unsigned long long)num(v, 1, 0x7fffffffffffffffL);
		else if (strcmp(a, "--make-devices") == 0) {
			mkdevs = num(v, 1, 1000000);
			if (i + 1 >= argc)
				usage();
			mkdevs_file = argv[++i];
		} else
			usage();
	}
	if (regdir == NULL) {
		fputs("wa-testserver: --registry DIR is required\n", stderr);
		usage();
	}
	if (adopt != NULL) {
		if (adopt_device(regdir, adopt, why, sizeof(why)) < 0) {
			fprintf(stderr, "wa-testserver: %s\n", why);
			return 1;
		}
		return 0;
	}
	if (mkdev != NULL) {
		if (ts_make_device(regdir, mkdev, phone, why, sizeof(why)) < 0) {
			fprintf(stderr, "wa-testserver: %s\n", why);
			return 1;
		}
		return 0;
	}
	if (mkdevs > 0) {
		if (ts_make_devices(regdir, mkdevs_file, (unsigned)mkdevs, why,
		    sizeof(why)) < 0) {
			fprintf(stderr, "wa-testserver: %s\n", why);
			return 1;
		}
		return 0;
	}
	return serve(&s, regdir, rootfile, logfile);
}
