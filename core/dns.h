/* dns: the addresses a DNS answer announces (its A and AAAA records), read with every length
 * checked: the message is whatever the wire carried.  The engine pre-builds from it the first
 * packets of the flows an answer announces (engine_prefetch.c); eval measures with it how many
 * flows an earlier answer announced. */
#ifndef PRECRAFT_DNS_H
#define PRECRAFT_DNS_H

#include <stdbool.h>
#include <stdint.h>

#define DNS_MAX_RECORDS 32

struct dns_record {
	uint8_t family;            /* 4 or 6 */
	uint8_t addr[16];
	uint32_t ttl;              /* seconds */
	uint32_t off;              /* where the address lies in the message (precraft rewrite maps it) */
};

/* Reads the answer section of the DNS response 'msg' ('n' bytes, a UDP payload); fills up to
 * DNS_MAX_RECORDS records in 'rec'.  Returns how many, 0 for a query, a response without
 * addresses, or a message that does not parse (no record after the damage is taken). */
unsigned dns_answer_addrs(const uint8_t *msg, uint32_t n, struct dns_record rec[DNS_MAX_RECORDS]);
/* The same from the address record number 'skip' on (0: the first), for a reader that takes
 * every record of a long answer, DNS_MAX_RECORDS at a time. */
unsigned dns_answer_addrs_from(const uint8_t *msg, uint32_t n, unsigned skip, struct dns_record rec[DNS_MAX_RECORDS]);

/* The question of the DNS message 'b' ('n' bytes) when it has exactly one, its name written
 * without compression: '*qhash' hashes the name (case-insensitively), type and class, and '*qr'
 * is 1 for a response.  False for anything else (a message too short, several questions, a
 * name that runs past the end).  The header predictor caches answers by it. */
bool dns_question(const uint8_t *b, uint32_t n, uint64_t *qhash, int *qr);

#endif
