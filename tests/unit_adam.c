/*
** Unit tests of the Adam optimizer (ext/adam.c) and of the network's
** optimizer step (network_adam_step in ext/network.c), including the lazy
** update of the text kernel rows a batch did not use.
**
** The expected weights and moments are literals, computed in 50-digit
** decimal arithmetic from the update rule in adam.h:
**   m = beta1 m + (1 - beta1) g
**   v = beta2 v + (1 - beta2) g^2
**   w -= lr sqrt(1 - beta2^t) / (1 - beta1^t) * m / (sqrt(v) + epsilon)
** and rounded to the nearest double.
*/
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "adam.h"
#include "network.h"
#include "rng.h"
#include "unit.h"

/* Computed and exact values differ by a few rounding errors. */
#define ROUNDING 1e-15

/*
** A configuration whose every field differs from the defaults. Its large
** epsilon (0.01) makes the result depend on where epsilon is added: to
** sqrt(v), as adam.h specifies, and not to the bias-corrected
** sqrt(v / (1 - beta2^t)).
*/
static const AdamConfig test_config = {0.01, 0.8, 0.99, 0.01};

static void test_adam_default_config(void) {
  AdamConfig config = adam_default();
  CHECK_DOUBLE(config.learning_rate, 0.001);
  CHECK_DOUBLE(config.beta1, 0.9);
  CHECK_DOUBLE(config.beta2, 0.999);
  CHECK_DOUBLE(config.epsilon, 1e-7);
}

static void test_adam_step_size(void) {
  /* 1 - beta2^t cancels digits (0.999 is not exact in binary), so the
  ** step size matches the decimal value to about 13 digits. */
  double relative = 1e-13;

  /* 0.01 sqrt(1 - 0.99^t) / (1 - 0.8^t). */
  CHECK_NEAR(adam_step_size(&test_config, 1), 5e-3, 5e-3 * relative);
  CHECK_NEAR(adam_step_size(&test_config, 2), 3.91853777212941221e-03,
             3.9e-3 * relative);
  CHECK_NEAR(adam_step_size(&test_config, 3), 3.53155288249970339e-03,
             3.5e-3 * relative);

  AdamConfig config = adam_default();
  CHECK_NEAR(adam_step_size(&config, 1), 3.16227766016837939e-04,
             3.2e-4 * relative);
  CHECK_NEAR(adam_step_size(&config, 2), 2.35316725327454275e-04,
             2.4e-4 * relative);
  CHECK_NEAR(adam_step_size(&config, 3), 2.02010597438967844e-04,
             2.0e-4 * relative);
  CHECK_NEAR(adam_step_size(&config, 10), 1.53189073951182580e-04,
             1.5e-4 * relative);
}

static void test_adam_three_steps(void) {
  double w[3] = {1.0, -2.0, 0.5};
  double m[3] = {0.0, 0.0, 0.0};
  double v[3] = {0.0, 0.0, 0.0};

  /* Step 1. A zero gradient with zero moments leaves the weight alone. */
  double g1[3] = {0.5, -1.0, 0.0};
  adam_update(w, g1, m, v, 3, &test_config, adam_step_size(&test_config, 1));
  CHECK_NEAR(m[0], 0.1, ROUNDING);
  CHECK_NEAR(m[1], -0.2, ROUNDING);
  CHECK_DOUBLE(m[2], 0.0);
  CHECK_NEAR(v[0], 2.5e-3, ROUNDING);
  CHECK_NEAR(v[1], 1e-2, ROUNDING);
  CHECK_DOUBLE(v[2], 0.0);
  CHECK_NEAR(w[0], 9.91666666666666696e-01, ROUNDING);
  CHECK_NEAR(w[1], -1.99090909090909096e+00, ROUNDING);
  CHECK_DOUBLE(w[2], 0.5);

  /* Step 2. */
  double g2[3] = {0.25, 2.0, 0.0};
  adam_update(w, g2, m, v, 3, &test_config, adam_step_size(&test_config, 2));
  CHECK_NEAR(m[0], 0.13, ROUNDING);
  CHECK_NEAR(m[1], 0.24, ROUNDING);
  CHECK_NEAR(v[0], 3.1e-3, ROUNDING);
  CHECK_NEAR(v[1], 4.99e-2, ROUNDING);
  CHECK_NEAR(w[0], 9.83910451884360993e-01, ROUNDING);
  CHECK_NEAR(w[1], -1.99493872780132864e+00, ROUNDING);
  CHECK_DOUBLE(w[2], 0.5);

  /* Step 3. A zero gradient still moves a weight through its momentum. */
  double g3[3] = {-0.5, 0.0, 4.0};
  adam_update(w, g3, m, v, 3, &test_config, adam_step_size(&test_config, 3));
  CHECK_NEAR(m[0], 4e-3, ROUNDING);
  CHECK_NEAR(m[1], 0.192, ROUNDING);
  CHECK_NEAR(m[2], 0.8, ROUNDING);
  CHECK_NEAR(v[0], 5.569e-3, ROUNDING);
  CHECK_NEAR(v[1], 4.9401e-2, ROUNDING);
  CHECK_NEAR(v[2], 0.16, ROUNDING);
  CHECK_NEAR(w[0], 9.83743526162620618e-01, ROUNDING);
  CHECK_NEAR(w[1], -1.99785807832355822e+00, ROUNDING);
  CHECK_NEAR(w[2], 4.93109165107317671e-01, ROUNDING);
}

static void test_adam_first_step_is_learning_rate(void) {
  /* With the defaults, the first step moves a weight by about the learning
  ** rate against its gradient, whatever the gradient's size:
  ** 0.001 * 3 sqrt(0.001) / (3 sqrt(0.001) + 1e-7). */
  AdamConfig config = adam_default();
  double w[2] = {0.0, 0.0}, g[2] = {3.0, -1e-3}, m[2] = {0}, v[2] = {0};
  adam_update(w, g, m, v, 2, &config, adam_step_size(&config, 1));
  CHECK_NEAR(w[0], -9.99998945908557634e-04, 1e-18);
  CHECK(w[1] > 0.0009);
  CHECK(w[1] < 0.001);
}

static void test_adam_zeroes_gradients(void) {
  double w[4] = {1, 2, 3, 4}, g[4] = {0.5, -0.5, 0.0, 1e-300};
  double m[4] = {0}, v[4] = {0};
  adam_update(w, g, m, v, 4, &test_config, 1.0);
  for (int i = 0; i < 4; i++) CHECK_DOUBLE(g[i], 0.0);

  /* n = 0 touches nothing. */
  double before = w[0];
  g[0] = 7.0;
  adam_update(w, g, m, v, 0, &test_config, 1.0);
  CHECK_DOUBLE(g[0], 7.0);
  CHECK_DOUBLE(w[0], before);
}

/* ---- network_adam_step ------------------------------------------------- */

enum { STEP_ROWS = 2, STEP_TEXT = 6 };

/* Two rows whose text uses kernel rows 1 and 4 only. */
static const int64_t step_offset[STEP_ROWS + 1] = {0, 2, 3};
static const int32_t step_column[] = {1, 4, 4};
static const float step_value[] = {0.70710678f, 0.70710678f, 1.0f};

typedef struct StepCase {
  Network net;
  Workspace ws;
  Dataset data;
  double *m, *v;
  double *w0, *m0, *v0, *g0;     /* copies from before the step */
} StepCase;

static void step_case_free(StepCase *c) {
  free(c->m);
  free(c->v);
  free(c->w0);
  free(c->m0);
  free(c->v0);
  free(c->g0);
  dataset_free(&c->data);
  workspace_free(&c->ws);
  network_free(&c->net);
}

/*
** Builds a network with non-zero moments everywhere, so that any update of
** an untouched row would show, runs one batch forward and backward, and
** keeps copies of the weights, moments and gradients.
*/
static int step_case_init(StepCase *c, int sparse_text) {
  memset(c, 0, sizeof(*c));
  NetworkShape shape = {3, STEP_TEXT, {2, 2}, {2, 2}};
  if (network_init(&c->net, &shape)) return -1;
  c->net.sparse_text = sparse_text;
  network_glorot(&c->net, 7);
  size_t n = c->net.n_params;
  c->m = malloc(n * sizeof(double));
  c->v = malloc(n * sizeof(double));
  c->w0 = malloc(n * sizeof(double));
  c->m0 = malloc(n * sizeof(double));
  c->v0 = malloc(n * sizeof(double));
  c->g0 = malloc(n * sizeof(double));
  if (!c->m || !c->v || !c->w0 || !c->m0 || !c->v0 || !c->g0) return -1;
  Rng rng;
  rng_seed(&rng, 8);
  for (size_t i = 0; i < n; i++) {
    c->m[i] = 0.02 * (rng_uniform(&rng) - 0.5);
    c->v[i] = 1e-4 * (0.5 + rng_uniform(&rng));
  }
  if (workspace_init(&c->ws, &c->net, STEP_ROWS)) return -1;

  Dataset *d = &c->data;
  d->n = STEP_ROWS;
  d->n_tabular = 3;
  d->tabular = malloc(STEP_ROWS * 3 * sizeof(float));
  d->text_offset = malloc((STEP_ROWS + 1) * sizeof(int64_t));
  d->text_column = malloc(3 * sizeof(int32_t));
  d->text_value = malloc(3 * sizeof(float));
  d->label = malloc(STEP_ROWS * sizeof(float));
  if (!d->tabular || !d->text_offset || !d->text_column || !d->text_value ||
      !d->label)
    return -1;
  static const float tabular[STEP_ROWS * 3] = {0.5f, -1.0f, 2.0f,
                                               -0.25f, 1.5f, 0.75f};
  memcpy(d->tabular, tabular, sizeof(tabular));
  memcpy(d->text_offset, step_offset, sizeof(step_offset));
  memcpy(d->text_column, step_column, sizeof(step_column));
  memcpy(d->text_value, step_value, sizeof(step_value));
  d->label[0] = 1.0f;
  d->label[1] = 0.0f;

  int index[STEP_ROWS] = {0, 1};
  if (workspace_gather(&c->ws, d, index, STEP_ROWS)) return -1;
  network_forward(&c->net, &c->ws, STEP_ROWS);
  network_backward(&c->net, &c->ws, STEP_ROWS);
  memcpy(c->w0, c->net.params, n * sizeof(double));
  memcpy(c->m0, c->m, n * sizeof(double));
  memcpy(c->v0, c->v, n * sizeof(double));
  memcpy(c->g0, c->ws.grad, n * sizeof(double));
  return 0;
}

/* The weight, first and second moment of entry i after one Adam step. */
static void expected_update(const StepCase *c, size_t i, double step_size,
                            double *w, double *m, double *v) {
  const AdamConfig *a = &test_config;
  double g = c->g0[i];
  *m = a->beta1 * c->m0[i] + (1 - a->beta1) * g;
  *v = a->beta2 * c->v0[i] + (1 - a->beta2) * g * g;
  *w = c->w0[i] - step_size * *m / (sqrt(*v) + a->epsilon);
}

/* Checks that entries [from, to) moved as one Adam step moves them. */
static int moved_by_adam(const StepCase *c, size_t from, size_t to,
                         double step_size) {
  int ok = 1;
  for (size_t i = from; i < to; i++) {
    double w, m, v;
    expected_update(c, i, step_size, &w, &m, &v);
    ok &= CHECK_NEAR(c->net.params[i], w, ROUNDING);
    ok &= CHECK_NEAR(c->m[i], m, ROUNDING);
    ok &= CHECK_NEAR(c->v[i], v, ROUNDING);
  }
  return ok;
}

static void test_network_adam_step_lazy_text_rows(void) {
  StepCase c;
  if (!CHECK(step_case_init(&c, 1) == 0)) goto done;
  Network *net = &c.net;
  size_t text = net->offset[TENSOR_TEXT_KERNEL_1];
  size_t width = (size_t)net->cols[TENSOR_TEXT_KERNEL_1];
  size_t text_end = text + STEP_TEXT * width;
  CHECK_INT(c.ws.n_touched, 2);

  double step_size = adam_step_size(&test_config, 3);
  network_adam_step(net, &c.ws, c.m, c.v, &test_config, 3);

  /* Rows 0, 2, 3 and 5 were not in the batch: weights and both moments
  ** keep their exact bits. */
  static const int untouched[] = {0, 2, 3, 5};
  for (int k = 0; k < 4; k++) {
    size_t at = text + (size_t)untouched[k] * width;
    size_t bytes = width * sizeof(double);
    CHECK(memcmp(net->params + at, c.w0 + at, bytes) == 0);
    CHECK(memcmp(c.m + at, c.m0 + at, bytes) == 0);
    CHECK(memcmp(c.v + at, c.v0 + at, bytes) == 0);
  }

  /* Rows 1 and 4 move, with a non-zero gradient. */
  static const int touched[] = {1, 4};
  for (int k = 0; k < 2; k++) {
    size_t at = text + (size_t)touched[k] * width;
    CHECK(c.g0[at] != 0.0);
    CHECK(net->params[at] != c.w0[at]);
    moved_by_adam(&c, at, at + width, step_size);
  }

  /* Every other tensor takes a full step. */
  moved_by_adam(&c, 0, text, step_size);
  moved_by_adam(&c, text_end, net->n_params, step_size);

  /* The step zeroes the gradients and clears the list of touched rows. */
  for (size_t i = 0; i < net->n_params; i++)
    if (!CHECK_DOUBLE(c.ws.grad[i], 0.0)) break;
  CHECK_INT(c.ws.n_touched, 0);
  for (int i = 0; i < STEP_TEXT; i++) CHECK_INT(c.ws.is_touched[i], 0);

done:
  step_case_free(&c);
}

static void test_network_adam_step_dense_text_rows(void) {
  /* Without sparse_text, an untouched row's moments decay and its weight
  ** moves with its momentum, as in plain Adam. */
  StepCase c;
  if (!CHECK(step_case_init(&c, 0) == 0)) goto done;
  Network *net = &c.net;
  size_t text = net->offset[TENSOR_TEXT_KERNEL_1];

  double step_size = adam_step_size(&test_config, 1);
  network_adam_step(net, &c.ws, c.m, c.v, &test_config, 1);
  moved_by_adam(&c, 0, net->n_params, step_size);
  CHECK_DOUBLE(c.g0[text], 0.0);
  CHECK(net->params[text] != c.w0[text]);
  CHECK_NEAR(c.m[text], test_config.beta1 * c.m0[text], ROUNDING);

  for (size_t i = 0; i < net->n_params; i++)
    if (!CHECK_DOUBLE(c.ws.grad[i], 0.0)) break;
  CHECK_INT(c.ws.n_touched, 0);
  for (int i = 0; i < STEP_TEXT; i++) CHECK_INT(c.ws.is_touched[i], 0);

done:
  step_case_free(&c);
}

int main(void) {
  RUN(test_adam_default_config);
  RUN(test_adam_step_size);
  RUN(test_adam_three_steps);
  RUN(test_adam_first_step_is_learning_rate);
  RUN(test_adam_zeroes_gradients);
  RUN(test_network_adam_step_lazy_text_rows);
  RUN(test_network_adam_step_dense_text_rows);
  return unit_summary();
}
