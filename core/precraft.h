/* precraft.h: the public face of libprecraft, for embedding the shaper in another dataplane.
 *
 *   #include <precraft/precraft.h>       cc app.c -lprecraft
 *
 * Build a route table (route_table_create, route_load_file or route_add), fill an engine_cfg
 * (engine_cfg_defaults, then routes, mode and a tx callback), create the engine and hand it
 * every captured frame with engine_process().  Frames come out through the tx callback; in
 * precraft mode they are byte-identical to what baseline mode sends.  Statistics are read by
 * name (engine_stats_each, engine_stat): a new counter changes no installed type, and a
 * configuration carries its version (ENGINE_CFG_VERSION), so a program built against another
 * header is refused, not misread.  A predictor is any struct predictor_ops (predict.h); NULL selects `last`.
 * Nothing here reads a clock, prints, or exits. */
#ifndef PRECRAFT_PRECRAFT_H
#define PRECRAFT_PRECRAFT_H

#include "engine.h"
#include "err.h"
#include "predict.h"
#include "route.h"

#define PRECRAFT_API_VERSION 2

#endif
