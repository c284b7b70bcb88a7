/*
** Layers of the network. See nn.h for the conventions.
**
** Small products (a batch of 16 through a 32-unit layer) are faster as
** plain loops than through a BLAS call, so OpenBLAS is used only from
** BLAS_MIN_WORK multiply-adds up, which in practice means evaluation and
** prediction over large batches.
*/
#include "nn.h"

#include <cblas.h>
#include <math.h>
#include <string.h>

#define BLAS_MIN_WORK 65536

/*
** Four doubles, as a GCC and Clang vector extension: one AVX2 register, or
** two SSE2 ones. Loads and stores go through memcpy, so any alignment works.
*/
typedef double Vector4 __attribute__((vector_size(32)));

#define LOAD4(v, p) memcpy(&(v), (p), sizeof(Vector4))
#define STORE4(p, v) memcpy((p), &(v), sizeof(Vector4))

/*
** o[j] = start[j] + sum_i VALUE(i) kernel[ROW(i)][j], for one row, where
** start is o itself to accumulate, or the bias to start a layer. VALUE reads
** the input as doubles or floats and ROW is i for a dense input or the
** column of a sparse one. Blocks of 16 outputs stay in registers across the
** inputs. Each output still adds its terms in input order, so the result
** is the same as the plain loop's. A macro, so that each layer gets a copy
** compiled for its own vector width.
*/
#define ADD_ROW_PRODUCT(o, start, n_in, kernel, n_out, VALUE, ROW)            \
  do {                                                                        \
    int j0 = 0;                                                               \
    for (; j0 + 16 <= (n_out); j0 += 16) {                                    \
      Vector4 acc0, acc1, acc2, acc3, w0, w1, w2, w3;                         \
      LOAD4(acc0, (start) + j0);                                              \
      LOAD4(acc1, (start) + j0 + 4);                                          \
      LOAD4(acc2, (start) + j0 + 8);                                          \
      LOAD4(acc3, (start) + j0 + 12);                                         \
      for (int i = 0; i < (n_in); i++) {                                      \
        double v = (VALUE);                                                   \
        Vector4 xi = {v, v, v, v};                                            \
        const double *kernel_row = (kernel) + (size_t)(ROW) * (n_out) + j0;   \
        LOAD4(w0, kernel_row);                                                \
        LOAD4(w1, kernel_row + 4);                                            \
        LOAD4(w2, kernel_row + 8);                                            \
        LOAD4(w3, kernel_row + 12);                                           \
        acc0 += xi * w0;                                                      \
        acc1 += xi * w1;                                                      \
        acc2 += xi * w2;                                                      \
        acc3 += xi * w3;                                                      \
      }                                                                       \
      STORE4((o) + j0, acc0);                                                 \
      STORE4((o) + j0 + 4, acc1);                                             \
      STORE4((o) + j0 + 8, acc2);                                             \
      STORE4((o) + j0 + 12, acc3);                                            \
    }                                                                         \
    for (int j = j0; j < (n_out); j++) (o)[j] = (start)[j];                   \
    if (j0 < (n_out))                                                         \
      for (int i = 0; i < (n_in); i++) {                                      \
        double v = (VALUE);                                                   \
        const double *kernel_row = (kernel) + (size_t)(ROW) * (n_out);        \
        for (int j = j0; j < (n_out); j++) (o)[j] += v * kernel_row[j];       \
      }                                                                       \
  } while (0)

CLAIM_VECTORIZE
void dense_forward(double *out, const double *in, const double *kernel,
                   const double *bias, int batch, int n_in, int n_out) {
  if ((long)batch * n_in * n_out >= BLAS_MIN_WORK) {
    for (int b = 0; b < batch; b++)
      memcpy(out + (size_t)b * n_out, bias, (size_t)n_out * sizeof(double));
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, batch, n_out, n_in,
                1.0, in, n_in, kernel, n_out, 1.0, out, n_out);
    return;
  }
  for (int b = 0; b < batch; b++)
  {
    double *o = out + (size_t)b * n_out;
    const double *x = in + (size_t)b * n_in;
    ADD_ROW_PRODUCT(o, bias, n_in, kernel, n_out, x[i], i);
  }
}

CLAIM_VECTORIZE
void dense_backward(double *d_in, double *d_kernel, double *d_bias,
                    const double *d_out, const double *in,
                    const double *kernel, int batch, int n_in, int n_out) {
  int big = (long)batch * n_in * n_out >= BLAS_MIN_WORK;

  for (int b = 0; b < batch; b++) {
    const double *g = d_out + (size_t)b * n_out;
    for (int j = 0; j < n_out; j++) d_bias[j] += g[j];
  }

  if (big) {
    cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, n_in, n_out, batch,
                1.0, in, n_in, d_out, n_out, 1.0, d_kernel, n_out);
  } else {
    /* Row r of d_kernel is sum_b in[b][r] d_out[b]: the same product as a
    ** forward layer, with the batch as its inputs, so a row stays in
    ** registers while the batch streams past. */
    for (int r = 0; r < n_in; r++) {
      double *dw = d_kernel + (size_t)r * n_out;
      ADD_ROW_PRODUCT(dw, dw, batch, d_out, n_out, in[(size_t)i * n_in + r], i);
    }
  }

  if (!d_in) return;
  if (big) {
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, batch, n_in, n_out,
                1.0, d_out, n_out, kernel, n_out, 0.0, d_in, n_in);
    return;
  }
  /* With the kernel transposed into a stack buffer, d_in[b] is again a
  ** forward product: sum_j d_out[b][j] kernel^T[j]. */
  enum { MAX_TRANSPOSED = 4096 };
  if ((long)n_in * n_out <= MAX_TRANSPOSED) {
    double transposed[MAX_TRANSPOSED];
    for (int i = 0; i < n_in; i++)
      for (int j = 0; j < n_out; j++)
        transposed[(size_t)j * n_in + i] = kernel[(size_t)i * n_out + j];
    for (int b = 0; b < batch; b++) {
      const double *g = d_out + (size_t)b * n_out;
      double *dx = d_in + (size_t)b * n_in;
      memset(dx, 0, (size_t)n_in * sizeof(double));
      ADD_ROW_PRODUCT(dx, dx, n_out, transposed, n_in, g[i], i);
    }
    return;
  }
  for (int b = 0; b < batch; b++) {
    const double *g = d_out + (size_t)b * n_out;
    double *dx = d_in + (size_t)b * n_in;
    for (int i = 0; i < n_in; i++) {
      const double *w = kernel + (size_t)i * n_out;
      /* Four partial sums, added at the end. */
      Vector4 acc = {0, 0, 0, 0}, a, c;
      int j = 0;
      for (; j + 4 <= n_out; j += 4) {
        LOAD4(a, g + j);
        LOAD4(c, w + j);
        acc += a * c;
      }
      double sum = (acc[0] + acc[1]) + (acc[2] + acc[3]);
      for (; j < n_out; j++) sum += g[j] * w[j];
      dx[i] = sum;
    }
  }
}

CLAIM_VECTORIZE
void dense_forward_f(double *out, const float *in, const double *kernel,
                     const double *bias, int batch, int n_in, int n_out) {
  for (int b = 0; b < batch; b++) {
    double *o = out + (size_t)b * n_out;
    const float *x = in + (size_t)b * n_in;
    ADD_ROW_PRODUCT(o, bias, n_in, kernel, n_out, x[i], i);
  }
}

CLAIM_VECTORIZE
void dense_backward_f(double *d_kernel, double *d_bias, const double *d_out,
                      const float *in, int batch, int n_in, int n_out) {
  for (int b = 0; b < batch; b++) {
    const double *g = d_out + (size_t)b * n_out;
    const float *x = in + (size_t)b * n_in;
    for (int j = 0; j < n_out; j++) d_bias[j] += g[j];
    for (int i = 0; i < n_in; i++) {
      double xi = x[i];
      if (xi == 0.0) continue;
      double *dw = d_kernel + (size_t)i * n_out;
      for (int j = 0; j < n_out; j++) dw[j] += xi * g[j];
    }
  }
}

CLAIM_VECTORIZE
void sparse_dense_forward(double *out, const SparseBatch *in,
                          const double *kernel, const double *bias,
                          int n_out) {
  for (int r = 0; r < in->n_rows; r++) {
    double *o = out + (size_t)r * n_out;
    int64_t from = in->offset[r];
    const float *value = in->value + from;
    const int32_t *column = in->column + from;
    int n = (int)(in->offset[r + 1] - from);
    ADD_ROW_PRODUCT(o, bias, n, kernel, n_out, value[i], column[i]);
  }
}

CLAIM_VECTORIZE
void sparse_dense_backward(double *d_kernel, double *d_bias,
                           const double *d_out, const SparseBatch *in,
                           int n_out) {
  for (int r = 0; r < in->n_rows; r++) {
    const double *g = d_out + (size_t)r * n_out;
    for (int j = 0; j < n_out; j++) d_bias[j] += g[j];
    for (int64_t k = in->offset[r]; k < in->offset[r + 1]; k++) {
      double v = in->value[k];
      Vector4 vv = {v, v, v, v}, a, b;
      double *dw = d_kernel + (size_t)in->column[k] * n_out;
      int j = 0;
      for (; j + 4 <= n_out; j += 4) {
        LOAD4(a, dw + j);
        LOAD4(b, g + j);
        a += vv * b;
        STORE4(dw + j, a);
      }
      for (; j < n_out; j++) dw[j] += v * g[j];
    }
  }
}

/* Written without branches so that the compiler vectorizes them. */
CLAIM_VECTORIZE
void relu_forward(double *x, int n) {
  for (int i = 0; i < n; i++) x[i] = x[i] > 0.0 ? x[i] : 0.0;
}

CLAIM_VECTORIZE
void relu_backward(double *d, const double *out, int n) {
  for (int i = 0; i < n; i++) d[i] = out[i] > 0.0 ? d[i] : 0.0;
}

double sigmoid(double z) {
  if (z >= 0) return 1.0 / (1.0 + exp(-z));
  double e = exp(z);
  return e / (1.0 + e);
}

int predicts_opinion(double z) {
  return !(sigmoid(-z) > 0.5);
}

double bce_logit_loss(double z, double y) {
  /* -y log s(z) - (1-y) log(1-s(z)) = max(z,0) - z y + log(1 + e^-|z|) */
  return (z > 0 ? z : 0.0) - z * y + log1p(exp(-fabs(z)));
}

double weighted_bce_with_logits(double *d_z, const double *z, const float *y,
                                const double *class_weight, int batch) {
  double total = 0.0;
  for (int b = 0; b < batch; b++) {
    double w = class_weight[y[b] > 0.5f];
    total += w * bce_logit_loss(z[b], y[b]);
    if (d_z) d_z[b] = w * (sigmoid(z[b]) - y[b]) / batch;
  }
  return total / batch;
}

double bce_with_logits(double *d_z, const double *z, const float *y,
                       int batch) {
  double total = 0.0;
  for (int b = 0; b < batch; b++) {
    total += bce_logit_loss(z[b], y[b]);
    if (d_z) d_z[b] = (sigmoid(z[b]) - y[b]) / batch;
  }
  return total / batch;
}
