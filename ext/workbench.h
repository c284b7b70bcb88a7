/*
** The analyst's functions: summaries, histograms, SVG plots, explanations
** and model management. claim.c registers them; this header declares what
** it registers and the pieces that the files share.
*/
#ifndef CLAIM_WORKBENCH_H
#define CLAIM_WORKBENCH_H

#include <stddef.h>

#include "claim.h"

/* ---- Reading grouped columns (grouped.c) ---------------------------- */

/* One column of a GroupedRows. */
typedef struct GroupedColumn {
  char *name;                  /* as the source spells it */
  double *value;               /* (n_rows) in group order, NaN if missing */
  sqlite3_int64 n_numbers;     /* values that are not missing */
  int numeric;                 /* every value is a number or missing */
  sqlite3_int64 invalid_row;   /* row of the first non-number */
  char *invalid_value;         /* that value, quoted by describe_value() */
} GroupedColumn;

/*
** Columns of a table or view with their rows sorted by the value of a
** "by" column. Rows of group g are group_start[g] .. group_start[g+1]-1.
*/
typedef struct GroupedRows {
  int n_rows;
  sqlite3_int64 *row;          /* (n_rows) rowid, or position in a view */
  int n_groups;
  int *group_start;            /* (n_groups + 1) */
  sqlite3_value **group_value; /* (n_groups) NULL pointers without "by" */
  int n_columns;
  GroupedColumn *column;
} GroupedRows;

/*
** Reads the columns wanted[0..n_wanted-1] of source, or with wanted NULL
** every column except by, grouped by the column by (NULL: one group).
** Returns SQLITE_OK, or an error code with *error set to a message that
** starts with function (none for SQLITE_NOMEM).
*/
int grouped_read(sqlite3 *db, const char *function, const char *source,
                 const char *by, int n_wanted, const char *const *wanted,
                 GroupedRows *out, char **error);
void grouped_free(GroupedRows *rows);

/* Returns the error for a column that is not numeric, naming the row
** and the value that is not a number. */
char *grouped_invalid_message(const char *function, const char *source,
                              const GroupedColumn *column);

/* Appends a group's value as a plot label: its text, or NULL. */
void grouped_append_label(sqlite3_str *out, sqlite3_value *value);

/* ---- Table-valued functions (table_function.c) ---------------------- */

#define TABLE_FUNCTION_MAX_ARGUMENTS 8

typedef struct TableFunctionCursor TableFunctionCursor;

/* What one table-valued function adds to the shared methods. */
typedef struct TableFunction {
  const char *schema;          /* for sqlite3_declare_vtab() */
  int first_argument;          /* column of the first hidden argument */
  int n_arguments;             /* hidden columns, at most the maximum */
  int n_required;              /* arguments 1 .. n_required are required */
  size_t cursor_size;          /* a struct starting with the cursor */
  /* Checks the arguments and computes the rows, setting n_rows. Returns
  ** SQLITE_OK, or an error code with *error set (none for SQLITE_NOMEM). */
  int (*run)(TableFunctionCursor *cursor, sqlite3 *db, char **error);
  /* Frees what run() computed; the arguments are freed after it. */
  void (*reset)(TableFunctionCursor *cursor);
  /* xColumn: result i of the current row, or of its hidden arguments. */
  int (*column)(sqlite3_vtab_cursor *cursor, sqlite3_context *context,
                int i);
} TableFunction;

typedef struct TableFunctionTable {
  sqlite3_vtab base;
  sqlite3 *db;
  const TableFunction *function;
} TableFunctionTable;

/* The first member of each function's cursor. */
struct TableFunctionCursor {
  sqlite3_vtab_cursor base;
  sqlite3_int64 at;            /* current row, from 0 */
  sqlite3_int64 n_rows;
  sqlite3_value *argument[TABLE_FUNCTION_MAX_ARGUMENTS];  /* NULL if absent */
};

/* The module of every TableFunction, which is its client data. */
extern sqlite3_module table_function_module;

/* ---- Histograms (histogram.c) --------------------------------------- */

#define HISTOGRAM_MAX_BINS 1000

/*
** Bin counts of one column per group. Bins are numbered 1..n_bins with
** edges[b-1] .. edges[b]. With log edges, zeros go to bin 0 (edges 0..0)
** and has_zero_bin is set when there are any.
*/
typedef struct Histogram {
  int n_groups;
  int n_bins;
  int log;
  int has_zero_bin;
  double *edges;               /* (n_bins + 1) */
  sqlite3_int64 *count;        /* (n_groups, n_bins + 1), bin 0 first */
} Histogram;

int histogram_compute(const GroupedRows *rows, int column, int bins,
                      int log, const char *function, const char *source,
                      Histogram *out, char **error);
void histogram_free(Histogram *histogram);

/* Argument checks shared with claim_plot_histogram(); position is the
** argument's number in messages. A NULL log means 0. */
int histogram_parse_bins(const char *function, int position,
                         sqlite3_value *value, int *bins, char **error);
int histogram_parse_log(const char *function, int position,
                        sqlite3_value *value, int *log, char **error);

/* ---- Registered in claim.c ------------------------------------------ */

extern const TableFunction claim_describe_function;
extern const TableFunction claim_histogram_function;

void claim_plot_history_function(sqlite3_context *context, int argc,
                                 sqlite3_value **argv);
void claim_plot_confusion_function(sqlite3_context *context, int argc,
                                   sqlite3_value **argv);
void claim_plot_histogram_function(sqlite3_context *context, int argc,
                                   sqlite3_value **argv);
void claim_plot_scatter_function(sqlite3_context *context, int argc,
                                 sqlite3_value **argv);
void claim_drop_function(sqlite3_context *context, int argc,
                         sqlite3_value **argv);
void claim_explain_function(sqlite3_context *context, int argc,
                            sqlite3_value **argv);

#endif
