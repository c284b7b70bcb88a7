/*
** Loading a stored model (see store.c for the tables), and the lookups of
** stored models that the other functions share.
**
** Rules the loader enforces, so that a damaged model is an error and never
** a crash or an out-of-bounds read:
**   1. format_version must be one this code reads (CLAIM_FORMAT_VERSION).
**   2. Vocabulary ids of each feature run 0..size-1 with no gap.
**   3. All five counts have a finite mean and a finite, non-negative
**      variance.
**   4. Every tensor is present, its shape matches the vocabularies and the
**      other tensors, its BLOB has exactly rows * cols * 8 bytes, and every
**      weight is finite.
*/
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "claim.h"
SQLITE_EXTENSION_INIT3

int store_model_generation(sqlite3 *db, const char *name,
                           sqlite3_int64 *generation) {
  sqlite3_stmt *stmt;
  int rc = sqlite3_prepare_v2(db,
      "SELECT generation FROM claim_models WHERE name = ?1", -1, &stmt, 0);
  if (rc != SQLITE_OK)
    return store_is_read_failure(rc) ? rc & 0xff : SQLITE_NOTFOUND;
  sqlite3_bind_text(stmt, 1, name, -1, SQLITE_STATIC);
  rc = sqlite3_step(stmt);
  if (rc == SQLITE_ROW) {
    *generation = sqlite3_column_int64(stmt, 0);
    rc = SQLITE_OK;
  } else if (rc == SQLITE_DONE || !store_is_read_failure(rc)) {
    rc = SQLITE_NOTFOUND;
  } else {
    rc &= 0xff;
  }
  sqlite3_finalize(stmt);
  return rc;
}

void store_list_models(sqlite3 *db, sqlite3_str *out) {
  sqlite3_stmt *stmt;
  int n = 0;
  int rc = sqlite3_prepare_v2(db, "SELECT name FROM claim_models ORDER BY "
                              "name", -1, &stmt, 0);
  /* Without the table there is no model; any other failure is reported,
  ** so that a list cut short is not taken for the whole list. */
  if (rc != SQLITE_OK) {
    int missing = strstr(sqlite3_errmsg(db), "no such table") != 0;
    sqlite3_str_appendall(out, missing ? "none" : "unknown (reading them "
                                                   "failed)");
    return;
  }
  while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
    const char *name = (const char *)sqlite3_column_text(stmt, 0);
    /* %w doubles a quote inside the name, so the list stays readable. */
    sqlite3_str_appendf(out, "%s\"%w\"", n++ ? ", " : "", name ? name : "");
  }
  sqlite3_finalize(stmt);
  if (rc != SQLITE_DONE)
    sqlite3_str_appendall(out, n ? ", and others (reading them failed)"
                                 : "unknown (reading them failed)");
  else if (n == 0)
    sqlite3_str_appendall(out, "none");
}

/* Loads one feature's vocabulary, checking rule 2. */
static int load_vocabulary(sqlite3 *db, const char *name, const char *feature,
                           Vocabulary *vocab, char **problem) {
  sqlite3_stmt *stmt;
  int rc = sqlite3_prepare_v2(db,
      "SELECT token_id, token, count FROM claim_vocabulary"
      " WHERE model = ?1 AND feature = ?2 ORDER BY token_id", -1, &stmt, 0);
  if (rc != SQLITE_OK) {
    *problem = sqlite3_mprintf("%s", sqlite3_errmsg(db));
    return rc;
  }
  sqlite3_bind_text(stmt, 1, name, -1, SQLITE_STATIC);
  sqlite3_bind_text(stmt, 2, feature, -1, SQLITE_STATIC);
  while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
    sqlite3_int64 id = sqlite3_column_int64(stmt, 0);
    const char *token = (const char *)sqlite3_column_text(stmt, 1);
    int bytes = sqlite3_column_bytes(stmt, 1);
    if (sqlite3_column_type(stmt, 0) != SQLITE_INTEGER ||
        id != vocab->size || !token) {
      *problem = sqlite3_mprintf("vocabulary of \"%s\" has no token_id %d",
                                 feature, vocab->size);
      rc = SQLITE_CORRUPT;
      break;
    }
    if (vocabulary_append(vocab, token, (size_t)bytes,
                          sqlite3_column_int64(stmt, 2))) {
      rc = SQLITE_NOMEM;
      break;
    }
  }
  sqlite3_finalize(stmt);
  if (rc == SQLITE_DONE) rc = SQLITE_OK;
  else if (rc != SQLITE_CORRUPT && rc != SQLITE_NOMEM && !*problem)
    *problem = sqlite3_mprintf("%s", sqlite3_errmsg(db));
  return rc;
}

static int load_settings(sqlite3 *db, Model *model, char **problem) {
  sqlite3_stmt *stmt;
  int rc = sqlite3_prepare_v2(db,
      "SELECT format_version, preset, count_transform, text_input,"
      " sequence_length, generation, options FROM claim_models"
      " WHERE name = ?1", -1, &stmt, 0);
  if (rc != SQLITE_OK) return SQLITE_NOTFOUND;  /* no claim_models table */
  sqlite3_bind_text(stmt, 1, model->name, -1, SQLITE_STATIC);
  rc = sqlite3_step(stmt);
  if (rc != SQLITE_ROW) {
    sqlite3_finalize(stmt);
    return SQLITE_NOTFOUND;
  }

  /* Each setting must be one this build supports. */
  Encoder *enc = &model->encoder;
  /* Read as 64-bit integers, so that 2^32 + 1 is not taken for 1. */
  sqlite3_int64 version = sqlite3_column_int64(stmt, 0);
  const char *preset = (const char *)sqlite3_column_text(stmt, 1);
  const char *transform = (const char *)sqlite3_column_text(stmt, 2);
  const char *text_input = (const char *)sqlite3_column_text(stmt, 3);
  sqlite3_int64 sequence_length = sqlite3_column_int64(stmt, 4);
  model->generation = sqlite3_column_int64(stmt, 5);
  rc = SQLITE_CORRUPT;
  if (sqlite3_column_type(stmt, 0) != SQLITE_INTEGER || version < 1) {
    *problem = sqlite3_mprintf("format_version %s is not a version number",
                               sqlite3_column_text(stmt, 0));
  } else if (version > CLAIM_FORMAT_VERSION) {
    /* Not damage: a newer build may have written it (rule 1). */
    *problem = sqlite3_mprintf("has format_version %lld, but this build "
                               "reads only version %d", (long long)version,
                               CLAIM_FORMAT_VERSION);
    rc = SQLITE_FORMAT;
  } else if (!preset || (strcmp(preset, "default") &&
                         strcmp(preset, "notebook"))) {
    *problem = sqlite3_mprintf("unknown preset \"%s\"", preset ? preset : "");
  } else if (!transform || (strcmp(transform, "none") &&
                            strcmp(transform, "log1p"))) {
    *problem = sqlite3_mprintf("unknown count_transform \"%s\"",
                               transform ? transform : "");
  } else if (!text_input || (strcmp(text_input, "sequence") &&
                             strcmp(text_input, "bag_of_words"))) {
    *problem = sqlite3_mprintf("unknown text_input \"%s\"",
                               text_input ? text_input : "");
  } else if (sqlite3_column_type(stmt, 4) != SQLITE_INTEGER ||
             sequence_length < 1 || sequence_length > MAX_SEQUENCE_LENGTH) {
    *problem = sqlite3_mprintf("sequence_length %s is not an integer from 1 "
                               "to %d", sqlite3_column_text(stmt, 4),
                               MAX_SEQUENCE_LENGTH);
  } else {
    enc->sequence_length = (int)sequence_length;
    model->preset = strcmp(preset, "notebook") ? PRESET_DEFAULT
                                                : PRESET_NOTEBOOK;
    enc->transform = strcmp(transform, "log1p") ? TRANSFORM_NONE
                                                 : TRANSFORM_LOG1P;
    enc->text_mode = strcmp(text_input, "sequence") ? TEXT_BAG
                                                     : TEXT_SEQUENCE;
    rc = SQLITE_OK;
  }
  sqlite3_finalize(stmt);
  if (rc != SQLITE_OK) return rc;

  /* Column names come from the stored options; absent ones default. */
  for (int i = 0; i < N_COLUMNS && rc == SQLITE_OK; i++) {
    char *path = sqlite3_mprintf("$.columns.%s", column_role[i]);
    char *sql = sqlite3_mprintf(
        "SELECT json_extract(options, %Q) FROM claim_models WHERE name = ?1",
        path);
    sqlite3_free(path);
    if (!sql) return SQLITE_NOMEM;
    rc = sqlite3_prepare_v2(db, sql, -1, &stmt, 0);
    sqlite3_free(sql);
    if (rc != SQLITE_OK) {
      *problem = sqlite3_mprintf("options: %s", sqlite3_errmsg(db));
      return SQLITE_CORRUPT;
    }
    sqlite3_bind_text(stmt, 1, model->name, -1, SQLITE_STATIC);
    const char *column = default_column[i];
    rc = sqlite3_step(stmt);
    if (rc != SQLITE_ROW) {
      /* json_extract() raises an error on malformed JSON. */
      *problem = sqlite3_mprintf("options: %s", sqlite3_errmsg(db));
      sqlite3_finalize(stmt);
      return SQLITE_CORRUPT;
    }
    rc = SQLITE_OK;
    if (sqlite3_column_type(stmt, 0) == SQLITE_TEXT)
      column = (const char *)sqlite3_column_text(stmt, 0);
    model->column[i] = sqlite3_mprintf("%s", column);
    sqlite3_finalize(stmt);
    if (!model->column[i]) rc = SQLITE_NOMEM;
  }
  return rc;
}

static int load_normalization(sqlite3 *db, Model *model, char **problem) {
  Encoder *enc = &model->encoder;
  sqlite3_stmt *stmt;
  int seen[N_COUNTS] = {0};
  int rc = sqlite3_prepare_v2(db,
      "SELECT position, mean, variance FROM claim_normalization"
      " WHERE model = ?1", -1, &stmt, 0);
  if (rc != SQLITE_OK) {
    *problem = sqlite3_mprintf("%s", sqlite3_errmsg(db));
    return rc;
  }
  sqlite3_bind_text(stmt, 1, model->name, -1, SQLITE_STATIC);
  while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
    sqlite3_int64 c = sqlite3_column_int64(stmt, 0);
    double mean = sqlite3_column_double(stmt, 1);
    double variance = sqlite3_column_double(stmt, 2);
    if (sqlite3_column_type(stmt, 0) != SQLITE_INTEGER || c < 0 ||
        c >= N_COUNTS) {
      *problem = sqlite3_mprintf("a normalization row has position %s, "
                                 "not an integer from 0 to %d",
                                 sqlite3_column_text(stmt, 0), N_COUNTS - 1);
      rc = SQLITE_CORRUPT;
      break;
    }

    int numeric = 1;
    for (int i = 1; i <= 2; i++)
      if (sqlite3_column_type(stmt, i) != SQLITE_FLOAT &&
          sqlite3_column_type(stmt, i) != SQLITE_INTEGER)
        numeric = 0;
    if (!numeric || !isfinite(mean) || !isfinite(variance) || variance < 0) {
      *problem = sqlite3_mprintf("normalization of \"%s\" has mean %s and "
                                 "variance %s; both must be finite numbers "
                                 "and the variance not negative",
                                 column_role[COLUMN_FIRST_COUNT + c],
                                 sqlite3_column_text(stmt, 1),
                                 sqlite3_column_text(stmt, 2));
      rc = SQLITE_CORRUPT;
      break;
    }
    enc->mean[c] = mean;
    enc->variance[c] = variance;
    seen[c] = 1;
  }
  sqlite3_finalize(stmt);
  if (rc == SQLITE_CORRUPT) return rc;
  if (rc != SQLITE_DONE) {
    *problem = sqlite3_mprintf("%s", sqlite3_errmsg(db));
    return rc;
  }
  for (int c = 0; c < N_COUNTS; c++)
    if (!seen[c]) {
      *problem = sqlite3_mprintf("normalization of \"%s\" is missing",
                                 column_role[COLUMN_FIRST_COUNT + c]);
      return SQLITE_CORRUPT;
    }
  encoder_set_scale(enc);
  return SQLITE_OK;
}

static int load_weights(sqlite3 *db, Model *model, char **problem) {
  Encoder *enc = &model->encoder;
  Network *net = &model->network;
  sqlite3_stmt *stmt;
  sqlite3_int64 rows[N_TENSORS], cols[N_TENSORS];
  const void *data[N_TENSORS] = {0};
  int bytes[N_TENSORS] = {0}, types[N_TENSORS] = {0};
  int rc = sqlite3_prepare_v2(db,
      "SELECT rows, cols, data FROM claim_weights"
      " WHERE model = ?1 AND tensor = ?2", -1, &stmt, 0);
  if (rc != SQLITE_OK) {
    *problem = sqlite3_mprintf("%s", sqlite3_errmsg(db));
    return rc;
  }

  /* Shapes first: they must agree with the vocabularies and each other. */
  NetworkShape shape;
  for (int k = 0; k < N_TENSORS; k++) {
    sqlite3_bind_text(stmt, 1, model->name, -1, SQLITE_STATIC);
    sqlite3_bind_text(stmt, 2, tensor_name[k], -1, SQLITE_STATIC);
    rc = sqlite3_step(stmt);
    if (rc != SQLITE_ROW) {
      /* No row is damage; a failed step (busy, out of memory) is not. */
      sqlite3_finalize(stmt);
      if (rc != SQLITE_DONE) return rc;
      *problem = sqlite3_mprintf("tensor \"%s\" is missing", tensor_name[k]);
      return SQLITE_CORRUPT;
    }
    rows[k] = sqlite3_column_int64(stmt, 0);
    cols[k] = sqlite3_column_int64(stmt, 1);
    types[k] = sqlite3_column_type(stmt, 2);
    bytes[k] = sqlite3_column_bytes(stmt, 2);
    sqlite3_reset(stmt);
    /* The widest layer that claim_train() makes has 4096 units. */
    if (rows[k] < 1 || rows[k] >= (1 << 24) || cols[k] < 1 ||
        cols[k] > 4096) {
      *problem = sqlite3_mprintf("tensor \"%s\" has the invalid shape "
                                 "%lldx%lld", tensor_name[k],
                                 (long long)rows[k], (long long)cols[k]);
      sqlite3_finalize(stmt);
      return SQLITE_CORRUPT;
    }
  }
  shape.n_tabular = encoder_tabular_width(enc);
  shape.n_text = encoder_text_width(enc);
  shape.tabular_units[0] = (int)cols[TENSOR_TABULAR_KERNEL_1];
  shape.tabular_units[1] = (int)cols[TENSOR_TABULAR_KERNEL_2];
  shape.text_units[0] = (int)cols[TENSOR_TEXT_KERNEL_1];
  shape.text_units[1] = (int)cols[TENSOR_TEXT_KERNEL_2];
  /* Every shape and every BLOB size is checked before the weights are
  ** allocated, so a damaged row can never ask for gigabytes. */
  int expected_rows[N_TENSORS], expected_cols[N_TENSORS];
  network_layout(&shape, expected_rows, expected_cols);
  for (int k = 0; k < N_TENSORS; k++) {
    if (rows[k] != expected_rows[k] || cols[k] != expected_cols[k]) {
      *problem = sqlite3_mprintf("tensor \"%s\" is %lldx%lld, expected "
                                 "%dx%d", tensor_name[k], (long long)rows[k],
                                 (long long)cols[k], expected_rows[k],
                                 expected_cols[k]);
      sqlite3_finalize(stmt);
      return SQLITE_CORRUPT;
    }
  }
  for (int k = 0; k < N_TENSORS; k++) {
    if (types[k] != SQLITE_BLOB) {
      static const char *const type_name[] = {"", "an INTEGER", "a REAL",
                                              "TEXT", "", "NULL"};
      *problem = sqlite3_mprintf("tensor \"%s\" holds %s, not a BLOB",
                                 tensor_name[k], type_name[types[k]]);
      sqlite3_finalize(stmt);
      return SQLITE_CORRUPT;
    }
    if (bytes[k] != rows[k] * cols[k] * 8) {
      *problem = sqlite3_mprintf("tensor \"%s\" has %d bytes, expected %lld",
                                 tensor_name[k], bytes[k],
                                 (long long)(rows[k] * cols[k] * 8));
      sqlite3_finalize(stmt);
      return SQLITE_CORRUPT;
    }
  }
  if (network_init(net, &shape)) {
    sqlite3_finalize(stmt);
    return SQLITE_NOMEM;
  }
  net->sparse_text = enc->text_mode == TEXT_BAG;

  /* Then the data. */
  for (int k = 0; k < N_TENSORS; k++) {
    sqlite3_bind_text(stmt, 1, model->name, -1, SQLITE_STATIC);
    sqlite3_bind_text(stmt, 2, tensor_name[k], -1, SQLITE_STATIC);
    rc = sqlite3_step(stmt);
    size_t n = (size_t)net->rows[k] * net->cols[k];
    if (rc == SQLITE_ROW) {
      data[k] = sqlite3_column_blob(stmt, 2);
      bytes[k] = sqlite3_column_bytes(stmt, 2);
    }
    if (rc != SQLITE_ROW) {
      sqlite3_finalize(stmt);
      if (rc != SQLITE_DONE) return rc;
      *problem = sqlite3_mprintf("tensor \"%s\" is missing", tensor_name[k]);
      return SQLITE_CORRUPT;
    }
    if (sqlite3_column_type(stmt, 2) != SQLITE_BLOB) {
      static const char *const type_name[] = {"", "an INTEGER", "a REAL",
                                              "TEXT", "", "NULL"};
      *problem = sqlite3_mprintf("tensor \"%s\" holds %s, not a BLOB",
                                 tensor_name[k],
                                 type_name[sqlite3_column_type(stmt, 2)]);
      sqlite3_finalize(stmt);
      return SQLITE_CORRUPT;
    }
    if ((size_t)bytes[k] != n * 8 || !data[k]) {
      *problem = sqlite3_mprintf("tensor \"%s\" has %d bytes, expected %lld",
                                 tensor_name[k], bytes[k],
                                 (long long)(n * 8));
      sqlite3_finalize(stmt);
      return SQLITE_CORRUPT;
    }
    double *w = net->params + net->offset[k];
    store_copy_little_endian(w, data[k], n);
    sqlite3_reset(stmt);
    for (size_t i = 0; i < n; i++)
      if (!isfinite(w[i])) {
        *problem = sqlite3_mprintf("tensor \"%s\" holds a non-finite weight",
                                   tensor_name[k]);
        sqlite3_finalize(stmt);
        return SQLITE_CORRUPT;
      }
  }
  sqlite3_finalize(stmt);
  return SQLITE_OK;
}

/*
** Result codes that mean the tables could not be read just now (locked,
** busy, an I/O error, an interrupt), as opposed to a model that is missing
** or damaged.
*/
int store_is_read_failure(int code) {
  switch (code & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
    case SQLITE_IOERR:
    case SQLITE_INTERRUPT:
    case SQLITE_CANTOPEN:
    case SQLITE_PROTOCOL:
      return 1;
    default:
      return 0;
  }
}

static int load_model_once(sqlite3 *db, const char *function,
                           const char *name, Model **out, char **error) {
  char *problem = 0;
  Model *model = sqlite3_malloc(sizeof(Model));
  if (!model) return SQLITE_NOMEM;
  memset(model, 0, sizeof(*model));
  model->name = sqlite3_mprintf("%s", name);
  if (!model->name) {
    model_free(model);
    return SQLITE_NOMEM;
  }

  int rc = load_settings(db, model, &problem);
  if (rc != SQLITE_OK && store_is_read_failure(sqlite3_errcode(db))) {
    *error = sqlite3_mprintf("%s(): reading model \"%s\" failed: %s; try "
                             "again, or set a busy timeout", function, name,
                             sqlite3_errmsg(db));
    sqlite3_free(problem);
    model_free(model);
    return sqlite3_errcode(db) & 0xff;
  }
  if (rc == SQLITE_NOTFOUND) {
    sqlite3_str *list = sqlite3_str_new(db);
    store_list_models(db, list);
    char *names = sqlite3_str_finish(list);
    *error = sqlite3_mprintf("%s(): no model named \"%s\"; trained models: %s; "
                             "train one with claim_train()", function, name,
                             names ? names : "none");
    sqlite3_free(names);
    model_free(model);
    return SQLITE_ERROR;
  }
  if (rc == SQLITE_FORMAT) {
    *error = sqlite3_mprintf("%s(): model \"%s\" %s; upgrade the extension, "
                             "or train the model again with claim_train()",
                             function, name, problem);
    sqlite3_free(problem);
    model_free(model);
    return SQLITE_ERROR;
  }
  Encoder *enc = &model->encoder;
  /* NOTE: the vocabulary's size is stored nowhere else. With the bag of
  ** words the first text kernel has one row per token, so a lost last row
  ** is caught by the shape check, but with text_input "sequence" the
  ** kernel has sequence_length rows and the lost tokens become OOV. */
  if (rc == SQLITE_OK)
    rc = load_vocabulary(db, name, column_role[COLUMN_TRANSCRIPT], &enc->text,
                         &problem);
  if (rc == SQLITE_OK && enc->text.size < 2) {
    problem = sqlite3_mprintf("the transcript vocabulary lacks its padding "
                              "and OOV entries");
    rc = SQLITE_CORRUPT;
  }
  for (int k = 0; rc == SQLITE_OK && k < N_CATEGORIES; k++)
    rc = load_vocabulary(db, name, column_role[COLUMN_FIRST_CATEGORY + k],
                         &enc->category[k], &problem);
  if (rc == SQLITE_OK) rc = load_normalization(db, model, &problem);
  if (rc == SQLITE_OK) rc = load_weights(db, model, &problem);
  if (rc == SQLITE_OK && workspace_init(&model->workspace, &model->network, 1))
    rc = SQLITE_NOMEM;
  if (rc == SQLITE_OK) {
    size_t width = (size_t)encoder_text_width(enc) + 1;
    model->text_seen = sqlite3_malloc64(width);
    if (model->text_seen) memset(model->text_seen, 0, width);
    else rc = SQLITE_NOMEM;
  }

  if (rc != SQLITE_OK && rc != SQLITE_NOMEM &&
      store_is_read_failure(sqlite3_errcode(db))) {
    int code = sqlite3_errcode(db) & 0xff;
    *error = sqlite3_mprintf("%s(): reading model \"%s\" failed: %s; try "
                             "again, or set a busy timeout", function, name,
                             sqlite3_errmsg(db));
    sqlite3_free(problem);
    model_free(model);
    return code;
  }
  if (rc != SQLITE_OK) {
    if (rc != SQLITE_NOMEM)
      *error = sqlite3_mprintf("%s(): model \"%s\" is damaged: %s; train it "
                               "again with claim_train()", function, name,
                               problem ? problem : sqlite3_errmsg(db));
    sqlite3_free(problem);
    model_free(model);
    return rc == SQLITE_NOMEM ? rc : SQLITE_ERROR;
  }
  sqlite3_free(problem);
  *out = model;
  return SQLITE_OK;
}

/*
** Loads a model, and loads it again if it was retrained while it was being
** read. A statement that reads no table runs the loader's queries in
** separate read transactions, so in WAL mode they could otherwise see two
** training runs. Comparing the generation read before and after detects
** that.
*/
int store_load_model(sqlite3 *db, const char *function, const char *name,
                     Model **out, char **error) {
  for (int attempt = 0; attempt < 5; attempt++) {
    Model *model = 0;
    int rc = load_model_once(db, function, name, &model, error);
    if (rc != SQLITE_OK) return rc;
    sqlite3_int64 generation;
    if (store_model_generation(db, name, &generation) == SQLITE_OK &&
        generation == model->generation) {
      *out = model;
      return SQLITE_OK;
    }
    model_free(model);
  }
  *error = sqlite3_mprintf("%s(): model \"%s\" changed on every one of 5 "
                           "reads; try again when it is not being retrained",
                           function, name);
  return SQLITE_BUSY;
}
