/*
** SVG plots for analysts, returned as TEXT, and the helpers they share.
** claim_plot_history() and claim_plot_confusion() are in plot_model.c,
** claim_plot_histogram() and claim_plot_scatter() in plot_data.c. In the
** sqlite3 shell:
**
**   SELECT writefile('history.svg', claim_plot_history('default'));
**   SELECT writefile('confusion.svg', claim_plot_confusion('test'));
**   SELECT writefile('views.svg', claim_plot_histogram('videos',
**                    'video_view_count', 'claim_status', 30, 1));
**   SELECT writefile('pairs.svg', claim_plot_scatter('videos'));
**
** claim_plot_history(model)
**   Accuracy and loss per epoch, training against validation, from
**   claim_history, with the epoch whose weights were kept marked.
** claim_plot_confusion(source [, model])
**   The 2x2 confusion matrix that claim_evaluate(source, model) returns,
**   colored by count, with the share of each true class per cell.
** claim_plot_histogram(source, column [, by [, bins [, log]]])
**   The counts of claim_histogram() (bins default 20, log default 0),
**   one colored layer per value of by.
** claim_plot_scatter(source [, by])
**   The five engagement counts against each other, colored by the value
**   of by (default claim_status), as seaborn's pairplot(corner=True):
**   histograms on the diagonal, scatter plots below it.
**
** Rules:
**   1. The output is a standalone SVG 1.1 document in UTF-8; every text
**      from the database is XML-escaped.
**   2. Plots with groups color them with matplotlib's ten "tab10" colors,
**      so "by" may have at most ten distinct values.
**   3. The scatter matrix has log axes that show count + 1, so that zero
**      counts stay visible at 1; negative counts are an error. It draws at
**      most SCATTER_MAX_POINTS (1000) rows, every k-th row in group order,
**      and its subtitle states how many.
**   4. Errors name the function, the argument or the row, and the value.
**   5. claim_plot_history() reads only this extension's tables and is
**      SQLITE_INNOCUOUS; the others read whole tables and are
**      SQLITE_DIRECTONLY.
*/
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "plot.h"
SQLITE_EXTENSION_INIT3

void plot_report_error(sqlite3_context *context, int rc, char *error) {
  if (rc == SQLITE_NOMEM || (!error && rc == SQLITE_ERROR)) {
    sqlite3_result_error_nomem(context);
  } else if (rc == SQLITE_INTERRUPT) {
    sqlite3_result_error(context, "interrupted", -1);
    sqlite3_result_error_code(context, SQLITE_INTERRUPT);
  } else {
    sqlite3_result_error(context, error ? error : "unknown error", -1);
    if (rc != SQLITE_ERROR) sqlite3_result_error_code(context, rc);
  }
  sqlite3_free(error);
}

const char *plot_text_argument(const char *function, sqlite3_value **argv,
                               int position, const char *name,
                               const char *what, int allow_null,
                               char **error) {
  sqlite3_value *v = argv[position - 1];
  if (sqlite3_value_type(v) == SQLITE_TEXT) {
    if (check_nul_argument(function, position, name, v, error) != SQLITE_OK) {
      /* Out of memory leaves no message; one is needed to stop. */
      if (!*error) *error = sqlite3_mprintf("out of memory");
      return 0;
    }
    return (const char *)sqlite3_value_text(v);
  }
  if (allow_null && sqlite3_value_type(v) == SQLITE_NULL) return 0;
  char *expected = sqlite3_mprintf("%s as TEXT%s", what,
                                   allow_null ? ", or NULL" : "");
  *error = argument_error(function, position, name, expected ? expected : "",
                          v);
  sqlite3_free(expected);
  return 0;
}

void plot_return_svg(sqlite3_context *context, sqlite3_str *out) {
  svg_end(out);
  int rc = sqlite3_str_errcode(out);
  char *svg = sqlite3_str_finish(out);
  if (rc != SQLITE_OK || !svg) {
    sqlite3_free(svg);
    sqlite3_result_error_nomem(context);
    return;
  }
  sqlite3_result_text(context, svg, -1, sqlite3_free);
}

char **plot_group_labels(const GroupedRows *rows) {
  char **label = sqlite3_malloc64(sizeof(char *) *
                                  (sqlite3_uint64)(rows->n_groups + 1));
  if (!label) return 0;
  memset(label, 0, sizeof(char *) * (size_t)(rows->n_groups + 1));
  for (int g = 0; g < rows->n_groups; g++) {
    sqlite3_str *text = sqlite3_str_new(0);
    grouped_append_label(text, rows->group_value[g]);
    label[g] = sqlite3_str_finish(text);
    if (!label[g]) {
      for (int k = 0; k < g; k++) sqlite3_free(label[k]);
      sqlite3_free(label);
      return 0;
    }
  }
  return label;
}

void plot_free_labels(char **label, int n) {
  if (!label) return;
  for (int i = 0; i < n; i++) sqlite3_free(label[i]);
  sqlite3_free(label);
}

/* Rule 2: more groups than colors is an error. */
int plot_read_groups(sqlite3 *db, const char *function,
                     const char *source, const char *by, int n_wanted,
                     const char *const *wanted, GroupedRows *rows,
                     char **error) {
  int rc = grouped_read(db, function, source, by, n_wanted, wanted, rows,
                        error);
  if (rc != SQLITE_OK) return rc;
  if (rows->n_groups > SVG_N_COLORS) {
    *error = sqlite3_mprintf("%s(): \"%s\" column \"%s\" has %d distinct "
                             "values, and a plot colors at most %d; pass a "
                             "\"by\" column with fewer values", function,
                             source, by, rows->n_groups, SVG_N_COLORS);
    return SQLITE_ERROR;
  }
  return SQLITE_OK;
}

void plot_draw_group_legend(sqlite3_str *out, double left, double top,
                            const char *by, int n_groups,
                            char *const *label, int mark) {
  const char *color[SVG_N_COLORS];
  int marks[SVG_N_COLORS];
  for (int g = 0; g < n_groups; g++) {
    color[g] = svg_color(g);
    marks[g] = mark;
  }
  svg_legend(out, left, top, by, n_groups, (const char *const *)label, color,
             marks);
}
