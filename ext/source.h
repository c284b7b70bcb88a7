/*
** Reading labelled rows from a table or view: the statement over the
** source's columns, and the raw rows that training keeps in memory.
*/
#ifndef CLAIM_SOURCE_H
#define CLAIM_SOURCE_H

#include "claim.h"

/*
** Prepares SELECT <rowid or NULL>, <the N_COLUMNS columns> FROM source.
** Identifiers are quoted, so any name is only ever a name. On error sets
** *error: a missing source, or a missing column with the list of the
** columns the source has. model names the trained model whose columns
** claim_evaluate() reads, or is NULL in claim_train(); it picks the fix
** that the message suggests.
*/
int source_prepare(sqlite3 *db, const char *function, const char *source,
                   const char *model, char *const *column,
                   sqlite3_stmt **stmt, char **error);

/*
** Returns the number that names the current row of a source_prepare()
** statement in messages: its rowid, or its position from 1 when the
** source has no rowid (a view or a WITHOUT ROWID table).
*/
sqlite3_int64 source_row_number(sqlite3_stmt *stmt, sqlite3_int64 position);

/* The problem of a count that parse_count() rejected with status, as the
** end of a message: "is not a number", or "is not a finite number" for an
** infinite REAL or text such as "1e400". */
const char *count_problem(sqlite3_value *value, int status);

/* Rows as read: counts, category and token ids from the interners. */
typedef struct RawRows {
  int n, cap;
  double *count;          /* (n, N_COUNTS) */
  int32_t *category;      /* (n, N_CATEGORIES), -1 for NULL */
  int64_t *token_offset;  /* (n + 1) */
  int32_t *token;
  size_t token_cap;
  signed char *label;     /* 1 opinion, 0 claim */
} RawRows;

void raw_rows_free(RawRows *rows);

typedef struct SourceReader {
  sqlite3 *db;
  ClaimContext *ctx;
  const char *function;
  char *const *column;
  int skip_invalid;
  Interner *category[N_CATEGORIES];
  Interner *tokens;
  sqlite3_int64 skipped_label;    /* rows with a NULL or empty label */
  sqlite3_int64 skipped_invalid;  /* rows skipped under on_invalid "skip" */
} SourceReader;

/* Appends the rows of source; on error sets *error. */
int source_read(SourceReader *reader, const char *source, RawRows *rows,
                char **error);

#endif
