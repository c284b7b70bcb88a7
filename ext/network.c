/*
** The two-tower network: layout of the weights, forward and backward
** passes of a batch, the optimizer step and batched prediction.
*/
#define _DEFAULT_SOURCE  /* madvise() and MADV_HUGEPAGE */
#include "network.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "rng.h"

const char *const tensor_name[N_TENSORS] = {
  "tabular.dense_1.kernel", "tabular.dense_1.bias",
  "tabular.dense_2.kernel", "tabular.dense_2.bias",
  "text.dense_1.kernel", "text.dense_1.bias",
  "text.dense_2.kernel", "text.dense_2.bias",
  "output.kernel", "output.bias",
};

void *alloc_large(size_t bytes) {
  const size_t huge = (size_t)2 << 20;
  if (bytes < 2 * huge) return malloc(bytes ? bytes : 1);
  void *p = 0;
  if (posix_memalign(&p, huge, bytes) != 0) return 0;
#ifdef MADV_HUGEPAGE
  madvise(p, bytes, MADV_HUGEPAGE);  /* advice only: failure is harmless */
#endif
  return p;
}

void dataset_free(Dataset *data) {
  free(data->tabular);
  free(data->text_offset);
  free(data->text_column);
  free(data->text_value);
  free(data->label);
  memset(data, 0, sizeof(*data));
}

void network_layout(const NetworkShape *shape, int *rows, int *cols) {
  int u1 = shape->tabular_units[0], u2 = shape->tabular_units[1];
  int t1 = shape->text_units[0], t2 = shape->text_units[1];
  const int r[N_TENSORS] = {shape->n_tabular, 1, u1, 1, shape->n_text, 1,
                            t1, 1, u2 + t2, 1};
  const int c[N_TENSORS] = {u1, u1, u2, u2, t1, t1, t2, t2, 1, 1};
  memcpy(rows, r, sizeof(r));
  memcpy(cols, c, sizeof(c));
}

int network_init(Network *net, const NetworkShape *shape) {
  memset(net, 0, sizeof(*net));
  net->shape = *shape;
  int rows[N_TENSORS], cols[N_TENSORS];
  network_layout(shape, rows, cols);

  /* Each tensor is at most INT32_MAX x INT32_MAX, so a 64-bit product of
  ** two ints cannot overflow; the running total is checked instead. */
  size_t total = 0;
  for (int k = 0; k < N_TENSORS; k++) {
    if (rows[k] <= 0 || cols[k] <= 0) return -1;
    uint64_t size = (uint64_t)rows[k] * (uint64_t)cols[k];
    if (size > ((uint64_t)1 << 40) - total) return -1;
    net->offset[k] = total;
    net->rows[k] = rows[k];
    net->cols[k] = cols[k];
    total += (size_t)size;
  }
  net->n_params = total;
  net->params = calloc(total, sizeof(double));
  return net->params ? 0 : -1;
}

void network_free(Network *net) {
  free(net->params);
  memset(net, 0, sizeof(*net));
}

void network_glorot(Network *net, uint64_t seed) {
  Rng rng;
  rng_seed(&rng, seed);
  for (int k = 0; k < N_TENSORS; k++) {
    double *w = net->params + net->offset[k];
    size_t size = (size_t)net->rows[k] * net->cols[k];
    if (net->rows[k] == 1) {            /* a bias */
      memset(w, 0, size * sizeof(double));
      continue;
    }
    double limit = sqrt(6.0 / (net->rows[k] + net->cols[k]));
    for (size_t i = 0; i < size; i++)
      w[i] = (2.0 * rng_uniform(&rng) - 1.0) * limit;
  }
}

void workspace_free(Workspace *ws) {
  free(ws->tabular_1); free(ws->tabular_2);
  free(ws->text_1); free(ws->text_2);
  free(ws->logit); free(ws->d_logit);
  free(ws->d_tabular_2); free(ws->d_text_2);
  free(ws->d_tabular_1); free(ws->d_text_1);
  free(ws->grad);
  free(ws->batch_tabular); free(ws->batch_label);
  free(ws->batch_offset); free(ws->batch_column); free(ws->batch_value);
  free(ws->touched); free(ws->is_touched);
  memset(ws, 0, sizeof(*ws));
}

int workspace_init(Workspace *ws, const Network *net, int capacity) {
  memset(ws, 0, sizeof(*ws));
  const NetworkShape *s = &net->shape;
  size_t b = (size_t)capacity;
  ws->capacity = capacity;
  ws->class_weight[0] = ws->class_weight[1] = 1.0;

  /* Activations and their gradients, (B, units) each. */
  ws->tabular_1 = malloc(b * s->tabular_units[0] * sizeof(double));
  ws->tabular_2 = malloc(b * s->tabular_units[1] * sizeof(double));
  ws->text_1 = malloc(b * s->text_units[0] * sizeof(double));
  ws->text_2 = malloc(b * s->text_units[1] * sizeof(double));
  ws->logit = malloc(b * sizeof(double));
  ws->d_logit = malloc(b * sizeof(double));
  ws->d_tabular_2 = malloc(b * s->tabular_units[1] * sizeof(double));
  ws->d_text_2 = malloc(b * s->text_units[1] * sizeof(double));
  ws->d_tabular_1 = malloc(b * s->tabular_units[0] * sizeof(double));
  ws->d_text_1 = malloc(b * s->text_units[0] * sizeof(double));
  ws->grad = calloc(net->n_params, sizeof(double));

  /* The gathered batch and the text kernel rows it touches. */
  ws->batch_tabular = malloc(b * (s->n_tabular ? s->n_tabular : 1) *
                             sizeof(float));
  ws->batch_label = malloc(b * sizeof(float));
  ws->batch_offset = malloc((b + 1) * sizeof(int64_t));
  ws->touched = malloc((size_t)s->n_text * sizeof(int32_t));
  ws->is_touched = calloc((size_t)s->n_text, 1);
  if (!ws->tabular_1 || !ws->tabular_2 || !ws->text_1 || !ws->text_2 ||
      !ws->logit || !ws->d_logit || !ws->d_tabular_2 || !ws->d_text_2 ||
      !ws->d_tabular_1 || !ws->d_text_1 || !ws->grad || !ws->batch_tabular ||
      !ws->batch_label || !ws->batch_offset || !ws->touched ||
      !ws->is_touched) {
    workspace_free(ws);
    return -1;
  }
  return 0;
}

int workspace_reserve_text(Workspace *ws, size_t n) {
  if (n <= ws->batch_text_cap) return 0;
  size_t cap = n * 2;
  int32_t *column = realloc(ws->batch_column, cap * sizeof(int32_t));
  if (!column) return -1;
  ws->batch_column = column;
  float *value = realloc(ws->batch_value, cap * sizeof(float));
  if (!value) return -1;
  ws->batch_value = value;
  ws->batch_text_cap = cap;
  return 0;
}

int workspace_gather(Workspace *ws, const Dataset *data, const int *index,
                     int n) {
  int w = data->n_tabular;
  size_t nnz = 0;
  for (int r = 0; r < n; r++) {
    int i = index[r];
    nnz += (size_t)(data->text_offset[i + 1] - data->text_offset[i]);
  }
  if (workspace_reserve_text(ws, nnz)) return -1;

  ws->batch_offset[0] = 0;
  for (int r = 0; r < n; r++) {
    int i = index[r];
    memcpy(ws->batch_tabular + (size_t)r * w, data->tabular + (size_t)i * w,
           (size_t)w * sizeof(float));
    ws->batch_label[r] = data->label ? data->label[i] : 0.0f;
    int64_t from = data->text_offset[i], to = data->text_offset[i + 1];
    int64_t at = ws->batch_offset[r];
    /* With no text the buffers may still be NULL, and memcpy from NULL is
    ** undefined even for 0 bytes. */
    if (to > from) {
      memcpy(ws->batch_column + at, data->text_column + from,
             (size_t)(to - from) * sizeof(int32_t));
      memcpy(ws->batch_value + at, data->text_value + from,
             (size_t)(to - from) * sizeof(float));
    }
    ws->batch_offset[r + 1] = at + (to - from);
  }
  return 0;
}

static SparseBatch batch_text(const Workspace *ws, int n) {
  SparseBatch text = {ws->batch_offset, ws->batch_column, ws->batch_value, n};
  return text;
}

void network_forward(const Network *net, Workspace *ws, int n) {
  const NetworkShape *s = &net->shape;
  const double *p = net->params;
  const size_t *o = net->offset;
  int u1 = s->tabular_units[0], u2 = s->tabular_units[1];
  int t1 = s->text_units[0], t2 = s->text_units[1];

  dense_forward_f(ws->tabular_1, ws->batch_tabular,
                  p + o[TENSOR_TABULAR_KERNEL_1], p + o[TENSOR_TABULAR_BIAS_1],
                  n, s->n_tabular, u1);
  relu_forward(ws->tabular_1, n * u1);
  dense_forward(ws->tabular_2, ws->tabular_1, p + o[TENSOR_TABULAR_KERNEL_2],
                p + o[TENSOR_TABULAR_BIAS_2], n, u1, u2);
  relu_forward(ws->tabular_2, n * u2);

  SparseBatch text = batch_text(ws, n);
  sparse_dense_forward(ws->text_1, &text, p + o[TENSOR_TEXT_KERNEL_1],
                       p + o[TENSOR_TEXT_BIAS_1], t1);
  relu_forward(ws->text_1, n * t1);
  dense_forward(ws->text_2, ws->text_1, p + o[TENSOR_TEXT_KERNEL_2],
                p + o[TENSOR_TEXT_BIAS_2], n, t1, t2);
  relu_forward(ws->text_2, n * t2);

  /* The output layer reads the concatenation [tabular_2, text_2]. */
  const double *k = p + o[TENSOR_OUTPUT_KERNEL];
  double bias = p[o[TENSOR_OUTPUT_BIAS]];
  for (int b = 0; b < n; b++) {
    double z = bias;
    const double *h = ws->tabular_2 + (size_t)b * u2;
    const double *g = ws->text_2 + (size_t)b * t2;
    for (int j = 0; j < u2; j++) z += h[j] * k[j];
    for (int j = 0; j < t2; j++) z += g[j] * k[u2 + j];
    ws->logit[b] = z;
  }
}

double network_backward(const Network *net, Workspace *ws, int n) {
  const NetworkShape *s = &net->shape;
  const double *p = net->params;
  const size_t *o = net->offset;
  double *grad = ws->grad;
  int u1 = s->tabular_units[0], u2 = s->tabular_units[1];
  int t1 = s->text_units[0], t2 = s->text_units[1];

  double loss = weighted_bce_with_logits(ws->d_logit, ws->logit,
                                         ws->batch_label, ws->class_weight, n);

  /* Output layer. */
  const double *k = p + o[TENSOR_OUTPUT_KERNEL];
  double *dk = grad + o[TENSOR_OUTPUT_KERNEL];
  for (int b = 0; b < n; b++) {
    double dz = ws->d_logit[b];
    const double *h = ws->tabular_2 + (size_t)b * u2;
    const double *g = ws->text_2 + (size_t)b * t2;
    double *dh = ws->d_tabular_2 + (size_t)b * u2;
    double *dg = ws->d_text_2 + (size_t)b * t2;
    for (int j = 0; j < u2; j++) {
      dk[j] += h[j] * dz;
      dh[j] = k[j] * dz;
    }
    for (int j = 0; j < t2; j++) {
      dk[u2 + j] += g[j] * dz;
      dg[j] = k[u2 + j] * dz;
    }
    grad[o[TENSOR_OUTPUT_BIAS]] += dz;
  }

  /* Tabular tower. */
  relu_backward(ws->d_tabular_2, ws->tabular_2, n * u2);
  dense_backward(ws->d_tabular_1, grad + o[TENSOR_TABULAR_KERNEL_2],
                 grad + o[TENSOR_TABULAR_BIAS_2], ws->d_tabular_2,
                 ws->tabular_1, p + o[TENSOR_TABULAR_KERNEL_2], n, u1, u2);
  relu_backward(ws->d_tabular_1, ws->tabular_1, n * u1);
  dense_backward_f(grad + o[TENSOR_TABULAR_KERNEL_1],
                   grad + o[TENSOR_TABULAR_BIAS_1], ws->d_tabular_1,
                   ws->batch_tabular, n, s->n_tabular, u1);

  /* Text tower. */
  relu_backward(ws->d_text_2, ws->text_2, n * t2);
  dense_backward(ws->d_text_1, grad + o[TENSOR_TEXT_KERNEL_2],
                 grad + o[TENSOR_TEXT_BIAS_2], ws->d_text_2, ws->text_1,
                 p + o[TENSOR_TEXT_KERNEL_2], n, t1, t2);
  relu_backward(ws->d_text_1, ws->text_1, n * t1);
  SparseBatch text = batch_text(ws, n);
  sparse_dense_backward(grad + o[TENSOR_TEXT_KERNEL_1],
                        grad + o[TENSOR_TEXT_BIAS_1], ws->d_text_1, &text, t1);

  /* Remember which text kernel rows carry a gradient. */
  for (int64_t e = 0; e < ws->batch_offset[n]; e++) {
    int32_t c = ws->batch_column[e];
    if (!ws->is_touched[c]) {
      ws->is_touched[c] = 1;
      ws->touched[ws->n_touched++] = c;
    }
  }
  return loss;
}

void network_adam_step(Network *net, Workspace *ws, double *m, double *v,
                       const AdamConfig *config, long step) {
  double size = adam_step_size(config, step);
  double *w = net->params, *g = ws->grad;
  size_t text_start = net->offset[TENSOR_TEXT_KERNEL_1];
  size_t text_end = net->offset[TENSOR_TEXT_BIAS_1];
  int width = net->cols[TENSOR_TEXT_KERNEL_1];

  if (!net->sparse_text) {
    adam_update(w, g, m, v, net->n_params, config, size);
  } else {
    adam_update(w, g, m, v, text_start, config, size);
    for (int i = 0; i < ws->n_touched; i++) {
      size_t at = text_start + (size_t)ws->touched[i] * width;
      adam_update(w + at, g + at, m + at, v + at, (size_t)width, config,
                  size);
    }
    adam_update(w + text_end, g + text_end, m + text_end, v + text_end,
                net->n_params - text_end, config, size);
  }
  for (int i = 0; i < ws->n_touched; i++) ws->is_touched[ws->touched[i]] = 0;
  ws->n_touched = 0;
}

int network_predict(const Network *net, const Dataset *data, double *z) {
  enum { CHUNK = 256 };
  Workspace ws;
  int index[CHUNK];
  if (workspace_init(&ws, net, CHUNK)) return -1;
  for (int start = 0; start < data->n; start += CHUNK) {
    int n = data->n - start < CHUNK ? data->n - start : CHUNK;
    for (int r = 0; r < n; r++) index[r] = start + r;
    if (workspace_gather(&ws, data, index, n)) {
      workspace_free(&ws);
      return -1;
    }
    network_forward(net, &ws, n);
    memcpy(z + start, ws.logit, (size_t)n * sizeof(double));
  }
  workspace_free(&ws);
  return 0;
}
