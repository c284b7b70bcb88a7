/*
** Reading labelled rows from a table or view.
**
** Rules:
**   1. A label is 'claim' or 'opinion' after trimming ASCII whitespace,
**      in any case. A NULL or empty label skips the row and counts it; any
**      other label is an error that names the row and the value.
**   2. A count is an INTEGER, a finite REAL or numeric TEXT (see
**      parse_count). Anything else, NULL included, is an error naming the
**      column, the row and the value, unless on_invalid is "skip", which
**      skips and counts the row.
**   3. A category is compared after trimming ASCII whitespace; NULL is a
**      missing value (all zeros in the one-hot encoding).
**   4. A NULL transcript is empty. A BLOB in any column is invalid (rule 2).
**   5. A row is named by its rowid, or by its position from 1 in a view or
**      a WITHOUT ROWID table.
*/
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "source.h"
SQLITE_EXTENSION_INIT3

void raw_rows_free(RawRows *rows) {
  free(rows->count);
  free(rows->category);
  free(rows->token_offset);
  free(rows->token);
  free(rows->label);
  memset(rows, 0, sizeof(*rows));
}

static int has_column(sqlite3_stmt *stmt, const char *name) {
  for (int i = 0; i < sqlite3_column_count(stmt); i++)
    if (sqlite3_stricmp(sqlite3_column_name(stmt, i), name) == 0) return 1;
  return 0;
}

static char *build_select(const char *first, const char *source,
                          char *const *column) {
  sqlite3_str *query = sqlite3_str_new(0);
  sqlite3_str_appendf(query, "SELECT %s", first);
  for (int i = 0; i < N_COLUMNS; i++)
    sqlite3_str_appendf(query, ", \"%w\"", column[i]);
  sqlite3_str_appendf(query, " FROM \"%w\"", source);
  return sqlite3_str_finish(query);
}

const char *source_rowid_name(sqlite3_stmt *probe) {
  /* A column of the source may itself be called rowid; SQLite's other
  ** names for the rowid then still reach it. */
  static const char *const rowid_names[] = {"rowid", "_rowid_", "oid"};
  for (int k = 0; k < 3; k++)
    if (!has_column(probe, rowid_names[k])) return rowid_names[k];
  return "NULL";
}

int source_prepare(sqlite3 *db, const char *function, const char *source,
                   const char *model, char *const *column,
                   sqlite3_stmt **stmt, char **error) {
  sqlite3_stmt *probe = 0;
  char *sql = sqlite3_mprintf("SELECT * FROM \"%w\" LIMIT 0", source);
  if (!sql) return SQLITE_NOMEM;
  int rc = sqlite3_prepare_v2(db, sql, -1, &probe, 0);
  sqlite3_free(sql);
  if (rc == SQLITE_INTERRUPT || rc == SQLITE_NOMEM) return rc;
  if (rc != SQLITE_OK) {
    if (source_is_missing(db, source))
      *error = sqlite3_mprintf("%s(): no such table or view: \"%s\"",
                               function, source);
    else
      *error = sqlite3_mprintf("%s(): reading \"%s\" failed: %s", function,
                               source, sqlite3_errmsg(db));
    return SQLITE_ERROR;
  }
  for (int i = 0; i < N_COLUMNS; i++) {
    if (has_column(probe, column[i])) continue;
    sqlite3_str *list = sqlite3_str_new(db);
    for (int k = 0; k < sqlite3_column_count(probe); k++)
      sqlite3_str_appendf(list, "%s\"%s\"", k ? ", " : "",
                          sqlite3_column_name(probe, k));
    char *names = sqlite3_str_finish(list);
    if (model)
      *error = sqlite3_mprintf(
          "%s(): \"%s\" has no column \"%s\", which model \"%s\" reads "
          "as its %s; its columns are %s; evaluate a view that selects a "
          "column named \"%s\"", function, source, column[i], model,
          column_role[i], names ? names : "", column[i]);
    else
      *error = sqlite3_mprintf(
          "%s(): \"%s\" has no column \"%s\" for the role %s; its columns "
          "are %s; name the right one with the option '{\"columns\": "
          "{\"%s\": \"...\"}}'", function, source, column[i],
          column_role[i], names ? names : "", column_role[i]);
    sqlite3_free(names);
    sqlite3_finalize(probe);
    return SQLITE_ERROR;
  }

  const char *rowid_name = source_rowid_name(probe);
  sqlite3_finalize(probe);

  /* A table has a rowid to name rows by. A view has one too, but it is
  ** NULL, and a WITHOUT ROWID table has none, so the statement selects
  ** NULL instead (see source_row_number). */
  for (int attempt = 0; attempt < 2; attempt++) {
    char *sql = build_select(attempt == 0 ? rowid_name : "NULL", source,
                             column);
    if (!sql) return SQLITE_NOMEM;
    rc = sqlite3_prepare_v2(db, sql, -1, stmt, 0);
    sqlite3_free(sql);
    if (rc == SQLITE_OK || rc == SQLITE_INTERRUPT || rc == SQLITE_NOMEM)
      break;
  }
  if (rc != SQLITE_OK && rc != SQLITE_INTERRUPT && rc != SQLITE_NOMEM)
    *error = sqlite3_mprintf("%s(): reading \"%s\" failed: %s", function,
                             source, sqlite3_errmsg(db));
  return rc;
}

int source_is_missing(sqlite3 *db, const char *source) {
  char *expected = sqlite3_mprintf("no such table: %s", source);
  int missing = expected && strcmp(sqlite3_errmsg(db), expected) == 0;
  sqlite3_free(expected);
  return missing;
}

sqlite3_int64 source_row_number(sqlite3_stmt *stmt, sqlite3_int64 position) {
  if (sqlite3_column_type(stmt, 0) == SQLITE_NULL) return position;
  return sqlite3_column_int64(stmt, 0);
}

static int grow_rows(RawRows *rows) {
  if (rows->n < rows->cap) return 0;
  if (rows->cap == INT32_MAX) return -1;
  /* Doubling, up to the largest int, so that the row limit is reached. */
  int cap = rows->cap == 0              ? 1024
            : rows->cap > INT32_MAX / 2 ? INT32_MAX
                                        : rows->cap * 2;
  double *count = realloc(rows->count,
                          (size_t)cap * N_COUNTS * sizeof(double));
  if (!count) return -1;
  rows->count = count;
  int32_t *category = realloc(rows->category,
                              (size_t)cap * N_CATEGORIES * sizeof(int32_t));
  if (!category) return -1;
  rows->category = category;
  int64_t *offset = realloc(rows->token_offset,
                            ((size_t)cap + 1) * sizeof(int64_t));
  if (!offset) return -1;
  rows->token_offset = offset;
  signed char *label = realloc(rows->label, (size_t)cap);
  if (!label) return -1;
  rows->label = label;
  if (rows->cap == 0) rows->token_offset[0] = 0;
  rows->cap = cap;
  return 0;
}

static int push_tokens(RawRows *rows, size_t n) {
  size_t used = (size_t)rows->token_offset[rows->n];
  if (used + n <= rows->token_cap) return 0;
  size_t cap = rows->token_cap ? rows->token_cap * 2 : 16384;
  while (cap < used + n) cap *= 2;
  int32_t *token = realloc(rows->token, cap * sizeof(int32_t));
  if (!token) return -1;
  rows->token = token;
  rows->token_cap = cap;
  return 0;
}

const char *count_problem(sqlite3_value *value, int status) {
  if (status != VALUE_INVALID) return "is not a number";
  if (sqlite3_value_type(value) == SQLITE_FLOAT)
    return "is not a finite number";

  /* Text such as "1e400" is a number, but beyond the range of a double. */
  const char *text = (const char *)sqlite3_value_text(value);
  if (!text) return "is not a number";
  char *end;
  double x = strtod(text, &end);
  while (*end == ' ' || (*end >= '\t' && *end <= '\r')) end++;
  if (end != text && *end == 0 && isinf(x)) return "is not a finite number";
  return "is not a number";
}

/* Reports an invalid cell (rule 2); returns 1 to skip the row instead. */
static int invalid_cell(SourceReader *r, const char *source, int column,
                        sqlite3_int64 row, sqlite3_value *value,
                        const char *problem, char **error) {
  if (r->skip_invalid) {
    r->skipped_invalid++;
    return 1;
  }
  char *shown = describe_value(value);
  *error = sqlite3_mprintf("%s(): \"%s\" column \"%s\" row %lld: %s %s; "
                           "fix the value, or pass '{\"on_invalid\": "
                           "\"skip\"}' to skip such rows", r->function,
                           source, r->column[column], (long long)row, shown,
                           problem);
  sqlite3_free(shown);
  return 0;
}

int source_read(SourceReader *r, const char *source, RawRows *rows,
                char **error) {
  sqlite3_stmt *stmt = 0;
  int rc = source_prepare(r->db, r->function, source, 0, r->column, &stmt,
                          error);
  if (rc != SQLITE_OK) return rc;

  sqlite3_int64 position = 0;
  while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
    position++;
    sqlite3_int64 row = source_row_number(stmt, position);
    sqlite3_value *cell[N_COLUMNS];
    for (int i = 0; i < N_COLUMNS; i++)
      cell[i] = sqlite3_column_value(stmt, i + 1);

    /* Rule 1. */
    int label = parse_label(cell[COLUMN_LABEL]);
    if (label == -1) {
      r->skipped_label++;
      continue;
    }
    if (label == -2) {
      char *shown = describe_value(cell[COLUMN_LABEL]);
      *error = sqlite3_mprintf("%s(): \"%s\" column \"%s\" row %lld: %s is "
                               "not a valid label; expected 'claim' or "
                               "'opinion'", r->function, source,
                               r->column[COLUMN_LABEL], (long long)row,
                               shown);
      sqlite3_free(shown);
      rc = SQLITE_ERROR;
      goto done;
    }
    if (grow_rows(rows)) goto nomem;

    /* Rule 2. */
    int skip = 0;
    double *count = rows->count + (size_t)rows->n * N_COUNTS;
    for (int c = 0; c < N_COUNTS && !skip; c++) {
      sqlite3_value *v = cell[COLUMN_FIRST_COUNT + c];
      int status = parse_count(v, &count[c]);
      if (status == VALUE_OK) continue;
      const char *problem = count_problem(v, status);
      if (!invalid_cell(r, source, COLUMN_FIRST_COUNT + c, row, v, problem,
                        error)) {
        rc = SQLITE_ERROR;
        goto done;
      }
      skip = 1;
    }

    /* Rules 3 and 4. */
    for (int i = COLUMN_FIRST_CATEGORY; i <= COLUMN_TRANSCRIPT && !skip; i++)
      if (sqlite3_value_type(cell[i]) == SQLITE_BLOB) {
        if (!invalid_cell(r, source, i, row, cell[i], "is not text",
                          error)) {
          rc = SQLITE_ERROR;
          goto done;
        }
        skip = 1;
      }
    if (skip) continue;

    int32_t *category = rows->category + (size_t)rows->n * N_CATEGORIES;
    for (int k = 0; k < N_CATEGORIES; k++) {
      sqlite3_value *v = cell[COLUMN_FIRST_CATEGORY + k];
      category[k] = -1;
      if (sqlite3_value_type(v) == SQLITE_NULL) continue;
      const char *text = (const char *)sqlite3_value_text(v);
      int n = sqlite3_value_bytes(v);
      if (!text) goto nomem;
      text = trim_ascii(text, &n);
      category[k] = interner_add(r->category[k], text, (size_t)n);
      if (category[k] < 0) goto nomem;
    }

    sqlite3_value *t = cell[COLUMN_TRANSCRIPT];
    const char *text = "";
    int bytes = 0;
    if (sqlite3_value_type(t) != SQLITE_NULL) {
      text = (const char *)sqlite3_value_text(t);
      bytes = sqlite3_value_bytes(t);
      if (!text) goto nomem;
    }
    TokenList *tokens = &r->ctx->tokens;
    if (tokenize(tokens, text, (size_t)bytes)) goto nomem;
    if (push_tokens(rows, (size_t)tokens->n)) goto nomem;
    int64_t at = rows->token_offset[rows->n];
    for (int i = 0; i < tokens->n; i++) {
      int id = interner_add_hashed(r->tokens, tokens->text + tokens->start[i],
                                   (size_t)tokens->length[i],
                                   tokens->hash[i]);
      if (id < 0) goto nomem;
      rows->token[at + i] = id;
    }
    rows->token_offset[rows->n + 1] = at + tokens->n;
    rows->label[rows->n] = (signed char)label;
    rows->n++;
    if (rows->n == 0x7fffffff) {
      *error = sqlite3_mprintf("%s(): \"%s\" has more than 2147483646 rows",
                               r->function, source);
      rc = SQLITE_TOOBIG;
      goto done;
    }
  }
  if (rc == SQLITE_DONE) {
    rc = SQLITE_OK;
  } else if (rc != SQLITE_OK && !*error) {
    *error = sqlite3_mprintf("%s(): reading \"%s\" failed: %s", r->function,
                             source, sqlite3_errmsg(r->db));
  }
  goto done;

nomem:
  rc = SQLITE_NOMEM;
done:
  sqlite3_finalize(stmt);
  return rc;
}
