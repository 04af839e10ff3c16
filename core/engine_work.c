/* engine_work: the work the engine makes ahead, one row per kind: who makes it after a packet,
 * what is left of it at the end, and how a timed model marks it finished or asks whether it is
 * still worth doing.  A new kind (compression contexts, inbound keystreams) is one row here and
 * one enum value in engine.h; the simulator's CPU charges each kind from its own row of costs
 * (sim/cpu.c). */
#include "engine_impl.h"

/* ---- BUILD: a flow's next packet ------------------------------------------------------- */

/* The pre-built packet a ticket names, or NULL when it is gone (the flow ended, or a newer
 * packet was built in its place). */
static struct pool_buf *build_buf(struct engine *e, const struct engine_ticket *t)
{
	struct flow_entry *f = flow_at(e->flows, t->index);
	if (!f || !f->in_use || t->dir > 1)
		return NULL;
	struct eflow *uf = eflow_of(e, f);
	return uf->serial[t->dir] == t->serial ? uf->craft[t->dir] : NULL;
}

static void build_ready(struct engine *e, const struct engine_ticket *t, uint64_t ns)
{
	struct pool_buf *b = build_buf(e, t);
	if (b)
		craft_set_ready(b, ns);
}

static bool build_waiting(struct engine *e, const struct engine_ticket *t)
{
	struct pool_buf *b = build_buf(e, t);
	return b && craft_ready(b) == UINT64_MAX;
}

/* ---- ESP: an SA's keystream ring and anticipated packet --------------------------------- */

static bool esp_sa_ok(const struct engine *e, const struct engine_ticket *t)
{
	return e->esp && t->index < esp_tunnel_count(e->esp);
}

static void esp_ready(struct engine *e, const struct engine_ticket *t, uint64_t ns)
{
	if (esp_sa_ok(e, t))
		esp_mark_ready(e->esp, t->index, t->serial, ns);
}

static bool esp_waiting(struct engine *e, const struct engine_ticket *t)
{
	return esp_sa_ok(e, t) && esp_pending(e->esp, t->index, t->serial);
}

/* ---- PREFETCH: the templates of one DNS answer ------------------------------------------ */

static void prefetch_ready(struct engine *e, const struct engine_ticket *t, uint64_t ns)
{
	if (e->pf)
		engine__prefetch_ready(e, t->serial, ns);
}

static bool prefetch_waiting(struct engine *e, const struct engine_ticket *t)
{
	return e->pf && engine__prefetch_waiting(e, t->serial);
}

/* ---- the table -------------------------------------------------------------------------- */

struct work_kind {
	void (*after)(struct engine *e, struct pktx *c); /* makes it after a decoded packet */
	void (*flush)(struct engine *e); /* at the end: what is still held counted as waste (NULL:
					  * the flows' end does it) */
	void (*ready)(struct engine *e, const struct engine_ticket *t, uint64_t ns);
	bool (*waiting)(struct engine *e, const struct engine_ticket *t);
};

/* In the order the makers run after a packet: the next packet first (the tunnel sizes its
 * keystreams by it), then the tunnel, then prefetching (it primes the SAs an answer announces,
 * beside the answer's own). */
static const struct work_kind kinds[ENGINE_WORK__COUNT] = {
	[ENGINE_WORK_BUILD] = { engine__craft_next, NULL, build_ready, build_waiting },
	[ENGINE_WORK_ESP] = { engine__esp_ahead, NULL, esp_ready, esp_waiting },
	[ENGINE_WORK_PREFETCH] = { engine__prefetch_after, engine__prefetch_flush, prefetch_ready,
				   prefetch_waiting },
};

void engine__work_after(struct engine *e, struct pktx *c)
{
	for (unsigned k = 0; k < ENGINE_WORK__COUNT; k++)
		kinds[k].after(e, c);
}

void engine__work_flush(struct engine *e)
{
	for (unsigned k = 0; k < ENGINE_WORK__COUNT; k++)
		if (kinds[k].flush)
			kinds[k].flush(e);
}

void engine__work_add(const struct pktx *c, enum engine_work_kind kind, unsigned dir, uint32_t index,
		      uint32_t serial, uint32_t units, uint32_t units2)
{
	struct engine_result *r = c->res;
	if (!r || r->n_work >= ENGINE_WORK_MAX)
		return;
	r->work[r->n_work++] = (struct engine_work){
		{ (uint8_t)kind, (uint8_t)dir, index, serial }, units, units2
	};
}

void engine_work_ready(struct engine *e, const struct engine_ticket *t, uint64_t ready_ns)
{
	if (t->kind < ENGINE_WORK__COUNT)
		kinds[t->kind].ready(e, t, ready_ns);
}

bool engine_work_waiting(struct engine *e, const struct engine_ticket *t)
{
	return t->kind < ENGINE_WORK__COUNT && kinds[t->kind].waiting(e, t);
}
