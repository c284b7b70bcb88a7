/*
** Reading columns of a table or view grouped by the values of another
** column, for claim_describe(), claim_histogram() and the plots.
**
** Rules:
**   1. A value is missing when it is NULL or TEXT that is empty after
**      trimming ASCII whitespace: `.import --csv` stores an empty CSV field
**      as '', and pandas reads the same field as NaN.
**   2. Any other value is a number when parse_count() accepts it, so the
**      TEXT that `.import --csv` stores counts. A column is numeric when
**      all its values are numbers or missing. Otherwise its first other
**      value is kept with its row, so that a caller can name it.
**   3. A row is named by its rowid, or by its position from 1 in a view or
**      a WITHOUT ROWID table.
**   4. The groups are the distinct values of the "by" column in SQL's
**      ORDER BY order with the BINARY collation: NULL, then numbers, then
**      TEXT, then BLOBs. An INTEGER and a REAL of equal value are one
**      group; TEXT '1' and INTEGER 1 are two, as in GROUP BY.
*/
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "workbench.h"
SQLITE_EXTENSION_INIT3

void grouped_free(GroupedRows *rows) {
  sqlite3_free(rows->row);
  sqlite3_free(rows->group_start);
  if (rows->group_value)
    for (int g = 0; g < rows->n_groups; g++)
      sqlite3_value_free(rows->group_value[g]);
  sqlite3_free(rows->group_value);
  if (rows->column)
    for (int k = 0; k < rows->n_columns; k++) {
      sqlite3_free(rows->column[k].name);
      sqlite3_free(rows->column[k].value);
      sqlite3_free(rows->column[k].invalid_value);
    }
  sqlite3_free(rows->column);
  memset(rows, 0, sizeof(*rows));
}

char *grouped_invalid_message(const char *function, const char *source,
                              const GroupedColumn *column) {
  return sqlite3_mprintf("%s(): \"%s\" column \"%s\" row %lld: %s is not a "
                         "number; correct the value, or pass a view that "
                         "leaves it out", function, source, column->name,
                         (long long)column->invalid_row,
                         column->invalid_value);
}

void grouped_append_label(sqlite3_str *out, sqlite3_value *value) {
  if (!value || sqlite3_value_type(value) == SQLITE_NULL) {
    sqlite3_str_appendall(out, "NULL");
  } else if (sqlite3_value_type(value) == SQLITE_BLOB) {
    sqlite3_str_appendf(out, "BLOB of %d bytes", sqlite3_value_bytes(value));
  } else if (sqlite3_value_bytes(value) == 0) {
    /* Distinct from NULL above, which an empty label would look like. */
    sqlite3_str_appendall(out, "(empty)");
  } else {
    const char *text = (const char *)sqlite3_value_text(value);
    int n = text ? sqlite3_value_bytes(value) : 0;
    int cut = utf8_prefix_length(text, n, 40);
    sqlite3_str_appendf(out, "%.*s%s", cut, text ? text : "",
                        cut < n ? "..." : "");
  }
}

/* Value of a cell: VALUE_OK with *x set, VALUE_NULL when missing (rule 1),
** or VALUE_INVALID / VALUE_BLOB. */
static int read_cell(sqlite3_value *cell, double *x) {
  if (sqlite3_value_type(cell) == SQLITE_TEXT) {
    const char *text = (const char *)sqlite3_value_text(cell);
    int n = sqlite3_value_bytes(cell);
    if (!text) return VALUE_INVALID;
    trim_ascii(text, &n);
    if (n == 0) return VALUE_NULL;
  }
  return parse_count(cell, x);
}

/* Sort class of a value in ORDER BY: NULL, number, TEXT, BLOB. */
static int value_class(sqlite3_value *v) {
  switch (sqlite3_value_type(v)) {
    case SQLITE_NULL: return 0;
    case SQLITE_INTEGER:
    case SQLITE_FLOAT: return 1;
    case SQLITE_TEXT: return 2;
    default: return 3;
  }
}

static int compare_values(sqlite3_value *a, sqlite3_value *b) {
  int ca = value_class(a), cb = value_class(b);
  if (ca != cb) return ca < cb ? -1 : 1;
  if (ca == 0) return 0;
  if (ca == 1) {
    if (sqlite3_value_type(a) == SQLITE_INTEGER &&
        sqlite3_value_type(b) == SQLITE_INTEGER) {
      sqlite3_int64 x = sqlite3_value_int64(a), y = sqlite3_value_int64(b);
      return x < y ? -1 : x > y;
    }
    double x = sqlite3_value_double(a), y = sqlite3_value_double(b);
    return x < y ? -1 : x > y;
  }
  const void *pa = ca == 2 ? (const void *)sqlite3_value_text(a)
                           : sqlite3_value_blob(a);
  const void *pb = ca == 2 ? (const void *)sqlite3_value_text(b)
                           : sqlite3_value_blob(b);
  int na = sqlite3_value_bytes(a), nb = sqlite3_value_bytes(b);
  int n = na < nb ? na : nb;
  int c = n > 0 ? memcmp(pa, pb, (size_t)n) : 0;
  if (c != 0) return c;
  return na < nb ? -1 : na > nb;
}

typedef struct GroupOrder {
  sqlite3_value *value;
  int id;
} GroupOrder;

static int compare_groups(const void *a, const void *b) {
  const GroupOrder *x = a, *y = b;
  return compare_values(x->value, y->value);
}

/*
** Writes the key that identifies value's group into *key (grown with
** sqlite3_realloc64) and returns its length, or -1 when out of memory.
** Numbers of equal value share a key (rule 4).
*/
static int group_key(sqlite3_value *value, char **key, int *cap) {
  char number[40];
  const void *bytes = 0;
  int n = 0;
  char tag;
  switch (sqlite3_value_type(value)) {
    case SQLITE_NULL:
      tag = 'N';
      break;
    case SQLITE_INTEGER:
    case SQLITE_FLOAT: {
      double x = sqlite3_value_double(value);
      tag = 'I';
      if (sqlite3_value_type(value) == SQLITE_INTEGER)
        sqlite3_snprintf(sizeof(number), number, "%lld",
                         sqlite3_value_int64(value));
      else if (x == floor(x) && x >= -9223372036854775808.0 &&
               x < 9223372036854775808.0)
        sqlite3_snprintf(sizeof(number), number, "%lld", (long long)x);
      else {
        tag = 'R';
        sqlite3_snprintf(sizeof(number), number, "%!.17g", x);
      }
      bytes = number;
      n = (int)strlen(number);
      break;
    }
    case SQLITE_TEXT:
      tag = 'T';
      bytes = sqlite3_value_text(value);
      n = sqlite3_value_bytes(value);
      break;
    default:
      tag = 'B';
      bytes = sqlite3_value_blob(value);
      n = sqlite3_value_bytes(value);
      break;
  }
  if (n + 1 > *cap) {
    int grown = n + 64;
    char *buffer = sqlite3_realloc64(*key, (sqlite3_uint64)grown);
    if (!buffer) return -1;
    *key = buffer;
    *cap = grown;
  }
  (*key)[0] = tag;
  if (n > 0) memcpy(*key + 1, bytes, (size_t)n);
  return n + 1;
}

/* Index of name among the statement's columns, ignoring case, or -1. */
static int find_column(sqlite3_stmt *stmt, const char *name) {
  for (int i = 0; i < sqlite3_column_count(stmt); i++)
    if (sqlite3_stricmp(sqlite3_column_name(stmt, i), name) == 0) return i;
  return -1;
}

static char *missing_column_message(const char *function, const char *source,
                                    const char *name, sqlite3_stmt *probe) {
  sqlite3_str *list = sqlite3_str_new(0);
  for (int k = 0; k < sqlite3_column_count(probe); k++)
    sqlite3_str_appendf(list, "%s\"%s\"", k ? ", " : "",
                        sqlite3_column_name(probe, k));
  char *names = sqlite3_str_finish(list);
  char *message = sqlite3_mprintf("%s(): \"%s\" has no column \"%s\"; its "
                                  "columns are %s", function, source, name,
                                  names ? names : "");
  sqlite3_free(names);
  return message;
}

/* Resizes *array to cap elements of size bytes. */
static int grow(void **array, sqlite3_uint64 cap, size_t size) {
  void *p = sqlite3_realloc64(*array, cap * size);
  if (!p) return SQLITE_NOMEM;
  *array = p;
  return SQLITE_OK;
}

int grouped_read(sqlite3 *db, const char *function, const char *source,
                 const char *by, int n_wanted, const char *const *wanted,
                 GroupedRows *out, char **error) {
  sqlite3_stmt *probe = 0, *stmt = 0;
  Interner groups;
  memset(&groups, 0, sizeof(groups));
  memset(out, 0, sizeof(*out));
  int *group_of_row = 0, *rank = 0, *next = 0;
  GroupOrder *order = 0;
  sqlite3_value **first_value = 0;
  char *key = 0;
  int key_cap = 0, n_seen = 0, seen_cap = 0, row_cap = 0;
  int rc = SQLITE_OK;

  char *sql = sqlite3_mprintf("SELECT * FROM \"%w\" LIMIT 0", source);
  if (!sql) return SQLITE_NOMEM;
  rc = sqlite3_prepare_v2(db, sql, -1, &probe, 0);
  sqlite3_free(sql);
  if (rc == SQLITE_INTERRUPT || rc == SQLITE_NOMEM) goto done;
  if (rc != SQLITE_OK) {
    if (source_is_missing(db, source))
      *error = sqlite3_mprintf("%s(): no such table or view: \"%s\"",
                               function, source);
    else
      *error = sqlite3_mprintf("%s(): reading \"%s\" failed: %s", function,
                               source, sqlite3_errmsg(db));
    rc = SQLITE_ERROR;
    goto done;
  }

  int by_index = -1;
  if (by) {
    by_index = find_column(probe, by);
    if (by_index < 0) {
      *error = missing_column_message(function, source, by, probe);
      rc = SQLITE_ERROR;
      goto done;
    }
  }
  int n_source = sqlite3_column_count(probe);
  int n_columns = wanted ? n_wanted : n_source - (by_index >= 0);
  out->column = sqlite3_malloc64(sizeof(GroupedColumn) *
                                 (sqlite3_uint64)(n_columns + 1));
  if (!out->column) goto nomem;
  memset(out->column, 0, sizeof(GroupedColumn) * (size_t)(n_columns + 1));
  out->n_columns = n_columns;
  for (int k = 0, i = 0; k < n_columns; k++, i++) {
    int index;
    if (wanted) {
      index = find_column(probe, wanted[k]);
      if (index < 0) {
        *error = missing_column_message(function, source, wanted[k], probe);
        rc = SQLITE_ERROR;
        goto done;
      }
    } else {
      if (i == by_index) i++;
      index = i;
    }
    GroupedColumn *column = &out->column[k];
    column->name = sqlite3_mprintf("%s", sqlite3_column_name(probe, index));
    if (!column->name) goto nomem;
    column->numeric = 1;
  }

  const char *rowid_name = source_rowid_name(probe);

  /* Rule 3: a WITHOUT ROWID table has no rowid and needs the second
  ** attempt; a view has one, but it is NULL. */
  int has_rowid = 0;
  for (int attempt = 0; attempt < 2; attempt++) {
    sqlite3_str *query = sqlite3_str_new(0);
    sqlite3_str_appendf(query, "SELECT %s",
                        attempt == 0 ? rowid_name : "NULL");
    if (by) sqlite3_str_appendf(query, ", \"%w\"", by);
    else sqlite3_str_appendall(query, ", NULL");
    for (int k = 0; k < n_columns; k++)
      sqlite3_str_appendf(query, ", \"%w\"", out->column[k].name);
    sqlite3_str_appendf(query, " FROM \"%w\"", source);
    sql = sqlite3_str_finish(query);
    if (!sql) goto nomem;
    rc = sqlite3_prepare_v2(db, sql, -1, &stmt, 0);
    sqlite3_free(sql);
    if (rc == SQLITE_OK) {
      has_rowid = attempt == 0;
      break;
    }
  }
  if (rc != SQLITE_OK) {
    *error = sqlite3_mprintf("%s(): reading \"%s\" failed: %s", function,
                             source, sqlite3_errmsg(db));
    goto done;
  }

  sqlite3_int64 position = 0;
  int n = 0;
  while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
    position++;
    if (n == row_cap) {
      /* Row numbers and groups are ints: past the largest one the source
      ** is too large for these functions. */
      if (row_cap == INT32_MAX) {
        *error = sqlite3_mprintf("%s(): \"%s\" has more than %d rows, "
                                 "which is too many; pass a view of fewer "
                                 "rows", function, source, INT32_MAX);
        rc = SQLITE_TOOBIG;
        goto done;
      }
      row_cap = row_cap == 0              ? 1024
                : row_cap > INT32_MAX / 2 ? INT32_MAX
                                          : row_cap * 2;
      if (grow((void **)&out->row, (sqlite3_uint64)row_cap, 8) ||
          grow((void **)&group_of_row, (sqlite3_uint64)row_cap, sizeof(int)))
        goto nomem;
      for (int k = 0; k < n_columns; k++)
        if (grow((void **)&out->column[k].value, (sqlite3_uint64)row_cap, 8))
          goto nomem;
    }
    /* A view accepts "rowid" but returns NULL for it. */
    out->row[n] = has_rowid && sqlite3_column_type(stmt, 0) == SQLITE_INTEGER
                      ? sqlite3_column_int64(stmt, 0)
                      : position;

    int group = 0;
    if (by) {
      sqlite3_value *value = sqlite3_column_value(stmt, 1);
      int length = group_key(value, &key, &key_cap);
      if (length < 0) goto nomem;
      group = interner_add(&groups, key, (size_t)length);
      if (group < 0) goto nomem;
      if (group == n_seen) {
        if (n_seen == seen_cap) {
          seen_cap = seen_cap ? seen_cap * 2 : 16;
          if (grow((void **)&first_value, (sqlite3_uint64)seen_cap,
                   sizeof(sqlite3_value *)))
            goto nomem;
        }
        first_value[n_seen] = sqlite3_value_dup(value);
        if (!first_value[n_seen]) goto nomem;
        n_seen++;
      }
    }
    group_of_row[n] = group;

    for (int k = 0; k < n_columns; k++) {
      GroupedColumn *column = &out->column[k];
      sqlite3_value *cell = sqlite3_column_value(stmt, 2 + k);
      double x = NAN;
      int status = read_cell(cell, &x);
      if (status == VALUE_OK) {
        column->n_numbers++;
      } else {
        x = NAN;
        if (status != VALUE_NULL && column->numeric) {
          column->numeric = 0;
          column->invalid_row = out->row[n];
          column->invalid_value = describe_value(cell);
          if (!column->invalid_value) goto nomem;
        }
      }
      column->value[n] = x;
    }
    n++;
  }
  if (rc != SQLITE_DONE) {
    if (rc != SQLITE_NOMEM && rc != SQLITE_INTERRUPT)
      *error = sqlite3_mprintf("%s(): reading \"%s\" failed: %s", function,
                               source, sqlite3_errmsg(db));
    goto done;
  }
  rc = SQLITE_OK;
  out->n_rows = n;

  /* Rule 4: number the groups in ORDER BY order, then sort the rows by
  ** group with a stable counting sort. */
  int n_groups = by ? n_seen : 1;
  out->group_value = sqlite3_malloc64(sizeof(sqlite3_value *) *
                                      (sqlite3_uint64)(n_groups + 1));
  out->group_start = sqlite3_malloc64(sizeof(int) *
                                      (sqlite3_uint64)(n_groups + 1));
  rank = sqlite3_malloc64(sizeof(int) * (sqlite3_uint64)(n_groups + 1));
  next = sqlite3_malloc64(sizeof(int) * (sqlite3_uint64)(n_groups + 1));
  order = sqlite3_malloc64(sizeof(GroupOrder) * (sqlite3_uint64)(n_groups + 1));
  if (!out->group_value || !out->group_start || !rank || !next || !order)
    goto nomem;
  out->n_groups = n_groups;
  if (by) {
    for (int g = 0; g < n_groups; g++) {
      order[g].value = first_value[g];
      order[g].id = g;
    }
    qsort(order, (size_t)n_groups, sizeof(GroupOrder), compare_groups);
    for (int g = 0; g < n_groups; g++) {
      rank[order[g].id] = g;
      out->group_value[g] = first_value[order[g].id];
      first_value[order[g].id] = 0;
    }
  } else {
    rank[0] = 0;
    out->group_value[0] = 0;
  }

  memset(out->group_start, 0, sizeof(int) * (size_t)(n_groups + 1));
  for (int i = 0; i < n; i++) out->group_start[rank[group_of_row[i]] + 1]++;
  for (int g = 0; g < n_groups; g++)
    out->group_start[g + 1] += out->group_start[g];
  if (n > 0) {
    int *destination = group_of_row;   /* reused: destination of row i */
    memcpy(next, out->group_start, sizeof(int) * (size_t)n_groups);
    for (int i = 0; i < n; i++) destination[i] = next[rank[group_of_row[i]]]++;

    sqlite3_int64 *row = sqlite3_malloc64(8 * (sqlite3_uint64)n);
    if (!row) goto nomem;
    for (int i = 0; i < n; i++) row[destination[i]] = out->row[i];
    sqlite3_free(out->row);
    out->row = row;
    for (int k = 0; k < n_columns; k++) {
      double *value = sqlite3_malloc64(8 * (sqlite3_uint64)n);
      if (!value) goto nomem;
      for (int i = 0; i < n; i++)
        value[destination[i]] = out->column[k].value[i];
      sqlite3_free(out->column[k].value);
      out->column[k].value = value;
    }
  }
  goto done;

nomem:
  rc = SQLITE_NOMEM;
done:
  sqlite3_finalize(probe);
  sqlite3_finalize(stmt);
  interner_free(&groups);
  if (first_value)
    for (int g = 0; g < n_seen; g++) sqlite3_value_free(first_value[g]);
  sqlite3_free(first_value);
  sqlite3_free(group_of_row);
  sqlite3_free(rank);
  sqlite3_free(next);
  sqlite3_free(order);
  sqlite3_free(key);
  if (rc != SQLITE_OK) grouped_free(out);
  return rc;
}
