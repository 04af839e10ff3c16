/* flowwalk: see flowwalk.h. */
#include "flowwalk.h"

#include "core/flow.h"
#include "core/pkt.h"
#include "traces/trace.h"

int flowwalk(const char *path, size_t user_size, flowwalk_fn fn, void *arg, struct errbuf *eb)
{
	struct trace *tr;
	int rc = trace_open(path, &tr, eb);
	if (rc)
		return rc;
	struct flow_table_cfg fc = { .capacity = 1u << 18, .user_size = user_size };
	struct flow_table *ft;
	if ((rc = flow_table_create(&fc, &ft)) != 0) {
		trace_close(tr);
		return err_set(eb, rc, "out of memory");
	}
	int lt = trace_linktype(tr);
	struct trace_rec r;
	struct pkt p;
	while ((rc = trace_next(tr, &r, eb)) == 1) {
		if (pkt_parse(r.data, r.caplen, r.wirelen, lt, &p) || p.l3 == PKT_L3_NONE ||
		    (p.l4 != PKT_L4_TCP && p.l4 != PKT_L4_UDP) || p.is_fragment)
			continue;
		pkt_tcp_opts(&p);
		struct flow_key k;
		bool src_a, created;
		flow_key_from_pkt(&p, &k, &src_a);
		struct flow_entry *f = flow_table_get(ft, &k, flow_key_hash(&k, NULL), src_a, r.t_ns, &created);
		if (!created && p.l4 == PKT_L4_TCP && flow_tcp_is_restart(f, p.tcp.flags))
			flow_table_restart(ft, f, src_a, r.t_ns);
		unsigned d = flow_dir(f, src_a);
		struct pred_pkt a;
		pred_pkt_fill(&a, &p, d, r.t_ns, f->packets[0] + f->packets[1]);
		a.dst_hash = p.l3 == PKT_L3_IPV4 ? pred_addr_hash(p.ip4.dst, 4) : pred_addr_hash(p.ip6.dst, 16);
		flow_account(f, d, r.wirelen, r.t_ns);
		if (p.l4 == PKT_L4_TCP)
			flow_tcp_update(f, d, p.tcp.flags);
		if ((rc = fn(arg, flow_user(ft, f), &a)) != 0)
			break;
	}
	flow_table_destroy(ft);
	trace_close(tr);
	return rc < 0 || rc > 1 ? rc : 0;
}
