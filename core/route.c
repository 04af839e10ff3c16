/* route: 16-8-8 trie for IPv4, per-length hash sets for IPv6 (see route.h). */
#include "route.h"

#include <arpa/inet.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>


/* A trie slot: bit 31 = points to a group; bits 30..24 = length of the prefix that set it;
 * bits 23..0 = group index, or next-hop index + 1 (0 = no route). */
#define SLOT_GROUP 0x80000000u
#define SLOT_DEPTH(s) (((s) >> 24) & 0x7f)
#define SLOT_VAL(s) ((s) & 0x00ffffffu)
#define MK_LEAF(depth, nh1) ((uint32_t)(depth) << 24 | (nh1))
#define MAX_NH 0x00fffffeu

struct v6_slot {
	uint64_t hi, lo;           /* masked prefix */
	uint32_t nh1;              /* next hop + 1 (0: a marker with no best match) */
	uint8_t len;
	uint8_t flags;
};

#define SLOT_USED 1

struct route_table {
	uint32_t tbl16[1u << 16];
	uint32_t (*groups)[256];
	size_t n_groups, cap_groups;
	struct route_nexthop *nh;
	size_t n_nh, cap_nh;
	uint32_t *nh_index;        /* open addressing over the next hops: index + 1, 0 empty */
	size_t nh_index_cap;       /* a power of two, at least twice n_nh */
	size_t n4;
	/* IPv6 */
	struct v6_slot *v6;
	size_t v6_cap, n6;         /* v6_cap is a power of two */
	uint8_t v6_lens[129];      /* distinct lengths present, longest first */
	unsigned n_v6_lens;
	uint8_t v6_has_len[129];
	/* Binary search on lengths: prefixes and markers, each with its best match. */
	struct v6_slot *bs;        /* nh1 holds the best-matching prefix's next hop + 1, or 0 */
	size_t bs_cap;
	uint8_t bs_lens[129];      /* distinct lengths, ascending */
	unsigned n_bs_lens;
	bool frozen;
};

int route_table_create(struct route_table **out)
{
	struct route_table *rt = calloc(1, sizeof *rt);
	if (!rt)
		return -ERR_NOMEM;
	*out = rt;
	return 0;
}

void route_table_destroy(struct route_table *rt)
{
	if (!rt)
		return;
	free(rt->groups);
	free(rt->nh);
	free(rt->nh_index);
	free(rt->v6);
	free(rt->bs);
	free(rt);
}

static size_t nh_hash(const struct route_nexthop *nh)
{
	uint64_t k = (uint64_t)nh->mac[0] << 40 | (uint64_t)nh->mac[1] << 32 | (uint64_t)nh->mac[2] << 24 |
		     (uint64_t)nh->mac[3] << 16 | (uint64_t)nh->mac[4] << 8 | nh->mac[5];
	k = (k ^ (uint64_t)nh->port << 48) * 0x9e3779b97f4a7c15ull;
	return (size_t)(k ^ (k >> 31));
}

/* The index's slot of 'nh': the one holding it, or the empty one where it would go. */
static uint32_t *nh_slot(uint32_t *index, size_t cap, const struct route_nexthop *all, const struct route_nexthop *nh)
{
	for (size_t i = nh_hash(nh) & (cap - 1);; i = (i + 1) & (cap - 1))
		if (!index[i] || memcmp(&all[index[i] - 1], nh, sizeof *nh) == 0)
			return &index[i];
}

/* The next hop's index, added when new.  Found through a hash index: a table with 10^6
 * distinct next-hop MACs took minutes when every route scanned every next hop. */
static int nexthop_index(struct route_table *rt, const struct route_nexthop *nh, uint32_t *idx)
{
	if (rt->nh_index) {
		uint32_t *slot = nh_slot(rt->nh_index, rt->nh_index_cap, rt->nh, nh);
		if (*slot) {
			*idx = *slot - 1;
			return 0;
		}
	}
	if (rt->n_nh == MAX_NH)
		return -ERR_NOMEM;
	if (rt->n_nh == rt->cap_nh) {
		size_t cap = rt->cap_nh ? rt->cap_nh * 2 : 16;
		void *n = realloc(rt->nh, cap * sizeof *rt->nh);
		if (!n)
			return -ERR_NOMEM;
		rt->nh = n;
		rt->cap_nh = cap;
	}
	if (2 * (rt->n_nh + 1) > rt->nh_index_cap) { /* rebuilt at twice the size */
		size_t cap = rt->nh_index_cap ? 2 * rt->nh_index_cap : 64;
		uint32_t *index = calloc(cap, sizeof *index);
		if (!index)
			return -ERR_NOMEM;
		for (size_t i = 0; i < rt->n_nh; i++)
			*nh_slot(index, cap, rt->nh, &rt->nh[i]) = (uint32_t)i + 1;
		free(rt->nh_index);
		rt->nh_index = index;
		rt->nh_index_cap = cap;
	}
	rt->nh[rt->n_nh] = *nh;
	*nh_slot(rt->nh_index, rt->nh_index_cap, rt->nh, nh) = (uint32_t)rt->n_nh + 1;
	*idx = (uint32_t)rt->n_nh++;
	return 0;
}

static int new_group(struct route_table *rt, uint32_t fill, uint32_t *gi)
{
	if (rt->n_groups == rt->cap_groups) {
		size_t cap = rt->cap_groups ? rt->cap_groups * 2 : 64;
		if (cap > 0x00ffffff)
			return -ERR_NOMEM;
		void *n = realloc(rt->groups, cap * sizeof *rt->groups);
		if (!n)
			return -ERR_NOMEM;
		rt->groups = n;
		rt->cap_groups = cap;
	}
	for (unsigned i = 0; i < 256; i++)
		rt->groups[rt->n_groups][i] = fill;
	*gi = (uint32_t)rt->n_groups++;
	return 0;
}

/* Sets slot 's' to a prefix of length 'len' unless a longer prefix owns it; descends groups. */
static void set_leaf(struct route_table *rt, uint32_t *s, unsigned len, uint32_t nh1)
{
	if (*s & SLOT_GROUP) {
		uint32_t *g = rt->groups[SLOT_VAL(*s)];
		for (unsigned i = 0; i < 256; i++)
			set_leaf(rt, &g[i], len, nh1);
	} else if (SLOT_VAL(*s) == 0 || SLOT_DEPTH(*s) <= len) {
		*s = MK_LEAF(len, nh1);
	}
}

static int add4(struct route_table *rt, uint32_t a, unsigned len, uint32_t nh1)
{
	a = len == 0 ? 0 : len == 32 ? a : a & ~((1u << (32 - len)) - 1);
	if (len <= 16) {
		uint32_t first = a >> 16, n = 1u << (16 - len);
		for (uint32_t i = 0; i < n; i++)
			set_leaf(rt, &rt->tbl16[first + i], len, nh1);
		return 0;
	}
	/* Level 1. */
	uint32_t i16 = a >> 16;
	if (!(rt->tbl16[i16] & SLOT_GROUP)) {
		uint32_t gi;
		int rc = new_group(rt, rt->tbl16[i16], &gi);
		if (rc)
			return rc;
		rt->tbl16[i16] = SLOT_GROUP | gi;
	}
	uint32_t g1 = SLOT_VAL(rt->tbl16[i16]);
	uint32_t i8 = (a >> 8) & 0xff;
	if (len <= 24) {
		uint32_t n = 1u << (24 - len);
		for (uint32_t i = 0; i < n; i++)
			set_leaf(rt, &rt->groups[g1][i8 + i], len, nh1);
		return 0;
	}
	/* Level 2. */
	if (!(rt->groups[g1][i8] & SLOT_GROUP)) {
		uint32_t gi;
		int rc = new_group(rt, rt->groups[g1][i8], &gi);
		if (rc)
			return rc;
		rt->groups[g1][i8] = SLOT_GROUP | gi;
	}
	uint32_t g2 = SLOT_VAL(rt->groups[g1][i8]);
	uint32_t i0 = a & 0xff, n = 1u << (32 - len);
	for (uint32_t i = 0; i < n; i++)
		set_leaf(rt, &rt->groups[g2][i0 + i], len, nh1);
	return 0;
}

uint32_t route_lookup4(const struct route_table *rt, const uint8_t addr[4])
{
	uint32_t s = rt->tbl16[(uint32_t)addr[0] << 8 | addr[1]];
	if (s & SLOT_GROUP) {
		s = rt->groups[SLOT_VAL(s)][addr[2]];
		if (s & SLOT_GROUP)
			s = rt->groups[SLOT_VAL(s)][addr[3]];
	}
	return SLOT_VAL(s) ? SLOT_VAL(s) - 1 : ROUTE_NONE;
}

static void v6_mask(const uint8_t *addr, unsigned len, uint64_t *hi, uint64_t *lo)
{
	uint64_t h = 0, l = 0;
	for (int i = 0; i < 8; i++)
		h = h << 8 | addr[i];
	for (int i = 8; i < 16; i++)
		l = l << 8 | addr[i];
	if (len < 64) {
		h = len ? h & ~((1ull << (64 - len)) - 1) : 0;
		l = 0;
	} else if (len < 128) {
		l = len > 64 ? l & ~((1ull << (128 - len)) - 1) : 0;
	}
	*hi = h;
	*lo = l;
}

static size_t v6_hash(uint64_t hi, uint64_t lo, unsigned len)
{
	uint64_t h = (hi ^ (lo * 0x9e3779b97f4a7c15ull) ^ len) * 0xff51afd7ed558ccdull;
	return (size_t)(h ^ (h >> 29));
}

/* The slot of (hi, lo, len) in an open-addressing set, or the empty slot where it would go. */
static struct v6_slot *set_probe(struct v6_slot *set, size_t cap, uint64_t hi, uint64_t lo, unsigned len)
{
	size_t m = cap - 1;
	for (size_t i = v6_hash(hi, lo, len) & m;; i = (i + 1) & m) {
		struct v6_slot *s = &set[i];
		if (!(s->flags & SLOT_USED) || (s->len == len && s->hi == hi && s->lo == lo))
			return s;
	}
}

static struct v6_slot *v6_probe(const struct route_table *rt, uint64_t hi, uint64_t lo, unsigned len)
{
	return set_probe(rt->v6, rt->v6_cap, hi, lo, len);
}

static int v6_grow(struct route_table *rt)
{
	size_t cap = rt->v6_cap ? rt->v6_cap * 2 : 64;
	struct v6_slot *old = rt->v6;
	size_t old_cap = rt->v6_cap;
	rt->v6 = calloc(cap, sizeof *rt->v6);
	if (!rt->v6) {
		rt->v6 = old;
		return -ERR_NOMEM;
	}
	rt->v6_cap = cap;
	for (size_t i = 0; i < old_cap; i++)
		if (old[i].flags & SLOT_USED)
			*v6_probe(rt, old[i].hi, old[i].lo, old[i].len) = old[i];
	free(old);
	return 0;
}

static int add6(struct route_table *rt, const uint8_t *addr, unsigned len, uint32_t nh1)
{
	if ((rt->n6 + 1) * 2 > rt->v6_cap) {
		int rc = v6_grow(rt);
		if (rc)
			return rc;
	}
	uint64_t hi, lo;
	v6_mask(addr, len, &hi, &lo);
	struct v6_slot *s = v6_probe(rt, hi, lo, len);
	if (!(s->flags & SLOT_USED))
		rt->n6++;
	*s = (struct v6_slot){ .hi = hi, .lo = lo, .nh1 = nh1, .len = (uint8_t)len, .flags = SLOT_USED };
	rt->frozen = false;
	if (!rt->v6_has_len[len]) {
		rt->v6_has_len[len] = 1;
		rt->n_v6_lens = 0;
		for (int l = 128; l >= 0; l--)
			if (rt->v6_has_len[l])
				rt->v6_lens[rt->n_v6_lens++] = (uint8_t)l;
	}
	return 0;
}

/* Longest match of 'addr' among the prefixes no longer than 'max_len', probing every length
 * present: the reference, used before freezing and to compute the markers' best matches. */
static uint32_t linear6(const struct route_table *rt, const uint8_t addr[16], unsigned max_len)
{
	for (unsigned i = 0; i < rt->n_v6_lens; i++) {
		unsigned len = rt->v6_lens[i];
		if (len > max_len)
			continue;
		uint64_t hi, lo;
		v6_mask(addr, len, &hi, &lo);
		const struct v6_slot *s = v6_probe(rt, hi, lo, len);
		if (s->flags & SLOT_USED)
			return s->nh1;
	}
	return 0;
}

uint32_t route_lookup6(const struct route_table *rt, const uint8_t addr[16])
{
	if (!rt->n6)
		return ROUTE_NONE;
	if (!rt->frozen) {
		uint32_t nh1 = linear6(rt, addr, 128);
		return nh1 ? nh1 - 1 : ROUTE_NONE;
	}
	/* Binary search on lengths: a hit (prefix or marker) means a longer match may exist. */
	uint32_t best = 0;
	int lo_i = 0, hi_i = (int)rt->n_bs_lens - 1;
	while (lo_i <= hi_i) {
		int mid = (lo_i + hi_i) / 2;
		unsigned len = rt->bs_lens[mid];
		uint64_t hi, lo;
		v6_mask(addr, len, &hi, &lo);
		const struct v6_slot *s = set_probe(rt->bs, rt->bs_cap, hi, lo, len);
		if (s->flags & SLOT_USED) {
			if (s->nh1)
				best = s->nh1;
			lo_i = mid + 1;
		} else {
			hi_i = mid - 1;
		}
	}
	return best ? best - 1 : ROUTE_NONE;
}

static void v6_unmask(uint64_t hi, uint64_t lo, uint8_t addr[16])
{
	for (int i = 7; i >= 0; i--, hi >>= 8)
		addr[i] = (uint8_t)hi;
	for (int i = 15; i >= 8; i--, lo >>= 8)
		addr[i] = (uint8_t)lo;
}

static void bs_insert(struct route_table *rt, const uint8_t addr[16], unsigned len)
{
	uint64_t hi, lo;
	v6_mask(addr, len, &hi, &lo);
	struct v6_slot *s = set_probe(rt->bs, rt->bs_cap, hi, lo, len);
	if (!(s->flags & SLOT_USED))
		*s = (struct v6_slot){ .hi = hi, .lo = lo, .len = (uint8_t)len, .flags = SLOT_USED };
}

int route_table_freeze(struct route_table *rt)
{
	if (rt->frozen || !rt->n6)
		return 0;
	unsigned k = 0;
	for (unsigned l = 0; l <= 128; l++)
		if (rt->v6_has_len[l])
			rt->bs_lens[k++] = (uint8_t)l;
	rt->n_bs_lens = k;
	unsigned depth = 1;
	while ((1u << depth) <= k)
		depth++;
	size_t cap = 64;
	while (cap < 2 * rt->n6 * (depth + 1))
		cap <<= 1;
	free(rt->bs);
	rt->bs = calloc(cap, sizeof *rt->bs);
	if (!rt->bs) {
		rt->bs_cap = 0;
		return -ERR_NOMEM;
	}
	rt->bs_cap = cap;
	/* Each prefix, and a marker at every shorter length where the search must turn right. */
	for (size_t i = 0; i < rt->v6_cap; i++) {
		const struct v6_slot *p = &rt->v6[i];
		if (!(p->flags & SLOT_USED))
			continue;
		uint8_t addr[16];
		v6_unmask(p->hi, p->lo, addr);
		int lo_i = 0, hi_i = (int)k - 1;
		while (lo_i <= hi_i) {
			int mid = (lo_i + hi_i) / 2;
			if (rt->bs_lens[mid] == p->len)
				break;
			if (rt->bs_lens[mid] < p->len) {
				bs_insert(rt, addr, rt->bs_lens[mid]);
				lo_i = mid + 1;
			} else {
				hi_i = mid - 1;
			}
		}
		bs_insert(rt, addr, p->len);
	}
	/* Every entry learns its best match: itself for a prefix, the longest shorter prefix
	 * covering it for a marker. */
	for (size_t i = 0; i < cap; i++) {
		struct v6_slot *s = &rt->bs[i];
		if (!(s->flags & SLOT_USED))
			continue;
		uint8_t addr[16];
		v6_unmask(s->hi, s->lo, addr);
		s->nh1 = linear6(rt, addr, s->len);
	}
	rt->frozen = true;
	return 0;
}

int route_add(struct route_table *rt, int family, const uint8_t *prefix, unsigned len,
	      const struct route_nexthop *nh)
{
	if ((family == 4 && len > 32) || (family == 6 && len > 128) || (family != 4 && family != 6))
		return -ERR_INVAL;
	uint32_t idx;
	int rc = nexthop_index(rt, nh, &idx);
	if (rc)
		return rc;
	if (family == 4) {
		rc = add4(rt, (uint32_t)prefix[0] << 24 | (uint32_t)prefix[1] << 16 |
				      (uint32_t)prefix[2] << 8 | prefix[3],
			  len, idx + 1);
		if (!rc)
			rt->n4++;
		return rc;
	}
	return add6(rt, prefix, len, idx + 1);
}

const struct route_nexthop *route_nexthop(const struct route_table *rt, uint32_t idx)
{
	return idx < rt->n_nh ? &rt->nh[idx] : NULL;
}

size_t route_count4(const struct route_table *rt)
{
	return rt->n4;
}

size_t route_count6(const struct route_table *rt)
{
	return rt->n6;
}

size_t route_bytes(const struct route_table *rt)
{
	return sizeof *rt + rt->cap_groups * sizeof *rt->groups + rt->cap_nh * sizeof *rt->nh +
	       rt->nh_index_cap * sizeof *rt->nh_index +
	       (rt->v6_cap + rt->bs_cap) * sizeof *rt->v6;
}
