/* hc: a compressor or decompressor by name, its hello, its counters. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hc_impl.h"

static bool is_vj(const struct hc_cfg *cfg)
{
	return strcmp(cfg->name, "vj") == 0;
}

/* A flow leaves the compressor's table: its figures to cfg.flow_done. */
static void flow_end(void *arg, struct flow_entry *e, enum flow_end why)
{
	(void)why;
	struct hc *h = arg;
	const struct hc_flow *fl = flow_user(h->ft, e);
	if (h->cfg.flow_done && fl->acct.packets)
		h->cfg.flow_done(h->cfg.flow_done_arg, &fl->acct);
}

void hc_finish(struct hc *h)
{
	if (h->ft)
		flow_table_flush(h->ft);
}

int hc_create(const struct hc_cfg *cfg, bool decompress, struct hc **out, struct errbuf *eb)
{
	*out = NULL;
	if (!cfg->name[0] || (!is_vj(cfg) && !cfg->ops))
		return err_set(eb, -ERR_INVAL, "header compression: no compressor named");
	if (cfg->contexts < 1 || cfg->contexts > (1u << 24))
		return err_set(eb, -ERR_INVAL, "header compression: %u contexts (1 to 16777216)", cfg->contexts);
	struct hc *h = calloc(1, sizeof *h);
	if (!h)
		return err_set(eb, -ERR_NOMEM, "header compression: out of memory");
	h->cfg = *cfg;
	h->dec = decompress;
	if (is_vj(cfg)) {
		int rc = hc__vj_create(h, eb);
		if (rc) {
			free(h);
			return rc;
		}
		*out = h;
		return 0;
	}
	size_t st = cfg->ops->flow_state_size;
	h->flow_size = (sizeof(struct hc_flow) + st + 7) & ~(size_t)7;
	int rc = 0;
	if (decompress) {
		h->flows = calloc(cfg->contexts, h->flow_size);
		rc = h->flows ? 0 : -ERR_NOMEM;
	} else {
		struct flow_table_cfg fc = { .capacity = cfg->contexts, .user_size = h->flow_size, .on_end = flow_end,
					     .on_end_arg = h };
		rc = flow_table_create(&fc, &h->ft);
	}
	if (rc) {
		free(h);
		return err_set(eb, rc, "header compression: %u contexts: out of memory", cfg->contexts);
	}
	*out = h;
	return 0;
}

void hc_destroy(struct hc *h)
{
	if (!h)
		return;
	hc__vj_destroy(h);
	flow_table_destroy(h->ft);
	free(h->flows);
	free(h);
}

uint32_t hc_hello(const struct hc *h, uint8_t *out)
{
	out[0] = HC_HELLO;
	int n = snprintf((char *)out + 1, HC_HELLO_MAX - 1, "precraft-hc 1 %s %u %u %016" PRIx64 " %s", h->cfg.name,
			 h->cfg.contexts, h->cfg.refresh, h->cfg.model_hash, h->cfg.untimed ? "untimed" : "timed");
	return 1 + (uint32_t)(n < HC_HELLO_MAX - 1 ? n : HC_HELLO_MAX - 2);
}

int hc_hello_parse(const uint8_t *b, uint32_t len, struct hc_cfg *cfg, struct errbuf *eb)
{
	char s[HC_HELLO_MAX];
	if (len < 2 || len >= sizeof s || b[0] != HC_HELLO)
		return err_set(eb, -ERR_FORMAT, "not a precraft compressed link: its first frame is no hello");
	memcpy(s, b + 1, len - 1);
	s[len - 1] = 0;
	memset(cfg, 0, sizeof *cfg);
	char name[HC_NAME_MAX + 1], clock[8];
	int used = 0;
	if (sscanf(s, "precraft-hc 1 %16s %u %u %" SCNx64 " %7s%n", name, &cfg->contexts, &cfg->refresh,
		   &cfg->model_hash, clock, &used) != 5 || (size_t)used != strlen(s) || strlen(name) >= HC_NAME_MAX ||
	    (strcmp(clock, "timed") && strcmp(clock, "untimed")))
		return err_set(eb, -ERR_FORMAT, "compressed link: hello \"%.60s\" is not version 1's", s);
	cfg->untimed = !strcmp(clock, "untimed");
	memcpy(cfg->name, name, strlen(name) + 1);
	if (cfg->contexts < 1 || cfg->contexts > (1u << 24))
		return err_set(eb, -ERR_FORMAT, "compressed link: hello names %u contexts", cfg->contexts);
	return 0;
}

uint32_t hc_compress_split(struct hc *h, const uint8_t *frame, uint32_t caplen, uint32_t wirelen, uint64_t t_ns,
			   uint8_t *out, struct hc_tail *tail)
{
	if (h->vj) {
		uint64_t t0 = hc__now(h);
		uint32_t n = hc__vj_compress(h, frame, caplen, wirelen, out);
		h->st.path_ns += hc__now(h) - t0; /* vj keeps nothing to learn after */
		*tail = (struct hc_tail){ 0, 0 };
		return n;
	}
	return hc__compress(h, frame, caplen, wirelen, t_ns, out, tail);
}

uint32_t hc_compress(struct hc *h, const uint8_t *frame, uint32_t caplen, uint32_t wirelen, uint64_t t_ns,
		     uint8_t *out)
{
	struct hc_tail t;
	uint32_t n = hc_compress_split(h, frame, caplen, wirelen, t_ns, out, &t);
	if (t.len)
		memcpy(out + n, frame + t.off, t.len);
	return n + t.len;
}

uint32_t hc_decompress(struct hc *h, const uint8_t *in, uint32_t len, uint64_t t_ns, uint8_t *out, uint32_t cap)
{
	if (h->vj) {
		uint64_t t0 = hc__now(h);
		uint32_t n = hc__vj_decompress(h, in, len, out, cap);
		h->st.path_ns += hc__now(h) - t0;
		return n;
	}
	return hc__decompress(h, in, len, t_ns, out, cap);
}

void hc_lost(struct hc *h)
{
	if (h->vj)
		hc__vj_lost(h);
}

const struct hc_stats *hc_get_stats(const struct hc *h)
{
	return &h->st;
}

void hc_stats_each(const struct hc_stats *s, void (*fn)(void *arg, const char *name, double value), void *arg)
{
#define HC__EACH(name) fn(arg, #name, (double)s->name);
	HC_COUNTERS(HC__EACH)
#undef HC__EACH
	fn(arg, "compress_ratio", s->header_bytes_in ? (double)s->header_bytes_out / (double)s->header_bytes_in : 0.0);
}
