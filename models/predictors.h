/* predictors: the predictors implemented in models/ (one per file), and what they share. */
#ifndef PRECRAFT_MODELS_PREDICTORS_H
#define PRECRAFT_MODELS_PREDICTORS_H

#include "core/predict.h"

extern const struct predictor_ops predictor_mode;
extern const struct predictor_ops predictor_markov1;
extern const struct predictor_ops predictor_header;

/* The header predictor's per-flow state fits in this (ml embeds it). */
#define HEADER_FLOW_STATE_BYTES 600

/* The header predictor's gap forecast from its per-flow state 'state': the median of the latest
 * gaps (up to four, µs) from a packet of direction 'from' to the next of direction 'to', in
 * '*gap_us'.  Returns how many gaps that median is of; 0 leaves '*gap_us' alone. */
unsigned header_gap_us(const void *state, unsigned from, unsigned to, uint32_t *gap_us);

/* Fills 'o' with the header fields of 'last' carried over unchanged (IP ID and TSval stepped
 * by nothing): the starting point of predictors that model only sizes. */
void predictors_carry_header(const struct pred_pkt *last, struct pred_out *o);

#endif
