#!/bin/sh
# demo.sh: trains the claim extension's two models on a CSV of videos,
# evaluates them on held-out test rows, explores the data with
# sql/explore.sql and uses the models to predict, printing each step as a
# table. It also writes SVG plots: the duration histogram and the scatter
# matrix of counts per class, and the training history and the test
# confusion matrix of each model. `make demo` runs it on the generated
# dataset.
#
# Usage: sh sql/demo.sh EXTENSION CSV [SPLIT_CSV]
#   EXTENSION  the extension without its .so suffix, e.g. build/claim
#   CSV        videos with the dataset's columns and a header row
#   SPLIT_CSV  a split to use: one row per video with columns "#" and
#              split (train, val or test). Without it, notebook_split.csv
#              in the directory of CSV is used if it exists.
#
# With a split, the demo runs sql/notebook_split.sql: train on the train
# rows, pick the best epoch on the val rows, evaluate on the test rows.
# Without one, the rows whose "#" is a multiple of 5 are the test rows,
# and claim_train() holds out a random 20% of the others for validation.
# Either way, sql/train_and_test.sql trains both models and scores them.
#
# The database lives in a temporary directory removed at exit, unless the
# environment variable DEMO_DB names a file to create and keep (it must
# not exist). The plots go to the directory DEMO_PLOTS (default:
# build/demo-plots in this repository), created when missing; files of the
# same names there are replaced. SQLITE3 names the sqlite3 shell (default:
# sqlite3).
set -eu

script=demo.sh
here=$(CDPATH= cd -- "$(dirname -- "$0")" && pwd)
. "$here/common.sh"

if [ $# -lt 2 ] || [ $# -gt 3 ]; then
  die "usage: sh sql/demo.sh EXTENSION CSV [SPLIT_CSV]"
fi
extension=$1
csv=$2
split=${3:-}
if [ -z "$split" ] && [ -f "$(dirname -- "$csv")/notebook_split.csv" ]; then
  split=$(dirname -- "$csv")/notebook_split.csv
fi

# Check everything before creating anything.
require_sqlite
require_extension "$extension"
# shellcheck disable=SC2086 # one word per column name
require_csv "$csv" "dataset" $DATASET_COLUMNS
[ -z "$split" ] || require_csv "$split" "split file" "#" split
[ -z "${DEMO_DB:-}" ] || require_new_database "$DEMO_DB"
plots=${DEMO_PLOTS:-$(CDPATH= cd -- "$here/.." && pwd)/build/demo-plots}
case $plots in
  *'
'*) die "DEMO_PLOTS contains a newline: \"$plots\"; pass a path" \
        "without one" ;;
esac
mkdir -p -- "$plots" ||
  die "creating the plot directory \"$plots\" failed; set DEMO_PLOTS to" \
      "a writable directory"
[ -w "$plots" ] ||
  die "the plot directory \"$plots\" is not writable; set DEMO_PLOTS to" \
      "a writable directory"
plot_files='duration_histogram.svg counts_scatter.svg history_default.svg
history_notebook.svg confusion_default.svg confusion_notebook.svg'
for name in $plot_files; do
  rm -f -- "$plots/$name"
done

workdir=$(mktemp -d "${TMPDIR:-/tmp}/claim-demo.XXXXXX")
# On failure the database named by DEMO_DB, which did not exist before, is
# removed too, so that the same command can run again.
trap 'status=$?; rm -rf "$workdir"
      if [ $status -ne 0 ] && [ -n "${DEMO_DB:-}" ]; then
        rm -f -- "$DEMO_DB"
      fi' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
database=${DEMO_DB:-$workdir/demo.db}

# Quote the paths for the shell's dot-commands. Each assignment stops the
# script (set -e) if dot_command_path rejects its path.
extension_argument=$(dot_command_path "$extension")
csv_argument=$(dot_command_path "$csv")
predict_argument=$(dot_command_path "$here/predict.sql")
train_and_test_argument=$(dot_command_path "$here/train_and_test.sql")
explore_argument=$(dot_command_path "$here/explore.sql")
database_argument=$(command_line_path "$database")
# The plot directory as an SQL string literal, with ' doubled.
plots_literal=\'$(printf '%s' "$plots" | sed "s/'/''/g")\'

printf 'Dataset: %s\n' "$csv"
printf 'Plots: %s\n' "$plots"
if [ -n "$split" ]; then
  printf 'Split: %s\n' "$split"
  CLAIM_EXTENSION=$extension SQLITE3=$sqlite \
    sh "$here/notebook_split.sh" "$csv" "$split" "$database"
else
  printf 'Split: test rows are those whose "#" is a multiple of 5\n'
  if ! {
    printf '.load %s\n' "$extension_argument"
    printf '.import --csv %s videos\n' "$csv_argument"
    cat <<'SQL'
.bail on
.mode box

-- Hold out the test rows before training, so that the scores below come
-- from rows no model has seen. "#" is the row number; .import stores it as
-- text, hence the cast.
CREATE TABLE test AS
  SELECT * FROM videos WHERE CAST("#" AS INTEGER) % 5 = 0
  ORDER BY CAST("#" AS INTEGER);
CREATE TABLE train AS
  SELECT * FROM videos WHERE CAST("#" AS INTEGER) % 5 <> 0
  ORDER BY CAST("#" AS INTEGER);

.print
.print Rows in each split (claim_train holds out 20% of train for validation)
SELECT 'train' AS split, count(*) AS rows,
       sum(claim_status = 'claim') AS claims,
       sum(claim_status = 'opinion') AS opinions
  FROM train
UNION ALL
SELECT 'test', count(*), sum(claim_status = 'claim'),
       sum(claim_status = 'opinion')
  FROM test;

SQL
    # Train both models, each validating after every epoch on a random 20%
    # of train, and score them on test.
    printf '.parameter set @validation 0.2\n'
    printf '.read %s\n' "$train_and_test_argument"
  } | "$sqlite" -bail -batch "$database_argument"; then
    die "sqlite3 stopped at the error above"
  fi
fi

# Prints the commands that show one model's training history from
# claim_history: one row per epoch with the training loss and accuracy
# (means over the epoch's batches) and the validation loss and accuracy
# after the epoch. "kept" marks the epoch whose weights the model kept.
# $1 is a model name from this script, so it needs no SQL quoting.
history_query() {
  cat <<SQL
.print
.print "Training history of the model '$1'"
SELECT history.epoch,
       printf('%.4g', history.loss) AS loss,
       round(history.accuracy, 4) AS accuracy,
       printf('%.4g', history.val_loss) AS val_loss,
       round(history.val_accuracy, 4) AS val_accuracy,
       CASE WHEN history.epoch = models.best_epoch THEN 'kept' ELSE '' END
         AS kept
  FROM claim_history AS history
  JOIN claim_models AS models ON models.name = history.model
  WHERE history.model = '$1'
  ORDER BY history.epoch;
SQL
}

# Both branches leave the table videos, the models 'default' and
# 'notebook' and the table test in the database. Explore videos with
# sql/explore.sql, show each model's training history from claim_history,
# plot both models, then score with sql/predict.sql.
#
# The shell parameter @plot_dir names the directory where the scripts
# write the plots. Its row goes straight into the shell's parameter
# table, as .parameter set would write it, so the path needs SQL quoting
# only.
if ! {
  printf '.load %s\n' "$extension_argument"
  printf '.parameter init\n'
  printf 'INSERT INTO temp.sqlite_parameters(key, value)\n'
  printf "  VALUES ('@plot_dir', %s);\n" "$plots_literal"
  printf '.print\n.print "Exploring the table videos (sql/explore.sql)"\n'
  printf '.read %s\n' "$explore_argument"
  cat <<'SQL'
.bail on
.mode box

SQL
  for model in default notebook; do
    history_query "$model"
  done
  cat <<'SQL'
-- The same histories as SVG plots, and each model's confusion matrix on
-- the test rows: claim_plot_confusion() draws the counts that
-- claim_evaluate() returns. writefile() is the shell's; it returns the
-- number of bytes written.
.print
.print Plots of both models
SELECT @plot_dir || '/history_default.svg' AS file,
       writefile(@plot_dir || '/history_default.svg',
                 claim_plot_history('default')) AS bytes
UNION ALL
SELECT @plot_dir || '/history_notebook.svg',
       writefile(@plot_dir || '/history_notebook.svg',
                 claim_plot_history('notebook'))
UNION ALL
SELECT @plot_dir || '/confusion_default.svg',
       writefile(@plot_dir || '/confusion_default.svg',
                 claim_plot_confusion('test', 'default'))
UNION ALL
SELECT @plot_dir || '/confusion_notebook.svg',
       writefile(@plot_dir || '/confusion_notebook.svg',
                 claim_plot_confusion('test', 'notebook'));
SQL
  printf '.read %s\n' "$predict_argument"
} | "$sqlite" -bail -batch "$database_argument"; then
  die "sqlite3 stopped at the error above"
fi

# writefile() returns NULL instead of failing, so check that every plot
# was written (the old files were removed before the run).
for name in $plot_files; do
  [ -s "$plots/$name" ] ||
    die "writing the plot \"$plots/$name\" failed; set DEMO_PLOTS to a" \
        "writable directory"
done

if [ -n "${DEMO_DB:-}" ]; then
  printf '\nThe database is kept in %s\n' "$DEMO_DB"
fi
printf '\nThe plots (SVG, open them in a web browser) are in %s\n' "$plots"
