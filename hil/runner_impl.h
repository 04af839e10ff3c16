/* runner_impl: what the runner's files share (runner.c: forward and the helpers; replay.c:
 * replay and capture).  Not a public interface: runner.h is. */
#ifndef PRECRAFT_HIL_RUNNER_IMPL_H
#define PRECRAFT_HIL_RUNNER_IMPL_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "pcapio.h"
#include "runner.h"

struct netio;
struct quota;

#define MAX_FRAME (262144 + 4096)

/* The wall clock (CLOCK_REALTIME), the clock of the kernel's capture timestamps: a packet's
 * latency is measured from its capture time.  (Schedules run on clock_mono_ns.) */
uint64_t hil__wall_ns(void);
/* A spinning sink's pause: it gives its core to whatever else is runnable there. */
void hil__yield_cpu(void);
bool hil__stopped(const struct hil_cfg *c);
/* Drops root to 'user' after the handles are open. */
int hil__drop_privileges(const char *user, struct errbuf *eb);
/* Creates the file 'path' (NULL: nothing): the sign that the handles are open. */
int hil__touch(const char *path, struct errbuf *eb);

/* Sends frames on c->out, through libpcap or libnet. */
struct injector {
	struct pcapio *pc;
	struct netio *ln;
	uint8_t *buf;
	struct hil_result *res;
	struct errbuf eb;
};
int hil__injector_open(struct injector *inj, const struct hil_cfg *c, struct hil_result *res, struct errbuf *eb);
void hil__injector_send(struct injector *inj, const uint8_t *f, uint32_t len);
void hil__injector_close(struct injector *inj);

typedef void on_packet_fn(void *arg, const struct pcapio_pkt *p);
/* Reads 'in' until the count, the duration or a stop, handing each packet to 'fn' (see runner.c). */
int hil__capture_loop(const struct hil_cfg *c, struct pcapio *in, on_packet_fn *fn, void (*idle)(void *arg),
		      void (*relax)(void), void *arg, struct hil_result *res, struct quota *q, struct errbuf *eb);

#endif
