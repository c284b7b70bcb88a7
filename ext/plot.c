/*
** SVG plots for analysts, returned as TEXT. In the sqlite3 shell:
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
**      most SCATTER_MAX_POINTS rows (every k-th row in group order), and
**      its subtitle states how many.
**   4. Errors name the function, the argument or the row, and the value.
**   5. claim_plot_history() reads only this extension's tables and is
**      SQLITE_INNOCUOUS; the others read whole tables and are
**      SQLITE_DIRECTONLY.
*/
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "svg.h"
#include "workbench.h"
SQLITE_EXTENSION_INIT3

#define SCATTER_MAX_POINTS 1000
#define SCATTER_BINS 20
#define DEFAULT_BINS 20

/* Reports error (or out of memory when it is NULL) and frees it. */
static void report_error(sqlite3_context *context, int rc, char *error) {
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

/*
** Checks that argument position (from 1) is TEXT, or NULL when allow_null
** is set, and returns its text (NULL for NULL). On error sets *error.
*/
static const char *text_argument(const char *function, sqlite3_value **argv,
                                 int position, const char *name,
                                 const char *what, int allow_null,
                                 char **error) {
  sqlite3_value *v = argv[position - 1];
  if (sqlite3_value_type(v) == SQLITE_TEXT)
    return (const char *)sqlite3_value_text(v);
  if (allow_null && sqlite3_value_type(v) == SQLITE_NULL) return 0;
  char *expected = sqlite3_mprintf("%s as TEXT%s", what,
                                   allow_null ? ", or NULL" : "");
  *error = argument_error(function, position, name, expected ? expected : "",
                          v);
  sqlite3_free(expected);
  return 0;
}

/* Finishes the document and sets it as the result. */
static void return_svg(sqlite3_context *context, sqlite3_str *out) {
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

/* Returns the legend label of every group, or NULL when out of memory. */
static char **group_labels(const GroupedRows *rows) {
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

static void free_labels(char **label, int n) {
  if (!label) return;
  for (int i = 0; i < n; i++) sqlite3_free(label[i]);
  sqlite3_free(label);
}

/* Reads columns with grouped_read(), and rejects more groups than a plot
** has colors (rule 2). */
static int read_plot_groups(sqlite3 *db, const char *function,
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

/* Draws the legend of the groups of the column by: one entry per group,
** in the group's color, all with the same mark. */
static void draw_group_legend(sqlite3_str *out, double left, double top,
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

/* ---- claim_plot_history ---------------------------------------------- */

/* One metric per epoch: the training value, then the validation value. */
typedef struct History {
  int n;
  double *epoch;
  double *value[4];     /* accuracy, val_accuracy, loss, val_loss; NaN NULL */
} History;

static void history_free(History *h) {
  sqlite3_free(h->epoch);
  for (int i = 0; i < 4; i++) sqlite3_free(h->value[i]);
}

/* Draws one series as a line through its points, with a dot on each. */
static void draw_series(sqlite3_str *out, const SvgPanel *panel,
                        const double *x, const double *y, int n,
                        const char *color, int dashed) {
  sqlite3_str_appendf(out, "<polyline fill=\"none\" stroke=\"%s\""
                      " stroke-width=\"2\"%s points=\"", color,
                      dashed ? " stroke-dasharray=\"6 3\"" : "");
  int drawn = 0;
  for (int i = 0; i < n; i++) {
    if (isnan(y[i])) continue;
    sqlite3_str_appendf(out, "%s%.1f,%.1f", drawn++ ? " " : "",
                        svg_x(panel, x[i]), svg_y(panel, y[i]));
  }
  sqlite3_str_appendall(out, "\"/>\n");
  for (int i = 0; i < n; i++) {
    if (isnan(y[i])) continue;
    sqlite3_str_appendf(out, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"3\""
                        " fill=\"%s\"/>\n", svg_x(panel, x[i]),
                        svg_y(panel, y[i]), color);
  }
}

static int read_history(sqlite3 *db, const char *name, History *h) {
  sqlite3_stmt *stmt;
  int rc = sqlite3_prepare_v2(db,
      "SELECT epoch, accuracy, val_accuracy, loss, val_loss"
      " FROM claim_history WHERE model = ?1 ORDER BY epoch", -1, &stmt, 0);
  if (rc != SQLITE_OK) return rc;
  sqlite3_bind_text(stmt, 1, name, -1, SQLITE_STATIC);
  int cap = 0;
  while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
    if (h->n == cap) {
      cap = cap ? cap * 2 : 64;
      double *epoch = sqlite3_realloc64(h->epoch, 8 * (sqlite3_uint64)cap);
      if (!epoch) break;
      h->epoch = epoch;
      int i = 0;
      for (; i < 4; i++) {
        double *v = sqlite3_realloc64(h->value[i], 8 * (sqlite3_uint64)cap);
        if (!v) break;
        h->value[i] = v;
      }
      if (i < 4) break;
    }
    h->epoch[h->n] = sqlite3_column_double(stmt, 0);
    for (int i = 0; i < 4; i++)
      h->value[i][h->n] = sqlite3_column_type(stmt, i + 1) == SQLITE_NULL
                              ? NAN
                              : sqlite3_column_double(stmt, i + 1);
    h->n++;
  }
  if (rc == SQLITE_ROW) rc = SQLITE_NOMEM;
  if (rc == SQLITE_DONE) rc = SQLITE_OK;
  sqlite3_finalize(stmt);
  return rc;
}

void claim_plot_history_function(sqlite3_context *context, int argc,
                                 sqlite3_value **argv) {
  static const char function[] = "claim_plot_history";
  (void)argc;
  sqlite3 *db = sqlite3_context_db_handle(context);
  sqlite3_stmt *stmt = 0;
  History h;
  memset(&h, 0, sizeof(h));
  char *error = 0;
  int rc = SQLITE_ERROR;

  const char *name = text_argument(function, argv, 1, "model",
                                   "a model name", 0, &error);
  if (!name) goto done;

  /* The model's row: best epoch and the sizes for the subtitle. */
  int found = sqlite3_prepare_v2(db,
      "SELECT best_epoch, source, train_rows, validation_rows"
      " FROM claim_models WHERE name = ?1", -1, &stmt, 0) == SQLITE_OK;
  if (found) {
    sqlite3_bind_text(stmt, 1, name, -1, SQLITE_STATIC);
    found = sqlite3_step(stmt) == SQLITE_ROW;
  }
  if (!found && store_is_read_failure(sqlite3_errcode(db))) {
    rc = sqlite3_errcode(db) & 0xff;
    error = sqlite3_mprintf("%s(): reading model \"%s\" failed: %s; try "
                            "again, or set a busy timeout", function, name,
                            sqlite3_errmsg(db));
    goto done;
  }
  if (!found) {
    sqlite3_str *list = sqlite3_str_new(0);
    store_list_models(db, list);
    char *names = sqlite3_str_finish(list);
    error = sqlite3_mprintf("%s(): no model named \"%s\"; trained models: "
                            "%s; train one with claim_train()", function,
                            name, names ? names : "none");
    sqlite3_free(names);
    goto done;
  }
  double best_epoch = sqlite3_column_double(stmt, 0);
  char *subtitle = sqlite3_mprintf(
      "trained on \"%s\": %lld training rows, %lld validation rows; the "
      "stored weights are those of epoch %lld", sqlite3_column_text(stmt, 1),
      sqlite3_column_int64(stmt, 2), sqlite3_column_int64(stmt, 3),
      sqlite3_column_int64(stmt, 0));
  char *title = sqlite3_mprintf("Training history of model \"%s\"", name);

  rc = read_history(db, name, &h);
  if (rc == SQLITE_OK && h.n == 0) {
    error = sqlite3_mprintf("%s(): model \"%s\" has no rows in claim_history; "
                            "train it again with claim_train()", function,
                            name);
    rc = SQLITE_ERROR;
  }
  if (rc != SQLITE_OK || !title || !subtitle) {
    if (rc == SQLITE_OK) rc = SQLITE_NOMEM;
    if (rc != SQLITE_NOMEM && !error)
      error = sqlite3_mprintf("%s(): reading claim_history failed: %s",
                              function, sqlite3_errmsg(db));
    sqlite3_free(title);
    sqlite3_free(subtitle);
    goto done;
  }

  sqlite3_str *out = sqlite3_str_new(0);
  svg_begin(out, 1060, 400, title);
  svg_text(out, 455, 26, "title", "middle", 0, title);
  svg_text(out, 455, 44, "subtitle", "middle", 0, subtitle);
  sqlite3_free(title);
  sqlite3_free(subtitle);

  static const char *const panel_title[2] = {"Accuracy per epoch",
                                             "Loss per epoch"};
  static const char *const y_label[2] = {
    "accuracy (fraction of rows correct)",
    "loss (binary cross-entropy, nats)"};
  int has_validation = 0;
  for (int metric = 0; metric < 2; metric++) {
    SvgPanel panel = {80 + metric * 430, 80, 330, 240, {0, 0, 0, 1},
                      {0, 0, 0, 0}};
    svg_axis_fit(&panel.x, h.epoch[0], h.epoch[h.n - 1], 0);
    panel.x.integer = 1;
    double min = INFINITY, max = -INFINITY;
    for (int s = 0; s < 2; s++)
      for (int i = 0; i < h.n; i++) {
        double v = h.value[metric * 2 + s][i];
        if (isnan(v)) continue;
        if (s == 1) has_validation = 1;
        if (v < min) min = v;
        if (v > max) max = v;
      }
    if (min > max) min = max = 0;
    svg_axis_fit(&panel.y, min, max, 0);
    svg_panel(out, &panel, panel_title[metric], "epoch", y_label[metric],
              SVG_X_TICK_LABELS | SVG_Y_TICK_LABELS | SVG_GRID);
    double x = svg_x(&panel, best_epoch);
    sqlite3_str_appendf(out, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\""
                        " y2=\"%.1f\" stroke=\"#555\" stroke-width=\"1.5\""
                        " stroke-dasharray=\"4 3\"/>\n", x, panel.top, x,
                        panel.top + panel.height);
    for (int s = 0; s < 2; s++)
      draw_series(out, &panel, h.epoch, h.value[metric * 2 + s], h.n,
                  svg_color(s), 0);
  }

  char best[48];
  sqlite3_snprintf(sizeof(best), best, "kept weights (epoch %lld)",
                   (long long)best_epoch);
  const char *label[3] = {"training", "validation", best};
  const char *color[3] = {svg_color(0), svg_color(1), "#555"};
  const int mark[3] = {SVG_MARK_LINE, SVG_MARK_LINE, SVG_MARK_DASH};
  if (has_validation) {
    svg_legend(out, 855, 80, 0, 3, label, color, mark);
  } else {
    label[1] = best;
    color[1] = "#555";
    svg_legend(out, 855, 80, 0, 2, label, color, (const int[]){
                   SVG_MARK_LINE, SVG_MARK_DASH});
  }
  return_svg(context, out);
  rc = SQLITE_OK;

done:
  sqlite3_finalize(stmt);
  history_free(&h);
  if (rc != SQLITE_OK) report_error(context, rc, error);
}

/* ---- claim_plot_confusion -------------------------------------------- */

/* ColorBrewer's 9-class "Blues", the colors of matplotlib's "Blues"
** colormap at 0, 1/8, ..., 1. */
static const unsigned blues[9] = {
  0xf7fbff, 0xdeebf7, 0xc6dbef, 0x9ecae1, 0x6baed6,
  0x4292c6, 0x2171b5, 0x08519c, 0x08306b,
};

/* Writes the "Blues" color at t in [0, 1] as "#rrggbb". */
static void blues_color(double t, char *buffer, int size) {
  if (!(t > 0)) t = 0;
  if (t > 1) t = 1;
  double position = t * 8;
  int low = position >= 8 ? 7 : (int)position;
  double f = position - low;
  int channel[3];
  for (int c = 0; c < 3; c++) {
    int a = (int)(blues[low] >> (16 - 8 * c)) & 0xff;
    int b = (int)(blues[low + 1] >> (16 - 8 * c)) & 0xff;
    channel[c] = (int)lround(a + (b - a) * f);
  }
  sqlite3_snprintf(size, buffer, "#%02x%02x%02x", channel[0], channel[1],
                   channel[2]);
}

/* The parts of claim_evaluate()'s JSON that the plot shows. */
typedef struct Evaluation {
  char *model;
  sqlite3_int64 rows;
  double accuracy;
  sqlite3_int64 confusion[2][2];   /* [true][predicted], 0 claim */
} Evaluation;

/*
** Runs claim_evaluate(source, model) on the connection and reads its JSON.
** An error of claim_evaluate() is reported under this function's name.
*/
static int run_evaluate(sqlite3 *db, const char *function, const char *source,
                        const char *model, Evaluation *result, char **error) {
  sqlite3_stmt *stmt = 0;
  char *json = 0;
  int rc = sqlite3_prepare_v2(db, "SELECT claim_evaluate(?1, ?2)", -1, &stmt,
                              0);
  if (rc == SQLITE_OK) {
    sqlite3_bind_text(stmt, 1, source, -1, SQLITE_STATIC);
    sqlite3_bind_text(stmt, 2, model, -1, SQLITE_STATIC);
    rc = sqlite3_step(stmt);
    if (rc == SQLITE_ROW) {
      json = sqlite3_mprintf("%s", sqlite3_column_text(stmt, 0));
      rc = json ? SQLITE_OK : SQLITE_NOMEM;
    }
  }
  if (rc != SQLITE_OK && rc != SQLITE_NOMEM && rc != SQLITE_INTERRUPT) {
    static const char prefix[] = "claim_evaluate(): ";
    const char *message = sqlite3_errmsg(db);
    if (strncmp(message, prefix, sizeof(prefix) - 1) == 0)
      message += sizeof(prefix) - 1;
    *error = sqlite3_mprintf("%s(): %s", function, message);
    rc = SQLITE_ERROR;
  }
  sqlite3_finalize(stmt);
  stmt = 0;
  if (rc != SQLITE_OK) goto done;

  rc = sqlite3_prepare_v2(db,
      "SELECT json_extract(?1, '$.model'), json_extract(?1, '$.rows'),"
      " json_extract(?1, '$.accuracy'),"
      " json_extract(?1, '$.confusion.claim.claim'),"
      " json_extract(?1, '$.confusion.claim.opinion'),"
      " json_extract(?1, '$.confusion.opinion.claim'),"
      " json_extract(?1, '$.confusion.opinion.opinion')", -1, &stmt, 0);
  if (rc != SQLITE_OK) goto done;
  sqlite3_bind_text(stmt, 1, json, -1, SQLITE_STATIC);
  rc = sqlite3_step(stmt);
  if (rc != SQLITE_ROW) goto done;
  result->model = sqlite3_mprintf("%s", sqlite3_column_text(stmt, 0));
  if (!result->model) {
    rc = SQLITE_NOMEM;
    goto done;
  }
  result->rows = sqlite3_column_int64(stmt, 1);
  result->accuracy = sqlite3_column_double(stmt, 2);
  for (int i = 0; i < 4; i++)
    result->confusion[i / 2][i % 2] = sqlite3_column_int64(stmt, 3 + i);
  rc = SQLITE_OK;

done:
  if (rc != SQLITE_OK && rc != SQLITE_NOMEM && !*error)
    *error = sqlite3_mprintf("%s(): reading the result of claim_evaluate() "
                             "failed: %s", function, sqlite3_errmsg(db));
  sqlite3_finalize(stmt);
  sqlite3_free(json);
  return rc;
}

void claim_plot_confusion_function(sqlite3_context *context, int argc,
                                   sqlite3_value **argv) {
  static const char function[] = "claim_plot_confusion";
  static const char *const class_name[2] = {"claim", "opinion"};
  sqlite3 *db = sqlite3_context_db_handle(context);
  Evaluation e;
  memset(&e, 0, sizeof(e));
  char *error = 0;
  int rc = SQLITE_ERROR;

  const char *source = text_argument(function, argv, 1, "source",
                                     "a table or view name", 0, &error);
  if (!source) goto done;
  const char *model = "default";
  if (argc > 1) {
    model = text_argument(function, argv, 2, "model", "a model name", 0,
                          &error);
    if (!model) goto done;
  }
  rc = run_evaluate(db, function, source, model, &e, &error);
  if (rc != SQLITE_OK) goto done;

  char *title = sqlite3_mprintf("Confusion matrix of model \"%s\" on \"%s\"",
                                e.model, source);
  char *subtitle = sqlite3_mprintf("%lld labelled rows, accuracy %.4f",
                                   (long long)e.rows, e.accuracy);
  sqlite3_str *out = sqlite3_str_new(0);
  svg_begin(out, 600, 470, title ? title : "");
  svg_text(out, 300, 26, "title", "middle", 0, title ? title : "");
  svg_text(out, 300, 44, "subtitle", "middle", 0, subtitle ? subtitle : "");
  sqlite3_free(title);
  sqlite3_free(subtitle);

  const double left = 150, top = 80, cell = 140;
  sqlite3_int64 max = 1;
  for (int i = 0; i < 4; i++)
    if (e.confusion[i / 2][i % 2] > max) max = e.confusion[i / 2][i % 2];
  char color[8], text[64];
  for (int t = 0; t < 2; t++) {
    sqlite3_int64 actual = e.confusion[t][0] + e.confusion[t][1];
    for (int p = 0; p < 2; p++) {
      sqlite3_int64 n = e.confusion[t][p];
      double shade = (double)n / (double)max;
      double x = left + p * cell, y = top + t * cell;
      blues_color(shade, color, sizeof(color));
      sqlite3_str_appendf(out, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\""
                          " height=\"%.1f\" fill=\"%s\" stroke=\"white\"/>\n",
                          x, y, cell, cell, color);
      /* White text on the darker half of the colormap stays readable. */
      const char *ink = shade > 0.5 ? " style=\"fill: white\"" : "";
      sqlite3_str_appendf(out, "<text id=\"count-%s-as-%s\" x=\"%.1f\""
                          " y=\"%.1f\" class=\"cell\" text-anchor=\"middle\"%s>"
                          "%lld</text>\n", class_name[t], class_name[p],
                          x + cell / 2, y + cell / 2, ink, (long long)n);
      sqlite3_snprintf(sizeof(text), text, "%.1f%% of true %s",
                       actual ? 100.0 * (double)n / (double)actual : 0.0,
                       class_name[t]);
      sqlite3_str_appendf(out, "<text x=\"%.1f\" y=\"%.1f\" class=\"legend\""
                          " text-anchor=\"middle\"%s>", x + cell / 2,
                          y + cell / 2 + 22, ink);
      svg_append_escaped(out, text);
      sqlite3_str_appendall(out, "</text>\n");
    }
    svg_text(out, left + t * cell + cell / 2, top + 2 * cell + 18, "label",
             "middle", 0, class_name[t]);
    svg_text(out, left - 10, top + t * cell + cell / 2 + 4, "label", "end",
             0, class_name[t]);
  }
  svg_text(out, left + cell, top + 2 * cell + 42, "label", "middle", 0,
           "predicted label");
  svg_text(out, left - 80, top + cell, "label", "middle", -90, "true label");

  /* The colorbar: the colormap from 0 at the bottom to max at the top. */
  double bar_left = left + 2 * cell + 30, bar_height = 2 * cell;
  sqlite3_str_appendall(out, "<defs><linearGradient id=\"blues\" x1=\"0\""
                        " y1=\"1\" x2=\"0\" y2=\"0\">");
  for (int i = 0; i < 9; i++)
    sqlite3_str_appendf(out, "<stop offset=\"%.3f\" stop-color=\"#%06x\"/>",
                        i / 8.0, blues[i]);
  sqlite3_str_appendall(out, "</linearGradient></defs>\n");
  sqlite3_str_appendf(out, "<rect x=\"%.1f\" y=\"%.1f\" width=\"18\""
                      " height=\"%.1f\" fill=\"url(#blues)\" stroke=\"#333\"/>"
                      "\n", bar_left, top, bar_height);
  SvgPanel bar = {bar_left, top, 18, bar_height, {0, 1, 0, 0},
                  {0, (double)max, 0, 1}};
  double tick[SVG_MAX_TICKS];
  int n_ticks = svg_axis_ticks(&bar.y, tick);
  for (int i = 0; i < n_ticks; i++) {
    double y = svg_y(&bar, tick[i]);
    sqlite3_str_appendf(out, "<line class=\"tickmark\" x1=\"%.1f\""
                        " y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>\n",
                        bar_left + 18, y, bar_left + 22, y);
    svg_format_number(text, sizeof(text), tick[i]);
    svg_text(out, bar_left + 25, y + 3.5, "tick", "start", 0, text);
  }
  svg_text(out, bar_left + 70, top + cell, "label", "middle", -90,
           "rows per cell");
  return_svg(context, out);
  rc = SQLITE_OK;

done:
  sqlite3_free(e.model);
  if (rc != SQLITE_OK) report_error(context, rc, error);
}

/* ---- claim_plot_histogram -------------------------------------------- */

/* Draws one group's counts as a filled step outline. */
static void draw_histogram(sqlite3_str *out, const SvgPanel *panel,
                           const Histogram *h, int group, const char *color) {
  const sqlite3_int64 *count = h->count + (size_t)group * (size_t)(h->n_bins
                                                                   + 1);
  sqlite3_str_appendf(out, "<path fill=\"%s\" fill-opacity=\"0.35\""
                      " stroke=\"%s\" stroke-width=\"1.2\" d=\"M%.1f,%.1f",
                      color, color, svg_x(panel, h->edges[0]),
                      svg_y(panel, 0));
  for (int b = 1; b <= h->n_bins; b++) {
    double y = svg_y(panel, (double)count[b]);
    sqlite3_str_appendf(out, " L%.1f,%.1f L%.1f,%.1f",
                        svg_x(panel, h->edges[b - 1]), y,
                        svg_x(panel, h->edges[b]), y);
  }
  sqlite3_str_appendf(out, " L%.1f,%.1f Z\"/>\n",
                      svg_x(panel, h->edges[h->n_bins]), svg_y(panel, 0));
}

void claim_plot_histogram_function(sqlite3_context *context, int argc,
                                   sqlite3_value **argv) {
  static const char function[] = "claim_plot_histogram";
  sqlite3 *db = sqlite3_context_db_handle(context);
  GroupedRows rows;
  memset(&rows, 0, sizeof(rows));
  Histogram h;
  memset(&h, 0, sizeof(h));
  char **label = 0;
  char *error = 0;
  int rc = SQLITE_ERROR;

  const char *source = text_argument(function, argv, 1, "source",
                                     "a table or view name", 0, &error);
  if (!source) goto done;
  const char *column = text_argument(function, argv, 2, "column",
                                     "a column name", 0, &error);
  if (!column) goto done;
  const char *by = 0;
  if (argc > 2) {
    by = text_argument(function, argv, 3, "by", "a column name", 1, &error);
    if (error) goto done;
  }
  int bins = DEFAULT_BINS, log = 0;
  if (argc > 3 && sqlite3_value_type(argv[3]) != SQLITE_NULL &&
      histogram_parse_bins(function, 4, argv[3], &bins, &error) != SQLITE_OK)
    goto done;
  if (argc > 4 &&
      histogram_parse_log(function, 5, argv[4], &log, &error) != SQLITE_OK)
    goto done;

  rc = read_plot_groups(db, function, source, by, 1, &column, &rows, &error);
  if (rc != SQLITE_OK) goto done;
  rc = histogram_compute(&rows, 0, bins, log, function, source, &h, &error);
  if (rc != SQLITE_OK) goto done;
  label = group_labels(&rows);
  if (!label) {
    rc = SQLITE_NOMEM;
    goto done;
  }

  const char *name = rows.column[0].name;
  char *title = by ? sqlite3_mprintf("Histogram of %s by %s", name, by)
                   : sqlite3_mprintf("Histogram of %s", name);
  sqlite3_int64 zeros = 0;
  for (int g = 0; g < h.n_groups; g++)
    zeros += h.count[(size_t)g * (size_t)(bins + 1)];
  char *subtitle = sqlite3_mprintf(
      "\"%s\": %lld values in %d %s bins%z", source,
      (long long)rows.column[0].n_numbers, bins, log ? "logarithmic" : "equal",
      zeros ? sqlite3_mprintf("; %lld zeros are not on the log axis",
                              (long long)zeros)
            : sqlite3_mprintf(""));
  char *x_label = sqlite3_mprintf("%s%s", name, log ? " (log scale)" : "");
  sqlite3_str *out = sqlite3_str_new(0);
  /* The legend of the groups takes a column on the right. */
  svg_begin(out, by ? 820 : 650, 440, title ? title : "");
  svg_text(out, 350, 26, "title", "middle", 0, title ? title : "");
  svg_text(out, 350, 44, "subtitle", "middle", 0, subtitle ? subtitle : "");

  SvgPanel panel = {90, 70, 520, 290, {0, 0, 0, 0}, {0, 0, 0, 1}};
  svg_axis_fit(&panel.x, h.edges[0], h.edges[bins], log);
  sqlite3_int64 highest = 0;
  for (int g = 0; g < h.n_groups; g++)
    for (int b = 1; b <= bins; b++)
      if (h.count[(size_t)g * (size_t)(bins + 1) + (size_t)b] > highest)
        highest = h.count[(size_t)g * (size_t)(bins + 1) + (size_t)b];
  svg_axis_fit(&panel.y, 0, (double)highest, 0);
  panel.y.low = 0;
  svg_panel(out, &panel, 0, x_label ? x_label : name, "rows per bin",
            SVG_X_TICK_LABELS | SVG_Y_TICK_LABELS | SVG_GRID);
  for (int g = 0; g < h.n_groups; g++)
    draw_histogram(out, &panel, &h, g, svg_color(g));
  if (by)
    draw_group_legend(out, 630, 70, by, h.n_groups, label, SVG_MARK_PATCH);
  sqlite3_free(title);
  sqlite3_free(subtitle);
  sqlite3_free(x_label);
  return_svg(context, out);
  rc = SQLITE_OK;

done:
  free_labels(label, rows.n_groups);
  histogram_free(&h);
  grouped_free(&rows);
  if (rc != SQLITE_OK) report_error(context, rc, error);
}

/* ---- claim_plot_scatter ---------------------------------------------- */

/* Returns the English ordinal suffix of n: "st", "nd", "rd" or "th". */
static const char *ordinal_suffix(int n) {
  if (n % 100 >= 11 && n % 100 <= 13) return "th";
  switch (n % 10) {
    case 1: return "st";
    case 2: return "nd";
    case 3: return "rd";
    default: return "th";
  }
}

/* Counts value + 1 of each group into SCATTER_BINS log bins of the axis. */
static void draw_diagonal(sqlite3_str *out, const SvgPanel *axes,
                          const GroupedRows *rows, const double *value) {
  sqlite3_int64 count[SVG_N_COLORS][SCATTER_BINS];
  memset(count, 0, sizeof(count));
  double low = log10(axes->x.low), high = log10(axes->x.high);
  sqlite3_int64 highest = 1;
  for (int g = 0; g < rows->n_groups; g++)
    for (int i = rows->group_start[g]; i < rows->group_start[g + 1]; i++) {
      if (isnan(value[i])) continue;
      int b = (int)((log10(value[i] + 1) - low) / (high - low) *
                    SCATTER_BINS);
      if (b < 0) b = 0;
      if (b >= SCATTER_BINS) b = SCATTER_BINS - 1;
      if (++count[g][b] > highest) highest = count[g][b];
    }
  SvgPanel panel = *axes;
  panel.y.low = 0;
  panel.y.high = highest * 1.05;
  panel.y.log = 0;
  for (int g = 0; g < rows->n_groups; g++) {
    const char *color = svg_color(g);
    sqlite3_str_appendf(out, "<path fill=\"%s\" fill-opacity=\"0.35\""
                        " stroke=\"%s\" stroke-width=\"1\" d=\"M%.1f,%.1f",
                        color, color, panel.left, svg_y(&panel, 0));
    for (int b = 0; b < SCATTER_BINS; b++) {
      double y = svg_y(&panel, (double)count[g][b]);
      double x0 = panel.left + panel.width * b / SCATTER_BINS;
      double x1 = panel.left + panel.width * (b + 1) / SCATTER_BINS;
      sqlite3_str_appendf(out, " L%.1f,%.1f L%.1f,%.1f", x0, y, x1, y);
    }
    sqlite3_str_appendf(out, " L%.1f,%.1f Z\"/>\n", panel.left + panel.width,
                        svg_y(&panel, 0));
  }
}

/* Draws every stride-th row that has both values, colored by group. */
static void draw_points(sqlite3_str *out, const SvgPanel *panel,
                        const GroupedRows *rows, const double *x,
                        const double *y, int stride) {
  for (int g = 0; g < rows->n_groups; g++) {
    sqlite3_str_appendf(out, "<g fill=\"%s\" fill-opacity=\"0.45\">\n",
                        svg_color(g));
    for (int i = rows->group_start[g]; i < rows->group_start[g + 1]; i++) {
      if (i % stride != 0 || isnan(x[i]) || isnan(y[i])) continue;
      sqlite3_str_appendf(out, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"1.8\"/>\n",
                          svg_x(panel, x[i] + 1), svg_y(panel, y[i] + 1));
    }
    sqlite3_str_appendall(out, "</g>\n");
  }
}

void claim_plot_scatter_function(sqlite3_context *context, int argc,
                                 sqlite3_value **argv) {
  static const char function[] = "claim_plot_scatter";
  sqlite3 *db = sqlite3_context_db_handle(context);
  GroupedRows rows;
  memset(&rows, 0, sizeof(rows));
  char **label = 0;
  char *error = 0;
  int rc = SQLITE_ERROR;

  const char *source = text_argument(function, argv, 1, "source",
                                     "a table or view name", 0, &error);
  if (!source) goto done;
  const char *by = default_column[COLUMN_LABEL];
  if (argc > 1) {
    by = text_argument(function, argv, 2, "by", "a column name", 1, &error);
    if (error) goto done;
  }

  const char *wanted[N_COUNTS];
  for (int c = 0; c < N_COUNTS; c++)
    wanted[c] = default_column[COLUMN_FIRST_COUNT + c];
  rc = read_plot_groups(db, function, source, by, N_COUNTS, wanted, &rows,
                        &error);
  if (rc != SQLITE_OK) goto done;
  rc = SQLITE_ERROR;
  double max[N_COUNTS];
  for (int c = 0; c < N_COUNTS; c++) {
    const GroupedColumn *column = &rows.column[c];
    if (!column->numeric) {
      error = grouped_invalid_message(function, source, column);
      goto done;
    }
    max[c] = 0;
    for (int i = 0; i < rows.n_rows; i++) {
      double v = column->value[i];
      if (v < 0) {
        error = sqlite3_mprintf("%s(): \"%s\" column \"%s\" row %lld: %.15g "
                                "is negative, and the log axes show counts "
                                "of 0 and above", function, source,
                                column->name, (long long)rows.row[i], v);
        goto done;
      }
      if (v > max[c]) max[c] = v;
    }
  }
  if (rows.n_rows == 0) {
    error = sqlite3_mprintf("%s(): \"%s\" has no rows", function, source);
    goto done;
  }
  label = group_labels(&rows);
  if (!label) {
    rc = SQLITE_NOMEM;
    goto done;
  }

  int stride = (rows.n_rows + SCATTER_MAX_POINTS - 1) / SCATTER_MAX_POINTS;
  int drawn = (rows.n_rows + stride - 1) / stride;
  char *title = by ? sqlite3_mprintf("Engagement counts of \"%s\" by %s",
                                     source, by)
                   : sqlite3_mprintf("Engagement counts of \"%s\"", source);
  char *subtitle =
      stride > 1
          ? sqlite3_mprintf("Log axes show count + 1, so that zeros appear "
                            "at 1. Points: %d of %d rows (every %d%s row, in "
                            "group order).", drawn, rows.n_rows, stride,
                            ordinal_suffix(stride))
          : sqlite3_mprintf("Log axes show count + 1, so that zeros appear "
                            "at 1. Points: all %d rows.", rows.n_rows);
  const double left = 95, top = 80, size = 150, gap = 24;
  const double step = size + gap;
  sqlite3_str *out = sqlite3_str_new(0);
  svg_begin(out, (int)(left + N_COUNTS * step + 20),
            (int)(top + N_COUNTS * step + 45), title ? title : "");
  svg_text(out, left + N_COUNTS * step / 2, 26, "title", "middle", 0,
           title ? title : "");
  svg_text(out, left + N_COUNTS * step / 2, 44, "subtitle", "middle", 0,
           subtitle ? subtitle : "");
  sqlite3_free(title);
  sqlite3_free(subtitle);

  SvgAxis axis[N_COUNTS];
  for (int c = 0; c < N_COUNTS; c++) {
    memset(&axis[c], 0, sizeof(axis[c]));
    svg_axis_fit(&axis[c], 1, max[c] + 1, 1);
  }
  for (int i = 0; i < N_COUNTS; i++) {
    for (int j = 0; j <= i; j++) {
      SvgPanel panel = {left + j * step, top + i * step, size, size,
                        axis[j], axis[i]};
      char *x_label = i == N_COUNTS - 1
                          ? sqlite3_mprintf("%s + 1", rows.column[j].name)
                          : 0;
      char *y_label = j == 0 && i > 0
                          ? sqlite3_mprintf("%s + 1", rows.column[i].name)
                          : 0;
      int flags = (i == N_COUNTS - 1 ? SVG_X_TICK_LABELS : 0) |
                  (j == 0 && i > 0 ? SVG_Y_TICK_LABELS : 0);
      if (i == j) {
        SvgPanel frame = panel;
        frame.y.log = 0;
        frame.y.low = 0;
        frame.y.high = 1;
        /* A diagonal panel's y axis is rows per bin, without ticks. */
        svg_panel(out, &frame, 0, x_label, i == 0 ? "rows per bin" : 0,
                  (flags & ~SVG_Y_TICK_LABELS) | SVG_NO_Y_TICKS);
        draw_diagonal(out, &panel, &rows, rows.column[i].value);
      } else {
        svg_panel(out, &panel, 0, x_label, y_label, flags | SVG_GRID);
        draw_points(out, &panel, &rows, rows.column[j].value,
                    rows.column[i].value, stride);
      }
      sqlite3_free(x_label);
      sqlite3_free(y_label);
    }
  }
  if (by)
    draw_group_legend(out, left + 3 * step, top, by, rows.n_groups, label,
                      SVG_MARK_DOT);
  return_svg(context, out);
  rc = SQLITE_OK;

done:
  free_labels(label, rows.n_groups);
  grouped_free(&rows);
  if (rc != SQLITE_OK) report_error(context, rc, error);
}
