/*
 * tests/check_config.c: every environment variable of `skykeeper run`:
 * its default, a good value, a bad one and the exact line it produces.
 *
 * config.c is compiled into this test directly: src/cli/ is not part of
 * the core every check binary links with.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "../src/cli/config.c"

struct fake_env {
	const char *kv[64];   /* name, value, name, value, ..., NULL */
};

static const char *
fake_get(const char *name, void *arg)
{
	struct fake_env *e = arg;

	for (int i = 0; e->kv[i] != NULL; i += 2)
		if (strcmp(e->kv[i], name) == 0)
			return e->kv[i + 1];
	return NULL;
}

/* Loads with one variable set; returns the error text (static). */
static char errbuf[4096];
static int
load1(struct cfg *c, const char *name, const char *value)
{
	struct fake_env e = { { name, value, NULL } };
	FILE *f = fmemopen(errbuf, sizeof(errbuf), "w");
	int n;

	memset(errbuf, 0, sizeof(errbuf));
	n = cfg_load(c, fake_get, &e, f);
	fclose(f);
	return n;
}

static char want[512];
static const char *
line(const char *var, const char *value, const char *form)
{
	snprintf(want, sizeof(want), "at=error msg=\"bad configuration\" "
	    "var=%s value=\"%s\" want=\"%s\"\n", var, value, form);
	return want;
}

START_TEST(defaults)
{
	struct cfg c;

	ck_assert_int_eq(load1(&c, "UNRELATED", "x"), 0);
	ck_assert_str_eq(errbuf, "");
	ck_assert_str_eq(c.data_dir, "./var");
	ck_assert_str_eq(c.wa_url, "wss://web.whatsapp.com/ws/chat");
	ck_assert_uint_eq(c.nsessions, 1);
	ck_assert_str_eq(c.sessions[0], "main");
	ck_assert_ptr_null(c.database_url);
	ck_assert_ptr_null(c.session_secret);
	ck_assert_ptr_null(c.idle_status);
	ck_assert_int_eq(c.root_overridden, 0);
	ck_assert_uint_eq(c.version[0], 2);
	ck_assert_uint_eq(c.version[1], 3000);
	ck_assert_uint_eq(c.version[2], 1043857760);
	ck_assert_double_eq(c.keepalive, 25);
	ck_assert_double_eq(c.keepalive_jitter, 5);
	ck_assert_double_eq(c.idle_deadline, 45);
	ck_assert_double_eq(c.ping_deadline, 10);
	ck_assert_double_eq(c.backoff_initial, 1);
	ck_assert_double_eq(c.backoff_factor, 2);
	ck_assert_double_eq(c.backoff_max, 60);
	ck_assert_double_eq(c.backoff_reset, 60);
	ck_assert_double_eq(c.replaced_floor, 300);
	ck_assert_double_eq(c.lease_ttl, 30);
	ck_assert_double_eq(c.drain_budget, 20);
	ck_assert_double_eq(c.heavy_every, 10800);
	ck_assert_double_eq(c.heavy_jitter, 1800);
	ck_assert_int_eq(c.log_level, LOG_INFO);
}
END_TEST

/* Every duration: good value taken, bad value refused with its line. */
static const struct { const char *var, *good, *bad, *form; size_t off; }
    durs[] = {
#define X(v, g, b, f, field) { v, g, b, f, offsetof(struct cfg, field) }
	X("SKYKEEPER_KEEPALIVE", "20", "abc", "seconds, a number, 0 < N <= 3600", keepalive),
	X("SKYKEEPER_KEEPALIVE_JITTER", "2", "-1", "seconds, a number, 0 <= N <= 3600", keepalive_jitter),
	X("SKYKEEPER_IDLE_DEADLINE", "60", "0", "seconds, a number, 0 < N <= 3600", idle_deadline),
	X("SKYKEEPER_PING_DEADLINE", "5", "601", "seconds, a number, 0 < N <= 600", ping_deadline),
	X("SKYKEEPER_CONNECT_TIMEOUT", "15", "1s", "seconds, a number, 0 < N <= 600", connect_timeout),
	X("SKYKEEPER_HEAVY_EVERY", "7200", "nan", "seconds, a number, 0 < N <= 604800", heavy_every),
	X("SKYKEEPER_HEAVY_JITTER", "60", "x", "seconds, a number, 0 <= N <= 604800", heavy_jitter),
	X("SKYKEEPER_BACKOFF_INITIAL", "0.5", "0", "seconds, a number, 0 < N <= 3600", backoff_initial),
	X("SKYKEEPER_BACKOFF_FACTOR", "1.5", "0.5", "a number, 1 <= N <= 100", backoff_factor),
	X("SKYKEEPER_BACKOFF_MAX", "120", "-5", "seconds, a number, 0 < N <= 86400", backoff_max),
	X("SKYKEEPER_BACKOFF_RESET", "0", "soon", "seconds, a number, 0 <= N <= 86400", backoff_reset),
	X("SKYKEEPER_REPLACED_FLOOR", "600", "1e9", "seconds, a number, 0 <= N <= 86400", replaced_floor),
	X("SKYKEEPER_LEASE_TTL", "45", "0", "seconds, a number, 0 < N <= 3600", lease_ttl),
	X("SKYKEEPER_DRAIN_BUDGET", "25", "31", "seconds, a number, 0 < N < 30", drain_budget),
	X("SKYKEEPER_METRICS_EVERY", "10", "0", "seconds, a number, 0 < N <= 86400", metrics_every),
	X("SKYKEEPER_APP_URL_EVERY", "10", "0", "seconds, a number, 0 < N <= 86400", app_url_every),
	X("SKYKEEPER_QR_FIRST", "2", "0", "seconds, a number, 0 < N <= 3600", qr_first),
	X("SKYKEEPER_QR_NEXT", "1.5", "3601", "seconds, a number, 0 < N <= 3600", qr_next),
	X("SKYKEEPER_PAIR_RETRY", "5", "-1", "seconds, a number, 0 < N <= 86400", pair_retry),
#undef X
};

START_TEST(durations)
{
	struct cfg c;

	ck_assert_int_eq(load1(&c, durs[_i].var, durs[_i].good), 0);
	ck_assert_double_eq(*(double *)((char *)&c + durs[_i].off),
	    atof(durs[_i].good));
	ck_assert_int_eq(load1(&c, durs[_i].var, durs[_i].bad), 1);
	ck_assert_str_eq(errbuf, line(durs[_i].var, durs[_i].bad,
	    durs[_i].form));
}
END_TEST

START_TEST(drain_budget_30)
{
	struct cfg c;

	ck_assert_int_eq(load1(&c, "SKYKEEPER_DRAIN_BUDGET", "30"), 1);
	ck_assert_str_eq(errbuf, line("SKYKEEPER_DRAIN_BUDGET", "30",
	    "seconds, a number, 0 < N < 30 (Heroku kills the dyno at 30 s)"));
	ck_assert_int_eq(load1(&c, "SKYKEEPER_DRAIN_BUDGET", "29.5"), 0);
}
END_TEST

static const struct { const char *var, *good, *bad, *shown, *form; } others[] = {
	{ "DATABASE_URL", "postgres://u:pw@db.example:5432/x",
	  "mysql://u:secretpw@h/db", "mysql://u:****@h/db",
	  "postgres://USER:PASSWORD@HOST:PORT/DB" },
	{ "SESSION_SECRET", "0123456789abcdef0123", "short", "****",
	  "at least 16 characters (e.g. openssl rand -hex 32)" },
	{ "SKYKEEPER_SESSIONS", "a,b, c", "a,../x",  "../x",
	  "comma-separated ids of 1-64 letters, digits, . _ -, starting with "
	  "a letter or digit" },
	{ "SKYKEEPER_WA_URL", "ws://127.0.0.1:1/ws/chat", "http://x/ws",
	  "http://x/ws", "a ws:// or wss:// URL" },
	{ "SKYKEEPER_WA_ROOT_KEY",
	  "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff",
	  "00112233", "00112233", "64 hex digits (a 32-byte public key)" },
	{ "SKYKEEPER_WA_VERSION", "2.3000.1", "2.3000", "2.3000",
	  "P.S.T, three numbers, e.g. 2.3000.1043857760" },
	{ "SKYKEEPER_IDLE_STATUS", "Available",
	  "0123456789012345678901234567890123456789012345678901234567890123456789"
	  "0123456789012345678901234567890123456789012345678901234567890123456789",
	  "01234567890123456789012345678901234567890123456789012345678901234567890123456789012345678901",
	  "text of at most 139 bytes" },
	{ "HEROKU_APP_URL", "https://app.herokuapp.com", "app.herokuapp.com",
	  "app.herokuapp.com", "an https:// URL" },
	{ "LOG_LEVEL", "debug", "loud", "loud", "error, warn, info or debug" },
	{ "SKYKEEPER_DATA_DIR", "/tmp/x", NULL, NULL, NULL },
	{ "PAIRING_NUMBER", "15550001234", "+1 555 000", "+1 555 000",
	  "the phone number in digits only, country code first, e.g. "
	  "15550001234 (no +, spaces or dashes)" },
	{ "PAIRING_NUMBER", "4915112345678", "05550001234", "05550001234",
	  "the phone number in digits only, country code first, e.g. "
	  "15550001234 (no +, spaces or dashes)" },
	{ "PAIRING_NUMBER", "123456", "12345", "12345",
	  "the phone number in digits only, country code first, e.g. "
	  "15550001234 (no +, spaces or dashes)" },
	{ "SKYKEEPER_QR_PNG", "/tmp/qr.png", NULL, NULL, NULL },
};

START_TEST(other_vars)
{
	struct cfg c;

	ck_assert_int_eq(load1(&c, others[_i].var, others[_i].good), 0);
	if (others[_i].bad == NULL)
		return;
	ck_assert_int_eq(load1(&c, others[_i].var, others[_i].bad), 1);
	ck_assert_str_eq(errbuf, line(others[_i].var, others[_i].shown,
	    others[_i].form));
	/* a secret's value never appears */
	ck_assert_ptr_null(strstr(errbuf, "secretpw"));
}
END_TEST

START_TEST(values_taken)
{
	struct cfg c;

	ck_assert_int_eq(load1(&c, "SKYKEEPER_SESSIONS", " a ,b,c "), 0);
	ck_assert_uint_eq(c.nsessions, 3);
	ck_assert_str_eq(c.sessions[0], "a");
	ck_assert_str_eq(c.sessions[2], "c");
	ck_assert_int_eq(load1(&c, "SKYKEEPER_SESSIONS", "a,b,a"), 1);
	ck_assert_ptr_nonnull(strstr(errbuf, "'a' is listed twice"));
	ck_assert_int_eq(load1(&c, "SKYKEEPER_WA_VERSION", "2.3000.7"), 0);
	ck_assert_uint_eq(c.version[2], 7);
	ck_assert_int_eq(c.version_overridden, 1);
	ck_assert_int_eq(load1(&c, "SKYKEEPER_WA_ROOT_KEY",
	    "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"), 0);
	ck_assert_int_eq(c.root_overridden, 1);
	ck_assert_uint_eq(c.root_key[1], 0x11);
	ck_assert_int_eq(load1(&c, "LOG_LEVEL", "warn"), 0);
	ck_assert_int_eq(c.log_level, LOG_WARN);
	ck_assert_ptr_null(c.pairing_number);
	ck_assert_ptr_null(c.qr_png);
	ck_assert_double_eq(c.qr_first, 60);
	ck_assert_double_eq(c.qr_next, 20);
	ck_assert_double_eq(c.pair_retry, 30);
	ck_assert_int_eq(load1(&c, "PAIRING_NUMBER", "15550001234"), 0);
	ck_assert_str_eq(c.pairing_number, "15550001234");
	ck_assert_int_eq(load1(&c, "PAIRING_NUMBER", "1555000123456789"), 1);
	/* PORT belongs to web dynos: accepted, ignored */
	ck_assert_int_eq(load1(&c, "PORT", "not-a-port"), 0);
}
END_TEST

START_TEST(cross_checks)
{
	struct cfg c;

	ck_assert_int_eq(load1(&c, "SKYKEEPER_HEAVY_JITTER", "10800"), 1);
	ck_assert_str_eq(errbuf, line("SKYKEEPER_HEAVY_JITTER", "10800",
	    "seconds, less than SKYKEEPER_HEAVY_EVERY"));
	/* jitter >= period also breaks the idle deadline: two lines */
	ck_assert_int_eq(load1(&c, "SKYKEEPER_KEEPALIVE_JITTER", "25"), 2);
	ck_assert_ptr_nonnull(strstr(errbuf, line("SKYKEEPER_KEEPALIVE_JITTER",
	    "25", "seconds, less than SKYKEEPER_KEEPALIVE")));
	ck_assert_int_eq(load1(&c, "SKYKEEPER_KEEPALIVE", "50"), 1);
	ck_assert_str_eq(errbuf, line("SKYKEEPER_IDLE_DEADLINE", "(default)",
	    "seconds, more than SKYKEEPER_KEEPALIVE + "
	    "SKYKEEPER_KEEPALIVE_JITTER"));
	ck_assert_int_eq(load1(&c, "SKYKEEPER_BACKOFF_MAX", "0.5"), 1);
	ck_assert_str_eq(errbuf, line("SKYKEEPER_BACKOFF_INITIAL", "(default)",
	    "seconds, at most SKYKEEPER_BACKOFF_MAX"));
	{
		/* one phone number cannot pair several sessions */
		struct fake_env e = { { "PAIRING_NUMBER", "15550001234",
		    "SKYKEEPER_SESSIONS", "a,b", NULL } };
		FILE *f = fmemopen(errbuf, sizeof(errbuf), "w");

		memset(errbuf, 0, sizeof(errbuf));
		ck_assert_int_eq(cfg_load(&c, fake_get, &e, f), 1);
		fclose(f);
		ck_assert_str_eq(errbuf, line("PAIRING_NUMBER", "15550001234",
		    "unset when SKYKEEPER_SESSIONS lists several sessions (pair "
		    "each with: skykeeper pair --session ID --phone NUMBER)"));
	}
}
END_TEST

START_TEST(one_line_per_bad_value)
{
	struct fake_env e = { { "SKYKEEPER_KEEPALIVE", "x", "LOG_LEVEL", "y",
	    "SKYKEEPER_WA_URL", "z", NULL } };
	struct cfg c;
	FILE *f = fmemopen(errbuf, sizeof(errbuf), "w");
	int n, lines = 0;

	memset(errbuf, 0, sizeof(errbuf));
	n = cfg_load(&c, fake_get, &e, f);
	fclose(f);
	ck_assert_int_eq(n, 3);
	for (char *p = errbuf; *p; p++)
		lines += *p == '\n';
	ck_assert_int_eq(lines, 3);
}
END_TEST

START_TEST(masking)
{
	struct fake_env e = { { "DATABASE_URL",
	    "postgres://user:hunter2@db.example:5432/app",
	    "SESSION_SECRET", "topsecretvalue-1234", NULL } };
	struct cfg c;
	char out[4096], m[256];
	FILE *f;

	cfg_mask_url("postgres://u:p@h/d", m, sizeof(m));
	ck_assert_str_eq(m, "postgres://u:****@h/d");
	cfg_mask_url("postgres://h/d", m, sizeof(m));
	ck_assert_str_eq(m, "postgres://h/d");
	ck_assert_int_eq(cfg_load(&c, fake_get, &e, stderr), 0);
	memset(out, 0, sizeof(out));
	f = fmemopen(out, sizeof(out), "w");
	cfg_print(&c, f);
	fclose(f);
	ck_assert_ptr_null(strstr(out, "hunter2"));
	ck_assert_ptr_null(strstr(out, "topsecretvalue"));
	ck_assert_ptr_nonnull(strstr(out,
	    "DATABASE_URL=\"postgres://user:****@db.example:5432/app\""));
	ck_assert_ptr_nonnull(strstr(out, "SESSION_SECRET=\"**** (set)\""));
	ck_assert_ptr_nonnull(strstr(out, "SKYKEEPER_KEEPALIVE=25\n"));
}
END_TEST

static Suite *
config_suite(void)
{
	Suite *s = suite_create("config");
	TCase *tc = tcase_create("env");

	tcase_add_test(tc, defaults);
	tcase_add_loop_test(tc, durations, 0, sizeof(durs) / sizeof(durs[0]));
	tcase_add_test(tc, drain_budget_30);
	tcase_add_loop_test(tc, other_vars, 0,
	    sizeof(others) / sizeof(others[0]));
	tcase_add_test(tc, values_taken);
	tcase_add_test(tc, cross_checks);
	tcase_add_test(tc, one_line_per_bad_value);
	tcase_add_test(tc, masking);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(config_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
