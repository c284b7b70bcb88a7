/*
** claim_plot_history(model) and claim_plot_confusion(source [, model]): the
** plots of a trained model. The rules of every plot are in plot.c.
*/
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "plot.h"
SQLITE_EXTENSION_INIT3

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

  const char *name = plot_text_argument(function, argv, 1, "model",
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
  plot_return_svg(context, out);
  rc = SQLITE_OK;

done:
  sqlite3_finalize(stmt);
  history_free(&h);
  if (rc != SQLITE_OK) plot_report_error(context, rc, error);
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

  const char *source = plot_text_argument(function, argv, 1, "source",
                                          "a table or view name", 0, &error);
  if (!source) goto done;
  const char *model = "default";
  if (argc > 1) {
    model = plot_text_argument(function, argv, 2, "model", "a model name", 0,
                               &error);
    if (!model) goto done;
  }
  rc = run_evaluate(db, function, source, model, &e, &error);
  if (rc != SQLITE_OK) goto done;

  char *title = sqlite3_mprintf("Confusion matrix of model \"%s\" on \"%s\"",
                                e.model, source);
  char *subtitle = sqlite3_mprintf("%lld labelled rows, accuracy %.4f",
                                   (long long)e.rows, e.accuracy);
  if (!title || !subtitle) {
    sqlite3_free(title);
    sqlite3_free(subtitle);
    rc = SQLITE_NOMEM;
    goto done;
  }
  sqlite3_str *out = sqlite3_str_new(0);
  svg_begin(out, 600, 470, title);
  svg_text(out, 300, 26, "title", "middle", 0, title);
  svg_text(out, 300, 44, "subtitle", "middle", 0, subtitle);
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
  plot_return_svg(context, out);
  rc = SQLITE_OK;

done:
  sqlite3_free(e.model);
  if (rc != SQLITE_OK) plot_report_error(context, rc, error);
}
