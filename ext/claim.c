/*
** claim: a SQLite extension that trains and runs a claim/opinion
** classifier for short videos from their engagement counts, two author
** attributes and the transcript.
**
**   .load build/claim
**   SELECT claim_train('videos');
**   SELECT claim_predict(views, likes, shares, downloads, comments,
**                        verified_status, author_ban_status, transcript)
**   FROM videos;
**
** This file registers the SQL functions and owns the per-connection state.
**
** Rules:
**   1. All state belongs to one connection: its model cache and scratch
**      buffers hang off the functions' user data, never off globals.
**   2. claim_train(), claim_evaluate(), claim_drop(), the table-valued
**      claim_describe() and claim_histogram(), and the plots that read a
**      source are SQLITE_DIRECTONLY. They write tables or read whole tables
**      named by their arguments, so a view or trigger planted in a database
**      from someone else must not be able to run them.
**   3. claim_predict(), claim_probability(), claim_explain() and
**      claim_plot_history() are SQLITE_INNOCUOUS: they only read this
**      extension's model tables. The first three are not
**      SQLITE_DETERMINISTIC, because retraining a model changes their
**      result for the same arguments, and SQLite may otherwise reuse a
**      result or allow them in an index or a CHECK constraint.
**   4. Registration stops at the first failure and reports it.
*/
#include <stdlib.h>
#include <string.h>

#include "claim.h"
#include "workbench.h"
SQLITE_EXTENSION_INIT1

/* OpenBLAS's own function, declared here because the cblas.h found first
** may be the reference one from libblas-dev, which lacks it. */
void openblas_set_num_threads(int num_threads);

static void context_release(void *pointer) {
  ClaimContext *ctx = pointer;
  if (--ctx->references > 0) return;
  context_forget_models(ctx);
  token_list_free(&ctx->tokens);
  sqlite3_free(ctx->ids);
  sqlite3_free(ctx);
}

int claim_interrupted(sqlite3 *db, sqlite3_stmt **probe) {
#if SQLITE_VERSION_NUMBER >= 3041000
  if (sqlite3_libversion_number() >= 3041000) return sqlite3_is_interrupted(db);
#endif
  /* Before 3.41 there is no call to read the flag, but a statement that
  ** takes a loop step fails with SQLITE_INTERRUPT once it is set. While
  ** the caller's statement runs, nothing clears the flag. */
  int rc;
  if (!*probe) {
    /* The parser checks the flag too: a prepare that fails with
    ** SQLITE_INTERRUPT means the interrupt came before the first check. */
    rc = sqlite3_prepare_v2(db,
                            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL"
                            " SELECT i + 1 FROM n WHERE i < 2)"
                            " SELECT i FROM n", -1, probe, 0);
    if (rc != SQLITE_OK) return rc == SQLITE_INTERRUPT;
  }
  while ((rc = sqlite3_step(*probe)) == SQLITE_ROW) {
  }
  sqlite3_reset(*probe);
  return rc == SQLITE_INTERRUPT;
}

typedef struct FunctionSpec {
  const char *name;
  int n_args;
  int flags;
  void (*function)(sqlite3_context *, int, sqlite3_value **);
} FunctionSpec;

static const FunctionSpec functions[] = {
  {"claim_train", 1, SQLITE_DIRECTONLY, claim_train_function},
  {"claim_train", 2, SQLITE_DIRECTONLY, claim_train_function},
  {"claim_predict", 8, SQLITE_INNOCUOUS, claim_predict_function},
  {"claim_predict", 9, SQLITE_INNOCUOUS, claim_predict_function},
  {"claim_probability", 8, SQLITE_INNOCUOUS, claim_probability_function},
  {"claim_probability", 9, SQLITE_INNOCUOUS, claim_probability_function},
  {"claim_evaluate", 1, SQLITE_DIRECTONLY, claim_evaluate_function},
  {"claim_evaluate", 2, SQLITE_DIRECTONLY, claim_evaluate_function},
  {"claim_explain", 8, SQLITE_INNOCUOUS, claim_explain_function},
  {"claim_explain", 9, SQLITE_INNOCUOUS, claim_explain_function},
  {"claim_drop", 1, SQLITE_DIRECTONLY, claim_drop_function},
  {"claim_plot_history", 1, SQLITE_INNOCUOUS, claim_plot_history_function},
  {"claim_plot_confusion", 1, SQLITE_DIRECTONLY, claim_plot_confusion_function},
  {"claim_plot_confusion", 2, SQLITE_DIRECTONLY, claim_plot_confusion_function},
  {"claim_plot_histogram", 2, SQLITE_DIRECTONLY, claim_plot_histogram_function},
  {"claim_plot_histogram", 3, SQLITE_DIRECTONLY, claim_plot_histogram_function},
  {"claim_plot_histogram", 4, SQLITE_DIRECTONLY, claim_plot_histogram_function},
  {"claim_plot_histogram", 5, SQLITE_DIRECTONLY, claim_plot_histogram_function},
  {"claim_plot_scatter", 1, SQLITE_DIRECTONLY, claim_plot_scatter_function},
  {"claim_plot_scatter", 2, SQLITE_DIRECTONLY, claim_plot_scatter_function},
};

#ifdef _WIN32
__declspec(dllexport)
#endif
int sqlite3_claim_init(sqlite3 *db, char **error,
                       const sqlite3_api_routines *api) {
  SQLITE_EXTENSION_INIT2(api);
  /* sqlite3_total_changes64() and sqlite3_changes64() came in 3.37.0;
  ** the API table of an older SQLite has no such entries. */
  if (sqlite3_libversion_number() < 3037000) {
    *error = sqlite3_mprintf("claim needs SQLite 3.37.0 or later, and this "
                             "is %s; load it into a newer sqlite3",
                             sqlite3_libversion());
    return SQLITE_ERROR;
  }

  /* The layers here are small (tens of units), so OpenBLAS threads cost
  ** more to wake than they save, and idle ones spin on a core. This sets
  ** OpenBLAS's process-wide thread count. */
  openblas_set_num_threads(1);
  ClaimContext *ctx = sqlite3_malloc(sizeof(ClaimContext));
  if (!ctx) return SQLITE_NOMEM;
  memset(ctx, 0, sizeof(*ctx));

  /* Each registration holds a reference, released by its destructor; the
  ** extra one taken here is dropped at the end. */
  ctx->references = 1;
  int rc = SQLITE_OK;
  for (size_t i = 0; i < sizeof(functions) / sizeof(functions[0]); i++) {
    const FunctionSpec *f = &functions[i];
    ctx->references++;
    rc = sqlite3_create_function_v2(db, f->name, f->n_args,
                                    SQLITE_UTF8 | f->flags, ctx, f->function,
                                    0, 0, context_release);
    if (rc != SQLITE_OK) {
      /* SQLite calls the destructor when registration fails. */
      *error = sqlite3_mprintf("claim: registering %s() failed: %s", f->name,
                               sqlite3_errmsg(db));
      break;
    }
  }
  /* Table-valued functions: eponymous virtual tables with no state. They
  ** share one module, and the TableFunction that each passes as client
  ** data tells them apart. */
  static const struct {
    const char *name;
    const TableFunction *function;
  } modules[] = {
    {"claim_describe", &claim_describe_function},
    {"claim_histogram", &claim_histogram_function},
  };
  size_t n_modules = sizeof(modules) / sizeof(modules[0]);
  for (size_t i = 0; rc == SQLITE_OK && i < n_modules; i++) {
    rc = sqlite3_create_module_v2(db, modules[i].name, &table_function_module,
                                  (void *)modules[i].function, 0);
    if (rc != SQLITE_OK)
      *error = sqlite3_mprintf("claim: registering %s failed: %s",
                               modules[i].name, sqlite3_errmsg(db));
  }
  context_release(ctx);
  return rc;
}
