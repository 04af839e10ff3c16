/* lines: whole configuration lines (see lines.h). */
#include "lines.h"

#include <errno.h>
#include <string.h>

int lines_open(struct lines *l, const char *path, struct errbuf *eb)
{
	l->f = fopen(path, "r");
	l->path = path;
	l->no = 0;
	if (!l->f)
		return err_set(eb, -ERR_IO, "%s: cannot open: %s", path, strerror(errno));
	return 0;
}

int lines_next(struct lines *l, char **line, struct errbuf *eb)
{
	size_t n = 0;
	int c;
	while ((c = getc(l->f)) != EOF && c != '\n') {
		if (c == 0)
			return err_set(eb, -ERR_FORMAT, "%s:%u: a NUL byte: not a text file", l->path, l->no + 1);
		if (n == LINES_MAX)
			return err_set(eb, -ERR_FORMAT, "%s:%u: line longer than %u bytes", l->path, l->no + 1,
				       (unsigned)LINES_MAX);
		l->buf[n++] = (char)c;
	}
	if (ferror(l->f))
		return err_set(eb, -ERR_IO, "%s:%u: read error", l->path, l->no + 1);
	if (c == EOF && n == 0)
		return 0;
	l->buf[n] = 0;
	if (n && l->buf[n - 1] == '\r')
		l->buf[--n] = 0;
	char *s = l->buf;
	if (l->no == 0 && strncmp(s, "\xef\xbb\xbf", 3) == 0)
		s += 3;
	l->no++;
	*line = s;
	return 1;
}

void lines_close(struct lines *l)
{
	if (l->f)
		fclose(l->f);
	l->f = NULL;
}
