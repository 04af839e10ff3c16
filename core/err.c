/* err: static texts for the codes in err.h and the errbuf formatter. */
#include "err.h"

#include <stdarg.h>
#include <stdio.h>

const char *err_str(int code)
{
	if (code < 0)
		code = -code;
	switch (code) {
	case 0:
		return "success";
#define ERR__CASE(name, text)                                                  \
	case ERR_##name:                                                       \
		return text;
		ERR_MAP(ERR__CASE)
#undef ERR__CASE
	}
	return "unknown error";
}

int err_set(struct errbuf *eb, int code, const char *fmt, ...)
{
	if (eb) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(eb->msg, sizeof eb->msg, fmt, ap);
		va_end(ap);
	}
	return code;
}
