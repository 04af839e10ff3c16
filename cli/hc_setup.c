/* hc_setup: a header compressor or decompressor by name (see hc_setup.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "core/predict.h"
#include "hc_setup.h"
#include "models/registry.h"

/* The model file's hash for the hello: the first 64 bits of its SHA-256 (the runs' own file
 * hash, cli_file_sha256). */
static int model_hash(const char *path, uint64_t *h, struct errbuf *eb)
{
	char hex[65], first[17];
	if (!cli_file_sha256(path, hex))
		return err_set(eb, -ERR_IO, "%s: %s", path, errno ? strerror(errno) : "cannot read");
	memcpy(first, hex, 16);
	first[16] = 0;
	*h = strtoull(first, NULL, 16);
	return 0;
}

int cli_hc_open(struct hc_cfg *cfg, const char *model_file, bool decompress, uint64_t want_hash,
		struct cli_hc *out, struct errbuf *eb)
{
	memset(out, 0, sizeof *out);
	cfg->model_hash = 0;
	if (strcmp(cfg->name, "vj") != 0) {
		out->ops = models_find(cfg->name);
		if (!out->ops)
			return err_set(eb, -ERR_FORMAT, "compressor: unknown name '%s' (%s)", cfg->name, CLI_HC_NAMES);
		if (models_trained(out->ops) && !model_file)
			return err_set(eb, -ERR_FORMAT, "compressor %s: needs --model-file (from 'precraft train --model %s')",
				       cfg->name, cfg->name);
		if (model_file && models_trained(out->ops)) {
			int rc = model_hash(model_file, &cfg->model_hash, eb);
			if (rc)
				return rc;
		} else {
			model_file = NULL;
		}
		if (want_hash && cfg->model_hash != want_hash)
			return err_set(eb, -ERR_FORMAT, "compressor %s: the link was compressed with another model "
				       "file (hash %016llx, this one %016llx)", cfg->name,
				       (unsigned long long)want_hash, (unsigned long long)cfg->model_hash);
		int rc = out->ops->create(model_file, &out->pred, eb);
		if (rc)
			return rc;
		cfg->ops = out->ops;
		cfg->pred = out->pred;
	}
	int rc = hc_create(cfg, decompress, &out->h, eb);
	if (rc)
		cli_hc_close(out);
	return rc;
}

void cli_hc_close(struct cli_hc *c)
{
	hc_destroy(c->h);
	if (c->ops && c->pred)
		c->ops->destroy(c->pred);
	memset(c, 0, sizeof *c);
}
