/* human: numbers written for people (summary, the report's tables): "2.52 ms", not
 * "2.52314e+06".  The metric's name says what a value is: a name ending in _ns is a time, written
 * in ns, us, ms or s with 3 significant digits; a whole number is written in full with thousands
 * separated ("253,929"), as is any value from 1,000 up (rounded); any other with 4 significant
 * digits.  Tables for machines (CSV, the data files of figures) keep full
 * precision: this is only for text a person reads. */
#ifndef PRECRAFT_ANALYSIS_HUMAN_H
#define PRECRAFT_ANALYSIS_HUMAN_H

#include <stddef.h>

void human_value(const char *metric, double v, char *out, size_t n);

/* "1 run", "3 runs": 'n' and the noun, singular or plural ("run" -> "runs"). */
void human_count(size_t n, const char *noun, char *out, size_t cap);

#endif
