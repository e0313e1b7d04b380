/*
 * tools/wa-testserver/load.c: `wa-testserver load`, the bounded load tool.
 *
 *   wa-testserver load --port N --bulk FILE --count N --server-pid PID
 *                      [--steps 1000,10000] [--inflight 200]
 *                      [--hold-ms 2000] [--timeout-s 300]
 *
 * Opens up to --count loopback connections with the devices of a
 * --make-devices FILE (line i = connection i), each doing the real Noise
 * handshake and login, at most --inflight at a time; holds them idle.  At
 * every step (default: --count) it waits for the server to settle, reads
 * the server's VmRSS from /proc/PID/status and prints
 *
 *   step=1000 logged_in=1000 failed=0 secs=0.9 rss_kib=… base_kib=…
 *        per_conn_bytes=…
 *
 * per_conn_bytes = (VmRSS now - VmRSS before the first connection) /
 * connections logged in.  Bounded in count (--count <= 100000) and in time
 * (--timeout-s); loopback only.  Exit 0 when every connection logged in.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include "wa-testserver/ts.h"
#include "wa-testserver/tsc.h"

struct slot {
	struct tsc c;
	struct load *l;
	int logged;
};

struct load {
	struct ev_loop *loop;
	struct slot *slots;
	long count, next, inflight_max, inflight, logged, failed, dropped;
	long steps[16];
	int nsteps, step;
	long pid, base_kib;
	int port;
	double t0, hold_s;
	ev_timer settle, deadline, hold;
};

static long
rss_kib(long pid)
{
	char path[64], line[256];
	long v = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%ld/status", pid);
	if ((f = fopen(path, "r")) == NULL)
		return -1;
	while (fgets(line, sizeof(line), f) != NULL)
		if (sscanf(line, "VmRSS: %ld kB", &v) == 1)
			break;
	fclose(f);
	return v;
}

static void launch(struct load *l);

static void
on_login(struct tsc *c, const struct wa_node *n, int ok)
{
	struct slot *s = c->arg;
	struct load *l = s->l;

	(void)n;
	l->inflight--;
	if (ok) {
		s->logged = 1;
		l->logged++;
	} else {
		l->failed++;
		tsc_close(c);
	}
	launch(l);
}

static void
on_node(struct tsc *c, const struct wa_node *n)
{
	(void)c;
	(void)n;       /* success is followed by <ib><offline/>: nothing to do */
}

static void
on_closed(struct tsc *c, const char *how)
{
	struct slot *s = c->arg;
	struct load *l = s->l;

	if (s->logged) {
		l->dropped++;
		l->logged--;
		s->logged = 0;
		fprintf(stderr, "load: connection %ld dropped: %s\n",
		    (long)(s - l->slots), how);
		return;
	}
	l->inflight--;
	l->failed++;
	if (l->failed <= 5)
		fprintf(stderr, "load: connection %ld failed: %s\n",
		    (long)(s - l->slots), how);
	launch(l);
}

static const struct tsc_cb load_cb = { on_login, on_node, on_closed };

static void
launch(struct load *l)
{
	long target = l->steps[l->step];

	while (l->next < target && l->inflight < l->inflight_max) {
		struct slot *s = &l->slots[l->next++];
		if (tsc_start(&s->c, l->loop, "127.0.0.1", l->port) < 0) {
			l->failed++;
			continue;
		}
		l->inflight++;
	}
	if (l->next >= target && l->inflight == 0 &&
	    !ev_is_active(&l->settle)) {
		/* let the server free its handshake leftovers first */
		ev_timer_set(&l->settle, 1.5, 0.);
		ev_timer_start(l->loop, &l->settle);
	}
}

static void
settle_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct load *l = w->data;
	long rss = rss_kib(l->pid);
	long n = l->logged;

	(void)revents;
	printf("step=%ld logged_in=%ld failed=%ld secs=%.1f rss_kib=%ld "
	    "base_kib=%ld per_conn_bytes=%ld\n", l->steps[l->step], n,
	    l->failed, ev_now(loop) - l->t0, rss, l->base_kib,
	    n > 0 && rss > 0 ? (rss - l->base_kib) * 1024 / n : -1);
	fflush(stdout);
	if (++l->step < l->nsteps) {
		launch(l);
		return;
	}
	ev_timer_set(&l->hold, l->hold_s, 0.);
	ev_timer_start(loop, &l->hold);
}

static void
end_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct load *l = w->data;

	(void)revents;
	if (w == &l->deadline)
		printf("timeout logged_in=%ld failed=%ld\n", l->logged,
		    l->failed);
	ev_break(loop, EVBREAK_ALL);
}

static void
load_usage(void)
{
	fputs("usage: wa-testserver load --port N --bulk FILE --count N "
	    "--server-pid PID\n"
	    "         [--steps 1000,10000] [--inflight 200] [--hold-ms 2000] "
	    "[--timeout-s 300]\n", stderr);
	exit(2);
}

static int
read_bulk(struct load *l, const char *path)
{
	FILE *f = fopen(path, "r");
	char line[256], hex[80];
	unsigned long long phone;
	unsigned dev;
	uint8_t priv[32];
	long i = 0;

	if (f == NULL)
		return -1;
	while (i < l->count && fgets(line, sizeof(line), f) != NULL) {
		struct tsc *c = &l->slots[i].c;
		if (sscanf(line, "%llu %u %79s", &phone, &dev, hex) != 3 ||
		    strlen(hex) != 64 || ts_unhex(hex, priv, 32) < 0 ||
		    wa_keypair_from_private(&c->noise, priv) < 0) {
			fclose(f);
			return -1;
		}
		snprintf(c->me_jid, sizeof(c->me_jid), "%llu:%u@s.whatsapp.net",
		    phone, dev);
		c->cb = &load_cb;
		c->arg = &l->slots[i];
		l->slots[i].l = l;
		i++;
	}
	fclose(f);
	return i == l->count ? 0 : -1;
}

int
ts_load_main(int argc, char **argv)
{
	static struct load l;
	const char *bulk = NULL, *steps = NULL;
	long timeout_s = 300, hold_ms = 2000;
	struct rlimit rl;
	char *p, *end;
	int i;

	l.inflight_max = 200;
	for (i = 1; i + 1 < argc; i += 2) {
		const char *a = argv[i], *v = argv[i + 1];
		if (strcmp(a, "--port") == 0)
			l.port = atoi(v);
		else if (strcmp(a, "--bulk") == 0)
			bulk = v;
		else if (strcmp(a, "--count") == 0)
			l.count = atol(v);
		else if (strcmp(a, "--server-pid") == 0)
			l.pid = atol(v);
		else if (strcmp(a, "--steps") == 0)
			steps = v;
		else if (strcmp(a, "--inflight") == 0)
			l.inflight_max = atol(v);
		else if (strcmp(a, "--hold-ms") == 0)
			hold_ms = atol(v);
		else if (strcmp(a, "--timeout-s") == 0)
			timeout_s = atol(v);
		else
			load_usage();
	}
	if (i != argc || l.port <= 0 || bulk == NULL || l.count <= 0 ||
	    l.count > 100000 || l.pid <= 0 || l.inflight_max <= 0 ||
	    timeout_s <= 0 || timeout_s > 3600 || hold_ms < 0)
		load_usage();
	for (p = (char *)steps; p != NULL && *p && l.nsteps < 16; p = end) {
		l.steps[l.nsteps] = strtol(p, &end, 10);
		if (l.steps[l.nsteps] <= 0 || l.steps[l.nsteps] > l.count ||
		    (l.nsteps && l.steps[l.nsteps] <= l.steps[l.nsteps - 1]))
			load_usage();
		l.nsteps++;
		if (*end == ',')
			end++;
	}
	if (l.nsteps == 0 || l.steps[l.nsteps - 1] != l.count)
		l.steps[l.nsteps++] = l.count;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
		rl.rlim_cur = rl.rlim_max;
		(void)setrlimit(RLIMIT_NOFILE, &rl);
		if (rl.rlim_cur < (rlim_t)l.count + 16) {
			fprintf(stderr, "load: RLIMIT_NOFILE %lu is below %ld\n",
			    (unsigned long)rl.rlim_cur, l.count + 16);
			return 2;
		}
	}
	if ((l.slots = calloc((size_t)l.count, sizeof(*l.slots))) == NULL ||
	    read_bulk(&l, bulk) < 0) {
		fprintf(stderr, "load: %s: need %ld lines PHONE DEV NOISE_HEX\n",
		    bulk, l.count);
		return 2;
	}
	if ((l.base_kib = rss_kib(l.pid)) < 0) {
		fprintf(stderr, "load: no /proc/%ld/status\n", l.pid);
		return 2;
	}
	l.loop = ev_default_loop(0);
	l.hold_s = hold_ms / 1000.0;
	ev_init(&l.settle, settle_cb);
	l.settle.data = &l;
	ev_init(&l.hold, end_cb);
	l.hold.data = &l;
	ev_timer_init(&l.deadline, end_cb, (double)timeout_s, 0.);
	l.deadline.data = &l;
	ev_timer_start(l.loop, &l.deadline);
	ev_now_update(l.loop);
	l.t0 = ev_now(l.loop);
	launch(&l);
	ev_run(l.loop, 0);
	printf("end logged_in=%ld failed=%ld dropped=%ld\n", l.logged, l.failed,
	    l.dropped);
	fflush(stdout);
	for (i = 0; i < l.next; i++)     /* only those started */
		tsc_close(&l.slots[i].c);
	free(l.slots);
	return l.failed == 0 && l.dropped == 0 && l.logged == l.count ? 0 : 1;
}
