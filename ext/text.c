/*
** Text vectorization: tokenizer, interning table and ranked vocabularies.
**
** The tokenizer reproduces the standardization of Keras' TextVectorization
** with its default "lower_and_strip_punctuation" and whitespace split, for
** ASCII input. Non-ASCII bytes are never changed or split, so invalid UTF-8
** is carried through as opaque bytes and never read past its length.
*/
#include "text.h"

#include <stdlib.h>
#include <string.h>

/* What the tokenizer does with each byte: keep it, drop it (punctuation),
** or end a token (ASCII whitespace). */
enum { BYTE_KEEP = 0, BYTE_DROP = 1, BYTE_SPACE = 2 };

static const unsigned char byte_class[256] = {
  ['!'] = 1, ['"'] = 1, ['#'] = 1, ['$'] = 1, ['%'] = 1, ['&'] = 1,
  ['('] = 1, [')'] = 1, ['*'] = 1, ['+'] = 1, [','] = 1, ['-'] = 1,
  ['.'] = 1, ['/'] = 1, [':'] = 1, [';'] = 1, ['<'] = 1, ['='] = 1,
  ['>'] = 1, ['?'] = 1, ['@'] = 1, ['['] = 1, ['\\'] = 1, [']'] = 1,
  ['^'] = 1, ['_'] = 1, ['`'] = 1, ['{'] = 1, ['|'] = 1, ['}'] = 1,
  ['~'] = 1, ['\''] = 1,
  [' '] = 2, ['\t'] = 2, ['\n'] = 2, ['\v'] = 2, ['\f'] = 2, ['\r'] = 2,
};

/* FNV-1a, 64 bits. tokenize() computes the same hash as it copies. */
#define FNV_OFFSET 0xcbf29ce484222325ull
#define FNV_PRIME 0x100000001b3ull

uint64_t hash_bytes(const char *s, size_t length) {
  uint64_t h = FNV_OFFSET;
  for (size_t i = 0; i < length; i++) h = (h ^ (unsigned char)s[i]) * FNV_PRIME;
  return h;
}

void token_list_free(TokenList *list) {
  free(list->text);
  free(list->start);
  free(list->length);
  free(list->hash);
  memset(list, 0, sizeof(*list));
}

/* Doubles the token arrays; kept out of line so that the push inlines. */
static int token_list_grow(TokenList *list) {
  int cap = list->cap ? list->cap * 2 : 64;
  int *start_new = realloc(list->start, (size_t)cap * sizeof(int));
  if (!start_new) return -1;
  list->start = start_new;
  int *length_new = realloc(list->length, (size_t)cap * sizeof(int));
  if (!length_new) return -1;
  list->length = length_new;
  uint64_t *hash_new = realloc(list->hash, (size_t)cap * sizeof(uint64_t));
  if (!hash_new) return -1;
  list->hash = hash_new;
  list->cap = cap;
  return 0;
}

static inline int token_list_push(TokenList *list, int start, int length,
                                  uint64_t hash) {
  if (list->n == list->cap && token_list_grow(list)) return -1;
  list->start[list->n] = start;
  list->length[list->n] = length;
  list->hash[list->n] = hash;
  list->n++;
  return 0;
}

int tokenize(TokenList *list, const char *text, size_t n_bytes) {
  list->n = 0;
  /* Token offsets are ints; a longer transcript is cut at 1 GiB. */
  if (n_bytes > (1u << 30)) n_bytes = 1u << 30;
  if (n_bytes + 1 > list->text_cap) {
    char *grown = realloc(list->text, n_bytes + 1);
    if (!grown) return -1;
    list->text = grown;
    list->text_cap = n_bytes + 1;
  }

  /* One pass: drop punctuation, lowercase, and end a token at each run of
  ** whitespace. Tokens are copied back to back into list->text, through a
  ** local pointer: a store through a char pointer may alias any field of
  ** list, which would make the compiler reload them for every byte. */
  char *out = list->text;
  size_t used = 0, start = 0;
  uint64_t hash = FNV_OFFSET;  /* hash_bytes() of the token so far */
  for (size_t i = 0; i < n_bytes; i++) {
    unsigned char c = (unsigned char)text[i];
    int kind = byte_class[c];
    if (kind == BYTE_DROP) continue;
    if (kind == BYTE_SPACE) {
      if (used > start &&
          token_list_push(list, (int)start, (int)(used - start), hash))
        return -1;
      start = used;
      hash = FNV_OFFSET;
      continue;
    }
    /* ASCII uppercase to lowercase, without a branch. */
    c = (unsigned char)(c + (((unsigned)(c - 'A') < 26u) << 5));
    out[used++] = (char)c;
    hash = (hash ^ c) * FNV_PRIME;
  }
  out[used] = 0;
  if (used > start &&
      token_list_push(list, (int)start, (int)(used - start), hash))
    return -1;
  return 0;
}

/* ---- Interner ---------------------------------------------------------- */

void interner_free(Interner *table) {
  free(table->arena);
  free(table->offset);
  free(table->length);
  free(table->slot);
  memset(table, 0, sizeof(*table));
}

static int interner_probe(const Interner *table, const char *s, size_t length,
                          uint64_t h) {
  int mask = table->n_slot - 1;
  int i = (int)(h & (uint64_t)mask);
  for (;;) {
    int id = table->slot[i];
    if (id < 0) return i;
    if (table->length[id] == length &&
        memcmp(table->arena + table->offset[id], s, length) == 0)
      return i;
    i = (i + 1) & mask;
  }
}

static int interner_grow_slots(Interner *table) {
  if (table->n_slot > INT32_MAX / 2) return -1;  /* doubling would overflow */
  int n_slot = table->n_slot ? table->n_slot * 2 : 1024;
  int *slot = malloc((size_t)n_slot * sizeof(int));
  if (!slot) return -1;
  for (int i = 0; i < n_slot; i++) slot[i] = -1;
  free(table->slot);
  table->slot = slot;
  table->n_slot = n_slot;
  for (int id = 0; id < table->n; id++) {
    const char *s = table->arena + table->offset[id];
    int at = interner_probe(table, s, table->length[id],
                            hash_bytes(s, table->length[id]));
    table->slot[at] = id;
  }
  return 0;
}

int interner_find(const Interner *table, const char *s, size_t length) {
  if (table->n_slot == 0) return -1;
  int at = interner_probe(table, s, length, hash_bytes(s, length));
  return table->slot[at];
}

int interner_add_hashed(Interner *table, const char *s, size_t length,
                        uint64_t hash) {
  if (length > UINT32_MAX) return -1;
  if ((table->n + 1) * 2 > table->n_slot && interner_grow_slots(table))
    return -1;
  int at = interner_probe(table, s, length, hash);
  if (table->slot[at] >= 0) return table->slot[at];

  if (table->n == table->cap) {
    if (table->cap > INT32_MAX / 2) return -1;
    int cap = table->cap ? table->cap * 2 : 256;
    size_t *offset = realloc(table->offset, (size_t)cap * sizeof(size_t));
    if (!offset) return -1;
    table->offset = offset;
    uint32_t *len = realloc(table->length, (size_t)cap * sizeof(uint32_t));
    if (!len) return -1;
    table->length = len;
    table->cap = cap;
  }
  if (table->arena_used + length + 1 > table->arena_cap) {
    size_t cap = table->arena_cap ? table->arena_cap * 2 : 4096;
    while (cap < table->arena_used + length + 1) cap *= 2;
    char *arena = realloc(table->arena, cap);
    if (!arena) return -1;
    table->arena = arena;
    table->arena_cap = cap;
  }
  memcpy(table->arena + table->arena_used, s, length);
  table->arena[table->arena_used + length] = 0;
  table->offset[table->n] = table->arena_used;
  table->length[table->n] = (uint32_t)length;
  table->arena_used += length + 1;
  table->slot[at] = table->n;
  return table->n++;
}

int interner_add(Interner *table, const char *s, size_t length) {
  return interner_add_hashed(table, s, length, hash_bytes(s, length));
}

/* ---- Vocabulary -------------------------------------------------------- */

void vocabulary_free(Vocabulary *vocab) {
  for (int i = 0; i < vocab->size; i++) free(vocab->token[i]);
  free(vocab->token);
  free(vocab->length);
  free(vocab->count);
  free(vocab->slot);
  memset(vocab, 0, sizeof(*vocab));
}

static int vocabulary_probe(const Vocabulary *vocab, const char *s,
                            size_t length, uint64_t hash) {
  int mask = vocab->n_slot - 1;
  int i = (int)(hash & (uint64_t)mask);
  for (;;) {
    int id = vocab->slot[i];
    if (id < 0) return i;
    if ((size_t)vocab->length[id] == length &&
        memcmp(vocab->token[id], s, length) == 0)
      return i;
    i = (i + 1) & mask;
  }
}

int vocabulary_find_hashed(const Vocabulary *vocab, const char *token,
                           size_t length, uint64_t hash) {
  if (vocab->n_slot == 0) return -1;
  return vocab->slot[vocabulary_probe(vocab, token, length, hash)];
}

int vocabulary_find(const Vocabulary *vocab, const char *token,
                    size_t length) {
  return vocabulary_find_hashed(vocab, token, length,
                                hash_bytes(token, length));
}

int vocabulary_append(Vocabulary *vocab, const char *token, size_t length,
                      int64_t count) {
  if (length > INT32_MAX) return -1;
  if ((vocab->size + 1) * 2 > vocab->n_slot) {
    int n_slot = vocab->n_slot ? vocab->n_slot * 2 : 64;
    int *slot = malloc((size_t)n_slot * sizeof(int));
    if (!slot) return -1;
    for (int i = 0; i < n_slot; i++) slot[i] = -1;
    free(vocab->slot);
    vocab->slot = slot;
    vocab->n_slot = n_slot;
    for (int id = 0; id < vocab->size; id++)
      vocab->slot[vocabulary_probe(
          vocab, vocab->token[id], (size_t)vocab->length[id],
          hash_bytes(vocab->token[id], (size_t)vocab->length[id]))] = id;
  }
  if (vocab->size == vocab->cap) {
    /* Doubling keeps appending a large vocabulary linear in its size. */
    if (vocab->cap > INT32_MAX / 2) return -1;
    int cap = vocab->cap ? vocab->cap * 2 : 16;
    char **tokens = realloc(vocab->token, (size_t)cap * sizeof(char *));
    if (!tokens) return -1;
    vocab->token = tokens;
    int *lengths = realloc(vocab->length, (size_t)cap * sizeof(int));
    if (!lengths) return -1;
    vocab->length = lengths;
    int64_t *counts = realloc(vocab->count, (size_t)cap * sizeof(int64_t));
    if (!counts) return -1;
    vocab->count = counts;
    vocab->cap = cap;
  }
  char *copy = malloc(length + 1);
  if (!copy) return -1;
  memcpy(copy, token, length);
  copy[length] = 0;

  /* A duplicate (possible only in a damaged stored model) keeps the first
  ** id in the hash table; the entry still occupies its id. */
  int at = vocabulary_probe(vocab, copy, length, hash_bytes(copy, length));
  if (vocab->slot[at] < 0) vocab->slot[at] = vocab->size;
  vocab->token[vocab->size] = copy;
  vocab->length[vocab->size] = (int)length;
  vocab->count[vocab->size] = count;
  vocab->size++;
  return 0;
}

typedef struct RankEntry {
  int id;
  int64_t count;
  int64_t first_use;
} RankEntry;

static int compare_rank(const void *a, const void *b) {
  const RankEntry *x = a, *y = b;
  if (x->count != y->count) return x->count > y->count ? -1 : 1;
  if (x->first_use != y->first_use) return x->first_use < y->first_use ? -1 : 1;
  return 0;
}

int vocabulary_rank(Vocabulary *vocab, const Interner *table,
                    const int64_t *count, const int64_t *first_use,
                    int reserve_pad_oov, int max_size, int *map) {
  int rc = -1;
  RankEntry *entries = malloc((size_t)(table->n ? table->n : 1) *
                              sizeof(RankEntry));
  if (!entries) return -1;

  int n = 0;
  for (int i = 0; i < table->n; i++) {
    map[i] = -1;
    if (count[i] > 0) {
      entries[n].id = i;
      entries[n].count = count[i];
      entries[n].first_use = first_use[i];
      n++;
    }
  }
  qsort(entries, (size_t)n, sizeof(RankEntry), compare_rank);

  int keep = n;
  if (reserve_pad_oov) {
    if (vocabulary_append(vocab, "", 0, 0)) goto done;
    if (vocabulary_append(vocab, "[UNK]", 5, 0)) goto done;
    if (max_size > 0 && keep > max_size - 2) keep = max_size - 2;
  } else if (max_size > 0 && keep > max_size) {
    keep = max_size;
  }
  for (int k = 0; k < keep; k++) {
    int id = entries[k].id;
    map[id] = vocab->size;
    if (vocabulary_append(vocab, table->arena + table->offset[id],
                          table->length[id], entries[k].count))
      goto done;
  }
  rc = 0;

done:
  free(entries);
  return rc;
}
