/* flowwalk: a capture's TCP and UDP packets in file order, each with its flow's user area.
 *
 * Flows are keyed as the engine keys them (5-tuple and VLAN, direction 0 the first packet's, a
 * SYN after FIN or RST starts a new flow, no idle timeout); fragments and other protocols are
 * left out.  Shared by `eval` and `train`, so that both see the same packets and flows. */
#ifndef PRECRAFT_MODELS_FLOWWALK_H
#define PRECRAFT_MODELS_FLOWWALK_H

#include <stddef.h>

#include "core/err.h"
#include "core/predict.h"

/* Called per packet with the flow's user area ('user_size' bytes, zeroed when the flow starts).
 * 'pk->payload' is valid during the call.  A non-zero return stops the walk and is returned. */
typedef int (*flowwalk_fn)(void *arg, void *user, const struct pred_pkt *pk);

/* Walks the capture at 'path'.  Returns 0, the callback's non-zero return, or a negative ERR_*
 * with detail in 'eb' (unreadable or corrupt capture). */
int flowwalk(const char *path, size_t user_size, flowwalk_fn fn, void *arg, struct errbuf *eb);

#endif
