/* blas_threads.h: OpenBLAS thread count around OpenMP loops whose iterations call BLAS.
 *
 * OpenBLAS (the pthread build Debian links) does not know about OpenMP: BLAS calls made from several OpenMP
 * threads at once each wake OpenBLAS's own pool, and the threads spend their time yielding to each other.
 * Inside such a loop BLAS must run single-threaded; outside it keeps all threads (one large SYRK).
 *
 *     int saved = sp_blas_serial_begin();
 *     #pragma omp parallel for
 *     for (...) cblas_dgemm(...);          // one BLAS thread per OpenMP thread
 *     sp_blas_serial_end(saved);
 */
#ifndef SPLINTER_BLAS_THREADS_H
#define SPLINTER_BLAS_THREADS_H

/* With more than one OpenMP thread available (and not already inside a parallel region), sets OpenBLAS to
 * one thread and returns its previous count (> 0); otherwise changes nothing and returns 0. Inside the loop
 * every BLAS call then runs on one thread whatever the thread count, which also keeps its bits fixed. */
int sp_blas_serial_begin(void);

/* Restores the count saved by sp_blas_serial_begin (nothing when saved is 0). */
void sp_blas_serial_end(int saved);

#endif
