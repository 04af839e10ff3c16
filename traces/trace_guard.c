/* trace_guard: mapped captures guarded against a file cut shorter (see trace_guard.h). */
#include "trace_guard.h"

#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define GUARDS_MAX 64
static struct guard guards[GUARDS_MAX];
static struct sigaction bus_before;
static pthread_once_t bus_once = PTHREAD_ONCE_INIT;
static bool bus_ok;

static void on_sigbus(int sig, siginfo_t *si, void *uc)
{
	uintptr_t a = (uintptr_t)si->si_addr, page = (uintptr_t)sysconf(_SC_PAGESIZE);
	for (int i = 0; i < GUARDS_MAX; i++) {
		uintptr_t lo = atomic_load(&guards[i].lo), hi = atomic_load(&guards[i].hi);
		if (lo && a >= lo && a < hi) {
			uintptr_t from = a & ~(page - 1);
			if (mmap((void *)from, hi - from, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) !=
			    MAP_FAILED) {
				atomic_store(&guards[i].cut, 1);
				return;
			}
		}
	}
	if ((bus_before.sa_flags & SA_SIGINFO) && bus_before.sa_sigaction) {
		bus_before.sa_sigaction(sig, si, uc);
	} else if (!(bus_before.sa_flags & SA_SIGINFO) && bus_before.sa_handler != SIG_DFL &&
		   bus_before.sa_handler != SIG_IGN) {
		bus_before.sa_handler(sig);
	} else {
		signal(SIGBUS, SIG_DFL); /* the read faults again and ends the process as before */
	}
}

static void bus_install(void)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_sigaction = on_sigbus;
	sa.sa_flags = SA_SIGINFO | SA_RESTART;
	sigemptyset(&sa.sa_mask);
	bus_ok = sigaction(SIGBUS, &sa, &bus_before) == 0;
}

/* The slot guarding [map, map + size), or NULL (none free: the file is then not mapped). */
struct guard *trace_guard_take(const uint8_t *map, size_t size)
{
	pthread_once(&bus_once, bus_install);
	if (!bus_ok)
		return NULL;
	uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE), lo = (uintptr_t)map;
	for (int i = 0; i < GUARDS_MAX; i++) {
		uintptr_t free_lo = 0;
		if (atomic_compare_exchange_strong(&guards[i].lo, &free_lo, UINTPTR_MAX)) {
			atomic_store(&guards[i].cut, 0);
			atomic_store(&guards[i].hi, (lo + size + page - 1) & ~(page - 1));
			atomic_store(&guards[i].lo, lo);
			return &guards[i];
		}
	}
	return NULL;
}

void trace_guard_give(struct guard *g)
{
	if (!g)
		return;
	atomic_store(&g->hi, 0);
	atomic_store(&g->lo, 0);
}

bool trace_guard_cut(struct guard *g)
{
	return atomic_load_explicit(&g->cut, memory_order_relaxed) != 0;
}
