/* sweep_mpi: a sweep's MPI calls (see sweep_mpi.h).  HAVE_MPI comes from the Makefile when
 * pkg-config finds ompi-c. */
#include "sweep_mpi.h"

#include <limits.h>
#include <stdint.h>
#include <stdlib.h>

#include "cli.h"

bool sweep_mpi_launched(void)
{
	return getenv("OMPI_COMM_WORLD_SIZE") || getenv("PMIX_RANK") || getenv("PMI_RANK");
}

#ifdef HAVE_MPI
#include <mpi.h>

int sweep_mpi_init(int *rank, int *size)
{
	if (MPI_Init(NULL, NULL) != MPI_SUCCESS) {
		cli_error("sweep: MPI_Init failed");
		return -1;
	}
	MPI_Comm_rank(MPI_COMM_WORLD, rank);
	MPI_Comm_size(MPI_COMM_WORLD, size);
	return 0;
}

int sweep_mpi_bcast(void *buf, size_t n)
{
	/* MPI counts are ints: large lists go in pieces. */
	for (size_t done = 0; done < n;) {
		size_t k = n - done < (size_t)INT_MAX ? n - done : (size_t)INT_MAX;
		if (MPI_Bcast((char *)buf + done, (int)k, MPI_BYTE, 0, MPI_COMM_WORLD) != MPI_SUCCESS)
			return -1;
		done += k;
	}
	return 0;
}

int sweep_mpi_max(int v)
{
	int out = v;
	if (MPI_Allreduce(&v, &out, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD) != MPI_SUCCESS)
		return EXIT_RUNTIME;
	return out;
}

void sweep_mpi_finalize(void)
{
	MPI_Finalize();
}

#else

int sweep_mpi_init(int *rank, int *size)
{
	*rank = 0;
	*size = 1;
	cli_error("sweep: started by mpirun, but this precraft was built without MPI: install libopenmpi-dev and "
		  "openmpi-bin ('make deps' does) and rebuild");
	return -1;
}

int sweep_mpi_bcast(void *buf, size_t n)
{
	(void)buf;
	(void)n;
	return -1;
}

int sweep_mpi_max(int v)
{
	return v;
}

void sweep_mpi_finalize(void)
{
}

#endif
