/*
** The model store: plain tables in the database that hold everything a
** trained model needs, so that any connection or process can load it.
**
**   claim_models         one row per model: settings, row counts, metrics
**   claim_history        one row per model and epoch
**   claim_vocabulary     transcript tokens and category values, with ids
**   claim_normalization  mean and variance of each (transformed) count
**   claim_weights        one BLOB per tensor: rows * cols little-endian
**                        IEEE-754 doubles, row-major
**
** This file creates the tables and writes a model; store_load.c reads one
** back and checks it.
*/
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "claim.h"
SQLITE_EXTENSION_INIT3

const char *const column_role[N_COLUMNS] = {
  "label", "views", "likes", "shares", "downloads", "comments",
  "verified_status", "author_ban_status", "transcript",
};

const char *const default_column[N_COLUMNS] = {
  "claim_status", "video_view_count", "video_like_count",
  "video_share_count", "video_download_count", "video_comment_count",
  "verified_status", "author_ban_status", "video_transcription_text",
};

static const char schema_sql[] =
  "CREATE TABLE IF NOT EXISTS claim_models(\n"
  "  name TEXT PRIMARY KEY,\n"
  "  created_at TEXT NOT NULL,\n"
  "  source TEXT NOT NULL,\n"
  "  validation TEXT,\n"
  "  preset TEXT NOT NULL,\n"
  "  options TEXT NOT NULL,\n"
  "  count_transform TEXT NOT NULL,\n"
  "  text_input TEXT NOT NULL,\n"
  "  sequence_length INTEGER NOT NULL,\n"
  "  train_rows INTEGER NOT NULL,\n"
  "  validation_rows INTEGER NOT NULL,\n"
  "  skipped_rows INTEGER NOT NULL,\n"
  "  epochs_run INTEGER NOT NULL,\n"
  "  best_epoch INTEGER NOT NULL,\n"
  "  loss REAL, accuracy REAL, val_loss REAL, val_accuracy REAL,\n"
  "  seconds REAL,\n"
  "  format_version INTEGER NOT NULL,\n"
  "  generation INTEGER NOT NULL\n"
  ");\n"
  "CREATE TABLE IF NOT EXISTS claim_history(\n"
  "  model TEXT NOT NULL, epoch INTEGER NOT NULL,\n"
  "  loss REAL, accuracy REAL, val_loss REAL, val_accuracy REAL,\n"
  "  seconds REAL,\n"
  "  PRIMARY KEY(model, epoch)\n"
  ");\n"
  "CREATE TABLE IF NOT EXISTS claim_vocabulary(\n"
  "  model TEXT NOT NULL, feature TEXT NOT NULL,\n"
  "  token_id INTEGER NOT NULL, token TEXT NOT NULL, count INTEGER NOT NULL,\n"
  "  PRIMARY KEY(model, feature, token_id)\n"
  ");\n"
  "CREATE TABLE IF NOT EXISTS claim_normalization(\n"
  "  model TEXT NOT NULL, feature TEXT NOT NULL, position INTEGER NOT NULL,\n"
  "  mean REAL NOT NULL, variance REAL NOT NULL,\n"
  "  PRIMARY KEY(model, feature)\n"
  ");\n"
  "CREATE TABLE IF NOT EXISTS claim_weights(\n"
  "  model TEXT NOT NULL, tensor TEXT NOT NULL,\n"
  "  rows INTEGER NOT NULL, cols INTEGER NOT NULL, data BLOB NOT NULL,\n"
  "  PRIMARY KEY(model, tensor)\n"
  ");\n";

int store_create_schema(sqlite3 *db, char **error) {
  int rc = sqlite3_exec(db, schema_sql, 0, 0, 0);
  if (rc != SQLITE_OK)
    *error = sqlite3_mprintf("claim_train(): creating the model tables "
                             "failed: %s", sqlite3_errmsg(db));
  return rc;
}

void model_free(Model *model) {
  if (!model) return;
  sqlite3_free(model->name);
  encoder_free(&model->encoder);
  network_free(&model->network);
  workspace_free(&model->workspace);
  sqlite3_free(model->text_seen);
  for (int i = 0; i < N_COLUMNS; i++) sqlite3_free(model->column[i]);
  sqlite3_free(model);
}

void model_retain(Model *model) {
  model->references++;
}

void model_release(Model *model) {
  if (model && --model->references <= 0) model_free(model);
}

static int host_is_little_endian(void) {
  const uint16_t probe = 1;
  return *(const unsigned char *)&probe == 1;
}

void store_copy_little_endian(void *to, const void *from, size_t n) {
  memcpy(to, from, n * 8);
  if (host_is_little_endian()) return;
  unsigned char *b = to;
  for (size_t i = 0; i < n; i++, b += 8)
    for (int k = 0; k < 4; k++) {
      unsigned char t = b[k];
      b[k] = b[7 - k];
      b[7 - k] = t;
    }
}

/* ---- Writing ---------------------------------------------------------- */

static int run_bound(sqlite3 *db, const char *sql, const char *name) {
  sqlite3_stmt *stmt;
  int rc = sqlite3_prepare_v2(db, sql, -1, &stmt, 0);
  if (rc != SQLITE_OK) return rc;
  sqlite3_bind_text(stmt, 1, name, -1, SQLITE_STATIC);
  rc = sqlite3_step(stmt);
  sqlite3_finalize(stmt);
  return rc == SQLITE_DONE ? SQLITE_OK : rc;
}

/* Steps an INSERT whose values are bound and resets it for the next row.
** Returns SQLITE_OK, or the error code of the step. */
static int insert_row(sqlite3_stmt *stmt) {
  int rc = sqlite3_step(stmt);
  sqlite3_reset(stmt);
  return rc == SQLITE_DONE ? SQLITE_OK : rc;
}

static const char *text_input_name(int mode) {
  return mode == TEXT_SEQUENCE ? "sequence" : "bag_of_words";
}

/*
** Each writer inserts the rows of one table with stmt, its prepared
** INSERT, and returns SQLITE_OK or an error code.
*/
typedef int (*TableWriter)(sqlite3_stmt *stmt, const Model *model,
                           const TrainRecord *record);

static int write_model_row(sqlite3_stmt *stmt, const Model *model,
                           const TrainRecord *record) {
  const Encoder *enc = &model->encoder;
  const EpochStats *best = &record->history[record->best_epoch - 1];
  sqlite3_bind_text(stmt, 1, model->name, -1, SQLITE_STATIC);
  sqlite3_bind_text(stmt, 2, record->source, -1, SQLITE_STATIC);
  if (record->validation_source)
    sqlite3_bind_text(stmt, 3, record->validation_source, -1, SQLITE_STATIC);
  sqlite3_bind_text(stmt, 4, model->preset == PRESET_NOTEBOOK ? "notebook"
                                                              : "default",
                    -1, SQLITE_STATIC);
  sqlite3_bind_text(stmt, 5, record->options_json, -1, SQLITE_STATIC);
  sqlite3_bind_text(stmt, 6, enc->transform == TRANSFORM_LOG1P ? "log1p"
                                                               : "none",
                    -1, SQLITE_STATIC);
  sqlite3_bind_text(stmt, 7, text_input_name(enc->text_mode), -1,
                    SQLITE_STATIC);
  sqlite3_bind_int(stmt, 8, enc->sequence_length);
  sqlite3_bind_int(stmt, 9, record->train_rows);
  sqlite3_bind_int(stmt, 10, record->validation_rows);
  sqlite3_bind_int64(stmt, 11, record->skipped_rows);
  sqlite3_bind_int(stmt, 12, record->epochs_run);
  sqlite3_bind_int(stmt, 13, record->best_epoch);
  sqlite3_bind_double(stmt, 14, best->loss);
  sqlite3_bind_double(stmt, 15, best->accuracy);
  sqlite3_bind_double(stmt, 16, best->val_loss);
  sqlite3_bind_double(stmt, 17, best->val_accuracy);
  sqlite3_bind_double(stmt, 18, record->seconds);
  sqlite3_bind_int(stmt, 19, CLAIM_FORMAT_VERSION);
  sqlite3_bind_int64(stmt, 20, model->generation);
  return insert_row(stmt);
}

static int write_history(sqlite3_stmt *stmt, const Model *model,
                         const TrainRecord *record) {
  for (int e = 0; e < record->epochs_run; e++) {
    const EpochStats *s = &record->history[e];
    sqlite3_bind_text(stmt, 1, model->name, -1, SQLITE_STATIC);
    sqlite3_bind_int(stmt, 2, e + 1);
    sqlite3_bind_double(stmt, 3, s->loss);
    sqlite3_bind_double(stmt, 4, s->accuracy);
    sqlite3_bind_double(stmt, 5, s->val_loss);
    sqlite3_bind_double(stmt, 6, s->val_accuracy);
    sqlite3_bind_double(stmt, 7, s->seconds);
    int rc = insert_row(stmt);
    if (rc != SQLITE_OK) return rc;
  }
  return SQLITE_OK;
}

static int write_vocabulary(sqlite3_stmt *stmt, const char *name,
                            const char *feature, const Vocabulary *vocab) {
  for (int i = 0; i < vocab->size; i++) {
    sqlite3_bind_text(stmt, 1, name, -1, SQLITE_STATIC);
    sqlite3_bind_text(stmt, 2, feature, -1, SQLITE_STATIC);
    sqlite3_bind_int(stmt, 3, i);
    /* The stored length keeps a token with a NUL byte whole. */
    sqlite3_bind_text(stmt, 4, vocab->token[i], vocab->length[i],
                      SQLITE_STATIC);
    sqlite3_bind_int64(stmt, 5, vocab->count[i]);
    int rc = insert_row(stmt);
    if (rc != SQLITE_OK) return rc;
  }
  return SQLITE_OK;
}

static int write_vocabularies(sqlite3_stmt *stmt, const Model *model,
                              const TrainRecord *record) {
  (void)record;
  const Encoder *enc = &model->encoder;
  int rc = write_vocabulary(stmt, model->name,
                            column_role[COLUMN_TRANSCRIPT], &enc->text);
  for (int k = 0; rc == SQLITE_OK && k < N_CATEGORIES; k++)
    rc = write_vocabulary(stmt, model->name,
                          column_role[COLUMN_FIRST_CATEGORY + k],
                          &enc->category[k]);
  return rc;
}

static int write_normalization(sqlite3_stmt *stmt, const Model *model,
                               const TrainRecord *record) {
  (void)record;
  const Encoder *enc = &model->encoder;
  for (int c = 0; c < N_COUNTS; c++) {
    sqlite3_bind_text(stmt, 1, model->name, -1, SQLITE_STATIC);
    sqlite3_bind_text(stmt, 2, column_role[COLUMN_FIRST_COUNT + c], -1,
                      SQLITE_STATIC);
    sqlite3_bind_int(stmt, 3, c);
    sqlite3_bind_double(stmt, 4, enc->mean[c]);
    sqlite3_bind_double(stmt, 5, enc->variance[c]);
    int rc = insert_row(stmt);
    if (rc != SQLITE_OK) return rc;
  }
  return SQLITE_OK;
}

static int write_weights(sqlite3_stmt *stmt, const Model *model,
                         const TrainRecord *record) {
  (void)record;
  const Network *net = &model->network;
  for (int k = 0; k < N_TENSORS; k++) {
    size_t n = (size_t)net->rows[k] * net->cols[k];
    void *blob = sqlite3_malloc64(n * 8);
    if (!blob) return SQLITE_NOMEM;
    store_copy_little_endian(blob, net->params + net->offset[k], n);
    sqlite3_bind_text(stmt, 1, model->name, -1, SQLITE_STATIC);
    sqlite3_bind_text(stmt, 2, tensor_name[k], -1, SQLITE_STATIC);
    sqlite3_bind_int(stmt, 3, net->rows[k]);
    sqlite3_bind_int(stmt, 4, net->cols[k]);
    /* The blob is freed by SQLite even when binding fails (SQLITE_TOOBIG
    ** beyond the length limit). */
    int rc = sqlite3_bind_blob64(stmt, 5, blob, n * 8, sqlite3_free);
    if (rc != SQLITE_OK) return rc;
    rc = insert_row(stmt);
    if (rc != SQLITE_OK) return rc;
  }
  return SQLITE_OK;
}

int store_write_model(sqlite3 *db, const Model *model,
                      const TrainRecord *record, char **error) {
  static const char *const deletes[] = {
    "DELETE FROM claim_models WHERE name = ?1",
    "DELETE FROM claim_history WHERE model = ?1",
    "DELETE FROM claim_vocabulary WHERE model = ?1",
    "DELETE FROM claim_normalization WHERE model = ?1",
    "DELETE FROM claim_weights WHERE model = ?1",
  };
  static const struct {
    const char *sql;
    TableWriter write;
  } inserts[] = {
    {"INSERT INTO claim_models VALUES(?1, strftime('%Y-%m-%dT%H:%M:%fZ'),"
     " ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16,"
     " ?17, ?18, ?19, ?20)", write_model_row},
    {"INSERT INTO claim_history VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7)",
     write_history},
    {"INSERT INTO claim_vocabulary VALUES(?1, ?2, ?3, ?4, ?5)",
     write_vocabularies},
    {"INSERT INTO claim_normalization VALUES(?1, ?2, ?3, ?4, ?5)",
     write_normalization},
    {"INSERT INTO claim_weights VALUES(?1, ?2, ?3, ?4, ?5)", write_weights},
  };
  const char *name = model->name;
  int rc = SQLITE_OK;
  for (size_t i = 0; i < sizeof(deletes) / sizeof(deletes[0]); i++) {
    rc = run_bound(db, deletes[i], name);
    if (rc != SQLITE_OK) goto done;
  }
  for (size_t i = 0; i < sizeof(inserts) / sizeof(inserts[0]); i++) {
    sqlite3_stmt *stmt;
    rc = sqlite3_prepare_v2(db, inserts[i].sql, -1, &stmt, 0);
    if (rc != SQLITE_OK) goto done;
    rc = inserts[i].write(stmt, model, record);
    sqlite3_finalize(stmt);
    if (rc != SQLITE_OK) goto done;
  }

done:
  if (rc != SQLITE_OK && !*error)
    *error = sqlite3_mprintf("claim_train(): saving model \"%s\" failed: %s",
                             name, sqlite3_errmsg(db));
  return rc;
}
