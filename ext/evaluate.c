/*
** claim_evaluate(source [, model]): scores a model on a labelled table or
** view and returns JSON with the row counts, accuracy, binary
** cross-entropy loss, confusion matrix, and precision, recall and F1 of
** each class.
**
**   SELECT claim_evaluate('test');
**   SELECT json_extract(claim_evaluate('test', 'notebook'), '$.f1.claim');
**
** Rules:
**   1. The source must have the columns the model was trained from.
**   2. Labels follow claim_train()'s rules: NULL or empty skips the row,
**      anything but claim/opinion is an error. Features follow
**      claim_predict()'s rules, so a NULL count is imputed.
**   3. The loss is the mean binary cross-entropy computed from the logit,
**      so a confident wrong prediction costs a large finite amount.
**   4. Precision, recall or F1 with a zero denominator is 0.
*/
#include <math.h>
#include <string.h>

#include "source.h"
SQLITE_EXTENSION_INIT3

static const char *const class_name[2] = {"claim", "opinion"};

static double ratio(double numerator, double denominator) {
  return denominator > 0 ? numerator / denominator : 0.0;
}

/* confusion[true][predicted], with 0 claim and 1 opinion. */
static char *metrics_json(const char *model, sqlite3_int64 rows,
                          sqlite3_int64 skipped, double loss_sum,
                          sqlite3_int64 confusion[2][2]) {
  sqlite3_str *out = sqlite3_str_new(0);
  double correct = (double)(confusion[0][0] + confusion[1][1]);
  sqlite3_str_appendall(out, "{\"model\":");
  json_append_string(out, model);
  sqlite3_str_appendf(out, ",\"rows\":%lld,\"skipped\":%lld", rows, skipped);
  sqlite3_str_appendall(out, ",\"accuracy\":");
  json_append_number(out, ratio(correct, (double)rows));
  sqlite3_str_appendall(out, ",\"loss\":");
  json_append_number(out, ratio(loss_sum, (double)rows));
  sqlite3_str_appendall(out, ",\"confusion\":{");
  for (int t = 0; t < 2; t++)
    sqlite3_str_appendf(out, "%s\"%s\":{\"claim\":%lld,\"opinion\":%lld}",
                        t ? "," : "", class_name[t], confusion[t][0],
                        confusion[t][1]);
  sqlite3_str_appendall(out, "}");

  double precision[2], recall[2], f1[2];
  for (int c = 0; c < 2; c++) {
    double tp = (double)confusion[c][c];
    double predicted = (double)(confusion[0][c] + confusion[1][c]);
    double actual = (double)(confusion[c][0] + confusion[c][1]);
    precision[c] = ratio(tp, predicted);
    recall[c] = ratio(tp, actual);
    f1[c] = ratio(2 * tp, predicted + actual);
  }
  static const char *const metric_name[3] = {"precision", "recall", "f1"};
  const double *metric[3] = {precision, recall, f1};
  for (int m = 0; m < 3; m++) {
    sqlite3_str_appendf(out, ",\"%s\":{", metric_name[m]);
    for (int c = 0; c < 2; c++) {
      sqlite3_str_appendf(out, "%s\"%s\":", c ? "," : "", class_name[c]);
      json_append_number(out, metric[m][c]);
    }
    sqlite3_str_appendall(out, "}");
  }
  sqlite3_str_appendall(out, "}");
  return sqlite3_str_finish(out);
}

void claim_evaluate_function(sqlite3_context *context, int argc,
                             sqlite3_value **argv) {
  ClaimContext *ctx = sqlite3_user_data(context);
  sqlite3 *db = sqlite3_context_db_handle(context);
  sqlite3_stmt *stmt = 0;
  char *error = 0;
  int rc = SQLITE_OK;
  Model *retained = 0;

  for (int i = 0; i < argc; i++) {
    const char *name = i == 0 ? "source" : "model";
    if (sqlite3_value_type(argv[i]) != SQLITE_TEXT) {
      error = argument_error("claim_evaluate", i + 1, name, "TEXT", argv[i]);
      rc = error ? SQLITE_ERROR : SQLITE_NOMEM;
    } else {
      rc = check_nul_argument("claim_evaluate", i + 1, name, argv[i], &error);
    }
    if (rc != SQLITE_OK) goto done;
  }
  const char *source = (const char *)sqlite3_value_text(argv[0]);
  const char *name = argc > 1 ? (const char *)sqlite3_value_text(argv[1])
                              : "default";
  Model *model = context_model(ctx, db, "claim_evaluate", name, &error);
  if (!model) {
    /* After sqlite3_interrupt(), loading fails with a misleading message
    ** such as "no model named", so the interrupt is checked first. */
    sqlite3_stmt *probe = 0;
    int interrupted = claim_interrupted(db, &probe);
    sqlite3_finalize(probe);
    if (interrupted) rc = SQLITE_INTERRUPT;
    else if (error) rc = ctx->load_error;
    else rc = SQLITE_NOMEM;
    goto done;
  }
  /* Reading the source may run claim_predict() on this connection, which
  ** drops the cached model when another connection retrained it, so the
  ** model is retained until the end. */
  model_retain(model);
  retained = model;
  char *model_name = sqlite3_mprintf("%s", model->name);
  if (!model_name) {
    rc = SQLITE_NOMEM;
    goto done;
  }

  rc = source_prepare(db, "claim_evaluate", source, model_name,
                      model->column, &stmt, &error);
  sqlite3_int64 rows = 0, skipped = 0, no_features = 0, position = 0;
  sqlite3_int64 confusion[2][2] = {{0, 0}, {0, 0}};
  double loss_sum = 0.0;
  while (rc == SQLITE_OK && (rc = sqlite3_step(stmt)) == SQLITE_ROW) {
    rc = SQLITE_OK;
    position++;
    sqlite3_value *cell[N_COLUMNS];
    for (int i = 0; i < N_COLUMNS; i++)
      cell[i] = sqlite3_column_value(stmt, i + 1);
    sqlite3_int64 row = source_row_number(stmt, position);
    int label = parse_label(cell[COLUMN_LABEL]);
    if (label == -1) {
      skipped++;
      continue;
    }
    const char *problem = label == -2 ? "is not a valid label; expected "
                                        "'claim' or 'opinion'" : 0;
    int bad = label == -2 ? COLUMN_LABEL : -1;
    for (int c = 0; !problem && c < N_COUNTS; c++) {
      double x;
      int status = parse_count(cell[COLUMN_FIRST_COUNT + c], &x);
      if (status == VALUE_INVALID || status == VALUE_BLOB) {
        problem = count_problem(cell[COLUMN_FIRST_COUNT + c], status);
        bad = COLUMN_FIRST_COUNT + c;
      }
    }
    for (int i = COLUMN_FIRST_CATEGORY; !problem && i <= COLUMN_TRANSCRIPT;
         i++)
      if (sqlite3_value_type(cell[i]) == SQLITE_BLOB) {
        problem = "is not text";
        bad = i;
      }
    if (problem) {
      char *shown = describe_value(cell[bad]);
      error = sqlite3_mprintf("claim_evaluate(): \"%s\" column \"%s\" row "
                              "%lld: %s %s; fix the value, or evaluate a "
                              "view that leaves the row out", source,
                              model->column[bad], (long long)row, shown,
                              problem);
      sqlite3_free(shown);
      rc = SQLITE_ERROR;
      break;
    }

    /* claim_predict() gives NULL for a row with no features, so such a
    ** row has no prediction to score; its label was checked above. */
    int all_null = 1;
    for (int i = COLUMN_FIRST_COUNT; i <= COLUMN_TRANSCRIPT; i++)
      if (sqlite3_value_type(cell[i]) != SQLITE_NULL) all_null = 0;
    if (all_null) {
      skipped++;
      no_features++;
      continue;
    }
    double logit;
    rc = model_logit(ctx, model, cell + COLUMN_FIRST_COUNT, &logit);
    if (rc != SQLITE_OK) break;
    /* The rule of claim_predict(): claim when P(claim) > 0.5. */
    int predicted = predicts_opinion(logit);
    confusion[label][predicted]++;
    loss_sum += bce_logit_loss(logit, label);
    rows++;
  }
  if (rc == SQLITE_DONE) rc = SQLITE_OK;
  if (rc == SQLITE_OK && rows == 0) {
    if (no_features > 0)
      error = sqlite3_mprintf("claim_evaluate(): \"%s\" has no row to "
                              "score: its %lld labelled row%s all eight "
                              "features NULL, which gives no prediction",
                              source, (long long)no_features,
                              no_features == 1 ? " has" : "s have");
    else
      error = sqlite3_mprintf("claim_evaluate(): \"%s\" has no labelled "
                              "rows", source);
    rc = SQLITE_ERROR;
  }
  if (rc == SQLITE_OK) {
    char *json = metrics_json(model_name, rows, skipped, loss_sum, confusion);
    if (json) sqlite3_result_text(context, json, -1, sqlite3_free);
    else rc = SQLITE_NOMEM;
  } else if (rc != SQLITE_ERROR && rc != SQLITE_NOMEM && !error) {
    error = sqlite3_mprintf("%s", sqlite3_errmsg(db));
  }
  sqlite3_free(model_name);

done:
  sqlite3_finalize(stmt);
  model_release(retained);
  claim_result_error(context, db, rc, error);
  sqlite3_free(error);
}
