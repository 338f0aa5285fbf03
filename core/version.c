/* version.c: the program version and BLAS configuration stamped on every output file. */
#include <cblas.h>

#include "store.h"

const char *sp_program_version(void) { return SPLINTER_VERSION; }

const char *sp_blas_config(void)
{
    /* openblas_get_config() reports version, build target, threading model and core count. */
    return openblas_get_config();
}
