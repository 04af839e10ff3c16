/* human: numbers for people (see human.h). */
#include "human.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

/* A whole number with its thousands separated: 253929 -> "253,929". */
static void grouped(double v, char *out, size_t n)
{
	char digits[64];
	snprintf(digits, sizeof digits, "%.0f", fabs(v));
	size_t len = strlen(digits), j = 0;
	if (v < 0 && j + 1 < n)
		out[j++] = '-';
	for (size_t i = 0; i < len && j + 1 < n; i++) {
		if (i && (len - i) % 3 == 0 && j + 2 < n)
			out[j++] = ',';
		out[j++] = digits[i];
	}
	out[j] = 0;
}

void human_value(const char *metric, double v, char *out, size_t n)
{
	size_t len = strlen(metric);
	if (!isfinite(v)) {
		snprintf(out, n, "%s", isnan(v) ? "-" : v > 0 ? "inf" : "-inf");
		return;
	}
	if (len > 3 && !strcmp(metric + len - 3, "_ns")) {
		static const struct {
			double scale;
			const char *unit;
		} u[] = { { 1e9, "s" }, { 1e6, "ms" }, { 1e3, "us" } };
		double a = fabs(v);
		for (size_t i = 0; i < sizeof u / sizeof u[0]; i++)
			if (a >= u[i].scale) {
				snprintf(out, n, "%.3g %s", v / u[i].scale, u[i].unit);
				return;
			}
		snprintf(out, n, a >= 100 || a == floor(a) ? "%.0f ns" : "%.3g ns", v);
		return;
	}
	if (v == floor(v) && fabs(v) < 1e15) {
		grouped(v, out, n);
		return;
	}
	double a = fabs(v);
	if (a >= 1000)
		grouped(v, out, n);
	else if (a >= 1e-3)
		snprintf(out, n, "%.4g", v);
	else
		snprintf(out, n, "%.3g", v);
}

void human_count(size_t n, const char *noun, char *out, size_t cap)
{
	char num[32];
	grouped((double)n, num, sizeof num);
	snprintf(out, cap, "%s %s%s", num, noun, n == 1 ? "" : "s");
}
