/*
** libFuzzer target for loading and using a damaged stored model. The fuzz
** input is a list of edits to the rows of a trained model. After them,
** claim_predict(), claim_probability() and claim_evaluate() must return a
** value or an error, and never crash.
**
**   make fuzz                  (builds and runs it; see the Makefile)
**
** The extension's sources are compiled into this program with
** SQLITE_CORE, so that libFuzzer measures their coverage, and registered with
** sqlite3_claim_init() on an in-memory database. LLVMFuzzerInitialize()
** trains two small models there: "m" (bag of words, log1p counts) and "s"
** (the notebook preset: token sequence, raw counts).
**
** Each input runs inside a savepoint that is rolled back at the end, so
** every input starts from the two trained models. Input format: byte 0
** picks the model ("m" or "s"); then up to MAX_EDITS edits, each an
** opcode byte followed by its operands (see apply_edit); the bytes left
** after the edits are the transcript of one more prediction.
**
** Besides running under ASan and UBSan, the target calls abort() when a
** successful claim_probability() is not a number from 0 to 1, when
** claim_predict() returns anything but 'claim', 'opinion' or NULL, or when
** an error message does not start with the name of the function.
*/
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "integration.h"

#define MAX_EDITS 16
#define MODEL_TABLE_ROWS 300

int sqlite3_claim_init(sqlite3 *db, char **error,
                       const sqlite3_api_routines *api);

static sqlite3 *db;
static sqlite3_int64 inputs_run;

#define REQUIRE(condition, message)                                      \
  do {                                                                   \
    if (!(condition)) {                                                  \
      fprintf(stderr, "fuzz_model: %s:%d: %s: %s\n", __FILE__, __LINE__, \
              #condition, message);                                      \
      abort();                                                           \
    }                                                                    \
  } while (0)

/* Reads operands from the input; past its end every read returns 0. */
typedef struct Reader {
  const uint8_t *data;
  size_t size, at;
} Reader;

static unsigned next_byte(Reader *r) {
  return r->at < r->size ? r->data[r->at++] : 0;
}

static uint32_t next_u32(Reader *r) {
  uint32_t x = 0;
  for (int i = 0; i < 4; i++) x = x << 8 | next_byte(r);
  return x;
}

static double next_double(Reader *r) {
  uint64_t bits = 0;
  for (int i = 0; i < 8; i++) bits = bits << 8 | next_byte(r);
  double x;
  memcpy(&x, &bits, sizeof(x));
  return x;
}

/* Points *bytes at the next n (from a length byte) input bytes. */
static size_t next_bytes(Reader *r, const uint8_t **bytes) {
  size_t n = next_byte(r);
  if (n > r->size - r->at) n = r->size - r->at;
  *bytes = r->data + r->at;
  r->at += n;
  return n;
}

/* Runs sql with ?1 = model name and ?2, ?3 from the caller's binder; the
** result code is ignored because a failed edit (a constraint, a type) is
** as good an input as a successful one. */
static void run_edit(const char *sql, const char *model, Reader *r,
                     int kind) {
  sqlite3_stmt *stmt;
  if (sqlite3_prepare_v2(db, sql, -1, &stmt, 0) != SQLITE_OK) {
    fprintf(stderr, "fuzz_model: preparing %s failed: %s\n", sql,
            sqlite3_errmsg(db));
    abort();
  }
  sqlite3_bind_text(stmt, 1, model, -1, SQLITE_STATIC);
  const uint8_t *bytes;
  size_t n;
  switch (kind) {
    case 'i':                     /* ?2 row offset, ?3 a 32-bit integer */
      sqlite3_bind_int(stmt, 2, (int)next_byte(r));
      sqlite3_bind_int64(stmt, 3, (int32_t)next_u32(r));
      break;
    case 'd':                     /* ?2 row offset, ?3 any double */
      sqlite3_bind_int(stmt, 2, (int)next_byte(r));
      sqlite3_bind_double(stmt, 3, next_double(r));
      break;
    case 't':                     /* ?2 row offset, ?3 text of any bytes */
      sqlite3_bind_int(stmt, 2, (int)next_byte(r));
      n = next_bytes(r, &bytes);
      sqlite3_bind_text(stmt, 3, (const char *)bytes, (int)n,
                        SQLITE_TRANSIENT);
      break;
    case 'b':                     /* ?2 row offset, ?3 a BLOB */
      sqlite3_bind_int(stmt, 2, (int)next_byte(r));
      n = next_bytes(r, &bytes);
      sqlite3_bind_blob(stmt, 3, bytes, (int)n, SQLITE_TRANSIENT);
      break;
    /* ?2 row offset, ?3 weight index, ?4 the 8 bytes that replace it */
    case 'w':
      sqlite3_bind_int(stmt, 2, (int)next_byte(r));
      sqlite3_bind_int(stmt, 3, (int)(next_u32(r) & 0xffff));
      {
        uint8_t eight[8];
        for (int i = 0; i < 8; i++) eight[i] = (uint8_t)next_byte(r);
        sqlite3_bind_blob(stmt, 4, eight, 8, SQLITE_TRANSIENT);
      }
      break;
    default:                      /* ?2 row offset */
      sqlite3_bind_int(stmt, 2, (int)next_byte(r));
      break;
  }
  sqlite3_step(stmt);
  sqlite3_finalize(stmt);
}

/* The row at offset ?2 (modulo the row count) of one model's rows. */
#define PICK(table, column)                                              \
  "(SELECT rowid FROM " table " WHERE " column " = ?1 ORDER BY rowid"    \
  " LIMIT 1 OFFSET ?2 % max(1, (SELECT count(*) FROM " table " WHERE "   \
  column " = ?1)))"

static const struct Edit {
  char kind;
  const char *sql;
} edits[] = {
  /* Weights: a new BLOB, one weight replaced, a shape, a type, a row. */
  {'b', "UPDATE claim_weights SET data = ?3 WHERE rowid = "
        PICK("claim_weights", "model")},
  {'w', "UPDATE claim_weights SET data = substr(data, 1, ?3 % max(1,"
        " length(data) / 8) * 8) || ?4 || substr(data, ?3 % max(1,"
        " length(data) / 8) * 8 + 9) WHERE rowid = "
        PICK("claim_weights", "model")},
  {'i', "UPDATE claim_weights SET rows = ?3 WHERE rowid = "
        PICK("claim_weights", "model")},
  {'i', "UPDATE claim_weights SET cols = ?3 WHERE rowid = "
        PICK("claim_weights", "model")},
  {'t', "UPDATE claim_weights SET data = ?3 WHERE rowid = "
        PICK("claim_weights", "model")},
  {'-', "DELETE FROM claim_weights WHERE rowid = "
        PICK("claim_weights", "model")},
  /* Vocabulary: an id, a token, a count, a deleted or duplicated row. */
  {'i', "UPDATE claim_vocabulary SET token_id = ?3 WHERE rowid = "
        PICK("claim_vocabulary", "model")},
  {'t', "UPDATE claim_vocabulary SET token = ?3 WHERE rowid = "
        PICK("claim_vocabulary", "model")},
  {'b', "UPDATE claim_vocabulary SET token = ?3 WHERE rowid = "
        PICK("claim_vocabulary", "model")},
  {'i', "UPDATE claim_vocabulary SET count = ?3 WHERE rowid = "
        PICK("claim_vocabulary", "model")},
  {'t', "UPDATE claim_vocabulary SET feature = ?3 WHERE rowid = "
        PICK("claim_vocabulary", "model")},
  {'-', "DELETE FROM claim_vocabulary WHERE rowid = "
        PICK("claim_vocabulary", "model")},
  {'i', "INSERT INTO claim_vocabulary SELECT model, feature, ?3, token,"
        " count FROM claim_vocabulary WHERE rowid = "
        PICK("claim_vocabulary", "model")},
  /* Normalization: a mean, a variance, a position, a type, a row. */
  {'d', "UPDATE claim_normalization SET mean = ?3 WHERE rowid = "
        PICK("claim_normalization", "model")},
  {'d', "UPDATE claim_normalization SET variance = ?3 WHERE rowid = "
        PICK("claim_normalization", "model")},
  {'i', "UPDATE claim_normalization SET position = ?3 WHERE rowid = "
        PICK("claim_normalization", "model")},
  {'t', "UPDATE claim_normalization SET mean = ?3 WHERE rowid = "
        PICK("claim_normalization", "model")},
  {'-', "DELETE FROM claim_normalization WHERE rowid = "
        PICK("claim_normalization", "model")},
  /* Settings in claim_models. */
  {'i', "UPDATE claim_models SET format_version = ?3 WHERE name = ?1"},
  {'t', "UPDATE claim_models SET format_version = ?3 WHERE name = ?1"},
  {'t', "UPDATE claim_models SET preset = ?3 WHERE name = ?1"},
  {'t', "UPDATE claim_models SET count_transform = ?3 WHERE name = ?1"},
  {'t', "UPDATE claim_models SET text_input = ?3 WHERE name = ?1"},
  {'i', "UPDATE claim_models SET sequence_length = ?3 WHERE name = ?1"},
  {'t', "UPDATE claim_models SET options = ?3 WHERE name = ?1"},
  {'t', "UPDATE claim_models SET options = json_set(options,"
        " '$.columns.transcript', ?3) WHERE name = ?1"},
  {'b', "UPDATE claim_models SET generation = ?3 WHERE name = ?1"},
  {'-', "DELETE FROM claim_history WHERE model = ?1"},
  {'-', "DELETE FROM claim_models WHERE name = ?1"},
};
#define N_EDITS ((int)(sizeof(edits) / sizeof(edits[0])))

static void apply_edit(Reader *r, const char *model) {
  const struct Edit *e = &edits[next_byte(r) % N_EDITS];
  run_edit(e->sql, model, r, e->kind);
}

/* Checks the result of one call: a value of the right kind, or an error
** whose message starts with the function's name. */
static void check_result(sqlite3_stmt *stmt, int rc, const char *function) {
  if (rc == SQLITE_ROW) {
    int type = sqlite3_column_type(stmt, 0);
    if (strcmp(function, "claim_probability") == 0) {
      double p = sqlite3_column_double(stmt, 0);
      REQUIRE(type == SQLITE_NULL ||
                  (type == SQLITE_FLOAT && p >= 0 && p <= 1),
              "claim_probability() returned a value outside [0, 1]");
    } else if (strcmp(function, "claim_predict") == 0) {
      const char *label = (const char *)sqlite3_column_text(stmt, 0);
      REQUIRE(type == SQLITE_NULL ||
                  (label && (strcmp(label, "claim") == 0 ||
                             strcmp(label, "opinion") == 0)),
              "claim_predict() returned neither claim nor opinion");
    } else {
      REQUIRE(type == SQLITE_TEXT, "claim_evaluate() returned no JSON");
    }
    return;
  }
  if (rc == SQLITE_DONE) return;
  const char *message = sqlite3_errmsg(db);
  if (strncmp(message, function, strlen(function)) != 0 ||
      message[strlen(function)] != '(') {
    fprintf(stderr, "fuzz_model: %s failed with \"%s\" (%d)\n", function,
            message, rc);
    abort();
  }
}

/* Runs sql (one result column from function) to the end, checking rows. */
static void run_calls(const char *sql, const char *function,
                      const char *model, const uint8_t *text, size_t n) {
  sqlite3_stmt *stmt;
  if (sqlite3_prepare_v2(db, sql, -1, &stmt, 0) != SQLITE_OK) {
    fprintf(stderr, "fuzz_model: preparing %s failed: %s\n", sql,
            sqlite3_errmsg(db));
    abort();
  }
  sqlite3_bind_text(stmt, 1, model, -1, SQLITE_STATIC);
  if (sqlite3_bind_parameter_count(stmt) >= 2)
    sqlite3_bind_text(stmt, 2, (const char *)text, (int)n, SQLITE_STATIC);
  int rc;
  while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) check_result(stmt, rc,
                                                               function);
  check_result(stmt, rc, function);
  sqlite3_finalize(stmt);
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  (void)argc;
  (void)argv;
  char *error = 0;
  if (sqlite3_open(":memory:", &db) != SQLITE_OK ||
      sqlite3_claim_init(db, &error, 0) != SQLITE_OK ||
      create_videos(db, "videos", MODEL_TABLE_ROWS) != SQLITE_OK ||
      exec_sql(db, "SELECT claim_train('videos', '{\"model\": \"m\","
                   " \"epochs\": 1, \"tabular_units\": [4, 3],"
                   " \"text_units\": [4, 3], \"verbose\": false}');"
                   "SELECT claim_train('videos', '{\"model\": \"s\","
                   " \"preset\": \"notebook\", \"epochs\": 1,"
                   " \"sequence_length\": 8, \"tabular_units\": [4, 3],"
                   " \"text_units\": [4, 3], \"verbose\": false}');"
                   "CREATE VIEW few AS SELECT * FROM videos"
                   " WHERE rowid <= 4;") != SQLITE_OK) {
    fprintf(stderr, "fuzz_model: setup failed: %s\n",
            error ? error : sqlite3_errmsg(db));
    abort();
  }
  return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  Reader r = {data, size, 0};
  const char *model = next_byte(&r) & 1 ? "s" : "m";

  if (exec_sql(db, "SAVEPOINT fuzz") != SQLITE_OK) abort();
  /* A new generation per input, so the connection's model cache loads
  ** the edited rows instead of reusing the model of an earlier input. */
  char *sql = sqlite3_mprintf("UPDATE claim_models SET generation = %lld"
                              " WHERE name = %Q", ++inputs_run, model);
  exec_sql(db, sql);
  sqlite3_free(sql);

  int n_edits = (int)(next_byte(&r) % (MAX_EDITS + 1));
  for (int i = 0; i < n_edits && r.at < r.size; i++) apply_edit(&r, model);

  const uint8_t *text = r.data + r.at;
  size_t n = r.size - r.at;
  run_calls("SELECT claim_probability(?1, " FEATURES ") FROM few",
            "claim_probability", model, 0, 0);
  run_calls("SELECT claim_predict(?1, 1000, 200, NULL, '7', 1e3,"
            " 'verified', 'banned', ?2)", "claim_predict", model, text, n);
  run_calls("SELECT claim_probability(?1, NULL, NULL, NULL, NULL, NULL,"
            " NULL, NULL, ?2)", "claim_probability", model, text, n);
  run_calls("SELECT claim_evaluate('few', ?1)", "claim_evaluate", model, 0,
            0);

  if (exec_sql(db, "ROLLBACK TO fuzz") != SQLITE_OK ||
      exec_sql(db, "RELEASE fuzz") != SQLITE_OK)
    abort();
  return 0;
}
