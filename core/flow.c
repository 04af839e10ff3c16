/* flow: key building, hashing and the fixed-capacity table (see flow.h).
 *
 * Layout: one array of entries, each followed by its user area (stride = entry + user size,
 * 8-byte aligned), and a power-of-two array of bucket heads.  Entries are linked by 32-bit
 * indices, which halves the link size against pointers and keeps a million flows small. */
#include "flow.h"

#include <stdlib.h>
#include <string.h>

#include "crypto.h"
#include "pkt.h"

struct flow_table {
	uint8_t *entries;
	size_t stride;
	/* An entry's index from its offset, which is a multiple of the stride: shifted by the
	 * stride's power of two, then multiplied by the inverse of its odd part modulo 2^64 (exact
	 * division, a multiply where a divide took tens of cycles, two or three times a packet). */
	unsigned stride_shift;
	uint64_t stride_inv;
	size_t capacity, count;
	uint32_t *buckets;
	uint32_t mask;
	uint32_t lru_head, lru_tail; /* head = most recent */
	uint32_t free_head;          /* freed entries chained through 'next' */
	/* Entries from here on have never been used: taken in order once no freed one is left, so
	 * the table's pages become resident only as flows need them (a table sized for a million
	 * flows costs what the flows seen so far use; calloc's pages are zero until written). */
	uint32_t fresh;
	uint64_t next_id, id_step;
	uint64_t idle_ns;
	uint64_t evictions, expirations, chain_evictions;
	size_t user_size;
	flow_end_fn *on_end;
	void *on_end_arg;
};

static inline struct flow_entry *at(const struct flow_table *ft, uint32_t i)
{
	return (struct flow_entry *)(ft->entries + (size_t)i * ft->stride);
}

uint32_t flow_index(const struct flow_table *ft, const struct flow_entry *e)
{
	return (uint32_t)(((uint64_t)((const uint8_t *)e - ft->entries) >> ft->stride_shift) * ft->stride_inv);
}

struct flow_entry *flow_at(struct flow_table *ft, uint32_t idx)
{
	return idx < ft->capacity ? at(ft, idx) : NULL;
}

void *flow_user(struct flow_table *ft, struct flow_entry *e)
{
	(void)ft;
	return (uint8_t *)e + sizeof *e;
}

int flow_table_create(const struct flow_table_cfg *cfg, struct flow_table **out)
{
	if (!cfg || cfg->capacity == 0 || cfg->capacity >= FLOW_NIL)
		return -ERR_INVAL;
	struct flow_table *ft = calloc(1, sizeof *ft);
	if (!ft)
		return -ERR_NOMEM;
	ft->capacity = cfg->capacity;
	ft->user_size = cfg->user_size;
	ft->stride = (sizeof(struct flow_entry) + cfg->user_size + 7) & ~(size_t)7;
	ft->stride_shift = (unsigned)__builtin_ctzll(ft->stride);
	uint64_t odd = ft->stride >> ft->stride_shift, inv = odd; /* right in 3 bits: x * x = 1 mod 8 */
	for (int i = 0; i < 5; i++)
		inv *= 2 - odd * inv; /* Newton's step doubles the right bits: 6, 12, 24, 48, 96 */
	ft->stride_inv = inv;
	ft->idle_ns = cfg->idle_ns;
	ft->on_end = cfg->on_end;
	ft->on_end_arg = cfg->on_end_arg;
	size_t nb = 1;
	while (nb < cfg->capacity)
		nb <<= 1;
	ft->mask = (uint32_t)(nb - 1);
	ft->entries = calloc(cfg->capacity, ft->stride);
	ft->buckets = malloc(nb * sizeof *ft->buckets);
	if (!ft->entries || !ft->buckets) {
		flow_table_destroy(ft);
		return -ERR_NOMEM;
	}
	memset(ft->buckets, 0xff, nb * sizeof *ft->buckets);
	ft->free_head = FLOW_NIL;
	ft->fresh = 0;
	ft->lru_head = ft->lru_tail = FLOW_NIL;
	ft->next_id = cfg->id_first ? cfg->id_first : 1;
	ft->id_step = cfg->id_step ? cfg->id_step : 1;
	*out = ft;
	return 0;
}

void flow_table_destroy(struct flow_table *ft)
{
	if (!ft)
		return;
	free(ft->entries);
	free(ft->buckets);
	free(ft);
}

static bool addr_less(const uint8_t *x, uint16_t px, const uint8_t *y, uint16_t py, size_t n)
{
	int c = memcmp(x, y, n);
	return c < 0 || (c == 0 && px < py);
}

bool flow_key_from_pkt(const struct pkt *p, struct flow_key *k, bool *src_is_a)
{
	const uint8_t *s, *d;
	size_t n;
	memset(k, 0, sizeof *k);
	if (p->l3 == PKT_L3_IPV4) {
		s = p->ip4.src;
		d = p->ip4.dst;
		n = 4;
		k->family = 4;
	} else if (p->l3 == PKT_L3_IPV6) {
		s = p->ip6.src;
		d = p->ip6.dst;
		n = 16;
		k->family = 6;
	} else
		return false;
	uint16_t sp = 0, dp = 0;
	if (p->l4 == PKT_L4_TCP) {
		sp = p->tcp.sport;
		dp = p->tcp.dport;
	} else if (p->l4 == PKT_L4_UDP) {
		sp = p->udp.sport;
		dp = p->udp.dport;
	}
	k->proto = p->proto;
	k->vlan = p->link.n_tags ? (uint16_t)(p->link.tags[0].tci & 0x0fff) : 0;
	bool sa = !addr_less(d, dp, s, sp, n); /* source is the lower endpoint (or equal) */
	if (sa) {
		memcpy(k->a, s, n);
		memcpy(k->b, d, n);
		k->pa = sp;
		k->pb = dp;
	} else {
		memcpy(k->a, d, n);
		memcpy(k->b, s, n);
		k->pa = dp;
		k->pb = sp;
	}
	*src_is_a = sa;
	return true;
}

void flow_hash_key_init(struct flow_hash_key *hk, uint64_t seed)
{
	crypto_derive_key(seed, "precraft flow hash", hk->k, sizeof hk->k);
}

uint32_t flow_key_hash(const struct flow_key *key, const struct flow_hash_key *hk)
{
	static const struct flow_hash_key zero;
	return (uint32_t)crypto_keyed_hash(key, sizeof *key, (hk ? hk : &zero)->k);
}

static void lru_unlink(struct flow_table *ft, struct flow_entry *e)
{
	if (e->lru_prev != FLOW_NIL)
		at(ft, e->lru_prev)->lru_next = e->lru_next;
	else
		ft->lru_head = e->lru_next;
	if (e->lru_next != FLOW_NIL)
		at(ft, e->lru_next)->lru_prev = e->lru_prev;
	else
		ft->lru_tail = e->lru_prev;
}

static void lru_push_head(struct flow_table *ft, struct flow_entry *e, uint32_t idx)
{
	e->lru_prev = FLOW_NIL;
	e->lru_next = ft->lru_head;
	if (ft->lru_head != FLOW_NIL)
		at(ft, ft->lru_head)->lru_prev = idx;
	else
		ft->lru_tail = idx;
	ft->lru_head = idx;
}

static void bucket_unlink(struct flow_table *ft, struct flow_entry *e, uint32_t idx)
{
	uint32_t *pp = &ft->buckets[e->hash & ft->mask];
	while (*pp != idx)
		pp = &at(ft, *pp)->next;
	*pp = e->next;
}

/* Removes 'e' from the table, telling the owner first. */
static void end_flow(struct flow_table *ft, struct flow_entry *e, enum flow_end why)
{
	uint32_t idx = flow_index(ft, e);
	if (ft->on_end)
		ft->on_end(ft->on_end_arg, e, why);
	bucket_unlink(ft, e, idx);
	lru_unlink(ft, e);
	e->in_use = 0;
	e->next = ft->free_head;
	ft->free_head = idx;
	ft->count--;
}

static void start_flow(struct flow_table *ft, struct flow_entry *e, bool src_is_a, uint64_t now_ns)
{
	e->id = ft->next_id;
	ft->next_id += ft->id_step;
	e->first_ns = e->last_ns = now_ns;
	e->bytes[0] = e->bytes[1] = 0;
	e->packets[0] = e->packets[1] = 0;
	e->tcp_state = e->key.proto == IPPROTO_NUM_TCP ? FLOW_TCP_NEW : FLOW_TCP_NONE;
	e->fin_seen = 0;
	e->init_is_a = src_is_a;
	e->in_use = 1;
	e->protected_ = 0;
	memset(flow_user(ft, e), 0, ft->user_size);
}

/* The entry of 'key' in its chain, or NULL; '*chain' is the chain's length when not found. */
static struct flow_entry *find(const struct flow_table *ft, const struct flow_key *key, uint32_t hash,
			       unsigned *chain)
{
	unsigned n = 0;
	for (uint32_t i = ft->buckets[hash & ft->mask]; i != FLOW_NIL; n++) {
		struct flow_entry *e = at(ft, i);
		if (e->hash == hash && memcmp(&e->key, key, sizeof *key) == 0)
			return e;
		i = e->next;
	}
	*chain = n;
	return NULL;
}

struct flow_entry *flow_table_find(struct flow_table *ft, const struct flow_key *key, uint32_t hash)
{
	unsigned n;
	return find(ft, key, hash, &n);
}

/* The least recently seen flow of the chain of 'hash' (the oldest 'last_ns', then the oldest
 * flow): what a new flow in a full chain replaces. */
static struct flow_entry *chain_victim(struct flow_table *ft, uint32_t hash)
{
	struct flow_entry *v = NULL;
	for (uint32_t i = ft->buckets[hash & ft->mask]; i != FLOW_NIL;) {
		struct flow_entry *e = at(ft, i);
		if (!v || e->last_ns < v->last_ns || (e->last_ns == v->last_ns && e->id < v->id))
			v = e;
		i = e->next;
	}
	return v;
}

static inline bool is_idle(const struct flow_table *ft, const struct flow_entry *e, uint64_t now_ns)
{
	return ft->idle_ns && now_ns > e->last_ns && now_ns - e->last_ns > ft->idle_ns;
}

/* Expires idle flows from the cold end; amortised O(1) per packet. */
static void sweep(struct flow_table *ft, uint64_t now_ns)
{
	while (ft->lru_tail != FLOW_NIL && is_idle(ft, at(ft, ft->lru_tail), now_ns)) {
		ft->expirations++;
		end_flow(ft, at(ft, ft->lru_tail), FLOW_END_IDLE);
	}
}

static void make_recent(struct flow_table *ft, struct flow_entry *e)
{
	uint32_t idx = flow_index(ft, e);
	if (ft->lru_head != idx) {
		lru_unlink(ft, e);
		lru_push_head(ft, e, idx);
	}
}

bool flow_table_touch(struct flow_table *ft, struct flow_entry *e, uint64_t now_ns)
{
	if (is_idle(ft, e, now_ns))
		return false;
	sweep(ft, now_ns);
	make_recent(ft, e);
	return true;
}

struct flow_entry *flow_table_get(struct flow_table *ft, const struct flow_key *key, uint32_t hash,
				  bool src_is_a, uint64_t now_ns, bool *created)
{
	sweep(ft, now_ns);
	unsigned chain;
	struct flow_entry *e = find(ft, key, hash, &chain);
	if (e) {
		make_recent(ft, e);
		*created = false;
		return e;
	}
	if (chain >= FLOW_CHAIN_MAX) {
		ft->evictions++;
		ft->chain_evictions++;
		end_flow(ft, chain_victim(ft, hash), FLOW_END_EVICTED);
	}
	if (ft->free_head == FLOW_NIL && ft->fresh < ft->capacity) {
		at(ft, ft->fresh)->next = FLOW_NIL;
		ft->free_head = ft->fresh++;
	}
	if (ft->free_head == FLOW_NIL) {
		uint32_t victim = ft->lru_tail, i = victim;
		for (int n = 0; n < FLOW_PROTECT_SCAN && i != FLOW_NIL; n++, i = at(ft, i)->lru_prev)
			if (!at(ft, i)->protected_) {
				victim = i;
				break;
			}
		ft->evictions++;
		end_flow(ft, at(ft, victim), FLOW_END_EVICTED);
	}
	uint32_t idx = ft->free_head;
	e = at(ft, idx);
	ft->free_head = e->next;
	e->key = *key;
	e->hash = hash;
	e->next = ft->buckets[hash & ft->mask];
	ft->buckets[hash & ft->mask] = idx;
	lru_push_head(ft, e, idx);
	start_flow(ft, e, src_is_a, now_ns);
	ft->count++;
	*created = true;
	return e;
}

void flow_table_restart(struct flow_table *ft, struct flow_entry *e, bool src_is_a, uint64_t now_ns)
{
	if (ft->on_end)
		ft->on_end(ft->on_end_arg, e, FLOW_END_RESTART);
	start_flow(ft, e, src_is_a, now_ns);
}

void flow_tcp_update(struct flow_entry *e, unsigned dir, uint8_t f)
{
	if (e->tcp_state == FLOW_TCP_NONE)
		return;
	if (f & TCP_RST) {
		e->tcp_state = FLOW_TCP_CLOSED;
		return;
	}
	switch (e->tcp_state) {
	case FLOW_TCP_NEW:
		if ((f & (TCP_SYN | TCP_ACK)) == TCP_SYN)
			e->tcp_state = FLOW_TCP_SYN_SENT;
		else if (!(f & TCP_SYN))
			e->tcp_state = FLOW_TCP_ESTABLISHED; /* picked up mid-stream */
		break;
	case FLOW_TCP_SYN_SENT:
		if ((f & (TCP_SYN | TCP_ACK)) == (TCP_SYN | TCP_ACK) && dir == 1)
			e->tcp_state = FLOW_TCP_SYN_RCVD;
		break;
	case FLOW_TCP_SYN_RCVD:
		if ((f & (TCP_SYN | TCP_ACK)) == TCP_ACK && dir == 0)
			e->tcp_state = FLOW_TCP_ESTABLISHED;
		break;
	default:
		break;
	}
	if (f & TCP_FIN) {
		e->fin_seen |= (uint8_t)(1u << dir);
		e->tcp_state = e->fin_seen == 3 ? FLOW_TCP_CLOSED : FLOW_TCP_CLOSING;
	}
}

bool flow_tcp_is_restart(const struct flow_entry *e, uint8_t f)
{
	return (f & (TCP_SYN | TCP_ACK)) == TCP_SYN &&
	       (e->tcp_state == FLOW_TCP_CLOSED || e->tcp_state == FLOW_TCP_CLOSING);
}

size_t flow_table_count(const struct flow_table *ft)
{
	return ft->count;
}

size_t flow_table_capacity(const struct flow_table *ft)
{
	return ft->capacity;
}

size_t flow_table_bytes(const struct flow_table *ft)
{
	return sizeof *ft + ft->capacity * ft->stride + ((size_t)ft->mask + 1) * sizeof(uint32_t);
}

uint64_t flow_table_evictions(const struct flow_table *ft)
{
	return ft->evictions;
}

uint64_t flow_table_chain_evictions(const struct flow_table *ft)
{
	return ft->chain_evictions;
}

uint64_t flow_table_expirations(const struct flow_table *ft)
{
	return ft->expirations;
}

void flow_table_flush(struct flow_table *ft)
{
	while (ft->lru_tail != FLOW_NIL)
		end_flow(ft, at(ft, ft->lru_tail), FLOW_END_FLUSH);
}

const char *flow_tcp_state_name(unsigned st)
{
	static const char *const n[] = { "none", "new", "syn_sent", "syn_rcvd",
					 "established", "closing", "closed" };
	return st < sizeof n / sizeof n[0] ? n[st] : "unknown";
}
