/* hc_setup: a header compressor or decompressor by name for the commands that use one (replay
 * --compress, decompress): its predictor made from the name and the model file, and the file's
 * hash that the link's hello carries so that both ends are known to predict alike. */
#ifndef PRECRAFT_CLI_HC_SETUP_H
#define PRECRAFT_CLI_HC_SETUP_H

#include <stdbool.h>
#include <stdint.h>

#include "core/err.h"
#include "core/hc.h"

struct cli_hc {
	struct hc *h;
	const struct predictor_ops *ops;
	void *pred;
};

/* The names the compressor takes, for usage texts. */
#define CLI_HC_NAMES "vj, last, header, ml, xgb (or any predictor's name)"

/* Makes the compressor (or decompressor) 'cfg->name' with 'model_file' (NULL: none; a trained
 * predictor needs one); cfg->model_hash is filled from the file.  'want_hash' (decompressor: the
 * hello's) must match it when not 0.  Returns 0, or a negative ERR_* with one line in 'eb'. */
int cli_hc_open(struct hc_cfg *cfg, const char *model_file, bool decompress, uint64_t want_hash,
		struct cli_hc *out, struct errbuf *eb) WARN_UNUSED;
void cli_hc_close(struct cli_hc *c);

#endif
