/* cli: shared pieces of the subcommand handlers (see cli.h). */
#include "cli.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "core/clock_mono.h"
#include "core/crypto.h"
#include "core/err.h"
#include "shaper.h"

volatile sig_atomic_t cli_stop;

static void on_signal(int sig)
{
	(void)sig;
	cli_stop = 1;
}

volatile sig_atomic_t cli_hup;

static void on_hup(int sig)
{
	(void)sig;
	cli_hup = 1;
}

void cli_catch_hup(void)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_hup;
	sigaction(SIGHUP, &sa, NULL);
}

void cli_catch_signals(void)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
}

int cli_exit_code(int err)
{
	return err == -ERR_NOMEM || err == -ERR_NOBUFS || err == -ERR_FULL || err == -ERR_CHANGED ? EXIT_RUNTIME : EXIT_USAGE;
}

void cli_print_scalar(void *arg, const char *name, double v)
{
	(void)arg;
	if (v >= 0 && v < 1e19 && v == (double)(uint64_t)v)
		printf("%-24s %llu\n", name, (unsigned long long)v);
	else
		printf(v > -1 && v < 1 ? "%-24s %.4f\n" : "%-24s %.1f\n", name, v);
}

bool cli_file_sha256(const char *path, char hex[65])
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return false;
	uint8_t out[32];
	bool ok = crypto_sha256_file(f, out) == 0;
	fclose(f);
	if (ok)
		sodium_bin2hex(hex, 65, out, sizeof out);
	return ok;
}

void cli_text_sha256(const char *text, size_t n, char hex[65])
{
	unsigned char out[crypto_hash_sha256_BYTES];
	crypto_hash_sha256(out, (const unsigned char *)text, n);
	sodium_bin2hex(hex, 65, out, sizeof out);
}

void cli_error(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fputs("precraft: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

bool cli_u64(const char *opt, const char *s, uint64_t lo, uint64_t hi, uint64_t *out)
{
	char *end;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (!*s || *end || errno || s[0] == '-' || v < lo || v > hi) {
		cli_error("%s: '%s' is not a whole number from %llu to %llu", opt, s,
			  (unsigned long long)lo, (unsigned long long)hi);
		return false;
	}
	*out = v;
	return true;
}

bool cli_double(const char *opt, const char *s, double lo, double hi, double *out)
{
	char *end;
	errno = 0;
	double v = strtod(s, &end);
	if (!*s || *end || errno || !(v >= lo && v <= hi)) {
		cli_error("%s: '%s' is not a number from %g to %g", opt, s, lo, hi);
		return false;
	}
	*out = v;
	return true;
}

static bool readable(const char *p)
{
	return access(p, R_OK) == 0;
}

bool cli_find_data(const char *name, char *out, size_t cap)
{
	const char *env = getenv("PRECRAFT_DATA");
	if (env && (size_t)snprintf(out, cap, "%s/%s", env, name) < cap && readable(out))
		return true;
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
	if (n <= 0)
		return false;
	exe[n] = 0;
	char *slash = strrchr(exe, '/');
	if (!slash)
		return false;
	*slash = 0;
	/* build/precraft or build/san/precraft in the source tree; PREFIX/bin when installed (make
	 * install mirrors the tree: share/precraft/scenarios, share/precraft/traces). */
	static const char *const rel[] = { "../scenarios", "../../scenarios", "../share/precraft/scenarios" };
	for (size_t i = 0; i < sizeof rel / sizeof rel[0]; i++) {
		char path[PATH_MAX * 2], real[PATH_MAX];
		if ((size_t)snprintf(path, sizeof path, "%s/%s/%s", exe, rel[i], name) < sizeof path && readable(path) &&
		    realpath(path, real) && strlen(real) < cap) {
			strcpy(out, real);
			return true;
		}
	}
	return false;
}

uint64_t cli_now_ns(void)
{
	return clock_mono_ns();
}

void cli_progress_start(struct cli_progress *pr, bool quiet)
{
	pr->enabled = !quiet && isatty(STDERR_FILENO);
	pr->shown = false;
	pr->start_ns = pr->last_ns = cli_now_ns();
}

void cli_progress_update(struct cli_progress *pr, uint64_t done, uint64_t total, uint64_t packets)
{
	if (!pr->enabled)
		return;
	uint64_t now = cli_now_ns();
	if (now - pr->start_ns < 1000000000ull || now - pr->last_ns < 200000000ull)
		return;
	pr->last_ns = now;
	pr->shown = true;
	if (!total) {
		fprintf(stderr, "\r%llu packets, %.0f s", (unsigned long long)packets,
			(double)(now - pr->start_ns) / 1e9);
	} else {
		double frac = (double)done / (double)total;
		int bar = (int)(frac * 30.0);
		fprintf(stderr, "\r[%-30.*s] %5.1f%%  %llu packets", bar, "##############################",
			frac * 100.0, (unsigned long long)packets);
	}
	fflush(stderr);
}

void cli_progress_end(struct cli_progress *pr)
{
	if (pr->shown)
		fputs("\r\033[K", stderr);
}

static char command_line[4096] = "precraft";

void cli_set_command_line(int argc, char **argv)
{
	size_t n = strlen(command_line);
	for (int i = 1; i < argc && n < sizeof command_line; i++)
		n += (size_t)snprintf(command_line + n, sizeof command_line - n, " %s", argv[i]);
}

const char *cli_command_line(void)
{
	return command_line;
}

int cli_write_output(const char *path, int (*write)(const char *path, const void *arg, struct errbuf *eb),
		     const void *arg, struct errbuf *eb)
{
	struct stat sb;
	if (stat(path, &sb) == 0 && !S_ISREG(sb.st_mode))
		return write(path, arg, eb);
	char tmp[4096];
	if ((size_t)snprintf(tmp, sizeof tmp, "%s.tmp", path) >= sizeof tmp)
		return err_set(eb, -ERR_INVAL, "%s: the path is too long", path);
	int rc = write(tmp, arg, eb);
	if (!rc && rename(tmp, path) != 0)
		rc = err_set(eb, -ERR_IO, "%s: cannot put the file in place: %s", path, strerror(errno));
	if (rc)
		remove(tmp);
	return rc;
}

void cli_print_usage(FILE *f, const char *usage)
{
	const char *mark = strstr(usage, "%s");
	if (!mark) {
		fputs(usage, f);
		return;
	}
	fwrite(usage, 1, (size_t)(mark - usage), f);
	fputs(shaper_usage, f);
	fputs(mark + 2, f);
}
