/* linear_internal.h: helpers shared by the linear family's trainer (linear.c) and its predictions
 * (linear_predict.c). Not part of the public API.
 *
 *     double z[3] = {1, 2, 3};
 *     double lse = linear_softmax(z, 3);   // z is now softmax(z), lse = logsumexp of the input
 */
#ifndef SPLINTER_LINEAR_INTERNAL_H
#define SPLINTER_LINEAR_INTERNAL_H

#include <math.h>

/* In place: z -> softmax(z); returns logsumexp(z). */
static inline double linear_softmax(double *z, const int C)
{
    double zmax = z[0];
    for (int c = 1; c < C; c++) zmax = z[c] > zmax ? z[c] : zmax;
    double sum = 0.0;
    for (int c = 0; c < C; c++) sum += exp(z[c] - zmax);
    double lse = zmax + log(sum);
    for (int c = 0; c < C; c++) z[c] = exp(z[c] - lse);
    return lse;
}

#endif
