/*
** claim_explain([model,] views, likes, shares, downloads, comments,
**               verified_status, author_ban_status, transcript):
** how much each feature of one video moves the model toward "claim".
**
**   SELECT claim_explain(video_view_count, video_like_count,
**                        video_share_count, video_download_count,
**                        video_comment_count, verified_status,
**                        author_ban_status, video_transcription_text)
**   FROM videos WHERE "#" = 1;
**
** Returns JSON:
**   {"model": "default", "method": "occlusion",
**    "probability": P(claim), "prediction": "claim" or "opinion",
**    "log_odds": log-odds of claim, "baseline": P(claim) of the baseline,
**    "baseline_log_odds": ...,
**    "counts": {"views": c, "likes": c, ...},
**    "categories": {"verified_status": c, "author_ban_status": c},
**    "tokens": [{"token": t, "contribution": c}, ...]}
**
** Method: occlusion, measured in log-odds of claim. Each contribution c is
** the log-odds of claim for the input minus the log-odds with that one
** feature removed, so a positive c pushes toward claim and a negative c
** toward opinion. Log-odds do not saturate the way the probability does
** near 0 and 1. "Removed" means what claim_predict() does with a NULL:
**   - a count takes the training mean (its normalized feature is 0);
**   - a category becomes an unseen value (its one-hot columns are 0);
**   - a token is deleted from the transcript, every occurrence of it,
**     and the remaining tokens are encoded again. In the notebook preset
**     (a sequence of token ids) the later tokens move up one place, so
**     the contribution includes that shift.
** The baseline is the input with all eight features removed. Every
** probability comes from the same model_logit() call as claim_predict(),
** so "probability" equals claim_probability() on the same arguments.
** Contributions are not additive: the network is not linear, so their
** sum differs from log_odds - baseline_log_odds in general.
**
** Rules:
**   1. Arguments follow claim_predict(): with 8 the model is 'default',
**      with 9 the first names it. A count that is not a number, and a
**      BLOB anywhere, is an error naming the argument and the value.
**   2. A row whose eight features are all NULL gives NULL.
**   3. "tokens" lists the distinct transcript tokens (after the tokenizer
**      of text.c) with the 10 largest |contribution|, largest first; equal
**      ones keep their order in the transcript.
**   4. claim_explain() reads only this extension's tables, like
**      claim_predict(), so it is SQLITE_INNOCUOUS.
*/
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "workbench.h"
SQLITE_EXTENSION_INIT3

#define EXPLAIN_TOP_TOKENS 10

static const char *const feature_name[8] = {
  "views", "likes", "shares", "downloads", "comments",
  "verified_status", "author_ban_status", "transcript",
};

/* One distinct token of the transcript and its contribution. */
typedef struct TokenEffect {
  int first;              /* index of its first occurrence */
  double contribution;
} TokenEffect;

static int compare_effects(const void *a, const void *b) {
  const TokenEffect *x = a, *y = b;
  double ax = fabs(x->contribution), ay = fabs(y->contribution);
  if (ax != ay) return ax > ay ? -1 : 1;
  return x->first - y->first;
}

static int same_token(const TokenList *list, int i, int j) {
  return list->length[i] == list->length[j] &&
         memcmp(list->text + list->start[i], list->text + list->start[j],
                (size_t)list->length[i]) == 0;
}

/* Checks the features as claim_predict() does (rule 1) and sets *error
** on an invalid one. Returns 1 when all eight are NULL, else 0. */
static int check_features(sqlite3_value **feature, int first, char **error) {
  int all_null = 1;
  for (int i = 0; i < 8; i++) {
    sqlite3_value *v = feature[i];
    int type = sqlite3_value_type(v);
    if (type != SQLITE_NULL) all_null = 0;
    double x;
    int status = type == SQLITE_BLOB ? VALUE_BLOB
                 : i < N_COUNTS      ? parse_count(v, &x)
                                     : VALUE_OK;
    if (status == VALUE_OK || status == VALUE_NULL) continue;
    *error = feature_error("claim_explain", first + i + 1, i, v, status);
    if (!*error) *error = sqlite3_mprintf("out of memory");
    return 0;
  }
  return all_null;
}

/*
** Sets effect[k].contribution for each distinct token k of list to
** claim_log_odds minus the log-odds of claim without that token.
** feature[7] is replaced while it runs and restored afterwards.
*/
static int explain_tokens(ClaimContext *ctx, sqlite3 *db, Model *model,
                          sqlite3_value **feature, double claim_log_odds,
                          const TokenList *list, TokenEffect *effect,
                          int n_effects) {
  sqlite3_stmt *stmt = 0;
  sqlite3_value *saved = feature[7];
  int rc = sqlite3_prepare_v2(db, "SELECT ?1", -1, &stmt, 0);
  for (int k = 0; rc == SQLITE_OK && k < n_effects; k++) {
    /* The tokens are already lowercased and free of punctuation and
    ** whitespace, so joining the others with spaces and tokenizing again
    ** gives exactly the others. */
    sqlite3_str *text = sqlite3_str_new(0);
    int joined = 0;
    for (int i = 0; i < list->n; i++) {
      if (same_token(list, i, effect[k].first)) continue;
      if (joined++) sqlite3_str_appendchar(text, 1, ' ');
      sqlite3_str_append(text, list->text + list->start[i], list->length[i]);
    }
    /* Out of memory, the length reads 0, which is no reason to score an
    ** empty transcript. */
    int failed = sqlite3_str_errcode(text) != SQLITE_OK;
    int length = sqlite3_str_length(text);
    char *without = sqlite3_str_finish(text);
    if (failed || (!without && length > 0)) {
      sqlite3_free(without);
      rc = SQLITE_NOMEM;
      break;
    }
    /* model_logit() takes sqlite3_value arguments, and SQLite makes one
    ** from a C string only through a statement. */
    if (without) sqlite3_bind_text(stmt, 1, without, length, sqlite3_free);
    else sqlite3_bind_text(stmt, 1, "", 0, SQLITE_STATIC);
    rc = sqlite3_step(stmt);
    sqlite3_value *value = 0;
    if (rc == SQLITE_ROW) {
      value = sqlite3_value_dup(sqlite3_column_value(stmt, 0));
      rc = value ? SQLITE_OK : SQLITE_NOMEM;
    }
    sqlite3_reset(stmt);
    if (rc != SQLITE_OK) break;
    feature[7] = value;
    double logit;
    rc = model_logit(ctx, model, feature, &logit);
    sqlite3_value_free(value);
    effect[k].contribution = claim_log_odds - (-logit);
  }
  feature[7] = saved;
  sqlite3_finalize(stmt);
  return rc;
}

/* Appends the JSON result; contribution[0..6] are counts then categories. */
static void append_json(sqlite3_str *out, const char *model, double logit,
                        double baseline_logit, const double *contribution,
                        const TokenList *list, const TokenEffect *effect,
                        int n_effects) {
  sqlite3_str_appendall(out, "{\"model\":");
  json_append_string(out, model);
  sqlite3_str_appendall(out, ",\"method\":\"occlusion\",\"probability\":");
  json_append_number(out, sigmoid(-logit));
  sqlite3_str_appendf(out, ",\"prediction\":\"%s\",\"log_odds\":",
                      predicts_opinion(logit) ? "opinion" : "claim");
  json_append_number(out, -logit);
  sqlite3_str_appendall(out, ",\"baseline\":");
  json_append_number(out, sigmoid(-baseline_logit));
  sqlite3_str_appendall(out, ",\"baseline_log_odds\":");
  json_append_number(out, -baseline_logit);
  sqlite3_str_appendall(out, ",\"counts\":{");
  for (int c = 0; c < N_COUNTS + N_CATEGORIES; c++) {
    if (c == N_COUNTS) sqlite3_str_appendall(out, "},\"categories\":{");
    sqlite3_str_appendf(out, "%s\"%s\":", c == 0 || c == N_COUNTS ? "" : ",",
                        feature_name[c]);
    json_append_number(out, contribution[c]);
  }
  sqlite3_str_appendall(out, "},\"tokens\":[");
  int shown = n_effects < EXPLAIN_TOP_TOKENS ? n_effects : EXPLAIN_TOP_TOKENS;
  for (int k = 0; k < shown; k++) {
    const char *token = list->text + list->start[effect[k].first];
    sqlite3_str_appendall(out, k ? ",{\"token\":" : "{\"token\":");
    /* A token is a slice of list->text and may hold a NUL byte. */
    json_append_bytes(out, token, (size_t)list->length[effect[k].first]);
    sqlite3_str_appendall(out, ",\"contribution\":");
    json_append_number(out, effect[k].contribution);
    sqlite3_str_appendall(out, "}");
  }
  sqlite3_str_appendall(out, "]}");
}

void claim_explain_function(sqlite3_context *context, int argc,
                            sqlite3_value **argv) {
  ClaimContext *ctx = sqlite3_user_data(context);
  sqlite3 *db = sqlite3_context_db_handle(context);
  TokenList list;
  memset(&list, 0, sizeof(list));
  Interner distinct;
  memset(&distinct, 0, sizeof(distinct));
  TokenEffect *effect = 0;
  char *error = 0;
  int rc = SQLITE_OK;

  int first = argc - 8;
  const char *name = "default";
  if (first == 1) {
    if (sqlite3_value_type(argv[0]) != SQLITE_TEXT) {
      error = argument_error("claim_explain", 1, "model",
                             "a model name as TEXT", argv[0]);
      rc = SQLITE_ERROR;
      goto done;
    }
    rc = check_nul_argument("claim_explain", 1, "model", argv[0], &error);
    if (rc != SQLITE_OK) goto done;
    name = (const char *)sqlite3_value_text(argv[0]);
  }
  sqlite3_value *feature[8];
  memcpy(feature, argv + first, sizeof(feature));
  int all_null = check_features(feature, first, &error);
  if (error) {
    rc = SQLITE_ERROR;
    goto done;
  }

  /* The model is loaded even for a row of NULLs, as claim_predict() does,
  ** so that a misspelled model name is an error on every row. */
  Model *model = context_model(ctx, db, "claim_explain", name, &error);
  if (!model) {
    rc = error ? ctx->load_error : SQLITE_NOMEM;
    goto done;
  }
  if (all_null) {
    sqlite3_result_null(context);
    goto done;
  }
  double logit, baseline_logit;
  rc = model_logit(ctx, model, feature, &logit);
  if (rc != SQLITE_OK) goto done;
  sqlite3_value *none[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  rc = model_logit(ctx, model, none, &baseline_logit);
  if (rc != SQLITE_OK) goto done;

  /* Counts and categories: one model_logit() each with that one NULL. */
  double contribution[N_COUNTS + N_CATEGORIES];
  for (int c = 0; c < N_COUNTS + N_CATEGORIES; c++) {
    sqlite3_value *saved = feature[c];
    feature[c] = 0;
    double without;
    rc = model_logit(ctx, model, feature, &without);
    feature[c] = saved;
    if (rc != SQLITE_OK) goto done;
    contribution[c] = -logit - (-without);
  }

  /* Tokens: the distinct ones in order of first occurrence. */
  sqlite3_value *transcript = feature[7];
  const char *text = sqlite3_value_type(transcript) == SQLITE_NULL
                         ? ""
                         : (const char *)sqlite3_value_text(transcript);
  if (!text || tokenize(&list, text, (size_t)sqlite3_value_bytes(transcript))) {
    rc = SQLITE_NOMEM;
    goto done;
  }
  effect = sqlite3_malloc64(sizeof(TokenEffect) * (sqlite3_uint64)(list.n + 1));
  if (!effect) {
    rc = SQLITE_NOMEM;
    goto done;
  }
  int n_effects = 0;
  for (int i = 0; i < list.n; i++) {
    int id = interner_add(&distinct, list.text + list.start[i],
                          (size_t)list.length[i]);
    if (id < 0) {
      rc = SQLITE_NOMEM;
      goto done;
    }
    if (id == n_effects) effect[n_effects++].first = i;
  }
  rc = explain_tokens(ctx, db, model, feature, -logit, &list, effect,
                      n_effects);
  if (rc != SQLITE_OK) goto done;
  qsort(effect, (size_t)n_effects, sizeof(TokenEffect), compare_effects);

  sqlite3_str *out = sqlite3_str_new(0);
  append_json(out, model->name, logit, baseline_logit, contribution, &list,
              effect, n_effects);
  rc = sqlite3_str_errcode(out);
  char *json = sqlite3_str_finish(out);
  if (rc == SQLITE_OK && json)
    sqlite3_result_text(context, json, -1, sqlite3_free);
  else {
    sqlite3_free(json);
    rc = SQLITE_NOMEM;
  }

done:
  token_list_free(&list);
  interner_free(&distinct);
  sqlite3_free(effect);
  claim_result_error(context, db, rc, error);
  sqlite3_free(error);
}
