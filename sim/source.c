/* source: trace sources (streamed, scaled, looped, cloned) and synthetic Poisson and on/off
 * sources (see model.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/pkt.h"
#include "frames.h"
#include "model_impl.h"

/* ---- sources ---------------------------------------------------------------------------- */

static void emit(struct model *m, struct simpkt *p)
{
	uint64_t arrive;
	m->source_packets++;
	if (m->io) { /* a node of another simulator: its link.in is the host's */
		m->io->emit(m->io->arg, p->frame, p->caplen, p->wirelen, p->linktype, sched_now(m->s));
		model__pkt_put(m, p);
		return;
	}
	if (link_send(&m->in, sched_now(m->s), p->wirelen, &arrive) != LINK_OK) {
		model__pkt_put(m, p);
		return;
	}
	model__arrive_at(m, &p->ev, arrive, model__shaper_arrive);
}

static void source_done(struct model *m)
{
	m->srcs_live--;
}

/* The extremes of speed, max_gap_s and loop a scenario allows can pass SIM_TIME_MAX: the run
 * then fails, named, instead of wrapping. */

/* 't0' plus 'rel_ns' scaled by the source's speed, or -ERR_INVAL past SIM_TIME_MAX. */
static int scaled_time(const struct source *src, uint64_t t0, uint64_t rel_ns, uint64_t *t)
{
	double r = (double)rel_ns / src->cfg->speed + 0.5;
	if (!(r < (double)SIM_TIME_MAX) || t0 > SIM_TIME_MAX - (uint64_t)r)
		return -ERR_INVAL;
	*t = t0 + (uint64_t)r;
	return 0;
}

static int trace_time(const struct source *src, uint64_t *t)
{
	return scaled_time(src, src->t0, src->ts.rel_ns, t);
}

static void time_overflow(struct model *m, const struct source *src)
{
	char msg[160];
	snprintf(msg, sizeof msg, "[source.%s]: simulated time passes 146 years (speed = %g, max_gap_s = %g, loop = %llu)",
		 src->cfg->name, src->cfg->speed, src->cfg->max_gap_s, (unsigned long long)src->cfg->loop);
	model__fail(m, -ERR_INVAL, msg);
}

static void trace_fire(struct sched *s, struct sched_event *ev)
{
	struct source *src = container_of(ev, struct source, ev);
	struct model *m = src->m;
	struct tstream *ts = &src->ts;
	struct simpkt *p = model__pkt_get(m);
	uint8_t *copy = NULL;
	if (p && ts->stable && src->clone == 0) {
		/* The record in place: the shaper reads its headers, rarely the rest, and a copy of
		 * every byte cost an eighth of the run. */
		p->frame = ts->data;
		p->caplen = ts->caplen;
		__builtin_prefetch(ts->data); /* read when the packet reaches the shaper */
	} else if (p && !(copy = model__pkt_fill(p, ts->data, ts->caplen))) {
		model__pkt_put(m, p);
		p = NULL;
	}
	if (!p) {
		m->source_overflow++;
	} else {
		p->wirelen = ts->wirelen;
		p->linktype = ts->linktype;
		p->t_src = sched_now(s);
		if (copy)
			frames_clone(copy, p->caplen, p->wirelen, p->linktype, src->clone);
		emit(m, p);
	}
	/* The next kept record, of this pass or the next. */
	struct errbuf eb;
	int rc = tstream_next(ts, &eb);
	if (rc == 0) {
		if (++src->loop >= src->cfg->loop) {
			source_done(m);
			return;
		}
		if (ts->rel_ns > UINT64_MAX - 1000 || scaled_time(src, src->t0, ts->rel_ns + 1000, &src->t0)) {
			time_overflow(m, src);
			return;
		}
		int wr = tstream_rewind(ts, &eb);
		rc = wr ? wr : 1;
	}
	if (rc < 0) {
		model__fail(m, rc, eb.msg); /* a file damaged part way: bad input */
		return;
	}
	uint64_t next;
	if (trace_time(src, &next)) {
		time_overflow(m, src);
		return;
	}
	model__at(m, &src->ev, next > sched_now(s) ? next : sched_now(s), trace_fire);
}

/* A new synthetic flow in slot i. */
static void new_flow(struct source *src, uint32_t i)
{
	src->flow_gen[i] = src->next_gen++;
	src->seq[i] = 1;
	double n = src->cfg->flow_pkts_shape > 0 ? rng_pareto(src->rng, src->cfg->flow_pkts_shape, src->cfg->flow_pkts_min)
						 : 0;
	src->left[i] = n > 4e9 ? UINT32_MAX : (uint32_t)n;
}

static void synth_fire(struct sched *s, struct sched_event *ev)
{
	struct source *src = container_of(ev, struct source, ev);
	struct model *m = src->m;
	const struct scn_source *c = src->cfg;
	uint64_t now = sched_now(s);
	if (now >= src->end_ns) {
		source_done(m);
		return;
	}
	if (c->type == SCN_SRC_ONOFF && now >= src->period_end) {
		src->on = !src->on;
		src->period_end = now + (uint64_t)(rng_exponential(src->rng, (src->on ? c->on_ms : c->off_ms) * 1e6) + 1);
		if (!src->on) {
			model__at(m, &src->ev, src->period_end, synth_fire);
			return;
		}
	}
	uint32_t i = rng_below(src->rng, (uint32_t)c->flows);
	struct simpkt *p = model__pkt_get(m);
	if (!p) {
		m->source_overflow++;
	} else {
		int proto = c->proto == 1 ? 6 : 17;
		p->caplen = p->wirelen = frames_synth(p->buf, INLINE_FRAME, src->flow_gen[i], proto, src->seq[i],
						      src->ip_id++, (uint32_t)c->payload_bytes);
		p->linktype = PKT_LINK_ETH;
		p->t_src = now;
		src->seq[i] += (uint32_t)c->payload_bytes;
		if (src->left[i] && --src->left[i] == 0)
			new_flow(src, i);
		emit(m, p);
	}
	double gap = c->rate_pps > 0 ? rng_exponential(src->rng, 1e9 / c->rate_pps) : 1e18;
	model__at(m, &src->ev, now + (uint64_t)gap + 1, synth_fire);
}

int model__setup_sources(struct model *m, struct errbuf *eb)
{
	const struct scenario *scn = m->scn;
	size_t n = 0;
	for (unsigned i = 0; i < scn->n_src; i++)
		n += scn->src[i].type == SCN_SRC_TRACE ? scn->src[i].clones : 1;
	if (n == 0 && m->io)
		return 0; /* a node of another simulator: frames come from the host */
	if (n == 0)
		return err_set(eb, -ERR_FORMAT, "%s: the scenario has no [source.NAME] section",
			       *scn->path ? scn->path : "scenario");
	m->srcs = calloc(n, sizeof *m->srcs);
	if (!m->srcs)
		return err_set(eb, -ERR_NOMEM, "out of memory");
	m->n_srcs = n; /* zeroed: teardown may free them all, made or not */
	size_t k = 0;
	/* Replications of trace sources (run.exact = off): every clone of every trace starts at a
	 * phase of its own in [0, clone_spacing_ms) after its place, drawn from the run's stream,
	 * so run N interleaves the captures differently from run M (a capture is the same packets
	 * in every run: without this, replications were identical copies).  The scenario's first
	 * clone keeps its place: it is the time reference, and a lone capture is then exact. */
	if (!scn->exact && rng_create(scn->seed, scn->run, 9, &m->rng_phase))
		return err_set(eb, -ERR_NOMEM, "out of memory");
	bool reference = true;
	for (unsigned i = 0; i < scn->n_src; i++) {
		const struct scn_source *c = &scn->src[i];
		uint64_t start = (uint64_t)(c->start_s * 1e9);
		if (c->type == SCN_SRC_TRACE) {
			char *path = m->trace_path[i];
			if (!*c->file)
				return err_set(eb, -ERR_FORMAT, "%s: [source.%s] is a trace and needs file =",
					       *scn->path ? scn->path : "scenario", c->name);
			scenario_resolve(scn, c->file, path, sizeof m->trace_path[i]);
			for (uint64_t cl = 0; cl < c->clones; cl++) {
				struct source *src = &m->srcs[k++];
				sched_event_init(&src->ev);
				(void)sched_lane(m->s, &src->ev); /* refused past SCHED_LANES: then in the heap */
				src->m = m;
				src->cfg = c;
				src->clone = (uint32_t)cl;
				int rc = tstream_open(&src->ts, path, c, eb);
				if (rc)
					return rc;
				double off = (double)cl * c->clone_spacing_ms * 1e6;
				if (m->rng_phase && !reference)
					off += rng_uniform(m->rng_phase) * c->clone_spacing_ms * 1e6;
				reference = false;
				uint64_t t;
				if (!(off < (double)SIM_TIME_MAX) || start > SIM_TIME_MAX - (uint64_t)off ||
				    (src->t0 = start + (uint64_t)off, trace_time(src, &t)))
					return err_set(eb, -ERR_INVAL, "[source.%s]: simulated time passes 146 years", c->name);
				model__at(m, &src->ev, t, trace_fire);
			}
		} else {
			struct source *src = &m->srcs[k++];
			sched_event_init(&src->ev);
			(void)sched_lane(m->s, &src->ev);
			src->m = m;
			src->cfg = c;
			if (rng_create(scn->seed, scn->run, 10 + i, &src->rng))
				return err_set(eb, -ERR_NOMEM, "out of memory");
			src->flow_gen = calloc(c->flows, sizeof *src->flow_gen);
			src->left = calloc(c->flows, sizeof *src->left);
			src->seq = calloc(c->flows, sizeof *src->seq);
			if (!src->flow_gen || !src->left || !src->seq)
				return err_set(eb, -ERR_NOMEM, "out of memory for %llu flows", (unsigned long long)c->flows);
			/* Flow numbers are unique across sources. */
			src->next_gen = (uint64_t)i << 40;
			for (uint32_t f = 0; f < c->flows; f++)
				new_flow(src, f);
			src->end_ns = start + (uint64_t)(c->duration_s * 1e9);
			src->on = c->type != SCN_SRC_ONOFF;
			src->period_end = start;
			model__at(m, &src->ev, start, synth_fire);
		}
	}
	m->srcs_live = k;
	return 0;
}

