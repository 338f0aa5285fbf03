/* blas_threads.c: OpenBLAS thread count around OpenMP loops that call BLAS (blas_threads.h). */
#include "blas_threads.h"

#include <cblas.h>
#include <omp.h>

int sp_blas_serial_begin(void)
{
    if (omp_get_max_threads() < 2 || omp_in_parallel()) return 0;
    int nb = openblas_get_num_threads();
    if (nb > 1) openblas_set_num_threads(1);
    return nb;
}

void sp_blas_serial_end(int saved)
{
    if (saved > 1) openblas_set_num_threads(saved);
}
