/* evalcmd: `precraft eval`, the predictor leaderboard. */
#ifndef PRECRAFT_SIM_EVALCMD_H
#define PRECRAFT_SIM_EVALCMD_H

int eval_main(int argc, char **argv);

#endif
