/*
** claim_predict() and claim_probability(), and the per-connection model
** cache behind them.
**
**   SELECT claim_predict([model,] views, likes, shares, downloads, comments,
**                        verified_status, author_ban_status, transcript);
**
** Rules:
**   1. With 8 arguments the model is 'default'; with 9 the first names it.
**   2. A model is loaded once per connection and reused while the database
**      is unchanged: the cache is checked against SQLite's data version and
**      the connection's change count, and a model whose generation changed
**      (it was retrained) is loaded again. The data version is current only
**      inside a transaction, so a call outside one (SELECT claim_predict(
**      ...) with no FROM) reads the stored generation every time.
**   3. A NULL count is imputed by the training mean (its normalized value
**      is 0), a NULL category is an unseen value (all zeros), and a NULL
**      transcript is empty. A row whose eight features are all NULL gives
**      NULL, but the model must still exist.
**   4. A count that is not a number, and a BLOB anywhere, is an error that
**      names the argument and the value.
*/
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "source.h"
SQLITE_EXTENSION_INIT3

/* Argument names by position among the eight features, for messages. */
static const char *const feature_name[8] = {
  "views", "likes", "shares", "downloads", "comments",
  "verified_status", "author_ban_status", "transcript",
};

/*
** Combines the data versions of every attached database, because the
** model tables may live in any of them: unqualified names resolve to
** temp, then main, then the attached databases in order.
*/
static unsigned int data_version(sqlite3 *db) {
  unsigned int combined = 0;
  /* A NULL schema name means "main" and skips the lookup by name, which
  ** matters because this runs once per row. */
  sqlite3_file_control(db, NULL, SQLITE_FCNTL_DATA_VERSION, &combined);
#if SQLITE_VERSION_NUMBER >= 3039000
  if (sqlite3_libversion_number() >= 3039000) {
    /* Index 1 is temp, which another connection cannot change. */
    const char *name;
    for (int i = 2; (name = sqlite3_db_name(db, i)) != NULL; i++) {
      unsigned int version = 0;
      sqlite3_file_control(db, name, SQLITE_FCNTL_DATA_VERSION, &version);
      combined = combined * 2654435761u + version;
    }
  }
#endif
  return combined;
}

/*
** Returns non-zero when data_version() reflects every commit so far. The
** pager updates it when a read transaction starts, so outside a
** transaction it misses commits by other connections.
*/
static int transaction_state(sqlite3 *db) {
#if SQLITE_VERSION_NUMBER >= 3034000
  if (sqlite3_libversion_number() >= 3034000)
    return sqlite3_txn_state(db, NULL);
#else
  (void)db;
#endif
  return SQLITE_TXN_NONE;  /* unknown: every call then checks */
}

/*
** Returns 1 when main contains claim_models. When the model tables are in an
** attached database instead, a statement that reads only main leaves that
** database's data version stale, so such a model's generation is checked
** on every call.
*/
static int main_has_models(sqlite3 *db) {
  sqlite3_stmt *stmt;
  int found = 0;
  if (sqlite3_prepare_v2(db, "SELECT 1 FROM main.sqlite_schema WHERE"
                         " type = 'table' AND name = 'claim_models'", -1,
                         &stmt, 0) == SQLITE_OK) {
    found = sqlite3_step(stmt) == SQLITE_ROW;
    sqlite3_finalize(stmt);
  }
  return found;
}

void context_forget_models(ClaimContext *ctx) {
  while (ctx->cache) {
    CachedModel *next = ctx->cache->next;
    model_release(ctx->cache->model);
    sqlite3_free(ctx->cache);
    ctx->cache = next;
  }
}

Model *context_model(ClaimContext *ctx, sqlite3 *db, const char *function,
                     const char *name, char **error) {
  unsigned int version = data_version(db);
  sqlite3_int64 changes = sqlite3_total_changes64(db);
  int state = transaction_state(db);
  CachedModel **link = &ctx->cache;
  for (; *link; link = &(*link)->next) {
    CachedModel *entry = *link;
    if (strcmp(entry->model->name, name) != 0) continue;
    /* Outside a transaction the data version misses other connections'
    ** commits, and a ROLLBACK changes neither it nor the change count, so
    ** a model seen inside a write transaction is checked once that
    ** transaction has ended. */
    if (entry->data_version == version && entry->total_changes == changes &&
        !entry->outside_main && state != SQLITE_TXN_NONE &&
        !(entry->seen_in_write && state != SQLITE_TXN_WRITE))
      return entry->model;
    sqlite3_int64 generation;
    if (store_model_generation(db, name, &generation) == SQLITE_OK &&
        generation == entry->model->generation) {
      entry->data_version = version;
      entry->total_changes = changes;
      entry->seen_in_write = state == SQLITE_TXN_WRITE;
      return entry->model;
    }
    /* Retrained, dropped or damaged: unlink it and load again. */
    *link = entry->next;
    model_release(entry->model);
    sqlite3_free(entry);
    break;
  }

  Model *model = 0;
  int rc = store_load_model(db, function, name, &model, error);
  ctx->load_error = rc;
  if (rc != SQLITE_OK) return 0;
  CachedModel *entry = sqlite3_malloc(sizeof(CachedModel));
  if (!entry) {
    model_free(model);
    return 0;
  }
  entry->model = model;
  model->references = 1;       /* the cache's */
  entry->data_version = version;
  entry->total_changes = changes;
  entry->outside_main = !main_has_models(db);
  entry->seen_in_write = state == SQLITE_TXN_WRITE;
  entry->next = ctx->cache;
  ctx->cache = entry;
  return model;
}

/* Grows the context's scratch buffers to hold n tokens. */
static int reserve_text(ClaimContext *ctx, int n) {
  if (n <= ctx->text_cap) return SQLITE_OK;
  int cap = n < 64 ? 64 : n;
  int32_t *ids = sqlite3_realloc64(ctx->ids, (sqlite3_uint64)cap * 4);
  if (!ids) return SQLITE_NOMEM;
  ctx->ids = ids;
  ctx->text_cap = cap;
  return SQLITE_OK;
}

int model_logit(ClaimContext *ctx, Model *model, sqlite3_value **features,
                double *logit) {
  double parsed[N_COUNTS];
  for (int c = 0; c < N_COUNTS; c++)
    if (!features[c] || parse_count(features[c], &parsed[c]) != VALUE_OK)
      parsed[c] = NAN;
  return model_logit_parsed(ctx, model, parsed, features, logit);
}

int model_logit_parsed(ClaimContext *ctx, Model *model,
                       const double *parsed, sqlite3_value **features,
                       double *logit) {
  Encoder *enc = &model->encoder;
  double count[N_COUNTS];
  int category[N_CATEGORIES];

  for (int c = 0; c < N_COUNTS; c++) {
    if (!isnan(parsed[c])) {
      count[c] = parsed[c];
    } else {
      /* NULL: the value whose normalized feature is 0. For log1p the
      ** inverse transform of the mean gives the same feature. */
      count[c] = enc->transform == TRANSFORM_LOG1P
                     ? (enc->mean[c] >= 0 ? expm1(enc->mean[c])
                                          : -expm1(-enc->mean[c]))
                     : enc->mean[c];
    }
  }
  for (int k = 0; k < N_CATEGORIES; k++) {
    sqlite3_value *v = features[N_COUNTS + k];
    category[k] = -1;
    if (v && sqlite3_value_type(v) != SQLITE_NULL) {
      const char *text = (const char *)sqlite3_value_text(v);
      int n = sqlite3_value_bytes(v);
      if (text) {
        text = trim_ascii(text, &n);
        category[k] = vocabulary_find(&enc->category[k], text, (size_t)n);
      }
    }
  }

  /* One row is encoded straight into the model's one-row workspace. */
  Workspace *ws = &model->workspace;
  float *tabular = ws->batch_tabular;
  encoder_tabular(enc, count, category, tabular);


  sqlite3_value *t = features[N_COUNTS + N_CATEGORIES];
  const char *text = 0;
  int bytes = 0;
  if (t && sqlite3_value_type(t) != SQLITE_NULL) {
    text = (const char *)sqlite3_value_text(t);
    bytes = sqlite3_value_bytes(t);
  }
  if (tokenize(&ctx->tokens, text ? text : "", (size_t)bytes))
    return SQLITE_NOMEM;
  if (reserve_text(ctx, ctx->tokens.n)) return SQLITE_NOMEM;
  encoder_token_ids(enc, &ctx->tokens, ctx->ids);
  if (workspace_reserve_text(ws, (size_t)ctx->tokens.n)) return SQLITE_NOMEM;
  int nnz = encoder_text(enc, ctx->ids, ctx->tokens.n, ws->batch_column,
                         ws->batch_value, model->text_seen);
  ws->batch_offset[0] = 0;
  ws->batch_offset[1] = nnz;
  network_forward(&model->network, ws, 1);
  *logit = ws->logit[0];
  return SQLITE_OK;
}

char *feature_error(const char *function, int position, int feature,
                    sqlite3_value *value, int status) {
  char *quoted = describe_value(value);
  char *message =
      feature < N_COUNTS
          ? sqlite3_mprintf("%s(): argument %d (%s): %s %s; pass an "
                            "integer, a real, numeric text or NULL",
                            function, position, feature_name[feature],
                            quoted, count_problem(value, status))
          : sqlite3_mprintf("%s(): argument %d (%s): %s is not text; "
                            "pass TEXT or NULL", function, position,
                            feature_name[feature], quoted);
  sqlite3_free(quoted);
  return message;
}

/*
** Checks the features and computes the logit. Returns 1 with *logit set,
** 0 when all eight are NULL, -1 after reporting an error.
*/
static int predict_row(sqlite3_context *context, const char *function,
                       int argc, sqlite3_value **argv, double *logit) {
  ClaimContext *ctx = sqlite3_user_data(context);
  sqlite3 *db = sqlite3_context_db_handle(context);
  const char *name = "default";
  int first = argc - 8;
  if (first == 1) {
    if (sqlite3_value_type(argv[0]) != SQLITE_TEXT) {
      char *message = argument_error(function, 1, "model",
                                     "a model name as TEXT", argv[0]);
      sqlite3_result_error(context, message ? message : "out of memory", -1);
      sqlite3_free(message);
      return -1;
    }
    char *nul = 0;
    if (check_nul_argument(function, 1, "model", argv[0], &nul) !=
        SQLITE_OK) {
      if (nul)
        sqlite3_result_error(context, nul, -1);
      else
        sqlite3_result_error_nomem(context);
      sqlite3_free(nul);
      return -1;
    }
    name = (const char *)sqlite3_value_text(argv[0]);
  }

  int all_null = 1;
  double parsed[N_COUNTS];
  for (int i = 0; i < 8; i++) {
    sqlite3_value *v = argv[first + i];
    int type = sqlite3_value_type(v);
    if (type != SQLITE_NULL) all_null = 0;
    double x = NAN;
    int status = type == SQLITE_BLOB ? VALUE_BLOB
                 : i < N_COUNTS      ? parse_count(v, &x)
                                     : VALUE_OK;
    if (i < N_COUNTS) parsed[i] = status == VALUE_OK ? x : NAN;
    if (status == VALUE_OK || status == VALUE_NULL) continue;
    char *message = feature_error(function, first + i + 1, i, v, status);
    if (message)
      sqlite3_result_error(context, message, -1);
    else
      sqlite3_result_error_nomem(context);
    sqlite3_free(message);
    return -1;
  }

  /* The model is loaded even for a row of NULLs, so that a misspelled
  ** model name is an error on every row. */
  char *error = 0;
  Model *model = context_model(ctx, db, function, name, &error);
  if (!model) {
    /* After sqlite3_interrupt(), loading fails with a misleading message
    ** such as "no model named", so the interrupt is checked first. */
    sqlite3_stmt *probe = 0;
    int interrupted = claim_interrupted(db, &probe);
    sqlite3_finalize(probe);
    if (interrupted) {
      sqlite3_result_error(context, "interrupted", -1);
      sqlite3_result_error_code(context, SQLITE_INTERRUPT);
    } else if (error) {
      sqlite3_result_error(context, error, -1);
      if (ctx->load_error != SQLITE_ERROR)
        sqlite3_result_error_code(context, ctx->load_error);
    } else {
      sqlite3_result_error_nomem(context);
    }
    sqlite3_free(error);
    return -1;
  }
  if (all_null) return 0;
  if (model_logit_parsed(ctx, model, parsed, argv + first, logit) !=
      SQLITE_OK) {
    sqlite3_result_error_nomem(context);
    return -1;
  }
  return 1;
}

void claim_predict_function(sqlite3_context *context, int argc,
                            sqlite3_value **argv) {
  double logit;
  int status = predict_row(context, "claim_predict", argc, argv, &logit);
  if (status == 0) sqlite3_result_null(context);
  /* The network's positive class is opinion, as in the notebook. The label
  ** is read from the probability that claim_probability() returns, not
  ** from the sign of the logit: sigmoid() rounds a logit within about
  ** 1e-16 of 0 to exactly 0.5, and the two functions must agree. */
  if (status == 1)
    sqlite3_result_text(context, predicts_opinion(logit) ? "opinion" : "claim",
                        -1, SQLITE_STATIC);
}

void claim_probability_function(sqlite3_context *context, int argc,
                                sqlite3_value **argv) {
  double logit;
  int status = predict_row(context, "claim_probability", argc, argv, &logit);
  if (status == 0) sqlite3_result_null(context);
  if (status == 1) sqlite3_result_double(context, sigmoid(-logit));
}
