/* traincmd: `precraft train`, fits a trained predictor's model file from captures. */
#ifndef PRECRAFT_SIM_TRAINCMD_H
#define PRECRAFT_SIM_TRAINCMD_H

int train_main(int argc, char **argv);

#endif
