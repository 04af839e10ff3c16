/* replay_window_test: RFC 4303 §3.4.3's window: in order, reordered inside it, duplicated, older
 * than it, its edge, a jump past it, 0; and against a reference (every accepted number kept in a
 * plain array) over random arrivals, at several sizes. */
#include "replay_window.h"

#include <CUnit/CUnit.h>
#include <stdlib.h>
#include <string.h>

static void test_replay_window_cases(void)
{
	struct replay_window w;
	CU_ASSERT_EQUAL(replay_window_init(&w, 0), -ERR_INVAL);
	CU_ASSERT_EQUAL(replay_window_init(&w, REPLAY_WINDOW_MAX + 1), -ERR_INVAL);
	CU_ASSERT_EQUAL_FATAL(replay_window_init(&w, 64), 0);
	CU_ASSERT_EQUAL(replay_window_check(&w, 0), REPLAY_ZERO);
	for (uint64_t s = 1; s <= 100; s++) { /* in order */
		CU_ASSERT_EQUAL(replay_window_check(&w, s), REPLAY_NEW);
		replay_window_accept(&w, s);
		CU_ASSERT_EQUAL(replay_window_check(&w, s), REPLAY_DUPLICATE);
	}
	/* The edge: 100 - 63 is the oldest inside, 100 - 64 the newest too old. */
	CU_ASSERT_EQUAL(replay_window_check(&w, 37), REPLAY_DUPLICATE);
	CU_ASSERT_EQUAL(replay_window_check(&w, 36), REPLAY_TOO_OLD);
	/* Reordered: 105 before 102..104, each new once. */
	replay_window_accept(&w, 105);
	for (uint64_t s = 102; s <= 104; s++) {
		CU_ASSERT_EQUAL(replay_window_check(&w, s), REPLAY_NEW);
		replay_window_accept(&w, s);
	}
	CU_ASSERT_EQUAL(replay_window_check(&w, 101), REPLAY_NEW); /* still missing */
	CU_ASSERT_EQUAL(replay_window_check(&w, 105), REPLAY_DUPLICATE);
	CU_ASSERT_EQUAL(replay_window_check(&w, 42), REPLAY_DUPLICATE); /* the new edge: 105 - 63 */
	CU_ASSERT_EQUAL(replay_window_check(&w, 41), REPLAY_TOO_OLD);
	/* A jump past the window: everything before it too old or unseen, nothing stale left. */
	replay_window_accept(&w, 1000);
	CU_ASSERT_EQUAL(replay_window_check(&w, 936), REPLAY_TOO_OLD);
	for (uint64_t s = 937; s < 1000; s++)
		CU_ASSERT_EQUAL(replay_window_check(&w, s), REPLAY_NEW);
	/* The highest 64-bit numbers (WireGuard's counter, ESN). */
	replay_window_accept(&w, UINT64_MAX - 1);
	CU_ASSERT_EQUAL(replay_window_check(&w, UINT64_MAX), REPLAY_NEW);
	CU_ASSERT_EQUAL(replay_window_check(&w, UINT64_MAX - 1), REPLAY_DUPLICATE);
	CU_ASSERT_EQUAL(replay_window_check(&w, 1000), REPLAY_TOO_OLD);
}

/* The window against a reference over random arrivals near the top. */
static void test_replay_window_against_reference(void)
{
	static const uint32_t sizes[] = { 1, 32, 64, 100, 1024, REPLAY_WINDOW_MAX };
	enum { N = 20000 };
	uint8_t *seen = calloc(N + 2, 1);
	CU_ASSERT_FATAL(seen != NULL);
	uint64_t lcg = 12345, wrong = 0;
	for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
		struct replay_window w;
		CU_ASSERT_FATAL(replay_window_init(&w, sizes[k]) == 0);
		memset(seen, 0, N + 2);
		uint64_t top = 0;
		for (int i = 0; i < 3 * N; i++) {
			lcg = lcg * 6364136223846793005ull + 1442695040888963407ull;
			/* Mostly the next few numbers, sometimes one from the past or far ahead. */
			int64_t d = (int64_t)(lcg >> 33) % (int64_t)(sizes[k] * 2 + 8) - (int64_t)sizes[k];
			int64_t s64 = (int64_t)top + d;
			if (s64 < 0 || s64 > N)
				continue;
			uint64_t s = (uint64_t)s64;
			enum replay_verdict want = s == 0		      ? REPLAY_ZERO
						   : s > top		      ? REPLAY_NEW
						   : top - s >= sizes[k]    ? REPLAY_TOO_OLD
						   : seen[s]		      ? REPLAY_DUPLICATE
									      : REPLAY_NEW;
			enum replay_verdict got = replay_window_check(&w, s);
			wrong += got != want;
			if (got == REPLAY_NEW) {
				replay_window_accept(&w, s);
				seen[s] = 1;
				if (s > top)
					top = s;
			}
		}
	}
	CU_ASSERT_EQUAL(wrong, 0);
	free(seen);
}

int replay_window_test_register(void)
{
	CU_pSuite s = CU_add_suite("replay-window", NULL, NULL);
	if (!s)
		return -1;
	CU_add_test(s, "in order, reordered, duplicated, too old, the edge, a jump, 0, the top",
		    test_replay_window_cases);
	CU_add_test(s, "against a reference over random arrivals at six sizes", test_replay_window_against_reference);
	return 0;
}
