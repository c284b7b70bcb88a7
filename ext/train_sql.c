/*
** claim_train(source [, options]): learns the preprocessing and the network
** from a table or view, stores the model, and returns a JSON summary.
**
**   SELECT claim_train('videos');
**   SELECT claim_train('train', '{"validation": "val", "preset": "notebook"}');
**
** Rules:
**   1. Nothing is written until training has finished. The model's rows are
**      then replaced inside one savepoint, so an error, an interruption or
**      a crash leaves the previous model of that name complete. SQLite
**      refuses a savepoint while a statement that writes is running, as in
**      CREATE TABLE t AS SELECT claim_train(...). Outside a transaction
**      the rows are then written as part of that statement, and its
**      failure rolls back its whole transaction. Inside an open
**      transaction a failure would keep the rows written so far, so such
**      a call is an error, raised before training.
**   2. The vocabularies, the category lookups and the normalization are
**      learned from the training rows only, never the validation rows.
**   3. A random validation fraction holds out ceil(fraction * rows) rows,
**      chosen with the seed; training with the same data, options and seed
**      gives bit-identical weights.
**   4. Training needs at least one row of each class and at least one
**      validation row; otherwise it is an error.
**   5. sqlite3_interrupt() stops training between two batches. An
**      interrupt while the model is saved rolls back the whole transaction,
**      as SQLite does for any interrupted statement that writes.
*/
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "options.h"
#include "rng.h"
#include "source.h"
SQLITE_EXTENSION_INIT3

static double now_seconds(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + t.tv_nsec * 1e-9;
}

/* Everything claim_train() allocates, released in one place. */
typedef struct TrainJob {
  TrainOptions options;
  Interner category[N_CATEGORIES];
  Interner tokens;
  RawRows rows;            /* training rows, then validation rows */
  int *is_validation;      /* (rows.n) */
  int *token_map, *category_map[N_CATEGORIES];
  Dataset train, val;
  Model *model;
  EpochStats *history;
  char *options_json;
  ClaimContext *ctx;
  sqlite3 *db;
  sqlite3_stmt *interrupt_probe;
  sqlite3_stmt *abort_transaction;  /* see roll_back_savepoint() */
  double last_interrupt_check;  /* now_seconds() of the last check */
} TrainJob;

static void job_free(TrainJob *job) {
  options_free(&job->options);
  for (int k = 0; k < N_CATEGORIES; k++) {
    interner_free(&job->category[k]);
    free(job->category_map[k]);
  }
  interner_free(&job->tokens);
  raw_rows_free(&job->rows);
  free(job->is_validation);
  free(job->token_map);
  dataset_free(&job->train);
  dataset_free(&job->val);
  model_free(job->model);
  free(job->history);
  sqlite3_free(job->options_json);
  sqlite3_finalize(job->interrupt_probe);
  sqlite3_finalize(job->abort_transaction);
}

/*
** Returns non-zero while a statement that writes runs on db, such as the
** caller's CREATE TABLE ... AS SELECT claim_train(...). SQLite refuses a
** savepoint then ("cannot open savepoint - SQL statements in progress").
*/
static int write_in_progress(sqlite3 *db) {
  for (sqlite3_stmt *s = sqlite3_next_stmt(db, 0); s;
       s = sqlite3_next_stmt(db, s))
    if (sqlite3_stmt_busy(s) && !sqlite3_stmt_readonly(s)) return 1;
  return 0;
}

/*
** Opens the savepoint that saving the model runs in (rule 1), after
** preparing the statement that roll_back_savepoint() may need.
*/
static int open_savepoint(TrainJob *job, char **error) {
  int rc = store_create_schema(job->db, error);
  if (rc != SQLITE_OK) return rc;
  rc = sqlite3_prepare_v2(job->db, "DELETE FROM claim_models WHERE 0", -1,
                          &job->abort_transaction, 0);
  if (rc == SQLITE_OK)
    rc = sqlite3_exec(job->db, "SAVEPOINT claim_train", 0, 0, 0);
  if (rc != SQLITE_OK && rc != SQLITE_INTERRUPT && !*error)
    *error = sqlite3_mprintf("claim_train(): starting a savepoint failed: %s",
                             sqlite3_errmsg(job->db));
  return rc;
}

/*
** Undoes what the savepoint holds. SQLite 3.40 fails every statement,
** ROLLBACK TO and RELEASE included, while the caller's statement runs
** after sqlite3_interrupt(), and its parser fails too. An interrupted
** statement that writes, however, makes SQLite roll back the whole
** transaction (see sqlite3_interrupt()), so stepping the statement
** prepared before the savepoint opened takes the savepoint with it.
*/
static void roll_back_savepoint(TrainJob *job) {
  if (sqlite3_exec(job->db, "ROLLBACK TO claim_train", 0, 0, 0) ==
          SQLITE_OK &&
      sqlite3_exec(job->db, "RELEASE claim_train", 0, 0, 0) == SQLITE_OK)
    return;
  /* NOTE: when the rollback failed for another reason than an interrupt,
  ** this statement deletes nothing and the savepoint stays open. */
  if (job->abort_transaction) {
    sqlite3_step(job->abort_transaction);
    sqlite3_reset(job->abort_transaction);
  }
}

/* Picks the validation rows of a random fraction (rule 3). */
static int split_rows(TrainJob *job, int n_source) {
  int n = job->rows.n;
  job->is_validation = calloc((size_t)(n ? n : 1), sizeof(int));
  if (!job->is_validation) return SQLITE_NOMEM;
  if (job->options.validation_source) {
    for (int i = n_source; i < n; i++) job->is_validation[i] = 1;
    return SQLITE_OK;
  }
  int n_val = (int)ceil(job->options.validation_fraction * n_source);
  int *order = malloc((size_t)(n_source ? n_source : 1) * sizeof(int));
  if (!order) return SQLITE_NOMEM;
  for (int i = 0; i < n_source; i++) order[i] = i;
  Rng rng;
  rng_seed(&rng, (uint64_t)job->options.seed ^ 0x5eed5eed5eedull);
  rng_shuffle(&rng, order, n_source);
  for (int i = 0; i < n_val && i < n_source; i++)
    job->is_validation[order[i]] = 1;
  free(order);
  return SQLITE_OK;
}

/*
** Ranks an interner's strings by their use in the training rows (rule 2).
** uses(row, &ids) yields the ids row uses.
*/
static int rank_training_use(TrainJob *job, const Interner *table,
                             int feature, Vocabulary *vocab, int reserve,
                             int max_size, int **map) {
  int rc = SQLITE_NOMEM;
  size_t n = (size_t)(table->n ? table->n : 1);
  int64_t *count = calloc(n, sizeof(int64_t));
  int64_t *first_use = malloc(n * sizeof(int64_t));
  *map = malloc(n * sizeof(int));
  if (!count || !first_use || !*map) goto done;
  for (int i = 0; i < table->n; i++) first_use[i] = INT64_MAX;

  int64_t use = 0;
  const RawRows *rows = &job->rows;
  for (int r = 0; r < rows->n; r++) {
    if (job->is_validation[r]) continue;
    if (feature < 0) {
      for (int64_t k = rows->token_offset[r]; k < rows->token_offset[r + 1];
           k++) {
        int id = rows->token[k];
        if (count[id]++ == 0) first_use[id] = use;
        use++;
      }
    } else {
      int id = rows->category[(size_t)r * N_CATEGORIES + feature];
      if (id < 0) continue;
      if (count[id]++ == 0) first_use[id] = use;
      use++;
    }
  }
  if (vocabulary_rank(vocab, table, count, first_use, reserve, max_size,
                      *map) == 0)
    rc = SQLITE_OK;

done:
  free(count);
  free(first_use);
  return rc;
}

/* Encodes the rows of one side of the split into data. */
static int encode_rows(TrainJob *job, int validation, Dataset *data) {
  const RawRows *rows = &job->rows;
  const Encoder *enc = &job->model->encoder;
  int width = encoder_tabular_width(enc);
  int n = 0;
  size_t nnz = 0;
  for (int r = 0; r < rows->n; r++)
    if (job->is_validation[r] == validation) {
      n++;
      nnz += (size_t)(rows->token_offset[r + 1] - rows->token_offset[r]);
    }

  memset(data, 0, sizeof(*data));
  data->n = n;
  data->n_tabular = width;
  data->tabular = alloc_large((size_t)(n ? n : 1) * width * sizeof(float));
  data->label = alloc_large((size_t)(n ? n : 1) * sizeof(float));
  data->text_offset = alloc_large(((size_t)n + 1) * sizeof(int64_t));
  data->text_column = alloc_large((nnz ? nnz : 1) * sizeof(int32_t));
  data->text_value = alloc_large((nnz ? nnz : 1) * sizeof(float));
  int32_t *ids = malloc((nnz ? nnz : 1) * sizeof(int32_t));
  unsigned char *seen = calloc((size_t)encoder_text_width(enc) + 1, 1);
  if (!data->tabular || !data->label || !data->text_offset ||
      !data->text_column || !data->text_value || !ids || !seen) {
    free(ids);
    free(seen);
    return SQLITE_NOMEM;
  }

  int i = 0;
  data->text_offset[0] = 0;
  for (int r = 0; r < rows->n; r++) {
    if (job->is_validation[r] != validation) continue;
    double count[N_COUNTS];
    int category[N_CATEGORIES];
    for (int c = 0; c < N_COUNTS; c++)
      count[c] = rows->count[(size_t)r * N_COUNTS + c];
    for (int k = 0; k < N_CATEGORIES; k++) {
      int id = rows->category[(size_t)r * N_CATEGORIES + k];
      category[k] = id < 0 ? -1 : job->category_map[k][id];
    }
    encoder_tabular(enc, count, category, data->tabular + (size_t)i * width);

    int n_ids = 0;
    for (int64_t k = rows->token_offset[r]; k < rows->token_offset[r + 1];
         k++) {
      int id = job->token_map[rows->token[k]];
      ids[n_ids++] = id < 0 ? CLAIM_OOV : id;
    }
    int64_t at = data->text_offset[i];
    int written = encoder_text(enc, ids, n_ids, data->text_column + at,
                               data->text_value + at, seen);
    data->text_offset[i + 1] = at + written;
    data->label[i] = (float)rows->label[r];
    i++;
  }
  free(ids);
  free(seen);
  return SQLITE_OK;
}

/*
** Checks that the normalization of every count is finite. Without a
** transform, counts near 1e300 give a variance beyond the range of a
** double, and the stored model could never be loaded.
*/
static int check_normalization(TrainJob *job, char **error) {
  const Encoder *enc = &job->model->encoder;
  for (int c = 0; c < N_COUNTS; c++) {
    if (isfinite(enc->mean[c]) && isfinite(enc->variance[c])) continue;
    double largest = 0;
    for (int r = 0; r < job->rows.n; r++) {
      double x = fabs(job->rows.count[(size_t)r * N_COUNTS + c]);
      if (!job->is_validation[r] && x > largest) largest = x;
    }
    *error = sqlite3_mprintf("claim_train(): column \"%s\" has counts up to "
                             "%g, too large to normalize without a "
                             "transform; pass '{\"count_transform\": "
                             "\"log1p\"}' or fix the values",
                             job->options.column[COLUMN_FIRST_COUNT + c],
                             largest);
    return SQLITE_ERROR;
  }
  return SQLITE_OK;
}

/* Learns the encoder from the training rows and encodes both sides. */
static int fit_encoder(TrainJob *job, char **error) {
  TrainOptions *o = &job->options;
  Encoder *enc = &job->model->encoder;
  enc->transform = o->transform;
  enc->text_mode = o->text_mode;
  enc->sequence_length = o->sequence_length;

  int rc = rank_training_use(job, &job->tokens, -1, &enc->text, 1,
                             o->max_tokens, &job->token_map);
  for (int k = 0; rc == SQLITE_OK && k < N_CATEGORIES; k++)
    rc = rank_training_use(job, &job->category[k], k, &enc->category[k], 0,
                           0, &job->category_map[k]);
  if (rc != SQLITE_OK) return rc;

  const RawRows *rows = &job->rows;
  int n_train = 0;
  for (int r = 0; r < rows->n; r++) n_train += !job->is_validation[r];
  double *values = malloc((size_t)N_COUNTS * n_train * sizeof(double));
  if (!values) return SQLITE_NOMEM;
  int i = 0;
  for (int r = 0; r < rows->n; r++) {
    if (job->is_validation[r]) continue;
    for (int c = 0; c < N_COUNTS; c++)
      values[(size_t)c * n_train + i] =
          encoder_transform(enc, rows->count[(size_t)r * N_COUNTS + c]);
    i++;
  }
  encoder_fit_counts(enc, values, n_train);
  free(values);
  rc = check_normalization(job, error);
  if (rc != SQLITE_OK) return rc;

  rc = encode_rows(job, 0, &job->train);
  if (rc == SQLITE_OK) rc = encode_rows(job, 1, &job->val);
  return rc;
}

/*
** Checks for sqlite3_interrupt() at most every 20 ms: before SQLite 3.41
** a check steps a probe statement, which costs more than a small batch.
*/
static int should_stop(void *context) {
  TrainJob *job = context;
  double now = now_seconds();
  if (now - job->last_interrupt_check < 0.02) return 0;
  job->last_interrupt_check = now;
  return claim_interrupted(job->db, &job->interrupt_probe);
}

static void print_epoch(void *context, int epoch, int epochs,
                        const EpochStats *s) {
  TrainJob *job = context;
  if (!job->options.verbose) return;
  fprintf(stderr, "Epoch %d/%d - %.2fs - loss: %.4f - accuracy: %.4f - "
          "val_loss: %.4f - val_accuracy: %.4f\n", epoch, epochs, s->seconds,
          s->loss, s->accuracy, s->val_loss, s->val_accuracy);
}

static char *summary_json(const TrainJob *job, const TrainRecord *record,
                          const SourceReader *reader) {
  const EpochStats *best = &record->history[record->best_epoch - 1];
  sqlite3_str *out = sqlite3_str_new(0);
  sqlite3_str_appendall(out, "{\"model\":");
  json_append_string(out, job->options.model);
  sqlite3_str_appendf(out, ",\"preset\":\"%s\"",
                      job->options.preset == PRESET_NOTEBOOK ? "notebook"
                                                             : "default");
  sqlite3_str_appendf(out, ",\"train_rows\":%d,\"validation_rows\":%d",
                      record->train_rows, record->validation_rows);
  sqlite3_str_appendf(out, ",\"skipped\":{\"label_missing\":%lld,"
                      "\"invalid\":%lld}", (long long)reader->skipped_label,
                      (long long)reader->skipped_invalid);
  sqlite3_str_appendf(out, ",\"epochs_run\":%d,\"best_epoch\":%d",
                      record->epochs_run, record->best_epoch);
  sqlite3_str_appendall(out, ",\"val_accuracy\":");
  json_append_number(out, best->val_accuracy);
  sqlite3_str_appendall(out, ",\"val_loss\":");
  json_append_number(out, best->val_loss);
  sqlite3_str_appendall(out, ",\"seconds\":");
  json_append_number(out, round(record->seconds * 1000) / 1000);
  sqlite3_str_appendall(out, "}");
  return sqlite3_str_finish(out);
}

void claim_train_function(sqlite3_context *context, int argc,
                          sqlite3_value **argv) {
  TrainJob job;
  memset(&job, 0, sizeof(job));
  job.ctx = sqlite3_user_data(context);
  job.db = sqlite3_context_db_handle(context);
  char *error = 0;
  char *summary = 0;
  int rc = SQLITE_OK;
  int in_savepoint = 0;
  double started = now_seconds();

  if (sqlite3_value_type(argv[0]) != SQLITE_TEXT ||
      sqlite3_value_bytes(argv[0]) == 0) {
    error = argument_error("claim_train", 1, "source",
                           "the name of a table or view", argv[0]);
    rc = SQLITE_ERROR;
    goto done;
  }
  for (int i = 0; i < argc && rc == SQLITE_OK; i++)
    rc = check_nul_argument("claim_train", i + 1,
                            i == 0 ? "source" : "options", argv[i], &error);
  if (rc != SQLITE_OK) goto done;
  const char *source = (const char *)sqlite3_value_text(argv[0]);
  const char *json = 0;
  if (argc > 1 && sqlite3_value_type(argv[1]) != SQLITE_NULL) {
    if (sqlite3_value_type(argv[1]) != SQLITE_TEXT) {
      error = argument_error("claim_train", 2, "options",
                             "a JSON object as TEXT", argv[1]);
      rc = SQLITE_ERROR;
      goto done;
    }
    json = (const char *)sqlite3_value_text(argv[1]);
  }
  rc = options_parse(job.db, json, &job.options, &error);
  if (rc != SQLITE_OK) goto done;
  TrainOptions *o = &job.options;

  /* Rule 1: whether the model can be saved inside a savepoint does not
  ** change during the call, so learn it before the training. */
  int use_savepoint = !write_in_progress(job.db);
  if (!use_savepoint && !sqlite3_get_autocommit(job.db)) {
    error = sqlite3_mprintf("claim_train(): cannot save model \"%s\" from a "
                            "statement that writes inside a transaction, "
                            "because SQLite allows no savepoint there; call "
                            "claim_train() in a SELECT of its own",
                            o->model);
    rc = SQLITE_ERROR;
    goto done;
  }

  /* The model is saved in main, so a read-only main would fail only after
  ** the whole training. */
  if (sqlite3_db_readonly(job.db, "main") == 1) {
    error = sqlite3_mprintf("claim_train(): cannot save model \"%s\", "
                            "because the database is read-only; open it "
                            "read-write", o->model);
    rc = SQLITE_READONLY;
    goto done;
  }
  if (db_query_only(job.db)) {
    error = sqlite3_mprintf("claim_train(): cannot save model \"%s\", "
                            "because PRAGMA query_only is on; turn it off "
                            "with PRAGMA query_only = 0", o->model);
    rc = SQLITE_READONLY;
    goto done;
  }

  /* Read the source, then the validation table if one is named. */
  SourceReader reader = {job.db, job.ctx, "claim_train", o->column,
                         o->skip_invalid, {&job.category[0],
                         &job.category[1]}, &job.tokens, 0, 0};
  rc = source_read(&reader, source, &job.rows, &error);
  if (rc != SQLITE_OK) goto done;
  int n_source = job.rows.n;
  /* The messages about the source count its own skipped rows only. */
  long long source_skipped_label = reader.skipped_label;
  long long source_skipped_invalid = reader.skipped_invalid;
  if (o->validation_source) {
    rc = source_read(&reader, o->validation_source, &job.rows, &error);
    if (rc != SQLITE_OK && error &&
        strncmp(error, "claim_train(): ", 15) == 0) {
      /* Say that the table came from the option, not the first argument. */
      char *named = sqlite3_mprintf("claim_train(): option \"validation\": "
                                    "%s", error + 15);
      if (named) {
        sqlite3_free(error);
        error = named;
      }
    }
    if (rc != SQLITE_OK) goto done;
  }
  rc = split_rows(&job, n_source);
  if (rc != SQLITE_OK) goto done;

  /* Rule 4. */
  int n_train = 0, n_val = 0, per_class[2] = {0, 0};
  for (int r = 0; r < job.rows.n; r++) {
    if (job.is_validation[r]) {
      n_val++;
    } else {
      n_train++;
      per_class[job.rows.label[r]]++;
    }
  }
  if (n_source == 0 && source_skipped_invalid > 0) {
    error = sqlite3_mprintf("claim_train(): \"%s\" has no usable rows: %lld "
                            "skipped for a NULL or empty label, %lld skipped "
                            "under on_invalid \"skip\" for a value that is "
                            "not a number or not text", source,
                            source_skipped_label, source_skipped_invalid);
    rc = SQLITE_ERROR;
    goto done;
  }
  if (n_source == 0) {
    error = sqlite3_mprintf("claim_train(): \"%s\" has no labelled rows (%lld "
                            "skipped for a NULL or empty label)", source,
                            source_skipped_label);
    rc = SQLITE_ERROR;
    goto done;
  }
  if (n_val == 0) {
    if (o->validation_source)
      error = sqlite3_mprintf("claim_train(): validation source \"%s\" has "
                              "no labelled rows", o->validation_source);
    else
      error = sqlite3_mprintf("claim_train(): too few rows (%d) to hold out "
                              "a validation split; add rows or name a "
                              "validation table", n_source);
    rc = SQLITE_ERROR;
    goto done;
  }
  if (n_train == 0) {
    /* Only a fraction can get here: it holds out at least one row, so a
    ** lower fraction helps only with two rows or more. */
    error = sqlite3_mprintf("claim_train(): \"%s\" has %d labelled row%s, "
                            "too few to hold out a validation fraction of "
                            "%g and still train; add rows%s or name a "
                            "validation table", source, n_source,
                            n_source == 1 ? "" : "s",
                            o->validation_fraction,
                            n_source > 1 ? ", lower the fraction" : "");
    rc = SQLITE_ERROR;
    goto done;
  }
  if (per_class[0] == 0 || per_class[1] == 0) {
    error = sqlite3_mprintf("claim_train(): the training rows hold only the "
                            "class '%s'; training needs both 'claim' and "
                            "'opinion' rows%s", per_class[0] ? "claim"
                                                             : "opinion",
                            reader.skipped_invalid > 0
                                ? ", and some were skipped under on_invalid "
                                  "\"skip\"; check the skipped rows' values"
                                : "");
    rc = SQLITE_ERROR;
    goto done;
  }

  /* Learn the preprocessing and train. */
  job.model = sqlite3_malloc(sizeof(Model));
  if (!job.model) goto nomem;
  memset(job.model, 0, sizeof(Model));
  job.model->name = sqlite3_mprintf("%s", o->model);
  if (!job.model->name) goto nomem;
  job.model->preset = o->preset;
  rc = fit_encoder(&job, &error);
  if (rc != SQLITE_OK) goto done;
  raw_rows_free(&job.rows);

  NetworkShape shape = {encoder_tabular_width(&job.model->encoder),
                        encoder_text_width(&job.model->encoder),
                        {o->tabular_units[0], o->tabular_units[1]},
                        {o->text_units[0], o->text_units[1]}};
  /* Each tensor is saved as one BLOB, so a tensor beyond SQLite's length
  ** limit could not be saved. The error comes now, not after training. */
  int rows[N_TENSORS], cols[N_TENSORS];
  network_layout(&shape, rows, cols);
  sqlite3_int64 limit = sqlite3_limit(job.db, SQLITE_LIMIT_LENGTH, -1);
  for (int k = 0; k < N_TENSORS; k++) {
    sqlite3_int64 bytes = (sqlite3_int64)rows[k] * cols[k] * 8;
    /* The limit also bounds the row that contains the BLOB, with the
    ** names and the record header beside it. */
    sqlite3_int64 row_bytes = bytes + (sqlite3_int64)strlen(o->model) +
                              (sqlite3_int64)strlen(tensor_name[k]) + 64;
    if (row_bytes > limit) {
      const char *lower =
          k == TENSOR_TEXT_KERNEL_1
              ? (o->text_mode == TEXT_SEQUENCE ? "sequence_length or text_units"
                                               : "max_tokens or text_units")
          : k >= TENSOR_TEXT_KERNEL_1 && k <= TENSOR_TEXT_BIAS_2
              ? "text_units"
              : "tabular_units";
      error = sqlite3_mprintf("claim_train(): the tensor \"%s\" would take "
                              "%lld bytes, more than SQLite stores in one "
                              "value (%lld); lower %s", tensor_name[k],
                              (long long)bytes, (long long)limit, lower);
      rc = SQLITE_TOOBIG;
      goto done;
    }
  }
  if (network_init(&job.model->network, &shape)) goto nomem;
  job.model->network.sparse_text = o->text_mode == TEXT_BAG;
  network_glorot(&job.model->network, (uint64_t)o->seed);
  sqlite3_randomness(sizeof(job.model->generation), &job.model->generation);

  job.history = calloc((size_t)o->epochs, sizeof(EpochStats));
  if (!job.history) goto nomem;
  TrainConfig config = {o->epochs, o->batch_size, adam_default(),
                        (uint64_t)o->seed, o->shuffle, o->monitor,
                        o->patience, {0, 0}};
  config.adam.learning_rate = o->learning_rate;
  if (o->class_weight_mode == CLASS_WEIGHT_GIVEN) {
    config.class_weight[0] = o->class_weight[0];
    config.class_weight[1] = o->class_weight[1];
  } else if (o->class_weight_mode == CLASS_WEIGHT_BALANCED) {
    /* scikit-learn's rule: rows / (classes * rows of the class). */
    config.class_weight[0] = n_train / (2.0 * per_class[0]);
    config.class_weight[1] = n_train / (2.0 * per_class[1]);
  }
  TrainHooks hooks = {should_stop, print_epoch, &job};
  int epochs_run = 0, best_epoch = 0;
  int status = train_network(&job.model->network, &job.train, &job.val,
                             &config, &hooks, job.history, &epochs_run,
                             &best_epoch);
  if (status == TRAIN_STOPPED) {
    rc = SQLITE_INTERRUPT;
    goto done;
  }
  if (status != TRAIN_OK) goto nomem;

  /* A run that diverged would save weights that no load accepts. */
  for (size_t i = 0; i < job.model->network.n_params; i++)
    if (!isfinite(job.model->network.params[i])) {
      error = sqlite3_mprintf("claim_train(): training diverged: a weight "
                              "became infinite or NaN; lower "
                              "learning_rate (now %g) and train again",
                              o->learning_rate);
      rc = SQLITE_ERROR;
      goto done;
    }

  /* Rule 1: replace the stored model in one savepoint. */
  job.options_json = options_to_json(o);
  if (!job.options_json) goto nomem;
  TrainRecord record = {source, o->validation_source, job.options_json,
                        n_train, n_val,
                        reader.skipped_label + reader.skipped_invalid,
                        epochs_run, best_epoch, now_seconds() - started,
                        job.history};
  if (use_savepoint) {
    rc = open_savepoint(&job, &error);
    if (rc != SQLITE_OK) goto done;
    in_savepoint = 1;
  } else {
    rc = store_create_schema(job.db, &error);
    if (rc != SQLITE_OK) goto done;
  }
  rc = store_write_model(job.db, job.model, &record, &error);
  if (rc != SQLITE_OK) goto done;
  if (in_savepoint) {
    rc = sqlite3_exec(job.db, "RELEASE claim_train", 0, 0, 0);
    if (rc != SQLITE_OK && rc != SQLITE_INTERRUPT) {
      error = sqlite3_mprintf("claim_train(): committing model \"%s\" "
                              "failed: %s", o->model, sqlite3_errmsg(job.db));
      goto done;
    }
    if (rc != SQLITE_OK) goto done;
    in_savepoint = 0;
  }
  context_forget_models(job.ctx);

  summary = summary_json(&job, &record, &reader);
  if (!summary) goto nomem;
  sqlite3_result_text(context, summary, -1, sqlite3_free);
  summary = 0;
  goto done;

nomem:
  rc = SQLITE_NOMEM;
done:
  if (in_savepoint) roll_back_savepoint(&job);
  claim_result_error(context, job.db, rc, error);
  sqlite3_free(error);
  sqlite3_free(summary);
  job_free(&job);
}
