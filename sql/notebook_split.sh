#!/bin/sh
# notebook_split.sh: runs the Keras notebook's experiment on the real
# TikTok dataset (sql/notebook_split.sql, which reads
# sql/train_and_test.sql) in a new database and prints the split, the
# training summary and both models' test scores.
#
# Usage: sh sql/notebook_split.sh DATASET_CSV SPLIT_CSV [DB]
#   DATASET_CSV  tiktok_dataset.csv, with its header row
#   SPLIT_CSV    the notebook's split: one row per video with columns "#"
#                and split (train, val or test)
#   DB           database file to create and keep, for example to query
#                the models afterwards; it must not exist. Without it the
#                database lives in a temporary directory removed at exit.
#
# Environment:
#   CLAIM_EXTENSION  the extension without its .so suffix (default:
#                    build/claim in this repository)
#   SQLITE3          the sqlite3 shell to run (default: sqlite3)
set -eu

script=notebook_split.sh
here=$(CDPATH= cd -- "$(dirname -- "$0")" && pwd)
. "$here/common.sh"

if [ $# -lt 2 ] || [ $# -gt 3 ]; then
  die "usage: sh sql/notebook_split.sh DATASET_CSV SPLIT_CSV [DB]"
fi
dataset=$1
split=$2
extension=${CLAIM_EXTENSION:-$here/../build/claim}

# Check everything before creating anything, so that a mistake costs no
# cleanup.
require_sqlite
require_extension "$extension" "set CLAIM_EXTENSION=DIR/claim"
# shellcheck disable=SC2086 # one word per column name
require_csv "$dataset" "dataset" $DATASET_COLUMNS
require_csv "$split" "split file" "#" split

if [ $# -eq 3 ]; then
  database=$3
  require_new_database "$database"
  # On failure the database, which did not exist before, is removed, so
  # that the same command can run again.
  trap 'status=$?
        if [ $status -ne 0 ]; then rm -f -- "$database"; fi' EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
else
  workdir=$(mktemp -d "${TMPDIR:-/tmp}/claim-notebook.XXXXXX")
  trap 'rm -rf "$workdir"' EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
  database=$workdir/notebook.db
fi

# Quote the paths for the shell's dot-commands. Each assignment stops the
# script (set -e) if dot_command_path rejects its path.
extension_argument=$(dot_command_path "$extension")
dataset_argument=$(dot_command_path "$dataset")
split_argument=$(dot_command_path "$split")
root_argument=$(dot_command_path "$here/..")

# The shell reads the commands on standard input: load the extension,
# import both files as new tables (the header row names the columns),
# then run the experiment from the repository root, where
# sql/notebook_split.sql finds sql/train_and_test.sql. -bail stops at the
# first error with a non-zero exit status, after the shell has printed
# the error.
if ! {
  printf '.load %s\n' "$extension_argument"
  printf '.import --csv %s videos\n' "$dataset_argument"
  printf '.import --csv %s notebook_split\n' "$split_argument"
  printf '.cd %s\n' "$root_argument"
  printf '.read sql/notebook_split.sql\n'
} | "$sqlite" -bail -batch "$(command_line_path "$database")"; then
  die "sqlite3 stopped at the error above"
fi
