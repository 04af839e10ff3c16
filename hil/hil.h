/* hil: the hardware-in-the-loop runner: `precraft hil forward|replay|capture`. */
#ifndef PRECRAFT_HIL_HIL_H
#define PRECRAFT_HIL_HIL_H

int hil_main(int argc, char **argv);

#endif
