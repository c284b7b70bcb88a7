/*
** Helpers shared by the claim_plot_* functions (plot.c), which draw with
** svg.c and read tables with grouped.c.
*/
#ifndef CLAIM_PLOT_H
#define CLAIM_PLOT_H

#include "svg.h"
#include "workbench.h"

/* Bins of claim_plot_histogram() when the call gives none. */
#define PLOT_DEFAULT_BINS 20

/* Reports error (or out of memory when it is NULL) and frees it. */
void plot_report_error(sqlite3_context *context, int rc, char *error);

/*
** Checks that argument position (from 1) is TEXT, or NULL when allow_null
** is set, and returns its text (NULL for NULL). On error sets *error.
*/
const char *plot_text_argument(const char *function, sqlite3_value **argv,
                               int position, const char *name,
                               const char *what, int allow_null,
                               char **error);

/* Finishes the document and sets it as the result. */
void plot_return_svg(sqlite3_context *context, sqlite3_str *out);

/* Returns the legend label of every group, or NULL when out of memory. */
char **plot_group_labels(const GroupedRows *rows);
void plot_free_labels(char **label, int n);

/* Reads columns with grouped_read(), and rejects more groups than a plot
** has colors. */
int plot_read_groups(sqlite3 *db, const char *function, const char *source,
                     const char *by, int n_wanted, const char *const *wanted,
                     GroupedRows *rows, char **error);

/* Draws the legend of the groups of the column by: one entry per group,
** in the group's color, all with the same mark. */
void plot_draw_group_legend(sqlite3_str *out, double left, double top,
                            const char *by, int n_groups, char *const *label,
                            int mark);

#endif
