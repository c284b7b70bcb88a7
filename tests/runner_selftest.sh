#!/usr/bin/env bash
# Self-test of the SQL test runner (tests/sqltest.c) and of tests/run.
#
# Writes .test files that use only built-in SQL, runs build/sqltest on them
# with no extension ("-") and checks its output, counts and exit status.
# Then runs a copy of tests/run with fake unit test programs and checks the
# totals it prints. Ends with "N passed, N failed" like every other test
# component, so it can be listed in UNIT_TESTS.
#
# Environment: SQLTEST is the runner to test (default: build/sqltest,
# relative to the repository root).

set -u

root=$(cd "$(dirname "$0")/.." && pwd) || exit 1
sqltest=${SQLTEST:-build/sqltest}
[[ $sqltest == /* ]] || sqltest=$root/$sqltest
if [[ ! -x $sqltest ]]; then
  echo "runner_selftest.sh: $sqltest not found; build it first (make)"
  echo "0 passed, 1 failed"
  exit 1
fi

work=$(mktemp -d) || exit 1
trap 'rm -rf "$work"' EXIT
cd "$work" || exit 1

passed=0
failed=0

# Print a value for a failure message, cut to 300 characters because some
# checks compare values of 100 KB.
show() {
  if ((${#1} > 300)); then
    printf '%q... (%d characters)' "${1:0:300}" "${#1}"
  else
    printf '%q' "$1"
  fi
}

# Record one check: NAME EXPECTED ACTUAL.
expect_equal() {
  if [[ $2 == "$3" ]]; then
    passed=$((passed + 1))
  else
    failed=$((failed + 1))
    echo "FAIL $1"
    echo "  expected: $(show "$2")"
    echo "  actual:   $(show "$3")"
  fi
}

# Run the runner on the given arguments, storing its combined output and
# exit status in $out and $status.
run_sqltest() {
  out=$("$sqltest" "$@" 2>&1)
  status=$?
}

# --- Passing file: every feature of the format -------------------------

cat >pass.test <<'EOF'
-- Setup runs before the first test.
CREATE TABLE t(x);
INSERT INTO t VALUES (1), (2), (NULL);
# test: sum of integers
SELECT 1+1;
=> 2
# test: several rows in order
SELECT x FROM t ORDER BY x;
=> NULL
=> 1
=> 2
# test: real formatting
SELECT 0.1, 1.0, 0.1+0.2, 1e20, -2.5e-300;
=> 0.1|1.0|0.30000000000000004|1e+20|-2.5e-300
# test: approximate columns
SELECT 0.9912, 'a', 3, '0.5';
~> 0.99|a|3.0|0.5
# test: approximate at the boundary
SELECT 0.995, 0.985, 1.005;
~> 0.99|0.99|1.01
# test: regex on json
SELECT json_object('a', 1, 'b', 'x');
=~ ^\{"a":1,"b":"x"\}$
# test: error of last statement
SELECT * FROM missing_table;
!! no such table: missing_table
# test: error of a builtin
SELECT abs('x', 1);
!! wrong number of arguments to function abs()
# test: syntax error after a statement
SELECT 1;
SELEC 2;
!! near "SELEC": syntax error
# test: empty string row
SELECT '';
=>
# test: statements over several lines
CREATE TABLE u(y);
-- a comment between statements
INSERT INTO u
  VALUES (5);

SELECT y
  FROM u;
=> 5
# test: block without expectations
INSERT INTO t VALUES (3);
# test: earlier block changed the table
SELECT count(*) FROM t;
=> 4
# test: blob values
SELECT x'00ff', zeroblob(0);
=> X'00FF'|X''
# test: semicolons inside a trigger
CREATE TABLE tr(a);
CREATE TRIGGER trg AFTER INSERT ON tr BEGIN SELECT 1; SELECT 2; END;
INSERT INTO tr VALUES (1); SELECT count(*) FROM tr;
=> 1
# test: reopen keeps the file
.open $TMP/reopen.db
CREATE TABLE p(z); INSERT INTO p VALUES ('kept');
.open $TMP/reopen.db
SELECT z FROM p;
=> kept
# test: shell uses the same paths
.shell test -f $TMP/reopen.db && test "$ROOT" = "$(pwd -P)"
SELECT 1;
=> 1
# test: tokens inside words stay
SELECT '$TMPDIR', length('$TMPDIR'), length('$ROOTS');
=> $TMPDIR|7|6
EOF
printf '%s\n' '# test: root is the working directory' "SELECT '\$ROOT';" \
  "=> $(pwd -P)" >>pass.test

run_sqltest - pass.test
expect_equal "passing file output" "19 passed, 0 failed" "$out"
expect_equal "passing file status" 0 "$status"

run_sqltest -v - pass.test
expect_equal "verbose first line" "ok   pass.test:4: sum of integers" \
  "$(head -n 1 <<<"$out")"
expect_equal "verbose line count" 20 "$(wc -l <<<"$out" | tr -d ' ')"

# --- Failing file: every kind of mismatch -------------------------------

cat >fail.test <<'EOF'
# test: wrong sum
SELECT 1+1;
=> 3
# test: too many rows
SELECT 1 UNION ALL SELECT 2;
=> 1
# test: wrong error text
SELECT abs('x', 1);
!! no such table: missing_table
# test: error before the last statement
SELECT * FROM missing_table;
SELECT 1;
!! no such table: missing_table
# test: rows where an error was expected
SELECT 'a"b', 'line1
line2';
!! boom
# test: error where rows were expected
SELECT * FROM nope;
=> 1
# test: error without expectations
SELECT * FROM nope;
# test: approximate value off
SELECT 0.9951;
~> 0.99
# test: approximate column count
SELECT 1, 2;
~> 1
# test: regex mismatch
SELECT 'abc';
=~ ^b
# test: failing shell command
.shell exit 3
# test: open in missing directory
.open $TMP/missing/x.db
SELECT 1;
=> 1
# test: null is not empty
SELECT NULL;
=>
# test: runtime error before the last statement
SELECT abs(-9223372036854775808);
SELECT 1;
!! integer overflow
EOF

run_sqltest - fail.test
expected_output=$(cat <<'EOF'
FAIL fail.test:1: wrong sum: expected [=> "3"], got ["2"]; row 1 differs
FAIL fail.test:4: too many rows: expected [=> "1"], got ["1", "2"]; expected 1 row, got 2
FAIL fail.test:7: wrong error text: expected error "no such table: missing_table", got error "wrong number of arguments to function abs()"
FAIL fail.test:10: error before the last statement: expected error "no such table: missing_table" from the last statement, got error from the statement on line 11: "no such table: missing_table"
FAIL fail.test:14: rows where an error was expected: expected error "boom", got rows ["a\"b|line1\nline2"]
FAIL fail.test:18: error where rows were expected: expected [=> "1"], got error on line 19: "no such table: nope"
FAIL fail.test:21: error without expectations: error on line 22: "no such table: nope"
FAIL fail.test:23: approximate value off: expected [~> "0.99"], got ["0.9951"]; row 1 differs
FAIL fail.test:26: approximate column count: expected [~> "1"], got ["1|2"]; row 1 differs
FAIL fail.test:29: regex mismatch: expected [=~ "^b"], got ["abc"]; row 1 differs
FAIL fail.test:32: failing shell command: line 33: .shell command exited with status 3: "exit 3"
EOF
)
# The .open message names the per-file temporary directory, so only its
# start is fixed.
expect_equal "failing file lines" "$expected_output" "$(head -n 11 <<<"$out")"
expect_equal "failing open line" \
  'FAIL fail.test:34: open in missing directory: line 35: cannot open database' \
  "$(sed -n 12p <<<"$out" | sed 's/ "[^"]*": unable to open database file$//')"
expect_equal "failing null line" \
  'FAIL fail.test:38: null is not empty: expected [=> ""], got ["NULL"]; row 1 differs' \
  "$(sed -n 13p <<<"$out")"
expect_equal "failing runtime error line" \
  'FAIL fail.test:41: runtime error before the last statement: expected error "integer overflow" from the last statement, got error from the statement on line 42: "integer overflow"' \
  "$(sed -n 14p <<<"$out")"
expect_equal "failing file count" "0 passed, 14 failed" "$(tail -n 1 <<<"$out")"
expect_equal "failing file status" 1 "$status"

# Counts add up over several files.
run_sqltest - pass.test fail.test
expect_equal "two files count" "19 passed, 14 failed" "$(tail -n 1 <<<"$out")"
expect_equal "two files status" 1 "$status"

# --- Format errors: the file does not run and counts as one failure -----

# Run one file with the given content; check the first output line and the
# count line.
expect_format_error() {
  local name=$1 content=$2 message=$3
  printf '%s\n' "$content" >format.test
  run_sqltest - format.test
  expect_equal "$name message" "$message" "$(head -n 1 <<<"$out")"
  expect_equal "$name count" "0 passed, 1 failed" "$(tail -n 1 <<<"$out")"
  expect_equal "$name status" 1 "$status"
}

expect_format_error "expectation in setup" '=> 1' \
  'FAIL format.test:1: format error: "=>" before the first "# test:" line; expectations belong to a test'
expect_format_error "expectation without sql" $'# test: x\n=> 1' \
  'FAIL format.test:2: format error: test "x" has "=>" but no SQL before it'
expect_format_error "test without sql" $'# test: a\n# test: b\nSELECT 1;' \
  'FAIL format.test:1: format error: test "a" has no SQL'
expect_format_error "last test without sql" $'# test: a\n-- nothing' \
  'FAIL format.test:1: format error: test "a" has no SQL'
expect_format_error "missing space" $'# test: x\nSELECT 1;\n=>1' \
  'FAIL format.test:3: format error: missing space after "=>"'
expect_format_error "sql after expectations" \
  $'# test: x\nSELECT 1;\n=> 1\nSELECT 2;' \
  'FAIL format.test:4: format error: SQL after the expectations of test "x"; start a new block with "# test: NAME"'
expect_format_error "error mixed with rows" $'# test: x\nSELECT 1;\n!! a\n=> 1' \
  'FAIL format.test:4: format error: test "x" combines "!!" with another expectation; "!!" must be its only one'
expect_format_error "bad test header" $'#test: x\nSELECT 1;' \
  'FAIL format.test:1: format error: unknown line starting with "#"; a test starts with "# test: NAME"'
expect_format_error "empty test name" $'# test:  \nSELECT 1;' \
  'FAIL format.test:1: format error: test name missing after "# test:"'
expect_format_error "unknown directive" $'# test: x\n.opne y' \
  'FAIL format.test:2: format error: unknown directive ".opne y"; use ".open NAME" or ".shell COMMAND"'
expect_format_error "open without name" $'# test: x\n.open' \
  'FAIL format.test:2: format error: .open needs an argument'
expect_format_error "invalid regex" $'# test: x\nSELECT 1;\n=~ (' \
  'FAIL format.test:3: format error: invalid regular expression "(": Unmatched ( or \('
expect_format_error "expectation after shell" \
  $'# test: x\nSELECT 1;\n.shell true\n=> 1' \
  'FAIL format.test:4: format error: "=>" follows the .shell on line 3; put the SQL whose result it checks between them'

# --- Setup errors name the line and skip the file's tests ---------------

printf '%s\n' 'CREATE TABLE a(x);' '' '-- comment' 'SELECT * FROM b;' \
  '# test: x' 'SELECT 1;' '=> 1' >setup.test
run_sqltest - setup.test
expect_equal "setup error" \
  $'FAIL setup.test:4: setup failed: no such table: b (1 test of this file not run)\n0 passed, 1 failed' \
  "$out"
expect_equal "setup error status" 1 "$status"

printf '%s\n' '.shell false' '# test: x' 'SELECT 1;' >setup_shell.test
run_sqltest - setup_shell.test
expect_equal "setup shell error" \
  $'FAIL setup_shell.test:1: setup failed: .shell command exited with status 1: "false" (1 test of this file not run)\n0 passed, 1 failed' \
  "$out"

# --- Long lines and long results ----------------------------------------

long=$(head -c 100000 /dev/zero | tr '\0' 'x')
printf '%s\n' '# test: long result' "SELECT printf('%.*c', 100000, 'x');" \
  "=> $long" '# test: long sql' "SELECT length('$long');" '=> 100000' \
  >long.test
run_sqltest - long.test
expect_equal "long values" "2 passed, 0 failed" "$out"

printf '%s\n' '# test: long mismatch' "SELECT printf('%.*c', 100000, 'x');" \
  '=> y' >long_fail.test
run_sqltest - long_fail.test
expect_equal "long mismatch shows all" \
  "FAIL long_fail.test:1: long mismatch: expected [=> \"y\"], got [\"$long\"]; row 1 differs" \
  "$(head -n 1 <<<"$out")"

# --- $TMP is created per file and removed afterwards -------------------

# shellcheck disable=SC2016 # $TMP is for the runner, not for this shell.
printf '%s\n' '.shell echo $TMP >'"$work"'/tmp_path' '# test: tmp exists' \
  ".shell test -d \$TMP" 'SELECT 1;' '=> 1' >tmp.test
run_sqltest - tmp.test
expect_equal "tmp test" "1 passed, 0 failed" "$out"
tmp_path=$(cat "$work/tmp_path" 2>/dev/null)
expect_equal "tmp path named" "yes" "$([[ -n $tmp_path ]] && echo yes)"
expect_equal "tmp removed" "gone" "$([[ -e $tmp_path ]] || echo gone)"

# --- Command line --------------------------------------------------------

run_sqltest
expect_equal "no arguments status" 2 "$status"
run_sqltest -x - pass.test
expect_equal "unknown option status" 2 "$status"
run_sqltest ./no_such_extension pass.test
expect_equal "missing extension status" 2 "$status"
expect_equal "missing extension message" \
  'sqltest: cannot load extension "./no_such_extension": ' \
  "$(head -n 1 <<<"$out" | sed 's/: \.\/no_such_extension\.so.*$/: /')"
run_sqltest -
expect_equal "no files" "0 passed, 0 failed" "$out"
run_sqltest - no_such_file.test
expect_equal "missing file" \
  $'FAIL no_such_file.test: cannot run: cannot open the file: No such file or directory\n0 passed, 1 failed' \
  "$out"

# --- tests/run ------------------------------------------------------------

mkdir -p fake/tests fake/bin
cp "$root/tests/run" fake/tests/run
printf '%s\n' '# test: one' 'SELECT 1;' '=> 1' >fake/tests/one.test

# Write an executable fake unit test: NAME SCRIPT-BODY.
make_unit() {
  printf '#!/bin/sh\n%s\n' "$2" >"fake/bin/$1"
  chmod +x "fake/bin/$1"
}
make_unit pass 'echo "3 passed, 0 failed"'
make_unit fail 'echo "1 passed, 2 failed"; exit 1'
make_unit nocount 'echo "all fine"'
make_unit crash 'echo "1 passed, 0 failed"; kill -SEGV $$'
make_unit inconsistent 'echo "2 passed, 0 failed"; exit 1'

# Run the copied tests/run with UNIT_TESTS set to the given fake units.
run_entry() {
  local units=() name
  for name in "$@"; do units+=("$work/fake/bin/$name"); done
  out=$(UNIT_TESTS="${units[*]}" SQLTEST="$sqltest" SQLTEST_EXTENSION=- \
    fake/tests/run 2>&1)
  status=$?
}

run_entry
expect_equal "run: sql only" "1 passed, 0 failed" "$(tail -n 1 <<<"$out")"
expect_equal "run: sql only status" 0 "$status"

run_entry pass
expect_equal "run: passing unit" "4 passed, 0 failed" "$(tail -n 1 <<<"$out")"
expect_equal "run: passing unit status" 0 "$status"
expect_equal "run: shows unit output" "yes" \
  "$(grep -qx '3 passed, 0 failed' <<<"$out" && echo yes)"

run_entry pass fail
expect_equal "run: failing unit" "5 passed, 2 failed" "$(tail -n 1 <<<"$out")"
expect_equal "run: failing unit status" 1 "$status"

run_entry nocount
expect_equal "run: no count line" "1 passed, 1 failed" \
  "$(tail -n 1 <<<"$out")"
expect_equal "run: no count line status" 1 "$status"

run_entry crash
expect_equal "run: crash" "2 passed, 1 failed" "$(tail -n 1 <<<"$out")"
expect_equal "run: crash status" 1 "$status"
expect_equal "run: crash reason" "yes" \
  "$(grep -q 'killed by signal 11' <<<"$out" && echo yes)"

run_entry inconsistent
expect_equal "run: non-zero exit" "3 passed, 1 failed" \
  "$(tail -n 1 <<<"$out")"
expect_equal "run: non-zero exit status" 1 "$status"

printf '%s\n' '# test: two' 'SELECT 2;' '=> 3' >fake/tests/two.test
run_entry pass
expect_equal "run: failing sql" "4 passed, 1 failed" "$(tail -n 1 <<<"$out")"
expect_equal "run: failing sql status" 1 "$status"

out=$(SQLTEST="$work/fake/bin/missing" SQLTEST_EXTENSION=- fake/tests/run 2>&1)
status=$?
expect_equal "run: missing runner" "0 passed, 1 failed" \
  "$(tail -n 1 <<<"$out")"
expect_equal "run: missing runner status" 1 "$status"

echo "$passed passed, $failed failed"
if ((failed > 0)); then
  exit 1
fi
exit 0
