/*
** Concurrent use of the extension from several threads.
**
**   SQLTEST_EXTENSION=build/claim build/integration_concurrency
**
** 1. One database in WAL mode: a predicting thread runs claim_probability()
**    over the first PROBE_ROWS rows in a loop while a training thread, on
**    its own connection, retrains the same model RETRAINS times. Every
**    prediction must succeed, and each statement's probabilities must all
**    equal those of one complete model: the models of all the seeds used
**    are trained beforehand in memory as references.
** 2. Two databases, one connection and one thread each, both with a model
**    named "m": each thread retrains and predicts in a loop and must only
**    ever see its own database's models, because the extension keeps its
**    model cache per connection.
** 3. Two connections training different models on one database at the
**    same time, in WAL and in rollback journal mode, each with a busy
**    timeout: every training must succeed, because each waits for the
**    other's write lock instead of failing with "database is locked".
*/
#include <errno.h>
#include <pthread.h>
#include <unistd.h>

#include "integration.h"

#define TABLE_ROWS 2000
#define PROBE_ROWS 20
#define RETRAINS 9
#define ROUNDS 10

static const int seeds[] = {101, 102, 103, 104};
#define N_SEEDS ((int)(sizeof(seeds) / sizeof(seeds[0])))

static int train(sqlite3 *db, const char *model, int seed) {
  char *sql = sqlite3_mprintf("SELECT claim_train('videos', json_object("
                              "'model', %Q, 'seed', %d, 'epochs', 1,"
                              " 'verbose', json('false')))", model, seed);
  int rc = exec_sql(db, sql);
  sqlite3_free(sql);
  return rc;
}

/* Probabilities of the probe rows under each seed's model. */
static double reference[N_SEEDS][PROBE_ROWS];

static int make_references(void) {
  sqlite3 *db = open_database(":memory:",
                              SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
  int rc = create_videos(db, "videos", TABLE_ROWS);
  for (int s = 0; rc == SQLITE_OK && s < N_SEEDS; s++) {
    rc = train(db, "m", seeds[s]);
    if (rc == SQLITE_OK)
      rc = predict_rows(db, "m", PROBE_ROWS, reference[s], 0, 0);
  }
  sqlite3_close(db);
  return rc;
}

/* Returns the seed index whose model gives these probabilities, or -1. */
static int match_reference(const double *probability) {
  for (int s = 0; s < N_SEEDS; s++)
    if (memcmp(probability, reference[s], sizeof(reference[s])) == 0)
      return s;
  return -1;
}

/* ---- 1. Predicting while another connection retrains ----------------- */

typedef struct SharedRun {
  const char *path;
  atomic_int training_done;
  int predictions, errors, mismatches, seen[N_SEEDS];
  char first_error[256];
  int train_failures;
} SharedRun;

static int predict_once(sqlite3 *db, SharedRun *run) {
  double probability[PROBE_ROWS];
  char message[256] = "";
  int rc = predict_rows(db, "m", PROBE_ROWS, probability, message,
                        sizeof(message));
  run->predictions++;
  if (rc != SQLITE_OK) {
    if (run->errors++ == 0)
      snprintf(run->first_error, sizeof(run->first_error), "%.200s (%d)",
               message, rc);
    return rc;
  }
  int s = match_reference(probability);
  if (s < 0) run->mismatches++;
  else run->seen[s] = 1;
  return SQLITE_OK;
}

static void *predict_loop(void *context) {
  SharedRun *run = context;
  sqlite3 *db = open_database(run->path, SQLITE_OPEN_READWRITE);
  while (!atomic_load(&run->training_done)) predict_once(db, run);
  /* Once more after the last commit, so the last model is seen. */
  predict_once(db, run);
  sqlite3_close(db);
  return 0;
}

static void *retrain_loop(void *context) {
  SharedRun *run = context;
  sqlite3 *db = open_database(run->path, SQLITE_OPEN_READWRITE);
  for (int i = 1; i <= RETRAINS; i++)
    if (train(db, "m", seeds[i % N_SEEDS]) != SQLITE_OK)
      run->train_failures++;
  sqlite3_close(db);
  atomic_store(&run->training_done, 1);
  return 0;
}

static void test_predict_during_retraining(const char *directory) {
  const char *test = "predict during retraining";
  char path[512];
  snprintf(path, sizeof(path), "%s/shared.db", directory);
  sqlite3 *db = open_database(path, SQLITE_OPEN_READWRITE |
                                        SQLITE_OPEN_CREATE);
  char *mode = query_text(db, "PRAGMA journal_mode = wal");
  check(mode && strcmp(mode, "wal") == 0, test, "journal_mode is %s",
        mode ? mode : "unknown");
  free(mode);
  if (create_videos(db, "videos", TABLE_ROWS) != SQLITE_OK ||
      train(db, "m", seeds[0]) != SQLITE_OK) {
    check(0, test, "setup failed");
    sqlite3_close(db);
    return;
  }
  sqlite3_close(db);

  SharedRun run;
  memset(&run, 0, sizeof(run));
  run.path = path;
  pthread_t predictor, trainer;
  pthread_create(&predictor, 0, predict_loop, &run);
  pthread_create(&trainer, 0, retrain_loop, &run);
  pthread_join(trainer, 0);
  pthread_join(predictor, 0);

  int distinct = 0;
  for (int s = 0; s < N_SEEDS; s++) distinct += run.seen[s];
  printf("  %d retrains, %d prediction statements of %d rows, %d "
         "distinct models seen\n", RETRAINS, run.predictions, PROBE_ROWS,
         distinct);
  check(run.train_failures == 0, test, "%d of %d retrains failed",
        run.train_failures, RETRAINS);
  check(run.errors == 0, test, "%d of %d prediction statements failed; "
        "first: %s", run.errors, run.predictions, run.first_error);
  check(run.mismatches == 0, test, "%d of %d prediction statements gave "
        "probabilities of no complete model", run.mismatches,
        run.predictions);
  /* The first model and the last one (seed index RETRAINS % N_SEEDS)
  ** differ, and the predictor runs before and after the retraining. */
  check(distinct >= 2, test, "the predictor saw %d distinct models, "
        "expected at least 2", distinct);
}

/* ---- 2. Two databases in two threads --------------------------------- */

typedef struct Separate {
  const char *path;
  int rows;                    /* size of this database's videos table */
  int seed[2];                 /* this database's two models of "m" */
  double own[2][PROBE_ROWS];   /* their probabilities */
  const struct Separate *other;
  int failures;
  char first_failure[256];
} Separate;

static void fail_separate(Separate *s, const char *format, const char *text) {
  if (s->failures++ == 0)
    snprintf(s->first_failure, sizeof(s->first_failure), format, text);
}

static void *separate_loop(void *context) {
  Separate *s = context;
  sqlite3 *db = open_database(s->path, SQLITE_OPEN_READWRITE);
  for (int round = 0; round < ROUNDS; round++) {
    int k = round % 2;
    if (train(db, "m", s->seed[k]) != SQLITE_OK) {
      fail_separate(s, "%s", "claim_train() failed");
      continue;
    }
    double probability[PROBE_ROWS];
    char message[256] = "";
    if (predict_rows(db, "m", PROBE_ROWS, probability, message,
                     sizeof(message)) != SQLITE_OK) {
      fail_separate(s, "claim_probability() failed: %.200s", message);
      continue;
    }
    if (memcmp(probability, s->own[k], sizeof(probability)) != 0)
      fail_separate(s, "%s", "predictions differ from this database's "
                    "model");
    /* The other database's model of its own name must not be found. */
    sqlite3_stmt *stmt;
    char *sql = sqlite3_mprintf("SELECT claim_probability('only_%q', 1, 1,"
                                " 1, 1, 1, NULL, NULL, 'i think')",
                                s->other->path);
    if (sqlite3_prepare_v2(db, sql, -1, &stmt, 0) == SQLITE_OK) {
      int rc = sqlite3_step(stmt);
      if (rc != SQLITE_ERROR ||
          !strstr(sqlite3_errmsg(db), "no model named"))
        fail_separate(s, "the other database's model was found: %s",
                      sqlite3_errmsg(db));
      sqlite3_finalize(stmt);
    }
    sqlite3_free(sql);
  }
  sqlite3_close(db);
  return 0;
}

static void test_two_databases(const char *directory) {
  const char *test = "two databases two threads";
  char path[2][512];
  Separate side[2];
  memset(side, 0, sizeof(side));
  for (int d = 0; d < 2; d++) {
    snprintf(path[d], sizeof(path[d]), "%s/separate_%d.db", directory, d);
    side[d].path = path[d];
    side[d].rows = d == 0 ? 2000 : 1500;
    side[d].seed[0] = 201 + 2 * d;
    side[d].seed[1] = 202 + 2 * d;
    side[d].other = &side[1 - d];
  }

  /* Each database gets its own table, its two models' probabilities, and
  ** a model named after its own path that the other must not see. */
  for (int d = 0; d < 2; d++) {
    sqlite3 *db = open_database(path[d], SQLITE_OPEN_READWRITE |
                                             SQLITE_OPEN_CREATE);
    int rc = create_videos(db, "videos", side[d].rows);
    for (int k = 0; rc == SQLITE_OK && k < 2; k++) {
      rc = train(db, "m", side[d].seed[k]);
      if (rc == SQLITE_OK)
        rc = predict_rows(db, "m", PROBE_ROWS, side[d].own[k], 0, 0);
    }
    char *name = sqlite3_mprintf("only_%s", path[d]);
    if (rc == SQLITE_OK) rc = train(db, name, 1);
    sqlite3_free(name);
    sqlite3_close(db);
    if (rc != SQLITE_OK) {
      check(0, test, "setup of database %d failed", d);
      return;
    }
  }
  check(memcmp(side[0].own[0], side[1].own[0], sizeof(side[0].own[0])) != 0,
        test, "the two databases' models predict the same probabilities, "
        "so the test could not tell them apart");

  pthread_t thread[2];
  for (int d = 0; d < 2; d++)
    pthread_create(&thread[d], 0, separate_loop, &side[d]);
  for (int d = 0; d < 2; d++) pthread_join(thread[d], 0);
  for (int d = 0; d < 2; d++)
    check(side[d].failures == 0, test, "database %d: %d failures; first: "
          "%s", d, side[d].failures, side[d].first_failure);
}

/* ---- 3. Two trainers on one database --------------------------------- */

#define TRAININGS 12

typedef struct Trainer {
  const char *path;
  const char *model;
  int failures;
  char first_failure[256];
} Trainer;

static void *trainer_loop(void *context) {
  Trainer *t = context;
  sqlite3 *db = open_database(t->path, SQLITE_OPEN_READWRITE);
  sqlite3_busy_timeout(db, 20000);
  for (int i = 0; i < TRAININGS; i++) {
    char *sql = sqlite3_mprintf("SELECT claim_train('videos', json_object("
                                "'model', %Q, 'seed', %d, 'epochs', 1,"
                                " 'verbose', json('false')))", t->model, i);
    char *error = 0;
    if (sqlite3_exec(db, sql, 0, 0, &error) != SQLITE_OK &&
        t->failures++ == 0)
      snprintf(t->first_failure, sizeof(t->first_failure), "%s",
               error ? error : "?");
    sqlite3_free(error);
    sqlite3_free(sql);
  }
  sqlite3_close(db);
  return 0;
}

static void test_two_trainers(const char *directory, const char *mode) {
  char test[64], path[512];
  snprintf(test, sizeof(test), "two trainers in %s mode", mode);
  snprintf(path, sizeof(path), "%s/trainers_%s.db", directory, mode);
  sqlite3 *db = open_database(path, SQLITE_OPEN_READWRITE |
                                        SQLITE_OPEN_CREATE);
  char *pragma = sqlite3_mprintf("PRAGMA journal_mode = %s", mode);
  char *set = query_text(db, pragma);
  sqlite3_free(pragma);
  check(set && strcmp(set, mode) == 0, test, "journal_mode is %s",
        set ? set : "unknown");
  free(set);
  int rc = create_videos(db, "videos", TABLE_ROWS);
  sqlite3_close(db);
  if (rc != SQLITE_OK) {
    check(0, test, "setup failed");
    return;
  }

  Trainer trainer[2] = {{path, "a", 0, ""}, {path, "b", 0, ""}};
  pthread_t thread[2];
  for (int k = 0; k < 2; k++)
    pthread_create(&thread[k], 0, trainer_loop, &trainer[k]);
  for (int k = 0; k < 2; k++) pthread_join(thread[k], 0);
  printf("  %s: %d trainings each\n", test, TRAININGS);
  for (int k = 0; k < 2; k++)
    check(trainer[k].failures == 0, test, "model %s: %d of %d trainings "
          "failed; first: %s", trainer[k].model, trainer[k].failures,
          TRAININGS, trainer[k].first_failure);
}

int main(void) {
  setvbuf(stdout, 0, _IOLBF, 0);
  double started = now_seconds();
  if (make_references() != SQLITE_OK) {
    check(0, "setup", "training the reference models failed");
    return finish();
  }
  char directory[] = "/tmp/claim_concurrency_XXXXXX";
  if (!mkdtemp(directory)) {
    check(0, "setup", "mkdtemp failed: %s", strerror(errno));
    return finish();
  }
  test_predict_during_retraining(directory);
  test_two_databases(directory);
  test_two_trainers(directory, "wal");
  test_two_trainers(directory, "delete");

  remove_path(directory);
  printf("  took %.2f s\n", now_seconds() - started);
  return finish();
}
