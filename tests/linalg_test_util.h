/* linalg_test_util.h: random matrices shared by the similarity and splintering tests, and the rotated
 * copies of one representation that planted runs are made of. */
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

/* out = X Q in float: n rows of d features rotated by the orthogonal Q.
 * out: [n, d]; X: [n, d] row-major; Q: [d, d] row-major (a gsl_matrix's data when tda == d). */
static inline void test_rotate(float *out, const double *X, const double *Q, int n, int d)
{
    for (int i = 0; i < n; i++)
        for (int j = 0; j < d; j++) {
            double s = 0;
            for (int k = 0; k < d; k++) s += X[i * d + k] * Q[k * d + j];
            out[i * d + j] = (float)s;
        }
}

#endif
