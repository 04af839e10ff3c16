/* predictors: the predictors implemented in models/ (one per file), and what they share. */
#ifndef PRECRAFT_MODELS_PREDICTORS_H
#define PRECRAFT_MODELS_PREDICTORS_H

#include "core/predict.h"

extern const struct predictor_ops predictor_mode;
extern const struct predictor_ops predictor_markov1;
extern const struct predictor_ops predictor_header;

/* The header predictor's per-flow state fits in this (ml embeds it). */
#define HEADER_FLOW_STATE_BYTES 512

/* Fills 'o' with the header fields of 'last' carried over unchanged (IP ID and TSval stepped
 * by nothing): the starting point of predictors that model only sizes. */
void predictors_carry_header(const struct pred_pkt *last, struct pred_out *o);

#endif
