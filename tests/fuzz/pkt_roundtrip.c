/* pkt_roundtrip: the packet parser on any bytes, as any link type.  Required: no crash, no
 * read outside the frame (ASan), and for every frame decoded to IP, writing its headers back
 * reproduces the frame's header bytes exactly, the payload lies inside the capture, and a
 * second parse of the same bytes gives the same packet. */
#include <string.h>

#include "core/pkt.h"
#include "fuzz.h"

static const int linktypes[] = { PKT_LINK_ETH, PKT_LINK_RAW, PKT_LINK_SLL, PKT_LINK_SLL2, PKT_LINK_NULL,
				 PKT_LINK_IPV4, PKT_LINK_IPV6, PKT_LINK_LOOP };

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 3)
		return 0;
	int lt = linktypes[data[0] % (sizeof linktypes / sizeof linktypes[0])];
	/* The wire length: the captured length, or above or below it by the second byte. */
	uint32_t caplen = (uint32_t)(size - 2), wirelen = caplen;
	int8_t d = (int8_t)data[1];
	if (d < 0)
		wirelen = caplen > (uint32_t)-d ? caplen + (uint32_t)d : 0;
	else if (d > 64)
		wirelen = caplen + (uint32_t)d * 1000u;
	/* A copy of exactly 'caplen' bytes, so that ASan sees a read past the capture. */
	uint8_t *frame = malloc(caplen ? caplen : 1);
	memcpy(frame, data + 2, caplen);
	struct pkt p, q;
	int rc = pkt_parse(frame, caplen, wirelen, lt, &p);
	(void)pkt_probe(frame, caplen, lt);
	if (rc == 0 && p.l3 != PKT_L3_NONE) {
		if (p.l4 == PKT_L4_TCP)
			pkt_tcp_opts(&p);
		uint32_t hl = pkt_headers_len(&p);
		FUZZ_REQUIRE(hl <= caplen);
		uint8_t *out = malloc(hl ? hl : 1);
		FUZZ_REQUIRE(pkt_write_headers(&p, out, hl) == (int)hl);
		FUZZ_REQUIRE(memcmp(out, frame, hl) == 0);
		if (hl)
			FUZZ_REQUIRE(pkt_write_headers(&p, out, hl - 1) < 0); /* a buffer too small is refused */
		free(out);
		FUZZ_REQUIRE(p.payload_avail <= p.payload_len);
		FUZZ_REQUIRE(p.payload_avail == 0 || (p.payload >= frame && p.payload + p.payload_avail <= frame + caplen));
		FUZZ_REQUIRE(p.l3_hdr_len <= p.l3_len);
		FUZZ_REQUIRE(pkt_parse(frame, caplen, wirelen, lt, &q) == 0 && q.l3 == p.l3 && q.l4 == p.l4 &&
			     q.payload_len == p.payload_len && q.payload_avail == p.payload_avail);
	}
	free(frame);
	return 0;
}
