/* err: the one list of precraft error codes and the one way to carry detail.
 *
 * Functions that can fail return 0 or a negative ERR_* code (STYLE.md §5).  Detail for a human
 * goes into a caller-owned struct errbuf; a NULL errbuf is allowed everywhere.  Only the CLI
 * prints errors and picks exit codes; modules never print or exit. */
#ifndef PRECRAFT_ERR_H
#define PRECRAFT_ERR_H

#include <stddef.h>

#define ERR_MAP(X)                                                             \
	X(NOMEM, "out of memory")                                              \
	X(INVAL, "invalid argument")                                           \
	X(TRUNC, "truncated")                                                  \
	X(MALFORMED, "malformed")                                              \
	X(UNSUPPORTED, "unsupported")                                          \
	X(NOBUFS, "no buffer space")                                           \
	X(QUOTA, "per-flow quota exceeded")                                    \
	X(DOUBLE_PUT, "buffer returned twice")                                 \
	X(FULL, "table full")                                                  \
	X(NOTFOUND, "not found")                                               \
	X(IO, "input/output error")                                            \
	X(FORMAT, "bad file format")                                           \
	X(NOROUTE, "no route")                                                 \
	X(EXISTS, "already exists")                                            \
	X(CHANGED, "changed while it was read")

enum err_code {
	ERR_OK = 0,
#define ERR__ENUM(name, text) ERR_##name,
	ERR__FIRST_MINUS_ONE = 0,
	ERR_MAP(ERR__ENUM)
#undef ERR__ENUM
};

/* The negative code of each error: ERR_NOMEM is returned as -ERR_NOMEM. */

#define ERR_MSG_LEN 256

/* Caller-owned detail buffer. */
struct errbuf {
	char msg[ERR_MSG_LEN];
};

/* Static text for a code (positive or negative); "unknown error" for others. */
const char *err_str(int code);

/* Formats 'fmt' into 'eb' (does nothing when 'eb' is NULL).  Returns 'code' so that a failing
 * function can say `return err_set(eb, -ERR_IO, "...")`. */
int err_set(struct errbuf *eb, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#define WARN_UNUSED __attribute__((warn_unused_result))

#endif
