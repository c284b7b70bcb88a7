/*
** Parsing of claim_train()'s options: a JSON object whose keys are all
** optional. SQLite's own json_each() reads the object, so no JSON parser
** is bundled here.
**
** Rules:
**   1. The options are a JSON object or NULL; anything else is an error.
**   2. An unknown key is an error that lists the valid keys.
**   3. A value of the wrong type or out of range is an error that names the
**      key and the allowed values.
**   4. The preset sets the defaults of the other keys; explicit keys win.
*/
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "options.h"
SQLITE_EXTENSION_INIT3

static const char valid_keys[] =
  "model, validation, preset, epochs, batch_size, learning_rate, seed, "
  "max_tokens, sequence_length, tabular_units, text_units, shuffle, "
  "monitor, patience, class_weight, count_transform, text_input, "
  "on_invalid, verbose, columns";

void options_free(TrainOptions *options) {
  sqlite3_free(options->model);
  sqlite3_free(options->validation_source);
  for (int i = 0; i < N_COLUMNS; i++) sqlite3_free(options->column[i]);
  memset(options, 0, sizeof(*options));
}

static void set_defaults(TrainOptions *o, int preset) {
  o->preset = preset;
  o->validation_fraction = 0.2;
  o->epochs = 20;
  o->batch_size = 16;
  o->learning_rate = 0.001;
  o->seed = 42;
  o->max_tokens = 10000;
  o->sequence_length = 20;
  o->tabular_units[0] = o->text_units[0] = 32;
  o->tabular_units[1] = o->text_units[1] = 16;
  o->patience = 0;
  o->skip_invalid = 0;
  o->verbose = isatty(2);
  if (preset == PRESET_NOTEBOOK) {
    o->shuffle = 0;
    o->monitor = MONITOR_VAL_ACCURACY;
    o->transform = TRANSFORM_NONE;
    o->text_mode = TEXT_SEQUENCE;
  } else {
    o->shuffle = 1;
    o->monitor = MONITOR_VAL_LOSS;
    o->transform = TRANSFORM_LOG1P;
    o->text_mode = TEXT_BAG;
  }
}

typedef struct Entry {
  const char *key;
  const char *type;            /* json_each's type name */
  sqlite3_value *value;
} Entry;

/* Reports an invalid value, written as JSON so that "5" and 5 differ. */
static char *range_error(const Entry *e, const char *allowed) {
  sqlite3_str *json = sqlite3_str_new(0);
  const char *text = (const char *)sqlite3_value_text(e->value);
  if (strcmp(e->type, "text") == 0)
    json_append_string(json, text ? text : "");
  else if (strcmp(e->type, "true") == 0 || strcmp(e->type, "false") == 0 ||
           strcmp(e->type, "null") == 0)
    sqlite3_str_appendall(json, e->type);
  else
    sqlite3_str_appendall(json, text ? text : "null");
  char *value = sqlite3_str_finish(json);
  char *message = sqlite3_mprintf("claim_train(): option \"%s\" must be %s; "
                                  "got %s", e->key, allowed,
                                  value ? value : "");
  sqlite3_free(value);
  return message;
}

static int parse_integer(const Entry *e, sqlite3_int64 low,
                         sqlite3_int64 high, const char *allowed, int *out,
                         char **error) {
  sqlite3_int64 x = sqlite3_value_int64(e->value);
  if (strcmp(e->type, "integer") != 0 || x < low || x > high) {
    *error = range_error(e, allowed);
    return 1;
  }
  *out = (int)x;
  return 0;
}

static int parse_choice(const Entry *e, const char *const *names,
                        const int *values, const char *allowed, int *out,
                        char **error) {
  const char *text = (const char *)sqlite3_value_text(e->value);
  if (strcmp(e->type, "text") == 0 && text)
    for (int i = 0; names[i]; i++)
      if (strcmp(text, names[i]) == 0) {
        *out = values[i];
        return 0;
      }
  *error = range_error(e, allowed);
  return 1;
}

static int parse_boolean(const Entry *e, int *out, char **error) {
  if (strcmp(e->type, "true") == 0) *out = 1;
  else if (strcmp(e->type, "false") == 0) *out = 0;
  else {
    *error = range_error(e, "true or false");
    return 1;
  }
  return 0;
}

static int parse_text(const Entry *e, char **out, char **error) {
  const char *text = (const char *)sqlite3_value_text(e->value);
  if (strcmp(e->type, "text") != 0 || !text || !*text) {
    *error = range_error(e, "a non-empty string");
    return 1;
  }
  sqlite3_free(*out);
  *out = sqlite3_mprintf("%s", text);
  return *out ? 0 : 1;
}

/* Reads a JSON array of two integers from 1 to 4096. */
static int parse_units(sqlite3 *db, const Entry *e, int *out, char **error) {
  sqlite3_stmt *stmt;
  int ok = 0;
  if (strcmp(e->type, "array") == 0 &&
      sqlite3_prepare_v2(db, "SELECT json_array_length(?1),"
                         " json_type(?1, '$[0]'), json_extract(?1, '$[0]'),"
                         " json_type(?1, '$[1]'), json_extract(?1, '$[1]')",
                         -1, &stmt, 0) == SQLITE_OK) {
    sqlite3_bind_value(stmt, 1, e->value);
    if (sqlite3_step(stmt) == SQLITE_ROW && sqlite3_column_int(stmt, 0) == 2) {
      ok = 1;
      for (int i = 0; i < 2; i++) {
        const char *type = (const char *)sqlite3_column_text(stmt, 1 + 2 * i);
        sqlite3_int64 x = sqlite3_column_int64(stmt, 2 + 2 * i);
        if (!type || strcmp(type, "integer") || x < 1 || x > 4096) ok = 0;
        else out[i] = (int)x;
      }
    }
    sqlite3_finalize(stmt);
  }
  if (!ok)
    *error = range_error(e, "an array of two integers from 1 to 4096");
  return !ok;
}

/*
** Finds a key that a JSON object, given as text or as a value, has more
** than once. Returns 1 and sets *error naming it, 0 when every key is
** distinct, or -1 when the query fails. option names the option whose
** value the object is, or is NULL for the options object itself.
*/
static int find_repeated_key(sqlite3 *db, const char *json_text,
                             sqlite3_value *json_value, const char *option,
                             char **error) {
  sqlite3_stmt *stmt;
  if (sqlite3_prepare_v2(db, "SELECT key FROM json_each(?1) GROUP BY key"
                         " HAVING count(*) > 1 LIMIT 1", -1, &stmt,
                         0) != SQLITE_OK)
    return -1;
  if (json_text) sqlite3_bind_text(stmt, 1, json_text, -1, SQLITE_STATIC);
  else sqlite3_bind_value(stmt, 1, json_value);
  int rc = sqlite3_step(stmt);
  if (rc == SQLITE_ROW) {
    const char *key = (const char *)sqlite3_column_text(stmt, 0);
    if (option)
      *error = sqlite3_mprintf("claim_train(): option \"%s\" gives \"%s\" "
                               "more than once; give each key once", option,
                               key ? key : "");
    else
      *error = sqlite3_mprintf("claim_train(): option \"%s\" is given more "
                               "than once; give each option once",
                               key ? key : "");
    rc = *error ? 1 : -1;
  } else {
    rc = rc == SQLITE_DONE ? 0 : -1;
  }
  sqlite3_finalize(stmt);
  return rc;
}

static int parse_columns(sqlite3 *db, const Entry *e, TrainOptions *o,
                         char **error) {
  sqlite3_stmt *stmt;
  if (strcmp(e->type, "object") != 0) {
    *error = range_error(e, "an object mapping roles to column names");
    return 1;
  }
  if (find_repeated_key(db, 0, e->value, "columns", error)) return 1;
  if (sqlite3_prepare_v2(db, "SELECT key, type, value FROM json_each(?1)",
                         -1, &stmt, 0) != SQLITE_OK)
    return 1;
  sqlite3_bind_value(stmt, 1, e->value);
  int rc = 0, step = SQLITE_DONE;
  while (!rc && (step = sqlite3_step(stmt)) == SQLITE_ROW) {
    const char *role = (const char *)sqlite3_column_text(stmt, 0);
    const char *type = (const char *)sqlite3_column_text(stmt, 1);
    const char *name = (const char *)sqlite3_column_text(stmt, 2);
    int found = -1;
    for (int i = 0; role && i < N_COLUMNS; i++)
      if (strcmp(role, column_role[i]) == 0) found = i;
    if (found < 0) {
      *error = sqlite3_mprintf(
          "claim_train(): option \"columns\" has unknown role \"%s\"; valid "
          "roles are label, views, likes, shares, downloads, comments, "
          "verified_status, author_ban_status, transcript", role ? role : "");
      rc = 1;
    } else if (!type || strcmp(type, "text") || !name || !*name) {
      *error = sqlite3_mprintf("claim_train(): option \"columns\": role "
                               "\"%s\" must map to a non-empty column name",
                               role);
      rc = 1;
    } else {
      sqlite3_free(o->column[found]);
      o->column[found] = sqlite3_mprintf("%s", name);
      if (!o->column[found]) rc = 1;
    }
  }
  if (!rc && step != SQLITE_DONE) rc = 1;
  sqlite3_finalize(stmt);
  return rc;
}

/*
** Reads "balanced" or {"claim": w, "opinion": w} with positive finite
** weights; a class left out of the object keeps the weight 1.
*/
static int parse_class_weight(sqlite3 *db, const Entry *e, TrainOptions *o,
                              char **error) {
  static const char allowed[] =
      "\"balanced\" or an object such as {\"claim\": 1, \"opinion\": 2} "
      "with positive weights";
  const char *text = (const char *)sqlite3_value_text(e->value);
  if (!strcmp(e->type, "text") && text && !strcmp(text, "balanced")) {
    o->class_weight_mode = CLASS_WEIGHT_BALANCED;
    return 0;
  }
  if (strcmp(e->type, "object")) {
    *error = range_error(e, allowed);
    return 1;
  }
  if (find_repeated_key(db, 0, e->value, "class_weight", error)) return 1;
  sqlite3_stmt *stmt;
  if (sqlite3_prepare_v2(db, "SELECT key, type, value FROM json_each(?1)",
                         -1, &stmt, 0) != SQLITE_OK)
    return 1;
  sqlite3_bind_value(stmt, 1, e->value);
  o->class_weight[0] = o->class_weight[1] = 1.0;
  int rc = 0, step = SQLITE_DONE;
  while (!rc && (step = sqlite3_step(stmt)) == SQLITE_ROW) {
    const char *name = (const char *)sqlite3_column_text(stmt, 0);
    const char *type = (const char *)sqlite3_column_text(stmt, 1);
    double w = sqlite3_column_double(stmt, 2);
    int k = name && !strcmp(name, "claim") ? 0
            : name && !strcmp(name, "opinion") ? 1 : -1;
    if (k < 0 || !type || (strcmp(type, "integer") && strcmp(type, "real")) ||
        !(w > 0 && w < 1e6)) {
      *error = range_error(e, allowed);
      rc = 1;
    } else {
      o->class_weight[k] = w;
    }
  }
  if (!rc && step != SQLITE_DONE) rc = 1;
  sqlite3_finalize(stmt);
  if (!rc) o->class_weight_mode = CLASS_WEIGHT_GIVEN;
  return rc;
}

static int apply(sqlite3 *db, const Entry *e, TrainOptions *o, char **error) {
  const char *k = e->key;
  if (!strcmp(k, "model")) return parse_text(e, &o->model, error);
  if (!strcmp(k, "validation")) {
    const char *text = (const char *)sqlite3_value_text(e->value);
    if (!strcmp(e->type, "text") && text && *text)
      return parse_text(e, &o->validation_source, error);
    double x = sqlite3_value_double(e->value);
    if ((strcmp(e->type, "real") && strcmp(e->type, "integer")) ||
        !(x > 0 && x < 1)) {
      *error = range_error(e, "a fraction between 0 and 1 (exclusive) or "
                           "the name of a table or view");
      return 1;
    }
    o->validation_fraction = x;
    return 0;
  }
  if (!strcmp(k, "preset")) return 0;  /* applied first, in options_parse */
  if (!strcmp(k, "epochs"))
    return parse_integer(e, 1, 100000, "an integer from 1 to 100000",
                         &o->epochs, error);
  if (!strcmp(k, "batch_size"))
    return parse_integer(e, 1, 65536, "an integer from 1 to 65536",
                         &o->batch_size, error);
  if (!strcmp(k, "learning_rate")) {
    double x = sqlite3_value_double(e->value);
    if ((strcmp(e->type, "real") && strcmp(e->type, "integer")) ||
        !(x > 0 && x <= 10)) {
      *error = range_error(e, "a number greater than 0 and at most 10");
      return 1;
    }
    o->learning_rate = x;
    return 0;
  }
  if (!strcmp(k, "seed")) {
    /* json_each reports an integer beyond 64 bits as type "integer" with a
    ** REAL value, which sqlite3_value_int64() would clamp. */
    if (strcmp(e->type, "integer") ||
        sqlite3_value_type(e->value) != SQLITE_INTEGER) {
      *error = range_error(e, "a 64-bit signed integer");
      return 1;
    }
    o->seed = sqlite3_value_int64(e->value);
    return 0;
  }
  if (!strcmp(k, "max_tokens"))
    return parse_integer(e, 3, 10000000, "an integer from 3 to 10000000",
                         &o->max_tokens, error);
  if (!strcmp(k, "sequence_length"))
    return parse_integer(e, 1, MAX_SEQUENCE_LENGTH,
                         "an integer from 1 to 100000",
                         &o->sequence_length, error);
  if (!strcmp(k, "tabular_units")) return parse_units(db, e, o->tabular_units,
                                                      error);
  if (!strcmp(k, "text_units")) return parse_units(db, e, o->text_units,
                                                   error);
  if (!strcmp(k, "shuffle")) return parse_boolean(e, &o->shuffle, error);
  if (!strcmp(k, "verbose")) return parse_boolean(e, &o->verbose, error);
  if (!strcmp(k, "monitor")) {
    static const char *const names[] = {"val_accuracy", "val_loss", 0};
    static const int values[] = {MONITOR_VAL_ACCURACY, MONITOR_VAL_LOSS};
    return parse_choice(e, names, values, "\"val_accuracy\" or \"val_loss\"",
                        &o->monitor, error);
  }
  if (!strcmp(k, "patience"))
    return parse_integer(e, 0, 100000, "an integer from 0 to 100000",
                         &o->patience, error);
  if (!strcmp(k, "count_transform")) {
    static const char *const names[] = {"none", "log1p", 0};
    static const int values[] = {TRANSFORM_NONE, TRANSFORM_LOG1P};
    return parse_choice(e, names, values, "\"none\" or \"log1p\"",
                        &o->transform, error);
  }
  if (!strcmp(k, "text_input")) {
    static const char *const names[] = {"sequence", "bag_of_words", 0};
    static const int values[] = {TEXT_SEQUENCE, TEXT_BAG};
    return parse_choice(e, names, values, "\"sequence\" or \"bag_of_words\"",
                        &o->text_mode, error);
  }
  if (!strcmp(k, "on_invalid")) {
    static const char *const names[] = {"error", "skip", 0};
    static const int values[] = {0, 1};
    return parse_choice(e, names, values, "\"error\" or \"skip\"",
                        &o->skip_invalid, error);
  }
  if (!strcmp(k, "columns")) return parse_columns(db, e, o, error);
  if (!strcmp(k, "class_weight")) return parse_class_weight(db, e, o, error);
  *error = sqlite3_mprintf("claim_train(): unknown option \"%s\"; valid "
                           "options are %s", k, valid_keys);
  return 1;
}

/* Returns 1 when a JSON string in json contains an escaped NUL: \u0000,
** or JSON5's \x00 or \0. */
static int has_escaped_nul(const char *json) {
  for (const char *p = json; *p; p++) {
    if (*p != '\\') continue;
    if (p[1] == 'u' && p[2] == '0' && p[3] == '0' && p[4] == '0' &&
        p[5] == '0')
      return 1;
    /* JSON5's \x00 and \0, which SQLite accepts from 3.42 on. A \0
    ** followed by a digit is no NUL in JSON5, but an error anyway. */
    if (p[1] == 'x' && p[2] == '0' && p[3] == '0') return 1;
    if (p[1] == '0') return 1;
    if (p[1]) p++;  /* skip the escaped character, which may be a \ */
  }
  return 0;
}

int options_parse(sqlite3 *db, const char *json, TrainOptions *o,
                  char **error) {
  sqlite3_stmt *stmt = 0;
  int rc = SQLITE_ERROR;
  memset(o, 0, sizeof(*o));
  set_defaults(o, PRESET_DEFAULT);

  if (json) {
    /* Rule 1. json_type() raises an error on malformed JSON, so it runs
    ** only on valid JSON. */
    if (sqlite3_prepare_v2(db, "SELECT json_valid(?1), CASE WHEN"
                           " json_valid(?1) THEN json_type(?1) END", -1,
                           &stmt, 0) != SQLITE_OK)
      goto sql_error;
    sqlite3_bind_text(stmt, 1, json, -1, SQLITE_STATIC);
    if (sqlite3_step(stmt) != SQLITE_ROW) goto sql_error;
    const char *type = (const char *)sqlite3_column_text(stmt, 1);
    if (!sqlite3_column_int(stmt, 0)) {
      /* json_valid() also gives 0 when it runs out of memory, and json()
      ** then fails with SQLITE_NOMEM instead of "malformed JSON". */
      sqlite3_finalize(stmt);
      stmt = 0;
      if (sqlite3_prepare_v2(db, "SELECT json(?1)", -1, &stmt, 0) !=
          SQLITE_OK)
        goto sql_error;
      sqlite3_bind_text(stmt, 1, json, -1, SQLITE_STATIC);
      int checked = sqlite3_step(stmt);
      /* json() accepting the text means json_valid() ran out of memory. */
      if (checked == SQLITE_ROW || sqlite3_errcode(db) == SQLITE_NOMEM) {
        rc = SQLITE_NOMEM;
        goto done;
      }
      *error = sqlite3_mprintf("claim_train(): options are not valid JSON: "
                               "'%.60s'; pass an object such as "
                               "'{\"epochs\": 10}'", json);
      goto done;
    }
    if (!type || strcmp(type, "object")) {
      *error = sqlite3_mprintf("claim_train(): options must be a JSON object "
                               "such as '{\"epochs\": 10}'; got '%.60s'",
                               json);
      goto done;
    }
    sqlite3_finalize(stmt);
    stmt = 0;

    /* SQLite's JSON functions cut a string at an escaped NUL (\u0000), so
    ** a name holding one would silently lose its end. */
    if (has_escaped_nul(json)) {
      *error = sqlite3_mprintf("claim_train(): options must not contain a "
                               "NUL character (\\u0000)");
      goto done;
    }

    /* Rule 4: the preset first. json_each() decodes each key, so that a
    ** key written with escapes such as "pre\u0073et" is found too, which
    ** the path '$.preset' would miss. */
    if (sqlite3_prepare_v2(db, "SELECT type, value FROM json_each(?1)"
                           " WHERE key = 'preset'", -1, &stmt,
                           0) != SQLITE_OK)
      goto sql_error;
    sqlite3_bind_text(stmt, 1, json, -1, SQLITE_STATIC);
    int preset_row = sqlite3_step(stmt);
    if (preset_row != SQLITE_ROW && preset_row != SQLITE_DONE) goto sql_error;
    if (preset_row == SQLITE_ROW) {
      static const char *const names[] = {"default", "notebook", 0};
      static const int values[] = {PRESET_DEFAULT, PRESET_NOTEBOOK};
      Entry e = {"preset", (const char *)sqlite3_column_text(stmt, 0),
                 sqlite3_column_value(stmt, 1)};
      int preset;
      if (parse_choice(&e, names, values, "\"default\" or \"notebook\"",
                       &preset, error))
        goto done;
      set_defaults(o, preset);
    }
    sqlite3_finalize(stmt);

    if (sqlite3_prepare_v2(db, "SELECT key, type, value FROM json_each(?1)",
                           -1, &stmt, 0) != SQLITE_OK)
      goto sql_error;
    sqlite3_bind_text(stmt, 1, json, -1, SQLITE_STATIC);
    /* JSON leaves repeated keys undefined; here one is a mistake. */
    int repeated = find_repeated_key(db, json, 0, 0, error);
    if (repeated > 0) goto done;
    if (repeated < 0) goto sql_error;
    int step;
    while ((step = sqlite3_step(stmt)) == SQLITE_ROW) {
      Entry e = {(const char *)sqlite3_column_text(stmt, 0),
                 (const char *)sqlite3_column_text(stmt, 1),
                 sqlite3_column_value(stmt, 2)};
      if (!e.key || !e.type) goto sql_error;
      if (apply(db, &e, o, error)) {
        if (*error) goto done;
        goto sql_error;
      }
    }
    if (step != SQLITE_DONE) goto sql_error;
  }

  rc = SQLITE_OK;
  if (!o->model) o->model = sqlite3_mprintf("default");
  if (!o->model) rc = SQLITE_NOMEM;
  for (int i = 0; i < N_COLUMNS; i++) {
    if (!o->column[i]) o->column[i] = sqlite3_mprintf("%s", default_column[i]);
    if (!o->column[i]) rc = SQLITE_NOMEM;
  }
  goto done;

sql_error:
  /* A statement failed, or a helper failed without a message: an
  ** interrupt, a lack of memory, or an error to report as it is. */
  switch (sqlite3_errcode(db)) {
    case SQLITE_INTERRUPT:
      rc = SQLITE_INTERRUPT;
      break;
    case SQLITE_OK:
    case SQLITE_ROW:   /* a helper failed after a statement stepped */
    case SQLITE_DONE:
    case SQLITE_NOMEM:
      rc = SQLITE_NOMEM;
      break;
    default:
      *error = sqlite3_mprintf("claim_train(): reading the options failed: "
                               "%s", sqlite3_errmsg(db));
  }
done:
  sqlite3_finalize(stmt);
  return rc;
}

char *options_to_json(const TrainOptions *o) {
  static const char *const monitor[] = {"val_accuracy", "val_loss"};
  sqlite3_str *out = sqlite3_str_new(0);
  sqlite3_str_appendall(out, "{\"model\":");
  json_append_string(out, o->model);
  sqlite3_str_appendall(out, ",\"validation\":");
  if (o->validation_source) json_append_string(out, o->validation_source);
  else json_append_number(out, o->validation_fraction);
  sqlite3_str_appendf(out, ",\"preset\":\"%s\"",
                      o->preset == PRESET_NOTEBOOK ? "notebook" : "default");
  sqlite3_str_appendf(out, ",\"epochs\":%d,\"batch_size\":%d", o->epochs,
                      o->batch_size);
  sqlite3_str_appendall(out, ",\"learning_rate\":");
  json_append_number(out, o->learning_rate);
  sqlite3_str_appendf(out, ",\"seed\":%lld", (long long)o->seed);
  sqlite3_str_appendf(out, ",\"max_tokens\":%d,\"sequence_length\":%d",
                      o->max_tokens, o->sequence_length);
  sqlite3_str_appendf(out, ",\"tabular_units\":[%d,%d],\"text_units\":[%d,%d]",
                      o->tabular_units[0], o->tabular_units[1],
                      o->text_units[0], o->text_units[1]);
  sqlite3_str_appendf(out, ",\"shuffle\":%s,\"monitor\":\"%s\",\"patience\":%d",
                      o->shuffle ? "true" : "false", monitor[o->monitor],
                      o->patience);
  sqlite3_str_appendall(out, ",\"class_weight\":");
  if (o->class_weight_mode == CLASS_WEIGHT_BALANCED) {
    sqlite3_str_appendall(out, "\"balanced\"");
  } else if (o->class_weight_mode == CLASS_WEIGHT_GIVEN) {
    sqlite3_str_appendall(out, "{\"claim\":");
    json_append_number(out, o->class_weight[0]);
    sqlite3_str_appendall(out, ",\"opinion\":");
    json_append_number(out, o->class_weight[1]);
    sqlite3_str_appendall(out, "}");
  } else {
    sqlite3_str_appendall(out, "null");
  }
  sqlite3_str_appendf(out, ",\"count_transform\":\"%s\"",
                      o->transform == TRANSFORM_LOG1P ? "log1p" : "none");
  sqlite3_str_appendf(out, ",\"text_input\":\"%s\"",
                      o->text_mode == TEXT_SEQUENCE ? "sequence"
                                                    : "bag_of_words");
  sqlite3_str_appendf(out, ",\"on_invalid\":\"%s\"",
                      o->skip_invalid ? "skip" : "error");
  sqlite3_str_appendall(out, ",\"columns\":{");
  for (int i = 0; i < N_COLUMNS; i++) {
    sqlite3_str_appendf(out, "%s\"%s\":", i ? "," : "", column_role[i]);
    json_append_string(out, o->column[i]);
  }
  sqlite3_str_appendall(out, "}}");
  return sqlite3_str_finish(out);
}
