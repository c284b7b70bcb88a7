/*
** Unit tests of the layers (ext/nn.c) and of the two-tower network's
** forward and backward passes (ext/network.c).
**
** Every gradient is compared with central finite differences of the loss
** in double precision. A layer's loss is sum(out * r) for fixed random r,
** so its upstream gradient is r. The network's loss is the mean binary
** cross-entropy of a small batch whose text rows are sparse, once with
** sequence-like text (column = token position, value = token id) and once
** with bag-like text (column = token id, value = 1/sqrt(distinct tokens)).
*/
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "network.h"
#include "nn.h"
#include "rng.h"
#include "unit.h"

/*
** Steps h of the central differences (f(x+h) - f(x-h)) / 2h. A layer's
** loss is linear in each weight and input (ReLU too, away from its kink),
** so its differences are exact for any h and a large h keeps round-off
** small. The cross-entropy and the network are smooth but not linear, so
** they get a small h.
*/
#define LINEAR_STEP 1e-2
#define STEP 1e-5

/* Largest accepted relative error between an analytic and a numeric
** gradient entry. */
#define TOLERANCE 1e-6

/* Entries smaller than this in both gradients are compared relative to it,
** so that round-off in a near-zero numeric derivative is not magnified. */
#define FLOOR 1e-4

/* ---- Helpers ----------------------------------------------------------- */

static void fill_uniform(Rng *rng, double *x, size_t n, double low,
                         double high) {
  for (size_t i = 0; i < n; i++)
    x[i] = low + (high - low) * rng_uniform(rng);
}

static void fill_uniform_f(Rng *rng, float *x, size_t n, double low,
                           double high) {
  for (size_t i = 0; i < n; i++)
    x[i] = (float)(low + (high - low) * rng_uniform(rng));
}

/*
** Returns the largest relative difference between analytic[i] and
** numeric[i], |a - n| / max(|a|, |n|, FLOOR), and its index in *worst.
*/
static double gradient_error(const double *analytic, const double *numeric,
                             size_t n, size_t *worst) {
  double largest = 0.0;
  *worst = 0;
  for (size_t i = 0; i < n; i++) {
    double scale = fmax(fmax(fabs(analytic[i]), fabs(numeric[i])), FLOOR);
    double error = fabs(analytic[i] - numeric[i]) / scale;
    if (!(error <= largest)) {      /* a NaN becomes the worst entry */
      largest = error;
      *worst = i;
      if (isnan(error)) break;
    }
  }
  return largest;
}

static int check_gradient(const double *analytic, const double *numeric,
                          size_t n, const char *tensor, const char *file,
                          int line) {
  size_t worst;
  double error = gradient_error(analytic, numeric, n, &worst);
  if (error <= TOLERANCE) return 1;
  unit_fail(file, line, tensor);
  printf(" gradient [%zu] is %.17g, numeric %.17g (relative error %.3g, "
         "tolerance %.3g)\n", worst, analytic[worst], numeric[worst], error,
         TOLERANCE);
  return 0;
}

#define CHECK_GRADIENT(analytic, numeric, n, tensor) \
  check_gradient((analytic), (numeric), (n), (tensor), __FILE__, __LINE__)

/* Central differences of loss(context) with respect to param[0..n-1]. */
static void numeric_gradient(double *out, double *param, size_t n,
                             double step, double (*loss)(void *),
                             void *context) {
  for (size_t i = 0; i < n; i++) {
    double saved = param[i];
    param[i] = saved + step;
    double above = loss(context);
    param[i] = saved - step;
    double below = loss(context);
    param[i] = saved;
    out[i] = (above - below) / (2 * step);
  }
}

static double weighted_sum(const double *out, const double *r, size_t n) {
  double sum = 0.0;
  for (size_t i = 0; i < n; i++) sum += out[i] * r[i];
  return sum;
}

/* ---- The comparison itself --------------------------------------------- */

static void test_gradient_error_detects_perturbation(void) {
  double analytic[4] = {0.5, -0.25, 1e-11, 3.0};
  double numeric[4] = {0.5, -0.25, 0.0, 3.0};
  size_t worst;

  CHECK(gradient_error(analytic, numeric, 4, &worst) <= TOLERANCE);

  /* A relative error of 1e-5 in one entry is rejected and located. */
  numeric[1] = -0.25 * (1 + 1e-5);
  CHECK(gradient_error(analytic, numeric, 4, &worst) > TOLERANCE);
  CHECK_INT(worst, 1);

  /* So is a wrong sign of a tiny entry, and a NaN. */
  numeric[1] = -0.25;
  analytic[2] = -2e-4;
  numeric[2] = 2e-4;
  CHECK(gradient_error(analytic, numeric, 4, &worst) > TOLERANCE);
  CHECK_INT(worst, 2);
  analytic[2] = 0.0;
  numeric[2] = 0.0;
  numeric[3] = NAN;
  CHECK(!(gradient_error(analytic, numeric, 4, &worst) <= TOLERANCE));
  CHECK_INT(worst, 3);
}

/* ---- Dense layer ------------------------------------------------------- */

typedef struct DenseCase {
  int batch, n_in, n_out;
  double *in, *kernel, *bias, *r, *out;
  float *in_f;           /* the same inputs as floats, for the _f pair */
} DenseCase;

static double dense_loss(void *context) {
  DenseCase *c = context;
  dense_forward(c->out, c->in, c->kernel, c->bias, c->batch, c->n_in,
                c->n_out);
  return weighted_sum(c->out, c->r, (size_t)c->batch * c->n_out);
}

static double dense_loss_f(void *context) {
  DenseCase *c = context;
  dense_forward_f(c->out, c->in_f, c->kernel, c->bias, c->batch, c->n_in,
                  c->n_out);
  return weighted_sum(c->out, c->r, (size_t)c->batch * c->n_out);
}

static int dense_case_init(DenseCase *c, int batch, int n_in, int n_out,
                           uint64_t seed) {
  Rng rng;
  rng_seed(&rng, seed);
  c->batch = batch;
  c->n_in = n_in;
  c->n_out = n_out;
  c->in = malloc((size_t)batch * n_in * sizeof(double));
  c->in_f = malloc((size_t)batch * n_in * sizeof(float));
  c->kernel = malloc((size_t)n_in * n_out * sizeof(double));
  c->bias = malloc((size_t)n_out * sizeof(double));
  c->r = malloc((size_t)batch * n_out * sizeof(double));
  c->out = malloc((size_t)batch * n_out * sizeof(double));
  if (!c->in || !c->in_f || !c->kernel || !c->bias || !c->r || !c->out)
    return -1;
  fill_uniform_f(&rng, c->in_f, (size_t)batch * n_in, -2, 2);
  /* Some exact zeros, which the plain loops skip. */
  for (int i = 0; i < batch * n_in; i += 7) c->in_f[i] = 0.0f;
  for (int i = 0; i < batch * n_in; i++) c->in[i] = c->in_f[i];
  fill_uniform(&rng, c->kernel, (size_t)n_in * n_out, -1, 1);
  fill_uniform(&rng, c->bias, (size_t)n_out, -1, 1);
  fill_uniform(&rng, c->r, (size_t)batch * n_out, -1, 1);
  return 0;
}

static void dense_case_free(DenseCase *c) {
  free(c->in);
  free(c->in_f);
  free(c->kernel);
  free(c->bias);
  free(c->r);
  free(c->out);
}

/* out[b][j] = bias[j] + sum_i in[b][i] kernel[i][j], computed plainly. */
static double dense_reference(const DenseCase *c, int b, int j) {
  double sum = c->bias[j];
  for (int i = 0; i < c->n_in; i++)
    sum += c->in[(size_t)b * c->n_in + i] *
           c->kernel[(size_t)i * c->n_out + j];
  return sum;
}

/*
** Checks dense_forward and dense_backward for one size. With batch * n_in *
** n_out of at least 65536 the layer takes its OpenBLAS path.
*/
static void check_dense(int batch, int n_in, int n_out, uint64_t seed) {
  REQUIRE(n_out <= 64);
  DenseCase c;
  memset(&c, 0, sizeof(c));
  size_t n_kernel = (size_t)n_in * n_out;
  size_t n_d_in = (size_t)batch * n_in;
  double *d_in = malloc(n_d_in * sizeof(double));
  double *d_kernel = malloc(n_kernel * sizeof(double));
  double *d_bias = malloc((size_t)n_out * sizeof(double));
  double *numeric = malloc((n_kernel + n_d_in) * sizeof(double));
  int ready = dense_case_init(&c, batch, n_in, n_out, seed) == 0 && d_in &&
              d_kernel && d_bias && numeric;
  CHECK(ready);
  if (!ready) goto done;

  dense_loss(&c);
  double largest = 0.0;
  for (int b = 0; b < batch; b++)
    for (int j = 0; j < n_out; j++)
      largest = fmax(largest, fabs(c.out[(size_t)b * n_out + j] -
                                   dense_reference(&c, b, j)));
  CHECK_NEAR(largest, 0.0, 1e-12);

  /* Backward adds into d_kernel and d_bias but overwrites d_in. */
  for (size_t i = 0; i < n_kernel; i++) d_kernel[i] = 0.25;
  for (int j = 0; j < n_out; j++) d_bias[j] = -0.5;
  for (size_t i = 0; i < n_d_in; i++) d_in[i] = 1e300;
  dense_backward(d_in, d_kernel, d_bias, c.r, c.in, c.kernel, batch, n_in,
                 n_out);
  for (size_t i = 0; i < n_kernel; i++) d_kernel[i] -= 0.25;
  for (int j = 0; j < n_out; j++) d_bias[j] += 0.5;

  numeric_gradient(numeric, c.kernel, n_kernel, LINEAR_STEP, dense_loss,
                   &c);
  CHECK_GRADIENT(d_kernel, numeric, n_kernel, "dense kernel");
  numeric_gradient(numeric, c.bias, (size_t)n_out, LINEAR_STEP, dense_loss,
                   &c);
  CHECK_GRADIENT(d_bias, numeric, (size_t)n_out, "dense bias");
  numeric_gradient(numeric, c.in, n_d_in, LINEAR_STEP, dense_loss, &c);
  CHECK_GRADIENT(d_in, numeric, n_d_in, "dense input");

  /* d_in = NULL skips the input gradient and gives the same kernel and
  ** bias gradients. */
  double *again = numeric;
  memset(again, 0, n_kernel * sizeof(double));
  double bias_again[64] = {0};
  dense_backward(NULL, again, bias_again, c.r, c.in, c.kernel, batch, n_in,
                 n_out);
  largest = 0.0;
  for (size_t i = 0; i < n_kernel; i++)
    largest = fmax(largest, fabs(again[i] - d_kernel[i]));
  CHECK_NEAR(largest, 0.0, 1e-12);
  largest = 0.0;
  for (int j = 0; j < n_out; j++)
    largest = fmax(largest, fabs(bias_again[j] - d_bias[j]));
  CHECK_NEAR(largest, 0.0, 1e-12);

done:
  free(d_in);
  free(d_kernel);
  free(d_bias);
  free(numeric);
  dense_case_free(&c);
}

static void test_dense_gradients_small(void) {
  check_dense(3, 4, 5, 11);
}

static void test_dense_gradients_blas_path(void) {
  /* 64 * 32 * 32 = 65536 multiply-adds, the first size that uses BLAS. */
  check_dense(64, 32, 32, 12);
}

static void test_dense_f_gradients(void) {
  DenseCase c;
  memset(&c, 0, sizeof(c));
  int batch = 4, n_in = 6, n_out = 3;
  double d_kernel[18], d_bias[3], numeric[18];
  REQUIRE(dense_case_init(&c, batch, n_in, n_out, 13) == 0);

  /* The float and double forms agree on the same inputs. */
  dense_loss_f(&c);
  double *from_floats = malloc((size_t)batch * n_out * sizeof(double));
  if (!CHECK(from_floats != NULL)) goto done;
  memcpy(from_floats, c.out, (size_t)batch * n_out * sizeof(double));
  dense_loss(&c);
  for (int i = 0; i < batch * n_out; i++)
    CHECK_NEAR(from_floats[i], c.out[i], 1e-12);
  free(from_floats);

  for (int i = 0; i < 18; i++) d_kernel[i] = 1.0;
  for (int j = 0; j < 3; j++) d_bias[j] = 2.0;
  dense_backward_f(d_kernel, d_bias, c.r, c.in_f, batch, n_in, n_out);
  for (int i = 0; i < 18; i++) d_kernel[i] -= 1.0;
  for (int j = 0; j < 3; j++) d_bias[j] -= 2.0;

  numeric_gradient(numeric, c.kernel, 18, LINEAR_STEP, dense_loss_f, &c);
  CHECK_GRADIENT(d_kernel, numeric, 18, "dense_f kernel");
  numeric_gradient(numeric, c.bias, 3, LINEAR_STEP, dense_loss_f, &c);
  CHECK_GRADIENT(d_bias, numeric, 3, "dense_f bias");

done:
  dense_case_free(&c);
}

/* ---- Sparse dense layer ------------------------------------------------ */

typedef struct SparseCase {
  SparseBatch in;
  double kernel[12 * 4], bias[4], r[4 * 4], out[4 * 4];
} SparseCase;

enum { SPARSE_ROWS = 12, SPARSE_OUT = 4 };

/* Rows: three entries, none, three unsorted entries, a repeated column. */
static const int64_t sparse_offset[] = {0, 3, 3, 6, 8};
static const int32_t sparse_column[] = {1, 4, 7, 4, 11, 1, 9, 9};
static const float sparse_value[] = {0.5f, -1.25f, 2.0f, 3.0f, 0.25f, 1.0f,
                                     1.0f, 2.0f};

static double sparse_loss(void *context) {
  SparseCase *c = context;
  sparse_dense_forward(c->out, &c->in, c->kernel, c->bias, SPARSE_OUT);
  return weighted_sum(c->out, c->r, 4 * SPARSE_OUT);
}

static void sparse_case_init(SparseCase *c) {
  Rng rng;
  rng_seed(&rng, 21);
  c->in.offset = sparse_offset;
  c->in.column = sparse_column;
  c->in.value = sparse_value;
  c->in.n_rows = 4;
  fill_uniform(&rng, c->kernel, SPARSE_ROWS * SPARSE_OUT, -1, 1);
  fill_uniform(&rng, c->bias, SPARSE_OUT, -1, 1);
  fill_uniform(&rng, c->r, 4 * SPARSE_OUT, -1, 1);
}

static void test_sparse_dense_forward_matches_dense(void) {
  SparseCase c;
  sparse_case_init(&c);
  sparse_loss(&c);

  double dense_in[4 * SPARSE_ROWS] = {0};
  for (int r = 0; r < 4; r++)
    for (int64_t k = sparse_offset[r]; k < sparse_offset[r + 1]; k++)
      dense_in[r * SPARSE_ROWS + sparse_column[k]] += sparse_value[k];
  double expected[4 * SPARSE_OUT];
  dense_forward(expected, dense_in, c.kernel, c.bias, 4, SPARSE_ROWS,
                SPARSE_OUT);
  for (int i = 0; i < 4 * SPARSE_OUT; i++)
    CHECK_NEAR(c.out[i], expected[i], 1e-12);

  /* The empty row is the bias alone. */
  for (int j = 0; j < SPARSE_OUT; j++)
    CHECK_DOUBLE(c.out[SPARSE_OUT + j], c.bias[j]);
}

static void test_sparse_dense_gradients(void) {
  SparseCase c;
  sparse_case_init(&c);
  double d_kernel[SPARSE_ROWS * SPARSE_OUT], d_bias[SPARSE_OUT];
  double numeric[SPARSE_ROWS * SPARSE_OUT];
  for (int i = 0; i < SPARSE_ROWS * SPARSE_OUT; i++) d_kernel[i] = 0.75;
  for (int j = 0; j < SPARSE_OUT; j++) d_bias[j] = 0.75;
  sparse_dense_backward(d_kernel, d_bias, c.r, &c.in, SPARSE_OUT);

  /* Rows the batch does not name are left exactly as they were. */
  static const int named[SPARSE_ROWS] = {0, 1, 0, 0, 1, 0, 0, 1, 0, 1, 0, 1};
  for (int i = 0; i < SPARSE_ROWS; i++) {
    if (named[i]) continue;
    for (int j = 0; j < SPARSE_OUT; j++)
      CHECK_DOUBLE(d_kernel[i * SPARSE_OUT + j], 0.75);
  }

  for (int i = 0; i < SPARSE_ROWS * SPARSE_OUT; i++) d_kernel[i] -= 0.75;
  for (int j = 0; j < SPARSE_OUT; j++) d_bias[j] -= 0.75;
  numeric_gradient(numeric, c.kernel, SPARSE_ROWS * SPARSE_OUT, LINEAR_STEP,
                   sparse_loss, &c);
  CHECK_GRADIENT(d_kernel, numeric, SPARSE_ROWS * SPARSE_OUT,
                 "sparse kernel");
  numeric_gradient(numeric, c.bias, SPARSE_OUT, LINEAR_STEP, sparse_loss,
                   &c);
  CHECK_GRADIENT(d_bias, numeric, SPARSE_OUT, "sparse bias");
}

/* ---- ReLU -------------------------------------------------------------- */

static void test_relu_values(void) {
  double x[5] = {-2.0, -0.0, 0.0, 1e-300, 3.5};
  relu_forward(x, 5);
  CHECK_DOUBLE(x[0], 0.0);
  CHECK_DOUBLE(x[1], 0.0);
  CHECK_DOUBLE(x[2], 0.0);
  CHECK_DOUBLE(x[3], 1e-300);
  CHECK_DOUBLE(x[4], 3.5);

  /* The gradient passes only where the output is positive, so at an
  ** output of 0 it is 0. */
  double d[5] = {1.0, 1.0, 1.0, 1.0, -4.0};
  relu_backward(d, x, 5);
  CHECK_DOUBLE(d[0], 0.0);
  CHECK_DOUBLE(d[1], 0.0);
  CHECK_DOUBLE(d[2], 0.0);
  CHECK_DOUBLE(d[3], 1.0);
  CHECK_DOUBLE(d[4], -4.0);
}

typedef struct ReluCase {
  double x[20], y[20], r[20];
} ReluCase;

static double relu_loss(void *context) {
  ReluCase *c = context;
  memcpy(c->y, c->x, sizeof(c->x));
  relu_forward(c->y, 20);
  return weighted_sum(c->y, c->r, 20);
}

static void test_relu_gradient(void) {
  ReluCase c;
  Rng rng;
  rng_seed(&rng, 31);
  /* Inputs at least 0.1 from the kink, half of them negative. */
  for (int i = 0; i < 20; i++) {
    double magnitude = 0.1 + rng_uniform(&rng);
    c.x[i] = i % 2 ? magnitude : -magnitude;
  }
  fill_uniform(&rng, c.r, 20, -1, 1);

  double d[20], numeric[20];
  relu_loss(&c);
  memcpy(d, c.r, sizeof(d));
  relu_backward(d, c.y, 20);
  numeric_gradient(numeric, c.x, 20, LINEAR_STEP, relu_loss, &c);
  CHECK_GRADIENT(d, numeric, 20, "relu input");
}

/* ---- Sigmoid and binary cross-entropy ---------------------------------- */

static void test_bce_known_values(void) {
  CHECK_DOUBLE(sigmoid(0.0), 0.5);
  CHECK_DOUBLE(sigmoid(800.0), 1.0);
  CHECK_DOUBLE(sigmoid(-800.0), 0.0);
  CHECK_NEAR(sigmoid(2.0), 0.88079707797788244, 3e-16);
  CHECK_NEAR(sigmoid(-2.0), 0.11920292202211756, 3e-16);

  CHECK_NEAR(bce_logit_loss(0.0, 0.0), 0.69314718055994531, 3e-16);
  CHECK_NEAR(bce_logit_loss(0.0, 1.0), 0.69314718055994531, 3e-16);
  /* -log(sigmoid(2)) and -log(1 - sigmoid(2)). */
  CHECK_NEAR(bce_logit_loss(2.0, 1.0), 0.12692801104297250, 3e-16);
  CHECK_NEAR(bce_logit_loss(2.0, 0.0), 2.1269280110429725, 1e-15);
  /* Far from 0 the loss stays finite and exact, where log(0) would not. */
  CHECK_DOUBLE(bce_logit_loss(800.0, 0.0), 800.0);
  CHECK_DOUBLE(bce_logit_loss(-800.0, 1.0), 800.0);
  CHECK_DOUBLE(bce_logit_loss(800.0, 1.0), 0.0);
  CHECK_NEAR(bce_logit_loss(40.0, 1.0), 4.2483542552915889e-18, 1e-30);
}

static void test_bce_mean_and_extremes(void) {
  double z[4] = {0.0, 2.0, 800.0, -800.0};
  float y[4] = {1.0f, 0.0f, 0.0f, 0.0f};
  double d_z[4];
  double loss = bce_with_logits(d_z, z, y, 4);
  CHECK_NEAR(loss, (0.69314718055994531 + 2.1269280110429725 + 800.0) / 4,
             1e-13);
  CHECK_DOUBLE(d_z[0], -0.125);
  CHECK_NEAR(d_z[1], 0.88079707797788244 / 4, 1e-16);
  CHECK_DOUBLE(d_z[2], 0.25);
  CHECK_DOUBLE(d_z[3], 0.0);
  /* Without d_z only the loss is computed. */
  CHECK_DOUBLE(bce_with_logits(NULL, z, y, 4), loss);
}

typedef struct BceCase {
  double z[8];
  float y[8];
} BceCase;

static double bce_loss(void *context) {
  BceCase *c = context;
  return bce_with_logits(NULL, c->z, c->y, 8);
}

static void test_bce_gradient(void) {
  BceCase c;
  Rng rng;
  rng_seed(&rng, 41);
  fill_uniform(&rng, c.z, 8, -6, 6);
  for (int i = 0; i < 8; i++) c.y[i] = (float)(i % 3 == 0);
  double d_z[8], numeric[8];
  bce_with_logits(d_z, c.z, c.y, 8);
  numeric_gradient(numeric, c.z, 8, STEP, bce_loss, &c);
  CHECK_GRADIENT(d_z, numeric, 8, "bce logits");
}

static const double class_weight[2] = {2.5, 0.5};

static double weighted_bce_loss(void *context) {
  BceCase *c = context;
  return weighted_bce_with_logits(NULL, c->z, c->y, class_weight, 8);
}

static void test_weighted_bce(void) {
  BceCase c;
  Rng rng;
  rng_seed(&rng, 43);
  fill_uniform(&rng, c.z, 8, -6, 6);
  for (int i = 0; i < 8; i++) c.y[i] = (float)(i % 3 == 0);

  /* The loss is the mean of each example's loss times its class weight. */
  double expected = 0.0;
  for (int i = 0; i < 8; i++)
    expected += class_weight[c.y[i] > 0.5f] * bce_logit_loss(c.z[i], c.y[i]);
  double d_z[8], numeric[8];
  CHECK_NEAR(weighted_bce_with_logits(d_z, c.z, c.y, class_weight, 8),
             expected / 8, 1e-15);
  numeric_gradient(numeric, c.z, 8, STEP, weighted_bce_loss, &c);
  CHECK_GRADIENT(d_z, numeric, 8, "weighted bce logits");

  /* Weights of 1 give the unweighted loss exactly. */
  const double ones[2] = {1.0, 1.0};
  CHECK_DOUBLE(weighted_bce_with_logits(NULL, c.z, c.y, ones, 8),
               bce_with_logits(NULL, c.z, c.y, 8));
}

/* ---- The whole network ------------------------------------------------- */

enum { NET_ROWS = 7, NET_TABULAR = 5, NET_TEXT = 9 };

typedef struct NetworkCase {
  Network net;
  Workspace ws;
  Dataset data;
  int index[NET_ROWS];
} NetworkCase;

/*
** Text rows of the two kinds. Row 3 has no tokens (an empty transcript).
** Sequence-like: column = position, value = token id (>= 1, 1 is OOV).
** Bag-like: column = distinct token id, value = 1/sqrt(distinct count).
*/
static const int64_t sequence_offset[NET_ROWS + 1] = {0, 3, 9, 10, 10, 14,
                                                      16, 18};
static const int32_t sequence_column[] = {0, 1, 2, 0, 1, 2, 3, 4, 5, 0,
                                          0, 1, 2, 3, 0, 1, 0, 1};
static const float sequence_value[] = {4, 1, 7, 2, 2, 5, 8, 3, 1, 6,
                                       3, 5, 1, 2, 8, 8, 1, 1};

static const int64_t bag_offset[NET_ROWS + 1] = {0, 3, 6, 7, 7, 9, 10, 12};
static const int32_t bag_column[] = {1, 4, 7, 2, 5, 8, 6, 3, 5, 8, 1, 2};
static const float bag_value[] = {
  0.57735026918962573f, 0.57735026918962573f, 0.57735026918962573f,
  0.57735026918962573f, 0.57735026918962573f, 0.57735026918962573f,
  1.0f, 0.70710678118654757f, 0.70710678118654757f, 1.0f,
  0.70710678118654757f, 0.70710678118654757f,
};

static double network_loss(void *context) {
  NetworkCase *c = context;
  network_forward(&c->net, &c->ws, NET_ROWS);
  return bce_with_logits(NULL, c->ws.logit, c->ws.batch_label, NET_ROWS);
}

/*
** Builds a network with random weights and biases (non-zero biases, so
** that their gradients and the ReLU masks are not trivial), and gathers
** all rows of a dataset in a shuffled order.
*/
static int network_case_init(NetworkCase *c, const int64_t *offset,
                             const int32_t *column, const float *value,
                             uint64_t seed) {
  memset(c, 0, sizeof(*c));
  NetworkShape shape = {NET_TABULAR, NET_TEXT, {4, 3}, {3, 2}};
  if (network_init(&c->net, &shape)) return -1;
  network_glorot(&c->net, seed);
  Rng rng;
  rng_seed(&rng, seed + 100);
  for (int k = 0; k < N_TENSORS; k++)
    if (c->net.rows[k] == 1)
      fill_uniform(&rng, c->net.params + c->net.offset[k],
                   (size_t)c->net.cols[k], -0.3, 0.3);
  if (workspace_init(&c->ws, &c->net, NET_ROWS)) return -1;

  size_t nnz = (size_t)offset[NET_ROWS];
  Dataset *d = &c->data;
  d->n = NET_ROWS;
  d->n_tabular = NET_TABULAR;
  d->tabular = malloc(NET_ROWS * NET_TABULAR * sizeof(float));
  d->text_offset = malloc((NET_ROWS + 1) * sizeof(int64_t));
  d->text_column = malloc(nnz * sizeof(int32_t));
  d->text_value = malloc(nnz * sizeof(float));
  d->label = malloc(NET_ROWS * sizeof(float));
  if (!d->tabular || !d->text_offset || !d->text_column || !d->text_value ||
      !d->label)
    return -1;
  fill_uniform_f(&rng, d->tabular, NET_ROWS * NET_TABULAR, -2, 2);
  memcpy(d->text_offset, offset, (NET_ROWS + 1) * sizeof(int64_t));
  memcpy(d->text_column, column, nnz * sizeof(int32_t));
  memcpy(d->text_value, value, nnz * sizeof(float));
  for (int i = 0; i < NET_ROWS; i++) d->label[i] = (float)(i % 2);

  static const int order[NET_ROWS] = {4, 0, 6, 3, 1, 5, 2};
  memcpy(c->index, order, sizeof(order));
  return workspace_gather(&c->ws, d, c->index, NET_ROWS);
}

static void network_case_free(NetworkCase *c) {
  dataset_free(&c->data);
  workspace_free(&c->ws);
  network_free(&c->net);
}

/* Checks the gradient of every tensor, and what the backward pass records. */
static void check_network_gradients(const int64_t *offset,
                                    const int32_t *column, const float *value,
                                    uint64_t seed) {
  NetworkCase c;
  double *numeric = NULL;
  REQUIRE(network_case_init(&c, offset, column, value, seed) == 0);
  Network *net = &c.net;
  numeric = malloc(net->n_params * sizeof(double));
  if (!CHECK(numeric != NULL)) goto done;

  double expected_loss = network_loss(&c);
  double loss = network_backward(net, &c.ws, NET_ROWS);
  CHECK_DOUBLE(loss, expected_loss);

  numeric_gradient(numeric, net->params, net->n_params, STEP, network_loss,
                   &c);
  for (int k = 0; k < N_TENSORS; k++) {
    size_t at = net->offset[k];
    size_t size = (size_t)net->rows[k] * net->cols[k];
    CHECK_GRADIENT(c.ws.grad + at, numeric + at, size, tensor_name[k]);
  }

  /* The touched text kernel rows are exactly the columns in the batch. */
  int used[NET_TEXT] = {0};
  for (int64_t e = 0; e < offset[NET_ROWS]; e++) used[column[e]] = 1;
  int n_used = 0;
  for (int i = 0; i < NET_TEXT; i++) n_used += used[i];
  CHECK_INT(c.ws.n_touched, n_used);
  for (int t = 0; t < c.ws.n_touched; t++) {
    int32_t row = c.ws.touched[t];
    CHECK(row >= 0);
    CHECK(row < NET_TEXT);
    if (row < 0 || row >= NET_TEXT) continue;
    CHECK(used[row]);
    CHECK_INT(c.ws.is_touched[row], 1);
  }

  /* An untouched text kernel row has a zero gradient. */
  size_t text = net->offset[TENSOR_TEXT_KERNEL_1];
  int width = net->cols[TENSOR_TEXT_KERNEL_1];
  for (int i = 0; i < NET_TEXT; i++) {
    if (used[i]) continue;
    for (int j = 0; j < width; j++)
      CHECK_DOUBLE(c.ws.grad[text + (size_t)i * width + j], 0.0);
  }

  /* The largest text kernel gradient, off by 1e-4 of its value, is
  ** caught. */
  size_t probe = text;
  for (size_t i = text; i < text + (size_t)NET_TEXT * width; i++)
    if (fabs(c.ws.grad[i]) > fabs(c.ws.grad[probe])) probe = i;
  size_t worst;
  CHECK(fabs(c.ws.grad[probe]) > FLOOR);
  c.ws.grad[probe] *= 1 + 1e-4;
  CHECK(gradient_error(c.ws.grad, numeric, net->n_params, &worst) >
        TOLERANCE);
  CHECK_U64(worst, probe);

done:
  free(numeric);
  network_case_free(&c);
}

static void test_network_gradients_sequence_text(void) {
  check_network_gradients(sequence_offset, sequence_column, sequence_value,
                          51);
}

static void test_network_gradients_bag_text(void) {
  check_network_gradients(bag_offset, bag_column, bag_value, 52);
}

static void test_network_predict_matches_forward(void) {
  NetworkCase c;
  REQUIRE(network_case_init(&c, sequence_offset, sequence_column,
                            sequence_value, 53) == 0);
  double z[NET_ROWS];
  network_forward(&c.net, &c.ws, NET_ROWS);
  CHECK_INT(network_predict(&c.net, &c.data, z), 0);
  for (int r = 0; r < NET_ROWS; r++)
    CHECK_DOUBLE(c.ws.logit[r], z[c.index[r]]);
  network_case_free(&c);
}

/*
** Rows without any token, gathered into a new workspace, as claim_predict
** does for a NULL transcript. The text tower then receives only its biases.
** NOTE: workspace_gather passes NULL pointers to memcpy for such a batch
** (its text buffers are not allocated yet, and a caller's may be NULL
** too), which C11 leaves undefined even for 0 bytes; the
** UndefinedBehaviorSanitizer build (make SANITIZE=1) stops here.
*/
static void test_network_rows_without_text(void) {
  NetworkShape shape = {2, 4, {3, 2}, {2, 2}};
  Network net;
  Workspace ws;
  REQUIRE(network_init(&net, &shape) == 0);
  network_glorot(&net, 61);
  double *p = net.params;
  p[net.offset[TENSOR_TEXT_BIAS_1]] = 0.5;
  p[net.offset[TENSOR_TEXT_BIAS_1] + 1] = -0.5;
  if (!CHECK(workspace_init(&ws, &net, 2) == 0)) {
    network_free(&net);
    return;
  }

  float tabular[4] = {1.0f, -2.0f, 0.5f, 0.25f};
  float label[2] = {0.0f, 1.0f};
  int64_t offset[3] = {0, 0, 0};
  Dataset data = {2, 2, tabular, offset, NULL, NULL, label, 0};
  int index[2] = {1, 0};
  CHECK_INT(workspace_gather(&ws, &data, index, 2), 0);
  network_forward(&net, &ws, 2);
  double loss = network_backward(&net, &ws, 2);
  CHECK(isfinite(loss));
  CHECK_INT(ws.n_touched, 0);

  /* text_1 = relu(bias) = (0.5, 0), the same for both rows. */
  CHECK_DOUBLE(ws.text_1[0], 0.5);
  CHECK_DOUBLE(ws.text_1[1], 0.0);
  CHECK_DOUBLE(ws.text_1[2], 0.5);
  CHECK_DOUBLE(ws.text_1[3], 0.0);
  size_t text = net.offset[TENSOR_TEXT_KERNEL_1];
  for (size_t i = text; i < net.offset[TENSOR_TEXT_BIAS_1]; i++)
    CHECK_DOUBLE(ws.grad[i], 0.0);
  workspace_free(&ws);
  network_free(&net);
}

int main(void) {
  RUN(test_gradient_error_detects_perturbation);
  RUN(test_dense_gradients_small);
  RUN(test_dense_gradients_blas_path);
  RUN(test_dense_f_gradients);
  RUN(test_sparse_dense_forward_matches_dense);
  RUN(test_sparse_dense_gradients);
  RUN(test_relu_values);
  RUN(test_relu_gradient);
  RUN(test_bce_known_values);
  RUN(test_bce_mean_and_extremes);
  RUN(test_bce_gradient);
  RUN(test_weighted_bce);
  RUN(test_network_gradients_sequence_text);
  RUN(test_network_gradients_bag_text);
  RUN(test_network_predict_matches_forward);
  RUN(test_network_rows_without_text);
  return unit_summary();
}
