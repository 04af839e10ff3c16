/* trace_read: the capture reader (pcap, pcapng, gzip) on any file.  Required: no crash, no
 * read outside a buffer, no leak, every record within the reader's bounds, and an end that is
 * either the end of the file or one error with a message. */
#include <string.h>

#include "core/err.h"
#include "fuzz.h"
#include "traces/trace.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *path = fuzz_file(data, size, "");
	struct trace *t = NULL;
	struct errbuf eb = { "" };
	if (trace_open(path, &t, &eb) == 0) {
		struct trace_rec r;
		int rc;
		uint64_t n = 0, sum = 0;
		while ((rc = trace_next(t, &r, &eb)) == 1) {
			FUZZ_REQUIRE(r.caplen <= 262144 + 1024);
			/* Touch every byte: ASan checks the record lies in the reader's buffer. */
			for (uint32_t i = 0; i < r.caplen; i++)
				sum += r.data[i];
			FUZZ_REQUIRE(r.index == ++n);
		}
		FUZZ_REQUIRE(rc == 0 || eb.msg[0]);
		(void)sum;
		trace_close(t);
	} else {
		FUZZ_REQUIRE(eb.msg[0]);
	}
	fuzz_file_close();
	return 0;
}
