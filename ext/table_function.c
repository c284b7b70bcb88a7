/*
** The virtual-table module behind claim_describe() and claim_histogram().
** Each of them describes itself in a TableFunction (see workbench.h),
** which claim.c passes as the module's client data, and supplies only its
** schema, its computation and its xColumn.
**
** Rules:
**   1. The function's arguments are its last hidden columns, starting at
**      column first_argument. xBestIndex passes each equality constraint on
**      them to xFilter, in column order, and sets bit i of idxNum when
**      argument i is present.
**   2. A constraint on an argument that cannot be used yet makes the plan
**      impossible (SQLITE_CONSTRAINT), so SQLite picks an order that
**      evaluates the arguments first. A plan without every required
**      argument costs 1e12 in place of 1000, and the function's run()
**      reports the missing argument if SQLite still picks that plan.
**   3. The table is eponymous and SQLITE_VTAB_DIRECTONLY: it reads whole
**      tables named by its arguments, so a view or trigger cannot use it.
**   4. When xFilter fails, the cursor keeps no rows and no arguments, and
**      the message goes to the table's zErrMsg.
*/
#include <string.h>

#include "workbench.h"
SQLITE_EXTENSION_INIT3

static int table_function_connect(sqlite3 *db, void *aux, int argc,
                                  const char *const *argv,
                                  sqlite3_vtab **vtab, char **error) {
  (void)argc;
  (void)argv;
  (void)error;
  const TableFunction *function = aux;
  int rc = sqlite3_declare_vtab(db, function->schema);
  if (rc != SQLITE_OK) return rc;
  sqlite3_vtab_config(db, SQLITE_VTAB_DIRECTONLY);
  TableFunctionTable *table = sqlite3_malloc(sizeof(TableFunctionTable));
  if (!table) return SQLITE_NOMEM;
  memset(table, 0, sizeof(*table));
  table->db = db;
  table->function = function;
  *vtab = &table->base;
  return SQLITE_OK;
}

static int table_function_disconnect(sqlite3_vtab *vtab) {
  sqlite3_free(vtab);
  return SQLITE_OK;
}

/* Passes the argument constraints to xFilter (rules 1 and 2). */
static int table_function_best_index(sqlite3_vtab *vtab,
                                     sqlite3_index_info *info) {
  const TableFunction *function = ((TableFunctionTable *)vtab)->function;
  int constraint[TABLE_FUNCTION_MAX_ARGUMENTS];
  for (int slot = 0; slot < function->n_arguments; slot++)
    constraint[slot] = -1;
  for (int i = 0; i < info->nConstraint; i++) {
    const struct sqlite3_index_constraint *p = &info->aConstraint[i];
    if (p->iColumn < function->first_argument ||
        p->op != SQLITE_INDEX_CONSTRAINT_EQ)
      continue;
    if (!p->usable) return SQLITE_CONSTRAINT;
    constraint[p->iColumn - function->first_argument] = i;
  }
  int argument = 0;
  info->idxNum = 0;
  for (int slot = 0; slot < function->n_arguments; slot++) {
    if (constraint[slot] < 0) continue;
    info->aConstraintUsage[constraint[slot]].argvIndex = ++argument;
    info->aConstraintUsage[constraint[slot]].omit = 1;
    info->idxNum |= 1 << slot;
  }
  int required = (1 << function->n_required) - 1;
  info->estimatedCost = (info->idxNum & required) == required ? 1000.0 : 1e12;
  info->estimatedRows = 100;
  return SQLITE_OK;
}

static int table_function_open(sqlite3_vtab *vtab,
                               sqlite3_vtab_cursor **cursor) {
  const TableFunction *function = ((TableFunctionTable *)vtab)->function;
  TableFunctionCursor *c = sqlite3_malloc64(function->cursor_size);
  if (!c) return SQLITE_NOMEM;
  memset(c, 0, function->cursor_size);
  *cursor = &c->base;
  return SQLITE_OK;
}

/* Frees the rows and the arguments, leaving an empty cursor. */
static void table_function_reset(TableFunctionCursor *c) {
  const TableFunction *function =
      ((TableFunctionTable *)c->base.pVtab)->function;
  function->reset(c);
  c->at = 0;
  c->n_rows = 0;
  for (int slot = 0; slot < function->n_arguments; slot++) {
    sqlite3_value_free(c->argument[slot]);
    c->argument[slot] = 0;
  }
}

static int table_function_close(sqlite3_vtab_cursor *cursor) {
  table_function_reset((TableFunctionCursor *)cursor);
  sqlite3_free(cursor);
  return SQLITE_OK;
}

static int table_function_filter(sqlite3_vtab_cursor *cursor, int idx_num,
                                 const char *idx_str, int argc,
                                 sqlite3_value **argv) {
  (void)idx_str;
  (void)argc;
  TableFunctionCursor *c = (TableFunctionCursor *)cursor;
  TableFunctionTable *table = (TableFunctionTable *)cursor->pVtab;
  char *error = 0;
  int rc = SQLITE_OK;
  table_function_reset(c);

  int next = 0;
  for (int slot = 0; rc == SQLITE_OK && slot < table->function->n_arguments;
       slot++) {
    if (!(idx_num & (1 << slot))) continue;
    c->argument[slot] = sqlite3_value_dup(argv[next++]);
    if (!c->argument[slot]) rc = SQLITE_NOMEM;
  }
  if (rc == SQLITE_OK) rc = table->function->run(c, table->db, &error);

  /* Rule 4. */
  if (rc != SQLITE_OK) {
    table_function_reset(c);
    if (error) {
      sqlite3_free(cursor->pVtab->zErrMsg);
      cursor->pVtab->zErrMsg = error;
    }
  }
  return rc;
}

static int table_function_next(sqlite3_vtab_cursor *cursor) {
  ((TableFunctionCursor *)cursor)->at++;
  return SQLITE_OK;
}

static int table_function_eof(sqlite3_vtab_cursor *cursor) {
  TableFunctionCursor *c = (TableFunctionCursor *)cursor;
  return c->at >= c->n_rows;
}

static int table_function_column(sqlite3_vtab_cursor *cursor,
                                 sqlite3_context *context, int i) {
  const TableFunction *function =
      ((TableFunctionTable *)cursor->pVtab)->function;
  return function->column(cursor, context, i);
}

static int table_function_rowid(sqlite3_vtab_cursor *cursor,
                                sqlite3_int64 *rowid) {
  *rowid = ((TableFunctionCursor *)cursor)->at + 1;
  return SQLITE_OK;
}

/* No xCreate: the tables are eponymous only, so CREATE VIRTUAL TABLE
** fails. */
sqlite3_module table_function_module = {
  .xConnect = table_function_connect,
  .xBestIndex = table_function_best_index,
  .xDisconnect = table_function_disconnect,
  .xOpen = table_function_open,
  .xClose = table_function_close,
  .xFilter = table_function_filter,
  .xNext = table_function_next,
  .xEof = table_function_eof,
  .xColumn = table_function_column,
  .xRowid = table_function_rowid,
};
