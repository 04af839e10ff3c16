/* simcmd: the `precraft sim` and `precraft calibrate` subcommands. */
#ifndef PRECRAFT_SIM_SIMCMD_H
#define PRECRAFT_SIM_SIMCMD_H

int sim_main(int argc, char **argv);
int calibrate_main(int argc, char **argv);

/* Runs the simulator on a scenario already built, into the store at 'db' (NULL: none), as
 * command line 'argv'.  Prints a summary unless 'quiet'.  Returns the exit code. */
struct scenario;
int simcmd_run(const struct scenario *scn, const char *db, int argc, char **argv, int quiet);

#endif
