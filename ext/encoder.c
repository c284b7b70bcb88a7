/*
** Preprocessing of counts, categories and transcripts. See encoder.h.
**
** Normalization follows Keras' Normalization layer: (x - mean) / sqrt(var)
** with the population variance of the training rows. Where the variance is
** 0 (a constant column), the scale is 1, as scikit-learn's StandardScaler
** does, so the feature is x - mean and never a division by zero.
*/
#include "encoder.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

void encoder_free(Encoder *enc) {
  for (int k = 0; k < N_CATEGORIES; k++) vocabulary_free(&enc->category[k]);
  vocabulary_free(&enc->text);
  memset(enc, 0, sizeof(*enc));
}

double encoder_transform(const Encoder *enc, double count) {
  if (enc->transform == TRANSFORM_LOG1P)
    return count >= 0 ? log1p(count) : -log1p(-count);
  return count;
}

void encoder_set_scale(Encoder *enc) {
  for (int c = 0; c < N_COUNTS; c++)
    enc->scale[c] = enc->variance[c] > 0 ? 1.0 / sqrt(enc->variance[c]) : 1.0;
}

void encoder_fit_counts(Encoder *enc, const double *values, int n) {
  for (int c = 0; c < N_COUNTS; c++) {
    const double *x = values + (size_t)c * n;
    long double sum = 0;
    for (int i = 0; i < n; i++) sum += x[i];
    long double mean = n ? sum / n : 0;
    long double squares = 0;
    for (int i = 0; i < n; i++) squares += (x[i] - mean) * (x[i] - mean);
    enc->mean[c] = (double)mean;
    enc->variance[c] = n ? (double)(squares / n) : 0.0;
  }
  encoder_set_scale(enc);
}

int encoder_tabular_width(const Encoder *enc) {
  int width = N_COUNTS;
  for (int k = 0; k < N_CATEGORIES; k++) width += enc->category[k].size;
  return width;
}

int encoder_text_width(const Encoder *enc) {
  return enc->text_mode == TEXT_SEQUENCE ? enc->sequence_length
                                         : enc->text.size;
}

void encoder_tabular(const Encoder *enc, const double *count,
                     const int *category, float *out) {
  for (int c = 0; c < N_COUNTS; c++) {
    double x = (encoder_transform(enc, count[c]) - enc->mean[c]) *
               enc->scale[c];
    /* Without a transform, a count far outside the training range (such
    ** as 1e300) overflows a float, and the network would turn infinity
    ** into a NaN logit. The largest float keeps it finite instead, in
    ** training, validation and prediction alike. */
    if (x > FLT_MAX) x = FLT_MAX;
    if (x < -FLT_MAX) x = -FLT_MAX;
    out[c] = (float)x;
  }
  float *onehot = out + N_COUNTS;
  for (int k = 0; k < N_CATEGORIES; k++) {
    int size = enc->category[k].size;
    memset(onehot, 0, (size_t)size * sizeof(float));
    if (category[k] >= 0 && category[k] < size) onehot[category[k]] = 1.0f;
    onehot += size;
  }
}

/*
** Sorts ids in place with Shell sort (Ciura's gaps). Unlike the C
** library's qsort, which may allocate, it allocates nothing.
*/
static void sort_ids(int32_t *ids, int n) {
  static const int ciura[] = {1, 4, 10, 23, 57, 132, 301, 701};
  int gaps[64];
  int n_gaps = 0;
  for (int k = 0; k < 8 && ciura[k] < n; k++) gaps[n_gaps++] = ciura[k];
  /* Past 701, each gap is 2.25 times the previous one. */
  while (n_gaps >= 8 && n_gaps < 64) {
    long next = (long)gaps[n_gaps - 1] * 9 / 4;
    if (next >= n) break;
    gaps[n_gaps++] = (int)next;
  }
  for (int g = n_gaps - 1; g >= 0; g--) {
    int gap = gaps[g];
    for (int i = gap; i < n; i++) {
      int32_t x = ids[i];
      int j = i;
      for (; j >= gap && ids[j - gap] > x; j -= gap) ids[j] = ids[j - gap];
      ids[j] = x;
    }
  }
}

/*
** Sorts n distinct ids (n at most RANK_SORT_MAX) by writing each at its
** rank, the count of smaller ids. The counting has no data-dependent
** branch and vectorizes, which measured faster than an insertion sort.
*/
enum { RANK_SORT_MAX = 64 };

static void rank_sort(int32_t *ids, int n) {
  int32_t copy[RANK_SORT_MAX];
  memcpy(copy, ids, (size_t)n * sizeof(int32_t));
  for (int i = 0; i < n; i++) {
    int rank = 0;
    for (int j = 0; j < n; j++) rank += copy[j] < copy[i];
    ids[rank] = copy[i];
  }
}

int encoder_text(const Encoder *enc, const int32_t *ids, int n_ids,
                 int32_t *column, float *value, unsigned char *seen) {
  if (enc->text_mode == TEXT_SEQUENCE) {
    int n = n_ids < enc->sequence_length ? n_ids : enc->sequence_length;
    int written = 0;
    for (int p = 0; p < n; p++) {
      if (ids[p] == CLAIM_PAD) continue;
      column[written] = p;
      value[written] = (float)ids[p];
      written++;
    }
    return written;
  }

  /* A byte per id marks the ids already written, which removes repeats.
  ** The distinct ids are then sorted, so that the first layer adds its
  ** rows, and rounds, the same way whatever the order of the words. */
  int distinct = 0;
  for (int i = 0; i < n_ids; i++) {
    int32_t id = ids[i];
    if (id == CLAIM_PAD || seen[id]) continue;
    seen[id] = 1;
    column[distinct++] = id;
  }
  for (int i = 0; i < distinct; i++) seen[column[i]] = 0;
  if (distinct <= RANK_SORT_MAX)
    rank_sort(column, distinct);
  else
    sort_ids(column, distinct);
  float weight = distinct ? (float)(1.0 / sqrt((double)distinct)) : 0.0f;
  for (int i = 0; i < distinct; i++) value[i] = weight;
  return distinct;
}

void encoder_token_ids(const Encoder *enc, const TokenList *list,
                       int32_t *out) {
  for (int i = 0; i < list->n; i++) {
    int id = vocabulary_find_hashed(&enc->text, list->text + list->start[i],
                                    (size_t)list->length[i], list->hash[i]);
    out[i] = id > CLAIM_OOV ? id : CLAIM_OOV;
  }
}
