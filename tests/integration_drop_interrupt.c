/*
** claim_drop() interrupted at every step of its work: a progress handler
** calls sqlite3_interrupt() at the k-th callback, for every k until the
** call finishes without one. Afterwards the connection must be out of any
** transaction, and the model either wholly present or wholly gone.
*/
#include "integration.h"

static int callbacks, target;
static sqlite3 *interrupted_db;

static int progress(void *unused) {
  (void)unused;
  if (++callbacks == target) sqlite3_interrupt(interrupted_db);
  return 0;
}

int main(void) {
  int finished = 0;
  for (target = 1; target < 5000 && !finished; target++) {
    sqlite3 *db = open_database(":memory:", SQLITE_OPEN_READWRITE |
                                               SQLITE_OPEN_CREATE);
    if (create_videos(db, "videos", 120) != SQLITE_OK ||
        exec_sql(db, "SELECT claim_train('videos', '{\"epochs\": 1, "
                     "\"verbose\": false}')") != SQLITE_OK) {
      check(0, "setup", "training failed");
      sqlite3_close(db);
      break;
    }

    interrupted_db = db;
    callbacks = 0;
    sqlite3_progress_handler(db, 1, progress, 0);
    sqlite3_stmt *stmt = 0;
    int rc = sqlite3_prepare_v2(db, "SELECT claim_drop('default')", -1, &stmt,
                                0);
    if (rc == SQLITE_OK) rc = sqlite3_step(stmt);
    sqlite3_finalize(stmt);
    sqlite3_progress_handler(db, 0, 0, 0);
    if (callbacks < target) finished = 1;  /* no interrupt reached it */

    char name[64];
    snprintf(name, sizeof(name), "interrupt at callback %d", target);
    check(sqlite3_get_autocommit(db), name, "left a transaction open "
          "(result %d)", rc);
    sqlite3_int64 models = query_int64(db, "SELECT count(*) FROM "
                                           "claim_models", -1);
    sqlite3_int64 weights = query_int64(db, "SELECT count(*) FROM "
                                            "claim_weights", -1);
    sqlite3_int64 history = query_int64(db, "SELECT count(*) FROM "
                                            "claim_history", -1);
    int whole = models == 1 && weights == 10 && history == 1;
    int gone = models == 0 && weights == 0 && history == 0;
    check(whole || gone, name, "models %lld, weights %lld, history %lld",
          (long long)models, (long long)weights, (long long)history);
    if (rc == SQLITE_ROW)
      check(gone, name, "claim_drop() succeeded but rows remain");
    sqlite3_close(db);
  }
  check(finished, "sweep", "claim_drop() never finished uninterrupted");
  return finish();
}
