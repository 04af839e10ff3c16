/* costs: cost profile files (see costs.h). */
#include "costs.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/lines.h"

int costs_load(const char *path, struct cost_profile *c, struct errbuf *eb)
{
	struct lines ls;
	int rc = lines_open(&ls, path, eb);
	if (rc)
		return rc;
	static const char *const names[] = { "slow_ns", "hit_ns", "miss_ns", "craft_ns", "drop_ns" };
	double *fields[] = { &c->slow_ns, &c->hit_ns, &c->miss_ns, &c->craft_ns, &c->drop_ns };
	unsigned seen = 0, n = 0;
	char *line;
	while ((rc = lines_next(&ls, &line, eb)) == 1) {
		n = ls.no;
		rc = 0;
		char *h = strchr(line, '#');
		if (h)
			*h = 0;
		char name[64], extra[2];
		double v;
		int k = sscanf(line, " %63[a-z_] = %lf %1s", name, &v, extra);
		if (k <= 0)
			continue;
		if (k != 2 || !(v >= 0 && v < 1e12)) {
			rc = err_set(eb, -ERR_FORMAT, "%s:%u: expected 'name = nanoseconds'", path, n);
			break;
		}
		unsigned i = 0;
		while (i < 5 && strcmp(name, names[i]) != 0)
			i++;
		if (i == 5) {
			rc = err_set(eb, -ERR_FORMAT, "%s:%u: unknown cost '%s'", path, n, name);
			break;
		}
		*fields[i] = v;
		seen |= 1u << i;
	}
	lines_close(&ls);
	if (!rc && seen != 0x1f)
		rc = err_set(eb, -ERR_FORMAT, "%s: a cost profile needs slow_ns, hit_ns, miss_ns, craft_ns and drop_ns", path);
	return rc;
}

int costs_save(const char *path, const struct cost_profile *c, const char *comment, struct errbuf *eb)
{
	FILE *f = fopen(path, "w");
	if (!f)
		return err_set(eb, -ERR_IO, "%s: cannot write: %s", path, strerror(errno));
	fprintf(f, "# precraft cost profile: nanoseconds per operation of the real core (medians)\n# %s\n", comment);
	fprintf(f, "slow_ns = %.1f\nhit_ns = %.1f\nmiss_ns = %.1f\ncraft_ns = %.1f\ndrop_ns = %.1f\n", c->slow_ns,
		c->hit_ns, c->miss_ns, c->craft_ns, c->drop_ns);
	return fclose(f) == 0 ? 0 : err_set(eb, -ERR_IO, "%s: write failed", path);
}
