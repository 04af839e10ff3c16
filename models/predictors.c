/* predictors: helpers shared by the predictors in models/ (see predictors.h). */
#include "predictors.h"

void predictors_carry_header(const struct pred_pkt *last, struct pred_out *o)
{
	o->fields = PRED_IPID | PRED_FLAGS | PRED_WIN;
	o->payload_len = last->payload_len;
	o->ip_id = last->ip_id;
	o->tcp_flags = last->tcp_flags;
	o->win = last->win;
	if (last->proto == 6) {
		o->fields |= PRED_SEQ | PRED_ACK | PRED_TS;
		o->seq = last->seq;
		o->ack = last->ack;
		o->tsval = last->tsval;
		o->tsecr = last->tsecr;
	}
}
