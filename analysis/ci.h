/* ci: the mean of replications with its 95 % confidence interval (Student t, GSL), the one
 * place results readers (the report's comparison, later the summary of a sweep) compute it. */
#ifndef PRECRAFT_ANALYSIS_CI_H
#define PRECRAFT_ANALYSIS_CI_H

#include <stddef.h>

struct ci {
	size_t n;
	double mean, sd;           /* sd: sample standard deviation (n - 1), 0 for one value */
	double half;               /* half-width of the 95 % interval: t(0.975, n - 1) * sd / sqrt(n); 0 for n < 2 */
};

/* Over 'n' values (n >= 1). */
struct ci ci_of(const double *x, size_t n);

#endif
