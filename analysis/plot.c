/* plot: gnuplot as a program (see plot.h). */
#include "plot.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

/* What a name may keep inside a single-quoted gnuplot string: printable ASCII without the
 * backquote (command substitution), '@' (macro expansion) and '\\'; the quote itself is
 * doubled.  A newline would end the string and start a command, so every control byte (and
 * every byte outside ASCII) is replaced, never passed. */
static int string_char(unsigned char c)
{
	return c >= 0x20 && c < 0x7f && c != '`' && c != '@' && c != '\\';
}

void plot_quote(const char *s, char *out, size_t n)
{
	size_t j = 0;
	if (!n)
		return;
	for (const unsigned char *p = (const unsigned char *)s; *p && j + 3 < n; p++) {
		if (*p == '\'')
			out[j++] = '\'';
		out[j++] = string_char(*p) ? (char)*p : '?';
	}
	out[j] = 0;
}

void plot_label(const char *s, char *out, size_t n)
{
	size_t j = 0;
	if (!n)
		return;
	for (const unsigned char *p = (const unsigned char *)s; *p && j + 1 < n; p++)
		out[j++] = string_char(*p) && *p != '"' ? (char)*p : *p == '"' ? '\'' : '?';
	out[j] = 0;
}

/* The words a script line may start with: everything precraft writes sets an option, unsets
 * one or plots. */
static int line_start_ok(const char *l, size_t len)
{
	static const char *const starts[] = { "set ", "unset ", "plot " };
	for (size_t i = 0; i < sizeof starts / sizeof starts[0]; i++) {
		size_t k = strlen(starts[i]);
		if (len >= k && !strncmp(l, starts[i], k))
			return 1;
	}
	return 0;
}

static int word_char(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

int plot_script_ok(const char *script, char *why, size_t why_len)
{
	unsigned no = 0;
	for (const char *l = script; *l;) {
		size_t len = strcspn(l, "\n");
		no++;
		if (len && !line_start_ok(l, len)) {
			snprintf(why, why_len, "script line %u is not a set, unset or plot line", no);
			return -1;
		}
		int in_str = 0;
		for (size_t i = 0; i < len; i++) {
			unsigned char c = (unsigned char)l[i];
			if (c == '\'') {
				in_str = !in_str; /* a doubled quote closes and reopens: the same */
				continue;
			}
			if (in_str ? !string_char(c) : (c < 0x20 || c >= 0x7f || strchr("`@!\"\\|<$", c))) {
				snprintf(why, why_len, "script line %u holds a byte 0x%02x outside what names may hold", no, c);
				return -1;
			}
			if (!in_str && word_char(c) && (i == 0 || !word_char((unsigned char)l[i - 1]))) {
				size_t w = i;
				while (w < len && word_char((unsigned char)l[w]))
					w++;
				static const char *const cmds[] = { "system", "eval", "load", "call", "shell", "pipe", "print" };
				for (size_t k = 0; k < sizeof cmds / sizeof cmds[0]; k++)
					if (w - i == strlen(cmds[k]) && !strncmp(l + i, cmds[k], w - i)) {
						snprintf(why, why_len, "script line %u names '%s'", no, cmds[k]);
						return -1;
					}
			}
		}
		if (in_str) {
			snprintf(why, why_len, "script line %u ends inside a string", no);
			return -1;
		}
		l += len + (l[len] == '\n');
	}
	return 0;
}

/* The first line of 'path' that says something, for the page. */
static void first_line(const char *path, char *why, size_t n)
{
	FILE *f = fopen(path, "r");
	char line[512];
	why[0] = 0;
	while (f && fgets(line, sizeof line, f)) {
		line[strcspn(line, "\r\n")] = 0;
		char *p = line;
		while (*p == ' ' || *p == '\t' || *p == '^')
			p++;
		if (*p) {
			snprintf(why, n, "gnuplot: %s", p);
			break;
		}
	}
	if (f)
		fclose(f);
	if (!why[0])
		snprintf(why, n, "gnuplot failed");
}

int plot_write(const char *dir, const char *name, const char *fmt, const char *script, char *why, size_t why_len)
{
	char gp[4096];
	/* The figure's name is a file name and sits in the script: letters, digits, '_', '.', '-'. */
	if (!*name || name[strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-")] ||
	    (strcmp(fmt, "png") && strcmp(fmt, "svg"))) {
		snprintf(why, why_len, "refused: a figure name or format outside [A-Za-z0-9_.-]");
		return -1;
	}
	if (plot_script_ok(script, why, why_len))
		return -1; /* never reached by precraft's own scripts: a name slipped past plot_quote */
	snprintf(gp, sizeof gp, "%s/%s.gp", dir, name);
	FILE *f = fopen(gp, "w");
	if (!f) {
		snprintf(why, why_len, "%s: cannot write: %s", gp, strerror(errno));
		return -1;
	}
	if (!strcmp(fmt, "png"))
		fprintf(f, "set terminal pngcairo size 900,420 font 'sans,10'\n");
	else
		fprintf(f, "set terminal svg size 900,420 font 'sans,11' background rgb 'white'\n");
	fprintf(f, "set termoption noenhanced\nset output '%s.%s'\nset grid\nset key outside right top\n%s\nunset output\n", name, fmt, script);
	if (fclose(f) != 0) {
		snprintf(why, why_len, "%s: write failed", gp);
		return -1;
	}
	return 0;
}

int plot_render(const char *dir, const char *name, const char *fmt, const char *script, char *why, size_t why_len)
{
	if (plot_write(dir, name, fmt, script, why, why_len))
		return -1;
	char img[4096], log[4096];
	snprintf(img, sizeof img, "%s/%s.%s", dir, name, fmt);
	snprintf(log, sizeof log, "%s/%s.log", dir, name);
	unlink(img);
	pid_t pid = fork();
	if (pid < 0) {
		snprintf(why, why_len, "cannot start gnuplot: %s", strerror(errno));
		return -1;
	}
	if (pid == 0) {
		int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		int nul = open("/dev/null", O_RDONLY);
		if (fd < 0 || nul < 0 || chdir(dir) != 0)
			_exit(126);
		dup2(nul, 0);
		dup2(fd, 1);
		dup2(fd, 2);
		char base[300];
		snprintf(base, sizeof base, "%s.gp", name);
		execlp("gnuplot", "gnuplot", base, (char *)NULL);
		_exit(127);
	}
	int status;
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR) {
			snprintf(why, why_len, "gnuplot: %s", strerror(errno));
			return -1;
		}
	if (WIFEXITED(status) && WEXITSTATUS(status) == 127) {
		snprintf(why, why_len, "gnuplot is not installed (make deps installs it)");
		return -1;
	}
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		first_line(log, why, why_len);
		return -1;
	}
	struct stat sb;
	if (stat(img, &sb) != 0 || sb.st_size == 0) {
		snprintf(why, why_len, "gnuplot: no image came out");
		return -1;
	}
	unlink(log); /* gnuplot's notes on a figure it drew (empty ranges adjusted and the like) */
	return 0;
}
