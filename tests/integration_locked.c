/*
** A locked database is reported as locked, never as a missing or damaged
** model: one connection holds an exclusive lock while a second one, with
** no busy timeout, calls every function that reads a model. Each call must
** fail with SQLITE_BUSY and a message that reports a failed read. Each
** must work again once the lock is released.
*/
#include <stdlib.h>
#include <unistd.h>

#include "integration.h"

typedef struct Call {
  const char *name;
  const char *sql;
} Call;

static const Call calls[] = {
  {"claim_predict", "SELECT claim_predict(1, 1, 1, 1, 1, 'active', "
                    "'not verified', 'i think that')"},
  {"claim_probability", "SELECT claim_probability('default', 1, 1, 1, 1, 1, "
                        "'active', 'not verified', 'i think that')"},
  {"claim_explain", "SELECT claim_explain(1, 1, 1, 1, 1, 'active', "
                    "'not verified', 'i think that')"},
  {"claim_evaluate", "SELECT claim_evaluate('videos')"},
  {"claim_plot_history", "SELECT claim_plot_history('default')"},
  {"claim_drop", "SELECT claim_drop('default')"},
};

/* Steps sql once; returns the result code and copies the message. */
static int step_once(sqlite3 *db, const char *sql, char *message,
                     size_t size) {
  sqlite3_stmt *stmt = 0;
  int rc = sqlite3_prepare_v2(db, sql, -1, &stmt, 0);
  if (rc == SQLITE_OK) rc = sqlite3_step(stmt);
  snprintf(message, size, "%s", sqlite3_errmsg(db));
  sqlite3_finalize(stmt);
  return rc;
}

int main(void) {
  char path[] = "/tmp/claim-locked-XXXXXX";
  if (!mkdtemp(path)) {
    printf("mkdtemp failed\n0 passed, 1 failed\n");
    return 1;
  }
  char file[256];
  snprintf(file, sizeof(file), "%s/locked.db", path);
  int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE;

  sqlite3 *owner = open_database(file, flags);
  check(create_videos(owner, "videos", 200) == SQLITE_OK, "setup",
        "creating the table failed");
  check(exec_sql(owner, "SELECT claim_train('videos', '{\"epochs\": 1, "
                        "\"verbose\": false}')") == SQLITE_OK,
        "setup", "training failed");

  sqlite3 *reader = open_database(file, flags);
  sqlite3_busy_timeout(reader, 0);

  /* While the owner holds an exclusive lock, every read fails as busy. */
  check(exec_sql(owner, "BEGIN EXCLUSIVE") == SQLITE_OK, "lock",
        "BEGIN EXCLUSIVE failed");
  for (size_t i = 0; i < sizeof(calls) / sizeof(calls[0]); i++) {
    char message[512], expected[256];
    int rc = step_once(reader, calls[i].sql, message, sizeof(message));
    snprintf(expected, sizeof(expected),
             "%s(): reading model \"default\" failed: database is locked; "
             "try again, or set a busy timeout", calls[i].name);
    check(rc == SQLITE_BUSY, calls[i].name, "result code %d, expected %d",
          rc, SQLITE_BUSY);
    check(strcmp(message, expected) == 0, calls[i].name,
          "message \"%s\", expected \"%s\"", message, expected);
  }
  check(exec_sql(owner, "COMMIT") == SQLITE_OK, "unlock", "COMMIT failed");

  /* Once the lock is gone, the same calls work (claim_drop last). */
  for (size_t i = 0; i < sizeof(calls) / sizeof(calls[0]); i++) {
    char message[512];
    int rc = step_once(reader, calls[i].sql, message, sizeof(message));
    check(rc == SQLITE_ROW, calls[i].name, "after unlock: result code %d "
          "(%s), expected a row", rc, message);
  }

  sqlite3_close(reader);
  sqlite3_close(owner);
  remove_path(path);
  return finish();
}
