/* fuzz.h: what the libFuzzer targets share (tests/fuzz/README.md says how they run). */
#ifndef PRECRAFT_FUZZ_H
#define PRECRAFT_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A property the target checks failed: libFuzzer records the input as a crash. */
#define FUZZ_REQUIRE(cond)                                                                      \
	do {                                                                                    \
		if (!(cond)) {                                                                  \
			fprintf(stderr, "%s:%d: required: %s\n", __FILE__, __LINE__, #cond);    \
			abort();                                                                \
		}                                                                               \
	} while (0)

/* The input as a file the parsers under test can open by name: a memory file, no disk.  The
 * path is "/proc/self/fd/N"; fuzz_file_close() releases it. */
const char *fuzz_file(const uint8_t *data, size_t size, const char *suffix);
void fuzz_file_close(void);

#endif
