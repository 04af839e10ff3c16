/* replay_window: the anti-replay window of a receiving security association (RFC 4303 §3.4.3;
 * WireGuard's counter likewise): which sequence numbers have been accepted among the last
 * 'size' below the highest one.  A number above the highest is new; one within the window is
 * new once; one below it is too old.  The check comes before the ICV is verified (a cheap
 * drop), the update only after (a forged packet must not move the window). */
#ifndef PRECRAFT_REPLAY_WINDOW_H
#define PRECRAFT_REPLAY_WINDOW_H

#include <stdint.h>

#include "err.h"

#define REPLAY_WINDOW_DEFAULT 64u
#define REPLAY_WINDOW_MAX 4096u

enum replay_verdict {
	REPLAY_NEW,                /* not seen: accept it (after its ICV) */
	REPLAY_DUPLICATE,          /* within the window, seen already */
	REPLAY_TOO_OLD,            /* below the window */
	REPLAY_ZERO,               /* 0, which no sender sends (ESP and WireGuard count from 1) */
};

struct replay_window {
	uint64_t top;              /* the highest number accepted; 0: none yet */
	uint32_t size;
	uint64_t bits[REPLAY_WINDOW_MAX / 64]; /* number s at bit s % size, for s in (top - size, top] */
};

/* An empty window of 'size' numbers, 1..REPLAY_WINDOW_MAX.  0, or -ERR_INVAL (w untouched). */
int replay_window_init(struct replay_window *w, uint32_t size) WARN_UNUSED;

/* What number 'seq' would be; changes nothing. */
enum replay_verdict replay_window_check(const struct replay_window *w, uint64_t seq);

/* Records 'seq' as accepted (it must have been REPLAY_NEW): the window slides when it is above
 * the highest, the numbers it passes over marked unseen. */
void replay_window_accept(struct replay_window *w, uint64_t seq);

const char *replay_verdict_name(enum replay_verdict v);

#endif
