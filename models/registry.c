/* registry: one table of predictors.  New predictors add a row here. */
#include "registry.h"

#include <string.h>

#include "core/predict.h"
#include "ml.h"
#include "predictors.h"

static const struct predictor_ops *const all[] = {
	&predictor_last,
	&predictor_mode,
	&predictor_markov1,
	&predictor_header,
	&predictor_ml,
};

const struct predictor_ops *models_at(size_t i)
{
	return i < sizeof all / sizeof all[0] ? all[i] : NULL;
}

const struct predictor_ops *models_find(const char *name)
{
	for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
		if (strcmp(all[i]->name, name) == 0)
			return all[i];
	return NULL;
}
