/*
** Declarations shared by the SQL-facing files of the extension: the
** per-connection context, the loaded model, input parsing, storage and
** JSON output.
*/
#ifndef CLAIM_H
#define CLAIM_H

#include <sqlite3ext.h>
#include <stdint.h>

#include "encoder.h"
#include "network.h"
#include "text.h"
#include "trainer.h"

/* Version of the stored tables' layout; see store.c. */
#define CLAIM_FORMAT_VERSION 1

/* The columns a source provides, by role. */
enum {
  COLUMN_LABEL, COLUMN_VIEWS, COLUMN_LIKES, COLUMN_SHARES, COLUMN_DOWNLOADS,
  COLUMN_COMMENTS, COLUMN_VERIFIED, COLUMN_BAN, COLUMN_TRANSCRIPT, N_COLUMNS
};
#define COLUMN_FIRST_COUNT COLUMN_VIEWS
#define COLUMN_FIRST_CATEGORY COLUMN_VERIFIED

/* Role names, as used in the "columns" option and the stored tables. */
extern const char *const column_role[N_COLUMNS];

/* The dataset's column names, used when the "columns" option is absent. */
extern const char *const default_column[N_COLUMNS];

/* A trained model, loaded in memory. */
typedef struct Model {
  char *name;
  sqlite3_int64 generation;    /* random id of this training run */
  int preset;
  Encoder encoder;
  Network network;
  char *column[N_COLUMNS];     /* source column names used in training */
  Workspace workspace;         /* one row, for claim_predict */
  unsigned char *text_seen;    /* encoder_text() scratch, a byte per text id */
  int references;              /* holders of a loaded model: the cache, and
                               ** a function that steps statements with it */
} Model;

void model_free(Model *model);

/*
** A function that runs statements while it uses a cached model retains it,
** because a claim_predict() inside those statements may find the model
** retrained and drop it from the cache. Release frees it with the last
** holder.
*/
void model_retain(Model *model);
void model_release(Model *model);

typedef struct CachedModel {
  Model *model;
  unsigned int data_version;
  sqlite3_int64 total_changes;
  int outside_main;            /* the model tables are not in main */
  int seen_in_write;           /* last checked inside a write transaction */
  struct CachedModel *next;
} CachedModel;

/* State of one database connection, shared by all the functions. */
typedef struct ClaimContext {
  int references;              /* one per registered function */
  CachedModel *cache;
  TokenList tokens;            /* scratch buffers for one row */
  int32_t *ids;                /* (text_cap) token ids of the row */
  int text_cap;
  int load_error;              /* result code of context_model()'s failure */
} ClaimContext;

/*
** Returns the model called name, loading it or reusing the connection's
** copy while the database is unchanged. On error returns NULL, sets
** *error (sqlite3_malloc'ed) to a message that starts with function, and
** sets ctx->load_error to the result code: SQLITE_ERROR for a missing or
** damaged model, SQLITE_BUSY or SQLITE_LOCKED when the tables were locked.
*/
Model *context_model(ClaimContext *ctx, sqlite3 *db, const char *function,
                     const char *name, char **error);

/* Drops every cached model (after claim_train or claim_drop). */
void context_forget_models(ClaimContext *ctx);

/*
** Returns non-zero once sqlite3_interrupt() was called on db. *probe is a
** statement the check may prepare and keep; the caller finalizes it.
*/
int claim_interrupted(sqlite3 *db, sqlite3_stmt **probe);

/* ---- Input values ---------------------------------------------------- */

enum { VALUE_OK, VALUE_NULL, VALUE_INVALID, VALUE_BLOB };

/*
** Parses a count: an INTEGER, a finite REAL, or TEXT holding a decimal
** number with optional sign, fraction and exponent, and optional ASCII
** whitespace around it ("343296", " 12", "343296.0", "1e3").
*/
int parse_count(sqlite3_value *value, double *out);

/* Strict decimal parser behind parse_count, for text of n bytes. */
int parse_decimal(const char *text, int n, double *out);

/*
** Returns the name that selects the rowid of the source probe reads:
** "rowid", or "_rowid_" or "oid" when a column of the source has that
** name, or "NULL" when all three are taken.
*/
const char *source_rowid_name(sqlite3_stmt *probe);

/*
** Returns 1 when the last error of db reports that source itself does not
** exist, and 0 for any other error, such as a view whose table is gone.
*/
int source_is_missing(sqlite3 *db, const char *source);

/* Trims ASCII whitespace from both ends of text[0..*n). */
const char *trim_ascii(const char *text, int *n);

/* Label of a cell: 1 opinion, 0 claim, -1 NULL or empty, -2 other. */
int parse_label(sqlite3_value *value);

/* Describes a value for a message: "abc" for TEXT, 12 or 1.5 for a
** number, NULL, or "a BLOB of 3 bytes". */
char *describe_value(sqlite3_value *value);

/* Returns 1 when PRAGMA query_only forbids this connection to write. */
int db_query_only(sqlite3 *db);

/*
** Returns the length of text (n bytes) cut to at most max bytes, at the
** start of a UTF-8 character, so that a cut value stays valid UTF-8.
*/
int utf8_prefix_length(const char *text, int n, int max);

/*
** Checks that value, when TEXT, contains no NUL byte, because a name read
** as a C string would silently end at the NUL. Returns SQLITE_OK, or
** SQLITE_ERROR with the error in *error, or SQLITE_NOMEM when there is no
** memory for it.
*/
int check_nul_argument(const char *function, int position, const char *name,
                       sqlite3_value *value, char **error);

/*
** Returns the message for an argument of the wrong type or value:
** "FUNCTION(): argument POSITION (NAME) must be EXPECTED; got VALUE".
*/
char *argument_error(const char *function, int position, const char *name,
                     const char *expected, sqlite3_value *value);

/*
** Sets the error result of a function that failed with rc: out of memory,
** "interrupted" with the code SQLITE_INTERRUPT, or else error, or
** sqlite3_errmsg(db) when error is NULL. Does nothing for SQLITE_OK, and
** leaves error to the caller to free.
*/
void claim_result_error(sqlite3_context *context, sqlite3 *db, int rc,
                        const char *error);

/* ---- Encoding one row with a model ---------------------------------- */

/*
** Encodes the eight features (views .. transcript) into the context's
** scratch buffers and returns the model's logit in *logit. features[i]
** may be NULL for a SQL NULL. Returns SQLITE_OK, or SQLITE_NOMEM.
*/
int model_logit(ClaimContext *ctx, Model *model, sqlite3_value **features,
                double *logit);

/*
** Returns the error for feature (0 to 7) given as argument position, whose
** parse_count() status (or VALUE_BLOB) was not VALUE_OK: the same text for
** claim_predict(), claim_probability() and claim_explain().
*/
char *feature_error(const char *function, int position, int feature,
                    sqlite3_value *value, int status);

/* The same, with the five counts already parsed: NAN for a missing one. */
int model_logit_parsed(ClaimContext *ctx, Model *model,
                       const double *parsed, sqlite3_value **features,
                       double *logit);

/* ---- Storage --------------------------------------------------------- */

int store_create_schema(sqlite3 *db, char **error);

/* Copies n doubles to or from little-endian bytes, the layout of
** claim_weights, on a host of either byte order. */
void store_copy_little_endian(void *to, const void *from, size_t n);

/* Details of a training run that go into claim_models. */
typedef struct TrainRecord {
  const char *source;
  const char *validation_source;   /* NULL for a random fraction */
  const char *options_json;        /* the effective options */
  int train_rows, validation_rows;
  sqlite3_int64 skipped_rows;
  int epochs_run, best_epoch;
  double seconds;
  const EpochStats *history;
} TrainRecord;

/*
** Replaces the rows of model->name with model. Call it inside a savepoint,
** or in the calling statement's own write transaction, which allows none.
** Call store_create_schema() before, outside the savepoint. The first
** statement inside must be a write. SQLite waits with the busy handler for
** a write lock that a statement requests from the start, but not for one
** that a read transaction requests later, after another connection may
** have written.
*/
int store_write_model(sqlite3 *db, const Model *model,
                      const TrainRecord *record, char **error);

/* Loads a model; on error sets *error to a message that starts with
** function. */
int store_load_model(sqlite3 *db, const char *function, const char *name,
                     Model **out, char **error);

/*
** Returns 1 for a result code that means the tables could not be read just
** now (busy, locked, an I/O error, an interrupt), not that a model is
** missing or damaged.
*/
int store_is_read_failure(int code);

/*
** Reads the generation of a stored model: SQLITE_OK, SQLITE_NOTFOUND when
** there is no such model, or the error code when the read failed.
*/
int store_model_generation(sqlite3 *db, const char *name,
                           sqlite3_int64 *generation);

/* Appends the stored model names, comma separated, for messages. */
void store_list_models(sqlite3 *db, sqlite3_str *out);

/* ---- JSON output ----------------------------------------------------- */

/* Appends s as a JSON string; invalid UTF-8 becomes U+FFFD. */
void json_append_string(sqlite3_str *out, const char *s);

/* The same for n bytes, which may include NUL (written as \u0000). */
void json_append_bytes(sqlite3_str *out, const char *s, size_t n);

/*
** Returns the length of the valid UTF-8 sequence at p (n bytes available),
** or 0 when the bytes there are not valid UTF-8.
*/
int utf8_sequence_length(const unsigned char *p, size_t n);
void json_append_number(sqlite3_str *out, double x);

/* ---- Functions registered in claim.c -------------------------------- */

void claim_train_function(sqlite3_context *context, int argc,
                          sqlite3_value **argv);
void claim_predict_function(sqlite3_context *context, int argc,
                            sqlite3_value **argv);
void claim_probability_function(sqlite3_context *context, int argc,
                                sqlite3_value **argv);
void claim_evaluate_function(sqlite3_context *context, int argc,
                             sqlite3_value **argv);

#endif
