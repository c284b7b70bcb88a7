/*
** claim_histogram(source, column, bins [, by [, log]]): bin counts of a
** numeric column of a table or view, overall or for each value of the
** column by, as numpy.histogram counts them.
**
**   SELECT * FROM claim_histogram('videos', 'video_view_count', 10);
**   SELECT by_value, bin, lower, upper, count
**   FROM claim_histogram('videos', 'video_view_count', 20,
**                        'claim_status', 1);
**
** Each row is (by_value, bin, lower, upper, count). The arguments are the
** hidden columns source, "column", bins, "by" and log. claim_plot_histogram()
** draws the same counts.
**
** Rules:
**   1. Missing values (NULL or empty TEXT) are skipped; any other value
**      that is not a number is an error naming its row (see grouped.c).
**   2. All groups share one set of edges, so their counts line up. Linear
**      edges split [min, max] of every value into bins equal widths, as
**      numpy.linspace(min, max, bins + 1); when min = max the range is
**      [min - 0.5, max + 0.5], as in numpy.
**   3. Bins are numbered from 1 and include their lower edge. The last bin
**      also includes its upper edge, so max is counted.
**   4. With log = 1 the edges are equal widths of log10 between the least
**      and greatest value above 0 (a single such value v gets [v / sqrt(10),
**      v * sqrt(10)]). Zeros cannot sit on a log axis: they are counted in
**      a separate bin 0 whose lower and upper edges are both 0, present
**      only when the column has a zero. A negative value is an error, and
**      so is a column without any value above 0.
**   5. Every group gets every bin, with count 0 where it has no value.
**   6. bins is an integer from 1 to HISTOGRAM_MAX_BINS; log is 0, 1 or
**      NULL (0). Both take an INTEGER or a REAL with an integer value, and
**      no TEXT.
**   7. The table is eponymous and SQLITE_VTAB_DIRECTONLY: it reads whole
**      tables, so a view or trigger cannot use it.
**   8. A range that doubles cannot split into bins finite, increasing
**      edges is an error, as numpy raises one: a constant beyond 2^53,
**      where min - 0.5 is min, two values one unit in the last place
**      apart, or values from -1e308 to 1e308, whose width overflows.
*/
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "workbench.h"
SQLITE_EXTENSION_INIT3

void histogram_free(Histogram *histogram) {
  sqlite3_free(histogram->edges);
  sqlite3_free(histogram->count);
  memset(histogram, 0, sizeof(*histogram));
}

int histogram_parse_bins(const char *function, int position,
                         sqlite3_value *value, int *bins, char **error) {
  int type = sqlite3_value_type(value);
  double x = sqlite3_value_double(value);
  if ((type == SQLITE_INTEGER || type == SQLITE_FLOAT) && x == floor(x) &&
      x >= 1 && x <= HISTOGRAM_MAX_BINS) {
    *bins = (int)x;
    return SQLITE_OK;
  }
  char *shown = describe_value(value);
  *error = sqlite3_mprintf("%s(): argument %d (bins) must be an integer from "
                           "1 to %d; got %s", function, position,
                           HISTOGRAM_MAX_BINS, shown);
  sqlite3_free(shown);
  return SQLITE_ERROR;
}

int histogram_parse_log(const char *function, int position,
                        sqlite3_value *value, int *log, char **error) {
  int type = sqlite3_value_type(value);
  if (type == SQLITE_NULL) {
    *log = 0;
    return SQLITE_OK;
  }
  /* As bins, an INTEGER or a REAL with an integer value. */
  double x = sqlite3_value_double(value);
  if ((type == SQLITE_INTEGER || type == SQLITE_FLOAT) && (x == 0 || x == 1)) {
    *log = x == 1;
    return SQLITE_OK;
  }
  *error = argument_error(function, position, "log",
                          "0 for linear bins or 1 for logarithmic bins",
                          value);
  return SQLITE_ERROR;
}

/* Returns the 1-based bin of x among edges[0..bins] (rule 3). position
** estimates it in units of bins, and the edges correct it, as numpy does. */
static int find_bin(const double *edges, int bins, double x,
                    double position) {
  int b = bins - 1;
  if (position < 0) b = 0;
  else if (position < bins) b = (int)position;
  while (b > 0 && x < edges[b]) b--;
  while (b < bins - 1 && x >= edges[b + 1]) b++;
  return b + 1;
}

int histogram_compute(const GroupedRows *rows, int column, int bins,
                      int log, const char *function, const char *source,
                      Histogram *out, char **error) {
  const GroupedColumn *data = &rows->column[column];
  memset(out, 0, sizeof(*out));
  if (!data->numeric) {
    *error = grouped_invalid_message(function, source, data);
    return SQLITE_ERROR;
  }
  if (data->n_numbers == 0) {
    *error = sqlite3_mprintf("%s(): \"%s\" column \"%s\" has no numbers to "
                             "bin: every value is NULL or empty", function,
                             source, data->name);
    return SQLITE_ERROR;
  }

  /* The range, and for log bins the first negative value in row order. */
  double low = INFINITY, high = -INFINITY;
  int negative = -1;
  for (int i = 0; i < rows->n_rows; i++) {
    double x = data->value[i];
    if (isnan(x)) continue;
    if (log && x < 0) {
      if (negative < 0 || rows->row[i] < rows->row[negative]) negative = i;
      continue;
    }
    if (log && x == 0) {
      out->has_zero_bin = 1;
      continue;
    }
    if (x < low) low = x;
    if (x > high) high = x;
  }
  if (negative >= 0) {
    *error = sqlite3_mprintf("%s(): \"%s\" column \"%s\" row %lld: %.15g is "
                             "negative, and log bins take values of 0 and "
                             "above; pass log = 0 for linear bins", function,
                             source, data->name,
                             (long long)rows->row[negative],
                             data->value[negative]);
    return SQLITE_ERROR;
  }
  if (low > high) {
    *error = sqlite3_mprintf("%s(): \"%s\" column \"%s\" has no value above "
                             "0, and log bins need one; pass log = 0 for "
                             "linear bins", function, source, data->name);
    return SQLITE_ERROR;
  }

  out->n_groups = rows->n_groups;
  out->n_bins = bins;
  out->log = log;
  out->edges = sqlite3_malloc64(8 * (sqlite3_uint64)(bins + 1));
  out->count = sqlite3_malloc64(8 * (sqlite3_uint64)(bins + 1) *
                                (sqlite3_uint64)(rows->n_groups + 1));
  if (!out->edges || !out->count) {
    histogram_free(out);
    return SQLITE_NOMEM;
  }
  memset(out->count, 0, 8 * (size_t)(bins + 1) * (size_t)rows->n_groups);

  /* Rules 2 and 4: the edges, computed as numpy.linspace does. */
  if (low == high) {
    low = log ? low / sqrt(10.0) : low - 0.5;
    high = log ? high * sqrt(10.0) : high + 0.5;
  }
  double first = log ? log10(low) : low;
  double last = log ? log10(high) : high;
  double step = (last - first) / bins;
  for (int b = 0; b <= bins; b++) {
    double e = b * step + first;
    out->edges[b] = log ? pow(10.0, e) : e;
  }
  out->edges[0] = low;
  out->edges[bins] = high;

  /* Rule 8: edges that are not finite and increasing cannot bin. */
  int wide = !isfinite(last - first);
  int narrow = 0;
  for (int b = 0; b < bins && !wide; b++)
    if (!(out->edges[b] < out->edges[b + 1])) narrow = 1;
  if (wide || narrow) {
    /* The shortest digits that read back as each bound. */
    sqlite3_str *range = sqlite3_str_new(0);
    json_append_number(range, low);
    sqlite3_str_appendall(range, " to ");
    json_append_number(range, high);
    char *range_text = sqlite3_str_finish(range);
    *error = sqlite3_mprintf("%s(): \"%s\" column \"%s\" ranges from %s, "
                             "too %s a range for %d bins of equal, finite "
                             "width in doubles; pass fewer bins, or rescale "
                             "the column in a view", function, source,
                             data->name, range_text ? range_text : "?",
                             wide ? "wide" : "narrow", bins);
    sqlite3_free(range_text);
    histogram_free(out);
    return SQLITE_ERROR;
  }

  double scale = bins / (last - first);
  for (int g = 0; g < rows->n_groups; g++) {
    sqlite3_int64 *count = out->count + (size_t)g * (size_t)(bins + 1);
    for (int i = rows->group_start[g]; i < rows->group_start[g + 1]; i++) {
      double x = data->value[i];
      if (isnan(x)) continue;
      if (log && x == 0) {
        count[0]++;
        continue;
      }
      double position = ((log ? log10(x) : x) - first) * scale;
      count[find_bin(out->edges, bins, x, position)]++;
    }
  }
  return SQLITE_OK;
}

/* ---- The table-valued function --------------------------------------- */

enum {
  HISTOGRAM_BY_VALUE, HISTOGRAM_BIN, HISTOGRAM_LOWER, HISTOGRAM_UPPER,
  HISTOGRAM_COUNT, HISTOGRAM_SOURCE, HISTOGRAM_COLUMN, HISTOGRAM_BINS,
  HISTOGRAM_BY, HISTOGRAM_LOG
};
#define N_ARGUMENTS 5   /* source, column, bins, by, log */
#define N_REQUIRED 3

static const char *const argument_name[N_ARGUMENTS] = {
  "source", "column", "bins", "by", "log",
};

typedef struct HistogramCursor {
  TableFunctionCursor base;    /* arguments: see argument_name */
  GroupedRows rows;
  Histogram histogram;
} HistogramCursor;

/* Checks the arguments and computes the histogram into the cursor. */
static int histogram_run(TableFunctionCursor *cursor, sqlite3 *db,
                         char **error) {
  static const char function[] = "claim_histogram";
  HistogramCursor *c = (HistogramCursor *)cursor;
  sqlite3_value **argument = cursor->argument;
  for (int slot = 0; slot < N_REQUIRED; slot++)
    if (!argument[slot]) {
      *error = sqlite3_mprintf("%s(): missing argument %d (%s); call "
                               "claim_histogram('table', 'column', bins "
                               "[, 'by_column' [, log]])", function,
                               slot + 1, argument_name[slot]);
      return SQLITE_ERROR;
    }
  for (int slot = 0; slot < 4; slot++) {
    sqlite3_value *v = argument[slot];
    if (slot == 2 || !v) continue;
    if (sqlite3_value_type(v) == SQLITE_TEXT) {
      int rc = check_nul_argument(function, slot + 1, argument_name[slot], v,
                                  error);
      if (rc != SQLITE_OK) return rc;
      continue;
    }
    if (slot == 3 && sqlite3_value_type(v) == SQLITE_NULL) continue;
    const char *expected = slot == 0 ? "a table or view name as TEXT"
                           : slot == 3 ? "a column name as TEXT, or NULL"
                                       : "a column name as TEXT";
    *error = argument_error(function, slot + 1, argument_name[slot],
                            expected, v);
    return SQLITE_ERROR;
  }
  int bins, log = 0;
  int rc = histogram_parse_bins(function, 3, argument[2], &bins, error);
  if (rc == SQLITE_OK && argument[4])
    rc = histogram_parse_log(function, 5, argument[4], &log, error);
  if (rc != SQLITE_OK) return rc;

  const char *source = (const char *)sqlite3_value_text(argument[0]);
  const char *column = (const char *)sqlite3_value_text(argument[1]);
  const char *by = argument[3]
                       ? (const char *)sqlite3_value_text(argument[3])
                       : 0;
  rc = grouped_read(db, function, source, by, 1, &column, &c->rows, error);
  if (rc != SQLITE_OK) return rc;
  rc = histogram_compute(&c->rows, 0, bins, log, function, source,
                         &c->histogram, error);
  if (rc != SQLITE_OK) return rc;
  cursor->n_rows = (sqlite3_int64)c->histogram.n_groups *
                   (c->histogram.n_bins + c->histogram.has_zero_bin);
  return SQLITE_OK;
}

static void histogram_reset(TableFunctionCursor *cursor) {
  HistogramCursor *c = (HistogramCursor *)cursor;
  grouped_free(&c->rows);
  histogram_free(&c->histogram);
}

static int histogram_column(sqlite3_vtab_cursor *cursor,
                            sqlite3_context *context, int i) {
  HistogramCursor *c = (HistogramCursor *)cursor;
  const Histogram *h = &c->histogram;
  int per_group = h->n_bins + h->has_zero_bin;
  int group = (int)(c->base.at / per_group);
  int bin = (int)(c->base.at % per_group) + !h->has_zero_bin;
  switch (i) {
    case HISTOGRAM_BY_VALUE:
      if (c->rows.group_value[group])
        sqlite3_result_value(context, c->rows.group_value[group]);
      break;
    case HISTOGRAM_BIN:
      sqlite3_result_int(context, bin);
      break;
    case HISTOGRAM_LOWER:
      sqlite3_result_double(context, bin == 0 ? 0.0 : h->edges[bin - 1]);
      break;
    case HISTOGRAM_UPPER:
      sqlite3_result_double(context, bin == 0 ? 0.0 : h->edges[bin]);
      break;
    case HISTOGRAM_COUNT:
      sqlite3_result_int64(context,
                           h->count[(size_t)group * (size_t)(h->n_bins + 1) +
                                    (size_t)bin]);
      break;
    default:
      if (c->base.argument[i - HISTOGRAM_SOURCE])
        sqlite3_result_value(context,
                             c->base.argument[i - HISTOGRAM_SOURCE]);
      break;
  }
  return SQLITE_OK;
}

const TableFunction claim_histogram_function = {
  .schema = "CREATE TABLE x(by_value, bin INTEGER, lower REAL, upper REAL,"
            " count INTEGER, source HIDDEN, \"column\" HIDDEN, bins HIDDEN,"
            " \"by\" HIDDEN, log HIDDEN)",
  .first_argument = HISTOGRAM_SOURCE,
  .n_arguments = N_ARGUMENTS,
  .n_required = N_REQUIRED,
  .cursor_size = sizeof(HistogramCursor),
  .run = histogram_run,
  .reset = histogram_reset,
  .column = histogram_column,
};
