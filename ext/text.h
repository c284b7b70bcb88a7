/*
** Text vectorization: the tokenizer and the vocabularies built from
** training rows (transcript tokens and category values).
**
** This module is plain C with no SQLite calls, so the unit tests link it
** directly.
*/
#ifndef CLAIM_TEXT_H
#define CLAIM_TEXT_H

#include <stddef.h>
#include <stdint.h>

/* Reserved ids of a text vocabulary, as in Keras' TextVectorization. */
#define CLAIM_PAD 0
#define CLAIM_OOV 1

/*
** Token buffer reused across calls, so that tokenizing a row allocates
** nothing once the buffer has grown to the longest row seen.
*/
typedef struct TokenList {
  char *text;          /* the tokens' standardized bytes, back to back */
  size_t text_cap;
  int *start;          /* (n) byte offset of token i in text */
  int *length;         /* (n) byte length of token i */
  uint64_t *hash;      /* (n) hash_bytes() of token i */
  int n;
  int cap;
} TokenList;

void token_list_free(TokenList *list);

/*
** Splits text into tokens: ASCII letters are lowercased, the ASCII
** punctuation characters !"#$%&()*+,-./:;<=>?@[\]^_`{|}~' are removed, and
** the rest is split on runs of ASCII whitespace (space, \t, \n, \v, \f, \r).
** Other bytes, including UTF-8 sequences and invalid UTF-8, are kept as they
** are inside tokens. Returns 0, or -1 when out of memory.
*/
int tokenize(TokenList *list, const char *text, size_t n_bytes);

/*
** A vocabulary maps strings to ids 0..size-1. For transcripts, ids 0 and 1
** are the padding and OOV entries (their token is "" and "[UNK]"). For a
** category, ids start at 0 and an unseen value has no id.
*/
typedef struct Vocabulary {
  int size;
  char **token;        /* (size) NUL-terminated strings */
  int *length;         /* (size) byte length of each token */
  int64_t *count;      /* (size) occurrences in the training rows */
  int cap;             /* entries allocated in token, length and count */
  int *slot;           /* hash table of ids, -1 when empty */
  int n_slot;          /* power of two, at least twice size */
} Vocabulary;

void vocabulary_free(Vocabulary *vocab);

/* Returns the id of token, or -1 when the vocabulary does not contain it. */
int vocabulary_find(const Vocabulary *vocab, const char *token, size_t length);

/* The same, given hash_bytes(token, length), as a TokenList stores it. */
int vocabulary_find_hashed(const Vocabulary *vocab, const char *token,
                           size_t length, uint64_t hash);

/*
** Appends one entry; the caller adds entries in id order. Returns 0, or -1
** when out of memory.
*/
int vocabulary_append(Vocabulary *vocab, const char *token, size_t length,
                      int64_t count);

/*
** Interning table that gives each distinct string a provisional id in
** order of first appearance. Training interns every row, then counts the
** training rows only, then ranks them into a Vocabulary.
*/
typedef struct Interner {
  char *arena;         /* all strings, NUL-terminated, back to back */
  size_t arena_used, arena_cap;
  size_t *offset;      /* (n) offset of string i in arena */
  uint32_t *length;    /* (n) */
  int *slot;           /* hash table of ids, -1 when empty */
  int n_slot;
  int n, cap;
} Interner;

void interner_free(Interner *table);

/* Returns the id of the string, adding it when new; -1 when out of memory. */
int interner_add(Interner *table, const char *s, size_t length);

/* The same, given hash_bytes(s, length). */
int interner_add_hashed(Interner *table, const char *s, size_t length,
                        uint64_t hash);

/* Returns the id of the string, or -1 when it was never added. */
int interner_find(const Interner *table, const char *s, size_t length);

/*
** Ranks interned strings into a vocabulary: by count, highest first, and on
** equal counts by the order in which the training rows first used them.
** count[i] is the number of training occurrences of string i; strings
** with count 0 are left out. first_use[i] is the rank of its first use.
** With reserve_pad_oov, ids 0 and 1 are the padding and OOV entries, and at
** most max_size - 2 strings are kept. Otherwise at most max_size (0 means
** no limit). map[i] receives the final id of string i, or -1 when it was
** left out. Returns 0, or -1 when out of memory.
*/
int vocabulary_rank(Vocabulary *vocab, const Interner *table,
                    const int64_t *count, const int64_t *first_use,
                    int reserve_pad_oov, int max_size, int *map);

uint64_t hash_bytes(const char *s, size_t length);

#endif
