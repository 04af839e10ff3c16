/* replay_window: see replay_window.h. */
#include "replay_window.h"

#include <string.h>

static inline void bit_set(struct replay_window *w, uint64_t seq, int on)
{
	uint32_t i = (uint32_t)(seq % w->size);
	uint64_t m = 1ull << (i % 64);
	if (on)
		w->bits[i / 64] |= m;
	else
		w->bits[i / 64] &= ~m;
}

static inline int bit_get(const struct replay_window *w, uint64_t seq)
{
	uint32_t i = (uint32_t)(seq % w->size);
	return (int)(w->bits[i / 64] >> (i % 64) & 1);
}

int replay_window_init(struct replay_window *w, uint32_t size)
{
	if (size == 0 || size > REPLAY_WINDOW_MAX)
		return -ERR_INVAL;
	memset(w, 0, sizeof *w);
	w->size = size;
	return 0;
}

enum replay_verdict replay_window_check(const struct replay_window *w, uint64_t seq)
{
	if (seq == 0)
		return REPLAY_ZERO;
	if (seq > w->top)
		return REPLAY_NEW;
	if (w->top - seq >= w->size)
		return REPLAY_TOO_OLD;
	return bit_get(w, seq) ? REPLAY_DUPLICATE : REPLAY_NEW;
}

void replay_window_accept(struct replay_window *w, uint64_t seq)
{
	if (seq > w->top) {
		/* The numbers passed over leave the window's past: unseen in their new places. */
		if (seq - w->top >= w->size)
			memset(w->bits, 0, sizeof w->bits);
		else
			for (uint64_t s = w->top + 1; s < seq; s++)
				bit_set(w, s, 0);
		w->top = seq;
	}
	bit_set(w, seq, 1);
}

const char *replay_verdict_name(enum replay_verdict v)
{
	switch (v) {
	case REPLAY_NEW: return "new";
	case REPLAY_DUPLICATE: return "duplicate";
	case REPLAY_TOO_OLD: return "too_old";
	case REPLAY_ZERO: return "zero";
	}
	return "?";
}
