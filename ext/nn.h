/*
** Layers of the network: dense (from dense or sparse input), ReLU, and the
** sigmoid output with binary cross-entropy.
**
** Each layer is a pair X_forward and X_backward with outputs first, then
** inputs, then sizes. Kernels are stored (n_in, n_out) row-major, as Keras
** stores them, so row i of a kernel contains the weights leaving input i.
** Backward functions add into the gradient buffers; zeroing is the caller's.
** Plain C with no SQLite calls.
*/
#ifndef CLAIM_NN_H
#define CLAIM_NN_H

#include <stdint.h>

/*
** The hot loops are compiled twice on x86-64, for AVX2 and for the baseline
** SSE2, and the loader picks the version the processor supports. So one
** build runs everywhere and still uses the wider vectors where they exist.
*/
/* Clang 14 exports the dispatcher under another name ("NAME.ifunc"), which
** leaves the plain symbol undefined, so only GCC gets the clones. */
#if defined(__x86_64__) && defined(__GNUC__) && defined(__linux__) && \
    !defined(__clang__)
#define CLAIM_VECTORIZE __attribute__((target_clones("avx2", "default")))
#else
#define CLAIM_VECTORIZE
#endif

/*
** A batch of sparse rows in CSR form: row r has the entries
** offset[r] .. offset[r+1]-1 of column[] and value[].
*/
typedef struct SparseBatch {
  const int64_t *offset;   /* (n_rows + 1) */
  const int32_t *column;
  const float *value;
  int n_rows;
} SparseBatch;

/* out = in @ kernel + bias. out (B, n_out), in (B, n_in). */
void dense_forward(double *out, const double *in, const double *kernel,
                   const double *bias, int batch, int n_in, int n_out);

/*
** d_kernel += in^T @ d_out, d_bias += column sums of d_out, and, unless
** d_in is NULL, d_in = d_out @ kernel^T (overwritten, not added).
*/
void dense_backward(double *d_in, double *d_kernel, double *d_bias,
                    const double *d_out, const double *in,
                    const double *kernel, int batch, int n_in, int n_out);

/* Dense input given as floats (the stored training features). */
void dense_forward_f(double *out, const float *in, const double *kernel,
                     const double *bias, int batch, int n_in, int n_out);
void dense_backward_f(double *d_kernel, double *d_bias, const double *d_out,
                      const float *in, int batch, int n_in, int n_out);

/* out = sparse @ kernel + bias, reading only the kernel rows named. */
void sparse_dense_forward(double *out, const SparseBatch *in,
                          const double *kernel, const double *bias,
                          int n_out);

/* d_kernel rows named by the batch += value * d_out; d_bias += sums. */
void sparse_dense_backward(double *d_kernel, double *d_bias,
                           const double *d_out, const SparseBatch *in,
                           int n_out);

void relu_forward(double *x, int n);

/* d *= (out > 0), where out is the ReLU's output. */
void relu_backward(double *d, const double *out, int n);

/*
** Binary cross-entropy on logits z (B) against labels y (B, 0 or 1):
** returns the mean loss and, unless d_z is NULL, writes its gradient with
** respect to z, (sigmoid(z) - y) / B. Computed from the logit, so it stays
** finite where a clipped probability would not.
*/
double bce_with_logits(double *d_z, const double *z, const float *y,
                       int batch);

/*
** Weighted binary cross-entropy: example b counts class_weight[y_b] times,
** as Keras applies class weights: the loss is sum(w l) / B and its
** gradient w (sigmoid(z) - y) / B.
*/
double weighted_bce_with_logits(double *d_z, const double *z, const float *y,
                                const double *class_weight, int batch);

double sigmoid(double z);

/*
** The class a logit predicts: 1 (opinion) unless the probability of claim,
** sigmoid(-z), is above 0.5. Every function that labels a row uses this,
** so that a logit within rounding of 0 gets the same label everywhere.
*/
int predicts_opinion(double z);

/* Per-example loss, as used by bce_with_logits. */
double bce_logit_loss(double z, double y);

#endif
