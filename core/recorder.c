/* recorder: helpers of the result-recording interface (see recorder.h). */
#include "recorder.h"

#include <arpa/inet.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "engine.h"

void recorder_flow_init(struct recorder_flow *f, const struct engine_flow_info *fi)
{
	memset(f, 0, sizeof *f);
	f->flow_id = fi->id;
	f->proto = fi->proto;
	inet_ntop(fi->family == 4 ? AF_INET : AF_INET6, fi->src, f->src, sizeof f->src);
	inet_ntop(fi->family == 4 ? AF_INET : AF_INET6, fi->dst, f->dst, sizeof f->dst);
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
