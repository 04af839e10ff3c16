/* ci: mean and confidence interval (see ci.h). */
#include "ci.h"

#include <gsl/gsl_cdf.h>
#include <gsl/gsl_statistics_double.h>
#include <math.h>

struct ci ci_of(const double *x, size_t n)
{
	struct ci c = { n, 0, 0, 0 };
	if (!n)
		return c;
	c.mean = gsl_stats_mean(x, 1, n);
	if (n < 2)
		return c;
	c.sd = gsl_stats_sd_m(x, 1, n, c.mean);
	c.half = gsl_cdf_tdist_Pinv(0.975, (double)(n - 1)) * c.sd / sqrt((double)n);
	return c;
}
