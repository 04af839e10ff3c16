/* registry: the predictors precraft knows, by the names used on the command line. */
#ifndef PRECRAFT_MODELS_REGISTRY_H
#define PRECRAFT_MODELS_REGISTRY_H

#include <stddef.h>

struct predictor_ops;

/* The predictor called 'name', or NULL. */
const struct predictor_ops *models_find(const char *name);
/* The i-th predictor, or NULL past the end. */
const struct predictor_ops *models_at(size_t i);

#endif
