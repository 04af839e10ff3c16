/* flow: the bidirectional flow key and a fixed-capacity flow table.
 *
 * A key names both directions of a conversation: the two (address, port) endpoints are stored
 * in a canonical order, and each packet gets a direction bit: 0 for the direction of the flow's
 * first packet, 1 for the reply.  The table preallocates every entry at creation (no malloc
 * afterwards), chains buckets by 32-bit index, keeps an LRU list for eviction when full and for
 * idle timeouts, and tracks enough TCP state to tell opening, established and closing apart.
 *
 * Each entry carries a user area of a size fixed at creation, where the engine keeps its
 * per-flow state (pre-built buffers, counters, predictor state) without this module knowing
 * its layout.  struct flow_entry is public because the engine reads it on the per-packet path;
 * struct flow_table stays opaque. */
#ifndef PRECRAFT_FLOW_H
#define PRECRAFT_FLOW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"

struct pkt;

/* 40 bytes, no padding, compared with memcmp. */
struct flow_key {
	uint8_t a[16], b[16];      /* endpoint addresses, canonical order; IPv4 in the first 4 */
	uint16_t pa, pb;           /* their ports (0 for protocols without ports) */
	uint16_t vlan;             /* outermost VLAN ID, 0 when untagged */
	uint8_t proto;             /* IP protocol number */
	uint8_t family;            /* 4 or 6 */
};

#define FLOW_KEY_LEN sizeof(struct flow_key)

enum flow_tcp_state {
	FLOW_TCP_NONE = 0,         /* not TCP */
	FLOW_TCP_NEW,              /* first packet was not a SYN: picked up mid-stream */
	FLOW_TCP_SYN_SENT,
	FLOW_TCP_SYN_RCVD,
	FLOW_TCP_ESTABLISHED,
	FLOW_TCP_CLOSING,          /* a FIN was seen */
	FLOW_TCP_CLOSED,           /* FINs both ways, or a RST */
};

enum flow_end { FLOW_END_EVICTED, FLOW_END_IDLE, FLOW_END_RESTART, FLOW_END_FLUSH };

struct flow_entry {
	struct flow_key key;
	uint32_t hash;
	uint32_t next;             /* bucket chain, index or FLOW_NIL */
	uint32_t lru_prev, lru_next;
	uint64_t id;               /* unique in the table's life, from 1 */
	uint64_t first_ns, last_ns;
	uint64_t bytes[2];         /* wire bytes per direction */
	uint32_t packets[2];
	uint8_t tcp_state;         /* enum flow_tcp_state */
	uint8_t fin_seen;          /* bit per direction */
	uint8_t init_is_a;         /* the first packet came from endpoint a */
	uint8_t in_use;
	uint8_t protected_;        /* evicted only after unprotected flows (flow_account sets it) */
	uint8_t pad_[3];           /* keeps the user area 8-byte aligned */
};

#define FLOW_NIL UINT32_MAX

/* Called when an entry leaves the table (evicted, idle, restarted, flushed), before it is
 * reused.  The entry and its user area are readable during the call. */
typedef void flow_end_fn(void *arg, struct flow_entry *e, enum flow_end why);

struct flow_table_cfg {
	size_t capacity;           /* entries, fixed */
	size_t user_size;          /* bytes of user area per entry */
	uint64_t idle_ns;          /* idle timeout, 0 = none */
	flow_end_fn *on_end;
	void *on_end_arg;
	uint64_t id_first, id_step; /* flow ids: id_first, then every id_step (0: 1 and 1) */
};

struct flow_table;

/* Allocates a table for 'cfg->capacity' flows.  Returns 0 and '*out', or -ERR_NOMEM/-ERR_INVAL.
 * The caller owns the table and frees it with flow_table_destroy(). */
int flow_table_create(const struct flow_table_cfg *cfg, struct flow_table **out) WARN_UNUSED;
void flow_table_destroy(struct flow_table *ft);

/* Builds the canonical key of a decoded IP packet and its direction relative to the canonical
 * order ('*src_is_a': the packet's source is endpoint a).  Returns false for non-IP packets. */
bool flow_key_from_pkt(const struct pkt *p, struct flow_key *key, bool *src_is_a);

/* The key of the flow hash: keys are attacker-chosen, so the hash is keyed (SipHash-2-4), the
 * key derived from the run's seed: runs stay reproducible, buckets cannot be aimed at without
 * the seed. */
struct flow_hash_key {
	uint8_t k[16];
};
void flow_hash_key_init(struct flow_hash_key *hk, uint64_t seed);
/* The hash of 'key' under 'hk' (NULL: the all-zero key, for offline tools and tests). */
uint32_t flow_key_hash(const struct flow_key *key, const struct flow_hash_key *hk);

/* The most entries one bucket chains: a new flow in a full chain ends the chain's least
 * recently seen flow (counted in flow_table_evictions and flow_table_chain_evictions), so a
 * lookup compares at most this many keys whatever the keys are.  With a keyed hash and at
 * most one flow per bucket on average, a chain this long is a one-in-10^13 event. */
#define FLOW_CHAIN_MAX 16

/* Finds or creates the flow of 'key' at time 'now_ns'.  A new entry evicts the least recently
 * used one when the table is full; idle flows are expired first.  '*created' tells which.
 * 'src_is_a' records who spoke first in a new flow.  Never fails: a full table evicts. */
struct flow_entry *flow_table_get(struct flow_table *ft, const struct flow_key *key, uint32_t hash,
				  bool src_is_a, uint64_t now_ns, bool *created);

/* What flow_table_get() does for a flow that exists, for a caller that holds 'e' already (the
 * fast path, through its pre-built packet): expire idle flows, then make 'e' the most recent.
 * Returns false, doing nothing, when 'e' itself is idle-expired at 'now_ns': the caller must
 * then go through flow_table_get(), which ends it. */
bool flow_table_touch(struct flow_table *ft, struct flow_entry *e, uint64_t now_ns);

/* Protects an established flow from eviction: when the table is full, the least recently used
 * unprotected flow among the LRU's oldest FLOW_PROTECT_SCAN goes first, so a flood of new
 * flows evicts itself rather than the flows it displaces (segmented LRU).  Only when all of
 * those are protected does the oldest go. */
#define FLOW_PROTECT_SCAN 16
static inline void flow_protect(struct flow_entry *e)
{
	e->protected_ = 1;
}

/* Looks a flow up without creating or touching it. */
struct flow_entry *flow_table_find(struct flow_table *ft, const struct flow_key *key, uint32_t hash);

/* The direction of a packet in flow 'e': 0 = as the first packet, 1 = reply. */
static inline unsigned flow_dir(const struct flow_entry *e, bool src_is_a)
{
	return (unsigned)(src_is_a != (bool)e->init_is_a);
}

/* Updates the TCP state with a packet's flags in direction 'dir'. */
void flow_tcp_update(struct flow_entry *e, unsigned dir, uint8_t tcp_flags);

/* True when a SYN without ACK arrives on a flow that has closed: a new connection reusing the
 * 5-tuple, which flow_table_restart() turns into a new flow. */
bool flow_tcp_is_restart(const struct flow_entry *e, uint8_t tcp_flags);

/* Ends 'e' (on_end with FLOW_END_RESTART) and starts it again as a new flow. */
void flow_table_restart(struct flow_table *ft, struct flow_entry *e, bool src_is_a, uint64_t now_ns);

/* Counts a packet of 'wire_bytes' in direction 'dir'. */
static inline void flow_account(struct flow_entry *e, unsigned dir, uint32_t wire_bytes, uint64_t now_ns)
{
	e->packets[dir]++;
	/* A flow heard from both ends is protected from eviction: a spoofed or scanning flood is
	 * one-way, a conversation is not.  A flow-table behaviour, the same in every mode and
	 * under every policy, so that it never changes what one configuration sends against
	 * another. */
	e->protected_ |= (uint8_t)(e->packets[0] && e->packets[1]);
	e->bytes[dir] += wire_bytes;
	e->last_ns = now_ns > e->last_ns ? now_ns : e->last_ns;
}

static inline bool flow_is_established(const struct flow_entry *e)
{
	if (e->tcp_state == FLOW_TCP_NONE)
		return e->packets[0] + e->packets[1] >= 2;
	return e->tcp_state == FLOW_TCP_ESTABLISHED;
}

/* The entry's user area (cfg.user_size bytes, zeroed when the flow starts). */
void *flow_user(struct flow_table *ft, struct flow_entry *e);

/* Index of 'e' in the table, [0, capacity), and back. */
uint32_t flow_index(const struct flow_table *ft, const struct flow_entry *e);
struct flow_entry *flow_at(struct flow_table *ft, uint32_t idx);

size_t flow_table_count(const struct flow_table *ft);
size_t flow_table_capacity(const struct flow_table *ft);
/* Bytes the table allocated, all of it, and per flow of capacity. */
size_t flow_table_bytes(const struct flow_table *ft);
uint64_t flow_table_evictions(const struct flow_table *ft);
/* Of those, the flows ended because their bucket's chain was full (FLOW_CHAIN_MAX). */
uint64_t flow_table_chain_evictions(const struct flow_table *ft);
uint64_t flow_table_expirations(const struct flow_table *ft);

/* Ends every flow (FLOW_END_FLUSH), e.g. at the end of a run, oldest first. */
void flow_table_flush(struct flow_table *ft);

const char *flow_tcp_state_name(unsigned st);

#endif
