/* lines: the one reader of line-based configuration files (routes, scenarios, cost profiles).
 *
 * A line is read whole or refused by name: a line longer than LINES_MAX is an error at its own
 * line number, never split (a split line would make the text inside a long comment into
 * configuration).  A UTF-8 byte-order mark before the first line is skipped; "\r\n" ends a
 * line like "\n"; a NUL byte (a binary file) and a read error are errors. */
#ifndef PRECRAFT_LINES_H
#define PRECRAFT_LINES_H

#include <stdio.h>

#include "err.h"

#define LINES_MAX 4096

struct lines {
	FILE *f;
	const char *path;
	unsigned no;               /* of the line last returned, from 1 */
	char buf[LINES_MAX + 1];
};

/* Opens 'path'.  Returns 0 or -ERR_IO with detail. */
int lines_open(struct lines *l, const char *path, struct errbuf *eb) WARN_UNUSED;
/* The next line in '*line' (without its end; writable until the next call).  Returns 1, 0 at
 * the end, or a negative ERR_* with detail "PATH:N: ...". */
int lines_next(struct lines *l, char **line, struct errbuf *eb) WARN_UNUSED;
void lines_close(struct lines *l);

#endif
