/*
** claim_drop(model): deletes a trained model and returns how many rows of
** the model tables it removed.
**
**   SELECT claim_drop('notebook');
**
** Rules:
**   1. The rows of the model in claim_models, claim_history,
**      claim_vocabulary, claim_normalization and claim_weights are deleted
**      in one savepoint, so an error leaves every table as it was.
**   2. A model is known by its row in claim_models. Dropping a name that
**      has none is an error that lists the trained models.
**   3. The connection's cached copies of models are dropped too.
**   4. claim_drop() writes tables, so it is SQLITE_DIRECTONLY.
*/
#include <string.h>

#include "workbench.h"
SQLITE_EXTENSION_INIT3

static const char *const drop_sql[] = {
  "DELETE FROM claim_history WHERE model = ?1",
  "DELETE FROM claim_vocabulary WHERE model = ?1",
  "DELETE FROM claim_normalization WHERE model = ?1",
  "DELETE FROM claim_weights WHERE model = ?1",
  "DELETE FROM claim_models WHERE name = ?1",
};

/* The advice for a write that another connection's lock stopped. */
static const char *busy_hint(int rc) {
  int code = rc & 0xff;
  return code == SQLITE_BUSY || code == SQLITE_LOCKED
             ? "; try again, or set a busy timeout"
             : "";
}

void claim_drop_function(sqlite3_context *context, int argc,
                         sqlite3_value **argv) {
  (void)argc;
  ClaimContext *ctx = sqlite3_user_data(context);
  sqlite3 *db = sqlite3_context_db_handle(context);
  sqlite3_stmt *stmt = 0;
  char *error = 0;
  int in_savepoint = 0;
  sqlite3_stmt *abort_transaction = 0;
  int rc = SQLITE_ERROR;

  if (sqlite3_value_type(argv[0]) != SQLITE_TEXT) {
    error = argument_error("claim_drop", 1, "model", "a model name as TEXT",
                           argv[0]);
    goto done;
  }
  rc = check_nul_argument("claim_drop", 1, "model", argv[0], &error);
  if (rc != SQLITE_OK) goto done;
  const char *name = (const char *)sqlite3_value_text(argv[0]);

  /* Rule 2. A database without the model tables has no model either. */
  sqlite3_int64 generation;
  rc = store_model_generation(db, name, &generation);
  if (rc != SQLITE_OK && rc != SQLITE_NOTFOUND) {
    error = sqlite3_mprintf("claim_drop(): reading model \"%s\" failed: %s; "
                            "try again, or set a busy timeout", name,
                            sqlite3_errmsg(db));
    goto done;
  }
  if (rc == SQLITE_NOTFOUND) {
    rc = SQLITE_ERROR;
    sqlite3_str *list = sqlite3_str_new(0);
    store_list_models(db, list);
    char *names = sqlite3_str_finish(list);
    error = sqlite3_mprintf("claim_drop(): no model named \"%s\"; trained "
                            "models: %s", name, names ? names : "none");
    sqlite3_free(names);
    goto done;
  }

  /* After sqlite3_interrupt(), ROLLBACK TO fails too, because the flag
  ** stays set while the calling statement runs. Stepping a statement that
  ** writes then fails with SQLITE_INTERRUPT, which makes SQLite roll back
  ** the whole transaction, so the deletion is never half done. It is
  ** prepared now, while preparing can still succeed. */
  rc = sqlite3_prepare_v2(db, "DELETE FROM claim_models WHERE 0", -1,
                          &abort_transaction, 0);
  if (rc == SQLITE_OK) rc = sqlite3_exec(db, "SAVEPOINT claim_drop", 0, 0, 0);
  if (rc != SQLITE_OK) {
    /* Inside a transaction, a statement that writes allows no savepoint
    ** ("SQL statements in progress"). */
    int in_write = strstr(sqlite3_errmsg(db), "statements in progress") != 0;
    error = sqlite3_mprintf("claim_drop(): starting a savepoint failed: %s%s",
                            sqlite3_errmsg(db),
                            in_write ? "; call claim_drop() in a SELECT of "
                                       "its own"
                                     : "");
    goto done;
  }
  in_savepoint = 1;
  sqlite3_int64 removed = 0;
  for (size_t i = 0; i < sizeof(drop_sql) / sizeof(drop_sql[0]); i++) {
    rc = sqlite3_prepare_v2(db, drop_sql[i], -1, &stmt, 0);
    if (rc == SQLITE_OK) {
      sqlite3_bind_text(stmt, 1, name, -1, SQLITE_STATIC);
      rc = sqlite3_step(stmt);
      if (rc == SQLITE_DONE) rc = SQLITE_OK;
    }
    if (rc != SQLITE_OK) {
      if ((rc & 0xff) == SQLITE_READONLY && db_query_only(db))
        error = sqlite3_mprintf("claim_drop(): cannot delete model \"%s\", "
                                "because PRAGMA query_only is on; turn it "
                                "off with PRAGMA query_only = 0", name);
      else if ((rc & 0xff) == SQLITE_READONLY)
        error = sqlite3_mprintf("claim_drop(): cannot delete model \"%s\", "
                                "because the database that contains it is "
                                "read-only; open it read-write", name);
      else if (rc != SQLITE_NOMEM && rc != SQLITE_INTERRUPT)
        error = sqlite3_mprintf("claim_drop(): deleting model \"%s\" "
                                "failed: %s%s", name, sqlite3_errmsg(db),
                                busy_hint(rc));
      goto done;
    }
    removed += sqlite3_changes64(db);
    sqlite3_finalize(stmt);
    stmt = 0;
  }
  rc = sqlite3_exec(db, "RELEASE claim_drop", 0, 0, 0);
  if (rc != SQLITE_OK) {
    error = sqlite3_mprintf("claim_drop(): committing the deletion of model "
                            "\"%s\" failed: %s%s", name, sqlite3_errmsg(db),
                            busy_hint(rc));
    goto done;
  }
  in_savepoint = 0;
  context_forget_models(ctx);
  sqlite3_result_int64(context, removed);

done:
  sqlite3_finalize(stmt);
  if (in_savepoint &&
      (sqlite3_exec(db, "ROLLBACK TO claim_drop", 0, 0, 0) != SQLITE_OK ||
       sqlite3_exec(db, "RELEASE claim_drop", 0, 0, 0) != SQLITE_OK) &&
      abort_transaction) {
    sqlite3_step(abort_transaction);
  }
  sqlite3_finalize(abort_transaction);
  claim_result_error(context, db, rc, error);
  sqlite3_free(error);
}
