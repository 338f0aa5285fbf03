/* bench_encoder.c: training throughput of the encoder (forward + backward + AdamW, joint MLM +
 * classification objective, dropout 0.1) on synthetic batches, plus a plain OpenBLAS sgemm for reference.
 *
 * Usage: bench_encoder [threads] [steps]      (defaults 1 and 10; run by experiments/bench/run_encoder.sh)
 * Prints one line "splinter threads=N tokens_per_s=... ms_per_step=... tokens_per_cpu_s=... gflops=...
 * sgemm_gflops=... peak_rss_mb=..." where gflops counts the matmul and attention FLOPs the step executes
 * (backward = 2 x forward; see step_flops) per wall-clock second, tokens_per_cpu_s divides by process CPU time
 * (all threads), and sgemm_gflops is one single-threaded sgemm of the FFN shape.
 * Model: vocab 8192, d 128, 2 layers, 4 heads, FFN 512, length 128, batch 32, 15% of tokens MLM targets.
 */
#include <cblas.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "adamw.h"
#include "encoder.h"
#include "seeds.h"

enum { B = 32, T = 128, V = 8192, C = 128, L = 2, NH = 4, F = 512, K = 2 };

void openblas_set_num_threads(int n);

static double clock_s(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return ts.tv_sec + 1e-9 * ts.tv_nsec;
}

static double now_s(void) { return clock_s(CLOCK_MONOTONIC); }

/* FLOPs one training step executes with M masked positions: 3 x forward (forward, then dx and dw in the
 * backward). Every block but the last runs at all B*T positions; the last computes keys and values
 * everywhere but queries, attention output, projection and MLP only at the S = B + M positions that feed a
 * head ([CLS] of every row and the masked ones; the bench never masks position 0). */
static double step_flops(int M)
{
    double BT = (double)B * T, S = (double)B + M;
    double full = 2.0 * BT * (3.0 * C * C + C * C + 2.0 * C * F) + 4.0 * B * (double)T * T * C;
    double last = 2.0 * BT * 2.0 * C * C + 2.0 * S * (C * C + C * C + 2.0 * C * F) + 4.0 * S * T * C;
    double heads = 2.0 * M * ((double)C * C + (double)C * V) + 2.0 * B * C * K;
    return 3.0 * ((L - 1) * full + last + heads);
}

/* GFLOP/s of a plain sgemm the size of the FFN matmul ([B*T, C] x [C, F]). */
static double sgemm_gflops(void)
{
    int m = B * T, n = F, k = C;
    float *a = malloc(sizeof(float) * m * k), *b = malloc(sizeof(float) * k * n), *c = malloc(sizeof(float) * m * n);
    for (int i = 0; i < m * k; i++) a[i] = (float)(i % 13) * 0.01f;
    for (int i = 0; i < k * n; i++) b[i] = (float)(i % 7) * 0.01f;
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, m, n, k, 1.0f, a, k, b, n, 0.0f, c, n);
    int reps = 50;
    double t0 = now_s();
    for (int r = 0; r < reps; r++)
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, m, n, k, 1.0f, a, k, b, n, 0.0f, c, n);
    double dt = now_s() - t0;
    free(a);
    free(b);
    free(c);
    return 2.0 * m * n * k * reps / dt / 1e9;
}

int main(int argc, char **argv)
{
    int threads = argc > 1 ? atoi(argv[1]) : 1, steps = argc > 2 ? atoi(argv[2]) : 10;
    if (threads < 1 || steps < 1) {
        fprintf(stderr, "usage: bench_encoder [threads>=1] [steps>=1]\n");
        return 2;
    }
    /* as in training jobs: N OpenMP threads, each calling a single-threaded OpenBLAS */
    omp_set_num_threads(threads);
    openblas_set_num_threads(1);
    sp_encoder_config cfg = {.vocab_size = V, .d_model = C, .n_layers = L, .n_heads = NH, .d_ff = F,
                             .max_len = T, .n_classes = K, .dropout = 0.1f, .pad_id = 0};
    sp_encoder *m = NULL;
    sp_encoder_acts *a = NULL;
    sp_adamw *opt = NULL;
    sp_adamw_segment segs[SP_ENCODER_N_TENSORS];
    sp_adamw_config oc = sp_adamw_defaults();
    oc.lr = 1e-4f;
    oc.clip_norm = 1.0f;
    int32_t *tokens = malloc(sizeof(int32_t) * B * T), *targets = malloc(sizeof(int32_t) * B * T),
            labels[B];
    if (sp_encoder_alloc(&cfg, &m) != SP_OK || sp_encoder_init(m, 1) != SP_OK ||
        sp_encoder_acts_alloc(m, B, T, B * T, &a) != SP_OK ||
        sp_adamw_alloc(&oc, m->n_params, segs, sp_encoder_decay_segments(m, segs), &opt) != SP_OK || !tokens ||
        !targets) {
        fprintf(stderr, "bench_encoder: %s\n", sp_error_message());
        return 1;
    }
    gsl_rng *r = sp_rng_alloc(7);
    int M = 0;
    for (int i = 0; i < B * T; i++) {
        tokens[i] = 5 + (int)gsl_rng_uniform_int(r, V - 5);
        int masked = (i % T) != 0 && gsl_rng_uniform(r) < 0.15;
        targets[i] = masked ? tokens[i] : -1;
        if (masked) tokens[i] = 3, M++;
    }
    for (int b = 0; b < B; b++) labels[b] = (int)gsl_rng_uniform_int(r, K);
    gsl_rng_free(r);
    sp_encoder_batch batch = {tokens, labels, targets, B, T, 1, 0};
    double t0 = 0.0, cpu0 = 0.0, loss = 0.0;
    for (int s = -2; s < steps; s++) { /* two warm-up steps */
        if (s == 0) {
            t0 = now_s();
            cpu0 = clock_s(CLOCK_PROCESS_CPUTIME_ID);
        }
        batch.dropout_key = sp_seed_for(99, "step", (uint64_t)(s + 2));
        sp_encoder_losses ls;
        sp_encoder_zero_grad(m);
        if (sp_encoder_forward(m, a, &batch, &ls) != SP_OK) {
            fprintf(stderr, "bench_encoder: %s\n", sp_error_message());
            return 1;
        }
        sp_encoder_backward(m, a, 1.0f, 1.0f);
        if (sp_adamw_step(opt, m->params_memory, m->grads_memory, NULL) != SP_OK) {
            fprintf(stderr, "bench_encoder: %s\n", sp_error_message());
            return 1;
        }
        loss = ls.mlm_loss + ls.cls_loss;
    }
    double dt = (now_s() - t0) / steps, cpu = (clock_s(CLOCK_PROCESS_CPUTIME_ID) - cpu0) / steps;
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    double gemm = sgemm_gflops();
    printf("splinter threads=%d tokens_per_s=%.0f ms_per_step=%.1f tokens_per_cpu_s=%.0f gflops=%.1f "
           "sgemm_gflops=%.1f peak_rss_mb=%.0f loss=%.3f masked=%d\n",
           threads, (double)B * T / dt, 1e3 * dt, (double)B * T / cpu, step_flops(M) / dt / 1e9, gemm, ru.ru_maxrss / 1024.0, loss, M);
    sp_adamw_free(opt);
    sp_encoder_acts_free(a);
    sp_encoder_free(m);
    free(tokens);
    free(targets);
    return 0;
}
