/* mpi_ranks.h: MPI for distributed sweeps, entered only when the process was launched by mpirun/srun.
 *
 * A plain `splinter sweep` never initialises MPI (no daemons, no network probing); under
 * `mpirun -np N splinter sweep cfg.yaml` each process learns its rank and the jobs are divided.
 *
 *     int rank, size;
 *     if (cli_mpi_start(&rank, &size) != SP_OK) ...;   // rank 0 of 1 without a launcher
 *     ...; cli_mpi_barrier(); ...; cli_mpi_stop();
 */
#ifndef SPLINTER_MPI_RANKS_H
#define SPLINTER_MPI_RANKS_H

#include "status.h"

/* 1 if an MPI launcher started this process (its environment variables are set). */
int cli_mpi_launched(void);

/* Initialises MPI if launched by one, else reports rank 0 of 1. */
sp_status cli_mpi_start(int *rank, int *size);

/* Waits for every rank (no-op single-process). */
void cli_mpi_barrier(void);

/* Combines a status over ranks: every rank gets the worst exit code of all. */
int cli_mpi_worst_exit(int exit_code);

/* Finalises MPI if it was started. */
void cli_mpi_stop(void);

#endif
