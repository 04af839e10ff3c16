/* sweep_mpi: the few MPI calls a sweep makes, behind one file (OpenMPI from Debian, linked when
 * libopenmpi-dev was present at build time; without it every call says so).  A sweep under
 * `mpirun -np K` is K ranks: rank 0 decides what is to run and broadcasts it, every rank runs its
 * slice into its own shard, and rank 0 merges the shards once all are done. */
#ifndef PRECRAFT_CLI_SWEEP_MPI_H
#define PRECRAFT_CLI_SWEEP_MPI_H

#include <stdbool.h>
#include <stddef.h>

/* True when this process was started by an MPI launcher (mpirun, srun with PMIx). */
bool sweep_mpi_launched(void);

/* Initialises MPI.  Returns 0 with this process's rank and the number of ranks, or -1 when
 * precraft was built without MPI or MPI_Init failed (the reason printed). */
int sweep_mpi_init(int *rank, int *size);

/* Rank 0's 'n' bytes at 'buf' to every rank. */
int sweep_mpi_bcast(void *buf, size_t n);

/* The largest of every rank's 'v', on every rank: also the barrier before rank 0 merges. */
int sweep_mpi_max(int v);

void sweep_mpi_finalize(void);

#endif
