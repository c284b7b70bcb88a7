/*
** A process killed while it retrains a model leaves a database that is
** intact and contains either the complete previous model or the complete new
** one, in rollback-journal mode and in WAL mode.
**
**   SQLTEST_EXTENSION=build/claim build/integration_kill
**
** For each journal mode the parent creates a database file with a
** training table and model "m", then KILLS times forks a child that
** retrains "m" in a loop with seeds from SEEDS, and kills it with SIGKILL.
** Half of the kills come after a random delay of up to 100 ms. The other
** half come 0 to 3 ms after the child signals, through a pipe, that it
** has started to replace the stored rows, so they land inside the write
** transaction. The delays come from a fixed seed.
**
** After each kill the parent reopens the file and checks:
** PRAGMA integrity_check returns ok; claim_models has one row for "m";
** and the model's rows in all five tables, and its predictions, equal
** those of a reference model trained in memory with the seed that the
** claim_models row records. Training with the same data, options and seed
** gives bit-identical weights, so a mix of two runs cannot pass.
*/
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <strings.h>
#include <sys/select.h>
#include <sys/wait.h>
#include <unistd.h>

#include "integration.h"

#define TABLE_ROWS 2000
#define PROBE_ROWS 20
#define KILLS 24
#define MAX_RANDOM_DELAY 0.1
#define MAX_SAVING_DELAY 0.003

/* The child cycles through these seeds; seed s trains 1 + s % 2 epochs,
** so consecutive models differ in their history rows too. The parent's
** first model uses FIRST_SEED. */
static const int seeds[] = {101, 102, 103, 104};
#define N_SEEDS ((int)(sizeof(seeds) / sizeof(seeds[0])))
#define FIRST_SEED 100

/* Everything a model stores, as one string, leaving out the columns that
** differ between two runs of the same training: created_at, seconds and
** generation. */
static const char fingerprint_sql[] =
  "SELECT (SELECT group_concat(x, '|') FROM (SELECT quote(source) || ','"
  "   || quote(validation) || ',' || quote(preset) || ',' || quote(options)"
  "   || ',' || quote(count_transform) || ',' || quote(text_input) || ','"
  "   || quote(sequence_length) || ',' || quote(train_rows) || ','"
  "   || quote(validation_rows) || ',' || quote(skipped_rows) || ','"
  "   || quote(epochs_run) || ',' || quote(best_epoch) || ',' || quote(loss)"
  "   || ',' || quote(accuracy) || ',' || quote(val_loss) || ','"
  "   || quote(val_accuracy) || ',' || quote(format_version) AS x"
  "   FROM claim_models WHERE name = 'm'))"
  " || '#' || (SELECT group_concat(x, '|') FROM (SELECT quote(epoch) || ','"
  "   || quote(loss) || ',' || quote(accuracy) || ',' || quote(val_loss)"
  "   || ',' || quote(val_accuracy) AS x"
  "   FROM claim_history WHERE model = 'm' ORDER BY epoch))"
  " || '#' || (SELECT group_concat(x, '|') FROM (SELECT quote(feature)"
  "   || ',' || quote(token_id) || ',' || quote(token) || ',' || quote(count)"
  "   AS x FROM claim_vocabulary WHERE model = 'm'"
  "   ORDER BY feature, token_id))"
  " || '#' || (SELECT group_concat(x, '|') FROM (SELECT quote(feature)"
  "   || ',' || quote(position) || ',' || quote(mean) || ','"
  "   || quote(variance) AS x FROM claim_normalization WHERE model = 'm'"
  "   ORDER BY feature))"
  " || '#' || (SELECT group_concat(x, '|') FROM (SELECT quote(tensor)"
  "   || ',' || quote(rows) || ',' || quote(cols) || ',' || quote(data)"
  "   AS x FROM claim_weights WHERE model = 'm' ORDER BY tensor))";

typedef struct Reference {
  int seed;
  char *fingerprint;
  double probability[PROBE_ROWS];
} Reference;

static Reference references[N_SEEDS + 1];

static char *training_sql(int seed) {
  return sqlite3_mprintf("SELECT claim_train('videos', '{\"model\": \"m\","
                         " \"seed\": %d, \"epochs\": %d,"
                         " \"verbose\": false}')", seed, 1 + seed % 2);
}

static int train(sqlite3 *db, int seed) {
  char *sql = training_sql(seed);
  int rc = exec_sql(db, sql);
  sqlite3_free(sql);
  return rc;
}

/* Trains each seed's model in memory and keeps what it stores. */
static int make_references(void) {
  sqlite3 *db = open_database(":memory:",
                              SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
  int rc = create_videos(db, "videos", TABLE_ROWS);
  for (int i = 0; rc == SQLITE_OK && i <= N_SEEDS; i++) {
    Reference *r = &references[i];
    r->seed = i < N_SEEDS ? seeds[i] : FIRST_SEED;
    rc = train(db, r->seed);
    if (rc == SQLITE_OK) {
      r->fingerprint = query_text(db, fingerprint_sql);
      rc = predict_rows(db, "m", PROBE_ROWS, r->probability, 0, 0);
    }
    if (rc == SQLITE_OK && !r->fingerprint) rc = SQLITE_ERROR;
  }
  sqlite3_close(db);
  return rc;
}

static const Reference *find_reference(sqlite3_int64 seed) {
  for (int i = 0; i <= N_SEEDS; i++)
    if (references[i].seed == seed) return &references[i];
  return 0;
}

/* A SQL function for the child's trigger: writes one byte to the pipe. */
static void notify_parent(sqlite3_context *context, int argc,
                          sqlite3_value **argv) {
  int *fd = sqlite3_user_data(context);
  (void)argc;
  (void)argv;
  ssize_t written = write(*fd, "s", 1);
  (void)written;
  sqlite3_result_null(context);
}

/* The child: retrains "m" until it is killed. Never returns. */
static void run_child(const char *path, int notify_fd, int first) {
  sqlite3 *db = open_database(path, SQLITE_OPEN_READWRITE);
  static int fd;
  fd = notify_fd;
  sqlite3_create_function(db, "notify_parent", 0, SQLITE_UTF8, &fd,
                          notify_parent, 0, 0);
  if (exec_sql(db, "CREATE TEMP TRIGGER saving AFTER DELETE ON claim_models"
                   " BEGIN SELECT notify_parent(); END") != SQLITE_OK)
    _exit(3);
  for (int i = first;; i++) {
    if (train(db, seeds[i % N_SEEDS]) != SQLITE_OK) _exit(2);
  }
}

/* splitmix64, for the kill delays. */
static uint64_t next_random(uint64_t *state) {
  uint64_t z = (*state += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

static double random_fraction(uint64_t *state) {
  return (double)(next_random(state) >> 11) / 9007199254740992.0;
}

/* Waits until fd is readable or seconds pass; returns 1 when readable. */
static int wait_readable(int fd, double seconds) {
  fd_set set;
  FD_ZERO(&set);
  FD_SET(fd, &set);
  struct timeval limit = {(time_t)seconds,
                          (suseconds_t)((seconds - (time_t)seconds) * 1e6)};
  return select(fd + 1, &set, 0, 0, &limit) > 0;
}

static int file_exists(const char *path) { return access(path, F_OK) == 0; }

/* Checks the database after a kill; returns the seed of the stored model,
** or -1. */
static sqlite3_int64 check_database(const char *path, const char *test,
                                    int kill) {
  sqlite3 *db = open_database(path, SQLITE_OPEN_READWRITE);
  char *integrity = query_text(db, "PRAGMA integrity_check");
  check(integrity && strcmp(integrity, "ok") == 0, test,
        "kill %d: integrity_check returned %s", kill,
        integrity ? integrity : "nothing");
  free(integrity);

  sqlite3_int64 models = query_int64(
      db, "SELECT count(*) FROM claim_models WHERE name = 'm'", -1);
  check(models == 1, test, "kill %d: %lld claim_models rows for \"m\"", kill,
        models);
  sqlite3_int64 seed = query_int64(
      db, "SELECT json_extract(options, '$.seed') FROM claim_models"
          " WHERE name = 'm'", -1);
  const Reference *reference = find_reference(seed);
  check(reference != 0, test, "kill %d: stored seed %lld is not one the "
        "test trains with", kill, seed);

  char *fingerprint = query_text(db, fingerprint_sql);
  check(reference && fingerprint &&
            strcmp(fingerprint, reference->fingerprint) == 0,
        test, "kill %d: the stored rows of \"m\" differ from those of the "
        "complete model with seed %lld", kill, seed);
  free(fingerprint);

  double probability[PROBE_ROWS];
  char message[256] = "";
  int rc = predict_rows(db, "m", PROBE_ROWS, probability, message,
                        sizeof(message));
  check(rc == SQLITE_OK, test, "kill %d: claim_probability() failed: %s",
        kill, message);
  check(rc != SQLITE_OK || !reference ||
            memcmp(probability, reference->probability,
                   sizeof(probability)) == 0,
        test, "kill %d: predictions differ from the complete model with "
        "seed %lld", kill, seed);
  sqlite3_close(db);
  return reference ? seed : -1;
}

static void test_kills(const char *directory, const char *journal_mode,
                       uint64_t random_state) {
  char test[64], path[512], journal[600];
  snprintf(test, sizeof(test), "kill during training (%s)", journal_mode);
  snprintf(path, sizeof(path), "%s/%s.db", directory, journal_mode);
  snprintf(journal, sizeof(journal), "%s-journal", path);

  sqlite3 *db = open_database(path, SQLITE_OPEN_READWRITE |
                                        SQLITE_OPEN_CREATE);
  char *mode_sql = sqlite3_mprintf("PRAGMA journal_mode = %s", journal_mode);
  char *mode = query_text(db, mode_sql);
  sqlite3_free(mode_sql);
  check(mode && strcasecmp(mode, journal_mode) == 0, test,
        "journal_mode is %s", mode ? mode : "unknown");
  free(mode);
  if (create_videos(db, "videos", TABLE_ROWS) != SQLITE_OK ||
      train(db, FIRST_SEED) != SQLITE_OK) {
    check(0, test, "setup failed");
    sqlite3_close(db);
    return;
  }
  sqlite3_close(db);

  int changed = 0, hot_journals = 0, after_saving = 0;
  sqlite3_int64 previous_seed = FIRST_SEED;
  for (int kill_number = 0; kill_number < KILLS; kill_number++) {
    int pipe_fd[2];
    if (pipe(pipe_fd) != 0) {
      check(0, test, "pipe() failed: %s", strerror(errno));
      return;
    }
    fflush(stdout);
    pid_t child = fork();
    if (child == 0) {
      close(pipe_fd[0]);
      run_child(path, pipe_fd[1], kill_number);
    }
    close(pipe_fd[1]);

    /* Even kills wait a random time; odd kills wait for the child to
    ** start saving a model, then a shorter random time. */
    double delay;
    if (kill_number % 2 == 0) {
      delay = random_fraction(&random_state) * MAX_RANDOM_DELAY;
    } else {
      after_saving += wait_readable(pipe_fd[0], 5.0);
      delay = random_fraction(&random_state) * MAX_SAVING_DELAY;
    }
    sleep_seconds(delay);
    kill(child, SIGKILL);
    int status = 0;
    waitpid(child, &status, 0);
    close(pipe_fd[0]);
    check(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL, test,
          "kill %d: the child ended by itself (status %d) before the kill",
          kill_number, status);

    hot_journals += file_exists(journal);
    sqlite3_int64 seed = check_database(path, test, kill_number);
    if (seed != previous_seed) changed++;
    previous_seed = seed;
  }
  printf("  %s: %d kills, %d after the child started saving, %d left a "
         "hot journal, %d found a new model\n", journal_mode, KILLS,
         after_saving, hot_journals, changed);
  check(after_saving == KILLS / 2, test, "only %d of %d children signalled "
        "that they started saving", after_saving, KILLS / 2);
}

int main(void) {
  setvbuf(stdout, 0, _IOLBF, 0);
  double started = now_seconds();
  if (make_references() != SQLITE_OK) {
    check(0, "setup", "training the reference models failed");
    return finish();
  }
  char directory[] = "/tmp/claim_kill_XXXXXX";
  if (!mkdtemp(directory)) {
    check(0, "setup", "mkdtemp failed: %s", strerror(errno));
    return finish();
  }
  test_kills(directory, "delete", 0x6b696c6c01ull);
  test_kills(directory, "wal", 0x6b696c6c02ull);

  remove_path(directory);
  printf("  took %.2f s\n", now_seconds() - started);
  return finish();
}
