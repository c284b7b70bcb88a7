/*
** claim_plot_histogram(source, column [, by [, bins [, log]]]) and
** claim_plot_scatter(source [, by]): the plots of a table's counts. The
** rules of every plot are in plot.c.
*/
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "plot.h"
SQLITE_EXTENSION_INIT3

#define SCATTER_MAX_POINTS 1000
#define SCATTER_BINS 20

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

  const char *source = plot_text_argument(function, argv, 1, "source",
                                          "a table or view name", 0, &error);
  if (!source) goto done;
  const char *column = plot_text_argument(function, argv, 2, "column",
                                          "a column name", 0, &error);
  if (!column) goto done;
  const char *by = 0;
  if (argc > 2) {
    by = plot_text_argument(function, argv, 3, "by", "a column name", 1,
                            &error);
    if (error) goto done;
  }
  int bins = PLOT_DEFAULT_BINS, log = 0;
  if (argc > 3 && sqlite3_value_type(argv[3]) != SQLITE_NULL &&
      histogram_parse_bins(function, 4, argv[3], &bins, &error) != SQLITE_OK)
    goto done;
  if (argc > 4 &&
      histogram_parse_log(function, 5, argv[4], &log, &error) != SQLITE_OK)
    goto done;

  rc = plot_read_groups(db, function, source, by, 1, &column, &rows, &error);
  if (rc != SQLITE_OK) goto done;
  rc = histogram_compute(&rows, 0, bins, log, function, source, &h, &error);
  if (rc != SQLITE_OK) goto done;
  label = plot_group_labels(&rows);
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
  if (!title || !subtitle || !x_label) {
    sqlite3_free(title);
    sqlite3_free(subtitle);
    sqlite3_free(x_label);
    rc = SQLITE_NOMEM;
    goto done;
  }
  sqlite3_str *out = sqlite3_str_new(0);
  /* The legend of the groups takes a column on the right. */
  svg_begin(out, by ? 820 : 650, 440, title);
  svg_text(out, 350, 26, "title", "middle", 0, title);
  svg_text(out, 350, 44, "subtitle", "middle", 0, subtitle);

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
    plot_draw_group_legend(out, 630, 70, by, h.n_groups, label, SVG_MARK_PATCH);
  sqlite3_free(title);
  sqlite3_free(subtitle);
  sqlite3_free(x_label);
  plot_return_svg(context, out);
  rc = SQLITE_OK;

done:
  plot_free_labels(label, rows.n_groups);
  histogram_free(&h);
  grouped_free(&rows);
  if (rc != SQLITE_OK) plot_report_error(context, rc, error);
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

  const char *source = plot_text_argument(function, argv, 1, "source",
                                          "a table or view name", 0, &error);
  if (!source) goto done;
  const char *by = default_column[COLUMN_LABEL];
  if (argc > 1) {
    by = plot_text_argument(function, argv, 2, "by", "a column name", 1,
                            &error);
    if (error) goto done;
  }

  const char *wanted[N_COUNTS];
  for (int c = 0; c < N_COUNTS; c++)
    wanted[c] = default_column[COLUMN_FIRST_COUNT + c];
  rc = plot_read_groups(db, function, source, by, N_COUNTS, wanted, &rows,
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
  label = plot_group_labels(&rows);
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
  if (!title || !subtitle) {
    sqlite3_free(title);
    sqlite3_free(subtitle);
    rc = SQLITE_NOMEM;
    goto done;
  }
  const double left = 95, top = 80, size = 150, gap = 24;
  const double step = size + gap;
  sqlite3_str *out = sqlite3_str_new(0);
  svg_begin(out, (int)(left + N_COUNTS * step + 20),
            (int)(top + N_COUNTS * step + 45), title);
  svg_text(out, left + N_COUNTS * step / 2, 26, "title", "middle", 0,
           title);
  svg_text(out, left + N_COUNTS * step / 2, 44, "subtitle", "middle", 0,
           subtitle);
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
    plot_draw_group_legend(out, left + 3 * step, top, by, rows.n_groups, label,
                           SVG_MARK_DOT);
  plot_return_svg(context, out);
  rc = SQLITE_OK;

done:
  plot_free_labels(label, rows.n_groups);
  grouped_free(&rows);
  if (rc != SQLITE_OK) plot_report_error(context, rc, error);
}
