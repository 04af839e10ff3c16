/* tracecmd: trace tools: `precraft rewrite` (captures into the lab's address ranges) and
 * `precraft compare` (two captures, packet by packet). */
#ifndef PRECRAFT_SIM_TRACECMD_H
#define PRECRAFT_SIM_TRACECMD_H

int rewrite_main(int argc, char **argv);
int compare_main(int argc, char **argv);

#endif
