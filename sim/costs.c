/* costs: cost profile files (see costs.h). */
#include "costs.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/lines.h"

static int esp_line(struct cost_profile *c, const char *name, const char *line, const char *path, unsigned no,
		    unsigned *seen, struct errbuf *eb);

int costs_load(const char *path, struct cost_profile *c, struct errbuf *eb)
{
	memset(c, 0, sizeof *c);
	unsigned esp_seen = 0;
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
		if (strncmp(name, "esp_", 4) == 0) {
			if ((rc = esp_line(c, name, line, path, n, &esp_seen, eb)) != 0)
				break;
			continue;
		}
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
	if (!rc && esp_seen && (esp_seen & 0x1f) != 0x1f)
		rc = err_set(eb, -ERR_FORMAT,
			     "%s: an ESP table needs esp_sizes, esp_seal_ns, esp_keyed_ns, esp_anticipated_ns and esp_keystream_ns", path);
	if (!rc && (esp_seen & 0xe0) && (esp_seen & 0xe0) != 0xe0)
		rc = err_set(eb, -ERR_FORMAT, "%s: the opening costs are esp_open_ns, esp_open_keyed_ns and esp_open_anticipated_ns, all three",
			     path);
	c->esp_open = (esp_seen & 0xe0) == 0xe0;
	return rc;
}

static const char *const esp_names[] = { "esp_seal_ns",     "esp_keyed_ns",	  "esp_anticipated_ns",
					 "esp_keystream_ns", "esp_open_ns", "esp_open_keyed_ns",
					 "esp_open_anticipated_ns" };

/* One 'esp_NAME = v1,v2,...' line. */
static int esp_line(struct cost_profile *c, const char *name, const char *line, const char *path, unsigned no,
		    unsigned *seen, struct errbuf *eb)
{
	int k = -1;
	for (int i = 0; i < COSTS_ESP_KINDS; i++)
		if (!strcmp(name, esp_names[i]))
			k = i;
	if (k < 0 && strcmp(name, "esp_sizes"))
		return err_set(eb, -ERR_FORMAT, "%s:%u: unknown cost '%s'", path, no, name);
	const char *p = strchr(line, '=');
	if (!p) /* the name read, then something else: "esp_seal_ns 1,2" */
		return err_set(eb, -ERR_FORMAT, "%s:%u: expected '%s = v1,v2,...'", path, no, name);
	p++;
	double v[COSTS_ESP_MAX];
	unsigned n = 0;
	for (;;) {
		char *end;
		errno = 0;
		double x = strtod(p, &end);
		if (end == p || errno || !(x >= 0 && x < 1e12) || n == COSTS_ESP_MAX)
			return err_set(eb, -ERR_FORMAT, "%s:%u: expected '%s = v1,v2,...' (up to %d numbers >= 0)", path, no,
				       name, COSTS_ESP_MAX);
		v[n++] = x;
		while (*end == ' ' || *end == '\t')
			end++;
		if (*end != ',')
			break;
		p = end + 1;
	}
	if (k < 0) {
		for (unsigned i = 1; i < n; i++)
			if (v[i] <= v[i - 1])
				return err_set(eb, -ERR_FORMAT, "%s:%u: esp_sizes must increase", path, no);
		if (n < 2)
			return err_set(eb, -ERR_FORMAT, "%s:%u: esp_sizes needs two sizes at least", path, no);
	}
	if (c->esp_n && n != c->esp_n)
		return err_set(eb, -ERR_FORMAT, "%s:%u: %s has %u values, the ESP table %u", path, no, name, n, c->esp_n);
	c->esp_n = n;
	memcpy(k < 0 ? c->esp_size : c->esp[k], v, n * sizeof v[0]);
	*seen |= 1u << (k + 1);
	return 0;
}

double costs_esp(const struct cost_profile *c, enum costs_esp_kind k, double bytes)
{
	if (!c->esp_n)
		return 0;
	unsigned i = 1;
	while (i + 1 < c->esp_n && bytes > c->esp_size[i])
		i++;
	double x0 = c->esp_size[i - 1], x1 = c->esp_size[i], y0 = c->esp[k][i - 1], y1 = c->esp[k][i];
	double y = y0 + (y1 - y0) * (bytes - x0) / (x1 - x0);
	return y > 0 ? y : 0;
}

int costs_save(const char *path, const struct cost_profile *c, const char *comment, struct errbuf *eb)
{
	FILE *f = fopen(path, "w");
	if (!f)
		return err_set(eb, -ERR_IO, "%s: cannot write: %s", path, strerror(errno));
	fprintf(f, "# precraft cost profile: nanoseconds per operation of the real core (medians)\n# %s\n", comment);
	fprintf(f, "slow_ns = %.1f\nhit_ns = %.1f\nmiss_ns = %.1f\ncraft_ns = %.1f\ndrop_ns = %.1f\n", c->slow_ns,
		c->hit_ns, c->miss_ns, c->craft_ns, c->drop_ns);
	if (c->esp_n) {
		fprintf(f, "# ESP (ChaCha20-Poly1305) by inner packet size, over the routing costs above\nesp_sizes =");
		for (unsigned i = 0; i < c->esp_n; i++)
			fprintf(f, "%s%.0f", i ? "," : " ", c->esp_size[i]);
		for (int k = 0; k < (c->esp_open ? COSTS_ESP_KINDS : COSTS_ESP_SEAL_KINDS); k++) {
			fprintf(f, "\n%s =", esp_names[k]);
			for (unsigned i = 0; i < c->esp_n; i++)
				fprintf(f, "%s%.1f", i ? "," : " ", c->esp[k][i]);
		}
		fprintf(f, "\n");
	}
	return fclose(f) == 0 ? 0 : err_set(eb, -ERR_IO, "%s: write failed", path);
}
