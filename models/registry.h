/* registry: the predictors precraft knows, by the names used on the command line. */
#ifndef PRECRAFT_MODELS_REGISTRY_H
#define PRECRAFT_MODELS_REGISTRY_H

#include <stdbool.h>
#include <stddef.h>

#include "core/err.h"

struct predictor_ops;

/* The predictor called 'name', or NULL. */
const struct predictor_ops *models_find(const char *name);
/* The i-th predictor, or NULL past the end. */
const struct predictor_ops *models_at(size_t i);

/* True when 'ops' starts from a model file that captures train (what `precraft train` writes). */
bool models_trained(const struct predictor_ops *ops);
/* Trains the model of 'ops' on the captures 'paths[0..n-1]' with its default settings and writes
 * its model file to 'out'.  Returns 0, -ERR_UNSUPPORTED for a predictor that is not trained, or
 * another negative ERR_* with detail. */
int models_train_file(const struct predictor_ops *ops, const char *const *paths, size_t n, const char *out,
		      struct errbuf *eb);

#endif
