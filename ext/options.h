/*
** The options of claim_train(), parsed from a JSON object.
*/
#ifndef CLAIM_OPTIONS_H
#define CLAIM_OPTIONS_H

#include "claim.h"

enum { CLASS_WEIGHT_NONE, CLASS_WEIGHT_BALANCED, CLASS_WEIGHT_GIVEN };

typedef struct TrainOptions {
  char *model;                  /* sqlite3_malloc'ed */
  double validation_fraction;   /* used when validation_source is NULL */
  char *validation_source;
  int preset;
  int epochs, batch_size;
  double learning_rate;
  sqlite3_int64 seed;
  int max_tokens, sequence_length;
  int tabular_units[2], text_units[2];
  int shuffle;
  int monitor;
  int patience;
  int transform;
  int text_mode;
  int skip_invalid;             /* on_invalid: "skip" */
  int verbose;
  int class_weight_mode;        /* CLASS_WEIGHT_* */
  double class_weight[2];       /* claim, opinion; for CLASS_WEIGHT_GIVEN */
  char *column[N_COLUMNS];      /* sqlite3_malloc'ed */
} TrainOptions;

/*
** Fills options from json (NULL for none). Returns SQLITE_OK; SQLITE_ERROR
** with *error set to a message naming the key and its allowed values;
** SQLITE_NOMEM; or SQLITE_INTERRUPT after sqlite3_interrupt().
*/
int options_parse(sqlite3 *db, const char *json, TrainOptions *options,
                  char **error);

void options_free(TrainOptions *options);

/* The effective options as a JSON object, for claim_models.options. */
char *options_to_json(const TrainOptions *options);

#endif
