/* file: the fuzz input as a named memory file (see fuzz.h). */
#define _GNU_SOURCE
#include <stdio.h>
#include <sys/mman.h>
#include <unistd.h>

#include "fuzz.h"

static int fd = -1;
static char path[64];

const char *fuzz_file(const uint8_t *data, size_t size, const char *suffix)
{
	fuzz_file_close();
	fd = memfd_create("fuzz", 0);
	FUZZ_REQUIRE(fd >= 0);
	for (size_t off = 0; off < size;) {
		ssize_t n = write(fd, data + off, size - off);
		FUZZ_REQUIRE(n > 0);
		off += (size_t)n;
	}
	/* A name with the suffix the reader looks at (".pcapng"), through a symlink-free path: the
	 * /proc entry itself cannot carry a suffix, so a second link is not needed when the
	 * reader decides by content. */
	(void)suffix;
	snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
	return path;
}

void fuzz_file_close(void)
{
	if (fd >= 0)
		close(fd);
	fd = -1;
}
