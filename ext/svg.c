/*
** Drawing helpers for the SVG plots: see svg.h. The look follows
** matplotlib's defaults: the "tab10" colors, a frame around each panel,
** ticks outside, and 1-2-5 tick steps (whole decades on log axes).
*/
#include <math.h>
#include <string.h>

#include "svg.h"
SQLITE_EXTENSION_INIT3

static const char *const palette[SVG_N_COLORS] = {
  "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
  "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf",
};

const char *svg_color(int i) {
  return palette[(i % SVG_N_COLORS + SVG_N_COLORS) % SVG_N_COLORS];
}

void svg_append_escaped(sqlite3_str *out, const char *text) {
  size_t n = strlen(text);
  for (const char *p = text; *p; p++) {
    if ((unsigned char)*p >= 0x80) {
      /* XML is UTF-8 here: an invalid byte becomes U+FFFD, and so do
      ** U+FFFE and U+FFFF (EF BF BE and EF BF BF), which XML 1.0 excludes
      ** from its characters. */
      const unsigned char *bytes = (const unsigned char *)p;
      int length = utf8_sequence_length(bytes, n - (size_t)(p - text));
      if (length == 3 && bytes[0] == 0xef && bytes[1] == 0xbf &&
          bytes[2] >= 0xbe) {
        sqlite3_str_appendall(out, "\xef\xbf\xbd");
        p += 2;
      } else if (length == 0) {
        sqlite3_str_appendall(out, "\xef\xbf\xbd");
      } else {
        sqlite3_str_append(out, p, length);
        p += length - 1;
      }
      continue;
    }
    switch (*p) {
      case '&': sqlite3_str_appendall(out, "&amp;"); break;
      case '<': sqlite3_str_appendall(out, "&lt;"); break;
      case '>': sqlite3_str_appendall(out, "&gt;"); break;
      case '"': sqlite3_str_appendall(out, "&quot;"); break;
      case '\'': sqlite3_str_appendall(out, "&apos;"); break;
      default:
        /* XML 1.0 allows no control characters but tab and newlines. */
        if ((unsigned char)*p < 0x20 && *p != '\t' && *p != '\n' &&
            *p != '\r')
          sqlite3_str_appendchar(out, 1, '?');
        else
          sqlite3_str_appendchar(out, 1, *p);
    }
  }
}

void svg_begin(sqlite3_str *out, int width, int height, const char *title) {
  sqlite3_str_appendf(out,
      "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\""
      " viewBox=\"0 0 %d %d\">\n<title>", width, height, width, height);
  svg_append_escaped(out, title);
  sqlite3_str_appendall(out,
      "</title>\n<style>\n"
      "text { font-family: 'DejaVu Sans', Arial, Helvetica, sans-serif;"
      " fill: #222; }\n"
      ".title { font-size: 15px; font-weight: bold; }\n"
      ".subtitle { font-size: 11px; fill: #555; }\n"
      ".label { font-size: 12px; }\n"
      ".tick { font-size: 10px; }\n"
      ".legend { font-size: 11px; }\n"
      ".cell { font-size: 20px; font-weight: bold; }\n"
      ".frame { fill: none; stroke: #333; stroke-width: 1; }\n"
      ".grid { stroke: #e4e4e4; stroke-width: 1; }\n"
      ".tickmark { stroke: #333; stroke-width: 1; }\n"
      "</style>\n");
  sqlite3_str_appendf(out,
      "<rect x=\"0\" y=\"0\" width=\"%d\" height=\"%d\" fill=\"white\"/>\n",
      width, height);
}

void svg_end(sqlite3_str *out) {
  sqlite3_str_appendall(out, "</svg>\n");
}

void svg_text(sqlite3_str *out, double x, double y, const char *css_class,
              const char *anchor, double rotate, const char *text) {
  sqlite3_str_appendf(out, "<text x=\"%.1f\" y=\"%.1f\" class=\"%s\"", x, y,
                      css_class);
  if (strcmp(anchor, "start") != 0)
    sqlite3_str_appendf(out, " text-anchor=\"%s\"", anchor);
  if (rotate != 0)
    sqlite3_str_appendf(out, " transform=\"rotate(%g %.1f %.1f)\"", rotate,
                        x, y);
  sqlite3_str_appendall(out, ">");
  svg_append_escaped(out, text);
  sqlite3_str_appendall(out, "</text>\n");
}

/* Position of value along an axis, from 0 at low to 1 at high. */
static double axis_fraction(const SvgAxis *axis, double value) {
  if (axis->log)
    return (log10(value) - log10(axis->low)) /
           (log10(axis->high) - log10(axis->low));
  return (value - axis->low) / (axis->high - axis->low);
}

double svg_x(const SvgPanel *panel, double value) {
  return panel->left + panel->width * axis_fraction(&panel->x, value);
}

double svg_y(const SvgPanel *panel, double value) {
  return panel->top + panel->height * (1 - axis_fraction(&panel->y, value));
}

void svg_axis_fit(SvgAxis *axis, double min, double max, int log) {
  axis->log = log;
  if (log) {
    axis->low = pow(10.0, floor(log10(min) + 1e-9));
    axis->high = pow(10.0, ceil(log10(max) - 1e-9));
    if (axis->high <= axis->low) axis->high = axis->low * 10;
    return;
  }
  if (min == max) {
    axis->low = min - 1;
    axis->high = max + 1;
    return;
  }
  double margin = (max - min) * 0.05;
  axis->low = min - margin;
  axis->high = max + margin;
}

int svg_axis_ticks(const SvgAxis *axis, double *tick) {
  int n = 0;
  if (axis->log) {
    int first = (int)ceil(log10(axis->low) - 1e-9);
    int last = (int)floor(log10(axis->high) + 1e-9);
    int decades = last - first + 1;
    if (decades >= 2) {
      int every = (decades + 5) / 6;
      for (int d = first; d <= last && n < SVG_MAX_TICKS; d += every)
        tick[n++] = pow(10.0, d);
      return n;
    }
    /* Less than two decades: 1, 2 and 5 times powers of ten. */
    static const double step[3] = {1, 2, 5};
    for (int d = first - 1; d <= last && n < SVG_MAX_TICKS; d++)
      for (int s = 0; s < 3 && n < SVG_MAX_TICKS; s++) {
        double t = step[s] * pow(10.0, d);
        if (t >= axis->low * (1 - 1e-9) && t <= axis->high * (1 + 1e-9))
          tick[n++] = t;
      }
    return n;
  }

  double raw = (axis->high - axis->low) / 5;
  double magnitude = pow(10.0, floor(log10(raw)));
  double normal = raw / magnitude;
  double step = 10 * magnitude;
  if (normal < 1.5) step = magnitude;
  else if (normal < 3) step = 2 * magnitude;
  else if (normal < 7) step = 5 * magnitude;
  if (axis->integer && step < 1) step = 1;
  double first = ceil(axis->low / step - 1e-9);
  for (int i = 0; n < SVG_MAX_TICKS; i++) {
    double t = (first + i) * step;
    if (t > axis->high + step * 1e-9) break;
    if (fabs(t) < step * 1e-9) t = 0;
    tick[n++] = t;
  }
  return n;
}

void svg_format_number(char *buffer, int size, double value) {
  static const struct {
    double scale;
    const char *suffix;
  } unit[] = {{1e9, "G"}, {1e6, "M"}, {1e3, "k"}};
  for (int u = 0; u < 3; u++)
    if (fabs(value) >= unit[u].scale) {
      sqlite3_snprintf(size, buffer, "%.4g%s", value / unit[u].scale,
                       unit[u].suffix);
      return;
    }
  if (fabs(value) < 1e-12) value = 0;
  sqlite3_snprintf(size, buffer, "%.4g", value);
}

void svg_panel(sqlite3_str *out, const SvgPanel *panel, const char *title,
               const char *x_label, const char *y_label, int flags) {
  double tick[SVG_MAX_TICKS];
  char text[32];
  double bottom = panel->top + panel->height;
  double right = panel->left + panel->width;

  int n = svg_axis_ticks(&panel->x, tick);
  for (int i = 0; i < n; i++) {
    double x = svg_x(panel, tick[i]);
    if (flags & SVG_GRID)
      sqlite3_str_appendf(out, "<line class=\"grid\" x1=\"%.1f\" y1=\"%.1f\""
                          " x2=\"%.1f\" y2=\"%.1f\"/>\n", x, panel->top, x,
                          bottom);
    sqlite3_str_appendf(out, "<line class=\"tickmark\" x1=\"%.1f\" y1=\"%.1f\""
                        " x2=\"%.1f\" y2=\"%.1f\"/>\n", x, bottom, x,
                        bottom + 4);
    if (flags & SVG_X_TICK_LABELS) {
      svg_format_number(text, sizeof(text), tick[i]);
      svg_text(out, x, bottom + 16, "tick", "middle", 0, text);
    }
  }
  n = (flags & SVG_NO_Y_TICKS) ? 0 : svg_axis_ticks(&panel->y, tick);
  for (int i = 0; i < n; i++) {
    double y = svg_y(panel, tick[i]);
    if (flags & SVG_GRID)
      sqlite3_str_appendf(out, "<line class=\"grid\" x1=\"%.1f\" y1=\"%.1f\""
                          " x2=\"%.1f\" y2=\"%.1f\"/>\n", panel->left, y,
                          right, y);
    sqlite3_str_appendf(out, "<line class=\"tickmark\" x1=\"%.1f\" y1=\"%.1f\""
                        " x2=\"%.1f\" y2=\"%.1f\"/>\n", panel->left - 4, y,
                        panel->left, y);
    if (flags & SVG_Y_TICK_LABELS) {
      svg_format_number(text, sizeof(text), tick[i]);
      svg_text(out, panel->left - 7, y + 3.5, "tick", "end", 0, text);
    }
  }
  sqlite3_str_appendf(out, "<rect class=\"frame\" x=\"%.1f\" y=\"%.1f\""
                      " width=\"%.1f\" height=\"%.1f\"/>\n", panel->left,
                      panel->top, panel->width, panel->height);

  if (title)
    svg_text(out, panel->left + panel->width / 2, panel->top - 10, "label",
             "middle", 0, title);
  if (x_label)
    svg_text(out, panel->left + panel->width / 2,
             bottom + ((flags & SVG_X_TICK_LABELS) ? 36 : 20), "label",
             "middle", 0, x_label);
  if (y_label) {
    double x = panel->left - ((flags & SVG_Y_TICK_LABELS) ? 46 : 16);
    svg_text(out, x, panel->top + panel->height / 2, "label", "middle", -90,
             y_label);
  }
}

void svg_legend(sqlite3_str *out, double left, double top, const char *title,
                int n, const char *const *label, const char *const *color,
                const int *mark) {
  /* About 7 pixels per character of 11px DejaVu Sans. */
  int longest = title ? (int)strlen(title) : 0;
  for (int i = 0; i < n; i++)
    if ((int)strlen(label[i]) > longest) longest = (int)strlen(label[i]);
  double width = 40 + 7 * longest;
  double height = 10 + 18 * (n + (title != 0));
  sqlite3_str_appendf(out, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\""
                      " height=\"%.1f\" fill=\"white\" fill-opacity=\"0.85\""
                      " stroke=\"#ccc\" rx=\"3\"/>\n", left, top, width,
                      height);
  double y = top + 18;
  if (title) {
    svg_text(out, left + 8, y, "legend", "start", 0, title);
    y += 18;
  }
  for (int i = 0; i < n; i++, y += 18) {
    double x = left + 8, middle = y - 4;
    switch (mark[i]) {
      case SVG_MARK_PATCH:
        sqlite3_str_appendf(out, "<rect x=\"%.1f\" y=\"%.1f\" width=\"16\""
                            " height=\"10\" fill=\"%s\" fill-opacity=\"0.5\""
                            " stroke=\"%s\"/>\n", x, middle - 5, color[i],
                            color[i]);
        break;
      case SVG_MARK_DOT:
        sqlite3_str_appendf(out, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"4\""
                            " fill=\"%s\"/>\n", x + 8, middle, color[i]);
        break;
      case SVG_MARK_DASH:
        sqlite3_str_appendf(out, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\""
                            " y2=\"%.1f\" stroke=\"%s\" stroke-width=\"1.5\""
                            " stroke-dasharray=\"4 3\"/>\n", x, middle,
                            x + 18, middle, color[i]);
        break;
      default:
        sqlite3_str_appendf(out, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\""
                            " y2=\"%.1f\" stroke=\"%s\" stroke-width=\"2\"/>\n"
                            "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"3\""
                            " fill=\"%s\"/>\n", x, middle, x + 18, middle,
                            color[i], x + 9, middle, color[i]);
        break;
    }
    svg_text(out, x + 26, y, "legend", "start", 0, label[i]);
  }
}
