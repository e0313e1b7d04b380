/*
 * src/net/url.c: ws:// and wss:// URLs, split into what lws needs.
 *
 * Deliberately narrow: no user info, no percent-decoding, no fragments.
 * skykeeper only ever talks to web.whatsapp.com or a loopback test server,
 * and refusing anything unusual is cheaper than half-supporting it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "net/net.h"

static int
bad(char *why, size_t whylen, const char *msg)
{
	if (why != NULL && whylen > 0)
		snprintf(why, whylen, "%s", msg);
	return -1;
}

int
net_url_parse(const char *url, struct net_url *u, char *why, size_t whylen)
{
	const char *p, *host, *hend, *path;
	size_t hlen;
	int defport;

	memset(u, 0, sizeof(*u));
	if (url == NULL)
		return bad(why, whylen, "no URL");
	if (strncasecmp(url, "wss://", 6) == 0) {
		u->tls = 1;
		p = url + 6;
		defport = 443;
	} else if (strncasecmp(url, "ws://", 5) == 0) {
		p = url + 5;
		defport = 80;
	} else
		return bad(why, whylen, "URL must start with ws:// or wss://");

	if (*p == '[') {                      /* [v6]:port */
		host = p + 1;
		hend = strchr(host, ']');
		if (hend == NULL)
			return bad(why, whylen, "URL has an unclosed '['");
		p = hend + 1;
	} else {
		host = p;
		hend = p + strcspn(p, ":/?#");
		p = hend;
	}
	hlen = (size_t)(hend - host);
	if (hlen == 0)
		return bad(why, whylen, "URL has no host");
	if (hlen >= sizeof(u->host))
		return bad(why, whylen, "URL host is too long");
	if (memchr(host, '@', hlen) != NULL)
		return bad(why, whylen, "URL must not carry user info");
	memcpy(u->host, host, hlen);

	u->port = defport;
	if (*p == ':') {
		char *end;
		long port = strtol(p + 1, &end, 10);
		if (end == p + 1 || port < 1 || port > 65535)
			return bad(why, whylen, "URL port must be 1-65535");
		u->port = (int)port;
		p = end;
	}
	if (*p != '\0' && *p != '/' && *p != '?')
		return bad(why, whylen, "URL has junk after the host");
	if (strchr(p, '#') != NULL)
		return bad(why, whylen, "URL must not have a fragment");

	path = *p == '\0' ? "/" : p;
	if (*path == '?') {
		if (snprintf(u->path, sizeof(u->path), "/%s", path) >=
		    (int)sizeof(u->path))
			return bad(why, whylen, "URL path is too long");
	} else if (snprintf(u->path, sizeof(u->path), "%s", path) >=
	    (int)sizeof(u->path))
		return bad(why, whylen, "URL path is too long");

	/* A v6 literal keeps its brackets in the Host header. */
	if (u->port == defport)
		snprintf(u->hostport, sizeof(u->hostport),
		    strchr(u->host, ':') ? "[%s]" : "%s", u->host);
	else
		snprintf(u->hostport, sizeof(u->hostport),
		    strchr(u->host, ':') ? "[%s]:%d" : "%s:%d", u->host,
		    u->port);
	return 0;
}
