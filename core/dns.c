/* dns: see dns.h (RFC 1035 §4.1; AAAA: RFC 3596). */
#include "dns.h"

#include <string.h>

/* The offset after the name at 'i' (labels, ending in a zero or a compression pointer), or 0
 * when it runs past the message or holds a label type that does not exist. */
static uint32_t skip_name(const uint8_t *m, uint32_t n, uint32_t i)
{
	for (unsigned labels = 0; i < n && labels < 128; labels++) {
		uint8_t l = m[i];
		if (l == 0)
			return i + 1;
		if ((l & 0xc0) == 0xc0)
			return i + 2 <= n ? i + 2 : 0;
		if (l & 0xc0)
			return 0;
		i += 1u + l;
	}
	return 0;
}

unsigned dns_answer_addrs(const uint8_t *m, uint32_t n, struct dns_record rec[DNS_MAX_RECORDS])
{
	return dns_answer_addrs_from(m, n, 0, rec);
}

unsigned dns_answer_addrs_from(const uint8_t *m, uint32_t n, unsigned skip, struct dns_record rec[DNS_MAX_RECORDS])
{
	if (n < 12 || !(m[2] & 0x80) || (m[3] & 0x0f) != 0) /* a response, RCODE 0 */
		return 0;
	uint32_t qd = (uint32_t)(m[4] << 8 | m[5]), an = (uint32_t)(m[6] << 8 | m[7]), i = 12;
	for (uint32_t q = 0; q < qd; q++) {
		if (!(i = skip_name(m, n, i)) || i + 4 > n)
			return 0;
		i += 4;
	}
	unsigned k = 0;
	for (uint32_t a = 0; a < an && k < DNS_MAX_RECORDS; a++) {
		if (!(i = skip_name(m, n, i)) || i + 10 > n)
			return k;
		uint16_t type = (uint16_t)(m[i] << 8 | m[i + 1]), cls = (uint16_t)(m[i + 2] << 8 | m[i + 3]);
		uint32_t ttl = (uint32_t)m[i + 4] << 24 | (uint32_t)m[i + 5] << 16 | (uint32_t)m[i + 6] << 8 | m[i + 7];
		uint32_t rdlen = (uint32_t)(m[i + 8] << 8 | m[i + 9]);
		i += 10;
		if (rdlen > n - i)
			return k;
		if (cls == 1 && ((type == 1 && rdlen == 4) || (type == 28 && rdlen == 16)) && skip) {
			skip--; /* an address record before the ones asked for */
		} else if (cls == 1 && ((type == 1 && rdlen == 4) || (type == 28 && rdlen == 16))) {
			rec[k].family = type == 1 ? 4 : 6;
			memset(rec[k].addr, 0, sizeof rec[k].addr);
			memcpy(rec[k].addr, m + i, rdlen);
			rec[k].off = i;
			rec[k].ttl = ttl & 0x7fffffffu; /* RFC 2181 §8: a TTL with the top bit set is 0 */
			if (ttl & 0x80000000u)
				rec[k].ttl = 0;
			k++;
		}
		i += rdlen;
	}
	return k;
}

bool dns_question(const uint8_t *b, uint32_t n, uint64_t *qhash, int *qr)
{
	if (n < 17 || (b[4] << 8 | b[5]) != 1)
		return false;
	uint32_t i = 12;
	uint64_t h = 0xcbf29ce484222325ull; /* FNV-1a */
	while (i < n && b[i]) {
		if (b[i] & 0xc0)
			return false;
		uint32_t l = b[i];
		if (i + 1 + l >= n)
			return false;
		for (uint32_t j = 0; j <= l; j++) {
			uint8_t c = b[i + j];
			h = (h ^ (uint8_t)(c >= 'A' && c <= 'Z' ? c + 32 : c)) * 0x100000001b3ull;
		}
		i += 1 + l;
	}
	if (i + 5 > n)
		return false;
	for (uint32_t j = i; j < i + 5; j++)
		h = (h ^ b[j]) * 0x100000001b3ull;
	*qhash = h;
	*qr = b[2] >> 7;
	return true;
}
