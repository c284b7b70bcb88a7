/*
** libFuzzer target for the tokenizer, the interning table, the ranked
** vocabulary and the text encoder (ext/text.c, ext/encoder.c) on arbitrary
** bytes, invalid UTF-8 and NUL bytes included.
**
**   make fuzz                  (builds and runs it; see the Makefile)
**
** The first input byte sets the options: bit 0 reserves the padding and
** OOV ids, bit 1 picks the sequence text mode over bag of words, bits 2-7
** give the vocabulary's maximum size (0 means no limit). The rest is the
** transcript. Besides running under ASan and UBSan, the target checks
** these properties and calls abort() when one fails:
**   1. Tokens are non-empty, in order, do not overlap, and contain no
**      ASCII whitespace, punctuation or upper-case letter.
**   2. The tokens, concatenated, equal the input with punctuation and
**      whitespace removed and ASCII letters lowercased.
**   3. interner_find() returns the id that interner_add() gave.
**   4. vocabulary_find() returns the id that vocabulary_rank() gave each
**      kept string and -1 for the others, and kept counts do not increase.
**   5. encoder_token_ids() gives ids from 1 (OOV) to size - 1, and
**      encoder_text() writes columns inside the text width; for bag of
**      words, every non-padding id once and in ascending order, leaving its
**      scratch bytes at zero.
*/
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "encoder.h"
#include "text.h"

#define REQUIRE(condition)                                               \
  do {                                                                   \
    if (!(condition)) {                                                  \
      fprintf(stderr, "fuzz_tokenizer: %s:%d: %s is false\n", __FILE__,  \
              __LINE__, #condition);                                     \
      abort();                                                           \
    }                                                                    \
  } while (0)

static int is_ascii_upper(unsigned char c) {
  return c >= 'A' && c <= 'Z';
}

static int is_ascii_space(unsigned char c) {
  return c == ' ' || (c >= '\t' && c <= '\r');
}

static int is_ascii_punctuation(unsigned char c) {
  return c < 128 && strchr("!\"#$%&()*+,-./:;<=>?@[\\]^_`{|}~'", c) && c;
}

/* Checks properties 1 and 2. */
static void check_tokens(const TokenList *list, const unsigned char *text,
                         size_t n) {
  size_t expected = 0;
  int end = 0;
  for (int i = 0; i < list->n; i++) {
    REQUIRE(list->length[i] > 0);
    REQUIRE(list->start[i] >= end);
    end = list->start[i] + list->length[i];
    const unsigned char *token =
        (const unsigned char *)list->text + list->start[i];
    for (int k = 0; k < list->length[i]; k++) {
      unsigned char c = token[k];
      REQUIRE(!is_ascii_space(c));
      REQUIRE(!is_ascii_punctuation(c));
      REQUIRE(!is_ascii_upper(c));
      /* Advance the input past the bytes the tokenizer drops. */
      while (expected < n && (is_ascii_space(text[expected]) ||
                              is_ascii_punctuation(text[expected])))
        expected++;
      REQUIRE(expected < n);
      unsigned char original = text[expected++];
      if (original >= 'A' && original <= 'Z') original += 'a' - 'A';
      REQUIRE(c == original);
    }
  }
  while (expected < n && (is_ascii_space(text[expected]) ||
                          is_ascii_punctuation(text[expected])))
    expected++;
  REQUIRE(expected == n);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  /* Kept across inputs, as a connection keeps it across rows. */
  static TokenList list;
  if (size == 0) return 0;
  int reserve = data[0] & 1;
  int sequence = (data[0] >> 1) & 1;
  int max_size = data[0] >> 2;
  const char *text = (const char *)data + 1;
  size_t n = size - 1;

  REQUIRE(tokenize(&list, text, n) == 0);
  check_tokens(&list, (const unsigned char *)text, n);

  /* Property 3. */
  Interner table;
  memset(&table, 0, sizeof(table));
  int64_t *count = calloc((size_t)list.n + 1, sizeof(int64_t));
  int64_t *first_use = calloc((size_t)list.n + 1, sizeof(int64_t));
  int *map = calloc((size_t)list.n + 1, sizeof(int));
  REQUIRE(count != 0);
  REQUIRE(first_use != 0);
  REQUIRE(map != 0);
  for (int i = 0; i < list.n; i++) {
    const char *token = list.text + list.start[i];
    size_t length = (size_t)list.length[i];
    int id = interner_add(&table, token, length);
    REQUIRE(id >= 0);
    REQUIRE(id <= i);
    REQUIRE(interner_find(&table, token, length) == id);
    if (count[id]++ == 0) first_use[id] = i;
  }

  /* Property 4. */
  Encoder enc;
  memset(&enc, 0, sizeof(enc));
  REQUIRE(vocabulary_rank(&enc.text, &table, count, first_use, reserve,
                          max_size, map) == 0);
  int64_t previous = INT64_MAX;
  for (int id = 0; id < table.n; id++) {
    const char *s = table.arena + table.offset[id];
    int found = vocabulary_find(&enc.text, s, table.length[id]);
    REQUIRE(found == map[id]);
    if (map[id] >= 0) REQUIRE(enc.text.count[map[id]] == count[id]);
  }
  for (int v = reserve ? 2 : 0; v < enc.text.size; v++) {
    REQUIRE(enc.text.count[v] <= previous);
    previous = enc.text.count[v];
  }

  /* Property 5, on a vocabulary that has the padding and OOV ids. */
  if (reserve) {
    enc.text_mode = sequence ? TEXT_SEQUENCE : TEXT_BAG;
    enc.sequence_length = 1 + (int)(n % 37);
    int32_t *ids = malloc(((size_t)list.n + 1) * sizeof(int32_t));
    int32_t *column = malloc(((size_t)list.n + 1) * sizeof(int32_t));
    float *value = malloc(((size_t)list.n + 1) * sizeof(float));
    REQUIRE(ids != 0);
    REQUIRE(column != 0);
    REQUIRE(value != 0);
    int width = encoder_text_width(&enc);
    unsigned char *seen = calloc((size_t)width + 1, 1);
    REQUIRE(seen != 0);
    encoder_token_ids(&enc, &list, ids);
    for (int i = 0; i < list.n; i++) {
      REQUIRE(ids[i] >= CLAIM_OOV);
      REQUIRE(ids[i] < enc.text.size);
    }
    int written = encoder_text(&enc, ids, list.n, column, value, seen);
    REQUIRE(written >= 0);
    REQUIRE(written <= list.n);
    for (int i = 0; i < written; i++) {
      REQUIRE(column[i] >= 0);
      REQUIRE(column[i] < width);
      REQUIRE(isfinite(value[i]));
      REQUIRE(value[i] > 0);
      if (!sequence) {
        REQUIRE(i == 0 || column[i - 1] < column[i]);
        seen[column[i]] = 1;
      }
    }
    for (int i = 0; i < list.n && !sequence; i++)
      REQUIRE(ids[i] == CLAIM_PAD || seen[ids[i]] == 1);
    for (int i = 0; i < written && !sequence; i++) seen[column[i]] = 0;
    for (int i = 0; i <= width; i++) REQUIRE(seen[i] == 0);
    free(seen);
    free(ids);
    free(column);
    free(value);
  }

  encoder_free(&enc);
  interner_free(&table);
  free(count);
  free(first_use);
  free(map);
  return 0;
}
