/*
** The two-tower network and its encoded datasets.
**
**   tabular (B, n_tabular) -> Dense(u1, relu) -> Dense(u2, relu) --+
**                                                                  concat -> Dense(1) -> logit
**   text    (B, n_text)    -> Dense(t1, relu) -> Dense(t2, relu) --+
**
** The text input is always sparse (CSR): a bag of words has a few dozen
** non-zero columns out of the vocabulary, and the notebook's sequence of
** token ids has at most sequence_length. All weights live in one buffer, so
** the gradients and the Adam moments share its layout.
** Plain C with no SQLite calls.
*/
#ifndef CLAIM_NETWORK_H
#define CLAIM_NETWORK_H

#include <stddef.h>
#include <stdint.h>

#include "adam.h"
#include "nn.h"

enum {
  TENSOR_TABULAR_KERNEL_1, TENSOR_TABULAR_BIAS_1,
  TENSOR_TABULAR_KERNEL_2, TENSOR_TABULAR_BIAS_2,
  TENSOR_TEXT_KERNEL_1, TENSOR_TEXT_BIAS_1,
  TENSOR_TEXT_KERNEL_2, TENSOR_TEXT_BIAS_2,
  TENSOR_OUTPUT_KERNEL, TENSOR_OUTPUT_BIAS,
  N_TENSORS
};

/* Storage names of the tensors, in the order above. */
extern const char *const tensor_name[N_TENSORS];

typedef struct NetworkShape {
  int n_tabular;          /* counts plus one-hot columns */
  int n_text;             /* sequence length, or vocabulary size */
  int tabular_units[2];
  int text_units[2];
} NetworkShape;

typedef struct Network {
  NetworkShape shape;
  int sparse_text;        /* 1: Adam updates only the text rows a batch uses */
  size_t offset[N_TENSORS];
  int rows[N_TENSORS];
  int cols[N_TENSORS];
  size_t n_params;
  double *params;
} Network;

/*
** Encoded rows: the tabular features as floats, the text as CSR, and the
** labels (1 for opinion, 0 for claim).
*/
typedef struct Dataset {
  int n;
  int n_tabular;
  float *tabular;         /* (n, n_tabular) */
  int64_t *text_offset;   /* (n + 1) */
  int32_t *text_column;
  float *text_value;
  float *label;           /* (n) */
  size_t text_cap;        /* allocated entries of text_column, text_value */
} Dataset;

void dataset_free(Dataset *data);

/*
** Allocates a large buffer, released with free(). From 4 MiB up it is
** aligned to 2 MiB and marked for transparent huge pages where Linux
** offers them. Training reads the rows of a shuffled dataset in random
** order, and with small pages each row would then cost a TLB miss.
*/
void *alloc_large(size_t bytes);

/* The (rows, cols) of each tensor for shape, without allocating. */
void network_layout(const NetworkShape *shape, int *rows, int *cols);

/*
** Lays out the tensors for shape and allocates zeroed weights. Returns 0,
** or -1 when out of memory or when the sizes overflow.
*/
int network_init(Network *net, const NetworkShape *shape);
void network_free(Network *net);

/* Glorot-uniform kernels and zero biases, drawn in tensor order. */
void network_glorot(Network *net, uint64_t seed);

/* Scratch buffers for batches of up to capacity rows. */
typedef struct Workspace {
  int capacity;
  double *tabular_1, *tabular_2, *text_1, *text_2;  /* (B, units) */
  double *logit, *d_logit;                           /* (B) */
  double *d_tabular_2, *d_text_2, *d_tabular_1, *d_text_1;
  double *grad;                                      /* (n_params) */
  float *batch_tabular;                              /* (B, n_tabular) */
  float *batch_label;
  int64_t *batch_offset;                             /* (B + 1) */
  int32_t *batch_column;
  float *batch_value;
  size_t batch_text_cap;
  int32_t *touched;        /* text kernel rows used by the batch */
  unsigned char *is_touched;
  int n_touched;
  double class_weight[2];  /* loss weight of claim (0) and opinion (1) */
} Workspace;

/* Allocates the buffers; class weights start at 1. */
int workspace_init(Workspace *ws, const Network *net, int capacity);
void workspace_free(Workspace *ws);

/*
** Copies rows index[0..n-1] of data into the workspace's batch buffers.
** Returns 0, or -1 when out of memory.
*/
int workspace_gather(Workspace *ws, const Dataset *data, const int *index,
                     int n);

/*
** Makes room for n text entries in the batch buffers, so that a caller
** can encode one row straight into them. Returns 0, or -1 when out of
** memory.
*/
int workspace_reserve_text(Workspace *ws, size_t n);

/* Forward pass of the gathered batch; logits land in ws->logit. */
void network_forward(const Network *net, Workspace *ws, int n);

/*
** Backward pass from the gathered batch's labels: adds the gradients of
** the mean loss into ws->grad and returns the mean loss. Needs
** network_forward first. Records the text kernel rows used in ws->touched.
*/
double network_backward(const Network *net, Workspace *ws, int n);

/*
** One Adam step over every weight, except that with sparse_text only the
** text kernel rows in ws->touched move. Zeroes the gradients it applies.
*/
void network_adam_step(Network *net, Workspace *ws, double *m, double *v,
                       const AdamConfig *config, long step);

/*
** Logits of every row of data, in batches; z has data->n entries.
** Returns 0, or -1 when out of memory.
*/
int network_predict(const Network *net, const Dataset *data, double *z);

#endif
