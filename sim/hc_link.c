/* hc_link: header compression on link.out (link.out.compress, core/hc.h).
 *
 * The shaper's egress frame is compressed when it is offered to link.out, so that its
 * serialisation takes the compressed frame's bytes; the link's loss hits compressed frames; the
 * far end's decompressor rebuilds what arrives, in the order it arrives (the link is FIFO, so
 * that is the order of offering: it is run then; a frame the full queue drops never reaches the
 * compressor), and a packet it cannot rebuild (a lost frame's
 * flow waiting for its refresh, a header failing its CRC) does not reach the sink.  Every frame
 * it rebuilds is compared with the frame compressed (hc_wrong counts any difference: 0 is the
 * contract).  Both ends are handed the time the frame was offered (the pcap's timestamp in
 * `replay --compress`); the decompressor's own CPU time is not charged.  With
 * link.out.compress_feedback, what the decompressor sends back (hc_feedback) reaches the
 * compressor a link.out delay after the frame that caused it arrived, neither queued nor lost. */
#include <stdlib.h>
#include <string.h>

#include "core/hc.h"
#include "core/predict.h"
#include "core/recorder.h"
#include "model_impl.h"
#include "models/registry.h"

#define HCL_FRAME_MAX (1u << 18)

/* Feedback on its way back to the compressor, oldest first (arrival times only grow: the link
 * is FIFO and the way back a constant delay). */
#define HCL_FB_RING 4096
struct hcl_fb {
	uint64_t t;
	uint8_t len, b[HC_FEEDBACK_MAX];
};

struct hc_link {
	struct hc *c, *d;
	const struct predictor_ops *ops;
	void *pc, *pd;
	uint8_t *out, *back;
	uint64_t wrong, link_lost, sink_bytes;
	struct hcl_fb *fb;         /* NULL without link.out.compress_feedback */
	uint32_t fb_head, fb_n;
	uint64_t fb_sent, fb_overflow;
};

static int make(const struct scenario *scn, const struct predictor_ops *ops, const char *model, bool dec,
		struct hc **h, void **pred, struct errbuf *eb)
{
	int rc;
	if (ops && (rc = ops->create(model, pred, eb)) != 0)
		return rc;
	struct hc_cfg cfg = { .contexts = HC_CONTEXTS_DEFAULT, .refresh = (uint32_t)scn->out_compress_refresh,
			      .ops = ops, .pred = *pred };
	snprintf(cfg.name, sizeof cfg.name, "%s", scn->out_compress);
	return hc_create(&cfg, dec, h, eb);
}

int model__hcl_setup(struct model *m, struct errbuf *eb)
{
	const struct scenario *scn = m->scn;
	if (!scn->out_compress[0] || !strcmp(scn->out_compress, "none"))
		return 0;
	if (m->cpus2)
		return err_set(eb, -ERR_UNSUPPORTED, "link.out.compress: not with shaper.gateways = 2");
	struct hc_link *l = calloc(1, sizeof *l);
	if (!l)
		return err_set(eb, -ERR_NOMEM, "out of memory");
	m->hcl = l;
	if (strcmp(scn->out_compress, "vj") != 0)
		l->ops = models_find(scn->out_compress);
	char model[SCN_PATH * 2] = "";
	if (scn->out_compress_model[0] && strcmp(scn->out_compress_model, "none"))
		scenario_resolve(scn, scn->out_compress_model, model, sizeof model);
	if (l->ops && models_trained(l->ops) && !model[0])
		return err_set(eb, -ERR_FORMAT, "link.out.compress = %s: needs link.out.compress_model (precraft train)",
			       scn->out_compress);
	const char *mf = model[0] && l->ops && models_trained(l->ops) ? model : NULL;
	int rc = make(scn, l->ops, mf, false, &l->c, &l->pc, eb);
	if (!rc)
		rc = make(scn, l->ops, mf, true, &l->d, &l->pd, eb);
	if (rc)
		return rc;
	l->out = malloc(HCL_FRAME_MAX + HC_OVERHEAD_MAX);
	l->back = malloc(HCL_FRAME_MAX + HC_OVERHEAD_MAX + HC_HDR_MAX + 64);
	if (scn->out_compress_feedback && !(l->fb = malloc(HCL_FB_RING * sizeof *l->fb)))
		return err_set(eb, -ERR_NOMEM, "out of memory");
	return l->out && l->back ? 0 : err_set(eb, -ERR_NOMEM, "out of memory");
}

void model__hcl_free(struct model *m)
{
	struct hc_link *l = m->hcl;
	if (!l)
		return;
	hc_destroy(l->c);
	hc_destroy(l->d);
	if (l->ops) {
		if (l->pc)
			l->ops->destroy(l->pc);
		if (l->pd)
			l->ops->destroy(l->pd);
	}
	free(l->out);
	free(l->back);
	free(l->fb);
	free(l);
	m->hcl = NULL;
}

enum link_verdict model__hcl_send(struct model *m, struct simpkt *p, uint64_t *arrive)
{
	struct hc_link *l = m->hcl;
	uint64_t now = sched_now(m->s);
	uint32_t w = p->eg_wirelen;
	/* The feedback that has come back by now. */
	while (l->fb_n && l->fb[l->fb_head].t <= now) {
		hc_take_feedback(l->c, l->fb[l->fb_head].b, l->fb[l->fb_head].len);
		l->fb_head = (l->fb_head + 1) % HCL_FB_RING;
		l->fb_n--;
	}
	/* A frame the full queue drops never reaches the compressor, which works where frames
	 * take their place on the link. */
	if (!p->eg_set || w > HCL_FRAME_MAX || link_full(&m->out, now))
		return link_send(&m->out, now, w, arrive);
	uint32_t n = hc_compress(l->c, p->eg, w, w, now, l->out);
	enum link_verdict v = link_send(&m->out, now, n, arrive);
	if (v != LINK_OK) {
		hc_lost(l->d); /* the link's error signal (vj needs it) */
		return v;
	}
	uint32_t k = hc_decompress(l->d, l->out, n, now, l->back, HCL_FRAME_MAX + HC_OVERHEAD_MAX + HC_HDR_MAX + 64);
	uint8_t fb[HC_FEEDBACK_MAX];
	uint32_t fl = l->fb ? hc_feedback(l->d, fb) : 0;
	if (fl) {
		if (l->fb_n == HCL_FB_RING) {
			l->fb_overflow++;
		} else {
			struct hcl_fb *e = &l->fb[(l->fb_head + l->fb_n++) % HCL_FB_RING];
			e->t = *arrive + m->out.delay_ns;
			e->len = (uint8_t)fl;
			memcpy(e->b, fb, fl);
			l->fb_sent++;
		}
	}
	if (!k)
		return LINK_LOST;
	if (k != w || memcmp(l->back, p->eg, w) != 0) {
		l->wrong++;
		return LINK_LOST;
	}
	return LINK_OK;
}

static void one(void *arg, const char *name, double v)
{
	const struct model *m = arg;
	rec_scalar(m->rec, name, v);
}

/* The decompressor's counters are the far end's; the compressor's the near end's. */
static void far(void *arg, const char *name, double v)
{
	if (!strcmp(name, "hc_delivered") || !strcmp(name, "crc_failures") || !strncmp(name, "hc_dropped", 10))
		one(arg, name, v);
}
/* hc_feedback_refreshes is the compressor's (near) */
static void near(void *arg, const char *name, double v)
{
	if (!strcmp(name, "hc_delivered") || !strcmp(name, "crc_failures") || !strncmp(name, "hc_dropped", 10))
		return;
	one(arg, name, v);
}

void model__hcl_scalars(struct model *m)
{
	struct hc_link *l = m->hcl;
	if (!l || !m->rec)
		return;
	hc_stats_each(hc_get_stats(l->c), near, m);
	hc_stats_each(hc_get_stats(l->d), far, m);
	const struct hc_stats *s = hc_get_stats(l->c);
	rec_scalar(m->rec, "hc_wrong", (double)l->wrong);
	rec_scalar(m->rec, "hc_feedback_sent", (double)l->fb_sent);
	rec_scalar(m->rec, "hc_feedback_overflow", (double)l->fb_overflow);
	rec_scalar(m->rec, "link_out_bytes_saved", (double)s->link_bytes_in - (double)s->link_bytes_out);
}

void model__hcl_summary(struct model *m, struct sim_summary *sum)
{
	struct hc_link *l = m->hcl;
	if (!l)
		return;
	const struct hc_stats *c = hc_get_stats(l->c), *d = hc_get_stats(l->d);
	sum->compressed = 1;
	sum->hc_header_in = c->hc_packets ? (double)c->header_bytes_in / (double)c->hc_packets : 0;
	sum->hc_header_out = c->hc_packets ? (double)c->header_bytes_out / (double)c->hc_packets : 0;
	sum->hc_not_rebuilt = d->crc_failures + d->hc_dropped_gap + d->hc_dropped_no_context + d->hc_dropped_malformed +
			      l->wrong;
}
