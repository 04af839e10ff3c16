/* costs: the cost profile, nanoseconds per operation of the real core, measured by
 * `precraft calibrate` and charged by the simulated shaper CPU.
 *
 * File format: '#' comments and `name = value` lines for slow_ns, hit_ns, miss_ns, craft_ns,
 * drop_ns (all required); and, for scenarios with an ESP tunnel, by inner packet size,
 * `name = v1,v2,...` lines: esp_sizes (bytes, increasing), esp_seal_ns (the slow path's
 * sealing in one shot), esp_keyed_ns (sealing with a keystream made ahead), esp_anticipated_ns
 * (sending an anticipated packet), esp_keystream_ns (making a keystream for that size), all of
 * one length, all or none; and for a receiving gateway (shaper.gateways = 2) esp_open_ns (the
 * library's one-shot open), esp_open_keyed_ns (opening with a keystream made ahead) and
 * esp_open_anticipated_ns (opening by comparing with the packet sealed ahead), all three or none.
 * A cost between two sizes is interpolated, beyond them extrapolated from the last two. */
#ifndef PRECRAFT_SIM_COSTS_H
#define PRECRAFT_SIM_COSTS_H

#include <stdbool.h>

#include "core/err.h"

#define COSTS_ESP_MAX 12
enum costs_esp_kind {
	COSTS_ESP_SEAL,
	COSTS_ESP_KEYED,
	COSTS_ESP_ANTICIPATED,
	COSTS_ESP_KEYSTREAM,
	COSTS_ESP_OPEN,
	COSTS_ESP_OPEN_KEYED,
	COSTS_ESP_OPEN_ANTICIPATED,
	COSTS_ESP_KINDS
};
#define COSTS_ESP_SEAL_KINDS 4     /* the first four: a sealing gateway's */

struct cost_profile {
	double slow_ns;            /* a packet through the slow path, baseline mode */
	double hit_ns;             /* a hit: probe, validate, patch, transmit */
	double miss_ns;            /* a miss in pre-crafting mode (failed validation included) */
	double craft_ns;           /* learning from a packet, predicting and pre-building the next */
	double drop_ns;            /* a packet dropped as malformed */
	unsigned esp_n;            /* sizes of the ESP table, 0: none */
	bool esp_open;             /* the opening kinds are in it */
	double esp_size[COSTS_ESP_MAX];
	double esp[COSTS_ESP_KINDS][COSTS_ESP_MAX];
};

/* The ESP cost of 'bytes' of inner packet (the table, interpolated; never below 0). */
double costs_esp(const struct cost_profile *c, enum costs_esp_kind k, double bytes);

int costs_load(const char *path, struct cost_profile *c, struct errbuf *eb) WARN_UNUSED;
int costs_save(const char *path, const struct cost_profile *c, const char *comment, struct errbuf *eb) WARN_UNUSED;

#endif
