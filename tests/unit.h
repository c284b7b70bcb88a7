/*
** unit.h: a minimal framework for the C unit tests (tests/unit_*.c).
**
** A test is a function `static void test_NAME(void)` that main() runs with
** RUN(test_NAME). Inside it, each check macro compares one value:
**
**   CHECK(condition)                        condition is true
**   CHECK_INT(actual, expected)             integers are equal
**   CHECK_U64(actual, expected)             unsigned 64-bit values are equal
**   CHECK_DOUBLE(actual, expected)          doubles are equal (== exactly)
**   CHECK_NEAR(actual, expected, tolerance) |actual - expected| <= tolerance
**   CHECK_STR(actual, expected)             NUL-terminated strings are equal
**                                           (actual is evaluated twice)
**   CHECK_MEM(actual, n, expected, m)       byte strings (pointer, length)
**                                           are equal
**   REQUIRE(condition)                      as CHECK, but a failure also
**                                           returns from the test, for
**                                           setup that later checks need
**
** A failing check prints one line with the file, line, test name, the
** checked expression and both values, and the test counts as failed. The
** test still runs to its end, except after a failed REQUIRE. A NaN never
** passes a numeric check. main() ends with `return unit_summary();`, which
** prints "N passed, N failed" (counting tests, not checks) as the
** program's last line and returns 1 when a test failed, 0 otherwise.
*/
#ifndef CLAIM_UNIT_H
#define CLAIM_UNIT_H

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

static const char *unit_test_name = "(no test)";
static int unit_test_failures;   /* failed checks in the running test */
static int unit_tests_passed, unit_tests_failed;

static inline void unit_run(const char *name, void (*test)(void)) {
  unit_test_name = name;
  unit_test_failures = 0;
  test();
  if (unit_test_failures) unit_tests_failed++;
  else unit_tests_passed++;
}

#define RUN(test) unit_run(#test, test)

static inline int unit_summary(void) {
  printf("%d passed, %d failed\n", unit_tests_passed, unit_tests_failed);
  return unit_tests_failed ? 1 : 0;
}

/* Starts a failure line. The caller prints the values and the newline. */
static inline void unit_fail(const char *file, int line,
                             const char *subject) {
  unit_test_failures++;
  printf("FAIL %s:%d: %s: %s", file, line, unit_test_name, subject);
}

static inline int unit_check(int ok, const char *file, int line,
                             const char *expression) {
  if (ok) return 1;
  unit_fail(file, line, expression);
  printf(" is false\n");
  return 0;
}

static inline int unit_check_int(long long actual, long long expected,
                                 const char *file, int line,
                                 const char *expression) {
  if (actual == expected) return 1;
  unit_fail(file, line, expression);
  printf(" is %lld, expected %lld\n", actual, expected);
  return 0;
}

static inline int unit_check_u64(uint64_t actual, uint64_t expected,
                                 const char *file, int line,
                                 const char *expression) {
  if (actual == expected) return 1;
  unit_fail(file, line, expression);
  printf(" is 0x%016" PRIx64 ", expected 0x%016" PRIx64 "\n", actual,
         expected);
  return 0;
}

static inline int unit_check_double(double actual, double expected,
                                    const char *file, int line,
                                    const char *expression) {
  if (actual == expected) return 1;
  unit_fail(file, line, expression);
  printf(" is %.17g, expected %.17g\n", actual, expected);
  return 0;
}

static inline int unit_check_near(double actual, double expected,
                                  double tolerance, const char *file,
                                  int line, const char *expression) {
  if (fabs(actual - expected) <= tolerance) return 1;
  unit_fail(file, line, expression);
  printf(" is %.17g, expected %.17g (difference %.3g, tolerance %.3g)\n",
         actual, expected, actual - expected, tolerance);
  return 0;
}

/* Prints a byte string as a C literal, so that NUL and other bytes show. */
static inline void unit_print_bytes(const char *s, size_t n) {
  size_t n_printed = n > 200 ? 200 : n;
  putchar('"');
  for (size_t i = 0; i < n_printed; i++) {
    unsigned char c = (unsigned char)s[i];
    if (c == '"' || c == '\\') printf("\\%c", c);
    else if (c >= 0x20 && c < 0x7f) putchar(c);
    else printf("\\x%02x", c);
  }
  putchar('"');
  if (n_printed < n) printf("... (%zu bytes)", n);
}

static inline int unit_check_mem(const char *actual, size_t actual_n,
                                 const char *expected, size_t expected_n,
                                 const char *file, int line,
                                 const char *expression) {
  if (actual && actual_n == expected_n &&
      memcmp(actual, expected, expected_n) == 0)
    return 1;
  unit_fail(file, line, expression);
  printf(" is ");
  if (actual) unit_print_bytes(actual, actual_n);
  else printf("NULL");
  printf(", expected ");
  unit_print_bytes(expected, expected_n);
  putchar('\n');
  return 0;
}

#define CHECK(condition) unit_check(!!(condition), __FILE__, __LINE__, \
                                    #condition)
#define REQUIRE(condition) \
  do { \
    if (!CHECK(condition)) return; \
  } while (0)
#define CHECK_INT(actual, expected) \
  unit_check_int((long long)(actual), (long long)(expected), __FILE__, \
                 __LINE__, #actual)
#define CHECK_U64(actual, expected) \
  unit_check_u64((uint64_t)(actual), (uint64_t)(expected), __FILE__, \
                 __LINE__, #actual)
#define CHECK_DOUBLE(actual, expected) \
  unit_check_double((actual), (expected), __FILE__, __LINE__, #actual)
#define CHECK_NEAR(actual, expected, tolerance) \
  unit_check_near((actual), (expected), (tolerance), __FILE__, __LINE__, \
                  #actual)
#define CHECK_STR(actual, expected) \
  unit_check_mem((actual), (actual) ? strlen(actual) : 0, (expected), \
                 strlen(expected), __FILE__, __LINE__, #actual)
#define CHECK_MEM(actual, actual_n, expected, expected_n) \
  unit_check_mem((actual), (actual_n), (expected), (expected_n), __FILE__, \
                 __LINE__, #actual)

#endif
