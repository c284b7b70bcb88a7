/*
** sqltest.c: run files of SQL checks against a SQLite loadable extension.
**
** Usage: sqltest [-v] EXTENSION_PATH FILE.test...
**
** EXTENSION_PATH (for example build/claim) is loaded with
** sqlite3_load_extension() into every connection the runner opens. SQLite
** appends ".so" when the path has no suffix. "-" loads nothing, which lets
** the runner test itself with built-in SQL only. -v also prints one line for
** each passing test.
**
** Output: one "FAIL FILE:LINE: NAME: ..." line per failing test with the
** expected and the actual result in full, then the line "N passed, N failed".
** Exit status: 0 when every test passed, 1 when a test failed or a file has
** a format error, 2 on a usage error or when the extension cannot be loaded.
**
** TEST FILE FORMAT
**
**   -- Comments start with two dashes and are ignored.
**   CREATE TABLE t(x);                 -- setup: SQL before the first test
**   INSERT INTO t VALUES (1), (2);
**   # test: several rows
**   SELECT x FROM t ORDER BY x;
**   => 1
**   => 2
**   # test: missing table
**   SELECT * FROM missing_table;
**   !! no such table: missing_table
**
** Lines are classified by their first characters:
**
**   -- ...        A comment, also when indented. Blank lines are ignored too.
**   # test: NAME  Starts a test block called NAME.
**   .open NAME    Closes the current connection and opens NAME (a path, a
**                 URI or :memory:) with the extension loaded.
**   .shell CMD    Runs CMD with system(). A non-zero exit status fails the
**                 test, or the file when it happens in setup.
**   => VALUE      Expects one row equal to VALUE.
**   ~> VALUE      Expects one row numerically close to VALUE (see below).
**   =~ REGEX      Expects one row that matches the POSIX extended REGEX.
**   !! MESSAGE    Expects the last statement to fail with exactly MESSAGE,
**                 as sqlite3_errmsg() returns it.
**   anything else SQL.
**
** Markers (=>, ~>, =~, !!, #, .open, .shell) count only in the first column
** and must be followed by a space or the end of the line. After a marker,
** exactly one space is removed; the rest of the line is the value, trailing
** spaces included. So "=>" and "=> " both expect one row that is the empty
** string.
**
** Setup. SQL and directives before the first "# test:" line run first. An
** error there fails the file with a message naming the line, and the file's
** tests do not run.
**
** Tests. A block runs its SQL statements and directives in order, stopping
** at the first error. SQL may span lines and a block may hold several
** statements. Only the rows of the block's last statement are compared. All
** tests of a file share one connection, so a block without expectations
** works as setup for later tests.
**
**   - No expectation lines: the block must run without error.
**   - =>, ~> and =~ lines: each line matches one row, in order, and the
**     number of rows must equal the number of lines. To check for no rows,
**     compare "SELECT count(*) ..." instead.
**   - !!: the block's last statement must fail with exactly MESSAGE, and
**     every statement before it must succeed. !! cannot be combined with
**     other expectations.
**
** Rows are compared as text: the columns joined by "|". NULL prints as
** NULL, an INTEGER in decimal, TEXT as is, and a BLOB as X'0A1B'. A REAL
** prints as the shortest of "%.15g", "%.16g" and "%.17g" that reads back as
** the same double, with ".0" appended when that looks like an integer:
** 0.1, 1.0, 0.30000000000000004, 1e+20. So "=> 0.99" matches only the
** double nearest 0.99.
**
** "~> VALUE" splits VALUE and the row at "|". A field written as a decimal
** number (such as 3, -0.25 or 1.5e-3) matches a numeric column, or a TEXT
** column holding a number, that rounds to it at the number of decimals
** written. So the allowed difference is half a unit in the last written
** place: "~> 0.99" accepts 0.985 to 0.995, "~> 0.990" accepts 0.9895 to
** 0.9905 and "~> 3" accepts 2.5 to 3.5. Other fields must match exactly.
**
** "=~ REGEX" is not anchored, so write ^...$ to match a whole value. "." and
** bracket expressions also match a newline.
**
** The token $TMP is replaced with a temporary directory that the runner
** creates for each file under $TMPDIR (default /tmp) and removes afterwards,
** and $ROOT with the working directory. Replacement happens in SQL,
** directives, => and !! lines, but not in ~> and =~ lines. A token followed
** by a letter, digit or "_" (as in $TMPDIR) is left alone.
**
** The first SQL of a file runs in a fresh :memory: connection, unless an
** .open line comes before it.
**
** Limits: a value containing a newline cannot match "=>", so use "=~" or
** replace(x, char(10), '\n') in the SQL. TEXT "NULL" and SQL NULL print
** alike, and so do one column containing "|" and two columns. Values are
** handled as NUL-terminated strings, so text after an embedded NUL byte is
** ignored.
*/
#ifndef _XOPEN_SOURCE
# define _XOPEN_SOURCE 700  /* nftw() and mkdtemp() */
#endif

#include <sqlite3.h>

#include <errno.h>
#include <float.h>
#include <ftw.h>
#include <math.h>
#include <regex.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

/*
** Growable NUL-terminated string. A zeroed Buf is empty and valid.
*/
typedef struct Buf {
  char *z;
  size_t n;
  size_t cap;
} Buf;

/* The runner cannot do anything useful without memory, so it stops. */
static void die_out_of_memory(void){
  fputs("sqltest: out of memory\n", stderr);
  exit(2);
}

static void *xrealloc(void *p, size_t n){
  void *q = realloc(p, n ? n : 1);
  if( q==NULL ) die_out_of_memory();
  return q;
}

static char *xstrdup(const char *z){
  size_t n = strlen(z) + 1;
  char *p = xrealloc(NULL, n);
  memcpy(p, z, n);
  return p;
}

static void buf_append(Buf *b, const char *z, size_t n){
  if( b->n + n + 1 > b->cap ){
    size_t cap = b->cap ? b->cap : 64;
    while( cap < b->n + n + 1 ){
      if( cap > SIZE_MAX/2 ) die_out_of_memory();
      cap *= 2;
    }
    b->z = xrealloc(b->z, cap);
    b->cap = cap;
  }
  memcpy(b->z + b->n, z, n);
  b->n += n;
  b->z[b->n] = 0;
}

static void buf_puts(Buf *b, const char *z){
  buf_append(b, z, strlen(z));
}

static void buf_printf(Buf *b, const char *zFormat, ...){
  va_list ap;
  va_list ap2;
  int n;

  va_start(ap, zFormat);
  va_copy(ap2, ap);
  n = vsnprintf(NULL, 0, zFormat, ap);
  if( n<0 ){
    fputs("sqltest: vsnprintf() failed\n", stderr);
    exit(2);
  }
  buf_append(b, "", 0);
  if( b->n + (size_t)n + 1 > b->cap ){
    b->z = xrealloc(b->z, b->n + (size_t)n + 1);
    b->cap = b->n + (size_t)n + 1;
  }
  vsnprintf(b->z + b->n, (size_t)n + 1, zFormat, ap2);
  b->n += (size_t)n;
  va_end(ap2);
  va_end(ap);
}

/* Return the contents, never NULL, and leave the Buf empty. */
static char *buf_take(Buf *b){
  char *z = b->z ? b->z : xstrdup("");
  b->z = NULL;
  b->n = b->cap = 0;
  return z;
}

static void buf_free(Buf *b){
  free(b->z);
  b->z = NULL;
  b->n = b->cap = 0;
}

/*
** Append z as a double-quoted string with C escapes, so that failure
** messages stay on one line and show exactly where a value ends.
*/
static void buf_quote(Buf *b, const char *z){
  const unsigned char *p;

  buf_puts(b, "\"");
  for(p = (const unsigned char*)z; *p; p++){
    switch( *p ){
      case '"':  buf_puts(b, "\\\""); break;
      case '\\': buf_puts(b, "\\\\"); break;
      case '\n': buf_puts(b, "\\n");  break;
      case '\r': buf_puts(b, "\\r");  break;
      case '\t': buf_puts(b, "\\t");  break;
      default:
        if( *p<0x20 || *p==0x7f ){
          buf_printf(b, "\\x%02x", *p);
        }else{
          buf_append(b, (const char*)p, 1);
        }
        break;
    }
  }
  buf_puts(b, "\"");
}

/* ---------------------------------------------------------------------
** Parsed test files
*/

typedef enum StepKind { STEP_SQL, STEP_OPEN, STEP_SHELL } StepKind;

/*
** One unit of work in a block. For STEP_SQL, text is the SQL of consecutive
** lines, with a newline for every skipped comment or blank line, so that an
** offset in text maps back to a file line. For the directives, text is the
** argument with $TMP and $ROOT replaced.
*/
typedef struct Step {
  StepKind kind;
  int line;       /* file line where the step starts */
  int lastLine;   /* file line of the step's last SQL line */
  char *text;
} Step;

typedef enum ExpectKind {
  EXPECT_ROW,     /* => */
  EXPECT_APPROX,  /* ~> */
  EXPECT_REGEX,   /* =~ */
  EXPECT_ERROR    /* !! */
} ExpectKind;

typedef struct Expect {
  ExpectKind kind;
  int line;
  char *text;
  regex_t regex;  /* compiled text, for EXPECT_REGEX only */
} Expect;

/* The setup of a file or one "# test:" block. */
typedef struct Block {
  char *name;
  int line;
  Step *steps;
  int nStep;
  Expect *expects;
  int nExpect;
} Block;

typedef struct TestFile {
  Block setup;
  Block *tests;
  int nTest;
} TestFile;

static void block_free(Block *b){
  int i;
  for(i=0; i<b->nStep; i++) free(b->steps[i].text);
  for(i=0; i<b->nExpect; i++){
    if( b->expects[i].kind==EXPECT_REGEX ) regfree(&b->expects[i].regex);
    free(b->expects[i].text);
  }
  free(b->steps);
  free(b->expects);
  free(b->name);
  memset(b, 0, sizeof(*b));
}

static void test_file_free(TestFile *f){
  int i;
  block_free(&f->setup);
  for(i=0; i<f->nTest; i++) block_free(&f->tests[i]);
  free(f->tests);
  memset(f, 0, sizeof(*f));
}

/* ---------------------------------------------------------------------
** Parser
*/

typedef struct Parser {
  const char *zTmpDir;   /* replaces $TMP */
  const char *zRoot;     /* replaces $ROOT */
  TestFile *file;
  Block *current;        /* setup, or the last test started */
  Buf error;             /* format error message */
  int errorLine;
} Parser;

static int is_identifier_char(char c){
  return (c>='a' && c<='z') || (c>='A' && c<='Z') || (c>='0' && c<='9')
      || c=='_';
}

/* Return a copy of z with the tokens $TMP and $ROOT replaced. */
static char *substitute_tokens(const Parser *p, const char *z){
  Buf out = {0};

  buf_append(&out, "", 0);
  while( *z ){
    if( strncmp(z, "$TMP", 4)==0 && !is_identifier_char(z[4]) ){
      buf_puts(&out, p->zTmpDir);
      z += 4;
    }else if( strncmp(z, "$ROOT", 5)==0 && !is_identifier_char(z[5]) ){
      buf_puts(&out, p->zRoot);
      z += 5;
    }else{
      buf_append(&out, z, 1);
      z++;
    }
  }
  return buf_take(&out);
}

static int format_error(Parser *p, int line, const char *zFormat, ...){
  va_list ap;
  int n;
  char *z;

  va_start(ap, zFormat);
  n = vsnprintf(NULL, 0, zFormat, ap);
  va_end(ap);
  if( n<0 ) die_out_of_memory();
  z = xrealloc(NULL, (size_t)n + 1);
  va_start(ap, zFormat);
  vsnprintf(z, (size_t)n + 1, zFormat, ap);
  va_end(ap);
  buf_puts(&p->error, z);
  free(z);
  p->errorLine = line;
  return 1;
}

static int is_blank_or_comment(const char *z){
  while( *z==' ' || *z=='\t' ) z++;
  return *z==0 || (z[0]=='-' && z[1]=='-');
}

/*
** If zLine starts with zMarker, return a pointer to the marker's argument
** with one separating space removed. Return NULL when it does not start with
** zMarker. *pbBadEnd is set when the marker is followed by a character
** other than a space, such as in "=>1".
*/
static const char *marker_argument(const char *zLine, const char *zMarker,
                                   int *pbBadEnd){
  size_t n = strlen(zMarker);

  *pbBadEnd = 0;
  if( strncmp(zLine, zMarker, n)!=0 ) return NULL;
  if( zLine[n]==0 ) return zLine + n;
  if( zLine[n]==' ' ) return zLine + n + 1;
  *pbBadEnd = 1;
  return NULL;
}

/* Return a copy of z without leading and trailing spaces and tabs. */
static char *trim_copy(const char *z){
  size_t n;
  char *zOut;

  while( *z==' ' || *z=='\t' ) z++;
  n = strlen(z);
  while( n>0 && (z[n-1]==' ' || z[n-1]=='\t') ) n--;
  zOut = xrealloc(NULL, n + 1);
  memcpy(zOut, z, n);
  zOut[n] = 0;
  return zOut;
}

static const char *block_label(const Block *b){
  return b->name ? b->name : "setup";
}

static Step *block_add_step(Block *b, StepKind kind, int line, char *zText){
  Step *s;
  b->steps = xrealloc(b->steps, sizeof(Step)*(size_t)(b->nStep + 1));
  s = &b->steps[b->nStep++];
  s->kind = kind;
  s->line = line;
  s->lastLine = line;
  s->text = zText;
  return s;
}

static int parse_test_header(Parser *p, int line, const char *zLine){
  TestFile *f = p->file;
  char *zName;
  Block *b;

  if( strncmp(zLine, "# test:", 7)!=0 ){
    return format_error(p, line, "unknown line starting with \"#\"; "
                        "a test starts with \"# test: NAME\"");
  }
  zName = trim_copy(zLine + 7);
  if( zName[0]==0 ){
    free(zName);
    return format_error(p, line, "test name missing after \"# test:\"");
  }
  f->tests = xrealloc(f->tests, sizeof(Block)*(size_t)(f->nTest + 1));
  b = &f->tests[f->nTest++];
  memset(b, 0, sizeof(*b));
  b->name = zName;
  b->line = line;
  p->current = b;
  return 0;
}

static int parse_expectation(Parser *p, int line, ExpectKind kind,
                             const char *zMarker, const char *zArg){
  Block *b = p->current;
  const Step *pLast = b->nStep ? &b->steps[b->nStep-1] : NULL;
  Expect *e;
  int rc;

  if( b->name==NULL ){
    return format_error(p, line, "\"%s\" before the first \"# test:\" line; "
                        "expectations belong to a test", zMarker);
  }
  if( pLast==NULL ){
    return format_error(p, line, "test \"%s\" has \"%s\" but no SQL before it",
                        b->name, zMarker);
  }
  if( pLast->kind!=STEP_SQL ){
    return format_error(p, line, "\"%s\" follows the %s on line %d; put the "
                        "SQL whose result it checks between them", zMarker,
                        pLast->kind==STEP_OPEN ? ".open" : ".shell",
                        pLast->line);
  }
  if( b->nExpect>0
   && (kind==EXPECT_ERROR || b->expects[0].kind==EXPECT_ERROR) ){
    return format_error(p, line, "test \"%s\" combines \"!!\" with another "
                        "expectation; \"!!\" must be its only one", b->name);
  }

  b->expects = xrealloc(b->expects, sizeof(Expect)*(size_t)(b->nExpect + 1));
  e = &b->expects[b->nExpect];
  memset(e, 0, sizeof(*e));
  e->kind = kind;
  e->line = line;
  if( kind==EXPECT_ROW || kind==EXPECT_ERROR ){
    e->text = substitute_tokens(p, zArg);
  }else{
    e->text = xstrdup(zArg);
  }
  if( kind==EXPECT_REGEX ){
    rc = regcomp(&e->regex, e->text, REG_EXTENDED|REG_NOSUB);
    if( rc!=0 ){
      char zMsg[256];
      regerror(rc, &e->regex, zMsg, sizeof(zMsg));
      free(e->text);
      return format_error(p, line, "invalid regular expression \"%s\": %s",
                          zArg, zMsg);
    }
  }
  b->nExpect++;
  return 0;
}

static int parse_directive(Parser *p, int line, const char *zLine){
  Block *b = p->current;
  int bBadEnd = 0;
  const char *zArg;
  StepKind kind;
  char *zTrimmed;

  if( (zArg = marker_argument(zLine, ".open", &bBadEnd))!=NULL ){
    kind = STEP_OPEN;
  }else if( !bBadEnd
         && (zArg = marker_argument(zLine, ".shell", &bBadEnd))!=NULL ){
    kind = STEP_SHELL;
  }else{
    return format_error(p, line, "unknown directive \"%s\"; use "
                        "\".open NAME\" or \".shell COMMAND\"", zLine);
  }
  if( b->nExpect>0 ){
    return format_error(p, line, "directive after the expectations of test "
                        "\"%s\"; start a new block with \"# test: NAME\"",
                        b->name);
  }
  zTrimmed = trim_copy(zArg);
  if( zTrimmed[0]==0 ){
    free(zTrimmed);
    return format_error(p, line, "%s needs an argument",
                        kind==STEP_OPEN ? ".open" : ".shell");
  }
  block_add_step(b, kind, line, substitute_tokens(p, zTrimmed));
  free(zTrimmed);
  return 0;
}

static int parse_sql_line(Parser *p, int line, const char *zLine){
  Block *b = p->current;
  Step *s = b->nStep ? &b->steps[b->nStep-1] : NULL;
  Buf text = {0};
  char *zSql;

  if( b->nExpect>0 ){
    return format_error(p, line, "SQL after the expectations of test \"%s\"; "
                        "start a new block with \"# test: NAME\"", b->name);
  }
  zSql = substitute_tokens(p, zLine);
  if( s && s->kind==STEP_SQL ){
    /* Keep skipped lines as newlines so offsets map to file lines. */
    int i;
    text.z = s->text;
    text.n = strlen(s->text);
    text.cap = text.n + 1;
    for(i=s->lastLine+1; i<line; i++) buf_puts(&text, "\n");
    buf_puts(&text, zSql);
    buf_puts(&text, "\n");
    s->text = buf_take(&text);
    s->lastLine = line;
  }else{
    buf_puts(&text, zSql);
    buf_puts(&text, "\n");
    block_add_step(b, STEP_SQL, line, buf_take(&text));
  }
  free(zSql);
  return 0;
}

static int parse_line(Parser *p, int line, const char *zLine){
  static const struct {
    const char *zMarker;
    ExpectKind kind;
  } aMarker[] = {
    { "=>", EXPECT_ROW },
    { "~>", EXPECT_APPROX },
    { "=~", EXPECT_REGEX },
    { "!!", EXPECT_ERROR },
  };
  size_t i;

  if( is_blank_or_comment(zLine) ) return 0;
  if( zLine[0]=='#' ) return parse_test_header(p, line, zLine);
  if( zLine[0]=='.' ) return parse_directive(p, line, zLine);
  for(i=0; i<sizeof(aMarker)/sizeof(aMarker[0]); i++){
    int bBadEnd = 0;
    const char *zArg = marker_argument(zLine, aMarker[i].zMarker, &bBadEnd);
    if( bBadEnd ){
      return format_error(p, line, "missing space after \"%s\"",
                          aMarker[i].zMarker);
    }
    if( zArg ){
      return parse_expectation(p, line, aMarker[i].kind, aMarker[i].zMarker,
                               zArg);
    }
  }
  return parse_sql_line(p, line, zLine);
}

static int check_block_complete(Parser *p, const Block *b){
  if( b->name && b->nStep==0 ){
    return format_error(p, b->line, "test \"%s\" has no SQL", b->name);
  }
  return 0;
}

/*
** Parse the test file zPath into f. Return 0 on success. Otherwise return 1
** and store the message in pError and its line in *pErrorLine, which is 0
** when the file cannot be read.
*/
static int parse_test_file(const char *zPath, const char *zTmpDir,
                           const char *zRoot, TestFile *f, Buf *pError,
                           int *pErrorLine){
  Parser p;
  FILE *in = NULL;
  char *zLine = NULL;
  size_t nAlloc = 0;
  ssize_t nRead;
  int line = 0;
  int rc = 0;

  memset(&p, 0, sizeof(p));
  memset(f, 0, sizeof(*f));
  p.zTmpDir = zTmpDir;
  p.zRoot = zRoot;
  p.file = f;
  p.current = &f->setup;

  in = fopen(zPath, "r");
  if( in==NULL ){
    rc = format_error(&p, 0, "cannot open the file: %s", strerror(errno));
    goto done;
  }
  while( (nRead = getline(&zLine, &nAlloc, in))>=0 ){
    line++;
    while( nRead>0 && (zLine[nRead-1]=='\n' || zLine[nRead-1]=='\r') ){
      zLine[--nRead] = 0;
    }
    if( p.current->name && zLine[0]=='#' ){
      if( check_block_complete(&p, p.current) ){
        rc = 1;
        goto done;
      }
    }
    if( parse_line(&p, line, zLine) ){
      rc = 1;
      goto done;
    }
  }
  if( ferror(in) ){
    rc = format_error(&p, 0, "reading the file failed: %s", strerror(errno));
    goto done;
  }
  rc = check_block_complete(&p, p.current);

done:
  free(zLine);
  if( in ) fclose(in);
  if( rc ){
    buf_puts(pError, p.error.z ? p.error.z : "");
    *pErrorLine = p.errorLine;
  }
  buf_free(&p.error);
  return rc;
}

/* ---------------------------------------------------------------------
** Results
*/

typedef struct Cell {
  int type;       /* SQLITE_INTEGER, SQLITE_FLOAT, SQLITE_TEXT, ... */
  char *text;     /* the value as the comparison prints it */
} Cell;

typedef struct Row {
  char *joined;   /* the cells' text joined by "|" */
  Cell *cells;
  int nCell;
} Row;

typedef enum OutcomeKind {
  OUTCOME_ROWS,       /* every step succeeded */
  OUTCOME_SQL_ERROR,  /* a statement failed */
  OUTCOME_FAILURE     /* a directive or connection failed */
} OutcomeKind;

/* What running a block produced. */
typedef struct Outcome {
  OutcomeKind kind;
  Row *rows;          /* rows of the block's last statement */
  int nRow;
  char *message;      /* sqlite3_errmsg() text or failure description */
  int line;           /* file line of the failing statement or directive */
  int bLastStatement; /* the SQL error came from the last statement */
} Outcome;

static void outcome_free(Outcome *o){
  int i, j;
  for(i=0; i<o->nRow; i++){
    for(j=0; j<o->rows[i].nCell; j++) free(o->rows[i].cells[j].text);
    free(o->rows[i].cells);
    free(o->rows[i].joined);
  }
  free(o->rows);
  free(o->message);
  memset(o, 0, sizeof(*o));
}

/*
** Format a REAL as the shortest of %.15g, %.16g and %.17g that reads back
** as the same double. %.17g always does, so the loop ends there.
*/
static char *format_real(double v){
  char zOut[64];
  int precision;

  for(precision=15; precision<=17; precision++){
    snprintf(zOut, sizeof(zOut), "%.*g", precision, v);
    if( strtod(zOut, NULL)==v ) break;
  }
  if( strpbrk(zOut, ".eni")==NULL ){
    size_t n = strlen(zOut);
    if( n + 2 < sizeof(zOut) ) memcpy(zOut + n, ".0", 3);
  }
  return xstrdup(zOut);
}

static char *format_cell(sqlite3 *db, sqlite3_stmt *pStmt, int iCol,
                         int *pType){
  int type = sqlite3_column_type(pStmt, iCol);
  Buf out = {0};

  *pType = type;
  switch( type ){
    case SQLITE_NULL:
      return xstrdup("NULL");
    case SQLITE_INTEGER:
      buf_printf(&out, "%lld", (long long)sqlite3_column_int64(pStmt, iCol));
      return buf_take(&out);
    case SQLITE_FLOAT:
      return format_real(sqlite3_column_double(pStmt, iCol));
    case SQLITE_BLOB: {
      const unsigned char *a = sqlite3_column_blob(pStmt, iCol);
      int n = sqlite3_column_bytes(pStmt, iCol);
      int i;
      if( a==NULL && n>0 ) die_out_of_memory();
      buf_puts(&out, "X'");
      for(i=0; i<n; i++) buf_printf(&out, "%02X", a[i]);
      buf_puts(&out, "'");
      return buf_take(&out);
    }
    default: {
      const unsigned char *z = sqlite3_column_text(pStmt, iCol);
      if( z==NULL ){
        if( sqlite3_errcode(db)==SQLITE_NOMEM ) die_out_of_memory();
        return xstrdup("");
      }
      return xstrdup((const char*)z);
    }
  }
}

static void outcome_add_row(Outcome *o, sqlite3 *db, sqlite3_stmt *pStmt){
  int nCol = sqlite3_column_count(pStmt);
  Buf joined = {0};
  Row *r;
  int i;

  o->rows = xrealloc(o->rows, sizeof(Row)*(size_t)(o->nRow + 1));
  r = &o->rows[o->nRow++];
  r->nCell = nCol;
  r->cells = xrealloc(NULL, sizeof(Cell)*(size_t)(nCol ? nCol : 1));
  buf_append(&joined, "", 0);
  for(i=0; i<nCol; i++){
    r->cells[i].text = format_cell(db, pStmt, i, &r->cells[i].type);
    if( i>0 ) buf_puts(&joined, "|");
    buf_puts(&joined, r->cells[i].text);
  }
  r->joined = buf_take(&joined);
}

static void outcome_set(Outcome *o, OutcomeKind kind, int line,
                        const char *zMessage){
  free(o->message);
  o->kind = kind;
  o->line = line;
  o->message = xstrdup(zMessage);
}

/* ---------------------------------------------------------------------
** Execution
*/

typedef struct Runner {
  const char *zExtension;  /* loaded into every connection; NULL for none */
  const char *zFile;       /* test file being run */
  sqlite3 *db;             /* current connection, NULL until first needed */
  int verbose;
  int nPassed;
  int nFailed;
} Runner;

/*
** Open zName as the runner's connection and load the extension into it.
** On failure, append the reason to pError and leave r->db NULL.
*/
static int open_connection(Runner *r, const char *zName, Buf *pError){
  sqlite3 *db = NULL;
  char *zLoadError = NULL;
  int rc;

  rc = sqlite3_open_v2(zName, &db,
           SQLITE_OPEN_READWRITE|SQLITE_OPEN_CREATE|SQLITE_OPEN_URI, NULL);
  if( rc!=SQLITE_OK ){
    buf_printf(pError, "cannot open database \"%s\": %s", zName,
               db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
    goto fail;
  }
  if( r->zExtension ){
    rc = sqlite3_enable_load_extension(db, 1);
    if( rc!=SQLITE_OK ){
      buf_printf(pError, "sqlite3_enable_load_extension() failed: %s",
                 sqlite3_errmsg(db));
      goto fail;
    }
    rc = sqlite3_load_extension(db, r->zExtension, NULL, &zLoadError);
    if( rc!=SQLITE_OK ){
      buf_printf(pError, "cannot load extension \"%s\": %s", r->zExtension,
                 zLoadError ? zLoadError : sqlite3_errstr(rc));
      goto fail;
    }
  }
  r->db = db;
  return 0;

fail:
  sqlite3_free(zLoadError);
  sqlite3_close(db);
  return 1;
}

/*
** Close the runner's connection, if any. sqlite3_close() fails while
** statements are unfinalized, which points at a leak in the extension, so
** that is reported. sqlite3_close_v2() then frees the connection once those
** statements are gone.
*/
static int close_connection(Runner *r, Buf *pError){
  int rc;

  if( r->db==NULL ) return 0;
  rc = sqlite3_close(r->db);
  if( rc!=SQLITE_OK ){
    buf_printf(pError, "closing the connection failed: %s",
               sqlite3_errmsg(r->db));
    sqlite3_close_v2(r->db);
  }
  r->db = NULL;
  return rc!=SQLITE_OK;
}

/*
** Return a pointer past whitespace, comments and semicolons, which is where
** the next SQL statement starts, or to the terminating NUL if none follows.
*/
static const char *skip_to_statement(const char *z){
  for(;;){
    if( *z==' ' || *z=='\t' || *z=='\n' || *z=='\r' || *z=='\f' || *z=='\v'
     || *z==';' ){
      z++;
    }else if( z[0]=='-' && z[1]=='-' ){
      z += 2;
      while( *z && *z!='\n' ) z++;
    }else if( z[0]=='/' && z[1]=='*' ){
      z += 2;
      while( *z && !(z[0]=='*' && z[1]=='/') ) z++;
      if( *z ) z += 2;
    }else{
      return z;
    }
  }
}

/*
** Return a pointer past the statement that starts at zStart: after its
** terminating semicolon, or at the end of the text. sqlite3_complete()
** decides which semicolon ends it, so that semicolons inside strings,
** comments and trigger bodies are skipped. This is only needed when
** sqlite3_prepare_v2() fails, because then its tail pointer may stop inside
** the statement.
*/
static const char *statement_end(const char *zStart){
  Buf prefix = {0};
  const char *zSemicolon;
  const char *zEnd = zStart + strlen(zStart);

  for(zSemicolon=strchr(zStart, ';'); zSemicolon;
      zSemicolon=strchr(zSemicolon+1, ';')){
    prefix.n = 0;
    buf_append(&prefix, zStart, (size_t)(zSemicolon + 1 - zStart));
    if( sqlite3_complete(prefix.z) ){
      zEnd = zSemicolon + 1;
      break;
    }
  }
  buf_free(&prefix);
  return zEnd;
}

static int count_newlines(const char *zBegin, const char *zEnd){
  int n = 0;
  for(; zBegin<zEnd; zBegin++){
    if( *zBegin=='\n' ) n++;
  }
  return n;
}

/*
** Run every statement of an SQL step. bFinalStep is set for the block's
** last step, whose last statement is the one the expectations check. That
** statement's rows are stored in o when bCapture is set. Return 1 when a statement
** failed, with the error in o.
*/
static int run_sql_step(Runner *r, const Step *s, int bFinalStep,
                        int bCapture, Outcome *o){
  const char *zSql = s->text;

  for(;;){
    const char *zStart = skip_to_statement(zSql);
    const char *zTail = NULL;
    sqlite3_stmt *pStmt = NULL;
    int line = s->line + count_newlines(s->text, zStart);
    int bLast;
    int rc;

    if( *zStart==0 ) return 0;
    rc = sqlite3_prepare_v2(r->db, zStart, -1, &pStmt, &zTail);
    if( rc!=SQLITE_OK ){
      outcome_set(o, OUTCOME_SQL_ERROR, line, sqlite3_errmsg(r->db));
      o->bLastStatement = bFinalStep
                       && *skip_to_statement(statement_end(zStart))==0;
      return 1;
    }
    if( pStmt==NULL ){
      /* Only a comment or whitespace was left. */
      if( zTail==NULL || zTail<=zStart ) return 0;
      zSql = zTail;
      continue;
    }

    bLast = bFinalStep && *skip_to_statement(zTail)==0;
    while( (rc = sqlite3_step(pStmt))==SQLITE_ROW ){
      if( bLast && bCapture ) outcome_add_row(o, r->db, pStmt);
    }
    if( rc!=SQLITE_DONE ){
      outcome_set(o, OUTCOME_SQL_ERROR, line, sqlite3_errmsg(r->db));
      o->bLastStatement = bLast;
      sqlite3_finalize(pStmt);
      return 1;
    }
    rc = sqlite3_finalize(pStmt);
    if( rc!=SQLITE_OK ){
      outcome_set(o, OUTCOME_SQL_ERROR, line, sqlite3_errmsg(r->db));
      o->bLastStatement = bLast;
      return 1;
    }
    zSql = zTail;
  }
}

static int run_shell_step(const Step *s, Outcome *o){
  Buf message = {0};
  int status;

  fflush(NULL);
  status = system(s->text);
  if( status==-1 ){
    buf_printf(&message, ".shell could not start the command: %s",
               strerror(errno));
  }else if( WIFEXITED(status) && WEXITSTATUS(status)==0 ){
    return 0;
  }else if( WIFEXITED(status) ){
    buf_printf(&message, ".shell command exited with status %d: ",
               WEXITSTATUS(status));
    buf_quote(&message, s->text);
  }else if( WIFSIGNALED(status) ){
    buf_printf(&message, ".shell command was killed by signal %d: ",
               WTERMSIG(status));
    buf_quote(&message, s->text);
  }else{
    buf_printf(&message, ".shell command failed with status %d: ", status);
    buf_quote(&message, s->text);
  }
  outcome_set(o, OUTCOME_FAILURE, s->line, message.z);
  buf_free(&message);
  return 1;
}

static int run_open_step(Runner *r, const Step *s, Outcome *o){
  Buf message = {0};
  int rc = 0;

  if( close_connection(r, &message) || open_connection(r, s->text, &message) ){
    outcome_set(o, OUTCOME_FAILURE, s->line, message.z);
    rc = 1;
  }
  buf_free(&message);
  return rc;
}

/*
** Run the steps of block b in order and stop at the first error. The rows
** of the block's last statement are stored in o when bCapture is set.
*/
static void run_block(Runner *r, const Block *b, int bCapture, Outcome *o){
  int i;

  memset(o, 0, sizeof(*o));
  o->kind = OUTCOME_ROWS;
  for(i=0; i<b->nStep; i++){
    const Step *s = &b->steps[i];
    int bFinalStep = (i==b->nStep-1);

    if( s->kind==STEP_OPEN ){
      if( run_open_step(r, s, o) ) return;
    }else if( s->kind==STEP_SHELL ){
      if( run_shell_step(s, o) ) return;
    }else{
      if( r->db==NULL ){
        Buf message = {0};
        if( open_connection(r, ":memory:", &message) ){
          outcome_set(o, OUTCOME_FAILURE, s->line, message.z);
          buf_free(&message);
          return;
        }
      }
      if( run_sql_step(r, s, bFinalStep, bCapture, o) ) return;
    }
  }
}

/* ---------------------------------------------------------------------
** Comparison
*/

/*
** Parse z as a decimal number: an optional sign, digits with an optional
** decimal point, and an optional exponent. Store the value in *pValue and
** half a unit in the last written place in *pTolerance. Return 0 when z
** has any other form, such as "NULL", "abc", "0x10" or "inf", or when its
** exponent is outside the range of a double.
*/
static int parse_decimal(const char *z, double *pValue, double *pTolerance){
  const char *p = z;
  int nDigit = 0;
  int nDecimal = 0;
  long exponent = 0;
  long place;
  double tolerance = 0.5;
  char *zEnd;

  if( *p=='+' || *p=='-' ) p++;
  while( *p>='0' && *p<='9' ){ p++; nDigit++; }
  if( *p=='.' ){
    p++;
    while( *p>='0' && *p<='9' ){ p++; nDigit++; nDecimal++; }
  }
  if( nDigit==0 ) return 0;
  if( *p=='e' || *p=='E' ){
    p++;
    if( *p=='+' || *p=='-' ) p++;
    if( !(*p>='0' && *p<='9') ) return 0;
    exponent = strtol(p - (p[-1]=='+' || p[-1]=='-'), &zEnd, 10);
    p = zEnd;
  }
  if( *p!=0 ) return 0;
  if( exponent>DBL_MAX_10_EXP || exponent<DBL_MIN_10_EXP ) return 0;

  *pValue = strtod(z, &zEnd);
  if( *zEnd!=0 || !isfinite(*pValue) ) return 0;
  /* The last written digit has the place value 10^-(nDecimal - exponent). */
  for(place = (long)nDecimal - exponent; place>0 && tolerance>0; place--){
    tolerance /= 10;
  }
  for(; place<0 && tolerance<DBL_MAX/10; place++){
    tolerance *= 10;
  }
  *pTolerance = tolerance;
  return 1;
}

static double absolute(double x){
  return x<0 ? -x : x;
}

static int approx_field_matches(const char *zExpected, const Cell *c){
  double expected, tolerance, actual;
  char *zEnd;

  if( !parse_decimal(zExpected, &expected, &tolerance) ){
    return strcmp(zExpected, c->text)==0;
  }
  if( c->type==SQLITE_NULL || c->type==SQLITE_BLOB ) return 0;
  actual = strtod(c->text, &zEnd);
  if( zEnd==c->text || *zEnd!=0 ) return 0;
  /* Widen the tolerance by a rounding error, because in doubles
  ** 0.99 - 0.985 is 0.0050000000000000044, which must still match. */
  tolerance += tolerance*1e-9 + absolute(expected)*4*DBL_EPSILON;
  return absolute(actual - expected)<=tolerance;
}

/* Split zExpected at "|" and compare field i with cell i. */
static int approx_row_matches(const char *zExpected, const Row *row){
  char *zCopy = xstrdup(zExpected);
  char *zField = zCopy;
  int bMatch = 1;
  int i;

  for(i=0; i<row->nCell && bMatch; i++){
    char *zBar = strchr(zField, '|');
    int bLastCell = (i==row->nCell-1);

    if( (zBar==NULL)!=bLastCell ){
      bMatch = 0;  /* the field count differs from the column count */
      break;
    }
    if( zBar ) *zBar = 0;
    bMatch = approx_field_matches(zField, &row->cells[i]);
    if( zBar ) zField = zBar + 1;
  }
  if( row->nCell==0 ) bMatch = 0;
  free(zCopy);
  return bMatch;
}

static int row_matches(const Expect *e, const Row *row){
  switch( e->kind ){
    case EXPECT_ROW:    return strcmp(e->text, row->joined)==0;
    case EXPECT_APPROX: return approx_row_matches(e->text, row);
    case EXPECT_REGEX:  return regexec(&e->regex, row->joined, 0, NULL, 0)==0;
    default:            return 0;
  }
}

static void describe_expected_rows(Buf *b, const Block *t){
  static const char *azMarker[] = { "=>", "~>", "=~", "!!" };
  int i;

  buf_puts(b, "[");
  for(i=0; i<t->nExpect; i++){
    if( i>0 ) buf_puts(b, ", ");
    buf_printf(b, "%s ", azMarker[t->expects[i].kind]);
    buf_quote(b, t->expects[i].text);
  }
  buf_puts(b, "]");
}

static void describe_actual_rows(Buf *b, const Outcome *o){
  int i;

  buf_puts(b, "[");
  for(i=0; i<o->nRow; i++){
    if( i>0 ) buf_puts(b, ", ");
    buf_quote(b, o->rows[i].joined);
  }
  buf_puts(b, "]");
}

/* Compare the result of test t with its expectations. Return 1 if they
** match, or 0 with the reason in pWhy. */
static int check_outcome(const Block *t, const Outcome *o, Buf *pWhy){
  int bExpectError = t->nExpect>0 && t->expects[0].kind==EXPECT_ERROR;
  int i;

  if( o->kind==OUTCOME_FAILURE ){
    buf_printf(pWhy, "line %d: %s", o->line, o->message);
    return 0;
  }

  if( bExpectError ){
    const char *zExpected = t->expects[0].text;
    if( o->kind==OUTCOME_SQL_ERROR && o->bLastStatement
     && strcmp(zExpected, o->message)==0 ){
      return 1;
    }
    buf_puts(pWhy, "expected error ");
    buf_quote(pWhy, zExpected);
    if( o->kind==OUTCOME_ROWS ){
      buf_puts(pWhy, ", got rows ");
      describe_actual_rows(pWhy, o);
    }else if( o->bLastStatement ){
      buf_puts(pWhy, ", got error ");
      buf_quote(pWhy, o->message);
    }else{
      buf_printf(pWhy, " from the last statement, got error from the "
                 "statement on line %d: ", o->line);
      buf_quote(pWhy, o->message);
    }
    return 0;
  }

  if( o->kind==OUTCOME_SQL_ERROR ){
    if( t->nExpect>0 ){
      buf_puts(pWhy, "expected ");
      describe_expected_rows(pWhy, t);
      buf_puts(pWhy, ", got ");
    }
    buf_printf(pWhy, "error on line %d: ", o->line);
    buf_quote(pWhy, o->message);
    return 0;
  }
  if( t->nExpect==0 ) return 1;

  for(i=0; i<t->nExpect && i<o->nRow; i++){
    if( !row_matches(&t->expects[i], &o->rows[i]) ) break;
  }
  if( i==t->nExpect && i==o->nRow ) return 1;

  buf_puts(pWhy, "expected ");
  describe_expected_rows(pWhy, t);
  buf_puts(pWhy, ", got ");
  describe_actual_rows(pWhy, o);
  if( i<t->nExpect && i<o->nRow ){
    buf_printf(pWhy, "; row %d differs", i + 1);
  }else{
    buf_printf(pWhy, "; expected %d row%s, got %d", t->nExpect,
               t->nExpect==1 ? "" : "s", o->nRow);
  }
  return 0;
}

/* ---------------------------------------------------------------------
** Files
*/

static int remove_entry(const char *zPath, const struct stat *pStat,
                        int flag, struct FTW *pFtw){
  (void)pStat;
  (void)flag;
  (void)pFtw;
  return remove(zPath)==0 ? 0 : -1;
}

/* Create the directory that replaces $TMP for one file. */
static char *make_temp_dir(void){
  const char *zBase = getenv("TMPDIR");
  Buf path = {0};

  if( zBase==NULL || zBase[0]==0 ) zBase = "/tmp";
  buf_printf(&path, "%s/sqltest.XXXXXX", zBase);
  if( mkdtemp(path.z)==NULL ){
    fprintf(stdout, "sqltest: cannot create a temporary directory in %s: "
            "%s; set TMPDIR to a writable directory\n", zBase,
            strerror(errno));
    buf_free(&path);
    return NULL;
  }
  return buf_take(&path);
}

static void fail_file(Runner *r, int line, const char *zWhat,
                      const char *zMessage){
  if( line>0 ){
    printf("FAIL %s:%d: %s: %s\n", r->zFile, line, zWhat, zMessage);
  }else{
    printf("FAIL %s: %s: %s\n", r->zFile, zWhat, zMessage);
  }
  r->nFailed++;
}

/*
** Run one test file. A format error or setup failure counts as one failed
** test, and then none of the file's tests run.
*/
static void run_file(Runner *r, const char *zPath, const char *zRoot){
  TestFile file;
  Outcome outcome;
  Buf message = {0};
  char *zTmpDir;
  int errorLine = 0;
  int i;

  memset(&file, 0, sizeof(file));
  r->zFile = zPath;
  zTmpDir = make_temp_dir();
  if( zTmpDir==NULL ){
    r->nFailed++;
    return;
  }

  if( parse_test_file(zPath, zTmpDir, zRoot, &file, &message, &errorLine) ){
    fail_file(r, errorLine, errorLine>0 ? "format error" : "cannot run",
              message.z);
    goto done;
  }

  run_block(r, &file.setup, 0, &outcome);
  if( outcome.kind!=OUTCOME_ROWS ){
    buf_free(&message);
    buf_printf(&message, "%s (%d test%s of this file not run)",
               outcome.message, file.nTest, file.nTest==1 ? "" : "s");
    fail_file(r, outcome.line, "setup failed", message.z);
    outcome_free(&outcome);
    goto done;
  }
  outcome_free(&outcome);

  for(i=0; i<file.nTest; i++){
    const Block *t = &file.tests[i];

    buf_free(&message);
    run_block(r, t, t->nExpect>0, &outcome);
    if( check_outcome(t, &outcome, &message) ){
      r->nPassed++;
      if( r->verbose ) printf("ok   %s:%d: %s\n", zPath, t->line, t->name);
    }else{
      r->nFailed++;
      printf("FAIL %s:%d: %s: %s\n", zPath, t->line, block_label(t),
             message.z);
    }
    outcome_free(&outcome);
  }

done:
  buf_free(&message);
  if( close_connection(r, &message) ){
    fail_file(r, 0, "end of file", message.z);
  }
  if( nftw(zTmpDir, remove_entry, 16, FTW_DEPTH|FTW_PHYS)!=0 ){
    fprintf(stderr, "sqltest: warning: cannot remove %s: %s\n", zTmpDir,
            strerror(errno));
  }
  buf_free(&message);
  free(zTmpDir);
  test_file_free(&file);
}

static void print_usage(FILE *out){
  fputs("Usage: sqltest [-v] EXTENSION_PATH FILE.test...\n"
        "Run SQL test files against a SQLite extension.\n"
        "  EXTENSION_PATH  extension loaded into every connection, "
        "or - for none\n"
        "  -v              also print a line for each passing test\n"
        "The file format is described at the top of tests/sqltest.c.\n",
        out);
}

int main(int argc, char **argv){
  Runner r;
  Buf message = {0};
  char *zRoot;
  int i = 1;

  memset(&r, 0, sizeof(r));
  for(; i<argc && argv[i][0]=='-' && argv[i][1]!=0; i++){
    if( strcmp(argv[i], "-v")==0 ){
      r.verbose = 1;
    }else if( strcmp(argv[i], "-h")==0 || strcmp(argv[i], "--help")==0 ){
      print_usage(stdout);
      return 0;
    }else if( strcmp(argv[i], "--")==0 ){
      i++;
      break;
    }else{
      fprintf(stderr, "sqltest: unknown option \"%s\"\n", argv[i]);
      print_usage(stderr);
      return 2;
    }
  }
  if( i>=argc ){
    print_usage(stderr);
    return 2;
  }
  r.zExtension = strcmp(argv[i], "-")==0 ? NULL : argv[i];
  i++;

  /* Check the extension once, so a bad path gives one clear message. */
  if( r.zExtension ){
    if( open_connection(&r, ":memory:", &message)
     || close_connection(&r, &message) ){
      fprintf(stderr, "sqltest: %s\n", message.z);
      buf_free(&message);
      return 2;
    }
  }

  zRoot = getcwd(NULL, 0);
  if( zRoot==NULL ){
    fprintf(stderr, "sqltest: cannot get the working directory: %s\n",
            strerror(errno));
    return 2;
  }

  for(; i<argc; i++){
    run_file(&r, argv[i], zRoot);
  }
  free(zRoot);

  printf("%d passed, %d failed\n", r.nPassed, r.nFailed);
  if( fflush(stdout)!=0 || ferror(stdout) ){
    fprintf(stderr, "sqltest: writing the output failed\n");
    return 2;
  }
  return r.nFailed ? 1 : 0;
}
