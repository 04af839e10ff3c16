/* replay: `precraft replay TRACE`, every packet of a capture through the engine. */
#ifndef PRECRAFT_SIM_REPLAY_H
#define PRECRAFT_SIM_REPLAY_H

extern const char replay_usage[];
int replay_main(int argc, char **argv);

#endif
