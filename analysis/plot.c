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

void plot_quote(const char *s, char *out, size_t n)
{
	size_t j = 0;
	for (; *s && j + 3 < n; s++) {
		if (*s == '\'')
			out[j++] = '\'';
		out[j++] = *s;
	}
	out[j] = 0;
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

int plot_render(const char *dir, const char *name, const char *fmt, const char *script, char *why, size_t why_len)
{
	char gp[4096], img[4096], log[4096];
	snprintf(gp, sizeof gp, "%s/%s.gp", dir, name);
	snprintf(img, sizeof img, "%s/%s.%s", dir, name, fmt);
	snprintf(log, sizeof log, "%s/%s.log", dir, name);
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
