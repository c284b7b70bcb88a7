/*
** claim_evaluate() keeps its model while it reads the source, even when a
** claim_predict() inside that source drops the cached model.
**
**   SQLTEST_EXTENSION=build/claim build/integration_held_model
**
** The model lives in an attached database, so the cache checks its stored
** generation on every call. The source is a view that, on its first row,
** has a second connection change that generation, and then calls
** claim_predict() on the same model, which drops the cached copy and loads
** it again. claim_evaluate() must still finish with the model it started
** with: the same metrics as on the table itself. Under AddressSanitizer
** (make SANITIZE=1 test) a freed model read there is a reported error.
*/
#include <errno.h>
#include <unistd.h>

#include "integration.h"

static sqlite3 *other;
static int bumped;

/* bump(): on its first call, another connection changes the generation. */
static void bump(sqlite3_context *context, int argc, sqlite3_value **argv) {
  (void)argc;
  (void)argv;
  if (!bumped++)
    exec_sql(other, "UPDATE claim_models SET generation = generation + 1 "
                    "WHERE name = 'default'");
  sqlite3_result_int(context, 0);
}

int main(void) {
  setvbuf(stdout, 0, _IOLBF, 0);
  const char *test = "evaluate keeps its model";
  char directory[] = "/tmp/claim_held_XXXXXX";
  if (!mkdtemp(directory)) {
    check(0, "setup", "mkdtemp failed: %s", strerror(errno));
    return finish();
  }
  char models[600], main_path[600];
  snprintf(models, sizeof(models), "%s/models.db", directory);
  snprintf(main_path, sizeof(main_path), "%s/main.db", directory);

  other = open_database(models, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
  int rc = create_videos(other, "videos", 200);
  if (rc == SQLITE_OK)
    rc = exec_sql(other, "SELECT claim_train('videos', '{\"epochs\": 2, "
                         "\"verbose\": false}')");
  sqlite3 *db = open_database(main_path,
                              SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
  if (rc == SQLITE_OK) rc = create_videos(db, "small", 200);
  char *attach = sqlite3_mprintf("ATTACH %Q AS m", models);
  if (rc == SQLITE_OK) rc = exec_sql(db, attach);
  sqlite3_free(attach);
  if (rc == SQLITE_OK)
    rc = sqlite3_create_function(db, "bump", 0, SQLITE_UTF8, 0, bump, 0, 0);
  if (rc == SQLITE_OK)
    rc = exec_sql(db,
        "CREATE TEMP VIEW source AS SELECT * FROM small WHERE bump() = 0 AND "
        "claim_predict(video_view_count, video_like_count, video_share_count,"
        " video_download_count, video_comment_count, verified_status,"
        " author_ban_status, video_transcription_text) IS NOT NULL");
  check(rc == SQLITE_OK, "setup", "setup failed (%d)", rc);

  char *expected = query_text(db, "SELECT claim_evaluate('small')");
  char *actual = query_text(db, "SELECT claim_evaluate('source')");
  check(bumped > 0, test, "the view never changed the generation");
  check(expected && actual && strcmp(expected, actual) == 0, test,
        "metrics differ:\n    table %s\n    view  %s",
        expected ? expected : "(error)", actual ? actual : "(error)");
  printf("  %s\n", actual ? actual : "(no result)");
  free(expected);
  free(actual);

  sqlite3_close(db);
  sqlite3_close(other);
  remove_path(directory);
  return finish();
}
