/* grid: the parameter grid of a sweep (`precraft sweep --grid KEY=VALUES`).
 *
 * An axis is a scenario key and its values: a list ("static,adaptive"), an arithmetic range
 * ("1..10:2" = 1 3 5 7 9, both ends included when the step lands on them) or a geometric one
 * ("1e3..1e6*10" = 1000 10000 100000 1e+06), or a comma-separated mix of them.  A range has a
 * whole number of steps, decided once (no value passes TO); a value given twice ("off,off",
 * "1,1.0", or a range that overlaps a listed value) and a run.run axis are refused.  The grid is the
 * cross product of its axes; point i counts in mixed radix, the last axis fastest, so that the
 * order of the points follows the order of the --grid options.  Values are kept as text, as
 * scenario_set() takes them; range values are printed with 12 significant digits. */
#ifndef PRECRAFT_SIM_GRID_H
#define PRECRAFT_SIM_GRID_H

#include <stddef.h>
#include <stdint.h>

#include "core/err.h"

#define GRID_MAX_AXES 16
#define GRID_MAX_VALUES 10000   /* per axis */
#define GRID_MAX_POINTS 1000000
#define GRID_KEY 96
#define GRID_VALUE 64

struct grid_axis {
	char key[GRID_KEY];
	unsigned n;
	char (*values)[GRID_VALUE];
};

struct grid {
	struct grid_axis axis[GRID_MAX_AXES];
	unsigned n_axes;
};

/* Adds the axis "KEY=VALUES".  -ERR_FORMAT with "--grid 'spec': what" in 'eb' for a spec
 * without '=', an empty value, a malformed range, a key given twice, a value given twice, the
 * key run.run, or too many axes, values or points. */
int grid_add(struct grid *g, const char *spec, struct errbuf *eb) WARN_UNUSED;

/* The number of points (1 for a grid without axes). */
uint64_t grid_points(const struct grid *g);

/* Axis a's value at point i. */
const char *grid_value(const struct grid *g, uint64_t i, unsigned a);

/* "key=value key=value ..." of point i in 'out' (cut at 'cap'). */
void grid_point_text(const struct grid *g, uint64_t i, char *out, size_t cap);

void grid_free(struct grid *g);

#endif
