/* recorder: helpers of the result-recording interface (see recorder.h). */
#include "recorder.h"

#include <arpa/inet.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "engine.h"

/* Dotted-quad text of 'a' into 'out' (at least 16 bytes), as inet_ntop writes it: a simulation
 * ends tens of thousands of flows a second, and inet_ntop's sprintf was about 4 % of the engine's
 * time there. */
static void ip4_text(const uint8_t *a, char *out)
{
	for (int i = 0; i < 4; i++) {
		unsigned v = a[i];
		if (v >= 100)
			*out++ = (char)('0' + v / 100);
		if (v >= 10)
			*out++ = (char)('0' + v / 10 % 10);
		*out++ = (char)('0' + v % 10);
		*out++ = i < 3 ? '.' : '\0';
	}
}

static void addr_text(int family, const uint8_t *a, char *out, size_t n)
{
	if (family == 4)
		ip4_text(a, out);
	else if (!inet_ntop(AF_INET6, a, out, (socklen_t)n))
		out[0] = '\0';
}

void recorder_flow_init(struct recorder_flow *f, const struct engine_flow_info *fi)
{
	memset(f, 0, sizeof *f);
	f->flow_id = fi->id;
	f->proto = fi->proto;
	addr_text(fi->family, fi->src, f->src, sizeof f->src);
	addr_text(fi->family, fi->dst, f->dst, sizeof f->dst);
	f->sport = fi->sport;
	f->dport = fi->dport;
	f->packets = fi->packets;
	f->bytes = fi->bytes;
	f->hits = fi->hits;
	f->misses = fi->misses;
	f->wasted = fi->wasted;
	f->first_ns = fi->first_ns;
	f->last_ns = fi->last_ns;
}

int rec_paramf(const struct recorder *r, const char *name, const char *fmt, ...)
{
	char v[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(v, sizeof v, fmt, ap);
	va_end(ap);
	return rec_param(r, name, v);
}
