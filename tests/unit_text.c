/*
** Unit tests of text vectorization (ext/text.c): the tokenizer, the
** interning table, vocabulary ranking and lookup, and the hash.
*/
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "text.h"
#include "unit.h"

/* ---- Tokenizer --------------------------------------------------------- */

static TokenList tokens;     /* reused by every tokenizer test */

/*
** Tokenizes text[0..n) and compares the tokens, joined by '|', with
** expected[0..n_expected). '|' never occurs in a token because the
** tokenizer removes it, so the joined form is unambiguous.
*/
static int check_tokens(const char *text, size_t n, const char *expected,
                        size_t n_expected, const char *file, int line) {
  static char joined[4096];
  size_t used = 0;
  int rc = tokenize(&tokens, text, n);
  for (int i = 0; rc == 0 && i < tokens.n; i++) {
    size_t length = (size_t)tokens.length[i];
    if (used + length + 1 > sizeof(joined)) break;
    if (i > 0) joined[used++] = '|';
    memcpy(joined + used, tokens.text + tokens.start[i], length);
    used += length;
  }
  if (rc == 0 && used == n_expected && memcmp(joined, expected, used) == 0)
    return 1;
  unit_fail(file, line, "tokenize(");
  unit_print_bytes(text, n);
  printf(")");
  if (rc != 0) {
    printf(" returned %d\n", rc);
    return 0;
  }
  printf(" is ");
  unit_print_bytes(joined, used);
  printf(", expected ");
  unit_print_bytes(expected, n_expected);
  putchar('\n');
  return 0;
}

/* Text and expected tokens as string literals, which may contain NUL. */
#define CHECK_TOKENS(text, expected) \
  check_tokens((text), sizeof(text) - 1, (expected), sizeof(expected) - 1, \
               __FILE__, __LINE__)

static void test_tokenize_lowercases_ascii(void) {
  CHECK_TOKENS("Hello World", "hello|world");
  CHECK_TOKENS("ABCDEFGHIJKLMNOPQRSTUVWXYZ abcdefghijklmnopqrstuvwxyz",
               "abcdefghijklmnopqrstuvwxyz|abcdefghijklmnopqrstuvwxyz");
  CHECK_TOKENS("0123456789 A1b2", "0123456789|a1b2");
}

static void test_tokenize_removes_punctuation(void) {
  /* The 32 ASCII punctuation characters, Python's string.punctuation. */
  static const char punctuation[] = "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~";
  REQUIRE(sizeof(punctuation) - 1 == 32);
  for (int i = 0; i < 32; i++) {
    /* Inside a word it joins the halves; alone it leaves no token. */
    char inside[4] = {'a', punctuation[i], 'b', 0};
    check_tokens(inside, 3, "ab", 2, __FILE__, __LINE__);
    char alone[6] = {'x', ' ', punctuation[i], punctuation[i], ' ', 'y'};
    check_tokens(alone, 6, "x|y", 3, __FILE__, __LINE__);
  }
  CHECK_TOKENS("well-known e.g. U.S.A. (see: #1)", "wellknown|eg|usa|see|1");
}

static void test_tokenize_keeps_other_ascii(void) {
  /* Control characters other than whitespace, DEL and NUL stay inside a
  ** token; only space, \t, \n, \v, \f and \r split. */
  CHECK_TOKENS("a\x01" "b\x1c" "c\x1f" "d\x7f" "e", "a\x01" "b\x1c" "c\x1f"
               "d\x7f" "e");
  CHECK_TOKENS("a\0b c\0", "a\0b|c\0");
}

static void test_tokenize_apostrophes(void) {
  CHECK_TOKENS("Don't it's 'quoted' rock'n'roll",
               "dont|its|quoted|rocknroll");
  CHECK_TOKENS("' '' '", "");
}

static void test_tokenize_whitespace_kinds(void) {
  CHECK_TOKENS("a\tb\nc\vd\fe\rf g", "a|b|c|d|e|f|g");
  CHECK_TOKENS("  a    b \t\n\v\f\r c   ", "a|b|c");
  CHECK_TOKENS(" \t\n\v\f\r ", "");
}

static void test_tokenize_empty_and_punctuation_only(void) {
  CHECK_TOKENS("", "");
  CHECK_INT(tokens.n, 0);
  CHECK_TOKENS("!!! ... ???", "");
  CHECK_INT(tokens.n, 0);
  CHECK_TOKENS("...", "");
  CHECK_INT(tokens.n, 0);
  /* The standardized text of an empty input is the empty string. */
  CHECK_TOKENS("", "");
  CHECK_STR(tokens.text, "");
}

static void test_tokenize_non_ascii_bytes(void) {
  /* UTF-8 is kept byte for byte, and non-ASCII letters keep their case. */
  CHECK_TOKENS("Caf\xc3\xa9 NA\xc3\x8fVE \xc3\x80" "B",
               "caf\xc3\xa9|na\xc3\x8fve|\xc3\x80" "b");
  /* Invalid UTF-8: stray continuation bytes, 0xff/0xfe, a sequence cut
  ** off at the end of the input. */
  CHECK_TOKENS("a\xff\xfe" "B \x80x \xe2\x82", "a\xff\xfe" "b|\x80x|\xe2\x82");
  /* Non-breaking space (U+00A0) is not ASCII whitespace. */
  CHECK_TOKENS("a\xc2\xa0" "b", "a\xc2\xa0" "b");
}

static void test_tokenize_reads_only_n_bytes(void) {
  check_tokens("abc def", 5, "abc|d", 5, __FILE__, __LINE__);
  check_tokens("abc def", 0, "", 0, __FILE__, __LINE__);
}

static void test_tokenize_reuses_list(void) {
  CHECK_TOKENS("one two three four five six", "one|two|three|four|five|six");
  CHECK_INT(tokens.n, 6);
  CHECK_TOKENS("Seven", "seven");
  CHECK_INT(tokens.n, 1);
  CHECK_INT(tokens.start[0], 0);
  CHECK_INT(tokens.length[0], 5);
}

static void test_tokenize_hashes_match(void) {
  const char *input = "Someone READ, in the media: that $475 isn't\tmuch";
  CHECK_INT(tokenize(&tokens, input, strlen(input)), 0);
  CHECK_INT(tokens.n, 9);
  int wrong = 0;
  for (int i = 0; i < tokens.n; i++)
    if (tokens.hash[i] != hash_bytes(tokens.text + tokens.start[i],
                                     (size_t)tokens.length[i]))
      wrong++;
  CHECK_INT(wrong, 0);
}

static void test_tokenize_one_megabyte(void) {
  enum { MEGABYTE = 1 << 20 };
  char *text = malloc(MEGABYTE);
  REQUIRE(text != NULL);

  /* 262144 copies of "Ab, ": as many tokens "ab", stored back to back. */
  for (int i = 0; i < MEGABYTE; i += 4) memcpy(text + i, "Ab, ", 4);
  CHECK_INT(tokenize(&tokens, text, MEGABYTE), 0);
  CHECK_INT(tokens.n, MEGABYTE / 4);
  int wrong = 0;
  for (int i = 0; i < tokens.n; i++)
    if (tokens.start[i] != 2 * i || tokens.length[i] != 2 ||
        memcmp(tokens.text + tokens.start[i], "ab", 2) != 0)
      wrong++;
  CHECK_INT(wrong, 0);

  /* One token of a megabyte. */
  memset(text, 'X', MEGABYTE);
  CHECK_INT(tokenize(&tokens, text, MEGABYTE), 0);
  CHECK_INT(tokens.n, 1);
  CHECK_INT(tokens.start[0], 0);
  CHECK_INT(tokens.length[0], MEGABYTE);
  CHECK_INT(tokens.text[0], 'x');
  CHECK_INT(tokens.text[MEGABYTE - 1], 'x');
  CHECK_INT(tokens.text[MEGABYTE], 0);
  free(text);
}

/* ---- Hash -------------------------------------------------------------- */

static void test_hash_bytes_is_fnv1a(void) {
  /* Reference values of 64-bit FNV-1a. */
  CHECK_U64(hash_bytes("", 0), 0xcbf29ce484222325ull);
  CHECK_U64(hash_bytes("a", 1), 0xaf63dc4c8601ec8cull);
  CHECK_U64(hash_bytes("foobar", 6), 0x85944171f73967e8ull);
  CHECK_U64(hash_bytes("a\0b", 3), 0xe5d29919042666b2ull);
}

/* ---- Interner ---------------------------------------------------------- */

static void test_interner_ids_in_first_appearance_order(void) {
  Interner table;
  memset(&table, 0, sizeof(table));
  CHECK_INT(interner_find(&table, "x", 1), -1);

  CHECK_INT(interner_add(&table, "cat", 3), 0);
  CHECK_INT(interner_add(&table, "dog", 3), 1);
  CHECK_INT(interner_add(&table, "cat", 3), 0);
  CHECK_INT(interner_add(&table, "", 0), 2);
  CHECK_INT(interner_add(&table, "ca", 2), 3);
  CHECK_INT(interner_add(&table, "cats", 4), 4);
  CHECK_INT(interner_add(&table, "", 0), 2);
  CHECK_INT(table.n, 5);

  CHECK_INT(interner_find(&table, "dog", 3), 1);
  CHECK_INT(interner_find(&table, "", 0), 2);
  CHECK_INT(interner_find(&table, "catsup", 3), 0);
  CHECK_INT(interner_find(&table, "bird", 4), -1);
  CHECK_INT(interner_find(&table, "c", 1), -1);

  /* The arena contains each string, NUL-terminated. */
  CHECK_STR(table.arena + table.offset[4], "cats");
  CHECK_INT(table.length[4], 4);
  CHECK_INT(table.length[2], 0);
  interner_free(&table);
  CHECK_INT(table.n, 0);
}

static void test_interner_embedded_nul(void) {
  Interner table;
  memset(&table, 0, sizeof(table));
  CHECK_INT(interner_add(&table, "a", 1), 0);
  CHECK_INT(interner_add(&table, "a\0b", 3), 1);
  CHECK_INT(interner_add(&table, "a\0", 2), 2);
  CHECK_INT(interner_add(&table, "a\0b", 3), 1);
  CHECK_INT(interner_find(&table, "a\0c", 3), -1);
  CHECK_MEM(table.arena + table.offset[1], table.length[1], "a\0b", 3);
  interner_free(&table);
}

static void test_interner_growth(void) {
  enum { N = 5000 };
  Interner table;
  memset(&table, 0, sizeof(table));
  char s[32];
  int wrong = 0;
  for (int i = 0; i < N; i++) {
    int n = snprintf(s, sizeof(s), "token%d", i);
    if (interner_add(&table, s, (size_t)n) != i) wrong++;
  }
  CHECK_INT(wrong, 0);
  CHECK_INT(table.n, N);
  CHECK(table.n_slot >= 2 * N);

  /* After every table and arena reallocation, each string is intact. */
  for (int i = 0; i < N; i++) {
    int n = snprintf(s, sizeof(s), "token%d", i);
    if (interner_find(&table, s, (size_t)n) != i ||
        strcmp(table.arena + table.offset[i], s) != 0)
      wrong++;
  }
  CHECK_INT(wrong, 0);

  /* A string longer than the arena's first block. */
  char *long_string = malloc(100000);
  if (CHECK(long_string != NULL)) {
    memset(long_string, 'q', 100000);
    CHECK_INT(interner_add(&table, long_string, 100000), N);
    CHECK_INT(interner_find(&table, long_string, 100000), N);
    CHECK_INT(interner_find(&table, long_string, 99999), -1);
    free(long_string);
  }
  interner_free(&table);
}

/* ---- Vocabulary -------------------------------------------------------- */

/*
** Interned strings with training counts and first uses. Ranked: "the"
** (5), then the count-2 strings by first use, "cat" (1), "mat" (2), "sat"
** (3), which is not their interning order, then "on" (1). "unused" has
** count 0.
*/
static const char *const rank_string[] = {"the", "cat", "sat", "on", "mat",
                                          "unused"};
static const int64_t rank_count[] = {5, 2, 2, 1, 2, 0};
static const int64_t rank_first_use[] = {0, 1, 3, 4, 2, INT64_MAX};
enum { N_RANK = 6 };

static int rank_strings(Vocabulary *vocab, int reserve, int max_size,
                        int *map) {
  Interner table;
  memset(&table, 0, sizeof(table));
  memset(vocab, 0, sizeof(*vocab));
  for (int i = 0; i < N_RANK; i++)
    if (interner_add(&table, rank_string[i], strlen(rank_string[i])) != i) {
      interner_free(&table);
      return -1;
    }
  int rc = vocabulary_rank(vocab, &table, rank_count, rank_first_use,
                           reserve, max_size, map);
  interner_free(&table);
  return rc;
}

static void test_vocabulary_rank_order(void) {
  Vocabulary vocab;
  int map[N_RANK];
  REQUIRE(rank_strings(&vocab, 1, 0, map) == 0);

  static const char *const expected[] = {"", "[UNK]", "the", "cat", "mat",
                                         "sat", "on"};
  static const int64_t expected_count[] = {0, 0, 5, 2, 2, 2, 1};
  CHECK_INT(vocab.size, 7);
  for (int i = 0; i < vocab.size && i < 7; i++) {
    CHECK_STR(vocab.token[i], expected[i]);
    CHECK_INT(vocab.count[i], expected_count[i]);
  }
  static const int expected_map[N_RANK] = {2, 3, 5, 6, 4, -1};
  for (int i = 0; i < N_RANK; i++) CHECK_INT(map[i], expected_map[i]);
  vocabulary_free(&vocab);
  CHECK_INT(vocab.size, 0);
}

static void test_vocabulary_rank_max_size_reserved(void) {
  /* With padding and OOV reserved, max_size counts them: 5 keeps 3. The
  ** cut falls inside the count-2 tie, which first use decides. */
  Vocabulary vocab;
  int map[N_RANK];
  REQUIRE(rank_strings(&vocab, 1, 5, map) == 0);
  CHECK_INT(vocab.size, 5);
  if (vocab.size == 5) {
    CHECK_STR(vocab.token[0], "");
    CHECK_STR(vocab.token[1], "[UNK]");
    CHECK_STR(vocab.token[2], "the");
    CHECK_STR(vocab.token[3], "cat");
    CHECK_STR(vocab.token[4], "mat");
  }
  static const int expected_map[N_RANK] = {2, 3, -1, -1, 4, -1};
  for (int i = 0; i < N_RANK; i++) CHECK_INT(map[i], expected_map[i]);
  vocabulary_free(&vocab);

  /* max_size 3 keeps only the most frequent string; 2 keeps none. */
  REQUIRE(rank_strings(&vocab, 1, 3, map) == 0);
  CHECK_INT(vocab.size, 3);
  CHECK_INT(map[0], 2);
  for (int i = 1; i < N_RANK; i++) CHECK_INT(map[i], -1);
  vocabulary_free(&vocab);

  REQUIRE(rank_strings(&vocab, 1, 2, map) == 0);
  CHECK_INT(vocab.size, 2);
  for (int i = 0; i < N_RANK; i++) CHECK_INT(map[i], -1);
  vocabulary_free(&vocab);

  /* A limit above the number of strings keeps them all. */
  REQUIRE(rank_strings(&vocab, 1, 100, map) == 0);
  CHECK_INT(vocab.size, 7);
  vocabulary_free(&vocab);
}

static void test_vocabulary_rank_categories(void) {
  /* Without reserved entries, ids start at 0 and max_size counts strings. */
  Vocabulary vocab;
  int map[N_RANK];
  REQUIRE(rank_strings(&vocab, 0, 0, map) == 0);
  CHECK_INT(vocab.size, 5);
  static const int expected_map[N_RANK] = {0, 1, 3, 4, 2, -1};
  for (int i = 0; i < N_RANK; i++) CHECK_INT(map[i], expected_map[i]);
  if (vocab.size == 5) {
    CHECK_STR(vocab.token[0], "the");
    CHECK_STR(vocab.token[4], "on");
  }
  vocabulary_free(&vocab);

  REQUIRE(rank_strings(&vocab, 0, 2, map) == 0);
  CHECK_INT(vocab.size, 2);
  static const int cut_map[N_RANK] = {0, 1, -1, -1, -1, -1};
  for (int i = 0; i < N_RANK; i++) CHECK_INT(map[i], cut_map[i]);
  vocabulary_free(&vocab);
}

static void test_vocabulary_rank_empty(void) {
  Interner table;
  Vocabulary vocab;
  memset(&table, 0, sizeof(table));
  memset(&vocab, 0, sizeof(vocab));
  int map[1] = {12345};
  CHECK_INT(vocabulary_rank(&vocab, &table, NULL, NULL, 1, 10, map), 0);
  CHECK_INT(vocab.size, 2);
  CHECK_INT(map[0], 12345);
  vocabulary_free(&vocab);
  CHECK_INT(vocabulary_rank(&vocab, &table, NULL, NULL, 0, 10, map), 0);
  CHECK_INT(vocab.size, 0);
  CHECK_INT(vocabulary_find(&vocab, "a", 1), -1);
  vocabulary_free(&vocab);
}

static void test_vocabulary_find(void) {
  Vocabulary vocab;
  int map[N_RANK];
  REQUIRE(rank_strings(&vocab, 1, 0, map) == 0);
  CHECK_INT(vocabulary_find(&vocab, "the", 3), 2);
  CHECK_INT(vocabulary_find(&vocab, "on", 2), 6);
  CHECK_INT(vocabulary_find(&vocab, "", 0), CLAIM_PAD);
  CHECK_INT(vocabulary_find(&vocab, "[UNK]", 5), CLAIM_OOV);

  /* Missing tokens, prefixes and extensions of stored tokens. */
  CHECK_INT(vocabulary_find(&vocab, "dog", 3), -1);
  CHECK_INT(vocabulary_find(&vocab, "unused", 6), -1);
  CHECK_INT(vocabulary_find(&vocab, "th", 2), -1);
  CHECK_INT(vocabulary_find(&vocab, "then", 4), -1);
  CHECK_INT(vocabulary_find(&vocab, "then", 3), 2);
  CHECK_INT(vocabulary_find(&vocab, "The", 3), -1);

  /* A NUL byte inside never matches, even after a stored token. */
  CHECK_INT(vocabulary_find(&vocab, "the\0", 4), -1);
  CHECK_INT(vocabulary_find(&vocab, "c\0at", 4), -1);
  CHECK_INT(vocabulary_find(&vocab, "\0", 1), -1);
  vocabulary_free(&vocab);

  Vocabulary empty;
  memset(&empty, 0, sizeof(empty));
  CHECK_INT(vocabulary_find(&empty, "the", 3), -1);
  CHECK_INT(vocabulary_find(&empty, "", 0), -1);
}

static void test_vocabulary_append_growth_and_duplicates(void) {
  Vocabulary vocab;
  memset(&vocab, 0, sizeof(vocab));
  char s[16];
  for (int i = 0; i < 300; i++) {
    int n = snprintf(s, sizeof(s), "w%d", i);
    REQUIRE(vocabulary_append(&vocab, s, (size_t)n, i) == 0);
  }
  int wrong = 0;
  for (int i = 0; i < 300; i++) {
    int n = snprintf(s, sizeof(s), "w%d", i);
    if (vocabulary_find(&vocab, s, (size_t)n) != i || vocab.count[i] != i)
      wrong++;
  }
  CHECK_INT(wrong, 0);
  CHECK(vocab.n_slot >= 2 * vocab.size);

  /* A duplicate takes an id, but lookups keep returning the first one. */
  REQUIRE(vocabulary_append(&vocab, "w7", 2, 99) == 0);
  CHECK_INT(vocab.size, 301);
  CHECK_STR(vocab.token[300], "w7");
  CHECK_INT(vocabulary_find(&vocab, "w7", 2), 7);
  vocabulary_free(&vocab);
}

/*
** Training encodes a token through the ranking's map and prediction through
** vocabulary_find, so the two must agree on every kept string. A
** transcript with a NUL byte yields a token with a NUL inside (see
** test_tokenize_keeps_other_ascii). "ab\0ac" is chosen so that its hash
** slot is the slot of "ab" in the 64-slot table, which makes the append
** compare the two.
*/
static void test_vocabulary_rank_agrees_with_find(void) {
  static const char *const string[] = {"ab", "ab\0ac", "zz"};
  static const size_t length[] = {2, 5, 2};
  static const int64_t count[] = {3, 2, 1};
  static const int64_t first_use[] = {0, 1, 2};
  CHECK_INT(hash_bytes("ab", 2) & 63, hash_bytes("ab\0ac", 5) & 63);

  Interner table;
  Vocabulary vocab;
  memset(&table, 0, sizeof(table));
  memset(&vocab, 0, sizeof(vocab));
  for (int i = 0; i < 3; i++)
    REQUIRE(interner_add(&table, string[i], length[i]) == i);
  int map[3];
  REQUIRE(vocabulary_rank(&vocab, &table, count, first_use, 1, 0, map) == 0);
  for (int i = 0; i < 3; i++) {
    if (map[i] < 0) continue;
    if (!CHECK_INT(vocabulary_find(&vocab, string[i], length[i]), map[i]))
      printf("  (string %d of length %zu)\n", i, length[i]);
  }
  /* Whatever the fix, "ab" and "zz" keep working. */
  CHECK_INT(vocabulary_find(&vocab, "ab", 2), 2);
  CHECK_INT(vocabulary_find(&vocab, "zz", 2), map[2]);
  vocabulary_free(&vocab);
  interner_free(&table);
}

int main(void) {
  RUN(test_tokenize_lowercases_ascii);
  RUN(test_tokenize_removes_punctuation);
  RUN(test_tokenize_keeps_other_ascii);
  RUN(test_tokenize_apostrophes);
  RUN(test_tokenize_whitespace_kinds);
  RUN(test_tokenize_empty_and_punctuation_only);
  RUN(test_tokenize_non_ascii_bytes);
  RUN(test_tokenize_reads_only_n_bytes);
  RUN(test_tokenize_reuses_list);
  RUN(test_tokenize_hashes_match);
  RUN(test_tokenize_one_megabyte);
  RUN(test_hash_bytes_is_fnv1a);
  RUN(test_interner_ids_in_first_appearance_order);
  RUN(test_interner_embedded_nul);
  RUN(test_interner_growth);
  RUN(test_vocabulary_rank_order);
  RUN(test_vocabulary_rank_max_size_reserved);
  RUN(test_vocabulary_rank_categories);
  RUN(test_vocabulary_rank_empty);
  RUN(test_vocabulary_find);
  RUN(test_vocabulary_append_growth_and_duplicates);
  RUN(test_vocabulary_rank_agrees_with_find);
  token_list_free(&tokens);
  return unit_summary();
}
