/*
** Helpers shared by the integration tests (tests/integration_*.c): the
** pass/fail counters, opening a connection with the extension loaded, and
** a generated training table.
**
** Each test program includes this header once. The extension path comes
** from the environment variable SQLTEST_EXTENSION (default build/claim),
** and the program ends with finish(), which prints "N passed, N failed"
** and returns the exit status.
*/
#ifndef CLAIM_INTEGRATION_H
#define CLAIM_INTEGRATION_H

#include <math.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static atomic_int tests_passed, tests_failed;

/* Counts one check; on failure prints the test name and the message. */
static inline void check(int ok, const char *test, const char *format, ...) {
  if (ok) {
    atomic_fetch_add(&tests_passed, 1);
    return;
  }
  atomic_fetch_add(&tests_failed, 1);
  va_list args;
  va_start(args, format);
  fprintf(stdout, "FAIL %s: ", test);
  vfprintf(stdout, format, args);
  fputc('\n', stdout);
  va_end(args);
  fflush(stdout);
}

static inline int finish(void) {
  printf("%d passed, %d failed\n", atomic_load(&tests_passed),
         atomic_load(&tests_failed));
  return atomic_load(&tests_failed) ? 1 : 0;
}

static inline double now_seconds(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + t.tv_nsec * 1e-9;
}

static inline void sleep_seconds(double seconds) {
  struct timespec t;
  t.tv_sec = (time_t)seconds;
  t.tv_nsec = (long)((seconds - (double)t.tv_sec) * 1e9);
  while (nanosleep(&t, &t) != 0) {
  }
}

static inline const char *extension_path(void) {
  const char *path = getenv("SQLTEST_EXTENSION");
  return path && *path ? path : "build/claim";
}

/*
** Opens path with the extension loaded and a busy timeout of 10 s. Exits
** the program when that fails, because no test can run without it.
*/
static inline sqlite3 *open_database(const char *path, int flags) {
  sqlite3 *db = 0;
  char *error = 0;
  if (sqlite3_open_v2(path, &db, flags, 0) != SQLITE_OK) {
    printf("opening %s failed: %s\n0 passed, 1 failed\n", path,
           db ? sqlite3_errmsg(db) : "out of memory");
    exit(1);
  }
  sqlite3_enable_load_extension(db, 1);
  if (sqlite3_load_extension(db, extension_path(), 0, &error) != SQLITE_OK) {
    printf("loading %s failed: %s; set SQLTEST_EXTENSION to the built "
           "extension\n0 passed, 1 failed\n", extension_path(),
           error ? error : "unknown error");
    exit(1);
  }
  sqlite3_busy_timeout(db, 10000);
  return db;
}

/* Removes a test's temporary file or directory; prints a line when that
** fails, which fails no test. */
static inline void remove_path(const char *path) {
  char command[1100];
  snprintf(command, sizeof(command), "rm -rf '%s'", path);
  if (system(command) != 0) printf("  could not remove %s\n", path);
}

/* Runs sql and returns its result code; prints the message on failure. */
static inline int exec_sql(sqlite3 *db, const char *sql) {
  char *error = 0;
  int rc = sqlite3_exec(db, sql, 0, 0, &error);
  if (rc != SQLITE_OK) {
    printf("  %s\n  -> %s (%d)\n", sql, error ? error : "?", rc);
  }
  sqlite3_free(error);
  return rc;
}

/* Returns the first column of the first row of sql as an integer, or
** fallback when sql fails or returns no row. */
static inline sqlite3_int64 query_int64(sqlite3 *db, const char *sql,
                                 sqlite3_int64 fallback) {
  sqlite3_stmt *stmt;
  sqlite3_int64 value = fallback;
  if (sqlite3_prepare_v2(db, sql, -1, &stmt, 0) != SQLITE_OK) return fallback;
  if (sqlite3_step(stmt) == SQLITE_ROW &&
      sqlite3_column_type(stmt, 0) != SQLITE_NULL)
    value = sqlite3_column_int64(stmt, 0);
  sqlite3_finalize(stmt);
  return value;
}

/* Returns the first column of the first row of sql as malloc'ed text, or
** NULL. */
static inline char *query_text(sqlite3 *db, const char *sql) {
  sqlite3_stmt *stmt;
  char *value = 0;
  if (sqlite3_prepare_v2(db, sql, -1, &stmt, 0) != SQLITE_OK) return 0;
  if (sqlite3_step(stmt) == SQLITE_ROW &&
      sqlite3_column_type(stmt, 0) != SQLITE_NULL)
    value = strdup((const char *)sqlite3_column_text(stmt, 0));
  sqlite3_finalize(stmt);
  return value;
}

/*
** Creates table `name` with the dataset's column names and n rows. Odd i
** are claims framed as reported ("a friend read in the news that ..."),
** and even i are opinions framed as held ("i think that ..."), both about
** the same facts. Claim rows get about 100 times the views. Every
** tenth row takes the other class's counts, so the counts alone do not
** separate the classes.
*/
static inline int create_videos(sqlite3 *db, const char *name, int n) {
  char *sql = sqlite3_mprintf(
      "DROP TABLE IF EXISTS \"%w\";"
      "CREATE TABLE \"%w\"(claim_status TEXT, video_view_count,"
      " video_like_count, video_share_count, video_download_count,"
      " video_comment_count, verified_status TEXT, author_ban_status TEXT,"
      " video_transcription_text TEXT);"
      "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n"
      "   WHERE i < %d),"
      " r(i, claim, swap, views) AS (SELECT i, i %% 2, i %% 10 = 0,"
      "   1000 + (i * 7919) %% 9000 FROM n)"
      "INSERT INTO \"%w\" SELECT"
      " CASE WHEN claim THEN 'claim' ELSE 'opinion' END,"
      " CASE WHEN claim <> swap THEN views * 100 ELSE views END,"
      " views * (1 + i %% 7), views / (1 + i %% 5), views / (2 + i %% 3),"
      " i %% 97,"
      " CASE WHEN i %% 13 = 0 THEN 'verified' ELSE 'not verified' END,"
      " CASE i %% 3 WHEN 0 THEN 'active' WHEN 1 THEN 'under review'"
      "   ELSE 'banned' END,"
      " CASE WHEN claim THEN"
      "   CASE i %% 3 WHEN 0 THEN 'a friend read in the news that'"
      "     WHEN 1 THEN 'someone shared with me that'"
      "     ELSE 'my colleague learned from a website that' END"
      " ELSE"
      "   CASE i %% 3 WHEN 0 THEN 'i think that'"
      "     WHEN 1 THEN 'my family''s view is that'"
      "     ELSE 'i am convinced that' END"
      " END || ' ' ||"
      " CASE i %% 5 WHEN 0 THEN 'the moon is made of basalt'"
      "   WHEN 1 THEN 'octopuses have three hearts'"
      "   WHEN 2 THEN 'honey never spoils'"
      "   WHEN 3 THEN 'bananas are berries'"
      "   ELSE 'sharks are older than trees' END"
      " FROM r;",
      name, name, n, name);
  int rc = sql ? exec_sql(db, sql) : SQLITE_NOMEM;
  sqlite3_free(sql);
  return rc;
}

/* The arguments of claim_probability() for the rows of videos. */
#define FEATURES                                                           \
  "video_view_count, video_like_count, video_share_count,"                \
  " video_download_count, video_comment_count, verified_status,"          \
  " author_ban_status, video_transcription_text"

/*
** Stores claim_probability(model, ...) of the first n rows of videos (by
** rowid) in out. Returns SQLITE_OK or the failing call's result code, and
** then copies its message to message (size bytes) when message is set.
*/
static inline int predict_rows(sqlite3 *db, const char *model, int n, double *out,
                        char *message, size_t size) {
  sqlite3_stmt *stmt;
  char *sql = sqlite3_mprintf("SELECT claim_probability(%Q, " FEATURES
                              ") FROM videos ORDER BY rowid LIMIT %d",
                              model, n);
  int rc = sqlite3_prepare_v2(db, sql, -1, &stmt, 0);
  sqlite3_free(sql);
  if (rc == SQLITE_OK) {
    int i = 0;
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
      if (i < n) out[i] = sqlite3_column_double(stmt, 0);
      i++;
    }
    if (rc == SQLITE_DONE && i != n) rc = SQLITE_MISMATCH;
    if (rc == SQLITE_DONE) rc = SQLITE_OK;
  }
  if (rc != SQLITE_OK && message)
    snprintf(message, size, "%s", sqlite3_errmsg(db));
  sqlite3_finalize(stmt);
  return rc;
}

#endif
