/*
** Unit tests of the feature encoder (ext/encoder.c): normalization of the
** counts, one-hot categories, and the sequence and bag-of-words text
** features.
*/
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "encoder.h"
#include "rng.h"
#include "text.h"
#include "unit.h"

/*
** An encoder with categories {"verified", "not verified"} and {"active",
** "under review", "banned"}, and the text vocabulary "", "[UNK]", "the",
** "cat", "sat".
*/
static int encoder_setup(Encoder *enc, int text_mode, int sequence_length) {
  static const char *const category[N_CATEGORIES][3] = {
    {"verified", "not verified", NULL}, {"active", "under review", "banned"}};
  static const char *const text[] = {"", "[UNK]", "the", "cat", "sat"};
  memset(enc, 0, sizeof(*enc));
  enc->text_mode = text_mode;
  enc->sequence_length = sequence_length;
  for (int k = 0; k < N_CATEGORIES; k++)
    for (int i = 0; i < 3 && category[k][i]; i++)
      if (vocabulary_append(&enc->category[k], category[k][i],
                            strlen(category[k][i]), 1))
        return -1;
  for (int i = 0; i < 5; i++)
    if (vocabulary_append(&enc->text, text[i], strlen(text[i]), 1)) return -1;
  return 0;
}

/* ---- Normalization ----------------------------------------------------- */

static void test_fit_mean_and_population_variance(void) {
  Encoder enc;
  REQUIRE(encoder_setup(&enc, TEXT_BAG, 0) == 0);
  /* Column-major: count c of row i is values[c * 4 + i]. */
  double values[N_COUNTS * 4] = {
    1, 2, 3, 4,                          /* variance 1.25, not 5/3 */
    7, 7, 7, 7,                          /* constant */
    1e15 + 1, 1e15 + 2, 1e15 + 3, 1e15 + 4,
    -3, 0, 0, 3,
    0.1, 0.2, 0.3, 0.4,
  };
  encoder_fit_counts(&enc, values, 4);

  CHECK_DOUBLE(enc.mean[0], 2.5);
  CHECK_DOUBLE(enc.variance[0], 1.25);
  CHECK_NEAR(enc.scale[0], 0.89442719099991588, 1e-16);

  CHECK_DOUBLE(enc.mean[1], 7.0);
  CHECK_DOUBLE(enc.variance[1], 0.0);
  CHECK_DOUBLE(enc.scale[1], 1.0);

  /* Large counts keep their precision: a one-pass sum of squares in double
  ** would lose the variance entirely. */
  CHECK_DOUBLE(enc.mean[2], 1e15 + 2.5);
  CHECK_DOUBLE(enc.variance[2], 1.25);

  CHECK_DOUBLE(enc.mean[3], 0.0);
  CHECK_DOUBLE(enc.variance[3], 4.5);
  CHECK_NEAR(enc.scale[3], 0.47140452079103168, 1e-16);

  CHECK_NEAR(enc.mean[4], 0.25, 1e-16);
  CHECK_NEAR(enc.variance[4], 0.0125, 1e-17);
  encoder_free(&enc);
}

static void test_fit_one_and_zero_rows(void) {
  Encoder enc;
  REQUIRE(encoder_setup(&enc, TEXT_BAG, 0) == 0);
  double one[N_COUNTS] = {5, -2, 0, 1e300, 3};
  encoder_fit_counts(&enc, one, 1);
  for (int c = 0; c < N_COUNTS; c++) {
    CHECK_DOUBLE(enc.mean[c], one[c]);
    CHECK_DOUBLE(enc.variance[c], 0.0);
    CHECK_DOUBLE(enc.scale[c], 1.0);
  }

  /* No rows: mean 0 and scale 1, with no division by zero. */
  double unused = 0.0;
  encoder_fit_counts(&enc, &unused, 0);
  for (int c = 0; c < N_COUNTS; c++) {
    CHECK_DOUBLE(enc.mean[c], 0.0);
    CHECK_DOUBLE(enc.variance[c], 0.0);
    CHECK_DOUBLE(enc.scale[c], 1.0);
  }
  encoder_free(&enc);
}

static void test_set_scale(void) {
  Encoder enc;
  memset(&enc, 0, sizeof(enc));
  double variance[N_COUNTS] = {4.0, 0.0, 0.25, 1e-300, 1e300};
  memcpy(enc.variance, variance, sizeof(variance));
  encoder_set_scale(&enc);
  CHECK_DOUBLE(enc.scale[0], 0.5);
  CHECK_DOUBLE(enc.scale[1], 1.0);
  CHECK_DOUBLE(enc.scale[2], 2.0);
  CHECK_DOUBLE(enc.scale[3], 1e150);
  CHECK_DOUBLE(enc.scale[4], 1e-150);
}

static void test_tabular_normalizes_counts(void) {
  Encoder enc;
  REQUIRE(encoder_setup(&enc, TEXT_BAG, 0) == 0);
  double mean[N_COUNTS] = {10, 7, 0, -1, 100};
  double variance[N_COUNTS] = {4, 0, 1, 0.25, 0};
  memcpy(enc.mean, mean, sizeof(mean));
  memcpy(enc.variance, variance, sizeof(variance));
  encoder_set_scale(&enc);

  double count[N_COUNTS] = {14, 9, -3, 0, 100};
  int category[N_CATEGORIES] = {0, 0};
  float out[10];
  encoder_tabular(&enc, count, category, out);
  CHECK_DOUBLE(out[0], 2.0f);       /* (14 - 10) / 2 */
  CHECK_DOUBLE(out[1], 2.0f);       /* zero variance: 9 - 7 */
  CHECK_DOUBLE(out[2], -3.0f);
  CHECK_DOUBLE(out[3], 2.0f);       /* (0 + 1) / 0.5 */
  CHECK_DOUBLE(out[4], 0.0f);
  for (int i = 0; i < N_COUNTS; i++) CHECK(isfinite(out[i]));
  encoder_free(&enc);
}

static void test_log1p_transform(void) {
  Encoder enc;
  memset(&enc, 0, sizeof(enc));
  enc.transform = TRANSFORM_NONE;
  CHECK_DOUBLE(encoder_transform(&enc, 12345.0), 12345.0);
  CHECK_DOUBLE(encoder_transform(&enc, -7.5), -7.5);

  /* log1p, mirrored for negative counts: sign(x) log(1 + |x|). */
  enc.transform = TRANSFORM_LOG1P;
  CHECK_DOUBLE(encoder_transform(&enc, 0.0), 0.0);
  CHECK_NEAR(encoder_transform(&enc, 1.0), 0.69314718055994531, 2e-16);
  CHECK_NEAR(encoder_transform(&enc, -1.0), -0.69314718055994531, 2e-16);
  CHECK_NEAR(encoder_transform(&enc, 1.7182818284590452), 1.0, 4e-16);
  CHECK_NEAR(encoder_transform(&enc, -1.7182818284590452), -1.0, 4e-16);
  CHECK_NEAR(encoder_transform(&enc, 999999.0), 13.815510557964274, 4e-15);
  CHECK_NEAR(encoder_transform(&enc, 1e-20), 1e-20, 1e-36);

  /* encoder_tabular applies the transform before normalizing. */
  Encoder full;
  REQUIRE(encoder_setup(&full, TEXT_BAG, 0) == 0);
  full.transform = TRANSFORM_LOG1P;
  double values[N_COUNTS * 2];
  double raw[2] = {0.0, 999999.0};
  for (int c = 0; c < N_COUNTS; c++)
    for (int i = 0; i < 2; i++)
      values[c * 2 + i] = encoder_transform(&full, raw[i]);
  encoder_fit_counts(&full, values, 2);
  CHECK_NEAR(full.mean[0], 13.815510557964274 / 2, 4e-15);
  double count[N_COUNTS] = {999999.0, 0.0, 999999.0, 0.0, 0.0};
  int category[N_CATEGORIES] = {-1, -1};
  float out[10];
  encoder_tabular(&full, count, category, out);
  CHECK_DOUBLE(out[0], 1.0f);
  CHECK_DOUBLE(out[1], -1.0f);
  encoder_free(&full);
}

/* ---- One-hot categories ------------------------------------------------ */

static void check_one_hot(const Encoder *enc, int verified, int ban,
                          const float *expected) {
  double count[N_COUNTS] = {0, 0, 0, 0, 0};
  int category[N_CATEGORIES] = {verified, ban};
  float out[10];
  for (int i = 0; i < 10; i++) out[i] = 9.0f;
  encoder_tabular(enc, count, category, out);
  for (int i = 0; i < 5; i++)
    if (!CHECK_DOUBLE(out[N_COUNTS + i], expected[i]))
      printf("  (one-hot column %d for categories %d, %d)\n", i, verified,
             ban);
}

static void test_one_hot_categories(void) {
  Encoder enc;
  REQUIRE(encoder_setup(&enc, TEXT_BAG, 0) == 0);
  encoder_set_scale(&enc);
  CHECK_INT(encoder_tabular_width(&enc), N_COUNTS + 2 + 3);

  check_one_hot(&enc, 0, 0, (const float[]){1, 0, 1, 0, 0});
  check_one_hot(&enc, 1, 2, (const float[]){0, 1, 0, 0, 1});
  check_one_hot(&enc, 0, 1, (const float[]){1, 0, 0, 1, 0});
  /* An unseen value (-1) gives all zeros for its category only. */
  check_one_hot(&enc, -1, 1, (const float[]){0, 0, 0, 1, 0});
  check_one_hot(&enc, 1, -1, (const float[]){0, 1, 0, 0, 0});
  check_one_hot(&enc, -1, -1, (const float[]){0, 0, 0, 0, 0});
  /* So does an id past the vocabulary. */
  check_one_hot(&enc, 2, 3, (const float[]){0, 0, 0, 0, 0});
  encoder_free(&enc);
}

/* ---- Text features ----------------------------------------------------- */

static void test_text_width(void) {
  Encoder enc;
  REQUIRE(encoder_setup(&enc, TEXT_SEQUENCE, 20) == 0);
  CHECK_INT(encoder_text_width(&enc), 20);
  enc.text_mode = TEXT_BAG;
  CHECK_INT(encoder_text_width(&enc), 5);
  encoder_free(&enc);
}

static void test_token_ids_map_unknown_to_oov(void) {
  Encoder enc;
  TokenList list;
  memset(&list, 0, sizeof(list));
  REQUIRE(encoder_setup(&enc, TEXT_SEQUENCE, 20) == 0);
  /* "[UNK]" in a transcript becomes "unk", an unknown token. */
  static const char text[] = "The cat SAT on the mat! [UNK] Cat's";
  REQUIRE(tokenize(&list, text, sizeof(text) - 1) == 0);
  int32_t ids[16];
  REQUIRE(list.n == 8);
  encoder_token_ids(&enc, &list, ids);
  static const int32_t expected[8] = {2, 3, 4, CLAIM_OOV, 2, CLAIM_OOV,
                                      CLAIM_OOV, CLAIM_OOV};
  for (int i = 0; i < 8; i++) CHECK_INT(ids[i], expected[i]);
  token_list_free(&list);
  encoder_free(&enc);
}

/* Writes the sparse features of ids as a dense row of width columns. */
static int dense_text(const Encoder *enc, const int32_t *ids, int n_ids,
                      float *row, int width) {
  int32_t column[64];
  float value[64];
  unsigned char seen[64] = {0};
  int n = encoder_text(enc, ids, n_ids, column, value, seen);
  for (int i = 0; i < width; i++) row[i] = 0.0f;
  for (int k = 0; k < n; k++)
    if (column[k] >= 0 && column[k] < width) row[column[k]] += value[k];
  return n;
}

static void test_sequence_padding_and_truncation(void) {
  Encoder enc;
  REQUIRE(encoder_setup(&enc, TEXT_SEQUENCE, 4) == 0);
  float row[4];

  /* Shorter than sequence_length: the rest is padding (0). */
  static const int32_t short_ids[] = {2, CLAIM_OOV, 3};
  CHECK_INT(dense_text(&enc, short_ids, 3, row, 4), 3);
  CHECK_DOUBLE(row[0], 2.0f);
  CHECK_DOUBLE(row[1], 1.0f);
  CHECK_DOUBLE(row[2], 3.0f);
  CHECK_DOUBLE(row[3], 0.0f);

  /* Longer: the first sequence_length ids, in order, repeats kept. */
  static const int32_t long_ids[] = {4, 3, 3, 2, 4, 1, 1};
  CHECK_INT(dense_text(&enc, long_ids, 7, row, 4), 4);
  CHECK_DOUBLE(row[0], 4.0f);
  CHECK_DOUBLE(row[1], 3.0f);
  CHECK_DOUBLE(row[2], 3.0f);
  CHECK_DOUBLE(row[3], 2.0f);

  /* The columns are the positions, in order. */
  int32_t ids[7], column[7];
  float value[7];
  memcpy(ids, long_ids, sizeof(long_ids));
  CHECK_INT(encoder_text(&enc, ids, 7, column, value, NULL), 4);
  for (int p = 0; p < 4; p++) CHECK_INT(column[p], p);

  /* No tokens: no entries. */
  CHECK_INT(encoder_text(&enc, ids, 0, column, value, NULL), 0);
  encoder_free(&enc);
}

static void test_bag_of_words_weights(void) {
  Encoder enc;
  REQUIRE(encoder_setup(&enc, TEXT_BAG, 0) == 0);
  int32_t column[16];
  float value[16];
  unsigned char seen[8] = {0};
  static const unsigned char all_clear[8] = {0};

  /* Distinct ids, ascending, each weighted 1/sqrt(3). */
  int32_t ids[] = {4, 2, 4, CLAIM_OOV, 2};
  CHECK_INT(encoder_text(&enc, ids, 5, column, value, seen), 3);
  CHECK_INT(column[0], CLAIM_OOV);
  CHECK_INT(column[1], 2);
  CHECK_INT(column[2], 4);
  for (int i = 0; i < 3; i++) CHECK_DOUBLE(value[i], 0.57735026918962576f);
  CHECK(memcmp(seen, all_clear, sizeof(seen)) == 0);

  /* Padding is never a column. */
  int32_t padded[] = {CLAIM_PAD, 5, CLAIM_PAD};
  CHECK_INT(encoder_text(&enc, padded, 3, column, value, seen), 1);
  CHECK_INT(column[0], 5);

  int32_t repeated[] = {3, 3, 3};
  CHECK_INT(encoder_text(&enc, repeated, 3, column, value, seen), 1);
  CHECK_INT(column[0], 3);
  CHECK_DOUBLE(value[0], 1.0f);

  int32_t two[] = {CLAIM_OOV, 3};
  CHECK_INT(encoder_text(&enc, two, 2, column, value, seen), 2);
  CHECK_DOUBLE(value[0], 0.70710678118654752f);
  CHECK_DOUBLE(value[1], 0.70710678118654752f);

  CHECK_INT(encoder_text(&enc, ids, 0, column, value, seen), 0);
  CHECK(memcmp(seen, all_clear, sizeof(seen)) == 0);
  encoder_free(&enc);
}

static void test_bag_of_words_long_rows(void) {
  /* Rows of every length up to 1000, against the distinct ids in
  ** ascending order, worked out with a separate bitmap. Rows past 64
  ** distinct ids take the Shell sort. */
  enum { MAX_IDS = 1000, MAX_ID = 300 };
  Encoder enc;
  REQUIRE(encoder_setup(&enc, TEXT_BAG, 0) == 0);
  int32_t *ids = malloc(MAX_IDS * sizeof(int32_t));
  int32_t *column = malloc(MAX_IDS * sizeof(int32_t));
  int32_t *expected = malloc(MAX_IDS * sizeof(int32_t));
  float *value = malloc(MAX_IDS * sizeof(float));
  unsigned char *seen = calloc(MAX_ID, 1);
  if (!CHECK(ids && column && expected && value && seen)) goto done;

  Rng rng;
  rng_seed(&rng, 5);
  int wrong_rows = 0;
  for (int n = 0; n <= MAX_IDS; n += n < 40 ? 1 : 37) {
    unsigned char present[MAX_ID] = {0};
    for (int i = 0; i < n; i++) {
      ids[i] = 1 + (int32_t)rng_below(&rng, MAX_ID - 1);
      present[ids[i]] = 1;
    }
    int distinct = 0;
    for (int id = 0; id < MAX_ID; id++)
      if (present[id]) expected[distinct++] = id;
    float weight = distinct ? (float)(1.0 / sqrt((double)distinct)) : 0.0f;

    int written = encoder_text(&enc, ids, n, column, value, seen);
    int ok = written == distinct;
    for (int k = 0; ok && k < written; k++)
      ok = column[k] == expected[k] && value[k] == weight;
    for (int id = 0; ok && id < MAX_ID; id++) ok = seen[id] == 0;
    if (!ok) wrong_rows++;
  }
  CHECK_INT(wrong_rows, 0);

done:
  free(ids);
  free(column);
  free(expected);
  free(value);
  free(seen);
  encoder_free(&enc);
}

int main(void) {
  RUN(test_fit_mean_and_population_variance);
  RUN(test_fit_one_and_zero_rows);
  RUN(test_set_scale);
  RUN(test_tabular_normalizes_counts);
  RUN(test_log1p_transform);
  RUN(test_one_hot_categories);
  RUN(test_text_width);
  RUN(test_token_ids_map_unknown_to_oov);
  RUN(test_sequence_padding_and_truncation);
  RUN(test_bag_of_words_weights);
  RUN(test_bag_of_words_long_rows);
  return unit_summary();
}
