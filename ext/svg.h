/*
** Drawing helpers for the SVG plots of plot.c: a document, panels with
** linear or log10 axes, ticks, labels and legends. Text is XML-escaped
** here, so callers pass plain strings.
*/
#ifndef CLAIM_SVG_H
#define CLAIM_SVG_H

#include "claim.h"

typedef struct SvgAxis {
  double low, high;    /* data range shown */
  int log;             /* 1: log10 scale; low must be above 0 */
  int integer;         /* 1: ticks on whole numbers only (epochs) */
} SvgAxis;

/* A plot area in pixels, with its axes. */
typedef struct SvgPanel {
  double left, top, width, height;
  SvgAxis x, y;
} SvgPanel;

/* Flags of svg_panel(). */
#define SVG_X_TICK_LABELS 1
#define SVG_Y_TICK_LABELS 2
#define SVG_GRID 4
#define SVG_NO_Y_TICKS 8   /* no y tick marks, as for a count-only axis */

/* Marks shown in a legend entry. */
enum { SVG_MARK_LINE, SVG_MARK_PATCH, SVG_MARK_DOT, SVG_MARK_DASH };

#define SVG_MAX_TICKS 16

/* The i-th color of matplotlib's "tab10" cycle, as "#rrggbb". */
const char *svg_color(int i);

/* Number of colors before svg_color() repeats itself. */
#define SVG_N_COLORS 10

void svg_begin(sqlite3_str *out, int width, int height, const char *title);
void svg_end(sqlite3_str *out);

/* Appends text with &, <, >, " and ' escaped. */
void svg_append_escaped(sqlite3_str *out, const char *text);

/*
** Appends a <text> element. css_class is one of "title", "subtitle",
** "label", "tick", "legend" or "cell"; anchor is "start", "middle" or
** "end"; rotate is in degrees around (x, y).
*/
void svg_text(sqlite3_str *out, double x, double y, const char *css_class,
              const char *anchor, double rotate, const char *text);

/* Pixel position of a data value on the panel's x or y axis. */
double svg_x(const SvgPanel *panel, double value);
double svg_y(const SvgPanel *panel, double value);

/*
** Sets the axis range around [min, max]: 5% margins on a linear axis
** (a unit either side when min = max), whole decades on a log axis.
*/
void svg_axis_fit(SvgAxis *axis, double min, double max, int log);

/* Writes up to SVG_MAX_TICKS tick values into tick and returns how many. */
int svg_axis_ticks(const SvgAxis *axis, double *tick);

/* Formats a tick value: 0.25, 5, 100, 2.5k, 10k, 1M. */
void svg_format_number(char *buffer, int size, double value);

/*
** Draws the panel's frame, ticks, optional grid and tick labels, and the
** title and axis labels that are not NULL.
*/
void svg_panel(sqlite3_str *out, const SvgPanel *panel, const char *title,
               const char *x_label, const char *y_label, int flags);

/*
** Draws a legend box with its top-left corner at (left, top): an
** optional title, then one entry per label with color[i] and mark[i].
*/
void svg_legend(sqlite3_str *out, double left, double top, const char *title,
                int n, const char *const *label, const char *const *color,
                const int *mark);

#endif
