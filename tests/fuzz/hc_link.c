/* hc_link: a compressed link (core/hc.h) on any frames.  Input: a byte choosing the compressor
 * (vj, last, header) and a byte of flags (bit 0: the link loses some frames, chosen by the
 * frames' own bytes; bit 1: the link damages some frames; bit 2: feedback goes back), then
 * frames as 2-byte length and bytes.  Each frame is compressed, sent (or lost, or damaged), and
 * decompressed.  Required: no crash, no read outside a frame (ASan); a compressed frame at most
 * HC_OVERHEAD_MAX longer than its frame; and on a link that damages nothing, whatever the
 * decompressor delivers for a frame is that frame, byte for byte, until a frame is lost (after
 * a loss the check is probabilistic by design: a CRC-8, and vj's end-to-end checksum). */
#include <string.h>

#include "core/hc.h"
#include "core/predict.h"
#include "fuzz.h"
#include "models/registry.h"

#define FRAME_MAX 4096

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 2)
		return 0;
	static const char *names[] = { "vj", "last", "header" };
	const char *name = names[data[0] % 3];
	unsigned flags = data[1];
	const struct predictor_ops *ops = strcmp(name, "vj") ? models_find(name) : NULL;
	void *pc = NULL, *pd = NULL;
	if (ops && (ops->create(NULL, &pc, NULL) || ops->create(NULL, &pd, NULL)))
		abort();
	struct hc_cfg cfg = { .contexts = 8, .refresh = 16, .ops = ops, .pred = pc };
	strcpy(cfg.name, name);
	struct hc *c, *d;
	FUZZ_REQUIRE(hc_create(&cfg, false, &c, NULL) == 0);
	cfg.pred = pd;
	FUZZ_REQUIRE(hc_create(&cfg, true, &d, NULL) == 0);
	uint8_t *link = malloc(FRAME_MAX + HC_OVERHEAD_MAX), *out = malloc(FRAME_MAX + HC_OVERHEAD_MAX + HC_HDR_MAX + 64);
	size_t at = 2;
	uint64_t t = 0;
	bool lost = false;
	while (at + 2 <= size) {
		uint32_t n = (uint32_t)(data[at] << 8 | data[at + 1]) % FRAME_MAX;
		at += 2;
		if (n > size - at)
			n = (uint32_t)(size - at);
		/* A copy of exactly n bytes, so that ASan sees a read past the frame. */
		uint8_t *frame = malloc(n ? n : 1);
		memcpy(frame, data + at, n);
		at += n;
		t += 1000000;
		uint32_t m = hc_compress(c, frame, n, n, t, link);
		FUZZ_REQUIRE(m <= n + HC_OVERHEAD_MAX);
		uint8_t pick = n ? frame[n / 2] : 0;
		if ((flags & 1) && pick % 7 == 3) {
			hc_lost(d);
			lost = true;
		} else {
			uint8_t *copy = malloc(m ? m : 1);
			memcpy(copy, link, m);
			bool damaged = (flags & 2) && m && pick % 5 == 1;
			if (damaged)
				copy[pick % m] ^= (uint8_t)(1u << (pick % 8));
			uint32_t k = hc_decompress(d, copy, m, t, out, FRAME_MAX + HC_OVERHEAD_MAX + HC_HDR_MAX + 64);
			if (!(flags & 2) && !lost)
				FUZZ_REQUIRE(k == 0 || (k == n && memcmp(out, frame, n) == 0));
			uint8_t fb[HC_FEEDBACK_MAX];
			uint32_t fl = hc_feedback(d, fb);
			FUZZ_REQUIRE(fl <= HC_FEEDBACK_MAX);
			if ((flags & 4) && fl)
				hc_take_feedback(c, fb, fl);
			free(copy);
		}
		free(frame);
	}
	hc_finish(c);
	hc_destroy(c);
	hc_destroy(d);
	if (ops) {
		ops->destroy(pc);
		ops->destroy(pd);
	}
	free(link);
	free(out);
	return 0;
}
