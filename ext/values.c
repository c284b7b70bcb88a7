/*
** Parsing of the values a user passes: counts (numbers or numeric text,
** as `.import --csv` stores them), labels and categories, the JSON
** helpers used to build results, and the error result of a failed call.
*/
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "claim.h"
SQLITE_EXTENSION_INIT3

static int is_ascii_space(char c) {
  return c == ' ' || (c >= '\t' && c <= '\r');
}

const char *trim_ascii(const char *text, int *n) {
  int start = 0, end = *n;
  while (start < end && is_ascii_space(text[start])) start++;
  while (end > start && is_ascii_space(text[end - 1])) end--;
  *n = end - start;
  return text + start;
}

int parse_decimal(const char *text, int n, double *out) {
  /* Counts imported from a CSV file are usually plain digits, which take
  ** a shorter path. Up to 15 digits the value is exact as a double, so the
  ** general path below would give the same one. */
  if (n > 0 && n <= 15) {
    uint64_t whole = 0;
    int k = 0;
    for (; k < n; k++) {
      unsigned digit = (unsigned char)text[k] - (unsigned)'0';
      if (digit > 9) break;
      whole = whole * 10 + digit;
    }
    if (k == n) {
      *out = (double)whole;
      return VALUE_OK;
    }
  }
  text = trim_ascii(text, &n);
  int i = 0;
  int negative = 0;
  if (i < n && (text[i] == '+' || text[i] == '-')) negative = text[i++] == '-';

  /* Keep up to 19 significant digits in an integer; count the rest only
  ** for the exponent. */
  uint64_t mantissa = 0;
  int significant = 0, digits = 0;
  int64_t exponent = 0;
  for (; i < n && text[i] >= '0' && text[i] <= '9'; i++, digits++) {
    if (significant < 19) {
      if (mantissa || text[i] != '0') significant++;
      mantissa = mantissa * 10 + (uint64_t)(text[i] - '0');
    } else {
      exponent++;
    }
  }
  if (i < n && text[i] == '.') {
    for (i++; i < n && text[i] >= '0' && text[i] <= '9'; i++, digits++) {
      if (significant < 19) {
        if (mantissa || text[i] != '0') significant++;
        mantissa = mantissa * 10 + (uint64_t)(text[i] - '0');
        exponent--;
      }
    }
  }
  if (digits == 0) return VALUE_INVALID;
  if (i < n && (text[i] == 'e' || text[i] == 'E')) {
    i++;
    int exp_negative = 0, exp_digits = 0;
    int64_t value = 0;
    if (i < n && (text[i] == '+' || text[i] == '-'))
      exp_negative = text[i++] == '-';
    /* The digits alone can shift the exponent by up to 2^31 (the length
    ** of a text value), so the written exponent saturates far beyond that,
    ** and "1000...0e-1000000" still comes out as the number it is. */
    for (; i < n && text[i] >= '0' && text[i] <= '9'; i++, exp_digits++)
      if (value < 100000000000LL) value = value * 10 + (text[i] - '0');
    if (exp_digits == 0) return VALUE_INVALID;
    exponent += exp_negative ? -value : value;
  }
  if (i != n) return VALUE_INVALID;

  /* With at most 2^53 in the mantissa, one division or multiplication by
  ** an exact power of ten rounds once, so "343296.0" and "0.5" come out
  ** exact. A longer mantissa rounds twice, which can be off by one unit in
  ** the last place (16 or more significant digits only). */
  double x = (double)mantissa;
  if (mantissa == 0) {
    /* Zero with any exponent, "0e400" included, where 0 * 1e400 would be
    ** 0 * infinity, a NaN. */
  } else if (exponent < 0 && exponent >= -22) {
    x /= pow(10.0, -exponent);
  } else if (exponent != 0) {
    x *= pow(10.0, exponent);
  }
  if (!isfinite(x)) return VALUE_INVALID;
  *out = negative ? -x : x;
  return VALUE_OK;
}

int parse_count(sqlite3_value *value, double *out) {
  switch (sqlite3_value_type(value)) {
    case SQLITE_NULL:
      return VALUE_NULL;
    case SQLITE_INTEGER:
      *out = (double)sqlite3_value_int64(value);
      return VALUE_OK;
    case SQLITE_FLOAT:
      *out = sqlite3_value_double(value);
      return isfinite(*out) ? VALUE_OK : VALUE_INVALID;
    case SQLITE_BLOB:
      return VALUE_BLOB;
    default: {
      const char *text = (const char *)sqlite3_value_text(value);
      if (!text) return VALUE_INVALID;
      return parse_decimal(text, sqlite3_value_bytes(value), out);
    }
  }
}

static int equals_ignoring_case(const char *a, int n, const char *word) {
  int length = (int)strlen(word);
  return n == length && sqlite3_strnicmp(a, word, n) == 0;
}

int parse_label(sqlite3_value *value) {
  if (sqlite3_value_type(value) == SQLITE_NULL) return -1;
  if (sqlite3_value_type(value) == SQLITE_BLOB) return -2;
  const char *text = (const char *)sqlite3_value_text(value);
  if (!text) return -1;
  int n = sqlite3_value_bytes(value);
  text = trim_ascii(text, &n);
  if (n == 0) return -1;
  if (equals_ignoring_case(text, n, "claim")) return 0;
  if (equals_ignoring_case(text, n, "opinion")) return 1;
  return -2;
}

char *argument_error(const char *function, int position, const char *name,
                     const char *expected, sqlite3_value *value) {
  char *shown = describe_value(value);
  char *message = sqlite3_mprintf("%s(): argument %d (%s) must be %s; got %s",
                                  function, position, name, expected,
                                  shown ? shown : "?");
  sqlite3_free(shown);
  return message;
}

int check_nul_argument(const char *function, int position, const char *name,
                       sqlite3_value *value, char **error) {
  if (sqlite3_value_type(value) != SQLITE_TEXT) return SQLITE_OK;
  const char *text = (const char *)sqlite3_value_text(value);
  if (!text) return SQLITE_NOMEM;  /* converting to text ran out of memory */
  if ((int)strlen(text) == sqlite3_value_bytes(value)) return SQLITE_OK;
  char *quoted = describe_value(value);
  *error = quoted ? sqlite3_mprintf("%s(): argument %d (%s) contains a NUL "
                                    "byte: %s; remove it", function, position,
                                    name, quoted)
                  : 0;
  sqlite3_free(quoted);
  return *error ? SQLITE_ERROR : SQLITE_NOMEM;
}

int utf8_prefix_length(const char *text, int n, int max) {
  if (n <= max) return n;
  int length = max;
  while (length > 0 && (text[length] & 0xc0) == 0x80) length--;
  return length;
}

char *describe_value(sqlite3_value *value) {
  switch (sqlite3_value_type(value)) {
    case SQLITE_NULL:
      return sqlite3_mprintf("NULL");
    case SQLITE_BLOB: {
      int n = sqlite3_value_bytes(value);
      return sqlite3_mprintf("a BLOB of %d byte%s", n, n == 1 ? "" : "s");
    }
    case SQLITE_INTEGER:
    case SQLITE_FLOAT:
      /* Unquoted, so that 5 and '5' read differently in a message. */
      return sqlite3_mprintf("%s", sqlite3_value_text(value));
    default: {
      /* Long values are cut so that a message stays readable, at the
      ** start of a UTF-8 character so that the message stays valid. */
      const char *text = (const char *)sqlite3_value_text(value);
      int n = sqlite3_value_bytes(value);
      if (!text) return sqlite3_mprintf("\"\"");
      int cut = utf8_prefix_length(text, n, 60);
      /* A NUL byte is written as \0, so that the value does not end there. */
      sqlite3_str *quoted = sqlite3_str_new(0);
      sqlite3_str_appendchar(quoted, 1, '"');
      for (int k = 0; k < cut; k++) {
        if (text[k])
          sqlite3_str_appendchar(quoted, 1, text[k]);
        else
          sqlite3_str_appendall(quoted, "\\0");
      }
      sqlite3_str_appendall(quoted, cut < n ? "...\"" : "\"");
      return sqlite3_str_finish(quoted);
    }
  }
}

int db_query_only(sqlite3 *db) {
  sqlite3_stmt *stmt;
  int on = 0;
  if (sqlite3_prepare_v2(db, "PRAGMA query_only", -1, &stmt, 0) == SQLITE_OK) {
    if (sqlite3_step(stmt) == SQLITE_ROW) on = sqlite3_column_int(stmt, 0);
    sqlite3_finalize(stmt);
  }
  return on;
}

void claim_result_error(sqlite3_context *context, sqlite3 *db, int rc,
                        const char *error) {
  if (rc == SQLITE_NOMEM) {
    sqlite3_result_error_nomem(context);
  } else if (rc == SQLITE_INTERRUPT) {
    sqlite3_result_error(context, "interrupted", -1);
    sqlite3_result_error_code(context, SQLITE_INTERRUPT);
  } else if (rc != SQLITE_OK && !error && sqlite3_errcode(db) == SQLITE_OK) {
    /* No message here nor in db ("not an error"): an allocation failed. */
    sqlite3_result_error_nomem(context);
  } else if (rc != SQLITE_OK) {
    sqlite3_result_error(context, error ? error : sqlite3_errmsg(db), -1);
    /* Keep a code such as SQLITE_BUSY, so that the caller can retry. */
    if (rc != SQLITE_ERROR) sqlite3_result_error_code(context, rc);
  }
}

int utf8_sequence_length(const unsigned char *p, size_t n) {
  unsigned char c = p[0];
  if (c < 0x80) return 1;
  int length;
  unsigned char low = 0x80, high = 0xbf;  /* range of the second byte */
  if (c >= 0xc2 && c <= 0xdf) {
    length = 2;
  } else if (c >= 0xe0 && c <= 0xef) {
    length = 3;
    if (c == 0xe0) low = 0xa0;       /* no overlong forms */
    if (c == 0xed) high = 0x9f;      /* no UTF-16 surrogates */
  } else if (c >= 0xf0 && c <= 0xf4) {
    length = 4;
    if (c == 0xf0) low = 0x90;
    if (c == 0xf4) high = 0x8f;      /* nothing past U+10FFFF */
  } else {
    return 0;
  }
  if ((size_t)length > n || p[1] < low || p[1] > high) return 0;
  for (int i = 2; i < length; i++)
    if (p[i] < 0x80 || p[i] > 0xbf) return 0;
  return length;
}

void json_append_string(sqlite3_str *out, const char *s) {
  json_append_bytes(out, s, strlen(s));
}

void json_append_bytes(sqlite3_str *out, const char *s, size_t n) {
  const unsigned char *bytes = (const unsigned char *)s;
  sqlite3_str_appendchar(out, 1, '"');
  for (size_t i = 0; i < n; i++) {
    const unsigned char *p = bytes + i;
    if (*p >= 0x80) {
      /* JSON is UTF-8: an invalid byte becomes U+FFFD. */
      int length = utf8_sequence_length(p, n - i);
      if (length == 0) {
        sqlite3_str_appendall(out, "\\ufffd");
      } else {
        sqlite3_str_append(out, (const char *)p, length);
        i += (size_t)length - 1;
      }
      continue;
    }
    switch (*p) {
      case '"': sqlite3_str_appendall(out, "\\\""); break;
      case '\\': sqlite3_str_appendall(out, "\\\\"); break;
      case '\n': sqlite3_str_appendall(out, "\\n"); break;
      case '\r': sqlite3_str_appendall(out, "\\r"); break;
      case '\t': sqlite3_str_appendall(out, "\\t"); break;
      default:
        if (*p < 0x20) sqlite3_str_appendf(out, "\\u%04x", *p);
        else sqlite3_str_appendchar(out, 1, (char)*p);
    }
  }
  sqlite3_str_appendchar(out, 1, '"');
}

void json_append_number(sqlite3_str *out, double x) {
  if (!isfinite(x)) {
    sqlite3_str_appendall(out, "null");
  } else if (x == floor(x) && fabs(x) < 1e15) {
    sqlite3_str_appendf(out, "%lld", (long long)x);
  } else {
    /* The shortest form that reads back as the same double. */
    char buffer[32];
    for (int digits = 15; digits <= 17; digits++) {
      snprintf(buffer, sizeof(buffer), "%.*g", digits, x);
      if (strtod(buffer, NULL) == x) break;
    }
    sqlite3_str_appendall(out, buffer);
  }
}
