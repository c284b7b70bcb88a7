/*
** Preprocessing learned from the training rows: normalization of the five
** counts, one-hot encoding of the two categories, and the text features.
** Training and prediction both go through these functions, so a row is
** encoded the same way in both.
** Plain C with no SQLite calls.
*/
#ifndef CLAIM_ENCODER_H
#define CLAIM_ENCODER_H

#include <stdint.h>

#include "text.h"

#define N_COUNTS 5
#define N_CATEGORIES 2

enum { PRESET_DEFAULT, PRESET_NOTEBOOK };

/* How a count becomes a number before normalization. */
enum { TRANSFORM_NONE, TRANSFORM_LOG1P };

/* How the transcript becomes the text tower's input. */
enum {
  TEXT_SEQUENCE,   /* first sequence_length token ids, as floats */
  TEXT_BAG         /* distinct token ids, each 1/sqrt(distinct count) */
};

/* Maximum sequence_length that training accepts and the loader reads. */
#define MAX_SEQUENCE_LENGTH 100000

typedef struct Encoder {
  int transform;
  double mean[N_COUNTS];       /* of the transformed training counts */
  double variance[N_COUNTS];   /* population variance, as Keras computes */
  double scale[N_COUNTS];      /* 1/sqrt(variance), or 1 when it is 0 */
  Vocabulary category[N_CATEGORIES];
  Vocabulary text;
  int text_mode;
  int sequence_length;
} Encoder;

void encoder_free(Encoder *enc);

/* The transform applied to a raw count. */
double encoder_transform(const Encoder *enc, double count);

/*
** Sets mean, variance and scale from n transformed values per count,
** column-major: values[c * n + i]. Sums are taken in long double and
** two-pass, so large counts lose no precision.
*/
void encoder_fit_counts(Encoder *enc, const double *values, int n);

/* Derives scale from variance (zero variance gives a scale of 1). */
void encoder_set_scale(Encoder *enc);

/* Width of the tabular features: counts, then each category's one-hot. */
int encoder_tabular_width(const Encoder *enc);

/* Width of the text input: sequence_length, or the vocabulary size. */
int encoder_text_width(const Encoder *enc);

/*
** Writes the tabular features of one row. count[c] is the raw count;
** category[k] is the id in enc->category[k], or -1 for a value the
** vocabulary lacks (all zeros).
*/
void encoder_tabular(const Encoder *enc, const double *count,
                     const int *category, float *out);

/*
** Writes the sparse text features of one row from its token ids (each
** >= 1, with 1 for OOV) into column/value and returns how many it wrote:
** at most sequence_length, or at most n_ids. For TEXT_BAG the columns are
** the distinct ids in ascending order, each id must be below
** encoder_text_width(), and seen is scratch of that many bytes, all zero
** before and after the call. TEXT_SEQUENCE does not read seen.
*/
int encoder_text(const Encoder *enc, const int32_t *ids, int n_ids,
                 int32_t *column, float *value, unsigned char *seen);

/* Maps tokens to text ids (OOV for unknown ones); out has list->n entries. */
void encoder_token_ids(const Encoder *enc, const TokenList *list,
                       int32_t *out);

#endif
