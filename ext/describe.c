/*
** claim_describe(source [, by]): summary statistics of every numeric column
** of a table or view, as pandas' DataFrame.describe() prints them, overall
** or for each value of the column by.
**
**   SELECT * FROM claim_describe('videos');
**   SELECT "column", by_value, count, mean, p50
**   FROM claim_describe('videos', 'claim_status');
**
** Each row is (column, by_value, count, mean, std, min, p25, p50, p75, max).
** The arguments are the hidden columns source and "by".
**
** Rules:
**   1. A column is numeric when it has at least one number and every other
**      value is missing, where missing means NULL or empty TEXT (see
**      grouped.c). So the TEXT columns of `.import --csv` count, and a
**      column with no number at all is left out. The "by" column is not
**      described.
**   2. Rows come in the source's column order, then by group in ORDER BY
**      order (NULL first). Without "by", by_value is NULL.
**   3. count is the number of values that are not missing. std is the
**      sample standard deviation (divisor count - 1), as pandas computes
**      it, and NULL for fewer than two values. The other statistics are
**      NULL for a group with no values.
**   4. Percentiles interpolate linearly between the two nearest ranks, as
**      numpy.percentile and pandas do by default: rank (count - 1) * q.
**   5. A source with no numeric column is an error, and so is a source or
**      a "by" column that does not exist.
**   6. The table is eponymous and SQLITE_VTAB_DIRECTONLY: it reads whole
**      tables, so a view or trigger cannot use it.
*/
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "workbench.h"
SQLITE_EXTENSION_INIT3

enum {
  DESCRIBE_COLUMN, DESCRIBE_BY_VALUE, DESCRIBE_COUNT, DESCRIBE_MEAN,
  DESCRIBE_STD, DESCRIBE_MIN, DESCRIBE_P25, DESCRIBE_P50, DESCRIBE_P75,
  DESCRIBE_MAX, DESCRIBE_SOURCE, DESCRIBE_BY
};
#define N_STATS 8   /* mean .. max */

/* One output row. */
typedef struct DescribeRow {
  int column;
  int group;
  sqlite3_int64 count;
  double stat[N_STATS];        /* NaN for NULL */
} DescribeRow;

typedef struct DescribeCursor {
  TableFunctionCursor base;    /* arguments: source and by */
  GroupedRows rows;
  DescribeRow *result;         /* (base.n_rows) */
} DescribeCursor;

static int compare_doubles(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

/* Rule 4: the q-quantile of n sorted values. */
static double quantile(const double *sorted, int n, double q) {
  double rank = (n - 1) * q;
  int below = (int)floor(rank);
  if (below >= n - 1) return sorted[n - 1];
  double fraction = rank - below;
  return sorted[below] + fraction * (sorted[below + 1] - sorted[below]);
}

/* Fills row's statistics from n values, sorting them in place. */
static void summarize(double *value, int n, DescribeRow *row) {
  row->count = n;
  for (int s = 0; s < N_STATS; s++) row->stat[s] = NAN;
  if (n == 0) return;
  qsort(value, (size_t)n, sizeof(double), compare_doubles);

  /* Two passes in long double, so large counts lose no precision. */
  long double sum = 0;
  for (int i = 0; i < n; i++) sum += value[i];
  long double mean = sum / n;
  row->stat[DESCRIBE_MEAN - DESCRIBE_MEAN] = (double)mean;
  if (n > 1) {
    long double squares = 0;
    for (int i = 0; i < n; i++) {
      long double d = value[i] - mean;
      squares += d * d;
    }
    row->stat[DESCRIBE_STD - DESCRIBE_MEAN] = (double)sqrtl(squares / (n - 1));
  }
  row->stat[DESCRIBE_MIN - DESCRIBE_MEAN] = value[0];
  row->stat[DESCRIBE_P25 - DESCRIBE_MEAN] = quantile(value, n, 0.25);
  row->stat[DESCRIBE_P50 - DESCRIBE_MEAN] = quantile(value, n, 0.50);
  row->stat[DESCRIBE_P75 - DESCRIBE_MEAN] = quantile(value, n, 0.75);
  row->stat[DESCRIBE_MAX - DESCRIBE_MEAN] = value[n - 1];
}

/* Computes every output row into the cursor (rules 1 to 3). */
static int describe_compute(DescribeCursor *c, sqlite3 *db,
                            const char *source, const char *by,
                            char **error) {
  int rc = grouped_read(db, "claim_describe", source, by, 0, 0, &c->rows,
                        error);
  if (rc != SQLITE_OK) return rc;
  GroupedRows *rows = &c->rows;
  if (rows->n_rows == 0) {
    *error = sqlite3_mprintf("claim_describe(): \"%s\" has no rows", source);
    return SQLITE_ERROR;
  }
  int n_numeric = 0;
  for (int k = 0; k < rows->n_columns; k++)
    if (rows->column[k].numeric && rows->column[k].n_numbers > 0) n_numeric++;
  if (n_numeric == 0) {
    *error = sqlite3_mprintf("claim_describe(): \"%s\" has no numeric "
                             "column; a numeric column holds numbers, "
                             "NULLs and empty strings only", source);
    return SQLITE_ERROR;
  }

  sqlite3_uint64 n_result = (sqlite3_uint64)n_numeric * rows->n_groups;
  c->result = sqlite3_malloc64(n_result * sizeof(DescribeRow));
  double *scratch = sqlite3_malloc64((sqlite3_uint64)rows->n_rows * 8);
  if (!c->result || !scratch) {
    sqlite3_free(scratch);
    return SQLITE_NOMEM;
  }
  for (int k = 0; k < rows->n_columns; k++) {
    const GroupedColumn *column = &rows->column[k];
    if (!column->numeric || column->n_numbers == 0) continue;
    for (int g = 0; g < rows->n_groups; g++) {
      int n = 0;
      for (int i = rows->group_start[g]; i < rows->group_start[g + 1]; i++)
        if (!isnan(column->value[i])) scratch[n++] = column->value[i];
      DescribeRow *row = &c->result[c->base.n_rows++];
      row->column = k;
      row->group = g;
      summarize(scratch, n, row);
    }
  }
  sqlite3_free(scratch);
  return SQLITE_OK;
}

/* Checks the arguments and computes the rows into the cursor. */
static int describe_run(TableFunctionCursor *cursor, sqlite3 *db,
                        char **error) {
  DescribeCursor *c = (DescribeCursor *)cursor;
  sqlite3_value *source = cursor->argument[0];
  sqlite3_value *by = cursor->argument[1];
  if (!source) {
    *error = sqlite3_mprintf("claim_describe(): missing argument 1 (source); "
                             "call claim_describe('table' [, 'by_column'])");
    return SQLITE_ERROR;
  }
  if (sqlite3_value_type(source) != SQLITE_TEXT) {
    *error = argument_error("claim_describe", 1, "source",
                            "a table or view name as TEXT", source);
    return SQLITE_ERROR;
  }
  if (by && sqlite3_value_type(by) != SQLITE_NULL &&
      sqlite3_value_type(by) != SQLITE_TEXT) {
    *error = argument_error("claim_describe", 2, "by",
                            "a column name as TEXT, or NULL", by);
    return SQLITE_ERROR;
  }
  int rc = check_nul_argument("claim_describe", 1, "source", source, error);
  if (rc == SQLITE_OK && by)
    rc = check_nul_argument("claim_describe", 2, "by", by, error);
  if (rc != SQLITE_OK) return rc;
  return describe_compute(c, db, (const char *)sqlite3_value_text(source),
                          by ? (const char *)sqlite3_value_text(by) : 0,
                          error);
}

static void describe_reset(TableFunctionCursor *cursor) {
  DescribeCursor *c = (DescribeCursor *)cursor;
  grouped_free(&c->rows);
  sqlite3_free(c->result);
  c->result = 0;
}

static int describe_column(sqlite3_vtab_cursor *cursor,
                           sqlite3_context *context, int i) {
  DescribeCursor *c = (DescribeCursor *)cursor;
  const DescribeRow *row = &c->result[c->base.at];
  switch (i) {
    case DESCRIBE_COLUMN:
      sqlite3_result_text(context, c->rows.column[row->column].name, -1,
                          SQLITE_TRANSIENT);
      break;
    case DESCRIBE_BY_VALUE:
      if (c->rows.group_value[row->group])
        sqlite3_result_value(context, c->rows.group_value[row->group]);
      break;
    case DESCRIBE_COUNT:
      sqlite3_result_int64(context, row->count);
      break;
    case DESCRIBE_SOURCE:
    case DESCRIBE_BY:
      if (c->base.argument[i - DESCRIBE_SOURCE])
        sqlite3_result_value(context, c->base.argument[i - DESCRIBE_SOURCE]);
      break;
    default:
      if (!isnan(row->stat[i - DESCRIBE_MEAN]))
        sqlite3_result_double(context, row->stat[i - DESCRIBE_MEAN]);
      break;
  }
  return SQLITE_OK;
}

const TableFunction claim_describe_function = {
  .schema = "CREATE TABLE x(\"column\" TEXT, by_value, count INTEGER,"
            " mean REAL, std REAL, min REAL, p25 REAL, p50 REAL, p75 REAL,"
            " max REAL, source HIDDEN, \"by\" HIDDEN)",
  .first_argument = DESCRIBE_SOURCE,
  .n_arguments = 2,
  .n_required = 1,
  .cursor_size = sizeof(DescribeCursor),
  .run = describe_run,
  .reset = describe_reset,
  .column = describe_column,
};
