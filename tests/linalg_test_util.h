/* linalg_test_util.h: random matrices shared by the similarity and splintering tests. */
#ifndef SPLINTER_LINALG_TEST_UTIL_H
#define SPLINTER_LINALG_TEST_UTIL_H

#include <gsl/gsl_linalg.h>
#include <gsl/gsl_randist.h>
#include <gsl/gsl_rng.h>

/* A random d x d orthogonal matrix: Q of the QR decomposition of a Gaussian matrix. */
static inline gsl_matrix *test_random_orthogonal(gsl_rng *r, size_t d)
{
    gsl_matrix *A = gsl_matrix_alloc(d, d), *Q = gsl_matrix_alloc(d, d), *R = gsl_matrix_alloc(d, d);
    gsl_vector *tau = gsl_vector_alloc(d);
    for (size_t i = 0; i < d; i++)
        for (size_t j = 0; j < d; j++) gsl_matrix_set(A, i, j, gsl_ran_gaussian(r, 1.0));
    gsl_linalg_QR_decomp(A, tau);
    gsl_linalg_QR_unpack(A, tau, Q, R);
    gsl_matrix_free(A);
    gsl_matrix_free(R);
    gsl_vector_free(tau);
    return Q;
}

#endif
