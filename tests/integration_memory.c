/*
** Memory use of claim_predict() over a million calls that mix valid rows
** with every error path and with rows of eight NULLs, which return NULL.
** The errors are a count that is not a number, a BLOB count, a BLOB
** transcript, a model name that is not TEXT and an unknown model. The
** unknown model has a new name each time, so a cache of misses would grow.
**
**   SQLTEST_EXTENSION=build/claim build/integration_memory
**
** After WARMUP_CALLS calls, which grow the scratch buffers to their size
** for the longest transcript, neither the resident set size (from
** /proc/self/statm) nor sqlite3_memory_used() may grow by more than
** MAX_GROWTH_BYTES. Leaking 1 byte per call would exceed that bound.
**
** Under AddressSanitizer the freed blocks wait in its quarantine, so the
** resident size grows without a leak: that build makes a tenth of the
** calls and skips the resident-size check, and LeakSanitizer reports
** leaked blocks at exit instead.
*/
#include <unistd.h>

#include "integration.h"

#if defined(__SANITIZE_ADDRESS__)
#define UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define UNDER_ASAN 1
#endif
#endif
#ifndef UNDER_ASAN
#define UNDER_ASAN 0
#endif

#define TABLE_ROWS 1000
#define CALLS (UNDER_ASAN ? 100000 : 1000000)
#define WARMUP_CALLS (CALLS / 20)
#define MAX_GROWTH_BYTES (512 * 1024)

/* The kinds of call. The first eight repeat in turn and take 1 to 5 us
** each on an -O2 build: a call outside a transaction reads the model's
** generation. The last two come less often because they take 20 to 90
** us: an unknown model reads claim_models to list the names in its
** message, and the long transcript has 200 words. */
enum {
  CALL_VALID_NUMBERS, CALL_VALID_TEXT, CALL_VALID_NULLS, CALL_BAD_COUNT,
  CALL_BLOB_COUNT, CALL_BLOB_TRANSCRIPT, CALL_MODEL_NOT_TEXT, CALL_ALL_NULL,
  CALL_UNKNOWN_MODEL, CALL_VALID_LONG, N_CALL_KINDS
};
#define N_FAST_KINDS CALL_UNKNOWN_MODEL

static const char *const kind_name[N_CALL_KINDS] = {
  "valid numbers", "valid numeric text", "valid with NULLs",
  "bad count text", "BLOB count", "BLOB transcript", "model not TEXT",
  "all NULL", "unknown model", "valid long transcript",
};

/* Kind of call number i: one in 1000 has a long transcript, one in 20
** names an unknown model. */
static int call_kind(long i) {
  if (i % 1000 == 999) return CALL_VALID_LONG;
  if (i % 20 == 19) return CALL_UNKNOWN_MODEL;
  return (int)(i % N_FAST_KINDS);
}

static long resident_bytes(void) {
  long size = 0, resident = 0;
  FILE *f = fopen("/proc/self/statm", "r");
  if (!f) return -1;
  if (fscanf(f, "%ld %ld", &size, &resident) != 2) resident = -1;
  fclose(f);
  return resident < 0 ? -1 : resident * sysconf(_SC_PAGESIZE);
}

typedef struct Calls {
  sqlite3 *db;
  sqlite3_stmt *predict;       /* claim_predict(?1, ..., ?9) */
  char *long_transcript;
  char model_name[64];
  int wrong[N_CALL_KINDS];     /* calls whose result was not the expected */
  char first_wrong[N_CALL_KINDS][256];
} Calls;

/* Binds the arguments of one call of the given kind; returns the expected
** result: 'c' claim or opinion, 'n' NULL, 'e' an error. */
static int bind_call(Calls *c, int kind, long i) {
  sqlite3_stmt *s = c->predict;
  static const unsigned char blob[4] = {1, 2, 3, 4};

  /* A valid row, which the kinds below change. */
  sqlite3_bind_text(s, 1, "m", -1, SQLITE_STATIC);
  sqlite3_bind_int64(s, 2, 1000 + i % 5000);
  sqlite3_bind_int64(s, 3, 100 + i % 700);
  sqlite3_bind_int64(s, 4, i % 90);
  sqlite3_bind_int64(s, 5, i % 40);
  sqlite3_bind_int64(s, 6, i % 13);
  sqlite3_bind_text(s, 7, i % 2 ? "verified" : "not verified", -1,
                    SQLITE_STATIC);
  sqlite3_bind_text(s, 8, i % 3 ? "active" : "banned", -1, SQLITE_STATIC);
  sqlite3_bind_text(s, 9, i % 2 ? "i think that honey never spoils"
                                : "a friend read in the news that",
                    -1, SQLITE_STATIC);

  switch (kind) {
    case CALL_VALID_NUMBERS:
      return 'c';
    case CALL_VALID_TEXT:
      sqlite3_bind_text(s, 2, " 343296.0 ", -1, SQLITE_STATIC);
      sqlite3_bind_text(s, 3, "1e3", -1, SQLITE_STATIC);
      sqlite3_bind_double(s, 4, 12.5);
      return 'c';
    case CALL_VALID_NULLS:
      sqlite3_bind_null(s, 3);
      sqlite3_bind_null(s, 7);
      sqlite3_bind_null(s, 9);
      return 'c';
    case CALL_VALID_LONG:
      sqlite3_bind_text(s, 9, c->long_transcript, -1, SQLITE_STATIC);
      return 'c';
    case CALL_BAD_COUNT:
      sqlite3_bind_text(s, 2 + (int)(i % 5), "1,234", -1, SQLITE_STATIC);
      return 'e';
    case CALL_BLOB_COUNT:
      sqlite3_bind_blob(s, 2 + (int)(i % 5), blob, sizeof(blob),
                        SQLITE_STATIC);
      return 'e';
    case CALL_BLOB_TRANSCRIPT:
      sqlite3_bind_blob(s, 9, blob, sizeof(blob), SQLITE_STATIC);
      return 'e';
    case CALL_MODEL_NOT_TEXT:
      sqlite3_bind_int64(s, 1, i);
      return 'e';
    case CALL_UNKNOWN_MODEL:
      snprintf(c->model_name, sizeof(c->model_name), "missing_%ld", i);
      sqlite3_bind_text(s, 1, c->model_name, -1, SQLITE_STATIC);
      return 'e';
    default:
      for (int k = 2; k <= 9; k++) sqlite3_bind_null(s, k);
      return 'n';
  }
}

static void make_call(Calls *c, long i) {
  int kind = call_kind(i);
  int expected = bind_call(c, kind, i);
  int rc = sqlite3_step(c->predict);
  int ok;
  if (expected == 'e') {
    ok = rc == SQLITE_ERROR;
  } else if (expected == 'n') {
    ok = rc == SQLITE_ROW &&
         sqlite3_column_type(c->predict, 0) == SQLITE_NULL;
  } else {
    const char *label = (const char *)sqlite3_column_text(c->predict, 0);
    ok = rc == SQLITE_ROW && label &&
         (strcmp(label, "claim") == 0 || strcmp(label, "opinion") == 0);
  }
  if (!ok && c->wrong[kind]++ == 0)
    snprintf(c->first_wrong[kind], sizeof(c->first_wrong[kind]),
             "call %ld: step returned %d: %s", i, rc, sqlite3_errmsg(c->db));
  sqlite3_reset(c->predict);
}

int main(void) {
  setvbuf(stdout, 0, _IOLBF, 0);
  const char *test = "million predictions memory";
  double started = now_seconds();
  Calls c;
  memset(&c, 0, sizeof(c));
  c.db = open_database(":memory:", SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
  if (create_videos(c.db, "videos", TABLE_ROWS) != SQLITE_OK ||
      exec_sql(c.db, "SELECT claim_train('videos', '{\"model\": \"m\","
                     " \"epochs\": 1, \"verbose\": false}')") != SQLITE_OK ||
      sqlite3_prepare_v2(c.db, "SELECT claim_predict(?1, ?2, ?3, ?4, ?5, ?6,"
                         " ?7, ?8, ?9)", -1, &c.predict, 0) != SQLITE_OK) {
    check(0, test, "setup failed: %s", sqlite3_errmsg(c.db));
    return finish();
  }

  /* 200 words, so the token buffers reach their size during warm-up. */
  sqlite3_str *text = sqlite3_str_new(0);
  for (int i = 0; i < 200; i++)
    sqlite3_str_appendall(text, i % 2 ? "honey spoils " : "i think ");
  c.long_transcript = sqlite3_str_finish(text);

  long resident_before = 0;
  sqlite3_int64 sqlite_before = 0;
  for (long i = 0; i < CALLS; i++) {
    if (i == WARMUP_CALLS) {
      resident_before = resident_bytes();
      sqlite_before = sqlite3_memory_used();
    }
    make_call(&c, i);
  }
  long resident_after = resident_bytes();
  sqlite3_int64 sqlite_after = sqlite3_memory_used();

  for (int k = 0; k < N_CALL_KINDS; k++)
    check(c.wrong[k] == 0, test, "%s: %d calls gave an unexpected result; "
          "first: %s", kind_name[k], c.wrong[k], c.first_wrong[k]);
  printf("  %d calls in %.2f s; after %d warm-up calls resident size grew "
         "%ld bytes, sqlite3_memory_used() grew %lld bytes\n", CALLS,
         now_seconds() - started, WARMUP_CALLS,
         resident_after - resident_before,
         (long long)(sqlite_after - sqlite_before));
  check(resident_before > 0 && resident_after > 0, test,
        "reading /proc/self/statm failed");
  if (!UNDER_ASAN)
    check(resident_after - resident_before <= MAX_GROWTH_BYTES, test,
          "resident size grew by %ld bytes, more than %d",
          resident_after - resident_before, MAX_GROWTH_BYTES);
  check(sqlite_after - sqlite_before <= MAX_GROWTH_BYTES, test,
        "sqlite3_memory_used() grew by %lld bytes, more than %d",
        (long long)(sqlite_after - sqlite_before), MAX_GROWTH_BYTES);

  sqlite3_free(c.long_transcript);
  sqlite3_finalize(c.predict);
  sqlite3_close(c.db);
  return finish();
}
