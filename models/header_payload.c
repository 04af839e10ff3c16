/* header_payload: the header predictor's payload anticipation (header.c predicts the header
 * fields).
 *
 * Payload anticipation, where the application makes it predictable (REFERENCE.md: repeating the
 * last non-empty payload is right for close to no TCP packet, so this has to know protocols):
 *   repetition   a direction whose payload has repeated (keep-alives, polling, repeated requests)
 *                is predicted to repeat it again;
 *   Modbus/TCP   (port 502) a poll that repeats but for the MBAP transaction ID is predicted with
 *                the ID advanced by its learned step;
 *   DNS          (port 53, UDP) a query repeated with a new ID, and the answer to a query whose
 *                answer was already seen (by question: the name, type and class) with the new
 *                ID: a resolver's cache, ahead of time.
 * Each is trusted after two confirmations.  The pre-built packet carries the predicted payload
 * and the validation compares it with the arriving one; a guess is never sent unverified. */
#include <string.h>

#include "common.h"
#include "core/dns.h"
#include "header_impl.h"

/* Payloads longer than this are not learned from: what repeats (keep-alives, polls, queries,
 * answers) is short, and hashing every byte of bulk data would cost more than it could win. */
#define PAYLOAD_LEARN_MAX 1024

/* A Modbus/TCP application data unit: MBAP header with protocol 0 and a consistent length. */
static bool is_modbus(const struct pred_pkt *pk)
{
	const uint8_t *b = pk->payload;
	return pk->proto == 6 && pk->payload_avail == pk->payload_len && pk->payload_len >= 8 &&
	       b[2] == 0 && b[3] == 0 && (uint32_t)(b[4] << 8 | b[5]) + 6 == pk->payload_len;
}

/* A DNS message over UDP port 53 with one question (core/dns.c reads it). */
static bool dns_question53(const struct pred_pkt *pk, uint64_t *qhash, int *qr)
{
	return pk->proto == 17 && (pk->sport == 53 || pk->dport == 53) && pk->payload_avail == pk->payload_len &&
	       dns_question(pk->payload, pk->payload_avail, qhash, qr);
}

void header__learn_payload(struct header_self *hs, struct dir_state *x, const struct pred_pkt *pk)
{
	if (pk->payload_avail != pk->payload_len || !pk->payload_len || pk->payload_len > PAYLOAD_LEARN_MAX) {
		x->repeat_conf = x->modbus_conf = 0;
		x->dns_ask = 0;
		return;
	}
	uint64_t h = payload_hash(pk->payload, pk->payload_len);
	if (x->seen)
		confirm(&x->repeat_conf, h == x->pay_hash);
	x->pay_hash = h;
	uint64_t q;
	int qr;
	bool dns = dns_question53(pk, &q, &qr);
	if (is_modbus(pk) || dns) {
		/* Modbus and DNS both open with a 16-bit transaction ID. */
		uint16_t tid = (uint16_t)(pk->payload[0] << 8 | pk->payload[1]);
		uint64_t ht = payload_hash(pk->payload + 2, pk->payload_len - 2);
		if (x->seen) {
			confirm(&x->modbus_conf, ht == x->pay_hash_tail && (uint16_t)(tid - x->tid) == x->tid_step);
			x->tid_step = (uint16_t)(tid - x->tid);
		}
		x->tid = tid;
		x->pay_hash_tail = ht;
	} else {
		x->modbus_conf = 0;
	}
	x->dns_ask = 0;
	if (dns && !qr) {
		x->dns_ask = 1;
		x->dns_q = q;
		x->dns_id = (uint16_t)(pk->payload[0] << 8 | pk->payload[1]);
	} else if (dns && qr) {
		/* A response: cache it by question, for the next time that question is asked. */
		unsigned i = (unsigned)q & (DNS_CACHE - 1);
		if (pk->payload_len <= DNS_ANSWER_MAX) {
			memcpy(hs->dns_answer[i], pk->payload, pk->payload_len);
			hs->dns_q[i] = q;
			hs->dns_len[i] = pk->payload_len;
		}
	}
}

/* Anticipates the payload of the direction's next packet from 'last' when a rule is trusted. */
void header__predict_payload(struct header_self *hs, const struct dir_state *x, const struct dir_state *y,
			    const struct pred_pkt *last, struct pred_out *o)
{
	uint64_t q;
	int qr;
	unsigned i = (unsigned)y->dns_q & (DNS_CACHE - 1);
	if (y->dns_ask && hs->dns_len[i] && hs->dns_q[i] == y->dns_q) {
		/* The other side just asked a question whose answer has been seen: the answer
		 * again, under the new query's ID (what a resolver's cache would send). */
		memcpy(hs->scratch, hs->dns_answer[i], hs->dns_len[i]);
		hs->scratch[0] = (uint8_t)(y->dns_id >> 8);
		hs->scratch[1] = (uint8_t)y->dns_id;
		o->payload = hs->scratch;
		o->payload_len = hs->dns_len[i];
		o->fields |= PRED_PAYLOAD;
		return;
	}
	if (!last->payload_len || last->payload_avail != last->payload_len)
		return;
	if (x->modbus_conf >= 2 && (is_modbus(last) || dns_question53(last, &q, &qr))) {
		memcpy(hs->scratch, last->payload, last->payload_len);
		uint16_t tid = (uint16_t)(x->tid + x->tid_step);
		hs->scratch[0] = (uint8_t)(tid >> 8);
		hs->scratch[1] = (uint8_t)tid;
		o->payload = hs->scratch;
	} else if (x->repeat_conf >= 2) {
		o->payload = last->payload; /* read by the crafter before this packet is gone */
	} else {
		return;
	}
	o->fields |= PRED_PAYLOAD;
	o->payload_len = last->payload_len;
}
