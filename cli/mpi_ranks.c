/* mpi_ranks.c: MPI start/stop for distributed sweeps (see mpi_ranks.h). */
#include "mpi_ranks.h"

#include <mpi.h>
#include <stdlib.h>

static int mpi_started = 0;

int cli_mpi_launched(void)
{
    /* Open MPI's mpirun, MPICH/Hydra's mpiexec and Slurm's srun --mpi=pmix each set one of these. */
    return getenv("OMPI_COMM_WORLD_SIZE") || getenv("PMI_SIZE") || getenv("PMIX_RANK");
}

sp_status cli_mpi_start(int *rank, int *size)
{
    *rank = 0;
    *size = 1;
    if (!cli_mpi_launched()) return SP_OK;
    int provided = 0;
    /* Only the main thread calls MPI; OpenMP workers never do. */
    if (MPI_Init_thread(NULL, NULL, MPI_THREAD_FUNNELED, &provided) != MPI_SUCCESS)
        return sp_fail(SP_ERR_IO, "cannot initialise MPI; check the mpirun command line and the hosts it names");
    mpi_started = 1;
    if (MPI_Comm_rank(MPI_COMM_WORLD, rank) != MPI_SUCCESS || MPI_Comm_size(MPI_COMM_WORLD, size) != MPI_SUCCESS)
        return sp_fail(SP_ERR_IO, "cannot query the MPI rank and size");
    return SP_OK;
}

void cli_mpi_barrier(void)
{
    if (mpi_started) MPI_Barrier(MPI_COMM_WORLD);
}

int cli_mpi_worst_exit(int exit_code)
{
    if (!mpi_started) return exit_code;
    int worst = exit_code;
    MPI_Allreduce(&exit_code, &worst, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
    return worst;
}

void cli_mpi_stop(void)
{
    if (mpi_started) MPI_Finalize();
    mpi_started = 0;
}
