/*
** sqlite3_interrupt() during claim_train(): training stops between two
** batches, the call fails with SQLITE_INTERRUPT and the message
** "interrupted", and the model stored under the same name before the call
** is left as it was.
**
**   SQLTEST_EXTENSION=build/claim build/integration_interrupt
**
** A second thread calls sqlite3_interrupt() a set time after the
** claim_train() statement starts (a trace callback marks the start,
** because an interrupt that comes before the statement runs is lost).
** The delays cover reading the source, fitting the encoder, the first
** batches and a run of many epochs. Triggers that call
** sqlite3_interrupt() cover the time while the model is being saved and
** the moment before the commit, and an authorizer covers the parsing of
** the options.
** A watchdog ends the program when one call runs longer than
** WATCHDOG_SECONDS, because a missed interrupt trains 100000 epochs.
*/
#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include "integration.h"

/* Rows of the training table: enough that reading and fitting take some
** milliseconds, so that the delay sweep lands in each phase. */
#define TABLE_ROWS 20000
#define PROBE_ROWS 20
#define WATCHDOG_SECONDS 20
/* Bound on the time from the interrupt to the failed call. Training
** checks between batches, which take well under a millisecond here, so
** the bound only catches an interrupt that was missed. */
#define MAX_STOP_SECONDS 5.0

static const char long_training[] =
  "SELECT claim_train('videos', '{\"model\": \"m\", \"epochs\": 100000,"
  " \"verbose\": false}')";

/* State shared with the interrupting thread and the trace callback. */
typedef struct Interrupter {
  sqlite3 *db;
  sqlite3_stmt *target;        /* statement whose start arms the delay */
  double delay;                /* seconds from that start to the interrupt */
  atomic_int started;
  double interrupted_at;       /* now_seconds() at sqlite3_interrupt() */
} Interrupter;

static int on_statement(unsigned type, void *context, void *statement,
                        void *sql) {
  Interrupter *in = context;
  (void)type;
  (void)sql;
  if (statement == in->target) atomic_store(&in->started, 1);
  return 0;
}

static void *interrupt_after_delay(void *context) {
  Interrupter *in = context;
  while (!atomic_load(&in->started)) sleep_seconds(0.0001);
  sleep_seconds(in->delay);
  in->interrupted_at = now_seconds();
  sqlite3_interrupt(in->db);
  return 0;
}

static void watchdog_expired(int signal_number) {
  static const char message[] =
      "FAIL watchdog: claim_train() ran longer than the watchdog after "
      "sqlite3_interrupt(); the interrupt was missed\n0 passed, 1 failed\n";
  (void)signal_number;
  ssize_t written = write(1, message, sizeof(message) - 1);
  (void)written;
  _exit(1);
}

/* What must survive an interrupted retraining of model "m". */
typedef struct Snapshot {
  sqlite3_int64 generation;
  sqlite3_int64 history_rows, vocabulary_rows, weight_rows;
  char *weights_hash;          /* hex of all weight BLOBs, concatenated */
  double probability[PROBE_ROWS];
} Snapshot;

static void take_snapshot(sqlite3 *db, Snapshot *s) {
  s->generation =
      query_int64(db, "SELECT generation FROM claim_models WHERE name = 'm'",
                  -1);
  s->history_rows = query_int64(
      db, "SELECT count(*) FROM claim_history WHERE model = 'm'", -1);
  s->vocabulary_rows = query_int64(
      db, "SELECT count(*) FROM claim_vocabulary WHERE model = 'm'", -1);
  s->weight_rows = query_int64(
      db, "SELECT count(*) FROM claim_weights WHERE model = 'm'", -1);
  s->weights_hash = query_text(
      db, "SELECT group_concat(hex(data), '') FROM"
          " (SELECT data FROM claim_weights WHERE model = 'm' ORDER BY tensor)");
  char message[256] = "";
  if (predict_rows(db, "m", PROBE_ROWS, s->probability, message,
                   sizeof(message)) != SQLITE_OK) {
    printf("  predicting with model \"m\" failed: %s\n", message);
    memset(s->probability, 0, sizeof(s->probability));
  }
}

/* Checks that the model in db equals the snapshot taken before. */
static void check_unchanged(sqlite3 *db, const Snapshot *before,
                            const char *test) {
  Snapshot after;
  take_snapshot(db, &after);
  check(after.generation == before->generation, test,
        "generation %lld, expected %lld", after.generation,
        before->generation);
  check(after.history_rows == before->history_rows, test,
        "%lld history rows, expected %lld", after.history_rows,
        before->history_rows);
  check(after.vocabulary_rows == before->vocabulary_rows, test,
        "%lld vocabulary rows, expected %lld", after.vocabulary_rows,
        before->vocabulary_rows);
  check(after.weight_rows == before->weight_rows, test,
        "%lld weight rows, expected %lld", after.weight_rows,
        before->weight_rows);
  check(after.weights_hash && before->weights_hash &&
            strcmp(after.weights_hash, before->weights_hash) == 0,
        test, "the weight BLOBs changed");
  check(memcmp(after.probability, before->probability,
               sizeof(after.probability)) == 0,
        test, "claim_probability() of the first %d rows changed",
        PROBE_ROWS);
  free(after.weights_hash);
}

/*
** Runs the long training with an interrupt delay seconds after it starts.
** Checks the result code and message, and returns the seconds from the
** interrupt to the failed call (negative when the call did not fail).
*/
static double train_and_interrupt(sqlite3 *db, double delay,
                                  const char *test) {
  Interrupter in;
  memset(&in, 0, sizeof(in));
  in.db = db;
  in.delay = delay;
  if (sqlite3_prepare_v2(db, long_training, -1, &in.target, 0) !=
      SQLITE_OK) {
    check(0, test, "prepare failed: %s", sqlite3_errmsg(db));
    return -1;
  }
  sqlite3_trace_v2(db, SQLITE_TRACE_STMT, on_statement, &in);
  pthread_t thread;
  pthread_create(&thread, 0, interrupt_after_delay, &in);

  alarm(WATCHDOG_SECONDS);
  int rc = sqlite3_step(in.target);
  double ended = now_seconds();
  alarm(0);
  pthread_join(thread, 0);
  sqlite3_trace_v2(db, 0, 0, 0);

  char message[256];
  snprintf(message, sizeof(message), "%s", sqlite3_errmsg(db));
  int finalize_rc = sqlite3_finalize(in.target);
  check(rc == SQLITE_INTERRUPT, test, "delay %.3f s: step returned %d, "
        "expected SQLITE_INTERRUPT (%d)", delay, rc, SQLITE_INTERRUPT);
  check(finalize_rc == SQLITE_INTERRUPT, test, "delay %.3f s: finalize "
        "returned %d, expected SQLITE_INTERRUPT", delay, finalize_rc);
  check(strcmp(message, "interrupted") == 0, test,
        "delay %.3f s: message \"%s\", expected \"interrupted\"", delay,
        message);
  check(sqlite3_get_autocommit(db) != 0, test,
        "delay %.3f s: the connection was left inside a transaction",
        delay);
  return rc == SQLITE_INTERRUPT ? ended - in.interrupted_at : -1;
}

static void test_long_training_stops(sqlite3 *db, const Snapshot *before) {
  const char *test = "interrupt stops long training";
  double stop = train_and_interrupt(db, 0.3, test);
  printf("  interrupted after 0.3 s of training; claim_train() returned "
         "%.4f s after sqlite3_interrupt()\n", stop);
  check(stop >= 0 && stop < MAX_STOP_SECONDS, test,
        "claim_train() returned %.3f s after the interrupt, expected less "
        "than %.1f s", stop, MAX_STOP_SECONDS);
  check_unchanged(db, before, test);
}

/* Delays from 0 to 60 ms reach the interrupt during reading, fitting the
** encoder and the first batches. */
static void test_delay_sweep(sqlite3 *db, const Snapshot *before) {
  const char *test = "interrupt at each delay";
  double slowest = 0;
  for (int ms = 0; ms <= 60; ms += 2) {
    double stop = train_and_interrupt(db, ms / 1000.0, test);
    if (stop > slowest) slowest = stop;
    check(stop >= 0 && stop < MAX_STOP_SECONDS, test,
          "delay %d ms: claim_train() returned %.3f s after the interrupt",
          ms, stop);
  }
  printf("  31 delays from 0 to 60 ms: slowest stop %.4f s\n", slowest);
  check_unchanged(db, before, test);
}

static void interrupt_now(sqlite3_context *context, int argc,
                          sqlite3_value **argv) {
  (void)argc;
  (void)argv;
  sqlite3_interrupt(sqlite3_context_db_handle(context));
  sqlite3_result_null(context);
}

/* An interrupt while the new model's rows are being inserted. */
static void test_interrupt_while_saving(sqlite3 *db, const Snapshot *before) {
  const char *test = "interrupt while saving";
  sqlite3_create_function(db, "interrupt_now", 0, SQLITE_UTF8, 0,
                          interrupt_now, 0, 0);
  exec_sql(db, "CREATE TEMP TRIGGER interrupt_third_tensor AFTER INSERT ON"
               " claim_weights WHEN (SELECT count(*) FROM claim_weights"
               " WHERE model = 'm') = 3 BEGIN SELECT interrupt_now(); END");
  alarm(WATCHDOG_SECONDS);
  int rc = sqlite3_exec(db, "SELECT claim_train('videos', '{\"model\":"
                            " \"m\", \"epochs\": 1, \"seed\": 7,"
                            " \"verbose\": false}')", 0, 0, 0);
  alarm(0);
  check(rc == SQLITE_INTERRUPT, test, "result %d, expected SQLITE_INTERRUPT",
        rc);
  check(strcmp(sqlite3_errmsg(db), "interrupted") == 0, test,
        "message \"%s\", expected \"interrupted\"", sqlite3_errmsg(db));
  check(sqlite3_get_autocommit(db) != 0, test,
        "the connection was left inside a transaction");
  exec_sql(db, "DROP TRIGGER interrupt_third_tensor");
  check_unchanged(db, before, test);
}

/*
** An interrupt after the last row of the new model is inserted and before
** the savepoint is released. SQLite 3.40 fails every statement, RELEASE
** and ROLLBACK TO included, while the flag is set and the caller's
** statement runs, so claim_train() must still leave no open transaction.
*/
static void test_interrupt_before_commit(sqlite3 *db, const Snapshot *before) {
  const char *test = "interrupt before commit";
  sqlite3_create_function(db, "interrupt_now", 0, SQLITE_UTF8, 0,
                          interrupt_now, 0, 0);
  exec_sql(db, "CREATE TEMP TRIGGER interrupt_last_tensor AFTER INSERT ON"
               " claim_weights WHEN NEW.tensor = 'output.bias'"
               " BEGIN SELECT interrupt_now(); END");
  int rc = sqlite3_exec(db, "SELECT claim_train('videos', '{\"model\":"
                            " \"m\", \"epochs\": 1, \"seed\": 8,"
                            " \"verbose\": false}')", 0, 0, 0);
  check(rc == SQLITE_INTERRUPT, test, "result %d, expected SQLITE_INTERRUPT",
        rc);
  check(sqlite3_get_autocommit(db) != 0, test,
        "the connection was left inside a transaction");
  if (!sqlite3_get_autocommit(db)) exec_sql(db, "ROLLBACK");
  exec_sql(db, "DROP TRIGGER interrupt_last_tensor");
  check_unchanged(db, before, test);
}

/* The authorizer runs while a statement is prepared; this one calls
** sqlite3_interrupt() when the statement uses the function json_valid(). */
static int interrupt_on_json_valid(void *context, int action,
                                   const char *detail1, const char *detail2,
                                   const char *database, const char *view) {
  (void)detail1;
  (void)database;
  (void)view;
  if (action == SQLITE_FUNCTION && detail2 &&
      strcmp(detail2, "json_valid") == 0)
    sqlite3_interrupt(context);
  return SQLITE_OK;
}

/* An interrupt while claim_train() reads its options JSON. */
static void test_interrupt_reading_options(sqlite3 *db,
                                           const Snapshot *before) {
  const char *test = "interrupt reading options";
  sqlite3_set_authorizer(db, interrupt_on_json_valid, db);
  int rc = sqlite3_exec(db, "SELECT claim_train('videos', '{\"model\":"
                            " \"m\", \"epochs\": 1, \"verbose\": false}')",
                        0, 0, 0);
  char message[256];
  snprintf(message, sizeof(message), "%s", sqlite3_errmsg(db));
  sqlite3_set_authorizer(db, 0, 0);
  check(rc == SQLITE_INTERRUPT, test, "result %d, expected SQLITE_INTERRUPT",
        rc);
  check(strcmp(message, "interrupted") == 0, test,
        "message \"%s\", expected \"interrupted\"", message);
  check_unchanged(db, before, test);
}

/* The interrupt flag must not outlive the interrupted statement. */
static void test_training_after_interrupt(sqlite3 *db,
                                          const Snapshot *before) {
  const char *test = "training after interrupt";
  int rc = exec_sql(db, "SELECT claim_train('videos', '{\"model\": \"m\","
                        " \"epochs\": 1, \"seed\": 9, \"verbose\": false}')");
  check(rc == SQLITE_OK, test, "retraining failed with %d", rc);
  Snapshot after;
  take_snapshot(db, &after);
  check(after.generation != before->generation, test,
        "the generation did not change after retraining");
  check(after.history_rows == 1, test, "%lld history rows, expected 1",
        after.history_rows);
  free(after.weights_hash);
}

int main(void) {
  setvbuf(stdout, 0, _IOLBF, 0);
  signal(SIGALRM, watchdog_expired);
  sqlite3 *db = open_database(":memory:",
                              SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
  if (create_videos(db, "videos", TABLE_ROWS) != SQLITE_OK ||
      exec_sql(db, "SELECT claim_train('videos', '{\"model\": \"m\","
                   " \"epochs\": 2, \"verbose\": false}')") != SQLITE_OK) {
    check(0, "setup", "creating the table or the first model failed");
    return finish();
  }
  Snapshot before;
  take_snapshot(db, &before);
  check(before.history_rows == 2 && before.weight_rows > 0, "setup",
        "model \"m\" has %lld history and %lld weight rows",
        before.history_rows, before.weight_rows);

  double started = now_seconds();
  test_long_training_stops(db, &before);
  test_delay_sweep(db, &before);
  test_interrupt_while_saving(db, &before);
  test_interrupt_before_commit(db, &before);
  test_interrupt_reading_options(db, &before);
  test_training_after_interrupt(db, &before);
  printf("  all cases took %.2f s\n", now_seconds() - started);

  free(before.weights_hash);
  sqlite3_close(db);
  return finish();
}
