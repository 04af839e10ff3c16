/* hc_setup: a header compressor or decompressor by name (see hc_setup.h). */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "core/predict.h"
#include "hc_setup.h"
#include "models/registry.h"

int cli_file_hash(const char *path, uint64_t *h, struct errbuf *eb)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return err_set(eb, -ERR_IO, "%s: %s", path, strerror(errno));
	uint64_t x = 0xcbf29ce484222325ull;
	uint8_t buf[65536];
	size_t n;
	while ((n = fread(buf, 1, sizeof buf, f)) > 0)
		for (size_t i = 0; i < n; i++)
			x = (x ^ buf[i]) * 0x100000001b3ull;
	int bad = ferror(f);
	fclose(f);
	if (bad)
		return err_set(eb, -ERR_IO, "%s: read error", path);
	*h = x;
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
			int rc = cli_file_hash(model_file, &cfg->model_hash, eb);
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
