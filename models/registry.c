/* registry: one table of predictors.  New predictors add a row here. */
#include "registry.h"

#include <string.h>

#include "core/predict.h"
#include "ml.h"
#include "predictors.h"
#include "xgb.h"

static const struct predictor_ops *const all[] = {
	&predictor_last,
	&predictor_mode,
	&predictor_markov1,
	&predictor_header,
	&predictor_ml,
	&predictor_xgb,
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

bool models_trained(const struct predictor_ops *ops)
{
	return ops == &predictor_ml || ops == &predictor_xgb;
}

int models_train_file(const struct predictor_ops *ops, const char *const *paths, size_t n, const char *out,
		      struct errbuf *eb)
{
	if (ops == &predictor_xgb) {
		struct xgb_model m;
		struct xgb_train_report rep;
		const struct xgb_train_cfg cfg = XGB_TRAIN_DEFAULTS;
		int rc = xgb_train_files(paths, n, &cfg, &m, &rep, eb);
		if (rc)
			return rc;
		rc = xgb_model_save(out, &m, eb);
		xgb_model_free(&m);
		return rc;
	}
	if (ops != &predictor_ml)
		return err_set(eb, -ERR_UNSUPPORTED, "predictor '%s' is not trained", ops->name);
	struct ml_model m;
	int rc = ml_train_files(paths, n, ML_DEFAULT_CLASSES, 1, &m, eb);
	if (rc)
		return rc;
	rc = ml_model_save(out, &m, eb);
	ml_model_free(&m);
	return rc;
}
